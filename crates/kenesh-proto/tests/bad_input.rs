#![allow(unsafe_code)] // the counting global allocator below
//! Bad input, one test each: every refusal is a typed [`DecodeError`], and a counting
//! allocator shows what the code under test allocates while refusing it — nothing at all for
//! [`Message::decode`], the frame splitters and COBS, and at most the declared size (plus a
//! small constant) for [`compress::decompress`].
//!
//! The counter is per thread (the test harness runs tests on parallel threads), switched on
//! only around the call measured. It sees the Rust heap: zstd's decoder context is allocated
//! by the C library with `malloc` and is not counted (it is a fixed size, whatever the
//! input).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use kenesh_proto::compress::{compress, decompress};
use kenesh_proto::{
    Body, Chunk, ChunkKind, Commit, CommitBuilder, Compression, DecodeError, Entry, FrameReader,
    Hello, Limits, Message, Welcome, read_cobs, split_prefixed, write_cobs, write_prefixed,
};

struct Counting;

thread_local! {
    static ON: Cell<bool> = const { Cell::new(false) };
    static NOW: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    // `try_with`: the allocator also runs while thread-locals are torn down.
    let on = ON.try_with(Cell::get).unwrap_or(false);
    if on {
        let _ = NOW.try_with(|n| {
            let v = n.get() + delta;
            n.set(v);
            let _ = PEAK.try_with(|p| p.set(p.get().max(v)));
        });
    }
}

// SAFETY: every call is forwarded to `System` unchanged; the counting only reads and writes
// const-initialised thread-locals without destructors, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is passed on to `System`.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) };
        count(-(layout.size() as isize));
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            count(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Runs `f` and returns what it returned with the peak bytes this thread had allocated
/// beyond what it held before (what `f` returns and keeps counts too).
fn peak<R>(f: impl FnOnce() -> R) -> (R, usize) {
    NOW.with(|n| n.set(0));
    PEAK.with(|p| p.set(0));
    ON.with(|o| o.set(true));
    let r = std::hint::black_box(f());
    ON.with(|o| o.set(false));
    (r, PEAK.with(Cell::get).max(0) as usize)
}

/// Decodes `frame` with the default limits, asserting it allocates nothing.
fn decode(frame: &[u8]) -> Result<Message<'_>, DecodeError> {
    let (r, bytes) = peak(|| Message::decode(frame, &Limits::default()));
    assert_eq!(bytes, 0, "Message::decode allocated {bytes} bytes");
    r
}

fn encode(m: &Message<'_>) -> Vec<u8> {
    m.to_vec().unwrap()
}

fn hello(min_version: u16, max_version: u16) -> Vec<u8> {
    encode(&Message::Hello(Hello {
        min_version,
        max_version,
        caps: kenesh_proto::Caps::ZSTD,
        device: 17,
        own_seq: 42,
        cursor: Some(b"cursor"),
    }))
}

/// A commit of one entry `[3, 1, 2, 3, 0, 1, b'x']`, with its count replaced by `count`
/// (postcard varint) and `extra` entry bytes after it.
fn commit_with_count(count: u32, extra: &[u8]) -> Vec<u8> {
    let mut buf = [0u8; 64];
    let mut b = CommitBuilder::new(&mut buf);
    b.push(Entry {
        envelope: &[1, 2, 3],
        body: Body::Payload(b"x"),
    })
    .unwrap();
    let frame = encode(&Message::Commit(Commit {
        origin: 7,
        first_seq: 1,
        salt: [0; 16],
        signature: &[],
        entries: b.finish(),
    }));
    // [type 3, origin 7, first_seq 1, count 1, salt ×16, signature len 0, entry…]
    assert_eq!(frame[..4], [3, 7, 1, 1]);
    let mut out = frame[..3].to_vec();
    out.extend(postcard::to_allocvec(&count).unwrap());
    out.extend(&frame[4..]);
    out.extend(extra);
    out
}

fn chunk(compression: Compression, raw_len: u32, data: &[u8]) -> Vec<u8> {
    encode(&Message::Chunk(Chunk {
        transfer: 1,
        index: 0,
        last: true,
        kind: ChunkKind::Commits,
        compression,
        raw_len,
        data,
    }))
}

