//! A real ClickHouse cluster, with the DEFAULT batcher and sink settings: a
//! [`ClickHouseSink`] with two endpoints streams at least 200,000 rows from 4 producers
//! while a replica is killed (SIGKILL) and restarted, while answers are dropped after
//! the server stored the batch, while a shard of a `Distributed` table restarts, and
//! from 3 batchers at once with dropped answers. Every scenario reads the tables back
//! from every server and checks each id: none lost, **none stored twice** (a retried
//! batch is byte-identical, so `ReplicatedMergeTree` drops it even on the other
//! replica), and the stats add up. Another test checks that the deduplication hashes
//! the parsed block, not the bytes on the wire (an LZ4 frame and a stored frame or a
//! plain body of the same rows count once), and one measures rows/s into the cluster
//! against one server. Figures go to stderr (`--nocapture`).
//!
//! **What it needs.** Root, the `clickhouse-server` package (ClickHouse 18.16) and the
//! `zookeeper` package (Debian's 3.8, with a headless JRE); `scripts/cluster.sh start`
//! installs what is missing. Each test starts the cluster afresh with
//! `scripts/cluster.sh destroy` and `start` (ZooKeeper on 127.0.0.1:18400, replicas
//! `cluster-r1` on HTTP 18410 and `cluster-r2` on 18420, run by
//! `scripts/clickhouse-instance.sh`), and destroys it when it ends, also when it fails.
//! The tests take turns (they share the cluster's ports), about 100 s in all. The shared
//! server on 8123 and `BATCHROW_CLICKHOUSE_URL` are not used.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use batchrow_test_support::clickhouse as ch;
use batchrow_test_support::counting;
use batchrow_test_support::proxy;

use std::collections::HashMap;
use std::ops::Range;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use batchrow::clickhouse::{ClickHouseSink, InsertFormat};
use batchrow::{BatchRow, Batcher, Schema, Sender, Sink, Stats};
use bytes::Bytes;
use counting::{Counting, Log};
use proxy::Proxy;
use tokio::time::{sleep, timeout, Instant};

const ROWS: u64 = 200_000;
const PRODUCERS: u64 = 4;
/// The replicas: instance name and HTTP port (`scripts/cluster.sh`).
const REPLICAS: [(&str, u16); 2] = [("cluster-r1", 18410), ("cluster-r2", 18420)];
/// Every insert and close must return within this (the default retry deadline is 120 s).
const CALL_BOUND: Duration = Duration::from_secs(160);
/// How long a restarted replica may take to catch up.
const CATCH_UP: Duration = Duration::from_secs(40);

/// The tests take turns: they share the cluster.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[derive(BatchRow, Debug, Clone)]
#[batch(table = "events")]
struct Event {
    id: u64,
    producer: u8,
    payload: String,
}

fn event(id: u64) -> Event {
    Event {
        id,
        producer: u8::try_from(id % PRODUCERS).unwrap(),
        payload: format!("row-{id}"),
    }
}

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(name)
}

