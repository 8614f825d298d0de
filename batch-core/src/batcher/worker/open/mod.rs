//! Filling the open batch: chunks handed over by producers are cut so that a batch never
//! exceeds `max_rows` or `max_bytes`, and sealed into [`Batch`]es.
//!
//! With aligned batches ([`Builder::align_batches`](crate::Builder::align_batches)),
//! rows with a position go to the open batch of their window (their stream, and their
//! offset divided by the span) instead, so that the same positions always make the same
//! batches.

use std::collections::BTreeMap;
use std::iter::Peekable;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::batch::{Batch, Chunk};
use crate::outcome::{Outcome, Waiting};

/// The receipts of a chunk's rows, by row index in the chunk, in row order.
type Receipts = Peekable<std::vec::IntoIter<(u32, oneshot::Sender<Outcome>)>>;

/// The batch being filled, and the sequence of the next batch to seal.
#[derive(Debug)]
pub(super) struct Filler {
    max_rows: usize,
    max_bytes: usize,
    next_id: u64,
    /// Rows without a position; every row unless batches are aligned.
    plain: Open,
    /// With aligned batches, the span of a window of offsets.
    span: Option<u64>,
    /// With aligned batches, the open batch of each window with rows, by
    /// `(stream, offset / span)`.
    windows: BTreeMap<(u64, u64), Open>,
}

/// One open batch.
#[derive(Debug, Default)]
struct Open {
    chunks: Vec<Chunk>,
    rows: usize,
    bytes: usize,
    first_at: Option<Instant>,
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

/// The limits and the sequence every open batch shares.
#[derive(Debug)]
struct Sealer<'a> {
    max_rows: usize,
    max_bytes: usize,
    next_id: &'a mut u64,
    sealed: &'a mut Vec<Fresh>,
}

impl Sealer<'_> {
    fn seal(&mut self, open: &mut Open) {
        if open.rows == 0 {
            return;
        }
        let id = *self.next_id;
        *self.next_id += 1;
        let age = open.first_at.take().map_or(Duration::ZERO, |t| {
            Instant::now().saturating_duration_since(t)
        });
        open.rows = 0;
        open.bytes = 0;
        self.sealed.push(Fresh {
            batch: Batch::new(id, std::mem::take(&mut open.chunks)),
            age,
            receipts: std::mem::take(&mut open.receipts),
        });
    }
}

impl Open {
    /// Adds `chunk`, rows `done..` of the chunk its receipts are counted in, sealing
    /// whenever the batch is full.
    fn fill(
        &mut self,
        mut chunk: Chunk,
        first_at: Instant,
        receipts: &mut Receipts,
        mut done: usize,
        sealer: &mut Sealer<'_>,
    ) {
        while !chunk.is_empty() {
            let room_rows = sealer.max_rows.saturating_sub(self.rows);
            let room_bytes = sealer.max_bytes.saturating_sub(self.bytes);
            let mut take = chunk.rows_within(room_bytes).min(room_rows);
            if take == 0 {
                if self.rows > 0 {
                    sealer.seal(self);
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
            if self.rows >= sealer.max_rows || self.bytes >= sealer.max_bytes {
                sealer.seal(self);
            }
        }
    }
}

impl Filler {
    /// A filler; with `span`, rows with a position are batched by window of `span`
    /// offsets.
    pub(super) fn new(max_rows: usize, max_bytes: usize, span: Option<u64>) -> Self {
        Filler {
            max_rows: max_rows.max(1),
            max_bytes: max_bytes.max(1),
            next_id: 0,
            plain: Open::default(),
            span: span.filter(|s| *s > 0),
            windows: BTreeMap::new(),
        }
    }

    /// Rows in the open batches.
    pub(super) fn rows(&self) -> usize {
        self.plain.rows + self.windows.values().map(|w| w.rows).sum::<usize>()
    }

    /// The chunks of the open batches.
    pub(super) fn chunks(&self) -> impl Iterator<Item = &Chunk> {
        self.plain
            .chunks
            .iter()
            .chain(self.windows.values().flat_map(|w| w.chunks.iter()))
    }

    /// When the oldest row of the open batch that `max_wait` seals was accepted (aligned
    /// windows wait for their last offset instead).
    pub(super) fn first_at(&self) -> Option<Instant> {
        self.plain.first_at
    }

    /// The sequence the next sealed batch gets: every batch sealed so far has a smaller
    /// one.
    pub(super) fn next_id(&self) -> u64 {
        self.next_id
    }

    fn sealer<'a>(
        next_id: &'a mut u64,
        limits: (usize, usize),
        sealed: &'a mut Vec<Fresh>,
    ) -> Sealer<'a> {
        Sealer {
            max_rows: limits.0,
            max_bytes: limits.1,
            next_id,
            sealed,
        }
    }