#[test]
fn truncated_frame() {
    let h = hello(1, 1);
    assert!(decode(&h).is_ok());
    // Cut anywhere after the version range: the fields end before the message does.
    for cut in 3..h.len() {
        assert_eq!(
            decode(&h[..cut]),
            Err(DecodeError::Truncated),
            "cut at {cut}"
        );
    }
    // Cut inside the version range: the range itself is truncated.
    assert_eq!(decode(&h[..2]), Err(DecodeError::Truncated));
    // A commit cut inside its header, and inside its last entry.
    let c = commit_with_count(1, &[]);
    assert_eq!(decode(&c[..10]), Err(DecodeError::Truncated));
    let two = commit_with_count(2, &[3, 1, 2, 3, 0, 1, b'y']);
    assert!(decode(&two).is_ok());
    assert_eq!(
        decode(&two[..two.len() - 1]),
        Err(DecodeError::Truncated),
        "the last entry's payload is one byte short"
    );
    let welcome = encode(&Message::Welcome(Welcome {
        version: 1,
        caps: kenesh_proto::Caps(0),
        server_time_ms: 1_700_000_000_000,
        stored_seq: 5,
        epoch: 1,
    }));
    assert_eq!(
        decode(&welcome[..welcome.len() - 1]),
        Err(DecodeError::Truncated)
    );
    assert_eq!(decode(&[]), Err(DecodeError::Empty));

    // On a stream a truncated frame is not an error yet: more bytes are awaited.
    let mut wire = vec![0u8; h.len() + 4];
    write_prefixed(&h, &mut wire).unwrap();
    let (r, bytes) = peak(|| split_prefixed(&wire[..wire.len() - 1], &Limits::default()));
    assert_eq!(r, Ok(None));
    assert_eq!(bytes, 0);
}

#[test]
fn length_prefix_claiming_4_gib() {
    let mut wire = u32::MAX.to_le_bytes().to_vec();
    wire.extend([0u8; 12]);
    let limits = Limits::default();
    let (r, bytes) = peak(|| split_prefixed(&wire, &limits));
    assert_eq!(
        r,
        Err(DecodeError::FrameTooLarge {
            len: u32::MAX as usize,
            max: 16 * 1024
        }),
        "refused from the prefix alone, before waiting for the frame"
    );
    assert_eq!(bytes, 0);
    // The prefix alone is enough.
    assert_eq!(
        split_prefixed(&wire[..4], &limits),
        Err(DecodeError::FrameTooLarge {
            len: u32::MAX as usize,
            max: 16 * 1024
        })
    );

    let (r, bytes) = peak(|| {
        let mut reader: FrameReader<256> = FrameReader::new(limits);
        reader.push(&wire[..4]).unwrap();
        reader.next_frame().map(|f| f.map(<[u8]>::len))
    });
    assert_eq!(
        r,
        Err(DecodeError::FrameTooLarge {
            len: u32::MAX as usize,
            max: 256 - 4
        }),
        "the reader's limit is its buffer less the prefix"
    );
    assert_eq!(bytes, 0, "the reader holds a fixed buffer");

    // Just over the reader's own buffer, and just within it.
    let mut reader: FrameReader<256> = FrameReader::new(limits);
    reader.push(&253u32.to_le_bytes()).unwrap();
    assert_eq!(
        reader.next_frame(),
        Err(DecodeError::FrameTooLarge { len: 253, max: 252 })
    );
    let mut reader: FrameReader<256> = FrameReader::new(limits);
    reader.push(&252u32.to_le_bytes()).unwrap();
    reader.push(&[8; 252]).unwrap();
    assert_eq!(reader.next_frame().unwrap().map(<[u8]>::len), Some(252));
    // Bytes past the buffer are refused, and the reader keeps what it had.
    let mut reader: FrameReader<16> = FrameReader::new(limits);
    reader.push(&[4, 0, 0, 0, 8, 8]).unwrap();
    assert_eq!(reader.push(&[0; 11]), Err(DecodeError::BufferFull));
    reader.push(&[8, 8]).unwrap();
    assert_eq!(reader.next_frame(), Ok(Some(&[8u8, 8, 8, 8][..])));
}

#[test]
fn count_larger_than_the_frame() {
    // u32::MAX entries declared, 7 bytes of entries present.
    let f = commit_with_count(u32::MAX, &[]);
    assert_eq!(
        decode(&f),
        Err(DecodeError::CountTooLarge {
            count: u32::MAX,
            room: 7
        })
    );
    // Three entries cannot fit in 7 bytes (each takes at least 3).
    assert_eq!(
        decode(&commit_with_count(3, &[])),
        Err(DecodeError::CountTooLarge { count: 3, room: 7 })
    );
    // Two could fit by size; the second entry is simply missing.
    assert_eq!(
        decode(&commit_with_count(2, &[])),
        Err(DecodeError::Truncated)
    );
    // No entries at all: a commit holds at least one op.
    assert_eq!(decode(&commit_with_count(0, &[])), Err(DecodeError::BadSeq));
    // Fewer than the entries present: the rest are trailing bytes.
    assert_eq!(
        decode(&commit_with_count(1, &[9, 9])),
        Err(DecodeError::TrailingBytes(2))
    );
    // A byte-string length larger than the frame: the signature claims 2^32 − 1 bytes.
    let mut sig = vec![3, 7, 1, 0];
    sig.extend([0u8; 16]);
    sig.extend([0xff, 0xff, 0xff, 0xff, 0x0f]);
    assert_eq!(decode(&sig), Err(DecodeError::Truncated));
}

