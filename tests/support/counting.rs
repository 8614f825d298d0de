//! A sink that passes everything to another sink and counts what happens: every send
//! attempt (the batcher's [`Sender::send_by`]), its outcome, how long it took, and when
//! the last commit after a moment happened. The fault tests use it to bound the number
//! of sends and to measure the time a fault took to recover from.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use batchrow::{Batch, Format, Schema, Sender, Sink, SinkError, SinkErrorKind};
use tokio::time::Instant;

/// One send attempt, as the wrapped sink answered it.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub batch: u64,
    pub rows: usize,
    pub started: Instant,
    pub took: Duration,
    /// `None` when committed.
    pub error: Option<(SinkErrorKind, String)>,
}

/// The shared record of a [`Counting`] sink.
#[derive(Debug, Default)]
pub struct Log {
    /// Attempts that ended.
    pub attempts: Vec<Attempt>,
    /// Attempts that started.
    pub started: usize,
}

impl Log {
    /// Send attempts so far.
    pub fn sends(&self) -> usize {
        self.attempts.len()
    }

    /// Attempts that ended with an error of `kind`.
    pub fn errors(&self, kind: SinkErrorKind) -> usize {
        self.attempts
            .iter()
            .filter(|a| a.error.as_ref().is_some_and(|(k, _)| *k == kind))
            .count()
    }

    /// Attempts that took at least `d`.
    pub fn slower_than(&self, d: Duration) -> usize {
        self.attempts.iter().filter(|a| a.took >= d).count()
    }

    /// How long it took from `began` (a fault) to the first commit after the last
    /// failed attempt that ended after `began` (or, if none failed, to the first commit
    /// after `began`).
    pub fn recovered(&self, began: Instant) -> Option<Duration> {
        let from = self
            .attempts
            .iter()
            .filter(|a| a.error.is_some())
            .map(|a| a.started + a.took)
            .filter(|end| *end >= began)
            .max()
            .unwrap_or(began);
        self.first_commit_after(from).map(|d| d + (from - began))
    }

    /// The first commit that ended after `t`, as the time from `t` to its end.
    pub fn first_commit_after(&self, t: Instant) -> Option<Duration> {
        self.attempts
            .iter()
            .filter(|a| a.error.is_none())
            .map(|a| a.started + a.took)
            .filter(|end| *end > t)
            .min()
            .map(|end| end - t)
    }
}

/// A sink that delegates to `inner` and records every send attempt in `log`.
pub struct Counting<S> {
    pub inner: S,
    pub log: Arc<Mutex<Log>>,
}

impl<S> Counting<S> {
    pub fn new(inner: S) -> (Self, Arc<Mutex<Log>>) {
        let log = Arc::new(Mutex::new(Log::default()));
        (
            Counting {
                inner,
                log: log.clone(),
            },
            log,
        )
    }
}

impl<S: Sink> Sink for Counting<S> {
    type Format = S::Format;
    type Sender = Counting<S::Sender>;

    async fn prepare(self, schema: Schema) -> Result<Counting<S::Sender>, SinkError> {
        Ok(Counting {
            inner: self.inner.prepare(schema).await?,
            log: self.log,
        })
    }
}

impl<S: Sender> Sender for Counting<S> {
    type Format = S::Format;

    fn columns(&self) -> &[<Self::Format as Format>::Column] {
        self.inner.columns()
    }

    async fn send(&self, batch: &Batch) -> Result<(), SinkError> {
        self.inner.send(batch).await
    }

    async fn send_by(&self, batch: &Batch, deadline: Instant) -> Result<(), SinkError> {
        let started = Instant::now();
        self.log.lock().unwrap().started += 1;
        let result = self.inner.send_by(batch, deadline).await;
        let attempt = Attempt {
            batch: batch.id(),
            rows: batch.rows(),
            started,
            took: started.elapsed(),
            error: result.as_ref().err().map(|e| (e.kind(), e.to_string())),
        };
        if let Some((kind, message)) = &attempt.error {
            eprintln!(
                "send of batch {} ({} rows) failed after {:?}: {kind:?}: {message}",
                attempt.batch, attempt.rows, attempt.took
            );
        }
        self.log.lock().unwrap().attempts.push(attempt);
        result
    }

    fn send_memory(&self, batch: &Batch) -> usize {
        self.inner.send_memory(batch)
    }
}
