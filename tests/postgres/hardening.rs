//! Defect tests of the PostgreSQL sink's handling of unknown outcomes and silent
//! networks, each against the real server, with a TCP proxy the test owns between the
//! sink and the server:
//!
//! - a COMMIT whose answer is lost, and whose status cannot be found out in time, is
//!   reported as possibly persisted: never retried, never split into parts that would
//!   be stored a second time, even with `isolate_bad_rows(true)`;
//! - a COMMIT that times out (its answer never comes, or it never reaches the server)
//!   goes through the commit-status check: committed, or rolled back (the backend that
//!   still holds the transaction is terminated) and sent again, never both;
//! - a send that times out or is cancelled never hands its connection back to the pool
//!   in the middle of the protocol;
//! - a server that accepts TCP connections and never answers makes the batcher's start
//!   fail within the default connect timeout.
//!
//! Each test reads its table back directly from the server, not through the proxy.
//!
//! Needs PostgreSQL 15: `bash scripts/servers.sh` (or `scripts/postgres.sh`) starts it;
//! the URL comes from `BATCHROW_POSTGRES_URL` (see `support/postgres.rs`). Each test
//! uses its own table.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use batchrow_test_support::counting;
use batchrow_test_support::postgres as pg;
use batchrow_test_support::proxy;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use batchrow::postgres::PostgresSink;
use batchrow::{
    BatchRow, Batcher, FailedBatch, RetryPolicy, Schema, Sender, Sink, SinkErrorKind, Stats,
};
use counting::Counting;
use proxy::{Proxy, Stall};
use tokio::time::{timeout, Instant};

/// The marker of the sink's `COMMIT` (a simple-query message).
const COMMIT: &[u8] = b"COMMIT\0";

#[derive(BatchRow, Debug, Clone)]
struct Event {
    id: i64,
    producer: i16,
    name: String,
}

fn event(id: i64) -> Event {
    Event {
        id,
        producer: i16::try_from(id % 4).unwrap(),
        name: format!("event-{id}"),
    }
}

/// A table for [`Event`] without a primary key, so that a row stored twice shows as a
/// duplicate rather than as a failed batch.
async fn event_table(c: &tokio_postgres::Client, prefix: &str) -> String {
    let table = pg::unique(prefix);
    c.batch_execute(&format!(
        "CREATE TABLE {table} (id int8 NOT NULL, producer int2 NOT NULL, name text NOT NULL)"
    ))
    .await
    .unwrap();
    table
}

/// A sink into `table` whose connections go through `proxy`.
fn proxied_sink(proxy: &Proxy, table: &str) -> PostgresSink {
    PostgresSink::builder(pg::config_via(&pg::url(), proxy.port()))
        .pool_size(3)
        .build()
        .unwrap()
        .table(table)
}

