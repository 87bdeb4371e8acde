//! The replica state: every op held, and the records materialised from them.
//!
//! [`State::apply`] takes ops in any order, any number of times, and never fails: the state
//! is a function of the *set* of ops held. Field merges follow the schema that
//! `kenesh_model::schema` declares for each field:
//!
//! | field kind | ops | merge |
//! |---|---|---|
//! | register | set (supersedes the writes it saw) | writes nobody superseded survive; several survivors are concurrent: the largest (HLC, origin, seq) shows, and on flagged fields a [`Conflict`] lists every candidate |
//! | set | add, remove (supersedes the adds it saw) | an element is present while one of its adds is not removed: add wins |
//! | log | append | grow-only, ordered by (HLC, origin, seq) |
//! | workflow | transition (from, to), reopen | replay of the transitions in causal order (supersedes), ties by (HLC, origin, seq); a transition from a state that is not current, or that the table forbids, is kept and flagged; a terminal state is left only by a reopen that supersedes the op that closed it |
//! | record | create, tombstone, change owner, erase | the earliest create counts (others flagged); a tombstone hides; the owner is a register of owner changes; an erase destroys the named persons' payloads for good |

use alloc::boxed::Box;
use alloc::collections::btree_map::Entry;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;

use kenesh_model::schema::{self, EntityKind, FieldKind};
use kenesh_model::{Id, PersonId, Scope, Tier, WorkflowKind};
use serde::{Deserialize, Serialize};

use crate::Hlc;
use crate::hash::SetHash;
use crate::op::{Action, CreatePayload, Op, OpId, TransitionPayload};
use crate::paged::Paged;
use crate::stored::Stored;
use crate::vecmap::{VecMap, VecSet, grow};

/// What applying an op did. Applying never fails.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Applied {
    /// New, and merged into the state (or the payload of an op held without one).
    Applied,
    /// Already held, byte for byte. (An op held without its payload that now arrives with
    /// it is [`Applied::Applied`]: the payload is merged.)
    Duplicate,
    /// Kept, and something about it needs a person's attention or keeps it out of the
    /// materialised state.
    Flagged(FlagKind),
}

/// Why an op was flagged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum FlagKind {
    /// The same (origin, seq) arrived with different content: a cloned kiosk or a restored
    /// backup. Both are kept; the one with the smaller digest is materialised.
    Equivocation,
    /// Its payload concerned an erased person and was dropped.
    PayloadErased,
    /// Entity kind, field or action unknown to this build: kept and forwarded, not
    /// materialised.
    UnknownSchema,
    /// The action does not fit the field's kind (an add on a register): kept, not
    /// materialised.
    ActionMismatch,
    /// A second create of the same record: the earliest counts.
    DuplicateCreate,
    /// A workflow step that the replay refused.
    Workflow(WorkflowFlag),
    /// Not applied: a paged state could not read a page it needed ([`State::failure`]);
    /// it applies nothing more until opened again from its last checkpoint.
    Unavailable,
}

/// Why a workflow step was refused in the replay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum WorkflowFlag {
    /// Its `from` was not the state when it replayed (a concurrent move got there first).
    Stale {
        /// What the writer saw.
        from: u8,
        /// What the state was.
        current: u8,
    },
    /// The table forbids it, or it leaves a terminal state.
    Forbidden {
        /// From.
        from: u8,
        /// To.
        to: u8,
    },
    /// A reopen of a state that is not terminal, or that does not supersede the close.
    Reopen {
        /// The state when it replayed.
        current: u8,
    },
    /// Its payload is withheld or erased, so it cannot be replayed here.
    Unreadable,
    /// Its supersedes form a cycle (only a forged op can do this).
    Cycle,
}

/// A flag on the state, for review.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    /// The op.
    pub op: OpId,
    /// Why.
    pub kind: FlagKind,
}

/// One candidate of a register conflict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    /// The write.
    pub op: OpId,
    /// Its timestamp.
    pub hlc: Hlc,
    /// Its value (`None` where withheld or erased).
    pub value: Option<Vec<u8>>,
}

/// Concurrent writes to a field whose schema asks for review: every candidate, which shows,
/// and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    /// The entity kind code.
    pub kind: u16,
    /// The record.
    pub entity: Id,
    /// The field id.
    pub field: u16,
    /// The writes nobody superseded, in (HLC, origin, seq) order.
    pub candidates: Vec<Candidate>,
    /// The one shown: the largest (HLC, origin, seq).
    pub shown: OpId,
}

