//! The service end to end, as a child process of the test: validation errors, the
//! metrics endpoint, 100,000 events from 8 concurrent clients with a small buffer (so
//! that some requests get `503` and are resent), SIGTERM midway, and the table read back:
//! it must hold every event a client was told was accepted, exactly once, with every
//! value as sent, and nothing else.
//!
//! Needs PostgreSQL 15: `bash scripts/servers.sh` starts it; the URL comes from
//! `BATCHROW_POSTGRES_URL`. The test uses a table of its own.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::TimeZone;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

/// Set in the child's environment: the `child` test then runs the service.
const CHILD: &str = "BATCHROW_INGEST_SERVICE_CHILD";
const EVENTS: i64 = 100_000;
/// [`EVENTS`] as a count.
const TOTAL: usize = 100_000;
const CLIENTS: i64 = 8;
const PER_REQUEST: usize = 100;

/// The service itself, when the parent test starts this binary with [`CHILD`] set; a
/// no-op otherwise.
#[test]
fn child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let totals = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr()).await.unwrap();
        serve(listener).await.unwrap()
    });
    assert_eq!(totals.failed.rows, 0);
    assert_eq!(totals.in_buffer.rows, 0);
}

/// Event `id`, as a client builds it.
fn event(id: i64) -> Event {
    let epoch = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    Event {
        id,
        ts: epoch + chrono::Duration::milliseconds(id),
        user_id: i32::try_from(id % 1000).unwrap(),
        kind: ["click", "view", "purchase"][usize::try_from(id % 3).unwrap()].to_owned(),
        value: id as f64 * 0.5,
        tags: if id % 4 == 0 {
            vec![]
        } else {
            vec![format!("t{}", id % 7), "x".to_owned()]
        },
        note: (id % 5 == 0).then(|| format!("note {id} \u{e9}")),
    }
}

fn to_json(e: &Event) -> Value {
    json!({
        "id": e.id,
        "ts": e.ts.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "user_id": e.user_id,
        "kind": e.kind,
        "value": e.value,
        "tags": e.tags,
        "note": e.note,
    })
}

/// One HTTP/1.1 request on a connection of its own: the status and the body.
async fn request(
    addr: &str,
    method: &str,
    path: &str,
    body: &[u8],
) -> std::io::Result<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no HTTP response: {text:?}")))?;
    let body = text
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_owned());
    Ok((status, body))
}

async fn post(addr: &str, events: &[Value]) -> std::io::Result<(u16, Value)> {
    let body = serde_json::to_vec(&Value::Array(events.to_vec())).unwrap();
    let (status, body) = request(addr, "POST", "/events", &body).await?;
    Ok((status, serde_json::from_str(&body).unwrap_or(Value::Null)))
}

/// What the clients saw.
#[derive(Default)]
struct Seen {
    accepted: Mutex<Vec<i64>>,
    count: AtomicUsize,
    full: AtomicUsize,
}

