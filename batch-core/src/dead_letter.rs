//! Batches that failed for good, and why.

use std::sync::Arc;
use std::time::Duration;

use crate::batch::Batch;
use crate::decode::{DecodedRows, RowDecoder};
use crate::sink::SinkError;

/// A batch that failed for good, with its rows' encoded bytes and the reason.
///
/// The batcher hands each one to the dead-letter handler installed with
/// [`Builder::dead_letter`](crate::Builder::dead_letter), or, without a handler, returns
/// it from the next [`Handle::flush`](crate::Handle::flush) or
/// [`Handle::close`](crate::Handle::close) in an [`Error::Failed`](crate::Error::Failed).
/// The bytes are exactly those that were sent, so they can be stored and replayed later
/// with [`Sender::send`](crate::Sender::send), or read back as values with
/// [`decoded_rows`](FailedBatch::decoded_rows). [`DeadLetterFile`](crate::DeadLetterFile)
/// keeps them in files and [`replay`](crate::replay) sends them again.
#[derive(Debug, Clone)]
pub struct FailedBatch {
    batch: Batch,
    cause: FailureCause,
    attempts: u32,
    decoder: Option<RowDecoder>,
}

impl FailedBatch {
    pub(crate) fn new(batch: Batch, cause: FailureCause, attempts: u32) -> Self {
        FailedBatch {
            batch,
            cause,
            attempts,
            decoder: None,
        }
    }

    pub(crate) fn with_decoder(mut self, decoder: RowDecoder) -> Self {
        self.decoder = Some(decoder);
        self
    }

    pub(crate) fn decoder(&self) -> Option<&RowDecoder> {
        self.decoder.as_ref()
    }

    /// The rows read back into column values (name and [`Value`](crate::Value)), one
    /// by one, in batch order, so that they can be logged or re-processed. A row
    /// that cannot be decoded (the sink's format has no decoder, or a bug) is an `Err`
    /// and the others are still returned.
    ///
    /// # Examples
    ///
    /// ```
    /// # use batch_core::doc_support::{Refuse, Event};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> batch_core::Result<()> {
    /// use std::sync::{Arc, Mutex};
    /// use batch_core::{Batcher, Value};
    ///
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let log = seen.clone();
    /// let handle = Batcher::builder(Refuse)
    ///     .dead_letter(move |failed| {
    ///         for row in failed.decoded_rows() {
    ///             match row {
    ///                 Ok(row) => log.lock().unwrap().push(row.to_json()),
    ///                 Err(e) => eprintln!("undecodable row: {e}"),
    ///             }
    ///         }
    ///     })
    ///     .spawn::<Event>()
    ///     .await?;
    /// handle.insert(Event { id: 7, name: "refused" }).await?;
    /// handle.close().await?;
    /// assert_eq!(*seen.lock().unwrap(), [r#"{"id":7,"name":"refused"}"#]);
    /// # Ok(()) }
    /// ```
    pub fn decoded_rows(&self) -> DecodedRows<'_> {
        DecodedRows::new(&self.batch, self.decoder.as_ref())
    }

    /// The table of the row type.
    #[must_use]
    pub fn table(&self) -> Option<&'static str> {
        self.decoder.as_ref().map(|d| d.schema().table)
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
