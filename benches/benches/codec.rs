//! Codec throughput on the workload's ops: op envelopes encoded and decoded with postcard
//! (kenesh's wire) beside serde_json and bincode of the same values; signed commit frames
//! built, decoded and checked; the per-(scope, tier) state hashes; and the CPU of whole sync
//! sessions (both sides, in memory): the workload's S incremental exchange and a second
//! kiosk's initial sync from the server's cached snapshot.
//!
//! `cargo bench -p kenesh-benches --bench codec` (`-- session` for the sessions alone: each
//! sample first builds its world, about half a second)

#[path = "../../crates/kenesh-sync/tests/common/workload.rs"]
#[allow(dead_code, unreachable_pub)]
mod workload;

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use kenesh_merge::{Envelope, Op, State};
use kenesh_proto::Limits;
use kenesh_sync::{Secret, SignedCommit};
use kenesh_workload::{DEFAULT_SEED, Size, Workload};
use workload::{Tracker, create};

fn ops() -> Vec<Op> {
    let w = Workload::new(Size::S, DEFAULT_SEED);
    let mut b = kenesh_merge::OpBuilder::new(7);
    let mut t = Tracker::default();
    let mut out = Vec::new();
    for r in &w.initial {
        out.extend(create(&mut b, r));
        t.learn(r);
    }
    out
}

fn codec(c: &mut Criterion) {
    let ops = ops();
    let envelopes: Vec<Envelope> = ops.iter().map(|o| o.envelope().clone()).collect();
    let postcard: Vec<Vec<u8>> = envelopes
        .iter()
        .map(|e| postcard::to_allocvec(e).unwrap())
        .collect();
    let json: Vec<Vec<u8>> = envelopes
        .iter()
        .map(|e| serde_json::to_vec(e).unwrap())
        .collect();
    let config = bincode::config::standard();
    let bin: Vec<Vec<u8>> = envelopes
        .iter()
        .map(|e| bincode::serde::encode_to_vec(e, config).unwrap())
        .collect();
    let total = |v: &[Vec<u8>]| v.iter().map(Vec::len).sum::<usize>() as u64;
    println!(
        "{} envelopes: postcard {} B, bincode {} B, JSON {} B",
        envelopes.len(),
        total(&postcard),
        total(&bin),
        total(&json)
    );

    // Throughput in each format's own bytes.
    let mut g = c.benchmark_group("envelope");
    g.throughput(Throughput::Bytes(total(&postcard)));
    g.bench_function("postcard encode", |b| {
        b.iter(|| {
            for e in &envelopes {
                black_box(postcard::to_allocvec(e).unwrap());
            }
        });
    });
    g.bench_function("postcard decode", |b| {
        b.iter(|| {
            for p in &postcard {
                black_box(postcard::from_bytes::<Envelope>(p).unwrap());
            }
        });
    });
    g.throughput(Throughput::Bytes(total(&bin)));
    g.bench_function("bincode encode", |b| {
        b.iter(|| {
            for e in &envelopes {
                black_box(bincode::serde::encode_to_vec(e, config).unwrap());
            }
        });
    });
    g.bench_function("bincode decode", |b| {
        b.iter(|| {
            for p in &bin {
                let v: (Envelope, usize) = bincode::serde::decode_from_slice(p, config).unwrap();
                black_box(v);
            }
        });
    });
    g.throughput(Throughput::Bytes(total(&json)));
    g.bench_function("json encode", |b| {
        b.iter(|| {
            for e in &envelopes {
                black_box(serde_json::to_vec(e).unwrap());
            }
        });
    });
    g.bench_function("json decode", |b| {
        b.iter(|| {
            for p in &json {
                black_box(serde_json::from_slice::<Envelope>(p).unwrap());
            }
        });
    });
    g.finish();

    // Signed commits of 8 ops: built (signed), then decoded with every op's payload hash
    // recomputed, and the signature checked.
    let secret = Secret::from_bytes([7; 32]);
    let frames: Vec<SignedCommit> = ops
        .chunks(8)
        .take(250)
        .map(|c| SignedCommit::sign(&secret, c, 1 << 20).unwrap())
        .collect();
    let frame_bytes: u64 = frames.iter().map(|f| f.frame().len() as u64).sum();
    let limits = Limits::new(kenesh_proto::HARD_MAX_FRAME);
    let keys = secret.public();
    let mut g = c.benchmark_group("commit frame");
    g.throughput(Throughput::Bytes(frame_bytes));
    g.bench_function("sign and encode", |b| {
        b.iter(|| {
            for c in ops.chunks(8).take(250) {
                black_box(SignedCommit::sign(&secret, c, 1 << 20).unwrap());
            }
        });
    });
    g.bench_function("decode (ops and payload hashes)", |b| {
        b.iter(|| {
            for f in &frames {
                black_box(SignedCommit::parse(f.frame(), &limits).unwrap());
            }
        });
    });
    g.bench_function("verify signature", |b| {
        b.iter(|| {
            for f in &frames {
                black_box(f.verify(&keys));
            }
        });
    });
    g.finish();

    let mut state = State::new();
    for op in &ops {
        state.apply(op.clone());
    }
    let mut g = c.benchmark_group("state");
    g.bench_function(format!("state hashes of {} ops", ops.len()), |b| {
        b.iter(|| black_box(state.state_hashes()));
    });
    g.finish();
}

