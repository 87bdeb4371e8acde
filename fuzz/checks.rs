//! What the fuzz targets check, shared with the corpus replay test in `tests/` (included
//! there with `#[path]`), so a committed corpus is re-checked by every `cargo test`.

use kenesh_model::indicators::Records;
use kenesh_model::*;

/// Decodes `data` as each entity (and a whole record set); whatever decodes must re-encode
/// and decode to the same value. Never panics on any input.
pub fn model_decode(data: &[u8]) {
    fn one<T>(data: &[u8])
    where
        T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + core::fmt::Debug + Record,
    {
        if let Ok(v) = postcard::from_bytes::<T>(data) {
            let bytes = postcard::to_allocvec(&v).expect("a decoded value encodes");
            let back: T = postcard::from_bytes(&bytes).expect("an encoded value decodes");
            assert_eq!(back, v);
            // Whatever decodes, validation answers without panicking.
            let _ = v.validate();
        }
    }
    fn records(data: &[u8]) {
        if let Ok(r) = postcard::from_bytes::<Records>(data) {
            // Any decoded record set: the report computes and publishes without panicking.
            for fy in [FiscalYear(2024), FiscalYear(i16::MIN), FiscalYear(i16::MAX)] {
                let _ =
                    indicators::compute(&r, fy, &indicators::IndicatorConfig::default()).publish();
            }
        }
    }
    let (tag, rest) = match data.split_first() {
        Some((t, r)) => (*t, r),
        None => return,
    };
    match tag % 16 {
        0 => one::<Municipality>(rest),
        1 => one::<Organisation>(rest),
        2 => one::<Person>(rest),
        3 => one::<Consent>(rest),
        4 => one::<InitiativeGroup>(rest),
        5 => one::<Membership>(rest),
        6 => one::<Issue>(rest),
        7 => one::<Recommendation>(rest),
        8 => one::<Event>(rest),
        9 => one::<Attendance>(rest),
        10 => one::<Campaign>(rest),
        11 => one::<LegalAidRequest>(rest),
        12 => one::<LegalCase>(rest),
        13 => one::<CaseStage>(rest),
        14 => records(rest),
        _ => {
            if let Ok(v) = postcard::from_bytes::<indicators::Report>(rest) {
                let bytes = postcard::to_allocvec(&v).expect("a decoded report encodes");
                assert_eq!(
                    postcard::from_bytes::<indicators::Report>(&bytes).ok(),
                    Some(v)
                );
            }
        }
    }
}

/// Parses `data` as text in every parser the model has: SOATE codes, ids, PINs, phones,
/// locales, the territory CSV, and the text keys. Never panics; what parses round-trips;
/// keys stay bounded.
pub fn text_parse(data: &[u8]) {
    let Ok(s) = core::str::from_utf8(data) else {
        return;
    };
    if let Ok(c) = s.parse::<SoateCode>() {
        assert_eq!(c.to_string().parse::<SoateCode>(), Ok(c));
        let _ = (c.level(), c.parent(), c.oblast());
    }
    if let Ok(id) = s.parse::<Id>() {
        assert_eq!(id.to_string().parse::<Id>(), Ok(id));
    }
    if let Ok(p) = s.parse::<Pin>() {
        assert_eq!(p.to_string().parse::<Pin>(), Ok(p));
    }
    if let Ok(p) = s.parse::<Phone>() {
        assert_eq!(p.as_str().parse::<Phone>(), Ok(p));
    }
    let _ = s.parse::<text::Locale>();
    let _ = TerritoryRegistry::from_csv(s);
    let bound = 8 * s.len() + 64;
    assert!(text::fold_case(s).len() <= bound);
    assert!(text::to_latin(s).len() <= bound);
    assert!(text::to_cyrillic(s).len() <= bound);
    assert!(text::search_key(s).len() <= bound);
    let k = text::dedup_key(s);
    assert_eq!(k, text::dedup_key(&text::fold_case(s)), "keys ignore case");
}

