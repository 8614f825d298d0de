//! Fault tests of the ClickHouse sink with real faults: rows streamed through the
//! batcher, with retries, while a TCP proxy between the `clickhouse::Client` and the
//! server cuts connections; then the table is read back directly from the server (not
//! through the proxy) and every id is checked.
//!
//! What batchrow guarantees, and what these tests check:
//!
//! - **A cut before the server has the whole batch** (the proxy forwards only part of
//!   the `INSERT`) loses nothing and duplicates nothing: the server stores nothing of the
//!   failed attempt, and the retry stores the batch once. ClickHouse 18.16 takes the
//!   end of a cut-off HTTP body for the end of the data (ClickHouse issue #9666, fixed
//!   in 21.x), so this holds only because of how the sink frames a batch. A Native
//!   batch (the default) is one block, sent in LZ4 frames of at most 1 MiB: the server
//!   stores a block only once it has read all of it, so a cut anywhere, a frame's end
//!   included, stores nothing (`a_native_block_cut_at_a_frame_end_stores_nothing`).
//!   RowBinary rows would be stored up to the last whole frame, so a RowBinary batch is
//!   one frame, which the server reads whole and checks before it parses a row; rows
//!   LZ4 cannot shrink go in RowBinary in one stored frame (method "none"), sent as its
//!   header followed by the batch's chunks, each an HTTP chunk of its own: a cut between
//!   two of them is a cut inside the frame. For the same reason a cut that withholds
//!   only the end of the chunked body (its last 7 bytes, after the data) is a cut after
//!   the server has the whole batch: 18.16 stores it. The proxy does not make such
//!   cuts.
//! - **A cut after the server has the whole batch** (the proxy drops the server's answer
//!   to the `INSERT`) loses nothing, but the retry inserts the batch a second time: an
//!   18.16 `MergeTree` has no insert deduplication. Delivery is at-least-once, and a
//!   duplicate is always a whole batch whose answer was lost.
//! - **`deduplicate_batches(true)`** is refused by an 18.16 server before the first row;
//!   on a server that has `insert_deduplication_token` (22.2 and later), lost answers
//!   leave no duplicate in a deduplicating table.
//!
//! Batches stay below the server's `max_insert_block_size` (1,048,576 rows), so each
//! batch is one block, written as one part when the whole batch has arrived.
//!
//! Needs ClickHouse 18.16: `bash scripts/servers.sh` starts it; the URL comes from
//! `BATCHROW_CLICKHOUSE_URL` (default `http://127.0.0.1:8123`; see
//! `support/clickhouse.rs`). Each test uses its own database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use batchrow_test_support::clickhouse as support;
use batchrow_test_support::proxy;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use batchrow::clickhouse::{ChType, ClickHouseSender, ClickHouseSink};
use batchrow::{
    Batch, BatchRow, Batcher, RetryPolicy, Schema, Sender, Sink, SinkError, SinkErrorKind, Stats,
};
use proxy::{Proxy, Truncation};
use support::{exec, fresh_database, tsv};

const ROWS: u64 = 300_000;
const BATCH_ROWS: usize = 5_000;
const PRODUCERS: u64 = 2;
/// The marker of an `INSERT` request: its request line holds `query=INSERT+INTO+...`.
const INSERT: &[u8] = b"INSERT";

#[derive(BatchRow, Debug, Clone)]
#[batch(table = "events")]
struct Event {
    id: u64,
    producer: u8,
    score: i64,
    name: String,
}

/// A well-mixed value derived from `x` (splitmix64).
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// What the rows of a run look like to LZ4.
#[derive(Debug, Clone, Copy)]
enum Rows {
    /// Names like `event-17`: the sink compresses the batches.
    Compressible,
    /// Names of 48 random characters: LZ4 cannot shrink them, so the sink stores the
    /// batches' frames as they are.
    Incompressible,
}

fn event(id: u64, rows: Rows) -> Event {
    let name = match rows {
        Rows::Compressible => format!("event-{id}"),
        Rows::Incompressible => {
            const ALPHABET: &[u8; 64] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            (0..48u64)
                .map(|i| char::from(ALPHABET[usize::try_from(mix(id * 48 + i) % 64).unwrap()]))
                .collect()
        }
    };
    Event {
        id,
        producer: u8::try_from(id % PRODUCERS).unwrap(),
        score: mix(id) as i64,
        name,
    }
}

