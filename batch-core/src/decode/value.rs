//! [`Value`]: one column value read back from an encoded row.

use std::fmt;
use std::net::IpAddr;

use super::{json, text};

/// One column value read back from an encoded row, independent of the database.
///
/// It serializes cleanly to JSON ([`Value::to_json`]): dates, times, decimals, UUIDs,
/// IP addresses and enum labels are text in a fixed format, integers keep every digit.
///
/// # Examples
///
/// ```
/// use batch_core::Value;
///
/// assert_eq!(Value::date(19_000).to_string(), "2022-01-08");
/// assert_eq!(Value::timestamp(1_700_000_000, 120_000_000, 3, true).to_string(),
///            "2023-11-14T22:13:20.120Z");
/// let v = Value::Array(vec![Value::Int(-1), Value::Null, Value::String("a\"b".into())]);
/// assert_eq!(v.to_json(), r#"[-1,null,"a\"b"]"#);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// NULL.
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed integer of any width up to 128 bits.
    Int(i128),
    /// An unsigned integer of any width up to 128 bits.
    UInt(u128),
    /// A floating-point number (`f32` values are widened exactly).
    Float(f64),
    /// Text.
    String(String),
    /// Bytes that are not text (`bytea`, a ClickHouse `String` or `FixedString` that is
    /// not valid UTF-8). JSON: a base64 string (standard alphabet, padded).
    Bytes(Vec<u8>),
    /// An exact decimal number as text, such as `-12.3400` (the column's scale kept).
    Decimal(String),
    /// A date as `YYYY-MM-DD` in the proleptic Gregorian calendar. A year outside 0 to
    /// 9999 is written with a sign and at least four digits, and years before 1 are
    /// numbered astronomically (1 BC is `0000`, 2 BC is `-0001`), as ISO 8601 does.
    Date(String),
    /// A date and time as `YYYY-MM-DDTHH:MM:SS[.f…]`, with a `Z` suffix when it is an
    /// instant in UTC (ClickHouse `DateTime`, PostgreSQL `timestamptz`) and without one
    /// for a wall-clock time (PostgreSQL `timestamp`).
    DateTime(String),
    /// A UUID in its hyphenated lowercase form.
    Uuid(String),
    /// An IP address.
    Ip(IpAddr),
    /// An enum label.
    Enum(String),
    /// A JSON document, as its text.
    Json(String),
    /// An array.
    Array(Vec<Value>),
    /// A map, as its entries in stored order. JSON: an array of `[key, value]` pairs.
    Map(Vec<(Value, Value)>),
    /// A tuple. JSON: an array.
    Tuple(Vec<Value>),
}

impl Value {
    /// A date given as days since 1970-01-01 (negative before).
    ///
    /// # Examples
    ///
    /// ```
    /// use batch_core::Value;
    /// assert_eq!(Value::date(0), Value::Date("1970-01-01".into()));
    /// assert_eq!(Value::date(-719_528).to_string(), "0000-01-01");
    /// assert_eq!(Value::date(-719_529).to_string(), "-0001-12-31");
    /// ```
    #[must_use]
    pub fn date(days: i64) -> Value {
        Value::Date(text::date(days))
    }

    /// An instant or wall-clock time given as whole seconds since 1970-01-01 00:00:00
    /// (floored) and the nanoseconds past that second, written with `digits` fractional
    /// digits (0 to 9, truncated), and a `Z` suffix when `utc`.
    ///
    /// # Examples
    ///
    /// ```
    /// use batch_core::Value;
    /// assert_eq!(Value::timestamp(-1, 500_000_000, 6, false).to_string(),
    ///            "1969-12-31T23:59:59.500000");
    /// assert_eq!(Value::timestamp(86_400, 0, 0, true).to_string(), "1970-01-02T00:00:00Z");
    /// ```
    #[must_use]
    pub fn timestamp(secs: i64, nanos: u32, digits: u8, utc: bool) -> Value {
        Value::DateTime(text::timestamp(secs, nanos, digits, utc))
    }

    /// A decimal number given as an integer `mantissa` and a `scale`:
    /// `mantissa × 10^-scale`, written with exactly `scale` fractional digits.
    ///
    /// # Examples
    ///
    /// ```
    /// use batch_core::Value;
    /// assert_eq!(Value::decimal(-1234, 3).to_string(), "-1.234");
    /// assert_eq!(Value::decimal(5, 2).to_string(), "0.05");
    /// ```
    #[must_use]
    pub fn decimal(mantissa: i128, scale: u32) -> Value {
        Value::Decimal(text::decimal(
            mantissa < 0,
            &mantissa.unsigned_abs().to_string(),
            scale,
        ))
    }

    /// A decimal number given as the decimal digits of its magnitude (no sign, no point),
    /// its sign and its `scale`, for numbers wider than 128 bits.
    ///
    /// # Examples
    ///
    /// ```
    /// use batch_core::Value;
    /// assert_eq!(Value::decimal_digits(true, "70", 3).to_string(), "-0.070");
    /// ```
    #[must_use]
    pub fn decimal_digits(negative: bool, digits: &str, scale: u32) -> Value {
        Value::Decimal(text::decimal(negative, digits, scale))
    }

    /// A UUID from its 16 bytes in RFC 4122 order.
    ///
    /// # Examples
    ///
    /// ```
    /// use batch_core::Value;
    /// let v = Value::uuid([0x12; 16]);
    /// assert_eq!(v.to_string(), "12121212-1212-1212-1212-121212121212");
    /// ```
    #[must_use]
    pub fn uuid(bytes: [u8; 16]) -> Value {
        Value::Uuid(text::uuid(bytes))
    }

    /// Text if `bytes` is valid UTF-8, [`Value::Bytes`] otherwise.
    #[must_use]
    pub fn text_or_bytes(bytes: Vec<u8>) -> Value {
        match String::from_utf8(bytes) {
            Ok(s) => Value::String(s),
            Err(e) => Value::Bytes(e.into_bytes()),
        }
    }

    /// The value as one line of JSON (see the variants for the mapping). A non-finite
    /// float is written as the string `"NaN"`, `"inf"` or `"-inf"`.
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        json::write_value(self, &mut out);
        out
    }

    /// Appends the value as JSON to `out`.
    pub fn write_json(&self, out: &mut String) {
        json::write_value(self, out);
    }
}

/// Text values print bare, the rest as JSON.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::String(s)
            | Value::Decimal(s)
            | Value::Date(s)
            | Value::DateTime(s)
            | Value::Uuid(s)
            | Value::Enum(s)
            | Value::Json(s) => f.write_str(s),
            Value::Ip(ip) => write!(f, "{ip}"),
            other => f.write_str(&other.to_json()),
        }
    }
}
