//! Upsert: each batch COPYed into a temporary staging table and merged into the target
//! with `INSERT … SELECT … ON CONFLICT`, in the batch's transaction.

use batch_core::{SinkError, SinkErrorKind};
use tokio_postgres::Client;

use crate::schema::{quote_ident, Table};
use crate::sink::classify::query_error;

/// The staging table of a batch: one per transaction, dropped at `COMMIT`.
const STAGE: &str = "batchrow_stage";

/// What to do with a row whose key is already in the table: the opt-in upsert mode of
/// [`PostgresSink::on_conflict`](crate::PostgresSink::on_conflict).
///
/// The key names the columns of a primary key or unique index of the table (in any
/// order); the schema check verifies that such an index exists and that its columns are
/// `NOT NULL` and fields of the row type.
///
/// # Examples
///
/// ```
/// use batch_postgres::{OnConflict, PostgresSink};
///
/// // The newest version of each user wins.
/// let sink = PostgresSink::new("postgres://u@127.0.0.1/db")?
///     .on_conflict(OnConflict::update(["user_id"]));
/// // The first event of each id wins; later ones are dropped.
/// let dedup = OnConflict::do_nothing(["tenant", "event_id"]);
/// assert_eq!(dedup.key(), ["tenant", "event_id"]);
/// # Ok::<(), batch_postgres::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnConflict {
    key: Vec<String>,
    action: Action,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Update,
    Nothing,
}

impl OnConflict {
    /// `ON CONFLICT (key) DO UPDATE SET` every other column of the row type to the new
    /// value. Within one batch, the **last** row of each key wins: a batch is deduplicated
    /// on the key, keeping its last occurrence, before it is merged (PostgreSQL refuses an
    /// `ON CONFLICT DO UPDATE` that touches the same row twice).
    pub fn update<I, S>(key: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        OnConflict {
            key: key.into_iter().map(Into::into).collect(),
            action: Action::Update,
        }
    }

    /// `ON CONFLICT (key) DO NOTHING`: a row whose key the table already holds is dropped,
    /// and within one batch the **first** row of each key wins.
    pub fn do_nothing<I, S>(key: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        OnConflict {
            key: key.into_iter().map(Into::into).collect(),
            action: Action::Nothing,
        }
    }

    /// The key columns, as given.
    #[must_use]
    pub fn key(&self) -> &[String] {
        &self.key
    }

    /// Whether rows whose key exists update it (`DO UPDATE`) rather than being dropped.
    #[must_use]
    pub fn updates(&self) -> bool {
        self.action == Action::Update
    }
}

/// The statements of an upsert, built by the schema check.
#[derive(Debug, Clone)]
pub(crate) struct Merge {
    /// Creates the staging table, in the transaction (`ON COMMIT DROP`).
    pub(crate) stage_sql: String,
    /// The COPY into the staging table.
    pub(crate) copy_sql: String,
    /// Moves the staged rows into the table.
    pub(crate) merge_sql: String,
}

fn config(message: String) -> SinkError {
    SinkError::new(SinkErrorKind::Config, message)
}

/// Checks the conflict target against the table and builds the statements: the key must
/// be the columns of a valid, non-partial, immediate unique index (or the primary key),
/// `NOT NULL`, and fields of the row type (`columns`, in the row type's order).
pub(crate) async fn prepare(
    client: &Client,
    table: &Table,
    columns: &[&str],
    on_conflict: &OnConflict,
) -> Result<Merge, SinkError> {
    let key = &on_conflict.key;
    if key.is_empty() {
        return Err(config(
            "on_conflict needs the key columns of a primary key or unique index".to_owned(),
        ));
    }
    let missing: Vec<&str> = key
        .iter()
        .filter(|k| !columns.contains(&k.as_str()))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(config(format!(
            "the conflict key column{} {} of {} {} not a field of the row type; the staged \
             rows hold only the row type's columns",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", "),
            table.display(),
            if missing.len() == 1 { "is" } else { "are" },
        )));
    }
    let rows = client
        .query(
            "SELECT i.indexrelid::regclass::text, i.indisvalid, i.indimmediate, \
             i.indpred IS NOT NULL, \
             ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) k \
                   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k), \
             ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) k \
                   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k \
                   WHERE NOT a.attnotnull) \
             FROM pg_index i WHERE i.indrelid = $1 AND i.indisunique AND i.indexprs IS NULL \
             ORDER BY i.indisprimary DESC, 1",
            &[&table.oid],
        )
        .await
        .map_err(query_error)?;
    let mut wanted: Vec<&str> = key.iter().map(String::as_str).collect();
    wanted.sort_unstable();
    let mut unusable = Vec::new();
    let mut arbiter = None;
    for row in &rows {
        let name: String = row.get(0);
        let mut cols: Vec<String> = row.get(4);
        cols.sort_unstable();
        if cols.iter().map(String::as_str).ne(wanted.iter().copied()) {
            continue;
        }
        let why = if !row.get::<_, bool>(1) {
            Some("is not valid (a failed CREATE INDEX CONCURRENTLY?)")
        } else if !row.get::<_, bool>(2) {
            Some("is deferrable, and ON CONFLICT needs an immediate one")
        } else if row.get::<_, bool>(3) {
            Some("is partial (it has a WHERE clause)")
        } else {
            None
        };
        match why {
            Some(why) => unusable.push(format!("{name} {why}")),
            None => {
                arbiter = Some(row);
                break;
            }
        }
    }
    let Some(arbiter) = arbiter else {
        let mut message = format!(
            "no primary key or unique index of {} has exactly the columns ({}), so they \
             cannot be the conflict target",
            table.display(),
            key.join(", ")
        );
        for u in unusable {
            message.push_str("; ");
            message.push_str(&u);
        }
        return Err(config(message));
    };
    let nullable: Vec<String> = arbiter.get(5);
    if !nullable.is_empty() {
        return Err(config(format!(
            "the conflict key column{} {} of {} may be NULL: rows with a NULL key never \
             conflict, and deduplicating a batch on the key would merge them; make the \
             column{} NOT NULL",
            if nullable.len() == 1 { "" } else { "s" },
            nullable.join(", "),
            table.display(),
            if nullable.len() == 1 { "" } else { "s" },
        )));
    }
    let updated: Vec<&str> = columns
        .iter()
        .copied()
        .filter(|c| !key.iter().any(|k| k == c))
        .collect();
    if on_conflict.updates() && updated.is_empty() {
        return Err(config(format!(
            "every field of the row type is in the conflict key of {}, so DO UPDATE has \
             nothing to set: use OnConflict::do_nothing",
            table.display()
        )));
    }
    Ok(statements(table, columns, on_conflict))
}

