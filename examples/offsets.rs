//! Exactly-once from a partitioned source into PostgreSQL, across a crash.
//!
//! A simulated source has 4 partitions of numbered messages, as a Kafka topic would.
//! The consumer inserts them with `insert_many_at` (each row carries its partition and
//! offset), and commits an offset for a partition only when the batcher's `on_commit`
//! hook says the rows are in the table: the committed offset of a partition advances
//! only when every lower offset is committed (a contiguous watermark), and is saved to
//! a file. On start it resumes from that file.
//!
//! Rows committed after the last saved offsets (a crash between a commit and saving its
//! offsets, or a `COMMIT` whose answer never came back) are replayed after a restart.
//! The sink's ledger (`PostgresSink::ledger`) skips the ones already in the table, so
//! every message ends up in the table exactly once.
//!
//! The program shows it: a first run, in a child process, crashes on purpose right after
//! a batch committed and before its offsets were saved; a second run resumes from the
//! file. Then it reads the table back and prints what each run did.
//!
//! Run: `cargo run --example offsets [-- MESSAGES_PER_PARTITION]` (default 20,000). The
//! server comes from `BATCHROW_POSTGRES_URL` (default
//! `postgres://batchrow:batchrow@127.0.0.1:5432/batchrow`; `bash scripts/servers.sh`
//! starts one). It writes the tables `offsets_example` and `offsets_example_ledger`.
//! `tests/postgres/ledger.rs` runs the consumer as a child process it kills.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use batchrow::postgres::PostgresSink;
use batchrow::{BatchRow, Batcher, Position};

/// Partitions of the simulated source.
pub const PARTITIONS: u64 = 4;
/// Messages read from a partition at a time.
const POLL: u64 = 250;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// One message of the source, as the table stores it.
#[derive(BatchRow, Debug, Clone)]
#[batch(table = "offsets_example")]
pub struct Message {
    /// The partition it was read from.
    pub partition: i32,
    /// Its offset in the partition.
    pub msg_offset: i64,
    /// Its content.
    pub body: String,
}

/// What a consumer run is told.
#[derive(Debug, Clone)]
pub struct Config {
    /// The PostgreSQL server.
    pub url: String,
    /// The table the messages go to.
    pub table: String,
    /// The sink's ledger table.
    pub ledger: String,
    /// Where the committed offsets are saved.
    pub state: PathBuf,
    /// Messages in each partition.
    pub per_partition: u64,
    /// Rows per batch.
    pub batch_rows: usize,
    /// A pause after each poll, so that a run takes a while.
    pub pace: Duration,
    /// Crash (abort the process) right after this many batches committed, before the
    /// offsets of the last one are saved.
    pub crash_after_commits: Option<u32>,
}

/// What a consumer run did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The offsets it resumed from.
    pub resumed_from: Vec<u64>,
    /// Messages it inserted (read from the source).
    pub inserted: u64,
    /// Rows the ledger left out because they were in the table already.
    pub skipped: u64,
    /// Rows written.
    pub written: u64,
    /// The committed offsets it saved last.
    pub committed: Vec<u64>,
}

/// The committed offset of each partition: every offset below it is committed. Ranges
/// committed above it wait until the gap below them is filled.
#[derive(Debug, Clone)]
pub struct Watermarks {
    next: Vec<u64>,
    above: Vec<BTreeMap<u64, u64>>,
}

impl Watermarks {
    /// Watermarks at `next` (one per partition), nothing committed above them.
    pub fn new(next: Vec<u64>) -> Self {
        let above = next.iter().map(|_| BTreeMap::new()).collect();
        Watermarks { next, above }
    }

    /// Records that offsets `first..=last` of `partition` are committed; returns
    /// whether the watermark moved.
    pub fn commit(&mut self, partition: usize, first: u64, last: u64) -> bool {
        let (Some(next), Some(above)) =
            (self.next.get_mut(partition), self.above.get_mut(partition))
        else {
            return false;
        };
        let before = *next;
        above.insert(first, last.max(above.get(&first).copied().unwrap_or(0)));
        while let Some((&first, &last)) = above.first_key_value() {
            if first > *next {
                break;
            }
            *next = (*next).max(last + 1);
            above.remove(&first);
        }
        *next != before
    }

