//! [`ClickHouseSink`]: the schema check, then one `INSERT ... FORMAT Native` (or
//! `RowBinary`) per batch through the `clickhouse` crate's formatted-insert API, the
//! batch transcoded and compressed by the sink into checksummed frames.
//!
//! - `builder`: the sink's settings;
//! - `prepare`: the schema check on every endpoint, and the statements it resolves;
//! - `framing`: the bytes of a batch's insert (Native or RowBinary, LZ4 or stored);
//! - `send`: one attempt, from choosing an endpoint to the classified answer.

mod framing;
mod prepare;
mod send;
mod settings;
#[cfg(test)]
mod test_server;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use batch_core::{Batch, Schema, Sender, Sink, SinkError};
// Named in the docs.
#[cfg(doc)]
use batch_core::SinkErrorKind;
use clickhouse::Client;
use tokio::time::Instant;

use crate::endpoints::Endpoints;
use crate::frame::{self, InsertCompression, Kept, BLOCK_FRAME, MAX_FRAME};
use crate::native::{InsertFormat, NativeBlock};
use crate::rowbinary::RowBinary;
use crate::types::ChType;
use framing::native_for;

/// The default time limit of one insert: [`ClickHouseSink::insert_timeout`].
const INSERT_TIMEOUT: Duration = Duration::from_secs(30);
/// The default time limit of the schema check: [`ClickHouseSink::schema_timeout`].
const SCHEMA_TIMEOUT: Duration = Duration::from_secs(10);
/// How long after its deadline an insert may take to stop: the `clickhouse` crate ends
/// it at the deadline and shuts its connection; this only guards against a hang.
const GRACE: Duration = Duration::from_secs(1);
/// The setting that makes an insert into a `Distributed` table answer only once every
/// shard stored its part.
const DISTRIBUTED_SYNC: &str = "insert_distributed_sync";

