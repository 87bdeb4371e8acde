//! Events (иш-чаралар), attendance, and information campaigns.

use alloc::collections::BTreeSet;
use alloc::string::String;
use serde::{Deserialize, Serialize};

use super::{Party, Record};
use crate::schema::{EntityKind, EntitySchema, FieldKind, REG, SET, f};
use crate::text::{Locale, LocalizedText};
use crate::validate::{Check, ValidationError};
use crate::{
    CampaignId, Date, DeviceId, EventId, EventStatus, PersonId, RecordMeta, SoateCode, Tier,
    WorkflowKind,
};

/// What kind of event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum EventKind {
    /// A training (окутуучу иш-чара).
    Training,
    /// A national conference (улуттук конференция).
    NationalConference,
    /// A public hearing.
    PublicHearing,
    /// A gathering of residents (сход).
    Gathering,
    /// A session of the ayil kenesh.
    KeneshSession,
    /// An information session.
    InformationSession,
    /// An activity of an information campaign.
    CampaignActivity,
}

/// What an event teaches or discusses (for the indicators).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum Subject {
    /// Citizens' rights and the justice system (indicator 1).
    RightsAndJustice,
    /// Local self-government and participation.
    LocalGovernance,
    /// Budgets and co-financing.
    Budget,
    /// Anything else.
    Other,
}

/// An event: a training, a conference, a hearing, a gathering, …
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Event {
    /// Id, scope, tier, provenance.
    pub meta: RecordMeta,
    /// What kind.
    pub kind: EventKind,
    /// What it is about.
    pub subject: Subject,
    /// Its topic, in words.
    pub topic: LocalizedText,
    /// First day.
    pub starts_on: Date,
    /// Last day.
    pub ends_on: Date,
    /// Number of sessions (a training may run over several days).
    pub sessions: u8,
    /// Where.
    pub territory: SoateCode,
    /// Who organises it.
    pub organisers: BTreeSet<Party>,
    /// Main language.
    pub language: Locale,
    /// Seats, if limited.
    pub capacity: Option<u32>,
    /// Where it stands.
    pub status: EventStatus,
    /// The campaign it belongs to.
    pub campaign: Option<CampaignId>,
}

/// Schema of [`Event`].
pub static EVENT_SCHEMA: EntitySchema = EntitySchema {
    code: 9,
    name: "event",
    default_tier: Tier::Public,
    min_tier: Tier::Public,
    fields: &[
        f(1, "kind", REG, Tier::Public),
        f(2, "subject", REG, Tier::Public),
        f(3, "topic", REG, Tier::Public).chars(300).flagged(),
        f(4, "starts_on", REG, Tier::Public).flagged(),
        f(5, "ends_on", REG, Tier::Public).flagged(),
        f(6, "sessions", REG, Tier::Public),
        f(7, "territory", REG, Tier::Public),
        f(8, "organisers", SET, Tier::Public).entries(32),
        f(9, "language", REG, Tier::Public),
        f(10, "capacity", REG, Tier::Public),
        f(
            11,
            "status",
            FieldKind::Workflow(WorkflowKind::Event),
            Tier::Public,
        ),
        f(12, "campaign", REG, Tier::Public),
    ],
};

impl Record for Event {
    const KIND: EntityKind = EntityKind::Event;
    fn meta(&self) -> &RecordMeta {
        &self.meta
    }
    fn validate(&self) -> Result<(), ValidationError> {
        let c = Check::new(Self::KIND);
        c.meta(&self.meta)?;
        c.localized("topic", &self.topic)?;
        c.ensure(
            self.starts_on <= self.ends_on,
            "ends_on",
            "an event ends after it starts",
        )?;
        c.range("sessions", i64::from(self.sessions), 1, 60)?;
        c.entries("organisers", self.organisers.len())?;
        if let Some(cap) = self.capacity {
            c.range("capacity", i64::from(cap), 1, 100_000)?;
        }
        Ok(())
    }
}

/// A person's role at an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum AttendanceRole {
    /// Took part.
    Participant,
    /// Taught.
    Trainer,
    /// Attended as an official.
    Official,
}

/// How attendance is evidenced.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum Evidence {
    /// A scanned sign-in sheet (reference to the scan).
    SignInSheet(String),
    /// Checked in at a kiosk.
    KioskCheckIn(DeviceId),
    /// Entered by staff from their own notes.
    StaffEntry,
}

