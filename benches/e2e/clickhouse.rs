//! The ClickHouse contenders, and the table they write to.

use std::path::Path;
use std::process::Command;

use batchrow::clickhouse::{ClickHouseSink, InsertCompression, InsertFormat};
use batchrow::{BatchRow, Batcher};
use chrono::{DateTime, Utc};

use crate::workload::{Checksum, Workload};

/// The database the benchmark owns (dropped and created anew by each run of it).
pub(crate) const DATABASE: &str = "batchrow_bench_e2e";
/// The batch size of batchrow's batcher by default, given to the crate's `Inserter`.
pub(crate) const BATCH_ROWS: u64 = 100_000;

/// The row, for batchrow and for the `clickhouse` crate alike.
#[derive(BatchRow, clickhouse::Row, serde::Serialize)]
#[batch(table = "events")]
pub(crate) struct Event<'a> {
    id: u64,
    #[serde(with = "clickhouse::serde::chrono::datetime")]
    ts: DateTime<Utc>,
    user_id: u32,
    #[batch(type = "LowCardinality(String)")]
    event: &'a str,
    value: f64,
    payload: &'a str,
}

fn event(w: &Workload, i: u64) -> Event<'_> {
    let r = w.row(i);
    Event {
        id: r.id,
        ts: DateTime::from_timestamp(r.ts, 0).expect("a valid timestamp"),
        user_id: r.user_id,
        event: r.event,
        value: r.value,
        payload: r.payload,
    }
}

pub(crate) fn url() -> String {
    std::env::var("BATCHROW_CLICKHOUSE_URL").unwrap_or_else(|_| "http://127.0.0.1:8123".into())
}

/// A client in the benchmark's database. Validation is off: 18.16 has no
/// `RowBinaryWithNamesAndTypes`. Compression is the crate's default (LZ4).
fn client() -> clickhouse::Client {
    clickhouse::Client::default()
        .with_url(url())
        .with_database(DATABASE)
        .with_validation(false)
}

async fn exec(sql: &str) {
    clickhouse::Client::default()
        .with_url(url())
        .with_setting("allow_experimental_low_cardinality_type", "1")
        .query(sql)
        .execute()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "ClickHouse at {} failed `{sql}`: {e} (start it with `bash scripts/servers.sh`)",
                url()
            )
        });
}

/// Creates the database and the table, empty.
pub(crate) async fn setup() {
    exec(&format!("DROP DATABASE IF EXISTS {DATABASE}")).await;
    exec(&format!("CREATE DATABASE {DATABASE}")).await;
    exec(&format!(
        "CREATE TABLE {DATABASE}.events (id UInt64, ts DateTime, user_id UInt32, \
         event LowCardinality(String), value Float64, payload String) \
         ENGINE = MergeTree ORDER BY id"
    ))
    .await;
}

pub(crate) async fn truncate() {
    exec(&format!("TRUNCATE TABLE {DATABASE}.events")).await;
}

pub(crate) async fn teardown() {
    exec(&format!("DROP DATABASE IF EXISTS {DATABASE}")).await;
}

/// `count()` and the column sums, from the server.
pub(crate) async fn checksum() -> Checksum {
    let (count, sum_id, sum_user_id, sum_ts, sum_event_len, sum_value_cents, sum_payload_len) =
        client()
            .query(
                "SELECT count(), sum(id), sum(user_id), sum(toUInt32(ts)), sum(length(event)), \
                 sum(toUInt64(round(value * 100))), sum(length(payload)) FROM events",
            )
            .fetch_one::<(u64, u64, u64, u64, u64, u64, u64)>()
            .await
            .expect("the checksum query");
    Checksum {
        count,
        sum_id,
        sum_user_id,
        sum_ts,
        sum_event_len,
        sum_value_cents,
        sum_payload_len,
    }
}

/// Writes the table's rows into `file` in `format` (RowBinary or Native), with curl.
pub(crate) fn export(format: &str, file: &Path) {
    let query = format!(
        "SELECT id, ts, user_id, event, value, payload FROM {DATABASE}.events FORMAT {format}"
    );
    let status = Command::new("curl")
        .args(["-sS", "--fail", "--data-binary", &query, "-o"])
        .arg(file)
        .arg(format!("{}/", url().trim_end_matches('/')))
        .status()
        .expect("curl");
    assert!(status.success(), "exporting the table as {format} failed");
}

/// batchrow: `producers` tasks insert through one batcher with default settings.
pub(crate) async fn batchrow(
    w: &'static Workload,
    rows: u64,
    producers: u64,
    format: InsertFormat,
    compression: InsertCompression,
) {
    let sink = ClickHouseSink::new(client())
        .insert_format(format)
        .compression(compression);
    let handle = Batcher::builder(sink)
        .spawn::<Event>()
        .await
        .expect("the batcher starts (schema check)");
    crate::workload::insert_all(handle, w, rows, producers, event).await;
}

/// The `clickhouse` crate: one `Insert` of all rows.
pub(crate) async fn crate_insert(w: &Workload, rows: u64) {
    let mut insert = client()
        .insert::<Event>("events")
        .await
        .expect("Client::insert");
    for i in 0..rows {
        insert.write(&event(w, i)).await.expect("Insert::write");
    }
    insert.end().await.expect("Insert::end");
}

/// The `clickhouse` crate: its `Inserter`, an `INSERT` per [`BATCH_ROWS`] rows, with
/// LZ4 (the crate's default) or without compression.
pub(crate) async fn crate_inserter(w: &Workload, rows: u64, compression: InsertCompression) {
    let client = match compression {
        InsertCompression::None => client().with_compression(clickhouse::Compression::None),
        _ => client(),
    };
    let mut inserter = client.inserter::<Event>("events").with_max_rows(BATCH_ROWS);
    for i in 0..rows {
        inserter.write(&event(w, i)).await.expect("Inserter::write");
        inserter.commit().await.expect("Inserter::commit");
    }
    inserter.end().await.expect("Inserter::end");
}

/// curl POSTs a file of `format` (uncompressed) in one `INSERT`.
pub(crate) fn curl(format: &str, file: &Path) {
    let status = Command::new("curl")
        .args(["-sS", "--fail", "-o", "/dev/null", "--data-binary"])
        .arg(format!("@{}", file.display()))
        .arg(format!(
            "{}/?database={DATABASE}&query=INSERT%20INTO%20events%20FORMAT%20{format}",
            url().trim_end_matches('/')
        ))
        .status()
        .expect("curl");
    assert!(status.success(), "curl POST of the {format} file failed");
}