/// Whether LZ4 shrinks the first 64 KiB of the batch by less than a tenth: the sink's
/// rule for storing a batch's frame rather than compressing it.
fn stored(batch: &Batch) -> bool {
    let first = batch.chunks().next().unwrap_or_default();
    let sample = &first[..first.len().min(64 << 10)];
    // The clickhouse crate's frame: LZ4 block plus 25 bytes of checksum and header.
    let compressed = clickhouse::_priv::lz4_compress(sample).unwrap().len() - 25;
    sample.len() >= 1024 && compressed * 10 >= sample.len() * 9
}

/// What happened to one batch, as the sink saw it.
#[derive(Debug, Default)]
struct Sent {
    ids: Vec<u64>,
    failed: u32,
    committed: u32,
    errors: Vec<SinkErrorKind>,
    /// Whether the sink stored the batch's frame rather than compressing it.
    stored: bool,
}

/// A sink that passes everything to a [`ClickHouseSink`] and records, for each batch,
/// its ids and the outcome of each attempt.
struct Recording<S = ClickHouseSink> {
    inner: S,
    log: Arc<Mutex<HashMap<u64, Sent>>>,
}

impl Sink for Recording {
    type Format = batchrow::clickhouse::RowBinary;
    type Sender = Recording<ClickHouseSender>;

    async fn prepare(self, schema: Schema) -> Result<Recording<ClickHouseSender>, SinkError> {
        Ok(Recording {
            inner: self.inner.prepare(schema).await?,
            log: self.log,
        })
    }
}

impl Sender for Recording<ClickHouseSender> {
    type Format = batchrow::clickhouse::RowBinary;

    fn columns(&self) -> &[ChType] {
        self.inner.columns()
    }

    async fn send(&self, batch: &Batch) -> Result<(), SinkError> {
        let result = self.inner.send(batch).await;
        let mut log = self.log.lock().unwrap();
        let sent = log.entry(batch.id()).or_insert_with(|| Sent {
            ids: (0..batch.rows())
                .map(|i| u64::from_le_bytes(batch.row(i).unwrap()[..8].try_into().unwrap()))
                .collect(),
            stored: stored(batch),
            ..Sent::default()
        });
        match &result {
            Ok(()) => sent.committed += 1,
            Err(e) => {
                sent.failed += 1;
                sent.errors.push(e.kind());
            }
        }
        result
    }
}

/// The server's host and port, for the proxy.
fn upstream() -> (String, u16) {
    let url = support::url();
    let rest = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("the fault tests need an http:// URL, not {url}"));
    let authority = rest.split('/').next().unwrap();
    let authority = authority.rsplit('@').next().unwrap();
    match authority.rsplit_once(':') {
        Some((host, port)) => (host.to_owned(), port.parse().unwrap()),
        None => (authority.to_owned(), 8123),
    }
}

/// The faults a run injects.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// Truncate `INSERT` requests before the server has the whole batch.
    TruncateRequests,
    /// Drop the server's answers to `INSERT`s.
    DropAnswers,
}

/// What a run left behind.
struct Run {
    stats: Stats,
    log: HashMap<u64, Sent>,
    proxy: Proxy,
    /// The server's client, not through the proxy, in the run's database.
    direct: clickhouse::Client,
}

/// The table of a run: a plain `MergeTree`, or one that deduplicates inserts.
const TABLE: &str = "CREATE TABLE events (id UInt64, producer UInt8, score Int64, name String) \
                     ENGINE = MergeTree ORDER BY id";
const DEDUPLICATING_TABLE: &str = "CREATE TABLE events \
     (id UInt64, producer UInt8, score Int64, name String) ENGINE = MergeTree ORDER BY id \
     SETTINGS non_replicated_deduplication_window = 1000";

