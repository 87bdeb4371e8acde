//! A small world for session tests: a server, devices, and an in-memory link that can be cut
//! at any byte.
#![allow(dead_code, unreachable_pub)]

use kenesh_merge::{Op, OpBuilder};
use kenesh_model::schema::EntityKind;
use kenesh_model::{Id, MunicipalityId, Scope, Tier};
use kenesh_proto::Caps;
use kenesh_sync::{
    Access, ClientSession, Device, Grants, MemStore, Secret, Server, ServerConfig, ServerSession,
    SessionStats, Store, SyncError,
};

pub const NOW: u64 = 1_780_000_000_000;

pub fn muni(n: u128) -> Scope {
    Scope::Municipality(MunicipalityId(Id::from_u128(n)))
}

pub fn kiosk_grants(scope: Scope) -> Grants {
    Grants::none()
        .up_to(scope, Tier::Personal, Access::Read)
        .up_to(scope, Tier::Sensitive, Access::Write)
}

pub fn server() -> Server<MemStore> {
    Server::open(
        MemStore::new(),
        Secret::from_bytes([0xee; 32]),
        ServerConfig::default(),
    )
    .unwrap()
}

pub fn device<T: Store>(server: &mut Server<T>, id: u32, grants: Grants) -> Device<MemStore> {
    let secret = Secret::from_bytes([id as u8; 32]);
    server.enrol(id, secret.public(), grants).unwrap();
    Device::open(MemStore::new(), secret, id, server.public()).unwrap()
}

/// Makes `n` issue records on a device, one commit each, in `scope`.
pub fn make_issues<S: Store>(d: &mut Device<S>, scope: Scope, n: usize, first_id: u128) -> Vec<Id> {
    let mut ids = Vec::new();
    for i in 0..n {
        let mut b = d.builder();
        b.scope(scope).at(NOW + i as u64);
        let id = Id::from_u128(first_id + i as u128);
        let title = format!("Көпүрө бузулду #{i}: айыл өкмөтүнө кайрылуу").into_bytes();
        let op = b
            .create(EntityKind::Issue, id, vec![(1, title), (9, vec![1])])
            .unwrap();
        d.commit(&[op]).unwrap();
        ids.push(id);
    }
    ids
}

/// `n` pseudo-random Kyrgyz-looking words (so compression does not flatter the test).
pub fn words(seed: u64, n: usize) -> String {
    const SYL: [&str; 24] = [
        "ка", "ба", "жол", "суу", "мек", "теп", "көп", "үр", "өк", "мөт", "дем", "ил", "ге", "жа",
        "ран", "дар", "ма", "се", "ле", "тaш", "тан", "ды", "айыл", "ң",
    ];
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut out = String::new();
    for w in 0..n {
        if w > 0 {
            out.push(' ');
        }
        for _ in 0..2 + (x >> 60) % 3 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            out.push_str(SYL[((x >> 33) % SYL.len() as u64) as usize]);
        }
    }
    out
}

/// A builder for the server's own ops.
pub fn server_builder<S: Store>(s: &Server<S>, scope: Scope) -> OpBuilder {
    let (seq, hlc) = s.next_local();
    let mut b = OpBuilder::resume(ServerConfig::default().device, seq, hlc);
    b.scope(scope).salt([seq as u8; 16]).at(NOW);
    b
}

pub fn server_issues<S: Store>(s: &mut Server<S>, scope: Scope, n: usize, first_id: u128) {
    for i in 0..n {
        let mut b = server_builder(s, scope);
        let id = Id::from_u128(first_id + i as u128);
        let title = words(first_id as u64 * 7919 + i as u64, 12).into_bytes();
        let op: Op = b
            .create(EntityKind::Issue, id, vec![(1, title), (9, vec![1])])
            .unwrap();
        s.commit_local(&[op], NOW).unwrap();
    }
    s.sync().unwrap();
}

