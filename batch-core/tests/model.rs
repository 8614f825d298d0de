//! Property tests of the batcher's accounting against an in-memory sink that fails at
//! random (no server needed).
//!
//! - `random_interleavings_lose_and_duplicate_nothing`: random sequences of insert,
//!   try_insert, insert_many, flush, close and clock advances, with a sink that commits
//!   or fails (retryable or permanent) at random. After every step
//!   `accepted = committed + failed + in_buffer` and the buffered bytes are within
//!   `max_buffered_bytes` plus one row; at the end every accepted row id was
//!   committed exactly once or reported failed exactly once, and no other id was.
//! - `stats_are_exact_under_concurrent_producers`: producers on a multi-threaded runtime
//!   while another thread checks the identity on every snapshot.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use batch_core::{Batcher, Error, FailedBatch, InsertError, RetryPolicy, SinkError, Stats};
use proptest::prelude::*;
use support::{Act, Ev, MemorySink};

#[derive(Debug, Clone)]
enum Op {
    Insert,
    TryInsert,
    InsertMany(u8),
    Flush,
    Close,
    Advance(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => Just(Op::Insert),
        3 => Just(Op::TryInsert),
        2 => (1_u8..40).prop_map(Op::InsertMany),
        2 => Just(Op::Flush),
        1 => Just(Op::Close),
        3 => (0_u16..3000).prop_map(Op::Advance),
    ]
}

#[derive(Debug, Clone)]
struct Setup {
    max_rows: usize,
    max_bytes: usize,
    max_buffered: usize,
    max_in_flight: usize,
    attempts: u32,
    dead_letter: bool,
    isolate: bool,
    shards: usize,
    /// Per attempt: 0..=5 commit, 6..=7 retryable failure, 8 permanent failure,
    /// 9 commit after a delay (cycled).
    outcomes: Vec<u8>,
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        (1_usize..20, 13_usize..300, 13_usize..400, 1_usize..4),
        (1_u32..4, any::<bool>(), any::<bool>(), 1_usize..4),
        proptest::collection::vec(0_u8..10, 1..30),
    )
        .prop_map(
            |(
                (max_rows, max_bytes, max_buffered, max_in_flight),
                (attempts, dead_letter, isolate, shards),
                outcomes,
            )| Setup {
                max_rows,
                max_bytes,
                max_buffered,
                max_in_flight,
                attempts,
                dead_letter,
                isolate,
                shards,
                outcomes,
            },
        )
}

fn check(stats: &Stats) {
    assert!(stats.is_conserved(), "{stats:?}");
}

/// Collects the ids of failed batches from an `Err(Failed)`.
fn failed_ids(result: Result<Stats, Error>, into: &mut Vec<u64>) -> Stats {
    match result {
        Ok(stats) => stats,
        Err(Error::Failed(f)) => {
            for b in &f.batches {
                into.extend(support::ids(b.batch()));
            }
            f.stats
        }
        Err(e) => panic!("unexpected error: {e}"),
    }
}