/// A ClickHouse table as a batchrow [`Sink`]: rows are encoded in [`RowBinary`], and
/// each batch is sent as one `INSERT INTO db.table (columns) FORMAT Native`, transcoded
/// into one columnar block when it is sent (or as it is, `FORMAT RowBinary`: see
/// [`insert_format`](ClickHouseSink::insert_format)).
///
/// Build it from the `clickhouse::Client` you already have: its URL, credentials,
/// database and settings all apply (its compression applies to the schema check; the
/// sink compresses inserts itself, see `# Delivery`). The sink turns off the client's
/// own row validation (`with_validation(false)`), which does not work with older
/// servers such as 18.16, and checks the schema itself instead.
///
/// # The schema check
///
/// Before the first row is accepted, [`Sink::prepare`] reads the table's columns from
/// `system.columns` and compares each field of the row type with its column: the type
/// must be one the field's Rust type is written to correctly (an `i32` only into
/// `Int32`; a `String` into `String`, `FixedString(N)`, `LowCardinality(String)` or an
/// enum by label...), and nullability must agree. Table columns the struct leaves out
/// must have a `DEFAULT`, `MATERIALIZED` or `ALIAS` expression. Every mismatch is reported
/// at once in one [`SinkErrorKind::Schema`] error.
///
/// # Time limits
///
/// Nothing waits forever, with the default settings:
///
/// - **The schema check** (every query of [`Sink::prepare`]) ends after
///   [`schema_timeout`](ClickHouseSink::schema_timeout), 10 s by default, with a
///   [`SinkErrorKind::Retryable`] error that says the server did not answer: a server
///   that accepts connections and never answers fails `Batcher::spawn` after 10 s.
/// - **Each insert** ends at the deadline the batcher gives ([`Sender::send_by`](batch_core::Sender::send_by): the
///   earlier of its attempt timeout, 30 s by default, and the retry deadline), and at
///   the latest after [`insert_timeout`](ClickHouseSink::insert_timeout), 30 s by
///   default, also when [`Sender::send`](batch_core::Sender::send) is called directly. The time limit covers
///   connecting, sending and the server's answer. The insert is then aborted and its
///   connection closed, and it fails as [`SinkErrorKind::Retryable`]: the batcher sends
///   the same bytes again (see `# Delivery` for what that means).
///
/// The `clickhouse` crate's default HTTP client has no connect timeout of its own; these
/// limits end a connection attempt that hangs. For a shorter connect timeout, build the
/// client with `Client::with_http_client` and a hyper `HttpConnector` with
/// `set_connect_timeout`.
///
/// # Errors of `send`
///
/// Network errors, timeouts, overload (`TOO_MANY_PARTS`, memory limits), 5xx, 408 and
/// 429 responses are [`SinkErrorKind::Retryable`]; errors in the query are
/// [`SinkErrorKind::Permanent`]; values the server cannot parse or store (a parse error,
/// a number out of range, a violated constraint) are [`SinkErrorKind::Permanent`] and
/// [caused by the data](SinkError::is_caused_by_data), with the failing row when the
/// server names it (`(at row N)`), so that the batcher's `isolate_bad_rows` can split
/// the batch; missing tables and refused credentials are [`SinkErrorKind::Config`].
/// Each carries the server's exception code ([`SinkError::code`]) and message. When an
/// insert fails in a way that may mean the table changed (an unknown column, a type
/// mismatch), the sink checks the schema again and reports the new mismatch as
/// [`SinkErrorKind::Schema`].
///
/// # Delivery
///
/// Each batch is one `INSERT`, its rows sent in checksummed frames (with
/// `decompress=1`: LZ4-compressed, or stored as they are when LZ4 would not shrink
/// them or with [`compression`](ClickHouseSink::compression) `None`), and a failed
/// attempt is retried with the same bytes. A Native batch is one block, in LZ4 frames
/// of at most 1 MiB; a RowBinary batch is one frame. When a connection fails, what the
/// table holds depends on when:
///
/// - **Before the server has the whole batch:** nothing of the attempt is stored, and
///   the retry stores the batch once. This matters on servers before 21.x, such as
///   18.16, which take the end of a cut-off HTTP body for the end of the data
///   (ClickHouse issue #9666). The server stores a Native block only once it has read
///   all of it, so a cut anywhere fails the insert, even at a frame's end. RowBinary
///   rows are parsed as they arrive, so the sink sends them in one frame, which the
///   server reads whole and checks before it parses a row: a cut anywhere inside it
///   fails the insert. A RowBinary batch over 512 MiB is sent as several frames, and a
///   cut between two of them can store the first rows of the batch, which the retry
///   stores again.
/// - **After the server stored the batch, before the client read the answer** (a lost
///   answer, a server killed after it wrote the part, an insert that ran past its time
///   limit): the sink cannot tell this from a failed insert, so the batch is sent again
///   and, in a table that does not deduplicate inserts (a plain `MergeTree` on 18.16),
///   stored twice. Delivery is **at-least-once**: a duplicate is always a whole batch
///   whose answer was lost.
///
/// Keep the batcher's `max_rows` at or below the server's `max_insert_block_size`
/// (1,048,576 rows by default): the server then writes a batch as one block, all or
/// nothing. It writes a larger batch block by block, so a bad row late in the batch
/// leaves the blocks before it stored (and the batcher's `isolate_bad_rows` would then
/// store them twice).
///
/// For **exactly-once** delivery across retries, insert into a table that deduplicates
/// inserts. As every attempt sends the same bytes, a retried batch is recognised:
///
/// - `Replicated*MergeTree` deduplicates inserted blocks by default, also on 18.16
///   (`insert_deduplicate = 1`; the hashes of the last `replicated_deduplication_window`
///   blocks, 100 by default on 18.16, are kept);
/// - on servers that have it (not 18.16), a plain `MergeTree` does the same with the
///   table setting `non_replicated_deduplication_window` above 0.
///
/// Both compare whole blocks, so two batches that happen to hold the same rows also
/// count as one. [`deduplicate_batches`](ClickHouseSink::deduplicate_batches) (ClickHouse
/// 22.2 and later) gives each batch its own `insert_deduplication_token` instead, so that
/// only retries of the same batch are dropped.
///
/// # Several endpoints
///
/// With [`endpoints`](ClickHouseSink::endpoints), the sink sends to several servers:
/// the replicas of one shard, or the nodes of a `Distributed` table (see `# Shards`).
/// Every server must accept every batch.
///
/// - **Routing.** Each attempt goes to one endpoint: the one with the fewest of this
///   sink's inserts in flight, round robin among equals.
/// - **Retries go elsewhere.** When an attempt fails as [`SinkErrorKind::Retryable`]
///   (a network error, a timeout, a read-only replica, a lost ZooKeeper session...),
///   the batcher sends the batch again ([`Sender::send_by`](batch_core::Sender::send_by) with the same batch), and the
///   sink picks another endpoint than the one it last failed on, whenever one is in the
///   rotation.
/// - **Ejection and probes.** An endpoint whose insert failed as retryable leaves the
///   rotation for 1 s, doubled for each failure in a row up to 30 s. After that, it is
///   probed (`SELECT 1`, within 2 s) by the next send that picks it, before it gets a
///   batch; a failed probe ejects it again. When every endpoint is ejected, the one
///   that comes back first is probed: the batcher's backoff paces the attempts. A single
///   endpoint is never ejected.
/// - **The schema check runs on every endpoint** before the first row, at once, and one
///   error reports every endpoint that differs: columns that do not fit (each reason
///   names the endpoint), column types that fit but differ between endpoints (the rows
///   are encoded once, for all of them), a missing table. An endpoint that does not
///   answer at start is left out until it passes the schema check (its probe), as long
///   as one endpoint passed; if none answers, `prepare` fails.
///
/// # Exactly-once with replicas
///
/// Every attempt at a batch sends the same frames (the rows, compressed or stored, are
/// deterministic), and a `Replicated*MergeTree` table drops an inserted block whose
/// hash it already recorded in ZooKeeper: on the same replica and on any other replica
/// of the shard, silently (the insert succeeds). The hash is of the parsed block, not of
/// the bytes sent, so how the block was framed does not matter. So a batch whose first
/// attempt was stored (its answer lost, the server killed after it wrote the part) and
/// whose retry lands on another replica is stored once. Checked on a real cluster of
/// ClickHouse 18.16: `tests/clickhouse/cluster.rs`.
///
/// **The rule:** this holds while fewer than `replicated_deduplication_window` blocks
/// (100 by default; and within `replicated_deduplication_window_seconds`, a week) were
/// inserted into the same table, by any writer, between a batch's stored attempt and its
/// retry. One batcher inserts at most `max_in_flight` batches at a time, so the blocks
/// in between are about `writers × max_in_flight × attempts`, plus the batches the other
/// slots commit while one batch is retried: keep that well inside the window, for
/// example a shorter retry deadline, or a larger window on the table
/// (`SETTINGS replicated_deduplication_window = 1000`) for many writers or long outages.
/// **Beyond the window** the table no longer remembers the block, and the retry is
/// stored again: a whole-batch duplicate, the at-least-once behaviour of `# Delivery`.
/// The same happens when the rows of two different batches are identical (the table
/// cannot tell them apart from a retry, so it keeps one): give rows something unique,
/// such as an id.
///
/// Without `insert_quorum`, the server acknowledges an insert once one replica wrote
/// it; the others fetch the part later. A replica that dies before they did holds the
/// only copy until it comes back (`insert_quorum = 2`, through
/// [`with_setting`](ClickHouseSink::with_setting), makes the answer wait for two).
///
/// # Shards
///
/// **The recommended path is a `Distributed` table** over `Replicated*MergeTree` local
/// tables, with the sink's endpoints being the cluster's nodes: the server splits each
/// batch by the table's sharding key, so the sink stays one insert per batch, any node
/// can take any batch (so a failing node is failed over like a replica), and the key
/// lives with the table. Use a deterministic sharding key (`id`, `cityHash64(user)`,
/// never `rand()`): each shard then receives the same block on every attempt and drops
/// it when a part of an earlier attempt was stored, so exactly-once holds per shard.
///
/// For a `Distributed` table the sink sends `insert_distributed_sync = 1` (unless you
/// set it), so that the answer comes after every shard stored its part: without it,
/// the node answers at once and forwards the blocks later from a spool on its disk, and
/// a batch the sink counts as committed may still be lost with that node. While a shard
/// is down, inserts fail and are retried (the batcher's default rides out two minutes),
/// and the parts already stored on the other shards are dropped as duplicates.
///
/// Client-side sharding (a sink per shard, the rows routed by key in the application)
/// is not offered: the batcher's batches mix keys, so the sink would have to decode
/// each row to split a batch, and one failing shard would hold back the batches of all.
///
/// # Memory
///
/// The first attempt of a delivery makes the batch's frames on a blocking thread
/// (`tokio::task::spawn_blocking`), not on the async worker threads; its retries send
/// the same frames again ([`Batch::keep_encoded`](batch_core::Batch::keep_encoded)). In
/// [`InsertFormat::Native`], the batch is first transcoded into one block, in one pass
/// over the rows: each value goes to its column's stream. With LZ4 the streams are
/// compressed where they lie, in frames of at most 1 MiB (small parts such as column
/// names gathered into one), and the frames are held until they are sent; the block is
/// never joined. Without compression the streams are joined into the block, which is
/// sent itself. The sink counts the streams, the block, the dictionaries of
/// `LowCardinality` columns and the frames. The streams and the block, and the buffer
/// the frames lie in once the delivery is over, are kept for the next batch rather than
/// freed (at most 32 MiB of them while no batch is being transcoded or sent: the
/// buffers of two default batches of short rows), which spares the kernel the work of
/// handing out fresh memory for every batch.
///
/// In [`InsertFormat::RowBinary`] (and for batches LZ4 cannot shrink), rows that LZ4
/// shrinks (judged on the first 64 KiB of the batch) are compressed: a batch of several
/// chunks is first copied into one piece of memory, given back as soon as it is
/// compressed, and the frame is held until the delivery is over; both buffers are then
/// kept for the next batch (at most 40 MiB of them, for the same reason). Rows that LZ4
/// would not shrink,
/// and every batch with [`InsertCompression::None`], are stored as they are, without a
/// copy: the frame's checksum is computed over the batch's chunks, which are then sent
/// themselves after 25 bytes of checksum and header. The sink reports what it holds
/// ([`Sender::send_memory`](batch_core::Sender::send_memory)), so that the batcher
/// counts it within its `max_buffered_bytes`: the most a batch's encoding can take,
/// before it starts. Once the frames are made, it says what they hold
/// ([`Batch::shrink_send_memory`]), and the batcher gives the rest back for other
/// batches and producers to use. The buffers kept for the next batch, the transcoder's
/// in Native (at most 32 MiB) and the copies and frames in RowBinary (at most 40 MiB),
/// are the memory the sink holds outside `max_buffered_bytes`.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use batch_clickhouse::ClickHouseSink;
///
/// let client = clickhouse::Client::default()
///     .with_url("http://127.0.0.1:8123")
///     .with_user("default");
/// let sink = ClickHouseSink::new(client)
///     .database("analytics")
///     .schema_timeout(Duration::from_secs(5))
///     .with_setting("async_insert", "1")
///     .with_setting("wait_for_async_insert", "1");
/// // Hand `sink` to the batcher.
/// # drop(sink);
/// ```
#[derive(Debug, Clone)]
#[must_use = "a sink does nothing until a batcher sends batches through it"]
pub struct ClickHouseSink {
    /// For the schema check: the user's client as it is.
    client: Client,
    /// For inserts: without the client's compression, as the sink compresses.
    insert_client: Client,
    database: Option<String>,
    table: Option<String>,
    settings: Vec<(String, String)>,
    insert_timeout: Duration,
    schema_timeout: Duration,
    deduplicate: bool,
    /// The URLs of [`ClickHouseSink::endpoints`]; empty: the client's own.
    urls: Vec<String>,
    format: InsertFormat,
    compression: InsertCompression,
}

