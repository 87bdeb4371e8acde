//! The file format is versioned: a file of every version made so far opens from now on (the
//! committed fixtures, one per version; an older one is migrated), a newer one is refused
//! with a typed error.
//!
//! The fixtures are made by [`write_fixture_when_asked`] for the version the build writes:
//! `tests/fixtures/v1.redb` by a build of format 1 (before commit 01696eb), `v2.redb` by
//! a build of format 2 (before the paged state), `v3.redb` by this one (a device's log with
//! its checkpoint: see [`write_v3_fixture_when_asked`]). A fixture is never rewritten once
//! committed.

mod common;

use std::path::PathBuf;

use common::*;
use kenesh_store::{FORMAT_VERSION, OpenError, RedbStore};
use kenesh_sync::{Device, MemStore, Secret, Store};
use redb::{ReadableDatabase, ReadableTableMetadata, TableDefinition};

const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");
const RECORDS_V1: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("records");

fn fixture(version: u64) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/v{version}.redb"))
}

/// The records the v1 fixture holds.
fn v1_records() -> Vec<Vec<u8>> {
    vec![
        b"kenesh v1 fixture".to_vec(),
        Vec::new(),
        (0..=255u8).collect(),
        "Көпүрө бузулду: айыл өкмөтүнө кайрылуу".as_bytes().to_vec(),
    ]
}

/// A record of text-like bytes, deterministic from `i` (about a kilobyte).
fn text_record(i: u32) -> Vec<u8> {
    let words = [
        "айыл",
        "өкмөт",
        "жол",
        "суу",
        "мектеп",
        "көпүрө",
        "демилге",
        "маселе",
    ];
    let mut x = i.wrapping_mul(2_654_435_761).wrapping_add(1);
    let mut out = format!("{i}:").into_bytes();
    while out.len() < 900 + (i as usize % 200) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out.extend_from_slice(words[x as usize % words.len()].as_bytes());
        out.extend_from_slice(format!(" {} ", x % 1000).as_bytes());
    }
    out
}

/// The records the v2 fixture holds: the v1 ones, then enough text for a sealed segment
/// and a tail after it.
fn v2_records() -> Vec<Vec<u8>> {
    let mut r = v1_records();
    r.extend((0..160).map(text_record));
    r
}

/// The records of the fixture of `version`.
fn records(version: u64) -> Vec<Vec<u8>> {
    match version {
        1 => v1_records(),
        _ => v2_records(),
    }
}

/// Writes the fixture of this build's version (in syncs of 1, 2, 3, … records, then
/// compacted):
/// `KENESH_WRITE_FIXTURE=1 cargo test -p kenesh-store --test format`. Only when the format
/// changes (with a new version and a new fixture beside the others); a committed fixture
/// is never rewritten.
#[test]
fn write_fixture_when_asked() {
    if std::env::var_os("KENESH_WRITE_FIXTURE").is_none() || FORMAT_VERSION != 2 {
        return;
    }
    let path = fixture(FORMAT_VERSION);
    let _ = std::fs::remove_file(&path);
    let mut s = RedbStore::open(&path).unwrap();
    let records = records(FORMAT_VERSION);
    // In syncs of 1, 2, 3, … records.
    let mut at = 0;
    let mut n = 1;
    while at < records.len() {
        for r in records.iter().skip(at).take(n) {
            s.stage(r).unwrap();
        }
        s.sync().unwrap();
        at += n;
        n += 1;
    }
    // Compacted, so that the committed file is no larger than it needs to be.
    s.compact().unwrap();
    assert!(s.sealed() > 0 && s.sealed() < s.durable());
}

fn format_of(path: &std::path::Path) -> u64 {
    let db = redb::Database::open(path).unwrap();
    let r = db.begin_read().unwrap();
    r.open_table(META)
        .unwrap()
        .get("format")
        .unwrap()
        .unwrap()
        .value()
}

