//! The database-agnostic core of batchrow.
//!
//! It holds the row model that `#[derive(BatchRow)]` generates ([`BatchRow`],
//! [`Column`], [`ColumnValue`]), the per-field encoding contract that each backend
//! implements ([`Format`], [`Encode`]), the [`Sink`] trait, and the batcher runtime.
//! It knows nothing about ClickHouse or PostgreSQL.
//!
//! Most users depend on the `batchrow` facade crate, which re-exports this crate.
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

mod batch;
mod error;
mod fit;
mod format;
mod row;
mod schema;
mod sink;
mod value;

#[doc(hidden)]
pub mod __private;

pub use batch::{Batch, Chunk, ChunkFull, RowBuffer};
pub use error::{Error, Result};
pub use fit::{decl, Fits};
pub use format::{Encode, EncodeError, EnumValue, Format};
pub use row::{BatchRow, Column, EncodeRow, Schema};
pub use schema::{ColumnMismatch, SchemaMismatch};
pub use sink::{Sink, SinkError, SinkErrorKind};
pub use value::{ColumnValue, EnumVariant, ValueKind};
