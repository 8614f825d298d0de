//! The memory bound of the ClickHouse send path with rows LZ4 shrinks: batches go in
//! Native, transcoded and compressed. The process's resident memory stays within the
//! budget (64 MiB) plus the 32 MiB of `clickhouse_memory.rs`, plus what the batcher
//! and the sink document beyond the budget: one send's memory (the batcher always lets
//! one send proceed) and the transcoder's buffers the sink keeps for the next batch
//! (at most 32 MiB); while the server is frozen and while it drains
//! (`batchrow_test_support::memory` says how it is measured).
//!
//! One test in a binary of its own, so that no other test shares the process's memory.
//!
//! Needs the `clickhouse-server` package (ClickHouse 18.16 on Debian; `bash
//! scripts/servers.sh` installs it): the test starts a server instance of its own with
//! `scripts/clickhouse-instance.sh` on ports 18360 to 18362, and kills it at the end,
//! even when the test fails. It takes about 15 s.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use batchrow_test_support::instance::Instance;
use batchrow_test_support::memory::{frozen_and_draining, Payload, KEPT, ONE_SEND, SLACK};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_stays_within_the_budget_one_send_and_the_kept_buffers() {
    let server = Instance::fresh("memory-compressible", 18360).await;
    frozen_and_draining(&server, Payload::Compressible, SLACK + ONE_SEND + KEPT).await;
}
