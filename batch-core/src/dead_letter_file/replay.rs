//! Sending dead-letter files through a sink again.

use std::io;
use std::path::{Path, PathBuf};

use crate::batch::{Batch, ChunkFull, RowBuffer};
use crate::decode::base64_decode;
use crate::row::{BatchRow, Schema};
use crate::sink::{Sender, Sink, SinkError};

use super::{files_of, JsonReader};

/// How [`replay`] sends rows.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct ReplayOptions {
    /// At most this many rows per batch sent. Default: 10,000.
    pub max_rows: usize,
    /// At most this many encoded bytes per batch sent (a larger row goes alone).
    /// Default: 16 MiB.
    pub max_bytes: usize,
    /// Also send the rows whose batch may have been written
    /// (`"possibly_persisted":true`). Off by default: check the table first, or they
    /// may be written twice.
    pub possibly_persisted: bool,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            max_rows: 10_000,
            max_bytes: 16 << 20,
            possibly_persisted: false,
        }
    }
}

impl ReplayOptions {
    /// Sets [`possibly_persisted`](ReplayOptions::possibly_persisted).
    #[must_use]
    pub fn possibly_persisted(mut self, send: bool) -> Self {
        self.possibly_persisted = send;
        self
    }

    /// Sets [`max_rows`](ReplayOptions::max_rows).
    #[must_use]
    pub fn max_rows(mut self, rows: usize) -> Self {
        self.max_rows = rows.max(1);
        self
    }
}

/// What [`replay`] sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Replayed {
    /// Rows the sink committed.
    pub rows: u64,
    /// Batches the sink committed.
    pub batches: u64,
    /// Rows left out because their batch may have been written.
    pub skipped_possibly_persisted: u64,
    /// Rows left out because they belong to another table.
    pub skipped_other_tables: u64,
}

/// Replaying dead letters failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A line is not a dead-letter line batchrow writes.
    #[error("{}:{line}: {reason}", .path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// The line number, from 1.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The rows were encoded for other columns or column types than the sink resolves
    /// now: their bytes would be misread. Replaying them needs the table as it was.
    #[error(
        "{}:{line}: the rows were encoded for columns {was:?}, the sink now resolves {now:?}",
        .path.display()
    )]
    SchemaChanged {
        /// The file.
        path: PathBuf,
        /// The line number of the schema line.
        line: usize,
        /// The columns and types in the file.
        was: Vec<String>,
        /// The columns and types the sink resolved.
        now: Vec<String>,
    },
    /// The sink's schema check failed.
    #[error("the sink's schema check failed: {0}")]
    Prepare(#[source] SinkError),
    /// The sink refused a batch. The rows before it were committed (`sent`); the rows
    /// from `path`:`line` on were not.
    #[error("the sink refused the batch starting at {}:{line}: {source}", .path.display())]
    Send {
        /// What was committed before.
        sent: Replayed,
        /// The file of the batch's first row.
        path: PathBuf,
        /// The line of the batch's first row.
        line: usize,
        /// The sink's error.
        #[source]
        source: SinkError,
    },
}

/// Rows collected for the next batch, and where the first came from.
struct Pending {
    buf: RowBuffer,
    from: Option<(PathBuf, usize)>,
}

