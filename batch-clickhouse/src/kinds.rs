//! How Rust value kinds meet ClickHouse types: which server types a [`ValueKind`] can be
//! written to, the type a kind gets when nothing else says, and how a declared type
//! (`#[batch(type = "...")]`) is completed with the `Nullable` an `Option` implies.
//!
//! [`fits`] must agree with the `Encode<RowBinary>` impls: it accepts exactly the
//! column types those encoders write correctly.

use batch_core::{EnumVariant, ValueKind};

use crate::types::{ChType, EnumDef};

/// Checks that a value of `kind` can be written to a column of type `ty`. The error is
/// the reason, for the mismatch report.
pub(crate) fn fits(kind: &ValueKind, ty: &ChType) -> Result<(), String> {
    let t = ty.without_low_cardinality();
    if !t.is_supported() {
        return Err("batchrow cannot write columns of this type".to_owned());
    }
    let ok = match (kind, t) {
        (ValueKind::Nullable(k), ChType::Nullable(inner)) => return fits(k, inner),
        (ValueKind::Nullable(_), _) => {
            return Err(
                "the field is an `Option` but the column is not Nullable, so it \
                        cannot store NULL: make the column Nullable(..) or the field not an \
                        `Option`"
                    .to_owned(),
            )
        }
        (_, ChType::Nullable(_)) => {
            return Err(
                "the column is Nullable but the field is not an `Option`: make the field \
                 an `Option<..>`"
                    .to_owned(),
            )
        }
        (ValueKind::Bool, ChType::Bool | ChType::UInt8) => true,
        (ValueKind::I8, ChType::Int8)
        | (ValueKind::I16, ChType::Int16)
        | (ValueKind::I32, ChType::Int32)
        | (ValueKind::I64, ChType::Int64)
        | (ValueKind::I128, ChType::Int128)
        | (ValueKind::U8, ChType::UInt8)
        | (ValueKind::U16, ChType::UInt16)
        | (ValueKind::U32, ChType::UInt32)
        | (ValueKind::U64, ChType::UInt64)
        | (ValueKind::U128, ChType::UInt128)
        | (ValueKind::F32, ChType::Float32)
        | (ValueKind::F64, ChType::Float64) => true,
        (
            ValueKind::String,
            ChType::String
            | ChType::FixedString(_)
            | ChType::Enum8(_)
            | ChType::Enum16(_)
            | ChType::Json,
        ) => true,
        (ValueKind::FixedBytes(n), ChType::FixedString(m)) => n == m,
        (ValueKind::FixedBytes(_), ChType::String) => true,
        (ValueKind::Date, ChType::Date | ChType::Date32) => true,
        (
            ValueKind::DateTime | ValueKind::Timestamp,
            ChType::DateTime(_) | ChType::DateTime64(..),
        ) => true,
        (ValueKind::Uuid, ChType::Uuid) => true,
        (ValueKind::IpAddr | ValueKind::Ipv4, ChType::Ipv4 | ChType::Ipv6) => true,
        (ValueKind::Ipv6, ChType::Ipv6) => true,
        (ValueKind::Decimal, ChType::Decimal { .. }) => true,
        (ValueKind::Json, ChType::String | ChType::Json) => true,
        (ValueKind::Enum(variants), ChType::Enum8(def) | ChType::Enum16(def)) => {
            return enum_labels(variants, def)
        }
        (ValueKind::Enum(_), ChType::String | ChType::FixedString(_)) => true,
        (ValueKind::Array(k), ChType::Array(inner)) => {
            return fits(k, inner).map_err(|r| format!("in the array elements: {r}"))
        }
        (ValueKind::Array(ValueKind::U8), ChType::String | ChType::FixedString(_)) => true,
        (ValueKind::Map(k, v), ChType::Map(kt, vt)) => {
            fits(k, kt).map_err(|r| format!("in the map keys: {r}"))?;
            return fits(v, vt).map_err(|r| format!("in the map values: {r}"));
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("this field type needs {}", expected(kind)))
    }
}

