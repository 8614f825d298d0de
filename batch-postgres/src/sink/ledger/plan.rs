//! The ledger key of every row of a batch, and the plan of an attempt: which rows to
//! COPY and which ledger rows to add, given the ledger ranges the attempt read.

use std::collections::BTreeMap;
use std::ops::Range;

use batch_core::{Batch, SinkError};

/// SplitMix64's finalizer: a bijection of `u64` that scatters nearby inputs.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The stream of the rows without a position of batch `id`: negative, so that it is
/// never one of the user's streams (which are at most `i64::MAX`).
pub(super) fn unpositioned_stream(instance: u64, id: u64) -> i64 {
    i64::from_ne_bytes((mix(instance.wrapping_add(mix(id))) | (1 << 63)).to_ne_bytes())
}

/// Rows of a batch and the ledger key they are written under: rows `rows` are offsets
/// `first..=last` of `stream`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Key {
    pub(super) stream: i64,
    pub(super) first: i64,
    pub(super) last: i64,
    pub(super) rows: Range<usize>,
}

/// The keys of every row of `batch`: its positions, and for rows without one, the
/// batch's own stream with their rows in the sealed batch as offsets.
pub(super) fn keys(batch: &Batch, instance: u64) -> Result<Vec<Key>, SinkError> {
    let base = batch.range().start;
    let own = unpositioned_stream(instance, batch.id());
    let unpositioned = |rows: Range<usize>| Key {
        stream: own,
        first: i64::try_from(base + rows.start).unwrap_or(i64::MAX),
        last: i64::try_from(base + rows.end - 1).unwrap_or(i64::MAX),
        rows,
    };
    let mut out = Vec::new();
    let mut next = 0;
    for p in batch.positions() {
        if p.rows.start > next {
            out.push(unpositioned(next..p.rows.start));
        }
        next = p.rows.end;
        let (Ok(stream), Ok(first), Ok(last)) = (
            i64::try_from(p.stream),
            i64::try_from(p.first),
            i64::try_from(p.last),
        ) else {
            return Err(beyond_bigint(&p));
        };
        out.push(Key {
            stream,
            first,
            last,
            rows: p.rows,
        });
    }
    if batch.rows() > next {
        out.push(unpositioned(next..batch.rows()));
    }
    Ok(out)
}

/// The error for a range of positions some of which do not fit a `bigint`, naming the
/// first such row.
fn beyond_bigint(p: &batch_core::PositionRange) -> SinkError {
    let max = i64::MAX.unsigned_abs();
    let skip = if p.stream > max || p.first > max {
        0
    } else {
        usize::try_from(max - p.first + 1).unwrap_or(usize::MAX)
    };
    let row = p.rows.start + skip.min(p.rows.len().saturating_sub(1));
    let offset = p.first.saturating_add((row - p.rows.start) as u64);
    SinkError::permanent(format!(
        "row {row} of the batch has position (stream {}, offset {offset}); the ledger \
         stores streams and offsets as bigint, up to {}",
        p.stream,
        i64::MAX
    ))
    .with_row(row)
}

/// Disjoint, sorted, merged offset intervals of one stream.
#[derive(Debug, Default)]
struct Covered(Vec<(i64, i64)>);

impl Covered {
    /// Adds `[a, b]`, merging with touching or overlapping intervals.
    fn add(&mut self, a: i64, b: i64) {
        let v = &mut self.0;
        // The first interval that ends at or after a - 1 (touching counts).
        let i = v.partition_point(|&(_, e)| e.checked_add(1).is_some_and(|e1| e1 < a));
        let mut j = i;
        let (mut lo, mut hi) = (a, b);
        while j < v.len() && v[j].0 <= b.saturating_add(1) {
            lo = lo.min(v[j].0);
            hi = hi.max(v[j].1);
            j += 1;
        }
        v.splice(i..j, [(lo, hi)]);
    }

