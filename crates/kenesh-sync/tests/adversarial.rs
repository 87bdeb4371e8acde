//! Hostile and broken peers: each case ends in its documented outcome, with no state change
//! where the server refuses.

mod common;

use common::*;
use kenesh_merge::OpBuilder;
use kenesh_model::schema::EntityKind;
use kenesh_model::{Id, Tier};
use kenesh_proto::{Caps, ErrorCode, Limits, Message, RefuseReason};
use kenesh_sync::{
    Access, Alarm, Device, Grants, MemStore, ReceiptError, Refusal, Secret, Server, ServerConfig,
    ServerSession, Store, SyncError,
};
use snow::resolvers::{CryptoResolver, DefaultResolver};

fn hashes<S: Store>(s: &Server<S>) -> Vec<[u8; 32]> {
    s.state().state_hashes().into_values().collect()
}

fn peer_error(outcome: Outcome) -> u16 {
    match outcome {
        Outcome::Failed(SyncError::Peer { code, .. }) => code,
        other => panic!("expected the server's error, got {other:?}"),
    }
}

/// A device store holding `frame_source`'s own records, opened under another identity.
fn transplant(
    from: &Device<MemStore>,
    secret: [u8; 32],
    id: u32,
    server: &Server<MemStore>,
) -> Device<MemStore> {
    Device::open(
        from.store().clone(),
        Secret::from_bytes(secret),
        id,
        server.public(),
    )
    .unwrap()
}

#[test]
fn a_commit_replayed_by_another_device_is_refused() {
    let scope = muni(1);
    let mut s = server();
    let mut a = device(&mut s, 10, kiosk_grants(scope));
    let _b = device(&mut s, 11, kiosk_grants(scope));
    make_issues(&mut a, scope, 2, 100);
    a.sync().unwrap();
    // Device 11 presents device 10's signed commits as its own first flight.
    let mut b = transplant(&a, [11; 32], 11, &s);
    let before = hashes(&s);
    let (outcome, _) = sync(&mut b, &mut s, 5, None);
    assert_eq!(peer_error(outcome), ErrorCode::FORBIDDEN.0);
    assert_eq!(hashes(&s), before);
    assert!(s.state().is_empty());
    assert!(s.alarms().contains(&Alarm::ForeignCommit {
        device: 11,
        origin: 10
    }));
    // The real origin still syncs them.
    sync_ok(&mut a, &mut s, 6);
    assert_eq!(s.state().len(), 2);
}

#[test]
fn a_forged_signature_is_refused() {
    let scope = muni(1);
    let mut s = server();
    let mut a = device(&mut s, 10, kiosk_grants(scope));
    make_issues(&mut a, scope, 1, 100);
    a.sync().unwrap();
    // Change one payload byte of the stored commit: the payload hash is recomputed from the
    // bytes, so only the signature can tell.
    let mut store = MemStore::new();
    for (_, mut rec) in a.store().read(1, 10).unwrap() {
        let last = rec.len() - 1;
        rec[last] ^= 0x01;
        store.stage(&rec).unwrap();
    }
    store.sync().unwrap();
    let mut forged = Device::open(store, Secret::from_bytes([10; 32]), 10, s.public()).unwrap();
    assert_eq!(forged.own_seq(), 1, "the tampered commit still parses");
    let (outcome, _) = sync(&mut forged, &mut s, 5, None);
    assert_eq!(peer_error(outcome), ErrorCode::BAD_SIGNATURE.0);
    assert!(s.state().is_empty());
    assert!(s.alarms().contains(&Alarm::BadSignature { device: 10 }));
}

#[test]
fn a_cloned_device_raises_an_alarm_and_its_ops_are_not_applied() {
    let scope = muni(1);
    let mut s = server();
    let mut a = device(&mut s, 10, kiosk_grants(scope));
    // The same image booted twice: same key, same seqs, different content.
    let mut clone = Device::open(
        MemStore::new(),
        Secret::from_bytes([10; 32]),
        10,
        s.public(),
    )
    .unwrap();
    make_issues(&mut a, scope, 2, 100);
    make_issues(&mut clone, scope, 2, 500);
    sync_ok(&mut a, &mut s, 1);
    let before = hashes(&s);
    let (outcome, _) = sync(&mut clone, &mut s, 2, None);
    assert_eq!(peer_error(outcome), ErrorCode::FORBIDDEN.0);
    assert_eq!(hashes(&s), before);
    assert!(
        s.alarms()
            .iter()
            .any(|a| matches!(a, Alarm::Equivocation { op } if op.origin.0 == 10 && op.seq == 1))
    );
    assert!(
        s.state()
            .record(EntityKind::Issue, Id::from_u128(500))
            .is_none()
    );
}

#[test]
fn ops_outside_the_writers_grants_are_refused_and_the_device_is_not_blocked() {
    let (home, other) = (muni(1), muni(2));
    let mut s = server();
    let mut a = device(&mut s, 10, kiosk_grants(home));
    make_issues(&mut a, other, 1, 100); // seq 1: another municipality
    make_issues(&mut a, home, 1, 200); // seq 2: its own
    sync_ok(&mut a, &mut s, 1);
    assert_eq!(a.acked_seq(), 2, "refused ops are acknowledged: seqs go on");
    assert!(
        s.state()
            .record(EntityKind::Issue, Id::from_u128(100))
            .is_none()
    );
    assert!(
        s.state()
            .record(EntityKind::Issue, Id::from_u128(200))
            .is_some()
    );
    assert_eq!(
        s.state().state_hash(other, Tier::Public),
        kenesh_merge::SetHash::default().to_bytes()
    );
    assert!(
        s.alarms().iter().any(
            |a| matches!(a, Alarm::Refused { op, why: Refusal::OutsideGrants } if op.seq == 1)
        )
    );
}

