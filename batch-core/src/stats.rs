//! What a batcher has done with the rows it accepted.

use std::ops::{AddAssign, SubAssign};

/// A number of rows and the number of encoded bytes they take.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Count {
    /// Rows.
    pub rows: u64,
    /// Encoded bytes (without any format header or trailer).
    pub bytes: u64,
}

impl Count {
    /// A count of `rows` rows taking `bytes` bytes.
    #[must_use]
    pub const fn new(rows: u64, bytes: u64) -> Self {
        Count { rows, bytes }
    }

    /// The count of a buffer or batch size given as `usize`.
    pub(crate) fn of(rows: usize, bytes: usize) -> Self {
        Count {
            rows: rows as u64,
            bytes: bytes as u64,
        }
    }

    /// Whether there is no row.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.rows == 0
    }
}

impl AddAssign for Count {
    fn add_assign(&mut self, other: Count) {
        self.rows = self.rows.saturating_add(other.rows);
        self.bytes = self.bytes.saturating_add(other.bytes);
    }
}

impl SubAssign for Count {
    fn sub_assign(&mut self, other: Count) {
        self.rows = self.rows.saturating_sub(other.rows);
        self.bytes = self.bytes.saturating_sub(other.bytes);
    }
}

impl std::ops::Add for Count {
    type Output = Count;
    fn add(mut self, other: Count) -> Count {
        self += other;
        self
    }
}

/// A snapshot of a batcher's accounting, from [`Handle::stats`](crate::Handle::stats),
/// [`Handle::flush`](crate::Handle::flush) and [`Handle::close`](crate::Handle::close).
///
/// Every row is accounted for. At every moment, as rows and as bytes:
///
/// ```text
/// accepted = committed + failed + in_buffer
/// ```
///
/// The snapshot is taken atomically, so the identity holds exactly for every value that
/// [`Handle::stats`](crate::Handle::stats) returns; [`Stats::is_conserved`] checks it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Rows accepted by `insert`, `try_insert` and `insert_many` since the start.
    pub accepted: Count,
    /// Rows the sink acknowledged.
    pub committed: Count,
    /// Rows in batches that failed for good: rejected by the sink, out of retries, or
    /// still buffered when a close deadline passed. Each was handed to the dead-letter
    /// handler or returned in an [`Error::Failed`](crate::Error::Failed) (or, when the
    /// batcher was dropped without a handler, reported through `tracing`).
    pub failed: Count,
    /// The part of [`failed`](Stats::failed) that the destination may have written after
    /// all: batches whose send was cut off after the data went out and whose outcome
    /// could not be found out
    /// ([`FailureCause::PossiblyPersisted`](crate::FailureCause::PossiblyPersisted), or a
    /// close deadline that passed during a send). They are never sent again.
    pub possibly_persisted: Count,
    /// Rows accepted whose outcome is not known yet: being encoded into chunks, waiting
    /// for a batch, or in a batch being sent.
    pub in_buffer: Count,
    /// Batches the sink acknowledged.
    pub batches_committed: u64,
    /// Batches that failed for good (a batch split to isolate bad rows counts each
    /// failed part).
    pub batches_failed: u64,
    /// Send attempts that were retried.
    pub retries: u64,
    /// Batches being sent (or waiting to retry) right now.
    pub in_flight: u64,
    /// Why the batcher stopped accepting rows on its own, if it did (its worker task
    /// ended without `close`: the runtime shut down, or it panicked).
    pub halted: Option<&'static str>,
}

impl Stats {
    /// Whether `accepted = committed + failed + in_buffer` holds, as rows and as bytes.
    /// It always does; this is for tests and assertions.
    #[must_use]
    pub fn is_conserved(&self) -> bool {
        self.accepted == self.committed + self.failed + self.in_buffer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_and_subtract_without_overflow() {
        let mut c = Count::new(2, 10);
        c += Count::new(1, 5);
        assert_eq!(c, Count::new(3, 15));
        c -= Count::new(5, 5);
        assert_eq!(c, Count::new(0, 10));
        assert!(c.is_empty());
    }

    #[test]
    fn conservation_check() {
        let s = Stats {
            accepted: Count::new(10, 100),
            committed: Count::new(5, 50),
            failed: Count::new(2, 20),
            in_buffer: Count::new(3, 30),
            ..Stats::default()
        };
        assert!(s.is_conserved());
        let broken = Stats {
            in_buffer: Count::new(3, 29),
            ..s
        };
        assert!(!broken.is_conserved());
    }
}
