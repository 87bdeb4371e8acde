//! Initial sync by snapshot: the device rebuilds every op and the state hash from the columns,
//! with or without zstd; a cut link resumes the snapshot from the last chunk stored; a
//! snapshot that does not reproduce its announced hash loads nothing.

mod common;

use common::*;
use kenesh_model::Tier;
use kenesh_proto::Caps;
use kenesh_sync::{Device, MemStore, Secret, Server, ServerConfig};

const MAX_FRAME: usize = 1024;

fn config() -> ServerConfig {
    ServerConfig {
        max_frame: MAX_FRAME,
        window: 2,
        // Each cut point opens a fresh server that makes its snapshot again: a fast level.
        snapshot_zstd_level: 3,
        ..ServerConfig::default()
    }
}

fn build() -> (MemStore, MemStore) {
    let scope = muni(1);
    let mut s = Server::open(MemStore::new(), Secret::from_bytes([0xee; 32]), config()).unwrap();
    server_issues(&mut s, scope, 120, 1_000);
    let d = device(&mut s, 10, kiosk_grants(scope));
    (s.into_store(), d.into_store())
}

fn world() -> (Server<MemStore>, Device<MemStore>) {
    static WORLD: std::sync::OnceLock<(MemStore, MemStore)> = std::sync::OnceLock::new();
    let (s, d) = WORLD.get_or_init(build);
    let s = Server::open(s.clone(), Secret::from_bytes([0xee; 32]), config()).unwrap();
    let d = Device::open(d.clone(), Secret::from_bytes([10; 32]), 10, s.public()).unwrap();
    (s, d)
}

fn converged(d: &Device<MemStore>, s: &Server<MemStore>) -> bool {
    [Tier::Public, Tier::Personal, Tier::Sensitive]
        .into_iter()
        .all(|t| d.state().state_hash(muni(1), t) == s.state().state_hash(muni(1), t))
}

const SNAP: Caps = Caps(Caps::ZSTD.0 | Caps::SNAPSHOT.0);

#[test]
fn a_new_device_loads_a_snapshot_with_or_without_zstd() {
    for caps in [SNAP, Caps::SNAPSHOT] {
        let (mut s, mut d) = world();
        let (outcome, bytes) = sync_with(&mut d, &mut s, 1, None, caps);
        assert!(matches!(outcome, Outcome::Done { .. }), "{outcome:?}");
        assert!(converged(&d, &s));
        assert_eq!(d.stats().ops, 120);
        // The next sync starts from the snapshot's cursor: nothing comes again.
        server_issues(&mut s, muni(1), 1, 5_000);
        sync_with(&mut d, &mut s, 2, None, caps);
        assert!(converged(&d, &s));
        assert_eq!((d.stats().ops, d.stats().duplicates), (121, 0));
        println!("{caps:?}: {bytes} bytes");
    }
}

#[test]
fn a_device_restarted_mid_snapshot_resumes_it() {
    let (mut s, mut d) = world();
    let (_, total) = sync_with(&mut d, &mut s, 1, None, SNAP);
    let (mut s, mut d) = world();
    let (outcome, _) = sync_with(&mut d, &mut s, 1, Some(total / 2), SNAP);
    assert!(matches!(outcome, Outcome::Cut));
    // The device restarts from its store: the parts it stored are still there.
    let store = d.into_store();
    let mut d = Device::open(store, Secret::from_bytes([10; 32]), 10, s.public()).unwrap();
    let (outcome, after) = sync_with(&mut d, &mut s, 3, None, SNAP);
    assert!(matches!(outcome, Outcome::Done { .. }), "{outcome:?}");
    assert!(converged(&d, &s));
    assert!(
        after < total,
        "resumed ({after} bytes), not restarted ({total})"
    );
}

#[test]
fn a_snapshot_cut_at_every_byte_resumes_without_loss_or_repeat() {
    let (mut s, mut d) = world();
    let (outcome, total) = sync_with(&mut d, &mut s, 1, None, SNAP);
    let Outcome::Done { server, .. } = outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        server.messages_sent >= 5,
        "several snapshot chunks: {server:?}"
    );
    let (_, empty) = sync_with(&mut d, &mut s, 2, None, SNAP);
    let mut worst = 0;
    for cut in 0..total {
        let (mut s, mut d) = world();
        let (first, before) = sync_with(&mut d, &mut s, 1, Some(cut), SNAP);
        assert!(matches!(first, Outcome::Cut), "cut {cut}: {first:?}");
        let (second, after) = sync_with(&mut d, &mut s, 3, None, SNAP);
        assert!(
            matches!(second, Outcome::Done { .. }),
            "cut {cut}: {second:?}"
        );
        assert!(converged(&d, &s), "cut {cut}");
        assert_eq!((d.stats().ops, d.stats().duplicates), (120, 0), "cut {cut}");
        worst = worst.max((before + after).saturating_sub(total));
        assert!(
            before + after <= total + MAX_FRAME as u64 + empty,
            "cut {cut}: {before} + {after} against {total} (+{MAX_FRAME} + {empty})"
        );
    }
    println!("snapshot exchange {total} bytes, {total} cut points, worst extra {worst}");
}

#[test]
fn a_snapshot_that_does_not_reproduce_its_hash_loads_nothing() {
    // A device whose store holds a snapshot header announcing another hash: the parts come
    // from the real server, the check refuses them at the end.
    let (mut s, mut d) = world();
    let (outcome, _) = sync_with(&mut d, &mut s, 1, None, SNAP);
    assert!(matches!(outcome, Outcome::Done { .. }));
    // Tamper with the stored parts and reopen: the snapshot does not load.
    let mut store = MemStore::new();
    let records = kenesh_sync::Store::read(d.store(), 1, 10_000).unwrap();
    let mut tampered = false;
    for (_, mut rec) in records {
        // SnapshotPart records start with their variant index (5); flip a byte inside one.
        if !tampered && rec.first() == Some(&5) && rec.len() > 20 {
            let mid = rec.len() / 2;
            rec[mid] ^= 0x40;
            tampered = true;
        }
        kenesh_sync::Store::stage(&mut store, &rec).unwrap();
    }
    assert!(tampered);
    kenesh_sync::Store::sync(&mut store).unwrap();
    let d = Device::open(store, Secret::from_bytes([10; 32]), 10, s.public()).unwrap();
    assert!(
        d.state().is_empty(),
        "a snapshot that fails its check loads nothing"
    );
}

#[test]
fn a_snapshot_left_part_way_is_dropped_when_commits_take_over() {
    let (mut s, mut d) = world();
    let (_, total) = sync_with(&mut d, &mut s, 1, None, SNAP);
    let (mut s, mut d) = world();
    let (outcome, _) = sync_with(&mut d, &mut s, 1, Some(total / 2), SNAP);
    assert!(matches!(outcome, Outcome::Cut));
    // The device comes back without the snapshot capability: plain commits from the start.
    let (outcome, _) = sync_with(&mut d, &mut s, 2, None, Caps::ZSTD);
    assert!(matches!(outcome, Outcome::Done { .. }), "{outcome:?}");
    assert!(converged(&d, &s));
    // Its cursor is the commits' now: the next sync moves nothing again.
    let (outcome, bytes) = sync_with(&mut d, &mut s, 3, None, SNAP);
    assert!(matches!(outcome, Outcome::Done { .. }), "{outcome:?}");
    assert_eq!((d.stats().ops, d.stats().duplicates), (120, 0));
    assert!(bytes < 600, "{bytes} bytes for a sync with nothing new");
}
