//! Deterministic simulation: a server, three kiosks and a partner, running the real sessions,
//! merge and stores (kenesh-sync's `SimDisk`, which drops and tears what was not synced),
//! over links cut at random bytes, with crashes and power losses of any replica, a server
//! restored from an older backup (a new epoch), clocks off by up to ±48 hours, one at 1970
//! and one far in the future, and a random workload of issues, supporters, status changes,
//! legal-aid intake and erasures; personal and sensitive values are sealed with per-person
//! keys, each replica's keys in a simulated key file that loses what was not synced. After
//! healing, every seed must show: replicas sharing a scope hold equal state hashes; no commit
//! acknowledged to its author is lost; no replica received a payload or a payload key outside
//! its read grants (its own keys excepted); no erased payload and no erased person's key
//! survives anywhere.
//!
//! Reproducible from one seed: a failure prints the command that replays it.
//! - `KENESH_SIM_SEED=n` runs that seed alone;
//! - `KENESH_SIM_SEEDS=a..b` runs a range (resumable by range);
//! - by default, seeds from 0 for `KENESH_SIM_SECONDS` (default 60) and at least 1,000.

use kenesh_merge::OpBuilder;
use kenesh_model::schema::EntityKind;
use kenesh_model::{Id, MunicipalityId, PersonId, Scope, Tier};
use kenesh_proto::Caps;
use kenesh_sync::keys::{KEY_LEN, KeyStore, PayloadKey};
use kenesh_sync::{
    Access, ClientSession, Device, Grants, KeyId, Secret, Server, ServerConfig, ServerSession,
    SimDisk, StoreError, SyncError,
};

/// A replica's key file on the simulated disk: puts and removals are staged until a sync; a
/// power loss keeps only what was synced (as `KeyFile` does). Shared, so it outlives the
/// replica that a crash drops.
#[derive(Clone, Default)]
struct SimKeys(std::sync::Arc<std::sync::Mutex<SimKeysInner>>);

#[derive(Default)]
struct SimKeysInner {
    durable: std::collections::BTreeMap<KeyId, [u8; KEY_LEN]>,
    live: std::collections::BTreeMap<KeyId, [u8; KEY_LEN]>,
}

impl SimKeys {
    fn lock(&self) -> std::sync::MutexGuard<'_, SimKeysInner> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
    /// Power loss: back to what was synced.
    fn crash(&self) {
        let mut k = self.lock();
        k.live = k.durable.clone();
    }
}

impl KeyStore for SimKeys {
    fn get(&self, id: &KeyId) -> Option<PayloadKey> {
        self.lock()
            .live
            .get(id)
            .map(|k| zeroize::Zeroizing::new(*k))
    }
    fn put(&mut self, id: KeyId, key: &[u8; KEY_LEN]) -> Result<bool, StoreError> {
        let mut k = self.lock();
        if id.tier == Tier::Public || k.live.contains_key(&id) {
            return Ok(false);
        }
        k.live.insert(id, *key);
        Ok(true)
    }
    fn remove(&mut self, id: &KeyId) -> Result<bool, StoreError> {
        Ok(self.lock().live.remove(id).is_some())
    }
    fn shred(&mut self, person: PersonId) -> Result<usize, StoreError> {
        let mut k = self.lock();
        let before = k.live.len();
        k.live.retain(|id, _| id.person != person);
        Ok(before - k.live.len())
    }
    fn ids(&self) -> Vec<KeyId> {
        self.lock().live.keys().copied().collect()
    }
    fn sync(&mut self) -> Result<(), StoreError> {
        let mut k = self.lock();
        k.durable = k.live.clone();
        Ok(())
    }
}

const HOUR: u64 = 3_600_000;
const START: u64 = 1_780_000_000_000;

/// splitmix64: small, seeded, enough for choosing faults.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn muni(n: u128) -> Scope {
    Scope::Municipality(MunicipalityId(Id::from_u128(n)))
}