    /// Adds a chunk whose first row was accepted at `first_at` (and the receipts of its
    /// rows, by row index), pushing every batch that fills up to `sealed`.
    pub(super) fn add(
        &mut self,
        chunk: Chunk,
        first_at: Instant,
        receipts: Vec<(u32, oneshot::Sender<Outcome>)>,
        sealed: &mut Vec<Fresh>,
    ) {
        let mut receipts = receipts.into_iter().peekable();
        let limits = (self.max_rows, self.max_bytes);
        let mut sealer = Self::sealer(&mut self.next_id, limits, sealed);
        let Some(span) = self.span else {
            self.plain
                .fill(chunk, first_at, &mut receipts, 0, &mut sealer);
            return;
        };
        // Rows of the chunk already placed.
        let mut done = 0;
        for range in chunk.positions() {
            if range.rows.start > done {
                let part = chunk.slice(done..range.rows.start);
                self.plain
                    .fill(part, first_at, &mut receipts, done, &mut sealer);
            }
            // The range, cut where its offsets cross into the next window.
            let mut row = range.rows.start;
            let mut offset = range.first;
            while row < range.rows.end {
                let window = offset / span;
                let window_end = window.saturating_add(1).saturating_mul(span);
                let left = (range.rows.end - row) as u64;
                let take = left.min(window_end - offset);
                // `take` is at most the rows left in the range, a usize.
                let rows = usize::try_from(take).unwrap_or(range.rows.end - row);
                // Rows of one stream arrive in offset order: a window of the stream
                // before this one will get no more rows.
                let earlier: Vec<(u64, u64)> = self
                    .windows
                    .range((range.stream, 0)..(range.stream, window))
                    .map(|(k, _)| *k)
                    .collect();
                for key in earlier {
                    if let Some(mut open) = self.windows.remove(&key) {
                        sealer.seal(&mut open);
                    }
                }
                let open = self.windows.entry((range.stream, window)).or_default();
                let part = chunk.slice(row..row + rows);
                open.fill(part, first_at, &mut receipts, row, &mut sealer);
                row += rows;
                offset += take;
                if offset == window_end {
                    // The window's last offset arrived.
                    if let Some(mut open) = self.windows.remove(&(range.stream, window)) {
                        sealer.seal(&mut open);
                    }
                } else if open_is_empty(&self.windows, (range.stream, window)) {
                    self.windows.remove(&(range.stream, window));
                }
            }
            done = range.rows.end;
        }
        if done < chunk.rows() {
            let part = chunk.slice(done..chunk.rows());
            self.plain
                .fill(part, first_at, &mut receipts, done, &mut sealer);
        }
    }

    /// Seals the open batch of rows without a position, if it has rows.
    pub(super) fn seal_plain(&mut self, sealed: &mut Vec<Fresh>) {
        let limits = (self.max_rows, self.max_bytes);
        Self::sealer(&mut self.next_id, limits, sealed).seal(&mut self.plain);
    }

    /// Seals every open batch: the one of rows without a position, then every window in
    /// order.
    pub(super) fn seal_all(&mut self, sealed: &mut Vec<Fresh>) {
        let limits = (self.max_rows, self.max_bytes);
        let mut sealer = Self::sealer(&mut self.next_id, limits, sealed);
        sealer.seal(&mut self.plain);
        for (_, mut open) in std::mem::take(&mut self.windows) {
            sealer.seal(&mut open);
        }
    }
}

/// Whether the window `key` is open with no rows (a batch of it was just sealed full).
fn open_is_empty(windows: &BTreeMap<(u64, u64), Open>, key: (u64, u64)) -> bool {
    windows.get(&key).is_some_and(|w| w.rows == 0)
}

#[cfg(test)]
mod tests;
