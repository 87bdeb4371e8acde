//! What every mutable record carries: id, owner scope, sensitivity tier, who made and last
//! changed it on which device, and whether it is tombstoned.

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::{DeviceId, Id, MunicipalityId, OrganisationId, PersonId, Timestamp};

/// How sensitive a record or field is. Ordered: a grant for a tier covers the tiers below.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum Tier {
    /// Anyone may read it (published issues, events, groups).
    Public,
    /// Personal data (Law No. 58 of 2008): names, contacts, participation.
    Personal,
    /// Special categories: legal matters, disability, health, domestic violence.
    Sensitive,
}

impl Tier {
    /// All tiers, in order.
    pub const ALL: [Tier; 3] = [Tier::Public, Tier::Personal, Tier::Sensitive];

    /// A stable one-letter code, used in registries and reports.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Tier::Public => "public",
            Tier::Personal => "personal",
            Tier::Sensitive => "sensitive",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The owner of a record: a municipality or an organisation *entity* (never a code prefix),
/// set at create and carried in every op of the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum Scope {
    /// An ayil okmotu or city hall.
    Municipality(MunicipalityId),
    /// An NGO, free legal aid centre, state body, donor, …
    Organisation(OrganisationId),
}

impl Scope {
    /// The entity id of the scope's owner.
    #[must_use]
    pub fn id(&self) -> Id {
        match self {
            Scope::Municipality(m) => m.0,
            Scope::Organisation(o) => o.0,
        }
    }
}

/// Who did something, where, when.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Stamp {
    /// When (from the device's clock, as recorded; not the HLC).
    pub at: Timestamp,
    /// The device it was done on.
    pub device: DeviceId,
    /// The person who did it, if known (staff member, or a citizen identified at intake);
    /// `None` for an anonymous kiosk user.
    pub by: Option<PersonId>,
}

/// The part every record shares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct RecordMeta {
    /// The record's id, made on the device that created it.
    pub id: Id,
    /// Owner scope, set at create.
    pub scope: Scope,
    /// Sensitivity tier of the record as a whole, set at create; single fields may be
    /// more sensitive (see [`crate::schema`]).
    pub tier: Tier,
    /// Creation.
    pub created: Stamp,
    /// Last change.
    pub updated: Stamp,
    /// Hidden by a tombstone (the record's ops are kept).
    pub tombstone: bool,
}

impl RecordMeta {
    /// Meta for a record created by `stamp`.
    #[must_use]
    pub fn new(id: Id, scope: Scope, tier: Tier, stamp: Stamp) -> RecordMeta {
        RecordMeta {
            id,
            scope,
            tier,
            created: stamp,
            updated: stamp,
            tombstone: false,
        }
    }
}
