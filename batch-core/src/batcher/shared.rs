//! The state producers and the worker share: the producer shards where rows are encoded,
//! the ledger (accounting and the chunks handed to the worker), and the memory budget.
//!
//! Lock order: a shard before the ledger, shards in index order. Producers hold one
//! shard at a time; only [`Shared::stats`] holds all of them (to take an exact snapshot).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};

use tokio::sync::{oneshot, Notify};
use tokio::time::Instant;

use crate::batch::{Chunk, ChunkFull, RowBuffer};
use crate::dead_letter::FailedBatch;
use crate::decode::RowDecoder;
use crate::error::{BatchesFailed, Error, Result};
use crate::format::{EncodeError, Format};
use crate::outcome::Outcome;
use crate::position::Position;
use crate::row::{EncodeRow, Schema};
use crate::stats::{Count, Stats};
use crate::telemetry::Metrics;

/// Sizes that shape the producer side.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// The largest batch in bytes, and so the largest row.
    pub(crate) max_bytes: usize,
    /// A shard hands its chunk to the worker at this many bytes...
    pub(crate) chunk_bytes: usize,
    /// ...or this many rows.
    pub(crate) chunk_rows: usize,
    /// The memory bound: bytes accepted and not yet committed or failed.
    pub(crate) max_buffered: usize,
    /// How much of the budget a shard reserves at once.
    pub(crate) grant: usize,
    /// Rows with a position go to the shard of their stream (aligned batches), so that
    /// rows of one stream reach the worker in the order they were inserted.
    pub(crate) shard_by_stream: bool,
}

/// Why the batcher halts when more rows failed than `max_error_rows` allows.
pub(crate) const ERROR_BUDGET_USED: &str =
    "more rows failed than max_error_rows allows; the batcher accepts no more rows";

/// Keeps each shard on its own cache lines.
#[derive(Debug)]
#[repr(align(128))]
struct Padded<T>(T);

/// One producer shard: rows being encoded, not yet handed to the worker.
#[derive(Debug, Default)]
struct Shard {
    buf: RowBuffer,
    /// When the first row of `buf` was accepted.
    first_at: Option<Instant>,
    /// Budget reserved by this shard and not used yet.
    credit: usize,
    /// Every row ever accepted through this shard.
    accepted: Count,
    /// Set by the worker when the batcher closes; no row is accepted after.
    closed: bool,
    /// Receipts of rows in `buf`, by row index.
    receipts: Vec<(u32, oneshot::Sender<Outcome>)>,
}

/// A chunk handed to the worker, with the time its first row was accepted.
#[derive(Debug)]
pub(crate) struct Piece {
    pub(crate) chunk: Chunk,
    pub(crate) first_at: Instant,
    /// Receipts of rows in `chunk`, by row index.
    pub(crate) receipts: Vec<(u32, oneshot::Sender<Outcome>)>,
}

/// Accounting of the rows outside the shards, and the chunks handed to the worker.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    /// Chunks handed to the worker and not yet taken by it.
    pub(crate) incoming: Vec<Piece>,
    /// Set when a row lands in an empty shard, so that the worker arms its `max_wait`
    /// timer; cleared when the worker pulls every shard.
    pub(crate) unpulled_since: Option<Instant>,
    /// Rows handed to the worker whose outcome is not known: incoming, in the open
    /// batch, sealed and waiting, or being sent.
    pub(crate) worker: Count,
    pub(crate) committed: Count,
    pub(crate) failed: Count,
    /// The part of `failed` the destination may have written.
    pub(crate) possibly_persisted: Count,
    /// Why the batcher stopped on its own, if it did.
    pub(crate) halted: Option<&'static str>,
    pub(crate) batches_committed: u64,
    pub(crate) batches_failed: u64,
    pub(crate) retries: u64,
    pub(crate) in_flight: u64,
}

/// Why a row was not accepted (the caller attaches the row).
pub(crate) enum Refused {
    Closed,
    Halted(&'static str),
    Full,
    TooLarge { size: usize, limit: usize },
    Encode(EncodeError),
}

/// Truncates a buffer back to `start` when dropped armed (during a panic).
struct Rollback<'b> {
    buf: &'b mut Vec<u8>,
    start: usize,
    armed: bool,
}

impl Drop for Rollback<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.buf.truncate(self.start);
        }
    }
}

