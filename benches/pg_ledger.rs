//! What the PostgreSQL sink's ledger (`PostgresSink::ledger`) costs: rows per second
//! with and without it, in the same run, for 100,000-row batches and for 1,000-row
//! batches. Rows come from 4 streams, 1,000 consecutive offsets at a time, through
//! `insert_many_at` in both modes (without the ledger the positions are only reported),
//! with 2 batches in flight (the batcher's default) and with 1: with the ledger, batches
//! that share a stream are written one at a time. Each mode runs 5 times,
//! alternating, into a fresh table; the best run of each is printed, with the cost per
//! batch.
//!
//! Needs PostgreSQL at `BATCHROW_POSTGRES_URL` (`bash scripts/servers.sh` starts it).
//! Run: `cargo bench --bench pg_ledger`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use batchrow::postgres::PostgresSink;
use batchrow::{BatchRow, Batcher, Position};

#[derive(BatchRow, Debug, Clone)]
struct Msg<'a> {
    stream: i64,
    off: i64,
    body: &'a str,
}

const STREAMS: u64 = 4;
const RUNS: usize = 5;

fn url() -> String {
    std::env::var("BATCHROW_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://batchrow:batchrow@127.0.0.1:5432/batchrow".to_owned())
}

/// Inserts `rows` rows in batches of `max_rows` into a fresh table, with or without the
/// ledger; returns the time from the first insert to the end of `close`.
async fn run(
    c: &tokio_postgres::Client,
    rows: u64,
    max_rows: usize,
    in_flight: usize,
    ledger: bool,
) -> Duration {
    let table = format!("bench_ledger_{}", std::process::id());
    let ledger_table = format!("{table}_ledger");
    c.batch_execute(&format!(
        "DROP TABLE IF EXISTS {table}; DROP TABLE IF EXISTS {ledger_table}; \
         CREATE TABLE {table} (stream int8 NOT NULL, off int8 NOT NULL, body text NOT NULL)"
    ))
    .await
    .unwrap();
    let mut sink = PostgresSink::new(&url()).unwrap().table(&table);
    if ledger {
        sink = sink.ledger(&ledger_table).create_ledger(true);
    }
    let handle = Batcher::builder(sink)
        .max_rows(max_rows)
        .max_bytes(256 << 20)
        .max_in_flight(in_flight)
        .spawn::<Msg>()
        .await
        .unwrap();
    let per_stream = rows / STREAMS;
    let start = Instant::now();
    let mut at = 0;
    while at < per_stream {
        let end = (at + 1_000).min(per_stream);
        for s in 0..STREAMS {
            let msgs = (at..end).map(|o| Msg {
                stream: i64::try_from(s).unwrap(),
                off: i64::try_from(o).unwrap(),
                body: "a message of some forty bytes, give or take",
            });
            handle
                .insert_many_at(msgs, Position::new(s, at))
                .await
                .unwrap();
        }
        at = end;
    }
    let stats = handle.close().await.unwrap();
    let took = start.elapsed();
    assert_eq!(stats.committed.rows, rows);
    let stored: i64 = c
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(u64::try_from(stored).unwrap(), rows);
    c.batch_execute(&format!(
        "DROP TABLE {table}; DROP TABLE IF EXISTS {ledger_table}"
    ))
    .await
    .unwrap();
    took
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (c, conn) = tokio_postgres::connect(&url(), tokio_postgres::NoTls)
            .await
            .expect("PostgreSQL does not answer; start it with `bash scripts/servers.sh`");
        tokio::spawn(conn);
        println!("ledger cost, PostgreSQL at {}", url());
        for (rows, max_rows, in_flight) in [
            (600_000_u64, 100_000_usize, 2_usize),
            (600_000, 100_000, 1),
            (100_000, 1_000, 2),
            (100_000, 1_000, 1),
        ] {
            let batches = rows as f64 / max_rows as f64;
            let mut best = [Duration::MAX; 2];
            for _ in 0..RUNS {
                for (i, ledger) in [false, true].into_iter().enumerate() {
                    best[i] = best[i].min(run(&c, rows, max_rows, in_flight, ledger).await);
                }
            }
            let rate = |d: Duration| rows as f64 / d.as_secs_f64();
            let per_batch = (best[1].as_secs_f64() - best[0].as_secs_f64()) / batches * 1e3;
            println!(
                "{rows} rows in batches of {max_rows}, {in_flight} in flight: without ledger {:.0} rows/s, with \
                 ledger {:.0} rows/s ({:+.1}%), {per_batch:+.2} ms per batch",
                rate(best[0]),
                rate(best[1]),
                (rate(best[1]) / rate(best[0]) - 1.0) * 100.0,
            );
        }
    });
}
