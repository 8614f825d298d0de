//! A producer's buffer of encoded rows, frozen into [`Chunk`]s.

use std::fmt;

use bytes::Bytes;

use super::Chunk;
use crate::position::{self, Position, Run};

/// A producer's buffer of encoded rows: the bytes and where each row ends.
///
/// It is reused across chunks: [`RowBuffer::take`] freezes what was written and leaves
/// the buffer empty with its capacity kept where possible.
#[derive(Default)]
pub struct RowBuffer {
    bytes: Vec<u8>,
    ends: Vec<u32>,
    runs: Vec<Run>,
}

impl RowBuffer {
    /// An empty buffer with room for `bytes` bytes and `rows` rows.
    #[must_use]
    pub fn with_capacity(bytes: usize, rows: usize) -> Self {
        RowBuffer {
            bytes: Vec::with_capacity(bytes),
            ends: Vec::with_capacity(rows),
            runs: Vec::new(),
        }
    }

    /// The number of rows written.
    #[must_use]
    pub fn rows(&self) -> usize {
        self.ends.len()
    }

    /// The number of bytes written.
    #[must_use]
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether no row was written.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Appends one row written by `write`. If `write` fails, or the chunk would exceed
    /// 4 GiB, the buffer is left exactly as it was and the error is returned.
    ///
    /// Returns the size of the row in bytes.
    ///
    /// # Errors
    ///
    /// The error of `write`, or `E::from(ChunkFull)` when the chunk is over 4 GiB.
    #[inline(always)]
    pub fn push_row<E>(
        &mut self,
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<usize, E>
    where
        E: From<ChunkFull>,
    {
        let start = self.bytes.len();
        if let Err(e) = write(&mut self.bytes) {
            self.bytes.truncate(start);
            return Err(e);
        }
        let Ok(end) = u32::try_from(self.bytes.len()) else {
            self.bytes.truncate(start);
            return Err(E::from(ChunkFull));
        };
        self.ends.push(end);
        Ok(self.bytes.len() - start)
    }

    /// As [`push_row`](RowBuffer::push_row), and records that the row came from `at`.
    ///
    /// # Errors
    ///
    /// As [`push_row`](RowBuffer::push_row).
    pub fn push_row_at<E>(
        &mut self,
        at: Position,
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<usize, E>
    where
        E: From<ChunkFull>,
    {
        let size = self.push_row(write)?;
        let row = u32::try_from(self.ends.len() - 1).map_err(|_| E::from(ChunkFull))?;
        position::record(&mut self.runs, row, at);
        Ok(size)
    }

    /// The bytes, for a producer to write one row at their end and then call
    /// [`end_row`](RowBuffer::end_row) (or truncate them back).
    #[inline(always)]
    pub(crate) fn bytes_mut(&mut self) -> &mut Vec<u8> {
        &mut self.bytes
    }

    /// Ends the row written from byte `start` to the end of the bytes, from `at` if
    /// given. When the chunk would exceed 4 GiB, removes the row instead.
    #[inline(always)]
    pub(crate) fn end_row(&mut self, start: usize, at: Option<Position>) -> Result<(), ChunkFull> {
        let Ok(end) = u32::try_from(self.bytes.len()) else {
            self.bytes.truncate(start);
            return Err(ChunkFull);
        };
        self.ends.push(end);
        if let Some(at) = at {
            self.record_last(at)?;
        }
        Ok(())
    }

    #[inline(never)]
    fn record_last(&mut self, at: Position) -> Result<(), ChunkFull> {
        let row = u32::try_from(self.ends.len() - 1).map_err(|_| ChunkFull)?;
        position::record(&mut self.runs, row, at);
        Ok(())
    }

    /// A copy of the rows written so far, leaving the buffer as it is.
    pub(crate) fn snapshot(&self) -> Chunk {
        Chunk {
            bytes: Bytes::copy_from_slice(&self.bytes),
            ends: self.ends.as_slice().into(),
            runs: None,
            rows: 0..0,
        }
        .whole()
    }

    /// Freezes the rows written so far into a [`Chunk`] and empties the buffer.
    #[must_use]
    pub fn take(&mut self) -> Chunk {
        let (byte_cap, row_cap) = (self.bytes.capacity(), self.ends.capacity());
        self.take_reserving(byte_cap, row_cap)
    }

    /// As [`take`](RowBuffer::take), but the emptied buffer reserves room for `bytes` and
    /// `rows`, and the chunk taken is trimmed when its buffer holds much more room than
    /// rows, so that the chunk's memory is close to its length.
    pub(crate) fn take_reserving(&mut self, bytes: usize, rows: usize) -> Chunk {
        let mut taken = std::mem::replace(&mut self.bytes, Vec::with_capacity(bytes));
        if taken.capacity() - taken.len() > taken.len() / 4 + 4096 {
            taken.shrink_to_fit();
        }
        let ends = std::mem::replace(&mut self.ends, Vec::with_capacity(rows));
        let runs = (!self.runs.is_empty()).then(|| std::mem::take(&mut self.runs).into());
        Chunk {
            bytes: Bytes::from(taken),
            ends: ends.into(),
            runs,
            rows: 0..0,
        }
        .whole()
    }
}

/// A chunk reached 4 GiB; seal it and start another.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("a chunk of encoded rows cannot exceed 4 GiB")]
pub struct ChunkFull;

// The Debug output names sizes, not contents: a buffer can hold megabytes.
impl fmt::Debug for RowBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RowBuffer")
            .field("rows", &self.rows())
            .field("bytes", &self.len())
            .finish()
    }
}
