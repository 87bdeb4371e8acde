//! Policy recommendations (саясатты жакшыртуу боюнча сунуштар).

use alloc::collections::BTreeSet;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use super::{Party, Record};
use crate::schema::{EntityKind, EntitySchema, FieldKind, LOG, REG, SET, f};
use crate::text::LocalizedText;
use crate::validate::{Check, ValidationError};
use crate::{
    Date, OrganisationId, PersonId, RecommendationStage, RecordMeta, Tier, Timestamp, WorkflowKind,
};

/// A direction of policy work. The programme works in 6–8 directions that its configuration
/// names (for example 1 = jobs for persons with disabilities); the model only carries the code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Direction(pub u16);

/// A co-author of a recommendation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum Author {
    /// A resident or expert.
    Person(PersonId),
    /// A national NGO, an initiative group's organisation, a municipality.
    Party(Party),
}

/// One version of the text, appended as drafting goes on.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Version {
    /// 1, 2, 3, …
    pub number: u16,
    /// When it was saved.
    pub at: Timestamp,
    /// The text of this version.
    pub body: LocalizedText,
}

/// What the target body answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum ResponseOutcome {
    /// Adopted in full.
    Adopted,
    /// Adopted in part.
    PartiallyAdopted,
    /// Rejected.
    Rejected,
    /// Still considering.
    UnderConsideration,
}

/// The official response of the target body.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct OfficialResponse {
    /// When it arrived.
    pub received_on: Date,
    /// The letter's reference number.
    pub reference: String,
    /// What it decided.
    pub outcome: ResponseOutcome,
    /// A summary.
    pub summary: LocalizedText,
}

/// A policy recommendation drafted by residents and NGOs and submitted to a state body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Recommendation {
    /// Id, scope, tier, provenance.
    pub meta: RecordMeta,
    /// Its direction.
    pub direction: Direction,
    /// Title.
    pub title: LocalizedText,
    /// Current body text.
    pub body: LocalizedText,
    /// Co-authors.
    pub co_authors: BTreeSet<Author>,
    /// Earlier versions.
    pub versions: Vec<Version>,
    /// The state body it is addressed to.
    pub target_body: Option<OrganisationId>,
    /// Where it stands.
    pub stage: RecommendationStage,
    /// When it was submitted.
    pub submitted_on: Option<Date>,
    /// The official response.
    pub official_response: Option<OfficialResponse>,
    /// Normative acts it refers to or changed (their official references).
    pub linked_acts: BTreeSet<String>,
}

/// Schema of [`Recommendation`].
pub static RECOMMENDATION_SCHEMA: EntitySchema = EntitySchema {
    code: 8,
    name: "recommendation",
    default_tier: Tier::Public,
    min_tier: Tier::Public,
    fields: &[
        f(1, "direction", REG, Tier::Public),
        f(2, "title", REG, Tier::Public).chars(300).flagged(),
        f(3, "body", REG, Tier::Public).chars(50_000).flagged(),
        f(4, "co_authors", SET, Tier::Personal)
            .person()
            .entries(200),
        f(5, "versions", LOG, Tier::Public).entries_of(500, 50_000),
        f(6, "target_body", REG, Tier::Public).flagged(),
        f(
            7,
            "stage",
            FieldKind::Workflow(WorkflowKind::Recommendation),
            Tier::Public,
        ),
        f(8, "submitted_on", REG, Tier::Public),
        f(9, "official_response", REG, Tier::Public)
            .flagged()
            .chars(5_000),
        f(10, "linked_acts", SET, Tier::Public).entries_of(100, 300),
    ],
};

impl Record for Recommendation {
    const KIND: EntityKind = EntityKind::Recommendation;
    fn meta(&self) -> &RecordMeta {
        &self.meta
    }
    fn validate(&self) -> Result<(), ValidationError> {
        let c = Check::new(Self::KIND);
        c.meta(&self.meta)?;
        c.localized("title", &self.title)?;
        c.localized("body", &self.body)?;
        c.entries("co_authors", self.co_authors.len())?;
        c.entries("versions", self.versions.len())?;
        for v in &self.versions {
            c.localized("versions", &v.body)?;
        }
        if let Some(r) = &self.official_response {
            c.text("official_response", &r.reference)?;
            c.localized("official_response", &r.summary)?;
            c.ensure(
                self.submitted_on.is_none_or(|s| s <= r.received_on),
                "official_response",
                "a response arrives after submission",
            )?;
            let agrees = match self.stage {
                RecommendationStage::Adopted => r.outcome == ResponseOutcome::Adopted,
                RecommendationStage::PartiallyAdopted => {
                    r.outcome == ResponseOutcome::PartiallyAdopted
                }
                RecommendationStage::Rejected => r.outcome == ResponseOutcome::Rejected,
                _ => true,
            };
            c.ensure(
                agrees,
                "official_response",
                "the stage and the response's outcome disagree",
            )?;
        }
        c.entries("linked_acts", self.linked_acts.len())?;
        for a in &self.linked_acts {
            c.text("linked_acts", a)?;
        }
        Ok(())
    }
}
