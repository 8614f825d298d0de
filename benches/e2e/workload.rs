//! The rows every contender inserts, all derived from the row index, and the checksums
//! the server must hold afterwards.

/// The 8 event names.
pub(crate) const EVENTS: [&str; 8] = [
    "page_view",
    "click",
    "signup",
    "login",
    "logout",
    "purchase",
    "add_to_cart",
    "search",
];

/// The timestamp of row 0, in seconds since the epoch; row `i` is `i / 100` s later.
pub(crate) const BASE_TS: i64 = 1_700_000_000;

/// How many payloads there are to pick from.
const PAYLOADS: u64 = 4096;

/// splitmix64: a well-mixed value from the row index.
pub(crate) fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn index(x: u64, len: u64) -> usize {
    usize::try_from(x % len).expect("an index below the pool's length fits usize")
}

/// One row, as plain values; each contender maps it to its own row type.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Row<'a> {
    pub(crate) id: u64,
    /// Seconds since the epoch.
    pub(crate) ts: i64,
    /// Below 100,000: fits `UInt32` and `int4`.
    pub(crate) user_id: u32,
    pub(crate) event: &'static str,
    /// `cents / 100`.
    pub(crate) value: f64,
    /// Below 10,000.
    pub(crate) cents: u64,
    /// 40 to 56 ASCII characters.
    pub(crate) payload: &'a str,
}

/// The payloads rows pick from, made once per process.
#[derive(Debug)]
pub(crate) struct Workload {
    payloads: Vec<String>,
}

impl Workload {
    pub(crate) fn new() -> Self {
        const ALPHABET: &[u8] =
            b"abcdefghijklmnopqrstuvwxyz0123456789-_ ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let payloads = (0..PAYLOADS)
            .map(|i| {
                let len = 40 + mix(i) % 17;
                (0..len)
                    .map(|k| char::from(ALPHABET[index(mix(i * 64 + k), ALPHABET.len() as u64)]))
                    .collect()
            })
            .collect();
        Workload { payloads }
    }

    /// Row `i`.
    pub(crate) fn row(&self, i: u64) -> Row<'_> {
        let r = mix(i);
        let cents = (r >> 32) % 10_000;
        Row {
            id: i,
            ts: BASE_TS + i64::try_from(i / 100).expect("row index fits i64"),
            user_id: u32::try_from(r % 100_000).expect("below 100,000"),
            event: EVENTS[index(r >> 20, 8)],
            value: cents as f64 / 100.0,
            cents,
            payload: &self.payloads[index(r >> 44, PAYLOADS)],
        }
    }

    /// What the server must hold after `rows` rows: see [`Checksum`].
    pub(crate) fn checksum(&self, rows: u64) -> Checksum {
        let mut c = Checksum::default();
        for i in 0..rows {
            let r = self.row(i);
            c.count += 1;
            c.sum_id += r.id;
            c.sum_user_id += u64::from(r.user_id);
            c.sum_ts += u64::try_from(r.ts).expect("timestamps are positive");
            c.sum_event_len += r.event.len() as u64;
            c.sum_value_cents += r.cents;
            c.sum_payload_len += r.payload.len() as u64;
        }
        c
    }
}

/// `count()` and a sum over every column, as the server computes them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Checksum {
    pub(crate) count: u64,
    pub(crate) sum_id: u64,
    pub(crate) sum_user_id: u64,
    /// Of the timestamps, in seconds since the epoch.
    pub(crate) sum_ts: u64,
    pub(crate) sum_event_len: u64,
    /// Of `round(value * 100)`.
    pub(crate) sum_value_cents: u64,
    pub(crate) sum_payload_len: u64,
}

/// How many rows a producer hands to `insert_many` at once.
const CHUNK: usize = 10_000;

/// batchrow's producers: `producers` tasks insert rows `0..rows` (task `p` the rows
/// `p, p + producers, ...`) through `handle` in `insert_many` calls of [`CHUNK`] rows,
/// then the batcher closes and must have committed every row.
pub(crate) async fn insert_all<R, S, T>(
    handle: batchrow::Handle<R, S>,
    w: &'static Workload,
    rows: u64,
    producers: u64,
    event: fn(&'static Workload, u64) -> T,
) where
    R: Send + Sync + 'static,
    S: batchrow::Sink,
    T: batchrow::EncodeRow<S::Format> + batchrow::BatchRow<Static = R> + Send + 'static,
{
    let tasks: Vec<_> = (0..producers)
        .map(|p| {
            let handle = handle.clone();
            tokio::spawn(async move {
                let mut batch = Vec::with_capacity(CHUNK);
                let mut i = p;
                while i < rows {
                    batch.push(event(w, i));
                    if batch.len() == CHUNK {
                        handle
                            .insert_many(std::mem::take(&mut batch))
                            .await
                            .expect("insert_many");
                    }
                    i += producers;
                }
                handle.insert_many(batch).await.expect("insert_many");
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("a producer task");
    }
    let stats = handle.close().await.expect("close");
    assert_eq!(stats.committed.rows, rows, "{stats:?}");
}
