//! Unit tests of filling and sealing batches, plain and aligned.

use super::*;
use crate::batch::{ChunkFull, RowBuffer};

fn chunk(sizes: &[usize]) -> Chunk {
    let mut buf = RowBuffer::default();
    for &n in sizes {
        buf.push_row(|b| {
            b.extend(std::iter::repeat_n(7u8, n));
            Ok::<_, ChunkFull>(())
        })
        .unwrap();
    }
    buf.take()
}

fn seal(f: &mut Filler) -> Option<Fresh> {
    let mut sealed = Vec::new();
    f.seal_all(&mut sealed);
    assert!(sealed.len() <= 1);
    sealed.pop()
}

/// A chunk of one-byte rows (the row's offset modulo 256) from `positions`; `None`
/// is a row without a position (byte 255).
fn positioned(positions: &[Option<(u64, u64)>]) -> Chunk {
    let mut buf = RowBuffer::default();
    for p in positions {
        let byte = p.map_or(255, |(s, o)| ((s * 100 + o) % 251) as u8);
        let write = |b: &mut Vec<u8>| {
            b.push(byte);
            Ok::<_, ChunkFull>(())
        };
        match p {
            Some((s, o)) => buf.push_row_at(crate::Position::new(*s, *o), write),
            None => buf.push_row(write),
        }
        .unwrap();
    }
    buf.take()
}

/// Each sealed batch as its positions and its bytes.
/// A batch's position ranges as `(stream, first, last)`, and its bytes.
type Ranges = Vec<(u64, u64, u64)>;
type Content = (Ranges, Vec<u8>);

fn ranges(fresh: &Fresh) -> Ranges {
    fresh
        .batch
        .positions()
        .iter()
        .map(|r| (r.stream, r.first, r.last))
        .collect()
}

fn contents(sealed: &[Fresh]) -> Vec<Content> {
    sealed
        .iter()
        .map(|f| {
            let bytes = f.batch.chunks().flat_map(|b| b.to_vec()).collect();
            (ranges(f), bytes)
        })
        .collect()
}

fn shape(sealed: &[Fresh]) -> Vec<(u64, usize, usize)> {
    sealed
        .iter()
        .map(|f| (f.batch.id(), f.batch.rows(), f.batch.len()))
        .collect()
}

#[test]
fn batches_never_exceed_max_rows() {
    let mut f = Filler::new(3, 1000, None);
    let mut sealed = Vec::new();
    f.add(chunk(&[1; 7]), Instant::now(), Vec::new(), &mut sealed);
    assert_eq!(shape(&sealed), [(0, 3, 3), (1, 3, 3)]);
    assert_eq!(f.rows(), 1);
    assert_eq!(f.next_id(), 2);
    let last = seal(&mut f).unwrap();
    assert_eq!((last.batch.id(), last.batch.rows()), (2, 1));
    assert!(seal(&mut f).is_none());
    assert!(f.first_at().is_none());
}

#[test]
fn batches_never_exceed_max_bytes_and_an_oversized_row_goes_alone() {
    let mut f = Filler::new(100, 10, None);
    let mut sealed = Vec::new();
    f.add(
        chunk(&[4, 4, 4, 12, 3]),
        Instant::now(),
        Vec::new(),
        &mut sealed,
    );
    // 4+4 fit, the third 4 would make 12; the 12-byte row goes alone.
    assert_eq!(shape(&sealed), [(0, 2, 8), (1, 1, 4), (2, 1, 12)]);
    assert_eq!(f.rows(), 1);
}

