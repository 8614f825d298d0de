//! The memory bound of the ClickHouse send path, measured on the process (for the
//! `clickhouse_memory*` test binaries, one scenario each, so that no other test shares
//! the process's memory): with `max_buffered_bytes` at 64 MiB and otherwise default
//! settings, the process's resident memory stays within the budget plus a slack above
//! what it was before the batcher started, both while the server is frozen (SIGSTOP)
//! and the producers push until they block, and while it drains afterwards.
//!
//! Linux only: it reads `VmRSS` and `VmHWM` from `/proc/self/status` and resets the peak
//! through `/proc/self/clear_refs`. Figures go to stderr (`--nocapture`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use batchrow::clickhouse::ClickHouseSink;
use batchrow::{BatchRow, Batcher};

use crate::instance::Instance;

/// The memory budget of the batcher measured (`max_buffered_bytes`).
pub const BUDGET: usize = 64 << 20;
/// How far over the budget the process may grow for incompressible rows.
pub const SLACK: usize = 32 << 20;
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

/// What the payloads look like to LZ4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    /// Pseudo-random bytes: batches go in stored frames, sent from the batch's chunks.
    Incompressible,
    /// Words from a small vocabulary: batches go in Native, transcoded and compressed,
    /// so the sink's kept buffers (transcoder and frames) are in play.
    Compressible,
}

/// Fills `buf` with pseudo-random bytes (xorshift64), or with pseudo-random words of a
/// small vocabulary that LZ4 compresses.
fn fill(state: &mut u64, buf: &mut [u8], payload: Payload) {
    const WORDS: [&[u8]; 8] = [
        b"insert ", b"batch ", b"row ", b"column ", b"server ", b"frame ", b"block ", b"id ",
    ];
    let mut next = || {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    };
    match payload {
        Payload::Incompressible => {
            for word in buf.chunks_mut(8) {
                word.copy_from_slice(&next().to_le_bytes()[..word.len()]);
            }
        }
        Payload::Compressible => {
            let mut at = 0;
            while at < buf.len() {
                let word = WORDS[usize::try_from(next() % 8).unwrap()];
                let take = word.len().min(buf.len() - at);
                buf[at..at + take].copy_from_slice(&word[..take]);
                at += take;
            }
        }
    }
}

/// What the ClickHouse sink documents it keeps outside `max_buffered_bytes`: at most
/// 32 MiB of the Native transcoder's buffers.
pub const KEPT: usize = 32 << 20;

/// What one send holds beyond its batch at the default `max_bytes` (16 MiB) in Native
/// with LZ4: the transcoded streams, the block and its frame. The batcher lets one send
/// proceed even when the budget is full, so the bound is exceeded by at most this
/// (`batch_core::batcher` docs, "Bounded memory").
pub const ONE_SEND: usize = 3 * (16 << 20);

/// Streams `ROWS` rows of `payload` into table `mem.blobs` (made anew) while the
/// server is frozen, then while it drains; checks that the peak resident memory stays
/// within `BUDGET + slack` over what it was before the batcher started, and that every
/// row arrives.
pub async fn frozen_and_draining(server: &Instance, payload: Payload, slack: usize) {
    let client = server.client();
    client
        .query("CREATE DATABASE IF NOT EXISTS mem")
        .execute()
        .await
        .unwrap();
    client
        .query("DROP TABLE IF EXISTS mem.blobs")
        .execute()
        .await
        .unwrap();
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
                let mut bytes = vec![0u8; PAYLOAD];
                let mut id = p;
                while id < ROWS {
                    fill(&mut state, &mut bytes, payload);
                    let row = Blob {
                        id,
                        payload: &bytes,
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
        "[memory] {payload:?} rows: budget {} MiB + {} MiB slack; baseline {:.1} MiB; frozen: {blocked_rows} \
         rows accepted ({:.1} MiB buffered, {} in flight), RSS +{:.1} MiB, peak +{:.1} MiB; \
         drain: peak +{:.1} MiB; {} rows committed, {} retries",
        BUDGET >> 20,
        slack >> 20,
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
        frozen_peak.saturating_sub(baseline) <= BUDGET + slack,
        "{payload:?} rows, frozen: peak RSS +{:.1} MiB over the baseline",
        over(frozen_peak)
    );
    assert!(
        drain_peak.saturating_sub(baseline) <= BUDGET + slack,
        "{payload:?} rows, draining: peak RSS +{:.1} MiB over the baseline",
        over(drain_peak)
    );
}
