//! Snapshots for initial sync: a scope's ops as compressed columns.
//!
//! A snapshot carries everything later merges and the state hash need — every op's origin,
//! seq, HLC, supersedes, entity, field, action, scope, tier, persons, its commit's salt, and
//! its payload (or, where withheld, the payload hash) — not a bare copy of the state, so the
//! receiver rebuilds each op's exact envelope bytes and payload hash and recomputes the set
//! hash the header announces. Columns: dictionaries for origins, scopes, salts, entities and
//! persons; per-op indices into them; seqs and HLCs delta-encoded; create payloads
//! transposed into one column per field (all titles together, all statuses together…), so
//! text compresses with text and small codes with small codes. Where both sides speak zstd the
//! columns are compressed as one stream (window ≤ 8 MiB), made once per grants and cached;
//! the stream is cut into chunks, stored by the receiver as they arrive and decompressed
//! once whole (its size announced and bounded beforehand).

use std::collections::BTreeMap;

use kenesh_merge::{Action, CreatePayload, Envelope, Hlc, Op, OpId, Payload, SetHash};
use kenesh_model::{DeviceId, Id, PersonId, Scope, Tier};
use serde::{Deserialize, Serialize};

/// The largest snapshot a device accepts, raw.
pub const MAX_SNAPSHOT_BYTES: u64 = 256 * 1024 * 1024;

/// Why snapshot bytes are not a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The columns do not decode.
    #[error("the snapshot columns do not decode")]
    Malformed,
    /// A column has another length than the op count, or an index points outside its
    /// dictionary.
    #[error("snapshot column {0} is inconsistent")]
    Inconsistent(&'static str),
    /// An op rebuilt from the columns is not a valid op.
    #[error("op {0} of the snapshot is invalid")]
    Op(usize),
    /// The ops rebuilt do not hash to what the header announced.
    #[error("the snapshot does not reproduce the announced state hash")]
    HashMismatch,
    /// Larger than [`MAX_SNAPSHOT_BYTES`] or than its chunks can hold.
    #[error("the snapshot announces {0} bytes")]
    TooLarge(u64),
}

#[derive(Default, Serialize, Deserialize)]
struct Columns {
    version: u8,
    // Dictionaries.
    origins: Vec<u32>,
    scopes: Vec<Scope>,
    salts: Vec<[u8; 16]>,
    entities: Vec<Id>,
    persons: Vec<PersonId>,
    /// (kind, field, action, tier, body) of the ops, each once.
    shapes: Vec<(u16, u16, u8, u8, u8)>,
    // One entry per op.
    shape: Vec<u32>,
    origin: Vec<u32>,
    scope: Vec<u32>,
    /// Seq minus the previous seq of the same origin.
    seq: Vec<i64>,
    /// HLC milliseconds minus the previous op's.
    millis: Vec<i64>,
    /// The HLC counter; where the milliseconds repeat, minus the previous counter + 1.
    counter: Vec<i32>,
    /// References (see [`RefEnc`]) into `entities` and `salts`.
    entity: Vec<u32>,
    salt: Vec<u32>,
    supersedes: Vec<Vec<(u32, u64)>>,
    person_count: Vec<u8>,
    /// References into `persons`, `person_count[i]` for op i.
    person: Vec<u32>,
    // Bodies: 0 as is (in `raw`); 1 a create, transposed into `values`; 2 withheld (its
    // hash in `hashes`); 3 the postcard of the envelope's first person (a supporter add).
    raw: Vec<Vec<u8>>,
    hashes: Vec<[u8; 32]>,
    create_fields: Vec<Vec<u16>>,
    values: Vec<(u16, Vec<Vec<u8>>)>,
}

struct Dict<T: Ord + Clone> {
    index: BTreeMap<T, u32>,
    items: Vec<T>,
}

