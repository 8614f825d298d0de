//! The PostgreSQL type grammar (case-insensitive): `integer`, `double precision`,
//! `varchar(20)`, `timestamp with time zone`, `numeric(12, 2)`, `int4[]`, …, on the
//! tokens of the shared lexer.

use std::ops::RangeInclusive;

use batch_clickhouse_types::lex::{Tok, Token};

use super::expected;

/// Parses a PostgreSQL type string (already split into `tokens`).
pub(super) fn parse(input: &str, tokens: &[Token]) -> Result<(), String> {
    let mut p = Parser { tokens, pos: 0 };
    p.ty()?;
    match p.peek() {
        None => Ok(()),
        Some(tok) => Err(format!(
            "unexpected {} after the type in \"{input}\"",
            tok.describe()
        )),
    }
}

struct Parser<'a> {
    tokens: &'a [Token],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|t| &t.tok)
    }

    fn next(&mut self) -> Option<&Tok> {
        let tok = self.tokens.get(self.pos).map(|t| &t.tok);
        self.pos += 1;
        tok
    }

    fn found(tok: Option<&Tok>) -> String {
        tok.map_or_else(|| "the end of the string".to_owned(), Tok::describe)
    }

    fn eat_punct(&mut self, c: char) -> bool {
        let hit = self.peek() == Some(&Tok::Punct(c));
        self.pos += usize::from(hit);
        hit
    }

    fn eat_word(&mut self, word: &str) -> bool {
        let hit = matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(word));
        self.pos += usize::from(hit);
        hit
    }

    fn expect_punct(&mut self, c: char, context: &str) -> Result<(), String> {
        match self.next() {
            Some(Tok::Punct(p)) if *p == c => Ok(()),
            other => Err(format!(
                "expected `{c}` {context}, found {}",
                Self::found(other)
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

    fn int(
        &mut self,
        what: &str,
        context: &str,
        range: RangeInclusive<i128>,
    ) -> Result<i128, String> {
        match self.next() {
            Some(Tok::Int(n)) if range.contains(n) => Ok(*n),
            Some(Tok::Int(n)) => Err(format!(
                "{what} in {context} must be in {}..={}, not {n}",
                range.start(),
                range.end()
            )),
            other => Err(format!(
                "expected {what} in {context}, found {}",
                Self::found(other)
            )),
        }
    }

    /// An optional `(n)` with `n` in `range`.
    fn opt_int(
        &mut self,
        what: &str,
        context: &str,
        range: RangeInclusive<i128>,
    ) -> Result<(), String> {
        if self.eat_punct('(') {
            self.int(what, context, range)?;
            self.expect_punct(')', &format!("to close {context}"))?;
        }
        Ok(())
    }

    /// A whole type, with `[]` suffixes.
    fn ty(&mut self) -> Result<(), String> {
        self.named()?;
        while self.eat_punct('[') {
            if let Some(Tok::Int(_)) = self.peek() {
                self.pos += 1;
            }
            self.expect_punct(']', "to close the array suffix `[]`")?;
        }
        Ok(())
    }

    /// A type name the derive knows, with its modifiers.
    fn named(&mut self) -> Result<(), String> {
        let name = match self.next() {
            Some(Tok::Word(w)) => w.to_ascii_lowercase(),
            other => {
                return Err(format!(
                    "expected a type name, found {}; {}",
                    Self::found(other),
                    expected()
                ))
            }
        };
        match name.as_str() {
            "smallint" | "int2" | "integer" | "int" | "int4" | "bigint" | "int8" | "real"
            | "float4" | "float8" | "boolean" | "bool" | "text" | "citext" | "name" | "bpchar"
            | "bytea" | "uuid" | "date" | "json" | "jsonb" | "inet" => {}
            "double" => {
                self.expect_word("precision", "after `double` (`double precision`)")?;
            }
            "varchar" | "char" => {
                self.opt_int("a length", &format!("`{name}(n)`"), 1..=10_485_760)?;
            }
            "character" => {
                let context = if self.eat_word("varying") {
                    "`character varying(n)`"
                } else {
                    "`character(n)`"
                };
                self.opt_int("a length", context, 1..=10_485_760)?;
            }
            "timestamp" | "timestamptz" => {
                self.opt_int("a precision", &format!("`{name}(p)`"), 0..=6)?;
                if name == "timestamp" && (self.eat_word("with") || self.eat_word("without")) {
                    self.expect_word("time", "in `timestamp with[out] time zone`")?;
                    self.expect_word("zone", "in `timestamp with[out] time zone`")?;
                }
            }
            "numeric" | "decimal" => {
                let context = format!("`{name}(p, s)`");
                if self.eat_punct('(') {
                    let p = self.int("the precision p", &context, 1..=1000)?;
                    if self.eat_punct(',') {
                        self.int("the scale s", &context, 0..=p)?;
                    }
                    self.expect_punct(')', &format!("to close {context}"))?;
                }
            }
            _ => {
                let shown = match &self.tokens[self.pos - 1].tok {
                    Tok::Word(w) => w.clone(),
                    _ => name,
                };
                return Err(format!("unknown column type `{shown}`; {}", expected()));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use batch_clickhouse_types::lex::lex;

    use super::*;

    fn parse_pg(s: &str) -> Result<(), String> {
        parse(s, &lex(s).unwrap())
    }

    #[test]
    fn accepted() {
        let cases = [
            "smallint",
            "int2",
            "integer",
            "INTEGER",
            "int",
            "int4",
            "bigint",
            "int8",
            "INT8",
            "real",
            "float4",
            "double precision",
            "DOUBLE PRECISION",
            "float8",
            "boolean",
            "bool",
            "text",
            "varchar",
            "varchar(20)",
            "character varying(20)",
            "character varying",
            "char(3)",
            "character(3)",
            "bpchar",
            "citext",
            "name",
            "bytea",
            "uuid",
            "date",
            "timestamp",
            "timestamp(3)",
            "timestamp without time zone",
            "timestamptz",
            "timestamp with time zone",
            "TIMESTAMP(6) WITH TIME ZONE",
            "numeric",
            "numeric(10)",
            "numeric(18, 4)",
            "decimal(5,2)",
            "json",
            "jsonb",
            "inet",
            "int4[]",
            "text[][]",
            "double precision[3]",
            "character varying(5)[]",
        ];
        for s in cases {
            assert_eq!(parse_pg(s), Ok(()), "{s}");
        }
    }

    #[test]
    fn rejected() {
        let cases = [
            ("Foo", "unknown column type `Foo`"),
            ("string", "unknown column type `string`"),
            ("double", "expected `precision`"),
            ("timestamp with zone", "expected `time`"),
            ("varchar(0)", "must be in 1..="),
            (
                "numeric(10, 11)",
                "the scale s in `numeric(p, s)` must be in 0..=10, not 11",
            ),
            ("int4[", "found the end of the string"),
            ("int4 int4", "unexpected `int4` after the type"),
            ("(int4)", "expected a type name, found `(`"),
        ];
        for (s, expected) in cases {
            let e = parse_pg(s).unwrap_err();
            assert!(
                e.contains(expected),
                "{s:?}: {e:?} should contain {expected:?}"
            );
        }
    }
}
