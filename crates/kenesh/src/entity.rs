//! What the facade needs to know about each entity beyond the model's [`Record`].

use kenesh_model::schema::EntityKind;
use kenesh_model::{
    Attendance, Campaign, CaseStage, Consent, Event, Id, InitiativeGroup, Issue, LegalAidRequest,
    LegalCase, Member, Membership, Municipality, Organisation, Person, PersonId, Recommendation,
    Record,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// An entity struct of `kenesh-model` the replica can write and read: every one of them.
pub trait Entity: Record + Serialize + DeserializeOwned + Clone + std::fmt::Debug {
    /// The persons the whole record is about: every op of it names them, so every
    /// personal or sensitive value of it is sealed with their keys (a person's own record,
    /// a consent's person, an attendance's participant, a request's applicant).
    fn subjects(&self) -> Vec<PersonId> {
        Vec::new()
    }

    /// The record this one belongs to, which must exist before it: its create's persons
    /// are this record's subjects too (a case is about its request's applicant).
    fn parent(&self) -> Option<(EntityKind, Id)> {
        None
    }

    /// The record in an [`AnyRecord`].
    fn into_any(self) -> AnyRecord;
}

/// A record of any entity kind (what a subject-access request returns).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
#[allow(missing_docs)]
pub enum AnyRecord {
    Municipality(Municipality),
    Organisation(Organisation),
    Person(Person),
    Consent(Consent),
    InitiativeGroup(InitiativeGroup),
    Membership(Membership),
    Issue(Issue),
    Recommendation(Recommendation),
    Event(Event),
    Attendance(Attendance),
    Campaign(Campaign),
    LegalAidRequest(LegalAidRequest),
    LegalCase(LegalCase),
    CaseStage(CaseStage),
}

macro_rules! plain {
    ($($t:ident),*) => {
        $(impl Entity for $t {
            fn into_any(self) -> AnyRecord {
                AnyRecord::$t(self)
            }
        })*
    };
}

plain!(
    Municipality,
    Organisation,
    Issue,
    Recommendation,
    Event,
    Campaign,
    InitiativeGroup
);

impl Entity for Person {
    fn subjects(&self) -> Vec<PersonId> {
        vec![PersonId(self.meta.id)]
    }
    fn into_any(self) -> AnyRecord {
        AnyRecord::Person(self)
    }
}

impl Entity for Consent {
    fn subjects(&self) -> Vec<PersonId> {
        vec![self.person]
    }
    fn parent(&self) -> Option<(EntityKind, Id)> {
        Some((EntityKind::Person, self.person.0))
    }
    fn into_any(self) -> AnyRecord {
        AnyRecord::Consent(self)
    }
}

impl Entity for Membership {
    fn subjects(&self) -> Vec<PersonId> {
        match self.member {
            Member::Person(p) => vec![p],
            Member::Organisation(_) => Vec::new(),
        }
    }
    fn parent(&self) -> Option<(EntityKind, Id)> {
        Some((EntityKind::InitiativeGroup, self.group.0))
    }
    fn into_any(self) -> AnyRecord {
        AnyRecord::Membership(self)
    }
}

impl Entity for Attendance {
    fn subjects(&self) -> Vec<PersonId> {
        vec![self.person]
    }
    fn parent(&self) -> Option<(EntityKind, Id)> {
        Some((EntityKind::Event, self.event.0))
    }
    fn into_any(self) -> AnyRecord {
        AnyRecord::Attendance(self)
    }
}

impl Entity for LegalAidRequest {
    fn subjects(&self) -> Vec<PersonId> {
        let mut v = vec![self.applicant];
        v.extend(self.receiver);
        v
    }
    fn into_any(self) -> AnyRecord {
        AnyRecord::LegalAidRequest(self)
    }
}

impl Entity for LegalCase {
    fn parent(&self) -> Option<(EntityKind, Id)> {
        Some((EntityKind::LegalAidRequest, self.request.0))
    }
    fn into_any(self) -> AnyRecord {
        AnyRecord::LegalCase(self)
    }
}

impl Entity for CaseStage {
    fn parent(&self) -> Option<(EntityKind, Id)> {
        Some((EntityKind::LegalCase, self.case.0))
    }
    fn into_any(self) -> AnyRecord {
        AnyRecord::CaseStage(self)
    }
}

macro_rules! dispatch {
    ($self:expr, $r:ident => $e:expr) => {
        match $self {
            AnyRecord::Municipality($r) => $e,
            AnyRecord::Organisation($r) => $e,
            AnyRecord::Person($r) => $e,
            AnyRecord::Consent($r) => $e,
            AnyRecord::InitiativeGroup($r) => $e,
            AnyRecord::Membership($r) => $e,
            AnyRecord::Issue($r) => $e,
            AnyRecord::Recommendation($r) => $e,
            AnyRecord::Event($r) => $e,
            AnyRecord::Attendance($r) => $e,
            AnyRecord::Campaign($r) => $e,
            AnyRecord::LegalAidRequest($r) => $e,
            AnyRecord::LegalCase($r) => $e,
            AnyRecord::CaseStage($r) => $e,
        }
    };
}

impl AnyRecord {
    /// The record's meta.
    #[must_use]
    pub fn meta(&self) -> &kenesh_model::RecordMeta {
        dispatch!(self, r => r.meta())
    }

    /// The record's kind.
    #[must_use]
    pub fn kind(&self) -> EntityKind {
        fn kind_of<T: Entity>(_: &T) -> EntityKind {
            T::KIND
        }
        dispatch!(self, r => kind_of(r))
    }

    pub(crate) fn subjects(&self) -> Vec<PersonId> {
        dispatch!(self, r => r.subjects())
    }

    pub(crate) fn parent(&self) -> Option<(EntityKind, Id)> {
        dispatch!(self, r => r.parent())
    }

    pub(crate) fn split(&self) -> Result<Vec<crate::codec::SplitField>, crate::codec::CodecError> {
        dispatch!(self, r => crate::codec::split(r))
    }
}
