//! The lexer: a type string into tokens, each with its byte offsets.
//!
//! It knows the shapes that ClickHouse and PostgreSQL type strings share: names,
//! integers, single-quoted strings (with ClickHouse's backslash escapes and SQL's
//! doubled quote) and single punctuation characters. The ClickHouse grammar of this
//! crate and the PostgreSQL grammar of batchrow's derive both read its tokens.
//!
//! ```
//! use batch_clickhouse_types::lex::{lex, Tok};
//!
//! let tokens = lex("DateTime64(3, 'UTC')")?;
//! let toks: Vec<&Tok> = tokens.iter().map(|t| &t.tok).collect();
//! assert_eq!(
//!     toks,
//!     [
//!         &Tok::Word("DateTime64".into()),
//!         &Tok::Punct('('),
//!         &Tok::Int(3),
//!         &Tok::Punct(','),
//!         &Tok::Str("UTC".into()),
//!         &Tok::Punct(')'),
//!     ]
//! );
//! assert_eq!((tokens[4].start, tokens[4].end), (14, 19));
//! # Ok::<(), batch_clickhouse_types::Error>(())
//! ```

use crate::error::Error;

/// What a token is.
///
/// ```
/// use batch_clickhouse_types::lex::{lex, Tok};
///
/// let tokens = lex("int4[]")?;
/// assert_eq!(tokens[0].tok, Tok::Word("int4".into()));
/// assert_eq!(tokens[1].tok, Tok::Punct('['));
/// # Ok::<(), batch_clickhouse_types::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Tok {
    /// A name (`Nullable`, `precision`, `max_dynamic_paths`), or a back-quoted name
    /// (`` `a b` ``, a tuple element) without its quotes.
    Word(String),
    /// An integer, possibly negative: `3`, `-128`.
    Int(i128),
    /// A single-quoted string, unescaped: `'it\'s'` is `it's`.
    Str(String),
    /// Any other character: `(`, `)`, `,`, `=`, `[`, `]`, `.`, …
    Punct(char),
}

impl Tok {
    /// The token as a message shows it: `` `Int32` ``, `'UTC'`, `` `(` ``.
    ///
    /// ```
    /// use batch_clickhouse_types::lex::Tok;
    ///
    /// assert_eq!(Tok::Word("Int32".into()).describe(), "`Int32`");
    /// assert_eq!(Tok::Str("UTC".into()).describe(), "'UTC'");
    /// ```
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Tok::Word(w) => format!("`{w}`"),
            Tok::Int(n) => format!("`{n}`"),
            Tok::Str(s) => format!("'{s}'"),
            Tok::Punct(c) => format!("`{c}`"),
        }
    }
}

/// A token and where it is in the input.
///
/// ```
/// use batch_clickhouse_types::lex::{lex, Tok, Token};
///
/// let tokens = lex("  Int32")?;
/// assert_eq!(tokens, [Token { tok: Tok::Word("Int32".into()), start: 2, end: 7 }]);
/// # Ok::<(), batch_clickhouse_types::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// What the token is.
    pub tok: Tok,
    /// The byte offset of its first character.
    pub start: usize,
    /// The byte offset just after its last character.
    pub end: usize,
}