#[test]
fn keys_messages_that_lie() {
    let entry = |tier: u8| {
        let mut e = vec![0x11u8; 16];
        e.push(tier);
        e.extend(7u32.to_le_bytes());
        e.extend([0x22u8; 32]);
        e
    };
    // Well formed: two entries.
    let mut ok = vec![9u8, 2];
    ok.extend(entry(1));
    ok.extend(entry(2));
    assert!(matches!(decode(&ok), Ok(Message::Keys(k)) if k.len() == 2));
    // A count that does not match the bytes, either way.
    let mut more = vec![9u8, 3];
    more.extend(entry(1));
    more.extend(entry(2));
    assert_eq!(
        decode(&more),
        Err(DecodeError::LengthMismatch {
            declared: 3 * kenesh_proto::KEY_ENTRY_LEN,
            actual: 2 * kenesh_proto::KEY_ENTRY_LEN
        })
    );
    let mut torn = ok.clone();
    torn.pop();
    assert!(matches!(
        decode(&torn),
        Err(DecodeError::LengthMismatch { .. })
    ));
    // A tier that has no keys (public) or does not exist.
    for tier in [0u8, 3, 0xff] {
        let mut bad = vec![9u8, 1];
        bad.extend(entry(tier));
        assert_eq!(decode(&bad), Err(DecodeError::Malformed));
    }
    // A count past the limit is refused before anything is read.
    let mut huge = vec![9u8];
    huge.extend([0xff, 0xff, 0xff, 0xff, 0x0f]);
    assert!(matches!(
        decode(&huge),
        Err(DecodeError::CountTooLarge { .. })
    ));
}

#[test]
fn unknown_message_type() {
    for t in [11u8, 42, 0x7f, 0xff] {
        assert_eq!(decode(&[t]), Err(DecodeError::UnknownType(t)));
        assert_eq!(decode(&[t, 1, 2, 3]), Err(DecodeError::UnknownType(t)));
    }
}

#[test]
fn unsupported_version() {
    assert_eq!(
        decode(&hello(2, 5)),
        Err(DecodeError::UnsupportedVersion { min: 2, max: 5 })
    );
    assert_eq!(
        decode(&hello(0, 0)),
        Err(DecodeError::UnsupportedVersion { min: 0, max: 0 })
    );
    assert_eq!(
        decode(&hello(3, 1)),
        Err(DecodeError::UnsupportedVersion { min: 3, max: 1 }),
        "an empty range"
    );
    // A later version's Hello whose other fields this build cannot read: the version range
    // comes first and is refused cleanly, before the rest is looked at.
    let mut later = vec![0u8, 2, 9];
    later.extend([0xff; 40]);
    assert_eq!(
        decode(&later),
        Err(DecodeError::UnsupportedVersion { min: 2, max: 9 })
    );
    let welcome = encode(&Message::Welcome(Welcome {
        version: 2,
        caps: kenesh_proto::Caps(0),
        server_time_ms: 0,
        stored_seq: 0,
        epoch: 0,
    }));
    assert_eq!(
        decode(&welcome),
        Err(DecodeError::UnsupportedVersion { min: 2, max: 2 })
    );
}

#[test]
fn declared_decompressed_size_past_the_limit() {
    let limits = Limits::default();
    let max = limits.max_decompressed();
    assert_eq!(max, 128 * 1024);
    let data = compress(&[7u8; 1000], 3).unwrap();
    let over = max as u32 + 1;
    assert_eq!(
        decode(&chunk(Compression::Zstd, over, &data)),
        Err(DecodeError::DecompressedTooLarge {
            declared: over as usize,
            max
        })
    );
    assert_eq!(
        decode(&chunk(Compression::Zstd, u32::MAX, &data)),
        Err(DecodeError::DecompressedTooLarge {
            declared: u32::MAX as usize,
            max
        })
    );
    assert!(decode(&chunk(Compression::Zstd, max as u32, &data)).is_ok());

    // decompress checks the declared size before allocating anything.
    for declared in [over, u32::MAX] {
        let (r, bytes) = peak(|| decompress(&data, declared, &limits));
        assert_eq!(
            r,
            Err(DecodeError::DecompressedTooLarge {
                declared: declared as usize,
                max
            })
        );
        assert_eq!(bytes, 0);
    }
    // An uncompressed chunk whose data is not its declared length.
    assert_eq!(
        decode(&chunk(Compression::None, 10, &[1, 2, 3])),
        Err(DecodeError::LengthMismatch {
            declared: 10,
            actual: 3
        })
    );
}

