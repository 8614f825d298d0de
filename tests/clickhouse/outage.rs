//! Outages of a real ClickHouse server, with the DEFAULT batcher and sink settings: rows
//! stream from 4 producers through the batcher while the server is killed and restarted,
//! shut down for 10 s, frozen (SIGSTOP) for 20 s, or refuses one poisoned row; then the
//! table is read back by id.
//!
//! Every scenario checks that no row is lost, that duplicates (a batch whose answer was
//! lost, sent again: at-least-once) are whole batches, counted and printed, that every
//! call returns within a bound, and that the stats add up
//! (`accepted = committed + failed + in_buffer`). Figures go to stderr (`--nocapture`).
//!
//! Needs the `clickhouse-server` package (ClickHouse 18.16 on Debian; `bash
//! scripts/servers.sh` installs it) and no running server of its own: each scenario
//! starts a server instance of its own with `scripts/clickhouse-instance.sh`, on ports
//! 18310 to 18342, and kills it at the end, even when the test fails. The shared server
//! on 8123 and `BATCHROW_CLICKHOUSE_URL` are not used. The scenarios run in parallel in
//! about 35 s.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use batchrow_test_support::instance;

use std::collections::HashMap;
use std::future::Future;
use std::ops::Range;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use batchrow::clickhouse::{ChType, ClickHouseSender, ClickHouseSink, RowBinary};
use batchrow::{
    Batch, BatchRow, Batcher, ColumnValue, Encode, EncodeError, FailedBatch, Schema, Sender, Sink,
    SinkError, Stats, ValueKind,
};
use instance::Instance;
use tokio::time::Instant;

const ROWS: u64 = 200_000;
const PRODUCERS: u64 = 4;
/// Every call (an insert, spawn, close) must return within this: the default retry
/// deadline (120 s) plus one attempt's time limit and some slack.
const CALL_BOUND: Duration = Duration::from_secs(160);

/// A string column's value; a poisoned one is encoded as a length prefix of 64 MiB with
/// no bytes after it, which ClickHouse refuses as `Cannot read all data ... (at row N)`.
#[derive(Debug, Clone, Copy)]
struct Payload {
    id: u64,
    poisoned: bool,
}

impl ColumnValue for Payload {
    const KIND: ValueKind = ValueKind::String;
}

impl Encode<RowBinary> for Payload {
    fn encode(&self, column: &ChType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        if self.poisoned {
            // LEB128 of 64 MiB.
            buf.extend_from_slice(&[0x80, 0x80, 0x80, 0x20]);
            return Ok(());
        }
        let mut text = [0u8; 20];
        let len = {
            use std::io::Write;
            let mut cursor = std::io::Cursor::new(&mut text[..]);
            write!(cursor, "row-{}", self.id).unwrap();
            usize::try_from(cursor.position()).unwrap()
        };
        let text = std::str::from_utf8(&text[..len]).unwrap();
        <str as Encode<RowBinary>>::encode(text, column, buf)
    }
}

#[derive(BatchRow, Debug, Clone, Copy)]
#[batch(table = "events")]
struct Event {
    id: u64,
    producer: u8,
    payload: Payload,
}

const TABLE: &str = "CREATE TABLE outage.events (id UInt64, producer UInt8, payload String) \
                     ENGINE = MergeTree ORDER BY id";

/// One send as the wrapper saw it.
#[derive(Debug)]
struct SendLog {
    batch: u64,
    range: Range<usize>,
    started: Instant,
    ended: Instant,
    ok: bool,
}

/// The ids of each part sent, by (batch id, range), and every send.
#[derive(Debug, Default)]
struct Log {
    parts: HashMap<(u64, usize, usize), Vec<u64>>,
    sends: Vec<SendLog>,
}

/// A sink that delegates everything to a [`ClickHouseSink`] and records each send.
struct Counting<S = ClickHouseSink> {
    inner: S,
    log: Arc<Mutex<Log>>,
}

impl<S> Counting<S> {
    fn record(&self, batch: &Batch, started: Instant, ok: bool) {
        let mut log = self.log.lock().unwrap();
        let range = batch.range();
        log.parts
            .entry((batch.id(), range.start, range.end))
            .or_insert_with(|| {
                (0..batch.rows())
                    .map(|i| u64::from_le_bytes(batch.row(i).unwrap()[..8].try_into().unwrap()))
                    .collect()
            });
        log.sends.push(SendLog {
            batch: batch.id(),
            range,
            started,
            ended: Instant::now(),
            ok,
        });
    }
}

