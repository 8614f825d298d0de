//! [`ClickHouseSink`]: the schema check, then one `INSERT ... FORMAT Native` (or
//! `RowBinary`) per batch through the `clickhouse` crate's formatted-insert API, the
//! batch transcoded and compressed by the sink into one frame.

use std::sync::Arc;
use std::time::Duration;

use batch_core::{Batch, Schema, Sink, SinkError, SinkErrorKind};
use clickhouse::{Client, Compression};
use tokio::time::Instant;

use crate::classify::{classify, server_code};
use crate::dedup;
use crate::endpoints::{Endpoint, Endpoints, Pick, PROBE_TIMEOUT};
use crate::frame::{self, Frame, InsertCompression, MAX_FRAME};
use crate::native::{InsertFormat, NativeBlock};
use crate::rowbinary::RowBinary;
use crate::schema::{self, check_endpoint, combine, Checked};
use crate::sql::quote_ident;
use crate::types::ChType;

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
/// - **Each insert** ends at the deadline the batcher gives ([`Sink::send_by`]: the
///   earlier of its attempt timeout, 30 s by default, and the retry deadline), and at
///   the latest after [`insert_timeout`](ClickHouseSink::insert_timeout), 30 s by
///   default, also when [`Sink::send`] is called directly. The time limit covers
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
/// Each batch is one `INSERT`, its rows sent as one checksummed frame (with
/// `decompress=1`: LZ4-compressed, or stored as they are when LZ4 would not shrink
/// them), and a failed attempt is retried with the same bytes. When a
/// connection fails, what the table holds depends on when:
///
/// - **Before the server has the whole batch:** nothing of the attempt is stored, and
///   the retry stores the batch once. The server reads the whole frame and checks its
///   checksum before it parses a row, so a cut anywhere inside the frame fails the
///   insert. This matters on servers before 21.x, such as 18.16, which take the end of a
///   cut-off HTTP body for the end of the data (ClickHouse issue #9666): a batch over
///   512 MiB is sent as several frames, and a cut between two of them can store the
///   first rows of the batch, which the retry stores again.
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
///   the batcher sends the batch again ([`Sink::send_by`] with the same batch), and the
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
/// Every attempt at a batch sends the same frame (the rows, compressed or stored, are
/// deterministic), and a `Replicated*MergeTree` table drops an inserted block whose
/// hash it already recorded in ZooKeeper: on the same replica and on any other replica
/// of the shard, silently (the insert succeeds). The hash is of the parsed block, not of
/// the bytes sent, so how the block was framed does not matter. So a batch whose first
/// attempt was stored (its answer lost, the server killed after it wrote the part) and
/// whose retry lands on another replica is stored once. Checked on a real cluster of
/// ClickHouse 18.16: `tests/clickhouse_cluster.rs`.
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
/// Each attempt makes the batch's frame on a blocking thread
/// (`tokio::task::spawn_blocking`), not on the async worker threads. In
/// [`InsertFormat::Native`], the batch is first transcoded into one block, allocated at
/// its exact size (in two passes over the rows); the block is compressed and dropped,
/// and the frame is held until it is sent. The sink counts the block, the dictionaries
/// of `LowCardinality` columns and the frame: about what the RowBinary path below holds
/// for a batch of several chunks.
///
/// In [`InsertFormat::RowBinary`] (and for batches LZ4 cannot shrink), rows that LZ4
/// shrinks (judged on the first 64 KiB of the batch) are compressed: a batch of several
/// chunks is first copied into one piece of memory, dropped as soon as it is
/// compressed, and the frame is held until it is sent. Rows that LZ4 would not shrink
/// are stored as they are, without a copy: the frame's checksum is computed over the
/// batch's chunks, which are then sent themselves after 25 bytes of checksum and
/// header. The sink reports what it holds ([`Sink::send_memory`]), so that the batcher
/// counts it within its `max_buffered_bytes`.
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
#[must_use]
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
    prepared: Option<Prepared>,
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
}

impl ClickHouseSink {
    /// A sink that writes through `client`.
    pub fn new(client: Client) -> Self {
        let client = client.with_validation(false);
        ClickHouseSink {
            insert_client: client.clone().with_compression(Compression::None),
            client,
            database: None,
            table: None,
            settings: Vec::new(),
            insert_timeout: INSERT_TIMEOUT,
            schema_timeout: SCHEMA_TIMEOUT,
            deduplicate: false,
            urls: Vec::new(),
            format: InsertFormat::default(),
            compression: InsertCompression::default(),
            prepared: None,
        }
    }

    /// The format each batch is sent in (default: [`InsertFormat::Native`]).
    ///
    /// - [`InsertFormat::Native`]: each batch is transcoded from the producers'
    ///   RowBinary rows into one columnar block, on the blocking thread that compresses
    ///   it, and sent as `INSERT ... FORMAT Native`, in one LZ4 frame. The server parses
    ///   a Native block with less CPU than the same rows in RowBinary. Every attempt at a
    ///   batch sends the same bytes (the transcoding is deterministic), so retries and
    ///   deduplication behave as with RowBinary. The [`native`](crate::native) module
    ///   lists the layout of each type. Two exceptions go in RowBinary:
    ///   - a table with a column the Native writer does not support (`JSON`), decided
    ///     by [`Sink::prepare`], logged, and shown by
    ///     [`insert_sql`](ClickHouseSink::insert_sql);
    ///   - a batch whose rows LZ4 cannot shrink (random or encrypted payloads; judged on
    ///     its first 64 KiB, the same on every attempt): it is sent in a stored frame
    ///     made of the batch's own chunks, without a copy (see `# Memory`), where a
    ///     Native block would be a copy of the whole batch held during the send.
    /// - [`InsertFormat::RowBinary`]: the rows are sent as the producers encoded them.
    ///   On a data error, servers name the failing row of a RowBinary insert
    ///   (`(at row N)`), which lets the batcher's `isolate_bad_rows` split a batch at
    ///   that row instead of bisecting it.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use batch_clickhouse::{ClickHouseSink, InsertFormat};
    ///
    /// let client = clickhouse::Client::default().with_url("http://127.0.0.1:8123");
    /// let sink = ClickHouseSink::new(client).insert_format(InsertFormat::RowBinary);
    /// // Hand `sink` to the batcher.
    /// # drop(sink);
    /// ```
    pub fn insert_format(mut self, format: InsertFormat) -> Self {
        self.format = format;
        self
    }

