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
        Message::Keys(k) => {
            // Whole entries of a known tier, each read back as packed.
            assert_eq!(k.bytes().len(), k.len() * kenesh_proto::KEY_ENTRY_LEN);
            assert_eq!(k.iter().count(), k.len());
            assert!(k.iter().all(|e| matches!(e.tier, 1 | 2)));
        }
        Message::Welcome(_)
        | Message::Refuse(_)
        | Message::SnapshotHeader(_)
        | Message::Bye
        | Message::Receipt(_) => {}
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
    // A zero inside is not COBS — unless the input is already longer than any encoding of
    // a frame under the limit, which is refused first, before it is scanned.
    let longest = limits.max_frame() + limits.max_frame() / 254 + 1;
    if data.contains(&0) {
        let want = if data.len() > longest {
            Err(DecodeError::FrameTooLarge {
                len: data.len(),
                max: limits.max_frame(),
            })
        } else {
            Err(DecodeError::Cobs)
        };
        assert_eq!(read_cobs(data, &mut out, &limits), want);
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

    merge_op_paged(&ops, &fwd, data.first().copied().unwrap_or(0));
}

/// The same ops into a paged state (pages of one record or a few, one to four kept, by the
/// input's first byte), checkpointed after the ops that byte picks: it applies each op as
/// the in-memory state does and ends equal to it, and so does a reopening from its last
/// checkpoint; another, checkpointed partway, opened again and given the rest (a device
/// replaying its log after its checkpoint) ends equal too.
fn merge_op_paged(ops: &[kenesh_merge::Op], memory: &kenesh_merge::State, shape: u8) {
    use kenesh_merge::{PageSource, State};
    use std::sync::Arc;

    let pages = Arc::new(MemPages::default());
    let open = |meta: Option<&[u8]>| {
        let source: Arc<dyn PageSource> = pages.clone();
        let mut s = match meta {
            Some(m) => State::open_paged(m, source).expect("a meta just written opens"),
            None => State::paged(source),
        };
        s.set_page_target(1 + usize::from(shape >> 4) * 64);
        s.set_resident_pages(1 + usize::from(shape & 3));
        s
    };
    let mut paged = open(None);
    let mut meta: Option<Vec<u8>> = None;
    let mut reference = State::new();
    for (i, op) in ops.iter().enumerate() {
        assert_eq!(
            paged.apply(op.clone()),
            reference.apply(op.clone()),
            "paged and in memory apply alike"
        );
        // A checkpoint after the ops the input's first byte picks, and after the last.
        if shape.rotate_left(i as u32) & 1 == 0 && i + 1 < ops.len() {
            continue;
        }
        let cp = paged.checkpoint().expect("a paged state checkpoints");
        pages.write(&cp);
        meta = Some(cp.meta().to_vec());
        assert!(paged.checkpointed(cp));
    }
    // Another paged state, checkpointed partway into a store of its own and opened again
    // from it, the ops after the checkpoint then applied (a device replaying its log).
    let cut = usize::from(shape) % (ops.len() + 1);
    if cut < ops.len() {
        let own = Arc::new(MemPages::default());
        let source: Arc<dyn PageSource> = own.clone();
        let mut again = State::paged(source.clone());
        for op in &ops[..cut] {
            let _ = again.apply(op.clone());
        }
        let cp = again.checkpoint().expect("a paged state checkpoints");
        own.write(&cp);
        let mut again = State::open_paged(cp.meta(), source).expect("a meta just written opens");
        again.set_resident_pages(1);
        for op in &ops[cut..] {
            let _ = again.apply(op.clone());
        }
        assert_eq!(
            again.snapshot(),
            memory.snapshot(),
            "replayed after a checkpoint"
        );
    }
    let snap = memory.snapshot();
    assert_eq!(
        paged.snapshot(),
        snap,
        "a paged state ends as the in-memory one"
    );
    assert_eq!(paged.len(), memory.len());
    assert_eq!(paged.failure(), None);
    let reopened = open(meta.as_deref());
    assert_eq!(
        reopened.snapshot(),
        snap,
        "and opened again from its checkpoint"
    );
    assert_eq!(
        reopened.all_ops().collect::<Vec<_>>(),
        memory.all_ops().collect::<Vec<_>>()
    );
}

/// Pages in memory, as a store keeps them: a paged state reads them, checkpoints are
/// written to them.
#[derive(Default)]
pub struct MemPages(std::sync::Mutex<std::collections::BTreeMap<u64, Vec<u8>>>);

impl MemPages {
    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<u64, Vec<u8>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
    /// Writes a checkpoint's pages and forgets the pages it replaces.
    pub fn write(&self, cp: &kenesh_merge::Checkpoint) {
        let mut pages = self.lock();
        for (id, bytes) in cp.pages() {
            pages.insert(*id, bytes.clone());
        }
        for id in cp.removed() {
            pages.remove(id);
        }
    }
    /// Every page held, by number.
    pub fn all(&self) -> Vec<(u64, Vec<u8>)> {
        self.lock().clone().into_iter().collect()
    }
}

impl kenesh_merge::PageSource for MemPages {
    fn read(&self, page: u64) -> Result<Vec<u8>, kenesh_merge::PageError> {
        let pages = self.lock();
        pages
            .get(&page)
            .cloned()
            .ok_or(kenesh_merge::PageError::Missing(page))
    }
}

/// Fuzz input cut into sections, each a tag byte, a `u16` length and that many bytes (the
/// last cut short where the input ends).
fn sections(mut data: &[u8]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    while let Some((&tag, r)) = data.split_first() {
        let Some((len, r)) = r.split_first_chunk::<2>() else {
            break;
        };
        let (body, r) = r.split_at(usize::from(u16::from_le_bytes(*len)).min(r.len()));
        data = r;
        out.push((tag, body));
    }
    out
}

/// Appends one section in the layout [`sections`] reads.
pub fn push_section(out: &mut Vec<u8>, tag: u8, body: &[u8]) {
    out.push(tag);
    out.extend((body.len() as u16).to_le_bytes());
    out.extend(body);
}

/// The 16-byte checksum a page ends with (PAGE format 1 in `kenesh_merge::paged`: BLAKE3 in
/// derive-key mode, context `kenesh 2026 page v1`, the first 16 bytes), computed here from
/// the spec so that fuzz input reaches the page parser behind it.
pub fn page_seal(body: &[u8]) -> Vec<u8> {
    let sum = blake3::Hasher::new_derive_key("kenesh 2026 page v1")
        .update(body)
        .finalize();
    let mut page = body.to_vec();
    page.extend_from_slice(&sum.as_bytes()[..16]);
    page
}

/// What [`merge_pages`] reads from its input.
struct PagesInput<'a> {
    shape: u8,
    meta: Option<&'a [u8]>,
    pages: std::collections::BTreeMap<u64, Vec<u8>>,
    ops: Vec<kenesh_merge::Op>,
}

