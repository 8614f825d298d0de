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

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::hash::{BuildHasher, Hasher};
use std::ops::Range;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use batch_core::{Batch, SinkError, SinkErrorKind};
use bytes::Bytes;
use deadpool_postgres::{ClientWrapper, Pool};
use futures_util::SinkExt;
use tokio::time::{sleep, timeout_at, Instant};
use tokio_postgres::{Client, SimpleQueryMessage};

use super::attempt::{bounded, limit_ms, txn_of, Checkout, Failure, Txn};
use super::classify::query_error;
use super::commit_status::{describe, end_holder, rolled_back};
use super::PostgresSink;
use crate::copy::{HEADER, TRAILER};
use crate::schema::{quote_ident, TableName};

/// The columns of a ledger table, as [`create_sql`] makes them.
const COLUMNS: [(&str, &str); 4] = [
    ("stream", "bigint"),
    ("first_offset", "bigint"),
    ("last_offset", "bigint"),
    ("batch", "text"),
];

/// How long one commit-status question waits for the locks of the batch's streams
/// before it ends the backend of the transaction in doubt.
const RESOLVE_LOCK_WAIT: Duration = Duration::from_secs(1);
/// The longest one commit-status question may take on the server.
const RESOLVE_STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);
/// The first pause between two commit-status questions, and the longest.
const FIRST_PAUSE: Duration = Duration::from_millis(100);
const MAX_PAUSE: Duration = Duration::from_secs(2);

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
        keys(batch, self.instance)
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
    /// The ledger grows by about one row per stream per batch. Rows older than any
    /// replay you may do can be deleted at any time (`DELETE FROM batchrow_ledger WHERE
    /// committed_at < now() - interval '7 days'`).
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
    #[must_use]
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
    #[must_use]
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

/// SplitMix64's finalizer: a bijection of `u64` that scatters nearby inputs.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The stream of the rows without a position of batch `id`: negative, so that it is
/// never one of the user's streams (which are at most `i64::MAX`).
fn unpositioned_stream(instance: u64, id: u64) -> i64 {
    i64::from_ne_bytes((mix(instance.wrapping_add(mix(id))) | (1 << 63)).to_ne_bytes())
}

/// Rows of a batch and the ledger key they are written under: rows `rows` are offsets
/// `first..=last` of `stream`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Key {
    stream: i64,
    first: i64,
    last: i64,
    rows: Range<usize>,
}

/// The keys of every row of `batch`: its positions, and for rows without one, the
/// batch's own stream with their rows in the sealed batch as offsets.
fn keys(batch: &Batch, instance: u64) -> Result<Vec<Key>, SinkError> {
    let base = batch.range().start;
    let own = unpositioned_stream(instance, batch.id());
    let unpositioned = |rows: Range<usize>| Key {
        stream: own,
        first: i64::try_from(base + rows.start).unwrap_or(i64::MAX),
        last: i64::try_from(base + rows.end - 1).unwrap_or(i64::MAX),
        rows,
    };
    let mut out = Vec::new();
    let mut next = 0;
    for p in batch.positions() {
        if p.rows.start > next {
            out.push(unpositioned(next..p.rows.start));
        }
        next = p.rows.end;
        let (Ok(stream), Ok(first), Ok(last)) = (
            i64::try_from(p.stream),
            i64::try_from(p.first),
            i64::try_from(p.last),
        ) else {
            return Err(beyond_bigint(&p));
        };
        out.push(Key {
            stream,
            first,
            last,
            rows: p.rows,
        });
    }
    if batch.rows() > next {
        out.push(unpositioned(next..batch.rows()));
    }
    Ok(out)
}

/// The error for a range of positions some of which do not fit a `bigint`, naming the
/// first such row.
fn beyond_bigint(p: &batch_core::PositionRange) -> SinkError {
    let max = i64::MAX.unsigned_abs();
    let skip = if p.stream > max || p.first > max {
        0
    } else {
        usize::try_from(max - p.first + 1).unwrap_or(usize::MAX)
    };
    let row = p.rows.start + skip.min(p.rows.len().saturating_sub(1));
    let offset = p.first.saturating_add((row - p.rows.start) as u64);
    SinkError::permanent(format!(
        "row {row} of the batch has position (stream {}, offset {offset}); the ledger \
         stores streams and offsets as bigint, up to {}",
        p.stream,
        i64::MAX
    ))
    .with_row(row)
}

