//! [`PostgresSink`]: batches of rows into a table with binary `COPY`, one transaction
//! per batch, each on its own pooled connection.

pub(crate) mod classify;

use std::fmt;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use batch_core::{Batch, ColumnMismatch, Schema, SchemaMismatch, Sink, SinkError, SinkErrorKind};
use bytes::Bytes;
use deadpool_postgres::{Manager, ManagerConfig, Pool, Runtime};
use futures_util::SinkExt;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{NoTls, Socket};

use crate::copy::{PgBinary, PgType, HEADER, TRAILER};
use crate::error::{Error, Result};
use crate::schema::{self, Checked, TableName};
use classify::{classify, pool_error, Outcome};

/// How long to keep asking whether a transaction committed after the connection was
/// lost during its `COMMIT`.
const COMMIT_STATUS_TRIES: u32 = 20;
const COMMIT_STATUS_WAIT: Duration = Duration::from_millis(500);

/// A [`Sink`] that writes batches into a PostgreSQL table with
/// `COPY … FROM STDIN (FORMAT binary)`.
///
/// - Before the first row, [`Sink::prepare`] checks the row type against the table in
///   the catalog and reports every mismatch at once.
/// - Each batch is one transaction on a connection from the pool: `BEGIN`, the COPY,
///   `COMMIT` only after the COPY succeeded. Batches sent concurrently (a batcher's
///   `max_in_flight > 1`) use separate connections, so their COPYs run in parallel.
/// - If the connection is lost during `COMMIT`, the sink asks the server on a new
///   connection whether the transaction committed (`txid_status`), so a batch is
///   neither lost nor retried into a duplicate.
/// - Errors are classified by SQLSTATE (see [`SinkError`]): constraint and data errors
///   are permanent and carry the index of the failing row.
///
/// # The schema check
///
/// [`Sink::prepare`] reads the table from the catalog and compares every field; one
/// error lists every mismatch:
/// - a field needs a column of the same name (case-sensitive: identifiers are quoted)
///   whose type its Rust type is written to (see the [crate docs](crate#types));
///   generated columns cannot be written;
/// - an `Option<T>` field on a NOT NULL column is an **error**: COPY does not replace
///   an explicit NULL with the column default, so one `None` would fail its whole batch;
/// - a NOT NULL column without a default (and not an identity or generated column)
///   that the struct leaves out is an error.
///
/// A missing schema or table, a view, missing INSERT or USAGE privileges and active
/// row-level security are [`SinkErrorKind::Config`] errors that say what to do.
///
/// The table is the row type's `TABLE` (`"events"` through the `search_path`,
/// `"analytics.events"` in a schema) unless [`table`](PostgresSink::table) or
/// [`schema`](PostgresSink::schema) override it.
///
/// # Examples
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use batch_postgres::PostgresSink;
///
/// let sink = PostgresSink::new("postgres://batchrow:batchrow@127.0.0.1:5432/batchrow")?
///     .schema("analytics");
/// // Hand `sink` to a batcher, which calls `prepare` and then `send` for each batch.
/// # Ok(()) }
/// ```
pub struct PostgresSink {
    pool: Pool,
    schema: Option<String>,
    table: Option<String>,
    prepared: Option<Arc<Prepared>>,
}

/// What [`Sink::prepare`] found.
#[derive(Debug)]
struct Prepared {
    schema: Schema,
    name: TableName,
    checked: Checked,
}

impl fmt::Debug for PostgresSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresSink")
            .field("pool", &self.pool.status())
            .field("schema", &self.schema)
            .field("table", &self.table)
            .field("copy", &self.prepared.as_ref().map(|p| &p.checked.copy_sql))
            .finish()
    }
}

impl PostgresSink {
    /// A sink connecting with a connection string (`postgres://user:pass@host/db` or
    /// `host=… user=…`), without TLS, with the default pool size.
    ///
    /// No connection is made until [`Sink::prepare`].
    ///
    /// # Errors
    ///
    /// [`Error::Url`] when the string does not parse.
    pub fn new(url: &str) -> Result<Self> {
        let config: tokio_postgres::Config = url.parse().map_err(Error::Url)?;
        Self::builder(config).build()
    }

    /// A builder for a sink with its own pool: the pool size and TLS.
    pub fn builder(config: tokio_postgres::Config) -> PostgresSinkBuilder {
        PostgresSinkBuilder {
            config,
            pool_size: None,
            manager: Box::new(|config, mc| Manager::from_config(config, NoTls, mc)),
        }
    }

    /// A sink taking connections from an existing deadpool-postgres pool.
    ///
    /// The pool needs at least as many connections as the batcher's `max_in_flight`
    /// for the COPYs to run in parallel.
    #[must_use]
    pub fn from_pool(pool: Pool) -> Self {
        PostgresSink {
            pool,
            schema: None,
            table: None,
            prepared: None,
        }
    }