/// Runs a script off the runtime's threads, failing the test with its output.
async fn run_script(name: &'static str, args: Vec<String>) -> String {
    tokio::task::spawn_blocking(move || {
        let out = Command::new("bash")
            .arg(script(name))
            .args(&args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run scripts/{name}: {e}"));
        assert!(
            out.status.success(),
            "scripts/{name} {} failed:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    })
    .await
    .unwrap()
}

/// The cluster, fresh for one test; destroyed (every process killed) when dropped.
struct Cluster {
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl Cluster {
    async fn fresh() -> Cluster {
        let turn = TURN.lock().await;
        let cluster = Cluster { _turn: turn };
        run_script("cluster.sh", vec!["destroy".into()]).await;
        let started = std::time::Instant::now();
        run_script("cluster.sh", vec!["start".into()]).await;
        eprintln!(
            "[cluster] started in {:.1?}: {}",
            started.elapsed(),
            memory()
        );
        cluster
    }

    fn url(replica: usize) -> String {
        format!("http://127.0.0.1:{}", REPLICAS[replica].1)
    }

    fn client(replica: usize) -> clickhouse::Client {
        clickhouse::Client::default()
            .with_url(Self::url(replica))
            .with_validation(false)
    }

    async fn instance(command: &str, replica: usize) {
        let (name, port) = REPLICAS[replica];
        let mut args = vec![command.to_owned(), name.to_owned()];
        if command == "start" {
            args.push(port.to_string());
        }
        run_script("clickhouse-instance.sh", args).await;
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Not `run_script`: no runtime is needed, and a panic while unwinding aborts.
        let _ = Command::new("bash")
            .arg(script("cluster.sh"))
            .arg("destroy")
            .output();
    }
}

/// The resident memory of the cluster's processes (ZooKeeper's java and the two
/// servers), from `ps`.
fn memory() -> String {
    let out = Command::new("ps")
        .args(["-eo", "rss=,args="])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let mut parts = Vec::new();
    let mut total = 0u64;
    for line in out.lines() {
        let line = line.trim();
        let Some((rss, args)) = line.split_once(' ') else {
            continue;
        };
        let name = if args.contains("batchrow-cache/cluster/zookeeper") {
            "zookeeper"
        } else if args.contains("clickhouse/cluster-r1/") {
            "r1"
        } else if args.contains("clickhouse/cluster-r2/") {
            "r2"
        } else {
            continue;
        };
        let kb: u64 = rss.parse().unwrap_or(0);
        total += kb;
        parts.push(format!("{name} {} MB", kb / 1024));
    }
    format!("RSS {} ({} MB in all)", parts.join(", "), total / 1024)
}

async fn exec(client: &clickhouse::Client, sql: &str) {
    ch::exec(client, sql).await;
}

/// `db.events` on both replicas, a `ReplicatedMergeTree` of one shard.
async fn replicated_table(db: &str) {
    for r in 0..2 {
        let c = Cluster::client(r);
        exec(&c, &format!("CREATE DATABASE {db}")).await;
        exec(
            &c,
            &format!(
                "CREATE TABLE {db}.events (id UInt64, producer UInt8, payload String) \
                 ENGINE = ReplicatedMergeTree('/clickhouse/tables/{db}/events', '{{replica}}') \
                 ORDER BY id"
            ),
        )
        .await;
    }
}

/// `db.events_local` on each server, a shard of its own (`{shard}` in the ZooKeeper
/// path), and `db.events`, a `Distributed` table over them sharded by `id`.
async fn sharded_tables(db: &str) {
    for r in 0..2 {
        let c = Cluster::client(r);
        exec(&c, &format!("CREATE DATABASE {db}")).await;
        exec(
            &c,
            &format!(
                "CREATE TABLE {db}.events_local (id UInt64, producer UInt8, payload String) \
                 ENGINE = ReplicatedMergeTree('/clickhouse/tables/{{shard}}/{db}/events', \
                 '{{replica}}') ORDER BY id"
            ),
        )
        .await;
        exec(
            &c,
            &format!(
                "CREATE TABLE {db}.events AS {db}.events_local \
                 ENGINE = Distributed(sharded, {db}, events_local, id)"
            ),
        )
        .await;
    }
}

/// A sink with the DEFAULT settings into `db.events` at `urls`.
fn sink(db: &str, urls: &[String]) -> ClickHouseSink {
    ClickHouseSink::new(clickhouse::Client::default().with_database(db)).endpoints(urls.to_vec())
}

/// Awaits `fut`, failing the test if it takes longer than [`CALL_BOUND`].
async fn bounded<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    timeout(CALL_BOUND, fut)
        .await
        .unwrap_or_else(|_| panic!("{what} did not return within {CALL_BOUND:?}"))
}

/// What a stream ended with.
struct Streamed {
    stats: Stats,
    log: Arc<Mutex<Log>>,
    took: Duration,
}

/// Streams events `ids` from [`PRODUCERS`] producers through a batcher with default
/// settings on `sink`; with `paced`, 500 rows per producer and then 100 ms, so that
/// the stream lasts about 10 s for 200,000 rows and faults land mid-stream.
async fn stream(sink: ClickHouseSink, ids: Range<u64>, paced: bool) -> Streamed {
    let (sink, log) = Counting::new(sink);
    let handle = bounded("spawn", Batcher::builder(sink).spawn::<Event>())
        .await
        .unwrap();
    let started = Instant::now();
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let handle = handle.clone();
            let ids = ids.clone();
            tokio::spawn(async move {
                let mut n = 0u64;
                for id in ids.filter(|id| id % PRODUCERS == p) {
                    bounded("insert", handle.insert(event(id))).await.unwrap();
                    n += 1;
                    if paced && n.is_multiple_of(500) {
                        sleep(Duration::from_millis(100)).await;
                    }
                }
            })
        })
        .collect();
    for p in producers {
        p.await.unwrap();
    }
    let stats = match bounded("close", handle.close()).await {
        Ok(stats) => stats,
        Err(e) => panic!("close: {e}"),
    };
    Streamed {
        stats,
        log,
        took: started.elapsed(),
    }
}

/// The ids in `table` on replica `r`, with how often each is stored.
async fn ids_on(r: usize, table: &str) -> HashMap<u64, u32> {
    let ids: Vec<u64> = Cluster::client(r)
        .query(&format!("SELECT id FROM {table}"))
        .fetch_all()
        .await
        .unwrap();
    let mut copies = HashMap::with_capacity(ids.len());
    for id in ids {
        *copies.entry(id).or_insert(0u32) += 1;
    }
    copies
}

/// Rows stored beyond one copy of each id in `expected`; fails on a lost id or one
/// that was never sent.
fn duplicates(copies: &HashMap<u64, u32>, expected: Range<u64>, server: &str) -> u64 {
    for id in expected.clone() {
        assert!(copies.contains_key(&id), "row {id} is missing on {server}");
    }
    assert_eq!(
        copies.len() as u64,
        expected.end - expected.start,
        "{server} holds ids that were never sent"
    );
    copies.values().map(|&n| u64::from(n) - 1).sum()
}

/// Waits until replica `r` holds `rows` distinct ids in `table` (it fetches the parts
/// the other one stored: without `insert_quorum`, an insert is acknowledged once one
/// replica has it), for up to [`CATCH_UP`]; returns how long that took. Distinct ids,
/// not rows: in a run that stores duplicates, the count reaches `rows` before the last
/// parts arrive.
async fn caught_up(r: usize, table: &str, rows: u64) -> Duration {
    let started = Instant::now();
    loop {
        let n: u64 = Cluster::client(r)
            .query(&format!("SELECT uniqExact(id) FROM {table}"))
            .fetch_one()
            .await
            .unwrap_or(0);
        if n >= rows {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < CATCH_UP,
            "replica {} holds {n} of {rows} ids after {CATCH_UP:?}",
            REPLICAS[r].0
        );
        sleep(Duration::from_millis(200)).await;
    }
}

/// Checks the stats of a stream of `rows` rows and prints its figures.
fn report(name: &str, s: &Streamed, rows: u64, duplicates: u64, extra: &str) {
    let st = &s.stats;
    assert_eq!(st.accepted.rows, rows, "{st:?}");
    assert_eq!(st.committed.rows, rows, "{st:?}");
    assert_eq!(st.failed.rows, 0, "{st:?}");
    assert_eq!(st.in_buffer.rows, 0, "{st:?}");
    assert!(st.is_conserved(), "{st:?}");
    let log = s.log.lock().unwrap();
    eprintln!(
        "[{name}] rows {rows} committed {} in {:.1?} ({:.0} rows/s); sends {} (failed {}), \
         retries {}; duplicates {duplicates}{extra}",
        st.committed.rows,
        s.took,
        rows as f64 / s.took.as_secs_f64(),
        log.sends(),
        log.attempts.iter().filter(|a| a.error.is_some()).count(),
        st.retries,
    );
}

/// 1. A replica killed (SIGKILL) mid-stream and restarted 2 s later: every row stored
/// once, on both replicas once the restarted one caught up.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_killed_mid_stream_loses_and_duplicates_nothing() {
    let _cluster = Cluster::fresh().await;
    replicated_table("kill").await;
    let urls = [Cluster::url(0), Cluster::url(1)];
    let fault = tokio::spawn(async {
        sleep(Duration::from_secs(2)).await;
        Cluster::instance("kill", 0).await;
        let killed = Instant::now();
        sleep(Duration::from_secs(2)).await;
        Cluster::instance("start", 0).await;
        killed
    });
    let s = stream(sink("kill", &urls), 0..ROWS, true).await;
    let killed = fault.await.unwrap();
    // A batch stored on r1 just before the kill reaches r2 once r1 is back.
    let catch_up = caught_up(0, "kill.events", ROWS).await;
    caught_up(1, "kill.events", ROWS).await;
    let on_r2 = duplicates(&ids_on(1, "kill.events").await, 0..ROWS, "r2");
    let on_r1 = duplicates(&ids_on(0, "kill.events").await, 0..ROWS, "r1");
    let recovered = s.log.lock().unwrap().recovered(killed);
    report(
        "replica killed",
        &s,
        ROWS,
        on_r2.max(on_r1),
        &format!(
            "; first commit after the kill's last failure {recovered:.1?}; r1 caught up \
             {catch_up:.1?} after the stream"
        ),
    );
    assert_eq!((on_r1, on_r2), (0, 0), "rows stored twice");
}

/// Proxies in front of both replicas; `drops` answers dropped (each after the server
/// stored the batch), spread over the stream.
async fn dropping_proxies(drops: u32) -> (Arc<[Proxy; 2]>, tokio::task::JoinHandle<()>) {
    let proxies = Arc::new([
        Proxy::start(("127.0.0.1".into(), REPLICAS[0].1)).await,
        Proxy::start(("127.0.0.1".into(), REPLICAS[1].1)).await,
    ]);
    let p = proxies.clone();
    let faults = tokio::spawn(async move {
        for k in 0..drops {
            sleep(Duration::from_millis(1200)).await;
            p[(k % 2) as usize].drop_answers(b"INSERT", 1);
        }
    });
    (proxies, faults)
}

fn proxy_urls(proxies: &[Proxy; 2]) -> Vec<String> {
    proxies
        .iter()
        .map(|p| format!("http://127.0.0.1:{}", p.port()))
        .collect()
}

/// 2. Answers dropped after the server stored the batch: the batcher retries, the sink
/// sends the batch to the other replica, which drops it: exactly N rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn answers_lost_after_the_insert_are_retried_on_the_other_replica_exactly_once() {
    let _cluster = Cluster::fresh().await;
    replicated_table("lost").await;
    let (proxies, faults) = dropping_proxies(6).await;
    let s = stream(sink("lost", &proxy_urls(&proxies)), 0..ROWS, true).await;
    faults.await.unwrap();
    let dropped: u32 = proxies.iter().map(Proxy::answers_dropped).sum();
    caught_up(0, "lost.events", ROWS).await;
    caught_up(1, "lost.events", ROWS).await;
    let dups = duplicates(&ids_on(0, "lost.events").await, 0..ROWS, "r1");
    let dups2 = duplicates(&ids_on(1, "lost.events").await, 0..ROWS, "r2");
    report(
        "answers lost",
        &s,
        ROWS,
        dups.max(dups2),
        &format!("; answers dropped after the insert {dropped}"),
    );
    assert!(dropped >= 3, "only {dropped} answers were dropped");
    assert!(s.stats.retries >= u64::from(dropped), "{:?}", s.stats);
    assert_eq!((dups, dups2), (0, 0), "rows stored twice");
}

