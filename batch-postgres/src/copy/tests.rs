//! Golden bytes for every encoder, one comment per field, and cross-checks against
//! tokio-postgres's own `ToSql` encodings (`postgres-types`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use batch_core::{Encode, EncodeError, Format};
use bytes::BytesMut;
use postgres_types::{ToSql, Type};

use super::{oid, PgBinary, PgType};

fn enc<T: Encode<PgBinary> + ?Sized>(value: &T, column: &PgType) -> Vec<u8> {
    let mut buf = Vec::new();
    value.encode(column, &mut buf).unwrap();
    buf
}

fn enc_err<T: Encode<PgBinary> + ?Sized>(value: &T, column: &PgType) -> EncodeError {
    let mut buf = vec![7u8];
    let err = value.encode(column, &mut buf).unwrap_err();
    assert_eq!(buf, [7], "a failed encode must append nothing");
    err
}

/// Our field = the i32 length of `ToSql`'s output, then that output.
fn cross<T: Encode<PgBinary> + ToSql>(value: &T, column: &PgType, ty: &Type) {
    let mut theirs = BytesMut::new();
    value.to_sql(ty, &mut theirs).unwrap();
    let mut expected = i32::try_from(theirs.len()).unwrap().to_be_bytes().to_vec();
    expected.extend_from_slice(&theirs);
    assert_eq!(enc(value, column), expected, "{value:?} as {ty}");
}

fn t(oid: u32, name: &str) -> PgType {
    PgType::builtin(oid, name)
}

fn text() -> PgType {
    t(oid::TEXT, "text")
}

fn int4() -> PgType {
    t(oid::INT4, "integer")
}

#[test]
fn header_and_trailer() {
    // signature "PGCOPY\n\xff\r\n\0" | flags 0 | header extension length 0
    assert_eq!(
        super::HEADER,
        [
            b'P', b'G', b'C', b'O', b'P', b'Y', b'\n', 0xff, b'\r', b'\n', 0, // signature
            0, 0, 0, 0, // flags
            0, 0, 0, 0, // extension length
        ]
    );
    assert_eq!(super::TRAILER, (-1i16).to_be_bytes());
}

#[test]
fn begin_row_writes_the_field_count() {
    let mut buf = Vec::new();
    PgBinary::begin_row(3, &mut buf);
    assert_eq!(buf, [0, 3]); // i16 3
}

#[test]
fn integers_floats_bool() {
    // len 2 | int2 -2
    assert_eq!(
        enc(&-2i16, &t(oid::INT2, "smallint")),
        [0, 0, 0, 2, 0xff, 0xfe]
    );
    // len 4 | int4 0x01020304
    assert_eq!(enc(&0x0102_0304i32, &int4()), [0, 0, 0, 4, 1, 2, 3, 4]);
    // len 8 | int8 i64::MIN
    assert_eq!(
        enc(&i64::MIN, &t(oid::INT8, "bigint")),
        [0, 0, 0, 8, 0x80, 0, 0, 0, 0, 0, 0, 0]
    );
    // len 4 | float4 1.5 = 0x3fc00000
    assert_eq!(
        enc(&1.5f32, &t(oid::FLOAT4, "real")),
        [0, 0, 0, 4, 0x3f, 0xc0, 0, 0]
    );
    // len 8 | float8 -inf = 0xfff0000000000000
    assert_eq!(
        enc(&f64::NEG_INFINITY, &t(oid::FLOAT8, "double precision")),
        [0, 0, 0, 8, 0xff, 0xf0, 0, 0, 0, 0, 0, 0]
    );
    // len 1 | true
    assert_eq!(enc(&true, &t(oid::BOOL, "boolean")), [0, 0, 0, 1, 1]);
    // len 1 | false
    assert_eq!(enc(&false, &t(oid::BOOL, "boolean")), [0, 0, 0, 1, 0]);

    cross(&i16::MAX, &t(oid::INT2, "smallint"), &Type::INT2);
    cross(&i32::MIN, &int4(), &Type::INT4);
    cross(&-1i64, &t(oid::INT8, "bigint"), &Type::INT8);
    cross(&f32::NAN, &t(oid::FLOAT4, "real"), &Type::FLOAT4);
    cross(
        &f64::INFINITY,
        &t(oid::FLOAT8, "double precision"),
        &Type::FLOAT8,
    );
    cross(&true, &t(oid::BOOL, "boolean"), &Type::BOOL);
}

