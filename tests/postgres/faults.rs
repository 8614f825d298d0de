//! Fault tests of the PostgreSQL sink with real faults on a real server, with the
//! batcher's DEFAULT settings: 200,000 rows from 4 producer tasks each, while the
//! server is restarted (fast and immediate shutdown), stopped for 10 s, loses the
//! answer to a COMMIT and then is out of reach for 15 s, or is sent a row its CHECK
//! constraint refuses. Afterwards the table is read back by id: no row lost, none
//! stored twice, and the batcher's accounting adds up (`accepted = committed + failed +
//! in_buffer`). Every insert and close must return within a generous bound. Each
//! scenario prints its figures (rows, faults, retries, duplicates, time to recover)
//! to stderr; run with `--nocapture` to see them.
//!
//! **What it needs.** The PostgreSQL 15 packages that `scripts/postgres.sh` installs, and
//! root (or sudo): each scenario runs a cluster of its own, created, started, restarted,
//! stopped and finally dropped with `scripts/pg-instance.sh` (which uses
//! `pg_createcluster` and `pg_ctlcluster`), on ports 55601 to 55605 of 127.0.0.1, so
//! the faults never touch the shared server of `BATCHROW_POSTGRES_URL`. The scenarios
//! run in parallel, each on its own cluster.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use batchrow_test_support::counting;
use batchrow_test_support::postgres as pg;
use batchrow_test_support::proxy;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use batchrow::postgres::PostgresSink;
use batchrow::{BatchRow, Batcher, Builder, FailedBatch, SinkErrorKind, Stats};
use counting::{Counting, Log};
use proxy::Proxy;
use tokio::time::{sleep, sleep_until, timeout, Instant};
use tokio_postgres::{Client, NoTls};

/// Rows per scenario.
const ROWS: i64 = 200_000;
const PRODUCERS: i64 = 4;
/// The producers spread their rows over this long, so that faults land mid-stream.
const STREAM: Duration = Duration::from_secs(6);
/// Generous bounds for a loaded two-core machine: one insert, and the close (the retry
/// deadline is 120 s, the commit-status window 60 s).
const INSERT_BOUND: Duration = Duration::from_secs(60);
const CLOSE_BOUND: Duration = Duration::from_secs(200);
/// The marker of the sink's `COMMIT`.
const COMMIT: &[u8] = b"COMMIT\0";

#[derive(BatchRow, Debug, Clone)]
struct Event {
    id: i64,
    producer: i16,
    score: i64,
    name: String,
}

fn event(id: i64) -> Event {
    Event {
        id,
        producer: i16::try_from(id % PRODUCERS).unwrap(),
        score: id,
        name: format!("event-{id}"),
    }
}

/// A PostgreSQL cluster of the test's own, run by `scripts/pg-instance.sh`; dropped
/// (stopped and removed) when the value is dropped.
struct Cluster {
    name: String,
    port: u16,
}

/// Runs `scripts/pg-instance.sh CMD NAME PORT`, panicking if it fails.
fn instance(cmd: &str, name: &str, port: u16) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/pg-instance.sh");
    let out = std::process::Command::new("bash")
        .args([script, cmd, name, &port.to_string()])
        .output()
        .unwrap_or_else(|e| panic!("running {script}: {e}"));
    assert!(
        out.status.success(),
        "{script} {cmd} {name} {port} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Cluster {
    async fn start(name: &str, port: u16) -> Cluster {
        let cluster = Cluster {
            name: name.to_owned(),
            port,
        };
        cluster.run("start").await;
        cluster
    }

    /// Runs a `pg-instance.sh` command on the cluster, off the runtime's threads.
    async fn run(&self, cmd: &'static str) {
        let (name, port) = (self.name.clone(), self.port);
        tokio::task::spawn_blocking(move || instance(cmd, &name, port))
            .await
            .unwrap();
    }

    fn url(&self) -> String {
        format!(
            "postgres://batchrow:batchrow@127.0.0.1:{}/batchrow",
            self.port
        )
    }

    async fn client(&self) -> Client {
        let (client, conn) = tokio_postgres::connect(&self.url(), NoTls).await.unwrap();
        tokio::spawn(async move {
            let _ = conn.await;
        });
        client
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        instance("drop", &self.name, self.port);
    }
}