impl From<ChunkFull> for Refused {
    fn from(_: ChunkFull) -> Self {
        // max_bytes is at most 2 GiB and a shard hands its chunk over at 64 KiB, so a
        // chunk cannot reach 4 GiB; answer as if the row were too large anyway.
        Refused::TooLarge {
            size: usize::MAX,
            limit: u32::MAX as usize,
        }
    }
}

/// A locked shard: accepts rows without locking for each. Keep it for a few rows only
/// (never across an `.await`), since other producers and the worker may need the shard.
pub(crate) struct Producer<'a, F: Format> {
    shared: &'a Shared<F>,
    shard: MutexGuard<'a, Shard>,
}

impl<F: Format> Producer<'_, F> {
    /// Encodes and accepts one row.
    pub(crate) fn push<T: EncodeRow<F> + ?Sized>(&mut self, row: &T) -> Result<(), Refused> {
        self.shared
            .push_locked(&mut self.shard, row, None, false)
            .map(drop)
    }

    /// Encodes and accepts one row from `at`.
    pub(crate) fn push_at<T: EncodeRow<F> + ?Sized>(
        &mut self,
        row: &T,
        at: Position,
    ) -> Result<(), Refused> {
        self.shared
            .push_locked(&mut self.shard, row, Some(at), false)
            .map(drop)
    }
}

/// How a completed batch left the buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Settled {
    Committed,
    Failed { possibly_persisted: bool },
}

/// The state shared by every handle and the worker of one batcher.
#[derive(Debug)]
pub(crate) struct Shared<F: Format> {
    pub(crate) columns: std::sync::Arc<[F::Column]>,
    /// Reads rows back into values, for failed batches and dumps.
    pub(crate) decoder: RowDecoder,
    pub(crate) table: &'static str,
    /// The batcher's name ([`Builder::name`](crate::Builder::name)), a label of its
    /// metrics and spans.
    pub(crate) name: Arc<str>,
    pub(crate) limits: Limits,
    shards: Box<[Padded<Mutex<Shard>>]>,
    ledger: Mutex<Ledger>,
    /// Bytes reserved: rows in shards, shard credit, and rows held by the worker.
    reserved: AtomicUsize,
    /// Producers waiting for room.
    pub(crate) room: Notify,
    /// The worker: chunks arrived, a timer must be armed, or producers are waiting.
    pub(crate) wake: Notify,
    /// A producer is waiting for room.
    pub(crate) pressure: AtomicBool,
    /// `shards.len() - 1`; the number of shards is a power of two.
    mask: usize,
    /// `close` was called or every handle dropped: no row is accepted any more.
    pub(crate) closing: AtomicBool,
    /// The worker finished (after close, or when every handle was dropped).
    pub(crate) finished: AtomicBool,
    /// Failed batches the worker could not hand to anyone when it finished, for the next
    /// `flush` or `close`.
    leftover: Mutex<Vec<FailedBatch>>,
    pub(crate) metrics: Metrics,
}

impl<F: Format> Drop for Shared<F> {
    fn drop(&mut self) {
        let leftover = self
            .leftover
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        if !leftover.is_empty() {
            let rows: usize = leftover.iter().map(FailedBatch::rows).sum();
            tracing::error!(
                table = self.table,
                batches = leftover.len(),
                rows,
                "batchrow: the last handle was dropped before a flush or close returned these \
                 failed batches; they are counted as failed"
            );
        }
    }
}

