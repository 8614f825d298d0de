//! Encoded rows read back into column values: [`Value`], [`DecodedRow`] and
//! [`DecodeError`].
//!
//! A batcher keeps the columns its sink resolved; every [`FailedBatch`] and every
//! [`Dump`] carries them (behind one reference count, so a committed batch costs
//! nothing), so that failed or buffered rows can be logged, stored or re-processed as
//! values rather than bytes. Each backend's [`Format`] decodes its own rows
//! ([`Format::decode_value`]); a format without a decoder reports
//! [`DecodeError::Unsupported`].
//!
//! [`FailedBatch`]: crate::FailedBatch
//! [`Dump`]: crate::Dump

mod json;
mod text;

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use crate::batch::Batch;
use crate::format::Format;
use crate::row::{Column, Schema};

pub(crate) use json::{
    base64_decode, base64_encode, write_str as write_json_str, Reader as JsonReader,
};

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

/// An encoded row could not be read back into values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The format has no decoder (a custom [`Format`] that does not implement
    /// [`Format::decode_value`]).
    #[error("the {format} format cannot decode rows")]
    Unsupported {
        /// The format's name.
        format: &'static str,
    },
    /// The decoder does not know this column type.
    #[error("cannot decode a value of column type {ty}")]
    UnsupportedType {
        /// The column type.
        ty: String,
    },
    /// The row ended in the middle of a value.
    #[error("the row ends in the middle of {what} ({needed} more bytes needed)")]
    Truncated {
        /// What was being read, such as `"a String length"`.
        what: &'static str,
        /// How many more bytes were needed.
        needed: usize,
    },
    /// The bytes are not a valid value of the column type.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// What was being read.
        what: &'static str,
        /// Why it is invalid.
        reason: String,
    },
    /// Bytes were left after the last column.
    #[error("{len} bytes are left after the last column")]
    TrailingBytes {
        /// How many.
        len: usize,
    },
    /// The error happened in this column.
    #[error("column `{column}`: {source}")]
    Column {
        /// The column name.
        column: &'static str,
        /// What went wrong.
        source: Box<DecodeError>,
    },
}

impl DecodeError {
    /// `needed` more bytes were needed to read `what`.
    #[must_use]
    pub fn truncated(what: &'static str, needed: usize) -> Self {
        DecodeError::Truncated { what, needed }
    }

    /// The bytes of `what` are not valid, for `reason`.
    #[must_use]
    pub fn invalid(what: &'static str, reason: impl Into<String>) -> Self {
        DecodeError::Invalid {
            what,
            reason: reason.into(),
        }
    }
}

/// Decodes one encoded row of format `F` for `columns`, naming the column of an error.
///
/// # Errors
///
/// The first value that cannot be decoded, or bytes left after the last column.
pub fn decode_row<F: Format>(
    columns: &[F::Column],
    names: &'static [Column],
    row: &[u8],
) -> Result<Vec<Value>, DecodeError> {
    let mut input = row;
    F::decode_row_start(columns.len(), &mut input)?;
    let mut values = Vec::with_capacity(columns.len());
    for (i, column) in columns.iter().enumerate() {
        let value = F::decode_value(column, &mut input).map_err(|e| match names.get(i) {
            Some(c) => DecodeError::Column {
                column: c.name,
                source: Box::new(e),
            },
            None => e,
        })?;
        values.push(value);
    }
    if !input.is_empty() {
        return Err(DecodeError::TrailingBytes { len: input.len() });
    }
    Ok(values)
}

/// A row read back into values, with its column names.
///
/// # Examples
///
/// ```
/// # use batch_core::doc_support::{DocColumn, DocFormat, Event};
/// use batch_core::{decode_row, BatchRow, DecodedRow, EncodeRow, Value};
///
/// let columns = [DocColumn::U64, DocColumn::Str];
/// let mut row = Vec::new();
/// Event { id: 7, name: "seven" }.encode_row(&columns, &mut row)?;
/// let values = decode_row::<DocFormat>(&columns, Event::COLUMNS, &row)?;
/// let decoded = DecodedRow::new(Event::COLUMNS, values);
/// assert_eq!(decoded.get("name"), Some(&Value::String("seven".into())));
/// assert_eq!(decoded.to_json(), r#"{"id":7,"name":"seven"}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedRow {
    columns: &'static [Column],
    values: Vec<Value>,
}

impl DecodedRow {
    /// A row of `values` for `columns` (the row type's columns, in encoding order).
    #[must_use]
    pub fn new(columns: &'static [Column], values: Vec<Value>) -> Self {
        DecodedRow { columns, values }
    }

    /// The values, in column order.
    #[must_use]
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// The values, in column order.
    #[must_use]
    pub fn into_values(self) -> Vec<Value> {
        self.values
    }

    /// The value of the column named `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.columns
            .iter()
            .position(|c| c.name == name)
            .and_then(|i| self.values.get(i))
    }

    /// The column names and values, in column order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&'static str, &Value)> + '_ {
        self.columns.iter().map(|c| c.name).zip(self.values.iter())
    }

    /// The row as a JSON object of column name to value, in column order.
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }

    /// Appends the row as a JSON object to `out`.
    pub fn write_json(&self, out: &mut String) {
        out.push('{');
        for (i, (name, value)) in self.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            json::write_str(name, out);
            out.push(':');
            value.write_json(out);
        }
        out.push('}');
    }
}

/// What decodes a batcher's rows: the columns its sink resolved, the row type's schema,
/// and the format's decoder. Cloning is one reference count.
#[derive(Clone)]
pub(crate) struct RowDecoder(Arc<dyn DecodeRows>);

