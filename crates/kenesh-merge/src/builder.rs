//! Making ops on one device: numbering, clock, salt and the envelope's fields.

use alloc::vec::Vec;

use kenesh_model::schema::{self, EntityKind};
use kenesh_model::{DeviceId, Id, MunicipalityId, PersonId, Scope, Tier};
use serde::Serialize;

use crate::op::{Action, CreatePayload, Envelope, Op, OpError, OpId, Payload, TransitionPayload};
use crate::{FixedClock, HlcClock};

/// Makes the ops of one device: contiguous seqs from 1, HLC timestamps from the clock it is
/// given, the commit salt, and envelopes with the scope, tier and persons of each op.
///
/// ```
/// use kenesh_merge::{OpBuilder, State};
/// use kenesh_model::{schema::EntityKind, Id};
///
/// let mut kiosk = OpBuilder::new(7);
/// let issue = Id::from_u128(42);
/// let create = kiosk.create(EntityKind::Issue, issue, vec![(1, b"title".to_vec())]).unwrap();
/// let edit = kiosk.set(EntityKind::Issue, issue, 1, b"better title".to_vec(), &[create.id()]).unwrap();
/// let mut state = State::new();
/// state.apply(edit);
/// state.apply(create);
/// let title = state.field(EntityKind::Issue, issue, 1).unwrap();
/// assert!(matches!(title, kenesh_merge::FieldValue::Register { value: Some(v), .. } if v == b"better title"));
/// ```
#[derive(Clone, Debug)]
pub struct OpBuilder {
    origin: DeviceId,
    next_seq: u64,
    clock: HlcClock,
    now_ms: u64,
    salt: [u8; 16],
    scope: Scope,
    persons: Vec<PersonId>,
}

impl OpBuilder {
    /// A builder for device `origin`, starting at seq 1, its clock at 2023-11-14 (advance it
    /// with [`OpBuilder::at`]), scope a default municipality.
    #[must_use]
    pub fn new(origin: u32) -> OpBuilder {
        OpBuilder {
            origin: DeviceId(origin),
            next_seq: 1,
            clock: HlcClock::new(),
            now_ms: 1_700_000_000_000,
            salt: [0; 16],
            scope: Scope::Municipality(MunicipalityId(Id::from_u128(1))),
            persons: Vec::new(),
        }
    }

    /// A builder for device `origin` resuming after a restart: the next op gets `next_seq`,
    /// and the clock continues from `last`, the newest timestamp the device made or saw.
    #[must_use]
    pub fn resume(origin: u32, next_seq: u64, last: crate::Hlc) -> OpBuilder {
        let mut b = OpBuilder::new(origin);
        b.next_seq = next_seq.max(1);
        b.clock = HlcClock::resume(last, crate::DEFAULT_DRIFT_BOUND_MS);
        b
    }

    /// Sets the wall-clock time ops are stamped from.
    pub fn at(&mut self, now_ms: u64) -> &mut Self {
        self.now_ms = now_ms;
        self
    }

    /// Sets the scope of the ops that follow.
    pub fn scope(&mut self, scope: Scope) -> &mut Self {
        self.scope = scope;
        self
    }

    /// Sets the salt of the commit the following ops belong to (drawn from a seeded or OS
    /// random source by the caller).
    pub fn salt(&mut self, salt: [u8; 16]) -> &mut Self {
        self.salt = salt;
        self
    }

    /// Sets the persons the following ops concern.
    pub fn persons(&mut self, persons: &[PersonId]) -> &mut Self {
        self.persons = persons.to_vec();
        self
    }

    /// The device's clock, for observing remote timestamps.
    pub fn clock_mut(&mut self) -> &mut HlcClock {
        &mut self.clock
    }

    /// The seq the next op gets.
    #[must_use]
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// An op with any kind, field and action codes (known or not).
    ///
    /// # Errors
    /// When it breaks an op limit.
    #[allow(clippy::too_many_arguments)]
    pub fn raw(
        &mut self,
        kind: u16,
        entity: Id,
        field: u16,
        action: Action,
        tier: Tier,
        supersedes: &[OpId],
        payload: Vec<u8>,
    ) -> Result<Op, OpError> {
        let hlc = self.clock.tick(&FixedClock(self.now_ms));
        let envelope = Envelope {
            origin: self.origin,
            seq: self.next_seq,
            supersedes: supersedes.to_vec(),
            hlc,
            kind,
            entity,
            field,
            action,
            scope: self.scope,
            tier,
            persons: self.persons.clone(),
        };
        let op = Op::new(
            envelope,
            Payload {
                salt: self.salt,
                bytes: payload,
            },
        )?;
        self.next_seq += 1;
        Ok(op)
    }

    fn tier(kind: EntityKind, field: u16) -> Tier {
        let e = schema::entity(kind);
        let field_tier = e.field(field).map_or(Tier::Public, |f| f.tier);
        e.default_tier.max(field_tier)
    }