/// Disjoint, sorted, merged offset intervals of one stream.
#[derive(Debug, Default)]
struct Covered(Vec<(i64, i64)>);

impl Covered {
    /// Adds `[a, b]`, merging with touching or overlapping intervals.
    fn add(&mut self, a: i64, b: i64) {
        let v = &mut self.0;
        // The first interval that ends at or after a - 1 (touching counts).
        let i = v.partition_point(|&(_, e)| e.checked_add(1).is_some_and(|e1| e1 < a));
        let mut j = i;
        let (mut lo, mut hi) = (a, b);
        while j < v.len() && v[j].0 <= b.saturating_add(1) {
            lo = lo.min(v[j].0);
            hi = hi.max(v[j].1);
            j += 1;
        }
        v.splice(i..j, [(lo, hi)]);
    }

    /// The parts of `[a, b]` not covered, in order.
    fn gaps(&self, a: i64, b: i64, out: &mut Vec<(i64, i64)>) {
        let v = &self.0;
        let mut cursor = a;
        let start = v.partition_point(|&(_, e)| e < a);
        for &(s, e) in &v[start..] {
            if s > b {
                break;
            }
            if s > cursor {
                out.push((cursor, s - 1));
            }
            match e.checked_add(1) {
                Some(next) if next > cursor => cursor = next,
                Some(_) => {}
                None => return,
            }
            if cursor > b {
                return;
            }
        }
        if cursor <= b {
            out.push((cursor, b));
        }
    }
}

/// What one attempt writes: the rows to COPY and the ledger rows to add.
#[derive(Debug, Default, PartialEq, Eq)]
struct Plan {
    /// Rows of the batch to COPY, sorted and merged.
    copy: Vec<Range<usize>>,
    /// Ledger rows: stream, first and last offset.
    record: Vec<(i64, i64, i64)>,
    planned: Planned,
}

/// Rows written and skipped by one attempt.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Planned {
    written: usize,
    skipped: usize,
}

/// Plans an attempt: the rows of `keys` whose offsets `ledger` does not hold, and whose
/// offsets an earlier row of the batch does not repeat.
fn plan(keys: &[Key], ledger: &[(i64, i64, i64)]) -> Plan {
    let mut covered: BTreeMap<i64, Covered> = BTreeMap::new();
    for &(stream, first, last) in ledger {
        covered.entry(stream).or_default().add(first, last);
    }
    let mut written: BTreeMap<i64, Covered> = BTreeMap::new();
    let mut copy: Vec<Range<usize>> = Vec::new();
    let mut gaps = Vec::new();
    let mut rows = 0;
    for key in keys {
        let done = covered.entry(key.stream).or_default();
        gaps.clear();
        done.gaps(key.first, key.last, &mut gaps);
        for &(a, b) in &gaps {
            // Offsets map to rows one to one within a key.
            let from = |o: i64| usize::try_from(o.abs_diff(key.first)).unwrap_or(usize::MAX);
            let start = key.rows.start + from(a);
            let end = key.rows.start + from(b) + 1;
            match copy.last_mut() {
                Some(last) if last.end == start => last.end = end,
                _ => copy.push(start..end),
            }
            rows += end - start;
            done.add(a, b);
            written.entry(key.stream).or_default().add(a, b);
        }
    }
    copy.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(copy.len());
    for r in copy {
        match merged.last_mut() {
            Some(last) if last.end == r.start => last.end = r.end,
            _ => merged.push(r),
        }
    }
    let record = written
        .into_iter()
        .flat_map(|(stream, c)| c.0.into_iter().map(move |(a, b)| (stream, a, b)))
        .collect();
    let total: usize = keys.iter().map(|k| k.rows.len()).sum();
    Plan {
        copy: merged,
        record,
        planned: Planned {
            written: rows,
            skipped: total - rows,
        },
    }
}