/// Builds the statements (the check has passed).
fn statements(table: &Table, columns: &[&str], on_conflict: &OnConflict) -> Merge {
    let target = format!(
        "{}.{}",
        quote_ident(&table.schema),
        quote_ident(&table.name)
    );
    let stage = format!("pg_temp.{}", quote_ident(STAGE));
    let list = |names: &mut dyn Iterator<Item = &str>| {
        names.map(quote_ident).collect::<Vec<_>>().join(", ")
    };
    let cols = list(&mut columns.iter().copied());
    let key = list(&mut on_conflict.key.iter().map(String::as_str));
    // The staging table has the row type's columns with the target's types (domains
    // and type modifiers included), and no constraints: the merge checks them.
    let stage_sql = format!(
        "CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {cols} FROM {target} WITH NO DATA",
        quote_ident(STAGE)
    );
    let copy_sql = format!("COPY {stage} ({cols}) FROM STDIN (FORMAT binary)");
    // A table filled by one COPY in its own transaction stores its rows in the order they
    // came, so `ctid` orders them as the batch did.
    let merge_sql = match on_conflict.action {
        Action::Update => {
            let set = columns
                .iter()
                .filter(|c| !on_conflict.key.iter().any(|k| k == *c))
                .map(|c| format!("{0} = EXCLUDED.{0}", quote_ident(c)))
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "INSERT INTO {target} ({cols}) SELECT DISTINCT ON ({key}) {cols} FROM {stage} \
                 ORDER BY {key}, ctid DESC ON CONFLICT ({key}) DO UPDATE SET {set}"
            )
        }
        Action::Nothing => format!(
            "INSERT INTO {target} ({cols}) SELECT {cols} FROM {stage} ORDER BY ctid \
             ON CONFLICT ({key}) DO NOTHING"
        ),
    };
    Merge {
        stage_sql,
        copy_sql,
        merge_sql,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table {
            oid: 1,
            schema: "public".into(),
            name: "Users".into(),
        }
    }

    #[test]
    fn update_keeps_the_last_row_of_each_key() {
        let m = statements(
            &table(),
            &["id", "name", "seen"],
            &OnConflict::update(["id"]),
        );
        assert_eq!(
            m.stage_sql,
            "CREATE TEMP TABLE \"batchrow_stage\" ON COMMIT DROP AS SELECT \"id\", \"name\", \
             \"seen\" FROM \"public\".\"Users\" WITH NO DATA"
        );
        assert_eq!(
            m.copy_sql,
            "COPY pg_temp.\"batchrow_stage\" (\"id\", \"name\", \"seen\") FROM STDIN (FORMAT binary)"
        );
        assert_eq!(
            m.merge_sql,
            "INSERT INTO \"public\".\"Users\" (\"id\", \"name\", \"seen\") SELECT DISTINCT ON \
             (\"id\") \"id\", \"name\", \"seen\" FROM pg_temp.\"batchrow_stage\" ORDER BY \
             \"id\", ctid DESC ON CONFLICT (\"id\") DO UPDATE SET \"name\" = EXCLUDED.\"name\", \
             \"seen\" = EXCLUDED.\"seen\""
        );
    }

    #[test]
    fn do_nothing_keeps_the_first_row_of_each_key() {
        let m = statements(
            &table(),
            &["a", "b", "v"],
            &OnConflict::do_nothing(["b", "a"]),
        );
        assert_eq!(
            m.merge_sql,
            "INSERT INTO \"public\".\"Users\" (\"a\", \"b\", \"v\") SELECT \"a\", \"b\", \"v\" \
             FROM pg_temp.\"batchrow_stage\" ORDER BY ctid ON CONFLICT (\"b\", \"a\") DO NOTHING"
        );
        assert!(!OnConflict::do_nothing(["a"]).updates());
        assert!(OnConflict::update(["a"]).updates());
    }
}