/// Splits `input` into tokens, skipping whitespace.
///
/// ```
/// use batch_clickhouse_types::lex::{lex, Tok};
///
/// let tokens = lex(r"Enum8('it\'s' = -1)")?;
/// assert_eq!(tokens[2].tok, Tok::Str("it's".into()));
/// assert_eq!(tokens[4].tok, Tok::Int(-1));
/// assert!(lex("'open").is_err());
/// # Ok::<(), batch_clickhouse_types::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::Parse`] for an unterminated quoted string or name, and for an integer
/// outside the `i128` range.
pub fn lex(input: &str) -> Result<Vec<Token>, Error> {
    let error = |position: usize, reason: String| Error::Parse {
        input: input.to_owned(),
        position,
        reason,
    };
    let mut out = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        let tok = if c.is_whitespace() {
            chars.next();
            continue;
        } else if c.is_ascii_alphabetic() || c == '_' {
            let mut word = String::new();
            while let Some(&(_, c)) = chars.peek() {
                if !(c.is_ascii_alphanumeric() || c == '_') {
                    break;
                }
                word.push(c);
                chars.next();
            }
            Tok::Word(word)
        } else if c.is_ascii_digit() || (c == '-' && next_is_digit(input, start)) {
            let mut digits = String::new();
            digits.push(c);
            chars.next();
            while let Some(&(_, c)) = chars.peek() {
                if !c.is_ascii_digit() {
                    break;
                }
                digits.push(c);
                chars.next();
            }
            let n = digits
                .parse::<i128>()
                .map_err(|_| error(start, format!("the number `{digits}` is out of range")))?;
            Tok::Int(n)
        } else if c == '\'' || c == '`' {
            chars.next();
            let text = quoted(&mut chars, c)
                .ok_or_else(|| error(input.len(), "unterminated quoted string".to_owned()))?;
            if c == '\'' {
                Tok::Str(text)
            } else {
                Tok::Word(text)
            }
        } else {
            chars.next();
            Tok::Punct(c)
        };
        let end = chars.peek().map_or(input.len(), |&(i, _)| i);
        out.push(Token { tok, start, end });
    }
    Ok(out)
}

fn next_is_digit(input: &str, at: usize) -> bool {
    input[at + 1..].starts_with(|c: char| c.is_ascii_digit())
}

/// The rest of a string quoted with `quote`, after the opening quote: backslash escapes
/// (`\n`, `\t`, `\r`, `\0`, `\b`, `\f`; any other character stands for itself) and a
/// doubled quote. `None` when it does not end.
fn quoted(
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
    quote: char,
) -> Option<String> {
    let mut out = String::new();
    loop {
        let (_, c) = chars.next()?;
        if c == quote {
            if chars.peek().map(|&(_, c)| c) == Some(quote) {
                chars.next();
                out.push(quote);
                continue;
            }
            return Some(out);
        }
        if c == '\\' {
            let (_, e) = chars.next()?;
            out.push(match e {
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                '0' => '\0',
                'b' => '\u{8}',
                'f' => '\u{c}',
                other => other,
            });
        } else {
            out.push(c);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        lex(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn words_numbers_and_punctuation() {
        assert_eq!(
            toks(" Enum8 ( 'a' = -1 ) "),
            [
                Tok::Word("Enum8".into()),
                Tok::Punct('('),
                Tok::Str("a".into()),
                Tok::Punct('='),
                Tok::Int(-1),
                Tok::Punct(')'),
            ]
        );
        assert_eq!(
            toks("int4[3]"),
            [
                Tok::Word("int4".into()),
                Tok::Punct('['),
                Tok::Int(3),
                Tok::Punct(']')
            ]
        );
        // A lone minus and a fraction are punctuation between integers.
        assert_eq!(
            toks("0.5 - x"),
            [
                Tok::Int(0),
                Tok::Punct('.'),
                Tok::Int(5),
                Tok::Punct('-'),
                Tok::Word("x".into())
            ]
        );
        assert_eq!(toks("`a b`"), [Tok::Word("a b".into())]);
    }

    #[test]
    fn offsets_are_bytes() {
        let t = lex("Enum8('ü' = 1)").unwrap();
        assert_eq!((t[2].start, t[2].end), (6, 10));
        assert_eq!(t[3].start, 11);
    }

    #[test]
    fn escapes_in_strings() {
        // Backslash escapes decode as ClickHouse decodes them; `''` is one quote.
        assert_eq!(
            toks(r"'a\nb' 'c\'d' 'e''f' 'g\\h' 'i\qj'"),
            [
                Tok::Str("a\nb".into()),
                Tok::Str("c'd".into()),
                Tok::Str("e'f".into()),
                Tok::Str("g\\h".into()),
                Tok::Str("iqj".into()),
            ]
        );
    }

    #[test]
    fn errors() {
        let e = lex("Enum8('a").unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot parse the ClickHouse type `Enum8('a` at byte 8: unterminated quoted string"
        );
        assert!(lex(r"'a\").is_err());
        let e = lex("FixedString(999999999999999999999999999999999999999999)").unwrap_err();
        assert!(e.to_string().contains("is out of range"), "{e}");
    }
}