    /// How each batch's frame is compressed (default: [`InsertCompression::Lz4`]); see
    /// [`InsertCompression`]. The client's own compression setting applies to the
    /// schema check only.
    ///
    /// With [`InsertCompression::None`], a Native sink sends every batch in Native
    /// (with LZ4, rows LZ4 cannot shrink go in RowBinary, see
    /// [`insert_format`](ClickHouseSink::insert_format)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use batch_clickhouse::{ClickHouseSink, InsertCompression};
    ///
    /// let client = clickhouse::Client::default().with_url("http://127.0.0.1:8123");
    /// let sink = ClickHouseSink::new(client).compression(InsertCompression::None);
    /// // Hand `sink` to the batcher.
    /// # drop(sink);
    /// ```
    pub fn compression(mut self, compression: InsertCompression) -> Self {
        self.compression = compression;
        self
    }

    /// Sends batches to several servers instead of the client's URL alone: the replicas
    /// of one shard, or the nodes of a `Distributed` table (every server must take any
    /// batch). The client's user, password, database, settings and HTTP client apply to
    /// every one of them. See `# Several endpoints` in [`ClickHouseSink`] for how a batch
    /// is routed, what a failing server gets, and the exactly-once rule.
    ///
    /// Calling it again replaces the list; an empty list means the client's own URL.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use batch_clickhouse::ClickHouseSink;
    ///
    /// // Two replicas of `ReplicatedMergeTree` tables: a batch that fails on one is
    /// // sent to the other, which drops it if the first one stored it after all.
    /// let client = clickhouse::Client::default().with_user("default");
    /// let sink = ClickHouseSink::new(client)
    ///     .endpoints(["http://ch-1:8123", "http://ch-2:8123"]);
    /// // Hand `sink` to the batcher.
    /// # drop(sink);
    /// ```
    pub fn endpoints<I, S>(mut self, urls: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.urls = urls.into_iter().map(Into::into).collect();
        self
    }

    /// The endpoints a sink with these settings sends to.
    fn build_endpoints(&self) -> Endpoints {
        let urls: Vec<Option<String>> = if self.urls.is_empty() {
            vec![None]
        } else {
            self.urls.iter().cloned().map(Some).collect()
        };
        Endpoints::new(
            urls.into_iter()
                .map(|url| Endpoint::new(url, &self.client, &self.insert_client))
                .collect(),
        )
    }

    /// The database of the table. Default: the client's database
    /// (`Client::with_database`), or else the server's current database for the user
    /// (usually `default`).
    pub fn database(mut self, database: impl Into<String>) -> Self {
        self.database = Some(database.into());
        self
    }

    /// The table to insert into. Default: the row type's table
    /// (`#[batch(table = "...")]`).
    pub fn table(mut self, table: impl Into<String>) -> Self {
        self.table = Some(table.into());
        self
    }

