//! A [`ChType`] back into its type string, as ClickHouse prints it.

use std::fmt::{self, Write};

use crate::model::{ChType, EnumDef, SIMPLE};

/// Writes `s` as a single-quoted ClickHouse string literal, escaping what the lexer
/// unescapes.
fn write_quoted(f: &mut impl Write, s: &str) -> fmt::Result {
    f.write_char('\'')?;
    for c in s.chars() {
        match c {
            '\'' => f.write_str("\\'")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            '\r' => f.write_str("\\r")?,
            '\0' => f.write_str("\\0")?,
            '\u{8}' => f.write_str("\\b")?,
            '\u{c}' => f.write_str("\\f")?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('\'')
}

fn write_enum(f: &mut fmt::Formatter<'_>, name: &str, def: &EnumDef) -> fmt::Result {
    write!(f, "{name}(")?;
    for (i, (label, value)) in def.variants().iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write_quoted(f, label)?;
        write!(f, " = {value}")?;
    }
    f.write_str(")")
}

impl fmt::Display for ChType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChType::FixedString(n) => write!(f, "FixedString({n})"),
            ChType::DateTime(None) => f.write_str("DateTime"),
            ChType::DateTime(Some(tz)) => {
                f.write_str("DateTime(")?;
                write_quoted(f, tz)?;
                f.write_str(")")
            }
            ChType::DateTime64(p, tz) => {
                write!(f, "DateTime64({p}")?;
                if let Some(tz) = tz {
                    f.write_str(", ")?;
                    write_quoted(f, tz)?;
                }
                f.write_str(")")
            }
            ChType::Decimal { precision, scale } => write!(f, "Decimal({precision}, {scale})"),
            ChType::Enum8(def) => write_enum(f, "Enum8", def),
            ChType::Enum16(def) => write_enum(f, "Enum16", def),
            ChType::Json => f.write_str("JSON"),
            ChType::Nullable(t) => write!(f, "Nullable({t})"),
            ChType::LowCardinality(t) => write!(f, "LowCardinality({t})"),
            ChType::Array(t) => write!(f, "Array({t})"),
            ChType::Map(k, v) => write!(f, "Map({k}, {v})"),
            ChType::Tuple(items) => {
                f.write_str("Tuple(")?;
                for (i, t) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                f.write_str(")")
            }
            ChType::Other(s) => f.write_str(s),
            // The types without arguments, by their name in the parser's table.
            simple => {
                let name = SIMPLE.iter().find(|(_, t)| t == simple).map(|(n, _)| *n);
                f.write_str(name.unwrap_or_default())
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Display, then parse: the same type.
    #[test]
    fn round_trips() {
        for s in [
            "Int8",
            "UInt256",
            "Bool",
            "FixedString(16)",
            "DateTime",
            "DateTime('Europe/Berlin')",
            "DateTime64(6, 'UTC')",
            "Decimal(76, 20)",
            "Enum8('a' = 1, 'b\\'c' = -2, 'd\\\\e' = 127, 'f\\ng' = 3)",
            "Enum16('x' = -1000)",
            "JSON",
            "Nullable(String)",
            "LowCardinality(Nullable(String))",
            "Array(Array(UInt8))",
            "Map(String, Array(Nullable(Int32)))",
            "Tuple(String, UInt8)",
            "AggregateFunction(uniq, String)",
            "Nothing",
        ] {
            let t = ChType::parse(s).unwrap();
            assert_eq!(t.to_string(), s);
            assert_eq!(ChType::parse(&t.to_string()).unwrap(), t);
        }
    }

    #[test]
    fn canonical_spellings() {
        let shown = |s: &str| ChType::parse(s).unwrap().to_string();
        assert_eq!(shown("Boolean"), "Bool");
        assert_eq!(shown("Decimal(10)"), "Decimal(10, 0)");
        assert_eq!(shown("Decimal256(20)"), "Decimal(76, 20)");
        assert_eq!(shown("Enum8('a', 'b')"), "Enum8('a' = 1, 'b' = 2)");
        assert_eq!(shown("Enum8('it''s' = 1)"), r"Enum8('it\'s' = 1)");
        assert_eq!(shown("JSON(max_dynamic_paths = 8)"), "JSON");
        assert_eq!(shown("Tuple(a String, b UInt8)"), "Tuple(String, UInt8)");
        assert_eq!(shown(" Array ( UInt8 ) "), "Array(UInt8)");
    }

    #[test]
    fn quoting() {
        let mut s = String::new();
        write_quoted(&mut s, "a'b\\c\u{8}\u{c}\r\t\0").unwrap();
        assert_eq!(s, r"'a\'b\\c\b\f\r\t\0'");
    }
}
