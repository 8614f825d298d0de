//! `#[batch(type = "..")]` against the live table, as the ClickHouse sink checks it:
//! once, before any row, and every mismatch in the same error as the others.
//!
//! - A ClickHouse spelling (`LowCardinality(String)`, `DateTime64(3)`, `Date`: the first
//!   name is a ClickHouse type name, the rule the derive and the ClickHouse sink use) is
//!   a mismatch: this table is in PostgreSQL, which would not understand it.
//! - A PostgreSQL spelling is resolved by the server itself (`to_regtype`, so every
//!   alias it knows works: `int4`, `integer`, `character varying(20)`, …) and must name
//!   the column's type, or the base type of the column's domain. Type modifiers
//!   (`varchar(20)`, `numeric(12, 2)`, `timestamp(3)`) are not compared: the server
//!   applies the column's own to every row.

use batch_clickhouse_types::is_clickhouse_spelling;
use batch_core::{Column, ColumnMismatch, SinkError};
use tokio_postgres::Client;

use super::compare::ServerColumn;
use crate::copy::PgType;
use crate::sink::classify::query_error;

/// How the server read a declared PostgreSQL spelling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resolved {
    /// A type: its OID and its name as the server prints it.
    Type(u32, String),
    /// A well-formed name of a type the database does not have.
    Unknown,
    /// The server could not read the spelling: its message.
    Invalid(String),
}

