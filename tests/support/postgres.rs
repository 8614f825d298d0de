//! Shared helpers of the PostgreSQL integration tests (`tests/postgres/`).
//!
//! The server: `bash scripts/servers.sh` starts PostgreSQL 15 on 127.0.0.1. The URL comes
//! from `BATCHROW_POSTGRES_URL` (default
//! `postgres://batchrow:batchrow@127.0.0.1:5432/batchrow`); a test fails, never skips,
//! when the server does not answer. Each test creates its own tables, schemas and roles
//! with unique names, so the tests run in parallel.

use std::sync::atomic::{AtomicU32, Ordering};

use batchrow::postgres::{PgBinary, PgType, PostgresSender, PostgresSink};
use batchrow::{Batch, BatchRow, EncodeRow, Schema, Sink, SinkError};
use tokio_postgres::{Client, NoTls};

/// The server's URL.
pub fn url() -> String {
    std::env::var("BATCHROW_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://batchrow:batchrow@127.0.0.1:5432/batchrow".to_owned())
}

/// A plain tokio-postgres connection, for setting up and reading back.
pub async fn client() -> Client {
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
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A sink into `table` (in `public` unless qualified by the row type).
pub fn sink(table: &str) -> PostgresSink {
    PostgresSink::new(&url()).unwrap().table(table)
}

pub use crate::batches::PushError;

/// Encodes `rows` into one batch, in chunks of `chunk_rows` rows, as the batcher does.
pub fn batch_of<R: EncodeRow<PgBinary>>(
    rows: &[R],
    columns: &[PgType],
    chunk_rows: usize,
) -> Result<Batch, PushError> {
    crate::batches::encode(1, rows, columns, chunk_rows)
}

/// Runs the schema check of `R` on `sink`, and returns what sends.
pub async fn prepare<R: EncodeRow<PgBinary>>(
    sink: PostgresSink,
) -> Result<PostgresSender, SinkError> {
    sink.prepare(Schema::checked::<R, PgBinary>()).await
}

/// Inserts `rows` into `table` through the batcher and a [`PostgresSink`] (batches of
/// at most 3 rows, so that a few batches are sent), panicking on any error, and checks
/// that every row was committed.
pub async fn insert_all<R>(table: &str, rows: Vec<R>)
where
    R: BatchRow + EncodeRow<PgBinary>,
    R::Static: EncodeRow<PgBinary>,
{
    let n = rows.len() as u64;
    let handle = batchrow::Batcher::builder(sink(table))
        .max_rows(3)
        .spawn::<R>()
        .await
        .unwrap_or_else(|e| panic!("starting a batcher for {table}: {e}"));
    for row in rows {
        if let Err(e) = handle.insert(row).await {
            panic!("inserting into {table}: {e}");
        }
    }
    let stats = handle
        .close()
        .await
        .unwrap_or_else(|e| panic!("closing the batcher for {table}: {e}"));
    assert_eq!(stats.committed.rows, n, "rows committed into {table}");
}

/// The connection settings of `url`, with the host and port replaced by `127.0.0.1` and
/// `port` (a proxy's), so that a sink connects through the proxy.
pub fn config_via(url: &str, port: u16) -> tokio_postgres::Config {
    let config: tokio_postgres::Config = url.parse().unwrap();
    let mut proxied = tokio_postgres::Config::new();
    proxied.host("127.0.0.1").port(port);
    if let Some(user) = config.get_user() {
        proxied.user(user);
    }
    if let Some(password) = config.get_password() {
        proxied.password(password);
    }
    if let Some(db) = config.get_dbname() {
        proxied.dbname(db);
    }
    proxied
}

/// The host and port of `url`, for a proxy in front of it.
pub fn host_port(url: &str) -> (String, u16) {
    let config: tokio_postgres::Config = url.parse().unwrap();
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        other => panic!("the tests need a TCP host, not {other:?}"),
    };
    (host, config.get_ports().first().copied().unwrap_or(5432))
}

/// What a table of rows with ids `0..n` holds, read back by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readback {
    /// Rows in the table.
    pub rows: i64,
    /// Distinct ids.
    pub distinct: i64,
    /// Distinct ids within `0..n`.
    pub in_range: i64,
}

impl Readback {
    /// Rows stored more than once.
    pub fn duplicates(&self) -> i64 {
        self.rows - self.distinct
    }
}

/// Reads back the `id` column of `table`, counting rows, distinct ids and ids in `0..n`.
pub async fn read_ids(c: &Client, table: &str, n: i64) -> Readback {
    let row = c
        .query_one(
            &format!(
                "SELECT count(*), count(DISTINCT id), \
                 count(DISTINCT id) FILTER (WHERE id >= 0 AND id < $1) FROM {table}"
            ),
            &[&n],
        )
        .await
        .unwrap();
    Readback {
        rows: row.get(0),
        distinct: row.get(1),
        in_range: row.get(2),
    }
}