impl<T: Ord + Clone> Dict<T> {
    fn new() -> Self {
        Dict {
            index: BTreeMap::new(),
            items: Vec::new(),
        }
    }
    fn get(&mut self, v: &T) -> u32 {
        if let Some(i) = self.index.get(v) {
            return *i;
        }
        let i = self.items.len() as u32;
        self.items.push(v.clone());
        self.index.insert(v.clone(), i);
        i
    }
}

/// References into a dictionary built in op order: 0 the previous reference again, 1 the
/// next new entry, k ≥ 2 entry k − 2. Runs of one record's ops and first uses both cost a
/// byte that compresses away.
struct RefEnc<T: Ord + Clone> {
    dict: Dict<T>,
    last: Option<u32>,
}

impl<T: Ord + Clone> RefEnc<T> {
    fn new() -> Self {
        RefEnc {
            dict: Dict::new(),
            last: None,
        }
    }
    fn put(&mut self, v: &T) -> u32 {
        let r = match self.dict.index.get(v) {
            Some(i) if Some(*i) == self.last => 0,
            Some(i) => *i + 2,
            None => 1,
        };
        self.last = Some(self.dict.get(v));
        r
    }
}

struct RefDec {
    last: Option<u32>,
    next_new: u32,
    len: u32,
}

impl RefDec {
    fn new(len: usize) -> Self {
        RefDec {
            last: None,
            next_new: 0,
            len: len as u32,
        }
    }
    fn get(&mut self, r: u32, what: &'static str) -> Result<u32, SnapshotError> {
        let i = match r {
            0 => self.last.ok_or(SnapshotError::Inconsistent(what))?,
            1 => {
                let i = self.next_new;
                if i >= self.len {
                    return Err(SnapshotError::Inconsistent(what));
                }
                self.next_new += 1;
                i
            }
            k if k - 2 < self.next_new => k - 2,
            _ => return Err(SnapshotError::Inconsistent(what)),
        };
        self.last = Some(i);
        Ok(i)
    }
}

fn tier_code(t: Tier) -> u8 {
    match t {
        Tier::Public => 0,
        Tier::Personal => 1,
        Tier::Sensitive => 2,
    }
}

fn tier_of(c: u8) -> Option<Tier> {
    Some(match c {
        0 => Tier::Public,
        1 => Tier::Personal,
        2 => Tier::Sensitive,
        _ => return None,
    })
}

/// The set hash a snapshot announces: over the digests of every op in it.
pub(crate) fn ops_hash<'a>(ops: impl Iterator<Item = &'a Op>) -> [u8; 32] {
    let mut h = SetHash::default();
    for op in ops {
        h.add(&op.digest());
    }
    h.to_bytes()
}

