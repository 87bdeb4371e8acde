//! The scenarios of WORKLOAD.md: shapes, determinism and convergence of the reference model.

use std::collections::{BTreeMap, BTreeSet};

use kenesh_workload::floors::{changed_records, field_bytes, field_floor};
use kenesh_workload::{
    CONFLICTS, Change, DEFAULT_SEED, Edit, Edits, Model, Record, RecordId, Side, Size, Workload,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn mix(edits: &[Edit]) -> (usize, usize, usize) {
    let mut m = (0, 0, 0);
    for e in edits {
        match e.change {
            Change::SetStatus { .. } => m.0 += 1,
            Change::AddSupporter { .. } => m.1 += 1,
            Change::NewRecord(_) => m.2 += 1,
        }
    }
    m
}

fn check_record(r: &Record) {
    assert!(r.category < 12 && r.status < 5, "{r:?}");
    assert!(r.supporters.len() < 20);
    assert!(
        r.supporters.windows(2).all(|w| w[0] < w[1]),
        "supporters are a sorted set"
    );
    assert_eq!(r.title.split(' ').count(), 6, "{}", r.title);
    assert_eq!(r.description.split(' ').count(), 40, "{}", r.description);
    for text in [&r.title, &r.description] {
        assert!(
            text.chars().all(|c| c == ' '
                || c == '.'
                || c == '-'
                || ('а'..='я').contains(&c.to_lowercase().next().unwrap())
                || "өүңӨҮҢ".contains(c)),
            "not Kyrgyz Cyrillic: {text}"
        );
    }
    assert!(r.description.ends_with('.'));
}

fn check_shape(w: &Workload, records: usize, kiosk: usize, server: usize) {
    assert_eq!(w.initial.len(), records);
    let ids: BTreeSet<RecordId> = w.initial.iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), records, "ids are distinct");
    assert!(
        w.initial.windows(2).all(|p| p[0].updated < p[1].updated),
        "created over time"
    );
    w.initial.iter().for_each(check_record);
    let last = w.initial.last().unwrap().updated;

    for (edits, side, n) in [
        (&w.incremental.kiosk, Side::Kiosk, kiosk),
        (&w.incremental.server, Side::Server, server),
    ] {
        assert_eq!(edits.len(), n);
        let (st, su, new) = mix(edits);
        assert_eq!((st, su), (n * 2 / 5, n * 2 / 5));
        assert_eq!(new, n - st - su);
        assert!(edits.windows(2).all(|p| p[0].at < p[1].at), "in time order");
        for e in edits {
            assert_eq!(e.side, side);
            assert!(e.at > last, "edits come after the initial sync");
            match &e.change {
                Change::NewRecord(r) => {
                    check_record(r);
                    assert_eq!(r.updated, e.at);
                    assert!(!ids.contains(&r.id));
                }
                other => assert!(
                    ids.contains(&other.record()),
                    "edits target initial records"
                ),
            }
        }
    }
}

#[test]
fn sizes_have_the_table_s_shape() {
    check_shape(&Workload::new(Size::S, DEFAULT_SEED), 2_000, 20, 100);
    assert_eq!(
        mix(&Workload::new(Size::S, DEFAULT_SEED).incremental.server),
        (40, 40, 20)
    );
}

#[test]
fn l_has_twenty_thousand_records_over_ten_municipalities() {
    let w = Workload::new(Size::L, DEFAULT_SEED);
    check_shape(&w, 20_000, 50, 500);
    let m: BTreeSet<u32> = w.initial.iter().map(|r| r.municipality).collect();
    assert_eq!(m.len(), 10);
    let s = Workload::new(Size::S, DEFAULT_SEED);
    assert_eq!(
        s.initial
            .iter()
            .map(|r| r.municipality)
            .collect::<BTreeSet<_>>()
            .len(),
        1
    );
}

#[test]
fn scale_keeps_the_s_edits_over_more_records() {
    let w = Workload::scale(20_000, 7);
    check_shape(&w, 20_000, 20, 100);
    let w = Workload::with_records(500, 3, 11, 7);
    check_shape(&w, 500, 3, 11);
}

