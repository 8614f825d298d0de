//! Batches that failed for good, and why.

use std::sync::Arc;
use std::time::Duration;

use crate::batch::Batch;
use crate::sink::SinkError;

/// A batch that failed for good, with its rows' encoded bytes and the reason.
///
/// The batcher hands each one to the dead-letter handler installed with
/// [`Builder::dead_letter`](crate::Builder::dead_letter), or, without a handler, returns
/// it from the next [`Handle::flush`](crate::Handle::flush) or
/// [`Handle::close`](crate::Handle::close) in an [`Error::Failed`](crate::Error::Failed).
/// The bytes are exactly those that were sent, so they can be stored and replayed later
/// with [`Sink::send`](crate::Sink::send).
#[derive(Debug, Clone)]
pub struct FailedBatch {
    batch: Batch,
    cause: FailureCause,
    attempts: u32,
}

impl FailedBatch {
    pub(crate) fn new(batch: Batch, cause: FailureCause, attempts: u32) -> Self {
        FailedBatch {
            batch,
            cause,
            attempts,
        }
    }

    /// The rows, encoded in the sink's format.
    #[must_use]
    pub fn batch(&self) -> &Batch {
        &self.batch
    }

    /// The rows, encoded in the sink's format.
    #[must_use]
    pub fn into_batch(self) -> Batch {
        self.batch
    }

    /// Why the batch failed.
    #[must_use]
    pub fn cause(&self) -> &FailureCause {
        &self.cause
    }

    /// How many times the batch was sent (0 when it never was).
    #[must_use]
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The number of rows.
    #[must_use]
    pub fn rows(&self) -> usize {
        self.batch.rows()
    }
}

/// Why a batch failed for good.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum FailureCause {
    /// The sink refused the batch with an error that is not worth retrying (permanent,
    /// schema or config).
    #[error("the sink refused the batch: {0}")]
    Rejected(#[source] Arc<SinkError>),
    /// The send was cut off after the data went out, and the sink could not find out
    /// whether the destination wrote it ([`SinkErrorKind::PossiblyPersisted`]). The batch
    /// was not sent again, so that its rows are never written twice; check the
    /// destination before replaying it. Counted in
    /// [`Stats::possibly_persisted`](crate::Stats::possibly_persisted).
    ///
    /// [`SinkErrorKind::PossiblyPersisted`]: crate::SinkErrorKind::PossiblyPersisted
    #[error("the outcome is unknown, the destination may have written the batch: {0}")]
    PossiblyPersisted(#[source] Arc<SinkError>),
    /// Every attempt failed with a retryable error, until the retry policy's attempts or
    /// deadline ran out.
    #[error("gave up after {attempts} attempts over {elapsed:?}: {last}")]
    GaveUp {
        /// The attempts made.
        attempts: u32,
        /// The time from the start of the first attempt to the end of the last.
        elapsed: Duration,
        /// The error of the last attempt.
        #[source]
        last: Arc<SinkError>,
    },
    /// The deadline of [`Handle::close_with_deadline`](crate::Handle::close_with_deadline)
    /// passed before the batch's outcome was known.
    #[error(
        "the close deadline passed {}",
        if *.in_flight {
            "while the batch was being sent; the destination may have written it"
        } else {
            "before the batch was sent"
        }
    )]
    CloseDeadline {
        /// Whether an attempt was under way (so the destination may have written the
        /// rows) when the deadline passed.
        in_flight: bool,
    },
    /// The task delivering the batch panicked outside the sink (a bug in batchrow, or a
    /// panicking `tracing` subscriber or `metrics` recorder).
    #[error("the task delivering the batch failed: {message}")]
    Internal {
        /// The panic message.
        message: String,
    },
}

impl FailureCause {
    /// The sink's error, when the sink refused the batch.
    #[must_use]
    pub fn sink_error(&self) -> Option<&SinkError> {
        match self {
            FailureCause::Rejected(e)
            | FailureCause::PossiblyPersisted(e)
            | FailureCause::GaveUp { last: e, .. } => Some(e),
            FailureCause::CloseDeadline { .. } | FailureCause::Internal { .. } => None,
        }
    }

    /// Whether the destination may have written the batch: a
    /// [`PossiblyPersisted`](FailureCause::PossiblyPersisted) outcome, or a close
    /// deadline that passed while the batch was being sent.
    #[must_use]
    pub fn is_possibly_persisted(&self) -> bool {
        matches!(
            self,
            FailureCause::PossiblyPersisted(_) | FailureCause::CloseDeadline { in_flight: true }
        )
    }
}
