//! Ops: the fixed envelope every build can read, and a payload only builds that know the
//! field decode.
//!
//! An op is kept as its decoded envelope (accepted only in canonical form, so it encodes back
//! to exactly the bytes it arrived with), its payload hash, its digest, and (where the holder
//! may see it and it is not erased) its payload. A build that meets an entity kind, field or
//! action it does not know stores and forwards the op byte-identical and leaves it out of its
//! materialised state.

use alloc::vec::Vec;
use core::fmt;

use kenesh_model::{DeviceId, Id, PersonId, Scope, Tier};
use serde::{Deserialize, Serialize};

use crate::Hlc;

/// Most op ids one op may supersede.
pub const MAX_SUPERSEDES: usize = 64;
/// Most persons one op may concern.
pub const MAX_PERSONS: usize = 16;
/// Largest envelope, in bytes.
pub const MAX_ENVELOPE: usize = 2_048;
/// Largest payload, in bytes.
pub const MAX_PAYLOAD: usize = 256 * 1024;

/// An op's identity: the device that made it and its number there (1, 2, 3, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OpId {
    /// The device that made the op.
    pub origin: DeviceId,
    /// Its sequence number on that device, from 1, contiguous.
    pub seq: u64,
}

impl OpId {
    /// An op id.
    #[must_use]
    pub const fn new(origin: u32, seq: u64) -> OpId {
        OpId {
            origin: DeviceId(origin),
            seq,
        }
    }
}

impl fmt::Display for OpId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.origin.0, self.seq)
    }
}

/// What an op does. A code this build does not know is kept as it is.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Action(pub u8);

impl Action {
    /// Creates a record: kind, scope and tier are fixed; the payload holds initial field
    /// values (see [`CreatePayload`]).
    pub const CREATE: Action = Action(0);
    /// Writes a register field; supersedes the writes it saw.
    pub const SET: Action = Action(1);
    /// Adds an element to a set field (the payload is the element).
    pub const ADD: Action = Action(2);
    /// Removes an element from a set field: supersedes the adds of it that it saw.
    pub const REMOVE: Action = Action(3);
    /// Appends an entry to a log field.
    pub const APPEND: Action = Action(4);
    /// Moves a workflow field: the payload is a [`TransitionPayload`]; supersedes the
    /// transitions it saw.
    pub const TRANSITION: Action = Action(5);
    /// Reopens a terminal workflow state: supersedes the op that closed it.
    pub const REOPEN: Action = Action(6);
    /// Hides the record (its ops are kept).
    pub const TOMBSTONE: Action = Action(7);
    /// Changes the record's owner scope (the payload is the new [`Scope`]); applied by the
    /// server.
    pub const CHANGE_OWNER: Action = Action(8);
    /// Erases the persons it names: their payloads are destroyed everywhere it reaches.
    pub const ERASE: Action = Action(9);

    /// Whether this build knows the action.
    #[must_use]
    pub fn is_known(self) -> bool {
        self.0 <= 9
    }

    /// A stable name (`create`, `set`, …), or `unknown`.
    #[must_use]
    pub fn name(self) -> &'static str {
        const NAMES: [&str; 10] = [
            "create",
            "set",
            "add",
            "remove",
            "append",
            "transition",
            "reopen",
            "tombstone",
            "change_owner",
            "erase",
        ];
        NAMES.get(usize::from(self.0)).copied().unwrap_or("unknown")
    }
}

impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Action({}:{})", self.0, self.name())
    }
}

