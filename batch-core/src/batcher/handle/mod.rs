//! The producers' side: a cheap, cloneable handle that encodes rows into shards.

mod insert;

use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::batch::Batch;
use crate::batcher::shared::Shared;
use crate::batcher::snapshot::{Dump, FlushReport};
use crate::batcher::worker::Command;
use crate::error::{Error, Result};
use crate::format::Format;
use crate::sink::Sink;
use crate::stats::Stats;

/// A handle to a running batcher, for rows of type `R` (the row type with every lifetime
/// `'static`; rows that borrow data are accepted for any lifetime).
///
/// Cloning is cheap (two reference counts); give each producing task its own clone, or
/// share one by reference. Rows are encoded into the producer shard of the thread the
/// task runs on, so producers on different threads do not contend. The batcher runs until
/// [`close`](Handle::close) is called or every handle is dropped.
///
/// # Drop
///
/// When the last handle is dropped, the worker seals and delivers every buffered row
/// (retrying as configured), then stops. Batches that still fail go to the dead-letter
/// handler if there is one; otherwise nobody is left to return them to, so each is
/// reported with `tracing::error!` and counted in the `batchrow.rows.failed` metric.
/// The rows are never dropped silently, but to get them back call
/// [`close`](Handle::close) and keep the Tokio runtime running until it returns: a
/// runtime that shuts down stops the worker wherever it is.
pub struct Handle<R, S: Sink> {
    shared: Arc<Shared<S::Format>>,
    commands: mpsc::UnboundedSender<Command>,
    _row: PhantomData<fn(R) -> R>,
}

impl<R, S: Sink> Clone for Handle<R, S> {
    fn clone(&self) -> Self {
        Handle {
            shared: self.shared.clone(),
            commands: self.commands.clone(),
            _row: PhantomData,
        }
    }
}

impl<R, S: Sink> fmt::Debug for Handle<R, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("table", &self.shared.table)
            .field("format", &<S::Format as Format>::NAME)
            .finish_non_exhaustive()
    }
}

impl<R, S: Sink> Handle<R, S> {
    pub(crate) fn new(
        shared: Arc<Shared<S::Format>>,
        commands: mpsc::UnboundedSender<Command>,
    ) -> Self {
        Handle {
            shared,
            commands,
            _row: PhantomData,
        }
    }

    /// Seals and sends everything accepted before this call, and returns once each of
    /// those rows is committed or failed.
    ///
    /// # Errors
    ///
    /// [`Error::Failed`] with every batch that failed for good since the previous flush
    /// or close, when no dead-letter handler is installed (their rows are counted in
    /// [`Stats::failed`]). [`Error::Stopped`] if the runtime stopped the worker.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe in that nothing is lost: the flush goes on without the caller, and the
    /// failed batches it would have returned are returned by the next flush or close
    /// (until then they keep their bytes in `max_buffered_bytes`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use batch_core::doc_support::{Discard, Event};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> batch_core::Result<()> {
    /// # let handle = batch_core::Batcher::builder(Discard).spawn::<Event>().await?;
    /// handle.insert(Event { id: 1, name: "a" }).await?;
    /// let stats = handle.flush().await?;
    /// assert_eq!(stats.committed.rows, 1);
    /// assert_eq!(stats.in_buffer.rows, 0);
    /// # Ok(()) }
    /// ```
    pub async fn flush(&self) -> Result<Stats> {
        let (reply, answer) = oneshot::channel();
        if self.commands.send(Command::Flush(reply)).is_err() {
            return self.after_worker();
        }
        answer.await.unwrap_or_else(|_| self.after_worker())
    }

    /// As [`flush`](Handle::flush), and reports what was delivered while it ran (rows,
    /// bytes and batches committed or failed, retries, its duration) beside the
    /// cumulative stats.
    ///
    /// # Errors
    ///
    /// As [`flush`](Handle::flush).
    ///
    /// # Cancel safety
    ///
    /// As [`flush`](Handle::flush).
    ///
    /// # Examples
    ///
    /// ```
    /// # use batch_core::doc_support::{Discard, Event};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> batch_core::Result<()> {
    /// # let handle = batch_core::Batcher::builder(Discard).spawn::<Event>().await?;
    /// handle.insert(Event { id: 1, name: "a" }).await?;
    /// handle.flush().await?;
    /// handle.insert(Event { id: 2, name: "b" }).await?;
    /// let report = handle.flush_report().await?;
    /// assert_eq!(report.committed.rows, 1);
    /// assert_eq!(report.batches_committed, 1);
    /// assert_eq!(report.stats.committed.rows, 2);
    /// # Ok(()) }
    /// ```
    pub async fn flush_report(&self) -> Result<FlushReport> {
        let before = self.stats();
        let start = Instant::now();
        let after = self.flush().await?;
        Ok(FlushReport::between(&before, after, start.elapsed()))
    }

