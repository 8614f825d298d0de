//! Where failed batches go: the dead-letter handler, or held for the next `flush` or
//! `close`. Held batches keep their bytes reserved in `max_buffered_bytes` until they
//! are handed over, so failures cannot pile up in memory without bound: producers wait
//! (backpressure) instead.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::dead_letter::FailedBatch;

/// The dead-letter handler.
pub(crate) type DeadLetter = Box<dyn FnMut(FailedBatch) + Send>;

/// Failed batches on their way to the user.
pub(super) struct Reporter {
    dead_letter: Option<DeadLetter>,
    held: Vec<FailedBatch>,
}

impl std::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reporter")
            .field("dead_letter", &self.dead_letter.is_some())
            .field("held", &self.held.len())
            .finish()
    }
}

/// Where a failed batch went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Delivery {
    /// The dead-letter handler took it: its bytes can be released.
    Handled,
    /// Held for the next flush or close (no handler, or the handler panicked).
    Held,
}

impl Reporter {
    pub(super) fn new(dead_letter: Option<DeadLetter>) -> Self {
        Reporter {
            dead_letter,
            held: Vec::new(),
        }
    }

    pub(super) fn has_handler(&self) -> bool {
        self.dead_letter.is_some()
    }

    /// Hands `failed` to the dead-letter handler, or holds it.
    pub(super) fn report(&mut self, failed: FailedBatch) -> Delivery {
        if let Some(handler) = &mut self.dead_letter {
            let copy = failed.clone();
            if catch_unwind(AssertUnwindSafe(|| handler(copy))).is_ok() {
                return Delivery::Handled;
            }
            tracing::error!(
                batch.id = failed.batch().id(),
                "batchrow: the dead-letter handler panicked; the batch will be returned by \
                 the next flush or close instead"
            );
        }
        self.held.push(failed);
        Delivery::Held
    }

    /// Takes the held batches, to hand them to a caller.
    pub(super) fn take(&mut self) -> Vec<FailedBatch> {
        std::mem::take(&mut self.held)
    }

    /// Puts back batches a caller did not receive (its future was dropped), in front of
    /// any held since.
    pub(super) fn put_back(&mut self, mut batches: Vec<FailedBatch>) {
        batches.append(&mut self.held);
        self.held = batches;
    }

    #[cfg(test)]
    pub(super) fn is_empty(&self) -> bool {
        self.held.is_empty()
    }
}

/// The encoded bytes of `batches`.
pub(super) fn bytes_of(batches: &[FailedBatch]) -> usize {
    batches.iter().map(|b| b.batch().len()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::{Batch, ChunkFull, RowBuffer};
    use crate::dead_letter::FailureCause;
    use std::sync::{Arc, Mutex};

    fn failed(id: u64) -> FailedBatch {
        let mut buf = RowBuffer::default();
        buf.push_row(|b| {
            b.extend_from_slice(b"row");
            Ok::<_, ChunkFull>(())
        })
        .unwrap();
        FailedBatch::new(
            Batch::new(id, vec![buf.take()]),
            FailureCause::Internal {
                message: "test".into(),
            },
            1,
        )
    }

    #[test]
    fn without_a_handler_batches_are_held_and_put_back_in_order() {
        let mut r = Reporter::new(None);
        assert!(!r.has_handler());
        assert_eq!(r.report(failed(1)), Delivery::Held);
        let taken = r.take();
        assert!(r.is_empty());
        assert_eq!(r.report(failed(2)), Delivery::Held);
        r.put_back(taken);
        let ids: Vec<u64> = r.take().iter().map(|f| f.batch().id()).collect();
        assert_eq!(ids, [1, 2]);
        assert_eq!(bytes_of(&[failed(3), failed(4)]), 6);
    }

    #[test]
    fn a_handler_takes_them_and_a_panicking_one_falls_back_to_holding() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let mut r = Reporter::new(Some(Box::new(move |f: FailedBatch| {
            assert!(f.batch().id() != 9, "the handler refuses batch 9");
            s.lock().unwrap().push(f.batch().id());
        })));
        assert_eq!(r.report(failed(1)), Delivery::Handled);
        assert_eq!(r.report(failed(9)), Delivery::Held);
        assert_eq!(*seen.lock().unwrap(), [1]);
        assert_eq!(r.take().len(), 1);
    }
}