/// A [`ClickHouseSink`] whose schema check passed ([`Sink::prepare`]): it sends batches
/// ([`Sender`]). The batcher makes it and owns it; tests and tools that send batches
/// themselves get one from `prepare`. Cloning shares the endpoints' health and the
/// Native transcoder's buffers.
///
/// # Examples
///
/// ```no_run
/// # async fn run() -> Result<(), batch_core::SinkError> {
/// # #[derive(batch_derive::BatchRow)] #[batch(crate = "batch_core")] struct Event { id: u64 }
/// use batch_clickhouse::{ClickHouseSink, RowBinary};
/// use batch_core::{Schema, Sender, Sink};
///
/// let sink = ClickHouseSink::new(clickhouse::Client::default().with_url("http://127.0.0.1:8123"));
/// let sender = sink.prepare(Schema::checked::<Event, RowBinary>()).await?;
/// println!("{}", sender.statement());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ClickHouseSender {
    sink: ClickHouseSink,
    prepared: Prepared,
}

/// What the schema check resolved.
#[derive(Debug, Clone)]
struct Prepared {
    database: String,
    table: String,
    /// `db.table`, for messages.
    label: String,
    /// The `INSERT` statement in RowBinary.
    sql: String,
    schema: Schema,
    columns: Vec<ChType>,
    /// Settings the columns need (sent unless the user set them).
    implied: Vec<(&'static str, &'static str)>,
    /// The start of each batch's `insert_deduplication_token`, with
    /// [`ClickHouseSink::deduplicate_batches`].
    token_prefix: Option<String>,
    /// The servers batches go to, and their health; shared by clones of the sink.
    endpoints: Arc<Endpoints>,
    /// The transcoder and the `INSERT` statement in Native, when batches are sent in
    /// [`InsertFormat::Native`].
    native: Option<(Arc<NativeBlock>, String)>,
    /// The buffers RowBinary batches are compressed through, kept between batches.
    kept: Arc<Kept>,
}

