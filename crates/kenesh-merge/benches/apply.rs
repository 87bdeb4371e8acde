//! Apply throughput: register `set` ops on existing records, each superseding the previous
//! write of its field, the steady-state work of a replica (the issue's target: at least
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
use kenesh_merge::{Op, OpBuilder, OpId, State};
use kenesh_model::schema::EntityKind;
use kenesh_model::{Id, IssueStatus, Workflow};

const RECORDS: usize = 10_000;
const SETS: usize = 100_000;
const TITLE: u16 = 1;
const CATEGORY: u16 = 3;
const STATUS: u16 = 9;

/// A state holding `RECORDS` created issues, and `SETS` register writes spread over them
/// (title and category in turn), each superseding the write of that field it follows.
fn workload() -> (State, Vec<Op>) {
    let mut desk = OpBuilder::new(1);
    let mut last: Vec<[OpId; 2]> = Vec::with_capacity(RECORDS);
    let mut state = State::new();
    for i in 0..RECORDS {
        let id = Id::from_u128(0x1000_0000 + i as u128);
        let create = desk
            .create(
                EntityKind::Issue,
                id,
                vec![
                    (
                        TITLE,
                        format!("Issue number {i}: street lights").into_bytes(),
                    ),
                    (CATEGORY, vec![(i % 12) as u8]),
                    (STATUS, vec![IssueStatus::Submitted.code()]),
                ],
            )
            .expect("create");
        last.push([create.id(), create.id()]);
        state.apply(create);
    }
    let mut editor = OpBuilder::new(2);
    let mut ops = Vec::with_capacity(SETS);
    for n in 0..SETS {
        let i = n % RECORDS;
        let which = (n / RECORDS) % 2;
        let id = Id::from_u128(0x1000_0000 + i as u128);
        let (field, value) = if which == 0 {
            (TITLE, format!("Issue number {i}, edit {n}").into_bytes())
        } else {
            (CATEGORY, vec![(n % 12) as u8])
        };
        let op = editor
            .set(EntityKind::Issue, id, field, value, &[last[i][which]])
            .expect("set");
        last[i][which] = op.id();
        ops.push(op);
    }
    (state, ops)
}

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
