//! Producer cost per row: rows inserted through a batcher handle (encoded on the
//! producer's task into sharded buffers, handed over in chunks) against one tokio mpsc
//! send per row, for 1, 4 and 16 producing tasks, in the same run.
//!
//! `batcher_insert_many` is the same through `Handle::insert_many`, 256 rows a call.
//! `batcher_receipt` is `batcher` through `Handle::insert_with_receipt`: each row also
//! gets a receipt (a oneshot channel the worker answers when the batch is settled),
//! dropped by the producer as soon as it has it.
//!
//! Two floors no producer path can go under, on one thread: `encode_only` encodes the
//! rows into a reused buffer and nothing else; `encode_locked` also takes an uncontended
//! lock around each row, as any buffer shared with a consumer needs.
//!
//! Both sides move the same small row to a consumer that discards it. Each iteration
//! inserts `ROWS` rows in total and times until every producer is done.
//!
//! Run: `cargo bench -p batch-core --bench producers -- --warm-up-time 1 --measurement-time 3`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use batch_core::{
    Batch, BatchRow, Batcher, ChunkFull, Column, EncodeError, EncodeRow, Format, Handle, RowBuffer,
    Schema, Sender, Sink, SinkError, ValueKind,
};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tokio::runtime::Runtime;
use tokio::sync::mpsc;

/// Rows per iteration, split evenly over the producers.
const ROWS: u64 = 64_000;

/// A row like a small event: an id, a timestamp and a short label.
#[derive(Debug, Clone, Copy)]
struct Event<'a> {
    id: u64,
    at: u64,
    label: &'a str,
}

#[derive(Debug)]
struct Bin;

impl Format for Bin {
    type Column = ();
    const NAME: &'static str = "bench binary";
    fn begin_row(_: u16, _: &mut Vec<u8>) {}
    fn encode_enum(_: &'static str, v: i16, _: &(), buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        buf.extend_from_slice(&v.to_le_bytes());
        Ok(())
    }
}

impl BatchRow for Event<'_> {
    const TABLE: &'static str = "events";
    const COLUMNS: &'static [Column] = &[
        Column::new("id", "id", "u64", None, ValueKind::U64),
        Column::new("at", "at", "u64", None, ValueKind::U64),
        Column::new("label", "label", "&str", None, ValueKind::String),
    ];
    type Static = Event<'static>;
}

impl EncodeRow<Bin> for Event<'_> {
    #[inline]
    fn encode_row(&self, _: &[()], buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        buf.extend_from_slice(&self.id.to_le_bytes());
        buf.extend_from_slice(&self.at.to_le_bytes());
        buf.push(u8::try_from(self.label.len()).map_err(|_| EncodeError::Other("long".into()))?);
        buf.extend_from_slice(self.label.as_bytes());
        Ok(())
    }
}

/// Accepts every batch and discards it.
#[derive(Debug, Default)]
struct Discard(Vec<()>);

impl Sink for Discard {
    type Format = Bin;
    type Sender = Discard;
    async fn prepare(self, schema: Schema) -> Result<Discard, SinkError> {
        Ok(Discard(vec![(); schema.columns.len()]))
    }
}

impl Sender for Discard {
    type Format = Bin;
    fn columns(&self) -> &[()] {
        &self.0
    }
    async fn send(&self, batch: &Batch) -> Result<(), SinkError> {
        std::hint::black_box(batch.len());
        Ok(())
    }
}

fn event(id: u64) -> Event<'static> {
    Event {
        id,
        at: 1_700_000_000_000 + id,
        label: "page_view",
    }
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Spawns `producers` tasks, each given its index and its share of `ROWS`, and returns
/// the time until all of them finished.
async fn run_producers<F, Fut>(producers: u64, produce: F) -> Duration
where
    F: Fn(u64, u64) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let per = ROWS / producers;
    let start = Instant::now();
    let tasks: Vec<_> = (0..producers)
        .map(|p| tokio::spawn(produce(p, per)))
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    start.elapsed()
}

async fn batcher_round(handle: &Handle<Event<'static>, Discard>, producers: u64) -> Duration {
    let took = run_producers(producers, |p, per| {
        let h = handle.clone();
        async move {
            for i in 0..per {
                h.insert(event(p * per + i)).await.unwrap();
            }
        }
    })
    .await;
    // Not timed: deliver what is buffered so the next round starts empty.
    handle.flush().await.unwrap();
    took
}

/// Like [`batcher_round`], through `insert_with_receipt`; the receipts are dropped.
async fn batcher_receipt_round(
    handle: &Handle<Event<'static>, Discard>,
    producers: u64,
) -> Duration {
    let took = run_producers(producers, |p, per| {
        let h = handle.clone();
        async move {
            for i in 0..per {
                let receipt = h.insert_with_receipt(event(p * per + i)).await.unwrap();
                drop(receipt);
            }
        }
    })
    .await;
    handle.flush().await.unwrap();
    took
}