/// Sends the rows of dead-letter files written by
/// [`DeadLetterFile`](crate::DeadLetterFile) through `sink`, for row type `R`.
///
/// `path` is one file, or a directory whose `*.ndjson` files are replayed in name order
/// (the order they were written). The sink is prepared for `R` first (its schema check
/// runs); rows of other tables are skipped, and rows encoded for other column types than
/// the sink resolves now are refused with [`ReplayError::SchemaChanged`], since their
/// bytes would be misread. The encoded bytes of each row are sent as they were, in
/// batches of [`ReplayOptions::max_rows`], each with one [`Sender::send`](crate::Sender::send) (no retries).
///
/// Rows whose batch may have been written (`possibly_persisted`) are skipped unless
/// [`ReplayOptions::possibly_persisted`] is set.
///
/// # Errors
///
/// See [`ReplayError`]. When a send fails, the rows before it were committed: the
/// error says where to resume (remove the lines before it, or the files).
///
/// # Examples
///
/// ```
/// # use batch_core::doc_support::{Keep, Refuse, Event};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = std::env::temp_dir().join(format!("batchrow-doc-replay-{}", std::process::id()));
/// use batch_core::{replay, Batcher, DeadLetterFile, ReplayOptions};
///
/// // Rows the first sink refused land in files...
/// let dead = DeadLetterFile::new(&dir).open()?;
/// let handle = Batcher::builder(Refuse).dead_letter(dead.handler()).spawn::<Event>().await?;
/// handle.insert(Event { id: 1, name: "again" }).await?;
/// handle.close().await?;
/// dead.flush()?;
///
/// // ...and are sent again, byte for byte, once the problem is fixed.
/// let sink = Keep::default(); // clones share what it keeps
/// let replayed = replay::<Event, _>(&dir, sink.clone(), ReplayOptions::default()).await?;
/// assert_eq!(replayed.rows, 1);
/// assert_eq!(sink.0.lock().unwrap()[0].rows(), 1);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(()) }
/// ```
pub async fn replay<R, S>(
    path: impl AsRef<Path>,
    sink: S,
    options: ReplayOptions,
) -> Result<Replayed, ReplayError>
where
    R: BatchRow + ?Sized,
    S: Sink,
{
    let schema = Schema::of::<R>();
    let sender = sink.prepare(schema).await.map_err(ReplayError::Prepare)?;
    let columns = sender.columns();
    let now: Vec<String> = schema
        .columns
        .iter()
        .zip(columns)
        .map(|(c, t)| format!("{}: {t:?}", c.name))
        .collect();
    let root = path.as_ref().to_owned();
    let files = files_of(&root).map_err(|source| ReplayError::Io {
        path: root.clone(),
        source,
    })?;
    let mut done = Replayed::default();
    let mut pending = Pending {
        buf: RowBuffer::default(),
        from: None,
    };
    let mut next_id = 0u64;
    for file in files {
        let read_path = file.clone();
        let text = tokio::task::spawn_blocking(move || std::fs::read_to_string(read_path))
            .await
            .map_err(|e| io::Error::other(e.to_string()))
            .and_then(|r| r)
            .map_err(|source| ReplayError::Io {
                path: file.clone(),
                source,
            })?;
        // Whether the rows under the last schema line are of this table.
        let mut ours = false;
        for (n, line) in text.lines().enumerate() {
            let line_no = n + 1;
            if line.trim().is_empty() {
                continue;
            }
            let bad = |reason: String| ReplayError::Format {
                path: file.clone(),
                line: line_no,
                reason,
            };
            let members = JsonReader::object(line).map_err(bad)?;
            let get = |key: &str| members.iter().find(|(k, _)| k == key).map(|(_, v)| *v);
            let string = |key: &str| get(key).and_then(JsonReader::string);
            match string("kind").as_deref() {
                Some("schema") => {
                    ours = string("table").as_deref() == Some(schema.table);
                    if !ours {
                        continue;
                    }
                    let was = schema_columns(get("columns"), get("types"))
                        .ok_or_else(|| bad("a schema line without columns and types".into()))?;
                    if was != now {
                        return Err(ReplayError::SchemaChanged {
                            path: file.clone(),
                            line: line_no,
                            was,
                            now,
                        });
                    }
                }
                Some("row") => {
                    if !ours || string("table").as_deref() != Some(schema.table) {
                        done.skipped_other_tables += 1;
                        continue;
                    }
                    if get("possibly_persisted") == Some("true") && !options.possibly_persisted {
                        done.skipped_possibly_persisted += 1;
                        continue;
                    }
                    let bytes = string("bytes")
                        .and_then(|b| base64_decode(&b))
                        .ok_or_else(|| bad("a row line without base64 `bytes`".into()))?;
                    let full = pending.buf.rows() >= options.max_rows
                        || (!pending.buf.is_empty()
                            && pending.buf.len() + bytes.len() > options.max_bytes);
                    if full {
                        send(&sender, &mut pending, &mut next_id, &mut done).await?;
                    }
                    pending
                        .buf
                        .push_row(|out| {
                            out.extend_from_slice(&bytes);
                            Ok::<_, ChunkFull>(())
                        })
                        .map_err(|e| bad(e.to_string()))?;
                    pending.from.get_or_insert((file.clone(), line_no));
                }
                _ => return Err(bad("neither a schema nor a row line".into())),
            }
        }
    }
    send(&sender, &mut pending, &mut next_id, &mut done).await?;
    Ok(done)
}

/// `name: type` for each column of a schema line.
fn schema_columns(columns: Option<&str>, types: Option<&str>) -> Option<Vec<String>> {
    let list = |raw: &str| -> Option<Vec<String>> {
        let mut rest = raw.trim().strip_prefix('[')?.strip_suffix(']')?.trim();
        let mut out = Vec::new();
        while !rest.is_empty() {
            let item = first_string(rest)?;
            out.push(JsonReader::string(item)?);
            rest = rest[item.len()..].trim_start();
            rest = match rest.strip_prefix(',') {
                Some(r) => r.trim_start(),
                None if rest.is_empty() => rest,
                None => return None,
            };
        }
        Some(out)
    };
    let names = list(columns?)?;
    let types = list(types?)?;
    (names.len() == types.len()).then(|| {
        names
            .iter()
            .zip(&types)
            .map(|(n, t)| format!("{n}: {t}"))
            .collect()
    })
}

/// The text of the JSON string at the start of `s`.
fn first_string(s: &str) -> Option<&str> {
    let bytes = s.as_bytes();
    if bytes.first() != Some(&b'"') {
        return None;
    }
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(&s[..=i]),
            _ => i += 1,
        }
    }
    None
}

async fn send<S: Sender>(
    sink: &S,
    pending: &mut Pending,
    next_id: &mut u64,
    done: &mut Replayed,
) -> Result<(), ReplayError> {
    if pending.buf.is_empty() {
        return Ok(());
    }
    let batch = Batch::new(*next_id, vec![pending.buf.take()]);
    *next_id += 1;
    let from = pending.from.take();
    if let Err(source) = sink.send(&batch).await {
        let (path, line) = from.unwrap_or_default();
        return Err(ReplayError::Send {
            sent: *done,
            path,
            line,
            source,
        });
    }
    done.rows += batch.rows() as u64;
    done.batches += 1;
    Ok(())
}
