//! The derive macros of batchrow: `#[derive(BatchRow)]` for a struct that is one table
//! row, and `#[derive(BatchEnum)]` for a fieldless enum stored in an enum column.
//!
//! Use them through the `batchrow` crate, which re-exports both.
//!
//! ```
//! use batchrow::{BatchEnum, BatchRow};
//!
//! #[derive(BatchRow)]
//! #[batch(table = "events")]                   // default: the struct name in snake_case
//! struct Event<'a> {
//!     id: u64,
//!     #[batch(rename = "ts")]                  // the column is `ts`
//!     at_unix: u32,
//!     user: &'a str,                           // borrowed fields work: no copy to insert
//!     tags: Vec<String>,
//!     note: Option<String>,                    // Option<T>: a nullable column
//!     #[batch(type = "LowCardinality(String)")] // declared type: parsed at compile time
//!     kind: String,
//!     level: Level,
//!     #[batch(skip)]                           // not a column
//!     scratch: u32,
//! }
//!
//! #[derive(BatchEnum, Clone, Copy)]
//! #[batch(rename_all = "lowercase")]
//! enum Level {
//!     Info = 1,
//!     Warn,
//! }
//!
//! assert_eq!(Event::TABLE, "events");
//! let names: Vec<&str> = Event::COLUMNS.iter().map(|c| c.name).collect();
//! assert_eq!(names, ["id", "ts", "user", "tags", "note", "kind", "level"]);
//! assert!(Event::COLUMNS[4].nullable());
//! assert_eq!(Event::COLUMNS[5].declared, Some("LowCardinality(String)"));
//! ```
//!
//! # What `#[derive(BatchRow)]` generates
//!
//! From one parsed model of the struct, so that they cannot disagree:
//! - `impl BatchRow`: `TABLE`, `COLUMNS` (each [`Column`] with its name, Rust field
//!   name, Rust type as written, declared type and [`ValueKind`]), and `type Static`,
//!   the struct with every lifetime `'static` (`Event<'a>` has `Event<'static>`);
//! - `impl<F: Format> EncodeRow<F>`, bounded on `FieldType: Encode<F>` for every
//!   column, whose `encode_row` writes the fields in declaration order into the
//!   caller's buffer (no allocation per row) and names the column in any error.
//!   A field type that a backend cannot store (`u64` into PostgreSQL) is therefore a
//!   compile error where the row is used with that backend's sink.
//!
//! # Container attributes
//!
//! | attribute | meaning |
//! |---|---|
//! | `#[batch(table = "name")]` | the table name; default: the struct name in snake_case (`PageView` → `page_view`) |
//! | `#[batch(rename_all = "rule")]` | renames every field that has no `rename`; the rules are serde's: `"lowercase"`, `"UPPERCASE"`, `"PascalCase"`, `"camelCase"`, `"snake_case"`, `"SCREAMING_SNAKE_CASE"`, `"kebab-case"`, `"SCREAMING-KEBAB-CASE"` |
//! | `#[batch(crate = "path")]` | the path of the batchrow crate in the generated code; default `::batchrow`. For crates that re-export batchrow under another name |
//!
//! # Field attributes
//!
//! | attribute | meaning |
//! |---|---|
//! | `#[batch(rename = "name")]` | the column name; default: the field name (after `rename_all`) |
//! | `#[batch(skip)]` | the field is not a column; it may have any type |
//! | `#[batch(type = "...")]` | the column type the table declares, for when the Rust type alone is ambiguous; parsed at compile time; checked against the field type and the live column by the sink, before the first row |
//!
//! `type` is the column type in the spelling of the database the table is in. A string
//! whose first name is a ClickHouse type name (case-sensitive, as in ClickHouse) is a
//! ClickHouse spelling, read by the parser the ClickHouse sink reads the server's types
//! with (the `batch-clickhouse-types` crate): `Int8`..`Int128`, `UInt8`..`UInt128`,
//! `Float32`, `Float64`, `Bool`, `String`, `FixedString(N)`, `Date`, `Date32`,
//! `DateTime`, `DateTime('tz')`, `DateTime64(p)`, `DateTime64(p, 'tz')` (p in 0..=9),
//! `UUID`, `IPv4`, `IPv6`, `Decimal(P, S)` and `Decimal(P)` (P in 1..=76),
//! `Decimal32(S)`, `Decimal64(S)`, `Decimal128(S)`, `Decimal256(S)`,
//! `Enum8('a' = 1, ..)`, `Enum16(..)`, `JSON` (with or without hints), `Array(T)`,
//! `Map(K, V)`, with `Nullable(T)` and `LowCardinality(T)` looked through (nullability
//! comes from the field's `Option`), and `Int256`, `UInt256`. `Tuple(..)` and `Nothing`
//! are refused: batchrow cannot write them. Any other string is a PostgreSQL spelling
//! (case-insensitive): `smallint`/`int2`,
//! `integer`/`int`/`int4`, `bigint`/`int8`, `real`/`float4`, `double precision`/
//! `float8`, `boolean`/`bool`, `text`, `varchar(n)`, `character varying(n)`, `char(n)`,
//! `character(n)`, `bpchar`, `citext`, `name`, `bytea`, `uuid`, `date`, `timestamp
//! [without time zone]`, `timestamptz`, `timestamp with time zone`, `numeric[(p[, s])]`,
//! `decimal`, `json`, `jsonb`, `inet`, and arrays `T[]`. A string that does not parse is
//! a compile error at the string that lists these names.
//!
//! Each sink checks a declared type against the live column, before the first row and
//! with the rest of its schema check: the ClickHouse sink compares the whole type
//! (`DateTime64(3)` does not match a `DateTime64(6)` column), the PostgreSQL sink has the
//! server read the spelling and compares the type without its modifiers (`varchar(20)`
//! matches a `varchar(10)` column, `int4` an `integer` one). A declared type in the
//! other database's spelling is a schema mismatch there: a row that declares types is
//! for one database.
//!
//! Whether the field's Rust type may be written to the declared type is the one rule
//! the sinks use for every column, the field type's `Encode::accepts`: it is checked
//! with the rest of the schema (by `spawn`, and by offline encoding), so a declared type
//! that does not fit the field is an error before the first row, naming the column, the
//! declared type and the types the field needs, not a compile error:
//!
//! ```
//! # use batchrow::BatchRow;
//! #[derive(BatchRow)]
//! struct Reading {
//!     #[batch(type = "FixedString(4)")]
//!     sensor: [u8; 4],
//!     #[batch(type = "Array(Nullable(Float32))")]
//!     values: Vec<Option<f32>>,
//!     #[batch(type = "jsonb")]
//!     payload: String,
//!     #[batch(type = "inet")]
//!     peer: std::net::IpAddr,
//! }
//! # let _ = Reading::COLUMNS;
//! ```
//!
//! # Generics and lifetimes
//!
//! Lifetime parameters may be anything: `type Static` replaces them by `'static`. Type
//! parameters must be `'static` (the derive adds `T: 'static` and the column-trait
//! bounds of the fields that use them):
//!
//! ```
//! # use batchrow::BatchRow;
//! #[derive(BatchRow)]
//! struct Keyed<'a, K> {
//!     #[batch(type = "UInt64")]
//!     key: K,
//!     name: &'a str,
//! }
//! assert_eq!(<Keyed<u64> as BatchRow>::TABLE, "keyed");
//! fn is_static<T: 'static>() {}
//! is_static::<<Keyed<'_, u64> as BatchRow>::Static>();
//! ```
//!
//! # Compile errors
//!
//! Every mistake in a struct is reported at once, each at its own token: unknown and
//! duplicated attributes, duplicate column names after renaming, `skip` with `rename`
//! or `type`, a struct without columns, a `type` string that does not parse (or names a
//! type batchrow cannot write), a field type that is not a column type (through the `on_unimplemented`
//! message of `ColumnValue`), and enums, unions and tuple structs where a struct with
//! named fields is needed.
//!
//! After such an error the derive still implements the traits, from what parsed (as
//! thiserror does), so that the uses of the type (`spawn::<Row>()`, `Row::COLUMNS`, a
//! generic bound) do not each add an error: the one to fix is the only one reported.
//!
//! # Testing this crate
//!
//! - `tests/ui/*.rs` + `.stderr` (trybuild) hold one compile error each. The toolchain
//!   is pinned in `rust-toolchain.toml`; after a deliberate change to a message
//!   regenerate them with `TRYBUILD=overwrite cargo test -p batch-derive --test ui` and
//!   review the diff.
//! - `src/snapshots/*.snap` (insta) hold the expansion of the happy path. After a
//!   deliberate change to the generated code run
//!   `INSTA_UPDATE=always cargo test -p batch-derive --lib` once (`cargo insta` is not
//!   needed) and review the diff.
//!
//! [`Column`]: https://docs.rs/batchrow/latest/batchrow/struct.Column.html
//! [`ValueKind`]: https://docs.rs/batchrow/latest/batchrow/enum.ValueKind.html
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

