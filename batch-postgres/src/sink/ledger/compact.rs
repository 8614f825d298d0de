//! Keeping the ledger small: the rows of each stream whose offsets continue one another
//! are merged into one row, so the ledger holds about one row per stream and gap instead
//! of one per stream and batch, and answers the same questions.

use batch_core::SinkError;
use tokio_postgres::Client;

use super::{qualified, query_error};
use crate::schema::TableName;

/// What [`compact_ledger`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LedgerCompaction {
    /// Ledger rows of user streams before.
    pub rows_before: u64,
    /// Ledger rows of user streams after.
    pub rows_after: u64,
}

/// Merges the [ledger](crate::PostgresSink::ledger) rows of each stream whose offsets
/// continue one another (or overlap) into one row, in one transaction, and returns how
/// many rows there were before and after. The ledger still holds exactly the positions it
/// held, so every later batch and every check of a `COMMIT` in doubt gets the same
/// answers; only rows with a position (streams 0 and up) are merged.
///
/// It takes the lock of every stream it merges, in the order the sinks take them, so it
/// is safe while batchers write through the ledger: their batches wait for it (it takes
/// milliseconds for thousands of rows). Run it now and then, for example every hour, on a
/// connection of its own; the role needs `DELETE` on the ledger. To drop old positions
/// altogether, delete by `committed_at` instead (see [`PostgresSink::ledger`](crate::PostgresSink::ledger)).
///
/// # Errors
///
/// The server's error, classified as the sink classifies errors (a missing table is a
/// [`Config`](batch_core::SinkErrorKind::Config) error).
///
/// # Examples
///
/// ```no_run
/// # async fn run(client: &tokio_postgres::Client) -> Result<(), batch_core::SinkError> {
/// let done = batch_postgres::compact_ledger(client, "batchrow_ledger").await?;
/// println!("ledger: {} rows -> {}", done.rows_before, done.rows_after);
/// # Ok(()) }
/// ```
pub async fn compact_ledger(client: &Client, ledger: &str) -> Result<LedgerCompaction, SinkError> {
    let table = qualified(&TableName::parse(ledger));
    let result = async {
        client.batch_execute("BEGIN").await?;
        // The locks first, in a statement of their own, so that the merge's snapshot
        // sees every batch that committed while it waited for them.
        client
            .execute(LOCK_SQL.replace("{table}", &table).as_str(), &[&table])
            .await?;
        let row = client.query_one(merge_sql(&table).as_str(), &[]).await?;
        client.batch_execute("COMMIT").await?;
        Ok::<_, tokio_postgres::Error>(row)
    }
    .await;
    match result {
        Ok(row) => {
            let count = |i: usize| u64::try_from(row.get::<_, i64>(i)).unwrap_or(0);
            Ok(LedgerCompaction {
                rows_before: count(0),
                rows_after: count(1),
            })
        }
        Err(e) => {
            let _ = client.batch_execute("ROLLBACK").await;
            Err(query_error(e))
        }
    }
}

/// Locks every user stream of the ledger `{table}` (`$1` is its name) in ascending
/// order, keyed as the sinks key them: by the table's OID and the stream.
const LOCK_SQL: &str =
    "SELECT count(pg_advisory_xact_lock(hashint8extended(s, $1::text::regclass::oid::int8))) \
     FROM (SELECT DISTINCT stream AS s FROM {table} WHERE stream >= 0 ORDER BY 1) AS streams";

/// Replaces each run of continuing rows of a user stream of the ledger `table` (quoted)
/// with one row; returns the row counts before and after.
fn merge_sql(table: &str) -> String {
    format!(
        "WITH marked AS ( \
           SELECT stream, first_offset, last_offset, committed_at, \
             CASE WHEN first_offset <= max(last_offset) OVER (PARTITION BY stream \
               ORDER BY first_offset, last_offset \
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) + 1 THEN 0 ELSE 1 END AS starts \
           FROM {table} WHERE stream >= 0 \
         ), grouped AS ( \
           SELECT *, sum(starts) OVER (PARTITION BY stream ORDER BY first_offset, last_offset \
             ROWS UNBOUNDED PRECEDING) AS run FROM marked \
         ), merged AS ( \
           SELECT stream, min(first_offset) AS first_offset, max(last_offset) AS last_offset, \
             max(committed_at) AS committed_at, count(*) AS rows \
           FROM grouped GROUP BY stream, run \
         ), gone AS ( \
           DELETE FROM {table} AS d USING merged AS m \
           WHERE m.rows > 1 AND d.stream = m.stream \
             AND d.first_offset >= m.first_offset AND d.last_offset <= m.last_offset \
         ), added AS ( \
           INSERT INTO {table} (stream, first_offset, last_offset, batch, committed_at) \
           SELECT stream, first_offset, last_offset, 'compacted', committed_at \
           FROM merged WHERE rows > 1 \
         ) \
         SELECT (SELECT count(*) FROM marked), (SELECT count(*) FROM merged)"
    )
}
