//! Process death: a child process (this test binary, re-invoked) appends and syncs records
//! in a loop and prints each durable mark; the parent kills it (SIGKILL on Unix) at random
//! moments and checks after each kill that every printed mark is in the file.
//!
//! `KENESH_KILLS` sets how many kills (default 100), `KENESH_KILL_SEED` the seed (printed).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kenesh_store::RedbStore;
use kenesh_sync::Store;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const CHILD_ENV: &str = "KENESH_STORE_CHILD_PATH";

/// The record at a position: its size varies with the position.
fn record(pos: u64) -> Vec<u8> {
    format!("record {pos};")
        .repeat(1 + (pos % 40) as usize)
        .into_bytes()
}

/// Every record in the file is the one made for its position.
fn check(path: &Path, printed: u64, ctx: &str) -> u64 {
    let mut s = RedbStore::open(path).unwrap_or_else(|e| panic!("{ctx}: does not open: {e}"));
    let d = s.durable();
    assert!(d >= printed, "{ctx}: durable {d} < printed mark {printed}");
    let all = s.read(1, usize::MAX).unwrap();
    assert_eq!(all.len() as u64, d, "{ctx}");
    for (pos, r) in all {
        assert_eq!(r, record(pos), "{ctx}: record {pos}");
    }
    assert!(s.check_integrity().unwrap(), "{ctx}: integrity");
    d
}

/// The child: appends batches of 1 to 3 records and syncs, printing each durable mark, until
/// it is killed. Does nothing unless run by the parent.
#[test]
fn child_appends_until_killed() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let mut s = RedbStore::open(&path).unwrap();
    let mut out = std::io::stdout().lock();
    writeln!(out, "durable {}", s.durable()).unwrap();
    out.flush().unwrap();
    let mut n = 0u64;
    loop {
        n += 1;
        for _ in 0..1 + n % 3 {
            let pos = s.staged() + 1;
            s.stage(&record(pos)).unwrap();
        }
        let mark = s.sync().unwrap();
        writeln!(out, "durable {mark}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn killed_at_random_moments_nothing_printed_durable_is_lost() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let kills: u64 = std::env::var("KENESH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let seed: u64 = std::env::var("KENESH_KILL_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x6b69_6c6c);
    println!("process death: {kills} kills, seed {seed}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kenesh.redb");
    let exe = std::env::current_exe().unwrap();
    let started = Instant::now();
    let (mut durable, mut syncs_seen, mut before_first_mark) = (0u64, 0u64, 0u64);
    for i in 0..kills {
        let mut child = Command::new(&exe)
            .args(["child_appends_until_killed", "--exact", "--nocapture"])
            .args(["--test-threads", "1"])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let delay = Duration::from_micros(rng.random_range(2_000..40_000));
        std::thread::sleep(delay);
        child.kill().unwrap();
        let status = child.wait().unwrap();
        let mut marks = Vec::new();
        for line in BufReader::new(child.stdout.take().unwrap()).lines() {
            // The harness may print "test … " before the first mark on its line.
            if let Some((_, m)) = line.unwrap().rsplit_once("durable ") {
                marks.push(m.trim().parse::<u64>().unwrap());
            }
        }
        let ctx = format!("kill {i} after {delay:?} ({status}), marks printed {marks:?}");
        let printed = marks.last().copied().unwrap_or(durable);
        if marks.is_empty() {
            before_first_mark += 1;
        } else {
            assert_eq!(
                marks[0], durable,
                "{ctx}: the child opened what the parent saw"
            );
            syncs_seen += marks.len() as u64 - 1;
        }
        durable = check(&path, printed, &ctx);
    }
    println!(
        "process death: {kills} kills in {:.1?}: {syncs_seen} syncs printed, {durable} records \
         durable at the end, {before_first_mark} kills before the child printed anything; \
         file {} KiB",
        started.elapsed(),
        std::fs::metadata(&path).unwrap().len() / 1024
    );
    assert!(durable > 0, "the children made progress");
}
