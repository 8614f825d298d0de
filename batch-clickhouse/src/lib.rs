//! The ClickHouse sink of batchrow: rows encoded in ClickHouse's `RowBinary` format,
//! transcoded per batch into the columnar `Native` format, and inserted through the
//! official [`clickhouse`] crate.
//!
//! - [`ClickHouseSink`]: the [`Sink`](batch_core::Sink) that checks the table's schema
//!   once and sends each batch as one `INSERT ... FORMAT Native` (or `RowBinary`: see
//!   [`InsertFormat`]).
//! - [`RowBinary`]: the [`Format`](batch_core::Format) marker and the encoders for every
//!   Rust type ClickHouse can store (see the table in its module docs).
//! - [`native`]: the RowBinary-to-Native transcoder ([`native::NativeBlock`]) and the
//!   layout of each type in a Native block.
//! - [`ChType`]: ClickHouse column types and the parser for their type strings.
//!
//! Most users reach this crate as `batchrow::clickhouse`.
//!
//! # Examples
//!
//! ```no_run
//! # use batch_core as batchrow;
//! # use batch_derive::BatchRow;
//! use batchrow::{BatchRow, Batcher};
//! use batch_clickhouse::ClickHouseSink;
//!
//! #[derive(BatchRow)]
//! # #[batch(crate = "batch_core")]
//! #[batch(table = "events")]
//! struct Event<'a> {
//!     id: u64,
//!     user: &'a str,
//!     #[batch(type = "LowCardinality(String)")]
//!     kind: String,
//!     note: Option<String>,
//! }
//!
//! # #[tokio::main] async fn main() -> batchrow::Result<()> {
//! let client = clickhouse::Client::default().with_url("http://127.0.0.1:8123");
//! // Checks `events` against the struct before the first row is accepted.
//! let handle = Batcher::builder(ClickHouseSink::new(client))
//!     .spawn::<Event>()
//!     .await?;
//! handle
//!     .insert(Event { id: 1, user: "ada", kind: "login".into(), note: None })
//!     .await?;
//! handle.close().await?;
//! # Ok(()) }
//! ```
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

mod classify;
mod codes;
mod dedup;
mod endpoints;
mod error;
mod frame;
mod kinds;
pub mod native;
pub mod rowbinary;
mod schema;
mod sink;
mod sql;
mod types;

pub use error::{Error, Result};
pub use frame::InsertCompression;
pub use native::InsertFormat;
pub use rowbinary::{Int256, RowBinary, UInt256};
pub use schema::{describe_table, TableColumn};
pub use sink::{ClickHouseSender, ClickHouseSink};
pub use types::{ChType, EnumDef, TypeError};

/// The official `clickhouse` crate, re-exported so that users build the
/// [`clickhouse::Client`] the sink takes with the same version (`batchrow::clickhouse::clickhouse`
/// through the facade).
///
/// ```
/// let client = batch_clickhouse::clickhouse::Client::default().with_url("http://127.0.0.1:8123");
/// let sink = batch_clickhouse::ClickHouseSink::new(client);
/// # drop(sink);
/// ```
pub use clickhouse;
