//! The batcher at its edges, against an in-memory sink (no server needed): cancelled
//! flushes and closes, failed batches held in the budget, a worker whose runtime is gone,
//! attempts cut off by their deadline, outcomes that are possibly persisted, memory a sink
//! holds while sending, and the default retry policy through an outage. Timing runs on
//! Tokio's paused clock.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use batch_core::{
    Batcher, Error, FailureCause, InsertError, RetryPolicy, SinkError, SinkErrorKind,
};
use support::{conserved, spawn, Act, Ev, MemorySink, EMPTY_ROW};
use tokio::time::Instant;

fn failed_rows(e: &Error) -> usize {
    e.failed_batches().iter().map(|f| f.rows()).sum()
}

#[tokio::test(start_paused = true)]
async fn a_close_cut_off_by_a_timeout_loses_no_failed_batch() {
    let sink = MemorySink::new();
    sink.rule(|_| Act::Fail(SinkError::permanent("refused")));
    sink.close_gate();
    let h = spawn(&sink, |b| b.max_rows(10)).await;
    h.insert_many((0..25).map(Ev::new)).await.unwrap();
    // The sends wait at the gate: the close cannot finish within the timeout.
    assert!(tokio::time::timeout(Duration::from_secs(1), h.close())
        .await
        .is_err());
    sink.open_gate();
    // The worker finishes without the first caller; the second close gets the failures.
    let err = h.close().await.unwrap_err();
    assert_eq!(failed_rows(&err), 25);
    // And only once.
    let stats = h.close().await.unwrap();
    assert_eq!(stats.failed.rows, 25);
    conserved(&stats);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_flush_loses_no_failed_batch() {
    let sink = MemorySink::new();
    sink.rule(|_| Act::Fail(SinkError::permanent("refused")));
    sink.close_gate();
    let h = spawn(&sink, |b| b.max_rows(10)).await;
    h.insert_many((0..10).map(Ev::new)).await.unwrap();
    assert!(tokio::time::timeout(Duration::from_secs(1), h.flush())
        .await
        .is_err());
    sink.open_gate();
    sink.until(|s| !s.attempts().is_empty()).await;
    // Let the cancelled flush be answered (to nobody).
    tokio::time::sleep(Duration::from_millis(10)).await;
    let err = h.flush().await.unwrap_err();
    assert_eq!(failed_rows(&err), 10);
    assert_eq!(h.flush().await.unwrap().failed.rows, 10);
}

#[tokio::test(start_paused = true)]
async fn failed_batches_held_for_a_flush_keep_their_bytes_in_the_budget() {
    let sink = MemorySink::new();
    sink.rule(|_| Act::Fail(SinkError::permanent("refused")));
    let budget = 40 * EMPTY_ROW;
    let h = spawn(&sink, |b| b.max_rows(10).max_buffered_bytes(budget)).await;
    let mut id = 0;
    // Rows fail and are held without a dead-letter handler: soon there is no room.
    let full = loop {
        match h.try_insert(Ev::new(id)) {
            Ok(()) => id += 1,
            Err(InsertError::Full(_)) => break true,
            Err(e) => panic!("{e}"),
        }
        if id > 10_000 {
            break false;
        }
        tokio::task::yield_now().await;
    };
    assert!(full, "held failures must use up the budget");
    let held = h.stats();
    assert!(
        held.in_buffer.bytes + held.failed.bytes >= budget as u64,
        "{held:?}"
    );
    // A flush hands them over and makes room.
    let err = h.flush().await.unwrap_err();
    assert!(failed_rows(&err) > 0);
    h.try_insert(Ev::new(id)).unwrap();
    drop(err);
    conserved(&h.stats());
}

#[test]
fn a_runtime_that_shuts_down_closes_every_handle() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sink = MemorySink::new();
    sink.close_gate();
    let h = runtime.block_on(async {
        let h = spawn(&sink, |b| b.max_rows(5).max_buffered_bytes(20 * EMPTY_ROW)).await;
        h.insert_many((0..10).map(Ev::new)).await.unwrap();
        h
    });
    // A producer on another runtime waits for room that only the worker can make.
    let waiter = {
        let h = h.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let mut id = 100;
                loop {
                    match tokio::time::timeout(Duration::from_secs(30), h.insert(Ev::new(id))).await
                    {
                        Ok(Ok(())) => id += 1,
                        Ok(Err(e)) => return Ok(e.is_closed()),
                        Err(_) => return Err("insert hung after the worker was gone"),
                    }
                }
            })
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    drop(runtime);
    assert_eq!(waiter.join().unwrap(), Ok(true));
    // Before, try_insert kept accepting rows nobody would send.
    assert!(h.try_insert(Ev::new(7)).unwrap_err().is_closed());
    assert!(h.is_closed());
    let stats = h.stats();
    assert!(stats.halted.is_some(), "{stats:?}");
    conserved(&stats);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    match rt.block_on(h.close()) {
        Err(Error::Stopped { stats }) => assert!(stats.in_buffer.rows > 0),
        other => panic!("{other:?}"),
    }
    assert!(rt.block_on(h.ready()).is_err());
}

