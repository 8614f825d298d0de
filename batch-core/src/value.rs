//! What a Rust field type holds, independent of any database.
//!
//! Every field type of a `#[derive(BatchRow)]` struct implements [`ColumnValue`]. Its
//! [`ValueKind`] describes the value where no server does: its nullability, the column
//! type it gets in a generated `CREATE TABLE`, and the columns of sinks that keep no
//! schema. Which server columns take the type is not decided here but by the type's
//! own [`Encode::accepts`](crate::Encode::accepts) in each format.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The shape of a Rust value, as the schema check sees it.
///
/// `Vec<u8>` and `&[u8]` are `Array(U8)`: sinks accept them for byte columns
/// (`String` in ClickHouse, `bytea` in PostgreSQL) as well as for arrays of bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValueKind {
    /// `bool`.
    Bool,
    /// `i8`.
    I8,
    /// `i16`.
    I16,
    /// `i32`.
    I32,
    /// `i64`.
    I64,
    /// `i128`.
    I128,
    /// `u8`.
    U8,
    /// `u16`.
    U16,
    /// `u32`.
    U32,
    /// `u64`.
    U64,
    /// `u128`.
    U128,
    /// `f32`.
    F32,
    /// `f64`.
    F64,
    /// UTF-8 text: `String`, `&str`, `Cow<str>`.
    String,
    /// A byte array of fixed length: `[u8; N]`.
    FixedBytes(usize),
    /// A calendar date without time zone.
    Date,
    /// A date and time without time zone (written as UTC).
    DateTime,
    /// An instant in time with a time zone, such as `chrono::DateTime<Utc>`.
    Timestamp,
    /// A UUID.
    Uuid,
    /// An IPv4 or IPv6 address (`IpAddr`).
    IpAddr,
    /// An IPv4 address.
    Ipv4,
    /// An IPv6 address.
    Ipv6,
    /// An arbitrary-precision decimal number.
    Decimal,
    /// A JSON document.
    Json,
    /// A Rust enum with `#[derive(BatchEnum)]`: its variants' labels and values.
    Enum(&'static [EnumVariant]),
    /// `Option<T>`: a nullable value.
    Nullable(&'static ValueKind),
    /// `Vec<T>`, `&[T]`: a one-dimensional array.
    Array(&'static ValueKind),
    /// `HashMap<K, V>`, `BTreeMap<K, V>`.
    Map(&'static ValueKind, &'static ValueKind),
    /// A type no other kind describes, such as a user's domain type or a 256-bit
    /// integer: the sinks ask its [`Encode::accepts`](crate::Encode::accepts) which
    /// columns take it, and it has no default column type (declare one).
    Other,
}

impl ValueKind {
    /// Whether the value may be NULL (an `Option<T>`).
    #[must_use]
    pub const fn is_nullable(&self) -> bool {
        matches!(self, ValueKind::Nullable(_))
    }

    /// The kind without its outer `Nullable`.
    #[must_use]
    pub const fn non_null(&self) -> &ValueKind {
        match self {
            ValueKind::Nullable(inner) => inner,
            other => other,
        }
    }
}

/// One variant of a Rust enum that is stored as an enum column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnumVariant {
    /// The label written to the database (after renaming).
    pub label: &'static str,
    /// The numeric value (`Enum8`/`Enum16` in ClickHouse).
    pub value: i16,
}

impl EnumVariant {
    /// The labels of `variants` that a server enum lacks (`has` says which it has), each
    /// in single quotes for messages: what the backends' enum rules report.
    ///
    /// ```
    /// use batch_core::EnumVariant;
    /// let v = [EnumVariant { label: "a", value: 1 }, EnumVariant { label: "b", value: 2 }];
    /// assert_eq!(EnumVariant::missing(&v, |l| l == "a"), ["'b'"]);
    /// ```
    #[must_use]
    pub fn missing(variants: &[EnumVariant], has: impl Fn(&str) -> bool) -> Vec<String> {
        variants
            .iter()
            .filter(|v| !has(v.label))
            .map(|v| format!("'{}'", v.label))
            .collect()
    }
}

/// A Rust type that can be a field of a `#[derive(BatchRow)]` struct.
///
/// batchrow implements it for the supported types; the derive reads [`ColumnValue::KIND`]
/// for every field, so an unsupported field type is a compile error at that field.
///
/// Implement it for a type of your own (a newtype, a domain type) together with the
/// backends' `Encode<F>` (whose [`accepts`](crate::Encode::accepts) says which columns
/// take it): [`KIND`](ColumnValue::KIND) is the kind it is stored as, or
/// [`ValueKind::Other`].
///
/// # Examples
///
/// ```
/// use batch_core::{ColumnValue, ValueKind};
/// assert_eq!(<Option<u64> as ColumnValue>::KIND, ValueKind::Nullable(&ValueKind::U64));
/// assert_eq!(<Vec<String> as ColumnValue>::KIND, ValueKind::Array(&ValueKind::String));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a supported batchrow column type",
    label = "unsupported field type",
    note = "supported: integers, f32/f64, bool, String/&str/Cow<str>, Vec<u8>/&[u8]/[u8; N], Option<T>, Vec<T>/&[T], HashMap/BTreeMap, IpAddr/Ipv4Addr/Ipv6Addr, enums with #[derive(BatchEnum)], and chrono, time, uuid, rust_decimal and serde_json types behind their features",
    note = "to skip this field, add `#[batch(skip)]`"
)]
pub trait ColumnValue {
    /// The shape of this type's values.
    const KIND: ValueKind;
}