const SERVER_SECRET: [u8; 32] = [0xee; 32];

struct Node {
    id: u32,
    scope: Scope,
    grants: Grants,
    device: Option<Device<SimDisk>>,
    disk: Vec<u8>,
    keys: SimKeys,
    clock_offset: i64,
}

impl Node {
    fn secret(&self) -> Secret {
        Secret::from_bytes([self.id as u8; 32])
    }
    fn device(&mut self) -> &mut Device<SimDisk> {
        if self.device.is_none() {
            let server = Secret::from_bytes(SERVER_SECRET).public();
            let d = Device::open(SimDisk::open(&self.disk), self.secret(), self.id, server)
                .expect("a device's own disk opens")
                .with_keys(Box::new(self.keys.clone()))
                .expect("its keys open");
            self.device = Some(d);
        }
        self.device.as_mut().expect("opened above")
    }
    /// Power loss: what was synced survives, plus a torn part of what was not.
    fn crash(&mut self, rng: &mut Rng) {
        if let Some(d) = self.device.take() {
            let unsynced = d.store().unsynced_bytes() as u64;
            self.disk = d.store().power_loss(rng.below(unsynced + 1) as usize);
            self.keys.crash();
        }
    }
}

struct World {
    rng: Rng,
    now: u64,
    server: Option<Server<SimDisk>>,
    server_disk: Vec<u8>,
    backups: Vec<Vec<u8>>,
    epoch: u64,
    nodes: Vec<Node>,
    erased: Vec<PersonId>,
    next_person: u128,
    faults: Faults,
    /// The server's key file: never restored from a backup (keys only move forward, so a
    /// shredded key never comes back).
    server_keys: SimKeys,
}

#[derive(Default, Debug, Clone, Copy)]
struct Faults {
    cuts: u64,
    device_crashes: u64,
    server_crashes: u64,
    restores: u64,
    syncs: u64,
}

fn config() -> ServerConfig {
    ServerConfig {
        // Small frames: more chunks, more places to cut.
        max_frame: 2_048,
        window: 2,
        snapshot_zstd_level: 3,
        ..ServerConfig::default()
    }
}

impl World {
    fn new(seed: u64) -> World {
        let mut rng = Rng(seed);
        let mut server = Server::open(SimDisk::new(), Secret::from_bytes(SERVER_SECRET), config())
            .expect("a new server opens");
        let kiosk = |scope| {
            Grants::none()
                .up_to(scope, Tier::Personal, Access::Read)
                .up_to(scope, Tier::Sensitive, Access::Write)
        };
        let plans = [
            (10, muni(1), kiosk(muni(1))),
            (11, muni(1), kiosk(muni(1))),
            (12, muni(2), kiosk(muni(2))),
            (
                50,
                muni(1),
                Grants::none().with(muni(1), Tier::Public, Access::Read),
            ),
            // Staff of municipality 1 (a console behind a PIN): edits and erasures.
            (
                60,
                muni(1),
                kiosk(muni(1)).up_to(muni(1), Tier::Sensitive, Access::Read),
            ),
        ];
        let mut nodes = Vec::new();
        for (i, (id, scope, grants)) in plans.into_iter().enumerate() {
            let secret = Secret::from_bytes([id as u8; 32]);
            server
                .enrol(id, secret.public(), grants.clone())
                .expect("enrol");
            // Clocks: ±48 h, one kiosk at 1970, one far in the future.
            let clock_offset = match (i, rng.below(8)) {
                (0, 0) => -(START as i64) + 1,
                (1, 0) => 50 * 365 * 24 * HOUR as i64,
                _ => rng.below(96 * HOUR) as i64 - 48 * HOUR as i64,
            };
            nodes.push(Node {
                id,
                scope,
                grants,
                device: None,
                disk: Vec::new(),
                keys: SimKeys::default(),
                clock_offset,
            });
        }
        World {
            rng,
            now: START,
            server: Some(server),
            server_disk: Vec::new(),
            backups: Vec::new(),
            epoch: 1,
            nodes,
            erased: Vec::new(),
            next_person: 1_000,
            faults: Faults::default(),
            server_keys: SimKeys::default(),
        }
    }

