//! The type model: [`ChType`] and [`EnumDef`].

use crate::error::Error;

/// A ClickHouse column type.
///
/// Parse one with [`str::parse`] (see [`ChType::parse`]); [`Display`](std::fmt::Display)
/// prints it back as ClickHouse does. Types batchrow cannot write still parse:
/// `Tuple(..)` into [`ChType::Tuple`], and anything it does not know (such as
/// `AggregateFunction(..)`) into [`ChType::Other`], so that a table with such columns
/// can be checked and the columns reported by name.
///
/// ```
/// use batch_clickhouse_types::ChType;
///
/// let ty = ChType::parse("Map(String, Array(Nullable(Decimal(76, 20))))")?;
/// assert!(ty.is_supported());
/// assert_eq!(ty.to_string(), "Map(String, Array(Nullable(Decimal(76, 20))))");
/// # Ok::<(), batch_clickhouse_types::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChType {
    /// `Bool` (one byte, 0 or 1), also spelled `Boolean`.
    Bool,
    /// `Int8`.
    Int8,
    /// `Int16`.
    Int16,
    /// `Int32`.
    Int32,
    /// `Int64`.
    Int64,
    /// `Int128`.
    Int128,
    /// `Int256`.
    Int256,
    /// `UInt8`.
    UInt8,
    /// `UInt16`.
    UInt16,
    /// `UInt32`.
    UInt32,
    /// `UInt64`.
    UInt64,
    /// `UInt128`.
    UInt128,
    /// `UInt256`.
    UInt256,
    /// `Float32`.
    Float32,
    /// `Float64`.
    Float64,
    /// `String`.
    String,
    /// `FixedString(N)`: exactly `N` bytes.
    FixedString(usize),
    /// `Date`: days since 1970-01-01 as a `UInt16`.
    Date,
    /// `Date32`: days since 1970-01-01 as an `Int32`.
    Date32,
    /// `DateTime` or `DateTime('zone')`: seconds since the epoch as a `UInt32`.
    DateTime(Option<String>),
    /// `DateTime64(precision)` or `DateTime64(precision, 'zone')`: ticks of
    /// 10<sup>-precision</sup> seconds since the epoch as an `Int64`.
    DateTime64(u8, Option<String>),
    /// `Decimal(P, S)` (`Decimal(P)` is `Decimal(P, 0)`), also written `Decimal32(S)`
    /// (P = 9), `Decimal64(S)` (P = 18), `Decimal128(S)` (P = 38) and `Decimal256(S)`
    /// (P = 76).
    Decimal {
        /// Total number of digits, 1 to 76.
        precision: u8,
        /// Digits after the decimal point, 0 to `precision`.
        scale: u8,
    },
    /// `UUID`.
    Uuid,
    /// `IPv4`.
    Ipv4,
    /// `IPv6`.
    Ipv6,
    /// `Enum8('a' = 1, ...)`.
    Enum8(EnumDef),
    /// `Enum16('a' = 1, ...)`.
    Enum16(EnumDef),
    /// `JSON` (with or without hints such as `JSON(max_dynamic_paths = 8)`) or
    /// `Object('json')`, written as a JSON string.
    Json,
    /// `Nullable(T)`.
    Nullable(Box<ChType>),
    /// `LowCardinality(T)`: the same RowBinary encoding as `T`.
    LowCardinality(Box<ChType>),
    /// `Array(T)`.
    Array(Box<ChType>),
    /// `Map(K, V)`.
    Map(Box<ChType>, Box<ChType>),
    /// `Tuple(T1, T2, ...)`, element names dropped. Parsed, but batchrow does not write it.
    Tuple(Vec<ChType>),
    /// `Nothing`.
    Nothing,
    /// A type batchrow does not know, verbatim (for example `AggregateFunction(sum, UInt64)`).
    Other(String),
}

