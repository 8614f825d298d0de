//! The ledger: exactly-once delivery across process restarts, keyed by the positions of
//! the rows in the user's source ([`Position`](batch_core::Position)).
//!
//! Each batch is written in one transaction that also records, in the ledger table,
//! which positions it wrote. Before its COPY the transaction locks the streams of the
//! batch (`pg_advisory_xact_lock`, in ascending order, keyed by the ledger table's OID
//! and the stream), reads the ledger ranges that overlap the batch, and leaves out every
//! row whose position is already recorded. Because the lock is held until the
//! transaction ends, and each statement of a `READ COMMITTED` transaction sees what
//! committed before it began, two transactions holding the same positions never both
//! write them: the second one waits for the first and then sees its ledger rows.
//!
//! See [`PostgresSink::ledger`] for the user's view, the table and its cost.
//!
//! - `plan.rs`: the ledger key of every row of a batch, and which rows an attempt
//!   writes given the ledger ranges it read;
//! - `attempt.rs`: the statements, one attempt with the ledger, and the resolution of a
//!   `COMMIT` in doubt by the ledger.

mod attempt;
mod compact;
mod plan;

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use batch_core::{Batch, SinkError, SinkErrorKind};
use tokio_postgres::Client;

use super::classify::query_error;
use super::PostgresSink;
use crate::schema::{quote_ident, TableName};
pub(super) use attempt::{copy_batch, resolve};
pub use compact::{compact_ledger, LedgerCompaction};
pub(super) use plan::Key;
use plan::Planned;

/// The columns of a ledger table, as [`create_sql`] makes them.
const COLUMNS: [(&str, &str); 4] = [
    ("stream", "bigint"),
    ("first_offset", "bigint"),
    ("last_offset", "bigint"),
    ("batch", "text"),
];

/// The ledger the user asked for, before [`prepare`] found it.
#[derive(Debug, Clone)]
pub(super) struct LedgerConfig {
    name: String,
    create: bool,
}

/// The ledger as [`prepare`] resolved it.
#[derive(Debug)]
pub(super) struct Ledger {
    /// `"schema"."table"`, quoted for SQL.
    table: String,
    /// `schema.table`, for messages.
    display: String,
    /// The table's OID: the seed of the advisory lock keys, the same for every process
    /// that writes through this table whatever name it uses.
    oid: u32,
    /// Drawn at `prepare`: the streams of rows without a position derive from it.
    instance: u64,
    stats: LedgerStats,
}

impl Ledger {
    /// The keys of `batch`.
    pub(super) fn keys(&self, batch: &Batch) -> Result<Vec<Key>, SinkError> {
        plan::keys(batch, self.instance)
    }
}

/// What a sink's ledger did, counted since the sink was made; see
/// [`PostgresSink::ledger_stats`]. Cloning shares the counters.
///
/// # Examples
///
/// ```
/// use batch_postgres::PostgresSink;
///
/// let sink = PostgresSink::new("postgres://u@127.0.0.1/db")?.ledger("batchrow_ledger");
/// let stats = sink.ledger_stats(); // keep a clone before the batcher takes the sink
/// assert_eq!(stats.rows_skipped(), 0);
/// # Ok::<(), batch_postgres::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct LedgerStats(Arc<Counters>);

#[derive(Default)]
struct Counters {
    written: AtomicU64,
    skipped: AtomicU64,
    batches_skipped: AtomicU64,
}

impl LedgerStats {
    /// Rows written by transactions that committed.
    #[must_use]
    pub fn rows_written(&self) -> u64 {
        self.0.written.load(Ordering::Relaxed)
    }

    /// Rows left out of a COPY because the ledger held their positions: they were in
    /// the table already, written by an earlier run, another batcher, or an earlier
    /// attempt whose answer was lost.
    #[must_use]
    pub fn rows_skipped(&self) -> u64 {
        self.0.skipped.load(Ordering::Relaxed)
    }

    /// Batches whose every row was in the ledger, reported committed without a COPY.
    #[must_use]
    pub fn batches_skipped(&self) -> u64 {
        self.0.batches_skipped.load(Ordering::Relaxed)
    }