#[test]
fn a_lower_tier_than_the_field_declares_is_refused() {
    let scope = muni(1);
    let mut s = server();
    let mut a = device(&mut s, 10, kiosk_grants(scope));
    let issue = make_issues(&mut a, scope, 1, 100)[0];
    // A supporter (a Personal field) labelled Public, to leak it to public readers.
    let mut b = a.builder();
    b.scope(scope).at(NOW);
    let op = b
        .raw(
            EntityKind::Issue.code(),
            issue,
            14,
            kenesh_merge::Action::ADD,
            Tier::Public,
            &[],
            vec![1; 16],
        )
        .unwrap();
    a.commit(&[op]).unwrap();
    sync_ok(&mut a, &mut s, 1);
    assert!(s.alarms().iter().any(|a| matches!(
        a,
        Alarm::Refused {
            why: Refusal::TierTooLow,
            ..
        }
    )));
    assert_eq!(s.state().len(), 1);
}

#[test]
fn a_partner_receives_no_payload_outside_its_read_grants() {
    let (home, other) = (muni(1), muni(2));
    let mut s = server();
    let mut kiosk = device(
        &mut s,
        10,
        kiosk_grants(home).up_to(other, Tier::Sensitive, Access::Write),
    );
    let ids = make_issues(&mut kiosk, home, 5, 100);
    make_issues(&mut kiosk, other, 3, 300);
    // Personal-tier supporters on each home issue.
    for id in &ids {
        let mut b = kiosk.builder();
        b.scope(home).at(NOW);
        let op = b.add(EntityKind::Issue, *id, 14, vec![7; 16]).unwrap();
        kiosk.commit(&[op]).unwrap();
    }
    sync_ok(&mut kiosk, &mut s, 1);
    assert_eq!(s.state().len(), 13);

    let grants = Grants::none().with(home, Tier::Public, Access::Read);
    let mut partner = device(&mut s, 20, grants.clone());
    sync_ok(&mut partner, &mut s, 2);
    let received = partner.received_commits().unwrap();
    let mut withheld = 0;
    let mut with_payload = 0;
    for commit in &received {
        assert!(!commit.is_signed());
        for op in commit.ops() {
            let e = op.envelope();
            assert!(
                grants.reads_scope(e.scope),
                "an op of a scope it does not read: {op:?}"
            );
            match op.payload() {
                Some(_) => {
                    assert!(
                        grants.may_read(e.scope, e.tier),
                        "a payload it may not read: {op:?}"
                    );
                    with_payload += 1;
                }
                None => withheld += 1,
            }
        }
    }
    assert_eq!((with_payload, withheld), (5, 5));
    // Envelopes are never withheld: the partner's hashes equal the server's for the scope.
    for tier in [Tier::Public, Tier::Personal, Tier::Sensitive] {
        assert_eq!(
            partner.state().state_hash(home, tier),
            s.state().state_hash(home, tier)
        );
    }
    // Widening the grant backfills exactly the payloads it adds.
    s.set_grants(20, grants.clone().with(home, Tier::Personal, Access::Read))
        .unwrap();
    sync_ok(&mut partner, &mut s, 3);
    let after = partner.received_commits().unwrap();
    let backfilled: Vec<_> = after[received.len()..]
        .iter()
        .flat_map(|c| c.ops())
        .collect();
    assert_eq!(backfilled.len(), 5);
    assert!(
        backfilled
            .iter()
            .all(|o| o.payload().is_some() && o.envelope().tier == Tier::Personal)
    );
    assert_eq!(
        partner.stats().duplicates,
        0,
        "payload fills count as applied"
    );
}

#[test]
fn a_revoked_device_is_refused_past_its_seq_and_served_nothing() {
    let scope = muni(1);
    let mut s = server();
    server_issues(&mut s, scope, 3, 1_000);
    let mut a = device(&mut s, 10, kiosk_grants(scope));
    make_issues(&mut a, scope, 4, 100);
    s.revoke(10, 3).unwrap();
    let (outcome, _) = sync(&mut a, &mut s, 1, None);
    match outcome {
        Outcome::Failed(SyncError::Refused(RefuseReason::Revoked { from_seq: 3 })) => {}
        other => panic!("{other:?}"),
    }
    assert!(
        s.state()
            .record(EntityKind::Issue, Id::from_u128(100))
            .is_some()
    );
    assert!(
        s.state()
            .record(EntityKind::Issue, Id::from_u128(101))
            .is_some()
    );
    assert!(
        s.state()
            .record(EntityKind::Issue, Id::from_u128(102))
            .is_none()
    );
    assert_eq!(a.stats().ops, 0, "a revoked device is served nothing");
    assert_eq!(s.durable_seq(10), 4);
}

#[test]
fn a_far_future_timestamp_is_accepted_without_dragging_the_clock() {
    let scope = muni(1);
    let mut s = server();
    let mut a = device(&mut s, 10, kiosk_grants(scope));
    let far = NOW + 300 * 86_400_000; // the kiosk's clock says next year
    let mut b = a.builder();
    b.scope(scope).at(far);
    let op = b
        .create(EntityKind::Issue, Id::from_u128(1), vec![(9, vec![1])])
        .unwrap();
    a.commit(&[op]).unwrap();
    sync_ok(&mut a, &mut s, 1);
    assert_eq!(s.state().len(), 1, "accepted");
    assert!(
        s.alarms()
            .iter()
            .any(|x| matches!(x, Alarm::ClockAhead { device: 10, .. }))
    );
    assert!(
        s.next_local().1.millis() < far,
        "the server's clock was not dragged"
    );
}

