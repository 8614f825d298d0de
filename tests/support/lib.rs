//! Helpers of batchrow's integration tests (`tests/clickhouse/`, `tests/postgres/` and the
//! binaries that measure a process of their own), in one crate so that every test binary
//! uses them without `#[path]` includes.
//!
//! Test code: the helpers panic with a message when a server does not answer, which fails
//! the test that called them.
#![allow(
    missing_docs,
    missing_debug_implementations,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::missing_panics_doc
)]

pub mod batches;
pub mod clickhouse;
pub mod counting;
pub mod instance;
pub mod memory;
pub mod postgres;
pub mod proxy;

/// The sink error of a `spawn` refused by the schema check (panics on any other error).
pub fn schema_error(err: batchrow::Error) -> batchrow::SinkError {
    let batchrow::Error::Sink(err) = err else {
        panic!("not a sink error: {err}");
    };
    assert_eq!(err.kind(), batchrow::SinkErrorKind::Schema, "{err}");
    err
}
