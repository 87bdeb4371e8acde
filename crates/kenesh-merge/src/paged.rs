//! A paged state: its ops and records live in pages the caller keeps (a store's table), and
//! only the pages in use are held in memory.
//!
//! An in-memory [`State`] holds every op and every record. A paged one ([`State::paged`],
//! [`State::open_paged`]) holds:
//!
//! - the *record pages* in use: each page holds the ops of a run of consecutive records
//!   (by kind code and id), about [`PAGE_TARGET`] bytes of them; a record is materialised
//!   from its ops when its page is loaded, as a rebuild does, so pages hold ops only and
//!   their format does not follow the merge's in-memory structures;
//! - the *index pages* in use: op id → record, in id order, for the ops a lookup by id or a
//!   duplicate check needs to find;
//! - what changed since the last checkpoint (new and changed records, new index entries),
//!   which stays in memory until [`State::checkpoint`] has been written and
//!   [`State::checkpointed`] told;
//! - the small state-wide parts (state hashes, erased persons, inert flags, equivocating
//!   versions) and the two page directories, which [`Checkpoint::meta`] holds.
//!
//! The caller reads pages through a [`PageSource`] and writes a checkpoint's pages and meta
//! together, atomically (the store's transaction), then calls [`State::checkpointed`].
//! Pages are copy-on-write: a checkpoint writes changed pages under new numbers and lists
//! the numbers it replaces, so a checkpoint that is not written leaves the last written one
//! whole.
//!
//! Invariant: a record is held in memory exactly when the page covering its key is loaded
//! (or no page exists yet); every path that changes a record loads its page first, so a
//! change never lands in a record that is not the whole truth. Reads through `&self` of a
//! record not in memory decode its page for the call and keep nothing.
//!
//! Page format 1 (bytes; integers little-endian, `var` a postcard varint):
//!
//! | record page | |
//! |---|---|
//! | 1 | format (1) |
//! | 1 | kind: 0 records |
//! | var | records |
//! | per record | kind code u16, id 16 bytes, op count var, then each op |
//! | per op | flags u8 (bit 0: payload held), envelope length var, envelope bytes, then the salt (16) and payload length var and payload bytes where held, else the payload hash (32) |
//!
//! | index page | |
//! |---|---|
//! | 1 | format (1) |
//! | 1 | kind: 1 index |
//! | var | entries |
//! | per entry | origin u32, seq u64, kind code u16, id 16 bytes |
//!
//! Both end with a 16-byte checksum of everything before it (BLAKE3 in derive-key mode,
//! context `kenesh 2026 page v1`, the first 16 bytes), checked before anything is read: a
//! flipped byte in a payload would otherwise read as another valid op.
//!
//! A page holds its entries in key (op id) order, all inside the span its directory entry
//! gives it (from its first key to the next page's, the first page from the smallest); a
//! record holds at least one op, its ops in id order, each of that record. A page that
//! checks but breaks any of this is damaged too: a page can never put a record where
//! lookups through another page would miss it, or hold one twice. The meta names each page
//! once, below its next page number.
//!
//! Every op of a page loaded is checked as an op arriving from a peer is ([`Op::from_parts`]:
//! canonical envelope, limits, payload hash), so a damaged page is a typed error, never a
//! panic and never a wrong op.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use kenesh_model::{Id, PersonId, Scope, Tier};
use serde::{Deserialize, Serialize};

use crate::hash::SetHash;
use crate::op::{Action, Op, OpId, Payload};
use crate::state::{Entity, FlagKind, Key, Ops, State};
use crate::stored::Stored;

/// The page format this build writes and reads.
pub const PAGE_FORMAT: u8 = 1;

/// The size a page is filled to before a new one starts (bytes of ops, before the store
/// compresses it). A record is never split, so a page holding one very large record (a set
/// of many thousands of supporters) is larger.
pub const PAGE_TARGET: usize = 64 * 1024;

/// How many record pages a paged state keeps loaded after a checkpoint, by default (index
/// pages: a quarter of it).
pub const DEFAULT_RESIDENT_PAGES: usize = 32;

const RECORDS: u8 = 0;
const CHECKSUM: usize = 16;
const CHECKSUM_CONTEXT: &str = "kenesh 2026 page v1";

fn checksum(bytes: &[u8]) -> [u8; CHECKSUM] {
    let h = blake3::Hasher::new_derive_key(CHECKSUM_CONTEXT)
        .update(bytes)
        .finalize();
    let mut out = [0; CHECKSUM];
    out.copy_from_slice(&h.as_bytes()[..CHECKSUM]);
    out
}

/// A page's body, its checksum checked.
fn checked(page: u64, bytes: &[u8]) -> Result<&[u8], PageError> {
    let split = bytes
        .len()
        .checked_sub(CHECKSUM)
        .ok_or(PageError::Damaged(page))?;
    let (body, sum) = bytes.split_at(split);
    if checksum(body) != sum {
        return Err(PageError::Damaged(page));
    }
    Ok(body)
}

/// Ends a page with its checksum.
fn seal(mut page: Vec<u8>) -> Vec<u8> {
    let sum = checksum(&page);
    page.extend_from_slice(&sum);
    page
}
const INDEX: u8 = 1;
const META_FORMAT: u8 = 1;
/// The largest next page number a meta may hold.
const MAX_PAGE_NUMBER: u64 = 1 << 62;

/// Why a page could not be had. A paged state that meets one stops applying ops
/// ([`State::failure`]): it must be dropped and opened again from the last checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PageError {
    /// The store has no page under this number.
    #[error("page {0} is not in the store")]
    Missing(u64),
    /// The store failed to read it.
    #[error("page {page} could not be read: {reason}")]
    Read {
        /// The page.
        page: u64,
        /// What the store said.
        reason: String,
    },
    /// Its bytes are not a page of this format, or an op in it does not check.
    #[error("page {0} is damaged")]
    Damaged(u64),
    /// The checkpoint's meta does not decode (or is of an unknown format).
    #[error("the checkpoint's meta is damaged or of an unknown format")]
    Meta,
    /// An in-memory state was asked for a checkpoint.
    #[error("the state is not paged")]
    NotPaged,
    /// A checkpoint would number its pages past the largest page number a meta may hold
    /// (2^62; a store would need that many checkpointed pages first).
    #[error("the page numbers are spent")]
    NumbersSpent,
}

/// Where a paged state reads the pages its checkpoints wrote (a store's table).
pub trait PageSource: Send + Sync {
    /// The bytes of page `page`, exactly as a checkpoint gave them.
    ///
    /// # Errors
    /// [`PageError::Missing`] when there is no such page, [`PageError::Read`] when the
    /// store failed.
    fn read(&self, page: u64) -> Result<Vec<u8>, PageError>;
}

/// What a checkpoint writes: the pages to put, the pages they replace, and the meta that
/// names them. Write all of it in one transaction, then give it to [`State::checkpointed`].
#[derive(Debug)]
pub struct Checkpoint {
    put: Vec<(u64, Vec<u8>)>,
    remove: Vec<u64>,
    meta: Vec<u8>,
    rdir: Vec<(Key, u64)>,
    idir: Vec<(OpId, u64)>,
    next_page: u64,
    generation: u64,
}

