//! Byte buffers the sender uses again from one batch to the next: the contiguous copy of
//! a batch's rows while LZ4 compresses them, and the compressed frames once their
//! delivery is over. Reusing them spares the page faults (and the kernel's zeroing) of
//! fresh memory for every batch.

use std::sync::{Mutex, PoisonError};

/// The most bytes of idle buffers kept, beyond the memory budget: two frames of a
/// 100,000-row batch of 80-byte rows.
pub(crate) const KEEP: usize = 20 << 20;

/// The capacity to give a new buffer for `len` bytes: an eighth more, so that once kept
/// it serves the next batches, whose sizes vary a little.
pub(crate) fn room_for(len: usize) -> usize {
    len.saturating_add(len / 8)
}

/// Idle buffers, at most [`KEEP`] bytes of them.
#[derive(Debug, Default)]
pub(crate) struct Buffers(Mutex<Vec<Vec<u8>>>);

impl Buffers {
    /// An idle buffer, empty, with room for at least `len` bytes, if one is kept.
    pub(crate) fn take(&self, len: usize) -> Option<Vec<u8>> {
        let mut idle = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let i = idle.iter().position(|b| b.capacity() >= len)?;
        Some(idle.swap_remove(i))
    }

    /// Keeps `buf` for a later [`take`](Buffers::take) if it fits within [`KEEP`];
    /// otherwise frees it.
    pub(crate) fn give(&self, mut buf: Vec<u8>) {
        buf.clear();
        let mut idle = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let held: usize = idle.iter().map(Vec::capacity).sum();
        if held + buf.capacity() <= KEEP {
            idle.push(buf);
        }
    }

    /// The bytes of the idle buffers.
    #[cfg(test)]
    pub(crate) fn idle(&self) -> usize {
        let idle = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        idle.iter().map(Vec::capacity).sum()
    }
}
