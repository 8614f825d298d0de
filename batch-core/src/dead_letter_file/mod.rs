//! Dead letters kept in files: [`DeadLetterFile`] writes failed batches as NDJSON, one
//! line per row, to files that rotate by size; [`replay`] sends such files through a
//! sink again.
//!
//! # The file format
//!
//! Each file is UTF-8 NDJSON named `dead-letters-<unix ms>-<n>.ndjson`. A line is one
//! JSON object, of one of two kinds:
//!
//! - a **schema** line, written at the start of each file and whenever the rows that
//!   follow belong to another table or were encoded for other column types:
//!   ```json
//!   {"kind":"schema","table":"events","format":"ClickHouse RowBinary","columns":["id","name"],"types":["UInt64","String"]}
//!   ```
//!   `types` are the column types the sink resolved, as Rust `Debug` text.
//! - a **row** line, for each row of each failed batch, in batch order:
//!   ```json
//!   {"kind":"row","table":"events","batch":3,"row":0,"failed_at":"2025-01-01T12:00:00.000Z","attempts":1,"error":"…","code":"53","possibly_persisted":false,"values":{"id":1,"name":"a"},"bytes":"AQAAAAAAAAABYQ=="}
//!   ```
//!   `values` holds the decoded columns (see [`Value`](crate::Value) for the JSON
//!   of each type), or `null` with a `decode_error` when the row cannot be decoded;
//!   `code` is `null` when the sink gave none; `bytes` is the row exactly as it was sent,
//!   in base64.
//!
//! [`replay`] sends the `bytes`, not the `values`: a replay writes exactly the rows that
//! failed, with no JSON-to-row mapping to get wrong. The `values` are for people and
//! tools; editing them changes nothing a replay sends.
//!
//! A failed batch is written with one `write` and flushed to the file before the next is
//! taken; a write that fails is undone (the file is cut back), and the batch is kept for
//! [`DeadLetterWriter::flush`] to return.

mod replay;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::dead_letter::FailedBatch;
use crate::decode::{write_json_str, Value};

pub use replay::{replay, ReplayError, ReplayOptions, Replayed};

pub(crate) use crate::decode::JsonReader;

/// Configures a dead-letter file writer; [`open`](DeadLetterFile::open) starts it.
///
/// # Examples
///
/// ```
/// # use batch_core::doc_support::{Refuse, Event};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = std::env::temp_dir().join(format!("batchrow-doc-dlf-{}", std::process::id()));
/// use batch_core::{Batcher, DeadLetterFile};
///
/// let dead = DeadLetterFile::new(&dir).max_bytes(64 << 20).open()?;
/// let handle = Batcher::builder(Refuse)
///     .dead_letter(dead.handler())
///     .spawn::<Event>()
///     .await?;
/// handle.insert(Event { id: 1, name: "refused" }).await?;
/// handle.close().await?;
/// // Everything handed to the handler so far is on disk.
/// let written = dead.flush()?;
/// assert_eq!(written.rows, 1);
/// let text = std::fs::read_to_string(&written.files[0])?;
/// assert!(text.lines().nth(1).unwrap().contains(r#""values":{"id":1,"name":"refused"}"#));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a DeadLetterFile does nothing until `open` is called"]
pub struct DeadLetterFile {
    dir: PathBuf,
    max_bytes: u64,
    queue: usize,
}