/// Whether `part` lies inside `whole` (borrowed from it, not copied).
fn borrowed_from(part: &[u8], whole: &[u8]) -> bool {
    let w = whole.as_ptr_range();
    let p = part.as_ptr_range();
    part.is_empty() || (w.start <= p.start && p.end <= w.end)
}

/// Whether `part` is the tail of `whole`, borrowed in place.
fn borrowed_tail(part: &[u8], whole: &[u8]) -> bool {
    part.is_empty()
        || (whole.ends_with(part) && part.as_ptr_range().end == whole.as_ptr_range().end)
}

/// One frame through [`kenesh_proto::Message::decode`]: never panics; whatever decodes
/// encodes, and decodes back to the same message; the re-encoding is the input itself
/// except where a varint was not canonical (then it is shorter); what a message carries
/// (entries, chunk data, cursors, details) is borrowed from the frame byte-identical and
/// re-encoded byte-identical; a commit's entries iterate to exactly its count.
pub fn proto_frame(data: &[u8]) {
    use kenesh_proto::compress::decompress;
    use kenesh_proto::{
        CommitBuilder, Compression, DecodeError, EncodeError, HARD_MAX_FRAME, Limits, Message,
    };

    let limits = Limits::default();
    let decoded = Message::decode(data, &limits);
    if data.len() > limits.max_frame() {
        assert_eq!(
            decoded,
            Err(DecodeError::FrameTooLarge {
                len: data.len(),
                max: limits.max_frame()
            })
        );
    }
    let Ok(m) = decoded else {
        return;
    };
    // A wider limit accepts whatever a narrower one does, as the same message.
    assert_eq!(Message::decode(data, &Limits::new(HARD_MAX_FRAME)), Ok(m));

    let mut buf = vec![0u8; data.len() + 64];
    let n = m.encode(&mut buf).expect("a decoded message encodes");
    let enc = &buf[..n];
    assert_eq!(
        m.to_vec().expect("a decoded message encodes").as_slice(),
        enc
    );
    let back = Message::decode(enc, &limits).expect("an encoded message decodes");
    assert_eq!(back, m, "decode(encode(x)) == x");
    if enc != data {
        // postcard reads padded varints; re-encoding writes them minimal, so only shorter.
        assert!(n < data.len(), "re-encoded {n} bytes from {}", data.len());
    }
    let mut again = vec![0u8; n + 8];
    let n2 = back.encode(&mut again).expect("encodes");
    assert_eq!(&again[..n2], enc, "the canonical encoding is a fixed point");
    assert_eq!(
        m.encode(&mut again[..n - 1]),
        Err(EncodeError::BufferTooSmall)
    );

    match m {
        Message::Hello(h) => assert!(borrowed_from(h.cursor.unwrap_or_default(), data)),
        Message::Ack(a) => assert!(borrowed_from(a.cursor.unwrap_or_default(), data)),
        Message::Error(e) => assert!(borrowed_from(e.detail.as_bytes(), data)),
        Message::Commit(c) => {
            let entries = c.entries.as_bytes();
            assert!(borrowed_tail(entries, data), "entries are the frame's tail");
            assert!(enc.ends_with(entries), "entries re-encode byte-identical");
            assert!(borrowed_from(c.signature, data));
            let Message::Commit(b) = back else {
                panic!("type changed")
            };
            assert_eq!(b.entries.as_bytes(), entries);
            let items: Vec<_> = c.entries.iter().collect();
            assert_eq!(items.len(), c.entries.len() as usize, "iter yields len()");
            assert_eq!(c.entries.is_empty(), items.is_empty());
            // Entries are contiguous, in order, borrowed from the frame.
            let mut at = entries;
            for e in &items {
                assert!(borrowed_from(e.envelope, at));
                if let kenesh_proto::Body::Payload(p) = e.body {
                    assert!(borrowed_from(p, at));
                    at = &at[p.as_ptr() as usize - at.as_ptr() as usize + p.len()..];
                } else {
                    at = &at
                        [e.envelope.as_ptr() as usize - at.as_ptr() as usize + e.envelope.len()..];
                }
            }
            // Rebuilt canonically, the same entries (shorter bytes only if padded varints).
            let mut eb = vec![0u8; entries.len() + 8];
            let mut builder = CommitBuilder::new(&mut eb);
            for e in &items {
                builder.push(*e).expect("room for canonical entries");
            }
            let rebuilt = builder.finish();
            assert_eq!(rebuilt.len(), c.entries.len());
            assert!(rebuilt.iter().eq(items.iter().copied()));
            assert!(rebuilt.as_bytes() == entries || rebuilt.as_bytes().len() < entries.len());
        }
        Message::Chunk(c) => {
            assert!(
                borrowed_tail(c.data, data),
                "chunk data is the frame's tail"
            );
            assert!(
                enc.ends_with(c.data),
                "chunk data re-encodes byte-identical"
            );
            assert!(c.raw_len as usize <= limits.max_decompressed());
            match c.compression {
                Compression::None => assert_eq!(c.raw_len as usize, c.data.len()),
                Compression::Zstd => match decompress(c.data, c.raw_len, &limits) {
                    Ok(raw) => assert_eq!(raw.len(), c.raw_len as usize),
                    Err(DecodeError::Decompress) => {}
                    Err(DecodeError::LengthMismatch { declared, actual }) => {
                        assert_eq!(declared, c.raw_len as usize);
                        assert!(actual < declared);
                    }
                    Err(e) => panic!("unexpected {e:?}"),
                },
            }
        }
        Message::Welcome(_) | Message::Refuse(_) | Message::SnapshotHeader(_) | Message::Bye => {}
    }
}

