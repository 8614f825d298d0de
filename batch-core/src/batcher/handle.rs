//! The producers' side: a cheap, cloneable handle that encodes rows into shards.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::futures::Notified;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::batch::Batch;
use crate::batcher::shared::{Refused, Shared};
use crate::batcher::snapshot::{Dump, FlushReport};
use crate::batcher::worker::Command;
use crate::error::{Error, InsertError, InsertManyError, Result};
use crate::format::Format;
use crate::outcome::Receipt;
use crate::position::Position;
use crate::row::{BatchRow, EncodeRow};
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

fn refusal<T>(refused: Refused, row: T) -> InsertError<T> {
    match refused {
        Refused::Closed => InsertError::Closed(row),
        Refused::Halted(reason) => InsertError::Halted { row, reason },
        Refused::Full => InsertError::Full(row),
        Refused::TooLarge { size, limit } => InsertError::TooLarge { row, size, limit },
        Refused::Encode(source) => InsertError::Encode { row, source },
    }
}

/// The future of [`Handle::insert`]. The first poll accepts the row unless the buffer is
/// full; only then does it allocate its registration for room.
struct Insert<'a, F: Format, T> {
    shared: &'a Shared<F>,
    row: Option<T>,
    wait: Option<Pin<Box<Notified<'a>>>>,
}

// No field is ever pinned: the row is only borrowed and moved out, and the registration
// is boxed.
impl<F: Format, T> Unpin for Insert<'_, F, T> {}