/// `SELECT`s that lock the streams of `keys` in ascending order and read the ledger
/// ranges that overlap them; the ledger rows come back as the last statement's.
fn lock_and_read_sql(ledger: &Ledger, keys: &[Key]) -> String {
    let mut span: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for k in keys {
        let e = span.entry(k.stream).or_insert((k.first, k.last));
        e.0 = e.0.min(k.first);
        e.1 = e.1.max(k.last);
    }
    let streams = int8_array(span.keys().copied());
    let lo = int8_array(span.values().map(|v| v.0));
    let hi = int8_array(span.values().map(|v| v.1));
    format!(
        "SELECT count(pg_advisory_xact_lock(hashint8extended(s, {oid}))) \
         FROM unnest({streams}) AS s; \
         SELECT l.stream, l.first_offset, l.last_offset FROM {table} AS l \
         JOIN unnest({streams}, {lo}, {hi}) AS q(stream, lo, hi) \
         ON l.stream = q.stream AND l.last_offset >= q.lo AND l.first_offset <= q.hi",
        oid = ledger.oid,
        table = ledger.table,
    )
}

/// An `int8[]` literal: `'{1,2,3}'::int8[]`.
fn int8_array(values: impl Iterator<Item = i64>) -> String {
    let mut s = String::from("'{");
    for (i, v) in values.enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(s, "{v}");
    }
    s.push_str("}'::int8[]");
    s
}

/// The statement that adds the ledger rows of `plan`.
fn record_sql(ledger: &Ledger, batch: &Batch, plan: &Plan) -> String {
    let range = batch.range();
    let label = format!(
        "'{:016x}:{}:{}-{}'",
        ledger.instance,
        batch.id(),
        range.start,
        range.end
    );
    let mut sql = format!(
        "INSERT INTO {} (stream, first_offset, last_offset, batch) VALUES ",
        ledger.table
    );
    for (i, (stream, first, last)) in plan.record.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        let _ = write!(sql, "({stream}, {first}, {last}, {label})");
    }
    sql
}

/// The rows of the answer to a multi-statement query that belong to its statement
/// `index` (counted from 0).
fn rows_of(messages: &[SimpleQueryMessage], index: usize) -> Vec<&tokio_postgres::SimpleQueryRow> {
    let mut statement = 0;
    let mut rows = Vec::new();
    for m in messages {
        match m {
            SimpleQueryMessage::CommandComplete(_) => statement += 1,
            SimpleQueryMessage::Row(row) if statement == index => rows.push(row),
            _ => {}
        }
    }
    rows
}

/// Reads ledger rows (stream, first, last) from the answer's statement `index`.
fn ledger_rows(messages: &[SimpleQueryMessage], index: usize) -> Option<Vec<(i64, i64, i64)>> {
    rows_of(messages, index)
        .into_iter()
        .map(|r| {
            Some((
                r.get(0)?.parse().ok()?,
                r.get(1)?.parse().ok()?,
                r.get(2)?.parse().ok()?,
            ))
        })
        .collect()
}

