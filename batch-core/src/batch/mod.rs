//! Encoded rows: the chunks producers fill and the frozen batches sinks send.

mod chunk;
mod encoded;
mod row_buffer;

use std::any::Any;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;

use crate::position::{self, PositionRange};

pub use chunk::Chunk;
pub(crate) use encoded::Release;
pub use row_buffer::{ChunkFull, RowBuffer};

/// A sealed batch: frozen chunks of encoded rows, sent to a sink as one insert.
///
/// The bytes never change once sealed, so a retry sends exactly the same bytes.
/// Cloning is cheap (reference counts).
#[derive(Clone)]
pub struct Batch {
    id: u64,
    /// The index of the first row within the sealed batch this one was sliced from.
    first: usize,
    chunks: Vec<Chunk>,
    rows: usize,
    bytes: usize,
    /// What the sink made of the batch during its current delivery.
    encoded: encoded::Encoded,
}

impl Batch {
    /// A batch of the given chunks (empty chunks are dropped).
    #[must_use]
    pub fn new(id: u64, chunks: Vec<Chunk>) -> Self {
        let chunks: Vec<Chunk> = chunks.into_iter().filter(|c| !c.is_empty()).collect();
        let rows = chunks.iter().map(Chunk::rows).sum();
        let bytes = chunks.iter().map(Chunk::len).sum();
        Batch {
            id,
            first: 0,
            chunks,
            rows,
            bytes,
            encoded: encoded::Encoded::default(),
        }
    }

    /// The batch id, unique within one batcher.
    #[must_use]
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The number of rows.
    #[must_use]
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The number of encoded bytes (without any format header or trailer).
    #[must_use]
    pub fn len(&self) -> usize {
        self.bytes
    }

    /// Whether the batch holds no row.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The chunks of the batch.
    pub(crate) fn chunk_list(&self) -> &[Chunk] {
        &self.chunks
    }

