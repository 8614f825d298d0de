//! Every type the encoders write, encoded by the real encoder and read back: each value
//! compared in full, and every byte consumed.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use batch_core::{DecodeError, Encode, Format, Value};

use crate::copy::{oid, PgBinary, PgType, PgTypeKind};

fn t(oid: u32, name: &str) -> PgType {
    PgType::builtin(oid, name)
}

/// Encodes `v` for `column` with its encoder, decodes the field, and checks that every
/// byte was read.
fn round<T: Encode<PgBinary> + ?Sized>(v: &T, column: &PgType) -> Value {
    let mut buf = Vec::new();
    v.encode(column, &mut buf)
        .unwrap_or_else(|e| panic!("encoding for {}: {e}", column.name()));
    let mut input = &buf[..];
    let value = PgBinary::decode_value(column, &mut input)
        .unwrap_or_else(|e| panic!("decoding {}: {e}", column.name()));
    assert!(
        input.is_empty(),
        "{}: {} bytes left",
        column.name(),
        input.len()
    );
    value
}

fn s(text: &str) -> Value {
    Value::String(text.into())
}

#[test]
fn scalars() {
    assert_eq!(
        round(&i16::MIN, &t(oid::INT2, "smallint")),
        Value::Int(-32768)
    );
    assert_eq!(
        round(&-3242i32, &t(oid::INT4, "integer")),
        Value::Int(-3242)
    );
    assert_eq!(
        round(&i64::MAX, &t(oid::INT8, "bigint")),
        Value::Int(i64::MAX.into())
    );
    assert_eq!(round(&1.5f32, &t(oid::FLOAT4, "real")), Value::Float(1.5));
    assert_eq!(
        round(&-0.1f64, &t(oid::FLOAT8, "double precision")),
        Value::Float(-0.1)
    );
    assert_eq!(round(&true, &t(oid::BOOL, "boolean")), Value::Bool(true));
    assert_eq!(round(&false, &t(oid::BOOL, "boolean")), Value::Bool(false));
    assert_eq!(round(&None::<i32>, &t(oid::INT4, "integer")), Value::Null);
    assert_eq!(round(&Some(5i32), &t(oid::INT4, "integer")), Value::Int(5));
}

