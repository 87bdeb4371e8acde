//! Peak memory of a kiosk replica holding 100,000 records, against its file's size (the
//! target: memory ≤ 2× the file). Makes the store (a kiosk's 100,000 commit records: issues,
//! status changes, supporters), then, in a fresh process, opens it as a device (redb, then
//! the replay of every record into the merged state) and reports the peak resident set
//! (`VmHWM`) beside the baseline of an empty process and the file's bytes.
//!
//! `cargo run --release -p kenesh-store --example memory [records]`

#[path = "../../kenesh-sync/tests/common/workload.rs"]
#[allow(dead_code, unreachable_pub)]
mod workload;

use std::path::Path;
use std::time::Instant;

use kenesh_store::RedbStore;
use kenesh_sync::{Device, Secret, Store};
use workload::KIOSK;

fn server_secret() -> Secret {
    Secret::from_bytes([0xee; 32])
}

fn kiosk_secret() -> Secret {
    Secret::from_bytes([KIOSK as u8; 32])
}

/// Peak and current resident set of this process, in bytes (Linux `/proc`).
fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    (kb("VmHWM:"), kb("VmRSS:"))
}

fn make(path: &Path, records: usize) {
    let d = workload::kiosk_store(records);
    let mut s = RedbStore::open(path).expect("a new store");
    for batch in d.read(1, usize::MAX).expect("read").chunks(1_000) {
        for (_, r) in batch {
            s.stage(r).expect("stage");
        }
        s.sync().expect("sync");
    }
}

/// The first open of the store as a device: no checkpoint yet, so every record is replayed
/// into the state (all of it in memory), then a sync writes the first checkpoint (the pages
/// and the meta) and lets the pages beyond the resident count go.
fn first(path: &Path) {
    let started = Instant::now();
    let store = RedbStore::open(path).expect("the store opens");
    let mut d = Device::open(store, kiosk_secret(), KIOSK, server_secret().public())
        .expect("the device opens");
    let replayed = started.elapsed();
    d.sync().expect("the first checkpoint is written");
    let all = started.elapsed();
    let (peak, now) = rss();
    println!(
        "first open: the replay of {} ops {replayed:.1?}, with the first checkpoint {all:.1?}; resident: peak {peak}, after {now}; in memory: {:?}",
        d.state().len(),
        d.state().resident()
    );
    d.tidy().expect("tidy");
}

fn open(path: &Path) {
    let (base_peak, _) = rss();
    let started = Instant::now();
    let store = RedbStore::open(path).expect("the store opens");
    let redb = started.elapsed();
    let d = Device::open(store, kiosk_secret(), KIOSK, server_secret().public())
        .expect("the device opens");
    let all = started.elapsed();
    let (peak, now) = rss();
    let file = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    println!(
        "open: redb {redb:.1?}, the device (from its checkpoint) {all:.1?}: {} ops held",
        d.state().len()
    );
    println!(
        "file {file} bytes; resident: baseline {base_peak}, peak {peak} ({:.2}× the file), after open {now} ({:.2}×)",
        peak as f64 / file as f64,
        now as f64 / file as f64
    );
    // Reads: issues at spread-out positions, each from its page.
    let started = Instant::now();
    let mut found = 0;
    for r in d
        .state()
        .records(kenesh_model::schema::EntityKind::Issue)
        .step_by(1_000)
    {
        found += usize::from(!r.fields.is_empty());
    }
    let (peak, now) = rss();
    println!(
        "a scan of every issue ({found} sampled): {:.1?}; resident: peak {peak} ({:.2}×), after {now} ({:.2}×)",
        started.elapsed(),
        peak as f64 / file as f64,
        now as f64 / file as f64
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--open") => return open(Path::new(&args[2])),
        Some("--first") => return first(Path::new(&args[2])),
        _ => {}
    }
    let records: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("kiosk.redb");
    let started = Instant::now();
    make(&path, records);
    let log = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "made a store of {records} records in {:.1?}: {log} bytes",
        started.elapsed()
    );
    // Fresh processes, so each peak is its step's alone.
    for step in ["--first", "--open"] {
        let status = std::process::Command::new(std::env::current_exe().expect("this program"))
            .arg(step)
            .arg(&path)
            .status()
            .expect("the step runs");
        assert!(status.success());
    }
}
