//! The settings of a [`ClickHouseSink`], and what its schema check resolved.

use std::time::Duration;

use clickhouse::{Client, Compression};

// Named in the docs.
#[cfg(doc)]
use batch_core::{Batch, Sink, SinkErrorKind};

use super::{ClickHouseSink, INSERT_TIMEOUT, SCHEMA_TIMEOUT};
use crate::frame::InsertCompression;
use crate::native::InsertFormat;

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
    ///     [`ClickHouseSender::statement`](crate::ClickHouseSender::statement);
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
    /// (default: 30 s). The batcher's deadline ([`Sender::send_by`](batch_core::Sender::send_by)) ends it earlier when
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
}