    /// Writes into this table instead of the row type's `TABLE` (taken literally:
    /// case-sensitive, dots included).
    #[must_use]
    pub fn table(mut self, table: impl Into<String>) -> Self {
        self.table = Some(table.into());
        self
    }

    /// Looks the table up in this schema instead of through the `search_path`.
    #[must_use]
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// The connection pool.
    #[must_use]
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The COPY statement, once [`Sink::prepare`] has succeeded.
    #[must_use]
    pub fn copy_statement(&self) -> Option<&str> {
        self.prepared.as_ref().map(|p| p.checked.copy_sql.as_str())
    }

    fn target(&self, schema: &Schema) -> TableName {
        let mut name = TableName::parse(schema.table);
        if let Some(table) = &self.table {
            name = TableName {
                schema: name.schema,
                table: table.clone(),
            };
        }
        if let Some(s) = &self.schema {
            name.schema = Some(s.clone());
        }
        name
    }

    /// Runs the schema check again after an error that suggests the table changed, and
    /// reports what changed; `original` if nothing did.
    async fn recheck(&self, prepared: &Prepared, original: SinkError) -> SinkError {
        let Ok(client) = self.pool.get().await else {
            return original;
        };
        match schema::check(&client, &prepared.name, prepared.schema).await {
            Err(e) => e,
            Ok(now) => {
                let was = &prepared.checked;
                let changed: Vec<ColumnMismatch> = prepared
                    .schema
                    .columns
                    .iter()
                    .zip(now.columns.iter().zip(&was.columns))
                    .filter(|(_, (now, was))| now != was)
                    .map(|(col, (now, was))| ColumnMismatch {
                        column: col.name.to_owned(),
                        rust_type: Some(col.rust_type.to_owned()),
                        server_type: Some(now.name().to_owned()),
                        reason: format!(
                            "the column type changed since the schema check (it was {}, \
                             OID {}; now OID {}); restart the batcher so rows are encoded \
                             for the new type",
                            was.name(),
                            was.oid(),
                            now.oid()
                        ),
                    })
                    .collect();
                if changed.is_empty() {
                    original
                } else {
                    SinkError::schema(SchemaMismatch {
                        table: now.table.display(),
                        columns: changed,
                    })
                }
            }
        }
    }

    /// Finds out whether transaction `xid` committed, after the connection was lost
    /// during its `COMMIT`.
    async fn commit_status(&self, xid: i64, err: tokio_postgres::Error) -> Result<(), SinkError> {
        for _ in 0..COMMIT_STATUS_TRIES {
            if let Ok(client) = self.pool.get().await {
                if let Ok(row) = client
                    .query_one("SELECT txid_status($1)::text", &[&xid])
                    .await
                {
                    match row.get::<_, Option<String>>(0).as_deref() {
                        Some("committed") => return Ok(()),
                        Some("aborted") => {
                            return Err(SinkError::retryable(
                                "the connection was lost during COMMIT, and the transaction \
                                 was rolled back",
                            )
                            .with_source(err))
                        }
                        Some("in progress") => {} // the server has not noticed yet
                        _ => break,
                    }
                }
            }
            tokio::time::sleep(COMMIT_STATUS_WAIT).await;
        }
        Err(SinkError::permanent(format!(
            "the connection was lost during COMMIT, and whether transaction {xid} committed \
             could not be found out; the batch is not retried, so that it is not inserted twice"
        ))
        .with_source(err))
    }
}

/// Why a COPY failed.
enum CopyFailure {
    /// An error before or during the COPY: the transaction did not commit.
    Failed(tokio_postgres::Error),
    /// The server inserted a different number of rows than the batch holds.
    RowCount { inserted: u64 },
    /// The connection was lost during `COMMIT`: the outcome is unknown.
    Commit {
        xid: i64,
        err: tokio_postgres::Error,
    },
}

impl From<tokio_postgres::Error> for CopyFailure {
    fn from(err: tokio_postgres::Error) -> Self {
        CopyFailure::Failed(err)
    }
}

/// One batch, one transaction: `BEGIN`, COPY, `COMMIT`.
async fn copy_batch(
    client: &mut deadpool_postgres::Client,
    copy_sql: &str,
    batch: &Batch,
) -> Result<(), CopyFailure> {
    let tx = client.transaction().await?;
    let xid_stmt = tx.prepare_cached("SELECT txid_current()").await?;
    let xid: i64 = tx.query_one(&xid_stmt, &[]).await?.get(0);
    let stmt = tx.prepare_cached(copy_sql).await?;
    let mut sink = pin!(tx.copy_in::<_, Bytes>(&stmt).await?);
    sink.feed(Bytes::from_static(&HEADER)).await?;
    for chunk in batch.chunks() {
        sink.feed(chunk).await?;
    }
    sink.feed(Bytes::from_static(&TRAILER)).await?;
    let inserted = sink.as_mut().finish().await?;
    if usize::try_from(inserted).ok() != Some(batch.rows()) {
        return Err(CopyFailure::RowCount { inserted });
    }
    match tx.commit().await {
        Ok(()) => Ok(()),
        Err(err) if err.as_db_error().is_some() => Err(CopyFailure::Failed(err)),
        Err(err) => Err(CopyFailure::Commit { xid, err }),
    }
}