impl Sink for Counting {
    type Format = RowBinary;
    type Sender = Counting<ClickHouseSender>;

    async fn prepare(self, schema: Schema) -> Result<Counting<ClickHouseSender>, SinkError> {
        Ok(Counting {
            inner: self.inner.prepare(schema).await?,
            log: self.log,
        })
    }
}

impl Sender for Counting<ClickHouseSender> {
    type Format = RowBinary;

    fn columns(&self) -> &[ChType] {
        self.inner.columns()
    }

    async fn send(&self, batch: &Batch) -> Result<(), SinkError> {
        let started = Instant::now();
        let result = self.inner.send(batch).await;
        self.record(batch, started, result.is_ok());
        result
    }

    async fn send_by(&self, batch: &Batch, deadline: Instant) -> Result<(), SinkError> {
        let started = Instant::now();
        let result = self.inner.send_by(batch, deadline).await;
        self.record(batch, started, result.is_ok());
        result
    }

    fn send_memory(&self, batch: &Batch) -> usize {
        self.inner.send_memory(batch)
    }
}

/// Awaits `fut`, failing the test if it takes longer than [`CALL_BOUND`].
async fn bounded<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(CALL_BOUND, fut)
        .await
        .unwrap_or_else(|_| panic!("{what} did not return within {CALL_BOUND:?}"))
}

/// How producers pace their rows.
#[derive(Debug, Clone, Copy)]
enum Pace {
    /// As fast as they can.
    Flat,
    /// 500 rows, then a pause of 100 ms: the stream lasts about 10 s.
    Steady,
}

/// What a scenario left behind.
struct Outcome {
    stats: Stats,
    log: Log,
    dead: Vec<FailedBatch>,
    /// When the fault ended (the server answered again), if there was one.
    fault_ended: Option<Instant>,
    faults: u32,
    client: clickhouse::Client,
    started: Instant,
}

/// Streams [`ROWS`] events from [`PRODUCERS`] producers into `instance` through a
/// batcher with default settings (and `isolate_bad_rows` when `poison` names a row),
/// while `fault` runs; returns when every row is settled.
async fn run<F, Fut>(instance: &Instance, pace: Pace, poison: Option<u64>, fault: F) -> Outcome
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = (u32, Option<Instant>)> + Send + 'static,
{
    let client = instance.client();
    client
        .query("CREATE DATABASE outage")
        .execute()
        .await
        .unwrap();
    client.query(TABLE).execute().await.unwrap();
    let log = Arc::new(Mutex::new(Log::default()));
    let dead = Arc::new(Mutex::new(Vec::new()));
    let sink = Counting {
        inner: ClickHouseSink::new(instance.client().with_database("outage")),
        log: log.clone(),
    };
    let mut builder = Batcher::builder(sink);
    if poison.is_some() {
        let dead = dead.clone();
        builder = builder
            .isolate_bad_rows(true)
            .dead_letter(move |failed| dead.lock().unwrap().push(failed));
    }
    let handle = bounded("spawn", builder.spawn::<Event>()).await.unwrap();
    let started = Instant::now();
    let fault = tokio::spawn(fault());
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let handle = handle.clone();
            tokio::spawn(async move {
                let mut id = p;
                let mut n = 0u64;
                while id < ROWS {
                    let row = Event {
                        id,
                        producer: u8::try_from(p).unwrap(),
                        payload: Payload {
                            id,
                            poisoned: poison == Some(id),
                        },
                    };
                    bounded("insert", handle.insert(row)).await.unwrap();
                    id += PRODUCERS;
                    n += 1;
                    if matches!(pace, Pace::Steady) && n.is_multiple_of(500) {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            })
        })
        .collect();
    for p in producers {
        p.await.unwrap();
    }
    let (faults, fault_ended) = fault.await.unwrap();
    let stats = match bounded("close", handle.close()).await {
        Ok(stats) => stats,
        Err(batchrow::Error::Failed(failed)) => panic!("batches failed: {failed:?}"),
        Err(e) => panic!("close: {e}"),
    };
    let log = std::mem::take(&mut *log.lock().unwrap());
    let dead = std::mem::take(&mut *dead.lock().unwrap());
    Outcome {
        stats,
        log,
        dead,
        fault_ended,
        faults,
        client: client.with_database("outage"),
        started,
    }
}

