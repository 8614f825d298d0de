//! Helpers for the ClickHouse integration tests (`tests/clickhouse_*.rs`).
//!
//! The server comes from `BATCHROW_CLICKHOUSE_URL` (default `http://127.0.0.1:8123`);
//! `bash scripts/servers.sh` starts one. A test that cannot reach it fails, naming the
//! script. Each test works in its own database, so tests run in parallel.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use batchrow::clickhouse::{ClickHouseSink, RowBinary};
use batchrow::{Batch, ChunkFull, EncodeError, EncodeRow, RowBuffer, Schema, Sink, SinkError};

/// Why a row could not be put into a test batch.
#[derive(Debug)]
pub(crate) enum PushError {
    Encode(EncodeError),
    Full(ChunkFull),
}

impl From<ChunkFull> for PushError {
    fn from(e: ChunkFull) -> Self {
        PushError::Full(e)
    }
}

/// The server's URL.
pub(crate) fn url() -> String {
    std::env::var("BATCHROW_CLICKHOUSE_URL").unwrap_or_else(|_| "http://127.0.0.1:8123".into())
}

/// A client for the server, in the server's default database.
pub(crate) fn client() -> clickhouse::Client {
    clickhouse::Client::default().with_url(url())
}

/// Runs a statement, failing the test loudly when the server does not answer.
pub(crate) async fn exec(client: &clickhouse::Client, sql: &str) {
    client.query_raw(sql).execute().await.unwrap_or_else(|e| {
        panic!(
            "ClickHouse at {} failed `{sql}`: {e}\n(start the server with `bash scripts/servers.sh`, \
             or set BATCHROW_CLICKHOUSE_URL)",
            url()
        )
    });
}

/// Runs a query and returns its result as TSV text.
pub(crate) async fn tsv(client: &clickhouse::Client, sql: &str) -> String {
    let bytes = client
        .query_raw(sql)
        .fetch_bytes("TSV")
        .unwrap()
        .collect()
        .await
        .unwrap_or_else(|e| panic!("ClickHouse at {} failed `{sql}`: {e}", url()));
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Drops and creates the database `name`, and returns a client that uses it.
pub(crate) async fn fresh_database(name: &str) -> clickhouse::Client {
    let c = client();
    exec(&c, &format!("DROP DATABASE IF EXISTS `{name}`")).await;
    exec(&c, &format!("CREATE DATABASE `{name}`")).await;
    c.with_database(name)
}

/// Encodes `rows` with the columns the sink resolved, into one batch.
pub(crate) fn batch<R: EncodeRow<RowBinary>>(
    sink: &ClickHouseSink,
    rows: &[R],
) -> Result<Batch, PushError> {
    let columns = sink.columns().expect("prepare the sink first");
    let mut buf = RowBuffer::default();
    for r in rows {
        buf.push_row(|b| r.encode_row(columns, b).map_err(PushError::Encode))?;
    }
    Ok(Batch::new(0, vec![buf.take()]))
}

/// A batch of raw bytes, one row per slice: for data a real encoder would not write.
pub(crate) fn raw_batch(rows: &[&[u8]]) -> Batch {
    let mut buf = RowBuffer::default();
    for r in rows {
        buf.push_row(|b| {
            b.extend_from_slice(r);
            Ok::<_, ChunkFull>(())
        })
        .unwrap();
    }
    Batch::new(0, vec![buf.take()])
}

/// Prepares a sink for `R` and sends `rows` in one batch.
pub(crate) async fn prepare_and_send<R: EncodeRow<RowBinary>>(
    mut sink: ClickHouseSink,
    rows: &[R],
) -> Result<ClickHouseSink, SinkError> {
    sink.prepare(Schema::checked::<R, RowBinary>()).await?;
    let b = batch(&sink, rows).expect("rows encode");
    sink.send(&b).await?;
    Ok(sink)
}
