//! PostgreSQL failover with the DEFAULT batcher and sink settings: a sink with a
//! multi-host URL (`postgres://…@127.0.0.1:P1,127.0.0.1:P2/batchrow?
//! target_session_attrs=read-write`) streams 200,000 rows from 4 producers into the
//! primary; mid-stream the primary is stopped and its streaming standby promoted (each
//! COPY ends with a 0.7 s pause, a statement trigger, so that the stop meets a
//! transaction under way rather than an idle pool). The
//! sink's connections to the old primary fail and are dropped, new ones reach the
//! promoted standby (the only host that accepts writes), and the table, read back by id
//! from the new primary, holds every row. Duplicates are counted and must be 0: a batch
//! whose `COMMIT` answer was lost is looked up with `txid_status` on the new primary,
//! which replayed every WAL record the old one wrote before its clean shutdown. Figures
//! (time to fail over, retries, duplicates) go to stderr (`--nocapture`).
//!
//! **What it needs.** Root and the PostgreSQL 15 packages that `scripts/postgres.sh`
//! installs. The test runs a primary and a standby of its own with
//! `scripts/pg-instance.sh start` and `standby` (`pg_basebackup -R`) on 127.0.0.1 ports
//! 55631 and 55632, stops the primary and runs `promote` on the standby, and drops both
//! clusters at the end, also when it fails. The shared server of
//! `BATCHROW_POSTGRES_URL` is not used.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use batchrow_test_support::counting;

use std::time::Duration;

use batchrow::postgres::PostgresSink;
use batchrow::{BatchRow, Batcher, SinkErrorKind};
use counting::Counting;
use tokio::time::{sleep, sleep_until, timeout, Instant};
use tokio_postgres::NoTls;

const ROWS: i64 = 200_000;
const PRODUCERS: i64 = 4;
const PRIMARY: (&str, u16) = ("failover_primary", 55631);
const STANDBY: (&str, u16) = ("failover_standby", 55632);
/// The producers spread their rows over this long.
const STREAM: Duration = Duration::from_secs(8);
const CALL_BOUND: Duration = Duration::from_secs(200);

#[derive(BatchRow, Debug, Clone)]
#[batch(table = "failover_events")]
struct Event {
    id: i64,
    producer: i16,
    name: String,
}

/// Runs `scripts/pg-instance.sh ARGS`, off the runtime's threads; panics if it fails.
async fn instance(args: &[&str]) {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    tokio::task::spawn_blocking(move || instance_now(&args))
        .await
        .unwrap();
}

