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
        "open: redb {redb:.1?}, with the replay of {} ops {all:.1?}",
        d.state().len()
    );
    println!(
        "file {file} bytes; resident: baseline {base_peak}, peak {peak} ({:.2}× the file), after open {now} ({:.2}×)",
        peak as f64 / file as f64,
        now as f64 / file as f64
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--open") {
        open(Path::new(&args[2]));
        return;
    }
    let records: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("kiosk.redb");
    let started = Instant::now();
    make(&path, records);
    println!(
        "made a store of {records} records in {:.1?}",
        started.elapsed()
    );
    // A fresh process, so the peak is the open's alone.
    let status = std::process::Command::new(std::env::current_exe().expect("this program"))
        .arg("--open")
        .arg(&path)
        .status()
        .expect("the open runs");
    assert!(status.success());
}