/// 3. Two shards behind a `Distributed` table (the sink sets
/// `insert_distributed_sync=1` itself), one restarted mid-stream: rows on both shards,
/// each id on one shard once, the sum exactly N.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_shards_through_a_distributed_table_and_a_shard_restart() {
    let _cluster = Cluster::fresh().await;
    sharded_tables("shards").await;
    let urls = [Cluster::url(0), Cluster::url(1)];
    let fault = tokio::spawn(async {
        sleep(Duration::from_secs(2)).await;
        Cluster::instance("kill", 1).await;
        let down = Instant::now();
        sleep(Duration::from_secs(1)).await;
        Cluster::instance("start", 1).await;
        down
    });
    let s = stream(sink("shards", &urls), 0..ROWS, true).await;
    let down = fault.await.unwrap();
    let shard1 = ids_on(0, "shards.events_local").await;
    let shard2 = ids_on(1, "shards.events_local").await;
    assert!(
        !shard1.is_empty() && !shard2.is_empty(),
        "a shard got no row"
    );
    for id in shard1.keys() {
        assert!(!shard2.contains_key(id), "id {id} is on both shards");
    }
    let mut all = shard1.clone();
    all.extend(shard2.iter().map(|(k, v)| (*k, *v)));
    let dups = duplicates(&all, 0..ROWS, "the shards");
    let recovered = s.log.lock().unwrap().recovered(down);
    report(
        "two shards",
        &s,
        ROWS,
        dups,
        &format!(
            "; shard 1 {} rows, shard 2 {} rows; first commit after the restart's last \
             failure {recovered:.1?}",
            shard1.values().sum::<u32>(),
            shard2.values().sum::<u32>()
        ),
    );
    assert_eq!(dups, 0, "rows stored twice");
}

