//! RowBinary checked by an independent decoder: chdb (ClickHouse 26 in-process, from
//! PyPI) reads the rows batchrow writes, for every type batchrow encodes, including the
//! types the 18.16 test server lacks (Bool, Int128/UInt128, Date32, DateTime64(3/6/9),
//! Decimal256, IPv4/IPv6, Map, JSON).
//!
//! Rows are encoded offline (`RowBinary::resolve_offline` + `RowBinary::encode_rows`)
//! into a file under `target/tmp`; chdb reads it with
//! `SELECT ... FROM file(path, RowBinary, structure)` and prints every value as text,
//! which is compared with values written out by hand here.
//!
//! The same rows are also transcoded into one Native block (`NativeBlock`, what the sink
//! sends in `InsertFormat::Native`), which chdb reads with `file(path, Native)`: the
//! block names its columns and types itself. The JSON columns go in as `String` there
//! (the sink sends tables with JSON columns in RowBinary; their RowBinary values are
//! strings).
//!
//! `Int256` and `UInt256` are checked the same way, with the column types a server that
//! has them resolves.
//!
//! Needs chdb: `bash scripts/chdb.sh` installs it into `target/batchrow-cache/chdb-venv`
//! (or `$BATCHROW_CACHE/chdb-venv`). Without it the test fails, saying so.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::process::Command;

use batchrow::clickhouse::native::NativeBlock;
use batchrow::clickhouse::{ChType, Int256, RowBinary, UInt256};
use batchrow::{check_columns, BatchEnum, BatchRow, Schema};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use serde_json::json;

#[derive(BatchEnum, Debug, Clone, Copy)]
#[batch(rename_all = "lowercase")]
enum Level {
    Low = 1,
    High = 2,
}

#[derive(BatchRow)]
#[batch(table = "oracle")]
struct Modern<'a> {
    b: bool,
    i8_: i8,
    i16_: i16,
    i32_: i32,
    i64_: i64,
    i128_: i128,
    u8_: u8,
    u16_: u16,
    u32_: u32,
    u64_: u64,
    u128_: u128,
    f32_: f32,
    f64_: f64,
    s: &'a str,
    #[batch(type = "FixedString(6)")]
    fs: String,
    fb: [u8; 4],
    bytes: Vec<u8>,
    #[batch(type = "LowCardinality(String)")]
    lc: Option<String>,
    d: NaiveDate,
    #[batch(type = "Date32")]
    d32: NaiveDate,
    #[batch(type = "DateTime('UTC')")]
    dt: DateTime<Utc>,
    #[batch(type = "DateTime64(3, 'UTC')")]
    dt3: DateTime<Utc>,
    #[batch(type = "DateTime64(6, 'UTC')")]
    dt6: NaiveDateTime,
    #[batch(type = "DateTime64(9, 'UTC')")]
    dt9: time::OffsetDateTime,
    #[batch(type = "Decimal(9, 2)")]
    dec32: Decimal,
    #[batch(type = "Decimal(18, 4)")]
    dec64: Decimal,
    #[batch(type = "Decimal(38, 10)")]
    dec128: Decimal,
    #[batch(type = "Decimal256(20)")]
    dec256: Decimal,
    uuid: uuid::Uuid,
    ip4: Ipv4Addr,
    ip6: Ipv6Addr,
    ip: IpAddr,
    map: BTreeMap<String, u64>,
    hmap: HashMap<&'a str, Option<i32>>,
    arr: Vec<Option<String>>,
    nested: Vec<Vec<i32>>,
    level: Level,
    #[batch(type = "Enum8('high' = -128, 'low' = 127)")]
    level_mapped: Level,
    #[batch(type = "Enum16('a' = -32768, 'b' = 32767)")]
    label: &'a str,
    json: serde_json::Value,
    #[batch(type = "JSON")]
    json_obj: serde_json::Value,
    n: Option<i64>,
    nd: Option<time::Date>,
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap()
}

fn nanos(n: i128) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp_nanos(n).unwrap()
}

