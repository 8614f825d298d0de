//! The schema check: once, before any row, the row type is compared with the live
//! table read from the catalog (`pg_class`, `pg_attribute`, `pg_type`, `pg_enum`).
//!
//! See [`compare`] for the rules. A missing schema, a missing table, a view, missing
//! privileges and active row-level security are each a
//! [`Config`](batch_core::SinkErrorKind::Config) error with a message that says what to
//! do; type mismatches are one [`Schema`](batch_core::SinkErrorKind::Schema) error that
//! lists every column.

mod catalog;
pub(crate) mod compare;
mod create;
mod declared;

use batch_core::{Schema, SchemaMismatch, SinkError};
use tokio_postgres::Client;

pub(crate) use catalog::Table;
pub use create::{describe_table, TableColumn};

use crate::copy::PgType;

/// Where the rows go: a table, in a schema or found through the `search_path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableName {
    pub(crate) schema: Option<String>,
    pub(crate) table: String,
}

impl TableName {
    /// `schema.table`, or the table alone, for messages.
    pub(crate) fn display(&self) -> String {
        match &self.schema {
            Some(schema) => format!("{schema}.{}", self.table),
            None => self.table.clone(),
        }
    }

    /// Splits a row type's `TABLE` at its first dot: `"events"` is looked up through
    /// the `search_path`, `"analytics.events"` in schema `analytics`. Names are taken
    /// literally (case-sensitive, no quotes).
    pub(crate) fn parse(name: &str) -> Self {
        match name.split_once('.') {
            Some((schema, table)) => TableName {
                schema: Some(schema.to_owned()),
                table: table.to_owned(),
            },
            None => TableName {
                schema: None,
                table: name.to_owned(),
            },
        }
    }
}

/// What the check resolved: the table, the column types for the encoder and the COPY
/// statement.
#[derive(Debug, Clone)]
pub(crate) struct Checked {
    pub(crate) table: Table,
    pub(crate) columns: Vec<PgType>,
    pub(crate) copy_sql: String,
}

/// Quotes an identifier for SQL: `"` + the name with `"` doubled + `"`.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Runs the check.
pub(crate) async fn check(
    client: &Client,
    name: &TableName,
    schema: Schema,
) -> Result<Checked, SinkError> {
    if schema.columns.is_empty() {
        return Err(SinkError::new(
            batch_core::SinkErrorKind::Config,
            "the row type has no columns",
        ));
    }
    let table = catalog::resolve(client, name).await?;
    let server = catalog::columns(client, &table).await?;
    let names: Vec<&str> = schema.columns.iter().map(|c| c.name).collect();
    let declared = declared::resolve(client, schema.columns).await?;
    let declared = declared::mismatches(schema.columns, &server, &declared);
    let compared = compare::compare(&schema, &server);
    let columns = declared::merge(compared, declared).map_err(|columns| {
        SinkError::schema(SchemaMismatch {
            table: table.display(),
            columns,
        })
    })?;
    catalog::check_access(client, &table, &names).await?;
    let copy_sql = format!(
        "COPY {}.{} ({}) FROM STDIN (FORMAT binary)",
        quote_ident(&table.schema),
        quote_ident(&table.name),
        names
            .iter()
            .map(|n| quote_ident(n))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(Checked {
        table,
        columns,
        copy_sql,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn table_names() {
        assert_eq!(
            TableName::parse("events"),
            TableName {
                schema: None,
                table: "events".into()
            }
        );
        assert_eq!(
            TableName::parse("Analytics.My.Events"),
            TableName {
                schema: Some("Analytics".into()),
                table: "My.Events".into()
            }
        );
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("a"), "\"a\"");
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
    }
}
