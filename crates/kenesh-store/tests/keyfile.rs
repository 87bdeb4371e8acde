//! The key file: keys persist, removals overwrite, torn slots read as free; and the issue's
//! canary test on real files — a sensitive value is never in the op store's bytes, and after
//! an erasure the person's key bytes are in neither file.

mod common;

use common::*;
use kenesh_merge::{FieldValue, Op};
use kenesh_model::schema::EntityKind;
use kenesh_model::{Id, PersonId, Tier};
use kenesh_store::{KeyFile, RedbStore};
use kenesh_sync::keys::KeyStore;
use kenesh_sync::{Device, KeyId, Secret};

fn id(p: u128, tier: Tier, origin: u32) -> KeyId {
    KeyId {
        person: PersonId(Id::from_u128(p)),
        tier,
        origin,
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn keys_persist_and_removed_keys_leave_no_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys");
    let mut kf = KeyFile::open(&path).unwrap();
    let a = id(1, Tier::Personal, 10);
    let b = id(1, Tier::Sensitive, 10);
    let c = id(2, Tier::Personal, 11);
    let (ka, kb, kc) = ([0xa5u8; 32], [0xb6u8; 32], [0xc7u8; 32]);
    assert!(kf.put(a, &ka).unwrap());
    assert!(kf.put(b, &kb).unwrap());
    assert!(kf.put(c, &kc).unwrap());
    // The first key of an id stays.
    assert!(!kf.put(a, &[0u8; 32]).unwrap());
    // Public payloads have no keys.
    assert!(!kf.put(id(3, Tier::Public, 10), &[1u8; 32]).unwrap());
    kf.sync().unwrap();
    drop(kf);

    let mut kf = KeyFile::open(&path).unwrap();
    assert_eq!(kf.ids(), vec![a, b, c]);
    assert_eq!(*kf.get(&b).unwrap(), kb);
    let raw = std::fs::read(&path).unwrap();
    assert!(contains(&raw, &ka) && contains(&raw, &kb) && contains(&raw, &kc));

    assert_eq!(kf.shred(PersonId(Id::from_u128(1))).unwrap(), 2);
    assert_eq!(kf.get(&a), None);
    kf.sync().unwrap();
    let raw = std::fs::read(&path).unwrap();
    assert!(
        !contains(&raw, &ka) && !contains(&raw, &kb),
        "shredded key bytes remain"
    );
    assert!(contains(&raw, &kc));
    // A freed slot is reused: the file does not grow.
    let len = raw.len();
    kf.put(id(4, Tier::Personal, 10), &[0xd8u8; 32]).unwrap();
    kf.sync().unwrap();
    assert_eq!(std::fs::read(&path).unwrap().len(), len);
    drop(kf);
    let kf = KeyFile::open(&path).unwrap();
    assert_eq!(kf.ids(), vec![c, id(4, Tier::Personal, 10)]);
}

#[test]
fn a_torn_slot_reads_as_free_and_is_zeroed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys");
    let mut kf = KeyFile::open(&path).unwrap();
    let (a, b) = (id(1, Tier::Personal, 10), id(2, Tier::Personal, 10));
    kf.put(a, &[0x11; 32]).unwrap();
    kf.put(b, &[0x22; 32]).unwrap();
    kf.sync().unwrap();
    drop(kf);
    // Tear the first slot (a write cut half-way) and leave half a slot at the end.
    let mut raw = std::fs::read(&path).unwrap();
    for byte in &mut raw[64 + 40..64 + 64] {
        *byte = 0x99;
    }
    raw.extend([0x77u8; 30]);
    std::fs::write(&path, &raw).unwrap();
    let mut kf = KeyFile::open(&path).unwrap();
    assert_eq!(kf.ids(), vec![b], "a torn slot must not be read as a key");
    kf.sync().unwrap();
    let raw = std::fs::read(&path).unwrap();
    assert!(
        raw[64..128].iter().all(|x| *x == 0),
        "the torn slot was not zeroed"
    );
    // Not a key file at all.
    std::fs::write(&path, [0x42u8; 200]).unwrap();
    assert!(KeyFile::open(&path).is_err());
}