#[test]
fn receipts_follow_their_rows_into_batches() {
    let mut f = Filler::new(3, 1000, None);
    let mut sealed = Vec::new();
    let mut waiting = Vec::new();
    let receipts: Vec<(u32, oneshot::Sender<Outcome>)> = [1, 3, 4, 6]
        .into_iter()
        .map(|row| {
            let (tx, rx) = oneshot::channel();
            waiting.push(rx);
            (row, tx)
        })
        .collect();
    f.add(chunk(&[1; 2]), Instant::now(), Vec::new(), &mut sealed);
    // Rows 0..7 of this chunk land at rows 2.. of the open batch.
    f.add(chunk(&[1; 7]), Instant::now(), receipts, &mut sealed);
    let rows: Vec<Vec<usize>> = sealed
        .iter()
        .map(|s| s.receipts.iter().map(|(r, _)| *r).collect())
        .collect();
    // Batch 0 = 2 earlier rows + chunk row 0; batch 1 = chunk rows 1..4 (receipts of
    // rows 1 and 3); batch 2 = chunk rows 4..7 (receipts of rows 4 and 6).
    assert_eq!(rows, [vec![], vec![0, 2], vec![0, 2]]);
    assert!(seal(&mut f).is_none());
}

#[test]
fn the_oldest_row_sets_the_age() {
    let mut f = Filler::new(100, 100, None);
    let mut sealed = Vec::new();
    let now = Instant::now();
    let earlier = now.checked_sub(Duration::from_secs(5)).unwrap();
    f.add(chunk(&[1]), now, Vec::new(), &mut sealed);
    f.add(chunk(&[1]), earlier, Vec::new(), &mut sealed);
    assert_eq!(f.first_at(), Some(earlier));
    let fresh = seal(&mut f).unwrap();
    assert!(fresh.age >= Duration::from_secs(5));
}

/// Two streams' offsets 0..n, interleaved by stream in runs of `run` rows, cut into
/// chunks of `chunk` rows.
fn interleaved(n: u64, run: u64, chunk: usize) -> Vec<Chunk> {
    let mut rows = Vec::new();
    let mut next = [0u64, 0u64];
    while next.iter().any(|o| *o < n) {
        for (stream, o) in next.iter_mut().enumerate() {
            for _ in 0..run {
                if *o < n {
                    rows.push(Some((stream as u64, *o)));
                    *o += 1;
                }
            }
        }
    }
    rows.chunks(chunk).map(positioned).collect()
}

/// Fills `chunks` into a filler of `max_rows` (aligned on `span` when given), and
/// seals what is left.
fn fill(chunks: Vec<Chunk>, span: Option<u64>, max_rows: usize) -> Vec<Fresh> {
    let mut f = Filler::new(max_rows, 1 << 20, span);
    let mut sealed = Vec::new();
    for c in chunks {
        f.add(c, Instant::now(), Vec::new(), &mut sealed);
    }
    f.seal_all(&mut sealed);
    sealed
}

fn sorted(mut batches: Vec<Content>) -> Vec<Content> {
    batches.sort();
    batches
}

#[test]
fn aligned_batches_are_the_same_whatever_the_chunks_and_interleaving() {
    // 2 streams × 1,000 offsets, windows of 100, max_rows 60: each window is
    // sealed as 60 + 40 rows, whichever way the rows arrived.
    let a = contents(&fill(interleaved(1000, 7, 13), Some(100), 60));
    let b = contents(&fill(interleaved(1000, 250, 1000), Some(100), 60));
    assert_eq!(a.len(), 40);
    assert_eq!(sorted(a.clone()), sorted(b));
    for (ranges, bytes) in &a {
        assert_eq!(ranges.len(), 1);
        let (_, first, last) = ranges[0];
        assert_eq!(first / 100, last / 100, "a batch stays within its window");
        assert!(matches!(first % 100, 0 | 60));
        assert_eq!(bytes.len() as u64, last - first + 1);
    }
    // Without alignment, the same rows cut differently make different batches.
    let plain = |chunks| sorted(contents(&fill(chunks, None, 60)));
    assert_ne!(
        plain(interleaved(1000, 7, 13)),
        plain(interleaved(1000, 250, 1000))
    );
}

