//! The PostgreSQL contenders, and the table they write to.

use std::path::Path;
use std::process::Command;

use batchrow::postgres::PostgresSink;
use batchrow::{BatchRow, Batcher};
use chrono::{DateTime, Utc};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::Type;

use crate::workload::{Checksum, Workload};

/// The table the benchmark owns (dropped and created anew by each run of it).
pub(crate) const TABLE: &str = "bench_e2e_events";
const COLUMNS: &str = "id, ts, user_id, event, value, payload";

#[derive(BatchRow)]
#[batch(table = "bench_e2e_events")]
pub(crate) struct Event<'a> {
    id: i64,
    ts: DateTime<Utc>,
    user_id: i32,
    event: &'a str,
    value: f64,
    payload: &'a str,
}

fn event(w: &Workload, i: u64) -> Event<'_> {
    let r = w.row(i);
    Event {
        id: i64::try_from(r.id).expect("row ids fit i64"),
        ts: DateTime::from_timestamp(r.ts, 0).expect("a valid timestamp"),
        user_id: i32::try_from(r.user_id).expect("user ids fit i32"),
        event: r.event,
        value: r.value,
        payload: r.payload,
    }
}

pub(crate) fn url() -> String {
    std::env::var("BATCHROW_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://batchrow:batchrow@127.0.0.1:5432/batchrow".to_owned())
}

pub(crate) async fn connect() -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(&url(), tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL at {} does not answer: {e} (start it with `bash scripts/servers.sh`)",
                url()
            )
        });
    tokio::spawn(connection);
    client
}

/// Creates the table, empty. Autovacuum is off for it, so that no vacuum of an
/// earlier run's rows is charged to a later run.
pub(crate) async fn setup(c: &tokio_postgres::Client) {
    c.batch_execute(&format!(
        "DROP TABLE IF EXISTS {TABLE}; CREATE TABLE {TABLE} (id int8 NOT NULL, \
         ts timestamptz NOT NULL, user_id int4 NOT NULL, event text NOT NULL, \
         value float8 NOT NULL, payload text NOT NULL) WITH (autovacuum_enabled = false)"
    ))
    .await
    .expect("creating the table");
}

pub(crate) async fn truncate(c: &tokio_postgres::Client) {
    c.batch_execute(&format!("TRUNCATE {TABLE}"))
        .await
        .expect("TRUNCATE");
}

pub(crate) async fn teardown(c: &tokio_postgres::Client) {
    c.batch_execute(&format!("DROP TABLE IF EXISTS {TABLE}"))
        .await
        .expect("DROP TABLE");
}

pub(crate) async fn checksum(c: &tokio_postgres::Client) -> Checksum {
    let row = c
        .query_one(
            &format!(
                "SELECT count(*)::text, sum(id)::text, sum(user_id)::text, \
                 sum(extract(epoch FROM ts)::int8)::text, sum(length(event))::text, \
                 sum(round(value * 100)::int8)::text, sum(length(payload))::text FROM {TABLE}"
            ),
            &[],
        )
        .await
        .expect("the checksum query");
    let get = |i: usize| -> u64 {
        row.get::<_, Option<String>>(i)
            .map_or(0, |v| v.parse().expect("a non-negative integer sum"))
    };
    Checksum {
        count: get(0),
        sum_id: get(1),
        sum_user_id: get(2),
        sum_ts: get(3),
        sum_event_len: get(4),
        sum_value_cents: get(5),
        sum_payload_len: get(6),
    }
}

/// Writes the table's rows into `file` in binary COPY format, with psql's `\copy`.
pub(crate) fn export(file: &Path) {
    psql(&format!(
        "\\copy {TABLE} ({COLUMNS}) TO '{}' WITH (FORMAT binary)",
        file.display()
    ));
}

fn psql(command: &str) {
    let status = Command::new("psql")
        .args([&url(), "-v", "ON_ERROR_STOP=1", "-qc", command])
        .status()
        .expect("psql");
    assert!(status.success(), "psql `{command}` failed");
}

/// batchrow: `producers` tasks insert through one batcher with `max_in_flight`
/// batches at a time (`None`: the default).
pub(crate) async fn batchrow(
    w: &'static Workload,
    rows: u64,
    producers: u64,
    max_in_flight: Option<usize>,
) {
    let sink = PostgresSink::new(&url()).expect("PostgresSink::new");
    let mut builder = Batcher::builder(sink);
    if let Some(n) = max_in_flight {
        builder = builder.max_in_flight(n);
    }
    let handle = builder
        .spawn::<Event>()
        .await
        .expect("the batcher starts (schema check)");
    crate::workload::insert_all(handle, w, rows, producers, event).await;
}

/// tokio-postgres: all rows in one COPY through `BinaryCopyInWriter`.
pub(crate) async fn binary_copy_in_writer(w: &Workload, rows: u64) {
    let c = connect().await;
    let sink = c
        .copy_in(&format!(
            "COPY {TABLE} ({COLUMNS}) FROM STDIN WITH (FORMAT binary)"
        ))
        .await
        .expect("COPY FROM STDIN");
    let types = [
        Type::INT8,
        Type::TIMESTAMPTZ,
        Type::INT4,
        Type::TEXT,
        Type::FLOAT8,
        Type::TEXT,
    ];
    let writer = BinaryCopyInWriter::new(sink, &types);
    tokio::pin!(writer);
    for i in 0..rows {
        let e = event(w, i);
        writer
            .as_mut()
            .write(&[&e.id, &e.ts, &e.user_id, &e.event, &e.value, &e.payload])
            .await
            .expect("BinaryCopyInWriter::write");
    }
    let n = writer.finish().await.expect("BinaryCopyInWriter::finish");
    assert_eq!(n, rows);
}

/// psql's `\copy` of a binary COPY file (the client reads the file and streams it).
pub(crate) fn psql_copy(file: &Path) {
    psql(&format!(
        "\\copy {TABLE} ({COLUMNS}) FROM '{}' WITH (FORMAT binary)",
        file.display()
    ));
}

/// The server reads the file itself: `COPY ... FROM '<file>'`.
pub(crate) async fn server_copy(file: &Path) {
    let c = connect().await;
    let n = c
        .execute(
            &format!(
                "COPY {TABLE} ({COLUMNS}) FROM '{}' WITH (FORMAT binary)",
                file.display()
            ),
            &[],
        )
        .await
        .expect("COPY FROM a server file");
    assert!(n > 0);
}
