//! The sync comparison of WORKLOAD.md: kenesh against Automerge and Yrs on the reference
//! workload, in one run. First the calibration (the peers' bytes against WORKLOAD.md's
//! table, ±10%), then one table per size.
//!
//! `cargo bench -p kenesh-benches --bench compare` runs S; add `-- L` (or set
//! `KENESH_COMPARE=S,L`) for L too. `KENESH_COMPARE_RUNS` sets the runs per row (default
//! 5; times and peaks are medians).
//!
//! CPU is the thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`): each exchange runs both sides
//! on one thread, so it is the CPU of the whole exchange on both sides, without the waits
//! for the disk (kenesh's rows run on redb files, which fsync). The peak heap is counted by
//! a counting global allocator: the peak of the heap during the exchange above the heap at
//! its start, both sides together (they run in one process).

#[path = "../peers/mod.rs"]
#[allow(dead_code, unreachable_pub, missing_docs)]
mod peers;

#[path = "../../crates/kenesh-sync/tests/common/workload.rs"]
#[allow(dead_code, unreachable_pub, missing_docs)]
mod kenesh_workload_adapter;

use std::cell::Cell;
use std::path::Path;
use std::time::Duration;

use kenesh_store::RedbStore;
use kenesh_sync::ServerConfig;
use kenesh_workload::{
    CREATION_SPAN_MS, DEFAULT_SEED, EPOCH_MS, Edits, Floors, Model, Size, Workload,
};
use peers::calibration::{Measured, TOLERANCE};
use peers::yrs_peer::Encoding;
use peers::{Cost, Exchange, Run, automerge_peer, measured, median_of, timed, yrs_peer};

/// Counts the heap for the peak column (see [`peers::heap`]).
#[global_allocator]
static HEAP: peers::heap::Counting = peers::heap::Counting;

/// A kiosk's store in kenesh's rows: what its redb file holds after an exchange.
#[derive(Clone, Copy, Debug, Default)]
struct KioskFile {
    /// The file's size.
    file: u64,
    /// The records' bytes: sealed segments (compressed) and the uncompressed tail.
    records: u64,
    /// The bytes of the pages redb has allocated.
    allocated: u64,
}

fn file_size(path: &Path) -> usize {
    std::fs::metadata(path).expect("store file").len() as usize
}

fn kiosk_file(store: &RedbStore) -> KioskFile {
    let st = store.stats().expect("stats");
    KioskFile {
        file: file_size(store.path().expect("a file")) as u64,
        records: st.segment_bytes + st.tail_bytes,
        allocated: st.allocated_bytes,
    }
}

/// A redb store at `dir/name`, new.
fn redb(dir: &Path, name: &str) -> RedbStore {
    RedbStore::open(dir.join(name)).expect("redb store")
}

/// kenesh through its real sessions (Noise handshake included), as the sync example, the
/// kiosk and the server each on a redb file in a temporary directory. What the kiosk's
/// file holds after each exchange goes to `files` (initial, edits).
fn kenesh_run(
    initial: &[kenesh_workload::Record],
    edits: &Edits,
    files: &Cell<(KioskFile, KioskFile)>,
) -> Run {
    use kenesh_workload_adapter::*;
    let dir = tempfile::tempdir().expect("temporary directory");
    let (mut s, mut d, mut t) = world_on(
        redb(dir.path(), "server.redb"),
        redb(dir.path(), "kiosk.redb"),
        initial,
        ServerConfig::default(),
    );
    let (first, cost) = measured(|| sync(&mut d, &mut s, 1, EPOCH_MS + CREATION_SPAN_MS));
    let same = d.state().state_hashes() == s.state().state_hashes();
    let mut initial_x = exchange(first, cost, same);
    let after_initial = kiosk_file(d.store());
    initial_x.stored = after_initial.file as usize;
    initial_x.stored_server = file_size(s.store().path().expect("a file"));
    let mut kt = t.clone();
    edit_kiosk(&mut d, &mut kt, &edits.kiosk);
    edit_server(&mut s, &mut t, &edits.server);
    let now = edits
        .server
        .iter()
        .chain(&edits.kiosk)
        .map(|e| e.at)
        .max()
        .unwrap_or(0);
    let (then, cost) = measured(|| sync(&mut d, &mut s, 2, now));
    let same = d.state().state_hashes() == s.state().state_hashes();
    let mut edits_x = exchange(then, cost, same);
    let after_edits = kiosk_file(d.store());
    edits_x.stored = after_edits.file as usize;
    edits_x.stored_server = file_size(s.store().path().expect("a file"));
    files.set((after_initial, after_edits));
    Run {
        initial: initial_x,
        edits: edits_x,
    }
}

