//! Buffers for the contiguous copy a RowBinary batch in several chunks is compressed
//! from, kept from one batch to the next.

use std::sync::{Mutex, PoisonError};

/// The most bytes of idle copy buffers a sender keeps between batches: those of two
/// batches of 100,000 rows of about 150 bytes.
pub(crate) const KEEP_COPIES: usize = 32 << 20;

/// Idle copy buffers, at most [`KEEP_COPIES`] bytes of them, shared by a sender's clones.
///
/// A batch's copy lives only while LZ4 reads it, but it is as large as the batch (megabytes),
/// and memory of that size, freed and allocated again, comes back from the kernel as
/// fresh pages: every page the copy touches would fault for every batch. Kept, the
/// same pages serve the next batch.
#[derive(Debug, Default)]
pub(crate) struct Copies(Mutex<Vec<Vec<u8>>>);

impl Copies {
    /// An idle buffer, or a new empty one.
    pub(crate) fn take(&self) -> Vec<u8> {
        let mut idle = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        idle.pop().unwrap_or_default()
    }

    /// Keeps `buf` for the next batch if the idle buffers stay within [`KEEP_COPIES`].
    pub(crate) fn keep(&self, mut buf: Vec<u8>) {
        buf.clear();
        let mut idle = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let held: usize = idle.iter().map(Vec::capacity).sum();
        if buf.capacity() > 0 && held + buf.capacity() <= KEEP_COPIES {
            idle.push(buf);
        }
    }

    /// The bytes of the idle buffers.
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        let idle = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        idle.iter().map(Vec::capacity).sum()
    }
}
