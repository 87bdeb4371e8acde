//! # kenesh-model
//!
//! The domain model of kenesh, the data system of the "Жигердүү жарандар" (Active
//! Communities) programme in the Kyrgyz Republic: territories and municipalities, people and
//! their consent, initiative groups, local issues, policy recommendations, events and
//! attendance, legal-aid requests and cases, and the indicators the programme reports.
//!
//! It is `#![no_std]` with `alloc`; `std` is an additive feature. It does no I/O and reads no
//! clock: times come in from the caller.
//!
//! What lives here:
//! - the entities ([`Issue`], [`Person`], [`LegalCase`], …), each with a [`RecordMeta`]
//!   (id, owner [`Scope`], [`Tier`], who made and changed it);
//! - a [`schema`] declaration per entity kind — the stable field ids, field kinds, tiers and
//!   limits that the merge engine and the store read — pinned in a golden registry;
//! - the status [`workflow`]s as state machines;
//! - [`SoateCode`]s and [`Territory`] records that change over time;
//! - localised text and Kyrgyz-aware search keys ([`text`]);
//! - validation with typed errors, and the [`indicators`] report.
//!
//! ```
//! use kenesh_model::{SoateCode, SoateLevel, Date, FiscalYear};
//!
//! let batken: SoateCode = "41705410000010".parse()?;
//! assert_eq!(batken.level(), SoateLevel::RegionalCity);
//! assert_eq!(batken.parent().unwrap().to_string(), "41705000000000");
//! assert_eq!(Date::new(2023, 10, 1)?.fiscal_year(), FiscalYear(2024));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::alloc_instead_of_core
)]

extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

#[cfg(test)]
mod arbitrary;
mod entities;
mod id;
pub mod indicators;
mod record;
pub mod schema;
pub mod soate;
pub mod territory;
pub mod text;
mod time;
mod validate;
pub mod workflow;

pub use entities::*;
pub use id::*;
pub use record::*;
pub use soate::*;
pub use territory::*;
pub use time::*;
pub use validate::ValidationError;
pub use workflow::*;

#[cfg(test)]
pub(crate) mod test_support {
    /// Property-test configuration: at least 1,000 cases, more with `PROPTEST_CASES`.
    pub(crate) fn config() -> proptest::prelude::ProptestConfig {
        let cases = std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1000u32)
            .max(1000);
        proptest::prelude::ProptestConfig::with_cases(cases)
    }
}
