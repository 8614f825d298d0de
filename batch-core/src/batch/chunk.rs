//! Frozen encoded rows: a chunk of a producer's buffer, or a part of one.

use std::fmt;
use std::ops::Range;

use bytes::Bytes;

use crate::position::{self, PositionRange, Run};

/// Frozen encoded rows: a byte buffer and the end offset of each row.
#[derive(Clone)]
pub struct Chunk {
    pub(super) bytes: Bytes,
    pub(super) ends: std::sync::Arc<[u32]>,
    /// Where rows came from, when producers said.
    pub(super) runs: Option<std::sync::Arc<[Run]>>,
    /// The rows of `ends` this chunk covers.
    pub(super) rows: Range<usize>,
}

impl Chunk {
    pub(super) fn whole(mut self) -> Self {
        self.rows = 0..self.ends.len();
        self
    }

    fn start_of(&self, row: usize) -> usize {
        if row == 0 {
            0
        } else {
            self.ends[row - 1] as usize
        }
    }

    /// The number of rows.
    #[must_use]
    pub fn rows(&self) -> usize {
        self.rows.len()
    }

    /// The encoded bytes of all rows, back to back.
    #[must_use]
    pub fn bytes(&self) -> Bytes {
        let start = self.start_of(self.rows.start);
        let end = self.start_of(self.rows.end);
        self.bytes.slice(start..end)
    }

    /// The number of encoded bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.start_of(self.rows.end) - self.start_of(self.rows.start)
    }

    /// Whether the chunk holds no row.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The encoded bytes of row `i` (counted within this chunk).
    #[must_use]
    pub fn row(&self, i: usize) -> Option<&[u8]> {
        if i >= self.rows.len() {
            return None;
        }
        let r = self.rows.start + i;
        self.bytes.get(self.start_of(r)..self.start_of(r + 1))
    }

    /// The rows `range` (counted within this chunk), sharing the same bytes. The range
    /// is clamped to the rows of the chunk.
    #[must_use]
    pub fn slice(&self, range: Range<usize>) -> Chunk {
        let end = range.end.min(self.rows.len());
        let start = range.start.min(end);
        Chunk {
            bytes: self.bytes.clone(),
            ends: self.ends.clone(),
            runs: self.runs.clone(),
            rows: self.rows.start + start..self.rows.start + end,
        }
    }

    /// The positions of the chunk's rows, as ranges of rows counted within this chunk,
    /// in row order; rows without a position are in none.
    pub(crate) fn positions(&self) -> Vec<PositionRange> {
        let mut out = Vec::new();
        if let Some(runs) = &self.runs {
            position::clip(runs, &self.rows, 0, &mut out);
        }
        out
    }

    /// How many of the first rows fit in `max_bytes` bytes together.
    #[must_use]
    pub fn rows_within(&self, max_bytes: usize) -> usize {
        let base = self.start_of(self.rows.start);
        let ends = &self.ends[self.rows.clone()];
        // `ends` is sorted: the rows that fit are those whose end is within the budget.
        ends.partition_point(|&end| (end as usize) - base <= max_bytes)
    }
}

// The Debug output names sizes, not contents: a chunk can hold megabytes.
impl fmt::Debug for Chunk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chunk")
            .field("rows", &self.rows())
            .field("bytes", &self.len())
            .finish()
    }
}
