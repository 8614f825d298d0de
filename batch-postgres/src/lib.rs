//! The PostgreSQL sink of batchrow: binary `COPY ... FROM STDIN (FORMAT binary)` over
//! tokio-postgres, with a schema check against the catalog before the first row.
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

mod copy;

pub use copy::{oid, PgBinary, PgElement, PgType, PgTypeKind, HEADER, TRAILER};
