//! CityHash128 v1.0.2 (the checksum of ClickHouse's compressed frames) of input that is
//! a sequence of pieces, hashed in one pass over the pieces without joining them.
//!
//! The result equals `cityhash_rs::cityhash_102_128` of the pieces concatenated. Inputs
//! shorter than [`LONG`] bytes are gathered (at most 143 bytes) and hashed by
//! `cityhash_rs`. Longer inputs take `CityHash128WithSeed`'s long path, streamed here:
//! the first 16 bytes are the seed, the rest is hashed in 128-byte blocks, and the last
//! `len % 128` bytes (the tail) are mixed in from the last 128 bytes of the input, which
//! overlap the last block. The algorithm needs the total length before the first block
//! (`z = len * k1`), so the pieces are walked twice: once to add up their lengths, then
//! to hash them.

const K0: u64 = 0xc3a5_c85c_97cb_3127;
const K1: u64 = 0xb492_b66f_be98_f273;
const K3: u64 = 0xc949_d7c7_509e_6557;
const K_MUL: u64 = 0x9ddf_ea08_eb38_2d69;

/// The seed of the long path: the first 16 bytes of the input.
const SEED: usize = 16;
/// The long path hashes the input after the seed in blocks of this many bytes.
const BLOCK: usize = 128;
/// Inputs of at least this many bytes take the long path (the input after the seed is at
/// least one block); shorter ones CityMurmur.
const LONG: usize = SEED + BLOCK;

/// CityHash128 v1.0.2 of the concatenation of `pieces`, without concatenating them:
/// equal to `cityhash_rs::cityhash_102_128(&pieces.concat())`.
pub(crate) fn cityhash_102_128<'a, I>(pieces: I) -> u128
where
    I: IntoIterator<Item = &'a [u8]>,
    I::IntoIter: Clone,
{
    let pieces = pieces.into_iter();
    let len = pieces.clone().map(<[u8]>::len).sum();
    let mut hasher = Hasher::new(len);
    for piece in pieces {
        hasher.update(piece);
    }
    hasher.finish()
}

/// The state of one hash of an input of known length, fed in pieces.
struct Hasher {
    /// The length of the whole input.
    len: usize,
    /// The bytes fed and not hashed yet: the whole input when it is shorter than
    /// [`LONG`]; else the seed, then part of a block, then the tail.
    buf: [u8; LONG],
    buffered: usize,
    /// The long path's state, once the seed is known.
    long: Option<Long>,
}

/// `CityHash128WithSeed`'s state between blocks.
struct Long {
    x: u64,
    y: u64,
    z: u64,
    v: (u64, u64),
    w: (u64, u64),
    /// Whether `v` and `w` were set from the first block.
    started: bool,
    /// The blocks not hashed yet; the bytes after them are the tail.
    blocks_left: usize,
    /// The last block, kept for the tail.
    last: [u8; BLOCK],
}

impl Hasher {
    fn new(len: usize) -> Self {
        Hasher {
            len,
            buf: [0; LONG],
            buffered: 0,
            long: None,
        }
    }

    /// Hashes the next bytes of the input. The pieces fed must add up to the length
    /// given to [`Hasher::new`]; bytes beyond it are ignored.
    fn update(&mut self, mut data: &[u8]) {
        let Hasher {
            len,
            buf,
            buffered,
            long,
        } = self;
        if *len < LONG {
            let take = data.len().min(*len - *buffered);
            buf[*buffered..*buffered + take].copy_from_slice(&data[..take]);
            *buffered += take;
            return;
        }
        let long = match long {
            Some(long) => long,
            None => {
                let take = data.len().min(SEED - *buffered);
                buf[*buffered..*buffered + take].copy_from_slice(&data[..take]);
                *buffered += take;
                data = &data[take..];
                let Some(seed) = buf.first_chunk::<SEED>().filter(|_| *buffered == SEED) else {
                    return;
                };
                *buffered = 0;
                long.insert(Long::new(seed, *len - SEED))
            }
        };
        while long.blocks_left > 0 && !data.is_empty() {
            if *buffered == 0 {
                if let Some((block, rest)) = data.split_first_chunk::<BLOCK>() {
                    long.block(block);
                    data = rest;
                    continue;
                }
            }
            let take = data.len().min(BLOCK - *buffered);
            buf[*buffered..*buffered + take].copy_from_slice(&data[..take]);
            *buffered += take;
            data = &data[take..];
            if let Some(block) = buf.first_chunk::<BLOCK>().filter(|_| *buffered == BLOCK) {
                long.block(block);
                *buffered = 0;
            }
        }
        // The tail: fewer than BLOCK bytes.
        let take = data.len().min(BLOCK - 1 - *buffered);
        buf[*buffered..*buffered + take].copy_from_slice(&data[..take]);
        *buffered += take;
    }