/// A surviving register write: its id and timestamp. Its value is not copied here: it is
/// the op's payload (or the field's value in a create's payload), read from the op the
/// state holds when a view asks (so a withheld or erased payload shows no value).
pub(crate) type Write = (OpId, Hlc);

/// Loads survivors as a map would: whatever order the bytes hold them in, sorted by id,
/// the last of a repeated id kept.
fn sorted_by_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Write>, D::Error> {
    let mut v = Vec::<Write>::deserialize(d)?;
    v.reverse();
    v.sort_by_key(|(id, _)| *id); // stable: of a repeated id, the last loaded comes first
    v.dedup_by_key(|(id, _)| *id);
    Ok(v)
}

/// Loads creates as a set would: sorted, without duplicates.
fn sorted_set<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<(Hlc, OpId)>, D::Error> {
    let mut v = Vec::<(Hlc, OpId)>::deserialize(d)?;
    v.sort_unstable();
    v.dedup();
    Ok(v)
}

/// A sorted set of op ids in a vector (a B-tree past `vecmap`'s threshold): cheaper than a
/// B-tree for the few ids a record or a register holds (one allocation, binary search, no
/// node splits). Encoded as a set would be; loaded sorted and without repeats whatever order
/// the bytes hold.
pub(crate) type IdSet = VecSet<OpId>;

/// Ops by id, each as its bytes: what a state holds, and what register values and log
/// entries are read from.
pub(crate) type Ops = BTreeMap<OpId, Stored>;

/// A register: the surviving writes, and the ids superseded so far whose ops the record
/// does not hold.
///
/// The survivors are a vector sorted by op id, not a B-tree: there is one unless writes
/// were concurrent, and a B-tree leaf holds room for eleven (about 540 bytes per register).
/// It is encoded as a map would be (a length, then (id, HLC) pairs in id order); the values
/// are the ops' own (see [`Write`]).
///
/// `superseded` leaves out the ids in the record's op index ([`Entity::ops`]): an op the
/// record holds is never written again (a rebuild starts from an empty record), so only a
/// write that has not arrived yet needs to find that it was superseded. The common case,
/// a write superseding the one it saw, then stores nothing, and the set is the same
/// whatever order the ops arrived in (every superseded id, less the ids held).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Register {
    #[serde(deserialize_with = "sorted_by_id")]
    pub(crate) writes: Vec<Write>,
    pub(crate) superseded: IdSet,
}

/// A set: element → the ids of its adds; removed add ids; adds whose payload is not held.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SetField {
    pub(crate) adds: VecMap<Vec<u8>, IdSet>,
    pub(crate) hidden: IdSet,
    pub(crate) removed: IdSet,
}

/// A workflow's transition log and its replayed state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Workflow {
    kind: WorkflowKind,
    initial: Option<(OpId, u8)>,
    steps: VecMap<OpId, Step>,
    pub(crate) state: u8,
    pub(crate) refused: VecMap<OpId, WorkflowFlag>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Step {
    hlc: Hlc,
    supersedes: Vec<OpId>,
    /// `None` for a reopen; `Some(None)` for a transition whose payload is not held.
    change: Option<Option<TransitionPayload>>,
}

/// A field's merged state, by its kind in the schema.
///
/// A set and a workflow are boxed: most fields are registers (48 bytes), and the enum takes
/// the size of its largest variant in every record's field vector.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Field {
    Register(Register),
    Set(Box<SetField>),
    /// Entries by (HLC, op, index among the op's values of the field); each value is read
    /// from the op when a view asks, as a register's.
    Log(VecSet<(Hlc, OpId, u32)>),
    Workflow(Box<Workflow>),
}

/// A record's key in the state: its entity kind code and id, ordered as `(u16, Id)` is,
/// with the id held as two big-endian `u64` halves so that a comparison is a few integer
/// compares rather than a byte-slice compare (the record lookup is on every op). Encoded as
/// the `(u16, Id)` it stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Key {
    kind: u16,
    hi: u64,
    lo: u64,
}

impl Key {
    /// The smallest key.
    pub(crate) const MIN: Key = Key {
        kind: 0,
        hi: 0,
        lo: 0,
    };
    /// The largest key.
    pub(crate) const MAX: Key = Key {
        kind: u16::MAX,
        hi: u64::MAX,
        lo: u64::MAX,
    };

    pub(crate) fn new(kind: u16, id: Id) -> Key {
        let [hi, lo] = [&id.0[..8], &id.0[8..]].map(|h| {
            let mut b = [0u8; 8];
            b.copy_from_slice(h);
            u64::from_be_bytes(b)
        });
        Key { kind, hi, lo }
    }
    pub(crate) fn kind(self) -> u16 {
        self.kind
    }
    pub(crate) fn id(self) -> Id {
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&self.hi.to_be_bytes());
        id[8..].copy_from_slice(&self.lo.to_be_bytes());
        Id(id)
    }
}

