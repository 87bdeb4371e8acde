//! Acknowledgements follow the durable mark: a server whose disk fails or loses power before
//! a sync acknowledges nothing of what it staged, and the device's next session delivers it.

mod common;

use common::*;
use kenesh_proto::Caps;
use kenesh_sync::{
    ClientSession, Device, MemStore, Secret, Server, ServerConfig, ServerSession, SimDisk,
};

fn secret() -> Secret {
    Secret::from_bytes([0xee; 32])
}

/// A server on a simulated disk with a device enrolled; the device holds 3 commits.
fn world() -> (Server<SimDisk>, Device<MemStore>) {
    let mut s = Server::open(SimDisk::new(), secret(), ServerConfig::default()).unwrap();
    let mut d = device(&mut s, 10, kiosk_grants(muni(1)));
    make_issues(&mut d, muni(1), 3, 100);
    (s, d)
}

/// Runs the first flight into the server with its disk failing the sync: returns the server
/// and how many bytes of answer it produced.
fn first_flight_with_failing_disk(s: &mut Server<SimDisk>, d: &mut Device<MemStore>) -> usize {
    let mut c = ClientSession::new(d, Caps::ZSTD, [1; 32]).unwrap();
    let mut ss = ServerSession::new(s, [2; 32]).unwrap();
    c.start(d).unwrap();
    s.store_mut().fail_next_syncs(1);
    ss.receive(s, &c.take_output(), NOW).unwrap();
    assert!(s.sync().is_err(), "the simulated fsync fails");
    ss.poll(s).unwrap();
    ss.take_output().len()
}

#[test]
fn nothing_staged_is_acknowledged_and_a_power_loss_at_any_byte_loses_nothing_acknowledged() {
    let (mut s, mut d) = world();
    assert_eq!(
        first_flight_with_failing_disk(&mut s, &mut d),
        0,
        "no answer before durability"
    );
    assert_eq!(d.acked_seq(), 0);
    let unsynced = s.store().unsynced_bytes();
    assert!(unsynced > 0);
    // Power loss with every possible torn prefix of the unsynced writes.
    for keep in 0..=unsynced {
        let (mut s, mut d) = world();
        first_flight_with_failing_disk(&mut s, &mut d);
        let image = s.store().power_loss(keep);
        drop(s);
        let mut s = Server::open(SimDisk::open(&image), secret(), ServerConfig::default()).unwrap();
        assert!(s.state().len() <= 3, "keep {keep}");
        sync_ok(&mut d, &mut s, 3);
        assert_eq!(d.acked_seq(), 3, "keep {keep}");
        assert_eq!(s.durable_seq(10), 3, "keep {keep}");
        assert_eq!(s.state().len(), 3, "keep {keep}");
        assert_eq!(
            d.state().state_hashes(),
            s.state().state_hashes(),
            "keep {keep}"
        );
        assert!(s.alarms().is_empty(), "keep {keep}: {:?}", s.alarms());
    }
}

#[test]
fn the_device_sees_acknowledgements_only_after_the_sync() {
    let (mut s, mut d) = world();
    let mut c = ClientSession::new(&d, Caps::ZSTD, [1; 32]).unwrap();
    let mut ss = ServerSession::new(&s, [2; 32]).unwrap();
    c.start(&mut d).unwrap();
    ss.receive(&mut s, &c.take_output(), NOW).unwrap();
    assert!(
        ss.take_output().is_empty(),
        "staged, not yet durable: no answer"
    );
    assert_eq!(s.durable_seq(10), 0);
    s.sync().unwrap();
    ss.poll(&mut s).unwrap();
    c.receive(&mut d, &ss.take_output()).unwrap();
    assert_eq!(d.acked_seq(), 3);
}

#[test]
fn sessions_share_one_disk_sync() {
    let mut s = Server::open(SimDisk::new(), secret(), ServerConfig::default()).unwrap();
    let mut devices: Vec<Device<MemStore>> = (10..20)
        .map(|id| {
            let mut d = device(&mut s, id, kiosk_grants(muni(1)));
            make_issues(&mut d, muni(1), 2, u128::from(id) * 100);
            d
        })
        .collect();
    let before = s.store().syncs();
    let mut pairs: Vec<(ClientSession, ServerSession)> = devices
        .iter_mut()
        .enumerate()
        .map(|(i, d)| {
            let mut c = ClientSession::new(d, Caps::ZSTD, [i as u8; 32]).unwrap();
            c.start(d).unwrap();
            (c, ServerSession::new(&s, [100 + i as u8; 32]).unwrap())
        })
        .collect();
    for (c, ss) in &mut pairs {
        ss.receive(&mut s, &c.take_output(), NOW).unwrap();
    }
    s.sync().unwrap();
    assert_eq!(s.store().syncs() - before, 1, "ten sessions, one disk sync");
    for ((c, ss), d) in pairs.iter_mut().zip(&mut devices) {
        ss.poll(&mut s).unwrap();
        c.receive(d, &ss.take_output()).unwrap();
        assert_eq!(d.acked_seq(), 2);
    }
}

/// A device log whose own commits do not follow on (one written twice, one left out) is
/// corrupt: opening it is `OpenError::Corrupt` at that record, where before the record was
/// applied (or skipped) and the device went on with a wrong own seq.
#[test]
fn own_commits_out_of_order_are_a_corrupt_log() {
    use kenesh_sync::{OpenError, Store};
    let mut s = server();
    let mut d = device(&mut s, 10, kiosk_grants(muni(1)));
    make_issues(&mut d, muni(1), 3, 100);
    d.sync().unwrap();
    let records: Vec<Vec<u8>> = d
        .store()
        .read(1, 10)
        .unwrap()
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    assert_eq!(records.len(), 3);
    let open = |recs: &[&Vec<u8>]| {
        let mut store = MemStore::new();
        for r in recs {
            store.stage(r).unwrap();
        }
        store.sync().unwrap();
        Device::open(store, Secret::from_bytes([10; 32]), 10, s.public()).map(|d| d.own_seq())
    };
    let [a, b, c] = [&records[0], &records[1], &records[2]];
    assert_eq!(open(&[a, b, c]), Ok(3));
    assert_eq!(
        open(&[a, b, b]),
        Err(OpenError::Corrupt { position: 3 }),
        "a commit twice"
    );
    assert_eq!(
        open(&[a, c]),
        Err(OpenError::Corrupt { position: 2 }),
        "a commit left out"
    );
    assert_eq!(
        open(&[b]),
        Err(OpenError::Corrupt { position: 1 }),
        "not from seq 1"
    );
}
