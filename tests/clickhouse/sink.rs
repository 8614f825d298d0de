//! The ClickHouse sink against a real server: the schema check's report, configuration
//! errors, quoting, settings, and how server errors are classified.
//!
//! Needs ClickHouse at `BATCHROW_CLICKHOUSE_URL` (default `http://127.0.0.1:8123`);
//! `bash scripts/servers.sh` starts one (Debian's 18.16). Each test uses its own
//! database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use batchrow_test_support::clickhouse as support;

use batchrow::clickhouse::{ClickHouseSink, InsertFormat, RowBinary};
use batchrow::{BatchRow, Batcher, Schema, Sender, Sink, SinkErrorKind};
use support::{batch, exec, fresh_database, raw_batch, tsv};

#[derive(BatchRow)]
#[batch(table = "wrong")]
struct Wrong {
    id: u64,
    name: String,
    at: Option<i32>,
    missing: u8,
    ok: String,
}

#[tokio::test]
async fn the_schema_check_names_every_mismatched_column() {
    let db = "batchrow_ch_mismatch";
    let client = fresh_database(db).await;
    exec(
        &client,
        "CREATE TABLE wrong (id Int64, name Nullable(String), at Int32, ok String, \
         required UInt32, defaulted UInt32 DEFAULT 7, doubled Int64 MATERIALIZED id * 2) \
         ENGINE = MergeTree ORDER BY tuple()",
    )
    .await;
    let sink = ClickHouseSink::new(client);
    let err = sink
        .prepare(Schema::checked::<Wrong, RowBinary>())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), SinkErrorKind::Schema);
    assert_eq!(err.mismatch().unwrap().columns.len(), 5);
    assert_eq!(
        err.to_string(),
        "the row type does not match table batchrow_ch_mismatch.wrong (5 columns):
  - column `id`: field type `u64`, server type `Int64`: this field type needs UInt64
  - column `name`: field type `String`, server type `Nullable(String)`: the column is Nullable but the field is not an `Option`: make the field an `Option<..>`
  - column `at`: field type `Option<i32>`, server type `Int32`: the field is an `Option` but the column is not Nullable, so it cannot store NULL: make the column Nullable(..) or the field not an `Option`
  - column `missing`: field type `u8`, not in the table: the table has no such column
  - column `required`: server type `UInt32`, not in the struct: the column has no DEFAULT, MATERIALIZED or ALIAS expression, so every insert must set it: add a field for it"
    );
}

#[derive(BatchRow)]
#[batch(table = "calc")]
struct IntoMaterialized {
    id: i64,
    doubled: i64,
}

#[tokio::test]
async fn materialized_and_alias_columns_cannot_be_inserted_into() {
    let client = fresh_database("batchrow_ch_materialized").await;
    exec(
        &client,
        "CREATE TABLE calc (id Int64, doubled Int64 MATERIALIZED id * 2, \
         tripled Int64 ALIAS id * 3) ENGINE = MergeTree ORDER BY tuple()",
    )
    .await;
    let err = ClickHouseSink::new(client)
        .prepare(Schema::of::<IntoMaterialized>())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), SinkErrorKind::Schema);
    assert_eq!(
        err.to_string(),
        "the row type does not match table batchrow_ch_materialized.calc (1 column):
  - column `doubled`: field type `i64`, server type `Int64`: MATERIALIZED columns cannot be inserted into: remove the field or mark it #[batch(skip)]"
    );
}

#[derive(BatchRow, Debug)]
#[batch(table = "plain")]
struct Plain {
    id: u64,
    s: String,
}

#[tokio::test]
async fn a_missing_table_is_a_config_error() {
    let client = fresh_database("batchrow_ch_no_table").await;
    let err = ClickHouseSink::new(client)
        .prepare(Schema::of::<Plain>())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), SinkErrorKind::Config);
    assert_eq!(
        err.to_string(),
        "table `batchrow_ch_no_table`.`plain` does not exist"
    );
}