impl Serialize for Key {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (self.kind, self.id()).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        let (kind, id) = <(u16, Id)>::deserialize(d)?;
        Ok(Key::new(kind, id))
    }
}

/// A record's fields, by id: a vector sorted by field id rather than a B-tree (whose leaf
/// reserves eleven slots). Encoded as a map would be; loaded sorted, the last of a repeated
/// id kept.
pub(crate) type Fields = VecMap<u16, Field>;

/// Makes room for the fields of `ids` the record does not have yet (a create's fields,
/// several entries of one field counted once), so the vector holds no spare slots.
fn reserve_for(fields: &mut Fields, ids: impl Iterator<Item = u16>) {
    let mut new: Vec<u16> = ids.filter(|id| !fields.contains_key(id)).collect();
    new.sort_unstable();
    new.dedup();
    fields.reserve_exact(new.len());
}

/// A record's merged state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "SavedEntity")]
pub(crate) struct Entity {
    /// Sorted, without duplicates (one unless the record was created twice); encoded as a
    /// set would be.
    #[serde(deserialize_with = "sorted_set")]
    pub(crate) creates: Vec<(Hlc, OpId)>,
    pub(crate) scope: Option<Scope>,
    pub(crate) tier: Option<Tier>,
    pub(crate) tombstoned: bool,
    pub(crate) owner: Register,
    pub(crate) fields: Fields,
    pub(crate) ops: IdSet,
}

/// An [`Entity`] as saved. Loading drops from the registers' superseded sets the ids the
/// record holds (a state saved before they were left out has them).
#[derive(Deserialize)]
struct SavedEntity {
    #[serde(deserialize_with = "sorted_set")]
    creates: Vec<(Hlc, OpId)>,
    scope: Option<Scope>,
    tier: Option<Tier>,
    tombstoned: bool,
    owner: Register,
    fields: Fields,
    ops: IdSet,
}

impl From<SavedEntity> for Entity {
    fn from(s: SavedEntity) -> Entity {
        let mut e = Entity {
            creates: s.creates,
            scope: s.scope,
            tier: s.tier,
            tombstoned: s.tombstoned,
            owner: s.owner,
            fields: s.fields,
            ops: s.ops,
        };
        let Entity {
            owner, fields, ops, ..
        } = &mut e;
        for r in core::iter::once(owner).chain(fields.values_mut().filter_map(|f| match f {
            Field::Register(r) => Some(r),
            _ => None,
        })) {
            r.superseded.retain(|id| !ops.contains(id));
        }
        e
    }
}

impl Entity {
    /// `id` joined the record's op index: no register needs it in its superseded set now.
    fn held(&mut self, id: &OpId) {
        let Entity { owner, fields, .. } = self;
        for r in core::iter::once(owner).chain(fields.values_mut().filter_map(|f| match f {
            Field::Register(r) => Some(r),
            _ => None,
        })) {
            if !r.superseded.is_empty() {
                r.superseded.remove(id);
            }
        }
    }
}

/// A replica's state: the ops it holds, the records materialised from them, the flags and
/// the state hashes.
///
/// ```
/// use kenesh_merge::{Applied, OpBuilder, State};
/// use kenesh_model::{schema::EntityKind, Id};
///
/// let mut kiosk = OpBuilder::new(1);
/// let id = Id::from_u128(5);
/// let create = kiosk.create(EntityKind::Issue, id, vec![(1, b"old".to_vec())]).unwrap();
/// let retitle = kiosk.set(EntityKind::Issue, id, 1, b"new".to_vec(), &[create.id()]).unwrap();
/// let (mut a, mut b) = (State::new(), State::new());
/// assert_eq!(a.apply(retitle.clone()), Applied::Applied); // before its create: held
/// a.apply(create.clone());
/// b.apply(create);
/// b.apply(retitle.clone());
/// assert_eq!(b.apply(retitle), Applied::Duplicate);
/// assert_eq!(a.state_hashes(), b.state_hashes());
/// assert_eq!(a.snapshot(), b.snapshot());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Each op as its bytes in one allocation ([`Stored`]; encoded as the op it holds).
    pub(crate) ops: Ops,
    /// Losing versions of equivocated op ids.
    pub(crate) equivocations: BTreeMap<OpId, Vec<Op>>,
    pub(crate) entities: BTreeMap<Key, Entity>,
    pub(crate) erased: BTreeSet<PersonId>,
    pub(crate) hashes: BTreeMap<(Scope, Tier), SetHash>,
    /// Ops kept but not materialised (unknown schema, action mismatch), by id.
    pub(crate) inert: BTreeMap<OpId, FlagKind>,
    /// A record to redo after the op being applied (an earlier create arrived late).
    #[serde(skip)]
    pub(crate) pending_rebuild: Option<(u16, Id)>,
    /// The paging of a paged state ([`State::paged`]); `None` in memory. A paged state is
    /// made durable by checkpoints, not by serde: encoding one is an error.
    #[serde(
        skip_deserializing,
        skip_serializing_if = "Option::is_none",
        serialize_with = "refuse_paged"
    )]
    pub(crate) paged: Option<Box<Paged>>,
}

