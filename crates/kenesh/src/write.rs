//! Writing: typed, validated operations that become sealed, signed, durable ops.

use kenesh_merge::{Action, CreatePayload, OpError, OpId, TransitionPayload};
use kenesh_model::schema::{EntityKind, FieldDecl, FieldKind};
use kenesh_model::{
    Attendance, CaseStage, CaseStatus, Closure, Comment, Consent, Event, Hearing, Id,
    InitiativeGroup, Issue, IssueId, LegalAidRequest, LegalCase, Membership, Person, PersonId,
    Recommendation, Scope, Tier, Timestamp, TransitionError, ValidationError, Workflow,
};
use kenesh_sync::Store;

use crate::Replica;
use crate::codec::{self, SplitField};
use crate::entity::Entity;
use crate::read::Current;

/// Why a write was refused. A refused write changes nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The model refused the record; the error names the field and the limit.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The record (or the record it belongs to) is not held here.
    #[error("no {kind} {id} is held here")]
    UnknownRecord {
        /// Its kind.
        kind: EntityKind,
        /// Its id.
        id: Id,
    },
    /// A record with this id exists already.
    #[error("a {kind} {id} exists already")]
    AlreadyExists {
        /// Its kind.
        kind: EntityKind,
        /// Its id.
        id: Id,
    },
    /// A required value of the record is not readable here (its key is withheld), so it
    /// cannot be edited from here.
    #[error("{kind}.{field} of {id} is not readable here")]
    Unreadable {
        /// Its kind.
        kind: EntityKind,
        /// Its id.
        id: Id,
        /// The field.
        field: &'static str,
    },
    /// The workflow forbids the status change (checked before any op is made).
    #[error("{kind}.{field}: {source}")]
    Transition {
        /// The record's kind.
        kind: EntityKind,
        /// The workflow field.
        field: &'static str,
        /// Why the state machine refused.
        source: TransitionError,
    },
    /// The write names a person erased here: nothing is written about them any more.
    #[error("person {0} was erased")]
    ErasedPerson(PersonId),
    /// A value is too large to travel: one op must fit in one protocol frame
    /// ([`FRAME_BUDGET`] bytes, sealed), even where the model's limit is larger.
    #[error("{kind}.{field}: {bytes} bytes in one op, more than the {max} a frame carries")]
    ValueTooLarge {
        /// The record's kind.
        kind: EntityKind,
        /// The field.
        field: &'static str,
        /// The op's size.
        bytes: usize,
        /// The most one op may take.
        max: usize,
    },
    /// An op limit was broken (a value too large for one op).
    #[error(transparent)]
    Op(#[from] OpError),
    /// Sealing, signing or storing failed.
    #[error(transparent)]
    Sync(#[from] kenesh_sync::SyncError),
    /// The store failed to make the commit durable.
    #[error(transparent)]
    Store(#[from] kenesh_sync::StoreError),
    /// A value did not encode (never for the model's entities).
    #[error("encoding: {0}")]
    Encoding(String),
}

impl From<codec::CodecError> for WriteError {
    fn from(e: codec::CodecError) -> Self {
        WriteError::Encoding(e.0)
    }
}

/// The most bytes one commit's ops may take (envelopes, payloads and their framing) so the
/// commit fits in one protocol frame ([`kenesh_proto::DEFAULT_MAX_FRAME`]) with its header
/// and signature.
pub const FRAME_BUDGET: usize = kenesh_proto::DEFAULT_MAX_FRAME - 512;

/// An op's bytes in a commit frame, with room for its length prefixes and body tag.
fn op_size(op: &kenesh_merge::Op) -> usize {
    op.envelope_len() + op.payload().map_or(0, |p| p.bytes.len()) + 16
}

/// An estimate of a create op's size before it is sealed: its fields, each sealed, and an
/// envelope naming `persons`.
fn create_estimate(fields: &[(u16, Vec<u8>)], persons: usize) -> usize {
    fields
        .iter()
        .map(|(_, v)| v.len() + kenesh_sync::keys::SEALED_OVERHEAD + 8)
        .sum::<usize>()
        + 17 * persons
        + 128
}

/// One op to make.
struct Plan {
    scope: Scope,
    persons: Vec<PersonId>,
    kind: EntityKind,
    entity: Id,
    field: u16,
    action: Action,
    tier: Tier,
    supersedes: Vec<OpId>,
    payload: Vec<u8>,
}

/// Writes to a replica, stamping ops at one time (see [`Replica::at`]).
#[derive(Debug)]
pub struct Writer<'a, S: Store> {
    replica: &'a mut Replica<S>,
    now_ms: u64,
}

fn union(a: &[PersonId], b: &[PersonId]) -> Vec<PersonId> {
    let mut v: Vec<PersonId> = a.iter().chain(b).copied().collect();
    v.sort();
    v.dedup();
    v
}

fn decl(kind: EntityKind, name: &str) -> Result<&'static FieldDecl, WriteError> {
    kenesh_model::schema::entity(kind)
        .field_by_name(name)
        .ok_or_else(|| WriteError::Encoding(format!("{kind}.{name} is not in the schema")))
}

