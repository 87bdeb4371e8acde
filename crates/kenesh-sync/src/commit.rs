//! Signed commits: one device's contiguous ops, one salt, one ed25519 signature over the list
//! of (envelope, salted payload hash). Kept and forwarded as the exact frame bytes received.

use kenesh_merge::{Op, OpError, Payload};
use kenesh_proto::{Body, Commit, CommitBuilder, Entry, Limits, Message};

use crate::identity::{PublicKeys, Secret, verify};

/// The signed digest's BLAKE3 key-derivation context.
#[cfg(test)]
const COMMIT_CONTEXT: &str = "kenesh 2026 commit v1";
/// Its context key (`blake3::hazmat::hash_derive_key_context`), written out rather than
/// derived for every commit; `tests::commit_context_key` checks it.
const COMMIT_CONTEXT_KEY: blake3::hazmat::ContextKey = [
    0xeb, 0x21, 0xf4, 0x90, 0x1b, 0xa1, 0x25, 0x1b, 0xf8, 0xcd, 0xc3, 0xfd, 0xd7, 0xe1, 0x7f, 0xaa,
    0x8b, 0xcc, 0x2d, 0x09, 0x2c, 0xc4, 0x3d, 0x83, 0xa0, 0x87, 0x95, 0xf4, 0x0e, 0x98, 0x36, 0x35,
];

/// Why bytes or ops are not a commit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommitError {
    /// No ops.
    #[error("a commit holds at least one op")]
    Empty,
    /// The frame does not decode.
    #[error("the commit frame does not decode: {0:?}")]
    Frame(kenesh_proto::DecodeError),
    /// The frame is another message.
    #[error("the frame is not a commit")]
    NotACommit,
    /// An op does not decode or breaks a limit.
    #[error("op {index} of the commit: {error}")]
    Op {
        /// Its index in the commit.
        index: usize,
        /// What is wrong.
        error: OpError,
    },
    /// An op's origin or seq does not match its place in the commit, or the ops do not
    /// share one salt.
    #[error("op {index} does not belong at its place in the commit (origin, seq or salt)")]
    Misplaced {
        /// Its index in the commit.
        index: usize,
    },
    /// An op to sign has no payload.
    #[error("op {index} has no payload to sign")]
    NoPayload {
        /// Its index.
        index: usize,
    },
    /// The signature is neither 64 bytes nor absent.
    #[error("a signature is 64 bytes")]
    SignatureLength,
    /// The commit does not fit in one frame.
    #[error("the commit does not fit in a frame of {max} bytes")]
    TooLarge {
        /// The frame limit.
        max: usize,
    },
}

/// A commit as held and forwarded: the exact bytes of its Commit frame, checked once.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedCommit {
    frame: Vec<u8>,
    origin: u32,
    first_seq: u64,
    count: u32,
    salt: [u8; 16],
    /// The digest the origin signs, computed once when the commit is made or checked.
    digest: [u8; 32],
    signature: Option<[u8; 64]>,
}

impl core::fmt::Debug for SignedCommit {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "SignedCommit(origin {}, seqs {}..={}, {} bytes)",
            self.origin,
            self.first_seq,
            self.last_seq(),
            self.frame.len()
        )
    }
}

/// The bytes an origin signs: a digest of origin, first seq, count, salt and every
/// (envelope, salted payload hash).
fn signed_digest<B: AsRef<[u8]>>(
    origin: u32,
    first_seq: u64,
    salt: [u8; 16],
    entries: impl ExactSizeIterator<Item = (B, [u8; 32])>,
) -> [u8; 32] {
    use blake3::hazmat::HasherExt as _;
    let mut h = blake3::Hasher::new_from_context_key(&COMMIT_CONTEXT_KEY);
    h.update(&origin.to_le_bytes());
    h.update(&first_seq.to_le_bytes());
    h.update(&(entries.len() as u32).to_le_bytes());
    h.update(&salt);
    for (envelope, hash) in entries {
        let envelope = envelope.as_ref();
        h.update(&(envelope.len() as u32).to_le_bytes());
        h.update(envelope);
        h.update(&hash);
    }
    *h.finalize().as_bytes()
}

