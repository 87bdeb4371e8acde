//! The entities of DOMAIN.md. Each is a plain struct with a [`RecordMeta`] and one field per
//! declared schema field (same names), its schema declaration beside it, and `validate`.

use alloc::string::String;
use serde::{Deserialize, Serialize};

use crate::RecordMeta;
use crate::schema::{EntityKind, EntitySchema};
use crate::validate::{Check, ValidationError};

mod events;
mod groups;
mod issues;
mod legal;
mod orgs;
mod people;
mod recommendations;

pub use events::*;
pub use groups::*;
pub use issues::*;
pub use legal::*;
pub use orgs::*;
pub use people::*;
pub use recommendations::*;

/// What every entity struct offers.
pub trait Record {
    /// Its entity kind.
    const KIND: EntityKind;
    /// Its id, scope, tier and provenance.
    fn meta(&self) -> &RecordMeta;
    /// Checks every field against the schema's limits and the entity's own rules.
    ///
    /// # Errors
    /// The first problem found, naming the field and the limit.
    fn validate(&self) -> Result<(), ValidationError>;
    /// Its schema declaration.
    #[must_use]
    fn schema() -> &'static EntitySchema {
        crate::schema::entity(Self::KIND)
    }
}

/// Money in Kyrgyz som, held in tyiyn (1/100 som) so sums are exact.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Kgs(pub u64);

impl Kgs {
    /// An amount of whole som.
    #[must_use]
    pub const fn som(som: u64) -> Kgs {
        Kgs(som.saturating_mul(100))
    }
}

/// Ways to reach an organisation or office.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Contacts {
    /// Phone number as printed.
    pub phone: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Postal address.
    pub address: Option<String>,
}

impl Contacts {
    pub(crate) fn check(&self, c: &Check, field: &str) -> Result<(), ValidationError> {
        for s in [&self.phone, &self.email, &self.address]
            .into_iter()
            .flatten()
        {
            c.text(field, s)?;
        }
        Ok(())
    }
}

/// A place on the map, in degrees × 10⁷ (WGS 84), as integers so every replica agrees.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct GeoPoint {
    /// Latitude × 10⁷.
    pub lat_e7: i32,
    /// Longitude × 10⁷.
    pub lon_e7: i32,
}

impl GeoPoint {
    pub(crate) fn check(&self, c: &Check, field: &str) -> Result<(), ValidationError> {
        c.range(field, i64::from(self.lat_e7), -900_000_000, 900_000_000)?;
        c.range(field, i64::from(self.lon_e7), -1_800_000_000, 1_800_000_000)
    }
}

