//! Golden bytes: each value encoded for its column type, byte by byte, with the layout
//! spelled out in a comment. Round trips through real servers live in the workspace's
//! `tests/clickhouse/`.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use batch_core::{Encode, EncodeError, Format};

use super::RowBinary;
use crate::types::ChType;

fn ty(s: &str) -> ChType {
    ChType::parse(s).unwrap()
}

/// Encodes `v` for a column of type `column`.
fn enc<T: Encode<RowBinary> + ?Sized>(v: &T, column: &str) -> Vec<u8> {
    let mut buf = Vec::new();
    v.encode(&ty(column), &mut buf)
        .unwrap_or_else(|e| panic!("encoding for {column}: {e}"));
    buf
}

/// Encoding `v` for `column` fails and appends nothing.
fn fails<T: Encode<RowBinary> + ?Sized>(v: &T, column: &str) -> EncodeError {
    let mut buf = vec![0xaa];
    let e = v.encode(&ty(column), &mut buf).unwrap_err();
    assert_eq!(buf, [0xaa], "a failed encode must append nothing");
    e
}

#[test]
fn integers_are_little_endian() {
    // Int8 -5 -> fb
    assert_eq!(enc(&-5i8, "Int8"), [0xfb]);
    // Int16 -2 -> fe ff
    assert_eq!(enc(&-2i16, "Int16"), [0xfe, 0xff]);
    // Int32 -3242 -> 56 f3 ff ff
    assert_eq!(enc(&-3242i32, "Int32"), [0x56, 0xf3, 0xff, 0xff]);
    // Int64 i64::MIN -> 00 00 00 00 00 00 00 80
    assert_eq!(enc(&i64::MIN, "Int64"), [0, 0, 0, 0, 0, 0, 0, 0x80]);
    // Int128 -1 -> ff x16
    assert_eq!(enc(&-1i128, "Int128"), [0xff; 16]);
    // UInt8 255 -> ff
    assert_eq!(enc(&255u8, "UInt8"), [0xff]);
    // UInt16 0x1234 -> 34 12
    assert_eq!(enc(&0x1234u16, "UInt16"), [0x34, 0x12]);
    // UInt32 3242 -> aa 0c 00 00
    assert_eq!(enc(&3242u32, "UInt32"), [0xaa, 0x0c, 0, 0]);
    // UInt64 u64::MAX -> ff x8
    assert_eq!(enc(&u64::MAX, "UInt64"), [0xff; 8]);
    // UInt128 1 << 64 -> 00 x8, 01, 00 x7
    let mut want = [0u8; 16];
    want[8] = 1;
    assert_eq!(enc(&(1u128 << 64), "UInt128"), want);
    // LowCardinality does not change the encoding.
    assert_eq!(enc(&7u32, "LowCardinality(UInt32)"), [7, 0, 0, 0]);
}

#[test]
fn integers_only_into_their_own_type() {
    for column in [
        "Int64",
        "UInt32",
        "Int16",
        "Float32",
        "String",
        "Nullable(Int32)",
    ] {
        let e = fails(&1i32, column);
        assert!(
            matches!(e, EncodeError::Unsupported { rust: "i32", .. }),
            "{column}: {e}"
        );
    }
    assert_eq!(
        fails(&1u64, "Int64").to_string(),
        "a `u64` cannot be written to a column of type Int64"
    );
}

#[test]
fn floats_and_bools() {
    // Float32 1.5 -> 00 00 c0 3f
    assert_eq!(enc(&1.5f32, "Float32"), [0, 0, 0xc0, 0x3f]);
    // Float64 -0.0 -> 00 x7, 80
    assert_eq!(enc(&-0.0f64, "Float64"), [0, 0, 0, 0, 0, 0, 0, 0x80]);
    // Float64 NaN -> 00 00 00 00 00 00 f8 7f (the canonical quiet NaN)
    assert_eq!(enc(&f64::NAN, "Float64"), f64::NAN.to_le_bytes());
    // Float64 +inf -> 00 x6, f0 7f
    assert_eq!(
        enc(&f64::INFINITY, "Float64"),
        [0, 0, 0, 0, 0, 0, 0xf0, 0x7f]
    );
    // Bool true -> 01; UInt8 (servers before Bool) false -> 00
    assert_eq!(enc(&true, "Bool"), [1]);
    assert_eq!(enc(&false, "UInt8"), [0]);
    fails(&true, "Int8");
}

