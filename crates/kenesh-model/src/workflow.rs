//! The status workflows of DOMAIN.md as explicit state machines.
//!
//! Six status enums — [`IssueStatus`], [`GroupStatus`], [`RecommendationStage`],
//! [`EventStatus`], [`RequestStatus`], [`CaseStatus`] — each implement [`Workflow`]: a fixed
//! list of states ([`Workflow::ALL`], in variant order), an initial state, a table of allowed
//! transitions, the terminal states, and where an explicit reopen of a terminal state goes.
//! Each enum's documentation carries its table.
//!
//! The rules shared by every workflow:
//!
//! - A transition goes only where the table allows. A transition to the current state is
//!   refused ([`TransitionError::SameState`]): it is not a change.
//! - A terminal state has no transitions out; [`Workflow::transition`] refuses every one
//!   ([`TransitionError::Terminal`]). Only [`Workflow::reopen`] leaves a terminal state, and
//!   only where [`Workflow::reopen_to`] names a target. Reopening is its own audited act
//!   (DESIGN.md: "terminal states stay terminal unless an explicit reopen supersedes the
//!   close"), so late updates that set a status never reopen anything by accident.
//! - Names ([`Workflow::name`]) are stable snake_case, used in registries, exports and JSON;
//!   codes ([`Workflow::code`]) are the variant index and also the postcard encoding (one
//!   byte). Variants are only ever appended; neither names nor codes are reused.
//! - Moderation hiding, reasons (why an issue was closed unresolved, why a request was
//!   rejected), closure categories and the like are separate fields, not states.
//!
//! The merge engine replays a record's transition log with [`replay`]: bad steps are
//! recorded with their index and error, never fatal. Where only a [`WorkflowKind`] and state
//! codes are at hand (an op payload), the same rules are available untyped through
//! [`WorkflowKind::transition`] and [`WorkflowKind::reopen`].
//!
//! ```
//! use kenesh_model::{replay, IssueStatus, Step, TransitionError, Workflow, WorkflowKind};
//!
//! let s = IssueStatus::INITIAL.transition(IssueStatus::Submitted)?;
//! let s = s.transition(IssueStatus::Published)?;
//! assert_eq!(s.open311(), "open");
//! let s = s.transition(IssueStatus::Resolved)?;
//! assert!(s.is_terminal());
//! assert_eq!(s.open311(), "closed");
//!
//! // A resolved issue takes no more transitions; only an explicit reopen leaves it.
//! let err = s.transition(IssueStatus::InProgress).unwrap_err();
//! assert!(matches!(err, TransitionError::Terminal { .. }));
//! assert_eq!(
//!     err.to_string(),
//!     "issue workflow: resolved is terminal, so the transition to in_progress is refused \
//!      (only an explicit reopen leaves it)"
//! );
//! assert_eq!(s.reopen()?, IssueStatus::InProgress);
//!
//! // Replaying a log keeps going past bad steps and reports them.
//! use IssueStatus::*;
//! let r = replay(Draft, [
//!     Step::Transition(Submitted),
//!     Step::Transition(Resolved), // not allowed from submitted
//!     Step::Transition(Published),
//!     Step::Reopen,               // published is not terminal
//! ]);
//! assert_eq!(r.state, Published);
//! let bad: Vec<usize> = r.rejected.iter().map(|x| x.index).collect();
//! assert_eq!(bad, [1, 3]);
//!
//! // The same rules, untyped, for op payloads that carry only codes.
//! assert_eq!(WorkflowKind::Issue.transition(Draft.code(), Submitted.code())?, Submitted.code());
//! # Ok::<(), TransitionError>(())
//! ```

use alloc::vec::Vec;
use core::fmt;
use core::hash::Hash;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Which workflow a status field follows; carried by the schema registry and by ops.
///
/// The code ([`WorkflowKind::code`]) is the variant index and the postcard encoding; variants
/// are only ever appended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkflowKind {
    /// [`IssueStatus`] of a local issue (code 0).
    Issue,
    /// [`GroupStatus`] of an initiative group (code 1).
    Group,
    /// [`RecommendationStage`] of a policy recommendation (code 2).
    Recommendation,
    /// [`EventStatus`] of an event (code 3).
    Event,
    /// [`RequestStatus`] of a legal aid request (code 4).
    Request,
    /// [`CaseStatus`] of a legal case (code 5).
    Case,
}

/// Runs `$body` with `$w` bound to the status type of workflow `$kind`.
macro_rules! with_workflow {
    ($kind:expr, $w:ident => $body:expr) => {
        match $kind {
            WorkflowKind::Issue => {
                type $w = IssueStatus;
                $body
            }
            WorkflowKind::Group => {
                type $w = GroupStatus;
                $body
            }
            WorkflowKind::Recommendation => {
                type $w = RecommendationStage;
                $body
            }
            WorkflowKind::Event => {
                type $w = EventStatus;
                $body
            }
            WorkflowKind::Request => {
                type $w = RequestStatus;
                $body
            }
            WorkflowKind::Case => {
                type $w = CaseStatus;
                $body
            }
        }
    };
}

impl WorkflowKind {
    /// Every workflow kind, in code order.
    pub const ALL: &'static [WorkflowKind] = &[
        WorkflowKind::Issue,
        WorkflowKind::Group,
        WorkflowKind::Recommendation,
        WorkflowKind::Event,
        WorkflowKind::Request,
        WorkflowKind::Case,
    ];

    /// The stable code: the variant index.
    #[must_use]
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The kind with this code, if any.
    #[must_use]
    pub fn from_code(code: u8) -> Option<WorkflowKind> {
        Self::ALL.get(usize::from(code)).copied()
    }

    /// The stable snake_case name: `issue`, `group`, `recommendation`, `event`, `request`,
    /// `case`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            WorkflowKind::Issue => "issue",
            WorkflowKind::Group => "group",
            WorkflowKind::Recommendation => "recommendation",
            WorkflowKind::Event => "event",
            WorkflowKind::Request => "request",
            WorkflowKind::Case => "case",
        }
    }

    /// The kind with this name, if any.
    #[must_use]
    pub fn from_name(name: &str) -> Option<WorkflowKind> {
        Self::ALL.iter().copied().find(|k| k.name() == name)
    }

    /// How many states this workflow has (state codes are `0..state_count()`).
    #[must_use]
    pub fn state_count(self) -> u8 {
        with_workflow!(self, W => u8::try_from(W::ALL.len()).unwrap_or(u8::MAX))
    }

    /// The code of this workflow's initial state.
    #[must_use]
    pub fn initial(self) -> u8 {
        with_workflow!(self, W => W::INITIAL.code())
    }

    /// The name of the state with `code` in this workflow, if there is one.
    #[must_use]
    pub fn state_name(self, code: u8) -> Option<&'static str> {
        with_workflow!(self, W => W::from_code(code).map(W::name))
    }

    /// The code of the state named `name` in this workflow, if there is one.
    #[must_use]
    pub fn state_code(self, name: &str) -> Option<u8> {
        with_workflow!(self, W => W::from_name(name).map(W::code))
    }

    /// Whether the state with `code` is terminal; `None` if there is no such state.
    #[must_use]
    pub fn is_terminal(self, code: u8) -> Option<bool> {
        with_workflow!(self, W => W::from_code(code).map(W::is_terminal))
    }

    /// [`Workflow::transition`] on state codes: the code of the new state, or why not.
    ///
    /// # Errors
    ///
    /// [`TransitionError::UnknownState`] if either code names no state of this workflow,
    /// otherwise as [`Workflow::transition`].
    pub fn transition(self, from: u8, to: u8) -> Result<u8, TransitionError> {
        with_workflow!(self, W => {
            let f = W::from_code(from).ok_or(TransitionError::UnknownState { workflow: self, code: from })?;
            let t = W::from_code(to).ok_or(TransitionError::UnknownState { workflow: self, code: to })?;
            f.transition(t).map(W::code)
        })
    }

    /// [`Workflow::reopen`] on state codes: the code of the reopened state, or why not.
    ///
    /// # Errors
    ///
    /// [`TransitionError::UnknownState`] if `from` names no state of this workflow, otherwise
    /// as [`Workflow::reopen`].
    pub fn reopen(self, from: u8) -> Result<u8, TransitionError> {
        with_workflow!(self, W => {
            let f = W::from_code(from).ok_or(TransitionError::UnknownState { workflow: self, code: from })?;
            f.reopen().map(W::code)
        })
    }
}