fn enum_labels(variants: &[EnumVariant], def: &EnumDef) -> Result<(), String> {
    let missing: Vec<String> = variants
        .iter()
        .filter(|v| def.value_of(v.label).is_none())
        .map(|v| format!("'{}'", v.label))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the server enum lacks the label{} {}",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", ")
        ))
    }
}

/// The server types a kind can be written to, for messages.
pub(crate) fn expected(kind: &ValueKind) -> String {
    match kind {
        ValueKind::Bool => "Bool or UInt8".into(),
        ValueKind::I8 => "Int8".into(),
        ValueKind::I16 => "Int16".into(),
        ValueKind::I32 => "Int32".into(),
        ValueKind::I64 => "Int64".into(),
        ValueKind::I128 => "Int128".into(),
        ValueKind::U8 => "UInt8".into(),
        ValueKind::U16 => "UInt16".into(),
        ValueKind::U32 => "UInt32".into(),
        ValueKind::U64 => "UInt64".into(),
        ValueKind::U128 => "UInt128".into(),
        ValueKind::F32 => "Float32".into(),
        ValueKind::F64 => "Float64".into(),
        ValueKind::String => "String, FixedString(N), Enum8/Enum16 (by label) or JSON".into(),
        ValueKind::FixedBytes(n) => format!("FixedString({n}) or String"),
        ValueKind::Date => "Date or Date32".into(),
        ValueKind::DateTime | ValueKind::Timestamp => "DateTime or DateTime64(p)".into(),
        ValueKind::Uuid => "UUID".into(),
        ValueKind::IpAddr | ValueKind::Ipv4 => "IPv4 or IPv6".into(),
        ValueKind::Ipv6 => "IPv6".into(),
        ValueKind::Decimal => "Decimal(P, S)".into(),
        ValueKind::Json => "String or JSON".into(),
        ValueKind::Enum(_) => "Enum8/Enum16 with its labels, or String".into(),
        ValueKind::Nullable(k) => format!("Nullable({})", expected(k)),
        ValueKind::Array(ValueKind::U8) => "String, FixedString(N) or Array(UInt8)".into(),
        ValueKind::Array(k) => format!("Array({})", expected(k)),
        ValueKind::Map(k, v) => format!("Map({}, {})", expected(k), expected(v)),
        _ => "a type batchrow supports".into(),
    }
}

/// The ClickHouse type a column of `kind` gets when no type is declared (for encoding
/// without a server).
pub(crate) fn default_type(kind: &ValueKind) -> Result<ChType, String> {
    Ok(match kind {
        ValueKind::Bool => ChType::Bool,
        ValueKind::I8 => ChType::Int8,
        ValueKind::I16 => ChType::Int16,
        ValueKind::I32 => ChType::Int32,
        ValueKind::I64 => ChType::Int64,
        ValueKind::I128 => ChType::Int128,
        ValueKind::U8 => ChType::UInt8,
        ValueKind::U16 => ChType::UInt16,
        ValueKind::U32 => ChType::UInt32,
        ValueKind::U64 => ChType::UInt64,
        ValueKind::U128 => ChType::UInt128,
        ValueKind::F32 => ChType::Float32,
        ValueKind::F64 => ChType::Float64,
        ValueKind::String | ValueKind::Json | ValueKind::Array(ValueKind::U8) => ChType::String,
        ValueKind::FixedBytes(n) => ChType::FixedString(*n),
        ValueKind::Date => ChType::Date,
        ValueKind::DateTime | ValueKind::Timestamp => ChType::DateTime(None),
        ValueKind::Uuid => ChType::Uuid,
        ValueKind::IpAddr | ValueKind::Ipv6 => ChType::Ipv6,
        ValueKind::Ipv4 => ChType::Ipv4,
        ValueKind::Decimal => {
            return Err(
                "a decimal needs its precision and scale: declare the column type, \
                        e.g. #[batch(type = \"Decimal(18, 4)\")]"
                    .to_owned(),
            )
        }
        ValueKind::Enum(variants) => {
            let def = EnumDef::new(
                variants
                    .iter()
                    .map(|v| (v.label.to_owned(), v.value))
                    .collect(),
            )
            .map_err(|e| e.to_string())?;
            if variants.iter().all(|v| i8::try_from(v.value).is_ok()) {
                ChType::Enum8(def)
            } else {
                ChType::Enum16(def)
            }
        }
        ValueKind::Nullable(k) => ChType::Nullable(Box::new(default_type(k)?)),
        ValueKind::Array(k) => ChType::Array(Box::new(default_type(k)?)),
        ValueKind::Map(k, v) => ChType::Map(Box::new(default_type(k)?), Box::new(default_type(v)?)),
        _ => return Err("this field type has no default ClickHouse type: declare one".to_owned()),
    })
}

