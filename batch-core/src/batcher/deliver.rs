//! Sending one sealed batch: attempts, retries with backoff, and catching sink panics.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use tokio::time::Instant;
use tracing::Instrument;

use crate::batch::Batch;
use crate::batcher::shared::Shared;
use crate::dead_letter::FailureCause;
use crate::retry::RetryPolicy;
use crate::sink::{Sender, SinkError};

/// The outcome of delivering one batch.
#[derive(Debug)]
pub(crate) struct Delivered {
    /// The attempts made.
    pub(crate) attempts: u32,
    pub(crate) result: Result<(), FailureCause>,
}

/// Sends `batch` until it is committed, refused, or out of retries. Every attempt sends
/// the same bytes.
pub(crate) async fn deliver<S: Sender>(
    sink: Arc<S>,
    batch: Batch,
    policy: RetryPolicy,
    shared: Arc<Shared<S::Format>>,
    mut rng: fastrand::Rng,
) -> Delivered {
    let start = Instant::now();
    let mut attempt: u32 = 0;
    loop {
        attempt = attempt.saturating_add(1);
        let span = tracing::info_span!(
            "batchrow.flush",
            table = shared.table,
            name = &*shared.name,
            batch.id = batch.id(),
            batch.rows = batch.rows(),
            batch.bytes = batch.len(),
            attempt,
            duration_ms = tracing::field::Empty,
            outcome = tracing::field::Empty,
        );
        shared.metrics.bytes_sent.increment(batch.len() as u64);
        let began = Instant::now();
        let deadline = attempt_deadline(&policy, start, began);
        let result = attempt_once(&*sink, &batch, deadline)
            .instrument(span.clone())
            .await;
        let took = began.elapsed();
        shared.metrics.flush_duration.record(took.as_secs_f64());
        span.record("duration_ms", took.as_secs_f64() * 1000.0);
        let error = match result {
            Ok(()) => {
                span.record("outcome", "committed");
                return Delivered {
                    attempts: attempt,
                    result: Ok(()),
                };
            }
            Err(e) => e,
        };
        if error.is_possibly_persisted() {
            span.record("outcome", "possibly persisted");
            return Delivered {
                attempts: attempt,
                result: Err(FailureCause::PossiblyPersisted(Arc::new(error))),
            };
        }
        if !error.is_retryable() {
            span.record("outcome", "rejected");
            return Delivered {
                attempts: attempt,
                result: Err(FailureCause::Rejected(Arc::new(error))),
            };
        }
        let pause = policy.backoff_for(attempt, rng.f64());
        let elapsed = start.elapsed();
        let past_deadline = policy
            .total_deadline()
            .is_some_and(|deadline| elapsed.saturating_add(pause) > deadline);
        if attempt >= policy.max_attempts() || past_deadline {
            span.record("outcome", "gave up");
            return Delivered {
                attempts: attempt,
                result: Err(FailureCause::GaveUp {
                    attempts: attempt,
                    elapsed,
                    last: Arc::new(error),
                }),
            };
        }
        span.record("outcome", "retry");
        shared.ledger().retries += 1;
        shared.metrics.retries.increment(1);
        tracing::warn!(
            table = shared.table,
            batch.id = batch.id(),
            attempt,
            pause_ms = pause.as_secs_f64() * 1000.0,
            error = %error,
            "batchrow: sending a batch failed; retrying"
        );
        tokio::time::sleep(pause).await;
    }
}

/// When the attempt starting at `now` must end: the earlier of its timeout and the
/// retry deadline (counted from `start`, the first attempt).
pub(crate) fn attempt_deadline(policy: &RetryPolicy, start: Instant, now: Instant) -> Instant {
    let by_timeout = policy.timeout_of_attempt().map(|t| add(now, t));
    let by_deadline = policy.total_deadline().map(|d| add(start, d));
    match (by_timeout, by_deadline) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b).unwrap_or_else(|| add(now, FOREVER)),
    }
}

/// Far enough to never come.
const FOREVER: Duration = Duration::from_secs(86_400 * 365 * 30);

fn add(t: Instant, d: Duration) -> Instant {
    t.checked_add(d)
        .or_else(|| t.checked_add(FOREVER))
        .unwrap_or(t)
}

/// One attempt, ending by `deadline` as the sink implements it. A panic in the sink is a
/// retryable failure.
async fn attempt_once<S: Sender>(
    sink: &S,
    batch: &Batch,
    deadline: Instant,
) -> Result<(), SinkError> {
    AssertUnwindSafe(sink.send_by(batch, deadline))
        .catch_unwind()
        .await
        .unwrap_or_else(|panic| {
            Err(SinkError::retryable(format!(
                "the sink panicked: {}",
                panic_message(&*panic)
            )))
        })
}

/// The message of a panic payload.
pub(crate) fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a non-string panic payload)".to_owned()
    }
}
