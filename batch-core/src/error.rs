//! The batcher's errors: [`Error`] for spawn, flush and close, [`InsertError`] for rows
//! it refuses (handing each row back).

use std::fmt;

use crate::dead_letter::FailedBatch;
use crate::format::EncodeError;
use crate::sink::SinkError;
use crate::stats::Stats;

/// Errors from starting, flushing and closing a batcher.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The sink could not start, for example a schema mismatch (the error lists every
    /// mismatched column), a missing table, or bad credentials. Returned by
    /// [`Builder::spawn`](crate::Builder::spawn) before any row is accepted.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// The sink's [`prepare`](crate::Sink::prepare) resolved a different number of
    /// columns than the row type has: a bug in the sink.
    #[error(
        "the sink resolved {got} columns for table `{table}`, but the row type has {expected}"
    )]
    ColumnCount {
        /// The row type's table.
        table: &'static str,
        /// The row type's column count.
        expected: usize,
        /// The number of columns the sink resolved.
        got: usize,
    },
    /// A builder option is out of range.
    #[error("invalid batcher option `{option}`: {reason}")]
    Config {
        /// The builder method, such as `"jitter"`.
        option: &'static str,
        /// What is wrong with the value.
        reason: String,
    },
    /// [`Builder::spawn`](crate::Builder::spawn) was called outside a Tokio runtime.
    #[error("the batcher needs a Tokio runtime to run its worker task")]
    NoRuntime,
    /// Batches failed for good and no dead-letter handler was installed. Returned by
    /// [`Handle::flush`](crate::Handle::flush) and [`Handle::close`](crate::Handle::close);
    /// it carries every failed batch (its encoded rows and the cause), so no row is lost.
    #[error("{}", describe_failed(.0))]
    Failed(Box<BatchesFailed>),
    /// The worker task stopped before finishing its work, because the Tokio runtime shut
    /// down. The stats tell how many rows were still buffered (and are lost).
    #[error(
        "{} ({} rows were still buffered)",
        .stats.halted.unwrap_or("the batcher's worker task stopped"),
        .stats.in_buffer.rows
    )]
    Stopped {
        /// The accounting when the worker stopped.
        stats: Box<Stats>,
    },
    /// The batcher halted because more rows failed than
    /// [`max_error_rows`](crate::Builder::max_error_rows) allows: it accepts no more rows
    /// and delivers those it accepted.
    #[error("the batcher halted: {reason}")]
    Halted {
        /// Why.
        reason: &'static str,
        /// The accounting when the flush or close returned.
        stats: Box<Stats>,
    },
    /// A row was refused by an `insert` (converted with `?`; the row was dropped by that
    /// conversion, see [`InsertError::without_row`]).
    #[error(transparent)]
    Insert(InsertError<()>),
}

impl Error {
    /// The batches that failed for good, for [`Error::Failed`]; empty otherwise.
    #[must_use]
    pub fn failed_batches(&self) -> &[FailedBatch] {
        match self {
            Error::Failed(f) => &f.batches,
            _ => &[],
        }
    }
}

fn describe_failed(f: &BatchesFailed) -> String {
    let rows: usize = f.batches.iter().map(FailedBatch::rows).sum();
    let n = f.batches.len();
    let mut s = format!(
        "{n} batch{} ({rows} row{}) failed",
        if n == 1 { "" } else { "es" },
        if rows == 1 { "" } else { "s" }
    );
    if let Some(first) = f.batches.first() {
        s.push_str(&format!(
            "; first (batch {}): {}",
            first.batch().id(),
            first.cause()
        ));
    }
    s
}

/// The payload of [`Error::Failed`]: the failed batches and the accounting at the time.
#[derive(Debug)]
#[non_exhaustive]
pub struct BatchesFailed {
    /// Every batch that failed since the previous flush or close, in the order they
    /// failed.
    pub batches: Vec<FailedBatch>,
    /// The accounting when the flush or close finished.
    pub stats: Stats,
}

impl<T> From<InsertError<T>> for Error {
    fn from(e: InsertError<T>) -> Self {
        Error::Insert(e.without_row())
    }
}

/// The error of the row that stopped an `insert_many`, without the rows (they are
/// dropped by this conversion; match on [`InsertManyError`] to keep them).
impl<T> From<InsertManyError<T>> for Error {
    fn from(e: InsertManyError<T>) -> Self {
        Error::Insert(e.error.without_row())
    }
}

/// `Result` with batchrow's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A row the batcher refused. Every variant hands the row back, as tokio's
/// `TrySendError` does, so nothing is lost behind the caller's back.
#[non_exhaustive]
pub enum InsertError<T> {
    /// The batcher halted: more rows failed than
    /// [`max_error_rows`](crate::Builder::max_error_rows) allows. The row was not
    /// accepted; rows accepted before are still delivered.
    Halted {
        /// The row.
        row: T,
        /// Why the batcher halted.
        reason: &'static str,
    },
    /// The buffer is at `max_buffered_bytes` (only from
    /// [`try_insert`](crate::Handle::try_insert); `insert` waits instead).
    Full(T),
    /// The batcher was closed.
    Closed(T),
    /// The row alone is larger than a batch may be.
    TooLarge {
        /// The row.
        row: T,
        /// Its encoded size in bytes.
        size: usize,
        /// The limit in bytes (`max_bytes`).
        limit: usize,
    },
    /// The row could not be encoded for the sink's columns.
    Encode {
        /// The row.
        row: T,
        /// What went wrong, naming the column.
        source: EncodeError,
    },
}

