//! criterion benches of the redb store: batched writes (records of a kiosk's commits,
//! staged and synced in batches), the open of a store of 100,000 records (redb alone, then
//! with the device's replay, then the device from its checkpoint), reads, and the bulk load of the workload's S snapshot (a new
//! kiosk's first sync: the server's 2,000 records arrive as a compressed snapshot through a
//! real session and are stored in a new redb file).
//!
//! `cargo bench -p kenesh-store --bench store` (the setup makes 100,000 signed commits
//! first, about half a minute). A line printed before the benches gives the store's sizes.

#[path = "../../kenesh-sync/tests/common/workload.rs"]
#[allow(dead_code, unreachable_pub)]
mod workload;

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use kenesh_store::RedbStore;
use kenesh_sync::{Device, Secret, ServerConfig, Store};
use kenesh_workload::{DEFAULT_SEED, Size, Workload};
use workload::{KIOSK, sync, world};

/// Records in the open and read benches.
const RECORDS: usize = 100_000;

fn server_secret() -> Secret {
    Secret::from_bytes([0xee; 32])
}

fn kiosk_secret() -> Secret {
    Secret::from_bytes([KIOSK as u8; 32])
}

/// A kiosk's store records ([`workload::kiosk_store`]).
fn kiosk_records(records: usize) -> Vec<Vec<u8>> {
    workload::kiosk_store(records)
        .read(1, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|(_, r)| r)
        .collect()
}

/// Writes `records` into a new store at `path`, synced in batches of 1,000.
fn fill(path: &Path, records: &[Vec<u8>]) {
    let mut s = RedbStore::open(path).unwrap();
    for batch in records.chunks(1_000) {
        for r in batch {
            s.stage(r).unwrap();
        }
        s.sync().unwrap();
    }
}

fn benches(c: &mut Criterion) {
    let started = Instant::now();
    let records = kiosk_records(RECORDS);
    let raw: u64 = records.iter().map(|r| r.len() as u64).sum();
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full.redb");
    fill(&full, &records);
    let (file, stats) = {
        let s = RedbStore::open(&full).unwrap();
        (std::fs::metadata(&full).unwrap().len(), s.stats().unwrap())
    };
    eprintln!(
        "store of {RECORDS} kiosk records ({raw} bytes, {} mean): a {file}-byte file, {} segments of {} bytes, a tail of {} records; made in {:.1?}",
        raw / RECORDS as u64,
        stats.segments,
        stats.segment_bytes,
        stats.tail_records,
        started.elapsed()
    );

    // Batched writes: a batch of records staged, then one sync (one disk sync).
    let mut g = c.benchmark_group("write");
    g.sample_size(20).measurement_time(Duration::from_secs(8));
    for batch in [10usize, 100, 1_000] {
        let path = dir.path().join(format!("write-{batch}.redb"));
        let mut s = RedbStore::open(&path).unwrap();
        let mut at = 0;
        g.throughput(Throughput::Elements(batch as u64));
        g.bench_function(format!("batch of {batch}"), |b| {
            b.iter(|| {
                for _ in 0..batch {
                    s.stage(&records[at % records.len()]).unwrap();
                    at += 1;
                }
                black_box(s.sync().unwrap())
            });
        });
    }
    g.finish();

    // Open of the store of 100,000 records: redb (and the tail) alone, then a device
    // replaying every record.
    let mut g = c.benchmark_group("open 100k");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.bench_function("redb store", |b| {
        b.iter(|| black_box(RedbStore::open(&full).unwrap().durable()));
    });
    g.bench_function("redb store + device replay", |b| {
        b.iter_batched(
            || RedbStore::open(&full).unwrap(),
            |s| {
                let d = Device::open(s, kiosk_secret(), KIOSK, server_secret().public()).unwrap();
                black_box(d.own_seq())
            },
            BatchSize::PerIteration,
        );
    });
    // The same store with the checkpoint a device writes at its first sync (from
    // `CHECKPOINT_OPS` ops on): the device opens from it, replaying nothing.
    let checkpointed = dir.path().join("checkpointed.redb");
    std::fs::copy(&full, &checkpointed).unwrap();
    {
        let s = RedbStore::open(&checkpointed).unwrap();
        let mut d = Device::open(s, kiosk_secret(), KIOSK, server_secret().public()).unwrap();
        d.sync().unwrap();
        assert!(d.store().checkpoint().unwrap().is_some());
    }
    g.bench_function("redb store + device from its checkpoint", |b| {
        b.iter_batched(
            || RedbStore::open(&checkpointed).unwrap(),
            |s| {
                let d = Device::open(s, kiosk_secret(), KIOSK, server_secret().public()).unwrap();
                black_box(d.own_seq())
            },
            BatchSize::PerIteration,
        );
    });
    g.finish();

    // Reads: every record, in the batches of 1,024 a device's replay reads.
    let mut g = c.benchmark_group("read 100k");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.throughput(Throughput::Bytes(raw));
    let s = RedbStore::open(&full).unwrap();
    g.bench_function("all, 1,024 at a time", |b| {
        b.iter(|| {
            let mut from = 1;
            let mut n = 0;
            loop {
                let batch = s.read(from, 1_024).unwrap();
                let Some(last) = batch.last() else { break };
                from = last.0 + 1;
                n += batch.len();
            }
            assert_eq!(n, RECORDS);
        });
    });
    g.throughput(Throughput::Elements(1));
    let mut x = 0u64;
    g.bench_function("one record at a random position", |b| {
        b.iter(|| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            black_box(s.read(1 + (x >> 33) % RECORDS as u64, 1).unwrap())
        });
    });
    g.finish();

    // Bulk load: a new kiosk's first sync of the S workload's 2,000 records, as the session
    // does it (a zstd snapshot, the handshake, the signatures), into a new redb file that is
    // synced to disk at the end.
    let s_size = Workload::new(Size::S, DEFAULT_SEED);
    let (mut server, _, _) = world(&s_size.initial, ServerConfig::default());
    let records = s_size.initial.len() as u64;
    let mut g = c.benchmark_group("bulk load S");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(records));
    let mut n = 0u32;
    g.bench_function("snapshot into a new redb file", |b| {
        b.iter_batched(
            || {
                n += 1;
                let path = dir.path().join(format!("bulk-{n}.redb"));
                let store = RedbStore::open(&path).unwrap();
                Device::open(store, kiosk_secret(), KIOSK, server_secret().public()).unwrap()
            },
            |mut d| {
                let t = sync(&mut d, &mut server, 7, 1_800_000_000_000);
                assert!(d.state().len() >= records as usize);
                black_box(t.down)
            },
            BatchSize::PerIteration,
        );
    });
    g.finish();
}

criterion_group!(store, benches);
criterion_main!(store);