mod ast;
mod attr;
mod case;
mod ctxt;
mod decl;
mod expand;
mod generics;
mod valid;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

/// Derives `BatchRow`, and `EncodeRow<F>` for every sink format `F` that can encode
/// all the field types, for a struct with named fields.
///
/// Attributes: `#[batch(table = "..", rename_all = "..", crate = "..")]` on the struct,
/// `#[batch(rename = "..", skip, type = "..")]` on a field; see the crate docs.
///
/// ```
/// use batchrow::BatchRow;
///
/// #[derive(BatchRow)]
/// #[batch(rename_all = "camelCase")]
/// struct PageView {
///     user_id: u64,
///     #[batch(rename = "url")]
///     page: String,
///     #[batch(skip)]
///     cached: bool,
/// }
///
/// assert_eq!(PageView::TABLE, "page_view");
/// let columns: Vec<(&str, &str)> = PageView::COLUMNS.iter().map(|c| (c.name, c.field)).collect();
/// assert_eq!(columns, [("userId", "user_id"), ("url", "page")]);
/// ```
///
/// For a crate that re-exports batchrow, `crate` names the path to use:
///
/// ```
/// mod db {
///     pub use batchrow as rows;
/// }
///
/// #[derive(db::rows::BatchRow)]
/// #[batch(crate = "db::rows")]
/// struct Event {
///     id: u64,
/// }
/// # use batchrow::BatchRow as _;
/// # assert_eq!(<Event as batchrow::BatchRow>::TABLE, "event");
/// ```
#[proc_macro_derive(BatchRow, attributes(batch))]
pub fn derive_batch_row(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).into_tokens().into()
}