/// A length-prefixed stream: the first byte gives how many cut points (0–4) follow as
/// `u16`s; the rest is the stream, pushed into a [`kenesh_proto::FrameReader`] in those
/// pieces (and as much of each as fits). The frames it yields, and where it stops, match
/// [`kenesh_proto::split_prefixed`] run over the whole stream; a prefix over the limit is
/// `FrameTooLarge` in both; a push past the buffer is `BufferFull` and changes nothing.
pub fn proto_stream(data: &[u8]) {
    use kenesh_proto::{
        DecodeError, FrameReader, LENGTH_PREFIX, Limits, Message, split_prefixed, write_prefixed,
    };
    const N: usize = 4096;

    let Some((&k, rest)) = data.split_first() else {
        return;
    };
    let (cut_bytes, stream) = rest.split_at((usize::from(k % 5) * 2).min(rest.len()));
    let mut cuts: Vec<usize> = cut_bytes
        .chunks_exact(2)
        .map(|c| usize::from(u16::from_le_bytes([c[0], c[1]])) % (stream.len() + 1))
        .collect();
    cuts.sort_unstable();
    cuts.push(stream.len());

    // The reference: split_prefixed over the whole stream.
    let limits = Limits::new(N - LENGTH_PREFIX);
    let mut expected: Vec<&[u8]> = Vec::new();
    let mut input = stream;
    let expected_end = loop {
        let prefix = input
            .get(..LENGTH_PREFIX)
            .map(|p| u32::from_le_bytes([p[0], p[1], p[2], p[3]]) as usize);
        match split_prefixed(input, &limits) {
            Ok(Some((frame, rest))) => {
                assert_eq!(prefix, Some(frame.len()));
                assert_eq!(LENGTH_PREFIX + frame.len() + rest.len(), input.len());
                let mut w = vec![0u8; LENGTH_PREFIX + frame.len()];
                assert_eq!(write_prefixed(frame, &mut w), Ok(w.len()));
                assert_eq!(
                    &w[..],
                    &input[..w.len()],
                    "write_prefixed gives the bytes back"
                );
                let _ = Message::decode(frame, &limits);
                expected.push(frame);
                input = rest;
            }
            Ok(None) => {
                assert!(prefix.is_none_or(|len| LENGTH_PREFIX + len > input.len()));
                break None;
            }
            Err(e) => {
                let len = prefix.expect("an error needs a prefix");
                assert_eq!(
                    e,
                    DecodeError::FrameTooLarge {
                        len,
                        max: limits.max_frame()
                    }
                );
                assert!(len > limits.max_frame());
                break Some(e);
            }
        }
    };

    // The reader, fed in pieces.
    let mut reader = FrameReader::<N>::new(Limits::default());
    let mut got: Vec<Vec<u8>> = Vec::new();
    let mut buffered = 0usize;
    let mut pos = 0usize;
    let mut end = None;
    'feed: for &cut in &cuts {
        while pos < cut {
            let room = N - buffered;
            assert!(room > 0, "a full buffer always holds a whole frame");
            if cut - pos > room {
                assert_eq!(reader.push(&stream[pos..cut]), Err(DecodeError::BufferFull));
            }
            let take = room.min(cut - pos);
            reader
                .push(&stream[pos..pos + take])
                .expect("bytes that fit are taken");
            pos += take;
            buffered += take;
            loop {
                match reader.next_frame() {
                    Ok(Some(f)) => {
                        buffered -= LENGTH_PREFIX + f.len();
                        got.push(f.to_vec());
                    }
                    Ok(None) => break,
                    Err(e) => {
                        end = Some(e);
                        break 'feed;
                    }
                }
            }
        }
    }
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!(g.as_slice(), *e);
    }
    assert_eq!(end, expected_end);
    if end.is_none() {
        assert_eq!(pos, stream.len());
    }
}

