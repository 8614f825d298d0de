//! Helpers for the ClickHouse integration tests (`tests/clickhouse/` and the binaries
//! beside it).
//!
//! The server comes from `BATCHROW_CLICKHOUSE_URL` (default `http://127.0.0.1:8123`);
//! `bash scripts/servers.sh` starts one. A test that cannot reach it fails, naming the
//! script. Each test works in its own database, so tests run in parallel.

use batchrow::clickhouse::{ClickHouseSender, ClickHouseSink, RowBinary};
use batchrow::{Batch, EncodeRow, Schema, Sender, Sink, SinkError};

pub use crate::batches::PushError;

/// The server's URL.
pub fn url() -> String {
    std::env::var("BATCHROW_CLICKHOUSE_URL").unwrap_or_else(|_| "http://127.0.0.1:8123".into())
}

/// A client for the server, in the server's default database.
pub fn client() -> clickhouse::Client {
    clickhouse::Client::default().with_url(url())
}

/// Runs a statement, failing the test loudly when the server does not answer.
pub async fn exec(client: &clickhouse::Client, sql: &str) {
    client.query_raw(sql).execute().await.unwrap_or_else(|e| {
        panic!(
            "ClickHouse at {} failed `{sql}`: {e}\n(start the server with `bash scripts/servers.sh`, \
             or set BATCHROW_CLICKHOUSE_URL)",
            url()
        )
    });
}

/// Runs a query and returns its result as TSV text.
pub async fn tsv(client: &clickhouse::Client, sql: &str) -> String {
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
pub async fn fresh_database(name: &str) -> clickhouse::Client {
    let c = client();
    exec(&c, &format!("DROP DATABASE IF EXISTS `{name}`")).await;
    exec(&c, &format!("CREATE DATABASE `{name}`")).await;
    c.with_database(name)
}

/// Encodes `rows` with the columns the sink resolved, into one batch.
pub fn batch<R: EncodeRow<RowBinary>>(
    sender: &ClickHouseSender,
    rows: &[R],
) -> Result<Batch, PushError> {
    crate::batches::encode(0, rows, sender.columns(), usize::MAX)
}

pub use crate::batches::raw as raw_batch;

/// Prepares a sink for `R` and sends `rows` in one batch.
pub async fn prepare_and_send<R: EncodeRow<RowBinary>>(
    sink: ClickHouseSink,
    rows: &[R],
) -> Result<ClickHouseSender, SinkError> {
    let sender = sink.prepare(Schema::checked::<R, RowBinary>()).await?;
    let b = batch(&sender, rows).expect("rows encode");
    sender.send(&b).await?;
    Ok(sender)
}