fn refuse_paged<S: serde::Serializer>(_: &Option<Box<Paged>>, _: S) -> Result<S::Ok, S::Error> {
    Err(serde::ser::Error::custom(
        "a paged state is saved by checkpoints, not encoded whole",
    ))
}

fn field_kind(kind: u16, field: u16) -> Option<FieldKind> {
    let k = EntityKind::from_code(kind)?;
    let f = schema::entity(k).field(field)?;
    (!f.retired).then_some(f.kind)
}

impl State {
    /// An empty state.
    #[must_use]
    pub fn new() -> State {
        State::default()
    }

    /// Applies one op. Never fails; see [`Applied`].
    pub fn apply(&mut self, op: Op) -> Applied {
        if self.paged.is_none() {
            return self.apply_held(op);
        }
        // A paged state loads what the op touches first; one that cannot applies nothing.
        if self.ensure_for(&op).is_err() {
            return Applied::Flagged(FlagKind::Unavailable);
        }
        let (id, key) = (op.id(), Key::new(op.envelope().kind, op.envelope().entity));
        let before = self.ops.contains_key(&id);
        let outcome = self.apply_held(op);
        if outcome != Applied::Duplicate {
            self.mark(key);
            if !before && self.ops.contains_key(&id) {
                self.mark_id(id, key);
                if let Some(p) = self.paged.as_mut() {
                    p.count += 1;
                }
            }
        }
        outcome
    }

    /// [`State::apply`] on a state holding in memory everything the op touches.
    fn apply_held(&mut self, mut op: Op) -> Applied {
        let id = op.id();
        let erased = op
            .envelope()
            .persons
            .iter()
            .any(|p| self.erased.contains(p));
        // One search of the op map, for the duplicate check and the insert.
        let vacant = match self.ops.entry(id) {
            Entry::Vacant(v) => v,
            Entry::Occupied(mut o) => {
                let held = o.get_mut();
                // The same op: the same envelope bytes (compared exactly, as the incoming
                // envelope is encoded) and the same digest, which covers the payload hash.
                let same = held.digest() == op.digest() && op.envelope_is(held.envelope_bytes());
                if same {
                    // Maybe it now brings the payload we lacked.
                    if let (Some(p), false) = (op.payload(), erased)
                        && let Some(filled) = held.with_payload(p)
                    {
                        *held = filled;
                        let key = (op.envelope().kind, op.envelope().entity);
                        self.rebuild(key);
                        return Applied::Applied;
                    }
                    return Applied::Duplicate;
                }
                if erased {
                    // Another version of an op naming an erased person: its payload goes too.
                    op.drop_payload();
                }
                return self.equivocate(op);
            }
        };
        let mut flagged = None;
        if op.payload().is_some() && erased {
            op.drop_payload();
            flagged = Some(FlagKind::PayloadErased);
        }
        let e = op.envelope();
        self.hashes
            .entry((e.scope, e.tier))
            .or_default()
            .add(&op.digest());
        let key = (e.kind, e.entity);
        let (field, action) = (e.field, e.action);
        let erase = (action == Action::ERASE).then(|| e.persons.clone());
        let outcome = materialise(
            &mut self.entities,
            &mut self.inert,
            &mut self.pending_rebuild,
            &op,
        );
        vacant.insert(Stored::new(&op));
        if let Some(k) = self.pending_rebuild.take() {
            self.rebuild(k);
        }
        if let Some(persons) = erase {
            self.erase(&persons);
        }
        match (flagged, outcome) {
            (Some(f), _) | (None, Some(f)) => Applied::Flagged(f),
            (None, None) if matches!(action, Action::TRANSITION | Action::REOPEN) => {
                // A workflow step may be refused by the replay of its field.
                let refused = self
                    .entities
                    .get(&Key::new(key.0, key.1))
                    .and_then(|ent| match ent.fields.get(&field) {
                        Some(Field::Workflow(w)) => w.refused.get(&id).copied(),
                        _ => None,
                    });
                refused.map_or(Applied::Applied, |w| {
                    Applied::Flagged(FlagKind::Workflow(w))
                })
            }
            (None, None) => Applied::Applied,
        }
    }

