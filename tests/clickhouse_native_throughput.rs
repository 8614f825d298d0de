//! RowBinary against Native, measured in one run: 1,000,000 rows of a 6-column event
//! (`id UInt64, ts DateTime, user_id UInt32, event LowCardinality(String), value
//! Float64, payload String` of 40 to 56 characters) through the batcher with default
//! settings, once per insert format, alternating, a few rounds. For each run: rows per
//! second (from the first insert to `close`), the client's CPU (user + system of this
//! process, from `/proc/self/stat`) and the server's CPU (from `/proc/<pid>/stat` of the
//! process that listens on the server's port), and `count()` checked after the run.
//!
//! Ignored by default (it takes a minute and wants a quiet machine); run it with
//! `cargo test --release --all-features --test clickhouse_native_throughput -- --ignored
//! --nocapture`. Needs ClickHouse at `BATCHROW_CLICKHOUSE_URL` (default
//! `http://127.0.0.1:8123`; `bash scripts/servers.sh` starts one) on this machine, and
//! `ss` to find its process (or set `BATCHROW_CLICKHOUSE_PID`). Linux only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use batchrow_test_support::clickhouse as support;

use std::time::{Duration, Instant};

use batchrow::clickhouse::{ClickHouseSink, InsertFormat};
use batchrow::{BatchRow, Batcher};
use chrono::{DateTime, Utc};
use support::{exec, fresh_database, tsv};

const ROWS: u64 = 1_000_000;
const PRODUCERS: u64 = 2;
const ROUNDS: usize = 3;
/// Clock ticks per second of `/proc/<pid>/stat` (USER_HZ, 100 on Linux).
const TICKS: f64 = 100.0;

#[derive(BatchRow)]
#[batch(table = "events")]
struct Event<'a> {
    id: u64,
    ts: DateTime<Utc>,
    user_id: u32,
    #[batch(type = "LowCardinality(String)")]
    event: &'a str,
    value: f64,
    payload: &'a str,
}

const EVENTS: [&str; 8] = [
    "page_view",
    "click",
    "signup",
    "login",
    "logout",
    "purchase",
    "add_to_cart",
    "search",
];

/// splitmix64.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// 4,096 payloads of 40 to 56 characters.
fn payloads() -> Vec<String> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789-_ ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    (0..4096u64)
        .map(|i| {
            let len = 40 + mix(i) % 17;
            (0..len)
                .map(|k| {
                    let c = mix(i * 64 + k) % ALPHABET.len() as u64;
                    char::from(ALPHABET[usize::try_from(c).unwrap()])
                })
                .collect()
        })
        .collect()
}

/// User and system CPU seconds of process `pid` (`self` for this one).
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The fields after the command name (which may hold spaces) end with `)`.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let utime: f64 = fields[11].parse().unwrap();
    let stime: f64 = fields[12].parse().unwrap();
    (utime + stime) / TICKS
}

/// The pid of the process listening on the server's port.
fn server_pid() -> String {
    if let Ok(pid) = std::env::var("BATCHROW_CLICKHOUSE_PID") {
        return pid;
    }
    let url = support::url();
    let port = url
        .rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse::<u16>().ok())
        .unwrap_or(8123);
    let out = std::process::Command::new("ss")
        .args(["-ltnpH", &format!("sport = :{port}")])
        .output()
        .expect("ss, to find the server's process (or set BATCHROW_CLICKHOUSE_PID)");
    let text = String::from_utf8_lossy(&out.stdout);
    let at = text
        .find("pid=")
        .expect("no process listens on the server's port")
        + 4;
    text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect()
}

struct Figures {
    rows_per_s: f64,
    client_cpu: f64,
    server_cpu: f64,
}

async fn run(
    client: &clickhouse::Client,
    format: InsertFormat,
    pool: &'static [String],
) -> Figures {
    exec(client, "TRUNCATE TABLE events").await;
    let pid = server_pid();
    let sink = ClickHouseSink::new(client.clone()).insert_format(format);
    let handle = Batcher::builder(sink).spawn::<Event>().await.unwrap();
    let (client0, server0, started) = (cpu_seconds("self"), cpu_seconds(&pid), Instant::now());
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let handle = handle.clone();
            tokio::spawn(async move {
                let base = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
                let mut id = p;
                let mut rows = Vec::with_capacity(10_000);
                while id < ROWS {
                    let r = mix(id);
                    rows.push(Event {
                        id,
                        ts: base + chrono::Duration::seconds(i64::try_from(id / 100).unwrap()),
                        user_id: u32::try_from(r % 100_000).unwrap(),
                        event: EVENTS[usize::try_from(r % 8).unwrap()],
                        value: (r % 10_000) as f64 / 100.0,
                        payload: &pool[usize::try_from(r % 4096).unwrap()],
                    });
                    if rows.len() == 10_000 {
                        handle.insert_many(std::mem::take(&mut rows)).await.unwrap();
                    }
                    id += PRODUCERS;
                }
                handle.insert_many(rows).await.unwrap();
            })
        })
        .collect();
    for p in producers {
        p.await.unwrap();
    }
    let stats = handle.close().await.unwrap();
    let wall = started.elapsed();
    let (client1, server1) = (cpu_seconds("self"), cpu_seconds(&pid));
    assert_eq!(stats.committed.rows, ROWS, "{stats:?}");
    assert_eq!(
        tsv(client, "SELECT count(), uniqExact(id) FROM events").await,
        format!("{ROWS}\t{ROWS}\n")
    );
    Figures {
        rows_per_s: ROWS as f64 / wall.as_secs_f64(),
        client_cpu: client1 - client0,
        server_cpu: server1 - server0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run with --ignored --nocapture, in release"]
async fn rowbinary_against_native() {
    let client = fresh_database("batchrow_native_throughput").await;
    exec(
        &client
            .clone()
            .with_setting("allow_experimental_low_cardinality_type", "1"),
        "CREATE TABLE events (id UInt64, ts DateTime, user_id UInt32, \
         event LowCardinality(String), value Float64, payload String) \
         ENGINE = MergeTree ORDER BY id",
    )
    .await;
    let pool: &'static [String] = Box::leak(payloads().into_boxed_slice());
    let mut all = Vec::new();
    for round in 0..ROUNDS {
        for format in [InsertFormat::RowBinary, InsertFormat::Native] {
            let f = run(&client, format, pool).await;
            eprintln!(
                "[native] round {round} {format:>9}: {:>9.0} rows/s, client CPU {:.2} s, \
                 server CPU {:.2} s",
                f.rows_per_s, f.client_cpu, f.server_cpu
            );
            all.push((format, f));
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    for format in [InsertFormat::RowBinary, InsertFormat::Native] {
        let runs: Vec<&Figures> = all
            .iter()
            .filter(|(f, _)| *f == format)
            .map(|(_, f)| f)
            .collect();
        let n = runs.len() as f64;
        eprintln!(
            "[native] mean {format:>9}: {:>9.0} rows/s, client CPU {:.2} s, server CPU {:.2} s \
             (per 1M rows)",
            runs.iter().map(|f| f.rows_per_s).sum::<f64>() / n,
            runs.iter().map(|f| f.client_cpu).sum::<f64>() / n,
            runs.iter().map(|f| f.server_cpu).sum::<f64>() / n,
        );
    }
    exec(&client, "DROP DATABASE batchrow_native_throughput").await;
}