fn tdate(y: i32, m: u8, d: u8) -> time::Date {
    time::Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), d).unwrap()
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn rows() -> Vec<Modern<'static>> {
    vec![
        // Row 0: the minimums.
        Modern {
            b: false,
            i8_: i8::MIN,
            i16_: i16::MIN,
            i32_: i32::MIN,
            i64_: i64::MIN,
            i128_: i128::MIN,
            u8_: 0,
            u16_: 0,
            u32_: 0,
            u64_: 0,
            u128_: 0,
            f32_: f32::MIN,
            f64_: f64::NEG_INFINITY,
            s: "",
            fs: String::new(),
            fb: [0; 4],
            bytes: vec![],
            lc: None,
            d: date(1970, 1, 1),
            d32: date(1900, 1, 1),
            dt: at("1970-01-01 00:00:00").and_utc(),
            dt3: at("1900-01-01 00:00:00").and_utc(),
            dt6: at("1969-12-31 23:59:59.999999"),
            dt9: nanos(-2_208_988_800_000_000_000 + 1),
            dec32: dec("-9999999.99"),
            dec64: dec("-99999999999999.9999"),
            dec128: dec("-9999999999999999.9999999999"),
            dec256: dec("-79228162514264337593543950335"),
            uuid: uuid::Uuid::nil(),
            ip4: Ipv4Addr::UNSPECIFIED,
            ip6: Ipv6Addr::UNSPECIFIED,
            ip: IpAddr::V4(Ipv4Addr::new(1, 2, 3, 4)),
            map: BTreeMap::new(),
            hmap: HashMap::new(),
            arr: vec![],
            nested: vec![],
            level: Level::Low,
            level_mapped: Level::Low,
            label: "a",
            json: json!(null),
            json_obj: json!({}),
            n: None,
            nd: None,
        },
        // Row 1: the maximums.
        Modern {
            b: true,
            i8_: i8::MAX,
            i16_: i16::MAX,
            i32_: i32::MAX,
            i64_: i64::MAX,
            i128_: i128::MAX,
            u8_: u8::MAX,
            u16_: u16::MAX,
            u32_: u32::MAX,
            u64_: u64::MAX,
            u128_: u128::MAX,
            f32_: f32::MAX,
            f64_: f64::MAX,
            s: "max",
            fs: "sixsix".into(),
            fb: [0xff; 4],
            bytes: vec![0, 0xff, 0x80],
            lc: Some("x".repeat(1000)),
            d: date(2149, 6, 6),
            d32: date(2299, 12, 31),
            dt: at("2106-02-07 06:28:15").and_utc(),
            dt3: at("2299-12-31 23:59:59.999").and_utc(),
            dt6: at("2299-12-31 23:59:59.999999"),
            dt9: nanos(i128::from(i64::MAX)),
            dec32: dec("9999999.99"),
            dec64: dec("99999999999999.9999"),
            dec128: dec("9999999999999999.9999999999"),
            dec256: dec("79228162514264337593543950335"),
            uuid: uuid::Uuid::max(),
            ip4: Ipv4Addr::BROADCAST,
            ip6: Ipv6Addr::from(u128::MAX),
            ip: IpAddr::V6(Ipv6Addr::LOCALHOST),
            map: [("a".to_owned(), 1), ("b".to_owned(), u64::MAX)].into(),
            hmap: [("k", Some(i32::MIN))].into(),
            arr: vec![Some("x".into()), None, Some(String::new())],
            nested: vec![vec![], vec![1, -1], vec![i32::MAX]],
            level: Level::High,
            level_mapped: Level::High,
            label: "b",
            json: json!({"k": [1, "two", null]}),
            json_obj: json!({"k": "v", "nested": {"x": "y"}}),
            n: Some(i64::MIN),
            nd: Some(tdate(2149, 6, 6)),
        },
        // Row 2: ordinary values, non-ASCII text, NaN.
        Modern {
            b: true,
            i8_: -1,
            i16_: -300,
            i32_: -3242,
            i64_: 1 << 40,
            i128_: -(1 << 100),
            u8_: 7,
            u16_: 300,
            u32_: 3242,
            u64_: 1 << 63,
            u128_: 1 << 100,
            f32_: f32::NAN,
            f64_: -0.0,
            s: "naïve ☃ 日本語 'quoted' \\ \t\n",
            fs: "é".into(),
            fb: *b"abcd",
            bytes: "ü".as_bytes().to_vec(),
            lc: Some("ünïcödé".into()),
            d: date(2019, 1, 1),
            d32: date(1969, 12, 31),
            dt: at("2020-02-29 12:34:56").and_utc(),
            dt3: at("1969-12-31 23:59:59.5").and_utc(),
            dt6: at("2000-01-01 00:00:00.000001"),
            dt9: nanos(-1),
            dec32: dec("-0.01"),
            dec64: dec("1.5"),
            dec128: dec("-0.0000000001"),
            dec256: dec("12345.678901234567890"),
            uuid: uuid::Uuid::parse_str("61f0c404-5cb3-11e7-907b-a6006ad3dba0").unwrap(),
            ip4: Ipv4Addr::new(192, 168, 0, 1),
            ip6: "2001:db8::ff00:42:8329".parse().unwrap(),
            ip: "fe80::1".parse().unwrap(),
            map: [("ключ".to_owned(), 42)].into(),
            hmap: [("n", None)].into(),
            arr: vec![None],
            nested: vec![vec![0]],
            level: Level::Low,
            level_mapped: Level::High,
            label: "b",
            json: json!("text"),
            json_obj: json!({"k": "ü"}),
            n: Some(0),
            nd: Some(tdate(1970, 1, 1)),
        },
    ]
}