#[tokio::test]
async fn a_missing_database_is_a_config_error() {
    // Named on the sink: found missing in system.databases.
    let err = ClickHouseSink::new(support::client())
        .database("batchrow_ch_no_such_db")
        .prepare(Schema::of::<Plain>())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), SinkErrorKind::Config);
    assert_eq!(
        err.to_string(),
        "database `batchrow_ch_no_such_db` does not exist"
    );
    // Named on the client: the server refuses every query (code 81).
    let err = ClickHouseSink::new(support::client().with_database("batchrow_ch_no_such_db"))
        .prepare(Schema::of::<Plain>())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), SinkErrorKind::Config);
    assert_eq!(err.code(), Some("81"));
    assert!(
        err.to_string()
            .starts_with("database `batchrow_ch_no_such_db` does not exist (ClickHouse:"),
        "{err}"
    );
}

#[tokio::test]
async fn a_wrong_password_is_a_config_error() {
    let client = support::client()
        .with_user("default")
        .with_password("certainly-not-the-password");
    let err = ClickHouseSink::new(client)
        .prepare(Schema::of::<Plain>())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), SinkErrorKind::Config, "{err}");
    // 193 WRONG_PASSWORD on 18.x, 516 AUTHENTICATION_FAILED on current servers.
    assert!(matches!(err.code(), Some("193" | "516")), "{err}");
    assert!(err.to_string().to_lowercase().contains("password"), "{err}");
}

#[tokio::test]
async fn a_column_dropped_after_the_check_is_reported_as_a_schema_error() {
    let client = fresh_database("batchrow_ch_dropped").await;
    exec(
        &client,
        "CREATE TABLE plain (id UInt64, s String) ENGINE = MergeTree ORDER BY id",
    )
    .await;
    let sink = ClickHouseSink::new(client.clone())
        .prepare(Schema::of::<Plain>())
        .await
        .unwrap();
    let rows = [Plain {
        id: 1,
        s: "a".into(),
    }];
    let b = batch(&sink, &rows).unwrap();
    sink.send(&b).await.unwrap();

    exec(&client, "ALTER TABLE plain DROP COLUMN s").await;
    let err = sink.send(&b).await.unwrap_err();
    assert_eq!(err.kind(), SinkErrorKind::Schema, "{err}");
    assert_eq!(err.code(), Some("16"), "NO_SUCH_COLUMN_IN_TABLE: {err}");
    assert_eq!(
        err.to_string(),
        "the row type does not match table batchrow_ch_dropped.plain (1 column):
  - column `s`: field type `String`, not in the table: the table has no such column"
    );

    // The column comes back with another type the field would fit: the batch was
    // encoded for `String` (01 61), which a FixedString(1) reads as one byte and then
    // runs out of data. The report names the change instead of a bare parse error.
    exec(&client, "ALTER TABLE plain ADD COLUMN s FixedString(1)").await;
    let err = sink.send(&b).await.unwrap_err();
    assert_eq!(err.kind(), SinkErrorKind::Schema, "{err}");
    assert_eq!(
        err.to_string(),
        "the row type does not match table batchrow_ch_dropped.plain (1 column):
  - column `s`: field type `String`, server type `FixedString(1)`: the column's type changed from `String` after the sink started; batches were encoded for the old type: restart the batcher"
    );
    assert_eq!(
        tsv(&client, "SELECT count() FROM plain WHERE id = 1").await,
        "1\n"
    );
}