#[test]
fn strings() {
    // String "abc" -> varint 3, 61 62 63
    assert_eq!(enc("abc", "String"), [3, b'a', b'b', b'c']);
    // String "" -> varint 0
    assert_eq!(enc("", "String"), [0]);
    // String "é" -> varint 2, c3 a9 (UTF-8 bytes)
    assert_eq!(enc("é", "String"), [2, 0xc3, 0xa9]);
    // String of 300 bytes -> varint ac 02, then the bytes
    let long = "x".repeat(300);
    let b = enc(long.as_str(), "String");
    assert_eq!(&b[..2], [0xac, 0x02]);
    assert_eq!(b.len(), 302);
    // String of 2^21 bytes -> varint 80 80 80 01
    let huge = "y".repeat(1 << 21);
    assert_eq!(&enc(huge.as_str(), "String")[..4], [0x80, 0x80, 0x80, 0x01]);
    // FixedString(5) "ab" -> 61 62 00 00 00 (zero-padded, no length)
    assert_eq!(enc("ab", "FixedString(5)"), [b'a', b'b', 0, 0, 0]);
    // FixedString(2) "ab" -> 61 62
    assert_eq!(enc(&String::from("ab"), "FixedString(2)"), *b"ab");
    // LowCardinality(String) "a" -> varint 1, 61
    assert_eq!(
        enc(&Cow::Borrowed("a"), "LowCardinality(String)"),
        [1, b'a']
    );
    // JSON (as a string) "{}" -> varint 2, 7b 7d
    assert_eq!(enc("{}", "JSON"), [2, b'{', b'}']);
    let e = fails("abcdef", "FixedString(5)");
    assert!(
        matches!(e, EncodeError::Length { len: 6, max: 5, .. }),
        "{e}"
    );
    fails("1", "Int32");
}

#[test]
fn strings_into_enums_by_label() {
    // Enum8('a' = 1, 'b' = -2) "b" -> fe
    assert_eq!(enc("b", "Enum8('a' = 1, 'b' = -2)"), [0xfe]);
    // Enum16('x' = 1000) "x" -> e8 03
    assert_eq!(enc("x", "Enum16('x' = 1000)"), [0xe8, 0x03]);
    let e = fails("c", "Enum8('a' = 1, 'b' = -2)");
    assert_eq!(
        e.to_string(),
        "the label 'c' is not a value of the column's Enum8('a' = 1, 'b' = -2)"
    );
}

#[test]
fn rust_enums_use_the_servers_values() {
    let column = ty("Enum8('small' = 10, 'large' = 20)");
    let mut buf = Vec::new();
    // Rust value 1 for "large": the server's value 20 is written -> 14
    RowBinary::encode_enum("large", 1, &column, &mut buf).unwrap();
    assert_eq!(buf, [20]);
    // String column: the label -> varint 5, "small"
    buf.clear();
    RowBinary::encode_enum("small", 0, &ty("String"), &mut buf).unwrap();
    assert_eq!(buf, b"\x05small");
    // Enum16: i16 little-endian
    buf.clear();
    RowBinary::encode_enum("b", 2, &ty("Enum16('a' = -300, 'b' = 300)"), &mut buf).unwrap();
    assert_eq!(buf, [0x2c, 0x01]);
    assert!(RowBinary::encode_enum("medium", 2, &column, &mut Vec::new()).is_err());
    assert!(RowBinary::encode_enum("small", 2, &ty("Int8"), &mut Vec::new()).is_err());
}

#[test]
fn bytes() {
    // Vec<u8> into String -> varint 3, 01 02 03
    assert_eq!(enc(&vec![1u8, 2, 3], "String"), [3, 1, 2, 3]);
    // &[u8] into Array(UInt8) -> varint 2, 09 08
    assert_eq!(enc(&[9u8, 8][..], "Array(UInt8)"), [2, 9, 8]);
    // Vec<u8> into FixedString(4) -> 01 02 00 00
    assert_eq!(enc(&vec![1u8, 2], "FixedString(4)"), [1, 2, 0, 0]);
    // [u8; 4] into FixedString(4) -> de ad be ef
    assert_eq!(
        enc(&[0xde, 0xad, 0xbe, 0xef], "FixedString(4)"),
        [0xde, 0xad, 0xbe, 0xef]
    );
    // [u8; 2] into String -> varint 2, 00 ff
    assert_eq!(enc(&[0u8, 0xff], "String"), [2, 0, 0xff]);
    fails(&[1u8; 4], "FixedString(5)");
    fails(&vec![1u8; 5], "FixedString(4)");
    // Only bytes go into strings: a Vec<u16> does not.
    fails(&vec![1u16], "String");
}

