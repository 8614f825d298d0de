//! Settling deliveries: commits (receipts, the commit hook), failures (the bisection,
//! the dead-letter handler or the held batches, the error budget), and the answers to
//! flushes and closes.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::batcher::shared::{Settled, ERROR_BUDGET_USED};
use crate::dead_letter::{FailedBatch, FailureCause};
use crate::error::{BatchesFailed, Error};
use crate::outcome::{CommittedBatch, Outcome};
use crate::sink::{Sender, SinkErrorKind};
use crate::stats::Count;

use super::bisect::{self, News, Signature};
use super::report::{bytes_of, Delivery};
use super::{Failed, Reply, Sealed, Worker};

impl<S: Sender> Worker<S> {
    pub(super) fn commit(&mut self, sealed: Sealed, attempts: u32) {
        let count = Count::of(sealed.batch.rows(), sealed.batch.len());
        self.shared.settle(count, Settled::Committed);
        for (_, tx) in sealed.receipts {
            let _ = tx.send(Outcome::Committed {
                batch: sealed.batch.id(),
            });
        }
        if let Some(hook) = &mut self.on_commit {
            let committed = CommittedBatch {
                id: sealed.batch.id(),
                range: sealed.batch.range(),
                rows: sealed.batch.rows(),
                bytes: sealed.batch.len(),
                attempts,
                positions: sealed.batch.positions(),
            };
            if catch_unwind(AssertUnwindSafe(|| hook(&committed))).is_err() {
                tracing::error!(
                    table = self.shared.table,
                    batch.id = committed.id,
                    "batchrow: the on_commit hook panicked"
                );
            }
        }
        self.shared.release(sealed.batch.len());
        self.part_settled(sealed.seq);
    }

    pub(super) fn part_settled(&mut self, seq: u64) {
        if self.barriers.settle(seq) {
            self.bisector.forget(seq);
        }
    }

    /// Whether a failure may be split to isolate bad rows.
    pub(super) fn bisectable(&self, sealed: &Sealed, cause: &FailureCause) -> bool {
        self.config.isolate_bad_rows
            && sealed.batch.rows() > 1
            && matches!(cause, FailureCause::Rejected(e)
                if e.kind() == SinkErrorKind::Permanent && e.is_caused_by_data())
            && !self.closing.as_ref().is_some_and(|c| c.deadline_passed)
    }

    /// A part failed: its pair may hold it or fail it with its sibling; otherwise it is
    /// isolated or failed.
    pub(super) fn on_failure(&mut self, failed: Failed) {
        let Some(pair) = failed.0.pair else {
            self.isolate(failed);
            return;
        };
        let signature = failed
            .1
            .sink_error()
            .filter(|_| self.bisectable(&failed.0, &failed.1))
            .map(|e| (Signature::of(e), e.row()));
        match self
            .bisector
            .report(pair, signature.as_ref().map(|(s, r)| (s, *r)))
        {
            News::Hold => self.bisector.hold(pair, failed),
            News::BothFailed(sibling) => {
                tracing::warn!(
                    table = self.shared.table,
                    batch.id = failed.0.batch.id(),
                    "batchrow: both halves failed with their parent's error and no row; the \
                     error is not about one row, so they fail without more splits"
                );
                self.fail(sibling);
                self.fail(failed);
            }
            News::Release(sibling) => {
                self.isolate(sibling);
                self.isolate(failed);
            }
            News::Nothing => self.isolate(failed),
        }
    }