    /// Creates a record with initial (field id, value) pairs; see [`CreatePayload`].
    ///
    /// # Errors
    /// When it breaks an op limit.
    pub fn create(
        &mut self,
        kind: EntityKind,
        entity: Id,
        fields: Vec<(u16, Vec<u8>)>,
    ) -> Result<Op, OpError> {
        let tier = schema::entity(kind).default_tier;
        let payload = encode(&CreatePayload { fields });
        self.raw(kind.code(), entity, 0, Action::CREATE, tier, &[], payload)
    }

    /// Writes a register field.
    ///
    /// # Errors
    /// When it breaks an op limit.
    pub fn set(
        &mut self,
        kind: EntityKind,
        entity: Id,
        field: u16,
        value: Vec<u8>,
        supersedes: &[OpId],
    ) -> Result<Op, OpError> {
        self.raw(
            kind.code(),
            entity,
            field,
            Action::SET,
            Self::tier(kind, field),
            supersedes,
            value,
        )
    }

    /// Adds an element to a set field.
    ///
    /// # Errors
    /// When it breaks an op limit.
    pub fn add(
        &mut self,
        kind: EntityKind,
        entity: Id,
        field: u16,
        element: Vec<u8>,
    ) -> Result<Op, OpError> {
        self.raw(
            kind.code(),
            entity,
            field,
            Action::ADD,
            Self::tier(kind, field),
            &[],
            element,
        )
    }

    /// Removes an element from a set field: `adds` are the adds of it this device saw.
    ///
    /// # Errors
    /// When it breaks an op limit.
    pub fn remove(
        &mut self,
        kind: EntityKind,
        entity: Id,
        field: u16,
        element: Vec<u8>,
        adds: &[OpId],
    ) -> Result<Op, OpError> {
        self.raw(
            kind.code(),
            entity,
            field,
            Action::REMOVE,
            Self::tier(kind, field),
            adds,
            element,
        )
    }

    /// Appends to a log field.
    ///
    /// # Errors
    /// When it breaks an op limit.
    pub fn append(
        &mut self,
        kind: EntityKind,
        entity: Id,
        field: u16,
        entry: Vec<u8>,
    ) -> Result<Op, OpError> {
        self.raw(
            kind.code(),
            entity,
            field,
            Action::APPEND,
            Self::tier(kind, field),
            &[],
            entry,
        )
    }

    /// Moves a workflow field from `from` to `to` (state codes); `supersedes` are the
    /// transitions this device saw.
    ///
    /// # Errors
    /// When it breaks an op limit.
    pub fn transition(
        &mut self,
        kind: EntityKind,
        entity: Id,
        field: u16,
        from: u8,
        to: u8,
        supersedes: &[OpId],
    ) -> Result<Op, OpError> {
        let payload = encode(&TransitionPayload { from, to });
        self.raw(
            kind.code(),
            entity,
            field,
            Action::TRANSITION,
            Self::tier(kind, field),
            supersedes,
            payload,
        )
    }

    /// Reopens a terminal workflow state: `close` is the op that closed it.
    ///
    /// # Errors
    /// When it breaks an op limit.
    pub fn reopen(
        &mut self,
        kind: EntityKind,
        entity: Id,
        field: u16,
        close: OpId,
    ) -> Result<Op, OpError> {
        self.raw(
            kind.code(),
            entity,
            field,
            Action::REOPEN,
            Self::tier(kind, field),
            &[close],
            Vec::new(),
        )
    }

    /// Tombstones a record.
    ///
    /// # Errors
    /// When it breaks an op limit.
    pub fn tombstone(&mut self, kind: EntityKind, entity: Id) -> Result<Op, OpError> {
        let tier = schema::entity(kind).default_tier;
        self.raw(
            kind.code(),
            entity,
            0,
            Action::TOMBSTONE,
            tier,
            &[],
            Vec::new(),
        )
    }

    /// Changes a record's owner; `supersedes` are the owner changes this device saw.
    ///
    /// # Errors
    /// When it breaks an op limit.
    pub fn change_owner(
        &mut self,
        kind: EntityKind,
        entity: Id,
        owner: Scope,
        supersedes: &[OpId],
    ) -> Result<Op, OpError> {
        let tier = schema::entity(kind).default_tier;
        self.raw(
            kind.code(),
            entity,
            0,
            Action::CHANGE_OWNER,
            tier,
            supersedes,
            encode(&owner),
        )
    }

    /// Erases a person: every payload naming them is destroyed wherever this op reaches.
    ///
    /// # Errors
    /// When it breaks an op limit.
    pub fn erase(&mut self, person: PersonId) -> Result<Op, OpError> {
        let saved = core::mem::replace(&mut self.persons, alloc::vec![person]);
        let op = self.raw(
            EntityKind::Person.code(),
            person.0,
            0,
            Action::ERASE,
            Tier::Personal,
            &[],
            Vec::new(),
        );
        self.persons = saved;
        op
    }
}

/// postcard-encodes a value into a payload.
///
/// # Panics
/// Never for the types the model defines (postcard only fails for unsupported serde
/// features, such as unknown-length sequences, which they do not use).
#[must_use]
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value).unwrap_or_default()
}