    fn server(&mut self) -> &mut Server<SimDisk> {
        if self.server.is_none() {
            let s = Server::open(
                SimDisk::open(&self.server_disk),
                Secret::from_bytes(SERVER_SECRET),
                config(),
            )
            .expect("the server's disk opens after a crash")
            .with_keys(Box::new(self.server_keys.clone()))
            .expect("its keys open");
            self.server = Some(s);
        }
        self.server.as_mut().expect("opened above")
    }

    fn person(&mut self) -> PersonId {
        self.next_person += 1;
        PersonId(Id::from_u128(self.next_person))
    }

    /// A kiosk makes one edit as one commit.
    fn edit(&mut self, k: usize) {
        let p = self.person();
        let pick = self.rng.below(100);
        let issue_pick = self.rng.next();
        let status = self.rng.below(7) as u8;
        let node = &mut self.nodes[k];
        let at = (self.now as i64 + node.clock_offset).max(1) as u64;
        let scope = node.scope;
        let id_seed = u128::from(node.id) << 64 | u128::from(self.rng.next() >> 1);
        let d = node.device();
        // Like an app reloading from its store: the issues this replica holds in its scope
        // (a power loss may have taken one it made, so the app's memory is not trusted).
        let issues: Vec<Id> = d
            .state()
            .records(EntityKind::Issue)
            .filter(|r| r.scope == scope)
            .map(|r| r.id)
            .collect();
        let mut b: OpBuilder = d.builder();
        b.scope(scope).at(at);
        let ops = if pick < 35 || issues.is_empty() {
            let id = Id::from_u128(id_seed);
            vec![
                b.create(
                    EntityKind::Issue,
                    id,
                    vec![(1, b"title".to_vec()), (9, vec![1])],
                )
                .expect("op"),
            ]
        } else if pick < 65 {
            let id = issues[(issue_pick % issues.len() as u64) as usize];
            b.persons(&[p]);
            let payload = postcard::to_allocvec(&p).expect("encode");
            vec![b.add(EntityKind::Issue, id, 14, payload).expect("op")]
        } else if pick < 90 {
            let id = issues[(issue_pick % issues.len() as u64) as usize];
            vec![
                b.transition(EntityKind::Issue, id, 9, 1, status, &[])
                    .expect("op"),
            ]
        } else {
            b.persons(&[p]);
            vec![
                b.create(
                    EntityKind::LegalAidRequest,
                    Id::from_u128(id_seed),
                    vec![(1, b"CANARY intake".to_vec())],
                )
                .expect("op"),
            ]
        };
        // Sealed as an app seals them: a person's values with keys of that person.
        let rng = &mut self.rng;
        let mut fresh = || {
            let mut k = [0u8; 32];
            for c in k.chunks_mut(8) {
                c.copy_from_slice(&rng.next().to_le_bytes());
            }
            k
        };
        let ops: Result<Vec<_>, _> = ops.into_iter().map(|o| d.seal(o, &mut fresh)).collect();
        let ops = match ops {
            Ok(ops) => ops,
            // A person this replica knows was erased: nothing is written about them.
            Err(SyncError::Key(kenesh_sync::KeyError::Erased(_))) => return,
            Err(e) => panic!("sealing failed: {e}"),
        };
        d.commit(&ops).expect("a commit of the device's own ops");
        if self.rng.chance(70) {
            let _ = self.nodes[k].device().sync();
        }
    }

