//! Sealed segments: what is read back is what was written, for any range, however the
//! syncs were cut and whatever the record sizes (records larger than a segment included);
//! a damaged segment is a typed error, never a panic; and power lost while segments are
//! sealed loses nothing durable.
//!
//! `KENESH_SEGMENT_CUTS` sets how many power cuts (default 300).

use kenesh_store::segment::SEGMENT_TARGET;
use kenesh_store::sim::SimFile;
use kenesh_store::{OpenError, RedbStore};
use kenesh_sync::{MemStore, Store, StoreError};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use redb::{ReadableTable, TableDefinition};

const SEGMENTS: TableDefinition<'_, (u64, u32), &[u8]> = TableDefinition::new("segments");

/// A record of `len` bytes, text-like (compressible) with some noise, from `seed`.
fn record(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let words: [&[u8]; 6] = [
        "айыл ".as_bytes(),
        "өкмөт ".as_bytes(),
        b"jol ",
        b"suu ",
        "маселе ".as_bytes(),
        b"\x00\xff",
    ];
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        if rng.random_ratio(1, 5) {
            out.push(rng.random());
        } else {
            out.extend_from_slice(words[rng.random_range(0..words.len())]);
        }
    }
    out.truncate(len);
    out
}

fn sizes(rng: &mut ChaCha8Rng) -> usize {
    match rng.random_range(0..100) {
        0 => 0,
        1..=3 => rng.random_range(SEGMENT_TARGET / 2..SEGMENT_TARGET * 3),
        4..=20 => rng.random_range(2_000..20_000),
        _ => rng.random_range(1..1_500),
    }
}

fn check_reads(s: &RedbStore, model: &MemStore, rng: &mut ChaCha8Rng) {
    let end = model.staged();
    for _ in 0..12 {
        let from = rng.random_range(0..=end + 2);
        let max = match rng.random_range(0..4) {
            0 => 0,
            1 => 1,
            2 => rng.random_range(1..50),
            _ => usize::MAX,
        };
        assert_eq!(
            s.read(from, max).unwrap(),
            model.read(from, max).unwrap(),
            "read({from}, {max}) of {end}"
        );
    }
}

#[test]
fn reads_match_a_model_across_segments_and_reopens() {
    for seed in 0..3u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        let mut s = RedbStore::open(&path).unwrap();
        let mut model = MemStore::new();
        let mut n = 0u64;
        for round in 0..60 {
            // Mostly small syncs, now and then a large one.
            let batch = if round % 17 == 5 {
                rng.random_range(100..400)
            } else {
                rng.random_range(1..8)
            };
            for _ in 0..batch {
                n += 1;
                let r = record(seed << 32 | n, sizes(&mut rng));
                assert_eq!(s.stage(&r).unwrap(), model.stage(&r).unwrap());
            }
            if rng.random_ratio(1, 3) {
                check_reads(&s, &model, &mut rng);
            }
            if rng.random_ratio(1, 12) {
                // Going idle: the tail (and what is staged) sealed, however small.
                // Its sync may seal segments of a target's size first; the rest is sealed
                // whatever its size.
                let tail = s.staged() - s.sealed();
                assert!(s.seal_tail().unwrap() as u64 <= tail);
                model.sync().unwrap();
                assert_eq!(
                    (s.sealed(), s.durable()),
                    (model.durable(), model.durable())
                );
                check_reads(&s, &model, &mut rng);
            }
            assert_eq!(s.sync().unwrap(), model.sync().unwrap());
            assert_eq!(s.durable(), model.durable());
            if rng.random_ratio(1, 10) {
                drop(s);
                s = RedbStore::open(&path).unwrap();
            }
            check_reads(&s, &model, &mut rng);
        }
        assert!(s.sealed() > 0, "seed {seed}: nothing sealed");
        assert!(s.check_integrity().unwrap());
        let st = s.stats().unwrap();
        assert_eq!(st.sealed, s.sealed());
        assert_eq!(st.sealed + st.tail_records, s.durable());
        // The tail stays under a segment's worth of bytes.
        assert!(
            st.tail_bytes + 4 * st.tail_records < SEGMENT_TARGET as u64,
            "{st:?}"
        );
    }
}

/// Small syncs seal a segment once per [`SEGMENT_TARGET`] bytes, never rewriting one.
#[test]
fn small_syncs_seal_each_segment_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = RedbStore::open(dir.path().join("s.redb")).unwrap();
    let r = record(7, 1_020);
    let total = 700;
    for _ in 0..total {
        s.stage(&r).unwrap();
        s.sync().unwrap();
    }
    // 1,024 bytes a record with its length: 128 records a segment.
    let per = (SEGMENT_TARGET / 1_024) as u64;
    assert_eq!(s.segments_sealed(), total / per);
    assert_eq!(s.sealed(), total / per * per);
    let st = s.stats().unwrap();
    assert_eq!(st.segments, total / per);
    // Text-like records compress: the segments are well under the raw bytes.
    assert!(st.segment_bytes < st.sealed * 1_020 / 2, "{st:?}");
}

