//! End to end through the batcher into PostgreSQL: 1,000,000 rows from 4 concurrent
//! producers with `max_in_flight(2)` (two COPYs at a time, on two pooled connections),
//! read back as a count and checksums; and a row the encoder refuses is handed back.
//!
//! Needs PostgreSQL 15: `bash scripts/servers.sh` starts it; the URL comes from
//! `BATCHROW_POSTGRES_URL` (see `support/postgres.rs`). Each test uses its own table.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/postgres.rs"]
mod pg;

use batchrow::postgres::PostgresSink;
use batchrow::{BatchRow, Batcher, InsertError};

const PRODUCERS: i64 = 4;
const ROWS: i64 = 1_000_000;

#[derive(BatchRow, Debug, Clone)]
struct Event {
    id: i64,
    producer: i16,
    score: i64,
    name: String,
    ok: bool,
}

/// A well-mixed value derived from the id (splitmix64), so the checksum sees every bit.
fn score(id: i64) -> i64 {
    let mut z = (id as u64).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) as i64
}

fn event(id: i64) -> Event {
    Event {
        id,
        producer: i16::try_from(id % PRODUCERS).unwrap(),
        score: score(id),
        name: format!("event-{id}"),
        ok: id % 3 == 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_rows_from_four_producers() {
    let c = pg::client().await;
    let table = pg::unique("e2e");
    c.batch_execute(&format!(
        "CREATE TABLE {table} (id int8 PRIMARY KEY, producer int2 NOT NULL, \
         score int8 NOT NULL, name text NOT NULL, ok bool NOT NULL)"
    ))
    .await
    .unwrap();
    let sink = PostgresSink::builder(pg::url().parse().unwrap())
        .pool_size(3)
        .build()
        .unwrap()
        .table(&table);
    let handle = Batcher::builder(sink)
        .max_rows(50_000)
        .max_in_flight(2)
        .spawn::<Event>()
        .await
        .unwrap();

    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let handle = handle.clone();
            tokio::spawn(async move {
                let mut id = p;
                while id < ROWS {
                    handle.insert(event(id)).await.unwrap();
                    id += PRODUCERS;
                }
            })
        })
        .collect();
    for p in producers {
        p.await.unwrap();
    }
    let stats = handle.close().await.unwrap();
    assert_eq!(stats.accepted.rows, ROWS as u64);
    assert_eq!(stats.committed.rows, ROWS as u64);
    assert_eq!(stats.failed.rows, 0);

    let row = c
        .query_one(
            &format!(
                "SELECT count(*), sum(id)::text, sum(score)::text, sum(length(name))::text, \
                 count(*) FILTER (WHERE ok), count(DISTINCT producer) FROM {table}"
            ),
            &[],
        )
        .await
        .unwrap();
    let expected_ids: i128 = (0..ROWS).map(i128::from).sum();
    let expected_scores: i128 = (0..ROWS).map(|id| i128::from(score(id))).sum();
    let expected_name_len: i128 = (0..ROWS).map(|id| event(id).name.len() as i128).sum();
    let got: (i64, String, String, String, i64, i64) = (
        row.get(0),
        row.get(1),
        row.get(2),
        row.get(3),
        row.get(4),
        row.get(5),
    );
    assert_eq!(
        got,
        (
            ROWS,
            expected_ids.to_string(),
            expected_scores.to_string(),
            expected_name_len.to_string(),
            (ROWS + 2) / 3,
            PRODUCERS,
        )
    );
    c.batch_execute(&format!("DROP TABLE {table}"))
        .await
        .unwrap();
}

#[derive(BatchRow, Debug, Clone, PartialEq)]
struct Short {
    id: i32,
    code: String,
}

#[tokio::test(flavor = "multi_thread")]
async fn a_row_the_column_cannot_hold_is_handed_back() {
    let c = pg::client().await;
    let table = pg::unique("short");
    c.batch_execute(&format!("CREATE TABLE {table} (id int4, code varchar(3))"))
        .await
        .unwrap();
    let handle = Batcher::builder(pg::sink(&table))
        .spawn::<Short>()
        .await
        .unwrap();
    handle
        .insert(Short {
            id: 1,
            code: "abc".into(),
        })
        .await
        .unwrap();
    let long = Short {
        id: 2,
        code: "abcd".into(),
    };
    match handle.insert(long.clone()).await {
        Err(InsertError::Encode { row, source }) => {
            assert_eq!(row, long);
            assert_eq!(
                source.to_string(),
                "column `code`: length 4 does not fit character varying(n) (at most 3)"
            );
        }
        other => panic!("expected an encode error, got {other:?}"),
    }
    let nul = Short {
        id: 3,
        code: "a\0".into(),
    };
    assert!(matches!(
        handle.insert(nul).await,
        Err(InsertError::Encode { .. })
    ));
    let stats = handle.close().await.unwrap();
    assert_eq!(stats.committed.rows, 1);
    let rows: Vec<(i32, String)> = c
        .query(&format!("SELECT id, code FROM {table}"), &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(rows, [(1, "abc".to_owned())]);
}
