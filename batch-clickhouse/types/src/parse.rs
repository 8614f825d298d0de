//! The ClickHouse type grammar: tokens from [`lex`](crate::lex) into a [`ChType`].

use std::ops::RangeInclusive;
use std::str::FromStr;

use crate::error::Error;
use crate::lex::{lex, Tok, Token};
use crate::model::{ChType, EnumDef, SIMPLE, WITH_ARGUMENTS};

/// Whether `name` is a ClickHouse type name this grammar knows (`Int32`, `Nullable`,
/// `Decimal256`, …; case-sensitive, as in ClickHouse). Any other name parses into
/// [`ChType::Other`].
///
/// ```
/// use batch_clickhouse_types::is_type_name;
///
/// assert!(is_type_name("DateTime64"));
/// assert!(!is_type_name("timestamptz"));
/// assert!(!is_type_name("datetime64"));
/// ```
#[must_use]
pub fn is_type_name(name: &str) -> bool {
    SIMPLE.iter().any(|(n, _)| *n == name) || WITH_ARGUMENTS.contains(&name)
}

/// Whether `declared` is spelled in ClickHouse's grammar: its first name is a
/// ClickHouse type name ([`is_type_name`]). This is the one rule by which batchrow tells
/// a ClickHouse spelling (`LowCardinality(String)`, `Date`) from a PostgreSQL one
/// (`varchar(20)`, `date`, `DATE`): the derive picks its grammar by it, the PostgreSQL
/// sink refuses such a declared type, and the ClickHouse sink refuses the others.
///
/// ```
/// use batch_clickhouse_types::is_clickhouse_spelling;
///
/// assert!(is_clickhouse_spelling(" Nullable(DateTime64(3))"));
/// assert!(is_clickhouse_spelling("Date"));
/// assert!(!is_clickhouse_spelling("date"));
/// assert!(!is_clickhouse_spelling("double precision"));
/// assert!(!is_clickhouse_spelling(""));
/// ```
#[must_use]
pub fn is_clickhouse_spelling(declared: &str) -> bool {
    let rest = declared.trim_start();
    let len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    is_type_name(&rest[..len])
}

impl ChType {
    /// Parses a ClickHouse type string, such as `Array(Nullable(String))`,
    /// `DateTime64(3, 'Europe/Berlin')`, `Decimal(18, 4)` or `Enum8('a' = 1, 'b' = 2)`.
    ///
    /// ```
    /// use batch_clickhouse_types::ChType;
    ///
    /// assert_eq!(
    ///     ChType::parse("Decimal256(20)")?,
    ///     ChType::Decimal { precision: 76, scale: 20 }
    /// );
    /// # Ok::<(), batch_clickhouse_types::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] when the string is not a well-formed type, with the byte where
    /// it went wrong and what was expected there.
    pub fn parse(input: &str) -> Result<ChType, Error> {
        let mut p = Parser {
            input,
            tokens: lex(input)?,
            pos: 0,
        };
        let ty = p.ty()?;
        match p.peek() {
            None => Ok(ty),
            Some(tok) => Err(p.error(format!("unexpected {} after the type", tok.describe()))),
        }
    }
}

impl FromStr for ChType {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ChType::parse(s)
    }
}