/// kenesh's initial sync of a second kiosk, once the server has made (and cached) the
/// snapshot for the first: what every kiosk after the first costs.
/// On redb files, as [`kenesh_run`].
fn kenesh_initial_cached(initial: &[kenesh_workload::Record]) -> Exchange {
    use kenesh_sync::{Device, Secret};
    use kenesh_workload_adapter::*;
    let dir = tempfile::tempdir().expect("temporary directory");
    let (mut s, mut d, _) = world_on(
        redb(dir.path(), "server.redb"),
        redb(dir.path(), "kiosk.redb"),
        initial,
        ServerConfig::default(),
    );
    sync(&mut d, &mut s, 1, EPOCH_MS + CREATION_SPAN_MS);
    let id = KIOSK + 1;
    let secret = Secret::from_bytes([id as u8; 32]);
    let grants = kiosk_grants(initial);
    s.enrol(id, secret.public(), grants).unwrap();
    let mut second = Device::open(redb(dir.path(), "second.redb"), secret, id, s.public()).unwrap();
    let (t, cost) = measured(|| sync(&mut second, &mut s, 3, EPOCH_MS + CREATION_SPAN_MS));
    let same = second.state().state_hashes() == s.state().state_hashes();
    let mut x = exchange(t, cost, same);
    x.stored = kiosk_file(second.store()).file as usize;
    x
}

fn exchange(t: kenesh_workload_adapter::Traffic, cost: Cost, same: bool) -> Exchange {
    Exchange {
        up: t.up as usize,
        down: t.down as usize,
        messages: (t.messages_up + t.messages_down) as usize,
        round_trips: t.round_trips as usize,
        flights: 0,
        cpu: cost.cpu,
        peak: cost.peak,
        stored: 0,
        stored_server: 0,
        same,
        // kenesh's state is checked against the Model by its own tests, not here.
        model: same,
    }
}

/// The CPU of kenesh's crypto in a sync, measured apart: a whole session with nothing to
/// move (Noise IK handshake both sides, Hello/Welcome), and one commit's signature check.
/// Thread CPU time as the tables; in memory (`MemStore`), so no store work is counted in.
fn kenesh_crypto() -> (Duration, Duration) {
    use kenesh_workload_adapter::*;
    let w = Workload::with_records(50, 0, 0, DEFAULT_SEED);
    let (mut s, mut d, _) = world(&w.initial, ServerConfig::default());
    sync(&mut d, &mut s, 1, EPOCH_MS + CREATION_SPAN_MS);
    let n = 100;
    let ((), total) = timed(|| {
        for i in 0..n {
            sync(&mut d, &mut s, (i % 250) as u8, EPOCH_MS + CREATION_SPAN_MS);
        }
    });
    let secret = kenesh_sync::Secret::from_bytes([7; 32]);
    let mut b = kenesh_merge::OpBuilder::new(7);
    let ops = create(&mut b, &w.initial[0]);
    let commit = kenesh_sync::SignedCommit::sign(&secret, &ops, 16 * 1024).unwrap();
    let public = secret.public();
    let ((), verify) = timed(|| {
        for _ in 0..n {
            assert!(std::hint::black_box(&commit).verify(&public));
        }
    });
    (total / n, verify / n)
}

fn calibration() -> bool {
    let w = Workload::new(Size::S, DEFAULT_SEED);
    let m = Measured::of(&w);
    println!(
        "## Calibration (S, default seed) against WORKLOAD.md, tolerance ±{:.0}%",
        TOLERANCE * 100.0
    );
    println!();
    println!("| figure | this run | WORKLOAD.md | deviation | within ±10% |");
    println!("|---|---:|---:|---:|---|");
    let mut all = true;
    for c in m.checks() {
        all &= c.ok();
        let fmt = |v: f64| {
            if v.fract() == 0.0 {
                thousands(v as usize)
            } else {
                format!("{v:.2}")
            }
        };
        println!(
            "| {} | {} | {} | {:+.1}% | {} |",
            c.name,
            fmt(c.measured),
            fmt(c.reference),
            c.deviation() * 100.0,
            if c.ok() { "yes" } else { "**NO**" }
        );
    }
    let (saved, nocompress) = automerge_peer::saved(&w.initial);
    println!();
    println!(
        "Automerge's initial sync sends the whole document as `save()` makes it (columns \
         deflated) in one v2 sync message: the server's document saves to {} bytes \
         ({} with `save_nocompress()`); the sync moved {} down and {} up.",
        thousands(saved),
        thousands(nocompress),
        thousands(m.automerge.initial.down),
        thousands(m.automerge.initial.up),
    );
    println!(
        "Calibration: {}",
        if all {
            "every figure within ±10%: the ratios below are meaningful."
        } else {
            "SOME FIGURES ARE OFF: treat the ratios below with suspicion."
        }
    );
    println!();
    all
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e3)
}

