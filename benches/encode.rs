//! Encoding 1,000,000 six-column event rows, three ways:
//!
//! 1. `batchrow_rowbinary`: batchrow's derive + RowBinary encoder into a reused 64 KiB
//!    `Vec<u8>` (the batcher's chunk size).
//! 2. `clickhouse_crate_insert_write`: the `clickhouse` crate's serde RowBinary path on
//!    the same struct (`#[derive(clickhouse::Row, Serialize)]`). Its serializer
//!    (`rowbinary::serialize_row_binary`) is not public, so it is measured through
//!    `Insert::write` (validation off, compression off) into a local HTTP server that
//!    discards the body, all on one thread. `clickhouse_crate_send_baseline` sends the
//!    same bytes, pre-encoded, through the same client and server: the difference between
//!    the two is the serializer's share. `batchrow_rowbinary_and_send` is batchrow's
//!    encoder plus that same send path, for an end-to-end comparison.
//! 3. `tokio_postgres_binary_copy`: the per-row work of `tokio-postgres`'s
//!    `BinaryCopyInWriter`: the i16 field count, then for each field an i32 length
//!    prefix and `ToSql::to_sql_checked` into a reused 64 KiB `BytesMut` (u64 and u32
//!    as `int8`).
//!
//! Run: `cargo bench --bench encode --features chrono` (about a minute).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::Duration;

use batchrow::clickhouse::{ChType, RowBinary};
use batchrow::{BatchRow, EncodeRow, Schema};
use bytes::{BufMut, Bytes, BytesMut};
use chrono::{DateTime, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio_postgres::types::{ToSql, Type};

const ROWS: usize = 1_000_000;
/// The size of the buffers rows are encoded into, as in the batcher's producer chunks.
const CHUNK: usize = 64 * 1024;

#[derive(BatchRow, clickhouse::Row, serde::Serialize)]
#[batch(table = "events")]
struct Event {
    id: u64,
    #[serde(with = "clickhouse::serde::chrono::datetime")]
    #[batch(type = "DateTime")]
    at: DateTime<Utc>,
    user_id: u32,
    kind: String,
    value: f64,
    payload: String,
}

fn events() -> Vec<Event> {
    let kinds = ["click", "view", "purchase", "scroll"];
    let base = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    (0..ROWS as u64)
        .map(|i| Event {
            id: i,
            at: base + chrono::Duration::seconds(i64::try_from(i % 86_400).unwrap()),
            user_id: u32::try_from(i % 100_000).unwrap(),
            kind: kinds[usize::try_from(i % 4).unwrap()].to_owned(),
            value: i as f64 * 0.25,
            payload: format!("{i:012}-{}", "p".repeat(35)),
        })
        .collect()
}

/// A local HTTP server that reads each request's chunked body, discards it, and
/// answers 200. Stands in for ClickHouse so that no server work is measured.
async fn discard_server() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let (r, mut w) = socket.into_split();
                let mut r = BufReader::with_capacity(1 << 20, r);
                let mut line = String::new();
                loop {
                    // Request line and headers.
                    let mut chunked = false;
                    let mut length = 0usize;
                    loop {
                        line.clear();
                        if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let l = line.to_ascii_lowercase();
                        if l.starts_with("transfer-encoding:") && l.contains("chunked") {
                            chunked = true;
                        }
                        if let Some(v) = l.strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    if chunked {
                        loop {
                            line.clear();
                            r.read_line(&mut line).await.unwrap();
                            let size = usize::from_str_radix(line.trim(), 16).unwrap();
                            // The chunk and its CRLF (or the final CRLF).
                            let mut skip = size + 2;
                            while skip > 0 {
                                let buf = r.fill_buf().await.unwrap();
                                let n = buf.len().min(skip);
                                r.consume(n);
                                skip -= n;
                            }
                            if size == 0 {
                                break;
                            }
                        }
                    } else {
                        let mut body = vec![0; length];
                        r.read_exact(&mut body).await.unwrap();
                    }
                    w.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                        .await
                        .unwrap();
                }
            });
        }
    });
    addr
}

