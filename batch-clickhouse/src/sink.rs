//! [`ClickHouseSink`]: the schema check, then one `INSERT ... FORMAT RowBinary` per
//! batch through the `clickhouse` crate's formatted-insert API.

use std::time::Duration;

use batch_core::{Batch, Schema, Sink, SinkError, SinkErrorKind};
use bytes::{Bytes, BytesMut};
use clickhouse::Client;

use crate::classify::{classify, server_code};
use crate::dedup;
use crate::rowbinary::RowBinary;
use crate::schema;
use crate::sql::quote_ident;
use crate::types::ChType;

/// The most bytes of a batch sent as one piece, which the client compresses into one
/// frame: a batch up to this size is one frame. Servers refuse compressed frames over
/// 1 GiB, and LZ4 may grow incompressible data a little.
const MAX_FRAME: usize = 512 << 20;

/// A ClickHouse table as a batchrow [`Sink`]: rows are encoded in [`RowBinary`] and each
/// batch is sent as one `INSERT INTO db.table (columns) FORMAT RowBinary`.
///
/// Build it from the `clickhouse::Client` you already have: its URL, credentials,
/// database, compression (LZ4 by default) and settings all apply. The sink turns off
/// the client's own row validation (`with_validation(false)`), which does not work with
/// older servers such as 18.16, and checks the schema itself instead.
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
/// # Errors of `send`
///
/// Network errors, timeouts, overload (`TOO_MANY_PARTS`, memory limits) and 5xx
/// responses are [`SinkErrorKind::Retryable`]; errors in the data or the query are
/// [`SinkErrorKind::Permanent`]; missing tables and refused credentials are
/// [`SinkErrorKind::Config`]. Each carries the server's exception code
/// ([`SinkError::code`]) and message. When an insert fails in a way that may mean the
/// table changed (an unknown column, a type mismatch), the sink checks the schema again
/// and reports the new mismatch as [`SinkErrorKind::Schema`].
///
/// # Delivery
///
/// Each batch is one `INSERT`, its rows sent as one compressed frame (with the client's
/// compression, LZ4 by default), and a failed attempt is retried with the same bytes.
/// When a connection fails, what the table holds depends on when:
///
/// - **Before the server has the whole batch:** nothing of the attempt is stored, and
///   the retry stores the batch once. The server reads the whole frame and checks its
///   checksum before it parses a row, so a cut anywhere inside the frame fails the
///   insert. This matters on servers before 21.x, such as 18.16, which take the end of a
///   cut-off HTTP body for the end of the data (ClickHouse issue #9666): without
///   compression (`Compression::None`), or for a batch over 512 MiB (sent as several
///   frames), a cut can store the first rows of a batch, and the retry stores them
///   again.
/// - **After the server stored the batch, before the client read the answer:** the
///   sink cannot tell this from a failed insert, so the batch is sent again and, in a
///   table that does not deduplicate inserts (a plain `MergeTree` on 18.16), stored
///   twice. Delivery is **at-least-once**: a duplicate is always a whole batch whose
///   answer was lost. An attempt cut off by a timeout (see
///   [`timeouts`](ClickHouseSink::timeouts)) may have been stored too.
///
/// Keep the batcher's `max_rows` at or below the server's `max_insert_block_size`
/// (1,048,576 rows by default): the server then writes a batch as one block, all or
/// nothing. It writes a larger batch block by block, so a bad row late in the batch
/// leaves the blocks before it stored.
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
/// Sending a batch as one frame costs one copy of its bytes while it is sent (unless
/// it is a single chunk), small next to compressing them.
///
/// # Examples
///
/// ```no_run
/// use batch_clickhouse::ClickHouseSink;
///
/// let client = clickhouse::Client::default()
///     .with_url("http://127.0.0.1:8123")
///     .with_user("default");
/// let sink = ClickHouseSink::new(client)
///     .database("analytics")
///     .with_setting("async_insert", "1")
///     .with_setting("wait_for_async_insert", "1");
/// // Hand `sink` to the batcher.
/// # drop(sink);
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ClickHouseSink {
    client: Client,
    database: Option<String>,
    table: Option<String>,
    settings: Vec<(String, String)>,
    send_timeout: Option<Duration>,
    end_timeout: Option<Duration>,
    deduplicate: bool,
    prepared: Option<Prepared>,
}

