//! Runtime behaviour of the derives: the generated table and columns, and `encode_row`
//! with a small text format defined here (so that no sink crate is needed).

#![allow(clippy::unwrap_used, clippy::panic)]

use std::fmt::Write as _;

use batchrow::{
    BatchEnum, BatchRow, Column, ColumnValue, Encode, EncodeError, EncodeRow, EnumValue, Format,
    ValueKind,
};

/// Writes each value as `column:value;`; a row starts with `<count>|`.
#[derive(Debug)]
struct Text;

/// What the "sink" resolved for a column: here just its name.
#[derive(Debug, Clone)]
struct Col(&'static str);

impl Format for Text {
    type Column = Col;
    const NAME: &'static str = "test text";

    fn begin_row(columns: u16, buf: &mut Vec<u8>) {
        buf.extend_from_slice(format!("{columns}|").as_bytes());
    }

    fn encode_enum(
        label: &'static str,
        value: i16,
        column: &Col,
        buf: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        buf.extend_from_slice(format!("{}:{label}={value};", column.0).as_bytes());
        Ok(())
    }
}

macro_rules! text_display {
    ($($ty:ty),*) => {$(
        impl Encode<Text> for $ty {
            fn encode(&self, column: &Col, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
                buf.extend_from_slice(format!("{}:{self};", column.0).as_bytes());
                Ok(())
            }
        }
    )*};
}
text_display!(u64, u32, String, str, bool);

impl Encode<Text> for i32 {
    fn encode(&self, column: &Col, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        if *self < 0 {
            return Err(EncodeError::OutOfRange {
                what: "test non-negative",
                value: self.to_string(),
            });
        }
        buf.extend_from_slice(format!("{}:{self};", column.0).as_bytes());
        Ok(())
    }
}

impl<T: Encode<Text>> Encode<Text> for Option<T> {
    fn encode(&self, column: &Col, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        match self {
            Some(v) => v.encode(column, buf),
            None => {
                buf.extend_from_slice(format!("{}:NULL;", column.0).as_bytes());
                Ok(())
            }
        }
    }
}

impl<T: Encode<Text>> Encode<Text> for Vec<T> {
    fn encode(&self, column: &Col, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        buf.push(b'[');
        for v in self {
            v.encode(column, buf)?;
        }
        buf.extend_from_slice(b"];");
        Ok(())
    }
}

#[derive(BatchRow)]
#[batch(table = "events", rename_all = "camelCase")]
struct Event<'a> {
    event_id: u64,
    #[batch(rename = "who", type = "text")]
    user_name: &'a str,
    #[batch(type = "LowCardinality(Nullable(String))")]
    kind: Option<String>,
    #[batch(skip)]
    #[allow(dead_code)]
    scratch: Vec<u8>,
    #[batch(type = "Array(Int32)")]
    scores: Vec<i32>,
    level: Level,
}

#[derive(BatchEnum, Debug, Clone, Copy, PartialEq)]
#[batch(rename_all = "lowercase")]
enum Level {
    Debug = -1,
    Info,
    #[batch(rename = "WARNING")]
    Warn = 10,
    Error,
}

/// The resolved columns of `R`, in order, as a sink would build them.
fn resolve<R: BatchRow>() -> Vec<Col> {
    R::COLUMNS.iter().map(|c| Col(c.name)).collect()
}

fn encode<R: EncodeRow<Text>>(row: &R) -> Result<String, EncodeError> {
    let mut buf = Vec::new();
    row.encode_row(&resolve::<R>(), &mut buf)?;
    Ok(String::from_utf8(buf).unwrap())
}

#[test]
fn table_and_columns() {
    assert_eq!(Event::TABLE, "events");
    let columns: Vec<(&str, &str, &str, Option<&str>, bool)> = Event::COLUMNS
        .iter()
        .map(|c| (c.name, c.field, c.rust_type, c.declared, c.nullable()))
        .collect();
    assert_eq!(
        columns,
        [
            ("eventId", "event_id", "u64", None, false),
            ("who", "user_name", "&'a str", Some("text"), false),
            (
                "kind",
                "kind",
                "Option<String>",
                Some("LowCardinality(Nullable(String))"),
                true
            ),
            ("scores", "scores", "Vec<i32>", Some("Array(Int32)"), false),
            ("level", "level", "Level", None, false),
        ]
    );
    let kinds: Vec<ValueKind> = Event::COLUMNS.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [
            ValueKind::U64,
            ValueKind::String,
            ValueKind::Nullable(&ValueKind::String),
            ValueKind::Array(&ValueKind::I32),
            <Level as ColumnValue>::KIND,
        ]
    );
    // `type Static` is the same struct with every lifetime 'static.
    fn same<A: 'static, B: 'static>() -> bool {
        std::any::TypeId::of::<A>() == std::any::TypeId::of::<B>()
    }
    assert!(same::<<Event<'_> as BatchRow>::Static, Event<'static>>());
}

#[test]
fn encode_row_writes_the_fields_in_order() {
    let user = String::from("ada");
    let event = Event {
        event_id: 7,
        user_name: &user,
        kind: None,
        scratch: vec![1, 2, 3],
        scores: vec![1, 2],
        level: Level::Warn,
    };
    assert_eq!(
        encode(&event).unwrap(),
        "5|eventId:7;who:ada;kind:NULL;[scores:1;scores:2;];level:WARNING=10;"
    );
    let event = Event {
        kind: Some("click".into()),
        level: Level::Debug,
        ..event
    };
    assert_eq!(
        encode(&event).unwrap(),
        "5|eventId:7;who:ada;kind:click;[scores:1;scores:2;];level:debug=-1;"
    );
}

