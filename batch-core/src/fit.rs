//! The compile-time check of `#[batch(type = "...")]` against the field's Rust type.
//!
//! The derive parses the declared type string and names one of the markers in [`decl`]
//! (wrappers such as `Nullable(..)` and `LowCardinality(..)` are looked through). It then
//! requires `FieldType: Fits<Marker>`, so a declared type that does not fit the field,
//! such as `type = "DateTime64(3)"` on a `String`, is a compile error at the attribute.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub mod decl {
    //! Marker types for the families of declared column types.
    //!
    //! Which Rust field types fit each family (`T` also fits through `&T`, `Box<T>` and
    //! `Option<T>`):
    //!
    //! | family | declared as | Rust types |
    //! |---|---|---|
    //! | `I8`..`I128`, `U8`..`U128` | `Int32`, `UInt64`, `integer`, `bigint`, … | the integer of the same width and sign |
    //! | `F32`, `F64` | `Float32`, `real`, `double precision`, … | `f32`, `f64` |
    //! | `Bool` | `Bool`, `boolean` | `bool` |
    //! | `Str` | `String`, `text`, `varchar(n)`, `LowCardinality(String)`, … | `String`, `&str`, `Cow<str>`, `Vec<u8>`, `&[u8]`, `[u8; N]`, enums with `#[derive(BatchEnum)]` |
    //! | `FixedString<N>` | `FixedString(N)` | `[u8; N]`, `String`, `&str`, `Cow<str>` |
    //! | `Bytes` | `bytea` | `Vec<u8>`, `&[u8]`, `[u8; N]` |
    //! | `Date` | `Date`, `Date32`, `date` | `chrono::NaiveDate`, `time::Date` |
    //! | `DateTime` | `DateTime`, `DateTime64(p)`, `timestamp`, `timestamptz` | `chrono::NaiveDateTime`, `chrono::DateTime<Utc>`, `time::PrimitiveDateTime`, `time::OffsetDateTime` |
    //! | `Uuid` | `UUID`, `uuid` | `uuid::Uuid` |
    //! | `Ipv4`, `Ipv6`, `Inet` | `IPv4`, `IPv6`, `inet` | `Ipv4Addr`, `Ipv6Addr`; `inet` also `IpAddr` |
    //! | `Decimal` | `Decimal(P, S)`, `numeric(p, s)` | `rust_decimal::Decimal` |
    //! | `Json` | `JSON`, `json`, `jsonb` | `serde_json::Value`, `String`, `&str`, `Cow<str>` |
    //! | `Enum` | `Enum8(..)`, `Enum16(..)` | enums with `#[derive(BatchEnum)]`, `String`, `&str`, `Cow<str>` |
    //! | `Array<D>` | `Array(T)`, `T[]` | `Vec<T>`, `&[T]` where `T` fits `D` |
    //! | `Map<K, V>` | `Map(K, V)` | `HashMap`, `BTreeMap` whose keys and values fit |

    macro_rules! markers {
        ($($(#[$m:meta])* $name:ident),* $(,)?) => {
            $($(#[$m])* #[derive(Debug)] pub struct $name;)*
        };
    }
    markers! {
        /// `Int8`, `smallint` is [`I16`]…
        I8,
        /// `Int16`, `int2`, `smallint`.
        I16,
        /// `Int32`, `int4`, `integer`.
        I32,
        /// `Int64`, `int8`, `bigint`.
        I64,
        /// `Int128`.
        I128,
        /// `UInt8`.
        U8,
        /// `UInt16`.
        U16,
        /// `UInt32`.
        U32,
        /// `UInt64`.
        U64,
        /// `UInt128`.
        U128,
        /// `Float32`, `float4`, `real`.
        F32,
        /// `Float64`, `float8`, `double precision`.
        F64,
        /// `Bool`, `boolean`.
        Bool,
        /// `String`, `text`, `varchar(n)`, `char(n)`, `citext`, `name`.
        Str,
        /// `bytea`.
        Bytes,
        /// `Date`, `Date32`, `date`.
        Date,
        /// `DateTime`, `DateTime64(p)`, `timestamp`, `timestamptz`.
        DateTime,
        /// `UUID`, `uuid`.
        Uuid,
        /// `IPv4`.
        Ipv4,
        /// `IPv6`.
        Ipv6,
        /// `inet`.
        Inet,
        /// `Decimal(P, S)`, `numeric(p, s)`.
        Decimal,
        /// `JSON`, `json`, `jsonb`.
        Json,
        /// `Enum8(..)`, `Enum16(..)`.
        Enum,
    }

    /// `FixedString(N)`.
    #[derive(Debug)]
    pub struct FixedString<const N: usize>;
    /// `Array(T)`, `T[]`.
    #[derive(Debug)]
    pub struct Array<T>(core::marker::PhantomData<T>);
    /// `Map(K, V)`.
    #[derive(Debug)]
    pub struct Map<K, V>(core::marker::PhantomData<(K, V)>);
}

/// `Self` can be written to a column declared with the type family `D`.
///
/// Implemented by batchrow; the derive uses it to check `#[batch(type = "...")]`.
#[diagnostic::on_unimplemented(
    message = "the field type `{Self}` does not fit the declared column type `{D}`",
    label = "a `{Self}` field cannot be declared `{D}`",
    note = "change the field to a Rust type that fits `{D}` (the docs of `batchrow::decl` list them), or change `#[batch(type = \"...\")]` to a column type that `{Self}` fits"
)]
pub trait Fits<D> {}

/// Checks at compile time that `T` fits the declared type family `D`.
pub const fn assert_fits<T: Fits<D> + ?Sized, D>() {}

macro_rules! fits {
    ($($d:ident: $($ty:ty),+;)*) => {
        $($(impl Fits<decl::$d> for $ty {})+)*
    };
}

fits! {
    I8: i8;
    I16: i16;
    I32: i32;
    I64: i64;
    I128: i128;
    U8: u8;
    U16: u16;
    U32: u32;
    U64: u64;
    U128: u128;
    F32: f32;
    F64: f64;
    Bool: bool;
    Str: String, str, Cow<'_, str>, Vec<u8>, [u8];
    Bytes: Vec<u8>, [u8];
    Inet: IpAddr, Ipv4Addr, Ipv6Addr;
    Ipv4: Ipv4Addr;
    Ipv6: Ipv6Addr;
    Json: String, str, Cow<'_, str>;
    Enum: String, str, Cow<'_, str>;
}

impl<const N: usize> Fits<decl::FixedString<N>> for [u8; N] {}
impl<const N: usize> Fits<decl::FixedString<N>> for String {}
impl<const N: usize> Fits<decl::FixedString<N>> for str {}
impl<const N: usize> Fits<decl::FixedString<N>> for Cow<'_, str> {}
impl<const N: usize> Fits<decl::Bytes> for [u8; N] {}
impl<const N: usize> Fits<decl::Str> for [u8; N] {}

impl<D, T: Fits<D> + ?Sized> Fits<D> for &T {}
impl<D, T: Fits<D> + ?Sized> Fits<D> for Box<T> {}
impl<D, T: Fits<D>> Fits<D> for Option<T> {}
impl<D, T: Fits<D>> Fits<decl::Array<D>> for Vec<T> {}
impl<D, T: Fits<D>> Fits<decl::Array<D>> for [T] {}
impl<DK, DV, K: Fits<DK>, V: Fits<DV>, S> Fits<decl::Map<DK, DV>> for HashMap<K, V, S> {}
impl<DK, DV, K: Fits<DK>, V: Fits<DV>> Fits<decl::Map<DK, DV>> for BTreeMap<K, V> {}

#[cfg(feature = "chrono")]
fits! {
    Date: chrono::NaiveDate;
    DateTime: chrono::NaiveDateTime, chrono::DateTime<chrono::Utc>;
}

#[cfg(feature = "time")]
fits! {
    Date: time::Date;
    DateTime: time::PrimitiveDateTime, time::OffsetDateTime;
}

#[cfg(feature = "uuid")]
fits! { Uuid: uuid::Uuid; }

#[cfg(feature = "rust_decimal")]
fits! { Decimal: rust_decimal::Decimal; }

#[cfg(feature = "serde_json")]
fits! { Json: serde_json::Value; Str: serde_json::Value; }