#[test]
fn integer_widths_are_exact() {
    // An i32 never goes into int8 or int2: the server reads exactly 8 or 2 bytes.
    let err = enc_err(&1i32, &t(oid::INT8, "bigint"));
    assert_eq!(
        err.to_string(),
        "a `i32` cannot be written to a column of type bigint"
    );
    enc_err(&1i64, &int4());
    enc_err(&1.0f32, &t(oid::FLOAT8, "double precision"));
}

#[test]
fn null_is_length_minus_one() {
    // len -1, no value
    assert_eq!(enc(&None::<i32>, &int4()), [0xff, 0xff, 0xff, 0xff]);
    // len 4 | 7
    assert_eq!(enc(&Some(7i32), &int4()), [0, 0, 0, 4, 0, 0, 0, 7]);
}

#[test]
fn text_types() {
    // len 6 | "héllo" in UTF-8 (é is 2 bytes)
    assert_eq!(
        enc("héllo", &text()),
        [0, 0, 0, 6, b'h', 0xc3, 0xa9, b'l', b'l', b'o']
    );
    // len 0: the empty string is not NULL
    assert_eq!(enc(&String::new(), &text()), [0, 0, 0, 0]);
    // json: len 2 | "{}"
    assert_eq!(enc("{}", &t(oid::JSON, "json")), [0, 0, 0, 2, b'{', b'}']);
    // jsonb: len 3 | version 1 | "{}"
    assert_eq!(
        enc("{}", &t(oid::JSONB, "jsonb")),
        [0, 0, 0, 3, 1, b'{', b'}']
    );
    let cow: std::borrow::Cow<'_, str> = "x".into();
    assert_eq!(enc(&cow, &t(oid::NAME, "name")), [0, 0, 0, 1, b'x']);

    cross(&"héllo wörld ✓".to_owned(), &text(), &Type::TEXT);
    cross(
        &"abc".to_owned(),
        &t(oid::VARCHAR, "character varying"),
        &Type::VARCHAR,
    );
    cross(
        &"abc".to_owned(),
        &t(oid::BPCHAR, "character"),
        &Type::BPCHAR,
    );
}

/// A NUL is found wherever it is, in values of every length around the 8-byte words the
/// check reads, and bytes with the high bit set (UTF-8) are not taken for one.
#[test]
fn a_nul_is_found_at_every_position() {
    for len in 0..40 {
        let clean: String = "é".repeat(len / 2) + &"x".repeat(len % 2);
        assert!(
            enc(clean.as_str(), &text()).len() == 4 + clean.len(),
            "{len}"
        );
        for at in 0..len {
            let mut bytes = vec![b'a'; len];
            bytes[at] = 0;
            let with_nul = String::from_utf8(bytes).unwrap();
            enc_err(with_nul.as_str(), &text());
        }
    }
    // No other byte value is taken for a NUL, wherever it is and whatever is around it
    // (the word test borrows across bytes); a NUL beside any of them is found.
    for b in 1..=255u8 {
        for at in 0..17 {
            let mut bytes = [1u8; 17];
            bytes[at] = b;
            assert!(!super::text::has_nul(&bytes), "{b:#x} at {at}");
            bytes[(at + 1) % 17] = 0;
            assert!(super::text::has_nul(&bytes), "0 beside {b:#x} at {at}");
        }
    }
}

