//! WORKLOAD.md's calibration as a behaviour test: on the S workload (default seed) the
//! peers' bytes land within ±10% of the table and whole records compress about 2.9× with
//! zstd 3. Bytes are deterministic, so nothing here is timed.

#[path = "../peers/mod.rs"]
#[allow(dead_code, unreachable_pub, missing_docs)]
mod peers;

use kenesh_workload::{DEFAULT_SEED, Size, Workload};
use peers::calibration::Measured;
use peers::yrs_peer::{self, Encoding};
use peers::{automerge_peer, key, parse_key};

#[test]
fn peers_bytes_at_s_are_within_ten_percent_of_workload_md() {
    let w = Workload::new(Size::S, DEFAULT_SEED);
    let m = Measured::of(&w);
    let off: Vec<String> = m
        .checks()
        .iter()
        .filter(|c| !c.ok())
        .map(|c| {
            format!(
                "{}: {} vs {} ({:+.1}%)",
                c.name,
                c.measured,
                c.reference,
                c.deviation() * 100.0
            )
        })
        .collect();
    assert!(off.is_empty(), "off the calibration: {off:#?}");
    // Both peers converge on the incremental scenario, to what the reference model holds.
    for (name, run) in [("Automerge", m.automerge), ("Yrs v2", m.yrs_v2)] {
        assert!(run.initial.same && run.initial.model, "{name} initial");
        assert!(run.edits.same && run.edits.model, "{name} incremental");
    }
}

#[test]
fn peers_converge_on_a_small_conflicting_workload() {
    let w = Workload::with_records(200, 20, 40, DEFAULT_SEED);
    let a = automerge_peer::run(&w.initial, &w.conflicting);
    assert!(a.initial.same && a.initial.model);
    // Both sides agree; which concurrent status wins is each peer's own rule, not the
    // reference model's last-writer-wins on the edit time.
    assert!(a.edits.same);
    for encoding in [Encoding::V1, Encoding::V2] {
        let y = yrs_peer::run(&w.initial, &w.conflicting, encoding);
        assert!(y.initial.same && y.initial.model && y.edits.same);
        assert_eq!(y.edits.round_trips, 1);
    }
}

#[test]
fn record_keys_round_trip() {
    let id = [0xab; 16];
    assert_eq!(parse_key(&key(&id)), Some(id));
    assert_eq!(parse_key("xyz"), None);
}