/// Inserts events `0..n` from one producer, and closes; every call within `bound`.
async fn insert_and_close(
    handle: &batchrow::Handle<Event, Counting<PostgresSink>>,
    n: i64,
    bound: Duration,
) -> Stats {
    timeout(bound, async {
        for id in 0..n {
            handle.insert(event(id)).await.unwrap();
        }
    })
    .await
    .expect("inserting took longer than the bound");
    timeout(bound, handle.close())
        .await
        .expect("closing took longer than the bound")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_commit_of_unknown_outcome_is_neither_retried_nor_split() {
    const N: i64 = 50_000;
    let c = pg::client().await;
    let table = event_table(&c, "hard_lost").await;
    let proxy = Arc::new(Proxy::start(pg::host_port(&pg::url())).await);
    let sink = proxied_sink(&proxy, &table).commit_status_window(Duration::from_secs(3));
    let (sink, log) = Counting::new(sink);
    let failed = Arc::new(Mutex::new(Vec::<FailedBatch>::new()));
    let dead = failed.clone();
    let handle = Batcher::builder(sink)
        .max_rows(10_000)
        .isolate_bad_rows(true)
        .dead_letter(move |b| dead.lock().unwrap().push(b))
        .spawn::<Event>()
        .await
        .unwrap();
    // The server commits a batch, its answer is dropped, and the server is out of reach
    // for longer than the sink's commit-status window (and than the 10 s the sink used
    // to ask for, before it returned a permanent error that the batcher then split).
    proxy.drop_answers(COMMIT, 1);
    proxy.down_after_dropped_answer();
    let outage = {
        let proxy = proxy.clone();
        tokio::spawn(async move {
            while proxy.answers_dropped() == 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            tokio::time::sleep(Duration::from_secs(12)).await;
            proxy.up();
        })
    };
    let stats = insert_and_close(&handle, N, Duration::from_secs(120)).await;
    outage.await.unwrap();
    let back = pg::read_ids(&c, &table, N).await;
    eprintln!("{stats:?}\n{back:?}");
    assert_eq!(proxy.answers_dropped(), 1);
    assert_eq!(back.duplicates(), 0, "rows stored twice: {back:?}");
    assert_eq!(back.in_range, N, "rows lost: {back:?}");
    assert!(stats.is_conserved(), "{stats:?}");
    // The batch whose answer was lost committed, but the sink could not find it out: it
    // is reported as possibly persisted, whole, and was sent once.
    {
        let failed = failed.lock().unwrap();
        assert_eq!(failed.len(), 1, "{failed:?}");
        assert!(failed[0].cause().is_possibly_persisted(), "{failed:?}");
        assert_eq!(failed[0].attempts(), 1);
    }
    assert_eq!(stats.failed.rows, 10_000, "{stats:?}");
    assert_eq!(stats.committed.rows, N as u64 - 10_000, "{stats:?}");
    assert_eq!(log.lock().unwrap().errors(SinkErrorKind::Permanent), 0);
    c.batch_execute(&format!("DROP TABLE {table}"))
        .await
        .unwrap();
}

/// Streams `N` events through a proxy that stalls the connection of the first COMMIT
/// (`stall`), with 3 s attempts; returns the stats, the send log and the proxy.
async fn commit_stalled(
    prefix: &str,
    stall: Stall,
) -> (Stats, pg::Readback, Arc<Mutex<counting::Log>>) {
    const N: i64 = 50_000;
    let c = pg::client().await;
    let table = event_table(&c, prefix).await;
    let proxy = Proxy::start(pg::host_port(&pg::url())).await;
    let (sink, log) = Counting::new(proxied_sink(&proxy, &table));
    let handle = Batcher::builder(sink)
        .max_rows(10_000)
        .retry(RetryPolicy::default().attempt_timeout(Duration::from_secs(3)))
        .spawn::<Event>()
        .await
        .unwrap();
    proxy.stall(COMMIT, &[stall]);
    let stats = insert_and_close(&handle, N, Duration::from_secs(90)).await;
    assert_eq!(proxy.stalled(), 1);
    drop(proxy);
    let back = pg::read_ids(&c, &table, N).await;
    eprintln!("{stats:?}\n{back:?}");
    assert_eq!(back.duplicates(), 0, "rows stored twice: {back:?}");
    assert_eq!(back.in_range, N, "rows lost: {back:?}");
    assert!(stats.is_conserved(), "{stats:?}");
    assert_eq!(stats.failed.rows, 0, "{stats:?}");
    assert_eq!(stats.committed.rows, N as u64, "{stats:?}");
    // Only the stalled attempt ran into its timeout: no later attempt was handed the
    // stalled connection by the pool.
    assert_eq!(
        log.lock().unwrap().slower_than(Duration::from_secs(3)),
        1,
        "{:#?}",
        log.lock().unwrap()
    );
    c.batch_execute(&format!("DROP TABLE {table}"))
        .await
        .unwrap();
    (stats, back, log)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_whose_answer_never_comes_is_found_committed() {
    let (stats, _, _) = commit_stalled("hard_answer", Stall::Answer).await;
    // The server committed: the batch is not sent again.
    assert_eq!(stats.retries, 0, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_that_never_reaches_the_server_is_rolled_back_and_sent_again() {
    let (stats, _, log) = commit_stalled("hard_request", Stall::Request).await;
    // The backend still held the transaction open: the sink ended it, found it rolled
    // back, and the batch was sent again.
    assert_eq!(stats.retries, 1, "{stats:?}");
    assert_eq!(log.lock().unwrap().errors(SinkErrorKind::Retryable), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_send_takes_its_connection_out_of_the_pool() {
    let c = pg::client().await;
    let table = event_table(&c, "hard_cancel").await;
    let proxy = Proxy::start(pg::host_port(&pg::url())).await;
    let sink = PostgresSink::builder(pg::config_via(&pg::url(), proxy.port()))
        .pool_size(1)
        .build()
        .unwrap()
        .table(&table)
        .prepare(Schema::of::<Event>())
        .await
        .unwrap();
    let columns = sink.columns().to_vec();
    let first: Vec<Event> = (0..100).map(event).collect();
    let second: Vec<Event> = (100..200).map(event).collect();
    let first = pg::batch_of(&first, &columns, 30).unwrap();
    let second = pg::batch_of(&second, &columns, 30).unwrap();

    // The first send's COMMIT never reaches the server; the caller gives up on it.
    proxy.stall(COMMIT, &[Stall::Request]);
    let cancelled = timeout(Duration::from_secs(2), sink.send(&first)).await;
    assert!(
        cancelled.is_err(),
        "the stalled send finished: {cancelled:?}"
    );
    assert_eq!(proxy.stalled(), 1);
    let status = sink.pool().status();
    assert_eq!(
        status.size, 0,
        "the stalled connection went back: {status:?}"
    );

    // The pool (of one connection) opens a new one for the next send.
    let began = Instant::now();
    timeout(Duration::from_secs(20), sink.send(&second))
        .await
        .expect("the next send was handed the stalled connection")
        .unwrap();
    assert!(began.elapsed() < Duration::from_secs(10));
    drop(proxy);
    let ids: Vec<i64> = c
        .query(&format!("SELECT id FROM {table} ORDER BY id"), &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids, (100..200).collect::<Vec<i64>>());
    c.batch_execute(&format!("DROP TABLE {table}"))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starting_against_a_server_that_never_answers_fails_within_the_connect_timeout() {
    // Accepts TCP connections, and never reads or writes a byte.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut conns = Vec::new();
        while let Ok((conn, _)) = listener.accept().await {
            conns.push(conn);
        }
    });
    let sink = PostgresSink::new(&format!(
        "postgres://batchrow:batchrow@127.0.0.1:{port}/batchrow"
    ))
    .unwrap();
    let began = Instant::now();
    let result = timeout(
        Duration::from_secs(60),
        Batcher::builder(sink).spawn::<Event>(),
    )
    .await
    .expect("spawn did not return within 60 s");
    let took = began.elapsed();
    let Err(err) = result else {
        panic!("spawn succeeded against a silent server");
    };
    eprintln!("after {took:?}: {err}");
    // The default connect timeout is 10 s; allow for a loaded machine.
    assert!(took < Duration::from_secs(20), "took {took:?}");
    assert!(took >= Duration::from_secs(9), "took {took:?}");
    let message = err.to_string();
    assert!(
        message.contains("did not answer") && message.contains(&port.to_string()),
        "{message}"
    );
    held.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_server_is_retryable_and_a_refused_row_is_named() {
    let c = pg::client().await;
    let table = pg::unique("hard_classes");
    c.batch_execute(&format!(
        "CREATE TABLE {table} (id int8 NOT NULL CHECK (id <> 7), producer int2 NOT NULL, \
         name text NOT NULL)"
    ))
    .await
    .unwrap();
    let rows: Vec<Event> = (0..10).map(event).collect();

    // A session that is read-only, as on a primary that became a standby after a
    // failover: SQLSTATE 25006, worth retrying (on another server, or later).
    let mut config: tokio_postgres::Config = pg::url().parse().unwrap();
    config.options("-c default_transaction_read_only=on");
    let read_only = PostgresSink::builder(config)
        .build()
        .unwrap()
        .table(&table)
        .prepare(Schema::of::<Event>())
        .await
        .unwrap();
    let columns = read_only.columns().to_vec();
    let batch = pg::batch_of(&rows, &columns, 4).unwrap();
    let e = read_only.send(&batch).await.unwrap_err();
    assert_eq!(e.code(), Some("25006"), "{e}");
    assert_eq!(e.kind(), SinkErrorKind::Retryable, "{e}");
    assert!(!e.is_caused_by_data());

    // A row the CHECK constraint refuses: permanent, caused by the data, and named.
    let sink = pg::sink(&table)
        .prepare(Schema::of::<Event>())
        .await
        .unwrap();
    let e = sink.send(&batch).await.unwrap_err();
    assert_eq!(e.code(), Some("23514"), "{e}");
    assert_eq!(e.kind(), SinkErrorKind::Permanent, "{e}");
    assert!(e.is_caused_by_data());
    assert_eq!(e.row(), Some(7), "{e}");
    let n: i64 = c
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
    c.batch_execute(&format!("DROP TABLE {table}"))
        .await
        .unwrap();
}
