//! End to end through the batcher into PostgreSQL: 1,000,000 rows from 4 concurrent
//! producers with `max_in_flight(2)` (two COPYs at a time, on two pooled connections),
//! read back as a count and checksums; connections cut by a TCP proxy mid-stream, with
//! nothing lost or duplicated; and a row the encoder refuses is handed back.
//!
//! Needs PostgreSQL 15: `bash scripts/servers.sh` starts it; the URL comes from
//! `BATCHROW_POSTGRES_URL` (see `support/postgres.rs`). Each test uses its own table.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use batchrow_test_support::postgres as pg;
use batchrow_test_support::proxy;

use std::time::Duration;

use batchrow::postgres::PostgresSink;
use batchrow::{BatchRow, Batcher, InsertError, RetryPolicy};
use proxy::Proxy;

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

/// A sink whose connections go through `proxy`.
fn proxied_sink(proxy: &Proxy, table: &str) -> PostgresSink {
    let config: batchrow::postgres::tokio_postgres::Config = pg::url().parse().unwrap();
    let mut proxied = batchrow::postgres::tokio_postgres::Config::new();
    proxied.host("127.0.0.1").port(proxy.port());
    if let Some(user) = config.get_user() {
        proxied.user(user);
    }
    if let Some(password) = config.get_password() {
        proxied.password(password);
    }
    if let Some(db) = config.get_dbname() {
        proxied.dbname(db);
    }
    PostgresSink::builder(proxied)
        .pool_size(3)
        .build()
        .unwrap()
        .table(table)
}

/// The server's host and port, for the proxy.
fn upstream() -> (String, u16) {
    let config: batchrow::postgres::tokio_postgres::Config = pg::url().parse().unwrap();
    let host = match config.get_hosts().first() {
        Some(batchrow::postgres::tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        other => panic!("the tests need a TCP host, not {other:?}"),
    };
    (host, config.get_ports().first().copied().unwrap_or(5432))
}

async fn event_table(c: &tokio_postgres::Client, prefix: &str) -> String {
    let table = pg::unique(prefix);
    c.batch_execute(&format!(
        "CREATE TABLE {table} (id int8 PRIMARY KEY, producer int2 NOT NULL, \
         score int8 NOT NULL, name text NOT NULL, ok bool NOT NULL)"
    ))
    .await
    .unwrap();
    table
}

/// Asserts that `table` holds exactly the events `0..n`.
async fn assert_events(c: &tokio_postgres::Client, table: &str, n: i64) {
    let row = c
        .query_one(
            &format!("SELECT count(*), sum(id)::text, sum(score)::text FROM {table}"),
            &[],
        )
        .await
        .unwrap();
    let got: (i64, String, String) = (row.get(0), row.get(1), row.get(2));
    let ids: i128 = (0..n).map(i128::from).sum();
    let scores: i128 = (0..n).map(|id| i128::from(score(id))).sum();
    assert_eq!(got, (n, ids.to_string(), scores.to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_connections_lose_and_duplicate_nothing() {
    const N: i64 = 300_000;
    let c = pg::client().await;
    let table = event_table(&c, "faults").await;
    let proxy = Proxy::start(upstream()).await;
    let handle = Batcher::builder(proxied_sink(&proxy, &table))
        .max_rows(10_000)
        .max_in_flight(2)
        .retry(
            RetryPolicy::default()
                .attempts(30)
                .backoff(Duration::from_millis(20), Duration::from_millis(200)),
        )
        .spawn::<Event>()
        .await
        .unwrap();

    let producers: Vec<_> = (0..2)
        .map(|p| {
            let handle = handle.clone();
            tokio::spawn(async move {
                let mut id = p;
                while id < N {
                    handle.insert(event(id)).await.unwrap();
                    id += 2;
                }
            })
        })
        .collect();
    // Cut every connection a bounded number of times while the producers run.
    let mut cut = 0;
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        cut += proxy.cut();
    }
    for p in producers {
        p.await.unwrap();
    }
    let stats = handle.close().await.unwrap();
    assert!(cut > 0, "the proxy cut no connection");
    assert_eq!(stats.failed.rows, 0, "{stats:?}");
    assert_eq!(stats.committed.rows, N as u64, "{stats:?}");
    // The primary key would have failed a batch inserted twice; the sums check the rest.
    assert_events(&c, &table, N).await;
    c.batch_execute(&format!("DROP TABLE {table}"))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_commit_answer_is_resolved_without_a_duplicate() {
    const N: i64 = 60_000;
    let c = pg::client().await;
    let table = event_table(&c, "lost_commit").await;
    let proxy = Proxy::start(upstream()).await;
    let handle = Batcher::builder(proxied_sink(&proxy, &table))
        .max_rows(10_000)
        .max_in_flight(2)
        .retry(
            RetryPolicy::default().backoff(Duration::from_millis(20), Duration::from_millis(200)),
        )
        .spawn::<Event>()
        .await
        .unwrap();
    // The server commits the first three batches, but their connections drop before the
    // client sees the answer: the sink asks the server (txid_status) instead of retrying.
    proxy.drop_answers(b"COMMIT\0", 3);
    for id in 0..N {
        handle.insert(event(id)).await.unwrap();
    }
    let stats = handle.close().await.unwrap();
    assert_eq!(proxy.answers_pending(), 0);
    assert_eq!(stats.failed.rows, 0, "{stats:?}");
    assert_eq!(stats.committed.rows, N as u64, "{stats:?}");
    assert_eq!(
        stats.retries, 0,
        "a committed batch must not be retried: {stats:?}"
    );
    assert_events(&c, &table, N).await;
    c.batch_execute(&format!("DROP TABLE {table}"))
        .await
        .unwrap();
}