impl Checkpoint {
    /// The pages to write, by number (new numbers: a page is never overwritten).
    #[must_use]
    pub fn pages(&self) -> &[(u64, Vec<u8>)] {
        &self.put
    }
    /// The pages no longer used once this checkpoint is written.
    #[must_use]
    pub fn removed(&self) -> &[u64] {
        &self.remove
    }
    /// The meta: what [`State::open_paged`] opens the state from.
    #[must_use]
    pub fn meta(&self) -> &[u8] {
        &self.meta
    }
}

/// What a state holds in memory ([`State::resident`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resident {
    /// Records materialised.
    pub records: usize,
    /// Ops.
    pub ops: usize,
    /// Record pages loaded (a paged state).
    pub record_pages: usize,
    /// Index pages loaded (a paged state).
    pub index_pages: usize,
}

/// What a checkpoint's meta holds.
#[derive(Serialize, Deserialize)]
struct Meta {
    format: u8,
    count: u64,
    next_page: u64,
    rdir: Vec<(Key, u64)>,
    idir: Vec<(OpId, u64)>,
    hashes: BTreeMap<(Scope, Tier), SetHash>,
    erased: BTreeSet<PersonId>,
    inert: BTreeMap<OpId, FlagKind>,
    equivocations: BTreeMap<OpId, Vec<Op>>,
}

/// The paging part of a paged [`State`].
pub(crate) struct Paged {
    source: Arc<dyn PageSource>,
    /// Record pages by the first key they cover, sorted; the first covers from the
    /// smallest key.
    pub(crate) rdir: Vec<(Key, u64)>,
    /// Index pages by the first op id they cover, likewise.
    idir: Vec<(OpId, u64)>,
    /// Loaded record pages → when last used.
    rloaded: BTreeMap<u64, u64>,
    /// Loaded index pages → when last used.
    iloaded: BTreeMap<u64, u64>,
    tick: u64,
    /// Records changed since the last checkpoint.
    dirty: BTreeSet<Key>,
    /// Index entries changed since the last checkpoint.
    idirty: BTreeSet<OpId>,
    /// Op id → record: the entries of the index pages loaded and those changed since.
    at: BTreeMap<OpId, Key>,
    /// Ops held (as an in-memory state's op map would count them).
    pub(crate) count: u64,
    next_page: u64,
    /// Record pages kept loaded after a checkpoint.
    resident: usize,
    /// The bytes a page is filled to.
    target: usize,
    /// Bumped by every change: a checkpoint applies only to the state it was made from.
    generation: u64,
    /// The first page error met on a path that changes the state.
    pub(crate) failure: Option<PageError>,
    /// A page error met by a read through `&self` (which keeps nothing).
    read_failed: AtomicBool,
}

impl Clone for Paged {
    fn clone(&self) -> Paged {
        Paged {
            source: Arc::clone(&self.source),
            rdir: self.rdir.clone(),
            idir: self.idir.clone(),
            rloaded: self.rloaded.clone(),
            iloaded: self.iloaded.clone(),
            tick: self.tick,
            dirty: self.dirty.clone(),
            idirty: self.idirty.clone(),
            at: self.at.clone(),
            count: self.count,
            next_page: self.next_page,
            resident: self.resident,
            target: self.target,
            generation: self.generation,
            failure: self.failure.clone(),
            read_failed: AtomicBool::new(self.read_failed.load(Ordering::Relaxed)),
        }
    }
}

impl core::fmt::Debug for Paged {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Paged")
            .field("record_pages", &self.rdir.len())
            .field("index_pages", &self.idir.len())
            .field("loaded", &(self.rloaded.len(), self.iloaded.len()))
            .field("dirty", &(self.dirty.len(), self.idirty.len()))
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

/// Two paged states are equal when they name the same pages and hold the same changes.
impl PartialEq for Paged {
    fn eq(&self, other: &Paged) -> bool {
        self.rdir == other.rdir
            && self.idir == other.idir
            && self.count == other.count
            && self.dirty == other.dirty
            && self.idirty == other.idirty
    }
}

impl Eq for Paged {}

/// The page of `dir` covering `k`: the last whose first key is at most `k` (the first page
/// covers everything below it too); `None` when there is no page.
fn cover<K: Ord>(dir: &[(K, u64)], k: &K) -> Option<usize> {
    if dir.is_empty() {
        return None;
    }
    Some(
        dir.partition_point(|(first, _)| first <= k)
            .saturating_sub(1),
    )
}

/// Whether `k` falls in page `i` of `dir`.
fn within<K: Ord>(dir: &[(K, u64)], i: usize, k: &K) -> bool {
    (i == 0 || dir[i].0 <= *k) && dir.get(i + 1).is_none_or(|(next, _)| k < next)
}

fn put_var(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// A reader over a page's bytes; every read is bounded by what is left.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn byte(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn var(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
    fn key(&mut self) -> Option<Key> {
        let kind = u16::from_le_bytes(self.array()?);
        Some(Key::new(kind, Id(self.array()?)))
    }
}

fn put_key(out: &mut Vec<u8>, key: Key) {
    out.extend_from_slice(&key.kind().to_le_bytes());
    out.extend_from_slice(&key.id().0);
}

/// Appends one op as a page holds it.
fn put_op(out: &mut Vec<u8>, s: &Stored) {
    let env = s.envelope_bytes();
    let payload = s.payload_parts();
    out.push(u8::from(payload.is_some()));
    put_var(out, env.len() as u64);
    out.extend_from_slice(env);
    match payload {
        Some((salt, bytes)) => {
            out.extend_from_slice(salt);
            put_var(out, bytes.len() as u64);
            out.extend_from_slice(bytes);
        }
        None => out.extend_from_slice(&s.payload_hash()),
    }
}

/// Reads one op of a page, checked as an op from a peer is.
fn read_op(r: &mut Reader<'_>) -> Option<Op> {
    let held = match r.byte()? {
        0 => false,
        1 => true,
        _ => return None,
    };
    let len = usize::try_from(r.var()?).ok()?;
    let env = r.take(len)?;
    if held {
        let salt: [u8; 16] = r.array()?;
        let n = usize::try_from(r.var()?).ok()?;
        let bytes = r.take(n)?.to_vec();
        Op::with_payload(env, Payload { salt, bytes }).ok()
    } else {
        Op::from_parts(env, r.array()?, None).ok()
    }
}

/// The keys page `i` of `dir` covers: from its first key (the first page: from the
/// smallest) up to the next page's first key, that excluded.
fn span<K: Copy>(dir: &[(K, u64)], i: usize) -> (Option<K>, Option<K>) {
    let lo = if i == 0 {
        None
    } else {
        dir.get(i).map(|d| d.0)
    };
    (lo, dir.get(i + 1).map(|d| d.0))
}

/// Whether `k` is in `span` and after `last` (the key before it on the page).
fn in_order<K: Ord>(span: &(Option<K>, Option<K>), last: Option<&K>, k: &K) -> bool {
    span.0.as_ref().is_none_or(|lo| lo <= k)
        && span.1.as_ref().is_none_or(|hi| k < hi)
        && last.is_none_or(|l| l < k)
}

/// The records of a record page covering `span` ([`span`]): each key with its ops.
///
/// A page is what [`State::checkpoint`] wrote or damage: its records are in key order
/// inside its span, each with at least one op, its ops in id order, each filed under its
/// own record, no id in two records. Anything else is [`PageError::Damaged`], so a page
/// can never put a record where another page's lookups would not find it, or hold one
/// twice.
fn decode_records(
    page: u64,
    bytes: &[u8],
    span: (Option<Key>, Option<Key>),
) -> Result<Vec<(Key, Vec<Op>)>, PageError> {
    let bad = PageError::Damaged(page);
    let mut r = Reader(checked(page, bytes)?);
    if r.byte() != Some(PAGE_FORMAT) || r.byte() != Some(RECORDS) {
        return Err(bad);
    }
    let n = r.var().ok_or(bad.clone())?;
    let mut out: Vec<(Key, Vec<Op>)> = Vec::new();
    for _ in 0..n {
        let key = r.key().ok_or(bad.clone())?;
        if !in_order(&span, out.last().map(|(k, _)| k), &key) {
            return Err(bad);
        }
        let m = r.var().ok_or(bad.clone())?;
        if m == 0 {
            return Err(bad);
        }
        let mut ops: Vec<Op> = Vec::new();
        for _ in 0..m {
            let op = read_op(&mut r).ok_or(bad.clone())?;
            // An op filed under another record, or out of order, is damage.
            if Key::new(op.envelope().kind, op.envelope().entity) != key
                || ops.last().is_some_and(|last| last.id() >= op.id())
            {
                return Err(bad);
            }
            ops.push(op);
        }
        out.push((key, ops));
    }
    if !r.0.is_empty() {
        return Err(bad);
    }
    // An op id is one record's: two records of the page holding one id is damage.
    let mut ids: Vec<OpId> = out
        .iter()
        .flat_map(|(_, ops)| ops.iter().map(Op::id))
        .collect();
    ids.sort_unstable();
    if ids.windows(2).any(|w| w[0] == w[1]) {
        return Err(bad);
    }
    Ok(out)
}

/// The entries of an index page covering `span`: in id order inside it, or
/// [`PageError::Damaged`].
fn decode_index(
    page: u64,
    bytes: &[u8],
    span: (Option<OpId>, Option<OpId>),
) -> Result<Vec<(OpId, Key)>, PageError> {
    let bad = PageError::Damaged(page);
    let mut r = Reader(checked(page, bytes)?);
    if r.byte() != Some(PAGE_FORMAT) || r.byte() != Some(INDEX) {
        return Err(bad);
    }
    let n = r.var().ok_or(bad.clone())?;
    // Each entry is 30 bytes: a count the page cannot hold is damage, not an allocation.
    if n > (r.0.len() / 30) as u64 {
        return Err(bad);
    }
    let mut out: Vec<(OpId, Key)> = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let origin = u32::from_le_bytes(r.array().ok_or(bad.clone())?);
        let seq = u64::from_le_bytes(r.array().ok_or(bad.clone())?);
        let key = r.key().ok_or(bad.clone())?;
        let id = OpId::new(origin, seq);
        if !in_order(&span, out.last().map(|(i, _)| i), &id) {
            return Err(bad);
        }
        out.push((id, key));
    }
    if !r.0.is_empty() {
        return Err(bad);
    }
    Ok(out)
}

