//! A user's own types through the ClickHouse sink and back: a newtype written as the
//! `i64` it holds (with `i64`'s rule), and a colour written as a `FixedString(3)` with a
//! rule of its own. Every value is read back and compared, in both insert formats, and
//! the schema check refuses the columns the rules refuse, listing every mismatch at once.
//!
//! Needs ClickHouse at `BATCHROW_CLICKHOUSE_URL` (default `http://127.0.0.1:8123`);
//! `bash scripts/servers.sh` starts one (Debian's 18.16). Each test uses its own
//! database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use batchrow_test_support::clickhouse as support;

use batchrow::clickhouse::{ChType, ClickHouseSink, InsertFormat, RowBinary};
use batchrow::{BatchRow, Batcher, ColumnValue, Encode, EncodeError, Reason, ValueKind};
use support::{exec, fresh_database, tsv};

/// Money in cents: written as the `i64` it holds, with `i64`'s rule.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Cents(i64);

impl ColumnValue for Cents {
    const KIND: ValueKind = ValueKind::I64;
}

impl Encode<RowBinary> for Cents {
    fn encode(&self, column: &ChType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        <i64 as Encode<RowBinary>>::encode(&self.0, column, buf)
    }

    fn accepts(column: &ChType) -> Result<(), Reason> {
        <i64 as Encode<RowBinary>>::accepts(column)
    }
}

/// A colour, stored as its three bytes in a `FixedString(3)`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Rgb(u8, u8, u8);

impl ColumnValue for Rgb {
    const KIND: ValueKind = ValueKind::Other;
}

impl Encode<RowBinary> for Rgb {
    fn encode(&self, column: &ChType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        if Self::accepts(column).is_err() {
            return Err(EncodeError::Unsupported {
                rust: "Rgb",
                server: column.to_string(),
            });
        }
        buf.extend_from_slice(&[self.0, self.1, self.2]);
        Ok(())
    }

    fn accepts(column: &ChType) -> Result<(), Reason> {
        match column {
            ChType::FixedString(3) => Ok(()),
            _ => Err(Reason::needs("FixedString(3)")),
        }
    }
}

#[derive(BatchRow, Debug, Clone)]
#[batch(table = "paint")]
struct Paint {
    id: u32,
    price: Cents,
    color: Rgb,
    palette: Vec<Rgb>,
    discount: Option<Cents>,
}

fn rows() -> Vec<Paint> {
    (0..50u8)
        .map(|i| Paint {
            id: u32::from(i),
            price: Cents(i64::from(i) * -1_000_003 + 7),
            color: Rgb(i, 255 - i, i.wrapping_mul(37)),
            palette: (0..i % 4).map(|k| Rgb(k, i, 0)).collect(),
            discount: (i % 3 == 0).then_some(Cents(i64::MIN + i64::from(i))),
        })
        .collect()
}

#[tokio::test]
async fn user_types_round_trip_in_both_formats() {
    for (db, format) in [
        ("batchrow_ch_user_native", InsertFormat::Native),
        ("batchrow_ch_user_rowbinary", InsertFormat::RowBinary),
    ] {
        let client = fresh_database(db).await;
        exec(
            &client,
            "CREATE TABLE paint (id UInt32, price Int64, color FixedString(3), \
             palette Array(FixedString(3)), discount Nullable(Int64)) \
             ENGINE = MergeTree ORDER BY id",
        )
        .await;
        let handle = Batcher::builder(ClickHouseSink::new(client.clone()).insert_format(format))
            .max_rows(16)
            .spawn::<Paint>()
            .await
            .unwrap();
        let rows = rows();
        handle.insert_many(rows.clone()).await.unwrap();
        let stats = handle.close().await.unwrap();
        assert_eq!(stats.committed.rows, rows.len() as u64);

        let got = tsv(
            &client,
            "SELECT id, price, hex(color), arrayMap(c -> hex(c), palette), discount \
             FROM paint ORDER BY id",
        )
        .await;
        let want: String = rows
            .iter()
            .map(|r| {
                let hex = |c: &Rgb| format!("{:02X}{:02X}{:02X}", c.0, c.1, c.2);
                let palette: Vec<String> =
                    r.palette.iter().map(|c| format!("'{}'", hex(c))).collect();
                let discount = r.discount.map_or("\\N".to_owned(), |d| d.0.to_string());
                format!(
                    "{}\t{}\t{}\t[{}]\t{discount}\n",
                    r.id,
                    r.price.0,
                    hex(&r.color),
                    palette.join(",")
                )
            })
            .collect();
        assert_eq!(got, want, "{format:?}");
    }
}

#[tokio::test]
async fn the_rules_of_user_types_are_in_the_schema_check() {
    let client = fresh_database("batchrow_ch_user_wrong").await;
    exec(
        &client,
        "CREATE TABLE paint (id UInt32, price Int32, color String, \
         palette Array(FixedString(4))) ENGINE = MergeTree ORDER BY id",
    )
    .await;
    let err = batchrow_test_support::schema_error(
        Batcher::builder(ClickHouseSink::new(client))
            .spawn::<Paint>()
            .await
            .unwrap_err(),
    );
    assert_eq!(
        err.to_string(),
        "the row type does not match table batchrow_ch_user_wrong.paint (4 columns):
  - column `price`: field type `Cents`, server type `Int32`: this field type needs Int64
  - column `color`: field type `Rgb`, server type `String`: this field type needs FixedString(3)
  - column `palette`: field type `Vec<Rgb>`, server type `Array(FixedString(4))`: in the array elements: this field type needs FixedString(3)
  - column `discount`: field type `Option<Cents>`, not in the table: the table has no such column"
    );
}