    /// Staff (node 60) erase a person someone named — a supporter, an applicant. The erase
    /// op is a record action on the person: its create must be known to the server, so the
    /// staff console creates the person record first when it has not.
    fn erase(&mut self) {
        let victim = PersonId(Id::from_u128(1_001 + u128::from(self.rng.below(40))));
        let staff = self.nodes.iter().position(|n| n.id == 60).expect("staff");
        let node = &mut self.nodes[staff];
        let at = (self.now as i64 + node.clock_offset).max(1) as u64;
        let d = node.device();
        let mut b = d.builder();
        b.scope(muni(1)).at(at).persons(&[victim]);
        let person = b.create(EntityKind::Person, victim.0, vec![]).expect("op");
        let erase = b.erase(victim).expect("op");
        d.commit(&[person, erase]).expect("commit");
        self.erased.push(victim);
    }

    /// One session between node `k` and the server, cut at a random byte with `cut_percent`.
    /// Returns whether it completed.
    fn sync(&mut self, k: usize, cut_percent: u64) -> bool {
        self.faults.syncs += 1;
        let seed = self.rng.next();
        // Most exchanges here are a few kilobytes: cut within them.
        let cut = self.rng.chance(cut_percent).then(|| self.rng.below(1_500));
        let caps = if self.rng.chance(50) {
            Caps(Caps::ZSTD.0 | Caps::SNAPSHOT.0)
        } else {
            Caps::ZSTD
        };
        let now = self.now;
        self.server();
        let server = self.server.as_mut().expect("open");
        let d = self.nodes[k].device();
        let Ok(mut c) = ClientSession::new(
            d,
            caps,
            seed.to_le_bytes().repeat(4).try_into().expect("32"),
        ) else {
            return false;
        };
        let mut ss = ServerSession::new(server, [(seed >> 8) as u8; 32]).expect("session");
        if c.start(d).is_err() {
            return false;
        }
        let mut passed = 0u64;
        for _ in 0..2_000 {
            let up = c.take_output();
            let (up, cut_now) = clip(&up, &mut passed, cut);
            let _ = ss.receive(server, up, now);
            if cut_now {
                self.faults.cuts += 1;
                return false;
            }
            let _ = server.sync();
            let _ = ss.poll(server);
            let down = ss.take_output();
            let (down, cut_now) = clip(&down, &mut passed, cut);
            match c.receive(d, down) {
                Ok(()) => {}
                Err(SyncError::Closed) => return c.is_done(),
                Err(e) => panic!("device {} failed: {e}", self.nodes[k].id),
            }
            if cut_now {
                self.faults.cuts += 1;
                return false;
            }
            if c.is_done() {
                let rest = c.take_output();
                let _ = ss.receive(server, &rest, now);
                return true;
            }
            if up.is_empty() && down.is_empty() {
                return false;
            }
        }
        false
    }

    fn crash_server(&mut self) {
        if let Some(s) = self.server.take() {
            let unsynced = s.store().unsynced_bytes() as u64;
            self.server_disk = s.store().power_loss(self.rng.below(unsynced + 1) as usize);
            self.server_keys.crash();
            self.faults.server_crashes += 1;
        }
    }

    fn take_backup(&mut self) {
        let image = self.server().store().power_loss(0);
        self.backups.push(image);
    }

    fn restore(&mut self) {
        if self.backups.is_empty() {
            return;
        }
        let i = self.rng.below(self.backups.len() as u64) as usize;
        let image = self.backups[i].clone();
        self.server = None;
        self.epoch += 1;
        let s = Server::restore(
            SimDisk::open(&image),
            Secret::from_bytes(SERVER_SECRET),
            config(),
            self.epoch,
        )
        .expect("a backup opens")
        .with_keys(Box::new(self.server_keys.clone()))
        .expect("its keys open");
        self.server_disk = s.store().power_loss(0);
        self.server = Some(s);
        // Backups older than the restored one stay valid; newer ones belong to a lost epoch.
        self.backups.truncate(i + 1);
        self.faults.restores += 1;
    }

