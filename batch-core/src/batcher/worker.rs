//! The worker task: seals the chunks producers hand over into batches, sends them with
//! up to `max_in_flight` concurrent deliveries, and settles every outcome.
//!
//! It never panics: it has no `unwrap`, and user code it calls (the sink, the dead-letter
//! handler) runs under `catch_unwind` or in its own task.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::{self, JoinError, JoinSet};
use tokio::time::Instant;

use crate::batch::{Batch, Chunk};
use crate::batcher::deliver::{deliver, panic_message, Delivered};
use crate::batcher::rng::Rng;
use crate::batcher::shared::{Piece, Settled, Shared};
use crate::dead_letter::{FailedBatch, FailureCause};
use crate::error::{BatchesFailed, Error, Result};
use crate::retry::RetryPolicy;
use crate::sink::{Sink, SinkErrorKind};
use crate::stats::{Count, Stats};

/// The dead-letter handler.
pub(crate) type DeadLetter = Box<dyn FnMut(FailedBatch) + Send>;

/// A request from a handle.
#[derive(Debug)]
pub(crate) enum Command {
    Flush(oneshot::Sender<Result<Stats>>),
    Close {
        deadline: Option<Instant>,
        reply: oneshot::Sender<Result<Stats>>,
    },
}

/// The worker's settings.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) max_rows: usize,
    pub(crate) max_bytes: usize,
    pub(crate) max_wait: Duration,
    pub(crate) jitter: f64,
    pub(crate) max_in_flight: usize,
    pub(crate) retry: RetryPolicy,
    pub(crate) isolate_bad_rows: bool,
}

/// A sealed batch (or a part of one being bisected) and the flush sequence it belongs to.
#[derive(Debug)]
struct Sealed {
    batch: Batch,
    seq: u64,
}

/// The batch being filled.
#[derive(Debug, Default)]
struct Open {
    chunks: Vec<Chunk>,
    rows: usize,
    bytes: usize,
    first_at: Option<Instant>,
}

#[derive(Debug)]
struct Closing {
    deadline: Option<Instant>,
    replies: Vec<oneshot::Sender<Result<Stats>>>,
    deadline_passed: bool,
}

pub(crate) struct Worker<S: Sink> {
    shared: Arc<Shared<S::Format>>,
    sink: Arc<S>,
    commands: mpsc::UnboundedReceiver<Command>,
    handles_alive: bool,
    config: Config,
    dead_letter: Option<DeadLetter>,
    rng: Rng,
    /// The jittered `max_wait` of the open batch.
    wait: Duration,
    open: Open,
    incoming: Vec<Piece>,
    ready: VecDeque<Sealed>,
    tasks: JoinSet<Delivered>,
    in_flight: HashMap<task::Id, Sealed>,
    /// Batches not finished, by sequence (bisected parts share their parent's).
    unfinished: BTreeMap<u64, usize>,
    next_id: u64,
    /// Flushes waiting for every batch sealed before `.0` to finish.
    flushes: Vec<(u64, oneshot::Sender<Result<Stats>>)>,
    closing: Option<Closing>,
    /// Failed batches for the next flush or close (when there is no dead-letter handler,
    /// or it panicked).
    unreported: Vec<FailedBatch>,
}

impl<S: Sink> std::fmt::Debug for Worker<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("table", &self.shared.table)
            .field("open_rows", &self.open.rows)
            .field("ready", &self.ready.len())
            .field("in_flight", &self.in_flight.len())
            .finish_non_exhaustive()
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365 * 30)
}

fn add(t: Instant, d: Duration) -> Instant {
    t.checked_add(d).unwrap_or_else(far_future)
}

impl<S: Sink> Worker<S> {
    pub(crate) fn new(
        shared: Arc<Shared<S::Format>>,
        sink: Arc<S>,
        commands: mpsc::UnboundedReceiver<Command>,
        config: Config,
        dead_letter: Option<DeadLetter>,
        rng: Rng,
    ) -> Self {
        let mut worker = Worker {
            shared,
            sink,
            commands,
            handles_alive: true,
            config,
            dead_letter,
            rng,
            wait: Duration::ZERO,
            open: Open::default(),
            incoming: Vec::new(),
            ready: VecDeque::new(),
            tasks: JoinSet::new(),
            in_flight: HashMap::new(),
            unfinished: BTreeMap::new(),
            next_id: 0,
            flushes: Vec::new(),
            closing: None,
            unreported: Vec::new(),
        };
        worker.wait = worker.sample_wait();
        worker
    }