/// What chdb prints for each column of each row (`None` for NULL). Floats are compared
/// by their bits; bytes and fixed strings by their hex.
fn expected() -> Vec<Vec<(&'static str, Option<&'static str>)>> {
    vec![
        vec![
            ("b", Some("false")),
            ("i8_", Some("-128")),
            ("i16_", Some("-32768")),
            ("i32_", Some("-2147483648")),
            ("i64_", Some("-9223372036854775808")),
            ("i128_", Some("-170141183460469231731687303715884105728")),
            ("u8_", Some("0")),
            ("u16_", Some("0")),
            ("u32_", Some("0")),
            ("u64_", Some("0")),
            ("u128_", Some("0")),
            ("f32_", Some("4286578687")), // f32::MIN bits ff7fffff
            ("f64_", Some("18442240474082181120")), // -inf bits fff0000000000000
            ("s", Some("")),
            ("fs", Some("000000000000")),
            ("fb", Some("00000000")),
            ("bytes", Some("")),
            ("lc", None),
            ("d", Some("1970-01-01")),
            ("d32", Some("1900-01-01")),
            ("dt", Some("1970-01-01 00:00:00")),
            ("dt3", Some("1900-01-01 00:00:00.000")),
            ("dt6", Some("1969-12-31 23:59:59.999999")),
            ("dt9", Some("1900-01-01 00:00:00.000000001")),
            ("dec32", Some("-9999999.99")),
            ("dec64", Some("-99999999999999.9999")),
            ("dec128", Some("-9999999999999999.9999999999")),
            ("dec256", Some("-79228162514264337593543950335")),
            ("uuid", Some("00000000-0000-0000-0000-000000000000")),
            ("ip4", Some("0.0.0.0")),
            ("ip6", Some("::")),
            ("ip", Some("::ffff:1.2.3.4")),
            ("map", Some("{}")),
            ("hmap", Some("{}")),
            ("arr", Some("[]")),
            ("nested", Some("[]")),
            ("level", Some("low")),
            ("level_mapped", Some("low")),
            ("label", Some("a")),
            ("json", Some("null")),
            ("json_obj", Some("{}")),
            ("n", None),
            ("nd", None),
        ],
        vec![
            ("b", Some("true")),
            ("i8_", Some("127")),
            ("i16_", Some("32767")),
            ("i32_", Some("2147483647")),
            ("i64_", Some("9223372036854775807")),
            ("i128_", Some("170141183460469231731687303715884105727")),
            ("u8_", Some("255")),
            ("u16_", Some("65535")),
            ("u32_", Some("4294967295")),
            ("u64_", Some("18446744073709551615")),
            ("u128_", Some("340282366920938463463374607431768211455")),
            ("f32_", Some("2139095039")), // f32::MAX bits 7f7fffff
            ("f64_", Some("9218868437227405311")), // f64::MAX bits 7fefffffffffffff
            ("s", Some("max")),
            ("fs", Some("736978736978")),
            ("fb", Some("FFFFFFFF")),
            ("bytes", Some("00FF80")),
            ("lc", Some("LC1000")),
            ("d", Some("2149-06-06")),
            ("d32", Some("2299-12-31")),
            ("dt", Some("2106-02-07 06:28:15")),
            ("dt3", Some("2299-12-31 23:59:59.999")),
            ("dt6", Some("2299-12-31 23:59:59.999999")),
            ("dt9", Some("2262-04-11 23:47:16.854775807")),
            ("dec32", Some("9999999.99")),
            ("dec64", Some("99999999999999.9999")),
            ("dec128", Some("9999999999999999.9999999999")),
            ("dec256", Some("79228162514264337593543950335")),
            ("uuid", Some("ffffffff-ffff-ffff-ffff-ffffffffffff")),
            ("ip4", Some("255.255.255.255")),
            ("ip6", Some("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")),
            ("ip", Some("::1")),
            ("map", Some("{'a':1,'b':18446744073709551615}")),
            ("hmap", Some("{'k':-2147483648}")),
            ("arr", Some("['x',NULL,'']")),
            ("nested", Some("[[],[1,-1],[2147483647]]")),
            ("level", Some("high")),
            ("level_mapped", Some("high")),
            ("label", Some("b")),
            ("json", Some(r#"{"k":[1,"two",null]}"#)),
            ("json_obj", Some(r#"{"k":"v","nested":{"x":"y"}}"#)),
            ("n", Some("-9223372036854775808")),
            ("nd", Some("2149-06-06")),
        ],
        vec![
            ("b", Some("true")),
            ("i8_", Some("-1")),
            ("i16_", Some("-300")),
            ("i32_", Some("-3242")),
            ("i64_", Some("1099511627776")),
            ("i128_", Some("-1267650600228229401496703205376")),
            ("u8_", Some("7")),
            ("u16_", Some("300")),
            ("u32_", Some("3242")),
            ("u64_", Some("9223372036854775808")),
            ("u128_", Some("1267650600228229401496703205376")),
            ("f32_", Some("NAN")),
            ("f64_", Some("9223372036854775808")), // -0.0 bits 8000000000000000
            ("s", Some("naïve ☃ 日本語 'quoted' \\ \t\n")),
            ("fs", Some("C3A900000000")),
            ("fb", Some("61626364")),
            ("bytes", Some("C3BC")),
            ("lc", Some("ünïcödé")),
            ("d", Some("2019-01-01")),
            ("d32", Some("1969-12-31")),
            ("dt", Some("2020-02-29 12:34:56")),
            ("dt3", Some("1969-12-31 23:59:59.500")),
            ("dt6", Some("2000-01-01 00:00:00.000001")),
            ("dt9", Some("1969-12-31 23:59:59.999999999")),
            ("dec32", Some("-0.01")),
            ("dec64", Some("1.5")),
            ("dec128", Some("-0.0000000001")),
            ("dec256", Some("12345.67890123456789")),
            ("uuid", Some("61f0c404-5cb3-11e7-907b-a6006ad3dba0")),
            ("ip4", Some("192.168.0.1")),
            ("ip6", Some("2001:db8::ff00:42:8329")),
            ("ip", Some("fe80::1")),
            ("map", Some("{'ключ':42}")),
            ("hmap", Some("{'n':NULL}")),
            ("arr", Some("[NULL]")),
            ("nested", Some("[[0]]")),
            ("level", Some("low")),
            ("level_mapped", Some("high")),
            ("label", Some("b")),
            ("json", Some(r#""text""#)),
            ("json_obj", Some(r#"{"k":"ü"}"#)),
            ("n", Some("0")),
            ("nd", Some("1970-01-01")),
        ],
    ]
}

/// How chdb should print a column for an exact comparison.
fn select_expr(name: &str, ty: &ChType) -> String {
    match ty {
        ChType::Float32 => {
            format!("if(isNaN(`{name}`), 'NAN', toString(reinterpretAsUInt32(`{name}`)))")
        }
        ChType::Float64 => format!("toString(reinterpretAsUInt64(`{name}`))"),
        ChType::FixedString(_) => format!("hex(`{name}`)"),
        _ if name == "bytes" => format!("hex(`{name}`)"),
        // A 1000-byte string is compared by its length and content here.
        _ if name == "lc" => {
            format!("if(`{name}` = repeat('x', 1000), 'LC1000', toString(`{name}`))")
        }
        _ => format!("toString(`{name}`)"),
    }
}

fn chdb_python() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let cache = std::env::var_os("BATCHROW_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/batchrow-cache"));
    let python = cache.join("chdb-venv/bin/python");
    let ok = Command::new(&python)
        .args(["-c", "import chdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "chdb is not installed at {}: run `bash scripts/chdb.sh` first",
        python.display()
    );
    python
}

const SCRIPT: &str = r#"
import sys, chdb
path, structure, select = sys.argv[1:4]
q = f"SELECT {select} FROM file('{path}', RowBinary, '{structure}') FORMAT JSONCompactEachRow SETTINGS input_format_binary_read_json_as_string = 1, allow_experimental_json_type = 1"
sys.stdout.write(chdb.query(q).bytes().decode())
"#;

const NATIVE_SCRIPT: &str = r#"
import sys, chdb
path, select = sys.argv[1:3]
q = f"SELECT {select} FROM file('{path}', Native) FORMAT JSONCompactEachRow"
sys.stdout.write(chdb.query(q).bytes().decode())
"#;

#[test]
fn chdb_reads_back_every_value() {
    check(false);
}

#[test]
fn chdb_reads_back_every_value_from_a_native_block() {
    check(true);
}

/// Writes `buf` (rows of `columns` in RowBinary, or a Native block) to `file` under
/// `target/tmp` and has chdb print every value of it as text: its output, and each row's
/// values.
fn read_back(
    native: bool,
    file: &str,
    names: &[&str],
    columns: &[ChType],
    buf: &[u8],
) -> (String, Vec<Vec<Option<String>>>) {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(file);
    std::fs::write(&path, buf).unwrap();

    // The structure string is ClickHouse SQL inside a Python f-string's single quotes.
    let structure = names
        .iter()
        .zip(columns)
        .map(|(n, t)| format!("`{n}` {t}"))
        .collect::<Vec<_>>()
        .join(", ")
        .replace('\\', "\\\\")
        .replace('\'', "\\'");
    let select = names
        .iter()
        .zip(columns)
        .map(|(n, t)| select_expr(n, t))
        .collect::<Vec<_>>()
        .join(", ");
    let mut command = Command::new(chdb_python());
    if native {
        command.args(["-c", NATIVE_SCRIPT, path.to_str().unwrap(), &select]);
    } else {
        command.args(["-c", SCRIPT, path.to_str().unwrap(), &structure, &select]);
    }
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "chdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let got = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    (text, got)
}

fn check(native: bool) {
    let mut columns = RowBinary::resolve_offline(Schema::of::<Modern>()).unwrap();
    let rows = rows();
    let mut buf = Vec::new();
    assert_eq!(
        RowBinary::encode_rows(&rows, &columns, &mut buf).unwrap(),
        3
    );
    let names: Vec<&str> = Modern::COLUMNS.iter().map(|c| c.name).collect();
    let file = if native {
        // JSON values are strings in RowBinary.
        for t in &mut columns {
            if *t == ChType::Json {
                *t = ChType::String;
            }
        }
        let block = NativeBlock::new(names.iter().zip(&columns))
            .unwrap()
            .transcode(&[&buf[..]])
            .unwrap();
        buf = block;
        "batchrow_chdb_oracle.native"
    } else {
        "batchrow_chdb_oracle.rowbinary"
    };
    let (text, got) = read_back(native, file, &names, &columns, &buf);
    let want = expected();
    assert_eq!(got.len(), want.len(), "rows read back:\n{text}");
    let mut diffs = Vec::new();
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g.len(), names.len());
        assert_eq!(w.len(), names.len());
        for ((name, want), (got, col)) in w.iter().zip(g.iter().zip(&names)) {
            assert_eq!(name, col, "the expectations list the columns in order");
            if got.as_deref() != *want {
                diffs.push(format!(
                    "row {i} column {name}: chdb read {got:?}, expected {want:?}"
                ));
            }
        }
    }
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

/// `Int256` and `UInt256` (the 18.16 server has neither): the columns a server with
/// them resolves, checked by the field types' rules, then read back by chdb.
#[derive(BatchRow)]
#[batch(table = "wide")]
struct Wide {
    i: Int256,
    u: UInt256,
    ni: Option<Int256>,
    arr: Vec<UInt256>,
}

fn wide_rows() -> Vec<Wide> {
    let mut bytes = [0u8; 32];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::try_from(i * 7 + 1).unwrap();
    }
    vec![
        Wide {
            i: Int256::MIN,
            u: UInt256::MAX,
            ni: None,
            arr: vec![],
        },
        Wide {
            i: Int256::MAX,
            u: UInt256::MIN,
            ni: Some(Int256::from(-1i128)),
            arr: vec![UInt256::from(u128::MAX), UInt256::from_le_bytes(bytes)],
        },
        Wide {
            i: Int256::from(i128::MIN),
            u: UInt256::from(1u128 << 64),
            ni: Some(Int256::from_le_bytes(bytes)),
            arr: vec![UInt256::from(0u128)],
        },
    ]
}

/// What chdb prints for `wide_rows`, worked out by hand (Python's
/// `int.from_bytes(bytes, 'little', signed=...)` for the patterned bytes).
fn wide_expected() -> Vec<[&'static str; 4]> {
    vec![
        [
            "-57896044618658097711785492504343953926634992332820282019728792003956564819968",
            "115792089237316195423570985008687907853269984665640564039457584007913129639935",
            "NULL",
            "[]",
        ],
        [
            "57896044618658097711785492504343953926634992332820282019728792003956564819967",
            "0",
            "-1",
            "[340282366920938463463374607431768211455,\
             98978419009269451599051842518076124293860908230223751957019160198567250823169]",
        ],
        [
            "-170141183460469231731687303715884105728",
            "18446744073709551616",
            "-16813670228046743824519142490611783559409076435416812082438423809345878816767",
            "[0]",
        ],
    ]
}

#[test]
fn chdb_reads_back_int256_and_uint256() {
    let columns: Vec<ChType> = ["Int256", "UInt256", "Nullable(Int256)", "Array(UInt256)"]
        .iter()
        .map(|t| t.parse().unwrap())
        .collect();
    // The rule of each field type takes its column, and refuses the other width.
    check_columns::<Wide, RowBinary>("wide", &columns).unwrap();
    let err = check_columns::<Wide, RowBinary>(
        "wide",
        &[
            ChType::UInt256,
            ChType::Int256,
            ChType::Int256,
            ChType::String,
        ],
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the row type does not match table wide (4 columns):\n  \
         - column `i`: field type `Int256`, server type `UInt256`: this field type needs Int256\n  \
         - column `u`: field type `UInt256`, server type `Int256`: this field type needs UInt256\n  \
         - column `ni`: field type `Option<Int256>`, server type `Int256`: the field is an \
         `Option` but the column is not Nullable, so it cannot store NULL: make the column \
         Nullable(..) or the field not an `Option`\n  \
         - column `arr`: field type `Vec<UInt256>`, server type `String`: this field type needs \
         Array(UInt256)"
    );
    let rows = wide_rows();
    let names: Vec<&str> = Wide::COLUMNS.iter().map(|c| c.name).collect();
    for native in [false, true] {
        let mut buf = Vec::new();
        assert_eq!(
            RowBinary::encode_rows(&rows, &columns, &mut buf).unwrap(),
            3
        );
        let file = if native {
            buf = NativeBlock::new(names.iter().zip(&columns))
                .unwrap()
                .transcode(&[&buf[..]])
                .unwrap();
            "batchrow_chdb_wide.native"
        } else {
            "batchrow_chdb_wide.rowbinary"
        };
        let (text, got) = read_back(native, file, &names, &columns, &buf);
        let want: Vec<Vec<Option<String>>> = wide_expected()
            .iter()
            .map(|r| {
                r.iter()
                    .map(|v| (*v != "NULL").then(|| (*v).to_owned()))
                    .collect()
            })
            .collect();
        assert_eq!(got, want, "native: {native}, chdb printed:\n{text}");
    }
}