/// An idle replica seals its tail and compacts: the same records read back, before and
/// after reopening, in a file no larger than before; the next syncs start a new tail.
#[test]
fn a_sealed_tail_and_compaction_keep_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let mut s = RedbStore::open(&path).unwrap();
    let mut model = MemStore::new();
    for i in 0..300u64 {
        let r = record(i, 400 + (i as usize * 37) % 1_200);
        s.stage(&r).unwrap();
        model.stage(&r).unwrap();
        if i % 7 == 0 {
            s.sync().unwrap();
            model.sync().unwrap();
        }
    }
    // Staged records are synced by the seal.
    let before = s.stats().unwrap();
    assert!(before.tail_records > 0 && s.staged() > s.durable());
    let tail = s.staged() - s.sealed();
    assert_eq!(s.seal_tail().unwrap() as u64, tail);
    model.sync().unwrap();
    assert_eq!(s.seal_tail().unwrap(), 0, "nothing left to seal");
    let len = std::fs::metadata(&path).unwrap().len();
    s.compact().unwrap();
    let st = s.stats().unwrap();
    assert_eq!((st.sealed, st.tail_records), (model.durable(), 0));
    // The sealed records are stored compressed.
    let raw: usize = model
        .read(before.sealed + 1, usize::MAX)
        .unwrap()
        .iter()
        .map(|(_, r)| r.len())
        .sum();
    assert!(
        (st.segment_bytes - before.segment_bytes) * 3 < raw as u64 * 2,
        "{raw} raw bytes: {before:?} → {st:?}"
    );
    assert!(std::fs::metadata(&path).unwrap().len() <= len);
    let all = |s: &RedbStore| s.read(1, usize::MAX).unwrap();
    assert_eq!(all(&s), model.read(1, usize::MAX).unwrap());
    drop(s);
    let mut s = RedbStore::open(&path).unwrap();
    assert!(s.check_integrity().unwrap());
    assert_eq!(all(&s), model.read(1, usize::MAX).unwrap());
    // Later records join a new tail after the small segment.
    for i in 0..5u64 {
        let r = record(1_000 + i, 900);
        assert_eq!(s.stage(&r).unwrap(), model.stage(&r).unwrap());
    }
    assert_eq!(s.sync().unwrap(), model.sync().unwrap());
    assert_eq!(s.stats().unwrap().tail_records, 5);
    assert_eq!(all(&s), model.read(1, usize::MAX).unwrap());
}

/// Writes `n` records in syncs of 1–9, enough for several segments.
fn filled(path: &std::path::Path, n: u64) -> Vec<Vec<u8>> {
    let mut s = RedbStore::open(path).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(n);
    let mut out = Vec::new();
    while (out.len() as u64) < n {
        for _ in 0..rng.random_range(1..10) {
            let r = record(out.len() as u64, rng.random_range(100..3_000));
            s.stage(&r).unwrap();
            out.push(r);
        }
        s.sync().unwrap();
    }
    assert!(s.sealed() > 0);
    out
}

/// Rewrites the piece `key` of the segments table with `f` (or removes it).
fn damage(path: &std::path::Path, key: (u64, u32), f: impl Fn(&mut Vec<u8>) -> bool) {
    let db = redb::Database::open(path).unwrap();
    let w = db.begin_write().unwrap();
    {
        let mut t = w.open_table(SEGMENTS).unwrap();
        let mut v = t.get(key).unwrap().unwrap().value().to_vec();
        if f(&mut v) {
            t.insert(key, v.as_slice()).unwrap();
        } else {
            t.remove(key).unwrap();
        }
    }
    w.commit().unwrap();
}

#[test]
fn a_damaged_segment_is_an_error_not_a_panic() {
    type Damage = Box<dyn Fn(&mut Vec<u8>) -> bool>;
    let cases: Vec<(&str, (u64, u32), Damage)> = vec![
        (
            "zstd bytes",
            (1, 1),
            Box::new(|v| {
                for b in v.iter_mut().step_by(7) {
                    *b ^= 0x5a;
                }
                true
            }),
        ),
        ("a missing piece", (1, 1), Box::new(|_| false)),
        (
            "a huge declared size",
            (1, 0),
            Box::new(|v| {
                v[5..9].copy_from_slice(&u32::MAX.to_le_bytes());
                true
            }),
        ),
        (
            "a wrong count",
            (1, 0),
            Box::new(|v| {
                v[1] ^= 1;
                true
            }),
        ),
        (
            "a short first piece",
            (1, 0),
            Box::new(|v| {
                v.truncate(3);
                true
            }),
        ),
    ];
    for (what, key, f) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        let want = filled(&path, 400);
        damage(&path, key, f);
        let s = RedbStore::open(&path).unwrap();
        // The damaged segment is the first: reading it fails with a typed error; what
        // follows it still reads.
        assert!(
            matches!(s.read(1, usize::MAX), Err(StoreError::Io(_))),
            "{what}"
        );
        assert!(matches!(s.read(2, 1), Err(StoreError::Io(_))), "{what}");
        let last = s.durable();
        assert_eq!(
            s.read(last, 1).unwrap(),
            vec![(last, want[last as usize - 1].clone())]
        );
    }
}

