//! [`PostgresSink`]: batches of rows into a table with binary `COPY`, one transaction
//! per batch, each on its own pooled connection.

mod attempt;
mod builder;
pub(crate) mod classify;
mod commit_status;
mod ledger;
mod upsert;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use batch_core::{Batch, ColumnMismatch, Schema, SchemaMismatch, Sink, SinkError, SinkErrorKind};
use deadpool_postgres::Pool;
use tokio::time::{timeout, timeout_at, Instant};

use crate::copy::{PgBinary, PgType};
use crate::error::{Error, Result};
use crate::schema::{self, Checked, TableName};
use attempt::{Checkout, Failure};
pub use builder::{PostgresSinkBuilder, DEFAULT_CONNECT_TIMEOUT};
use classify::{classify, pool_error, Endpoint, Outcome};
pub use ledger::{compact_ledger, LedgerCompaction, LedgerStats};
use ledger::{Ledger, LedgerConfig};
pub use upsert::OnConflict;

/// How long the sink keeps asking whether a transaction committed, by default, after
/// its `COMMIT` failed or timed out: long enough to ride out a server restart.
///
/// # Examples
///
/// ```
/// use batch_postgres::{PostgresSink, DEFAULT_COMMIT_STATUS_WINDOW};
///
/// let sink = PostgresSink::new("postgres://u@127.0.0.1/db")?;
/// assert_eq!(sink.commit_status_window_len(), DEFAULT_COMMIT_STATUS_WINDOW);
/// # Ok::<(), batch_postgres::Error>(())
/// ```
pub const DEFAULT_COMMIT_STATUS_WINDOW: Duration = Duration::from_secs(60);

/// The deadline [`Sink::send`] gives itself (the batcher calls [`Sink::send_by`] with
/// its own): the batcher's default attempt timeout.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest [`Sink::prepare`] takes: connecting, then the catalog queries.
const PREPARE_TIMEOUT: Duration = Duration::from_secs(60);

/// The shortest time the schema check run after a failed COPY gets, even when the
/// attempt's deadline has passed.
const RECHECK_GRACE: Duration = Duration::from_secs(5);

/// A [`Sink`] that writes batches into a PostgreSQL table with
/// `COPY … FROM STDIN (FORMAT binary)`.
///
/// - Before the first row, [`Sink::prepare`] checks the row type against the table in
///   the catalog and reports every mismatch at once.
/// - Each batch is one transaction on a connection from the pool: `BEGIN`, the COPY,
///   `COMMIT` only after the COPY succeeded. Batches sent concurrently (a batcher's
///   `max_in_flight > 1`) use separate connections, so their COPYs run in parallel.
/// - Each attempt ends by the deadline the batcher gives [`Sink::send_by`]. Before
///   `COMMIT` is sent, a timeout closes the connection (the server rolls the
///   transaction back) and is [`SinkErrorKind::Retryable`]; the server stops by then
///   too (`SET LOCAL statement_timeout` and `idle_in_transaction_session_timeout` to
///   the time left).
/// - If `COMMIT` fails, times out or loses its connection, the sink asks the server on
///   another connection whether the transaction committed (`txid_status`), for up to
///   the [commit-status window](PostgresSink::commit_status_window): committed is
///   success, rolled back is retryable, and a transaction still in progress has its
///   backend terminated (only while it holds that transaction) so that the answer
///   becomes definite. If no answer comes within the window, the error is
///   [`SinkErrorKind::PossiblyPersisted`]: the batch is never sent again, so it is
///   never stored twice.
/// - A connection goes back to the pool only after a clean `COMMIT`; after any error,
///   a timeout, or when the send is cancelled, it is closed.
/// - Errors are classified by SQLSTATE (see [`SinkError`]): data errors (classes `22`
///   and `23`) are permanent, caused by the data, and carry the index of the failing
///   row when the server names it; connection loss, a read-only server after a
///   failover, cancelled statements and server shutdowns are retryable.
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
/// # Failover
///
/// Give the primary and its standbys in one URL, with `target_session_attrs=read-write`
/// (`postgres://u:p@db-1:5432,db-2:5432/app?target_session_attrs=read-write`, or
/// `host=db-1,db-2 port=5432,5432 target_session_attrs=read-write`): each new
/// connection tries the hosts in order and keeps the one that accepts writes. When the
/// primary goes away, its connections fail and are closed (a connection goes back to
/// the pool only after a clean `COMMIT`; a closed one is not reused), the attempts fail
/// as retryable, and the batcher's retries connect to whichever host is the primary
/// once a standby is promoted. A connection that lands on a server that turned
/// read-only fails with `25006`, retryable, and is closed as well. A batch whose
/// `COMMIT` answer was lost is looked up on the new primary (`txid_status`), which
/// knows every transaction the old primary shipped to it: after a clean stop of the
/// old primary, that is all of them. Checked on a real primary and standby:
/// `tests/postgres/failover.rs`.
///
/// With asynchronous replication and a primary that *crashes*, transactions it
/// committed but had not shipped are lost with it, and the transaction id of a lost
/// batch may be reused on the new primary, so the commit-status check is only as good
/// as the replication: use synchronous replication (`synchronous_commit = on` with
/// `synchronous_standby_names`) where that matters.
///
/// # Examples
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use batch_postgres::PostgresSink;
///
/// let sink = PostgresSink::new("postgres://batchrow:batchrow@127.0.0.1:5432/batchrow")?
///     .schema("analytics");
/// // Hand `sink` to a batcher, which calls `prepare` and then `send_by` for each batch.
/// # Ok(()) }
/// ```
pub struct PostgresSink {
    pool: Pool,
    endpoint: Endpoint,
    schema: Option<String>,
    table: Option<String>,
    commit_status_window: Duration,
    ledger: Option<LedgerConfig>,
    ledger_stats: LedgerStats,
    on_conflict: Option<OnConflict>,
    prepared: Option<Arc<Prepared>>,
}

