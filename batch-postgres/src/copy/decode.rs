//! Reading binary COPY rows back into [`Value`]s: the inverse of every encoder of
//! [`PgBinary`](super::PgBinary), so that failed and buffered rows can be shown as
//! values.
//!
//! | Column type | [`Value`] |
//! |---|---|
//! | `bool` | `Bool` |
//! | `int2`, `int4`, `int8` | `Int` |
//! | `float4`, `float8` | `Float` |
//! | `text`, `varchar`, `bpchar`, `name`, `citext` | `String` |
//! | enum types | `Enum` |
//! | `json`, `jsonb` | `Json` |
//! | `bytea` | `Bytes` |
//! | `date` | `Date` (`infinity`, `-infinity` as such) |
//! | `timestamp`, `timestamptz` | `DateTime` with 6 fractional digits, `Z` for `timestamptz` |
//! | `numeric` | `Decimal` with the display scale (`NaN`, `Infinity`, `-Infinity` as such) |
//! | `uuid` | `Uuid` |
//! | `inet`, `cidr` | `Ip`, or `String` `addr/bits` for a network prefix |
//! | `interval` | `String`, in ISO 8601 ([`Interval`](super::Interval)'s display) |
//! | arrays | `Array` (one dimension) |
//! | NULL | `Null` |

use std::net::{Ipv4Addr, Ipv6Addr};

use batch_core::{DecodeError, Value};

use super::text::JSONB_VERSION;
use super::{oid, PgType, PgTypeKind};

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

fn i16_be(input: &mut &[u8], what: &'static str) -> Result<i16, DecodeError> {
    array(input, what).map(i16::from_be_bytes)
}

fn i32_be(input: &mut &[u8], what: &'static str) -> Result<i32, DecodeError> {
    array(input, what).map(i32::from_be_bytes)
}

/// The field count that starts each row.
pub(super) fn row_start(columns: usize, input: &mut &[u8]) -> Result<(), DecodeError> {
    let n = i16_be(input, "the field count")?;
    if usize::try_from(n).ok() != Some(columns) {
        return Err(DecodeError::invalid(
            "field count",
            format!("the row has {n} fields, the columns are {columns}"),
        ));
    }
    Ok(())
}

/// Reads one field (its length, then the value) of `column`.
pub(super) fn field(column: &PgType, input: &mut &[u8]) -> Result<Value, DecodeError> {
    let len = i32_be(input, "a field length")?;
    if len == -1 {
        return Ok(Value::Null);
    }
    let len =
        usize::try_from(len).map_err(|_| DecodeError::invalid("field length", format!("{len}")))?;
    let mut body = take(input, len, "a field")?;
    let value = value(column, &mut body)?;
    if !body.is_empty() {
        return Err(DecodeError::invalid(
            "field",
            format!("{} bytes left in a value of {}", body.len(), column.name()),
        ));
    }
    Ok(value)
}

fn utf8(bytes: &[u8], what: &'static str) -> Result<String, DecodeError> {
    String::from_utf8(bytes.to_vec()).map_err(|e| DecodeError::invalid(what, e.to_string()))
}

/// Microseconds from 1970-01-01 to 2000-01-01.
const UNIX_TO_PG_MICROS: i128 = 946_684_800_000_000;
/// Days from 1970-01-01 to 2000-01-01.
const UNIX_TO_PG_DAYS: i64 = 10_957;

/// The rest of `body`.
fn all<'a>(body: &mut &'a [u8]) -> &'a [u8] {
    std::mem::take(body)
}

/// The value of a non-NULL field, `body` being exactly its bytes.
fn value(column: &PgType, body: &mut &[u8]) -> Result<Value, DecodeError> {
    match column.kind() {
        PgTypeKind::Enum(_) => return Ok(Value::Enum(utf8(all(body), "enum label")?)),
        PgTypeKind::Citext => return Ok(Value::String(utf8(all(body), "citext")?)),
        PgTypeKind::Array(elem) => return pg_array(elem, body),
        PgTypeKind::Base => {}
        _ => {
            return Err(DecodeError::UnsupportedType {
                ty: column.name().to_owned(),
            })
        }
    }
    Ok(match column.base_oid() {
        oid::BOOL => match array::<1>(body, "a bool")? {
            [b @ (0 | 1)] => Value::Bool(b == 1),
            [b] => return Err(DecodeError::invalid("bool", format!("{b}"))),
        },
        oid::INT2 => Value::Int(i16_be(body, "an int2")?.into()),
        oid::INT4 => Value::Int(i32_be(body, "an int4")?.into()),
        oid::INT8 => Value::Int(i64::from_be_bytes(array(body, "an int8")?).into()),
        oid::FLOAT4 => Value::Float(f32::from_be_bytes(array(body, "a float4")?).into()),
        oid::FLOAT8 => Value::Float(f64::from_be_bytes(array(body, "a float8")?)),
        oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME => {
            Value::String(utf8(all(body), "text")?)
        }
        oid::JSON => Value::Json(utf8(all(body), "json")?),
        oid::JSONB => match array::<1>(body, "a jsonb version")? {
            [JSONB_VERSION] => Value::Json(utf8(all(body), "jsonb")?),
            [v] => return Err(DecodeError::invalid("jsonb", format!("version {v}"))),
        },
        oid::BYTEA => Value::Bytes(all(body).to_vec()),
        oid::DATE => match i32_be(body, "a date")? {
            i32::MAX => Value::Date("infinity".into()),
            i32::MIN => Value::Date("-infinity".into()),
            days => Value::date(i64::from(days) + UNIX_TO_PG_DAYS),
        },
        o @ (oid::TIMESTAMP | oid::TIMESTAMPTZ) => {
            let utc = o == oid::TIMESTAMPTZ;
            match i64::from_be_bytes(array(body, "a timestamp")?) {
                i64::MAX => Value::DateTime("infinity".into()),
                i64::MIN => Value::DateTime("-infinity".into()),
                t => {
                    let micros = i128::from(t) + UNIX_TO_PG_MICROS;
                    let secs = i64::try_from(micros.div_euclid(1_000_000))
                        .map_err(|_| DecodeError::invalid("timestamp", format!("{t}")))?;
                    let nanos = u32::try_from(micros.rem_euclid(1_000_000) * 1000).unwrap_or(0);
                    Value::timestamp(secs, nanos, 6, utc)
                }
            }
        }
        oid::NUMERIC => numeric(body)?,
        oid::UUID => Value::uuid(array(body, "a uuid")?),
        oid::INET | oid::CIDR => inet(body)?,
        oid::INTERVAL => {
            Value::String(super::Interval::from_be_bytes(array(body, "an interval")?).to_string())
        }
        _ => {
            return Err(DecodeError::UnsupportedType {
                ty: column.name().to_owned(),
            })
        }
    })
}

