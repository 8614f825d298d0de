//! ClickHouse column types: one model ([`ChType`]), one parser of the type strings the
//! server prints in `system.columns` and that users write in `#[batch(type = "...")]`,
//! and their display.
//!
//! Both batchrow's derive (which checks a declared type at compile time) and its
//! ClickHouse sink (which checks the live table) use this crate, so they cannot
//! disagree about what a type string means. It depends on nothing but `thiserror`, so
//! that the proc-macro crate can use it without building tokio for the host.
//!
//! ```
//! use batch_clickhouse_types::ChType;
//!
//! let ty: ChType = "LowCardinality(Nullable(String))".parse()?;
//! assert_eq!(ty, ChType::LowCardinality(Box::new(ChType::Nullable(Box::new(ChType::String)))));
//! assert_eq!(ty.to_string(), "LowCardinality(Nullable(String))");
//! # Ok::<(), batch_clickhouse_types::Error>(())
//! ```
//!
//! Files, one concern each: `model.rs` (the types), `lex.rs` (the tokens),
//! `parse.rs` (the grammar), `display.rs` (back to a type string).
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

mod display;
mod error;
pub mod lex;
mod model;
mod parse;

pub use error::{Error, Result};
pub use model::{ChType, EnumDef};
pub use parse::{is_clickhouse_spelling, is_type_name};
