//! Crypto-shredding: per-person payload keys, held apart from the op store.
//!
//! The op log keeps every commit as the bytes received (signatures stay verifiable), and a
//! copy-on-write file (redb) or a database's WAL keeps old pages: deleting a payload from
//! them is not erasure. So the personal and sensitive payloads of a person are **sealed**
//! with keys of that person, and an erasure destroys the keys.
//!
//! - A key belongs to one person, one tier (personal or sensitive) and one **origin**, the
//!   device that made it ([`KeyId`]). A device seals only with keys it made itself, so it
//!   can write about a person it may not read (a kiosk's legal-aid intake), and no device
//!   can replace another's key.
//! - An op of tier personal or sensitive that names persons has each of its values sealed
//!   ([`sealed`]; workflow state codes stay in the clear: the merge replays them). The
//!   value's key is derived from the keys of **every** person the op names, at the op's tier
//!   and origin ([`op_key`]): erasing any one of them makes the value unreadable.
//! - A sealed value is `1 ‖ siv (16) ‖ XChaCha20-Poly1305 ciphertext and tag`, with the
//!   record's kind, id and field as associated data (a value cannot be moved to another
//!   field or record). The nonce is synthetic (SIV): a keyed BLAKE3 hash of the associated
//!   data and the value, so no randomness is needed to seal and a repeated nonce can only
//!   come from a repeated value. [`SEALED_OVERHEAD`] bytes per value.
//! - Keys travel in `Keys` messages beside the commits they open, and live in a
//!   [`KeyStore`] apart from the op store; the key store overwrites what it destroys.

use std::collections::BTreeMap;

use chacha20poly1305::aead::{Aead, KeyInit, Payload as AeadPayload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use kenesh_merge::{Action, CreatePayload, Envelope, Op};
use kenesh_model::schema::{self, EntityKind, FieldKind};
use kenesh_model::{Id, PersonId, Tier};
use zeroize::Zeroizing;

use crate::StoreError;

/// The length of a payload key.
pub const KEY_LEN: usize = 32;

/// The version byte of a sealed value.
pub const SEAL_VERSION: u8 = 1;

/// The bytes sealing adds to a value: version (1), synthetic nonce (16), tag (16).
pub const SEALED_OVERHEAD: usize = 1 + 16 + 16;

const KEY_CONTEXT: &str = "kenesh 2026-11 payload key v1";

/// A payload key, wiped from memory when dropped.
pub type PayloadKey = Zeroizing<[u8; KEY_LEN]>;

/// Which key: the person's, at a tier, made by a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId {
    /// The person.
    pub person: PersonId,
    /// Personal or sensitive.
    pub tier: Tier,
    /// The device that made the key and seals with it.
    pub origin: u32,
}

impl KeyId {
    /// The tier's wire code (1 personal, 2 sensitive; public has no keys).
    #[must_use]
    pub fn tier_code(&self) -> u8 {
        match self.tier {
            Tier::Public => 0,
            Tier::Personal => 1,
            Tier::Sensitive => 2,
        }
    }

    /// The tier for a wire code.
    #[must_use]
    pub fn tier_of(code: u8) -> Option<Tier> {
        match code {
            1 => Some(Tier::Personal),
            2 => Some(Tier::Sensitive),
            _ => None,
        }
    }
}

/// Why a sealed value did not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A key it needs is not held here: never received, purged, or shredded by an erasure.
    #[error("the payload key of person {:?} (tier {:?}, origin {}) is not held", .0.person, .0.tier, .0.origin)]
    Missing(KeyId),
    /// Not a sealed value of a version this build knows.
    #[error("not a sealed value")]
    Malformed,
    /// The ciphertext, its place or its key does not match: tampered with, or moved.
    #[error("the sealed value does not authenticate")]
    Forged,
    /// A person it names was erased: nothing is sealed for them any more.
    #[error("person {0:?} was erased")]
    Erased(PersonId),
    /// This device sealed with that key before and no longer holds it (a public kiosk
    /// purged it): a new key under the same id would never reach anyone (the server keeps
    /// the first), so nothing more is sealed with it. Write about a new person record.
    #[error("the key of person {:?} (tier {:?}) was purged here", .0.person, .0.tier)]
    Purged(KeyId),
}