/// Derives `ColumnValue`, `EnumValue` and `Encode<F>` for every format for a fieldless
/// enum, so that it can be a
/// field stored in an enum column (`Enum8`/`Enum16`, a PostgreSQL enum) or a text
/// column.
///
/// Each variant has a label (the variant name, after `#[batch(rename_all = "..")]` on
/// the enum or `#[batch(rename = "..")]` on the variant) and a value: its integer
/// literal discriminant, or the previous value plus one as in Rust (the first is 0).
/// Values must fit an `i16`; labels and values must be unique. `#[batch(crate = "..")]`
/// works as for `BatchRow`.
///
/// ```
/// use batchrow::{BatchEnum, ColumnValue, EnumValue, EnumVariant, ValueKind};
///
/// #[derive(BatchEnum)]
/// #[batch(rename_all = "snake_case")]
/// enum Status {
///     Active = 1,
///     OnHold,
///     #[batch(rename = "gone")]
///     Deleted = -1,
/// }
///
/// assert_eq!((Status::OnHold.label(), Status::OnHold.value()), ("on_hold", 2));
/// assert_eq!(
///     <Status as ColumnValue>::KIND,
///     ValueKind::Enum(&[
///         EnumVariant { label: "active", value: 1 },
///         EnumVariant { label: "on_hold", value: 2 },
///         EnumVariant { label: "gone", value: -1 },
///     ])
/// );
/// ```
#[proc_macro_derive(BatchEnum, attributes(batch))]
pub fn derive_batch_enum(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive_enum(&input).into_tokens().into()
}