/// Resolves each PostgreSQL spelling that the row declares, once each.
pub(crate) async fn resolve(
    client: &Client,
    row: &[Column],
) -> Result<Vec<(&'static str, Resolved)>, SinkError> {
    let mut out: Vec<(&'static str, Resolved)> = Vec::new();
    for declared in row.iter().filter_map(|c| c.declared) {
        if is_clickhouse_spelling(declared) || out.iter().any(|(d, _)| *d == declared) {
            continue;
        }
        let resolved = match client
            .query_one(
                "SELECT to_regtype($1)::oid, to_regtype($1)::text",
                &[&declared],
            )
            .await
        {
            Ok(r) => match (r.get::<_, Option<u32>>(0), r.get::<_, Option<String>>(1)) {
                (Some(oid), Some(name)) => Resolved::Type(oid, name),
                _ => Resolved::Unknown,
            },
            Err(e) => match e.as_db_error() {
                Some(db) => Resolved::Invalid(db.message().to_owned()),
                None => return Err(query_error(e)),
            },
        };
        out.push((declared, resolved));
    }
    Ok(out)
}

/// The columns whose declared type is not the table's, in row order. Columns the
/// table lacks are left to [`compare`](super::compare::compare).
pub(crate) fn mismatches(
    row: &[Column],
    table: &[ServerColumn],
    resolved: &[(&str, Resolved)],
) -> Vec<ColumnMismatch> {
    let mut out = Vec::new();
    for col in row {
        let (Some(declared), Some(server)) =
            (col.declared, table.iter().find(|s| s.name == col.name))
        else {
            continue;
        };
        let reason = if is_clickhouse_spelling(declared) {
            format!(
                "the field declares `{declared}`, which is a ClickHouse type, not a PostgreSQL \
                 one; declare the PostgreSQL type, such as `{}`, or remove \
                 #[batch(type = \"..\")]",
                server.ty.name()
            )
        } else {
            match resolved
                .iter()
                .find(|(d, _)| *d == declared)
                .map(|(_, r)| r)
            {
                Some(Resolved::Type(oid, _)) if is(&server.ty, *oid) => continue,
                Some(Resolved::Type(_, name)) => format!(
                    "the field declares the type `{declared}` (#[batch(type = \"{declared}\")], \
                     which is `{name}`), but the column's is different"
                ),
                Some(Resolved::Unknown) => {
                    format!("the field declares `{declared}`, a type this database does not have")
                }
                Some(Resolved::Invalid(message)) => {
                    format!("PostgreSQL cannot read the declared type `{declared}`: {message}")
                }
                None => continue,
            }
        };
        out.push(ColumnMismatch {
            column: col.name.to_owned(),
            rust_type: Some(col.rust_type.to_owned()),
            server_type: Some(server.ty.name().to_owned()),
            reason,
        });
    }
    out
}

/// Whether the column type `ty` is the type `oid`, or a domain over it.
fn is(ty: &PgType, oid: u32) -> bool {
    ty.oid == oid || ty.base == oid
}

/// The result of the comparison with the declared-type mismatches added (one mismatch
/// per column: the comparison's comes first).
pub(crate) fn merge(
    compared: Result<Vec<PgType>, Vec<ColumnMismatch>>,
    declared: Vec<ColumnMismatch>,
) -> Result<Vec<PgType>, Vec<ColumnMismatch>> {
    match compared {
        Ok(types) if declared.is_empty() => Ok(types),
        Ok(_) => Err(declared),
        Err(mut found) => {
            for d in declared {
                if !found.iter().any(|f| f.column == d.column) {
                    found.push(d);
                }
            }
            Err(found)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use batch_core::ValueKind;

    use super::*;
    use crate::copy::PgTypeKind;

    fn server(name: &str, oid: u32, base: u32, ty: &str) -> ServerColumn {
        ServerColumn {
            name: name.to_owned(),
            ty: PgType {
                oid,
                base,
                typmod: -1,
                name: ty.to_owned(),
                kind: PgTypeKind::Base,
            },
            not_null: true,
            has_default: false,
            identity: false,
            generated: false,
        }
    }

    static ROW: [Column; 6] = [
        Column::new("a", "a", "i32", Some("integer"), ValueKind::I32),
        Column::new("b", "b", "String", Some("varchar(20)"), ValueKind::String),
        Column::new("c", "c", "String", Some("json"), ValueKind::String),
        Column::new(
            "d",
            "d",
            "String",
            Some("LowCardinality(String)"),
            ValueKind::String,
        ),
        Column::new("e", "e", "String", Some("mytype"), ValueKind::String),
        Column::new("f", "f", "String", Some("text"), ValueKind::String),
    ];

    #[test]
    fn declared_types_against_the_table() {
        let table = [
            server("a", 23, 23, "integer"),
            server("b", 1043, 1043, "character varying(10)"),
            server("c", 3802, 3802, "jsonb"),
            server("d", 25, 25, "text"),
            server("e", 25, 25, "text"),
            // A domain over text.
            server("f", 90001, 25, "short_text"),
        ];
        let resolved = [
            ("integer", Resolved::Type(23, "integer".into())),
            (
                "varchar(20)",
                Resolved::Type(1043, "character varying".into()),
            ),
            ("json", Resolved::Type(114, "json".into())),
            ("mytype", Resolved::Unknown),
            ("text", Resolved::Type(25, "text".into())),
        ];
        let m = mismatches(&ROW, &table, &resolved);
        let reasons: Vec<(&str, &str)> = m
            .iter()
            .map(|m| (m.column.as_str(), m.reason.as_str()))
            .collect();
        assert_eq!(
            reasons,
            [
                (
                    "c",
                    "the field declares the type `json` (#[batch(type = \"json\")], which is \
                     `json`), but the column's is different"
                ),
                (
                    "d",
                    "the field declares `LowCardinality(String)`, which is a ClickHouse type, \
                     not a PostgreSQL one; declare the PostgreSQL type, such as `text`, or \
                     remove #[batch(type = \"..\")]"
                ),
                (
                    "e",
                    "the field declares `mytype`, a type this database does not have"
                ),
            ]
        );
    }

    #[test]
    fn one_mismatch_per_column() {
        let mismatch = |column: &str, reason: &str| ColumnMismatch {
            column: column.to_owned(),
            rust_type: None,
            server_type: None,
            reason: reason.to_owned(),
        };
        assert!(merge(Ok(vec![]), vec![]).is_ok());
        assert_eq!(
            merge(Ok(vec![]), vec![mismatch("a", "declared")]).unwrap_err(),
            [mismatch("a", "declared")]
        );
        assert_eq!(
            merge(
                Err(vec![mismatch("a", "type")]),
                vec![mismatch("a", "declared"), mismatch("b", "declared")]
            )
            .unwrap_err(),
            [mismatch("a", "type"), mismatch("b", "declared")]
        );
    }
}
