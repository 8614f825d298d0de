//! The `Sink` trait: where sealed batches go.

use std::future::Future;

use tokio::time::Instant;

use crate::batch::Batch;
use crate::format::Format;
use crate::row::Schema;
use crate::schema::SchemaMismatch;

/// A destination for batches of encoded rows, before it was checked: a ClickHouse
/// table, a PostgreSQL table, or anything a user writes.
///
/// The batcher takes the sink and calls [`Sink::prepare`] once, before the first row is
/// accepted. `prepare` checks the row type against the destination and returns the
/// [`Sender`] that writes batches, so nothing can be sent to a destination that was not
/// checked. The batcher then calls [`Sender::send_by`] for each sealed batch, possibly
/// concurrently (up to its `max_in_flight`) and more than once for the same batch when
/// retrying.
///
/// # Examples
///
/// A sink that counts rows; it is its own sender once prepared:
///
/// ```
/// # use batch_core::doc_support::{DocColumn, DocFormat, Event};
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use batch_core::{Batch, Schema, Sender, Sink, SinkError};
///
/// struct Count {
///     columns: Vec<DocColumn>,
///     rows: AtomicUsize,
/// }
///
/// impl Sink for Count {
///     type Format = DocFormat;
///     type Sender = Count;
///
///     async fn prepare(mut self, schema: Schema) -> Result<Count, SinkError> {
///         self.columns = schema.columns.iter().map(|_| DocColumn::U64).collect();
///         Ok(self)
///     }
/// }
///
/// impl Sender for Count {
///     type Format = DocFormat;
///
///     fn columns(&self) -> &[DocColumn] {
///         &self.columns
///     }
///
///     async fn send(&self, batch: &Batch) -> Result<(), SinkError> {
///         self.rows.fetch_add(batch.rows(), Ordering::Relaxed);
///         Ok(())
///     }
/// }
/// ```
pub trait Sink: Send + 'static {
    /// The wire format rows are encoded in.
    type Format: Format;

    /// What writes batches once [`prepare`](Sink::prepare) has checked the destination.
    type Sender: Sender<Format = Self::Format>;

    /// Checks the row type against the destination and returns the sender, which knows
    /// what the encoder needs for each column ([`Sender::columns`], in the order of
    /// `schema.columns`).
    ///
    /// # Errors
    ///
    /// A [`SinkError`] of kind [`SinkErrorKind::Schema`] listing every mismatched column,
    /// or any other error that prevents writing (missing table, bad credentials).
    fn prepare(
        self,
        schema: Schema,
    ) -> impl Future<Output = Result<Self::Sender, SinkError>> + Send;
}

/// Writes batches to a destination [`Sink::prepare`] checked.
pub trait Sender: Send + Sync + 'static {
    /// The wire format rows are encoded in.
    type Format: Format;

    /// What the encoder needs for each column, resolved by the check, in the order of
    /// the row type's columns.
    fn columns(&self) -> &[<Self::Format as Format>::Column];

    /// Writes one batch, all or nothing where the destination allows it.
    ///
    /// # Errors
    ///
    /// A classified [`SinkError`]: the batcher retries [`SinkErrorKind::Retryable`]
    /// errors and never retries the others.
    fn send(&self, batch: &Batch) -> impl Future<Output = Result<(), SinkError>> + Send;

    /// Writes one batch, giving up at `deadline`. The batcher calls this, not
    /// [`send`](Sender::send), with the earlier of the attempt's timeout and the retry
    /// deadline ([`RetryPolicy`](crate::RetryPolicy)).
    ///
    /// The provided implementation stops waiting for [`send`](Sender::send) at `deadline`
    /// and reports [`SinkErrorKind::PossiblyPersisted`]: the batcher cannot know how far
    /// an interrupted send got, so the batch is reported, never sent again. A sender that
    /// knows the point after which the destination may have written the batch overrides
    /// this method: before that point a timeout is [`SinkErrorKind::Retryable`]; after it,
    /// the sender finds out (a PostgreSQL sink asks whether the transaction committed) or
    /// reports the batch as possibly persisted. An override must return soon after
    /// `deadline`.
    ///
    /// # Errors
    ///
    /// As [`send`](Sender::send), and a [`SinkErrorKind::PossiblyPersisted`] error when
    /// `deadline` passes.
    fn send_by(
        &self,
        batch: &Batch,
        deadline: Instant,
    ) -> impl Future<Output = Result<(), SinkError>> + Send {
        async move {
            match tokio::time::timeout_at(deadline, self.send(batch)).await {
                Ok(result) => result,
                Err(_) => Err(SinkError::possibly_persisted(
                    "the send attempt timed out; the destination may have written the batch",
                )),
            }
        }
    }

    /// The bytes the sender holds, beyond the batch itself, while it sends `batch` (a copy
    /// made contiguous, a compressed frame). The batcher reserves them from
    /// `max_buffered_bytes` before the send starts, so that the memory bound covers them,
    /// and returns them when the delivery ends. A sender that holds less once it has
    /// encoded the batch says so with
    /// [`Batch::shrink_send_memory`](crate::Batch::shrink_send_memory), and the rest is
    /// returned then. The provided implementation returns 0.
    fn send_memory(&self, batch: &Batch) -> usize {
        let _ = batch;
        0
    }
}