/// Streams `ROWS` events (`rows` tells which) through a batcher whose client goes
/// through a proxy that injects `fault` while the producers run; with `deduplicate`,
/// into a deduplicating table with [`ClickHouseSink::deduplicate_batches`].
async fn run(database: &str, fault: Fault, deduplicate: bool, rows: Rows) -> Run {
    let direct = fresh_database(database).await;
    exec(
        &direct,
        if deduplicate {
            DEDUPLICATING_TABLE
        } else {
            TABLE
        },
    )
    .await;
    let proxy = Proxy::start(upstream()).await;
    let proxied = clickhouse::Client::default()
        .with_url(format!("http://127.0.0.1:{}", proxy.port()))
        .with_database(database);
    let log = Arc::new(Mutex::new(HashMap::new()));
    let sink = Recording {
        inner: ClickHouseSink::new(proxied).deduplicate_batches(deduplicate),
        log: log.clone(),
    };
    let handle = Batcher::builder(sink)
        .max_rows(BATCH_ROWS)
        .max_wait(Duration::from_secs(60))
        .max_in_flight(2)
        .retry(
            RetryPolicy::default()
                .attempts(20)
                .backoff(Duration::from_millis(5), Duration::from_millis(50))
                .no_deadline(),
        )
        .spawn::<Event>()
        .await
        .unwrap();

    let stream = tokio::spawn(async move {
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let handle = handle.clone();
                tokio::spawn(async move {
                    let mut id = p;
                    while id < ROWS {
                        handle.insert(event(id, rows)).await.unwrap();
                        id += PRODUCERS;
                    }
                })
            })
            .collect();
        for p in producers {
            p.await.unwrap();
        }
        handle.close().await.unwrap()
    });
    // Arm one fault at a time, each after at least `SPACING` more attempts have ended,
    // until every batch is delivered (and at most a bounded number of times).
    const SPACING: u32 = 2;
    let attempts = || -> u32 {
        let log = log.lock().unwrap();
        log.values().map(|s| s.committed + s.failed).sum()
    };
    let mut armed_after = 0;
    for round in 1..=5_000 {
        if stream.is_finished() {
            break;
        }
        let ended = attempts();
        if ended >= armed_after + SPACING {
            match fault {
                Fault::TruncateRequests if proxy.truncations_pending() == 0 => {
                    // Somewhere in the request line, the headers or the body. A cut past
                    // the end of a request leaves it whole and is not counted. Cuts at the
                    // end of a read fall between the client's writes (HTTP chunks), where
                    // a batch sent as several frames used to be cut between two frames.
                    // A compressed batch is under 90 KB; a stored one is about 380 KB,
                    // sent in pieces of 64 KiB (its chunks).
                    let reach = match rows {
                        Rows::Compressible => 90_000,
                        Rows::Incompressible => 400_000,
                    };
                    let n = 1 + usize::try_from(mix(round) % reach).unwrap();
                    let cut = if round % 2 == 0 {
                        Truncation::At(n)
                    } else {
                        Truncation::ReadBefore(n)
                    };
                    proxy.truncate_requests(INSERT, &[cut]);
                    armed_after = ended;
                }
                Fault::DropAnswers if proxy.answers_pending() == 0 => {
                    proxy.drop_answers(INSERT, 1);
                    armed_after = ended;
                }
                _ => {}
            }
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let stats = stream.await.unwrap();
    let log = std::mem::take(&mut *log.lock().unwrap());
    Run {
        stats,
        log,
        proxy,
        direct,
    }
}

/// `count()`, `uniqExact(id)`, `min(id)`, `max(id)` and `sum(id)` of the events.
async fn totals(client: &clickhouse::Client) -> [u64; 5] {
    let line = tsv(
        client,
        "SELECT count(), uniqExact(id), min(id), max(id), sum(id) FROM events",
    )
    .await;
    let v: Vec<u64> = line
        .split_whitespace()
        .map(|f| f.parse().unwrap())
        .collect();
    v.try_into().unwrap()
}

/// The ids stored more than once, with their number of copies.
async fn duplicates(client: &clickhouse::Client) -> HashMap<u64, u64> {
    tsv(
        client,
        "SELECT id, count() FROM events GROUP BY id HAVING count() > 1",
    )
    .await
    .lines()
    .map(|l| {
        let (id, n) = l.split_once('\t').unwrap();
        (id.parse().unwrap(), n.parse().unwrap())
    })
    .collect()
}

/// Checks what holds whatever the fault: every batch was committed once, after failed
/// attempts that were all retryable; the stats add up; no row failed.
fn check_run(run: &Run) {
    let stats = &run.stats;
    assert!(stats.is_conserved(), "{stats:?}");
    assert_eq!(stats.accepted.rows, ROWS, "{stats:?}");
    assert_eq!(stats.committed.rows, ROWS, "{stats:?}");
    assert_eq!(stats.failed.rows, 0, "{stats:?}");
    assert_eq!(stats.in_buffer.rows, 0, "{stats:?}");
    let failed: u32 = run.log.values().map(|s| s.failed).sum();
    assert_eq!(stats.retries, u64::from(failed), "{stats:?}");
    assert_eq!(
        run.log.values().map(|s| s.ids.len()).sum::<usize>(),
        usize::try_from(ROWS).unwrap()
    );
    for (id, sent) in &run.log {
        assert_eq!(sent.committed, 1, "batch {id}: {sent:?}");
        assert!(
            sent.errors.iter().all(|k| *k == SinkErrorKind::Retryable),
            "batch {id}: a cut connection must be retryable: {sent:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cuts_before_the_server_has_the_batch_lose_and_duplicate_nothing() {
    let db = "batchrow_faults_truncate";
    let run = run(db, Fault::TruncateRequests, false, Rows::Compressible).await;
    assert!(
        run.log.values().all(|s| !s.stored),
        "a batch was not compressed"
    );
    check_truncated_run(&run, db).await;
}

/// The same with rows LZ4 cannot shrink: each batch's frame is stored, and sent as its
/// header followed by the batch's chunks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cuts_before_the_server_has_a_stored_batch_lose_and_duplicate_nothing() {
    let db = "batchrow_faults_truncate_stored";
    let run = run(db, Fault::TruncateRequests, false, Rows::Incompressible).await;
    // A batch whose first chunk is a few rows cut off the end of a chunk is compressed
    // (the sink judges a batch by its first chunk); the others are stored.
    let stored = run.log.values().filter(|s| s.stored).count();
    eprintln!("{stored} of {} batches stored", run.log.len());
    assert!(
        stored * 10 >= run.log.len() * 9,
        "{stored} of {}",
        run.log.len()
    );
    check_truncated_run(&run, db).await;
}

/// A cut that withholds only the end of a chunked body (the CRLF after the last chunk's
/// data and the last chunk) leaves the server every byte of the data, and ClickHouse
/// 18.16 stores it: the proxy lets such a request through rather than counting a
/// truncation, so that the runs above cut only requests whose data the server lacks. A
/// cut one byte earlier withholds data, and is one.
#[tokio::test]
async fn the_proxy_truncates_only_requests_whose_data_it_withholds() {
    const REQUEST: &[u8] = b"POST /?query=INSERT+INTO+t HTTP/1.1\r\nHost: x\r\n\
        Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    let marker_at = REQUEST
        .windows(INSERT.len())
        .position(|w| w == INSERT)
        .unwrap();
    for withheld in 1..=8 {
        let server = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = server.local_addr().unwrap().port();
        let proxy = Proxy::start(("127.0.0.1".to_owned(), port)).await;
        let cut = REQUEST.len() - withheld - marker_at;
        proxy.truncate_requests(INSERT, &[Truncation::At(cut)]);
        let mut client = tokio::net::TcpStream::connect(("127.0.0.1", proxy.port()))
            .await
            .unwrap();
        client.write_all(REQUEST).await.unwrap();
        client.shutdown().await.unwrap();
        let (mut conn, _) = server.accept().await.unwrap();
        let mut received = Vec::new();
        conn.read_to_end(&mut received).await.unwrap();
        if withheld <= 7 {
            assert_eq!(received, REQUEST, "withholding {withheld} bytes");
            assert_eq!(proxy.truncated(), 0, "withholding {withheld} bytes");
        } else {
            assert_eq!(
                received,
                REQUEST[..REQUEST.len() - withheld],
                "{withheld} bytes"
            );
            assert_eq!(proxy.truncated(), 1, "withholding {withheld} bytes");
        }
    }
}

/// One LZ4 frame of `raw` as the server reads it (`decompress=1`): the CityHash128
/// checksum of the rest, the header (method, compressed size with the header, raw
/// size), then the LZ4 block.
fn lz4_frame(raw: &[u8]) -> Vec<u8> {
    let data = lz4_flex::block::compress(raw);
    let mut rest = vec![0x82];
    rest.extend_from_slice(&u32::try_from(9 + data.len()).unwrap().to_le_bytes());
    rest.extend_from_slice(&u32::try_from(raw.len()).unwrap().to_le_bytes());
    rest.extend_from_slice(&data);
    let checksum = cityhash_rs::cityhash_102_128(&rest).rotate_right(64);
    [&checksum.to_le_bytes()[..], &rest].concat()
}

/// POSTs `body` as the data of `query` with `decompress=1`, straight to the server (a
/// whole request, whose body ends where `body` ends); returns the HTTP status.
async fn post_frames(database: &str, query: &str, body: &[u8]) -> u16 {
    let (host, port) = upstream();
    let mut conn = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .unwrap();
    let head = format!(
        "POST /?database={database}&decompress=1&query={} HTTP/1.1\r\nHost: {host}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        query.replace(' ', "+"),
        body.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(body).await.unwrap();
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer}"))
}

/// The sink sends a Native block in LZ4 frames of at most 1 MiB, so a request can end
/// at a frame's end while the server lacks part of the block. ClickHouse 18.16 takes
/// the end of a cut-off body for the end of the data (see the module docs), and reads
/// a Native block only whole: the cut request fails and stores nothing. Checked with
/// the same block sent whole, and cut after each of several frames; and against
/// RowBinary rows in frames of whole rows, which the same cut stores in part (the
/// reason RowBinary batches go in one frame).
#[tokio::test]
async fn a_native_block_cut_at_a_frame_end_stores_nothing() {
    use batchrow::clickhouse::{native::NativeBlock, RowBinary};

    let db = "batchrow_faults_native_frames";
    let client = fresh_database(db).await;
    exec(&client, TABLE).await;
    const BLOCK_ROWS: u64 = 20_000;
    let rows: Vec<Event> = (0..BLOCK_ROWS)
        .map(|id| event(id, Rows::Compressible))
        .collect();
    let types = RowBinary::resolve_offline(Schema::of::<Event>()).unwrap();
    let mut raw = Vec::new();
    RowBinary::encode_rows(&rows, &types, &mut raw).unwrap();
    let native = NativeBlock::new(Event::COLUMNS.iter().map(|c| c.name).zip(&types)).unwrap();
    let block = native.transcode(&[&raw[..]]).unwrap();
    // Frames of 64 KiB: the block's columns end inside frames and at their ends.
    let frames: Vec<Vec<u8>> = block.chunks(64 << 10).map(lz4_frame).collect();
    assert!(frames.len() >= 6, "{} frames", frames.len());
    let insert = "INSERT INTO events FORMAT Native";
    let count = "SELECT count() FROM events";
    for cut in 1..frames.len() {
        let status = post_frames(db, insert, &frames[..cut].concat()).await;
        assert_ne!(status, 200, "a block cut after frame {cut} was taken");
        assert_eq!(
            tsv(&client, count).await.trim(),
            "0",
            "cut after frame {cut}"
        );
    }
    // RowBinary in frames of 1,000 whole rows, cut after the third frame.
    let mut row_frames = Vec::new();
    for part in rows.chunks(1000) {
        let mut bytes = Vec::new();
        RowBinary::encode_rows(part, &types, &mut bytes).unwrap();
        row_frames.push(lz4_frame(&bytes));
    }
    let rowbinary = "INSERT INTO events FORMAT RowBinary";
    post_frames(db, rowbinary, &row_frames[..3].concat()).await;
    assert_eq!(tsv(&client, count).await.trim(), "3000", "RowBinary cut");
    exec(&client, "TRUNCATE TABLE events").await;
    assert_eq!(post_frames(db, insert, &frames.concat()).await, 200);
    assert_eq!(
        tsv(&client, "SELECT count(), sum(id), max(name) FROM events")
            .await
            .trim(),
        format!("{BLOCK_ROWS}\t{}\tevent-9999", (0..BLOCK_ROWS).sum::<u64>())
    );
    exec(&client, &format!("DROP DATABASE {db}")).await;
}

/// Checks a run with [`Fault::TruncateRequests`]: every row stored once; then drops its
/// database `db`.
async fn check_truncated_run(run: &Run, db: &str) {
    let truncated = run.proxy.truncated();
    eprintln!(
        "truncated {truncated} INSERTs; {} retries; {} batches",
        run.stats.retries,
        run.log.len()
    );
    assert!(
        truncated >= 5,
        "the proxy truncated only {truncated} INSERTs"
    );
    check_run(run);
    // Each truncated INSERT failed, and was retried.
    assert!(run.stats.retries >= u64::from(truncated), "{:?}", run.stats);

    let dups = duplicates(&run.direct).await;
    assert!(dups.is_empty(), "{} ids stored twice: {dups:?}", dups.len());
    let expected_sum: u64 = (0..ROWS).sum();
    assert_eq!(
        totals(&run.direct).await,
        [ROWS, ROWS, 0, ROWS - 1, expected_sum]
    );
    // The stats agree with the server: every committed row is there, once.
    assert_eq!(run.stats.committed.rows, totals(&run.direct).await[1]);
    exec(&run.direct, &format!("DROP DATABASE {db}")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_answers_duplicate_only_whole_retried_batches() {
    let run = run(
        "batchrow_faults_answers",
        Fault::DropAnswers,
        false,
        Rows::Compressible,
    )
    .await;
    let dropped = run.proxy.answers_dropped();
    check_run(&run);
    assert!(dropped >= 3, "the proxy dropped only {dropped} answers");

    // Nothing is lost: every id is there.
    let [count, distinct, min, max, _] = totals(&run.direct).await;
    assert_eq!((distinct, min, max), (ROWS, 0, ROWS - 1));
    assert_eq!(run.stats.committed.rows, distinct);

    // Duplicates are whole batches, each copy the work of an attempt whose answer was
    // lost: within a batch every id has the same number of copies, at most one more
    // than its failed attempts.
    let dups = duplicates(&run.direct).await;
    let mut extra_copies = 0;
    let mut extra_rows = 0;
    let mut batches_twice = 0;
    for (batch, sent) in &run.log {
        let copies = dups.get(&sent.ids[0]).copied().unwrap_or(1);
        for id in &sent.ids {
            assert_eq!(
                dups.get(id).copied().unwrap_or(1),
                copies,
                "batch {batch} was stored in part: {sent:?}"
            );
        }
        assert!(
            copies <= 1 + u64::from(sent.failed),
            "batch {batch} has {copies} copies after {} failed attempts",
            sent.failed
        );
        if copies > 1 {
            batches_twice += 1;
        }
        extra_copies += copies - 1;
        extra_rows += (copies - 1) * u64::try_from(sent.ids.len()).unwrap();
    }
    // The server stored every INSERT whose answer the proxy dropped.
    assert_eq!(extra_copies, u64::from(dropped));
    assert_eq!(count, ROWS + extra_rows);
    eprintln!(
        "dropped {dropped} answers; {} retries; {batches_twice} of {} batches stored more \
         than once; {} rows stored, {distinct} distinct",
        run.stats.retries,
        run.log.len(),
        count
    );
    exec(&run.direct, "DROP DATABASE batchrow_faults_answers").await;
}

/// With [`ClickHouseSink::deduplicate_batches`], a server that has
/// `insert_deduplication_token` (22.2 and later) stores each batch once however many
/// answers are lost; an older one, such as 18.16, is refused before the first row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deduplicated_batches_are_stored_once_or_refused_by_old_servers() {
    let direct = support::client();
    let has_token = tsv(
        &direct,
        "SELECT count() FROM system.settings WHERE name = 'insert_deduplication_token'",
    )
    .await;
    if has_token.trim() == "0" {
        let client = fresh_database("batchrow_faults_dedup_old").await;
        exec(&client, TABLE).await;
        let err = Batcher::builder(ClickHouseSink::new(client.clone()).deduplicate_batches(true))
            .spawn::<Event>()
            .await
            .unwrap_err();
        let batchrow::Error::Sink(err) = err else {
            panic!("expected the sink's error, got {err:?}");
        };
        assert_eq!(err.kind(), SinkErrorKind::Config, "{err}");
        let version = tsv(&client, "SELECT version()").await;
        assert_eq!(
            err.to_string(),
            format!(
                "deduplicate_batches(true) sends `insert_deduplication_token`, which this \
                 server (ClickHouse {}) does not have; it needs ClickHouse 22.2 or later",
                version.trim()
            )
        );
        exec(&client, "DROP DATABASE batchrow_faults_dedup_old").await;
        return;
    }
    let run = run(
        "batchrow_faults_dedup",
        Fault::DropAnswers,
        true,
        Rows::Compressible,
    )
    .await;
    let dropped = run.proxy.answers_dropped();
    check_run(&run);
    assert!(dropped >= 3, "the proxy dropped only {dropped} answers");
    let dups = duplicates(&run.direct).await;
    assert!(dups.is_empty(), "{} ids stored twice", dups.len());
    let expected_sum: u64 = (0..ROWS).sum();
    assert_eq!(
        totals(&run.direct).await,
        [ROWS, ROWS, 0, ROWS - 1, expected_sum]
    );
    exec(&run.direct, "DROP DATABASE batchrow_faults_dedup").await;
}