    /// Splits a part the sink refused because of its rows (see [`bisect`]); fails it
    /// otherwise.
    pub(super) fn isolate(&mut self, failed: Failed) {
        let (sealed, cause, attempts) = failed;
        if !self.bisectable(&sealed, &cause) {
            self.fail((sealed, cause, attempts));
            return;
        }
        if !self.bisector.may_split(sealed.seq) {
            tracing::warn!(
                table = self.shared.table,
                batch.id = sealed.batch.id(),
                sends = self.bisector.sends(sealed.seq),
                "batchrow: the batch reached its cap of sends while isolating bad rows; \
                 failing the rest of it"
            );
            self.fail((sealed, cause, attempts));
            return;
        }
        let Some(error) = cause.sink_error() else {
            self.fail((sealed, cause, attempts));
            return;
        };
        let rows = sealed.batch.rows();
        let plan = bisect::plan(rows, error.row());
        tracing::info!(
            table = self.shared.table,
            batch.id = sealed.batch.id(),
            batch.rows = rows,
            bad_row = error.row(),
            "batchrow: the sink refused rows of a batch; splitting it to isolate them"
        );
        let pair = plan
            .halves
            .then(|| self.bisector.pair(Signature::of(error)));
        let mut sealed = sealed;
        let seq = sealed.seq;
        self.bisector.planned(seq, plan.resend.len());
        self.barriers
            .open(seq, plan.resend.len() + usize::from(plan.bad.is_some()));
        let parts: Vec<Sealed> = plan
            .resend
            .into_iter()
            .map(|range| sealed.part(range, pair))
            .collect();
        for part in parts.into_iter().rev() {
            self.ready.push_front(part);
        }
        if let Some(bad) = plan.bad {
            let part = sealed.part(bad, None);
            self.fail((part, cause, attempts));
        }
        self.part_settled(seq);
    }

    pub(super) fn fail(&mut self, failed: Failed) {
        let (sealed, cause, attempts) = failed;
        let count = Count::of(sealed.batch.rows(), sealed.batch.len());
        let possibly_persisted = cause.is_possibly_persisted();
        self.shared
            .settle(count, Settled::Failed { possibly_persisted });
        tracing::error!(
            table = self.shared.table,
            batch.id = sealed.batch.id(),
            batch.rows = sealed.batch.rows(),
            batch.bytes = sealed.batch.len(),
            attempts,
            possibly_persisted,
            error = %cause,
            dead_letter = self.reporter.has_handler(),
            "batchrow: a batch failed for good"
        );
        let bytes = sealed.batch.len();
        let seq = sealed.seq;
        for (row, tx) in sealed.receipts {
            let row = sealed
                .batch
                .row(row)
                .map_or_else(bytes::Bytes::new, bytes::Bytes::copy_from_slice);
            let cause = cause.clone();
            let _ = tx.send(if possibly_persisted {
                Outcome::PossiblyPersisted {
                    cause: Some(cause),
                    row,
                }
            } else {
                Outcome::Failed { cause, row }
            });
        }
        if self.reporter.report(
            FailedBatch::new(sealed.batch, cause, attempts)
                .with_decoder(self.shared.decoder.clone()),
        ) == Delivery::Handled
        {
            self.shared.release(bytes);
        }
        // Held batches keep their bytes reserved until a flush or close hands them over.
        self.part_settled(seq);
        self.check_error_budget();
    }

    /// Halts the batcher when more rows failed than `max_error_rows` allows: no more rows
    /// are accepted; those accepted are still delivered.
    pub(super) fn check_error_budget(&self) {
        let Some(max) = self.config.max_error_rows else {
            return;
        };
        let failed = self.shared.ledger().failed.rows;
        if failed > max
            && !self
                .shared
                .closing
                .load(std::sync::atomic::Ordering::Acquire)
        {
            tracing::error!(
                table = self.shared.table,
                failed,
                max_error_rows = max,
                "batchrow: more rows failed than max_error_rows allows; halting: no more \
                 rows are accepted, those accepted are still delivered"
            );
            self.shared.halt(ERROR_BUDGET_USED);
        }
    }

    /// Answers the flushes whose batches have all been settled.
    pub(super) fn answer_flushes(&mut self) {
        for reply in self.barriers.passed() {
            self.answer(reply);
        }
    }

    /// Answers a flush or close: the stats, or the failed batches held so far. If the
    /// caller is gone (its future was dropped), they are kept for the next one.
    pub(super) fn answer(&mut self, reply: Reply) {
        let stats = self.shared.stats();
        let batches = self.reporter.take();
        if batches.is_empty() {
            let _ = reply.send(match stats.halted {
                Some(reason) if reason == ERROR_BUDGET_USED => Err(Error::Halted {
                    reason,
                    stats: Box::new(stats),
                }),
                _ => Ok(stats),
            });
            return;
        }
        let bytes = bytes_of(&batches);
        match reply.send(Err(Error::Failed(Box::new(BatchesFailed {
            batches,
            stats,
        })))) {
            Ok(()) => self.shared.release(bytes),
            Err(Err(Error::Failed(failed))) => self.reporter.put_back(failed.batches),
            Err(_) => {}
        }
    }
}