/// The envelope: what every build reads, whatever the schema.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Envelope {
    /// The device that made the op.
    pub origin: DeviceId,
    /// Its number on that device.
    pub seq: u64,
    /// The ops this op replaces (register writes, set adds, transitions, a close).
    pub supersedes: Vec<OpId>,
    /// When, by the origin's hybrid logical clock (breaks ties between concurrent writes).
    pub hlc: Hlc,
    /// The entity kind's registry code (maybe unknown to this build).
    pub kind: u16,
    /// The record.
    pub entity: Id,
    /// The field's id in the kind's schema; 0 for record-level actions.
    pub field: u16,
    /// What it does.
    pub action: Action,
    /// The record's owner scope.
    pub scope: Scope,
    /// The op's tier: the higher of the record's and the field's.
    pub tier: Tier,
    /// The persons whose data the payload holds (erasure and consent reach them).
    pub persons: Vec<PersonId>,
}

impl Envelope {
    /// The op's id.
    #[must_use]
    pub fn id(&self) -> OpId {
        OpId {
            origin: self.origin,
            seq: self.seq,
        }
    }
}

/// A payload and the salt of the commit it came in (the salt is withheld with the payload,
/// so a peer holding only the envelope cannot guess a small payload from its hash).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Payload {
    /// The commit's salt.
    pub salt: [u8; 16],
    /// The field value, postcard-encoded by a build that knows the field.
    #[serde(with = "serde_bytes")]
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Payload({} bytes)", self.bytes.len())
    }
}

impl Payload {
    /// The salted hash the envelope's holder checks the payload against.
    #[must_use]
    pub fn hash(&self) -> [u8; 32] {
        use blake3::hazmat::HasherExt as _;
        let mut h = blake3::Hasher::new_from_context_key(&PAYLOAD_CONTEXT_KEY);
        // Payloads are small: one update of salt and bytes is cheaper than two.
        let n = self.salt.len() + self.bytes.len();
        if n <= DIGEST_BUFFER {
            let mut buf = [0u8; DIGEST_BUFFER];
            buf[..16].copy_from_slice(&self.salt);
            buf[16..n].copy_from_slice(&self.bytes);
            h.update(&buf[..n]);
        } else {
            h.update(&self.salt);
            h.update(&self.bytes);
        }
        *h.finalize().as_bytes()
    }
}

/// The payload of a [`Action::CREATE`]: initial values as (field id, bytes) pairs. A register
/// field appears once; a set field once per element; a log field once per entry; a workflow
/// field once, as its state code in one byte.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatePayload {
    /// The initial values.
    #[serde(with = "field_values")]
    pub fields: Vec<(u16, Vec<u8>)>,
}

/// (field, value) pairs with each value encoded as a byte string: the same bytes as a
/// sequence of `u8` in postcard, read at once rather than byte by byte.
mod field_values {
    use alloc::vec::Vec;
    use serde::{Deserialize, Deserializer, Serializer};
    use serde_bytes::{ByteBuf, Bytes};

    pub(super) fn serialize<S: Serializer>(
        fields: &[(u16, Vec<u8>)],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(fields.iter().map(|(f, v)| (*f, Bytes::new(v))))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<(u16, Vec<u8>)>, D::Error> {
        let pairs = Vec::<(u16, ByteBuf)>::deserialize(d)?;
        Ok(pairs.into_iter().map(|(f, v)| (f, v.into_vec())).collect())
    }

    /// The pairs' encoding is unchanged by the byte-string form.
    #[cfg(test)]
    #[test]
    fn same_bytes_as_a_sequence() {
        #[derive(serde::Serialize)]
        struct Plain {
            fields: Vec<(u16, Vec<u8>)>,
        }
        let fields = alloc::vec![
            (1, alloc::vec![1, 2, 3]),
            (300, Vec::new()),
            (7, alloc::vec![9; 200])
        ];
        let plain = postcard::to_allocvec(&Plain {
            fields: fields.clone(),
        })
        .unwrap();
        let ours = postcard::to_allocvec(&super::CreatePayload {
            fields: fields.clone(),
        })
        .unwrap();
        assert_eq!(plain, ours);
        let back: super::CreatePayload = postcard::from_bytes(&plain).unwrap();
        assert_eq!(back.fields, fields);
    }
}

/// The payload of a [`Action::TRANSITION`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitionPayload {
    /// The state the writer saw.
    pub from: u8,
    /// The state it moved to.
    pub to: u8,
}

