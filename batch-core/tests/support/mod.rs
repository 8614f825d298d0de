//! An in-memory sink with its own test format, and a hand-written row type, for the
//! batcher tests. No server needed.
#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use batch_core::{
    Batch, BatchRow, Column, Encode, EncodeError, EncodeRow, Format, Schema, Sender, Sink,
    SinkError, ValueKind,
};
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

/// The test format: `u64` as 8 bytes little-endian, strings as a 4-byte length and the
/// bytes. Every row starts with one marker byte `0xB0`.
#[derive(Debug)]
pub struct TestFormat;

/// What the sink resolved for a column: its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestColumn(pub &'static str);

impl Format for TestFormat {
    type Column = TestColumn;
    const NAME: &'static str = "test format";

    fn begin_row(_: u16, buf: &mut Vec<u8>) {
        buf.push(0xB0);
    }

    fn encode_enum(
        _: &'static str,
        value: i16,
        _: &TestColumn,
        buf: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        buf.extend_from_slice(&value.to_le_bytes());
        Ok(())
    }
}

impl Encode<TestFormat> for u64 {
    fn encode(&self, _: &TestColumn, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        buf.extend_from_slice(&self.to_le_bytes());
        Ok(())
    }
}

impl Encode<TestFormat> for str {
    fn encode(&self, _: &TestColumn, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        if self == "unencodable" {
            return Err(EncodeError::Other("this string is refused".into()));
        }
        if self == "panic" {
            panic!("the encoder panicked");
        }
        let len = u32::try_from(self.len()).map_err(|_| EncodeError::Length {
            what: "a test string",
            len: self.len(),
            max: u32::MAX as usize,
        })?;
        buf.extend_from_slice(&len.to_le_bytes());
        buf.extend_from_slice(self.as_bytes());
        Ok(())
    }
}

/// A row that borrows its payload. Encoded size: 1 + 8 + 4 + payload length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ev<'a> {
    pub id: u64,
    pub payload: &'a str,
}

/// The encoded size of an `Ev` with an empty payload.
pub const EMPTY_ROW: usize = 13;

impl<'a> Ev<'a> {
    pub fn new(id: u64) -> Ev<'static> {
        Ev { id, payload: "" }
    }

    pub fn with(id: u64, payload: &'a str) -> Self {
        Ev { id, payload }
    }
}

impl<'a> BatchRow for Ev<'a> {
    const TABLE: &'static str = "events";
    const COLUMNS: &'static [Column] = &[
        Column::new("id", "id", "u64", None, ValueKind::U64),
        Column::new("payload", "payload", "&'a str", None, ValueKind::String),
    ];
    type Static = Ev<'static>;
}

impl<'a> EncodeRow<TestFormat> for Ev<'a> {
    fn encode_row(&self, columns: &[TestColumn], buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        let [id, payload] = columns else {
            return Err(EncodeError::ColumnCount {
                expected: 2,
                got: columns.len(),
            });
        };
        TestFormat::begin_row(2, buf);
        self.id.encode(id, buf).map_err(|e| e.in_column("id"))?;
        self.payload
            .encode(payload, buf)
            .map_err(|e| e.in_column("payload"))
    }
}

/// Decodes the ids of every row of a batch, checking each row's framing.
pub fn ids(batch: &Batch) -> Vec<u64> {
    (0..batch.rows())
        .map(|i| {
            let row = batch.row(i).expect("row in range");
            assert_eq!(row[0], 0xB0, "row {i} starts with the marker");
            let id = u64::from_le_bytes(row[1..9].try_into().unwrap());
            let len = u32::from_le_bytes(row[9..13].try_into().unwrap()) as usize;
            assert_eq!(row.len(), 13 + len, "row {i} has its declared length");
            id
        })
        .collect()
}

/// What the sink does with one attempt.
#[derive(Debug)]
pub enum Act {
    Commit,
    Fail(SinkError),
    Panic,
    /// Never finishes.
    Hang,
    /// Sleeps, then commits.
    Delay(Duration),
}

