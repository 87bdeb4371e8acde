//! Local issues (жергиликтүү маселелер): what residents raise and solve with the municipality.

use alloc::collections::BTreeSet;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use super::{GeoPoint, Party, Record};
use crate::schema::{EntityKind, EntitySchema, FieldKind, LOG, REG, SET, f};
use crate::text::LocalizedText;
use crate::validate::{Check, ValidationError};
use crate::{
    Date, DeviceId, GroupId, IssueId, IssueStatus, PersonId, RecordMeta, SoateCode, Tier,
    Timestamp, WorkflowKind,
};

/// What an issue is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum IssueCategory {
    /// Roads and bridges.
    Roads,
    /// Drinking and irrigation water.
    Water,
    /// Waste and sanitation.
    Waste,
    /// Schools and kindergartens.
    Education,
    /// Street lighting and electricity.
    Lighting,
    /// Jobs and the local economy.
    Jobs,
    /// Public safety.
    Safety,
    /// Health posts and clinics.
    Health,
    /// Pastures and land.
    Land,
    /// Social support.
    Social,
    /// Sport, culture and youth.
    Culture,
    /// Accessibility for persons with disabilities.
    Accessibility,
    /// Anything else.
    Other,
}

/// Who raised an issue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum Reporter {
    /// A person (personal data: withheld from public readers).
    Person(PersonId),
    /// An initiative group.
    Group(GroupId),
    /// Someone who did not give a name.
    Anonymous,
}

/// How an issue reached the system.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum Channel {
    /// At a kiosk.
    Kiosk,
    /// On paper, typed in by staff.
    Paper,
    /// Raised at a meeting or gathering (сход).
    Meeting,
    /// By phone.
    Phone,
    /// By SMS.
    Sms,
}

/// Why an issue was closed without being resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum CloseReason {
    /// The municipality is unable to solve it.
    Unable,
    /// Not the municipality's responsibility.
    NotResponsible,
    /// The same as another issue.
    DuplicateOf(IssueId),
    /// Referred to another body.
    ReferredTo(Party),
}

/// Who may see an issue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum Visibility {
    /// Everyone, on kiosks and in exports.
    Public,
    /// Staff of the owning municipality only.
    Staff,
}

/// Moderation of what the public sees. Any status can be hidden; hiding is not a status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum Moderation {
    /// Not reviewed yet.
    Pending,
    /// Reviewed and shown.
    Approved,
    /// Hidden by a moderator (offensive, personal data, spam).
    Hidden,
}

/// A kiosk receipt: the kiosk's code and its own counter, unique without a network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Receipt {
    /// The kiosk that printed it.
    pub device: DeviceId,
    /// The kiosk's counter.
    pub number: u32,
}

impl core::fmt::Display for Receipt {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}-{:05}", self.device.0, self.number)
    }
}

/// A sheet of paper signatures supporting an issue, counted by staff.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct PaperSupport {
    /// The sheet's reference (where the paper is kept).
    pub sheet: String,
    /// Signatures on it.
    pub count: u32,
    /// When it was entered.
    pub entered_on: Date,
}

/// A public update on an issue (a status change is one too).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct PublicUpdate {
    /// When.
    pub at: Timestamp,
    /// The text.
    pub text: LocalizedText,
    /// The status it announced, if it announced one.
    pub status: Option<IssueStatus>,
}

/// A comment by a resident or staff.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Comment {
    /// When.
    pub at: Timestamp,
    /// Who, if they gave a name.
    pub by: Option<PersonId>,
    /// The text.
    pub text: String,
}

/// A local issue: a problem residents raise and solve with the municipality.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Issue {
    /// Id, scope (the municipality), tier, provenance.
    pub meta: RecordMeta,
    /// Short title.
    pub title: LocalizedText,
    /// What the problem is.
    pub description: LocalizedText,
    /// What it is about.
    pub category: IssueCategory,
    /// Where (the SOATE code valid when it was filed).
    pub territory: SoateCode,
    /// A point on the map, if given.
    pub location: Option<GeoPoint>,
    /// The place in words ("near the school on Manas street").
    pub place: Option<String>,
    /// Who raised it.
    pub reported_by: Reporter,
    /// How it came in.
    pub channel: Channel,
    /// Where it stands.
    pub status: IssueStatus,
    /// Why it was closed unresolved, if it was.
    pub close_reason: Option<CloseReason>,
    /// The body responsible for solving it.
    pub responsible: Option<Party>,
    /// The initiative group working on it.
    pub group: Option<GroupId>,
    /// The issue this duplicates.
    pub duplicate_of: Option<IssueId>,
    /// People who support it (one support per person).
    pub supporters: BTreeSet<PersonId>,
    /// Supports gathered on paper.
    pub paper_supports: Vec<PaperSupport>,
    /// Public updates.
    pub updates: Vec<PublicUpdate>,
    /// Comments.
    pub comments: Vec<Comment>,
    /// Who may see it.
    pub visibility: Visibility,
    /// Moderation.
    pub moderation: Moderation,
    /// The kiosk receipt, if filed at a kiosk.
    pub receipt: Option<Receipt>,
    /// Estimated number of citizens benefiting once resolved (an estimate, reported as one).
    pub beneficiaries_estimate: Option<u32>,
}

