//! The `batchrow.flush` tracing span of each send attempt.
//!
//! This test has a binary of its own: `tracing` caches whether a call site is enabled
//! process-wide, so a span first hit by another test, on a thread without this test's
//! subscriber, could be cached as disabled and make this test flaky.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use batch_core::{Batcher, SinkError};
use support::{Act, Ev, MemorySink, EMPTY_ROW};

mod spans {
    //! A `tracing` subscriber that keeps the fields of every `batchrow.flush` span.
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};

    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    pub(super) type Fields = BTreeMap<String, String>;

    #[derive(Default, Clone)]
    pub(super) struct Keep {
        next: Arc<AtomicU64>,
        pub(super) spans: Arc<Mutex<BTreeMap<u64, (String, Fields)>>>,
    }

    struct Collect<'a>(&'a mut Fields);

    impl Visit for Collect<'_> {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            self.0.insert(field.name().to_owned(), format!("{value:?}"));
        }
        fn record_str(&mut self, field: &Field, value: &str) {
            self.0.insert(field.name().to_owned(), value.to_owned());
        }
    }

    impl Subscriber for Keep {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, span: &Attributes<'_>) -> Id {
            let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
            let mut fields = Fields::new();
            span.record(&mut Collect(&mut fields));
            self.spans
                .lock()
                .unwrap()
                .insert(id, (span.metadata().name().to_owned(), fields));
            Id::from_u64(id)
        }
        fn record(&self, span: &Id, values: &Record<'_>) {
            if let Some((_, fields)) = self.spans.lock().unwrap().get_mut(&span.into_u64()) {
                values.record(&mut Collect(fields));
            }
        }
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, _: &Event<'_>) {}
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }
}

#[test]
fn each_send_attempt_has_a_flush_span() {
    let keep = spans::Keep::default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let sink = MemorySink::new();
    sink.script([
        Act::Fail(SinkError::retryable("once")),
        Act::Delay(Duration::from_millis(250)),
    ]);
    tracing::subscriber::with_default(keep.clone(), || {
        runtime.block_on(async {
            let h = Batcher::builder(sink.clone()).spawn::<Ev>().await.unwrap();
            h.insert_many((0..3).map(Ev::new)).await.unwrap();
            h.close().await.unwrap();
        });
    });
    let spans = keep.spans.lock().unwrap();
    let flushes: Vec<&spans::Fields> = spans
        .values()
        .filter(|(name, _)| name == "batchrow.flush")
        .map(|(_, f)| f)
        .collect();
    assert_eq!(flushes.len(), 2, "{spans:?}");
    for (attempt, f) in flushes.iter().enumerate() {
        assert_eq!(f["table"], "events");
        assert_eq!(f["name"], "events"); // the default name: the table
        assert_eq!(f["batch.id"], "0");
        assert_eq!(f["batch.rows"], "3");
        assert_eq!(f["batch.bytes"], (3 * EMPTY_ROW).to_string());
        assert_eq!(f["attempt"], (attempt + 1).to_string());
    }
    assert_eq!(flushes[0]["outcome"], "retry");
    assert_eq!(flushes[1]["outcome"], "committed");
    assert_eq!(flushes[1]["duration_ms"], "250.0");
}