    /// A setting sent with every insert, such as `async_insert`,
    /// `wait_for_async_insert` or `insert_quorum`. Only the settings set here (and on
    /// the client) are sent, so a server that lacks a setting is not bothered with it
    /// unless you ask.
    ///
    /// Setting the same name again replaces the value.
    ///
    /// `insert_deduplication_token` is refused (by [`Sink::prepare`], with
    /// [`SinkErrorKind::Config`]): one token for every insert would make a
    /// deduplicating table keep the first batch and drop the others. Use
    /// [`deduplicate_batches`](ClickHouseSink::deduplicate_batches), which gives each
    /// batch its own.
    pub fn with_setting(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let (name, value) = (name.into(), value.into());
        match self.settings.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.settings.push((name, value)),
        }
        self
    }

    /// The longest one insert may take, from connecting to the server's answer
    /// (default: 30 s). The batcher's deadline ([`Sink::send_by`]) ends it earlier when
    /// it comes first; to let inserts run longer, raise both this and the batcher's
    /// attempt timeout (`RetryPolicy::attempt_timeout`). An insert that runs out of time
    /// is aborted and fails as [`SinkErrorKind::Retryable`]; see `# Time limits` in
    /// [`ClickHouseSink`].
    pub fn insert_timeout(mut self, timeout: Duration) -> Self {
        self.insert_timeout = timeout;
        self
    }

    /// The longest the schema check may take (default: 10 s): the queries of
    /// [`Sink::prepare`], and the check the sink runs again when an insert fails in a way
    /// that may mean the table changed. A check that runs out of time fails as
    /// [`SinkErrorKind::Retryable`], saying that the server did not answer.
    pub fn schema_timeout(mut self, timeout: Duration) -> Self {
        self.schema_timeout = timeout;
        self
    }

    /// Sends each batch with its own `insert_deduplication_token` (default: off), so
    /// that a table that deduplicates inserts stores a retried batch once: exactly-once
    /// delivery across retries. See `# Delivery` in [`ClickHouseSink`].
    ///
    /// The token is the same on every attempt to send a batch, and differs between
    /// batches: it is made of a random number drawn when the sink is prepared, the
    /// batch's id, the rows of the sealed batch it holds ([`Batch::range`]: a part split
    /// off to isolate a bad row has its own), and a hash of its bytes.
    ///
    /// A batch whose every row was inserted with a position
    /// ([`Handle::insert_many_at`](batch_core::Handle::insert_many_at)) gets a token made
    /// of its positions alone (`batchrow-pos-0:100-199,1:100-199`), the same in every
    /// process: a consumer that replays positions after a restart has a batch it had
    /// already stored dropped, when the replayed batch holds exactly the same positions
    /// in the same order (the same rows at the same batch boundaries, as when it replays
    /// from the start of an unacknowledged batch with the same `max_rows`). A batch cut
    /// at other boundaries carries another token and is stored again. The positions must
    /// name the rows of this table: two producers that give different rows the same
    /// positions would have the second one dropped.
    ///
    /// On ClickHouse 18.16 (no tokens) a plain `MergeTree` stores a replayed batch again:
    /// delivery there is at-least-once, after a lost answer as after a restart.
    ///
    /// It needs ClickHouse 22.2 or later, which has the setting; [`Sink::prepare`] fails
    /// with [`SinkErrorKind::Config`] on older servers (such as 18.16, which refuses
    /// settings it does not know). The server deduplicates by token only in tables that
    /// deduplicate inserts: `Replicated*MergeTree` (by default), or a `MergeTree` with
    /// the table setting `non_replicated_deduplication_window` above 0; elsewhere the
    /// token has no effect.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use batch_clickhouse::ClickHouseSink;
    ///
    /// // Into `CREATE TABLE events (...) ENGINE = MergeTree ORDER BY id
    /// //       SETTINGS non_replicated_deduplication_window = 1000` on ClickHouse 22.2+.
    /// let client = clickhouse::Client::default().with_url("http://127.0.0.1:8123");
    /// let sink = ClickHouseSink::new(client).deduplicate_batches(true);
    /// // Hand `sink` to the batcher.
    /// # drop(sink);
    /// ```
    pub fn deduplicate_batches(mut self, on: bool) -> Self {
        self.deduplicate = on;
        self
    }

    /// The column types resolved by the schema check, in the row type's column order
    /// (`None` before [`Sink::prepare`]).
    #[must_use]
    pub fn columns(&self) -> Option<&[ChType]> {
        self.prepared.as_ref().map(|p| p.columns.as_slice())
    }

    /// The `INSERT` statement batches are sent with (`None` before
    /// [`Sink::prepare`]): `... FORMAT Native` when the sink sends Native (batches of
    /// rows LZ4 cannot shrink then go as `... FORMAT RowBinary`, see
    /// [`insert_format`](ClickHouseSink::insert_format)), else `... FORMAT RowBinary`.
    #[must_use]
    pub fn insert_sql(&self) -> Option<&str> {
        self.prepared.as_ref().map(|p| match &p.native {
            Some((_, sql)) => sql.as_str(),
            None => p.sql.as_str(),
        })
    }

    async fn run_prepare(&mut self, schema: Schema) -> Result<Vec<ChType>, SinkError> {
        dedup::refuse_fixed_token(&self.client, &self.settings)?;
        let endpoints = self.build_endpoints();
        let table = self
            .table
            .clone()
            .unwrap_or_else(|| schema.table.to_owned());
        let database = self
            .database
            .clone()
            .or_else(|| self.client.database().map(str::to_owned));
        // Every endpoint at once, each within the schema timeout.
        let mut checks = tokio::task::JoinSet::new();
        for (i, e) in endpoints.iter().enumerate() {
            let check = check_endpoint(
                e.client.clone(),
                database.clone(),
                table.clone(),
                schema,
                self.deduplicate,
                self.schema_timeout,
            );
            checks.spawn(async move { (i, check.await) });
        }
        let mut results: Vec<(usize, Result<Checked, SinkError>)> = Vec::new();
        while let Some(joined) = checks.join_next().await {
            match joined {
                Ok(result) => results.push(result),
                Err(e) => {
                    return Err(SinkError::retryable(format!(
                        "ClickHouse: the schema check of table `{table}` did not finish: {e}"
                    )))
                }
            }
        }
        results.sort_by_key(|(i, _)| *i);
        let checked = combine(&endpoints, &table, &schema, results)?;
        let now = Instant::now();
        for &i in &checked.unreachable {
            endpoints.start_unchecked(i, now);
            tracing::warn!(
                endpoint = endpoints.get(i).url.as_deref().unwrap_or_default(),
                "ClickHouse endpoint did not answer the schema check; it gets no batch until \
                 it answers one"
            );
        }
        let Checked {
            database,
            columns,
            distributed,
        } = checked.checked;
        let label = format!("{database}.{table}");
        let native = match self.format {
            InsertFormat::Native => {
                match NativeBlock::new(schema.columns.iter().map(|c| c.name).zip(&columns)) {
                    Ok(native) => Some(Arc::new(native)),
                    Err(e) => {
                        tracing::info!(
                            table = label,
                            "batchrow: sending table {label} in RowBinary, not Native: {e}"
                        );
                        None
                    }
                }
            }
            InsertFormat::RowBinary => None,
        };
        let names: Vec<String> = schema.columns.iter().map(|c| quote_ident(c.name)).collect();
        let sql = |format: InsertFormat| {
            format!(
                "INSERT INTO {}.{} ({}) FORMAT {format}",
                quote_ident(&database),
                quote_ident(&table),
                names.join(", "),
            )
        };
        let native = native.map(|n| (n, sql(InsertFormat::Native)));
        let sql = sql(InsertFormat::RowBinary);
        let mut implied = Vec::new();
        if columns.iter().any(has_json) {
            implied.push(("input_format_binary_read_json_as_string", "1"));
        }
        if distributed {
            // A Distributed table answers once every shard stored its part; without it,
            // the node spools the batch and answers at once (see `# Shards`).
            implied.push((DISTRIBUTED_SYNC, "1"));
        }
        self.prepared = Some(Prepared {
            database,
            table,
            label,
            sql,
            schema,
            columns: columns.clone(),
            implied,
            token_prefix: self.deduplicate.then(dedup::prefix),
            endpoints: Arc::new(endpoints),
            native,
        });
        Ok(columns)
    }

    /// Runs the schema check; each endpoint's within
    /// [`schema_timeout`](ClickHouseSink::schema_timeout).
    async fn prepare_in_time(&mut self, schema: Schema) -> Result<Vec<ChType>, SinkError> {
        self.run_prepare(schema).await
    }

    /// Probes endpoint `pick` before it gets a batch again: `SELECT 1`, or the schema
    /// check if it has not passed one yet. `Err(true)` when its table no longer fits.
    async fn probe(&self, p: &Prepared, pick: Pick, deadline: Instant) -> Result<(), bool> {
        let e = p.endpoints.get(pick.index);
        let limit = PROBE_TIMEOUT.min(deadline.saturating_duration_since(Instant::now()));
        if !pick.unchecked {
            let ping = e.client.query("SELECT 1").fetch_one::<u8>();
            return match tokio::time::timeout(limit, ping).await {
                Ok(Ok(1)) => Ok(()),
                _ => Err(false),
            };
        }
        let check = check_endpoint(
            e.client.clone(),
            Some(p.database.clone()),
            p.table.clone(),
            p.schema,
            p.token_prefix.is_some(),
            limit,
        )
        .await;
        match check {
            Ok(c) if c.columns == p.columns => Ok(()),
            Ok(c) => {
                tracing::error!(
                    endpoint = e.url.as_deref().unwrap_or_default(),
                    "ClickHouse endpoint's table {} differs from the other endpoints' \
                     ({:?} instead of {:?}); it gets no batch",
                    p.label,
                    c.columns,
                    p.columns
                );
                Err(true)
            }
            Err(err) if err.is_retryable() => Err(false),
            Err(err) => {
                tracing::error!(
                    endpoint = e.url.as_deref().unwrap_or_default(),
                    "ClickHouse endpoint failed the schema check: {err}; it gets no batch"
                );
                Err(true)
            }
        }
    }

    /// Makes the batch's frames on a blocking thread (the Native block, then LZ4 or the
    /// checksum's pass over the rows of a stored frame).
    async fn compress(
        batch: &Batch,
        native: Option<Arc<NativeBlock>>,
        compression: InsertCompression,
    ) -> Result<Vec<Frame>, SinkError> {
        let owned = batch.clone();
        let rows = batch.rows();
        let framing = move |e: frame::FrameError| {
            SinkError::permanent(format!("ClickHouse: compressing {rows} rows: {e}")).with_source(e)
        };
        let job = move || -> Result<Vec<Frame>, SinkError> {
            let Some(native) = native else {
                let lz4 = compression.lz4_for(&owned);
                return frame::frames(&owned, MAX_FRAME, lz4).map_err(framing);
            };
            // Rows that do not read as their columns' values (rows written by hand, or a
            // bug): the row is named, as the server names a row it cannot parse.
            let transcode_error = |e: crate::Error| {
                let row = match &e {
                    crate::Error::Transcode { row, column, .. } if !column.is_empty() => Some(*row),
                    _ => None,
                };
                let err = SinkError::permanent(format!("ClickHouse: {e}"));
                match row {
                    Some(row) => err.caused_by_data().with_row(row),
                    None => err,
                }
                .with_source(e)
            };
            // The buffers of an earlier batch, given back for the next one once the block
            // is compressed (a stored frame takes the block itself).
            let mut scratch = native.scratch();
            let framed = match native.transcode_into(&owned, &mut scratch) {
                Err(e) => Err(transcode_error(e)),
                Ok(()) if compression == InsertCompression::Lz4 => {
                    frame::block_frames(scratch.block(), MAX_FRAME).map_err(framing)
                }
                Ok(()) => frame::stored_block_frames(scratch.take_block().into(), MAX_FRAME)
                    .map_err(framing),
            };
            native.recycle(scratch);
            framed
        };
        match tokio::task::spawn_blocking(job).await {
            Ok(result) => result,
            // The same bytes would panic again.
            Err(e) if e.is_panic() => Err(SinkError::permanent(format!(
                "ClickHouse: compressing {} rows panicked",
                batch.rows()
            ))),
            Err(e) => Err(SinkError::retryable(format!(
                "ClickHouse: compressing {} rows was cancelled: {e}",
                batch.rows()
            ))),
        }
    }

    /// Sends the frames as one `INSERT`; the `clickhouse` crate ends it at `deadline`
    /// and aborts its connection.
    async fn insert(
        &self,
        endpoint: &Endpoint,
        p: &Prepared,
        batch: &Batch,
        (sql, frames): (&str, Vec<Frame>),
        deadline: Instant,
    ) -> Result<(), clickhouse::error::Error> {
        let left = Some(deadline.saturating_duration_since(Instant::now()));
        let mut insert = endpoint
            .insert_client
            .insert_formatted_with(sql)
            .with_timeouts(left, left)
            .with_setting("decompress", "1");
        for (name, value) in &p.implied {
            if !self.settings.iter().any(|(n, _)| n == name) {
                insert = insert.with_setting(*name, *value);
            }
        }
        for (name, value) in &self.settings {
            insert = insert.with_setting(name.as_str(), value.as_str());
        }
        if let Some(prefix) = &p.token_prefix {
            insert = insert.with_setting(dedup::SETTING, dedup::token(prefix, batch));
        }
        for piece in frames.into_iter().flat_map(Frame::into_pieces) {
            insert.send(piece).await?;
        }
        insert.end().await
    }

    /// Chooses the endpoint for an attempt at `batch`, probing an ejected one first
    /// (see `# Several endpoints` in [`ClickHouseSink`]).
    async fn choose(&self, p: &Prepared, batch: &Batch, deadline: Instant) -> Option<usize> {
        let mut skip = Vec::new();
        loop {
            let pick = p.endpoints.pick(batch, &skip, Instant::now())?;
            if !pick.probe {
                return Some(pick.index);
            }
            match self.probe(p, pick, deadline).await {
                Ok(()) => {
                    p.endpoints.probe_passed(pick.index);
                    return Some(pick.index);
                }
                Err(true) => p.endpoints.failed_for_long(pick.index, Instant::now()),
                Err(false) => {
                    p.endpoints.failed(pick.index, None, Instant::now());
                }
            }
            skip.push(pick.index);
        }
    }

    async fn run_send(&self, batch: &Batch, deadline: Instant) -> Result<(), SinkError> {
        let Some(p) = &self.prepared else {
            return Err(SinkError::new(
                SinkErrorKind::Config,
                "ClickHouseSink::send was called before prepare",
            ));
        };
        // Written as it is, without a copy, when the batch goes in RowBinary.
        if batch.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        let out_of_time = |sent: bool, at: &str| {
            let what = if sent {
                "got no answer from the server"
            } else {
                "could not be compressed"
            };
            SinkError::retryable(format!(
                "ClickHouse: inserting {} rows into {}{at}: {what} within {:?} (the insert \
                 timeout or the batcher's deadline); the batch is sent again",
                batch.rows(),
                p.label,
                deadline.saturating_duration_since(started)
            ))
        };
        let native = native_for(p, self.compression, batch);
        let sql = match native {
            Some((_, sql)) => sql.as_str(),
            None => p.sql.as_str(),
        };
        let compress = Self::compress(batch, native.map(|(n, _)| n.clone()), self.compression);
        let frames = match tokio::time::timeout_at(deadline, compress).await {
            Ok(frames) => frames?,
            Err(_) => return Err(out_of_time(false, "")),
        };
        let Some(index) = self.choose(p, batch, deadline).await else {
            return Err(SinkError::retryable(format!(
                "ClickHouse: inserting {} rows into {}: none of the {} endpoints answered \
                 its probe; the batch is sent again",
                batch.rows(),
                p.label,
                p.endpoints.len()
            )));
        };
        let endpoint = p.endpoints.get(index);
        let result = {
            let _in_flight = p.endpoints.begin(index);
            self.attempt(p, endpoint, batch, (sql, frames), deadline, &out_of_time)
                .await
        };
        match &result {
            Err(e) if e.is_retryable() => {
                let ejected = p.endpoints.failed(index, Some(batch), Instant::now());
                if !ejected.is_zero() {
                    tracing::warn!(
                        endpoint = endpoint.url.as_deref().unwrap_or_default(),
                        ?ejected,
                        "ClickHouse endpoint ejected after a failed insert: {e}"
                    );
                }
            }
            _ => p.endpoints.answered(index, batch),
        }
        result
    }

    /// One insert of the batch's frames on `endpoint`, its error classified (and the
    /// schema checked again there when the error may mean the table changed).
    async fn attempt(
        &self,
        p: &Prepared,
        endpoint: &Endpoint,
        batch: &Batch,
        sent: (&str, Vec<Frame>),
        deadline: Instant,
        out_of_time: &(dyn Fn(bool, &str) -> SinkError + Sync),
    ) -> Result<(), SinkError> {
        let at = if p.endpoints.len() > 1 {
            endpoint.at()
        } else {
            String::new()
        };
        let attempt = self.insert(endpoint, p, batch, sent, deadline);
        let e = match tokio::time::timeout_at(deadline + GRACE, attempt).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(clickhouse::error::Error::TimedOut)) | Err(_) => {
                return Err(out_of_time(true, &at));
            }
            Ok(Err(e)) => e,
        };
        let err = classify(
            e,
            &format!("inserting {} rows into {}{at}", batch.rows(), p.label),
        );
        if !schema::may_be_schema_change(server_code(&err)) {
            return Err(err);
        }
        let recheck = schema::recheck(
            &endpoint.client,
            &p.database,
            &p.table,
            &p.label,
            &p.schema,
            &p.columns,
        );
        let recheck_by = (Instant::now() + self.schema_timeout).min(deadline + GRACE);
        match tokio::time::timeout_at(recheck_by, recheck).await {
            Ok(Ok(Some(mismatch))) => {
                let mut e = SinkError::schema(mismatch);
                if let Some(code) = err.code() {
                    e = e.with_code(code);
                }
                Err(e.with_source(err))
            }
            // The table still fits: the data itself was refused.
            Ok(Ok(None)) => Err(err),
            // The table or database is gone.
            Ok(Err(recheck)) if recheck.kind() == SinkErrorKind::Config => Err(recheck),
            // The server went away meanwhile, or did not answer in time.
            Ok(Err(_)) | Err(_) => Err(err),
        }
    }
}

