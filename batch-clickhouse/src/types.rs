//! ClickHouse column types: the type tree and a parser for the type strings the server
//! prints in `system.columns` (and that users write in `#[batch(type = "...")]`).
//!
//! ```
//! use batch_clickhouse::ChType;
//!
//! let ty: ChType = "LowCardinality(Nullable(String))".parse()?;
//! assert_eq!(ty, ChType::LowCardinality(Box::new(ChType::Nullable(Box::new(ChType::String)))));
//! assert_eq!(ty.to_string(), "LowCardinality(Nullable(String))");
//! # Ok::<(), batch_clickhouse::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// A ClickHouse column type.
///
/// Parse one with [`str::parse`] (see [`ChType::parse`]). Types batchrow cannot write
/// still parse: `Tuple(..)` into [`ChType::Tuple`], and anything it does not know (such
/// as `AggregateFunction(..)`) into [`ChType::Other`], so that a table with such columns
/// can be checked and the columns reported by name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChType {
    /// `Bool` (one byte, 0 or 1).
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
    /// `Decimal(P, S)`, also written `Decimal32(S)` (P = 9), `Decimal64(S)` (P = 18),
    /// `Decimal128(S)` (P = 38) and `Decimal256(S)` (P = 76).
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
    /// `JSON` or `Object('json')`, written as a JSON string.
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

/// The labels and values of an `Enum8` or `Enum16`, in the order the type lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumDef {
    variants: Vec<(String, i16)>,
    /// Indices into `variants`, sorted by label, for lookups by label.
    by_label: Vec<usize>,
}

impl EnumDef {
    /// An enum definition from `(label, value)` pairs.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidEnum`] when a label or a value appears twice.
    pub fn new(variants: Vec<(String, i16)>) -> Result<Self, Error> {
        let mut by_label: Vec<usize> = (0..variants.len()).collect();
        by_label.sort_by(|&a, &b| variants[a].0.cmp(&variants[b].0));
        for w in by_label.windows(2) {
            if variants[w[0]].0 == variants[w[1]].0 {
                return Err(Error::InvalidEnum(format!(
                    "the label '{}' appears twice",
                    variants[w[0]].0
                )));
            }
        }
        let mut values: Vec<i16> = variants.iter().map(|v| v.1).collect();
        values.sort_unstable();
        if let Some(w) = values.windows(2).find(|w| w[0] == w[1]) {
            return Err(Error::InvalidEnum(format!(
                "the value {} appears twice",
                w[0]
            )));
        }
        Ok(EnumDef { variants, by_label })
    }

    /// The `(label, value)` pairs, in the order the type lists them.
    #[must_use]
    pub fn variants(&self) -> &[(String, i16)] {
        &self.variants
    }

    /// The value of `label`, if the enum has it.
    #[must_use]
    pub fn value_of(&self, label: &str) -> Option<i16> {
        self.by_label
            .binary_search_by(|&i| self.variants[i].0.as_str().cmp(label))
            .ok()
            .map(|i| self.variants[self.by_label[i]].1)
    }
}

impl ChType {
    /// Parses a ClickHouse type string, such as `Array(Nullable(String))`,
    /// `DateTime64(3, 'Europe/Berlin')`, `Decimal(18, 4)` or `Enum8('a' = 1, 'b' = 2)`.
    ///
    /// # Errors
    ///
    /// [`Error::TypeParse`] when the string is not a well-formed type.
    pub fn parse(input: &str) -> Result<ChType, Error> {
        let mut p = Parser { input, pos: 0 };
        let ty = p.ty()?;
        p.skip_ws();
        if p.pos != input.len() {
            return Err(p.error("unexpected text after the type"));
        }
        Ok(ty)
    }

    /// The type without any `LowCardinality(..)` wrapper: both encode the same.
    #[must_use]
    pub fn without_low_cardinality(&self) -> &ChType {
        let mut t = self;
        while let ChType::LowCardinality(inner) = t {
            t = inner;
        }
        t
    }

    /// Whether the column accepts NULL (`Nullable(T)`, possibly inside `LowCardinality`).
    #[must_use]
    pub fn is_nullable(&self) -> bool {
        matches!(self.without_low_cardinality(), ChType::Nullable(_))
    }

    /// Whether batchrow can write this type (and every type inside it).
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

impl FromStr for ChType {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ChType::parse(s)
    }
}