#[test]
fn an_unknown_device_is_refused() {
    let mut s = server();
    let mut stranger = Device::open(
        MemStore::new(),
        Secret::from_bytes([99; 32]),
        99,
        s.public(),
    )
    .unwrap();
    make_issues(&mut stranger, muni(1), 1, 1);
    let (outcome, _) = sync(&mut stranger, &mut s, 1, None);
    assert!(
        matches!(
            outcome,
            Outcome::Failed(SyncError::Refused(RefuseReason::UnknownDevice))
        ),
        "{outcome:?}"
    );
    assert!(s.state().is_empty());
}

#[test]
fn a_device_with_the_wrong_server_key_cannot_connect() {
    let mut s = server();
    let secret = Secret::from_bytes([10; 32]);
    s.enrol(10, secret.public(), kiosk_grants(muni(1))).unwrap();
    let impostor = Secret::from_bytes([0x66; 32]).public();
    let mut d = Device::open(MemStore::new(), secret, 10, impostor).unwrap();
    let (outcome, _) = sync(&mut d, &mut s, 1, None);
    assert!(
        matches!(outcome, Outcome::Failed(SyncError::Channel(_))),
        "{outcome:?}"
    );
}

#[test]
fn ops_before_their_create_are_held_until_it_comes() {
    let scope = muni(1);
    let mut s = server();
    let mut a = device(&mut s, 10, kiosk_grants(scope));
    let mut b = device(&mut s, 11, kiosk_grants(scope));
    let issue = make_issues(&mut a, scope, 1, 100)[0];
    // b edits the record (it heard of it out of band) and syncs first.
    let mut ob = b.builder();
    ob.scope(scope).at(NOW + 10);
    let edit = ob
        .set(EntityKind::Issue, issue, 1, b"new title".to_vec(), &[])
        .unwrap();
    b.commit(&[edit]).unwrap();
    sync_ok(&mut b, &mut s, 1);
    assert_eq!(s.held(), 1);
    assert!(s.state().is_empty());
    sync_ok(&mut a, &mut s, 2);
    assert_eq!(s.held(), 0);
    assert_eq!(s.state().len(), 2);
    // And it reaches a: its cursor covers the release.
    sync_ok(&mut a, &mut s, 3);
    assert_eq!(a.state().len(), 2);
    assert_eq!(a.state().state_hashes(), s.state().state_hashes());
}

#[test]
fn a_server_restored_from_backup_resumes_every_device() {
    let scope = muni(1);
    let mut s = server();
    let mut a = device(&mut s, 10, kiosk_grants(scope));
    let mut b = device(&mut s, 11, kiosk_grants(scope));
    make_issues(&mut a, scope, 3, 100);
    sync_ok(&mut a, &mut s, 1);
    let backup = s.store().backup();
    // After the backup: more from a, and b syncs everything.
    make_issues(&mut a, scope, 2, 200);
    sync_ok(&mut a, &mut s, 2);
    make_issues(&mut b, scope, 2, 300);
    sync_ok(&mut b, &mut s, 3);
    assert_eq!(b.state().len(), 7);
    // The server is lost and restored from the backup, in a new epoch.
    drop(s);
    let mut s = restored(backup, 2);
    assert_eq!(s.epoch(), 2);
    assert_eq!(s.state().len(), 3);
    // Both devices re-send what the restored server lacks (its Welcome says what it holds).
    sync_ok(&mut a, &mut s, 4);
    sync_ok(&mut b, &mut s, 5);
    sync_ok(&mut a, &mut s, 6);
    assert_eq!(s.state().len(), 7);
    assert_eq!(a.acked_seq(), 5);
    assert_eq!(b.acked_seq(), 2);
    assert_eq!(a.state().state_hashes(), s.state().state_hashes());
    assert_eq!(b.state().state_hashes(), s.state().state_hashes());
}

/// Kiosks 10 (a) and 11 (b) in municipality 1: a makes issue 100 and syncs; the server's
/// store is backed up; then a makes `later` more issues (200, 201, …) and syncs, and b
/// receives them all. Returns the server, a, b and the backup (which holds a's seq 1 only).
fn a_lost_epoch_world(
    later: usize,
) -> (
    Server<MemStore>,
    Device<MemStore>,
    Device<MemStore>,
    MemStore,
) {
    let scope = muni(1);
    let mut s = server();
    let mut a = device(&mut s, 10, kiosk_grants(scope));
    let mut b = device(&mut s, 11, kiosk_grants(scope));
    make_issues(&mut a, scope, 1, 100);
    sync_ok(&mut a, &mut s, 1);
    let backup = s.store().backup();
    make_issues(&mut a, scope, later, 200);
    sync_ok(&mut a, &mut s, 2);
    sync_ok(&mut b, &mut s, 3);
    assert_eq!(b.state().len(), 1 + later);
    (s, a, b, backup)
}

/// The server restored from `backup` in `epoch`.
fn restored(backup: MemStore, epoch: u64) -> Server<MemStore> {
    Server::restore(
        backup,
        Secret::from_bytes([0xee; 32]),
        ServerConfig::default(),
        epoch,
    )
    .unwrap()
}

