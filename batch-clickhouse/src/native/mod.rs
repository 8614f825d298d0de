//! ClickHouse's `Native` (columnar) format, made from RowBinary rows: the
//! [`InsertFormat`] a [`ClickHouseSink`](crate::ClickHouseSink) sends in, and the
//! [`NativeBlock`] transcoder it uses.
//!
//! Producers encode rows in [`RowBinary`](crate::RowBinary) as always; the sink turns
//! each batch into one Native block when it sends it, on the blocking thread where it
//! compresses the batch. The server parses a Native block with less work than the same
//! rows in RowBinary (its columns are copied, not parsed value by value), so it ingests
//! more rows per second of its CPU.
//!
//! A block is: the number of columns and of rows (varuints), then each column's name and
//! type (varuint-length strings) followed by its values:
//!
//! | Column type | Values in the block |
//! |---|---|
//! | numbers, `Bool`, `Date`, `Date32`, `DateTime`, `DateTime64`, `Decimal`, `Enum8`/`Enum16`, `UUID`, `IPv4`, `IPv6`, `FixedString(N)` | each row's bytes, as RowBinary writes them, one row after another |
//! | `String` | each row's varuint length and bytes |
//! | `Nullable(T)` | a byte per row (1 for NULL), then `T`'s values with the default value (zeros, or an empty string) at each NULL |
//! | `Array(T)` | each row's end offset as a `UInt64` (counting all elements so far), then the elements of all rows as `T`'s values |
//! | `Map(K, V)` | as `Array(Tuple(K, V))`: the offsets, then all keys, then all values |
//! | `LowCardinality(T)`, `LowCardinality(Nullable(T))` | a `UInt64` 1 before the column's data (the key version), then sections of at most 65,536 distinct keys: the index type and flags (`UInt64`), the keys (a NULL placeholder first when nullable), the number of values, and one `UInt8` or `UInt16` index per value |
//!
//! Every column type batchrow writes is covered except `JSON` (and `Object('json')`),
//! which batchrow writes as text that the server parses: a table with such a column is
//! sent in RowBinary (see [`InsertFormat::Native`]).
//!
//! The transcoding is deterministic: the same rows make the same block, so every attempt
//! at a batch sends the same bytes.

mod plan;
mod transcode;

#[cfg(test)]
mod tests;

use std::convert::Infallible;
use std::fmt;

use batch_core::Batch;

use crate::error::{Error, Result};
use crate::frame::{FrameError, Lz4Buffers, Lz4Framer, Lz4Frames};
use crate::rowbinary::put_len;
use crate::types::ChType;
use plan::{Node, Numbering, DICT_ENTRY, SECTION_KEYS};
use transcode::{Bad, Dict, Reader, Write};

/// The format a [`ClickHouseSink`](crate::ClickHouseSink) sends each batch in; see
/// [`ClickHouseSink::insert_format`](crate::ClickHouseSink::insert_format).
///
/// # Examples
///
/// ```no_run
/// use batch_clickhouse::{ClickHouseSink, InsertFormat};
///
/// let client = clickhouse::Client::default().with_url("http://127.0.0.1:8123");
/// let sink = ClickHouseSink::new(client).insert_format(InsertFormat::RowBinary);
/// # drop(sink);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum InsertFormat {
    /// `INSERT ... FORMAT RowBinary`: the rows as the producers encoded them.
    RowBinary,
    /// `INSERT ... FORMAT Native`: each batch transcoded into one columnar block, which
    /// the server ingests with less CPU. A table with a column the transcoder does not
    /// write (`JSON`) is sent in RowBinary instead, decided when the sink is prepared.
    #[default]
    Native,
}

impl fmt::Display for InsertFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InsertFormat::RowBinary => "RowBinary",
            InsertFormat::Native => "Native",
        })
    }
}

/// One column of a [`NativeBlock`].
#[derive(Debug, Clone)]
struct Column {
    /// The column's name and type, as strings of the block.
    head: Vec<u8>,
    /// What the column writes before its values (the `LowCardinality` key versions).
    prefix: Vec<u8>,
    node: Node,
    /// The name, for errors.
    name: String,
}

