//! Typed, batched, high-throughput inserts into ClickHouse and PostgreSQL.
//!
//! Put `#[derive(BatchRow)]` on a plain struct. At compile time, batchrow generates
//! the table name, the column schema, and a binary encoder for each database:
//! RowBinary for ClickHouse and binary `COPY` for PostgreSQL. A [`Batcher`] buffers the
//! rows that many tasks insert through a cloneable [`Handle`]. It ships whole batches to
//! a [`Sink`], retries them when that can help, and accounts for every row.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use batchrow::clickhouse::ClickHouseSink;
//! use batchrow::{BatchRow, Batcher};
//!
//! #[derive(BatchRow)]
//! #[batch(table = "events")]
//! struct Event<'a> {
//!     id: u64,
//!     user: &'a str,              // borrowed: inserting copies only the encoded bytes
//!     tags: Vec<String>,
//!     note: Option<String>,
//!     #[batch(type = "LowCardinality(String)")]
//!     kind: String,
//!     #[batch(skip)]
//!     scratch: u32,
//! }
//!
//! # #[tokio::main] async fn main() -> batchrow::Result<()> {
//! // The `clickhouse` crate, re-exported: the client is the version the sink takes.
//! let client = batchrow::clickhouse::clickhouse::Client::default().with_url("http://127.0.0.1:8123");
//! let events = Batcher::builder(ClickHouseSink::new(client))
//!     .max_rows(100_000)
//!     .max_wait(Duration::from_secs(1))
//!     .spawn::<Event>() // checks the struct against the live table first
//!     .await?;
//!
//! let user = String::from("ada");
//! events
//!     .insert(Event { id: 1, user: &user, tags: vec![], note: None, kind: "click".into(), scratch: 0 })
//!     .await?; // waits while the buffer is full; the error (`InsertError`) hands the row back
//!
//! let totals = events.close().await?; // delivers everything, then stops the worker
//! assert_eq!(totals.committed.rows, 1);
//! # Ok(()) }
//! ```
//!
//! To write the same struct into PostgreSQL with binary `COPY`, use
//! `batchrow::postgres::PostgresSink::new("postgres://…")?`. A field type that a
//! database cannot store, such as a `u64` for PostgreSQL, is a compile error where the
//! row is used with that sink.
//!
//! The sink crates' errors convert into [`Error`], so `?` works across them in a function
//! that returns [`batchrow::Result`](Result):
//!
//! ```
//! use batchrow::postgres::PostgresSink;
//!
//! fn sink(url: &str) -> batchrow::Result<PostgresSink> {
//!     Ok(PostgresSink::new(url)?.schema("analytics"))
//! }
//!
//! assert!(sink("postgres://batchrow:batchrow@127.0.0.1:5432/batchrow").is_ok());
//! // A connection string that asks for TLS needs a connector (`PostgresSink::builder`).
//! let err = sink("postgres://batchrow@127.0.0.1/batchrow?sslmode=require").unwrap_err();
//! assert!(matches!(err, batchrow::Error::Sink(_)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Shutting down
//!
//! Call [`Handle::close`] before the program exits, for example when Ctrl-C arrives.
//! It stops accepting rows, delivers every row already accepted and returns the totals.
//! A batch that fails for good goes to the dead-letter handler, or comes back in the
//! error. Dropping the last handle also delivers everything. But a Tokio runtime that
//! shuts down stops the worker wherever it is, so `close` is how to be sure.
//!
//! ```no_run
//! # use batchrow::{Handle, Sink};
//! # async fn run<R, S: Sink>(events: Handle<R, S>) -> batchrow::Result<()> {
//! tokio::signal::ctrl_c().await.ok();
//! let totals = events.close().await?;
//! println!("{} rows committed, {} failed", totals.committed.rows, totals.failed.rows);
//! # Ok(()) }
//! ```
//!
//! # Crates and features
//!
//! This crate re-exports the others, so users depend on it alone:
//! - [`batch_core`]: the row model, the [`Format`]/[`Encode`] and [`Sink`] contracts, and the
//!   batcher. Its items are re-exported at the root of this crate.
//! - `#[derive(BatchRow)]` and `#[derive(BatchEnum)]`, from `batch-derive`.
//! - [`clickhouse`] (feature `clickhouse`, on by default): the ClickHouse sink and the
//!   RowBinary encoders, and the official `clickhouse` crate it runs over
//!   (`batchrow::clickhouse::clickhouse`), so the client is built with the same version.
//! - [`postgres`] (feature `postgres`, on by default): the PostgreSQL sink and the binary
//!   COPY encoders.
//! - Type integrations, off by default: `chrono`, `time`, `uuid`, `rust_decimal` and
//!   `serde_json`. `full` turns on all of them.
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

pub use batch_core::*;
pub use batch_derive::{BatchEnum, BatchRow};

#[cfg(feature = "clickhouse")]
pub use batch_clickhouse as clickhouse;
#[cfg(feature = "postgres")]
pub use batch_postgres as postgres;