impl fmt::Display for WorkflowKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a transition or reopen was refused.
///
/// States are carried as codes (so the error is `Copy` and serialisable); the message names
/// the workflow and the states by name. Read a typed state back with
/// [`Workflow::from_code`], or a name with [`WorkflowKind::state_name`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
pub enum TransitionError {
    /// A transition to the state the record is already in: not a change.
    #[error(
        "{workflow} workflow: a transition from {} to {} is not a change",
        label(.workflow, .state), label(.workflow, .state)
    )]
    SameState {
        /// The workflow.
        workflow: WorkflowKind,
        /// The state, both current and requested.
        state: u8,
    },
    /// A transition out of a terminal state; only [`Workflow::reopen`] leaves one.
    #[error(
        "{workflow} workflow: {} is terminal, so the transition to {} is refused (only an explicit reopen leaves it)",
        label(.workflow, .from), label(.workflow, .to)
    )]
    Terminal {
        /// The workflow.
        workflow: WorkflowKind,
        /// The current, terminal state.
        from: u8,
        /// The state asked for.
        to: u8,
    },
    /// The table has no transition from `from` to `to`.
    #[error(
        "{workflow} workflow: no transition from {} to {}",
        label(.workflow, .from), label(.workflow, .to)
    )]
    NotAllowed {
        /// The workflow.
        workflow: WorkflowKind,
        /// The current state.
        from: u8,
        /// The state asked for.
        to: u8,
    },
    /// A reopen of a state that is not terminal (there is nothing to reopen).
    #[error(
        "{workflow} workflow: {} is not terminal, so there is nothing to reopen",
        label(.workflow, .from)
    )]
    NotTerminal {
        /// The workflow.
        workflow: WorkflowKind,
        /// The current, non-terminal state.
        from: u8,
    },
    /// A reopen of a terminal state that can never be reopened (e.g. a withdrawn issue).
    #[error("{workflow} workflow: {} is final and cannot be reopened", label(.workflow, .from))]
    NoReopen {
        /// The workflow.
        workflow: WorkflowKind,
        /// The current, terminal state.
        from: u8,
    },
    /// A state code this workflow does not have (only from the untyped [`WorkflowKind`]
    /// methods, e.g. an op written by a newer build).
    #[error("{workflow} workflow: no state has code {code}")]
    UnknownState {
        /// The workflow.
        workflow: WorkflowKind,
        /// The unknown code.
        code: u8,
    },
}

impl TransitionError {
    /// The workflow the refused step belongs to.
    #[must_use]
    pub fn workflow(&self) -> WorkflowKind {
        match *self {
            TransitionError::SameState { workflow, .. }
            | TransitionError::Terminal { workflow, .. }
            | TransitionError::NotAllowed { workflow, .. }
            | TransitionError::NotTerminal { workflow, .. }
            | TransitionError::NoReopen { workflow, .. }
            | TransitionError::UnknownState { workflow, .. } => workflow,
        }
    }
}

/// A state's name for messages: its stable name, or `state #code` if unknown.
struct Label(WorkflowKind, u8);

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.state_name(self.1) {
            Some(name) => f.write_str(name),
            None => write!(f, "state #{}", self.1),
        }
    }
}

fn label(kind: &WorkflowKind, code: &u8) -> Label {
    Label(*kind, *code)
}

mod sealed {
    /// Keeps [`super::Workflow`] implemented by this module's six enums only.
    pub trait Sealed {}
}

/// A status workflow: the states, the initial state, the transition table, the terminal
/// states and where a reopen goes. Implemented by the six status enums of this module (and
/// sealed: the tables live here, pinned by a golden test).
///
/// Only [`Workflow::targets`] and [`Workflow::reopen_to`] carry a table; everything else
/// follows from them. A state is terminal exactly when no transition leaves it.
pub trait Workflow:
    Copy
    + Eq
    + Ord
    + Hash
    + fmt::Debug
    + fmt::Display
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
    + sealed::Sealed
{
    /// Which workflow this is.
    const KIND: WorkflowKind;
    /// Every state, in code (variant) order: `ALL[i].code() == i`.
    const ALL: &'static [Self];
    /// The state a new record starts in.
    const INITIAL: Self;

    /// The stable snake_case name, used in registries, exports and JSON.
    fn name(self) -> &'static str;

    /// The stable code: the variant index (also the postcard encoding).
    fn code(self) -> u8;

    /// The states a transition from `self` may go to (empty for a terminal state).
    fn targets(self) -> &'static [Self];

    /// The state an explicit reopen of this terminal state goes to; `None` for a state that
    /// is not terminal or that cannot be reopened.
    fn reopen_to(self) -> Option<Self>;

    /// The state with this code, if any.
    #[must_use]
    fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(usize::from(code)).copied()
    }

    /// The state with this name, if any.
    #[must_use]
    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|s| s.name() == name)
    }

    /// Whether the table allows a transition from `self` to `to` (never to `self`, never out
    /// of a terminal state).
    #[must_use]
    fn can_transition(self, to: Self) -> bool {
        self.targets().contains(&to)
    }

    /// Whether `self` is terminal: no transition leaves it, only a reopen.
    #[must_use]
    fn is_terminal(self) -> bool {
        self.targets().is_empty()
    }

    /// The new state `to`, if the table allows the transition.
    ///
    /// # Errors
    ///
    /// [`TransitionError::SameState`] if `to == self`, [`TransitionError::Terminal`] if
    /// `self` is terminal, [`TransitionError::NotAllowed`] if the table has no such
    /// transition.
    fn transition(self, to: Self) -> Result<Self, TransitionError> {
        let (workflow, from, code) = (Self::KIND, self.code(), to.code());
        if to == self {
            Err(TransitionError::SameState {
                workflow,
                state: from,
            })
        } else if self.is_terminal() {
            Err(TransitionError::Terminal {
                workflow,
                from,
                to: code,
            })
        } else if self.can_transition(to) {
            Ok(to)
        } else {
            Err(TransitionError::NotAllowed {
                workflow,
                from,
                to: code,
            })
        }
    }

    /// Reopens a terminal state: the state [`Workflow::reopen_to`] names.
    ///
    /// # Errors
    ///
    /// [`TransitionError::NotTerminal`] if `self` is not terminal,
    /// [`TransitionError::NoReopen`] if it is terminal but cannot be reopened.
    fn reopen(self) -> Result<Self, TransitionError> {
        let (workflow, from) = (Self::KIND, self.code());
        if !self.is_terminal() {
            return Err(TransitionError::NotTerminal { workflow, from });
        }
        self.reopen_to()
            .ok_or(TransitionError::NoReopen { workflow, from })
    }
}

/// One step of a transition log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Step<W> {
    /// A transition to this state ([`Workflow::transition`]).
    Transition(W),
    /// An explicit reopen of a terminal state ([`Workflow::reopen`]).
    Reopen,
}

impl<W: Workflow> Step<W> {
    /// Applies this step to `state`: the new state, or why it was refused.
    ///
    /// # Errors
    ///
    /// As [`Workflow::transition`] or [`Workflow::reopen`].
    pub fn apply(self, state: W) -> Result<W, TransitionError> {
        match self {
            Step::Transition(to) => state.transition(to),
            Step::Reopen => state.reopen(),
        }
    }
}

/// A step [`replay`] refused: its index in the log and the reason. The state was left as it
/// was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RejectedStep {
    /// The step's index in the replayed sequence (0-based).
    pub index: usize,
    /// Why it was refused.
    pub error: TransitionError,
}

