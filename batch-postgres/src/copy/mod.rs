//! The PostgreSQL binary COPY row format: the [`PgBinary`] marker and its encoders.
//!
//! A row is an `i16` field count followed by each field as an `i32` length (`-1` for
//! NULL) and the value in the type's binary `receive` format. The sink writes the file
//! header and trailer ([`HEADER`], [`TRAILER`]) around the rows of a batch.
//!
//! Which Rust type goes into which column type is decided at compile time (a type
//! without an `Encode<PgBinary>` impl, such as `u64`, cannot be used with this sink),
//! and by each type's own [`Encode::accepts`](batch_core::Encode::accepts), next to its
//! encoder: the schema check runs it for each field against the live column before the
//! first row. Encoders still refuse a [`PgType`] they cannot write, so that a column
//! nobody checked can never get wrong bytes.

mod array;
mod datetime;
mod decode;
mod interval;
mod json;
mod net;
mod numeric;
mod scalar;
mod text;
mod types;
mod uuid;

#[cfg(test)]
mod tests;

use batch_core::{DecodeError, Encode, EncodeError, EnumVariant, Format, Reason, Value};

pub use array::PgElement;
pub use interval::Interval;
pub use types::{oid, PgType, PgTypeKind};

/// The PostgreSQL binary COPY format (`COPY ... FROM STDIN (FORMAT binary)`).
///
/// Its column type is the [`PgType`] the schema check resolved from the catalog.
///
/// # Examples
///
/// ```
/// use batch_core::{Encode, Format};
/// use batch_postgres::{oid, PgBinary, PgType};
///
/// let int4 = PgType::builtin(oid::INT4, "integer");
/// let mut buf = Vec::new();
/// PgBinary::begin_row(1, &mut buf);
/// Encode::<PgBinary>::encode(&-2i32, &int4, &mut buf).unwrap();
/// // field count 1 | length 4 | -2
/// assert_eq!(buf, [0, 1, 0, 0, 0, 4, 0xff, 0xff, 0xff, 0xfe]);
/// ```
///
/// PostgreSQL has no unsigned integers, so a `u64` (or `u32`, `u16`, `i8`, …) has no
/// encoder: using one with this format does not compile.
///
/// ```compile_fail
/// use batch_core::Encode;
/// use batch_postgres::{oid, PgBinary, PgType};
/// let mut buf = Vec::new();
/// let _ = Encode::<PgBinary>::encode(&1u64, &PgType::builtin(oid::INT8, "bigint"), &mut buf);
/// ```
///
/// A lone `u8` does not compile either, while `Vec<u8>` (and `&[u8]`, `[u8; N]`) is
/// `bytea`:
///
/// ```compile_fail
/// use batch_core::Encode;
/// use batch_postgres::{oid, PgBinary, PgType};
/// let mut buf = Vec::new();
/// let _ = Encode::<PgBinary>::encode(&1u8, &PgType::builtin(oid::INT2, "smallint"), &mut buf);
/// ```
///
/// ```
/// use batch_core::Encode;
/// use batch_postgres::{oid, PgBinary, PgType};
/// let mut buf = Vec::new();
/// Encode::<PgBinary>::encode(&vec![1u8, 2], &PgType::builtin(oid::BYTEA, "bytea"), &mut buf)
///     .unwrap();
/// assert_eq!(buf, [0, 0, 0, 2, 1, 2]); // length 2 | the bytes
/// ```
///
/// # Your own types
///
/// A type of your own (a newtype, or a PostgreSQL type batchrow has no encoder for)
/// goes into a row once it implements [`ColumnValue`](batch_core::ColumnValue) and
/// `Encode<PgBinary>`: `encode` writes the field (its `i32` length, then the type's
/// binary `receive` format) and `accepts` is the rule of which columns take it, which
/// the schema check runs before the first row. Domains are looked through
/// ([`PgType::base_oid`]), so a newtype over `i64` into a `DOMAIN … AS bigint` can reuse
/// `i64`'s rule.
///
/// ```
/// # use batch_core as batchrow;
/// # use batch_derive::BatchRow;
/// use batchrow::{ColumnValue, Encode, EncodeError, Reason, Schema, ValueKind};
/// use batch_postgres::{PgBinary, PgType, PgTypeKind};
///
/// /// A PostgreSQL `point` (binary format: two `float8`).
/// struct Point {
///     x: f64,
///     y: f64,
/// }
///
/// const POINT_OID: u32 = 600;
///
/// impl ColumnValue for Point {
///     const KIND: ValueKind = ValueKind::Other;
/// }
///
/// impl Encode<PgBinary> for Point {
///     fn encode(&self, column: &PgType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
///         if Self::accepts(column).is_err() {
///             return Err(EncodeError::Unsupported { rust: "Point", server: column.name().into() });
///         }
///         buf.extend_from_slice(&16i32.to_be_bytes()); // the field's length
///         buf.extend_from_slice(&self.x.to_be_bytes());
///         buf.extend_from_slice(&self.y.to_be_bytes());
///         Ok(())
///     }
///
///     fn accepts(column: &PgType) -> Result<(), Reason> {
///         match column.kind() {
///             PgTypeKind::Base if column.base_oid() == POINT_OID => Ok(()),
///             _ => Err(Reason::new("this field type needs point").expecting("point")),
///         }
///     }
/// }
///
/// #[derive(BatchRow)]
/// # #[batch(crate = "batch_core")]
/// struct Place {
///     id: i64,
///     at: Point,
/// }
///
/// let schema = Schema::checked::<Place, PgBinary>();
/// let point = PgType::builtin(POINT_OID, "point");
/// assert!(schema.accepts(1, &point).is_some_and(|r| r.is_ok()));
/// let text = PgType::builtin(batch_postgres::oid::TEXT, "text");
/// let refused = schema.accepts(1, &text).unwrap().unwrap_err();
/// assert_eq!(refused.to_string(), "this field type needs point");
/// ```
///
/// `tests/postgres/types.rs` inserts both kinds through a real server and reads them
/// back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgBinary;