/// A server holding S, a kiosk that synced it once, and both sides' incremental edits made:
/// what the incremental exchange starts from.
fn incremental_world() -> (
    kenesh_sync::Server<kenesh_sync::MemStore>,
    kenesh_sync::Device<kenesh_sync::MemStore>,
    u64,
) {
    use kenesh_workload::{CREATION_SPAN_MS, EPOCH_MS};
    let w = Workload::new(Size::S, DEFAULT_SEED);
    let (mut s, mut d, mut t) = workload::world(&w.initial, kenesh_sync::ServerConfig::default());
    workload::sync(&mut d, &mut s, 1, EPOCH_MS + CREATION_SPAN_MS);
    let mut kt = t.clone();
    workload::edit_kiosk(&mut d, &mut kt, &w.incremental.kiosk);
    workload::edit_server(&mut s, &mut t, &w.incremental.server);
    let now = w
        .incremental
        .server
        .iter()
        .chain(&w.incremental.kiosk)
        .map(|e| e.at)
        .max()
        .unwrap_or(0);
    (s, d, now)
}

/// A server holding S whose snapshot a first kiosk's sync made, and a second kiosk enrolled
/// and empty.
fn second_kiosk_world() -> (
    kenesh_sync::Server<kenesh_sync::MemStore>,
    kenesh_sync::Device<kenesh_sync::MemStore>,
    u64,
) {
    use kenesh_workload::{CREATION_SPAN_MS, EPOCH_MS};
    let w = Workload::new(Size::S, DEFAULT_SEED);
    let (mut s, mut first, _) = workload::world(&w.initial, kenesh_sync::ServerConfig::default());
    let now = EPOCH_MS + CREATION_SPAN_MS;
    workload::sync(&mut first, &mut s, 1, now);
    let id = workload::KIOSK + 1;
    let secret = Secret::from_bytes([id as u8; 32]);
    s.enrol(id, secret.public(), workload::kiosk_grants(&w.initial))
        .unwrap();
    let d =
        kenesh_sync::Device::open(kenesh_sync::MemStore::new(), secret, id, s.public()).unwrap();
    (s, d, now)
}

fn sessions(c: &mut Criterion) {
    let mut g = c.benchmark_group("session");
    g.sample_size(10);
    g.bench_function("incremental S (20 + 100 edits), both sides", |b| {
        b.iter_batched(
            incremental_world,
            // The world goes back out, so criterion drops it outside the timing.
            |(mut s, mut d, now)| {
                let t = workload::sync(&mut d, &mut s, 2, now);
                (s, d, black_box(t.down))
            },
            BatchSize::PerIteration,
        );
    });
    g.bench_function(
        "initial S, second kiosk, cached snapshot, both sides",
        |b| {
            b.iter_batched(
                second_kiosk_world,
                |(mut s, mut d, now)| {
                    let t = workload::sync(&mut d, &mut s, 3, now);
                    (s, d, black_box(t.down))
                },
                BatchSize::PerIteration,
            );
        },
    );
    g.finish();
}

criterion_group!(benches, codec, sessions);
criterion_main!(benches);
