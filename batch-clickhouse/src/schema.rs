//! The schema check: the row type against the live table's columns, once, before any
//! row is accepted (and again when an insert fails because the table changed).

use std::time::Duration;

use batch_core::{
    changed_columns, ColumnMismatch, Schema, SchemaMismatch, SinkError, SinkErrorKind,
};

use crate::rowbinary::RowBinary;
use clickhouse::Client;

use crate::classify::classify;
use crate::codes;
use crate::endpoints::Endpoints;
use crate::kinds::{complete, declared_matches};
use crate::types::{is_clickhouse_spelling, ChType};

/// One column of the live table, as `system.columns` describes it.
#[derive(Debug, Clone)]
pub(crate) struct ServerColumn {
    /// The column name.
    pub(crate) name: String,
    /// The type as the server spells it.
    pub(crate) type_name: String,
    /// `DEFAULT`, `MATERIALIZED`, `ALIAS`, `EPHEMERAL`, or empty.
    pub(crate) default_kind: String,
}

/// One column of a live table, as [`describe_table`](crate::describe_table) reads it from
/// `system.columns` (the query the schema check runs).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TableColumn {
    /// The column name.
    pub name: String,
    /// The type as the server spells it.
    pub type_name: String,
    /// The type, parsed; `None` when batchrow cannot parse the spelling.
    pub ty: Option<ChType>,
    /// `DEFAULT`, `MATERIALIZED`, `ALIAS`, `EPHEMERAL`, or empty.
    pub default_kind: String,
}

