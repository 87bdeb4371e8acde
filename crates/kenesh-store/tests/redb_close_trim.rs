//! A deterministic reproduction of a fault of redb 3.1.3 (the crate docs, "redb version"):
//! after a clean close in which redb shrank the file, the next open's `check_integrity`
//! reported a repair (`Ok(false)`); a second check passed. It made `tests/process_death.rs`
//! fail now and then. redb 4.6 does not; this guards it.

use kenesh_store::RedbStore;
use kenesh_store::sim::SimFile;
use kenesh_sync::Store;

#[test]
fn a_check_after_a_clean_close_finds_nothing_to_repair() {
    let mut image = Vec::new();
    let mut failed = Vec::new();
    for round in 0..120u64 {
        let f = SimFile::from_image(image.clone());
        let before;
        {
            let mut s = RedbStore::with_backend(f.clone()).unwrap();
            for i in 0..1 + round % 3 {
                let pos = s.staged() + 1;
                let r = format!("record {pos};").repeat(1 + ((pos + i) % 40) as usize);
                s.stage(r.as_bytes()).unwrap();
                s.sync().unwrap();
            }
            before = f.image().len();
        }
        image = f.image();
        let mut s = RedbStore::with_backend(SimFile::from_image(image.clone())).unwrap();
        if !s.check_integrity().unwrap() {
            println!(
                "round {round}: the close shrank the file {before} -> {}; the check repaired",
                image.len()
            );
            failed.push(round);
        }
    }
    assert!(failed.is_empty(), "rounds {failed:?}");
}
