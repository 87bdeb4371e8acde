//! Crypto-shredding through real sessions: sealed payloads reach the peers that may read
//! them with their keys, no one else gets a key or a byte of them, nothing in the clear is
//! stored, and an erasure destroys the person's keys everywhere it reaches.

mod common;

use common::*;
use kenesh_merge::{FieldValue, Op, OpId};
use kenesh_model::schema::EntityKind;
use kenesh_model::{Id, PersonId, Tier};
use kenesh_proto::Caps;
use kenesh_sync::{Access, Device, Grants, KeyId, MemStore, Server, Store};

const NAME: &[u8] = "Айгүл CANARY-PERSONAL-7f3a".as_bytes();
const CLOSURE: &[u8] = "Соттун чечими CANARY-SENSITIVE-91c2".as_bytes();

fn fresh(seed: u8) -> impl FnMut() -> [u8; 32] {
    let mut n = 0u64;
    move || {
        n += 1;
        let mut input = [0u8; 9];
        input[0] = seed;
        input[1..].copy_from_slice(&n.to_le_bytes());
        *blake3::hash(&input).as_bytes()
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Every record a store holds, concatenated (what its file would hold).
fn store_bytes<S: Store>(s: &S) -> Vec<u8> {
    s.read(1, usize::MAX)
        .unwrap()
        .into_iter()
        .flat_map(|(_, r)| r)
        .collect()
}

struct World {
    server: Server<MemStore>,
    kiosk: Device<MemStore>,
    staff: Device<MemStore>,
    partner: Device<MemStore>,
    person: PersonId,
    case: Id,
}

/// A kiosk (writes sensitive, reads personal) takes a person and their legal case; staff
/// read sensitive; a partner reads personal only.
fn world() -> World {
    let scope = muni(1);
    let mut server = server();
    let mut kiosk = device(&mut server, 10, kiosk_grants(scope));
    let staff_grants = Grants::none()
        .up_to(scope, Tier::Sensitive, Access::Read)
        .up_to(scope, Tier::Sensitive, Access::Write);
    let mut staff = device(&mut server, 60, staff_grants);
    let partner = device(
        &mut server,
        50,
        Grants::none().up_to(scope, Tier::Personal, Access::Read),
    );
    let person = PersonId(Id::from_u128(0xa1));
    let case = Id::from_u128(0xc1);
    let mut key = fresh(10);
    let mut b = kiosk.builder();
    b.scope(scope).at(NOW).persons(&[person]);
    let p = b
        .create(EntityKind::Person, person.0, vec![(1, NAME.to_vec())])
        .unwrap();
    let c = b
        .create(EntityKind::LegalCase, case, vec![(6, CLOSURE.to_vec())])
        .unwrap();
    let ops: Vec<Op> = [p, c]
        .into_iter()
        .map(|o| kiosk.seal(o, &mut key).unwrap())
        .collect();
    kiosk.commit(&ops).unwrap();
    sync_ok(&mut kiosk, &mut server, 1);
    sync_ok(&mut staff, &mut server, 2);
    World {
        server,
        kiosk,
        staff,
        partner,
        person,
        case,
    }
}

fn register(d: &Device<MemStore>, kind: EntityKind, id: Id, field: u16) -> Option<(OpId, Vec<u8>)> {
    match d.state().field(kind, id, field)? {
        FieldValue::Register {
            value: Some(v), op, ..
        } => Some((op, v)),
        _ => None,
    }
}

#[test]
fn sealed_payloads_reach_readers_with_their_keys_and_no_one_else() {
    let mut w = world();
    // Nothing in the clear in any op store, the kiosk's included.
    for (who, bytes) in [
        ("kiosk", store_bytes(w.kiosk.store())),
        ("server", store_bytes(w.server.store())),
        ("staff", store_bytes(w.staff.store())),
    ] {
        assert!(!contains(&bytes, NAME), "{who}'s store holds the name");
        assert!(
            !contains(&bytes, CLOSURE),
            "{who}'s store holds the closure"
        );
        assert!(!bytes.is_empty());
    }
    // The server holds the kiosk's two keys (personal and sensitive) for the person.
    let ids = w.server.keys().ids();
    for tier in [Tier::Personal, Tier::Sensitive] {
        assert!(ids.contains(&KeyId {
            person: w.person,
            tier,
            origin: 10
        }));
    }
    // Staff read sensitive: they open both values.
    let (op, v) = register(&w.staff, EntityKind::LegalCase, w.case, 6).expect("closure held");
    assert_ne!(v, CLOSURE, "the state holds the sealed bytes");
    assert_eq!(w.staff.open_value(op, 6, &v).unwrap(), CLOSURE);
    let (op, v) = register(&w.staff, EntityKind::Person, w.person.0, 1).expect("name held");
    assert_eq!(w.staff.open_value(op, 1, &v).unwrap(), NAME);

    // The partner reads personal only: the name and its key, nothing sensitive.
    sync_ok(&mut w.partner, &mut w.server, 3);
    let (op, v) = register(&w.partner, EntityKind::Person, w.person.0, 1).expect("name held");
    assert_eq!(w.partner.open_value(op, 1, &v).unwrap(), NAME);
    assert_eq!(
        register(&w.partner, EntityKind::LegalCase, w.case, 6),
        None,
        "a sensitive payload reached the partner"
    );
    assert!(
        w.partner
            .keys()
            .ids()
            .iter()
            .all(|k| k.tier != Tier::Sensitive),
        "a sensitive key reached the partner"
    );
    let sensitive = w
        .server
        .keys()
        .get(&KeyId {
            person: w.person,
            tier: Tier::Sensitive,
            origin: 10,
        })
        .unwrap();
    let everything = store_bytes(w.partner.store());
    assert!(!contains(&everything, sensitive.as_ref()));
    assert!(!contains(&everything, CLOSURE));
    // Op by op, every sensitive op it received came without its payload.
    let mut sensitive_ops = 0;
    for c in w.partner.received_commits().unwrap() {
        for op in c.ops() {
            if op.envelope().tier == Tier::Sensitive {
                sensitive_ops += 1;
                assert!(
                    op.payload().is_none(),
                    "{:?} came with its payload",
                    op.id()
                );
            }
        }
    }
    assert!(
        sensitive_ops > 0,
        "the envelopes of sensitive ops are never withheld"
    );
}

#[test]
fn a_snapshot_carries_the_keys_of_its_payloads() {
    let mut w = world();
    let grants = Grants::none().up_to(muni(1), Tier::Sensitive, Access::Read);
    let mut fresh_staff = device(&mut w.server, 61, grants);
    let (outcome, _) = sync_with(
        &mut fresh_staff,
        &mut w.server,
        4,
        None,
        Caps::ZSTD.union(Caps::SNAPSHOT),
    );
    assert!(matches!(outcome, Outcome::Done { .. }), "{outcome:?}");
    let (op, v) = register(&fresh_staff, EntityKind::LegalCase, w.case, 6).expect("held");
    assert_eq!(fresh_staff.open_value(op, 6, &v).unwrap(), CLOSURE);
}

#[test]
fn an_erasure_shreds_the_persons_keys_everywhere_it_reaches() {
    let mut w = world();
    sync_ok(&mut w.partner, &mut w.server, 3);
    let held = |d: &Device<MemStore>, p: PersonId| d.keys().ids().iter().any(|k| k.person == p);
    assert!(held(&w.staff, w.person) && held(&w.partner, w.person) && held(&w.kiosk, w.person));
    let sensitive = w
        .server
        .keys()
        .get(&KeyId {
            person: w.person,
            tier: Tier::Sensitive,
            origin: 10,
        })
        .unwrap();

    let mut b = w.staff.builder();
    b.scope(muni(1)).at(NOW + 1_000);
    let erase = b.erase(w.person).unwrap();
    w.staff.commit(&[erase]).unwrap();
    // The staff device's own sync destroys its copy of the keys.
    sync_ok(&mut w.staff, &mut w.server, 5);
    assert!(!held(&w.staff, w.person), "staff kept a key");
    assert!(
        w.server.keys().ids().iter().all(|k| k.person != w.person),
        "the server kept a key"
    );
    sync_ok(&mut w.partner, &mut w.server, 6);
    sync_ok(&mut w.kiosk, &mut w.server, 7);
    assert!(!held(&w.partner, w.person), "the partner kept a key");
    assert!(!held(&w.kiosk, w.person), "the kiosk kept its own key");
    // Nothing opens any more, and the key's bytes are in no op store.
    for d in [&w.staff, &w.kiosk, &w.partner] {
        assert_eq!(register(d, EntityKind::LegalCase, w.case, 6), None);
        assert!(!contains(&store_bytes(d.store()), sensitive.as_ref()));
    }
    assert!(!contains(
        &store_bytes(w.server.store()),
        sensitive.as_ref()
    ));
    // Nothing new is sealed for an erased person.
    let mut b = w.kiosk.builder();
    b.scope(muni(1)).at(NOW + 2_000).persons(&[w.person]);
    let again = b
        .set(
            EntityKind::Person,
            w.person.0,
            8,
            b"+996 555 000 111".to_vec(),
            &[],
        )
        .unwrap();
    assert!(matches!(
        w.kiosk.seal(again, &mut fresh(11)),
        Err(kenesh_sync::SyncError::Key(kenesh_sync::KeyError::Erased(p))) if p == w.person
    ));
}

#[test]
fn a_public_kiosk_purges_only_what_an_earlier_session_confirmed() {
    let scope = muni(1);
    let mut server = server();
    let mut kiosk = device(&mut server, 10, kiosk_grants(scope));
    let staff_grants = Grants::none()
        .up_to(scope, Tier::Sensitive, Access::Read)
        .up_to(scope, Tier::Sensitive, Access::Write);
    let mut staff = device(&mut server, 60, staff_grants);
    let person = PersonId(Id::from_u128(0xb1));
    let mut key = fresh(12);
    let mut b = kiosk.builder();
    b.scope(scope).at(NOW).persons(&[person]);
    let op = b
        .create(EntityKind::Person, person.0, vec![(1, NAME.to_vec())])
        .unwrap();
    let op = kiosk.seal(op, &mut key).unwrap();
    let id = op.id();
    kiosk.commit(&[op]).unwrap();
    // Nothing is purgeable before the server has it, nor on its first acknowledgement.
    assert!(kiosk.purgeable_keys().is_empty());
    sync_ok(&mut kiosk, &mut server, 1);
    assert_eq!(kiosk.acked_seq(), 1);
    assert_eq!(
        kiosk.purge().unwrap(),
        0,
        "purged on the first acknowledgement"
    );
    let name = |d: &Device<MemStore>| match d.state().field(EntityKind::Person, person.0, 1) {
        Some(FieldValue::Register { value: Some(v), .. }) => d.open_value(id, 1, &v).ok(),
        _ => None,
    };
    assert_eq!(name(&kiosk).as_deref(), Some(NAME));
    // A later session reports it again: now the kiosk destroys its key.
    sync_ok(&mut kiosk, &mut server, 2);
    assert_eq!(
        kiosk.purge().unwrap(),
        1,
        "one key: the person's, personal tier"
    );
    assert!(kiosk.keys().ids().is_empty());
    assert_eq!(name(&kiosk), None, "the kiosk still reads a purged payload");
    // Nothing more is sealed for that person here (a new key would reach no one: the
    // server keeps the first); a new person record is written instead.
    let mut b = kiosk.builder();
    b.scope(scope).at(NOW + 5_000).persons(&[person]);
    let again = b
        .set(EntityKind::Person, person.0, 8, b"+996 555 1".to_vec(), &[])
        .unwrap();
    assert!(matches!(
        kiosk.seal(again, &mut key),
        Err(kenesh_sync::SyncError::Key(kenesh_sync::KeyError::Purged(k))) if k.person == person
    ));
    // The server and staff keep theirs.
    sync_ok(&mut staff, &mut server, 3);
    assert_eq!(name(&staff).as_deref(), Some(NAME));
    assert_eq!(server.keys().ids().len(), 1);
}

#[test]
fn a_partner_receives_only_the_persons_whose_consent_covers_it_and_a_withdrawal_stops_it() {
    use kenesh_model::{Purpose, Timestamp};
    let scope = muni(1);
    let mut server = server();
    let mut kiosk = device(&mut server, 10, kiosk_grants(scope));
    // A legal-aid NGO: reads everything of the municipality, as a third party for legal aid.
    let mut ngo = device(
        &mut server,
        50,
        Grants::none().up_to(scope, Tier::Sensitive, Access::Read),
    );
    server
        .set_purposes(50, Some(vec![Purpose::LegalAid]))
        .unwrap();
    let people: Vec<PersonId> = (1..=3).map(|n| PersonId(Id::from_u128(0xd0 + n))).collect();
    let consents = [
        (people[0], Some(Purpose::LegalAid)),
        (people[1], Some(Purpose::Participation)),
        (people[2], None),
    ];
    let mut key = fresh(13);
    let mut ops = Vec::new();
    let mut b = kiosk.builder();
    b.scope(scope).at(NOW);
    let mut consent_ids = Vec::new();
    for (i, (p, purpose)) in consents.iter().enumerate() {
        b.persons(&[*p]);
        let name = format!("Person {i} CANARY-{i}").into_bytes();
        ops.push(b.create(EntityKind::Person, p.0, vec![(1, name)]).unwrap());
        if let Some(purpose) = purpose {
            let c = Id::from_u128(0xe0 + i as u128);
            consent_ids.push(c);
            ops.push(
                b.create(
                    EntityKind::Consent,
                    c,
                    vec![
                        (1, postcard::to_allocvec(p).unwrap()),
                        (2, postcard::to_allocvec(purpose).unwrap()),
                        (5, postcard::to_allocvec(&None::<Timestamp>).unwrap()),
                    ],
                )
                .unwrap(),
            );
        }
    }
    let ops: Vec<Op> = ops
        .into_iter()
        .map(|o| kiosk.seal(o, &mut key).unwrap())
        .collect();
    kiosk.commit(&ops).unwrap();
    sync_ok(&mut kiosk, &mut server, 1);
    sync_ok(&mut ngo, &mut server, 2);
    let name = |d: &Device<MemStore>, p: PersonId| match d.state().field(EntityKind::Person, p.0, 1)
    {
        Some(FieldValue::Register {
            value: Some(v), op, ..
        }) => d.open_value(op, 1, &v).ok(),
        _ => None,
    };
    assert_eq!(
        name(&ngo, people[0]).as_deref(),
        Some(&b"Person 0 CANARY-0"[..])
    );
    assert_eq!(name(&ngo, people[1]), None, "consent for another purpose");
    assert_eq!(name(&ngo, people[2]), None, "no consent");
    assert!(
        ngo.keys().ids().iter().all(|k| k.person == people[0]),
        "a key of a person whose consent does not cover the NGO"
    );
    // Envelopes still go: the NGO knows the records exist.
    assert!(
        ngo.state()
            .record(EntityKind::Person, people[1].0)
            .is_some()
    );

    // The first person withdraws; what is written about them afterwards stays back.
    let mut b = kiosk.builder();
    b.scope(scope).at(NOW + 10_000).persons(&[people[0]]);
    let withdraw = b
        .set(
            EntityKind::Consent,
            consent_ids[0],
            5,
            postcard::to_allocvec(&Some(Timestamp(NOW + 10_000))).unwrap(),
            &[],
        )
        .unwrap();
    let phone = b
        .set(
            EntityKind::Person,
            people[0].0,
            8,
            b"+996 700 123 456".to_vec(),
            &[],
        )
        .unwrap();
    let phone_id = phone.id();
    let ops: Vec<Op> = [withdraw, phone]
        .into_iter()
        .map(|o| kiosk.seal(o, &mut key).unwrap())
        .collect();
    kiosk.commit(&ops).unwrap();
    sync_ok(&mut kiosk, &mut server, 3);
    sync_ok(&mut ngo, &mut server, 4);
    let got = ngo.state().op(phone_id).expect("the envelope arrived");
    assert!(
        got.payload().is_none(),
        "a payload went after the withdrawal"
    );
    // An own device of the programme (no purposes) still gets it.
    let mut staff = device(
        &mut server,
        60,
        Grants::none().up_to(scope, Tier::Sensitive, Access::Read),
    );
    sync_ok(&mut staff, &mut server, 5);
    assert!(staff.state().op(phone_id).unwrap().payload().is_some());
}
