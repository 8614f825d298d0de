//! ClickHouse column types. The model, the parser of type strings and their display are
//! the `batch-clickhouse-types` crate, which the derive uses too, so that a type string
//! means the same at compile time and against the server; they are re-exported here
//! under this crate's paths.
//!
//! ```
//! use batch_clickhouse::ChType;
//!
//! let ty: ChType = "LowCardinality(Nullable(String))".parse()?;
//! assert_eq!(ty, ChType::LowCardinality(Box::new(ChType::Nullable(Box::new(ChType::String)))));
//! assert_eq!(ty.to_string(), "LowCardinality(Nullable(String))");
//! # Ok::<(), batch_clickhouse::TypeError>(())
//! ```

pub use batch_clickhouse_types::{ChType, EnumDef, Error as TypeError};

pub(crate) use batch_clickhouse_types::is_clickhouse_spelling;