#[test]
fn same_seed_same_bytes_different_seed_different_records() {
    let a = Workload::new(Size::S, DEFAULT_SEED);
    let b = Workload::new(Size::S, DEFAULT_SEED);
    assert_eq!(a, b);
    assert_eq!(
        postcard::to_stdvec(&a.initial).unwrap(),
        postcard::to_stdvec(&b.initial).unwrap()
    );
    assert_eq!(a.initial_floors(), b.initial_floors());
    assert_eq!(a.incremental_floors(), b.incremental_floors());

    let c = Workload::new(Size::S, DEFAULT_SEED + 1);
    assert_eq!(c.initial.len(), a.initial.len());
    let same = a
        .initial
        .iter()
        .zip(&c.initial)
        .filter(|(x, y)| x.id == y.id || x.description == y.description)
        .count();
    assert_eq!(same, 0, "a different seed gives different records");
    assert_ne!(a.incremental, c.incremental);
}

#[test]
fn conflicting_is_incremental_plus_ten_status_changes_of_the_same_records_each_side() {
    let w = Workload::new(Size::S, DEFAULT_SEED);
    let extra = |all: &[Edit], base: &[Edit]| -> Vec<Edit> {
        let mut rest = all.to_vec();
        for e in base {
            let i = rest
                .iter()
                .position(|x| x == e)
                .expect("incremental edit kept");
            rest.remove(i);
        }
        rest
    };
    let k = extra(&w.conflicting.kiosk, &w.incremental.kiosk);
    let s = extra(&w.conflicting.server, &w.incremental.server);
    assert_eq!((k.len(), s.len()), (CONFLICTS, CONFLICTS));
    assert!(w.conflicting.kiosk.windows(2).all(|p| p[0].at <= p[1].at));
    assert!(w.conflicting.server.windows(2).all(|p| p[0].at <= p[1].at));
    let status = |edits: &[Edit]| -> BTreeMap<RecordId, u8> {
        edits
            .iter()
            .map(|e| match e.change {
                Change::SetStatus { record, status } => (record, status),
                _ => panic!("conflict edits are status changes"),
            })
            .collect()
    };
    let (ks, ss) = (status(&k), status(&s));
    assert_eq!(ks.len(), CONFLICTS, "ten distinct records");
    assert_eq!(
        ks.keys().collect::<Vec<_>>(),
        ss.keys().collect::<Vec<_>>(),
        "the same records"
    );
    let initial = w.initial_state();
    for (id, kst) in &ks {
        assert_ne!(kst, &ss[id], "the two sides disagree");
        assert_ne!(kst, &initial[id].status, "a real change");
        assert_ne!(ss[id], initial[id].status, "a real change");
    }
}

/// Applies `first` then `second` to a replica holding the initial records.
fn replica(w: &Workload, first: &[Edit], second: &[Edit]) -> Model {
    let mut m = Model::new(&w.initial);
    first.iter().chain(second).for_each(|e| m.apply(e));
    m
}

fn check_converges(w: &Workload, edits: &Edits) -> Model {
    let kiosk = replica(w, &edits.kiosk, &edits.server);
    let server = replica(w, &edits.server, &edits.kiosk);
    assert_eq!(kiosk, server, "both sides hold identical state");
    // Any interleaving, any order, duplicates too.
    let mut all: Vec<Edit> = edits.kiosk.iter().chain(&edits.server).cloned().collect();
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    for _ in 0..5 {
        for i in (1..all.len()).rev() {
            let j = rng.random_range(0..=i);
            all.swap(i, j);
        }
        let mut m = Model::new(&w.initial);
        all.iter().for_each(|e| m.apply(e));
        m.apply(&all[0]);
        assert_eq!(m, kiosk);
    }
    let added = edits.kiosk.len() + edits.server.len()
        - mix(&edits.kiosk).0
        - mix(&edits.kiosk).1
        - mix(&edits.server).0
        - mix(&edits.server).1;
    assert_eq!(kiosk.records().len(), w.initial.len() + added);
    kiosk
}

