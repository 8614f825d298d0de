//! A batch as ClickHouse compressed frames (what the server reads with
//! `decompress=1`). RowBinary rows go in one frame per batch, up to [`MAX_FRAME`] bytes
//! of rows; a Native block in frames of [`BLOCK_FRAME`] bytes ([`Lz4Framer`]).
//!
//! A frame is a 16-byte CityHash128 checksum (CityHash v1.0.2) of the rest, then a
//! 9-byte header (the method, the compressed size counting the header, the raw size,
//! both `u32` little-endian), then the data: one LZ4 block of the raw bytes (method
//! `0x82`), or the raw bytes themselves (method `0x02`, "none") when a sample of the
//! batch shows LZ4 would not shrink it. The server reads a frame whole and checks its
//! checksum before it parses a row of it, so even a stored frame keeps a cut-off
//! request from inserting part of a batch. A Native block is one block whatever its
//! frames: the server stores it only once it has read all of it, so a request cut at
//! any byte, a frame's end included, stores nothing of it.
//!
//! A frame is sent as a list of pieces ([`Frame`]). The LZ4 frames of a Native block lie
//! back to back in one buffer, kept from block to block ([`Lz4Buffers`]). A RowBinary
//! batch's LZ4 frame is its checksum and header, then the LZ4 block LZ4 wrote; the
//! checksum is computed over the two in one pass ([`cityhash`]). A stored frame copies
//! nothing at all: it is sent as the 25 bytes of checksum and header followed by the
//! chunks themselves. Storing incompressible rows thus saves both the LZ4 pass and
//! every copy of the batch.

mod block;
mod cityhash;
mod kept;

#[cfg(test)]
pub(crate) use block::block_frames;
pub(crate) use block::{
    block_send_memory, stored_block_frames, Lz4Buffers, Lz4Framer, Lz4Frames, BLOCK_FRAME,
};
pub(crate) use kept::Kept;

use batch_core::Batch;
use bytes::Bytes;

/// The most bytes of rows in one frame. A batch up to this size is one frame; servers
/// refuse frames over 1 GiB, and LZ4 may grow incompressible data a little.
pub(crate) const MAX_FRAME: usize = 512 << 20;

const CHECKSUM: usize = 16;
const HEADER: usize = 9;
/// A frame's checksum and header: the bytes before its data.
pub(crate) const FRAME_HEAD: usize = CHECKSUM + HEADER;
const LZ4: u8 = 0x82;
const NONE: u8 = 0x02;

/// How a [`ClickHouseSink`](crate::ClickHouseSink) compresses the frame each batch is
/// sent in ([`ClickHouseSink::compression`](crate::ClickHouseSink::compression)).
///
/// Either way a batch goes in checksummed frames (`decompress=1`), which the server
/// reads whole and checks before it parses a row, so a cut-off request stores nothing
/// of the batch, and every attempt at a batch sends the same bytes.
///
/// # Examples
///
/// ```no_run
/// use batch_clickhouse::{ClickHouseSink, InsertCompression};
///
/// let client = clickhouse::Client::default().with_url("http://127.0.0.1:8123");
/// // On a fast local network, spend no client CPU on LZ4.
/// let sink = ClickHouseSink::new(client).compression(InsertCompression::None);
/// # drop(sink);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum InsertCompression {
    /// LZ4 (the default): fewer bytes on the wire for some client CPU. A batch whose
    /// rows LZ4 would not shrink (judged on its first 64 KiB) is stored instead.
    #[default]
    Lz4,
    /// No compression: the frame stores the rows as they are (ClickHouse's `NONE`
    /// method), after a 25-byte checksum and header; only the checksum's pass over the
    /// bytes costs CPU. RowBinary batches are sent from the batch's own chunks, without
    /// a copy.
    None,
}

impl std::fmt::Display for InsertCompression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            InsertCompression::Lz4 => "LZ4",
            InsertCompression::None => "none",
        })
    }
}

impl InsertCompression {
    /// Whether `batch` goes in LZ4 frames: with [`InsertCompression::Lz4`], when LZ4
    /// shrinks its rows ([`compressible`]). Deterministic, as every attempt must decide
    /// the same.
    pub(crate) fn lz4_for(self, batch: &Batch) -> bool {
        match self {
            InsertCompression::Lz4 => compressible(batch),
            InsertCompression::None => false,
        }
    }
}

/// How much of the batch is compressed to decide whether LZ4 pays.
const SAMPLE: usize = 64 << 10;

/// Whether LZ4 shrinks `batch`, judged on its first [`SAMPLE`] bytes: by at least a
/// tenth. Deterministic, so that every attempt of a batch sends the same bytes.
pub(crate) fn compressible(batch: &Batch) -> bool {
    let Some(first) = batch.chunks().next() else {
        return true;
    };
    let sample = &first[..first.len().min(SAMPLE)];
    if sample.len() < 1024 {
        return true;
    }
    let compressed = lz4_flex::block::compress(sample).len();
    compressed * 10 < sample.len() * 9
}