/// Why bytes are not a valid op.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpError {
    /// The envelope is larger than [`MAX_ENVELOPE`].
    #[error("envelope of {len} bytes is over the limit of {max}")]
    EnvelopeTooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The envelope bytes do not decode.
    #[error("envelope does not decode: {0}")]
    Envelope(postcard::Error),
    /// Bytes follow the envelope.
    #[error("{0} bytes follow the envelope")]
    TrailingBytes(usize),
    /// The envelope is not in canonical form (for example a padded varint): its identity
    /// would be ambiguous.
    #[error("envelope is not canonically encoded")]
    NonCanonical,
    /// More supersedes than [`MAX_SUPERSEDES`].
    #[error("{count} superseded ops, the limit is {max}")]
    TooManySupersedes {
        /// How many.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// More persons than [`MAX_PERSONS`].
    #[error("{count} persons, the limit is {max}")]
    TooManyPersons {
        /// How many.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// Sequence number 0 (seqs start at 1).
    #[error("seq 0: sequence numbers start at 1")]
    ZeroSeq,
    /// An op supersedes itself.
    #[error("the op supersedes itself")]
    SelfSupersede,
    /// The payload is larger than [`MAX_PAYLOAD`].
    #[error("payload of {len} bytes is over the limit of {max}")]
    PayloadTooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The payload does not match the envelope's payload hash.
    #[error("the payload does not match its hash")]
    PayloadMismatch,
}

/// An op as held by a replica: the decoded envelope, the payload hash, the op's digest, and
/// the payload where it is held.
///
/// The envelope's bytes are not kept beside it: an envelope is only ever accepted in its
/// canonical encoding ([`OpError::NonCanonical`] otherwise), so encoding the decoded envelope
/// gives back exactly the bytes that arrived and were signed, and
/// [`Op::envelope_bytes`] does that. (Keeping both cost a hundred bytes an op.) The op's
/// [`Op::digest`] is computed once, when the op is made and its bytes are at hand, and kept:
/// every replica needs it for its state hash, and encoding the envelope again for it on
/// every apply cost a fifth of the apply's instructions.
#[derive(Clone, PartialEq, Eq)]
pub struct Op {
    envelope: Envelope,
    /// The length of the envelope's encoding (at most [`MAX_ENVELOPE`]), known when the op
    /// is made.
    envelope_len: u16,
    payload_hash: [u8; 32],
    digest: [u8; 32],
    payload: Option<Payload>,
}

impl fmt::Debug for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Op")
            .field("id", &self.id())
            .field("action", &self.envelope.action)
            .field("kind", &self.envelope.kind)
            .field("field", &self.envelope.field)
            .field("payload", &self.payload)
            .finish()
    }
}

fn check_envelope(e: &Envelope) -> Result<(), OpError> {
    if e.seq == 0 {
        return Err(OpError::ZeroSeq);
    }
    if e.supersedes.len() > MAX_SUPERSEDES {
        return Err(OpError::TooManySupersedes {
            count: e.supersedes.len(),
            max: MAX_SUPERSEDES,
        });
    }
    if e.persons.len() > MAX_PERSONS {
        return Err(OpError::TooManyPersons {
            count: e.persons.len(),
            max: MAX_PERSONS,
        });
    }
    if e.supersedes.contains(&e.id()) {
        return Err(OpError::SelfSupersede);
    }
    Ok(())
}

