//! Reading RowBinary back into [`Value`]s: [`Format::decode_value`](batch_core::Format)
//! for [`RowBinary`](super::RowBinary), the inverse of every encoder in this module, so
//! that failed and buffered rows can be shown as values.
//!
//! | Column type | [`Value`] |
//! |---|---|
//! | `Bool` | `Bool` |
//! | `Int8`…`Int128`, `UInt8`…`UInt128` | `Int`, `UInt` |
//! | `Int256`, `UInt256` | `Decimal` (the integer's digits) |
//! | `Float32`, `Float64` | `Float` |
//! | `String`, `FixedString(N)` | `String` when UTF-8 (a `FixedString` keeps its zero padding), else `Bytes` |
//! | `JSON` | `Json` |
//! | `Date`, `Date32` | `Date` |
//! | `DateTime`, `DateTime64(p)` | `DateTime` in UTC with `p` fractional digits |
//! | `Decimal(P, S)` | `Decimal` with `S` fractional digits |
//! | `UUID` | `Uuid` |
//! | `IPv4`, `IPv6` | `Ip` |
//! | `Enum8`, `Enum16` | `Enum` (the label) |
//! | `Nullable(T)`, `LowCardinality(T)`, `Array(T)`, `Map(K, V)`, `Tuple(..)` | `Null` or `T`'s, `T`'s, `Array`, `Map`, `Tuple` |

use std::net::{Ipv4Addr, Ipv6Addr};

use batch_core::{DecodeError, Value};

use super::{Int256, UInt256};
use crate::types::ChType;

/// Takes `n` bytes from the front of `input`.
fn take<'a>(input: &mut &'a [u8], n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
    if input.len() < n {
        return Err(DecodeError::truncated(what, n - input.len()));
    }
    let (head, rest) = input.split_at(n);
    *input = rest;
    Ok(head)
}

fn array<const N: usize>(input: &mut &[u8], what: &'static str) -> Result<[u8; N], DecodeError> {
    let mut out = [0u8; N];
    out.copy_from_slice(take(input, N, what)?);
    Ok(out)
}

/// Reads an unsigned LEB128 varint (RowBinary's length prefix).
fn get_len(input: &mut &[u8]) -> Result<usize, DecodeError> {
    let mut n: u64 = 0;
    for i in 0..10 {
        let [b] = array::<1>(input, "a length")?;
        let bits = u64::from(b & 0x7f);
        if i == 9 && b > 1 {
            return Err(DecodeError::invalid(
                "length",
                "the varint overflows 64 bits",
            ));
        }
        n |= bits << (7 * i);
        if b & 0x80 == 0 {
            return usize::try_from(n)
                .map_err(|_| DecodeError::invalid("length", format!("{n} is too large")));
        }
    }
    Err(DecodeError::invalid(
        "length",
        "the varint is longer than 10 bytes",
    ))
}

/// A count of items, each taking at least one byte: never more than the bytes left.
fn get_count(input: &mut &[u8], what: &'static str) -> Result<usize, DecodeError> {
    let n = get_len(input)?;
    if n > input.len() {
        return Err(DecodeError::truncated(what, n - input.len()));
    }
    Ok(n)
}

const POW10: [i64; 10] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
];