#[test]
fn nullable() {
    // Nullable(Int32) None -> 01
    assert_eq!(enc(&None::<i32>, "Nullable(Int32)"), [1]);
    // Nullable(Int32) Some(-1) -> 00, ff ff ff ff
    assert_eq!(
        enc(&Some(-1i32), "Nullable(Int32)"),
        [0, 0xff, 0xff, 0xff, 0xff]
    );
    // LowCardinality(Nullable(String)) Some("a") -> 00, 01 61
    assert_eq!(
        enc(&Some("a"), "LowCardinality(Nullable(String))"),
        [0, 1, b'a']
    );
    // An Option needs a Nullable column, and a Nullable column an Option.
    fails(&Some(1i32), "Int32");
    fails(&None::<i32>, "Int32");
    fails(&1i32, "Nullable(Int32)");
    // The inner value is checked too; nothing is appended on failure.
    fails(&Some("toolong"), "Nullable(FixedString(2))");
}

#[test]
fn arrays() {
    // Array(Int16) [] -> varint 0
    assert_eq!(enc(&Vec::<i16>::new(), "Array(Int16)"), [0]);
    // Array(Int16) [1, -1] -> varint 2, 01 00, ff ff
    assert_eq!(enc(&vec![1i16, -1], "Array(Int16)"), [2, 1, 0, 0xff, 0xff]);
    // Array(Nullable(String)) [Some("a"), None] -> varint 2, 00 01 61, 01
    assert_eq!(
        enc(&vec![Some("a"), None], "Array(Nullable(String))"),
        [2, 0, 1, b'a', 1]
    );
    // Array(Array(UInt8)) [[1], [], [2, 3]] -> 03, 01 01, 00, 02 02 03
    let nested: Vec<Vec<u8>> = vec![vec![1], vec![], vec![2, 3]];
    assert_eq!(enc(&nested, "Array(Array(UInt8))"), [3, 1, 1, 0, 2, 2, 3]);
    // Array(String) from &[&str] -> 02, 01 78, 00
    assert_eq!(enc(&["x", ""][..], "Array(String)"), [2, 1, b'x', 0]);
    // A bad element fails the whole array, and nothing is appended.
    fails(&vec!["ok", "too long"], "Array(FixedString(2))");
    fails(&vec![1i32], "Array(Int64)");
}

#[test]
fn maps() {
    // Map(String, UInt64) {} -> varint 0
    assert_eq!(
        enc(&BTreeMap::<String, u64>::new(), "Map(String, UInt64)"),
        [0]
    );
    // Map(String, UInt64) {"a": 1, "b": 2} -> 02, 01 61, 01 x 00 x7, 01 62, 02 00 x7
    let m: BTreeMap<&str, u64> = [("a", 1), ("b", 2)].into();
    assert_eq!(
        enc(&m, "Map(String, UInt64)"),
        [2, 1, b'a', 1, 0, 0, 0, 0, 0, 0, 0, 1, b'b', 2, 0, 0, 0, 0, 0, 0, 0]
    );
    // HashMap with one entry: Map(LowCardinality(String), Nullable(Int8)) {"k": None}
    // -> 01, 01 6b, 01
    let h: HashMap<String, Option<i8>> = [("k".to_owned(), None)].into();
    assert_eq!(
        enc(&h, "Map(LowCardinality(String), Nullable(Int8))"),
        [1, 1, b'k', 1]
    );
    fails(&m, "Map(String, UInt32)");
    fails(&m, "String");
}

