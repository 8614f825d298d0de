//! One send attempt: a batch in one transaction on one pooled connection, bounded by
//! the attempt's deadline on both sides (the client's timer and the server's
//! `statement_timeout`).

use std::collections::VecDeque;
use std::pin::pin;
use std::time::Duration;

use batch_core::Batch;
use bytes::{Buf, Bytes};
use deadpool_postgres::{Client, ClientWrapper};
use futures_util::SinkExt;
use tokio::time::{timeout_at, Instant};
use tokio_postgres::SimpleQueryMessage;

use super::upsert::Merge;
use crate::copy::{HEADER, TRAILER};

/// A connection taken from the pool for one exchange. Unless [`release`](Checkout::release)
/// is called after the exchange ended cleanly, the connection is taken out of the pool
/// and closed when the checkout is dropped: after an error, a timeout, or when the
/// future holding it is dropped (cancelled) in the middle of the protocol. A connection
/// in an unknown state never goes back to the pool.
pub(crate) struct Checkout {
    client: Option<Client>,
}

impl Checkout {
    pub(crate) fn new(client: Client) -> Self {
        Checkout {
            client: Some(client),
        }
    }

    /// The connection; `None` only after [`release`](Checkout::release), which consumes
    /// the checkout, so never in practice.
    pub(crate) fn client(&self) -> Option<&ClientWrapper> {
        self.client.as_deref()
    }

    /// Hands the connection back to the pool, after an exchange that ended cleanly (no
    /// transaction open, no answer pending).
    pub(crate) fn release(mut self) {
        drop(self.client.take());
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            // Out of the pool; dropping the last handle closes the connection, and the
            // server rolls back any transaction still open on it.
            drop(deadpool_postgres::Object::take(client));
        }
    }
}

/// The transaction of an attempt, as the server named it when it began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Txn {
    /// `txid_current()`: the 64-bit transaction id (epoch and xid).
    pub(crate) xid: i64,
    /// `pg_backend_pid()`: the server process holding the transaction.
    pub(crate) pid: i32,
}

/// Why an attempt failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// An error before `COMMIT` was sent: nothing was committed.
    Error(tokio_postgres::Error),
    /// The deadline passed before `COMMIT` was sent: nothing was committed.
    TimedOut {
        /// The step that was running.
        during: &'static str,
    },
    /// The server read a different number of rows than the batch holds; not committed.
    RowCount {
        /// The rows the server read.
        inserted: u64,
        /// The rows sent.
        expected: usize,
    },
    /// `COMMIT` was sent, and its answer did not come back as success: the outcome is
    /// unknown until the server is asked.
    Commit {
        txn: Txn,
        /// The error `COMMIT` returned; `None` when the deadline passed first.
        error: Option<tokio_postgres::Error>,
    },
}

impl From<tokio_postgres::Error> for Failure {
    fn from(err: tokio_postgres::Error) -> Self {
        Failure::Error(err)
    }
}

/// The fewest bytes of one `CopyData` message (but the last of a COPY): the batch's
/// 64 KiB chunks are sent 16 or more to a message, not one each. tokio-postgres copies
/// each message into its connection's write buffer, which so grows to about this size.
pub(crate) const MESSAGE: usize = 1 << 20;

/// Pieces of the COPY stream sent as one `CopyData` message, without copying them
/// into one buffer first.
#[derive(Debug, Default)]
pub(crate) struct Message {
    pieces: VecDeque<Bytes>,
    len: usize,
}

impl Buf for Message {
    fn remaining(&self) -> usize {
        self.len
    }

    fn chunk(&self) -> &[u8] {
        self.pieces.front().map_or(&[], |p| &p[..])
    }

    fn advance(&mut self, mut cnt: usize) {
        while cnt > 0 {
            let Some(front) = self.pieces.front_mut() else {
                return;
            };
            let step = cnt.min(front.len());
            front.advance(step);
            self.len -= step;
            cnt -= step;
            if front.is_empty() {
                self.pieces.pop_front();
            }
        }
    }
}

