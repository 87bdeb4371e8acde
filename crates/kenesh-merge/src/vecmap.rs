//! Small sorted maps and sets in one vector, for the per-record structures of the state.
//!
//! A record's fields, a set's adds, a log's entries, a workflow's steps: each holds a few
//! entries, and there is one of each per record. A `BTreeMap` with one entry allocates a
//! whole leaf with room for eleven (over 600 bytes for a log entry or a workflow step); a
//! sorted vector holds what it holds, finds by binary search, and inserts by shifting the
//! few entries after the new one. A map or set that grows past [`LARGE`] entries (a
//! popular issue's supporters) moves into a B-tree, so the shifting stays cheap.
//!
//! Both encode as the B-tree collections they replace (a map, a sequence), so saved states
//! read the same either way, and both load sorted and without repeats whatever order the
//! bytes hold: of a repeated key the last loaded is kept, as a B-tree's insert would.

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, btree_map};
use alloc::vec::Vec;
use core::fmt;
use core::ops::RangeBounds;

use serde::{Deserialize, Serialize};

/// Past this many entries a map moves into a B-tree: inserting into a sorted vector shifts
/// the entries after the new one, so a set of many thousand supporters, or the op index
/// of a record with as many ops, filled in random order, would cost time quadratic in its
/// size. Below it, an insert shifts at most some tens of kilobytes; above it, a B-tree's
/// node waste is small beside the entries. (At 128, the 100,000-record kiosk's state was
/// 7 MB larger: its busiest records moved to B-trees.)
const LARGE: usize = 1024;

/// Makes room for one more element: exactly one while the vector is small, then half its
/// length again, so a vector of one or two entries (most of them) holds no spare slots and
/// a long one still grows in amortised constant time. (`Vec` would start at four.)
pub(crate) fn grow<T>(v: &mut Vec<T>) {
    if v.len() == v.capacity() {
        v.reserve_exact((v.len() / 2).max(1));
    }
}

/// A map sorted by key: a vector while small, a B-tree once large (see [`LARGE`]).
#[derive(Clone)]
pub(crate) struct VecMap<K, V>(Repr<K, V>);

#[derive(Clone)]
enum Repr<K, V> {
    Small(Vec<(K, V)>),
    /// Boxed, so the enum is a vector's size (the box fits beside the vector's capacity,
    /// whose spare values tell the variants apart).
    #[allow(
        clippy::box_collection,
        reason = "one allocation more for the rare large map keeps every small one at 24 bytes"
    )]
    Large(Box<BTreeMap<K, V>>),
}

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        VecMap(Repr::Small(Vec::new()))
    }
}

impl<K: Ord, V> VecMap<K, V> {
    /// An empty map (allocates nothing).
    pub(crate) const fn new() -> Self {
        VecMap(Repr::Small(Vec::new()))
    }

    /// A map of entries already sorted by key, without repeats.
    fn from_sorted(v: Vec<(K, V)>) -> Self {
        if v.len() > LARGE {
            VecMap(Repr::Large(Box::new(v.into_iter().collect())))
        } else {
            let mut v = v;
            v.shrink_to_fit();
            VecMap(Repr::Small(v))
        }
    }

    pub(crate) fn get(&self, key: &K) -> Option<&V> {
        match &self.0 {
            Repr::Small(v) => v
                .binary_search_by(|(k, _)| k.cmp(key))
                .ok()
                .map(|i| &v[i].1),
            Repr::Large(t) => t.get(key),
        }
    }

    pub(crate) fn contains_key(&self, key: &K) -> bool {
        self.get(key).is_some()
    }