/// A number for the current thread, assigned on first use.
fn thread_slot() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SLOT: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
    }
    SLOT.with(|slot| {
        let mut n = slot.get();
        if n == usize::MAX {
            n = NEXT.fetch_add(1, Ordering::Relaxed);
            slot.set(n);
        }
        n
    })
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic never leaves shard or ledger state half-updated (an encoder's partial row
    // is rolled back, and nothing else under these locks can panic), so a poisoned lock
    // is safe to use.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<F: Format> Shared<F> {
    /// `shards` is rounded up to a power of two.
    pub(crate) fn new(
        columns: Vec<F::Column>,
        schema: Schema,
        name: Arc<str>,
        limits: Limits,
        shards: usize,
    ) -> Self {
        let table = schema.table;
        let columns: std::sync::Arc<[F::Column]> = columns.into();
        let decoder = RowDecoder::new::<F>(columns.clone(), schema);
        let shards = shards.max(1).checked_next_power_of_two().unwrap_or(1);
        Shared {
            columns,
            decoder,
            table,
            limits,
            shards: (0..shards)
                .map(|_| Padded(Mutex::new(Shard::default())))
                .collect(),
            mask: shards - 1,
            ledger: Mutex::new(Ledger::default()),
            reserved: AtomicUsize::new(0),
            room: Notify::new(),
            wake: Notify::new(),
            pressure: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            leftover: Mutex::new(Vec::new()),
            metrics: Metrics::new(table, &name),
            name,
        }
    }

    pub(crate) fn ledger(&self) -> MutexGuard<'_, Ledger> {
        lock(&self.ledger)
    }

    /// Locks the shard of the current thread, or a free one nearby when it is busy.
    ///
    /// Shards are picked by thread, not by handle: a task runs on one thread at a time
    /// and never holds a shard across an await, so with at least as many shards as
    /// threads producers do not contend, and each shard stays in one core's cache.
    fn lock_shard(&self) -> MutexGuard<'_, Shard> {
        let slot = thread_slot();
        for i in 0..4 {
            match self.shards[(slot + i) & self.mask].0.try_lock() {
                Ok(guard) => return guard,
                Err(TryLockError::Poisoned(p)) => return p.into_inner(),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        lock(&self.shards[slot & self.mask].0)
    }

    /// Encodes and accepts one row.
    pub(crate) fn push<T: EncodeRow<F> + ?Sized>(&self, row: &T) -> Result<(), Refused> {
        let mut shard = self.lock_shard();
        self.push_locked(&mut shard, row, None, false).map(drop)
    }

    /// Locks the shard of stream `at`'s rows with aligned batches, or else as
    /// [`lock_shard`](Shared::lock_shard).
    fn lock_shard_for(&self, at: Option<Position>) -> MutexGuard<'_, Shard> {
        match at {
            Some(at) if self.limits.shard_by_stream => {
                // Fibonacci hashing spreads consecutive stream numbers over the shards.
                let hash = at.stream.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
                let index = usize::try_from(hash).unwrap_or(0) & self.mask;
                lock(&self.shards[index].0)
            }
            _ => self.lock_shard(),
        }
    }

    /// Encodes and accepts one row, maybe from a position, maybe with a receipt.
    pub(crate) fn push_tagged<T: EncodeRow<F> + ?Sized>(
        &self,
        row: &T,
        at: Option<Position>,
        receipt: bool,
    ) -> Result<Option<oneshot::Receiver<Outcome>>, Refused> {
        let mut shard = self.lock_shard_for(at);
        self.push_locked(&mut shard, row, at, receipt)
    }

    /// Locks a shard for several rows in a row (see [`Producer`]), the shard of
    /// `at`'s stream with aligned batches.
    pub(crate) fn producer(&self, at: Option<Position>) -> Producer<'_, F> {
        Producer {
            shared: self,
            shard: self.lock_shard_for(at),
        }
    }

    fn push_locked<T: EncodeRow<F> + ?Sized>(
        &self,
        shard: &mut Shard,
        row: &T,
        at: Option<Position>,
        receipt: bool,
    ) -> Result<Option<oneshot::Receiver<Outcome>>, Refused> {
        if shard.closed {
            return Err(match self.ledger().halted {
                Some(reason) if reason == ERROR_BUDGET_USED => Refused::Halted(reason),
                _ => Refused::Closed,
            });
        }
        let credit = shard.credit;
        let mut granted = 0;
        let columns = &*self.columns;
        let max_bytes = self.limits.max_bytes;
        let write = |buf: &mut Vec<u8>| {
            let start = buf.len();
            // If the encoder panics, the guard removes its partial row as the panic
            // unwinds (the shard lock is then poisoned, which `lock` ignores).
            let mut guard = Rollback {
                buf,
                start,
                armed: true,
            };
            let encoded = row.encode_row(columns, guard.buf);
            guard.armed = false;
            let buf = &mut *guard.buf;
            if let Err(e) = encoded {
                return Err(Refused::Encode(e));
            }
            let size = buf.len() - start;
            if size > max_bytes {
                return Err(Refused::TooLarge {
                    size,
                    limit: max_bytes,
                });
            }
            if size > credit {
                granted = self.reserve(size - credit)?;
            }
            Ok(())
        };
        let size = match at {
            Some(at) => shard.buf.push_row_at(at, write)?,
            None => shard.buf.push_row(write)?,
        };
        let waiting = receipt.then(|| {
            let (tx, rx) = oneshot::channel();
            let row = u32::try_from(shard.buf.rows() - 1).unwrap_or(u32::MAX);
            shard.receipts.push((row, tx));
            rx
        });
        shard.credit = (credit + granted).saturating_sub(size);
        shard.accepted += Count::of(1, size);
        if shard.first_at.is_none() {
            let now = Instant::now();
            shard.first_at = Some(now);
            self.arm(now);
        }
        if shard.buf.len() >= self.limits.chunk_bytes || shard.buf.rows() >= self.limits.chunk_rows
        {
            self.hand_off(shard, false, true);
        }
        Ok(waiting)
    }

    /// Reserves at least `need` bytes of the budget (more, up to a grant, when there is
    /// room). Succeeds while the budget is not used up, so the bound is exceeded by at
    /// most one row.
    fn reserve(&self, need: usize) -> Result<usize, Refused> {
        let max = self.limits.max_buffered;
        let want = need.max(self.limits.grant);
        let mut current = self.reserved.load(Ordering::Relaxed);
        loop {
            if current >= max {
                return Err(Refused::Full);
            }
            let grant = if current.saturating_add(want) <= max {
                want
            } else {
                need.max(max - current)
            };
            match self.reserved.compare_exchange_weak(
                current,
                current.saturating_add(grant),
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(grant),
                Err(actual) => current = actual,
            }
        }
    }

    /// Whether a row would be accepted now (the budget is not used up).
    pub(crate) fn has_room(&self) -> bool {
        self.reserved.load(Ordering::Acquire) < self.limits.max_buffered
    }

    /// Returns `bytes` to the budget and wakes producers waiting for room.
    pub(crate) fn release(&self, bytes: usize) {
        if bytes == 0 {
            return;
        }
        // `fetch_update` with a closure that always returns `Some` cannot fail.
        let _ = self
            .reserved
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |r| {
                Some(r.saturating_sub(bytes))
            });
        self.room.notify_waiters();
    }

    /// Tells the worker that a row landed in an empty shard (arms its timer).
    fn arm(&self, now: Instant) {
        let mut ledger = self.ledger();
        if ledger.unpulled_since.is_none() {
            ledger.unpulled_since = Some(now);
            drop(ledger);
            self.wake.notify_one();
        }
    }

    /// Hands the shard's rows to the worker; with `reclaim`, also returns its credit.
    fn hand_off(&self, shard: &mut Shard, reclaim: bool, notify: bool) {
        if !shard.buf.is_empty() {
            let first_at = shard.first_at.take().unwrap_or_else(Instant::now);
            // The next chunk gets room for its hand-off size and a row beyond it, no more:
            // memory in chunks stays close to the bytes the budget counts.
            let chunk = shard.buf.take_reserving(
                self.limits.chunk_bytes + self.limits.chunk_bytes / 16,
                self.limits.chunk_rows,
            );
            let count = Count::of(chunk.rows(), chunk.len());
            {
                let mut ledger = self.ledger();
                ledger.incoming.push(Piece {
                    chunk,
                    first_at,
                    receipts: std::mem::take(&mut shard.receipts),
                });
                ledger.worker += count;
            }
            self.metrics.rows_accepted.increment(count.rows);
            if notify {
                self.wake.notify_one();
            }
        }
        if reclaim {
            let credit = std::mem::take(&mut shard.credit);
            self.release(credit);
        }
    }

    /// Moves the rows of every shard to the worker's incoming list and returns all
    /// shard credit to the budget. With `close`, no shard accepts a row afterwards.
    pub(crate) fn pull_all(&self, close: bool) {
        self.ledger().unpulled_since = None;
        for shard in self.shards.iter() {
            let mut shard = lock(&shard.0);
            if close {
                shard.closed = true;
            }
            self.hand_off(&mut shard, true, false);
        }
    }

    /// Takes the chunks handed to the worker.
    pub(crate) fn take_incoming(&self, into: &mut Vec<Piece>) {
        std::mem::swap(&mut self.ledger().incoming, into);
    }

    /// Records the outcome of a batch (or part of one). Its bytes stay reserved until
    /// [`release`](Shared::release)d: a failed batch held for the next flush or close
    /// keeps them.
    pub(crate) fn settle(&self, count: Count, how: Settled) {
        {
            let mut ledger = self.ledger();
            ledger.worker -= count;
            match how {
                Settled::Committed => {
                    ledger.committed += count;
                    ledger.batches_committed += 1;
                }
                Settled::Failed { possibly_persisted } => {
                    ledger.failed += count;
                    ledger.batches_failed += 1;
                    if possibly_persisted {
                        ledger.possibly_persisted += count;
                    }
                }
            }
        }
        match how {
            Settled::Committed => self.metrics.committed(count),
            Settled::Failed { .. } => self.metrics.failed(count),
        }
    }

    /// Reserves `bytes` for a sink's send if they fit in the budget, or in any case with
    /// `force`.
    pub(crate) fn reserve_for_send(&self, bytes: usize, force: bool) -> bool {
        if bytes == 0 {
            return true;
        }
        let max = self.limits.max_buffered;
        let mut current = self.reserved.load(Ordering::Relaxed);
        loop {
            if !force && current.saturating_add(bytes) > max {
                return false;
            }
            match self.reserved.compare_exchange_weak(
                current,
                current.saturating_add(bytes),
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => current = actual,
            }
        }
    }

    /// Stops accepting rows because the worker is gone: every shard refuses rows, and
    /// every producer waiting for room wakes up to see it.
    pub(crate) fn halt(&self, reason: &'static str) {
        self.ledger().halted = Some(reason);
        self.closing.store(true, Ordering::Release);
        for shard in self.shards.iter() {
            lock(&shard.0).closed = true;
        }
        self.room.notify_waiters();
        self.wake.notify_waiters();
    }

    /// Keeps failed batches for a `flush` or `close` after the worker finished.
    pub(crate) fn keep_failed(&self, batches: Vec<FailedBatch>) {
        if !batches.is_empty() {
            lock(&self.leftover).extend(batches);
        }
    }

    /// The answer to a `flush` or `close` once the worker is gone: the failed batches it
    /// kept, or the stats (an error if the worker stopped without finishing).
    pub(crate) fn report_after_worker(&self) -> Result<Stats> {
        let stats = self.stats();
        let batches = std::mem::take(&mut *lock(&self.leftover));
        if !batches.is_empty() {
            let bytes = batches.iter().map(|b| b.batch().len()).sum();
            self.release(bytes);
            return Err(Error::Failed(Box::new(BatchesFailed { batches, stats })));
        }
        if let Some(reason) = stats.halted.filter(|r| *r == ERROR_BUDGET_USED) {
            Err(Error::Halted {
                reason,
                stats: Box::new(stats),
            })
        } else if self.finished.load(Ordering::Acquire) {
            Ok(stats)
        } else {
            Err(Error::Stopped {
                stats: Box::new(stats),
            })
        }
    }

    /// Answers a `flush` or `close` that reached the worker after it finished.
    pub(crate) fn answer_after_finish(&self, reply: tokio::sync::oneshot::Sender<Result<Stats>>) {
        if let Err(Err(Error::Failed(failed))) = reply.send(self.report_after_worker()) {
            // The caller is gone too: keep them for the next one.
            let bytes: usize = failed.batches.iter().map(|b| b.batch().len()).sum();
            if self.reserve_for_send(bytes, true) {
                self.keep_failed(failed.batches);
            }
        }
    }

    /// An exact snapshot of the accounting.
    pub(crate) fn stats(&self) -> Stats {
        let shards: Vec<MutexGuard<'_, Shard>> = self.shards.iter().map(|s| lock(&s.0)).collect();
        let ledger = self.ledger();
        let mut accepted = Count::default();
        let mut in_shards = Count::default();
        for shard in &shards {
            accepted += shard.accepted;
            in_shards += Count::of(shard.buf.rows(), shard.buf.len());
        }
        Stats {
            accepted,
            committed: ledger.committed,
            failed: ledger.failed,
            possibly_persisted: ledger.possibly_persisted,
            halted: ledger.halted,
            in_buffer: in_shards + ledger.worker,
            batches_committed: ledger.batches_committed,
            batches_failed: ledger.batches_failed,
            retries: ledger.retries,
            in_flight: ledger.in_flight,
        }
    }

    /// The rows in producer shards and in chunks handed to the worker and not yet
    /// taken, oldest first, as chunks (the shards' rows copied). Every shard and the
    /// ledger are locked together, so no row is seen twice or missed while it moves.
    pub(crate) fn snapshot_rows(&self) -> Vec<Chunk> {
        let shards: Vec<MutexGuard<'_, Shard>> = self.shards.iter().map(|s| lock(&s.0)).collect();
        let ledger = self.ledger();
        let mut out: Vec<Chunk> = ledger.incoming.iter().map(|p| p.chunk.clone()).collect();
        out.extend(
            shards
                .iter()
                .filter(|s| !s.buf.is_empty())
                .map(|s| s.buf.snapshot()),
        );
        out
    }

    /// Whether the worker has nothing left to take.
    pub(crate) fn incoming_is_empty(&self) -> bool {
        self.ledger().incoming.is_empty()
    }
}