/// Encodes ops (in serving order, each with its commit's salt; an op without payload is
/// sent withheld) as snapshot columns.
pub(crate) fn encode(ops: &[(Op, [u8; 16])]) -> Vec<u8> {
    let mut c = Columns {
        version: 1,
        ..Columns::default()
    };
    let (mut origins, mut scopes, mut shapes) = (Dict::new(), Dict::new(), Dict::new());
    let (mut entities, mut salts, mut persons) = (RefEnc::new(), RefEnc::new(), RefEnc::new());
    let mut last_seq: BTreeMap<u32, u64> = BTreeMap::new();
    let (mut last_millis, mut last_counter) = (0u64, None::<u16>);
    let mut values: BTreeMap<u16, Vec<Vec<u8>>> = BTreeMap::new();
    for (op, salt) in ops {
        let e = op.envelope();
        c.origin.push(origins.get(&e.origin.0));
        c.scope.push(scopes.get(&e.scope));
        let prev = last_seq.insert(e.origin.0, e.seq).unwrap_or(0);
        c.seq.push(e.seq.wrapping_sub(prev) as i64);
        let (millis, counter) = (e.hlc.millis(), e.hlc.counter());
        c.millis.push(millis.wrapping_sub(last_millis) as i64);
        c.counter.push(match last_counter {
            Some(lc) if millis == last_millis => i32::from(counter) - i32::from(lc) - 1,
            _ => i32::from(counter),
        });
        (last_millis, last_counter) = (millis, Some(counter));
        c.entity.push(entities.put(&e.entity));
        c.salt.push(salts.put(salt));
        c.supersedes
            .push(e.supersedes.iter().map(|s| (s.origin.0, s.seq)).collect());
        c.person_count.push(e.persons.len() as u8);
        c.person.extend(e.persons.iter().map(|p| persons.put(p)));
        let body = match op.payload() {
            None => {
                c.hashes.push(op.payload_hash());
                2
            }
            Some(p) => {
                let transposed = (e.action == Action::CREATE)
                    .then(|| postcard::from_bytes::<CreatePayload>(&p.bytes).ok())
                    .flatten()
                    .filter(|cp| postcard::to_allocvec(cp).ok().as_deref() == Some(&p.bytes[..]));
                let person_ref = e.persons.first().is_some_and(|person| {
                    postcard::to_allocvec(person).ok().as_deref() == Some(&p.bytes[..])
                });
                match transposed {
                    Some(cp) => {
                        c.create_fields
                            .push(cp.fields.iter().map(|f| f.0).collect());
                        for (field, v) in cp.fields {
                            values.entry(field).or_default().push(v);
                        }
                        1
                    }
                    // A set add of the person its envelope names: the bytes are there.
                    None if person_ref => 3,
                    None => {
                        c.raw.push(p.bytes.clone());
                        0
                    }
                }
            }
        };
        c.shape
            .push(shapes.get(&(e.kind, e.field, e.action.0, tier_code(e.tier), body)));
    }
    c.origins = origins.items;
    c.scopes = scopes.items;
    c.shapes = shapes.items;
    c.salts = salts.dict.items;
    c.entities = entities.dict.items;
    c.persons = persons.dict.items;
    c.values = values.into_iter().collect();
    postcard::to_allocvec(&c).unwrap_or_default()
}

fn at<T: Copy>(v: &[T], i: u32, what: &'static str) -> Result<T, SnapshotError> {
    v.get(i as usize)
        .copied()
        .ok_or(SnapshotError::Inconsistent(what))
}

