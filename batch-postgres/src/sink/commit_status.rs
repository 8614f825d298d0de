//! Finding out whether a transaction committed, after its `COMMIT` failed or timed out.
//!
//! The server is asked on another connection (`txid_status`), again and again until the
//! commit-status window ends, so that a restart or a short outage is ridden out. While
//! the transaction is still "in progress" (the old connection's backend has not noticed
//! that its client is gone, or the `COMMIT` never reached it), that backend is
//! terminated, only if it still holds that very transaction, so that the status becomes
//! definite: committed, or rolled back.

use std::time::Duration;

use batch_core::{SinkError, SinkErrorKind};
use deadpool_postgres::Pool;
use tokio::time::{sleep, timeout_at, Instant};

use super::attempt::{Checkout, Txn};
use super::classify::{classify, Outcome};

/// The status of a transaction, as `txid_status` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Committed,
    Aborted,
    InProgress,
    /// `NULL`: the transaction is too old for the server to remember.
    Forgotten,
}

/// The first pause between two questions, and the longest.
const FIRST_PAUSE: Duration = Duration::from_millis(100);
const MAX_PAUSE: Duration = Duration::from_secs(2);

/// What `COMMIT` did, for messages.
pub(super) fn describe(error: Option<&tokio_postgres::Error>) -> String {
    match error {
        Some(e) => format!("COMMIT failed ({e})"),
        None => "COMMIT did not answer before the attempt's deadline".to_owned(),
    }
}

/// One answer while finding out whether a transaction committed.
pub(super) enum Step<T> {
    /// The outcome is known.
    Settled(T),
    /// Not yet; ask again after a pause (why, for the final message).
    Again(String),
    /// It cannot be found out by asking again (why).
    GiveUp(String),
}

/// Asks `step` again and again, the pause doubling from 100 ms to 2 s, until it settles
/// or `window` ends; `Err` with the last reason when it does not settle in time. Shared by
/// the `txid_status` check and the ledger check.
pub(super) async fn until_settled<T, F, Fut>(window: Duration, mut step: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Step<T>>,
{
    let until = Instant::now()
        .checked_add(window)
        .unwrap_or_else(Instant::now);
    let mut pause = FIRST_PAUSE;
    let mut problem = String::from("no answer yet");
    loop {
        match timeout_at(until, step()).await {
            Ok(Step::Settled(outcome)) => return Ok(outcome),
            Ok(Step::Again(why)) => problem = why,
            Ok(Step::GiveUp(why)) => return Err(why),
            Err(_) => return Err(problem),
        }
        let next = Instant::now() + pause;
        if next >= until {
            return Err(problem);
        }
        sleep(pause).await;
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

/// Finds out whether `txn` committed, for up to `window`: `Ok` if it did; a retryable
/// error (or the server's classified error) if it was rolled back; a
/// [`SinkErrorKind::PossiblyPersisted`] error if that could not be found out.
pub(crate) async fn resolve(
    pool: &Pool,
    txn: Txn,
    error: Option<tokio_postgres::Error>,
    window: Duration,
    what: &str,
    rows: usize,
) -> Result<(), SinkError> {
    let cause = describe(error.as_ref());
    tracing::warn!(
        xid = txn.xid,
        backend = txn.pid,
        "batchrow: {what}: {cause}; asking the server whether the transaction committed"
    );
    let settled = until_settled(window, || async {
        match ask(pool, txn).await {
            Ok(Status::Committed) => Step::Settled(true),
            Ok(Status::Aborted) => Step::Settled(false),
            Ok(Status::Forgotten) => {
                Step::GiveUp("the server no longer remembers the transaction".to_owned())
            }
            Ok(Status::InProgress) => Step::Again(format!(
                "the transaction was still in progress; its backend (pid {}) was asked \
                 to end",
                txn.pid
            )),
            Err(e) => Step::Again(e),
        }
    })
    .await;
    let problem = match settled {
        Ok(true) => {
            tracing::info!(xid = txn.xid, "batchrow: {what}: the transaction committed");
            return Ok(());
        }
        Ok(false) => return Err(rolled_back(error, &cause, what, rows)),
        Err(problem) => problem,
    };
    let message = format!(
        "{what}: {cause}, and whether transaction {} committed could not be found out \
         within the commit-status window of {window:?} (last: {problem}); the rows may be \
         in the table, so the batch is not sent again",
        txn.xid
    );
    let mut e = SinkError::possibly_persisted(message);
    if let Some(source) = error {
        e = e.with_source(source);
    }
    Err(e)
}

/// The error for a transaction the server rolled back: the server's own, if it refused
/// the `COMMIT` for a reason retrying does not cure (a deferred constraint), or else a
/// retryable one.
pub(super) fn rolled_back(
    error: Option<tokio_postgres::Error>,
    cause: &str,
    what: &str,
    rows: usize,
) -> SinkError {
    if let Some(err) = error {
        if err.as_db_error().is_some() {
            let (Outcome::Error(e) | Outcome::Recheck(e)) = classify(err, what, rows);
            if e.kind() != SinkErrorKind::Retryable {
                return e;
            }
            return SinkError::retryable(format!(
                "{e}; the server rolled the transaction back, so the batch is sent again"
            ))
            .with_source(e);
        }
        return SinkError::retryable(format!(
            "{what}: {cause}; the server rolled the transaction back, so the batch is sent \
             again"
        ))
        .with_source(err);
    }
    SinkError::retryable(format!(
        "{what}: {cause}; the server rolled the transaction back, so the batch is sent again"
    ))
}

/// Asks once, on a connection of its own; ends the backend still holding the
/// transaction when it is in progress.
async fn ask(pool: &Pool, txn: Txn) -> Result<Status, String> {
    let client = pool
        .get()
        .await
        .map_err(|e| format!("no connection: {e}"))?;
    let checkout = Checkout::new(client);
    let Some(client) = checkout.client() else {
        return Err("no connection".to_owned());
    };
    let row = client
        .query_one("SELECT txid_status($1)::text", &[&txn.xid])
        .await
        .map_err(|e| format!("txid_status failed: {e}"))?;
    let status = match row
        .try_get::<_, Option<String>>(0)
        .map_err(|e| e.to_string())?
        .as_deref()
    {
        Some("committed") => Status::Committed,
        Some("aborted") => Status::Aborted,
        Some("in progress") => Status::InProgress,
        None => Status::Forgotten,
        Some(other) => return Err(format!("txid_status answered {other:?}")),
    };
    if status == Status::InProgress {
        end_holder(client, txn).await?;
    }
    checkout.release();
    Ok(status)
}

/// Terminates the backend that still holds `txn` (its pid, while its current
/// transaction is that one: the low 32 bits of the 64-bit id), so that the transaction
/// ends; returns whether one was.
pub(super) async fn end_holder(client: &tokio_postgres::Client, txn: Txn) -> Result<bool, String> {
    let xid32 = (txn.xid & 0xFFFF_FFFF).to_string();
    let ended = client
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE pid = $1 AND backend_xid::text = $2",
            &[&txn.pid, &xid32],
        )
        .await
        .map_err(|e| format!("ending backend {} failed: {e}", txn.pid))?;
    tracing::warn!(
        xid = txn.xid,
        backend = txn.pid,
        terminated = !ended.is_empty(),
        "batchrow: the transaction is still in progress; terminating the backend that \
         holds it, so that its outcome becomes definite"
    );
    Ok(!ended.is_empty())
}
