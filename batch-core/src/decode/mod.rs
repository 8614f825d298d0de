//! Encoded rows read back into column values: [`Value`], [`DecodedRow`] and
//! [`DecodeError`].
//!
//! A batcher keeps the columns its sink resolved; every [`FailedBatch`] and every
//! [`Dump`] carries them (behind one reference count, so a committed batch costs
//! nothing), so that failed or buffered rows can be logged, stored or re-processed as
//! values rather than bytes. Each backend's [`Format`](crate::Format) decodes its own rows
//! ([`Format::decode_value`](crate::Format::decode_value)); a format without a decoder reports
//! [`DecodeError::Unsupported`].
//!
//! [`FailedBatch`]: crate::FailedBatch
//! [`Dump`]: crate::Dump

mod error;
mod json;
mod row;
mod text;
mod value;

pub use error::DecodeError;
pub(crate) use json::{
    base64_decode, base64_encode, write_str as write_json_str, Reader as JsonReader,
};
pub(crate) use row::RowDecoder;
pub use row::{decode_row, DecodedRow, DecodedRows};
pub use value::Value;

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
