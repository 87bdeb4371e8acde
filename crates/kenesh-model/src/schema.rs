//! The schema: one declaration per entity kind, written once, read by everyone.
//!
//! For every entity kind the model declares a stable numeric [`EntityKind`] code and, for each
//! field, a stable field id, its merge [`FieldKind`], its [`Tier`], whether it names a person,
//! whether concurrent writes are flagged as conflicts for a person to review, and its
//! [`Limit`]. The merge engine and the store read these declarations; nobody writes
//! per-entity merge or storage code.
//!
//! Codes and field ids are pinned in a golden registry (`registry.txt` beside this crate's
//! `Cargo.toml`) that a test compares with [`render_registry`]: an id is never reused or
//! renumbered. A field that is no longer written is marked `retired`, never removed.
//!
//! ```
//! use kenesh_model::schema::{self, EntityKind, FieldKind};
//!
//! let issue = schema::entity(EntityKind::Issue);
//! let status = issue.field_by_name("status").unwrap();
//! assert!(matches!(status.kind, FieldKind::Workflow(_)));
//! assert_eq!(issue.field(status.id).unwrap().name, "status");
//! // Unknown kinds (written by a newer build) are not an error, just unknown.
//! assert!(EntityKind::from_code(60_000).is_none());
//! ```

use core::fmt::{self, Write as _};

use alloc::string::String;
use serde::{Deserialize, Serialize};

use crate::{Tier, WorkflowKind};

/// A kind of entity, with its stable registry code.
///
/// Codes are pinned in the golden registry and never reused. A build meeting a code it does
/// not know keeps the op as bytes (see `kenesh-merge`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum EntityKind {
    /// [`crate::Municipality`].
    Municipality,
    /// [`crate::Organisation`].
    Organisation,
    /// [`crate::Person`].
    Person,
    /// [`crate::Consent`].
    Consent,
    /// [`crate::InitiativeGroup`].
    InitiativeGroup,
    /// [`crate::Membership`].
    Membership,
    /// [`crate::Issue`].
    Issue,
    /// [`crate::Recommendation`].
    Recommendation,
    /// [`crate::Event`].
    Event,
    /// [`crate::Attendance`].
    Attendance,
    /// [`crate::Campaign`].
    Campaign,
    /// [`crate::LegalAidRequest`].
    LegalAidRequest,
    /// [`crate::LegalCase`].
    LegalCase,
    /// [`crate::CaseStage`].
    CaseStage,
}

impl EntityKind {
    /// Every known kind, in code order.
    pub const ALL: [EntityKind; 14] = [
        EntityKind::Municipality,
        EntityKind::Organisation,
        EntityKind::Person,
        EntityKind::Consent,
        EntityKind::InitiativeGroup,
        EntityKind::Membership,
        EntityKind::Issue,
        EntityKind::Recommendation,
        EntityKind::Event,
        EntityKind::Attendance,
        EntityKind::Campaign,
        EntityKind::LegalAidRequest,
        EntityKind::LegalCase,
        EntityKind::CaseStage,
    ];

    /// The stable registry code carried in op envelopes.
    #[must_use]
    pub fn code(self) -> u16 {
        entity(self).code
    }

    /// The kind with this code, if this build knows it.
    #[must_use]
    pub fn from_code(code: u16) -> Option<EntityKind> {
        EntityKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The stable snake_case name.
    #[must_use]
    pub fn name(self) -> &'static str {
        entity(self).name
    }
}

impl fmt::Display for EntityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How concurrent changes to a field merge (DESIGN.md, "Merge: field kinds").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FieldKind {
    /// Last writer wins among the writes nobody superseded; several survivors are concurrent.
    Register,
    /// Add-wins set of values.
    Set,
    /// Grow-only log ordered by (HLC, origin).
    Log,
    /// A status replayed from its transition log through the named state machine.
    Workflow(WorkflowKind),
}

impl FieldKind {
    fn code(self) -> &'static str {
        match self {
            FieldKind::Register => "register",
            FieldKind::Set => "set",
            FieldKind::Log => "log",
            FieldKind::Workflow(w) => w.name(),
        }
    }
}