/// A recursive-descent parser over the tokens of one type string.
struct Parser<'a> {
    input: &'a str,
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser<'_> {
    /// An error at the current token (or at the end of the string).
    fn error(&self, reason: String) -> Error {
        let position = self
            .tokens
            .get(self.pos)
            .map_or(self.input.len(), |t| t.start);
        self.error_at(position, reason)
    }

    fn error_at(&self, position: usize, reason: String) -> Error {
        Error::Parse {
            input: self.input.to_owned(),
            position,
            reason,
        }
    }

    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|t| &t.tok)
    }

    fn next(&mut self) -> Option<Tok> {
        let tok = self.peek().cloned();
        if tok.is_some() {
            self.pos += 1;
        }
        tok
    }

    fn found(&self) -> String {
        self.peek()
            .map_or_else(|| "the end of the string".to_owned(), Tok::describe)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(&Tok::Punct(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char, context: &str) -> Result<(), Error> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.error(format!("expected `{c}` {context}, found {}", self.found())))
        }
    }

    /// An integer in `range`, with `what` and `context` for the messages.
    fn int(
        &mut self,
        what: &str,
        context: &str,
        range: RangeInclusive<i128>,
    ) -> Result<i128, Error> {
        let at = self.pos;
        let Some(Tok::Int(n)) = self.peek().cloned() else {
            return Err(self.error(format!(
                "expected {what} in {context}, found {}",
                self.found()
            )));
        };
        self.pos += 1;
        if range.contains(&n) {
            return Ok(n);
        }
        self.pos = at;
        Err(self.error(format!(
            "{what} in {context} must be in {}..={}, not {n}",
            range.start(),
            range.end()
        )))
    }

    fn string(&mut self, what: &str, context: &str) -> Result<String, Error> {
        match self.peek().cloned() {
            Some(Tok::Str(s)) => {
                self.pos += 1;
                Ok(s)
            }
            _ => Err(self.error(format!(
                "expected {what} in {context}, found {}",
                self.found()
            ))),
        }
    }

    /// `(T)` after `name`.
    fn one_type(&mut self, name: &str) -> Result<Box<ChType>, Error> {
        self.expect('(', &format!("after `{name}`"))?;
        let t = self.ty()?;
        self.expect(')', &format!("to close `{name}(..)`"))?;
        Ok(Box::new(t))
    }

    fn ty(&mut self) -> Result<ChType, Error> {
        let start = self.pos;
        let name = match self.next() {
            Some(Tok::Word(w)) => w,
            _ => {
                self.pos = start;
                return Err(self.error(format!("expected a type name, found {}", self.found())));
            }
        };
        if let Some((_, t)) = SIMPLE.iter().find(|(n, _)| *n == name) {
            if self.peek() == Some(&Tok::Punct('(')) {
                return Err(self.error(format!("`{name}` takes no arguments")));
            }
            return Ok(t.clone());
        }
        match name.as_str() {
            "Nullable" => Ok(ChType::Nullable(self.one_type(&name)?)),
            "LowCardinality" => Ok(ChType::LowCardinality(self.one_type(&name)?)),
            "Array" => Ok(ChType::Array(self.one_type(&name)?)),
            "Map" => {
                self.expect('(', "after `Map`")?;
                let k = self.ty()?;
                self.expect(',', "between the key and value types of `Map(K, V)`")?;
                let v = self.ty()?;
                self.expect(')', "to close `Map(K, V)`")?;
                Ok(ChType::Map(Box::new(k), Box::new(v)))
            }
            "FixedString" => {
                let context = "`FixedString(N)`";
                self.expect('(', &format!("after {context}"))?;
                let n = self.int("a length", context, 1..=i128::from(u32::MAX))?;
                self.expect(')', &format!("to close {context}"))?;
                Ok(ChType::FixedString(usize::try_from(n).map_err(|_| {
                    self.error("the length of `FixedString(N)` is too large".to_owned())
                })?))
            }
            "DateTime" => {
                if !self.eat('(') {
                    return Ok(ChType::DateTime(None));
                }
                let tz = self.string("a quoted time zone such as 'UTC'", "`DateTime('tz')`")?;
                self.expect(')', "to close `DateTime('tz')`")?;
                Ok(ChType::DateTime(Some(tz)))
            }
            "DateTime64" => {
                let context = "`DateTime64(p)`";
                self.expect('(', &format!("after {context}"))?;
                let p = self.int("the precision", context, 0..=9)?;
                let tz = if self.eat(',') {
                    Some(self.string("a quoted time zone such as 'UTC'", "`DateTime64(p, 'tz')`")?)
                } else {
                    None
                };
                self.expect(')', &format!("to close {context}"))?;
                Ok(ChType::DateTime64(small(p), tz))
            }
            "Decimal" => {
                let context = "`Decimal(P, S)`";
                self.expect('(', &format!("after {context}"))?;
                let precision = self.int("the precision P", context, 1..=76)?;
                let scale = if self.eat(',') {
                    self.int("the scale S", context, 0..=precision)?
                } else {
                    0
                };
                self.expect(')', &format!("to close {context}"))?;
                Ok(ChType::Decimal {
                    precision: small(precision),
                    scale: small(scale),
                })
            }
            "Decimal32" | "Decimal64" | "Decimal128" | "Decimal256" => {
                let precision = match name.as_str() {
                    "Decimal32" => 9,
                    "Decimal64" => 18,
                    "Decimal128" => 38,
                    _ => 76,
                };
                let context = format!("`{name}(S)`");
                self.expect('(', &format!("after `{name}`"))?;
                let scale = self.int("the scale S", &context, 0..=precision)?;
                self.expect(')', &format!("to close {context}"))?;
                Ok(ChType::Decimal {
                    precision: small(precision),
                    scale: small(scale),
                })
            }
            "Enum8" => self.enum_def(&name, i128::from(i8::MIN)..=i128::from(i8::MAX)),
            "Enum16" => self.enum_def(&name, i128::from(i16::MIN)..=i128::from(i16::MAX)),
            "JSON" => {
                // `JSON` may carry hints, such as `JSON(max_dynamic_paths = 8)`.
                if self.peek() == Some(&Tok::Punct('(')) {
                    self.skip_balanced()?;
                }
                Ok(ChType::Json)
            }
            "Object" => {
                self.expect('(', "after `Object`")?;
                let kind = self.string("a quoted kind such as 'json'", "`Object('kind')`")?;
                self.expect(')', "to close `Object('kind')`")?;
                if kind.eq_ignore_ascii_case("json") {
                    Ok(ChType::Json)
                } else {
                    Ok(ChType::Other(self.source(start)))
                }
            }
            "Tuple" => {
                self.expect('(', "after `Tuple`")?;
                let mut items = Vec::new();
                loop {
                    // A named element: `name Type`.
                    if matches!(self.peek(), Some(Tok::Word(_)))
                        && matches!(
                            self.tokens.get(self.pos + 1).map(|t| &t.tok),
                            Some(Tok::Word(_))
                        )
                    {
                        self.pos += 1;
                    }
                    items.push(self.ty()?);
                    if !self.eat(',') {
                        break;
                    }
                }
                self.expect(')', "to close `Tuple(..)`")?;
                Ok(ChType::Tuple(items))
            }
            _ => {
                if self.peek() == Some(&Tok::Punct('(')) {
                    self.skip_balanced()?;
                }
                Ok(ChType::Other(self.source(start)))
            }
        }
    }

    /// The input from token `start` to the last token read, verbatim.
    fn source(&self, start: usize) -> String {
        let from = self.tokens[start].start;
        let to = self.tokens[self.pos - 1].end;
        self.input[from..to].to_owned()
    }

    /// `('a' = 1, 'b' = 2)`, or `('a', 'b')` (values counted on from 1).
    fn enum_def(&mut self, name: &str, range: RangeInclusive<i128>) -> Result<ChType, Error> {
        let context = format!("`{name}('label' = value, ..)`");
        self.expect('(', &format!("after `{name}`"))?;
        let open = self.pos;
        let mut variants = Vec::new();
        let mut next = 1;
        loop {
            let label = self.string("a quoted label", &context)?;
            let value = if self.eat('=') {
                self.int(&format!("the value of '{label}'"), &context, range.clone())?
            } else if range.contains(&next) {
                next
            } else {
                return Err(self.error(format!(
                    "the value of '{label}' in {context} must be in {}..={}, not {next}",
                    range.start(),
                    range.end()
                )));
            };
            next = value + 1;
            variants.push((label, i16::try_from(value).unwrap_or_default()));
            if !self.eat(',') {
                break;
            }
        }
        self.expect(')', &format!("to close {context}"))?;
        let def = EnumDef::new(variants).map_err(|e| {
            let reason = match e {
                Error::InvalidEnum(reason) => reason,
                other => other.to_string(),
            };
            let at = self.tokens[open].start;
            self.error_at(at, format!("{reason} in {context}"))
        })?;
        Ok(if name == "Enum8" {
            ChType::Enum8(def)
        } else {
            ChType::Enum16(def)
        })
    }

    /// Skips a parenthesized argument list (strings are single tokens already).
    fn skip_balanced(&mut self) -> Result<(), Error> {
        self.expect('(', "to open the arguments")?;
        let mut depth = 1usize;
        while depth > 0 {
            match self.next() {
                None => return Err(self.error("unbalanced parentheses".to_owned())),
                Some(Tok::Punct('(')) => depth += 1,
                Some(Tok::Punct(')')) => depth -= 1,
                Some(_) => {}
            }
        }
        Ok(())
    }
}

