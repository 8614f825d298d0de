//! Every Rust type the PostgreSQL sink writes, round-tripped through a real server:
//! inserted with binary COPY, read back with tokio-postgres `SELECT`, and compared value
//! by value, including edge values and NULLs.
//!
//! Needs PostgreSQL 15: `bash scripts/servers.sh` starts it; the URL comes from
//! `BATCHROW_POSTGRES_URL` (see `support/postgres.rs`). Each test uses its own tables.
//!
//! Values are compared through their `Debug` text, which is exact (it tells `-0.0` from
//! `0.0`, prints `NaN`, and keeps a `Decimal`'s scale) and, unlike `==`, treats NaN as
//! equal to itself.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use batchrow_test_support::postgres as pg;

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use batchrow::{BatchEnum, BatchRow};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use tokio_postgres::Row;
use uuid::Uuid;

#[derive(BatchEnum, Debug, Clone, Copy, PartialEq)]
enum Mood {
    #[batch(rename = "sad")]
    Sad,
    #[batch(rename = "ok")]
    Fine,
    #[batch(rename = "very happy")]
    VeryHappy,
    #[batch(rename = "😀")]
    Grin,
}

impl Mood {
    fn from_label(label: &str) -> Mood {
        match label {
            "sad" => Mood::Sad,
            "ok" => Mood::Fine,
            "very happy" => Mood::VeryHappy,
            "😀" => Mood::Grin,
            other => panic!("unknown label {other:?}"),
        }
    }
}

