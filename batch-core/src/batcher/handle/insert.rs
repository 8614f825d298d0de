//! Inserting rows: the `insert` family of [`Handle`], and the future that waits for room.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use tokio::sync::futures::Notified;
use tokio::sync::oneshot;

use super::Handle;
use crate::batcher::shared::{Refused, Shared};
use crate::error::{Error, InsertError, InsertManyError, Result};
use crate::format::Format;
use crate::outcome::Receipt;
use crate::position::Position;
use crate::row::{BatchRow, EncodeRow};
use crate::sink::Sink;

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

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        // The common case, kept small: the first poll, and room for the row.
        if this.wait.is_none() {
            let Some(row) = &this.row else {
                return Poll::Pending; // polled after completion
            };
            match this.shared.push(row) {
                Ok(()) => {
                    this.row = None;
                    return Poll::Ready(Ok(()));
                }
                Err(refused) => return this.poll_refused(cx, Some(refused)),
            }
        }
        this.poll_refused(cx, None)
    }
}

impl<F: Format, T: EncodeRow<F>> Insert<'_, F, T> {
    /// Waits for room while the buffer is full, starting from the refusal of the first
    /// poll if there was one; hands the row back on any other refusal.
    #[inline(never)]
    fn poll_refused(
        &mut self,
        cx: &mut Context<'_>,
        mut first: Option<Refused>,
    ) -> Poll<Result<(), InsertError<T>>> {
        loop {
            if let Some(wait) = &mut self.wait {
                std::task::ready!(wait.as_mut().poll(cx));
                self.wait = None;
            }
            // `None` only when polled after completion.
            let Some(row) = &self.row else {
                return Poll::Pending;
            };
            let pushed = match first.take() {
                Some(refused) => Err(refused),
                None => self.shared.push(row),
            };
            let refused = match pushed {
                Ok(()) => {
                    self.row = None;
                    return Poll::Ready(Ok(()));
                }
                Err(Refused::Full) => {
                    // Register for room, then check again, so that room freed in
                    // between wakes us.
                    let mut wait = Box::pin(self.shared.room.notified());
                    wait.as_mut().enable();
                    match self.shared.push(row) {
                        Ok(()) => {
                            self.row = None;
                            return Poll::Ready(Ok(()));
                        }
                        Err(Refused::Full) => {
                            self.shared.pressure.store(true, Ordering::Release);
                            self.shared.wake.notify_one();
                            self.wait = Some(wait);
                            continue;
                        }
                        Err(refused) => refused,
                    }
                }
                Err(refused) => refused,
            };
            return match self.row.take() {
                Some(row) => Poll::Ready(Err(refusal(refused, row))),
                None => Poll::Pending,
            };
        }
    }
}

impl<R, S: Sink> Handle<R, S> {
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
}
