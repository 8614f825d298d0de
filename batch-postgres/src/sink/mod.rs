//! [`PostgresSink`]: batches of rows into a table with binary `COPY`, one transaction
//! per batch, each on its own pooled connection.

mod attempt;
mod builder;
pub(crate) mod classify;
mod commit_status;
mod ledger;
mod prepare;
mod send;
mod settings;
mod upsert;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use batch_core::{Batch, Schema, Sender, Sink, SinkError};
use deadpool_postgres::Pool;
use tokio::time::Instant;

use crate::copy::{PgBinary, PgType};
use crate::schema::{Checked, TableName};
pub use builder::{PostgresSinkBuilder, DEFAULT_CONNECT_TIMEOUT};
use classify::Endpoint;
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

/// The deadline [`Sender::send`](batch_core::Sender::send) gives itself (the batcher calls [`Sender::send_by`](batch_core::Sender::send_by) with
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
/// - Each attempt ends by the deadline the batcher gives [`Sender::send_by`](batch_core::Sender::send_by). Before
///   `COMMIT` is sent, a timeout closes the connection (the server rolls the
///   transaction back) and is [`SinkErrorKind::Retryable`](batch_core::SinkErrorKind::Retryable); the server stops by then
///   too (`SET LOCAL statement_timeout` and `idle_in_transaction_session_timeout` to
///   the time left).
/// - If `COMMIT` fails, times out or loses its connection, the sink asks the server on
///   another connection whether the transaction committed (`txid_status`), for up to
///   the [commit-status window](PostgresSink::commit_status_window): committed is
///   success, rolled back is retryable, and a transaction still in progress has its
///   backend terminated (only while it holds that transaction) so that the answer
///   becomes definite. If no answer comes within the window, the error is
///   [`SinkErrorKind::PossiblyPersisted`](batch_core::SinkErrorKind::PossiblyPersisted): the batch is never sent again, so it is
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
/// row-level security are [`SinkErrorKind::Config`](batch_core::SinkErrorKind::Config) errors that say what to do.
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
#[must_use = "a sink does nothing until a batcher sends batches through it"]
pub struct PostgresSink {
    pool: Pool,
    endpoint: Endpoint,
    schema: Option<String>,
    table: Option<String>,
    commit_status_window: Duration,
    ledger: Option<LedgerConfig>,
    ledger_stats: LedgerStats,
    on_conflict: Option<OnConflict>,
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
            .finish()
    }
}

/// A [`PostgresSink`] whose schema check passed ([`Sink::prepare`]): it sends batches
/// ([`Sender`]). The batcher makes it and owns it; tests and tools that send batches
/// themselves get one from `prepare`.
///
/// # Examples
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// # #[derive(batch_derive::BatchRow)] #[batch(crate = "batch_core")] struct Event { id: i64 }
/// use batch_core::{Schema, Sink};
/// use batch_postgres::{PgBinary, PostgresSink};
///
/// let sink = PostgresSink::new("postgres://batchrow:batchrow@127.0.0.1:5432/batchrow")?;
/// let sender = sink.prepare(Schema::checked::<Event, PgBinary>()).await?;
/// println!("{}", sender.statement());
/// # Ok(()) }
/// ```
pub struct PostgresSender {
    sink: PostgresSink,
    prepared: Arc<Prepared>,
}

impl fmt::Debug for PostgresSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresSender")
            .field("sink", &self.sink)
            .field("copy", &self.prepared.copy_sql())
            .finish()
    }
}

impl PostgresSender {
    /// The COPY statement each batch is sent with (in upsert mode, the COPY into the
    /// staging table).
    #[must_use]
    pub fn statement(&self) -> &str {
        self.prepared.copy_sql()
    }

    /// The sink's connection pool.
    #[must_use]
    pub fn pool(&self) -> &Pool {
        &self.sink.pool
    }
}

impl Sink for PostgresSink {
    type Format = PgBinary;
    type Sender = PostgresSender;

    /// Checks `schema` against the table and resolves the column types, within 60 s
    /// (and within the pool's create timeout to connect: 10 s by default).
    ///
    /// # Errors
    ///
    /// [`SinkErrorKind::Schema`](batch_core::SinkErrorKind::Schema) listing every mismatched column;
    /// [`SinkErrorKind::Config`](batch_core::SinkErrorKind::Config) for a missing schema or table, a view, missing
    /// privileges or active row-level security; connection errors and timeouts as
    /// classified (a server that accepts the connection and never answers is reported
    /// as such, with its address).
    async fn prepare(self, schema: Schema) -> Result<PostgresSender, SinkError> {
        self.run_prepare(schema).await
    }
}

impl Sender for PostgresSender {
    type Format = PgBinary;

    fn columns(&self) -> &[PgType] {
        &self.prepared.checked.columns
    }

    /// Writes the batch in one transaction, giving up 30 s from now; see
    /// [`send_by`](PostgresSender::send_by).
    ///
    /// # Errors
    ///
    /// As [`send_by`](PostgresSender::send_by).
    ///
    /// # Cancel safety
    ///
    /// As [`send_by`](PostgresSender::send_by).
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
    /// [`SinkErrorKind::PossiblyPersisted`](batch_core::SinkErrorKind::PossiblyPersisted) when `COMMIT` went out and whether it
    /// committed could not be found out within the commit-status window.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future closes its connection (it never goes back to the pool in the
    /// middle of a transaction). Dropped before `COMMIT` was sent, nothing is committed;
    /// dropped after, the batch may have been committed.
    async fn send_by(&self, batch: &Batch, deadline: Instant) -> Result<(), SinkError> {
        self.run_send(batch, deadline).await
    }
}
