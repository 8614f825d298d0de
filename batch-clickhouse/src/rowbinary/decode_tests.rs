//! Every type the encoders write, encoded by the real encoder and read back: each value
//! compared in full, and every byte consumed.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use batch_core::{DecodeError, Encode, Format, Value};

use crate::rowbinary::RowBinary;
use crate::types::ChType;

fn ty(s: &str) -> ChType {
    ChType::parse(s).unwrap()
}

/// Encodes `v` for `column` with its encoder, decodes it, and checks that every byte
/// was read.
fn round<T: Encode<RowBinary> + ?Sized>(v: &T, column: &str) -> Value {
    let column = ty(column);
    let mut buf = Vec::new();
    v.encode(&column, &mut buf)
        .unwrap_or_else(|e| panic!("encoding for {column}: {e}"));
    let mut input = &buf[..];
    let value = RowBinary::decode_value(&column, &mut input)
        .unwrap_or_else(|e| panic!("decoding {column}: {e}"));
    assert!(input.is_empty(), "{column}: {} bytes left", input.len());
    value
}

fn s(text: &str) -> Value {
    Value::String(text.into())
}

#[test]
fn integers_floats_and_bools() {
    assert_eq!(round(&-5i8, "Int8"), Value::Int(-5));
    assert_eq!(round(&i16::MIN, "Int16"), Value::Int(i16::MIN.into()));
    assert_eq!(round(&-3242i32, "Int32"), Value::Int(-3242));
    assert_eq!(round(&i64::MIN, "Int64"), Value::Int(i64::MIN.into()));
    assert_eq!(round(&i128::MIN, "Int128"), Value::Int(i128::MIN));
    assert_eq!(round(&255u8, "UInt8"), Value::UInt(255));
    assert_eq!(round(&0x1234u16, "UInt16"), Value::UInt(0x1234));
    assert_eq!(round(&u32::MAX, "UInt32"), Value::UInt(u32::MAX.into()));
    assert_eq!(round(&u64::MAX, "UInt64"), Value::UInt(u64::MAX.into()));
    assert_eq!(round(&u128::MAX, "UInt128"), Value::UInt(u128::MAX));
    assert_eq!(round(&7u32, "LowCardinality(UInt32)"), Value::UInt(7));
    assert_eq!(round(&1.5f32, "Float32"), Value::Float(1.5));
    assert_eq!(round(&-0.1f64, "Float64"), Value::Float(-0.1));
    assert!(matches!(round(&f64::NAN, "Float64"), Value::Float(f) if f.is_nan()));
    assert_eq!(round(&true, "Bool"), Value::Bool(true));
    assert_eq!(round(&false, "Bool"), Value::Bool(false));
    // A bool in a UInt8 column reads back as the number the server stores.
    assert_eq!(round(&true, "UInt8"), Value::UInt(1));
}