/// A field's size limit, checked by validation before an edit becomes an op.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Limit {
    /// No limit beyond the value's type (numbers, enums, ids).
    Fixed,
    /// Text of at most this many characters (per language for localised text).
    Chars(u32),
    /// A set or log of at most this many entries.
    Entries(u32),
    /// A log of at most this many entries, each a text of at most this many characters.
    EntriesOf(u32, u32),
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Fixed => f.write_str("fixed"),
            Limit::Chars(n) => write!(f, "chars<={n}"),
            Limit::Entries(n) => write!(f, "entries<={n}"),
            Limit::EntriesOf(n, c) => write!(f, "entries<={n},chars<={c}"),
        }
    }
}

/// One field of an entity kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct FieldDecl {
    /// Stable id within the entity kind; never reused.
    pub id: u16,
    /// Stable snake_case name (also the field's name in the entity struct and in exports).
    pub name: &'static str,
    /// How it merges.
    pub kind: FieldKind,
    /// The least tier of its ops: an op on this field carries the higher of this and the
    /// record's tier.
    pub tier: Tier,
    /// Whether its values name people (so erasure and consent reach it).
    pub names_person: bool,
    /// Whether concurrent writes are recorded as a conflict for a person to review.
    pub flag_conflicts: bool,
    /// Its size limit.
    pub limit: Limit,
    /// No longer written by this build; kept so its id is never reused.
    pub retired: bool,
}

/// Builds a [`FieldDecl`] tersely inside the schema tables.
pub(crate) const fn f(id: u16, name: &'static str, kind: FieldKind, tier: Tier) -> FieldDecl {
    FieldDecl {
        id,
        name,
        kind,
        tier,
        names_person: false,
        flag_conflicts: false,
        limit: Limit::Fixed,
        retired: false,
    }
}

impl FieldDecl {
    /// Marks the field as naming people.
    pub(crate) const fn person(mut self) -> Self {
        self.names_person = true;
        self
    }
    /// Marks concurrent writes as conflicts to review.
    pub(crate) const fn flagged(mut self) -> Self {
        self.flag_conflicts = true;
        self
    }
    /// Sets a character limit.
    pub(crate) const fn chars(mut self, n: u32) -> Self {
        self.limit = Limit::Chars(n);
        self
    }
    /// Sets an entry-count limit.
    pub(crate) const fn entries(mut self, n: u32) -> Self {
        self.limit = Limit::Entries(n);
        self
    }
    /// Sets an entry-count limit and a character limit per entry.
    pub(crate) const fn entries_of(mut self, n: u32, chars: u32) -> Self {
        self.limit = Limit::EntriesOf(n, chars);
        self
    }
}

/// Shorthands used by the schema tables.
pub(crate) use FieldKind::{Log as LOG, Register as REG, Set as SET};

/// The declaration of one entity kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct EntitySchema {
    /// Stable registry code.
    pub code: u16,
    /// Stable snake_case name.
    pub name: &'static str,
    /// The tier a new record gets unless the caller raises it.
    pub default_tier: Tier,
    /// The lowest tier a record may have (a legal case is always sensitive).
    pub min_tier: Tier,
    /// The fields, in id order.
    pub fields: &'static [FieldDecl],
}

impl EntitySchema {
    /// The field with this id, if this build knows it.
    #[must_use]
    pub fn field(&self, id: u16) -> Option<&'static FieldDecl> {
        self.fields.iter().find(|f| f.id == id)
    }

    /// The live (not retired) field with this name.
    #[must_use]
    pub fn field_by_name(&self, name: &str) -> Option<&'static FieldDecl> {
        self.fields.iter().find(|f| f.name == name && !f.retired)
    }

    /// The character limit of a live field's text (for validation); `u32::MAX` if none.
    pub(crate) fn chars_limit(&self, name: &str) -> u32 {
        match self.field_by_name(name).map(|f| f.limit) {
            Some(Limit::Chars(n) | Limit::EntriesOf(_, n)) => n,
            _ => u32::MAX,
        }
    }

    /// The entry limit of a live set or log field (for validation); `u32::MAX` if none.
    pub(crate) fn entries_limit(&self, name: &str) -> u32 {
        match self.field_by_name(name).map(|f| f.limit) {
            Some(Limit::Entries(n) | Limit::EntriesOf(n, _)) => n,
            _ => u32::MAX,
        }
    }
}