/// One batch, one transaction, with the ledger: as [`attempt::copy_batch`], plus the
/// locks and the ledger read in the round trip of `BEGIN`, only the rows the ledger does
/// not hold in the COPY, and the ledger rows in the round trip of `COMMIT`.
///
/// `planned` is set to the plan's counts once the plan is made, so that a `COMMIT` in
/// doubt that turns out committed can count them.
///
/// [`attempt::copy_batch`]: super::attempt::copy_batch
pub(super) async fn copy_batch(
    client: &ClientWrapper,
    copy_sql: &str,
    ledger: &Ledger,
    batch: &Batch,
    keys: &[Key],
    deadline: Instant,
    planned: &mut Option<Planned>,
) -> Result<(), Failure> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(Failure::TimedOut {
            during: "the start",
        });
    }
    let ms = limit_ms(left);
    // READ COMMITTED whatever the role's default: the ledger read must see what
    // committed before the locks were granted.
    let begin = format!(
        "BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL statement_timeout = {ms}; \
         SET LOCAL idle_in_transaction_session_timeout = {ms}; \
         SELECT txid_current(), pg_backend_pid(); {}",
        lock_and_read_sql(ledger, keys)
    );
    let begun = bounded(
        deadline,
        "BEGIN and the ledger read",
        client.simple_query(&begin),
    )
    .await?;
    let (Some(txn), Some(held)) = (txn_of(&begun), ledger_rows(&begun, 5)) else {
        return Err(Failure::TimedOut {
            during: "BEGIN (the server did not say which transaction it began)",
        });
    };
    let plan = plan(keys, &held);
    *planned = Some(plan.planned);
    if plan.copy.is_empty() {
        // Every row is in the table already.
        bounded(deadline, "ROLLBACK", client.batch_execute("ROLLBACK")).await?;
        ledger.stats.add(plan.planned);
        return Ok(());
    }
    let stmt = bounded(
        deadline,
        "preparing the COPY",
        client.prepare_cached(copy_sql),
    )
    .await?;
    let whole = plan.copy.len() == 1 && plan.copy[0] == (0..batch.rows());
    let copy = async {
        let mut sink = pin!(client.copy_in::<_, Bytes>(&stmt).await?);
        sink.feed(Bytes::from_static(&HEADER)).await?;
        if whole {
            for chunk in batch.chunks() {
                sink.feed(chunk).await?;
            }
        } else {
            for rows in &plan.copy {
                for chunk in batch.slice(rows.clone()).chunks() {
                    sink.feed(chunk).await?;
                }
            }
        }
        sink.feed(Bytes::from_static(&TRAILER)).await?;
        sink.as_mut().finish().await
    };
    let inserted = bounded(deadline, "the COPY", copy).await?;
    if usize::try_from(inserted).ok() != Some(plan.planned.written) {
        return Err(Failure::RowCount {
            inserted,
            expected: plan.planned.written,
        });
    }
    if Instant::now() >= deadline {
        return Err(Failure::TimedOut {
            during: "the wait before COMMIT",
        });
    }
    let commit = format!("{}; COMMIT", record_sql(ledger, batch, &plan));
    match timeout_at(deadline, client.batch_execute(&commit)).await {
        Ok(Ok(())) => {
            ledger.stats.add(plan.planned);
            Ok(())
        }
        Ok(Err(error)) => Err(Failure::Commit {
            txn,
            error: Some(error),
        }),
        Err(_) => Err(Failure::Commit { txn, error: None }),
    }
}

/// Finds out, for up to `window`, whether the transaction `txn` of an attempt with the
/// ledger committed, by asking the ledger: `Ok` if it holds every key of the batch; a
/// retryable error (or the server's classified error) if not; a
/// [`SinkErrorKind::PossiblyPersisted`] error if that could not be found out.
#[allow(clippy::too_many_arguments)]
pub(super) async fn resolve(
    pool: &Pool,
    ledger: &Ledger,
    keys: &[Key],
    txn: Txn,
    error: Option<tokio_postgres::Error>,
    window: Duration,
    what: &str,
    planned: Option<Planned>,
) -> Result<(), SinkError> {
    let cause = describe(error.as_ref());
    let rows = keys.iter().map(|k| k.rows.len()).sum();
    tracing::warn!(
        xid = txn.xid,
        backend = txn.pid,
        ledger = %ledger.display,
        "batchrow: {what}: {cause}; asking the ledger whether the transaction committed"
    );
    let until = Instant::now()
        .checked_add(window)
        .unwrap_or_else(Instant::now);
    let mut pause = FIRST_PAUSE;
    let mut problem = String::from("no answer yet");
    loop {
        match timeout_at(until, ask(pool, ledger, keys, txn)).await {
            Ok(Ok(true)) => {
                tracing::info!(
                    xid = txn.xid,
                    "batchrow: {what}: the ledger holds the batch: committed"
                );
                if let Some(planned) = planned {
                    ledger.stats.add(planned);
                }
                return Ok(());
            }
            Ok(Ok(false)) => return Err(rolled_back(error, &cause, what, rows)),
            Ok(Err(e)) => problem = e,
            Err(_) => break,
        }
        let next = Instant::now() + pause;
        if next >= until {
            break;
        }
        sleep(pause).await;
        pause = (pause * 2).min(MAX_PAUSE);
    }
    let message = format!(
        "{what}: {cause}, and whether transaction {} committed could not be found out \
         from the ledger {} within the commit-status window of {window:?} (last: \
         {problem}); the rows may be in the table, so the batch is not sent again \
         (replaying its positions later is safe: the ledger skips what is there)",
        txn.xid, ledger.display
    );
    let mut e = SinkError::possibly_persisted(message);
    if let Some(source) = error {
        e = e.with_source(source);
    }
    Err(e)
}