impl SignedCommit {
    /// Signs `ops` (one origin, contiguous seqs, one salt, payloads present) as one commit.
    ///
    /// # Errors
    /// When the ops do not form a commit or do not fit in a frame of `max_frame` bytes.
    pub fn sign(
        secret: &Secret,
        ops: &[Op],
        max_frame: usize,
    ) -> Result<SignedCommit, CommitError> {
        let first = ops.first().ok_or(CommitError::Empty)?;
        let (origin, first_seq) = (first.envelope().origin.0, first.envelope().seq);
        let salt = first
            .payload()
            .ok_or(CommitError::NoPayload { index: 0 })?
            .salt;
        for (i, op) in ops.iter().enumerate() {
            let p = op.payload().ok_or(CommitError::NoPayload { index: i })?;
            if op.envelope().origin.0 != origin
                || Some(op.envelope().seq) != first_seq.checked_add(i as u64)
                || p.salt != salt
            {
                return Err(CommitError::Misplaced { index: i });
            }
        }
        Self::build(
            origin,
            first_seq,
            salt,
            Some(secret),
            ops,
            |_| true,
            max_frame,
        )
    }

    /// A commit of `ops` as the server relays it: no signature, payloads only where
    /// `with_payload` says so (the others withheld: envelope and payload hash).
    ///
    /// # Errors
    /// When the ops do not form a commit or do not fit in a frame.
    pub fn relayed(
        ops: &[&Op],
        salt: [u8; 16],
        with_payload: impl Fn(&Op) -> bool,
        max_frame: usize,
    ) -> Result<SignedCommit, CommitError> {
        let first = ops.first().ok_or(CommitError::Empty)?;
        let (origin, first_seq) = (first.envelope().origin.0, first.envelope().seq);
        for (i, op) in ops.iter().enumerate() {
            if op.envelope().origin.0 != origin
                || Some(op.envelope().seq) != first_seq.checked_add(i as u64)
                || op.payload().is_some_and(|p| p.salt != salt)
            {
                return Err(CommitError::Misplaced { index: i });
            }
        }
        Self::build(
            origin,
            first_seq,
            salt,
            None,
            ops,
            |o| with_payload(o),
            max_frame,
        )
    }

    /// The commit frame of `ops`, signed with `secret` where given. Each envelope is encoded
    /// once, for the signed digest, the frame's room and the frame.
    fn build<O: core::borrow::Borrow<Op>>(
        origin: u32,
        first_seq: u64,
        salt: [u8; 16],
        secret: Option<&Secret>,
        ops: &[O],
        with_payload: impl Fn(&Op) -> bool,
        max_frame: usize,
    ) -> Result<SignedCommit, CommitError> {
        let envelopes: Vec<Vec<u8>> = ops.iter().map(|o| o.borrow().envelope_bytes()).collect();
        let digest = signed_digest(
            origin,
            first_seq,
            salt,
            envelopes
                .iter()
                .zip(ops)
                .map(|(e, o)| (e, o.borrow().payload_hash())),
        );
        let signature = secret.map(|s| s.sign(&digest));
        // Room for the entries as they will be (each at most its envelope, its body and 16
        // bytes of lengths and tags), not the whole frame limit: zeroing 16 KiB for every
        // relayed commit was a twentieth of an incremental session's instructions.
        let room: usize = envelopes
            .iter()
            .zip(ops)
            .map(|(e, o)| e.len() + o.borrow().payload().map_or(32, |p| p.bytes.len().max(32)) + 16)
            .sum();
        let mut entries = vec![0u8; room.min(max_frame)];
        let mut b = CommitBuilder::new(&mut entries);
        for (envelope, op) in envelopes.iter().zip(ops) {
            let op = op.borrow();
            let body = match op.payload() {
                Some(p) if with_payload(op) => Body::Payload(&p.bytes),
                _ => Body::Withheld(op.payload_hash()),
            };
            b.push(Entry { envelope, body })
                .map_err(|_| CommitError::TooLarge { max: max_frame })?;
        }
        let entries = b.finish();
        let frame = Message::Commit(Commit {
            origin,
            first_seq,
            salt,
            signature: signature.as_ref().map_or(&[][..], |s| &s[..]),
            entries,
        })
        .to_vec()
        .map_err(|_| CommitError::TooLarge { max: max_frame })?;
        if frame.len() > max_frame {
            return Err(CommitError::TooLarge { max: max_frame });
        }
        Ok(SignedCommit {
            frame,
            origin,
            first_seq,
            count: ops.len() as u32,
            salt,
            digest,
            signature,
        })
    }

