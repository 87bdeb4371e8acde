//! Replicas sync with a server through `sync_over` on an in-memory duplex (a Unix socket
//! pair, the server session on its own thread) and converge.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

use common::*;
use kenesh::{Replica, SyncError};
use kenesh_model::schema::EntityKind;
use kenesh_model::text::LocalizedText;
use kenesh_model::*;
use kenesh_sync::{MemStore, Server, ServerSession};

/// Serves one session on `stream`: reads one length-prefixed Noise message at a time,
/// answers after the server's store is durable. Ends at the session's close or EOF.
fn serve(server: &mut Server<MemStore>, mut stream: UnixStream, seed: u8) {
    let mut ss = ServerSession::new(server, [seed; 32]).unwrap();
    loop {
        let mut len = [0u8; 4];
        if stream.read_exact(&mut len).is_err() {
            return;
        }
        let mut msg = len.to_vec();
        msg.resize(4 + u32::from_le_bytes(len) as usize, 0);
        if stream.read_exact(&mut msg[4..]).is_err() {
            return;
        }
        let r = ss.receive(server, &msg, NOW);
        server.sync().unwrap();
        let _ = ss.poll(server);
        let out = ss.take_output();
        if !out.is_empty() && stream.write_all(&out).is_err() {
            return;
        }
        if r.is_err() || ss.is_closed() {
            return;
        }
    }
}

/// One sync of `r` with `server` over a socket pair.
fn sync(r: &mut Replica<MemStore>, server: &mut Server<MemStore>, seed: u8) -> kenesh::SyncReport {
    let (client, peer) = UnixStream::pair().unwrap();
    std::thread::scope(|s| {
        s.spawn(|| serve(server, peer, seed.wrapping_add(100)));
        r.sync_over(client, [seed; 32], NOW).unwrap()
    })
}

fn enrolled(server: &mut Server<MemStore>, id: u32) -> Replica<MemStore> {
    let r = replica(id);
    server.enrol(id, r.public(), staff_grants()).unwrap();
    r
}

fn pid(n: u128) -> PersonId {
    PersonId(Id::from_u128(n))
}

#[test]
fn two_replicas_converge_through_sync_over() {
    let mut server = server();
    let mut a = enrolled(&mut server, 1);
    let mut b = enrolled(&mut server, 2);
    let mut w = a.at(NOW);
    w.add_person(&person(10)).unwrap();
    w.create_issue(&issue(20)).unwrap();
    w.support_issue(IssueId(Id::from_u128(20)), pid(10))
        .unwrap();
    w.set_status::<Issue, _>(Id::from_u128(20), IssueStatus::Published)
        .unwrap();
    b.at(NOW).create_issue(&issue(21)).unwrap();
    // A record larger than one frame travels in several commits.
    let mut big = recommendation(40, 10);
    big.body = LocalizedText::ky("ж".repeat(7_000));
    big.title = LocalizedText::ky("т".repeat(300)).with(text::Locale::Ru, "т".repeat(300));
    big.official_response = Some(OfficialResponse {
        received_on: day(),
        reference: "№ 12-3/456".into(),
        outcome: ResponseOutcome::UnderConsideration,
        summary: LocalizedText::ky("ө".repeat(2_000)),
    });
    a.at(NOW).draft_recommendation(&big).unwrap();

    let ra = sync(&mut a, &mut server, 1);
    assert_eq!(
        ra.acked_seq,
        a.device().own_seq(),
        "the server stored A's ops"
    );
    assert!(ra.stats.bytes_sent > 0 && ra.stats.bytes_received > 0);
    sync(&mut b, &mut server, 2);
    sync(&mut a, &mut server, 3);
    assert_eq!(a.state_hashes(), b.state_hashes());
    assert_eq!(a.state_hashes(), server.state().state_hashes());
    assert_eq!(a.state().snapshot(), b.state().snapshot());

    // Public values read the same on both (supporters are personal: below).
    for id in [20, 21] {
        let (mut x, mut y) = (
            a.get::<Issue>(Id::from_u128(id)).unwrap(),
            b.get::<Issue>(Id::from_u128(id)).unwrap(),
        );
        x.supporters.clear();
        y.supporters.clear();
        assert_eq!(x, y);
    }
    assert_eq!(
        b.issues(Some(muni()), Some(IssueStatus::Published)).len(),
        1
    );
    // A's sealed values open on B: A's keys for person 10 travelled with the commits.
    assert_eq!(
        b.get::<Issue>(Id::from_u128(20)).unwrap().supporters,
        [pid(10)].into()
    );
    assert_eq!(
        b.get::<Person>(Id::from_u128(10)).unwrap().name,
        person(10).name
    );
    assert_eq!(
        a.get::<Issue>(Id::from_u128(20)).unwrap().supporters,
        [pid(10)].into()
    );
}