#[test]
fn text_refuses_what_the_server_would_refuse() {
    let err = enc_err("a\0b", &text());
    assert_eq!(
        err.to_string(),
        "PostgreSQL text cannot contain the NUL character (\\0)"
    );
    enc_err("a\0b", &t(oid::JSONB, "jsonb"));
    // varchar(3): typmod 3 + 4
    let varchar3 = t(oid::VARCHAR, "character varying(3)").with_typmod(7);
    assert_eq!(enc("äöü", &varchar3).len(), 4 + 6); // 3 characters, 6 bytes
    assert_eq!(enc("ab   ", &varchar3).len(), 4 + 5); // the server cuts trailing spaces
    let err = enc_err("abcd", &varchar3);
    assert_eq!(
        err.to_string(),
        "length 4 does not fit character varying(n) (at most 3)"
    );
    enc_err("äöüx", &t(oid::BPCHAR, "character(3)").with_typmod(7));
    enc_err(&"n".repeat(64), &t(oid::NAME, "name"));
    assert_eq!(enc(&"n".repeat(63), &t(oid::NAME, "name")).len(), 4 + 63);
    enc_err("1", &int4());
}

#[test]
fn enum_labels() {
    let mood = PgType::enumeration(90_001, "mood", vec!["sad".into(), "ok".into()]);
    // len 2 | "ok"
    assert_eq!(enc("ok", &mood), [0, 0, 0, 2, b'o', b'k']);
    let err = enc_err("happy", &mood);
    assert_eq!(
        err.to_string(),
        "`happy` is not a label of the enum type mood"
    );

    let mut buf = Vec::new();
    PgBinary::encode_enum("sad", 0, &mood, &mut buf).unwrap();
    assert_eq!(buf, [0, 0, 0, 3, b's', b'a', b'd']); // len 3 | "sad"
    buf.clear();
    PgBinary::encode_enum("sad", 0, &text(), &mut buf).unwrap();
    assert_eq!(buf, [0, 0, 0, 3, b's', b'a', b'd']); // a label into text
    assert!(PgBinary::encode_enum("glad", 0, &mood, &mut buf).is_err());
    assert!(PgBinary::encode_enum("sad", 0, &int4(), &mut buf).is_err());
}

#[test]
fn bytea() {
    let bytea = t(oid::BYTEA, "bytea");
    // len 3 | 01 02 ff
    assert_eq!(enc(&vec![1u8, 2, 0xff], &bytea), [0, 0, 0, 3, 1, 2, 0xff]);
    assert_eq!(enc(&[1u8, 2, 0xff][..], &bytea), [0, 0, 0, 3, 1, 2, 0xff]);
    assert_eq!(enc(&[1u8, 2, 0xff], &bytea), [0, 0, 0, 3, 1, 2, 0xff]);
    // len 0: empty bytea
    assert_eq!(enc(&Vec::<u8>::new(), &bytea), [0, 0, 0, 0]);
    cross(&vec![0u8, 9, 200], &bytea, &Type::BYTEA);
    // bytes never go into an array column or text
    enc_err(&vec![1u8], &text());
    enc_err(
        &vec![1u8],
        &PgType::array_of(1005, t(oid::INT2, "smallint")),
    );
}

