//! The two passes over the RowBinary rows: the first measures every stream (and builds
//! the `LowCardinality` dictionaries' sections), the second writes each value at its
//! place in one block allocated at its exact size.

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

    #[inline]
    fn take(&mut self, n: usize) -> Result<&'a [u8], Bad> {
        let end = self.pos.checked_add(n).ok_or(Bad::TooLong)?;
        let v = self.buf.get(self.pos..end).ok_or(Bad::Truncated)?;
        self.pos = end;
        Ok(v)
    }

    #[inline]
    fn byte(&mut self) -> Result<u8, Bad> {
        let b = *self.buf.get(self.pos).ok_or(Bad::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    /// An unsigned LEB128 varint, as a length.
    #[inline]
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
    #[inline]
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
    #[inline]
    fn null(&mut self) -> Result<bool, Bad> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(Bad::NullFlag(b)),
        }
    }
}

/// One dictionary section of a `LowCardinality` column, as the first pass found it.
#[derive(Debug, Clone, Copy)]
struct Section {
    /// Keys, the NULL placeholder included.
    keys: usize,
    /// The keys' bytes, the NULL placeholder included.
    keys_len: usize,
    /// Values (rows or elements) whose index the section holds.
    values: usize,
}

impl Section {
    /// The bytes of each index: `UInt8` up to 256 keys, else `UInt16`.
    fn width(&self) -> usize {
        if self.keys <= 256 {
            1
        } else {
            2
        }
    }

    fn len(&self) -> usize {
        SECTION_HEAD + self.keys_len + self.width() * self.values
    }
}

/// The dictionary of one `LowCardinality` column: a section holds at most
/// [`SECTION_KEYS`] keys, each key once, indexed in the order first seen, so both
/// passes (and every attempt) number them the same.
pub(super) struct Dict<'a> {
    nullable: bool,
    leaf: Leaf,
    /// Each key of the current section and its index.
    index: HashMap<&'a [u8], u16>,
    sections: Vec<Section>,
    /// Second pass: the next section, the values left in the current one, and where
    /// its next key and next index go.
    next: usize,
    left: usize,
    key_at: usize,
    index_at: usize,
    width: usize,
}

impl<'a> Dict<'a> {
    pub(super) fn new(nullable: bool, leaf: Leaf) -> Self {
        Dict {
            nullable,
            leaf,
            index: HashMap::new(),
            sections: Vec::new(),
            next: 0,
            left: 0,
            key_at: 0,
            index_at: 0,
            width: 1,
        }
    }

    /// A fresh section: the NULL placeholder (the default value) is key 0 of each
    /// section of a nullable column.
    fn open(&mut self) -> Section {
        self.index.clear();
        let placeholder = usize::from(self.nullable);
        Section {
            keys: placeholder,
            keys_len: placeholder * self.leaf.default_len(),
            values: 0,
        }
    }

    /// First pass: one value (`None` for NULL).
    fn measure(&mut self, value: Option<&'a [u8]>) {
        let fresh = match value {
            Some(v) => !self.index.contains_key(v),
            None => false,
        };
        let full = self
            .sections
            .last()
            .is_none_or(|s| fresh && s.keys >= SECTION_KEYS);
        if full {
            let s = self.open();
            self.sections.push(s);
        }
        let Some(s) = self.sections.last_mut() else {
            return;
        };
        s.values += 1;
        if let (Some(v), true) = (value, fresh) {
            // Below SECTION_KEYS (2^16), so it fits.
            let i = u16::try_from(s.keys).unwrap_or(u16::MAX);
            self.index.insert(v, i);
            s.keys += 1;
            s.keys_len += v.len();
        }
    }

    /// The bytes of the column's stream: its sections back to back.
    fn len(&self) -> usize {
        self.sections.iter().map(Section::len).sum()
    }

    /// Second pass: one value, its key written when first seen in the section, its
    /// index always. `start` is where the column's stream begins.
    fn write(&mut self, value: Option<&'a [u8]>, out: &mut [u8], start: usize) -> Result<(), Bad> {
        if self.left == 0 {
            let at = if self.next == 0 { start } else { self.index_at };
            let s = *self.sections.get(self.next).ok_or(Bad::Layout)?;
            self.next += 1;
            self.open();
            self.left = s.values;
            self.width = s.width();
            // The index type (0: UInt8, 1: UInt16) with the flag "has additional keys"
            // (bit 9): the section's keys follow, and no shared dictionary is used.
            let kind = u64::from(self.width == 2) | (1 << 9);
            let mut at = at;
            put(out, &mut at, &kind.to_le_bytes())?;
            put(out, &mut at, &(s.keys as u64).to_le_bytes())?;
            // The NULL placeholder is zeros, as the block already is.
            self.key_at = at + usize::from(self.nullable) * self.leaf.default_len();
            let mut rows_at = at + s.keys_len;
            put(out, &mut rows_at, &(s.values as u64).to_le_bytes())?;
            self.index_at = rows_at;
        }
        self.left -= 1;
        let i = match value {
            None => 0,
            Some(v) => match self.index.get(v) {
                Some(&i) => i,
                None => {
                    let i = u16::try_from(self.index.len() + usize::from(self.nullable))
                        .map_err(|_| Bad::Layout)?;
                    self.index.insert(v, i);
                    put(out, &mut self.key_at, v)?;
                    i
                }
            },
        };
        let bytes = i.to_le_bytes();
        put(out, &mut self.index_at, &bytes[..self.width])
    }
}

