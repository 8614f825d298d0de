//! ClickHouse's `RowBinary` format: the [`RowBinary`] marker and an
//! [`Encode<RowBinary>`](batch_core::Encode) impl for every Rust type ClickHouse can store.
//!
//! Each encoder looks at the column's resolved [`ChType`] (the server's type, parsed
//! once when the sink starts) and writes the value the way that type is laid out in
//! RowBinary, appending to the caller's buffer without allocating. A value that does not
//! fit its column (a `Date` past 2149, a string longer than its `FixedString(N)`, an
//! enum label the server lacks) is an [`EncodeError`], never a silent wrap.
//!
//! | Rust type | ClickHouse column types |
//! |---|---|
//! | `i8`…`i128`, `u8`…`u128`, `f32`, `f64` | the matching `Int*`, `UInt*`, `Float*` only |
//! | `bool` | `Bool`, `UInt8` |
//! | `String`, `&str`, `Cow<str>` | `String`, `FixedString(N)` (zero-padded), `Enum8`/`Enum16` (by label), `JSON` |
//! | `Vec<u8>`, `&[u8]` | `String`, `FixedString(N)`, `Array(UInt8)` |
//! | `[u8; N]` | `FixedString(N)`, `String` |
//! | `Option<T>` | `Nullable(..)` |
//! | `Vec<T>`, `&[T]` | `Array(..)` |
//! | `HashMap<K, V>`, `BTreeMap<K, V>` | `Map(K, V)` |
//! | `Ipv4Addr` / `Ipv6Addr` / `IpAddr` | `IPv4`, `IPv6` |
//! | `uuid::Uuid` | `UUID` |
//! | `chrono::NaiveDate`, `time::Date` | `Date`, `Date32` |
//! | `chrono::NaiveDateTime`, `chrono::DateTime<Utc>`, `time::PrimitiveDateTime`, `time::OffsetDateTime` | `DateTime`, `DateTime64(p)` |
//! | `rust_decimal::Decimal` | `Decimal(P, S)` |
//! | `serde_json::Value` | `String`, `JSON` |
//! | enums with `#[derive(BatchEnum)]` | `Enum8`/`Enum16` (by label), `String` |
//!
//! `LowCardinality(T)` is accepted wherever `T` is: its RowBinary encoding is `T`'s.

use std::any::type_name;

use batch_core::{DecodeError, EncodeError, Format, Value};

use crate::types::ChType;

mod containers;
#[cfg(any(feature = "chrono", feature = "time"))]
mod datetime;
#[cfg(feature = "rust_decimal")]
mod decimal;
mod decode;
mod enums;
#[cfg(feature = "serde_json")]
mod json;
mod net;
mod offline;
mod primitives;
mod text;
#[cfg(feature = "uuid")]
mod uuid;

#[cfg(test)]
mod tests;

/// ClickHouse's `RowBinary` format. A row encodes as its fields back to back, in the
/// order of the `INSERT`'s column list, with no row header.
///
/// The sink resolves one [`ChType`] per column (the server's type) before the first row;
/// for encoding without a server, see [`RowBinary::resolve_offline`] and
/// [`RowBinary::encode_rows`].
#[derive(Debug, Clone, Copy, Default)]
pub struct RowBinary;

impl Format for RowBinary {
    type Column = ChType;

    const NAME: &'static str = "ClickHouse RowBinary";

    #[inline]
    fn begin_row(_columns: u16, _buf: &mut Vec<u8>) {}

    fn encode_enum(
        label: &'static str,
        _value: i16,
        column: &ChType,
        buf: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        enums::encode_label(label, column, buf, "enum")
    }

    /// Reads one value back into a [`Value`]: the inverse of the encoders.
    fn decode_value(column: &ChType, input: &mut &[u8]) -> Result<Value, DecodeError> {
        decode::value(column, input)
    }
}

/// The column type without `LowCardinality` wrappers: they do not change the encoding.
#[inline]
pub(crate) fn leaf(column: &ChType) -> &ChType {
    match column {
        ChType::LowCardinality(_) => column.without_low_cardinality(),
        other => other,
    }
}

/// A `T` cannot be written to `column`.
#[cold]
#[inline(never)]
pub(crate) fn unsupported<T: ?Sized>(column: &ChType) -> EncodeError {
    EncodeError::Unsupported {
        rust: type_name::<T>(),
        server: column.to_string(),
    }
}

/// Writes `n` as an unsigned LEB128 varint (RowBinary's length prefix).
#[inline]
pub(crate) fn put_len(buf: &mut Vec<u8>, n: usize) {
    let mut n = n as u64;
    while n >= 0x80 {
        buf.push(n.to_le_bytes()[0] | 0x80);
        n >>= 7;
    }
    buf.push(n.to_le_bytes()[0]);
}

/// Writes a length-prefixed byte string (`String`).
#[inline]
pub(crate) fn put_bytes(buf: &mut Vec<u8>, bytes: &[u8]) {
    put_len(buf, bytes.len());
    buf.extend_from_slice(bytes);
}

/// Writes `bytes` zero-padded to `FixedString(n)`, or fails when it is longer.
#[inline]
pub(crate) fn put_fixed(buf: &mut Vec<u8>, bytes: &[u8], n: usize) -> Result<(), EncodeError> {
    if bytes.len() > n {
        return Err(EncodeError::Length {
            what: "FixedString(N)",
            len: bytes.len(),
            max: n,
        });
    }
    buf.extend_from_slice(bytes);
    buf.resize(buf.len() + (n - bytes.len()), 0);
    Ok(())
}
