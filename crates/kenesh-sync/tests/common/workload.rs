//! The reference workload (kenesh-workload) driven through kenesh: records become Issue
//! creates, status changes become workflow transitions, supporters set adds, each edit its
//! own signed commit, as an app on a kiosk or the server would make them.

use std::collections::BTreeMap;

use kenesh_merge::{Op, OpBuilder, OpId};
use kenesh_model::schema::EntityKind;
use kenesh_model::text::LocalizedText;
use kenesh_model::{Id, MunicipalityId, PersonId, Scope, Tier};
use kenesh_proto::Caps;
use kenesh_sync::{
    Access, ClientSession, Device, Grants, MemStore, Secret, Server, ServerConfig, ServerSession,
    SessionStats, Store,
};
use kenesh_workload::{Change, DEFAULT_SEED, Edit, Record, Workload};

pub const KIOSK: u32 = 10;

pub fn scope_of(municipality: u32) -> Scope {
    Scope::Municipality(MunicipalityId(Id::from_u128(u128::from(municipality))))
}

fn text(s: &str) -> Vec<u8> {
    postcard::to_allocvec(&LocalizedText::ky(s)).unwrap()
}

fn person(p: u64) -> Vec<u8> {
    postcard::to_allocvec(&PersonId(Id::from_u128(u128::from(p)))).unwrap()
}

/// The ops of a new record, one commit: the create (title, description, category, status),
/// then one set add per supporter naming that person in its envelope (so erasure reaches it).
pub fn create(b: &mut OpBuilder, r: &Record) -> Vec<Op> {
    b.scope(scope_of(r.municipality)).at(r.updated).persons(&[]);
    let fields = vec![
        (1, text(&r.title)),
        (2, text(&r.description)),
        (3, vec![r.category]),
        (9, vec![r.status]),
    ];
    let mut ops = vec![b.create(EntityKind::Issue, Id(r.id), fields).unwrap()];
    for p in &r.supporters {
        ops.push(add_supporter(b, r.id, *p));
    }
    ops
}

fn add_supporter(b: &mut OpBuilder, record: [u8; 16], p: u64) -> Op {
    b.persons(&[PersonId(Id::from_u128(u128::from(p)))]);
    let op = b.add(EntityKind::Issue, Id(record), 14, person(p)).unwrap();
    b.persons(&[]);
    op
}

/// What a side knows to make edits: each record's scope, status and last transition.
#[derive(Default, Clone)]
pub struct Tracker {
    records: BTreeMap<[u8; 16], (Scope, u8, Option<OpId>)>,
}

impl Tracker {
    pub fn learn(&mut self, r: &Record) {
        self.records
            .insert(r.id, (scope_of(r.municipality), r.status, None));
    }

    /// The ops of one edit (one commit).
    pub fn op(&mut self, b: &mut OpBuilder, e: &Edit) -> Vec<Op> {
        b.at(e.at);
        match &e.change {
            Change::NewRecord(r) => {
                self.learn(r);
                create(b, r)
            }
            Change::SetStatus { record, status } => {
                let (scope, from, last) = self.records.get(record).copied().unwrap();
                b.scope(scope);
                let seen: Vec<OpId> = last.into_iter().collect();
                let op = b
                    .transition(EntityKind::Issue, Id(*record), 9, from, *status, &seen)
                    .unwrap();
                self.records
                    .insert(*record, (scope, *status, Some(op.id())));
                vec![op]
            }
            Change::AddSupporter { record, supporter } => {
                let (scope, _, _) = self.records.get(record).copied().unwrap();
                b.scope(scope);
                vec![add_supporter(b, *record, *supporter)]
            }
        }
    }
}

/// A kiosk's grants over every municipality of the records (one for S, a rayon's ten for
/// L): read up to personal, write up to sensitive.
pub fn kiosk_grants(records: &[Record]) -> Grants {
    let mut grants = Grants::none();
    for m in records
        .iter()
        .map(|r| r.municipality)
        .collect::<std::collections::BTreeSet<_>>()
    {
        grants = grants
            .up_to(scope_of(m), Tier::Personal, Access::Read)
            .up_to(scope_of(m), Tier::Sensitive, Access::Write);
    }
    grants
}

/// A server holding `records`, each created by its own commit, and a kiosk enrolled with
/// [`kiosk_grants`].
pub fn world(
    records: &[Record],
    config: ServerConfig,
) -> (Server<MemStore>, Device<MemStore>, Tracker) {
    world_on(MemStore::new(), MemStore::new(), records, config)
}

