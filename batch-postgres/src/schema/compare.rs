//! The comparison of a row type with the live table: pure, so it is unit-tested without
//! a server.
//!
//! - Every field must have a column of the same name (names are case-sensitive: the
//!   sink quotes them), that is not a generated column, and whose type the field's Rust
//!   type is written to correctly (`i32` into `int4` only; `String` into `text`,
//!   `varchar`, `character`, `name`, `citext`, enum types, `json` and `jsonb`; …).
//! - An `Option<T>` field on a NOT NULL column is an **error**, not a warning: COPY
//!   does not apply a column default to an explicit NULL, so a single `None` would fail
//!   its whole batch with a NOT NULL violation at run time. Make the field non-optional,
//!   or drop the constraint.
//! - A NOT NULL column that the struct leaves out is an error unless it has a default,
//!   is an identity column, or is generated.
//!
//! Every mismatch is collected, so one error lists them all.

use batch_core::{Column, ColumnMismatch, ValueKind};

use crate::copy::{oid, PgType, PgTypeKind};

/// One column of the live table, as read from the catalog.
#[derive(Debug, Clone)]
pub(crate) struct ServerColumn {
    pub(crate) name: String,
    pub(crate) ty: PgType,
    pub(crate) not_null: bool,
    pub(crate) has_default: bool,
    pub(crate) identity: bool,
    pub(crate) generated: bool,
}

/// Compares the row's columns with the table's. Returns the resolved type of each row
/// column, in row order, or every mismatch.
pub(crate) fn compare(
    row: &[Column],
    table: &[ServerColumn],
) -> Result<Vec<PgType>, Vec<ColumnMismatch>> {
    let mut resolved = Vec::with_capacity(row.len());
    let mut mismatches = Vec::new();
    for col in row {
        let mismatch = |server: Option<&PgType>, reason: String| ColumnMismatch {
            column: col.name.to_owned(),
            rust_type: Some(col.rust_type.to_owned()),
            server_type: server.map(|t| t.name().to_owned()),
            reason,
        };
        let Some(server) = table.iter().find(|s| s.name == col.name) else {
            let reason = match table.iter().find(|s| s.name.eq_ignore_ascii_case(col.name)) {
                Some(s) => format!(
                    "the table has no such column, but has `{}` (column names are case-sensitive)",
                    s.name
                ),
                None => "the table has no such column".to_owned(),
            };
            mismatches.push(mismatch(None, reason));
            continue;
        };
        if server.generated {
            mismatches.push(mismatch(
                Some(&server.ty),
                "a generated column cannot be written; leave the field out with #[batch(skip)]"
                    .to_owned(),
            ));
            continue;
        }
        if let Err(reason) = fits(&col.kind, &server.ty) {
            mismatches.push(mismatch(Some(&server.ty), reason));
            continue;
        }
        if col.kind.is_nullable() && server.not_null {
            mismatches.push(mismatch(
                Some(&server.ty),
                "the column is NOT NULL, so a None would fail its whole batch; \
                 make the field non-optional or drop the NOT NULL constraint"
                    .to_owned(),
            ));
            continue;
        }
        resolved.push(server.ty.clone());
    }
    for server in table {
        let required =
            server.not_null && !server.has_default && !server.identity && !server.generated;
        if required && !row.iter().any(|c| c.name == server.name) {
            mismatches.push(ColumnMismatch {
                column: server.name.clone(),
                rust_type: None,
                server_type: Some(server.ty.name().to_owned()),
                reason: "the column is NOT NULL and has no default; add a field for it".to_owned(),
            });
        }
    }
    if mismatches.is_empty() {
        Ok(resolved)
    } else {
        Err(mismatches)
    }
}

fn is_base(ty: &PgType, oids: &[u32]) -> bool {
    matches!(ty.kind(), PgTypeKind::Base) && oids.contains(&ty.base_oid())
}

