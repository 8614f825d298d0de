//! One attempt with the ledger, and the resolution of a `COMMIT` in doubt by reading
//! the ledger under the same locks.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::pin::pin;
use std::time::Duration;

use batch_core::{Batch, SinkError};
use bytes::Bytes;
use deadpool_postgres::{ClientWrapper, Pool};
use futures_util::SinkExt;
use tokio::time::{timeout_at, Instant};
use tokio_postgres::SimpleQueryMessage;

use super::plan::{plan, Key, Plan, Planned};
use super::Ledger;
use crate::sink::attempt::{bounded, limit_ms, messages, txn_of, Checkout, Failure, Message, Txn};
use crate::sink::commit_status::{describe, end_holder, rolled_back, until_settled, Step};

/// How long one commit-status question waits for the locks of the batch's streams
/// before it ends the backend of the transaction in doubt.
const RESOLVE_LOCK_WAIT: Duration = Duration::from_secs(1);
/// The longest one commit-status question may take on the server.
const RESOLVE_STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);

/// `SELECT`s that lock the streams of `keys` in ascending order and read the ledger
/// ranges that overlap them; the ledger rows come back as the last statement's.
fn lock_and_read_sql(ledger: &Ledger, keys: &[Key]) -> String {
    let mut span: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for k in keys {
        let e = span.entry(k.stream).or_insert((k.first, k.last));
        e.0 = e.0.min(k.first);
        e.1 = e.1.max(k.last);
    }
    let streams = int8_array(span.keys().copied());
    let lo = int8_array(span.values().map(|v| v.0));
    let hi = int8_array(span.values().map(|v| v.1));
    format!(
        "SELECT count(pg_advisory_xact_lock(hashint8extended(s, {oid}))) \
         FROM unnest({streams}) AS s; \
         SELECT l.stream, l.first_offset, l.last_offset FROM {table} AS l \
         JOIN unnest({streams}, {lo}, {hi}) AS q(stream, lo, hi) \
         ON l.stream = q.stream AND l.last_offset >= q.lo AND l.first_offset <= q.hi",
        oid = ledger.oid,
        table = ledger.table,
    )
}

/// An `int8[]` literal: `'{1,2,3}'::int8[]`.
fn int8_array(values: impl Iterator<Item = i64>) -> String {
    let mut s = String::from("'{");
    for (i, v) in values.enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(s, "{v}");
    }
    s.push_str("}'::int8[]");
    s
}

/// The statement that adds the ledger rows of `plan`.
fn record_sql(ledger: &Ledger, batch: &Batch, plan: &Plan) -> String {
    let range = batch.range();
    let label = format!(
        "'{:016x}:{}:{}-{}'",
        ledger.instance,
        batch.id(),
        range.start,
        range.end
    );
    let mut sql = format!(
        "INSERT INTO {} (stream, first_offset, last_offset, batch) VALUES ",
        ledger.table
    );
    for (i, (stream, first, last)) in plan.record.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        let _ = write!(sql, "({stream}, {first}, {last}, {label})");
    }
    sql
}

/// The rows of the answer to a multi-statement query that belong to its statement
/// `index` (counted from 0).
fn rows_of(messages: &[SimpleQueryMessage], index: usize) -> Vec<&tokio_postgres::SimpleQueryRow> {
    let mut statement = 0;
    let mut rows = Vec::new();
    for m in messages {
        match m {
            SimpleQueryMessage::CommandComplete(_) => statement += 1,
            SimpleQueryMessage::Row(row) if statement == index => rows.push(row),
            _ => {}
        }
    }
    rows
}

/// Reads ledger rows (stream, first, last) from the answer's statement `index`.
fn ledger_rows(messages: &[SimpleQueryMessage], index: usize) -> Option<Vec<(i64, i64, i64)>> {
    rows_of(messages, index)
        .into_iter()
        .map(|r| {
            Some((
                r.get(0)?.parse().ok()?,
                r.get(1)?.parse().ok()?,
                r.get(2)?.parse().ok()?,
            ))
        })
        .collect()
}