/// Slack for small bookkeeping allocations beside the output buffer.
const SLACK: usize = 1024;

#[test]
fn compressed_chunk_expanding_past_its_declared_size() {
    let limits = Limits::default();
    // 100 KB of zeros compress to a few bytes: a bomb within a small frame.
    let bomb = compress(&vec![0u8; 100_000], 19).unwrap();
    assert!(bomb.len() < 64);
    let frame = chunk(Compression::Zstd, 1000, &bomb);
    let Ok(Message::Chunk(c)) = decode(&frame) else {
        panic!("the frame decodes; its data is only checked when decompressed")
    };
    let (r, bytes) = peak(|| decompress(c.data, c.raw_len, &limits));
    assert_eq!(r, Err(DecodeError::Decompress));
    assert!(
        bytes <= 1000 + SLACK,
        "decompress allocated {bytes} bytes for a declared 1000"
    );
    // Declared one byte short of what it expands to.
    let data = b"kenesh ".repeat(500);
    let z = compress(&data, 3).unwrap();
    let (r, bytes) = peak(|| decompress(&z, data.len() as u32 - 1, &limits));
    assert_eq!(r, Err(DecodeError::Decompress));
    assert!(bytes <= data.len() + SLACK, "{bytes} bytes");
    // Declared longer than what it expands to.
    let (r, bytes) = peak(|| decompress(&z, data.len() as u32 + 1, &limits));
    assert_eq!(
        r,
        Err(DecodeError::LengthMismatch {
            declared: data.len() + 1,
            actual: data.len()
        })
    );
    assert!(bytes <= data.len() + 1 + SLACK, "{bytes} bytes");
    // Exactly: the output is all that is allocated.
    let (r, bytes) = peak(|| decompress(&z, data.len() as u32, &limits));
    assert_eq!(r.as_deref(), Ok(&data[..]));
    assert!(bytes <= data.len() + SLACK, "{bytes} bytes");
    // Not zstd at all.
    let (r, bytes) = peak(|| decompress(b"not zstd", 100, &limits));
    assert_eq!(r, Err(DecodeError::Decompress));
    assert!(bytes <= 100 + SLACK, "{bytes} bytes");
}

#[test]
fn cobs_garbage() {
    let limits = Limits::default();
    let mut out = [0u8; 64];
    let mut read = |encoded: &[u8]| {
        let (r, bytes) = peak(|| read_cobs(encoded, &mut out, &limits).map(<[u8]>::to_vec));
        // `to_vec` of the result is the only allocation (none on error).
        assert!(bytes <= r.as_ref().map_or(0, Vec::len), "{bytes} bytes");
        r
    };
    // A zero inside: the delimiter is not part of a frame.
    assert_eq!(read(&[3, 1, 0, 2]), Err(DecodeError::Cobs));
    assert_eq!(read(&[0]), Err(DecodeError::Cobs));
    // A code byte pointing past the end.
    assert_eq!(read(&[5, 1, 2]), Err(DecodeError::Cobs));
    assert_eq!(read(&[0xff, 1]), Err(DecodeError::Cobs));
    // Nothing at all.
    assert_eq!(read(&[]), Err(DecodeError::Cobs));
    // A valid frame reads back.
    let mut enc = [0u8; 16];
    let n = write_cobs(&[8, 0, 8], &mut enc).unwrap();
    assert_eq!(read(&enc[..n - 1]), Ok(vec![8, 0, 8]));

    // Longer than any frame under the limit could encode to.
    let long = vec![1u8; 16 * 1024 + 16 * 1024 / 254 + 2];
    let mut big = vec![0u8; long.len()];
    let (r, bytes) = peak(|| read_cobs(&long, &mut big, &limits).map(<[u8]>::len));
    assert_eq!(
        r,
        Err(DecodeError::FrameTooLarge {
            len: long.len(),
            max: 16 * 1024
        })
    );
    assert_eq!(bytes, 0);
    // The same with a zero inside: still too large, refused before it is scanned (the
    // order the fuzzer's check first got wrong; `regress-oversized-with-zero` in the corpus).
    let mut zeroed = long.clone();
    zeroed[100] = 0;
    assert_eq!(
        read_cobs(&zeroed, &mut big, &limits),
        Err(DecodeError::FrameTooLarge {
            len: zeroed.len(),
            max: 16 * 1024
        })
    );
    // An output buffer too small for it.
    let mut small = [0u8; 4];
    assert_eq!(
        read_cobs(&[9, 1, 1, 1, 1, 1, 1, 1, 1], &mut small, &limits),
        Err(DecodeError::BufferFull)
    );
}