/// Where a replica keeps payload keys, apart from its op store.
///
/// Puts and removals are staged until [`KeyStore::sync`]; a replica syncs its keys before
/// its ops, so no durable op is ever sealed with a key that is not durable. A removal must
/// destroy the key's bytes (overwrite them), not just forget where they are.
pub trait KeyStore: Send {
    /// The key, if held.
    fn get(&self, id: &KeyId) -> Option<PayloadKey>;

    /// Keeps a key unless one is held for `id` already (the first key stays: another device
    /// can never replace it). Returns whether it was kept.
    ///
    /// # Errors
    /// When the store failed.
    fn put(&mut self, id: KeyId, key: &[u8; KEY_LEN]) -> Result<bool, StoreError>;

    /// Destroys one key (a public kiosk purging what the server holds). Returns whether it
    /// was held.
    ///
    /// # Errors
    /// When the store failed.
    fn remove(&mut self, id: &KeyId) -> Result<bool, StoreError>;

    /// Destroys every key of a person (an erasure). Returns how many.
    ///
    /// # Errors
    /// When the store failed.
    fn shred(&mut self, person: PersonId) -> Result<usize, StoreError>;

    /// Every key id held, in order.
    fn ids(&self) -> Vec<KeyId>;

    /// Makes every staged put and removal durable.
    ///
    /// # Errors
    /// When the disk failed.
    fn sync(&mut self) -> Result<(), StoreError>;
}

/// Keys in memory (wiped when removed or dropped): for tests and short-lived replicas.
#[derive(Debug, Default)]
pub struct MemKeys {
    keys: BTreeMap<KeyId, PayloadKey>,
}

impl MemKeys {
    /// No keys.
    #[must_use]
    pub fn new() -> MemKeys {
        MemKeys::default()
    }
}

impl KeyStore for MemKeys {
    fn get(&self, id: &KeyId) -> Option<PayloadKey> {
        self.keys.get(id).cloned()
    }

    fn put(&mut self, id: KeyId, key: &[u8; KEY_LEN]) -> Result<bool, StoreError> {
        if id.tier == Tier::Public || self.keys.contains_key(&id) {
            return Ok(false);
        }
        self.keys.insert(id, Zeroizing::new(*key));
        Ok(true)
    }

    fn remove(&mut self, id: &KeyId) -> Result<bool, StoreError> {
        Ok(self.keys.remove(id).is_some())
    }

    fn shred(&mut self, person: PersonId) -> Result<usize, StoreError> {
        let ids: Vec<KeyId> = self
            .keys
            .keys()
            .filter(|k| k.person == person)
            .copied()
            .collect();
        for id in &ids {
            self.keys.remove(id);
        }
        Ok(ids.len())
    }

    fn ids(&self) -> Vec<KeyId> {
        self.keys.keys().copied().collect()
    }

