//! ClickHouse: the live table's columns (`system.columns`, as the schema check reads
//! them) to struct fields.

use batchrow::clickhouse::{clickhouse, describe_table, ChType, RowBinary, TableColumn};
use batchrow::{Column, Schema, ValueKind};

use crate::model::{enum_kind, leak, type_ident, EnumGen, Field, Generated, Skipped};

/// Reads `table` (`db.table` or a table of the client's database) and builds the struct.
pub(crate) async fn generate(
    url: &str,
    table: &str,
    name: Option<&str>,
) -> Result<Generated, Box<dyn std::error::Error>> {
    let client = clickhouse::Client::default().with_url(url);
    let (database, table) = match table.split_once('.') {
        Some((db, t)) => (Some(db), t),
        None => (None, table),
    };
    let columns = describe_table(&client, database, table).await?;
    let mut out = Generated {
        source: format!(
            "the ClickHouse table {}{table}",
            database.map_or_else(String::new, |d| format!("{d}."))
        ),
        table: table.to_owned(),
        name: name.map_or_else(|| type_ident(table), str::to_owned),
        ..Generated::default()
    };
    for c in &columns {
        field(&mut out, c);
    }
    Ok(out)
}

fn field(out: &mut Generated, c: &TableColumn) {
    let skip = |out: &mut Generated, reason: String| {
        out.skipped.push(Skipped {
            column: c.name.clone(),
            type_name: c.type_name.clone(),
            reason,
        });
    };
    if matches!(c.default_kind.as_str(), "MATERIALIZED" | "ALIAS") {
        return skip(
            out,
            format!(
                "{} columns cannot be inserted into; left out",
                c.default_kind
            ),
        );
    }
    let Some(ty) = &c.ty else {
        return skip(out, "batchrow cannot parse this type; left out".into());
    };
    let prefix = format!("{}{}", out.name, type_ident(&c.name));
    let mut enums = Vec::new();
    match field_type(&c.name, ty, &prefix, &mut enums) {
        Ok((rust, declared, kind)) => {
            out.enums.extend(enums);
            out.fields.push(Field {
                column: c.name.clone(),
                rust,
                declared,
                kind,
            });
        }
        Err(reason) => {
            let must = if c.default_kind.is_empty() {
                " the column has no DEFAULT, so the schema check refuses a struct without it"
            } else {
                " it has a DEFAULT, so inserts may leave it out"
            };
            skip(out, format!("{reason}; left out:{must}"));
        }
    }
}

/// The Rust type of a column, `#[batch(type = …)]` when the Rust type's default is not
/// the column's type, and the value kind.
fn field_type(
    column: &str,
    ty: &ChType,
    enum_name: &str,
    enums: &mut Vec<EnumGen>,
) -> Result<(String, Option<String>, ValueKind), String> {
    let (rust, kind) = rust_type(ty, enum_name, enums)?;
    let declared = (default_type(column, kind).as_ref() != Some(ty)).then(|| ty.to_string());
    Ok((rust, declared, kind))
}

/// The type the field's Rust type gets without `#[batch(type = …)]`: the offline
/// defaults of `RowBinary::resolve_offline`.
fn default_type(column: &str, kind: ValueKind) -> Option<ChType> {
    let name: &'static str = Box::leak(column.to_owned().into_boxed_str());
    let columns: &'static [Column] = Box::leak(Box::new([Column::new(name, name, "", None, kind)]));
    RowBinary::resolve_offline(Schema {
        table: "t",
        columns,
        check: None,
    })
    .ok()?
    .pop()
}