/// The COPY stream of `chunks` (the binary header, the rows, the trailer) as messages of
/// at least [`MESSAGE`] bytes each, but the last.
pub(crate) fn messages(chunks: impl IntoIterator<Item = Bytes>) -> impl Iterator<Item = Message> {
    let mut stream = std::iter::once(Bytes::from_static(&HEADER))
        .chain(chunks)
        .chain(std::iter::once(Bytes::from_static(&TRAILER)))
        .filter(|p| !p.is_empty())
        .peekable();
    std::iter::from_fn(move || {
        let mut message = Message::default();
        while message.len < MESSAGE {
            let Some(piece) = stream.next() else {
                break;
            };
            message.len += piece.len();
            message.pieces.push_back(piece);
        }
        (message.len > 0).then_some(message)
    })
}

/// Runs `step` until `deadline`.
pub(super) async fn bounded<T>(
    deadline: Instant,
    during: &'static str,
    step: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, Failure> {
    match timeout_at(deadline, step).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(Failure::TimedOut { during }),
    }
}

/// A server-side time limit in milliseconds for the time left until `deadline`: at
/// least 1 (0 would mean no limit), at most what the setting holds.
pub(crate) fn limit_ms(left: Duration) -> u64 {
    let ms = u64::try_from(left.as_millis()).unwrap_or(u64::MAX);
    ms.clamp(1, u64::from(i32::MAX.unsigned_abs()))
}

/// `BEGIN`, the server-side time limits, the upsert's staging table if there is one,
/// and the transaction's id and backend, in one round trip.
fn begin_sql(left: Duration, stage_sql: Option<&str>) -> String {
    let ms = limit_ms(left);
    let stage = stage_sql.map_or_else(String::new, |s| format!("{s}; "));
    format!(
        "BEGIN; SET LOCAL statement_timeout = {ms}; \
         SET LOCAL idle_in_transaction_session_timeout = {ms}; \
         {stage}SELECT txid_current(), pg_backend_pid()"
    )
}

/// Reads the transaction's id and backend from the answer to [`begin_sql`].
pub(super) fn txn_of(messages: &[SimpleQueryMessage]) -> Option<Txn> {
    messages.iter().find_map(|m| match m {
        SimpleQueryMessage::Row(row) => Some(Txn {
            xid: row.get(0)?.parse().ok()?,
            pid: row.get(1)?.parse().ok()?,
        }),
        _ => None,
    })
}

