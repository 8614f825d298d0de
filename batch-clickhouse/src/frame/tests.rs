//! Frames checked as the server reads them: checksums, headers, LZ4 against the
//! `clickhouse` crate's own frames, and stored frames that share the batch's memory.
#![allow(clippy::unwrap_used)]

use super::*;
use batch_core::{ChunkFull, RowBuffer};

/// A batch of `rows` 8-byte rows (the row's number), in chunks of `per_chunk` rows.
pub(crate) fn batch(rows: u64, per_chunk: u64) -> Batch {
    let mut chunks = Vec::new();
    let mut buf = RowBuffer::default();
    for i in 0..rows {
        buf.push_row(|b| {
            b.extend_from_slice(&i.to_le_bytes());
            Ok::<_, ChunkFull>(())
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

/// The batch's frames, each as the bytes its pieces add up to.
fn joined(batch: &Batch, max_frame: usize) -> Vec<Vec<u8>> {
    frames(batch, max_frame, compressible(batch), &Kept::default())
        .unwrap()
        .0
        .into_iter()
        .map(|f| f.into_pieces().concat())
        .collect()
}

/// Checks one frame as the server does, and returns its raw bytes.
fn open(frame: &[u8]) -> Vec<u8> {
    let checksum = u128::from_le_bytes(frame[..16].try_into().unwrap()).rotate_left(64);
    assert_eq!(checksum, cityhash_rs::cityhash_102_128(&frame[16..]));
    let sized = u32::from_le_bytes(frame[17..21].try_into().unwrap()) as usize;
    let raw = u32::from_le_bytes(frame[21..25].try_into().unwrap()) as usize;
    assert_eq!(sized, frame.len() - 16);
    match frame[16] {
        0x82 => lz4_flex::block::decompress(&frame[25..], raw).unwrap(),
        0x02 => {
            assert_eq!(raw, frame.len() - 25);
            frame[25..].to_vec()
        }
        m => panic!("method {m:#x}"),
    }
}

#[test]
fn a_batch_is_one_frame_the_crate_would_have_made() {
    for b in [batch(100, 1000), batch(5000, 250)] {
        let sent = frames(&b, MAX_FRAME, compressible(&b), &Kept::default())
            .unwrap()
            .0;
        assert_eq!(sent.len(), 1);
        let pieces = sent[0].clone().into_pieces();
        assert_eq!(pieces.len(), 1);
        let frame = pieces.concat();
        assert_eq!(open(&frame), concat(&b));
        // Byte for byte what the clickhouse crate sends for the same rows.
        let theirs = clickhouse::_priv::lz4_compress(&concat(&b)).unwrap();
        assert_eq!(frame, theirs);
    }
}

#[test]
fn a_batch_of_one_chunk_is_compressed_without_a_copy() {
    let one = batch(100, 1000);
    let mut seen = Vec::new();
    pieces(&one, MAX_FRAME, &mut Vec::new(), |p| {
        seen.push(p.as_ptr());
        Ok::<(), ()>(())
    })
    .unwrap();
    assert_eq!(seen, [one.chunks().next().unwrap().as_ptr()]);
    // The frame, and the room LZ4 asks for while it writes it (110% of the rows).
    let room = |len: usize| 25 + lz4_flex::block::get_maximum_output_size(len);
    assert_eq!(send_memory(&one, MAX_FRAME, true), room(one.len()));
    let many = batch(1000, 64);
    assert_eq!(
        send_memory(&many, MAX_FRAME, true),
        room(many.len()) + many.len()
    );
}

#[test]
fn a_batch_over_the_frame_size_is_split_into_full_frames() {
    let many = batch(1000, 64); // 8,000 bytes in chunks of 512
    for max in [1, 7, 100, 512, 1000, 7999, 8000, 8001] {
        let mut sent: Vec<Vec<u8>> = Vec::new();
        pieces(&many, max, &mut Vec::new(), |p| {
            sent.push(p.to_vec());
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(sent.len(), 8000usize.div_ceil(max), "max {max}");
        assert!(sent[..sent.len() - 1].iter().all(|f| f.len() == max));
        assert_eq!(sent.concat(), concat(&many), "max {max}");
        let framed = joined(&many, max);
        let opened: Vec<u8> = framed.iter().flat_map(|f| open(f)).collect();
        assert_eq!(opened, concat(&many), "max {max}");
    }
    assert!(frames(&batch(0, 1), 10, true, &Kept::default())
        .unwrap()
        .0
        .is_empty());
}

#[test]
fn the_copy_and_the_frame_buffers_are_kept_for_the_next_batch() {
    let kept = Kept::default();
    let many = batch(5000, 250);
    let open_all = |f: &[Frame]| -> Vec<u8> {
        f.iter()
            .flat_map(|f| open(&f.clone().into_pieces().concat()))
            .collect()
    };
    let (first, whole) = frames(&many, MAX_FRAME, true, &kept).unwrap();
    let whole = whole.expect("LZ4 frames lie in one buffer");
    assert_eq!(open_all(&first), concat(&many));
    // The copy went back at once; the frames' buffer only once they are dropped.
    let copy = kept.held();
    assert!(copy >= many.len(), "{copy}");
    kept.recycle_frames(whole.clone());
    assert_eq!(kept.held(), copy, "a buffer still referred to was kept");
    drop(first);
    let at = whole.as_ptr();
    kept.recycle_frames(whole);
    assert!(kept.held() > copy);
    let held = kept.held();
    // The next batch takes the same buffers, and gives the copy back: no second one.
    let (again, whole) = frames(&many, MAX_FRAME, true, &kept).unwrap();
    let whole = whole.unwrap();
    assert_eq!(whole.as_ptr(), at, "the frame buffer was not reused");
    assert_eq!(kept.held(), copy);
    assert_eq!(open_all(&again), concat(&many));
    drop(again);
    kept.recycle_frames(whole);
    assert_eq!(kept.held(), held);
    // A batch of one chunk is compressed where it lies: no copy is taken.
    let fresh = Kept::default();
    frames(&batch(100, 1000), MAX_FRAME, true, &fresh).unwrap();
    assert_eq!(fresh.held(), 0);
    // Buffers beyond the limit are let go.
    kept.keep_copy(Vec::with_capacity(kept::KEEP));
    assert_eq!(kept.held(), held);
}

fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}

fn noise_batch(rows: usize, row_len: usize, per_chunk: usize) -> Batch {
    let raw = noise(rows * row_len);
    let mut chunks = Vec::new();
    let mut buf = RowBuffer::default();
    for (i, row) in raw.chunks(row_len).enumerate() {
        buf.push_row(|b| {
            b.extend_from_slice(row);
            Ok::<_, ChunkFull>(())
        })
        .unwrap();
        if (i + 1) % per_chunk == 0 {
            chunks.push(buf.take());
        }
    }
    chunks.push(buf.take());
    Batch::new(3, chunks)
}

/// The stored frames as one contiguous copy each (how they were built before they
/// were sent straight from the chunks): the reference for the pieces.
fn stored_contiguous(batch: &Batch, max_frame: usize) -> Vec<Vec<u8>> {
    let raw = concat(batch);
    raw.chunks(max_frame)
        .map(|rows| {
            let mut out = vec![0u8; 25];
            out[16] = 0x02;
            out[17..21].copy_from_slice(&u32::try_from(9 + rows.len()).unwrap().to_le_bytes());
            out[21..25].copy_from_slice(&u32::try_from(rows.len()).unwrap().to_le_bytes());
            out.extend_from_slice(rows);
            let checksum = cityhash_rs::cityhash_102_128(&out[16..]).rotate_right(64);
            out[..16].copy_from_slice(&checksum.to_le_bytes());
            out
        })
        .collect()
}

#[test]
fn incompressible_rows_are_stored_in_one_checksummed_frame_without_a_copy() {
    let b = noise_batch(4000, 100, 500);
    assert!(!compressible(&b));
    assert!(compressible(&batch(5000, 250)));
    let sent = frames(&b, MAX_FRAME, compressible(&b), &Kept::default())
        .unwrap()
        .0;
    assert_eq!(sent.len(), 1);
    let pieces = sent[0].clone().into_pieces();
    // The checksum and header, then the chunks themselves.
    assert_eq!(pieces.len(), 1 + b.chunks().len());
    assert_eq!(pieces[0].len(), 25);
    assert_eq!(pieces[0][16], 0x02, "method none");
    for (piece, chunk) in pieces[1..].iter().zip(b.chunks()) {
        assert_eq!(piece.as_ptr(), chunk.as_ptr(), "a chunk was copied");
        assert_eq!(piece.len(), chunk.len());
    }
    let frame = pieces.concat();
    assert_eq!(open(&frame), concat(&b));
    assert_eq!(vec![frame], stored_contiguous(&b, MAX_FRAME));
    // The sink holds the 25 bytes and the list of pieces, nothing of the rows.
    let memory = send_memory(&b, MAX_FRAME, compressible(&b));
    assert_eq!(memory, 25 + (b.chunks().len() + 2) * 32);
    assert!(memory < b.len() / 100, "{memory}");
    // Split into frames of at most `max` rows' bytes, each stored whole, at chunk
    // edges and inside chunks.
    for max in [1, 99, 1000, 50_000, 99_999, 400_000, b.len() - 1, b.len()] {
        let framed = joined(&b, max);
        assert_eq!(framed.len(), b.len().div_ceil(max), "max {max}");
        assert_eq!(framed, stored_contiguous(&b, max), "max {max}");
        let opened: Vec<u8> = framed.iter().flat_map(|f| open(f)).collect();
        assert_eq!(opened, concat(&b), "max {max}");
    }
}

#[test]
fn stored_frames_over_uneven_and_empty_chunks_match_the_contiguous_frame() {
    let raw = noise(300_000);
    let mut rest = &raw[..];
    let mut chunks = Vec::new();
    let mut buf = RowBuffer::default();
    for (i, size) in [70_000, 1, 0, 129, 128, 5, 0, 200_000]
        .into_iter()
        .cycle()
        .enumerate()
    {
        if rest.is_empty() {
            break;
        }
        let size = size.min(rest.len());
        if size > 0 {
            buf.push_row(|b| {
                b.extend_from_slice(&rest[..size]);
                Ok::<_, ChunkFull>(())
            })
            .unwrap();
        }
        rest = &rest[size..];
        if i % 2 == 0 {
            chunks.push(buf.take());
        }
    }
    chunks.push(buf.take());
    let b = Batch::new(5, chunks);
    assert!(!compressible(&b));
    for max in [1, 7, 128, 144, 65_536, 299_999, MAX_FRAME] {
        assert_eq!(joined(&b, max), stored_contiguous(&b, max), "max {max}");
    }
}

#[test]
fn without_compression_rows_lz4_would_shrink_are_stored_without_a_copy() {
    let b = batch(5000, 250);
    assert!(compressible(&b));
    assert!(!InsertCompression::None.lz4_for(&b));
    assert!(InsertCompression::Lz4.lz4_for(&b));
    let sent = frames(&b, MAX_FRAME, false, &Kept::default()).unwrap().0;
    let pieces = sent[0].clone().into_pieces();
    assert_eq!(pieces.len(), 1 + b.chunks().len());
    assert_eq!(pieces[0][16], 0x02, "method none");
    for (piece, chunk) in pieces[1..].iter().zip(b.chunks()) {
        assert_eq!(piece.as_ptr(), chunk.as_ptr(), "a chunk was copied");
    }
    assert_eq!(vec![pieces.concat()], stored_contiguous(&b, MAX_FRAME));
    assert_eq!(
        send_memory(&b, MAX_FRAME, false),
        25 + (b.chunks().len() + 2) * 32
    );
    // A block: one stored frame that shares the block's memory.
    let block = Bytes::from(concat(&b));
    let sent = stored_block_frames(block.clone(), MAX_FRAME).unwrap();
    assert_eq!(sent.len(), 1);
    let pieces = sent[0].clone().into_pieces();
    assert_eq!(pieces[1].as_ptr(), block.as_ptr());
    assert_eq!(open(&pieces.concat()), concat(&b));
    let split = stored_block_frames(block.clone(), 30_000).unwrap();
    assert_eq!(split.len(), 40_000usize.div_ceil(30_000));
    assert!(block_send_memory(40_000, MAX_FRAME, false) < 200);
    // With LZ4: the frames the crate would make of the same bytes.
    let lz4 = block_frames(&block, MAX_FRAME).unwrap();
    let theirs = clickhouse::_priv::lz4_compress(&block).unwrap();
    assert_eq!(lz4.len(), 1);
    assert_eq!(lz4[0].clone().into_pieces().concat(), theirs);
    let split: Vec<u8> = block_frames(&block, 30_000)
        .unwrap()
        .into_iter()
        .flat_map(|f| open(&f.into_pieces().concat()))
        .collect();
    assert_eq!(split, block);
}

#[test]
fn the_bound_covers_incompressible_rows() {
    let raw = noise(1_000_000);
    let frame = compress(&raw).unwrap().into_pieces().concat();
    assert!(frame.len() <= frame_bound(raw.len()), "{}", frame.len());
    assert!(frame.len() > raw.len());
    assert_eq!(open(&frame), raw);
}