#[test]
fn concurrent_edits_wait_for_review_until_resolved() {
    let mut server = server();
    let mut a = enrolled(&mut server, 1);
    let mut b = enrolled(&mut server, 2);
    a.at(NOW).create_issue(&issue(20)).unwrap();
    sync(&mut a, &mut server, 1);
    sync(&mut b, &mut server, 2);
    let mut x = a.get::<Issue>(Id::from_u128(20)).unwrap();
    x.title = LocalizedText::ky("Биринчи аталыш");
    a.at(NOW + 1).edit_issue(&x).unwrap();
    let mut y = b.get::<Issue>(Id::from_u128(20)).unwrap();
    y.title = LocalizedText::ky("Экинчи аталыш");
    b.at(NOW + 2).edit_issue(&y).unwrap();
    sync(&mut a, &mut server, 3);
    sync(&mut b, &mut server, 4);
    sync(&mut a, &mut server, 5);
    let review = a.review();
    assert_eq!(review.conflicts.len(), 1, "{review:?}");
    assert_eq!(review.conflicts[0].field, 1, "the title");
    assert_eq!(review.conflicts[0].candidates.len(), 2);
    assert_eq!(b.review(), review);

    // A person picks a title: the write supersedes both candidates.
    let mut z = a.get::<Issue>(Id::from_u128(20)).unwrap();
    z.title = LocalizedText::ky("Макулдашылган аталыш");
    a.at(NOW + 3).edit_issue(&z).unwrap();
    assert!(a.review().conflicts.is_empty());
    sync(&mut a, &mut server, 6);
    sync(&mut b, &mut server, 7);
    assert!(b.review().conflicts.is_empty());
    assert_eq!(b.get::<Issue>(Id::from_u128(20)).unwrap().title, z.title);
}

#[test]
fn eof_mid_session_is_a_clear_error_and_the_next_sync_resumes() {
    let mut server = server();
    let mut a = enrolled(&mut server, 1);
    a.at(NOW).create_issue(&issue(20)).unwrap();
    // The peer reads the first flight and hangs up.
    let (client, mut peer) = UnixStream::pair().unwrap();
    let err = std::thread::scope(|s| {
        s.spawn(move || {
            let mut len = [0u8; 4];
            peer.read_exact(&mut len).unwrap();
            let mut rest = vec![0u8; u32::from_le_bytes(len) as usize];
            peer.read_exact(&mut rest).unwrap();
            drop(peer);
        });
        a.sync_over(client, [1; 32], NOW).unwrap_err()
    });
    assert!(matches!(err, SyncError::Eof { received: 0 }), "{err:?}");
    // A peer announcing a message larger than Noise allows is refused before any buffer.
    let (client, mut peer) = UnixStream::pair().unwrap();
    let err = std::thread::scope(|s| {
        s.spawn(move || {
            let mut len = [0u8; 4];
            peer.read_exact(&mut len).unwrap();
            let mut rest = vec![0u8; u32::from_le_bytes(len) as usize];
            peer.read_exact(&mut rest).unwrap();
            peer.write_all(&u32::MAX.to_le_bytes()).unwrap();
        });
        a.sync_over(client, [2; 32], NOW).unwrap_err()
    });
    assert!(matches!(err, SyncError::TooLarge(u32::MAX)), "{err:?}");
    // Then a real session completes.
    let report = sync(&mut a, &mut server, 3);
    assert_eq!(report.acked_seq, a.device().own_seq());
    assert_eq!(a.state_hashes(), server.state().state_hashes());
}

#[test]
fn a_peer_without_the_tier_reads_personal_values_as_absent() {
    let mut server = server();
    let mut a = enrolled(&mut server, 1);
    // A partner that reads only public data of the municipality.
    let mut p = replica(3);
    server
        .enrol(
            3,
            p.public(),
            kenesh_sync::Grants::none().with(scope(), Tier::Public, kenesh_sync::Access::Read),
        )
        .unwrap();
    let mut w = a.at(NOW);
    w.add_person(&person(10)).unwrap();
    w.create_issue(&issue(20)).unwrap();
    w.support_issue(IssueId(Id::from_u128(20)), pid(10))
        .unwrap();
    w.comment(
        IssueId(Id::from_u128(20)),
        kenesh_model::Comment {
            at: Timestamp(NOW),
            by: Some(pid(10)),
            text: "жеке пикир".into(),
        },
    )
    .unwrap();
    sync(&mut a, &mut server, 1);
    sync(&mut p, &mut server, 2);
    assert!(
        p.device().keys().ids().is_empty(),
        "no key reached the partner"
    );
    // `reported_by` is personal and required: the typed issue is not whole here, but its
    // public fields are.
    assert!(p.get::<Issue>(Id::from_u128(20)).is_none());
    let i = p.fields(EntityKind::Issue, Id::from_u128(20)).unwrap();
    assert!(!i.has("reported_by"));
    assert_eq!(i.get::<LocalizedText>("title"), Some(issue(20).title));
    assert_eq!(i.get::<IssueStatus>("status"), Some(IssueStatus::Submitted));
    let supporters: std::collections::BTreeSet<PersonId> = i.get("supporters").unwrap();
    assert!(supporters.is_empty(), "withheld supports read as absent");
    let comments: Vec<kenesh_model::Comment> = i.get("comments").unwrap();
    assert!(comments.is_empty(), "withheld comments read as absent");
    let a_view = a.fields(EntityKind::Issue, Id::from_u128(20)).unwrap();
    assert_eq!(
        a_view
            .get::<Vec<kenesh_model::Comment>>("comments")
            .unwrap()
            .len(),
        1
    );
    assert!(p.get::<Person>(Id::from_u128(10)).is_none());
    // It holds the same envelopes in the scope's public tier.
    assert_eq!(
        p.state().state_hash(scope(), Tier::Public),
        a.state().state_hash(scope(), Tier::Public)
    );
}
