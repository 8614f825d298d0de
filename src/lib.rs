//! batchrow: typed, batched, high-throughput inserts into ClickHouse and PostgreSQL.
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

pub use batch_core::*;
pub use batch_derive::{BatchEnum, BatchRow};

#[cfg(feature = "clickhouse")]
pub use batch_clickhouse as clickhouse;
#[cfg(feature = "postgres")]
pub use batch_postgres as postgres;