/// The Rust type for a ClickHouse type, and its value kind; enums go into `enums`.
fn rust_type(
    ty: &ChType,
    enum_name: &str,
    enums: &mut Vec<EnumGen>,
) -> Result<(String, ValueKind), String> {
    let simple = |rust: &str, kind: ValueKind| Ok((rust.to_owned(), kind));
    match ty {
        ChType::Bool => simple("bool", ValueKind::Bool),
        ChType::Int8 => simple("i8", ValueKind::I8),
        ChType::Int16 => simple("i16", ValueKind::I16),
        ChType::Int32 => simple("i32", ValueKind::I32),
        ChType::Int64 => simple("i64", ValueKind::I64),
        ChType::Int128 => simple("i128", ValueKind::I128),
        ChType::UInt8 => simple("u8", ValueKind::U8),
        ChType::UInt16 => simple("u16", ValueKind::U16),
        ChType::UInt32 => simple("u32", ValueKind::U32),
        ChType::UInt64 => simple("u64", ValueKind::U64),
        ChType::UInt128 => simple("u128", ValueKind::U128),
        ChType::Float32 => simple("f32", ValueKind::F32),
        ChType::Float64 => simple("f64", ValueKind::F64),
        ChType::String | ChType::FixedString(_) => simple("String", ValueKind::String),
        ChType::Date | ChType::Date32 => simple("chrono::NaiveDate", ValueKind::Date),
        ChType::DateTime(_) | ChType::DateTime64(..) => {
            simple("chrono::DateTime<chrono::Utc>", ValueKind::Timestamp)
        }
        ChType::Decimal { .. } => simple("rust_decimal::Decimal", ValueKind::Decimal),
        ChType::Uuid => simple("uuid::Uuid", ValueKind::Uuid),
        ChType::Ipv4 => simple("std::net::Ipv4Addr", ValueKind::Ipv4),
        ChType::Ipv6 => simple("std::net::Ipv6Addr", ValueKind::Ipv6),
        ChType::Json => simple("serde_json::Value", ValueKind::Json),
        ChType::Enum8(def) | ChType::Enum16(def) => {
            let variants = def.variants().to_vec();
            let kind = enum_kind(&variants);
            enums.push(EnumGen {
                name: enum_name.to_owned(),
                variants,
            });
            Ok((enum_name.to_owned(), kind))
        }
        ChType::Nullable(inner) => {
            let (rust, kind) = rust_type(inner, enum_name, enums)?;
            Ok((format!("Option<{rust}>"), ValueKind::Nullable(leak(kind))))
        }
        ChType::LowCardinality(inner) => rust_type(inner, enum_name, enums),
        ChType::Array(inner) => {
            let (rust, kind) = rust_type(inner, enum_name, enums)?;
            Ok((format!("Vec<{rust}>"), ValueKind::Array(leak(kind))))
        }
        ChType::Map(k, v) => {
            let (kr, kk) = rust_type(k, &format!("{enum_name}Key"), enums)?;
            let (vr, vk) = rust_type(v, &format!("{enum_name}Value"), enums)?;
            Ok((
                format!("std::collections::HashMap<{kr}, {vr}>"),
                ValueKind::Map(leak(kk), leak(vk)),
            ))
        }
        other => Err(format!("batchrow cannot write `{other}` columns")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Rust type and declared type for a type string.
    fn map(ty: &str) -> Result<(String, Option<String>), String> {
        let ty = ChType::parse(ty).map_err(|e| e.to_string())?;
        field_type("c", &ty, "E", &mut Vec::new()).map(|(rust, declared, _)| (rust, declared))
    }

    fn plain(rust: &str) -> Result<(String, Option<String>), String> {
        Ok((rust.to_owned(), None))
    }

    fn declared(rust: &str, ty: &str) -> Result<(String, Option<String>), String> {
        Ok((rust.to_owned(), Some(ty.to_owned())))
    }

    #[test]
    fn types_newer_servers_have() {
        assert_eq!(map("Bool"), plain("bool"));
        assert_eq!(map("Int128"), plain("i128"));
        assert_eq!(map("UInt128"), plain("u128"));
        assert_eq!(map("IPv4"), plain("std::net::Ipv4Addr"));
        assert_eq!(map("IPv6"), plain("std::net::Ipv6Addr"));
        assert_eq!(
            map("Map(String, Array(UInt64))"),
            plain("std::collections::HashMap<String, Vec<u64>>")
        );
        assert_eq!(
            map("DateTime64(3)"),
            declared("chrono::DateTime<chrono::Utc>", "DateTime64(3)")
        );
        assert_eq!(map("Date32"), declared("chrono::NaiveDate", "Date32"));
        assert_eq!(map("JSON"), declared("serde_json::Value", "JSON"));
        assert_eq!(
            map("LowCardinality(Nullable(String))"),
            declared("Option<String>", "LowCardinality(Nullable(String))")
        );
        assert_eq!(map("Nullable(UInt8)"), plain("Option<u8>"));
    }

    #[test]
    fn types_batchrow_cannot_write() {
        for ty in [
            "Tuple(UInt8, String)",
            "Int256",
            "Nothing",
            "AggregateFunction(sum, UInt64)",
        ] {
            let e = map(ty).unwrap_err();
            assert!(e.starts_with("batchrow cannot write"), "{ty}: {e}");
        }
    }
}
