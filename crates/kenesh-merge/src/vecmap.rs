//! Small sorted maps and sets in one vector, for the per-record structures of the state.
//!
//! A record's fields, a set's adds, a log's entries, a workflow's steps: each holds a few
//! entries, and there is one of each per record. A `BTreeMap` with one entry allocates a
//! whole leaf with room for eleven (over 600 bytes for a log entry or a workflow step); a
//! sorted vector holds what it holds, finds by binary search, and inserts by shifting the
//! few entries after the new one. The entries of one record are few (bounded by the ops
//! the record holds), so the shifting stays cheap.
//!
//! Both encode as the B-tree collections they replace (a map, a sequence), so saved states
//! read the same either way, and both load sorted and without repeats whatever order the
//! bytes hold: of a repeated key the last loaded is kept, as a B-tree's insert would.

use alloc::vec::Vec;
use core::fmt;
use core::ops::RangeBounds;

use serde::{Deserialize, Serialize};

/// Makes room for one more element: exactly one while the vector is small, then half its
/// length again, so a vector of one or two entries (most of them) holds no spare slots and
/// a long one still grows in amortised constant time. (`Vec` would start at four.)
pub(crate) fn grow<T>(v: &mut Vec<T>) {
    if v.len() == v.capacity() {
        v.reserve_exact((v.len() / 2).max(1));
    }
}

/// A map sorted by key, in one vector.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct VecMap<K, V>(Vec<(K, V)>);

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        VecMap(Vec::new())
    }
}

impl<K: Ord, V> VecMap<K, V> {
    /// An empty map (allocates nothing).
    pub(crate) const fn new() -> Self {
        VecMap(Vec::new())
    }

    fn find(&self, key: &K) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.cmp(key))
    }

    pub(crate) fn get(&self, key: &K) -> Option<&V> {
        self.find(key).ok().map(|i| &self.0[i].1)
    }

    pub(crate) fn contains_key(&self, key: &K) -> bool {
        self.find(key).is_ok()
    }

    /// Inserts or replaces; returns the value replaced.
    pub(crate) fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(i) => Some(core::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                grow(&mut self.0);
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    /// The value at `key`, made with `make` if the map has none yet.
    pub(crate) fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        let i = match self.find(&key) {
            Ok(i) => i,
            Err(i) => {
                grow(&mut self.0);
                self.0.insert(i, (key, make()));
                i
            }
        };
        &mut self.0[i].1
    }

    /// The entries whose keys lie in `range`, in key order.
    pub(crate) fn range(&self, range: impl RangeBounds<K>) -> impl Iterator<Item = (&K, &V)> {
        use core::ops::Bound;
        let start = match range.start_bound() {
            Bound::Included(s) => self.0.partition_point(|(k, _)| k < s),
            Bound::Excluded(s) => self.0.partition_point(|(k, _)| k <= s),
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(e) => self.0.partition_point(|(k, _)| k <= e),
            Bound::Excluded(e) => self.0.partition_point(|(k, _)| k < e),
            Bound::Unbounded => self.0.len(),
        };
        self.0[start..end.max(start)].iter().map(|(k, v)| (k, v))
    }

    /// Room for `additional` more entries, exactly (no spare slots).
    pub(crate) fn reserve_exact(&mut self, additional: usize) {
        self.0.reserve_exact(additional);
    }
}

impl<K, V> VecMap<K, V> {
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }

    /// The entries in key order.
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &K> {
        self.0.iter().map(|(k, _)| k)
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.0.iter().map(|(_, v)| v)
    }

    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.0.iter_mut().map(|(_, v)| v)
    }
}

impl<'a, K, V> IntoIterator for &'a VecMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter =
        core::iter::Map<core::slice::Iter<'a, (K, V)>, fn(&'a (K, V)) -> (&'a K, &'a V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for VecMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Serialize, V: Serialize> Serialize for VecMap<K, V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de, K: Ord + Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for VecMap<K, V> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<K, V>(core::marker::PhantomData<(K, V)>);
        impl<'de, K: Ord + Deserialize<'de>, V: Deserialize<'de>> serde::de::Visitor<'de> for Visit<K, V> {
            type Value = VecMap<K, V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Self::Value, A::Error> {
                // The size hint comes from the input: bounded, so a forged length cannot
                // reserve more than a few entries ahead of the entries themselves.
                let mut v = Vec::with_capacity(m.size_hint().unwrap_or(0).min(64));
                while let Some(entry) = m.next_entry()? {
                    v.push(entry);
                }
                v.reverse();
                // Stable: of a repeated key, the last loaded comes first and is kept.
                v.sort_by(|a: &(K, V), b| a.0.cmp(&b.0));
                v.dedup_by(|a, b| a.0 == b.0);
                v.shrink_to_fit();
                Ok(VecMap(v))
            }
        }
        d.deserialize_map(Visit(core::marker::PhantomData))
    }
}