/// What the table holds, checked against what was sent.
struct Readback {
    /// Rows stored more than once (the extra copies).
    duplicate_rows: u64,
    /// Parts (batches, or parts of split batches) stored more than once.
    duplicate_batches: u64,
}

/// Reads the table back by id: every id but `missing` is there; ids stored more than
/// once belong to parts stored whole, every id of the part the same number of times.
async fn read_back(outcome: &Outcome, missing: Option<u64>) -> Readback {
    let ids: Vec<u64> = outcome
        .client
        .query("SELECT id FROM events")
        .fetch_all()
        .await
        .unwrap();
    let mut copies: HashMap<u64, u64> = HashMap::with_capacity(ids.len());
    for id in ids {
        *copies.entry(id).or_default() += 1;
    }
    for id in 0..ROWS {
        if Some(id) == missing {
            assert!(
                !copies.contains_key(&id),
                "the poisoned row {id} was stored"
            );
        } else {
            assert!(copies.contains_key(&id), "row {id} was lost");
        }
    }
    assert_eq!(
        copies.len(),
        usize::try_from(ROWS).unwrap() - usize::from(missing.is_some()),
        "ids that were never inserted"
    );
    let mut duplicate_rows = 0;
    let mut duplicate_batches = 0;
    for ((batch, start, end), ids) in &outcome.log.parts {
        let n = copies.get(&ids[0]).copied().unwrap_or(0);
        for id in ids {
            if Some(*id) == missing {
                continue;
            }
            assert_eq!(
                copies[id], n,
                "batch {batch} rows {start}..{end} was stored in part: id {id} {} times, \
                 id {} {n} times",
                copies[id], ids[0]
            );
        }
        if n > 1 {
            duplicate_batches += 1;
            duplicate_rows += (n - 1) * u64::try_from(ids.len()).unwrap();
        }
    }
    let stored: u64 = copies.values().sum();
    let expected = ROWS - u64::from(missing.is_some()) + duplicate_rows;
    assert_eq!(stored, expected, "rows stored outside the recorded parts");
    Readback {
        duplicate_rows,
        duplicate_batches,
    }
}

/// Checks the stats and prints the figures of a scenario.
fn report(name: &str, outcome: &Outcome, readback: &Readback) {
    let s = &outcome.stats;
    assert_eq!(s.accepted.rows, ROWS, "{s:?}");
    assert_eq!(
        s.accepted.rows,
        s.committed.rows + s.failed.rows + s.in_buffer.rows,
        "{s:?}"
    );
    assert!(s.is_conserved(), "{s:?}");
    assert_eq!(s.in_buffer.rows, 0, "{s:?}");
    let recovery = outcome.fault_ended.and_then(|t| {
        outcome
            .log
            .sends
            .iter()
            .filter(|s| s.ok && s.ended >= t)
            .map(|s| s.ended - t)
            .min()
    });
    eprintln!(
        "[{name}] rows {} committed {} failed {}; faults {}; sends {} retries {}; \
         duplicates: {} batches, {} rows; recovery after the fault: {}; wall {:.1?}",
        s.accepted.rows,
        s.committed.rows,
        s.failed.rows,
        outcome.faults,
        outcome.log.sends.len(),
        s.retries,
        readback.duplicate_batches,
        readback.duplicate_rows,
        recovery.map_or_else(|| "n/a".to_owned(), |d| format!("{d:.1?}")),
        outcome.started.elapsed(),
    );
}

/// SIGKILL in the middle of the stream, restart 2 s later.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_and_restarted_mid_stream() {
    let server = Arc::new(Instance::fresh("outage-kill", 18310).await);
    let s = server.clone();
    let outcome = run(&server, Pace::Steady, None, move || async move {
        tokio::time::sleep(Duration::from_secs(2)).await;
        s.kill().await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        s.start().await;
        (1, Some(Instant::now()))
    })
    .await;
    let readback = read_back(&outcome, None).await;
    report("kill -9 + restart", &outcome, &readback);
    assert_eq!(outcome.stats.committed.rows, ROWS);
    assert!(outcome.stats.retries > 0, "the kill hit no send");
}