/// One batch, one transaction: `BEGIN`, the binary COPY, `COMMIT`, by `deadline`. In
/// upsert mode (`merge`), `copy_sql` fills the staging table that `BEGIN` creates, and
/// the merge into the table runs before `COMMIT`.
///
/// Before `COMMIT` is sent, every step ends at `deadline` ([`Failure::TimedOut`]), and
/// the server stops the transaction's statements and ends the session by then too
/// (`statement_timeout`, `idle_in_transaction_session_timeout`), so a client that has
/// gone silent does not leave the transaction open. `COMMIT` itself also ends at
/// `deadline`, but its outcome is then unknown ([`Failure::Commit`]).
pub(crate) async fn copy_batch(
    client: &ClientWrapper,
    copy_sql: &str,
    merge: Option<&Merge>,
    batch: &Batch,
    deadline: Instant,
) -> Result<(), Failure> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(Failure::TimedOut {
            during: "the start",
        });
    }
    let begin = begin_sql(left, merge.map(|m| m.stage_sql.as_str()));
    let begun = bounded(deadline, "BEGIN", client.simple_query(&begin)).await?;
    let Some(txn) = txn_of(&begun) else {
        return Err(Failure::TimedOut {
            during: "BEGIN (the server did not say which transaction it began)",
        });
    };
    let stmt = bounded(
        deadline,
        "preparing the COPY",
        client.prepare_cached(copy_sql),
    )
    .await?;
    let copy = async {
        let mut sink = pin!(client.copy_in::<_, Message>(&stmt).await?);
        for message in messages(batch.chunks()) {
            sink.feed(message).await?;
        }
        sink.as_mut().finish().await
    };
    let inserted = bounded(deadline, "the COPY", copy).await?;
    if usize::try_from(inserted).ok() != Some(batch.rows()) {
        return Err(Failure::RowCount {
            inserted,
            expected: batch.rows(),
        });
    }
    if let Some(merge) = merge {
        bounded(
            deadline,
            "the merge",
            client.batch_execute(&merge.merge_sql),
        )
        .await?;
    }
    if Instant::now() >= deadline {
        return Err(Failure::TimedOut {
            during: "the wait before COMMIT",
        });
    }
    match timeout_at(deadline, client.batch_execute("COMMIT")).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(Failure::Commit {
            txn,
            error: Some(error),
        }),
        Err(_) => Err(Failure::Commit { txn, error: None }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// A batch of `chunks` chunks of `size` bytes each (byte `i` of chunk `c` is
    /// `c + i`).
    fn chunks(chunks: usize, size: usize) -> Vec<Bytes> {
        (0..chunks)
            .map(|c| {
                (0..size)
                    .map(|i| u8::try_from((c + i) % 256).unwrap())
                    .collect::<Vec<u8>>()
                    .into()
            })
            .collect()
    }

    fn drain(mut m: Message) -> Vec<u8> {
        let mut out = Vec::new();
        while m.has_remaining() {
            let n = m.chunk().len().min(1000);
            out.extend_from_slice(&m.chunk()[..n]);
            m.advance(n);
        }
        out
    }

    #[test]
    fn the_copy_stream_goes_in_messages_of_a_mebibyte_not_a_chunk_each() {
        let batch = chunks(40, 64 << 10); // 2.5 MiB in 64 KiB chunks
        let expected: Vec<u8> = [&HEADER[..], &batch.concat(), &TRAILER[..]].concat();
        let sent: Vec<Message> = messages(batch.clone()).collect();
        // 16 chunks and the header reach 1 MiB; 16 more; the last 8 and the trailer.
        assert_eq!(sent.len(), 3);
        assert!(sent[..2].iter().all(|m| m.remaining() >= MESSAGE));
        assert_eq!(sent[2].remaining(), 8 * (64 << 10) + TRAILER.len());
        // The pieces are the batch's chunks themselves, not copies.
        assert_eq!(sent[0].pieces[1].as_ptr(), batch[0].as_ptr());
        let bytes: Vec<u8> = sent.into_iter().flat_map(drain).collect();
        assert_eq!(bytes, expected);
        // A small batch, and an empty one, are one message with the header and trailer.
        let small: Vec<Message> = messages(chunks(2, 100)).collect();
        assert_eq!(small.len(), 1);
        assert_eq!(
            drain(messages(Vec::new()).next().unwrap()),
            [&HEADER[..], &TRAILER[..]].concat()
        );
        // Advancing across pieces, by any step.
        let mut m = messages(chunks(3, 10)).next().unwrap();
        let total = m.remaining();
        m.advance(HEADER.len() + 15);
        assert_eq!(m.remaining(), total - HEADER.len() - 15);
        assert_eq!(m.chunk()[0], 1 + 5);
    }

    #[test]
    fn server_limits_are_positive_and_fit_an_int() {
        assert_eq!(limit_ms(Duration::ZERO), 1);
        assert_eq!(limit_ms(Duration::from_micros(300)), 1);
        assert_eq!(limit_ms(Duration::from_millis(2500)), 2500);
        assert_eq!(
            limit_ms(Duration::from_secs(86_400 * 365 * 30)),
            i32::MAX as u64
        );
        assert_eq!(
            begin_sql(Duration::from_secs(30), None),
            "BEGIN; SET LOCAL statement_timeout = 30000; \
             SET LOCAL idle_in_transaction_session_timeout = 30000; \
             SELECT txid_current(), pg_backend_pid()"
        );
        assert_eq!(
            begin_sql(Duration::from_secs(1), Some("CREATE TEMP TABLE s (a int)")),
            "BEGIN; SET LOCAL statement_timeout = 1000; \
             SET LOCAL idle_in_transaction_session_timeout = 1000; \
             CREATE TEMP TABLE s (a int); SELECT txid_current(), pg_backend_pid()"
        );
    }
}
