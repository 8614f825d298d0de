//! `#[batch(type = "...")]`: a declared column type, parsed so that a malformed type is a
//! compile error at the string. Whether the field's Rust type may be written to it is
//! not decided here: the sinks ask the field type's `Encode::accepts` with the parsed
//! type before the first row, with the rest of the schema check.
//!
//! A string whose first name is a ClickHouse type name (`DateTime64`, `Nullable`, …,
//! case-sensitive as in ClickHouse: `is_clickhouse_spelling`, the rule both sinks use
//! too) is read by the ClickHouse grammar of the
//! `batch-clickhouse-types` crate, the same parser the ClickHouse sink checks the table
//! with ([`clickhouse`]); any other string by the PostgreSQL grammar ([`postgres`],
//! case-insensitive). Both read the tokens of that crate's lexer.
//! `Nullable(..)` and `LowCardinality(..)` are looked through: nullability comes from
//! the field's `Option`.

mod clickhouse;
mod postgres;

use batch_clickhouse_types::lex::lex;
use batch_clickhouse_types::{is_clickhouse_spelling, Error};

/// The ClickHouse types the derive knows, for messages.
pub(crate) const CLICKHOUSE_TYPES: &str = "Int8, Int16, Int32, Int64, Int128, UInt8, \
UInt16, UInt32, UInt64, UInt128, Float32, Float64, Bool, String, FixedString(N), Date, Date32, \
DateTime, DateTime('tz'), DateTime64(p), DateTime64(p, 'tz'), UUID, IPv4, IPv6, \
Decimal(P, S), Decimal(P), Decimal32(S), Decimal64(S), Decimal128(S), Decimal256(S), \
Enum8('a' = 1, ..), Enum16(..), JSON, Array(T), Map(K, V), Nullable(T), LowCardinality(T)";

/// The PostgreSQL types the derive knows, for messages.
pub(crate) const POSTGRES_TYPES: &str = "smallint, int2, integer, int, int4, bigint, int8, \
real, float4, double precision, float8, boolean, bool, text, varchar(n), character \
varying(n), char(n), character(n), bpchar, citext, name, bytea, uuid, date, timestamp, \
timestamp without time zone, timestamptz, timestamp with time zone, numeric(p, s), \
decimal(p, s), json, jsonb, inet, T[]";

/// What a type string that is not understood should have been.
pub(crate) fn expected() -> String {
    format!(
        "expected a ClickHouse type ({CLICKHOUSE_TYPES}) or a PostgreSQL type ({POSTGRES_TYPES})"
    )
}

/// Parses a declared type string.
///
/// # Errors
///
/// A message saying what was expected, to be reported at the string literal.
pub(crate) fn parse(input: &str) -> Result<(), String> {
    if is_clickhouse_spelling(input) {
        return clickhouse::parse(input);
    }
    let tokens = lex(input).map_err(reason)?;
    if tokens.is_empty() {
        return Err(format!("the type is empty; {}", expected()));
    }
    postgres::parse(input, &tokens)
}

/// The message of a parse error, without the type string the attribute already shows.
fn reason(e: Error) -> String {
    match e {
        Error::Parse { reason, .. } => reason,
        other => other.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn dispatch_by_the_first_name() {
        // ClickHouse names are case-sensitive, PostgreSQL names are not.
        for ok in ["Int64", "INT8", "int8", "Int8", "Date", "DATE"] {
            assert_eq!(parse(ok), Ok(()), "{ok}");
        }
        // `Nullable` is a ClickHouse name, so what it holds is read as ClickHouse's;
        // `NULLABLE` is not, so the PostgreSQL grammar reports the unknown name.
        assert!(parse("Nullable(int4)")
            .unwrap_err()
            .contains("unknown ClickHouse type `int4`"));
        assert!(parse("NULLABLE(Int32)")
            .unwrap_err()
            .starts_with("unknown column type `NULLABLE`"));
    }

    #[test]
    fn errors_keep_only_the_reason() {
        assert_eq!(
            parse("DateTime64(3").unwrap_err(),
            "expected `)` to close `DateTime64(p)`, found the end of the string"
        );
        assert!(parse("")
            .unwrap_err()
            .starts_with("the type is empty; expected"));
        assert!(parse("   ").unwrap_err().starts_with("the type is empty"));
        assert_eq!(parse("Enum8('a").unwrap_err(), "unterminated quoted string");
    }

    #[test]
    fn unknown_names_list_the_accepted_ones() {
        let e = parse("Datetime64(3)").unwrap_err();
        assert!(e.starts_with("unknown column type `Datetime64`"), "{e}");
        assert!(e.contains("DateTime64(p)"), "{e}");
        assert!(e.contains("timestamptz"), "{e}");
    }
}