/// A number the grammar has already range-checked into `0..=255`.
fn small(n: i128) -> u8 {
    u8::try_from(n).unwrap_or(u8::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn p(s: &str) -> ChType {
        ChType::parse(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
    }

    fn err(s: &str) -> String {
        match ChType::parse(s) {
            Ok(t) => panic!("{s:?} should not parse, got {t:?}"),
            Err(Error::Parse { reason, .. }) => reason,
            Err(e) => panic!("{s:?}: not a parse error: {e}"),
        }
    }

    fn b(t: ChType) -> Box<ChType> {
        Box::new(t)
    }

    fn d(precision: u8, scale: u8) -> ChType {
        ChType::Decimal { precision, scale }
    }

    #[test]
    fn every_simple_name() {
        for (name, ty) in SIMPLE {
            assert_eq!(&p(name), ty, "{name}");
            assert!(is_type_name(name));
        }
        assert_eq!(p("Boolean"), ChType::Bool);
    }

    #[test]
    fn nested_wrappers() {
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
            p("Map(LowCardinality(String), Array(Nullable(Int32)))"),
            ChType::Map(
                b(ChType::LowCardinality(b(ChType::String))),
                b(ChType::Array(b(ChType::Nullable(b(ChType::Int32)))))
            )
        );
    }

    #[test]
    fn dates_and_zones() {
        assert_eq!(p("DateTime"), ChType::DateTime(None));
        assert_eq!(p("DateTime('UTC')"), ChType::DateTime(Some("UTC".into())));
        assert_eq!(
            p("DateTime64(3, 'Europe/Berlin')"),
            ChType::DateTime64(3, Some("Europe/Berlin".into()))
        );
        assert_eq!(p("DateTime64(0)"), ChType::DateTime64(0, None));
        assert_eq!(p("DateTime64(9)"), ChType::DateTime64(9, None));
        assert_eq!(
            err("DateTime64(10)"),
            "the precision in `DateTime64(p)` must be in 0..=9, not 10"
        );
        assert_eq!(
            err("DateTime64(3, UTC)"),
            "expected a quoted time zone such as 'UTC' in `DateTime64(p, 'tz')`, found `UTC`"
        );
        assert_eq!(
            err("DateTime64(3"),
            "expected `)` to close `DateTime64(p)`, found the end of the string"
        );
    }

    /// The derive and the sink used to disagree on each of these.
    #[test]
    fn decimals() {
        assert_eq!(p("Decimal(18, 4)"), d(18, 4));
        assert_eq!(p("Decimal(9,2)"), d(9, 2));
        // `Decimal(P)` has scale 0 (the derive refused it).
        assert_eq!(p("Decimal(10)"), d(10, 0));
        // Precisions over 38 are Decimal256 (the derive stopped at 38).
        assert_eq!(p("Decimal(76, 20)"), d(76, 20));
        assert_eq!(p("Decimal(39, 2)"), d(39, 2));
        assert_eq!(p("Decimal32(3)"), d(9, 3));
        assert_eq!(p("Decimal64(4)"), d(18, 4));
        assert_eq!(p("Decimal128(10)"), d(38, 10));
        // `Decimal256(S)` (the derive refused it, the encoder writes it).
        assert_eq!(p("Decimal256(20)"), d(76, 20));
        assert_eq!(
            err("Decimal(77, 1)"),
            "the precision P in `Decimal(P, S)` must be in 1..=76, not 77"
        );
        assert_eq!(
            err("Decimal(0, 0)"),
            "the precision P in `Decimal(P, S)` must be in 1..=76, not 0"
        );
        assert_eq!(
            err("Decimal(10, 11)"),
            "the scale S in `Decimal(P, S)` must be in 0..=10, not 11"
        );
        assert_eq!(
            err("Decimal32(10)"),
            "the scale S in `Decimal32(S)` must be in 0..=9, not 10"
        );
        assert_eq!(
            err("Decimal256(77)"),
            "the scale S in `Decimal256(S)` must be in 0..=76, not 77"
        );
    }

    /// Backslash escapes decode the same everywhere (the derive kept `\n` as `n`).
    #[test]
    fn enums_with_escapes() {
        let t = p(r"Enum8('a' = 1, 'b\'c' = -2, 'd\\e' = 127, 'f\ng' = 3, 'it''s' = 4)");
        let ChType::Enum8(def) = &t else {
            panic!("not an Enum8: {t:?}")
        };
        assert_eq!(
            def.variants(),
            &[
                ("a".to_owned(), 1),
                ("b'c".to_owned(), -2),
                ("d\\e".to_owned(), 127),
                ("f\ng".to_owned(), 3),
                ("it's".to_owned(), 4),
            ]
        );
        assert_eq!(def.value_of("b'c"), Some(-2));
        let t16 = p("Enum16('x' = -1000, 'y' = 30000)");
        assert!(matches!(&t16, ChType::Enum16(d) if d.value_of("y") == Some(30000)));
        // Implicit values count on from 1, or from the previous value.
        assert_eq!(p("Enum8('a', 'b')"), p("Enum8('a' = 1, 'b' = 2)"));
        assert_eq!(p("Enum8('a' = 5, 'b')"), p("Enum8('a' = 5, 'b' = 6)"));
    }

    #[test]
    fn enum_errors() {
        assert_eq!(
            err("Enum8('a' = 128)"),
            "the value of 'a' in `Enum8('label' = value, ..)` must be in -128..=127, not 128"
        );
        assert_eq!(
            err("Enum8('a' = 127, 'b')"),
            "the value of 'b' in `Enum8('label' = value, ..)` must be in -128..=127, not 128"
        );
        assert_eq!(
            err("Enum8('a' = 1, 'a' = 2)"),
            "duplicate label 'a' in `Enum8('label' = value, ..)`"
        );
        assert_eq!(
            err("Enum16('a' = 1, 'b' = 1)"),
            "duplicate value 1 in `Enum16('label' = value, ..)`"
        );
        assert_eq!(
            err("Enum8(a = 1)"),
            "expected a quoted label in `Enum8('label' = value, ..)`, found `a`"
        );
    }

    /// `JSON(...)` with hints is JSON (the derive refused arguments).
    #[test]
    fn json() {
        assert_eq!(p("JSON"), ChType::Json);
        assert_eq!(p("JSON(max_dynamic_paths = 8)"), ChType::Json);
        assert_eq!(
            p("JSON(a.b UInt32, SKIP c, SKIP REGEXP 'x(')"),
            ChType::Json
        );
        assert_eq!(p("Object('json')"), ChType::Json);
        assert_eq!(
            p("Object('other')"),
            ChType::Other("Object('other')".into())
        );
        assert_eq!(err("JSON(a"), "unbalanced parentheses");
    }

    #[test]
    fn the_rest() {
        assert_eq!(p("FixedString(16)"), ChType::FixedString(16));
        assert_eq!(
            err("FixedString(0)"),
            "a length in `FixedString(N)` must be in 1..=4294967295, not 0"
        );
        assert_eq!(
            err("FixedString(N)"),
            "expected a length in `FixedString(N)`, found `N`"
        );
        assert_eq!(
            p("Tuple(a String, b Nullable(UInt8))"),
            ChType::Tuple(vec![ChType::String, ChType::Nullable(b(ChType::UInt8))])
        );
        assert_eq!(
            p("Tuple(String, UInt8)"),
            ChType::Tuple(vec![ChType::String, ChType::UInt8])
        );
        assert_eq!(
            p("AggregateFunction(uniq, String)"),
            ChType::Other("AggregateFunction(uniq, String)".into())
        );
        assert_eq!(
            p(" Array(AggregateFunction(quantiles(0.5, 0.9), UInt64)) "),
            ChType::Array(b(ChType::Other(
                "AggregateFunction(quantiles(0.5, 0.9), UInt64)".into()
            )))
        );
        assert_eq!(p("timestamptz"), ChType::Other("timestamptz".into()));
    }

    #[test]
    fn malformed() {
        let cases = [
            ("", "expected a type name, found the end of the string"),
            (
                "Array(",
                "expected a type name, found the end of the string",
            ),
            (
                "Array(String",
                "expected `)` to close `Array(..)`, found the end of the string",
            ),
            ("Nullable()", "expected a type name, found `)`"),
            (
                "Map(String)",
                "expected `,` between the key and value types of `Map(K, V)`, found `)`",
            ),
            ("String)", "unexpected `)` after the type"),
            ("String String", "unexpected `String` after the type"),
            ("Int32(4)", "`Int32` takes no arguments"),
            ("Int32;", "unexpected `;` after the type"),
            (
                "DateTime64",
                "expected `(` after `DateTime64(p)`, found the end of the string",
            ),
            ("123", "expected a type name, found `123`"),
        ];
        for (s, reason) in cases {
            assert_eq!(err(s), reason, "{s:?}");
        }
        assert!(ChType::parse("Enum8('a = 1)").is_err());
        assert!(ChType::parse("DateTime('UTC'").is_err());
    }

    #[test]
    fn positions() {
        let e = ChType::parse("Array(String").unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot parse the ClickHouse type `Array(String` at byte 12: \
             expected `)` to close `Array(..)`, found the end of the string"
        );
        let Error::Parse { position, .. } =
            ChType::parse("Map(String, Decimal(80, 2))").unwrap_err()
        else {
            panic!()
        };
        assert_eq!(position, 20);
    }
}