    /// The committed offset of each partition.
    pub fn offsets(&self) -> &[u64] {
        &self.next
    }
}

/// Reads the saved offsets (one line per partition: `partition next_offset`); zeros
/// when there is no file yet.
pub fn load_offsets(path: &Path) -> Result<Vec<u64>, Error> {
    let mut next = vec![0; usize::try_from(PARTITIONS)?];
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(next),
        Err(e) => return Err(e.into()),
    };
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        if let (Some(p), Some(o)) = (parts.next(), parts.next()) {
            let p: usize = p.parse()?;
            if let Some(slot) = next.get_mut(p) {
                *slot = o.parse()?;
            }
        }
    }
    Ok(next)
}

/// Saves the offsets: written to a temporary file, then renamed over the old one, so
/// that a crash leaves the old offsets or the new ones, never half a file.
pub fn save_offsets(path: &Path, next: &[u64]) -> std::io::Result<()> {
    let text: String = next
        .iter()
        .enumerate()
        .map(|(p, o)| format!("{p} {o}\n"))
        .collect();
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(tmp, path)
}

/// The message at `offset` of `partition` in the simulated source.
pub fn message(partition: u64, offset: u64) -> Message {
    Message {
        partition: i32::try_from(partition).unwrap_or(i32::MAX),
        msg_offset: i64::try_from(offset).unwrap_or(i64::MAX),
        body: format!("partition {partition} message {offset}"),
    }
}

/// One consumer run: resumes from the saved offsets, reads every partition to its end,
/// inserts each message at its position, saves committed offsets from the commit hook,
/// and closes.
pub async fn consume(config: &Config) -> Result<Report, Error> {
    let resumed_from = load_offsets(&config.state)?;
    let sink = PostgresSink::new(&config.url)?
        .table(&config.table)
        .ledger(&config.ledger)
        .create_ledger(true);
    let ledger = sink.ledger_stats();
    let marks = Arc::new(Mutex::new(Watermarks::new(resumed_from.clone())));
    let (state, crash_after, hook_marks) = (
        config.state.clone(),
        config.crash_after_commits,
        marks.clone(),
    );
    let mut commits = 0_u32;
    let handle = Batcher::builder(sink)
        .max_rows(config.batch_rows)
        .max_wait(Duration::from_millis(200))
        .on_commit(move |batch| {
            commits += 1;
            if crash_after == Some(commits) {
                // The batch is in the table; its offsets are not saved.
                eprintln!("offsets: crashing after {commits} committed batches, on purpose");
                std::process::abort();
            }
            let Ok(mut marks) = hook_marks.lock() else {
                return;
            };
            let mut moved = false;
            for range in batch.positions() {
                let partition = usize::try_from(range.stream).unwrap_or(usize::MAX);
                moved |= marks.commit(partition, range.first, range.last);
            }
            if moved {
                if let Err(e) = save_offsets(&state, marks.offsets()) {
                    // The offsets stay where they were: a restart replays a little more.
                    eprintln!("offsets: saving {} failed: {e}", state.display());
                }
            }
        })
        .spawn::<Message>()
        .await?;
    let mut cursor = resumed_from.clone();
    let mut inserted = 0;
    loop {
        let mut polled = false;
        for (p, at) in cursor.iter_mut().enumerate() {
            let partition = p as u64;
            let end = (*at + POLL).min(config.per_partition);
            if *at >= end {
                continue;
            }
            let messages = (*at..end).map(|o| message(partition, o));
            handle
                .insert_many_at(messages, Position::new(partition, *at))
                .await
                .map_err(|e| e.error.to_string())?;
            inserted += end - *at;
            *at = end;
            polled = true;
        }
        if !polled {
            break;
        }
        if !config.pace.is_zero() {
            tokio::time::sleep(config.pace).await;
        }
    }
    handle.close().await?;
    let committed = marks.lock().map_err(|_| "poisoned")?.offsets().to_vec();
    Ok(Report {
        resumed_from,
        inserted,
        skipped: ledger.rows_skipped(),
        written: ledger.rows_written(),
        committed,
    })
}

