//! Per-batch `insert_deduplication_token`s, for
//! [`ClickHouseSink::deduplicate_batches`](crate::ClickHouseSink::deduplicate_batches).
//!
//! A batch whose every row carries a [`Position`](batch_core::Position) gets a token
//! made of its positions alone (`batchrow-pos-` and `stream:first-last` per range), the
//! same in every process, so that a replay of the same positions after a restart is
//! recognised. Any other batch gets a token made of a random prefix drawn when the sink
//! is prepared, its id, its rows and a hash of its bytes: unique to this sink, so a
//! retry is recognised and nothing else.

use std::collections::hash_map::{DefaultHasher, RandomState};
use std::fmt::Write as _;
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

/// The longest list of position ranges a token spells out; a longer one is hashed.
const MAX_LISTED: usize = 160;

/// The token of `batch`: the same for every attempt to send it, and different for
/// batches that differ in id, rows or bytes. A batch split to isolate bad rows keeps its
/// id, and two of its parts may hold the same bytes, so the token names the rows of the
/// sealed batch the part covers ([`Batch::range`]). A batch whose every row has a
/// position gets [`positions_token`] instead.
pub(crate) fn token(prefix: &str, batch: &Batch) -> String {
    if let Some(token) = positions_token(batch) {
        return token;
    }
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

/// The token of a batch whose every row has a position, made of its positions alone
/// (in the order of its rows), so that a batch replayed with the same positions, in
/// another process too, carries the same token: `batchrow-pos-0:100-199,1:100-199`.
/// A list longer than [`MAX_LISTED`] characters is replaced by the number of ranges,
/// the first and the last, and a 64-bit FNV-1a hash of the list (stable across
/// processes and builds, unlike the standard library's hasher). `None` when a row has
/// no position.
pub(crate) fn positions_token(batch: &Batch) -> Option<String> {
    let ranges = batch.positions();
    let covered: usize = ranges.iter().map(|r| r.len()).sum();
    if ranges.is_empty() || covered != batch.rows() {
        return None;
    }
    let spell = |r: &batch_core::PositionRange| format!("{}:{}-{}", r.stream, r.first, r.last);
    let mut list = String::new();
    for (i, r) in ranges.iter().enumerate() {
        if i > 0 {
            list.push(',');
        }
        let _ = write!(list, "{}:{}-{}", r.stream, r.first, r.last);
    }
    if list.len() <= MAX_LISTED {
        return Some(format!("batchrow-pos-{list}"));
    }
    let (first, last) = (ranges.first()?, ranges.last()?);
    Some(format!(
        "batchrow-pos-{}-ranges-{}-to-{}-{:016x}",
        ranges.len(),
        spell(first),
        spell(last),
        fnv1a(list.as_bytes())
    ))
}

/// The 64-bit FNV-1a hash of `bytes`.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
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
    use batch_core::{ChunkFull, Position, RowBuffer};

    /// A batch of `id` whose rows come from `positions` (`None`: no position).
    fn positioned(id: u64, positions: &[Option<(u64, u64)>]) -> Batch {
        let mut buf = RowBuffer::default();
        for (i, p) in positions.iter().enumerate() {
            let write = |b: &mut Vec<u8>| {
                b.extend_from_slice(&i.to_le_bytes());
                Ok::<_, ChunkFull>(())
            };
            match p {
                Some((s, o)) => buf.push_row_at(Position::new(*s, *o), write),
                None => buf.push_row(write),
            }
            .unwrap();
        }
        Batch::new(id, vec![buf.take()])
    }

    #[test]
    fn a_batch_with_positions_is_named_by_them_in_every_process() {
        let p = prefix();
        let rows: Vec<_> = (100..200)
            .map(|o| Some((0, o)))
            .chain((100..200).map(|o| Some((1, o))))
            .collect();
        let b = positioned(7, &rows);
        let t = token(&p, &b);
        assert_eq!(t, "batchrow-pos-0:100-199,1:100-199");
        // Another sink (a restarted process), another batch id, other bytes: the same
        // positions, the same token.
        let mut replayed = positioned(0, &rows);
        assert_eq!(token(&prefix(), &replayed), t);
        replayed = replayed.slice(0..200);
        assert_eq!(token(&prefix(), &replayed), t);
        // The parts of a split batch hold other positions.
        assert_eq!(token(&p, &b.slice(0..100)), "batchrow-pos-0:100-199");
        assert_eq!(token(&p, &b.slice(150..200)), "batchrow-pos-1:150-199");
        // Other boundaries after a restart: other tokens (not deduplicated).
        assert_ne!(token(&p, &b.slice(0..150)), t);
    }

    #[test]
    fn a_batch_with_a_row_without_position_keeps_the_random_token() {
        let p = prefix();
        let b = positioned(3, &[Some((0, 1)), None, Some((0, 2))]);
        assert_eq!(positions_token(&b), None);
        assert!(token(&p, &b).starts_with(&format!("{p}-3-0-3-")));
        assert_eq!(positions_token(&batch(3, &[b"a"])), None);
    }

    #[test]
    fn a_long_list_of_positions_is_hashed_stably() {
        // Rows alternate between two streams: one range per row.
        let rows: Vec<_> = (0..100).map(|i| Some((i % 2, i / 2))).collect();
        let t = token("unused", &positioned(1, &rows));
        assert!(t.len() < 100, "{t}");
        assert_eq!(
            t,
            format!(
                "batchrow-pos-100-ranges-0:0-0-to-1:49-49-{:016x}",
                fnv1a(
                    (0..100)
                        .map(|i| format!("{}:{}-{}", i % 2, i / 2, i / 2))
                        .collect::<Vec<_>>()
                        .join(",")
                        .as_bytes()
                )
            )
        );
        // FNV-1a's published test vector: the hash does not depend on the build.
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        let mut other = rows.clone();
        other.swap(0, 2);
        assert_ne!(token("unused", &positioned(1, &other)), t);
    }

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
