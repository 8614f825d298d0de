//! End to end through the batcher into ClickHouse: 1,000,000 rows from 4 concurrent
//! producers, then the row count and checksums read back from the server.
//!
//! Needs ClickHouse at `BATCHROW_CLICKHOUSE_URL` (default `http://127.0.0.1:8123`);
//! `bash scripts/servers.sh` starts one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use batchrow_test_support::clickhouse as support;

use batchrow::clickhouse::ClickHouseSink;
use batchrow::{BatchRow, Batcher};
use support::{exec, fresh_database, tsv};

#[derive(BatchRow)]
#[batch(table = "events")]
struct Event<'a> {
    id: u64,
    producer: u8,
    amount: u32,
    name: &'a str,
}

const ROWS: u64 = 1_000_000;
const PRODUCERS: u64 = 4;

/// The name of row `id`: 0 to 19 bytes, some non-ASCII.
fn name(id: u64, buf: &mut String) {
    use std::fmt::Write;
    buf.clear();
    if !id.is_multiple_of(7) {
        write!(buf, "n{id}").unwrap();
    }
    if id.is_multiple_of(3) {
        buf.push('é');
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_million_rows_from_four_producers_arrive_exactly_once() {
    let client = fresh_database("batchrow_ch_e2e").await;
    exec(
        &client,
        "CREATE TABLE events (id UInt64, producer UInt8, amount UInt32, name String) \
         ENGINE = MergeTree ORDER BY id",
    )
    .await;

    let handle = Batcher::builder(ClickHouseSink::new(client.clone()))
        .max_rows(100_000)
        .spawn::<Event>()
        .await
        .unwrap();

    let per = ROWS / PRODUCERS;
    let tasks: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let handle = handle.clone();
            tokio::spawn(async move {
                let mut s = String::new();
                for id in p * per..(p + 1) * per {
                    name(id, &mut s);
                    handle
                        .insert(Event {
                            id,
                            producer: u8::try_from(p).unwrap(),
                            amount: u32::try_from(id % 1000).unwrap(),
                            name: &s,
                        })
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let stats = handle.close().await.unwrap();
    assert_eq!(stats.committed.rows, ROWS, "{stats:?}");
    assert_eq!(stats.failed.rows, 0, "{stats:?}");

    // What the server must hold, computed here.
    let sum_id: u64 = (0..ROWS).sum();
    let sum_amount: u64 = (0..ROWS).map(|id| id % 1000).sum();
    let mut s = String::new();
    let sum_len: u64 = (0..ROWS)
        .map(|id| {
            name(id, &mut s);
            s.len() as u64
        })
        .sum();
    let per_producer: Vec<String> = (0..PRODUCERS).map(|p| format!("{p}\t{per}")).collect();

    assert_eq!(
        tsv(
            &client,
            "SELECT count(), uniqExact(id), sum(id), min(id), max(id), sum(amount), \
             sum(length(name)) FROM events"
        )
        .await,
        format!(
            "{ROWS}\t{ROWS}\t{sum_id}\t0\t{}\t{sum_amount}\t{sum_len}\n",
            ROWS - 1
        )
    );
    assert_eq!(
        tsv(
            &client,
            "SELECT producer, count() FROM events GROUP BY producer ORDER BY producer"
        )
        .await,
        per_producer.join("\n") + "\n"
    );
    // Each row's producer and amount belong to its id.
    assert_eq!(
        tsv(
            &client,
            &format!(
                "SELECT count() FROM events WHERE producer != intDiv(id, {per}) \
                 OR amount != id % 1000"
            )
        )
        .await,
        "0\n"
    );
}
