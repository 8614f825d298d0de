//! The batcher runtime: many producers, bounded memory, flush triggers, no silent loss.
//!
//! [`Batcher::builder`] configures a batcher for a [`Sink`] and
//! [`Builder::spawn`] starts it, returning a cheap, cloneable [`Handle`]. Producers
//! [`insert`](Handle::insert) typed rows; each row is encoded on the producer's task into
//! a reused buffer of one of a few producer shards, and whole chunks of rows are handed to
//! a background worker task, which seals them into batches and sends those to the sink.
//!
//! ```text
//! insert(row) ─encode─► shard buffer ─chunk─► worker: open batch ─seal─► Sender::send
//!                                                             committed │ retried │ failed
//! ```
//!
//! # Flush triggers
//!
//! A batch is sealed and sent when any of these happens:
//! - it holds [`max_rows`](Builder::max_rows) rows, or the next row would take it over
//!   [`max_bytes`](Builder::max_bytes) bytes (a batch never exceeds either);
//! - its first row was accepted [`max_wait`](Builder::max_wait) ago, stretched by
//!   [`jitter`](Builder::jitter);
//! - [`Handle::flush`], [`Handle::close`], or the last handle is dropped.
//!
//! Rows reach the worker in chunks of up to 64 KiB or 4,096 rows per producer shard (less
//! when `max_bytes` or `max_rows` are smaller), so the row and byte triggers see rows a
//! chunk at a time; `max_wait`, `flush` and `close` also collect partly filled chunks.
//!
//! # Bounded memory
//!
//! The encoded bytes accepted and not yet committed or handed back — in producer chunks,
//! in batches waiting, in batches being sent, and in failed batches held for the next
//! `flush` or `close` — stay within [`max_buffered_bytes`](Builder::max_buffered_bytes)
//! plus one row. What a sink holds while it sends a batch (a compressed frame, a copy
//! made contiguous: [`Sender::send_memory`](crate::Sender::send_memory)) is reserved from the same budget before the
//! send starts, and what the sink gives back once it knows what it holds
//! ([`Batch::shrink_send_memory`](crate::Batch::shrink_send_memory)) serves other
//! batches and producers at once; one send may always proceed, so the bound is exceeded
//! by at most that send's extra memory. At the bound, [`insert`](Handle::insert) waits and
//! [`try_insert`](Handle::try_insert) hands the row back in
//! [`InsertError::Full`](crate::InsertError::Full).
//!
//! Failed batches held for reporting (when there is no dead-letter handler) keep their
//! bytes reserved until a `flush` or `close` returns them: if they fill the budget,
//! producers wait until someone flushes. Install a
//! [`dead_letter`](Builder::dead_letter) handler, or flush now and then, so that
//! failures do not stall the producers.
//!
//! # Outcome of every batch
//!
//! - The sink acknowledges it: its rows are **committed**; the
//!   [`on_commit`](Builder::on_commit) hook sees it with its positions, and the rows'
//!   receipts resolve to [`Outcome::Committed`](crate::Outcome::Committed).
//! - The sink fails with a retryable error: it is sent again, with the same bytes, as the
//!   [`RetryPolicy`](crate::RetryPolicy) says (by default until no attempt succeeded
//!   within 120 s, each attempt bounded by 30 s). A sink that panics counts as a
//!   retryable failure; the worker survives it.
//! - The sink cannot tell whether the destination wrote it (a connection lost during
//!   `COMMIT` whose outcome could not be found out, an attempt cut off by its
//!   deadline): it is **possibly persisted**. It is never sent again nor split; it is
//!   reported as a failure with
//!   [`FailureCause::PossiblyPersisted`](crate::FailureCause::PossiblyPersisted) and
//!   counted in [`Stats::possibly_persisted`](crate::Stats::possibly_persisted).
//! - It fails for good (a permanent, schema or config error, or out of retries): its rows
//!   are **failed**, and the batch — its encoded rows and the cause, a
//!   [`FailedBatch`](crate::FailedBatch) — goes to the
//!   [`dead_letter`](Builder::dead_letter) handler, or without one, is returned by the
//!   next [`flush`](Handle::flush) or [`close`](Handle::close) in
//!   [`Error::Failed`](crate::Error::Failed). Optionally,
//!   [`isolate_bad_rows`](Builder::isolate_bad_rows) splits a batch the sink refused
//!   because of its rows ([`SinkError::caused_by_data`](crate::SinkError::caused_by_data))
//!   to deliver its good rows: around the row the sink names, or in halves; it stops when
//!   both halves fail like their parent without a row, and caps the sends per batch.
//! - [`max_error_rows`](Builder::max_error_rows) halts the batcher when too many rows
//!   failed: it accepts no more rows and still delivers those it accepted.
//!
//! No batch is ever logged and then dropped. If the worker task itself stops (its runtime
//! shuts down, or a `tracing` subscriber or `metrics` recorder panics inside it), every
//! handle refuses rows with `Closed` and every waiting producer wakes up.
//!
//! # Accounting
//!
//! [`Handle::stats`] returns an exact snapshot in which, as rows and as bytes,
//! `accepted = committed + failed + in_buffer`.
//!
//! # Observability
//!
//! Each send attempt runs in a `tracing` span `batchrow.flush` with the fields `table`,
//! `name` (the batcher's [`name`](Builder::name)), `batch.id`, `batch.rows`,
//! `batch.bytes`, `attempt`, `duration_ms` and `outcome` (`committed`, `retry`,
//! `rejected`, `possibly persisted`, `gave up`). Retries are logged at `WARN` and
//! batches that fail for good at `ERROR`.
//!
//! The batcher records these metrics through the [`metrics`](https://docs.rs/metrics)
//! facade, each with a `table` label (the row type's table) and a `name` label (the
//! batcher's [`name`](Builder::name), by default the table), so that two batchers into
//! the same table are told apart. Install the recorder before spawning the batcher: the
//! handles are registered at spawn.
//!
//! | Name | Kind | Unit | Meaning |
//! |---|---|---|---|
//! | `batchrow.rows.accepted` | counter | rows | Rows accepted, counted as their chunk reaches the worker |
//! | `batchrow.rows.committed` | counter | rows | Rows the sink acknowledged |
//! | `batchrow.rows.failed` | counter | rows | Rows in batches that failed for good |
//! | `batchrow.bytes.sent` | counter | bytes | Encoded bytes handed to the sink, every attempt counted |
//! | `batchrow.bytes.committed` | counter | bytes | Encoded bytes the sink acknowledged |
//! | `batchrow.batches.committed` | counter | batches | Batches the sink acknowledged |
//! | `batchrow.batches.failed` | counter | batches | Batches (or isolated parts) that failed for good |
//! | `batchrow.retries` | counter | attempts | Failed attempts that are retried |
//! | `batchrow.flush.duration` | histogram | seconds | Duration of one send attempt |
//! | `batchrow.batch.age` | histogram | seconds | Age of a batch's oldest row when it is sealed |
//! | `batchrow.batch.rows` | histogram | rows | Rows per sealed batch |
//! | `batchrow.buffer.rows` | gauge | rows | Rows accepted whose outcome is not known yet |
//! | `batchrow.buffer.bytes` | gauge | bytes | Their encoded bytes |
//! | `batchrow.batches.in_flight` | gauge | batches | Batches being sent or waiting to retry |
//!
//! # Shutdown
//!
//! [`Handle::close`] stops accepting rows, delivers everything and returns the totals;
//! [`Handle::close_with_deadline`] fails what is still buffered when the deadline passes
//! (with [`FailureCause::CloseDeadline`](crate::FailureCause::CloseDeadline)), handing it
//! to the dead-letter handler or returning it in the error. Dropping the last handle
//! delivers everything too; see [`Handle`] for what happens to failures then.