/// Rebuilds the ops of a snapshot and checks them against the announced set hash.
pub(crate) fn decode(
    raw: &[u8],
    expected_ops: u32,
    state_hash: &[u8; 32],
) -> Result<Vec<Op>, SnapshotError> {
    let c: Columns = postcard::from_bytes(raw).map_err(|_| SnapshotError::Malformed)?;
    let n = c.shape.len();
    if c.version != 1 || n != expected_ops as usize {
        return Err(SnapshotError::Inconsistent("count"));
    }
    let lens = [
        c.origin.len(),
        c.scope.len(),
        c.seq.len(),
        c.millis.len(),
        c.counter.len(),
        c.entity.len(),
        c.salt.len(),
        c.supersedes.len(),
        c.person_count.len(),
    ];
    if lens.iter().any(|l| *l != n) {
        return Err(SnapshotError::Inconsistent("length"));
    }
    let mut values: BTreeMap<u16, std::vec::IntoIter<Vec<u8>>> = c
        .values
        .into_iter()
        .map(|(f, v)| (f, v.into_iter()))
        .collect();
    let mut raw_iter = c.raw.into_iter();
    let mut hashes = c.hashes.into_iter();
    let mut creates = c.create_fields.into_iter();
    let mut person_refs = c.person.iter();
    let (mut entities, mut salts) = (RefDec::new(c.entities.len()), RefDec::new(c.salts.len()));
    let mut persons = RefDec::new(c.persons.len());
    let mut last_seq: BTreeMap<u32, u64> = BTreeMap::new();
    let (mut last_millis, mut last_counter) = (0u64, None::<u16>);
    let mut ops = Vec::with_capacity(n);
    for i in 0..n {
        let (kind, field, action, tier, body) = at(&c.shapes, c.shape[i], "shape")?;
        let origin = at(&c.origins, c.origin[i], "origin")?;
        let prev = last_seq.get(&origin).copied().unwrap_or(0);
        let seq = prev.wrapping_add(c.seq[i] as u64);
        last_seq.insert(origin, seq);
        let millis = last_millis.wrapping_add(c.millis[i] as u64);
        let counter = match last_counter {
            Some(lc) if millis == last_millis => i32::from(lc) + 1 + c.counter[i],
            _ => c.counter[i],
        };
        let counter = u16::try_from(counter).map_err(|_| SnapshotError::Inconsistent("counter"))?;
        if millis > kenesh_merge::MAX_MILLIS {
            return Err(SnapshotError::Inconsistent("millis"));
        }
        (last_millis, last_counter) = (millis, Some(counter));
        let mut who =
            Vec::with_capacity(usize::from(c.person_count[i]).min(kenesh_merge::MAX_PERSONS));
        for _ in 0..c.person_count[i] {
            let r = *person_refs
                .next()
                .ok_or(SnapshotError::Inconsistent("person"))?;
            who.push(at(&c.persons, persons.get(r, "person")?, "person")?);
        }
        let envelope = Envelope {
            origin: DeviceId(origin),
            seq,
            supersedes: c.supersedes[i]
                .iter()
                .map(|(o, s)| OpId::new(*o, *s))
                .collect(),
            hlc: Hlc::new(millis, counter),
            kind,
            entity: at(&c.entities, entities.get(c.entity[i], "entity")?, "entity")?,
            field,
            action: Action(action),
            scope: at(&c.scopes, c.scope[i], "scope")?,
            tier: tier_of(tier).ok_or(SnapshotError::Inconsistent("tier"))?,
            persons: who,
        };
        let salt = at(&c.salts, salts.get(c.salt[i], "salt")?, "salt")?;
        let payload = |bytes: Vec<u8>| Payload { salt, bytes };
        // The envelope is encoded once, from the values decoded here (canonical by
        // construction); the set hash checked below proves every op is the server's.
        let op = match body {
            0 => {
                let p = payload(raw_iter.next().ok_or(SnapshotError::Inconsistent("raw"))?);
                Op::new(envelope, p)
            }
            1 => {
                let fields = creates
                    .next()
                    .ok_or(SnapshotError::Inconsistent("create"))?;
                let mut cp = CreatePayload::default();
                for f in fields {
                    let v = values
                        .get_mut(&f)
                        .and_then(Iterator::next)
                        .ok_or(SnapshotError::Inconsistent("values"))?;
                    cp.fields.push((f, v));
                }
                let p = payload(postcard::to_allocvec(&cp).map_err(|_| SnapshotError::Op(i))?);
                Op::new(envelope, p)
            }
            2 => {
                let h = hashes.next().ok_or(SnapshotError::Inconsistent("hashes"))?;
                Op::withheld_from(envelope, h)
            }
            3 => {
                let person = *envelope
                    .persons
                    .first()
                    .ok_or(SnapshotError::Inconsistent("person"))?;
                let p = payload(postcard::to_allocvec(&person).map_err(|_| SnapshotError::Op(i))?);
                Op::new(envelope, p)
            }
            _ => return Err(SnapshotError::Inconsistent("body")),
        }
        .map_err(|_| SnapshotError::Op(i))?;
        ops.push(op);
    }
    if ops_hash(ops.iter()) != *state_hash {
        return Err(SnapshotError::HashMismatch);
    }
    Ok(ops)
}

/// The zstd window of snapshot streams: 8 MiB, so a receiver never needs more to decode one.
pub const SNAPSHOT_WINDOW_LOG: u32 = 23;