/// A set sorted in one vector.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub(crate) struct VecSet<T>(Vec<T>);

impl<T> Default for VecSet<T> {
    fn default() -> Self {
        VecSet(Vec::new())
    }
}

impl<T: Ord> VecSet<T> {
    pub(crate) fn insert(&mut self, value: T) -> bool {
        match self.0.binary_search(&value) {
            Ok(_) => false,
            Err(at) => {
                grow(&mut self.0);
                self.0.insert(at, value);
                true
            }
        }
    }

    pub(crate) fn contains(&self, value: &T) -> bool {
        self.0.binary_search(value).is_ok()
    }

    pub(crate) fn remove(&mut self, value: &T) -> bool {
        match self.0.binary_search(value) {
            Ok(at) => {
                self.0.remove(at);
                true
            }
            Err(_) => false,
        }
    }

    pub(crate) fn retain(&mut self, keep: impl FnMut(&T) -> bool) {
        self.0.retain(keep);
    }
}

impl<T> VecSet<T> {
    pub(crate) fn iter(&self) -> core::slice::Iter<'_, T> {
        self.0.iter()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<T: Ord> Extend<T> for VecSet<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        for v in iter {
            self.insert(v);
        }
    }
}

impl<'a, T> IntoIterator for &'a VecSet<T> {
    type Item = &'a T;
    type IntoIter = core::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<T: fmt::Debug> fmt::Debug for VecSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl<'de, T: Ord + Deserialize<'de>> Deserialize<'de> for VecSet<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut v = Vec::<T>::deserialize(d)?;
        v.sort_unstable();
        v.dedup();
        v.shrink_to_fit();
        Ok(VecSet(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::{BTreeMap, BTreeSet};
    use alloc::vec;

    /// Random operations on a `VecMap` and a `BTreeMap` side by side end equal, and both
    /// encode to the same bytes and load back from each other's.
    #[test]
    fn behaves_and_encodes_as_a_btree_map() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..200 {
            let (mut v, mut b) = (VecMap::<u8, u32>::new(), BTreeMap::<u8, u32>::new());
            for _ in 0..(next() % 40) {
                let (k, val) = ((next() % 16) as u8, next() as u32);
                match next() % 8 {
                    0 => {
                        v.clear();
                        b.clear();
                    }
                    1..=3 => {
                        *v.get_or_insert_with(k, || val) += 1;
                        *b.entry(k).or_insert(val) += 1;
                    }
                    _ => assert_eq!(v.insert(k, val), b.insert(k, val)),
                }
                assert_eq!(v.get(&k), b.get(&k));
                let (lo, hi) = ((next() % 16) as u8, (next() % 16) as u8);
                if lo <= hi {
                    assert!(v.range(lo..=hi).eq(b.range(lo..=hi)));
                    assert!(v.range(lo..hi).eq(b.range(lo..hi)));
                }
            }
            assert!(v.iter().eq(b.iter()));
            assert_eq!(v.len(), b.len());
            let bytes = postcard::to_allocvec(&v).unwrap();
            assert_eq!(bytes, postcard::to_allocvec(&b).unwrap());
            assert_eq!(postcard::from_bytes::<VecMap<u8, u32>>(&bytes).unwrap(), v);
        }
    }

    /// Unsorted and repeated keys load as a B-tree map would load them: sorted, the last
    /// value of a repeated key kept.
    #[test]
    fn loads_unsorted_and_repeated_keys_as_a_btree_map() {
        let pairs: Vec<(u8, u8)> = vec![(3, 1), (1, 2), (3, 3), (2, 4), (1, 5)];
        let bytes = postcard::to_allocvec(&pairs).unwrap(); // a map's bytes in postcard
        let b: BTreeMap<u8, u8> = postcard::from_bytes(&bytes).unwrap();
        let v: VecMap<u8, u8> = postcard::from_bytes(&bytes).unwrap();
        assert!(v.iter().eq(b.iter()));
        assert!(v.iter().map(|(k, _)| *k).eq([1, 2, 3]));

        let s: VecSet<u8> =
            postcard::from_bytes(&postcard::to_allocvec(&vec![5u8, 1, 5, 3]).unwrap()).unwrap();
        let t: BTreeSet<u8> = [5u8, 1, 3].into_iter().collect();
        assert!(s.iter().eq(t.iter()));
        assert_eq!(
            postcard::to_allocvec(&s).unwrap(),
            postcard::to_allocvec(&t).unwrap()
        );
    }
}