/// One system's run of the workload's initial records and some edits.
type System<'a> = dyn Fn(&Edits) -> Run + 'a;

fn table(size: Size, label: &str, runs: usize, crypto: (Duration, Duration)) {
    let w = Workload::new(size, DEFAULT_SEED);
    let field = Floors::of(&Model::new(&w.initial), &w.incremental).field;
    println!(
        "## {label}: {} records, kiosk {} + server {} edits; median of {runs} runs",
        w.initial.len(),
        w.incremental.kiosk.len(),
        w.incremental.server.len()
    );
    println!();
    let mut rows: Vec<(&str, Run, Run)> = Vec::new();
    let files = Cell::new((KioskFile::default(), KioskFile::default()));
    let mut kenesh_files = [(KioskFile::default(), KioskFile::default()); 2];
    let peers: [(&str, &System<'_>); 4] = [
        ("kenesh", &|e| kenesh_run(&w.initial, e, &files)),
        ("Automerge", &|e| automerge_peer::run(&w.initial, e)),
        ("Yrs v1", &|e| yrs_peer::run(&w.initial, e, Encoding::V1)),
        ("Yrs v2", &|e| yrs_peer::run(&w.initial, e, Encoding::V2)),
    ];
    for (name, f) in peers {
        let inc = median_of(runs, || f(&w.incremental));
        let inc_files = files.get();
        let conf = median_of(runs, || f(&w.conflicting));
        if name == "kenesh" {
            kenesh_files = [inc_files, files.get()];
        }
        rows.push((name, inc, conf));
    }
    println!(
        "| system | scenario | bytes up | bytes down | total | messages | round trips | CPU ms | peak heap | stored, kiosk | stored, server | peak / stored (kiosk) | converged | = Model | kenesh/peer bytes | kenesh/peer CPU |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|");
    let kenesh = (rows[0].1, rows[0].2);
    for (name, inc, conf) in &rows {
        for (scenario, x, k) in [
            ("initial", inc.initial, kenesh.0.initial),
            ("incremental", inc.edits, kenesh.0.edits),
            ("conflicting", conf.edits, kenesh.1.edits),
        ] {
            let ratio = |a: f64, b: f64| {
                if *name == "kenesh" {
                    "—".to_string()
                } else {
                    format!("{:.3}×", a / b)
                }
            };
            println!(
                "| {name} | {scenario} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.2}× | {} | {} | {} | {} |",
                thousands(x.up),
                thousands(x.down),
                thousands(x.total()),
                x.messages,
                if x.flights > 0 {
                    format!("{} ({} flights)", x.round_trips, x.flights)
                } else {
                    x.round_trips.to_string()
                },
                ms(x.cpu),
                thousands(x.peak),
                thousands(x.stored),
                thousands(x.stored_server),
                x.peak as f64 / x.stored as f64,
                if x.same { "yes" } else { "**no**" },
                if *name == "kenesh" {
                    "(own tests)"
                } else if x.model {
                    "yes"
                } else {
                    "no"
                },
                ratio(k.total() as f64, x.total() as f64),
                ratio(k.cpu.as_secs_f64(), x.cpu.as_secs_f64()),
            );
        }
    }
    println!();
    println!(
        "CPU is the thread's CPU time of the whole exchange, both sides (one thread). Peak heap: the peak of the heap during the exchange above the heap at its start, both sides together (one process; a counting global allocator), median of the runs. Stored: what each side holds durably after the exchange — kenesh: its redb file's size; Automerge: `save()` of its document; Yrs: its whole document as one update (`encode_state_as_update_v1`/`_v2` from the empty state vector)."
    );
    println!();
    let (initial_file, inc_file) = kenesh_files[0];
    let conf_file = kenesh_files[1].1;
    let am = |x: &Exchange| x.stored as f64;
    println!(
        "kenesh kiosk's redb file: {} bytes after the initial sync (records {} bytes, redb pages allocated {}), {} after the incremental (records {}, allocated {}), {} after the conflicting (records {}, allocated {}); file / Automerge's `save()`: {:.3}×, {:.3}×, {:.3}×; records / Automerge's: {:.3}×, {:.3}×, {:.3}×.",
        thousands(initial_file.file as usize),
        thousands(initial_file.records as usize),
        thousands(initial_file.allocated as usize),
        thousands(inc_file.file as usize),
        thousands(inc_file.records as usize),
        thousands(inc_file.allocated as usize),
        thousands(conf_file.file as usize),
        thousands(conf_file.records as usize),
        thousands(conf_file.allocated as usize),
        initial_file.file as f64 / am(&rows[1].1.initial),
        inc_file.file as f64 / am(&rows[1].1.edits),
        conf_file.file as f64 / am(&rows[1].2.edits),
        initial_file.records as f64 / am(&rows[1].1.initial),
        inc_file.records as f64 / am(&rows[1].1.edits),
        conf_file.records as f64 / am(&rows[1].2.edits),
    );
    println!();
    let mut cached: Vec<Exchange> = (0..runs.max(1))
        .map(|_| kenesh_initial_cached(&w.initial))
        .collect();
    cached.sort_by_key(|x| x.cpu);
    let cached = cached[cached.len() / 2];
    println!(
        "kenesh initial for a second kiosk (snapshot already made and cached by the server): {} bytes down, {} up, {} messages, {} round trips, {} ms, peak heap {}, its redb file {} bytes, converged {}; {:.2}× Yrs v2's CPU, {:.2}× Automerge's.",
        thousands(cached.down),
        thousands(cached.up),
        cached.messages,
        cached.round_trips,
        ms(cached.cpu),
        thousands(cached.peak),
        thousands(cached.stored),
        if cached.same { "yes" } else { "NO" },
        cached.cpu.as_secs_f64() / rows[3].1.initial.cpu.as_secs_f64(),
        cached.cpu.as_secs_f64() / rows[1].1.initial.cpu.as_secs_f64(),
    );
    println!();
    // The server checks the signature of each kiosk commit; the kiosk takes the server's
    // commits over the authenticated channel.
    let commits = w.incremental.kiosk.len() as u32;
    let apart = crypto.0 + crypto.1 * commits;
    let rest = kenesh.0.edits.cpu.saturating_sub(apart);
    println!(
        "kenesh incremental CPU less crypto (one empty session {} ms + {commits} signature checks × {} ms = {} ms): {} ms, {:.2}× Yrs v2's, {:.2}× Automerge's.",
        ms(crypto.0),
        format_args!("{:.3}", crypto.1.as_secs_f64() * 1e3),
        ms(apart),
        ms(rest),
        rest.as_secs_f64() / rows[3].1.edits.cpu.as_secs_f64(),
        rest.as_secs_f64() / rows[1].1.edits.cpu.as_secs_f64(),
    );
    println!();
    println!(
        "Field floor (incremental): {} + {} = {}; kenesh {:.3}× it, Automerge {:.3}×, Yrs v2 {:.3}×.",
        thousands(field.up),
        thousands(field.down),
        thousands(field.total()),
        kenesh.0.edits.total() as f64 / field.total() as f64,
        rows[1].1.edits.total() as f64 / field.total() as f64,
        rows[3].1.edits.total() as f64 / field.total() as f64,
    );
    println!();
}

fn main() {
    let mut sizes: Vec<String> = std::env::var("KENESH_COMPARE")
        .map(|v| v.split(',').map(|s| s.trim().to_uppercase()).collect())
        .unwrap_or_default();
    // `cargo bench` passes `--bench`; any other argument names a size.
    sizes.extend(
        std::env::args()
            .skip(1)
            .filter(|a| !a.starts_with('-'))
            .map(|a| a.to_uppercase()),
    );
    if sizes.is_empty() {
        sizes.push("S".into());
    }
    let runs = std::env::var("KENESH_COMPARE_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    calibration();
    let crypto = kenesh_crypto();
    println!(
        "kenesh crypto apart: one empty session (Noise IK handshake both sides, Hello/Welcome) {} ms; one commit's signature check {:.3} ms. Both are inside kenesh's CPU in the tables.",
        ms(crypto.0),
        crypto.1.as_secs_f64() * 1e3
    );
    println!();
    for (size, label) in [(Size::S, "S"), (Size::L, "L")] {
        if sizes.iter().any(|s| s == label) {
            table(size, label, runs, crypto);
        }
    }
}