/// Transcodes RowBinary rows into one ClickHouse `Native` block, for a list of columns
/// (their names, and the types the rows were encoded for).
///
/// The [`ClickHouseSink`](crate::ClickHouseSink) uses it for every batch when it sends
/// in [`InsertFormat::Native`]; it is public for writing Native files and for tests.
///
/// The block is made in two passes over the rows, the first measuring each column, the
/// second writing each value at its place: it is allocated once, at its exact size.
///
/// # Examples
///
/// ```
/// # use batch_core as batchrow;
/// # use batch_derive::BatchRow;
/// use batch_clickhouse::{native::NativeBlock, RowBinary};
/// use batchrow::{BatchRow, Schema};
///
/// #[derive(BatchRow)]
/// # #[batch(crate = "batch_core")]
/// struct Event<'a> {
///     id: u32,
///     name: Option<&'a str>,
/// }
///
/// let types = RowBinary::resolve_offline(Schema::of::<Event>())?;
/// let mut rows = Vec::new();
/// RowBinary::encode_rows(
///     &[Event { id: 1, name: Some("a") }, Event { id: 2, name: None }],
///     &types,
///     &mut rows,
/// )?;
/// let native = NativeBlock::new(Event::COLUMNS.iter().map(|c| c.name).zip(&types))?;
/// let block = native.transcode(&[&rows[..]])?;
/// assert_eq!(
///     block,
///     [
///         2, 2, // 2 columns, 2 rows
///         2, b'i', b'd', 6, b'U', b'I', b'n', b't', b'3', b'2', // "id" UInt32
///         1, 0, 0, 0, 2, 0, 0, 0, // 1, 2
///         4, b'n', b'a', b'm', b'e', // "name"
///         16, b'N', b'u', b'l', b'l', b'a', b'b', b'l', b'e', b'(', // Nullable(String)
///         b'S', b't', b'r', b'i', b'n', b'g', b')',
///         0, 1, // not NULL, NULL
///         1, b'a', 0, // "a", and "" where the NULL is
///     ]
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct NativeBlock {
    /// Buffers of earlier transcodings, for the next ones.
    spare: Spare,
    columns: Vec<Column>,
    streams: usize,
    /// Each dictionary's column: nullable, and its key layout.
    dicts: Vec<(bool, plan::Leaf)>,
    /// Whether a column holds arrays or maps (the memory bound then reads the rows).
    nested: bool,
    extra_per_row: usize,
    extra_fixed: usize,
}

impl NativeBlock {
    /// The transcoder for `columns`: each column's name and the type its RowBinary
    /// values were encoded for (the sink's resolved [`ChType`]s).
    ///
    /// # Errors
    ///
    /// [`Error::NativeUnsupported`] for the first column whose type the Native writer
    /// does not support: `JSON`, and the types batchrow does not write at all.
    pub fn new<'a, N: AsRef<str>>(
        columns: impl IntoIterator<Item = (N, &'a ChType)>,
    ) -> Result<NativeBlock> {
        let mut numbering = Numbering::default();
        let mut out = Vec::new();
        for (name, ty) in columns {
            let name = name.as_ref();
            let node = Node::build(ty, &mut numbering).ok_or_else(|| Error::NativeUnsupported {
                column: name.to_owned(),
                ty: ty.to_string(),
            })?;
            let mut head = Vec::new();
            put_str(&mut head, name.as_bytes());
            put_str(&mut head, ty.to_string().as_bytes());
            let mut prefix = Vec::new();
            node.prefix(&mut prefix);
            out.push(Column {
                head,
                prefix,
                node,
                name: name.to_owned(),
            });
        }
        let mut dicts = Vec::new();
        for c in &out {
            collect_dicts(&c.node, &mut dicts);
        }
        Ok(NativeBlock {
            spare: Spare::default(),
            columns: out,
            streams: numbering.streams,
            dicts,
            nested: numbering.nested,
            extra_per_row: numbering.extra_per_row,
            extra_fixed: numbering.extra_fixed,
        })
    }

    /// Transcodes RowBinary rows into one block. `pieces` hold the rows back to back,
    /// each piece whole rows (the chunks of a batch, or one buffer).
    ///
    /// # Errors
    ///
    /// [`Error::Transcode`] when the rows do not read as values of the columns' types
    /// (rows encoded for other columns), naming the row and the column.
    pub fn transcode<B: AsRef<[u8]>>(&self, pieces: &[B]) -> Result<Vec<u8>> {
        let mut scratch = Scratch::default();
        self.transcode_counted(pieces, 0, &mut scratch)?;
        self.assemble(&mut scratch);
        Ok(scratch.block)
    }

