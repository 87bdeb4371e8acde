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
