//! Municipalities (ayil okmotu, city halls) and organisations.

use alloc::collections::BTreeSet;
use alloc::string::String;
use serde::{Deserialize, Serialize};

use super::{Contacts, Record};
use crate::schema::{EntityKind, EntitySchema, REG, SET, f};
use crate::text::LocalizedText;
use crate::validate::{Check, ValidationError};
use crate::{Date, DeviceId, RecordMeta, SoateCode, TerritorySpans, Tier};

/// What kind of local self-government body a municipality is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum MunicipalityKind {
    /// Айыл өкмөтү: the executive of a village community (айыл аймагы).
    AyilOkmotu,
    /// Мэрия: a city hall.
    CityHall,
}

/// The elected council of a municipality.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Kenesh {
    /// Its name (айылдык кеңеш / шаардык кеңеш).
    pub name: LocalizedText,
    /// Number of seats.
    pub seats: u16,
}

/// The head of a municipality's executive.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Head {
    /// Full name as written in the appointment.
    pub name: String,
    /// Date of appointment.
    pub appointed_on: Date,
    /// Who appointed them (the kenesh, by its decision number, …).
    pub appointed_by: String,
}

/// A municipality: an ayil okmotu or a city hall, with its territory codes over time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Municipality {
    /// Id, scope (itself), tier, provenance.
    pub meta: RecordMeta,
    /// Ayil okmotu or city hall.
    pub kind: MunicipalityKind,
    /// Its name.
    pub name: LocalizedText,
    /// The SOATE codes it covers, each with the dates it covered them (the 2024 mergers);
    /// spans of one code never overlap.
    pub territories: TerritorySpans,
    /// Its council.
    pub kenesh: Option<Kenesh>,
    /// Its head.
    pub head: Option<Head>,
    /// How to reach its office.
    pub contacts: Contacts,
    /// The kiosks installed in its offices.
    pub kiosks: BTreeSet<DeviceId>,
}

/// Schema of [`Municipality`].
pub static MUNICIPALITY_SCHEMA: EntitySchema = EntitySchema {
    code: 1,
    name: "municipality",
    default_tier: Tier::Public,
    min_tier: Tier::Public,
    fields: &[
        f(1, "kind", REG, Tier::Public),
        f(2, "name", REG, Tier::Public).chars(200).flagged(),
        f(3, "territories", REG, Tier::Public).flagged().entries(64),
        f(4, "kenesh", REG, Tier::Public).chars(200),
        f(5, "head", REG, Tier::Public)
            .person()
            .flagged()
            .chars(200),
        f(6, "contacts", REG, Tier::Public).chars(300),
        f(7, "kiosks", SET, Tier::Public).entries(64),
    ],
};

impl Municipality {
    /// The SOATE codes it covered on `date`.
    #[must_use]
    pub fn codes_on(&self, date: Date) -> alloc::vec::Vec<SoateCode> {
        self.territories.codes_on(date)
    }
}

impl Record for Municipality {
    const KIND: EntityKind = EntityKind::Municipality;
    fn meta(&self) -> &RecordMeta {
        &self.meta
    }
    fn validate(&self) -> Result<(), ValidationError> {
        let c = Check::new(Self::KIND);
        c.meta(&self.meta)?;
        c.localized("name", &self.name)?;
        c.ensure(
            !self.territories.is_empty(),
            "territories",
            "a municipality covers at least one code",
        )?;
        c.entries("territories", self.territories.len())?;
        if let Some(k) = &self.kenesh {
            c.localized("kenesh", &k.name)?;
            c.range("kenesh", i64::from(k.seats), 1, 200)?;
        }
        if let Some(h) = &self.head {
            c.text("head", &h.name)?;
            c.text("head", &h.appointed_by)?;
        }
        self.contacts.check(&c, "contacts")?;
        c.entries("kiosks", self.kiosks.len())
    }
}

/// What kind of organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum OrganisationKind {
    /// A state body (ministry, agency, court administration).
    StateBody,
    /// A centre of the state free legal aid system.
    LegalAidCentre,
    /// A non-governmental organisation.
    Ngo,
    /// A business.
    Business,
    /// Media.
    Media,
    /// An international organisation or donor.
    International,
    /// An advocates' bureau.
    AdvocatesBureau,
}

/// An organisation: state body, legal aid centre, NGO, business, media, donor, bureau.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Organisation {
    /// Id, scope, tier, provenance.
    pub meta: RecordMeta,
    /// What it is.
    pub kind: OrganisationKind,
    /// Its name.
    pub name: LocalizedText,
    /// Where it sits.
    pub territory: Option<SoateCode>,
    /// How to reach it.
    pub contacts: Contacts,
}

/// Schema of [`Organisation`].
pub static ORGANISATION_SCHEMA: EntitySchema = EntitySchema {
    code: 2,
    name: "organisation",
    default_tier: Tier::Public,
    min_tier: Tier::Public,
    fields: &[
        f(1, "kind", REG, Tier::Public),
        f(2, "name", REG, Tier::Public).chars(200).flagged(),
        f(3, "territory", REG, Tier::Public),
        f(4, "contacts", REG, Tier::Public).chars(300),
    ],
};

impl Record for Organisation {
    const KIND: EntityKind = EntityKind::Organisation;
    fn meta(&self) -> &RecordMeta {
        &self.meta
    }
    fn validate(&self) -> Result<(), ValidationError> {
        let c = Check::new(Self::KIND);
        c.meta(&self.meta)?;
        c.localized("name", &self.name)?;
        self.contacts.check(&c, "contacts")
    }
}