impl<F: Format, T: EncodeRow<F>> Future for Insert<'_, F, T> {
    type Output = Result<(), InsertError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            if let Some(wait) = &mut this.wait {
                std::task::ready!(wait.as_mut().poll(cx));
                this.wait = None;
            }
            // `None` only when polled after completion.
            let Some(row) = &this.row else {
                return Poll::Pending;
            };
            let refused = match this.shared.push(row) {
                Ok(()) => {
                    this.row = None;
                    return Poll::Ready(Ok(()));
                }
                Err(Refused::Full) => {
                    // Register for room, then check again, so that room freed in
                    // between wakes us.
                    let mut wait = Box::pin(this.shared.room.notified());
                    wait.as_mut().enable();
                    match this.shared.push(row) {
                        Ok(()) => {
                            this.row = None;
                            return Poll::Ready(Ok(()));
                        }
                        Err(Refused::Full) => {
                            this.shared.pressure.store(true, Ordering::Release);
                            this.shared.wake.notify_one();
                            this.wait = Some(wait);
                            continue;
                        }
                        Err(refused) => refused,
                    }
                }
                Err(refused) => refused,
            };
            return match this.row.take() {
                Some(row) => Poll::Ready(Err(refusal(refused, row))),
                None => Poll::Pending,
            };
        }
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

    /// Encodes `row` and accepts it, waiting while the buffer is at
    /// `max_buffered_bytes`.
    ///
    /// The row is encoded on the caller's task into a reused buffer (no allocation per
    /// row); whole chunks of rows are handed to the worker.
    ///
    /// # Errors
    ///
    /// Hands the row back in an [`InsertError`]: [`Closed`](InsertError::Closed) after
    /// [`close`](Handle::close), [`TooLarge`](InsertError::TooLarge) when the row alone
    /// exceeds `max_bytes`, [`Encode`](InsertError::Encode) when a field does not fit its
    /// column. Never [`Full`](InsertError::Full).
    ///
    /// # Cancel safety
    ///
    /// If the future is dropped before it completes, the row is dropped with it and was
    /// not accepted: nothing was buffered or counted. This is the cancel safety of
    /// tokio's `mpsc::Sender::send`: no row is ever half-accepted, but one passed to a
    /// cancelled `insert` is gone. When the row must survive a cancelled wait (in a
    /// `select!`, or under a timeout), wait with [`ready`](Handle::ready), which is cancel
    /// safe, then call [`try_insert`](Handle::try_insert), which never waits and hands the
    /// row back.
    ///
    /// # Panics
    ///
    /// If the row's encoder panics, the panic reaches the caller; the buffer is left as
    /// it was before the row.
    ///
    /// # Examples
    ///
    /// ```
    /// # use batch_core::doc_support::{Discard, Event};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> batch_core::Result<()> {
    /// # let handle = batch_core::Batcher::builder(Discard).spawn::<Event>().await?;
    /// let name = String::from("borrowed");
    /// handle.insert(Event { id: 7, name: &name }).await?;
    /// # Ok(()) }
    /// ```
    pub fn insert<T>(
        &self,
        row: T,
    ) -> impl Future<Output = Result<(), InsertError<T>>> + use<'_, R, S, T>
    where
        T: EncodeRow<S::Format> + BatchRow<Static = R>,
    {
        Insert {
            shared: &self.shared,
            row: Some(row),
            wait: None,
        }
    }

    /// Encodes `row` and accepts it if there is room; never waits.
    ///
    /// # Errors
    ///
    /// Hands the row back: [`Full`](InsertError::Full) when the buffer is at
    /// `max_buffered_bytes` (the worker is told to make room), and the errors of
    /// [`insert`](Handle::insert).
    ///
    /// # Examples
    ///
    /// ```
    /// # use batch_core::doc_support::{Discard, Event};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> batch_core::Result<()> {
    /// # let handle = batch_core::Batcher::builder(Discard).spawn::<Event>().await?;
    /// use batch_core::InsertError;
    ///
    /// match handle.try_insert(Event { id: 1, name: "a" }) {
    ///     Ok(()) => {}
    ///     Err(InsertError::Full(row)) => { /* keep `row` and try again later */ }
    ///     Err(e) => return Err(e.into()),
    /// }
    /// # Ok(()) }
    /// ```
    pub fn try_insert<T>(&self, row: T) -> Result<(), InsertError<T>>
    where
        T: EncodeRow<S::Format> + BatchRow<Static = R>,
    {
        match self.shared.push(&row) {
            Ok(()) => Ok(()),
            Err(Refused::Full) => {
                self.shared.pressure.store(true, Ordering::Release);
                self.shared.wake.notify_one();
                Err(InsertError::Full(row))
            }
            Err(refused) => Err(refusal(refused, row)),
        }
    }

    /// Waits until the buffer has room for a row, without taking one.
    ///
    /// Follow it with [`try_insert`](Handle::try_insert): the room is not reserved, so
    /// another producer may take it first, and `try_insert` then hands the row back in
    /// [`InsertError::Full`]; wait again.
    ///
    /// # Errors
    ///
    /// [`Error::Insert`] with [`InsertError::Closed`] once the batcher is closed or its
    /// worker stopped.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it holds no row and reserves nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// # use batch_core::doc_support::{Discard, Event};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> batch_core::Result<()> {
    /// # let handle = batch_core::Batcher::builder(Discard).spawn::<Event>().await?;
    /// use std::time::Duration;
    /// use batch_core::InsertError;
    ///
    /// let mut row = Event { id: 1, name: "kept" };
    /// loop {
    ///     // A timeout that fires here loses nothing: `row` is still ours.
    ///     if tokio::time::timeout(Duration::from_secs(1), handle.ready()).await.is_err() {
    ///         continue;
    ///     }
    ///     match handle.try_insert(row) {
    ///         Ok(()) => break,
    ///         Err(InsertError::Full(back)) => row = back,
    ///         Err(e) => return Err(e.into()),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn ready(&self) -> Result<()> {
        loop {
            let wait = self.shared.room.notified();
            let mut wait = std::pin::pin!(wait);
            wait.as_mut().enable();
            if self.is_closed() {
                return Err(Error::Insert(InsertError::Closed(())));
            }
            if self.shared.has_room() {
                return Ok(());
            }
            self.shared.pressure.store(true, Ordering::Release);
            self.shared.wake.notify_one();
            wait.await;
        }
    }

    /// Inserts every row of `rows` in order, waiting for room as
    /// [`insert`](Handle::insert) does. Rows are encoded a few at a time under one lock.
    ///
    /// # Errors
    ///
    /// Stops at the first row refused: the error hands back that row, the rows after it
    /// (collected from the iterator, not tried) and the number accepted before it.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: if the future is dropped, the rows accepted so far stay accepted
    /// and the rest are dropped with the iterator. Use [`insert`](Handle::insert) in a
    /// loop when the caller must know exactly which rows were accepted.
    pub async fn insert_many<T, I>(&self, rows: I) -> Result<(), InsertManyError<T>>
    where
        I: IntoIterator<Item = T>,
        T: EncodeRow<S::Format> + BatchRow<Static = R>,
    {
        self.insert_many_from(rows, None).await
    }

    /// As [`insert_many`](Handle::insert_many), and records that the rows came from
    /// consecutive offsets of one stream of the user's source, starting at `first`: row
    /// `i` from `Position::new(first.stream, first.offset + i)`. Each committed batch
    /// reports the positions of its rows to the [`on_commit`](crate::Builder::on_commit)
    /// hook.
    ///
    /// # Errors
    ///
    /// As [`insert_many`](Handle::insert_many).
    ///
    /// # Cancel safety
    ///
    /// As [`insert_many`](Handle::insert_many): not cancel safe.
    ///
    /// # Examples
    ///
    /// ```
    /// # use batch_core::doc_support::{Discard, Event};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> batch_core::Result<()> {
    /// # let handle = batch_core::Batcher::builder(Discard).spawn::<Event>().await?;
    /// use batch_core::Position;
    ///
    /// // Messages 100..103 of partition 2.
    /// let events = (100..103).map(|id| Event { id, name: "polled" });
    /// handle.insert_many_at(events, Position::new(2, 100)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn insert_many_at<T, I>(
        &self,
        rows: I,
        first: Position,
    ) -> Result<(), InsertManyError<T>>
    where
        I: IntoIterator<Item = T>,
        T: EncodeRow<S::Format> + BatchRow<Static = R>,
    {
        self.insert_many_from(rows, Some(first)).await
    }

    async fn insert_many_from<T, I>(
        &self,
        rows: I,
        first: Option<Position>,
    ) -> Result<(), InsertManyError<T>>
    where
        I: IntoIterator<Item = T>,
        T: EncodeRow<S::Format> + BatchRow<Static = R>,
    {
        const ROWS_PER_LOCK: usize = 64;
        const LOCKS_PER_YIELD: usize = 16;
        let at = |i: usize| first.map(|p| Position::new(p.stream, p.offset.wrapping_add(i as u64)));
        let mut rows = rows.into_iter();
        let mut accepted = 0;
        let mut locks = 0;
        loop {
            let mut stopped = None;
            {
                let mut producer = self.shared.producer(first);
                for _ in 0..ROWS_PER_LOCK {
                    let Some(row) = rows.next() else {
                        return Ok(());
                    };
                    let pushed = match at(accepted) {
                        Some(p) => producer.push_at(&row, p),
                        None => producer.push(&row),
                    };
                    match pushed {
                        Ok(()) => accepted += 1,
                        Err(refused) => {
                            stopped = Some((row, refused));
                            break;
                        }
                    }
                }
            }
            let Some((row, refused)) = stopped else {
                locks += 1;
                if locks % LOCKS_PER_YIELD == 0 {
                    // Let other tasks (and the worker, on a single-threaded runtime) run.
                    tokio::task::yield_now().await;
                }
                continue;
            };
            let result = match refused {
                Refused::Full => self.insert_tagged(row, at(accepted), false).await.map(drop),
                refused => Err(refusal(refused, row)),
            };
            match result {
                Ok(()) => accepted += 1,
                Err(error) => {
                    return Err(InsertManyError {
                        accepted,
                        error,
                        rest: rows.collect(),
                    })
                }
            }
        }
    }

    /// As [`insert`](Handle::insert), and records that the row came from `at` in the
    /// user's source; the [`on_commit`](crate::Builder::on_commit) hook reports it with
    /// the row's batch.
    ///
    /// # Errors
    ///
    /// As [`insert`](Handle::insert).
    ///
    /// # Cancel safety
    ///
    /// As [`insert`](Handle::insert): if the future is dropped, the row is dropped with
    /// it and was not accepted.
    pub async fn insert_at<T>(&self, row: T, at: Position) -> Result<(), InsertError<T>>
    where
        T: EncodeRow<S::Format> + BatchRow<Static = R>,
    {
        self.insert_tagged(row, Some(at), false).await.map(drop)
    }

    /// As [`insert`](Handle::insert), and returns a [`Receipt`] once the row is
    /// accepted: a future that resolves to the row's [`Outcome`](crate::Outcome) when
    /// its batch is settled (committed, failed, or possibly persisted). Rows inserted
    /// without a receipt cost nothing extra.
    ///
    /// # Errors
    ///
    /// As [`insert`](Handle::insert).
    ///
    /// # Cancel safety
    ///
    /// As [`insert`](Handle::insert).
    ///
    /// # Examples
    ///
    /// ```
    /// # use batch_core::doc_support::{Discard, Event};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> batch_core::Result<()> {
    /// # let handle = batch_core::Batcher::builder(Discard).spawn::<Event>().await?;
    /// use batch_core::Outcome;
    ///
    /// let receipt = handle.insert_with_receipt(Event { id: 1, name: "a" }).await?;
    /// handle.flush().await?;
    /// match receipt.await {
    ///     Outcome::Committed { batch } => println!("safe in batch {batch}"),
    ///     other => println!("not committed: {other:?}"),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn insert_with_receipt<T>(&self, row: T) -> Result<Receipt, InsertError<T>>
    where
        T: EncodeRow<S::Format> + BatchRow<Static = R>,
    {
        match self.insert_tagged(row, None, true).await? {
            Some(rx) => Ok(Receipt::new(rx)),
            // A receipt was asked for, so one was made.
            None => Ok(Receipt::new(tokio::sync::oneshot::channel().1)),
        }
    }

    /// Accepts a row from `at` with a receipt if asked, waiting for room.
    async fn insert_tagged<T>(
        &self,
        row: T,
        at: Option<Position>,
        receipt: bool,
    ) -> Result<Option<oneshot::Receiver<crate::outcome::Outcome>>, InsertError<T>>
    where
        T: EncodeRow<S::Format>,
    {
        loop {
            let wait = self.shared.room.notified();
            let mut wait = std::pin::pin!(wait);
            wait.as_mut().enable();
            match self.shared.push_tagged(&row, at, receipt) {
                Ok(rx) => return Ok(rx),
                Err(Refused::Full) => {
                    self.shared.pressure.store(true, Ordering::Release);
                    self.shared.wake.notify_one();
                    wait.await;
                }
                Err(refused) => return Err(refusal(refused, row)),
            }
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
