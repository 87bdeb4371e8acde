//! A device opening (replaying) a store of a kiosk's records, once, for a profiler: the
//! records are made first (`records / 5` issues, then the workload's mix of edits, one
//! commit each, as the store bench makes them); only `open` is the part to look at.
//!
//! ```sh
//! cargo build --release -p kenesh-sync --example profile_open
//! valgrind --tool=callgrind --collect-atstart=no \
//!     --toggle-collect='profile_open::open' \
//!     target/release/examples/profile_open 10000
//! callgrind_annotate --inclusive=yes callgrind.out.* | head -60
//! ```

#[path = "../tests/common/workload.rs"]
#[allow(dead_code, unreachable_pub)]
mod workload;

use std::time::Instant;

use kenesh_sync::{Device, MemStore, Secret, Store};
use kenesh_workload::{DEFAULT_SEED, Workload};
use workload::{KIOSK, Tracker, create};

fn kiosk_secret() -> Secret {
    Secret::from_bytes([KIOSK as u8; 32])
}

fn server_secret() -> Secret {
    Secret::from_bytes([0xee; 32])
}

#[inline(never)]
fn open(store: MemStore) -> Device<MemStore> {
    Device::open(store, kiosk_secret(), KIOSK, server_secret().public()).expect("replays")
}

fn main() {
    let records: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let creates = records / 5;
    let w = Workload::with_records(creates, records - creates, 0, DEFAULT_SEED);
    let mut d = open(MemStore::new());
    let mut t = Tracker::default();
    for r in &w.initial {
        let mut b = d.builder();
        let ops = create(&mut b, r);
        d.commit(&ops).expect("commit");
        t.learn(r);
    }
    for e in &w.incremental.kiosk {
        let mut b = d.builder();
        let ops = t.op(&mut b, e);
        d.commit(&ops).expect("commit");
    }
    d.sync().expect("sync");
    let store = d.store().clone();
    let held = store.durable();
    drop(d);
    let started = Instant::now();
    let d = open(store);
    println!(
        "opened {held} records ({} ops) in {:.1?}",
        d.state().len(),
        started.elapsed()
    );
}