/// Completes a declared type with the `Nullable` wrappers that the kind's `Option`s
/// imply: `type = "DateTime64(3)"` on an `Option<DateTime<Utc>>` is
/// `Nullable(DateTime64(3))`, and `type = "LowCardinality(String)"` on an
/// `Option<String>` is `LowCardinality(Nullable(String))`.
pub(crate) fn complete(kind: &ValueKind, ty: ChType) -> ChType {
    match (kind, ty) {
        (k, ChType::LowCardinality(inner)) => ChType::LowCardinality(Box::new(complete(k, *inner))),
        (ValueKind::Nullable(k), ChType::Nullable(inner)) => {
            ChType::Nullable(Box::new(complete(k, *inner)))
        }
        (ValueKind::Nullable(k), other) => ChType::Nullable(Box::new(complete(k, other))),
        (ValueKind::Array(k), ChType::Array(inner)) => ChType::Array(Box::new(complete(k, *inner))),
        (ValueKind::Map(k, v), ChType::Map(kt, vt)) => {
            ChType::Map(Box::new(complete(k, *kt)), Box::new(complete(v, *vt)))
        }
        (_, other) => other,
    }
}

/// Whether a declared type describes the server's type. A declared `DateTime` or
/// `DateTime64(p)` without a time zone matches the server's type with any zone; an enum
/// matches when it has the same labels and values in any order.
pub(crate) fn declared_matches(declared: &ChType, server: &ChType) -> bool {
    match (declared, server) {
        (ChType::DateTime(None), ChType::DateTime(_)) => true,
        (ChType::DateTime64(p, None), ChType::DateTime64(q, _)) => p == q,
        (ChType::Enum8(a), ChType::Enum8(b)) | (ChType::Enum16(a), ChType::Enum16(b)) => {
            let mut x = a.variants().to_vec();
            let mut y = b.variants().to_vec();
            x.sort();
            y.sort();
            x == y
        }
        (ChType::Nullable(a), ChType::Nullable(b))
        | (ChType::LowCardinality(a), ChType::LowCardinality(b))
        | (ChType::Array(a), ChType::Array(b)) => declared_matches(a, b),
        (ChType::Map(ak, av), ChType::Map(bk, bv)) => {
            declared_matches(ak, bk) && declared_matches(av, bv)
        }
        (a, b) => a == b,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn t(s: &str) -> ChType {
        ChType::parse(s).unwrap()
    }

    #[test]
    fn integers_fit_only_their_own_type() {
        assert!(fits(&ValueKind::I32, &t("Int32")).is_ok());
        for other in [
            "Int64",
            "UInt32",
            "Int16",
            "Float64",
            "String",
            "Nullable(Int32)",
        ] {
            assert!(fits(&ValueKind::I32, &t(other)).is_err(), "{other}");
        }
        assert_eq!(
            fits(&ValueKind::U64, &t("Int64")).unwrap_err(),
            "this field type needs UInt64"
        );
    }

    #[test]
    fn strings_fit_text_columns() {
        for ok in [
            "String",
            "FixedString(3)",
            "LowCardinality(String)",
            "Enum8('a' = 1)",
            "JSON",
        ] {
            assert!(fits(&ValueKind::String, &t(ok)).is_ok(), "{ok}");
        }
        assert!(fits(&ValueKind::String, &t("UUID")).is_err());
        assert!(fits(
            &ValueKind::Nullable(&ValueKind::String),
            &t("LowCardinality(Nullable(String))")
        )
        .is_ok());
    }

    #[test]
    fn nullability_must_agree() {
        let e = fits(&ValueKind::Nullable(&ValueKind::I32), &t("Int32")).unwrap_err();
        assert!(e.contains("not Nullable"), "{e}");
        let e = fits(&ValueKind::I32, &t("Nullable(Int32)")).unwrap_err();
        assert!(e.contains("make the field an `Option"), "{e}");
        let e = fits(
            &ValueKind::Array(&ValueKind::I32),
            &t("Array(Nullable(Int32))"),
        )
        .unwrap_err();
        assert!(e.starts_with("in the array elements:"), "{e}");
    }

    #[test]
    fn enums_need_every_label() {
        static V: [EnumVariant; 2] = [
            EnumVariant {
                label: "a",
                value: 1,
            },
            EnumVariant {
                label: "b",
                value: 2,
            },
        ];
        let kind = ValueKind::Enum(&V);
        assert!(fits(&kind, &t("Enum8('b' = 5, 'a' = -1, 'c' = 3)")).is_ok());
        assert_eq!(
            fits(&kind, &t("Enum16('a' = 1)")).unwrap_err(),
            "the server enum lacks the label 'b'"
        );
        assert!(fits(&kind, &t("LowCardinality(String)")).is_ok());
        assert_eq!(default_type(&kind).unwrap(), t("Enum8('a' = 1, 'b' = 2)"));
    }

    #[test]
    fn declared_types_are_completed_with_nullable() {
        let opt = ValueKind::Nullable(&ValueKind::Timestamp);
        assert_eq!(
            complete(&opt, t("DateTime64(3)")),
            t("Nullable(DateTime64(3))")
        );
        assert_eq!(
            complete(&opt, t("Nullable(DateTime64(3))")),
            t("Nullable(DateTime64(3))")
        );
        let lc = ValueKind::Nullable(&ValueKind::String);
        assert_eq!(
            complete(&lc, t("LowCardinality(String)")),
            t("LowCardinality(Nullable(String))")
        );
        static INNER: ValueKind = ValueKind::Nullable(&ValueKind::Timestamp);
        let arr = ValueKind::Array(&INNER);
        assert_eq!(
            complete(&arr, t("Array(DateTime64(6))")),
            t("Array(Nullable(DateTime64(6)))")
        );
        assert!(declared_matches(
            &t("DateTime64(3)"),
            &t("DateTime64(3, 'UTC')")
        ));
        assert!(!declared_matches(&t("DateTime64(3)"), &t("DateTime64(6)")));
        assert!(declared_matches(
            &t("Enum8('a' = 1, 'b' = 2)"),
            &t("Enum8('b' = 2, 'a' = 1)")
        ));
    }

    #[test]
    fn default_types() {
        assert_eq!(default_type(&ValueKind::U64).unwrap(), ChType::UInt64);
        assert_eq!(
            default_type(&ValueKind::Array(&ValueKind::U8)).unwrap(),
            ChType::String
        );
        assert_eq!(
            default_type(&ValueKind::Map(&ValueKind::String, &ValueKind::U64)).unwrap(),
            t("Map(String, UInt64)")
        );
        assert!(default_type(&ValueKind::Decimal).is_err());
    }
}