/// A municipality or an organisation, named as a party (responsible body, organiser, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum Party {
    /// An ayil okmotu or city hall.
    Municipality(crate::MunicipalityId),
    /// An organisation.
    Organisation(crate::OrganisationId),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::FieldKind;
    use alloc::collections::BTreeSet;
    use alloc::vec::Vec;
    use core::fmt::Debug;
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    use serde::de::DeserializeOwned;

    fn round_trip<T>(v: &T) -> Result<(), TestCaseError>
    where
        T: Record + Serialize + DeserializeOwned + PartialEq + Debug,
    {
        let bytes =
            postcard::to_allocvec(v).map_err(|e| TestCaseError::fail(alloc::format!("{e}")))?;
        let back: T =
            postcard::from_bytes(&bytes).map_err(|e| TestCaseError::fail(alloc::format!("{e}")))?;
        prop_assert_eq!(&back, v);
        let json =
            serde_json::to_string(v).map_err(|e| TestCaseError::fail(alloc::format!("{e}")))?;
        let back: T =
            serde_json::from_str(&json).map_err(|e| TestCaseError::fail(alloc::format!("{e}")))?;
        prop_assert_eq!(&back, v);
        // Validation never panics, whatever the values.
        let _ = v.validate();
        Ok(())
    }

    proptest! {
        #![proptest_config(crate::test_support::config())]
        #[test] fn municipality_round_trips(v in any::<Municipality>()) { round_trip(&v)?; }
        #[test] fn organisation_round_trips(v in any::<Organisation>()) { round_trip(&v)?; }
        #[test] fn person_round_trips(v in any::<Person>()) { round_trip(&v)?; }
        #[test] fn consent_round_trips(v in any::<Consent>()) { round_trip(&v)?; }
        #[test] fn group_round_trips(v in any::<InitiativeGroup>()) { round_trip(&v)?; }
        #[test] fn membership_round_trips(v in any::<Membership>()) { round_trip(&v)?; }
        #[test] fn issue_round_trips(v in any::<Issue>()) { round_trip(&v)?; }
        #[test] fn recommendation_round_trips(v in any::<Recommendation>()) { round_trip(&v)?; }
        #[test] fn event_round_trips(v in any::<Event>()) { round_trip(&v)?; }
        #[test] fn attendance_round_trips(v in any::<Attendance>()) { round_trip(&v)?; }
        #[test] fn campaign_round_trips(v in any::<Campaign>()) { round_trip(&v)?; }
        #[test] fn request_round_trips(v in any::<LegalAidRequest>()) { round_trip(&v)?; }
        #[test] fn case_round_trips(v in any::<LegalCase>()) { round_trip(&v)?; }
        #[test] fn stage_round_trips(v in any::<CaseStage>()) { round_trip(&v)?; }

        /// Valid encodings with bytes flipped, cut or inserted: a value or an error, never
        /// a panic (random bytes alone rarely get past the first field).
        #[test]
        fn corrupted_encodings_are_errors_not_panics(
            v in any::<Issue>(),
            p in any::<Person>(),
            edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..8),
        ) {
            for mut bytes in [postcard::to_allocvec(&v).unwrap(), postcard::to_allocvec(&p).unwrap()] {
                for (at, byte, how) in &edits {
                    let at = at % (bytes.len() + 1);
                    match how {
                        0 if at < bytes.len() => bytes[at] ^= byte | 1,
                        1 => bytes.truncate(at),
                        _ => bytes.insert(at, *byte),
                    }
                }
                if let Ok(x) = postcard::from_bytes::<Issue>(&bytes) { let _ = x.validate(); }
                if let Ok(x) = postcard::from_bytes::<Person>(&bytes) { let _ = x.validate(); }
            }
        }

        /// Territories round-trip through postcard and JSON.
        #[test]
        fn territory_round_trips(code in any::<crate::SoateCode>(), ky in "[А-Яа-яҢңӨөҮү -]{1,30}", ru in "[А-Яа-я -]{1,30}") {
            let t = crate::Territory::new(code, ky, ru);
            let bytes = postcard::to_allocvec(&t).unwrap();
            prop_assert_eq!(postcard::from_bytes::<crate::Territory>(&bytes).unwrap(), t.clone());
            let json = serde_json::to_string(&t).unwrap();
            prop_assert_eq!(serde_json::from_str::<crate::Territory>(&json).unwrap(), t);
        }

        /// Arbitrary bytes never panic a decoder: a value or an error.
        #[test]
        fn decoding_garbage_is_an_error_not_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = postcard::from_bytes::<Issue>(&bytes);
            let _ = postcard::from_bytes::<Person>(&bytes);
            let _ = postcard::from_bytes::<LegalCase>(&bytes);
        }
    }

    /// The entity struct's fields are exactly the schema's live fields, by name: the
    /// declaration and the struct cannot drift apart.
    fn fields_match_schema<T: Record + Serialize + Arbitrary>() {
        let mut runner = TestRunner::deterministic();
        let v = any::<T>().new_tree(&mut runner).unwrap().current();
        let json = serde_json::to_value(&v).unwrap();
        let keys: BTreeSet<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(alloc::string::String::as_str)
            .filter(|k| *k != "meta")
            .collect();
        let declared: BTreeSet<&str> = T::schema()
            .fields
            .iter()
            .filter(|f| !f.retired)
            .map(|f| f.name)
            .collect();
        assert_eq!(keys, declared, "{}", T::schema().name);
    }

    #[test]
    fn struct_fields_match_schema() {
        fields_match_schema::<Municipality>();
        fields_match_schema::<Organisation>();
        fields_match_schema::<Person>();
        fields_match_schema::<Consent>();
        fields_match_schema::<InitiativeGroup>();
        fields_match_schema::<Membership>();
        fields_match_schema::<Issue>();
        fields_match_schema::<Recommendation>();
        fields_match_schema::<Event>();
        fields_match_schema::<Attendance>();
        fields_match_schema::<Campaign>();
        fields_match_schema::<LegalAidRequest>();
        fields_match_schema::<LegalCase>();
        fields_match_schema::<CaseStage>();
    }

    #[test]
    fn workflow_fields_name_their_workflow() {
        let w: Vec<_> = crate::schema::EntityKind::ALL
            .into_iter()
            .flat_map(|k| crate::schema::entity(k).fields.iter())
            .filter_map(|f| match f.kind {
                FieldKind::Workflow(w) => Some(w),
                _ => None,
            })
            .collect();
        assert_eq!(w.len(), 6, "six workflows, one field each");
    }
}
