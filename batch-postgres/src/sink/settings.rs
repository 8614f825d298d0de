//! The settings of a [`PostgresSink`]: building one from a URL, a config or a pool, the
//! table, the commit-status window, upsert, and what it resolved.

use std::time::Duration;

use deadpool_postgres::Pool;

use super::classify::Endpoint;
use super::{
    LedgerStats, OnConflict, PostgresSink, PostgresSinkBuilder, DEFAULT_COMMIT_STATUS_WINDOW,
};
use crate::error::{Error, Result};

impl PostgresSink {
    /// A sink connecting with a connection string (`postgres://user:pass@host/db` or
    /// `host=… user=…`), without TLS, with the default pool size and the default
    /// network timeouts (see [`PostgresSinkBuilder`]).
    ///
    /// No connection is made until [`Sink::prepare`](batch_core::Sink::prepare).
    ///
    /// A string that asks for TLS (`sslmode=require`, `verify-ca`, `verify-full`) is
    /// refused rather than connected without it: build the sink with
    /// [`PostgresSink::builder`] and [`tls`](PostgresSinkBuilder::tls) instead.
    /// `sslmode=prefer` (the default) connects without TLS.
    ///
    /// # Errors
    ///
    /// [`Error::Url`] when the string does not parse; [`Error::TlsRequired`] when it
    /// asks for TLS.
    ///
    /// # Examples
    ///
    /// ```
    /// use batch_postgres::{Error, PostgresSink};
    ///
    /// let sink = PostgresSink::new("postgres://batchrow:batchrow@127.0.0.1:5432/batchrow")?;
    /// assert!(PostgresSink::new("postgres://[bad").is_err());
    /// let tls = PostgresSink::new("postgres://u@db.example.com/db?sslmode=verify-full");
    /// assert!(matches!(tls, Err(Error::TlsRequired { .. })));
    /// # Ok::<(), batch_postgres::Error>(())
    /// ```
    pub fn new(url: &str) -> Result<Self> {
        if let Some(sslmode) = verify_sslmode(url) {
            return Err(Error::TlsRequired { sslmode });
        }
        let config: tokio_postgres::Config = url.parse().map_err(Error::Url)?;
        Self::builder(config).build()
    }

