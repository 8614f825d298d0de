//! The sink against one-request HTTP servers: time limits, and the bytes of each
//! attempt.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::framing::Frames;
use super::test_server::{frames_of, serve_one, silent_server};
use super::*;
use crate::dedup;
use batch_core::RowBuffer;
use batch_core::SinkErrorKind;
use tokio::net::TcpListener;

/// A batch of `rows` 8-byte rows (the row's number), in chunks of `per_chunk` rows.
fn batch(rows: u64, per_chunk: u64) -> Batch {
    let mut chunks = Vec::new();
    let mut buf = RowBuffer::default();
    for i in 0..rows {
        buf.push_row(|b| {
            b.extend_from_slice(&i.to_le_bytes());
            Ok::<_, batch_core::ChunkFull>(())
        })
        .unwrap();
        if (i + 1) % per_chunk == 0 {
            chunks.push(buf.take());
        }
    }
    chunks.push(buf.take());
    Batch::new(7, chunks)
}

/// A sink prepared by hand for `url`, with `token_prefix`.
fn prepared_sink(url: String, token_prefix: Option<&str>) -> ClickHouseSender {
    prepared(
        ClickHouseSink::new(Client::default().with_url(url)),
        token_prefix,
    )
}

/// `sink` prepared by hand, with `token_prefix`.
fn prepared(sink: ClickHouseSink, token_prefix: Option<&str>) -> ClickHouseSender {
    let prepared = Prepared {
        database: "db".into(),
        table: "t".into(),
        label: "db.t".into(),
        sql: "INSERT INTO db.t (id) FORMAT RowBinary".into(),
        schema: Schema {
            table: "t",
            columns: &[],
            check: None,
        },
        columns: vec![ChType::UInt64],
        implied: Vec::new(),
        token_prefix: token_prefix.map(str::to_owned),
        endpoints: Arc::new(sink.build_endpoints()),
        native: None,
        kept: Arc::default(),
    };
    ClickHouseSender { sink, prepared }
}

#[derive(batch_derive::BatchRow)]
#[batch(crate = "batch_core", table = "events")]
struct Event {
    id: u64,
}

/// With the default settings, a server that never answers fails the start within
/// the schema check's 10 s, with an error that says so. (Virtual time: the runtime
/// moves the clock on while it waits.)
#[tokio::test(start_paused = true)]
async fn a_silent_server_fails_spawn_within_the_default_timeout() {
    let url = silent_server().await;
    let started = Instant::now();
    let spawn = batch_core::Batcher::builder(ClickHouseSink::new(Client::default().with_url(url)))
        .spawn::<Event>();
    let result = tokio::time::timeout(Duration::from_secs(60), spawn)
        .await
        .expect("spawn hung on a server that never answers");
    let Err(batch_core::Error::Sink(err)) = result else {
        panic!("expected the sink's error");
    };
    assert_eq!(started.elapsed(), SCHEMA_TIMEOUT);
    assert_eq!(err.kind(), SinkErrorKind::Retryable, "{err}");
    assert!(
        err.to_string()
            .starts_with("ClickHouse did not answer the schema check of table `events`"),
        "{err}"
    );
}

/// The same in real time, with a shorter limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schema_timeout_ends_the_check() {
    let url = silent_server().await;
    let sink = ClickHouseSink::new(Client::default().with_url(url))
        .schema_timeout(Duration::from_millis(300));
    let started = std::time::Instant::now();
    let err = batch_core::Batcher::builder(sink)
        .spawn::<Event>()
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert!(err.to_string().contains("within 300ms"), "{err}");
}

/// An insert to a server that never answers ends at the deadline, as retryable; a
/// plain `send` ends after the default insert timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_insert_ends_at_its_deadline() {
    let sink = prepared_sink(silent_server().await, None);
    let b = batch(5000, 250);
    let started = std::time::Instant::now();
    let err = sink
        .send_by(&b, Instant::now() + Duration::from_millis(400))
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.kind(), SinkErrorKind::Retryable, "{err}");
    assert!(err.to_string().contains("got no answer"), "{err}");
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(3),
        "{took:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_plain_send_ends_after_the_insert_timeout() {
    let sink = prepared_sink(silent_server().await, None);
    let started = Instant::now();
    let err = tokio::time::timeout(Duration::from_secs(120), sink.send(&batch(10, 4)))
        .await
        .expect("send hung on a server that never answers")
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(started.elapsed() >= INSERT_TIMEOUT);
    assert!(started.elapsed() <= INSERT_TIMEOUT + GRACE);
}