/// 4. Three batchers (three application instances) into the same replicated table at
/// once, each through proxies that drop answers after the insert: exactly N rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_with_lost_answers_store_exactly_n_rows() {
    const EACH: u64 = 70_000;
    let _cluster = Cluster::fresh().await;
    replicated_table("many").await;
    let runs: Vec<_> = (0..3u64)
        .map(|k| {
            tokio::spawn(async move {
                let (proxies, faults) = dropping_proxies(4).await;
                let s = stream(
                    sink("many", &proxy_urls(&proxies)),
                    k * EACH..(k + 1) * EACH,
                    true,
                )
                .await;
                faults.await.unwrap();
                let dropped: u32 = proxies.iter().map(Proxy::answers_dropped).sum();
                (s, dropped)
            })
        })
        .collect();
    let mut dropped = 0;
    let mut streams = Vec::new();
    for r in runs {
        let (s, d) = r.await.unwrap();
        dropped += d;
        streams.push(s);
    }
    caught_up(0, "many.events", 3 * EACH).await;
    caught_up(1, "many.events", 3 * EACH).await;
    let dups = duplicates(&ids_on(0, "many.events").await, 0..3 * EACH, "r1");
    let dups2 = duplicates(&ids_on(1, "many.events").await, 0..3 * EACH, "r2");
    for (k, s) in streams.iter().enumerate() {
        report(&format!("instance {k}"), s, EACH, dups.max(dups2), "");
    }
    eprintln!(
        "[three instances] answers dropped after the insert {dropped}; total rows {}",
        3 * EACH
    );
    assert!(dropped >= 6, "only {dropped} answers were dropped");
    assert_eq!((dups, dups2), (0, 0), "rows stored twice");
}