/// What [`Sink::prepare`] found.
#[derive(Debug)]
struct Prepared {
    schema: Schema,
    name: TableName,
    checked: Checked,
    ledger: Option<Ledger>,
    /// The upsert's statements, in upsert mode.
    merge: Option<upsert::Merge>,
}

impl Prepared {
    /// The COPY each batch is sent with: into the table, or into the staging table.
    fn copy_sql(&self) -> &str {
        self.merge
            .as_ref()
            .map_or(self.checked.copy_sql.as_str(), |m| m.copy_sql.as_str())
    }
}

impl fmt::Debug for PostgresSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresSink")
            .field("pool", &self.pool.status())
            .field("schema", &self.schema)
            .field("table", &self.table)
            .field("commit_status_window", &self.commit_status_window)
            .field("ledger", &self.ledger)
            .field("on_conflict", &self.on_conflict)
            .field("copy", &self.prepared.as_ref().map(|p| p.copy_sql()))
            .finish()
    }
}

impl PostgresSink {
    /// A sink connecting with a connection string (`postgres://user:pass@host/db` or
    /// `host=… user=…`), without TLS, with the default pool size and the default
    /// network timeouts (see [`PostgresSinkBuilder`]).
    ///
    /// No connection is made until [`Sink::prepare`].
    ///
    /// A string that asks for TLS (`sslmode=require`, `verify-ca`, `verify-full`) is
    /// refused rather than connected without it: build the sink with
    /// [`PostgresSink::builder`] and [`tls`](PostgresSinkBuilder::tls) instead.
    /// `sslmode=prefer` (the default) connects without TLS.
    ///
    /// # Errors
    ///
    /// [`Error::Url`] when the string does not parse; [`Error::TlsRequired`] when it
    /// asks for TLS.
    ///
    /// # Examples
    ///
    /// ```
    /// use batch_postgres::{Error, PostgresSink};
    ///
    /// let sink = PostgresSink::new("postgres://batchrow:batchrow@127.0.0.1:5432/batchrow")?;
    /// assert!(PostgresSink::new("postgres://[bad").is_err());
    /// let tls = PostgresSink::new("postgres://u@db.example.com/db?sslmode=verify-full");
    /// assert!(matches!(tls, Err(Error::TlsRequired { .. })));
    /// # Ok::<(), batch_postgres::Error>(())
    /// ```
    pub fn new(url: &str) -> Result<Self> {
        if let Some(sslmode) = verify_sslmode(url) {
            return Err(Error::TlsRequired { sslmode });
        }
        let config: tokio_postgres::Config = url.parse().map_err(Error::Url)?;
        Self::builder(config).build()
    }

