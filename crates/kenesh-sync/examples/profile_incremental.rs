//! The incremental scenario of WORKLOAD.md at size S, once, for a profiler: the initial sync
//! and the edits are made first; only `incremental` (the session, both sides) is the part to
//! look at.
//!
//! ```sh
//! cargo build --release -p kenesh-sync --example profile_incremental
//! valgrind --tool=callgrind --collect-atstart=no \
//!     --toggle-collect='profile_incremental::incremental' \
//!     target/release/examples/profile_incremental
//! callgrind_annotate --inclusive=yes callgrind.out.* | head -60
//! ```

#[path = "../tests/common/workload.rs"]
#[allow(dead_code, unreachable_pub)]
mod workload;

use kenesh_sync::{Device, MemStore, Server, ServerConfig};
use kenesh_workload::{CREATION_SPAN_MS, DEFAULT_SEED, EPOCH_MS, Size, Workload};
use workload::*;

#[inline(never)]
fn incremental(d: &mut Device<MemStore>, s: &mut Server<MemStore>, now: u64) -> Traffic {
    sync(d, s, 2, now)
}

fn main() {
    let w = Workload::new(Size::S, DEFAULT_SEED);
    let (mut s, mut d, mut t) = world(&w.initial, ServerConfig::default());
    sync(&mut d, &mut s, 1, EPOCH_MS + CREATION_SPAN_MS);
    let edits = &w.incremental;
    let mut kt = t.clone();
    edit_kiosk(&mut d, &mut kt, &edits.kiosk);
    edit_server(&mut s, &mut t, &edits.server);
    let now = edits
        .server
        .last()
        .map_or(0, |e| e.at)
        .max(edits.kiosk.last().map_or(0, |e| e.at));
    let started = std::time::Instant::now();
    let inc = incremental(&mut d, &mut s, now);
    println!(
        "incremental S: up {} down {} bytes, {:?}",
        inc.up,
        inc.down,
        started.elapsed()
    );
    assert_eq!(d.state().state_hashes(), s.state().state_hashes());
}