    /// The parts of `[a, b]` not covered, in order.
    fn gaps(&self, a: i64, b: i64, out: &mut Vec<(i64, i64)>) {
        let v = &self.0;
        let mut cursor = a;
        let start = v.partition_point(|&(_, e)| e < a);
        for &(s, e) in &v[start..] {
            if s > b {
                break;
            }
            if s > cursor {
                out.push((cursor, s - 1));
            }
            match e.checked_add(1) {
                Some(next) if next > cursor => cursor = next,
                Some(_) => {}
                None => return,
            }
            if cursor > b {
                return;
            }
        }
        if cursor <= b {
            out.push((cursor, b));
        }
    }
}

/// What one attempt writes: the rows to COPY and the ledger rows to add.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Plan {
    /// Rows of the batch to COPY, sorted and merged.
    pub(super) copy: Vec<Range<usize>>,
    /// Ledger rows: stream, first and last offset.
    pub(super) record: Vec<(i64, i64, i64)>,
    pub(super) planned: Planned,
}

/// Rows written and skipped by one attempt.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Planned {
    pub(super) written: usize,
    pub(super) skipped: usize,
}

/// Plans an attempt: the rows of `keys` whose offsets `ledger` does not hold, and whose
/// offsets an earlier row of the batch does not repeat.
pub(super) fn plan(keys: &[Key], ledger: &[(i64, i64, i64)]) -> Plan {
    let mut covered: BTreeMap<i64, Covered> = BTreeMap::new();
    for &(stream, first, last) in ledger {
        covered.entry(stream).or_default().add(first, last);
    }
    let mut written: BTreeMap<i64, Covered> = BTreeMap::new();
    let mut copy: Vec<Range<usize>> = Vec::new();
    let mut gaps = Vec::new();
    let mut rows = 0;
    for key in keys {
        let done = covered.entry(key.stream).or_default();
        gaps.clear();
        done.gaps(key.first, key.last, &mut gaps);
        for &(a, b) in &gaps {
            // Offsets map to rows one to one within a key.
            let from = |o: i64| usize::try_from(o.abs_diff(key.first)).unwrap_or(usize::MAX);
            let start = key.rows.start + from(a);
            let end = key.rows.start + from(b) + 1;
            match copy.last_mut() {
                Some(last) if last.end == start => last.end = end,
                _ => copy.push(start..end),
            }
            rows += end - start;
            done.add(a, b);
            written.entry(key.stream).or_default().add(a, b);
        }
    }
    copy.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(copy.len());
    for r in copy {
        match merged.last_mut() {
            Some(last) if last.end == r.start => last.end = r.end,
            _ => merged.push(r),
        }
    }
    let record = written
        .into_iter()
        .flat_map(|(stream, c)| c.0.into_iter().map(move |(a, b)| (stream, a, b)))
        .collect();
    let total: usize = keys.iter().map(|k| k.rows.len()).sum();
    Plan {
        copy: merged,
        record,
        planned: Planned {
            written: rows,
            skipped: total - rows,
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
pub(super) mod tests {
    use super::*;
    use batch_core::{ChunkFull, Position, RowBuffer, SinkErrorKind};

    /// A batch of one-byte rows; `Some(p)` rows carry a position.
    pub(crate) fn batch(id: u64, rows: &[Option<(u64, u64)>]) -> Batch {
        let mut buf = RowBuffer::default();
        for (i, r) in rows.iter().enumerate() {
            let write = |out: &mut Vec<u8>| {
                out.push(u8::try_from(i % 256).unwrap());
                Ok::<_, ChunkFull>(())
            };
            match r {
                Some((s, o)) => buf.push_row_at(Position::new(*s, *o), write).unwrap(),
                None => buf.push_row(write).unwrap(),
            };
        }
        Batch::new(id, vec![buf.take()])
    }

    pub(crate) fn key(stream: i64, first: i64, last: i64, rows: Range<usize>) -> Key {
        Key {
            stream,
            first,
            last,
            rows,
        }
    }

    #[test]
    fn keys_follow_positions_and_give_unpositioned_rows_the_batch_stream() {
        let b = batch(
            7,
            &[Some((1, 10)), Some((1, 11)), None, None, Some((2, 5)), None],
        );
        let own = unpositioned_stream(42, 7);
        assert!(own < 0);
        assert_ne!(own, unpositioned_stream(42, 8));
        assert_ne!(own, unpositioned_stream(43, 7));
        assert_eq!(
            keys(&b, 42).unwrap(),
            [
                key(1, 10, 11, 0..2),
                key(own, 2, 3, 2..4),
                key(2, 5, 5, 4..5),
                key(own, 5, 5, 5..6),
            ]
        );
        // A part of a split batch: offsets count from the sealed batch's rows.
        assert_eq!(
            keys(&b.slice(3..6), 42).unwrap(),
            [
                key(own, 3, 3, 0..1),
                key(2, 5, 5, 1..2),
                key(own, 5, 5, 2..3)
            ]
        );
    }

    #[test]
    fn a_position_beyond_bigint_names_its_row() {
        let top = i64::MAX.unsigned_abs();
        let b = batch(1, &[Some((0, top - 1)), Some((0, top)), Some((0, top + 1))]);
        let e = keys(&b, 1).unwrap_err();
        assert_eq!(e.row(), Some(2), "{e}");
        assert_eq!(e.kind(), SinkErrorKind::Permanent);
        let b = batch(1, &[None, Some((top + 1, 0))]);
        assert_eq!(keys(&b, 1).unwrap_err().row(), Some(1));
    }

    #[test]
    fn covered_intervals_merge_and_leave_gaps() {
        let mut c = Covered::default();
        c.add(10, 19);
        c.add(30, 39);
        c.add(20, 20); // touches the first
        assert_eq!(c.0, [(10, 20), (30, 39)]);
        let mut gaps = Vec::new();
        c.gaps(0, 50, &mut gaps);
        assert_eq!(gaps, [(0, 9), (21, 29), (40, 50)]);
        gaps.clear();
        c.gaps(12, 35, &mut gaps);
        assert_eq!(gaps, [(21, 29)]);
        gaps.clear();
        c.gaps(30, 39, &mut gaps);
        assert!(gaps.is_empty());
        c.add(15, 32);
        assert_eq!(c.0, [(10, 39)]);
        c.add(i64::MAX - 1, i64::MAX);
        gaps.clear();
        c.gaps(i64::MAX - 3, i64::MAX, &mut gaps);
        assert_eq!(gaps, [(i64::MAX - 3, i64::MAX - 2)]);
    }

    #[test]
    fn a_plan_copies_only_what_the_ledger_lacks() {
        // Nothing in the ledger: the whole batch, one ledger row per stream.
        let keys = [key(1, 0, 99, 0..100), key(2, 0, 49, 100..150)];
        let p = plan(&keys, &[]);
        assert_eq!(p.copy, vec![0..150]);
        assert_eq!(p.record, [(1, 0, 99), (2, 0, 49)]);
        assert_eq!(
            p.planned,
            Planned {
                written: 150,
                skipped: 0
            }
        );
        // Partly held: offsets 0..=59 of stream 1 and 40..=49 of stream 2.
        let p = plan(&keys, &[(1, 0, 59), (2, 40, 200), (3, 0, 9)]);
        assert_eq!(p.copy, vec![60..140]);
        assert_eq!(p.record, [(1, 60, 99), (2, 0, 39)]);
        assert_eq!(
            p.planned,
            Planned {
                written: 80,
                skipped: 70
            }
        );
        // All held.
        let p = plan(&keys, &[(1, 0, 99), (2, 0, 49)]);
        assert!(p.copy.is_empty() && p.record.is_empty());
        assert_eq!(p.planned.skipped, 150);
    }

    #[test]
    fn interleaved_streams_make_one_ledger_row_each_and_repeats_are_written_once() {
        // Rows alternate between streams 0 and 1, offsets 0..4 each; then offset 2 of
        // stream 0 again.
        let mut keys: Vec<Key> = (0..8)
            .map(|r: usize| {
                let o = i64::try_from(r / 2).unwrap();
                key(i64::try_from(r % 2).unwrap(), o, o, r..r + 1)
            })
            .collect();
        keys.push(key(0, 2, 2, 8..9));
        let p = plan(&keys, &[(1, 3, 3)]);
        assert_eq!(p.record, [(0, 0, 3), (1, 0, 2)]);
        assert_eq!(p.copy, vec![0..7]);
        assert_eq!(
            p.planned,
            Planned {
                written: 7,
                skipped: 2
            }
        );
    }
}
