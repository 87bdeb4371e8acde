//! A device on redb holds a paged state: it opens from its last checkpoint and replays only
//! the records after it. Power lost at random points while it commits and syncs (redb on
//! the simulated disk that drops unflushed writes and tears the last): after reopening,
//! every own commit a sync reported durable is there, the device's state equals the state
//! a full replay of its durable records gives in memory, and it goes on committing.
//!
//! `KENESH_PAGED_CUTS` sets how many cut points (default 1,000), `KENESH_PAGED_SEED` the
//! first seed (printed).

mod common;

use common::*;
use kenesh_merge::State;
use kenesh_store::RedbStore;
use kenesh_store::sim::SimFile;
use kenesh_sync::{Device, MemStore, Secret, Server, Store};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const KIOSK: u32 = 10;

fn secret() -> Secret {
    Secret::from_bytes([KIOSK as u8; 32])
}

/// A server holding other devices' and its own issues, with the kiosk enrolled.
fn world() -> Server<MemStore> {
    let mut s = server();
    let mut other = device(&mut s, 11, kiosk_grants(muni(1)));
    make_issues(&mut other, muni(1), 40, 5_000);
    sync_ok(&mut other, &mut s, 3);
    server_issues(&mut s, muni(1), 30, 9_000);
    s.enrol(KIOSK, secret().public(), kiosk_grants(muni(1)))
        .unwrap();
    s
}

/// What a full replay of a store's durable records gives, in memory.
fn replayed<S: Store>(store: &S, server: &Server<MemStore>) -> State {
    let mut m = MemStore::new();
    for (_, r) in store.read(1, usize::MAX).unwrap() {
        m.stage(&r).unwrap();
    }
    m.sync().unwrap();
    let d = Device::open(m, secret(), KIOSK, server.public()).unwrap();
    assert!(!d.state().is_paged());
    d.state().clone()
}

/// Rounds of own commits and sessions with the server on `file`, until the disk dies or
/// the rounds end; returns the highest own seq a sync reported durable.
fn run(file: &SimFile, server: &mut Server<MemStore>, rounds: usize, seed: u64) -> u64 {
    let Ok(store) = RedbStore::with_backend(file.clone()) else {
        return 0;
    };
    let Ok(mut d) = Device::open(store, secret(), KIOSK, server.public()) else {
        return 0;
    };
    // A checkpoint at every sync, however small the state.
    d.checkpoint_from(0);
    let mut durable_seq = 0;
    for round in 0..rounds {
        make_issues(
            &mut d,
            muni(1),
            3,
            100_000 + seed as u128 * 1_000 + round as u128 * 10,
        );
        if d.sync().is_err() {
            return durable_seq;
        }
        durable_seq = d.own_seq();
        if round % 2 == 1 {
            let (outcome, _) = sync(&mut d, server, round as u8, None);
            if !matches!(outcome, Outcome::Done { .. }) {
                return durable_seq;
            }
        }
    }
    durable_seq
}

#[test]
fn a_paged_device_opens_from_its_checkpoint() {
    let mut s = world();
    let file = SimFile::new();
    assert_eq!(run(&file, &mut s, 6, 1), 18);
    let d = Device::open(
        RedbStore::with_backend(file.clone()).unwrap(),
        secret(),
        KIOSK,
        s.public(),
    )
    .unwrap();
    assert!(d.state().is_paged());
    let saved = d
        .store()
        .checkpoint()
        .unwrap()
        .expect("a checkpoint was written");
    assert_eq!(
        saved.position,
        d.store().durable(),
        "the last sync wrote one"
    );
    // Nothing in memory until asked: the checkpoint covers every record.
    assert_eq!(d.state().resident(), kenesh_merge::Resident::default());
    let memory = replayed(d.store(), &s);
    assert_eq!(d.state().snapshot(), memory.snapshot());
    assert_eq!(d.state().len(), memory.len());
    assert_eq!(d.own_seq(), 18);
    assert_eq!(
        d.state().len(),
        18 + 40 + 30,
        "own, the other kiosk's and the server's"
    );
}