/// The outcome of replaying a transition log: the final state and the refused steps.
///
/// Built by [`replay`], or step by step with [`Replay::new`] and [`Replay::step`] as a log
/// grows. Allocates only when a step is refused.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Replay<W> {
    /// The state after every accepted step.
    pub state: W,
    /// How many steps were replayed, accepted or not.
    pub steps: usize,
    /// The refused steps, in log order; each left the state unchanged.
    pub rejected: Vec<RejectedStep>,
}

impl<W: Workflow> Replay<W> {
    /// A replay that has seen no step yet, at `start`.
    #[must_use]
    pub const fn new(start: W) -> Replay<W> {
        Replay {
            state: start,
            steps: 0,
            rejected: Vec::new(),
        }
    }

    /// Applies the next step of the log. A refused step is recorded (with its index) and
    /// leaves the state as it was; the result says whether it was accepted.
    ///
    /// # Errors
    ///
    /// The refusal, as [`Step::apply`] (it is also recorded in [`Replay::rejected`]).
    pub fn step(&mut self, step: Step<W>) -> Result<W, TransitionError> {
        let index = self.steps;
        self.steps = self.steps.saturating_add(1);
        match step.apply(self.state) {
            Ok(next) => {
                self.state = next;
                Ok(next)
            }
            Err(error) => {
                self.rejected.push(RejectedStep { index, error });
                Err(error)
            }
        }
    }

    /// Whether every step was accepted.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        self.rejected.is_empty()
    }
}

/// Replays `steps` from `start`: steps the workflow refuses are recorded and skipped, never
/// fatal (the merge engine flags them rather than fail).
///
/// ```
/// use kenesh_model::{replay, CaseStatus::*, Step, TransitionError};
///
/// let r = replay(Opened, [
///     Step::Transition(ReferredToCoordinator),
///     Step::Transition(Closed),
///     Step::Transition(InStages), // a late update: never reopens the case
///     Step::Reopen,               // the audited reopen does
/// ]);
/// assert_eq!(r.state, AdvocateAssigned);
/// assert_eq!(r.rejected.len(), 1);
/// assert_eq!(r.rejected[0].index, 2);
/// assert!(matches!(r.rejected[0].error, TransitionError::Terminal { .. }));
/// ```
pub fn replay<W: Workflow>(start: W, steps: impl IntoIterator<Item = Step<W>>) -> Replay<W> {
    let mut r = Replay::new(start);
    for step in steps {
        // A refusal is recorded in `r.rejected`; the replay goes on.
        let _ = r.step(step);
    }
    r
}

/// Status of a local [`crate::Issue`].
///
/// | from | may go to | terminal | reopen to |
/// |---|---|---|---|
/// | `draft` (initial) | `submitted`, `withdrawn` | no | |
/// | `submitted` | `draft`, `published`, `closed_unresolved`, `withdrawn` | no | |
/// | `published` | `acknowledged`, `in_progress`, `resolved`, `closed_unresolved`, `withdrawn` | no | |
/// | `acknowledged` | `in_progress`, `resolved`, `closed_unresolved`, `withdrawn` | no | |
/// | `in_progress` | `resolved`, `closed_unresolved` | no | |
/// | `resolved` | — | yes | `in_progress` |
/// | `closed_unresolved` | — | yes | `published` |
/// | `withdrawn` | — | yes | never |
///
/// - The main path runs forward; a step may be skipped once the issue is public (a body
///   that fixes a problem without acknowledging it first: `published → resolved`).
/// - `submitted → draft`: moderation sends it back to its author for changes (or the author
///   recalls it). `submitted → closed_unresolved`: closed at moderation (a duplicate, not
///   the municipality's responsibility). Hiding by moderation is not a status.
/// - The author may withdraw it until work starts (`draft` to `acknowledged`); once it is
///   `in_progress` it ends `resolved` or `closed_unresolved`. Why it was closed unresolved
///   (unable, not responsible, duplicate of X, referred to Y) is a separate field.
/// - Reopening: a resolved issue whose problem comes back returns to `in_progress`; an issue
///   closed unresolved returns to `published`, to be taken up again. A withdrawn issue is
///   never reopened: the author files a new one.
/// - Open311 ([`IssueStatus::open311`]): `resolved`, `closed_unresolved` and `withdrawn` are
///   `closed`, the rest `open`.
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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

impl IssueStatus {
    /// The Open311 (GeoReport v2) status: `closed` for `resolved`, `closed_unresolved` and
    /// `withdrawn` (nothing more will be done about it), `open` for the rest.
    ///
    /// `draft` and `submitted` issues are not public, so an export should not list them at
    /// all; if it does, they are `open`.
    #[must_use]
    pub const fn open311(self) -> &'static str {
        match self {
            IssueStatus::Resolved | IssueStatus::ClosedUnresolved | IssueStatus::Withdrawn => {
                "closed"
            }
            IssueStatus::Draft
            | IssueStatus::Submitted
            | IssueStatus::Published
            | IssueStatus::Acknowledged
            | IssueStatus::InProgress => "open",
        }
    }
}

impl Workflow for IssueStatus {
    const KIND: WorkflowKind = WorkflowKind::Issue;
    const ALL: &'static [Self] = &[
        IssueStatus::Draft,
        IssueStatus::Submitted,
        IssueStatus::Published,
        IssueStatus::Acknowledged,
        IssueStatus::InProgress,
        IssueStatus::Resolved,
        IssueStatus::ClosedUnresolved,
        IssueStatus::Withdrawn,
    ];
    const INITIAL: Self = IssueStatus::Draft;

    fn name(self) -> &'static str {
        match self {
            IssueStatus::Draft => "draft",
            IssueStatus::Submitted => "submitted",
            IssueStatus::Published => "published",
            IssueStatus::Acknowledged => "acknowledged",
            IssueStatus::InProgress => "in_progress",
            IssueStatus::Resolved => "resolved",
            IssueStatus::ClosedUnresolved => "closed_unresolved",
            IssueStatus::Withdrawn => "withdrawn",
        }
    }

    fn code(self) -> u8 {
        self as u8
    }

    fn targets(self) -> &'static [Self] {
        use IssueStatus::*;
        match self {
            Draft => &[Submitted, Withdrawn],
            Submitted => &[Draft, Published, ClosedUnresolved, Withdrawn],
            Published => &[
                Acknowledged,
                InProgress,
                Resolved,
                ClosedUnresolved,
                Withdrawn,
            ],
            Acknowledged => &[InProgress, Resolved, ClosedUnresolved, Withdrawn],
            InProgress => &[Resolved, ClosedUnresolved],
            Resolved | ClosedUnresolved | Withdrawn => &[],
        }
    }

    fn reopen_to(self) -> Option<Self> {
        match self {
            IssueStatus::Resolved => Some(IssueStatus::InProgress),
            IssueStatus::ClosedUnresolved => Some(IssueStatus::Published),
            IssueStatus::Draft
            | IssueStatus::Submitted
            | IssueStatus::Published
            | IssueStatus::Acknowledged
            | IssueStatus::InProgress
            | IssueStatus::Withdrawn => None,
        }
    }
}

/// Status of an [`crate::InitiativeGroup`].
///
/// | from | may go to | terminal | reopen to |
/// |---|---|---|---|
/// | `forming` (initial) | `active`, `dormant`, `dissolved` | no | |
/// | `active` | `plan_agreed`, `dormant`, `dissolved` | no | |
/// | `plan_agreed` | `implementing`, `dormant`, `dissolved` | no | |
/// | `implementing` | `completed`, `dormant`, `dissolved` | no | |
/// | `dormant` | `forming`, `active`, `plan_agreed`, `implementing`, `dissolved` | no | |
/// | `completed` | — | yes | `active` |
/// | `dissolved` | — | yes | `dormant` |
///
/// - The main path is strict: no implementing without a plan agreed in a memorandum with the
///   ayil okmotu.
/// - Any working state may fall `dormant`, and a dormant group comes back to whichever
///   working state it left (the table cannot remember which; the transition log does).
/// - Reopening: a completed group that takes up a new problem becomes `active` again (a new
///   plan and memorandum follow); a dissolution undone (or a group gathering again) comes
///   back `dormant`, from where it resumes any working state.
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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