/// Why a batch could not be framed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FrameError {
    /// LZ4 refused the input (its output buffer was too small: a bug).
    #[error("LZ4 compression failed: {0}")]
    Compress(#[from] lz4_flex::block::CompressError),
    /// A size does not fit the header's `u32`.
    #[error("a compressed frame of {0} bytes does not fit the frame header")]
    TooLarge(usize),
}

/// One frame as the pieces it is sent in: in order, they are the frame's bytes: its
/// checksum and header, then the LZ4 block of a compressed frame, or the rows of a
/// stored frame as slices of the batch's chunks (sharing their memory).
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    pieces: Vec<Bytes>,
}

impl Frame {
    /// The pieces, to be sent in order.
    #[cfg(test)]
    pub(crate) fn into_pieces(self) -> Vec<Bytes> {
        self.pieces
    }

    /// The pieces, to be sent in order (each a reference-counted view).
    pub(crate) fn pieces(&self) -> &[Bytes] {
        &self.pieces
    }
}

/// The 9-byte header of a frame of `data` bytes holding `raw` bytes of rows.
fn header(method: u8, data: usize, raw: usize) -> Result<[u8; HEADER], FrameError> {
    let sized = HEADER
        .checked_add(data)
        .and_then(|s| u32::try_from(s).ok())
        .ok_or(FrameError::TooLarge(data))?;
    let raw_len = u32::try_from(raw).map_err(|_| FrameError::TooLarge(raw))?;
    let mut out = [0u8; HEADER];
    out[0] = method;
    out[1..5].copy_from_slice(&sized.to_le_bytes());
    out[5..].copy_from_slice(&raw_len.to_le_bytes());
    Ok(out)
}

/// The most bytes LZ4 writes for `len` bytes of input (the LZ4 block format's worst
/// case: incompressible input grows by 1/255 and a few bytes), plus the frame's
/// checksum and header.
#[must_use]
pub(crate) fn frame_bound(len: usize) -> usize {
    CHECKSUM + HEADER + len + len / 255 + 16
}

/// The bytes the sink holds, beyond the batch, while it sends `batch`: the frames (and
/// the room LZ4 asks for beyond the compressed size while it writes one, a tenth of its
/// rows), and the contiguous copy of the rows of one frame while it is compressed
/// (none when the frame's rows are one piece of memory already); for stored frames,
/// which share the batch's memory, only their checksums and headers and the lists of
/// their pieces.
#[must_use]
pub(crate) fn send_memory(batch: &Batch, max_frame: usize, lz4: bool) -> usize {
    let len = batch.len();
    let max_frame = max_frame.max(1);
    let frames = len.div_ceil(max_frame);
    let headers = frames * (CHECKSUM + HEADER);
    if !lz4 {
        // Stored frames: their checksums and headers, and the lists of pieces that
        // point into the batch's chunks (a chunk split between two frames is two).
        let pieces = batch.chunks().len() + 2 * frames;
        return headers + pieces * std::mem::size_of::<Bytes>();
    }
    let copy = if batch.chunks().len() == 1 && len <= max_frame {
        0
    } else {
        len.min(max_frame)
    };
    frame_bound(len)
        + frames.saturating_sub(1) * frame_bound(0)
        + lz4_room(len.min(max_frame))
        + copy
}

/// What LZ4 asks for beyond [`frame_bound`] while it writes a frame of `len` bytes of
/// rows: its worst case is 110% of the input and 20 bytes.
fn lz4_room(len: usize) -> usize {
    (lz4_flex::block::get_maximum_output_size(len) + CHECKSUM + HEADER)
        .saturating_sub(frame_bound(len))
}
/// Calls `each` with the batch's rows in pieces of at most `max` bytes, as few as
/// possible: one piece (the chunk itself when the batch is one chunk) unless the batch
/// is larger than `max`. Pieces of several chunks are copied into `buf`, one at a time.
fn pieces<E>(
    batch: &Batch,
    max: usize,
    buf: &mut Vec<u8>,
    mut each: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), E> {
    let max = max.max(1);
    if batch.chunks().len() == 1 && batch.len() <= max {
        return batch.chunks().try_for_each(|chunk| each(&chunk));
    }
    buf.clear();
    buf.reserve_exact(batch.len().min(max));
    for chunk in batch.chunks() {
        let mut rest = &chunk[..];
        while !rest.is_empty() {
            let take = rest.len().min(max - buf.len());
            buf.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if buf.len() == max {
                each(buf)?;
                buf.clear();
            }
        }
    }
    if !buf.is_empty() {
        each(buf)?;
    }
    Ok(())
}