/// Opens a copy of the fixture of `version` and checks it holds its records, then that it
/// takes one more.
fn fixture_opens(version: u64) -> RedbStore {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fixture.redb");
    std::fs::copy(fixture(version), &path).unwrap();
    assert_eq!(format_of(&path), version);
    let mut s = RedbStore::open(&path).unwrap();
    let want = records(version);
    assert_eq!(s.durable(), want.len() as u64);
    let got: Vec<Vec<u8>> = s
        .read(1, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    assert_eq!(got, want);
    for from in [1, 2, 5, s.sealed(), s.sealed() + 1, want.len() as u64] {
        let got = s.read(from, 3).unwrap();
        let expect: Vec<(u64, Vec<u8>)> = (from.max(1)..)
            .zip(want.iter().skip((from.max(1) - 1) as usize).cloned())
            .take(3)
            .collect();
        assert_eq!(got, expect, "from {from}");
    }
    assert!(s.check_integrity().unwrap());
    assert_eq!(s.stage(b"appended").unwrap(), want.len() as u64 + 1);
    assert_eq!(s.sync().unwrap(), want.len() as u64 + 1);
    drop(s);
    // The file is now of this build's version (migrated in the open) and reopens.
    assert_eq!(format_of(&path), FORMAT_VERSION);
    let s = RedbStore::open(&path).unwrap();
    assert_eq!(s.durable(), want.len() as u64 + 1);
    assert_eq!(s.read(want.len() as u64 + 1, 1).unwrap()[0].1, b"appended");
    s
}

#[test]
fn the_v1_fixture_opens() {
    fixture_opens(1);
}

#[test]
fn the_v2_fixture_opens() {
    let s = fixture_opens(2);
    // It holds a sealed segment and a tail after it.
    assert!(s.sealed() > 0);
    assert!(s.sealed() < s.durable());
}

/// A version 1 file of many records (made here with redb as a v1 build made it) is
/// migrated into segments and a tail in one transaction, the `records` table dropped.
#[test]
fn a_large_v1_file_migrates_to_segments() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1-large.redb");
    let want: Vec<Vec<u8>> = (0..1000).map(text_record).collect();
    {
        let db = redb::Database::create(&path).unwrap();
        let w = db.begin_write().unwrap();
        {
            let mut meta = w.open_table(META).unwrap();
            meta.insert("format", 1).unwrap();
            meta.insert("durable", want.len() as u64).unwrap();
            let mut records = w.open_table(RECORDS_V1).unwrap();
            for (i, r) in want.iter().enumerate() {
                records.insert(i as u64 + 1, r.as_slice()).unwrap();
            }
        }
        w.commit().unwrap();
    }
    let s = RedbStore::open(&path).unwrap();
    assert_eq!(s.durable(), 1000);
    assert!(s.sealed() > 500, "sealed {}", s.sealed());
    let got: Vec<Vec<u8>> = s
        .read(0, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    assert_eq!(got, want);
    drop(s);
    assert_eq!(format_of(&path), FORMAT_VERSION);
    let db = redb::Database::open(&path).unwrap();
    let r = db.begin_read().unwrap();
    assert!(matches!(
        r.open_table(RECORDS_V1),
        Err(redb::TableError::TableDoesNotExist(_))
    ));
}

/// A v1 file whose durable mark is not its last record is refused, not migrated.
#[test]
fn an_inconsistent_v1_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1-bad.redb");
    {
        let db = redb::Database::create(&path).unwrap();
        let w = db.begin_write().unwrap();
        {
            let mut meta = w.open_table(META).unwrap();
            meta.insert("format", 1).unwrap();
            meta.insert("durable", 3).unwrap();
            let mut records = w.open_table(RECORDS_V1).unwrap();
            records.insert(1, b"one".as_slice()).unwrap();
            assert_eq!(records.len().unwrap(), 1);
        }
        w.commit().unwrap();
    }
    assert!(matches!(RedbStore::open(&path), Err(OpenError::Corrupt(_))));
}