/// [`world`] on the stores given: the server's on `server_store`, the kiosk's on
/// `kiosk_store` (both empty).
pub fn world_on<S: Store, K: Store>(
    server_store: S,
    kiosk_store: K,
    records: &[Record],
    config: ServerConfig,
) -> (Server<S>, Device<K>, Tracker) {
    let mut s = Server::open(server_store, Secret::from_bytes([0xee; 32]), config).unwrap();
    let mut tracker = Tracker::default();
    let mut fresh = fresh_keys(0xee);
    for r in records {
        let mut b = s.builder();
        let ops = create(&mut b, r)
            .into_iter()
            .map(|op| s.seal(op, &mut fresh).unwrap())
            .collect::<Vec<_>>();
        s.commit_local(&ops, r.updated).unwrap();
        tracker.learn(r);
    }
    s.sync().unwrap();
    let secret = Secret::from_bytes([KIOSK as u8; 32]);
    let grants = kiosk_grants(records);
    s.enrol(KIOSK, secret.public(), grants).unwrap();
    let d = Device::open(kiosk_store, secret, KIOSK, s.public()).unwrap();
    (s, d, tracker)
}

/// Payload keys for sealing, reproducible from a seed (an app draws them at random).
pub fn fresh_keys(seed: u8) -> impl FnMut() -> [u8; 32] {
    // splitmix64: distinct keys, no dependency (these are a benchmark's keys, not secrets).
    let mut x = u64::from(seed) << 56;
    move || {
        let mut key = [0u8; 32];
        for part in key.chunks_mut(8) {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            part.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
        }
        key
    }
}

/// Applies one side's edits as commits (one per edit), each op sealed as an app's are
/// (personal and sensitive values with the named persons' keys).
pub fn edit_kiosk<S: Store>(d: &mut Device<S>, t: &mut Tracker, edits: &[Edit]) {
    let mut fresh = fresh_keys(KIOSK as u8);
    for e in edits {
        let mut b = d.builder();
        let ops = t
            .op(&mut b, e)
            .into_iter()
            .map(|op| d.seal(op, &mut fresh).unwrap())
            .collect::<Vec<_>>();
        d.commit(&ops).unwrap();
    }
    d.sync().unwrap();
}

pub fn edit_server<S: Store>(s: &mut Server<S>, t: &mut Tracker, edits: &[Edit]) {
    let mut fresh = fresh_keys(0xef);
    for e in edits {
        let mut b = s.builder();
        let ops = t
            .op(&mut b, e)
            .into_iter()
            .map(|op| s.seal(op, &mut fresh).unwrap())
            .collect::<Vec<_>>();
        s.commit_local(&ops, e.at).unwrap();
    }
    s.sync().unwrap();
}

/// What one sync moved.
#[derive(Clone, Copy, Debug, Default)]
pub struct Traffic {
    pub up: u64,
    pub down: u64,
    pub messages_up: u64,
    pub messages_down: u64,
    pub round_trips: u32,
}

/// One sync through an in-memory link, at `now`.
pub fn sync<S: Store, T: Store>(
    d: &mut Device<S>,
    s: &mut Server<T>,
    seed: u8,
    now: u64,
) -> Traffic {
    let mut c = ClientSession::new(d, Caps::ZSTD.union(Caps::SNAPSHOT), [seed; 32]).unwrap();
    let mut ss = ServerSession::new(s, [seed ^ 0x5a; 32]).unwrap();
    c.start(d).unwrap();
    let mut rt = 0;
    let mut waiting_for_server = true;
    loop {
        let up = c.take_output();
        if !up.is_empty() {
            ss.receive(s, &up, now).unwrap();
            s.sync().unwrap();
            ss.poll(s).unwrap();
        }
        let down = ss.take_output();
        if !down.is_empty() {
            // A round trip is the device waiting for an answer to what it sent.
            if waiting_for_server {
                rt += 1;
            }
            c.receive(d, &down).unwrap();
        }
        waiting_for_server = !c.is_done();
        if c.is_done() {
            let rest = c.take_output();
            let _ = ss.receive(s, &rest, now);
            let (cs, sv): (SessionStats, SessionStats) = (c.stats(), ss.stats());
            return Traffic {
                up: cs.bytes_sent,
                down: sv.bytes_sent,
                messages_up: cs.messages_sent,
                messages_down: sv.messages_sent,
                round_trips: rt,
            };
        }
        assert!(!(up.is_empty() && down.is_empty()), "stalled");
    }
}

/// A kiosk's store of `records` commit records, as the store bench and the memory and open
/// profiles make it: `records / 5` issues created, each by its own commit, then the
/// workload's mix of edits (40% status changes, 40% supporters added, 20% new issues), one
/// commit each; synced. The kiosk is [`KIOSK`] (secret `KIOSK`×32), its server's secret
/// `ee`×32.
pub fn kiosk_store(records: usize) -> MemStore {
    let creates = records / 5;
    let w = Workload::with_records(creates, records - creates, 0, DEFAULT_SEED);
    let server = Secret::from_bytes([0xee; 32]).public();
    let secret = Secret::from_bytes([KIOSK as u8; 32]);
    let mut d = Device::open(MemStore::new(), secret, KIOSK, server).expect("a new device");
    let mut t = Tracker::default();
    for r in &w.initial {
        let mut b = d.builder();
        let ops = create(&mut b, r);
        d.commit(&ops).expect("commit");
        t.learn(r);
    }
    for e in &w.incremental.kiosk {
        let mut b = d.builder();
        let ops = t.op(&mut b, e);
        d.commit(&ops).expect("commit");
    }
    d.sync().expect("sync");
    d.store().clone()
}
