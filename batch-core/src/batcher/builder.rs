//! Configuring and starting a batcher.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::batcher::handle::Handle;
use crate::batcher::shared::{Limits, Shared};
use crate::batcher::worker::{CommitHook, Config, DeadLetter, Worker};
use crate::dead_letter::FailedBatch;
use crate::error::{Error, Result};
use crate::outcome::CommittedBatch;
use crate::retry::RetryPolicy;
use crate::row::{EncodeRow, Schema};
use crate::schema::check_columns;
use crate::sink::{Sender, Sink, SinkError};

/// The largest `max_bytes`: 2 GiB (a batch's chunks address rows with 32-bit offsets).
const MAX_BATCH_BYTES: usize = 1 << 31;
/// A producer shard hands its chunk to the worker at this many bytes (or `max_bytes`).
const CHUNK_BYTES: usize = 64 << 10;
/// ... or this many rows (or `max_rows`).
const CHUNK_ROWS: usize = 4096;

/// Configures a batcher; [`Batcher::builder`](crate::Batcher::builder) makes one and
/// [`spawn`](Builder::spawn) starts it. Every option has a default.
#[must_use = "a builder does nothing until `spawn` is called"]
pub struct Builder<S: Sink> {
    sink: S,
    max_rows: usize,
    max_bytes: usize,
    max_wait: Duration,
    jitter: f64,
    max_buffered_bytes: usize,
    max_in_flight: usize,
    retry: RetryPolicy,
    dead_letter: Option<DeadLetter>,
    on_commit: Option<CommitHook>,
    max_error_rows: Option<u64>,
    isolate_bad_rows: bool,
    seed: Option<u64>,
    shards: Option<usize>,
    prepare_timeout: Duration,
    name: Option<String>,
    align: Option<u64>,
}

impl<S: Sink + fmt::Debug> fmt::Debug for Builder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("sink", &self.sink)
            .field("max_rows", &self.max_rows)
            .field("max_bytes", &self.max_bytes)
            .field("max_wait", &self.max_wait)
            .field("jitter", &self.jitter)
            .field("max_buffered_bytes", &self.max_buffered_bytes)
            .field("max_in_flight", &self.max_in_flight)
            .field("retry", &self.retry)
            .field("dead_letter", &self.dead_letter.is_some())
            .field("on_commit", &self.on_commit.is_some())
            .field("max_error_rows", &self.max_error_rows)
            .field("isolate_bad_rows", &self.isolate_bad_rows)
            .field("align_batches", &self.align)
            .finish_non_exhaustive()
    }
}

impl<S: Sink> Builder<S> {
    pub(crate) fn new(sink: S) -> Self {
        Builder {
            sink,
            max_rows: 100_000,
            max_bytes: 16 << 20,
            max_wait: Duration::from_secs(1),
            jitter: 0.0,
            max_buffered_bytes: 256 << 20,
            max_in_flight: 2,
            retry: RetryPolicy::default(),
            dead_letter: None,
            on_commit: None,
            max_error_rows: None,
            isolate_bad_rows: false,
            seed: None,
            shards: None,
            prepare_timeout: Duration::from_secs(30),
            name: None,
            align: None,
        }
    }

    /// A batch is sealed when it holds this many rows. Default: 100,000.
    pub fn max_rows(mut self, rows: usize) -> Self {
        self.max_rows = rows;
        self
    }

    /// A batch is sealed before its encoded rows would exceed this many bytes; a single
    /// row larger than this is refused ([`InsertError::TooLarge`](crate::InsertError::TooLarge)).
    /// At most 2 GiB. Default: 16 MiB.
    pub fn max_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// A batch is sealed at the latest this long after its first row was accepted (plus
    /// jitter). Default: 1 s.
    pub fn max_wait(mut self, wait: Duration) -> Self {
        self.max_wait = wait;
        self
    }

    /// Spreads flush times: each batch waits `max_wait × (1 + jitter × u)` with `u`
    /// uniform in `[0, 1)`, so many processes started together do not flush in step.
    /// Between 0 and 1. Default: 0.
    pub fn jitter(mut self, jitter: f64) -> Self {
        self.jitter = jitter;
        self
    }

    /// The memory bound: the encoded bytes accepted and not yet committed or failed
    /// (in producer chunks, waiting batches and batches being sent) stay within this
    /// bound plus one row. Beyond it, [`insert`](Handle::insert) waits and
    /// [`try_insert`](Handle::try_insert) refuses. Default: 256 MiB.
    pub fn max_buffered_bytes(mut self, bytes: usize) -> Self {
        self.max_buffered_bytes = bytes;
        self
    }