/// Simulation seed 606: an op the server accepted and served to another replica, then lost
/// to a restore from an older backup, is re-sent by its origin after it lost the write
/// grant. The re-applied change keeps its boundary, so the op is judged as it was when first
/// received: accepted again, and the replica that received it converges with the server.
/// An op the origin makes after the change is refused.
#[test]
fn an_op_a_restore_lost_is_judged_under_the_grants_it_was_received_under() {
    let scope = muni(1);
    let (mut s, mut a, mut b, backup) = a_lost_epoch_world(2);
    // Then a loses its write grant: the change takes effect after seq 3, all it holds of a.
    let read_only = Grants::none().up_to(scope, Tier::Personal, Access::Read);
    let change = s.set_grants(10, read_only.clone()).unwrap();
    assert_eq!(change.after_seq, 3);
    assert_eq!(s.device(10).unwrap().grants_for(3), &kiosk_grants(scope));
    assert_eq!(s.device(10).unwrap().grants_for(4), &read_only);
    // The server is restored from the backup (it holds a's seq 1 only, under the old grants)
    // and the operator re-applies the change from the log kept apart.
    drop(s);
    let mut s = restored(backup, 2);
    assert_eq!(s.device(10).unwrap().grants, kiosk_grants(scope));
    s.reapply_grants(&change).unwrap();
    assert_eq!(s.device(10).unwrap().grants, read_only);
    // A change made now (the server holds a's seq 1) never reaches below the re-applied
    // boundary: seqs 2–3 stay under the grants they were received under.
    let again = s.set_grants(10, read_only.clone()).unwrap();
    assert_eq!(again.after_seq, 3);
    assert_eq!(s.device(10).unwrap().grants_for(2), &kiosk_grants(scope));
    // a makes one more issue, now outside its grants, and re-sends everything the restored
    // server lacks: seqs 2–3 as the lost epoch judged them, seq 4 refused.
    make_issues(&mut a, scope, 1, 300);
    sync_ok(&mut a, &mut s, 4);
    sync_ok(&mut b, &mut s, 5);
    let issue = |n: u128| {
        s.state()
            .record(EntityKind::Issue, Id::from_u128(n))
            .is_some()
    };
    assert!(issue(100) && issue(200) && issue(201));
    assert!(!issue(300));
    assert!(s.alarms().iter().any(|x| matches!(
        x,
        Alarm::Refused { op, why: Refusal::OutsideGrants } if op.seq == 4
    )));
    assert_eq!(
        s.alarms()
            .iter()
            .filter(|x| matches!(x, Alarm::Refused { .. }))
            .count(),
        1
    );
    assert_eq!(b.state().len(), 3);
    assert_eq!(b.state().state_hashes(), s.state().state_hashes());
}

/// The case a re-applied log cannot cover: a grant change made *after* a restore, before
/// the device re-sends what the lost epoch accepted (and served to others). The device shows
/// the lost epoch's receipt; the change then takes effect above what that epoch held.
#[test]
fn a_change_made_after_a_restore_spares_what_the_lost_epoch_held_by_its_receipt() {
    let scope = muni(1);
    let (s, mut a, mut b, backup) = a_lost_epoch_world(2);
    // a holds epoch 1's receipt for its seqs up to 3 (the latest of each epoch only).
    assert_eq!(
        a.receipts()
            .iter()
            .map(|r| (r.epoch, r.seq))
            .collect::<Vec<_>>(),
        vec![(1, 3)]
    );
    // Restored from the backup (a's seq 1), then a loses its write: the change is made now,
    // when the server holds a's seq 1 only.
    drop(s);
    let mut s = restored(backup, 2);
    let read_only = Grants::none().up_to(scope, Tier::Personal, Access::Read);
    let change = s.set_grants(10, read_only.clone()).unwrap();
    assert_eq!((change.after_seq, change.epoch), (1, 2));
    // a makes one more issue, now outside its grants, and re-sends what the server lacks,
    // showing epoch 1's receipt first: seqs 2–3 are judged as epoch 1 judged them, seq 4
    // under the change.
    make_issues(&mut a, scope, 1, 300);
    sync_ok(&mut a, &mut s, 4);
    let d = s.device(10).unwrap();
    assert_eq!(d.receipts, [(1, 3)].into_iter().collect());
    assert_eq!(d.grants_for(3), &kiosk_grants(scope));
    assert_eq!(d.grants_for(4), &read_only);
    let issue = |s: &Server<MemStore>, n: u128| {
        s.state()
            .record(EntityKind::Issue, Id::from_u128(n))
            .is_some()
    };
    assert!(issue(&s, 100) && issue(&s, 200) && issue(&s, 201));
    assert!(!issue(&s, 300));
    let refused: Vec<_> = s
        .alarms()
        .iter()
        .filter_map(|x| match x {
            Alarm::Refused { op, why } => Some((op.seq, *why)),
            _ => None,
        })
        .collect();
    assert_eq!(refused, vec![(4, Refusal::OutsideGrants)]);
    // b, which received seqs 2–3 in the lost epoch, converges with the server.
    sync_ok(&mut b, &mut s, 5);
    assert_eq!(b.state().len(), 3);
    assert_eq!(b.state().state_hashes(), s.state().state_hashes());
    // The raise is in the store: a reopened server judges the same.
    let reopened = Server::open(
        s.store().backup(),
        Secret::from_bytes([0xee; 32]),
        ServerConfig::default(),
    )
    .unwrap();
    let d = reopened.device(10).unwrap();
    assert_eq!(d.receipts, [(1, 3)].into_iter().collect());
    assert_eq!(d.grants_for(3), &kiosk_grants(scope));
    assert_eq!(d.grants_for(4), &read_only);
    // Shown again, it moves nothing and records nothing.
    let shown = a.receipts()[0];
    let staged = s.store().staged();
    assert!(!s.take_receipt(10, &shown).unwrap());
    assert_eq!(s.store().staged(), staged);
}