/// One batch, one transaction, with the ledger: as [`attempt::copy_batch`], plus the
/// locks and the ledger read in the round trip of `BEGIN`, only the rows the ledger does
/// not hold in the COPY, and the ledger rows in the round trip of `COMMIT`.
///
/// `planned` is set to the plan's counts once the plan is made, so that a `COMMIT` in
/// doubt that turns out committed can count them.
///
/// [`attempt::copy_batch`]: crate::sink::attempt::copy_batch
pub(crate) async fn copy_batch(
    client: &ClientWrapper,
    copy_sql: &str,
    ledger: &Ledger,
    batch: &Batch,
    keys: &[Key],
    deadline: Instant,
    planned: &mut Option<Planned>,
) -> Result<(), Failure> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(Failure::TimedOut {
            during: "the start",
        });
    }
    let ms = limit_ms(left);
    // READ COMMITTED whatever the role's default: the ledger read must see what
    // committed before the locks were granted.
    let begin = format!(
        "BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL statement_timeout = {ms}; \
         SET LOCAL idle_in_transaction_session_timeout = {ms}; \
         SELECT txid_current(), pg_backend_pid(); {}",
        lock_and_read_sql(ledger, keys)
    );
    let begun = bounded(
        deadline,
        "BEGIN and the ledger read",
        client.simple_query(&begin),
    )
    .await?;
    let Some(txn) = txn_of(&begun) else {
        return Err(Failure::TimedOut {
            during: "BEGIN (the server did not say which transaction it began)",
        });
    };
    let Some(held) = ledger_rows(&begun, 5) else {
        return Err(Failure::TimedOut {
            during: "the ledger read (the server's answer did not hold its rows)",
        });
    };
    let plan = plan(keys, &held);
    *planned = Some(plan.planned);
    if plan.copy.is_empty() {
        // Every row is in the table already.
        bounded(deadline, "ROLLBACK", client.batch_execute("ROLLBACK")).await?;
        ledger.stats.add(plan.planned);
        return Ok(());
    }
    let stmt = bounded(
        deadline,
        "preparing the COPY",
        client.prepare_cached(copy_sql),
    )
    .await?;
    let whole = plan.copy.len() == 1 && plan.copy[0] == (0..batch.rows());
    let copy = async {
        let mut sink = pin!(client.copy_in::<_, Message>(&stmt).await?);
        let chunks: Vec<Bytes> = if whole {
            batch.chunks().collect()
        } else {
            plan.copy
                .iter()
                .flat_map(|rows| batch.slice(rows.clone()).chunks().collect::<Vec<_>>())
                .collect()
        };
        for message in messages(chunks) {
            sink.feed(message).await?;
        }
        sink.as_mut().finish().await
    };
    let inserted = bounded(deadline, "the COPY", copy).await?;
    if usize::try_from(inserted).ok() != Some(plan.planned.written) {
        return Err(Failure::RowCount {
            inserted,
            expected: plan.planned.written,
        });
    }
    if Instant::now() >= deadline {
        return Err(Failure::TimedOut {
            during: "the wait before COMMIT",
        });
    }
    let commit = format!("{}; COMMIT", record_sql(ledger, batch, &plan));
    match timeout_at(deadline, client.batch_execute(&commit)).await {
        Ok(Ok(())) => {
            ledger.stats.add(plan.planned);
            Ok(())
        }
        Ok(Err(error)) => Err(Failure::Commit {
            txn,
            error: Some(error),
        }),
        Err(_) => Err(Failure::Commit { txn, error: None }),
    }
}