#[test]
fn ip_addresses() {
    // IPv4 1.2.3.4 -> 04 03 02 01 (a little-endian UInt32)
    assert_eq!(enc(&Ipv4Addr::new(1, 2, 3, 4), "IPv4"), [4, 3, 2, 1]);
    // IPv6 ::1 -> 00 x15, 01 (network order)
    let mut one = [0u8; 16];
    one[15] = 1;
    assert_eq!(enc(&Ipv6Addr::LOCALHOST, "IPv6"), one);
    // IPv4 1.2.3.4 into IPv6 -> ::ffff:1.2.3.4 = 00 x10, ff ff, 01 02 03 04
    let mapped = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4];
    assert_eq!(enc(&IpAddr::from([1, 2, 3, 4]), "IPv6"), mapped);
    assert_eq!(enc(&IpAddr::from([1, 2, 3, 4]), "IPv4"), [4, 3, 2, 1]);
    fails(&IpAddr::V6(Ipv6Addr::LOCALHOST), "IPv4");
    fails(&Ipv6Addr::LOCALHOST, "IPv4");
}

#[cfg(feature = "uuid")]
#[test]
fn uuids_as_two_little_endian_halves() {
    let u = uuid::Uuid::parse_str("61f0c404-5cb3-11e7-907b-a6006ad3dba0").unwrap();
    // UUID -> e7 11 b3 5c 04 c4 f0 61 (high half, LE), a0 db d3 6a 00 a6 7b 90 (low half, LE)
    assert_eq!(
        enc(&u, "UUID"),
        [
            0xe7, 0x11, 0xb3, 0x5c, 0x04, 0xc4, 0xf0, 0x61, 0xa0, 0xdb, 0xd3, 0x6a, 0x00, 0xa6,
            0x7b, 0x90
        ]
    );
    fails(&u, "String");
}

#[cfg(feature = "chrono")]
mod chrono_golden {
    use super::*;
    use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap()
    }

    #[test]
    fn dates() {
        // Date 1970-01-01 -> 00 00
        assert_eq!(enc(&date(1970, 1, 1), "Date"), [0, 0]);
        // Date 2019-01-01 = day 17897 -> e9 45
        assert_eq!(enc(&date(2019, 1, 1), "Date"), [0xe9, 0x45]);
        // Date 2149-06-06 = day 65535 -> ff ff (the last Date)
        assert_eq!(enc(&date(2149, 6, 6), "Date"), [0xff, 0xff]);
        // Date32 1900-01-01 = day -25567 -> 21 9c ff ff
        assert_eq!(enc(&date(1900, 1, 1), "Date32"), (-25567i32).to_le_bytes());
        // Date32 2299-12-31 = day 120529 -> d1 d6 01 00
        assert_eq!(enc(&date(2299, 12, 31), "Date32"), 120_529i32.to_le_bytes());
        let e = fails(&date(2149, 6, 7), "Date");
        assert_eq!(e.to_string(), "value 2149-06-07 is out of range for Date");
        fails(&date(1969, 12, 31), "Date");
        fails(&date(1899, 12, 31), "Date32");
        fails(&date(2300, 1, 1), "Date32");
        fails(&date(2000, 1, 1), "DateTime");
    }

    #[test]
    fn date_times() {
        // DateTime 1970-01-01 00:00:01 -> 01 00 00 00
        assert_eq!(enc(&at("1970-01-01 00:00:01"), "DateTime"), [1, 0, 0, 0]);
        // DateTime('UTC') 2106-02-07 06:28:15 = u32::MAX -> ff ff ff ff
        assert_eq!(
            enc(&at("2106-02-07 06:28:15"), "DateTime('UTC')"),
            [0xff; 4]
        );
        // DateTime drops sub-seconds: 00:00:01.999 -> 01 00 00 00
        assert_eq!(
            enc(&at("1970-01-01 00:00:01.999"), "DateTime"),
            [1, 0, 0, 0]
        );
        fails(&at("2106-02-07 06:28:16"), "DateTime");
        fails(&at("1969-12-31 23:59:59"), "DateTime");
        // DateTime<Utc> too
        let utc: DateTime<Utc> = at("2020-01-01 00:00:00").and_utc();
        // DateTime 2020-01-01 = 1577836800 -> 00 e1 0b 5e
        assert_eq!(enc(&utc, "DateTime"), [0x00, 0xe1, 0x0b, 0x5e]);
    }

    #[test]
    fn date_time64() {
        // DateTime64(3) 1970-01-01 00:00:01.234 -> 1234 = d2 04 00 00 00 00 00 00
        assert_eq!(
            enc(&at("1970-01-01 00:00:01.234"), "DateTime64(3)"),
            1234i64.to_le_bytes()
        );
        // DateTime64(6, 'UTC') 1969-12-31 23:59:59.5 -> -500000 (before the epoch)
        assert_eq!(
            enc(&at("1969-12-31 23:59:59.5"), "DateTime64(6, 'UTC')"),
            (-500_000i64).to_le_bytes()
        );
        // DateTime64(9) 2000-01-01 00:00:00.000000001 -> 946684800000000001
        assert_eq!(
            enc(&at("2000-01-01 00:00:00.000000001"), "DateTime64(9)"),
            946_684_800_000_000_001i64.to_le_bytes()
        );
        // DateTime64(0) truncates toward the past: -0.5 s -> -1
        assert_eq!(
            enc(&at("1969-12-31 23:59:59.5"), "DateTime64(0)"),
            (-1i64).to_le_bytes()
        );
        // DateTime64(3) 1900-01-01 00:00:00 -> -2208988800000 (the first DateTime64)
        assert_eq!(
            enc(&at("1900-01-01 00:00:00"), "DateTime64(3)"),
            (-2_208_988_800_000i64).to_le_bytes()
        );
        fails(&at("1899-12-31 23:59:59"), "DateTime64(3)");
        fails(&at("2300-01-01 00:00:00"), "DateTime64(3)");
        // DateTime64(9) ends in 2262: i64 nanoseconds overflow.
        fails(&at("2262-04-12 00:00:00"), "DateTime64(9)");
    }
}

