//! The batchrow demo: streams events into ClickHouse and PostgreSQL at the same time,
//! through one batcher per database, then reads the counts back from both servers.
//!
//! Run it with `bash scripts/demo.sh` (which starts the servers if needed), or, with
//! servers of your own, `cargo run --release --all-features --example demo -- [ROWS]`.
//! Connection URLs come from `BATCHROW_CLICKHOUSE_URL` (default `http://127.0.0.1:8123`)
//! and `BATCHROW_POSTGRES_URL` (default
//! `postgres://batchrow:batchrow@127.0.0.1:5432/batchrow`).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use batchrow::clickhouse::ClickHouseSink;
use batchrow::postgres::PostgresSink;
use batchrow::{BatchRow, Batcher, Handle, Sink, Stats};
use chrono::{DateTime, TimeZone, Utc};

/// One event, as both tables store it. The same struct goes to both databases.
#[derive(BatchRow)]
#[batch(table = "demo_events")]
struct Event<'a> {
    id: i64,
    ts: DateTime<Utc>,
    user_id: i32,
    /// Borrowed: inserting copies nothing but the encoded bytes.
    kind: &'a str,
    value: f64,
    payload: &'a str,
    note: Option<&'a str>,
}

const KINDS: [&str; 4] = ["click", "view", "purchase", "scroll"];
const PRODUCERS: i64 = 4;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let rows: i64 = match std::env::args().nth(1) {
        Some(n) => n
            .parse()
            .map_err(|e| format!("ROWS must be a number: {e}"))?,
        None => 300_000,
    };
    run(rows).await
}

/// Streams `rows` events into both databases and checks what they hold.
async fn run(rows: i64) -> Result<(), Error> {
    let ch_url =
        std::env::var("BATCHROW_CLICKHOUSE_URL").unwrap_or_else(|_| "http://127.0.0.1:8123".into());
    let pg_url = std::env::var("BATCHROW_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://batchrow:batchrow@127.0.0.1:5432/batchrow".into());

    println!("batchrow demo: {rows} events into ClickHouse ({ch_url}) and PostgreSQL");
    let ch = clickhouse::Client::default()
        .with_url(&ch_url)
        .with_validation(false);
    create_clickhouse_table(&ch).await?;
    let (pg, pg_conn) = tokio_postgres::connect(&pg_url, tokio_postgres::NoTls).await?;
    tokio::spawn(pg_conn);
    create_postgres_table(&pg).await?;

    // The schema check runs here, before any row is accepted.
    let ch_handle = Batcher::builder(ClickHouseSink::new(ch.clone()))
        .max_rows(50_000)
        .max_wait(Duration::from_millis(500))
        .max_in_flight(2)
        .spawn::<Event>()
        .await?;
    let pg_handle = Batcher::builder(PostgresSink::new(&pg_url)?)
        .max_rows(50_000)
        .max_wait(Duration::from_millis(500))
        .max_in_flight(2)
        .spawn::<Event>()
        .await?;

    // Ctrl-C stops the producers; the batchers are then closed, which delivers every
    // row already accepted before the program exits.
    let stop = Arc::new(AtomicBool::new(false));
    let on_signal = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            println!("\ninterrupted: closing the batchers, which deliver every accepted row");
            on_signal.store(true, Ordering::Relaxed);
        }
    });

    let started = Instant::now();
    let progress = tokio::spawn(report_progress(ch_handle.clone(), pg_handle.clone(), rows));
    let mut producers = Vec::new();
    for p in 0..PRODUCERS {
        let (ch, pg, stop) = (ch_handle.clone(), pg_handle.clone(), stop.clone());
        producers.push(tokio::spawn(async move {
            produce(p, rows, &ch, &pg, &stop).await
        }));
    }
    for p in producers {
        p.await??;
    }
    let ch_stats = ch_handle.close().await?;
    let pg_stats = pg_handle.close().await?;
    let elapsed = started.elapsed();
    progress.abort();

    println!();
    summary("ClickHouse", &ch_stats);
    summary("PostgreSQL", &pg_stats);
    let secs = elapsed.as_secs_f64().max(1e-9);
    let both = ch_stats.committed.rows + pg_stats.committed.rows;
    println!(
        "{PRODUCERS} producers fed both databases at once: {:.2} s, {:.0} rows/s in all",
        secs,
        both as f64 / secs
    );

    // Read back what the servers hold.
    let (ch_count, ch_sum) = ch
        .query("SELECT toUInt64(count()), toInt64(sum(id)) FROM demo_events")
        .fetch_one::<(u64, i64)>()
        .await?;
    let row = pg
        .query_one("SELECT count(*), sum(id)::int8 FROM demo_events", &[])
        .await?;
    let (pg_count, pg_sum): (i64, i64) = (row.get(0), row.get(1));
    println!("read back: ClickHouse {ch_count} rows (sum of ids {ch_sum}), PostgreSQL {pg_count} rows (sum of ids {pg_sum})");
    if stop.load(Ordering::Relaxed) {
        // Interrupted: each database must hold exactly what its batcher committed.
        if ch_count != ch_stats.committed.rows
            || u64::try_from(pg_count)? != pg_stats.committed.rows
        {
            return Err("the servers do not hold what the batchers committed".into());
        }
        println!("ok: every accepted row was delivered before exit");
        return Ok(());
    }
    let expected_sum = rows * (rows - 1) / 2;
    let ok = i64::try_from(ch_count).ok() == Some(rows)
        && pg_count == rows
        && ch_sum == expected_sum
        && pg_sum == expected_sum;
    if !ok {
        return Err(format!("expected {rows} rows with sum of ids {expected_sum} in both").into());
    }
    println!("ok: every row arrived exactly once in both databases");
    Ok(())
}