/// The input's first byte is the shape (page target, pages kept); then sections, each a tag
/// byte, a `u16` length and that many bytes: tag 0 (mod 4) the checkpoint's meta (the last
/// one counts), 1 a page sealed here (`u16` page number, then its body), 2 a page as given
/// (number, then all its bytes), 3 ops to apply after the opening, in [`merge_op`]'s layout.
fn pages_input(data: &[u8]) -> PagesInput<'_> {
    let (shape, rest) = data.split_first().map_or((0, &[][..]), |(s, r)| (*s, r));
    let mut input = PagesInput {
        shape,
        meta: None,
        pages: std::collections::BTreeMap::new(),
        ops: Vec::new(),
    };
    for (tag, body) in sections(rest) {
        match tag % 4 {
            0 => input.meta = Some(body),
            1 | 2 => {
                let Some((n, bytes)) = body.split_first_chunk::<2>() else {
                    continue;
                };
                let bytes = if tag % 4 == 1 {
                    page_seal(bytes)
                } else {
                    bytes.to_vec()
                };
                input.pages.insert(u64::from(u16::from_le_bytes(*n)), bytes);
            }
            _ => {
                for (_, env, hash, payload) in merge_op_parts(body) {
                    if input.ops.len() < 8
                        && let Ok(op) = kenesh_merge::Op::from_parts(env, hash, payload)
                    {
                        input.ops.push(op);
                    }
                }
            }
        }
    }
    input
}

/// Writes a checkpoint in the layout [`merge_pages`] reads (for seeds): its meta, its pages
/// (their checksums left to the harness, or kept and the page given as is when `sealed` is
/// false), then `ops`.
pub fn merge_pages_input(
    shape: u8,
    meta: &[u8],
    pages: &[(u64, Vec<u8>)],
    ops: &[kenesh_merge::Op],
    sealed: bool,
) -> Vec<u8> {
    let mut out = vec![shape];
    push_section(&mut out, 0, meta);
    for (n, bytes) in pages {
        let mut body = (*n as u16).to_le_bytes().to_vec();
        if sealed {
            body.extend(&bytes[..bytes.len() - 16]);
            push_section(&mut out, 1, &body);
        } else {
            body.extend(bytes);
            push_section(&mut out, 2, &body);
        }
    }
    if !ops.is_empty() {
        let body: Vec<u8> = ops
            .iter()
            .flat_map(|op| merge_op_record(op, true))
            .collect();
        push_section(&mut out, 3, &body);
    }
    out
}

/// A paged state opened from a checkpoint's meta and pages out of arbitrary bytes (pages
/// sealed by the harness, so the bytes reach the page parser, or as given, so the checksum
/// check is reached too): opening gives a state or `PageError::Meta`, never a panic; every
/// read through `&self` (snapshot, every op, lookups by id, conflicts, flags) is repeatable;
/// applying ops never panics, and one refused as `Unavailable` leaves the state failed and
/// without a checkpoint. A state that met no damage checkpoints, and opened again from that
/// checkpoint, reads exactly as it did: the writer and the reader agree on whatever the
/// reader accepted.
pub fn merge_pages(data: &[u8]) {
    let _ = merge_pages_outcome(data);
}

/// How far [`merge_pages`] went with `data`: `"no meta"`, `"meta refused"`, `"failed"` (a
/// page could not be had), `"numbers spent"` (no page number left for a checkpoint) or
/// `"reopened"` (the round trip through a checkpoint).
pub fn merge_pages_outcome(data: &[u8]) -> &'static str {
    use kenesh_merge::{Applied, FlagKind, PageError, PageSource, State};
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};
    type View = (
        kenesh_merge::Snapshot,
        Vec<kenesh_merge::Op>,
        usize,
        BTreeMap<(kenesh_model::Scope, kenesh_model::Tier), [u8; 32]>,
    );
    // A lookup by id finds one of the versions listed under that id, or nothing. Pages that
    // check but disagree (an index page leaving an op out, an id in two records of pages
    // never loaded together) are damage only a read of every page would see; what a lookup
    // or a load meets (an index naming the wrong record, an id already held) fails the
    // state.
    fn view(s: &State) -> View {
        let ops: Vec<_> = s.all_ops().collect();
        for op in &ops {
            if let Some(found) = s.op(op.id()) {
                assert!(
                    ops.contains(&found),
                    "a lookup by id finds an op held: {found:?}"
                );
            }
        }
        let _ = (s.conflicts(), s.flags(), s.erased_count());
        (s.snapshot(), ops, s.len(), s.state_hashes())
    }

    let input = pages_input(data);
    let Some(meta) = input.meta else {
        return "no meta";
    };
    let shape = input.shape;
    let pages = Arc::new(MemPages(Mutex::new(input.pages)));
    let source: Arc<dyn PageSource> = pages.clone();
    let mut state = match State::open_paged(meta, source.clone()) {
        Ok(s) => s,
        Err(e) => {
            assert_eq!(e, PageError::Meta, "opening reads the meta only");
            return "meta refused";
        }
    };
    state.set_page_target(1 + usize::from(shape >> 4) * 64);
    state.set_resident_pages(1 + usize::from(shape & 3));
    let first = view(&state);
    assert_eq!(view(&state), first, "reads are repeatable");
    for op in input.ops {
        if state.apply(op) == Applied::Flagged(FlagKind::Unavailable) {
            assert!(state.failure().is_some(), "a refused op names its failure");
            assert!(
                state.checkpoint().is_err(),
                "a failed state does not checkpoint"
            );
        }
    }
    if state.failure().is_some() {
        return "failed";
    }
    let seen = view(&state);
    if state.failure().is_some() {
        return "failed";
    }
    let cp = match state.checkpoint() {
        Ok(cp) => cp,
        // A meta whose next page number is near the largest allowed.
        Err(PageError::NumbersSpent) => return "numbers spent",
        Err(e) => panic!("a state without failure checkpoints: {e}"),
    };
    pages.write(&cp);
    let meta = cp.meta().to_vec();
    assert!(
        state.checkpointed(cp),
        "nothing changed since the checkpoint"
    );
    assert_eq!(view(&state), seen, "a checkpoint changes no read");
    let reopened = State::open_paged(&meta, source).expect("a meta just written opens");
    assert_eq!(view(&reopened), seen, "opened again, it reads as it did");
    assert_eq!(
        reopened.failure(),
        None,
        "its pages were just read or written"
    );
    "reopened"
}

pub use sessions::{
    device_open_check, server_open_check, session_client_frames, session_client_wire,
    session_server_frames, session_server_wire,
};

/// The sync sessions of `kenesh-sync` receiving hostile input: raw bytes on the wire, and
/// arbitrary protocol frames sealed into a real Noise channel (the `fuzzing` hooks).
///
/// The world is fixed, so runs replay exactly: a server holding three issues of its own and
/// two commits of device [`sessions::OTHER`] in the scope device [`sessions::DEVICE`] reads
/// and writes; the device with two signed commits of its own; fixed session seeds.
pub mod sessions {
    use std::sync::OnceLock;

