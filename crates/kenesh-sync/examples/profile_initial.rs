//! The initial sync of WORKLOAD.md at size S for a second kiosk (the server's snapshot of
//! the scope already made and cached by a first kiosk's sync), once, for a profiler: only
//! `initial` (the session, both sides) is the part to look at.
//!
//! ```sh
//! cargo build --release -p kenesh-sync --example profile_initial
//! valgrind --tool=callgrind --collect-atstart=no \
//!     --toggle-collect='profile_initial::initial' \
//!     target/release/examples/profile_initial
//! callgrind_annotate --inclusive=yes callgrind.out.* | head -60
//! ```

#[path = "../tests/common/workload.rs"]
#[allow(dead_code, unreachable_pub)]
mod workload;

use kenesh_sync::{Device, MemStore, Secret, Server, ServerConfig};
use kenesh_workload::{CREATION_SPAN_MS, DEFAULT_SEED, EPOCH_MS, Size, Workload};
use workload::*;

/// A field of `/proc/self/status`, in kB (0 where there is none).
fn rss(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[inline(never)]
fn initial(d: &mut Device<MemStore>, s: &mut Server<MemStore>, now: u64) -> Traffic {
    sync(d, s, 3, now)
}

fn main() {
    let w = Workload::new(Size::S, DEFAULT_SEED);
    let (mut s, mut first, _) = world(&w.initial, ServerConfig::default());
    let now = EPOCH_MS + CREATION_SPAN_MS;
    sync(&mut first, &mut s, 1, now);
    let id = KIOSK + 1;
    let secret = Secret::from_bytes([id as u8; 32]);
    s.enrol(id, secret.public(), kiosk_grants(&w.initial))
        .expect("enrol");
    let mut second = Device::open(MemStore::new(), secret, id, s.public()).expect("a device");
    // Resident memory around the session (Linux): the peak is reset first (`clear_refs`),
    // so it is the session's; what stays after it is mostly the second kiosk's state.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = rss("VmRSS:");
    let started = std::time::Instant::now();
    let t = initial(&mut second, &mut s, now);
    println!(
        "initial S, second kiosk: up {} down {} bytes, {} messages, {:?}; resident {} kB \
         before, {} kB peak, {} kB after",
        t.up,
        t.down,
        t.messages_up + t.messages_down,
        started.elapsed(),
        before,
        rss("VmHWM:"),
        rss("VmRSS:")
    );
    assert_eq!(second.state().state_hashes(), s.state().state_hashes());
}