/// How a sync ended.
#[derive(Debug)]
pub enum Outcome {
    /// Both sides finished.
    Done {
        client: SessionStats,
        server: SessionStats,
        round_trips: u32,
    },
    /// The link was cut after this many bytes.
    Cut,
    /// A side failed.
    Failed(SyncError),
}

/// Runs one session over an in-memory link; `cut` cuts the link once that many bytes (both
/// directions counted in the order they travel) have passed. Returns the outcome and the
/// bytes that crossed.
pub fn sync<S: Store, T: Store>(
    d: &mut Device<S>,
    s: &mut Server<T>,
    seed: u8,
    cut: Option<u64>,
) -> (Outcome, u64) {
    sync_with(d, s, seed, cut, Caps::ZSTD)
}

/// As [`sync`], with the capabilities the device offers.
pub fn sync_with<S: Store, T: Store>(
    d: &mut Device<S>,
    s: &mut Server<T>,
    seed: u8,
    cut: Option<u64>,
    caps: Caps,
) -> (Outcome, u64) {
    let mut passed = 0u64;
    let mut c = match ClientSession::new(d, caps, [seed; 32]) {
        Ok(c) => c,
        Err(e) => return (Outcome::Failed(e), 0),
    };
    let mut ss = ServerSession::new(s, [seed.wrapping_add(1); 32]).unwrap();
    if let Err(e) = c.start(d) {
        return (Outcome::Failed(e), 0);
    }
    let mut round_trips = 0;
    let mut server_failed = None;
    for _ in 0..10_000 {
        let up = c.take_output();
        if !up.is_empty() {
            let (bytes, was_cut) = take(&up, &mut passed, cut);
            if let Err(e) = ss.receive(s, bytes, NOW) {
                server_failed = Some(e);
            }
            if was_cut {
                return (Outcome::Cut, passed);
            }
            s.sync().unwrap();
            let _ = ss.poll(s);
        }
        let down = ss.take_output();
        if !down.is_empty() {
            round_trips += 1;
            let (bytes, was_cut) = take(&down, &mut passed, cut);
            if let Err(e) = c.receive(d, bytes) {
                return (Outcome::Failed(e), passed);
            }
            if was_cut {
                return (Outcome::Cut, passed);
            }
        }
        if let Some(e) = server_failed.take() {
            return (Outcome::Failed(e), passed);
        }
        if c.is_done() {
            let up = c.take_output();
            let (bytes, was_cut) = take(&up, &mut passed, cut);
            let _ = ss.receive(s, bytes, NOW);
            if was_cut {
                return (Outcome::Cut, passed);
            }
            return (
                Outcome::Done {
                    client: c.stats(),
                    server: ss.stats(),
                    round_trips,
                },
                passed,
            );
        }
        if up.is_empty() && down.is_empty() {
            return (Outcome::Failed(SyncError::Unexpected("stalled")), passed);
        }
    }
    (
        Outcome::Failed(SyncError::Unexpected("too many steps")),
        passed,
    )
}

fn take<'a>(bytes: &'a [u8], passed: &mut u64, cut: Option<u64>) -> (&'a [u8], bool) {
    match cut {
        Some(c) if *passed + bytes.len() as u64 >= c => {
            let keep = (c - *passed) as usize;
            *passed = c;
            (&bytes[..keep], true)
        }
        _ => {
            *passed += bytes.len() as u64;
            (bytes, false)
        }
    }
}

/// Syncs until done (retrying after failures that are not refusals).
pub fn sync_ok<S: Store, T: Store>(
    d: &mut Device<S>,
    s: &mut Server<T>,
    seed: u8,
) -> (SessionStats, SessionStats, u32) {
    match sync(d, s, seed, None) {
        (
            Outcome::Done {
                client,
                server,
                round_trips,
            },
            _,
        ) => (client, server, round_trips),
        (other, _) => panic!("sync did not finish: {other:?}"),
    }
}