    fn add(&self, planned: Planned) {
        self.0
            .written
            .fetch_add(planned.written as u64, Ordering::Relaxed);
        self.0
            .skipped
            .fetch_add(planned.skipped as u64, Ordering::Relaxed);
        if planned.written == 0 {
            self.0.batches_skipped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl fmt::Debug for LedgerStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LedgerStats")
            .field("rows_written", &self.rows_written())
            .field("rows_skipped", &self.rows_skipped())
            .field("batches_skipped", &self.batches_skipped())
            .finish()
    }
}

impl PostgresSink {
    /// Records, in the table `table` (`"batchrow_ledger"`, or `"schema.table"`), which
    /// positions of the user's source each committed batch wrote, in the batch's own
    /// transaction, and leaves out of every later batch the rows whose positions are
    /// already recorded: **exactly-once across process restarts**. Off by default.
    ///
    /// A consumer that inserts with
    /// [`insert_at`](batch_core::Handle::insert_at) or
    /// [`insert_many_at`](batch_core::Handle::insert_many_at) and acknowledges its
    /// source only from the [`on_commit`](batch_core::Builder::on_commit) hook replays,
    /// after a crash, the rows it had not acknowledged; some of them may be in the table
    /// already (committed just before the crash, or by a transaction whose answer was
    /// lost). With the ledger those rows are skipped, whatever the batch boundaries are
    /// after the restart: the ledger is keyed by positions, not by batches.
    ///
    /// # How it works
    ///
    /// Each batch is one transaction:
    ///
    /// 1. it locks each stream of the batch (`pg_advisory_xact_lock`, in ascending
    ///    order, keyed by the ledger table's OID and the stream), so that two batchers
    ///    replaying the same positions at once take turns;
    /// 2. it reads the ledger ranges that overlap the batch's positions, and COPYs only
    ///    the rows whose positions they do not hold (a position repeated within the
    ///    batch is written once);
    /// 3. it adds a ledger row per stream for the offsets it wrote, and commits.
    ///
    /// A batch whose rows are all in the ledger writes nothing and is reported
    /// committed: its rows are in the table. The extra statements ride in the round
    /// trips the sink makes anyway (with `BEGIN`, and with `COMMIT`).
    ///
    /// When `COMMIT` fails or its answer is lost, the sink asks the ledger instead of
    /// `txid_status`: it takes the same locks on another connection (so it waits for
    /// the transaction in doubt to end, and ends its backend if it still holds the
    /// locks after a second), then reads whether the ledger holds every position of the
    /// batch. It does: committed. It does not: the transaction was rolled back, and the
    /// batch is sent again. No answer within the
    /// [commit-status window](PostgresSink::commit_status_window): possibly persisted,
    /// as without the ledger, and replaying its positions later is safe.
    /// The answer comes from the ledger rows themselves, so it also holds after a
    /// failover to a standby that never saw the transaction, where `txid_status` may
    /// not know it or (a reused id after a crash) mistake another transaction for it.
    ///
    /// # The table
    ///
    /// ```sql
    /// CREATE TABLE batchrow_ledger (
    ///     stream       bigint      NOT NULL,  -- Position::stream
    ///     first_offset bigint      NOT NULL,  -- the first offset written
    ///     last_offset  bigint      NOT NULL,  -- the last, inclusive
    ///     batch        text        NOT NULL,  -- which sink instance and batch wrote it
    ///     committed_at timestamptz NOT NULL DEFAULT now(),
    ///     CHECK (first_offset <= last_offset)
    /// );
    /// CREATE INDEX batchrow_ledger_lookup ON batchrow_ledger (stream, last_offset, first_offset);
    /// ```
    ///
    /// [`create_ledger(true)`](PostgresSink::create_ledger) creates it (if it does not
    /// exist); otherwise [`Sink::prepare`](batch_core::Sink::prepare) checks that it
    /// exists with these four columns and their types, that the role may read and
    /// insert into it, and reports a [`SinkErrorKind::Config`] error that says what is
    /// wrong. One ledger can serve many tables and batchers, as long as their streams
    /// do not overlap; give each destination table its own ledger otherwise.
    ///
    /// The ledger grows by about one row per stream per batch.
    /// [`compact_ledger`](crate::compact_ledger) merges the rows of each stream whose
    /// offsets continue one another, while batchers write, so that it holds about one row
    /// per stream. Rows older than any replay you may do can also be deleted at any time
    /// (`DELETE FROM batchrow_ledger WHERE committed_at < now() - interval '7 days'`).
    ///
    /// # Rows without a position
    ///
    /// Rows inserted without a position are keyed by a stream drawn for each batch from
    /// a random number the sink draws at `prepare` and the batch's id (always negative,
    /// so never one of the user's streams), and offsets from their rows in the batch.
    /// That deduplicates a retry within the process (after a lost `COMMIT` answer), but
    /// not a replay after a restart: **only rows with a position are exactly-once across
    /// restarts**. Their ledger rows can be deleted once the process has ended
    /// (`DELETE FROM batchrow_ledger WHERE stream < 0`).
    ///
    /// Streams and offsets are stored as `bigint`: a position above `i64::MAX` fails
    /// its batch with a permanent error that names the row.
    ///
    /// # Cost
    ///
    /// The extra statements ride in the round trips the sink makes anyway (with `BEGIN`,
    /// and with `COMMIT`), so the ledger adds work, not waiting: measured with `cargo
    /// bench --bench pg_ledger` (PostgreSQL 15 on the same loaded 2-core machine, rows
    /// from 4 streams, best of 5 runs, three runs of the bench), about 0.2 to 0.3 ms per
    /// batch with one batch in flight (1,000-row batches 3 to 5% slower; 100,000-row
    /// batches within the noise, ±10%).
    ///
    /// Batches that share a stream are written one at a time (each waits for the
    /// other's lock), whatever the batcher's `max_in_flight`. With the default of 2 in
    /// flight, where two COPYs otherwise run side by side, 100,000-row batches of the
    /// same 4 streams were 10 to 26% slower (8 to 25 ms per batch); batches of
    /// different streams still run in parallel.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use batch_postgres::PostgresSink;
    ///
    /// let sink = PostgresSink::new("postgres://batchrow:batchrow@127.0.0.1:5432/batchrow")?
    ///     .ledger("batchrow_ledger")
    ///     .create_ledger(true);
    /// // Hand `sink` to a batcher and insert with `insert_many_at`; `examples/offsets.rs`
    /// // is a consumer that resumes after a crash.
    /// # Ok(()) }
    /// ```
    pub fn ledger(mut self, table: impl Into<String>) -> Self {
        let create = self.ledger.as_ref().is_some_and(|l| l.create);
        self.ledger = Some(LedgerConfig {
            name: table.into(),
            create,
        });
        self
    }

