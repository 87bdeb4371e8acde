//! Reading: records opened with the keys held here, and the queries apps need.

use std::collections::{BTreeMap, BTreeSet};

use kenesh_merge::{Conflict, FieldValue, Flag, OpId, RecordView};
use kenesh_model::indicators::{self, IndicatorConfig, RawReport, Records};
use kenesh_model::schema::{self, EntityKind, FieldKind};
use kenesh_model::{
    Attendance, CaseStage, Consent, DeviceId, Event, EventId, FiscalYear, GroupId, Id,
    InitiativeGroup, Issue, IssueStatus, LegalAidRequest, LegalCase, Membership, Municipality,
    MunicipalityId, Organisation, Person, PersonId, Recommendation, RecordMeta, Scope, Stamp,
    Timestamp, Workflow,
};
use kenesh_sync::Store;

use crate::Replica;
use crate::codec;
use crate::entity::{AnyRecord, Entity};

/// A field's current value on this replica, opened (plain postcard bytes).
#[derive(Clone, Debug)]
pub(crate) enum Current {
    /// A register: its value if readable here.
    Register(Option<Vec<u8>>),
    /// A set: each readable element, with the element as stored (sealed or not) and the
    /// adds of it.
    Set(Vec<(Vec<u8>, Vec<OpId>)>),
    /// A log: each readable entry, in order.
    Log(Vec<Vec<u8>>),
    /// A workflow's state code.
    Workflow(u8),
}

/// What waits for a person's review: concurrent writes to flagged fields, and flags.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Review {
    /// Concurrent writes to fields whose schema asks for review (values as stored: open
    /// them with [`Replica::open_value`]).
    pub conflicts: Vec<Conflict>,
    /// Ops flagged on merge (refused workflow steps, duplicate creates, equivocations, …).
    pub flags: Vec<Flag>,
}

/// The fields of a record readable here (see [`Replica::fields`]). Sets and logs hold the
/// elements readable here; a field withheld or erased is absent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordFields {
    /// The record's kind.
    pub kind: EntityKind,
    /// Its id, owner scope, tier and provenance (from its create op).
    pub meta: RecordMeta,
    values: BTreeMap<&'static str, Vec<u8>>,
}

impl RecordFields {
    /// A field's value, decoded as the entity struct's field type (`None` when absent here
    /// or of another type).
    #[must_use]
    pub fn get<V: serde::de::DeserializeOwned>(&self, name: &str) -> Option<V> {
        postcard::from_bytes(self.values.get(name)?).ok()
    }

    /// Whether a field is readable here.
    #[must_use]
    pub fn has(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// The names of the fields readable here.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.values.keys().copied()
    }
}

/// A value naming a person in a record that is not about them (a comment, a support).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mention {
    /// The record's kind.
    pub kind: EntityKind,
    /// The record.
    pub record: Id,
    /// The field.
    pub field: &'static str,
    /// The value, opened (postcard, as the model encodes the field or its element).
    pub value: Vec<u8>,
}

/// A person's own data, for a subject-access request (personal data law: within a week).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubjectAccess {
    /// The person.
    pub person: Option<PersonId>,
    /// Whether the person was erased here (then nothing else is readable).
    pub erased: bool,
    /// Records about the person (their person record, consents, attendance, requests,
    /// cases through their requests, …), opened whole.
    pub records: Vec<AnyRecord>,
    /// Values naming the person in records about others (a comment, a support, the
    /// coordinator of a case): those values only.
    pub mentions: Vec<Mention>,
    /// Records naming them that are not readable here (keys withheld or missing).
    pub unreadable: Vec<(EntityKind, Id)>,
}

impl<S: Store> Replica<S> {
    /// Opens one value as stored in the state: `op` wrote it, `field` holds it. `None`
    /// when its key is not held here (withheld, erased) or it does not authenticate.
    #[must_use]
    pub fn open_value(&self, op: OpId, field: u16, value: &[u8]) -> Option<Vec<u8>> {
        self.device.open_value(op, field, value).ok()
    }