impl Op {
    /// Makes an op: encodes the envelope canonically and hashes the payload.
    ///
    /// # Errors
    /// When the envelope or payload breaks a limit.
    pub fn new(envelope: Envelope, payload: Payload) -> Result<Op, OpError> {
        check_envelope(&envelope)?;
        if payload.bytes.len() > MAX_PAYLOAD {
            return Err(OpError::PayloadTooLarge {
                len: payload.bytes.len(),
                max: MAX_PAYLOAD,
            });
        }
        let payload_hash = payload.hash();
        let bytes = encode_envelope(&envelope)?;
        let digest = digest_of(&bytes, &payload_hash);
        Ok(Op {
            envelope,
            envelope_len: bytes.len() as u16,
            payload_hash,
            digest,
            payload: Some(payload),
        })
    }

    /// An op held without its payload, from its envelope and the payload's hash (what a
    /// snapshot or a peer without the read grant holds). The envelope is encoded here, so
    /// it is canonical by construction.
    ///
    /// # Errors
    /// When the envelope breaks a limit.
    pub fn withheld_from(envelope: Envelope, payload_hash: [u8; 32]) -> Result<Op, OpError> {
        check_envelope(&envelope)?;
        let bytes = encode_envelope(&envelope)?;
        let digest = digest_of(&bytes, &payload_hash);
        Ok(Op {
            envelope,
            envelope_len: bytes.len() as u16,
            payload_hash,
            digest,
            payload: None,
        })
    }

    /// An op from what arrived: the envelope bytes, the payload hash, and the payload if it
    /// came. The bytes are kept exactly as given.
    ///
    /// # Errors
    /// When the envelope does not decode, is not canonical, breaks a limit, or the payload
    /// does not match its hash. Nothing is allocated beyond a small multiple of the input.
    pub fn from_parts(
        envelope_bytes: &[u8],
        payload_hash: [u8; 32],
        payload: Option<Payload>,
    ) -> Result<Op, OpError> {
        if let Some(p) = &payload {
            check_payload(p)?;
            if p.hash() != payload_hash {
                return Err(OpError::PayloadMismatch);
            }
        }
        Op::from_envelope(envelope_bytes, payload_hash, payload)
    }

    /// An op from an envelope as it arrived and its payload: [`Op::from_parts`] where the
    /// payload hash is the payload's own (so it is computed once, not computed and checked).
    ///
    /// # Errors
    /// When the envelope does not decode, is not canonical, or breaks a limit, or the payload
    /// is over [`MAX_PAYLOAD`].
    pub fn with_payload(envelope_bytes: &[u8], payload: Payload) -> Result<Op, OpError> {
        check_payload(&payload)?;
        let hash = payload.hash();
        Op::from_envelope(envelope_bytes, hash, Some(payload))
    }

    /// The envelope's checks: size, decoding, limits, canonical form.
    fn from_envelope(
        envelope_bytes: &[u8],
        payload_hash: [u8; 32],
        payload: Option<Payload>,
    ) -> Result<Op, OpError> {
        if envelope_bytes.len() > MAX_ENVELOPE {
            return Err(OpError::EnvelopeTooLarge {
                len: envelope_bytes.len(),
                max: MAX_ENVELOPE,
            });
        }
        let (envelope, rest): (Envelope, _) =
            postcard::take_from_bytes(envelope_bytes).map_err(OpError::Envelope)?;
        if !rest.is_empty() {
            return Err(OpError::TrailingBytes(rest.len()));
        }
        check_envelope(&envelope)?;
        // Canonical: encoding the decoded envelope gives the same bytes.
        if !encodes_to(&envelope, envelope_bytes).map_err(OpError::Envelope)? {
            return Err(OpError::NonCanonical);
        }
        Ok(Op {
            envelope,
            // Within MAX_ENVELOPE, checked above.
            envelope_len: envelope_bytes.len() as u16,
            payload_hash,
            digest: digest_of(envelope_bytes, &payload_hash),
            payload,
        })
    }

    /// An op from the parts a state kept of it ([`crate::stored::Stored`]), which made
    /// them from an op: nothing is checked or hashed again.
    pub(crate) fn from_stored(
        envelope: Envelope,
        envelope_len: u16,
        payload_hash: [u8; 32],
        digest: [u8; 32],
        payload: Option<Payload>,
    ) -> Op {
        Op {
            envelope,
            envelope_len,
            payload_hash,
            digest,
            payload,
        }
    }