/// A recursive-descent parser over one type string.
struct Parser<'a> {
    input: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, reason: &'static str) -> Error {
        Error::TypeParse {
            input: self.input.to_owned(),
            position: self.pos,
            reason,
        }
    }

    fn rest(&self) -> &str {
        &self.input[self.pos..]
    }

    fn skip_ws(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.rest().starts_with(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char, reason: &'static str) -> Result<(), Error> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.error(reason))
        }
    }

    fn peek_is(&mut self, c: char) -> bool {
        self.skip_ws();
        self.rest().starts_with(c)
    }

    fn ident(&mut self) -> Result<&str, Error> {
        self.skip_ws();
        let rest = self.rest();
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if len == 0 || rest.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(self.error("expected a type name"));
        }
        let start = self.pos;
        self.pos += len;
        Ok(&self.input[start..self.pos])
    }

    fn number(&mut self) -> Result<i64, Error> {
        self.skip_ws();
        let rest = self.rest();
        let neg = rest.starts_with('-');
        let digits = &rest[usize::from(neg)..];
        let len = digits
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(digits.len());
        if len == 0 {
            return Err(self.error("expected a number"));
        }
        let text = &rest[..usize::from(neg) + len];
        let n = text
            .parse::<i64>()
            .map_err(|_| self.error("number out of range"))?;
        self.pos += text.len();
        Ok(n)
    }

    fn small<T: TryFrom<i64>>(&mut self, reason: &'static str) -> Result<T, Error> {
        let start = self.pos;
        let n = self.number()?;
        T::try_from(n).map_err(|_| {
            self.pos = start;
            self.error(reason)
        })
    }

    /// A single-quoted string literal with backslash escapes (`\'`, `\\`, `\n`, ...),
    /// also accepting SQL's doubled quote (`''`).
    fn string(&mut self) -> Result<String, Error> {
        self.skip_ws();
        if !self.rest().starts_with('\'') {
            return Err(self.error("expected a quoted string"));
        }
        self.pos += 1;
        let mut out = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\'' => {
                    if self.rest()[i + 1..].starts_with('\'') {
                        chars.next();
                        out.push('\'');
                        continue;
                    }
                    self.pos += i + 1;
                    return Ok(out);
                }
                '\\' => {
                    let Some((_, e)) = chars.next() else { break };
                    out.push(match e {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        '0' => '\0',
                        'b' => '\u{8}',
                        'f' => '\u{c}',
                        other => other,
                    });
                }
                c => out.push(c),
            }
        }
        self.pos = self.input.len();
        Err(self.error("unterminated string"))
    }

    fn one_arg(&mut self) -> Result<Box<ChType>, Error> {
        self.expect('(', "expected `(`")?;
        let t = self.ty()?;
        self.expect(')', "expected `)`")?;
        Ok(Box::new(t))
    }

    fn ty(&mut self) -> Result<ChType, Error> {
        let start = {
            self.skip_ws();
            self.pos
        };
        let name = self.ident()?.to_owned();
        let name = name.as_str();
        let simple = match name {
            "Bool" | "Boolean" => Some(ChType::Bool),
            "Int8" => Some(ChType::Int8),
            "Int16" => Some(ChType::Int16),
            "Int32" => Some(ChType::Int32),
            "Int64" => Some(ChType::Int64),
            "Int128" => Some(ChType::Int128),
            "Int256" => Some(ChType::Int256),
            "UInt8" => Some(ChType::UInt8),
            "UInt16" => Some(ChType::UInt16),
            "UInt32" => Some(ChType::UInt32),
            "UInt64" => Some(ChType::UInt64),
            "UInt128" => Some(ChType::UInt128),
            "UInt256" => Some(ChType::UInt256),
            "Float32" => Some(ChType::Float32),
            "Float64" => Some(ChType::Float64),
            "String" => Some(ChType::String),
            "Date" => Some(ChType::Date),
            "Date32" => Some(ChType::Date32),
            "UUID" => Some(ChType::Uuid),
            "IPv4" => Some(ChType::Ipv4),
            "IPv6" => Some(ChType::Ipv6),
            "Nothing" => Some(ChType::Nothing),
            _ => None,
        };
        if let Some(t) = simple {
            return Ok(t);
        }
        match name {
            "Nullable" => Ok(ChType::Nullable(self.one_arg()?)),
            "LowCardinality" => Ok(ChType::LowCardinality(self.one_arg()?)),
            "Array" => Ok(ChType::Array(self.one_arg()?)),
            "Map" => {
                self.expect('(', "expected `(`")?;
                let k = self.ty()?;
                self.expect(',', "expected `,` between the key and value types")?;
                let v = self.ty()?;
                self.expect(')', "expected `)`")?;
                Ok(ChType::Map(Box::new(k), Box::new(v)))
            }
            "FixedString" => {
                self.expect('(', "expected `(`")?;
                let n: usize = self.small("FixedString needs a length from 1")?;
                if n == 0 {
                    return Err(self.error("FixedString needs a length from 1"));
                }
                self.expect(')', "expected `)`")?;
                Ok(ChType::FixedString(n))
            }
            "DateTime" => {
                if !self.eat('(') {
                    return Ok(ChType::DateTime(None));
                }
                let tz = self.string()?;
                self.expect(')', "expected `)`")?;
                Ok(ChType::DateTime(Some(tz)))
            }
            "DateTime64" => {
                self.expect('(', "expected `(`")?;
                let p: u8 = self.small("the precision of DateTime64 is 0 to 9")?;
                if p > 9 {
                    return Err(self.error("the precision of DateTime64 is 0 to 9"));
                }
                let tz = if self.eat(',') {
                    Some(self.string()?)
                } else {
                    None
                };
                self.expect(')', "expected `)`")?;
                Ok(ChType::DateTime64(p, tz))
            }
            "Decimal" => {
                self.expect('(', "expected `(`")?;
                let precision: u8 = self.small("the precision of Decimal is 1 to 76")?;
                let scale: u8 = if self.eat(',') {
                    self.small("the scale of Decimal is 0 to its precision")?
                } else {
                    0
                };
                self.expect(')', "expected `)`")?;
                self.decimal(precision, scale)
            }
            "Decimal32" | "Decimal64" | "Decimal128" | "Decimal256" => {
                let precision = match name {
                    "Decimal32" => 9,
                    "Decimal64" => 18,
                    "Decimal128" => 38,
                    _ => 76,
                };
                self.expect('(', "expected `(` and a scale")?;
                let scale: u8 = self.small("the scale of Decimal is 0 to its precision")?;
                self.expect(')', "expected `)`")?;
                self.decimal(precision, scale)
            }
            "Enum8" | "Enum16" => self.enum_def(name == "Enum8"),
            "JSON" => {
                // `JSON` may carry hints, such as `JSON(max_dynamic_paths = 8)`.
                if self.peek_is('(') {
                    self.skip_balanced()?;
                }
                Ok(ChType::Json)
            }
            "Object" => {
                self.expect('(', "expected `(`")?;
                let kind = self.string()?;
                self.expect(')', "expected `)`")?;
                if kind.eq_ignore_ascii_case("json") {
                    Ok(ChType::Json)
                } else {
                    Ok(ChType::Other(self.input[start..self.pos].to_owned()))
                }
            }
            "Tuple" => {
                self.expect('(', "expected `(`")?;
                let mut items = Vec::new();
                loop {
                    items.push(self.tuple_item()?);
                    if !self.eat(',') {
                        break;
                    }
                }
                self.expect(')', "expected `)`")?;
                Ok(ChType::Tuple(items))
            }
            _ => {
                if self.peek_is('(') {
                    self.skip_balanced()?;
                }
                Ok(ChType::Other(self.input[start..self.pos].trim().to_owned()))
            }
        }
    }

    fn decimal(&self, precision: u8, scale: u8) -> Result<ChType, Error> {
        if !(1..=76).contains(&precision) {
            return Err(self.error("the precision of Decimal is 1 to 76"));
        }
        if scale > precision {
            return Err(self.error("the scale of Decimal is 0 to its precision"));
        }
        Ok(ChType::Decimal { precision, scale })
    }

    /// A tuple element: a type, or a name followed by a type.
    fn tuple_item(&mut self) -> Result<ChType, Error> {
        let save = self.pos;
        self.ident()?;
        self.skip_ws();
        let named = self
            .rest()
            .starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
        if named {
            return self.ty();
        }
        self.pos = save;
        self.ty()
    }

    fn enum_def(&mut self, eight: bool) -> Result<ChType, Error> {
        self.expect('(', "expected `(`")?;
        let mut variants = Vec::new();
        let mut next: i64 = 1;
        loop {
            let label = self.string()?;
            let value = if self.eat('=') { self.number()? } else { next };
            let (lo, hi) = if eight {
                (i64::from(i8::MIN), i64::from(i8::MAX))
            } else {
                (i64::from(i16::MIN), i64::from(i16::MAX))
            };
            let value = i16::try_from(value)
                .ok()
                .filter(|v| (lo..=hi).contains(&i64::from(*v)))
                .ok_or_else(|| self.error("enum value out of range"))?;
            next = i64::from(value) + 1;
            variants.push((label, value));
            if !self.eat(',') {
                break;
            }
        }
        self.expect(')', "expected `)`")?;
        let def = EnumDef::new(variants)?;
        Ok(if eight {
            ChType::Enum8(def)
        } else {
            ChType::Enum16(def)
        })
    }

    /// Skips a parenthesized argument list, minding quoted strings.
    fn skip_balanced(&mut self) -> Result<(), Error> {
        self.expect('(', "expected `(`")?;
        let mut depth = 1usize;
        while depth > 0 {
            self.skip_ws();
            let Some(c) = self.rest().chars().next() else {
                return Err(self.error("unbalanced parentheses"));
            };
            match c {
                '\'' => {
                    self.string()?;
                    continue;
                }
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            self.pos += c.len_utf8();
        }
        Ok(())
    }
}

