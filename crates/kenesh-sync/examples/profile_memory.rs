//! Where an opened device's memory goes, for the replica-store work (issue 6: memory ≤ 2× the
//! file with 100,000 records). Makes a kiosk's store as `profile_open` does (`records / 5`
//! issues, then the workload's mix of edits, one commit each), then counts heap bytes with a
//! counting allocator: the store's records, the ops alone (decoded, in a `Vec`), a merged
//! `State` of them (which holds every op, plus its indexes), and a `Device` opened from the
//! store (the state, its own commits kept for re-sending, the rest).
//!
//! `cargo run --release -p kenesh-sync --example profile_memory [records]` (default 100,000).

#[path = "../../../benches/peers/heap.rs"]
#[allow(dead_code, unreachable_pub)]
mod heap;
#[path = "../tests/common/workload.rs"]
#[allow(dead_code, unreachable_pub)]
mod workload;

use kenesh_merge::{Op, State};
use kenesh_sync::{Device, MemStore, Secret, SignedCommit, Store};
use kenesh_workload::{DEFAULT_SEED, Workload};
use workload::{KIOSK, Tracker, create};

#[global_allocator]
static GLOBAL: heap::Counting = heap::Counting;

/// Heap bytes allocated now.
fn now() -> usize {
    heap::reset_peak()
}

fn mb(bytes: usize) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn main() {
    let records: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let creates = records / 5;
    let w = Workload::with_records(creates, records - creates, 0, DEFAULT_SEED);
    let secret = || Secret::from_bytes([KIOSK as u8; 32]);
    let server = Secret::from_bytes([0xee; 32]).public();
    let mut d = Device::open(MemStore::new(), secret(), KIOSK, server).expect("opens");
    let mut t = Tracker::default();
    let mut ops: Vec<Op> = Vec::new();
    for r in &w.initial {
        let mut b = d.builder();
        let made = create(&mut b, r);
        d.commit(&made).expect("commit");
        ops.extend(made);
        t.learn(r);
    }
    for e in &w.incremental.kiosk {
        let mut b = d.builder();
        let made = t.op(&mut b, e);
        d.commit(&made).expect("commit");
        ops.extend(made);
    }
    d.sync().expect("sync");
    let store = d.store().clone();
    drop(d);
    drop(w);
    drop(t);
    ops.shrink_to_fit();

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

    let base = now();
    let copy: Vec<Op> = ops.clone();
    let ops_bytes = now() - base;
    let base = now();
    let mut state = State::new();
    for op in copy {
        state.apply(op);
    }
    let state_bytes = now() - base;
    drop(state);
    drop(ops);
    // The store moves into the device: its records were counted before, so are not here.
    let base = now();
    let device = Device::open(store, secret(), KIOSK, server).expect("replays");
    let device_bytes = now() - base;

    // Its state, as a copy (a clone allocates exactly what it holds).
    let base = now();
    let copy = device.state().clone();
    let device_state_bytes = now() - base;
    drop(copy);
    // Its own commits (none acknowledged here: all kept for re-sending), as a copy.
    let base = now();
    let own: Vec<_> = device.unacked().cloned().collect();
    let own_bytes = now() - base;
    let own_count = own.len();
    // The same ops as the device holds them: parsed from its commits' frames.
    let limits = kenesh_proto::Limits::new(kenesh_proto::HARD_MAX_FRAME);
    let base = now();
    let mut parsed: Vec<Op> = Vec::with_capacity(device.state().len());
    for c in &own {
        parsed.extend(SignedCommit::parse(c.frame(), &limits).expect("parses").1);
    }
    let parsed_bytes = now() - base;
    let parsed_count = parsed.len();
    drop(parsed);
    drop(own);

    println!(
        "{records} records, {} ops; the store's records {} ({record_bytes} bytes)",
        device.state().len(),
        mb(record_bytes)
    );
    println!(
        "ops alone (decoded, in a Vec): {} = {:.2}× the records",
        mb(ops_bytes),
        ops_bytes as f64 / record_bytes as f64
    );
    println!(
        "a State of them: {} = {:.2}× the records ({:.2}× the ops alone: the rest is its indexes)",
        mb(state_bytes),
        state_bytes as f64 / record_bytes as f64,
        state_bytes as f64 / ops_bytes as f64
    );
    println!(
        "a Device opened from the store (its store apart): {} = {:.2}× the records (beyond the \
         State: {}, its own commits kept for re-sending and the rest)",
        mb(device_bytes),
        device_bytes as f64 / record_bytes as f64,
        mb(device_bytes.saturating_sub(state_bytes))
    );
    println!(
        "of which its State (copied): {}; its {own_count} own commits (frames kept for re-sending, copied into a Vec): {}",
        mb(device_state_bytes),
        mb(own_bytes)
    );
    println!(
        "its {parsed_count} ops parsed from those frames (in a Vec): {} ({} beyond the ops as \
         built)",
        mb(parsed_bytes),
        mb(parsed_bytes.saturating_sub(ops_bytes))
    );
}
