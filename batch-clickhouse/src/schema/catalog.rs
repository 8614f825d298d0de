//! Reading the live table: its columns from `system.columns`, its engine, the current
//! database.

use batch_core::{SinkError, SinkErrorKind};

use clickhouse::Client;

use crate::classify::classify;
use crate::codes;
use crate::types::ChType;

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