macro_rules! kinds {
    ($($ty:ty => $kind:expr),* $(,)?) => {
        $(impl ColumnValue for $ty { const KIND: ValueKind = $kind; })*
    };
}

kinds! {
    bool => ValueKind::Bool,
    i8 => ValueKind::I8,
    i16 => ValueKind::I16,
    i32 => ValueKind::I32,
    i64 => ValueKind::I64,
    i128 => ValueKind::I128,
    u8 => ValueKind::U8,
    u16 => ValueKind::U16,
    u32 => ValueKind::U32,
    u64 => ValueKind::U64,
    u128 => ValueKind::U128,
    f32 => ValueKind::F32,
    f64 => ValueKind::F64,
    String => ValueKind::String,
    str => ValueKind::String,
    IpAddr => ValueKind::IpAddr,
    Ipv4Addr => ValueKind::Ipv4,
    Ipv6Addr => ValueKind::Ipv6,
}

impl ColumnValue for Cow<'_, str> {
    const KIND: ValueKind = ValueKind::String;
}

impl<const N: usize> ColumnValue for [u8; N] {
    const KIND: ValueKind = ValueKind::FixedBytes(N);
}

impl<T: ColumnValue + ?Sized> ColumnValue for &T {
    const KIND: ValueKind = T::KIND;
}

impl<T: ColumnValue + ?Sized> ColumnValue for Box<T> {
    const KIND: ValueKind = T::KIND;
}

impl<T: ColumnValue> ColumnValue for Option<T> {
    const KIND: ValueKind = ValueKind::Nullable(&T::KIND);
}

impl<T: ColumnValue> ColumnValue for Vec<T> {
    const KIND: ValueKind = ValueKind::Array(&T::KIND);
}

impl<T: ColumnValue> ColumnValue for [T] {
    const KIND: ValueKind = ValueKind::Array(&T::KIND);
}

impl<K: ColumnValue, V: ColumnValue, S> ColumnValue for HashMap<K, V, S> {
    const KIND: ValueKind = ValueKind::Map(&K::KIND, &V::KIND);
}

impl<K: ColumnValue, V: ColumnValue> ColumnValue for BTreeMap<K, V> {
    const KIND: ValueKind = ValueKind::Map(&K::KIND, &V::KIND);
}

#[cfg(feature = "chrono")]
kinds! {
    chrono::NaiveDate => ValueKind::Date,
    chrono::NaiveDateTime => ValueKind::DateTime,
    chrono::DateTime<chrono::Utc> => ValueKind::Timestamp,
}

#[cfg(feature = "time")]
kinds! {
    time::Date => ValueKind::Date,
    time::PrimitiveDateTime => ValueKind::DateTime,
    time::OffsetDateTime => ValueKind::Timestamp,
}

#[cfg(feature = "uuid")]
kinds! { uuid::Uuid => ValueKind::Uuid }

#[cfg(feature = "rust_decimal")]
kinds! { rust_decimal::Decimal => ValueKind::Decimal }

#[cfg(feature = "serde_json")]
kinds! { serde_json::Value => ValueKind::Json }
