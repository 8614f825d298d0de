//! The memory bound of the ClickHouse send path, measured on the process: with
//! `max_buffered_bytes` at 64 MiB and otherwise default settings, incompressible rows
//! (random payloads), the process's resident memory stays within the budget plus
//! 32 MiB above what it was before the batcher started, both while the server is frozen
//! (SIGSTOP) and the producers push until they block, and while it drains afterwards.
//!
//! The batcher reserves what the sink reports in `Sender::send_memory` (the compressed
//! frame and the copy made to compress it) from `max_buffered_bytes`; without that, two
//! batches in flight added their frames to the budget (+132 MiB at the peak while frozen).
//! Rows LZ4 cannot shrink, as here, go out in stored frames sent straight from the
//! batch's chunks, so the sink holds no copy of them at all.
//!
//! One test in a binary of its own, so that no other test shares the process's memory.
//! Linux only: it reads `VmRSS` and `VmHWM` from `/proc/self/status` and resets the peak
//! through `/proc/self/clear_refs`. Figures go to stderr (`--nocapture`).
//!
//! Needs the `clickhouse-server` package (ClickHouse 18.16 on Debian; `bash
//! scripts/servers.sh` installs it): the test starts a server instance of its own with
//! `scripts/clickhouse-instance.sh` on ports 18350 to 18352, and kills it at the end,
//! even when the test fails. It takes about 15 s.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use batchrow_test_support::instance;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use batchrow::clickhouse::ClickHouseSink;
use batchrow::{BatchRow, Batcher};
use instance::Instance;

const BUDGET: usize = 64 << 20;
const SLACK: usize = 32 << 20;
const PAYLOAD: usize = 1024;
/// About 200 MiB of rows: three times the budget.
const ROWS: u64 = 200_000;
const PRODUCERS: u64 = 4;
const CALL_BOUND: Duration = Duration::from_secs(160);
const MIB: f64 = 1024.0 * 1024.0;

#[derive(BatchRow)]
#[batch(table = "blobs")]
struct Blob<'a> {
    id: u64,
    payload: &'a [u8],
}

/// A field of `/proc/self/status`, in bytes.
fn status(field: &str) -> usize {
    let text = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
    let kb: usize = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap();
    kb * 1024
}

/// Resets `VmHWM` to the current `VmRSS`.
fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").expect("cannot reset VmHWM");
}

/// Fills `buf` with pseudo-random bytes (xorshift64): LZ4 cannot compress them.
fn fill(state: &mut u64, buf: &mut [u8]) {
    for word in buf.chunks_mut(8) {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        word.copy_from_slice(&state.to_le_bytes()[..word.len()]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_stays_within_the_budget_while_frozen_and_draining() {
    let server = Instance::fresh("memory", 18350).await;
    let client = server.client();
    client.query("CREATE DATABASE mem").execute().await.unwrap();
    client
        .query("CREATE TABLE mem.blobs (id UInt64, payload String) ENGINE = MergeTree ORDER BY id")
        .execute()
        .await
        .unwrap();
    let sink = ClickHouseSink::new(server.client().with_database("mem"));

    let baseline = status("VmRSS:");
    reset_peak();
    let handle = tokio::time::timeout(
        CALL_BOUND,
        Batcher::builder(sink)
            .max_buffered_bytes(BUDGET)
            .spawn::<Blob>(),
    )
    .await
    .unwrap()
    .unwrap();
    server.freeze().await;

    let accepted = Arc::new(AtomicU64::new(0));
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let handle = handle.clone();
            let accepted = accepted.clone();
            tokio::spawn(async move {
                let mut state = 0x9e37_79b9_7f4a_7c15 ^ (p + 1);
                let mut payload = vec![0u8; PAYLOAD];
                let mut id = p;
                while id < ROWS {
                    fill(&mut state, &mut payload);
                    let row = Blob {
                        id,
                        payload: &payload,
                    };
                    tokio::time::timeout(CALL_BOUND, handle.insert(row))
                        .await
                        .expect("an insert did not return")
                        .unwrap();
                    accepted.fetch_add(1, Ordering::Relaxed);
                    id += PRODUCERS;
                }
            })
        })
        .collect();

    // Frozen: wait until the producers block (no row accepted for 2 s).
    let frozen_at = std::time::Instant::now();
    let mut last = (0, std::time::Instant::now());
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = accepted.load(Ordering::Relaxed);
        if now != last.0 {
            last = (now, std::time::Instant::now());
        } else if last.1.elapsed() >= Duration::from_secs(2) {
            break;
        }
        assert!(
            frozen_at.elapsed() < Duration::from_secs(20),
            "the producers never blocked"
        );
    }
    let blocked_rows = accepted.load(Ordering::Relaxed);
    let frozen_rss = status("VmRSS:");
    let frozen_peak = status("VmHWM:");
    let stats = handle.stats();
    assert!(blocked_rows < ROWS, "the producers finished while frozen");

    reset_peak();
    server.thaw().await;
    for p in producers {
        p.await.unwrap();
    }
    let closed = tokio::time::timeout(CALL_BOUND, handle.close())
        .await
        .expect("close did not return")
        .unwrap();
    let drain_peak = status("VmHWM:");

    let over = |bytes: usize| bytes.saturating_sub(baseline) as f64 / MIB;
    eprintln!(
        "[memory] budget {} MiB + {} MiB slack; baseline {:.1} MiB; frozen: {blocked_rows} \
         rows accepted ({:.1} MiB buffered, {} in flight), RSS +{:.1} MiB, peak +{:.1} MiB; \
         drain: peak +{:.1} MiB; {} rows committed, {} retries",
        BUDGET >> 20,
        SLACK >> 20,
        baseline as f64 / MIB,
        stats.in_buffer.bytes as f64 / MIB,
        stats.in_flight,
        over(frozen_rss),
        over(frozen_peak),
        over(drain_peak),
        closed.committed.rows,
        closed.retries,
    );
    assert_eq!(closed.committed.rows, ROWS, "{closed:?}");
    let line = server
        .client()
        .query("SELECT count(), uniqExact(id) FROM mem.blobs")
        .fetch_one::<(u64, u64)>()
        .await
        .unwrap();
    assert_eq!(line.1, ROWS, "rows lost");
    assert!(
        frozen_peak.saturating_sub(baseline) <= BUDGET + SLACK,
        "frozen: peak RSS +{:.1} MiB over the baseline",
        over(frozen_peak)
    );
    assert!(
        drain_peak.saturating_sub(baseline) <= BUDGET + SLACK,
        "draining: peak RSS +{:.1} MiB over the baseline",
        over(drain_peak)
    );
}