/// Shut down in the middle of the stream, started again 10 s later. The server keeps
/// answering on the batcher's keep-alive connection after SIGTERM; as systemd would, it
/// is killed when it has not exited 5 s later.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stopped_for_ten_seconds() {
    let server = Arc::new(Instance::fresh("outage-stop", 18320).await);
    let s = server.clone();
    let outcome = run(&server, Pace::Steady, None, move || async move {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let graceful = s.stop(Duration::from_secs(5)).await;
        eprintln!("[stopped 10 s] the server exited on SIGTERM alone: {graceful}");
        tokio::time::sleep(Duration::from_secs(10)).await;
        s.start().await;
        (1, Some(Instant::now()))
    })
    .await;
    let readback = read_back(&outcome, None).await;
    report("stopped 10 s", &outcome, &readback);
    assert_eq!(outcome.stats.committed.rows, ROWS);
    assert!(outcome.stats.retries > 0, "the outage hit no send");
}

/// Frozen (SIGSTOP) for 20 s in the middle of the stream: sends hang, then finish.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn frozen_for_twenty_seconds() {
    let server = Arc::new(Instance::fresh("outage-freeze", 18330).await);
    let s = server.clone();
    let outcome = run(&server, Pace::Steady, None, move || async move {
        tokio::time::sleep(Duration::from_secs(2)).await;
        s.freeze().await;
        tokio::time::sleep(Duration::from_secs(20)).await;
        s.thaw().await;
        (1, Some(Instant::now()))
    })
    .await;
    let readback = read_back(&outcome, None).await;
    report("frozen 20 s", &outcome, &readback);
    assert_eq!(outcome.stats.committed.rows, ROWS);
    let longest = outcome
        .log
        .sends
        .iter()
        .map(|s| s.ended - s.started)
        .max()
        .unwrap();
    assert!(
        longest >= Duration::from_secs(10),
        "no send waited for the frozen server: {longest:?}"
    );
}

/// One malformed row, in a batch of 100,000, with `isolate_bad_rows`: the others are
/// stored, the bad one is dead-lettered with the error that names it, in few sends. With
/// the default Native format the sink finds the row when it transcodes the batch; in
/// RowBinary the server refuses it (`CANNOT_READ_ALL_DATA`, see `clickhouse_sink.rs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_poisoned_row_is_isolated_and_dead_lettered() {
    const POISONED: u64 = 1_234;
    let server = Instance::fresh("outage-poison", 18340).await;
    let outcome = run(&server, Pace::Flat, Some(POISONED), || async { (0, None) }).await;
    let readback = read_back(&outcome, Some(POISONED)).await;
    report("poisoned row", &outcome, &readback);
    assert_eq!(
        outcome.stats.committed.rows,
        ROWS - 1,
        "{:?}",
        outcome.stats
    );
    assert_eq!(outcome.stats.failed.rows, 1, "{:?}", outcome.stats);
    assert_eq!(readback.duplicate_rows, 0);

    assert_eq!(outcome.dead.len(), 1, "{:?}", outcome.dead);
    let dead = &outcome.dead[0];
    assert_eq!(dead.rows(), 1);
    let id = u64::from_le_bytes(dead.batch().row(0).unwrap()[..8].try_into().unwrap());
    assert_eq!(id, POISONED);
    let error = dead.cause().sink_error().expect("the sink's error");
    assert!(error.is_caused_by_data(), "{error}");
    assert_eq!(error.code(), None, "{error}");
    assert!(
        error.to_string().contains("transcoding to Native: row ")
            && error.to_string().contains(", column `payload`: "),
        "{error}"
    );

    let sends: Vec<&SendLog> = outcome
        .log
        .sends
        .iter()
        .filter(|s| s.batch == dead.batch().id())
        .collect();
    let first = sends.iter().map(|s| s.range.len()).max().unwrap();
    eprintln!(
        "[poisoned row] the batch of {first} rows holding it took {} sends: {:?}",
        sends.len(),
        sends
            .iter()
            .map(|s| (s.range.clone(), s.ok))
            .collect::<Vec<_>>()
    );
    assert_eq!(first, 100_000, "the poisoned row's batch");
    assert!(sends.len() <= 17, "{} sends", sends.len());
}
