//! What a handle can see of a running batcher beyond its [`Stats`]: the rows still
//! buffered ([`Dump`]) and what one flush delivered ([`FlushReport`]).

use std::time::Duration;

use crate::batch::Batch;
use crate::decode::{DecodedRows, RowDecoder};
use crate::stats::{Count, Stats};

/// The rows a batcher held when [`Handle::dump`](crate::Handle::dump) asked: accepted,
/// and not yet being sent.
///
/// # Examples
///
/// ```
/// # use batch_core::doc_support::{Discard, Event};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let handle = batch_core::Batcher::builder(Discard).spawn::<Event>().await?;
/// handle.insert(Event { id: 1, name: "waiting" }).await?;
/// let dump = handle.dump().await?;
/// assert_eq!(dump.len(), 1);
/// for row in dump.decoded_rows() {
///     println!("{}", row?.to_json());
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Dump {
    batch: Batch,
    decoder: RowDecoder,
}

impl Dump {
    pub(crate) fn new(batch: Batch, decoder: RowDecoder) -> Self {
        Dump { batch, decoder }
    }

    /// The number of rows.
    #[must_use]
    pub fn len(&self) -> usize {
        self.batch.rows()
    }

    /// Whether no row was buffered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.batch.is_empty()
    }

    /// The rows, encoded, oldest first (as a [`Batch`] that was never sealed: its id is
    /// 0).
    #[must_use]
    pub fn batch(&self) -> &Batch {
        &self.batch
    }

    /// The rows read back into column values, oldest first.
    pub fn decoded_rows(&self) -> DecodedRows<'_> {
        DecodedRows::new(&self.batch, Some(&self.decoder))
    }
}

/// What one [`Handle::flush_report`](crate::Handle::flush_report) delivered, beside
/// the cumulative [`Stats`].
///
/// The figures are the difference of the stats before and after the flush: they count
/// everything that settled while it ran, including batches that were already on their
/// way and rows other producers inserted meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FlushReport {
    /// Rows and encoded bytes committed while the flush ran.
    pub committed: Count,
    /// Rows and bytes that failed for good while the flush ran.
    pub failed: Count,
    /// Batches (or parts of split batches) committed while the flush ran.
    pub batches_committed: u64,
    /// Batches (or parts) that failed for good while the flush ran.
    pub batches_failed: u64,
    /// Send attempts retried while the flush ran.
    pub retries: u64,
    /// How long the flush took.
    pub duration: Duration,
    /// The cumulative stats when it returned.
    pub stats: Stats,
}

impl FlushReport {
    pub(crate) fn between(before: &Stats, after: Stats, duration: Duration) -> Self {
        let mut committed = after.committed;
        committed -= before.committed;
        let mut failed = after.failed;
        failed -= before.failed;
        FlushReport {
            committed,
            failed,
            batches_committed: after
                .batches_committed
                .saturating_sub(before.batches_committed),
            batches_failed: after.batches_failed.saturating_sub(before.batches_failed),
            retries: after.retries.saturating_sub(before.retries),
            duration,
            stats: after,
        }
    }
}