/// The types without arguments, by name: the parser reads them and the display writes
/// them from this one table (the first name of a type is the one displayed).
pub(crate) const SIMPLE: &[(&str, ChType)] = &[
    ("Bool", ChType::Bool),
    ("Boolean", ChType::Bool),
    ("Int8", ChType::Int8),
    ("Int16", ChType::Int16),
    ("Int32", ChType::Int32),
    ("Int64", ChType::Int64),
    ("Int128", ChType::Int128),
    ("Int256", ChType::Int256),
    ("UInt8", ChType::UInt8),
    ("UInt16", ChType::UInt16),
    ("UInt32", ChType::UInt32),
    ("UInt64", ChType::UInt64),
    ("UInt128", ChType::UInt128),
    ("UInt256", ChType::UInt256),
    ("Float32", ChType::Float32),
    ("Float64", ChType::Float64),
    ("String", ChType::String),
    ("Date", ChType::Date),
    ("Date32", ChType::Date32),
    ("UUID", ChType::Uuid),
    ("IPv4", ChType::Ipv4),
    ("IPv6", ChType::Ipv6),
    ("Nothing", ChType::Nothing),
];

/// The names of the types with arguments (or optional ones) that the parser knows.
pub(crate) const WITH_ARGUMENTS: &[&str] = &[
    "Nullable",
    "LowCardinality",
    "Array",
    "Map",
    "FixedString",
    "DateTime",
    "DateTime64",
    "Decimal",
    "Decimal32",
    "Decimal64",
    "Decimal128",
    "Decimal256",
    "Enum8",
    "Enum16",
    "JSON",
    "Object",
    "Tuple",
];

impl ChType {
    /// The type without any `LowCardinality(..)` wrapper: both encode the same.
    ///
    /// ```
    /// use batch_clickhouse_types::ChType;
    ///
    /// let ty = ChType::parse("LowCardinality(String)")?;
    /// assert_eq!(ty.without_low_cardinality(), &ChType::String);
    /// # Ok::<(), batch_clickhouse_types::Error>(())
    /// ```
    #[must_use]
    pub fn without_low_cardinality(&self) -> &ChType {
        let mut t = self;
        while let ChType::LowCardinality(inner) = t {
            t = inner;
        }
        t
    }

    /// Whether the column accepts NULL (`Nullable(T)`, possibly inside `LowCardinality`).
    ///
    /// ```
    /// use batch_clickhouse_types::ChType;
    ///
    /// assert!(ChType::parse("LowCardinality(Nullable(String))")?.is_nullable());
    /// assert!(!ChType::parse("Array(Nullable(String))")?.is_nullable());
    /// # Ok::<(), batch_clickhouse_types::Error>(())
    /// ```
    #[must_use]
    pub fn is_nullable(&self) -> bool {
        matches!(self.without_low_cardinality(), ChType::Nullable(_))
    }

    /// Whether batchrow can write this type (and every type inside it).
    ///
    /// ```
    /// use batch_clickhouse_types::ChType;
    ///
    /// assert!(ChType::parse("Array(Decimal256(10))")?.is_supported());
    /// assert!(!ChType::parse("Array(Tuple(String, UInt8))")?.is_supported());
    /// # Ok::<(), batch_clickhouse_types::Error>(())
    /// ```
    #[must_use]
    pub fn is_supported(&self) -> bool {
        match self {
            ChType::Tuple(_) | ChType::Nothing => false,
            ChType::Other(_) => false,
            ChType::Nullable(t) | ChType::LowCardinality(t) | ChType::Array(t) => t.is_supported(),
            ChType::Map(k, v) => k.is_supported() && v.is_supported(),
            _ => true,
        }
    }
}

/// The labels and values of an `Enum8` or `Enum16`, in the order the type lists them.
///
/// ```
/// use batch_clickhouse_types::EnumDef;
///
/// let def = EnumDef::new(vec![("low".into(), 1), ("high".into(), 2)])?;
/// assert_eq!(def.value_of("high"), Some(2));
/// # Ok::<(), batch_clickhouse_types::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumDef {
    variants: Vec<(String, i16)>,
    /// Indices into `variants`, sorted by label, for lookups by label.
    by_label: Vec<usize>,
}