mod builder;
mod deliver;
mod handle;
mod shared;
mod snapshot;
mod worker;

pub use builder::Builder;
pub use handle::Handle;
pub use snapshot::{Dump, FlushReport};

use crate::sink::Sink;

/// The entry point: [`Batcher::builder`] configures a batcher for a sink.
///
/// # Examples
///
/// ```
/// # use batch_core::doc_support::{Discard, Event};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> batch_core::Result<()> {
/// use std::time::Duration;
/// use batch_core::{Batcher, RetryPolicy};
///
/// let handle = Batcher::builder(Discard)
///     .max_rows(100_000)
///     .max_bytes(16 << 20)
///     .max_wait(Duration::from_secs(1))
///     .jitter(0.1)
///     .max_buffered_bytes(256 << 20)
///     .max_in_flight(2)
///     .retry(RetryPolicy::default().attempts(5))
///     .spawn::<Event>()
///     .await?;
///
/// let producer = handle.clone();
/// tokio::spawn(async move {
///     for id in 0..1000 {
///         producer.insert(Event { id, name: "spawned" }).await?;
///     }
///     Ok::<_, batch_core::Error>(())
/// })
/// .await
/// .expect("the producer task panicked")?;
///
/// let summary = handle.close().await?;
/// assert_eq!(summary.committed.rows, 1000);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Batcher {
    _private: (),
}

impl Batcher {
    /// A builder for a batcher that sends to `sink`, with the default options.
    pub fn builder<S: Sink>(sink: S) -> Builder<S> {
        Builder::new(sink)
    }
}