    /// Transcodes the rows of `batch` into one block.
    ///
    /// # Errors
    ///
    /// As [`transcode`](NativeBlock::transcode); and [`Error::Transcode`] when the rows
    /// read are not the batch's number of rows.
    pub fn transcode_batch(&self, batch: &Batch) -> Result<Vec<u8>> {
        let mut scratch = Scratch::default();
        self.transcode_into(batch, &mut scratch)?;
        self.assemble(&mut scratch);
        Ok(scratch.block)
    }

    /// As [`transcode_batch`](NativeBlock::transcode_batch), into the buffers of
    /// `scratch`: the block's columns, which [`assemble`](NativeBlock::assemble) joins
    /// into one block and [`lz4_frames`](NativeBlock::lz4_frames) compresses where they
    /// lie.
    pub(crate) fn transcode_into(&self, batch: &Batch, scratch: &mut Scratch) -> Result<()> {
        let chunks: Vec<bytes::Bytes> = batch.chunks().collect();
        let rows = self.transcode_counted(&chunks, batch.rows(), scratch)?;
        if rows != batch.rows() {
            return Err(Error::Transcode {
                row: rows,
                column: String::new(),
                reason: format!("read {rows} rows of a batch of {}", batch.rows()),
            });
        }
        Ok(())
    }

    /// Buffers for a transcoding: those of an earlier one when the sink kept them.
    pub(crate) fn scratch(&self) -> Scratch {
        self.spare.take()
    }

    /// Keeps the buffers of a transcoding for the next one, within [`KEEP_SPARE`].
    pub(crate) fn recycle(&self, scratch: Scratch) {
        self.spare.keep(scratch);
    }

    /// Writes the block of `pieces` into `scratch`; returns the number of rows read.
    fn transcode_counted<B: AsRef<[u8]>>(
        &self,
        pieces: &[B],
        rows_hint: usize,
        scratch: &mut Scratch,
    ) -> Result<usize> {
        let mut streams = std::mem::take(&mut scratch.streams);
        streams.resize_with(self.streams, Vec::new);
        streams.iter_mut().for_each(Vec::clear);
        let mut w = Write {
            streams,
            totals: vec![0; self.streams],
            dicts: self.new_dicts(),
        };
        self.reserve(&mut w.streams, pieces, rows_hint);
        let mut rows = 0usize;
        let mut read = || -> Result<()> {
            for piece in pieces {
                let mut r = Reader::new(piece.as_ref());
                while !r.done() {
                    for c in &self.columns {
                        w.visit(&c.node, &mut r)
                            .map_err(|e| bad(rows, &c.name, e))?;
                    }
                    rows += 1;
                }
            }
            Ok(())
        };
        let read = read();
        if read.is_ok() {
            for c in &self.columns {
                w.finish(&c.node);
            }
        }
        scratch.streams = w.streams;
        scratch.rows = rows;
        read.map(|()| rows)
    }

    /// Reserves the streams whose size is known ahead for `rows` rows (fixed-size values,
    /// null maps, array offsets), and, without arrays or maps, shares the rest of the
    /// rows' bytes between the streams of strings, so that streams rarely grow by
    /// copying.
    fn reserve<B: AsRef<[u8]>>(&self, streams: &mut [Vec<u8>], pieces: &[B], rows: usize) {
        let mut strings = Vec::new();
        let mut fixed = 0;
        for c in &self.columns {
            fixed += transcode::reserve(&c.node, rows, streams, &mut strings);
        }
        if self.nested || strings.is_empty() {
            return;
        }
        let len: usize = pieces.iter().map(|p| p.as_ref().len()).sum();
        let share = len.saturating_sub(fixed) / strings.len();
        for s in strings {
            transcode::grow(&mut streams[s], share);
        }
    }

    /// The parts of the block transcoded into `scratch`, in order: its head, then each
    /// column's name, type, prefix and streams (stream ids are numbered in that order).
    fn parts<E>(
        &self,
        scratch: &Scratch,
        mut part: impl FnMut(&[u8]) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let rows = scratch.rows;
        let mut head = Vec::new();
        put_len(&mut head, self.columns.len());
        put_len(&mut head, rows);
        part(&head)?;
        let mut next = scratch.streams.iter();
        for c in &self.columns {
            part(&c.head)?;
            if rows > 0 {
                part(&c.prefix)?;
            }
            for stream in next.by_ref().take(count_streams(&c.node)) {
                part(stream)?;
            }
        }
        Ok(())
    }

