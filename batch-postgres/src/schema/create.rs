//! The reverse of the schema check: the `CREATE TABLE` statement for a row type, and the
//! columns of a live table for tools ([`describe_table`]).

use batch_clickhouse_types::is_clickhouse_spelling;
use batch_core::{Schema, SinkError, ValueKind};
use tokio_postgres::Client;

use super::{catalog, quote_ident, TableName};
use crate::copy::{PgBinary, PgType};
use crate::error::{Error, Result};

/// One column of a live table, as [`describe_table`] reads it from the catalog (the
/// queries of the schema check).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TableColumn {
    /// The column name.
    pub name: String,
    /// The type, resolved as the sink resolves it (domains looked through, arrays and
    /// enums with their element type and labels); [`PgType::name`] is the type as
    /// `format_type` spells it, modifiers included (`character varying(40)`).
    pub ty: PgType,
    /// Whether the column is `NOT NULL`.
    pub not_null: bool,
    /// Whether the column has a default.
    pub has_default: bool,
    /// Whether it is an identity column.
    pub identity: bool,
    /// Whether it is a generated column (which cannot be written).
    pub generated: bool,
}

/// Reads the columns of a live table, in table order, with the catalog queries of the
/// schema check. `table` is `"events"` (found through the `search_path`) or
/// `"analytics.events"`.
///
/// # Errors
///
/// A [`Config`](batch_core::SinkErrorKind::Config) error for a missing schema or table or
/// a view; query errors classified as the sink classifies them.
///
/// # Examples
///
/// ```no_run
/// # async fn run(client: &tokio_postgres::Client) -> Result<(), batch_core::SinkError> {
/// for column in batch_postgres::describe_table(client, "public.events").await? {
///     println!("{} {}", column.name, column.ty.name());
/// }
/// # Ok(()) }
/// ```
pub async fn describe_table(client: &Client, table: &str) -> Result<Vec<TableColumn>, SinkError> {
    let table = catalog::resolve(client, &TableName::parse(table)).await?;
    Ok(catalog::columns(client, &table)
        .await?
        .into_iter()
        .map(|c| TableColumn {
            name: c.name,
            ty: c.ty,
            not_null: c.not_null,
            has_default: c.has_default,
            identity: c.identity,
            generated: c.generated,
        })
        .collect())
}

/// The PostgreSQL type a column of `kind` gets when the field declares none.
fn default_type(kind: &ValueKind) -> Option<String> {
    Some(
        match kind {
            ValueKind::Bool => "boolean",
            ValueKind::I16 => "smallint",
            ValueKind::I32 => "integer",
            ValueKind::I64 => "bigint",
            ValueKind::F32 => "real",
            ValueKind::F64 => "double precision",
            ValueKind::String | ValueKind::Enum(_) => "text",
            ValueKind::FixedBytes(_) | ValueKind::Array(ValueKind::U8) => "bytea",
            ValueKind::Date => "date",
            ValueKind::DateTime => "timestamp",
            ValueKind::Timestamp => "timestamptz",
            ValueKind::Uuid => "uuid",
            ValueKind::IpAddr | ValueKind::Ipv4 | ValueKind::Ipv6 => "inet",
            ValueKind::Decimal => "numeric",
            ValueKind::Json => "jsonb",
            ValueKind::Nullable(inner) => return default_type(inner),
            ValueKind::Array(inner) => {
                let element = inner.non_null();
                if matches!(element, ValueKind::Array(e) if !matches!(e, ValueKind::U8)) {
                    return None;
                }
                return default_type(element).map(|t| format!("{t}[]"));
            }
            _ => return None,
        }
        .to_owned(),
    )
}