    /// Checks a received Commit frame: it decodes, every op decodes and sits at its place.
    /// The signature is not checked here (see [`SignedCommit::verify`]).
    ///
    /// # Errors
    /// See [`CommitError`].
    pub fn from_frame(frame: &[u8], limits: &Limits) -> Result<SignedCommit, CommitError> {
        Self::parse(frame, limits).map(|(c, _)| c)
    }

    /// As [`SignedCommit::from_frame`], also returning the ops it checked (so a receiver
    /// decodes them once).
    ///
    /// # Errors
    /// See [`CommitError`].
    pub fn parse(frame: &[u8], limits: &Limits) -> Result<(SignedCommit, Vec<Op>), CommitError> {
        let Message::Commit(c) = Message::decode(frame, limits).map_err(CommitError::Frame)? else {
            return Err(CommitError::NotACommit);
        };
        if c.entries.is_empty() {
            return Err(CommitError::Empty);
        }
        if !(c.signature.is_empty() || c.signature.len() == 64) {
            return Err(CommitError::SignatureLength);
        }
        let mut ops = Vec::with_capacity(c.entries.len() as usize);
        // The envelopes as they came (what the origin signed; `to_op` checked them canonical).
        let mut envelopes = Vec::with_capacity(c.entries.len() as usize);
        for (i, e) in c.entries.iter().enumerate() {
            envelopes.push(e.envelope);
            let op = to_op(c.salt, e).map_err(|error| CommitError::Op { index: i, error })?;
            if op.envelope().origin.0 != c.origin
                || Some(op.envelope().seq) != c.first_seq.checked_add(i as u64)
            {
                return Err(CommitError::Misplaced { index: i });
            }
            ops.push(op);
        }
        let digest = signed_digest(
            c.origin,
            c.first_seq,
            c.salt,
            envelopes
                .iter()
                .zip(&ops)
                .map(|(e, o)| (e, o.payload_hash())),
        );
        let commit = SignedCommit {
            frame: frame.to_vec(),
            origin: c.origin,
            first_seq: c.first_seq,
            count: c.entries.len(),
            salt: c.salt,
            digest,
            signature: c.signature.try_into().ok(),
        };
        Ok((commit, ops))
    }

    /// The frame decoded (checked at construction, so always `Some`).
    fn view(&self) -> Option<Commit<'_>> {
        match Message::decode(&self.frame, &Limits::new(kenesh_proto::HARD_MAX_FRAME)) {
            Ok(Message::Commit(c)) => Some(c),
            _ => None,
        }
    }

    /// The exact frame bytes.
    #[must_use]
    pub fn frame(&self) -> &[u8] {
        &self.frame
    }
    /// The device that made the ops.
    #[must_use]
    pub fn origin(&self) -> u32 {
        self.origin
    }
    /// The first op's seq.
    #[must_use]
    pub fn first_seq(&self) -> u64 {
        self.first_seq
    }
    /// The last op's seq.
    #[must_use]
    pub fn last_seq(&self) -> u64 {
        self.first_seq + u64::from(self.count) - 1
    }
    /// How many ops.
    #[must_use]
    pub fn len(&self) -> u32 {
        self.count
    }
    /// Never true: a commit holds at least one op.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
    /// The commit's salt.
    #[must_use]
    pub fn salt(&self) -> [u8; 16] {
        self.salt
    }
    /// Whether it carries a signature (a relayed commit does not).
    #[must_use]
    pub fn is_signed(&self) -> bool {
        self.signature.is_some()
    }

    /// The ops, checked (payload hashes recomputed from the salt).
    #[must_use]
    pub fn ops(&self) -> Vec<Op> {
        let Some(c) = self.view() else {
            return Vec::new();
        };
        c.entries
            .iter()
            .filter_map(|e| to_op(c.salt, e).ok())
            .collect()
    }

    /// The digest the origin signs.
    #[must_use]
    pub fn signed_digest(&self) -> [u8; 32] {
        self.digest
    }

    /// Whether the signature is the origin's (`keys`) over this commit.
    #[must_use]
    pub fn verify(&self, keys: &PublicKeys) -> bool {
        self.signature
            .is_some_and(|sig| verify(keys, &self.digest, &sig))
    }
}