#[cfg(feature = "time")]
mod time_golden {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn dates_and_times() {
        // Date 2019-01-01 -> e9 45
        assert_eq!(enc(&date!(2019 - 01 - 01), "Date"), [0xe9, 0x45]);
        // Date32 1900-01-01 -> -25567
        assert_eq!(
            enc(&date!(1900 - 01 - 01), "Date32"),
            (-25567i32).to_le_bytes()
        );
        // DateTime 2020-01-01 00:00:00 UTC -> 00 e1 0b 5e
        assert_eq!(
            enc(&datetime!(2020-01-01 00:00:00 UTC), "DateTime"),
            [0x00, 0xe1, 0x0b, 0x5e]
        );
        // An offset is converted to UTC: 01:00:00 +01:00 is 00:00:00 UTC.
        assert_eq!(
            enc(&datetime!(2020-01-01 01:00:00 +01:00), "DateTime"),
            [0x00, 0xe1, 0x0b, 0x5e]
        );
        // DateTime64(3) PrimitiveDateTime 1969-12-31 23:59:59.5 -> -500
        assert_eq!(
            enc(&datetime!(1969-12-31 23:59:59.5), "DateTime64(3)"),
            (-500i64).to_le_bytes()
        );
        fails(&date!(1969 - 12 - 31), "Date");
    }
}

#[cfg(feature = "rust_decimal")]
#[test]
fn decimals() {
    use rust_decimal::Decimal;
    let d = |s: &str| s.parse::<Decimal>().unwrap();
    // Decimal(9, 2) 1.5 -> 150 = 96 00 00 00
    assert_eq!(enc(&d("1.5"), "Decimal(9, 2)"), [0x96, 0, 0, 0]);
    // Decimal32(4) -0.0001 -> -1 = ff ff ff ff
    assert_eq!(enc(&d("-0.0001"), "Decimal32(4)"), [0xff; 4]);
    // Decimal(18, 4) 12345.6789 -> 123456789 as i64
    assert_eq!(
        enc(&d("12345.6789"), "Decimal(18, 4)"),
        123_456_789i64.to_le_bytes()
    );
    // Decimal128(10) -1.25 -> -12500000000 as i128
    assert_eq!(
        enc(&d("-1.25"), "Decimal128(10)"),
        (-12_500_000_000i128).to_le_bytes()
    );
    // Decimal256(2) -1 -> -100 sign-extended to 32 bytes
    let mut want = (-100i128).to_le_bytes().to_vec();
    want.extend([0xff; 16]);
    assert_eq!(enc(&d("-1"), "Decimal256(2)"), want);
    // Trailing zeros beyond the scale are fine: 2.500 into scale 1 -> 25
    assert_eq!(enc(&d("2.500"), "Decimal(9, 1)"), 25i32.to_le_bytes());
    // Decimal(9, 2) max 9999999.99 -> 999999999
    assert_eq!(
        enc(&d("9999999.99"), "Decimal(9, 2)"),
        999_999_999i32.to_le_bytes()
    );
    // Too many digits for the precision, or fractional digits the scale would lose.
    fails(&d("10000000.00"), "Decimal(9, 2)");
    fails(&d("1.234"), "Decimal(9, 2)");
    fails(&d("1"), "Float64");
}