/// Each refusal above, checked against the frame size: what is allocated while refusing is
/// at most `K` times the bytes received (0 for all but decompression, which may allocate its
/// declared size, itself at most 8 × the frame limit).
#[test]
fn peak_memory_per_bad_input_within_k_frames() {
    const K: usize = 8;
    let limits = Limits::default();
    let bomb = compress(&vec![0u8; 100_000], 19).unwrap();
    let frames: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", hello(1, 1)[..5].to_vec()),
        ("count", commit_with_count(u32::MAX, &[])),
        ("type", vec![0xff, 0, 0]),
        ("version", hello(2, 5)),
        ("declared", chunk(Compression::Zstd, u32::MAX, &bomb)),
        ("bomb", chunk(Compression::Zstd, 4096, &bomb)),
    ];
    for (name, f) in &frames {
        let (r, bytes) = peak(|| {
            let m = Message::decode(f, &limits);
            if let Ok(Message::Chunk(c)) = m {
                decompress(c.data, c.raw_len, &limits).map(|_| ())
            } else {
                m.map(|_| ())
            }
        });
        assert!(r.is_err(), "{name}");
        let bound = if *name == "bomb" {
            4096 + SLACK
        } else {
            K * f.len()
        };
        assert!(
            bytes <= bound,
            "{name}: {bytes} bytes for a {}-byte frame",
            f.len()
        );
    }
    // A 4 GiB prefix and COBS garbage: refused with nothing allocated.
    let (r, bytes) = peak(|| split_prefixed(&[0xff; 8], &limits).map(|_| ()));
    assert!(r.is_err());
    assert_eq!(bytes, 0);
    let mut out = [0u8; 16];
    let (r, bytes) = peak(|| read_cobs(&[5, 1, 2], &mut out, &limits).map(|_| ()));
    assert!(r.is_err());
    assert_eq!(bytes, 0);
}

#[test]
fn the_counter_counts() {
    let (v, bytes) = peak(|| vec![1u8; 1000]);
    assert_eq!(v.len(), 1000);
    assert!(bytes >= 1000, "{bytes}");
    let data = b"kenesh ".repeat(500);
    let z = compress(&data, 3).unwrap();
    let (r, bytes) = peak(|| decompress(&z, data.len() as u32, &Limits::default()));
    assert!(r.is_ok());
    assert!(
        (data.len()..=data.len() + SLACK).contains(&bytes),
        "decompress allocates its output: {bytes} bytes"
    );
}

/// A padded (non-canonical) varint inside a commit's entries: refused as malformed, or
/// decoded and carried byte-identical — the entries are never re-encoded. (Today: carried.)
#[test]
fn non_canonical_varint_in_entries_is_refused_or_carried_byte_identical() {
    let mut f = commit_with_count(1, &[]);
    let at = f.len() - 7; // the entry [3, 1, 2, 3, 0, 1, b'x']: envelope length 3, padded
    f[at] = 0x83;
    f.insert(at + 1, 0x00);
    match decode(&f) {
        Ok(Message::Commit(c)) => {
            assert_eq!(c.entries.as_bytes(), &f[at..]);
            let e = c.entries.iter().next().unwrap();
            assert_eq!(e.envelope, &[1, 2, 3]);
            assert_eq!(
                Message::Commit(c).to_vec().unwrap(),
                f,
                "re-encoded byte-identical"
            );
        }
        other => assert_eq!(other, Err(DecodeError::Malformed)),
    }
}

/// An empty frame (never a message) COBS-encodes as `01 00` and reads back empty. Found by
/// the `proto_cobs` fuzz target: `write_cobs(&[])` used to write a lone delimiter that
/// `read_cobs` refused (regression seed `seed-regress-empty-frame`).
#[test]
fn empty_cobs_frame_is_refused_or_round_trips() {
    let mut enc = [0xaau8; 8];
    let n = write_cobs(&[], &mut enc).unwrap();
    assert_eq!(&enc[..n], &[1, 0]);
    let mut out = [0u8; 8];
    assert_eq!(
        read_cobs(&enc[..n - 1], &mut out, &Limits::default()),
        Ok(&[][..])
    );
}
