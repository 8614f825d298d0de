//! Unit tests of the schema check, against tables described by hand.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::RowBinary;
use batch_core::{BatchRow, Column, Encode, EncodeError, EncodeRow, Reason, ValueKind};

fn server(cols: &[(&str, &str, &str)]) -> Vec<ServerColumn> {
    cols.iter()
        .map(|(n, t, d)| ServerColumn {
            name: (*n).to_owned(),
            type_name: (*t).to_owned(),
            default_kind: (*d).to_owned(),
        })
        .collect()
}

static COLUMNS: [Column; 4] = [
    Column::new("id", "id", "u64", None, ValueKind::U64),
    Column::new("name", "name", "&'a str", None, ValueKind::String),
    Column::new(
        "at",
        "at",
        "Option<DateTime<Utc>>",
        Some("DateTime64(3)"),
        ValueKind::Nullable(&ValueKind::Timestamp),
    ),
    Column::new(
        "tags",
        "tags",
        "Vec<String>",
        None,
        ValueKind::Array(&ValueKind::String),
    ),
];
/// The row of `COLUMNS`, with the rules of its field types.
struct Events;

impl BatchRow for Events {
    const TABLE: &'static str = "events";
    const COLUMNS: &'static [Column] = &COLUMNS;
    type Static = Events;
}

impl EncodeRow<RowBinary> for Events {
    fn encode_row(&self, _: &[ChType], _: &mut Vec<u8>) -> Result<(), EncodeError> {
        Ok(())
    }

    fn accepts_column(index: usize, c: &ChType) -> Option<Result<(), Reason>> {
        Some(match index {
            0 => <u64 as Encode<RowBinary>>::accepts(c),
            1 => <&str as Encode<RowBinary>>::accepts(c),
            // `Option<DateTime<Utc>>` needs the chrono feature: its declared type is
            // what this test checks.
            2 => Ok(()),
            3 => <Vec<String> as Encode<RowBinary>>::accepts(c),
            _ => return None,
        })
    }
}

const SCHEMA: Schema = Schema::checked::<Events, RowBinary>();

#[test]
fn resolves_the_server_types_in_struct_order() {
    let cols = check(
        "db.events",
        &SCHEMA,
        &server(&[
            ("tags", "Array(LowCardinality(String))", ""),
            ("at", "Nullable(DateTime64(3, 'UTC'))", ""),
            ("name", "FixedString(8)", ""),
            ("id", "UInt64", ""),
            ("inserted", "DateTime", "DEFAULT"),
            ("day", "Date", "MATERIALIZED"),
            ("alias", "String", "ALIAS"),
        ]),
    )
    .unwrap();
    let names: Vec<String> = cols.iter().map(ToString::to_string).collect();
    assert_eq!(
        names,
        [
            "UInt64",
            "FixedString(8)",
            "Nullable(DateTime64(3, 'UTC'))",
            "Array(LowCardinality(String))"
        ]
    );
}

#[test]
fn reports_every_mismatch_at_once() {
    let m = check(
        "db.events",
        &SCHEMA,
        &server(&[
            ("id", "Int64", ""),
            ("name", "MATERIALIZED_TYPE_IS_IRRELEVANT", "MATERIALIZED"),
            ("at", "Nullable(DateTime64(6))", ""),
            ("required", "UInt8", ""),
            ("optional", "UInt8", "DEFAULT"),
        ]),
    )
    .unwrap_err();
    assert_eq!(
        m.to_string(),
        "the row type does not match table db.events (5 columns):\n  \
         - column `id`: field type `u64`, server type `Int64`: this field type needs UInt64\n  \
         - column `name`: field type `&'a str`, server type `MATERIALIZED_TYPE_IS_IRRELEVANT`: \
         MATERIALIZED columns cannot be inserted into: remove the field or mark it #[batch(skip)]\n  \
         - column `at`: field type `Option<DateTime<Utc>>`, server type `Nullable(DateTime64(6))`: \
         the field declares the type `Nullable(DateTime64(3))` (#[batch(type = \"DateTime64(3)\")]), \
         but the server's is different\n  \
         - column `tags`: field type `Vec<String>`, not in the table: the table has no such column\n  \
         - column `required`: server type `UInt8`, not in the struct: the column has no DEFAULT, \
         MATERIALIZED or ALIAS expression, so every insert must set it: add a field for it"
    );
}

