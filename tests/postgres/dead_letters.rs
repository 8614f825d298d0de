//! Dead letters from PostgreSQL: a row the server refuses (a CHECK constraint) is
//! isolated by `isolate_bad_rows` and comes back to the dead-letter handler decoded,
//! every value compared; `DeadLetterFile` writes it, and once the constraint is gone
//! `replay` sends its bytes again; `Handle::dump` and `flush_report` on a live server.
//!
//! Needs PostgreSQL 15: `bash scripts/servers.sh` starts it; the URL comes from
//! `BATCHROW_POSTGRES_URL` (see `support/postgres.rs`). The test uses its own table.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use batchrow_test_support::postgres as pg;

use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};

use batchrow::{replay, BatchRow, Batcher, DeadLetterFile, ReplayOptions, Value};
use chrono::{NaiveDate, TimeZone, Utc};

#[derive(BatchRow, Clone)]
#[batch(table = "pg_dead_letters")]
struct Event {
    id: i64,
    name: String,
    note: Option<String>,
    scores: Vec<Option<i32>>,
    day: NaiveDate,
    at: chrono::DateTime<Utc>,
    price: rust_decimal::Decimal,
    key: uuid::Uuid,
    ip: IpAddr,
    doc: serde_json::Value,
    blob: Vec<u8>,
    ratio: f64,
    ok: bool,
}

fn event(id: i64, score: i32) -> Event {
    Event {
        id,
        name: format!("név {id}"),
        note: (id % 2 == 0).then(|| "even".to_owned()),
        scores: vec![Some(score), None],
        day: NaiveDate::from_ymd_opt(1999, 12, 31).unwrap(),
        at: Utc.with_ymd_and_hms(2024, 2, 29, 1, 2, 3).unwrap(),
        price: "-0.0450".parse().unwrap(),
        key: uuid::Uuid::from_u128(0xabcd_0000 + u128::try_from(id).unwrap()),
        ip: IpAddr::V6(Ipv6Addr::LOCALHOST),
        doc: serde_json::json!({"id": id}),
        blob: vec![0, 0xff, u8::try_from(id).unwrap()],
        ratio: 0.5,
        ok: id % 2 == 0,
    }
}

fn expected(id: i64, score: i32) -> Vec<Value> {
    vec![
        Value::Int(id.into()),
        Value::String(format!("név {id}")),
        if id % 2 == 0 {
            Value::String("even".into())
        } else {
            Value::Null
        },
        Value::Array(vec![Value::Int(score.into()), Value::Null]),
        Value::Date("1999-12-31".into()),
        Value::DateTime("2024-02-29T01:02:03.000000Z".into()),
        Value::Decimal("-0.0450".into()),
        Value::Uuid(uuid::Uuid::from_u128(0xabcd_0000 + u128::try_from(id).unwrap()).to_string()),
        Value::Ip(IpAddr::V6(Ipv6Addr::LOCALHOST)),
        Value::Json(format!(r#"{{"id":{id}}}"#)),
        Value::Bytes(vec![0, 0xff, u8::try_from(id).unwrap()]),
        Value::Float(0.5),
        Value::Bool(id % 2 == 0),
    ]
}

#[tokio::test]
async fn a_refused_row_comes_back_decoded_and_replays_once_the_table_accepts_it() {
    let client = pg::client().await;
    let table = pg::unique("dead_letters");
    client
        .batch_execute(&format!(
            "CREATE TABLE {table} (id int8 PRIMARY KEY, name text, note text, \
             scores int4[] CHECK (scores[1] >= 0), day date, at timestamptz, \
             price numeric(10, 4), key uuid, ip inet, doc jsonb, blob bytea, \
             ratio float8, ok bool)"
        ))
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!("batchrow-pg-dl-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let file = DeadLetterFile::new(&dir).open().unwrap();
    let mut to_file = file.handler();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let handle = Batcher::builder(pg::sink(&table))
        .isolate_bad_rows(true)
        .dead_letter(move |failed| {
            for row in failed.decoded_rows() {
                log.lock().unwrap().push((
                    row.unwrap().into_values(),
                    failed
                        .cause()
                        .sink_error()
                        .and_then(|e| e.code())
                        .map(str::to_owned),
                ));
            }
            to_file(failed);
        })
        .spawn::<Event>()
        .await
        .unwrap();

    let rows = [event(1, 10), event(2, -1), event(3, 30)];
    for row in rows.clone() {
        handle.insert(row).await.unwrap();
    }
    let dump = handle.dump().await.unwrap();
    let dumped: Vec<Vec<Value>> = dump
        .decoded_rows()
        .map(|r| r.unwrap().into_values())
        .collect();
    assert_eq!(dumped, [expected(1, 10), expected(2, -1), expected(3, 30)]);
    let report = handle.flush_report().await.unwrap();
    assert_eq!(
        (report.committed.rows, report.failed.rows),
        (2, 1),
        "{report:?}"
    );
    assert_eq!(report.batches_failed, 1);
    handle.close().await.unwrap();

    // 23514: check_violation.
    assert_eq!(
        *seen.lock().unwrap(),
        [(expected(2, -1), Some("23514".to_owned()))]
    );
    let written = tokio::task::spawn_blocking(move || file.flush())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((written.batches, written.rows), (1, 1));

    // Once the table accepts the row, the file replays it.
    client
        .batch_execute(&format!(
            "ALTER TABLE {table} DROP CONSTRAINT {table}_scores_check"
        ))
        .await
        .unwrap();
    let sink = pg::sink(&table);
    let replayed = replay::<Event, _>(&dir, sink, ReplayOptions::default())
        .await
        .unwrap();
    assert_eq!((replayed.rows, replayed.batches), (1, 1));
    let back = client
        .query(
            &format!("SELECT id, scores[1], doc::text, price::text FROM {table} ORDER BY id"),
            &[],
        )
        .await
        .unwrap();
    let back: Vec<(i64, i32, String, String)> = back
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    assert_eq!(
        back,
        [
            (1, 10, r#"{"id": 1}"#.to_owned(), "-0.0450".to_owned()),
            (2, -1, r#"{"id": 2}"#.to_owned(), "-0.0450".to_owned()),
            (3, 30, r#"{"id": 3}"#.to_owned(), "-0.0450".to_owned()),
        ]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
