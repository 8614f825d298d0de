//! The frames of a Native block: LZ4 frames of at most [`BLOCK_FRAME`] bytes made from
//! the block's columns where they lie ([`Lz4Framer`]), or stored frames sharing the
//! joined block's memory.

use bytes::Bytes;

use super::{
    checksum_bytes, frame_bound, header, slices, stored, Frame, FrameError, CHECKSUM, HEADER, LZ4,
};

/// A block (a Native block) as LZ4 frames of at most `max_frame` bytes each: one frame
/// unless the block is larger.
///
/// # Errors
///
/// A [`FrameError`] when a size does not fit the header.
#[cfg(test)]
pub(crate) fn block_frames(block: &[u8], max_frame: usize) -> Result<Vec<Frame>, FrameError> {
    let mut framer = Lz4Framer::new(max_frame, Lz4Buffers::default());
    framer.write(block)?;
    Ok(framer.finish()?.0.frames)
}

/// The raw bytes of one LZ4 frame of a block written in parts
/// ([`Lz4Framer`]): ClickHouse's own clients compress in frames of this size
/// (`max_compress_block_size`).
pub(crate) const BLOCK_FRAME: usize = 1 << 20;

/// Parts smaller than this are gathered with their neighbours into one frame; larger ones
/// are compressed where they lie.
const GATHER: usize = 64 << 10;

/// The memory an [`Lz4Framer`] writes into, kept by its caller from one block to the
/// next: LZ4 writes each frame into `block` (the worst case of one frame, zeroed once),
/// and the frame is then copied to the end of `frames`, where the block's frames lie
/// back to back.
///
/// Memory of these sizes (a megabyte and more), freed and allocated again, comes back
/// from the allocator as fresh pages the kernel must hand out, and fault in, again: a
/// fresh worst-case buffer for every frame faults in every byte LZ4 writes. Kept, the
/// same pages serve every block.
#[derive(Debug, Default)]
pub(crate) struct Lz4Buffers {
    pub(crate) block: Vec<u8>,
    pub(crate) frames: Vec<u8>,
}

/// The LZ4 frames of a block: slices of one buffer, `whole`, which holds them back to
/// back, and which can be given back (see [`Lz4Buffers`]) once the frames are dropped.
#[derive(Debug)]
pub(crate) struct Lz4Frames {
    pub(crate) frames: Vec<Frame>,
    pub(crate) whole: Bytes,
}

/// Makes the LZ4 frames of a stream of bytes written in parts (the head and columns of
/// a Native block), compressing each part where it lies instead of joining the parts
/// first. Large parts are cut into frames of at most the framer's size; small ones are
/// gathered with their neighbours (copying at most [`GATHER`] bytes of a large part
/// that follows them), so frames are seldom small.
///
/// The frames are only a way of sending the bytes: the server reads the frames as one
/// stream, so where a frame ends inside the block changes nothing it stores. The same
/// parts always make the same frames.
#[derive(Debug)]
pub(crate) struct Lz4Framer {
    max: usize,
    gathered: Vec<u8>,
    buffers: Lz4Buffers,
    /// Where each frame ends in `buffers.frames`.
    ends: Vec<usize>,
}

impl Lz4Framer {
    /// A framer making frames of at most `max` raw bytes, into `buffers` (emptied).
    pub(crate) fn new(max: usize, mut buffers: Lz4Buffers) -> Self {
        buffers.frames.clear();
        Lz4Framer {
            max: max.max(1),
            gathered: Vec::new(),
            buffers,
            ends: Vec::new(),
        }
    }

    /// Adds the next part of the stream.
    ///
    /// # Errors
    ///
    /// A [`FrameError`] when a size does not fit the header.
    pub(crate) fn write(&mut self, mut part: &[u8]) -> Result<(), FrameError> {
        let gather = GATHER.min(self.max);
        if part.len() < gather || !self.gathered.is_empty() {
            // Top up what is gathered to a frame of its own size.
            let take = part.len().min(gather.saturating_sub(self.gathered.len()));
            self.gathered.extend_from_slice(&part[..take]);
            part = &part[take..];
            if self.gathered.len() < gather {
                return Ok(());
            }
            self.flush()?;
        }
        while part.len() >= gather {
            let take = part.len().min(self.max);
            self.compress(&part[..take])?;
            part = &part[take..];
        }
        self.gathered.extend_from_slice(part);
        Ok(())
    }

    /// Compresses `raw` into the next frame.
    fn compress(&mut self, raw: &[u8]) -> Result<(), FrameError> {
        let Lz4Buffers { block, frames } = &mut self.buffers;
        let bound = lz4_flex::block::get_maximum_output_size(raw.len());
        if block.len() < bound {
            block.resize(bound, 0);
        }
        let data = lz4_flex::block::compress_into(raw, block)?;
        let start = frames.len();
        frames.extend_from_slice(&[0; CHECKSUM]);
        frames.extend_from_slice(&header(LZ4, data, raw.len())?);
        frames.extend_from_slice(&block[..data]);
        let checksum = cityhash_rs::cityhash_102_128(&frames[start + CHECKSUM..]);
        frames[start..start + CHECKSUM].copy_from_slice(&checksum_bytes(checksum));
        self.ends.push(frames.len());
        Ok(())
    }

    fn flush(&mut self) -> Result<(), FrameError> {
        if !self.gathered.is_empty() {
            let gathered = std::mem::take(&mut self.gathered);
            self.compress(&gathered)?;
            self.gathered = gathered;
            self.gathered.clear();
        }
        Ok(())
    }

    /// The frames of everything written, and the buffer LZ4 wrote into, to keep.
    ///
    /// # Errors
    ///
    /// A [`FrameError`] when a size does not fit the header.
    pub(crate) fn finish(mut self) -> Result<(Lz4Frames, Vec<u8>), FrameError> {
        self.flush()?;
        let whole = Bytes::from(self.buffers.frames);
        let frames = slices(&whole, &self.ends);
        Ok((Lz4Frames { frames, whole }, self.buffers.block))
    }
}

/// A block as stored frames of at most `max_frame` bytes each, sharing the block's
/// memory.
///
/// # Errors
///
/// [`FrameError::TooLarge`] when a size does not fit the header.
pub(crate) fn stored_block_frames(
    block: Bytes,
    max_frame: usize,
) -> Result<Vec<Frame>, FrameError> {
    let len = block.len();
    stored(std::iter::once(block), len, max_frame)
}

/// The bytes the sink holds, beyond the block, while it sends a block of `len` bytes:
/// its LZ4 frames ([`Lz4Framer`] of `max_frame`: all but the last hold at least
/// [`GATHER`] bytes, or `max_frame`), or its stored frames (only their checksums, headers
/// and pieces, as they share the block's memory).
#[must_use]
pub(crate) fn block_send_memory(len: usize, max_frame: usize, lz4: bool) -> usize {
    let per_frame = CHECKSUM + HEADER + 3 * std::mem::size_of::<Bytes>();
    if !lz4 {
        return len.div_ceil(max_frame.max(1)) * per_frame;
    }
    let frames = len / GATHER.min(max_frame).max(1) + 1;
    frame_bound(len) + frames * (frame_bound(0) + per_frame)
}