/// Reads the columns of a live table, in table order, with the catalog query of the
/// schema check. `database` `None` is the client's database (or the server's current
/// one).
///
/// # Errors
///
/// A [`SinkErrorKind::Config`] error when the database or the table does not exist;
/// other server errors classified as the sink classifies them.
///
/// # Examples
///
/// ```no_run
/// # async fn run() -> Result<(), batch_core::SinkError> {
/// let client = clickhouse::Client::default().with_url("http://127.0.0.1:8123");
/// for column in batch_clickhouse::describe_table(&client, None, "events").await? {
///     println!("{} {}", column.name, column.type_name);
/// }
/// # Ok(()) }
/// ```
pub async fn describe_table(
    client: &Client,
    database: Option<&str>,
    table: &str,
) -> Result<Vec<TableColumn>, SinkError> {
    // As the sink: the client's own row validation does not work with older servers.
    let client = &client.clone().with_validation(false);
    let database = match database.or(client.database()) {
        Some(d) => d.to_owned(),
        None => current_database(client).await?,
    };
    Ok(load(client, &database, table)
        .await?
        .into_iter()
        .map(|c| TableColumn {
            ty: ChType::parse(&c.type_name).ok(),
            name: c.name,
            type_name: c.type_name,
            default_kind: c.default_kind,
        })
        .collect())
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct ColumnRow {
    name: String,
    #[serde(rename = "type")]
    type_name: String,
    default_kind: String,
}

/// Reads the table's columns from `system.columns` (which has the same columns on
/// 18.16 and on current servers).
///
/// # Errors
///
/// A [`SinkErrorKind::Config`] error when the database or the table does not exist or
/// the credentials are refused; other server errors classified.
pub(crate) async fn load(
    client: &Client,
    database: &str,
    table: &str,
) -> Result<Vec<ServerColumn>, SinkError> {
    let rows: Vec<ColumnRow> = client
        .query(
            "SELECT name, type, default_kind FROM system.columns WHERE database = ? AND table = ?",
        )
        .bind(database)
        .bind(table)
        .fetch_all()
        .await
        .map_err(|e| check_error(e, database))?;
    if rows.is_empty() {
        let databases: u64 = client
            .query("SELECT count() FROM system.databases WHERE name = ?")
            .bind(database)
            .fetch_one()
            .await
            .map_err(|e| check_error(e, database))?;
        let message = if databases == 0 {
            format!("database `{database}` does not exist")
        } else {
            format!("table `{database}`.`{table}` does not exist")
        };
        return Err(SinkError::new(SinkErrorKind::Config, message));
    }
    Ok(rows
        .into_iter()
        .map(|r| ServerColumn {
            name: r.name,
            type_name: r.type_name,
            default_kind: r.default_kind,
        })
        .collect())
}

/// The database the client's queries run in when none is named: `currentDatabase()`.
pub(crate) async fn current_database(client: &Client) -> Result<String, SinkError> {
    client
        .query("SELECT currentDatabase()")
        .fetch_one::<String>()
        .await
        .map_err(|e| check_error(e, "?"))
}

fn check_error(e: clickhouse::error::Error, database: &str) -> SinkError {
    let err = classify(e, "reading the table schema from system.columns");
    match err.code().and_then(|c| c.parse::<u32>().ok()) {
        Some(codes::UNKNOWN_DATABASE) => SinkError::new(
            SinkErrorKind::Config,
            format!("database `{database}` does not exist ({err})"),
        )
        .with_code(codes::UNKNOWN_DATABASE.to_string()),
        _ => err,
    }
}

/// Compares every column of the row type with the table's and resolves the type each
/// column is encoded with, in the order of `schema.columns`.
///
/// # Errors
///
/// A [`SchemaMismatch`] that lists every column that does not fit: a field the table
/// lacks, a type the field cannot be written to (nullability included: the field type's
/// `Encode::accepts`, when `schema` carries the rules), a declared type the field type
/// does not fit (the same rule) or that is not the server's, a column that cannot be inserted into (`MATERIALIZED`, `ALIAS`), and a table
/// column the struct leaves out that has no default.
pub(crate) fn check(
    table_label: &str,
    schema: &Schema,
    server: &[ServerColumn],
) -> Result<Vec<ChType>, SchemaMismatch> {
    let mut mismatches = Vec::new();
    let mut resolved = Vec::with_capacity(schema.columns.len());
    for (i, c) in schema.columns.iter().enumerate() {
        let mut mismatch = |server_type: Option<&str>, reason: String| {
            mismatches.push(ColumnMismatch {
                column: c.name.to_owned(),
                rust_type: Some(c.rust_type.to_owned()),
                server_type: server_type.map(str::to_owned),
                reason,
            });
        };
        let Some(s) = server.iter().find(|s| s.name == c.name) else {
            mismatch(None, "the table has no such column".to_owned());
            continue;
        };
        let st = Some(s.type_name.as_str());
        if matches!(s.default_kind.as_str(), "MATERIALIZED" | "ALIAS") {
            mismatch(
                st,
                format!(
                    "{} columns cannot be inserted into: remove the field or mark it \
                     #[batch(skip)]",
                    s.default_kind
                ),
            );
            continue;
        }
        let ty = match ChType::parse(&s.type_name) {
            Ok(ty) => ty,
            Err(e) => {
                mismatch(st, format!("batchrow cannot read this server type: {e}"));
                continue;
            }
        };
        if let Some(d) = c.declared.filter(|d| !is_clickhouse_spelling(d)) {
            mismatch(
                st,
                format!(
                    "the field declares `{d}`, which is not a ClickHouse type (a PostgreSQL \
                     spelling?); declare the ClickHouse type, such as `{}`, or remove \
                     #[batch(type = \"..\")]",
                    s.type_name
                ),
            );
            continue;
        }
        if let Some(d) = c.declared {
            match ChType::parse(d) {
                Ok(declared) => {
                    let declared = complete(&c.kind, declared);
                    // The declared type first: the field must fit it whatever the table
                    // says (this was a compile error, through a second table of types).
                    if let Some(Err(reason)) = schema.accepts(i, &declared) {
                        mismatch(
                            st,
                            format!(
                                "the field type does not fit its declared type `{declared}` \
                                 (#[batch(type = \"{d}\")]): {reason}"
                            ),
                        );
                        continue;
                    }
                    if !declared_matches(&declared, &ty) {
                        mismatch(
                            st,
                            format!(
                                "the field declares the type `{declared}` \
                                 (#[batch(type = \"{d}\")]), but the server's is different"
                            ),
                        );
                        continue;
                    }
                }
                Err(e) => {
                    mismatch(st, format!("the declared type does not parse: {e}"));
                    continue;
                }
            }
        }
        match schema.accepts(i, &ty) {
            Some(Err(reason)) => mismatch(st, reason.to_string()),
            _ => resolved.push(ty),
        }
    }
    for s in server {
        if schema.columns.iter().any(|c| c.name == s.name) {
            continue;
        }
        if s.default_kind.is_empty() {
            mismatches.push(ColumnMismatch {
                column: s.name.clone(),
                rust_type: None,
                server_type: Some(s.type_name.clone()),
                reason: "the column has no DEFAULT, MATERIALIZED or ALIAS expression, so \
                         every insert must set it: add a field for it"
                    .to_owned(),
            });
        }
    }
    if mismatches.is_empty() {
        Ok(resolved)
    } else {
        Err(SchemaMismatch {
            table: table_label.to_owned(),
            columns: mismatches,
        })
    }
}

/// Whether a server error code may mean that the table changed under the sink.
pub(crate) fn may_be_schema_change(code: Option<u32>) -> bool {
    code.is_some_and(|c| codes::MAYBE_SCHEMA_CHANGE.contains(&c))
}

/// Re-reads the table and reports how it no longer fits, if it does not.
pub(crate) async fn recheck(
    client: &Client,
    database: &str,
    table: &str,
    table_label: &str,
    schema: &Schema,
    before: &[ChType],
) -> Result<Option<SchemaMismatch>, SinkError> {
    let server = load(client, database, table).await?;
    Ok(match check(table_label, schema, &server) {
        Err(m) => Some(m),
        Ok(now) => changed_columns::<RowBinary>(table_label, schema.columns, before, &now),
    })
}

/// The table's engine, from `system.tables` (`Distributed`, `ReplicatedMergeTree`...).
pub(crate) async fn engine(
    client: &Client,
    database: &str,
    table: &str,
) -> Result<String, SinkError> {
    client
        .query("SELECT engine FROM system.tables WHERE database = ? AND name = ?")
        .bind(database)
        .bind(table)
        .fetch_optional::<String>()
        .await
        .map(Option::unwrap_or_default)
        .map_err(|e| check_error(e, database))
}

/// What the schema check found on one endpoint.
#[derive(Debug, Clone)]
pub(crate) struct Checked {
    /// The database the table is in.
    pub(crate) database: String,
    /// The column types, in the row type's order.
    pub(crate) columns: Vec<ChType>,
    /// Whether the table is a `Distributed` table.
    pub(crate) distributed: bool,
}

/// The schema check of one endpoint, within `limit`: the database (`database`, or the
/// server's current one), the columns, the engine; and, with `dedup`, that the server
/// knows `insert_deduplication_token`.
pub(crate) async fn check_endpoint(
    client: Client,
    database: Option<String>,
    table: String,
    schema: Schema,
    dedup: bool,
    limit: Duration,
) -> Result<Checked, SinkError> {
    let run = async {
        if dedup {
            crate::dedup::check_server(&client).await?;
        }
        let database = match database {
            Some(d) => d,
            None => current_database(&client).await?,
        };
        let label = format!("{database}.{table}");
        let server = load(&client, &database, &table).await?;
        let columns = check(&label, &schema, &server).map_err(SinkError::schema)?;
        let distributed = engine(&client, &database, &table).await? == "Distributed";
        Ok(Checked {
            database,
            columns,
            distributed,
        })
    };
    match tokio::time::timeout(limit, run).await {
        Ok(result) => result,
        Err(_) => Err(SinkError::retryable(format!(
            "ClickHouse did not answer the schema check of table `{table}` within {limit:?} \
             (ClickHouseSink::schema_timeout): is the server up, and is the URL its HTTP \
             port?"
        ))),
    }
}

/// The schema checks of every endpoint, combined.
#[derive(Debug)]
pub(crate) struct Combined {
    /// What the endpoints that answered agree on.
    pub(crate) checked: Checked,
    /// The endpoints that did not answer (a retryable error): they are checked before
    /// they get a batch.
    pub(crate) unreachable: Vec<usize>,
}

/// Combines the schema checks of the endpoints (`results`, by endpoint index): one
/// error that names every endpoint that differs, or what they agree on.
///
/// # Errors
///
/// With one endpoint, its own error. With several: a [`SinkErrorKind::Schema`] error
/// listing every mismatched column of every endpoint (each reason ending with the
/// endpoint's URL), including columns whose type differs between endpoints that each
/// fit the row type (batches are encoded once, for every endpoint); a
/// [`SinkErrorKind::Config`] (or other non-retryable) error naming each endpoint whose
/// check failed so; or, when no endpoint answered, a retryable error naming each.
pub(crate) fn combine(
    endpoints: &Endpoints,
    table: &str,
    schema: &Schema,
    mut results: Vec<(usize, Result<Checked, SinkError>)>,
) -> Result<Combined, SinkError> {
    if endpoints.len() == 1 {
        let (_, result) = results.pop().ok_or_else(|| {
            SinkError::retryable(format!(
                "ClickHouse: no schema check of table `{table}` ran"
            ))
        })?;
        return result.map(|checked| Combined {
            checked,
            unreachable: Vec::new(),
        });
    }
    let at = |i: usize| endpoints.get(i).at();
    let mut mismatched: Vec<ColumnMismatch> = Vec::new();
    let mut label = None;
    let mut refused: Vec<(usize, SinkError)> = Vec::new();
    let mut unreachable: Vec<(usize, SinkError)> = Vec::new();
    let mut fits: Vec<(usize, Checked)> = Vec::new();
    for (i, result) in results {
        match result {
            Ok(c) => fits.push((i, c)),
            Err(e) => match e.mismatch() {
                Some(m) => {
                    label.get_or_insert_with(|| m.table.clone());
                    mismatched.extend(m.columns.iter().cloned().map(|mut c| {
                        c.reason = format!("{}{}", c.reason, at(i));
                        c
                    }));
                }
                None if e.is_retryable() => unreachable.push((i, e)),
                None => refused.push((i, e)),
            },
        }
    }
    // Endpoints whose tables each fit the row type, but not alike.
    if let Some((first, reference)) = fits.first() {
        label.get_or_insert_with(|| format!("{}.{table}", reference.database));
        for (i, other) in &fits[1..] {
            for (k, column) in schema.columns.iter().enumerate() {
                let (a, b) = (reference.columns.get(k), other.columns.get(k));
                if a != b {
                    mismatched.push(ColumnMismatch {
                        column: column.name.to_owned(),
                        rust_type: Some(column.rust_type.to_owned()),
                        server_type: b.map(ToString::to_string),
                        reason: format!(
                            "the endpoints differ: `{}`{} but `{}`{}; batches are encoded \
                             once, for every endpoint",
                            a.map(ToString::to_string).unwrap_or_default(),
                            at(*first),
                            b.map(ToString::to_string).unwrap_or_default(),
                            at(*i)
                        ),
                    });
                }
            }
        }
    }
    let listed = |errors: &[(usize, SinkError)]| {
        errors
            .iter()
            .map(|(i, e)| format!("{}: {e}", at(*i).trim_start()))
            .collect::<Vec<_>>()
            .join("; ")
    };
    if !refused.is_empty() {
        let kind = refused[0].1.kind();
        let mut message = format!(
            "ClickHouse: the schema check of table `{table}` failed on {} of {} endpoints: {}",
            refused.len(),
            endpoints.len(),
            listed(&refused)
        );
        if !mismatched.is_empty() {
            message.push_str(&format!(
                "; and {}",
                SchemaMismatch {
                    table: label.unwrap_or_else(|| table.to_owned()),
                    columns: mismatched
                }
            ));
        }
        return Err(SinkError::new(kind, message));
    }
    if !mismatched.is_empty() {
        return Err(SinkError::schema(SchemaMismatch {
            table: label.unwrap_or_else(|| table.to_owned()),
            columns: mismatched,
        }));
    }
    let Some((_, checked)) = fits.into_iter().next() else {
        return Err(SinkError::retryable(format!(
            "ClickHouse: no endpoint answered the schema check of table `{table}`: {}",
            listed(&unreachable)
        )));
    };
    Ok(Combined {
        checked,
        unreachable: unreachable.into_iter().map(|(i, _)| i).collect(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::RowBinary;
    use batch_core::{BatchRow, Column, Encode, EncodeError, EncodeRow, Reason, ValueKind};

    fn server(cols: &[(&str, &str, &str)]) -> Vec<ServerColumn> {
        cols.iter()
            .map(|(n, t, d)| ServerColumn {
                name: (*n).to_owned(),
                type_name: (*t).to_owned(),
                default_kind: (*d).to_owned(),
            })
            .collect()
    }

    static COLUMNS: [Column; 4] = [
        Column::new("id", "id", "u64", None, ValueKind::U64),
        Column::new("name", "name", "&'a str", None, ValueKind::String),
        Column::new(
            "at",
            "at",
            "Option<DateTime<Utc>>",
            Some("DateTime64(3)"),
            ValueKind::Nullable(&ValueKind::Timestamp),
        ),
        Column::new(
            "tags",
            "tags",
            "Vec<String>",
            None,
            ValueKind::Array(&ValueKind::String),
        ),
    ];
    /// The row of `COLUMNS`, with the rules of its field types.
    struct Events;

    impl BatchRow for Events {
        const TABLE: &'static str = "events";
        const COLUMNS: &'static [Column] = &COLUMNS;
        type Static = Events;
    }

    impl EncodeRow<RowBinary> for Events {
        fn encode_row(&self, _: &[ChType], _: &mut Vec<u8>) -> Result<(), EncodeError> {
            Ok(())
        }

        fn accepts_column(index: usize, c: &ChType) -> Option<Result<(), Reason>> {
            Some(match index {
                0 => <u64 as Encode<RowBinary>>::accepts(c),
                1 => <&str as Encode<RowBinary>>::accepts(c),
                // `Option<DateTime<Utc>>` needs the chrono feature: its declared type is
                // what this test checks.
                2 => Ok(()),
                3 => <Vec<String> as Encode<RowBinary>>::accepts(c),
                _ => return None,
            })
        }
    }

    const SCHEMA: Schema = Schema::checked::<Events, RowBinary>();

    #[test]
    fn resolves_the_server_types_in_struct_order() {
        let cols = check(
            "db.events",
            &SCHEMA,
            &server(&[
                ("tags", "Array(LowCardinality(String))", ""),
                ("at", "Nullable(DateTime64(3, 'UTC'))", ""),
                ("name", "FixedString(8)", ""),
                ("id", "UInt64", ""),
                ("inserted", "DateTime", "DEFAULT"),
                ("day", "Date", "MATERIALIZED"),
                ("alias", "String", "ALIAS"),
            ]),
        )
        .unwrap();
        let names: Vec<String> = cols.iter().map(ToString::to_string).collect();
        assert_eq!(
            names,
            [
                "UInt64",
                "FixedString(8)",
                "Nullable(DateTime64(3, 'UTC'))",
                "Array(LowCardinality(String))"
            ]
        );
    }

    #[test]
    fn reports_every_mismatch_at_once() {
        let m = check(
            "db.events",
            &SCHEMA,
            &server(&[
                ("id", "Int64", ""),
                ("name", "MATERIALIZED_TYPE_IS_IRRELEVANT", "MATERIALIZED"),
                ("at", "Nullable(DateTime64(6))", ""),
                ("required", "UInt8", ""),
                ("optional", "UInt8", "DEFAULT"),
            ]),
        )
        .unwrap_err();
        assert_eq!(
            m.to_string(),
            "the row type does not match table db.events (5 columns):\n  \
             - column `id`: field type `u64`, server type `Int64`: this field type needs UInt64\n  \
             - column `name`: field type `&'a str`, server type `MATERIALIZED_TYPE_IS_IRRELEVANT`: \
             MATERIALIZED columns cannot be inserted into: remove the field or mark it #[batch(skip)]\n  \
             - column `at`: field type `Option<DateTime<Utc>>`, server type `Nullable(DateTime64(6))`: \
             the field declares the type `Nullable(DateTime64(3))` (#[batch(type = \"DateTime64(3)\")]), \
             but the server's is different\n  \
             - column `tags`: field type `Vec<String>`, not in the table: the table has no such column\n  \
             - column `required`: server type `UInt8`, not in the struct: the column has no DEFAULT, \
             MATERIALIZED or ALIAS expression, so every insert must set it: add a field for it"
        );
    }

    /// `#[batch(type = "..")]` in PostgreSQL's spelling is refused by name, as the
    /// PostgreSQL sink refuses a ClickHouse spelling (it used to read as an unknown
    /// ClickHouse type that "differs from the server's").
    #[test]
    fn a_postgresql_spelling_is_refused() {
        static PG: [Column; 2] = [
            Column::new("doc", "doc", "String", Some("jsonb"), ValueKind::String),
            Column::new(
                "price",
                "price",
                "Decimal",
                Some("numeric(12, 2)"),
                ValueKind::Decimal,
            ),
        ];
        let schema = Schema {
            table: "events",
            columns: &PG,
            check: None,
        };
        let m = check(
            "db.events",
            &schema,
            &server(&[("doc", "String", ""), ("price", "Decimal(12, 2)", "")]),
        )
        .unwrap_err();
        assert_eq!(
            m.to_string(),
            "the row type does not match table db.events (2 columns):\n  \
             - column `doc`: field type `String`, server type `String`: the field declares \
             `jsonb`, which is not a ClickHouse type (a PostgreSQL spelling?); declare the \
             ClickHouse type, such as `String`, or remove #[batch(type = \"..\")]\n  \
             - column `price`: field type `Decimal`, server type `Decimal(12, 2)`: the field \
             declares `numeric(12, 2)`, which is not a ClickHouse type (a PostgreSQL \
             spelling?); declare the ClickHouse type, such as `Decimal(12, 2)`, or remove \
             #[batch(type = \"..\")]"
        );
    }

    /// A declared type the field does not fit is reported by the field type's rule, with
    /// the declared type named, whatever the server's type is (the derive used to make
    /// this a compile error through a second table of types, `Fits`).
    #[test]
    fn a_declared_type_the_field_does_not_fit() {
        static MISFIT: [Column; 2] = [
            Column::new("count", "count", "i64", Some("Int32"), ValueKind::I64),
            Column::new(
                "code",
                "code",
                "[u8; 8]",
                Some("FixedString(4)"),
                ValueKind::FixedBytes(8),
            ),
        ];
        struct Misfit;
        impl BatchRow for Misfit {
            const TABLE: &'static str = "misfit";
            const COLUMNS: &'static [Column] = &MISFIT;
            type Static = Misfit;
        }
        impl EncodeRow<RowBinary> for Misfit {
            fn encode_row(&self, _: &[ChType], _: &mut Vec<u8>) -> Result<(), EncodeError> {
                Ok(())
            }

            fn accepts_column(index: usize, c: &ChType) -> Option<Result<(), Reason>> {
                Some(match index {
                    0 => <i64 as Encode<RowBinary>>::accepts(c),
                    1 => <[u8; 8] as Encode<RowBinary>>::accepts(c),
                    _ => return None,
                })
            }
        }
        let schema = Schema::checked::<Misfit, RowBinary>();
        let expected = "the row type does not match table db.misfit (2 columns):\n  \
             - column `count`: field type `i64`, server type `{count}`: the field type does not \
             fit its declared type `Int32` (#[batch(type = \"Int32\")]): this field type needs \
             Int64\n  \
             - column `code`: field type `[u8; 8]`, server type `{code}`: the field type does \
             not fit its declared type `FixedString(4)` (#[batch(type = \"FixedString(4)\")]): \
             this field type needs FixedString(8) or String";
        // The table as declared, and a table of the field's types: the same report.
        for (count, code) in [("Int32", "FixedString(4)"), ("Int64", "FixedString(8)")] {
            let m = check(
                "db.misfit",
                &schema,
                &server(&[("count", count, ""), ("code", code, "")]),
            )
            .unwrap_err();
            assert_eq!(
                m.to_string(),
                expected.replace("{count}", count).replace("{code}", code)
            );
        }
    }

    #[test]
    fn a_changed_type_is_reported_even_when_it_still_fits() {
        let before = vec![
            ChType::UInt64,
            ChType::String,
            ChType::parse("Nullable(DateTime64(3))").unwrap(),
            ChType::parse("Array(String)").unwrap(),
        ];
        let mut now = before.clone();
        now[1] = ChType::FixedString(8);
        let m = changed_columns::<RowBinary>("db.events", SCHEMA.columns, &before, &now).unwrap();
        assert_eq!(m.columns.len(), 1);
        assert_eq!(m.columns[0].column, "name");
        assert_eq!(m.columns[0].server_type.as_deref(), Some("FixedString(8)"));
        assert!(m.columns[0].reason.contains("changed from `String`"), "{m}");
        assert!(
            changed_columns::<RowBinary>("db.events", SCHEMA.columns, &before, &before).is_none()
        );
    }
}