/// A person's attendance at an event: its own record, so many kiosks and staff can enter
/// attendance for one event without conflicting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Attendance {
    /// Id, scope, tier, provenance.
    pub meta: RecordMeta,
    /// The event.
    pub event: EventId,
    /// Who attended.
    pub person: PersonId,
    /// In what role.
    pub role: AttendanceRole,
    /// Sessions attended.
    pub sessions_attended: u8,
    /// Whether they completed it (all required sessions; for trainings, indicator 1).
    pub completed: bool,
    /// Test score before, 0–100.
    pub pre_score: Option<u8>,
    /// Test score after, 0–100.
    pub post_score: Option<u8>,
    /// How it is evidenced.
    pub evidence: Evidence,
}

/// Schema of [`Attendance`].
pub static ATTENDANCE_SCHEMA: EntitySchema = EntitySchema {
    code: 10,
    name: "attendance",
    default_tier: Tier::Personal,
    min_tier: Tier::Personal,
    fields: &[
        f(1, "event", REG, Tier::Personal),
        f(2, "person", REG, Tier::Personal).person().flagged(),
        f(3, "role", REG, Tier::Personal),
        f(4, "sessions_attended", REG, Tier::Personal),
        f(5, "completed", REG, Tier::Personal).flagged(),
        f(6, "pre_score", REG, Tier::Personal),
        f(7, "post_score", REG, Tier::Personal),
        f(8, "evidence", REG, Tier::Personal).chars(300),
    ],
};

impl Record for Attendance {
    const KIND: EntityKind = EntityKind::Attendance;
    fn meta(&self) -> &RecordMeta {
        &self.meta
    }
    fn validate(&self) -> Result<(), ValidationError> {
        let c = Check::new(Self::KIND);
        c.meta(&self.meta)?;
        c.range(
            "sessions_attended",
            i64::from(self.sessions_attended),
            0,
            60,
        )?;
        for (field, s) in [
            ("pre_score", self.pre_score),
            ("post_score", self.post_score),
        ] {
            if let Some(s) = s {
                c.range(field, i64::from(s), 0, 100)?;
            }
        }
        if let Evidence::SignInSheet(r) = &self.evidence {
            c.text("evidence", r)?;
        }
        Ok(())
    }
}

/// A channel of an information campaign.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum CampaignChannel {
    /// Television.
    Tv,
    /// Radio.
    Radio,
    /// Social media.
    SocialMedia,
    /// Print: posters, leaflets, newspapers.
    Print,
    /// Meetings and events.
    Meetings,
    /// SMS.
    Sms,
}

/// An information campaign. Its reach is an estimate, kept apart from counted participants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Campaign {
    /// Id, scope, tier, provenance.
    pub meta: RecordMeta,
    /// Its name.
    pub name: LocalizedText,
    /// Its channels.
    pub channels: BTreeSet<CampaignChannel>,
    /// First day.
    pub starts_on: Date,
    /// Last day, if known.
    pub ends_on: Option<Date>,
    /// Estimated number of people reached (never added to counted participants).
    pub estimated_reach: Option<u64>,
}

/// Schema of [`Campaign`].
pub static CAMPAIGN_SCHEMA: EntitySchema = EntitySchema {
    code: 11,
    name: "campaign",
    default_tier: Tier::Public,
    min_tier: Tier::Public,
    fields: &[
        f(1, "name", REG, Tier::Public).chars(300).flagged(),
        f(2, "channels", SET, Tier::Public).entries(16),
        f(3, "starts_on", REG, Tier::Public),
        f(4, "ends_on", REG, Tier::Public),
        f(5, "estimated_reach", REG, Tier::Public).flagged(),
    ],
};

impl Record for Campaign {
    const KIND: EntityKind = EntityKind::Campaign;
    fn meta(&self) -> &RecordMeta {
        &self.meta
    }
    fn validate(&self) -> Result<(), ValidationError> {
        let c = Check::new(Self::KIND);
        c.meta(&self.meta)?;
        c.localized("name", &self.name)?;
        c.entries("channels", self.channels.len())?;
        c.ensure(
            self.ends_on.is_none_or(|e| e >= self.starts_on),
            "ends_on",
            "a campaign ends after it starts",
        )
    }
}