/// The 19 bytes that start a binary COPY stream: the 11-byte signature
/// `PGCOPY\n\xff\r\n\0`, the `i32` flags (0: no OIDs) and the `i32` length of the
/// header extension (0).
pub const HEADER: [u8; 19] = *b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// The `i16` -1 that ends a binary COPY stream.
pub const TRAILER: [u8; 2] = [0xff, 0xff];

impl Format for PgBinary {
    type Column = PgType;
    const NAME: &'static str = "PostgreSQL binary COPY";

    #[inline]
    fn begin_row(columns: u16, buf: &mut Vec<u8>) {
        // The field count is an i16 on the wire. A table has at most 1600 columns, so
        // the u16 bit pattern is the same number.
        buf.extend_from_slice(&columns.to_be_bytes());
    }

    fn encode_enum(
        label: &'static str,
        _value: i16,
        column: &PgType,
        buf: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        text::encode_label(label, column, buf)
    }

    fn accepts_enum(variants: &'static [EnumVariant], column: &PgType) -> Result<(), Reason> {
        text::accepts_label(variants, column)
    }

    fn type_name(column: &PgType) -> String {
        column.name().to_owned()
    }

    /// Reads the field count that starts a row.
    fn decode_row_start(columns: usize, input: &mut &[u8]) -> Result<(), DecodeError> {
        decode::row_start(columns, input)
    }

    /// Reads one field back into a [`Value`]: the inverse of the encoders.
    fn decode_value(column: &PgType, input: &mut &[u8]) -> Result<Value, DecodeError> {
        decode::field(column, input)
    }
}

/// Writes a value of known length: the `i32` length prefix, then `value`.
#[inline]
pub(crate) fn put_fixed<const N: usize>(buf: &mut Vec<u8>, value: [u8; N]) {
    buf.extend_from_slice(&FixedLen::<N>::PREFIX);
    buf.extend_from_slice(&value);
}

/// The length prefix of an `N`-byte value, computed at compile time.
struct FixedLen<const N: usize>;

impl<const N: usize> FixedLen<N> {
    #[allow(clippy::cast_possible_truncation)] // N <= 64, asserted at compile time.
    const PREFIX: [u8; 4] = {
        assert!(N <= 64);
        (N as u32).to_be_bytes()
    };
}

/// Writes a value of unknown length: a length placeholder, then whatever `write`
/// appends, then patches the length in. Appends nothing if `write` fails.
#[inline]
pub(crate) fn put_with_len(
    buf: &mut Vec<u8>,
    write: impl FnOnce(&mut Vec<u8>) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    let start = buf.len();
    buf.extend_from_slice(&[0; 4]);
    if let Err(e) = write(buf) {
        buf.truncate(start);
        return Err(e);
    }
    let len = buf.len() - start - 4;
    let Ok(len32) = i32::try_from(len) else {
        buf.truncate(start);
        return Err(too_long("a PostgreSQL field", len));
    };
    buf[start..start + 4].copy_from_slice(&len32.to_be_bytes());
    Ok(())
}

/// A value longer than the binary format can describe.
#[cold]
pub(crate) fn too_long(what: &'static str, len: usize) -> EncodeError {
    EncodeError::Length {
        what,
        len,
        max: i32::MAX as usize,
    }
}

/// A `T` cannot be written to the column type.
#[cold]
pub(crate) fn unsupported<T: ?Sized>(column: &PgType) -> EncodeError {
    EncodeError::unsupported::<T>(column.name())
}

/// The rule of a type written in the binary format of one of the base types `oids`
/// (domains over them included): the field type needs `expected` otherwise.
#[inline]
pub(crate) fn accept_base(
    column: &PgType,
    oids: &[u32],
    expected: &'static str,
) -> Result<(), Reason> {
    if matches!(column.kind(), PgTypeKind::Base) && oids.contains(&column.base_oid()) {
        Ok(())
    } else {
        Err(Reason::needs(expected))
    }
}

/// The column types a field type needs, for the messages of the arrays that hold it:
/// what its rule says of a column no type takes.
pub(crate) fn expected_of<T: Encode<PgBinary> + ?Sized>() -> String {
    let none = PgType {
        oid: 0,
        base: 0,
        typmod: -1,
        name: String::new(),
        kind: PgTypeKind::Other,
    };
    T::accepts(&none)
        .err()
        .and_then(|r| r.expected().map(str::to_owned))
        .unwrap_or_else(|| "a type batchrow supports".to_owned())
}

/// Refuses a column that `T`'s own rule ([`Encode::accepts`]) refuses: an encoder asks
/// the rule rather than restating it.
#[inline]
pub(crate) fn expect<T: Encode<PgBinary> + ?Sized>(column: &PgType) -> Result<(), EncodeError> {
    T::accepts(column).map_err(|_| unsupported::<T>(column))
}