/// A record materialised apart from a state (a read through `&self` of a page not loaded):
/// its ops by id and its merged structure.
pub(crate) struct Loose {
    pub(crate) ops: Ops,
    pub(crate) entity: Option<Entity>,
}

fn materialise_apart(ops: Vec<Op>) -> Loose {
    let mut scratch = State::new();
    let mut sorted = ops;
    sorted.sort_by_key(|op| {
        let e = op.envelope();
        (e.action != Action::CREATE, e.hlc, op.id())
    });
    let mut map = BTreeMap::new();
    let mut key = None;
    for op in &sorted {
        key = Some(Key::new(op.envelope().kind, op.envelope().entity));
        map.insert(op.id(), Stored::new(op));
        let _ = scratch.materialise(op);
    }
    let entity = key.and_then(|k| scratch.entities.remove(&k));
    Loose { ops: map, entity }
}

impl State {
    /// An empty paged state reading its pages from `source` (a store with no checkpoint
    /// yet). Until the first checkpoint, everything applied stays in memory.
    #[must_use]
    pub fn paged(source: Arc<dyn PageSource>) -> State {
        State {
            paged: Some(alloc::boxed::Box::new(Paged {
                source,
                rdir: Vec::new(),
                idir: Vec::new(),
                rloaded: BTreeMap::new(),
                iloaded: BTreeMap::new(),
                tick: 0,
                dirty: BTreeSet::new(),
                idirty: BTreeSet::new(),
                at: BTreeMap::new(),
                count: 0,
                next_page: 1,
                resident: DEFAULT_RESIDENT_PAGES,
                target: PAGE_TARGET,
                generation: 0,
                failure: None,
                read_failed: AtomicBool::new(false),
            })),
            ..State::default()
        }
    }

    /// Opens a paged state from the meta of the last checkpoint written: nothing but the
    /// meta is read; pages are read when a record or an op in them is needed.
    ///
    /// # Errors
    /// [`PageError::Meta`] when the meta does not decode, names pages out of order or
    /// names a page twice.
    pub fn open_paged(meta: &[u8], source: Arc<dyn PageSource>) -> Result<State, PageError> {
        let (m, rest): (Meta, _) = postcard::take_from_bytes(meta).map_err(|_| PageError::Meta)?;
        if !rest.is_empty() {
            return Err(PageError::Meta);
        }
        let sorted = m.rdir.windows(2).all(|w| w[0].0 < w[1].0)
            && m.idir.windows(2).all(|w| w[0].0 < w[1].0);
        // Page numbers: each used once, all below the next to be given, which is far from
        // the end of the numbers (a checkpoint gives at most one per record or op).
        let mut numbers = BTreeSet::new();
        let numbered = m.next_page <= MAX_PAGE_NUMBER
            && m.rdir
                .iter()
                .map(|d| d.1)
                .chain(m.idir.iter().map(|d| d.1))
                .all(|n| (1..m.next_page).contains(&n) && numbers.insert(n));
        if m.format != META_FORMAT || !sorted || !numbered {
            return Err(PageError::Meta);
        }
        let mut s = State::paged(source);
        s.hashes = m.hashes;
        s.erased = m.erased;
        s.inert = m.inert;
        s.equivocations = m.equivocations;
        if let Some(p) = s.paged.as_mut() {
            p.rdir = m.rdir;
            p.idir = m.idir;
            p.count = m.count;
            p.next_page = m.next_page;
        }
        Ok(s)
    }

    /// Whether this state is paged.
    #[must_use]
    pub fn is_paged(&self) -> bool {
        self.paged.is_some()
    }

    /// How many record pages a paged state keeps loaded after a checkpoint (at least one).
    pub fn set_resident_pages(&mut self, pages: usize) {
        if let Some(p) = self.paged.as_mut() {
            p.resident = pages.max(1);
        }
    }

    /// The bytes a paged state fills a page to ([`PAGE_TARGET`] by default; at least one:
    /// a page then holds one record). Pages already written keep their size until rewritten.
    pub fn set_page_target(&mut self, bytes: usize) {
        if let Some(p) = self.paged.as_mut() {
            p.target = bytes.max(1);
        }
    }

    /// The page error a paged state met, if any: it then applies nothing more and must be
    /// opened again from its last checkpoint (a read through `&self` that met one showed
    /// less than the state holds).
    #[must_use]
    pub fn failure(&self) -> Option<PageError> {
        let p = self.paged.as_ref()?;
        p.failure.clone().or_else(|| {
            p.read_failed
                .load(Ordering::Relaxed)
                .then(|| PageError::Read {
                    page: 0,
                    reason: String::from("a read met a page it could not load"),
                })
        })
    }