/// Copies `bytes` to `out` at `*at`, and moves `*at` past them.
#[inline]
pub(super) fn put(out: &mut [u8], at: &mut usize, bytes: &[u8]) -> Result<(), Bad> {
    let end = *at + bytes.len();
    out.get_mut(*at..end)
        .ok_or(Bad::Layout)?
        .copy_from_slice(bytes);
    *at = end;
    Ok(())
}

/// The first pass: the length of every stream.
pub(super) struct Measure<'a> {
    pub(super) lens: Vec<usize>,
    pub(super) dicts: Vec<Dict<'a>>,
}

impl<'a> Measure<'a> {
    /// Reads one value of `node`.
    pub(super) fn visit(&mut self, node: &Node, r: &mut Reader<'a>) -> Result<(), Bad> {
        match node {
            Node::Leaf { leaf, stream } => {
                let n = match leaf {
                    Leaf::Fixed(n) => {
                        r.take(*n)?;
                        *n
                    }
                    Leaf::Bytes => r.leaf(*leaf)?.len(),
                };
                self.lens[*stream] += n;
            }
            Node::Nullable { map, leaf, stream } => {
                self.lens[*map] += 1;
                self.lens[*stream] += if r.null()? {
                    leaf.default_len()
                } else {
                    r.leaf(*leaf)?.len()
                };
            }
            Node::Array { offsets, inner } => {
                self.lens[*offsets] += 8;
                for _ in 0..r.len()? {
                    self.visit(inner, r)?;
                }
            }
            Node::Map {
                offsets,
                key,
                value,
            } => {
                self.lens[*offsets] += 8;
                for _ in 0..r.len()? {
                    self.visit(key, r)?;
                    self.visit(value, r)?;
                }
            }
            Node::LowCardinality {
                dict,
                nullable,
                leaf,
                ..
            } => {
                let value = if *nullable && r.null()? {
                    None
                } else {
                    Some(r.leaf(*leaf)?)
                };
                self.dicts[*dict].measure(value);
            }
        }
        Ok(())
    }

    /// Sets the length of each `LowCardinality` stream from its dictionary.
    pub(super) fn finish(&mut self, node: &Node) {
        match node {
            Node::LowCardinality { stream, dict, .. } => {
                self.lens[*stream] = self.dicts[*dict].len();
            }
            Node::Array { inner, .. } => self.finish(inner),
            Node::Map { key, value, .. } => {
                self.finish(key);
                self.finish(value);
            }
            Node::Leaf { .. } | Node::Nullable { .. } => {}
        }
    }
}

/// The second pass: every value written at its place in the block.
pub(super) struct Write<'a, 'o> {
    pub(super) out: &'o mut [u8],
    /// Where each stream begins, and where its next value goes.
    pub(super) start: Vec<usize>,
    pub(super) at: Vec<usize>,
    /// The running total of each `offsets` stream.
    pub(super) totals: Vec<u64>,
    pub(super) dicts: Vec<Dict<'a>>,
}

impl<'a> Write<'a, '_> {
    /// Writes one value of `node`.
    #[inline]
    pub(super) fn visit(&mut self, node: &Node, r: &mut Reader<'a>) -> Result<(), Bad> {
        match node {
            Node::Leaf { leaf, stream } => {
                let v = r.leaf(*leaf)?;
                put(self.out, &mut self.at[*stream], v)?;
            }
            Node::Nullable { map, leaf, stream } => {
                let null = r.null()?;
                put(self.out, &mut self.at[*map], &[u8::from(null)])?;
                if null {
                    // The default value: zeros, as the block already is.
                    self.at[*stream] += leaf.default_len();
                } else {
                    let v = r.leaf(*leaf)?;
                    put(self.out, &mut self.at[*stream], v)?;
                }
            }
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
                self.dicts[*dict].write(value, self.out, self.start[*stream])?;
            }
        }
        Ok(())
    }

    /// Appends the end offset of an array of `n` elements.
    fn offset(&mut self, stream: usize, n: usize) -> Result<(), Bad> {
        let total = &mut self.totals[stream];
        *total = total
            .checked_add(u64::try_from(n).map_err(|_| Bad::TooLong)?)
            .ok_or(Bad::TooLong)?;
        let bytes = total.to_le_bytes();
        put(self.out, &mut self.at[stream], &bytes)
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
