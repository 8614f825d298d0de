//! Per-batch `insert_deduplication_token`s, for
//! [`ClickHouseSink::deduplicate_batches`](crate::ClickHouseSink::deduplicate_batches).

use std::collections::hash_map::{DefaultHasher, RandomState};
use std::hash::{BuildHasher, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

use batch_core::{Batch, SinkError, SinkErrorKind};
use clickhouse::Client;

use crate::classify::classify;

/// The setting that carries the token (ClickHouse 22.2 and later).
pub(crate) const SETTING: &str = "insert_deduplication_token";

/// The start of every token a sink sends until it is prepared again: `batchrow-` and a
/// random 64-bit number, so that batches of different sinks, batchers and runs (whose
/// batch ids all start at 0) never share a token.
pub(crate) fn prefix() -> String {
    // `RandomState` is seeded from the operating system's randomness, and differs on
    // every call; the time and the process id are mixed in for good measure.
    let mut h = RandomState::new().build_hasher();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    h.write_u128(nanos);
    h.write_u32(std::process::id());
    format!("batchrow-{:016x}", h.finish())
}

/// The token of `batch`: the same for every attempt to send it, and different for
/// batches that differ in id, rows or bytes. A batch split to isolate bad rows keeps its
/// id, and two of its parts may hold the same bytes, so the token names the rows of the
/// sealed batch the part covers ([`Batch::range`]).
pub(crate) fn token(prefix: &str, batch: &Batch) -> String {
    let mut digest = DefaultHasher::new();
    for chunk in batch.chunks() {
        digest.write(&chunk);
    }
    let rows = batch.range();
    format!(
        "{prefix}-{}-{}-{}-{:016x}",
        batch.id(),
        rows.start,
        rows.end,
        digest.finish()
    )
}

/// Checks that the server knows the setting, before the first row, so that an old
/// server fails at the start rather than at the first insert.
pub(crate) async fn check_server(client: &Client) -> Result<(), SinkError> {
    let known: u64 = client
        .query("SELECT count() FROM system.settings WHERE name = ?")
        .bind(SETTING)
        .fetch_one()
        .await
        .map_err(|e| classify(e, "reading system.settings"))?;
    if known == 0 {
        let version: String = client
            .query("SELECT version()")
            .fetch_one()
            .await
            .map_err(|e| classify(e, "reading the server version"))?;
        return Err(SinkError::new(
            SinkErrorKind::Config,
            format!(
                "deduplicate_batches(true) sends `{SETTING}`, which this server \
                 (ClickHouse {version}) does not have; it needs ClickHouse 22.2 or later"
            ),
        ));
    }
    Ok(())
}

/// Refuses a token set once for every insert: with deduplication on, the server would
/// store the first batch and drop every later one as its duplicate.
pub(crate) fn refuse_fixed_token(
    client: &Client,
    settings: &[(String, String)],
) -> Result<(), SinkError> {
    let fixed = client.get_setting(SETTING).is_some() || settings.iter().any(|(n, _)| n == SETTING);
    if fixed {
        return Err(SinkError::new(
            SinkErrorKind::Config,
            format!(
                "`{SETTING}` is set on the client or the sink, so every batch would carry the \
                 same token and a deduplicating table would keep only the first batch; use \
                 ClickHouseSink::deduplicate_batches(true), which gives each batch its own"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use batch_core::{ChunkFull, RowBuffer};

    fn batch(id: u64, rows: &[&[u8]]) -> Batch {
        let mut buf = RowBuffer::default();
        for r in rows {
            buf.push_row(|b| {
                b.extend_from_slice(r);
                Ok::<_, ChunkFull>(())
            })
            .unwrap();
        }
        Batch::new(id, vec![buf.take()])
    }

    #[test]
    fn a_token_is_stable_per_batch_and_distinct_between_batches() {
        let p = prefix();
        assert!(p.starts_with("batchrow-") && p.len() == "batchrow-".len() + 16);
        assert_ne!(p, prefix(), "two sinks share a prefix");

        let b = batch(3, &[b"ab", b"cd", b"ef"]);
        let t = token(&p, &b);
        assert_eq!(t, token(&p, &b.clone()), "a retry must send the same token");
        assert!(t.starts_with(&format!("{p}-3-0-3-")), "{t}");
        // Another id, other rows, or the parts of a split batch: other tokens.
        assert_ne!(t, token(&p, &batch(4, &[b"ab", b"cd", b"ef"])));
        assert_ne!(t, token(&p, &batch(3, &[b"ab", b"cd", b"eg"])));
        let (first, last) = (b.slice(0..1), b.slice(1..3));
        assert_ne!(token(&p, &first), token(&p, &last));
        assert_ne!(token(&p, &first), t);
        assert_ne!(token(&p, &b.slice(0..2)), token(&p, &b.slice(1..3)));
    }

    #[test]
    fn parts_of_a_split_batch_with_equal_bytes_have_their_own_tokens() {
        let p = prefix();
        // Bisection halves of one batch share its id, row count and, here, bytes: a
        // deduplicating table would drop the second as a retry of the first.
        let b = batch(9, &[b"same", b"same", b"same", b"same"]);
        let (first, second) = (b.slice(0..2), b.slice(2..4));
        assert_ne!(token(&p, &first), token(&p, &second));
        assert_ne!(
            token(&p, &first.slice(1..2)),
            token(&p, &second.slice(0..1))
        );
        assert_eq!(token(&p, &second), token(&p, &b.slice(2..4)));
    }

    #[test]
    fn a_fixed_token_is_refused() {
        let client = Client::default();
        assert!(refuse_fixed_token(&client, &[]).is_ok());
        let err = refuse_fixed_token(&client, &[(SETTING.into(), "x".into())]).unwrap_err();
        assert_eq!(err.kind(), SinkErrorKind::Config);
        let err = refuse_fixed_token(&client.with_setting(SETTING, "x"), &[]).unwrap_err();
        assert_eq!(err.kind(), SinkErrorKind::Config);
    }
}
