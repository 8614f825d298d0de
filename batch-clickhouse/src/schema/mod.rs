//! The schema check: the row type against the live table's columns, once, before any
//! row is accepted (and again when an insert fails because the table changed).

mod catalog;
mod compare;
mod endpoints;

pub(crate) use catalog::{current_database, engine, load, ServerColumn};
pub use catalog::{describe_table, TableColumn};
pub(crate) use compare::check;
pub(crate) use endpoints::{check_endpoint, combine, Checked};

use batch_core::{changed_columns, Schema, SchemaMismatch, SinkError};
use clickhouse::Client;

use crate::codes;
use crate::rowbinary::RowBinary;
use crate::types::ChType;

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

#[cfg(test)]
mod tests;
