//! Where an opened device's memory goes, for the replica-store work (issue 6: memory ≤ 2× the
//! file with 100,000 records). Makes a kiosk's store as `profile_open` does (`records / 5`
//! issues, then the workload's mix of edits, one commit each), opens a `Device` from it, and
//! counts heap bytes with a counting allocator: the store's records; the device as opened;
//! copies of its parts (a copy allocates what the original holds, without spare capacity):
//! its merged `State` (every op, each held as its bytes in one allocation, and the records
//! and indexes over them); for comparison, its ops decoded (as `Op` values in a `Vec`, as
//! the state held them before session 9). Its own commits are not held: they are read back
//! from the store when sent; what reading them all back at once allocates is printed beside.
//!
//! `cargo run --release -p kenesh-sync --example profile_memory [records]` (default 100,000).

#[path = "../../../benches/peers/heap.rs"]
#[allow(dead_code, unreachable_pub)]
mod heap;
#[path = "../tests/common/workload.rs"]
#[allow(dead_code, unreachable_pub)]
mod workload;

use kenesh_merge::Op;
use kenesh_sync::{Device, Secret, Store};
use workload::KIOSK;

#[global_allocator]
static GLOBAL: heap::Counting = heap::Counting;

/// Heap bytes allocated now.
fn now() -> usize {
    heap::reset_peak()
}

/// The heap bytes `make` leaves allocated (what it returns holds), and what it returned.
fn held<T>(make: impl FnOnce() -> T) -> (usize, T) {
    let base = now();
    let value = make();
    (now().saturating_sub(base), value)
}

fn mb(bytes: usize) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn main() {
    let records: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let secret = || Secret::from_bytes([KIOSK as u8; 32]);
    let server = Secret::from_bytes([0xee; 32]).public();
    let store = workload::kiosk_store(records);

    let mut record_bytes = 0usize;
    let mut from = 1;
    loop {
        let batch = store.read(from, 1024).expect("reads");
        let Some(last) = batch.last().map(|(p, _)| *p) else {
            break;
        };
        record_bytes += batch.iter().map(|(_, r)| r.len()).sum::<usize>();
        from = last + 1;
    }

    // The store moves into the device: its records were allocated before, so are not counted.
    let (device_bytes, device) =
        held(|| Device::open(store, secret(), KIOSK, server).expect("replays"));
    let ops_count = device.state().len();
    let (state_bytes, state) = held(|| device.state().clone());
    drop(state);
    // Its own commits (none acknowledged here: all waiting to be sent), read back.
    let (own_bytes, own) = held(|| device.unacked().expect("reads back"));
    let (ops_bytes, ops) = held(|| {
        let mut ops: Vec<Op> = Vec::with_capacity(ops_count);
        ops.extend(device.state().all_ops());
        ops
    });
    let inline = ops.len() * size_of::<Op>();
    drop(ops);
    let own_count = own.len();
    drop(own);

    let x = |b: usize| b as f64 / record_bytes as f64;
    println!(
        "{records} records, {ops_count} ops; the store's records {} ({record_bytes} bytes)",
        mb(record_bytes)
    );
    println!(
        "a Device opened from the store: {} = {:.2}× the records",
        mb(device_bytes),
        x(device_bytes)
    );
    println!(
        "  its State: {} = {:.2}× (every op held as bytes, the records and indexes; its ops \
         decoded would take {}, {} of it the {}-byte Op values themselves)",
        mb(state_bytes),
        x(state_bytes),
        mb(ops_bytes),
        mb(inline),
        size_of::<Op>()
    );
    println!(
        "  the rest: {} (its {own_count} own commits are not held: read back from the store \
         when sent, they would take {} = {:.2}× at once)",
        mb(device_bytes.saturating_sub(state_bytes)),
        mb(own_bytes),
        x(own_bytes)
    );
}