    /// The record's view and its fields' current values, opened.
    pub(crate) fn current(
        &self,
        kind: EntityKind,
        id: Id,
    ) -> Option<(RecordView, BTreeMap<u16, Current>)> {
        let state = self.device.state();
        let view = state.record(kind, id)?;
        let mut out = BTreeMap::new();
        for (fid, value) in &view.fields {
            let cur = match value {
                FieldValue::Register { value, op, .. } => {
                    Current::Register(value.as_deref().and_then(|v| self.open_value(*op, *fid, v)))
                }
                FieldValue::Set { .. } => Current::Set(
                    state
                        .set_adds(kind, id, *fid)
                        .into_iter()
                        .filter_map(|(stored, adds)| {
                            let plain = self.open_value(*adds.first()?, *fid, &stored)?;
                            Some((plain, adds))
                        })
                        .collect(),
                ),
                FieldValue::Log(entries) => Current::Log(
                    entries
                        .iter()
                        .filter_map(|e| self.open_value(e.op, *fid, e.value.as_deref()?))
                        .collect(),
                ),
                FieldValue::Workflow { state, .. } => Current::Workflow(*state),
            };
            out.insert(*fid, cur);
        }
        Some((view, out))
    }

    /// A record's fields that are readable here, by name (a partial view: what a peer
    /// without a tier's grant or a person's key can still read). `None` when not held.
    #[must_use]
    pub fn fields(&self, kind: EntityKind, id: Id) -> Option<RecordFields> {
        let (view, fields) = self.current(kind, id)?;
        let create = self.device.state().create_op(kind, id)?;
        let hlc = self.device.state().op(create)?.envelope().hlc;
        let stamp = Stamp {
            at: Timestamp(hlc.millis()),
            device: DeviceId(create.origin.0),
            by: None,
        };
        let meta = RecordMeta {
            id,
            scope: view.owner.unwrap_or(view.scope),
            tier: view.tier,
            created: stamp,
            updated: stamp,
            tombstone: view.tombstoned,
        };
        let mut values: BTreeMap<&'static str, Vec<u8>> = BTreeMap::new();
        for decl in schema::entity(kind).fields.iter().filter(|f| !f.retired) {
            let bytes = match (fields.get(&decl.id), decl.kind) {
                (Some(Current::Register(Some(v))), _) => v.clone(),
                (Some(Current::Register(None)), _) => continue,
                (Some(Current::Set(elements)), _) => {
                    let plain: BTreeSet<&Vec<u8>> = elements.iter().map(|(p, _)| p).collect();
                    let plain: Vec<Vec<u8>> = plain.into_iter().cloned().collect();
                    codec::join_seq(&plain)
                }
                (Some(Current::Log(entries)), _) => codec::join_seq(entries),
                (Some(Current::Workflow(code)), _) => vec![*code],
                (None, FieldKind::Set | FieldKind::Log) => vec![0],
                (None, FieldKind::Workflow(w)) => vec![w.initial()],
                (None, FieldKind::Register) => continue,
            };
            values.insert(decl.name, bytes);
        }
        Some(RecordFields { kind, meta, values })
    }

    /// The record, opened; `None` when it is not held, or a required field is not
    /// readable here (withheld, erased: see [`Replica::fields`] for what is). Tombstoned
    /// records are returned with `meta.tombstone` set.
    #[must_use]
    pub fn get<T: Entity>(&self, id: Id) -> Option<T> {
        let mut f = self.fields(T::KIND, id)?;
        f.values.insert("meta", codec::encode(&f.meta).ok()?);
        codec::build(&f.values).ok()
    }

    /// Every live (not tombstoned) record of a kind that is readable here.
    pub fn all<T: Entity>(&self) -> Vec<T> {
        self.device
            .state()
            .records(T::KIND)
            .filter(|v| !v.tombstoned)
            .filter_map(|v| self.get::<T>(v.id))
            .collect()
    }