/// Sends `batch` through a sink (prepared by hand, with `token_prefix`) to a
/// one-request HTTP server, and returns the request line and the body it received.
async fn send_to_fake_server(batch: &Batch, token_prefix: Option<&str>) -> (String, Vec<u8>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(serve_one(listener));
    let sink = prepared_sink(url, token_prefix);
    sink.send(batch).await.unwrap();
    server.await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_many_chunks_goes_out_as_one_compressed_frame() {
    // 40,000 bytes in 20 chunks: before, each chunk was a frame of its own.
    let batch = batch(5000, 250);
    assert_eq!(batch.chunks().len(), 20);
    let (request_line, body) = send_to_fake_server(&batch, None).await;
    assert!(request_line.contains("decompress=1"), "{request_line}");
    assert!(!request_line.contains(dedup::SETTING), "{request_line}");
    assert_eq!(frames_of(&body), [(0x82, body.len() - 16, batch.len())]);
}

/// Every attempt at a batch sends the same bytes (an LZ4 frame for compressible
/// rows, a stored frame for incompressible ones): what lets a replicated table drop
/// a retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_attempt_sends_the_same_bytes() {
    let incompressible = || {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut buf = RowBuffer::default();
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            buf.push_row(|b| {
                b.extend_from_slice(&seed.to_le_bytes());
                Ok::<_, batch_core::ChunkFull>(())
            })
            .unwrap();
        }
        Batch::new(8, vec![buf.take()])
    };
    // Two batches of the same rows, each framed anew (a batch keeps its frames for
    // the retries of one delivery: see `a_retry_sends_the_frames_of_the_first_attempt`).
    for (make, method) in [
        (&(|| batch(5000, 250)) as &dyn Fn() -> Batch, 0x82),
        (&incompressible, 0x02),
    ] {
        let (_, first) = send_to_fake_server(&make(), None).await;
        let (_, second) = send_to_fake_server(&make(), None).await;
        assert_eq!(frames_of(&first)[0].0, method);
        assert!(first == second, "two attempts sent different bytes");
    }
}

/// A retry sends the frames its delivery's first attempt made, kept on the batch,
/// without transcoding or compressing the rows again; on any endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_sends_the_frames_of_the_first_attempt() {
    // A server that closes every connection as soon as it accepts it.
    let refusing = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let refusing_url = format!("http://{}", refusing.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((conn, _)) = refusing.accept().await {
            drop(conn);
        }
    });
    let b = batch(5000, 250);
    let err = native_sink(refusing_url).send(&b).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    let made = b.encoded::<Frames>().expect("the frames were kept");

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(serve_one(listener));
    native_sink(url).send(&b.clone()).await.unwrap();
    let (_, body) = server.await.unwrap();
    let kept = b.encoded::<Frames>().unwrap();
    assert!(Arc::ptr_eq(&made, &kept), "the retry made its frames again");
    let sent: Vec<u8> = made.pieces().flatten().copied().collect();
    assert!(
        body == sent,
        "the retry sent other bytes than the frames kept"
    );
    // A batch of the same rows, framed anew, is the same bytes.
    assert!(send_native(&batch(5000, 250)).await.1 == body);
}

/// Rows LZ4 cannot shrink go out as one stored frame: its header, then the chunks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incompressible_batch_goes_out_as_one_stored_frame() {
    // 20 chunks of 250 rows of 40 pseudo-random bytes (xorshift64).
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut chunks = Vec::new();
    let mut buf = RowBuffer::default();
    let mut raw = Vec::new();
    for i in 0..5000 {
        buf.push_row(|b| {
            for _ in 0..5 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                b.extend_from_slice(&x.to_le_bytes());
            }
            raw.extend_from_slice(&b[b.len() - 40..]);
            Ok::<_, batch_core::ChunkFull>(())
        })
        .unwrap();
        if (i + 1) % 250 == 0 {
            chunks.push(buf.take());
        }
    }
    let batch = Batch::new(9, chunks);
    assert_eq!(batch.chunks().len(), 20);
    let (_, body) = send_to_fake_server(&batch, None).await;
    assert_eq!(frames_of(&body), [(0x02, 9 + raw.len(), raw.len())]);
    assert_eq!(body[25..], raw[..]);
    let checksum = u128::from_le_bytes(body[..16].try_into().unwrap()).rotate_left(64);
    assert_eq!(checksum, cityhash_rs::cityhash_102_128(&body[16..]));
}

/// A sink prepared by hand for `url` that sends Native blocks of one `UInt64`
/// column `id`.
fn native_sink(url: String) -> ClickHouseSender {
    native(prepared_sink(url, None))
}