impl PgBinary {
    /// The `CREATE TABLE` statement for `schema`: each column with its declared type when
    /// the field declares a PostgreSQL one (`#[batch(type = "varchar(40)")]`; ClickHouse
    /// spellings, whose first name is a ClickHouse type name such as `DateTime64`, are
    /// ignored here and refused by the sink's schema check), else the default of
    /// its Rust type (`i64` → `bigint`, `String` → `text`, `Vec<u8>` → `bytea`,
    /// `DateTime<Utc>` → `timestamptz`, `serde_json::Value` → `jsonb`, an enum → `text`,
    /// `Vec<T>` → `T[]`…), and `NOT NULL` unless the field is an `Option`.
    /// `schema.table` may name the schema (`"analytics.events"`).
    ///
    /// # Errors
    ///
    /// [`Error::Column`] for a field whose Rust type PostgreSQL cannot store (unsigned
    /// integers, `i8`, `i128`, maps, arrays of arrays) and that declares no type.
    ///
    /// # Examples
    ///
    /// ```
    /// # use batch_core as batchrow;
    /// # use batch_derive::BatchRow;
    /// use batch_postgres::PgBinary;
    /// use batchrow::{BatchRow, Schema};
    ///
    /// #[derive(BatchRow)]
    /// # #[batch(crate = "batch_core")]
    /// #[batch(table = "events")]
    /// struct Event<'a> {
    ///     id: i64,
    ///     #[batch(type = "varchar(16)")]
    ///     kind: &'a str,
    ///     tags: Vec<String>,
    ///     note: Option<String>,
    /// }
    ///
    /// assert_eq!(
    ///     PgBinary::create_table_sql(Schema::of::<Event>())?,
    ///     "CREATE TABLE \"events\" (\n    \"id\" bigint NOT NULL,\n    \"kind\" varchar(16) NOT NULL,\n    \
    ///      \"tags\" text[] NOT NULL,\n    \"note\" text\n)"
    /// );
    /// # Ok::<(), batch_postgres::Error>(())
    /// ```
    pub fn create_table_sql(schema: Schema) -> Result<String> {
        let name = TableName::parse(schema.table);
        let table = match &name.schema {
            Some(s) => format!("{}.{}", quote_ident(s), quote_ident(&name.table)),
            None => quote_ident(&name.table),
        };
        let mut columns = Vec::with_capacity(schema.columns.len());
        for c in schema.columns {
            let declared = c.declared.filter(|d| !is_clickhouse_spelling(d));
            let ty = match declared {
                Some(d) => d.to_owned(),
                None => default_type(&c.kind).ok_or_else(|| Error::Column {
                    column: c.name,
                    reason: format!(
                        "PostgreSQL has no column type for the field type `{}`",
                        c.rust_type
                    ),
                })?,
            };
            let null = if c.kind.is_nullable() {
                ""
            } else {
                " NOT NULL"
            };
            columns.push(format!("    {} {ty}{null}", quote_ident(c.name)));
        }
        Ok(format!(
            "CREATE TABLE {table} (\n{}\n)",
            columns.join(",\n")
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn default_types() {
        assert_eq!(default_type(&ValueKind::I64).unwrap(), "bigint");
        assert_eq!(
            default_type(&ValueKind::Array(&ValueKind::Nullable(
                &ValueKind::Timestamp
            )))
            .unwrap(),
            "timestamptz[]"
        );
        assert_eq!(
            default_type(&ValueKind::Array(&ValueKind::U8)).unwrap(),
            "bytea"
        );
        assert_eq!(default_type(&ValueKind::U64), None);
        assert_eq!(
            default_type(&ValueKind::Array(&ValueKind::Array(&ValueKind::I32))),
            None
        );
    }

    /// The default type of every kind is one its Rust types' rules take: the defaults
    /// of `CREATE TABLE` cannot drift from `Encode::accepts`.
    #[test]
    fn defaults_agree_with_the_rules() {
        use crate::copy::oid;
        use crate::{PgBinary, PgType};
        use batch_core::{ColumnValue, Encode};
        use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

        fn pg_type(name: &str) -> PgType {
            if let Some(element) = name.strip_suffix("[]") {
                return PgType::array_of(0, pg_type(element));
            }
            let o = match name {
                "boolean" => oid::BOOL,
                "smallint" => oid::INT2,
                "integer" => oid::INT4,
                "bigint" => oid::INT8,
                "real" => oid::FLOAT4,
                "double precision" => oid::FLOAT8,
                "text" => oid::TEXT,
                "bytea" => oid::BYTEA,
                "date" => oid::DATE,
                "timestamp" => oid::TIMESTAMP,
                "timestamptz" => oid::TIMESTAMPTZ,
                "uuid" => oid::UUID,
                "inet" => oid::INET,
                "numeric" => oid::NUMERIC,
                "jsonb" => oid::JSONB,
                other => panic!("no OID for {other} in this test"),
            };
            PgType::builtin(o, name)
        }

        fn agrees<T: Encode<PgBinary> + ColumnValue + ?Sized>() {
            let name = default_type(&T::KIND).unwrap();
            assert!(
                T::accepts(&pg_type(&name)).is_ok(),
                "{} defaults to {name}, which it does not accept",
                std::any::type_name::<T>()
            );
        }
        macro_rules! agree {
            ($($t:ty),*) => {$(agrees::<$t>();)*};
        }
        agree! {
            bool, i16, i32, i64, f32, f64, String, &str, Vec<u8>, [u8; 16], Option<i32>,
            Vec<Option<String>>, Vec<Vec<u8>>, Ipv4Addr, Ipv6Addr, IpAddr
        }
        // date, timestamp, timestamptz
        #[cfg(all(feature = "chrono", feature = "time"))]
        agree! {
            chrono::NaiveDate, time::Date, chrono::NaiveDateTime, time::PrimitiveDateTime,
            chrono::DateTime<chrono::Utc>, time::OffsetDateTime
        }
        #[cfg(all(feature = "uuid", feature = "rust_decimal", feature = "serde_json"))]
        agree! { uuid::Uuid, rust_decimal::Decimal, serde_json::Value }
    }
}
