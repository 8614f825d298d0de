//! The PostgreSQL sink of batchrow: binary `COPY … FROM STDIN (FORMAT binary)` over
//! tokio-postgres, with a schema check against the catalog before the first row.
//!
//! - [`PgBinary`] is the row format; its encoders ([`Encode<PgBinary>`](batch_core::Encode))
//!   cover every Rust type PostgreSQL can store. Unsigned integers and `i8` have none:
//!   PostgreSQL has no such types, so using them with this sink does not compile.
//! - [`PostgresSink`] checks the row type against the table once, then writes each
//!   batch as one COPY in one transaction, on pooled connections.
//!
//! Most users reach this crate as `batchrow::postgres`.
//!
//! # Delivery guarantees
//!
//! Each batch is one transaction: a batch is committed whole or not at all, never in
//! part. With the batcher's default retry policy, **a batch is stored exactly once, or
//! reported**; it is never stored twice by a retry:
//!
//! - An error before `COMMIT` was sent (a lost connection, a server restart, a timeout)
//!   rolls the transaction back; the batch is retried with the same bytes.
//! - When `COMMIT` fails, times out or loses its connection, the sink does not guess: it
//!   asks the server on another connection whether the transaction committed
//!   (`txid_status`, with the id taken when the transaction began), and keeps asking
//!   through an outage for up to the [commit-status
//!   window](PostgresSink::commit_status_window) (60 s by default). Committed is
//!   success; rolled back is retried. A transaction the server still reports "in
//!   progress" has its backend terminated, only while that backend still holds that
//!   transaction, so that the answer becomes definite.
//! - If the window ends without an answer, the batch is reported as **possibly
//!   persisted** ([`SinkErrorKind::PossiblyPersisted`](batch_core::SinkErrorKind)):
//!   the batcher neither sends it again nor splits it, and hands it to the dead-letter
//!   handler (or returns it from `flush`/`close`). Check the table before replaying it.
//! - Rows the server refuses (SQLSTATE classes `22` and `23`: a CHECK constraint, a
//!   duplicate key, a value out of range) fail the batch with an error that is
//!   [caused by the data](batch_core::SinkError::is_caused_by_data) and names the row
//!   when the server does; with `isolate_bad_rows(true)` the batcher stores the other
//!   rows and dead-letters the bad one.
//!
//! That holds within one process. **Across restarts**, a consumer that replays from its
//! last acknowledged offsets may insert rows that are in the table already (committed
//! just before a crash, or by a `COMMIT` whose answer was lost). With a
//! [ledger](PostgresSink::ledger) (opt-in), each batch records in its own transaction
//! which [positions](batch_core::Position) it wrote, and rows whose positions are
//! recorded are left out of later batches: every positioned row is stored exactly once,
//! whatever the batch boundaries after the restart. A `COMMIT` in doubt is then resolved
//! by reading the ledger under the same locks, which also works when the server no
//! longer knows the transaction. `examples/offsets.rs` is such a consumer.
//!
//! # Timeouts
//!
//! Nothing waits forever on a silent server:
//!
//! - **Connecting** (TCP, TLS, start-up and authentication) takes at most the connect
//!   timeout, 10 s unless the configuration sets one; TCP keepalives (30 s idle, then
//!   every 10 s) and, on Linux, a 30 s `tcp_user_timeout` drop connections to a peer
//!   that vanished. See [`PostgresSinkBuilder`] for every default.
//! - **Each send attempt** ends by the deadline the batcher gives it (the earlier of the
//!   attempt timeout, 30 s, and the retry deadline, 120 s, by default). Before `COMMIT`
//!   the sink stops on its own timer and the server on its `statement_timeout` and
//!   `idle_in_transaction_session_timeout`, set for the transaction to the time left;
//!   such a timeout is retried. A `COMMIT` that times out goes through the commit-status
//!   check above, so an attempt may last up to its deadline plus the commit-status
//!   window.
//! - **Connections** go back to the pool only after a clean `COMMIT`. After an error, a
//!   timeout, or a send cancelled mid-transaction, the connection is closed, so that no
//!   later batch inherits a half-finished exchange.
//! - **The schema check** ([`Sink::prepare`](batch_core::Sink::prepare)) gives up after
//!   60 s; against a server that accepts connections and never answers it fails after
//!   the connect timeout, naming the address.
//!
//! # Types
//!
//! The schema check accepts a field only for the column types its binary encoding is
//! written correctly to (after looking through domains):
//!
//! | Rust field type | PostgreSQL column type |
//! |---|---|
//! | `i16`, `i32`, `i64` | `int2`, `int4`, `int8` (exactly that width) |
//! | `f32`, `f64` | `float4`, `float8` (NaN and ±infinity included) |
//! | `bool` | `bool` |
//! | `String`, `&str`, `Cow<str>` | `text`, `varchar(n)`, `character(n)`, `name`, `citext`, enum types (the label), `json`, `jsonb` |
//! | `Vec<u8>`, `&[u8]`, `[u8; N]` | `bytea` |
//! | `Option<T>` | a nullable column of `T`'s types (NULL for `None`) |
//! | `Vec<T>`, `&[T]` (`T` not `u8`) | a one-dimensional array of `T`'s types; `Vec<Option<T>>` for NULL elements |
//! | `std::net::IpAddr`, `Ipv4Addr`, `Ipv6Addr` | `inet`, `cidr` (as /32 or /128: the std types have no prefix) |
//! | `uuid::Uuid` | `uuid` |
//! | `chrono::NaiveDate`, `time::Date` | `date` |
//! | `chrono::NaiveDateTime`, `time::PrimitiveDateTime` | `timestamp` |
//! | `chrono::DateTime<Utc>`, `time::OffsetDateTime` | `timestamptz` |
//! | `rust_decimal::Decimal` | `numeric`, `numeric(p, s)` (rounded to `s` like the server rounds) |
//! | `serde_json::Value` | `json`, `jsonb`, `text`, `citext` |
//! | an enum with `#[derive(BatchEnum)]` | an enum type with every label, or a text type |
//!
//! Values the column cannot hold are refused while encoding, so the producer gets the
//! row back instead of a failed batch: text with a NUL character, text longer than
//! `varchar(n)` (spaces beyond `n` are cut, as the server does), a label the enum type
//! lacks, a `numeric(p, s)` overflow, and dates and timestamps outside PostgreSQL's range
//! (4713 BC to 5874897 AD, and to 294276 AD). Neither `Decimal` nor the date types can
//! express NaN or infinity, so those are never written. A negative numeric scale
//! (PostgreSQL 15: `numeric(5, -2)`) is rounded by the server.
//!
//! A row type with a field PostgreSQL cannot store is a compile error where the row is
//! used with this sink:
//!
//! ```compile_fail
//! # use batch_core as batchrow;
//! use batch_derive::BatchRow;
//! use batch_postgres::PgBinary;
//!
//! #[derive(BatchRow)]
//! #[batch(crate = "batch_core")]
//! struct Event {
//!     id: u64, // PostgreSQL has no unsigned integers: use i64
//! }
//!
//! fn usable_with_postgres<R: batch_core::EncodeRow<PgBinary>>() {}
//! usable_with_postgres::<Event>();
//! ```
//!
//! ```
//! # use batch_core as batchrow;
//! use batch_derive::BatchRow;
//! use batch_postgres::PgBinary;
//!
//! #[derive(BatchRow)]
//! #[batch(crate = "batch_core")]
//! struct Event {
//!     id: i64,
//!     payload: Vec<u8>, // bytea
//!     tags: Vec<Option<String>>, // text[] with NULLs
//! }
//!
//! fn usable_with_postgres<R: batch_core::EncodeRow<PgBinary>>() {}
//! usable_with_postgres::<Event>();
//! ```
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

mod copy;
mod error;
mod schema;
mod sink;

pub use copy::{oid, Interval, PgBinary, PgElement, PgType, PgTypeKind, HEADER, TRAILER};
pub use error::{Error, Result};
pub use schema::{describe_table, TableColumn};
pub use sink::{
    compact_ledger, LedgerCompaction, LedgerStats, OnConflict, PostgresSender, PostgresSink,
    PostgresSinkBuilder, DEFAULT_COMMIT_STATUS_WINDOW, DEFAULT_CONNECT_TIMEOUT,
};

/// Re-exported so that users configure connections and pools with the same versions.
pub use deadpool_postgres;
/// Re-exported so that users configure connections with the same version.
pub use tokio_postgres;
