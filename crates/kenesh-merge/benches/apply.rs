//! Apply throughput: register `set` ops on existing records, each superseding the previous
//! write of its field, the steady-state work of a replica (the target: at least
//! 1,000,000 ops/s on one core). Memory per record is measured by `tests/memory.rs`.
//!
//! Two measurements of the same work: `wall` is criterion's wall clock; `cpu` is the CPU
//! time of the benchmark thread (Linux `/proc/thread-self/schedstat`, read after a
//! `sched_yield` so it is current), which is what "on one core" means on a machine whose
//! cores are shared with other work. Elsewhere `cpu` falls back to the wall clock.
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
        b.iter_batched(
            || (base.clone(), ops.clone()),
            |(mut state, ops)| {
                for op in ops {
                    black_box(state.apply(op));
                }
                state
            },
            BatchSize::PerIteration,
        )
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

criterion_group!(benches, apply_sets);
criterion_main!(benches);
