//! Reading the merged state: records, fields, conflicts, flags, hashes, and a canonical
//! snapshot for conformance vectors.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use kenesh_model::schema::{self, EntityKind};
use kenesh_model::{Id, PersonId, Scope, Tier};
use serde::{Deserialize, Serialize};

use crate::Hlc;
use crate::op::{Envelope, Op, OpId};
use crate::state::{Candidate, Conflict, Entity, Field, Flag, FlagKind, Key, Ops, State};
use crate::stored::{Stored, Which};
use crate::vecmap::Either;

/// One log entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// The op that appended it.
    pub op: OpId,
    /// Its timestamp (the log's order, with the op id).
    pub hlc: Hlc,
    /// The entry (`None` where withheld or erased).
    pub value: Option<Vec<u8>>,
}

/// A field's merged value on this replica. Values are the payload bytes, decoded by builds
/// that know the field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FieldValue {
    /// A register.
    Register {
        /// The value shown (`None` where withheld or erased).
        value: Option<Vec<u8>>,
        /// The write shown.
        op: OpId,
        /// How many concurrent writes survive (more than one: concurrent).
        survivors: usize,
    },
    /// A set.
    Set {
        /// The elements present, in byte order.
        elements: Vec<Vec<u8>>,
        /// Adds whose element is not held here (withheld or erased).
        hidden: usize,
    },
    /// A log, in (HLC, origin, seq) order.
    Log(Vec<LogEntry>),
    /// A workflow.
    Workflow {
        /// The state code after replay.
        state: u8,
        /// Steps the replay refused.
        refused: usize,
    },
}

/// A record as this replica holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordView {
    /// Entity kind code.
    pub kind: u16,
    /// The record.
    pub id: Id,
    /// The scope set at create.
    pub scope: Scope,
    /// The current owner (after owner changes), if it changed.
    pub owner: Option<Scope>,
    /// The tier set at create.
    pub tier: Tier,
    /// Hidden by a tombstone.
    pub tombstoned: bool,
    /// Field values by field id.
    pub fields: BTreeMap<u16, FieldValue>,
}

/// The value `op` wrote into `field` (`which` of a create's), where its payload is held.
fn value(ops: &Ops, op: OpId, field: u16, which: Which) -> Option<Vec<u8>> {
    ops.get(&op)?.value(field, which)
}

fn field_value(ops: &Ops, field: u16, f: &Field) -> Option<FieldValue> {
    Some(match f {
        Field::Register(r) => {
            let (op, _) = r.shown()?;
            FieldValue::Register {
                value: value(ops, op, field, Which::Last),
                op,
                survivors: r.writes.len(),
            }
        }
        Field::Set(s) => FieldValue::Set {
            elements: s.elements().cloned().collect(),
            hidden: s.hidden.iter().filter(|i| !s.removed.contains(i)).count(),
        },
        Field::Log(l) => FieldValue::Log(
            l.iter()
                .map(|(hlc, op, n)| LogEntry {
                    op: *op,
                    hlc: *hlc,
                    value: value(ops, *op, field, Which::Nth(*n)),
                })
                .collect(),
        ),
        Field::Workflow(w) => FieldValue::Workflow {
            state: w.state,
            refused: w.refused.len(),
        },
    })
}

fn view(ops: &Ops, kind: u16, id: Id, e: &Entity) -> Option<RecordView> {
    let (scope, tier) = (e.scope?, e.tier?);
    let owner = e
        .owner
        .shown()
        .and_then(|(op, _)| value(ops, op, 0, Which::Last))
        .and_then(|b| postcard::from_bytes::<Scope>(&b).ok());
    Some(RecordView {
        kind,
        id,
        scope,
        owner,
        tier,
        tombstoned: e.tombstoned,
        fields: e
            .fields
            .iter()
            .filter_map(|(k, f)| Some((*k, field_value(ops, *k, f)?)))
            .collect(),
    })
}

impl State {
    /// A record, if its create is held (tombstoned records included: see
    /// [`RecordView::tombstoned`]).
    #[must_use]
    pub fn record(&self, kind: EntityKind, id: Id) -> Option<RecordView> {
        let code = kind.code();
        self.with_record(Key::new(code, id), |e, ops| view(ops, code, id, e))?
    }

