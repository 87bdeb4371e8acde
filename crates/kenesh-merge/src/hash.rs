//! The incremental state hash: a set hash over the digests of the ops a replica holds.
//!
//! Each op's digest (over its envelope bytes and payload hash) is added to the hash of its
//! (scope, tier) as a 256-bit number, modulo 2²⁵⁶. Adding is O(1), commutative and
//! associative, so two replicas holding the same set of ops in a scope and tier have the same
//! hash however the ops arrived; an op is only ever added once (duplicates are detected
//! before). Erasing or withholding a payload leaves the digest, and so the hash, unchanged.

use core::fmt;

use serde::{Deserialize, Serialize};

/// A 256-bit additive set hash.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SetHash {
    limbs: [u64; 4],
    count: u64,
}

impl SetHash {
    /// Adds one element's 32-byte digest.
    pub fn add(&mut self, digest: &[u8; 32]) {
        let mut carry = 0u64;
        for (i, limb) in self.limbs.iter_mut().enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(&digest[i * 8..i * 8 + 8]);
            let (s1, c1) = limb.overflowing_add(u64::from_le_bytes(b));
            let (s2, c2) = s1.overflowing_add(carry);
            *limb = s2;
            carry = u64::from(c1) + u64::from(c2);
        }
        self.count += 1;
    }

    /// Combines two set hashes (of disjoint sets) into the hash of their union.
    #[must_use]
    pub fn combine(mut self, other: &SetHash) -> SetHash {
        let mut carry = 0u64;
        for (a, b) in self.limbs.iter_mut().zip(other.limbs) {
            let (s1, c1) = a.overflowing_add(b);
            let (s2, c2) = s1.overflowing_add(carry);
            *a = s2;
            carry = u64::from(c1) + u64::from(c2);
        }
        self.count += other.count;
        self
    }

    /// How many elements were added.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The hash as 32 bytes (little-endian limbs); the count is mixed in so that the empty
    /// set and sets whose digests happen to sum to zero differ.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut h = blake3::Hasher::new_derive_key("kenesh 2026 set hash v1");
        for l in self.limbs {
            h.update(&l.to_le_bytes());
        }
        h.update(&self.count.to_le_bytes());
        *h.finalize().as_bytes()
    }
}

impl fmt::Debug for SetHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SetHash(")?;
        for b in &self.to_bytes()[..8] {
            write!(f, "{b:02x}")?;
        }
        write!(f, "…, {} ops)", self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(crate::test_support::config())]
        #[test]
        fn order_does_not_matter(mut digests in proptest::collection::vec(any::<[u8; 32]>(), 0..20), split in 0usize..20) {
            let mut a = SetHash::default();
            for d in &digests { a.add(d); }
            digests.reverse();
            let split = split.min(digests.len());
            let (x, y) = digests.split_at(split);
            let mut h1 = SetHash::default();
            for d in x { h1.add(d); }
            let mut h2 = SetHash::default();
            for d in y { h2.add(d); }
            prop_assert_eq!(a.to_bytes(), h1.combine(&h2).to_bytes());
        }
    }

    #[test]
    fn carries_propagate() {
        let mut h = SetHash::default();
        h.add(&[0xff; 32]);
        h.add(&[0x01; 32]);
        let mut expected = SetHash::default();
        let mut d = [0x01u8; 32];
        d[0] = 0x00;
        // 0xff..ff + 0x0101..01 = 0x0101..00 (mod 2^256), as little-endian bytes.
        expected.add(&d);
        expected.count = 2;
        assert_eq!(h, expected);
    }
}