    use kenesh_merge::{Action, Hlc, OpBuilder, OpId};
    use kenesh_model::schema::EntityKind;
    use kenesh_model::{Id, MunicipalityId, Scope, Tier};
    use kenesh_proto::{
        Ack, Caps, Chunk, ChunkKind, ChunkRef, Compression, ErrorCode, ErrorMessage, Hello,
        MAX_CURSOR, MAX_ERROR_DETAIL, MIN_PROTOCOL_VERSION, Message, PROTOCOL_VERSION, Refuse,
        RefuseReason, SnapshotHeader, Welcome,
    };
    use kenesh_sync::fuzzing::chunk_data;
    use kenesh_sync::{
        Access, ClientSession, Cursor, Device, Grants, MemStore, Secret, Server, ServerConfig,
        ServerSession, SignedCommit, SyncError,
    };

    /// The server's clock.
    pub const NOW: u64 = 1_780_000_000_000;
    /// The device under test.
    pub const DEVICE: u32 = 10;
    /// Another enrolled device, whose commits the server relays to [`DEVICE`].
    pub const OTHER: u32 = 20;
    /// The server session's ephemeral-key seed.
    pub const SERVER_SEED: [u8; 32] = [0x51; 32];
    /// The client session's ephemeral-key seed.
    pub const CLIENT_SEED: [u8; 32] = [0xc1; 32];
    /// Past this many bytes of fuzz input the sessions are not driven (the targets run with
    /// `-max_len=65536`).
    pub const MAX_INPUT: usize = 64 * 1024;
    /// What one call may write: a window of chunks and the acknowledgements before them.
    const MAX_OUTPUT: usize = 8 * (kenesh_sync::MAX_NOISE_MESSAGE + 4);

    /// The scope the device reads and writes.
    pub fn home() -> Scope {
        Scope::Municipality(MunicipalityId(Id::from_u128(1)))
    }
    fn away() -> Scope {
        Scope::Municipality(MunicipalityId(Id::from_u128(2)))
    }
    /// The grants of [`DEVICE`] and [`OTHER`].
    pub fn grants() -> Grants {
        Grants::none()
            .up_to(home(), Tier::Personal, Access::Read)
            .up_to(home(), Tier::Sensitive, Access::Write)
    }
    /// The server's secret.
    pub fn server_secret() -> Secret {
        Secret::from_bytes([0xee; 32])
    }
    /// The device's secret (its commit key and Noise key).
    pub fn device_secret() -> Secret {
        Secret::from_bytes([DEVICE as u8; 32])
    }

    /// A new issue in the builder's scope.
    pub fn issue(b: &mut OpBuilder, n: u128, title: &str) -> kenesh_merge::Op {
        b.create(
            EntityKind::Issue,
            Id::from_u128(n),
            vec![(1, title.as_bytes().to_vec()), (9, vec![1])],
        )
        .expect("an issue")
    }