#[test]
fn power_loss_at_random_points_keeps_a_paged_device_whole() {
    let cuts: u64 = std::env::var("KENESH_PAGED_CUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let first_seed: u64 = std::env::var("KENESH_PAGED_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x7061_6765);
    println!("paged device: {cuts} cut points from seed {first_seed}");
    const ROUNDS: usize = 6;
    let total_ops = {
        let f = SimFile::new();
        let mut s = world();
        assert_eq!(run(&f, &mut s, ROUNDS, 0), 3 * ROUNDS as u64);
        f.ops()
    };
    let (mut from_checkpoint, mut from_nothing, mut unborn) = (0, 0, 0);
    for i in 0..cuts {
        let seed = first_seed.wrapping_add(i);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut s = world();
        let file = SimFile::new();
        file.die_after(rng.random_range(0..total_ops));
        let acked = run(&file, &mut s, ROUNDS, 0);
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
        let tear = rng.random_range(0..4096);
        let image = file.power_loss(|j| kept[j], tear);
        let after = SimFile::from_image(image);
        let Ok(store) = RedbStore::with_backend(after) else {
            // Power lost before the store's first commit: nothing was acknowledged.
            assert_eq!(acked, 0, "seed {seed}: the store was made and acknowledged");
            unborn += 1;
            continue;
        };
        match store.checkpoint().unwrap() {
            Some(_) => from_checkpoint += 1,
            None => from_nothing += 1,
        }
        let mut d = Device::open(store, secret(), KIOSK, s.public())
            .unwrap_or_else(|e| panic!("seed {seed}: the device does not open: {e}"));
        d.checkpoint_from(0);
        assert!(
            d.own_seq() >= acked,
            "seed {seed}: own seq {} below the {acked} a sync acknowledged",
            d.own_seq()
        );
        let memory = replayed(d.store(), &s);
        assert_eq!(d.state().snapshot(), memory.snapshot(), "seed {seed}");
        assert_eq!(d.state().len(), memory.len(), "seed {seed}");
        // It goes on: a commit and a sync, and a session with the server.
        let next = d.own_seq() + 1;
        make_issues(&mut d, muni(1), 1, 900_000 + seed as u128);
        d.sync().unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert_eq!(d.own_seq(), next);
        assert!(d.state().failure().is_none(), "seed {seed}");
    }
    println!(
        "paged device: {from_checkpoint} reopened from a checkpoint, {from_nothing} with none yet, {unborn} before the store existed"
    );
    assert!(
        from_checkpoint > cuts / 2,
        "most cuts fall after a checkpoint"
    );
}

#[test]
fn a_small_replica_writes_no_checkpoint_until_it_grows() {
    let mut s = world();
    let store = RedbStore::with_backend(SimFile::new()).unwrap();
    let mut d = Device::open(store, secret(), KIOSK, s.public()).unwrap();
    make_issues(&mut d, muni(1), 3, 1);
    sync_ok(&mut d, &mut s, 1);
    assert!(d.state().len() < kenesh_sync::CHECKPOINT_OPS);
    assert_eq!(
        d.store().checkpoint().unwrap(),
        None,
        "below the threshold: the log alone"
    );
    d.checkpoint_from(75);
    make_issues(&mut d, muni(1), 1, 10);
    d.sync().unwrap();
    assert_eq!(
        d.store().checkpoint().unwrap(),
        None,
        "{} ops",
        d.state().len()
    );
    make_issues(&mut d, muni(1), 2, 20);
    d.sync().unwrap();
    let saved = d.store().checkpoint().unwrap().expect("past the threshold");
    assert_eq!(saved.position, d.store().durable());
    assert_eq!(d.state().len(), 76);
}

/// A damaged checkpoint is a typed error when the device opens, never a panic: its meta or
/// its device part cut, overwritten or extended.
#[test]
fn a_damaged_checkpoint_is_refused_at_open() {
    use redb::ReadableTable as _;
    const CHECKPOINT: redb::TableDefinition<'_, &str, &[u8]> =
        redb::TableDefinition::new("checkpoint");
    let mut s = world();
    let file = SimFile::new();
    assert_eq!(run(&file, &mut s, 2, 3), 6);
    let image = file.image();
    for (key, damage) in [
        ("state", 0usize),
        ("state", 1),
        ("state", 2),
        ("device", 0),
        ("device", 1),
        ("device", 2),
    ] {
        let f = SimFile::from_image(image.clone());
        {
            let db = redb::Database::builder()
                .create_with_backend(f.clone())
                .unwrap();
            let w = db.begin_write().unwrap();
            {
                let mut t = w.open_table(CHECKPOINT).unwrap();
                let mut v = t.get(key).unwrap().unwrap().value().to_vec();
                match damage {
                    0 => v.truncate(v.len() / 2),
                    1 => v.iter_mut().for_each(|b| *b = 0xff),
                    _ => v.push(7),
                }
                t.insert(key, v.as_slice()).unwrap();
            }
            w.commit().unwrap();
        }
        let store = RedbStore::with_backend(f).unwrap();
        match Device::open(store, secret(), KIOSK, s.public()) {
            Err(kenesh_sync::OpenError::Checkpoint { position, .. }) => {
                assert!(position > 0, "{key} {damage}");
            }
            other => panic!("{key} damage {damage}: {:?}", other.map(|d| d.own_seq())),
        }
    }
}