    fn sync(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Whether `value`, of field `field` in an op of this kind and tier naming these persons, is
/// sealed: tier personal or sensitive, at least one person, not a workflow (the merge
/// replays state codes), and not a bare reference to one of the persons the envelope names
/// (a supporter, a member, an attendee): the envelope carries that id in the clear, so
/// sealing it would hide nothing and cost a key per person. A sealed value is at least
/// [`SEALED_OVERHEAD`] bytes, longer than a person id, so the two cannot be confused.
#[must_use]
pub fn sealed(kind: u16, field: u16, tier: Tier, persons: &[PersonId], value: &[u8]) -> bool {
    if tier == Tier::Public || persons.is_empty() {
        return false;
    }
    let workflow = EntityKind::from_code(kind)
        .and_then(|k| schema::entity(k).field(field))
        .is_some_and(|f| matches!(f.kind, FieldKind::Workflow(_)));
    !workflow && !names_a_person(value, persons)
}

/// Whether a value is exactly the encoding of one of `persons` (a person id is 16 bytes).
fn names_a_person(value: &[u8], persons: &[PersonId]) -> bool {
    value.len() == 16 && persons.iter().any(|p| p.0.0 == value)
}

/// The keys an op needs: [`key_ids`] of its envelope when one of its values is sealed (or
/// would be, before sealing), none when none is. An op held without its payload is judged
/// by its envelope alone.
#[must_use]
pub fn op_key_ids(op: &Op) -> Vec<KeyId> {
    let e = op.envelope();
    let ids = key_ids(e);
    if ids.is_empty() {
        return ids;
    }
    let Some(payload) = op.payload() else {
        return ids;
    };
    let mut any = false;
    let mapped = map_values(e, &payload.bytes, &mut |field, v| {
        any |= sealed(e.kind, field, e.tier, &e.persons, v);
        Ok(Vec::new())
    });
    match mapped {
        Ok(Some(_)) if !any => Vec::new(),
        Ok(None) => Vec::new(),
        _ => ids,
    }
}

/// The key ids an op's sealed values are derived from, by its envelope: every person it
/// names at its tier and origin (none for a public op, one naming no one, or an erasure).
/// Whether the op needs them is [`op_key_ids`]'s question.
#[must_use]
pub fn key_ids(e: &Envelope) -> Vec<KeyId> {
    if e.tier == Tier::Public || e.persons.is_empty() || e.action == Action::ERASE {
        return Vec::new();
    }
    let mut persons = e.persons.clone();
    persons.sort();
    persons.dedup();
    persons
        .into_iter()
        .map(|person| KeyId {
            person,
            tier: e.tier,
            origin: e.origin.0,
        })
        .collect()
}

/// The key that seals an op's values: derived from the keys of every person it names, at
/// its tier and origin.
///
/// # Errors
/// [`KeyError::Missing`] naming the first key not held.
pub fn op_key(
    e: &Envelope,
    get: &mut dyn FnMut(&KeyId) -> Option<PayloadKey>,
) -> Result<PayloadKey, KeyError> {
    let ids = key_ids(e);
    let mut h = blake3::Hasher::new_derive_key(KEY_CONTEXT);
    h.update(&[ids.first().map_or(0, KeyId::tier_code)]);
    h.update(&e.origin.0.to_le_bytes());
    h.update(&(ids.len() as u32).to_le_bytes());
    for id in &ids {
        let key = get(id).ok_or(KeyError::Missing(*id))?;
        h.update(&id.person.0.0);
        h.update(key.as_ref());
    }
    Ok(Zeroizing::new(*h.finalize().as_bytes()))
}

fn aad(kind: u16, entity: Id, field: u16) -> [u8; 24] {
    let mut a = [0u8; 24];
    a[..4].copy_from_slice(b"ksv1");
    a[4..6].copy_from_slice(&kind.to_le_bytes());
    a[6..22].copy_from_slice(&entity.0);
    a[22..24].copy_from_slice(&field.to_le_bytes());
    a
}

fn subkeys(op_key: &[u8; KEY_LEN]) -> (PayloadKey, PayloadKey) {
    let enc = Zeroizing::new(blake3::keyed_hash(op_key, b"encrypt").into());
    let siv = Zeroizing::new(blake3::keyed_hash(op_key, b"synthetic nonce").into());
    (enc, siv)
}

fn siv_of(siv_key: &[u8; KEY_LEN], aad: &[u8], value: &[u8]) -> [u8; 16] {
    let mut h = blake3::Hasher::new_keyed(siv_key);
    h.update(aad);
    h.update(value);
    let mut out = [0u8; 16];
    out.copy_from_slice(&h.finalize().as_bytes()[..16]);
    out
}

fn nonce(siv: &[u8; 16]) -> XNonce {
    let mut n = [0u8; 24];
    n[..16].copy_from_slice(siv);
    XNonce::from(n)
}

/// Seals one value of field `field` of a record.
#[must_use]
pub fn seal_value(
    op_key: &[u8; KEY_LEN],
    kind: u16,
    entity: Id,
    field: u16,
    value: &[u8],
) -> Vec<u8> {
    let aad = aad(kind, entity, field);
    let (enc, siv_key) = subkeys(op_key);
    let siv = siv_of(&siv_key, &aad, value);
    let cipher = XChaCha20Poly1305::new(enc.as_ref().into());
    // Encryption with a valid key and a value under the op size limit cannot fail.
    let ct = cipher
        .encrypt(
            &nonce(&siv),
            AeadPayload {
                msg: value,
                aad: &aad,
            },
        )
        .unwrap_or_default();
    let mut out = Vec::with_capacity(SEALED_OVERHEAD + value.len());
    out.push(SEAL_VERSION);
    out.extend_from_slice(&siv);
    out.extend_from_slice(&ct);
    out
}

/// Opens one sealed value.
///
/// # Errors
/// [`KeyError::Malformed`] or [`KeyError::Forged`].
pub fn open_value(
    op_key: &[u8; KEY_LEN],
    kind: u16,
    entity: Id,
    field: u16,
    sealed: &[u8],
) -> Result<Vec<u8>, KeyError> {
    if sealed.len() < SEALED_OVERHEAD || sealed[0] != SEAL_VERSION {
        return Err(KeyError::Malformed);
    }
    let siv: [u8; 16] = sealed[1..17].try_into().map_err(|_| KeyError::Malformed)?;
    let aad = aad(kind, entity, field);
    let (enc, siv_key) = subkeys(op_key);
    let cipher = XChaCha20Poly1305::new(enc.as_ref().into());
    let value = cipher
        .decrypt(
            &nonce(&siv),
            AeadPayload {
                msg: &sealed[17..],
                aad: &aad,
            },
        )
        .map_err(|_| KeyError::Forged)?;
    if siv_of(&siv_key, &aad, &value) != siv {
        return Err(KeyError::Forged);
    }
    Ok(value)
}

/// Seals an op's payload where its values must be ([`sealed`]): returns the op remade with
/// the sealed payload (same envelope, so the same id, a new payload hash), or the op as it
/// was when nothing in it is sealed.
///
/// # Errors
/// [`KeyError::Missing`] when a key is not held; [`KeyError::Malformed`] when a create's
/// payload does not decode.
pub fn seal_op(op: Op, get: &mut dyn FnMut(&KeyId) -> Option<PayloadKey>) -> Result<Op, KeyError> {
    let e = op.envelope().clone();
    let Some(payload) = op.payload().cloned() else {
        return Ok(op);
    };
    if op_key_ids(&op).is_empty() {
        return Ok(op);
    }
    let bytes = map_values(&e, &payload.bytes, &mut |field, v| {
        if !sealed(e.kind, field, e.tier, &e.persons, v) {
            return Ok(v.to_vec());
        }
        let key = op_key(&e, get)?;
        Ok(seal_value(&key, e.kind, e.entity, field, v))
    })?;
    let Some(bytes) = bytes else {
        return Ok(op);
    };
    Op::new(
        e,
        kenesh_merge::Payload {
            salt: payload.salt,
            bytes,
        },
    )
    .map_err(|_| KeyError::Malformed)
}

/// A transformation of one value of a field.
type ValueFn<'a> = dyn FnMut(u16, &[u8]) -> Result<Vec<u8>, KeyError> + 'a;

/// Applies `f` to each value an op's payload holds (one for a field write, each field's
/// for a create); `None` when the action carries no values to seal.
fn map_values(
    e: &Envelope,
    bytes: &[u8],
    f: &mut ValueFn<'_>,
) -> Result<Option<Vec<u8>>, KeyError> {
    match e.action {
        Action::CREATE => {
            let create: CreatePayload =
                postcard::from_bytes(bytes).map_err(|_| KeyError::Malformed)?;
            let mut fields = Vec::with_capacity(create.fields.len());
            for (field, v) in create.fields {
                fields.push((field, f(field, &v)?));
            }
            Ok(Some(
                postcard::to_allocvec(&CreatePayload { fields })
                    .map_err(|_| KeyError::Malformed)?,
            ))
        }
        Action::SET | Action::ADD | Action::APPEND => Ok(Some(f(e.field, bytes)?)),
        _ => Ok(None),
    }
}

/// Opens one value read from the merged state: `op` is the op that wrote it (a register's
/// or a log entry's op, a set element's add, the create for initial values), `field` the
/// field it is in. A value that is not sealed comes back as it is.
///
/// # Errors
/// [`KeyError`] when a key is missing or the value does not authenticate.
pub fn open_field(
    e: &Envelope,
    field: u16,
    value: &[u8],
    get: &mut dyn FnMut(&KeyId) -> Option<PayloadKey>,
) -> Result<Vec<u8>, KeyError> {
    if !sealed(e.kind, field, e.tier, &e.persons, value) || e.action == Action::ERASE {
        return Ok(value.to_vec());
    }
    let key = op_key(e, get)?;
    open_value(&key, e.kind, e.entity, field, value)
}

/// Destroys the keys of every person erased in `state` since `shredded` (the erased count
/// when this last ran; idempotent). Shared by the device and the server.
pub(crate) fn shred_erased(
    keys: &mut dyn KeyStore,
    state: &kenesh_merge::State,
    shredded: &mut usize,
) -> Result<(), StoreError> {
    if state.erased_count() == *shredded {
        return Ok(());
    }
    for p in state.erased() {
        keys.shred(p)?;
    }
    *shredded = state.erased_count();
    Ok(())
}

/// Seals `origin`'s own op with its keys (see `Device::seal`), making a key with `fresh_key`
/// for each person it names that has none yet — unless `sealed_before` says that id was
/// used before (then it was purged: [`KeyError::Purged`]). Shared by the device and the
/// server.
pub(crate) fn seal_own(
    keys: &mut dyn KeyStore,
    state: &kenesh_merge::State,
    origin: u32,
    op: Op,
    fresh_key: &mut dyn FnMut() -> [u8; KEY_LEN],
    sealed_before: &dyn Fn(&KeyId) -> bool,
) -> Result<Op, crate::SyncError> {
    use crate::SyncError;
    if op.envelope().origin.0 != origin {
        return Err(SyncError::Commit(crate::commit::CommitError::Misplaced {
            index: 0,
        }));
    }
    for id in op_key_ids(&op) {
        if state.is_erased(id.person) {
            return Err(SyncError::Key(KeyError::Erased(id.person)));
        }
        if keys.get(&id).is_none() {
            if sealed_before(&id) {
                return Err(SyncError::Key(KeyError::Purged(id)));
            }
            keys.put(id, &Zeroizing::new(fresh_key()))?;
        }
    }
    seal_op(op, &mut |id| keys.get(id)).map_err(SyncError::Key)
}

/// Packs key entries for a `Keys` message ([`kenesh_proto::KEY_ENTRY_LEN`] bytes each).
#[must_use]
pub fn pack_entries(keys: &[(KeyId, PayloadKey)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(keys.len() * kenesh_proto::KEY_ENTRY_LEN);
    for (id, key) in keys {
        out.extend_from_slice(&id.person.0.0);
        out.push(id.tier_code());
        out.extend_from_slice(&id.origin.to_le_bytes());
        out.extend_from_slice(key.as_ref());
    }
    out
}

/// The entries of a decoded `Keys` message.
#[must_use]
pub fn unpack_entries(keys: &kenesh_proto::Keys<'_>) -> Vec<(KeyId, PayloadKey)> {
    keys.iter()
        .filter_map(|e| {
            Some((
                KeyId {
                    person: PersonId(Id(e.person)),
                    tier: KeyId::tier_of(e.tier)?,
                    origin: e.origin,
                },
                Zeroizing::new(*e.key),
            ))
        })
        .collect()
}

/// `Keys` frames for these keys, each no larger than `max_frame`.
#[must_use]
pub fn key_frames(keys: &[(KeyId, PayloadKey)], max_frame: usize) -> Vec<Vec<u8>> {
    let per = ((max_frame.saturating_sub(16)) / kenesh_proto::KEY_ENTRY_LEN)
        .clamp(1, kenesh_proto::MAX_KEY_ENTRIES as usize);
    keys.chunks(per)
        .filter_map(|part| {
            let packed = Zeroizing::new(pack_entries(part));
            let k = kenesh_proto::Keys::new(&packed).ok()?;
            kenesh_proto::Message::Keys(k).to_vec().ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kenesh_merge::OpBuilder;

    fn person(n: u128) -> PersonId {
        PersonId(Id::from_u128(n))
    }

    #[test]
    fn a_sealed_value_opens_with_its_key_and_place_only() {
        let key = [7u8; 32];
        let e = Id::from_u128(5);
        let s = seal_value(&key, 3, e, 2, b"canary 12345");
        assert_eq!(s.len(), 12 + SEALED_OVERHEAD);
        assert!(!s.windows(6).any(|w| w == b"canary"));
        assert_eq!(open_value(&key, 3, e, 2, &s).unwrap(), b"canary 12345");
        assert_eq!(open_value(&[8u8; 32], 3, e, 2, &s), Err(KeyError::Forged));
        assert_eq!(open_value(&key, 3, e, 4, &s), Err(KeyError::Forged));
        assert_eq!(
            open_value(&key, 3, Id::from_u128(6), 2, &s),
            Err(KeyError::Forged)
        );
        let mut t = s.clone();
        t[20] ^= 1;
        assert_eq!(open_value(&key, 3, e, 2, &t), Err(KeyError::Forged));
        assert_eq!(
            open_value(&key, 3, e, 2, &s[..10]),
            Err(KeyError::Malformed)
        );
        // Synthetic nonce: the same value in the same place seals the same way.
        assert_eq!(seal_value(&key, 3, e, 2, b"canary 12345"), s);
    }

    #[test]
    fn an_op_naming_two_persons_needs_both_keys() {
        let mut b = OpBuilder::new(9);
        let (p, q) = (person(1), person(2));
        b.persons(&[p, q]);
        let op = b
            .create(EntityKind::Person, p.0, vec![(1, b"Aida canary".to_vec())])
            .unwrap();
        let mut keys = MemKeys::new();
        for x in [p, q] {
            let tier = op.envelope().tier;
            keys.put(
                KeyId {
                    person: x,
                    tier,
                    origin: 9,
                },
                &[x.0.0[15]; 32],
            )
            .unwrap();
        }
        let sealed_op = seal_op(op.clone(), &mut |id| keys.get(id)).unwrap();
        assert_eq!(sealed_op.id(), op.id());
        let bytes = &sealed_op.payload().unwrap().bytes;
        assert!(!bytes.windows(6).any(|w| w == b"canary"));
        let create: CreatePayload = postcard::from_bytes(bytes).unwrap();
        let e = sealed_op.envelope();
        let opened = open_field(e, 1, &create.fields[0].1, &mut |id| keys.get(id)).unwrap();
        assert_eq!(opened, b"Aida canary");
        keys.shred(q).unwrap();
        assert!(matches!(
            open_field(e, 1, &create.fields[0].1, &mut |id| keys.get(id)),
            Err(KeyError::Missing(id)) if id.person == q
        ));
    }

    /// A supporter (a set add whose value is the id of the person the envelope names) stays
    /// in the clear and needs no key: the envelope already carries the id. A value holding
    /// anything else in the same field is sealed and needs the person's key.
    #[test]
    fn a_bare_reference_to_a_named_person_is_not_sealed() {
        let p = person(77);
        let issue = Id::from_u128(5);
        let mut b = OpBuilder::new(9);
        b.persons(&[p]);
        let reference = postcard::to_allocvec(&p).unwrap();
        assert_eq!(reference.len(), 16);
        let add = b
            .add(EntityKind::Issue, issue, 14, reference.clone())
            .unwrap();
        assert_eq!(add.envelope().tier, Tier::Personal);
        assert!(op_key_ids(&add).is_empty());
        let mut none = |_: &KeyId| -> Option<PayloadKey> { None };
        let same = seal_op(add.clone(), &mut none).unwrap();
        assert_eq!(same, add, "nothing to seal: the op is unchanged");
        let e = add.envelope();
        assert_eq!(open_field(e, 14, &reference, &mut none).unwrap(), reference);

        // Another person's id, or any other value, is sealed with the named person's key.
        let other = postcard::to_allocvec(&person(78)).unwrap();
        let add2 = b.add(EntityKind::Issue, issue, 14, other.clone()).unwrap();
        let ids = op_key_ids(&add2);
        assert_eq!(ids.len(), 1);
        assert_eq!(ids[0].person, p);
        let mut keys = MemKeys::new();
        keys.put(ids[0], &[4; 32]).unwrap();
        let sealed_op = seal_op(add2, &mut |id| keys.get(id)).unwrap();
        let v = &sealed_op.payload().unwrap().bytes;
        assert_eq!(v.len(), other.len() + SEALED_OVERHEAD);
        assert!(!v.windows(16).any(|w| w == other.as_slice()));
        assert_eq!(op_key_ids(&sealed_op), ids, "judged the same once sealed");
        assert_eq!(
            open_field(sealed_op.envelope(), 14, v, &mut |id| keys.get(id)).unwrap(),
            other
        );
    }

    #[test]
    fn keys_round_trip_through_a_message() {
        let keys: Vec<(KeyId, PayloadKey)> = (0..700u32)
            .map(|i| {
                (
                    KeyId {
                        person: person(u128::from(i)),
                        tier: if i % 2 == 0 {
                            Tier::Personal
                        } else {
                            Tier::Sensitive
                        },
                        origin: i,
                    },
                    Zeroizing::new([i as u8; 32]),
                )
            })
            .collect();
        let frames = key_frames(&keys, 16 * 1024);
        assert!(frames.len() > 1);
        let limits = kenesh_proto::Limits::new(16 * 1024);
        let mut back = Vec::new();
        for f in &frames {
            assert!(f.len() <= 16 * 1024);
            let kenesh_proto::Message::Keys(k) = kenesh_proto::Message::decode(f, &limits).unwrap()
            else {
                panic!("not a Keys message");
            };
            back.extend(unpack_entries(&k));
        }
        assert_eq!(back, keys);
    }
}