    fn step(&mut self) {
        self.now += self.rng.below(2 * HOUR);
        let k = self.rng.below(self.nodes.len() as u64) as usize;
        match self.rng.below(100) {
            0..=34 if self.nodes[k].id != 50 => self.edit(k),
            0..=39 => self.erase(),
            40..=79 => {
                let cut = self.rng.below(31);
                self.sync(k, cut);
            }
            80..=87 => {
                self.nodes[k].crash(&mut self.rng);
                self.faults.device_crashes += 1;
            }
            88..=93 => self.crash_server(),
            94..=96 => self.take_backup(),
            _ => self.restore(),
        }
    }

    /// Heals: every node syncs without faults until a whole round changes nothing.
    fn heal(&mut self) {
        for _ in 0..8 {
            for k in 0..self.nodes.len() {
                let mut done = false;
                for _ in 0..20 {
                    if self.sync(k, 0) {
                        done = true;
                        break;
                    }
                }
                assert!(
                    done,
                    "node {} could not complete a sync after healing",
                    self.nodes[k].id
                );
            }
        }
    }

    fn check(&mut self) {
        let server_hashes = self.server().state().state_hashes();
        let server = self.server.take().expect("open");
        // The erasures that happened: a staff console may have lost one to a power loss
        // before it was sent (then it never happened).
        let erased: Vec<PersonId> = self
            .erased
            .iter()
            .copied()
            .filter(|p| server.state().is_erased(*p))
            .collect();
        for node in &mut self.nodes {
            let id = node.id;
            let (scope, grants) = (node.scope, node.grants.clone());
            let d = node.device();
            // Equal state hashes for the scope it reads, every tier.
            if grants.reads_scope(scope) {
                for tier in [Tier::Public, Tier::Personal, Tier::Sensitive] {
                    if d.state().state_hash(scope, tier) != server.state().state_hash(scope, tier) {
                        let ids = |st: &kenesh_merge::State| -> std::collections::BTreeSet<_> {
                            st.all_ops()
                                .filter(|o| {
                                    o.envelope().scope == scope && o.envelope().tier == tier
                                })
                                .map(|o| (o.id(), o.digest()))
                                .collect()
                        };
                        let (a, b) = (ids(d.state()), ids(server.state()));
                        eprintln!(
                            "node {id} {tier:?}: only on the node {:?}",
                            a.difference(&b).map(|x| x.0).collect::<Vec<_>>()
                        );
                        eprintln!(
                            "node {id} {tier:?}: only on the server {:?}",
                            b.difference(&a).map(|x| x.0).collect::<Vec<_>>()
                        );
                        eprintln!(
                            "server alarms {:?}; held {}",
                            server.alarms(),
                            server.held()
                        );
                    }
                    assert_eq!(
                        d.state().state_hash(scope, tier),
                        server.state().state_hash(scope, tier),
                        "node {id}: {tier:?} hash of its scope differs from the server's"
                    );
                }
            }
            // Nothing acknowledged lost: every own op is at the server.
            assert_eq!(
                d.acked_seq(),
                d.own_seq(),
                "node {id}: not all acknowledged"
            );
            assert!(
                server.durable_seq(id) >= d.own_seq(),
                "node {id}: the server lost acknowledged ops"
            );
            for op in d.state().all_ops().filter(|o| o.envelope().origin.0 == id) {
                assert!(
                    server.state().op(op.id()).is_some(),
                    "node {id}: op {:?} lost",
                    op.id()
                );
            }
            // No payload outside its read grants (its own unpurged intake excepted).
            for commit in d.received_commits().expect("read") {
                for op in commit.ops() {
                    let e = op.envelope();
                    assert!(
                        grants.reads_scope(e.scope) || e.action == kenesh_merge::Action::ERASE,
                        "node {id}: an op of a scope it does not read"
                    );
                    if op.payload().is_some() {
                        assert!(
                            grants.may_read(e.scope, e.tier),
                            "node {id}: a payload it may not read"
                        );
                    }
                }
            }
            // No payload key outside its read grants (its own excepted), none of an erased
            // person.
            for k in d.keys().ids() {
                assert!(
                    k.origin == id || grants.may_read(scope, k.tier),
                    "node {id}: a {:?} key it may not read",
                    k.tier
                );
                assert!(
                    !erased.contains(&k.person),
                    "node {id}: an erased person's key survives"
                );
            }
            // No erased payload survives.
            for op in d.state().all_ops() {
                if op.envelope().persons.iter().any(|p| erased.contains(p)) {
                    assert!(
                        op.payload().is_none_or(|p| p.bytes.is_empty()),
                        "node {id}: an erased person's payload survives"
                    );
                }
            }
        }
        assert!(
            server
                .keys()
                .ids()
                .iter()
                .all(|k| !erased.contains(&k.person)),
            "server: an erased person's key survives"
        );
        for op in server.state().all_ops() {
            if op.envelope().persons.iter().any(|p| erased.contains(p)) {
                assert!(
                    op.payload().is_none_or(|p| p.bytes.is_empty()),
                    "server: an erased payload survives"
                );
            }
        }
        assert!(!server_hashes.is_empty());
        self.server = Some(server);
    }
}