impl ClickHouseSender {
    /// The `INSERT` statement batches are sent with: `... FORMAT Native` when the sink
    /// sends Native (batches of rows LZ4 cannot shrink then go as
    /// `... FORMAT RowBinary`, see [`insert_format`](ClickHouseSink::insert_format)),
    /// else `... FORMAT RowBinary`.
    #[must_use]
    pub fn statement(&self) -> &str {
        match &self.prepared.native {
            Some((_, sql)) => sql.as_str(),
            None => self.prepared.sql.as_str(),
        }
    }
}

impl Sink for ClickHouseSink {
    type Format = RowBinary;
    type Sender = ClickHouseSender;

    /// Runs the schema check (see [`ClickHouseSink`]) and builds the `INSERT`, within
    /// [`schema_timeout`](ClickHouseSink::schema_timeout).
    ///
    /// # Errors
    ///
    /// [`SinkErrorKind::Schema`] listing every mismatched column;
    /// [`SinkErrorKind::Config`] for a missing database or table or refused
    /// credentials; network errors and a server that does not answer in time as
    /// [`SinkErrorKind::Retryable`].
    async fn prepare(self, schema: Schema) -> Result<ClickHouseSender, SinkError> {
        self.run_prepare(schema).await
    }
}

impl Sender for ClickHouseSender {
    type Format = RowBinary;