/// Rows per `insert_many` call in the `batcher_insert_many` rounds.
const MANY: u64 = 256;

/// Like [`batcher_round`], but each producer hands over `MANY` rows per call, so the
/// shard lock is taken once per 64 rows instead of once per row.
async fn batcher_many_round(handle: &Handle<Event<'static>, Discard>, producers: u64) -> Duration {
    let took = run_producers(producers, |p, per| {
        let h = handle.clone();
        async move {
            let mut i = 0;
            while i < per {
                let end = (i + MANY).min(per);
                h.insert_many((i..end).map(|i| event(p * per + i)))
                    .await
                    .unwrap();
                i = end;
            }
        }
    })
    .await;
    handle.flush().await.unwrap();
    took
}

/// The floor of any producer path: the rows encoded into a [`RowBuffer`] on one thread,
/// frozen into a chunk every 64 KiB, with no lock, accounting or hand-off.
fn encode_only_round() -> Duration {
    let start = Instant::now();
    let mut buf = RowBuffer::with_capacity(68 << 10, 4096);
    for i in 0..ROWS {
        buf.push_row(|b| {
            EncodeRow::<Bin>::encode_row(&event(i), &[(), (), ()], b).map_err(|_| ChunkFull)
        })
        .unwrap();
        if buf.len() >= 64 << 10 {
            std::hint::black_box(buf.take());
        }
    }
    std::hint::black_box(buf.take());
    start.elapsed()
}

/// [`encode_only_round`] with the buffer behind an uncontended lock taken for each row:
/// what any producer path that shares its buffer with a consumer pays at least, before
/// accounting, limits or hand-off.
fn encode_locked_round() -> Duration {
    let shared = parking_lot::Mutex::new(RowBuffer::with_capacity(68 << 10, 4096));
    let start = Instant::now();
    for i in 0..ROWS {
        let mut buf = shared.lock();
        buf.push_row(|b| {
            EncodeRow::<Bin>::encode_row(&event(i), &[(), (), ()], b).map_err(|_| ChunkFull)
        })
        .unwrap();
        if buf.len() >= 64 << 10 {
            std::hint::black_box(buf.take());
        }
    }
    std::hint::black_box(shared.lock().take());
    start.elapsed()
}

async fn mpsc_round(producers: u64) -> Duration {
    let (tx, mut rx) = mpsc::channel::<Event<'static>>(4096);
    let consumer = tokio::spawn(async move {
        let mut n = 0_u64;
        while let Some(row) = rx.recv().await {
            n += std::hint::black_box(row).id & 1;
        }
        n
    });
    let took = run_producers(producers, |p, per| {
        let tx = tx.clone();
        async move {
            for i in 0..per {
                tx.send(event(p * per + i)).await.unwrap();
            }
        }
    })
    .await;
    drop(tx);
    consumer.await.unwrap();
    took
}

/// Runs `iters` rounds and adds up the time each round measured itself.
fn timed<F, Fut>(rt: &Runtime, iters: u64, round: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Duration>,
{
    rt.block_on(async {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            total += round().await;
        }
        total
    })
}

fn producers(c: &mut Criterion) {
    let rt = runtime();
    let handle = rt.block_on(async {
        Batcher::builder(Discard::default())
            .max_rows(100_000)
            .max_wait(Duration::from_millis(100))
            .spawn::<Event>()
            .await
            .unwrap()
    });
    let mut group = c.benchmark_group("producers");
    group.throughput(Throughput::Elements(ROWS));
    group.bench_function(BenchmarkId::new("encode_only", 1), |b| {
        b.iter_custom(|iters| (0..iters).map(|_| encode_only_round()).sum());
    });
    group.bench_function(BenchmarkId::new("encode_locked", 1), |b| {
        b.iter_custom(|iters| (0..iters).map(|_| encode_locked_round()).sum());
    });
    for p in [1_u64, 4, 16] {
        group.bench_function(BenchmarkId::new("batcher", p), |b| {
            b.iter_custom(|iters| timed(&rt, iters, || batcher_round(&handle, p)));
        });
        group.bench_function(BenchmarkId::new("batcher_receipt", p), |b| {
            b.iter_custom(|iters| timed(&rt, iters, || batcher_receipt_round(&handle, p)));
        });
        group.bench_function(BenchmarkId::new("batcher_insert_many", p), |b| {
            b.iter_custom(|iters| timed(&rt, iters, || batcher_many_round(&handle, p)));
        });
        group.bench_function(BenchmarkId::new("mpsc_per_row", p), |b| {
            b.iter_custom(|iters| timed(&rt, iters, || mpsc_round(p)));
        });
    }
    group.finish();
    rt.block_on(handle.close()).unwrap();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = producers
}
criterion_main!(benches);
