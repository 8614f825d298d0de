//! `batchrow-codegen` against the real servers: a table with every type batchrow writes
//! (that the server has) plus columns it cannot write, the generated struct compared
//! with the checked-in file `tests/codegen/*.rs`, which this test compiles; a row
//! round-tripped through the generated struct and read back value by value; and
//! `--create`: the printed `CREATE TABLE` makes a table the generated struct passes the
//! schema check of.
//!
//! After a deliberate change to the generated code, regenerate the checked-in files
//! with `BATCHROW_CODEGEN_OVERWRITE=1 cargo test --all-features --test codegen` and
//! review the diff.
//!
//! Needs PostgreSQL 15 and ClickHouse 18.16: `bash scripts/servers.sh` starts them; the
//! URLs come from `BATCHROW_POSTGRES_URL` and `BATCHROW_CLICKHOUSE_URL`. The tests use
//! the ClickHouse database `batchrow_codegen` and the PostgreSQL schema
//! `batchrow_codegen`, dropped and created on each run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use batchrow_test_support::clickhouse as ch;
use batchrow_test_support::postgres as pg;

// The generated files, compiled as they are (their items are `pub`, as users get them;
// not every enum variant is used).
#[allow(unreachable_pub, dead_code)]
#[path = "codegen/clickhouse_all_types.rs"]
mod ch_row;
#[allow(unreachable_pub, dead_code)]
#[path = "codegen/postgres_all_types.rs"]
mod pg_row;

use std::process::Command;
use std::str::FromStr;

use batchrow::clickhouse::ClickHouseSink;
use batchrow::postgres::PostgresSink;
use batchrow::Batcher;
use chrono::{NaiveDate, TimeZone, Utc};