    /// A snapshot of the rows accepted and not yet being sent: in producer shards, in
    /// the open batch, and in sealed batches waiting for a delivery (batches being sent
    /// or waiting to retry are not included). Nothing is flushed or sealed; the rows
    /// are copied (shards) or shared (chunks), so a dump takes up to the buffered bytes
    /// again while it is kept.
    ///
    /// The worker answers it between two of its steps, so a row is in the dump exactly
    /// once or, if its batch started sending before the worker took the request, not at
    /// all.
    ///
    /// # Errors
    ///
    /// [`Error::Stopped`] if the runtime stopped the worker before it finished. After
    /// `close`, the dump is empty.
    ///
    /// # Examples
    ///
    /// ```
    /// # use batch_core::doc_support::{Discard, Event};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let handle = batch_core::Batcher::builder(Discard).spawn::<Event>().await?;
    /// use batch_core::Value;
    ///
    /// handle.insert(Event { id: 9, name: "buffered" }).await?;
    /// let dump = handle.dump().await?;
    /// let row = dump.decoded_rows().next().unwrap()?;
    /// assert_eq!(row.get("id"), Some(&Value::UInt(9)));
    /// assert_eq!(handle.stats().in_buffer.rows, 1); // not flushed
    /// # Ok(()) }
    /// ```
    pub async fn dump(&self) -> Result<Dump> {
        let (reply, answer) = oneshot::channel();
        let chunks = if self.commands.send(Command::Dump(reply)).is_ok() {
            answer.await.ok()
        } else {
            None
        };
        let chunks = match chunks {
            Some(chunks) => chunks,
            None if self.shared.finished.load(Ordering::Acquire) => Vec::new(),
            None => {
                return Err(Error::Stopped {
                    stats: Box::new(self.stats()),
                })
            }
        };
        Ok(Dump::new(
            Batch::new(0, chunks),
            self.shared.decoder.clone(),
        ))
    }

    /// Closes the batcher: no row is accepted after this call (on any handle); every
    /// buffered row is sealed and sent, and once each is committed or failed the worker
    /// stops and the totals are returned. Calling it again returns the totals.
    ///
    /// # Errors
    ///
    /// As [`flush`](Handle::flush).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe in that nothing is lost: the close goes on without the caller, and the
    /// failed batches it would have returned are returned by the next call to `close` or
    /// `flush` (for example after a `timeout(…, close())` fired).
    ///
    /// # Examples
    ///
    /// ```
    /// # use batch_core::doc_support::{Discard, Event};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> batch_core::Result<()> {
    /// # let handle = batch_core::Batcher::builder(Discard).spawn::<Event>().await?;
    /// handle.insert(Event { id: 1, name: "a" }).await?;
    /// let summary = handle.close().await?;
    /// assert_eq!(summary.accepted, summary.committed);
    /// assert!(handle.insert(Event { id: 2, name: "b" }).await.unwrap_err().is_closed());
    /// # Ok(()) }
    /// ```
    pub async fn close(&self) -> Result<Stats> {
        self.close_inner(None).await
    }

    /// As [`close`](Handle::close), but gives up waiting after `timeout`: the rows whose
    /// outcome is still unknown then fail with
    /// [`FailureCause::CloseDeadline`](crate::FailureCause::CloseDeadline), and are
    /// handed to the dead-letter handler or returned in the error. Sends under way are
    /// cancelled, so the destination may have written those rows.
    ///
    /// # Errors
    ///
    /// As [`flush`](Handle::flush).
    pub async fn close_with_deadline(&self, timeout: Duration) -> Result<Stats> {
        self.close_inner(Instant::now().checked_add(timeout)).await
    }

    async fn close_inner(&self, deadline: Option<Instant>) -> Result<Stats> {
        let (reply, answer) = oneshot::channel();
        if self
            .commands
            .send(Command::Close { deadline, reply })
            .is_err()
        {
            return self.after_worker();
        }
        answer.await.unwrap_or_else(|_| self.after_worker())
    }

    /// The answer when the worker is gone.
    fn after_worker(&self) -> Result<Stats> {
        self.shared.report_after_worker()
    }

    /// A snapshot of the accounting; `accepted = committed + failed + in_buffer` holds
    /// exactly.
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// Whether the batcher is closing or closed (no row is accepted), or its worker
    /// stopped.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.shared.closing.load(Ordering::Acquire)
            || self.shared.finished.load(Ordering::Acquire)
            || self.commands.is_closed()
    }

    /// The table of the row type.
    #[must_use]
    pub fn table(&self) -> &'static str {
        self.shared.table
    }
}