/// One call of `send`.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub batch: u64,
    pub rows: usize,
    pub at: Instant,
    pub ids: Vec<u64>,
}

type Script = Box<dyn FnMut(&Batch) -> Act + Send>;

#[derive(Default)]
struct Inner {
    committed: Mutex<Vec<Vec<u64>>>,
    attempts: Mutex<Vec<Attempt>>,
    script: Mutex<VecDeque<Act>>,
    rule: Mutex<Option<Script>>,
    bytes_seen: Mutex<Vec<(u64, Vec<u8>)>>,
    changed: Notify,
    concurrent: Mutex<(usize, usize)>,
}

/// An in-memory sink. Each attempt takes the next scripted [`Act`] (or asks the rule, or
/// commits), and records what it saw. Clones share the state.
#[derive(Clone)]
pub struct MemorySink {
    inner: Arc<Inner>,
    gate: watch::Sender<bool>,
    prepare_error: Arc<Mutex<Option<SinkError>>>,
    /// `prepare` never returns.
    prepare_hangs: Arc<std::sync::atomic::AtomicBool>,
    /// `send_memory` reports this many times the batch's bytes.
    memory_factor: Arc<std::sync::atomic::AtomicUsize>,
    /// When set, `send` says it holds this many bytes (`Batch::shrink_send_memory`) as
    /// soon as it starts.
    holds: Arc<Mutex<Option<usize>>>,
}

impl Default for MemorySink {
    fn default() -> Self {
        MemorySink {
            inner: Arc::default(),
            gate: watch::Sender::new(true),
            prepare_error: Arc::default(),
            prepare_hangs: Arc::default(),
            memory_factor: Arc::default(),
            holds: Arc::default(),
        }
    }
}

impl MemorySink {
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues acts for the next attempts.
    pub fn script(&self, acts: impl IntoIterator<Item = Act>) {
        self.inner.script.lock().unwrap().extend(acts);
    }

    /// Decides every attempt that has no scripted act.
    pub fn rule(&self, rule: impl FnMut(&Batch) -> Act + Send + 'static) {
        *self.inner.rule.lock().unwrap() = Some(Box::new(rule));
    }

    pub fn fail_prepare(&self, e: SinkError) {
        *self.prepare_error.lock().unwrap() = Some(e);
    }

    /// `prepare` never returns (a server that accepts and never answers).
    pub fn hang_prepare(&self) {
        self.prepare_hangs
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// `send_memory` reports `factor` times the batch's bytes.
    pub fn send_memory_factor(&self, factor: usize) {
        self.memory_factor
            .store(factor, std::sync::atomic::Ordering::Relaxed);
    }

    /// Each attempt says it holds `bytes` while it sends, before it waits at the gate.
    pub fn holds_while_sending(&self, bytes: usize) {
        *self.holds.lock().unwrap() = Some(bytes);
    }

    /// While closed, attempts wait before doing anything.
    pub fn close_gate(&self) {
        self.gate.send_replace(false);
    }

    pub fn open_gate(&self) {
        self.gate.send_replace(true);
    }

    /// The ids of each committed batch, in commit order.
    pub fn committed(&self) -> Vec<Vec<u64>> {
        self.inner.committed.lock().unwrap().clone()
    }

    pub fn committed_ids(&self) -> Vec<u64> {
        self.committed().into_iter().flatten().collect()
    }

    pub fn attempts(&self) -> Vec<Attempt> {
        self.inner.attempts.lock().unwrap().clone()
    }

    /// The bytes of every attempt, by batch id.
    pub fn bytes_seen(&self) -> Vec<(u64, Vec<u8>)> {
        self.inner.bytes_seen.lock().unwrap().clone()
    }

    /// The largest number of attempts under way at once.
    pub fn max_concurrent(&self) -> usize {
        self.inner.concurrent.lock().unwrap().1
    }

    /// Waits until `done` holds for the sink's state (re-checked after every change).
    pub async fn until(&self, mut done: impl FnMut(&MemorySink) -> bool) {
        loop {
            let changed = self.inner.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if done(self) {
                return;
            }
            changed.await;
        }
    }

    /// Waits until `n` batches were committed.
    pub async fn until_committed(&self, n: usize) {
        self.until(|s| s.committed().len() >= n).await;
    }

    fn next_act(&self, batch: &Batch) -> Act {
        if let Some(act) = self.inner.script.lock().unwrap().pop_front() {
            return act;
        }
        match &mut *self.inner.rule.lock().unwrap() {
            Some(rule) => rule(batch),
            None => Act::Commit,
        }
    }
}

struct Running<'a>(&'a Inner);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.concurrent.lock().unwrap().0 -= 1;
    }
}

