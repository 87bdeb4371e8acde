//! Power loss at random points: redb on a simulated disk that drops every write not flushed
//! and tears the last one. Whatever the cut, every record reported durable is there after
//! reopening, nothing past what a sync could have committed is, the file opens (redb's
//! repair may run), and a server replayed from it equals a replay of its durable records.
//!
//! `KENESH_POWER_CUTS` sets how many cut points (default 1,000), `KENESH_POWER_SEED` the
//! first seed (printed).

mod common;

use std::collections::BTreeMap;

use common::*;
use kenesh_model::{Scope, Tier};
use kenesh_store::RedbStore;
use kenesh_store::sim::SimFile;
use kenesh_sync::{MemStore, Secret, Server, ServerConfig, Store};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

type Hashes = BTreeMap<(Scope, Tier), [u8; 32]>;

fn secret() -> Secret {
    Secret::from_bytes([0xee; 32])
}

/// The records of a server that enrolled devices, ran sessions and made its own commits.
fn history() -> Vec<Vec<u8>> {
    let mut s = server();
    let mut devices: Vec<_> = (10..13)
        .map(|id| device(&mut s, id, kiosk_grants(muni(1))))
        .collect();
    for round in 0..2u128 {
        for (i, d) in devices.iter_mut().enumerate() {
            make_issues(d, muni(1), 3, 1000 * (round + 1) + 100 * i as u128);
            sync_ok(d, &mut s, i as u8 * 2 + round as u8 * 16);
        }
        server_issues(&mut s, muni(1), 2, 50_000 + round * 10);
    }
    s.sync().unwrap();
    s.store()
        .read(1, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|(_, r)| r)
        .collect()
}

/// What a server replayed from these records holds (or why it would not open).
fn replay(records: &[Vec<u8>]) -> Result<(usize, Hashes), String> {
    let mut m = MemStore::new();
    for r in records {
        m.stage(r).unwrap();
    }
    m.sync().unwrap();
    Server::open(m, secret(), ServerConfig::default())
        .map(|s| (s.state().len(), s.state().state_hashes()))
        .map_err(|e| format!("{e:?}"))
}

/// Batch sizes: the records are appended and synced in these groups.
fn batches(seed: u64, total: usize) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0ba7_c4e5);
    let mut out = Vec::new();
    let mut left = total;
    while left > 0 {
        let n = rng.random_range(1..=5).min(left);
        out.push(n);
        left -= n;
    }
    out
}

/// What a run reported before the machine died.
struct Run {
    /// The last durable mark a sync returned.
    acked: u64,
    /// The end of the sync that failed (it may or may not have committed).
    in_flight: Option<u64>,
    /// Whether the store was created (its first commit returned).
    created: bool,
}

/// Appends `records` in `batches` on `file`; stops at the first failure.
fn run(file: &SimFile, records: &[Vec<u8>], batches: &[usize]) -> Run {
    let mut out = Run {
        acked: 0,
        in_flight: None,
        created: false,
    };
    let Ok(mut store) = RedbStore::with_backend(file.clone()) else {
        return out;
    };
    out.created = true;
    let mut at = 0;
    for &n in batches {
        for r in &records[at..at + n] {
            store.stage(r).unwrap();
        }
        at += n;
        match store.sync() {
            Ok(mark) => {
                assert_eq!(mark, at as u64);
                out.acked = mark;
            }
            Err(_) => {
                out.in_flight = Some(at as u64);
                return out;
            }
        }
    }
    out
}