/// Compresses a whole snapshot as one zstd frame (window capped at
/// [`SNAPSHOT_WINDOW_LOG`]): text compresses against all the text before it, which
/// independent per-chunk frames of a 16 KiB link could not.
pub(crate) fn compress_stream(raw: &[u8], level: i32) -> Vec<u8> {
    let compressed = zstd::bulk::Compressor::new(level).and_then(|mut c| {
        c.set_parameter(zstd::zstd_safe::CParameter::WindowLog(SNAPSHOT_WINDOW_LOG))?;
        c.compress(raw)
    });
    compressed.unwrap_or_default()
}

/// Decompresses a snapshot stream to exactly `raw_bytes` bytes (at most
/// [`MAX_SNAPSHOT_BYTES`], checked before anything is allocated), refusing windows over
/// [`SNAPSHOT_WINDOW_LOG`].
pub(crate) fn decompress_stream(data: &[u8], raw_bytes: u64) -> Result<Vec<u8>, SnapshotError> {
    if raw_bytes > MAX_SNAPSHOT_BYTES {
        return Err(SnapshotError::TooLarge(raw_bytes));
    }
    let out = zstd::bulk::Decompressor::new()
        .and_then(|mut d| {
            d.set_parameter(zstd::zstd_safe::DParameter::WindowLogMax(
                SNAPSHOT_WINDOW_LOG,
            ))?;
            d.decompress(data, raw_bytes as usize)
        })
        .map_err(|_| SnapshotError::Malformed)?;
    if out.len() as u64 != raw_bytes {
        return Err(SnapshotError::Inconsistent("raw bytes"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kenesh_merge::OpBuilder;
    use kenesh_model::schema::EntityKind;

    #[test]
    fn ops_round_trip_through_columns_byte_identical() {
        let mut b = OpBuilder::new(3);
        b.salt([1; 16]);
        let id = Id::from_u128(9);
        let create = b
            .create(
                EntityKind::Issue,
                id,
                vec![(1, b"title".to_vec()), (9, vec![1])],
            )
            .unwrap();
        b.salt([2; 16]);
        let set = b
            .set(EntityKind::Issue, id, 1, b"t2".to_vec(), &[create.id()])
            .unwrap();
        let add = b
            .add(EntityKind::Issue, id, 14, vec![5; 16])
            .unwrap()
            .withheld();
        let unknown = b
            .raw(999, id, 3, Action(77), Tier::Sensitive, &[], vec![1, 2, 3])
            .unwrap();
        let ops = vec![
            (create, [1; 16]),
            (set, [2; 16]),
            (add, [2; 16]),
            (unknown, [2; 16]),
        ];
        let raw = encode(&ops);
        let hash = ops_hash(ops.iter().map(|o| &o.0));
        let back = decode(&raw, 4, &hash).unwrap();
        for ((a, _), b) in ops.iter().zip(&back) {
            assert_eq!(a.envelope_bytes(), b.envelope_bytes());
            assert_eq!(a.payload_hash(), b.payload_hash());
            assert_eq!(a.payload(), b.payload());
        }
        assert_eq!(decode(&raw, 4, &[0; 32]), Err(SnapshotError::HashMismatch));
        assert!(decode(&raw, 5, &hash).is_err());
        assert!(decode(&raw[..raw.len() - 1], 4, &hash).is_err());
    }

    #[test]
    fn a_stream_round_trips_and_its_limits_hold() {
        let raw = "жол суу мектеп көпүрө айыл өкмөт таштанды демилге ".repeat(5_000);
        let z = compress_stream(raw.as_bytes(), 19);
        assert!(z.len() * 20 < raw.len());
        assert_eq!(
            decompress_stream(&z, raw.len() as u64).unwrap(),
            raw.as_bytes()
        );
        assert!(decompress_stream(&z, raw.len() as u64 - 1).is_err());
        assert!(decompress_stream(&z, raw.len() as u64 + 1).is_err());
        assert!(decompress_stream(&z[..z.len() - 1], raw.len() as u64).is_err());
        assert_eq!(
            decompress_stream(&z, MAX_SNAPSHOT_BYTES + 1),
            Err(SnapshotError::TooLarge(MAX_SNAPSHOT_BYTES + 1))
        );
    }
}
