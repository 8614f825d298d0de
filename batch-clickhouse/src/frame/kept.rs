//! The buffers a sender keeps from one RowBinary batch to the next: the contiguous copy
//! a batch of several chunks is compressed from, and the buffer its LZ4 frame is
//! written into (given back once the delivery is over and the frame dropped).

use std::sync::{Mutex, MutexGuard, PoisonError};

use bytes::Bytes;

/// The most bytes of idle buffers a sender keeps between batches: a copy and a frame
/// (110% of the rows, LZ4's worst case) of each of two batches of 100,000 rows of about
/// 100 bytes.
pub(crate) const KEEP: usize = 40 << 20;

/// Idle buffers, at most [`KEEP`] bytes of them, shared by a sender's clones.
///
/// A batch's copy and frame are as large as the batch (megabytes), and memory of that
/// size, freed and allocated again, comes back from the kernel as fresh pages: every
/// page they touch would fault for every batch. Kept, the same pages serve the next
/// batch.
#[derive(Debug, Default)]
pub(crate) struct Kept(Mutex<Idle>);

#[derive(Debug, Default)]
struct Idle {
    copies: Vec<Vec<u8>>,
    frames: Vec<Vec<u8>>,
}

impl Idle {
    fn held(&self) -> usize {
        self.copies
            .iter()
            .chain(&self.frames)
            .map(Vec::capacity)
            .sum()
    }

    fn keep(&mut self, buf: Vec<u8>, frames: bool) {
        if buf.capacity() > 0 && self.held() + buf.capacity() <= KEEP {
            if frames {
                self.frames.push(buf);
            } else {
                self.copies.push(buf);
            }
        }
    }
}

impl Kept {
    fn idle(&self) -> MutexGuard<'_, Idle> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An idle copy buffer, or a new empty one.
    pub(crate) fn take_copy(&self) -> Vec<u8> {
        self.idle().copies.pop().unwrap_or_default()
    }

    /// Keeps a copy buffer for the next batch, within [`KEEP`].
    pub(crate) fn keep_copy(&self, mut buf: Vec<u8>) {
        buf.clear();
        self.idle().keep(buf, false);
    }

    /// An idle frame buffer (empty), or a new empty one.
    pub(crate) fn take_frames(&self) -> Vec<u8> {
        let mut buf = self.idle().frames.pop().unwrap_or_default();
        buf.clear();
        buf
    }

    /// Keeps the buffer a batch's frames lie in, once nothing refers to them any more,
    /// within [`KEEP`].
    pub(crate) fn recycle_frames(&self, whole: Bytes) {
        if let Some(buf) = super::reclaim(whole) {
            self.idle().keep(buf, true);
        }
    }

    /// The bytes of the idle buffers.
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.idle().held()
    }
}
