//! The store contract, written once and run against every backend: `MemStore`, `SimDisk`
//! and `RedbStore`.

mod common;

use common::backends::{Backend, TempRedb};
use common::*;
use kenesh_sync::{
    Device, MAX_RECORD, MemStore, Secret, Server, ServerConfig, SimDisk, StoreError,
};

fn all<B: Backend>(s: &B) -> Vec<(u64, Vec<u8>)> {
    s.read(0, usize::MAX).unwrap()
}

fn rec(i: u64) -> Vec<u8> {
    format!("record {i}: {}", words(i, 3)).into_bytes()
}

fn positions_from_one_and_consecutive<B: Backend>() {
    let mut s = B::fresh();
    assert_eq!((s.durable(), s.staged()), (0, 0));
    for i in 1..=5 {
        assert_eq!(s.stage(&rec(i)).unwrap(), i);
    }
    assert_eq!(s.sync().unwrap(), 5);
    assert_eq!(s.stage(&rec(6)).unwrap(), 6);
    assert_eq!(s.sync().unwrap(), 6);
    let got = all(&s);
    assert_eq!(got.len(), 6);
    for (i, (pos, bytes)) in got.into_iter().enumerate() {
        assert_eq!(pos, i as u64 + 1);
        assert_eq!(bytes, rec(pos));
    }
}

fn staged_is_readable_but_not_durable<B: Backend>() {
    let mut s = B::fresh();
    for i in 1..=3 {
        s.stage(&rec(i)).unwrap();
    }
    assert_eq!((s.durable(), s.staged()), (0, 3));
    assert_eq!(all(&s).len(), 3);
    assert_eq!(s.sync().unwrap(), 3, "sync moves the mark");
    assert_eq!(s.durable(), 3);
    s.stage(&rec(4)).unwrap();
    s.stage(&rec(5)).unwrap();
    assert_eq!((s.durable(), s.staged()), (3, 5));
    let got = all(&s);
    assert_eq!(got.len(), 5);
    assert_eq!(got[3], (4, rec(4)));
    assert_eq!(s.sync().unwrap(), 5);
    assert_eq!(
        s.sync().unwrap(),
        5,
        "a sync with nothing staged keeps the mark"
    );
}

fn reopen_after_sync_keeps_everything_durable<B: Backend>() {
    let mut s = B::fresh();
    for i in 1..=4 {
        s.stage(&rec(i)).unwrap();
    }
    s.sync().unwrap();
    s.stage(&rec(5)).unwrap();
    s.sync().unwrap();
    let mut s = s.reopen();
    assert_eq!(s.durable(), 5);
    assert_eq!(s.staged(), 5);
    let got = all(&s);
    assert_eq!(got.len(), 5);
    for (pos, bytes) in got {
        assert_eq!(bytes, rec(pos));
    }
    assert_eq!(
        s.stage(&rec(6)).unwrap(),
        6,
        "positions go on after a reopen"
    );
    assert_eq!(s.sync().unwrap(), 6);
    let s = s.reopen();
    assert_eq!(all(&s).last().unwrap(), &(6, rec(6)));
}

/// Tidying reorganises how records are held, never what they are or which are durable:
/// a staged record stays staged, and positions go on.
fn tidy_keeps_every_record_and_mark<B: Backend>() {
    let mut s = B::fresh();
    s.tidy().unwrap();
    for i in 1..=40 {
        s.stage(&rec(i)).unwrap();
        if i % 9 == 0 {
            s.sync().unwrap();
        }
    }
    let want = all(&s);
    assert_eq!((s.durable(), s.staged()), (36, 40));
    s.tidy().unwrap();
    assert_eq!(
        (s.durable(), s.staged()),
        (36, 40),
        "staged records stay staged"
    );
    assert_eq!(all(&s), want);
    assert_eq!(s.sync().unwrap(), 40);
    s.tidy().unwrap();
    assert_eq!((s.durable(), s.staged()), (40, 40));
    assert_eq!(all(&s), want);
    let mut s = s.reopen();
    assert_eq!(all(&s), want);
    assert_eq!(s.stage(&rec(41)).unwrap(), 41);
    assert_eq!(s.sync().unwrap(), 41);
    s.tidy().unwrap();
    let s = s.reopen();
    assert_eq!(all(&s).len(), 41);
    assert_eq!(all(&s).last().unwrap(), &(41, rec(41)));
}