    /// How many batches may be sent concurrently. Default: 2.
    pub fn max_in_flight(mut self, batches: usize) -> Self {
        self.max_in_flight = batches;
        self
    }

    /// How batches that fail with a retryable error are retried. Default:
    /// [`RetryPolicy::default`].
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Installs a handler for batches that fail for good. It runs on the worker task, so
    /// it should be quick: hand the batch to a channel, a file, or a spawned task.
    /// [`FailedBatch::decoded_rows`] reads its rows back as column values, and
    /// [`DeadLetterFile`](crate::DeadLetterFile) is a ready-made handler that writes them
    /// to rotating NDJSON files off the worker's thread, for [`replay`](crate::replay).
    ///
    /// Without a handler, failed batches are returned from the next
    /// [`flush`](Handle::flush) or [`close`](Handle::close) in an
    /// [`Error::Failed`](crate::Error::Failed). If the handler panics, the batch is
    /// returned that way too.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn builder() -> batch_core::Builder<impl batch_core::Sink> { batch_core::Batcher::builder(batch_core::doc_support::Discard) }
    /// let (tx, mut failed) = tokio::sync::mpsc::unbounded_channel();
    /// let builder = builder().dead_letter(move |batch| {
    ///     // The receiver decides what to do: store the bytes, alert, replay later.
    ///     let _ = tx.send(batch);
    /// });
    /// # drop(builder); let _ = failed.try_recv();
    /// ```
    pub fn dead_letter(mut self, handler: impl FnMut(FailedBatch) + Send + 'static) -> Self {
        self.dead_letter = Some(Box::new(handler));
        self
    }

    /// When the sink refuses a batch with a permanent error
    /// ([`SinkErrorKind::Permanent`](crate::SinkErrorKind::Permanent)), split it to find
    /// the bad rows and deliver the good ones: the row the error names
    /// ([`SinkError::row`](crate::SinkError::row)) fails alone and the rows around it
    /// are sent again; without a row index the batch is halved until the failing parts
    /// are single rows. Off by default.
    ///
    /// Only enable it for sinks that write a refused batch not at all (PostgreSQL
    /// `COPY`, for example): rows of a partly written batch would be written twice.
    pub fn isolate_bad_rows(mut self, enable: bool) -> Self {
        self.isolate_bad_rows = enable;
        self
    }

    /// Seeds the random jitter of flush times and retry backoff, for reproducible tests.
    /// By default the seed is random.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The number of producer shards, each a buffer rows are encoded into under its own
    /// lock, picked by the producer's thread. Rounded up to a power of two. Default:
    /// twice the available parallelism, between 4 and 32.
    pub fn producer_shards(mut self, shards: usize) -> Self {
        self.shards = Some(shards);
        self
    }

    /// Calls `hook` once for every batch (or part of a split batch) the sink committed,
    /// in the order the commits happen, with its id, rows, bytes, attempts and the
    /// [`Position`](crate::Position)s of its rows, so that a consumer can acknowledge
    /// its source only for rows that are safe in the database. Failed batches go to the
    /// [`dead_letter`](Builder::dead_letter) handler instead, and a batch that is possibly
    /// persisted is never reported here. The hook runs on the batcher's worker task: keep
    /// it short (hand the batch to a channel for slow work). A panic in it is logged.
    ///
    /// # Examples
    ///
    /// ```
    /// # use batch_core::doc_support::{Discard, Event};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> batch_core::Result<()> {
    /// use std::sync::{Arc, Mutex};
    /// use batch_core::{Batcher, Position};
    ///
    /// let safe = Arc::new(Mutex::new(Vec::new()));
    /// let seen = safe.clone();
    /// let handle = Batcher::builder(Discard)
    ///     .on_commit(move |batch| seen.lock().unwrap().extend(batch.positions().to_vec()))
    ///     .spawn::<Event>()
    ///     .await?;
    /// handle.insert_at(Event { id: 1, name: "a" }, Position::new(0, 41)).await?;
    /// handle.flush().await?;
    /// assert_eq!(safe.lock().unwrap()[0].last, 41);
    /// # Ok(()) }
    /// ```
    pub fn on_commit(mut self, hook: impl FnMut(&CommittedBatch) + Send + 'static) -> Self {
        self.on_commit = Some(Box::new(hook));
        self
    }