impl DeadLetterFile {
    /// Writes files in `dir` (created if missing).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        DeadLetterFile {
            dir: dir.into(),
            max_bytes: 64 << 20,
            queue: 16,
        }
    }

    /// A file is closed and a new one started before it would exceed this many bytes
    /// (a single batch larger than this gets a file of its own). Default: 64 MiB.
    pub fn max_bytes(mut self, bytes: u64) -> Self {
        self.max_bytes = bytes.max(1);
        self
    }

    /// How many failed batches may wait for the writer thread. When they are all
    /// waiting, the handler blocks the batcher's worker until the disk catches up.
    /// Batches handed to the handler no longer count in the batcher's
    /// `max_buffered_bytes`, so this bounds the memory they take. Default: 16.
    pub fn queue(mut self, batches: usize) -> Self {
        self.queue = batches.max(1);
        self
    }

    /// Creates the directory and starts the writer thread.
    ///
    /// # Errors
    ///
    /// When the directory cannot be created or the thread cannot be started.
    pub fn open(self) -> io::Result<DeadLetterWriter> {
        fs::create_dir_all(&self.dir)?;
        let (tx, rx) = mpsc::sync_channel(self.queue);
        let orphans = Arc::new(Mutex::new(Vec::new()));
        let state = Files {
            dir: self.dir,
            max_bytes: self.max_bytes,
            current: None,
            stats: WrittenStats::default(),
            unwritten: Vec::new(),
            error: None,
            seq: 0,
        };
        std::thread::Builder::new()
            .name("batchrow-dead-letters".into())
            .spawn(move || state.run(rx))?;
        Ok(DeadLetterWriter { tx, orphans })
    }
}

/// What a [`DeadLetterWriter`] wrote since it was opened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WrittenStats {
    /// Failed batches written.
    pub batches: u64,
    /// Rows written.
    pub rows: u64,
    /// Bytes written to files.
    pub bytes: u64,
    /// The files written, oldest first.
    pub files: Vec<PathBuf>,
}

/// Writing dead letters failed; the batches that were not written are handed back.
#[derive(Debug, thiserror::Error)]
#[error("{} failed batches could not be written to the dead-letter files: {source}", .unwritten.len())]
#[non_exhaustive]
pub struct DeadLetterWriterError {
    /// The first error since the previous flush.
    #[source]
    pub source: io::Error,
    /// The batches not written, in the order they failed.
    pub unwritten: Vec<FailedBatch>,
    /// What was written.
    pub written: WrittenStats,
}

enum Msg {
    Batch(FailedBatch),
    Flush(mpsc::Sender<Result<WrittenStats, DeadLetterWriterError>>),
}

/// A running dead-letter file writer: a thread that writes the failed batches its
/// [`handler`](DeadLetterWriter::handler) receives. Cloning is cheap; the thread stops
/// once the writer, its clones and every handler are dropped, after writing what it
/// received.
#[derive(Debug, Clone)]
pub struct DeadLetterWriter {
    tx: SyncSender<Msg>,
    /// Batches the handler could not hand to the thread (it stopped): kept, not dropped.
    orphans: Arc<Mutex<Vec<FailedBatch>>>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Msg::Batch(b) => f.debug_tuple("Batch").field(b).finish(),
            Msg::Flush(_) => f.write_str("Flush"),
        }
    }
}

impl DeadLetterWriter {
    /// A dead-letter handler for [`Builder::dead_letter`](crate::Builder::dead_letter)
    /// that queues each failed batch for the writer thread. It runs on the batcher's
    /// worker task and returns at once, unless the queue is full: then it blocks until
    /// the thread takes a batch (see [`DeadLetterFile::queue`]). One writer may serve
    /// several batchers.
    pub fn handler(&self) -> impl FnMut(FailedBatch) + Send + 'static {
        let tx = self.tx.clone();
        let orphans = self.orphans.clone();
        move |batch| {
            if let Err(mpsc::SendError(Msg::Batch(batch))) = tx.send(Msg::Batch(batch)) {
                orphans
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(batch);
            }
        }
    }

    /// Waits until every batch handed to a handler before this call is written and
    /// flushed to its file, and returns what was written so far. It blocks the calling
    /// thread: from async code, call it in `tokio::task::spawn_blocking`, or after the
    /// batcher is closed.
    ///
    /// # Errors
    ///
    /// [`DeadLetterWriterError`] with every batch not written since the previous flush
    /// (a full disk, a removed directory), so they can be kept some other way.
    pub fn flush(&self) -> Result<WrittenStats, DeadLetterWriterError> {
        let (reply, answer) = mpsc::channel();
        let orphans =
            || std::mem::take(&mut *self.orphans.lock().unwrap_or_else(PoisonError::into_inner));
        let gone = |unwritten| DeadLetterWriterError {
            source: io::Error::other("the dead-letter writer thread stopped"),
            unwritten,
            written: WrittenStats::default(),
        };
        if self.tx.send(Msg::Flush(reply)).is_err() {
            return Err(gone(orphans()));
        }
        match answer.recv() {
            Ok(Ok(stats)) => {
                let lost = orphans();
                if lost.is_empty() {
                    Ok(stats)
                } else {
                    Err(DeadLetterWriterError {
                        written: stats,
                        ..gone(lost)
                    })
                }
            }
            Ok(Err(mut e)) => {
                e.unwritten.extend(orphans());
                Err(e)
            }
            Err(_) => Err(gone(orphans())),
        }
    }
}