fn records_up_to_the_limit<B: Backend>() {
    let mut s = B::fresh();
    s.stage(b"first").unwrap();
    let big: Vec<u8> = (0..MAX_RECORD).map(|i| (i * 31 % 251) as u8).collect();
    assert_eq!(s.stage(&big).unwrap(), 2);
    let over = vec![7u8; MAX_RECORD + 1];
    assert_eq!(
        s.stage(&over),
        Err(StoreError::TooLarge {
            len: MAX_RECORD + 1,
            max: MAX_RECORD
        })
    );
    assert_eq!(
        (s.durable(), s.staged()),
        (0, 2),
        "a refusal changes nothing"
    );
    assert_eq!(s.sync().unwrap(), 2);
    assert!(s.stage(&over).is_err());
    assert_eq!((s.durable(), s.staged()), (2, 2));
    let s = s.reopen();
    let got = all(&s);
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].1, big);
}

fn empty_records<B: Backend>() {
    let mut s = B::fresh();
    assert_eq!(s.stage(b"").unwrap(), 1);
    assert_eq!(s.stage(b"x").unwrap(), 2);
    assert_eq!(s.stage(b"").unwrap(), 3);
    s.sync().unwrap();
    let s = s.reopen();
    assert_eq!(all(&s), vec![(1, vec![]), (2, b"x".to_vec()), (3, vec![])]);
}

fn reads_at_the_edges<B: Backend>() {
    let mut s = B::fresh();
    assert!(s.read(0, 10).unwrap().is_empty(), "an empty store");
    assert!(s.read(1, 10).unwrap().is_empty());
    for i in 1..=4 {
        s.stage(&rec(i)).unwrap();
    }
    s.sync().unwrap();
    for i in 5..=7 {
        s.stage(&rec(i)).unwrap();
    }
    assert_eq!(
        s.read(0, usize::MAX).unwrap(),
        s.read(1, usize::MAX).unwrap()
    );
    assert_eq!(s.read(0, 100).unwrap().len(), 7);
    assert!(s.read(8, 10).unwrap().is_empty(), "past the end");
    assert!(s.read(u64::MAX, 10).unwrap().is_empty());
    assert!(s.read(1, 0).unwrap().is_empty(), "max 0");
    assert!(s.read(5, 0).unwrap().is_empty());
    let pos = |v: Vec<(u64, Vec<u8>)>| v.into_iter().map(|(p, _)| p).collect::<Vec<_>>();
    assert_eq!(pos(s.read(3, 3).unwrap()), vec![3, 4, 5], "across the mark");
    assert_eq!(pos(s.read(4, 1).unwrap()), vec![4]);
    assert_eq!(pos(s.read(5, 10).unwrap()), vec![5, 6, 7]);
    assert_eq!(pos(s.read(6, 1).unwrap()), vec![6]);
    for (p, bytes) in s.read(2, 5).unwrap() {
        assert_eq!(bytes, rec(p));
    }
}

fn server_and_device_replay<B: Backend>() {
    let server_secret = Secret::from_bytes([0xee; 32]);
    let mut s = Server::open(B::fresh(), server_secret.clone(), ServerConfig::default()).unwrap();
    let dsecret = Secret::from_bytes([10; 32]);
    s.enrol(10, dsecret.public(), kiosk_grants(muni(1)))
        .unwrap();
    let mut d = Device::open(B::fresh(), dsecret.clone(), 10, s.public()).unwrap();
    make_issues(&mut d, muni(1), 4, 100);
    server_issues(&mut s, muni(1), 3, 500);
    sync_ok(&mut d, &mut s, 1);
    d.sync().unwrap();
    s.sync().unwrap();
    assert_eq!(d.acked_seq(), 4);
    let (server_hashes, device_hashes) = (s.state().state_hashes(), d.state().state_hashes());
    assert_eq!(server_hashes, device_hashes);
    assert_eq!(s.state().len(), 7);
    let s = Server::open(
        s.into_store().reopen(),
        server_secret,
        ServerConfig::default(),
    )
    .unwrap();
    let public = s.public();
    let d = Device::open(d.into_store().reopen(), dsecret, 10, public).unwrap();
    assert_eq!(s.state().state_hashes(), server_hashes);
    assert_eq!(d.state().state_hashes(), device_hashes);
    assert_eq!(d.acked_seq(), 4);
}

