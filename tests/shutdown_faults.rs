//! Faults on the application side, against the real servers, with the default settings
//! (but a small memory budget where the point is to be inside a waiting `insert`):
//! producer tasks aborted inside `insert`, a `close()` cut off by a timeout and called
//! again, and the runtime dropped under live handles. Each scenario writes 200,000 rows
//! from 4 producers and reads the table back by id.
//!
//! Needs PostgreSQL 15 and ClickHouse 18.16: `bash scripts/servers.sh` starts both; the
//! URLs come from `BATCHROW_POSTGRES_URL` and `BATCHROW_CLICKHOUSE_URL`. Each test uses a
//! table (or database) of its own.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use batchrow_test_support::clickhouse as ch;
use batchrow_test_support::postgres as pg;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use batchrow::clickhouse::ClickHouseSink;
use batchrow::postgres::PostgresSink;
use batchrow::{BatchRow, Batcher, Error, Handle, Sink, Stats};

const PRODUCERS: i64 = 4;
const PER_PRODUCER: i64 = 50_000;

#[derive(BatchRow, Debug, Clone)]
struct Event {
    id: i64,
    producer: i32,
    payload: String,
}

fn event(producer: i64, n: i64) -> Event {
    Event {
        id: producer * 1_000_000 + n,
        producer: i32::try_from(producer).unwrap(),
        payload: format!(
            "event {n} of producer {producer}, padded to vary in length {}",
            n % 97
        ),
    }
}

/// Every call must return within this bound; a hang fails the test.
const BOUND: Duration = Duration::from_secs(60);

async fn bounded<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(BOUND, f)
        .await
        .unwrap_or_else(|_| panic!("{what} did not return within {BOUND:?}"))
}

/// Producers insert `PER_PRODUCER` rows each, ids `producer * 1e6 + n` in order.
fn spawn_producers<S: Sink>(h: &Handle<Event, S>) -> Vec<tokio::task::JoinHandle<i64>>
where
    Event: batchrow::EncodeRow<S::Format>,
{
    (0..PRODUCERS)
        .map(|p| {
            let h = h.clone();
            tokio::spawn(async move {
                for n in 0..PER_PRODUCER {
                    if h.insert(event(p, n)).await.is_err() {
                        return n;
                    }
                }
                PER_PRODUCER
            })
        })
        .collect()
}

/// The ids in a PostgreSQL table, by producer: (count, distinct, max n + 1).
async fn pg_ids(table: &str) -> BTreeMap<i64, (i64, i64, i64)> {
    let c = pg::client().await;
    let rows = c
        .query(
            &format!(
                "SELECT producer::int8, count(*), count(DISTINCT id), max(id % 1000000) + 1 \
                 FROM {table} GROUP BY producer"
            ),
            &[],
        )
        .await
        .unwrap();
    rows.iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3))))
        .collect()
}

async fn pg_table() -> String {
    let table = pg::unique("shutdown");
    pg::client()
        .await
        .batch_execute(&format!(
            "CREATE TABLE {table} (id int8 NOT NULL, producer int4 NOT NULL, payload text NOT NULL)"
        ))
        .await
        .unwrap();
    table
}