    /// Two different ops with one id: keep both, materialise the smaller digest.
    ///
    /// Every version of an erase erases the persons it names (an erasure cannot be undone,
    /// so only the union of them is the same whatever order the versions arrive in).
    fn equivocate(&mut self, op: Op) -> Applied {
        let id = op.id();
        let losers = self.equivocations.entry(id).or_default();
        if let Some(held) = losers.iter_mut().find(|l| l.digest() == op.digest()) {
            // A version already held; maybe it now brings the payload we lacked (the
            // caller dropped it if it names an erased person).
            if let Some(p) = op.payload().cloned() {
                let _ = held.fill_payload(p);
            }
            return Applied::Duplicate;
        }
        let e = op.envelope();
        self.hashes
            .entry((e.scope, e.tier))
            .or_default()
            .add(&op.digest());
        let erase = (e.action == Action::ERASE).then(|| e.persons.clone());
        let held = self.ops.get(&id).map(|o| o.digest());
        if held.is_some_and(|h| op.digest() < h) {
            // The newcomer wins: take the old version out of its record and out of the
            // inert list, then merge the newcomer as if it had come alone.
            if let Some(old) = self.ops.remove(&id).as_ref().and_then(Stored::op) {
                let key = (old.envelope().kind, old.envelope().entity);
                self.inert.remove(&id);
                if let Some(ent) = self.entities.get_mut(&Key::new(key.0, key.1)) {
                    ent.ops.remove(&id);
                }
                self.equivocations.entry(id).or_default().push(old);
                self.rebuild(key);
            }
            let _ = self.materialise(&op);
            self.ops.insert(id, Stored::new(&op));
            // The id now names the newcomer's record (a paged state's index).
            let key = Key::new(op.envelope().kind, op.envelope().entity);
            self.mark(key);
            self.mark_id(id, key);
            if let Some(k) = self.pending_rebuild.take() {
                self.rebuild(k);
            }
        } else {
            // The newcomer loses: kept, never materialised.
            self.equivocations.entry(id).or_default().push(op);
        }
        if let Some(l) = self.equivocations.get_mut(&id) {
            l.sort_by_key(Op::digest);
        }
        if let Some(persons) = erase {
            self.erase(&persons);
        }
        Applied::Flagged(FlagKind::Equivocation)
    }

    /// Destroys the payloads of every op naming an erased person, for good.
    fn erase(&mut self, persons: &[PersonId]) {
        let mut touched = BTreeSet::new();
        for p in persons {
            self.erased.insert(*p);
        }
        // A paged state loads the records whose payloads the erasure reaches.
        for key in self.keys_naming(persons) {
            if self.ensure_record(key).is_err() {
                return;
            }
        }
        for s in self.ops.values_mut() {
            if !(s.payload_held() && s.names_persons()) {
                continue;
            }
            if let Some(e) = s.envelope()
                && e.persons.iter().any(|p| persons.contains(p))
            {
                touched.insert((e.kind, e.entity));
                *s = s.without_payload();
            }
        }
        for op in self.equivocations.values_mut().flatten() {
            let e = op.envelope();
            if op.payload().is_some() && e.persons.iter().any(|p| persons.contains(p)) {
                touched.insert((e.kind, e.entity));
                op.drop_payload();
            }
        }
        for key in touched {
            self.rebuild(key);
        }
    }

    /// Recomputes a record from its ops.
    fn rebuild(&mut self, key: (u16, Id)) {
        self.mark(Key::new(key.0, key.1));
        let Some(ent) = self.entities.remove(&Key::new(key.0, key.1)) else {
            return;
        };
        let mut ops: Vec<Op> = ent
            .ops
            .iter()
            .filter_map(|id| self.ops.get(id).and_then(Stored::op))
            .collect();
        // The winning create first, so no later create displaces it mid-rebuild; the order
        // of the rest does not matter.
        ops.sort_by_key(|op| {
            let e = op.envelope();
            (e.action != Action::CREATE, e.hlc, op.id())
        });
        for op in &ops {
            let _ = self.materialise(op);
        }
        self.pending_rebuild = None;
    }

