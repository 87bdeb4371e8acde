//! The test vectors of `PROTOCOL.md`, read from the document itself and checked against this
//! codec: valid vectors decode to the message their `message:` line names and re-encode to
//! the same bytes (the one documented non-canonical vector re-encodes to its `canonical:`
//! bytes); invalid vectors are refused with the `DecodeError` variant they name. A Commits
//! chunk with `chunk-cursor:` / `chunk-commit:` lines (the exchange of §12) has its data
//! taken apart too: the cursor, then each Commit frame (§10.7).

use kenesh_proto::{
    Body, DecodeError, FrameReader, Limits, Message, MessageType, RefuseReason, read_cobs,
    split_prefixed, write_cobs, write_prefixed,
};

const SPEC: &str = include_str!("../../../PROTOCOL.md");

/// One ```` ```vector ```` block: its keys in order (a key may repeat: `message:`).
struct Vector {
    line: usize,
    fields: Vec<(String, String)>,
}

impl Vector {
    fn all(&self, key: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
    fn one(&self, key: &str) -> Result<Option<&str>, String> {
        match self.all(key).as_slice() {
            [] => Ok(None),
            [v] => Ok(Some(v)),
            _ => Err(format!("`{key}:` given more than once")),
        }
    }
    fn name(&self) -> String {
        self.one("name")
            .ok()
            .flatten()
            .map_or_else(|| format!("<line {}>", self.line), str::to_owned)
    }
}

const KEYS: &[&str] = &[
    "name",
    "expect",
    "message",
    "frame",
    "stream",
    "cobs",
    "canonical",
    "limit",
    "noise",
    "chunk-cursor",
    "chunk-commit",
];

/// Every vector block: `key: value` lines; a line starting with whitespace continues the
/// previous value (joined with a space).
fn parse_vectors(spec: &str) -> Result<Vec<Vector>, String> {
    let mut out = Vec::new();
    let mut current: Option<Vector> = None;
    for (i, line) in spec.lines().enumerate() {
        let n = i + 1;
        match current.as_mut() {
            None => {
                if line.trim_end() == "```vector" {
                    current = Some(Vector {
                        line: n,
                        fields: Vec::new(),
                    });
                }
            }
            Some(v) => {
                if line.trim_end() == "```" {
                    out.extend(current.take());
                } else if line.trim().is_empty() {
                } else if line.starts_with([' ', '\t']) {
                    let (_, value) = v
                        .fields
                        .last_mut()
                        .ok_or(format!("line {n}: continuation before any key"))?;
                    value.push(' ');
                    value.push_str(line.trim());
                } else {
                    let (k, value) = line
                        .split_once(':')
                        .ok_or(format!("line {n}: not `key: value`"))?;
                    if !KEYS.contains(&k) {
                        return Err(format!("line {n}: unknown key `{k}`"));
                    }
                    v.fields.push((k.to_owned(), value.trim().to_owned()));
                }
            }
        }
    }
    if current.is_some() {
        return Err("an unterminated vector block".into());
    }
    Ok(out)
}

fn unhex(s: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<char> = s.chars().filter(|c| !c.is_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return Err(format!("odd number of hex digits in `{s}`"));
    }
    digits
        .chunks(2)
        .map(|p| {
            let pair: String = p.iter().collect();
            u8::from_str_radix(&pair, 16).map_err(|_| format!("bad hex `{pair}`"))
        })
        .collect()
}

// ---- the message notation of PROTOCOL.md ("Notation of the `message:` lines") ----

fn hex(b: &[u8]) -> String {
    let mut s = String::from("hex\"");
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s.push('"');
    s
}

fn text(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn opt_hex(b: Option<&[u8]>) -> String {
    b.map_or_else(|| "None".into(), |b| format!("Some({})", hex(b)))
}

/// A decoded message in the notation of the `message:` lines.
fn render(m: &Message<'_>) -> String {
    match m {
        Message::Hello(h) => format!(
            "Hello {{ min_version: {}, max_version: {}, caps: {}, device: {}, own_seq: {}, cursor: {} }}",
            h.min_version,
            h.max_version,
            h.caps.0,
            h.device,
            h.own_seq,
            opt_hex(h.cursor)
        ),
        Message::Welcome(w) => format!(
            "Welcome {{ version: {}, caps: {}, server_time_ms: {}, stored_seq: {}, epoch: {} }}",
            w.version, w.caps.0, w.server_time_ms, w.stored_seq, w.epoch
        ),
        Message::Refuse(r) => {
            let reason = match r.reason {
                RefuseReason::UnsupportedVersion { min, max } => {
                    format!("UnsupportedVersion {{ min: {min}, max: {max} }}")
                }
                RefuseReason::UnknownDevice => "UnknownDevice".into(),
                RefuseReason::Revoked { from_seq } => format!("Revoked {{ from_seq: {from_seq} }}"),
                RefuseReason::Busy => "Busy".into(),
                RefuseReason::Unauthenticated => "Unauthenticated".into(),
            };
            format!(
                "Refuse {{ reason: {reason}, server_time_ms: {}, stored_seq: {} }}",
                r.server_time_ms, r.stored_seq
            )
        }
        Message::Commit(c) => {
            let entries: Vec<String> = c
                .entries
                .iter()
                .map(|e| {
                    let body = match e.body {
                        Body::Payload(p) => format!("Payload({})", hex(p)),
                        Body::Withheld(h) => format!("Withheld({})", hex(&h)),
                    };
                    format!("Entry {{ envelope: {}, body: {body} }}", hex(e.envelope))
                })
                .collect();
            format!(
                "Commit {{ origin: {}, first_seq: {}, count: {}, salt: {}, signature: {}, entries: [{}] }}",
                c.origin,
                c.first_seq,
                c.entries.len(),
                hex(&c.salt),
                hex(c.signature),
                entries.join(", ")
            )
        }
        Message::Chunk(c) => format!(
            "Chunk {{ transfer: {}, index: {}, last: {}, kind: {:?}, compression: {:?}, raw_len: {}, data: {} }}",
            c.transfer,
            c.index,
            c.last,
            c.kind,
            c.compression,
            c.raw_len,
            hex(c.data)
        ),
        Message::Ack(a) => format!(
            "Ack {{ durable_seq: {}, cursor: {}, chunk: {} }}",
            a.durable_seq,
            opt_hex(a.cursor),
            a.chunk.map_or_else(
                || "None".into(),
                |r| format!(
                    "Some(ChunkRef {{ transfer: {}, index: {} }})",
                    r.transfer, r.index
                )
            )
        ),
        Message::SnapshotHeader(s) => format!(
            "SnapshotHeader {{ scope_kind: {}, scope_id: {}, tier: {}, epoch: {}, position: {}, records: {}, ops: {}, transfer: {}, chunks: {}, raw_bytes: {}, state_hash: {} }}",
            s.scope_kind,
            hex(&s.scope_id),
            s.tier,
            s.epoch,
            s.position,
            s.records,
            s.ops,
            s.transfer,
            s.chunks,
            s.raw_bytes,
            hex(&s.state_hash)
        ),
        Message::Error(e) => format!("Error {{ code: {}, detail: {} }}", e.code.0, text(e.detail)),
        Message::Bye => "Bye".into(),
        Message::Keys(k) => format!("Keys {{ count: {}, entries: {} }}", k.len(), hex(k.bytes())),
        Message::Receipt(r) => format!(
            "Receipt {{ epoch: {}, seq: {}, tag: {} }}",
            r.epoch,
            r.seq,
            hex(&r.tag)
        ),
    }
}

/// The notation's tokens: whitespace is insignificant (also inside `hex"…"`), hex digits
/// compare case-insensitively.
fn tokens(s: &str) -> Result<Vec<String>, String> {
    let cs: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        if c.is_whitespace() {
            i += 1;
        } else if "{}()[],:".contains(c) {
            out.push(c.to_string());
            i += 1;
        } else if c == '"' {
            let mut t = String::from("\"");
            i += 1;
            loop {
                match cs.get(i) {
                    None => return Err(format!("unterminated string in `{s}`")),
                    Some('"') => break,
                    Some('\\') => {
                        t.push(*cs.get(i + 1).ok_or("dangling escape")?);
                        i += 2;
                    }
                    Some(&ch) => {
                        t.push(ch);
                        i += 1;
                    }
                }
            }
            i += 1;
            out.push(t);
        } else if c.is_ascii_alphanumeric() || c == '_' {
            let start = i;
            while i < cs.len() && (cs[i].is_ascii_alphanumeric() || cs[i] == '_') {
                i += 1;
            }
            let word: String = cs[start..i].iter().collect();
            if word == "hex" && cs.get(i) == Some(&'"') {
                let end = cs[i + 1..]
                    .iter()
                    .position(|&c| c == '"')
                    .ok_or(format!("unterminated hex in `{s}`"))?;
                let digits: String = cs[i + 1..i + 1 + end]
                    .iter()
                    .filter(|c| !c.is_whitespace())
                    .map(char::to_ascii_lowercase)
                    .collect();
                out.push(format!("hex:{digits}"));
                i += end + 2;
            } else {
                out.push(word);
            }
        } else {
            return Err(format!("unexpected `{c}` in `{s}`"));
        }
    }
    Ok(out)
}

fn same_message(decoded: &Message<'_>, line: &str) -> Result<(), String> {
    let got = render(decoded);
    if tokens(&got)? == tokens(line)? {
        Ok(())
    } else {
        Err(format!(
            "decoded\n    {got}\n  but the vector says\n    {line}"
        ))
    }
}

fn error_name(e: &DecodeError) -> String {
    let s = format!("{e:?}");
    s.split(['(', ' ', '{']).next().unwrap_or("").to_owned()
}

/// The frames of a vector (after splitting its framing) and the error that stopped them.
fn frames(v: &Vector, limits: &Limits) -> Result<(Vec<Vec<u8>>, Option<DecodeError>), String> {
    let mut out = Vec::new();
    if let Some(f) = v.one("frame")? {
        out.push(unhex(f)?);
    } else if let Some(s) = v.one("stream")? {
        let bytes = unhex(s)?;
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            match split_prefixed(rest, limits) {
                Ok(Some((f, r))) => {
                    out.push(f.to_vec());
                    rest = r;
                }
                Ok(None) => return Err("the stream ends inside a frame".into()),
                Err(e) => return Ok((out, Some(e))),
            }
        }
    } else if let Some(c) = v.one("cobs")? {
        let bytes = unhex(c)?;
        let Some((&0, body)) = bytes.split_last() else {
            return Err("COBS bytes must end with the 00 delimiter".into());
        };
        for run in body.split(|&b| b == 0) {
            let mut buf = vec![0u8; limits.max_frame()];
            match read_cobs(run, &mut buf, limits) {
                Ok(f) => out.push(f.to_vec()),
                Err(e) => return Ok((out, Some(e))),
            }
        }
    } else {
        return Err("no `frame:`, `stream:` or `cobs:`".into());
    }
    Ok((out, None))
}

