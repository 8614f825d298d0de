//! The one pass over the RowBinary rows: each value is appended to its stream (a
//! column's values, a null map, array offsets, a `LowCardinality` column's dictionary
//! sections); the block is then the streams back to back.

use std::collections::HashMap;

use super::plan::{Leaf, Node, SECTION_HEAD, SECTION_KEYS};

/// Why RowBinary rows could not be read for their column types: a bug, or rows encoded
/// for other columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Bad {
    /// A value runs past the end of its rows.
    Truncated,
    /// A `Nullable` flag other than 0 or 1.
    NullFlag(u8),
    /// A length that does not fit in memory.
    TooLong,
    /// The written block does not add up (a bug).
    Layout,
}

impl std::fmt::Display for Bad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bad::Truncated => f.write_str("a value runs past the end of the rows"),
            Bad::NullFlag(b) => write!(f, "a Nullable flag is {b}, not 0 or 1"),
            Bad::TooLong => f.write_str("a length does not fit in memory"),
            Bad::Layout => f.write_str("the Native block does not add up"),
        }
    }
}

/// A cursor over RowBinary bytes.
pub(super) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(super) fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    #[inline(always)]
    fn take(&mut self, n: usize) -> Result<&'a [u8], Bad> {
        let end = self.pos.checked_add(n).ok_or(Bad::TooLong)?;
        let v = self.buf.get(self.pos..end).ok_or(Bad::Truncated)?;
        self.pos = end;
        Ok(v)
    }

    /// `N` bytes, as an array: copied without a call to `memcpy`.
    #[inline(always)]
    fn array<const N: usize>(&mut self) -> Result<[u8; N], Bad> {
        <[u8; N]>::try_from(self.take(N)?).map_err(|_| Bad::Truncated)
    }

    #[inline(always)]
    fn byte(&mut self) -> Result<u8, Bad> {
        let b = *self.buf.get(self.pos).ok_or(Bad::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    /// An unsigned LEB128 varint, as a length.
    #[inline(always)]
    fn len(&mut self) -> Result<usize, Bad> {
        let mut n: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return usize::try_from(n).map_err(|_| Bad::TooLong);
            }
        }
        Err(Bad::TooLong)
    }

    /// The bytes of one leaf value (a `String`'s length prefix included).
    #[inline(always)]
    fn leaf(&mut self, leaf: Leaf) -> Result<&'a [u8], Bad> {
        match leaf {
            Leaf::Fixed(n) => self.take(n),
            Leaf::Bytes => {
                let start = self.pos;
                let n = self.len()?;
                self.take(n)?;
                Ok(&self.buf[start..self.pos])
            }
        }
    }

    /// A `Nullable` flag: `true` for NULL.
    #[inline(always)]
    fn null(&mut self) -> Result<bool, Bad> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(Bad::NullFlag(b)),
        }
    }
}

/// The dictionary of one `LowCardinality` column: a section holds at most
/// [`SECTION_KEYS`] keys, each key once, indexed in the order first seen, so every
/// attempt numbers them the same. A section is written to the column's stream when it
/// is full or the rows end.
pub(super) struct Dict<'a> {
    nullable: bool,
    leaf: Leaf,
    /// Each key of the current section and its index.
    index: HashMap<&'a [u8], u16, foldhash::fast::RandomState>,
    /// The current section's keys, back to back (the NULL placeholder first).
    keys: Vec<u8>,
    /// How many keys `keys` holds, the placeholder included.
    key_count: usize,
    /// The index of each value of the current section.
    values: Vec<u16>,
}

impl<'a> Dict<'a> {
    pub(super) fn new(nullable: bool, leaf: Leaf) -> Self {
        let mut dict = Dict {
            nullable,
            leaf,
            index: HashMap::default(),
            keys: Vec::new(),
            key_count: 0,
            values: Vec::new(),
        };
        dict.open();
        dict
    }

    /// A fresh section: the NULL placeholder (the default value, zeros) is key 0 of
    /// each section of a nullable column.
    fn open(&mut self) {
        self.index.clear();
        self.keys.clear();
        self.values.clear();
        let placeholder = usize::from(self.nullable);
        self.keys.resize(placeholder * self.leaf.default_len(), 0);
        self.key_count = placeholder;
    }

