//! An HTTP ingest service: JSON events in, typed rows out, through one batcher into
//! PostgreSQL.
//!
//! - `POST /events` takes one event or an array of events. Each is validated into the
//!   typed row, then handed to the batcher with `try_insert`, which never waits:
//!   - `202 Accepted` when every event was accepted;
//!   - `400 Bad Request` for JSON that does not parse, a field that is missing or of the
//!     wrong type, or a value the column cannot hold (named in the body); nothing of the
//!     request is accepted when a field is wrong, and the events before the one whose
//!     value the column refused are (the body says how many);
//!   - `503 Service Unavailable` with `Retry-After` when the batcher's buffer is full
//!     (the events before the refused one were accepted: the body says how many, so the
//!     client resends only the rest), or when the service is shutting down.
//! - `GET /metrics`: the batcher's metrics in the Prometheus text format, labelled with
//!   the batcher's name (`name="ingest"`) and table.
//! - On SIGTERM or Ctrl-C it stops accepting connections, finishes the requests under
//!   way, closes the batcher with a deadline (every accepted event is delivered, or the
//!   failed ones are reported), prints the totals and exits (status 1 if rows failed).
//!
//! ```sh
//! cargo run --example ingest_service --all-features      # listens on 127.0.0.1:3000
//! curl -si localhost:3000/events -d '{"id": 1, "ts": "2026-01-02T03:04:05Z", "user_id": 7,
//!   "kind": "click", "value": 0.5, "tags": ["a"], "note": null}'
//! curl -s localhost:3000/metrics | grep batchrow_rows_committed
//! ```
//!
//! Settings come from the environment: `BATCHROW_POSTGRES_URL` (default
//! `postgres://batchrow:batchrow@127.0.0.1:5432/batchrow`), `INGEST_ADDR` (default
//! `127.0.0.1:3000`; port 0 picks one, printed as `listening on ADDR`), `INGEST_TABLE`
//! (default `ingest_events`, created if missing) and `INGEST_MAX_BUFFERED_BYTES`
//! (default 64 MiB). Its test (`cargo test --example ingest_service --all-features`)
//! runs it as a child process, posts 100,000 events from 8 concurrent clients, sends
//! it SIGTERM midway, and checks that the table holds every accepted event exactly once.

use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use batchrow::postgres::PostgresSink;
use batchrow::{BatchRow, Batcher, EncodeError, Handle, InsertError};
use chrono::{DateTime, Utc};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::{json, Map, Value};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// One event, as the table stores it.
#[derive(BatchRow, Debug, Clone, PartialEq)]
#[batch(table = "ingest_events")]
struct Event {
    id: i64,
    ts: DateTime<Utc>,
    user_id: i32,
    /// `varchar(16)`: a longer kind is a value the column cannot hold (400).
    kind: String,
    value: f64,
    tags: Vec<String>,
    note: Option<String>,
}

/// How long the batcher may take to deliver what it holds at shutdown.
const DRAIN_DEADLINE: Duration = Duration::from_secs(30);
/// What a client is told to wait when the buffer is full.
const RETRY_AFTER_SECS: &str = "1";

#[derive(Clone)]
struct App {
    events: Handle<Event, PostgresSink>,
    metrics: PrometheusHandle,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let totals = serve(tokio::net::TcpListener::bind(addr()).await?).await?;
    if totals.failed.rows > 0 {
        eprintln!("{} rows failed", totals.failed.rows);
        std::process::exit(1);
    }
    Ok(())
}

fn addr() -> String {
    std::env::var("INGEST_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into())
}

/// Runs the service on `listener` until SIGTERM or Ctrl-C, then drains the batcher.
async fn serve(listener: tokio::net::TcpListener) -> Result<batchrow::Stats, Error> {
    let url = std::env::var("BATCHROW_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://batchrow:batchrow@127.0.0.1:5432/batchrow".into());
    let table = std::env::var("INGEST_TABLE").unwrap_or_else(|_| "ingest_events".into());
    let max_buffered: usize = match std::env::var("INGEST_MAX_BUFFERED_BYTES") {
        Ok(v) => v.parse()?,
        Err(_) => 64 << 20,
    };
    create_table(&url, &table).await?;

    // The recorder first: the batcher registers its metrics when it spawns.
    let metrics = PrometheusBuilder::new().install_recorder()?;
    let events = Batcher::builder(PostgresSink::new(&url)?.table(&table))
        .name("ingest")
        .max_rows(20_000)
        .max_wait(Duration::from_millis(200))
        .max_buffered_bytes(max_buffered)
        .spawn::<Event>()
        .await?;

    let app = Router::new()
        .route("/events", post(ingest))
        .route("/metrics", get(render_metrics))
        .with_state(App {
            events: events.clone(),
            metrics,
        });
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;

    // No request is under way any more: deliver what was accepted.
    println!("shutting down: draining the batcher (deadline {DRAIN_DEADLINE:?})");
    let totals = match events.close_with_deadline(DRAIN_DEADLINE).await {
        Ok(totals) => totals,
        Err(e) => {
            // The failed batches (with their rows) are in the error: a real service
            // would write them somewhere to replay; this one reports them.
            eprintln!("draining failed: {e}");
            events.stats()
        }
    };
    println!(
        "accepted {} events, committed {}, failed {}",
        totals.accepted.rows, totals.committed.rows, totals.failed.rows
    );
    Ok(totals)
}

/// SIGTERM (on Unix) or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                eprintln!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = term => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    println!("signal received: no new connections");
}