#[test]
fn arrays() {
    let int4_array = PgType::array_of(1007, int4());
    assert_eq!(
        enc(&vec![1i32, -1], &int4_array),
        [
            0, 0, 0, 36, // len 36
            0, 0, 0, 1, // ndim 1
            0, 0, 0, 0, // no NULLs
            0, 0, 0, 23, // element OID int4
            0, 0, 0, 2, // dimension length 2
            0, 0, 0, 1, // lower bound 1
            0, 0, 0, 4, 0, 0, 0, 1, // len 4 | 1
            0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff, // len 4 | -1
        ]
    );
    assert_eq!(
        enc(&vec![None, Some(5i32)], &int4_array),
        [
            0, 0, 0, 32, // len 32
            0, 0, 0, 1, // ndim 1
            0, 0, 0, 1, // has NULLs
            0, 0, 0, 23, // element OID int4
            0, 0, 0, 2, // dimension length 2
            0, 0, 0, 1, // lower bound 1
            0xff, 0xff, 0xff, 0xff, // NULL
            0, 0, 0, 4, 0, 0, 0, 5, // len 4 | 5
        ]
    );
    assert_eq!(
        enc(&Vec::<i32>::new(), &int4_array),
        [
            0, 0, 0, 12, // len 12
            0, 0, 0, 0, // ndim 0: empty
            0, 0, 0, 0, // no NULLs
            0, 0, 0, 23, // element OID int4
        ]
    );
    // bytea[]: elements are bytea
    let bytea_array = PgType::array_of(1001, t(oid::BYTEA, "bytea"));
    assert_eq!(
        enc(&vec![vec![7u8]], &bytea_array),
        [
            0, 0, 0, 25, // len 25
            0, 0, 0, 1, // ndim 1
            0, 0, 0, 0, // no NULLs
            0, 0, 0, 17, // element OID bytea
            0, 0, 0, 1, // dimension length 1
            0, 0, 0, 1, // lower bound 1
            0, 0, 0, 1, 7, // len 1 | 07
        ]
    );
    // An enum array names the enum's OID.
    let mood_array = PgType::array_of(
        90_002,
        PgType::enumeration(90_001, "mood", vec!["ok".into()]),
    );
    let bytes = enc(&["ok"][..], &mood_array);
    assert_eq!(bytes[12..16], 90_001u32.to_be_bytes());
    assert!(enc_err(&["nope"][..], &mood_array)
        .to_string()
        .contains("`nope` is not a label"));

    // Element type checks reach inside, and a failed element leaves nothing behind.
    enc_err(&vec![1i64], &int4_array);
    enc_err(&vec![1i32], &int4());
    let varchar1_array =
        PgType::array_of(1015, t(oid::VARCHAR, "character varying")).with_typmod(5);
    enc_err(&vec!["a", "bc"], &varchar1_array);

    cross(&vec![1i32, 2, 3], &int4_array, &Type::INT4_ARRAY);
    cross(&vec![Some(1i32), None], &int4_array, &Type::INT4_ARRAY);
    cross(
        &vec!["a".to_owned(), String::new()],
        &PgType::array_of(1009, text()),
        &Type::TEXT_ARRAY,
    );
}

#[test]
fn inet_and_cidr() {
    let inet = t(oid::INET, "inet");
    assert_eq!(
        enc(&Ipv4Addr::new(192, 168, 0, 1), &inet),
        [
            0, 0, 0, 8,  // len 8
            2,  // family AF_INET
            32, // prefix bits
            0,  // not cidr
            4,  // address length
            192, 168, 0, 1, // address
        ]
    );
    let v6 = enc(&Ipv6Addr::LOCALHOST, &t(oid::CIDR, "cidr"));
    assert_eq!(v6[..8], [0, 0, 0, 20, 3, 128, 1, 16]); // len 20 | AF_INET6 | /128 | cidr | 16 bytes
    assert_eq!(v6[8..], Ipv6Addr::LOCALHOST.octets());
    let ip: IpAddr = Ipv4Addr::new(10, 0, 0, 1).into();
    cross(&ip, &inet, &Type::INET);
    let ip: IpAddr = "2001:db8::ff".parse().unwrap();
    cross(&ip, &inet, &Type::INET);
    enc_err(&ip, &text());
}

#[cfg(feature = "uuid")]
#[test]
fn uuid() {
    let u = uuid::Uuid::from_u128(0x0011_2233_4455_6677_8899_aabb_ccdd_eeff);
    let bytes = enc(&u, &t(oid::UUID, "uuid"));
    assert_eq!(bytes[..4], [0, 0, 0, 16]); // len 16
    assert_eq!(bytes[4..], *u.as_bytes()); // the 16 bytes, big-endian
    cross(&u, &t(oid::UUID, "uuid"), &Type::UUID);
    enc_err(&u, &text());
}