const CANARY: &[u8] = "Үй-бүлөлүк зомбулук CANARY-5d1e-SENSITIVE".as_bytes();

#[test]
fn a_canary_is_never_in_the_op_store_and_an_erasure_leaves_its_key_in_neither_file() {
    let dir = tempfile::tempdir().unwrap();
    let (ops_path, keys_path) = (dir.path().join("ops.redb"), dir.path().join("keys"));
    let mut server = server();
    let secret = Secret::from_bytes([10; 32]);
    server
        .enrol(10, secret.public(), kiosk_grants(muni(1)))
        .unwrap();
    let open = |secret: Secret, server_keys| {
        Device::open(RedbStore::open(&ops_path).unwrap(), secret, 10, server_keys)
            .unwrap()
            .with_keys(Box::new(KeyFile::open(&keys_path).unwrap()))
            .unwrap()
    };
    let mut kiosk = open(secret.clone(), server.public());
    let person = PersonId(Id::from_u128(0x77));
    let case = Id::from_u128(0x78);
    let mut n = 0u8;
    let mut fresh = move || {
        n += 1;
        *blake3::hash(&[0x5e, n]).as_bytes()
    };
    let mut b = kiosk.builder();
    b.scope(muni(1)).at(NOW).persons(&[person]);
    let ops: Vec<Op> = vec![
        b.create(EntityKind::Person, person.0, vec![(1, b"Nurgul".to_vec())])
            .unwrap(),
        b.create(EntityKind::LegalCase, case, vec![(6, CANARY.to_vec())])
            .unwrap(),
    ]
    .into_iter()
    .map(|o| kiosk.seal(o, &mut fresh).unwrap())
    .collect();
    let create = ops[1].id();
    kiosk.commit(&ops).unwrap();
    sync_ok(&mut kiosk, &mut server, 1);
    let key = kiosk
        .keys()
        .get(&KeyId {
            person,
            tier: Tier::Sensitive,
            origin: 10,
        })
        .expect("the kiosk holds its key");
    drop(kiosk);
    let raw_ops = std::fs::read(&ops_path).unwrap();
    assert!(!contains(&raw_ops, CANARY), "the canary is in the op store");
    assert!(
        !contains(&raw_ops, key.as_ref()),
        "a key is in the op store"
    );
    assert!(contains(&std::fs::read(&keys_path).unwrap(), key.as_ref()));

    // Reopened from its files, the kiosk still opens its own intake.
    let mut kiosk = open(secret.clone(), server.public());
    let Some(FieldValue::Register { value: Some(v), .. }) =
        kiosk.state().field(EntityKind::LegalCase, case, 6)
    else {
        panic!("the case's closure is not held");
    };
    assert_eq!(kiosk.open_value(create, 6, &v).unwrap(), CANARY);

    // Erased: the key's bytes leave both files, and the canary cannot be recovered.
    let mut b = kiosk.builder();
    b.scope(muni(1)).at(NOW + 1_000);
    let erase = b.erase(person).unwrap();
    kiosk.commit(&[erase]).unwrap();
    sync_ok(&mut kiosk, &mut server, 2);
    assert!(kiosk.keys().ids().is_empty());
    assert!(server.keys().ids().is_empty());
    drop(kiosk);
    let raw_keys = std::fs::read(&keys_path).unwrap();
    let raw_ops = std::fs::read(&ops_path).unwrap();
    assert!(
        !contains(&raw_keys, key.as_ref()),
        "the key is in the key file"
    );
    assert!(
        !contains(&raw_ops, key.as_ref()),
        "the key is in the op store"
    );
    assert!(!contains(&raw_ops, CANARY));
    let kiosk = open(secret, server.public());
    assert!(kiosk.keys().ids().is_empty());
    assert!(kiosk.open_value(create, 6, &v).is_err());
}
