//! Sending one batch: a transaction on a pooled connection, the COPY (or the upsert, or
//! the ledger's steps), `COMMIT`, and what a failure means.

use batch_core::{Batch, SinkError};
use tokio::time::{timeout_at, Instant};

use super::attempt::{self, Checkout, Failure};
use super::classify::{classify, pool_error, Outcome};
use super::{commit_status, ledger, PostgresSender};

impl PostgresSender {
    /// One attempt of [`Sender::send_by`](batch_core::Sender::send_by): one transaction, by `deadline`.
    pub(super) async fn run_send(&self, batch: &Batch, deadline: Instant) -> Result<(), SinkError> {
        let prepared = self.prepared.clone();
        if batch.is_empty() {
            return Ok(());
        }
        let what = match &prepared.merge {
            Some(_) => format!("upsert into {}", prepared.checked.table.display()),
            None => format!("COPY into {}", prepared.checked.table.display()),
        };
        let keys = match &prepared.ledger {
            Some(ledger) => Some(ledger.keys(batch)?),
            None => None,
        };
        let client = match timeout_at(deadline, self.sink.pool.get()).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => return Err(pool_error(e, &self.sink.pool, &self.sink.endpoint)),
            Err(_) => {
                return Err(SinkError::retryable(format!(
                    "{what}: no PostgreSQL connection before the attempt's deadline; \
                     nothing was sent"
                )))
            }
        };
        let checkout = Checkout::new(client);
        let mut planned = None;
        let result = match (checkout.client(), &prepared.ledger, &keys) {
            (Some(client), Some(ledger), Some(keys)) => {
                let copy_sql = &prepared.checked.copy_sql;
                ledger::copy_batch(
                    client,
                    copy_sql,
                    ledger,
                    batch,
                    keys,
                    deadline,
                    &mut planned,
                )
                .await
            }
            (Some(client), _, _) => {
                attempt::copy_batch(
                    client,
                    prepared.copy_sql(),
                    prepared.merge.as_ref(),
                    batch,
                    deadline,
                )
                .await
            }
            (None, _, _) => Err(Failure::TimedOut {
                during: "taking a connection",
            }),
        };
        let failure = match result {
            Ok(()) => {
                checkout.release();
                return Ok(());
            }
            Err(failure) => failure,
        };
        // The connection is in a state the client library may not track (an error at
        // the COPY's Bind leaves an extra ReadyForQuery in flight; a timeout leaves a
        // request unanswered): it is closed rather than reused.
        drop(checkout);
        match failure {
            Failure::Error(err) => match classify(err, &what, batch.rows()) {
                Outcome::Error(e) => Err(e),
                Outcome::Recheck(e) => Err(self.sink.recheck(&prepared, e, deadline).await),
            },
            Failure::TimedOut { during } => Err(SinkError::retryable(format!(
                "{what}: the attempt's deadline passed during {during}; the connection was \
                 closed, so the server rolls the transaction back and nothing was committed"
            ))),
            Failure::RowCount { inserted, expected } => Err(SinkError::permanent(format!(
                "{what}: the server read {inserted} rows, but {expected} were sent; \
                 nothing was committed"
            ))),
            Failure::Commit { txn, error } => match (&prepared.ledger, &keys) {
                (Some(ledger), Some(keys)) => {
                    let window = self.sink.commit_status_window;
                    ledger::resolve(
                        &self.sink.pool,
                        ledger,
                        keys,
                        txn,
                        error,
                        window,
                        &what,
                        planned,
                    )
                    .await
                }
                _ => {
                    commit_status::resolve(
                        &self.sink.pool,
                        txn,
                        error,
                        self.sink.commit_status_window,
                        &what,
                        batch.rows(),
                    )
                    .await
                }
            },
        }
    }
}