    pub(crate) async fn run(mut self) {
        loop {
            self.drain();
            if self.closing.is_some() {
                self.seal();
            }
            self.dispatch();
            self.answer_flushes();
            if self.closing.is_some() && self.is_idle() {
                break;
            }
            let timer = self.timer();
            // Checked here too, so that a stream of chunks waking the worker cannot
            // starve the timer branch below.
            if timer.is_some_and(|t| t <= Instant::now()) {
                self.on_timer();
                continue;
            }
            let close_at = self
                .closing
                .as_ref()
                .filter(|c| !c.deadline_passed)
                .and_then(|c| c.deadline);
            tokio::select! {
                biased;
                command = self.commands.recv(), if self.handles_alive => self.on_command(command),
                Some(done) = self.tasks.join_next_with_id(), if !self.tasks.is_empty() => {
                    self.on_delivered(done);
                }
                () = tokio::time::sleep_until(close_at.unwrap_or_else(far_future)), if close_at.is_some() => {
                    self.on_close_deadline().await;
                }
                () = tokio::time::sleep_until(timer.unwrap_or_else(far_future)), if timer.is_some() => {
                    self.on_timer();
                }
                () = self.shared.wake.notified() => self.on_wake(),
            }
        }
        self.finish();
    }

    fn sample_wait(&mut self) -> Duration {
        let max_wait = self.config.max_wait;
        if self.config.jitter <= 0.0 {
            return max_wait;
        }
        let factor = 1.0 + self.config.jitter * self.rng.unit();
        Duration::try_from_secs_f64(max_wait.as_secs_f64() * factor).unwrap_or(max_wait)
    }

