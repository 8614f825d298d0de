//! The worker task: seals the chunks producers hand over into batches, sends them with
//! up to `max_in_flight` concurrent deliveries, and settles every outcome.
//!
//! The event loop is here; the pure parts live in their own modules: filling the open
//! batch ([`open`]), flush barriers ([`barrier`]), the bisection plan ([`bisect`]) and
//! where failed batches go ([`report`]).
//!
//! It never panics on its own: it has no `unwrap`, and user code it calls (the sink, the
//! dead-letter handler) runs under `catch_unwind` or in its own task. If it stops anyway
//! (its runtime shuts down, or a `tracing` subscriber or `metrics` recorder panics
//! inside it), a guard closes every producer shard and wakes every waiting producer, so
//! handles refuse rows with `Closed` instead of accepting rows nobody will send.

mod barrier;
mod bisect;
mod open;
mod report;
mod settle;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::{self, JoinError, JoinSet};
use tokio::time::Instant;

use crate::batch::{Batch, Release};
use crate::batcher::deliver::{deliver, panic_message, Delivered};
use crate::batcher::shared::{Piece, Shared};
use crate::dead_letter::{FailedBatch, FailureCause};
use crate::error::Result;
use crate::format::Format;
use crate::outcome::{CommittedBatch, Waiting};
use crate::retry::RetryPolicy;
use crate::sink::Sender;
use crate::stats::Stats;

use barrier::Barriers;
use bisect::{Bisector, News};
use open::{Filler, Fresh};
use report::{bytes_of, Reporter};

pub(crate) use report::DeadLetter;

/// The commit hook.
pub(crate) type CommitHook = Box<dyn FnMut(&CommittedBatch) + Send>;

/// The answer to a flush or close.
type Reply = oneshot::Sender<Result<Stats>>;

/// A request from a handle.
#[derive(Debug)]
pub(crate) enum Command {
    Flush(Reply),
    Close {
        deadline: Option<Instant>,
        reply: Reply,
    },
    /// The rows accepted and not yet being sent, without flushing.
    Dump(oneshot::Sender<Vec<crate::batch::Chunk>>),
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
    pub(crate) max_error_rows: Option<u64>,
    /// Aligned batches: the span of a window of offsets.
    pub(crate) align: Option<u64>,
}

/// A sealed batch (or a part of one being bisected), the sequence of the batch it
/// belongs to, and the pair of halves it is one of.
#[derive(Debug)]
struct Sealed {
    batch: Batch,
    seq: u64,
    pair: Option<u64>,
    /// Receipts of its rows, by row index in `batch`.
    receipts: Vec<Waiting>,
}

impl Sealed {
    /// The part of this one holding rows `range`, with their receipts.
    fn part(&mut self, range: std::ops::Range<usize>, pair: Option<u64>) -> Sealed {
        let mut receipts = Vec::new();
        if !self.receipts.is_empty() {
            let (inside, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.receipts)
                .into_iter()
                .partition(|(row, _)| range.contains(row));
            self.receipts = rest;
            receipts = inside
                .into_iter()
                .map(|(row, tx)| (row - range.start, tx))
                .collect();
        }
        Sealed {
            batch: self.batch.slice(range),
            seq: self.seq,
            pair,
            receipts,
        }
    }
}

/// A failed part and how it failed, as the bisection holds it.
type Failed = (Sealed, FailureCause, u32);

#[derive(Debug)]
struct Closing {
    deadline: Option<Instant>,
    replies: Vec<Reply>,
    deadline_passed: bool,
}

/// Closes the handles if the worker stops without finishing (see the module docs).
struct Alive<F: Format> {
    shared: Arc<Shared<F>>,
    armed: bool,
}

impl<F: Format> Drop for Alive<F> {
    fn drop(&mut self) {
        if self.armed {
            let reason = if std::thread::panicking() {
                "the batcher's worker task panicked"
            } else {
                "the batcher's worker task was stopped (its Tokio runtime shut down)"
            };
            self.shared.halt(reason);
        }
    }
}

pub(crate) struct Worker<S: Sender> {
    shared: Arc<Shared<S::Format>>,
    sink: Arc<S>,
    commands: mpsc::UnboundedReceiver<Command>,
    handles_alive: bool,
    config: Config,
    rng: fastrand::Rng,
    /// The jittered `max_wait` of the open batch.
    wait: Duration,
    filler: Filler,
    fresh: Vec<Fresh>,
    incoming: Vec<Piece>,
    ready: VecDeque<Sealed>,
    tasks: JoinSet<Delivered>,
    /// The deliveries under way, by task. The bytes reserved for each one's send are
    /// noted on its batch (the sink may give part of them back while it sends).
    in_flight: HashMap<task::Id, Sealed>,
    barriers: Barriers<Reply>,
    closing: Option<Closing>,
    reporter: Reporter,
    bisector: Bisector<Failed>,
    on_commit: Option<CommitHook>,
    /// Gives send memory back to the budget, and wakes the worker to use it.
    release: Release,
}