#[test]
fn a_damaged_last_segment_header_is_refused_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    filled(&path, 400);
    let s = RedbStore::open(&path).unwrap();
    assert!(s.stats().unwrap().segments >= 2);
    drop(s);
    // The last segment: the last key of the table.
    let last = {
        let db = redb::Database::open(&path).unwrap();
        let r = redb::ReadableDatabase::begin_read(&db).unwrap();
        let t = r.open_table(SEGMENTS).unwrap();
        let (k, _) = t.last().unwrap().unwrap();
        k.value().0
    };
    damage(&path, (last, 0), |v| {
        v[0] = 9;
        true
    });
    assert!(matches!(RedbStore::open(&path), Err(OpenError::Corrupt(_))));
}

/// Appends `records` in syncs of `batches` on `file`; the last mark a sync returned and the
/// end of the sync that failed, if one did. `None` if the store was never made.
fn run(file: &SimFile, records: &[Vec<u8>], batches: &[usize]) -> Option<(u64, Option<u64>)> {
    let mut store = RedbStore::with_backend(file.clone()).ok()?;
    let mut acked = 0;
    let mut at = 0;
    for &n in batches {
        for r in &records[at..at + n] {
            store.stage(r).unwrap();
        }
        at += n;
        match store.sync() {
            Ok(mark) => acked = mark,
            Err(_) => return Some((acked, Some(at as u64))),
        }
    }
    Some((acked, None))
}

#[test]
fn power_loss_while_sealing_loses_nothing_durable() {
    let cuts: u64 = std::env::var("KENESH_SEGMENT_CUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let mut rng = ChaCha8Rng::seed_from_u64(0x5e6);
    // About 450 KiB: three segments and a tail.
    let records: Vec<Vec<u8>> = (0..300)
        .map(|i| record(i, rng.random_range(200..2_800)))
        .collect();
    let mut batches = Vec::new();
    let mut left = records.len();
    while left > 0 {
        let n = rng.random_range(1..=12).min(left);
        batches.push(n);
        left -= n;
    }
    let f = SimFile::new();
    assert_eq!(run(&f, &records, &batches), Some((300, None)));
    let total_ops = f.ops();
    let (mut sealed_seen, mut unborn) = (0, 0);
    for i in 0..cuts {
        let mut rng = ChaCha8Rng::seed_from_u64(i);
        let file = SimFile::new();
        file.die_after(rng.random_range(0..total_ops));
        let outcome = run(&file, &records, &batches);
        let pending = file.pending();
        let reorder = rng.random_ratio(1, 4);
        let kept: Vec<bool> = (0..pending)
            .map(|j| {
                if reorder {
                    rng.random_bool(0.5)
                } else {
                    j + 1 == pending
                }
            })
            .collect();
        let tear = match kept
            .iter()
            .rposition(|k| *k)
            .and_then(|j| file.pending_write_len(j))
        {
            Some(len) => rng.random_range(0..=len),
            None => 0,
        };
        let image = file.power_loss(|j| kept[j], tear);
        let ctx = format!("cut {i}: {outcome:?}, reorder {reorder}, tear {tear}");
        let mut store = match (RedbStore::with_backend(SimFile::from_image(image)), outcome) {
            (Ok(s), _) => s,
            (Err(_), None) => {
                unborn += 1;
                continue;
            }
            (Err(e), Some(_)) => panic!("{ctx}: does not open: {e}"),
        };
        let (acked, in_flight) = outcome.unwrap_or((0, None));
        assert!(store.check_integrity().unwrap(), "{ctx}");
        let d = store.durable();
        assert!(d == acked || Some(d) == in_flight, "{ctx}: durable {d}");
        let got: Vec<Vec<u8>> = store
            .read(0, usize::MAX)
            .unwrap()
            .into_iter()
            .map(|(_, r)| r)
            .collect();
        assert_eq!(got.as_slice(), &records[..d as usize], "{ctx}");
        if store.sealed() > 0 {
            sealed_seen += 1;
        }
        let next = d + 1;
        assert_eq!(store.stage(b"after").unwrap(), next, "{ctx}");
        assert_eq!(store.sync().unwrap(), next, "{ctx}");
    }
    println!("{cuts} cuts: {sealed_seen} found segments sealed, {unborn} files never made");
    assert!(sealed_seen > cuts / 4);
}

/// A segment keyed at an impossible position is refused at open, without overflowing.
#[test]
fn a_segment_at_an_impossible_position_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    filled(&path, 400);
    {
        let db = redb::Database::open(&path).unwrap();
        let w = db.begin_write().unwrap();
        {
            let mut t = w.open_table(SEGMENTS).unwrap();
            let piece = t.get((1, 0)).unwrap().unwrap().value().to_vec();
            t.insert((u64::MAX, 0), piece.as_slice()).unwrap();
        }
        w.commit().unwrap();
    }
    assert!(matches!(RedbStore::open(&path), Err(OpenError::Corrupt(_))));
}