    /// Halts the batcher once more than `rows` rows failed (bad rows isolated and
    /// dead-lettered count one by one): further inserts are refused with
    /// [`InsertError::Halted`](crate::InsertError::Halted), which hands the row back,
    /// `flush` and `close` return [`Error::Halted`](crate::Error::Halted) (or the failed
    /// batches, if any are held), and everything accepted before is still delivered.
    /// [`Stats::halted`](crate::Stats::halted) says why. Default: no limit.
    pub fn max_error_rows(mut self, rows: u64) -> Self {
        self.max_error_rows = Some(rows);
        self
    }

    /// How long [`spawn`](Builder::spawn) waits for [`Sink::prepare`] (the schema check
    /// against the live table) before it gives up. Default: 30 s. The built-in sinks also
    /// have their own connect timeouts.
    pub fn prepare_timeout(mut self, timeout: Duration) -> Self {
        self.prepare_timeout = timeout;
        self
    }

    /// Names the batcher: its metrics carry the name in a `name` label and its
    /// `batchrow.flush` spans in a `name` field, next to the table, so that two batchers
    /// writing into the same table are told apart. Default: the row type's table.
    ///
    /// # Examples
    ///
    /// ```
    /// # use batch_core::doc_support::{Discard, Event};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> batch_core::Result<()> {
    /// use batch_core::Batcher;
    ///
    /// let web = Batcher::builder(Discard).name("events-web").spawn::<Event>().await?;
    /// let jobs = Batcher::builder(Discard).name("events-jobs").spawn::<Event>().await?;
    /// # web.close().await?; jobs.close().await?;
    /// # Ok(()) }
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Cuts batches of rows with a [`Position`](crate::Position) on fixed windows of
    /// offsets, so that the same positions always make the same batches: each batch holds
    /// rows of one stream whose offsets fall in one window `[k × span, (k + 1) × span)`,
    /// in the order they were inserted (and cut by `max_rows` and `max_bytes` the same
    /// way every time).
    ///
    /// This is what exactly-once into ClickHouse needs after a crash: a consumer that
    /// resumes from the offsets [`on_commit`](Builder::on_commit) reported replays whole
    /// windows, so a batch whose outcome was unknown is sent again byte for byte, and a
    /// `ReplicatedMergeTree` table drops it as a duplicate block (so do dedup tokens
    /// derived from positions, on servers that take them).
    ///
    /// What it takes:
    /// - rows of one stream are inserted in offset order, by one producer at a time (as a
    ///   consumer of a Kafka partition does). Rows of one stream go through one producer
    ///   shard, so they reach the worker in that order;
    /// - a window is sealed when its last offset arrives or when a row of a later window
    ///   of the same stream arrives (gaps in offsets are fine); `max_wait` does not apply
    ///   to it, so a stream that pauses mid-window keeps its rows until it goes on;
    /// - [`flush`](crate::Handle::flush), [`close`](crate::Handle::close), and a memory
    ///   budget full of open windows (logged as a warning) seal windows early: if the
    ///   process dies before such a batch is settled, its replay is cut differently.
    ///
    /// Rows without a position are batched as without this option. Default: off.
    ///
    /// # Examples
    ///
    /// ```
    /// # use batch_core::doc_support::{Discard, Event};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> batch_core::Result<()> {
    /// use std::sync::{Arc, Mutex};
    /// use batch_core::{Batcher, Position};
    ///
    /// let batches = Arc::new(Mutex::new(Vec::new()));
    /// let seen = batches.clone();
    /// let handle = Batcher::builder(Discard)
    ///     .align_batches(1_000)
    ///     .on_commit(move |b| {
    ///         let r = &b.positions()[0];
    ///         seen.lock().unwrap().push((r.first, r.last));
    ///     })
    ///     .spawn::<Event>()
    ///     .await?;
    /// // Offsets 500..2,500 of partition 0 make the windows 500..=999, 1,000..=1,999
    /// // and 2,000..=2,499, whatever the timing.
    /// let events = (500..2_500).map(|id| Event { id, name: "polled" });
    /// handle.insert_many_at(events, Position::new(0, 500)).await?;
    /// handle.close().await?;
    /// assert_eq!(*batches.lock().unwrap(), [(500, 999), (1_000, 1_999), (2_000, 2_499)]);
    /// # Ok(()) }
    /// ```
    pub fn align_batches(mut self, span: u64) -> Self {
        self.align = Some(span);
        self
    }