#[cfg(feature = "serde_json")]
#[test]
fn json_values() {
    let v = serde_json::json!({"a": [1, null], "é": "x"});
    // String: varint len, then the compact JSON text
    let text = serde_json::to_string(&v).unwrap();
    let mut want = vec![u8::try_from(text.len()).unwrap()];
    want.extend(text.as_bytes());
    assert_eq!(enc(&v, "String"), want);
    assert_eq!(enc(&v, "JSON"), want);
    // Null -> varint 4, "null"
    assert_eq!(enc(&serde_json::Value::Null, "String"), b"\x04null");
    fails(&v, "Int32");
}

/// The rule of `T` (its `Encode::accepts`) for a column of type `column`.
fn accepts<T: Encode<RowBinary> + ?Sized>(column: &str) -> Result<(), String> {
    T::accepts(&ty(column)).map_err(|r| r.to_string())
}

#[test]
fn integers_are_accepted_only_by_their_own_type() {
    assert!(accepts::<i32>("Int32").is_ok());
    assert!(accepts::<i32>("LowCardinality(Int32)").is_ok());
    for other in [
        "Int64",
        "UInt32",
        "Int16",
        "Float64",
        "String",
        "Nullable(Int32)",
        "Tuple(Int32, Int32)",
    ] {
        assert!(accepts::<i32>(other).is_err(), "{other}");
    }
    assert_eq!(
        accepts::<u64>("Int64").unwrap_err(),
        "this field type needs UInt64"
    );
    assert_eq!(
        accepts::<bool>("Int8").unwrap_err(),
        "this field type needs Bool or UInt8"
    );
}