    /// Whether [`Sink::prepare`](batch_core::Sink::prepare) creates the
    /// [ledger](PostgresSink::ledger) table and its index if the table does not exist
    /// (it needs the `CREATE` privilege on the schema). Default: off, and the table must
    /// exist. Without [`ledger`](PostgresSink::ledger), the table is `batchrow_ledger`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sink = batch_postgres::PostgresSink::new("postgres://u@127.0.0.1/db")?;
    /// let sink = sink.ledger("ops.batchrow_ledger").create_ledger(true);
    /// # Ok::<(), batch_postgres::Error>(())
    /// ```
    pub fn create_ledger(mut self, create: bool) -> Self {
        let name = self
            .ledger
            .take()
            .map_or_else(|| "batchrow_ledger".to_owned(), |l| l.name);
        self.ledger = Some(LedgerConfig { name, create });
        self
    }

    /// The counters of the [ledger](PostgresSink::ledger): rows written, rows and
    /// batches skipped because the ledger held their positions. All zero without a
    /// ledger. Take a clone before the batcher takes the sink.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sink = batch_postgres::PostgresSink::new("postgres://u@127.0.0.1/db")?;
    /// let stats = sink.ledger_stats();
    /// // ... spawn a batcher with the sink, insert, close ...
    /// println!("{} rows were already in the table", stats.rows_skipped());
    /// # Ok::<(), batch_postgres::Error>(())
    /// ```
    #[must_use]
    pub fn ledger_stats(&self) -> LedgerStats {
        self.ledger_stats.clone()
    }
}

fn config_error(message: String) -> SinkError {
    SinkError::new(SinkErrorKind::Config, message)
}

/// The statements that create the ledger `name` (quoted) and its index.
fn create_sql(name: &TableName) -> String {
    let table = qualified(name);
    let index = quote_ident(&format!("{}_lookup", name.table));
    format!(
        "CREATE TABLE IF NOT EXISTS {table} (stream bigint NOT NULL, \
         first_offset bigint NOT NULL, last_offset bigint NOT NULL, batch text NOT NULL, \
         committed_at timestamptz NOT NULL DEFAULT now(), \
         CHECK (first_offset <= last_offset)); \
         CREATE INDEX IF NOT EXISTS {index} ON {table} (stream, last_offset, first_offset)"
    )
}

fn qualified(name: &TableName) -> String {
    match &name.schema {
        Some(schema) => format!("{}.{}", quote_ident(schema), quote_ident(&name.table)),
        None => quote_ident(&name.table),
    }
}

/// Creates the ledger if asked, then checks it: it exists, has the four columns with
/// their types, and the role may read and insert into it.
pub(super) async fn prepare(
    client: &Client,
    config: &LedgerConfig,
    stats: LedgerStats,
) -> Result<Ledger, SinkError> {
    let name = TableName::parse(&config.name);
    let exists = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&qualified(&name)])
        .await
        .map_err(query_error)?
        .get::<_, bool>(0);
    // Only when missing: `CREATE INDEX IF NOT EXISTS` needs to own the table even when
    // the index exists, and the sink's role may only have SELECT and INSERT on it.
    if config.create && !exists {
        // One creator at a time: concurrent `CREATE TABLE IF NOT EXISTS` can collide.
        let ddl = format!(
            "BEGIN; SELECT pg_advisory_xact_lock(hashtext('batchrow ledger DDL')); {}; COMMIT",
            create_sql(&name)
        );
        if let Err(e) = client.batch_execute(&ddl).await {
            let _ = client.batch_execute("ROLLBACK").await;
            let e = query_error(e);
            return Err(SinkError::new(
                SinkErrorKind::Config,
                format!("creating the ledger table {}: {e}", name.display()),
            )
            .with_source(e));
        }
    }
    let missing = || {
        config_error(format!(
            "the ledger table {} does not exist; create it with `{};` or let the sink \
             create it (PostgresSink::create_ledger(true))",
            name.display(),
            create_sql(&name)
        ))
    };
    let Some(row) = client
        .query_opt(
            "SELECT c.oid, n.nspname::text, c.relname::text, c.relkind::text, \
             has_table_privilege(c.oid, 'SELECT'), has_table_privilege(c.oid, 'INSERT') \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.oid = to_regclass($1)",
            &[&qualified(&name)],
        )
        .await
        .map_err(query_error)?
    else {
        return Err(missing());
    };
    let oid: u32 = row.get(0);
    let display = format!("{}.{}", row.get::<_, String>(1), row.get::<_, String>(2));
    let relkind: String = row.get(3);
    if !matches!(relkind.as_str(), "r" | "p") {
        return Err(config_error(format!(
            "the ledger {display} is not a table (relkind '{relkind}')"
        )));
    }
    if !(row.get::<_, bool>(4) && row.get::<_, bool>(5)) {
        return Err(config_error(format!(
            "the sink's role may not read and insert into the ledger table {display} \
             (GRANT SELECT, INSERT ON {display} TO the role)"
        )));
    }
    let columns = client
        .query(
            "SELECT attname::text, format_type(atttypid, NULL), attnotnull, atthasdef \
             FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped",
            &[&oid],
        )
        .await
        .map_err(query_error)?;
    let mut problems = Vec::new();
    for (column, ty) in COLUMNS {
        match columns.iter().find(|r| r.get::<_, String>(0) == column) {
            None => problems.push(format!("column `{column}` ({ty}) is missing")),
            Some(r) if r.get::<_, String>(1) != ty => problems.push(format!(
                "column `{column}` is {}, not {ty}",
                r.get::<_, String>(1)
            )),
            Some(_) => {}
        }
    }
    for r in &columns {
        let column: String = r.get(0);
        if !COLUMNS.iter().any(|(c, _)| *c == column) && r.get::<_, bool>(2) && !r.get::<_, bool>(3)
        {
            problems.push(format!(
                "column `{column}` is NOT NULL without a default, and the sink does not \
                 write it"
            ));
        }
    }
    if !problems.is_empty() {
        return Err(config_error(format!(
            "the ledger table {display} does not have the ledger's columns: {}; it needs \
             `{}`",
            problems.join("; "),
            create_sql(&name)
        )));
    }
    Ok(Ledger {
        table: format!(
            "{}.{}",
            quote_ident(&row.get::<_, String>(1)),
            quote_ident(&row.get::<_, String>(2))
        ),
        display,
        oid,
        instance: instance_id(),
        stats,
    })
}

/// A random 64-bit number, different for every sink instance and process.
fn instance_id() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    h.write_u128(nanos);
    h.finish()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn the_ledger_table_statement() {
        assert_eq!(
            create_sql(&TableName::parse("ops.led\"ger")),
            "CREATE TABLE IF NOT EXISTS \"ops\".\"led\"\"ger\" (stream bigint NOT NULL, \
             first_offset bigint NOT NULL, last_offset bigint NOT NULL, batch text NOT NULL, \
             committed_at timestamptz NOT NULL DEFAULT now(), \
             CHECK (first_offset <= last_offset)); \
             CREATE INDEX IF NOT EXISTS \"led\"\"ger_lookup\" ON \"ops\".\"led\"\"ger\" \
             (stream, last_offset, first_offset)"
        );
    }
}