impl<T> InsertError<T> {
    /// The refused row.
    #[must_use]
    pub fn into_row(self) -> T {
        match self {
            InsertError::Full(row)
            | InsertError::Closed(row)
            | InsertError::Halted { row, .. }
            | InsertError::TooLarge { row, .. }
            | InsertError::Encode { row, .. } => row,
        }
    }

    /// The refused row.
    #[must_use]
    pub fn row(&self) -> &T {
        match self {
            InsertError::Full(row)
            | InsertError::Closed(row)
            | InsertError::Halted { row, .. }
            | InsertError::TooLarge { row, .. }
            | InsertError::Encode { row, .. } => row,
        }
    }

    /// The error without the row (which is dropped), for example to return it with `?`
    /// from a function whose error type must be `'static` while the row borrows data.
    #[must_use]
    pub fn without_row(self) -> InsertError<()> {
        self.map_row(|_| ())
    }

    /// The same error with the row transformed.
    #[must_use]
    pub fn map_row<U>(self, f: impl FnOnce(T) -> U) -> InsertError<U> {
        match self {
            InsertError::Full(row) => InsertError::Full(f(row)),
            InsertError::Closed(row) => InsertError::Closed(f(row)),
            InsertError::Halted { row, reason } => InsertError::Halted {
                row: f(row),
                reason,
            },
            InsertError::TooLarge { row, size, limit } => InsertError::TooLarge {
                row: f(row),
                size,
                limit,
            },
            InsertError::Encode { row, source } => InsertError::Encode {
                row: f(row),
                source,
            },
        }
    }

    /// Whether the buffer was full (retrying later may succeed).
    #[must_use]
    pub fn is_full(&self) -> bool {
        matches!(self, InsertError::Full(_))
    }

    /// Whether the batcher was closed.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        matches!(self, InsertError::Closed(_))
    }
}

impl<T> fmt::Debug for InsertError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InsertError::Full(_) => f.write_str("Full(..)"),
            InsertError::Closed(_) => f.write_str("Closed(..)"),
            InsertError::Halted { reason, .. } => f
                .debug_struct("Halted")
                .field("reason", reason)
                .finish_non_exhaustive(),
            InsertError::TooLarge { size, limit, .. } => f
                .debug_struct("TooLarge")
                .field("size", size)
                .field("limit", limit)
                .finish_non_exhaustive(),
            InsertError::Encode { source, .. } => f
                .debug_struct("Encode")
                .field("source", source)
                .finish_non_exhaustive(),
        }
    }
}

impl<T> fmt::Display for InsertError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InsertError::Full(_) => {
                f.write_str("the batcher's buffer is full (max_buffered_bytes); the row was not accepted")
            }
            InsertError::Closed(_) => f.write_str("the batcher is closed; the row was not accepted"),
            InsertError::Halted { reason, .. } => {
                write!(f, "the batcher halted ({reason}); the row was not accepted")
            }
            InsertError::TooLarge { size, limit, .. } => write!(
                f,
                "the row encodes to {size} bytes, more than a batch may hold ({limit} bytes, max_bytes); the row was not accepted"
            ),
            InsertError::Encode { source, .. } => {
                write!(f, "the row could not be encoded: {source}")
            }
        }
    }
}

impl<T> std::error::Error for InsertError<T> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InsertError::Encode { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// [`insert_many`](crate::Handle::insert_many) stopped at a refused row. It hands back
/// that row (in [`error`](InsertManyError::error)) and every row after it that was not
/// tried (in [`rest`](InsertManyError::rest)); the rows before it were accepted.
#[non_exhaustive]
pub struct InsertManyError<T> {
    /// How many rows were accepted before the refused one.
    pub accepted: usize,
    /// Why the row was refused, with the row.
    pub error: InsertError<T>,
    /// The rows after the refused one, in order, not tried.
    pub rest: Vec<T>,
}

impl<T> fmt::Debug for InsertManyError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InsertManyError")
            .field("accepted", &self.accepted)
            .field("error", &self.error)
            .field("rest", &self.rest.len())
            .finish()
    }
}

impl<T> fmt::Display for InsertManyError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (after {} rows were accepted; {} more rows were not tried)",
            self.error,
            self.accepted,
            self.rest.len()
        )
    }
}

impl<T> std::error::Error for InsertManyError<T> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_send_sync_static() {
        fn check<T: Send + Sync + 'static>() {}
        check::<super::Error>();
        check::<crate::SinkError>();
        check::<crate::EncodeError>();
        check::<InsertError<String>>();
        check::<InsertManyError<String>>();
        check::<FailedBatch>();
    }

    #[test]
    fn insert_errors_hand_the_row_back_and_name_the_limits() {
        let e = InsertError::TooLarge {
            row: "big".to_owned(),
            size: 300,
            limit: 256,
        };
        assert_eq!(
            e.to_string(),
            "the row encodes to 300 bytes, more than a batch may hold (256 bytes, max_bytes); the row was not accepted"
        );
        assert_eq!(format!("{e:?}"), "TooLarge { size: 300, limit: 256, .. }");
        assert_eq!(e.into_row(), "big");
        let e: Error = InsertError::Full(1_u8).into();
        assert!(matches!(e, Error::Insert(InsertError::Full(()))));
    }
}