/// Asks once, on a connection of its own: takes the locks of the batch's streams (so
/// the transaction in doubt has ended), then reads whether the ledger holds every key.
/// When the locks are still held after [`RESOLVE_LOCK_WAIT`], ends the backend of `txn`
/// if it still holds that transaction, and says so.
async fn ask(pool: &Pool, ledger: &Ledger, keys: &[Key], txn: Txn) -> Result<bool, String> {
    let client = pool
        .get()
        .await
        .map_err(|e| format!("no connection: {e}"))?;
    let checkout = Checkout::new(client);
    let Some(client) = checkout.client() else {
        return Err("no connection".to_owned());
    };
    let sql = format!(
        "BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL lock_timeout = {}; \
         SET LOCAL statement_timeout = {}; {}",
        limit_ms(RESOLVE_LOCK_WAIT),
        limit_ms(RESOLVE_STATEMENT_TIMEOUT),
        lock_and_read_sql(ledger, keys)
    );
    let answer = client.simple_query(&sql).await;
    let messages = match answer {
        Ok(m) => m,
        Err(e) => {
            let locked = e
                .code()
                .is_some_and(|c| *c == tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE);
            if !locked {
                return Err(format!("the ledger read failed: {e}"));
            }
            client
                .batch_execute("ROLLBACK")
                .await
                .map_err(|e| format!("ROLLBACK failed: {e}"))?;
            end_holder(client, txn).await?;
            checkout.release();
            return Err(format!(
                "the transaction in doubt still held the locks of the batch's streams; \
                 its backend (pid {}) was asked to end",
                txn.pid
            ));
        }
    };
    client
        .batch_execute("ROLLBACK")
        .await
        .map_err(|e| format!("ROLLBACK failed: {e}"))?;
    checkout.release();
    let held = ledger_rows(&messages, 4).ok_or("the ledger read answered no rows")?;
    Ok(plan(keys, &held).copy.is_empty())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use batch_core::{ChunkFull, Position, RowBuffer};

    /// A batch of one-byte rows; `Some(p)` rows carry a position.
    fn batch(id: u64, rows: &[Option<(u64, u64)>]) -> Batch {
        let mut buf = RowBuffer::default();
        for (i, r) in rows.iter().enumerate() {
            let write = |out: &mut Vec<u8>| {
                out.push(u8::try_from(i % 256).unwrap());
                Ok::<_, ChunkFull>(())
            };
            match r {
                Some((s, o)) => buf.push_row_at(Position::new(*s, *o), write).unwrap(),
                None => buf.push_row(write).unwrap(),
            };
        }
        Batch::new(id, vec![buf.take()])
    }

    fn key(stream: i64, first: i64, last: i64, rows: Range<usize>) -> Key {
        Key {
            stream,
            first,
            last,
            rows,
        }
    }

    #[test]
    fn keys_follow_positions_and_give_unpositioned_rows_the_batch_stream() {
        let b = batch(
            7,
            &[Some((1, 10)), Some((1, 11)), None, None, Some((2, 5)), None],
        );
        let own = unpositioned_stream(42, 7);
        assert!(own < 0);
        assert_ne!(own, unpositioned_stream(42, 8));
        assert_ne!(own, unpositioned_stream(43, 7));
        assert_eq!(
            keys(&b, 42).unwrap(),
            [
                key(1, 10, 11, 0..2),
                key(own, 2, 3, 2..4),
                key(2, 5, 5, 4..5),
                key(own, 5, 5, 5..6),
            ]
        );
        // A part of a split batch: offsets count from the sealed batch's rows.
        assert_eq!(
            keys(&b.slice(3..6), 42).unwrap(),
            [
                key(own, 3, 3, 0..1),
                key(2, 5, 5, 1..2),
                key(own, 5, 5, 2..3)
            ]
        );
    }

    #[test]
    fn a_position_beyond_bigint_names_its_row() {
        let top = i64::MAX.unsigned_abs();
        let b = batch(1, &[Some((0, top - 1)), Some((0, top)), Some((0, top + 1))]);
        let e = keys(&b, 1).unwrap_err();
        assert_eq!(e.row(), Some(2), "{e}");
        assert_eq!(e.kind(), SinkErrorKind::Permanent);
        let b = batch(1, &[None, Some((top + 1, 0))]);
        assert_eq!(keys(&b, 1).unwrap_err().row(), Some(1));
    }

    #[test]
    fn covered_intervals_merge_and_leave_gaps() {
        let mut c = Covered::default();
        c.add(10, 19);
        c.add(30, 39);
        c.add(20, 20); // touches the first
        assert_eq!(c.0, [(10, 20), (30, 39)]);
        let mut gaps = Vec::new();
        c.gaps(0, 50, &mut gaps);
        assert_eq!(gaps, [(0, 9), (21, 29), (40, 50)]);
        gaps.clear();
        c.gaps(12, 35, &mut gaps);
        assert_eq!(gaps, [(21, 29)]);
        gaps.clear();
        c.gaps(30, 39, &mut gaps);
        assert!(gaps.is_empty());
        c.add(15, 32);
        assert_eq!(c.0, [(10, 39)]);
        c.add(i64::MAX - 1, i64::MAX);
        gaps.clear();
        c.gaps(i64::MAX - 3, i64::MAX, &mut gaps);
        assert_eq!(gaps, [(i64::MAX - 3, i64::MAX - 2)]);
    }

    #[test]
    fn a_plan_copies_only_what_the_ledger_lacks() {
        // Nothing in the ledger: the whole batch, one ledger row per stream.
        let keys = [key(1, 0, 99, 0..100), key(2, 0, 49, 100..150)];
        let p = plan(&keys, &[]);
        assert_eq!(p.copy, vec![0..150]);
        assert_eq!(p.record, [(1, 0, 99), (2, 0, 49)]);
        assert_eq!(
            p.planned,
            Planned {
                written: 150,
                skipped: 0
            }
        );
        // Partly held: offsets 0..=59 of stream 1 and 40..=49 of stream 2.
        let p = plan(&keys, &[(1, 0, 59), (2, 40, 200), (3, 0, 9)]);
        assert_eq!(p.copy, vec![60..140]);
        assert_eq!(p.record, [(1, 60, 99), (2, 0, 39)]);
        assert_eq!(
            p.planned,
            Planned {
                written: 80,
                skipped: 70
            }
        );
        // All held.
        let p = plan(&keys, &[(1, 0, 99), (2, 0, 49)]);
        assert!(p.copy.is_empty() && p.record.is_empty());
        assert_eq!(p.planned.skipped, 150);
    }

    #[test]
    fn interleaved_streams_make_one_ledger_row_each_and_repeats_are_written_once() {
        // Rows alternate between streams 0 and 1, offsets 0..4 each; then offset 2 of
        // stream 0 again.
        let mut keys: Vec<Key> = (0..8)
            .map(|r: usize| {
                let o = i64::try_from(r / 2).unwrap();
                key(i64::try_from(r % 2).unwrap(), o, o, r..r + 1)
            })
            .collect();
        keys.push(key(0, 2, 2, 8..9));
        let p = plan(&keys, &[(1, 3, 3)]);
        assert_eq!(p.record, [(0, 0, 3), (1, 0, 2)]);
        assert_eq!(p.copy, vec![0..7]);
        assert_eq!(
            p.planned,
            Planned {
                written: 7,
                skipped: 2
            }
        );
    }

    #[test]
    fn the_lock_and_read_statements_name_each_stream_once_in_order() {
        let ledger = Ledger {
            table: "\"public\".\"l\"".into(),
            display: "public.l".into(),
            oid: 16384,
            instance: 1,
            stats: LedgerStats::default(),
        };
        let sql = lock_and_read_sql(
            &ledger,
            &[key(2, 5, 9, 0..5), key(-7, 0, 0, 5..6), key(2, 0, 1, 6..8)],
        );
        assert!(sql.contains("hashint8extended(s, 16384)"), "{sql}");
        assert!(
            sql.contains("unnest('{-7,2}'::int8[], '{0,0}'::int8[], '{0,9}'::int8[])"),
            "{sql}"
        );
        let b = batch(3, &[Some((2, 5))]);
        let p = plan(&[key(2, 5, 5, 0..1)], &[]);
        assert_eq!(
            record_sql(&ledger, &b, &p),
            "INSERT INTO \"public\".\"l\" (stream, first_offset, last_offset, batch) VALUES \
             (2, 5, 5, '0000000000000001:3:0-1')"
        );
    }

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