    /// What a state holds in memory now.
    #[must_use]
    pub fn resident(&self) -> Resident {
        let (record_pages, index_pages) = self
            .paged
            .as_ref()
            .map_or((0, 0), |p| (p.rloaded.len(), p.iloaded.len()));
        Resident {
            records: self.entities.len(),
            ops: self.ops.len(),
            record_pages,
            index_pages,
        }
    }

    /// Whether anything changed since the last checkpoint.
    #[must_use]
    pub fn has_changes(&self) -> bool {
        self.paged
            .as_ref()
            .is_some_and(|p| !p.dirty.is_empty() || !p.idirty.is_empty())
    }

    /// Notes a change to a record (paged states write it at the next checkpoint).
    pub(crate) fn mark(&mut self, key: Key) {
        if let Some(p) = self.paged.as_mut() {
            p.dirty.insert(key);
            p.generation += 1;
        }
    }

    /// Notes that the op `id` is now held in record `key`.
    pub(crate) fn mark_id(&mut self, id: OpId, key: Key) {
        if let Some(p) = self.paged.as_mut() {
            p.at.insert(id, key);
            p.idirty.insert(id);
            p.generation += 1;
        }
    }

    /// Loads the page covering `key` if it is not: afterwards the record, if held, is in
    /// memory with all its ops.
    pub(crate) fn ensure_record(&mut self, key: Key) -> Result<(), PageError> {
        let Some(p) = self.paged.as_mut() else {
            return Ok(());
        };
        if let Some(e) = &p.failure {
            return Err(e.clone());
        }
        let Some(i) = cover(&p.rdir, &key) else {
            return Ok(());
        };
        let page = p.rdir[i].1;
        p.tick += 1;
        let tick = p.tick;
        if let Some(t) = p.rloaded.get_mut(&page) {
            *t = tick;
            return Ok(());
        }
        let records = p
            .source
            .read(page)
            .and_then(|b| decode_records(page, &b, span(&p.rdir, i)));
        // An op held already (in a record of another page) is damage: an id is one
        // record's, and loading it again would displace the op that record holds.
        let records = records.and_then(|r| {
            let twice = r
                .iter()
                .flat_map(|(_, ops)| ops)
                .any(|op| self.ops.contains_key(&op.id()));
            if twice {
                Err(PageError::Damaged(page))
            } else {
                Ok(r)
            }
        });
        let records = match records {
            Ok(r) => r,
            Err(e) => {
                p.failure = Some(e.clone());
                return Err(e);
            }
        };
        p.rloaded.insert(page, tick);
        for (_, mut ops) in records {
            ops.sort_by_key(|op| {
                let e = op.envelope();
                (e.action != Action::CREATE, e.hlc, op.id())
            });
            for op in &ops {
                self.ops.insert(op.id(), Stored::new(op));
            }
            for op in &ops {
                let _ = self.materialise(op);
            }
        }
        self.pending_rebuild = None;
        Ok(())
    }

    /// The record holding op `id`, loading the index page covering it; `None` when the op
    /// is not held.
    pub(crate) fn ensure_id(&mut self, id: OpId) -> Result<Option<Key>, PageError> {
        let Some(p) = self.paged.as_mut() else {
            return Ok(None);
        };
        if let Some(e) = &p.failure {
            return Err(e.clone());
        }
        if let Some(k) = p.at.get(&id) {
            return Ok(Some(*k));
        }
        let Some(i) = cover(&p.idir, &id) else {
            return Ok(None);
        };
        let page = p.idir[i].1;
        p.tick += 1;
        let tick = p.tick;
        if let Some(t) = p.iloaded.get_mut(&page) {
            *t = tick;
            return Ok(None);
        }
        let entries = p
            .source
            .read(page)
            .and_then(|b| decode_index(page, &b, span(&p.idir, i)));
        let entries = match entries {
            Ok(e) => e,
            Err(e) => {
                p.failure = Some(e.clone());
                return Err(e);
            }
        };
        p.iloaded.insert(page, tick);
        p.at.extend(entries);
        Ok(p.at.get(&id).copied())
    }

    /// Makes what an op touches resident in a paged state: its record, and the record
    /// holding an op of the same id.
    pub(crate) fn ensure_for(&mut self, op: &Op) -> Result<(), PageError> {
        if self.paged.is_none() {
            return Ok(());
        }
        let key = Key::new(op.envelope().kind, op.envelope().entity);
        self.ensure_record(key)?;
        if let Some(other) = self.ensure_id(op.id())? {
            if other != key {
                self.ensure_record(other)?;
            }
            // The index names the record holding the op: one that does not hold it means
            // a damaged index page.
            let holds = self
                .entities
                .get(&other)
                .is_some_and(|e| e.ops.contains(&op.id()));
            if !holds && let Some(p) = self.paged.as_mut() {
                let page = cover(&p.idir, &op.id()).map_or(0, |i| p.idir[i].1);
                p.failure = Some(PageError::Damaged(page));
                return Err(PageError::Damaged(page));
            }
        }
        Ok(())
    }

    /// Reads the page covering `key` for a read through `&self`: `None` when the record is
    /// in memory (or no page covers it), else the records of the page, materialised apart.
    fn loose_page(&self, key: &Key) -> Option<(usize, Vec<(Key, Loose)>)> {
        let p = self.paged.as_ref()?;
        let i = cover(&p.rdir, key)?;
        let page = p.rdir[i].1;
        if p.rloaded.contains_key(&page) {
            return None;
        }
        let records = p
            .source
            .read(page)
            .and_then(|b| decode_records(page, &b, span(&p.rdir, i)));
        let records = match records {
            Ok(r) => r,
            Err(_) => {
                p.read_failed.store(true, Ordering::Relaxed);
                Vec::new()
            }
        };
        Some((
            i,
            records
                .into_iter()
                .map(|(k, ops)| (k, materialise_apart(ops)))
                .collect(),
        ))
    }

    /// Runs `f` on a record and the ops it reads its values from, wherever the record is.
    pub(crate) fn with_record<R>(&self, key: Key, f: impl FnOnce(&Entity, &Ops) -> R) -> Option<R> {
        match self.loose_page(&key) {
            None => self.entities.get(&key).map(|e| f(e, &self.ops)),
            Some((_, records)) => {
                let (_, loose) = records.into_iter().find(|(k, _)| *k == key)?;
                let e = loose.entity?;
                Some(f(&e, &loose.ops))
            }
        }
    }

    /// Runs `f` on every record with a key in `lo..=hi`, in key order, wherever it is.
    pub(crate) fn for_each_record(&self, lo: Key, hi: Key, f: &mut dyn FnMut(Key, &Entity, &Ops)) {
        match self.pages_over(lo, hi) {
            None => {
                for (k, e) in self.entities.range(lo..=hi) {
                    f(*k, e, &self.ops);
                }
            }
            Some(pages) => {
                for i in pages {
                    self.for_page(i, lo, hi, f);
                }
            }
        }
    }