/// A device that re-sent part of what a lost epoch held when its link was cut, then lost the
/// write: its next session's first flight must not carry the rest before the receipt is shown
/// (the first flight is judged before the Welcome). It starts above every seq an earlier
/// epoch's receipt covers; the server skips the gap, and after the Welcome the receipt goes
/// first.
#[test]
fn a_partial_re_send_then_a_change_keeps_the_rest_for_after_the_receipt() {
    let scope = muni(1);
    const MADE: u64 = 200;
    // The world up to a session cut part way through a's re-send to the restored server.
    let partial = |cut: u64| {
        let (s, mut a, b, backup) = a_lost_epoch_world(MADE as usize - 1);
        drop(s);
        let mut s = restored(backup, 2);
        // Uncompressed flights: more of them, so a cut can fall between two.
        let _ = sync_with(&mut a, &mut s, 4, Some(cut), Caps::default());
        (s, a, b)
    };
    let (mut s, mut a, mut b) = (1..400)
        .map(|k| partial(k * 100))
        .find(|(s, _, _)| (2..MADE).contains(&s.durable_seq(10)))
        .expect("a cut point that leaves a's re-send part way");
    let held = s.durable_seq(10);
    assert_eq!(
        a.acked_seq(),
        held,
        "acknowledged as far as the server holds"
    );
    // Now a loses its write; the change takes effect after what the server holds.
    let read_only = Grants::none().up_to(scope, Tier::Personal, Access::Read);
    assert_eq!(s.set_grants(10, read_only).unwrap().after_seq, held);
    sync_ok(&mut a, &mut s, 5);
    assert_eq!(s.durable_seq(10), MADE);
    assert!(
        !s.alarms()
            .iter()
            .any(|x| matches!(x, Alarm::Refused { .. })),
        "every op the lost epoch held accepted again: {:?}",
        s.alarms()
    );
    sync_ok(&mut b, &mut s, 6);
    assert_eq!(b.state().len() as u64, MADE);
    assert_eq!(b.state().state_hashes(), s.state().state_hashes());
}

/// A device the backup did not know (enrolled after it) is enrolled anew in the restore's
/// epoch; a grant change made then, before it re-sends, must stay a change of its own (never
/// merged into the enrolment, which no receipt raises) so its receipt raises it.
#[test]
fn a_device_enrolled_after_the_backup_is_raised_by_its_receipt() {
    let scope = muni(1);
    let mut s = server();
    let mut a = device(&mut s, 10, kiosk_grants(scope));
    let backup = s.store().backup();
    let mut b = device(&mut s, 11, kiosk_grants(scope));
    make_issues(&mut b, scope, 3, 100);
    sync_ok(&mut b, &mut s, 1);
    sync_ok(&mut a, &mut s, 2);
    assert_eq!(a.state().len(), 3);
    drop(s);
    let mut s = restored(backup, 2);
    assert!(s.device(11).is_none());
    // The operator's log enrols it again (in this epoch), then its write is taken away.
    s.enrol(11, b.public(), kiosk_grants(scope)).unwrap();
    let read_only = Grants::none().up_to(scope, Tier::Personal, Access::Read);
    let change = s.set_grants(11, read_only.clone()).unwrap();
    assert_eq!((change.after_seq, change.epoch), (0, 2));
    assert_eq!(s.device(11).unwrap().grants_for(1), &read_only);
    sync_ok(&mut b, &mut s, 3);
    let d = s.device(11).unwrap();
    assert_eq!(d.grants_for(3), &kiosk_grants(scope));
    assert_eq!(d.grants_for(4), &read_only);
    assert_eq!(s.durable_seq(11), 3);
    sync_ok(&mut a, &mut s, 4);
    assert_eq!(a.state().state_hashes(), s.state().state_hashes());
    assert_eq!(s.state().len(), 3);
}

/// The whole log re-applied after a restore leaves the grants as the log does, even where a
/// change puts back the enrolment's grants at the enrolment's boundary (simulation seed 95:
/// taken for one the server held, it was skipped).
#[test]
fn reapplying_the_log_ends_with_its_last_change() {
    let scope = muni(1);
    let mut s = server();
    let _a = device(&mut s, 10, kiosk_grants(scope));
    let wider = kiosk_grants(scope).up_to(scope, Tier::Sensitive, Access::Read);
    let log = [s.set_grants(10, wider.clone()).unwrap()];
    let backup = s.store().backup();
    let log = [
        log[0].clone(),
        s.set_grants(10, kiosk_grants(scope)).unwrap(),
    ];
    assert_eq!((log[0].after_seq, log[1].after_seq), (0, 0));
    drop(s);
    let mut s = restored(backup, 2);
    assert_eq!(s.device(10).unwrap().grants, wider);
    let applied: Vec<bool> = log.iter().map(|c| s.reapply_grants(c).unwrap()).collect();
    assert_eq!(
        applied,
        [false, true],
        "the held one skipped, the next applied"
    );
    assert_eq!(s.device(10).unwrap().grants, kiosk_grants(scope));
    assert_eq!(s.device(10).unwrap().grants_for(1), &kiosk_grants(scope));
    // Applied again (a second restore of the same day), the log ends the same.
    for c in &log {
        s.reapply_grants(c).unwrap();
    }
    assert_eq!(s.device(10).unwrap().grants, kiosk_grants(scope));
    assert_eq!(s.device(10).unwrap().grants_for(1), &kiosk_grants(scope));
}

/// A receipt the server did not issue (forged, or another device's) is refused with a typed
/// error and changes nothing; one of the current epoch tells nothing new.
#[test]
fn a_receipt_the_server_did_not_issue_is_refused_and_changes_nothing() {
    let scope = muni(1);
    let mut s = server();
    let mut a = device(&mut s, 10, kiosk_grants(scope));
    let _b = device(&mut s, 11, kiosk_grants(scope));
    let backup = s.store().backup();
    make_issues(&mut a, scope, 2, 100);
    sync_ok(&mut a, &mut s, 1);
    let genuine = a.receipts()[0];
    assert_eq!((genuine.epoch, genuine.seq), (1, 2));
    assert_eq!(genuine, s.receipt(10, 2));
    drop(s);
    let mut s = restored(backup, 2);
    s.set_grants(10, Grants::none()).unwrap();
    let before = (
        s.store().staged(),
        s.device(10).unwrap().grants_for(2).clone(),
    );
    let mut forged = genuine;
    forged.seq = 1_000;
    let mut flipped = genuine;
    flipped.tag[15] ^= 1;
    for (device, r) in [(10, forged), (10, flipped), (11, genuine)] {
        assert!(
            matches!(s.take_receipt(device, &r), Err(ReceiptError::Forged)),
            "{device} {r:?}"
        );
        assert_eq!(
            (
                s.store().staged(),
                s.device(10).unwrap().grants_for(2).clone()
            ),
            before
        );
    }
    // The current epoch's own receipt moves nothing.
    let own = s.receipt(10, 2);
    assert!(!s.take_receipt(10, &own).unwrap());
    assert_eq!(s.store().staged(), before.0);
    // The genuine one of epoch 1 raises the change made in epoch 2 above seq 2.
    assert!(s.take_receipt(10, &genuine).unwrap());
    assert_eq!(s.device(10).unwrap().grants_for(2), &kiosk_grants(scope));
}