/// The deduplication hashes the parsed block: the same rows sent by the sink (an LZ4
/// frame for compressible rows, a stored frame for incompressible ones) and then sent
/// to the other replica another way (a plain body, an LZ4 frame made by the
/// `clickhouse` crate, a Native block) are stored once. And the sink sends the same frame bytes on every
/// attempt (checked in `batch-clickhouse`'s unit tests).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deduplication_ignores_how_the_block_was_framed() {
    let _cluster = Cluster::fresh().await;
    replicated_table("framing").await;
    // Compressible rows, and rows of random bytes LZ4 cannot shrink (the sink stores
    // those in a frame of method "none").
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut noise = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let compressible: Vec<Event> = (0..5000).map(event).collect();
    let incompressible: Vec<Event> = (5000..10_000)
        .map(|id| Event {
            id,
            producer: 0,
            payload: (0..24).map(|_| format!("{:016x}", noise())).collect(),
        })
        .collect();
    // In RowBinary: the same rows go to the other replica as the batch's bytes.
    let sink = ClickHouseSink::new(Cluster::client(0).with_database("framing"))
        .endpoints([Cluster::url(0)])
        .insert_format(InsertFormat::RowBinary)
        .prepare(Schema::of::<Event>())
        .await
        .unwrap();
    let sql = sink.statement().to_owned();
    for (rows, other) in [
        (&compressible, clickhouse::Compression::None),
        (&incompressible, clickhouse::Compression::Lz4),
    ] {
        let batch = ch::batch(&sink, rows).unwrap();
        sink.send(&batch).await.unwrap();
        // The same rows to the other replica, framed another way.
        let body: Vec<u8> = batch.chunks().flat_map(|c| c.to_vec()).collect();
        let mut insert = Cluster::client(1)
            .with_compression(other)
            .insert_formatted_with(sql.clone());
        insert.send(Bytes::from(body)).await.unwrap();
        insert.end().await.unwrap();
    }
    // And the same bytes from the sink again, on the second replica.
    let again = ClickHouseSink::new(Cluster::client(1).with_database("framing"))
        .endpoints([Cluster::url(1)])
        .prepare(Schema::of::<Event>())
        .await
        .unwrap();
    again
        .send(&ch::batch(&again, &incompressible).unwrap())
        .await
        .unwrap();
    // And the compressible rows as a Native block (the sink's default format): the
    // same parsed block, dropped too.
    assert!(again.statement().ends_with("FORMAT Native"));
    again
        .send(&ch::batch(&again, &compressible).unwrap())
        .await
        .unwrap();
    caught_up(1, "framing.events", 10_000).await;
    for (r, (name, _)) in REPLICAS.iter().enumerate() {
        let copies = ids_on(r, "framing.events").await;
        let dups = duplicates(&copies, 0..10_000, name);
        assert_eq!(dups, 0, "a block framed differently was stored again");
    }
    let parts: u64 = Cluster::client(0)
        .query("SELECT count() FROM system.parts WHERE database = 'framing' AND active")
        .fetch_one()
        .await
        .unwrap();
    eprintln!("[framing] 5 inserts of 2 blocks (LZ4, plain, stored, crate LZ4, Native) -> {parts} parts, 10000 rows");
}