/// Appends the LZ4 frame of `raw` to `out`: its checksum and header, then the LZ4
/// block. LZ4 writes into `out` itself, zeroed first up to the worst case (on a kept
/// buffer, memory already in place), then cut to the compressed size.
///
/// # Errors
///
/// A [`FrameError`] when LZ4 fails or a size does not fit the header.
fn append_lz4(out: &mut Vec<u8>, raw: &[u8]) -> Result<(), FrameError> {
    let start = out.len();
    let meta = start + CHECKSUM + HEADER;
    let room = CHECKSUM + HEADER + lz4_flex::block::get_maximum_output_size(raw.len());
    // No more than that: a buffer grown by doubling might not be kept (see `Kept`).
    out.reserve_exact(room);
    out.resize(start + room, 0);
    let data = lz4_flex::block::compress_into(raw, &mut out[meta..])?;
    out.truncate(meta + data);
    out[start + CHECKSUM..meta].copy_from_slice(&header(LZ4, data, raw.len())?);
    let checksum = cityhash_rs::cityhash_102_128(&out[start + CHECKSUM..]);
    out[start..start + CHECKSUM].copy_from_slice(&checksum_bytes(checksum));
    Ok(())
}

/// Compresses `raw` into one frame.
#[cfg(test)]
pub(crate) fn compress(raw: &[u8]) -> Result<Frame, FrameError> {
    let mut out = Vec::new();
    append_lz4(&mut out, raw)?;
    Ok(Frame {
        pieces: vec![Bytes::from(out)],
    })
}

/// Frames lying back to back in `whole`, ending at `ends`.
fn slices(whole: &Bytes, ends: &[usize]) -> Vec<Frame> {
    let mut start = 0;
    ends.iter()
        .map(|&end| {
            let frame = whole.slice(start..end);
            start = end;
            Frame {
                pieces: vec![frame],
            }
        })
        .collect()
}

/// The buffer behind `whole`, emptied, when nothing else refers to it any more (no frame
/// sliced from it is still held), to keep for the next batch.
pub(crate) fn reclaim(whole: Bytes) -> Option<Vec<u8>> {
    let mut buf = whole.try_into_mut().ok()?;
    // Emptied first, so that taking the vector back moves no byte.
    buf.clear();
    Some(buf.into())
}

/// A checksum as the frame holds it: ClickHouse writes the two halves of CityHash128
/// low word first.
fn checksum_bytes(checksum: u128) -> [u8; CHECKSUM] {
    checksum.rotate_right(64).to_le_bytes()
}

/// The batch as frames of at most `max_frame` raw bytes each: one frame unless the
/// batch is larger, and with LZ4 the buffer the frames lie in, to give back to `kept`
/// once they are dropped ([`Kept::recycle_frames`]). A batch of several chunks is
/// compressed from a contiguous copy; the copy's buffer and the frames' come from
/// `kept`. Stored frames copy nothing. CPU-bound (LZ4, or the checksum's pass over the
/// rows): call it off the async worker threads.
///
/// # Errors
///
/// A [`FrameError`] when a size does not fit the header.
pub(crate) fn frames(
    batch: &Batch,
    max_frame: usize,
    lz4: bool,
    kept: &Kept,
) -> Result<(Vec<Frame>, Option<Bytes>), FrameError> {
    if !lz4 {
        return Ok((stored(batch.chunks(), batch.len(), max_frame)?, None));
    }
    let mut copy = kept.take_copy();
    let mut out = kept.take_frames();
    let mut ends = Vec::with_capacity(batch.len().div_ceil(max_frame.max(1)));
    let made = pieces(batch, max_frame, &mut copy, |piece| {
        append_lz4(&mut out, piece)?;
        ends.push(out.len());
        Ok::<(), FrameError>(())
    });
    kept.keep_copy(copy);
    made?;
    let whole = Bytes::from(out);
    Ok((slices(&whole, &ends), Some(whole)))
}

/// Frames of method "none", made of slices of `chunks` (`len` bytes in all): nothing is
/// copied.
fn stored(
    chunks: impl Iterator<Item = Bytes>,
    len: usize,
    max_frame: usize,
) -> Result<Vec<Frame>, FrameError> {
    let max = max_frame.max(1);
    let mut frames = Vec::with_capacity(len.div_ceil(max));
    let mut rows = Vec::new();
    let mut size = 0;
    for mut chunk in chunks {
        while !chunk.is_empty() {
            let take = chunk.len().min(max - size);
            rows.push(chunk.split_to(take));
            size += take;
            if size == max {
                frames.push(seal_stored(std::mem::take(&mut rows), size)?);
                size = 0;
            }
        }
    }
    if size > 0 {
        frames.push(seal_stored(rows, size)?);
    }
    Ok(frames)
}

/// The stored frame of `rows` (`size` bytes): its checksum, computed over the header and
/// the rows in one pass, and header, then the rows.
fn seal_stored(rows: Vec<Bytes>, size: usize) -> Result<Frame, FrameError> {
    let mut meta = [0u8; CHECKSUM + HEADER];
    meta[CHECKSUM..].copy_from_slice(&header(NONE, size, size)?);
    let checksum = cityhash::cityhash_102_128(
        std::iter::once(&meta[CHECKSUM..]).chain(rows.iter().map(|r| &r[..])),
    );
    meta[..CHECKSUM].copy_from_slice(&checksum_bytes(checksum));
    let mut pieces = Vec::with_capacity(1 + rows.len());
    pieces.push(Bytes::copy_from_slice(&meta));
    pieces.extend(rows);
    Ok(Frame { pieces })
}

#[cfg(test)]
mod tests;