/// Simulation seed 10457: the server must not serve an op before its origin keeps the
/// receipt that covers it. Here the link is cut after the server made a's first flight
/// durable and before the Welcome (with its receipt) reached a: b is served c's op, which c
/// confirmed (its receipt shown back with its Bye), and nothing of a. Restored from a backup
/// taken before, with a's write taken away after the restore, a's re-sent ops are refused
/// (no receipt of a covers them; none was ever acknowledged to a) — and since no replica
/// received them, every replica still converges.
#[test]
fn an_op_is_served_to_others_only_once_its_origin_keeps_the_receipt() {
    let scope = muni(1);
    let mut s = server();
    let mut a = device(&mut s, 10, kiosk_grants(scope));
    let mut b = device(&mut s, 11, kiosk_grants(scope));
    let mut c = device(&mut s, 13, kiosk_grants(scope));
    let backup = s.store().backup();
    make_issues(&mut a, scope, 2, 100);
    let mut cs = kenesh_sync::ClientSession::new(&a, Caps::ZSTD, [1; 32]).unwrap();
    let mut ss = ServerSession::new(&s, [2; 32]).unwrap();
    cs.start(&mut a).unwrap();
    ss.receive(&mut s, &cs.take_output(), NOW).unwrap();
    s.sync().unwrap();
    ss.poll(&mut s).unwrap();
    assert!(
        !ss.take_output().is_empty(),
        "the Welcome is written, and lost"
    );
    assert_eq!((s.durable_seq(10), a.acked_seq()), (2, 0));
    assert_eq!(s.device(10).unwrap().confirmed, 0);
    make_issues(&mut c, scope, 1, 500);
    sync_ok(&mut c, &mut s, 3);
    assert_eq!(s.device(13).unwrap().confirmed, 1);
    // Both accepted and durable; only c's served.
    assert_eq!(s.state().len(), 3);
    sync_ok(&mut b, &mut s, 4);
    let origins: Vec<u32> = b.state().all_ops().map(|o| o.id().origin.0).collect();
    assert_eq!(origins, vec![13]);
    // The server restored from the backup; a loses its write; a re-sends and is refused,
    // c re-sends and is accepted.
    drop(s);
    let mut s = restored(backup, 2);
    s.set_grants(
        10,
        Grants::none().up_to(scope, Tier::Personal, Access::Read),
    )
    .unwrap();
    sync_ok(&mut a, &mut s, 5);
    sync_ok(&mut c, &mut s, 6);
    let refused = s
        .alarms()
        .iter()
        .filter(|x| {
            matches!(
                x,
                Alarm::Refused {
                    why: Refusal::OutsideGrants,
                    ..
                }
            )
        })
        .count();
    assert_eq!((s.state().len(), refused), (1, 2));
    sync_ok(&mut b, &mut s, 7);
    assert_eq!(b.state().len(), 1);
    assert_eq!(b.state().state_hashes(), s.state().state_hashes());
}

#[test]
fn a_device_restarted_from_its_store_resumes_where_it_was() {
    let scope = muni(1);
    let mut s = server();
    server_issues(&mut s, scope, 5, 1_000);
    let mut a = device(&mut s, 10, kiosk_grants(scope));
    make_issues(&mut a, scope, 2, 100);
    sync_ok(&mut a, &mut s, 1);
    let store = a.into_store();
    let mut a = Device::open(store, Secret::from_bytes([10; 32]), 10, s.public()).unwrap();
    assert_eq!((a.own_seq(), a.acked_seq(), a.state().len()), (2, 2, 7));
    let (client, _, _) = sync_ok(&mut a, &mut s, 2);
    assert_eq!(a.stats().duplicates, 0);
    assert!(client.bytes_sent < 400, "nothing re-sent: {client:?}");
    let mut ob: OpBuilder = a.builder();
    assert_eq!(ob.next_seq(), 3);
    let op = ob
        .scope(scope)
        .at(NOW)
        .create(EntityKind::Issue, Id::from_u128(9), vec![])
        .unwrap();
    a.commit(&[op]).unwrap();
    sync_ok(&mut a, &mut s, 3);
    assert_eq!(s.state().len(), 8);
}

/// A hand-made Noise initiator for the device whose secret is `secret`, with a fixed
/// ephemeral key.
fn hand_made_initiator(s: &Server<MemStore>, secret: [u8; 32]) -> snow::HandshakeState {
    let private = blake3::derive_key("kenesh 2026 noise static key v1", &secret);
    let resolver = Box::new(FixedRandom(DefaultResolver));
    snow::Builder::with_resolver(kenesh_sync::NOISE_PARAMS.parse().unwrap(), resolver)
        .prologue(kenesh_sync::NOISE_PROLOGUE)
        .unwrap()
        .local_private_key(&private)
        .unwrap()
        .remote_public_key(&s.public().noise)
        .unwrap()
        .build_initiator()
        .unwrap()
}