trait DecodeRows: Send + Sync {
    fn decode(&self, row: &[u8]) -> Result<Vec<Value>, DecodeError>;
    fn schema(&self) -> Schema;
    fn format(&self) -> &'static str;
    fn column_types(&self) -> Vec<String>;
}

struct Typed<F: Format> {
    columns: Arc<[F::Column]>,
    schema: Schema,
}

impl<F: Format> DecodeRows for Typed<F> {
    fn decode(&self, row: &[u8]) -> Result<Vec<Value>, DecodeError> {
        decode_row::<F>(&self.columns, self.schema.columns, row)
    }

    fn schema(&self) -> Schema {
        self.schema
    }

    fn format(&self) -> &'static str {
        F::NAME
    }

    fn column_types(&self) -> Vec<String> {
        self.columns.iter().map(|c| format!("{c:?}")).collect()
    }
}

impl RowDecoder {
    pub(crate) fn new<F: Format>(columns: Arc<[F::Column]>, schema: Schema) -> Self {
        RowDecoder(Arc::new(Typed::<F> { columns, schema }))
    }

    pub(crate) fn decode(&self, row: &[u8]) -> Result<DecodedRow, DecodeError> {
        let values = self.0.decode(row)?;
        Ok(DecodedRow::new(self.0.schema().columns, values))
    }

    pub(crate) fn schema(&self) -> Schema {
        self.0.schema()
    }

    pub(crate) fn format(&self) -> &'static str {
        self.0.format()
    }

    /// Each resolved column as its `Debug` text: two files of encoded rows with the same
    /// texts were encoded the same way.
    pub(crate) fn column_types(&self) -> Vec<String> {
        self.0.column_types()
    }
}

impl fmt::Debug for RowDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RowDecoder")
            .field("table", &self.0.schema().table)
            .field("format", &self.0.format())
            .finish()
    }
}

/// The rows of a batch, decoded one by one: from [`FailedBatch::decoded_rows`] and
/// [`Dump::decoded_rows`].
///
/// [`FailedBatch::decoded_rows`]: crate::FailedBatch::decoded_rows
/// [`Dump::decoded_rows`]: crate::Dump::decoded_rows
#[derive(Debug, Clone)]
pub struct DecodedRows<'a> {
    batch: &'a Batch,
    decoder: Option<&'a RowDecoder>,
    next: usize,
}

impl<'a> DecodedRows<'a> {
    pub(crate) fn new(batch: &'a Batch, decoder: Option<&'a RowDecoder>) -> Self {
        DecodedRows {
            batch,
            decoder,
            next: 0,
        }
    }
}

impl Iterator for DecodedRows<'_> {
    type Item = Result<DecodedRow, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let row = self.batch.row(self.next)?;
        self.next += 1;
        Some(match self.decoder {
            Some(d) => d.decode(row),
            None => Err(DecodeError::Unsupported {
                format: "unknown (no decoder attached)",
            }),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.batch.rows().saturating_sub(self.next);
        (left, Some(left))
    }
}

impl ExactSizeIterator for DecodedRows<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_serialize_to_json() {
        let v = Value::Map(vec![
            (Value::String("k".into()), Value::UInt(u128::MAX)),
            (Value::Bool(false), Value::Float(1.5)),
        ]);
        assert_eq!(
            v.to_json(),
            r#"[["k",340282366920938463463374607431768211455],[false,1.5]]"#
        );
        assert_eq!(Value::Float(f64::NAN).to_json(), r#""NaN""#);
        assert_eq!(Value::Float(f64::NEG_INFINITY).to_json(), r#""-inf""#);
        assert_eq!(Value::Float(1e300).to_json(), "1e300");
        assert_eq!(Value::Float(-0.25).to_json(), "-0.25");
        assert_eq!(Value::Bytes(vec![0, 0xff, 1]).to_json(), r#""AP8B""#);
        assert_eq!(
            Value::String("\u{1}\n\\é".into()).to_json(),
            r#""\u0001\n\\é""#
        );
        assert_eq!(
            Value::Tuple(vec![Value::Ip("::1".parse().unwrap()), Value::Null]).to_json(),
            r#"["::1",null]"#
        );
    }

    #[test]
    fn dates_and_times_as_text() {
        assert_eq!(Value::date(-1).to_string(), "1969-12-31");
        assert_eq!(Value::date(2_932_896).to_string(), "9999-12-31");
        assert_eq!(Value::date(2_932_897).to_string(), "+10000-01-01");
        // Julian day 0, PostgreSQL's first date (it prints `4714-11-24 BC`), is
        // astronomical year -4713.
        assert_eq!(Value::date(-2_440_588).to_string(), "-4713-11-24");
        assert_eq!(
            Value::timestamp(-2_208_988_800, 1, 9, true).to_string(),
            "1900-01-01T00:00:00.000000001Z"
        );
        assert_eq!(
            Value::timestamp(1_234_567_890, 999_999_999, 2, false).to_string(),
            "2009-02-13T23:31:30.99"
        );
    }

    #[test]
    fn decimals_as_text() {
        assert_eq!(Value::decimal(0, 0).to_string(), "0");
        assert_eq!(Value::decimal(-5, 0).to_string(), "-5");
        assert_eq!(Value::decimal(12_345, 2).to_string(), "123.45");
        assert_eq!(Value::decimal(-1, 4).to_string(), "-0.0001");
        assert_eq!(Value::decimal(0, 2).to_string(), "0.00");
    }
}