    /// When the open batch (or the rows still in shards) reach their `max_wait`.
    fn timer(&self) -> Option<Instant> {
        let unpulled = self.shared.ledger().unpulled_since;
        let oldest = match (unpulled, self.open.first_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        oldest.map(|t| add(t, self.wait))
    }

    fn on_command(&mut self, command: Option<Command>) {
        match command {
            None => {
                // Every handle was dropped: drain and deliver everything, then stop.
                self.handles_alive = false;
                self.start_closing(None, None);
            }
            Some(Command::Flush(reply)) => {
                self.shared.pull_all(false);
                self.drain();
                self.seal();
                self.flushes.push((self.next_id, reply));
            }
            Some(Command::Close { deadline, reply }) => self.start_closing(deadline, Some(reply)),
        }
    }

    fn start_closing(
        &mut self,
        deadline: Option<Instant>,
        reply: Option<oneshot::Sender<Result<Stats>>>,
    ) {
        match &mut self.closing {
            Some(closing) => {
                closing.deadline = match (closing.deadline, deadline) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                closing.replies.extend(reply);
            }
            None => {
                self.shared
                    .closing
                    .store(true, std::sync::atomic::Ordering::Release);
                self.shared.pull_all(true);
                // Producers waiting for room must see that the batcher closed.
                self.shared.room.notify_waiters();
                self.closing = Some(Closing {
                    deadline,
                    replies: reply.into_iter().collect(),
                    deadline_passed: false,
                });
            }
        }
    }

    fn on_wake(&mut self) {
        if self
            .shared
            .pressure
            .swap(false, std::sync::atomic::Ordering::AcqRel)
        {
            // Producers wait for room. Take back what the shards hold, and if nothing is
            // on its way to free memory, send what there is.
            self.shared.pull_all(false);
            self.drain();
            if self.ready.is_empty() && self.tasks.len() < self.config.max_in_flight {
                self.seal();
            }
        }
    }

    fn on_timer(&mut self) {
        self.shared.pull_all(false);
        self.drain();
        if let Some(first) = self.open.first_at {
            if add(first, self.wait) <= Instant::now() {
                self.seal();
            }
        }
    }

    /// Takes the chunks producers handed over into the open batch, sealing it whenever it
    /// is full.
    fn drain(&mut self) {
        self.shared.take_incoming(&mut self.incoming);
        let mut incoming = std::mem::take(&mut self.incoming);
        for piece in incoming.drain(..) {
            self.add(piece);
        }
        // Keep the allocation for the next time.
        self.incoming = incoming;
    }

    fn add(&mut self, piece: Piece) {
        let Piece {
            mut chunk,
            first_at,
        } = piece;
        while !chunk.is_empty() {
            let room_rows = self.config.max_rows.saturating_sub(self.open.rows);
            let room_bytes = self.config.max_bytes.saturating_sub(self.open.bytes);
            let mut take = chunk.rows_within(room_bytes).min(room_rows);
            if take == 0 {
                if self.open.rows > 0 {
                    self.seal();
                    continue;
                }
                // A row above max_bytes (insert refuses those): send it alone.
                take = 1;
            }
            let part = chunk.slice(0..take);
            chunk = chunk.slice(take..chunk.rows());
            self.open.rows += part.rows();
            self.open.bytes += part.len();
            self.open.first_at = Some(self.open.first_at.map_or(first_at, |t| t.min(first_at)));
            self.open.chunks.push(part);
            if self.open.rows >= self.config.max_rows || self.open.bytes >= self.config.max_bytes {
                self.seal();
            }
        }
    }

    /// Seals the open batch, if it has rows.
    fn seal(&mut self) {
        if self.open.rows == 0 {
            return;
        }
        let open = std::mem::take(&mut self.open);
        let id = self.next_id;
        self.next_id += 1;
        let batch = Batch::new(id, open.chunks);
        let age = open.first_at.map_or(Duration::ZERO, |t| {
            Instant::now().saturating_duration_since(t)
        });
        self.shared.metrics.sealed(batch.rows(), age);
        *self.unfinished.entry(id).or_default() += 1;
        self.ready.push_back(Sealed { batch, seq: id });
        self.wait = self.sample_wait();
    }

    /// Starts deliveries while there is room in flight.
    fn dispatch(&mut self) {
        let mut started = false;
        while self.tasks.len() < self.config.max_in_flight {
            let Some(sealed) = self.ready.pop_front() else {
                break;
            };
            let delivery = deliver(
                self.sink.clone(),
                sealed.batch.clone(),
                self.config.retry,
                self.shared.clone(),
                self.rng.fork(),
            );
            let handle = self.tasks.spawn(delivery);
            self.in_flight.insert(handle.id(), sealed);
            started = true;
        }
        if started {
            self.update_in_flight();
        }
    }

    fn update_in_flight(&self) {
        self.shared.ledger().in_flight = self.tasks.len() as u64;
        self.shared.metrics.gauges(&self.shared.stats());
    }

    fn on_delivered(&mut self, done: Result<(task::Id, Delivered), JoinError>) {
        let (id, outcome) = match done {
            Ok((id, delivered)) => (id, Ok(delivered)),
            Err(e) => (e.id(), Err(e)),
        };
        self.update_in_flight();
        let Some(sealed) = self.in_flight.remove(&id) else {
            tracing::error!(
                table = self.shared.table,
                "batchrow: a delivery finished that the worker does not know; this is a bug"
            );
            return;
        };
        match outcome {
            Ok(Delivered { result: Ok(()), .. }) => self.commit(sealed),
            Ok(Delivered {
                attempts,
                result: Err(cause),
            }) => self.fail_or_isolate(sealed, cause, attempts),
            Err(e) if e.is_cancelled() => {
                self.fail(sealed, FailureCause::CloseDeadline { in_flight: true }, 1);
            }
            Err(e) => {
                let message = match e.try_into_panic() {
                    Ok(panic) => panic_message(&*panic),
                    Err(e) => e.to_string(),
                };
                self.fail(sealed, FailureCause::Internal { message }, 1);
            }
        }
    }

    fn finish_part(&mut self, seq: u64) {
        if let Some(n) = self.unfinished.get_mut(&seq) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.unfinished.remove(&seq);
            }
        }
    }

    fn commit(&mut self, sealed: Sealed) {
        let count = Count::of(sealed.batch.rows(), sealed.batch.len());
        self.shared.settle(count, Settled::Committed);
        self.finish_part(sealed.seq);
    }

    /// Splits a batch the sink refused for good to find the bad rows, when enabled and
    /// the error is about the data; otherwise fails it.
    fn fail_or_isolate(&mut self, sealed: Sealed, cause: FailureCause, attempts: u32) {
        let rows = sealed.batch.rows();
        let bisect = self.config.isolate_bad_rows
            && rows > 1
            && matches!(&cause, FailureCause::Rejected(e) if e.kind() == SinkErrorKind::Permanent)
            && !self.closing.as_ref().is_some_and(|c| c.deadline_passed);
        if !bisect {
            self.fail(sealed, cause, attempts);
            return;
        }
        let bad_row = cause
            .sink_error()
            .and_then(|e| e.row())
            .filter(|&r| r < rows);
        let Sealed { batch, seq } = sealed;
        let (retry, bad) = match bad_row {
            Some(r) => (vec![0..r, r + 1..rows], Some(r..r + 1)),
            None => (vec![0..rows / 2, rows / 2..rows], None),
        };
        tracing::info!(
            table = self.shared.table,
            batch.id = batch.id(),
            batch.rows = rows,
            bad_row,
            "batchrow: the sink refused a batch; splitting it to isolate the bad rows"
        );
        let parts: Vec<Batch> = retry
            .into_iter()
            .filter(|r| !r.is_empty())
            .map(|r| batch.slice(r))
            .collect();
        *self.unfinished.entry(seq).or_default() += parts.len() + usize::from(bad.is_some());
        for part in parts.into_iter().rev() {
            self.ready.push_front(Sealed { batch: part, seq });
        }
        self.finish_part(seq);
        if let Some(bad) = bad {
            self.fail(
                Sealed {
                    batch: batch.slice(bad),
                    seq,
                },
                cause,
                attempts,
            );
        }
    }

    fn fail(&mut self, sealed: Sealed, cause: FailureCause, attempts: u32) {
        let count = Count::of(sealed.batch.rows(), sealed.batch.len());
        self.shared.settle(count, Settled::Failed);
        self.finish_part(sealed.seq);
        tracing::error!(
            table = self.shared.table,
            batch.id = sealed.batch.id(),
            batch.rows = sealed.batch.rows(),
            batch.bytes = sealed.batch.len(),
            attempts,
            error = %cause,
            dead_letter = self.dead_letter.is_some(),
            "batchrow: a batch failed for good"
        );
        let failed = FailedBatch::new(sealed.batch, cause, attempts);
        match &mut self.dead_letter {
            Some(handler) => {
                let copy = failed.clone();
                if catch_unwind(AssertUnwindSafe(|| handler(copy))).is_err() {
                    tracing::error!(
                        table = self.shared.table,
                        batch.id = failed.batch().id(),
                        "batchrow: the dead-letter handler panicked; the batch will be \
                         returned by the next flush or close instead"
                    );
                    self.unreported.push(failed);
                }
            }
            None => self.unreported.push(failed),
        }
    }

    async fn on_close_deadline(&mut self) {
        if let Some(closing) = &mut self.closing {
            closing.deadline_passed = true;
        }
        tracing::warn!(
            table = self.shared.table,
            in_flight = self.tasks.len(),
            waiting = self.ready.len(),
            "batchrow: the close deadline passed; failing the batches still buffered"
        );
        self.tasks.abort_all();
        while let Some(done) = self.tasks.join_next_with_id().await {
            self.on_delivered(done);
        }
        self.drain();
        self.seal();
        while let Some(sealed) = self.ready.pop_front() {
            self.fail(sealed, FailureCause::CloseDeadline { in_flight: false }, 0);
        }
    }

    fn is_idle(&self) -> bool {
        self.open.rows == 0
            && self.ready.is_empty()
            && self.tasks.is_empty()
            && self.shared.incoming_is_empty()
    }

    /// Answers the flushes whose batches have all finished.
    fn answer_flushes(&mut self) {
        if self.flushes.is_empty() {
            return;
        }
        let oldest = self.unfinished.keys().next().copied().unwrap_or(u64::MAX);
        if !self.flushes.iter().any(|(target, _)| *target <= oldest) {
            return;
        }
        let stats = self.shared.stats();
        let (done, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.flushes)
            .into_iter()
            .partition(|(target, _)| *target <= oldest);
        self.flushes = waiting;
        for (_, reply) in done {
            let _ = reply.send(self.report(stats));
        }
    }

    /// `Ok(stats)`, or the failed batches not reported yet.
    fn report(&mut self, stats: Stats) -> Result<Stats> {
        if self.unreported.is_empty() {
            Ok(stats)
        } else {
            Err(Error::Failed(Box::new(BatchesFailed {
                batches: std::mem::take(&mut self.unreported),
                stats,
            })))
        }
    }

    fn finish(mut self) {
        self.shared.pull_all(true);
        let stats = self.shared.stats();
        self.shared.metrics.gauges(&stats);
        self.shared
            .finished
            .store(true, std::sync::atomic::Ordering::Release);
        self.shared.room.notify_waiters();
        let replies = self.closing.take().map(|c| c.replies).unwrap_or_default();
        if replies.is_empty() && !self.unreported.is_empty() {
            let rows: usize = self.unreported.iter().map(FailedBatch::rows).sum();
            tracing::error!(
                table = self.shared.table,
                batches = self.unreported.len(),
                rows,
                "batchrow: every handle was dropped without close(), so these failed \
                 batches cannot be returned to anyone; they are counted as failed"
            );
        }
        for reply in replies {
            let _ = reply.send(self.report(stats));
        }
        for (_, reply) in std::mem::take(&mut self.flushes) {
            let _ = reply.send(self.report(stats));
        }
        self.commands.close();
        while let Ok(command) = self.commands.try_recv() {
            let reply = match command {
                Command::Flush(reply) | Command::Close { reply, .. } => reply,
            };
            let _ = reply.send(Ok(stats));
        }
    }
}