#[test]
fn a_newer_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("newer.redb");
    let mut s = RedbStore::open(&path).unwrap();
    s.stage(b"one").unwrap();
    s.sync().unwrap();
    drop(s);
    {
        let db = redb::Database::open(&path).unwrap();
        let w = db.begin_write().unwrap();
        {
            let mut t = w.open_table(META).unwrap();
            t.insert("format", FORMAT_VERSION + 1).unwrap();
        }
        w.commit().unwrap();
    }
    assert_eq!(
        RedbStore::open(&path).unwrap_err(),
        OpenError::NewerFormat {
            found: FORMAT_VERSION + 1,
            supported: FORMAT_VERSION
        }
    );
}

#[test]
fn a_redb_file_that_is_not_a_store_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.redb");
    {
        let db = redb::Database::create(&path).unwrap();
        let w = db.begin_write().unwrap();
        {
            w.open_table(META).unwrap().insert("other", 1).unwrap();
        }
        w.commit().unwrap();
    }
    assert!(matches!(RedbStore::open(&path), Err(OpenError::Corrupt(_))));
}

const KIOSK: u32 = 10;

/// The server the v3 fixture's kiosk synced with: another kiosk's 12 issues and 8 of its
/// own, the kiosk enrolled.
fn v3_server() -> kenesh_sync::Server<MemStore> {
    let mut s = server();
    let mut other = device(&mut s, 11, kiosk_grants(muni(1)));
    make_issues(&mut other, muni(1), 12, 5_000);
    sync_ok(&mut other, &mut s, 3);
    server_issues(&mut s, muni(1), 8, 9_000);
    s.enrol(
        KIOSK,
        Secret::from_bytes([KIOSK as u8; 32]).public(),
        kiosk_grants(muni(1)),
    )
    .unwrap();
    s
}

/// Writes `tests/fixtures/v3.redb`: a kiosk on redb makes 5 issues, syncs with the server
/// (receiving its 20), makes 2 more and syncs its store: the log of 4 commits… and the
/// checkpoint of its paged state (pages, meta, the device's part).
/// `KENESH_WRITE_FIXTURE=1 cargo test -p kenesh-store --test format`, once.
#[test]
fn write_v3_fixture_when_asked() {
    if std::env::var_os("KENESH_WRITE_FIXTURE").is_none() || FORMAT_VERSION != 3 {
        return;
    }
    let path = fixture(3);
    let _ = std::fs::remove_file(&path);
    let mut s = v3_server();
    let store = RedbStore::open(&path).unwrap();
    let mut d = Device::open(
        store,
        Secret::from_bytes([KIOSK as u8; 32]),
        KIOSK,
        s.public(),
    )
    .unwrap();
    d.checkpoint_from(0);
    make_issues(&mut d, muni(1), 5, 100_000);
    d.sync().unwrap();
    sync_ok(&mut d, &mut s, 7);
    make_issues(&mut d, muni(1), 2, 200_000);
    d.sync().unwrap();
    d.tidy().unwrap();
}

/// The v3 fixture opens as a device from its checkpoint, and holds what a replay of its
/// log holds: 7 own issues, the 20 received.
#[test]
fn the_v3_fixture_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fixture.redb");
    std::fs::copy(fixture(3), &path).unwrap();
    assert_eq!(format_of(&path), 3);
    let s = v3_server();
    let store = RedbStore::open(&path).unwrap();
    let saved = store
        .checkpoint()
        .unwrap()
        .expect("the fixture holds a checkpoint");
    assert_eq!(saved.position, store.durable());
    let secret = || Secret::from_bytes([KIOSK as u8; 32]);
    let d = Device::open(store, secret(), KIOSK, s.public()).unwrap();
    assert!(d.state().is_paged());
    assert_eq!(d.state().resident(), kenesh_merge::Resident::default());
    assert_eq!(d.own_seq(), 7);
    assert_eq!(d.state().len(), 27);
    let mut m = MemStore::new();
    for (_, r) in d.store().read(1, usize::MAX).unwrap() {
        m.stage(&r).unwrap();
    }
    m.sync().unwrap();
    let replayed = Device::open(m, secret(), KIOSK, s.public()).unwrap();
    assert_eq!(d.state().snapshot(), replayed.state().snapshot());
    assert_eq!(d.acked_seq(), replayed.acked_seq());
    assert_eq!(d.unacked_count(), replayed.unacked_count());
}