    /// One value (`None` for NULL): its key added when first seen in the section, its
    /// index always. A new key that does not fit the section closes it into `out`.
    #[inline]
    fn push(&mut self, value: Option<&'a [u8]>, out: &mut Vec<u8>) -> Result<(), Bad> {
        let i = match value {
            None => 0,
            Some(v) => match self.index.get(v) {
                Some(&i) => i,
                None => {
                    if self.key_count >= SECTION_KEYS {
                        self.close(out);
                    }
                    let i = u16::try_from(self.key_count).map_err(|_| Bad::Layout)?;
                    self.index.insert(v, i);
                    self.keys.extend_from_slice(v);
                    self.key_count += 1;
                    i
                }
            },
        };
        self.values.push(i);
        Ok(())
    }

    /// Writes the current section, if it holds a value, to `out`, and opens another.
    fn close(&mut self, out: &mut Vec<u8>) {
        if self.values.is_empty() {
            return;
        }
        // The index type: UInt8 up to 256 keys, else UInt16.
        let wide = self.key_count > 256;
        let width = if wide { 2 } else { 1 };
        grow(
            out,
            SECTION_HEAD + self.keys.len() + width * self.values.len(),
        );
        // The index type (0: UInt8, 1: UInt16) with the flag "has additional keys"
        // (bit 9): the section's keys follow, and no shared dictionary is used.
        let kind = u64::from(wide) | (1 << 9);
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&(self.key_count as u64).to_le_bytes());
        out.extend_from_slice(&self.keys);
        out.extend_from_slice(&(self.values.len() as u64).to_le_bytes());
        if wide {
            for i in &self.values {
                out.extend_from_slice(&i.to_le_bytes());
            }
        } else {
            out.extend(self.values.iter().map(|i| i.to_le_bytes()[0]));
        }
        self.open();
    }
}

/// The one pass over the rows: every value appended to its stream.
pub(super) struct Write<'a> {
    pub(super) streams: Vec<Vec<u8>>,
    /// The running total of each `offsets` stream.
    pub(super) totals: Vec<u64>,
    pub(super) dicts: Vec<Dict<'a>>,
}

impl<'a> Write<'a> {
    /// Writes one value of `node`. Inlined into the loop over the rows, so that the
    /// common columns (numbers, strings, nullables, dictionaries) cost no call; arrays
    /// and maps go through [`nested`](Write::nested).
    #[inline(always)]
    pub(super) fn visit(&mut self, node: &Node, r: &mut Reader<'a>) -> Result<(), Bad> {
        match node {
            Node::Leaf { leaf, stream } => {
                let out = &mut self.streams[*stream];
                // The common widths with their size known to the compiler.
                match *leaf {
                    Leaf::Fixed(1) => out.push(r.byte()?),
                    Leaf::Fixed(2) => out.extend_from_slice(&r.array::<2>()?),
                    Leaf::Fixed(4) => out.extend_from_slice(&r.array::<4>()?),
                    Leaf::Fixed(8) => out.extend_from_slice(&r.array::<8>()?),
                    Leaf::Fixed(16) => out.extend_from_slice(&r.array::<16>()?),
                    leaf => out.extend_from_slice(r.leaf(leaf)?),
                }
            }
            Node::Nullable { map, leaf, stream } => {
                let null = r.null()?;
                self.streams[*map].push(u8::from(null));
                let out = &mut self.streams[*stream];
                if null {
                    // The default value: zeros (an empty string's length is a zero).
                    out.resize(out.len() + leaf.default_len(), 0);
                } else {
                    out.extend_from_slice(r.leaf(*leaf)?);
                }
            }
            Node::LowCardinality {
                stream,
                dict,
                nullable,
                leaf,
            } => {
                let value = if *nullable && r.null()? {
                    None
                } else {
                    Some(r.leaf(*leaf)?)
                };
                self.dicts[*dict].push(value, &mut self.streams[*stream])?;
            }
            Node::Array { .. } | Node::Map { .. } => self.nested(node, r)?,
        }
        Ok(())
    }

    /// Writes one array or map of `node`: its offset, then its elements.
    fn nested(&mut self, node: &Node, r: &mut Reader<'a>) -> Result<(), Bad> {
        match node {
            Node::Array { offsets, inner } => {
                let n = r.len()?;
                self.offset(*offsets, n)?;
                for _ in 0..n {
                    self.visit(inner, r)?;
                }
            }
            Node::Map {
                offsets,
                key,
                value,
            } => {
                let n = r.len()?;
                self.offset(*offsets, n)?;
                for _ in 0..n {
                    self.visit(key, r)?;
                    self.visit(value, r)?;
                }
            }
            _ => self.visit(node, r)?,
        }
        Ok(())
    }

