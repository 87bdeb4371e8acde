//! An op as the state holds it: one allocation of bytes rather than a decoded [`Op`].
//!
//! A decoded op is 216 bytes before its vectors (supersedes, persons, payload), each a
//! separate allocation; a replica holds hundreds of thousands. The state keeps each op as
//! the bytes it is made of, in one boxed slice, and decodes it when it is needed again (a
//! record rebuilt, an op served or read). The merge itself works on the decoded op it was
//! given, so applying an op decodes nothing again.
//!
//! Layout (fixed header, then the variable parts):
//!
//! | bytes | what |
//! |---|---|
//! | 32 | the op's digest |
//! | 1 | flags: bit 0 the payload is held, bit 1 the envelope names persons, bit 2 it is a create |
//! | 2 | the envelope's length, little-endian |
//! | n | the envelope, canonical postcard (exactly the bytes that were signed) |
//! | 16 + m | where the payload is held: the commit salt, then the payload bytes |
//! | 32 | where it is not: the salted payload hash |
//!
//! The payload hash of a held payload is not kept: it is the payload's own, computed again
//! when the op is decoded (a rebuild, an op served), which is rare beside applying.
//!
//! The bytes only ever come from [`Stored::new`] in this process; every accessor checks
//! lengths anyway, so damaged bytes never panic (a cut envelope decodes to `None`; a cut
//! payload or hash to an op other than the one stored).

use alloc::boxed::Box;
use alloc::vec::Vec;

use crate::op::{Action, Envelope, Op, Payload};

const DIGEST: usize = 0;
const FLAGS: usize = 32;
const LEN: usize = 33;
const ENVELOPE: usize = 35;

const HELD: u8 = 1;
const PERSONS: u8 = 2;
const CREATE: u8 = 4;

/// Which of a create's values of a field.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Which {
    /// The last (a register's: a later value of the field overwrote an earlier one).
    Last,
    /// The `n`th, from 0 (a log's entries, in payload order).
    Nth(u32),
}

/// A create's payload, its values borrowed: the bytes of a [`crate::CreatePayload`].
#[derive(serde::Deserialize)]
struct CreateValues<'a> {
    #[serde(borrow)]
    fields: Vec<(u16, &'a [u8])>,
}

/// One op's bytes: see the module's documentation.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Stored(Box<[u8]>);

impl core::fmt::Debug for Stored {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Stored")
            .field("len", &self.0.len())
            .field("held", &self.payload_held())
            .finish()
    }
}

/// Encoded as the op it holds, so a saved state reads the same as when the state held
/// decoded ops.
impl serde::Serialize for Stored {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.op()
            .ok_or_else(|| serde::ser::Error::custom("a held op's bytes are damaged"))?
            .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Stored {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Stored, D::Error> {
        Op::deserialize(d).map(|op| Stored::new(&op))
    }
}

impl Stored {
    /// The op's bytes, the envelope encoded once into an allocation of the exact size.
    pub(crate) fn new(op: &Op) -> Stored {
        let envelope_len = op.envelope_len();
        let payload = op.payload();
        let len = ENVELOPE + envelope_len + payload.map_or(32, |p| 16 + p.bytes.len());
        let mut b = Vec::with_capacity(len);
        b.extend_from_slice(&op.digest());
        let mut flags = 0;
        if payload.is_some() {
            flags |= HELD;
        }
        if !op.envelope().persons.is_empty() {
            flags |= PERSONS;
        }
        if op.envelope().action == Action::CREATE {
            flags |= CREATE;
        }
        b.push(flags);
        // Within MAX_ENVELOPE (2,048), checked when the op was made.
        b.extend_from_slice(&(envelope_len as u16).to_le_bytes());
        b.resize(ENVELOPE + envelope_len, 0);
        let written = op.write_envelope(&mut b[ENVELOPE..]);
        debug_assert_eq!(written, Some(envelope_len));
        match payload {
            Some(p) => {
                b.extend_from_slice(&p.salt);
                b.extend_from_slice(&p.bytes);
            }
            None => b.extend_from_slice(&op.payload_hash()),
        }
        Stored(b.into_boxed_slice())
    }

    /// The op's digest.
    pub(crate) fn digest(&self) -> [u8; 32] {
        self.array(DIGEST)
    }

    /// The salted payload hash: kept where the payload is not held, else computed.
    pub(crate) fn payload_hash(&self) -> [u8; 32] {
        match self.payload() {
            Some(p) => p.hash(),
            None => self.array(ENVELOPE + self.envelope_bytes().len()),
        }
    }

