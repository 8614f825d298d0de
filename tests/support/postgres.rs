//! Shared helpers of the PostgreSQL integration tests (`tests/postgres_*.rs`).
//!
//! The server: `bash scripts/servers.sh` starts PostgreSQL 15 on 127.0.0.1. The URL comes
//! from `BATCHROW_POSTGRES_URL` (default
//! `postgres://batchrow:batchrow@127.0.0.1:5432/batchrow`); a test fails, never skips,
//! when the server does not answer. Each test creates its own tables, schemas and roles
//! with unique names, so the tests run in parallel.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

use batchrow::postgres::{PgBinary, PgType, PostgresSink};
use batchrow::{Batch, BatchRow, ChunkFull, EncodeError, EncodeRow, Schema, Sink, SinkError};
use tokio_postgres::{Client, NoTls};

/// The server's URL.
pub(crate) fn url() -> String {
    std::env::var("BATCHROW_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://batchrow:batchrow@127.0.0.1:5432/batchrow".to_owned())
}

/// A plain tokio-postgres connection, for setting up and reading back.
pub(crate) async fn client() -> Client {
    let url = url();
    let (client, conn) = tokio_postgres::connect(&url, NoTls).await.unwrap_or_else(|e| {
        panic!("PostgreSQL at {url} does not answer ({e}); start it with `bash scripts/servers.sh`")
    });
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            eprintln!("test connection closed: {e}");
        }
    });
    client
}

/// A name no other test (or earlier run) uses: `prefix_<pid>_<n>`.
pub(crate) fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A sink into `table` (in `public` unless qualified by the row type).
pub(crate) fn sink(table: &str) -> PostgresSink {
    PostgresSink::new(&url()).unwrap().table(table)
}

/// Why a row could not be put into a batch by [`batch_of`].
#[derive(Debug)]
pub(crate) enum PushError {
    /// The row did not encode.
    Encode(EncodeError),
    /// The chunk is full (4 GiB).
    Full,
}

impl From<ChunkFull> for PushError {
    fn from(_: ChunkFull) -> Self {
        PushError::Full
    }
}

/// Encodes `rows` into one batch, in chunks of `chunk_rows` rows, as the batcher does.
pub(crate) fn batch_of<R: EncodeRow<PgBinary>>(
    rows: &[R],
    columns: &[PgType],
    chunk_rows: usize,
) -> Result<Batch, PushError> {
    let mut buf = batchrow::RowBuffer::default();
    let mut chunks = Vec::new();
    for row in rows {
        buf.push_row(|b| row.encode_row(columns, b).map_err(PushError::Encode))?;
        if buf.rows() == chunk_rows {
            chunks.push(buf.take());
        }
    }
    chunks.push(buf.take());
    Ok(Batch::new(1, chunks))
}

/// Runs the schema check of `R` on `sink`.
pub(crate) async fn prepare<R: BatchRow>(
    sink: &mut PostgresSink,
) -> Result<Vec<PgType>, SinkError> {
    sink.prepare(Schema::of::<R>()).await
}

/// Inserts `rows` into `table` through a [`PostgresSink`] (schema check, then one batch
/// in chunks of 3 rows), panicking on any error.
pub(crate) async fn insert_all<R>(table: &str, rows: &[R])
where
    R: BatchRow + EncodeRow<PgBinary>,
{
    let mut sink = sink(table);
    let columns = prepare::<R>(&mut sink)
        .await
        .unwrap_or_else(|e| panic!("schema check of {table}: {e}"));
    let batch = batch_of(rows, &columns, 3).unwrap();
    sink.send(&batch)
        .await
        .unwrap_or_else(|e| panic!("COPY into {table}: {e}"));
}
