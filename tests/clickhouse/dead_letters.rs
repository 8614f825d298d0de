//! Dead letters from ClickHouse: a batch the server refuses comes back to the dead-letter
//! handler with every row decoded; the same batch written by `DeadLetterFile` is
//! replayed, byte for byte, into a table that accepts it; `Handle::dump` shows buffered
//! rows decoded, and `flush_report` what a flush delivered.
//!
//! Needs ClickHouse at `BATCHROW_CLICKHOUSE_URL` (default `http://127.0.0.1:8123`);
//! `bash scripts/servers.sh` starts one. Each test uses its own databases.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use batchrow_test_support::clickhouse as support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use batchrow::clickhouse::ClickHouseSink;
use batchrow::{replay, BatchRow, Batcher, DeadLetterFile, ReplayOptions, RetryPolicy, Value};
use support::{exec, fresh_database, tsv};

#[derive(BatchRow, Clone)]
#[batch(table = "events")]
struct Event {
    id: u64,
    name: String,
    note: Option<String>,
    scores: Vec<i32>,
    day: time::Date,
    at: time::OffsetDateTime,
    #[batch(type = "Decimal(18, 4)")]
    price: rust_decimal::Decimal,
    key: uuid::Uuid,
    ratio: f64,
    #[batch(type = "Enum8('new' = 1, 'old' = 2)")]
    state: String,
}

const DDL: &str = "(id UInt64, name String, note Nullable(String), scores Array(Int32), \
    day Date, at DateTime, price Decimal(18, 4), key UUID, ratio Float64, \
    state Enum8('new' = 1, 'old' = 2)) ENGINE = MergeTree ORDER BY id";

fn event(id: u64, name: &str) -> Event {
    Event {
        id,
        name: name.into(),
        note: (id.is_multiple_of(2)).then(|| format!("note {id}")),
        scores: vec![-1, i32::try_from(id).unwrap()],
        day: time::Date::from_calendar_date(2024, time::Month::February, 29).unwrap(),
        at: time::OffsetDateTime::from_unix_timestamp_nanos(1_709_212_455_678_000_000).unwrap(),
        price: "-12.5".parse().unwrap(),
        key: uuid::Uuid::from_u128(0x61f0_c404_5cb3_11e7_907b_a600_6ad3_dba0 + u128::from(id)),
        ratio: id as f64 / 4.0,
        state: if id.is_multiple_of(2) { "new" } else { "old" }.into(),
    }
}

/// Every value of `event(id, name)` as the decoder reads it back.
fn expected(id: u64, name: &str) -> Vec<Value> {
    vec![
        Value::UInt(id.into()),
        Value::String(name.into()),
        if id.is_multiple_of(2) {
            Value::String(format!("note {id}"))
        } else {
            Value::Null
        },
        Value::Array(vec![Value::Int(-1), Value::Int(id.into())]),
        Value::Date("2024-02-29".into()),
        Value::DateTime("2024-02-29T13:14:15Z".into()),
        Value::Decimal("-12.5000".into()),
        Value::Uuid(
            uuid::Uuid::from_u128(0x61f0_c404_5cb3_11e7_907b_a600_6ad3_dba0 + u128::from(id))
                .to_string(),
        ),
        Value::Float(id as f64 / 4.0),
        Value::Enum(if id.is_multiple_of(2) { "new" } else { "old" }.into()),
    ]
}