impl<S: Sender> std::fmt::Debug for Worker<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("table", &self.shared.table)
            .field("open_rows", &self.filler.rows())
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

impl<S: Sender> Worker<S> {
    pub(crate) fn new(
        shared: Arc<Shared<S::Format>>,
        sink: Arc<S>,
        commands: mpsc::UnboundedReceiver<Command>,
        config: Config,
        dead_letter: Option<DeadLetter>,
        on_commit: Option<CommitHook>,
        rng: fastrand::Rng,
    ) -> Self {
        let weak = Arc::downgrade(&shared);
        let release: Release = Arc::new(move |bytes| {
            if let Some(shared) = weak.upgrade() {
                shared.release(bytes);
                shared.wake.notify_one();
            }
        });
        let mut worker = Worker {
            release,
            shared,
            sink,
            commands,
            handles_alive: true,
            filler: Filler::new(config.max_rows, config.max_bytes, config.align),
            config,
            rng,
            wait: Duration::ZERO,
            fresh: Vec::new(),
            incoming: Vec::new(),
            ready: VecDeque::new(),
            tasks: JoinSet::new(),
            in_flight: HashMap::new(),
            barriers: Barriers::default(),
            closing: None,
            reporter: Reporter::new(dead_letter),
            bisector: Bisector::default(),
            on_commit,
        };
        worker.wait = worker.sample_wait();
        worker
    }

    /// The worker task. The guard is made before the first poll, so that a task dropped
    /// before it ever ran (its runtime shut down first) closes the handles too.
    pub(crate) fn run(self) -> impl std::future::Future<Output = ()> + Send {
        let alive = Alive {
            shared: self.shared.clone(),
            armed: true,
        };
        async move {
            let mut alive = alive;
            self.event_loop().await;
            alive.armed = false;
        }
    }

    async fn event_loop(mut self) {
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
        let factor = 1.0 + self.config.jitter * self.rng.f64();
        Duration::try_from_secs_f64(max_wait.as_secs_f64() * factor).unwrap_or(max_wait)
    }