/// COBS: any bytes through [`kenesh_proto::read_cobs`] give a frame or `Cobs` /
/// `FrameTooLarge`, never a panic; a frame read re-encodes and reads back the same; and any
/// frame [`kenesh_proto::write_cobs`] writes reads back byte-identical, also under a limit
/// exactly its size.
pub fn proto_cobs(data: &[u8]) {
    use kenesh_proto::{DecodeError, Limits, read_cobs};

    let limits = Limits::default();
    let mut out = vec![0u8; data.len() + 8];
    match read_cobs(data, &mut out, &limits) {
        Ok(frame) => {
            assert!(frame.len() <= limits.max_frame());
            assert!(frame.len() < data.len().max(1));
            let frame = frame.to_vec();
            cobs_write_read(&frame);
            // The documented room is the encoded length less one.
            let mut tight = vec![0u8; data.len().saturating_sub(1)];
            assert_eq!(read_cobs(data, &mut tight, &limits), Ok(&frame[..]));
        }
        Err(DecodeError::Cobs) => {}
        Err(DecodeError::FrameTooLarge { len, max }) => {
            assert_eq!(max, limits.max_frame());
            assert!(len > max);
        }
        Err(e) => panic!("unexpected {e:?}"),
    }
    if data.contains(&0) {
        assert_eq!(read_cobs(data, &mut out, &limits), Err(DecodeError::Cobs));
    }
    // Round trip of the bytes as a frame.
    if data.len() <= limits.max_frame() {
        cobs_write_read(data);
    }
}

/// `frame` through [`kenesh_proto::write_cobs`] and back through
/// [`kenesh_proto::read_cobs`]: byte-identical, also under a limit of exactly its size, and
/// refused under a limit one byte smaller.
fn cobs_write_read(frame: &[u8]) {
    use kenesh_proto::{EncodeError, Limits, read_cobs, write_cobs};

    let limits = Limits::default();
    let mut enc = vec![0u8; frame.len() + frame.len() / 254 + 2];
    let written = write_cobs(frame, &mut enc);
    let n = written.expect("room for the encoding");
    assert_eq!(enc[n - 1], 0, "zero-delimited");
    assert!(!enc[..n - 1].contains(&0), "no zero inside");
    assert_eq!(
        write_cobs(frame, &mut vec![0u8; n - 1]),
        Err(EncodeError::BufferTooSmall)
    );
    let mut back = vec![0u8; n];
    assert_eq!(read_cobs(&enc[..n - 1], &mut back, &limits), Ok(frame));
    assert_eq!(
        read_cobs(&enc[..n - 1], &mut back, &Limits::new(frame.len())),
        Ok(frame)
    );
    if let Some(smaller) = frame.len().checked_sub(1) {
        assert_eq!(
            read_cobs(&enc[..n - 1], &mut back, &Limits::new(smaller)).ok(),
            None,
            "a frame over the limit is refused"
        );
    }
}