/// The transcoder and statement for `batch` when it goes in Native: when the sink sends
/// Native, without compression or with LZ4 when LZ4 shrinks the batch's rows. Rows LZ4
/// cannot shrink go in RowBinary, in a stored frame made of the batch's own chunks,
/// without a copy (see [`ClickHouseSink::insert_format`]). Deterministic: every attempt
/// decides the same.
fn native_for<'p>(
    p: &'p Prepared,
    compression: InsertCompression,
    batch: &Batch,
) -> Option<&'p (Arc<NativeBlock>, String)> {
    p.native.as_ref().filter(|_| match compression {
        InsertCompression::None => true,
        _ => frame::compressible(batch),
    })
}

fn has_json(t: &ChType) -> bool {
    match t {
        ChType::Json => true,
        ChType::Nullable(t) | ChType::LowCardinality(t) | ChType::Array(t) => has_json(t),
        ChType::Map(k, v) => has_json(k) || has_json(v),
        _ => false,
    }
}

impl Sink for ClickHouseSink {
    type Format = RowBinary;

    /// Runs the schema check (see [`ClickHouseSink`]) and builds the `INSERT`, within
    /// [`schema_timeout`](ClickHouseSink::schema_timeout).
    ///
    /// # Errors
    ///
    /// [`SinkErrorKind::Schema`] listing every mismatched column;
    /// [`SinkErrorKind::Config`] for a missing database or table or refused
    /// credentials; network errors and a server that does not answer in time as
    /// [`SinkErrorKind::Retryable`].
    async fn prepare(&mut self, schema: Schema) -> Result<Vec<ChType>, SinkError> {
        self.prepare_in_time(schema).await
    }