    /// Joins the columns transcoded into `scratch` into one block ([`Scratch::block`]).
    pub(crate) fn assemble(&self, scratch: &mut Scratch) {
        let mut out = std::mem::take(&mut scratch.block);
        if out.capacity() == 0 {
            // The block of a batch sent in stored frames, given back once sent.
            out = self.spare.take_frames();
        }
        out.clear();
        let mut len = 0;
        self.parts(scratch, |p| {
            len += p.len();
            Ok::<(), Infallible>(())
        })
        .unwrap_or_else(|never| match never {});
        transcode::grow(&mut out, len);
        self.parts(scratch, |p| {
            out.extend_from_slice(p);
            Ok::<(), Infallible>(())
        })
        .unwrap_or_else(|never| match never {});
        scratch.block = out;
    }

    /// The block transcoded into `scratch` as LZ4 frames of at most `max_frame` raw
    /// bytes, compressed from the columns where they lie: the block is never joined.
    ///
    /// # Errors
    ///
    /// A [`FrameError`] when a size does not fit a frame's header.
    pub(crate) fn lz4_frames(
        &self,
        scratch: &mut Scratch,
        max_frame: usize,
    ) -> std::result::Result<Lz4Frames, FrameError> {
        let buffers = Lz4Buffers {
            block: std::mem::take(&mut scratch.lz4),
            frames: self.spare.take_frames(),
        };
        let mut framer = Lz4Framer::new(max_frame, buffers);
        self.parts(scratch, |p| framer.write(p))?;
        let (frames, block) = framer.finish()?;
        scratch.lz4 = block;
        Ok(frames)
    }

    /// Keeps the buffer of a block's frames (`whole` of [`Lz4Frames`], or the block
    /// sent in stored frames) for the next block, once nothing refers to the frames any
    /// more.
    pub(crate) fn recycle_frames(&self, whole: bytes::Bytes) {
        if let Some(buf) = crate::frame::reclaim(whole) {
            self.spare.keep_frames(buf);
        }
    }

    /// An upper bound of the memory [`transcode_batch`](NativeBlock::transcode_batch)
    /// takes for `batch`: the streams the rows are read into (each reserved at its size
    /// when that is known ahead, else grown to at most twice its bytes), the block they
    /// are joined into, and the dictionaries of `LowCardinality` columns: three times
    /// the block's bound, plus the dictionaries. Without arrays or maps it is computed
    /// from the batch's size; with them, the rows are read (but not copied).
    #[must_use]
    pub fn memory_bound(&self, batch: &Batch) -> usize {
        let (block, dicts) = self.bounds(batch);
        3 * block + dicts
    }

    /// An upper bound of the memory of transcoding `batch` into its columns without
    /// joining them ([`lz4_frames`](NativeBlock::lz4_frames) compresses them where they
    /// lie): [`memory_bound`](NativeBlock::memory_bound) without the block.
    #[must_use]
    pub(crate) fn columns_bound(&self, batch: &Batch) -> usize {
        let (block, dicts) = self.bounds(batch);
        2 * block + dicts
    }

    /// An upper bound of the block's bytes alone.
    #[must_use]
    pub(crate) fn block_bound(&self, batch: &Batch) -> usize {
        self.bounds(batch).0
    }

    /// Upper bounds of the block's bytes and of its dictionaries' memory.
    fn bounds(&self, batch: &Batch) -> (usize, usize) {
        let heads: usize = self
            .columns
            .iter()
            .map(|c| c.head.len() + c.prefix.len())
            .sum::<usize>()
            + 20;
        let dicts = self.dicts.len();
        if !self.nested {
            let rows = batch.rows();
            let block =
                heads + self.extra_fixed + batch.len() + rows.saturating_mul(self.extra_per_row);
            return (block, dicts * rows.min(SECTION_KEYS) * DICT_ENTRY);
        }
        let mut total = heads + self.extra_fixed;
        let mut lc_values = 0;
        for chunk in batch.chunks() {
            let mut r = Reader::new(&chunk);
            while !r.done() {
                for c in &self.columns {
                    match transcode::bound(&c.node, &mut r, &mut lc_values) {
                        Ok(n) => total += n,
                        // Rows that do not read fail the send; count them as they are.
                        Err(_) => return (total + batch.len(), 0),
                    }
                }
            }
        }
        (total, dicts * lc_values.min(SECTION_KEYS) * DICT_ENTRY)
    }

