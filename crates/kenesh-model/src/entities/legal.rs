//! Free legal aid (акысыз юридикалык жардам): requests (intake), cases and their stages.
//!
//! Everything here is sensitive (Law No. 58 of 2008 treats legal matters as such). A kiosk's
//! intake is write-without-read: it may create requests it may not read back.

use alloc::collections::BTreeSet;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use super::{Kgs, Party, Record};
use crate::schema::{EntityKind, EntitySchema, FieldKind, LOG, REG, SET, f};
use crate::text::Locale;
use crate::validate::{Check, ValidationError};
use crate::{
    CaseId, CaseStatus, Date, DeviceId, OrganisationId, PersonId, RecordMeta, RequestId,
    RequestStatus, Tier, WorkflowKind,
};

/// How a request came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum IntakeChannel {
    /// In person at a free legal aid centre.
    Centre,
    /// At a kiosk in an ayil okmotu office.
    Kiosk,
    /// The state hotline 114.
    Hotline,
    /// At an outreach event.
    Outreach,
    /// Referred by another body.
    Referral,
}

/// Where a request was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum IntakePoint {
    /// A centre or NGO office.
    Office(OrganisationId),
    /// A kiosk.
    Kiosk(DeviceId),
}

/// The area of law (family, property, labour and land are the largest).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum LegalArea {
    /// Family: divorce, alimony, custody.
    Family,
    /// Property.
    Property,
    /// Labour.
    Labour,
    /// Land and pastures.
    Land,
    /// Housing.
    Housing,
    /// Pensions and social benefits.
    SocialBenefits,
    /// Inheritance.
    Inheritance,
    /// Documents and civil registration.
    Documents,
    /// Criminal.
    Criminal,
    /// Administrative.
    Administrative,
    /// Anything else.
    Other,
}

/// How urgent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum Urgency {
    /// Routine.
    Normal,
    /// A deadline within weeks.
    Soon,
    /// A hearing or eviction within days, or a risk to safety.
    Urgent,
}

/// The kind of aid (Law No. 201 of 2016).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum AidType {
    /// Consultation: for everyone.
    Consultation,
    /// Qualified representation at state expense: for eligible people.
    QualifiedRepresentation,
}

/// The category that makes a person eligible for qualified representation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum EligibilityCategory {
    /// Low income.
    LowIncome,
    /// Person with a disability.
    Disability,
    /// Pensioner.
    Pensioner,
    /// Victim of domestic violence.
    DomesticViolence,
    /// Child or orphan.
    Child,
    /// Another category of the law.
    OtherStatutory,
    /// Not eligible for representation (consultation only).
    NotEligible,
}

/// The eligibility decision at screening.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Eligibility {
    /// The aid the person may receive.
    pub aid_type: AidType,
    /// Why.
    pub category: EligibilityCategory,
    /// Documents seen (their names).
    pub documents_seen: Vec<String>,
    /// The reason, when staff overrode the rules.
    pub override_reason: Option<String>,
}

/// Most documents an eligibility decision lists.
pub const MAX_DOCUMENTS_SEEN: usize = 20;

/// A rejected request's reason and referral.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Rejection {
    /// Why.
    pub reason: String,
    /// Where the person was referred.
    pub referred_to: Option<OrganisationId>,
    /// When it was rejected.
    pub on: Date,
}

/// A request for free legal aid, as taken at intake.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct LegalAidRequest {
    /// Id, scope, tier (always sensitive), provenance.
    pub meta: RecordMeta,
    /// Who applied.
    pub applicant: PersonId,
    /// Who receives the aid, if not the applicant (a child, a relative).
    pub receiver: Option<PersonId>,
    /// How it came in.
    pub channel: IntakeChannel,
    /// Where.
    pub taken_at: IntakePoint,
    /// Language of the consultation.
    pub language: Locale,
    /// Area of law.
    pub legal_area: LegalArea,
    /// The facts as told.
    pub facts: String,
    /// How urgent.
    pub urgency: Urgency,
    /// Other parties, by name, for the conflict-of-interest check.
    pub other_parties: BTreeSet<String>,
    /// The eligibility decision.
    pub eligibility: Option<Eligibility>,
    /// Where it stands.
    pub status: RequestStatus,
    /// When a consultation was given (aid received, indicator 2).
    pub consulted_on: Option<Date>,
    /// Why it was rejected.
    pub rejection: Option<Rejection>,
}