impl Workflow for GroupStatus {
    const KIND: WorkflowKind = WorkflowKind::Group;
    const ALL: &'static [Self] = &[
        GroupStatus::Forming,
        GroupStatus::Active,
        GroupStatus::PlanAgreed,
        GroupStatus::Implementing,
        GroupStatus::Completed,
        GroupStatus::Dormant,
        GroupStatus::Dissolved,
    ];
    const INITIAL: Self = GroupStatus::Forming;

    fn name(self) -> &'static str {
        match self {
            GroupStatus::Forming => "forming",
            GroupStatus::Active => "active",
            GroupStatus::PlanAgreed => "plan_agreed",
            GroupStatus::Implementing => "implementing",
            GroupStatus::Completed => "completed",
            GroupStatus::Dormant => "dormant",
            GroupStatus::Dissolved => "dissolved",
        }
    }

    fn code(self) -> u8 {
        self as u8
    }

    fn targets(self) -> &'static [Self] {
        use GroupStatus::*;
        match self {
            Forming => &[Active, Dormant, Dissolved],
            Active => &[PlanAgreed, Dormant, Dissolved],
            PlanAgreed => &[Implementing, Dormant, Dissolved],
            Implementing => &[Completed, Dormant, Dissolved],
            Dormant => &[Forming, Active, PlanAgreed, Implementing, Dissolved],
            Completed | Dissolved => &[],
        }
    }

    fn reopen_to(self) -> Option<Self> {
        match self {
            GroupStatus::Completed => Some(GroupStatus::Active),
            GroupStatus::Dissolved => Some(GroupStatus::Dormant),
            GroupStatus::Forming
            | GroupStatus::Active
            | GroupStatus::PlanAgreed
            | GroupStatus::Implementing
            | GroupStatus::Dormant => None,
        }
    }
}

/// Stage of a [`crate::Recommendation`].
///
/// | from | may go to | terminal | reopen to |
/// |---|---|---|---|
/// | `draft` (initial) | `consultation`, `withdrawn` | no | |
/// | `consultation` | `draft`, `final`, `withdrawn` | no | |
/// | `final` | `submitted`, `withdrawn` | no | |
/// | `submitted` | `under_consideration`, `adopted`, `partially_adopted`, `rejected`, `no_response`, `withdrawn` | no | |
/// | `under_consideration` | `adopted`, `partially_adopted`, `rejected`, `no_response`, `withdrawn` | no | |
/// | `no_response` | `under_consideration`, `adopted`, `partially_adopted`, `rejected`, `withdrawn` | no | |
/// | `adopted` | — | yes | `under_consideration` |
/// | `partially_adopted` | — | yes | `under_consideration` |
/// | `rejected` | — | yes | `under_consideration` |
/// | `withdrawn` | — | yes | never |
///
/// - Drafting goes through consultation; consultation may send the text back to `draft`
///   for rework (its versions are a separate field).
/// - The target body may answer straight from `submitted`, without a recorded
///   `under_consideration`.
/// - `no_response` is not terminal: it records that the deadline passed unanswered, and a
///   late answer moves it on like any other (`no_response → adopted`, …) without a reopen.
/// - Withdrawn "at any point" means at any point before an answer: from every non-terminal
///   stage, `no_response` included. A withdrawn recommendation is never reopened; its
///   authors start a new one.
/// - Reopening: an answer of the target body (adopted, partially adopted, rejected) is
///   revisited by reopening it to `under_consideration` (an appeal, a reconsideration, an
///   answer entered by mistake). Resubmitting to another body is a new recommendation.
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
    /// No response from the target body (yet: a late answer still moves it on).
    NoResponse,
    /// Withdrawn by its authors.
    Withdrawn,
}

impl Workflow for RecommendationStage {
    const KIND: WorkflowKind = WorkflowKind::Recommendation;
    const ALL: &'static [Self] = &[
        RecommendationStage::Draft,
        RecommendationStage::Consultation,
        RecommendationStage::Final,
        RecommendationStage::Submitted,
        RecommendationStage::UnderConsideration,
        RecommendationStage::Adopted,
        RecommendationStage::PartiallyAdopted,
        RecommendationStage::Rejected,
        RecommendationStage::NoResponse,
        RecommendationStage::Withdrawn,
    ];
    const INITIAL: Self = RecommendationStage::Draft;

    fn name(self) -> &'static str {
        match self {
            RecommendationStage::Draft => "draft",
            RecommendationStage::Consultation => "consultation",
            RecommendationStage::Final => "final",
            RecommendationStage::Submitted => "submitted",
            RecommendationStage::UnderConsideration => "under_consideration",
            RecommendationStage::Adopted => "adopted",
            RecommendationStage::PartiallyAdopted => "partially_adopted",
            RecommendationStage::Rejected => "rejected",
            RecommendationStage::NoResponse => "no_response",
            RecommendationStage::Withdrawn => "withdrawn",
        }
    }

    fn code(self) -> u8 {
        self as u8
    }

    fn targets(self) -> &'static [Self] {
        use RecommendationStage::*;
        match self {
            Draft => &[Consultation, Withdrawn],
            Consultation => &[Draft, Final, Withdrawn],
            Final => &[Submitted, Withdrawn],
            Submitted => &[
                UnderConsideration,
                Adopted,
                PartiallyAdopted,
                Rejected,
                NoResponse,
                Withdrawn,
            ],
            UnderConsideration => &[Adopted, PartiallyAdopted, Rejected, NoResponse, Withdrawn],
            NoResponse => &[
                UnderConsideration,
                Adopted,
                PartiallyAdopted,
                Rejected,
                Withdrawn,
            ],
            Adopted | PartiallyAdopted | Rejected | Withdrawn => &[],
        }
    }

    fn reopen_to(self) -> Option<Self> {
        use RecommendationStage::*;
        match self {
            Adopted | PartiallyAdopted | Rejected => Some(UnderConsideration),
            Draft | Consultation | Final | Submitted | UnderConsideration | NoResponse
            | Withdrawn => None,
        }
    }
}

/// Status of an [`crate::Event`].
///
/// | from | may go to | terminal | reopen to |
/// |---|---|---|---|
/// | `planned` (initial) | `held`, `cancelled` | no | |
/// | `held` | `attendance_entered` | no | |
/// | `attendance_entered` | `reconciled` | no | |
/// | `reconciled` | `attendance_entered`, `verified` | no | |
/// | `verified` | `attendance_entered`, `reported` | no | |
/// | `reported` | — | yes | `attendance_entered` |
/// | `cancelled` | — | yes | `planned` |
///
/// - The path is strict: attendance is reconciled (duplicates merged) before a second
///   person verifies it, and only verified attendance is reported.
/// - `reconciled` or `verified` go back to `attendance_entered` when the checker sends the
///   attendance back or a late sign-in sheet turns up; it is then reconciled and verified
///   again.
/// - Reopening: a reported event whose attendance must be corrected goes back to
///   `attendance_entered` (indicator values already frozen keep their provenance); a
///   cancelled event that is rescheduled (or was cancelled by mistake) is `planned` again.
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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