    fn server_store() -> &'static MemStore {
        static STORE: OnceLock<MemStore> = OnceLock::new();
        STORE.get_or_init(|| {
            let mut s = Server::open(MemStore::new(), server_secret(), ServerConfig::default())
                .expect("opens");
            s.enrol(DEVICE, device_secret().public(), grants())
                .expect("enrols");
            let other = Secret::from_bytes([OTHER as u8; 32]);
            s.enrol(OTHER, other.public(), grants()).expect("enrols");
            for i in 0..3u128 {
                let (seq, hlc) = s.next_local();
                let mut b = OpBuilder::resume(ServerConfig::default().device, seq, hlc);
                b.scope(home()).salt([seq as u8; 16]).at(NOW);
                let title = format!("Көпүрө бузулду #{i}: айыл өкмөтүнө кайрылуу, жол жок");
                let op = issue(&mut b, 900 + i, &title);
                s.commit_local(&[op], NOW).expect("commits");
            }
            let mut b = OpBuilder::new(OTHER);
            b.scope(home()).at(NOW);
            for i in 0..2u128 {
                b.salt([0x20 + i as u8; 16]);
                let op = issue(&mut b, 700 + i, "Суу түтүгү жарылды");
                let c = SignedCommit::sign(&other, &[op], kenesh_proto::DEFAULT_MAX_FRAME)
                    .expect("signs");
                s.ingest(OTHER, &c, NOW).expect("takes");
            }
            s.sync().expect("syncs");
            s.into_store()
        })
    }

    /// The server, opened on a copy of the prepared store.
    pub fn server() -> Server<MemStore> {
        Server::open(
            server_store().clone(),
            server_secret(),
            ServerConfig::default(),
        )
        .expect("opens")
    }

    /// The device's two signed commits (seqs 1 and 2), which the server does not hold yet.
    pub fn device_commits() -> &'static [SignedCommit] {
        static COMMITS: OnceLock<Vec<SignedCommit>> = OnceLock::new();
        COMMITS.get_or_init(|| {
            let mut b = OpBuilder::new(DEVICE);
            b.scope(home()).at(NOW);
            (0..2u128)
                .map(|i| {
                    b.salt([0x10 + i as u8; 16]);
                    let op = issue(&mut b, 100 + i, "Мектептин чатыры агып жатат");
                    SignedCommit::sign(&device_secret(), &[op], kenesh_proto::DEFAULT_MAX_FRAME)
                        .expect("signs")
                })
                .collect()
        })
    }

    fn device_store() -> &'static MemStore {
        static STORE: OnceLock<MemStore> = OnceLock::new();
        STORE.get_or_init(|| {
            let mut d = Device::open(
                MemStore::new(),
                device_secret(),
                DEVICE,
                server_secret().public(),
            )
            .expect("opens");
            for c in device_commits() {
                d.commit(&c.ops()).expect("commits");
            }
            d.sync().expect("syncs");
            d.into_store()
        })
    }

    /// The device, opened on a copy of its prepared store.
    pub fn device() -> Device<MemStore> {
        Device::open(
            device_store().clone(),
            device_secret(),
            DEVICE,
            server_secret().public(),
        )
        .expect("opens")
    }

    /// Whether to print what each call returned (`KENESH_FUZZ_TRACE=1`, to see what a
    /// corpus file does: `cargo test -p kenesh-tests --test fuzz_corpus -- --nocapture`).
    fn trace() -> bool {
        static TRACE: OnceLock<bool> = OnceLock::new();
        *TRACE.get_or_init(|| std::env::var_os("KENESH_FUZZ_TRACE").is_some())
    }

    /// Reads fuzz input front to back; past its end every number is 0 and every slice empty.
    pub struct Input<'a>(pub &'a [u8]);

    impl<'a> Input<'a> {
        fn u8(&mut self) -> u8 {
            match self.0.split_first() {
                Some((b, rest)) => {
                    self.0 = rest;
                    *b
                }
                None => 0,
            }
        }
        fn u16(&mut self) -> u16 {
            u16::from_le_bytes([self.u8(), self.u8()])
        }
        fn u32(&mut self) -> u32 {
            u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
        }
        fn u64(&mut self) -> u64 {
            u64::from(self.u32()) | (u64::from(self.u32()) << 32)
        }
        fn bytes(&mut self, n: usize) -> &'a [u8] {
            let (a, b) = self.0.split_at(n.min(self.0.len()));
            self.0 = b;
            a
        }
        /// Up to 255 bytes, after their length.
        fn small(&mut self) -> &'a [u8] {
            let n = usize::from(self.u8());
            self.bytes(n)
        }
        /// Up to 64 KiB, after their `u16` length.
        fn var(&mut self) -> &'a [u8] {
            let n = usize::from(self.u16());
            self.bytes(n)
        }
        fn is_empty(&self) -> bool {
            self.0.is_empty()
        }
    }

    /// A stream of bytes in pieces: the first byte gives how many cut points (0–4) follow
    /// as `u16`s, the rest is the stream (as in `proto_stream`).
    fn pieces(data: &[u8]) -> Vec<&[u8]> {
        let Some((&k, rest)) = data.split_first() else {
            return Vec::new();
        };
        let (cut_bytes, stream) = rest.split_at((usize::from(k % 5) * 2).min(rest.len()));
        let mut cuts: Vec<usize> = cut_bytes
            .chunks_exact(2)
            .map(|c| usize::from(u16::from_le_bytes([c[0], c[1]])) % (stream.len() + 1))
            .collect();
        cuts.sort_unstable();
        cuts.push(stream.len());
        let mut out = Vec::new();
        let mut at = 0;
        for c in cuts {
            out.push(&stream[at..c]);
            at = c;
        }
        out
    }

    fn hashes(s: &kenesh_merge::State) -> Vec<((Scope, Tier), [u8; 32])> {
        s.state_hashes().into_iter().collect()
    }

    /// What a server replica is, for comparisons: state hashes, op count, held ops, and
    /// each device's seq and revocation.
    type ServerView = (
        Vec<((Scope, Tier), [u8; 32])>,
        usize,
        usize,
        Vec<(u32, u64, Option<u64>)>,
    );

    fn server_view(s: &Server<MemStore>) -> ServerView {
        let devices = [1, DEVICE, OTHER]
            .into_iter()
            .filter_map(|d| s.device(d).map(|i| (d, i.seq, i.revoked_from)))
            .collect();
        (hashes(s.state()), s.state().len(), s.held(), devices)
    }

    /// One piece of input to a server session: once it has failed (or ended) it refuses with
    /// `Closed` and nothing changes; a failing call closes it; it writes a bounded amount.
    /// Returns what it wrote.
    fn feed_server(
        server: &mut Server<MemStore>,
        session: &mut ServerSession,
        bytes: &[u8],
        closed: &mut bool,
    ) -> Vec<u8> {
        let before = server_view(server);
        let r = session.receive(server, bytes, NOW);
        if trace() {
            eprintln!("server <- {} bytes: {r:?}", bytes.len());
        }
        if *closed {
            assert_eq!(r, Err(SyncError::Closed), "a closed session refuses input");
        }
        if r.is_err() {
            assert!(session.is_closed(), "an error closes the session: {r:?}");
        }
        server.sync().expect("a MemStore syncs");
        let p = session.poll(server);
        let out = session.take_output();
        if *closed {
            assert_eq!(p, Ok(()));
            assert!(out.is_empty(), "a closed session writes nothing");
            assert_eq!(server_view(server), before, "refused input changes nothing");
        }
        assert!(
            out.len() <= MAX_OUTPUT,
            "{} bytes written at once",
            out.len()
        );
        *closed |= session.is_closed();
        out
    }

    /// The server holds whole commits of [`DEVICE`], contiguous from seq 1, taken from
    /// `commits` (its validly signed ones, in seq order), and nothing else: its state is what
    /// ingesting exactly those into the prepared server gives; and its log replays to the
    /// same replica.
    fn server_oracle(server: &Server<MemStore>, commits: &[SignedCommit]) {
        let k = server.device(DEVICE).expect("enrolled").seq;
        if trace() {
            eprintln!(
                "server holds the device's seqs to {k}; alarms {:?}",
                server.alarms()
            );
        }
        let mut fresh = self::server();
        let mut upto = 0;
        for c in commits.iter().filter(|c| c.last_seq() <= k) {
            assert_eq!(c.first_seq(), upto + 1, "contiguous seqs");
            fresh
                .ingest(DEVICE, c, NOW)
                .expect("a commit the server took");
            upto = c.last_seq();
        }
        assert_eq!(upto, k, "the server holds whole commits of the device");
        assert_eq!(server_view(server), server_view(&fresh));
        let reopened = Server::open(
            server.store().clone(),
            server_secret(),
            ServerConfig::default(),
        )
        .expect("the log replays");
        assert_eq!(server_view(&reopened), server_view(server));
    }

    /// Raw bytes to a server session, in pieces (see `pieces`): never a panic; an error
    /// closes the session and later input is refused with `Closed`; nothing but the device's
    /// validly signed commits changes the server (raw bytes carry one only where they
    /// replay a real session's stream: the seeds do).
    pub fn session_server_wire(data: &[u8]) {
        if data.len() > MAX_INPUT {
            return;
        }
        let mut server = server();
        let mut session = ServerSession::new(&server, SERVER_SEED).expect("a session");
        let mut closed = false;
        for piece in pieces(data) {
            feed_server(&mut server, &mut session, piece, &mut closed);
        }
        server_oracle(&server, device_commits());
    }

    /// What a device replica is, for comparisons.
    type DeviceView = (Vec<((Scope, Tier), [u8; 32])>, usize, u64, u64);

    fn device_view(d: &Device<MemStore>) -> DeviceView {
        (
            hashes(d.state()),
            d.state().len(),
            d.own_seq(),
            d.acked_seq(),
        )
    }

    /// One piece of input to a client session: once it has failed (or ended) it refuses with
    /// `Closed`, writes nothing and changes nothing; it writes a bounded amount.
    fn feed_client(
        device: &mut Device<MemStore>,
        session: &mut ClientSession,
        bytes: &[u8],
        failed: &mut bool,
    ) -> Result<(), SyncError> {
        let before = device_view(device);
        let r = session.receive(device, bytes);
        if trace() {
            eprintln!("client <- {} bytes: {r:?}", bytes.len());
        }
        let out = session.take_output();
        if *failed {
            assert_eq!(r, Err(SyncError::Closed), "a failed session refuses input");
            assert!(out.is_empty(), "a failed session writes nothing");
            assert_eq!(device_view(device), before, "refused input changes nothing");
        }
        assert!(
            out.len() <= MAX_OUTPUT,
            "{} bytes written at once",
            out.len()
        );
        *failed |= r.is_err() || session.is_done();
        r
    }

    /// The device still holds its own commits, and its store replays to the same replica.
    fn device_oracle(device: &Device<MemStore>, own_seq: u64) {
        if trace() {
            eprintln!("device: {} ops, {:?}", device.state().len(), device.stats());
        }
        assert_eq!(device.own_seq(), own_seq, "its own commits are kept");
        let reopened = Device::open(
            device.store().clone(),
            device_secret(),
            DEVICE,
            server_secret().public(),
        )
        .expect("the store replays");
        assert_eq!(device_view(&reopened), device_view(device));
    }

    /// A checkpoint entry of a [`kenesh_sync::SimDisk`] image, as its docs give it (a
    /// postcard struct: the last record covered, the pages put, the pages removed, the
    /// state's meta, the device's part).
    #[derive(serde::Serialize, serde::Deserialize)]
    pub struct DiskCheckpoint {
        pub position: u64,
        pub put: Vec<(u64, Vec<u8>)>,
        pub removed: Vec<u64>,
        pub state: Vec<u8>,
        pub device: Vec<u8>,
    }

    /// The top bit of an image entry's length: the entry is a checkpoint.
    const CHECKPOINT_ENTRY: u32 = 1 << 31;

    /// One image entry with its header: length word, then the first 8 bytes of BLAKE3 in
    /// derive-key mode (context `kenesh 2026 simdisk record v1`) of the body.
    pub fn disk_entry(out: &mut Vec<u8>, checkpoint: bool, body: &[u8]) {
        let word = body.len() as u32 | if checkpoint { CHECKPOINT_ENTRY } else { 0 };
        out.extend(word.to_le_bytes());
        out.extend(&blake3::derive_key("kenesh 2026 simdisk record v1", body)[..8]);
        out.extend(body);
    }

    /// A disk image from [`device_open`]'s input: after a flags byte, sections (a tag byte,
    /// a `u16` length, that many bytes): tag 0 (mod 4) a log record, its entry sealed here;
    /// 1 a checkpoint entry sealed here, its pages sealed too when its body is a
    /// [`DiskCheckpoint`] (pages given without their checksums); 2 and 3 bytes appended to
    /// the image as they are.
    fn disk_image(data: &[u8]) -> Vec<u8> {
        let mut image = Vec::new();
        for (tag, body) in crate::checks::sections(data) {
            match tag % 4 {
                0 => disk_entry(&mut image, false, body),
                1 => match postcard::from_bytes::<DiskCheckpoint>(body) {
                    Ok(mut cp) => {
                        for (_, page) in &mut cp.put {
                            *page = crate::checks::page_seal(page);
                        }
                        let body = postcard::to_allocvec(&cp).expect("encodes");
                        disk_entry(&mut image, true, &body);
                    }
                    Err(_) => disk_entry(&mut image, true, body),
                },
                _ => image.extend(body),
            }
        }
        image
    }

    /// Writes a device's disk in the layout [`device_open`] reads (for seeds): each entry's
    /// body as a section, checkpoints with their pages' checksums left to the harness.
    pub fn device_open_input(flags: u8, image: &[u8]) -> Vec<u8> {
        let mut out = vec![flags];
        let mut at = 0;
        while let Some(header) = image.get(at..at + 12) {
            let word = u32::from_le_bytes(header[..4].try_into().expect("4 bytes"));
            let len = (word & !CHECKPOINT_ENTRY) as usize;
            let body = &image[at + 12..at + 12 + len];
            let (tag, body) = if word & CHECKPOINT_ENTRY == 0 {
                (0, body.to_vec())
            } else {
                let mut cp: DiskCheckpoint = postcard::from_bytes(body).expect("a checkpoint");
                for (_, page) in &mut cp.put {
                    page.truncate(page.len() - 16);
                }
                (1, postcard::to_allocvec(&cp).expect("encodes"))
            };
            crate::checks::push_section(&mut out, tag, &body);
            at += 12 + len;
        }
        out
    }

    /// What a device replica on a simulated disk is, for comparisons: its view, every op,
    /// and what a full read of its state gives.
    fn disk_device_view(d: &Device<kenesh_sync::SimDisk>) -> (DeviceView, kenesh_merge::Snapshot) {
        (
            (
                hashes(d.state()),
                d.state().len(),
                d.own_seq(),
                d.acked_seq(),
            ),
            d.state().snapshot(),
        )
    }

    /// A device opened on a disk image out of arbitrary bytes (log records and checkpoints
    /// sealed by the harness, so the bytes reach the device's decoders: its log records,
    /// the checkpoint's device part and the paged state's meta and pages): it opens or gives
    /// a typed `OpenError`, never a panic; opening the same image twice gives the same
    /// replica; one that opened makes a commit (if its flags byte says so), syncs with a
    /// checkpoint, and its disk opens again to the same replica. [`device_open`] returns
    /// how far it went: `"refused"`, `"no commit"` (a commit or sync was refused),
    /// `"reopened"`.
    pub fn device_open_check(data: &[u8]) {
        let _ = device_open(data);
    }

    /// [`device_open_check`], saying how far it went.
    pub fn device_open(data: &[u8]) -> &'static str {
        use kenesh_sync::SimDisk;
        let Some((&flags, rest)) = data.split_first() else {
            return "refused";
        };
        let image = disk_image(rest);
        let open =
            |disk: SimDisk| Device::open(disk, device_secret(), DEVICE, server_secret().public());
        let mut device = match open(SimDisk::open(&image)) {
            Ok(d) => d,
            Err(e) => {
                assert!(!e.to_string().is_empty());
                if trace() {
                    eprintln!("device_open: {e}");
                }
                return "refused";
            }
        };
        let seen = disk_device_view(&device);
        let again = open(SimDisk::open(&image)).expect("the same image opens again");
        assert_eq!(disk_device_view(&again), seen, "opening is repeatable");
        if flags & 1 == 1 {
            let Some(next) = device.own_seq().checked_add(1) else {
                return "no commit";
            };
            let mut b = device.builder();
            b.scope(home()).at(NOW);
            let op = issue(&mut b, 900 + u128::from(flags), "Суу түтүгү жарылды");
            match device.commit(&[op]) {
                Ok(c) => assert_eq!(c.first_seq(), next),
                Err(e) => {
                    if trace() {
                        eprintln!("device_open: commit: {e}");
                    }
                    return "no commit";
                }
            }
        }
        device.checkpoint_from(0);
        if let Err(e) = device.sync() {
            if trace() {
                eprintln!("device_open: sync: {e}");
            }
            return "no commit";
        }
        let seen = disk_device_view(&device);
        let reopened = open(SimDisk::open(device.store().image())).expect("its disk opens again");
        assert_eq!(disk_device_view(&reopened), seen, "and reads as it did");
        "reopened"
    }

    /// A server's log as [`server_open`] reads it: after a flags byte, each record as a
    /// section (a tag byte, a `u16` length, the record's bytes).
    pub fn server_open_input(flags: u8, store: &MemStore) -> Vec<u8> {
        use kenesh_sync::Store;
        let mut out = vec![flags];
        for (_, rec) in store.read(1, usize::MAX).expect("a MemStore reads") {
            crate::checks::push_section(&mut out, 0, &rec);
        }
        out
    }

    /// A server opened on a log of arbitrary records (its store's decoder and replay): it
    /// opens or gives a typed `OpenError`, never a panic; the same log opens twice to the
    /// same replica; one that opened takes the device's next commit if the flags byte says
    /// so (bit 0) and the device is enrolled, and its log (with what opening and the commit
    /// wrote) opens again to the same replica. Returns `"refused"` or `"reopened"`.
    pub fn server_open(data: &[u8]) -> &'static str {
        use kenesh_sync::Store;
        let Some((&flags, rest)) = data.split_first() else {
            return "refused";
        };
        let mut store = MemStore::new();
        for (_, body) in crate::checks::sections(rest) {
            let _ = store.stage(body);
        }
        store.sync().expect("a MemStore syncs");
        let open = |st: MemStore| Server::open(st, server_secret(), ServerConfig::default());
        let mut server = match open(store.clone()) {
            Ok(s) => s,
            Err(e) => {
                assert!(!e.to_string().is_empty());
                if trace() {
                    eprintln!("server_open: {e}");
                }
                return "refused";
            }
        };
        let again = open(store).expect("the same log opens again");
        assert_eq!(
            server_view(&again),
            server_view(&server),
            "opening is repeatable"
        );
        if flags & 1 == 1
            && let Some(seq) = server.device(DEVICE).map(|d| d.seq)
            && let Some(c) = device_commits().get(seq as usize)
        {
            let r = server.ingest(DEVICE, c, NOW);
            if trace() {
                eprintln!("server_open: ingest seq {}: {r:?}", c.first_seq());
            }
        }
        server.sync().expect("a MemStore syncs");
        let reopened = open(server.store().clone()).expect("its log opens again");
        assert_eq!(
            server_view(&reopened),
            server_view(&server),
            "and reads as it did"
        );
        "reopened"
    }

    /// [`server_open`], for the fuzz target.
    pub fn server_open_check(data: &[u8]) {
        let _ = server_open(data);
    }

    /// Raw bytes to a client session after its real start, in pieces: never a panic; after
    /// an error (or the end) later input is refused with `Closed` and changes nothing; the
    /// device's store replays to the replica it holds.
    pub fn session_client_wire(data: &[u8]) {
        if data.len() > MAX_INPUT {
            return;
        }
        let mut device = device();
        let mut session = ClientSession::new(&device, Caps::ZSTD, CLIENT_SEED).expect("a session");
        session.start(&mut device).expect("starts");
        let _ = session.take_output();
        let mut failed = false;
        for piece in pieces(data) {
            let _ = feed_client(&mut device, &mut session, piece, &mut failed);
        }
        device_oracle(&device, 2);
    }

    /// Up to four commits of one to three ops each from the input, seqs from 1 on for
    /// `origin`, signed by `secret` (or relayed, unsigned, when `None`). Ops are of any kind,
    /// field, action and tier, in the home scope or another, some superseding earlier ones.
    fn plan_commits(
        inp: &mut Input<'_>,
        origin: u32,
        secret: Option<&Secret>,
    ) -> Vec<SignedCommit> {
        let mut b = OpBuilder::resume(origin, 1, Hlc(0));
        let mut made: Vec<OpId> = Vec::new();
        let mut out = Vec::new();
        for i in 0..inp.u8() % 5 {
            b.salt([i.wrapping_add(origin as u8); 16]);
            let mut ops = Vec::new();
            for _ in 0..1 + inp.u8() % 3 {
                let t = inp.u8();
                b.scope(if t & 0x80 == 0 { home() } else { away() })
                    .at(NOW + u64::from(inp.u8()) * 30_000);
                let entity = Id::from_u128(u128::from(inp.u8() % 4) + 1);
                let supersedes: Vec<OpId> = match made.len() {
                    0 => vec![],
                    n if t & 0x40 != 0 => vec![made[usize::from(inp.u8()) % n]],
                    _ => vec![],
                };
                let op = if t & 0x38 == 0 {
                    let title = inp.small().to_vec();
                    b.create(EntityKind::Issue, entity, vec![(1, title), (9, vec![1])])
                } else {
                    let kind = match inp.u8() % 4 {
                        0 | 1 => EntityKind::Issue.code(),
                        2 => u16::from(inp.u8() % 20),
                        _ => inp.u16(),
                    };
                    let field = u16::from(inp.u8() % 16);
                    let action = Action(inp.u8() % 11);
                    let tier = Tier::ALL[usize::from(t % 3)];
                    let payload = inp.small().to_vec();
                    b.raw(kind, entity, field, action, tier, &supersedes, payload)
                };
                if let Ok(op) = op {
                    made.push(op.id());
                    ops.push(op);
                }
            }
            let commit = match secret {
                Some(s) => SignedCommit::sign(s, &ops, kenesh_proto::DEFAULT_MAX_FRAME),
                None => {
                    let refs: Vec<&kenesh_merge::Op> = ops.iter().collect();
                    let salt = [i.wrapping_add(origin as u8); 16];
                    SignedCommit::relayed(&refs, salt, |o| o.id().seq % 2 == 1, 16 * 1024)
                }
            };
            if let Ok(c) = commit {
                out.push(c);
            }
        }
        out
    }

    fn encode(m: &Message<'_>) -> Vec<u8> {
        m.to_vec().expect("a message within the limits encodes")
    }

    /// A cursor: a valid one from fields (the real grants digest or another), bytes, or none.
    fn cursor(inp: &mut Input<'_>) -> Option<Vec<u8>> {
        match inp.u8() % 4 {
            0 => None,
            1 | 2 => Some(
                Cursor {
                    epoch: u64::from(inp.u8() % 3),
                    position: u64::from(inp.u8()),
                    grants: if inp.u8() & 1 == 0 {
                        grants().digest()
                    } else {
                        inp.u64().to_le_bytes()
                    },
                    snapshot: u32::from(inp.u8() % 4),
                }
                .to_bytes(),
            ),
            _ => {
                let b = inp.small();
                Some(b[..b.len().min(MAX_CURSOR)].to_vec())
            }
        }
    }

    fn detail(inp: &mut Input<'_>) -> String {
        let mut d = String::from_utf8_lossy(inp.small()).into_owned();
        while d.len() > MAX_ERROR_DETAIL {
            d.pop();
        }
        d
    }

    /// One of the `commits`, as it is or with a byte changed or cut short; raw bytes when
    /// there is none.
    fn commit_frame(inp: &mut Input<'_>, commits: &[SignedCommit]) -> Vec<u8> {
        if commits.is_empty() {
            return inp.small().to_vec();
        }
        let sel = inp.u8();
        let mut f = commits[usize::from(sel >> 2) % commits.len()]
            .frame()
            .to_vec();
        match sel % 4 {
            0 | 1 => {}
            2 => {
                let at = usize::from(inp.u16()) % f.len();
                f[at] ^= inp.u8() | 1;
            }
            _ => f.truncate(usize::from(inp.u16()) % f.len()),
        }
        f
    }

    /// A message neither side takes where it arrives, or does: any type, fields from input.
    fn other_message(inp: &mut Input<'_>) -> Vec<u8> {
        let sel = inp.u8();
        match sel % 4 {
            0 => encode(&Message::Welcome(Welcome {
                version: inp.u16(),
                caps: Caps(inp.u32()),
                server_time_ms: inp.u64(),
                stored_seq: inp.u64(),
                epoch: inp.u64(),
            })),
            1 => encode(&Message::Refuse(Refuse {
                reason: refuse_reason(inp),
                server_time_ms: inp.u64(),
                stored_seq: inp.u64(),
            })),
            2 => encode(&Message::SnapshotHeader(SnapshotHeader {
                scope_kind: inp.u8(),
                scope_id: [inp.u8(); 16],
                tier: inp.u8(),
                epoch: inp.u64(),
                position: inp.u64(),
                records: inp.u32(),
                ops: inp.u32(),
                transfer: inp.u32(),
                chunks: inp.u32(),
                raw_bytes: inp.u64(),
                state_hash: [inp.u8(); 32],
            })),
            // A receipt: of a small epoch and seq, its tag from the input (never the
            // server's MAC: refused by the server; kept by a device only for its session's
            // epoch and seqs it made).
            _ if sel & 0x80 != 0 => encode(&Message::Receipt(kenesh_proto::Receipt {
                epoch: u64::from(inp.u8() % 3),
                seq: u64::from(inp.u8() % 8),
                tag: [inp.u8(); kenesh_proto::RECEIPT_TAG_LEN],
            })),
            _ => {
                let data = inp.small();
                encode(&Message::Chunk(Chunk {
                    transfer: inp.u32(),
                    index: inp.u32(),
                    last: inp.u8() % 2 == 1,
                    kind: ChunkKind::Commits,
                    compression: Compression::None,
                    raw_len: data.len() as u32,
                    data,
                }))
            }
        }
    }

    fn refuse_reason(inp: &mut Input<'_>) -> RefuseReason {
        match inp.u8() % 5 {
            0 => RefuseReason::UnsupportedVersion {
                min: inp.u16(),
                max: inp.u16(),
            },
            1 => RefuseReason::UnknownDevice,
            2 => RefuseReason::Revoked {
                from_seq: inp.u64(),
            },
            3 => RefuseReason::Busy,
            _ => RefuseReason::Unauthenticated,
        }
    }

    fn ack(inp: &mut Input<'_>) -> Vec<u8> {
        let durable_seq = match inp.u8() % 3 {
            0 => u64::from(inp.u8() % 8),
            1 => inp.u64(),
            _ => 0,
        };
        let cursor = cursor(inp);
        let chunk = (inp.u8() % 2 == 1).then(|| ChunkRef {
            transfer: u32::from(inp.u8() % 3),
            index: u32::from(inp.u8() % 8),
        });
        encode(&Message::Ack(Ack {
            durable_seq,
            cursor: cursor.as_deref(),
            chunk,
        }))
    }

    /// Up to five frames from the device to the server: raw bytes, a Hello built from fields
    /// (valid unless the input says otherwise), the planned commits (as they are, damaged or
    /// cut), Acks, Bye, Errors, receipts with tags from the input, and messages the server
    /// does not take.
    fn server_frames(inp: &mut Input<'_>, commits: &[SignedCommit]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for _ in 0..inp.u8() % 6 {
            let f = match inp.u8() % 8 {
                0 => inp.var().to_vec(),
                1 => {
                    let sel = inp.u8();
                    let cursor = cursor(inp);
                    encode(&Message::Hello(Hello {
                        min_version: if sel & 1 == 0 {
                            MIN_PROTOCOL_VERSION
                        } else {
                            inp.u16()
                        },
                        max_version: if sel & 2 == 0 {
                            PROTOCOL_VERSION
                        } else {
                            inp.u16()
                        },
                        caps: Caps(if sel & 4 == 0 {
                            u32::from(inp.u8() % 16)
                        } else {
                            inp.u32()
                        }),
                        device: if sel & 8 == 0 { DEVICE } else { inp.u32() },
                        own_seq: if sel & 16 == 0 {
                            u64::from(inp.u8() % 8)
                        } else {
                            inp.u64()
                        },
                        cursor: cursor.as_deref(),
                    }))
                }
                2 | 3 => commit_frame(inp, commits),
                4 => ack(inp),
                5 => encode(&Message::Bye),
                6 => {
                    let d = detail(inp);
                    encode(&Message::Error(ErrorMessage {
                        code: ErrorCode(inp.u16()),
                        detail: &d,
                    }))
                }
                _ => other_message(inp),
            };
            out.push(f);
        }
        out
    }

    fn refs(frames: &[Vec<u8>]) -> Vec<&[u8]> {
        frames.iter().map(Vec::as_slice).collect()
    }

    /// Frames from a device that completed a real Noise handshake, to a server session: the
    /// first flight (a Hello from fields, the device's commits, anything) and then up to
    /// eight transport messages of frames. The first input byte's low bit signs the planned
    /// commits with the device's real key (else with a stranger's: never taken).
    ///
    /// Never a panic; the session's output stays bounded; after an error or the end later
    /// input is refused with `Closed` and changes nothing; the server holds exactly the
    /// whole validly signed commits it took, contiguous from seq 1, and its state is what
    /// ingesting those alone gives; its log replays to the same replica.
    pub fn session_server_frames(data: &[u8]) {
        if data.len() > MAX_INPUT {
            return;
        }
        let mut inp = Input(data);
        let real_key = inp.u8() & 1 == 1;
        let signer = if real_key {
            device_secret()
        } else {
            Secret::from_bytes([0x55; 32])
        };
        let commits = plan_commits(&mut inp, DEVICE, Some(&signer));
        let mut server = server();
        let mut device = device();
        let mut session = ServerSession::new(&server, SERVER_SEED).expect("a session");
        let mut client = ClientSession::new(&device, Caps::ZSTD, CLIENT_SEED).expect("a session");
        let first = server_frames(&mut inp, &commits);
        if client.start_raw(&mut device, &refs(&first)).is_ok() {
            let mut closed = false;
            let answer = feed_server(
                &mut server,
                &mut session,
                &client.take_output(),
                &mut closed,
            );
            // The device reads the answer, completing the handshake, and writes nothing of
            // its own: every later message is the input's.
            let _ = client.read_raw(&answer);
            for _ in 0..8 {
                if inp.is_empty() {
                    break;
                }
                let frames = server_frames(&mut inp, &commits);
                if client.send_raw(&refs(&frames)).is_err() {
                    break;
                }
                feed_server(
                    &mut server,
                    &mut session,
                    &client.take_output(),
                    &mut closed,
                );
            }
        }
        server_oracle(&server, if real_key { &commits } else { &[] });
    }

    /// A Chunk frame: fields from input; its data raw, or laid out as the server does (a
    /// cursor, then commit frames: relayed ones planned from input, as they are or damaged,
    /// or raw bytes), stored or zstd-compressed, with the true raw length or another.
    fn chunk(inp: &mut Input<'_>, relayed: &[SignedCommit]) -> Vec<u8> {
        let sel = inp.u8();
        let transfer = if sel & 1 == 0 { 1 } else { inp.u32() };
        let index = u32::from(inp.u8() % 8);
        let last = sel & 2 != 0;
        let kind = if sel & 4 == 0 {
            ChunkKind::Commits
        } else {
            ChunkKind::Snapshot
        };
        let raw: Vec<u8> = if sel & 8 == 0 {
            let cursor = cursor(inp).unwrap_or_default();
            let frames: Vec<Vec<u8>> = (0..inp.u8() % 4)
                .map(|_| commit_frame(inp, relayed))
                .collect();
            chunk_data(&cursor, &refs(&frames))
        } else {
            inp.var().to_vec()
        };
        let (compression, data) = if sel & 16 == 0 {
            (Compression::None, raw.clone())
        } else if sel & 32 == 0 {
            let level = 1 + i32::from(inp.u8() % 3);
            (
                Compression::Zstd,
                kenesh_proto::compress::compress(&raw, level).expect("compresses"),
            )
        } else {
            (Compression::Zstd, inp.var().to_vec())
        };
        let raw_len = match sel >> 6 {
            0 | 1 => raw.len() as u32,
            2 => (raw.len() as u32)
                .wrapping_add(u32::from(inp.u8()))
                .wrapping_sub(128),
            _ => inp.u32(),
        };
        let m = Message::Chunk(Chunk {
            transfer,
            index,
            last,
            kind,
            compression,
            raw_len,
            data: &data,
        });
        // A raw length the protocol refuses does not encode: send the data raw instead.
        m.to_vec().unwrap_or_else(|_| data.clone())
    }

    /// Up to five frames from the server to the device: raw bytes, Welcome, Chunks (raw or
    /// laid out as the server does), Acks, Refuse, Error, Bye, receipts, and messages the device does
    /// not take.
    fn client_frames(inp: &mut Input<'_>, relayed: &[SignedCommit]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for _ in 0..inp.u8() % 6 {
            let f = match inp.u8() % 9 {
                0 => inp.var().to_vec(),
                1 => {
                    let sel = inp.u8();
                    encode(&Message::Welcome(Welcome {
                        version: if sel & 1 == 0 {
                            PROTOCOL_VERSION
                        } else {
                            inp.u16()
                        },
                        caps: Caps(u32::from(inp.u8() % 16)),
                        server_time_ms: NOW,
                        stored_seq: if sel & 2 == 0 {
                            u64::from(inp.u8() % 4)
                        } else {
                            inp.u64()
                        },
                        epoch: if sel & 4 == 0 {
                            u64::from(inp.u8() % 3)
                        } else {
                            inp.u64()
                        },
                    }))
                }
                2..=4 => chunk(inp, relayed),
                5 => ack(inp),
                6 => {
                    let d = detail(inp);
                    if inp.u8() & 1 == 0 {
                        encode(&Message::Error(ErrorMessage {
                            code: ErrorCode(inp.u16()),
                            detail: &d,
                        }))
                    } else {
                        encode(&Message::Refuse(Refuse {
                            reason: refuse_reason(inp),
                            server_time_ms: NOW,
                            stored_seq: inp.u64(),
                        }))
                    }
                }
                7 => encode(&Message::Bye),
                _ => match inp.u8() % 2 {
                    0 => other_message(inp),
                    _ => commit_frame(inp, relayed),
                },
            };
            out.push(f);
        }
        out
    }

    /// Frames from a server that completed a real Noise handshake, to a client session. The
    /// first input byte: bit 0, the fuzzer's frames are the handshake's answer (else the
    /// real server answers first: Welcome and a chunk); bit 1, the client offers no zstd.
    /// Then relayed commits of [`OTHER`] planned from input, then up to eight messages of
    /// frames.
    ///
    /// The device makes a commit after its first flight (so a real answer leaves the
    /// session open, waiting for its acknowledgement) and another after the session.
    ///
    /// Never a panic; bounded memory and output (zstd output is capped by the declared
    /// size); after an error or the end later input is refused with `Closed` and changes
    /// nothing; the device keeps its own commits, makes the next one whatever it received,
    /// and its store replays to the replica it holds.
    pub fn session_client_frames(data: &[u8]) {
        if data.len() > MAX_INPUT {
            return;
        }
        let mut inp = Input(data);
        let flags = inp.u8();
        let caps = if flags & 2 == 0 {
            Caps::ZSTD
        } else {
            Caps::default()
        };
        let relayed = plan_commits(&mut inp, OTHER, None);
        let mut server = server();
        let mut device = device();
        let mut session = ServerSession::new(&server, SERVER_SEED).expect("a session");
        let mut client = ClientSession::new(&device, caps, CLIENT_SEED).expect("a session");
        client.start(&mut device).expect("starts");
        // A commit made during the session: the real answer acknowledges the two sent in
        // the first flight, so the session stays open until this one is acknowledged too.
        let mut b = device.builder();
        b.scope(home()).at(NOW);
        let op = issue(&mut b, 300, "Жаңы көйгөй");
        device.commit(&[op]).expect("commits");
        let first = client.take_output();
        let r = session.receive(&mut server, &first, NOW);
        assert_eq!(r, Ok(()), "the real first flight is taken");
        let mut failed = false;
        if flags & 1 == 0 {
            server.sync().expect("syncs");
            session.poll(&mut server).expect("answers");
            let answer = session.take_output();
            feed_client(&mut device, &mut client, &answer, &mut failed)
                .expect("the real answer is taken");
        }
        for _ in 0..8 {
            if inp.is_empty() {
                break;
            }
            let frames = client_frames(&mut inp, &relayed);
            if session.send_raw(&refs(&frames)).is_err() {
                break;
            }
            let _ = feed_client(
                &mut device,
                &mut client,
                &session.take_output(),
                &mut failed,
            );
        }
        // Whatever it received (timestamps, its own origin and seqs relayed back), the device
        // makes its next commit.
        let mut b = device.builder();
        b.scope(home()).at(NOW);
        let op = issue(&mut b, 301, "Дагы бир көйгөй");
        device
            .commit(&[op])
            .expect("the device commits after any session");
        device_oracle(&device, 4);
    }
}