#[cfg(feature = "chrono")]
#[test]
fn chrono_dates_and_timestamps() {
    use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
    let date = t(oid::DATE, "date");
    let ts = t(oid::TIMESTAMP, "timestamp without time zone");
    let tstz = t(oid::TIMESTAMPTZ, "timestamp with time zone");
    let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    // len 4 | day 0 = 2000-01-01
    assert_eq!(enc(&d(2000, 1, 1), &date), [0, 0, 0, 4, 0, 0, 0, 0]);
    // len 4 | day -1
    assert_eq!(
        enc(&d(1999, 12, 31), &date),
        [0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff]
    );
    // len 8 | 1 µs after 2000-01-01 00:00:00
    let one_us: NaiveDateTime = d(2000, 1, 1).and_hms_micro_opt(0, 0, 0, 1).unwrap();
    assert_eq!(enc(&one_us, &ts), [0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1]);
    // Sub-microsecond precision is truncated toward the past.
    let before = d(1999, 12, 31)
        .and_hms_nano_opt(23, 59, 59, 999_999_999)
        .unwrap();
    assert_eq!(
        enc(&before, &ts),
        [0, 0, 0, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
    );

    for v in [d(2024, 2, 29), d(1, 1, 1), d(-4713, 11, 24), NaiveDate::MAX] {
        cross(&v, &date, &Type::DATE);
    }
    let dt = d(2024, 2, 29)
        .and_hms_micro_opt(13, 14, 15, 161_718)
        .unwrap();
    cross(&dt, &ts, &Type::TIMESTAMP);
    let utc: DateTime<Utc> = dt.and_utc();
    cross(&utc, &tstz, &Type::TIMESTAMPTZ);

    // Outside PostgreSQL's range, and wrong column types.
    assert!(enc_err(&NaiveDate::MIN, &date)
        .to_string()
        .contains("out of range"));
    assert!(enc_err(&d(-4713, 11, 23), &date)
        .to_string()
        .contains("out of range"));
    enc_err(&NaiveDateTime::MIN, &ts);
    assert_eq!(enc(&NaiveDateTime::MAX, &ts).len(), 12); // year 262142 fits
    enc_err(&dt, &tstz); // a naive timestamp never goes into timestamptz
    enc_err(&utc, &ts);
    enc_err(&dt, &text());
}

#[cfg(feature = "time")]
#[test]
fn time_dates_and_timestamps() {
    use time::macros::{date, datetime};
    let dt = t(oid::TIMESTAMP, "timestamp without time zone");
    assert_eq!(
        enc(&date!(2000 - 01 - 02), &t(oid::DATE, "date")),
        [0, 0, 0, 4, 0, 0, 0, 1]
    );
    cross(&date!(1970 - 01 - 01), &t(oid::DATE, "date"), &Type::DATE);
    cross(
        &datetime!(2024-02-29 13:14:15.161718),
        &dt,
        &Type::TIMESTAMP,
    );
    let odt = datetime!(2024-02-29 13:14:15.161718 +02:00);
    cross(
        &odt,
        &t(oid::TIMESTAMPTZ, "timestamp with time zone"),
        &Type::TIMESTAMPTZ,
    );
    // The same instant in UTC encodes the same.
    assert_eq!(
        enc(&odt, &t(oid::TIMESTAMPTZ, "timestamptz")),
        enc(
            &datetime!(2024-02-29 11:14:15.161718 UTC),
            &t(oid::TIMESTAMPTZ, "timestamptz")
        )
    );
    assert!(enc_err(&date!(-9999 - 01 - 01), &t(oid::DATE, "date"))
        .to_string()
        .contains("out of range"));
}

#[cfg(feature = "rust_decimal")]
#[test]
fn numeric() {
    use rust_decimal::Decimal;
    use std::str::FromStr;
    let numeric = t(oid::NUMERIC, "numeric");
    let dec = |s: &str| Decimal::from_str(s).unwrap();
    assert_eq!(
        enc(&dec("12345.6789"), &numeric),
        [
            0, 0, 0, 14, // len 14
            0, 3, // 3 digits
            0, 1, // weight 1: the first digit is x 10000^1
            0, 0, // positive
            0, 4, // display scale 4
            0, 1, // 1
            0x09, 0x29, // 2345
            0x1a, 0x85, // 6789
        ]
    );
    assert_eq!(
        enc(&dec("-0.0001"), &numeric),
        [
            0, 0, 0, 10, // len 10
            0, 1, // 1 digit
            0xff, 0xff, // weight -1
            0x40, 0, // negative
            0, 4, // display scale 4
            0, 1, // 1 (x 10000^-1)
        ]
    );
    assert_eq!(
        enc(&dec("0.00"), &numeric),
        [
            0, 0, 0, 8, // len 8
            0, 0, // no digits
            0, 0, // weight 0
            0, 0, // positive
            0, 2, // display scale 2
        ]
    );
    assert_eq!(
        enc(&dec("20000"), &numeric),
        [
            0, 0, 0, 10, // len 10
            0, 1, // 1 digit: the trailing zero digit is left out
            0, 1, // weight 1
            0, 0, // positive
            0, 0, // display scale 0
            0, 2, // 2 (x 10000^1)
        ]
    );
    for s in [
        "0",
        "1",
        "-1.5",
        "0.5",
        "123456789.123456789",
        "1e-28",
        "-0.0000000000000000000000000001",
    ] {
        cross(&dec(s), &numeric, &Type::NUMERIC);
    }
    cross(&Decimal::MAX, &numeric, &Type::NUMERIC);
    cross(&Decimal::MIN, &numeric, &Type::NUMERIC);
    cross(
        &dec("3.1415926535897932384626433833"),
        &numeric,
        &Type::NUMERIC,
    );

    // numeric(5, 2): rounded half away from zero like the server, then the precision checked.
    let n52 = numeric.clone().with_typmod((5 << 16 | 2) + 4);
    assert_eq!(enc(&dec("1.005"), &n52), enc(&dec("1.01"), &numeric));
    assert_eq!(enc(&dec("-1.005"), &n52), enc(&dec("-1.01"), &numeric));
    assert_eq!(enc(&dec("7"), &n52), enc(&dec("7.00"), &numeric));
    assert_eq!(enc(&dec("999.994"), &n52), enc(&dec("999.99"), &numeric));
    let err = enc_err(&dec("999.995"), &n52);
    assert_eq!(
        err.to_string(),
        "value 999.995 is out of range for the column's numeric(precision, scale)"
    );
    // numeric(2, 5) (PostgreSQL 15): |value| < 10^-3
    let n25 = numeric.clone().with_typmod((2 << 16 | 5) + 4);
    assert_eq!(enc(&dec("0.00099"), &n25), enc(&dec("0.00099"), &numeric));
    enc_err(&dec("0.001"), &n25);
    // numeric(5, -2) (PostgreSQL 15): sent as is; the server rounds to hundreds.
    let n5m2 = numeric.clone().with_typmod((5 << 16 | (-2i32 & 0x7ff)) + 4);
    assert_eq!(n5m2.numeric_precision_scale(), Some((5, -2)));
    assert_eq!(enc(&dec("12345.6"), &n5m2), enc(&dec("12345.6"), &numeric));
    enc_err(&dec("1"), &int4());
}

#[cfg(feature = "serde_json")]
#[test]
fn json_values() {
    let v = serde_json::json!({"a": [1, "x"], "b": null});
    let text_json = br#"{"a":[1,"x"],"b":null}"#;
    // json: len | the text
    let mut expected = i32::try_from(text_json.len())
        .unwrap()
        .to_be_bytes()
        .to_vec();
    expected.extend_from_slice(text_json);
    assert_eq!(enc(&v, &t(oid::JSON, "json")), expected);
    // jsonb: len | version 1 | the text
    let mut expected = i32::try_from(text_json.len() + 1)
        .unwrap()
        .to_be_bytes()
        .to_vec();
    expected.push(1);
    expected.extend_from_slice(text_json);
    assert_eq!(enc(&v, &t(oid::JSONB, "jsonb")), expected);
    cross(&v, &t(oid::JSON, "json"), &Type::JSON);
    cross(&v, &t(oid::JSONB, "jsonb"), &Type::JSONB);
    enc_err(&v, &int4());
}

/// The rule of `T` (its `Encode::accepts`) for `column`.
fn accepts<T: Encode<PgBinary> + ?Sized>(column: &PgType) -> Result<(), String> {
    T::accepts(column).map_err(|r| r.to_string())
}

#[test]
fn exact_integer_widths() {
    let int4 = t(oid::INT4, "integer");
    assert!(accepts::<i32>(&int4).is_ok());
    assert_eq!(
        accepts::<i64>(&int4).unwrap_err(),
        "this field type needs bigint"
    );
    assert!(accepts::<i16>(&int4).is_err());
    assert!(accepts::<Option<i32>>(&int4).is_ok());
    // A domain over int4 takes what int4 takes.
    let domain = PgType {
        oid: 90_000,
        name: "positive".into(),
        ..t(oid::INT4, "integer")
    };
    assert!(accepts::<i32>(&domain).is_ok());
}

#[test]
fn strings_go_into_text_like_columns_only() {
    for (o, n) in [
        (oid::TEXT, "text"),
        (oid::VARCHAR, "character varying(3)"),
        (oid::BPCHAR, "character(2)"),
        (oid::NAME, "name"),
        (oid::JSON, "json"),
        (oid::JSONB, "jsonb"),
    ] {
        assert!(accepts::<String>(&t(o, n)).is_ok(), "{n}");
        assert!(accepts::<&str>(&t(o, n)).is_ok(), "{n}");
    }
    let ts = t(oid::TIMESTAMP, "timestamp without time zone");
    assert_eq!(
        accepts::<String>(&ts).unwrap_err(),
        "this field type needs text, varchar(n), character(n), name, citext, an enum type, \
         json or jsonb"
    );
}

#[test]
fn bytes_and_arrays() {
    let bytea = t(oid::BYTEA, "bytea");
    assert!(accepts::<Vec<u8>>(&bytea).is_ok());
    assert!(accepts::<[u8; 16]>(&bytea).is_ok());
    assert!(accepts::<&[u8]>(&bytea).is_ok());
    let int4_array = PgType::array_of(1007, t(oid::INT4, "integer"));
    assert!(accepts::<Vec<i32>>(&int4_array).is_ok());
    assert!(accepts::<Vec<Option<i32>>>(&int4_array).is_ok());
    assert_eq!(
        accepts::<Vec<i64>>(&int4_array).unwrap_err(),
        "in the array elements: this field type needs bigint"
    );
    assert_eq!(
        accepts::<Vec<u8>>(&int4_array).unwrap_err(),
        "this field type needs bytea"
    );
    assert_eq!(
        accepts::<Vec<i32>>(&t(oid::INT4, "integer")).unwrap_err(),
        "this field type needs an array of integer"
    );
}

#[test]
fn enums_need_every_label() {
    use batch_core::EnumVariant;
    const VARIANTS: &[EnumVariant] = &[
        EnumVariant {
            label: "sad",
            value: 0,
        },
        EnumVariant {
            label: "happy",
            value: 1,
        },
        EnumVariant {
            label: "meh",
            value: 2,
        },
    ];
    let mood = PgType::enumeration(1, "mood", vec!["sad".into(), "ok".into()]);
    let rule = |v: &'static [EnumVariant], c: &PgType| {
        PgBinary::accepts_enum(v, c).map_err(|r| r.to_string())
    };
    assert_eq!(
        rule(VARIANTS, &mood).unwrap_err(),
        "the enum type mood has no label 'happy', 'meh'; add it with ALTER TYPE … ADD VALUE"
    );
    assert!(rule(&VARIANTS[..1], &mood).is_ok());
    assert!(rule(VARIANTS, &text()).is_ok());
    assert_eq!(
        rule(VARIANTS, &t(oid::INT4, "integer")).unwrap_err(),
        "this field type needs an enum type with its labels, or text"
    );
    assert!(accepts::<String>(&mood).is_ok());
}

