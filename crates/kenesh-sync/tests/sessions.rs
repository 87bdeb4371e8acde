//! Sessions end to end over an in-memory link.

mod common;

use common::*;
use kenesh_model::Tier;

fn same_hashes<S: kenesh_sync::Store, T: kenesh_sync::Store>(
    d: &kenesh_sync::Device<S>,
    s: &kenesh_sync::Server<T>,
    scope: kenesh_model::Scope,
) {
    for tier in [Tier::Public, Tier::Personal, Tier::Sensitive] {
        assert_eq!(
            d.state().state_hash(scope, tier),
            s.state().state_hash(scope, tier),
            "{tier:?}"
        );
    }
}

#[test]
fn a_device_uploads_and_downloads_in_one_round_trip() {
    let scope = muni(1);
    let mut s = server();
    let mut a = device(&mut s, 10, kiosk_grants(scope));
    let mut b = device(&mut s, 11, kiosk_grants(scope));
    make_issues(&mut a, scope, 5, 100);
    let (_, _, rt) = sync_ok(&mut a, &mut s, 1);
    assert_eq!(rt, 1);
    assert_eq!(a.acked_seq(), 5);
    assert_eq!(s.state().len(), 5);
    make_issues(&mut b, scope, 3, 200);
    let (_, _, rt) = sync_ok(&mut b, &mut s, 2);
    assert_eq!(rt, 1);
    assert_eq!(b.state().len(), 8);
    same_hashes(&b, &s, scope);
    // A second sync of a device with nothing new moves almost nothing.
    let (c, sv, rt) = sync_ok(&mut a, &mut s, 3);
    assert_eq!(rt, 1);
    same_hashes(&a, &s, scope);
    assert!(c.bytes_sent + sv.bytes_sent < 2_000, "{c:?} {sv:?}");
}

/// Found by the simulation (seed 2228): a server configured with frames smaller than the
/// protocol's 16 KiB refused a device's first flight packed into one frame of 2,054 bytes
/// (`FrameTooLarge`), on every session: version 1 does not negotiate the max frame
/// (PROTOCOL.md §10.10), so the device could never sync again. A server now accepts frames up
/// to the protocol's default whatever smaller frames it sends.
#[test]
fn a_server_sending_small_frames_accepts_a_flight_of_the_protocol_default() {
    use kenesh_sync::{MemStore, Secret, Server, ServerConfig};
    let scope = muni(1);
    let mut s = Server::open(
        MemStore::new(),
        Secret::from_bytes([0xee; 32]),
        ServerConfig {
            max_frame: 2_048,
            ..ServerConfig::default()
        },
    )
    .unwrap();
    let mut d = device(&mut s, 10, kiosk_grants(scope));
    // Issues of incompressible words: their flight needs frames over 2 KiB.
    for i in 0..12u64 {
        let mut b = d.builder();
        b.scope(scope).at(NOW + i);
        let title = words(i, 60).into_bytes();
        let op = b
            .create(
                kenesh_model::schema::EntityKind::Issue,
                kenesh_model::Id::from_u128(100 + u128::from(i)),
                vec![(1, title), (9, vec![1])],
            )
            .unwrap();
        d.commit(&[op]).unwrap();
    }
    let (client, _, _) = sync_ok(&mut d, &mut s, 1);
    assert!(
        client.bytes_sent > 2_048 + 200,
        "the flight was not over one small frame: {client:?}"
    );
    assert_eq!(d.acked_seq(), 12);
    assert_eq!(s.durable_seq(10), 12);
    for tier in [Tier::Public, Tier::Personal, Tier::Sensitive] {
        assert_eq!(
            d.state().state_hash(scope, tier),
            s.state().state_hash(scope, tier)
        );
    }
}
