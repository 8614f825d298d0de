//! Positions in the user's source (a Kafka partition and offset, a line of a file)
//! attached to rows, so that a committed batch can say which positions it covers.

use std::ops::Range;

/// Where a row came from: an offset within a stream of the user's source (a Kafka
/// topic-partition, a file, a queue shard), both chosen by the user.
///
/// Attach one with [`Handle::insert_at`](crate::Handle::insert_at) or
/// [`Handle::insert_many_at`](crate::Handle::insert_many_at); each committed batch then
/// reports the positions of its rows ([`CommittedBatch::positions`](crate::CommittedBatch::positions)).
///
/// # Examples
///
/// ```
/// use batch_core::Position;
///
/// // Partition 3 of a topic, offset 1,000.
/// let p = Position::new(3, 1_000);
/// assert_eq!((p.stream, p.offset), (3, 1_000));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Position {
    /// The stream (for example a partition number).
    pub stream: u64,
    /// The offset within the stream.
    pub offset: u64,
}

impl Position {
    /// A position.
    #[must_use]
    pub const fn new(stream: u64, offset: u64) -> Self {
        Position { stream, offset }
    }
}

/// Consecutive rows of a batch whose positions are consecutive offsets of one stream:
/// rows `rows` came from offsets `first..=last` of `stream`.
///
/// # Examples
///
/// ```
/// use batch_core::PositionRange;
///
/// let r = PositionRange { stream: 3, first: 1_000, last: 1_099, rows: 0..100 };
/// assert_eq!(r.len(), 100);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PositionRange {
    /// The stream.
    pub stream: u64,
    /// The offset of the first row.
    pub first: u64,
    /// The offset of the last row.
    pub last: u64,
    /// The rows, as indexes within the batch.
    pub rows: Range<usize>,
}

impl PositionRange {
    /// The number of rows (and offsets) in the range.
    #[must_use]
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the range is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// Rows of a chunk from consecutive offsets of one stream: rows `row..row + len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Run {
    pub(crate) row: u32,
    pub(crate) len: u32,
    pub(crate) stream: u64,
    pub(crate) first: u64,
}

/// Records that row `row` (the last one written) came from `at`, extending the last run
/// when it continues it.
pub(crate) fn record(runs: &mut Vec<Run>, row: u32, at: Position) {
    if let Some(last) = runs.last_mut() {
        if last.stream == at.stream
            && last.row.checked_add(last.len) == Some(row)
            && last.first.checked_add(u64::from(last.len)) == Some(at.offset)
        {
            last.len += 1;
            return;
        }
    }
    runs.push(Run {
        row,
        len: 1,
        stream: at.stream,
        first: at.offset,
    });
}

/// The runs of `runs` within chunk rows `rows`, as ranges of rows counted from `base`
/// minus `rows.start`, appended to `out` and merged with its last range when they
/// continue it.
pub(crate) fn clip(runs: &[Run], rows: &Range<usize>, base: usize, out: &mut Vec<PositionRange>) {
    for run in runs {
        let start = (run.row as usize).max(rows.start);
        let end = (run.row as usize + run.len as usize).min(rows.end);
        if start >= end {
            continue;
        }
        let skip = (start - run.row as usize) as u64;
        let range = PositionRange {
            stream: run.stream,
            first: run.first + skip,
            last: run.first + skip + (end - start) as u64 - 1,
            rows: base + start - rows.start..base + end - rows.start,
        };
        match out.last_mut() {
            Some(prev)
                if prev.stream == range.stream
                    && prev.rows.end == range.rows.start
                    && prev.last.checked_add(1) == Some(range.first) =>
            {
                prev.last = range.last;
                prev.rows.end = range.rows.end;
            }
            _ => out.push(range),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_offsets_of_one_stream_make_one_run() {
        let mut runs = Vec::new();
        record(&mut runs, 0, Position::new(1, 10));
        record(&mut runs, 1, Position::new(1, 11));
        record(&mut runs, 2, Position::new(2, 12));
        record(&mut runs, 3, Position::new(2, 14));
        // Row 4 has no position; row 5 does not continue row 3's run.
        record(&mut runs, 5, Position::new(2, 15));
        assert_eq!(
            runs.iter()
                .map(|r| (r.row, r.len, r.stream, r.first))
                .collect::<Vec<_>>(),
            [(0, 2, 1, 10), (2, 1, 2, 12), (3, 1, 2, 14), (5, 1, 2, 15)]
        );
    }

    #[test]
    fn clipping_keeps_the_rows_in_range_and_merges_across_chunks() {
        let runs = [Run {
            row: 0,
            len: 10,
            stream: 7,
            first: 100,
        }];
        let mut out = Vec::new();
        clip(&runs, &(3..10), 0, &mut out);
        assert_eq!(
            out,
            [PositionRange {
                stream: 7,
                first: 103,
                last: 109,
                rows: 0..7
            }]
        );
        // The next chunk continues the offsets: one range.
        let next = [Run {
            row: 0,
            len: 5,
            stream: 7,
            first: 110,
        }];
        clip(&next, &(0..2), 7, &mut out);
        assert_eq!(
            out,
            [PositionRange {
                stream: 7,
                first: 103,
                last: 111,
                rows: 0..9
            }]
        );
        clip(&next, &(4..5), 9, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(
            out[1],
            PositionRange {
                stream: 7,
                first: 114,
                last: 114,
                rows: 9..10
            }
        );
    }
}
