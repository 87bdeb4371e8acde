//! Stored bytes on the reference workload (WORKLOAD.md, size S): a kiosk's replica on a
//! [`RedbStore`] file syncs the server's 2,000 records (the initial sync, by snapshot), then
//! the incremental scenario's edits both ways; the file's size is printed after each step,
//! beside Automerge's figure for the same records. The server is on a `RedbStore` file too.
//!
//! `cargo run --release -p kenesh-store --example stored`

#[path = "../../kenesh-sync/tests/common/workload.rs"]
#[allow(dead_code, unreachable_pub)]
mod workload;

use kenesh_store::RedbStore;
use kenesh_sync::{Device, Secret, Server, ServerConfig, Store};
use kenesh_workload::{CREATION_SPAN_MS, DEFAULT_SEED, EPOCH_MS, Size, Workload};
use workload::*;

/// Automerge's stored bytes for the S records: its document as `save()` writes it, which is
/// what its initial sync sends (WORKLOAD.md's table: 626,770 bytes "compressed").
const AUTOMERGE_S: u64 = 626_770;

fn size(s: &RedbStore) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(s.path().unwrap()).unwrap();
    (m.len(), m.blocks() * 512)
}

fn line(what: &str, s: &RedbStore) {
    let (n, blocks) = size(s);
    let records = s.durable();
    let payload: u64 = s
        .read(1, usize::MAX)
        .unwrap()
        .iter()
        .map(|(_, r)| r.len() as u64)
        .sum();
    let st = s.stats().unwrap();
    println!(
        "  {what:<34} {n:>10} bytes in the file ({:.3}× Automerge's {AUTOMERGE_S}), {blocks} on disk; {records} records of {payload} bytes",
        n as f64 / AUTOMERGE_S as f64
    );
    println!(
        "  {:<34} {} segments of {} bytes for records 1..={}, a tail of {} records of {} bytes; redb allocated {} bytes ({} fragmented)",
        "",
        st.segments,
        st.segment_bytes,
        st.sealed,
        st.tail_records,
        st.tail_bytes,
        st.allocated_bytes,
        st.fragmented_bytes
    );
}

/// What the pages of a state would hold if it were checkpointed (a replica this small is
/// not: see `kenesh_sync::CHECKPOINT_OPS`): record and index pages, raw and compressed as
/// the store compresses them.
fn pages_of(state: &kenesh_merge::State) {
    struct Nothing;
    impl kenesh_merge::PageSource for Nothing {
        fn read(&self, page: u64) -> Result<Vec<u8>, kenesh_merge::PageError> {
            Err(kenesh_merge::PageError::Missing(page))
        }
    }
    let mut p = kenesh_merge::State::paged(std::sync::Arc::new(Nothing));
    for op in state.all_ops() {
        p.apply(op);
    }
    let cp = p.checkpoint().unwrap();
    let mut by_kind = [(0usize, 0usize, 0usize); 2];
    for (_, raw) in cp.pages() {
        let k = usize::from(raw[1]).min(1);
        let z = zstd::bulk::compress(raw, 3).unwrap().len();
        by_kind[k].0 += 1;
        by_kind[k].1 += raw.len();
        by_kind[k].2 += z;
    }
    println!(
        "  its pages, if checkpointed: {} record pages of {} bytes ({} compressed), {} index pages of {} bytes ({} compressed), meta {} bytes",
        by_kind[0].0,
        by_kind[0].1,
        by_kind[0].2,
        by_kind[1].0,
        by_kind[1].1,
        by_kind[1].2,
        cp.meta().len()
    );
}

fn main() {
    let dir = std::env::temp_dir().join(format!("kenesh-stored-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let w = Workload::new(Size::S, DEFAULT_SEED);
    println!(
        "stored bytes, workload S ({} records), format v{}:",
        w.initial.len(),
        kenesh_store::FORMAT_VERSION
    );
    let server_store = RedbStore::open(dir.join("server.redb")).unwrap();
    let mut s = Server::open(
        server_store,
        Secret::from_bytes([0xee; 32]),
        ServerConfig::default(),
    )
    .unwrap();
    let mut tracker = Tracker::default();
    for r in &w.initial {
        let mut b = s.builder();
        let ops = create(&mut b, r);
        s.commit_local(&ops, r.updated).unwrap();
        tracker.learn(r);
        // One sync per record, as a server committing them over time would.
        s.sync().unwrap();
    }
    let secret = Secret::from_bytes([KIOSK as u8; 32]);
    s.enrol(KIOSK, secret.public(), kiosk_grants(&w.initial))
        .unwrap();
    s.sync().unwrap();
    let kiosk = RedbStore::open(dir.join("kiosk.redb")).unwrap();
    let mut d = Device::open(kiosk, secret, KIOSK, s.public()).unwrap();
    sync(&mut d, &mut s, 1, EPOCH_MS + CREATION_SPAN_MS);
    assert_eq!(d.state().state_hashes(), s.state().state_hashes());
    line("kiosk after the initial sync", d.store());
    pages_of(d.state());
    let edits = &w.incremental;
    let mut kt = tracker.clone();
    edit_kiosk(&mut d, &mut kt, &edits.kiosk);
    edit_server(&mut s, &mut tracker, &edits.server);
    let now = edits
        .server
        .last()
        .map_or(0, |e| e.at)
        .max(edits.kiosk.last().map_or(0, |e| e.at));
    sync(&mut d, &mut s, 2, now);
    assert_eq!(d.state().state_hashes(), s.state().state_hashes());
    line("kiosk after the incremental sync", d.store());
    line("server (one sync per record)", s.store());
    let mut kiosk = d.into_store();
    kiosk.compact().unwrap();
    line("kiosk, compacted", &kiosk);
    kiosk.seal_tail().unwrap();
    kiosk.compact().unwrap();
    line("kiosk, tail sealed and compacted", &kiosk);
    let mut server = s.into_store();
    server.compact().unwrap();
    line("server, compacted", &server);
    let _ = std::fs::remove_dir_all(&dir);
}