#[test]
fn intervals_are_microseconds_days_months() {
    use super::Interval;
    let interval = t(oid::INTERVAL, "interval");
    // length 16 | microseconds -1 -> ff x8 | days 2 -> 00 00 00 02 | months -3 -> ff ff ff fd
    assert_eq!(
        enc(&Interval::new(-3, 2, -1), &interval),
        [
            0, 0, 0, 16, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 2, 0xff, 0xff,
            0xff, 0xfd
        ]
    );
    // NULL -> length -1
    assert_eq!(enc(&None::<Interval>, &interval), [0xff; 4]);
    assert!(matches!(
        enc_err(&Interval::default(), &t(oid::INT8, "bigint")),
        EncodeError::Unsupported { .. }
    ));
    assert!(accepts::<Interval>(&interval).is_ok());
    assert_eq!(
        accepts::<Interval>(&t(oid::TIMESTAMP, "timestamp")).unwrap_err(),
        "this field type needs interval"
    );
    assert_eq!(
        accepts::<Vec<Interval>>(&interval).unwrap_err(),
        "this field type needs an array of interval"
    );
    for (v, iso) in [
        (Interval::default(), "PT0S"),
        (Interval::new(12, 0, 0), "P1Y"),
        (Interval::new(-13, 0, 0), "P-1Y-1M"),
        (Interval::new(0, -5, 0), "P-5D"),
        (Interval::new(1, 1, 1), "P1M1DT0.000001S"),
        (Interval::new(0, 0, -3_723_500_000), "PT-1H-2M-3.5S"),
        (Interval::new(0, 0, -500_000), "PT-0.5S"),
        (Interval::new(0, 0, 60_000_000), "PT1M"),
    ] {
        assert_eq!(v.to_string(), iso, "{v:?}");
    }
}