/// The handshake's first message carrying `frames` (each u32-prefixed), as it goes on the
/// wire (u32-prefixed).
fn first_message(hs: &mut snow::HandshakeState, frames: &[&[u8]]) -> Vec<u8> {
    let mut payload = Vec::new();
    for frame in frames {
        payload.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        payload.extend_from_slice(frame);
    }
    let mut msg = vec![0u8; 65_535];
    let n = hs.write_message(&payload, &mut msg).unwrap();
    let mut wire = (n as u32).to_le_bytes().to_vec();
    wire.extend_from_slice(&msg[..n]);
    wire
}

/// snow's resolvers with a fixed "random" ephemeral key, for a hand-made handshake.
struct FixedRandom(DefaultResolver);
struct Sevens;

impl snow::types::Random for Sevens {
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), snow::Error> {
        dest.fill(7);
        Ok(())
    }
}

impl CryptoResolver for FixedRandom {
    fn resolve_rng(&self) -> Option<Box<dyn snow::types::Random>> {
        Some(Box::new(Sevens))
    }
    fn resolve_dh(&self, c: &snow::params::DHChoice) -> Option<Box<dyn snow::types::Dh>> {
        self.0.resolve_dh(c)
    }
    fn resolve_hash(&self, c: &snow::params::HashChoice) -> Option<Box<dyn snow::types::Hash>> {
        self.0.resolve_hash(c)
    }
    fn resolve_cipher(
        &self,
        c: &snow::params::CipherChoice,
    ) -> Option<Box<dyn snow::types::Cipher>> {
        self.0.resolve_cipher(c)
    }
}

#[test]
fn a_device_speaking_only_later_versions_is_refused_with_the_servers_range() {
    // A device from the future: its Hello offers versions 2–3 only. The server cannot read
    // past the two version fields, and answers with its own range (PROTOCOL.md §2, §10.4).
    let mut s = server();
    let secret = [10u8; 32];
    s.enrol(
        10,
        Secret::from_bytes(secret).public(),
        kiosk_grants(muni(1)),
    )
    .unwrap();
    let mut hs = hand_made_initiator(&s, secret);
    let wire = first_message(&mut hs, &[&[0x00, 0x02, 0x03, 0x00, 0x0a, 0x00, 0x00]]);

    let mut ss = ServerSession::new(&s, [2; 32]).unwrap();
    ss.receive(&mut s, &wire, NOW).unwrap();
    s.sync().unwrap();
    ss.poll(&mut s).unwrap();
    let out = ss.take_output();
    assert!(out.len() > 4, "the server closed without an answer");
    let len = u32::from_le_bytes(out[..4].try_into().unwrap()) as usize;
    let mut plain = vec![0u8; 65_535];
    let n = hs.read_message(&out[4..4 + len], &mut plain).unwrap();
    let frame_len = u32::from_le_bytes(plain[..4].try_into().unwrap()) as usize;
    assert_eq!(n, 4 + frame_len, "one frame in the answer");
    match Message::decode(&plain[4..n], &Limits::default()).unwrap() {
        Message::Refuse(r) => assert_eq!(
            r.reason,
            RefuseReason::UnsupportedVersion { min: 1, max: 1 }
        ),
        other => panic!("expected a Refuse, got {other:?}"),
    }
    assert!(ss.is_closed());
    assert!(s.state().is_empty());
}

/// A peer of another implementation that does not offer `RECEIPTS` can show no receipt back:
/// its accepted ops are served at once (as before receipts), not held forever.
#[test]
fn a_peer_that_takes_no_receipts_has_its_ops_served_at_once() {
    let scope = muni(1);
    let mut s = server();
    let mut a = device(&mut s, 10, kiosk_grants(scope));
    let mut b = device(&mut s, 11, kiosk_grants(scope));
    make_issues(&mut a, scope, 1, 100);
    let commit = a.unacked().unwrap().remove(0);
    let mut hs = hand_made_initiator(&s, [10; 32]);
    let hello = Message::Hello(kenesh_proto::Hello {
        min_version: 1,
        max_version: 1,
        caps: Caps::ZSTD,
        device: 10,
        own_seq: 1,
        cursor: None,
    })
    .to_vec()
    .unwrap();
    let wire = first_message(&mut hs, &[hello.as_slice(), commit.frame()]);
    let mut ss = ServerSession::new(&s, [2; 32]).unwrap();
    ss.receive(&mut s, &wire, NOW).unwrap();
    s.sync().unwrap();
    ss.poll(&mut s).unwrap();
    assert!(!ss.take_output().is_empty(), "answered with a Welcome");
    assert_eq!((s.durable_seq(10), s.device(10).unwrap().confirmed), (1, 1));
    sync_ok(&mut b, &mut s, 3);
    assert_eq!(b.state().len(), 1);
    assert_eq!(b.state().state_hashes(), s.state().state_hashes());
}

#[test]
fn legal_aid_intake_is_write_without_read() {
    let scope = muni(1);
    let mut s = server();
    let mut a = device(&mut s, 10, kiosk_grants(scope));
    let mut b = device(&mut s, 11, kiosk_grants(scope));
    let canary = b"CANARY applicant: domestic violence".to_vec();
    let mut ob = a.builder();
    ob.scope(scope).at(NOW);
    let intake = ob
        .create(
            EntityKind::LegalAidRequest,
            Id::from_u128(77),
            vec![(1, canary.clone())],
        )
        .unwrap();
    assert_eq!(intake.envelope().tier, Tier::Sensitive);
    a.commit(&[intake]).unwrap();
    sync_ok(&mut a, &mut s, 1);
    assert_eq!(
        s.state().len(),
        1,
        "accepted: the kiosk may write sensitive intake"
    );
    sync_ok(&mut b, &mut s, 2);
    let got: Vec<_> = b
        .received_commits()
        .unwrap()
        .iter()
        .flat_map(|c| c.ops())
        .collect();
    assert_eq!(got.len(), 1);
    assert!(
        got[0].payload().is_none(),
        "the envelope only: it may not read it back"
    );
    for c in b.received_commits().unwrap() {
        assert!(
            !c.frame()
                .windows(canary.len())
                .any(|w| w == canary.as_slice())
        );
    }
    assert_eq!(
        b.state().state_hash(scope, Tier::Sensitive),
        s.state().state_hash(scope, Tier::Sensitive)
    );
}