    /// Inserts or replaces; returns the value replaced.
    pub(crate) fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.make_room(&key);
        match &mut self.0 {
            Repr::Small(v) => match v.binary_search_by(|(k, _)| k.cmp(&key)) {
                Ok(i) => Some(core::mem::replace(&mut v[i].1, value)),
                Err(i) => {
                    grow(v);
                    v.insert(i, (key, value));
                    None
                }
            },
            Repr::Large(t) => t.insert(key, value),
        }
    }

    /// The value at `key`, made with `make` if the map has none yet.
    pub(crate) fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        self.make_room(&key);
        match &mut self.0 {
            Repr::Small(v) => {
                let i = match v.binary_search_by(|(k, _)| k.cmp(&key)) {
                    Ok(i) => i,
                    Err(i) => {
                        grow(v);
                        v.insert(i, (key, make()));
                        i
                    }
                };
                &mut v[i].1
            }
            Repr::Large(t) => t.entry(key).or_insert_with(make),
        }
    }

    /// Moves a full small map into a B-tree before `key` is added to it.
    fn make_room(&mut self, key: &K) {
        if let Repr::Small(v) = &mut self.0
            && v.len() >= LARGE
            && v.binary_search_by(|(k, _)| k.cmp(key)).is_err()
        {
            self.0 = Repr::Large(Box::new(core::mem::take(v).into_iter().collect()));
        }
    }

    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        match &mut self.0 {
            Repr::Small(v) => v
                .binary_search_by(|(k, _)| k.cmp(key))
                .ok()
                .map(|i| v.remove(i).1),
            Repr::Large(t) => t.remove(key),
        }
    }

    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        match &mut self.0 {
            Repr::Small(v) => v.retain_mut(|(k, val)| keep(k, val)),
            Repr::Large(t) => t.retain(|k, val| keep(k, val)),
        }
    }

    /// The entries whose keys lie in `range`, in key order.
    pub(crate) fn range(&self, range: impl RangeBounds<K>) -> Range<'_, K, V> {
        use core::ops::Bound;
        match &self.0 {
            Repr::Small(v) => {
                let start = match range.start_bound() {
                    Bound::Included(s) => v.partition_point(|(k, _)| k < s),
                    Bound::Excluded(s) => v.partition_point(|(k, _)| k <= s),
                    Bound::Unbounded => 0,
                };
                let end = match range.end_bound() {
                    Bound::Included(e) => v.partition_point(|(k, _)| k <= e),
                    Bound::Excluded(e) => v.partition_point(|(k, _)| k < e),
                    Bound::Unbounded => v.len(),
                };
                Either::Small(v[start..end.max(start)].iter().map(pair as PairFn<K, V>))
            }
            Repr::Large(t) => {
                // `BTreeMap::range` panics on a start past the end; such a range is empty.
                let backwards = match (range.start_bound(), range.end_bound()) {
                    (Bound::Excluded(s), Bound::Excluded(e)) => s >= e,
                    (
                        Bound::Included(s) | Bound::Excluded(s),
                        Bound::Included(e) | Bound::Excluded(e),
                    ) => s > e,
                    _ => false,
                };
                if backwards {
                    Either::Small([].iter().map(pair as PairFn<K, V>))
                } else {
                    Either::Large(t.range(range))
                }
            }
        }
    }

    /// Room for `additional` more entries, exactly (no spare slots), while small.
    pub(crate) fn reserve_exact(&mut self, additional: usize) {
        if let Repr::Small(v) = &mut self.0 {
            v.reserve_exact(additional);
        }
    }
}

impl<K, V> VecMap<K, V> {
    pub(crate) fn len(&self) -> usize {
        match &self.0 {
            Repr::Small(v) => v.len(),
            Repr::Large(t) => t.len(),
        }
    }

    pub(crate) fn clear(&mut self) {
        self.0 = Repr::Small(Vec::new());
    }

    /// The entries in key order.
    pub(crate) fn iter(&self) -> Iter<'_, K, V> {
        match &self.0 {
            Repr::Small(v) => Either::Small(v.iter().map(pair as PairFn<K, V>)),
            Repr::Large(t) => Either::Large(t.iter()),
        }
    }

    pub(crate) fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + ExactSizeIterator {
        self.iter().map(|(k, _)| k)
    }

    pub(crate) fn values(&self) -> impl DoubleEndedIterator<Item = &V> {
        self.iter().map(|(_, v)| v)
    }

    pub(crate) fn values_mut(&mut self) -> ValuesMut<'_, K, V> {
        match &mut self.0 {
            Repr::Small(v) => Either::Small(v.iter_mut().map(value_mut as ValueMutFn<K, V>)),
            Repr::Large(t) => Either::Large(t.values_mut()),
        }
    }
}

