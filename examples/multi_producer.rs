//! Eight producer tasks inserting into one ClickHouse batcher through clones of its
//! handle, with a live progress line on stderr (rows/s, rows buffered, committed,
//! retries) and a final summary.
//!
//! ```sh
//! cargo run --release --example multi_producer -- 2000000   # ROWS, default 2,000,000
//! ```
//!
//! On a terminal the progress line is drawn by `indicatif`; otherwise (a pipe, a CI log)
//! a plain line is printed each second. The server's URL comes from
//! `BATCHROW_CLICKHOUSE_URL` (default `http://127.0.0.1:8123`).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use batchrow::clickhouse::clickhouse::Client;
use batchrow::clickhouse::ClickHouseSink;
use batchrow::{BatchRow, Batcher, Handle, Stats};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

type Error = Box<dyn std::error::Error + Send + Sync>;

const PRODUCERS: u64 = 8;

#[derive(BatchRow)]
#[batch(table = "multi_producer_events")]
struct Reading<'a> {
    id: u64,
    producer: u8,
    sensor: &'a str,
    value: f64,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let rows = match std::env::args().nth(1) {
        Some(n) => n
            .parse()
            .map_err(|e| format!("ROWS must be a number: {e}"))?,
        None => 2_000_000,
    };
    run(rows).await?;
    Ok(())
}

/// Inserts `rows` readings from [`PRODUCERS`] tasks; returns the totals and what the
/// table holds (rows and the sum of ids).
async fn run(rows: u64) -> Result<(Stats, u64, u64), Error> {
    let url =
        std::env::var("BATCHROW_CLICKHOUSE_URL").unwrap_or_else(|_| "http://127.0.0.1:8123".into());
    // Row validation off: it needs a newer server than 18.16 for reading the count back
    // (the sink turns it off for its own queries).
    let client = Client::default().with_url(url).with_validation(false);
    client
        .query("DROP TABLE IF EXISTS multi_producer_events")
        .execute()
        .await?;
    client
        .query(
            "CREATE TABLE multi_producer_events (id UInt64, producer UInt8, sensor String, \
             value Float64) ENGINE = MergeTree ORDER BY id",
        )
        .execute()
        .await?;
    let handle = Batcher::builder(ClickHouseSink::new(client.clone()))
        .name("multi_producer")
        .max_rows(100_000)
        .max_wait(Duration::from_millis(250))
        .spawn::<Reading>()
        .await?;

    let started = Instant::now();
    let progress = tokio::spawn(show_progress(handle.clone(), rows));
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let handle = handle.clone();
            tokio::spawn(async move {
                let sensor = format!("sensor-{p}");
                let producer = u8::try_from(p)?;
                for id in (p..rows).step_by(usize::try_from(PRODUCERS)?) {
                    let reading = Reading {
                        id,
                        producer,
                        sensor: &sensor,
                        value: id as f64 * 0.001,
                    };
                    // `insert` waits while the buffer is full; its error hands the row
                    // back, dropped here to return a 'static error.
                    handle
                        .insert(reading)
                        .await
                        .map_err(batchrow::InsertError::without_row)?;
                }
                Ok::<(), Error>(())
            })
        })
        .collect();
    for p in producers {
        p.await??;
    }
    let totals = handle.close().await?;
    progress.abort();
    let _ = progress.await;
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    eprintln!(
        "done: {} rows committed in {} batches, {} failed, {} retries; {:.2} s, {:.0} rows/s",
        totals.committed.rows,
        totals.batches_committed,
        totals.failed.rows,
        totals.retries,
        secs,
        totals.committed.rows as f64 / secs
    );
    let (stored, id_sum) = client
        .query("SELECT toUInt64(count()), toUInt64(sum(id)) FROM multi_producer_events")
        .fetch_one::<(u64, u64)>()
        .await?;
    println!("multi_producer_events holds {stored} rows");
    Ok((totals, stored, id_sum))
}

/// Redraws the progress line until aborted.
async fn show_progress<S: batchrow::Sink>(handle: Handle<Reading<'static>, S>, rows: u64) {
    let terminal = std::io::stderr().is_terminal();
    let bar = if terminal {
        let bar = ProgressBar::with_draw_target(Some(rows), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{bar:30} {percent:>3}% {msg} [{elapsed_precise}]")
        {
            bar.set_style(style);
        }
        Some(bar)
    } else {
        None
    };
    let mut tick = tokio::time::interval(if terminal {
        Duration::from_millis(100)
    } else {
        Duration::from_secs(1)
    });
    let started = Instant::now();
    loop {
        tick.tick().await;
        let s = handle.stats();
        // Batches commit in steps, so the rate is the average since the start.
        let rate = s.committed.rows as f64 / started.elapsed().as_secs_f64().max(1e-9);
        let line = format!(
            "{rate:>10.0} rows/s | buffered {:>8} | committed {:>9}/{rows} | retries {}",
            s.in_buffer.rows, s.committed.rows, s.retries
        );
        match &bar {
            Some(bar) => {
                bar.set_position(s.committed.rows);
                bar.set_message(line);
            }
            None => eprintln!("{line}"),
        }
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_row_arrives_once() -> Result<(), super::Error> {
        let rows = 200_000;
        let (totals, stored, id_sum) = super::run(rows).await?;
        assert_eq!(totals.committed.rows, rows);
        assert_eq!(stored, rows);
        assert_eq!(id_sum, rows * (rows - 1) / 2);
        Ok(())
    }
}