/// Rows in `table`, distinct (partition, offset) pairs among them, and rows outside
/// the source.
pub async fn read_back(
    client: &tokio_postgres::Client,
    table: &str,
    per_partition: u64,
) -> Result<(i64, i64, i64), Error> {
    let n = i64::try_from(per_partition)?;
    let row = client
        .query_one(
            &format!(
                "SELECT count(*), count(DISTINCT (partition, msg_offset)), \
                 count(*) FILTER (WHERE partition NOT BETWEEN 0 AND {} \
                 OR msg_offset NOT BETWEEN 0 AND $1::int8 - 1) FROM {table}",
                PARTITIONS - 1
            ),
            &[&n],
        )
        .await?;
    Ok((row.get(0), row.get(1), row.get(2)))
}

/// Creates the example's table, empty, and drops its ledger.
pub async fn fresh_tables(
    client: &tokio_postgres::Client,
    table: &str,
    ledger: &str,
) -> Result<(), Error> {
    client
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS {table}; DROP TABLE IF EXISTS {ledger}; \
             CREATE TABLE {table} (partition int4 NOT NULL, msg_offset int8 NOT NULL, \
             body text NOT NULL)"
        ))
        .await?;
    Ok(())
}

/// The environment variable that makes this program the crashing first run.
const CHILD: &str = "BATCHROW_OFFSETS_CHILD";

fn config(per_partition: u64, state: PathBuf) -> Config {
    Config {
        url: std::env::var("BATCHROW_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://batchrow:batchrow@127.0.0.1:5432/batchrow".into()),
        table: "offsets_example".into(),
        ledger: "offsets_example_ledger".into(),
        state,
        per_partition,
        batch_rows: 5_000,
        pace: Duration::from_millis(5),
        crash_after_commits: None,
    }
}

#[allow(dead_code)]
#[tokio::main]
async fn main() -> Result<(), Error> {
    let per_partition: u64 = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 20_000,
    };
    let state = std::env::temp_dir().join("batchrow-offsets-example.txt");
    let mut config = config(per_partition, state.clone());
    if std::env::var_os(CHILD).is_some() {
        config.crash_after_commits = Some(3);
        consume(&config).await?;
        return Ok(());
    }

    let (client, conn) = tokio_postgres::connect(&config.url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    fresh_tables(&client, &config.table, &config.ledger).await?;
    let _ = std::fs::remove_file(&state);
    let total = per_partition * PARTITIONS;
    println!(
        "offsets: {PARTITIONS} partitions of {per_partition} messages into {} (ledger {})",
        config.table, config.ledger
    );

    // Run 1, in a child process that crashes after its third committed batch, before it
    // saves that batch's offsets.
    let status = std::process::Command::new(std::env::current_exe()?)
        .arg(per_partition.to_string())
        .env(CHILD, "1")
        .status()?;
    let saved = load_offsets(&state)?;
    let (rows, _, _) = read_back(&client, &config.table, per_partition).await?;
    let covered: u64 = saved.iter().sum();
    println!(
        "run 1: crashed ({status}); saved offsets {saved:?} cover {covered} messages; the \
         table holds {rows} rows, so {} committed rows have no saved offset",
        u64::try_from(rows)? - covered
    );

    // Run 2: resume from the saved offsets.
    config.pace = Duration::ZERO;
    let report = consume(&config).await?;
    println!(
        "run 2: resumed from {:?}, read {} messages; the ledger skipped {} rows already in \
         the table and wrote {}; committed offsets now {:?}",
        report.resumed_from, report.inserted, report.skipped, report.written, report.committed
    );

    let (rows, distinct, stray) = read_back(&client, &config.table, per_partition).await?;
    println!("table: {rows} rows, {distinct} distinct (partition, offset), {stray} stray; expected {total}");
    if u64::try_from(rows)? != total || u64::try_from(distinct)? != total || stray != 0 {
        return Err(format!("expected every one of {total} messages exactly once").into());
    }
    println!("every message is in the table exactly once");
    Ok(())
}
