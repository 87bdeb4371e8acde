//! The file format is versioned: a file of this version opens from now on (the committed
//! fixture), a newer one is refused with a typed error.

use std::path::PathBuf;

use kenesh_store::{FORMAT_VERSION, OpenError, RedbStore};
use kenesh_sync::Store;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1.redb")
}

/// The records the fixture holds.
fn fixture_records() -> Vec<Vec<u8>> {
    vec![
        b"kenesh v1 fixture".to_vec(),
        Vec::new(),
        (0..=255u8).collect(),
        "Көпүрө бузулду: айыл өкмөтүнө кайрылуу".as_bytes().to_vec(),
    ]
}

/// Writes the fixture: `KENESH_WRITE_FIXTURE=1 cargo test -p kenesh-store --test format`.
/// Only when the format changes (with a new version and a new fixture beside this one).
#[test]
fn write_fixture_when_asked() {
    if std::env::var_os("KENESH_WRITE_FIXTURE").is_none() {
        return;
    }
    let path = fixture();
    let _ = std::fs::remove_file(&path);
    let mut s = RedbStore::open(&path).unwrap();
    let records = fixture_records();
    for r in &records[..2] {
        s.stage(r).unwrap();
    }
    s.sync().unwrap();
    for r in &records[2..] {
        s.stage(r).unwrap();
    }
    s.sync().unwrap();
}

#[test]
fn the_v1_fixture_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.redb");
    std::fs::copy(fixture(), &path).unwrap();
    let mut s = RedbStore::open(&path).unwrap();
    let want = fixture_records();
    assert_eq!(s.durable(), want.len() as u64);
    let got: Vec<Vec<u8>> = s
        .read(1, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    assert_eq!(got, want);
    assert!(s.check_integrity().unwrap());
    assert_eq!(s.stage(b"appended").unwrap(), want.len() as u64 + 1);
    assert_eq!(s.sync().unwrap(), want.len() as u64 + 1);
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
            let meta: redb::TableDefinition<'_, &str, u64> = redb::TableDefinition::new("meta");
            let mut t = w.open_table(meta).unwrap();
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
            let meta: redb::TableDefinition<'_, &str, u64> = redb::TableDefinition::new("meta");
            w.open_table(meta).unwrap().insert("other", 1).unwrap();
        }
        w.commit().unwrap();
    }
    assert!(matches!(RedbStore::open(&path), Err(OpenError::Corrupt(_))));
}
