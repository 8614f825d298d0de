//! The dead-letter file writer and replay, with in-memory sinks: files rotate by size
//! with a schema line at the top of each, every line carries the decoded values, the
//! cause, the code and the attempts, and a replay sends exactly the bytes that failed,
//! skipping possibly persisted rows and refusing rows encoded for other column types.
//! No server needed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use batch_core::doc_support::{DocColumn, DocFormat, Event, Keep, Refuse};
use batch_core::{
    replay, Batch, Batcher, DeadLetterFile, ReplayError, ReplayOptions, RetryPolicy, Schema,
    Sender, Sink, SinkError, Value,
};

fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "batchrow-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A sink whose every send ends with an unknown outcome.
#[derive(Debug, Default)]
struct Unknown(Vec<DocColumn>);

impl Sink for Unknown {
    type Format = DocFormat;
    type Sender = Unknown;

    async fn prepare(mut self, schema: Schema) -> Result<Unknown, SinkError> {
        self.0 = Refuse.prepare(schema).await?.columns().to_vec();
        Ok(self)
    }
}

impl Sender for Unknown {
    type Format = DocFormat;

    fn columns(&self) -> &[DocColumn] {
        &self.0
    }

    async fn send(&self, _: &Batch) -> Result<(), SinkError> {
        Err(SinkError::possibly_persisted(
            "the connection dropped during COMMIT",
        ))
    }
}