/// Whether a Rust value of `kind` is written correctly to a column of type `ty`.
/// The error says what the column takes.
pub(crate) fn fits(kind: &ValueKind, ty: &PgType) -> Result<(), String> {
    use ValueKind as K;
    let ok = match kind.non_null() {
        K::Bool => is_base(ty, &[oid::BOOL]),
        K::I16 => is_base(ty, &[oid::INT2]),
        K::I32 => is_base(ty, &[oid::INT4]),
        K::I64 => is_base(ty, &[oid::INT8]),
        K::F32 => is_base(ty, &[oid::FLOAT4]),
        K::F64 => is_base(ty, &[oid::FLOAT8]),
        K::String => {
            ty.is_text() || ty.enum_labels().is_some() || is_base(ty, &[oid::JSON, oid::JSONB])
        }
        K::Array(K::U8) | K::FixedBytes(_) => is_base(ty, &[oid::BYTEA]),
        K::Array(inner) => match ty.element() {
            Some(elem) => {
                return fits(inner, elem).map_err(|_| format!("{} takes {}", ty.name(), takes(ty)))
            }
            None => false,
        },
        K::Date => is_base(ty, &[oid::DATE]),
        K::DateTime => is_base(ty, &[oid::TIMESTAMP]),
        K::Timestamp => is_base(ty, &[oid::TIMESTAMPTZ]),
        K::Uuid => is_base(ty, &[oid::UUID]),
        K::IpAddr | K::Ipv4 | K::Ipv6 => is_base(ty, &[oid::INET, oid::CIDR]),
        K::Decimal => is_base(ty, &[oid::NUMERIC]),
        K::Json => {
            is_base(ty, &[oid::JSON, oid::JSONB, oid::TEXT])
                || matches!(ty.kind(), PgTypeKind::Citext)
        }
        K::Enum(variants) => match ty.enum_labels() {
            Some(labels) => {
                let missing: Vec<&str> = variants
                    .iter()
                    .map(|v| v.label)
                    .filter(|l| !labels.iter().any(|s| s == l))
                    .collect();
                if !missing.is_empty() {
                    return Err(format!(
                        "the enum type {} has no label {}; add it with ALTER TYPE … ADD VALUE",
                        ty.name(),
                        missing
                            .iter()
                            .map(|l| format!("'{l}'"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                true
            }
            None => ty.is_text(),
        },
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{} takes {}", ty.name(), takes(ty)))
    }
}

/// The Rust field types a column of type `ty` takes, for messages.
fn takes(ty: &PgType) -> String {
    if let Some(elem) = ty.element() {
        return match takes_scalar(elem) {
            Some(t) => format!("Vec<T> or &[T] with T = {t} (or Option of it)"),
            None => "no Rust type (batchrow has no encoder for its element type)".to_owned(),
        };
    }
    takes_scalar(ty).map_or_else(
        || "no Rust type (batchrow has no encoder for it)".to_owned(),
        str::to_owned,
    )
}

fn takes_scalar(ty: &PgType) -> Option<&'static str> {
    if ty.enum_labels().is_some() {
        return Some("an enum with #[derive(BatchEnum)], String, &str or Cow<str>");
    }
    if ty.is_text() {
        return Some("String, &str or Cow<str>");
    }
    if !matches!(ty.kind(), PgTypeKind::Base) {
        return None;
    }
    Some(match ty.base_oid() {
        oid::BOOL => "bool",
        oid::INT2 => "i16",
        oid::INT4 => "i32",
        oid::INT8 => "i64",
        oid::FLOAT4 => "f32",
        oid::FLOAT8 => "f64",
        oid::BYTEA => "Vec<u8>, &[u8] or [u8; N]",
        oid::JSON | oid::JSONB => "serde_json::Value, String, &str or Cow<str>",
        oid::DATE => "chrono::NaiveDate or time::Date",
        oid::TIMESTAMP => "chrono::NaiveDateTime or time::PrimitiveDateTime",
        oid::TIMESTAMPTZ => "chrono::DateTime<Utc> or time::OffsetDateTime",
        oid::UUID => "uuid::Uuid",
        oid::INET | oid::CIDR => "std::net::IpAddr, Ipv4Addr or Ipv6Addr",
        oid::NUMERIC => "rust_decimal::Decimal",
        _ => return None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use batch_core::EnumVariant;

    use super::*;

    fn server(name: &str, ty: PgType) -> ServerColumn {
        ServerColumn {
            name: name.into(),
            ty,
            not_null: false,
            has_default: false,
            identity: false,
            generated: false,
        }
    }

    fn col(name: &'static str, rust: &'static str, kind: ValueKind) -> Column {
        Column::new(name, name, rust, None, kind)
    }

    fn int4() -> PgType {
        PgType::builtin(oid::INT4, "integer")
    }

    #[test]
    fn exact_integer_widths() {
        assert!(fits(&ValueKind::I32, &int4()).is_ok());
        assert_eq!(
            fits(&ValueKind::I64, &int4()).unwrap_err(),
            "integer takes i32"
        );
        assert!(fits(&ValueKind::I16, &int4()).is_err());
        assert!(fits(&ValueKind::U32, &int4()).is_err());
        assert!(fits(&ValueKind::I8, &PgType::builtin(oid::INT2, "smallint")).is_err());
    }

    #[test]
    fn strings_go_into_text_like_columns_only() {
        for (o, n) in [
            (oid::TEXT, "text"),
            (oid::VARCHAR, "character varying(3)"),
            (oid::BPCHAR, "character(2)"),
            (oid::NAME, "name"),
            (oid::JSON, "json"),
            (oid::JSONB, "jsonb"),
        ] {
            assert!(
                fits(&ValueKind::String, &PgType::builtin(o, n)).is_ok(),
                "{n}"
            );
        }
        let ts = PgType::builtin(oid::TIMESTAMP, "timestamp without time zone");
        assert_eq!(
            fits(&ValueKind::String, &ts).unwrap_err(),
            "timestamp without time zone takes chrono::NaiveDateTime or time::PrimitiveDateTime"
        );
    }

    #[test]
    fn bytes_arrays_and_nulls() {
        let bytea = PgType::builtin(oid::BYTEA, "bytea");
        assert!(fits(&ValueKind::Array(&ValueKind::U8), &bytea).is_ok());
        assert!(fits(&ValueKind::FixedBytes(16), &bytea).is_ok());
        let int4_array = PgType::array_of(1007, int4());
        assert!(fits(&ValueKind::Array(&ValueKind::I32), &int4_array).is_ok());
        let nullable_elems = ValueKind::Array(&ValueKind::Nullable(&ValueKind::I32));
        assert!(fits(&nullable_elems, &int4_array).is_ok());
        assert_eq!(
            fits(&ValueKind::Array(&ValueKind::I64), &int4_array).unwrap_err(),
            "integer[] takes Vec<T> or &[T] with T = i32 (or Option of it)"
        );
        assert!(fits(&ValueKind::Array(&ValueKind::U8), &int4_array).is_err());
        assert!(fits(&ValueKind::I32, &int4_array).is_err());
        assert!(fits(&ValueKind::Nullable(&ValueKind::I32), &int4()).is_ok());
    }

    #[test]
    fn enums_need_every_label() {
        const VARIANTS: &[EnumVariant] = &[
            EnumVariant {
                label: "sad",
                value: 0,
            },
            EnumVariant {
                label: "happy",
                value: 1,
            },
            EnumVariant {
                label: "meh",
                value: 2,
            },
        ];
        let mood = PgType::enumeration(1, "mood", vec!["sad".into(), "ok".into()]);
        assert_eq!(
            fits(&ValueKind::Enum(VARIANTS), &mood).unwrap_err(),
            "the enum type mood has no label 'happy', 'meh'; add it with ALTER TYPE … ADD VALUE"
        );
        assert!(fits(&ValueKind::Enum(&VARIANTS[..1]), &mood).is_ok());
        assert!(fits(
            &ValueKind::Enum(VARIANTS),
            &PgType::builtin(oid::TEXT, "text")
        )
        .is_ok());
        assert!(fits(&ValueKind::Enum(VARIANTS), &int4()).is_err());
    }

    #[test]
    fn reports_every_mismatch() {
        let row = [
            col("id", "i64", ValueKind::I64),
            col("Name", "String", ValueKind::String),
            col(
                "note",
                "Option<String>",
                ValueKind::Nullable(&ValueKind::String),
            ),
            col("total", "i32", ValueKind::I32),
            col("ok", "bool", ValueKind::Bool),
        ];
        let table = [
            server("id", int4()),
            server("name", PgType::builtin(oid::TEXT, "text")),
            ServerColumn {
                not_null: true,
                ..server("note", PgType::builtin(oid::TEXT, "text"))
            },
            ServerColumn {
                generated: true,
                has_default: true,
                ..server("total", int4())
            },
            server("ok", PgType::builtin(oid::BOOL, "boolean")),
            ServerColumn {
                not_null: true,
                ..server("required", int4())
            },
            ServerColumn {
                not_null: true,
                identity: true,
                ..server("serial", int4())
            },
            ServerColumn {
                not_null: true,
                has_default: true,
                ..server("created", int4())
            },
        ];
        let m = compare(&row, &table).unwrap_err();
        let lines: Vec<(String, String)> = m.into_iter().map(|m| (m.column, m.reason)).collect();
        assert_eq!(
            lines,
            [
                ("id".into(), "integer takes i32".into()),
                (
                    "Name".into(),
                    "the table has no such column, but has `name` (column names are case-sensitive)"
                        .into()
                ),
                (
                    "note".into(),
                    "the column is NOT NULL, so a None would fail its whole batch; make the \
                     field non-optional or drop the NOT NULL constraint"
                        .into()
                ),
                (
                    "total".into(),
                    "a generated column cannot be written; leave the field out with #[batch(skip)]"
                        .into()
                ),
                (
                    "required".into(),
                    "the column is NOT NULL and has no default; add a field for it".into()
                ),
            ]
        );
        let ok = compare(&row[4..], &table[4..5]).unwrap();
        assert_eq!(ok, [PgType::builtin(oid::BOOL, "boolean")]);
    }
}
