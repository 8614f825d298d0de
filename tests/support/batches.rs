//! Batches built from rows as the batcher builds them, for tests that call a sink
//! directly.

use batchrow::{Batch, ChunkFull, EncodeError, EncodeRow, Format, RowBuffer};

/// Why a row could not be put into a test batch.
#[derive(Debug)]
pub enum PushError {
    /// The row did not encode.
    Encode(EncodeError),
    /// The chunk is full (4 GiB).
    Full(ChunkFull),
}

impl From<ChunkFull> for PushError {
    fn from(e: ChunkFull) -> Self {
        PushError::Full(e)
    }
}

/// Encodes `rows` for `columns` into batch `id`, in chunks of `chunk_rows` rows (as
/// producers hand them over).
pub fn encode<F: Format, R: EncodeRow<F>>(
    id: u64,
    rows: &[R],
    columns: &[F::Column],
    chunk_rows: usize,
) -> Result<Batch, PushError> {
    let mut buf = RowBuffer::default();
    let mut chunks = Vec::new();
    for row in rows {
        buf.push_row(|b| row.encode_row(columns, b).map_err(PushError::Encode))?;
        if buf.rows() == chunk_rows {
            chunks.push(buf.take());
        }
    }
    chunks.push(buf.take());
    Ok(Batch::new(id, chunks))
}

/// A batch of raw bytes, one row per slice: for data a real encoder would not write.
pub fn raw(rows: &[&[u8]]) -> Batch {
    let mut buf = RowBuffer::default();
    for r in rows {
        buf.push_row(|b| {
            b.extend_from_slice(r);
            Ok::<_, ChunkFull>(())
        })
        .unwrap();
    }
    Batch::new(0, vec![buf.take()])
}