#[tokio::test(start_paused = true)]
async fn an_attempt_cut_off_by_its_timeout_is_possibly_persisted_and_not_resent() {
    let sink = MemorySink::new();
    sink.script([Act::Hang]);
    let h = spawn(&sink, |b| {
        b.retry(RetryPolicy::default().attempt_timeout(Duration::from_secs(2)))
    })
    .await;
    h.insert_many((0..10).map(Ev::new)).await.unwrap();
    let started = Instant::now();
    let err = h.flush().await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(sink.attempts().len(), 1, "never sent again");
    let failed = &err.failed_batches()[0];
    assert!(matches!(failed.cause(), FailureCause::PossiblyPersisted(_)));
    assert!(failed.cause().is_possibly_persisted());
    let stats = h.close().await.unwrap();
    assert_eq!(stats.possibly_persisted.rows, 10);
    assert_eq!(stats.failed.rows, 10);
    conserved(&stats);
}

#[tokio::test(start_paused = true)]
async fn the_retry_deadline_bounds_the_attempt_that_is_running() {
    let sink = MemorySink::new();
    sink.script([Act::Hang]);
    let policy = RetryPolicy::default()
        .no_attempt_timeout()
        .deadline(Duration::from_secs(5));
    let h = spawn(&sink, |b| b.retry(policy)).await;
    h.insert(Ev::new(1)).await.unwrap();
    let started = Instant::now();
    let err = h.flush().await.unwrap_err();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(5) && took < Duration::from_secs(7),
        "{took:?}"
    );
    assert!(err.failed_batches()[0].cause().is_possibly_persisted());
}

#[tokio::test(start_paused = true)]
async fn a_possibly_persisted_batch_is_neither_retried_nor_split() {
    let sink = MemorySink::new();
    sink.script([Act::Fail(SinkError::possibly_persisted(
        "the connection was lost during COMMIT",
    ))]);
    let h = spawn(&sink, |b| b.max_rows(100).isolate_bad_rows(true)).await;
    h.insert_many((0..100).map(Ev::new)).await.unwrap();
    let err = h.flush().await.unwrap_err();
    assert_eq!(sink.attempts().len(), 1);
    assert_eq!(err.failed_batches().len(), 1);
    assert_eq!(err.failed_batches()[0].rows(), 100);
    let e = err.failed_batches()[0].cause().sink_error().unwrap();
    assert_eq!(e.kind(), SinkErrorKind::PossiblyPersisted);
    assert!(sink.committed().is_empty());
}

#[tokio::test(start_paused = true)]
async fn the_default_policy_rides_out_a_thirty_second_outage() {
    let sink = MemorySink::new();
    let back_at = Instant::now() + Duration::from_secs(30);
    sink.rule(move |_| {
        if Instant::now() < back_at {
            Act::Fail(SinkError::retryable("connection refused"))
        } else {
            Act::Commit
        }
    });
    let h = spawn(&sink, |b| b).await;
    h.insert_many((0..1000).map(Ev::new)).await.unwrap();
    let stats = h.close().await.unwrap();
    assert_eq!(stats.committed.rows, 1000);
    assert!(stats.retries >= 5, "{stats:?}");
    // Backoff is capped at 5 s: the batch commits soon after the server is back.
    assert!(Instant::now() < back_at + Duration::from_secs(6));
}

#[tokio::test(start_paused = true)]
async fn memory_a_sink_holds_while_sending_is_reserved_from_the_budget() {
    let sink = MemorySink::new();
    // The sink holds twice a batch's bytes while sending it.
    sink.send_memory_factor(2);
    sink.rule(|_| Act::Delay(Duration::from_millis(100)));
    let h = spawn(&sink, |b| {
        b.max_rows(100)
            .max_in_flight(4)
            .max_buffered_bytes(400 * EMPTY_ROW)
    })
    .await;
    h.insert_many((0..2000).map(Ev::new)).await.unwrap();
    let stats = h.close().await.unwrap();
    assert_eq!(stats.committed.rows, 2000);
    // 4 batches in flight would hold 4 × 3 × 100 rows, three times the budget: at most
    // one extra send fits beside the batches buffered.
    assert!(sink.max_concurrent() <= 2, "{}", sink.max_concurrent());
}