    fn finish(self) -> u128 {
        match self.long {
            Some(long) => long.finish(&self.buf[..self.buffered]),
            None => cityhash_rs::cityhash_102_128(&self.buf[..self.buffered]),
        }
    }
}

impl Long {
    /// The state after the seed, for `len` bytes after it (at least one block).
    fn new(seed: &[u8; SEED], len: usize) -> Self {
        Long {
            x: fetch(seed, 0) ^ K3,
            y: fetch(seed, 8),
            z: (len as u64).wrapping_mul(K1),
            v: (0, 0),
            w: (0, 0),
            started: false,
            blocks_left: len / BLOCK,
            last: [0; BLOCK],
        }
    }

    /// Hashes the next block: one turn of `CityHash128WithSeed`'s main loop (two
    /// 64-byte rounds).
    fn block(&mut self, block: &[u8; BLOCK]) {
        if !self.started {
            self.started = true;
            let (x, y, z) = (self.x, self.y, self.z);
            let v0 = (y ^ K1)
                .rotate_right(49)
                .wrapping_mul(K1)
                .wrapping_add(fetch(block, 0));
            let v1 = v0
                .rotate_right(42)
                .wrapping_mul(K1)
                .wrapping_add(fetch(block, 8));
            self.v = (v0, v1);
            self.w = (
                y.wrapping_add(z)
                    .rotate_right(35)
                    .wrapping_mul(K1)
                    .wrapping_add(x),
                x.wrapping_add(fetch(block, 88))
                    .rotate_right(53)
                    .wrapping_mul(K1),
            );
        }
        self.round(block, 0);
        self.round(block, 64);
        self.blocks_left -= 1;
        if self.blocks_left == 0 {
            self.last = *block;
        }
    }

    /// One 64-byte round, over `block[at..at + 64]`.
    #[inline(always)]
    fn round(&mut self, block: &[u8; BLOCK], at: usize) {
        let Long { x, y, z, v, w, .. } = self;
        *x = x
            .wrapping_add(*y)
            .wrapping_add(v.0)
            .wrapping_add(fetch(block, at + 16))
            .rotate_right(37)
            .wrapping_mul(K1);
        *y = y
            .wrapping_add(v.1)
            .wrapping_add(fetch(block, at + 48))
            .rotate_right(42)
            .wrapping_mul(K1);
        *x ^= w.1;
        *y ^= v.0;
        *z = (*z ^ w.0).rotate_right(33);
        *v = weak_hash_32(block, at, v.1.wrapping_mul(K1), x.wrapping_add(w.0));
        *w = weak_hash_32(block, at + 32, z.wrapping_add(w.1), *y);
        std::mem::swap(z, x);
    }

    /// Mixes in the tail (`tail`, fewer than [`BLOCK`] bytes) and returns the hash.
    fn finish(self, tail: &[u8]) -> u128 {
        let Long {
            mut x,
            mut y,
            z,
            mut v,
            mut w,
            last,
            ..
        } = self;
        // The last BLOCK bytes of the input: the end of the last block, then the tail.
        let r = tail.len().min(BLOCK - 1);
        let mut end = [0u8; BLOCK];
        end[..BLOCK - r].copy_from_slice(&last[r..]);
        end[BLOCK - r..].copy_from_slice(&tail[..r]);

        y = y.wrapping_add(w.0.rotate_right(37).wrapping_mul(K0).wrapping_add(z));
        x = x.wrapping_add(v.0.wrapping_add(z).rotate_right(49).wrapping_mul(K0));
        let mut done = 0;
        while done < r {
            done += 32;
            y = y
                .wrapping_sub(x)
                .rotate_right(42)
                .wrapping_mul(K0)
                .wrapping_add(v.1);
            w.0 = w.0.wrapping_add(fetch(&end, BLOCK - done + 16));
            x = x.rotate_right(49).wrapping_mul(K0).wrapping_add(w.0);
            w.0 = w.0.wrapping_add(v.0);
            v = weak_hash_32(&end, BLOCK - done, v.0, v.1);
        }
        x = hash_16(x, v.0);
        y = hash_16(y, w.0);
        let high = hash_16(x.wrapping_add(v.1), w.1).wrapping_add(y);
        let low = hash_16(x.wrapping_add(w.1), y.wrapping_add(v.1));
        (u128::from(high) << 64) | u128::from(low)
    }
}

/// The little-endian `u64` at `block[at..at + 8]`.
#[inline(always)]
fn fetch<const N: usize>(block: &[u8; N], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&block[at..at + 8]);
    u64::from_le_bytes(word)
}