#[tokio::test]
async fn data_the_server_refuses_is_permanent_with_its_code_and_row() {
    let client = fresh_database("batchrow_ch_refused").await;
    exec(
        &client,
        "CREATE TABLE plain (id UInt64, s String) ENGINE = MergeTree ORDER BY id",
    )
    .await;
    // The server's parse error, in RowBinary.
    let sink = ClickHouseSink::new(client.clone())
        .insert_format(InsertFormat::RowBinary)
        .prepare(Schema::of::<Plain>())
        .await
        .unwrap();
    // Row 0 is whole; row 1 ends in the middle of its string.
    let err = sink
        .send(&raw_batch(&[
            b"\x01\0\0\0\0\0\0\0\x01a",
            b"\x02\0\0\0\0\0\0\0\x05ab",
        ]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), SinkErrorKind::Permanent, "{err}");
    assert_eq!(err.code(), Some("33"), "CANNOT_READ_ALL_DATA: {err}");
    assert_eq!(err.row(), Some(1), "{err}");
    assert!(err.to_string().contains("Cannot read all data"), "{err}");
    // All or nothing: the whole rows before the bad one were not inserted either.
    assert_eq!(tsv(&client, "SELECT count() FROM plain").await, "0\n");

    // In Native, the sink finds the row it cannot transcode before sending anything.
    let sink = ClickHouseSink::new(client.clone())
        .insert_format(InsertFormat::Native)
        .prepare(Schema::of::<Plain>())
        .await
        .unwrap();
    let err = sink
        .send(&raw_batch(&[
            b"\x01\0\0\0\0\0\0\0\x01a",
            b"\x02\0\0\0\0\0\0\0\x05ab",
        ]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), SinkErrorKind::Permanent, "{err}");
    assert!(err.is_caused_by_data(), "{err}");
    assert_eq!(err.row(), Some(1), "{err}");
    assert_eq!(
        err.to_string(),
        "ClickHouse: transcoding to Native: row 1, column `s`: a value runs past the end of \
         the rows"
    );
    assert_eq!(tsv(&client, "SELECT count() FROM plain").await, "0\n");
}

#[derive(BatchRow)]
#[batch(table = "we`ird ta\\ble")]
struct Weird<'a> {
    #[batch(rename = "col`umn")]
    a: u32,
    #[batch(rename = "naïve space")]
    b: &'a str,
}

#[tokio::test]
async fn identifiers_are_quoted() {
    let client = fresh_database("batchrow_ch_quoting").await;
    exec(
        &client,
        "CREATE TABLE `we\\`ird ta\\\\ble` (`col\\`umn` UInt32, `naïve space` String) \
         ENGINE = MergeTree ORDER BY tuple()",
    )
    .await;
    let sink = support::prepare_and_send(
        ClickHouseSink::new(client.clone()),
        &[Weird { a: 7, b: "x" }],
    )
    .await
    .unwrap();
    assert_eq!(
        sink.statement(),
        "INSERT INTO `batchrow_ch_quoting`.`we\\`ird ta\\\\ble` (`col\\`umn`, `naïve space`) \
         FORMAT Native"
    );
    assert_eq!(
        tsv(
            &client,
            "SELECT `col\\`umn`, `naïve space` FROM `we\\`ird ta\\\\ble`"
        )
        .await,
        "7\tx\n"
    );
}

#[tokio::test]
async fn settings_go_with_each_insert_only_when_set() {
    let client = fresh_database("batchrow_ch_settings").await;
    exec(
        &client,
        "CREATE TABLE plain (id UInt64, s String) ENGINE = MergeTree ORDER BY id",
    )
    .await;
    let rows = [Plain {
        id: 1,
        s: "a".into(),
    }];
    // A setting every server has, sent with the insert.
    let sink = ClickHouseSink::new(client.clone()).with_setting("insert_deduplicate", "0");
    let sink = support::prepare_and_send(sink, &rows).await.unwrap();
    sink.send(&batch(&sink, &rows).unwrap()).await.unwrap();
    // Without deduplication the same block went in twice.
    assert_eq!(tsv(&client, "SELECT count() FROM plain").await, "2\n");

    // Settings the server lacks are not sent unless asked for; when asked for, the
    // server's refusal is a configuration error.
    let version = tsv(&client, "SELECT version()").await;
    if version.starts_with("18.") {
        let sink = ClickHouseSink::new(client.clone()).with_setting("async_insert", "1");
        let err = support::prepare_and_send(sink, &rows).await.unwrap_err();
        assert_eq!(err.kind(), SinkErrorKind::Config, "{err}");
        assert_eq!(err.code(), Some("115"), "UNKNOWN_SETTING: {err}");
    }
}