#[test]
fn a_replay_from_a_window_boundary_makes_the_same_batches() {
    // The first run: offsets 0..1000 of one stream. The replay starts at 300 (where
    // a consumer's committed offsets would be) and goes on to 1200.
    let first = contents(&fill(
        vec![positioned(
            &(0..1000).map(|o| Some((4, o))).collect::<Vec<_>>(),
        )],
        Some(100),
        1000,
    ));
    let replay_rows: Vec<_> = (300..1200).map(|o| Some((4, o))).collect();
    let replay = contents(&fill(
        replay_rows.chunks(33).map(positioned).collect(),
        Some(100),
        1000,
    ));
    assert_eq!(first.len(), 10);
    assert_eq!(replay.len(), 9);
    assert_eq!(&first[3..], &replay[..7]);
}

#[test]
fn a_window_is_sealed_at_its_last_offset_or_when_its_stream_moves_on() {
    let mut f = Filler::new(1000, 1 << 20, Some(10));
    let mut sealed = Vec::new();
    // Offsets 0..=9 of stream 1: the window is complete.
    let rows: Vec<_> = (0..10).map(|o| Some((1, o))).collect();
    f.add(positioned(&rows), Instant::now(), Vec::new(), &mut sealed);
    assert_eq!(shape(&sealed), [(0, 10, 10)]);
    // Offsets 10..=14 of stream 1 (a gap follows), 0..=2 of stream 2, and a row
    // without a position: nothing is sealed yet.
    let rows: Vec<_> = (10..15)
        .map(|o| Some((1, o)))
        .chain((0..3).map(|o| Some((2, o))))
        .chain([None])
        .collect();
    f.add(positioned(&rows), Instant::now(), Vec::new(), &mut sealed);
    assert_eq!(sealed.len(), 1);
    assert_eq!(f.rows(), 9);
    // Stream 1 moves on to offset 23: its window 10..20 is sealed, short of rows.
    f.add(
        positioned(&[Some((1, 23))]),
        Instant::now(),
        Vec::new(),
        &mut sealed,
    );
    assert_eq!(contents(&sealed[1..])[0].0, [(1, 10, 14)]);
    // The open batch for max_wait is the row without a position only.
    assert!(f.first_at().is_some());
    f.seal_plain(&mut sealed);
    assert_eq!(sealed.last().map(|f| f.batch.rows()), Some(1));
    assert!(f.first_at().is_none());
    assert_eq!(f.rows(), 4);
    f.seal_all(&mut sealed);
    assert_eq!(f.rows(), 0);
    let ids: Vec<u64> = sealed.iter().map(|f| f.batch.id()).collect();
    assert_eq!(ids, [0, 1, 2, 3, 4]);
}

#[test]
fn receipts_follow_their_rows_into_windows() {
    let mut f = Filler::new(1000, 1 << 20, Some(4));
    let mut sealed = Vec::new();
    let mut waiting = Vec::new();
    // Rows: stream 0 offsets 2,3 | no position | stream 0 offsets 4,5.
    let rows = [Some((0, 2)), Some((0, 3)), None, Some((0, 4)), Some((0, 5))];
    let receipts = [1u32, 2, 4]
        .into_iter()
        .map(|row| {
            let (tx, rx) = oneshot::channel();
            waiting.push(rx);
            (row, tx)
        })
        .collect();
    f.add(positioned(&rows), Instant::now(), receipts, &mut sealed);
    f.seal_all(&mut sealed);
    let by_batch: Vec<(Ranges, Vec<usize>)> = sealed
        .iter()
        .map(|s| (ranges(s), s.receipts.iter().map(|(r, _)| *r).collect()))
        .collect();
    // Window 0..4 is sealed at offset 3; the plain row and window 4..8 at the end.
    assert_eq!(
        by_batch,
        [
            (vec![(0, 2, 3)], vec![1]),
            (vec![], vec![0]),
            (vec![(0, 4, 5)], vec![1]),
        ]
    );
}