    /// The encoded rows as a sequence of byte buffers, to be sent in order.
    pub fn chunks(&self) -> impl ExactSizeIterator<Item = Bytes> + '_ {
        self.chunks.iter().map(Chunk::bytes)
    }

    /// The encoded bytes of row `i`.
    #[must_use]
    pub fn row(&self, mut i: usize) -> Option<&[u8]> {
        for c in &self.chunks {
            if i < c.rows() {
                return c.row(i);
            }
            i -= c.rows();
        }
        None
    }

    /// The rows `range` of this batch as a batch of their own with the same id, sharing
    /// the same bytes. Used to isolate a bad row by bisection.
    #[must_use]
    pub fn slice(&self, range: Range<usize>) -> Batch {
        let end = range.end.min(self.rows);
        let mut start = range.start.min(end);
        let mut remaining = end - start;
        let mut chunks = Vec::new();
        for c in &self.chunks {
            if remaining == 0 {
                break;
            }
            if start >= c.rows() {
                start -= c.rows();
                continue;
            }
            let take = (c.rows() - start).min(remaining);
            chunks.push(c.slice(start..start + take));
            remaining -= take;
            start = 0;
        }
        let mut part = Batch::new(self.id, chunks);
        part.first = self.first + range.start.min(end);
        part
    }

    /// The positions of the batch's rows in the user's source, as ranges of consecutive
    /// offsets (empty when producers attached none; rows without one are left out).
    ///
    /// # Examples
    ///
    /// ```
    /// use batch_core::{Batch, ChunkFull, Position, RowBuffer};
    ///
    /// let mut buf = RowBuffer::default();
    /// for offset in 40..44 {
    ///     buf.push_row_at(Position::new(2, offset), |out| {
    ///         out.push(0);
    ///         Ok::<_, ChunkFull>(())
    ///     })?;
    /// }
    /// let batch = Batch::new(1, vec![buf.take()]);
    /// let ranges = batch.slice(1..4).positions();
    /// assert_eq!((ranges[0].stream, ranges[0].first, ranges[0].last), (2, 41, 43));
    /// assert_eq!(ranges[0].rows, 0..3);
    /// # Ok::<_, ChunkFull>(())
    /// ```
    #[must_use]
    pub fn positions(&self) -> Vec<PositionRange> {
        let mut out = Vec::new();
        let mut base = 0;
        for c in &self.chunks {
            if let Some(runs) = &c.runs {
                position::clip(runs, &c.rows, base, &mut out);
            }
            base += c.rows();
        }
        out
    }

    /// What a sink kept of this batch with [`keep_encoded`](Batch::keep_encoded) during
    /// the current delivery, if it is a `T`.
    ///
    /// A sink that transforms the rows before sending them (compresses them, say) can
    /// keep the result for the next attempt, so that a retry sends the same bytes
    /// without making them again. The batcher forgets it when the delivery ends
    /// (committed, or failed for good), and counts it in the memory budget meanwhile
    /// if the sink includes it in [`Sender::send_memory`](crate::Sender::send_memory).
    /// A part made by [`slice`](Batch::slice) starts with nothing kept.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use batch_core::{Batch, ChunkFull, RowBuffer};
    ///
    /// let mut buf = RowBuffer::default();
    /// buf.push_row(|out| { out.extend_from_slice(b"row"); Ok::<_, ChunkFull>(()) })?;
    /// let batch = Batch::new(1, vec![buf.take()]);
    /// assert!(batch.encoded::<Vec<u8>>().is_none());
    /// batch.keep_encoded(Arc::new(b"ROW".to_vec()));
    /// // A clone (the batcher's retry) sees it; a slice does not.
    /// assert_eq!(batch.clone().encoded::<Vec<u8>>().as_deref(), Some(&b"ROW".to_vec()));
    /// assert!(batch.slice(0..1).encoded::<Vec<u8>>().is_none());
    /// # Ok::<_, ChunkFull>(())
    /// ```
    #[must_use]
    pub fn encoded<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.encoded.get()
    }

    /// Keeps what the sink made of this batch for the next attempt of the same delivery
    /// (replacing what was kept); see [`encoded`](Batch::encoded).
    pub fn keep_encoded<T: Any + Send + Sync>(&self, made: Arc<T>) {
        self.encoded.keep(made);
    }

    /// Tells the batcher that, for the rest of the current delivery, the sink holds no
    /// more than `bytes` beyond the batch's rows while it sends the batch: less than
    /// [`Sender::send_memory`](crate::Sender::send_memory) said it might need before the
    /// send started. The batcher gives the difference back to `max_buffered_bytes` at
    /// once, so that producers and other deliveries can use it.
    ///
    /// Call it once what the sink holds is known and will not grow again in this
    /// delivery: typically right after [`keep_encoded`](Batch::keep_encoded), when the
    /// working buffers of the encoding are freed and only its result is kept for the
    /// attempts. It never raises the reservation, and does nothing outside a delivery
    /// (a batch the batcher is not sending).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use batch_core::{Batch, ChunkFull, RowBuffer};
    ///
    /// // In a sender's `send`: compress once, keep the result, and say what is held.
    /// fn compress(batch: &Batch) -> Arc<Vec<u8>> {
    ///     let frame: Vec<u8> = batch.chunks().flat_map(|c| c.to_vec()).collect();
    ///     let frame = Arc::new(frame);
    ///     batch.keep_encoded(frame.clone());
    ///     batch.shrink_send_memory(frame.len());
    ///     frame
    /// }
    ///
    /// let mut buf = RowBuffer::default();
    /// buf.push_row(|out| { out.extend_from_slice(b"row"); Ok::<_, ChunkFull>(()) })?;
    /// let batch = Batch::new(1, vec![buf.take()]);
    /// assert_eq!(compress(&batch).as_slice(), b"row");
    /// # Ok::<_, ChunkFull>(())
    /// ```
    pub fn shrink_send_memory(&self, bytes: usize) {
        self.encoded.shrink_send(bytes);
    }

    /// Notes the bytes the batcher reserved for this delivery's send.
    pub(crate) fn reserve_send(&self, bytes: usize, release: encoded::Release) {
        self.encoded.reserve_send(bytes, release);
    }

    /// The bytes still reserved for this delivery's send, which the caller gives back:
    /// the delivery ended.
    pub(crate) fn end_send(&self) -> usize {
        self.encoded.end_send()
    }

    /// Drops what the sink kept: the delivery ended.
    pub(crate) fn forget_encoded(&self) {
        self.encoded.forget();
    }

    /// The rows of the sealed batch this batch holds: `0..rows()` for a whole batch, and
    /// the range it was cut from for a part made by [`slice`](Batch::slice) (of a slice,
    /// counted from the sealed batch). Two parts of one batch never share a range, even
    /// when their bytes are equal.
    ///
    /// # Examples
    ///
    /// ```
    /// use batch_core::{Batch, ChunkFull, RowBuffer};
    ///
    /// let mut buf = RowBuffer::default();
    /// for row in [b"a", b"b", b"c", b"d"] {
    ///     buf.push_row(|out| { out.extend_from_slice(row); Ok::<_, ChunkFull>(()) })?;
    /// }
    /// let batch = Batch::new(1, vec![buf.take()]);
    /// assert_eq!(batch.range(), 0..4);
    /// assert_eq!(batch.slice(2..4).slice(1..2).range(), 3..4);
    /// # Ok::<_, ChunkFull>(())
    /// ```
    #[must_use]
    pub fn range(&self) -> Range<usize> {
        self.first..self.first + self.rows
    }
}

