//! A replica on a directory: reopening gives the same state; sensitive values never reach
//! the op file in the clear.

mod common;

use common::*;
use kenesh::{OPS_FILE, Options, Replica};
use kenesh_model::*;
use kenesh_sync::Secret;

fn open(dir: &std::path::Path) -> Replica {
    Replica::open(
        dir,
        Secret::from_bytes([1; 32]),
        1,
        Secret::from_bytes(SERVER_SECRET).public(),
        Options::seeded([1; 32]),
    )
    .unwrap()
}

#[test]
fn reopening_gives_the_same_state_and_writes_continue() {
    let dir = tempfile::tempdir().unwrap();
    let (hashes, snapshot, seq) = {
        let mut r = open(dir.path());
        let mut w = r.at(NOW);
        w.add_person(&person(10)).unwrap();
        w.create_issue(&issue(20)).unwrap();
        w.support_issue(IssueId(Id::from_u128(20)), PersonId(Id::from_u128(10)))
            .unwrap();
        w.set_status::<Issue, _>(Id::from_u128(20), IssueStatus::Published)
            .unwrap();
        w.take_request(&request(60, 10, "факттар")).unwrap();
        (r.state_hashes(), r.state().snapshot(), r.device().own_seq())
    };
    assert!(dir.path().join(OPS_FILE).exists());
    let mut r = open(dir.path());
    assert_eq!(r.state_hashes(), hashes);
    assert_eq!(r.state().snapshot(), snapshot);
    assert_eq!(r.device().own_seq(), seq);
    let i = r.get::<Issue>(Id::from_u128(20)).unwrap();
    assert_eq!(i.status, IssueStatus::Published);
    assert_eq!(i.title, issue(20).title);
    // Sealed values open again: the keys were kept in the key file.
    assert_eq!(i.supporters, [PersonId(Id::from_u128(10))].into());
    assert_eq!(
        r.get::<Person>(Id::from_u128(10)).unwrap().name,
        person(10).name
    );
    assert_eq!(
        r.get::<LegalAidRequest>(Id::from_u128(60)).unwrap().facts,
        "факттар"
    );
    // New writes continue the device's seqs (no op id is made twice).
    r.at(NOW + 1)
        .set_status::<Issue, _>(Id::from_u128(20), IssueStatus::Acknowledged)
        .unwrap();
    assert_eq!(r.device().own_seq(), seq + 1);
    assert!(r.review().flags.is_empty());
    drop(r);
    let r = open(dir.path());
    assert_eq!(
        r.get::<Issue>(Id::from_u128(20)).unwrap().status,
        IssueStatus::Acknowledged
    );
}

#[test]
fn a_sensitive_canary_is_not_in_the_op_file() {
    const CANARY: &str = "CANARY-d41f-үй-бүлөлүк-зомбулук-7e2b";
    const PUBLIC: &str = "PUBLIC-MARKER-9c1a";
    let dir = tempfile::tempdir().unwrap();
    {
        let mut r = open(dir.path());
        let mut w = r.at(NOW);
        w.add_person(&person(10)).unwrap();
        w.take_request(&request(60, 10, CANARY)).unwrap();
        w.open_case(&case(61, 60)).unwrap();
        w.add_hearing(
            Id::from_u128(61),
            Hearing {
                on: day(),
                court: "Баткен районунун соту".into(),
                note: CANARY.into(),
            },
        )
        .unwrap();
        let mut i = issue(20);
        i.place = Some(PUBLIC.into());
        w.create_issue(&i).unwrap();
        // Written, and readable here with the keys.
        assert_eq!(
            r.get::<LegalAidRequest>(Id::from_u128(60)).unwrap().facts,
            CANARY
        );
        assert_eq!(
            r.get::<LegalCase>(Id::from_u128(61)).unwrap().hearings[0].note,
            CANARY
        );
    }
    let bytes = std::fs::read(dir.path().join(OPS_FILE)).unwrap();
    let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(has(PUBLIC.as_bytes()), "the search finds plain values");
    assert!(!has(CANARY.as_bytes()), "a sensitive value is in the file");
    // Not even its Kyrgyz part alone.
    assert!(!has("үй-бүлөлүк-зомбулук".as_bytes()));
}

#[test]
fn an_erasure_outlives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let p = PersonId(Id::from_u128(10));
    {
        let mut r = open(dir.path());
        let mut w = r.at(NOW);
        w.add_person(&person(10)).unwrap();
        w.add_person(&person(11)).unwrap();
        w.take_request(&request(60, 10, "факттар")).unwrap();
        assert!(r.device().keys().ids().iter().any(|k| k.person == p));
        r.at(NOW + 1).erase_person(p).unwrap();
        assert!(r.device().keys().ids().iter().all(|k| k.person != p));
    }
    let r = open(dir.path());
    assert!(r.device().keys().ids().iter().all(|k| k.person != p));
    assert!(r.get::<Person>(Id::from_u128(10)).is_none());
    assert!(r.get::<LegalAidRequest>(Id::from_u128(60)).is_none());
    assert!(r.get::<Person>(Id::from_u128(11)).is_some());
    assert!(r.subject_access(p).erased);
}
