//! The producer side: picking and locking a shard, encoding a row into it, and handing
//! a shard's rows to the worker.

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::{thread_slot, Piece, Shard, ShardGuard, Shared, ERROR_BUDGET_USED};
use crate::batch::ChunkFull;
use crate::format::{EncodeError, Format};
use crate::outcome::Outcome;
use crate::position::Position;
use crate::row::EncodeRow;
use crate::stats::Count;

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
    shard: ShardGuard<'a>,
}

impl<F: Format> Producer<'_, F> {
    /// Encodes and accepts one row.
    pub(crate) fn push<T: EncodeRow<F> + ?Sized>(&mut self, row: &T) -> Result<(), Refused> {
        self.shared.push_locked(&mut self.shard, row, None, |_| {})
    }

    /// Encodes and accepts one row from `at`.
    pub(crate) fn push_at<T: EncodeRow<F> + ?Sized>(
        &mut self,
        row: &T,
        at: Position,
    ) -> Result<(), Refused> {
        self.shared
            .push_locked(&mut self.shard, row, Some(at), |_| {})
    }
}

/// A receipt for the shard's last row.
#[inline(never)]
fn receipt_for_last(shard: &mut Shard) -> oneshot::Receiver<Outcome> {
    let (tx, rx) = oneshot::channel();
    let row = u32::try_from(shard.buf.rows() - 1).unwrap_or(u32::MAX);
    shard.receipts.push((row, tx));
    rx
}

impl<F: Format> Shared<F> {
    /// Locks the shard of the current thread, or a free one nearby when it is busy.
    ///
    /// Shards are picked by thread, not by handle: a task runs on one thread at a time
    /// and never holds a shard across an await, so with at least as many shards as
    /// threads producers do not contend, and each shard stays in one core's cache.
    #[inline(always)]
    fn lock_shard(&self) -> ShardGuard<'_> {
        let slot = thread_slot();
        for i in 0..4 {
            if let Some(guard) = self.shards[(slot + i) & self.mask].0.try_lock() {
                return guard;
            }
        }
        self.shards[slot & self.mask].0.lock()
    }

    /// Encodes and accepts one row.
    #[inline(always)]
    pub(crate) fn push<T: EncodeRow<F> + ?Sized>(&self, row: &T) -> Result<(), Refused> {
        let mut shard = self.lock_shard();
        self.push_locked(&mut shard, row, None, |_| {})
    }

    /// Locks the shard of stream `at`'s rows with aligned batches, or else as
    /// [`lock_shard`](Shared::lock_shard).
    fn lock_shard_for(&self, at: Option<Position>) -> ShardGuard<'_> {
        match at {
            Some(at) if self.limits.shard_by_stream => {
                // Fibonacci hashing spreads consecutive stream numbers over the shards.
                let hash = at.stream.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
                let index = usize::try_from(hash).unwrap_or(0) & self.mask;
                self.shards[index].0.lock()
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
        let mut waiting = None;
        self.push_locked(&mut shard, row, at, |shard| {
            if receipt {
                waiting = Some(receipt_for_last(shard));
            }
        })?;
        Ok(waiting)
    }

    /// Locks a shard for several rows in a row (see [`Producer`]), the shard of
    /// `at`'s stream with aligned batches.
    pub(crate) fn producer(&self, at: Option<Position>) -> Producer<'_, F> {
        Producer {
            shared: self,
            shard: self.lock_shard_for(at),
        }
    }

    // Inlined into each caller: the path of a plain row is then one function with the
    // encoder. `tag` runs once the row is in (before the shard may hand its chunk over).
    #[inline(always)]
    fn push_locked<T: EncodeRow<F> + ?Sized>(
        &self,
        shard: &mut Shard,
        row: &T,
        at: Option<Position>,
        tag: impl FnOnce(&mut Shard),
    ) -> Result<(), Refused> {
        if shard.closed {
            return Err(self.refusal_when_closed());
        }
        let credit = shard.credit;
        let buf = shard.buf.bytes_mut();
        let start = buf.len();
        // If the encoder panics, the guard removes its partial row as the panic unwinds,
        // and the shard is unlocked as it was before the row (its lock has no poisoning).
        let mut guard = Rollback {
            buf,
            start,
            armed: true,
        };
        let encoded = row.encode_row(&self.columns, guard.buf);
        guard.armed = false;
        let size = guard.buf.len() - start;
        let mut granted = 0;
        let checked = match encoded {
            Err(e) => Err(Refused::Encode(e)),
            Ok(()) if size > self.limits.max_bytes => Err(Refused::TooLarge {
                size,
                limit: self.limits.max_bytes,
            }),
            Ok(()) if size > credit => self.reserve(size - credit).map(|g| granted = g),
            Ok(()) => Ok(()),
        };
        if let Err(refused) = checked {
            guard.buf.truncate(start);
            return Err(refused);
        }
        drop(guard);
        if let Err(full) = shard.buf.end_row(start, at) {
            shard.credit = credit + granted;
            return Err(full.into());
        }
        tag(shard);
        shard.credit = (credit + granted).saturating_sub(size);
        if shard.first_at.is_none() {
            self.first_row(shard);
        }
        if shard.buf.len() >= self.limits.chunk_bytes || shard.buf.rows() >= self.limits.chunk_rows
        {
            self.hand_off(shard, false, true);
        }
        Ok(())
    }

    /// Why a closed shard refuses rows.
    #[cold]
    #[inline(never)]
    fn refusal_when_closed(&self) -> Refused {
        match self.ledger().halted {
            Some(reason) if reason == ERROR_BUDGET_USED => Refused::Halted(reason),
            _ => Refused::Closed,
        }
    }

    /// Notes when the first row of a shard's chunk arrived, and arms the worker's timer.
    #[inline(never)]
    fn first_row(&self, shard: &mut Shard) {
        let now = Instant::now();
        shard.first_at = Some(now);
        self.arm(now);
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
            shard.handed += count;
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
            let mut shard = shard.0.lock();
            if close {
                shard.closed = true;
            }
            self.hand_off(&mut shard, true, false);
        }
    }
}
