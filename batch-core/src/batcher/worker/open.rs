//! Filling the open batch: chunks handed over by producers are cut so that a batch never
//! exceeds `max_rows` or `max_bytes`, and sealed into [`Batch`]es.

use std::time::Duration;

use tokio::time::Instant;

use crate::batch::{Batch, Chunk};
use crate::outcome::{Outcome, Waiting};

use tokio::sync::oneshot;

/// The batch being filled, and the sequence of the next batch to seal.
#[derive(Debug)]
pub(super) struct Filler {
    max_rows: usize,
    max_bytes: usize,
    chunks: Vec<Chunk>,
    rows: usize,
    bytes: usize,
    first_at: Option<Instant>,
    next_id: u64,
    /// Receipts of rows in the open batch, by row index in it.
    receipts: Vec<Waiting>,
}

/// A batch just sealed, with the age of its oldest row.
#[derive(Debug)]
pub(super) struct Fresh {
    pub(super) batch: Batch,
    pub(super) age: Duration,
    pub(super) receipts: Vec<Waiting>,
}

impl Filler {
    pub(super) fn new(max_rows: usize, max_bytes: usize) -> Self {
        Filler {
            max_rows: max_rows.max(1),
            max_bytes: max_bytes.max(1),
            chunks: Vec::new(),
            rows: 0,
            bytes: 0,
            first_at: None,
            next_id: 0,
            receipts: Vec::new(),
        }
    }

    /// Rows in the open batch.
    pub(super) fn rows(&self) -> usize {
        self.rows
    }

    /// The chunks of the open batch.
    pub(super) fn chunks(&self) -> &[Chunk] {
        &self.chunks
    }

    /// When the oldest row of the open batch was accepted.
    pub(super) fn first_at(&self) -> Option<Instant> {
        self.first_at
    }

    /// The sequence the next sealed batch gets: every batch sealed so far has a smaller
    /// one.
    pub(super) fn next_id(&self) -> u64 {
        self.next_id
    }

    /// Adds a chunk whose first row was accepted at `first_at` (and the receipts of its
    /// rows, by row index), pushing every batch that fills up to `sealed`.
    pub(super) fn add(
        &mut self,
        mut chunk: Chunk,
        first_at: Instant,
        receipts: Vec<(u32, oneshot::Sender<Outcome>)>,
        sealed: &mut Vec<Fresh>,
    ) {
        let mut receipts = receipts.into_iter().peekable();
        // Rows of the chunk already placed in batches.
        let mut done = 0usize;
        while !chunk.is_empty() {
            let room_rows = self.max_rows.saturating_sub(self.rows);
            let room_bytes = self.max_bytes.saturating_sub(self.bytes);
            let mut take = chunk.rows_within(room_bytes).min(room_rows);
            if take == 0 {
                if self.rows > 0 {
                    sealed.extend(self.seal());
                    continue;
                }
                // A row above max_bytes (insert refuses those): send it alone.
                take = 1;
            }
            let part = chunk.slice(0..take);
            chunk = chunk.slice(take..chunk.rows());
            while let Some((row, tx)) = receipts.next_if(|(row, _)| (*row as usize) < done + take) {
                self.receipts
                    .push((self.rows + (row as usize).saturating_sub(done), tx));
            }
            done += take;
            self.rows += part.rows();
            self.bytes += part.len();
            self.first_at = Some(self.first_at.map_or(first_at, |t| t.min(first_at)));
            self.chunks.push(part);
            if self.rows >= self.max_rows || self.bytes >= self.max_bytes {
                sealed.extend(self.seal());
            }
        }
    }

    /// Seals the open batch, if it has rows.
    pub(super) fn seal(&mut self) -> Option<Fresh> {
        if self.rows == 0 {
            return None;
        }
        let id = self.next_id;
        self.next_id += 1;
        let age = self.first_at.take().map_or(Duration::ZERO, |t| {
            Instant::now().saturating_duration_since(t)
        });
        self.rows = 0;
        self.bytes = 0;
        Some(Fresh {
            batch: Batch::new(id, std::mem::take(&mut self.chunks)),
            age,
            receipts: std::mem::take(&mut self.receipts),
        })
    }
}

#[cfg(test)]
mod tests {
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

    fn shape(sealed: &[Fresh]) -> Vec<(u64, usize, usize)> {
        sealed
            .iter()
            .map(|f| (f.batch.id(), f.batch.rows(), f.batch.len()))
            .collect()
    }

    #[test]
    fn batches_never_exceed_max_rows() {
        let mut f = Filler::new(3, 1000);
        let mut sealed = Vec::new();
        f.add(chunk(&[1; 7]), Instant::now(), Vec::new(), &mut sealed);
        assert_eq!(shape(&sealed), [(0, 3, 3), (1, 3, 3)]);
        assert_eq!(f.rows(), 1);
        assert_eq!(f.next_id(), 2);
        let last = f.seal().unwrap();
        assert_eq!((last.batch.id(), last.batch.rows()), (2, 1));
        assert!(f.seal().is_none());
        assert!(f.first_at().is_none());
    }

    #[test]
    fn batches_never_exceed_max_bytes_and_an_oversized_row_goes_alone() {
        let mut f = Filler::new(100, 10);
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
        let mut f = Filler::new(3, 1000);
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
        assert!(f.seal().is_none());
    }

    #[test]
    fn the_oldest_row_sets_the_age() {
        let mut f = Filler::new(100, 100);
        let mut sealed = Vec::new();
        let now = Instant::now();
        let earlier = now.checked_sub(Duration::from_secs(5)).unwrap();
        f.add(chunk(&[1]), now, Vec::new(), &mut sealed);
        f.add(chunk(&[1]), earlier, Vec::new(), &mut sealed);
        assert_eq!(f.first_at(), Some(earlier));
        let fresh = f.seal().unwrap();
        assert!(fresh.age >= Duration::from_secs(5));
    }
}