impl Sink for PostgresSink {
    type Format = PgBinary;

    /// Checks `schema` against the table and resolves the column types.
    ///
    /// # Errors
    ///
    /// [`SinkErrorKind::Schema`] listing every mismatched column;
    /// [`SinkErrorKind::Config`] for a missing schema or table, a view, missing
    /// privileges or active row-level security; connection errors as classified.
    async fn prepare(&mut self, schema: Schema) -> Result<Vec<PgType>, SinkError> {
        let name = self.target(&schema);
        let client = self.pool.get().await.map_err(pool_error)?;
        let checked = schema::check(&client, &name, schema).await?;
        tracing::debug!(table = %checked.table.display(), copy = %checked.copy_sql, "schema check passed");
        let columns = checked.columns.clone();
        self.prepared = Some(Arc::new(Prepared {
            schema,
            name,
            checked,
        }));
        Ok(columns)
    }

    /// Writes the batch in one transaction.
    ///
    /// # Errors
    ///
    /// A classified [`SinkError`]; see the type's documentation.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before `COMMIT` was sent rolls the transaction back.
    async fn send(&self, batch: &Batch) -> Result<(), SinkError> {
        let Some(prepared) = self.prepared.clone() else {
            return Err(SinkError::new(
                SinkErrorKind::Config,
                "PostgresSink::send called before prepare",
            ));
        };
        if batch.is_empty() {
            return Ok(());
        }
        let mut client = self.pool.get().await.map_err(pool_error)?;
        let what = format!("COPY into {}", prepared.checked.table.display());
        let result = copy_batch(&mut client, &prepared.checked.copy_sql, batch).await;
        if result.is_err() {
            // After a failed COPY the connection may be in a state the client library
            // does not track (an error at the COPY's Bind leaves an extra ReadyForQuery
            // in flight), so it is closed rather than reused.
            drop(deadpool_postgres::Object::take(client));
        }
        match result {
            Ok(()) => Ok(()),
            Err(CopyFailure::Failed(err)) => match classify(err, &what, batch.rows()) {
                Outcome::Error(e) => Err(e),
                Outcome::Recheck(e) => Err(self.recheck(&prepared, e).await),
            },
            Err(CopyFailure::RowCount { inserted }) => Err(SinkError::permanent(format!(
                "{what}: the server read {inserted} rows, but the batch holds {}; \
                 nothing was committed",
                batch.rows()
            ))),
            Err(CopyFailure::Commit { xid, err }) => self.commit_status(xid, err).await,
        }
    }
}

/// Builds a [`PostgresSink`] with its own connection pool.
///
/// # Examples
///
/// ```no_run
/// # fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use batch_postgres::PostgresSink;
///
/// let config: tokio_postgres::Config = "host=127.0.0.1 user=batchrow dbname=batchrow".parse()?;
/// let sink = PostgresSink::builder(config).pool_size(4).build()?;
/// # Ok(()) }
/// ```
#[must_use]
pub struct PostgresSinkBuilder {
    config: tokio_postgres::Config,
    pool_size: Option<usize>,
    manager: Box<dyn FnOnce(tokio_postgres::Config, ManagerConfig) -> Manager + Send>,
}

impl fmt::Debug for PostgresSinkBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresSinkBuilder")
            .field("config", &self.config)
            .field("pool_size", &self.pool_size)
            .finish_non_exhaustive()
    }
}

impl PostgresSinkBuilder {
    /// The most connections the pool opens (default: deadpool's, 4 per CPU). It should
    /// be at least the batcher's `max_in_flight`.
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = Some(size);
        self
    }

    /// Connects with TLS through any tokio-postgres TLS connector, such as
    /// `postgres_native_tls::MakeTlsConnector` or `tokio_postgres_rustls::MakeRustlsConnect`
    /// (add the crate of your choice; batchrow does not pick one for you). The default
    /// is no TLS.
    pub fn tls<T>(mut self, tls: T) -> Self
    where
        T: MakeTlsConnect<Socket> + Clone + Sync + Send + 'static,
        T::Stream: Sync + Send,
        T::TlsConnect: Sync + Send,
        <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
    {
        self.manager = Box::new(move |config, mc| Manager::from_config(config, tls, mc));
        self
    }

    /// Builds the sink. No connection is made until [`Sink::prepare`].
    ///
    /// # Errors
    ///
    /// [`Error::Pool`] when the pool cannot be built.
    pub fn build(self) -> Result<PostgresSink> {
        let manager = (self.manager)(self.config, ManagerConfig::default());
        let mut pool = Pool::builder(manager)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(Duration::from_secs(30)));
        if let Some(size) = self.pool_size {
            pool = pool.max_size(size);
        }
        Ok(PostgresSink::from_pool(pool.build()?))
    }
}
