//! The bytes of a batch's insert: the Native block or the RowBinary rows, in LZ4 or
//! stored frames, made on a blocking thread.

use std::sync::Arc;

use batch_core::{Batch, SinkError};
use bytes::Bytes;

use super::Prepared;
use crate::frame::{self, Frame, InsertCompression, Kept, BLOCK_FRAME, MAX_FRAME};
use crate::native::NativeBlock;

/// The frames of a batch's insert, kept on the batch between the attempts of a delivery
/// ([`Batch::keep_encoded`]).
pub(super) struct Frames {
    frames: Vec<Frame>,
    /// The buffer the frames lie in (LZ4 frames, or a Native block in stored frames),
    /// given back for the next batch once the frames are dropped (when the batcher
    /// forgets them, at the end of the delivery).
    kept: Option<(Bytes, Keeper)>,
}

/// Who takes back the buffer of a batch's frames.
enum Keeper {
    /// The transcoder, for the next block.
    Native(Arc<NativeBlock>),
    /// The sender's RowBinary buffers.
    RowBinary(Arc<Kept>),
}

impl Frames {
    /// The bytes of the insert, in order.
    pub(super) fn pieces(&self) -> impl Iterator<Item = &Bytes> {
        self.frames.iter().flat_map(Frame::pieces)
    }

    /// The bytes these frames hold beyond the batch's rows: the buffer they lie in, and
    /// the heads of frames whose data are the rows themselves.
    pub(super) fn held(&self) -> usize {
        let whole = self.kept.as_ref().map_or(0, |(whole, _)| whole.len());
        whole + self.frames.len() * frame::FRAME_HEAD
    }
}

impl Drop for Frames {
    fn drop(&mut self) {
        // The frames are slices of the kept buffer: dropped first, so that it is free.
        self.frames.clear();
        match self.kept.take() {
            Some((whole, Keeper::Native(native))) => native.recycle_frames(whole),
            Some((whole, Keeper::RowBinary(kept))) => kept.recycle_frames(whole),
            None => {}
        }
    }
}

/// Makes the batch's frames on a blocking thread (the Native block, then LZ4 or the
/// checksum's pass over the rows of a stored frame).
pub(super) async fn frames(
    batch: &Batch,
    native: Option<Arc<NativeBlock>>,
    kept: Arc<Kept>,
    compression: InsertCompression,
) -> Result<Frames, SinkError> {
    let owned = batch.clone();
    let rows = batch.rows();
    let framing = move |e: frame::FrameError| {
        SinkError::permanent(format!("ClickHouse: compressing {rows} rows: {e}")).with_source(e)
    };
    let job = move || -> Result<Frames, SinkError> {
        let Some(native) = native else {
            let lz4 = compression.lz4_for(&owned);
            let (frames, whole) = frame::frames(&owned, MAX_FRAME, lz4, &kept).map_err(framing)?;
            return Ok(Frames {
                frames,
                kept: whole.map(|whole| (whole, Keeper::RowBinary(kept))),
            });
        };
        // Rows that do not read as their columns' values (rows written by hand, or a
        // bug): the row is named, as the server names a row it cannot parse.
        let transcode_error = |e: crate::Error| {
            let row = match &e {
                crate::Error::Transcode { row, column, .. } if !column.is_empty() => Some(*row),
                _ => None,
            };
            let err = SinkError::permanent(format!("ClickHouse: {e}"));
            match row {
                Some(row) => err.caused_by_data().with_row(row),
                None => err,
            }
            .with_source(e)
        };
        // The buffers of an earlier batch, given back for the next one once the block
        // is compressed from its columns (a stored frame takes the joined block itself).
        let mut scratch = native.scratch();
        let framed = match native.transcode_into(&owned, &mut scratch) {
            Err(e) => Err(transcode_error(e)),
            Ok(()) if compression == InsertCompression::Lz4 => native
                .lz4_frames(&mut scratch, BLOCK_FRAME)
                .map(|made| Frames {
                    frames: made.frames,
                    kept: Some((made.whole, Keeper::Native(native.clone()))),
                })
                .map_err(framing),
            Ok(()) => {
                native.assemble(&mut scratch);
                let block = Bytes::from(scratch.take_block());
                frame::stored_block_frames(block.clone(), MAX_FRAME)
                    .map(|frames| Frames {
                        frames,
                        kept: Some((block, Keeper::Native(native.clone()))),
                    })
                    .map_err(framing)
            }
        };
        native.recycle(scratch);
        framed
    };
    match tokio::task::spawn_blocking(job).await {
        Ok(result) => result,
        // The same bytes would panic again.
        Err(e) if e.is_panic() => Err(SinkError::permanent(format!(
            "ClickHouse: compressing {} rows panicked",
            batch.rows()
        ))),
        Err(e) => Err(SinkError::retryable(format!(
            "ClickHouse: compressing {} rows was cancelled: {e}",
            batch.rows()
        ))),
    }
}

/// The transcoder and statement for `batch` when it goes in Native: when the sink sends
/// Native, without compression or with LZ4 when LZ4 shrinks the batch's rows. Rows LZ4
/// cannot shrink go in RowBinary, in a stored frame made of the batch's own chunks,
/// without a copy (see [`ClickHouseSink::insert_format`](crate::ClickHouseSink::insert_format)). Deterministic: every attempt
/// decides the same.
pub(super) fn native_for<'p>(
    p: &'p Prepared,
    compression: InsertCompression,
    batch: &Batch,
) -> Option<&'p (Arc<NativeBlock>, String)> {
    p.native.as_ref().filter(|_| match compression {
        InsertCompression::None => true,
        _ => frame::compressible(batch),
    })
}
