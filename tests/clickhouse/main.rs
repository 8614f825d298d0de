//! The ClickHouse integration tests, one binary with a module per subject, against the
//! server `bash scripts/servers.sh` starts on 127.0.0.1:8123 (`BATCHROW_CLICKHOUSE_URL`),
//! servers of the tests' own for the fault tests (`scripts/clickhouse-instance.sh`), and
//! the ZooKeeper cluster of `scripts/cluster.sh`. Each module says what it needs.
//!
//! Two ClickHouse tests are binaries of their own because they measure the process:
//! `tests/clickhouse_memory.rs` (its resident memory) and
//! `tests/clickhouse_native_throughput.rs` (its CPU time).

mod batcher;
mod chdb_oracle;
mod cluster;
mod dead_letters;
mod faults;
mod outage;
mod roundtrip;
mod sink;
mod types;