#[test]
fn an_erased_persons_payloads_are_never_served_again() {
    let scope = muni(1);
    let mut s = server();
    let person = kenesh_model::PersonId(Id::from_u128(4242));
    let canary = b"CANARY comment by the erased person".to_vec();
    let issue = Id::from_u128(9);
    let mut b = server_builder(&s, scope);
    let create = b
        .create(EntityKind::Issue, issue, vec![(9, vec![1])])
        .unwrap();
    b.persons(&[person]);
    let comment = b
        .append(EntityKind::Issue, issue, 17, canary.clone())
        .unwrap();
    s.commit_local(&[create, comment], NOW).unwrap();
    s.sync().unwrap();
    let mut b = server_builder(&s, scope);
    let erase = b.erase(person).unwrap();
    s.commit_local(&[erase], NOW).unwrap();
    s.sync().unwrap();
    // Without zstd for the snapshot, so its stored slices can be searched for the canary
    // (chunks of commits are stored decompressed either way).
    for caps in [kenesh_proto::Caps::ZSTD, kenesh_proto::Caps::SNAPSHOT] {
        let id = 30 + caps.0;
        let mut d = device(&mut s, id, kiosk_grants(scope));
        let (outcome, _) = sync_with(&mut d, &mut s, 1, None, caps);
        assert!(matches!(outcome, Outcome::Done { .. }), "{outcome:?}");
        let records = kenesh_sync::Store::read(d.store(), 1, 1_000).unwrap();
        assert!(!records.is_empty());
        for (_, bytes) in records {
            assert!(
                !bytes.windows(canary.len()).any(|w| w == canary.as_slice()),
                "{caps:?}: the erased payload reached the device"
            );
        }
        assert_eq!(
            d.state().state_hashes(),
            s.state().state_hashes(),
            "{caps:?}"
        );
        let naming: Vec<_> = d
            .state()
            .all_ops()
            .filter(|o| o.envelope().persons.contains(&person))
            .collect();
        assert!(
            naming.len() >= 2,
            "{caps:?}: the comment and the erase arrived"
        );
        assert!(
            naming
                .iter()
                .all(|o| o.payload().is_none_or(|p| p.bytes.is_empty())),
            "{caps:?}"
        );
        assert!(d.state().is_erased(person));
    }
}

#[test]
fn a_device_restored_from_an_older_backup_stops_before_reusing_seqs() {
    let scope = muni(1);
    let mut s = server();
    let mut a = device(&mut s, 10, kiosk_grants(scope));
    make_issues(&mut a, scope, 2, 100);
    a.sync().unwrap();
    let backup = a.store().backup();
    make_issues(&mut a, scope, 1, 200);
    sync_ok(&mut a, &mut s, 1);
    assert_eq!(s.durable_seq(10), 3);
    // The kiosk's disk is restored from the backup: it knows seqs 1–2 only.
    let mut restored = Device::open(backup, Secret::from_bytes([10; 32]), 10, s.public()).unwrap();
    assert_eq!(restored.own_seq(), 2);
    let (outcome, _) = sync(&mut restored, &mut s, 2, None);
    assert!(
        matches!(
            outcome,
            Outcome::Failed(SyncError::AheadOfDevice {
                acknowledged: 3,
                own: 2
            })
        ),
        "{outcome:?}"
    );
    assert_eq!(
        restored.acked_seq(),
        0,
        "nothing recorded from that Welcome"
    );
}

#[test]
fn an_erasure_reaches_replicas_of_every_scope() {
    let (home, other) = (muni(1), muni(2));
    let mut s = server();
    let person = kenesh_model::PersonId(Id::from_u128(777));
    // A kiosk of municipality 2 holds a supporter add naming the person.
    let mut far = device(&mut s, 12, kiosk_grants(other));
    let issue = make_issues(&mut far, other, 1, 500)[0];
    let mut b = far.builder();
    b.scope(other).at(NOW).persons(&[person]);
    let add = b
        .add(
            EntityKind::Issue,
            issue,
            14,
            postcard::to_allocvec(&person).unwrap(),
        )
        .unwrap();
    far.commit(&[add]).unwrap();
    sync_ok(&mut far, &mut s, 1);
    // Staff of municipality 1 erase the person there.
    let mut staff = device(&mut s, 60, kiosk_grants(home));
    let mut b = staff.builder();
    b.scope(home).at(NOW).persons(&[person]);
    let create = b.create(EntityKind::Person, person.0, vec![]).unwrap();
    let erase = b.erase(person).unwrap();
    staff.commit(&[create, erase]).unwrap();
    sync_ok(&mut staff, &mut s, 2);
    sync_ok(&mut far, &mut s, 3);
    assert!(
        far.state().is_erased(person),
        "the erasure reached municipality 2's kiosk"
    );
    assert!(
        far.state()
            .all_ops()
            .filter(|o| o.envelope().persons.contains(&person))
            .all(|o| o.payload().is_none_or(|p| p.bytes.is_empty()))
    );
    // Only the erase came from the other scope, and without a payload it could read.
    for c in far.received_commits().unwrap() {
        for op in c.ops() {
            assert_eq!(op.envelope().action, kenesh_merge::Action::ERASE);
        }
    }
}