/// zstd chunk data: the first 4 bytes are a declared `raw_len` (little-endian), the rest
/// compressed data. [`kenesh_proto::compress::decompress`] refuses a size over the limit
/// first, never panics, never returns other than exactly `raw_len` bytes; and the rest,
/// compressed, decompresses back to itself, is refused as `Decompress` when declared one
/// byte shorter and `LengthMismatch` when declared one longer.
pub fn proto_chunk_zstd(data: &[u8]) {
    use kenesh_proto::compress::{compress, decompress};
    use kenesh_proto::{DecodeError, Limits};

    let Some((head, body)) = data.split_first_chunk::<4>() else {
        return;
    };
    let limits = Limits::default();
    let max = limits.max_decompressed();
    let mut raw_len = u32::from_le_bytes(*head);
    if raw_len as usize > max {
        assert_eq!(
            decompress(body, raw_len, &limits),
            Err(DecodeError::DecompressedTooLarge {
                declared: raw_len as usize,
                max
            })
        );
        raw_len %= max as u32 + 1;
    }
    match decompress(body, raw_len, &limits) {
        Ok(raw) => assert_eq!(raw.len(), raw_len as usize),
        Err(DecodeError::Decompress) => {}
        Err(DecodeError::LengthMismatch { declared, actual }) => {
            assert_eq!(declared, raw_len as usize);
            assert!(actual < declared);
        }
        Err(e) => panic!("unexpected {e:?}"),
    }

    let level = 1 + i32::from(head[0] % 3);
    let c = compress(body, level).expect("compresses");
    let len = body.len() as u32;
    assert_eq!(decompress(&c, len, &limits).as_deref(), Ok(body));
    if let Some(shorter) = len.checked_sub(1) {
        assert_eq!(
            decompress(&c, shorter, &limits),
            Err(DecodeError::Decompress),
            "expanding past the declared size"
        );
    }
    assert_eq!(
        decompress(&c, len + 1, &limits),
        Err(DecodeError::LengthMismatch {
            declared: body.len() + 1,
            actual: body.len()
        })
    );
}

/// One op's parts as [`merge_op`] reads them: flags, envelope bytes, payload hash, payload.
type OpParts<'a> = (u8, &'a [u8], [u8; 32], Option<kenesh_merge::Payload>);

/// Splits fuzz input into ops: per op a flags byte, a `u16` envelope length and the
/// envelope; then, if flags bit 0, a 16-byte salt, a `u16` payload length and the payload
/// (its hash computed, and spoiled if bit 1), else a 32-byte payload hash.
fn merge_op_parts(mut data: &[u8]) -> Vec<OpParts<'_>> {
    fn u16_len(d: &[u8]) -> Option<(usize, &[u8])> {
        let (l, r) = d.split_first_chunk::<2>()?;
        Some((usize::from(u16::from_le_bytes(*l)), r))
    }
    let mut out = Vec::new();
    while out.len() < 8 {
        let Some((&flags, r)) = data.split_first() else {
            break;
        };
        let Some((len, r)) = u16_len(r) else { break };
        let (env, r) = r.split_at(len.min(r.len()));
        if flags & 1 == 1 {
            let Some((salt, r)) = r.split_first_chunk::<16>() else {
                break;
            };
            let Some((plen, r)) = u16_len(r) else { break };
            let (bytes, r) = r.split_at(plen.min(r.len()));
            let p = kenesh_merge::Payload {
                salt: *salt,
                bytes: bytes.to_vec(),
            };
            let mut h = p.hash();
            if flags & 2 == 2 {
                h[0] ^= 1;
            }
            out.push((flags, env, h, Some(p)));
            data = r;
        } else {
            let Some((h, r)) = r.split_first_chunk::<32>() else {
                break;
            };
            out.push((flags, env, *h, None));
            data = r;
        }
    }
    out
}