    /// Every record of a kind whose create is held, in id order.
    pub fn records(&self, kind: EntityKind) -> impl Iterator<Item = RecordView> + '_ {
        let code = kind.code();
        let (lo, hi) = (Key::new(code, Id::NIL), Key::new(code, Id([0xff; 16])));
        self.map_records(lo, hi, move |key, e, ops| view(ops, code, key.id(), e))
    }

    /// One field of a record.
    #[must_use]
    pub fn field(&self, kind: EntityKind, id: Id, field: u16) -> Option<FieldValue> {
        self.with_record(Key::new(kind.code(), id), |e, ops| {
            field_value(ops, field, e.fields.get(&field)?)
        })?
    }

    /// Concurrent writes to fields whose schema flags conflicts, for a person to review.
    #[must_use]
    pub fn conflicts(&self) -> Vec<Conflict> {
        let mut out = Vec::new();
        self.for_each_record(Key::MIN, Key::MAX, &mut |key, e, ops| {
            let (kind, id) = (&key.kind(), &key.id());
            let Some(k) = EntityKind::from_code(*kind) else {
                return;
            };
            for (fid, f) in &e.fields {
                let Field::Register(r) = f else { continue };
                let flagged = schema::entity(k)
                    .field(*fid)
                    .is_some_and(|d| d.flag_conflicts);
                if !flagged || r.writes.len() < 2 {
                    continue;
                }
                let candidates: Vec<Candidate> = r
                    .survivors()
                    .into_iter()
                    .map(|(op, hlc)| Candidate {
                        op,
                        hlc,
                        value: value(ops, op, *fid, Which::Last),
                    })
                    .collect();
                let shown = candidates.last().map(|c| c.op);
                if let Some(shown) = shown {
                    out.push(Conflict {
                        kind: *kind,
                        entity: *id,
                        field: *fid,
                        candidates,
                        shown,
                    });
                }
            }
        });
        out
    }

    /// Everything flagged for review, in op id order.
    #[must_use]
    pub fn flags(&self) -> Vec<Flag> {
        let mut out: Vec<Flag> = self
            .inert
            .iter()
            .map(|(op, kind)| Flag {
                op: *op,
                kind: kind.clone(),
            })
            .collect();
        self.for_each_record(Key::MIN, Key::MAX, &mut |_, e, _| {
            for (_, op) in e.creates.iter().skip(1) {
                out.push(Flag {
                    op: *op,
                    kind: FlagKind::DuplicateCreate,
                });
            }
            for f in e.fields.values() {
                if let Field::Workflow(w) = f {
                    out.extend(w.refused.iter().map(|(op, r)| Flag {
                        op: *op,
                        kind: FlagKind::Workflow(*r),
                    }));
                }
            }
        });
        out.extend(self.equivocations.keys().map(|op| Flag {
            op: *op,
            kind: FlagKind::Equivocation,
        }));
        out.sort_by_key(|f| f.op);
        out
    }

    /// The state hash of one (scope, tier): equal on two replicas exactly when they hold
    /// the same ops there.
    #[must_use]
    pub fn state_hash(&self, scope: Scope, tier: Tier) -> [u8; 32] {
        self.hashes
            .get(&(scope, tier))
            .copied()
            .unwrap_or_default()
            .to_bytes()
    }

    /// Every (scope, tier) hash held.
    #[must_use]
    pub fn state_hashes(&self) -> BTreeMap<(Scope, Tier), [u8; 32]> {
        self.hashes
            .iter()
            .map(|(k, h)| (*k, h.to_bytes()))
            .collect()
    }

    /// The ops held (the materialised version of an equivocated id), in id order, byte for
    /// byte as they arrived. Each is decoded from the bytes the state keeps of it.
    pub fn ops(&self) -> impl Iterator<Item = Op> + '_ {
        if self.paged.is_none() {
            return Either::Small(self.ops.values().filter_map(Stored::op));
        }
        let mut all = Vec::new();
        self.for_each_stored(&mut |id, s| all.push((*id, s.clone())));
        all.sort_unstable_by_key(|(id, _)| *id);
        Either::Large(all.into_iter().filter_map(|(_, s)| s.op()))
    }

    /// Every op held, equivocating versions included: what a peer needs to hold the same
    /// state.
    pub fn all_ops(&self) -> impl Iterator<Item = Op> + '_ {
        self.ops()
            .chain(self.equivocations.values().flatten().cloned())
    }

    /// The op with this id (decoded from the bytes the state keeps of it).
    #[must_use]
    pub fn op(&self, id: OpId) -> Option<Op> {
        match self.ops.get(&id) {
            Some(s) => s.op(),
            None => self.find_stored(id)?.op(),
        }
    }

    /// The envelope of the op with this id, without its payload (cheaper than
    /// [`State::op`] where only the envelope is needed).
    #[must_use]
    pub fn envelope(&self, id: OpId) -> Option<Envelope> {
        match self.ops.get(&id) {
            Some(s) => s.envelope(),
            None => self.find_stored(id)?.envelope(),
        }
    }

    /// The envelopes of the ops held that name `person` (a subject-access request, an
    /// erasure's reach), in op id order: only the ops whose envelope names someone are
    /// decoded.
    pub fn envelopes_naming(&self, person: PersonId) -> impl Iterator<Item = Envelope> + '_ {
        let mut named = Vec::new();
        self.for_each_stored(&mut |id, s| {
            if s.names_persons()
                && let Some(e) = s.envelope()
                && e.persons.contains(&person)
            {
                named.push((*id, e));
            }
        });
        named.sort_unstable_by_key(|(id, _)| *id);
        named.into_iter().map(|(_, e)| e)
    }

    /// How many distinct ops are held.
    #[must_use]
    pub fn len(&self) -> usize {
        let held = self.paged.as_ref().map_or(self.ops.len(), |p| {
            usize::try_from(p.count).unwrap_or(usize::MAX)
        });
        held + self.equivocations.values().map(Vec::len).sum::<usize>()
    }

    /// Whether no op is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.paged
            .as_ref()
            .map_or(self.ops.is_empty(), |p| p.count == 0)
    }

    /// The persons erased here, in order.
    pub fn erased(&self) -> impl Iterator<Item = PersonId> + '_ {
        self.erased.iter().copied()
    }

    /// How many persons were erased here.
    #[must_use]
    pub fn erased_count(&self) -> usize {
        self.erased.len()
    }

    /// The elements a set field shows, each with the ops that added it (withheld and erased
    /// adds left out): what a reader needs to open sealed elements and to remove one.
    #[must_use]
    pub fn set_adds(&self, kind: EntityKind, id: Id, field: u16) -> Vec<(Vec<u8>, Vec<OpId>)> {
        self.with_record(Key::new(kind.code(), id), |e, _| {
            let Some(Field::Set(s)) = e.fields.get(&field) else {
                return Vec::new();
            };
            s.adds
                .iter()
                .filter_map(|(v, ids)| {
                    let live: Vec<OpId> = ids
                        .iter()
                        .filter(|i| !s.removed.contains(i))
                        .copied()
                        .collect();
                    (!live.is_empty()).then(|| (v.clone(), live))
                })
                .collect()
        })
        .unwrap_or_default()
    }

    /// The op that created a record (the earliest create held): the op that wrote its
    /// initial values, so the one to open them with.
    #[must_use]
    pub fn create_op(&self, kind: EntityKind, id: Id) -> Option<OpId> {
        self.with_record(Key::new(kind.code(), id), |e, _| {
            e.creates.first().map(|(_, op)| *op)
        })?
    }

    /// The surviving writes of a register field, in (HLC, origin, seq) order: what a new
    /// write supersedes to replace them all (several when concurrent).
    #[must_use]
    pub fn register_writes(&self, kind: EntityKind, id: Id, field: u16) -> Vec<OpId> {
        self.with_record(Key::new(kind.code(), id), |e, _| {
            match e.fields.get(&field) {
                Some(Field::Register(r)) => r.survivors().into_iter().map(|(op, _)| op).collect(),
                _ => Vec::new(),
            }
        })
        .unwrap_or_default()
    }

    /// The latest steps of a workflow field (transitions and reopens no other step held
    /// supersedes), in (HLC, origin, seq) order: what a new transition supersedes; the last
    /// is the close a reopen supersedes.
    #[must_use]
    pub fn workflow_heads(&self, kind: EntityKind, id: Id, field: u16) -> Vec<OpId> {
        self.with_record(Key::new(kind.code(), id), |e, _| {
            match e.fields.get(&field) {
                Some(Field::Workflow(w)) => w.heads(),
                _ => Vec::new(),
            }
        })
        .unwrap_or_default()
    }

    /// Whether this person has been erased here.
    #[must_use]
    pub fn is_erased(&self, person: PersonId) -> bool {
        self.erased.contains(&person)
    }

    /// A canonical, JSON-friendly snapshot of the whole state: records with hex values,
    /// conflicts, flags and hashes. Two replicas holding the same ops have equal snapshots.
    #[must_use]
    pub fn snapshot(&self) -> Snapshot {
        let mut records = Vec::new();
        self.for_each_record(Key::MIN, Key::MAX, &mut |key, e, ops| {
            let (kind, id) = (&key.kind(), &key.id());
            let Some(v) = view(ops, *kind, *id, e) else {
                return;
            };
            records.push(SnapshotRecord {
                kind: v.kind,
                id: hex(&v.id.0),
                scope: scope_text(v.scope),
                owner: v.owner.map(scope_text),
                tier: String::from(v.tier.code()),
                tombstoned: v.tombstoned,
                fields: v
                    .fields
                    .into_iter()
                    .map(|(k, f)| (alloc::format!("{k}"), SnapshotField::from(f)))
                    .collect(),
            });
        });
        Snapshot {
            records,
            conflicts: self
                .conflicts()
                .into_iter()
                .map(|c| SnapshotConflict {
                    kind: c.kind,
                    entity: hex(&c.entity.0),
                    field: c.field,
                    candidates: c.candidates.iter().map(|x| x.op.to_string()).collect(),
                    shown: c.shown.to_string(),
                })
                .collect(),
            flags: self
                .flags()
                .into_iter()
                .map(|f| (f.op.to_string(), alloc::format!("{:?}", f.kind)))
                .collect(),
            hashes: self
                .state_hashes()
                .into_iter()
                .map(|((s, t), h)| (alloc::format!("{}/{}", scope_text(s), t.code()), hex(&h)))
                .collect(),
            erased: self.erased.iter().map(|p| hex(&p.0.0)).collect(),
        }
    }
}

