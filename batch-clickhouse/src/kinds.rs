//! How Rust value kinds meet ClickHouse types where no server says: the type a kind gets
//! when nothing else says (for `CREATE TABLE` and encoding without a server), and how a
//! declared type (`#[batch(type = "...")]`) is completed with the `Nullable` an `Option`
//! implies.
//!
//! Which server types a Rust type may be written to is not here: it is each type's
//! `Encode<RowBinary>::accepts`, next to its encoder (`rowbinary/`).

use batch_core::ValueKind;

use crate::types::{ChType, EnumDef};

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
        static V: [batch_core::EnumVariant; 2] = [
            batch_core::EnumVariant {
                label: "a",
                value: 1,
            },
            batch_core::EnumVariant {
                label: "b",
                value: 2,
            },
        ];
        assert_eq!(
            default_type(&ValueKind::Enum(&V)).unwrap(),
            t("Enum8('a' = 1, 'b' = 2)")
        );
    }

    /// The default type of every kind is one its Rust types' rules take: the defaults
    /// (for `CREATE TABLE` and offline encoding) cannot drift from `Encode::accepts`.
    #[test]
    fn defaults_agree_with_the_rules() {
        use crate::RowBinary;
        use batch_core::{ColumnValue, Encode};
        use std::collections::{BTreeMap, HashMap};
        use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

        fn agrees<T: Encode<RowBinary> + ColumnValue + ?Sized>() {
            let ty = default_type(&T::KIND).unwrap();
            assert!(
                T::accepts(&ty).is_ok(),
                "{} defaults to {ty}, which it does not accept",
                std::any::type_name::<T>()
            );
        }
        macro_rules! agree {
            ($($t:ty),*) => {$(agrees::<$t>();)*};
        }
        agree! {
            bool, i8, i16, i32, i64, i128, u8, u16, u32, u64, u128, f32, f64,
            String, &str, Vec<u8>, [u8; 16], Option<i32>, Vec<Option<String>>, Vec<Vec<u8>>,
            HashMap<String, u64>, BTreeMap<u32, Vec<String>>, Ipv4Addr, Ipv6Addr, IpAddr
        }
        #[cfg(feature = "chrono")]
        agree! { chrono::NaiveDate, chrono::NaiveDateTime, chrono::DateTime<chrono::Utc> }
        #[cfg(feature = "time")]
        agree! { time::Date, time::PrimitiveDateTime, time::OffsetDateTime }
        #[cfg(all(feature = "uuid", feature = "serde_json"))]
        agree! { uuid::Uuid, serde_json::Value }
    }
}
