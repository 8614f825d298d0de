//! Types added through their own `Encode<PgBinary>` rule, through a real server and back:
//! `interval` (batchrow's [`Interval`]), and the two ways in for a user's own type, a
//! type PostgreSQL has and batchrow has no encoder for (`point`) and a newtype into a
//! domain. Every value is read back and compared, and the schema check refuses the
//! columns the rules refuse, listing every one.
//!
//! Needs PostgreSQL 15: `bash scripts/servers.sh` starts it; the URL comes from
//! `BATCHROW_POSTGRES_URL` (see `support/postgres.rs`). Each test uses its own tables.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use batchrow_test_support::postgres as pg;

use std::error::Error;

use batchrow::postgres::{Interval, PgBinary, PgType, PgTypeKind};
use batchrow::{BatchRow, ColumnValue, Encode, EncodeError, Reason, SinkErrorKind, ValueKind};
use tokio_postgres::types::{FromSql, Type};

/// The rows of `select` in `id` order, which must be `n`.
async fn read_back(c: &tokio_postgres::Client, select: &str, n: usize) -> Vec<tokio_postgres::Row> {
    let rows = c
        .query(&format!("{select} ORDER BY id"), &[])
        .await
        .unwrap();
    assert_eq!(rows.len(), n, "rows read back by {select}");
    rows
}

/// The three parts of an `interval` as the server sends them in binary.
#[derive(Debug, PartialEq)]
struct RawInterval(Interval);

impl<'a> FromSql<'a> for RawInterval {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        let raw: [u8; 16] = raw.try_into()?;
        let micros = i64::from_be_bytes(raw[..8].try_into()?);
        let days = i32::from_be_bytes(raw[8..12].try_into()?);
        let months = i32::from_be_bytes(raw[12..].try_into()?);
        Ok(RawInterval(Interval::new(months, days, micros)))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::INTERVAL
    }
}

#[derive(BatchRow, Debug, Clone)]
struct Span {
    id: i32,
    d: Interval,
    n: Option<Interval>,
    #[batch(rename = "list")]
    all: Vec<Option<Interval>>,
}