#[tokio::test]
async fn files_rotate_by_size_and_replay_sends_the_bytes_that_failed() {
    let dir = temp_dir("dl-rotate");
    // Each row line is about 300 bytes: a 700-byte limit holds two batches of one row.
    let file = DeadLetterFile::new(&dir).max_bytes(700).open().unwrap();
    let handle = Batcher::builder(Refuse)
        .max_rows(1)
        .dead_letter(file.handler())
        .spawn::<Event>()
        .await
        .unwrap();
    let names = ["a", "quote\" and \\ and\nnewline", "ünï", "", "e"];
    for (id, name) in names.iter().enumerate() {
        handle
            .insert(Event {
                id: id as u64,
                name,
            })
            .await
            .unwrap();
    }
    handle.close().await.unwrap();
    let written = file.flush().unwrap();
    assert_eq!((written.batches, written.rows), (5, 5));
    assert!(written.files.len() >= 2, "{written:?}");

    let mut rows = Vec::new();
    for path in &written.files {
        let text = std::fs::read_to_string(path).unwrap();
        assert!(
            text.len() <= 700,
            "{} has {} bytes",
            path.display(),
            text.len()
        );
        let mut lines = text.lines();
        assert_eq!(
            lines.next().unwrap(),
            r#"{"kind":"schema","table":"events","format":"doc format","columns":["id","name"],"types":["U64","Str"]}"#
        );
        rows.extend(lines.map(str::to_owned));
    }
    assert_eq!(rows.len(), 5);
    for (id, line) in rows.iter().enumerate() {
        let mut values = String::new();
        batch_core::DecodedRow::new(
            <Event as batch_core::BatchRow>::COLUMNS,
            vec![Value::UInt(id as u128), Value::String(names[id].into())],
        )
        .write_json(&mut values);
        assert!(
            line.starts_with(&format!(
                r#"{{"kind":"row","table":"events","batch":{id},"row":0,"failed_at":""#
            )),
            "{line}"
        );
        assert!(line.contains(
            r#","attempts":1,"error":"the sink refused the batch: refused by the doc sink","code":"REFUSED","possibly_persisted":false,"#
        ), "{line}");
        assert!(
            line.contains(&format!(r#","values":{values},"bytes":""#)),
            "{line}"
        );
    }

    let sink = Keep::default();
    let replayed = replay::<Event, _>(&dir, sink.clone(), ReplayOptions::default().max_rows(2))
        .await
        .unwrap();
    assert_eq!((replayed.rows, replayed.batches), (5, 3));
    let sent = sink.0.lock().unwrap().clone();
    let rows: Vec<Vec<u8>> = sent
        .iter()
        .flat_map(|b| (0..b.rows()).map(|i| b.row(i).unwrap().to_vec()))
        .collect();
    let mut want = Vec::new();
    for (id, name) in names.iter().enumerate() {
        let mut row = (id as u64).to_le_bytes().to_vec();
        row.extend_from_slice(&u32::try_from(name.len()).unwrap().to_le_bytes());
        row.extend_from_slice(name.as_bytes());
        want.push(row);
    }
    assert_eq!(rows, want);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn replay_skips_possibly_persisted_rows_unless_asked() {
    let dir = temp_dir("dl-unknown");
    let file = DeadLetterFile::new(&dir).open().unwrap();
    let handle = Batcher::builder(Unknown::default())
        .retry(RetryPolicy::default().attempts(1))
        .dead_letter(file.handler())
        .spawn::<Event>()
        .await
        .unwrap();
    handle
        .insert(Event {
            id: 1,
            name: "maybe",
        })
        .await
        .unwrap();
    handle.close().await.unwrap();
    let written = file.flush().unwrap();
    let text = std::fs::read_to_string(&written.files[0]).unwrap();
    assert!(
        text.contains(r#""code":null,"possibly_persisted":true"#),
        "{text}"
    );

    let sink = Keep::default();
    let replayed = replay::<Event, _>(&dir, sink.clone(), ReplayOptions::default())
        .await
        .unwrap();
    assert_eq!((replayed.rows, replayed.skipped_possibly_persisted), (0, 1));
    assert!(sink.0.lock().unwrap().is_empty());
    let replayed = replay::<Event, _>(
        &dir,
        sink.clone(),
        ReplayOptions::default().possibly_persisted(true),
    )
    .await
    .unwrap();
    assert_eq!(replayed.rows, 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn replay_refuses_rows_encoded_for_other_column_types() {
    let dir = temp_dir("dl-schema");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("dead-letters-0000000000000-0001.ndjson"),
        "{\"kind\":\"schema\",\"table\":\"events\",\"format\":\"doc format\",\
         \"columns\":[\"id\",\"name\"],\"types\":[\"Str\",\"Str\"]}\n\
         {\"kind\":\"row\",\"table\":\"events\",\"possibly_persisted\":false,\"bytes\":\"AA==\"}\n",
    )
    .unwrap();
    let err = replay::<Event, _>(&dir, Keep::default(), ReplayOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ReplayError::SchemaChanged { line: 1, was, now, .. }
            if was[0] == "id: Str" && now[0] == "id: U64"),
        "{err}"
    );
    std::fs::write(
        dir.join("dead-letters-0000000000000-0001.ndjson"),
        "{\"kind\":1}\n",
    )
    .unwrap();
    let err = replay::<Event, _>(&dir, Keep::default(), ReplayOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, ReplayError::Format { line: 1, .. }), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_failed_batch_held_for_flush_decodes_too() {
    let handle = Batcher::builder(Refuse).spawn::<Event>().await.unwrap();
    handle
        .insert(Event {
            id: 4,
            name: "held",
        })
        .await
        .unwrap();
    let err = handle.flush().await.unwrap_err();
    let failed = &err.failed_batches()[0];
    assert_eq!(failed.table(), Some("events"));
    let rows: Vec<_> = failed.decoded_rows().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].iter().collect::<Vec<_>>(),
        [
            ("id", &Value::UInt(4)),
            ("name", &Value::String("held".into()))
        ]
    );
    // A flush report counts what failed while it ran.
    handle.insert(Event { id: 5, name: "x" }).await.unwrap();
    let err = handle.flush_report().await.unwrap_err();
    assert_eq!(err.failed_batches().len(), 1);
    let dump = handle.dump().await.unwrap();
    assert!(dump.is_empty());
    handle.close().await.unwrap();
}

/// A sink whose sends wait until the test opens the gate.
#[derive(Debug, Clone)]
struct Gate(
    std::sync::Arc<(tokio::sync::Notify, tokio::sync::Semaphore)>,
    Vec<DocColumn>,
);

impl Sink for Gate {
    type Format = DocFormat;
    type Sender = Gate;

    async fn prepare(mut self, schema: Schema) -> Result<Gate, SinkError> {
        self.1 = Refuse.prepare(schema).await?.columns().to_vec();
        Ok(self)
    }
}

impl Sender for Gate {
    type Format = DocFormat;

    fn columns(&self) -> &[DocColumn] {
        &self.1
    }

    async fn send(&self, _: &Batch) -> Result<(), SinkError> {
        self.0 .0.notify_one();
        let _permit = self.0 .1.acquire().await;
        Ok(())
    }
}

#[tokio::test]
async fn a_dump_holds_every_row_not_being_sent_once_in_order() {
    let gate = Gate(
        std::sync::Arc::new((tokio::sync::Notify::new(), tokio::sync::Semaphore::new(0))),
        Vec::new(),
    );
    let handle = Batcher::builder(gate.clone())
        .max_rows(2)
        .max_in_flight(1)
        .spawn::<Event>()
        .await
        .unwrap();
    for id in 0..7 {
        handle.insert(Event { id, name: "r" }).await.unwrap();
    }
    // Rows 0 and 1 are being sent; 2..6 wait in sealed batches, chunks or a shard.
    gate.0 .0.notified().await;
    let dump = handle.dump().await.unwrap();
    let ids: Vec<Value> = dump
        .decoded_rows()
        .map(|r| r.unwrap().get("id").unwrap().clone())
        .collect();
    assert_eq!(ids, (2..7).map(Value::UInt).collect::<Vec<_>>());
    assert_eq!(handle.stats().in_buffer.rows, 7, "a dump flushes nothing");
    gate.0 .1.add_permits(100);
    let report = handle.flush_report().await.unwrap();
    assert_eq!(report.committed.rows, 7);
    assert_eq!(report.batches_committed, 4);
    assert_eq!(report.stats.committed.rows, 7);
    handle.close().await.unwrap();
}