async fn create_mood(c: &tokio_postgres::Client) -> String {
    let mood = pg::unique("mood");
    c.batch_execute(&format!(
        "CREATE TYPE {mood} AS ENUM ('sad', 'ok', 'very happy', '😀', 'unused')"
    ))
    .await
    .unwrap();
    mood
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// The earliest date and timestamp PostgreSQL stores: 4714-11-24 BC (year -4713).
fn pg_min_date() -> NaiveDate {
    date(-4713, 11, 24)
}

fn max_timestamp() -> NaiveDateTime {
    NaiveDate::MAX
        .and_hms_micro_opt(23, 59, 59, 999_999)
        .unwrap()
}

/// Asserts that every row reads back as written, naming each differing line.
fn assert_same<T: std::fmt::Debug>(read: &[T], written: &[T]) {
    assert_eq!(read.len(), written.len(), "row count");
    let mut diffs = Vec::new();
    for (i, (r, w)) in read.iter().zip(written).enumerate() {
        let (r, w) = (format!("{r:#?}"), format!("{w:#?}"));
        let short = |s: &str| s.chars().take(120).collect::<String>();
        for (lr, lw) in r.lines().zip(w.lines()) {
            if lr != lw {
                diffs.push(format!("row {i}: read {} / wrote {}", short(lr), short(lw)));
            }
        }
        if r.lines().count() != w.lines().count() {
            diffs.push(format!("row {i}: different shapes"));
        }
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

// ---------------------------------------------------------------------------------------
// Scalars, with NULLs in a second struct over the same table.

#[derive(BatchRow, Debug, Clone)]
struct Scalars {
    id: i32,
    i2: i16,
    i4: i32,
    i8: i64,
    f4: f32,
    f8: f64,
    b: bool,
    t: String,
    vc: String,
    ct: String,
    nm: String,
    by: Vec<u8>,
    fb: [u8; 4],
    u: Uuid,
    d: NaiveDate,
    ts: NaiveDateTime,
    tstz: DateTime<Utc>,
    n: Decimal,
    j: Value,
    jb: Value,
    js: String,
    jbs: String,
    ip: IpAddr,
    ip4: Ipv4Addr,
    ip6: Ipv6Addr,
    mood: Mood,
    mood_s: String,
    mood_t: Mood,
}

#[derive(BatchRow, Debug, Clone)]
struct Nullables {
    id: i32,
    i2: Option<i16>,
    i4: Option<i32>,
    i8: Option<i64>,
    f4: Option<f32>,
    f8: Option<f64>,
    b: Option<bool>,
    t: Option<String>,
    vc: Option<String>,
    ct: Option<String>,
    nm: Option<String>,
    by: Option<Vec<u8>>,
    fb: Option<[u8; 4]>,
    u: Option<Uuid>,
    d: Option<NaiveDate>,
    ts: Option<NaiveDateTime>,
    tstz: Option<DateTime<Utc>>,
    n: Option<Decimal>,
    j: Option<Value>,
    jb: Option<Value>,
    js: Option<String>,
    jbs: Option<String>,
    ip: Option<IpAddr>,
    ip4: Option<Ipv4Addr>,
    ip6: Option<Ipv6Addr>,
    mood: Option<Mood>,
    mood_s: Option<String>,
    mood_t: Option<Mood>,
}

const SCALAR_SELECT: &str = "SELECT id, i2, i4, i8, f4, f8, b, t, vc, ct::text, nm::text, by, fb, \
    u, d, ts, tstz, n::text, j, jb, js::text, jbs, ip, ip4, ip6::inet, mood::text, \
    mood_s::text, mood_t";

fn v4(ip: IpAddr) -> Ipv4Addr {
    match ip {
        IpAddr::V4(ip) => ip,
        IpAddr::V6(ip) => panic!("expected IPv4, read {ip}"),
    }
}

fn v6(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V6(ip) => ip,
        IpAddr::V4(ip) => panic!("expected IPv6, read {ip}"),
    }
}

fn read_nullables(r: &Row) -> Nullables {
    Nullables {
        id: r.get("id"),
        i2: r.get("i2"),
        i4: r.get("i4"),
        i8: r.get("i8"),
        f4: r.get("f4"),
        f8: r.get("f8"),
        b: r.get("b"),
        t: r.get("t"),
        vc: r.get("vc"),
        ct: r.get("ct"),
        nm: r.get("nm"),
        by: r.get("by"),
        fb: r
            .get::<_, Option<Vec<u8>>>("fb")
            .map(|v| v.try_into().unwrap()),
        u: r.get("u"),
        d: r.get("d"),
        ts: r.get("ts"),
        tstz: r.get("tstz"),
        n: r.get::<_, Option<&str>>("n").map(dec),
        j: r.get("j"),
        jb: r.get("jb"),
        js: r.get("js"),
        // jsonb normalizes the text: compare the parsed documents.
        jbs: r.get::<_, Option<Value>>("jbs").map(|v| v.to_string()),
        ip: r.get("ip"),
        ip4: r.get::<_, Option<IpAddr>>("ip4").map(v4),
        ip6: r.get::<_, Option<IpAddr>>("ip6").map(v6),
        mood: r.get::<_, Option<&str>>("mood").map(Mood::from_label),
        mood_s: r.get("mood_s"),
        mood_t: r.get::<_, Option<&str>>("mood_t").map(Mood::from_label),
    }
}

fn as_nullables(s: &Scalars) -> Nullables {
    Nullables {
        id: s.id,
        i2: Some(s.i2),
        i4: Some(s.i4),
        i8: Some(s.i8),
        f4: Some(s.f4),
        f8: Some(s.f8),
        b: Some(s.b),
        t: Some(s.t.clone()),
        vc: Some(s.vc.clone()),
        ct: Some(s.ct.clone()),
        nm: Some(s.nm.clone()),
        by: Some(s.by.clone()),
        fb: Some(s.fb),
        u: Some(s.u),
        d: Some(s.d),
        ts: Some(s.ts),
        tstz: Some(s.tstz),
        n: Some(s.n),
        j: Some(s.j.clone()),
        jb: Some(s.jb.clone()),
        js: Some(s.js.clone()),
        jbs: Some(s.jbs.clone()),
        ip: Some(s.ip),
        ip4: Some(s.ip4),
        ip6: Some(s.ip6),
        mood: Some(s.mood),
        mood_s: Some(s.mood_s.clone()),
        mood_t: Some(s.mood_t),
    }
}

fn scalar_rows() -> Vec<Scalars> {
    let all_bytes: Vec<u8> = (0..=255).collect();
    vec![
        // Minimums.
        Scalars {
            id: 1,
            i2: i16::MIN,
            i4: i32::MIN,
            i8: i64::MIN,
            f4: f32::MIN,
            f8: f64::MIN,
            b: false,
            t: String::new(),
            vc: String::new(),
            ct: String::new(),
            nm: String::new(),
            by: Vec::new(),
            fb: [0; 4],
            u: Uuid::nil(),
            d: pg_min_date(),
            ts: pg_min_date().and_hms_opt(0, 0, 0).unwrap(),
            tstz: pg_min_date().and_hms_opt(0, 0, 0).unwrap().and_utc(),
            n: Decimal::MIN,
            j: json!({}),
            jb: json!([]),
            js: "[]".into(),
            jbs: "{}".into(),
            ip: Ipv4Addr::UNSPECIFIED.into(),
            ip4: Ipv4Addr::UNSPECIFIED,
            ip6: Ipv6Addr::UNSPECIFIED,
            mood: Mood::Sad,
            mood_s: "sad".into(),
            mood_t: Mood::Sad,
        },
        // Maximums.
        Scalars {
            id: 2,
            i2: i16::MAX,
            i4: i32::MAX,
            i8: i64::MAX,
            f4: f32::MAX,
            f8: f64::MAX,
            b: true,
            t: "x".repeat(100_000),
            vc: "ä".repeat(12),
            ct: "MiXeD CaSe".into(),
            nm: "n".repeat(63),
            by: all_bytes,
            fb: [0xff; 4],
            u: Uuid::max(),
            d: NaiveDate::MAX,
            ts: max_timestamp(),
            tstz: max_timestamp().and_utc(),
            n: Decimal::MAX,
            j: json!({"big": u64::MAX, "neg": i64::MIN, "f": 1.5e300, "nested": {"a": [1, [2, {}]]}}),
            jb: json!({"big": u64::MAX, "neg": i64::MIN, "f": -2.5e-300, "s": "✓ \"q\" \\ \n"}),
            js: r#"{"b": 1,   "a": [true, null]}"#.into(),
            jbs: r#"{"b": 1,   "a": [true, null]}"#.into(),
            ip: Ipv6Addr::new(
                0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff,
            )
            .into(),
            ip4: Ipv4Addr::BROADCAST,
            ip6: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x1),
            mood: Mood::Grin,
            mood_s: "😀".into(),
            mood_t: Mood::Grin,
        },
        // Special values: NaN, infinities, -0.0, non-ASCII, smallest steps.
        Scalars {
            id: 3,
            i2: 0,
            i4: -1,
            i8: 1,
            f4: f32::NAN,
            f8: f64::NEG_INFINITY,
            b: true,
            t: "héllo wörld ✓ 日本語 🎉 \t\n\\ 'quote' \"dq\"".into(),
            vc: "short".into(),
            ct: "ÄÖÜ".into(),
            nm: "ünïcode".into(),
            by: vec![0],
            fb: *b"\0\x01\x7f\x80",
            u: Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
            d: date(1999, 12, 31),
            ts: date(1969, 12, 31)
                .and_hms_micro_opt(23, 59, 59, 999_999)
                .unwrap(),
            tstz: date(2000, 1, 1)
                .and_hms_micro_opt(0, 0, 0, 1)
                .unwrap()
                .and_utc(),
            n: dec("0.0000000000000000000000000001"),
            j: Value::Null,
            jb: json!("just a string"),
            js: "null".into(),
            jbs: "[1, 2.50, -3]".into(),
            ip: "::ffff:1.2.3.4".parse().unwrap(),
            ip4: Ipv4Addr::LOCALHOST,
            ip6: Ipv6Addr::LOCALHOST,
            mood: Mood::VeryHappy,
            mood_s: "very happy".into(),
            mood_t: Mood::VeryHappy,
        },
        Scalars {
            id: 4,
            i2: -1,
            i4: 0,
            i8: -1,
            f4: f32::NEG_INFINITY,
            f8: -0.0,
            b: false,
            t: "\u{10ffff}".into(),
            vc: "ok".into(),
            ct: "x".into(),
            nm: "y".into(),
            by: vec![1, 2, 3],
            fb: [1, 2, 3, 4],
            u: Uuid::from_u128(1),
            d: date(2024, 2, 29),
            ts: date(2024, 2, 29)
                .and_hms_micro_opt(12, 34, 56, 789_012)
                .unwrap(),
            tstz: date(1900, 1, 1)
                .and_hms_micro_opt(0, 0, 0, 0)
                .unwrap()
                .and_utc(),
            n: dec("-7.9228162514264337593543950335"),
            j: json!([1, "two", 3.25, false]),
            jb: json!({"ü": "ß", "empty": {}, "arr": []}),
            js: "  {\"ws\" : true}  ".into(),
            jbs: "\"s\"".into(),
            ip: Ipv4Addr::new(192, 168, 1, 1).into(),
            ip4: Ipv4Addr::new(10, 0, 0, 255),
            ip6: "fe80::1:2:3:4".parse().unwrap(),
            mood: Mood::Fine,
            mood_s: "ok".into(),
            mood_t: Mood::Fine,
        },
        Scalars {
            id: 5,
            i2: 1,
            i4: 1,
            i8: 0,
            f4: -0.0,
            f8: f64::NAN,
            b: true,
            t: " ".into(),
            vc: "            ".into(),
            ct: "c".into(),
            nm: "n".into(),
            by: vec![0xff; 1000],
            fb: [9; 4],
            u: Uuid::from_u128(u128::MAX - 1),
            d: date(1, 1, 1),
            ts: date(1, 1, 1).and_hms_opt(0, 0, 0).unwrap(),
            tstz: date(9999, 12, 31)
                .and_hms_micro_opt(23, 59, 59, 999_999)
                .unwrap()
                .and_utc(),
            n: dec("123456789012345678.0000000001"),
            j: json!(true),
            jb: json!(0),
            js: "1".into(),
            jbs: "{\"a\": {\"b\": {\"c\": [[], {}]}}}".into(),
            ip: "2001:db8::ff00:42:8329".parse().unwrap(),
            ip4: Ipv4Addr::new(1, 2, 3, 4),
            ip6: "::".parse().unwrap(),
            mood: Mood::Sad,
            mood_s: "unused".into(),
            mood_t: Mood::VeryHappy,
        },
    ]
}

async fn scalar_table(c: &tokio_postgres::Client) -> String {
    let mood = create_mood(c).await;
    c.batch_execute("CREATE EXTENSION IF NOT EXISTS citext")
        .await
        .ok(); // concurrent creation in other tests may race; the table creation checks it
    let table = pg::unique("scalars");
    c.batch_execute(&format!(
        "CREATE TABLE {table} (id int4 PRIMARY KEY, i2 int2, i4 int4, i8 int8, f4 float4, \
         f8 float8, b bool, t text, vc varchar(12), ct citext, nm name, by bytea, fb bytea, \
         u uuid, d date, ts timestamp, tstz timestamptz, n numeric, j json, jb jsonb, \
         js json, jbs jsonb, ip inet, ip4 inet, ip6 cidr, mood {mood}, mood_s {mood}, \
         mood_t text)"
    ))
    .await
    .unwrap();
    table
}

#[tokio::test(flavor = "multi_thread")]
async fn scalars_and_nulls_round_trip() {
    let c = pg::client().await;
    let table = scalar_table(&c).await;
    let rows = scalar_rows();
    pg::insert_all(&table, rows.clone()).await;
    let nulls = vec![
        Nullables {
            id: 100,
            i2: None,
            i4: None,
            i8: None,
            f4: None,
            f8: None,
            b: None,
            t: None,
            vc: None,
            ct: None,
            nm: None,
            by: None,
            fb: None,
            u: None,
            d: None,
            ts: None,
            tstz: None,
            n: None,
            j: None,
            jb: None,
            js: None,
            jbs: None,
            ip: None,
            ip4: None,
            ip6: None,
            mood: None,
            mood_s: None,
            mood_t: None,
        },
        as_nullables(&rows[3]),
    ];
    let nulls: Vec<Nullables> = nulls
        .into_iter()
        .enumerate()
        .map(|(i, mut n)| {
            n.id = 100 + i32::try_from(i).unwrap();
            n
        })
        .collect();
    pg::insert_all(&table, nulls.clone()).await;

    let read: Vec<Nullables> = c
        .query(&format!("{SCALAR_SELECT} FROM {table} ORDER BY id"), &[])
        .await
        .unwrap()
        .iter()
        .map(read_nullables)
        .collect();
    let mut expected: Vec<Nullables> = rows.iter().map(as_nullables).collect();
    // What the server does to some values, by design:
    for e in &mut expected {
        // jsonb stores a parsed document (whitespace, key order, number text normalized).
        e.jbs = e
            .jbs
            .as_deref()
            .map(|s| serde_json::from_str::<Value>(s).unwrap().to_string());
    }
    expected[4].vc = Some(String::new() + "            "); // 12 spaces fit varchar(12)
    expected.extend(nulls.iter().map(|n| {
        let mut n = n.clone();
        n.jbs = n
            .jbs
            .as_deref()
            .map(|s| serde_json::from_str::<Value>(s).unwrap().to_string());
        n
    }));
    assert_same(&read, &expected);

    // Independent of the Rust decoders: the server's own text for a few values.
    let text: Vec<String> = c
        .query_one(
            &format!(
                "SELECT ARRAY[i2::text, i4::text, i8::text, f4::text, f8::text, d::text, \
                 ts::text, n::text, ip::text, ip6::text, encode(fb, 'hex')] \
                 FROM {table} WHERE id = 1"
            ),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        text,
        [
            "-32768",
            "-2147483648",
            "-9223372036854775808",
            "-3.4028235e+38",
            "-1.7976931348623157e+308",
            "4714-11-24 BC",
            "4714-11-24 00:00:00 BC",
            "-79228162514264337593543950335",
            "0.0.0.0/32",
            "::/128",
            "00000000",
        ]
    );
}

// ---------------------------------------------------------------------------------------
// One-dimensional arrays of each type, with NULL elements and empty arrays.

#[derive(BatchRow, Debug, Clone)]
struct Arrays {
    id: i32,
    i2: Vec<i16>,
    i4: Vec<Option<i32>>,
    i8: Vec<i64>,
    f4: Vec<f32>,
    f8: Vec<Option<f64>>,
    b: Vec<bool>,
    t: Vec<Option<String>>,
    vc: Vec<String>,
    by: Vec<Vec<u8>>,
    u: Vec<Uuid>,
    d: Vec<NaiveDate>,
    ts: Vec<NaiveDateTime>,
    tstz: Vec<Option<DateTime<Utc>>>,
    n: Vec<Decimal>,
    j: Vec<Value>,
    jb: Vec<Option<Value>>,
    ip: Vec<IpAddr>,
    mood: Vec<Mood>,
    mood_opt: Option<Vec<Option<Mood>>>,
}

fn array_rows() -> Vec<Arrays> {
    vec![
        Arrays {
            id: 1,
            i2: vec![i16::MIN, 0, i16::MAX],
            i4: vec![Some(i32::MIN), None, Some(i32::MAX)],
            i8: vec![i64::MIN, i64::MAX],
            f4: vec![f32::NAN, f32::INFINITY, -0.0, 1.5],
            f8: vec![None, Some(f64::MIN_POSITIVE), Some(f64::NEG_INFINITY)],
            b: vec![true, false],
            t: vec![Some(String::new()), None, Some("ünï ✓ \"{,}\" \\".into())],
            vc: vec!["ä".repeat(5), String::new()],
            by: vec![vec![], vec![0, 255], (0..=255).collect()],
            u: vec![Uuid::nil(), Uuid::max()],
            d: vec![pg_min_date(), NaiveDate::MAX, date(2000, 1, 1)],
            ts: vec![pg_min_date().and_hms_opt(0, 0, 0).unwrap(), max_timestamp()],
            tstz: vec![None, Some(max_timestamp().and_utc())],
            n: vec![
                Decimal::MIN,
                Decimal::MAX,
                dec("0.0000000000000000000000000001"),
                Decimal::ZERO,
            ],
            j: vec![json!({"a": 1}), Value::Null, json!([])],
            jb: vec![Some(json!({"k": [1, 2]})), None, Some(json!("s"))],
            ip: vec![Ipv4Addr::BROADCAST.into(), Ipv6Addr::LOCALHOST.into()],
            mood: vec![Mood::Sad, Mood::Grin, Mood::VeryHappy, Mood::Fine],
            mood_opt: Some(vec![None, Some(Mood::Grin)]),
        },
        // Every array empty.
        Arrays {
            id: 2,
            i2: vec![],
            i4: vec![],
            i8: vec![],
            f4: vec![],
            f8: vec![],
            b: vec![],
            t: vec![],
            vc: vec![],
            by: vec![],
            u: vec![],
            d: vec![],
            ts: vec![],
            tstz: vec![],
            n: vec![],
            j: vec![],
            jb: vec![],
            ip: vec![],
            mood: vec![],
            mood_opt: None,
        },
        // Only NULL elements.
        Arrays {
            id: 3,
            i2: vec![7],
            i4: vec![None, None],
            i8: vec![0],
            f4: vec![0.1],
            f8: vec![None],
            b: vec![false],
            t: vec![None],
            vc: vec!["x".into()],
            by: vec![vec![1]],
            u: vec![Uuid::from_u128(42)],
            d: vec![date(1970, 1, 1)],
            ts: vec![date(1970, 1, 1).and_hms_opt(0, 0, 0).unwrap()],
            tstz: vec![None, None, None],
            n: vec![dec("-1.50")],
            j: vec![json!(1)],
            jb: vec![None],
            ip: vec!["::ffff:10.0.0.1".parse().unwrap()],
            mood: vec![Mood::Sad, Mood::Sad],
            mood_opt: Some(vec![None]),
        },
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn arrays_round_trip() {
    let c = pg::client().await;
    let mood = create_mood(&c).await;
    let table = pg::unique("arrays");
    c.batch_execute(&format!(
        "CREATE TABLE {table} (id int4 PRIMARY KEY, i2 int2[], i4 int4[], i8 int8[], \
         f4 float4[], f8 float8[], b bool[], t text[], vc varchar(5)[], by bytea[], \
         u uuid[], d date[], ts timestamp[], tstz timestamptz[], n numeric[], j json[], \
         jb jsonb[], ip inet[], mood {mood}[], mood_opt {mood}[])"
    ))
    .await
    .unwrap();
    let rows = array_rows();
    pg::insert_all(&table, rows.clone()).await;

    let read: Vec<Arrays> = c
        .query(
            &format!(
                "SELECT id, i2, i4, i8, f4, f8, b, t, vc, by, u, d, ts, tstz, n::text[], j, jb, \
                 ip, mood::text[], mood_opt::text[], array_ndims(i2) AS ndims \
                 FROM {table} ORDER BY id"
            ),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| Arrays {
            id: r.get("id"),
            i2: r.get("i2"),
            i4: r.get("i4"),
            i8: r.get("i8"),
            f4: r.get("f4"),
            f8: r.get("f8"),
            b: r.get("b"),
            t: r.get("t"),
            vc: r.get("vc"),
            by: r.get("by"),
            u: r.get("u"),
            d: r.get("d"),
            ts: r.get("ts"),
            tstz: r.get("tstz"),
            n: r.get::<_, Vec<&str>>("n").into_iter().map(dec).collect(),
            j: r.get("j"),
            jb: r.get("jb"),
            ip: r.get("ip"),
            mood: r
                .get::<_, Vec<&str>>("mood")
                .into_iter()
                .map(Mood::from_label)
                .collect(),
            mood_opt: r
                .get::<_, Option<Vec<Option<&str>>>>("mood_opt")
                .map(|v| v.into_iter().map(|l| l.map(Mood::from_label)).collect()),
        })
        .collect();
    assert_same(&read, &rows);

    // Arrays are one-dimensional with lower bound 1; the empty array is `{}`, not NULL.
    let shape: Vec<(Option<i32>, Option<i32>, String)> = c
        .query(
            &format!(
                "SELECT array_ndims(i4), array_lower(i4, 1), i4::text FROM {table} ORDER BY id"
            ),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        shape,
        [
            (Some(1), Some(1), "{-2147483648,NULL,2147483647}".to_owned()),
            (None, None, "{}".to_owned()),
            (Some(1), Some(1), "{NULL,NULL}".to_owned()),
        ]
    );
}

// ---------------------------------------------------------------------------------------
// Type modifiers, domains, borrowed fields and the `time` crate.

#[derive(BatchRow, Debug)]
struct Modified<'a> {
    id: i32,
    vc3: &'a str,
    bc5: Cow<'a, str>,
    n52: Decimal,
    n25: Decimal,
    nneg: Decimal,
    big: Decimal,
    pos: i32,
    pos_arr: &'a [i32],
    short: String,
    raw: &'a [u8],
    ints: &'a [i64],
}

#[tokio::test(flavor = "multi_thread")]
async fn modifiers_domains_and_borrowed_fields() {
    let c = pg::client().await;
    let posint = pg::unique("posint");
    let short = pg::unique("short");
    let table = pg::unique("modified");
    c.batch_execute(&format!(
        "CREATE DOMAIN {posint} AS int4 CHECK (VALUE > 0); \
         CREATE DOMAIN {short} AS varchar(4); \
         CREATE TABLE {table} (id int4, vc3 varchar(3), bc5 character(5), n52 numeric(5, 2), \
         n25 numeric(2, 5), nneg numeric(5, -2), big numeric(60, 30), pos {posint}, \
         pos_arr {posint}[], short {short}, raw bytea, ints int8[])"
    ))
    .await
    .unwrap();
    let text = String::from("äöü");
    let bytes = vec![1u8, 2, 3];
    let pos = [1, 2, 2_147_483_647];
    let ints = [i64::MIN, 0];
    let rows = [
        Modified {
            id: 1,
            vc3: &text,
            bc5: Cow::Borrowed("ab"),
            n52: dec("1.005"),
            n25: dec("0.00099"),
            nneg: dec("12345.6"),
            big: dec("-7.9228162514264337593543950335"),
            pos: 5,
            pos_arr: &pos,
            short: "abcd".into(),
            raw: &bytes,
            ints: &ints,
        },
        Modified {
            id: 2,
            vc3: "ab      ", // spaces beyond 3 characters are cut, as INSERT does
            bc5: Cow::Owned("😀😀😀😀😀".into()),
            n52: dec("-999.994"),
            n25: dec("-0.000005"),
            nneg: dec("-149.99"),
            big: Decimal::MAX,
            pos: i32::MAX,
            pos_arr: &[],
            short: "ü".into(),
            raw: &[],
            ints: &[],
        },
    ];
    pg::insert_all(&table, Vec::from(rows)).await;
    let read: Vec<Vec<Option<String>>> = c
        .query(
            &format!(
                "SELECT ARRAY[vc3, bc5::text || '|', n52::text, n25::text, nneg::text, big::text, \
                 pos::text, pos_arr::text, short::text, encode(raw, 'hex'), ints::text] \
                 FROM {table} ORDER BY id"
            ),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        read,
        [
            vec![
                s("äöü"),
                s("ab|"),  // character(n) pads, ::text removes the padding
                s("1.01"), // rounded half away from zero, as the server rounds
                s("0.00099"),
                s("12300"), // negative scale: rounded to hundreds by the server
                s("-7.922816251426433759354395033500"),
                s("5"),
                s("{1,2,2147483647}"),
                s("abcd"),
                s("010203"),
                s("{-9223372036854775808,0}"),
            ],
            vec![
                s("ab "),
                s("😀😀😀😀😀|"),
                s("-999.99"),
                s("-0.00001"),
                s("-100"),
                s("79228162514264337593543950335.000000000000000000000000000000"),
                s("2147483647"),
                s("{}"),
                s("ü"),
                s(""),
                s("{}"),
            ],
        ]
    );
}

#[derive(BatchRow, Debug, Clone)]
struct TimeTypes {
    id: i32,
    d: time::Date,
    ts: time::PrimitiveDateTime,
    tstz: time::OffsetDateTime,
    ds: Vec<Option<time::Date>>,
}

#[tokio::test(flavor = "multi_thread")]
async fn time_crate_round_trip() {
    use time::{Date, Month, PrimitiveDateTime, Time, UtcOffset};
    let date =
        |y: i32, m: u8, d: u8| Date::from_calendar_date(y, Month::try_from(m).unwrap(), d).unwrap();
    let datetime = |d: Date, h: u8, mi: u8, s: u8, us: u32| {
        PrimitiveDateTime::new(d, Time::from_hms_micro(h, mi, s, us).unwrap())
    };
    let c = pg::client().await;
    let table = pg::unique("time_types");
    c.batch_execute(&format!(
        "CREATE TABLE {table} (id int4, d date, ts timestamp, tstz timestamptz, ds date[])"
    ))
    .await
    .unwrap();
    let rows = vec![
        TimeTypes {
            id: 1,
            d: time::Date::MAX,
            ts: datetime(date(9999, 12, 31), 23, 59, 59, 999_999),
            tstz: datetime(date(2024, 2, 29), 13, 14, 15, 161_718)
                .assume_offset(UtcOffset::from_hms(2, 0, 0).unwrap()),
            ds: vec![Some(date(2000, 1, 1)), None],
        },
        TimeTypes {
            id: 2,
            d: date(-4713, 11, 24),
            ts: datetime(date(-4713, 11, 24), 0, 0, 0, 0),
            tstz: datetime(date(1970, 1, 1), 0, 0, 0, 0).assume_utc(),
            ds: vec![],
        },
    ];
    pg::insert_all(&table, rows.clone()).await;
    let read: Vec<TimeTypes> = c
        .query(
            &format!("SELECT id, d, ts, tstz, ds FROM {table} ORDER BY id"),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| TimeTypes {
            id: r.get(0),
            d: r.get(1),
            ts: r.get(2),
            tstz: r.get(3),
            ds: r.get(4),
        })
        .collect();
    // The same instants; the server returns timestamptz in UTC.
    let mut expected = rows.clone();
    for e in &mut expected {
        e.tstz = e.tstz.to_offset(UtcOffset::UTC);
    }
    assert_same(&read, &expected);
}