/// Producer `p` inserts every `PRODUCERS`-th event into both batchers.
async fn produce(
    p: i64,
    rows: i64,
    ch: &Handle<Event<'static>, ClickHouseSink>,
    pg: &Handle<Event<'static>, PostgresSink>,
    stop: &AtomicBool,
) -> Result<(), Error> {
    let epoch = Utc
        .with_ymd_and_hms(2026, 11, 21, 0, 0, 0)
        .single()
        .ok_or("bad epoch")?;
    let mut payload = String::with_capacity(64);
    let mut note = String::with_capacity(16);
    for id in (p..rows).step_by(usize::try_from(PRODUCERS)?) {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        payload.clear();
        write!(
            payload,
            "{{\"session\":\"s-{:08x}\",\"page\":\"/p/{}\"}}",
            id * 7919,
            id % 97
        )?;
        note.clear();
        if id % 10 == 0 {
            write!(note, "note {id}")?;
        }
        let event = |id: i64| -> Result<Event<'_>, Error> {
            Ok(Event {
                id,
                ts: epoch + chrono::Duration::milliseconds(id),
                user_id: i32::try_from(id % 10_000)?,
                kind: KINDS[usize::try_from(id % 4)?],
                value: id as f64 * 0.25,
                payload: &payload,
                note: (!note.is_empty()).then_some(note.as_str()),
            })
        };
        // `insert` encodes the row right away (the borrows end there), waits while the
        // buffer is full, and hands the row back in the error if it cannot be accepted.
        ch.insert(event(id)?).await.map_err(|e| e.to_string())?;
        pg.insert(event(id)?).await.map_err(|e| e.to_string())?;
    }
    Ok(())
}

async fn report_progress<A: Sink, B: Sink>(
    ch: Handle<Event<'static>, A>,
    pg: Handle<Event<'static>, B>,
    rows: i64,
) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tick.tick().await;
        let (c, p) = (ch.stats(), pg.stats());
        println!(
            "  ClickHouse {:>8}/{rows} committed ({} batches) | PostgreSQL {:>8}/{rows} committed ({} batches)",
            c.committed.rows, c.batches_committed, p.committed.rows, p.batches_committed
        );
    }
}

fn summary(name: &str, s: &Stats) {
    println!(
        "{name:<10}: {} rows committed in {} batches ({} failed, {} retries), {:.1} MiB encoded",
        s.committed.rows,
        s.batches_committed,
        s.failed.rows,
        s.retries,
        s.committed.bytes as f64 / (1 << 20) as f64,
    );
}

async fn create_clickhouse_table(ch: &clickhouse::Client) -> Result<(), Error> {
    ch.query("DROP TABLE IF EXISTS demo_events")
        .execute()
        .await?;
    ch.query(
        "CREATE TABLE demo_events (id Int64, ts DateTime, user_id Int32, kind String, \
         value Float64, payload String, note Nullable(String)) ENGINE = MergeTree ORDER BY id",
    )
    .execute()
    .await?;
    Ok(())
}

async fn create_postgres_table(pg: &tokio_postgres::Client) -> Result<(), Error> {
    pg.batch_execute(
        "DROP TABLE IF EXISTS demo_events; \
         CREATE TABLE demo_events (id int8 PRIMARY KEY, ts timestamptz NOT NULL, \
         user_id int4 NOT NULL, kind text NOT NULL, value float8 NOT NULL, \
         payload text NOT NULL, note text)",
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_row_arrives_once_in_both_databases() -> Result<(), super::Error> {
        super::run(20_000).await
    }
}
