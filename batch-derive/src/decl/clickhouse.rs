//! A ClickHouse type string: parsed by `batch-clickhouse-types` (the parser the
//! ClickHouse sink uses on the server's types), then mapped to its family.

use batch_clickhouse_types::ChType;

use super::{reason, Decl, CLICKHOUSE_TYPES};

/// Parses a ClickHouse type string into its family.
pub(super) fn parse(input: &str) -> Result<Decl, String> {
    family(&ChType::parse(input).map_err(reason)?).map_err(|e| match e {
        Refused::Reason(reason) => reason,
        Refused::Unknown(name) => format!(
            "unknown ClickHouse type `{name}` in \"{input}\": a type that starts with a \
             ClickHouse name is ClickHouse's all through, not PostgreSQL's; expected \
             {CLICKHOUSE_TYPES}"
        ),
    })
}

/// Why a parsed type has no family.
enum Refused {
    /// A name the ClickHouse grammar does not know, inside a type it knows.
    Unknown(String),
    /// Anything else, as the message.
    Reason(String),
}

/// The family of a ClickHouse type, or why batchrow cannot write it.
fn family(ty: &ChType) -> Result<Decl, Refused> {
    let boxed = |t: &ChType| family(t).map(Box::new);
    Ok(match ty {
        ChType::Bool => Decl::Bool,
        ChType::Int8 => Decl::I8,
        ChType::Int16 => Decl::I16,
        ChType::Int32 => Decl::I32,
        ChType::Int64 => Decl::I64,
        ChType::Int128 => Decl::I128,
        ChType::UInt8 => Decl::U8,
        ChType::UInt16 => Decl::U16,
        ChType::UInt32 => Decl::U32,
        ChType::UInt64 => Decl::U64,
        ChType::UInt128 => Decl::U128,
        ChType::Float32 => Decl::F32,
        ChType::Float64 => Decl::F64,
        ChType::String => Decl::Str,
        ChType::FixedString(n) => Decl::FixedString(*n),
        ChType::Date | ChType::Date32 => Decl::Date,
        ChType::DateTime(_) | ChType::DateTime64(..) => Decl::DateTime,
        ChType::Decimal { .. } => Decl::Decimal,
        ChType::Uuid => Decl::Uuid,
        ChType::Ipv4 => Decl::Ipv4,
        ChType::Ipv6 => Decl::Ipv6,
        ChType::Enum8(_) | ChType::Enum16(_) => Decl::Enum,
        ChType::Json => Decl::Json,
        ChType::Nullable(t) | ChType::LowCardinality(t) => family(t)?,
        ChType::Array(t) => Decl::Array(boxed(t)?),
        ChType::Map(k, v) => Decl::Map(boxed(k)?, boxed(v)?),
        ChType::Int256 | ChType::UInt256 => {
            return Err(Refused::Reason(format!(
                "`{ty}` is not supported: batchrow has no Rust type for 256-bit integers"
            )))
        }
        ChType::Other(name) => return Err(Refused::Unknown(name.clone())),
        other => {
            return Err(Refused::Reason(format!(
                "batchrow cannot write `{other}` columns"
            )))
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use Decl::*;

    fn ok(s: &str) -> Decl {
        parse(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
    }

    fn arr(d: Decl) -> Decl {
        Array(Box::new(d))
    }

    #[test]
    fn families() {
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
            ("DateTime64(9, 'UTC')", DateTime),
            ("UUID", Uuid),
            ("IPv4", Ipv4),
            ("IPv6", Ipv6),
            ("Decimal(18, 4)", Decimal),
            ("Decimal32(9)", Decimal),
            ("Decimal128(20)", Decimal),
            ("Enum8('a' = 1, 'b' = -2)", Enum),
            ("Enum8('a', 'b')", Enum),
            ("Enum16('a' = 1000)", Enum),
            ("JSON", Json),
            ("Object('json')", Json),
            ("Array(Array(Nullable(Int32)))", arr(arr(I32))),
            (
                "Map(LowCardinality(String), Array(Float64))",
                Map(Box::new(Str), Box::new(arr(F64))),
            ),
            ("LowCardinality(Nullable(String))", Str),
            ("  Nullable ( DateTime64 ( 6 , 'UTC' ) )  ", DateTime),
        ];
        for (s, expected) in cases {
            assert_eq!(ok(s), expected, "{s}");
        }
    }

    /// Each of these was refused by the derive's own parser while the sink's accepted
    /// it (issue 13): the derive now reads types with the sink's parser.
    #[test]
    fn what_the_sink_accepts() {
        assert_eq!(ok("Decimal(10)"), Decimal);
        assert_eq!(ok("Decimal(76, 20)"), Decimal);
        assert_eq!(ok("Decimal(39, 2)"), Decimal);
        assert_eq!(ok("Decimal256(20)"), Decimal);
        assert_eq!(ok("JSON(max_dynamic_paths = 8)"), Json);
        // `\n` is a newline, as the server reads it: not the label `anb` (the derive
        // read it so, and refused this type for a duplicate label).
        assert_eq!(ok(r"Enum8('a\nb' = 1, 'anb' = 2)"), Enum);
    }

    #[test]
    fn rejected() {
        let cases = [
            ("Int256", "`Int256` is not supported"),
            ("Array(UInt256)", "`UInt256` is not supported"),
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
