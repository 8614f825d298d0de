//! The memory bound of the ClickHouse send path with incompressible rows (random
//! payloads): the process's resident memory stays within `max_buffered_bytes` (64 MiB)
//! plus 32 MiB above what it was before the batcher started, while the server is frozen
//! and while it drains (`batchrow_test_support::memory` says how it is measured).
//!
//! The batcher reserves what the sink reports in `Sender::send_memory` (the compressed
//! frame and the copy made to compress it) from `max_buffered_bytes`; without that, two
//! batches in flight added their frames to the budget (+132 MiB at the peak while frozen).
//! Rows LZ4 cannot shrink, as here, go out in stored frames sent straight from the
//! batch's chunks, so the sink holds no copy of them at all.
//!
//! One test in a binary of its own, so that no other test shares the process's memory;
//! `clickhouse_memory_compressible.rs` is the same with rows LZ4 shrinks.
//!
//! Needs the `clickhouse-server` package (ClickHouse 18.16 on Debian; `bash
//! scripts/servers.sh` installs it): the test starts a server instance of its own with
//! `scripts/clickhouse-instance.sh` on ports 18350 to 18352, and kills it at the end,
//! even when the test fails. It takes about 15 s.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use batchrow_test_support::instance::Instance;
use batchrow_test_support::memory::{frozen_and_draining, Payload, SLACK};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_stays_within_the_budget_while_frozen_and_draining() {
    let server = Instance::fresh("memory", 18350).await;
    frozen_and_draining(&server, Payload::Incompressible, SLACK).await;
}
