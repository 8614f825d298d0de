//! What became of rows: a [`Receipt`] per row for callers who ask, and a
//! [`CommittedBatch`] per committed batch for the commit hook.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::sync::oneshot;

use crate::dead_letter::FailureCause;
use crate::position::PositionRange;

/// The outcome of one row, as its [`Receipt`] reports it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Outcome {
    /// The row's batch was committed by the sink.
    Committed {
        /// The batch's id.
        batch: u64,
    },
    /// The row was not persisted: its batch (or the part of it holding the row) failed
    /// for good. It also went to the dead-letter handler, or to `flush`/`close`.
    Failed {
        /// Why.
        cause: FailureCause,
        /// The row, encoded.
        row: Bytes,
    },
    /// The destination may have written the row: the send was cut off after the data
    /// went out and its outcome could not be found out, or the batcher stopped (its
    /// runtime shut down) before the row's outcome was known. It is never sent again.
    PossiblyPersisted {
        /// Why, when a send was cut off; `None` when the batcher stopped.
        cause: Option<FailureCause>,
        /// The row, encoded (empty when the batcher stopped).
        row: Bytes,
    },
}

impl Outcome {
    /// Whether the row was committed.
    #[must_use]
    pub fn is_committed(&self) -> bool {
        matches!(self, Outcome::Committed { .. })
    }
}

/// A future that resolves to the [`Outcome`] of one row, once the batch holding it is
/// settled. Returned by [`Handle::insert_with_receipt`](crate::Handle::insert_with_receipt).
///
/// Dropping it changes nothing for the row.
///
/// # Examples
///
/// ```
/// # use batch_core::doc_support::{Discard, Event};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> batch_core::Result<()> {
/// # let handle = batch_core::Batcher::builder(Discard).spawn::<Event>().await?;
/// let receipt = handle.insert_with_receipt(Event { id: 1, name: "a" }).await?;
/// handle.flush().await?;
/// assert!(receipt.await.is_committed());
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a receipt does nothing unless awaited; drop it if the outcome does not matter"]
pub struct Receipt {
    rx: oneshot::Receiver<Outcome>,
}

impl Receipt {
    pub(crate) fn new(rx: oneshot::Receiver<Outcome>) -> Self {
        Receipt { rx }
    }
}

impl Future for Receipt {
    type Output = Outcome;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        Pin::new(&mut self.rx).poll(cx).map(|r| {
            r.unwrap_or(Outcome::PossiblyPersisted {
                cause: None,
                row: Bytes::new(),
            })
        })
    }
}

/// A batch (or a part of one split to isolate bad rows) the sink committed, as the
/// [`on_commit`](crate::Builder::on_commit) hook sees it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CommittedBatch {
    /// The batch's id (a part of a split batch has its batch's id).
    pub id: u64,
    /// The rows of the sealed batch this part holds (`0..rows` for a whole batch).
    pub range: std::ops::Range<usize>,
    /// Rows committed.
    pub rows: usize,
    /// Encoded bytes committed.
    pub bytes: usize,
    /// Send attempts it took.
    pub attempts: u32,
    /// The positions of its rows in the user's source (see
    /// [`Position`](crate::Position)).
    pub positions: Vec<PositionRange>,
}

impl CommittedBatch {
    /// The positions of its rows, as ranges of consecutive offsets per stream.
    #[must_use]
    pub fn positions(&self) -> &[PositionRange] {
        &self.positions
    }
}

/// A row's receipt waiting for its batch: the row's index in the batch.
pub(crate) type Waiting = (usize, oneshot::Sender<Outcome>);
