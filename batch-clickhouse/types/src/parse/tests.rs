//! Unit tests of the ClickHouse type grammar.
#![allow(clippy::unwrap_used, clippy::panic)]

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
    let Error::Parse { position, .. } = ChType::parse("Map(String, Decimal(80, 2))").unwrap_err()
    else {
        panic!()
    };
    assert_eq!(position, 20);
}