    /// The payload, where held.
    fn payload(&self) -> Option<Payload> {
        let (salt, bytes) = self.payload_parts()?;
        Some(Payload {
            salt: salt.try_into().ok()?,
            bytes: bytes.to_vec(),
        })
    }

    /// Whether the flag `bit` is set.
    fn flag(&self, bit: u8) -> bool {
        self.0.get(FLAGS).is_some_and(|f| f & bit != 0)
    }

    /// Whether the payload is held.
    pub(crate) fn payload_held(&self) -> bool {
        self.flag(HELD)
    }

    /// Whether the envelope names persons (so an erasure may reach the payload).
    pub(crate) fn names_persons(&self) -> bool {
        self.flag(PERSONS)
    }

    /// The envelope's bytes, exactly as signed.
    pub(crate) fn envelope_bytes(&self) -> &[u8] {
        let len = self
            .0
            .get(LEN..ENVELOPE)
            .map_or(0, |l| usize::from(u16::from_le_bytes([l[0], l[1]])));
        self.0.get(ENVELOPE..ENVELOPE + len).unwrap_or(&[])
    }

    /// The value this op wrote into `field`, where its payload is held: a create's value
    /// of the field (`which` of them), any other op's payload itself.
    pub(crate) fn value(&self, field: u16, which: Which) -> Option<Vec<u8>> {
        let (_, bytes) = self.payload_parts()?;
        if !self.flag(CREATE) {
            return Some(bytes.to_vec());
        }
        let values = postcard::from_bytes::<CreateValues<'_>>(bytes).ok()?;
        let mut of_field = values.fields.iter().filter(|(f, _)| *f == field);
        let value = match which {
            Which::Last => of_field.next_back(),
            Which::Nth(n) => of_field.nth(n as usize),
        };
        value.map(|(_, v)| v.to_vec())
    }

    /// The payload's salt and bytes, where held.
    pub(crate) fn payload_parts(&self) -> Option<(&[u8], &[u8])> {
        if !self.payload_held() {
            return None;
        }
        let rest = self.0.get(ENVELOPE + self.envelope_bytes().len()..)?;
        (rest.len() >= 16).then(|| rest.split_at(16))
    }

    /// The decoded envelope; `None` only if the bytes were damaged.
    pub(crate) fn envelope(&self) -> Option<Envelope> {
        postcard::from_bytes(self.envelope_bytes()).ok()
    }

    /// The op again.
    pub(crate) fn op(&self) -> Option<Op> {
        let envelope = self.envelope()?;
        let (payload_hash, payload) = match self.payload() {
            Some(p) => (p.hash(), Some(p)),
            None if self.payload_held() => return None,
            None => (self.payload_hash(), None),
        };
        Some(Op::from_stored(
            envelope,
            self.envelope_bytes().len() as u16,
            payload_hash,
            self.digest(),
            payload,
        ))
    }

    /// The same op without its payload (erasure).
    pub(crate) fn without_payload(&self) -> Stored {
        let end = (ENVELOPE + self.envelope_bytes().len()).min(self.0.len());
        let hash = self.payload_hash();
        let mut b = Vec::with_capacity(end + 32);
        b.extend_from_slice(&self.0[..end]);
        if let Some(f) = b.get_mut(FLAGS) {
            *f &= !HELD;
        }
        b.extend_from_slice(&hash);
        Stored(b.into_boxed_slice())
    }

    /// The same op with a payload that arrived later, if it matches the hash.
    pub(crate) fn with_payload(&self, payload: &Payload) -> Option<Stored> {
        if self.payload_held() || payload.hash() != self.payload_hash() {
            return None;
        }
        // The payload takes the place of its hash.
        let end = ENVELOPE + self.envelope_bytes().len();
        let head = self.0.get(..end)?;
        let mut b = Vec::with_capacity(end + 16 + payload.bytes.len());
        b.extend_from_slice(head);
        b[FLAGS] |= HELD;
        b.extend_from_slice(&payload.salt);
        b.extend_from_slice(&payload.bytes);
        Some(Stored(b.into_boxed_slice()))
    }