/// A fresh table for [`Event`] on `c`, without a primary key (a row stored twice shows
/// as a duplicate), and with a CHECK constraint that refuses a negative score.
///
/// With `slow`, each COPY into it ends with a 1 s pause (a statement trigger), so that
/// a transaction is nearly always open when a fault strikes: the fault then meets a
/// send mid-COPY, not an idle pool.
async fn event_table(c: &Client, slow: bool) -> String {
    let table = pg::unique("faults");
    c.batch_execute(&format!(
        "CREATE TABLE {table} (id int8 NOT NULL, producer int2 NOT NULL, \
         score int8 NOT NULL CHECK (score >= 0), name text NOT NULL)"
    ))
    .await
    .unwrap();
    if slow {
        c.batch_execute(&format!(
            "CREATE FUNCTION {table}_pause() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN PERFORM pg_sleep(1); RETURN NULL; END $$; \
             CREATE TRIGGER pause AFTER INSERT ON {table} \
             FOR EACH STATEMENT EXECUTE FUNCTION {table}_pause();"
        ))
        .await
        .unwrap();
    }
    table
}

/// Waits until a send starts after `after` from now, and then a little more, so that
/// the send is under way.
async fn mid_send(log: &Mutex<Log>, after: Duration) {
    sleep(after).await;
    let seen = log.lock().unwrap().started;
    while log.lock().unwrap().started == seen {
        sleep(Duration::from_millis(5)).await;
    }
    sleep(Duration::from_millis(100)).await;
}

/// When the fault began and when it was over (the server back), and how many faults
/// were injected.
#[derive(Debug, Clone, Copy)]
struct Fault {
    began: Instant,
    over: Instant,
    injected: u32,
}

/// What a scenario ended with.
struct Run {
    stats: Stats,
    back: pg::Readback,
    log: Arc<Mutex<Log>>,
    failed: Vec<FailedBatch>,
    fault: Option<Fault>,
    took: Duration,
}

type PgBuilder = Builder<Counting<PostgresSink>>;

/// Streams events `0..ROWS` from 4 paced producers (row `poison`, if any, with a score
/// the table refuses) through a batcher built by `configure` on `sink`, while `fault`
/// runs; closes, and reads the table back.
async fn stream<F, Fut>(
    cluster: &Cluster,
    table: &str,
    sink: PostgresSink,
    configure: impl FnOnce(PgBuilder) -> PgBuilder,
    poison: Option<i64>,
    pace: bool,
    fault: F,
) -> Run
where
    F: FnOnce(Arc<Mutex<Log>>) -> Fut,
    Fut: Future<Output = Fault> + Send + 'static,
{
    let began = Instant::now();
    let (sink, log) = Counting::new(sink);
    let failed = Arc::new(Mutex::new(Vec::new()));
    let dead = failed.clone();
    let handle = configure(Batcher::builder(sink))
        .dead_letter(move |b| dead.lock().unwrap().push(b))
        .spawn::<Event>()
        .await
        .unwrap();
    let fault = tokio::spawn(fault(log.clone()));
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let handle = handle.clone();
            tokio::spawn(async move {
                let start = Instant::now();
                let per_producer = ROWS / PRODUCERS;
                let mut id = p;
                let mut done: i64 = 0;
                while id < ROWS {
                    let mut row = event(id);
                    if Some(id) == poison {
                        row.score = -1;
                    }
                    timeout(INSERT_BOUND, handle.insert(row))
                        .await
                        .expect("an insert did not return within its bound")
                        .unwrap();
                    id += PRODUCERS;
                    done += 1;
                    if pace && done % 500 == 0 {
                        let due = STREAM.mul_f64(done as f64 / per_producer as f64);
                        sleep_until(start + due).await;
                    }
                }
            })
        })
        .collect();
    for p in producers {
        p.await.unwrap();
    }
    let stats = timeout(CLOSE_BOUND, handle.close())
        .await
        .expect("close did not return within its bound")
        .unwrap();
    let fault = timeout(CLOSE_BOUND, fault)
        .await
        .expect("the fault did not end")
        .unwrap();
    let took = began.elapsed();
    let c = cluster.client().await;
    let back = pg::read_ids(&c, table, ROWS).await;
    let failed = std::mem::take(&mut *failed.lock().unwrap());
    Run {
        stats,
        back,
        log,
        failed,
        fault: Some(fault).filter(|f| f.injected > 0),
        took,
    }
}

