//! Exactly-once into PostgreSQL across restarts, with the sink's ledger
//! (`PostgresSink::ledger`), against the real server:
//!
//! - a consumer (the one of `examples/offsets.rs`, run in a child process that
//!   re-executes this test binary) is killed with SIGKILL after a `COMMIT` reached the
//!   server and before its answer came back (the tests' proxy stalls the answer); run
//!   again from the offsets it saved from the `on_commit` hook, it replays what it had
//!   not acknowledged, and every message is in the table exactly once;
//! - a replay of committed positions writes nothing and reports committed; a partial
//!   overlap writes only the new rows; two batchers replaying the same positions at
//!   once write each row once;
//! - a `COMMIT` in doubt is resolved by the ledger (also for rows without a position);
//! - a missing or malformed ledger table is a Config error, and `create_ledger(true)`
//!   makes one.
//!
//! Each test reads its table back directly from the server, by position.
//!
//! Needs PostgreSQL 15: `bash scripts/servers.sh` (or `scripts/postgres.sh`) starts it;
//! the URL comes from `BATCHROW_POSTGRES_URL` (see `support/postgres.rs`; `source
//! scripts/lib.sh` sets it). Each test uses its own tables. The crash test needs Unix
//! (SIGKILL).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../examples/offsets.rs"]
#[allow(dead_code, unreachable_pub, missing_docs)]
mod offsets;
use batchrow_test_support::postgres as pg;
use batchrow_test_support::proxy;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use batchrow::postgres::{LedgerStats, PostgresSink};
use batchrow::{BatchRow, Batcher, FailedBatch, Position, RetryPolicy, SinkErrorKind, Stats};
use proxy::{Proxy, Stall};
use tokio::time::{sleep, timeout, Instant};

/// The marker of the sink's `COMMIT` (the end of a simple-query message).
const COMMIT: &[u8] = b"COMMIT\0";

#[derive(BatchRow, Debug, Clone)]
struct Msg {
    stream: i64,
    off: i64,
    body: String,
}

fn msg(stream: u64, off: u64) -> Msg {
    Msg {
        stream: i64::try_from(stream).unwrap(),
        off: i64::try_from(off).unwrap(),
        body: format!("{stream}/{off}"),
    }
}

/// A table for [`Msg`] without a key (a row stored twice shows as a duplicate) and the
/// name of a ledger no one else uses.
async fn tables(c: &tokio_postgres::Client, prefix: &str) -> (String, String) {
    let table = pg::unique(prefix);
    c.batch_execute(&format!(
        "CREATE TABLE {table} (stream int8 NOT NULL, off int8 NOT NULL, body text NOT NULL)"
    ))
    .await
    .unwrap();
    (table.clone(), format!("{table}_ledger"))
}

fn ledger_sink(table: &str, ledger: &str) -> PostgresSink {
    pg::sink(table).ledger(ledger).create_ledger(true)
}

/// Inserts offsets `offsets` of each of `streams`, interleaved 100 rows at a time,
/// through a batcher of `max_rows`, and closes it.
async fn replay(
    sink: PostgresSink,
    streams: std::ops::Range<u64>,
    offsets: std::ops::Range<u64>,
    max_rows: usize,
) -> (Stats, LedgerStats) {
    let ledger = sink.ledger_stats();
    let handle = Batcher::builder(sink)
        .max_rows(max_rows)
        .spawn::<Msg>()
        .await
        .unwrap();
    let mut at = offsets.start;
    while at < offsets.end {
        let end = (at + 100).min(offsets.end);
        for s in streams.clone() {
            handle
                .insert_many_at((at..end).map(|o| msg(s, o)), Position::new(s, at))
                .await
                .unwrap();
        }
        at = end;
    }
    let stats = timeout(Duration::from_secs(60), handle.close())
        .await
        .unwrap()
        .unwrap();
    (stats, ledger)
}