    /// A builder for a sink with its own pool: the pool size, TLS, and network
    /// timeouts where the configuration sets none.
    ///
    /// # Examples
    ///
    /// ```
    /// use batch_postgres::PostgresSink;
    ///
    /// let config = "host=127.0.0.1 user=batchrow password=batchrow dbname=batchrow".parse()?;
    /// let sink = PostgresSink::builder(config).pool_size(4).build()?;
    /// assert_eq!(sink.pool().status().max_size, 4);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder(config: tokio_postgres::Config) -> PostgresSinkBuilder {
        PostgresSinkBuilder::new(config)
    }

    /// A sink taking connections from an existing deadpool-postgres pool, as it is
    /// configured: the pool's own timeouts apply, and the connection settings are not
    /// given the builder's network timeouts (see [`PostgresSinkBuilder`]); each send is
    /// still bounded by its deadline.
    ///
    /// The pool needs at least as many connections as the batcher's `max_in_flight`
    /// for the COPYs to run in parallel, plus one for the commit-status check.
    ///
    /// # Examples
    ///
    /// ```
    /// use batch_postgres::deadpool_postgres::{Manager, Pool};
    /// use batch_postgres::tokio_postgres::NoTls;
    /// use batch_postgres::PostgresSink;
    ///
    /// let config = "host=127.0.0.1 user=batchrow dbname=batchrow".parse()?;
    /// let pool = Pool::builder(Manager::new(config, NoTls)).max_size(4).build()?;
    /// let sink = PostgresSink::from_pool(pool);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn from_pool(pool: Pool) -> Self {
        Self::with_endpoint(pool, Endpoint::default())
    }

    fn with_endpoint(pool: Pool, endpoint: Endpoint) -> Self {
        PostgresSink {
            pool,
            endpoint,
            schema: None,
            table: None,
            commit_status_window: DEFAULT_COMMIT_STATUS_WINDOW,
            ledger: None,
            ledger_stats: LedgerStats::default(),
            on_conflict: None,
            prepared: None,
        }
    }

    /// Writes into this table instead of the row type's `TABLE` (taken literally:
    /// case-sensitive, dots included).
    ///
    /// # Examples
    ///
    /// ```
    /// # let sink = batch_postgres::PostgresSink::new("postgres://u@127.0.0.1/db")?;
    /// let sink = sink.table("events_2024");
    /// # Ok::<(), batch_postgres::Error>(())
    /// ```
    #[must_use]
    pub fn table(mut self, table: impl Into<String>) -> Self {
        self.table = Some(table.into());
        self
    }

    /// Looks the table up in this schema instead of through the `search_path`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sink = batch_postgres::PostgresSink::new("postgres://u@127.0.0.1/db")?;
    /// let sink = sink.schema("analytics");
    /// # Ok::<(), batch_postgres::Error>(())
    /// ```
    #[must_use]
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// How long the sink keeps asking whether a transaction committed after its
    /// `COMMIT` failed, timed out or lost its connection, counted from that moment.
    /// Default: [`DEFAULT_COMMIT_STATUS_WINDOW`] (60 s), enough to ride out a server
    /// restart.
    ///
    /// While it asks, the send is not over, so an attempt can last up to its deadline
    /// plus this window. When the window ends without an answer the batch is reported
    /// as possibly persisted ([`SinkErrorKind::PossiblyPersisted`]) and never sent again.
    /// A shorter window reports sooner, and more often without knowing.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// # let sink = batch_postgres::PostgresSink::new("postgres://u@127.0.0.1/db")?;
    /// let sink = sink.commit_status_window(Duration::from_secs(120));
    /// assert_eq!(sink.commit_status_window_len(), Duration::from_secs(120));
    /// # Ok::<(), batch_postgres::Error>(())
    /// ```
    #[must_use]
    pub fn commit_status_window(mut self, window: Duration) -> Self {
        self.commit_status_window = window;
        self
    }

    /// Upsert mode, for a table with a primary key or unique index: each batch is COPYed
    /// into a temporary staging table (created in the batch's transaction with the row
    /// type's columns and the table's column types, `ON COMMIT DROP`), then merged into
    /// the table with `INSERT … SELECT … ON CONFLICT (key) DO UPDATE SET …` or
    /// `DO NOTHING` (see [`OnConflict`]), in the same transaction. Default: off, plain
    /// `COPY` into the table.
    ///
    /// Everything else is as without it: one transaction per batch, the same deadlines,
    /// the commit-status check after a lost `COMMIT`, the same error classes (a row the
    /// table refuses fails the merge, caused by the data, without a row index).
    ///
    /// **Duplicates within a batch.** `DO UPDATE` cannot touch a row twice in one
    /// statement, so each batch is first deduplicated on the key: the **last** row of
    /// each key wins (`SELECT DISTINCT ON (key) … ORDER BY key, <row order> DESC`), as if
    /// the rows had been upserted one by one. With `DO NOTHING` the **first** row wins.
    /// Across batches, batches are merged in the order they commit: with
    /// `max_in_flight(1)` that is the order rows were accepted; with more batches in
    /// flight, two batches holding the same key may commit in either order.
    ///
    /// A retried batch is merged again, which an upsert makes harmless: the rows end up
    /// the same.
    ///
    /// The schema check verifies the conflict target: the key must be exactly the columns
    /// of the primary key or of a valid, non-partial, non-deferrable unique index, `NOT
    /// NULL`, and fields of the row type; otherwise [`Sink::prepare`] fails with a
    /// [`SinkErrorKind::Config`] error that says why.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use batch_postgres::{OnConflict, PostgresSink};
    ///
    /// // CREATE TABLE users (id int8 PRIMARY KEY, name text NOT NULL, seen timestamptz)
    /// let sink = PostgresSink::new("postgres://batchrow:batchrow@127.0.0.1/batchrow")?
    ///     .table("users")
    ///     .on_conflict(OnConflict::update(["id"]));
    /// // Hand `sink` to a batcher; each batch updates the users it names.
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn on_conflict(mut self, on_conflict: OnConflict) -> Self {
        self.on_conflict = Some(on_conflict);
        self
    }

    /// The [commit-status window](PostgresSink::commit_status_window).
    #[must_use]
    pub fn commit_status_window_len(&self) -> Duration {
        self.commit_status_window
    }

    /// The connection pool.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sink = batch_postgres::PostgresSink::new("postgres://u@127.0.0.1/db")?;
    /// let status = sink.pool().status();
    /// assert_eq!(status.size, 0); // no connection before `prepare`
    /// # Ok::<(), batch_postgres::Error>(())
    /// ```
    #[must_use]
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The COPY statement, once [`Sink::prepare`] has succeeded (in upsert mode, the
    /// COPY into the staging table).
    ///
    /// # Examples
    ///
    /// ```
    /// # let sink = batch_postgres::PostgresSink::new("postgres://u@127.0.0.1/db")?;
    /// assert_eq!(sink.copy_statement(), None); // not prepared yet
    /// # Ok::<(), batch_postgres::Error>(())
    /// ```
    #[must_use]
    pub fn copy_statement(&self) -> Option<&str> {
        self.prepared.as_ref().map(|p| p.copy_sql())
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
    /// reports what changed; `original` if nothing did, or if the check cannot finish by
    /// `deadline` (or [`RECHECK_GRACE`] from now, whichever is later).
    async fn recheck(
        &self,
        prepared: &Prepared,
        original: SinkError,
        deadline: Instant,
    ) -> SinkError {
        let until = deadline.max(Instant::now() + RECHECK_GRACE);
        let check = async {
            let checkout = Checkout::new(self.pool.get().await.ok()?);
            let client = checkout.client()?;
            let result = schema::check(client, &prepared.name, prepared.schema).await;
            checkout.release();
            Some(result)
        };
        let Ok(Some(result)) = timeout_at(until, check).await else {
            return original;
        };
        match result {
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
}

/// The `sslmode` a connection string names when it is `verify-ca` or `verify-full`,
/// which tokio-postgres does not parse (it would report an unhelpful "invalid value").
fn verify_sslmode(url: &str) -> Option<String> {
    let lower = url.to_ascii_lowercase();
    let mut rest = lower.as_str();
    while let Some(at) = rest.find("sslmode") {
        rest = &rest[at + "sslmode".len()..];
        let Some(value) = rest.trim_start().strip_prefix('=') else {
            continue;
        };
        let value = value.trim_start();
        let end = value
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .unwrap_or(value.len());
        if value[..end].starts_with("verify-") {
            return Some(value[..end].to_owned());
        }
    }
    None
}

impl Sink for PostgresSink {
    type Format = PgBinary;

    /// Checks `schema` against the table and resolves the column types, within 60 s
    /// (and within the pool's create timeout to connect: 10 s by default).
    ///
    /// # Errors
    ///
    /// [`SinkErrorKind::Schema`] listing every mismatched column;
    /// [`SinkErrorKind::Config`] for a missing schema or table, a view, missing
    /// privileges or active row-level security; connection errors and timeouts as
    /// classified (a server that accepts the connection and never answers is reported
    /// as such, with its address).
    async fn prepare(&mut self, schema: Schema) -> Result<Vec<PgType>, SinkError> {
        let name = self.target(&schema);
        let check = async {
            let client = self
                .pool
                .get()
                .await
                .map_err(|e| pool_error(e, &self.pool, &self.endpoint))?;
            let checkout = Checkout::new(client);
            let Some(client) = checkout.client() else {
                return Err(SinkError::retryable("no PostgreSQL connection"));
            };
            let checked = schema::check(client, &name, schema).await?;
            let ledger = match &self.ledger {
                Some(config) => {
                    Some(ledger::prepare(client, config, self.ledger_stats.clone()).await?)
                }
                None => None,
            };
            let merge = match &self.on_conflict {
                Some(on_conflict) => {
                    if ledger.is_some() {
                        return Err(SinkError::new(
                            SinkErrorKind::Config,
                            "on_conflict (upsert) and the ledger cannot be combined yet: \
                             choose one",
                        ));
                    }
                    let columns: Vec<&str> = schema.columns.iter().map(|c| c.name).collect();
                    Some(upsert::prepare(client, &checked.table, &columns, on_conflict).await?)
                }
                None => None,
            };
            checkout.release();
            Ok((checked, ledger, merge))
        };
        let (checked, ledger, merge) = timeout(PREPARE_TIMEOUT, check).await.map_err(|_| {
            SinkError::retryable(format!(
                "the schema check of {} did not finish within {PREPARE_TIMEOUT:?}: \
                 PostgreSQL{} does not answer",
                name.display(),
                self.endpoint
                    .address
                    .as_deref()
                    .map_or_else(String::new, |a| format!(" at {a}"))
            ))
        })??;
        tracing::debug!(table = %checked.table.display(), copy = %checked.copy_sql, "schema check passed");
        let columns = checked.columns.clone();
        self.prepared = Some(Arc::new(Prepared {
            schema,
            name,
            checked,
            ledger,
            merge,
        }));
        Ok(columns)
    }

    /// Writes the batch in one transaction, giving up 30 s from now; see
    /// [`send_by`](PostgresSink::send_by).
    ///
    /// # Errors
    ///
    /// As [`send_by`](PostgresSink::send_by).
    ///
    /// # Cancel safety
    ///
    /// As [`send_by`](PostgresSink::send_by).
    async fn send(&self, batch: &Batch) -> Result<(), SinkError> {
        self.send_by(batch, Instant::now() + SEND_TIMEOUT).await
    }

    /// Writes the batch in one transaction, by `deadline`.
    ///
    /// Until `COMMIT` is sent, every step ends at `deadline`; a timeout then closes the
    /// connection (so the server rolls back) and is retryable. `COMMIT` ends at
    /// `deadline` too, but a failed or timed-out `COMMIT` is followed by the
    /// commit-status check, which may take up to the
    /// [commit-status window](PostgresSink::commit_status_window) more.
    ///
    /// # Errors
    ///
    /// A classified [`SinkError`]; see the type's documentation.
    /// [`SinkErrorKind::PossiblyPersisted`] when `COMMIT` went out and whether it
    /// committed could not be found out within the commit-status window.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future closes its connection (it never goes back to the pool in the
    /// middle of a transaction). Dropped before `COMMIT` was sent, nothing is committed;
    /// dropped after, the batch may have been committed.
    async fn send_by(&self, batch: &Batch, deadline: Instant) -> Result<(), SinkError> {
        let Some(prepared) = self.prepared.clone() else {
            return Err(SinkError::new(
                SinkErrorKind::Config,
                "PostgresSink::send called before prepare",
            ));
        };
        if batch.is_empty() {
            return Ok(());
        }
        let what = match &prepared.merge {
            Some(_) => format!("upsert into {}", prepared.checked.table.display()),
            None => format!("COPY into {}", prepared.checked.table.display()),
        };
        let keys = match &prepared.ledger {
            Some(ledger) => Some(ledger.keys(batch)?),
            None => None,
        };
        let client = match timeout_at(deadline, self.pool.get()).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => return Err(pool_error(e, &self.pool, &self.endpoint)),
            Err(_) => {
                return Err(SinkError::retryable(format!(
                    "{what}: no PostgreSQL connection before the attempt's deadline; \
                     nothing was sent"
                )))
            }
        };
        let checkout = Checkout::new(client);
        let mut planned = None;
        let result = match (checkout.client(), &prepared.ledger, &keys) {
            (Some(client), Some(ledger), Some(keys)) => {
                let copy_sql = &prepared.checked.copy_sql;
                ledger::copy_batch(
                    client,
                    copy_sql,
                    ledger,
                    batch,
                    keys,
                    deadline,
                    &mut planned,
                )
                .await
            }
            (Some(client), _, _) => {
                attempt::copy_batch(
                    client,
                    prepared.copy_sql(),
                    prepared.merge.as_ref(),
                    batch,
                    deadline,
                )
                .await
            }
            (None, _, _) => Err(Failure::TimedOut {
                during: "taking a connection",
            }),
        };
        let failure = match result {
            Ok(()) => {
                checkout.release();
                return Ok(());
            }
            Err(failure) => failure,
        };
        // The connection is in a state the client library may not track (an error at
        // the COPY's Bind leaves an extra ReadyForQuery in flight; a timeout leaves a
        // request unanswered): it is closed rather than reused.
        drop(checkout);
        match failure {
            Failure::Error(err) => match classify(err, &what, batch.rows()) {
                Outcome::Error(e) => Err(e),
                Outcome::Recheck(e) => Err(self.recheck(&prepared, e, deadline).await),
            },
            Failure::TimedOut { during } => Err(SinkError::retryable(format!(
                "{what}: the attempt's deadline passed during {during}; the connection was \
                 closed, so the server rolls the transaction back and nothing was committed"
            ))),
            Failure::RowCount { inserted, expected } => Err(SinkError::permanent(format!(
                "{what}: the server read {inserted} rows, but {expected} were sent; \
                 nothing was committed"
            ))),
            Failure::Commit { txn, error } => match (&prepared.ledger, &keys) {
                (Some(ledger), Some(keys)) => {
                    let window = self.commit_status_window;
                    ledger::resolve(&self.pool, ledger, keys, txn, error, window, &what, planned)
                        .await
                }
                _ => {
                    commit_status::resolve(
                        &self.pool,
                        txn,
                        error,
                        self.commit_status_window,
                        &what,
                        batch.rows(),
                    )
                    .await
                }
            },
        }
    }
}