    fn check(&self) -> Result<()> {
        fn bad(option: &'static str, reason: impl Into<String>) -> Result<()> {
            Err(Error::Config {
                option,
                reason: reason.into(),
            })
        }
        if self.max_rows == 0 {
            return bad("max_rows", "must be at least 1");
        }
        if self.max_bytes == 0 || self.max_bytes > MAX_BATCH_BYTES {
            return bad(
                "max_bytes",
                format!(
                    "must be between 1 and {MAX_BATCH_BYTES}, not {}",
                    self.max_bytes
                ),
            );
        }
        if !(0.0..=1.0).contains(&self.jitter) {
            return bad(
                "jitter",
                format!("must be between 0 and 1, not {}", self.jitter),
            );
        }
        if self.max_buffered_bytes == 0 {
            return bad("max_buffered_bytes", "must be at least 1");
        }
        if self.max_in_flight == 0 {
            return bad("max_in_flight", "must be at least 1");
        }
        if self.shards == Some(0) {
            return bad("producer_shards", "must be at least 1");
        }
        if self.align == Some(0) {
            return bad("align_batches", "the span must be at least 1 offset");
        }
        Ok(())
    }

    /// Checks row type `R` against the sink ([`Sink::prepare`]: the schema check, which
    /// lists every mismatched column at once), then starts the worker task. No row is
    /// accepted before the check passes.
    ///
    /// `R` may borrow data (`Event<'a>`): the handle is typed by `R::Static` and accepts
    /// `Event<'a>` for any `'a`.
    ///
    /// # Errors
    ///
    /// [`Error::Sink`] when the check fails or the sink cannot start;
    /// [`Error::Config`] for an option out of range; [`Error::NoRuntime`] outside a Tokio
    /// runtime; [`Error::ColumnCount`] when the sink resolves the wrong number of columns.
    ///
    /// # Examples
    ///
    /// ```
    /// # use batch_core::doc_support::{Discard, Event};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> batch_core::Result<()> {
    /// use std::time::Duration;
    /// use batch_core::Batcher;
    ///
    /// let handle = Batcher::builder(Discard)
    ///     .max_rows(10_000)
    ///     .max_wait(Duration::from_millis(500))
    ///     .spawn::<Event>()
    ///     .await?;
    /// handle.insert(Event { id: 1, name: "first" }).await?;
    /// let stats = handle.close().await?;
    /// assert_eq!(stats.committed.rows, 1);
    /// # Ok(()) }
    /// ```
    pub async fn spawn<R: EncodeRow<S::Format> + ?Sized>(self) -> Result<Handle<R::Static, S>> {
        self.check()?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        // The fields' compatibility rules travel with the schema, so that the sink lists
        // type mismatches with every other mismatch; `check_columns` below covers sinks
        // that do not run them.
        let schema = Schema::checked::<R, S::Format>();
        let sender = tokio::time::timeout(self.prepare_timeout, self.sink.prepare(schema))
            .await
            .map_err(|_| {
                SinkError::retryable(format!(
                    "the schema check of table `{}` did not finish within {:?} \
                     (prepare_timeout): the server did not answer",
                    schema.table, self.prepare_timeout
                ))
            })??;
        let columns = sender.columns().to_vec();
        if columns.len() != schema.columns.len() {
            return Err(Error::ColumnCount {
                table: schema.table,
                expected: schema.columns.len(),
                got: columns.len(),
            });
        }
        check_columns::<R, S::Format>(schema.table, &columns).map_err(SinkError::schema)?;
        let shards = self.shards.unwrap_or_else(|| {
            let cores = std::thread::available_parallelism().map_or(1, usize::from);
            (cores * 2).clamp(4, 32)
        });
        let limits = Limits {
            max_bytes: self.max_bytes,
            chunk_bytes: CHUNK_BYTES.min(self.max_bytes),
            chunk_rows: CHUNK_ROWS.min(self.max_rows),
            max_buffered: self.max_buffered_bytes,
            grant: (self.max_buffered_bytes / (4 * shards)).clamp(1, CHUNK_BYTES),
            shard_by_stream: self.align.is_some(),
        };
        let name: Arc<str> = self.name.as_deref().unwrap_or(schema.table).into();
        let shared = Arc::new(Shared::new(columns, schema, name, limits, shards));
        let (commands, receiver) = mpsc::unbounded_channel();
        let rng = self
            .seed
            .map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed);
        let config = Config {
            max_rows: self.max_rows,
            max_bytes: self.max_bytes,
            max_wait: self.max_wait,
            jitter: self.jitter,
            max_in_flight: self.max_in_flight,
            retry: self.retry,
            isolate_bad_rows: self.isolate_bad_rows,
            max_error_rows: self.max_error_rows,
            align: self.align,
        };
        let worker = Worker::<S::Sender>::new(
            shared.clone(),
            Arc::new(sender),
            receiver,
            config,
            self.dead_letter,
            self.on_commit,
            rng,
        );
        runtime.spawn(worker.run());
        Ok(Handle::new(shared, commands))
    }
}