/// The declaration of `kind`.
#[must_use]
pub fn entity(kind: EntityKind) -> &'static EntitySchema {
    use crate::entities as e;
    match kind {
        EntityKind::Municipality => &e::MUNICIPALITY_SCHEMA,
        EntityKind::Organisation => &e::ORGANISATION_SCHEMA,
        EntityKind::Person => &e::PERSON_SCHEMA,
        EntityKind::Consent => &e::CONSENT_SCHEMA,
        EntityKind::InitiativeGroup => &e::GROUP_SCHEMA,
        EntityKind::Membership => &e::MEMBERSHIP_SCHEMA,
        EntityKind::Issue => &e::ISSUE_SCHEMA,
        EntityKind::Recommendation => &e::RECOMMENDATION_SCHEMA,
        EntityKind::Event => &e::EVENT_SCHEMA,
        EntityKind::Attendance => &e::ATTENDANCE_SCHEMA,
        EntityKind::Campaign => &e::CAMPAIGN_SCHEMA,
        EntityKind::LegalAidRequest => &e::REQUEST_SCHEMA,
        EntityKind::LegalCase => &e::CASE_SCHEMA,
        EntityKind::CaseStage => &e::STAGE_SCHEMA,
    }
}

/// The registry as text, one line per entity kind and per field, in the format of the
/// committed golden file `registry.txt`.
#[must_use]
pub fn render_registry() -> String {
    let mut out = String::new();
    for kind in EntityKind::ALL {
        let e = entity(kind);
        let _ = writeln!(
            out,
            "entity {} {} default={} min={}",
            e.code, e.name, e.default_tier, e.min_tier
        );
        for fd in e.fields {
            let _ = write!(
                out,
                "  field {}.{} {} {} {} {}",
                e.code,
                fd.id,
                fd.name,
                fd.kind.code(),
                fd.tier,
                fd.limit
            );
            if fd.names_person {
                out.push_str(" person");
            }
            if fd.flag_conflicts {
                out.push_str(" flagged");
            }
            if fd.retired {
                out.push_str(" retired");
            }
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeSet;

    #[test]
    fn registry_matches_golden_file() {
        let golden = include_str!("../registry.txt");
        let body: String = golden
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .flat_map(|l| [l, "\n"])
            .collect();
        assert_eq!(
            render_registry(),
            body,
            "the schema no longer matches registry.txt: ids are never renumbered or reused; \
             append new kinds and fields, mark old ones retired"
        );
    }

    /// Every entity code and field id with its name, written out a second time by hand:
    /// `registry.txt` can be regenerated, this list cannot, so renumbering or reusing an id
    /// fails here even if the golden file was regenerated with it. Append only.
    const PINNED: &[(&str, &str)] = &[
        ("1", "municipality"),
        ("1.1", "kind"),
        ("1.2", "name"),
        ("1.3", "territories"),
        ("1.4", "kenesh"),
        ("1.5", "head"),
        ("1.6", "contacts"),
        ("1.7", "kiosks"),
        ("2", "organisation"),
        ("2.1", "kind"),
        ("2.2", "name"),
        ("2.3", "territory"),
        ("2.4", "contacts"),
        ("3", "person"),
        ("3.1", "name"),
        ("3.2", "sex"),
        ("3.3", "birth_year"),
        ("3.4", "disability"),
        ("3.5", "residence"),
        ("3.6", "languages"),
        ("3.7", "pin"),
        ("3.8", "phone"),
        ("3.9", "dedup_keys"),
        ("3.10", "merged_into"),
        ("4", "consent"),
        ("4.1", "person"),
        ("4.2", "purposes"),
        ("4.3", "method"),
        ("4.4", "given_at"),
        ("4.5", "withdrawn_at"),
        ("4.6", "transfers"),
        ("5", "initiative_group"),
        ("5.1", "municipality"),
        ("5.2", "name"),
        ("5.3", "focus_issues"),
        ("5.4", "status"),
        ("5.5", "agreement"),
        ("5.6", "action_plan"),
        ("5.7", "co_financing"),
        ("5.8", "formed_on"),
        ("6", "membership"),
        ("6.1", "group"),
        ("6.2", "member"),
        ("6.3", "sector"),
        ("6.4", "role"),
        ("6.5", "joined"),
        ("6.6", "left"),
        ("7", "issue"),
        ("7.1", "title"),
        ("7.2", "description"),
        ("7.3", "category"),
        ("7.4", "territory"),
        ("7.5", "location"),
        ("7.6", "place"),
        ("7.7", "reported_by"),
        ("7.8", "channel"),
        ("7.9", "status"),
        ("7.10", "close_reason"),
        ("7.11", "responsible"),
        ("7.12", "group"),
        ("7.13", "duplicate_of"),
        ("7.14", "supporters"),
        ("7.15", "paper_supports"),
        ("7.16", "updates"),
        ("7.17", "comments"),
        ("7.18", "visibility"),
        ("7.19", "moderation"),
        ("7.20", "receipt"),
        ("7.21", "beneficiaries_estimate"),
        ("8", "recommendation"),
        ("8.1", "direction"),
        ("8.2", "title"),
        ("8.3", "body"),
        ("8.4", "co_authors"),
        ("8.5", "versions"),
        ("8.6", "target_body"),
        ("8.7", "stage"),
        ("8.8", "submitted_on"),
        ("8.9", "official_response"),
        ("8.10", "linked_acts"),
        ("9", "event"),
        ("9.1", "kind"),
        ("9.2", "subject"),
        ("9.3", "topic"),
        ("9.4", "starts_on"),
        ("9.5", "ends_on"),
        ("9.6", "sessions"),
        ("9.7", "territory"),
        ("9.8", "organisers"),
        ("9.9", "language"),
        ("9.10", "capacity"),
        ("9.11", "status"),
        ("9.12", "campaign"),
        ("10", "attendance"),
        ("10.1", "event"),
        ("10.2", "person"),
        ("10.3", "role"),
        ("10.4", "sessions_attended"),
        ("10.5", "completed"),
        ("10.6", "pre_score"),
        ("10.7", "post_score"),
        ("10.8", "evidence"),
        ("11", "campaign"),
        ("11.1", "name"),
        ("11.2", "channels"),
        ("11.3", "starts_on"),
        ("11.4", "ends_on"),
        ("11.5", "estimated_reach"),
        ("12", "legal_aid_request"),
        ("12.1", "applicant"),
        ("12.2", "receiver"),
        ("12.3", "channel"),
        ("12.4", "taken_at"),
        ("12.5", "language"),
        ("12.6", "legal_area"),
        ("12.7", "facts"),
        ("12.8", "urgency"),
        ("12.9", "other_parties"),
        ("12.10", "eligibility"),
        ("12.11", "status"),
        ("12.12", "consulted_on"),
        ("12.13", "rejection"),
        ("13", "legal_case"),
        ("13.1", "request"),
        ("13.2", "coordinator"),
        ("13.3", "advocate"),
        ("13.4", "status"),
        ("13.5", "hearings"),
        ("13.6", "closure"),
        ("13.7", "referrals"),
        ("14", "case_stage"),
        ("14.1", "case"),
        ("14.2", "kind"),
        ("14.3", "started_on"),
        ("14.4", "completed_on"),
        ("14.5", "evidence"),
        ("14.6", "paid"),
    ];

    #[test]
    fn ids_are_pinned() {
        let mut current = alloc::vec::Vec::new();
        for kind in EntityKind::ALL {
            let e = entity(kind);
            current.push((alloc::format!("{}", e.code), e.name));
            for fd in e.fields {
                current.push((alloc::format!("{}.{}", e.code, fd.id), fd.name));
            }
        }
        for (id, name) in PINNED {
            assert!(
                current.iter().any(|(c, n)| c == id && n == name),
                "pinned id {id} ({name}) was renumbered, renamed or removed"
            );
        }
    }

    #[test]
    fn codes_and_ids_are_unique_and_ascending() {
        let mut codes = BTreeSet::new();
        let mut last = 0;
        for kind in EntityKind::ALL {
            let e = entity(kind);
            assert!(e.code > last, "entity codes ascend in declaration order");
            last = e.code;
            assert!(codes.insert(e.code));
            assert_eq!(EntityKind::from_code(e.code), Some(kind));
            assert!(e.min_tier <= e.default_tier, "{}", e.name);
            let mut prev = 0;
            let mut names = BTreeSet::new();
            for fd in e.fields {
                assert!(fd.id > prev, "{}.{} ids ascend", e.name, fd.name);
                prev = fd.id;
                assert!(
                    fd.retired || names.insert(fd.name),
                    "{}.{} twice",
                    e.name,
                    fd.name
                );
                if let FieldKind::Set | FieldKind::Log = fd.kind {
                    assert!(
                        matches!(fd.limit, Limit::Entries(_) | Limit::EntriesOf(..)),
                        "{}.{} bounded",
                        e.name,
                        fd.name
                    );
                }
            }
        }
    }
}
