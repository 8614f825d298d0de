//! [`ClickHouseSink`]: the schema check, then one `INSERT ... FORMAT RowBinary` per
//! batch through the `clickhouse` crate's formatted-insert API.

use std::time::Duration;

use batch_core::{Batch, Schema, Sink, SinkError, SinkErrorKind};
use clickhouse::Client;

use crate::classify::{classify, server_code};
use crate::rowbinary::RowBinary;
use crate::schema;
use crate::sql::quote_ident;
use crate::types::ChType;

/// The most bytes sent (and LZ4-compressed) as one block: chunks are sliced, without
/// copying, into blocks of at most this size. ClickHouse's own default
/// `max_compress_block_size` is 1 MiB.
const MAX_BLOCK: usize = 1 << 20;

/// A ClickHouse table as a batchrow [`Sink`]: rows are encoded in [`RowBinary`] and each
/// batch is sent as one `INSERT INTO db.table (columns) FORMAT RowBinary`.
///
/// Build it from the `clickhouse::Client` you already have: its URL, credentials,
/// database, compression (LZ4 by default) and settings all apply. The sink turns off
/// the client's own row validation (`with_validation(false)`), which does not work with
/// older servers such as 18.16, and checks the schema itself instead.
///
/// # The schema check
///
/// Before the first row is accepted, [`Sink::prepare`] reads the table's columns from
/// `system.columns` and compares each field of the row type with its column: the type
/// must be one the field's Rust type is written to correctly (an `i32` only into
/// `Int32`; a `String` into `String`, `FixedString(N)`, `LowCardinality(String)` or an
/// enum by label...), and nullability must agree. Table columns the struct leaves out
/// must have a `DEFAULT`, `MATERIALIZED` or `ALIAS` expression. Every mismatch is reported
/// at once in one [`SinkErrorKind::Schema`] error.
///
/// # Errors of `send`
///
/// Network errors, timeouts, overload (`TOO_MANY_PARTS`, memory limits) and 5xx
/// responses are [`SinkErrorKind::Retryable`]; errors in the data or the query are
/// [`SinkErrorKind::Permanent`]; missing tables and refused credentials are
/// [`SinkErrorKind::Config`]. Each carries the server's exception code
/// ([`SinkError::code`]) and message. When an insert fails in a way that may mean the
/// table changed (an unknown column, a type mismatch), the sink checks the schema again
/// and reports the new mismatch as [`SinkErrorKind::Schema`].
///
/// # Examples
///
/// ```no_run
/// use batch_clickhouse::ClickHouseSink;
///
/// let client = clickhouse::Client::default()
///     .with_url("http://127.0.0.1:8123")
///     .with_user("default");
/// let sink = ClickHouseSink::new(client)
///     .database("analytics")
///     .with_setting("async_insert", "1")
///     .with_setting("wait_for_async_insert", "1");
/// // Hand `sink` to the batcher.
/// # drop(sink);
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ClickHouseSink {
    client: Client,
    database: Option<String>,
    table: Option<String>,
    settings: Vec<(String, String)>,
    send_timeout: Option<Duration>,
    end_timeout: Option<Duration>,
    prepared: Option<Prepared>,
}

/// What the schema check resolved.
#[derive(Debug, Clone)]
struct Prepared {
    database: String,
    table: String,
    /// `db.table`, for messages.
    label: String,
    /// The `INSERT` statement.
    sql: String,
    schema: Schema,
    columns: Vec<ChType>,
    /// Settings the columns need (sent unless the user set them).
    implied: Vec<(&'static str, &'static str)>,
}

impl ClickHouseSink {
    /// A sink that writes through `client`.
    pub fn new(client: Client) -> Self {
        ClickHouseSink {
            client: client.with_validation(false),
            database: None,
            table: None,
            settings: Vec::new(),
            send_timeout: None,
            end_timeout: None,
            prepared: None,
        }
    }

    /// The database of the table. Default: the client's database
    /// (`Client::with_database`), or else the server's current database for the user
    /// (usually `default`).
    pub fn database(mut self, database: impl Into<String>) -> Self {
        self.database = Some(database.into());
        self
    }

    /// The table to insert into. Default: the row type's table
    /// (`#[batch(table = "...")]`).
    pub fn table(mut self, table: impl Into<String>) -> Self {
        self.table = Some(table.into());
        self
    }