fn clip<'a>(bytes: &'a [u8], passed: &mut u64, cut: Option<u64>) -> (&'a [u8], bool) {
    match cut {
        Some(c) if *passed + bytes.len() as u64 >= c && !bytes.is_empty() => {
            let keep = c.saturating_sub(*passed) as usize;
            *passed = c;
            (&bytes[..keep.min(bytes.len())], true)
        }
        _ => {
            *passed += bytes.len() as u64;
            (bytes, false)
        }
    }
}

fn run(seed: u64) -> Faults {
    let mut w = World::new(seed);
    for _ in 0..40 {
        w.step();
    }
    w.heal();
    w.check();
    w.faults
}

fn run_reporting(seed: u64) -> Faults {
    match std::panic::catch_unwind(|| run(seed)) {
        Ok(f) => f,
        Err(e) => {
            eprintln!(
                "simulation seed {seed} failed; replay it with:\n  \
                 KENESH_SIM_SEED={seed} cargo test -p kenesh-tests --test simulation -- --nocapture"
            );
            std::panic::resume_unwind(e)
        }
    }
}

#[test]
fn seeded_simulation_of_faults_converges_and_keeps_every_promise() {
    let seeds: Box<dyn Iterator<Item = u64>> = if let Ok(s) = std::env::var("KENESH_SIM_SEED") {
        let s: u64 = s.parse().expect("KENESH_SIM_SEED is a number");
        Box::new(s..=s)
    } else if let Ok(r) = std::env::var("KENESH_SIM_SEEDS") {
        let (a, b) = r.split_once("..").expect("KENESH_SIM_SEEDS is a..b");
        Box::new(a.parse::<u64>().expect("a")..b.parse::<u64>().expect("b"))
    } else {
        Box::new(0..)
    };
    let budget = std::time::Duration::from_secs(
        std::env::var("KENESH_SIM_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(60),
    );
    let single =
        std::env::var("KENESH_SIM_SEED").is_ok() || std::env::var("KENESH_SIM_SEEDS").is_ok();
    let started = std::time::Instant::now();
    let mut total = Faults::default();
    let mut count = 0u64;
    for seed in seeds {
        if !single && count >= 1_000 && started.elapsed() > budget {
            break;
        }
        let f = run_reporting(seed);
        total.cuts += f.cuts;
        total.device_crashes += f.device_crashes;
        total.server_crashes += f.server_crashes;
        total.restores += f.restores;
        total.syncs += f.syncs;
        count += 1;
    }
    println!(
        "simulation: {count} seeds in {:?}; {} sessions, {} links cut, {} device power losses, \
         {} server power losses, {} restores from backup",
        started.elapsed(),
        total.syncs,
        total.cuts,
        total.device_crashes,
        total.server_crashes,
        total.restores
    );
    assert!(count > 0);
}