    /// The record pages covering `lo..=hi`, or `None` when every record is in memory (an
    /// in-memory state, or a paged one before its first checkpoint).
    fn pages_over(&self, lo: Key, hi: Key) -> Option<core::ops::Range<usize>> {
        let p = self.paged.as_ref().filter(|p| !p.rdir.is_empty())?;
        match (cover(&p.rdir, &lo), cover(&p.rdir, &hi)) {
            (Some(first), Some(last)) if lo <= hi => Some(first..last + 1),
            _ => Some(0..0),
        }
    }

    /// Runs `f` on the records of record page `i` with a key in `lo..=hi`.
    fn for_page(&self, i: usize, lo: Key, hi: Key, f: &mut dyn FnMut(Key, &Entity, &Ops)) {
        let Some(p) = self.paged.as_ref() else {
            return;
        };
        let (first, page) = p.rdir[i];
        if p.rloaded.contains_key(&page) {
            let from = if i == 0 { lo } else { first.max(lo) };
            for (k, e) in self.entities.range(from..=hi) {
                if !within(&p.rdir, i, k) {
                    break;
                }
                f(*k, e, &self.ops);
            }
            return;
        }
        let Some((_, records)) = self.loose_page(&first.max(lo)) else {
            return;
        };
        for (k, loose) in records {
            if (lo..=hi).contains(&k)
                && let Some(e) = &loose.entity
            {
                f(k, e, &loose.ops);
            }
        }
    }

    /// What `f` makes of each record with a key in `lo..=hi`, in key order, wherever it is:
    /// lazily, a page at a time, so a scan of a paged state holds one page's records.
    pub(crate) fn map_records<'a, T: 'a>(
        &'a self,
        lo: Key,
        hi: Key,
        f: impl Fn(Key, &Entity, &Ops) -> Option<T> + 'a,
    ) -> alloc::boxed::Box<dyn Iterator<Item = T> + 'a> {
        match self.pages_over(lo, hi) {
            None => alloc::boxed::Box::new(
                self.entities
                    .range(lo..=hi)
                    .filter_map(move |(k, e)| f(*k, e, &self.ops)),
            ),
            Some(pages) => alloc::boxed::Box::new(pages.flat_map(move |i| {
                let mut out = Vec::new();
                self.for_page(i, lo, hi, &mut |k, e, ops| out.extend(f(k, e, ops)));
                out
            })),
        }
    }

    /// Runs `f` on every op held (not the losing versions of an equivocation), record by
    /// record, wherever it is.
    pub(crate) fn for_each_stored(&self, f: &mut dyn FnMut(&OpId, &Stored)) {
        let Some(p) = self.paged.as_ref().filter(|p| !p.rdir.is_empty()) else {
            for (id, s) in &self.ops {
                f(id, s);
            }
            return;
        };
        for (i, (first, page)) in p.rdir.iter().enumerate() {
            if p.rloaded.contains_key(page) {
                for (k, e) in &self.entities {
                    if within(&p.rdir, i, k) {
                        for id in e.ops.iter() {
                            if let Some(s) = self.ops.get(id) {
                                f(id, s);
                            }
                        }
                    }
                }
                continue;
            }
            if let Some((_, records)) = self.loose_page(first) {
                for (_, loose) in records {
                    for (id, s) in &loose.ops {
                        f(id, s);
                    }
                }
            }
        }
    }

    /// The op `id` as held, wherever it is.
    pub(crate) fn find_stored(&self, id: OpId) -> Option<Stored> {
        if let Some(s) = self.ops.get(&id) {
            return Some(s.clone());
        }
        let p = self.paged.as_ref()?;
        let key = match p.at.get(&id) {
            Some(k) => *k,
            None => {
                let i = cover(&p.idir, &id)?;
                let page = p.idir[i].1;
                if p.iloaded.contains_key(&page) {
                    return None;
                }
                let entries = p
                    .source
                    .read(page)
                    .and_then(|b| decode_index(page, &b, span(&p.idir, i)));
                match entries {
                    Ok(entries) => entries.into_iter().find(|(i, _)| *i == id)?.1,
                    Err(_) => {
                        p.read_failed.store(true, Ordering::Relaxed);
                        return None;
                    }
                }
            }
        };
        // The index names the record holding the op: a record that does not hold it (in
        // memory, or in its page) means a damaged index page.
        let found = self.loose_page(&key).and_then(|(_, records)| {
            let (_, mut loose) = records.into_iter().find(|(k, _)| *k == key)?;
            loose.ops.remove(&id)
        });
        if found.is_none() {
            p.read_failed.store(true, Ordering::Relaxed);
        }
        found
    }

    /// The keys of records in pages not loaded that hold a payload naming one of
    /// `persons` (what an erasure must load before it destroys them).
    pub(crate) fn keys_naming(&self, persons: &[PersonId]) -> Vec<Key> {
        let mut keys = Vec::new();
        let Some(p) = self.paged.as_ref() else {
            return keys;
        };
        for (first, page) in &p.rdir {
            if p.rloaded.contains_key(page) {
                continue;
            }
            let Some((_, records)) = self.loose_page(first) else {
                continue;
            };
            for (k, loose) in records {
                let named = loose.ops.values().any(|s| {
                    s.payload_held()
                        && s.names_persons()
                        && s.envelope()
                            .is_some_and(|e| e.persons.iter().any(|x| persons.contains(x)))
                });
                if named {
                    keys.push(k);
                }
            }
        }
        keys
    }

    /// The pages and meta that make what changed since the last checkpoint durable.
    ///
    /// # Errors
    /// [`PageError::NotPaged`] for an in-memory state; the state's page error if it met one;
    /// [`PageError::NumbersSpent`] past the last page number.
    pub fn checkpoint(&self) -> Result<Checkpoint, PageError> {
        let p = self.paged.as_ref().ok_or(PageError::NotPaged)?;
        if let Some(e) = &p.failure {
            return Err(e.clone());
        }
        let mut next = p.next_page;
        let mut put = Vec::new();
        let mut remove = Vec::new();

        // Record pages: rewrite each page holding a changed record, in pieces of about
        // PAGE_TARGET bytes.
        let mut rdir = p.rdir.clone();
        let mut affected: Vec<usize> = if rdir.is_empty() {
            Vec::new()
        } else {
            let mut v: Vec<usize> = p.dirty.iter().filter_map(|k| cover(&rdir, k)).collect();
            v.dedup();
            v
        };
        if rdir.is_empty() && !self.entities.is_empty() {
            let pieces = self.record_pieces(|_| true, Key::MIN, p.target, &mut next);
            rdir = pieces.iter().map(|(k, id, _)| (*k, *id)).collect();
            put.extend(pieces.into_iter().map(|(_, id, b)| (id, b)));
        }
        affected.sort_unstable();
        affected.dedup();
        for &i in affected.iter().rev() {
            let (first, old) = p.rdir[i];
            // The first page covers every key below its first too: its pieces start from
            // the smallest, or one could start below the piece before it.
            let first = if i == 0 { Key::MIN } else { first };
            let pieces = self.record_pieces(|k| within(&p.rdir, i, k), first, p.target, &mut next);
            remove.push(old);
            let entries: Vec<(Key, u64)> = pieces.iter().map(|(k, id, _)| (*k, *id)).collect();
            put.extend(pieces.into_iter().map(|(_, id, b)| (id, b)));
            rdir.splice(i..=i, entries);
        }

        // Index pages, the same way.
        let mut idir = p.idir.clone();
        if idir.is_empty() && !p.at.is_empty() {
            let pieces = index_pieces(p.at.iter(), OpId::new(0, 0), p.target, &mut next);
            idir = pieces.iter().map(|(k, id, _)| (*k, *id)).collect();
            put.extend(pieces.into_iter().map(|(_, id, b)| (id, b)));
        } else if !idir.is_empty() {
            let mut iaffected: Vec<usize> =
                p.idirty.iter().filter_map(|k| cover(&idir, k)).collect();
            iaffected.dedup();
            for &i in iaffected.iter().rev() {
                let (first, old) = p.idir[i];
                let first = if i == 0 { OpId::new(0, 0) } else { first };
                let pieces = index_pieces(
                    p.at.iter().filter(|(k, _)| within(&p.idir, i, k)),
                    first,
                    p.target,
                    &mut next,
                );
                remove.push(old);
                let entries: Vec<(OpId, u64)> = pieces.iter().map(|(k, id, _)| (*k, *id)).collect();
                put.extend(pieces.into_iter().map(|(_, id, b)| (id, b)));
                idir.splice(i..=i, entries);
            }
        }

        if next > MAX_PAGE_NUMBER {
            return Err(PageError::NumbersSpent);
        }
        let meta = Meta {
            format: META_FORMAT,
            count: p.count,
            next_page: next,
            rdir: rdir.clone(),
            idir: idir.clone(),
            hashes: self.hashes.clone(),
            erased: self.erased.clone(),
            inert: self.inert.clone(),
            equivocations: self.equivocations.clone(),
        };
        let meta = postcard::to_allocvec(&meta).map_err(|_| PageError::Meta)?;
        Ok(Checkpoint {
            put,
            remove,
            meta,
            rdir,
            idir,
            next_page: next,
            generation: p.generation,
        })
    }

    /// The records in memory that `keep` selects, encoded into pages of about `target`
    /// bytes: (first key covered, page number, bytes). The first piece covers from
    /// `first`; no piece when no record is selected.
    fn record_pieces(
        &self,
        keep: impl Fn(&Key) -> bool,
        first: Key,
        target: usize,
        next: &mut u64,
    ) -> Vec<(Key, u64, Vec<u8>)> {
        let records = self
            .entities
            .iter()
            .filter(|(k, _)| keep(k))
            .filter_map(|(k, e)| {
                let held: Vec<&Stored> = e.ops.iter().filter_map(|id| self.ops.get(id)).collect();
                if held.is_empty() {
                    return None;
                }
                let mut body = Vec::new();
                put_key(&mut body, *k);
                put_var(&mut body, held.len() as u64);
                for s in held {
                    put_op(&mut body, s);
                }
                Some((*k, body))
            });
        paginate(RECORDS, records, first, target, next)
    }

    /// Tells a paged state that `cp` was written: the pages it replaced are forgotten, what
    /// changed is no longer pending, and pages beyond the resident count are let go.
    /// Returns `false` (and changes nothing) when the state changed since `cp` was made:
    /// make a new checkpoint.
    pub fn checkpointed(&mut self, cp: Checkpoint) -> bool {
        let Some(p) = self.paged.as_mut() else {
            return false;
        };
        if p.generation != cp.generation {
            return false;
        }
        for old in &cp.remove {
            p.rloaded.remove(old);
            p.iloaded.remove(old);
        }
        p.tick += 1;
        let tick = p.tick;
        // What was just written is what memory holds: those pages are loaded.
        let written: BTreeSet<u64> = cp.put.iter().map(|(id, _)| *id).collect();
        for (_, id) in &cp.rdir {
            if written.contains(id) {
                p.rloaded.insert(*id, tick);
            }
        }
        for (_, id) in &cp.idir {
            if written.contains(id) {
                p.iloaded.insert(*id, tick);
            }
        }
        p.rdir = cp.rdir;
        p.idir = cp.idir;
        p.next_page = cp.next_page;
        p.dirty.clear();
        p.idirty.clear();
        self.evict();
        true
    }

    /// Lets go of the least recently used pages beyond the resident count (never a page
    /// holding a change not yet checkpointed).
    pub(crate) fn evict(&mut self) {
        let Some(p) = self.paged.as_mut() else {
            return;
        };
        while p.rloaded.len() > p.resident {
            let Some((page, at)) = least_used(&p.rloaded, &p.rdir, &p.dirty) else {
                break;
            };
            p.rloaded.remove(&page);
            let Some(i) = at else { continue };
            let keys: Vec<Key> = self
                .entities
                .keys()
                .filter(|k| within(&p.rdir, i, k))
                .copied()
                .collect();
            for k in keys {
                if let Some(e) = self.entities.remove(&k) {
                    for id in e.ops.iter() {
                        self.ops.remove(id);
                    }
                }
            }
        }
        let keep_index = (p.resident / 4).max(1);
        while p.iloaded.len() > keep_index {
            let Some((page, at)) = least_used(&p.iloaded, &p.idir, &p.idirty) else {
                break;
            };
            p.iloaded.remove(&page);
            if let Some(i) = at {
                let idir = &p.idir;
                p.at.retain(|k, _| !within(idir, i, k));
            }
        }
    }
}