/// Lower-case hex of bytes.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(D[usize::from(b >> 4)]));
        s.push(char::from(D[usize::from(b & 15)]));
    }
    s
}

fn scope_text(s: Scope) -> String {
    match s {
        Scope::Municipality(m) => alloc::format!("m:{}", hex(&m.0.0)),
        Scope::Organisation(o) => alloc::format!("o:{}", hex(&o.0.0)),
    }
}

/// The canonical snapshot of a state (see [`State::snapshot`]); conformance vectors hold it
/// as JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Records whose create is held, by (kind, id).
    pub records: Vec<SnapshotRecord>,
    /// Conflicts to review.
    pub conflicts: Vec<SnapshotConflict>,
    /// Flags: (op id, reason).
    pub flags: Vec<(String, String)>,
    /// State hashes by `scope/tier`, hex.
    pub hashes: BTreeMap<String, String>,
    /// Erased persons, hex ids.
    pub erased: Vec<String>,
}

/// A conflict in a [`Snapshot`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotConflict {
    /// Entity kind code.
    pub kind: u16,
    /// Record id, hex.
    pub entity: String,
    /// Field id.
    pub field: u16,
    /// Candidate writes (`origin:seq`), in (HLC, origin, seq) order.
    pub candidates: Vec<String>,
    /// The write shown.
    pub shown: String,
}

