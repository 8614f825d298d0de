//! The database-agnostic core of batchrow.
//!
//! It holds the row model that `#[derive(BatchRow)]` generates ([`BatchRow`],
//! [`Column`], [`ColumnValue`]), the per-field encoding contract that each backend
//! implements ([`Format`], [`Encode`]), the [`Sink`] trait, and the [batcher] runtime
//! ([`Batcher`], [`Handle`]). It knows nothing about ClickHouse or PostgreSQL.
//!
//! Most users depend on the `batchrow` facade crate, which re-exports this crate.
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod batch;
pub mod batcher;
mod dead_letter;
mod dead_letter_file;
mod decode;
mod error;
mod format;
mod outcome;
mod position;
mod retry;
mod row;
mod schema;
mod sink;
mod stats;
mod telemetry;
mod value;

#[doc(hidden)]
pub mod __private;
#[doc(hidden)]
pub mod doc_support;

pub use batch::{Batch, Chunk, ChunkFull, RowBuffer};
pub use batcher::{Batcher, Builder, Dump, FlushReport, Handle};
pub use dead_letter::{FailedBatch, FailureCause};
pub use dead_letter_file::{
    replay, DeadLetterFile, DeadLetterWriter, DeadLetterWriterError, ReplayError, ReplayOptions,
    Replayed, WrittenStats,
};
pub use decode::{decode_row, DecodeError, DecodedRow, DecodedRows, Value};
pub use error::{BatchesFailed, Error, InsertError, InsertManyError, Result};
pub use format::{Encode, EncodeError, EnumValue, Format, Reason};
pub use outcome::{CommittedBatch, Outcome, Receipt};
pub use position::{Position, PositionRange};
pub use retry::RetryPolicy;
pub use row::{BatchRow, Column, ColumnCheck, EncodeRow, Schema};
pub use schema::{changed_columns, check_columns, ColumnMismatch, SchemaMismatch};
pub use sink::{Sender, Sink, SinkError, SinkErrorKind};
pub use stats::{Count, Stats};
pub use value::{ColumnValue, EnumVariant, ValueKind};