impl Workflow for EventStatus {
    const KIND: WorkflowKind = WorkflowKind::Event;
    const ALL: &'static [Self] = &[
        EventStatus::Planned,
        EventStatus::Held,
        EventStatus::AttendanceEntered,
        EventStatus::Reconciled,
        EventStatus::Verified,
        EventStatus::Reported,
        EventStatus::Cancelled,
    ];
    const INITIAL: Self = EventStatus::Planned;

    fn name(self) -> &'static str {
        match self {
            EventStatus::Planned => "planned",
            EventStatus::Held => "held",
            EventStatus::AttendanceEntered => "attendance_entered",
            EventStatus::Reconciled => "reconciled",
            EventStatus::Verified => "verified",
            EventStatus::Reported => "reported",
            EventStatus::Cancelled => "cancelled",
        }
    }

    fn code(self) -> u8 {
        self as u8
    }

    fn targets(self) -> &'static [Self] {
        use EventStatus::*;
        match self {
            Planned => &[Held, Cancelled],
            Held => &[AttendanceEntered],
            AttendanceEntered => &[Reconciled],
            Reconciled => &[AttendanceEntered, Verified],
            Verified => &[AttendanceEntered, Reported],
            Reported | Cancelled => &[],
        }
    }

    fn reopen_to(self) -> Option<Self> {
        use EventStatus::*;
        match self {
            Reported => Some(AttendanceEntered),
            Cancelled => Some(Planned),
            Planned | Held | AttendanceEntered | Reconciled | Verified => None,
        }
    }
}

/// Status of a [`crate::LegalAidRequest`] (intake).
///
/// | from | may go to | terminal | reopen to |
/// |---|---|---|---|
/// | `received` (initial) | `screening`, `closed` | no | |
/// | `screening` | `pending`, `consultation_given`, `accepted`, `rejected`, `closed` | no | |
/// | `pending` | `screening`, `consultation_given`, `accepted`, `rejected`, `closed` | no | |
/// | `consultation_given` | `accepted`, `closed` | no | |
/// | `accepted` | `closed` | no | |
/// | `rejected` | — | yes | `screening` |
/// | `closed` | — | yes | `screening` |
///
/// - Every decision follows screening (the conflict-of-interest and eligibility check);
///   `pending` waits (for documents, for the other party's details) and returns to
///   screening or goes straight to a decision.
/// - A consultation may lead to acceptance for qualified representation
///   (`consultation_given → accepted`); an accepted request is closed once its
///   [`crate::LegalCase`] is opened.
/// - Closing is explicit; a request may also be closed before a decision (the applicant
///   withdrew or cannot be reached: the reason is a separate field).
/// - `rejected` (with its reason and referral, separate fields) is a final disposition.
/// - Reopening is its own audited act and sends the request back to `screening` (new
///   documents, an appeal against a rejection, the applicant back on the same matter).
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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

impl Workflow for RequestStatus {
    const KIND: WorkflowKind = WorkflowKind::Request;
    const ALL: &'static [Self] = &[
        RequestStatus::Received,
        RequestStatus::Screening,
        RequestStatus::Pending,
        RequestStatus::ConsultationGiven,
        RequestStatus::Accepted,
        RequestStatus::Rejected,
        RequestStatus::Closed,
    ];
    const INITIAL: Self = RequestStatus::Received;

    fn name(self) -> &'static str {
        match self {
            RequestStatus::Received => "received",
            RequestStatus::Screening => "screening",
            RequestStatus::Pending => "pending",
            RequestStatus::ConsultationGiven => "consultation_given",
            RequestStatus::Accepted => "accepted",
            RequestStatus::Rejected => "rejected",
            RequestStatus::Closed => "closed",
        }
    }

    fn code(self) -> u8 {
        self as u8
    }

    fn targets(self) -> &'static [Self] {
        use RequestStatus::*;
        match self {
            Received => &[Screening, Closed],
            Screening => &[Pending, ConsultationGiven, Accepted, Rejected, Closed],
            Pending => &[Screening, ConsultationGiven, Accepted, Rejected, Closed],
            ConsultationGiven => &[Accepted, Closed],
            Accepted => &[Closed],
            Rejected | Closed => &[],
        }
    }

    fn reopen_to(self) -> Option<Self> {
        use RequestStatus::*;
        match self {
            Rejected | Closed => Some(Screening),
            Received | Screening | Pending | ConsultationGiven | Accepted => None,
        }
    }
}

/// Status of a [`crate::LegalCase`].
///
/// | from | may go to | terminal | reopen to |
/// |---|---|---|---|
/// | `opened` (initial) | `referred_to_coordinator`, `advocate_assigned`, `closed` | no | |
/// | `referred_to_coordinator` | `advocate_assigned`, `closed` | no | |
/// | `advocate_assigned` | `referred_to_coordinator`, `in_stages`, `closed` | no | |
/// | `in_stages` | `referred_to_coordinator`, `closed` | no | |
/// | `closed` | — | yes | `advocate_assigned` |
///
/// - A case owned by an NGO or an advocate's bureau may assign its advocate directly
///   (`opened → advocate_assigned`); a state-funded one goes through the coordinator.
/// - An advocate who declines or withdraws sends the case back to the coordinator
///   (`advocate_assigned` or `in_stages → referred_to_coordinator`). Which advocate is a
///   separate field: replacing one is not a status change.
/// - Closing is explicit, from any state (the closure category and outcome are separate
///   fields). Updates that arrive after the close change the case but never reopen it:
///   every transition out of `closed` is refused.
/// - Reopening is its own audited act and goes to `advocate_assigned`: advocates are paid
///   per stage, so the advocate for the resumed case is confirmed (or the case referred to
///   the coordinator again) before new stages start with `advocate_assigned → in_stages`.
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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

impl Workflow for CaseStatus {
    const KIND: WorkflowKind = WorkflowKind::Case;
    const ALL: &'static [Self] = &[
        CaseStatus::Opened,
        CaseStatus::ReferredToCoordinator,
        CaseStatus::AdvocateAssigned,
        CaseStatus::InStages,
        CaseStatus::Closed,
    ];
    const INITIAL: Self = CaseStatus::Opened;

    fn name(self) -> &'static str {
        match self {
            CaseStatus::Opened => "opened",
            CaseStatus::ReferredToCoordinator => "referred_to_coordinator",
            CaseStatus::AdvocateAssigned => "advocate_assigned",
            CaseStatus::InStages => "in_stages",
            CaseStatus::Closed => "closed",
        }
    }

    fn code(self) -> u8 {
        self as u8
    }

    fn targets(self) -> &'static [Self] {
        use CaseStatus::*;
        match self {
            Opened => &[ReferredToCoordinator, AdvocateAssigned, Closed],
            ReferredToCoordinator => &[AdvocateAssigned, Closed],
            AdvocateAssigned => &[ReferredToCoordinator, InStages, Closed],
            InStages => &[ReferredToCoordinator, Closed],
            Closed => &[],
        }
    }

    fn reopen_to(self) -> Option<Self> {
        match self {
            CaseStatus::Closed => Some(CaseStatus::AdvocateAssigned),
            CaseStatus::Opened
            | CaseStatus::ReferredToCoordinator
            | CaseStatus::AdvocateAssigned
            | CaseStatus::InStages => None,
        }
    }
}

