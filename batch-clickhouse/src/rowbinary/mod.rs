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
//! | [`Int256`], [`UInt256`] | `Int256`, `UInt256` |
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
//!
//! The table is each type's [`Encode::accepts`], written
//! next to its encoder: the schema check asks it, so there is no other list to keep in
//! step.
//!
//! # Your own types
//!
//! A newtype or a domain type of your own goes into a row once it implements
//! [`ColumnValue`](batch_core::ColumnValue) (its [`ValueKind`](batch_core::ValueKind):
//! the kind it is stored as, which gives its column type where no server says, or
//! [`ValueKind::Other`](batch_core::ValueKind::Other)) and `Encode<RowBinary>`, with
//! the `accepts` rule of which columns take it. That rule is also what checks a column
//! type declared with `#[batch(type = "...")]`, before the first row:
//!
//! ```
//! # use batch_core as batchrow;
//! # use batch_derive::BatchRow;
//! use batchrow::{ColumnValue, Encode, EncodeError, Reason, Schema, ValueKind};
//! use batch_clickhouse::{ChType, RowBinary};
//!
//! /// Money in cents, stored as `Int64` (or `Decimal(18, 2)`).
//! struct Cents(i64);
//!
//! impl ColumnValue for Cents {
//!     const KIND: ValueKind = ValueKind::I64;
//! }
//!
//! impl Encode<RowBinary> for Cents {
//!     fn encode(&self, column: &ChType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
//!         match column {
//!             ChType::Decimal { precision: 10..=18, scale: 2 } | ChType::Int64 => {
//!                 buf.extend_from_slice(&self.0.to_le_bytes());
//!                 Ok(())
//!             }
//!             other => Err(EncodeError::Unsupported { rust: "Cents", server: other.to_string() }),
//!         }
//!     }
//!
//!     fn accepts(column: &ChType) -> Result<(), Reason> {
//!         match column {
//!             ChType::Decimal { precision: 10..=18, scale: 2 } | ChType::Int64 => Ok(()),
//!             _ => Err(Reason::new("Cents needs Int64 or Decimal(18, 2)")),
//!         }
//!     }
//! }
//!
//! #[derive(BatchRow)]
//! # #[batch(crate = "batch_core")]
//! struct Payment {
//!     id: u64,
//!     #[batch(type = "Decimal(18, 2)")]
//!     amount: Cents,
//! }
//!
//! let columns = RowBinary::resolve_offline(Schema::checked::<Payment, RowBinary>())?;
//! let mut buf = Vec::new();
//! RowBinary::encode_rows(&[Payment { id: 1, amount: Cents(-250) }], &columns, &mut buf)?;
//! // UInt64 1 | Decimal64 -250 (-2.50)
//! assert_eq!(buf, [1, 0, 0, 0, 0, 0, 0, 0, 0x06, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
//!
//! // A column it does not take is refused by the schema check, with the rule's reason.
//! let schema = Schema::checked::<Payment, RowBinary>();
//! let refused = schema.accepts(1, &ChType::String).unwrap().unwrap_err();
//! assert_eq!(refused.to_string(), "Cents needs Int64 or Decimal(18, 2)");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! `tests/clickhouse/types.rs` inserts such types through a real server and reads them
//! back.

use std::borrow::Cow;

use batch_core::{DecodeError, Encode, EncodeError, EnumVariant, Format, Reason, Value};

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
mod wide;

pub use wide::{Int256, UInt256};

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

    fn accepts_enum(variants: &'static [EnumVariant], column: &ChType) -> Result<(), Reason> {
        enums::accepts(variants, column)
    }

    fn type_name(column: &ChType) -> String {
        column.to_string()
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

/// The rule of a field type that is not an `Option`: a `Nullable` column needs an
/// `Option` field; otherwise the column (without `LowCardinality`) must be one `ok`
/// takes, or the field type `needs` `expected`.
#[inline]
pub(crate) fn accept(
    column: &ChType,
    ok: impl FnOnce(&ChType) -> bool,
    expected: impl Into<Cow<'static, str>>,
) -> Result<(), Reason> {
    match leaf(column) {
        ChType::Nullable(_) => Err(Reason::new(
            "the column is Nullable but the field is not an `Option`: make the field an \
             `Option<..>`",
        )
        .expecting(expected)),
        t if ok(t) => Ok(()),
        _ => Err(Reason::needs(expected)),
    }
}

/// The column types a field type needs, for the messages of the containers that hold
/// it (`Array(UInt64)`): what its rule says of a column no type takes.
pub(crate) fn expected_of<T: Encode<RowBinary> + ?Sized>() -> String {
    T::accepts(&ChType::Nothing)
        .err()
        .and_then(|r| r.expected().map(str::to_owned))
        .unwrap_or_else(|| "a type batchrow supports".to_owned())
}

/// A `T` cannot be written to `column`.
#[cold]
#[inline(never)]
pub(crate) fn unsupported<T: ?Sized>(column: &ChType) -> EncodeError {
    EncodeError::unsupported::<T>(column)
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