/// Client `c` posts its share of the events, resending what a `503` refused, until all
/// are accepted or the service is gone.
async fn client(addr: String, c: i64, seen: Arc<Seen>) {
    let ids: Vec<i64> = (c..EVENTS)
        .step_by(usize::try_from(CLIENTS).unwrap())
        .collect();
    for chunk in ids.chunks(PER_REQUEST) {
        let mut rest = chunk;
        while !rest.is_empty() {
            let events: Vec<Value> = rest.iter().map(|&id| to_json(&event(id))).collect();
            let (status, body) = match post(&addr, &events).await {
                Ok(answer) => answer,
                Err(e) => {
                    // The service stopped listening (after SIGTERM).
                    assert!(seen.count.load(Ordering::Relaxed) > 0, "client {c}: {e}");
                    return;
                }
            };
            let accepted = match status {
                202 => rest.len(),
                503 => usize::try_from(body["accepted"].as_u64().unwrap()).unwrap(),
                other => panic!("unexpected {other}: {body}"),
            };
            seen.accepted
                .lock()
                .unwrap()
                .extend_from_slice(&rest[..accepted]);
            seen.count.fetch_add(accepted, Ordering::Relaxed);
            rest = &rest[accepted..];
            if status == 503 {
                if body["error"].as_str().unwrap().contains("shutting down") {
                    return;
                }
                seen.full.fetch_add(1, Ordering::Relaxed);
                // The service says Retry-After: 1; a test client retries sooner.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

async fn expect_400(addr: &str, body: &[u8], field: &str) {
    let (status, text) = request(addr, "POST", "/events", body).await.unwrap();
    assert_eq!(status, 400, "{text}");
    assert!(text.contains(field), "{field} not named in {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_accepted_event_is_stored_once_across_sigterm() {
    let url = std::env::var("BATCHROW_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://batchrow:batchrow@127.0.0.1:5432/batchrow".into());
    let table = format!("ingest_test_{}", std::process::id());
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["tests::child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env("INGEST_ADDR", "127.0.0.1:0")
        .env("INGEST_TABLE", &table)
        .env("INGEST_MAX_BUFFERED_BYTES", (256 << 10).to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect(
                "the service exited before it listened (is PostgreSQL up? bash scripts/servers.sh)",
            )
            .unwrap();
        // The test harness may print `test tests::child ... ` on the same line.
        if let Some((_, addr)) = line.split_once("listening on ") {
            break addr.to_owned();
        }
    };
    let output = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());

    // Refusals name the field; nothing of a refused request is stored.
    expect_400(&addr, b"{not json", "invalid JSON").await;
    let mut missing = to_json(&event(EVENTS + 1));
    missing.as_object_mut().unwrap().remove("kind");
    expect_400(
        &addr,
        &serde_json::to_vec(&missing).unwrap(),
        "`kind`: missing",
    )
    .await;
    let mut wrong = to_json(&event(EVENTS + 2));
    wrong["user_id"] = json!(1_i64 << 40);
    expect_400(&addr, &serde_json::to_vec(&wrong).unwrap(), "`user_id`").await;
    let mut long = to_json(&event(EVENTS + 3));
    long["kind"] = json!("a kind much longer than sixteen characters");
    expect_400(
        &addr,
        &serde_json::to_vec(&long).unwrap(),
        "`kind`: the column cannot hold",
    )
    .await;

    let (status, metrics) = request(&addr, "GET", "/metrics", b"").await.unwrap();
    assert_eq!(status, 200);
    assert!(
        metrics.contains("batchrow_rows_accepted") && metrics.contains("name=\"ingest\""),
        "{metrics}"
    );

    // The load, and SIGTERM once half of it is accepted.
    let seen = Arc::new(Seen::default());
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| tokio::spawn(client(addr.clone(), c, seen.clone())))
        .collect();
    while seen.count.load(Ordering::Relaxed) < TOTAL / 2 {
        assert!(
            !clients.iter().all(tokio::task::JoinHandle::is_finished),
            "the clients stopped before half the events were accepted"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    for c in clients {
        c.await.unwrap();
    }
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    let output = output.join().unwrap();
    assert!(status.success(), "the service failed: {output:#?}");
    assert!(
        output
            .iter()
            .any(|l| l.starts_with("shutting down: draining")),
        "{output:#?}"
    );

    // Read back.
    let mut accepted = seen.accepted.lock().unwrap().clone();
    accepted.sort_unstable();
    let distinct: BTreeSet<i64> = accepted.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        accepted.len(),
        "a client recorded an id twice"
    );
    let (db, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let rows = db
        .query(
            &format!(
                "SELECT id, ts, user_id, kind::text, value, tags, note FROM {table} ORDER BY id"
            ),
            &[],
        )
        .await
        .unwrap();
    let stored: Vec<Event> = rows
        .iter()
        .map(|r| Event {
            id: r.get(0),
            ts: r.get(1),
            user_id: r.get(2),
            kind: r.get(3),
            value: r.get(4),
            tags: r.get(5),
            note: r.get(6),
        })
        .collect();
    let stored_ids: Vec<i64> = stored.iter().map(|e| e.id).collect();
    assert_eq!(
        stored_ids.len(),
        accepted.len(),
        "stored {} rows, the clients were told {} events were accepted",
        stored_ids.len(),
        accepted.len()
    );
    assert_eq!(
        stored_ids, accepted,
        "the stored ids are not the accepted ones"
    );
    for e in &stored {
        assert_eq!(e, &event(e.id));
    }
    let summary = format!(
        "accepted {} events, committed {}",
        accepted.len(),
        accepted.len()
    );
    assert!(
        output.iter().any(|l| l.starts_with(&summary)),
        "{summary}: {output:#?}"
    );
    eprintln!(
        "ingest_service: {} of {EVENTS} events accepted before SIGTERM took effect, all \
         stored once; {} requests got 503 (buffer full) and were resent",
        accepted.len(),
        seen.full.load(Ordering::Relaxed)
    );
    assert!(
        accepted.len() >= TOTAL / 2 && accepted.len() < TOTAL,
        "SIGTERM should land midway: {} accepted",
        accepted.len()
    );
    db.batch_execute(&format!("DROP TABLE {table}"))
        .await
        .unwrap();
}