#[tokio::test]
async fn a_refused_batch_comes_back_decoded_and_replays_from_its_file() {
    let refusing = fresh_database("batchrow_ch_dl_refuse").await;
    exec(&refusing, &format!("CREATE TABLE events {DDL}")).await;
    // The server refuses any insert holding a row named 'bad' (code 395).
    exec(
        &refusing,
        "CREATE MATERIALIZED VIEW guard ENGINE = Null AS \
         SELECT throwIf(name = 'bad') AS refused FROM events",
    )
    .await;
    let dir = std::env::temp_dir().join(format!("batchrow-ch-dl-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let file = DeadLetterFile::new(&dir).open().unwrap();
    let mut to_file = file.handler();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let handle = Batcher::builder(ClickHouseSink::new(refusing.clone()))
        .retry(RetryPolicy::default().attempts(1))
        .dead_letter(move |failed| {
            for row in failed.decoded_rows() {
                log.lock().unwrap().push((
                    row.unwrap().into_values(),
                    failed
                        .cause()
                        .sink_error()
                        .and_then(|e| e.code())
                        .map(str::to_owned),
                    failed.attempts(),
                ));
            }
            to_file(failed);
        })
        .spawn::<Event>()
        .await
        .unwrap();

    for (id, name) in [(1, "good"), (2, "bad"), (3, "ünïcode")] {
        handle.insert(event(id, name)).await.unwrap();
    }
    let dump = handle.dump().await.unwrap();
    let dumped: Vec<Vec<Value>> = dump
        .decoded_rows()
        .map(|r| r.unwrap().into_values())
        .collect();
    assert_eq!(
        dumped,
        [
            expected(1, "good"),
            expected(2, "bad"),
            expected(3, "ünïcode")
        ]
    );
    let report = handle.flush_report().await.unwrap();
    assert_eq!(
        (report.failed.rows, report.committed.rows),
        (3, 0),
        "{report:?}"
    );
    assert_eq!(report.batches_failed, 1);
    handle.close().await.unwrap();

    let seen = seen.lock().unwrap().clone();
    let want = [
        expected(1, "good"),
        expected(2, "bad"),
        expected(3, "ünïcode"),
    ];
    assert_eq!(seen.len(), 3);
    for ((values, code, attempts), want) in seen.into_iter().zip(want) {
        assert_eq!(values, want);
        assert_eq!(code.as_deref(), Some("395"));
        assert_eq!(attempts, 1);
    }

    let written = tokio::task::spawn_blocking(move || file.flush())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((written.batches, written.rows), (1, 3));
    let text = std::fs::read_to_string(&written.files[0]).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "a schema line and 3 rows:\n{text}");
    assert!(
        lines[0].starts_with(r#"{"kind":"schema","table":"events""#),
        "{}",
        lines[0]
    );
    assert!(lines[2].contains(r#""code":"395""#), "{}", lines[2]);
    assert!(
        lines[2].contains(r#""values":{"id":2,"name":"bad","note":"note 2","scores":[-1,2],"day":"2024-02-29","at":"2024-02-29T13:14:15Z","price":"-12.5000","key":"61f0c404-5cb3-11e7-907b-a6006ad3dba2","ratio":0.5,"state":"new"}"#),
        "{}",
        lines[2]
    );

    // The same table without the guard takes the rows as they were sent.
    let accepting = fresh_database("batchrow_ch_dl_accept").await;
    exec(&accepting, &format!("CREATE TABLE events {DDL}")).await;
    let sink = ClickHouseSink::new(accepting.clone());
    let replayed = tokio::time::timeout(
        Duration::from_secs(60),
        replay::<Event, _>(&dir, sink, ReplayOptions::default()),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!((replayed.rows, replayed.batches), (3, 1));
    assert_eq!(
        tsv(
            &accepting,
            "SELECT id, name, note, scores, day, at, price, key, ratio, state FROM events ORDER BY id"
        )
        .await,
        "1\tgood\t\\N\t[-1,1]\t2024-02-29\t2024-02-29 13:14:15\t-12.5000\t61f0c404-5cb3-11e7-907b-a6006ad3dba1\t0.25\told\n\
         2\tbad\tnote 2\t[-1,2]\t2024-02-29\t2024-02-29 13:14:15\t-12.5000\t61f0c404-5cb3-11e7-907b-a6006ad3dba2\t0.5\tnew\n\
         3\tünïcode\t\\N\t[-1,3]\t2024-02-29\t2024-02-29 13:14:15\t-12.5000\t61f0c404-5cb3-11e7-907b-a6006ad3dba3\t0.75\told\n"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
