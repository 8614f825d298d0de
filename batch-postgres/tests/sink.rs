//! The sink against a real PostgreSQL server, with hand-built batches.
//!
//! Needs PostgreSQL: `bash scripts/servers.sh` starts one on 127.0.0.1. The URL comes
//! from `BATCHROW_POSTGRES_URL` (default
//! `postgres://batchrow:batchrow@127.0.0.1:5432/batchrow`); the tests fail, never skip,
//! when it does not answer. Each test uses its own table.

use batch_core::{
    Batch, BatchRow, Column, Encode, EncodeError, EncodeRow, Format, RowBuffer, Schema, Sink,
    SinkErrorKind, ValueKind,
};
use batch_postgres::{PgBinary, PostgresSink};
use tokio_postgres::NoTls;

fn url() -> String {
    std::env::var("BATCHROW_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://batchrow:batchrow@127.0.0.1:5432/batchrow".to_owned())
}

async fn client() -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&url(), NoTls)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {} does not answer: {e}", url()));
    tokio::spawn(conn);
    client
}

struct Item {
    id: i32,
    name: String,
}

impl BatchRow for Item {
    const TABLE: &'static str = "item";
    const COLUMNS: &'static [Column] = &[
        Column::new("id", "id", "i32", None, ValueKind::I32),
        Column::new("name", "name", "String", None, ValueKind::String),
    ];
    type Static = Item;
}

impl EncodeRow<PgBinary> for Item {
    fn encode_row(
        &self,
        columns: &[batch_postgres::PgType],
        buf: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        PgBinary::begin_row(2, buf);
        self.id
            .encode(&columns[0], buf)
            .map_err(|e| e.in_column("id"))?;
        self.name
            .encode(&columns[1], buf)
            .map_err(|e| e.in_column("name"))
    }
}

#[derive(Debug)]
enum PushError {
    #[allow(dead_code)]
    Encode(EncodeError),
    Full,
}

impl From<batch_core::ChunkFull> for PushError {
    fn from(_: batch_core::ChunkFull) -> Self {
        PushError::Full
    }
}

fn batch(rows: &[Item], columns: &[batch_postgres::PgType]) -> Batch {
    let mut buf = RowBuffer::default();
    let mut chunks = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        buf.push_row(|b| r.encode_row(columns, b).map_err(PushError::Encode))
            .unwrap();
        if i % 700 == 699 {
            chunks.push(buf.take());
        }
    }
    chunks.push(buf.take());
    Batch::new(1, chunks)
}

#[tokio::test(flavor = "multi_thread")]
async fn constraint_errors_name_the_row() {
    let c = client().await;
    c.batch_execute(
        "DROP TABLE IF EXISTS sink_rows; \
         CREATE TABLE sink_rows (id int4 PRIMARY KEY CHECK (id <> 13), name text NOT NULL)",
    )
    .await
    .unwrap();
    let mut sink = PostgresSink::new(&url()).unwrap().table("sink_rows");
    let columns = sink.prepare(Schema::of::<Item>()).await.unwrap();
    let rows = |n: i32| {
        (0..n)
            .map(|id| Item {
                id: id + 100,
                name: format!("n{id}"),
            })
            .collect::<Vec<_>>()
    };

    let ok = rows(3000);
    sink.send(&batch(&ok, &columns)).await.unwrap();

    let mut bad = rows(2500);
    for r in &mut bad {
        r.id += 10_000;
    }
    bad[1777].id = 13; // CHECK violation in row 1777
    let err = sink.send(&batch(&bad, &columns)).await.unwrap_err();
    println!("{err}");
    assert_eq!(err.kind(), SinkErrorKind::Permanent);
    assert_eq!(err.code(), Some("23514"));
    assert_eq!(err.row(), Some(1777));

    let mut dup = rows(2500);
    for r in &mut dup {
        r.id += 20_000;
    }
    dup[2222].id = dup[5].id; // UNIQUE violation within the batch, at row 2222
    let err = sink.send(&batch(&dup, &columns)).await.unwrap_err();
    println!("{err}");
    assert_eq!(err.code(), Some("23505"));
    assert_eq!(err.row(), Some(2222));

    let n: i64 = c
        .query_one("SELECT count(*) FROM sink_rows", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 3000, "failed batches commit nothing");
}
