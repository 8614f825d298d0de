//! Golden bytes of Native blocks transcoded from RowBinary rows, each field spelled out
//! in a comment. The real servers read them in the workspace's
//! `tests/clickhouse/roundtrip.rs` (ClickHouse 18.16) and `tests/clickhouse/chdb_oracle.rs`
//! (chdb).
#![allow(clippy::unwrap_used, clippy::panic)]

use batch_core::{Batch, ChunkFull, Encode, RowBuffer};

use super::*;
use crate::frame::Lz4Frames;
use crate::RowBinary;

fn ty(s: &str) -> ChType {
    ChType::parse(s).unwrap()
}

/// RowBinary bytes of `v` for a column of type `column`.
fn rb<T: Encode<RowBinary> + ?Sized>(v: &T, column: &str) -> Vec<u8> {
    let mut buf = Vec::new();
    v.encode(&ty(column), &mut buf).unwrap();
    buf
}

/// The transcoder for `(name, type)` columns.
fn native(columns: &[(&str, &str)]) -> NativeBlock {
    let types: Vec<ChType> = columns.iter().map(|(_, t)| ty(t)).collect();
    NativeBlock::new(columns.iter().map(|(n, _)| *n).zip(&types)).unwrap()
}

/// A varuint-length string.
fn s(text: &str) -> Vec<u8> {
    let mut out = vec![u8::try_from(text.len()).unwrap()];
    out.extend_from_slice(text.as_bytes());
    out
}