#[test]
fn encode_errors_name_the_column() {
    let event = Event {
        event_id: 1,
        user_name: "x",
        kind: None,
        scratch: Vec::new(),
        scores: vec![3, -4],
        level: Level::Info,
    };
    let err = encode(&event).unwrap_err();
    assert!(
        matches!(&err, EncodeError::Column { column: "scores", source } if matches!(**source, EncodeError::OutOfRange { .. })),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "column `scores`: value -4 is out of range for test non-negative"
    );
}

#[test]
fn encode_row_checks_the_column_count() {
    let event = Event {
        event_id: 1,
        user_name: "x",
        kind: None,
        scratch: Vec::new(),
        scores: Vec::new(),
        level: Level::Info,
    };
    let mut buf = Vec::new();
    let err = EncodeRow::<Text>::encode_row(&event, &[Col("a"), Col("b")], &mut buf).unwrap_err();
    assert!(
        matches!(
            err,
            EncodeError::ColumnCount {
                expected: 5,
                got: 2
            }
        ),
        "{err:?}"
    );
    assert!(buf.is_empty());
}

#[test]
fn enum_labels_and_values() {
    let variants = [
        (Level::Debug, "debug", -1),
        (Level::Info, "info", 0),
        (Level::Warn, "WARNING", 10),
        (Level::Error, "error", 11),
    ];
    for (level, label, value) in variants {
        assert_eq!((level.label(), level.value()), (label, value));
    }
    let ValueKind::Enum(listed) = <Level as ColumnValue>::KIND else {
        panic!("not an enum kind");
    };
    let listed: Vec<(&str, i16)> = listed.iter().map(|v| (v.label, v.value)).collect();
    assert_eq!(
        listed,
        [("debug", -1), ("info", 0), ("WARNING", 10), ("error", 11)]
    );
}

/// A generic row: type parameters must be 'static, lifetimes may be anything.
#[derive(BatchRow)]
struct Pair<'a, T, const N: usize>
where
    T: Clone,
{
    #[batch(type = "UInt64")]
    key: T,
    name: &'a str,
    tags: [u8; N],
}

impl<const N: usize> Encode<Text> for [u8; N] {
    fn encode(&self, column: &Col, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        let mut s = String::new();
        for b in self {
            write!(s, "{b:02x}").unwrap();
        }
        buf.extend_from_slice(format!("{}:{s};", column.0).as_bytes());
        Ok(())
    }
}

#[test]
fn generic_rows() {
    assert_eq!(<Pair<u64, 2> as BatchRow>::TABLE, "pair");
    let columns: Vec<(&str, &str, Option<&str>, ValueKind)> = <Pair<u64, 2> as BatchRow>::COLUMNS
        .iter()
        .map(|c: &Column| (c.name, c.rust_type, c.declared, c.kind))
        .collect();
    assert_eq!(
        columns,
        [
            ("key", "T", Some("UInt64"), ValueKind::U64),
            ("name", "&'a str", None, ValueKind::String),
            ("tags", "[u8; N]", None, ValueKind::FixedBytes(2)),
        ]
    );
    let name = String::from("n");
    let row = Pair {
        key: 5u64,
        name: &name,
        tags: [0xab, 0x01],
    };
    assert_eq!(encode(&row).unwrap(), "3|key:5;name:n;tags:ab01;");
}

/// `#[batch(crate = "..")]`: the generated code names only `<path>::__private` items, so
/// a crate that depends on batch-core directly (as the sink crates do) can use the derive.
mod via_core {
    #[derive(batchrow::BatchRow)]
    #[batch(crate = "batch_core")]
    pub(super) struct CoreRow {
        pub(super) id: u64,
    }
}

#[test]
fn crate_path_override() {
    use batch_core::BatchRow as _;
    assert_eq!(via_core::CoreRow::TABLE, "core_row");
    assert_eq!(
        via_core::CoreRow::COLUMNS[0].kind,
        batch_core::ValueKind::U64
    );
    let row = via_core::CoreRow { id: 9 };
    assert_eq!(encode(&row).unwrap(), "1|id:9;");
}

/// Raw identifiers: the column and the Rust field are named without `r#`, the struct's
/// default table name too, and the field is still read as `self.r#type`.
#[derive(BatchRow)]
#[allow(non_camel_case_types)]
struct r#match {
    r#type: String,
    r#loop: u32,
}

#[test]
fn raw_identifiers() {
    assert_eq!(r#match::TABLE, "match");
    let columns: Vec<(&str, &str)> = r#match::COLUMNS.iter().map(|c| (c.name, c.field)).collect();
    assert_eq!(columns, [("type", "type"), ("loop", "loop")]);
    let row = r#match {
        r#type: "t".into(),
        r#loop: 3,
    };
    assert_eq!(encode(&row).unwrap(), "2|type:t;loop:3;");
}

/// A field whose type only ends in the name of a type parameter (`other::T`) is not
/// generic: its declared type is checked at the definition, and it adds no bound.
mod other {
    #[allow(clippy::upper_case_acronyms, dead_code)]
    pub(super) type T = u32;
}

#[derive(BatchRow)]
struct Shadow<T> {
    generic: T,
    #[batch(type = "UInt32")]
    concrete: other::T,
}

#[test]
fn paths_ending_in_a_parameter_name() {
    let columns: Vec<&str> = <Shadow<u64> as BatchRow>::COLUMNS
        .iter()
        .map(|c| c.rust_type)
        .collect();
    assert_eq!(columns, ["T", "other::T"]);
    let row = Shadow {
        generic: 1u64,
        concrete: 2,
    };
    assert_eq!(encode(&row).unwrap(), "2|generic:1;concrete:2;");
}