#[test]
fn the_reference_model_converges_in_every_scenario() {
    let w = Workload::new(Size::S, DEFAULT_SEED);
    check_converges(&w, &w.incremental);
    let m = check_converges(&w, &w.conflicting);
    // The larger (at, side, status) wins each status register.
    let mut winner: BTreeMap<RecordId, (u64, Side, u8)> = BTreeMap::new();
    for e in w.conflicting.kiosk.iter().chain(&w.conflicting.server) {
        if let Change::SetStatus { record, status } = e.change {
            let stamp = (e.at, e.side, status);
            let best = winner.entry(record).or_insert(stamp);
            *best = (*best).max(stamp);
        }
    }
    for (id, (_, _, status)) in &winner {
        assert_eq!(m.records()[id].status, *status);
    }
    // Supporters added on either side are all there; `updated` is the last edit's time.
    for e in w.conflicting.kiosk.iter().chain(&w.conflicting.server) {
        let r = &m.records()[&e.change.record()];
        assert!(r.updated >= e.at);
        if let Change::AddSupporter { supporter, .. } = e.change {
            assert!(r.supporters.contains(&supporter));
        }
    }
}

#[test]
fn a_later_status_beats_an_earlier_one_and_the_server_breaks_ties() {
    let w = Workload::with_records(10, 0, 0, 1);
    let id = w.initial[0].id;
    let at = w.initial.last().unwrap().updated + 10;
    let set = |at, side, status| Edit {
        at,
        side,
        change: Change::SetStatus { record: id, status },
    };
    for (a, b, want) in [
        (set(at, Side::Kiosk, 1), set(at + 1, Side::Server, 2), 2),
        (set(at + 1, Side::Kiosk, 1), set(at, Side::Server, 2), 1),
        (set(at, Side::Kiosk, 3), set(at, Side::Server, 2), 2),
    ] {
        for order in [[&a, &b], [&b, &a]] {
            let mut m = Model::new(&w.initial);
            order.into_iter().for_each(|e| m.apply(e));
            assert_eq!(m.records()[&id].status, want);
        }
    }
    // A status change older than the record's creation loses to it.
    let mut m = Model::new(&w.initial);
    m.apply(&set(
        w.initial[0].updated - 1,
        Side::Server,
        (w.initial[0].status + 1) % 5,
    ));
    assert_eq!(m.records()[&id].status, w.initial[0].status);
}

#[test]
fn field_floor_counts_only_what_changed() {
    let w = Workload::new(Size::S, DEFAULT_SEED);
    for e in w.incremental.kiosk.iter().chain(&w.incremental.server) {
        let want = match &e.change {
            Change::SetStatus { .. } => 18,
            Change::AddSupporter { .. } => 25,
            Change::NewRecord(r) => postcard::to_stdvec(r).unwrap().len(),
        };
        assert_eq!(field_bytes(&e.change), want);
    }
    let f = w.incremental_floors();
    assert_eq!(f.field.up, field_floor(&w.incremental.kiosk));
    assert_eq!(f.field.down, field_floor(&w.incremental.server));
}

#[test]
fn whole_records_are_the_senders_records_after_its_edits() {
    let w = Workload::new(Size::S, DEFAULT_SEED);
    let synced = Model::new(&w.initial);
    let up = changed_records(&synced, &w.incremental.kiosk);
    let touched: BTreeSet<RecordId> = w
        .incremental
        .kiosk
        .iter()
        .map(|e| e.change.record())
        .collect();
    assert_eq!(up.len(), touched.len());
    let mut own = synced.clone();
    w.incremental.kiosk.iter().for_each(|e| own.apply(e));
    for r in &up {
        assert_eq!(&own.records()[&r.id], r);
    }
    let f = w.incremental_floors();
    assert_eq!(f.postcard.up, postcard::to_stdvec(&up).unwrap().len());
    assert_eq!(f.json.up, serde_json::to_vec(&up).unwrap().len());
    // Some edited record really changed.
    assert!(up.iter().any(|r| {
        r != &w
            .initial_state()
            .get(&r.id)
            .cloned()
            .unwrap_or_else(|| r.clone())
    }));
}