impl Run {
    /// Prints the scenario's figures for the closing note.
    fn report(&self, scenario: &str) {
        let log = self.log.lock().unwrap();
        let recovery = self.fault.and_then(|f| log.recovered(f.began));
        eprintln!(
            "FIGURES {scenario}: rows {ROWS}, faults injected {}, sends {}, retries {}, \
             retryable errors {}, possibly persisted {}, permanent {}, committed {}, failed {}, \
             duplicates {}, missing {}, fault lasted {}, time to recover {}, wall {:.1?}",
            self.fault.map_or(0, |f| f.injected),
            log.sends(),
            self.stats.retries,
            log.errors(SinkErrorKind::Retryable),
            log.errors(SinkErrorKind::PossiblyPersisted),
            log.errors(SinkErrorKind::Permanent),
            self.stats.committed.rows,
            self.stats.failed.rows,
            self.back.duplicates(),
            ROWS - self.back.in_range,
            self.fault
                .map_or_else(|| "n/a".to_owned(), |f| format!("{:.1?}", f.over - f.began)),
            recovery.map_or_else(|| "n/a".to_owned(), |d| format!("{d:.1?}")),
            self.took,
        );
    }

    /// Nothing lost, nothing twice, everything accounted for, nothing failed.
    fn assert_whole(&self) {
        let s = &self.stats;
        assert!(s.is_conserved(), "{s:?}");
        assert_eq!(s.accepted.rows, ROWS as u64, "{s:?}");
        assert_eq!(s.in_buffer.rows, 0, "{s:?}");
        assert_eq!(s.failed.rows, 0, "{s:?}\n{:#?}", self.failed);
        assert_eq!(s.committed.rows, ROWS as u64, "{s:?}");
        assert_eq!(
            self.back.duplicates(),
            0,
            "rows stored twice: {:?}",
            self.back
        );
        assert_eq!(self.back.in_range, ROWS, "rows lost: {:?}", self.back);
        assert_eq!(self.back.rows, ROWS, "{:?}", self.back);
    }
}

/// A fault that runs `cmd` on the cluster during the first send that starts `after`
/// the stream began.
async fn restart(
    log: Arc<Mutex<Log>>,
    cluster_name: String,
    port: u16,
    cmd: &'static str,
    after: Duration,
) -> Fault {
    mid_send(&log, after).await;
    let began = Instant::now();
    tokio::task::spawn_blocking(move || instance(cmd, &cluster_name, port))
        .await
        .unwrap();
    Fault {
        began,
        over: Instant::now(),
        injected: 1,
    }
}