/// `sender`, sending Native blocks of one `UInt64` column `id`.
fn native(mut sender: ClickHouseSender) -> ClickHouseSender {
    let block = NativeBlock::new([("id", &ChType::UInt64)]).unwrap();
    sender.prepared.native = Some((
        Arc::new(block),
        "INSERT INTO db.t (id) FORMAT Native".into(),
    ));
    sender
}

/// A Native sender for `url` that sends without compression.
fn uncompressed_native_sink(url: String) -> ClickHouseSender {
    let sink =
        ClickHouseSink::new(Client::default().with_url(url)).compression(InsertCompression::None);
    native(prepared(sink, None))
}

/// Sends `batch` through a Native sink to a one-request HTTP server.
async fn send_native(batch: &Batch) -> (String, Vec<u8>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(serve_one(listener));
    native_sink(url).send(batch).await.unwrap();
    server.await.unwrap()
}

/// In Native, every attempt at a batch sends the same bytes: one LZ4 frame of the
/// batch's Native block.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_native_attempt_sends_the_same_block() {
    let b = batch(5000, 250);
    let (request_line, first) = send_native(&b).await;
    assert!(request_line.contains("FORMAT+Native"), "{request_line}");
    let (_, second) = send_native(&batch(5000, 250)).await;
    assert!(first == second, "two attempts sent different bytes");
    let block = NativeBlock::new([("id", &ChType::UInt64)])
        .unwrap()
        .transcode_batch(&b)
        .unwrap();
    // 1 column, 5000 rows (varuint 88 27), "id", "UInt64", then the ids.
    assert_eq!(block[..13], *b"\x01\x88\x27\x02id\x06UInt64");
    assert_eq!(frames_of(&first), [(0x82, first.len() - 16, block.len())]);
    let raw = lz4_flex::block::decompress(&first[25..], block.len()).unwrap();
    assert_eq!(raw, block);
    // The sink counted the block and the frame.
    let sink = native_sink("http://127.0.0.1:1".into());
    assert!(sink.send_memory(&b) >= block.len() + first.len());
}

/// Without compression, a Native sink sends the block in one stored frame (method
/// `0x02`), the same bytes on every attempt, and counts no LZ4 frame.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_compression_the_block_goes_in_one_stored_frame() {
    let b = batch(5000, 250);
    let block = NativeBlock::new([("id", &ChType::UInt64)])
        .unwrap()
        .transcode_batch(&b)
        .unwrap();
    let mut bodies = Vec::new();
    for _ in 0..2 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(serve_one(listener));
        let sink = uncompressed_native_sink(url);
        sink.send(&b).await.unwrap();
        let (request_line, body) = server.await.unwrap();
        assert!(request_line.contains("FORMAT+Native"), "{request_line}");
        bodies.push(body);
    }
    assert!(bodies[0] == bodies[1], "two attempts sent different bytes");
    let body = &bodies[0];
    assert_eq!(frames_of(body), [(0x02, 9 + block.len(), block.len())]);
    assert_eq!(body[25..], block[..]);
    let checksum = u128::from_le_bytes(body[..16].try_into().unwrap()).rotate_left(64);
    assert_eq!(checksum, cityhash_rs::cityhash_102_128(&body[16..]));
    let lz4 = native_sink("http://127.0.0.1:1".into());
    let none = uncompressed_native_sink("http://127.0.0.1:1".into());
    assert!(none.send_memory(&b) < lz4.send_memory(&b));
    assert!(none.send_memory(&b) >= block.len());
}

/// Rows LZ4 cannot shrink go in RowBinary, in a stored frame of the batch's chunks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incompressible_batch_goes_in_rowbinary_from_a_native_sink() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut buf = RowBuffer::default();
    for _ in 0..5000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf.push_row(|b| {
            b.extend_from_slice(&x.to_le_bytes());
            Ok::<_, batch_core::ChunkFull>(())
        })
        .unwrap();
    }
    let b = Batch::new(4, vec![buf.take()]);
    let (request_line, body) = send_native(&b).await;
    assert!(request_line.contains("FORMAT+RowBinary"), "{request_line}");
    assert_eq!(frames_of(&body), [(0x02, 9 + b.len(), b.len())]);
    assert_eq!(body[25..], b.chunks().next().unwrap()[..]);
    let sink = native_sink("http://127.0.0.1:1".into());
    assert!(sink.send_memory(&b) < 1024);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deduplicating_sink_sends_the_batch_token() {
    let batch = batch(10, 4);
    let (request_line, _) = send_to_fake_server(&batch, Some("batchrow-00ff")).await;
    let token = dedup::token("batchrow-00ff", &batch);
    assert!(token.starts_with("batchrow-00ff-7-0-10-"), "{token}");
    assert!(
        request_line.contains(&format!("{}={token}", dedup::SETTING)),
        "{request_line}"
    );
}