    /// Merges one op into its record. Returns a flag when the op is kept but not merged.
    pub(crate) fn materialise(&mut self, op: &Op) -> Option<FlagKind> {
        materialise(
            &mut self.entities,
            &mut self.inert,
            &mut self.pending_rebuild,
            op,
        )
    }
}

/// Merges one op into its record. Returns a flag when the op is kept but not merged.
///
/// A function of the state's parts it changes, not of the state, so that [`State::apply`]
/// can hold the op map's vacant entry meanwhile.
fn materialise(
    entities: &mut BTreeMap<Key, Entity>,
    inert: &mut BTreeMap<OpId, FlagKind>,
    pending_rebuild: &mut Option<(u16, Id)>,
    op: &Op,
) -> Option<FlagKind> {
    let e = op.envelope();
    let id = op.id();
    let payload = op.payload().map(|p| p.bytes.as_slice());
    let ent = entities.entry(Key::new(e.kind, e.entity)).or_default();
    let new = ent.ops.insert(id);
    let outcome = if EntityKind::from_code(e.kind).is_none() || !e.action.is_known() {
        // Kept under its record (so a record's ops are all its ops), never merged.
        inert.insert(id, FlagKind::UnknownSchema);
        Some(FlagKind::UnknownSchema)
    } else {
        merge(ent, inert, pending_rebuild, op, payload)
    };
    // After the merge: a register write checks whether its own id was superseded.
    if new {
        ent.held(&id);
    }
    outcome
}

/// The field-level part of [`materialise`], on the op's record (whose op index already
/// holds the op).
fn merge(
    ent: &mut Entity,
    inert: &mut BTreeMap<OpId, FlagKind>,
    pending_rebuild: &mut Option<(u16, Id)>,
    op: &Op,
    payload: Option<&[u8]>,
) -> Option<FlagKind> {
    let e = op.envelope();
    let id = op.id();
    let fk = field_kind(e.kind, e.field);
    match e.action {
        Action::CREATE => {
            let before = ent.creates.first().map(|(_, i)| *i);
            if let Err(i) = ent.creates.binary_search(&(e.hlc, id)) {
                grow(&mut ent.creates);
                ent.creates.insert(i, (e.hlc, id));
            }
            let first = ent.creates.first().map(|(_, i)| *i);
            if first != Some(id) {
                return Some(FlagKind::DuplicateCreate);
            }
            if before.is_some() {
                // An earlier create displaced the one merged so far: redo the record.
                *pending_rebuild = Some((e.kind, e.entity));
                return None;
            }
            ent.scope = Some(e.scope);
            ent.tier = Some(e.tier);
            let init: CreatePayload = payload
                .and_then(|p| postcard::from_bytes(p).ok())
                .unwrap_or_default();
            reserve_for(&mut ent.fields, init.fields.iter().map(|(f, _)| *f));
            for (field, value) in init.fields {
                let Some(kind) = field_kind(e.kind, field) else {
                    continue;
                };
                let f = ent.fields.get_or_insert_with(field, || new_field(kind));
                match f {
                    Field::Register(r) => r.write_held(id, e.hlc, &[], &ent.ops),
                    Field::Set(s) => s.add(id, Some(value)),
                    Field::Log(l) => {
                        // Several entries of one create keep their payload order.
                        let n = l.range((e.hlc, id, 0)..=(e.hlc, id, u32::MAX)).count();
                        l.insert((e.hlc, id, n as u32));
                    }
                    Field::Workflow(w) => {
                        w.initial = Some((id, value.first().copied().unwrap_or(0)));
                        w.replay();
                    }
                }
            }
            None
        }
        Action::TOMBSTONE => {
            ent.tombstoned = true;
            None
        }
        Action::CHANGE_OWNER => {
            ent.owner.write_held(id, e.hlc, &e.supersedes, &ent.ops);
            None
        }
        Action::ERASE => None,
        action => {
            let Some(kind) = fk else {
                inert.insert(id, FlagKind::UnknownSchema);
                return Some(FlagKind::UnknownSchema);
            };
            let f = ent.fields.get_or_insert_with(e.field, || new_field(kind));
            let ok = match (f, action) {
                (Field::Register(r), Action::SET) => {
                    r.write_held(id, e.hlc, &e.supersedes, &ent.ops);
                    true
                }
                (Field::Set(s), Action::ADD) => {
                    s.add(id, payload.map(<[u8]>::to_vec));
                    true
                }
                (Field::Set(s), Action::REMOVE) => {
                    s.removed.extend(e.supersedes.iter().copied());
                    true
                }
                (Field::Log(l), Action::APPEND) => {
                    l.insert((e.hlc, id, 0));
                    true
                }
                (Field::Workflow(w), Action::TRANSITION) => {
                    let change = payload.map(|p| postcard::from_bytes::<TransitionPayload>(p).ok());
                    let change = Some(change.flatten());
                    w.steps.insert(
                        id,
                        Step {
                            hlc: e.hlc,
                            supersedes: e.supersedes.clone(),
                            change,
                        },
                    );
                    w.replay();
                    true
                }
                (Field::Workflow(w), Action::REOPEN) => {
                    w.steps.insert(
                        id,
                        Step {
                            hlc: e.hlc,
                            supersedes: e.supersedes.clone(),
                            change: None,
                        },
                    );
                    w.replay();
                    true
                }
                _ => false,
            };
            if ok {
                None
            } else {
                inert.insert(id, FlagKind::ActionMismatch);
                Some(FlagKind::ActionMismatch)
            }
        }
    }
}