async fn restart_mid_stream(name: &str, port: u16, cmd: &'static str) {
    let cluster = Cluster::start(name, port).await;
    let table = event_table(&cluster.client().await, true).await;
    let sink = PostgresSink::new(&cluster.url()).unwrap().table(&table);
    let (n, p) = (cluster.name.clone(), cluster.port);
    let run = stream(
        &cluster,
        &table,
        sink,
        |b| b,
        None,
        true,
        move |log| restart(log, n, p, cmd, Duration::from_secs(2)),
    )
    .await;
    run.report(name);
    run.assert_whole();
    assert!(
        run.stats.retries > 0,
        "the restart cost no retry: {:?}",
        run.stats
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fast_restart_mid_stream_loses_and_duplicates_nothing() {
    restart_mid_stream("batchrow_faults_fast", 55601, "restart-fast").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_immediate_restart_mid_stream_loses_and_duplicates_nothing() {
    restart_mid_stream("batchrow_faults_immediate", 55602, "restart-immediate").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_stopped_for_10_s_loses_and_duplicates_nothing() {
    let cluster = Cluster::start("batchrow_faults_stopped", 55603).await;
    let table = event_table(&cluster.client().await, true).await;
    let sink = PostgresSink::new(&cluster.url()).unwrap().table(&table);
    let (n, p) = (cluster.name.clone(), cluster.port);
    let run = stream(
        &cluster,
        &table,
        sink,
        |b| b,
        None,
        true,
        move |log| async move {
            mid_send(&log, Duration::from_secs(2)).await;
            let began = Instant::now();
            let name = n.clone();
            tokio::task::spawn_blocking(move || instance("stop", &name, p))
                .await
                .unwrap();
            sleep_until(began + Duration::from_secs(10)).await;
            tokio::task::spawn_blocking(move || instance("start", &n, p))
                .await
                .unwrap();
            Fault {
                began,
                over: Instant::now(),
                injected: 1,
            }
        },
    )
    .await;
    run.report("stopped for 10 s");
    run.assert_whole();
    assert!(run.stats.retries > 0, "{:?}", run.stats);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_commit_answer_then_a_15_s_outage_loses_and_duplicates_nothing() {
    let cluster = Cluster::start("batchrow_faults_lost_commit", 55604).await;
    let table = event_table(&cluster.client().await, false).await;
    let proxy = Arc::new(Proxy::start(("127.0.0.1".to_owned(), cluster.port)).await);
    let sink = PostgresSink::builder(pg::config_via(&cluster.url(), proxy.port()))
        .build()
        .unwrap()
        .table(&table);
    let (n, p) = (cluster.name.clone(), cluster.port);
    let fault_proxy = proxy.clone();
    let run = stream(
        &cluster,
        &table,
        sink,
        |b| b,
        None,
        true,
        move |_| async move {
            let proxy = fault_proxy;
            sleep(Duration::from_millis(1500)).await;
            // The server commits the next batch, and its answer is lost; from that moment
            // the server is out of reach (the proxy refuses connections, and the server is
            // stopped) for 15 s, so the sink's commit-status check meets the outage.
            proxy.drop_answers(COMMIT, 1);
            proxy.down_after_dropped_answer();
            while proxy.answers_dropped() == 0 {
                sleep(Duration::from_millis(10)).await;
            }
            let began = Instant::now();
            let name = n.clone();
            tokio::task::spawn_blocking(move || instance("stop", &name, p))
                .await
                .unwrap();
            sleep_until(began + Duration::from_secs(15)).await;
            tokio::task::spawn_blocking(move || instance("start", &n, p))
                .await
                .unwrap();
            proxy.up();
            Fault {
                began,
                over: Instant::now(),
                injected: 2,
            }
        },
    )
    .await;
    run.report("lost COMMIT answer + 15 s outage");
    assert_eq!(proxy.answers_dropped(), 1);
    run.assert_whole();
    let log = run.log.lock().unwrap();
    // The batch whose answer was lost was found committed, not sent again: no attempt
    // ended as possibly persisted.
    assert_eq!(log.errors(SinkErrorKind::PossiblyPersisted), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poisoned_row_is_isolated_in_few_sends() {
    const POISON: i64 = 123_457;
    let cluster = Cluster::start("batchrow_faults_poison", 55605).await;
    let table = event_table(&cluster.client().await, false).await;
    let sink = PostgresSink::new(&cluster.url()).unwrap().table(&table);
    // isolate_bad_rows is what the scenario is about; the long max_wait only makes sure
    // that the poisoned row's batch holds exactly max_rows (100,000) rows even when a
    // loaded machine encodes slowly.
    let run = stream(
        &cluster,
        &table,
        sink,
        |b| b.isolate_bad_rows(true).max_wait(Duration::from_secs(60)),
        Some(POISON),
        false,
        |_| async {
            Fault {
                began: Instant::now(),
                over: Instant::now(),
                injected: 0,
            }
        },
    )
    .await;
    run.report("poisoned row");
    let s = &run.stats;
    assert!(s.is_conserved(), "{s:?}");
    assert_eq!(s.accepted.rows, ROWS as u64);
    assert_eq!(s.committed.rows, ROWS as u64 - 1, "{s:?}");
    assert_eq!(s.failed.rows, 1, "{s:?}");
    assert_eq!(run.back.duplicates(), 0, "{:?}", run.back);
    assert_eq!(run.back.in_range, ROWS - 1, "{:?}", run.back);
    let c = cluster.client().await;
    let poisoned: i64 = c
        .query_one(
            &format!("SELECT count(*) FROM {table} WHERE id = $1"),
            &[&POISON],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(poisoned, 0);
    // The bad row alone was dead-lettered, with the server's error.
    assert_eq!(run.failed.len(), 1, "{:#?}", run.failed);
    let bad = &run.failed[0];
    assert_eq!(bad.rows(), 1);
    let row = bad.batch().row(0).unwrap();
    // Binary COPY row: field count (2 bytes), then the id's length (4) and value (8).
    assert_eq!(i64::from_be_bytes(row[6..14].try_into().unwrap()), POISON);
    let error = bad.cause().sink_error().unwrap();
    assert_eq!(error.code(), Some("23514"), "{error}");
    assert!(error.is_caused_by_data());
    assert!(error.to_string().contains("check constraint"), "{error}");
    let log = run.log.lock().unwrap();
    let first_refusal = log
        .attempts
        .iter()
        .find(|a| a.error.is_some())
        .expect("no send was refused");
    assert_eq!(first_refusal.rows, 100_000, "{first_refusal:?}");
    assert!(log.sends() <= 18, "{} sends", log.sends());
}
