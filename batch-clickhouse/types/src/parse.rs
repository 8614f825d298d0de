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
mod tests;