/// Schema of [`LegalAidRequest`].
pub static REQUEST_SCHEMA: EntitySchema = EntitySchema {
    code: 12,
    name: "legal_aid_request",
    default_tier: Tier::Sensitive,
    min_tier: Tier::Sensitive,
    fields: &[
        f(1, "applicant", REG, Tier::Sensitive).person().flagged(),
        f(2, "receiver", REG, Tier::Sensitive).person().flagged(),
        f(3, "channel", REG, Tier::Sensitive),
        f(4, "taken_at", REG, Tier::Sensitive),
        f(5, "language", REG, Tier::Sensitive),
        f(6, "legal_area", REG, Tier::Sensitive).flagged(),
        f(7, "facts", REG, Tier::Sensitive).chars(20_000).flagged(),
        f(8, "urgency", REG, Tier::Sensitive),
        f(9, "other_parties", SET, Tier::Sensitive)
            .person()
            .entries_of(50, 200),
        f(10, "eligibility", REG, Tier::Sensitive)
            .flagged()
            .chars(2_000),
        f(
            11,
            "status",
            FieldKind::Workflow(WorkflowKind::Request),
            Tier::Sensitive,
        ),
        f(12, "consulted_on", REG, Tier::Sensitive),
        f(13, "rejection", REG, Tier::Sensitive).chars(2_000),
    ],
};

impl Record for LegalAidRequest {
    const KIND: EntityKind = EntityKind::LegalAidRequest;
    fn meta(&self) -> &RecordMeta {
        &self.meta
    }
    fn validate(&self) -> Result<(), ValidationError> {
        let c = Check::new(Self::KIND);
        c.meta(&self.meta)?;
        c.text("facts", &self.facts)?;
        c.entries("other_parties", self.other_parties.len())?;
        for p in &self.other_parties {
            c.text("other_parties", p)?;
        }
        if let Some(e) = &self.eligibility {
            c.ensure(
                e.documents_seen.len() <= MAX_DOCUMENTS_SEEN,
                "eligibility",
                "at most 20 documents are listed",
            )?;
            for d in &e.documents_seen {
                c.text("eligibility", d)?;
            }
            c.opt_text("eligibility", e.override_reason.as_deref())?;
            c.ensure(
                e.aid_type == AidType::Consultation
                    || e.category != EligibilityCategory::NotEligible
                    || e.override_reason.is_some(),
                "eligibility",
                "representation for a person not eligible needs an override reason",
            )?;
        }
        if let Some(r) = &self.rejection {
            c.text("rejection", &r.reason)?;
        }
        c.ensure(
            self.rejection.is_none()
                || self.status == RequestStatus::Rejected
                || self.status == RequestStatus::Closed,
            "rejection",
            "only a rejected request has a rejection",
        )?;
        c.ensure(
            self.receiver != Some(self.applicant),
            "receiver",
            "the receiver is someone else",
        )
    }
}

/// Closure category of a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum ClosureCategory {
    /// Decided in the client's favour.
    Won,
    /// Partly in the client's favour.
    PartlyWon,
    /// Lost.
    Lost,
    /// Settled or reconciled.
    Settled,
    /// The client withdrew.
    Withdrawn,
    /// Referred elsewhere.
    Referred,
    /// Closed for another reason.
    Other,
}

/// How a case was closed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Closure {
    /// The category.
    pub category: ClosureCategory,
    /// When.
    pub on: Date,
    /// The outcome, in words.
    pub outcome: String,
}

/// A court hearing.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Hearing {
    /// When.
    pub on: Date,
    /// Which court.
    pub court: String,
    /// What happened.
    pub note: String,
}

/// Where a referral stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum ReferralStatus {
    /// Sent.
    Sent,
    /// Accepted by the receiver.
    Accepted,
    /// Declined by the receiver.
    Declined,
    /// Completed.
    Completed,
}

/// An entry in a case's referral log; the latest entry per receiver is its status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Referral {
    /// To whom (including the state legal aid system's case system).
    pub to: Party,
    /// When this status was recorded.
    pub on: Date,
    /// The status.
    pub status: ReferralStatus,
}

/// A legal case: qualified representation following an accepted request. Always sensitive;
/// its owner (centre, NGO, advocates' bureau) is the record's scope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct LegalCase {
    /// Id, scope (the owner), tier (sensitive), provenance.
    pub meta: RecordMeta,
    /// The request it follows.
    pub request: RequestId,
    /// The coordinator.
    pub coordinator: Option<PersonId>,
    /// The advocate.
    pub advocate: Option<PersonId>,
    /// Where it stands.
    pub status: CaseStatus,
    /// Hearings.
    pub hearings: Vec<Hearing>,
    /// How it closed.
    pub closure: Option<Closure>,
    /// Referrals.
    pub referrals: Vec<Referral>,
}