// The Debug output names sizes, not contents: a batch can hold megabytes, and it ends
// up in error messages and logs.
impl fmt::Debug for Batch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batch")
            .field("id", &self.id)
            .field("rows", &self.rows)
            .field("bytes", &self.bytes)
            .field("chunks", &self.chunks.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffer(rows: &[&[u8]]) -> RowBuffer {
        let mut b = RowBuffer::default();
        for r in rows {
            b.push_row(|buf| {
                buf.extend_from_slice(r);
                Ok::<_, ChunkFull>(())
            })
            .unwrap();
        }
        b
    }

    #[test]
    fn batch_rows_and_slices_share_bytes() {
        let c1 = buffer(&[b"a", b"bc"]).take();
        let c2 = buffer(&[b"def", b"", b"g"]).take();
        let batch = Batch::new(7, vec![c1, c2]);
        assert_eq!(batch.rows(), 5);
        assert_eq!(batch.len(), 7);
        assert_eq!(batch.row(1), Some(&b"bc"[..]));
        assert_eq!(batch.row(3), Some(&b""[..]));
        assert_eq!(batch.row(4), Some(&b"g"[..]));
        assert_eq!(batch.row(5), None);
        let s = batch.slice(1..4);
        assert_eq!(s.rows(), 3);
        assert_eq!(s.id(), 7);
        let all: Vec<u8> = s.chunks().flat_map(|b| b.to_vec()).collect();
        assert_eq!(all, b"bcdef");
        let t = s.slice(1..3);
        assert_eq!(t.row(0), Some(&b"def"[..]));
        assert_eq!(t.len(), 3);
    }

    #[test]
    fn chunk_rows_within_a_byte_budget() {
        let c = buffer(&[b"a", b"bc", b"def", b"", b"g"]).take();
        assert_eq!(c.rows_within(0), 0);
        assert_eq!(c.rows_within(1), 1);
        assert_eq!(c.rows_within(2), 1);
        assert_eq!(c.rows_within(3), 2);
        assert_eq!(c.rows_within(6), 4);
        assert_eq!(c.rows_within(7), 5);
        assert_eq!(c.rows_within(100), 5);
        let tail = c.slice(2..5);
        assert_eq!(tail.rows_within(3), 2);
        assert_eq!(tail.rows_within(4), 3);
        assert_eq!(tail.slice(1..99).rows(), 2);
        assert_eq!(tail.slice(7..9).rows(), 0);
    }

    #[test]
    fn debug_names_sizes_not_bytes() {
        let batch = Batch::new(3, vec![buffer(&[b"secret", b"data"]).take()]);
        assert_eq!(
            format!("{batch:?}"),
            "Batch { id: 3, rows: 2, bytes: 10, chunks: 1 }"
        );
    }

    #[test]
    fn failed_write_leaves_buffer_unchanged() {
        let mut b = buffer(&[b"xy"]);
        let r = b.push_row(|buf| {
            buf.extend_from_slice(b"partial");
            Err(ChunkFull)
        });
        assert!(r.is_err());
        assert_eq!(b.len(), 2);
        assert_eq!(b.rows(), 1);
        let c = b.take();
        assert_eq!(c.bytes(), Bytes::from_static(b"xy"));
        assert!(b.is_empty());
    }
}