macro_rules! common_impls {
    ($($t:ty),* $(,)?) => {$(
        impl sealed::Sealed for $t {}

        impl fmt::Display for $t {
            /// The stable name ([`Workflow::name`]).
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    )*};
}

common_impls!(
    IssueStatus,
    GroupStatus,
    RecommendationStage,
    EventStatus,
    RequestStatus,
    CaseStatus,
);

#[cfg(test)]
mod tests {
    use alloc::collections::{BTreeMap, BTreeSet};
    use alloc::format;
    use alloc::string::{String, ToString};
    use alloc::vec;
    use alloc::vec::Vec;

    use proptest::prelude::*;

    use super::*;

    /// The tables written a second time, by hand.
    const GOLDEN: &str = include_str!("../tests/data/workflows.txt");

    /// One workflow's table as the golden file states it, by state index.
    #[derive(Debug, Default)]
    struct Golden {
        states: Vec<String>,
        initial: Option<usize>,
        edges: BTreeSet<(usize, usize)>,
        terminal: BTreeSet<usize>,
        reopen: BTreeMap<usize, usize>,
        open311: BTreeMap<usize, String>,
    }

    /// The meaningful lines of the golden file: (head words, rest).
    fn golden_lines() -> impl Iterator<Item = (Vec<&'static str>, &'static str)> {
        GOLDEN
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| {
                let (head, rest) = l
                    .split_once(':')
                    .unwrap_or_else(|| panic!("no ':' in {l:?}"));
                (head.split_whitespace().collect(), rest.trim())
            })
    }

    fn golden_kinds() -> Vec<&'static str> {
        let lines: Vec<_> = golden_lines().filter(|(h, _)| h[..] == ["kinds"]).collect();
        assert_eq!(lines.len(), 1, "one `kinds:` line");
        lines[0].1.split(',').map(str::trim).collect()
    }

    fn golden(kind: &str) -> Golden {
        let mut g = Golden::default();
        let lines: Vec<_> = golden_lines().filter(|(h, _)| h[0] == kind).collect();
        for (head, rest) in &lines {
            if head.get(1) == Some(&"states") {
                assert!(g.states.is_empty(), "{kind}: two `states:` lines");
                g.states = rest.split(',').map(|s| s.trim().to_string()).collect();
            }
        }
        assert!(!g.states.is_empty(), "{kind}: no `states:` line");
        let idx = |name: &str| {
            g.states
                .iter()
                .position(|s| s == name)
                .unwrap_or_else(|| panic!("{kind}: unknown state {name:?} in the golden file"))
        };
        let pair = |rest: &str| {
            let (a, b) = rest
                .split_once("->")
                .unwrap_or_else(|| panic!("no '->' in {rest:?}"));
            (idx(a.trim()), idx(b.trim()))
        };
        let mut edges = BTreeSet::new();
        let mut terminal = BTreeSet::new();
        let mut reopen = BTreeMap::new();
        let mut open311 = BTreeMap::new();
        let mut initial = None;
        for (head, rest) in &lines {
            match head.get(1).copied() {
                None => assert!(edges.insert(pair(rest)), "{kind}: {rest} listed twice"),
                Some("states") => {}
                Some("initial") => {
                    assert!(
                        initial.replace(idx(rest)).is_none(),
                        "{kind}: two initial states"
                    );
                }
                Some("terminal") => assert!(terminal.insert(idx(rest)), "{kind}: {rest} twice"),
                Some("reopen") => {
                    let (a, b) = pair(rest);
                    assert!(
                        reopen.insert(a, b).is_none(),
                        "{kind}: two reopens of {rest}"
                    );
                }
                Some("open311") => {
                    let (s, v) = rest.split_once(' ').unwrap_or_else(|| panic!("{rest:?}"));
                    open311.insert(idx(s), v.trim().to_string());
                }
                Some(other) => panic!("{kind}: unknown keyword {other:?}"),
            }
        }
        g.initial = initial;
        g.edges = edges;
        g.terminal = terminal;
        g.reopen = reopen;
        g.open311 = open311;
        g
    }

    fn idx<W: Workflow>(s: W) -> usize {
        usize::from(s.code())
    }

    /// Checks `W`'s table against the golden file, for every (from, to) pair.
    fn check_golden<W: Workflow>() {
        let kind = W::KIND.name();
        let g = golden(kind);
        let names: Vec<&str> = W::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(names, g.states, "{kind}: states and their order");
        assert_eq!(Some(idx(W::INITIAL)), g.initial, "{kind}: initial state");
        for &from in W::ALL {
            for &to in W::ALL {
                let expected = g.edges.contains(&(idx(from), idx(to)));
                assert_eq!(from.can_transition(to), expected, "{kind}: {from} -> {to}");
                assert_eq!(
                    from.transition(to).is_ok(),
                    expected,
                    "{kind}: {from} -> {to}"
                );
            }
            assert_eq!(
                from.is_terminal(),
                g.terminal.contains(&idx(from)),
                "{kind}: is {from} terminal?"
            );
            assert_eq!(
                from.reopen_to().map(idx),
                g.reopen.get(&idx(from)).copied(),
                "{kind}: reopen of {from}"
            );
        }
        // Reopen lines only for terminal states.
        for from in g.reopen.keys() {
            assert!(
                g.terminal.contains(from),
                "{kind}: reopen of a non-terminal state"
            );
        }
    }

    #[test]
    fn golden_issue() {
        check_golden::<IssueStatus>();
    }

    #[test]
    fn golden_group() {
        check_golden::<GroupStatus>();
    }

    #[test]
    fn golden_recommendation() {
        check_golden::<RecommendationStage>();
    }

    #[test]
    fn golden_event() {
        check_golden::<EventStatus>();
    }

    #[test]
    fn golden_request() {
        check_golden::<RequestStatus>();
    }

    #[test]
    fn golden_case() {
        check_golden::<CaseStatus>();
    }

    #[test]
    fn golden_kinds_and_lines() {
        let kinds = golden_kinds();
        let names: Vec<&str> = WorkflowKind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(names, kinds, "workflow kinds and their codes");
        // Every line belongs to a known workflow (a typo must not hide a table line).
        for (head, rest) in golden_lines() {
            assert!(
                head[..] == ["kinds"] || kinds.contains(&head[0]),
                "unknown workflow in {head:?}: {rest}"
            );
            assert!(head.len() <= 2, "malformed head {head:?}");
        }
        for kind in kinds {
            let g = golden(kind);
            if kind != "issue" {
                assert!(g.open311.is_empty(), "open311 lines only for issues");
            }
        }
    }

    #[test]
    fn golden_open311() {
        let g = golden("issue");
        assert_eq!(
            g.open311.len(),
            IssueStatus::ALL.len(),
            "every issue state listed"
        );
        for &s in IssueStatus::ALL {
            assert_eq!(
                Some(s.open311()),
                g.open311.get(&idx(s)).map(String::as_str),
                "{s}"
            );
        }
    }

    fn check_structure<W: Workflow>() {
        let kind = W::KIND;
        assert!(
            !W::INITIAL.is_terminal(),
            "{kind}: initial state is terminal"
        );
        assert!(W::ALL.contains(&W::INITIAL));
        for &s in W::ALL {
            let t = s.targets();
            assert!(!t.contains(&s), "{kind}: {s} lists itself");
            for (i, a) in t.iter().enumerate() {
                assert!(!t[i + 1..].contains(a), "{kind}: {s} lists {a} twice");
            }
            if let Some(r) = s.reopen_to() {
                assert!(s.is_terminal(), "{kind}: reopen of non-terminal {s}");
                assert!(!r.is_terminal(), "{kind}: {s} reopens to terminal {r}");
            }
        }
        // Every state is reachable from the initial one.
        let mut seen = BTreeSet::from([W::INITIAL]);
        let mut todo = vec![W::INITIAL];
        while let Some(s) = todo.pop() {
            for &n in s.targets().iter().chain(s.reopen_to().iter()) {
                if seen.insert(n) {
                    todo.push(n);
                }
            }
        }
        assert_eq!(seen.len(), W::ALL.len(), "{kind}: unreachable states");
        // From every state some terminal state can be reached: no trap without an end.
        for &s in W::ALL {
            let mut seen = BTreeSet::from([s]);
            let mut todo = vec![s];
            while let Some(x) = todo.pop() {
                for &n in x.targets() {
                    if seen.insert(n) {
                        todo.push(n);
                    }
                }
            }
            assert!(
                seen.iter().any(|x| x.is_terminal()),
                "{kind}: no end from {s}"
            );
        }
    }

    #[test]
    fn structure_of_every_workflow() {
        check_structure::<IssueStatus>();
        check_structure::<GroupStatus>();
        check_structure::<RecommendationStage>();
        check_structure::<EventStatus>();
        check_structure::<RequestStatus>();
        check_structure::<CaseStatus>();
    }

    fn check_codes_names_serde<W: Workflow>() {
        let kind = W::KIND;
        assert_eq!(usize::from(kind.state_count()), W::ALL.len());
        assert_eq!(kind.initial(), W::INITIAL.code());
        for (i, &s) in W::ALL.iter().enumerate() {
            assert_eq!(usize::from(s.code()), i, "{kind}: {s} is not at its code");
        }
        for c in 0..=u8::MAX {
            let s = W::from_code(c);
            assert_eq!(s.is_some(), usize::from(c) < W::ALL.len());
            if let Some(s) = s {
                assert_eq!(s.code(), c);
            }
            assert_eq!(kind.state_name(c), s.map(W::name));
            assert_eq!(kind.is_terminal(c), s.map(W::is_terminal));
        }
        let names: BTreeSet<&str> = W::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(names.len(), W::ALL.len(), "{kind}: names not unique");
        for &s in W::ALL {
            let name = s.name();
            assert!(
                !name.is_empty()
                    && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                    && !name.starts_with('_')
                    && !name.ends_with('_'),
                "{kind}: {name:?} is not snake_case"
            );
            assert_eq!(W::from_name(name), Some(s));
            assert_eq!(kind.state_code(name), Some(s.code()));
            assert_eq!(s.to_string(), name);
            // postcard: one byte, the code; and back.
            let bytes = postcard::to_allocvec(&s).unwrap();
            assert_eq!(bytes, [s.code()], "{kind}: postcard of {s}");
            assert_eq!(postcard::from_bytes::<W>(&bytes).unwrap(), s);
            // JSON: the stable name.
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<W>(&json).unwrap(), s);
        }
        assert_eq!(W::from_name("no_such_state"), None);
        assert!(postcard::from_bytes::<W>(&[u8::try_from(W::ALL.len()).unwrap()]).is_err());
    }

    #[test]
    fn codes_names_and_serde() {
        check_codes_names_serde::<IssueStatus>();
        check_codes_names_serde::<GroupStatus>();
        check_codes_names_serde::<RecommendationStage>();
        check_codes_names_serde::<EventStatus>();
        check_codes_names_serde::<RequestStatus>();
        check_codes_names_serde::<CaseStatus>();
    }

    #[test]
    fn workflow_kind_codes_and_names() {
        assert_eq!(IssueStatus::KIND, WorkflowKind::Issue);
        assert_eq!(GroupStatus::KIND, WorkflowKind::Group);
        assert_eq!(RecommendationStage::KIND, WorkflowKind::Recommendation);
        assert_eq!(EventStatus::KIND, WorkflowKind::Event);
        assert_eq!(RequestStatus::KIND, WorkflowKind::Request);
        assert_eq!(CaseStatus::KIND, WorkflowKind::Case);
        for (i, &k) in WorkflowKind::ALL.iter().enumerate() {
            assert_eq!(usize::from(k.code()), i);
            assert_eq!(WorkflowKind::from_code(k.code()), Some(k));
            assert_eq!(WorkflowKind::from_name(k.name()), Some(k));
            assert_eq!(k.to_string(), k.name());
            let bytes = postcard::to_allocvec(&k).unwrap();
            assert_eq!(bytes, [k.code()]);
            assert_eq!(postcard::from_bytes::<WorkflowKind>(&bytes).unwrap(), k);
            assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{k}\""));
        }
        for c in 6..=u8::MAX {
            assert_eq!(WorkflowKind::from_code(c), None);
        }
        let names: BTreeSet<&str> = WorkflowKind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(names.len(), WorkflowKind::ALL.len());
        assert_eq!(WorkflowKind::from_name("Issue"), None);
    }

    fn check_terminal_rejects<W: Workflow>() {
        let kind = W::KIND;
        for &s in W::ALL {
            let (from, workflow) = (s.code(), kind);
            for &to in W::ALL {
                let expected = if to == s {
                    TransitionError::SameState {
                        workflow,
                        state: from,
                    }
                } else if s.is_terminal() {
                    TransitionError::Terminal {
                        workflow,
                        from,
                        to: to.code(),
                    }
                } else if s.can_transition(to) {
                    continue;
                } else {
                    TransitionError::NotAllowed {
                        workflow,
                        from,
                        to: to.code(),
                    }
                };
                assert_eq!(s.transition(to), Err(expected), "{kind}: {s} -> {to}");
            }
            let reopen = match (s.is_terminal(), s.reopen_to()) {
                (false, _) => Err(TransitionError::NotTerminal { workflow, from }),
                (true, None) => Err(TransitionError::NoReopen { workflow, from }),
                (true, Some(r)) => Ok(r),
            };
            assert_eq!(s.reopen(), reopen, "{kind}: reopen {s}");
        }
    }

    #[test]
    fn errors_for_every_pair() {
        check_terminal_rejects::<IssueStatus>();
        check_terminal_rejects::<GroupStatus>();
        check_terminal_rejects::<RecommendationStage>();
        check_terminal_rejects::<EventStatus>();
        check_terminal_rejects::<RequestStatus>();
        check_terminal_rejects::<CaseStatus>();
    }

    #[test]
    fn error_messages_name_the_workflow_and_both_states() {
        use IssueStatus::*;
        let msg = |e: TransitionError| e.to_string();
        assert_eq!(
            msg(Draft.transition(Resolved).unwrap_err()),
            "issue workflow: no transition from draft to resolved"
        );
        assert_eq!(
            msg(Published.transition(Published).unwrap_err()),
            "issue workflow: a transition from published to published is not a change"
        );
        assert_eq!(
            msg(Withdrawn.transition(Draft).unwrap_err()),
            "issue workflow: withdrawn is terminal, so the transition to draft is refused \
             (only an explicit reopen leaves it)"
        );
        assert_eq!(
            msg(Withdrawn.reopen().unwrap_err()),
            "issue workflow: withdrawn is final and cannot be reopened"
        );
        assert_eq!(
            msg(InProgress.reopen().unwrap_err()),
            "issue workflow: in_progress is not terminal, so there is nothing to reopen"
        );
        assert_eq!(
            msg(CaseStatus::Closed
                .transition(CaseStatus::InStages)
                .unwrap_err()),
            "case workflow: closed is terminal, so the transition to in_stages is refused \
             (only an explicit reopen leaves it)"
        );
        assert_eq!(
            msg(WorkflowKind::Event.transition(0, 42).unwrap_err()),
            "event workflow: no state has code 42"
        );
        let odd = TransitionError::NotAllowed {
            workflow: WorkflowKind::Case,
            from: 0,
            to: 9,
        };
        assert_eq!(
            msg(odd),
            "case workflow: no transition from opened to state #9"
        );
        assert_eq!(odd.workflow(), WorkflowKind::Case);
    }

    #[test]
    fn the_decisions_in_words() {
        use RecommendationStage as R;
        // A late answer moves a recommendation on without a reopen.
        assert!(!R::NoResponse.is_terminal());
        assert_eq!(R::NoResponse.transition(R::Adopted), Ok(R::Adopted));
        // A withdrawn issue stays withdrawn; Open311 calls it closed.
        assert_eq!(IssueStatus::Withdrawn.reopen_to(), None);
        assert_eq!(IssueStatus::Withdrawn.open311(), "closed");
        // A closed case ignores late updates, and its reopen is explicit.
        let r = replay(
            CaseStatus::Closed,
            [
                Step::Transition(CaseStatus::InStages),
                Step::Reopen,
                Step::Transition(CaseStatus::InStages),
            ],
        );
        assert_eq!(r.state, CaseStatus::InStages);
        assert_eq!(r.steps, 3);
        assert_eq!(r.rejected.len(), 1);
        assert_eq!(r.rejected[0].index, 0);
    }

    #[test]
    fn replay_and_errors_round_trip_through_postcard() {
        let r = replay(
            EventStatus::Planned,
            [
                Step::Transition(EventStatus::Reported),
                Step::Transition(EventStatus::Cancelled),
                Step::Transition(EventStatus::Held),
                Step::Reopen,
            ],
        );
        assert_eq!(r.state, EventStatus::Planned);
        assert!(!r.is_clean());
        let bytes = postcard::to_allocvec(&r).unwrap();
        assert_eq!(
            postcard::from_bytes::<Replay<EventStatus>>(&bytes).unwrap(),
            r
        );
        let steps = [Step::Reopen, Step::Transition(GroupStatus::Dormant)];
        let bytes = postcard::to_allocvec(&steps).unwrap();
        assert_eq!(
            postcard::from_bytes::<[Step<GroupStatus>; 2]>(&bytes).unwrap(),
            steps
        );
        for e in [
            TransitionError::SameState {
                workflow: WorkflowKind::Issue,
                state: 2,
            },
            TransitionError::Terminal {
                workflow: WorkflowKind::Group,
                from: 4,
                to: 0,
            },
            TransitionError::NotAllowed {
                workflow: WorkflowKind::Event,
                from: 0,
                to: 5,
            },
            TransitionError::NotTerminal {
                workflow: WorkflowKind::Request,
                from: 1,
            },
            TransitionError::NoReopen {
                workflow: WorkflowKind::Recommendation,
                from: 9,
            },
            TransitionError::UnknownState {
                workflow: WorkflowKind::Case,
                code: 200,
            },
        ] {
            let bytes = postcard::to_allocvec(&e).unwrap();
            assert_eq!(postcard::from_bytes::<TransitionError>(&bytes).unwrap(), e);
        }
        assert!(replay(IssueStatus::Draft, []).is_clean());
    }

    /// Walks `W` from its initial state with steps drawn from `raw`, checking every step
    /// against the table; then checks `replay` (whole and step by step) agrees.
    fn walk<W: Workflow>(raw: &[u16]) -> Result<(), TestCaseError> {
        let kind = W::KIND;
        let mut state = W::INITIAL;
        let mut steps = Vec::with_capacity(raw.len());
        let mut rejected = Vec::new();
        for (index, &r) in raw.iter().enumerate() {
            let pick = usize::from(r / 8);
            let step = match r % 8 {
                0 => Step::Reopen,
                // Mostly allowed moves, so walks get deep into the table.
                1..=4 if !state.targets().is_empty() => {
                    Step::Transition(state.targets()[pick % state.targets().len()])
                }
                _ => Step::Transition(W::ALL[pick % W::ALL.len()]),
            };
            steps.push(step);
            let result = step.apply(state);
            match (step, result) {
                (Step::Transition(to), Ok(next)) => {
                    prop_assert_eq!(next, to);
                    prop_assert!(state.can_transition(to), "{}: {} -> {}", kind, state, to);
                    prop_assert!(state.targets().contains(&to));
                    prop_assert!(!state.is_terminal() && state != to);
                }
                (Step::Transition(to), Err(e)) => {
                    prop_assert!(!state.can_transition(to), "{}: {} -> {}", kind, state, to);
                    let (from, t) = (state.code(), to.code());
                    let expected = if to == state {
                        TransitionError::SameState {
                            workflow: kind,
                            state: from,
                        }
                    } else if state.is_terminal() {
                        TransitionError::Terminal {
                            workflow: kind,
                            from,
                            to: t,
                        }
                    } else {
                        TransitionError::NotAllowed {
                            workflow: kind,
                            from,
                            to: t,
                        }
                    };
                    prop_assert_eq!(e, expected);
                    let msg = e.to_string();
                    prop_assert!(msg.starts_with(&format!("{kind} workflow: ")), "{}", msg);
                    let names = if to == state || !state.is_terminal() {
                        format!("from {state} to {to}")
                    } else {
                        format!("{state} is terminal, so the transition to {to} is refused")
                    };
                    prop_assert!(msg.contains(&names), "{}", msg);
                    rejected.push(RejectedStep { index, error: e });
                }
                (Step::Reopen, Ok(next)) => {
                    prop_assert!(state.is_terminal());
                    prop_assert_eq!(state.reopen_to(), Some(next));
                    prop_assert!(W::ALL.contains(&next) && !next.is_terminal());
                }
                (Step::Reopen, Err(e)) => {
                    let from = state.code();
                    let expected = if state.is_terminal() {
                        prop_assert_eq!(state.reopen_to(), None);
                        TransitionError::NoReopen {
                            workflow: kind,
                            from,
                        }
                    } else {
                        TransitionError::NotTerminal {
                            workflow: kind,
                            from,
                        }
                    };
                    prop_assert_eq!(e, expected);
                    let msg = e.to_string();
                    prop_assert!(
                        msg.starts_with(&format!("{kind} workflow: {state} ")),
                        "{}",
                        msg
                    );
                    rejected.push(RejectedStep { index, error: e });
                }
            }
            // The untyped API agrees with the typed one.
            let untyped = match step {
                Step::Transition(to) => kind.transition(state.code(), to.code()),
                Step::Reopen => kind.reopen(state.code()),
            };
            prop_assert_eq!(untyped, result.map(W::code));
            // Terminal states refuse every transition.
            if state.is_terminal() {
                for &to in W::ALL {
                    prop_assert!(state.transition(to).is_err());
                }
            }
            state = result.unwrap_or(state);
            prop_assert!(W::ALL.contains(&state));
        }
        let whole = replay(W::INITIAL, steps.iter().copied());
        prop_assert_eq!(whole.state, state);
        prop_assert_eq!(whole.steps, raw.len());
        prop_assert_eq!(&whole.rejected, &rejected);
        let mut by_step = Replay::new(W::INITIAL);
        for &s in &steps {
            let _ = by_step.step(s);
        }
        prop_assert_eq!(by_step, whole);
        Ok(())
    }

    fn raw_steps() -> impl Strategy<Value = Vec<u16>> {
        prop::collection::vec(any::<u16>(), 0..64)
    }

    proptest! {
        #![proptest_config(crate::test_support::config())]

        #[test]
        fn walk_issue(raw in raw_steps()) {
            walk::<IssueStatus>(&raw)?;
        }
    }

    proptest! {
        #![proptest_config(crate::test_support::config())]

        #[test]
        fn walk_group(raw in raw_steps()) {
            walk::<GroupStatus>(&raw)?;
        }
    }

    proptest! {
        #![proptest_config(crate::test_support::config())]

        #[test]
        fn walk_recommendation(raw in raw_steps()) {
            walk::<RecommendationStage>(&raw)?;
        }
    }

    proptest! {
        #![proptest_config(crate::test_support::config())]

        #[test]
        fn walk_event(raw in raw_steps()) {
            walk::<EventStatus>(&raw)?;
        }
    }

    proptest! {
        #![proptest_config(crate::test_support::config())]

        #[test]
        fn walk_request(raw in raw_steps()) {
            walk::<RequestStatus>(&raw)?;
        }
    }

    proptest! {
        #![proptest_config(crate::test_support::config())]

        #[test]
        fn walk_case(raw in raw_steps()) {
            walk::<CaseStatus>(&raw)?;
        }
    }

    proptest! {
        #![proptest_config(crate::test_support::config())]

        /// Any codes, known or not: the untyped API never panics, names the first unknown
        /// code, and otherwise agrees with the typed API.
        #[test]
        fn untyped_codes(k in 0u8..6, from in any::<u8>(), to in any::<u8>()) {
            let kind = WorkflowKind::from_code(k).unwrap();
            let n = kind.state_count();
            let got = kind.transition(from, to);
            if from >= n {
                prop_assert_eq!(got, Err(TransitionError::UnknownState { workflow: kind, code: from }));
            } else if to >= n {
                prop_assert_eq!(got, Err(TransitionError::UnknownState { workflow: kind, code: to }));
            } else {
                let typed = with_workflow!(kind, W => {
                    W::from_code(from).unwrap().transition(W::from_code(to).unwrap()).map(W::code)
                });
                prop_assert_eq!(got, typed);
            }
            let reopened = kind.reopen(from);
            if from >= n {
                prop_assert_eq!(reopened, Err(TransitionError::UnknownState { workflow: kind, code: from }));
            } else {
                let typed = with_workflow!(kind, W => W::from_code(from).unwrap().reopen().map(W::code));
                prop_assert_eq!(reopened, typed);
            }
            // Messages never panic, even for unknown codes.
            if let Err(e) = got {
                prop_assert!(e.to_string().starts_with(kind.name()));
            }
        }
    }
}
