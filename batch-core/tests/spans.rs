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
    //! A `tracing_subscriber` layer that keeps the fields of every span when it closes.
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::Subscriber;
    use tracing_subscriber::layer::{Context, Layer};
    use tracing_subscriber::registry::LookupSpan;

    pub(super) type Fields = BTreeMap<String, String>;

    /// Spans by name and fields, in the order they closed.
    #[derive(Default, Clone)]
    pub(super) struct Keep {
        pub(super) spans: Arc<Mutex<Vec<(String, Fields)>>>,
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

    impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Keep {
        fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
            let mut fields = Fields::new();
            attrs.record(&mut Collect(&mut fields));
            if let Some(span) = ctx.span(id) {
                span.extensions_mut().insert(fields);
            }
        }

        fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
            if let Some(span) = ctx.span(id) {
                if let Some(fields) = span.extensions_mut().get_mut::<Fields>() {
                    values.record(&mut Collect(fields));
                }
            }
        }

        fn on_close(&self, id: Id, ctx: Context<'_, S>) {
            if let Some(span) = ctx.span(&id) {
                let fields = span.extensions_mut().remove::<Fields>().unwrap_or_default();
                self.spans
                    .lock()
                    .unwrap()
                    .push((span.name().to_owned(), fields));
            }
        }
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
    use tracing_subscriber::layer::SubscriberExt;
    let subscriber = tracing_subscriber::registry().with(keep.clone());
    tracing::subscriber::with_default(subscriber, || {
        runtime.block_on(async {
            let h = Batcher::builder(sink.clone()).spawn::<Ev>().await.unwrap();
            h.insert_many((0..3).map(Ev::new)).await.unwrap();
            h.close().await.unwrap();
        });
    });
    let spans = keep.spans.lock().unwrap();
    let flushes: Vec<&spans::Fields> = spans
        .iter()
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
