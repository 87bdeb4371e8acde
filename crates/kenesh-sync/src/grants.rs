//! Grants: what a peer may read and write, as scope × tier × access.

use std::collections::BTreeSet;

use kenesh_model::{Scope, Tier};
use serde::{Deserialize, Serialize};

/// Read or write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Access {
    /// May receive payloads of the tier.
    Read,
    /// May write ops of the tier.
    Write,
}

/// A peer's grants: a set of (scope, tier, access). A grant names one tier exactly; use
/// [`Grants::up_to`] to grant a tier and those below it.
///
/// Write without read is allowed (a kiosk's legal-aid intake writes sensitive cases it may
/// not read back).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Grants(BTreeSet<(Scope, Tier, Access)>);

const TIERS: [Tier; 3] = [Tier::Public, Tier::Personal, Tier::Sensitive];

/// No grants, as a constant (what an op of a seq no grant set covers is judged under).
pub(crate) static NO_GRANTS: Grants = Grants(BTreeSet::new());

impl Grants {
    /// No grants.
    #[must_use]
    pub fn none() -> Grants {
        Grants::default()
    }

    /// Adds one grant.
    #[must_use]
    pub fn with(mut self, scope: Scope, tier: Tier, access: Access) -> Grants {
        self.0.insert((scope, tier, access));
        self
    }

    /// Adds `access` to `scope` for `tier` and every tier below it.
    #[must_use]
    pub fn up_to(mut self, scope: Scope, tier: Tier, access: Access) -> Grants {
        for t in TIERS.into_iter().filter(|t| *t <= tier) {
            self.0.insert((scope, t, access));
        }
        self
    }

    /// Whether the peer may write ops of `tier` in `scope`.
    #[must_use]
    pub fn may_write(&self, scope: Scope, tier: Tier) -> bool {
        self.0.contains(&(scope, tier, Access::Write))
    }

    /// Whether the peer may read payloads of `tier` in `scope`.
    #[must_use]
    pub fn may_read(&self, scope: Scope, tier: Tier) -> bool {
        self.0.contains(&(scope, tier, Access::Read))
    }

    /// Whether the peer receives `scope`'s envelopes: it may read some tier of it. (Envelopes
    /// are never withheld within a scope a peer reads, so state hashes stay comparable.)
    #[must_use]
    pub fn reads_scope(&self, scope: Scope) -> bool {
        self.0
            .iter()
            .any(|(s, _, a)| *s == scope && *a == Access::Read)
    }

    /// The grants, in order.
    pub fn iter(&self) -> impl Iterator<Item = &(Scope, Tier, Access)> + '_ {
        self.0.iter()
    }

    /// An 8-byte digest that changes when the grants change (carried in cursors).
    #[must_use]
    pub fn digest(&self) -> [u8; 8] {
        let bytes = postcard::to_allocvec(self).unwrap_or_default();
        let h = blake3::derive_key("kenesh 2026 grants v1", &bytes);
        let mut d = [0; 8];
        d.copy_from_slice(&h[..8]);
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kenesh_model::{Id, MunicipalityId};

    fn m(n: u128) -> Scope {
        Scope::Municipality(MunicipalityId(Id::from_u128(n)))
    }

    #[test]
    fn up_to_covers_lower_tiers_only() {
        let g = Grants::none().up_to(m(1), Tier::Personal, Access::Read);
        assert!(g.may_read(m(1), Tier::Public));
        assert!(g.may_read(m(1), Tier::Personal));
        assert!(!g.may_read(m(1), Tier::Sensitive));
        assert!(!g.may_read(m(2), Tier::Public));
        assert!(!g.may_write(m(1), Tier::Public));
        assert!(g.reads_scope(m(1)) && !g.reads_scope(m(2)));
    }

    #[test]
    fn write_without_read() {
        let g = Grants::none().with(m(1), Tier::Sensitive, Access::Write);
        assert!(g.may_write(m(1), Tier::Sensitive));
        assert!(!g.may_read(m(1), Tier::Sensitive));
        assert!(!g.reads_scope(m(1)));
    }

    #[test]
    fn the_digest_follows_the_grants() {
        let a = Grants::none().up_to(m(1), Tier::Personal, Access::Read);
        let b = a.clone().with(m(1), Tier::Sensitive, Access::Read);
        assert_eq!(a.digest(), a.clone().digest());
        assert_ne!(a.digest(), b.digest());
        assert_ne!(a.digest(), Grants::none().digest());
    }
}