/// Finds out, for up to `window`, whether the transaction `txn` of an attempt with the
/// ledger committed, by asking the ledger: `Ok` if it holds every key of the batch; a
/// retryable error (or the server's classified error) if not; a
/// [`SinkErrorKind::PossiblyPersisted`] error if that could not be found out.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn resolve(
    pool: &Pool,
    ledger: &Ledger,
    keys: &[Key],
    txn: Txn,
    error: Option<tokio_postgres::Error>,
    window: Duration,
    what: &str,
    planned: Option<Planned>,
) -> Result<(), SinkError> {
    let cause = describe(error.as_ref());
    let rows = keys.iter().map(|k| k.rows.len()).sum();
    tracing::warn!(
        xid = txn.xid,
        backend = txn.pid,
        ledger = %ledger.display,
        "batchrow: {what}: {cause}; asking the ledger whether the transaction committed"
    );
    let settled = until_settled(window, || async {
        match ask(pool, ledger, keys, txn).await {
            Ok(held) => Step::Settled(held),
            Err(e) => Step::Again(e),
        }
    })
    .await;
    let problem = match settled {
        Ok(true) => {
            tracing::info!(
                xid = txn.xid,
                "batchrow: {what}: the ledger holds the batch: committed"
            );
            if let Some(planned) = planned {
                ledger.stats.add(planned);
            }
            return Ok(());
        }
        Ok(false) => return Err(rolled_back(error, &cause, what, rows)),
        Err(problem) => problem,
    };
    let message = format!(
        "{what}: {cause}, and whether transaction {} committed could not be found out \
         from the ledger {} within the commit-status window of {window:?} (last: \
         {problem}); the rows may be in the table, so the batch is not sent again \
         (replaying its positions later is safe: the ledger skips what is there)",
        txn.xid, ledger.display
    );
    let mut e = SinkError::possibly_persisted(message);
    if let Some(source) = error {
        e = e.with_source(source);
    }
    Err(e)
}

/// Asks once, on a connection of its own: takes the locks of the batch's streams (so
/// the transaction in doubt has ended), then reads whether the ledger holds every key.
/// When the locks are still held after [`RESOLVE_LOCK_WAIT`], ends the backend of `txn`
/// if it still holds that transaction, and says so.
async fn ask(pool: &Pool, ledger: &Ledger, keys: &[Key], txn: Txn) -> Result<bool, String> {
    let client = pool
        .get()
        .await
        .map_err(|e| format!("no connection: {e}"))?;
    let checkout = Checkout::new(client);
    let Some(client) = checkout.client() else {
        return Err("no connection".to_owned());
    };
    let sql = format!(
        "BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL lock_timeout = {}; \
         SET LOCAL statement_timeout = {}; {}",
        limit_ms(RESOLVE_LOCK_WAIT),
        limit_ms(RESOLVE_STATEMENT_TIMEOUT),
        lock_and_read_sql(ledger, keys)
    );
    let answer = client.simple_query(&sql).await;
    let messages = match answer {
        Ok(m) => m,
        Err(e) => {
            let locked = e
                .code()
                .is_some_and(|c| *c == tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE);
            if !locked {
                return Err(format!("the ledger read failed: {e}"));
            }
            client
                .batch_execute("ROLLBACK")
                .await
                .map_err(|e| format!("ROLLBACK failed: {e}"))?;
            end_holder(client, txn).await?;
            checkout.release();
            return Err(format!(
                "the transaction in doubt still held the locks of the batch's streams; \
                 its backend (pid {}) was asked to end",
                txn.pid
            ));
        }
    };
    client
        .batch_execute("ROLLBACK")
        .await
        .map_err(|e| format!("ROLLBACK failed: {e}"))?;
    checkout.release();
    let held = ledger_rows(&messages, 4).ok_or("the ledger read answered no rows")?;
    Ok(plan(keys, &held).copy.is_empty())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::sink::ledger::plan::tests::{batch, key};
    use crate::sink::ledger::LedgerStats;

    #[test]
    fn the_lock_and_read_statements_name_each_stream_once_in_order() {
        let ledger = Ledger {
            table: "\"public\".\"l\"".into(),
            display: "public.l".into(),
            oid: 16384,
            instance: 1,
            stats: LedgerStats::default(),
        };
        let sql = lock_and_read_sql(
            &ledger,
            &[key(2, 5, 9, 0..5), key(-7, 0, 0, 5..6), key(2, 0, 1, 6..8)],
        );
        assert!(sql.contains("hashint8extended(s, 16384)"), "{sql}");
        assert!(
            sql.contains("unnest('{-7,2}'::int8[], '{0,0}'::int8[], '{0,9}'::int8[])"),
            "{sql}"
        );
        let b = batch(3, &[Some((2, 5))]);
        let p = plan(&[key(2, 5, 5, 0..1)], &[]);
        assert_eq!(
            record_sql(&ledger, &b, &p),
            "INSERT INTO \"public\".\"l\" (stream, first_offset, last_offset, batch) VALUES \
             (2, 5, 5, '0000000000000001:3:0-1')"
        );
    }
}