/// The open file and its size.
#[derive(Debug)]
struct Current {
    file: File,
    size: u64,
    /// The table and types of the last schema line in this file.
    schema: Option<(String, Vec<String>)>,
}

/// The writer thread's state.
#[derive(Debug)]
struct Files {
    dir: PathBuf,
    max_bytes: u64,
    current: Option<Current>,
    stats: WrittenStats,
    unwritten: Vec<FailedBatch>,
    error: Option<io::Error>,
    seq: u64,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Files {
    fn run(mut self, rx: Receiver<Msg>) {
        while let Ok(msg) = rx.recv() {
            match msg {
                Msg::Batch(batch) => {
                    if let Err(e) = self.write(&batch) {
                        tracing::error!(
                            error = %e,
                            rows = batch.batch().rows(),
                            "batchrow: a failed batch could not be written to the dead-letter \
                             file; it is kept for DeadLetterWriter::flush"
                        );
                        self.error.get_or_insert(e);
                        self.unwritten.push(batch);
                    }
                }
                Msg::Flush(reply) => {
                    let answer = match self.error.take() {
                        None => Ok(self.stats.clone()),
                        Some(source) => Err(DeadLetterWriterError {
                            source,
                            unwritten: std::mem::take(&mut self.unwritten),
                            written: self.stats.clone(),
                        }),
                    };
                    if let Err(mpsc::SendError(Err(e))) = reply.send(answer) {
                        // The caller is gone: keep them for the next flush.
                        self.error = Some(e.source);
                        self.unwritten = e.unwritten;
                    }
                }
            }
        }
        if !self.unwritten.is_empty() {
            tracing::error!(
                batches = self.unwritten.len(),
                "batchrow: the dead-letter writer stopped with failed batches it could not \
                 write and nobody left to return them to"
            );
        }
    }

    fn open_next(&mut self) -> io::Result<Current> {
        self.seq += 1;
        let path = self.dir.join(format!(
            "dead-letters-{:013}-{:04}.ndjson",
            now_ms(),
            self.seq
        ));
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)?;
        self.stats.files.push(path);
        Ok(Current {
            file,
            size: 0,
            schema: None,
        })
    }