    /// The op's id.
    #[must_use]
    pub fn id(&self) -> OpId {
        self.envelope.id()
    }
    /// The decoded envelope.
    #[must_use]
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }
    /// The envelope exactly as received (what the origin signed): its canonical encoding,
    /// made again from the decoded envelope (see [`Op`]).
    #[must_use]
    pub fn envelope_bytes(&self) -> Vec<u8> {
        // Checked when the op was made: the envelope encodes, in `envelope_len` bytes.
        postcard::serialize_with_flavor(
            &self.envelope,
            Grow(Vec::with_capacity(self.envelope_len())),
        )
        .unwrap_or_default()
    }
    /// Whether the envelope's bytes are exactly `bytes` (compared as they are encoded,
    /// without a buffer).
    #[must_use]
    pub(crate) fn envelope_is(&self, bytes: &[u8]) -> bool {
        encodes_to(&self.envelope, bytes).unwrap_or(false)
    }
    /// The length of [`Op::envelope_bytes`], known since the op was made.
    #[must_use]
    pub fn envelope_len(&self) -> usize {
        usize::from(self.envelope_len)
    }
    /// Writes the envelope's bytes (as [`Op::envelope_bytes`]) into `out`, returning how
    /// many; `None` if `out` is too short.
    #[must_use]
    pub fn write_envelope(&self, out: &mut [u8]) -> Option<usize> {
        postcard::to_slice(&self.envelope, out)
            .ok()
            .map(|b| b.len())
    }
    /// The salted payload hash.
    #[must_use]
    pub fn payload_hash(&self) -> [u8; 32] {
        self.payload_hash
    }
    /// The payload, where held.
    #[must_use]
    pub fn payload(&self) -> Option<&Payload> {
        self.payload.as_ref()
    }

    /// The op without its payload: what a peer without read access to its tier receives.
    #[must_use]
    pub fn withheld(&self) -> Op {
        Op {
            payload: None,
            ..self.clone()
        }
    }

    /// Destroys the payload (erasure).
    pub(crate) fn drop_payload(&mut self) {
        self.payload = None;
    }

    /// Adds a payload that arrived later (a grant was widened), if it matches.
    pub(crate) fn fill_payload(&mut self, payload: Payload) -> bool {
        if self.payload.is_none() && payload.hash() == self.payload_hash {
            self.payload = Some(payload);
            true
        } else {
            false
        }
    }

    /// The digest that identifies the op in state hashes: over the envelope bytes and the
    /// payload hash, so it survives erasure and withholding.
    #[must_use]
    pub fn digest(&self) -> [u8; 32] {
        self.digest
    }
}

/// The op digest: BLAKE3 (derive-key mode) over the envelope's length, its bytes and the
/// payload hash.
fn digest_of(envelope: &[u8], payload_hash: &[u8; 32]) -> [u8; 32] {
    use blake3::hazmat::HasherExt as _;
    let mut h = blake3::Hasher::new_from_context_key(&OP_DIGEST_CONTEXT_KEY);
    let len = (envelope.len() as u32).to_le_bytes();
    // Envelopes are small: one update of the three parts is cheaper than three.
    let n = len.len() + envelope.len() + payload_hash.len();
    if n <= DIGEST_BUFFER {
        let mut buf = [0u8; DIGEST_BUFFER];
        buf[..4].copy_from_slice(&len);
        buf[4..4 + envelope.len()].copy_from_slice(envelope);
        buf[4 + envelope.len()..n].copy_from_slice(payload_hash);
        h.update(&buf[..n]);
    } else {
        h.update(&len);
        h.update(envelope);
        h.update(payload_hash);
    }
    *h.finalize().as_bytes()
}

/// Digest input up to this size is hashed in one update.
const DIGEST_BUFFER: usize = 256;

