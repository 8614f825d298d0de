//! The accounting: outcomes of batches, failed batches kept for a later `flush` or
//! `close`, exact snapshots of the counts and of the rows not yet sent.

use std::sync::atomic::Ordering;

use super::{lock, Settled, ShardGuard, Shared, ERROR_BUDGET_USED};
use crate::batch::Chunk;
use crate::dead_letter::FailedBatch;
use crate::error::{BatchesFailed, Error, Result};
use crate::format::Format;
use crate::stats::{Count, Stats};

impl<F: Format> Shared<F> {
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
        let shards: Vec<ShardGuard<'_>> = self.shards.iter().map(|s| s.0.lock()).collect();
        let ledger = self.ledger();
        let mut accepted = Count::default();
        let mut in_shards = Count::default();
        for shard in &shards {
            let held = Count::of(shard.buf.rows(), shard.buf.len());
            accepted += shard.handed;
            accepted += held;
            in_shards += held;
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
        let shards: Vec<ShardGuard<'_>> = self.shards.iter().map(|s| s.0.lock()).collect();
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
}
