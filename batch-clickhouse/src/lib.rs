//! The ClickHouse sink of batchrow: rows encoded in ClickHouse's `RowBinary` format and
//! inserted through the official [`clickhouse`] crate.
//!
//! - [`ClickHouseSink`]: the [`Sink`](batch_core::Sink) that checks the table's schema
//!   once and sends each batch as one `INSERT ... FORMAT RowBinary`.
//! - [`RowBinary`]: the [`Format`](batch_core::Format) marker and the encoders for every
//!   Rust type ClickHouse can store (see the table in its module docs).
//! - [`ChType`]: ClickHouse column types and the parser for their type strings.
//!
//! Most users reach this crate as `batchrow::clickhouse`.
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

mod classify;
mod error;
mod kinds;
pub mod rowbinary;
mod schema;
mod sink;
mod sql;
mod types;

pub use error::{Error, Result};
pub use rowbinary::RowBinary;
pub use sink::ClickHouseSink;
pub use types::{ChType, EnumDef};
