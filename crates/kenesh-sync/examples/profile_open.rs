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
use workload::KIOSK;

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
    let store = workload::kiosk_store(records);
    let held = store.durable();
    let started = Instant::now();
    let d = open(store);
    println!(
        "opened {held} records ({} ops) in {:.1?}",
        d.state().len(),
        started.elapsed()
    );
}
