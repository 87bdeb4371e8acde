//! Apply throughput: register `set` ops on existing records, each superseding the previous
//! write of its field, the steady-state work of a replica (the issue's target: at least
//! 1,000,000 ops/s on one core). Memory per record is measured by `tests/memory.rs`.
//!
//! Two measurements of the same work: `wall` is criterion's wall clock; `cpu` is the CPU
//! time of the benchmark thread (Linux `/proc/thread-self/schedstat`, read after a
//! `sched_yield` so it is current), which is what "on one core" means on a machine whose
//! cores are shared with other work. Elsewhere `cpu` falls back to the wall clock.
//!
//! `set_add_100k_supporters_one_record`: one issue's supporters set (the schema allows
//! 100,000) filled by 100,000 adds from 1,000 devices, interleaved, of random person ids:
//! the largest set and op index one record can hold, filled in random order (a sorted
//! vector alone would make this quadratic; the state's per-record maps move into a B-tree
//! past 1,024 entries).
//!
//! `cargo bench -p kenesh-merge --bench apply -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

mod workload;

use workload::{SETS, workload};

fn apply_sets(c: &mut Criterion) {
    let (base, ops) = workload();
    // Sanity: every write applies, and a record ends with one survivor per field.
    let mut check = base.clone();
    for op in ops.iter().cloned() {
        assert_eq!(check.apply(op), kenesh_merge::Applied::Applied);
    }
    assert!(check.conflicts().is_empty());

    let mut g = c.benchmark_group("apply");
    g.sample_size(10);
    g.throughput(Throughput::Elements(SETS as u64));
    g.bench_function("register_set_on_10k_records", |b| {
        apply_each(b, &base, &ops)
    });
    g.bench_function("register_set_on_10k_records_cpu", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (mut state, ops) = (base.clone(), ops.clone());
                let t = CpuTimer::start();
                for op in ops {
                    black_box(state.apply(op));
                }
                total += t.elapsed();
                drop(state);
            }
            total
        })
    });
    g.finish();
}

/// Times applying every op of `ops`, in order, to a copy of `base` (copies made outside the
/// timing).
fn apply_each(
    b: &mut criterion::Bencher<'_>,
    base: &kenesh_merge::State,
    ops: &[kenesh_merge::Op],
) {
    b.iter_batched(
        || (base.clone(), ops.to_vec()),
        |(mut state, ops)| {
            for op in ops {
                black_box(state.apply(op));
            }
            state
        },
        BatchSize::PerIteration,
    );
}

/// The benchmark thread's CPU time, or the wall clock where that cannot be read.
enum CpuTimer {
    Cpu(u64),
    Wall(Instant),
}

impl CpuTimer {
    fn now_ns() -> Option<u64> {
        // Yielding makes the kernel account the running slice before we read it.
        std::thread::yield_now();
        let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
        s.split_whitespace().next()?.parse().ok()
    }

    fn start() -> CpuTimer {
        Self::now_ns().map_or_else(|| CpuTimer::Wall(Instant::now()), CpuTimer::Cpu)
    }

    fn elapsed(&self) -> Duration {
        match self {
            CpuTimer::Cpu(t0) => {
                Duration::from_nanos(Self::now_ns().unwrap_or(*t0).saturating_sub(*t0))
            }
            CpuTimer::Wall(t0) => t0.elapsed(),
        }
    }
}

/// Adds to one record's supporters set, from many devices in random order.
fn apply_large_set(c: &mut Criterion) {
    use kenesh_merge::{OpBuilder, State};
    use kenesh_model::{Id, schema::EntityKind};
    const ADDS: usize = 100_000;
    const DEVICES: usize = 1_000;
    const SUPPORTERS: u16 = 14;
    let id = Id::from_u128(0x5e7);
    let mut desk = OpBuilder::new(1);
    let create = desk
        .create(EntityKind::Issue, id, vec![(1, b"street lights".to_vec())])
        .expect("create");
    let mut devices: Vec<OpBuilder> = (0..DEVICES).map(|d| OpBuilder::new(2 + d as u32)).collect();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let ops: Vec<_> = (0..ADDS)
        .map(|_| {
            let d = (next() % DEVICES as u64) as usize;
            let person = (u128::from(next()) << 64 | u128::from(next())).to_be_bytes();
            devices[d]
                .add(EntityKind::Issue, id, SUPPORTERS, person.to_vec())
                .expect("add")
        })
        .collect();
    let mut base = State::new();
    base.apply(create);
    let mut g = c.benchmark_group("apply");
    g.sample_size(10);
    g.throughput(Throughput::Elements(ADDS as u64));
    g.bench_function("set_add_100k_supporters_one_record", |b| {
        apply_each(b, &base, &ops);
    });
    g.finish();
}

criterion_group!(benches, apply_sets, apply_large_set);
criterion_main!(benches);
