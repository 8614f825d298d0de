//! Encoding without a server: resolve the columns from the row type alone.

use batch_core::{EncodeError, EncodeRow, Schema};

use super::RowBinary;
use crate::error::{Error, Result};
use crate::kinds::{complete, default_type};
use crate::sql::quote_ident;
use crate::types::ChType;

impl RowBinary {
    /// Resolves the column types of `schema` without a server: each column's declared
    /// type (`#[batch(type = "...")]`, completed with `Nullable` for an `Option` field),
    /// or else the default ClickHouse type of its Rust type (`u64` → `UInt64`, `String`
    /// → `String`, `Vec<u8>` → `String`, `DateTime<Utc>` → `DateTime`, `IpAddr` → `IPv6`,
    /// an enum → `Enum8`/`Enum16` with its own labels and values...).
    ///
    /// A sink resolves the server's types instead; this is for writing RowBinary files,
    /// tests and benchmarks.
    ///
    /// # Errors
    ///
    /// [`Error::Column`] when a declared type does not parse, or does not fit the field
    /// (by the field type's `Encode::accepts`, when `schema` carries the rules:
    /// [`Schema::checked`](batch_core::Schema::checked)); or when a field type has no
    /// default (a `Decimal` needs its precision and scale declared).
    ///
    /// # Examples
    ///
    /// ```
    /// use batch_clickhouse::{ChType, RowBinary};
    /// use batch_core::{Column, Schema, ValueKind};
    ///
    /// static COLUMNS: [Column; 2] = [
    ///     Column::new("id", "id", "u64", None, ValueKind::U64),
    ///     Column::new("at", "at", "Option<DateTime<Utc>>", Some("DateTime64(3)"),
    ///         ValueKind::Nullable(&ValueKind::Timestamp)),
    /// ];
    /// let types = RowBinary::resolve_offline(Schema { table: "events", columns: &COLUMNS, check: None })?;
    /// assert_eq!(types[0], ChType::UInt64);
    /// assert_eq!(types[1].to_string(), "Nullable(DateTime64(3))");
    /// # Ok::<(), batch_clickhouse::Error>(())
    /// ```
    pub fn resolve_offline(schema: Schema) -> Result<Vec<ChType>> {
        schema
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let err = |reason: String| Error::Column {
                    column: c.name,
                    reason,
                };
                let ty = match c.declared {
                    Some(d) => {
                        let ty = ChType::parse(d).map_err(|e| err(e.to_string()))?;
                        complete(&c.kind, ty)
                    }
                    None => default_type(&c.kind).map_err(err)?,
                };
                if let Some(Err(r)) = schema.accepts(i, &ty) {
                    return Err(err(match c.declared {
                        Some(d) => format!(
                            "the field type does not fit its declared type `{ty}` \
                             (#[batch(type = \"{d}\")]): {r}"
                        ),
                        None => format!("the field type does not fit its default type `{ty}`: {r}"),
                    }));
                }
                Ok(ty)
            })
            .collect()
    }

    /// The `CREATE TABLE` statement for `schema`, with the column types of
    /// [`resolve_offline`](RowBinary::resolve_offline) (declared types, else the defaults
    /// of the Rust types) and `engine` after `ENGINE =`. `schema.table` may name the
    /// database (`"analytics.events"`).
    ///
    /// # Errors
    ///
    /// As [`resolve_offline`](RowBinary::resolve_offline).
    ///
    /// # Examples
    ///
    /// ```
    /// # use batch_core as batchrow;
    /// # use batch_derive::BatchRow;
    /// use batch_clickhouse::RowBinary;
    /// use batchrow::{BatchRow, Schema};
    ///
    /// #[derive(BatchRow)]
    /// # #[batch(crate = "batch_core")]
    /// #[batch(table = "events")]
    /// struct Event<'a> {
    ///     id: u64,
    ///     #[batch(type = "LowCardinality(String)")]
    ///     kind: &'a str,
    ///     note: Option<String>,
    /// }
    ///
    /// let sql = RowBinary::create_table_sql(Schema::of::<Event>(), "MergeTree ORDER BY id")?;
    /// assert_eq!(
    ///     sql,
    ///     "CREATE TABLE `events` (\n    `id` UInt64,\n    `kind` LowCardinality(String),\n    \
    ///      `note` Nullable(String)\n) ENGINE = MergeTree ORDER BY id"
    /// );
    /// # Ok::<(), batch_clickhouse::Error>(())
    /// ```
    pub fn create_table_sql(schema: Schema, engine: &str) -> Result<String> {
        let types = Self::resolve_offline(schema)?;
        let table = match schema.table.split_once('.') {
            Some((db, table)) => format!("{}.{}", quote_ident(db), quote_ident(table)),
            None => quote_ident(schema.table),
        };
        let columns: Vec<String> = schema
            .columns
            .iter()
            .zip(&types)
            .map(|(c, ty)| format!("    {} {ty}", quote_ident(c.name)))
            .collect();
        Ok(format!(
            "CREATE TABLE {table} (\n{}\n) ENGINE = {engine}",
            columns.join(",\n")
        ))
    }

    /// Encodes `rows` back to back into `buf` (appending), with `columns` resolved for
    /// `R` (by a sink or by [`RowBinary::resolve_offline`]). Returns the number of rows.
    ///
    /// # Errors
    ///
    /// The first row that does not fit its columns; `buf` then holds the rows before it.
    ///
    /// # Examples
    ///
    /// ```
    /// # use batch_core as batchrow;
    /// # use batch_derive::BatchRow;
    /// use batch_clickhouse::RowBinary;
    /// use batchrow::{BatchRow, Schema};
    ///
    /// #[derive(BatchRow)]
    /// # #[batch(crate = "batch_core")]
    /// struct Event<'a> {
    ///     id: u32,
    ///     name: &'a str,
    /// }
    ///
    /// let columns = RowBinary::resolve_offline(Schema::of::<Event>())?;
    /// let events = [Event { id: 1, name: "a" }, Event { id: 2, name: "bc" }];
    /// let mut buf = Vec::new();
    /// assert_eq!(RowBinary::encode_rows(&events, &columns, &mut buf)?, 2);
    /// // UInt32 1, String "a", UInt32 2, String "bc"
    /// assert_eq!(buf, b"\x01\0\0\0\x01a\x02\0\0\0\x02bc");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn encode_rows<'r, R>(
        rows: impl IntoIterator<Item = &'r R>,
        columns: &[ChType],
        buf: &mut Vec<u8>,
    ) -> Result<usize, EncodeError>
    where
        R: EncodeRow<RowBinary> + 'r,
    {
        if columns.len() != R::COLUMNS.len() {
            return Err(EncodeError::ColumnCount {
                expected: R::COLUMNS.len(),
                got: columns.len(),
            });
        }
        let mut n = 0;
        for row in rows {
            let start = buf.len();
            if let Err(e) = row.encode_row(columns, buf) {
                buf.truncate(start);
                return Err(e);
            }
            n += 1;
        }
        Ok(n)
    }
}