/// Writes `op` in the layout [`merge_op`] reads (for seeds).
pub fn merge_op_record(op: &kenesh_merge::Op, with_payload: bool) -> Vec<u8> {
    let env = op.envelope_bytes();
    let mut out = vec![u8::from(with_payload)];
    out.extend((env.len() as u16).to_le_bytes());
    out.extend(env);
    match op.payload() {
        Some(p) if with_payload => {
            out.extend(p.salt);
            out.extend((p.bytes.len() as u16).to_le_bytes());
            out.extend(&p.bytes);
        }
        _ => out.extend(op.payload_hash()),
    }
    out
}

/// Up to 8 ops from arbitrary bytes through [`kenesh_merge::Op::from_parts`]: never panics;
/// whatever decodes keeps the envelope bytes exactly as given (they are canonical), is the
/// op [`kenesh_merge::Op::new`] makes from its parts, saves and loads back; applying the ops
/// never panics, applying any again (or withheld) is `Duplicate` and changes nothing; and
/// replicas converge: the ops in reverse order, or withheld first and then in full, give
/// the same snapshot.
///
/// Equivocating ops (one id, two contents) are compared too: the regression seeds
/// `seed-regress-equivocation-*` are what this target found before `State::equivocate` was
/// fixed.
pub fn merge_op(data: &[u8]) {
    use kenesh_merge::{Applied, Op, OpError, State};

    let mut ops = Vec::new();
    for (flags, env, hash, payload) in merge_op_parts(data) {
        match Op::from_parts(env, hash, payload.clone()) {
            Ok(op) => {
                assert_eq!(op.envelope_bytes(), env, "kept byte-identical");
                assert_eq!(op.payload_hash(), hash);
                assert_eq!(op.payload(), payload.as_ref());
                assert_eq!(
                    postcard::to_allocvec(op.envelope()).expect("encodes"),
                    env,
                    "only canonical envelopes are accepted"
                );
                if let Some(p) = payload {
                    assert_eq!(flags & 2, 0, "a spoiled hash is refused");
                    assert_eq!(Op::new(op.envelope().clone(), p), Ok(op.clone()));
                }
                let saved = postcard::to_allocvec(&op).expect("encodes");
                assert_eq!(postcard::from_bytes::<Op>(&saved).ok().as_ref(), Some(&op));
                assert_eq!(Op::from_parts(env, hash, None), Ok(op.withheld()));
                ops.push(op);
            }
            Err(OpError::PayloadMismatch) => assert_eq!(flags & 3, 3),
            Err(_) => {}
        }
    }
    if ops.is_empty() {
        return;
    }

    let mut fwd = State::new();
    for op in &ops {
        let _ = fwd.apply(op.clone());
    }
    let snap = fwd.snapshot();
    let _ = (fwd.conflicts(), fwd.flags(), fwd.len());
    for op in &ops {
        assert_eq!(fwd.apply(op.clone()), Applied::Duplicate, "{op:?}");
        assert_eq!(fwd.apply(op.withheld()), Applied::Duplicate, "{op:?}");
    }
    assert_eq!(fwd.snapshot(), snap, "duplicates change nothing");

    let mut rev = State::new();
    for op in ops.iter().rev() {
        let _ = rev.apply(op.clone());
    }
    assert_eq!(rev.state_hashes(), fwd.state_hashes());
    assert_eq!(rev.snapshot(), snap, "order does not matter");

    let mut late = State::new();
    for op in &ops {
        let _ = late.apply(op.withheld());
    }
    for op in &ops {
        let _ = late.apply(op.clone());
    }
    assert_eq!(late.snapshot(), snap, "payloads arriving late converge");
}