/// Schema of [`LegalCase`].
pub static CASE_SCHEMA: EntitySchema = EntitySchema {
    code: 13,
    name: "legal_case",
    default_tier: Tier::Sensitive,
    min_tier: Tier::Sensitive,
    fields: &[
        f(1, "request", REG, Tier::Sensitive),
        f(2, "coordinator", REG, Tier::Sensitive).person().flagged(),
        f(3, "advocate", REG, Tier::Sensitive).person().flagged(),
        f(
            4,
            "status",
            FieldKind::Workflow(WorkflowKind::Case),
            Tier::Sensitive,
        ),
        f(5, "hearings", LOG, Tier::Sensitive).entries_of(500, 2_000),
        f(6, "closure", REG, Tier::Sensitive).flagged().chars(5_000),
        f(7, "referrals", LOG, Tier::Sensitive).entries(200),
    ],
};

impl LegalCase {
    /// The latest status of each referral, by receiver.
    #[must_use]
    pub fn referral_statuses(&self) -> alloc::collections::BTreeMap<Party, ReferralStatus> {
        let mut out = alloc::collections::BTreeMap::new();
        let mut log: Vec<&Referral> = self.referrals.iter().collect();
        log.sort_by_key(|r| (r.on, r.status));
        for r in log {
            out.insert(r.to, r.status);
        }
        out
    }
}

impl Record for LegalCase {
    const KIND: EntityKind = EntityKind::LegalCase;
    fn meta(&self) -> &RecordMeta {
        &self.meta
    }
    fn validate(&self) -> Result<(), ValidationError> {
        let c = Check::new(Self::KIND);
        c.meta(&self.meta)?;
        c.entries("hearings", self.hearings.len())?;
        for h in &self.hearings {
            c.text("hearings", &h.court)?;
            c.opt_text("hearings", (!h.note.is_empty()).then_some(h.note.as_str()))?;
        }
        if let Some(cl) = &self.closure {
            c.text("closure", &cl.outcome)?;
        }
        c.ensure(
            self.closure.is_some() == (self.status == CaseStatus::Closed),
            "closure",
            "a closed case has a closure, an open one none",
        )?;
        c.entries("referrals", self.referrals.len())
    }
}

/// What a procedural stage is (advocates are paid per stage).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum StageKind {
    /// Drafting documents and claims.
    Drafting,
    /// Pre-trial: negotiation, mediation.
    PreTrial,
    /// Court of first instance.
    FirstInstance,
    /// Appeal.
    Appeal,
    /// Cassation (Supreme Court).
    Cassation,
    /// Enforcement of the decision.
    Enforcement,
}

/// A procedural stage of a case, with its evidence and payment: its own record, so stages
/// entered by the advocate and checked by the coordinator do not conflict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct CaseStage {
    /// Id, scope (the case's), tier (sensitive), provenance.
    pub meta: RecordMeta,
    /// The case.
    pub case: CaseId,
    /// What stage.
    pub kind: StageKind,
    /// Started.
    pub started_on: Date,
    /// Completed.
    pub completed_on: Option<Date>,
    /// Evidence (references to documents: hashes or archive numbers).
    pub evidence: BTreeSet<String>,
    /// Payment to the advocate for the stage.
    pub paid: Option<Kgs>,
}

/// Schema of [`CaseStage`].
pub static STAGE_SCHEMA: EntitySchema = EntitySchema {
    code: 14,
    name: "case_stage",
    default_tier: Tier::Sensitive,
    min_tier: Tier::Sensitive,
    fields: &[
        f(1, "case", REG, Tier::Sensitive),
        f(2, "kind", REG, Tier::Sensitive).flagged(),
        f(3, "started_on", REG, Tier::Sensitive),
        f(4, "completed_on", REG, Tier::Sensitive),
        f(5, "evidence", SET, Tier::Sensitive).entries_of(100, 300),
        f(6, "paid", REG, Tier::Sensitive).flagged(),
    ],
};

impl Record for CaseStage {
    const KIND: EntityKind = EntityKind::CaseStage;
    fn meta(&self) -> &RecordMeta {
        &self.meta
    }
    fn validate(&self) -> Result<(), ValidationError> {
        let c = Check::new(Self::KIND);
        c.meta(&self.meta)?;
        c.ensure(
            self.completed_on.is_none_or(|d| d >= self.started_on),
            "completed_on",
            "a stage completes after it starts",
        )?;
        c.entries("evidence", self.evidence.len())?;
        for e in &self.evidence {
            c.text("evidence", e)?;
        }
        c.ensure(
            self.paid.is_none() || self.completed_on.is_some(),
            "paid",
            "a stage is paid once completed",
        )
    }
}