#[test]
fn text_like_enums_and_bytes() {
    for (o, name) in [
        (oid::TEXT, "text"),
        (oid::VARCHAR, "character varying"),
        (oid::BPCHAR, "character"),
        (oid::NAME, "name"),
    ] {
        assert_eq!(round("héllo", &t(o, name)), s("héllo"), "{name}");
    }
    let citext = PgType {
        kind: PgTypeKind::Citext,
        ..t(90_010, "citext")
    };
    assert_eq!(round(&String::from("CaSe"), &citext), s("CaSe"));
    let mood = PgType::enumeration(90_001, "mood", vec!["sad".into(), "ok".into()]);
    assert_eq!(round("ok", &mood), Value::Enum("ok".into()));
    assert_eq!(
        round(r#"{"a":1}"#, &t(oid::JSON, "json")),
        Value::Json(r#"{"a":1}"#.into())
    );
    assert_eq!(
        round(r#"[true]"#, &t(oid::JSONB, "jsonb")),
        Value::Json("[true]".into())
    );
    let bytea = t(oid::BYTEA, "bytea");
    assert_eq!(round(&vec![0u8, 0xff], &bytea), Value::Bytes(vec![0, 0xff]));
    assert_eq!(round(&[1u8, 2, 3], &bytea), Value::Bytes(vec![1, 2, 3]));
    assert_eq!(round(&Vec::<u8>::new(), &bytea), Value::Bytes(vec![]));
}

#[test]
fn arrays() {
    let int4_array = PgType::array_of(1007, t(oid::INT4, "integer"));
    assert_eq!(
        round(&vec![Some(1i32), None, Some(-3)], &int4_array),
        Value::Array(vec![Value::Int(1), Value::Null, Value::Int(-3)])
    );
    assert_eq!(round(&Vec::<i32>::new(), &int4_array), Value::Array(vec![]));
    let text_array = PgType::array_of(1009, t(oid::TEXT, "text"));
    assert_eq!(
        round(&["a", ""][..], &text_array),
        Value::Array(vec![s("a"), s("")])
    );
    let bytea_array = PgType::array_of(1001, t(oid::BYTEA, "bytea"));
    assert_eq!(
        round(&vec![vec![7u8], vec![]], &bytea_array),
        Value::Array(vec![Value::Bytes(vec![7]), Value::Bytes(vec![])])
    );
    let mood_array = PgType::array_of(
        90_002,
        PgType::enumeration(90_001, "mood", vec!["ok".into()]),
    );
    assert_eq!(
        round(&vec!["ok"], &mood_array),
        Value::Array(vec![Value::Enum("ok".into())])
    );
}

#[test]
fn addresses() {
    let inet = t(oid::INET, "inet");
    let cidr = t(oid::CIDR, "cidr");
    let v4 = Ipv4Addr::new(10, 0, 0, 1);
    let v6: Ipv6Addr = "2001:db8::1".parse().unwrap();
    assert_eq!(round(&v4, &inet), Value::Ip(v4.into()));
    assert_eq!(round(&v6, &cidr), Value::Ip(v6.into()));
    assert_eq!(round(&IpAddr::V4(v4), &cidr), Value::Ip(v4.into()));
    // A network prefix (not written by batchrow) reads as text.
    let field = [0, 0, 0, 8, 2, 24, 1, 4, 192, 168, 1, 0];
    let mut input = &field[..];
    assert_eq!(
        PgBinary::decode_value(&cidr, &mut input).unwrap(),
        s("192.168.1.0/24")
    );
}

#[test]
fn rows_and_errors() {
    let columns = [t(oid::INT4, "integer"), t(oid::TEXT, "text")];
    static COLUMNS: [batch_core::Column; 2] = [
        batch_core::Column::new("id", "id", "i32", None, batch_core::ValueKind::I32),
        batch_core::Column::new(
            "name",
            "name",
            "String",
            None,
            batch_core::ValueKind::String,
        ),
    ];
    let mut row = Vec::new();
    PgBinary::begin_row(2, &mut row);
    7i32.encode(&columns[0], &mut row).unwrap();
    "seven".encode(&columns[1], &mut row).unwrap();
    assert_eq!(
        batch_core::decode_row::<PgBinary>(&columns, &COLUMNS, &row).unwrap(),
        [Value::Int(7), s("seven")]
    );
    let err =
        batch_core::decode_row::<PgBinary>(&columns, &COLUMNS, &row[..row.len() - 1]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "column `name`: the row ends in the middle of a field (1 more bytes needed)"
    );
    let err = batch_core::decode_row::<PgBinary>(&columns[..1], &COLUMNS, &row).unwrap_err();
    assert!(matches!(
        err,
        DecodeError::Invalid {
            what: "field count",
            ..
        }
    ));
    // An int4 field of 2 bytes is refused.
    let mut input = &[0u8, 0, 0, 2, 0, 1][..];
    assert!(PgBinary::decode_value(&columns[0], &mut input).is_err());
}

#[cfg(feature = "rust_decimal")]
#[test]
fn numerics() {
    use rust_decimal::Decimal;
    let numeric = t(oid::NUMERIC, "numeric");
    let dec = |v: &str| Value::Decimal(v.into());
    for v in [
        "0",
        "0.00",
        "1",
        "-1.5",
        "12345.6789",
        "-0.0001",
        "20000",
        "123456789.123456789",
        "0.0000000000000000000000000001",
        "-79228162514264337593543950335",
        "3.1415926535897932384626433833",
    ] {
        assert_eq!(
            round(&v.parse::<Decimal>().unwrap(), &numeric),
            dec(v),
            "{v}"
        );
    }
    // numeric(5, 2) writes the column's scale.
    let n52 = numeric.clone().with_typmod((5 << 16 | 2) + 4);
    assert_eq!(round(&"7".parse::<Decimal>().unwrap(), &n52), dec("7.00"));
    assert_eq!(
        round(&"1.005".parse::<Decimal>().unwrap(), &n52),
        dec("1.01")
    );
}

#[cfg(feature = "uuid")]
#[test]
fn uuids() {
    let u = uuid::Uuid::parse_str("61f0c404-5cb3-11e7-907b-a6006ad3dba0").unwrap();
    assert_eq!(round(&u, &t(oid::UUID, "uuid")), Value::Uuid(u.to_string()));
}

#[cfg(feature = "serde_json")]
#[test]
fn json_values() {
    let v = serde_json::json!({"a": [1, "x"], "b": null});
    for column in [t(oid::JSON, "json"), t(oid::JSONB, "jsonb")] {
        assert_eq!(round(&v, &column), Value::Json(v.to_string()));
    }
    assert_eq!(round(&v, &t(oid::TEXT, "text")), s(&v.to_string()));
}

#[cfg(feature = "chrono")]
#[test]
fn chrono_dates_and_timestamps() {
    use chrono::{NaiveDate, TimeZone, Utc};
    let date = t(oid::DATE, "date");
    let ts = t(oid::TIMESTAMP, "timestamp without time zone");
    let tstz = t(oid::TIMESTAMPTZ, "timestamp with time zone");
    let day = NaiveDate::from_ymd_opt(1999, 12, 31).unwrap();
    assert_eq!(round(&day, &date), Value::Date("1999-12-31".into()));
    let first = NaiveDate::from_ymd_opt(-4713, 11, 24).unwrap();
    assert_eq!(round(&first, &date), Value::Date("-4713-11-24".into()));
    let wall = day.and_hms_micro_opt(23, 59, 59, 123_456).unwrap();
    assert_eq!(
        round(&wall, &ts),
        Value::DateTime("1999-12-31T23:59:59.123456".into())
    );
    let at = Utc.with_ymd_and_hms(2024, 2, 29, 1, 2, 3).unwrap();
    assert_eq!(
        round(&at, &tstz),
        Value::DateTime("2024-02-29T01:02:03.000000Z".into())
    );
}

#[cfg(feature = "time")]
#[test]
fn time_dates_and_timestamps() {
    use time::macros::{date, datetime};
    let date_t = t(oid::DATE, "date");
    let ts = t(oid::TIMESTAMP, "timestamp without time zone");
    let tstz = t(oid::TIMESTAMPTZ, "timestamp with time zone");
    assert_eq!(
        round(&date!(2000 - 01 - 01), &date_t),
        Value::Date("2000-01-01".into())
    );
    assert_eq!(
        round(&datetime!(1960-06-15 12:00:00.000001), &ts),
        Value::DateTime("1960-06-15T12:00:00.000001".into())
    );
    // Another offset is the same instant, in UTC.
    assert_eq!(
        round(&datetime!(2024-01-01 02:00:00 +02:00), &tstz),
        Value::DateTime("2024-01-01T00:00:00.000000Z".into())
    );
}

#[test]
fn special_dates_and_numerics_read_as_text() {
    let mut input = &[0u8, 0, 0, 4, 0x7f, 0xff, 0xff, 0xff][..];
    assert_eq!(
        PgBinary::decode_value(&t(oid::DATE, "date"), &mut input).unwrap(),
        Value::Date("infinity".into())
    );
    // ndigits 0 | weight 0 | NaN | scale 0
    let mut input = &[0u8, 0, 0, 8, 0, 0, 0, 0, 0xc0, 0, 0, 0][..];
    assert_eq!(
        PgBinary::decode_value(&t(oid::NUMERIC, "numeric"), &mut input).unwrap(),
        Value::Decimal("NaN".into())
    );
}

#[test]
fn intervals_decode_as_iso_8601() {
    let column = t(oid::INTERVAL, "interval");
    assert_eq!(
        round(&crate::copy::Interval::new(14, -1, 1_500_000), &column),
        Value::String("P1Y2M-1DT1.5S".into())
    );
}
