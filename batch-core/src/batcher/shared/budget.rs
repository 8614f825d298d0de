//! The memory budget: bytes reserved for rows in shards, shard credit, rows held by the
//! worker and what a sink holds to send them, against `max_buffered_bytes`.

use std::sync::atomic::Ordering;

use super::{Refused, Shared};
use crate::format::Format;

impl<F: Format> Shared<F> {
    /// Reserves at least `need` bytes of the budget (more, up to a grant, when there is
    /// room). Succeeds while the budget is not used up, so the bound is exceeded by at
    /// most one row.
    pub(super) fn reserve(&self, need: usize) -> Result<usize, Refused> {
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
}
