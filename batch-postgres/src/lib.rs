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

pub use copy::{oid, PgBinary, PgElement, PgType, PgTypeKind, HEADER, TRAILER};
pub use error::{Error, Result};
pub use sink::{PostgresSink, PostgresSinkBuilder};

/// Re-exported so that users configure connections and pools with the same versions.
pub use deadpool_postgres;
/// Re-exported so that users configure connections with the same version.
pub use tokio_postgres;
