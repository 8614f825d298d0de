//! The batcher against an in-memory sink (no server needed). Timing tests run on Tokio's
//! paused clock, so they are deterministic and take no real time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use batch_core::{
    Batcher, Error, FailedBatch, FailureCause, InsertError, RetryPolicy, SinkError, SinkErrorKind,
    Stats,
};
use support::{conserved, spawn, Act, Ev, MemorySink, EMPTY_ROW, H};
use tokio::time::Instant;

/// Lets the worker and the delivery tasks run, without moving the paused clock.
async fn settle() {
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn max_rows_seals_a_batch() {
    let sink = MemorySink::new();
    let h = spawn(&sink, |b| {
        b.max_rows(10).max_wait(Duration::from_secs(3600))
    })
    .await;
    for id in 0..25 {
        h.insert(Ev::new(id)).await.unwrap();
    }
    sink.until_committed(2).await;
    settle().await;
    assert_eq!(
        sink.committed(),
        vec![(0..10).collect::<Vec<_>>(), (10..20).collect()]
    );
    let s = h.stats();
    conserved(&s);
    assert_eq!(s.accepted.rows, 25);
    assert_eq!(s.committed.rows, 20);
    assert_eq!(s.in_buffer.rows, 5);
    let s = h.close().await.unwrap();
    assert_eq!(s.committed.rows, 25);
    assert_eq!(sink.committed()[2], (20..25).collect::<Vec<_>>());
}

#[tokio::test(start_paused = true)]
async fn max_bytes_seals_before_the_limit() {
    let sink = MemorySink::new();
    // Rows of 13 bytes: 7 fit in 100 bytes, the 8th would not.
    let h = spawn(&sink, |b| {
        b.max_bytes(100).max_wait(Duration::from_secs(3600))
    })
    .await;
    for id in 0..14 {
        h.insert(Ev::new(id)).await.unwrap();
    }
    sink.until_committed(2).await;
    let committed = sink.committed();
    assert_eq!(committed[0], (0..7).collect::<Vec<_>>());
    assert_eq!(committed[1], (7..14).collect::<Vec<_>>());
    let s = h.close().await.unwrap();
    assert_eq!(s.committed.bytes, 14 * EMPTY_ROW as u64);
    assert!(sink.attempts().iter().all(|a| a.rows * EMPTY_ROW <= 100));
}

#[tokio::test(start_paused = true)]
async fn max_wait_counts_from_the_first_row() {
    let sink = MemorySink::new();
    let h = spawn(&sink, |b| b.max_wait(Duration::from_secs(2))).await;
    let start = Instant::now();
    h.insert(Ev::new(1)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    h.insert(Ev::new(2)).await.unwrap();
    sink.until_committed(1).await;
    let attempt = &sink.attempts()[0];
    assert_eq!(attempt.at - start, Duration::from_secs(2));
    assert_eq!(attempt.ids, vec![1, 2]);
    // The next batch's clock starts with its own first row.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let second = Instant::now();
    h.insert(Ev::new(3)).await.unwrap();
    sink.until_committed(2).await;
    assert_eq!(sink.attempts()[1].at - second, Duration::from_secs(2));
    conserved(&h.close().await.unwrap());
}

#[tokio::test(start_paused = true)]
async fn jitter_stretches_max_wait_within_its_bounds() {
    let sink = MemorySink::new();
    let h = spawn(&sink, |b| b.max_wait(Duration::from_secs(1)).jitter(0.5)).await;
    let mut waits = Vec::new();
    for n in 0..40_usize {
        let start = Instant::now();
        h.insert(Ev::new(n as u64)).await.unwrap();
        sink.until_committed(n + 1).await;
        waits.push(sink.attempts()[n].at - start);
    }
    let min = *waits.iter().min().unwrap();
    let max = *waits.iter().max().unwrap();
    assert!(min >= Duration::from_secs(1), "{waits:?}");
    assert!(max <= Duration::from_millis(1500), "{waits:?}");
    // The waits spread over the range (40 uniform samples).
    assert!(max - min >= Duration::from_millis(250), "{waits:?}");
    h.close().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn flush_returns_after_everything_before_it_is_committed() {
    let sink = MemorySink::new();
    let h = spawn(&sink, |b| b.max_in_flight(1)).await;
    for id in 0..5 {
        h.insert(Ev::new(id)).await.unwrap();
    }
    sink.script([Act::Delay(Duration::from_millis(300))]);
    let s = h.flush().await.unwrap();
    conserved(&s);
    assert_eq!(s.committed.rows, 5);
    assert_eq!(s.in_buffer.rows, 0);
    assert_eq!(s.batches_committed, 1);
    assert_eq!(sink.committed_ids(), vec![0, 1, 2, 3, 4]);
    // A flush with nothing buffered returns at once.
    assert_eq!(h.flush().await.unwrap().committed.rows, 5);
}

#[tokio::test(start_paused = true)]
async fn rows_that_borrow_work_through_a_long_lived_handle() {
    let sink = MemorySink::new();
    let h = spawn(&sink, |b| b).await;
    for id in 0..3 {
        let payload = format!("payload {id}");
        h.insert(Ev::with(id, &payload)).await.unwrap();
    }
    let s = h.close().await.unwrap();
    assert_eq!(s.committed.rows, 3);
    assert_eq!(s.committed.bytes, 3 * (EMPTY_ROW as u64 + 9));
}

#[tokio::test(start_paused = true)]
async fn memory_bound_makes_insert_wait_until_a_batch_commits() {
    let sink = MemorySink::new();
    sink.close_gate();
    // 10 rows of 13 bytes fit in 130 bytes; batches of 5 rows, one in flight.
    let h = spawn(&sink, |b| {
        b.max_buffered_bytes(130)
            .max_rows(5)
            .max_in_flight(1)
            .producer_shards(1)
    })
    .await;
    for id in 0..10 {
        h.insert(Ev::new(id)).await.unwrap();
    }
    let s = h.stats();
    assert!(s.in_buffer.bytes <= 130);
    // try_insert hands the row back.
    let InsertError::Full(row) = h.try_insert(Ev::new(10)).unwrap_err() else {
        panic!("expected Full");
    };
    assert_eq!(row, Ev::new(10));
    // insert waits...
    let waiting = tokio::spawn({
        let h = h.clone();
        async move { h.insert(Ev::new(10)).await }
    });
    settle().await;
    assert!(!waiting.is_finished());
    assert_eq!(h.stats().accepted.rows, 10);
    // ...until a batch commits.
    sink.open_gate();
    waiting.await.unwrap().unwrap();
    let s = h.close().await.unwrap();
    assert_eq!(s.committed.rows, 11);
    let mut ids = sink.committed_ids();
    ids.sort_unstable();
    assert_eq!(ids, (0..11).collect::<Vec<_>>());
}

#[tokio::test(start_paused = true)]
async fn the_bound_is_kept_with_one_row_of_slack() {
    let sink = MemorySink::new();
    sink.close_gate();
    // 100 is not a multiple of 13: the row that crosses the bound is accepted.
    let h = spawn(&sink, |b| b.max_buffered_bytes(100).max_rows(3)).await;
    let mut accepted = 0;
    while h.try_insert(Ev::new(accepted)).is_ok() {
        accepted += 1;
        let s = h.stats();
        assert!(s.in_buffer.bytes <= 100 + EMPTY_ROW as u64, "{s:?}");
    }
    assert_eq!(accepted, 8); // 7 rows = 91 bytes < 100, the 8th crosses to 104
    sink.open_gate();
    assert_eq!(h.close().await.unwrap().committed.rows, 8);
}

#[tokio::test(start_paused = true)]
async fn a_row_larger_than_max_bytes_is_refused_with_both_sizes() {
    let sink = MemorySink::new();
    let h = spawn(&sink, |b| b.max_bytes(50)).await;
    let payload = "x".repeat(40);
    let err = h.insert(Ev::with(1, &payload)).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "the row encodes to 53 bytes, more than a batch may hold (50 bytes, max_bytes); the row was not accepted"
    );
    let InsertError::TooLarge { row, size, limit } = err else {
        panic!("expected TooLarge");
    };
    assert_eq!((row.id, size, limit), (1, 53, 50));
    // Nothing was accepted or buffered.
    let s = h.close().await.unwrap();
    assert_eq!(s, Stats::default());
}

#[tokio::test(start_paused = true)]
async fn an_encode_error_hands_the_row_back_and_leaves_the_buffer_intact() {
    let sink = MemorySink::new();
    let h = spawn(&sink, |b| b).await;
    h.insert(Ev::new(1)).await.unwrap();
    let err = h.insert(Ev::with(2, "unencodable")).await.unwrap_err();
    assert!(err.to_string().contains("column `payload`"), "{err}");
    assert_eq!(err.into_row().id, 2);
    h.insert(Ev::new(3)).await.unwrap();
    let s = h.close().await.unwrap();
    assert_eq!(s.committed.rows, 2);
    assert_eq!(sink.committed_ids(), vec![1, 3]);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_encoder_panics_the_caller_not_the_batcher() {
    let sink = MemorySink::new();
    let h = spawn(&sink, |b| b).await;
    h.insert(Ev::new(1)).await.unwrap();
    let h2 = h.clone();
    let r = tokio::spawn(async move { h2.insert(Ev::with(2, "panic")).await }).await;
    assert!(r.unwrap_err().is_panic());
    h.insert(Ev::new(3)).await.unwrap();
    h.close().await.unwrap();
    assert_eq!(sink.committed_ids(), vec![1, 3]);
}

#[tokio::test(start_paused = true)]
async fn a_closed_batcher_hands_rows_back() {
    let sink = MemorySink::new();
    let h = spawn(&sink, |b| b).await;
    let other = h.clone();
    h.insert(Ev::new(1)).await.unwrap();
    let s = h.close().await.unwrap();
    assert_eq!(s.committed.rows, 1);
    assert!(h.is_closed());
    let InsertError::Closed(row) = other.insert(Ev::new(2)).await.unwrap_err() else {
        panic!("expected Closed");
    };
    assert_eq!(row.id, 2);
    assert!(other.try_insert(Ev::new(3)).unwrap_err().is_closed());
    let err = other
        .insert_many([Ev::new(4), Ev::new(5)])
        .await
        .unwrap_err();
    assert_eq!(err.accepted, 0);
    assert_eq!(err.error.row().id, 4);
    assert_eq!(err.rest, vec![Ev::new(5)]);
    // flush and close after close return the totals.
    assert_eq!(other.flush().await.unwrap(), s);
    assert_eq!(other.close().await.unwrap(), s);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_last_handle_delivers_everything() {
    let sink = MemorySink::new();
    let h = spawn(&sink, |b| b.max_wait(Duration::from_secs(3600))).await;
    let h2 = h.clone();
    h.insert(Ev::new(1)).await.unwrap();
    h2.insert(Ev::new(2)).await.unwrap();
    drop(h);
    settle().await;
    assert!(sink.committed().is_empty(), "one handle is still alive");
    drop(h2);
    sink.until_committed(1).await;
    let mut ids = sink.committed_ids();
    ids.sort_unstable();
    assert_eq!(ids, vec![1, 2]);
}

#[tokio::test(start_paused = true)]
async fn dropped_batcher_failures_go_to_the_dead_letter_handler() {
    let sink = MemorySink::new();
    sink.rule(|_| Act::Fail(SinkError::permanent("no")));
    let failed = Arc::new(Mutex::new(Vec::new()));
    let h = spawn(&sink, |b| {
        let failed = failed.clone();
        b.dead_letter(move |f: FailedBatch| failed.lock().unwrap().push(f))
    })
    .await;
    h.insert(Ev::new(1)).await.unwrap();
    drop(h);
    sink.until(|s| !s.attempts().is_empty()).await;
    settle().await;
    let failed = failed.lock().unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(support::ids(failed[0].batch()), vec![1]);
}

#[tokio::test(start_paused = true)]
async fn retries_with_backoff_then_commits_the_same_bytes() {
    let sink = MemorySink::new();
    sink.script([
        Act::Fail(SinkError::retryable("timeout")),
        Act::Fail(SinkError::retryable("timeout")),
        Act::Fail(SinkError::retryable("timeout")),
    ]);
    let policy = RetryPolicy::default()
        .attempts(5)
        .backoff(Duration::from_millis(100), Duration::from_millis(250));
    let h = spawn(&sink, |b| b.retry(policy)).await;
    for id in 0..4 {
        h.insert(Ev::new(id)).await.unwrap();
    }
    let s = h.flush().await.unwrap();
    assert_eq!(s.committed.rows, 4);
    assert_eq!(s.retries, 3);
    let attempts = sink.attempts();
    assert_eq!(attempts.len(), 4);
    assert!(attempts.iter().all(|a| a.batch == attempts[0].batch));
    // Full jitter: each pause is within [0, min(250 ms, 100 ms × 2^(n-1))].
    let caps = [100, 200, 250];
    for (pair, cap) in attempts.windows(2).zip(caps) {
        let pause = pair[1].at - pair[0].at;
        assert!(pause <= Duration::from_millis(cap), "{pause:?} > {cap} ms");
    }
    let bytes = sink.bytes_seen();
    assert!(
        bytes.iter().all(|(_, b)| *b == bytes[0].1),
        "retries send identical bytes"
    );
    conserved(&h.close().await.unwrap());
}

#[tokio::test(start_paused = true)]
async fn out_of_retries_the_batch_is_returned_by_flush() {
    let sink = MemorySink::new();
    sink.rule(|_| Act::Fail(SinkError::retryable("server overloaded")));
    let h = spawn(&sink, |b| b.retry(RetryPolicy::default().attempts(3))).await;
    for id in 0..3 {
        h.insert(Ev::new(id)).await.unwrap();
    }
    let err = h.flush().await.unwrap_err();
    let Error::Failed(failed) = &err else {
        panic!("expected Failed, got {err}");
    };
    assert_eq!(failed.batches.len(), 1);
    let batch = &failed.batches[0];
    assert_eq!(batch.attempts(), 3);
    assert_eq!(support::ids(batch.batch()), vec![0, 1, 2]);
    assert!(matches!(
        batch.cause(),
        FailureCause::GaveUp { attempts: 3, .. }
    ));
    assert!(
        err.to_string()
            .starts_with("1 batch (3 rows) failed; first (batch 0): gave up after 3 attempts"),
        "{err}"
    );
    assert_eq!(failed.stats.failed.rows, 3);
    conserved(&failed.stats);
    assert_eq!(sink.attempts().len(), 3);
    // The failure is reported once.
    assert!(h.close().await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn the_retry_deadline_stops_retrying() {
    let sink = MemorySink::new();
    sink.rule(|_| Act::Delay(Duration::from_secs(1)));
    sink.rule(|_| Act::Fail(SinkError::retryable("down")));
    let policy = RetryPolicy::default()
        .attempts(1000)
        .backoff(Duration::from_secs(1), Duration::from_secs(1))
        .deadline(Duration::from_secs(10));
    let h = spawn(&sink, |b| b.retry(policy)).await;
    let start = Instant::now();
    h.insert(Ev::new(1)).await.unwrap();
    let err = h.flush().await.unwrap_err();
    let attempts = sink.attempts();
    assert!(attempts.len() > 2 && attempts.len() < 1000);
    assert!(attempts.last().unwrap().at - start <= Duration::from_secs(10));
    assert!(matches!(
        err.failed_batches()[0].cause(),
        FailureCause::GaveUp { .. }
    ));
}

#[tokio::test(start_paused = true)]
async fn a_permanent_failure_goes_to_the_dead_letter_handler() {
    let sink = MemorySink::new();
    sink.script([Act::Fail(
        SinkError::permanent("constraint").with_code("23505"),
    )]);
    let failed = Arc::new(Mutex::new(Vec::new()));
    let h = spawn(&sink, |b| {
        let failed = failed.clone();
        b.dead_letter(move |f: FailedBatch| failed.lock().unwrap().push(f))
    })
    .await;
    h.insert(Ev::new(1)).await.unwrap();
    let s = h.flush().await.unwrap();
    assert_eq!(s.failed.rows, 1);
    assert_eq!(s.batches_failed, 1);
    conserved(&s);
    {
        let failed = failed.lock().unwrap();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].attempts(), 1, "permanent errors are not retried");
        let e = failed[0].cause().sink_error().unwrap();
        assert_eq!(
            (e.kind(), e.code()),
            (SinkErrorKind::Permanent, Some("23505"))
        );
    }
    h.insert(Ev::new(2)).await.unwrap();
    let s = h.close().await.unwrap();
    assert_eq!((s.committed.rows, s.failed.rows), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn close_returns_failed_batches_in_the_error() {
    let sink = MemorySink::new();
    sink.rule(|_| Act::Fail(SinkError::new(SinkErrorKind::Schema, "column dropped")));
    let h = spawn(&sink, |b| b).await;
    h.insert(Ev::new(7)).await.unwrap();
    let err = h.close().await.unwrap_err();
    assert_eq!(err.failed_batches().len(), 1);
    assert_eq!(support::ids(err.failed_batches()[0].batch()), vec![7]);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_sink_is_a_failed_attempt_not_a_dead_batcher() {
    let sink = MemorySink::new();
    sink.script([Act::Panic]);
    let h = spawn(&sink, |b| b.retry(RetryPolicy::default().attempts(2))).await;
    h.insert(Ev::new(1)).await.unwrap();
    let s = h.flush().await.unwrap();
    assert_eq!((s.committed.rows, s.retries), (1, 1));
    sink.rule(|_| Act::Panic);
    h.insert(Ev::new(2)).await.unwrap();
    let err = h.flush().await.unwrap_err();
    let cause = err.failed_batches()[0].cause().to_string();
    assert!(
        cause.contains("the sink panicked: the test sink panicked on purpose"),
        "{cause}"
    );
    // Still alive.
    sink.rule(|_| Act::Commit);
    h.insert(Ev::new(3)).await.unwrap();
    let s = h.close().await.unwrap();
    assert_eq!((s.committed.rows, s.failed.rows), (2, 1));
}

#[tokio::test(start_paused = true)]
async fn close_with_deadline_fails_what_is_left_with_a_reason() {
    let sink = MemorySink::new();
    sink.rule(|_| Act::Hang);
    let h = spawn(&sink, |b| b.max_rows(2).max_in_flight(1)).await;
    for id in 0..5 {
        h.insert(Ev::new(id)).await.unwrap();
    }
    let start = Instant::now();
    let err = h
        .close_with_deadline(Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(Instant::now() - start, Duration::from_secs(5));
    let failed = err.failed_batches();
    let mut ids: Vec<u64> = failed
        .iter()
        .flat_map(|f| support::ids(f.batch()))
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, vec![0, 1, 2, 3, 4]);
    assert!(matches!(
        failed[0].cause(),
        FailureCause::CloseDeadline { in_flight: true }
    ));
    assert!(failed[1..]
        .iter()
        .all(|f| matches!(f.cause(), FailureCause::CloseDeadline { in_flight: false })));
    let Error::Failed(f) = err else { panic!() };
    assert_eq!(f.stats.failed.rows, 5);
    assert_eq!(f.stats.in_buffer.rows, 0);
    conserved(&f.stats);
}

#[tokio::test(start_paused = true)]
async fn max_in_flight_limits_concurrent_sends() {
    let sink = MemorySink::new();
    sink.rule(|_| Act::Delay(Duration::from_millis(100)));
    let h = spawn(&sink, |b| b.max_rows(1).max_in_flight(3)).await;
    for id in 0..20 {
        h.insert(Ev::new(id)).await.unwrap();
    }
    let s = h.close().await.unwrap();
    assert_eq!(s.committed.rows, 20);
    assert_eq!(sink.max_concurrent(), 3);
}

#[tokio::test(start_paused = true)]
async fn the_schema_check_runs_before_any_row() {
    let sink = MemorySink::new();
    sink.fail_prepare(SinkError::new(
        SinkErrorKind::Config,
        "table events does not exist",
    ));
    let err = Batcher::builder(sink.clone())
        .spawn::<Ev>()
        .await
        .unwrap_err();
    assert!(matches!(&err, Error::Sink(e) if e.kind() == SinkErrorKind::Config));
    assert_eq!(err.to_string(), "table events does not exist");
}

#[tokio::test(start_paused = true)]
async fn invalid_options_are_refused_by_name() {
    let err = Batcher::builder(MemorySink::new())
        .jitter(1.5)
        .spawn::<Ev>()
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid batcher option `jitter`: must be between 0 and 1, not 1.5"
    );
    for b in [
        Batcher::builder(MemorySink::new()).max_rows(0),
        Batcher::builder(MemorySink::new()).max_bytes(0),
        Batcher::builder(MemorySink::new()).max_in_flight(0),
        Batcher::builder(MemorySink::new()).max_buffered_bytes(0),
        Batcher::builder(MemorySink::new()).jitter(f64::NAN),
    ] {
        assert!(matches!(b.spawn::<Ev>().await, Err(Error::Config { .. })));
    }
}

#[tokio::test(start_paused = true)]
async fn insert_many_accepts_in_order() {
    let sink = MemorySink::new();
    let h = spawn(&sink, |b| b.max_rows(1000)).await;
    h.insert_many((0..500).map(Ev::new)).await.unwrap();
    let s = h.close().await.unwrap();
    assert_eq!(s.committed.rows, 500);
    assert_eq!(sink.committed_ids(), (0..500).collect::<Vec<_>>());
}

#[test]
fn errors_are_send_sync_static() {
    fn check<T: Send + Sync + 'static>() {}
    check::<Error>();
    check::<InsertError<Ev<'static>>>();
    check::<H>();
}

#[tokio::test(start_paused = true)]
async fn isolate_bad_rows_bisects_to_the_bad_rows() {
    let sink = MemorySink::new();
    // The sink refuses any batch holding id 13 or 40, without saying which row, but
    // with the bad value in the message (as a server's detail does).
    sink.rule(|batch| {
        match support::ids(batch)
            .into_iter()
            .find(|id| [13, 40].contains(id))
        {
            Some(id) => Act::Fail(SinkError::permanent(format!("bad value {id}")).caused_by_data()),
            None => Act::Commit,
        }
    });
    let h = spawn(&sink, |b| b.max_rows(64).isolate_bad_rows(true)).await;
    h.insert_many((0..64).map(Ev::new)).await.unwrap();
    let err = h.flush().await.unwrap_err();
    let mut bad: Vec<u64> = err
        .failed_batches()
        .iter()
        .flat_map(|f| support::ids(f.batch()))
        .collect();
    bad.sort_unstable();
    assert_eq!(bad, vec![13, 40]);
    assert!(err.failed_batches().iter().all(|f| f.rows() == 1));
    let mut good = sink.committed_ids();
    good.sort_unstable();
    assert_eq!(
        good,
        (0..64)
            .filter(|id| ![13, 40].contains(id))
            .collect::<Vec<_>>()
    );
    let s = err.failed_batches().len();
    assert_eq!(s, 2);
    let stats = h.close().await.unwrap();
    assert_eq!((stats.committed.rows, stats.failed.rows), (62, 2));
    conserved(&stats);
}

#[tokio::test(start_paused = true)]
async fn isolate_bad_rows_uses_the_row_the_sink_names() {
    let sink = MemorySink::new();
    sink.rule(
        |batch| match support::ids(batch).iter().position(|&id| id == 5) {
            Some(i) => Act::Fail(SinkError::permanent("cannot parse").with_row(i)),
            None => Act::Commit,
        },
    );
    let h = spawn(&sink, |b| b.max_rows(10).isolate_bad_rows(true)).await;
    h.insert_many((0..10).map(Ev::new)).await.unwrap();
    let err = h.flush().await.unwrap_err();
    assert_eq!(support::ids(err.failed_batches()[0].batch()), vec![5]);
    // One failed attempt, then the rows before and after the bad one: three attempts.
    assert_eq!(sink.attempts().len(), 3);
    assert_eq!(
        sink.committed(),
        vec![vec![0, 1, 2, 3, 4], vec![6, 7, 8, 9]]
    );
}

#[tokio::test(start_paused = true)]
async fn an_error_about_the_whole_batch_is_not_bisected() {
    // A read-only server refuses every batch: not the rows' fault, so no split.
    let sink = MemorySink::new();
    sink.rule(|_| {
        Act::Fail(SinkError::permanent(
            "cannot execute COPY in a read-only transaction",
        ))
    });
    let h = spawn(&sink, |b| b.max_rows(1000).isolate_bad_rows(true)).await;
    h.insert_many((0..1000).map(Ev::new)).await.unwrap();
    let err = h.flush().await.unwrap_err();
    assert_eq!(err.failed_batches().len(), 1);
    assert_eq!(err.failed_batches()[0].rows(), 1000);
    assert_eq!(sink.attempts().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn halves_failing_like_their_parent_without_a_row_stop_the_bisection() {
    // The error claims to be about the data but is the same for every part (a trigger
    // refusing every row): the first split shows it, and bisection stops there instead
    // of costing 2n - 1 sends.
    let sink = MemorySink::new();
    sink.rule(|_| {
        Act::Fail(
            SinkError::permanent("refused by trigger")
                .with_code("23514")
                .caused_by_data(),
        )
    });
    let h = spawn(&sink, |b| b.max_rows(1000).isolate_bad_rows(true)).await;
    h.insert_many((0..1000).map(Ev::new)).await.unwrap();
    let err = h.flush().await.unwrap_err();
    assert_eq!(sink.attempts().len(), 3, "the batch and its two halves");
    let mut rows: Vec<usize> = err.failed_batches().iter().map(|f| f.rows()).collect();
    rows.sort_unstable();
    assert_eq!(rows, [500, 500]);
    let stats = h.close().await.unwrap();
    assert_eq!(stats.failed.rows, 1000);
    conserved(&stats);
}

#[tokio::test(start_paused = true)]
async fn the_sends_of_one_batch_are_capped() {
    // Every row is bad with its own message: a full bisection would cost 2n - 1 sends.
    let sink = MemorySink::new();
    sink.rule(|batch| {
        let first = support::ids(batch)[0];
        Act::Fail(SinkError::permanent(format!("bad value {first}")).caused_by_data())
    });
    let h = spawn(&sink, |b| b.max_rows(1024).isolate_bad_rows(true)).await;
    h.insert_many((0..1024).map(Ev::new)).await.unwrap();
    let err = h.flush().await.unwrap_err();
    let sends = sink.attempts().len();
    // 1 + 8 × 10 levels + 4 to spare, instead of 2 × 1024 - 1.
    assert!(sends <= 85, "{sends} sends");
    let failed: usize = err.failed_batches().iter().map(|f| f.rows()).sum();
    assert_eq!(failed, 1024);
    conserved(&h.close().await.unwrap());
}

#[tokio::test(start_paused = true)]
async fn without_isolation_a_permanent_failure_fails_the_whole_batch() {
    let sink = MemorySink::new();
    sink.script([Act::Fail(SinkError::permanent("bad").with_row(2))]);
    let h = spawn(&sink, |b| b.max_rows(10)).await;
    h.insert_many((0..10).map(Ev::new)).await.unwrap();
    let err = h.flush().await.unwrap_err();
    assert_eq!(err.failed_batches()[0].rows(), 10);
    assert_eq!(sink.attempts().len(), 1);
}

mod recorder {
    //! What a `metrics_util` debugging recorder saw, by `name{label=value,...}`.
    use std::collections::BTreeMap;

    use metrics_util::debugging::{DebugValue, Snapshotter};

    pub(super) struct Seen(BTreeMap<String, DebugValue>);

    impl Seen {
        pub(super) fn take(snapshotter: &Snapshotter) -> Self {
            let mut seen = BTreeMap::new();
            for (key, _, _, value) in snapshotter.snapshot().into_vec() {
                let key = key.key();
                let labels: Vec<String> = key
                    .labels()
                    .map(|l| format!("{}={}", l.key(), l.value()))
                    .collect();
                seen.insert(format!("{}{{{}}}", key.name(), labels.join(",")), value);
            }
            Seen(seen)
        }

        fn get(&self, key: &str) -> &DebugValue {
            self.0
                .get(key)
                .unwrap_or_else(|| panic!("no metric {key}; recorded: {:?}", self.0.keys()))
        }

        pub(super) fn counter(&self, key: &str) -> u64 {
            match self.get(key) {
                DebugValue::Counter(n) => *n,
                other => panic!("{key} is not a counter: {other:?}"),
            }
        }

        pub(super) fn gauge(&self, key: &str) -> f64 {
            match self.get(key) {
                DebugValue::Gauge(v) => v.0,
                other => panic!("{key} is not a gauge: {other:?}"),
            }
        }

        pub(super) fn histogram(&self, key: &str) -> Vec<f64> {
            match self.get(key) {
                DebugValue::Histogram(v) => v.iter().map(|x| x.0).collect(),
                other => panic!("{key} is not a histogram: {other:?}"),
            }
        }
    }
}

#[test]
fn metrics_are_recorded_with_the_table_and_name_labels() {
    let keep = metrics_util::debugging::DebuggingRecorder::new();
    let snapshotter = keep.snapshotter();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let sink = MemorySink::new();
    sink.script([
        Act::Fail(SinkError::retryable("once")),
        Act::Commit,
        Act::Fail(SinkError::permanent("no")),
    ]);
    // The handles are registered at spawn, with the recorder of that moment.
    let h = metrics::with_local_recorder(&keep, || {
        runtime.block_on(Batcher::builder(sink.clone()).max_rows(4).spawn::<Ev>())
    })
    .unwrap();
    runtime.block_on(async {
        h.insert_many((0..6).map(Ev::new)).await.unwrap();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let _ = h.close().await;
    });
    // A second batcher into the same table, named: its metrics are its own.
    let named = metrics::with_local_recorder(&keep, || {
        runtime.block_on(
            Batcher::builder(MemorySink::new())
                .name("backfill")
                .spawn::<Ev>(),
        )
    })
    .unwrap();
    runtime.block_on(async {
        named.insert_many((0..3).map(Ev::new)).await.unwrap();
        named.close().await.unwrap();
    });
    let keep = recorder::Seen::take(&snapshotter);
    assert_eq!(
        keep.counter("batchrow.rows.committed{table=events,name=backfill}"),
        3
    );
    let t = "{table=events,name=events}";
    let c = |name: &str| keep.counter(&format!("{name}{t}"));
    assert_eq!(c("batchrow.rows.accepted"), 6);
    assert_eq!(c("batchrow.rows.committed"), 4);
    assert_eq!(c("batchrow.rows.failed"), 2);
    assert_eq!(c("batchrow.bytes.committed"), 4 * EMPTY_ROW as u64);
    assert_eq!(c("batchrow.bytes.sent"), (4 + 4 + 2) * EMPTY_ROW as u64);
    assert_eq!(c("batchrow.batches.committed"), 1);
    assert_eq!(c("batchrow.batches.failed"), 1);
    assert_eq!(c("batchrow.retries"), 1);
    assert_eq!(
        keep.histogram(&format!("batchrow.flush.duration{t}")).len(),
        3
    );
    assert_eq!(
        keep.histogram(&format!("batchrow.batch.rows{t}")),
        vec![4.0, 2.0]
    );
    // The second batch waited max_wait (1 s) for its first row.
    assert_eq!(keep.histogram(&format!("batchrow.batch.age{t}"))[1], 1.0);
    assert_eq!(keep.gauge(&format!("batchrow.buffer.rows{t}")), 0.0);
    assert_eq!(keep.gauge(&format!("batchrow.batches.in_flight{t}")), 0.0);
}

#[tokio::test(start_paused = true)]
async fn close_wakes_a_producer_waiting_for_room_and_hands_its_row_back() {
    let sink = MemorySink::new();
    sink.close_gate();
    let h = spawn(&sink, |b| b.max_buffered_bytes(2 * EMPTY_ROW).max_rows(1)).await;
    h.insert(Ev::new(0)).await.unwrap();
    h.insert(Ev::new(1)).await.unwrap();
    let waiting = tokio::spawn({
        let h = h.clone();
        async move { h.insert(Ev::new(2)).await }
    });
    settle().await;
    assert!(!waiting.is_finished());
    let closing = tokio::spawn({
        let h = h.clone();
        async move { h.close().await }
    });
    settle().await;
    let InsertError::Closed(row) = waiting.await.unwrap().unwrap_err() else {
        panic!("expected Closed");
    };
    assert_eq!(row.id, 2);
    sink.open_gate();
    let s = closing.await.unwrap().unwrap();
    assert_eq!((s.accepted.rows, s.committed.rows), (2, 2));
}