/// Rows/s into the cluster (two replicas, `ReplicatedMergeTree`, both endpoints)
/// against one of its servers alone (a plain `MergeTree`), in the same run, without
/// pacing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn throughput_of_the_cluster_against_one_server() {
    let _cluster = Cluster::fresh().await;
    replicated_table("speed").await;
    let c = Cluster::client(0);
    exec(&c, "CREATE DATABASE single").await;
    exec(
        &c,
        "CREATE TABLE single.events (id UInt64, producer UInt8, payload String) \
         ENGINE = MergeTree ORDER BY id",
    )
    .await;
    let one = stream(sink("single", &[Cluster::url(0)]), 0..ROWS, false).await;
    let two = stream(
        sink("speed", &[Cluster::url(0), Cluster::url(1)]),
        0..ROWS,
        false,
    )
    .await;
    duplicates(
        &ids_on(0, "single.events").await,
        0..ROWS,
        "the single server",
    );
    caught_up(1, "speed.events", ROWS).await;
    duplicates(&ids_on(1, "speed.events").await, 0..ROWS, "r2");
    report("one server", &one, ROWS, 0, "");
    report("cluster", &two, ROWS, 0, "");
    eprintln!("[cluster] after the runs: {}", memory());
}

/// Offsets of one stream in the aligned-replay test, and its window of offsets.
const STREAM_ROWS: u64 = 20_000;
const SPAN: u64 = 5_000;

fn positioned(stream: u64, offset: u64) -> Event {
    Event {
        id: stream * 1_000_000 + offset,
        producer: u8::try_from(stream).unwrap(),
        payload: format!("s{stream}-o{offset}"),
    }
}

/// The consumer's view: per stream, the offsets `on_commit` reported, and the first
/// offset not covered from 0 on.
#[derive(Default)]
struct Watermarks(HashMap<u64, Vec<(u64, u64)>>);

impl Watermarks {
    fn add(&mut self, batch: &batchrow::CommittedBatch) {
        for r in batch.positions() {
            self.0.entry(r.stream).or_default().push((r.first, r.last));
        }
    }

    fn next(&self, stream: u64) -> u64 {
        let mut ranges = self.0.get(&stream).cloned().unwrap_or_default();
        ranges.sort_unstable();
        let mut next = 0;
        for (first, last) in ranges {
            if first > next {
                break;
            }
            next = next.max(last + 1);
        }
        next
    }
}

