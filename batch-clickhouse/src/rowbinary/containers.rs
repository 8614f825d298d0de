//! `Option<T>` (Nullable), `Vec<T>` / `&[T]` (Array, or bytes as String) and maps.

use std::collections::{BTreeMap, HashMap};

use batch_core::{ColumnValue, Encode, EncodeError, Reason, ValueKind};

use super::{accept, expected_of, leaf, put_len, unsupported, RowBinary};
use crate::types::ChType;

impl<T: Encode<RowBinary>> Encode<RowBinary> for Option<T> {
    #[inline]
    fn encode(&self, column: &ChType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        let ChType::Nullable(inner) = leaf(column) else {
            return Err(unsupported::<Self>(column));
        };
        match self {
            None => {
                buf.push(1);
                Ok(())
            }
            Some(v) => {
                buf.push(0);
                v.encode(inner, buf).inspect_err(|_| {
                    buf.pop();
                })
            }
        }
    }

    fn accepts(column: &ChType) -> Result<(), Reason> {
        match leaf(column) {
            ChType::Nullable(inner) => T::accepts(inner),
            _ => Err(Reason::new(
                "the field is an `Option` but the column is not Nullable, so it cannot store \
                 NULL: make the column Nullable(..) or the field not an `Option`",
            )
            .expecting(format!("Nullable({})", expected_of::<T>()))),
        }
    }
}

/// Encodes `items` one after the other with `column`; on error, truncates `buf` to
/// `start`.
#[inline]
fn encode_all<'a, T: Encode<RowBinary> + 'a>(
    items: impl IntoIterator<Item = &'a T>,
    column: &ChType,
    buf: &mut Vec<u8>,
    start: usize,
) -> Result<(), EncodeError> {
    for item in items {
        if let Err(e) = item.encode(column, buf) {
            buf.truncate(start);
            return Err(e);
        }
    }
    Ok(())
}

impl<T: Encode<RowBinary> + ColumnValue> Encode<RowBinary> for [T] {
    #[inline]
    fn encode(&self, column: &ChType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        let start = buf.len();
        match leaf(column) {
            ChType::Array(inner) => {
                put_len(buf, self.len());
                encode_all(self, inner, buf, start)
            }
            // Bytes (`Vec<u8>`, `&[u8]`) into a string column.
            ChType::String if matches!(T::KIND, ValueKind::U8) => {
                put_len(buf, self.len());
                encode_all(self, &ChType::UInt8, buf, start)
            }
            ChType::FixedString(n) if matches!(T::KIND, ValueKind::U8) => {
                if self.len() > *n {
                    return Err(EncodeError::Length {
                        what: "FixedString(N)",
                        len: self.len(),
                        max: *n,
                    });
                }
                encode_all(self, &ChType::UInt8, buf, start)?;
                buf.resize(start + n, 0);
                Ok(())
            }
            other => Err(unsupported::<Self>(other)),
        }
    }

    fn accepts(column: &ChType) -> Result<(), Reason> {
        let bytes = matches!(T::KIND, ValueKind::U8);
        if let ChType::Array(inner) = leaf(column) {
            return T::accepts(inner).map_err(|r| r.context("in the array elements"));
        }
        if bytes {
            accept(
                column,
                |t| matches!(t, ChType::String | ChType::FixedString(_)),
                "String, FixedString(N) or Array(UInt8)",
            )
        } else {
            accept(column, |_| false, format!("Array({})", expected_of::<T>()))
        }
    }
}

impl<T: Encode<RowBinary> + ColumnValue> Encode<RowBinary> for Vec<T> {
    #[inline]
    fn encode(&self, column: &ChType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.as_slice().encode(column, buf)
    }

    fn accepts(column: &ChType) -> Result<(), Reason> {
        <[T] as Encode<RowBinary>>::accepts(column)
    }
}

/// Encodes map entries as `Map(K, V)`: the entry count, then key and value of each.
#[inline]
fn encode_map<'a, K, V>(
    len: usize,
    entries: impl Iterator<Item = (&'a K, &'a V)>,
    column: &ChType,
    buf: &mut Vec<u8>,
    rust: &'static str,
) -> Result<(), EncodeError>
where
    K: Encode<RowBinary> + 'a,
    V: Encode<RowBinary> + 'a,
{
    let ChType::Map(kt, vt) = leaf(column) else {
        return Err(EncodeError::Unsupported {
            rust,
            server: column.to_string(),
        });
    };
    let start = buf.len();
    put_len(buf, len);
    for (k, v) in entries {
        if let Err(e) = k.encode(kt, buf).and_then(|()| v.encode(vt, buf)) {
            buf.truncate(start);
            return Err(e);
        }
    }
    Ok(())
}

/// The rule of the maps: `Map(K, V)` whose key and value types take `K` and `V`.
fn accepts_map<K, V>(column: &ChType) -> Result<(), Reason>
where
    K: Encode<RowBinary> + ?Sized,
    V: Encode<RowBinary> + ?Sized,
{
    if let ChType::Map(kt, vt) = leaf(column) {
        K::accepts(kt).map_err(|r| r.context("in the map keys"))?;
        return V::accepts(vt).map_err(|r| r.context("in the map values"));
    }
    let expected = format!("Map({}, {})", expected_of::<K>(), expected_of::<V>());
    accept(column, |_| false, expected)
}

macro_rules! maps {
    ($($map:ident<K, V $(, $s:ident)?>),*) => {$(
        impl<K: Encode<RowBinary>, V: Encode<RowBinary> $(, $s)?> Encode<RowBinary>
            for $map<K, V $(, $s)?>
        {
            #[inline]
            fn encode(&self, column: &ChType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
                encode_map(
                    self.len(),
                    self.iter(),
                    column,
                    buf,
                    std::any::type_name::<Self>(),
                )
            }

            fn accepts(column: &ChType) -> Result<(), Reason> {
                accepts_map::<K, V>(column)
            }
        }
    )*};
}

maps!(HashMap<K, V, S>, BTreeMap<K, V>);