impl EnumDef {
    /// An enum definition from `(label, value)` pairs.
    ///
    /// ```
    /// use batch_clickhouse_types::{ChType, EnumDef};
    ///
    /// let def = EnumDef::new(vec![("a".into(), 1), ("b".into(), -2)])?;
    /// assert_eq!(ChType::Enum8(def).to_string(), "Enum8('a' = 1, 'b' = -2)");
    /// assert!(EnumDef::new(vec![("a".into(), 1), ("b".into(), 1)]).is_err());
    /// # Ok::<(), batch_clickhouse_types::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidEnum`] when a label or a value appears twice.
    pub fn new(variants: Vec<(String, i16)>) -> Result<Self, Error> {
        let mut by_label: Vec<usize> = (0..variants.len()).collect();
        by_label.sort_by(|&a, &b| variants[a].0.cmp(&variants[b].0));
        if let Some(w) = by_label
            .windows(2)
            .find(|w| variants[w[0]].0 == variants[w[1]].0)
        {
            return Err(Error::InvalidEnum(format!(
                "duplicate label '{}'",
                variants[w[0]].0
            )));
        }
        let mut values: Vec<i16> = variants.iter().map(|v| v.1).collect();
        values.sort_unstable();
        if let Some(w) = values.windows(2).find(|w| w[0] == w[1]) {
            return Err(Error::InvalidEnum(format!("duplicate value {}", w[0])));
        }
        Ok(EnumDef { variants, by_label })
    }

    /// The `(label, value)` pairs, in the order the type lists them.
    ///
    /// ```
    /// use batch_clickhouse_types::ChType;
    ///
    /// let ChType::Enum16(def) = ChType::parse("Enum16('x' = 5, 'y')")? else { unreachable!() };
    /// assert_eq!(def.variants(), [("x".to_owned(), 5), ("y".to_owned(), 6)]);
    /// # Ok::<(), batch_clickhouse_types::Error>(())
    /// ```
    #[must_use]
    pub fn variants(&self) -> &[(String, i16)] {
        &self.variants
    }

    /// The value of `label`, if the enum has it.
    ///
    /// ```
    /// use batch_clickhouse_types::EnumDef;
    ///
    /// let def = EnumDef::new(vec![("low".into(), 1), ("high".into(), 2)])?;
    /// assert_eq!(def.value_of("low"), Some(1));
    /// assert_eq!(def.value_of("mid"), None);
    /// # Ok::<(), batch_clickhouse_types::Error>(())
    /// ```
    #[must_use]
    pub fn value_of(&self, label: &str) -> Option<i16> {
        self.by_label
            .binary_search_by(|&i| self.variants[i].0.as_str().cmp(label))
            .ok()
            .map(|i| self.variants[self.by_label[i]].1)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn b(t: ChType) -> Box<ChType> {
        Box::new(t)
    }

    #[test]
    fn names_are_unique_per_table() {
        let mut names: Vec<&str> = SIMPLE.iter().map(|(n, _)| *n).collect();
        names.extend(WITH_ARGUMENTS);
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
    }

    #[test]
    fn wrappers() {
        let lc = ChType::LowCardinality(b(ChType::Nullable(b(ChType::String))));
        assert!(lc.is_nullable());
        assert_eq!(
            lc.without_low_cardinality(),
            &ChType::Nullable(b(ChType::String))
        );
        assert!(!ChType::Array(b(ChType::Nullable(b(ChType::String)))).is_nullable());
    }

    #[test]
    fn supported() {
        assert!(ChType::Decimal {
            precision: 76,
            scale: 20
        }
        .is_supported());
        assert!(ChType::Map(b(ChType::String), b(ChType::Int256)).is_supported());
        assert!(!ChType::Map(b(ChType::String), b(ChType::Nothing)).is_supported());
        assert!(!ChType::Other("AggregateFunction(sum, UInt64)".into()).is_supported());
        assert!(!ChType::Nothing.is_supported());
    }

    #[test]
    fn enum_defs() {
        let def = EnumDef::new(vec![("b".into(), 2), ("a".into(), -1)]).unwrap();
        assert_eq!(def.value_of("a"), Some(-1));
        assert_eq!(def.value_of("b"), Some(2));
        assert_eq!(def.value_of("c"), None);
        assert_eq!(def.variants()[0], ("b".to_owned(), 2));
        assert_eq!(
            EnumDef::new(vec![("a".into(), 1), ("b".into(), 1)]).unwrap_err(),
            Error::InvalidEnum("duplicate value 1".into())
        );
    }
}
