//! Initiative groups (демилгелүү топтор) and their members.

use alloc::collections::BTreeSet;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use super::{Kgs, Party, Record};
use crate::schema::{EntityKind, EntitySchema, FieldKind, LOG, REG, SET, f};
use crate::text::LocalizedText;
use crate::validate::{Check, ValidationError};
use crate::{
    Date, GroupId, GroupStatus, IssueId, MunicipalityId, OrganisationId, PersonId, RecordMeta,
    Tier, WorkflowKind,
};

/// The memorandum between a group and its ayil okmotu.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Agreement {
    /// When it was signed.
    pub signed_on: Date,
    /// The document's number or reference.
    pub reference: String,
}

/// Who contributed co-financing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum Contributor {
    /// A municipality or organisation.
    Party(Party),
    /// Residents themselves.
    Community,
}

/// One co-financing contribution (KGS, or in kind with an estimated value).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct CoFinancing {
    /// Who gave it.
    pub from: Contributor,
    /// Money given, or the estimated value of what was given in kind.
    pub amount: Kgs,
    /// What was given in kind (labour, materials), if not money.
    pub in_kind: Option<String>,
    /// When it was recorded.
    pub on: Date,
}

/// An initiative group formed around local problems.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct InitiativeGroup {
    /// Id, scope, tier, provenance.
    pub meta: RecordMeta,
    /// The municipality it works with.
    pub municipality: MunicipalityId,
    /// Its name.
    pub name: LocalizedText,
    /// The issues it focuses on.
    pub focus_issues: BTreeSet<IssueId>,
    /// Where it stands.
    pub status: GroupStatus,
    /// Its memorandum with the ayil okmotu.
    pub agreement: Option<Agreement>,
    /// Its action plan.
    pub action_plan: Option<String>,
    /// Co-financing mobilised.
    pub co_financing: Vec<CoFinancing>,
    /// When it was formed.
    pub formed_on: Date,
}

/// Schema of [`InitiativeGroup`].
pub static GROUP_SCHEMA: EntitySchema = EntitySchema {
    code: 5,
    name: "initiative_group",
    default_tier: Tier::Public,
    min_tier: Tier::Public,
    fields: &[
        f(1, "municipality", REG, Tier::Public),
        f(2, "name", REG, Tier::Public).chars(200).flagged(),
        f(3, "focus_issues", SET, Tier::Public).entries(64),
        f(
            4,
            "status",
            FieldKind::Workflow(WorkflowKind::Group),
            Tier::Public,
        ),
        f(5, "agreement", REG, Tier::Public).chars(200),
        f(6, "action_plan", REG, Tier::Public)
            .chars(10_000)
            .flagged(),
        f(7, "co_financing", LOG, Tier::Public).entries_of(1_000, 500),
        f(8, "formed_on", REG, Tier::Public),
    ],
};

impl Record for InitiativeGroup {
    const KIND: EntityKind = EntityKind::InitiativeGroup;
    fn meta(&self) -> &RecordMeta {
        &self.meta
    }
    fn validate(&self) -> Result<(), ValidationError> {
        let c = Check::new(Self::KIND);
        c.meta(&self.meta)?;
        c.localized("name", &self.name)?;
        c.entries("focus_issues", self.focus_issues.len())?;
        if let Some(a) = &self.agreement {
            c.text("agreement", &a.reference)?;
            c.ensure(
                a.signed_on >= self.formed_on,
                "agreement",
                "signed before the group formed",
            )?;
        }
        c.opt_text("action_plan", self.action_plan.as_deref())?;
        c.entries("co_financing", self.co_financing.len())?;
        for cf in &self.co_financing {
            c.opt_text("co_financing", cf.in_kind.as_deref())?;
        }
        Ok(())
    }
}

impl InitiativeGroup {
    /// Co-financing recorded in `period`, in tyiyn.
    #[must_use]
    pub fn co_financing_in(&self, period: &crate::Period) -> Kgs {
        Kgs(self
            .co_financing
            .iter()
            .filter(|c| period.contains(c.on))
            .fold(0u64, |a, c| a.saturating_add(c.amount.0)))
    }
}

/// Who a member is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum Member {
    /// A person.
    Person(PersonId),
    /// An organisation (a business, an NGO, a state body).
    Organisation(OrganisationId),
}

/// The sector a member represents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum Sector {
    /// A citizen (жаран).
    Citizen,
    /// Business (жеке сектор).
    Business,
    /// A state body.
    StateBody,
    /// Ayil okmotu staff.
    AyilOkmotu,
    /// An NGO (бейөкмөт уюм).
    Ngo,
}

/// A member's role in the group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum MemberRole {
    /// Chair (a leader).
    Chair,
    /// Secretary (a leader).
    Secretary,
    /// Member.
    Member,
}

impl MemberRole {
    /// Whether the role counts as a leader (for "women among leaders").
    #[must_use]
    pub fn is_leader(self) -> bool {
        matches!(self, MemberRole::Chair | MemberRole::Secretary)
    }
}

/// A membership of a person or organisation in a group, with its dates: its own record, so
/// joining and leaving never conflict with other members' edits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Membership {
    /// Id, scope (the group's), tier, provenance.
    pub meta: RecordMeta,
    /// The group.
    pub group: GroupId,
    /// The member.
    pub member: Member,
    /// The sector they represent.
    pub sector: Sector,
    /// Their role.
    pub role: MemberRole,
    /// When they joined.
    pub joined: Date,
    /// When they left, if they did.
    pub left: Option<Date>,
}

/// Schema of [`Membership`].
pub static MEMBERSHIP_SCHEMA: EntitySchema = EntitySchema {
    code: 6,
    name: "membership",
    default_tier: Tier::Personal,
    min_tier: Tier::Public,
    fields: &[
        f(1, "group", REG, Tier::Public),
        f(2, "member", REG, Tier::Personal).person(),
        f(3, "sector", REG, Tier::Public),
        f(4, "role", REG, Tier::Public).flagged(),
        f(5, "joined", REG, Tier::Public),
        f(6, "left", REG, Tier::Public),
    ],
};

impl Membership {
    /// Whether the membership is current on `date`.
    #[must_use]
    pub fn is_current_on(&self, date: Date) -> bool {
        self.joined <= date && self.left.is_none_or(|l| date < l)
    }
}

impl Record for Membership {
    const KIND: EntityKind = EntityKind::Membership;
    fn meta(&self) -> &RecordMeta {
        &self.meta
    }
    fn validate(&self) -> Result<(), ValidationError> {
        let c = Check::new(Self::KIND);
        c.meta(&self.meta)?;
        c.ensure(
            self.left.is_none_or(|l| l >= self.joined),
            "left",
            "left before joining",
        )?;
        c.ensure(
            !(matches!(self.member, Member::Person(_)) && self.meta.tier < Tier::Personal),
            "member",
            "a person's membership is personal data",
        )
    }
}
