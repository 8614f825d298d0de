//! Parsing of a declared column type, `#[batch(type = "...")]`, into one of the marker
//! types of `batch_core::decl`.
//!
//! Both ClickHouse spellings (`DateTime64(3)`, `LowCardinality(Nullable(String))`,
//! `Array(UInt8)`, case-sensitive as in ClickHouse) and PostgreSQL spellings
//! (`timestamptz`, `double precision`, `varchar(20)`, `int4[]`, case-insensitive) are
//! accepted. `Nullable(..)` and `LowCardinality(..)` are looked through: nullability
//! comes from the field's `Option`.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

/// The family of a declared column type: one marker of `batch_core::decl`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decl {
    I8,
    I16,
    I32,
    I64,
    I128,
    U8,
    U16,
    U32,
    U64,
    U128,
    F32,
    F64,
    Bool,
    Str,
    Bytes,
    Date,
    DateTime,
    Uuid,
    Ipv4,
    Ipv6,
    Inet,
    Decimal,
    Json,
    Enum,
    FixedString(usize),
    Array(Box<Decl>),
    Map(Box<Decl>, Box<Decl>),
}

impl Decl {
    /// The marker type, as a path under `#private::decl`.
    pub(crate) fn marker(&self, private: &TokenStream) -> TokenStream {
        let name = match self {
            Decl::I8 => "I8",
            Decl::I16 => "I16",
            Decl::I32 => "I32",
            Decl::I64 => "I64",
            Decl::I128 => "I128",
            Decl::U8 => "U8",
            Decl::U16 => "U16",
            Decl::U32 => "U32",
            Decl::U64 => "U64",
            Decl::U128 => "U128",
            Decl::F32 => "F32",
            Decl::F64 => "F64",
            Decl::Bool => "Bool",
            Decl::Str => "Str",
            Decl::Bytes => "Bytes",
            Decl::Date => "Date",
            Decl::DateTime => "DateTime",
            Decl::Uuid => "Uuid",
            Decl::Ipv4 => "Ipv4",
            Decl::Ipv6 => "Ipv6",
            Decl::Inet => "Inet",
            Decl::Decimal => "Decimal",
            Decl::Json => "Json",
            Decl::Enum => "Enum",
            Decl::FixedString(n) => {
                let n = Literal::usize_unsuffixed(*n);
                return quote!(#private::decl::FixedString<#n>);
            }
            Decl::Array(inner) => {
                let inner = inner.marker(private);
                return quote!(#private::decl::Array<#inner>);
            }
            Decl::Map(k, v) => {
                let (k, v) = (k.marker(private), v.marker(private));
                return quote!(#private::decl::Map<#k, #v>);
            }
        };
        let ident = syn::Ident::new(name, proc_macro2::Span::call_site());
        quote!(#private::decl::#ident)
    }
}

/// The names listed when a type string is not understood.
const EXPECTED: &str = "expected a ClickHouse type (Int8, Int16, Int32, Int64, Int128, \
UInt8, UInt16, UInt32, UInt64, UInt128, Float32, Float64, Bool, String, FixedString(N), \
Date, Date32, DateTime, DateTime('tz'), DateTime64(p), DateTime64(p, 'tz'), UUID, IPv4, IPv6, \
Decimal(P, S), Decimal32(S), Decimal64(S), Decimal128(S), Enum8('a' = 1, ..), Enum16(..), \
JSON, Array(T), Map(K, V), Nullable(T), LowCardinality(T)) or a PostgreSQL type (smallint, \
int2, integer, int, int4, bigint, int8, real, float4, double precision, float8, boolean, bool, \
text, varchar(n), character varying(n), char(n), character(n), bpchar, citext, name, bytea, \
uuid, date, timestamp, timestamp without time zone, timestamptz, timestamp with time zone, \
numeric(p, s), decimal(p, s), json, jsonb, inet, T[])";

/// Parses a declared type string.
///
/// # Errors
///
/// A message saying what was expected, to be reported at the string literal.
pub(crate) fn parse(input: &str) -> Result<Decl, String> {
    let tokens = lex(input)?;
    let mut p = Parser { tokens, pos: 0 };
    let decl = p.ty()?;
    match p.peek() {
        None => Ok(decl),
        Some(tok) => Err(format!(
            "unexpected {} after the type in \"{input}\"",
            tok.describe()
        )),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Int(i128),
    Str(String),
    Punct(char),
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Word(w) => format!("`{w}`"),
            Tok::Int(n) => format!("`{n}`"),
            Tok::Str(s) => format!("'{s}'"),
            Tok::Punct(c) => format!("`{c}`"),
        }
    }
}

fn lex(input: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut chars = input.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c.is_ascii_alphabetic() || c == '_' {
            let mut word = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_ascii_alphanumeric() || c == '_' {
                    word.push(c);
                    chars.next();
                } else {
                    break;
                }
            }
            out.push(Tok::Word(word));
        } else if c.is_ascii_digit() || c == '-' {
            let mut digits = String::new();
            digits.push(c);
            chars.next();
            while let Some(&c) = chars.peek() {
                if c.is_ascii_digit() {
                    digits.push(c);
                    chars.next();
                } else {
                    break;
                }
            }
            let n = digits
                .parse::<i128>()
                .map_err(|_| format!("`{digits}` is not a valid number in \"{input}\""))?;
            out.push(Tok::Int(n));
        } else if c == '\'' {
            chars.next();
            let mut s = String::new();
            loop {
                match chars.next() {
                    None => return Err(format!("unterminated quoted string in \"{input}\"")),
                    Some('\\') => match chars.next() {
                        Some(escaped) => s.push(escaped),
                        None => return Err(format!("unterminated quoted string in \"{input}\"")),
                    },
                    Some('\'') if chars.peek() == Some(&'\'') => {
                        chars.next();
                        s.push('\'');
                    }
                    Some('\'') => break,
                    Some(c) => s.push(c),
                }
            }
            out.push(Tok::Str(s));
        } else if "(),=[]".contains(c) {
            chars.next();
            out.push(Tok::Punct(c));
        } else {
            return Err(format!("unexpected character `{c}` in \"{input}\""));
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let tok = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        tok
    }

    fn eat_punct(&mut self, c: char) -> bool {
        if self.peek() == Some(&Tok::Punct(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_word(&mut self, word: &str) -> bool {
        match self.peek() {
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case(word) => {
                self.pos += 1;
                true
            }
            _ => false,
        }
    }

    fn expect_punct(&mut self, c: char, context: &str) -> Result<(), String> {
        match self.next() {
            Some(Tok::Punct(p)) if p == c => Ok(()),
            Some(tok) => Err(format!(
                "expected `{c}` {context}, found {}",
                tok.describe()
            )),
            None => Err(format!(
                "expected `{c}` {context}, found the end of the string"
            )),
        }
    }

    fn expect_word(&mut self, word: &str, context: &str) -> Result<(), String> {
        if self.eat_word(word) {
            Ok(())
        } else {
            Err(format!("expected `{word}` {context}"))
        }
    }

    fn int(&mut self, what: &str, context: &str) -> Result<i128, String> {
        match self.next() {
            Some(Tok::Int(n)) => Ok(n),
            Some(tok) => Err(format!(
                "expected {what} in {context}, found {}",
                tok.describe()
            )),
            None => Err(format!(
                "expected {what} in {context}, found the end of the string"
            )),
        }
    }

    /// `(n)` with `n` in `range`.
    fn one_int(
        &mut self,
        what: &str,
        context: &str,
        range: std::ops::RangeInclusive<i128>,
    ) -> Result<i128, String> {
        self.expect_punct('(', &format!("after {context}"))?;
        let n = self.int(what, context)?;
        self.expect_punct(')', &format!("to close {context}"))?;
        in_range(n, what, context, range)
    }

    /// An optional `(n)` with `n` in `range`.
    fn opt_int(
        &mut self,
        what: &str,
        context: &str,
        range: std::ops::RangeInclusive<i128>,
    ) -> Result<Option<i128>, String> {
        if self.peek() == Some(&Tok::Punct('(')) {
            self.one_int(what, context, range).map(Some)
        } else {
            Ok(None)
        }
    }

    fn no_args(&self, name: &str) -> Result<(), String> {
        if self.peek() == Some(&Tok::Punct('(')) {
            Err(format!("`{name}` takes no arguments"))
        } else {
            Ok(())
        }
    }

    /// `(T)`.
    fn one_type(&mut self, context: &str) -> Result<Decl, String> {
        self.expect_punct('(', &format!("after `{context}`"))?;
        let inner = self.ty()?;
        self.expect_punct(')', &format!("to close `{context}(..)`"))?;
        Ok(inner)
    }

    /// A whole type, with PostgreSQL `[]` suffixes.
    fn ty(&mut self) -> Result<Decl, String> {
        let mut decl = self.named()?;
        while self.eat_punct('[') {
            if let Some(Tok::Int(_)) = self.peek() {
                self.pos += 1;
            }
            self.expect_punct(']', "to close the array suffix `[]`")?;
            decl = Decl::Array(Box::new(decl));
        }
        Ok(decl)
    }

    fn named(&mut self) -> Result<Decl, String> {
        let name = match self.next() {
            Some(Tok::Word(w)) => w,
            Some(tok) => {
                return Err(format!(
                    "expected a type name, found {}; {EXPECTED}",
                    tok.describe()
                ))
            }
            None => {
                return Err(format!(
                    "expected a type name, found an empty string; {EXPECTED}"
                ))
            }
        };
        if let Some(decl) = self.clickhouse(&name)? {
            return Ok(decl);
        }
        if let Some(decl) = self.postgres(&name.to_ascii_lowercase())? {
            return Ok(decl);
        }
        Err(format!("unknown column type `{name}`; {EXPECTED}"))
    }

    /// A ClickHouse type name (case-sensitive), or `None`.
    fn clickhouse(&mut self, name: &str) -> Result<Option<Decl>, String> {
        let simple = match name {
            "Int8" => Some(Decl::I8),
            "Int16" => Some(Decl::I16),
            "Int32" => Some(Decl::I32),
            "Int64" => Some(Decl::I64),
            "Int128" => Some(Decl::I128),
            "UInt8" => Some(Decl::U8),
            "UInt16" => Some(Decl::U16),
            "UInt32" => Some(Decl::U32),
            "UInt64" => Some(Decl::U64),
            "UInt128" => Some(Decl::U128),
            "Float32" => Some(Decl::F32),
            "Float64" => Some(Decl::F64),
            "Bool" | "Boolean" => Some(Decl::Bool),
            "String" => Some(Decl::Str),
            "Date" | "Date32" => Some(Decl::Date),
            "UUID" => Some(Decl::Uuid),
            "IPv4" => Some(Decl::Ipv4),
            "IPv6" => Some(Decl::Ipv6),
            "JSON" => Some(Decl::Json),
            _ => None,
        };
        if let Some(decl) = simple {
            self.no_args(name)?;
            return Ok(Some(decl));
        }
        let decl = match name {
            "Int256" | "UInt256" | "Decimal256" => {
                return Err(format!(
                    "`{name}` is not supported: batchrow has no Rust type for 256-bit numbers"
                ))
            }
            "Nullable" | "LowCardinality" => self.one_type(name)?,
            "Array" => Decl::Array(Box::new(self.one_type(name)?)),
            "Map" => {
                self.expect_punct('(', "after `Map`")?;
                let key = self.ty()?;
                self.expect_punct(',', "between the key and value types of `Map(K, V)`")?;
                let value = self.ty()?;
                self.expect_punct(')', "to close `Map(K, V)`")?;
                Decl::Map(Box::new(key), Box::new(value))
            }
            "FixedString" => {
                let n = self.one_int("a length", "`FixedString(N)`", 1..=i128::from(u32::MAX))?;
                Decl::FixedString(usize::try_from(n).map_err(|_| "FixedString length too large")?)
            }
            "DateTime" => {
                if self.eat_punct('(') {
                    self.time_zone("`DateTime('tz')`")?;
                    self.expect_punct(')', "to close `DateTime('tz')`")?;
                }
                Decl::DateTime
            }
            "DateTime64" => {
                let context = "`DateTime64(p)`";
                self.expect_punct('(', &format!("after {context}"))?;
                let p = self.int("a precision", context)?;
                in_range(p, "the precision", context, 0..=9)?;
                if self.eat_punct(',') {
                    self.time_zone("`DateTime64(p, 'tz')`")?;
                }
                self.expect_punct(')', &format!("to close {context}"))?;
                Decl::DateTime
            }
            "Decimal" => {
                let context = "`Decimal(P, S)`";
                self.expect_punct('(', &format!("after {context}"))?;
                let p = in_range(
                    self.int("a precision", context)?,
                    "the precision P",
                    context,
                    1..=38,
                )?;
                self.expect_punct(',', &format!("between P and S in {context}"))?;
                in_range(self.int("a scale", context)?, "the scale S", context, 0..=p)?;
                self.expect_punct(')', &format!("to close {context}"))?;
                Decl::Decimal
            }
            "Decimal32" | "Decimal64" | "Decimal128" => {
                let max = match name {
                    "Decimal32" => 9,
                    "Decimal64" => 18,
                    _ => 38,
                };
                let context = format!("`{name}(S)`");
                self.one_int("a scale", &context, 0..=max)?;
                Decl::Decimal
            }
            "Enum8" => {
                self.enum_values("Enum8", i128::from(i8::MIN)..=i128::from(i8::MAX))?;
                Decl::Enum
            }
            "Enum16" => {
                self.enum_values("Enum16", i128::from(i16::MIN)..=i128::from(i16::MAX))?;
                Decl::Enum
            }
            _ => return Ok(None),
        };
        Ok(Some(decl))
    }

    /// `'Europe/Berlin'`.
    fn time_zone(&mut self, context: &str) -> Result<(), String> {
        match self.next() {
            Some(Tok::Str(_)) => Ok(()),
            Some(tok) => Err(format!(
                "expected a quoted time zone such as 'UTC' in {context}, found {}",
                tok.describe()
            )),
            None => Err(format!("expected a quoted time zone in {context}")),
        }
    }

    /// `('a' = 1, 'b' = 2)`, or `('a', 'b')` (numbered from 1).
    fn enum_values(
        &mut self,
        name: &str,
        range: std::ops::RangeInclusive<i128>,
    ) -> Result<(), String> {
        let context = format!("`{name}('label' = value, ..)`");
        self.expect_punct('(', &format!("after `{name}`"))?;
        let mut labels: Vec<String> = Vec::new();
        let mut values: Vec<i128> = Vec::new();
        loop {
            let label = match self.next() {
                Some(Tok::Str(s)) => s,
                Some(tok) => {
                    return Err(format!(
                        "expected a quoted label in {context}, found {}",
                        tok.describe()
                    ))
                }
                None => return Err(format!("expected a quoted label in {context}")),
            };
            let value = if self.eat_punct('=') {
                self.int("a value", &context)?
            } else {
                values.last().map_or(1, |v| v + 1)
            };
            in_range(
                value,
                &format!("the value of '{label}'"),
                &context,
                range.clone(),
            )?;
            if labels.contains(&label) {
                return Err(format!("duplicate label '{label}' in {context}"));
            }
            if values.contains(&value) {
                return Err(format!("duplicate value {value} in {context}"));
            }
            labels.push(label);
            values.push(value);
            if !self.eat_punct(',') {
                break;
            }
        }
        self.expect_punct(')', &format!("to close {context}"))
    }

    /// A PostgreSQL type name (already lowercased), or `None`.
    fn postgres(&mut self, name: &str) -> Result<Option<Decl>, String> {
        let decl = match name {
            "smallint" | "int2" => Decl::I16,
            "integer" | "int" | "int4" => Decl::I32,
            "bigint" | "int8" => Decl::I64,
            "real" | "float4" => Decl::F32,
            "float8" => Decl::F64,
            "double" => {
                self.expect_word("precision", "after `double` (`double precision`)")?;
                Decl::F64
            }
            "boolean" | "bool" => Decl::Bool,
            "text" | "citext" | "name" | "bpchar" => Decl::Str,
            "varchar" | "char" => {
                self.opt_int("a length", &format!("`{name}(n)`"), 1..=10_485_760)?;
                Decl::Str
            }
            "character" => {
                let varying = self.eat_word("varying");
                let context = if varying {
                    "`character varying(n)`"
                } else {
                    "`character(n)`"
                };
                self.opt_int("a length", context, 1..=10_485_760)?;
                Decl::Str
            }
            "bytea" => Decl::Bytes,
            "uuid" => Decl::Uuid,
            "date" => Decl::Date,
            "timestamp" | "timestamptz" => {
                self.opt_int("a precision", &format!("`{name}(p)`"), 0..=6)?;
                if name == "timestamp" && (self.eat_word("with") || self.eat_word("without")) {
                    self.expect_word("time", "in `timestamp with[out] time zone`")?;
                    self.expect_word("zone", "in `timestamp with[out] time zone`")?;
                }
                Decl::DateTime
            }
            "numeric" | "decimal" => {
                let context = format!("`{name}(p, s)`");
                if self.eat_punct('(') {
                    let p = in_range(
                        self.int("a precision", &context)?,
                        "the precision p",
                        &context,
                        1..=1000,
                    )?;
                    if self.eat_punct(',') {
                        in_range(
                            self.int("a scale", &context)?,
                            "the scale s",
                            &context,
                            0..=p,
                        )?;
                    }
                    self.expect_punct(')', &format!("to close {context}"))?;
                }
                Decl::Decimal
            }
            "json" | "jsonb" => Decl::Json,
            "inet" => Decl::Inet,
            _ => return Ok(None),
        };
        Ok(Some(decl))
    }
}

fn in_range(
    n: i128,
    what: &str,
    context: &str,
    range: std::ops::RangeInclusive<i128>,
) -> Result<i128, String> {
    if range.contains(&n) {
        Ok(n)
    } else {
        Err(format!(
            "{what} in {context} must be in {}..={}, not {n}",
            range.start(),
            range.end()
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use Decl::*;

    fn ok(s: &str) -> Decl {
        parse(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
    }

    fn err(s: &str) -> String {
        match parse(s) {
            Ok(d) => panic!("{s:?} should not parse, got {d:?}"),
            Err(e) => e,
        }
    }

    fn arr(d: Decl) -> Decl {
        Array(Box::new(d))
    }

    #[test]
    fn clickhouse_types() {
        let cases = [
            ("Int8", I8),
            ("Int16", I16),
            ("Int32", I32),
            ("Int64", I64),
            ("Int128", I128),
            ("UInt8", U8),
            ("UInt16", U16),
            ("UInt32", U32),
            ("UInt64", U64),
            ("UInt128", U128),
            ("Float32", F32),
            ("Float64", F64),
            ("Bool", Bool),
            ("Boolean", Bool),
            ("String", Str),
            ("FixedString(16)", FixedString(16)),
            ("Date", Date),
            ("Date32", Date),
            ("DateTime", DateTime),
            ("DateTime('Europe/Berlin')", DateTime),
            ("DateTime64(3)", DateTime),
            ("DateTime64(0)", DateTime),
            ("DateTime64(9, 'UTC')", DateTime),
            ("UUID", Uuid),
            ("IPv4", Ipv4),
            ("IPv6", Ipv6),
            ("Decimal(18, 4)", Decimal),
            ("Decimal(38,38)", Decimal),
            ("Decimal32(9)", Decimal),
            ("Decimal64(4)", Decimal),
            ("Decimal128(20)", Decimal),
            ("Enum8('a' = 1, 'b' = -2)", Enum),
            ("Enum8('it''s' = 1, 'b\\'c' = 2)", Enum),
            ("Enum8('a', 'b')", Enum),
            ("Enum16('a' = 1000)", Enum),
            ("JSON", Json),
            ("Array(String)", arr(Str)),
            ("Array(Array(Nullable(Int32)))", arr(arr(I32))),
            ("Map(String, UInt64)", Map(Box::new(Str), Box::new(U64))),
            (
                "Map(LowCardinality(String), Array(Float64))",
                Map(Box::new(Str), Box::new(arr(F64))),
            ),
            ("Nullable(String)", Str),
            ("LowCardinality(String)", Str),
            ("LowCardinality(Nullable(String))", Str),
            ("  Nullable ( DateTime64 ( 6 , 'UTC' ) )  ", DateTime),
        ];
        for (s, expected) in cases {
            assert_eq!(ok(s), expected, "{s}");
        }
    }

    #[test]
    fn postgres_types() {
        let cases = [
            ("smallint", I16),
            ("int2", I16),
            ("integer", I32),
            ("INTEGER", I32),
            ("int", I32),
            ("int4", I32),
            ("bigint", I64),
            ("int8", I64),
            ("INT8", I64),
            ("real", F32),
            ("float4", F32),
            ("double precision", F64),
            ("DOUBLE PRECISION", F64),
            ("float8", F64),
            ("boolean", Bool),
            ("bool", Bool),
            ("text", Str),
            ("varchar", Str),
            ("varchar(20)", Str),
            ("character varying(20)", Str),
            ("character varying", Str),
            ("char(3)", Str),
            ("character(3)", Str),
            ("bpchar", Str),
            ("citext", Str),
            ("name", Str),
            ("bytea", Bytes),
            ("uuid", Uuid),
            ("date", Date),
            ("DATE", Date),
            ("timestamp", DateTime),
            ("timestamp(3)", DateTime),
            ("timestamp without time zone", DateTime),
            ("timestamptz", DateTime),
            ("timestamp with time zone", DateTime),
            ("TIMESTAMP(6) WITH TIME ZONE", DateTime),
            ("numeric", Decimal),
            ("numeric(10)", Decimal),
            ("numeric(18, 4)", Decimal),
            ("decimal(5,2)", Decimal),
            ("json", Json),
            ("jsonb", Json),
            ("inet", Inet),
            ("int4[]", arr(I32)),
            ("text[][]", arr(arr(Str))),
            ("double precision[3]", arr(F64)),
        ];
        for (s, expected) in cases {
            assert_eq!(ok(s), expected, "{s}");
        }
    }

    #[test]
    fn rejected() {
        let cases = [
            ("", "found an empty string"),
            ("Foo", "unknown column type `Foo`"),
            ("string", "unknown column type `string`"),
            ("Int256", "not supported"),
            ("UInt256", "not supported"),
            ("Decimal256(10)", "not supported"),
            ("Int32(4)", "`Int32` takes no arguments"),
            ("DateTime64", "expected `(`"),
            (
                "DateTime64(10)",
                "the precision in `DateTime64(p)` must be in 0..=9, not 10",
            ),
            ("DateTime64(3, UTC)", "quoted time zone"),
            ("DateTime64(3", "found the end of the string"),
            ("FixedString(0)", "must be in 1..="),
            ("FixedString(N)", "expected a length"),
            (
                "Decimal(39, 2)",
                "the precision P in `Decimal(P, S)` must be in 1..=38",
            ),
            ("Decimal(0, 0)", "must be in 1..=38"),
            (
                "Decimal(10, 11)",
                "the scale S in `Decimal(P, S)` must be in 0..=10, not 11",
            ),
            ("Decimal32(10)", "must be in 0..=9"),
            ("Decimal(10)", "expected `,`"),
            ("Enum8('a' = 200)", "must be in -128..=127"),
            ("Enum8('a' = 1, 'a' = 2)", "duplicate label 'a'"),
            ("Enum8('a' = 1, 'b' = 1)", "duplicate value 1"),
            ("Enum8(a = 1)", "expected a quoted label"),
            ("Array(String", "to close `Array(..)`"),
            ("Map(String)", "between the key and value types"),
            ("Nullable()", "expected a type name, found `)`"),
            ("String String", "unexpected `String` after the type"),
            ("double", "expected `precision`"),
            ("timestamp with zone", "expected `time`"),
            ("varchar(0)", "must be in 1..="),
            ("int4[", "found the end of the string"),
            ("Enum8('a", "unterminated quoted string"),
            ("Int32;", "unexpected character `;`"),
        ];
        for (s, expected) in cases {
            let e = err(s);
            assert!(
                e.contains(expected),
                "{s:?}: {e:?} should contain {expected:?}"
            );
        }
    }

    #[test]
    fn unknown_names_list_the_accepted_ones() {
        let e = err("Datetime64(3)");
        assert!(e.contains("DateTime64(p)"), "{e}");
        assert!(e.contains("timestamptz"), "{e}");
    }

    #[test]
    fn markers() {
        let private = quote!(::batchrow::__private);
        let decl = ok("Map(String, Array(FixedString(4)))");
        let tokens = decl.marker(&private).to_string().replace(' ', "");
        assert_eq!(
            tokens,
            "::batchrow::__private::decl::Map<::batchrow::__private::decl::Str,\
             ::batchrow::__private::decl::Array<::batchrow::__private::decl::FixedString<4>>>"
        );
    }
}