/// The framing of the vector applied to `frames` again.
fn reframe(v: &Vector, frames: &[Vec<u8>]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for f in frames {
        let mut buf = vec![0u8; f.len() * 2 + 16];
        let n = if v.one("stream")?.is_some() {
            write_prefixed(f, &mut buf).map_err(|e| e.to_string())?
        } else if v.one("cobs")?.is_some() {
            write_cobs(f, &mut buf).map_err(|e| e.to_string())?
        } else {
            buf[..f.len()].copy_from_slice(f);
            f.len()
        };
        out.extend_from_slice(&buf[..n]);
    }
    Ok(out)
}

/// A varint (at most 10 bytes) off the front of `b`.
fn varint(b: &mut &[u8]) -> Result<u64, String> {
    let mut value = 0u64;
    for k in 0..10 {
        let (&x, rest) = b
            .split_first()
            .ok_or("the chunk's data ends inside a varint")?;
        *b = rest;
        value |= u64::from(x & 0x7f) << (7 * k);
        if x & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err("a varint over 10 bytes in the chunk's data".into())
}

/// A postcard byte string (varint length, bytes) off the front of `b`.
fn byte_string<'a>(b: &mut &'a [u8]) -> Result<&'a [u8], String> {
    let len = usize::try_from(varint(b)?).map_err(|e| e.to_string())?;
    if len > b.len() {
        return Err("a byte string runs past the chunk's data".into());
    }
    let (s, rest) = b.split_at(len);
    *b = rest;
    Ok(s)
}