/// One of two iterators of the same items: what a [`VecMap`]'s small or large form gives.
pub(crate) enum Either<A, B> {
    Small(A),
    Large(B),
}

impl<T, A: Iterator<Item = T>, B: Iterator<Item = T>> Iterator for Either<A, B> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        match self {
            Either::Small(i) => i.next(),
            Either::Large(i) => i.next(),
        }
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Either::Small(i) => i.size_hint(),
            Either::Large(i) => i.size_hint(),
        }
    }
}

impl<T, A: DoubleEndedIterator<Item = T>, B: DoubleEndedIterator<Item = T>> DoubleEndedIterator
    for Either<A, B>
{
    fn next_back(&mut self) -> Option<T> {
        match self {
            Either::Small(i) => i.next_back(),
            Either::Large(i) => i.next_back(),
        }
    }
}

impl<T, A: ExactSizeIterator<Item = T>, B: ExactSizeIterator<Item = T>> ExactSizeIterator
    for Either<A, B>
{
}

/// A small map's entries as a B-tree gives them: pairs of references.
type Pairs<'a, K, V> = core::iter::Map<core::slice::Iter<'a, (K, V)>, PairFn<K, V>>;
type PairFn<K, V> = for<'b> fn(&'b (K, V)) -> (&'b K, &'b V);
type ValueMutFn<K, V> = for<'b> fn(&'b mut (K, V)) -> &'b mut V;

fn pair<K, V>((k, v): &(K, V)) -> (&K, &V) {
    (k, v)
}

fn value_mut<K, V>((_, v): &mut (K, V)) -> &mut V {
    v
}

/// The entries of a [`VecMap`], in key order.
pub(crate) type Iter<'a, K, V> = Either<Pairs<'a, K, V>, btree_map::Iter<'a, K, V>>;

/// The entries of a [`VecMap`] whose keys lie in a range, in key order.
pub(crate) type Range<'a, K, V> = Either<Pairs<'a, K, V>, btree_map::Range<'a, K, V>>;

/// The values of a [`VecMap`], mutably, in key order.
pub(crate) type ValuesMut<'a, K, V> = Either<
    core::iter::Map<core::slice::IterMut<'a, (K, V)>, ValueMutFn<K, V>>,
    btree_map::ValuesMut<'a, K, V>,
>;

impl<'a, K, V> IntoIterator for &'a VecMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Equal when the entries are, whichever form each map has.
impl<K: PartialEq, V: PartialEq> PartialEq for VecMap<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<K: Eq, V: Eq> Eq for VecMap<K, V> {}

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
                Ok(VecMap::from_sorted(v))
            }
        }
        d.deserialize_map(Visit(core::marker::PhantomData))
    }
}

/// A sorted set: a vector while small, a B-tree once large, as [`VecMap`].
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct VecSet<T>(VecMap<T, ()>);

impl<T> Default for VecSet<T> {
    fn default() -> Self {
        VecSet(VecMap::default())
    }
}

impl<T: Ord> VecSet<T> {
    pub(crate) fn insert(&mut self, value: T) -> bool {
        self.0.insert(value, ()).is_none()
    }

    pub(crate) fn contains(&self, value: &T) -> bool {
        self.0.contains_key(value)
    }

    pub(crate) fn remove(&mut self, value: &T) -> bool {
        self.0.remove(value).is_some()
    }

    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        self.0.retain(|k, ()| keep(k));
    }

    pub(crate) fn range(&self, range: impl RangeBounds<T>) -> impl Iterator<Item = &T> {
        self.0.range(range).map(|(k, ())| k)
    }
}

impl<T> VecSet<T> {
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator {
        self.0.keys()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.len() == 0
    }
}

