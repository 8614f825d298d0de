//! A ClickHouse type string: parsed by `batch-clickhouse-types` (the parser the
//! ClickHouse sink uses on the server's types). Besides what does not parse, only two
//! things are refused here: a name the grammar does not know inside a type it knows
//! (a PostgreSQL spelling such as `Nullable(int4)`), and a type the grammar crate says
//! batchrow cannot write ([`ChType::is_supported`]). Which Rust types a column takes is
//! each type's `Encode::accepts`, asked by the sink.

use batch_clickhouse_types::ChType;

use super::{reason, CLICKHOUSE_TYPES};

/// Parses and checks a ClickHouse type string.
pub(super) fn parse(input: &str) -> Result<(), String> {
    check(&ChType::parse(input).map_err(reason)?).map_err(|e| match e {
        Refused::Reason(reason) => reason,
        Refused::Unknown(name) => format!(
            "unknown ClickHouse type `{name}` in \"{input}\": a type that starts with a \
             ClickHouse name is ClickHouse's all through, not PostgreSQL's; expected \
             {CLICKHOUSE_TYPES}"
        ),
    })
}

/// Why a parsed type is refused.
enum Refused {
    /// A name the ClickHouse grammar does not know, inside a type it knows.
    Unknown(String),
    /// Anything else, as the message.
    Reason(String),
}

/// Refuses the innermost unknown name, else the innermost type batchrow cannot write.
fn check(ty: &ChType) -> Result<(), Refused> {
    match ty {
        ChType::Nullable(t) | ChType::LowCardinality(t) | ChType::Array(t) => check(t),
        ChType::Map(k, v) => check(k).and_then(|()| check(v)),
        ChType::Other(name) => Err(Refused::Unknown(name.clone())),
        other if !other.is_supported() => Err(Refused::Reason(format!(
            "batchrow cannot write `{other}` columns"
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn ok(s: &str) {
        parse(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"));
    }

    #[test]
    fn accepted() {
        let cases = [
            "Int8",
            "Int16",
            "Int32",
            "Int64",
            "Int128",
            "UInt8",
            "UInt16",
            "UInt32",
            "UInt64",
            "UInt128",
            "Float32",
            "Float64",
            "Bool",
            "Boolean",
            "String",
            "FixedString(16)",
            "Date",
            "Date32",
            "DateTime",
            "DateTime('Europe/Berlin')",
            "DateTime64(3)",
            "DateTime64(9, 'UTC')",
            "UUID",
            "IPv4",
            "IPv6",
            "Decimal(18, 4)",
            "Decimal32(9)",
            "Decimal128(20)",
            "Enum8('a' = 1, 'b' = -2)",
            "Enum8('a', 'b')",
            "Enum16('a' = 1000)",
            "JSON",
            "Object('json')",
            "Array(Array(Nullable(Int32)))",
            "Map(LowCardinality(String), Array(Float64))",
            "LowCardinality(Nullable(String))",
            "  Nullable ( DateTime64 ( 6 , 'UTC' ) )  ",
            // A Rust type takes them: `batch_clickhouse::{Int256, UInt256}`.
            "Int256",
            "Array(Nullable(UInt256))",
        ];
        for s in cases {
            ok(s);
        }
    }

    /// Each of these was refused by the derive's own parser while the sink's accepted
    /// it (issue 13): the derive now reads types with the sink's parser.
    #[test]
    fn what_the_sink_accepts() {
        ok("Decimal(10)");
        ok("Decimal(76, 20)");
        ok("Decimal(39, 2)");
        ok("Decimal256(20)");
        ok("JSON(max_dynamic_paths = 8)");
        // `\n` is a newline, as the server reads it: not the label `anb` (the derive
        // read it so, and refused this type for a duplicate label).
        ok(r"Enum8('a\nb' = 1, 'anb' = 2)");
    }

    #[test]
    fn rejected() {
        let cases = [
            (
                "Map(String, Array(Nothing))",
                "batchrow cannot write `Nothing` columns",
            ),
            (
                "Tuple(String, UInt8)",
                "batchrow cannot write `Tuple(String, UInt8)` columns",
            ),
            ("Nothing", "batchrow cannot write `Nothing` columns"),
            (
                "Nullable(int4)",
                "unknown ClickHouse type `int4` in \"Nullable(int4)\": a type that starts",
            ),
            ("Object('x')", "unknown ClickHouse type `Object('x')`"),
            ("Int32(4)", "`Int32` takes no arguments"),
            (
                "Decimal(77, 2)",
                "the precision P in `Decimal(P, S)` must be in 1..=76, not 77",
            ),
            (
                "Decimal(10, 11)",
                "the scale S in `Decimal(P, S)` must be in 0..=10, not 11",
            ),
            ("Enum8('a' = 1, 'a' = 2)", "duplicate label 'a'"),
            ("Enum8('a' = 200)", "must be in -128..=127"),
            ("Array(String", "to close `Array(..)`"),
            ("Map(String)", "between the key and value types"),
            ("String String", "unexpected `String` after the type"),
            ("Int32;", "unexpected `;` after the type"),
        ];
        for (s, expected) in cases {
            let e = parse(s).unwrap_err();
            assert!(
                e.contains(expected),
                "{s:?}: {e:?} should contain {expected:?}"
            );
        }
    }
}