    /// Sends one batch as one `INSERT`, within
    /// [`insert_timeout`](ClickHouseSink::insert_timeout); see [`Sink::send_by`].
    ///
    /// # Errors
    ///
    /// As [`send_by`](ClickHouseSink::send_by).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future aborts the `INSERT`: the server discards what it received.
    async fn send(&self, batch: &Batch) -> Result<(), SinkError> {
        self.run_send(batch, Instant::now() + self.insert_timeout)
            .await
    }

    /// Sends one batch as one `INSERT`, compressed into one frame unless the batch is
    /// over 512 MiB, and ends it at `deadline` (or after
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
        let deadline = deadline.min(Instant::now() + self.insert_timeout);
        self.run_send(batch, deadline).await
    }

    /// In [`InsertFormat::Native`], for rows LZ4 shrinks: the block the batch is
    /// transcoded into (a bound computed from the batch's size, or, for tables with
    /// arrays or maps, by reading its rows), the dictionaries of `LowCardinality`
    /// columns, and the frame the block is compressed into.
    ///
    /// In [`InsertFormat::RowBinary`], for rows LZ4 shrinks: the frame the batch is
    /// compressed into, plus the contiguous copy of its rows made for compressing it
    /// when the batch is in several chunks. For rows stored as they are (in either
    /// format): the frame's 25 bytes of checksum and header and the list of its pieces,
    /// which point into the batch's chunks.
    fn send_memory(&self, batch: &Batch) -> usize {
        let Some(p) = self.prepared.as_ref() else {
            return frame::send_memory(batch, MAX_FRAME, frame::compressible(batch));
        };
        match native_for(p, self.compression, batch) {
            Some((native, _)) => {
                let lz4 = self.compression == InsertCompression::Lz4;
                native.memory_bound(batch)
                    + frame::block_send_memory(native.block_bound(batch), MAX_FRAME, lz4)
            }
            None => frame::send_memory(batch, MAX_FRAME, self.compression.lz4_for(batch)),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use batch_core::RowBuffer;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A batch of `rows` 8-byte rows (the row's number), in chunks of `per_chunk` rows.
    fn batch(rows: u64, per_chunk: u64) -> Batch {
        let mut chunks = Vec::new();
        let mut buf = RowBuffer::default();
        for i in 0..rows {
            buf.push_row(|b| {
                b.extend_from_slice(&i.to_le_bytes());
                Ok::<_, batch_core::ChunkFull>(())
            })
            .unwrap();
            if (i + 1) % per_chunk == 0 {
                chunks.push(buf.take());
            }
        }
        chunks.push(buf.take());
        Batch::new(7, chunks)
    }

    /// A server that accepts connections and never answers: it keeps every connection
    /// open and reads nothing. Returns its URL.
    async fn silent_server() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((conn, _)) = listener.accept().await {
                held.push(conn);
            }
        });
        url
    }

    /// A sink prepared by hand for `url`, with `token_prefix`.
    fn prepared_sink(url: String, token_prefix: Option<&str>) -> ClickHouseSink {
        let mut sink = ClickHouseSink::new(Client::default().with_url(url));
        sink.prepared = Some(Prepared {
            database: "db".into(),
            table: "t".into(),
            label: "db.t".into(),
            sql: "INSERT INTO db.t (id) FORMAT RowBinary".into(),
            schema: Schema {
                table: "t",
                columns: &[],
            },
            columns: vec![ChType::UInt64],
            implied: Vec::new(),
            token_prefix: token_prefix.map(str::to_owned),
            endpoints: Arc::new(sink.build_endpoints()),
            native: None,
        });
        sink
    }

    #[derive(batch_derive::BatchRow)]
    #[batch(crate = "batch_core", table = "events")]
    struct Event {
        id: u64,
    }

    /// With the default settings, a server that never answers fails the start within
    /// the schema check's 10 s, with an error that says so. (Virtual time: the runtime
    /// moves the clock on while it waits.)
    #[tokio::test(start_paused = true)]
    async fn a_silent_server_fails_spawn_within_the_default_timeout() {
        let url = silent_server().await;
        let started = Instant::now();
        let spawn =
            batch_core::Batcher::builder(ClickHouseSink::new(Client::default().with_url(url)))
                .spawn::<Event>();
        let result = tokio::time::timeout(Duration::from_secs(60), spawn)
            .await
            .expect("spawn hung on a server that never answers");
        let Err(batch_core::Error::Sink(err)) = result else {
            panic!("expected the sink's error");
        };
        assert_eq!(started.elapsed(), SCHEMA_TIMEOUT);
        assert_eq!(err.kind(), SinkErrorKind::Retryable, "{err}");
        assert!(
            err.to_string()
                .starts_with("ClickHouse did not answer the schema check of table `events`"),
            "{err}"
        );
    }

    /// The same in real time, with a shorter limit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_schema_timeout_ends_the_check() {
        let url = silent_server().await;
        let sink = ClickHouseSink::new(Client::default().with_url(url))
            .schema_timeout(Duration::from_millis(300));
        let started = std::time::Instant::now();
        let err = batch_core::Batcher::builder(sink)
            .spawn::<Event>()
            .await
            .unwrap_err();
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_secs(3),
            "{took:?}"
        );
        assert!(err.to_string().contains("within 300ms"), "{err}");
    }

    /// An insert to a server that never answers ends at the deadline, as retryable; a
    /// plain `send` ends after the default insert timeout.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_insert_ends_at_its_deadline() {
        let sink = prepared_sink(silent_server().await, None);
        let b = batch(5000, 250);
        let started = std::time::Instant::now();
        let err = sink
            .send_by(&b, Instant::now() + Duration::from_millis(400))
            .await
            .unwrap_err();
        let took = started.elapsed();
        assert_eq!(err.kind(), SinkErrorKind::Retryable, "{err}");
        assert!(err.to_string().contains("got no answer"), "{err}");
        assert!(
            took >= Duration::from_millis(400) && took < Duration::from_secs(3),
            "{took:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_plain_send_ends_after_the_insert_timeout() {
        let sink = prepared_sink(silent_server().await, None);
        let started = Instant::now();
        let err = tokio::time::timeout(Duration::from_secs(120), sink.send(&batch(10, 4)))
            .await
            .expect("send hung on a server that never answers")
            .unwrap_err();
        assert!(err.is_retryable(), "{err}");
        assert!(started.elapsed() >= INSERT_TIMEOUT);
        assert!(started.elapsed() <= INSERT_TIMEOUT + GRACE);
    }

    /// Reads one HTTP request with a chunked body, answers `200 OK`, and returns the
    /// request line and the body.
    async fn serve_one(listener: TcpListener) -> (String, Vec<u8>) {
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut raw = Vec::new();
        let mut buf = [0u8; 64 << 10];
        while !raw.ends_with(b"\r\n0\r\n\r\n") {
            let n = conn.read(&mut buf).await.unwrap();
            assert!(n > 0, "the request ended early");
            raw.extend_from_slice(&buf[..n]);
        }
        let head_end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let head = String::from_utf8(raw[..head_end].to_vec()).unwrap();
        assert!(head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"));
        let mut rest = &raw[head_end..];
        let mut body = Vec::new();
        loop {
            let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size =
                usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap(), 16).unwrap();
            rest = &rest[line_end + 2..];
            if size == 0 {
                break;
            }
            body.extend_from_slice(&rest[..size]);
            rest = &rest[size + 2..];
        }
        conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .await
            .unwrap();
        (head.lines().next().unwrap().to_owned(), body)
    }

    /// The compressed frames of a body: (method byte, compressed size, uncompressed
    /// size), from the 25-byte header of each (16-byte checksum, method, two u32 sizes,
    /// the compressed size counting the 9 header bytes).
    fn frames_of(mut body: &[u8]) -> Vec<(u8, usize, usize)> {
        let mut frames = Vec::new();
        while !body.is_empty() {
            let method = body[16];
            let compressed = u32::from_le_bytes(body[17..21].try_into().unwrap()) as usize;
            let raw = u32::from_le_bytes(body[21..25].try_into().unwrap()) as usize;
            frames.push((method, compressed, raw));
            body = &body[16 + compressed..];
        }
        frames
    }

    /// Sends `batch` through a sink (prepared by hand, with `token_prefix`) to a
    /// one-request HTTP server, and returns the request line and the body it received.
    async fn send_to_fake_server(batch: &Batch, token_prefix: Option<&str>) -> (String, Vec<u8>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(serve_one(listener));
        let sink = prepared_sink(url, token_prefix);
        sink.send(batch).await.unwrap();
        server.await.unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_of_many_chunks_goes_out_as_one_compressed_frame() {
        // 40,000 bytes in 20 chunks: before, each chunk was a frame of its own.
        let batch = batch(5000, 250);
        assert_eq!(batch.chunks().len(), 20);
        let (request_line, body) = send_to_fake_server(&batch, None).await;
        assert!(request_line.contains("decompress=1"), "{request_line}");
        assert!(!request_line.contains(dedup::SETTING), "{request_line}");
        assert_eq!(frames_of(&body), [(0x82, body.len() - 16, batch.len())]);
    }

    /// Every attempt at a batch sends the same bytes (an LZ4 frame for compressible
    /// rows, a stored frame for incompressible ones): what lets a replicated table drop
    /// a retry.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_attempt_sends_the_same_bytes() {
        let compressible = batch(5000, 250);
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut chunks = Vec::new();
        let mut buf = RowBuffer::default();
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            buf.push_row(|b| {
                b.extend_from_slice(&seed.to_le_bytes());
                Ok::<_, batch_core::ChunkFull>(())
            })
            .unwrap();
        }
        chunks.push(buf.take());
        let incompressible = Batch::new(8, chunks);
        for (batch, method) in [(&compressible, 0x82), (&incompressible, 0x02)] {
            let (_, first) = send_to_fake_server(batch, None).await;
            let (_, second) = send_to_fake_server(&batch.clone(), None).await;
            assert_eq!(frames_of(&first)[0].0, method);
            assert!(first == second, "two attempts sent different bytes");
        }
    }

    /// Rows LZ4 cannot shrink go out as one stored frame: its header, then the chunks.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_incompressible_batch_goes_out_as_one_stored_frame() {
        // 20 chunks of 250 rows of 40 pseudo-random bytes (xorshift64).
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut chunks = Vec::new();
        let mut buf = RowBuffer::default();
        let mut raw = Vec::new();
        for i in 0..5000 {
            buf.push_row(|b| {
                for _ in 0..5 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    b.extend_from_slice(&x.to_le_bytes());
                }
                raw.extend_from_slice(&b[b.len() - 40..]);
                Ok::<_, batch_core::ChunkFull>(())
            })
            .unwrap();
            if (i + 1) % 250 == 0 {
                chunks.push(buf.take());
            }
        }
        let batch = Batch::new(9, chunks);
        assert_eq!(batch.chunks().len(), 20);
        let (_, body) = send_to_fake_server(&batch, None).await;
        assert_eq!(frames_of(&body), [(0x02, 9 + raw.len(), raw.len())]);
        assert_eq!(body[25..], raw[..]);
        let checksum = u128::from_le_bytes(body[..16].try_into().unwrap()).rotate_left(64);
        assert_eq!(checksum, cityhash_rs::cityhash_102_128(&body[16..]));
    }

    /// A sink prepared by hand for `url` that sends Native blocks of one `UInt64`
    /// column `id`.
    fn native_sink(url: String) -> ClickHouseSink {
        let mut sink = prepared_sink(url, None);
        if let Some(p) = sink.prepared.as_mut() {
            let native = NativeBlock::new([("id", &ChType::UInt64)]).unwrap();
            p.native = Some((
                Arc::new(native),
                "INSERT INTO db.t (id) FORMAT Native".into(),
            ));
        }
        sink
    }

    /// Sends `batch` through a Native sink to a one-request HTTP server.
    async fn send_native(batch: &Batch) -> (String, Vec<u8>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(serve_one(listener));
        native_sink(url).send(batch).await.unwrap();
        server.await.unwrap()
    }

    /// In Native, every attempt at a batch sends the same bytes: one LZ4 frame of the
    /// batch's Native block.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_native_attempt_sends_the_same_block() {
        let b = batch(5000, 250);
        let (request_line, first) = send_native(&b).await;
        assert!(request_line.contains("FORMAT+Native"), "{request_line}");
        let (_, second) = send_native(&b.clone()).await;
        assert!(first == second, "two attempts sent different bytes");
        let block = NativeBlock::new([("id", &ChType::UInt64)])
            .unwrap()
            .transcode_batch(&b)
            .unwrap();
        // 1 column, 5000 rows (varuint 88 27), "id", "UInt64", then the ids.
        assert_eq!(block[..13], *b"\x01\x88\x27\x02id\x06UInt64");
        assert_eq!(frames_of(&first), [(0x82, first.len() - 16, block.len())]);
        let raw = lz4_flex::block::decompress(&first[25..], block.len()).unwrap();
        assert_eq!(raw, block);
        // The sink counted the block and the frame.
        let sink = native_sink("http://127.0.0.1:1".into());
        assert!(sink.send_memory(&b) >= block.len() + first.len());
    }

    /// Without compression, a Native sink sends the block in one stored frame (method
    /// `0x02`), the same bytes on every attempt, and counts no LZ4 frame.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn without_compression_the_block_goes_in_one_stored_frame() {
        let b = batch(5000, 250);
        let block = NativeBlock::new([("id", &ChType::UInt64)])
            .unwrap()
            .transcode_batch(&b)
            .unwrap();
        let mut bodies = Vec::new();
        for _ in 0..2 {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            let server = tokio::spawn(serve_one(listener));
            let sink = native_sink(url).compression(InsertCompression::None);
            sink.send(&b).await.unwrap();
            let (request_line, body) = server.await.unwrap();
            assert!(request_line.contains("FORMAT+Native"), "{request_line}");
            bodies.push(body);
        }
        assert!(bodies[0] == bodies[1], "two attempts sent different bytes");
        let body = &bodies[0];
        assert_eq!(frames_of(body), [(0x02, 9 + block.len(), block.len())]);
        assert_eq!(body[25..], block[..]);
        let checksum = u128::from_le_bytes(body[..16].try_into().unwrap()).rotate_left(64);
        assert_eq!(checksum, cityhash_rs::cityhash_102_128(&body[16..]));
        let lz4 = native_sink("http://127.0.0.1:1".into());
        let none = native_sink("http://127.0.0.1:1".into()).compression(InsertCompression::None);
        assert!(none.send_memory(&b) < lz4.send_memory(&b));
        assert!(none.send_memory(&b) >= block.len());
    }

    /// Rows LZ4 cannot shrink go in RowBinary, in a stored frame of the batch's chunks.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_incompressible_batch_goes_in_rowbinary_from_a_native_sink() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut buf = RowBuffer::default();
        for _ in 0..5000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf.push_row(|b| {
                b.extend_from_slice(&x.to_le_bytes());
                Ok::<_, batch_core::ChunkFull>(())
            })
            .unwrap();
        }
        let b = Batch::new(4, vec![buf.take()]);
        let (request_line, body) = send_native(&b).await;
        assert!(request_line.contains("FORMAT+RowBinary"), "{request_line}");
        assert_eq!(frames_of(&body), [(0x02, 9 + b.len(), b.len())]);
        assert_eq!(body[25..], b.chunks().next().unwrap()[..]);
        let sink = native_sink("http://127.0.0.1:1".into());
        assert!(sink.send_memory(&b) < 1024);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_deduplicating_sink_sends_the_batch_token() {
        let batch = batch(10, 4);
        let (request_line, _) = send_to_fake_server(&batch, Some("batchrow-00ff")).await;
        let token = dedup::token("batchrow-00ff", &batch);
        assert!(token.starts_with("batchrow-00ff-7-0-10-"), "{token}");
        assert!(
            request_line.contains(&format!("{}={token}", dedup::SETTING)),
            "{request_line}"
        );
    }
}