/// A store that keeps checkpoints returns the one the last sync made durable (not one only
/// staged), through a reopening; a device opens from it to the state it had. One that keeps
/// none (`MemStore`) returns none, and the device replays its log.
fn checkpoints_follow_the_sync<B: Backend>() {
    let server_secret = Secret::from_bytes([0xee; 32]);
    let mut s = Server::open(MemStore::new(), server_secret, ServerConfig::default()).unwrap();
    let dsecret = Secret::from_bytes([10; 32]);
    s.enrol(10, dsecret.public(), kiosk_grants(muni(1)))
        .unwrap();
    let mut d = Device::open(B::fresh(), dsecret.clone(), 10, s.public()).unwrap();
    d.checkpoint_from(0);
    let keeps = d.store().pages().is_some();
    make_issues(&mut d, muni(1), 4, 100);
    server_issues(&mut s, muni(1), 3, 500);
    sync_ok(&mut d, &mut s, 1);
    d.sync().unwrap();
    let durable = d.store().durable();
    let saved = d.store().checkpoint().unwrap();
    assert_eq!(saved.as_ref().map(|c| c.position), keeps.then_some(durable));
    // A commit staged, and the device's part of a checkpoint with it: nothing new is
    // durable until the sync.
    make_issues(&mut d, muni(1), 1, 900);
    assert_eq!(d.store().checkpoint().unwrap(), saved);
    d.sync().unwrap();
    let after = d.store().checkpoint().unwrap();
    assert_eq!(after.map(|c| c.position), keeps.then_some(durable + 1));
    let hashes = d.state().state_hashes();
    let snapshot = d.state().snapshot();
    let d = Device::open(d.into_store().reopen(), dsecret, 10, s.public()).unwrap();
    assert_eq!(d.state().is_paged(), keeps);
    assert_eq!(d.state().state_hashes(), hashes);
    assert_eq!(d.state().snapshot(), snapshot);
    assert_eq!((d.own_seq(), d.acked_seq()), (5, 4));
}

macro_rules! contract {
    ($name:ident, $backend:ty) => {
        mod $name {
            use super::*;

            #[test]
            fn positions_from_one_and_consecutive() {
                super::positions_from_one_and_consecutive::<$backend>();
            }
            #[test]
            fn staged_is_readable_but_not_durable() {
                super::staged_is_readable_but_not_durable::<$backend>();
            }
            #[test]
            fn reopen_after_sync_keeps_everything_durable() {
                super::reopen_after_sync_keeps_everything_durable::<$backend>();
            }
            #[test]
            fn tidy_keeps_every_record_and_mark() {
                super::tidy_keeps_every_record_and_mark::<$backend>();
            }
            #[test]
            fn records_up_to_the_limit() {
                super::records_up_to_the_limit::<$backend>();
            }
            #[test]
            fn empty_records() {
                super::empty_records::<$backend>();
            }
            #[test]
            fn reads_at_the_edges() {
                super::reads_at_the_edges::<$backend>();
            }
            #[test]
            fn server_and_device_replay() {
                super::server_and_device_replay::<$backend>();
            }
            #[test]
            fn checkpoints_follow_the_sync() {
                super::checkpoints_follow_the_sync::<$backend>();
            }
        }
    };
}

contract!(mem_store, MemStore);
contract!(sim_disk, SimDisk);
contract!(redb_store, TempRedb);