    /// How many bytes it holds on the heap.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    fn array(&self, at: usize) -> [u8; 32] {
        let mut out = [0; 32];
        if let Some(b) = self.0.get(at..at + 32) {
            out.copy_from_slice(b);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OpBuilder;
    use kenesh_model::schema::EntityKind;
    use kenesh_model::{Id, PersonId};

    /// Every op comes back equal, with and without payload, persons and supersedes, and
    /// the payload goes and comes back.
    #[test]
    fn round_trip() {
        let mut b = OpBuilder::new(3);
        let id = Id::from_u128(9);
        let create = b
            .create(EntityKind::Issue, id, alloc::vec![(1, b"t".to_vec())])
            .unwrap();
        let persons = [PersonId(Id::from_u128(1)), PersonId(Id::from_u128(2))];
        let set = b
            .persons(&persons)
            .set(
                EntityKind::Issue,
                id,
                1,
                alloc::vec![7; 300],
                &[create.id()],
            )
            .unwrap();
        for op in [create, set.clone(), set.withheld()] {
            let s = Stored::new(&op);
            assert_eq!(s.op().unwrap(), op);
            assert_eq!(s.digest(), op.digest());
            assert_eq!(s.payload_hash(), op.payload_hash());
            assert_eq!(s.envelope_bytes(), &op.envelope_bytes()[..]);
            assert_eq!(s.payload_held(), op.payload().is_some());
            assert_eq!(s.names_persons(), !op.envelope().persons.is_empty());
            assert_eq!(
                s.len(),
                35 + op.envelope_len() + op.payload().map_or(32, |p| 16 + p.bytes.len())
            );
            let bare = s.without_payload();
            assert_eq!(bare.op().unwrap(), op.withheld());
            assert_eq!(bare, Stored::new(&op.withheld()));
            if let Some(p) = op.payload() {
                assert_eq!(bare.with_payload(p).unwrap(), s);
                assert!(s.with_payload(p).is_none(), "already held");
                let other = Payload {
                    salt: p.salt,
                    bytes: b"other".to_vec(),
                };
                assert!(bare.with_payload(&other).is_none(), "hash checked");
            }
        }
    }

    /// A create's values come from its payload by field (the last for a register, by
    /// position for a log); another op's value is its payload; none where withheld.
    #[test]
    fn values() {
        let mut b = OpBuilder::new(3);
        let id = Id::from_u128(9);
        let create = b
            .create(
                EntityKind::Issue,
                id,
                alloc::vec![(1, b"a".to_vec()), (2, b"x".to_vec()), (1, b"b".to_vec())],
            )
            .unwrap();
        let s = Stored::new(&create);
        assert_eq!(s.value(1, Which::Last), Some(b"b".to_vec()));
        assert_eq!(s.value(1, Which::Nth(0)), Some(b"a".to_vec()));
        assert_eq!(s.value(1, Which::Nth(1)), Some(b"b".to_vec()));
        assert_eq!(s.value(1, Which::Nth(2)), None);
        assert_eq!(s.value(2, Which::Last), Some(b"x".to_vec()));
        assert_eq!(s.value(3, Which::Last), None);
        assert_eq!(s.without_payload().value(1, Which::Last), None);
        let set = b
            .set(EntityKind::Issue, id, 1, b"new".to_vec(), &[create.id()])
            .unwrap();
        let s = Stored::new(&set);
        assert_eq!(s.value(1, Which::Last), Some(b"new".to_vec()));
        assert_eq!(s.without_payload().value(1, Which::Last), None);
    }

    /// Cut bytes never panic and never decode to the op stored: with the envelope cut,
    /// to nothing; with the payload or its hash cut, to another op.
    #[test]
    fn cut_bytes_never_decode_to_the_op() {
        let op = OpBuilder::new(3)
            .set(EntityKind::Issue, Id::from_u128(9), 1, alloc::vec![7], &[])
            .unwrap();
        for op in [op.clone(), op.withheld()] {
            let s = Stored::new(&op);
            let envelope_end = ENVELOPE + op.envelope_len();
            for cut in 0..s.0.len() {
                let d = Stored(s.0[..cut].to_vec().into_boxed_slice());
                let _ = (d.digest(), d.payload_held(), d.envelope_bytes());
                let _ = (d.without_payload(), d.names_persons(), d.payload_hash());
                let _ = (d.value(1, Which::Last), d.value(1, Which::Nth(1)));
                let back = d.op();
                assert_ne!(back.as_ref(), Some(&op), "cut at {cut}");
                if cut < envelope_end {
                    assert_eq!(back, None, "cut at {cut}");
                }
            }
            assert_eq!(s.op(), Some(op));
        }
    }
}