/// Rows, distinct (stream, off) pairs, and rows outside `streams` × `offsets`.
async fn read_back(
    c: &tokio_postgres::Client,
    table: &str,
    streams: std::ops::Range<u64>,
    offsets: std::ops::Range<u64>,
) -> (i64, i64, i64) {
    let row = c
        .query_one(
            &format!(
                "SELECT count(*), count(DISTINCT (stream, off)), count(*) FILTER (WHERE \
                 stream < $1 OR stream >= $2 OR off < $3 OR off >= $4 OR body <> \
                 stream || '/' || off) FROM {table}"
            ),
            &[
                &i64::try_from(streams.start).unwrap(),
                &i64::try_from(streams.end).unwrap(),
                &i64::try_from(offsets.start).unwrap(),
                &i64::try_from(offsets.end).unwrap(),
            ],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

async fn drop_tables(c: &tokio_postgres::Client, tables: &[&str]) {
    for t in tables {
        c.batch_execute(&format!("DROP TABLE IF EXISTS {t}"))
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_of_committed_positions_writes_nothing_and_reports_committed() {
    let c = pg::client().await;
    let (table, ledger) = tables(&c, "ledger_replay").await;
    let (first, l1) = replay(ledger_sink(&table, &ledger), 0..4, 0..2_500, 3_000).await;
    assert_eq!(first.committed.rows, 10_000);
    assert_eq!((l1.rows_written(), l1.rows_skipped()), (10_000, 0));
    // Another sink (a restarted process) replays the same positions in other batches.
    let (again, l2) = replay(ledger_sink(&table, &ledger), 0..4, 0..2_500, 700).await;
    assert_eq!(again.committed.rows, 10_000, "{again:?}");
    assert_eq!(again.failed.rows, 0);
    assert_eq!((l2.rows_written(), l2.rows_skipped()), (0, 10_000));
    assert_eq!(l2.batches_skipped(), again.batches_committed, "{again:?}");
    assert_eq!(
        read_back(&c, &table, 0..4, 0..2_500).await,
        (10_000, 10_000, 0)
    );
    // The first run's ledger rows hold each position once (at least one row per stream
    // and batch; more when a batch holds a stream's offsets in several runs); the
    // replay added none.
    let row = c
        .query_one(
            &format!("SELECT count(*), sum(last_offset - first_offset + 1)::int8 FROM {ledger}"),
            &[],
        )
        .await
        .unwrap();
    let (ledger_rows, offsets): (i64, i64) = (row.get(0), row.get(1));
    assert!(ledger_rows >= 4 * i64::try_from(first.batches_committed).unwrap());
    assert_eq!(offsets, 10_000);
    drop_tables(&c, &[&table, &ledger]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_overlap_writes_only_the_new_rows() {
    let c = pg::client().await;
    let (table, ledger) = tables(&c, "ledger_overlap").await;
    replay(ledger_sink(&table, &ledger), 0..3, 0..1_200, 1_000).await;
    // Offsets 900..2,000: 300 of each stream are in the table.
    let (stats, l) = replay(ledger_sink(&table, &ledger), 0..3, 900..2_000, 1_000).await;
    assert_eq!(stats.committed.rows, 3 * 1_100);
    assert_eq!((l.rows_written(), l.rows_skipped()), (3 * 800, 3 * 300));
    assert_eq!(
        read_back(&c, &table, 0..3, 0..2_000).await,
        (6_000, 6_000, 0)
    );
    drop_tables(&c, &[&table, &ledger]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_batchers_replaying_the_same_positions_at_once_write_each_row_once() {
    let c = pg::client().await;
    let (table, ledger) = tables(&c, "ledger_race").await;
    // The ledger exists before both start, so that both race on rows only.
    pg::prepare::<Msg>(ledger_sink(&table, &ledger))
        .await
        .unwrap();
    let ((s1, l1), (s2, l2)) = tokio::join!(
        replay(ledger_sink(&table, &ledger), 0..4, 0..5_000, 1_000),
        replay(ledger_sink(&table, &ledger), 0..4, 0..5_000, 1_500),
    );
    eprintln!("{l1:?} {l2:?}");
    assert_eq!(s1.committed.rows + s2.committed.rows, 40_000);
    assert_eq!(l1.rows_written() + l2.rows_written(), 20_000);
    assert_eq!(l1.rows_skipped() + l2.rows_skipped(), 20_000);
    assert_eq!(
        read_back(&c, &table, 0..4, 0..5_000).await,
        (20_000, 20_000, 0)
    );
    drop_tables(&c, &[&table, &ledger]).await;
}

/// Streams rows without positions through a proxy that stalls the first `COMMIT`
/// (`stall`), with the ledger and 3 s attempts; checks that every row is stored once.
async fn commit_in_doubt(prefix: &str, stall: Stall) -> Stats {
    const N: u64 = 20_000;
    let c = pg::client().await;
    let (table, ledger) = tables(&c, prefix).await;
    let proxy = Proxy::start(pg::host_port(&pg::url())).await;
    let sink = PostgresSink::builder(pg::config_via(&pg::url(), proxy.port()))
        .pool_size(3)
        .build()
        .unwrap()
        .table(&table)
        .ledger(&ledger)
        .create_ledger(true);
    let failed = Arc::new(Mutex::new(Vec::<FailedBatch>::new()));
    let dead = failed.clone();
    let handle = Batcher::builder(sink)
        .max_rows(5_000)
        .retry(RetryPolicy::default().attempt_timeout(Duration::from_secs(3)))
        .dead_letter(move |b| dead.lock().unwrap().push(b))
        .spawn::<Msg>()
        .await
        .unwrap();
    proxy.stall(COMMIT, &[stall]);
    for off in 0..N {
        handle.insert(msg(0, off)).await.unwrap();
    }
    let stats = timeout(Duration::from_secs(60), handle.close())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(proxy.stalled(), 1);
    drop(proxy);
    eprintln!("{stats:?}");
    assert!(failed.lock().unwrap().is_empty());
    assert_eq!(stats.committed.rows, N, "{stats:?}");
    assert_eq!(read_back(&c, &table, 0..1, 0..N).await, (20_000, 20_000, 0));
    // Rows without a position are recorded under negative streams.
    let positive: i64 = c
        .query_one(
            &format!("SELECT count(*) FROM {ledger} WHERE stream >= 0"),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(positive, 0);
    drop_tables(&c, &[&table, &ledger]).await;
    stats
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_whose_answer_never_comes_is_found_in_the_ledger() {
    let stats = commit_in_doubt("ledger_answer", Stall::Answer).await;
    assert_eq!(stats.retries, 0, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_that_never_reaches_the_server_is_missing_from_the_ledger_and_sent_again() {
    // The backend holds the transaction (and the streams' locks) open: the sink ends it,
    // finds the ledger without the batch, and the batch is sent again.
    let stats = commit_in_doubt("ledger_request", Stall::Request).await;
    assert_eq!(stats.retries, 1, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_malformed_ledger_is_a_config_error_and_create_ledger_makes_one() {
    let c = pg::client().await;
    let (table, ledger) = tables(&c, "ledger_check").await;
    let e = pg::prepare::<Msg>(pg::sink(&table).ledger(&ledger))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), SinkErrorKind::Config, "{e}");
    assert!(e.to_string().contains("does not exist"), "{e}");
    assert!(e.to_string().contains("create_ledger(true)"), "{e}");

    c.batch_execute(&format!(
        "CREATE TABLE {ledger} (stream int8 NOT NULL, first_offset int4 NOT NULL, \
         batch text NOT NULL, note text NOT NULL)"
    ))
    .await
    .unwrap();
    let e = pg::prepare::<Msg>(pg::sink(&table).ledger(&ledger))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), SinkErrorKind::Config, "{e}");
    let text = e.to_string();
    for part in [
        "`first_offset` is integer, not bigint",
        "`last_offset` (bigint) is missing",
        "`note` is NOT NULL without a default",
    ] {
        assert!(text.contains(part), "{part}: {text}");
    }

    c.batch_execute(&format!("DROP TABLE {ledger}"))
        .await
        .unwrap();
    pg::prepare::<Msg>(pg::sink(&table).ledger(&ledger).create_ledger(true))
        .await
        .unwrap();
    let index: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_indexes WHERE tablename = $1",
            &[&ledger],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(index, 1);
    drop_tables(&c, &[&table, &ledger]).await;
}

/// Makes this test binary the consumer of `examples/offsets.rs` when the crash test
/// runs it as a child: the environment variable holds the consumer's configuration.
/// Does nothing otherwise.
const CHILD: &str = "BATCHROW_LEDGER_CRASH_CHILD";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_child() {
    let Ok(spec) = std::env::var(CHILD) else {
        return;
    };
    let config = child_config(&spec);
    let report = offsets::consume(&config).await.unwrap();
    eprintln!("child finished without being killed: {report:?}");
}

fn child_spec(c: &offsets::Config) -> String {
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}\n{}",
        c.url,
        c.table,
        c.ledger,
        c.state.display(),
        c.per_partition,
        c.batch_rows,
        c.pace.as_millis()
    )
}

fn child_config(spec: &str) -> offsets::Config {
    let v: Vec<&str> = spec.lines().collect();
    offsets::Config {
        url: v[0].into(),
        table: v[1].into(),
        ledger: v[2].into(),
        state: v[3].into(),
        per_partition: v[4].parse().unwrap(),
        batch_rows: v[5].parse().unwrap(),
        pace: Duration::from_millis(v[6].parse().unwrap()),
        crash_after_commits: None,
    }
}

/// The server's URL with the host and port of a proxy on 127.0.0.1.
fn url_via(port: u16) -> String {
    let config: tokio_postgres::Config = pg::url().parse().unwrap();
    format!(
        "postgres://{}:{}@127.0.0.1:{port}/{}",
        config.get_user().unwrap(),
        String::from_utf8_lossy(config.get_password().unwrap_or_default()),
        config.get_dbname().unwrap()
    )
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_killed_with_a_commit_in_doubt_stores_every_message_once_after_restart() {
    use std::os::unix::process::ExitStatusExt;

    const PER_PARTITION: u64 = 20_000;
    let c = pg::client().await;
    let table = pg::unique("ledger_crash");
    let ledger = format!("{table}_ledger");
    offsets::fresh_tables(&c, &table, &ledger).await.unwrap();
    let state = std::env::temp_dir().join(format!("{table}.offsets"));
    let _ = std::fs::remove_file(&state);
    let proxy = Proxy::start(pg::host_port(&pg::url())).await;
    let config = offsets::Config {
        url: url_via(proxy.port()),
        table: table.clone(),
        ledger: ledger.clone(),
        state: state.clone(),
        per_partition: PER_PARTITION,
        batch_rows: 4_000,
        pace: Duration::from_millis(10),
        crash_after_commits: None,
    };
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "ledger::crash_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, child_spec(&config))
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();

    // Once the child has saved offsets (a batch committed and acknowledged), the next
    // COMMIT reaches the server and its answer never comes back.
    let bound = Instant::now() + Duration::from_secs(30);
    while offsets::load_offsets(&state).unwrap().iter().sum::<u64>() == 0 {
        assert!(Instant::now() < bound, "the child saved no offsets");
        assert!(child.try_wait().unwrap().is_none(), "the child ended early");
        sleep(Duration::from_millis(10)).await;
    }
    proxy.stall(COMMIT, &[Stall::Answer]);
    while proxy.stalled() == 0 {
        assert!(Instant::now() < bound, "no COMMIT was stalled");
        assert!(child.try_wait().unwrap().is_none(), "the child ended early");
        sleep(Duration::from_millis(5)).await;
    }
    // Let the server finish the COMMIT it received, then kill the child waiting for
    // the answer.
    sleep(Duration::from_millis(300)).await;
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "{status:?}");
    drop(proxy);
    // A COMMIT the proxy forwarded before the kill may still be on its way through the
    // server: wait until no session of the dead child holds a lock on the table, so the
    // read below sees the table as the restart will.
    timeout(Duration::from_secs(30), async {
        loop {
            let held: i64 = c
                .query_one(
                    "SELECT count(*) FROM pg_locks WHERE relation = $1::text::regclass \
                     AND pid <> pg_backend_pid()",
                    &[&table],
                )
                .await
                .unwrap()
                .get(0);
            if held == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap();

    let saved = offsets::load_offsets(&state).unwrap();
    let acknowledged: u64 = saved.iter().sum();
    let (rows, distinct, _) = offsets::read_back(&c, &table, PER_PARTITION).await.unwrap();
    assert_eq!(rows, distinct, "duplicates before the restart");
    let in_doubt = u64::try_from(rows).unwrap() - acknowledged;
    eprintln!(
        "killed: saved offsets {saved:?} ({acknowledged} acknowledged), {rows} rows in the \
         table, {in_doubt} committed without an acknowledged offset"
    );
    assert!(
        in_doubt > 0,
        "the stalled COMMIT should have committed rows the child never acknowledged"
    );

    // The restart: the same consumer, from the saved offsets, straight to the server.
    let restart = offsets::Config {
        url: pg::url(),
        pace: Duration::ZERO,
        ..config
    };
    let report = timeout(Duration::from_secs(60), offsets::consume(&restart))
        .await
        .unwrap()
        .unwrap();
    eprintln!("restart: {report:?}");
    assert_eq!(report.resumed_from, saved);
    assert_eq!(report.inserted, 4 * PER_PARTITION - acknowledged);
    assert_eq!(report.skipped, in_doubt, "{report:?}");
    assert_eq!(
        report.written,
        4 * PER_PARTITION - u64::try_from(rows).unwrap()
    );
    assert_eq!(report.committed, vec![PER_PARTITION; 4]);
    let total = i64::try_from(4 * PER_PARTITION).unwrap();
    assert_eq!(
        offsets::read_back(&c, &table, PER_PARTITION).await.unwrap(),
        (total, total, 0)
    );
    let _ = std::fs::remove_file(&state);
    drop_tables(&c, &[&table, &ledger]).await;
}

/// Every (stream, offset) the ledger holds, in order.
async fn coverage(c: &tokio_postgres::Client, ledger: &str) -> Vec<(i64, i64)> {
    c.query(
        &format!(
            "SELECT stream, o FROM {ledger}, generate_series(first_offset, last_offset) AS o \
             ORDER BY 1, 2"
        ),
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_keeps_every_position_while_a_batcher_writes() {
    use batchrow::postgres::compact_ledger;
    let c = pg::client().await;
    let (table, ledger) = tables(&c, "ledger_compact").await;
    // 4 streams × offsets 0..3,000 in batches of 250, and 4,000..5,000 of stream 0 (a
    // gap before it).
    replay(ledger_sink(&table, &ledger), 0..4, 0..3_000, 250).await;
    replay(ledger_sink(&table, &ledger), 0..1, 4_000..5_000, 250).await;
    let before = coverage(&c, &ledger).await;
    assert_eq!(before.len(), 13_000);
    let done = compact_ledger(&c, &ledger).await.unwrap();
    assert!(done.rows_before >= 52, "{done:?}");
    // Stream 0: 0..=2,999 and 4,000..=4,999; streams 1 to 3: one run each.
    assert_eq!(done.rows_after, 5, "{done:?}");
    assert_eq!(coverage(&c, &ledger).await, before);
    let rows: i64 = c
        .query_one(&format!("SELECT count(*) FROM {ledger}"), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 5);
    // Compacting while a batcher writes offsets 3,000..6,000 of every stream (stream 0's
    // 4,000..5,000 are in the ledger already).
    let writer = tokio::spawn(replay(
        ledger_sink(&table, &ledger),
        0..4,
        3_000..6_000,
        100,
    ));
    let mut compactions = 0;
    while !writer.is_finished() {
        compact_ledger(&c, &ledger).await.unwrap();
        compactions += 1;
        sleep(Duration::from_millis(5)).await;
    }
    let (stats, written) = writer.await.unwrap();
    assert_eq!(stats.committed.rows, 12_000, "{stats:?}");
    assert_eq!(
        (written.rows_written(), written.rows_skipped()),
        (11_000, 1_000)
    );
    let done = compact_ledger(&c, &ledger).await.unwrap();
    assert_eq!(done.rows_after, 4, "{done:?}");
    assert_eq!(coverage(&c, &ledger).await.len(), 24_000);
    assert_eq!(
        read_back(&c, &table, 0..4, 0..6_000).await,
        (24_000, 24_000, 0)
    );
    // A replay of everything after the compactions writes nothing.
    let (_, again) = replay(ledger_sink(&table, &ledger), 0..4, 0..6_000, 1_000).await;
    assert_eq!((again.rows_written(), again.rows_skipped()), (0, 24_000));
    eprintln!(
        "[compaction] {compactions} compactions while 12,000 rows were written; \
         ledger rows {} -> {}",
        done.rows_before, done.rows_after
    );
    drop_tables(&c, &[&table, &ledger]).await;
}