async fn create_table(url: &str, table: &str) -> Result<(), Error> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    let conn = tokio::spawn(conn);
    let quoted = format!("\"{}\"", table.replace('"', "\"\""));
    client
        .batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {quoted} (id int8 NOT NULL, ts timestamptz NOT NULL, \
             user_id int4 NOT NULL, kind varchar(16) NOT NULL, value float8 NOT NULL, \
             tags text[] NOT NULL, note text)"
        ))
        .await?;
    drop(client);
    conn.await??;
    Ok(())
}

async fn render_metrics(State(app): State<App>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.metrics.render(),
    )
}

/// `POST /events`: the body is read as JSON here (not by an extractor) so that a parse
/// error gets the same `400` body as a bad field.
async fn ingest(State(app): State<App>, body: axum::body::Bytes) -> Response {
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad_request(json!({ "error": format!("invalid JSON: {e}") })),
    };
    let items = match value {
        Value::Array(items) => items,
        one => vec![one],
    };
    // Validate everything first, so that a wrong field refuses the whole request.
    let mut rows = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        match parse_event(item) {
            Ok(row) => rows.push(row),
            Err((field, reason)) => {
                return bad_request(json!({
                    "error": format!("event {index}: field `{field}`: {reason}"),
                    "index": index,
                    "field": field,
                    "accepted": 0,
                }))
            }
        }
    }
    let total = rows.len();
    for (index, row) in rows.into_iter().enumerate() {
        match app.events.try_insert(row) {
            Ok(()) => {}
            Err(InsertError::Full(_)) => {
                return unavailable(index, total, "the ingest buffer is full; retry later")
            }
            Err(InsertError::Closed(_)) => {
                return unavailable(index, total, "the service is shutting down")
            }
            Err(InsertError::Encode { source, .. }) => {
                let (field, reason) = match &source {
                    EncodeError::Column { column, source } => {
                        ((*column).to_owned(), source.to_string())
                    }
                    other => ("?".to_owned(), other.to_string()),
                };
                return bad_request(json!({
                    "error": format!("event {index}: field `{field}`: the column cannot hold the value: {reason}"),
                    "index": index,
                    "field": field,
                    "accepted": index,
                }));
            }
            Err(other) => {
                return bad_request(json!({
                    "error": format!("event {index}: {other}"),
                    "index": index,
                    "accepted": index,
                }))
            }
        }
    }
    (StatusCode::ACCEPTED, Json(json!({ "accepted": total }))).into_response()
}

fn bad_request(body: Value) -> Response {
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

fn unavailable(accepted: usize, total: usize, why: &str) -> Response {
    let mut response = (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "error": why, "accepted": accepted, "rejected": total - accepted })),
    )
        .into_response();
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_static(RETRY_AFTER_SECS),
    );
    response
}

/// A field that failed: its name and why.
type FieldError = (&'static str, String);

fn parse_event(v: &Value) -> Result<Event, FieldError> {
    let Value::Object(o) = v else {
        return Err(("(event)", "expected a JSON object".into()));
    };
    let ts = text(o, "ts")?;
    Ok(Event {
        id: int(o, "id")?,
        ts: DateTime::parse_from_rfc3339(ts)
            .map_err(|e| ("ts", format!("expected an RFC 3339 time: {e}")))?
            .with_timezone(&Utc),
        user_id: i32::try_from(int(o, "user_id")?)
            .map_err(|_| ("user_id", "out of range for a 32-bit integer".to_owned()))?,
        kind: text(o, "kind")?.to_owned(),
        value: field(o, "value")?
            .as_f64()
            .ok_or(("value", "expected a number".to_owned()))?,
        tags: match o.get("tags") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(tags)) => tags
                .iter()
                .map(|t| t.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or(("tags", "expected an array of strings".to_owned()))?,
            Some(_) => return Err(("tags", "expected an array of strings".into())),
        },
        note: match o.get("note") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(("note", "expected a string or null".into())),
        },
    })
}

fn field<'a>(o: &'a Map<String, Value>, name: &'static str) -> Result<&'a Value, FieldError> {
    o.get(name).ok_or((name, "missing".to_owned()))
}

fn int(o: &Map<String, Value>, name: &'static str) -> Result<i64, FieldError> {
    field(o, name)?
        .as_i64()
        .ok_or((name, "expected a 64-bit integer".to_owned()))
}

fn text<'a>(o: &'a Map<String, Value>, name: &'static str) -> Result<&'a str, FieldError> {
    field(o, name)?
        .as_str()
        .ok_or((name, "expected a string".to_owned()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