impl<T: Ord> Extend<T> for VecSet<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        for v in iter {
            self.insert(v);
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for VecSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl<T: Serialize> Serialize for VecSet<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de, T: Ord + Deserialize<'de>> Deserialize<'de> for VecSet<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut v = Vec::<T>::deserialize(d)?;
        v.sort_unstable();
        v.dedup();
        Ok(VecSet(VecMap::from_sorted(
            v.into_iter().map(|k| (k, ())).collect(),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::{BTreeMap, BTreeSet};
    use alloc::vec;

    /// Random operations on a `VecMap` and a `BTreeMap` side by side end equal, small and
    /// past [`LARGE`], and both encode to the same bytes and load back from each other's.
    #[test]
    fn behaves_and_encodes_as_a_btree_map() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..300 {
            // Key spaces and lengths from a few entries to several times `LARGE`.
            let keys = [8, 64, 4 * LARGE as u64][round % 3];
            let steps = next() % (2 * keys);
            let (mut v, mut b) = (VecMap::<u16, u32>::new(), BTreeMap::<u16, u32>::new());
            let (mut s, mut bs) = (VecSet::<u16>::default(), BTreeSet::<u16>::new());
            for _ in 0..steps {
                let (k, val) = ((next() % keys) as u16, next() as u32);
                match next() % 16 {
                    0 if next() % 8 == 0 => {
                        v.clear();
                        b.clear();
                    }
                    1..=3 => {
                        assert_eq!(v.remove(&k), b.remove(&k));
                        assert_eq!(s.remove(&k), bs.remove(&k));
                    }
                    4..=6 => {
                        *v.get_or_insert_with(k, || val) += 1;
                        *b.entry(k).or_insert(val) += 1;
                    }
                    7 => {
                        let m = (next() % 5) as u32;
                        v.retain(|_, x| *x % 5 != m);
                        b.retain(|_, x| *x % 5 != m);
                    }
                    _ => {
                        assert_eq!(v.insert(k, val), b.insert(k, val));
                        assert_eq!(s.insert(k), bs.insert(k));
                    }
                }
                assert_eq!(s.contains(&k), bs.contains(&k));
                assert_eq!(v.get(&k), b.get(&k));
                assert_eq!(v.contains_key(&k), b.contains_key(&k));
                let (lo, hi) = ((next() % keys) as u16, (next() % keys) as u16);
                if lo <= hi {
                    assert!(v.range(lo..=hi).eq(b.range(lo..=hi)));
                    assert!(v.range(lo..hi).eq(b.range(lo..hi)));
                    assert!(v.range(lo..).rev().eq(b.range(lo..).rev()));
                } else {
                    assert_eq!(v.range(lo..=hi).count(), 0);
                    assert_eq!(v.range(lo..hi).count(), 0);
                }
            }
            assert!(v.iter().eq(b.iter()));
            assert!(v.values_mut().map(|x| *x).eq(b.values().copied()));
            assert_eq!(v.len(), b.len());
            let bytes = postcard::to_allocvec(&v).unwrap();
            assert_eq!(bytes, postcard::to_allocvec(&b).unwrap());
            let back = postcard::from_bytes::<VecMap<u16, u32>>(&bytes).unwrap();
            assert_eq!(back, v);
            assert!(back.iter().eq(b.iter()));
            let m = (next() % 3) as u16;
            s.retain(|k| k % 3 != m);
            bs.retain(|k| k % 3 != m);
            assert!(s.iter().eq(bs.iter()));
            assert_eq!(s.is_empty(), bs.is_empty());
            let set_bytes = postcard::to_allocvec(&s).unwrap();
            assert_eq!(set_bytes, postcard::to_allocvec(&bs).unwrap());
            assert_eq!(postcard::from_bytes::<VecSet<u16>>(&set_bytes).unwrap(), s);
        }
    }

    /// Either form fits in a vector's 24 bytes: there is one of these per field, set and
    /// log of every record.
    #[test]
    fn a_map_is_a_vectors_size() {
        assert_eq!(size_of::<VecMap<u16, u32>>(), size_of::<Vec<(u16, u32)>>());
        assert_eq!(
            size_of::<VecSet<crate::OpId>>(),
            size_of::<Vec<crate::OpId>>()
        );
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