/// A one-dimensional array (or an empty one).
fn pg_array(elem: &PgType, body: &mut &[u8]) -> Result<Value, DecodeError> {
    let ndim = i32_be(body, "an array's dimensions")?;
    let _flags = i32_be(body, "an array's flags")?;
    let _oid = i32_be(body, "an array's element type")?;
    match ndim {
        0 => Ok(Value::Array(Vec::new())),
        1 => {
            let n = i32_be(body, "an array's length")?;
            let _lower = i32_be(body, "an array's lower bound")?;
            // Each element takes at least its 4-byte length.
            let n = usize::try_from(n)
                .ok()
                .filter(|n| n.saturating_mul(4) <= body.len())
                .ok_or_else(|| DecodeError::invalid("array length", format!("{n}")))?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(field(elem, body)?);
            }
            Ok(Value::Array(items))
        }
        n => Err(DecodeError::invalid(
            "array",
            format!("{n} dimensions (batchrow writes one)"),
        )),
    }
}

const NUMERIC_POS: u16 = 0x0000;
const NUMERIC_NEG: u16 = 0x4000;
const NUMERIC_NAN: u16 = 0xC000;
const NUMERIC_PINF: u16 = 0xD000;
const NUMERIC_NINF: u16 = 0xF000;

/// `numeric`: base-10000 digits, the weight of the first, the sign and the display
/// scale.
fn numeric(body: &mut &[u8]) -> Result<Value, DecodeError> {
    let ndigits = i16_be(body, "a numeric's digit count")?;
    let weight = i16_be(body, "a numeric's weight")?;
    let sign = u16::from_be_bytes(array(body, "a numeric's sign")?);
    let dscale = i16_be(body, "a numeric's scale")?;
    let special = match sign {
        NUMERIC_NAN => Some("NaN"),
        NUMERIC_PINF => Some("Infinity"),
        NUMERIC_NINF => Some("-Infinity"),
        NUMERIC_POS | NUMERIC_NEG => None,
        s => return Err(DecodeError::invalid("numeric", format!("sign {s:#x}"))),
    };
    if let Some(s) = special {
        return Ok(Value::Decimal(s.into()));
    }
    let bad = |what: String| DecodeError::invalid("numeric", what);
    let ndigits = usize::try_from(ndigits).map_err(|_| bad(format!("{ndigits} digits")))?;
    let dscale = u32::try_from(dscale).map_err(|_| bad(format!("scale {dscale}")))?;
    let mut digits = String::with_capacity(ndigits * 4);
    for _ in 0..ndigits {
        let d = i16_be(body, "a numeric digit")?;
        if !(0..10_000).contains(&d) {
            return Err(bad(format!("digit {d}")));
        }
        digits.push_str(&format!("{d:04}"));
    }
    // value = digits × 10^(4 × (weight - ndigits + 1))
    let exp = 4 * (i64::from(weight) - i64::try_from(ndigits).unwrap_or(0) + 1);
    let scale = u32::try_from(-exp).unwrap_or(0);
    if exp > 0 {
        digits.extend(std::iter::repeat_n('0', usize::try_from(exp).unwrap_or(0)));
    }
    // Bring the fractional digits to the display scale: the digits past it are the
    // zeros of the last base-10000 digit.
    if scale > dscale {
        let cut = usize::try_from(scale - dscale)
            .unwrap_or(0)
            .min(digits.len());
        digits.truncate(digits.len() - cut);
    } else {
        digits.extend(std::iter::repeat_n(
            '0',
            usize::try_from(dscale - scale).unwrap_or(0),
        ));
    }
    Ok(Value::decimal_digits(sign == NUMERIC_NEG, &digits, dscale))
}

const AF_INET: u8 = 2;
const AF_INET6: u8 = 3;

/// `inet` and `cidr`: family, prefix bits, is-cidr, address length, address.
fn inet(body: &mut &[u8]) -> Result<Value, DecodeError> {
    let [family, bits, _cidr, len] = array::<4>(body, "an inet header")?;
    let (ip, full) = match (family, len) {
        (AF_INET, 4) => (
            Ipv4Addr::from(array::<4>(body, "an IPv4 address")?).into(),
            32,
        ),
        (AF_INET6, 16) => (
            Ipv6Addr::from(array::<16>(body, "an IPv6 address")?).into(),
            128,
        ),
        _ => {
            return Err(DecodeError::invalid(
                "inet",
                format!("family {family} with {len} address bytes"),
            ))
        }
    };
    Ok(if bits == full {
        Value::Ip(ip)
    } else {
        Value::String(format!("{ip}/{bits}"))
    })
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
