//! Prints WORKLOAD.md's scenarios through the real sessions (Noise handshake included), for
//! sizes S and L: bytes each way, Noise messages, round trips, and the ratios to the field
//! floor and to Automerge's initial bytes.
//!
//! `cargo run --release -p kenesh-sync --example workload` (add `S` or `L` to run one size).

#[path = "../tests/common/workload.rs"]
#[allow(dead_code, unreachable_pub)]
mod workload;

use kenesh_sync::ServerConfig;
use kenesh_workload::{
    CREATION_SPAN_MS, DEFAULT_SEED, EPOCH_MS, Edits, Floors, Model, Size, Workload,
};
use workload::*;

/// Automerge's initial bytes at S on this workload (WORKLOAD.md).
const AUTOMERGE_INITIAL_S: f64 = 626_770.0;

fn scenario(w: &Workload, edits: &Edits, name: &str) {
    let (mut s, mut d, mut t) = world(&w.initial, ServerConfig::default());
    let started = std::time::Instant::now();
    let initial = sync(&mut d, &mut s, 1, EPOCH_MS + CREATION_SPAN_MS);
    let initial_time = started.elapsed();
    assert_eq!(d.state().state_hashes(), s.state().state_hashes());
    let mut kt = t.clone();
    edit_kiosk(&mut d, &mut kt, &edits.kiosk);
    edit_server(&mut s, &mut t, &edits.server);
    let now = edits
        .server
        .last()
        .map_or(0, |e| e.at)
        .max(edits.kiosk.last().map_or(0, |e| e.at));
    let started = std::time::Instant::now();
    let inc = sync(&mut d, &mut s, 2, now);
    let inc_time = started.elapsed();
    let converged = d.state().state_hashes() == s.state().state_hashes();
    let floors = Floors::of(&Model::new(&w.initial), edits);
    if name == "incremental" {
        println!(
            "  initial     down {:>9} up {:>6} bytes, {:>4} messages, {:>3} round trips{}, {:?} wall (the snapshot made, then cached)",
            initial.down,
            initial.up,
            initial.messages_down + initial.messages_up,
            initial.round_trips,
            if w.initial.len() == Size::S.records() {
                format!(
                    " ({:.3}× Automerge's {AUTOMERGE_INITIAL_S})",
                    (initial.up + initial.down) as f64 / AUTOMERGE_INITIAL_S
                )
            } else {
                String::new()
            },
            initial_time
        );
    }
    println!(
        "  {name:<11} up {:>6} + down {:>7} = {:>7} bytes, field floor {:>6} + {:>7}: {:.3}×, {} messages, {} round trip(s), converged {converged}, {:?} wall",
        inc.up,
        inc.down,
        inc.up + inc.down,
        floors.field.up,
        floors.field.down,
        (inc.up + inc.down) as f64 / floors.field.total() as f64,
        inc.messages_up + inc.messages_down,
        inc.round_trips,
        inc_time
    );
}

/// The crypto a sync pays, measured apart: a whole session with nothing to move (the Noise
/// IK handshake, both sides) and one commit signed and verified.
fn crypto_apart() {
    let w = Workload::with_records(50, 0, 0, DEFAULT_SEED);
    let (mut s, mut d, _) = world(&w.initial, ServerConfig::default());
    sync(&mut d, &mut s, 1, EPOCH_MS + CREATION_SPAN_MS);
    let n = 200;
    let started = std::time::Instant::now();
    for i in 0..n {
        sync(&mut d, &mut s, (i % 250) as u8, EPOCH_MS + CREATION_SPAN_MS);
    }
    let session = started.elapsed() / n;
    let secret = kenesh_sync::Secret::from_bytes([7; 32]);
    let mut b = kenesh_merge::OpBuilder::new(7);
    let ops = create(&mut b, &w.initial[0]);
    let started = std::time::Instant::now();
    for _ in 0..n {
        let c = kenesh_sync::SignedCommit::sign(&secret, &ops, 16 * 1024).unwrap();
        assert!(c.verify(&secret.public()));
    }
    let commit = started.elapsed() / n;
    println!(
        "crypto apart: an empty session (Noise IK handshake both sides, Hello/Welcome) {session:?}; \
         one commit signed + verified {commit:?}"
    );
}

fn main() {
    crypto_apart();
    let which = std::env::args().nth(1);
    for (size, label) in [(Size::S, "S"), (Size::L, "L")] {
        if which.as_deref().is_some_and(|w| w != label) {
            continue;
        }
        let w = Workload::new(size, DEFAULT_SEED);
        println!("{label}: {} records", w.initial.len());
        scenario(&w, &w.incremental, "incremental");
        scenario(&w, &w.conflicting, "conflicting");
    }
}