/// One run of a consumer of 4 streams: a batcher with the default settings plus
/// `align_batches(SPAN)` when `aligned`, one task per stream inserting `from..to` in
/// polls of `poll` rows (with a pause after each), on a runtime of its own. With
/// `crash_after`, the runtime is dropped (the process "dies", its open windows with it)
/// once every stream has `crash_after` offsets committed; otherwise the batcher closes.
fn consume(
    db: &'static str,
    aligned: bool,
    from: u64,
    to: u64,
    poll: u64,
    crash_after: Option<u64>,
) -> Arc<Mutex<Watermarks>> {
    let marks = Arc::new(Mutex::new(Watermarks::default()));
    let seen = marks.clone();
    let watch = marks.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let sink = sink(db, &[Cluster::url(0), Cluster::url(1)]);
            let mut builder =
                Batcher::builder(sink).on_commit(move |b| seen.lock().unwrap().add(b));
            if aligned {
                builder = builder.align_batches(SPAN);
            }
            let handle = bounded("spawn", builder.spawn::<Event>()).await.unwrap();
            let tasks: Vec<_> = (0..PRODUCERS)
                .map(|stream| {
                    let handle = handle.clone();
                    tokio::spawn(async move {
                        let mut offset = from;
                        while offset < to {
                            let end = (offset + poll).min(to);
                            let rows = (offset..end).map(|o| positioned(stream, o));
                            bounded(
                                "insert",
                                handle
                                    .insert_many_at(rows, batchrow::Position::new(stream, offset)),
                            )
                            .await
                            .unwrap();
                            offset = end;
                            sleep(Duration::from_millis(20)).await;
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            match crash_after {
                Some(n) => {
                    bounded("commits before the crash", async {
                        while (0..PRODUCERS).any(|s| watch.lock().unwrap().next(s) < n) {
                            sleep(Duration::from_millis(50)).await;
                        }
                    })
                    .await;
                }
                None => {
                    bounded("close", handle.close()).await.unwrap();
                }
            }
        });
        // The runtime is dropped here: with `crash_after`, the worker and every row it
        // held die with it, as in a process that was killed.
        drop(rt);
    })
    .join()
    .unwrap();
    marks
}

/// 7. Exactly once across a crash, by block deduplication: a consumer of 4 streams
/// crashes (its runtime dropped) after 10,000 offsets of each are committed, with its
/// saved offsets behind at 5,000 (it saved them only after the first window); the
/// restarted consumer replays from 5,000 in polls of another size. With aligned batches
/// the replayed windows are the same blocks, and `ReplicatedMergeTree` drops them: every
/// row once. The same run without alignment is printed beside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replay_after_a_crash_with_aligned_batches_stores_every_row_once() {
    let _cluster = Cluster::fresh().await;
    let mut dups = Vec::new();
    for (db, aligned) in [("aligned", true), ("unaligned", false)] {
        replicated_table(db).await;
        let crash_at = 2 * SPAN;
        let first = tokio::task::spawn_blocking(move || {
            consume(db, aligned, 0, crash_at + SPAN / 2, 700, Some(crash_at))
        })
        .await
        .unwrap();
        // What the crashed run had committed, beyond what the consumer saved.
        let committed: Vec<u64> = (0..PRODUCERS)
            .map(|s| first.lock().unwrap().next(s))
            .collect();
        let saved = SPAN;
        tokio::task::spawn_blocking(move || consume(db, aligned, saved, STREAM_ROWS, 1_300, None))
            .await
            .unwrap();
        let table = format!("{db}.events");
        let total = PRODUCERS * STREAM_ROWS;
        // Batches went to both replicas: each fetches the other's.
        for r in 0..REPLICAS.len() {
            caught_up(r, &table, total).await;
        }
        let mut per_replica = Vec::new();
        for (r, (name, _)) in REPLICAS.iter().enumerate() {
            let copies = ids_on(r, &table).await;
            for s in 0..PRODUCERS {
                for o in 0..STREAM_ROWS {
                    let id = s * 1_000_000 + o;
                    assert!(
                        copies.contains_key(&id),
                        "{db}: row {id} is missing on {name}"
                    );
                }
            }
            assert_eq!(
                copies.len() as u64,
                total,
                "{db}: {name} holds ids never sent"
            );
            per_replica.push(copies.values().map(|&n| u64::from(n) - 1).sum::<u64>());
        }
        eprintln!(
            "[replay] {db}: committed before the crash {committed:?}, saved {saved}, \
             replayed {saved}..{STREAM_ROWS}: duplicates per replica {per_replica:?}"
        );
        dups.push(per_replica);
    }
    assert_eq!(
        dups[0],
        [0, 0],
        "aligned batches: a replayed window was stored again"
    );
}