/// `#[batch(type = "..")]` in PostgreSQL's spelling is refused by name, as the
/// PostgreSQL sink refuses a ClickHouse spelling (it used to read as an unknown
/// ClickHouse type that "differs from the server's").
#[test]
fn a_postgresql_spelling_is_refused() {
    static PG: [Column; 2] = [
        Column::new("doc", "doc", "String", Some("jsonb"), ValueKind::String),
        Column::new(
            "price",
            "price",
            "Decimal",
            Some("numeric(12, 2)"),
            ValueKind::Decimal,
        ),
    ];
    let schema = Schema {
        table: "events",
        columns: &PG,
        check: None,
    };
    let m = check(
        "db.events",
        &schema,
        &server(&[("doc", "String", ""), ("price", "Decimal(12, 2)", "")]),
    )
    .unwrap_err();
    assert_eq!(
        m.to_string(),
        "the row type does not match table db.events (2 columns):\n  \
         - column `doc`: field type `String`, server type `String`: the field declares \
         `jsonb`, which is not a ClickHouse type (a PostgreSQL spelling?); declare the \
         ClickHouse type, such as `String`, or remove #[batch(type = \"..\")]\n  \
         - column `price`: field type `Decimal`, server type `Decimal(12, 2)`: the field \
         declares `numeric(12, 2)`, which is not a ClickHouse type (a PostgreSQL \
         spelling?); declare the ClickHouse type, such as `Decimal(12, 2)`, or remove \
         #[batch(type = \"..\")]"
    );
}

/// A declared type the field does not fit is reported by the field type's rule, with
/// the declared type named, whatever the server's type is (the derive used to make
/// this a compile error through a second table of types, `Fits`).
#[test]
fn a_declared_type_the_field_does_not_fit() {
    static MISFIT: [Column; 2] = [
        Column::new("count", "count", "i64", Some("Int32"), ValueKind::I64),
        Column::new(
            "code",
            "code",
            "[u8; 8]",
            Some("FixedString(4)"),
            ValueKind::FixedBytes(8),
        ),
    ];
    struct Misfit;
    impl BatchRow for Misfit {
        const TABLE: &'static str = "misfit";
        const COLUMNS: &'static [Column] = &MISFIT;
        type Static = Misfit;
    }
    impl EncodeRow<RowBinary> for Misfit {
        fn encode_row(&self, _: &[ChType], _: &mut Vec<u8>) -> Result<(), EncodeError> {
            Ok(())
        }

        fn accepts_column(index: usize, c: &ChType) -> Option<Result<(), Reason>> {
            Some(match index {
                0 => <i64 as Encode<RowBinary>>::accepts(c),
                1 => <[u8; 8] as Encode<RowBinary>>::accepts(c),
                _ => return None,
            })
        }
    }
    let schema = Schema::checked::<Misfit, RowBinary>();
    let expected = "the row type does not match table db.misfit (2 columns):\n  \
         - column `count`: field type `i64`, server type `{count}`: the field type does not \
         fit its declared type `Int32` (#[batch(type = \"Int32\")]): this field type needs \
         Int64\n  \
         - column `code`: field type `[u8; 8]`, server type `{code}`: the field type does \
         not fit its declared type `FixedString(4)` (#[batch(type = \"FixedString(4)\")]): \
         this field type needs FixedString(8) or String";
    // The table as declared, and a table of the field's types: the same report.
    for (count, code) in [("Int32", "FixedString(4)"), ("Int64", "FixedString(8)")] {
        let m = check(
            "db.misfit",
            &schema,
            &server(&[("count", count, ""), ("code", code, "")]),
        )
        .unwrap_err();
        assert_eq!(
            m.to_string(),
            expected.replace("{count}", count).replace("{code}", code)
        );
    }
}

#[test]
fn a_changed_type_is_reported_even_when_it_still_fits() {
    let before = vec![
        ChType::UInt64,
        ChType::String,
        ChType::parse("Nullable(DateTime64(3))").unwrap(),
        ChType::parse("Array(String)").unwrap(),
    ];
    let mut now = before.clone();
    now[1] = ChType::FixedString(8);
    let m = changed_columns::<RowBinary>("db.events", SCHEMA.columns, &before, &now).unwrap();
    assert_eq!(m.columns.len(), 1);
    assert_eq!(m.columns[0].column, "name");
    assert_eq!(m.columns[0].server_type.as_deref(), Some("FixedString(8)"));
    assert!(m.columns[0].reason.contains("changed from `String`"), "{m}");
    assert!(changed_columns::<RowBinary>("db.events", SCHEMA.columns, &before, &before).is_none());
}