#[tokio::test]
async fn a_table_dropped_after_the_check_is_a_config_error() {
    let client = fresh_database("batchrow_ch_table_dropped").await;
    exec(
        &client,
        "CREATE TABLE plain (id UInt64, s String) ENGINE = MergeTree ORDER BY id",
    )
    .await;
    let sink = ClickHouseSink::new(client.clone())
        .prepare(Schema::of::<Plain>())
        .await
        .unwrap();
    let b = batch(
        &sink,
        &[Plain {
            id: 1,
            s: "a".into(),
        }],
    )
    .unwrap();
    exec(&client, "DROP TABLE plain").await;
    let err = sink.send(&b).await.unwrap_err();
    assert_eq!(err.kind(), SinkErrorKind::Config, "{err}");
    assert_eq!(
        err.to_string(),
        "table `batchrow_ch_table_dropped`.`plain` does not exist"
    );
}

/// Declared types that do not fit their fields (the field types of the derive's old
/// UI tests `type_does_not_fit` and `generic_type_does_not_fit`, with `DateTime` for
/// `DateTime64(3)`, which 18.16 lacks): the table is as declared.
#[derive(BatchRow)]
#[batch(table = "misfit")]
struct Misfit<K> {
    #[batch(type = "UInt64")]
    key: K,
    #[batch(type = "DateTime")]
    at: String,
    #[batch(type = "Int32")]
    count: i64,
    #[batch(type = "FixedString(4)")]
    code: [u8; 8],
}

/// A declared type the field's Rust type does not fit is refused before the first row
/// by the field type's `accepts` (the rule for every column), every such field at once,
/// naming the declared type and what the field needs. It was a compile error through a
/// second table of types (`Fits`); offline encoding refuses it the same way.
#[tokio::test]
async fn a_declared_type_the_field_does_not_fit_is_refused_before_the_first_row() {
    let db = "batchrow_ch_misfit";
    let client = fresh_database(db).await;
    exec(
        &client,
        "CREATE TABLE misfit (key UInt64, at DateTime, count Int32, code FixedString(4)) \
         ENGINE = MergeTree ORDER BY tuple()",
    )
    .await;
    let err = batchrow_test_support::schema_error(
        Batcher::builder(ClickHouseSink::new(client.clone()))
            .spawn::<Misfit<String>>()
            .await
            .unwrap_err(),
    );
    assert_eq!(
        err.to_string(),
        "the row type does not match table batchrow_ch_misfit.misfit (4 columns):
  - column `key`: field type `K`, server type `UInt64`: the field type does not fit its declared type `UInt64` (#[batch(type = \"UInt64\")]): this field type needs String, FixedString(N), Enum8/Enum16 (by label) or JSON
  - column `at`: field type `String`, server type `DateTime`: the field type does not fit its declared type `DateTime` (#[batch(type = \"DateTime\")]): this field type needs String, FixedString(N), Enum8/Enum16 (by label) or JSON
  - column `count`: field type `i64`, server type `Int32`: the field type does not fit its declared type `Int32` (#[batch(type = \"Int32\")]): this field type needs Int64
  - column `code`: field type `[u8; 8]`, server type `FixedString(4)`: the field type does not fit its declared type `FixedString(4)` (#[batch(type = \"FixedString(4)\")]): this field type needs FixedString(8) or String"
    );

    // Offline, without a server: the same rule.
    let err =
        RowBinary::resolve_offline(Schema::checked::<Misfit<String>, RowBinary>()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "column `key`: the field type does not fit its declared type `UInt64` \
         (#[batch(type = \"UInt64\")]): this field type needs String, FixedString(N), \
         Enum8/Enum16 (by label) or JSON"
    );

    // The fitting field types pass the same table.
    #[derive(BatchRow)]
    #[batch(table = "misfit")]
    struct Fits {
        #[batch(type = "UInt64")]
        key: u64,
        #[batch(type = "DateTime")]
        at: chrono::DateTime<chrono::Utc>,
        #[batch(type = "Int32")]
        count: i32,
        #[batch(type = "FixedString(4)")]
        code: [u8; 4],
    }
    let handle = Batcher::builder(ClickHouseSink::new(client))
        .spawn::<Fits>()
        .await
        .unwrap();
    handle
        .insert(Fits {
            key: 1,
            at: chrono::DateTime::UNIX_EPOCH,
            count: -1,
            code: *b"abcd",
        })
        .await
        .unwrap();
    assert_eq!(handle.close().await.unwrap().committed.rows, 1);
}