    /// When the open batch (or the rows still in shards) reach their `max_wait`.
    fn timer(&self) -> Option<Instant> {
        let unpulled = self.shared.ledger().unpulled_since;
        let oldest = match (unpulled, self.filler.first_at()) {
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
                self.barriers.wait(self.filler.next_id(), reply);
            }
            Some(Command::Close { deadline, reply }) => self.start_closing(deadline, Some(reply)),
            Some(Command::Dump(reply)) => {
                let _ = reply.send(self.buffered_rows());
            }
        }
    }

    /// The rows waiting to be sent, oldest first: sealed batches (and parts of split
    /// ones) waiting for a delivery, the open batch, then what producers hold.
    fn buffered_rows(&self) -> Vec<crate::batch::Chunk> {
        let mut chunks: Vec<crate::batch::Chunk> = self
            .ready
            .iter()
            .flat_map(|s| s.batch.chunk_list().iter().cloned())
            .collect();
        chunks.extend(self.filler.chunks().cloned());
        chunks.extend(self.shared.snapshot_rows());
        chunks
    }

    fn start_closing(&mut self, deadline: Option<Instant>, reply: Option<Reply>) {
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
                if self.config.align.is_some() && self.filler.rows() > 0 {
                    tracing::warn!(
                        table = self.shared.table,
                        rows = self.filler.rows(),
                        "batchrow: the memory budget is full of rows waiting for their \
                         windows to complete; sealing them early, so a replay of these \
                         positions may cut them differently (raise max_buffered_bytes or \
                         lower the span of align_batches)"
                    );
                }
                self.seal();
            }
        }
    }

    fn on_timer(&mut self) {
        self.shared.pull_all(false);
        self.drain();
        if let Some(first) = self.filler.first_at() {
            if add(first, self.wait) <= Instant::now() {
                let mut fresh = std::mem::take(&mut self.fresh);
                self.filler.seal_plain(&mut fresh);
                for f in fresh.drain(..) {
                    self.sealed(f);
                }
                self.fresh = fresh;
            }
        }
    }

    /// Takes the chunks producers handed over into the open batch, sealing it whenever it
    /// is full.
    fn drain(&mut self) {
        self.shared.take_incoming(&mut self.incoming);
        let mut incoming = std::mem::take(&mut self.incoming);
        let mut fresh = std::mem::take(&mut self.fresh);
        for piece in incoming.drain(..) {
            self.filler
                .add(piece.chunk, piece.first_at, piece.receipts, &mut fresh);
        }
        for f in fresh.drain(..) {
            self.sealed(f);
        }
        // Keep the allocations for the next time.
        self.incoming = incoming;
        self.fresh = fresh;
    }

    /// Seals every open batch.
    fn seal(&mut self) {
        let mut fresh = std::mem::take(&mut self.fresh);
        self.filler.seal_all(&mut fresh);
        for f in fresh.drain(..) {
            self.sealed(f);
        }
        self.fresh = fresh;
    }

    fn sealed(&mut self, fresh: Fresh) {
        let Fresh {
            batch,
            age,
            receipts,
        } = fresh;
        self.shared.metrics.sealed(batch.rows(), age);
        let seq = batch.id();
        self.barriers.open(seq, 1);
        self.bisector.start(seq, batch.rows());
        self.ready.push_back(Sealed {
            batch,
            seq,
            pair: None,
            receipts,
        });
        self.wait = self.sample_wait();
    }

    /// Starts deliveries while there is room in flight, and room in the memory budget for
    /// what the sink holds while it sends (always for one delivery, so that the batcher
    /// cannot stall).
    fn dispatch(&mut self) {
        let mut started = false;
        while self.tasks.len() < self.config.max_in_flight {
            let Some(sealed) = self.ready.pop_front() else {
                break;
            };
            let extra = self.sink.send_memory(&sealed.batch);
            if !self.shared.reserve_for_send(extra, self.tasks.is_empty()) {
                self.ready.push_front(sealed);
                break;
            }
            sealed.batch.reserve_send(extra, self.release.clone());
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
        // What the sink kept for retries goes with the memory reserved for the delivery.
        let reserved = sealed.batch.end_send();
        sealed.batch.forget_encoded();
        self.shared.release(reserved);
        match outcome {
            Ok(Delivered {
                result: Ok(()),
                attempts,
            }) => {
                if let Some(pair) = sealed.pair {
                    if let News::Release(held) = self.bisector.report(pair, None) {
                        self.isolate(held);
                    }
                }
                self.commit(sealed, attempts);
            }
            Ok(Delivered {
                attempts,
                result: Err(cause),
            }) => self.on_failure((sealed, cause, attempts)),
            Err(e) if e.is_cancelled() => {
                self.on_failure((sealed, FailureCause::CloseDeadline { in_flight: true }, 1))
            }
            Err(e) => {
                let message = match e.try_into_panic() {
                    Ok(panic) => panic_message(&*panic),
                    Err(e) => e.to_string(),
                };
                self.on_failure((sealed, FailureCause::Internal { message }, 1));
            }
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
        for held in self.bisector.take_held() {
            self.fail(held);
        }
        self.drain();
        self.seal();
        while let Some(sealed) = self.ready.pop_front() {
            self.fail((sealed, FailureCause::CloseDeadline { in_flight: false }, 0));
        }
    }

    fn is_idle(&self) -> bool {
        self.filler.rows() == 0
            && self.ready.is_empty()
            && self.tasks.is_empty()
            && !self.bisector.holds_any()
            && self.shared.incoming_is_empty()
    }

    fn finish(mut self) {
        self.shared.pull_all(true);
        let replies = self.closing.take().map(|c| c.replies).unwrap_or_default();
        for reply in replies.into_iter().chain(self.barriers.take_all()) {
            self.answer(reply);
        }
        let leftover = self.reporter.take();
        if !leftover.is_empty() && !self.handles_alive {
            let rows: usize = leftover.iter().map(FailedBatch::rows).sum();
            tracing::error!(
                table = self.shared.table,
                batches = leftover.len(),
                rows,
                "batchrow: every handle was dropped without close(), so these failed \
                 batches cannot be returned to anyone; they are counted as failed"
            );
            self.shared.release(bytes_of(&leftover));
        } else {
            // A handle may call flush or close again: it gets them then.
            self.shared.keep_failed(leftover);
        }
        let stats = self.shared.stats();
        self.shared.metrics.gauges(&stats);
        self.shared
            .finished
            .store(true, std::sync::atomic::Ordering::Release);
        self.shared.room.notify_waiters();
        self.commands.close();
        while let Ok(command) = self.commands.try_recv() {
            let reply = match command {
                Command::Flush(reply) | Command::Close { reply, .. } => reply,
                // Nothing is buffered any more.
                Command::Dump(reply) => {
                    let _ = reply.send(Vec::new());
                    continue;
                }
            };
            self.shared.answer_after_finish(reply);
        }
    }
}