/// The op digest's BLAKE3 key-derivation context.
#[cfg(test)]
const OP_DIGEST_CONTEXT: &str = "kenesh 2026 op v1";
/// The BLAKE3 context key of `OP_DIGEST_CONTEXT` (`blake3::hazmat::hash_derive_key_context`),
/// written out rather than derived on every digest: hashing the context string was a third
/// of the digest's cost. `tests::op_digest_context_key` checks it.
const OP_DIGEST_CONTEXT_KEY: blake3::hazmat::ContextKey = [
    0x41, 0x4f, 0x8e, 0xfa, 0x7c, 0x91, 0x89, 0xee, 0xe7, 0x47, 0xfa, 0x1a, 0x40, 0xd7, 0xf8, 0x3d,
    0x9c, 0xa2, 0xc3, 0xf1, 0xa7, 0xb1, 0x56, 0x67, 0xd3, 0xfc, 0xa1, 0xe5, 0x8b, 0x37, 0x29, 0x70,
];

/// The payload hash's BLAKE3 key-derivation context.
#[cfg(test)]
const PAYLOAD_CONTEXT: &str = "kenesh 2026 payload v1";
/// The BLAKE3 context key of `PAYLOAD_CONTEXT`, written out for the same reason as
/// [`OP_DIGEST_CONTEXT_KEY`]; `tests::payload_context_key` checks it.
const PAYLOAD_CONTEXT_KEY: blake3::hazmat::ContextKey = [
    0xda, 0x03, 0x11, 0x5a, 0xf8, 0x67, 0x1b, 0x57, 0x82, 0x85, 0x32, 0xb5, 0xf8, 0x24, 0x3f, 0xc1,
    0xc4, 0x1b, 0xf9, 0xca, 0xc1, 0xcf, 0xf0, 0xff, 0x1b, 0xb4, 0x0a, 0xef, 0x70, 0xc8, 0x05, 0x84,
];

/// An envelope's postcard bytes, in a buffer sized for a typical envelope, checked against
/// [`MAX_ENVELOPE`].
fn encode_envelope(envelope: &Envelope) -> Result<Vec<u8>, OpError> {
    let bytes =
        postcard::serialize_with_flavor(envelope, Grow(Vec::with_capacity(ENVELOPE_CAPACITY)))
            .map_err(OpError::Envelope)?;
    if bytes.len() > MAX_ENVELOPE {
        return Err(OpError::EnvelopeTooLarge {
            len: bytes.len(),
            max: MAX_ENVELOPE,
        });
    }
    Ok(bytes)
}

/// The first allocation for an encoded envelope: most are 50–120 bytes.
const ENVELOPE_CAPACITY: usize = 128;

/// A postcard output into a `Vec` given with its capacity.
struct Grow(Vec<u8>);

impl postcard::ser_flavors::Flavor for Grow {
    type Output = Vec<u8>;

    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        self.0.extend_from_slice(data);
        Ok(())
    }

    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        self.0.push(data);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<Vec<u8>> {
        Ok(self.0)
    }
}

fn check_payload(p: &Payload) -> Result<(), OpError> {
    if p.bytes.len() > MAX_PAYLOAD {
        return Err(OpError::PayloadTooLarge {
            len: p.bytes.len(),
            max: MAX_PAYLOAD,
        });
    }
    Ok(())
}

/// Whether `envelope` encodes to exactly `expected`, compared as it is encoded.
fn encodes_to(envelope: &Envelope, expected: &[u8]) -> postcard::Result<bool> {
    postcard::serialize_with_flavor(envelope, Compare { expected, at: 0 })
}

/// A postcard output that compares what is encoded with the bytes expected, byte by byte;
/// resolves to whether they were equal to the end.
struct Compare<'a> {
    expected: &'a [u8],
    at: usize,
}

