//! The status workflows of DOMAIN.md as explicit state machines.
//!
//! Each status enum lists its states in a fixed order (their postcard discriminants are
//! pinned: variants are only ever appended).

use serde::{Deserialize, Serialize};

/// Status of a local [`crate::Issue`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum IssueStatus {
    /// Being written, not yet sent.
    Draft,
    /// Sent by its author, waiting for moderation.
    Submitted,
    /// Visible to the public.
    Published,
    /// The responsible body has acknowledged it.
    Acknowledged,
    /// Work on it has started.
    InProgress,
    /// Solved.
    Resolved,
    /// Closed without a solution (the reason is kept beside the status).
    ClosedUnresolved,
    /// Withdrawn by its author.
    Withdrawn,
}

/// Status of an [`crate::InitiativeGroup`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum GroupStatus {
    /// Gathering members.
    Forming,
    /// Meeting and working.
    Active,
    /// A memorandum with the ayil okmotu agreed the action plan.
    PlanAgreed,
    /// Carrying out the plan.
    Implementing,
    /// The plan is done.
    Completed,
    /// Not meeting for now.
    Dormant,
    /// Dissolved.
    Dissolved,
}

/// Stage of a [`crate::Recommendation`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RecommendationStage {
    /// Being drafted.
    Draft,
    /// Open for consultation.
    Consultation,
    /// Final text agreed.
    Final,
    /// Sent to the target body.
    Submitted,
    /// The target body is considering it.
    UnderConsideration,
    /// Adopted in full.
    Adopted,
    /// Adopted in part.
    PartiallyAdopted,
    /// Rejected by the target body.
    Rejected,
    /// No response from the target body.
    NoResponse,
    /// Withdrawn by its authors.
    Withdrawn,
}

/// Status of an [`crate::Event`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum EventStatus {
    /// Announced.
    Planned,
    /// Took place.
    Held,
    /// Attendance entered.
    AttendanceEntered,
    /// Duplicates in the attendance merged.
    Reconciled,
    /// Checked by a second person.
    Verified,
    /// Counted in a report.
    Reported,
    /// Did not take place.
    Cancelled,
}

/// Status of a [`crate::LegalAidRequest`] (intake).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RequestStatus {
    /// Received at a centre or kiosk.
    Received,
    /// Conflict-of-interest and eligibility check under way.
    Screening,
    /// Waiting for documents or a decision.
    Pending,
    /// A consultation was given.
    ConsultationGiven,
    /// Accepted for qualified representation: a [`crate::LegalCase`] follows.
    Accepted,
    /// Rejected, with a reason and a referral.
    Rejected,
    /// Closed.
    Closed,
}

/// Status of a [`crate::LegalCase`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CaseStatus {
    /// Opened from an accepted request.
    Opened,
    /// Referred to a coordinator.
    ReferredToCoordinator,
    /// An advocate is assigned.
    AdvocateAssigned,
    /// Procedural stages are under way.
    InStages,
    /// Closed (closure category kept on the case).
    Closed,
}