    /// Local issues of a municipality (its scope), in any status or in one, whole (not
    /// tombstoned). An issue's `reported_by` is personal: a replica without the personal
    /// tier's read grant cannot read issues whole, and lists their public fields with
    /// [`Replica::fields`] instead.
    #[must_use]
    pub fn issues(
        &self,
        municipality: Option<MunicipalityId>,
        status: Option<IssueStatus>,
    ) -> Vec<Issue> {
        let status_field = workflow_field(EntityKind::Issue);
        self.device
            .state()
            .records(EntityKind::Issue)
            .filter(|v| !v.tombstoned)
            .filter(|v| {
                municipality.is_none_or(|m| v.owner.unwrap_or(v.scope) == Scope::Municipality(m))
            })
            .filter(|v| {
                status.is_none_or(|s| {
                    let code = match v.fields.get(&status_field) {
                        Some(FieldValue::Workflow { state, .. }) => *state,
                        _ => IssueStatus::INITIAL.code(),
                    };
                    code == s.code()
                })
            })
            .filter_map(|v| self.get::<Issue>(v.id))
            .collect()
    }

    /// The members of an initiative group (memberships readable here, left ones included:
    /// see [`Membership::left`]).
    #[must_use]
    pub fn group_members(&self, group: GroupId) -> Vec<Membership> {
        self.all::<Membership>()
            .into_iter()
            .filter(|m| m.group == group)
            .collect()
    }

    /// The attendance rows of an event.
    #[must_use]
    pub fn attendance(&self, event: EventId) -> Vec<Attendance> {
        self.all::<Attendance>()
            .into_iter()
            .filter(|a| a.event == event)
            .collect()
    }

    /// The legal cases a scope owns (after owner changes).
    #[must_use]
    pub fn cases_by_owner(&self, owner: Scope) -> Vec<LegalCase> {
        self.device
            .state()
            .records(EntityKind::LegalCase)
            .filter(|v| !v.tombstoned && v.owner.unwrap_or(v.scope) == owner)
            .filter_map(|v| self.get::<LegalCase>(v.id))
            .collect()
    }

    /// Conflicts and flags waiting for a person's review.
    #[must_use]
    pub fn review(&self) -> Review {
        Review {
            conflicts: self.device.state().conflicts(),
            flags: self.device.state().flags(),
        }
    }

    /// Everything this replica holds that names `person`, opened: for a subject-access
    /// request. Records about them come whole; in other records only the values their ops
    /// name them in (a comment, a support), never other people's.
    #[must_use]
    pub fn subject_access(&self, person: PersonId) -> SubjectAccess {
        let state = self.device.state();
        let mut out = SubjectAccess {
            person: Some(person),
            erased: state.is_erased(person),
            ..SubjectAccess::default()
        };
        // The records whose create names them are about them; elsewhere, the ops naming
        // them are mentions.
        let mut about: BTreeSet<(u16, Id)> = BTreeSet::new();
        let mut mentions: BTreeSet<(u16, Id, u16, OpId)> = BTreeSet::new();
        for e in state.envelopes_naming(person) {
            if EntityKind::from_code(e.kind).is_none() {
                continue;
            }
            if e.action == kenesh_merge::Action::CREATE {
                about.insert((e.kind, e.entity));
            } else if e.action != kenesh_merge::Action::ERASE {
                mentions.insert((e.kind, e.entity, e.field, e.id()));
            }
        }
        for (code, id) in &about {
            let Some(kind) = EntityKind::from_code(*code) else {
                continue;
            };
            let Some(record) = self.any(kind, *id) else {
                out.unreadable.push((kind, *id));
                continue;
            };
            // About them (their record, their consent, their case through its request):
            // the whole record. Merely named in it (the coordinator of someone else's
            // case, the staff member who assisted a consent): only those values.
            let mut subjects = record.subjects();
            if let Some((pk, pid)) = record.parent()
                && let Some(op) = state.create_op(pk, pid).and_then(|op| state.op(op))
            {
                subjects.extend(op.envelope().persons.iter().copied());
            }
            if subjects.contains(&person) {
                out.records.push(record);
                continue;
            }
            for f in record.split().unwrap_or_default() {
                if f.name != "meta" && f.persons.contains(&person) {
                    out.mentions.push(Mention {
                        kind,
                        record: *id,
                        field: f.name,
                        value: f.bytes,
                    });
                }
            }
        }
        for (code, id, field, op) in mentions {
            let Some(kind) = EntityKind::from_code(code) else {
                continue;
            };
            if about.contains(&(code, id)) {
                continue;
            }
            let Some(decl) = schema::entity(kind).field(field) else {
                continue;
            };
            let Some(value) = self.value_of(kind, id, field, op) else {
                continue;
            };
            out.mentions.push(Mention {
                kind,
                record: id,
                field: decl.name,
                value,
            });
        }
        out.mentions
            .sort_by(|a, b| (a.kind, a.record, a.field).cmp(&(b.kind, b.record, b.field)));
        out
    }

