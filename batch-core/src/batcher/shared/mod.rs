//! The state producers and the worker share: the producer shards where rows are encoded,
//! the ledger (accounting and the chunks handed to the worker), and the memory budget.
//!
//! Lock order: a shard before the ledger, shards in index order. Producers hold one
//! shard at a time; only [`Shared::stats`] holds all of them (to take an exact snapshot).

mod accounts;
mod budget;
mod produce;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::{oneshot, Notify};
use tokio::time::Instant;

use crate::batch::{Chunk, RowBuffer};
use crate::dead_letter::FailedBatch;
use crate::decode::RowDecoder;
use crate::format::Format;
use crate::outcome::Outcome;
use crate::row::Schema;
use crate::stats::Count;
use crate::telemetry::Metrics;

pub(crate) use produce::Refused;

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

/// The lock of a producer shard.
type ShardLock = parking_lot::Mutex<Shard>;
/// A locked producer shard.
type ShardGuard<'a> = parking_lot::MutexGuard<'a, Shard>;

/// One producer shard: rows being encoded, not yet handed to the worker.
#[derive(Debug, Default)]
struct Shard {
    buf: RowBuffer,
    /// When the first row of `buf` was accepted.
    first_at: Option<Instant>,
    /// Budget reserved by this shard and not used yet.
    credit: usize,
    /// Every row this shard handed to the worker. With the rows in `buf`, every row
    /// ever accepted through it (counted per chunk, not per row).
    handed: Count,
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
    shards: Box<[Padded<ShardLock>]>,
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
#[inline(always)]
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
                .map(|_| Padded(ShardLock::new(Shard::default())))
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

    /// Takes the chunks handed to the worker.
    pub(crate) fn take_incoming(&self, into: &mut Vec<Piece>) {
        std::mem::swap(&mut self.ledger().incoming, into);
    }

    /// Stops accepting rows because the worker is gone: every shard refuses rows, and
    /// every producer waiting for room wakes up to see it.
    pub(crate) fn halt(&self, reason: &'static str) {
        self.ledger().halted = Some(reason);
        self.closing.store(true, Ordering::Release);
        for shard in self.shards.iter() {
            shard.0.lock().closed = true;
        }
        self.room.notify_waiters();
        self.wake.notify_waiters();
    }

    /// Whether the worker has nothing left to take.
    pub(crate) fn incoming_is_empty(&self) -> bool {
        self.ledger().incoming.is_empty()
    }
}