#[test]
fn an_unsupported_type_is_named_by_its_path_as_every_backend_names_it() {
    let err = enc_err(&std::net::Ipv4Addr::LOCALHOST, &t(oid::INT8, "bigint"));
    assert_eq!(
        err.to_string(),
        "a `core::net::ip_addr::Ipv4Addr` cannot be written to a column of type bigint"
    );
    assert_eq!(
        err.to_string(),
        batch_core::EncodeError::unsupported::<std::net::Ipv4Addr>("bigint").to_string()
    );
    let err = enc_err(&String::from("x"), &t(oid::INT8, "bigint"));
    assert_eq!(
        err.to_string(),
        "a `alloc::string::String` cannot be written to a column of type bigint"
    );
}

/// The OID constants the encoders match on (patterns need constants, and
/// `postgres_types::Type::oid` is not `const`) are postgres-types' own.
#[test]
fn oid_constants_are_postgres_types_oids() {
    let pairs = [
        (oid::BOOL, Type::BOOL),
        (oid::BYTEA, Type::BYTEA),
        (oid::NAME, Type::NAME),
        (oid::INT8, Type::INT8),
        (oid::INT2, Type::INT2),
        (oid::INT4, Type::INT4),
        (oid::TEXT, Type::TEXT),
        (oid::JSON, Type::JSON),
        (oid::CIDR, Type::CIDR),
        (oid::FLOAT4, Type::FLOAT4),
        (oid::FLOAT8, Type::FLOAT8),
        (oid::INET, Type::INET),
        (oid::BPCHAR, Type::BPCHAR),
        (oid::VARCHAR, Type::VARCHAR),
        (oid::DATE, Type::DATE),
        (oid::TIMESTAMP, Type::TIMESTAMP),
        (oid::TIMESTAMPTZ, Type::TIMESTAMPTZ),
        (oid::INTERVAL, Type::INTERVAL),
        (oid::NUMERIC, Type::NUMERIC),
        (oid::UUID, Type::UUID),
        (oid::JSONB, Type::JSONB),
    ];
    for (ours, theirs) in pairs {
        assert_eq!(ours, theirs.oid(), "{theirs}");
    }
}