/// How the batcher should treat a failed sink call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SinkErrorKind {
    /// Worth retrying: a network error, a timeout, an overloaded server.
    Retryable,
    /// Retrying the same bytes will fail again: bad data, a constraint violation.
    Permanent,
    /// The row type does not fit the table (found at start, or because the table changed).
    Schema,
    /// Configuration or access: missing table or database, bad credentials, permissions.
    Config,
    /// The outcome is unknown: the data was sent and the destination may have written it
    /// (a connection lost during `COMMIT` whose outcome could not be found out, a send cut
    /// off by its deadline). The batch is neither sent again nor split: it is reported as
    /// possibly persisted, so that at-least-once never quietly becomes "twice".
    PossiblyPersisted,
}

/// An error from a sink, classified for the batcher.
///
/// It is one pointer wide (the details are boxed), so `Result<(), SinkError>` stays small.
#[derive(Debug)]
pub struct SinkError(Box<Details>);

impl std::fmt::Display for SinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl std::error::Error for SinkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[derive(Debug)]
struct Details {
    kind: SinkErrorKind,
    message: String,
    code: Option<String>,
    row: Option<usize>,
    data: bool,
    mismatch: Option<SchemaMismatch>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl SinkError {
    /// An error of the given kind with a message.
    #[must_use]
    pub fn new(kind: SinkErrorKind, message: impl Into<String>) -> Self {
        SinkError(Box::new(Details {
            kind,
            message: message.into(),
            code: None,
            row: None,
            data: false,
            mismatch: None,
            source: None,
        }))
    }

    /// A retryable error.
    #[must_use]
    pub fn retryable(message: impl Into<String>) -> Self {
        Self::new(SinkErrorKind::Retryable, message)
    }

    /// A permanent error.
    #[must_use]
    pub fn permanent(message: impl Into<String>) -> Self {
        Self::new(SinkErrorKind::Permanent, message)
    }

    /// An error whose outcome is unknown: the destination may have written the batch
    /// (see [`SinkErrorKind::PossiblyPersisted`]).
    #[must_use]
    pub fn possibly_persisted(message: impl Into<String>) -> Self {
        Self::new(SinkErrorKind::PossiblyPersisted, message)
    }

    /// A schema mismatch report.
    #[must_use]
    pub fn schema(mismatch: SchemaMismatch) -> Self {
        let mut e = Self::new(SinkErrorKind::Schema, mismatch.to_string());
        e.0.mismatch = Some(mismatch);
        e
    }

    /// Attaches the server's error code (a ClickHouse exception code, a SQLSTATE).
    #[must_use]
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.0.code = Some(code.into());
        self
    }

    /// Attaches the index, within the batch, of the row the server rejected; implies
    /// [`caused_by_data`](SinkError::caused_by_data).
    #[must_use]
    pub fn with_row(mut self, row: usize) -> Self {
        self.0.row = Some(row);
        self.0.data = true;
        self
    }

    /// Marks the error as caused by the rows of the batch (a value the server cannot
    /// store, a constraint violation), so that splitting the batch can isolate the bad
    /// rows. Only such errors are split by
    /// [`isolate_bad_rows`](crate::Builder::isolate_bad_rows); an error about the whole
    /// batch (a read-only server, a trigger, a lost commit) is not.
    #[must_use]
    pub fn caused_by_data(mut self) -> Self {
        self.0.data = true;
        self
    }

    /// Attaches the underlying error.
    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.0.source = Some(Box::new(source));
        self
    }

    /// How to treat the error.
    #[must_use]
    pub fn kind(&self) -> SinkErrorKind {
        self.0.kind
    }

    /// Whether retrying may succeed.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        self.0.kind == SinkErrorKind::Retryable
    }

    /// The server's error code, if any.
    #[must_use]
    pub fn code(&self) -> Option<&str> {
        self.0.code.as_deref()
    }

    /// Whether the rows of the batch caused the error (see
    /// [`caused_by_data`](SinkError::caused_by_data)).
    #[must_use]
    pub fn is_caused_by_data(&self) -> bool {
        self.0.data
    }

    /// Whether the destination may have written the batch although the send failed
    /// ([`SinkErrorKind::PossiblyPersisted`]).
    #[must_use]
    pub fn is_possibly_persisted(&self) -> bool {
        self.0.kind == SinkErrorKind::PossiblyPersisted
    }

    /// The index of the rejected row within the batch, if the server named one.
    #[must_use]
    pub fn row(&self) -> Option<usize> {
        self.0.row
    }

    /// The schema mismatch report, for errors of kind [`SinkErrorKind::Schema`].
    #[must_use]
    pub fn mismatch(&self) -> Option<&SchemaMismatch> {
        self.0.mismatch.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sink_error_is_small_and_keeps_its_details() {
        assert_eq!(
            std::mem::size_of::<SinkError>(),
            std::mem::size_of::<usize>()
        );
        let e = SinkError::permanent("bad value")
            .with_code("27")
            .with_row(3)
            .with_source(std::fmt::Error);
        assert_eq!(e.to_string(), "bad value");
        assert_eq!(e.kind(), SinkErrorKind::Permanent);
        assert_eq!(e.code(), Some("27"));
        assert_eq!(e.row(), Some(3));
        assert!(!e.is_retryable());
        assert!(e.is_caused_by_data());
        assert!(!SinkError::permanent("x").is_caused_by_data());
        assert!(SinkError::permanent("x")
            .caused_by_data()
            .is_caused_by_data());
        assert!(SinkError::possibly_persisted("x").is_possibly_persisted());
        assert!(std::error::Error::source(&e).is_some());
        let m = SchemaMismatch {
            table: "t".into(),
            columns: vec![],
        };
        let e = SinkError::schema(m.clone());
        assert_eq!(e.kind(), SinkErrorKind::Schema);
        assert_eq!(e.mismatch(), Some(&m));
        assert_eq!(e.to_string(), m.to_string());
    }
}