/// CityHash's `WeakHashLen32WithSeeds` of `block[at..at + 32]`.
#[inline(always)]
fn weak_hash_32<const N: usize>(block: &[u8; N], at: usize, a: u64, b: u64) -> (u64, u64) {
    let (w, x, y, z) = (
        fetch(block, at),
        fetch(block, at + 8),
        fetch(block, at + 16),
        fetch(block, at + 24),
    );
    let a = a.wrapping_add(w);
    let b = b.wrapping_add(a).wrapping_add(z).rotate_right(21);
    let c = a;
    let a = a.wrapping_add(x).wrapping_add(y);
    let b = b.wrapping_add(a.rotate_right(44));
    (a.wrapping_add(z), b.wrapping_add(c))
}

/// CityHash's `Hash128to64`.
#[inline(always)]
fn hash_16(u: u64, v: u64) -> u64 {
    let mut a = (u ^ v).wrapping_mul(K_MUL);
    a ^= a >> 47;
    let mut b = (v ^ a).wrapping_mul(K_MUL);
    b ^= b >> 47;
    b.wrapping_mul(K_MUL)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Pseudo-random bytes (xorshift64), different for each `seed`.
    fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x.to_le_bytes()[3]
            })
            .collect()
    }

    /// `input` cut at `cuts` (offsets, in any order, repeated offsets giving empty
    /// pieces).
    fn split<'a>(input: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
        cuts.sort_unstable();
        let mut pieces = Vec::new();
        let mut start = 0;
        for cut in cuts {
            pieces.push(&input[start..cut]);
            start = cut;
        }
        pieces.push(&input[start..]);
        pieces
    }

    #[test]
    fn every_length_up_to_600_whole_and_byte_by_byte() {
        let data = noise(600, 1);
        for len in 0..=600 {
            let input = &data[..len];
            let expected = cityhash_rs::cityhash_102_128(input);
            assert_eq!(cityhash_102_128([input]), expected, "len {len} whole");
            assert_eq!(
                cityhash_102_128(input.chunks(1)),
                expected,
                "len {len} bytes"
            );
            assert_eq!(
                cityhash_102_128(split(input, &[0, 0, len / 3, len / 3, len, len])),
                expected,
                "len {len} with empty pieces"
            );
        }
    }

    #[test]
    fn every_piece_size_over_lengths_around_the_block_edges() {
        let data = noise(2000, 2);
        for len in [
            143, 144, 145, 271, 272, 273, 399, 400, 401, 1000, 1999, 2000,
        ] {
            let input = &data[..len];
            let expected = cityhash_rs::cityhash_102_128(input);
            for size in 1..=300 {
                assert_eq!(
                    cityhash_102_128(input.chunks(size)),
                    expected,
                    "len {len} in pieces of {size}"
                );
            }
        }
    }

    #[test]
    fn long_inputs_in_uneven_pieces() {
        let data = noise(5 << 20, 3);
        let mut rng = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            usize::try_from(rng % (1 << 32)).unwrap()
        };
        for _ in 0..24 {
            let len = next() % data.len();
            let input = &data[..len];
            let cuts: Vec<usize> = (0..next() % 200).map(|_| next()).collect();
            assert_eq!(
                cityhash_102_128(split(input, &cuts)),
                cityhash_rs::cityhash_102_128(input),
                "len {len}, {} cuts",
                cuts.len()
            );
        }
        assert_eq!(
            cityhash_102_128([&data[..]]),
            cityhash_rs::cityhash_102_128(&data)
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn any_input_in_any_pieces(
            input in prop::collection::vec(any::<u8>(), 0..3000),
            cuts in prop::collection::vec(any::<usize>(), 0..40),
        ) {
            prop_assert_eq!(
                cityhash_102_128(split(&input, &cuts)),
                cityhash_rs::cityhash_102_128(&input)
            );
        }
    }

    /// Throughput against `cityhash_rs` on 64 MiB, best of five (release builds:
    /// `cargo test -p batch-clickhouse --release --lib throughput -- --ignored
    /// --nocapture`).
    #[test]
    #[ignore = "a measurement, not a check"]
    fn throughput() {
        let data = noise(64 << 20, 4);
        let expected = cityhash_rs::cityhash_102_128(&data);
        let best = |hash: &dyn Fn() -> u128| {
            let mut best = f64::MAX;
            for _ in 0..5 {
                let started = std::time::Instant::now();
                assert_eq!(hash(), expected);
                best = best.min(started.elapsed().as_secs_f64());
            }
            64.0 / best
        };
        let contiguous = best(&|| cityhash_rs::cityhash_102_128(&data));
        let whole = best(&|| cityhash_102_128([&data[..]]));
        let chunks = best(&|| cityhash_102_128(data.chunks(64 << 10)));
        let uneven = best(&|| cityhash_102_128(data.chunks(1000)));
        eprintln!(
            "MiB/s: cityhash_rs {contiguous:.0}; streamed whole {whole:.0}, in 64 KiB \
             pieces {chunks:.0}, in 1000-byte pieces {uneven:.0}"
        );
    }
}
