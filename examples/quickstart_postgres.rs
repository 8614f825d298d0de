//! The smallest complete program for PostgreSQL: a struct, a table, a batcher, `close`.
//!
//! ```sh
//! bash scripts/postgres.sh   # a server on 127.0.0.1:5432, if you have none
//! cargo run --example quickstart_postgres
//! ```
//!
//! The server's URL comes from `BATCHROW_POSTGRES_URL` (default
//! `postgres://batchrow:batchrow@127.0.0.1:5432/batchrow`).

use batchrow::postgres::tokio_postgres::{self, NoTls};
use batchrow::postgres::PostgresSink;
use batchrow::{BatchRow, Batcher};

#[derive(BatchRow)]
#[batch(table = "quickstart_events")]
struct Event<'a> {
    id: i64,
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

async fn run() -> Result<i64, Box<dyn std::error::Error>> {
    let url = std::env::var("BATCHROW_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://batchrow:batchrow@127.0.0.1:5432/batchrow".into());
    let (client, connection) = tokio_postgres::connect(&url, NoTls).await?;
    tokio::spawn(connection);
    client
        .batch_execute(
            "DROP TABLE IF EXISTS quickstart_events; \
             CREATE TABLE quickstart_events (id int8 PRIMARY KEY, \"user\" text NOT NULL, \
             score float8 NOT NULL, tags text[] NOT NULL, note text)",
        )
        .await?;

    // Checks the struct against the table before the first row is accepted.
    let events = Batcher::builder(PostgresSink::new(&url)?)
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

    let row = client
        .query_one("SELECT count(*) FROM quickstart_events", &[])
        .await?;
    Ok(row.get(0))
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn runs_against_the_server() -> Result<(), Box<dyn std::error::Error>> {
        assert_eq!(super::run().await?, 1000);
        Ok(())
    }
}