fn to_op(salt: [u8; 16], e: Entry<'_>) -> Result<Op, OpError> {
    match e.body {
        Body::Payload(bytes) => {
            let payload = Payload {
                salt,
                bytes: bytes.to_vec(),
            };
            Op::with_payload(e.envelope, payload)
        }
        Body::Withheld(hash) => Op::from_parts(e.envelope, hash, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The precomputed context key is the one `new_derive_key` derives, so signed digests
    /// (and every signature made) are unchanged.
    #[test]
    fn commit_context_key() {
        assert_eq!(
            blake3::hazmat::hash_derive_key_context(COMMIT_CONTEXT),
            COMMIT_CONTEXT_KEY
        );
        let entries = [(&b"envelope"[..], [5u8; 32])];
        let mut h = blake3::Hasher::new_derive_key(COMMIT_CONTEXT);
        h.update(&7u32.to_le_bytes());
        h.update(&9u64.to_le_bytes());
        h.update(&1u32.to_le_bytes());
        h.update(&[3; 16]);
        h.update(&8u32.to_le_bytes());
        h.update(b"envelope");
        h.update(&[5; 32]);
        assert_eq!(
            signed_digest(7, 9, [3; 16], entries.into_iter()),
            *h.finalize().as_bytes()
        );
    }
    use kenesh_merge::OpBuilder;
    use kenesh_model::{Id, schema::EntityKind};

    fn ops(origin: u32, n: usize) -> Vec<Op> {
        let mut b = OpBuilder::new(origin);
        b.salt([9; 16]);
        (0..n)
            .map(|i| {
                b.create(
                    EntityKind::Issue,
                    Id::from_u128(i as u128 + 1),
                    vec![(1, vec![1, 2, 3])],
                )
                .unwrap()
            })
            .collect()
    }

    #[test]
    fn a_signed_commit_round_trips_and_verifies() {
        let secret = Secret::from_bytes([3; 32]);
        let ops = ops(5, 3);
        let c = SignedCommit::sign(&secret, &ops, 16 * 1024).unwrap();
        let back = SignedCommit::from_frame(c.frame(), &Limits::default()).unwrap();
        assert_eq!(back, c);
        assert!(back.verify(&secret.public()));
        assert!(!back.verify(&Secret::from_bytes([4; 32]).public()));
        assert_eq!(back.ops(), ops);
        assert_eq!(
            (back.origin(), back.first_seq(), back.last_seq()),
            (5, 1, 3)
        );
    }

    #[test]
    fn withholding_keeps_the_signature_valid() {
        let secret = Secret::from_bytes([3; 32]);
        let ops = ops(5, 2);
        let signed = SignedCommit::sign(&secret, &ops, 16 * 1024).unwrap();
        let refs: Vec<&Op> = ops.iter().collect();
        let relayed = SignedCommit::relayed(&refs, [9; 16], |_| false, 16 * 1024).unwrap();
        assert!(!relayed.is_signed());
        assert_eq!(relayed.signed_digest(), signed.signed_digest());
        assert!(relayed.ops().iter().all(|o| o.payload().is_none()));
    }

    #[test]
    fn misplaced_and_mixed_salt_ops_are_refused() {
        let secret = Secret::from_bytes([3; 32]);
        let mut all = ops(5, 3);
        all.remove(1);
        assert_eq!(
            SignedCommit::sign(&secret, &all, 16 * 1024),
            Err(CommitError::Misplaced { index: 1 })
        );
        assert_eq!(
            SignedCommit::sign(&secret, &[], 16 * 1024),
            Err(CommitError::Empty)
        );
        let big = ops(5, 50);
        assert_eq!(
            SignedCommit::sign(&secret, &big, 512),
            Err(CommitError::TooLarge { max: 512 })
        );
    }

    #[test]
    fn a_tampered_payload_is_caught_by_the_signature() {
        let secret = Secret::from_bytes([3; 32]);
        let c = SignedCommit::sign(&secret, &ops(5, 1), 16 * 1024).unwrap();
        let mut frame = c.frame().to_vec();
        let last = frame.len() - 1;
        frame[last] ^= 1; // the last payload byte
        let t = SignedCommit::from_frame(&frame, &Limits::default()).unwrap();
        assert!(!t.verify(&secret.public()));
    }
}