#[test]
fn strings_bytes_and_enums() {
    assert_eq!(round("héllo", "String"), s("héllo"));
    assert_eq!(round("", "LowCardinality(String)"), s(""));
    assert_eq!(round(&String::from("ab"), "FixedString(4)"), s("ab\0\0"));
    assert_eq!(
        round(&vec![0xffu8, 0], "String"),
        Value::Bytes(vec![0xff, 0])
    );
    assert_eq!(
        round(&[0xc3u8, 0x28], "FixedString(2)"),
        Value::Bytes(vec![0xc3, 0x28])
    );
    assert_eq!(round(&[b'x'; 3], "String"), s("xxx"));
    assert_eq!(
        round(&vec![1u8, 2], "Array(UInt8)"),
        Value::Array(vec![Value::UInt(1), Value::UInt(2)])
    );
    assert_eq!(
        round(r#"{"a":1}"#, "JSON"),
        Value::Json(r#"{"a":1}"#.into())
    );
    let long = "x".repeat(300); // a two-byte length prefix
    assert_eq!(round(long.as_str(), "String"), s(&long));
    let e8 = "Enum8('a' = -1, 'b\\'c' = 5)";
    assert_eq!(round("a", e8), Value::Enum("a".into()));
    assert_eq!(round("b'c", e8), Value::Enum("b'c".into()));
    assert_eq!(
        round("y", "Enum16('x' = -1000, 'y' = 30000)"),
        Value::Enum("y".into())
    );
}

#[test]
fn containers() {
    assert_eq!(round(&None::<u32>, "Nullable(UInt32)"), Value::Null);
    assert_eq!(round(&Some(3u32), "Nullable(UInt32)"), Value::UInt(3));
    assert_eq!(
        round(&Some("a"), "LowCardinality(Nullable(String))"),
        s("a")
    );
    assert_eq!(
        round(&vec![Some(1i32), None], "Array(Nullable(Int32))"),
        Value::Array(vec![Value::Int(1), Value::Null])
    );
    assert_eq!(
        round(&vec![vec!["a"], vec![]], "Array(Array(String))"),
        Value::Array(vec![Value::Array(vec![s("a")]), Value::Array(vec![])])
    );
    let map: BTreeMap<&str, Vec<u64>> = [("k1", vec![1]), ("k2", vec![2, 3])].into();
    assert_eq!(
        round(&map, "Map(String, Array(UInt64))"),
        Value::Map(vec![
            (s("k1"), Value::Array(vec![Value::UInt(1)])),
            (s("k2"), Value::Array(vec![Value::UInt(2), Value::UInt(3)])),
        ])
    );
}

#[test]
fn addresses() {
    let v4 = Ipv4Addr::new(192, 168, 1, 2);
    assert_eq!(round(&v4, "IPv4"), Value::Ip(v4.into()));
    assert_eq!(round(&v4, "IPv6"), Value::Ip(v4.to_ipv6_mapped().into()));
    let v6: Ipv6Addr = "2001:db8::ff00:42:8329".parse().unwrap();
    assert_eq!(round(&v6, "IPv6"), Value::Ip(v6.into()));
    assert_eq!(round(&IpAddr::V6(v6), "IPv6"), Value::Ip(v6.into()));
}

#[test]
fn a_tuple_decodes_in_order() {
    // batchrow does not write tuples, but the server's layout is the fields in order.
    let mut buf = Vec::new();
    1u8.encode(&ChType::UInt8, &mut buf).unwrap();
    "z".encode(&ChType::String, &mut buf).unwrap();
    let mut input = &buf[..];
    assert_eq!(
        RowBinary::decode_value(&ty("Tuple(a UInt8, b String)"), &mut input).unwrap(),
        Value::Tuple(vec![Value::UInt(1), s("z")])
    );
}

#[test]
fn truncated_and_invalid_bytes_are_errors() {
    let decode = |column: &str, bytes: &[u8]| {
        let mut input = bytes;
        RowBinary::decode_value(&ty(column), &mut input)
    };
    assert_eq!(
        decode("UInt32", &[1, 2]),
        Err(DecodeError::truncated("a UInt32", 2))
    );
    assert_eq!(
        decode("String", &[5, b'a']),
        Err(DecodeError::truncated("a String", 4))
    );
    assert!(matches!(
        decode("Nullable(UInt8)", &[2, 0]),
        Err(DecodeError::Invalid { .. })
    ));
    assert!(matches!(
        decode("Enum8('a' = 1)", &[9]),
        Err(DecodeError::Invalid { .. })
    ));
    assert!(matches!(
        decode("String", &[0xff; 11]),
        Err(DecodeError::Invalid { .. })
    ));
    assert!(matches!(
        decode("Int256", &[0; 31]),
        Err(DecodeError::Truncated { .. })
    ));
}

#[test]
fn decimal256_digits() {
    // -1 -> ff x32
    assert_eq!(
        crate::rowbinary::wide::digits([0xff; 32], true),
        (true, "1".into())
    );
    // 2^64 -> 00 x8, 01, 00 x23
    let mut b = [0u8; 32];
    b[8] = 1;
    assert_eq!(
        crate::rowbinary::wide::digits(b, true),
        (false, "18446744073709551616".into())
    );
    assert_eq!(
        crate::rowbinary::wide::digits([0; 32], true),
        (false, "0".into())
    );
}

#[cfg(feature = "rust_decimal")]
#[test]
fn decimals() {
    use rust_decimal::Decimal;
    let d = |s: &str| s.parse::<Decimal>().unwrap();
    let dec = |s: &str| Value::Decimal(s.into());
    assert_eq!(round(&d("-12.34"), "Decimal(9, 2)"), dec("-12.34"));
    assert_eq!(round(&d("1.5"), "Decimal(18, 4)"), dec("1.5000"));
    assert_eq!(round(&d("0"), "Decimal(9, 0)"), dec("0"));
    assert_eq!(
        round(&d("-79228162514264337593543950335"), "Decimal(38, 0)"),
        dec("-79228162514264337593543950335")
    );
    assert_eq!(
        round(&d("-7922816251426433759354395033.5"), "Decimal(76, 20)"),
        dec("-7922816251426433759354395033.50000000000000000000")
    );
    assert_eq!(round(&d("0.001"), "Decimal256(3)"), dec("0.001"));
}

#[cfg(feature = "uuid")]
#[test]
fn uuids() {
    let u = uuid::Uuid::parse_str("61f0c404-5cb3-11e7-907b-a6006ad3dba0").unwrap();
    assert_eq!(round(&u, "UUID"), Value::Uuid(u.to_string()));
}

#[cfg(feature = "serde_json")]
#[test]
fn json_values() {
    let v = serde_json::json!({"a": [1, "x"], "b": null});
    assert_eq!(round(&v, "JSON"), Value::Json(v.to_string()));
    assert_eq!(round(&v, "String"), s(&v.to_string()));
}

#[cfg(feature = "time")]
#[test]
fn dates_and_times_from_time() {
    use time::macros::{date, datetime};
    let dt = |s: &str| Value::DateTime(s.into());
    assert_eq!(
        round(&date!(2024 - 02 - 29), "Date"),
        Value::Date("2024-02-29".into())
    );
    assert_eq!(
        round(&date!(1900 - 01 - 01), "Date32"),
        Value::Date("1900-01-01".into())
    );
    assert_eq!(
        round(&date!(2299 - 12 - 31), "Date32"),
        Value::Date("2299-12-31".into())
    );
    assert_eq!(
        round(
            &datetime!(2024-02-29 13:14:15.123456789 UTC),
            "DateTime('UTC')"
        ),
        dt("2024-02-29T13:14:15Z")
    );
    assert_eq!(
        round(
            &datetime!(2024-02-29 13:14:15.123456789 UTC),
            "DateTime64(3)"
        ),
        dt("2024-02-29T13:14:15.123Z")
    );
    assert_eq!(
        round(&datetime!(1900-01-01 00:00:00.5), "DateTime64(9, 'UTC')"),
        dt("1900-01-01T00:00:00.500000000Z")
    );
    assert_eq!(
        round(&datetime!(1969-12-31 23:59:59.25 UTC), "DateTime64(2)"),
        dt("1969-12-31T23:59:59.25Z")
    );
    assert_eq!(
        round(&datetime!(2000-01-01 00:00:00 UTC), "DateTime64(0)"),
        dt("2000-01-01T00:00:00Z")
    );
}

#[cfg(feature = "chrono")]
#[test]
fn dates_and_times_from_chrono() {
    use chrono::{NaiveDate, TimeZone, Utc};
    let day = NaiveDate::from_ymd_opt(2149, 6, 6).unwrap();
    assert_eq!(round(&day, "Date"), Value::Date("2149-06-06".into()));
    let t = Utc.with_ymd_and_hms(2106, 2, 7, 6, 28, 15).unwrap();
    assert_eq!(
        round(&t, "DateTime"),
        Value::DateTime("2106-02-07T06:28:15Z".into())
    );
    assert_eq!(
        round(&t.naive_utc(), "DateTime64(6)"),
        Value::DateTime("2106-02-07T06:28:15.000000Z".into())
    );
}

#[test]
fn a_derived_row_reads_back_column_by_column() {
    use batch_core::{decode_row, BatchRow, Schema};

    #[derive(batch_derive::BatchRow)]
    #[batch(crate = "batch_core", table = "t")]
    struct Row<'a> {
        id: u64,
        name: &'a str,
        #[batch(type = "LowCardinality(Nullable(String))")]
        tag: Option<String>,
        scores: Vec<i32>,
        ip: Ipv4Addr,
    }

    let columns = RowBinary::resolve_offline(Schema::of::<Row>()).unwrap();
    let rows = [
        Row {
            id: 1,
            name: "a",
            tag: None,
            scores: vec![],
            ip: Ipv4Addr::LOCALHOST,
        },
        Row {
            id: u64::MAX,
            name: "ü",
            tag: Some("t".into()),
            scores: vec![-1, 2],
            ip: Ipv4Addr::BROADCAST,
        },
    ];
    let mut buf = Vec::new();
    let mut ends = Vec::new();
    for row in &rows {
        RowBinary::encode_rows([row], &columns, &mut buf).unwrap();
        ends.push(buf.len());
    }
    let first = decode_row::<RowBinary>(&columns, Row::COLUMNS, &buf[..ends[0]]).unwrap();
    assert_eq!(
        first,
        [
            Value::UInt(1),
            s("a"),
            Value::Null,
            Value::Array(vec![]),
            Value::Ip(Ipv4Addr::LOCALHOST.into())
        ]
    );
    let second = decode_row::<RowBinary>(&columns, Row::COLUMNS, &buf[ends[0]..]).unwrap();
    assert_eq!(
        second,
        [
            Value::UInt(u64::MAX.into()),
            s("ü"),
            s("t"),
            Value::Array(vec![Value::Int(-1), Value::Int(2)]),
            Value::Ip(Ipv4Addr::BROADCAST.into()),
        ]
    );
    // A row cut short names the column it ended in; extra bytes are refused.
    let err = decode_row::<RowBinary>(&columns, Row::COLUMNS, &buf[..ends[0] - 2]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "column `ip`: the row ends in the middle of an IPv4 (2 more bytes needed)"
    );
    let err = decode_row::<RowBinary>(&columns, Row::COLUMNS, &buf[..ends[0] + 1]).unwrap_err();
    assert_eq!(err, DecodeError::TrailingBytes { len: 1 });
}

#[test]
fn wide_integers_decode_as_their_digits() {
    use crate::rowbinary::{Int256, UInt256};
    let mut buf = Vec::new();
    Int256::MIN.encode(&ChType::Int256, &mut buf).unwrap();
    UInt256::MAX.encode(&ChType::UInt256, &mut buf).unwrap();
    let mut input = &buf[..];
    assert_eq!(
        RowBinary::decode_value(&ChType::Int256, &mut input).unwrap(),
        Value::Decimal(
            "-57896044618658097711785492504343953926634992332820282019728792003956564819968".into()
        )
    );
    assert_eq!(
        RowBinary::decode_value(&ChType::UInt256, &mut input).unwrap(),
        Value::Decimal(
            "115792089237316195423570985008687907853269984665640564039457584007913129639935".into()
        )
    );
    assert!(input.is_empty());
}