fn conserved(s: &Stats) {
    assert!(s.is_conserved(), "{s:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producers_aborted_inside_insert_lose_no_accepted_row_postgres() {
    let table = pg_table().await;
    // Each COPY takes 50 ms longer, and the budget is small, so the producers spend their
    // time waiting inside `insert`.
    pg::client()
        .await
        .batch_execute(&format!(
            "CREATE FUNCTION {table}_slow() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN PERFORM pg_sleep(0.05); RETURN NULL; END $$; \
             CREATE TRIGGER slow AFTER INSERT ON {table} \
             FOR EACH STATEMENT EXECUTE FUNCTION {table}_slow();"
        ))
        .await
        .unwrap();
    let h = Batcher::builder(PostgresSink::new(&pg::url()).unwrap().table(&table))
        .max_buffered_bytes(1 << 20)
        .spawn::<Event>()
        .await
        .unwrap();
    let producers = spawn_producers(&h);
    // Abort once a tenth of the rows is in: the rest is still seconds away.
    bounded("the first rows", async {
        while h.stats().accepted.rows < (PRODUCERS * PER_PRODUCER / 10) as u64 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
    for p in &producers {
        p.abort();
    }
    let mut aborted = 0;
    for p in producers {
        if p.await.is_err_and(|e| e.is_cancelled()) {
            aborted += 1;
        }
    }
    let stats = bounded("close", h.close()).await.unwrap();
    conserved(&stats);
    let ids = pg_ids(&table).await;
    let stored: i64 = ids.values().map(|v| v.0).sum();
    eprintln!(
        "[aborted producers] {aborted} of {PRODUCERS} aborted mid-stream; accepted {}, \
         stored {stored}, batches {}",
        stats.accepted.rows, stats.batches_committed
    );
    assert!(aborted > 0, "the producers finished before the abort");
    assert_eq!(stored, i64::try_from(stats.accepted.rows).unwrap());
    assert_eq!(stats.committed, stats.accepted);
    for (producer, (count, distinct, next)) in ids {
        // Each producer's accepted rows are a prefix of its ids, each stored once.
        assert_eq!(count, distinct, "producer {producer} has duplicates");
        assert_eq!(
            count, next,
            "producer {producer} lost a row inside its prefix"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_cut_off_by_a_timeout_then_closed_again_delivers_everything_postgres() {
    let table = pg_table().await;
    let h = Batcher::builder(PostgresSink::new(&pg::url()).unwrap().table(&table))
        .spawn::<Event>()
        .await
        .unwrap();
    for p in spawn_producers(&h) {
        assert_eq!(p.await.unwrap(), PER_PRODUCER);
    }
    // The first close cannot finish in a millisecond; its caller gives up.
    assert!(tokio::time::timeout(Duration::from_millis(1), h.close())
        .await
        .is_err());
    let stats = bounded("the second close", h.close()).await.unwrap();
    conserved(&stats);
    assert_eq!(stats.committed.rows, (PRODUCERS * PER_PRODUCER) as u64);
    let ids = pg_ids(&table).await;
    for (producer, (count, distinct, next)) in ids {
        assert_eq!(
            (count, distinct, next),
            (PER_PRODUCER, PER_PRODUCER, PER_PRODUCER),
            "{producer}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_cut_off_by_a_timeout_then_closed_again_delivers_everything_clickhouse() {
    let db = pg::unique("shutdown_ch");
    let client = ch::fresh_database(&db).await;
    ch::exec(
        &client,
        "CREATE TABLE events (id Int64, producer Int32, payload String) ENGINE = MergeTree ORDER BY id",
    )
    .await;
    let h = Batcher::builder(ClickHouseSink::new(client.clone()).table("events"))
        .spawn::<Event>()
        .await
        .unwrap();
    for p in spawn_producers(&h) {
        assert_eq!(p.await.unwrap(), PER_PRODUCER);
    }
    assert!(tokio::time::timeout(Duration::from_millis(1), h.close())
        .await
        .is_err());
    let stats = bounded("the second close", h.close()).await.unwrap();
    conserved(&stats);
    let counts = ch::tsv(&client, "SELECT count(), uniqExact(id) FROM events").await;
    let n = PRODUCERS * PER_PRODUCER;
    assert_eq!(counts.trim(), format!("{n}\t{n}"));
    ch::exec(&client, &format!("DROP DATABASE `{db}`")).await;
}

#[test]
fn a_runtime_dropped_under_live_handles_closes_them_and_stores_no_row_twice_postgres() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let table = rt.block_on(pg_table());
    let h = rt.block_on(async {
        let h = Batcher::builder(PostgresSink::new(&pg::url()).unwrap().table(&table))
            .max_buffered_bytes(4 << 20)
            .spawn::<Event>()
            .await
            .unwrap();
        drop(spawn_producers(&h));
        // Long enough for some batches to commit, not for all.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        h
    });
    let started = Instant::now();
    drop(rt);
    let stats = h.stats();
    eprintln!(
        "[runtime dropped] accepted {}, committed {}, in buffer {}, halted: {:?}",
        stats.accepted.rows, stats.committed.rows, stats.in_buffer.rows, stats.halted
    );
    assert!(stats.halted.is_some(), "{stats:?}");
    conserved(&stats);
    assert!(h.try_insert(event(9, 0)).unwrap_err().is_closed());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    match rt.block_on(h.close()) {
        Err(Error::Stopped { stats }) => assert!(stats.halted.is_some()),
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < BOUND);
    let ids = rt.block_on(pg_ids(&table));
    let stored: i64 = ids.values().map(|v| v.0).sum();
    for (producer, (count, distinct, _)) in &ids {
        assert_eq!(count, distinct, "producer {producer} has duplicates");
    }
    // Every committed row is stored; a batch whose COMMIT was on its way when the runtime
    // stopped may be stored too, never more than was accepted.
    let stored = u64::try_from(stored).unwrap();
    assert!(
        stored >= stats.committed.rows && stored <= stats.accepted.rows,
        "stored {stored}, {stats:?}"
    );
}