fn new_field(kind: FieldKind) -> Field {
    match kind {
        FieldKind::Register => Field::Register(Register::default()),
        FieldKind::Set => Field::Set(Box::default()),
        FieldKind::Log => Field::Log(VecSet::default()),
        FieldKind::Workflow(w) => Field::Workflow(Box::new(Workflow {
            kind: w,
            initial: None,
            steps: VecMap::new(),
            state: w.initial(),
            refused: VecMap::new(),
        })),
    }
}

impl Register {
    /// Merges a write, recording every id it supersedes.
    #[cfg(test)]
    fn write(&mut self, id: OpId, hlc: Hlc, supersedes: &[OpId]) {
        self.write_held(id, hlc, supersedes, &IdSet::default());
    }

    /// Merges a write of a record whose op index is `held`: of the ids it supersedes, those
    /// the record holds are not recorded (see [`Register`]).
    fn write_held(&mut self, id: OpId, hlc: Hlc, supersedes: &[OpId], held: &IdSet) {
        for s in supersedes {
            if let Ok(i) = self.writes.binary_search_by_key(s, |(w, _)| *w) {
                self.writes.remove(i);
            }
            if !held.contains(s) {
                self.superseded.insert(*s);
            }
        }
        if !self.superseded.contains(&id) {
            match self.writes.binary_search_by_key(&id, |(w, _)| *w) {
                Ok(i) => self.writes[i].1 = hlc,
                Err(i) => {
                    grow(&mut self.writes);
                    self.writes.insert(i, (id, hlc));
                }
            }
        }
    }

    /// The surviving writes, in (HLC, origin, seq) order.
    pub(crate) fn survivors(&self) -> Vec<(OpId, Hlc)> {
        let mut v = self.writes.clone();
        v.sort_by_key(|(id, h)| (*h, *id));
        v
    }

    /// The write shown: the largest (HLC, origin, seq).
    pub(crate) fn shown(&self) -> Option<(OpId, Hlc)> {
        self.writes.iter().copied().max_by_key(|(id, h)| (*h, *id))
    }
}

impl SetField {
    fn add(&mut self, id: OpId, value: Option<Vec<u8>>) {
        match value {
            Some(v) => {
                self.adds.get_or_insert_with(v, IdSet::default).insert(id);
            }
            None => {
                self.hidden.insert(id);
            }
        }
    }

    pub(crate) fn elements(&self) -> impl Iterator<Item = &Vec<u8>> {
        self.adds
            .iter()
            .filter(|(_, ids)| ids.iter().any(|i| !self.removed.contains(i)))
            .map(|(v, _)| v)
    }
}

impl Workflow {
    /// The steps held that no other held step supersedes (one in a linear history: the
    /// latest), in (HLC, origin, seq) order: what a new transition supersedes, and the
    /// close a reopen supersedes.
    pub(crate) fn heads(&self) -> Vec<OpId> {
        let superseded: BTreeSet<OpId> = self
            .steps
            .values()
            .flat_map(|s| s.supersedes.iter().copied())
            .collect();
        let mut heads: Vec<(Hlc, OpId)> = self
            .steps
            .iter()
            .filter(|(id, _)| !superseded.contains(id))
            .map(|(id, s)| (s.hlc, *id))
            .collect();
        heads.sort();
        heads.into_iter().map(|(_, id)| id).collect()
    }

