//! The smallest complete program for ClickHouse: a struct, a table, a batcher, `close`.
//!
//! ```sh
//! bash scripts/clickhouse.sh   # a server on 127.0.0.1:8123, if you have none
//! cargo run --example quickstart_clickhouse
//! ```
//!
//! The server's URL comes from `BATCHROW_CLICKHOUSE_URL` (default
//! `http://127.0.0.1:8123`).

use batchrow::clickhouse::clickhouse::Client;
use batchrow::clickhouse::ClickHouseSink;
use batchrow::{BatchRow, Batcher};

#[derive(BatchRow)]
#[batch(table = "quickstart_events")]
struct Event<'a> {
    id: u64,
    user: &'a str,
    score: f64,
    tags: Vec<&'a str>,
    note: Option<String>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows = run().await?;
    println!("{rows} rows in quickstart_events");
    Ok(())
}

async fn run() -> Result<u64, Box<dyn std::error::Error>> {
    let url =
        std::env::var("BATCHROW_CLICKHOUSE_URL").unwrap_or_else(|_| "http://127.0.0.1:8123".into());
    // Row validation off: it needs a newer server than 18.16 for reading the count back
    // (the sink turns it off for its own queries).
    let client = Client::default().with_url(url).with_validation(false);
    client
        .query("DROP TABLE IF EXISTS quickstart_events")
        .execute()
        .await?;
    client
        .query(
            "CREATE TABLE quickstart_events (id UInt64, user String, score Float64, \
             tags Array(String), note Nullable(String)) ENGINE = MergeTree ORDER BY id",
        )
        .execute()
        .await?;

    // Checks the struct against the table before the first row is accepted.
    let events = Batcher::builder(ClickHouseSink::new(client.clone()))
        .spawn::<Event>()
        .await?;
    for id in 0..1000 {
        let event = Event {
            id,
            user: "ada",
            score: id as f64 / 10.0,
            tags: vec!["quickstart"],
            note: (id % 100 == 0).then(|| format!("every hundredth: {id}")),
        };
        events.insert(event).await?; // waits while the buffer is full
    }
    let totals = events.close().await?; // delivers every accepted row, then stops
    println!("{} rows committed", totals.committed.rows);

    let stored: u64 = client
        .query("SELECT toUInt64(count()) FROM quickstart_events")
        .fetch_one()
        .await?;
    Ok(stored)
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn runs_against_the_server() -> Result<(), Box<dyn std::error::Error>> {
        assert_eq!(super::run().await?, 1000);
        Ok(())
    }
}
