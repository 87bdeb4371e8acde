//! The peers of WORKLOAD.md driven through the reference workload (kenesh-workload):
//! Automerge and Yrs, each as its documentation says to sync two replicas, with every
//! message encoded and decoded as on a wire. Included by `benches/compare.rs` and
//! `tests/calibration.rs` (the peers are dev-dependencies only).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kenesh_workload::{Model, Record, RecordId};

pub mod automerge_peer;
pub mod calibration;
pub mod yrs_peer;

/// What one sync moved and what it cost.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Exchange {
    /// Kiosk → server bytes (every encoded message).
    pub up: usize,
    /// Server → kiosk bytes.
    pub down: usize,
    /// Messages both ways.
    pub messages: usize,
    /// Round trips until both sides hold each other's edits: flights (messages in one
    /// direction that wait for the other side's) up to the last that carries data, two to a
    /// round trip, rounded up.
    pub round_trips: usize,
    /// Every flight, the closing acknowledgements included.
    pub flights: usize,
    /// Wall time of the whole exchange (generate, encode, decode, apply, both sides).
    pub cpu: Duration,
    /// Both sides hold identical contents afterwards.
    pub same: bool,
    /// Both sides hold what kenesh-workload's `Model` says they must.
    pub model: bool,
}

impl Exchange {
    /// `up + down`.
    pub fn total(&self) -> usize {
        self.up + self.down
    }
}

/// The initial and the incremental (or conflicting) sync of one run.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Run {
    /// Empty kiosk from the server holding the initial records.
    pub initial: Exchange,
    /// The edits of both sides, sync state kept from the initial sync.
    pub edits: Exchange,
}

/// The median of `runs` runs of `f` (times are medians; bytes must not vary).
pub fn median_of(runs: usize, mut f: impl FnMut() -> Run) -> Run {
    let all: Vec<Run> = (0..runs.max(1)).map(|_| f()).collect();
    let first = all[0];
    for r in &all {
        assert_eq!(
            (r.initial.up, r.initial.down, r.edits.up, r.edits.down),
            (
                first.initial.up,
                first.initial.down,
                first.edits.up,
                first.edits.down
            ),
            "bytes are deterministic"
        );
    }
    let median = |pick: fn(&Run) -> Duration| {
        let mut v: Vec<Duration> = all.iter().map(pick).collect();
        v.sort();
        v[v.len() / 2]
    };
    let mut out = first;
    out.initial.cpu = median(|r| r.initial.cpu);
    out.edits.cpu = median(|r| r.edits.cpu);
    out.initial.same = all.iter().all(|r| r.initial.same);
    out.initial.model = all.iter().all(|r| r.initial.model);
    out.edits.same = all.iter().all(|r| r.edits.same);
    out.edits.model = all.iter().all(|r| r.edits.model);
    out
}

/// Times `f`.
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let started = Instant::now();
    let t = f();
    (t, started.elapsed())
}

/// A record's key in the peers' `issues` map: its id in lowercase hex (32 characters).
pub fn key(id: &RecordId) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// The id back from its key.
pub fn parse_key(key: &str) -> Option<RecordId> {
    let mut id = [0u8; 16];
    if key.len() != 32 {
        return None;
    }
    for (i, b) in id.iter_mut().enumerate() {
        *b = u8::from_str_radix(key.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(id)
}

/// Whether a peer's contents are what `model` holds.
pub fn matches(model: &Model, held: &BTreeMap<RecordId, Record>) -> bool {
    model.records() == held
}