    fn write(&mut self, failed: &FailedBatch) -> io::Result<()> {
        let schema = failed.decoder().map(|d| {
            let s = d.schema();
            (s.table.to_owned(), d.column_types(), s.columns, d.format())
        });
        let rows = render_rows(failed);
        let needs_schema = |c: &Current| match (&schema, &c.schema) {
            (Some((table, types, ..)), Some((t, ty))) => table != t || types != ty,
            (Some(_), None) => true,
            (None, _) => false,
        };
        let schema_line = |c: &Current| {
            schema
                .as_ref()
                .filter(|_| needs_schema(c))
                .map(|(table, types, columns, format)| {
                    let mut line = String::from("{\"kind\":\"schema\",\"table\":");
                    write_json_str(table, &mut line);
                    line.push_str(",\"format\":");
                    write_json_str(format, &mut line);
                    line.push_str(",\"columns\":[");
                    for (i, c) in columns.iter().enumerate() {
                        if i > 0 {
                            line.push(',');
                        }
                        write_json_str(c.name, &mut line);
                    }
                    line.push_str("],\"types\":[");
                    for (i, t) in types.iter().enumerate() {
                        if i > 0 {
                            line.push(',');
                        }
                        write_json_str(t, &mut line);
                    }
                    line.push_str("]}\n");
                    line
                })
        };
        let full = self.current.as_ref().is_some_and(|c| {
            let head = schema_line(c).map_or(0, |l| l.len());
            c.size > 0 && c.size + (head + rows.len()) as u64 > self.max_bytes
        });
        if full || self.current.is_none() {
            if let Some(mut old) = self.current.take() {
                old.file.flush()?;
            }
            self.current = Some(self.open_next()?);
        }
        let Some(current) = self.current.as_mut() else {
            return Err(io::Error::other("no dead-letter file is open"));
        };
        let mut text = schema_line(current).unwrap_or_default();
        text.push_str(&rows);
        if let Err(e) = current.file.write_all(text.as_bytes()) {
            // Undo a partial write, so that the file holds whole lines only.
            let _ = current.file.set_len(current.size);
            return Err(e);
        }
        current.file.sync_data()?;
        current.size += text.len() as u64;
        if let Some((table, types, ..)) = schema {
            current.schema = Some((table, types));
        }
        self.stats.batches += 1;
        self.stats.rows += failed.batch().rows() as u64;
        self.stats.bytes += text.len() as u64;
        Ok(())
    }
}

/// The row lines of a failed batch.
fn render_rows(failed: &FailedBatch) -> String {
    let batch = failed.batch();
    let cause = failed.cause();
    let mut common = String::from(",\"failed_at\":");
    let ms = now_ms();
    let at = Value::timestamp(
        i64::try_from(ms / 1000).unwrap_or(i64::MAX),
        u32::try_from(ms % 1000).unwrap_or(0) * 1_000_000,
        3,
        true,
    );
    at.write_json(&mut common);
    common.push_str(&format!(",\"attempts\":{},\"error\":", failed.attempts()));
    write_json_str(&cause.to_string(), &mut common);
    common.push_str(",\"code\":");
    match cause.sink_error().and_then(|e| e.code()) {
        Some(code) => write_json_str(code, &mut common),
        None => common.push_str("null"),
    }
    common.push_str(&format!(
        ",\"possibly_persisted\":{}",
        cause.is_possibly_persisted()
    ));
    let mut out = String::new();
    let first = batch.range().start;
    for (i, decoded) in failed.decoded_rows().enumerate() {
        out.push_str("{\"kind\":\"row\",\"table\":");
        match failed.table() {
            Some(t) => write_json_str(t, &mut out),
            None => out.push_str("null"),
        }
        out.push_str(&format!(",\"batch\":{},\"row\":{}", batch.id(), first + i));
        out.push_str(&common);
        out.push_str(",\"values\":");
        match decoded {
            Ok(row) => row.write_json(&mut out),
            Err(e) => {
                out.push_str("null,\"decode_error\":");
                write_json_str(&e.to_string(), &mut out);
            }
        }
        out.push_str(",\"bytes\":\"");
        crate::decode::base64_encode(batch.row(i).unwrap_or_default(), &mut out);
        out.push_str("\"}\n");
    }
    out
}

/// The `*.ndjson` files of `path` (a directory) sorted by name, or `path` itself.
fn files_of(path: &Path) -> io::Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let mut files: Vec<PathBuf> = fs::read_dir(path)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "ndjson"))
        .collect();
    files.sort();
    Ok(files)
}
