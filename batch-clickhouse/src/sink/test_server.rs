//! A one-request HTTP server for the sink's tests: what an insert sends, byte for byte;
//! and a server that never answers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A server that accepts connections and never answers: it keeps every connection
/// open and reads nothing. Returns its URL.
pub(super) async fn silent_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = listener.accept().await {
            held.push(conn);
        }
    });
    url
}

/// Reads one HTTP request with a chunked body, answers `200 OK`, and returns the
/// request line and the body.
pub(super) async fn serve_one(listener: TcpListener) -> (String, Vec<u8>) {
    let (mut conn, _) = listener.accept().await.unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 64 << 10];
    while !raw.ends_with(b"\r\n0\r\n\r\n") {
        let n = conn.read(&mut buf).await.unwrap();
        assert!(n > 0, "the request ended early");
        raw.extend_from_slice(&buf[..n]);
    }
    let head_end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let head = String::from_utf8(raw[..head_end].to_vec()).unwrap();
    assert!(head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked"));
    let mut rest = &raw[head_end..];
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap(), 16).unwrap();
        rest = &rest[line_end + 2..];
        if size == 0 {
            break;
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
    conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        .await
        .unwrap();
    (head.lines().next().unwrap().to_owned(), body)
}

/// The compressed frames of a body: (method byte, compressed size, uncompressed
/// size), from the 25-byte header of each (16-byte checksum, method, two u32 sizes,
/// the compressed size counting the 9 header bytes).
pub(super) fn frames_of(mut body: &[u8]) -> Vec<(u8, usize, usize)> {
    let mut frames = Vec::new();
    while !body.is_empty() {
        let method = body[16];
        let compressed = u32::from_le_bytes(body[17..21].try_into().unwrap()) as usize;
        let raw = u32::from_le_bytes(body[21..25].try_into().unwrap()) as usize;
        frames.push((method, compressed, raw));
        body = &body[16 + compressed..];
    }
    frames
}