fn intervals() -> Vec<Interval> {
    vec![
        Interval::default(),
        Interval::new(1, 0, 0),
        Interval::new(0, 1, 0),
        Interval::new(0, 0, 1),
        Interval::new(-13, 40, -3_723_500_000),
        Interval::new(14, -1, 86_399_999_999),
        Interval::new(i32::MAX, i32::MIN, i64::MAX),
        Interval::new(i32::MIN, i32::MAX, i64::MIN + 1),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn intervals_round_trip() {
    let c = pg::client().await;
    let table = pg::unique("interval");
    c.batch_execute(&format!(
        "CREATE TABLE {table} (id int4 PRIMARY KEY, d interval NOT NULL, n interval, \
         list interval[] NOT NULL)"
    ))
    .await
    .unwrap();
    let values = intervals();
    let rows: Vec<Span> = values
        .iter()
        .enumerate()
        .map(|(i, v)| Span {
            id: i32::try_from(i).unwrap(),
            d: *v,
            n: (i % 2 == 0).then_some(*v),
            all: vec![Some(*v), None, Some(values[(i + 1) % values.len()])],
        })
        .collect();
    pg::insert_all(&table, rows.clone()).await;

    // Binary: every part of every value, as sent.
    let got = read_back(
        &c,
        &format!("SELECT id, d, n, list FROM {table}"),
        rows.len(),
    )
    .await;
    for (row, want) in got.iter().zip(&rows) {
        assert_eq!(row.get::<_, i32>(0), want.id);
        assert_eq!(row.get::<_, RawInterval>(1).0, want.d, "d of {}", want.id);
        let n: Option<RawInterval> = row.get(2);
        assert_eq!(n.map(|r| r.0), want.n, "n of {}", want.id);
        let list: Vec<Option<RawInterval>> = row.get(3);
        let list: Vec<Option<Interval>> = list.into_iter().map(|r| r.map(|r| r.0)).collect();
        assert_eq!(list, want.all, "list of {}", want.id);
    }

    // Text: the server prints each value as `Interval` displays it.
    c.batch_execute("SET intervalstyle = iso_8601")
        .await
        .unwrap();
    let got = c
        .query(&format!("SELECT d::text FROM {table} ORDER BY id"), &[])
        .await
        .unwrap();
    let texts: Vec<String> = got.iter().map(|r| r.get(0)).collect();
    let want: Vec<String> = values.iter().map(ToString::to_string).collect();
    assert_eq!(texts, want);
}

/// A PostgreSQL `point`: a type batchrow has no encoder for, added by its user.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Point {
    x: f64,
    y: f64,
}

const POINT_OID: u32 = 600;

impl ColumnValue for Point {
    const KIND: ValueKind = ValueKind::Other;
}

impl Encode<PgBinary> for Point {
    fn encode(&self, column: &PgType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        if Self::accepts(column).is_err() {
            return Err(EncodeError::Unsupported {
                rust: "Point",
                server: column.name().to_owned(),
            });
        }
        buf.extend_from_slice(&16i32.to_be_bytes());
        buf.extend_from_slice(&self.x.to_be_bytes());
        buf.extend_from_slice(&self.y.to_be_bytes());
        Ok(())
    }

    fn accepts(column: &PgType) -> Result<(), Reason> {
        match column.kind() {
            PgTypeKind::Base if column.base_oid() == POINT_OID => Ok(()),
            _ => Err(Reason::new("this field type needs point").expecting("point")),
        }
    }
}

/// Money in cents: a newtype that is written as the `i64` it holds, with `i64`'s rule,
/// into a domain over `bigint`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Cents(i64);

impl ColumnValue for Cents {
    const KIND: ValueKind = ValueKind::I64;
}

impl Encode<PgBinary> for Cents {
    fn encode(&self, column: &PgType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        <i64 as Encode<PgBinary>>::encode(&self.0, column, buf)
    }

    fn accepts(column: &PgType) -> Result<(), Reason> {
        <i64 as Encode<PgBinary>>::accepts(column)
    }
}

#[derive(BatchRow, Debug, Clone)]
struct Place {
    id: i32,
    at: Point,
    price: Cents,
    path: Vec<Point>,
}

#[tokio::test(flavor = "multi_thread")]
async fn user_types_round_trip_and_their_rules_are_checked() {
    let c = pg::client().await;
    let table = pg::unique("place");
    let domain = pg::unique("cents");
    c.batch_execute(&format!(
        "CREATE DOMAIN {domain} AS bigint CHECK (VALUE >= 0); \
         CREATE TABLE {table} (id int4 PRIMARY KEY, at point NOT NULL, \
         price {domain} NOT NULL, path point[] NOT NULL)"
    ))
    .await
    .unwrap();
    let rows: Vec<Place> = (0..7)
        .map(|i| Place {
            id: i,
            at: Point {
                x: f64::from(i) * 1.5,
                y: -f64::from(i) / 3.0,
            },
            price: Cents(i64::from(i) * 1_000_000_007),
            path: (0..i)
                .map(|k| Point {
                    x: f64::from(k),
                    y: f64::MAX / f64::from(k + 1),
                })
                .collect(),
        })
        .collect();
    pg::insert_all(&table, rows.clone()).await;

    let sql = format!(
        "SELECT id, (at)[0], (at)[1], price::int8, ARRAY(SELECT p[0] FROM unnest(path) p), \
         ARRAY(SELECT p[1] FROM unnest(path) p) FROM {table}"
    );
    let got = read_back(&c, &sql, rows.len()).await;
    for (row, want) in got.iter().zip(&rows) {
        assert_eq!(row.get::<_, i32>(0), want.id);
        let at = Point {
            x: row.get(1),
            y: row.get(2),
        };
        assert_eq!(at, want.at, "at of {}", want.id);
        assert_eq!(Cents(row.get(3)), want.price, "price of {}", want.id);
        let xs: Vec<f64> = row.get(4);
        let ys: Vec<f64> = row.get(5);
        let path: Vec<Point> = xs
            .into_iter()
            .zip(ys)
            .map(|(x, y)| Point { x, y })
            .collect();
        assert_eq!(path, want.path, "path of {}", want.id);
    }

    // Columns the rules refuse: every one is listed, with what the field type needs.
    let wrong = pg::unique("place_wrong");
    c.batch_execute(&format!(
        "CREATE TABLE {wrong} (id int4, at text, price int4, path point)"
    ))
    .await
    .unwrap();
    let err = pg::prepare::<Place>(pg::sink(&wrong)).await.unwrap_err();
    assert_eq!(err.kind(), SinkErrorKind::Schema);
    assert_eq!(
        err.to_string(),
        format!(
            "the row type does not match table public.{wrong} (3 columns):\n  \
             - column `at`: field type `Point`, server type `text`: this field type needs \
             point\n  \
             - column `price`: field type `Cents`, server type `integer`: this field type \
             needs bigint\n  \
             - column `path`: field type `Vec<Point>`, server type `point`: this field type \
             needs an array of point"
        )
    );
}