/// A [`MemorySink`] once prepared: it shares the sink's state.
pub struct Ready {
    sink: MemorySink,
    columns: Vec<TestColumn>,
}

impl Sink for MemorySink {
    type Format = TestFormat;
    type Sender = Ready;

    async fn prepare(self, schema: Schema) -> Result<Ready, SinkError> {
        if let Some(e) = self.prepare_error.lock().unwrap().take() {
            return Err(e);
        }
        if self
            .prepare_hangs
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            std::future::pending::<()>().await;
        }
        let columns = schema.columns.iter().map(|c| TestColumn(c.name)).collect();
        Ok(Ready {
            sink: self,
            columns,
        })
    }
}

impl Sender for Ready {
    type Format = TestFormat;

    fn columns(&self) -> &[TestColumn] {
        &self.columns
    }

    fn send_memory(&self, batch: &Batch) -> usize {
        batch.len()
            * self
                .sink
                .memory_factor
                .load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn send(&self, batch: &Batch) -> Result<(), SinkError> {
        let this = &self.sink;
        let ids = ids(batch);
        {
            let mut c = this.inner.concurrent.lock().unwrap();
            c.0 += 1;
            c.1 = c.1.max(c.0);
        }
        let _running = Running(&this.inner);
        this.inner.attempts.lock().unwrap().push(Attempt {
            batch: batch.id(),
            rows: batch.rows(),
            at: Instant::now(),
            ids: ids.clone(),
        });
        this.inner.bytes_seen.lock().unwrap().push((
            batch.id(),
            batch.chunks().flat_map(|c| c.to_vec()).collect(),
        ));
        if let Some(bytes) = *this.holds.lock().unwrap() {
            batch.shrink_send_memory(bytes);
        }
        this.inner.changed.notify_waiters();
        let mut gate = this.gate.subscribe();
        gate.wait_for(|open| *open).await.unwrap();
        let act = this.next_act(batch);
        let result = match act {
            Act::Commit => Ok(()),
            Act::Delay(d) => {
                tokio::time::sleep(d).await;
                Ok(())
            }
            Act::Fail(e) => Err(e),
            Act::Panic => panic!("the test sink panicked on purpose"),
            Act::Hang => std::future::pending().await,
        };
        if result.is_ok() {
            this.inner.committed.lock().unwrap().push(ids);
        }
        this.inner.changed.notify_waiters();
        result
    }
}

/// The handle of a batcher of [`Ev`] rows into a [`MemorySink`].
pub type H = batch_core::Handle<Ev<'static>, MemorySink>;

/// Spawns a batcher into `sink` with seed 1, configured by `f`.
pub async fn spawn(
    sink: &MemorySink,
    f: impl FnOnce(batch_core::Builder<MemorySink>) -> batch_core::Builder<MemorySink>,
) -> H {
    f(batch_core::Batcher::builder(sink.clone()).seed(1))
        .spawn::<Ev>()
        .await
        .unwrap()
}

/// Asserts `accepted = committed + failed + in_buffer`.
pub fn conserved(s: &batch_core::Stats) {
    assert!(
        s.is_conserved(),
        "accepted != committed + failed + in_buffer: {s:?}"
    );
}