    /// A builder for a sink with its own pool: the pool size, TLS, and network
    /// timeouts where the configuration sets none.
    ///
    /// # Examples
    ///
    /// ```
    /// use batch_postgres::PostgresSink;
    ///
    /// let config = "host=127.0.0.1 user=batchrow password=batchrow dbname=batchrow".parse()?;
    /// let sink = PostgresSink::builder(config).pool_size(4).build()?;
    /// assert_eq!(sink.pool().status().max_size, 4);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder(config: tokio_postgres::Config) -> PostgresSinkBuilder {
        PostgresSinkBuilder::new(config)
    }

    /// A sink taking connections from an existing deadpool-postgres pool, as it is
    /// configured: the pool's own timeouts apply, and the connection settings are not
    /// given the builder's network timeouts (see [`PostgresSinkBuilder`]); each send is
    /// still bounded by its deadline.
    ///
    /// The pool needs at least as many connections as the batcher's `max_in_flight`
    /// for the COPYs to run in parallel, plus one for the commit-status check.
    ///
    /// # Examples
    ///
    /// ```
    /// use batch_postgres::deadpool_postgres::{Manager, Pool};
    /// use batch_postgres::tokio_postgres::NoTls;
    /// use batch_postgres::PostgresSink;
    ///
    /// let config = "host=127.0.0.1 user=batchrow dbname=batchrow".parse()?;
    /// let pool = Pool::builder(Manager::new(config, NoTls)).max_size(4).build()?;
    /// let sink = PostgresSink::from_pool(pool);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_pool(pool: Pool) -> Self {
        Self::with_endpoint(pool, Endpoint::default())
    }

    pub(super) fn with_endpoint(pool: Pool, endpoint: Endpoint) -> Self {
        PostgresSink {
            pool,
            endpoint,
            schema: None,
            table: None,
            commit_status_window: DEFAULT_COMMIT_STATUS_WINDOW,
            ledger: None,
            ledger_stats: LedgerStats::default(),
            on_conflict: None,
        }
    }

    /// Writes into this table instead of the row type's `TABLE` (taken literally:
    /// case-sensitive, dots included).
    ///
    /// # Examples
    ///
    /// ```
    /// # let sink = batch_postgres::PostgresSink::new("postgres://u@127.0.0.1/db")?;
    /// let sink = sink.table("events_2024");
    /// # Ok::<(), batch_postgres::Error>(())
    /// ```
    pub fn table(mut self, table: impl Into<String>) -> Self {
        self.table = Some(table.into());
        self
    }

    /// Looks the table up in this schema instead of through the `search_path`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sink = batch_postgres::PostgresSink::new("postgres://u@127.0.0.1/db")?;
    /// let sink = sink.schema("analytics");
    /// # Ok::<(), batch_postgres::Error>(())
    /// ```
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// How long the sink keeps asking whether a transaction committed after its
    /// `COMMIT` failed, timed out or lost its connection, counted from that moment.
    /// Default: [`DEFAULT_COMMIT_STATUS_WINDOW`] (60 s), enough to ride out a server
    /// restart.
    ///
    /// While it asks, the send is not over, so an attempt can last up to its deadline
    /// plus this window. When the window ends without an answer the batch is reported
    /// as possibly persisted ([`SinkErrorKind::PossiblyPersisted`](batch_core::SinkErrorKind::PossiblyPersisted)) and never sent again.
    /// A shorter window reports sooner, and more often without knowing.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// # let sink = batch_postgres::PostgresSink::new("postgres://u@127.0.0.1/db")?;
    /// let sink = sink.commit_status_window(Duration::from_secs(120));
    /// assert_eq!(sink.commit_status_window_len(), Duration::from_secs(120));
    /// # Ok::<(), batch_postgres::Error>(())
    /// ```
    pub fn commit_status_window(mut self, window: Duration) -> Self {
        self.commit_status_window = window;
        self
    }

    /// Upsert mode, for a table with a primary key or unique index: each batch is COPYed
    /// into a temporary staging table (created in the batch's transaction with the row
    /// type's columns and the table's column types, `ON COMMIT DROP`), then merged into
    /// the table with `INSERT … SELECT … ON CONFLICT (key) DO UPDATE SET …` or
    /// `DO NOTHING` (see [`OnConflict`]), in the same transaction. Default: off, plain
    /// `COPY` into the table.
    ///
    /// Everything else is as without it: one transaction per batch, the same deadlines,
    /// the commit-status check after a lost `COMMIT`, the same error classes (a row the
    /// table refuses fails the merge, caused by the data, without a row index).
    ///
    /// **Duplicates within a batch.** `DO UPDATE` cannot touch a row twice in one
    /// statement, so each batch is first deduplicated on the key: the **last** row of
    /// each key wins (`SELECT DISTINCT ON (key) … ORDER BY key, <row order> DESC`), as if
    /// the rows had been upserted one by one. With `DO NOTHING` the **first** row wins.
    /// Across batches, batches are merged in the order they commit: with
    /// `max_in_flight(1)` that is the order rows were accepted; with more batches in
    /// flight, two batches holding the same key may commit in either order.
    ///
    /// A retried batch is merged again, which an upsert makes harmless: the rows end up
    /// the same.
    ///
    /// The schema check verifies the conflict target: the key must be exactly the columns
    /// of the primary key or of a valid, non-partial, non-deferrable unique index, `NOT
    /// NULL`, and fields of the row type; otherwise [`Sink::prepare`](batch_core::Sink::prepare) fails with a
    /// [`SinkErrorKind::Config`](batch_core::SinkErrorKind::Config) error that says why.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use batch_postgres::{OnConflict, PostgresSink};
    ///
    /// // CREATE TABLE users (id int8 PRIMARY KEY, name text NOT NULL, seen timestamptz)
    /// let sink = PostgresSink::new("postgres://batchrow:batchrow@127.0.0.1/batchrow")?
    ///     .table("users")
    ///     .on_conflict(OnConflict::update(["id"]));
    /// // Hand `sink` to a batcher; each batch updates the users it names.
    /// # Ok(()) }
    /// ```
    pub fn on_conflict(mut self, on_conflict: OnConflict) -> Self {
        self.on_conflict = Some(on_conflict);
        self
    }

    /// The [commit-status window](PostgresSink::commit_status_window).
    #[must_use]
    pub fn commit_status_window_len(&self) -> Duration {
        self.commit_status_window
    }

    /// The connection pool.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sink = batch_postgres::PostgresSink::new("postgres://u@127.0.0.1/db")?;
    /// let status = sink.pool().status();
    /// assert_eq!(status.size, 0); // no connection before `prepare`
    /// # Ok::<(), batch_postgres::Error>(())
    /// ```
    #[must_use]
    pub fn pool(&self) -> &Pool {
        &self.pool
    }
}

/// The `sslmode` a connection string names when it is `verify-ca` or `verify-full`,
/// which tokio-postgres does not parse (it would report an unhelpful "invalid value").
fn verify_sslmode(url: &str) -> Option<String> {
    let lower = url.to_ascii_lowercase();
    let mut rest = lower.as_str();
    while let Some(at) = rest.find("sslmode") {
        rest = &rest[at + "sslmode".len()..];
        let Some(value) = rest.trim_start().strip_prefix('=') else {
            continue;
        };
        let value = value.trim_start();
        let end = value
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .unwrap_or(value.len());
        if value[..end].starts_with("verify-") {
            return Some(value[..end].to_owned());
        }
    }
    None
}