fn instance_now(args: &[String]) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/pg-instance.sh");
    let out = std::process::Command::new("bash")
        .arg(script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {script}: {e}"));
    assert!(
        out.status.success(),
        "{script} {} failed: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Both clusters; dropped (stopped and removed) when the value is dropped.
struct Pair;

impl Drop for Pair {
    fn drop(&mut self) {
        for (name, port) in [STANDBY, PRIMARY] {
            let _ = std::process::Command::new("bash")
                .arg(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/scripts/pg-instance.sh"
                ))
                .args(["drop", name, &port.to_string()])
                .output();
        }
    }
}

fn url(ports: &[u16]) -> String {
    let hosts: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    format!(
        "postgres://batchrow:batchrow@{}/batchrow?target_session_attrs=read-write",
        hosts.join(",")
    )
}

async fn connect(port: u16) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&url(&[port]), NoTls).await.unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn promoting_the_standby_mid_stream_loses_nothing() {
    let pair = Pair;
    let p = PRIMARY.1.to_string();
    let s = STANDBY.1.to_string();
    instance(&["drop", STANDBY.0, &s]).await;
    instance(&["drop", PRIMARY.0, &p]).await;
    instance(&["start", PRIMARY.0, &p]).await;
    connect(PRIMARY.1)
        .await
        .batch_execute(
            "CREATE TABLE failover_events (id int8 NOT NULL, producer int2 NOT NULL, \
             name text NOT NULL); \
             CREATE FUNCTION failover_pause() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN PERFORM pg_sleep(0.7); RETURN NULL; END $$; \
             CREATE TRIGGER pause AFTER INSERT ON failover_events \
             FOR EACH STATEMENT EXECUTE FUNCTION failover_pause();",
        )
        .await
        .unwrap();
    let standby_started = std::time::Instant::now();
    instance(&["standby", STANDBY.0, &s, &p]).await;
    eprintln!(
        "[failover] standby ready in {:.1?}",
        standby_started.elapsed()
    );

    let sink = PostgresSink::new(&url(&[PRIMARY.1, STANDBY.1])).unwrap();
    let (sink, log) = Counting::new(sink);
    let handle = timeout(CALL_BOUND, Batcher::builder(sink).spawn::<Event>())
        .await
        .unwrap()
        .unwrap();
    let began = Instant::now();
    let fault = tokio::spawn({
        let (p, s) = (p.clone(), s.clone());
        async move {
            sleep(Duration::from_secs(2)).await;
            let stopped = Instant::now();
            instance(&["stop", PRIMARY.0, &p]).await;
            instance(&["promote", STANDBY.0, &s]).await;
            (stopped, Instant::now())
        }
    });
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|k| {
            let handle = handle.clone();
            tokio::spawn(async move {
                let per_producer = ROWS / PRODUCERS;
                let mut done = 0i64;
                for id in (k..ROWS).step_by(usize::try_from(PRODUCERS).unwrap()) {
                    let row = Event {
                        id,
                        producer: i16::try_from(k).unwrap(),
                        name: format!("event-{id}"),
                    };
                    timeout(CALL_BOUND, handle.insert(row))
                        .await
                        .expect("an insert did not return within its bound")
                        .unwrap();
                    done += 1;
                    if done % 500 == 0 {
                        let due = STREAM.mul_f64(done as f64 / per_producer as f64);
                        sleep_until(began + due).await;
                    }
                }
            })
        })
        .collect();
    for p in producers {
        p.await.unwrap();
    }
    let stats = timeout(CALL_BOUND, handle.close())
        .await
        .expect("close did not return within its bound")
        .unwrap();
    let (stopped, promoted) = fault.await.unwrap();
    let took = began.elapsed();

    let c = connect(STANDBY.1).await;
    let row = c
        .query_one(
            "SELECT count(*), count(DISTINCT id), \
             count(DISTINCT id) FILTER (WHERE id >= 0 AND id < $1) FROM failover_events",
            &[&ROWS],
        )
        .await
        .unwrap();
    let (rows, distinct, in_range): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    let log = log.lock().unwrap();
    let failover = log.recovered(stopped);
    eprintln!(
        "[failover] rows {ROWS}: committed {}, failed {}, stored {rows}, duplicates {}, \
         missing {}; sends {}, retries {}, retryable errors {}, possibly persisted {}; the \
         primary stopped and the standby promoted in {:.1?}; first commit on the new \
         primary {} after the stop; wall {took:.1?}",
        stats.committed.rows,
        stats.failed.rows,
        rows - distinct,
        ROWS - in_range,
        log.sends(),
        stats.retries,
        log.errors(SinkErrorKind::Retryable),
        log.errors(SinkErrorKind::PossiblyPersisted),
        promoted - stopped,
        failover.map_or_else(|| "n/a".to_owned(), |d| format!("{d:.1?}")),
    );
    assert_eq!(in_range, ROWS, "rows were lost");
    assert_eq!(
        stats.committed.rows,
        u64::try_from(ROWS).unwrap(),
        "{stats:?}"
    );
    assert!(stats.is_conserved(), "{stats:?}");
    assert!(stats.retries > 0, "the failover hit no send");
    assert_eq!(rows - distinct, 0, "rows stored twice");
    drop(pair);
}

/// The clusters of concurrent tests do not disturb one another: while one cluster is
/// created and dropped again and again, another's status reads `online` every time,
/// with nothing on stderr. Without the lock around the cluster inventory
/// (`inventory` in `scripts/lib.sh`), `pg_lsclusters` warned about, or failed on, the
/// cluster being created or dropped (in 2 of 501 reads; this test failed in one of two
/// runs), which failed the failover test once in CI.
#[test]
fn concurrent_cluster_changes_leave_other_clusters_readable() {
    const STEADY: (&str, u16) = ("inventory_steady", 55693);
    const CHURN: (&str, u16) = ("inventory_churn", 55694);
    let run = |args: &[&str]| {
        std::process::Command::new("bash")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/scripts/pg-instance.sh"
            ))
            .args(args)
            .output()
            .unwrap()
    };
    let (steady, churn) = (STEADY.1.to_string(), CHURN.1.to_string());
    run(&["drop", CHURN.0, &churn]);
    assert!(run(&["start", STEADY.0, &steady]).status.success());
    let churning = std::thread::spawn(move || {
        for _ in 0..3 {
            assert!(run(&["start", CHURN.0, &churn]).status.success());
            assert!(run(&["drop", CHURN.0, &churn]).status.success());
        }
    });
    let mut reads = 0;
    while !churning.is_finished() {
        let out = run(&["status", STEADY.0, &steady]);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(
            out.status.success() && stdout.trim() == "online" && stderr.is_empty(),
            "read {reads}: {stdout}{stderr}"
        );
        reads += 1;
    }
    churning.join().unwrap();
    run(&["drop", STEADY.0, &steady]);
    eprintln!("[inventory] {reads} reads while a cluster was created and dropped 3 times");
    assert!(reads > 10, "only {reads} reads");
}