#[test]
fn strings_are_accepted_by_text_columns() {
    for ok in [
        "String",
        "FixedString(3)",
        "LowCardinality(String)",
        "Enum8('a' = 1)",
        "JSON",
    ] {
        assert!(accepts::<String>(ok).is_ok(), "{ok}");
        assert!(accepts::<&str>(ok).is_ok(), "{ok}");
        assert!(accepts::<Cow<'_, str>>(ok).is_ok(), "{ok}");
    }
    assert_eq!(
        accepts::<String>("UUID").unwrap_err(),
        "this field type needs String, FixedString(N), Enum8/Enum16 (by label) or JSON"
    );
    assert!(accepts::<Option<String>>("LowCardinality(Nullable(String))").is_ok());
    assert!(accepts::<[u8; 4]>("FixedString(4)").is_ok());
    assert_eq!(
        accepts::<[u8; 4]>("FixedString(5)").unwrap_err(),
        "this field type needs FixedString(4) or String"
    );
    assert_eq!(
        accepts::<Ipv6Addr>("IPv4").unwrap_err(),
        "this field type needs IPv6"
    );
    assert!(accepts::<IpAddr>("IPv4").is_ok());
}

#[test]
fn nullability_must_agree() {
    let e = accepts::<Option<i32>>("Int32").unwrap_err();
    assert!(e.contains("not Nullable"), "{e}");
    let e = accepts::<i32>("Nullable(Int32)").unwrap_err();
    assert!(e.contains("make the field an `Option"), "{e}");
    let e = accepts::<Vec<i32>>("Array(Nullable(Int32))").unwrap_err();
    assert!(e.starts_with("in the array elements:"), "{e}");
    assert!(accepts::<Vec<Option<i32>>>("Array(Nullable(Int32))").is_ok());
}

#[test]
fn containers_say_what_they_need() {
    assert_eq!(
        accepts::<Vec<i32>>("String").unwrap_err(),
        "this field type needs Array(Int32)"
    );
    assert_eq!(
        accepts::<Vec<Option<u8>>>("UInt8").unwrap_err(),
        "this field type needs Array(Nullable(UInt8))"
    );
    for bytes in ["String", "FixedString(3)", "Array(UInt8)"] {
        assert!(accepts::<Vec<u8>>(bytes).is_ok(), "{bytes}");
        assert!(accepts::<&[u8]>(bytes).is_ok(), "{bytes}");
    }
    assert_eq!(
        accepts::<Vec<u8>>("UInt8").unwrap_err(),
        "this field type needs String, FixedString(N) or Array(UInt8)"
    );
    assert!(accepts::<HashMap<String, u64>>("Map(String, UInt64)").is_ok());
    assert_eq!(
        accepts::<BTreeMap<String, u64>>("Map(String, Int64)").unwrap_err(),
        "in the map values: this field type needs UInt64"
    );
    assert_eq!(
        accepts::<BTreeMap<String, u64>>("String").unwrap_err(),
        "this field type needs Map(String, FixedString(N), Enum8/Enum16 (by label) or JSON, UInt64)"
    );
}

#[test]
fn enums_need_every_label() {
    use batch_core::EnumVariant;
    static V: [EnumVariant; 2] = [
        EnumVariant {
            label: "a",
            value: 1,
        },
        EnumVariant {
            label: "b",
            value: 2,
        },
    ];
    let rule = |column: &str| RowBinary::accepts_enum(&V, &ty(column)).map_err(|r| r.to_string());
    assert!(rule("Enum8('b' = 5, 'a' = -1, 'c' = 3)").is_ok());
    assert_eq!(
        rule("Enum16('a' = 1)").unwrap_err(),
        "the server enum lacks the label 'b'"
    );
    assert!(rule("LowCardinality(String)").is_ok());
    assert_eq!(
        rule("UInt8").unwrap_err(),
        "this field type needs Enum8/Enum16 with its labels, or String"
    );
}

#[test]
fn wide_integers_are_32_little_endian_bytes() {
    use super::{Int256, UInt256};
    // Int256 -2 -> fe, ff x31
    let mut want = [0xff; 32];
    want[0] = 0xfe;
    assert_eq!(enc(&Int256::from(-2i128), "Int256"), want);
    // Int256 MAX -> ff x31, 7f
    let mut want = [0xff; 32];
    want[31] = 0x7f;
    assert_eq!(enc(&Int256::MAX, "Int256"), want);
    // UInt256 2^64 -> 00 x8, 01, 00 x23
    let mut want = [0; 32];
    want[8] = 1;
    assert_eq!(enc(&UInt256::from(1u128 << 64), "UInt256"), want);
    // Nullable(UInt256) 1 -> 00 (not NULL), 01, 00 x31
    let mut want = vec![0, 1];
    want.extend([0; 31]);
    assert_eq!(enc(&Some(UInt256::from(1u128)), "Nullable(UInt256)"), want);
    assert!(matches!(
        fails(&Int256::MIN, "UInt256"),
        EncodeError::Unsupported { .. }
    ));
    assert!(accepts::<Int256>("Int256").is_ok());
    assert_eq!(
        accepts::<UInt256>("Int256").unwrap_err(),
        "this field type needs UInt256"
    );
    assert_eq!(
        accepts::<Vec<Int256>>("String").unwrap_err(),
        "this field type needs Array(Int256)"
    );
    assert_eq!(Int256::from(i128::MIN).to_string(), i128::MIN.to_string());
    assert_eq!(Int256::from(0i128).to_string(), "0");
    assert_eq!(format!("{:>5}", UInt256::from(42u128)), "   42");
}

/// `#[batch(type = "Int256")]` compiles: the derive refused it ("no Rust type for
/// 256-bit integers") while its second table of types lagged behind the encoders. The
/// field types' rules check the declared types offline, as for any column.
#[test]
fn wide_integers_can_be_declared() {
    use super::{Int256, UInt256};
    use batch_core::Schema;

    #[derive(batch_derive::BatchRow)]
    #[batch(crate = "batch_core", table = "wide")]
    struct Wide {
        #[batch(type = "Int256")]
        big: Int256,
        #[batch(type = "Array(Nullable(UInt256))")]
        many: Vec<Option<UInt256>>,
    }

    let columns = RowBinary::resolve_offline(Schema::checked::<Wide, RowBinary>()).unwrap();
    assert_eq!(columns, [ty("Int256"), ty("Array(Nullable(UInt256))")]);
    let mut buf = Vec::new();
    let row = Wide {
        big: Int256::from(-2i128),
        many: vec![None],
    };
    RowBinary::encode_rows(&[row], &columns, &mut buf).unwrap();
    // Int256 -2 -> fe, ff x31 | Array: 1 element (01), NULL (01)
    let mut want = vec![0xfe];
    want.extend([0xff; 31]);
    want.extend([1, 1]);
    assert_eq!(buf, want);
}