/// Reads one value of `column`.
pub(super) fn value(column: &ChType, input: &mut &[u8]) -> Result<Value, DecodeError> {
    Ok(match column {
        ChType::LowCardinality(inner) => return value(inner, input),
        ChType::Nullable(inner) => match array::<1>(input, "a NULL flag")? {
            [0] => value(inner, input)?,
            [1] => Value::Null,
            [b] => return Err(DecodeError::invalid("NULL flag", format!("{b}"))),
        },
        ChType::Bool => match array::<1>(input, "a Bool")? {
            [b @ (0 | 1)] => Value::Bool(b == 1),
            [b] => return Err(DecodeError::invalid("Bool", format!("{b}"))),
        },
        ChType::Int8 => Value::Int(i8::from_le_bytes(array(input, "an Int8")?).into()),
        ChType::Int16 => Value::Int(i16::from_le_bytes(array(input, "an Int16")?).into()),
        ChType::Int32 => Value::Int(i32::from_le_bytes(array(input, "an Int32")?).into()),
        ChType::Int64 => Value::Int(i64::from_le_bytes(array(input, "an Int64")?).into()),
        ChType::Int128 => Value::Int(i128::from_le_bytes(array(input, "an Int128")?)),
        ChType::UInt8 => Value::UInt(u8::from_le_bytes(array(input, "a UInt8")?).into()),
        ChType::UInt16 => Value::UInt(u16::from_le_bytes(array(input, "a UInt16")?).into()),
        ChType::UInt32 => Value::UInt(u32::from_le_bytes(array(input, "a UInt32")?).into()),
        ChType::UInt64 => Value::UInt(u64::from_le_bytes(array(input, "a UInt64")?).into()),
        ChType::UInt128 => Value::UInt(u128::from_le_bytes(array(input, "a UInt128")?)),
        // Beyond `Value::Int`: the decimal text.
        ChType::Int256 => {
            Value::Decimal(Int256::from_le_bytes(array(input, "an Int256")?).to_string())
        }
        ChType::UInt256 => {
            Value::Decimal(UInt256::from_le_bytes(array(input, "a UInt256")?).to_string())
        }
        ChType::Float32 => Value::Float(f32::from_le_bytes(array(input, "a Float32")?).into()),
        ChType::Float64 => Value::Float(f64::from_le_bytes(array(input, "a Float64")?)),
        ChType::String => {
            let n = get_count(input, "a String")?;
            Value::text_or_bytes(take(input, n, "a String")?.to_vec())
        }
        ChType::Json => {
            let n = get_count(input, "a JSON document")?;
            let bytes = take(input, n, "a JSON document")?.to_vec();
            Value::Json(
                String::from_utf8(bytes)
                    .map_err(|e| DecodeError::invalid("JSON document", e.to_string()))?,
            )
        }
        ChType::FixedString(n) => Value::text_or_bytes(take(input, *n, "a FixedString")?.to_vec()),
        ChType::Date => Value::date(u16::from_le_bytes(array(input, "a Date")?).into()),
        ChType::Date32 => Value::date(i32::from_le_bytes(array(input, "a Date32")?).into()),
        ChType::DateTime(_) => {
            let secs = u32::from_le_bytes(array(input, "a DateTime")?);
            Value::timestamp(secs.into(), 0, 0, true)
        }
        ChType::DateTime64(p, _) => {
            let ticks = i64::from_le_bytes(array(input, "a DateTime64")?);
            let p = (*p).min(9);
            let per_sec = POW10[usize::from(p)];
            let secs = ticks.div_euclid(per_sec);
            let frac = ticks.rem_euclid(per_sec) * POW10[9 - usize::from(p)];
            Value::timestamp(secs, u32::try_from(frac).unwrap_or(0), p, true)
        }
        ChType::Decimal { precision, scale } => {
            let scale = u32::from(*scale);
            match precision {
                0..=9 => Value::decimal(
                    i32::from_le_bytes(array(input, "a Decimal32")?).into(),
                    scale,
                ),
                10..=18 => Value::decimal(
                    i64::from_le_bytes(array(input, "a Decimal64")?).into(),
                    scale,
                ),
                19..=38 => {
                    Value::decimal(i128::from_le_bytes(array(input, "a Decimal128")?), scale)
                }
                _ => {
                    let (negative, digits) =
                        super::wide::digits(array(input, "a Decimal256")?, true);
                    Value::decimal_digits(negative, &digits, scale)
                }
            }
        }
        ChType::Uuid => {
            let hi = u64::from_le_bytes(array(input, "a UUID")?);
            let lo = u64::from_le_bytes(array(input, "a UUID")?);
            let mut bytes = [0u8; 16];
            bytes[..8].copy_from_slice(&hi.to_be_bytes());
            bytes[8..].copy_from_slice(&lo.to_be_bytes());
            Value::uuid(bytes)
        }
        ChType::Ipv4 => {
            Value::Ip(Ipv4Addr::from(u32::from_le_bytes(array(input, "an IPv4")?)).into())
        }
        ChType::Ipv6 => Value::Ip(Ipv6Addr::from(array::<16>(input, "an IPv6")?).into()),
        ChType::Enum8(def) => {
            let v = i8::from_le_bytes(array(input, "an Enum8")?);
            label(def.variants(), v.into(), column)?
        }
        ChType::Enum16(def) => {
            let v = i16::from_le_bytes(array(input, "an Enum16")?);
            label(def.variants(), v, column)?
        }
        ChType::Array(inner) => {
            let n = get_count(input, "an Array")?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(value(inner, input)?);
            }
            Value::Array(items)
        }
        ChType::Map(k, v) => {
            let n = get_count(input, "a Map")?;
            let mut entries = Vec::with_capacity(n);
            for _ in 0..n {
                let key = value(k, input)?;
                entries.push((key, value(v, input)?));
            }
            Value::Map(entries)
        }
        ChType::Tuple(items) => Value::Tuple(
            items
                .iter()
                .map(|t| value(t, input))
                .collect::<Result<_, _>>()?,
        ),
        other => {
            return Err(DecodeError::UnsupportedType {
                ty: other.to_string(),
            })
        }
    })
}

fn label(variants: &[(String, i16)], v: i16, column: &ChType) -> Result<Value, DecodeError> {
    variants
        .iter()
        .find(|(_, value)| *value == v)
        .map(|(l, _)| Value::Enum(l.clone()))
        .ok_or_else(|| {
            DecodeError::invalid("enum value", format!("{v} is not a value of {column}"))
        })
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