/// Of the `loaded` pages (page → when last used), the least recently used that holds no
/// change in `dirty`, with its place in `dir` (`None`: no longer in it).
fn least_used<K: Ord>(
    loaded: &BTreeMap<u64, u64>,
    dir: &[(K, u64)],
    dirty: &BTreeSet<K>,
) -> Option<(u64, Option<usize>)> {
    loaded
        .iter()
        .map(|(page, used)| (*page, *used, dir.iter().position(|(_, id)| id == page)))
        .filter(|(_, _, at)| at.is_none_or(|i| !dirty.iter().any(|k| within(dir, i, k))))
        .min_by_key(|(_, used, _)| *used)
        .map(|(page, _, at)| (page, at))
}

/// Index entries encoded into pages of about `target` bytes, as
/// [`State::record_pieces`] does records.
fn index_pieces<'a>(
    entries: impl Iterator<Item = (&'a OpId, &'a Key)>,
    first: OpId,
    target: usize,
    next: &mut u64,
) -> Vec<(OpId, u64, Vec<u8>)> {
    let entries = entries.map(|(id, key)| {
        let mut body = Vec::with_capacity(30);
        body.extend_from_slice(&id.origin.0.to_le_bytes());
        body.extend_from_slice(&id.seq.to_le_bytes());
        put_key(&mut body, *key);
        (*id, body)
    });
    paginate(INDEX, entries, first, target, next)
}