/// What the schema check resolved.
#[derive(Debug, Clone)]
struct Prepared {
    database: String,
    table: String,
    /// `db.table`, for messages.
    label: String,
    /// The `INSERT` statement.
    sql: String,
    schema: Schema,
    columns: Vec<ChType>,
    /// Settings the columns need (sent unless the user set them).
    implied: Vec<(&'static str, &'static str)>,
    /// The start of each batch's `insert_deduplication_token`, with
    /// [`ClickHouseSink::deduplicate_batches`].
    token_prefix: Option<String>,
}

impl ClickHouseSink {
    /// A sink that writes through `client`.
    pub fn new(client: Client) -> Self {
        ClickHouseSink {
            client: client.with_validation(false),
            database: None,
            table: None,
            settings: Vec::new(),
            send_timeout: None,
            end_timeout: None,
            deduplicate: false,
            prepared: None,
        }
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

    /// Timeouts for each insert (default: none): `send` bounds the time to hand one
    /// block of data to the connection, `end` the time the server takes to answer once
    /// all data is sent. An insert that times out is aborted and fails as
    /// [`SinkErrorKind::Retryable`].
    pub fn timeouts(mut self, send: Option<Duration>, end: Option<Duration>) -> Self {
        self.send_timeout = send;
        self.end_timeout = end;
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

    /// The `INSERT` statement each batch is sent with (`None` before
    /// [`Sink::prepare`]).
    #[must_use]
    pub fn insert_sql(&self) -> Option<&str> {
        self.prepared.as_ref().map(|p| p.sql.as_str())
    }

    async fn run_prepare(&mut self, schema: Schema) -> Result<Vec<ChType>, SinkError> {
        dedup::refuse_fixed_token(&self.client, &self.settings)?;
        let token_prefix = if self.deduplicate {
            dedup::check_server(&self.client).await?;
            Some(dedup::prefix())
        } else {
            None
        };
        let database = match self
            .database
            .clone()
            .or_else(|| self.client.database().map(str::to_owned))
        {
            Some(d) => d,
            None => schema::current_database(&self.client).await?,
        };
        let table = self
            .table
            .clone()
            .unwrap_or_else(|| schema.table.to_owned());
        let label = format!("{database}.{table}");
        let server = schema::load(&self.client, &database, &table).await?;
        let columns = schema::check(&label, &schema, &server).map_err(SinkError::schema)?;

        let names: Vec<String> = schema.columns.iter().map(|c| quote_ident(c.name)).collect();
        let sql = format!(
            "INSERT INTO {}.{} ({}) FORMAT RowBinary",
            quote_ident(&database),
            quote_ident(&table),
            names.join(", ")
        );
        let mut implied = Vec::new();
        if columns.iter().any(has_json) {
            implied.push(("input_format_binary_read_json_as_string", "1"));
        }
        self.prepared = Some(Prepared {
            database,
            table,
            label,
            sql,
            schema,
            columns: columns.clone(),
            implied,
            token_prefix,
        });
        Ok(columns)
    }

    async fn insert(&self, p: &Prepared, batch: &Batch) -> Result<(), clickhouse::error::Error> {
        let mut insert = self
            .client
            .insert_formatted_with(p.sql.as_str())
            .with_timeouts(self.send_timeout, self.end_timeout);
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
        for frame in frames(batch, MAX_FRAME) {
            insert.send(frame).await?;
        }
        insert.end().await
    }

    async fn run_send(&self, batch: &Batch) -> Result<(), SinkError> {
        let Some(p) = &self.prepared else {
            return Err(SinkError::new(
                SinkErrorKind::Config,
                "ClickHouseSink::send was called before prepare",
            ));
        };
        if batch.is_empty() {
            return Ok(());
        }
        let Err(e) = self.insert(p, batch).await else {
            return Ok(());
        };
        let err = classify(
            e,
            &format!("inserting {} rows into {}", batch.rows(), p.label),
        );
        if !schema::may_be_schema_change(server_code(&err)) {
            return Err(err);
        }
        match schema::recheck(
            &self.client,
            &p.database,
            &p.table,
            &p.label,
            &p.schema,
            &p.columns,
        )
        .await
        {
            Ok(Some(mismatch)) => {
                let mut e = SinkError::schema(mismatch);
                if let Some(code) = err.code() {
                    e = e.with_code(code);
                }
                Err(e.with_source(err))
            }
            // The table still fits: the data itself was refused.
            Ok(None) => Err(err),
            // The table or database is gone, or the server went away meanwhile.
            Err(recheck) if recheck.kind() == SinkErrorKind::Config => Err(recheck),
            Err(_) => Err(err),
        }
    }
}

/// The batch's bytes in pieces of at most `max` bytes, as few as possible: one piece
/// (without copying when the batch is one chunk) unless the batch is larger than `max`.
///
/// Each piece becomes one compressed frame, which the server reads whole and checks
/// before it parses a row of it. A batch sent as one frame is therefore all or nothing
/// when the connection is cut: ClickHouse before 21.x takes the end of a cut-off HTTP
/// body for the end of the data (ClickHouse issue #9666), so a cut between two frames
/// would insert the rows of the first.
fn frames(batch: &Batch, max: usize) -> Vec<Bytes> {
    let max = max.max(1);
    let mut chunks = batch.chunks();
    if chunks.len() == 1 && batch.len() <= max {
        return chunks.collect();
    }
    let mut frames = Vec::with_capacity(batch.len().div_ceil(max));
    let mut frame = BytesMut::new();
    for chunk in &mut chunks {
        let mut rest = &chunk[..];
        while !rest.is_empty() {
            if frame.capacity() == 0 {
                let left = batch.len() - frames.len() * max;
                frame.reserve(left.min(max));
            }
            let take = rest.len().min(max - frame.len());
            frame.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if frame.len() == max {
                frames.push(std::mem::take(&mut frame).freeze());
            }
        }
    }
    if !frame.is_empty() {
        frames.push(frame.freeze());
    }
    frames
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

    /// Runs the schema check (see [`ClickHouseSink`]) and builds the `INSERT`.
    ///
    /// # Errors
    ///
    /// [`SinkErrorKind::Schema`] listing every mismatched column;
    /// [`SinkErrorKind::Config`] for a missing database or table or refused
    /// credentials; network errors as [`SinkErrorKind::Retryable`].
    async fn prepare(&mut self, schema: Schema) -> Result<Vec<ChType>, SinkError> {
        self.run_prepare(schema).await
    }

    /// Sends one batch as one `INSERT`, in one compressed frame (with the client's
    /// compression, LZ4 by default) unless the batch is over 512 MiB; see
    /// [`ClickHouseSink`]'s `# Delivery`.
    ///
    /// # Errors
    ///
    /// A classified [`SinkError`] with the server's code and message (see
    /// [`ClickHouseSink`]).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future aborts the `INSERT`: the server discards what it received.
    async fn send(&self, batch: &Batch) -> Result<(), SinkError> {
        self.run_send(batch).await
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

    fn concat(batch: &Batch) -> Vec<u8> {
        batch.chunks().flat_map(|c| c.to_vec()).collect()
    }

    #[test]
    fn a_batch_is_one_frame() {
        let one_chunk = batch(100, 1000);
        let sent = frames(&one_chunk, MAX_FRAME);
        assert_eq!(sent.len(), 1);
        // A batch of one chunk is sent without copying.
        assert_eq!(
            sent[0].as_ptr(),
            one_chunk.chunks().next().unwrap().as_ptr()
        );

        let many = batch(1000, 64);
        let sent = frames(&many, MAX_FRAME);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0][..], concat(&many)[..]);
    }

    #[test]
    fn a_batch_over_the_frame_size_is_split_into_full_frames() {
        let many = batch(1000, 64); // 8,000 bytes in chunks of 512
        for max in [1, 7, 100, 512, 1000, 7999, 8000, 8001] {
            let sent = frames(&many, max);
            assert_eq!(sent.len(), 8000usize.div_ceil(max), "max {max}");
            assert!(sent[..sent.len() - 1].iter().all(|f| f.len() == max));
            assert_eq!(sent.concat(), concat(&many), "max {max}");
        }
        assert!(frames(&batch(0, 1), 10).is_empty());
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
        });
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