#[test]
fn power_loss_at_random_points_loses_nothing_durable() {
    let cuts: u64 = std::env::var("KENESH_POWER_CUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let first_seed: u64 = std::env::var("KENESH_POWER_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x6b65_6e65_7368);
    println!("power loss: {cuts} cut points from seed {first_seed}");
    let records = history();
    let mut replays: BTreeMap<usize, Result<(usize, Hashes), String>> = BTreeMap::new();
    let mut ops_of: BTreeMap<u64, u64> = BTreeMap::new();
    let (mut repaired_past_ack, mut torn, mut lossy, mut lost_in_flight) = (0, 0, 0, 0);
    let mut unborn = 0;
    let started = std::time::Instant::now();
    for i in 0..cuts {
        let seed = first_seed.wrapping_add(i);
        let workload = seed / 25;
        let plan = batches(workload, records.len());
        // How many disk operations the whole run takes (deterministic per workload).
        let total_ops = *ops_of.entry(workload).or_insert_with(|| {
            let f = SimFile::new();
            let r = run(&f, &records, &plan);
            assert_eq!(r.acked, records.len() as u64);
            f.ops()
        });
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let die_after = rng.random_range(0..total_ops);
        let file = SimFile::new();
        file.die_after(die_after);
        let outcome = run(&file, &records, &plan);
        // The platter after the power loss: strict (every unflushed write gone but a torn
        // last one) for most cuts; for one in four, any unflushed write may have reached
        // the platter (a disk that reorders its cache), the last kept one torn.
        let pending = file.pending();
        let reorder = rng.random_ratio(1, 4);
        let kept: Vec<bool> = (0..pending)
            .map(|j| {
                if reorder {
                    rng.random_bool(0.5)
                } else {
                    j + 1 == pending
                }
            })
            .collect();
        let last_kept = kept.iter().rposition(|k| *k);
        let tear = match last_kept.and_then(|j| file.pending_write_len(j)) {
            Some(len) => {
                let t = rng.random_range(0..=len);
                if t < len {
                    torn += 1;
                }
                t
            }
            None => 0,
        };
        if reorder {
            lossy += 1;
        }
        let image = file.power_loss(|j| kept[j], tear);
        let ctx = format!(
            "seed {seed}: died after {die_after} of {total_ops} ops, acked {}, in flight {:?}, \
             {pending} unflushed ops, reorder {reorder}, tear {tear}",
            outcome.acked, outcome.in_flight
        );
        let mut store = match RedbStore::with_backend(SimFile::from_image(image)) {
            Ok(s) => s,
            // Power lost while the file was being made: it may be garbage, and nothing was
            // ever acknowledged. (`RedbStore::open` makes a file under another name and
            // renames it when made, so a path never holds such a file.)
            Err(_) if !outcome.created => {
                unborn += 1;
                continue;
            }
            Err(e) => panic!("{ctx}: the file does not open: {e}"),
        };
        assert!(store.check_integrity().unwrap(), "{ctx}: integrity");
        let d = store.durable();
        assert!(
            d >= outcome.acked,
            "{ctx}: durable {d} lost acknowledged records"
        );
        assert!(
            d == outcome.acked || Some(d) == outcome.in_flight,
            "{ctx}: durable {d} is neither the mark nor the end of the sync in flight"
        );
        if d > outcome.acked {
            repaired_past_ack += 1;
        } else if outcome.in_flight.is_some() {
            lost_in_flight += 1;
        }
        assert_eq!(store.staged(), d, "{ctx}");
        let got: Vec<Vec<u8>> = store
            .read(0, usize::MAX)
            .unwrap()
            .into_iter()
            .map(|(_, r)| r)
            .collect();
        assert_eq!(got.as_slice(), &records[..d as usize], "{ctx}: records");
        let want = replays
            .entry(d as usize)
            .or_insert_with(|| replay(&records[..d as usize]))
            .clone();
        let server = Server::open(store, secret(), ServerConfig::default())
            .unwrap_or_else(|e| panic!("{ctx}: the server does not open: {e:?}"));
        let got = Ok((server.state().len(), server.state().state_hashes()));
        assert_eq!(got, want, "{ctx}: the replayed server");
        // The file is usable: it takes the next record.
        let mut store = server.into_store();
        let next = store.staged() + 1;
        assert_eq!(store.stage(b"after the power loss").unwrap(), next, "{ctx}");
        assert_eq!(store.sync().unwrap(), next, "{ctx}");
    }
    println!(
        "power loss: {cuts} cuts over {} records in {:.1?}: {torn} torn writes, {lossy} with \
         reordered unflushed writes, {repaired_past_ack} syncs in flight found committed, \
         {lost_in_flight} found not committed, {unborn} files never made; {} distinct durable prefixes replayed",
        records.len(),
        started.elapsed(),
        replays.len()
    );
}