/// Schema of [`Issue`].
pub static ISSUE_SCHEMA: EntitySchema = EntitySchema {
    code: 7,
    name: "issue",
    default_tier: Tier::Public,
    min_tier: Tier::Public,
    fields: &[
        f(1, "title", REG, Tier::Public).chars(200).flagged(),
        f(2, "description", REG, Tier::Public)
            .chars(5_000)
            .flagged(),
        f(3, "category", REG, Tier::Public),
        f(4, "territory", REG, Tier::Public),
        f(5, "location", REG, Tier::Public),
        f(6, "place", REG, Tier::Public).chars(300),
        f(7, "reported_by", REG, Tier::Personal).person(),
        f(8, "channel", REG, Tier::Public),
        f(
            9,
            "status",
            FieldKind::Workflow(WorkflowKind::Issue),
            Tier::Public,
        ),
        f(10, "close_reason", REG, Tier::Public),
        f(11, "responsible", REG, Tier::Public).flagged(),
        f(12, "group", REG, Tier::Public),
        f(13, "duplicate_of", REG, Tier::Public).flagged(),
        f(14, "supporters", SET, Tier::Personal)
            .person()
            .entries(100_000),
        f(15, "paper_supports", LOG, Tier::Public).entries_of(1_000, 200),
        f(16, "updates", LOG, Tier::Public).entries_of(1_000, 2_000),
        f(17, "comments", LOG, Tier::Personal)
            .person()
            .entries_of(10_000, 2_000),
        f(18, "visibility", REG, Tier::Public),
        f(19, "moderation", REG, Tier::Public).flagged(),
        f(20, "receipt", REG, Tier::Public),
        f(21, "beneficiaries_estimate", REG, Tier::Public),
    ],
};

impl Issue {
    /// Supports counted: one per person plus the paper signatures.
    #[must_use]
    pub fn support_count(&self) -> u64 {
        self.supporters.len() as u64
            + self
                .paper_supports
                .iter()
                .map(|p| u64::from(p.count))
                .sum::<u64>()
    }
}

impl Record for Issue {
    const KIND: EntityKind = EntityKind::Issue;
    fn meta(&self) -> &RecordMeta {
        &self.meta
    }
    fn validate(&self) -> Result<(), ValidationError> {
        let c = Check::new(Self::KIND);
        c.meta(&self.meta)?;
        c.localized("title", &self.title)?;
        c.localized("description", &self.description)?;
        if let Some(l) = &self.location {
            l.check(&c, "location")?;
        }
        c.opt_text("place", self.place.as_deref())?;
        c.ensure(
            self.close_reason.is_none() || self.status == IssueStatus::ClosedUnresolved,
            "close_reason",
            "only an issue closed unresolved has a close reason",
        )?;
        c.ensure(
            self.duplicate_of != Some(IssueId(self.meta.id)),
            "duplicate_of",
            "an issue cannot duplicate itself",
        )?;
        c.entries("supporters", self.supporters.len())?;
        c.entries("paper_supports", self.paper_supports.len())?;
        for p in &self.paper_supports {
            c.text("paper_supports", &p.sheet)?;
        }
        c.ensure(
            self.visibility == Visibility::Public || self.meta.tier >= Tier::Personal,
            "visibility",
            "an issue only staff may see is not public-tier",
        )?;
        c.entries("updates", self.updates.len())?;
        for u in &self.updates {
            c.localized("updates", &u.text)?;
        }
        c.entries("comments", self.comments.len())?;
        for cm in &self.comments {
            c.text("comments", &cm.text)?;
        }
        c.ensure(
            !matches!(self.reported_by, Reporter::Person(_)) || self.meta.tier >= Tier::Public,
            "reported_by",
            "unreachable",
        )
    }
}