/// Runs the binary; its standard output.
fn codegen(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_batchrow-codegen"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "batchrow-codegen {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Compares the generated code with the checked-in file (or rewrites the file).
fn matches_checked_in(generated: &str, file: &str) {
    let path = format!("{}/tests/codegen/{file}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("BATCHROW_CODEGEN_OVERWRITE").is_some() {
        std::fs::write(&path, generated).unwrap();
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap();
    assert!(
        generated == checked_in,
        "the generated struct differs from {path}; if that is intended, run \
         BATCHROW_CODEGEN_OVERWRITE=1 cargo test --all-features --test codegen\n\
         --- generated ---\n{generated}"
    );
}

fn ch_value() -> ch_row::Row {
    use ch_row::{Row, RowBigEnum, RowLevel};
    Row {
        id: 1,
        i8: -8,
        i16: -16,
        i32: -32,
        i64: -64,
        u8: 8,
        u16: 16,
        u32: 32,
        f32: 1.5,
        f64: -2.25,
        s: "text \t with a tab".into(),
        fixed: "abcd".into(),
        lc: "low".into(),
        d: NaiveDate::from_ymd_opt(2026, 1, 2).unwrap(),
        dt: Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
        dt_utc: Utc.with_ymd_and_hms(2001, 2, 3, 4, 5, 6).unwrap(),
        dec: rust_decimal::Decimal::from_str("-12.3456").unwrap(),
        uuid: uuid::Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
        level: RowLevel::Debug,
        big_enum: RowBigEnum::B,
        maybe: Some(7),
        maybe_s: None,
        tags: vec!["x".into(), "y".into()],
        matrix: vec![vec![1, 2], vec![3]],
        opt_arr: vec![Some(0.5), None],
        weird_name: "w".into(),
        r#type: "t".into(),
    }
}

/// The row as ClickHouse 18.16 prints it in TSV (`dt` as a Unix time, to be independent
/// of the server's time zone).
const CH_TSV: &str =
    "1\t-8\t-16\t-32\t-64\t8\t16\t32\t1.5\t-2.25\ttext \\t with a tab\tabcd\tlow\t\
    2026-01-02\t1767323045\t2001-02-03 04:05:06\t-12.3456\t01234567-89ab-cdef-0123-456789abcdef\t\
    debug\tb\t7\t\\N\t['x','y']\t[[1,2],[3]]\t[0.5,NULL]\tw\tt\n";
const CH_SELECT: &str = "SELECT id, i8, i16, i32, i64, u8, u16, u32, f32, f64, s, fixed, lc, d, \
    toUnixTimestamp(dt), dt_utc, dec, uuid, level, big_enum, maybe, maybe_s, tags, matrix, \
    opt_arr, `Weird Name`, `type`";

#[tokio::test]
async fn clickhouse_table_to_struct_and_back() {
    let db = "batchrow_codegen";
    let client = ch::fresh_database(db)
        .await
        .with_setting("allow_experimental_low_cardinality_type", "1");
    ch::exec(
        &client,
        "CREATE TABLE all_types (id UInt64, i8 Int8, i16 Int16, i32 Int32, i64 Int64, \
         u8 UInt8, u16 UInt16, u32 UInt32, f32 Float32, f64 Float64, s String, \
         fixed FixedString(4), lc LowCardinality(String), d Date, dt DateTime, \
         dt_utc DateTime('UTC'), dec Decimal(18, 4), uuid UUID, \
         level Enum8('debug' = -1, 'info' = 1, 'warn' = 2), \
         big_enum Enum16('a' = 1000, 'b' = 2000), maybe Nullable(Int32), \
         maybe_s Nullable(String), tags Array(String), matrix Array(Array(Int32)), \
         opt_arr Array(Nullable(Float64)), `Weird Name` String, `type` String, \
         tup Tuple(UInt8, String) DEFAULT (0, ''), doubled UInt64 MATERIALIZED id * 2) \
         ENGINE = MergeTree ORDER BY id",
    )
    .await;
    let url = ch::url();
    let generated = codegen(&[
        "clickhouse",
        "--url",
        &url,
        "--table",
        &format!("{db}.all_types"),
        "--struct",
        "Row",
    ]);
    matches_checked_in(&generated, "clickhouse_all_types.rs");

    let h = Batcher::builder(ClickHouseSink::new(client.clone()))
        .spawn::<ch_row::Row>()
        .await
        .unwrap();
    h.insert(ch_value()).await.unwrap();
    assert_eq!(h.close().await.unwrap().committed.rows, 1);
    let got = ch::tsv(&client, &format!("{CH_SELECT} FROM all_types")).await;
    assert_eq!(got, CH_TSV);

    // --create: the same table again, from the struct.
    let create = codegen(&[
        "clickhouse",
        "--url",
        &url,
        "--table",
        &format!("{db}.all_types"),
        "--struct",
        "Row",
        "--create",
        "clickhouse",
        "--engine",
        "MergeTree ORDER BY id",
    ]);
    let sql = create
        .split("/*\n")
        .nth(1)
        .and_then(|s| s.split(";\n*/").next())
        .unwrap();
    assert!(
        sql.starts_with("CREATE TABLE `all_types` (\n    `id` UInt64,"),
        "{sql}"
    );
    ch::exec(&client, &sql.replace("`all_types`", "`all_types_again`")).await;
    let h = Batcher::builder(ClickHouseSink::new(client.clone()).table("all_types_again"))
        .spawn::<ch_row::Row>()
        .await
        .unwrap();
    h.insert(ch_value()).await.unwrap();
    h.close().await.unwrap();
    let again = ch::tsv(&client, &format!("{CH_SELECT} FROM all_types_again")).await;
    assert_eq!(again, CH_TSV);
}

fn pg_value() -> pg_row::Row {
    use pg_row::{Mood, Row};
    Row {
        id: 1,
        small: -2,
        int: 3,
        real: 0.25,
        dbl: -1e300,
        flag: true,
        txt: "tab\there".into(),
        vc: "varchar".into(),
        ch: "abc".into(),
        nm: "a_name".into(),
        bytes: vec![0, 1, 255],
        uid: uuid::Uuid::from_u128(42),
        day: NaiveDate::from_ymd_opt(1999, 12, 31).unwrap(),
        at: NaiveDate::from_ymd_opt(2026, 5, 6)
            .unwrap()
            .and_hms_micro_opt(7, 8, 9, 123_456)
            .unwrap(),
        at_tz: Utc.with_ymd_and_hms(2026, 5, 6, 7, 8, 9).unwrap(),
        amount: rust_decimal::Decimal::from_str("-1234567890.12").unwrap(),
        any_num: rust_decimal::Decimal::from_str("3.14159265358979").unwrap(),
        doc: serde_json::json!({"a": [1, 2]}),
        docb: serde_json::json!({"b": null}),
        ip: "10.1.2.3".parse().unwrap(),
        net: "::1".parse().unwrap(),
        mood: Mood::SoSo,
        pos: 5,
        tags: vec!["a".into(), "b".into()],
        vcs: vec!["five5".into()],
        maybe: None,
        maybe_mood: Some(Mood::Sad),
        camel_case: "camel".into(),
        r#type: "t".into(),
        created: Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap(),
    }
}

/// Reads the row back into the generated struct, value by value.
async fn pg_read(c: &tokio_postgres::Client, table: &str) -> pg_row::Row {
    use pg_row::{Mood, Row};
    let r = c
        .query_one(
            &format!(
                "SELECT id, small, int, real, dbl, flag, txt, vc, ch, nm::text, bytes, uid, day, \
                 at, at_tz, amount::text, any_num::text, doc, docb, ip, host(net), mood::text, \
                 pos::int4, tags, vcs, maybe, maybe_mood::text, \"CamelCase\", \"type\", created \
                 FROM batchrow_codegen.{table}"
            ),
            &[],
        )
        .await
        .unwrap();
    let mood = |label: &str| match label {
        "happy" => Mood::Happy,
        "so-so" => Mood::SoSo,
        "sad" => Mood::Sad,
        other => panic!("label {other}"),
    };
    let maybe_mood = r.get::<_, Option<&str>>(26).map(mood);
    Row {
        id: r.get(0),
        small: r.get(1),
        int: r.get(2),
        real: r.get(3),
        dbl: r.get(4),
        flag: r.get(5),
        txt: r.get(6),
        vc: r.get(7),
        ch: r.get(8),
        nm: r.get(9),
        bytes: r.get(10),
        uid: r.get(11),
        day: r.get(12),
        at: r.get(13),
        at_tz: r.get(14),
        amount: rust_decimal::Decimal::from_str(r.get(15)).unwrap(),
        any_num: rust_decimal::Decimal::from_str(r.get(16)).unwrap(),
        doc: r.get(17),
        docb: r.get(18),
        ip: r.get(19),
        net: r.get::<_, String>(20).parse().unwrap(),
        mood: mood(r.get(21)),
        pos: r.get(22),
        tags: r.get(23),
        vcs: r.get(24),
        maybe: r.get(25),
        maybe_mood,
        camel_case: r.get(27),
        r#type: r.get(28),
        created: r.get(29),
    }
}

#[tokio::test]
async fn postgres_table_to_struct_and_back() {
    let c = pg::client().await;
    c.batch_execute(
        "DROP SCHEMA IF EXISTS batchrow_codegen CASCADE; CREATE SCHEMA batchrow_codegen; \
         CREATE TYPE batchrow_codegen.mood AS ENUM ('happy', 'so-so', 'sad'); \
         CREATE DOMAIN batchrow_codegen.positive AS int4 CHECK (VALUE > 0); \
         CREATE TABLE batchrow_codegen.all_types (id int8 PRIMARY KEY, small int2 NOT NULL, \
         int int4 NOT NULL, real float4 NOT NULL, dbl float8 NOT NULL, flag bool NOT NULL, \
         txt text NOT NULL, vc varchar(10) NOT NULL, ch char(3) NOT NULL, nm name NOT NULL, \
         bytes bytea NOT NULL, uid uuid NOT NULL, day date NOT NULL, at timestamp NOT NULL, \
         at_tz timestamptz NOT NULL, amount numeric(12, 2) NOT NULL, any_num numeric NOT NULL, \
         doc json NOT NULL, docb jsonb NOT NULL, ip inet NOT NULL, net cidr NOT NULL, \
         mood batchrow_codegen.mood NOT NULL, pos batchrow_codegen.positive NOT NULL, \
         tags text[] NOT NULL, vcs varchar(5)[] NOT NULL, maybe int4, \
         maybe_mood batchrow_codegen.mood, \"CamelCase\" text NOT NULL, \"type\" text NOT NULL, \
         created timestamptz NOT NULL DEFAULT now(), \
         serial int8 GENERATED ALWAYS AS IDENTITY, \
         doubled int8 GENERATED ALWAYS AS (id * 2) STORED, words tsvector)",
    )
    .await
    .unwrap();
    let url = pg::url();
    let table = "batchrow_codegen.all_types";
    let generated = codegen(&[
        "postgres", "--url", &url, "--table", table, "--struct", "Row",
    ]);
    matches_checked_in(&generated, "postgres_all_types.rs");

    let h = Batcher::builder(PostgresSink::new(&url).unwrap())
        .spawn::<pg_row::Row>()
        .await
        .unwrap();
    h.insert(pg_value()).await.unwrap();
    assert_eq!(h.close().await.unwrap().committed.rows, 1);
    assert_eq!(pg_read(&c, "all_types").await, pg_value());

    // --create: the same columns again, from the struct.
    let create = codegen(&[
        "postgres", "--url", &url, "--table", table, "--struct", "Row", "--create", "postgres",
    ]);
    let sql = create
        .split("/*\n")
        .nth(1)
        .and_then(|s| s.split(";\n*/").next())
        .unwrap();
    assert!(
        sql.starts_with(
            "CREATE TABLE \"batchrow_codegen\".\"all_types\" (\n    \"id\" bigint NOT NULL,"
        ),
        "{sql}"
    );
    c.batch_execute(&sql.replace("\"all_types\"", "\"all_types_again\""))
        .await
        .unwrap();
    let h = Batcher::builder(PostgresSink::new(&url).unwrap().table("all_types_again"))
        .spawn::<pg_row::Row>()
        .await
        .unwrap();
    h.insert(pg_value()).await.unwrap();
    h.close().await.unwrap();
    assert_eq!(pg_read(&c, "all_types_again").await, pg_value());
}

#[test]
fn refuses_what_it_cannot_do() {
    let out = Command::new(env!("CARGO_BIN_EXE_batchrow-codegen"))
        .args(["mysql", "--table", "t"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown database `mysql`"));
    let out = Command::new(env!("CARGO_BIN_EXE_batchrow-codegen"))
        .args(["postgres"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: batchrow-codegen"));
}