/// The data of a Commits chunk (PROTOCOL.md §10.7) against the vector's `chunk-cursor:` and
/// `chunk-commit:` lines: the cursor, then each Commit frame, in order.
fn check_chunk_layout(v: &Vector, decoded: &[Message<'_>], limits: &Limits) -> Result<(), String> {
    let Some(want_cursor) = v.one("chunk-cursor")? else {
        if v.all("chunk-commit").is_empty() {
            return Ok(());
        }
        return Err("`chunk-commit:` without `chunk-cursor:`".into());
    };
    let chunks: Vec<&kenesh_proto::Chunk<'_>> = decoded
        .iter()
        .filter_map(|m| match m {
            Message::Chunk(c) => Some(c),
            _ => None,
        })
        .collect();
    let [chunk] = chunks.as_slice() else {
        return Err("`chunk-cursor:` needs exactly one Chunk in the vector".into());
    };
    if chunk.kind != kenesh_proto::ChunkKind::Commits
        || chunk.compression != kenesh_proto::Compression::None
    {
        return Err("`chunk-cursor:` is for an uncompressed Commits chunk".into());
    }
    let mut data = chunk.data;
    let mut cursor = byte_string(&mut data)?;
    let (epoch, position) = (varint(&mut cursor)?, varint(&mut cursor)?);
    let grants: [u8; 8] = cursor
        .get(..8)
        .and_then(|g| g.try_into().ok())
        .ok_or("the cursor's grants digest is not 8 bytes")?;
    let mut rest = &cursor[8..];
    let snapshot = varint(&mut rest)?;
    if !rest.is_empty() {
        return Err("bytes follow the cursor".into());
    }
    let got = format!(
        "Cursor {{ epoch: {epoch}, position: {position}, grants: {}, snapshot: {snapshot} }}",
        hex(&grants)
    );
    if tokens(&got)? != tokens(want_cursor)? {
        return Err(format!("the chunk's cursor is {got}"));
    }
    let want = v.all("chunk-commit");
    let mut n = 0;
    while !data.is_empty() {
        let frame = byte_string(&mut data)?;
        let m = Message::decode(frame, limits).map_err(|e| format!("a chunk's commit: {e:?}"))?;
        if !matches!(m, Message::Commit(_)) {
            return Err("a chunk's data holds a frame that is not a Commit".into());
        }
        let line = want
            .get(n)
            .ok_or("more commits in the chunk than `chunk-commit:` lines")?;
        same_message(&m, line)?;
        if m.to_vec().map_err(|e| e.to_string())? != frame {
            return Err("a chunk's commit does not re-encode to its bytes".into());
        }
        n += 1;
    }
    if n != want.len() {
        return Err(format!(
            "{n} commits in the chunk, {} `chunk-commit:` lines",
            want.len()
        ));
    }
    Ok(())
}

/// Checks one vector; returns the types of the messages it decoded.
fn check(v: &Vector) -> Result<Vec<MessageType>, String> {
    let limits = match v.one("limit")? {
        Some(l) => Limits::new(l.parse().map_err(|_| format!("bad limit `{l}`"))?),
        None => Limits::default(),
    };
    let expect = v.one("expect")?.ok_or("no `expect:`")?;
    let messages = v.all("message");
    let (frames, stopped) = frames(v, &limits)?;
    let mut decoded = Vec::new();
    let mut error = stopped;
    if error.is_none() {
        for f in &frames {
            match Message::decode(f, &limits) {
                Ok(m) => decoded.push(m),
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
    }
    if let Some(want) = expect.strip_prefix("error ") {
        return match error {
            Some(e) if error_name(&e) == want.trim() => Ok(Vec::new()),
            Some(e) => Err(format!("refused with {e:?}, expected {want}")),
            None => Err(format!("decoded, expected error {want}")),
        };
    }
    if let Some(e) = error {
        return Err(format!("refused with {e:?} ({e})"));
    }
    if decoded.len() != messages.len() {
        return Err(format!(
            "{} frames decoded, {} `message:` lines",
            decoded.len(),
            messages.len()
        ));
    }
    let mut reencoded = Vec::new();
    for (m, line) in decoded.iter().zip(&messages) {
        same_message(m, line)?;
        reencoded.push(m.to_vec().map_err(|e| e.to_string())?);
    }
    check_chunk_layout(v, &decoded, &limits)?;
    let wire = unhex(
        v.one("frame")?
            .or(v.one("stream")?)
            .or(v.one("cobs")?)
            .unwrap_or_default(),
    )?;
    let again = reframe(v, &reencoded)?;
    match expect {
        "ok" => {
            if again != wire {
                return Err(format!(
                    "re-encodes to {}, not the vector's bytes",
                    hex(&again)
                ));
            }
            if v.one("canonical")?.is_some() {
                return Err("`canonical:` on a canonical vector".into());
            }
        }
        "ok non-canonical" => {
            let canonical = unhex(v.one("canonical")?.ok_or("no `canonical:`")?)?;
            if again == wire {
                return Err("re-encodes byte-identical: it is canonical".into());
            }
            if again != canonical {
                return Err(format!(
                    "re-encodes to {}, not the `canonical:` bytes",
                    hex(&again)
                ));
            }
            // The canonical bytes are the same message.
            let c = Message::decode(&canonical, &limits).map_err(|e| format!("{e:?}"))?;
            if c != decoded[0] {
                return Err("`canonical:` decodes to another message".into());
            }
        }
        "ok extended" => {
            // A later version's Hello with fields appended: decoded, the extension skipped;
            // it re-encodes to the version-1 layout given as `canonical:`.
            let canonical = unhex(v.one("canonical")?.ok_or("no `canonical:`")?)?;
            if again != canonical || canonical.len() >= wire.len() || !wire.starts_with(&canonical)
            {
                return Err(format!(
                    "re-encodes to {}, not a prefix `canonical:`",
                    hex(&again)
                ));
            }
        }
        other => return Err(format!("unknown expect `{other}`")),
    }
    // A stream read one byte at a time gives the same frames.
    if v.one("stream")?.is_some() {
        let mut reader: FrameReader<4096> = FrameReader::new(limits);
        let mut got = Vec::new();
        for b in &wire {
            reader.push(&[*b]).map_err(|e| format!("{e:?}"))?;
            while let Some(f) = reader.next_frame().map_err(|e| format!("{e:?}"))? {
                got.push(f.to_vec());
            }
        }
        if got != frames {
            return Err("FrameReader splits the stream differently".into());
        }
    }
    Ok(decoded.iter().map(Message::message_type).collect())
}

fn all_vectors() -> Vec<Vector> {
    parse_vectors(SPEC).unwrap_or_else(|e| panic!("PROTOCOL.md: {e}"))
}

#[test]
fn every_vector_in_protocol_md_holds() {
    let vectors = all_vectors();
    assert!(
        vectors.len() >= 40,
        "only {} vectors found in PROTOCOL.md",
        vectors.len()
    );
    let mut names = std::collections::BTreeSet::new();
    let mut failures = Vec::new();
    for v in &vectors {
        let name = v.name();
        if v.one("name").ok().flatten().is_none() {
            failures.push(format!("{name}: no `name:`"));
        }
        if !names.insert(name.clone()) {
            failures.push(format!("{name}: name used twice"));
        }
        if let Err(e) = check(v) {
            failures.push(format!("{name} (PROTOCOL.md line {}): {e}", v.line));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} vectors fail:\n{}",
        failures.len(),
        vectors.len(),
        failures.join("\n")
    );
}

#[test]
fn every_message_type_has_a_valid_vector() {
    let mut seen = std::collections::BTreeSet::new();
    for v in all_vectors() {
        if let Ok(types) = check(&v) {
            seen.extend(types);
        }
    }
    let missing: Vec<MessageType> = (0..=255u8)
        .filter_map(MessageType::from_byte)
        .filter(|t| !seen.contains(t))
        .collect();
    assert!(missing.is_empty(), "no valid vector for {missing:?}");
}

#[test]
fn the_invalid_vectors_cover_every_refusal() {
    let named: std::collections::BTreeSet<String> = all_vectors()
        .iter()
        .filter_map(|v| v.one("expect").ok().flatten().map(str::to_owned))
        .filter_map(|e| e.strip_prefix("error ").map(|s| s.trim().to_owned()))
        .collect();
    for want in [
        "Empty",
        "UnknownType",
        "FrameTooLarge",
        "Truncated",
        "Malformed",
        "TrailingBytes",
        "UnsupportedVersion",
        "CountTooLarge",
        "TooLong",
        "BadSeq",
        "DecompressedTooLarge",
        "LengthMismatch",
        "Cobs",
    ] {
        assert!(named.contains(want), "no invalid vector expects {want}");
    }
}

#[test]
fn the_notation_can_fail() {
    // The checker itself: a wrong field, a wrong byte and a wrong error are all caught.
    let doc = "```vector\nname: a\nexpect: ok\nmessage: Bye\nframe: 08\n```\n\
               ```vector\nname: b\nexpect: ok\nmessage: Hello { min_version: 1, max_version: 1, caps: 3, device: 18, own_seq: 42, cursor: None }\nframe: 00 01 01 03 11 2a 00\n```\n\
               ```vector\nname: c\nexpect: error Truncated\nframe: 0b\n```\n\
               ```vector\nname: d\nexpect: ok non-canonical\nmessage: Bye\nframe: 08\ncanonical: 08\n```\n";
    let v = parse_vectors(doc).unwrap();
    assert_eq!(v.len(), 4);
    assert!(check(&v[0]).is_ok());
    assert!(check(&v[1]).unwrap_err().contains("device: 17"));
    assert!(check(&v[2]).unwrap_err().contains("UnknownType"));
    assert!(check(&v[3]).unwrap_err().contains("canonical"));
}