    /// The value `op` wrote into a field, as the state still holds it, opened.
    fn value_of(&self, kind: EntityKind, id: Id, field: u16, op: OpId) -> Option<Vec<u8>> {
        let state = self.device.state();
        match state.field(kind, id, field)? {
            FieldValue::Register {
                value, op: shown, ..
            } if shown == op => self.open_value(op, field, value.as_deref()?),
            FieldValue::Log(entries) => entries
                .iter()
                .find(|e| e.op == op)
                .and_then(|e| self.open_value(op, field, e.value.as_deref()?)),
            FieldValue::Set { .. } => state
                .set_adds(kind, id, field)
                .into_iter()
                .find(|(_, adds)| adds.contains(&op))
                .and_then(|(stored, _)| self.open_value(op, field, &stored)),
            _ => None,
        }
    }

    fn any(&self, kind: EntityKind, id: Id) -> Option<AnyRecord> {
        fn get<T: Entity, S: Store>(r: &Replica<S>, id: Id) -> Option<AnyRecord> {
            r.get::<T>(id).map(Entity::into_any)
        }
        match kind {
            EntityKind::Municipality => get::<Municipality, S>(self, id),
            EntityKind::Organisation => get::<Organisation, S>(self, id),
            EntityKind::Person => get::<Person, S>(self, id),
            EntityKind::Consent => get::<Consent, S>(self, id),
            EntityKind::InitiativeGroup => get::<InitiativeGroup, S>(self, id),
            EntityKind::Membership => get::<Membership, S>(self, id),
            EntityKind::Issue => get::<Issue, S>(self, id),
            EntityKind::Recommendation => get::<Recommendation, S>(self, id),
            EntityKind::Event => get::<Event, S>(self, id),
            EntityKind::Attendance => get::<Attendance, S>(self, id),
            EntityKind::Campaign => get::<kenesh_model::Campaign, S>(self, id),
            EntityKind::LegalAidRequest => get::<LegalAidRequest, S>(self, id),
            EntityKind::LegalCase => get::<LegalCase, S>(self, id),
            EntityKind::CaseStage => get::<CaseStage, S>(self, id),
            _ => None,
        }
    }

    /// The records the indicator report counts, as readable here (tombstoned ones
    /// included: the report leaves them out itself).
    #[must_use]
    pub fn indicator_records(&self) -> Records {
        fn every<T: Entity, S: Store>(r: &Replica<S>) -> Vec<T> {
            r.device
                .state()
                .records(T::KIND)
                .filter_map(|v| r.get::<T>(v.id))
                .collect()
        }
        Records {
            persons: every(self),
            events: every(self),
            attendance: every(self),
            requests: every(self),
            cases: every(self),
            stages: every(self),
            groups: every(self),
            memberships: every(self),
            issues: every(self),
            recommendations: every(self),
            campaigns: every(self),
        }
    }

    /// The programme's indicator report for a fiscal year, from the records readable here,
    /// unsuppressed (for staff allowed to see small numbers): call
    /// [`RawReport::publish`] for the report anyone may see.
    #[must_use]
    pub fn indicator_report(&self, year: FiscalYear, config: &IndicatorConfig) -> RawReport {
        indicators::compute(&self.indicator_records(), year, config)
    }
}

/// The id of the workflow field of a kind (every kind with a status has one).
pub(crate) fn workflow_field(kind: EntityKind) -> u16 {
    schema::entity(kind)
        .fields
        .iter()
        .find(|f| matches!(f.kind, FieldKind::Workflow(_)) && !f.retired)
        .map_or(0, |f| f.id)
}