impl<'a, S: Store> Writer<'a, S> {
    pub(crate) fn new(replica: &'a mut Replica<S>, now_ms: u64) -> Writer<'a, S> {
        Writer { replica, now_ms }
    }

    /// The persons of the create op of a record held here.
    fn create_persons(&self, kind: EntityKind, id: Id) -> Option<Vec<PersonId>> {
        let state = self.replica.device.state();
        let op = state.create_op(kind, id)?;
        Some(state.op(op)?.envelope().persons.clone())
    }

    /// Makes, seals, signs and stores the ops; durable when it returns.
    fn apply(&mut self, plans: Vec<Plan>) -> Result<(), WriteError> {
        if plans.is_empty() {
            return Ok(());
        }
        let state = self.replica.device.state();
        for p in &plans {
            if let Some(gone) = p.persons.iter().find(|p| state.is_erased(**p)) {
                return Err(WriteError::ErasedPerson(*gone));
            }
        }
        let Replica { device, rng } = &mut *self.replica;
        let mut b = device.builder();
        b.at(self.now_ms);
        let mut ops = Vec::with_capacity(plans.len());
        for p in plans {
            b.scope(p.scope).persons(&p.persons);
            let op = b.raw(
                p.kind.code(),
                p.entity,
                p.field,
                p.action,
                p.tier,
                &p.supersedes,
                p.payload,
            )?;
            let op = device.seal(op, &mut || {
                let mut k = [0u8; 32];
                rand::RngCore::fill_bytes(rng, &mut k);
                k
            })?;
            ops.push(op);
        }
        // Every op must fit a frame alone: checked before anything is committed.
        if let Some(op) = ops.iter().find(|op| op_size(op) > FRAME_BUDGET) {
            let e = op.envelope();
            let kind = EntityKind::from_code(e.kind).unwrap_or(EntityKind::Person);
            let field = kenesh_model::schema::entity(kind)
                .field(e.field)
                .map_or("(record)", |f| f.name);
            return Err(WriteError::ValueTooLarge {
                kind,
                field,
                bytes: op_size(op),
                max: FRAME_BUDGET,
            });
        }
        // As many commits as the frames need; one store sync makes them durable together.
        let mut start = 0;
        while start < ops.len() {
            let mut end = start;
            let mut size = 0;
            while end < ops.len() && (end == start || size + op_size(&ops[end]) <= FRAME_BUDGET) {
                size += op_size(&ops[end]);
                end += 1;
            }
            device.commit(&ops[start..end])?;
            start = end;
        }
        device.sync()?;
        Ok(())
    }

    /// The ops adding a set's elements or a log's entries.
    #[allow(clippy::too_many_arguments)]
    fn element_plans(
        plans: &mut Vec<Plan>,
        scope: Scope,
        subjects: &[PersonId],
        kind: EntityKind,
        id: Id,
        d: &FieldDecl,
        tier: Tier,
        elements: Vec<(Vec<u8>, Vec<PersonId>)>,
    ) {
        let action = if d.kind == FieldKind::Set {
            Action::ADD
        } else {
            Action::APPEND
        };
        for (bytes, persons) in elements {
            plans.push(Plan {
                scope,
                persons: union(subjects, &persons),
                kind,
                entity: id,
                field: d.id,
                action,
                tier,
                supersedes: Vec::new(),
                payload: bytes,
            });
        }
    }

    /// Creates a record of any entity kind, after the model validated it. Its personal and
    /// sensitive values are sealed with the keys of the persons they concern.
    ///
    /// # Errors
    /// [`WriteError::Invalid`] naming the field; [`WriteError::AlreadyExists`];
    /// [`WriteError::UnknownRecord`] when the record it belongs to (a case's request, an
    /// attendance's event, a membership's group, a consent's person) is not held here;
    /// [`WriteError::ErasedPerson`].
    pub fn create<T: Entity>(&mut self, record: &T) -> Result<(), WriteError> {
        record.validate()?;
        let kind = T::KIND;
        let id = record.meta().id;
        if self.replica.device.state().create_op(kind, id).is_some() {
            return Err(WriteError::AlreadyExists { kind, id });
        }
        let mut subjects = record.subjects();
        if let Some((pk, pid)) = record.parent() {
            let inherited = self
                .create_persons(pk, pid)
                .ok_or(WriteError::UnknownRecord { kind: pk, id: pid })?;
            subjects = union(&subjects, &inherited);
        }
        let scope = record.meta().scope;
        let rec_tier = record.meta().tier.max(T::schema().min_tier);
        let mut create_fields = Vec::new();
        let mut create_persons = subjects.clone();
        let mut later = Vec::new();
        for f in codec::split(record)? {
            if f.name == "meta" {
                continue;
            }
            let d = decl(kind, f.name)?;
            let tier = rec_tier.max(d.tier);
            match d.kind {
                FieldKind::Register | FieldKind::Workflow(_) if tier == rec_tier => {
                    create_persons = union(&create_persons, &f.persons);
                    create_fields.push((d.id, f.bytes));
                }
                // A workflow's state codes stay in the clear: it starts in the create.
                FieldKind::Workflow(_) => create_fields.push((d.id, f.bytes)),
                FieldKind::Register => later.push(Plan {
                    scope,
                    persons: union(&subjects, &f.persons),
                    kind,
                    entity: id,
                    field: d.id,
                    action: Action::SET,
                    tier,
                    supersedes: Vec::new(),
                    payload: f.bytes,
                }),
                FieldKind::Set | FieldKind::Log => {
                    let SplitField { elements, .. } = f;
                    let elements = elements.unwrap_or_default();
                    Self::element_plans(&mut later, scope, &subjects, kind, id, d, tier, elements);
                }
            }
        }
        // A create too large for a frame leaves its largest values to ops of their own.
        while create_estimate(&create_fields, create_persons.len()) > FRAME_BUDGET {
            let largest = create_fields
                .iter()
                .enumerate()
                .filter(|(_, (fid, _))| {
                    T::schema()
                        .field(*fid)
                        .is_some_and(|d| d.kind == FieldKind::Register)
                })
                .max_by_key(|(_, (_, v))| v.len())
                .map(|(i, _)| i);
            let Some(i) = largest else { break };
            let (fid, bytes) = create_fields.remove(i);
            later.insert(
                0,
                Plan {
                    scope,
                    persons: create_persons.clone(),
                    kind,
                    entity: id,
                    field: fid,
                    action: Action::SET,
                    tier: rec_tier,
                    supersedes: Vec::new(),
                    payload: bytes,
                },
            );
        }
        let mut plans = vec![Plan {
            scope,
            persons: create_persons,
            kind,
            entity: id,
            field: 0,
            action: Action::CREATE,
            tier: rec_tier,
            supersedes: Vec::new(),
            payload: kenesh_merge::encode(&CreatePayload {
                fields: create_fields,
            }),
        }];
        plans.extend(later);
        self.apply(plans)
    }

    /// Edits a record of any kind to become `record` (read it with [`Replica::get`],
    /// change it, pass it here): validated by the model first, then one op per changed
    /// field — a register write superseding the writes seen, set adds and removes, log
    /// appends, and a status change checked against the workflow.
    ///
    /// # Errors
    /// [`WriteError::Invalid`]; [`WriteError::UnknownRecord`]; [`WriteError::Transition`];
    /// [`WriteError::ErasedPerson`].
    pub fn update<T: Entity>(&mut self, record: &T) -> Result<(), WriteError> {
        record.validate()?;
        let kind = T::KIND;
        let id = record.meta().id;
        let (view, current) = self
            .replica
            .current(kind, id)
            .filter(|(v, _)| !v.tombstoned)
            .ok_or(WriteError::UnknownRecord { kind, id })?;
        let subjects = self.create_persons(kind, id).unwrap_or_default();
        let state = self.replica.device.state();
        let (scope, rec_tier) = (view.scope, view.tier);
        let mut plans = Vec::new();
        for f in codec::split(record)? {
            if f.name == "meta" {
                continue;
            }
            let d = decl(kind, f.name)?;
            let tier = rec_tier.max(d.tier);
            let cur = current.get(&d.id);
            match d.kind {
                FieldKind::Register => {
                    match cur {
                        Some(Current::Register(Some(v))) if *v == f.bytes => continue,
                        // Held but not readable here (a key withheld): the record read here
                        // showed it absent, so leaving it absent is no change, and must not
                        // overwrite what others can read.
                        Some(Current::Register(None)) if f.bytes == [0] => continue,
                        _ => {}
                    }
                    plans.push(Plan {
                        scope,
                        persons: union(&subjects, &f.persons),
                        kind,
                        entity: id,
                        field: d.id,
                        action: Action::SET,
                        tier,
                        supersedes: state.register_writes(kind, id, d.id),
                        payload: f.bytes,
                    });
                }
                FieldKind::Workflow(w) => {
                    let from = match cur {
                        Some(Current::Workflow(c)) => *c,
                        _ => w.initial(),
                    };
                    let to = f.bytes.first().copied().unwrap_or(0);
                    if from == to {
                        continue;
                    }
                    w.transition(from, to)
                        .map_err(|source| WriteError::Transition {
                            kind,
                            field: d.name,
                            source,
                        })?;
                    plans.push(Plan {
                        scope,
                        persons: subjects.clone(),
                        kind,
                        entity: id,
                        field: d.id,
                        action: Action::TRANSITION,
                        tier,
                        supersedes: state.workflow_heads(kind, id, d.id),
                        payload: kenesh_merge::encode(&TransitionPayload { from, to }),
                    });
                }
                FieldKind::Set => {
                    let new = f.elements.unwrap_or_default();
                    let held: Vec<(Vec<u8>, Vec<OpId>)> = match cur {
                        Some(Current::Set(s)) => s.clone(),
                        _ => Vec::new(),
                    };
                    let added: Vec<_> = new
                        .iter()
                        .filter(|(b, _)| !held.iter().any(|(h, _)| h == b))
                        .cloned()
                        .collect();
                    Self::element_plans(&mut plans, scope, &subjects, kind, id, d, tier, added);
                    for (plain, adds) in &held {
                        if new.iter().any(|(b, _)| b == plain) {
                            continue;
                        }
                        // A remove names the adds it removes; its payload stays empty so
                        // nothing personal travels in the clear.
                        plans.push(Plan {
                            scope,
                            persons: subjects.clone(),
                            kind,
                            entity: id,
                            field: d.id,
                            action: Action::REMOVE,
                            tier,
                            supersedes: adds.clone(),
                            payload: Vec::new(),
                        });
                    }
                }
                FieldKind::Log => {
                    let mut held: Vec<Vec<u8>> = match cur {
                        Some(Current::Log(l)) => l.clone(),
                        _ => Vec::new(),
                    };
                    let mut appended = Vec::new();
                    for (bytes, persons) in f.elements.unwrap_or_default() {
                        if let Some(i) = held.iter().position(|h| *h == bytes) {
                            held.swap_remove(i);
                        } else {
                            appended.push((bytes, persons));
                        }
                    }
                    Self::element_plans(&mut plans, scope, &subjects, kind, id, d, tier, appended);
                }
            }
        }
        self.apply(plans)
    }

    /// Reads a record to change it, or says why it cannot be.
    fn load<T: Entity>(&self, id: Id) -> Result<T, WriteError> {
        let kind = T::KIND;
        let state = self.replica.device.state();
        match state.record(kind, id) {
            None => Err(WriteError::UnknownRecord { kind, id }),
            Some(v) if v.tombstoned => Err(WriteError::UnknownRecord { kind, id }),
            Some(_) => self.replica.get::<T>(id).ok_or(WriteError::Unreadable {
                kind,
                id,
                field: "a required field",
            }),
        }
    }

    /// Moves a record's status (its workflow field) to `to`, refusing with a typed error
    /// before any op is made when the model's state machine forbids the step.
    ///
    /// # Errors
    /// [`WriteError::UnknownRecord`]; [`WriteError::Transition`].
    pub fn set_status<T: Entity, W: Workflow>(&mut self, id: Id, to: W) -> Result<(), WriteError> {
        let kind = T::KIND;
        let d = T::schema()
            .fields
            .iter()
            .find(|f| f.kind == FieldKind::Workflow(W::KIND) && !f.retired)
            .ok_or_else(|| WriteError::Encoding(format!("{kind} has no {} workflow", W::KIND)))?;
        let (view, current) = self
            .replica
            .current(kind, id)
            .filter(|(v, _)| !v.tombstoned)
            .ok_or(WriteError::UnknownRecord { kind, id })?;
        let from = match current.get(&d.id) {
            Some(Current::Workflow(c)) => *c,
            _ => W::INITIAL.code(),
        };
        W::KIND
            .transition(from, to.code())
            .map_err(|source| WriteError::Transition {
                kind,
                field: d.name,
                source,
            })?;
        // The record with its new status must still satisfy the model (a closed case has a
        // closure): checked where the record is readable here.
        if let Some(record) = self.replica.get::<T>(id) {
            let mut fields: std::collections::BTreeMap<&'static str, Vec<u8>> =
                codec::split(&record)?
                    .into_iter()
                    .map(|f| (f.name, f.bytes))
                    .collect();
            fields.insert(d.name, vec![to.code()]);
            codec::build::<T>(&fields)?.validate()?;
        }
        let plan = Plan {
            scope: view.scope,
            persons: self.create_persons(kind, id).unwrap_or_default(),
            kind,
            entity: id,
            field: d.id,
            action: Action::TRANSITION,
            tier: view.tier.max(d.tier),
            supersedes: self.replica.device.state().workflow_heads(kind, id, d.id),
            payload: kenesh_merge::encode(&TransitionPayload {
                from,
                to: to.code(),
            }),
        };
        self.apply(vec![plan])
    }

    /// Reopens a record whose status is terminal (an audited act of its own), to the state
    /// the workflow reopens it to.
    ///
    /// # Errors
    /// [`WriteError::UnknownRecord`]; [`WriteError::Transition`] when the state is not
    /// terminal or cannot be reopened.
    pub fn reopen<T: Entity, W: Workflow>(&mut self, id: Id) -> Result<(), WriteError> {
        let kind = T::KIND;
        let d = T::schema()
            .fields
            .iter()
            .find(|f| f.kind == FieldKind::Workflow(W::KIND) && !f.retired)
            .ok_or_else(|| WriteError::Encoding(format!("{kind} has no {} workflow", W::KIND)))?;
        let (view, current) = self
            .replica
            .current(kind, id)
            .filter(|(v, _)| !v.tombstoned)
            .ok_or(WriteError::UnknownRecord { kind, id })?;
        let from = match current.get(&d.id) {
            Some(Current::Workflow(c)) => *c,
            _ => W::INITIAL.code(),
        };
        let err = |source| WriteError::Transition {
            kind,
            field: d.name,
            source,
        };
        W::KIND.reopen(from).map_err(err)?;
        let heads = self.replica.device.state().workflow_heads(kind, id, d.id);
        let close = match heads.last() {
            Some(op) => *op,
            None => self
                .replica
                .device
                .state()
                .create_op(kind, id)
                .ok_or(WriteError::UnknownRecord { kind, id })?,
        };
        let plan = Plan {
            scope: view.scope,
            persons: self.create_persons(kind, id).unwrap_or_default(),
            kind,
            entity: id,
            field: d.id,
            action: Action::REOPEN,
            tier: view.tier.max(d.tier),
            supersedes: vec![close],
            payload: Vec::new(),
        };
        self.apply(vec![plan])
    }

    /// Tombstones a record: hidden from queries, kept for merges.
    ///
    /// # Errors
    /// [`WriteError::UnknownRecord`].
    pub fn tombstone<T: Entity>(&mut self, id: Id) -> Result<(), WriteError> {
        let kind = T::KIND;
        let view = self
            .replica
            .device
            .state()
            .record(kind, id)
            .filter(|v| !v.tombstoned)
            .ok_or(WriteError::UnknownRecord { kind, id })?;
        let plan = Plan {
            scope: view.scope,
            persons: self.create_persons(kind, id).unwrap_or_default(),
            kind,
            entity: id,
            field: 0,
            action: Action::TOMBSTONE,
            tier: view.tier,
            supersedes: Vec::new(),
            payload: Vec::new(),
        };
        self.apply(vec![plan])
    }

    // --- Typed operations by domain (each validated by the model through create/update).

    /// Registers a person (their values sealed with their own keys).
    ///
    /// # Errors
    /// As [`Writer::create`].
    pub fn add_person(&mut self, person: &Person) -> Result<(), WriteError> {
        self.create(person)
    }

    /// Files a local issue.
    ///
    /// # Errors
    /// As [`Writer::create`].
    pub fn create_issue(&mut self, issue: &Issue) -> Result<(), WriteError> {
        self.create(issue)
    }

    /// Edits a local issue (title, description, category, …).
    ///
    /// # Errors
    /// As [`Writer::update`].
    pub fn edit_issue(&mut self, issue: &Issue) -> Result<(), WriteError> {
        self.update(issue)
    }

    /// A person supports an issue (once: supporting again changes nothing).
    ///
    /// # Errors
    /// [`WriteError::UnknownRecord`]; [`WriteError::ErasedPerson`]; [`WriteError::Invalid`]
    /// past the supporters limit.
    pub fn support_issue(&mut self, issue: IssueId, person: PersonId) -> Result<(), WriteError> {
        let mut i: Issue = self.load(issue.0)?;
        if self.replica.device.state().is_erased(person) {
            return Err(WriteError::ErasedPerson(person));
        }
        i.supporters.insert(person);
        self.update(&i)
    }

    /// A person withdraws their support of an issue (a remove of the adds seen here).
    ///
    /// # Errors
    /// [`WriteError::UnknownRecord`].
    pub fn withdraw_support(&mut self, issue: IssueId, person: PersonId) -> Result<(), WriteError> {
        let mut i: Issue = self.load(issue.0)?;
        i.supporters.remove(&person);
        self.update(&i)
    }

    /// Comments on an issue (the comment names its author, if any).
    ///
    /// # Errors
    /// [`WriteError::UnknownRecord`]; [`WriteError::Invalid`] (`issue.comments`: text too
    /// long or too many); [`WriteError::ErasedPerson`].
    pub fn comment(&mut self, issue: IssueId, comment: Comment) -> Result<(), WriteError> {
        let mut i: Issue = self.load(issue.0)?;
        i.comments.push(comment);
        self.update(&i)
    }

    /// Forms an initiative group.
    ///
    /// # Errors
    /// As [`Writer::create`].
    pub fn form_group(&mut self, group: &InitiativeGroup) -> Result<(), WriteError> {
        self.create(group)
    }

    /// Adds a member to a group (the group must be held here).
    ///
    /// # Errors
    /// As [`Writer::create`].
    pub fn add_member(&mut self, membership: &Membership) -> Result<(), WriteError> {
        self.create(membership)
    }

    /// Drafts a policy recommendation.
    ///
    /// # Errors
    /// As [`Writer::create`].
    pub fn draft_recommendation(&mut self, rec: &Recommendation) -> Result<(), WriteError> {
        self.create(rec)
    }

    /// Plans an event.
    ///
    /// # Errors
    /// As [`Writer::create`].
    pub fn plan_event(&mut self, event: &Event) -> Result<(), WriteError> {
        self.create(event)
    }

    /// Records a person's attendance at an event (the event must be held here).
    ///
    /// # Errors
    /// As [`Writer::create`].
    pub fn record_attendance(&mut self, attendance: &Attendance) -> Result<(), WriteError> {
        self.create(attendance)
    }

    /// Takes a legal-aid request (sealed with the applicant's and receiver's keys).
    ///
    /// # Errors
    /// As [`Writer::create`].
    pub fn take_request(&mut self, request: &LegalAidRequest) -> Result<(), WriteError> {
        self.create(request)
    }

    /// Opens a legal case on a request held here (sealed with the request's persons' keys).
    ///
    /// # Errors
    /// As [`Writer::create`].
    pub fn open_case(&mut self, case: &LegalCase) -> Result<(), WriteError> {
        self.create(case)
    }

    /// Moves a case along its workflow.
    ///
    /// # Errors
    /// As [`Writer::set_status`].
    pub fn progress_case(&mut self, case: Id, to: CaseStatus) -> Result<(), WriteError> {
        self.set_status::<LegalCase, _>(case, to)
    }

    /// Closes a case with its closure (category, date, outcome), in one commit.
    ///
    /// # Errors
    /// As [`Writer::update`]; [`WriteError::Transition`] when the case cannot close from
    /// its status.
    pub fn close_case(&mut self, case: Id, closure: Closure) -> Result<(), WriteError> {
        let mut c: LegalCase = self.load(case)?;
        c.status = CaseStatus::Closed;
        c.closure = Some(closure);
        self.update(&c)
    }

    /// Records a hearing of a case.
    ///
    /// # Errors
    /// As [`Writer::update`].
    pub fn add_hearing(&mut self, case: Id, hearing: Hearing) -> Result<(), WriteError> {
        let mut c: LegalCase = self.load(case)?;
        c.hearings.push(hearing);
        self.update(&c)
    }

    /// Records a procedural stage of a case (the case must be held here).
    ///
    /// # Errors
    /// As [`Writer::create`].
    pub fn add_stage(&mut self, stage: &CaseStage) -> Result<(), WriteError> {
        self.create(stage)
    }

    /// Records a person's consent (the person must be held here).
    ///
    /// # Errors
    /// As [`Writer::create`].
    pub fn record_consent(&mut self, consent: &Consent) -> Result<(), WriteError> {
        self.create(consent)
    }

    /// Withdraws a consent at `at`.
    ///
    /// # Errors
    /// [`WriteError::UnknownRecord`]; [`WriteError::Invalid`] (`consent.withdrawn_at`
    /// before `given_at`).
    pub fn withdraw_consent(&mut self, consent: Id, at: Timestamp) -> Result<(), WriteError> {
        let mut c: Consent = self.load(consent)?;
        c.withdrawn_at = Some(at);
        self.update(&c)
    }

    /// Erases a person: every payload naming them is destroyed wherever the erasure
    /// reaches, and their keys are shredded here when it returns.
    ///
    /// # Errors
    /// [`WriteError::ErasedPerson`] when already erased; [`WriteError::UnknownRecord`]
    /// when the person's record is not held here (its scope is where the erasure goes).
    pub fn erase_person(&mut self, person: PersonId) -> Result<(), WriteError> {
        if self.replica.device.state().is_erased(person) {
            return Err(WriteError::ErasedPerson(person));
        }
        // The erasure travels in the person record's scope, where the server judges it.
        let scope = self
            .replica
            .device
            .state()
            .record(EntityKind::Person, person.0)
            .map(|v| v.owner.unwrap_or(v.scope))
            .ok_or(WriteError::UnknownRecord {
                kind: EntityKind::Person,
                id: person.0,
            })?;
        let Replica { device, .. } = &mut *self.replica;
        let mut b = device.builder();
        b.at(self.now_ms).scope(scope);
        let op = b.erase(person)?;
        device.commit(&[op])?;
        device.sync()?;
        Ok(())
    }
}