    /// Writes the last section of each `LowCardinality` stream under `node`.
    pub(super) fn finish(&mut self, node: &Node) {
        match node {
            Node::LowCardinality { stream, dict, .. } => {
                self.dicts[*dict].close(&mut self.streams[*stream]);
            }
            Node::Array { inner, .. } => self.finish(inner),
            Node::Map { key, value, .. } => {
                self.finish(key);
                self.finish(value);
            }
            Node::Leaf { .. } | Node::Nullable { .. } => {}
        }
    }

    /// Appends the end offset of an array of `n` elements.
    fn offset(&mut self, stream: usize, n: usize) -> Result<(), Bad> {
        let total = &mut self.totals[stream];
        *total = total
            .checked_add(u64::try_from(n).map_err(|_| Bad::TooLong)?)
            .ok_or(Bad::TooLong)?;
        self.streams[stream].extend_from_slice(&total.to_le_bytes());
        Ok(())
    }
}

/// Makes room in `buf` for `additional` more bytes: with an eighth to spare when it must
/// grow, so that a kept buffer serves the next batches, whose sizes vary a little,
/// rather than doubling for a batch a few bytes larger.
pub(super) fn grow(buf: &mut Vec<u8>, additional: usize) {
    let need = buf.len().saturating_add(additional);
    if buf.capacity() < need {
        buf.reserve_exact(need.saturating_add(need / 8) - buf.len());
    }
}

/// Room for the streams of `node` in a batch of `rows` rows, where it is known ahead:
/// fixed-size values, null maps and array offsets of a column that is not inside an
/// array; returns the bytes reserved. The streams of strings are listed in `strings`,
/// for the caller to share what is left between them.
pub(super) fn reserve(
    node: &Node,
    rows: usize,
    streams: &mut [Vec<u8>],
    strings: &mut Vec<usize>,
) -> usize {
    let mut room = |stream: usize, bytes: usize| {
        grow(&mut streams[stream], bytes);
        bytes
    };
    match node {
        Node::Leaf {
            leaf: Leaf::Fixed(n),
            stream,
        } => room(*stream, rows.saturating_mul(*n)),
        Node::Leaf {
            leaf: Leaf::Bytes,
            stream,
        } => {
            strings.push(*stream);
            0
        }
        Node::Nullable { map, leaf, stream } => {
            room(*map, rows)
                + match leaf {
                    Leaf::Fixed(n) => room(*stream, rows.saturating_mul(*n)),
                    Leaf::Bytes => {
                        strings.push(*stream);
                        0
                    }
                }
        }
        Node::Array { offsets, .. } | Node::Map { offsets, .. } => {
            room(*offsets, rows.saturating_mul(8))
        }
        Node::LowCardinality { .. } => 0,
    }
}

/// An upper bound of the Native bytes of one value of `node` (and the number of
/// `LowCardinality` values read), without building dictionaries.
pub(super) fn bound(node: &Node, r: &mut Reader<'_>, lc_values: &mut usize) -> Result<usize, Bad> {
    Ok(match node {
        Node::Leaf { leaf, .. } => r.leaf(*leaf)?.len(),
        Node::Nullable { leaf, .. } => {
            1 + if r.null()? {
                leaf.default_len()
            } else {
                r.leaf(*leaf)?.len()
            }
        }
        Node::Array { inner, .. } => {
            let mut sum = 8;
            for _ in 0..r.len()? {
                sum += bound(inner, r, lc_values)?;
            }
            sum
        }
        Node::Map { key, value, .. } => {
            let mut sum = 8;
            for _ in 0..r.len()? {
                sum += bound(key, r, lc_values)? + bound(value, r, lc_values)?;
            }
            sum
        }
        Node::LowCardinality { nullable, leaf, .. } => {
            *lc_values += 1;
            let key = if *nullable && r.null()? {
                0
            } else {
                r.leaf(*leaf)?.len()
            };
            // Its index, its key, and a share of the section headers and placeholders.
            let placeholder = if *nullable { leaf.default_len() } else { 0 };
            2 + key + (SECTION_HEAD + placeholder).div_ceil(SECTION_KEYS)
        }
    })
}