/// Writes `s` as a single-quoted ClickHouse string literal.
pub(crate) fn write_quoted(f: &mut impl fmt::Write, s: &str) -> fmt::Result {
    f.write_char('\'')?;
    for c in s.chars() {
        match c {
            '\'' => f.write_str("\\'")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            '\r' => f.write_str("\\r")?,
            '\0' => f.write_str("\\0")?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('\'')
}

impl fmt::Display for ChType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            ChType::Bool => "Bool",
            ChType::Int8 => "Int8",
            ChType::Int16 => "Int16",
            ChType::Int32 => "Int32",
            ChType::Int64 => "Int64",
            ChType::Int128 => "Int128",
            ChType::Int256 => "Int256",
            ChType::UInt8 => "UInt8",
            ChType::UInt16 => "UInt16",
            ChType::UInt32 => "UInt32",
            ChType::UInt64 => "UInt64",
            ChType::UInt128 => "UInt128",
            ChType::UInt256 => "UInt256",
            ChType::Float32 => "Float32",
            ChType::Float64 => "Float64",
            ChType::String => "String",
            ChType::Date => "Date",
            ChType::Date32 => "Date32",
            ChType::Uuid => "UUID",
            ChType::Ipv4 => "IPv4",
            ChType::Ipv6 => "IPv6",
            ChType::Json => "JSON",
            ChType::Nothing => "Nothing",
            ChType::FixedString(n) => return write!(f, "FixedString({n})"),
            ChType::DateTime(None) => "DateTime",
            ChType::DateTime(Some(tz)) => {
                f.write_str("DateTime(")?;
                write_quoted(f, tz)?;
                return f.write_str(")");
            }
            ChType::DateTime64(p, tz) => {
                write!(f, "DateTime64({p}")?;
                if let Some(tz) = tz {
                    f.write_str(", ")?;
                    write_quoted(f, tz)?;
                }
                return f.write_str(")");
            }
            ChType::Decimal { precision, scale } => {
                return write!(f, "Decimal({precision}, {scale})")
            }
            ChType::Enum8(def) | ChType::Enum16(def) => {
                f.write_str(if matches!(self, ChType::Enum8(_)) {
                    "Enum8("
                } else {
                    "Enum16("
                })?;
                for (i, (label, value)) in def.variants.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write_quoted(f, label)?;
                    write!(f, " = {value}")?;
                }
                return f.write_str(")");
            }
            ChType::Nullable(t) => return write!(f, "Nullable({t})"),
            ChType::LowCardinality(t) => return write!(f, "LowCardinality({t})"),
            ChType::Array(t) => return write!(f, "Array({t})"),
            ChType::Map(k, v) => return write!(f, "Map({k}, {v})"),
            ChType::Tuple(items) => {
                f.write_str("Tuple(")?;
                for (i, t) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                return f.write_str(")");
            }
            ChType::Other(s) => s,
        };
        f.write_str(name)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn p(s: &str) -> ChType {
        ChType::parse(s).unwrap()
    }

    fn b(t: ChType) -> Box<ChType> {
        Box::new(t)
    }

    #[test]
    fn parses_nested_wrappers() {
        assert_eq!(
            p("Array(Nullable(String))"),
            ChType::Array(b(ChType::Nullable(b(ChType::String))))
        );
        assert_eq!(
            p("LowCardinality(Nullable(String))"),
            ChType::LowCardinality(b(ChType::Nullable(b(ChType::String))))
        );
        assert_eq!(
            p(" Array( Array( UInt8 ) ) "),
            ChType::Array(b(ChType::Array(b(ChType::UInt8))))
        );
        assert_eq!(
            p("Map(String, UInt64)"),
            ChType::Map(b(ChType::String), b(ChType::UInt64))
        );
        assert_eq!(
            p("Map(LowCardinality(String), Array(Nullable(Int32)))").to_string(),
            "Map(LowCardinality(String), Array(Nullable(Int32)))"
        );
    }

    #[test]
    fn parses_dates_and_zones() {
        assert_eq!(p("DateTime"), ChType::DateTime(None));
        assert_eq!(p("DateTime('UTC')"), ChType::DateTime(Some("UTC".into())));
        assert_eq!(
            p("DateTime64(3, 'Europe/Berlin')"),
            ChType::DateTime64(3, Some("Europe/Berlin".into()))
        );
        assert_eq!(p("DateTime64(9)"), ChType::DateTime64(9, None));
        assert_eq!(p("Date32"), ChType::Date32);
        assert!(ChType::parse("DateTime64(10)").is_err());
        assert_eq!(
            p("DateTime64(6, 'UTC')").to_string(),
            "DateTime64(6, 'UTC')"
        );
    }

    #[test]
    fn parses_decimals() {
        let d = |precision, scale| ChType::Decimal { precision, scale };
        assert_eq!(p("Decimal(18, 4)"), d(18, 4));
        assert_eq!(p("Decimal(9,2)"), d(9, 2));
        assert_eq!(p("Decimal(10)"), d(10, 0));
        assert_eq!(p("Decimal32(3)"), d(9, 3));
        assert_eq!(p("Decimal64(4)"), d(18, 4));
        assert_eq!(p("Decimal128(10)"), d(38, 10));
        assert_eq!(p("Decimal256(20)"), d(76, 20));
        assert!(ChType::parse("Decimal(5, 6)").is_err());
        assert!(ChType::parse("Decimal(77, 1)").is_err());
        assert!(ChType::parse("Decimal(0, 0)").is_err());
    }

    #[test]
    fn parses_enums_with_escapes() {
        let t = p(r"Enum8('a' = 1, 'b\'c' = -2, 'd\\e' = 127)");
        let ChType::Enum8(def) = &t else {
            panic!("not an Enum8: {t:?}")
        };
        assert_eq!(
            def.variants(),
            &[
                ("a".to_owned(), 1),
                ("b'c".to_owned(), -2),
                ("d\\e".to_owned(), 127)
            ]
        );
        assert_eq!(def.value_of("b'c"), Some(-2));
        assert_eq!(def.value_of("zz"), None);
        assert_eq!(t.to_string(), r"Enum8('a' = 1, 'b\'c' = -2, 'd\\e' = 127)");
        assert_eq!(p(&t.to_string()), t);
        assert!(ChType::parse("Enum8('a' = 128)").is_err());
        assert!(ChType::parse("Enum8('a' = 1, 'a' = 2)").is_err());
        assert!(ChType::parse("Enum8('a' = 1, 'b' = 1)").is_err());
        let t16 = p("Enum16('x' = -1000, 'y' = 30000)");
        assert!(matches!(&t16, ChType::Enum16(d) if d.value_of("y") == Some(30000)));
        // Implicit values count from 1.
        assert_eq!(p("Enum8('a', 'b')"), p("Enum8('a' = 1, 'b' = 2)"));
    }

    #[test]
    fn parses_the_rest() {
        assert_eq!(p("FixedString(16)"), ChType::FixedString(16));
        assert!(ChType::parse("FixedString(0)").is_err());
        assert_eq!(p("UUID"), ChType::Uuid);
        assert_eq!(p("IPv4"), ChType::Ipv4);
        assert_eq!(p("Bool"), ChType::Bool);
        assert_eq!(p("JSON"), ChType::Json);
        assert_eq!(p("Object('json')"), ChType::Json);
        assert_eq!(
            p("Tuple(a String, b Nullable(UInt8))"),
            ChType::Tuple(vec![ChType::String, ChType::Nullable(b(ChType::UInt8))])
        );
        assert_eq!(
            p("Tuple(String, UInt8)"),
            ChType::Tuple(vec![ChType::String, ChType::UInt8])
        );
        assert!(!p("Tuple(String, UInt8)").is_supported());
        let agg = p("AggregateFunction(uniq, String)");
        assert_eq!(agg, ChType::Other("AggregateFunction(uniq, String)".into()));
        assert!(!agg.is_supported());
        assert!(!p("Array(AggregateFunction(quantiles(0.5, 0.9), UInt64))").is_supported());
    }

    #[test]
    fn rejects_malformed_types() {
        for bad in [
            "",
            "Array(",
            "Array(String",
            "Nullable()",
            "Map(String)",
            "String)",
            "Enum8('a = 1)",
            "DateTime('UTC'",
            "123",
        ] {
            assert!(ChType::parse(bad).is_err(), "{bad:?} should not parse");
        }
        let e = ChType::parse("Array(String").unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot parse the ClickHouse type `Array(String` at byte 12: expected `)`"
        );
    }
}