fn u64s(values: &[u64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// A batch of `rows`, `per_chunk` rows to a chunk.
fn batch(rows: &[Vec<u8>], per_chunk: usize) -> Batch {
    let mut chunks = Vec::new();
    let mut buf = RowBuffer::default();
    for (i, r) in rows.iter().enumerate() {
        buf.push_row(|b| {
            b.extend_from_slice(r);
            Ok::<_, ChunkFull>(())
        })
        .unwrap();
        if (i + 1) % per_chunk == 0 {
            chunks.push(buf.take());
        }
    }
    chunks.push(buf.take());
    Batch::new(1, chunks)
}

#[test]
fn fixed_size_strings_and_nullables() {
    let n = native(&[("id", "UInt32"), ("s", "String"), ("n", "Nullable(Int16)")]);
    let rows = [
        [
            rb(&7u32, "UInt32"),
            rb("ab", "String"),
            rb(&Some(-2i16), "Nullable(Int16)"),
        ]
        .concat(),
        [
            rb(&8u32, "UInt32"),
            rb("", "String"),
            rb(&None::<i16>, "Nullable(Int16)"),
        ]
        .concat(),
    ];
    let block = n.transcode(&[rows.concat()]).unwrap();
    let want = [
        vec![3, 2], // 3 columns, 2 rows
        s("id"),
        s("UInt32"),
        vec![7, 0, 0, 0, 8, 0, 0, 0], // UInt32 7, 8
        s("s"),
        s("String"),
        vec![2, b'a', b'b', 0], // "ab", ""
        s("n"),
        s("Nullable(Int16)"),
        vec![0, 1],       // null map: not NULL, NULL
        vec![0xfe, 0xff], // Int16 -2
        vec![0, 0],       // Int16 0 where the NULL is
    ]
    .concat();
    assert_eq!(block, want);
}

#[test]
fn every_fixed_size_type_is_its_rowbinary_bytes() {
    // Each of these types is a fixed number of bytes per row in both formats, the same
    // bytes (a UUID as two little-endian UInt64 halves, high half first; an IPv4 as a
    // little-endian UInt32; an enum as its Int8/Int16 value; a Decimal as its integer).
    for (column, width) in [
        ("Bool", 1),
        ("Int8", 1),
        ("UInt8", 1),
        ("Enum8('a' = 1, 'b' = -2)", 1),
        ("Int16", 2),
        ("UInt16", 2),
        ("Date", 2),
        ("Enum16('x' = 1000)", 2),
        ("Int32", 4),
        ("UInt32", 4),
        ("Float32", 4),
        ("Date32", 4),
        ("DateTime", 4),
        ("DateTime('UTC')", 4),
        ("IPv4", 4),
        ("Decimal(9, 2)", 4),
        ("Int64", 8),
        ("UInt64", 8),
        ("Float64", 8),
        ("DateTime64(3, 'UTC')", 8),
        ("Decimal(18, 4)", 8),
        ("Int128", 16),
        ("UInt128", 16),
        ("UUID", 16),
        ("IPv6", 16),
        ("Decimal(38, 10)", 16),
        ("Decimal(76, 20)", 32),
        ("Int256", 32),
        ("UInt256", 32),
        ("FixedString(3)", 3),
    ] {
        let n = native(&[("c", column)]);
        let values: Vec<u8> = (0..width * 3).map(|i| u8::try_from(i).unwrap()).collect();
        let block = n.transcode(&[&values[..]]).unwrap();
        let want = [vec![1, 3], s("c"), s(&ty(column).to_string()), values].concat();
        assert_eq!(block, want, "{column}");
    }
}

#[test]
fn arrays_are_offsets_then_elements() {
    let n = native(&[
        ("a", "Array(Nullable(String))"),
        ("nested", "Array(Array(UInt8))"),
    ]);
    let rows = [
        [
            rb(&vec![Some("x"), None], "Array(Nullable(String))"),
            rb(&vec![vec![1u8], vec![]], "Array(Array(UInt8))"),
        ]
        .concat(),
        [
            rb(&Vec::<Option<&str>>::new(), "Array(Nullable(String))"),
            rb(&vec![vec![2u8, 3]], "Array(Array(UInt8))"),
        ]
        .concat(),
        [
            rb(&vec![Some("yz")], "Array(Nullable(String))"),
            rb(&Vec::<Vec<u8>>::new(), "Array(Array(UInt8))"),
        ]
        .concat(),
    ];
    let block = n.transcode(&[rows.concat()]).unwrap();
    let want = [
        vec![2, 3], // 2 columns, 3 rows
        s("a"),
        s("Array(Nullable(String))"),
        u64s(&[2, 2, 3]),                // offsets: rows of 2, 0 and 1 elements
        vec![0, 1, 0],                   // the elements' null map
        vec![1, b'x', 0, 2, b'y', b'z'], // "x", "" at the NULL, "yz"
        s("nested"),
        s("Array(Array(UInt8))"),
        u64s(&[2, 3, 3]), // outer offsets: 2, 1 and 0 inner arrays
        u64s(&[1, 1, 3]), // inner offsets: [1], [], [2, 3]
        vec![1, 2, 3],    // the UInt8 elements
    ]
    .concat();
    assert_eq!(block, want);
}

#[test]
fn maps_are_arrays_of_keys_and_values() {
    let n = native(&[("m", "Map(String, Nullable(Int8))")]);
    let m1: std::collections::BTreeMap<&str, Option<i8>> = [("a", Some(1)), ("b", None)].into();
    let m2: std::collections::BTreeMap<&str, Option<i8>> = [("c", Some(-1))].into();
    let rows = [
        rb(&m1, "Map(String, Nullable(Int8))"),
        rb(&m2, "Map(String, Nullable(Int8))"),
    ];
    let block = n.transcode(&[rows.concat()]).unwrap();
    let want = [
        vec![1, 2],
        s("m"),
        s("Map(String, Nullable(Int8))"),
        u64s(&[2, 3]),                     // offsets: 2 entries, then 1
        [s("a"), s("b"), s("c")].concat(), // the keys
        vec![0, 1, 0],                     // the values' null map
        vec![1, 0, 0xff],                  // Int8 1, 0 at the NULL, -1
    ]
    .concat();
    assert_eq!(block, want);
}

#[test]
fn low_cardinality_is_a_dictionary_per_section() {
    let n = native(&[
        ("lc", "LowCardinality(String)"),
        ("lcn", "LowCardinality(Nullable(String))"),
    ]);
    let values = [
        (Some("b"), Some("x")),
        (Some("a"), None),
        (Some("b"), Some("")),
        (Some(""), Some("x")),
    ];
    let rows: Vec<Vec<u8>> = values
        .iter()
        .map(|(lc, lcn)| {
            [
                rb(lc.unwrap(), "LowCardinality(String)"),
                rb(lcn, "LowCardinality(Nullable(String))"),
            ]
            .concat()
        })
        .collect();
    let block = n.transcode(&[rows.concat()]).unwrap();
    let want = [
        vec![2, 4], // 2 columns, 4 rows
        s("lc"),
        s("LowCardinality(String)"),
        u64s(&[1]),      // key version 1: keys per section
        u64s(&[1 << 9]), // UInt8 indexes (type 0), with additional keys (bit 9)
        u64s(&[3]),      // 3 keys, in the order first seen:
        [s("b"), s("a"), s("")].concat(),
        u64s(&[4]),       // 4 indexes
        vec![0, 1, 0, 2], // b, a, b, ""
        s("lcn"),
        s("LowCardinality(Nullable(String))"),
        u64s(&[1]),      // key version
        u64s(&[1 << 9]), // UInt8 indexes, additional keys
        u64s(&[3]),      // 3 keys: the NULL placeholder (an empty string), "x", ""
        [s(""), s("x"), s("")].concat(),
        u64s(&[4]),       // 4 indexes
        vec![1, 0, 2, 1], // x, NULL, "", x
    ]
    .concat();
    assert_eq!(block, want);
}

#[test]
fn low_cardinality_in_arrays_and_maps_writes_its_version_first() {
    let n = native(&[("a", "Array(LowCardinality(String))")]);
    let rows = [
        rb(&vec!["k", "m", "k"], "Array(LowCardinality(String))"),
        rb(&Vec::<&str>::new(), "Array(LowCardinality(String))"),
    ];
    let block = n.transcode(&[rows.concat()]).unwrap();
    let want = [
        vec![1, 2],
        s("a"),
        s("Array(LowCardinality(String))"),
        u64s(&[1]),      // the key version, before the offsets
        u64s(&[3, 3]),   // offsets
        u64s(&[1 << 9]), // one section: UInt8 indexes, additional keys
        u64s(&[2]),      // 2 keys
        [s("k"), s("m")].concat(),
        u64s(&[3]), // 3 indexes
        vec![0, 1, 0],
    ]
    .concat();
    assert_eq!(block, want);
    // Arrays that are all empty: no section at all (the server reads none).
    let empty = rb(&Vec::<&str>::new(), "Array(LowCardinality(String))");
    let block = n.transcode(&[[empty.clone(), empty].concat()]).unwrap();
    let want = [
        vec![1, 2],
        s("a"),
        s("Array(LowCardinality(String))"),
        u64s(&[1]),    // the key version
        u64s(&[0, 0]), // offsets, and nothing else
    ]
    .concat();
    assert_eq!(block, want);
}

#[test]
fn many_keys_take_several_sections_with_wider_indexes() {
    let n = native(&[("lc", "LowCardinality(UInt32)")]);
    // 70,000 distinct keys, then key 0 again: 65,536 keys in the first section, the
    // rest and key 0 (new to the second section) in the second.
    let mut rows: Vec<u8> = (0..70_000u32).flat_map(u32::to_le_bytes).collect();
    rows.extend(0u32.to_le_bytes());
    let block = n.transcode(&[rows]).unwrap();
    let head = [
        vec![1],
        vec![0xf1, 0xa2, 0x04],
        s("lc"),
        s("LowCardinality(UInt32)"),
    ]
    .concat();
    // 1 column, 70,001 rows (varuint f1 a2 04)
    assert_eq!(block[..head.len()], head[..]);
    let mut at = head.len() + 8; // past the key version
    let mut read = |n: usize| {
        let v = &block[at..at + n];
        at += n;
        v.to_vec()
    };
    // Section 1: UInt16 indexes (type 1), 65,536 keys, 65,536 indexes 0, 1, 2, ...
    assert_eq!(read(8), u64s(&[1 | 1 << 9]));
    assert_eq!(read(8), u64s(&[65_536]));
    let keys = read(4 * 65_536);
    assert_eq!(keys[4 * 65_535..], 65_535u32.to_le_bytes());
    assert_eq!(read(8), u64s(&[65_536]));
    let indexes = read(2 * 65_536);
    assert_eq!(indexes[2 * 300..2 * 301], 300u16.to_le_bytes());
    // Section 2: UInt16 indexes, 4,465 keys (65,536..70,000, then 0), 4,465 indexes.
    assert_eq!(read(8), u64s(&[1 | 1 << 9]));
    assert_eq!(read(8), u64s(&[4465]));
    let keys = read(4 * 4465);
    assert_eq!(keys[..4], 65_536u32.to_le_bytes());
    assert_eq!(keys[4 * 4464..], 0u32.to_le_bytes());
    assert_eq!(read(8), u64s(&[4465]));
    let indexes = read(2 * 4465);
    assert_eq!(indexes[2 * 4464..], 4464u16.to_le_bytes());
    assert_eq!(at, block.len());
}

#[test]
fn the_block_does_not_depend_on_how_rows_are_chunked() {
    let n = native(&[
        ("id", "UInt64"),
        ("lc", "LowCardinality(Nullable(String))"),
        ("a", "Array(Int32)"),
    ]);
    let rows: Vec<Vec<u8>> = (0..1000u64)
        .map(|i| {
            let word = ["", "alpha", "beta"][usize::try_from(i % 3).unwrap()];
            let lc = (i % 5 != 0).then_some(word);
            let a: Vec<i32> = (0..i % 4).map(|k| i32::try_from(k).unwrap()).collect();
            [
                rb(&i, "UInt64"),
                rb(&lc, "LowCardinality(Nullable(String))"),
                rb(&a, "Array(Int32)"),
            ]
            .concat()
        })
        .collect();
    let one = n.transcode_batch(&batch(&rows, 1000)).unwrap();
    for per_chunk in [1, 7, 64, 999] {
        let b = batch(&rows, per_chunk);
        // Every attempt, and every chunking, makes the same bytes.
        assert_eq!(n.transcode_batch(&b).unwrap(), one, "{per_chunk}");
        assert_eq!(n.transcode_batch(&b.clone()).unwrap(), one);
        assert!(n.memory_bound(&b) >= one.len(), "{per_chunk}");
    }
}

#[test]
fn the_memory_bound_covers_the_block() {
    let flat = native(&[
        ("id", "UInt64"),
        ("n", "Nullable(Decimal(38, 2))"),
        ("lc", "LowCardinality(Nullable(FixedString(8)))"),
        ("s", "String"),
    ]);
    let rows: Vec<Vec<u8>> = (0..500u64)
        .map(|i| {
            [
                rb(&i, "UInt64"),
                vec![1], // NULL: 1 byte in RowBinary, 17 in Native
                vec![1],
                rb("x", "String"),
            ]
            .concat()
        })
        .collect();
    let b = batch(&rows, 100);
    let block = flat.transcode_batch(&b).unwrap();
    let bound = flat.memory_bound(&b);
    // The streams (up to twice their bytes when they grow) and the block they are
    // joined into.
    assert!(bound >= 3 * block.len(), "{bound} < 3 * {}", block.len());
    // Compressed where they lie, the streams are never joined: the block is not
    // counted.
    let columns = flat.columns_bound(&b);
    assert!(
        columns >= 2 * block.len(),
        "{columns} < 2 * {}",
        block.len()
    );
    assert_eq!(bound - columns, flat.block_bound(&b));
    let nested = native(&[("a", "Array(Nullable(Int64))")]);
    let rows: Vec<Vec<u8>> = (0..500)
        .map(|_| rb(&vec![None::<i64>; 3], "Array(Nullable(Int64))"))
        .collect();
    let b = batch(&rows, 64);
    let block = nested.transcode_batch(&b).unwrap();
    // 4 RowBinary bytes a row; 8 + 3 * 9 in Native.
    assert_eq!(b.len(), 2000);
    assert!(nested.memory_bound(&b) >= 3 * block.len());
    assert!(nested.memory_bound(&b) < 4 * block.len());
}

#[test]
fn rows_that_do_not_read_are_errors() {
    let n = native(&[("id", "UInt32"), ("n", "Nullable(String)")]);
    // The second row's string runs past the end.
    let rows = [1, 0, 0, 0, 0, 1, b'a', 2, 0, 0, 0, 0, 5, b'x'];
    let e = n.transcode(&[&rows[..]]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "transcoding to Native: row 1, column `n`: a value runs past the end of the rows"
    );
    let e = n.transcode(&[&[1u8, 0, 0, 0, 2][..]]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "transcoding to Native: row 0, column `n`: a Nullable flag is 2, not 0 or 1"
    );
    // A batch's row count must match what was read.
    let b = batch(&[vec![1, 0, 0, 0, 1, 2, 0, 0, 0, 1]], 1);
    let e = n.transcode_batch(&b).unwrap_err();
    assert!(e.to_string().contains("read 2 rows of a batch of 1"), "{e}");
}

#[test]
fn json_is_not_written_in_native() {
    let types = [ty("UInt8"), ty("JSON")];
    let e = NativeBlock::new(["id", "doc"].into_iter().zip(&types)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "column `doc`: the Native format writer does not support type JSON"
    );
    for t in [
        "Array(JSON)",
        "Map(String, JSON)",
        "Tuple(UInt8)",
        "Nothing",
    ] {
        let t = ty(t);
        assert!(NativeBlock::new([("c", &t)]).is_err(), "{t}");
    }
}

#[test]
fn an_empty_block_has_names_and_types_only() {
    let n = native(&[("lc", "LowCardinality(String)")]);
    let block = n.transcode::<&[u8]>(&[]).unwrap();
    // 1 column, 0 rows, then the name and type, no key version.
    assert_eq!(
        block,
        [vec![1, 0], s("lc"), s("LowCardinality(String)")].concat()
    );
}

#[test]
fn buffers_kept_from_one_batch_make_the_same_block_for_the_next() {
    let n = native(&[
        ("id", "UInt64"),
        ("lc", "LowCardinality(String)"),
        ("s", "Nullable(String)"),
    ]);
    let rows = |from: u64, count: u64| -> Vec<Vec<u8>> {
        (from..from + count)
            .map(|i| {
                let s = (i % 3 != 0).then(|| "x".repeat(usize::try_from(i % 40).unwrap()));
                [
                    rb(&i, "UInt64"),
                    rb(["a", "b", "c"][usize::try_from(i % 3).unwrap()], "String"),
                    rb(&s, "Nullable(String)"),
                ]
                .concat()
            })
            .collect()
    };
    let first = batch(&rows(0, 3000), 100);
    let mut scratch = n.scratch();
    n.transcode_into(&first, &mut scratch).unwrap();
    n.assemble(&mut scratch);
    assert_eq!(scratch.block(), n.transcode_batch(&first).unwrap());
    let block_at = scratch.block().as_ptr();
    n.recycle(scratch);
    // The next batch, smaller, is written into the same buffers, and its block is the
    // one fresh buffers make.
    let second = batch(&rows(5000, 1000), 64);
    let mut scratch = n.scratch();
    n.transcode_into(&second, &mut scratch).unwrap();
    n.assemble(&mut scratch);
    assert_eq!(
        scratch.block().as_ptr(),
        block_at,
        "the block was allocated again"
    );
    assert_eq!(scratch.block(), n.transcode_batch(&second).unwrap());
    // A row that does not read leaves the buffers usable.
    let bad = batch(&[vec![1, 2, 3]], 1);
    assert!(n.transcode_into(&bad, &mut scratch).is_err());
    n.transcode_into(&first, &mut scratch).unwrap();
    n.assemble(&mut scratch);
    assert_eq!(scratch.block(), n.transcode_batch(&first).unwrap());
    // Buffers over the limit are not kept.
    let mut big = Scratch::default();
    big.block.reserve(KEEP_SPARE + 1);
    n.recycle(big);
    n.recycle(scratch);
    assert!(n.scratch().block.capacity() <= KEEP_SPARE);
}

/// Opens LZ4 frames as the server reads them (checksum, header, block) and returns
/// the bytes they hold, one `Vec` per frame.
fn open_frames(frames: Vec<crate::frame::Frame>) -> Vec<Vec<u8>> {
    frames
        .into_iter()
        .map(|f| {
            let frame = f.into_pieces().concat();
            let checksum = u128::from_le_bytes(frame[..16].try_into().unwrap()).rotate_left(64);
            assert_eq!(checksum, cityhash_rs::cityhash_102_128(&frame[16..]));
            assert_eq!(frame[16], 0x82, "an LZ4 frame");
            let sized = u32::from_le_bytes(frame[17..21].try_into().unwrap()) as usize;
            assert_eq!(sized, frame.len() - 16);
            let raw = u32::from_le_bytes(frame[21..25].try_into().unwrap()) as usize;
            lz4_flex::block::decompress(&frame[25..], raw).unwrap()
        })
        .collect()
}

#[test]
fn lz4_frames_hold_the_block_without_joining_it() {
    let n = native(&[
        ("id", "UInt64"),
        ("lc", "LowCardinality(String)"),
        ("s", "String"),
    ]);
    let rows: Vec<Vec<u8>> = (0..60_000u64)
        .map(|i| {
            [
                rb(&i, "UInt64"),
                rb(["a", "b", "c"][usize::try_from(i % 3).unwrap()], "String"),
                rb(&format!("payload {i:>12}"), "String"),
            ]
            .concat()
        })
        .collect();
    let b = batch(&rows, 997);
    let block = n.transcode_batch(&b).unwrap();
    assert!(block.len() > 1_500_000, "{}", block.len());
    for max in [crate::frame::BLOCK_FRAME, 100_000, 30_000, 1000] {
        let mut scratch = n.scratch();
        n.transcode_into(&b, &mut scratch).unwrap();
        let frames = n.lz4_frames(&mut scratch, max).unwrap().frames;
        assert!(scratch.block.is_empty(), "the block was joined");
        let opened = open_frames(frames);
        assert!(opened.iter().all(|f| f.len() <= max), "a frame over {max}");
        // The small parts (the heads of the block and of its columns) are gathered
        // into frames with their neighbours, not sent alone: only the last frame may
        // be smaller than 64 KiB (or the frame size).
        let sizes: Vec<usize> = opened.iter().map(Vec::len).collect();
        assert!(
            sizes[..sizes.len() - 1]
                .iter()
                .all(|&f| f >= (64 << 10).min(max)),
            "a small frame: {sizes:?}"
        );
        assert_eq!(opened.concat(), block, "max {max}");
        // The same columns make the same frames: a retry sends the same bytes.
        let again = open_frames(n.lz4_frames(&mut scratch, max).unwrap().frames);
        assert_eq!(again, opened);
    }
}

#[test]
fn the_buffer_of_sent_frames_serves_the_next_block() {
    let n = native(&[("id", "UInt64"), ("s", "String")]);
    let rows: Vec<Vec<u8>> = (0..20_000u64)
        .map(|i| [rb(&i, "UInt64"), rb(&format!("row {i}"), "String")].concat())
        .collect();
    let b = batch(&rows, 1000);
    let block = n.transcode_batch(&b).unwrap();
    let mut scratch = n.scratch();
    n.transcode_into(&b, &mut scratch).unwrap();
    let first = n.lz4_frames(&mut scratch, 100_000).unwrap();
    assert!(first.frames.len() > 1);
    let at = first.whole.as_ptr();
    // While a frame is still referred to (a retry may send it), the buffer is not
    // taken back.
    let held = first.frames[0].clone();
    n.recycle_frames(first.whole.clone());
    drop(first);
    let second = n.lz4_frames(&mut scratch, 100_000).unwrap();
    assert_ne!(second.whole.as_ptr(), at, "a buffer in use was taken back");
    drop(held);
    // Sent and dropped, the frames give their buffer to the next block.
    let at = second.whole.as_ptr();
    let Lz4Frames { frames, whole } = second;
    drop(frames);
    n.recycle_frames(whole);
    let third = n.lz4_frames(&mut scratch, 100_000).unwrap();
    assert_eq!(third.whole.as_ptr(), at, "the buffer was not kept");
    assert_eq!(open_frames(third.frames).concat(), block);
}

#[test]
fn a_block_sent_in_stored_frames_is_joined_into_again_for_the_next() {
    let n = native(&[("id", "UInt64"), ("s", "String")]);
    let rows: Vec<Vec<u8>> = (0..5_000u64)
        .map(|i| [rb(&i, "UInt64"), rb(&format!("row {i}"), "String")].concat())
        .collect();
    let b = batch(&rows, 1000);
    let mut scratch = n.scratch();
    n.transcode_into(&b, &mut scratch).unwrap();
    n.assemble(&mut scratch);
    let sent = bytes::Bytes::from(scratch.take_block());
    let at = sent.as_ptr();
    n.recycle_frames(sent);
    n.transcode_into(&b, &mut scratch).unwrap();
    n.assemble(&mut scratch);
    assert_eq!(
        scratch.block().as_ptr(),
        at,
        "the sent block's buffer was not kept"
    );
    assert_eq!(scratch.block(), n.transcode_batch(&b).unwrap());
}
