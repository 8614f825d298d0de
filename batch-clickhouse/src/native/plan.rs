//! The plan of a Native block: each column type as a tree of nodes, each node owning
//! the streams (null maps, array offsets, values, dictionaries) its values go to, in
//! the order the Native format writes them.

use crate::types::ChType;

/// How a RowBinary value with no inner structure is laid out: the same bytes in Native.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Leaf {
    /// A fixed number of bytes (numbers, dates, UUIDs, `FixedString(N)`...).
    Fixed(usize),
    /// A varuint length and that many bytes (`String`).
    Bytes,
}

impl Leaf {
    /// The bytes of the type's default value, written in Native where RowBinary has a
    /// NULL: zeros for fixed-size types, a zero length for `String`.
    pub(super) fn default_len(self) -> usize {
        match self {
            Leaf::Fixed(n) => n,
            Leaf::Bytes => 1,
        }
    }

    /// The leaf layout of `ty`, if it has one.
    fn of(ty: &ChType) -> Option<Leaf> {
        let width = match ty {
            ChType::Bool | ChType::Int8 | ChType::UInt8 | ChType::Enum8(_) => 1,
            ChType::Int16 | ChType::UInt16 | ChType::Enum16(_) | ChType::Date => 2,
            ChType::Int32
            | ChType::UInt32
            | ChType::Float32
            | ChType::Date32
            | ChType::DateTime(_)
            | ChType::Ipv4 => 4,
            ChType::Int64 | ChType::UInt64 | ChType::Float64 | ChType::DateTime64(..) => 8,
            ChType::Int128 | ChType::UInt128 | ChType::Uuid | ChType::Ipv6 => 16,
            ChType::Decimal { precision, .. } => match precision {
                0..=9 => 4,
                10..=18 => 8,
                19..=38 => 16,
                _ => 32,
            },
            ChType::Int256 | ChType::UInt256 => 32,
            ChType::FixedString(n) => *n,
            ChType::String => return Some(Leaf::Bytes),
            _ => return None,
        };
        Some(Leaf::Fixed(width))
    }
}

/// One column type, as the transcoder walks it. Stream ids are numbered in the order
/// their bytes follow each other in the block.
#[derive(Debug, Clone)]
pub(super) enum Node {
    /// Values copied as they are.
    Leaf { leaf: Leaf, stream: usize },
    /// `Nullable(T)`: a null map (a byte per row, 1 for NULL), then `T`'s values with
    /// the default value at each NULL.
    Nullable {
        map: usize,
        leaf: Leaf,
        stream: usize,
    },
    /// `Array(T)`: cumulative `u64` offsets, then the elements of every row.
    Array { offsets: usize, inner: Box<Node> },
    /// `Map(K, V)`, laid out as `Array(Tuple(K, V))`: offsets, then the keys, then the
    /// values.
    Map {
        offsets: usize,
        key: Box<Node>,
        value: Box<Node>,
    },
    /// `LowCardinality(T)` or `LowCardinality(Nullable(T))`: dictionary sections (see
    /// `transcode`), written as one stream.
    LowCardinality {
        stream: usize,
        dict: usize,
        nullable: bool,
        leaf: Leaf,
    },
}

/// Counters for numbering streams and dictionaries while a plan is built.
#[derive(Debug, Default)]
pub(super) struct Numbering {
    pub(super) streams: usize,
    pub(super) dicts: usize,
    /// Whether a node holds a variable number of values per row (`Array`, `Map`).
    pub(super) nested: bool,
    /// The most bytes a value of the column may take in Native beyond its RowBinary
    /// bytes, per row, when nothing is nested (see `Plan::bound`).
    pub(super) extra_per_row: usize,
    /// Bytes a column takes in Native whatever its rows (dictionary headers).
    pub(super) extra_fixed: usize,
}

impl Numbering {
    fn stream(&mut self) -> usize {
        self.streams += 1;
        self.streams - 1
    }
}

/// The most keys in one dictionary section of a `LowCardinality` column: a section's
/// indexes are then at most 2 bytes, and the transcoder's dictionary stays small.
pub(super) const SECTION_KEYS: usize = 1 << 16;

/// Bytes of one dictionary section beyond its keys and indexes: the index type and
/// flags, the key count and the row count, each a `u64`.
pub(super) const SECTION_HEAD: usize = 24;

/// What the transcoder's dictionary holds per key: its entry in the hash map and in the
/// list of keys, with room for the map's growth.
pub(super) const DICT_ENTRY: usize = 96;

impl Node {
    /// The node of `ty`, or `None` when the Native writer does not support it.
    pub(super) fn build(ty: &ChType, n: &mut Numbering) -> Option<Node> {
        Some(match ty {
            ChType::LowCardinality(inner) => {
                let (nullable, leaf) = match &**inner {
                    ChType::Nullable(t) => (true, Leaf::of(t)?),
                    t => (false, Leaf::of(t)?),
                };
                let dict = n.dicts;
                n.dicts += 1;
                let default = if nullable { leaf.default_len() } else { 0 };
                // A value: its index (at most 2 bytes), and a share of the section
                // headers and NULL placeholders of the sections it may take to hold it.
                n.extra_per_row += 2 + (SECTION_HEAD + default).div_ceil(SECTION_KEYS);
                // The key version before the data, and the first section's head.
                n.extra_fixed += 8 + SECTION_HEAD + default;
                Node::LowCardinality {
                    stream: n.stream(),
                    dict,
                    nullable,
                    leaf,
                }
            }
            ChType::Nullable(inner) => {
                let leaf = Leaf::of(inner)?;
                n.extra_per_row += leaf.default_len();
                Node::Nullable {
                    map: n.stream(),
                    leaf,
                    stream: n.stream(),
                }
            }
            ChType::Array(inner) => {
                n.nested = true;
                let offsets = n.stream();
                Node::Array {
                    offsets,
                    inner: Box::new(Node::build(inner, n)?),
                }
            }
            ChType::Map(k, v) => {
                n.nested = true;
                let offsets = n.stream();
                let key = Box::new(Node::build(k, n)?);
                let value = Box::new(Node::build(v, n)?);
                Node::Map {
                    offsets,
                    key,
                    value,
                }
            }
            other => Node::Leaf {
                leaf: Leaf::of(other)?,
                stream: n.stream(),
            },
        })
    }

    /// Appends what the column writes before its data: for each `LowCardinality` in
    /// it, in order, the key serialization version (1: dictionaries with additional
    /// keys per section).
    pub(super) fn prefix(&self, out: &mut Vec<u8>) {
        match self {
            Node::LowCardinality { .. } => out.extend_from_slice(&1u64.to_le_bytes()),
            Node::Array { inner, .. } => inner.prefix(out),
            Node::Map { key, value, .. } => {
                key.prefix(out);
                value.prefix(out);
            }
            Node::Leaf { .. } | Node::Nullable { .. } => {}
        }
    }
}
