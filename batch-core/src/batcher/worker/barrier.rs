//! Flush barriers: a flush waits for every batch sealed before it (and every part a
//! bisected batch was split into) to be settled.

use std::collections::BTreeMap;

/// Unfinished batches by sequence, and the waiters for each barrier.
#[derive(Debug)]
pub(super) struct Barriers<T> {
    /// Parts not settled yet, by the sequence of the batch they belong to.
    unfinished: BTreeMap<u64, usize>,
    /// Waiters for every batch sealed before `.0` to be settled.
    waiting: Vec<(u64, T)>,
}

impl<T> Default for Barriers<T> {
    fn default() -> Self {
        Barriers {
            unfinished: BTreeMap::new(),
            waiting: Vec::new(),
        }
    }
}

impl<T> Barriers<T> {
    /// `parts` more parts of batch `seq` are on their way.
    pub(super) fn open(&mut self, seq: u64, parts: usize) {
        if parts > 0 {
            *self.unfinished.entry(seq).or_default() += parts;
        }
    }

    /// One part of batch `seq` was settled; returns whether the whole batch is.
    pub(super) fn settle(&mut self, seq: u64) -> bool {
        let Some(n) = self.unfinished.get_mut(&seq) else {
            return true;
        };
        *n = n.saturating_sub(1);
        if *n == 0 {
            self.unfinished.remove(&seq);
            return true;
        }
        false
    }

    /// Waits for every batch with a sequence below `before`.
    pub(super) fn wait(&mut self, before: u64, waiter: T) {
        self.waiting.push((before, waiter));
    }

    /// The waiters whose batches are all settled.
    pub(super) fn passed(&mut self) -> Vec<T> {
        if self.waiting.is_empty() {
            return Vec::new();
        }
        let oldest = self.unfinished.keys().next().copied().unwrap_or(u64::MAX);
        let (done, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|(before, _)| *before <= oldest);
        self.waiting = waiting;
        done.into_iter().map(|(_, w)| w).collect()
    }

    /// Every waiter, passed or not (when the worker stops).
    pub(super) fn take_all(&mut self) -> Vec<T> {
        std::mem::take(&mut self.waiting)
            .into_iter()
            .map(|(_, w)| w)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_barrier_passes_when_every_earlier_batch_is_settled() {
        let mut b = Barriers::default();
        b.open(0, 1);
        b.open(1, 1);
        b.wait(2, "flush after 0 and 1");
        b.open(2, 1);
        b.wait(3, "flush after 2");
        assert!(b.passed().is_empty());
        b.settle(1);
        assert!(b.passed().is_empty(), "batch 0 is not settled");
        b.settle(0);
        assert_eq!(b.passed(), ["flush after 0 and 1"]);
        b.settle(2);
        assert_eq!(b.passed(), ["flush after 2"]);
    }

    #[test]
    fn a_split_batch_is_settled_when_every_part_is() {
        let mut b = Barriers::default();
        b.open(5, 1);
        b.wait(6, ());
        // Split into two parts and one bad row: three more, the original settled.
        b.open(5, 3);
        assert!(!b.settle(5));
        assert!(!b.settle(5));
        assert!(!b.settle(5));
        assert!(b.passed().is_empty());
        assert!(b.settle(5));
        assert_eq!(b.passed().len(), 1);
        // Settling an unknown sequence is harmless.
        assert!(b.settle(99));
        b.wait(0, ());
        assert_eq!(b.take_all().len(), 1);
    }
}