fn pg_row(e: &Event, buf: &mut BytesMut) {
    let fields: [(&(dyn ToSql + Sync), &Type); 6] = [
        (&(e.id as i64), &Type::INT8),
        (&e.at, &Type::TIMESTAMPTZ),
        (&i64::from(e.user_id), &Type::INT8),
        (&e.kind, &Type::TEXT),
        (&e.value, &Type::FLOAT8),
        (&e.payload, &Type::TEXT),
    ];
    buf.put_i16(6);
    for (value, ty) in fields {
        let at = buf.len();
        buf.put_i32(0);
        let len = match value.to_sql_checked(ty, buf).unwrap() {
            tokio_postgres::types::IsNull::Yes => -1,
            tokio_postgres::types::IsNull::No => i32::try_from(buf.len() - at - 4).unwrap(),
        };
        buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
    }
}

fn bench(c: &mut Criterion) {
    let rows = events();
    let columns: Vec<ChType> = RowBinary::resolve_offline(Schema::of::<Event>()).unwrap();
    // One thread for the client, its body stream and the discarding server: encoding
    // and sending cannot overlap, so each `*_send*` time is the sum of its parts and
    // `send_baseline` can be subtracted to get each serializer's share.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let addr = rt.block_on(discard_server());
    let client = clickhouse::Client::default()
        .with_url(format!("http://{addr}"))
        .with_compression(clickhouse::Compression::None)
        .with_validation(false);

    let mut group = c.benchmark_group("encode_1m_events");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(6));
    group.warm_up_time(Duration::from_secs(1));
    group.throughput(Throughput::Elements(ROWS as u64));

    // Rows are encoded into a reused 64 KiB buffer, as the batcher's producer chunks
    // are, so the figure is the encoder's own cost rather than memory bandwidth.
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK + 4096);
    group.bench_function("batchrow_rowbinary", |b| {
        b.iter(|| {
            let mut total = 0;
            for r in &rows {
                r.encode_row(&columns, &mut buf).unwrap();
                if buf.len() >= CHUNK {
                    total += black_box(&buf).len();
                    buf.clear();
                }
            }
            total += buf.len();
            buf.clear();
            black_box(total)
        });
    });

    group.bench_function("clickhouse_crate_insert_write", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut insert = client.insert::<Event>("events").await.unwrap();
                for r in &rows {
                    insert.write(r).await.unwrap();
                }
                insert.end().await.unwrap();
            });
        });
    });

    // The same bytes, pre-encoded once, sent in 256 KiB pieces as `Insert` does.
    let mut encoded = Vec::new();
    RowBinary::encode_rows(&rows, &columns, &mut encoded).unwrap();
    let encoded = Bytes::from(encoded);
    const PIECE: usize = 256 * 1024;
    group.bench_function("clickhouse_crate_send_baseline", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut insert =
                    client.insert_formatted_with("INSERT INTO events FORMAT RowBinary");
                for start in (0..encoded.len()).step_by(PIECE) {
                    let end = encoded.len().min(start + PIECE);
                    insert.send(encoded.slice(start..end)).await.unwrap();
                }
                insert.end().await.unwrap();
            });
        });
    });

    group.bench_function("batchrow_rowbinary_and_send", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut insert =
                    client.insert_formatted_with("INSERT INTO events FORMAT RowBinary");
                let mut piece = Vec::with_capacity(PIECE + 4096);
                for r in &rows {
                    r.encode_row(&columns, &mut piece).unwrap();
                    if piece.len() >= PIECE - 2048 {
                        let full = std::mem::replace(&mut piece, Vec::with_capacity(PIECE + 4096));
                        insert.send(Bytes::from(full)).await.unwrap();
                    }
                }
                insert.send(Bytes::from(piece)).await.unwrap();
                insert.end().await.unwrap();
            });
        });
    });

    let mut pg = BytesMut::with_capacity(CHUNK + 4096);
    group.bench_function("tokio_postgres_binary_copy", |b| {
        b.iter(|| {
            let mut total = 0;
            for r in &rows {
                pg_row(r, &mut pg);
                if pg.len() >= CHUNK {
                    total += black_box(&pg).len();
                    pg.clear();
                }
            }
            total += pg.len();
            pg.clear();
            black_box(total)
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
