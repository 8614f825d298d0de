//! `Vec<T>` and `&[T]`: one-dimensional arrays, and `bytea` for `Vec<u8>`.
//!
//! The array binary format is: `i32` number of dimensions (1, or 0 for an empty array),
//! `i32` flags (1 if any element is NULL), the element type's OID, then per dimension
//! the `i32` length and the `i32` lower bound (1), then each element as a field
//! (length-prefixed, -1 for NULL).

use batch_core::{Encode, EncodeError, Reason};

use super::{accept_base, expected_of, oid, put_with_len, too_long, unsupported, PgBinary, PgType};

/// A type that can be the element `T` of a `Vec<T>` or `&[T]` field.
///
/// Every type with an [`Encode<PgBinary>`](batch_core::Encode) impl is an array element
/// (`Vec<i32>` is an `int4[]`, `Vec<Option<String>>` a `text[]` with NULLs). `u8` is the
/// exception: `Vec<u8>`, `&[u8]` are `bytea`, while a lone `u8` has no PostgreSQL type.
#[diagnostic::on_unimplemented(
    message = "`Vec<{Self}>` cannot be written in the PostgreSQL binary COPY format",
    label = "no PostgreSQL array of this element type",
    note = "array elements must be types PostgreSQL stores; `Vec<u8>` is written as bytea"
)]
pub trait PgElement: Sized {
    /// Writes `items` as one value of `column`.
    ///
    /// # Errors
    ///
    /// When an element does not fit, or the column is not an array (or `bytea` for `u8`).
    fn encode_slice(items: &[Self], column: &PgType, buf: &mut Vec<u8>) -> Result<(), EncodeError>;

    /// Whether a `Vec<Self>` or `&[Self]` may be written to `column`: the
    /// [`Encode::accepts`] of the slices.
    ///
    /// # Errors
    ///
    /// The [`Reason`] the column does not take the slice.
    fn accepts_slice(column: &PgType) -> Result<(), Reason>;
}

/// `u8` slices are `bytea`.
impl PgElement for u8 {
    #[inline]
    fn encode_slice(items: &[u8], column: &PgType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        encode_bytes(items, column, buf)
    }

    fn accepts_slice(column: &PgType) -> Result<(), Reason> {
        accepts_bytes(column)
    }
}

/// The rule of bytes: `bytea`.
fn accepts_bytes(column: &PgType) -> Result<(), Reason> {
    accept_base(column, &[oid::BYTEA], "bytea")
}

impl<T: Encode<PgBinary>> PgElement for T {
    fn encode_slice(items: &[T], column: &PgType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        let Some(elem) = column.element() else {
            return Err(unsupported::<Vec<T>>(column));
        };
        let Ok(n) = i32::try_from(items.len()) else {
            return Err(too_long("a PostgreSQL array", items.len()));
        };
        put_with_len(buf, |buf| {
            if n == 0 {
                // ndim 0 | flags 0 | element OID: the empty array.
                buf.extend_from_slice(&0i32.to_be_bytes());
                buf.extend_from_slice(&0i32.to_be_bytes());
                buf.extend_from_slice(&elem.oid().to_be_bytes());
                return Ok(());
            }
            buf.extend_from_slice(&1i32.to_be_bytes()); // ndim
            let flags_at = buf.len();
            buf.extend_from_slice(&0i32.to_be_bytes()); // has-null flag, patched below
            buf.extend_from_slice(&elem.oid().to_be_bytes());
            buf.extend_from_slice(&n.to_be_bytes()); // dimension length
            buf.extend_from_slice(&1i32.to_be_bytes()); // lower bound
            let mut has_null = false;
            for item in items {
                let at = buf.len();
                item.encode(elem, buf)?;
                has_null |= buf.get(at..at + 4) == Some(&[0xff; 4][..]);
            }
            if has_null {
                buf[flags_at..flags_at + 4].copy_from_slice(&1i32.to_be_bytes());
            }
            Ok(())
        })
    }

    fn accepts_slice(column: &PgType) -> Result<(), Reason> {
        match column.element() {
            Some(elem) => T::accepts(elem).map_err(|r| r.context("in the array elements")),
            None => Err(Reason::needs(format!("an array of {}", expected_of::<T>()))),
        }
    }
}

/// Writes bytes to a `bytea` column.
#[inline]
fn encode_bytes(bytes: &[u8], column: &PgType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
    if column.base_oid() != oid::BYTEA || column.element().is_some() {
        return Err(unsupported::<Vec<u8>>(column));
    }
    let Ok(len) = i32::try_from(bytes.len()) else {
        return Err(too_long("a PostgreSQL bytea", bytes.len()));
    };
    buf.reserve(4 + bytes.len());
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(bytes);
    Ok(())
}

impl<T: PgElement> Encode<PgBinary> for [T] {
    #[inline]
    fn encode(&self, column: &PgType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        T::encode_slice(self, column, buf)
    }

    fn accepts(column: &PgType) -> Result<(), Reason> {
        T::accepts_slice(column)
    }
}

impl<T: PgElement> Encode<PgBinary> for Vec<T> {
    #[inline]
    fn encode(&self, column: &PgType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        T::encode_slice(self, column, buf)
    }

    fn accepts(column: &PgType) -> Result<(), Reason> {
        T::accepts_slice(column)
    }
}

/// `[u8; N]` is `bytea`.
impl<const N: usize> Encode<PgBinary> for [u8; N] {
    #[inline]
    fn encode(&self, column: &PgType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        encode_bytes(self, column, buf)
    }

    fn accepts(column: &PgType) -> Result<(), Reason> {
        accepts_bytes(column)
    }
}
