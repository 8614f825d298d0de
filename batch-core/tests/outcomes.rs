//! What the batcher tells about every row: receipts, the commit hook with the user's
//! positions, and the error budget, against an in-memory sink (no server needed).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use batch_core::{CommittedBatch, Error, InsertError, Outcome, Position, SinkError};
use support::{spawn, Act, Ev, MemorySink};

fn id_of(row: &[u8]) -> u64 {
    u64::from_le_bytes(row[1..9].try_into().unwrap())
}

#[tokio::test(start_paused = true)]
async fn receipts_tell_each_row_its_outcome_through_bisection() {
    let sink = MemorySink::new();
    // Row 7 is refused, named by the sink; the rest commit.
    sink.rule(
        |batch| match support::ids(batch).iter().position(|&id| id == 7) {
            Some(i) => Act::Fail(SinkError::permanent("bad value 7").with_row(i)),
            None => Act::Commit,
        },
    );
    let h = spawn(&sink, |b| b.max_rows(10).isolate_bad_rows(true)).await;
    let mut receipts = Vec::new();
    for id in 0..25 {
        if id % 2 == 1 || id == 7 {
            receipts.push((id, h.insert_with_receipt(Ev::new(id)).await.unwrap()));
        } else {
            h.insert(Ev::new(id)).await.unwrap();
        }
    }
    let _ = h.flush().await;
    for (id, receipt) in receipts {
        match receipt.await {
            Outcome::Committed { batch } => {
                assert_ne!(id, 7);
                assert_eq!(batch, id / 10, "row {id}");
            }
            Outcome::Failed { cause, row } => {
                assert_eq!(id, 7);
                assert_eq!(id_of(&row), 7);
                assert!(cause.to_string().contains("bad value 7"), "{cause}");
            }
            other => panic!("row {id}: {other:?}"),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_receipt_reports_possibly_persisted_rows_as_such() {
    let sink = MemorySink::new();
    sink.script([Act::Fail(SinkError::possibly_persisted(
        "COMMIT answer lost",
    ))]);
    let h = spawn(&sink, |b| b.max_rows(5)).await;
    let receipt = h.insert_with_receipt(Ev::new(1)).await.unwrap();
    h.insert_many((2..5).map(Ev::new)).await.unwrap();
    let _ = h.flush().await;
    match receipt.await {
        Outcome::PossiblyPersisted {
            cause: Some(cause),
            row,
        } => {
            assert!(cause.is_possibly_persisted());
            assert_eq!(id_of(&row), 1);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn the_commit_hook_reports_every_committed_batch_with_its_positions() {
    let sink = MemorySink::new();
    // The second attempt of batch 1 fails once: it commits on the retry.
    let mut first = true;
    sink.rule(move |batch| {
        if batch.id() == 1 && std::mem::take(&mut first) {
            Act::Fail(SinkError::retryable("flaky"))
        } else {
            Act::Commit
        }
    });
    let seen: Arc<Mutex<Vec<CommittedBatch>>> = Arc::default();
    let hook = seen.clone();
    let h = spawn(&sink, |b| {
        b.max_rows(100)
            .on_commit(move |c| hook.lock().unwrap().push(c.clone()))
    })
    .await;
    // Partition 3, offsets 1000..1150, and partition 4 offsets 7..57 after.
    h.insert_many_at((0..150).map(Ev::new), Position::new(3, 1000))
        .await
        .unwrap();
    h.insert_many_at((150..200).map(Ev::new), Position::new(4, 7))
        .await
        .unwrap();
    // A row without a position.
    h.insert(Ev::new(200)).await.unwrap();
    h.insert_at(Ev::new(201), Position::new(3, 1150))
        .await
        .unwrap();
    let stats = h.close().await.unwrap();
    assert_eq!(stats.committed.rows, 202);
    let mut seen = seen.lock().unwrap().clone();
    seen.sort_by_key(|c| c.id);
    assert_eq!(seen.len(), 3);
    assert_eq!((seen[0].rows, seen[0].attempts), (100, 1));
    assert_eq!((seen[1].rows, seen[1].attempts), (100, 2));
    assert_eq!(seen[2].rows, 2);
    let ranges = |c: &CommittedBatch| {
        c.positions()
            .iter()
            .map(|p| (p.stream, p.first, p.last, p.rows.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(ranges(&seen[0]), [(3, 1000, 1099, 0..100)]);
    assert_eq!(
        ranges(&seen[1]),
        [(3, 1100, 1149, 0..50), (4, 7, 56, 50..100)]
    );
    assert_eq!(ranges(&seen[2]), [(3, 1150, 1150, 1..2)]);
}

#[tokio::test(start_paused = true)]
async fn the_error_budget_halts_the_batcher_and_delivers_what_it_accepted() {
    let sink = MemorySink::new();
    // Every row whose id ends in 9 is bad (named by the sink).
    sink.rule(
        |batch| match support::ids(batch).iter().position(|&id| id % 10 == 9) {
            Some(i) => Act::Fail(SinkError::permanent("bad").with_row(i)),
            None => Act::Commit,
        },
    );
    let dead = Arc::new(Mutex::new(0usize));
    let d = dead.clone();
    let h = spawn(&sink, |b| {
        b.max_rows(10)
            .isolate_bad_rows(true)
            .max_error_rows(2)
            .dead_letter(move |f| *d.lock().unwrap() += f.rows())
    })
    .await;
    // 30 rows: 3 bad ones, one more than the budget allows.
    h.insert_many((0..30).map(Ev::new)).await.unwrap();
    match h.flush().await {
        Err(Error::Halted { reason, stats }) => {
            assert!(reason.contains("max_error_rows"), "{reason}");
            assert_eq!(stats.halted, Some(reason));
            assert_eq!(stats.failed.rows, 3);
            assert_eq!(stats.committed.rows, 27, "nothing accepted is lost");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(*dead.lock().unwrap(), 3);
    match h.insert(Ev::new(99)).await {
        Err(InsertError::Halted { row, reason }) => {
            assert_eq!(row.id, 99);
            assert!(reason.contains("max_error_rows"));
        }
        other => panic!("{other:?}"),
    }
    assert!(h.is_closed());
    assert!(matches!(h.close().await, Err(Error::Halted { .. })));
}

#[tokio::test(start_paused = true)]
async fn within_the_error_budget_nothing_halts() {
    let sink = MemorySink::new();
    sink.rule(
        |batch| match support::ids(batch).iter().position(|&id| id == 5) {
            Some(i) => Act::Fail(SinkError::permanent("bad").with_row(i)),
            None => Act::Commit,
        },
    );
    let h = spawn(&sink, |b| {
        b.max_rows(10)
            .isolate_bad_rows(true)
            .max_error_rows(1)
            .dead_letter(|_| {})
    })
    .await;
    h.insert_many((0..20).map(Ev::new)).await.unwrap();
    let stats = h.flush().await.unwrap();
    assert_eq!((stats.committed.rows, stats.failed.rows), (19, 1));
    assert!(stats.halted.is_none());
    h.insert(Ev::new(20)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(h.close().await.unwrap().committed.rows, 20);
}

/// Runs 4 streams through a batcher with aligned batches, one task per stream inserting
/// offsets `from..to`, with `pace` deciding how it inserts; returns the ids of each
/// committed batch.
async fn aligned_run(from: u64, to: u64, bulk: bool) -> Vec<Vec<u64>> {
    let sink = MemorySink::new();
    let h = spawn(&sink, |b| {
        b.align_batches(250)
            .max_rows(100)
            .max_wait(Duration::from_millis(1))
    })
    .await;
    let mut tasks = Vec::new();
    for stream in 0..4u64 {
        let h = h.clone();
        tasks.push(tokio::spawn(async move {
            let id = |o: u64| stream * 10_000 + o;
            if bulk {
                let rows = (from..to).map(|o| Ev::new(id(o)));
                h.insert_many_at(rows, Position::new(stream, from))
                    .await
                    .unwrap();
                return;
            }
            for o in from..to {
                h.insert_at(Ev::new(id(o)), Position::new(stream, o))
                    .await
                    .unwrap();
                // Pauses longer than max_wait, at offsets that are no window boundary.
                if o % 37 == 0 {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                } else if o % 5 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let stats = h.close().await.unwrap();
    assert_eq!(stats.committed.rows, 4 * (to - from));
    sink.committed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn aligned_batches_repeat_on_a_replay_whatever_the_timing() {
    // The first run inserts offsets 0..1,000 row by row with pauses past max_wait; the
    // replay resumes at offset 500 (a window boundary, as a consumer's committed offsets
    // are) and inserts 500..1,500 in bulk.
    let first = aligned_run(0, 1_000, false).await;
    let replay = aligned_run(500, 1_500, true).await;
    let offset = |id: u64| id % 10_000;
    // Every batch stays within one window of one stream, cut at 100 rows.
    for batch in first.iter().chain(&replay) {
        let (lo, hi) = (batch[0], batch[batch.len() - 1]);
        assert_eq!(lo / 10_000, hi / 10_000, "one stream per batch");
        assert_eq!(offset(lo) / 250, offset(hi) / 250, "one window per batch");
        assert!(matches!(offset(lo) % 250, 0 | 100 | 200), "{lo}");
        assert_eq!(batch.len() as u64, hi - lo + 1);
    }
    let mut overlap_first: Vec<&Vec<u64>> = first.iter().filter(|b| offset(b[0]) >= 500).collect();
    let mut overlap_replay: Vec<&Vec<u64>> = replay
        .iter()
        .filter(|b| offset(b[b.len() - 1]) < 1_000)
        .collect();
    overlap_first.sort();
    overlap_replay.sort();
    // 4 streams × 2 windows × 3 batches, identical in both runs.
    assert_eq!(overlap_first.len(), 24);
    assert_eq!(overlap_first, overlap_replay);
}

#[tokio::test]
async fn aligned_batches_refuse_a_span_of_zero() {
    let sink = MemorySink::new();
    let err = batch_core::Batcher::builder(sink)
        .align_batches(0)
        .spawn::<Ev>()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("align_batches"), "{err}");
}
