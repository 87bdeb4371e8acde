//! The peers of WORKLOAD.md driven through the reference workload (kenesh-workload):
//! Automerge and Yrs, each as its documentation says to sync two replicas, with every
//! message encoded and decoded as on a wire. Included by `benches/compare.rs` and
//! `tests/calibration.rs` (the peers are dev-dependencies only).

use std::collections::BTreeMap;
use std::time::Duration;

use kenesh_workload::{Model, Record, RecordId};

pub mod automerge_peer;
pub mod calibration;
pub mod heap;
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
    /// CPU of the whole exchange (generate, encode, decode, apply, both sides): the
    /// thread's CPU time (both sides run on the one thread), so waits for the disk are out.
    pub cpu: Duration,
    /// The peak heap during the exchange above the heap at its start, both sides together
    /// (they run in one process): [`heap::Counting`]'s count, 0 where that allocator is not
    /// installed (only the compare bench installs it).
    pub peak: usize,
    /// What the kiosk holds durably after the exchange (each peer defines it: Automerge's
    /// `save()`, Yrs's whole document as one update, kenesh's redb file).
    pub stored: usize,
    /// The same for the server.
    pub stored_server: usize,
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
                first.edits.down,
            ),
            "bytes are deterministic"
        );
    }
    fn median<T: Ord + Copy>(all: &[Run], pick: fn(&Run) -> T) -> T {
        let mut v: Vec<T> = all.iter().map(pick).collect();
        v.sort();
        v[v.len() / 2]
    }
    let mut out = first;
    out.initial.cpu = median(&all, |r| r.initial.cpu);
    out.edits.cpu = median(&all, |r| r.edits.cpu);
    out.initial.peak = median(&all, |r| r.initial.peak);
    out.edits.peak = median(&all, |r| r.edits.peak);
    out.initial.stored = median(&all, |r| r.initial.stored);
    out.edits.stored = median(&all, |r| r.edits.stored);
    out.initial.stored_server = median(&all, |r| r.initial.stored_server);
    out.edits.stored_server = median(&all, |r| r.edits.stored_server);
    out.initial.same = all.iter().all(|r| r.initial.same);
    out.initial.model = all.iter().all(|r| r.initial.model);
    out.edits.same = all.iter().all(|r| r.edits.same);
    out.edits.model = all.iter().all(|r| r.edits.model);
    out
}

/// What [`measured`] counts of a closure's run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    /// The thread's CPU time.
    pub cpu: Duration,
    /// The peak heap above the heap at the start ([`heap::peak_above`]).
    pub peak: usize,
}

/// The thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`): what the thread ran, not what it
/// waited for.
#[allow(unsafe_code)]
pub fn thread_cpu() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable timespec; the clock id is a constant libc knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// Runs `f` and counts its thread CPU time and its peak heap above the heap at its start.
pub fn measured<T>(f: impl FnOnce() -> T) -> (T, Cost) {
    let baseline = heap::reset_peak();
    let started = thread_cpu();
    let t = f();
    let cpu = thread_cpu().saturating_sub(started);
    let peak = heap::peak_above(baseline);
    (t, Cost { cpu, peak })
}

/// Times `f`: the thread's CPU time it took.
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let started = thread_cpu();
    let t = f();
    (t, thread_cpu().saturating_sub(started))
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