/// 400 rows in batches of 100 into a sink that says it needs 5 × a batch's bytes to
/// send it, then waits at its closed gate: how many sends get under way.
async fn sends_under_way(holds_while_sending: Option<usize>) -> usize {
    let sink = MemorySink::new();
    sink.send_memory_factor(5);
    if let Some(bytes) = holds_while_sending {
        sink.holds_while_sending(bytes);
    }
    sink.close_gate();
    let h = spawn(&sink, |b| {
        b.max_rows(100)
            .max_in_flight(4)
            .max_wait(Duration::from_secs(3600))
            .max_buffered_bytes(1200 * EMPTY_ROW)
    })
    .await;
    h.insert_many((0..400).map(Ev::new)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let under_way = sink.max_concurrent();
    sink.open_gate();
    let stats = h.close().await.unwrap();
    assert_eq!(stats.committed.rows, 400);
    conserved(&stats);
    under_way
}

#[tokio::test(start_paused = true)]
async fn memory_a_sink_gives_back_while_it_sends_serves_the_next_delivery() {
    // The rows take 400 of the 1,200 rows' worth of budget and each send reserves 500
    // more: one send at a time (the first always starts).
    assert_eq!(sends_under_way(None).await, 1);
    // A sink that says it holds nothing more once it started gives its 500 back, so
    // every batch gets under way.
    assert_eq!(sends_under_way(Some(0)).await, 4);
}

#[tokio::test(start_paused = true)]
async fn ready_waits_for_room_and_a_cancelled_wait_keeps_the_row() {
    let sink = MemorySink::new();
    sink.close_gate();
    let h = spawn(&sink, |b| b.max_rows(5).max_buffered_bytes(10 * EMPTY_ROW)).await;
    h.insert_many((0..10).map(Ev::new)).await.unwrap();
    let row = Ev::new(99);
    assert!(h.try_insert(row).unwrap_err().is_full());
    // Cancelling `ready` costs nothing: the row is still ours.
    assert!(tokio::time::timeout(Duration::from_secs(1), h.ready())
        .await
        .is_err());
    sink.open_gate();
    h.ready().await.unwrap();
    h.try_insert(row).unwrap();
    let stats = h.close().await.unwrap();
    assert_eq!(stats.committed.rows, 11);
}

#[tokio::test(start_paused = true)]
async fn spawn_gives_up_on_a_schema_check_that_never_answers() {
    let sink = MemorySink::new();
    sink.hang_prepare();
    let started = Instant::now();
    let err = Batcher::builder(sink)
        .prepare_timeout(Duration::from_secs(3))
        .spawn::<Ev>()
        .await
        .unwrap_err();
    assert_eq!(started.elapsed(), Duration::from_secs(3));
    assert!(
        err.to_string().contains("did not finish within 3s"),
        "{err}"
    );
}

/// What the test sink makes of a batch before sending it, kept for the retries.
#[derive(Debug)]
struct Made(u64);

/// A sink keeps what it made of a batch for the next attempt of the same delivery
/// ([`batch_core::Batch::keep_encoded`]); the batcher forgets it when the delivery ends,
/// committed or failed for good, so it never outlives the memory reserved for the send.
#[tokio::test(start_paused = true)]
async fn what_a_sink_keeps_for_retries_lives_as_long_as_the_delivery() {
    use std::sync::{Arc, Mutex, Weak};

    let kept: Arc<Mutex<Vec<Weak<Made>>>> = Arc::default();
    let reused = Arc::new(Mutex::new(Vec::new()));
    let sink = MemorySink::new();
    {
        let (kept, reused) = (kept.clone(), reused.clone());
        // Batch 0 fails once, then commits; batch 1 fails every attempt.
        sink.rule(move |batch| match batch.encoded::<Made>() {
            None => {
                let made = Arc::new(Made(batch.id()));
                kept.lock().unwrap().push(Arc::downgrade(&made));
                batch.keep_encoded(made);
                Act::Fail(SinkError::retryable("the first attempt fails"))
            }
            Some(made) => {
                reused.lock().unwrap().push((batch.id(), made.0));
                if batch.id() == 0 {
                    Act::Commit
                } else {
                    Act::Fail(SinkError::retryable("and so do the retries"))
                }
            }
        });
    }
    let policy = RetryPolicy::default()
        .attempts(3)
        .backoff(Duration::from_millis(1), Duration::from_millis(1));
    let h = spawn(&sink, |b| b.max_rows(10).retry(policy)).await;
    h.insert_many((0..20).map(Ev::new)).await.unwrap();
    let err = h.close().await.unwrap_err();
    assert_eq!(failed_rows(&err), 10);

    // Each batch was made once; each retry got what its first attempt made.
    assert_eq!(kept.lock().unwrap().len(), 2);
    let mut reused = reused.lock().unwrap().clone();
    reused.sort_unstable();
    assert_eq!(reused, [(0, 0), (1, 1), (1, 1)]);
    // And nothing is kept now: not by the committed batch, nor by the failed one that
    // the error hands back.
    assert!(kept.lock().unwrap().iter().all(|w| w.upgrade().is_none()));
    let failed = &err.failed_batches()[0];
    assert!(failed.batch().encoded::<Made>().is_none());
}