impl postcard::ser_flavors::Flavor for Compare<'_> {
    type Output = bool;

    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        let end = self.at.saturating_add(data.len());
        if self.expected.get(self.at..end) == Some(data) {
            self.at = end;
        } else {
            // Off the expected bytes: count past the end so the result is false.
            self.at = usize::MAX;
        }
        Ok(())
    }

    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        self.try_extend(&[data])
    }

    fn finalize(self) -> postcard::Result<bool> {
        Ok(self.at == self.expected.len())
    }
}

/// Saved as (envelope bytes, payload hash, payload); loading checks everything again.
impl Serialize for Op {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (
            serde_bytes::Bytes::new(&self.envelope_bytes()),
            &self.payload_hash,
            &self.payload,
        )
            .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Op {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Op, D::Error> {
        let (envelope, payload_hash, payload) =
            <(serde_bytes::ByteBuf, [u8; 32], Option<Payload>)>::deserialize(d)?;
        Op::from_parts(&envelope, payload_hash, payload).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The precomputed context key is the one `new_derive_key` derives, so digests are
    /// unchanged.
    #[test]
    fn op_digest_context_key() {
        assert_eq!(
            blake3::hazmat::hash_derive_key_context(OP_DIGEST_CONTEXT),
            OP_DIGEST_CONTEXT_KEY
        );
        let mut h = blake3::Hasher::new_derive_key(OP_DIGEST_CONTEXT);
        h.update(b"bytes");
        let mut k = <blake3::Hasher as blake3::hazmat::HasherExt>::new_from_context_key(
            &OP_DIGEST_CONTEXT_KEY,
        );
        k.update(b"bytes");
        assert_eq!(h.finalize(), k.finalize());
    }

    /// The payload hash's precomputed context key is the one `new_derive_key` derives.
    #[test]
    fn payload_context_key() {
        assert_eq!(
            blake3::hazmat::hash_derive_key_context(PAYLOAD_CONTEXT),
            PAYLOAD_CONTEXT_KEY
        );
        for len in [0, 10, DIGEST_BUFFER - 16, DIGEST_BUFFER - 15, 2000] {
            let p = Payload {
                salt: [7; 16],
                bytes: alloc::vec![3; len],
            };
            let mut h = blake3::Hasher::new_derive_key(PAYLOAD_CONTEXT);
            h.update(&p.salt);
            h.update(&p.bytes);
            assert_eq!(p.hash(), *h.finalize().as_bytes(), "{len}");
        }
    }

    /// The digest is BLAKE3 in derive-key mode over the envelope length, the envelope and
    /// the payload hash, for envelopes that fit the one-update buffer and for larger ones.
    #[test]
    fn digest_of_small_and_large_envelopes() {
        use kenesh_model::schema::EntityKind;
        let mut b = crate::OpBuilder::new(1);
        let small = b.set(EntityKind::Issue, Id::from_u128(7), 1, alloc::vec![1], &[]);
        let persons: Vec<PersonId> = (0..MAX_PERSONS as u128)
            .map(|i| PersonId(Id::from_u128(i)))
            .collect();
        let large = b.persons(&persons).set(
            EntityKind::Issue,
            Id::from_u128(7),
            1,
            alloc::vec![2],
            &[OpId::new(1, 1)],
        );
        let (small, large) = (small.unwrap(), large.unwrap());
        assert!(small.envelope_bytes().len() + 36 <= DIGEST_BUFFER);
        assert!(large.envelope_bytes().len() + 36 > DIGEST_BUFFER);
        for op in [small, large] {
            let mut h = blake3::Hasher::new_derive_key(OP_DIGEST_CONTEXT);
            h.update(&(op.envelope_bytes().len() as u32).to_le_bytes());
            h.update(&op.envelope_bytes());
            h.update(&op.payload_hash());
            assert_eq!(op.digest(), *h.finalize().as_bytes());
            assert_eq!(op.envelope_len(), op.envelope_bytes().len());
        }
    }
}