/// Encoded items (each with its key, in key order) cut into sealed pages of `kind`, a page
/// closed once its body reaches `target` bytes: (first key covered, page number, bytes).
/// The first page covers from `first`; no page when there is no item.
fn paginate<K: Copy>(
    kind: u8,
    items: impl Iterator<Item = (K, Vec<u8>)>,
    first: K,
    target: usize,
    next: &mut u64,
) -> Vec<(K, u64, Vec<u8>)> {
    let mut pieces = Vec::new();
    let mut body = Vec::new();
    let mut count = 0u64;
    let mut start = first;
    let mut flush = |body: &mut Vec<u8>, count: &mut u64, start: K| {
        let mut page = alloc::vec![PAGE_FORMAT, kind];
        put_var(&mut page, *count);
        page.append(body);
        pieces.push((start, *next, seal(page)));
        *next += 1;
        *count = 0;
    };
    for (key, item) in items {
        if body.len() >= target {
            flush(&mut body, &mut count, start);
            start = key;
        }
        body.extend_from_slice(&item);
        count += 1;
    }
    if count > 0 {
        flush(&mut body, &mut count, start);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::OpBuilder;
    use kenesh_model::schema::EntityKind;

    /// Pages given once (these tests read only).
    #[derive(Default)]
    struct Pages(BTreeMap<u64, Vec<u8>>);

    /// Pages a test writes checkpoints to.
    #[derive(Default)]
    struct Store(std::sync::Mutex<BTreeMap<u64, Vec<u8>>>);

    impl Store {
        fn write(&self, cp: &Checkpoint) {
            let mut pages = self.0.lock().unwrap();
            for (n, bytes) in cp.pages() {
                pages.insert(*n, bytes.clone());
            }
            for n in cp.removed() {
                pages.remove(n);
            }
        }
    }

    impl PageSource for Store {
        fn read(&self, page: u64) -> Result<Vec<u8>, PageError> {
            let pages = self.0.lock().unwrap();
            pages.get(&page).cloned().ok_or(PageError::Missing(page))
        }
    }

    impl PageSource for Pages {
        fn read(&self, page: u64) -> Result<Vec<u8>, PageError> {
            self.0.get(&page).cloned().ok_or(PageError::Missing(page))
        }
    }

    /// Five issues, two ops each, checkpointed into pages of `target` bytes.
    type PageList = Vec<(u64, Vec<u8>)>;

    fn checkpointed(target: usize) -> (PageList, Meta) {
        let (pages, meta, _) = checkpointed_ops(target);
        (pages, meta)
    }

    fn checkpointed_ops(target: usize) -> (PageList, Meta, Vec<Op>) {
        let source = Arc::new(Pages::default());
        let mut s = State::paged(source);
        s.set_page_target(target);
        let mut b = OpBuilder::new(1);
        b.salt([3; 16]);
        let mut ops = Vec::new();
        for n in 0..5u128 {
            let id = Id::from_u128(n);
            let create = b.create(EntityKind::Issue, id, alloc::vec![]).unwrap();
            let set = b
                .set(EntityKind::Issue, id, 1, alloc::vec![1, 2], &[create.id()])
                .unwrap();
            ops.extend([create.clone(), set.clone()]);
            s.apply(create);
            s.apply(set);
        }
        let cp = s.checkpoint().unwrap();
        let meta = postcard::from_bytes(cp.meta()).unwrap();
        (cp.pages().to_vec(), meta, ops)
    }

    /// An op with the id of `of` creating issue `n` (another op under the same id).
    fn twin(of: &Op, n: u128) -> Op {
        let mut b = OpBuilder::resume(of.id().origin.0, of.id().seq, crate::Hlc(0));
        b.salt([3; 16]);
        let twin = b
            .create(
                EntityKind::Issue,
                Id::from_u128(n),
                alloc::vec![(1, alloc::vec![7])],
            )
            .unwrap();
        assert_eq!(twin.id(), of.id());
        twin
    }

    /// Another device's new title for issue 0, over `last` (the issue's title write).
    fn retitle(last: &Op) -> Op {
        let mut b = OpBuilder::new(2);
        b.salt([4; 16]);
        b.set(
            EntityKind::Issue,
            Id::from_u128(0),
            1,
            alloc::vec![9],
            &[last.id()],
        )
        .unwrap()
    }

    fn record_page(records: &[(Key, Vec<Op>)]) -> Vec<u8> {
        let mut page = alloc::vec![PAGE_FORMAT, RECORDS];
        put_var(&mut page, records.len() as u64);
        for (k, ops) in records {
            put_key(&mut page, *k);
            put_var(&mut page, ops.len() as u64);
            for op in ops {
                put_op(&mut page, &Stored::new(op));
            }
        }
        seal(page)
    }

    fn index_page(entries: &[(OpId, Key)]) -> Vec<u8> {
        let mut page = alloc::vec![PAGE_FORMAT, INDEX];
        put_var(&mut page, entries.len() as u64);
        for (id, k) in entries {
            page.extend_from_slice(&id.origin.0.to_le_bytes());
            page.extend_from_slice(&id.seq.to_le_bytes());
            put_key(&mut page, *k);
        }
        seal(page)
    }

    /// A page that checks but holds its records out of order, outside its span, twice, with
    /// no op or with its ops out of order, is damaged: it could put a record where another
    /// page's lookups would miss it.
    #[test]
    fn sealed_record_pages_out_of_order_are_damaged() {
        let (pages, meta) = checkpointed(PAGE_TARGET);
        assert_eq!(meta.rdir.len(), 1);
        let whole = (None, None);
        let records = decode_records(9, &pages[0].1, whole).unwrap();
        assert_eq!(records.len(), 5);
        assert_eq!(
            record_page(&records),
            pages[0].1,
            "the test's writer is the state's"
        );

        let mut swapped = records.clone();
        swapped.swap(1, 2);
        let mut twice = records.clone();
        twice.insert(1, records[0].clone());
        let mut empty = records.clone();
        empty[2].1.clear();
        let mut ops_swapped = records.clone();
        ops_swapped[0].1.swap(0, 1);
        let mut op_twice = records.clone();
        op_twice[0].1.push(records[0].1[1].clone());
        for (what, bad) in [
            ("records swapped", swapped),
            ("a record twice", twice),
            ("a record without ops", empty),
            ("ops swapped", ops_swapped),
            ("an op twice", op_twice),
        ] {
            assert_eq!(
                decode_records(9, &record_page(&bad), whole).unwrap_err(),
                PageError::Damaged(9),
                "{what}"
            );
        }
        // Outside the span its directory gives it, below or from the next page's key.
        let (k1, k3) = (records[1].0, records[3].0);
        let page = record_page(&records);
        assert!(decode_records(9, &page, (Some(k1), None)).is_err());
        assert!(decode_records(9, &page, (None, Some(k3))).is_err());
        assert!(decode_records(9, &record_page(&records[1..3]), (Some(k1), Some(k3))).is_ok());
    }

    #[test]
    fn sealed_index_pages_out_of_order_are_damaged() {
        let (pages, meta) = checkpointed(PAGE_TARGET);
        let page = &pages.iter().find(|(n, _)| *n == meta.idir[0].1).unwrap().1;
        let entries = decode_index(9, page, (None, None)).unwrap();
        assert_eq!(entries.len(), 10);
        assert_eq!(&index_page(&entries), page);
        let mut swapped = entries.clone();
        swapped.swap(4, 5);
        let mut twice = entries.clone();
        twice.insert(3, entries[3]);
        for bad in [swapped, twice] {
            assert!(decode_index(9, &index_page(&bad), (None, None)).is_err());
        }
        assert!(decode_index(9, page, (Some(entries[1].0), None)).is_err());
        assert!(decode_index(9, page, (None, Some(entries[9].0))).is_err());
    }

    /// An index page that checks but names another record for an op: a lookup by id finds
    /// nothing and fails the state (found by the fuzz target `merge_pages`: before, the op
    /// was found while its record was in memory and not after a reopening), and an op of
    /// that id is refused as `Unavailable`.
    #[test]
    fn an_index_naming_the_wrong_record_is_damage() {
        let (mut pages, meta, ops) = checkpointed_ops(PAGE_TARGET);
        let at = pages
            .iter()
            .position(|(n, _)| *n == meta.idir[0].1)
            .unwrap();
        let mut entries = decode_index(9, &pages[at].1, (None, None)).unwrap();
        let wrong = Key::new(EntityKind::Issue.code(), Id::from_u128(4));
        assert_eq!(entries[0].0, ops[0].id());
        assert_ne!(entries[0].1, wrong);
        entries[0].1 = wrong;
        pages[at].1 = index_page(&entries);
        let source: Arc<dyn PageSource> = Arc::new(Pages(pages.into_iter().collect()));
        let meta = postcard::to_allocvec(&meta).unwrap();

        let s = State::open_paged(&meta, source.clone()).unwrap();
        assert_eq!(s.op(ops[1].id()), Some(ops[1].clone()), "a true entry");
        assert_eq!(s.failure(), None);
        assert_eq!(s.op(ops[0].id()), None);
        assert!(s.failure().is_some(), "the wrong entry is seen");

        let mut s = State::open_paged(&meta, source).unwrap();
        assert_eq!(
            s.apply(ops[0].clone()),
            crate::Applied::Flagged(FlagKind::Unavailable)
        );
        assert_eq!(s.failure(), Some(PageError::Damaged(meta_index_page(&s))));
        assert!(s.checkpoint().is_err());
    }

    fn meta_index_page(s: &State) -> u64 {
        s.paged.as_ref().unwrap().idir[0].1
    }

    /// An op id in the records of two pages is damage once both are loaded: an id is one
    /// record's, and the second load would displace the op the first record holds (found by
    /// the fuzz target `merge_pages`).
    #[test]
    fn an_id_in_two_pages_is_damage() {
        let (mut pages, meta, ops) = checkpointed_ops(1);
        assert_eq!(meta.rdir.len(), 5);
        // Issue 1's page also holds, under issue 1, an op with the id of issue 0's create.
        let at = pages
            .iter()
            .position(|(n, _)| *n == meta.rdir[1].1)
            .unwrap();
        let mut records = decode_records(9, &pages[at].1, (None, None)).unwrap();
        records[0].1.insert(0, twin(&ops[0], 1));
        pages[at].1 = record_page(&records);
        let source: Arc<dyn PageSource> = Arc::new(Pages(pages.into_iter().collect()));
        let meta = postcard::to_allocvec(&meta).unwrap();
        let mut s = State::open_paged(&meta, source).unwrap();
        let mut b = OpBuilder::new(2);
        b.salt([4; 16]);
        let on = |b: &mut OpBuilder, n: u128, prev: &Op| {
            b.set(
                EntityKind::Issue,
                Id::from_u128(n),
                1,
                alloc::vec![9],
                &[prev.id()],
            )
            .unwrap()
        };
        let first = on(&mut b, 0, &ops[1]);
        assert_eq!(s.apply(first), crate::Applied::Applied);
        let second = on(&mut b, 1, &ops[3]);
        assert_eq!(
            s.apply(second),
            crate::Applied::Flagged(FlagKind::Unavailable)
        );
        assert_eq!(
            s.failure(),
            Some(PageError::Damaged(s.paged.as_ref().unwrap().rdir[1].1))
        );
    }

    /// Two records of one page holding an op id each is damage (found by the fuzz target
    /// `device_open`: the second record's op displaced the first's when the page loaded,
    /// and the next checkpoint wrote the first record with an op of the second).
    #[test]
    fn an_id_in_two_records_of_a_page_is_damage() {
        let (pages, meta, ops) = checkpointed_ops(PAGE_TARGET);
        let mut records = decode_records(9, &pages[0].1, (None, None)).unwrap();
        assert_eq!(meta.rdir[0].1, pages[0].0);
        records[1].1.insert(0, twin(&ops[0], 1));
        assert_eq!(
            decode_records(9, &record_page(&records), (None, None)).unwrap_err(),
            PageError::Damaged(9)
        );
    }

    /// The first record page covers the keys below its first key too: cut into pieces, its
    /// first piece starts from the smallest key, so the pieces stay in order (found by the
    /// fuzz target `merge_pages`: a meta whose first page started at a later key wrote
    /// pieces out of order, and the meta it wrote did not open).
    #[test]
    fn the_first_page_cut_in_pieces_stays_in_order() {
        let (pages, mut meta, ops) = checkpointed_ops(PAGE_TARGET);
        assert_eq!(meta.rdir.len(), 1);
        let store = Arc::new(Store::default());
        for (n, bytes) in pages {
            store.0.lock().unwrap().insert(n, bytes);
        }
        meta.rdir[0].0 = Key::new(EntityKind::Issue.code(), Id::from_u128(2));
        let meta = postcard::to_allocvec(&meta).unwrap();
        let source: Arc<dyn PageSource> = store.clone();
        let mut s = State::open_paged(&meta, source.clone()).unwrap();
        let before = s.snapshot();
        s.set_page_target(1);
        let set = retitle(&ops[1]);
        s.apply(set.clone());
        let cp = s.checkpoint().unwrap();
        // A record or an index entry a page: five record pages, eleven index pages.
        assert_eq!(cp.pages().len(), 5 + 11);
        store.write(&cp);
        let reopened = State::open_paged(cp.meta(), source).unwrap();
        assert_eq!(reopened.snapshot(), s.snapshot());
        assert_ne!(reopened.snapshot(), before);
        assert_eq!(reopened.op(set.id()), Some(set));
    }

    /// A meta whose next page number is the largest allowed opens, and a checkpoint that
    /// would need a page past it is refused.
    #[test]
    fn page_numbers_run_out_with_an_error() {
        let (pages, mut meta, ops) = checkpointed_ops(PAGE_TARGET);
        meta.next_page = MAX_PAGE_NUMBER;
        let source: Arc<dyn PageSource> = Arc::new(Pages(pages.into_iter().collect()));
        let mut s = State::open_paged(&postcard::to_allocvec(&meta).unwrap(), source).unwrap();
        let set = retitle(&ops[1]);
        s.apply(set);
        assert_eq!(s.checkpoint().unwrap_err(), PageError::NumbersSpent);
    }

    /// A meta naming a page twice (or a record page and an index page alike), a page at or
    /// past its next page number, or a next number near the end is refused.
    #[test]
    fn metas_naming_pages_badly_are_refused() {
        let (_, meta) = checkpointed(1);
        assert!(meta.rdir.len() == 5 && meta.idir.len() == 10);
        let open = |m: &Meta| {
            let source: Arc<dyn PageSource> = Arc::new(Pages::default());
            State::open_paged(&postcard::to_allocvec(m).unwrap(), source).map(|_| ())
        };
        assert_eq!(open(&meta), Ok(()));
        type Edit = (&'static str, fn(&mut Meta));
        let edits: [Edit; 6] = [
            ("a record page twice", |m| m.rdir[1].1 = m.rdir[0].1),
            ("a page as both", |m| m.idir[0].1 = m.rdir[0].1),
            ("page 0", |m| m.rdir[0].1 = 0),
            ("at the next number", |m| m.idir[2].1 = m.next_page),
            ("the end of the numbers", |m| m.next_page = u64::MAX),
            ("out of order", |m| m.rdir.swap(0, 1)),
        ];
        for (what, edit) in edits {
            let mut m =
                postcard::from_bytes::<Meta>(&postcard::to_allocvec(&meta).unwrap()).unwrap();
            edit(&mut m);
            assert_eq!(open(&m), Err(PageError::Meta), "{what}");
        }
    }
}