    /// A setting sent with every insert, such as `async_insert`,
    /// `wait_for_async_insert`, `insert_deduplication_token` or
    /// `insert_quorum`. Only the settings set here (and on the client) are sent, so a
    /// server that lacks a setting is not bothered with it unless you ask.
    ///
    /// Setting the same name again replaces the value.
    pub fn with_setting(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let (name, value) = (name.into(), value.into());
        match self.settings.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.settings.push((name, value)),
        }
        self
    }

    /// Timeouts for each insert (default: none): `send` bounds the time to hand one
    /// block of data to the connection, `end` the time the server takes to answer once
    /// all data is sent. An insert that times out is aborted and fails as
    /// [`SinkErrorKind::Retryable`].
    pub fn timeouts(mut self, send: Option<Duration>, end: Option<Duration>) -> Self {
        self.send_timeout = send;
        self.end_timeout = end;
        self
    }

    /// The column types resolved by the schema check, in the row type's column order
    /// (`None` before [`Sink::prepare`]).
    #[must_use]
    pub fn columns(&self) -> Option<&[ChType]> {
        self.prepared.as_ref().map(|p| p.columns.as_slice())
    }

    /// The `INSERT` statement each batch is sent with (`None` before
    /// [`Sink::prepare`]).
    #[must_use]
    pub fn insert_sql(&self) -> Option<&str> {
        self.prepared.as_ref().map(|p| p.sql.as_str())
    }

    async fn run_prepare(&mut self, schema: Schema) -> Result<Vec<ChType>, SinkError> {
        let database = match self
            .database
            .clone()
            .or_else(|| self.client.database().map(str::to_owned))
        {
            Some(d) => d,
            None => schema::current_database(&self.client).await?,
        };
        let table = self
            .table
            .clone()
            .unwrap_or_else(|| schema.table.to_owned());
        let label = format!("{database}.{table}");
        let server = schema::load(&self.client, &database, &table).await?;
        let columns = schema::check(&label, &schema, &server).map_err(SinkError::schema)?;

        let names: Vec<String> = schema.columns.iter().map(|c| quote_ident(c.name)).collect();
        let sql = format!(
            "INSERT INTO {}.{} ({}) FORMAT RowBinary",
            quote_ident(&database),
            quote_ident(&table),
            names.join(", ")
        );
        let mut implied = Vec::new();
        if columns.iter().any(has_json) {
            implied.push(("input_format_binary_read_json_as_string", "1"));
        }
        self.prepared = Some(Prepared {
            database,
            table,
            label,
            sql,
            schema,
            columns: columns.clone(),
            implied,
        });
        Ok(columns)
    }

    async fn insert(&self, p: &Prepared, batch: &Batch) -> Result<(), clickhouse::error::Error> {
        let mut insert = self
            .client
            .insert_formatted_with(p.sql.as_str())
            .with_timeouts(self.send_timeout, self.end_timeout);
        for (name, value) in &p.implied {
            if !self.settings.iter().any(|(n, _)| n == name) {
                insert = insert.with_setting(*name, *value);
            }
        }
        for (name, value) in &self.settings {
            insert = insert.with_setting(name.as_str(), value.as_str());
        }
        for chunk in batch.chunks() {
            let mut start = 0;
            while start < chunk.len() {
                let end = chunk.len().min(start + MAX_BLOCK);
                insert.send(chunk.slice(start..end)).await?;
                start = end;
            }
        }
        insert.end().await
    }

    async fn run_send(&self, batch: &Batch) -> Result<(), SinkError> {
        let Some(p) = &self.prepared else {
            return Err(SinkError::new(
                SinkErrorKind::Config,
                "ClickHouseSink::send was called before prepare",
            ));
        };
        if batch.is_empty() {
            return Ok(());
        }
        let Err(e) = self.insert(p, batch).await else {
            return Ok(());
        };
        let err = classify(
            e,
            &format!("inserting {} rows into {}", batch.rows(), p.label),
        );
        if !schema::may_be_schema_change(server_code(&err)) {
            return Err(err);
        }
        match schema::recheck(
            &self.client,
            &p.database,
            &p.table,
            &p.label,
            &p.schema,
            &p.columns,
        )
        .await
        {
            Ok(Some(mismatch)) => {
                let mut e = SinkError::schema(mismatch);
                if let Some(code) = err.code() {
                    e = e.with_code(code);
                }
                Err(e.with_source(err))
            }
            // The table still fits: the data itself was refused.
            Ok(None) => Err(err),
            // The table or database is gone, or the server went away meanwhile.
            Err(recheck) if recheck.kind() == SinkErrorKind::Config => Err(recheck),
            Err(_) => Err(err),
        }
    }
}

fn has_json(t: &ChType) -> bool {
    match t {
        ChType::Json => true,
        ChType::Nullable(t) | ChType::LowCardinality(t) | ChType::Array(t) => has_json(t),
        ChType::Map(k, v) => has_json(k) || has_json(v),
        _ => false,
    }
}

impl Sink for ClickHouseSink {
    type Format = RowBinary;

    /// Runs the schema check (see [`ClickHouseSink`]) and builds the `INSERT`.
    ///
    /// # Errors
    ///
    /// [`SinkErrorKind::Schema`] listing every mismatched column;
    /// [`SinkErrorKind::Config`] for a missing database or table or refused
    /// credentials; network errors as [`SinkErrorKind::Retryable`].
    async fn prepare(&mut self, schema: Schema) -> Result<Vec<ChType>, SinkError> {
        self.run_prepare(schema).await
    }

    /// Sends one batch as one `INSERT`, its chunks streamed in LZ4 blocks of at most
    /// 1 MiB (with the client's default compression).
    ///
    /// # Errors
    ///
    /// A classified [`SinkError`] with the server's code and message (see
    /// [`ClickHouseSink`]).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future aborts the `INSERT`: the server discards what it received.
    async fn send(&self, batch: &Batch) -> Result<(), SinkError> {
        self.run_send(batch).await
    }
}