    fn columns(&self) -> &[ChType] {
        &self.prepared.columns
    }

    /// Sends one batch as one `INSERT`, within
    /// [`insert_timeout`](ClickHouseSink::insert_timeout); see [`Sender::send_by`](batch_core::Sender::send_by).
    ///
    /// # Errors
    ///
    /// As [`send_by`](ClickHouseSender::send_by).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future aborts the `INSERT`: the server discards what it received.
    async fn send(&self, batch: &Batch) -> Result<(), SinkError> {
        self.run_send(batch, Instant::now() + self.sink.insert_timeout)
            .await
    }

    /// Sends one batch as one `INSERT` (a Native block in frames of 1 MiB, RowBinary rows
    /// in one frame unless the batch is over 512 MiB), and ends it at `deadline` (or after
    /// [`insert_timeout`](ClickHouseSink::insert_timeout), if that comes first); see
    /// `# Time limits` and `# Delivery` in [`ClickHouseSink`].
    ///
    /// # Errors
    ///
    /// A classified [`SinkError`] with the server's code and message (see
    /// [`ClickHouseSink`]). An insert that runs out of time is
    /// [`SinkErrorKind::Retryable`], never [`SinkErrorKind::PossiblyPersisted`]: for
    /// ClickHouse, sending the batch again is the documented at-least-once behaviour,
    /// and a deduplicating table drops the copy.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future aborts the `INSERT`: the server discards what it received.
    async fn send_by(&self, batch: &Batch, deadline: Instant) -> Result<(), SinkError> {
        let deadline = deadline.min(Instant::now() + self.sink.insert_timeout);
        self.run_send(batch, deadline).await
    }

    /// In [`InsertFormat::Native`], for rows LZ4 shrinks: the columns the batch is
    /// transcoded into (a bound computed from the batch's size, or, for tables with
    /// arrays or maps, by reading its rows), the dictionaries of `LowCardinality`
    /// columns, and the frames the columns are compressed into; without compression,
    /// the block the columns are joined into instead of the frames.
    ///
    /// In [`InsertFormat::RowBinary`], for rows LZ4 shrinks: the frame the batch is
    /// compressed into, plus the contiguous copy of its rows made for compressing it
    /// when the batch is in several chunks. For rows stored as they are (in either
    /// format): the frame's 25 bytes of checksum and header and the list of its pieces,
    /// which point into the batch's chunks.
    fn send_memory(&self, batch: &Batch) -> usize {
        let p = &self.prepared;
        match native_for(p, self.sink.compression, batch) {
            Some((native, _)) => {
                let lz4 = self.sink.compression == InsertCompression::Lz4;
                let max_frame = if lz4 { BLOCK_FRAME } else { MAX_FRAME };
                // With LZ4 the columns are compressed where they lie, never joined.
                let transcoding = if lz4 {
                    native.columns_bound(batch)
                } else {
                    native.memory_bound(batch)
                };
                transcoding + frame::block_send_memory(native.block_bound(batch), max_frame, lz4)
            }
            None => frame::send_memory(batch, MAX_FRAME, self.sink.compression.lz4_for(batch)),
        }
    }
}
