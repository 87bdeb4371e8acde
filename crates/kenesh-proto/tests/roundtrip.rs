//! Every message round-trips: decode(encode(m)) == m, and the frame's bytes are stable.

use kenesh_proto::{
    Ack, Body, Caps, Chunk, ChunkKind, ChunkRef, Commit, CommitBuilder, Compression, Entry,
    ErrorCode, ErrorMessage, Hello, Limits, Message, Refuse, RefuseReason, SnapshotHeader, Welcome,
};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000u32)
        .max(1000);
    ProptestConfig::with_cases(cases)
}

fn check(m: &Message<'_>) -> Result<(), TestCaseError> {
    let limits = Limits::new(kenesh_proto::HARD_MAX_FRAME);
    let bytes = m.to_vec().map_err(|e| TestCaseError::fail(e.to_string()))?;
    let back = Message::decode(&bytes, &limits).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&back, m);
    prop_assert_eq!(back.to_vec().unwrap(), bytes);
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn hello(caps in any::<u32>(), device in any::<u32>(), own_seq in any::<u64>(), cursor in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..=64))) {
        check(&Message::Hello(Hello { min_version: 1, max_version: 1, caps: Caps(caps), device, own_seq, cursor: cursor.as_deref() }))?;
    }

    #[test]
    fn welcome_refuse(caps in any::<u32>(), t in any::<u64>(), s in any::<u64>(), e in any::<u64>(), r in 0u8..5, x in any::<u16>(), y in any::<u16>()) {
        check(&Message::Welcome(Welcome { version: 1, caps: Caps(caps), server_time_ms: t, stored_seq: s, epoch: e }))?;
        let reason = match r {
            0 => RefuseReason::UnsupportedVersion { min: x, max: y },
            1 => RefuseReason::UnknownDevice,
            2 => RefuseReason::Revoked { from_seq: s },
            3 => RefuseReason::Busy,
            _ => RefuseReason::Unauthenticated,
        };
        check(&Message::Refuse(Refuse { reason, server_time_ms: t, stored_seq: s }))?;
    }

    #[test]
    fn commit(origin in any::<u32>(), first in 1u64..u64::MAX / 2, salt in any::<[u8; 16]>(), sig in proptest::collection::vec(any::<u8>(), 0..=64),
              entries in proptest::collection::vec((proptest::collection::vec(any::<u8>(), 0..80), proptest::option::of(proptest::collection::vec(any::<u8>(), 0..200)), any::<[u8; 32]>()), 1..20)) {
        let mut buf = vec![0u8; 8192];
        let mut b = CommitBuilder::new(&mut buf);
        for (env, payload, hash) in &entries {
            let body = match payload { Some(p) => Body::Payload(p), None => Body::Withheld(*hash) };
            b.push(Entry { envelope: env, body }).unwrap();
        }
        let entries_out = b.finish();
        prop_assert_eq!(entries_out.len() as usize, entries.len());
        let m = Message::Commit(Commit { origin, first_seq: first, salt, signature: &sig, entries: entries_out });
        check(&m)?;
        if let Message::Commit(c) = m {
            let got: Vec<_> = c.entries.iter().collect();
            prop_assert_eq!(got.len(), entries.len());
            for (g, (env, payload, _)) in got.iter().zip(&entries) {
                prop_assert_eq!(g.envelope, &env[..]);
                if let (Body::Payload(p), Some(q)) = (g.body, payload) { prop_assert_eq!(p, &q[..]); }
            }
        }
    }

    #[test]
    fn chunk_ack_snapshot_error(transfer in any::<u32>(), index in any::<u32>(), last in any::<bool>(), data in proptest::collection::vec(any::<u8>(), 0..2000),
                                durable in any::<u64>(), detail in "\\PC{0,60}", code in any::<u16>(), hash in any::<[u8; 32]>()) {
        check(&Message::Chunk(Chunk { transfer, index, last, kind: ChunkKind::Commits, compression: Compression::None, raw_len: data.len() as u32, data: &data }))?;
        check(&Message::Ack(Ack { durable_seq: durable, cursor: None, chunk: Some(ChunkRef { transfer, index }) }))?;
        check(&Message::SnapshotHeader(SnapshotHeader { scope_kind: 0, scope_id: [3; 16], tier: 1, epoch: durable, position: durable, records: index, ops: transfer, transfer, chunks: index, raw_bytes: durable, state_hash: hash }))?;
        if detail.len() <= kenesh_proto::MAX_ERROR_DETAIL {
            check(&Message::Error(ErrorMessage { code: ErrorCode(code), detail: &detail }))?;
        }
        check(&Message::Bye)?;
    }

    /// Any bytes: a message or a typed error, never a panic; what decodes re-decodes equal.
    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(m) = Message::decode(&bytes, &Limits::default()) {
            let again = m.to_vec().unwrap();
            prop_assert_eq!(Message::decode(&again, &Limits::default()).unwrap(), m);
        }
    }
}

#[test]
fn zstd_chunks_round_trip_and_refuse_lies() {
    use kenesh_proto::compress::{compress, decompress};
    let text = "Айыл өкмөтүнө кайрылабыз, көпүрө бузулган. ".repeat(40);
    let packed = compress(text.as_bytes(), 3).unwrap();
    assert!(packed.len() * 3 < text.len());
    let limits = Limits::default();
    assert_eq!(
        decompress(&packed, text.len() as u32, &limits).unwrap(),
        text.as_bytes()
    );
    // Declaring less than it expands to is refused, not grown into.
    assert!(decompress(&packed, 10, &limits).is_err());
    assert_eq!(
        decompress(&packed, u32::MAX, &limits),
        Err(kenesh_proto::DecodeError::DecompressedTooLarge {
            declared: u32::MAX as usize,
            max: limits.max_decompressed()
        })
    );
}
