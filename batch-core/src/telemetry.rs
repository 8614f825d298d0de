//! The batcher's `metrics` handles, registered once per batcher with a `table` label and
//! a `name` label (the batcher's name).
//!
//! The names and meanings are documented in the table in the [`batcher`](crate::batcher)
//! module docs; keep the two in sync.

use std::time::Duration;

use metrics::{counter, gauge, histogram, Counter, Gauge, Histogram};

use crate::stats::{Count, Stats};

/// Rows accepted (counted when a producer's chunk is handed to the worker).
pub(crate) const ROWS_ACCEPTED: &str = "batchrow.rows.accepted";
/// Rows the sink acknowledged.
pub(crate) const ROWS_COMMITTED: &str = "batchrow.rows.committed";
/// Rows in batches that failed for good.
pub(crate) const ROWS_FAILED: &str = "batchrow.rows.failed";
/// Encoded bytes handed to the sink, counting every attempt.
pub(crate) const BYTES_SENT: &str = "batchrow.bytes.sent";
/// Encoded bytes the sink acknowledged.
pub(crate) const BYTES_COMMITTED: &str = "batchrow.bytes.committed";
/// Batches the sink acknowledged.
pub(crate) const BATCHES_COMMITTED: &str = "batchrow.batches.committed";
/// Batches that failed for good.
pub(crate) const BATCHES_FAILED: &str = "batchrow.batches.failed";
/// Attempts that are retried.
pub(crate) const RETRIES: &str = "batchrow.retries";
/// The duration of one send attempt, in seconds.
pub(crate) const FLUSH_DURATION: &str = "batchrow.flush.duration";
/// The age of a batch's oldest row when the batch is sealed, in seconds.
pub(crate) const BATCH_AGE: &str = "batchrow.batch.age";
/// The rows of a sealed batch.
pub(crate) const BATCH_ROWS: &str = "batchrow.batch.rows";
/// Rows accepted whose outcome is not known yet.
pub(crate) const BUFFER_ROWS: &str = "batchrow.buffer.rows";
/// Bytes of the rows accepted whose outcome is not known yet.
pub(crate) const BUFFER_BYTES: &str = "batchrow.buffer.bytes";
/// Batches being sent or waiting to retry.
pub(crate) const IN_FLIGHT: &str = "batchrow.batches.in_flight";

/// The handles of one batcher.
#[derive(Debug, Clone)]
pub(crate) struct Metrics {
    pub(crate) rows_accepted: Counter,
    rows_committed: Counter,
    rows_failed: Counter,
    pub(crate) bytes_sent: Counter,
    bytes_committed: Counter,
    batches_committed: Counter,
    batches_failed: Counter,
    pub(crate) retries: Counter,
    pub(crate) flush_duration: Histogram,
    batch_age: Histogram,
    batch_rows: Histogram,
    buffer_rows: Gauge,
    buffer_bytes: Gauge,
    in_flight: Gauge,
}

impl Metrics {
    pub(crate) fn new(table: &'static str, name: &str) -> Self {
        let name = || metrics::SharedString::from(name.to_owned());
        Metrics {
            rows_accepted: counter!(ROWS_ACCEPTED, "table" => table, "name" => name()),
            rows_committed: counter!(ROWS_COMMITTED, "table" => table, "name" => name()),
            rows_failed: counter!(ROWS_FAILED, "table" => table, "name" => name()),
            bytes_sent: counter!(BYTES_SENT, "table" => table, "name" => name()),
            bytes_committed: counter!(BYTES_COMMITTED, "table" => table, "name" => name()),
            batches_committed: counter!(BATCHES_COMMITTED, "table" => table, "name" => name()),
            batches_failed: counter!(BATCHES_FAILED, "table" => table, "name" => name()),
            retries: counter!(RETRIES, "table" => table, "name" => name()),
            flush_duration: histogram!(FLUSH_DURATION, "table" => table, "name" => name()),
            batch_age: histogram!(BATCH_AGE, "table" => table, "name" => name()),
            batch_rows: histogram!(BATCH_ROWS, "table" => table, "name" => name()),
            buffer_rows: gauge!(BUFFER_ROWS, "table" => table, "name" => name()),
            buffer_bytes: gauge!(BUFFER_BYTES, "table" => table, "name" => name()),
            in_flight: gauge!(IN_FLIGHT, "table" => table, "name" => name()),
        }
    }

    pub(crate) fn committed(&self, c: Count) {
        self.rows_committed.increment(c.rows);
        self.bytes_committed.increment(c.bytes);
        self.batches_committed.increment(1);
    }

    pub(crate) fn failed(&self, c: Count) {
        self.rows_failed.increment(c.rows);
        self.batches_failed.increment(1);
    }

    pub(crate) fn sealed(&self, rows: usize, age: Duration) {
        self.batch_rows.record(rows as f64);
        self.batch_age.record(age.as_secs_f64());
    }

    pub(crate) fn gauges(&self, stats: &Stats) {
        self.buffer_rows.set(stats.in_buffer.rows as f64);
        self.buffer_bytes.set(stats.in_buffer.bytes as f64);
        self.in_flight.set(stats.in_flight as f64);
    }
}