    fn new_dicts<'a>(&self) -> Vec<Dict<'a>> {
        self.dicts
            .iter()
            .map(|&(nullable, leaf)| Dict::new(nullable, leaf))
            .collect()
    }
}

/// The most bytes of idle buffers a [`NativeBlock`] keeps between transcodings: those of
/// two batches of 100,000 rows of about 75 bytes. Reusing them spares the kernel's work
/// of handing out fresh pages for every batch.
pub(crate) const KEEP_SPARE: usize = 32 << 20;

/// The buffers of one transcoding: a stream per column part, and the block they are
/// joined into.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    streams: Vec<Vec<u8>>,
    /// The rows of the last transcoding.
    rows: usize,
    block: Vec<u8>,
    /// What LZ4 writes a frame into.
    lz4: Vec<u8>,
}

impl Scratch {
    /// The block joined by the last [`assemble`](NativeBlock::assemble).
    #[cfg(test)]
    pub(crate) fn block(&self) -> &[u8] {
        &self.block
    }

    /// Takes the block out (the scratch keeps its streams).
    pub(crate) fn take_block(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.block)
    }

    fn capacity(&self) -> usize {
        self.block.capacity()
            + self.lz4.capacity()
            + self.streams.iter().map(Vec::capacity).sum::<usize>()
    }
}

/// Idle buffers: [`Scratch`]es, and the buffers blocks' LZ4 frames were written into
/// (given back once the frames were sent), at most [`KEEP_SPARE`] bytes of them. A clone
/// of the transcoder starts with none.
#[derive(Debug, Default)]
struct Spare(std::sync::Mutex<Idle>);

#[derive(Debug, Default)]
struct Idle {
    scratches: Vec<Scratch>,
    frames: Vec<Vec<u8>>,
}

impl Idle {
    fn held(&self) -> usize {
        self.scratches.iter().map(Scratch::capacity).sum::<usize>()
            + self.frames.iter().map(Vec::capacity).sum::<usize>()
    }
}

impl Clone for Spare {
    fn clone(&self) -> Self {
        Spare::default()
    }
}

impl Spare {
    fn idle(&self) -> std::sync::MutexGuard<'_, Idle> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn take(&self) -> Scratch {
        self.idle().scratches.pop().unwrap_or_default()
    }

    fn keep(&self, scratch: Scratch) {
        let mut idle = self.idle();
        if idle.held() + scratch.capacity() <= KEEP_SPARE {
            idle.scratches.push(scratch);
        }
    }

    fn take_frames(&self) -> Vec<u8> {
        self.idle().frames.pop().unwrap_or_default()
    }

    fn keep_frames(&self, buf: Vec<u8>) {
        let mut idle = self.idle();
        if idle.held() + buf.capacity() <= KEEP_SPARE {
            idle.frames.push(buf);
        }
    }
}

/// The error for a row that does not read as its columns' values.
#[cold]
fn bad(row: usize, column: &str, e: Bad) -> Error {
    Error::Transcode {
        row,
        column: column.to_owned(),
        reason: e.to_string(),
    }
}

/// The number of streams of `node`.
fn count_streams(node: &Node) -> usize {
    match node {
        Node::Leaf { .. } | Node::LowCardinality { .. } => 1,
        Node::Nullable { .. } => 2,
        Node::Array { inner, .. } => 1 + count_streams(inner),
        Node::Map { key, value, .. } => 1 + count_streams(key) + count_streams(value),
    }
}

/// The dictionaries of `node`, in the order of their ids.
fn collect_dicts(node: &Node, out: &mut Vec<(bool, plan::Leaf)>) {
    match node {
        Node::LowCardinality { nullable, leaf, .. } => out.push((*nullable, *leaf)),
        Node::Array { inner, .. } => collect_dicts(inner, out),
        Node::Map { key, value, .. } => {
            collect_dicts(key, out);
            collect_dicts(value, out);
        }
        Node::Leaf { .. } | Node::Nullable { .. } => {}
    }
}

/// Appends a varuint-length string.
fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    put_len(out, s.len());
    out.extend_from_slice(s);
}