    /// Replays the transition log in causal order (supersedes), ties by (HLC, origin, seq).
    fn replay(&mut self) {
        let mut state = self.initial.map_or_else(|| self.kind.initial(), |(_, s)| s);
        let mut closed_by: Option<OpId> = self.initial.map(|(i, _)| i);
        self.refused.clear();
        // Kahn's algorithm over the supersedes edges between steps held.
        let mut indegree: BTreeMap<OpId, usize> = self.steps.keys().map(|k| (*k, 0)).collect();
        let mut children: BTreeMap<OpId, Vec<OpId>> = BTreeMap::new();
        for (id, step) in &self.steps {
            let mut parents: Vec<OpId> = step.supersedes.clone();
            parents.sort_unstable();
            parents.dedup();
            for p in parents {
                if self.steps.contains_key(&p) {
                    children.entry(p).or_default().push(*id);
                    if let Some(d) = indegree.get_mut(id) {
                        *d += 1;
                    }
                }
            }
        }
        let mut ready: BTreeSet<(Hlc, OpId)> = indegree
            .iter()
            .filter(|(_, d)| **d == 0)
            .filter_map(|(id, _)| self.steps.get(id).map(|s| (s.hlc, *id)))
            .collect();
        let mut done = BTreeSet::new();
        while let Some((_, id)) = ready.pop_first() {
            done.insert(id);
            let Some(step) = self.steps.get(&id) else {
                continue;
            };
            match step.change {
                None => {
                    // Reopen: only of a terminal state, superseding the op that closed it.
                    let closes = closed_by.is_some_and(|c| step.supersedes.contains(&c));
                    match (self.kind.is_terminal(state), closes) {
                        (Some(true), true) => match self.kind.reopen(state) {
                            Ok(s) => {
                                state = s;
                                closed_by = Some(id);
                            }
                            Err(_) => {
                                self.refused
                                    .insert(id, WorkflowFlag::Reopen { current: state });
                            }
                        },
                        _ => {
                            self.refused
                                .insert(id, WorkflowFlag::Reopen { current: state });
                        }
                    }
                }
                Some(None) => {
                    self.refused.insert(id, WorkflowFlag::Unreadable);
                }
                Some(Some(TransitionPayload { from, to })) => {
                    if from != state {
                        self.refused.insert(
                            id,
                            WorkflowFlag::Stale {
                                from,
                                current: state,
                            },
                        );
                    } else {
                        match self.kind.transition(from, to) {
                            Ok(s) => {
                                state = s;
                                closed_by = Some(id);
                            }
                            Err(_) => {
                                self.refused
                                    .insert(id, WorkflowFlag::Forbidden { from, to });
                            }
                        }
                    }
                }
            }
            for c in children.get(&id).into_iter().flatten() {
                if let Some(d) = indegree.get_mut(c) {
                    *d -= 1;
                    if *d == 0
                        && let Some(s) = self.steps.get(c)
                    {
                        ready.insert((s.hlc, *c));
                    }
                }
            }
        }
        for id in self.steps.keys() {
            if !done.contains(id) {
                self.refused.insert(*id, WorkflowFlag::Cycle);
            }
        }
        self.state = state;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The per-record structures stay small: a field is a register's size (its largest
    /// unboxed variant), which every record's field vector holds once per field.
    #[test]
    fn per_record_sizes() {
        assert_eq!(size_of::<Register>(), 48);
        assert!(size_of::<Field>() <= 56, "{}", size_of::<Field>());
        assert!(size_of::<(u16, Field)>() <= 64);
    }

    /// Saved survivors and creates load sorted and without repeats, whatever order the
    /// bytes hold them in (as the B-trees they replaced did), so later merges find them.
    #[test]
    fn unsorted_saved_vectors_load_sorted() {
        let (a, b) = (OpId::new(1, 1), OpId::new(2, 1));
        let writes: Vec<Write> = alloc::vec![(b, Hlc(2)), (a, Hlc(1)), (b, Hlc(3))];
        let bytes = postcard::to_allocvec(&(writes, alloc::vec::Vec::<OpId>::new())).unwrap();
        let mut r: Register = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(r.writes, alloc::vec![(a, Hlc(1)), (b, Hlc(3))]);
        r.write(OpId::new(3, 1), Hlc(4), &[b]);
        assert_eq!(
            r.writes.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
            alloc::vec![a, OpId::new(3, 1)]
        );

        let creates = alloc::vec![(Hlc(5), b), (Hlc(1), a), (Hlc(5), b)];
        let bytes = postcard::to_allocvec(&creates).unwrap();
        let mut d = postcard::Deserializer::from_bytes(&bytes);
        assert_eq!(
            sorted_set(&mut d).unwrap(),
            alloc::vec![(Hlc(1), a), (Hlc(5), b)]
        );
    }
}