async fn run(setup: Setup, ops: Vec<Op>) {
    let sink = MemorySink::new();
    let mut outcomes = setup.outcomes.clone().into_iter().cycle();
    sink.rule(move |_| match outcomes.next().unwrap_or(0) {
        6 | 7 => Act::Fail(SinkError::retryable("flaky")),
        8 => Act::Fail(SinkError::permanent("bad row").caused_by_data()),
        9 => Act::Delay(Duration::from_millis(700)),
        _ => Act::Commit,
    });
    let dead = Arc::new(Mutex::new(Vec::<u64>::new()));
    let mut builder = Batcher::builder(sink.clone())
        .seed(7)
        .max_rows(setup.max_rows)
        .max_bytes(setup.max_bytes)
        .max_buffered_bytes(setup.max_buffered)
        .max_in_flight(setup.max_in_flight)
        .max_wait(Duration::from_secs(1))
        .jitter(0.3)
        .producer_shards(setup.shards)
        .isolate_bad_rows(setup.isolate)
        .retry(
            RetryPolicy::default()
                .attempts(setup.attempts)
                .backoff(Duration::from_millis(10), Duration::from_millis(100)),
        );
    if setup.dead_letter {
        let dead = dead.clone();
        builder = builder.dead_letter(move |f: FailedBatch| {
            dead.lock().unwrap().extend(support::ids(f.batch()));
        });
    }
    let h = builder.spawn::<Ev>().await.unwrap();
    let other = h.clone();
    let mut next = 0_u64;
    let mut accepted = Vec::new();
    let mut failed = Vec::new();
    let mut closed = false;
    for op in ops {
        match op {
            Op::Insert => {
                let id = next;
                next += 1;
                loop {
                    // Failed batches held for the next flush keep their bytes in the
                    // budget: when they fill it, only a flush makes room.
                    let Ok(result) =
                        tokio::time::timeout(Duration::from_secs(3600), h.insert(Ev::new(id)))
                            .await
                    else {
                        assert!(!setup.dead_letter, "insert waits with nothing held");
                        let held = h.stats();
                        failed_ids(h.flush().await, &mut failed);
                        assert!(held.failed.rows > 0, "insert waited, nothing failed");
                        continue;
                    };
                    match result {
                        Ok(()) => accepted.push(id),
                        Err(InsertError::Closed(row)) if closed => assert_eq!(row.id, id),
                        Err(e) => panic!("insert {id}: {e}"),
                    }
                    break;
                }
            }
            Op::TryInsert => {
                let id = next;
                next += 1;
                match other.try_insert(Ev::new(id)) {
                    Ok(()) => accepted.push(id),
                    Err(InsertError::Full(row)) if !closed => assert_eq!(row.id, id),
                    Err(InsertError::Closed(row)) if closed => assert_eq!(row.id, id),
                    Err(e) => panic!("try_insert {id}: {e}"),
                }
            }
            Op::InsertMany(n) => {
                let ids: Vec<u64> = (next..next + u64::from(n)).collect();
                next += u64::from(n);
                let before = h.stats().accepted.rows;
                let Ok(result) = tokio::time::timeout(
                    Duration::from_secs(3600),
                    h.insert_many(ids.iter().map(|&id| Ev::new(id))),
                )
                .await
                else {
                    // Held failed batches fill the budget (see Op::Insert): the rows
                    // accepted before the wait stay accepted.
                    assert!(!setup.dead_letter, "insert_many waits with nothing held");
                    let took = usize::try_from(h.stats().accepted.rows - before).unwrap();
                    accepted.extend(&ids[..took]);
                    failed_ids(h.flush().await, &mut failed);
                    continue;
                };
                match result {
                    Ok(()) => accepted.extend(&ids),
                    Err(e) if closed && e.error.is_closed() => {
                        accepted.extend(&ids[..e.accepted]);
                        assert_eq!(e.error.row().id, ids[e.accepted]);
                        assert_eq!(e.rest.len(), ids.len() - e.accepted - 1);
                    }
                    Err(e) => panic!("insert_many: {e}"),
                }
            }
            Op::Flush => {
                let stats = failed_ids(h.flush().await, &mut failed);
                check(&stats);
                if !closed {
                    // Everything accepted before the flush has an outcome.
                    assert_eq!(stats.in_buffer.rows, 0, "{stats:?}");
                }
            }
            Op::Close => {
                let stats = failed_ids(other.close().await, &mut failed);
                closed = true;
                check(&stats);
                assert_eq!(stats.in_buffer.rows, 0);
            }
            Op::Advance(ms) => tokio::time::sleep(Duration::from_millis(u64::from(ms))).await,
        }
        let stats = h.stats();
        check(&stats);
        assert_eq!(stats.accepted.rows, accepted.len() as u64);
        // The memory bound, with one row of slack.
        let bound = (setup.max_buffered + support::EMPTY_ROW) as u64;
        assert!(stats.in_buffer.bytes <= bound, "{stats:?} over {bound}");
    }
    let stats = failed_ids(h.close().await, &mut failed);
    failed.extend(dead.lock().unwrap().iter());
    check(&stats);
    assert_eq!(stats.in_buffer, Default::default());
    let committed = sink.committed_ids();
    let committed_set: BTreeSet<u64> = committed.iter().copied().collect();
    let failed_set: BTreeSet<u64> = failed.iter().copied().collect();
    assert_eq!(
        committed_set.len(),
        committed.len(),
        "a row was committed twice"
    );
    assert_eq!(
        failed_set.len(),
        failed.len(),
        "a row was reported failed twice"
    );
    assert!(
        committed_set.is_disjoint(&failed_set),
        "a row both committed and failed"
    );
    let accepted_set: BTreeSet<u64> = accepted.iter().copied().collect();
    let outcome: BTreeSet<u64> = committed_set.union(&failed_set).copied().collect();
    assert_eq!(
        outcome, accepted_set,
        "every accepted row has exactly one outcome"
    );
    assert_eq!(stats.committed.rows, committed.len() as u64);
    assert_eq!(stats.failed.rows, failed.len() as u64);
    assert_eq!(stats.accepted.rows, accepted.len() as u64);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_interleavings_lose_and_duplicate_nothing(
        setup in setup(),
        ops in proptest::collection::vec(op(), 1..60),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        runtime.block_on(run(setup, ops));
    }
}

#[test]
fn stats_are_exact_under_concurrent_producers() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let sink = MemorySink::new();
        let mut n = 0_u64;
        sink.rule(move |_| {
            n += 1;
            if n.is_multiple_of(5) {
                Act::Fail(SinkError::permanent("every fifth batch"))
            } else {
                Act::Commit
            }
        });
        let h = Batcher::builder(sink.clone())
            .max_rows(500)
            .max_buffered_bytes(64 << 10)
            .max_wait(Duration::from_millis(5))
            .retry(RetryPolicy::never())
            .spawn::<Ev>()
            .await
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let checker = std::thread::spawn({
            let h = h.clone();
            let stop = stop.clone();
            move || {
                let mut snapshots = 0_u64;
                while !stop.load(Ordering::Relaxed) {
                    check(&h.stats());
                    snapshots += 1;
                }
                snapshots
            }
        });
        let producers: Vec<_> = (0..4_u64)
            .map(|p| {
                let h = h.clone();
                tokio::spawn(async move {
                    for i in 0..5_000 {
                        h.insert(Ev::new(p * 1_000_000 + i)).await.unwrap();
                    }
                })
            })
            .collect();
        for p in producers {
            p.await.unwrap();
        }
        let mut failed = Vec::new();
        let stats = failed_ids(h.close().await, &mut failed);
        stop.store(true, Ordering::Relaxed);
        assert!(checker.join().unwrap() > 0);
        check(&stats);
        assert_eq!(stats.accepted.rows, 20_000);
        let committed = sink.committed_ids();
        assert_eq!(committed.len() + failed.len(), 20_000);
        let all: BTreeSet<u64> = committed.iter().chain(&failed).copied().collect();
        assert_eq!(all.len(), 20_000);
    });
}