/// A record in a [`Snapshot`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotRecord {
    /// Entity kind code.
    pub kind: u16,
    /// Id, hex.
    pub id: String,
    /// Scope at create (`m:` municipality or `o:` organisation, hex id).
    pub scope: String,
    /// Current owner after owner changes.
    pub owner: Option<String>,
    /// Tier.
    pub tier: String,
    /// Tombstoned.
    pub tombstoned: bool,
    /// Fields by id (as text, for JSON).
    pub fields: BTreeMap<String, SnapshotField>,
}

/// A field in a [`Snapshot`]; bytes as hex.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotField {
    /// A register: value (hex, or null where withheld), the write shown, survivors.
    Register {
        /// Hex value.
        value: Option<String>,
        /// The write shown.
        op: String,
        /// Surviving writes.
        survivors: usize,
    },
    /// A set: elements (hex) and hidden adds.
    Set {
        /// Hex elements.
        elements: Vec<String>,
        /// Adds not held here.
        hidden: usize,
    },
    /// A log: (op, hex entry or null).
    Log(Vec<(String, Option<String>)>),
    /// A workflow: state and refused steps.
    Workflow {
        /// State code.
        state: u8,
        /// Refused steps.
        refused: usize,
    },
}

impl From<FieldValue> for SnapshotField {
    fn from(f: FieldValue) -> Self {
        match f {
            FieldValue::Register {
                value,
                op,
                survivors,
            } => SnapshotField::Register {
                value: value.as_deref().map(hex),
                op: op.to_string(),
                survivors,
            },
            FieldValue::Set { elements, hidden } => SnapshotField::Set {
                elements: elements.iter().map(|e| hex(e)).collect(),
                hidden,
            },
            FieldValue::Log(entries) => SnapshotField::Log(
                entries
                    .into_iter()
                    .map(|e| (e.op.to_string(), e.value.as_deref().map(hex)))
                    .collect(),
            ),
            FieldValue::Workflow { state, refused } => SnapshotField::Workflow { state, refused },
        }
    }
}
