//! Paging laws: a paged state checkpointed at any points, keeping any number of pages
//! loaded, with pages of any size, opened again from any checkpoint (the ops applied since
//! then applied again, as a replica replays its log), holds and shows exactly what an
//! in-memory state fed the same ops does; damaged pages are typed errors.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use common::script::{config, run, state_of, step};
use kenesh_merge::{Applied, FlagKind, Op, OpBuilder, PageError, PageSource, State};
use kenesh_model::schema::EntityKind;
use kenesh_model::{Id, IssueStatus, Workflow};
use proptest::prelude::*;

/// Pages in memory, as a store keeps them.
#[derive(Default)]
struct Pages(Mutex<BTreeMap<u64, Vec<u8>>>);

impl PageSource for Pages {
    fn read(&self, page: u64) -> Result<Vec<u8>, PageError> {
        self.0
            .lock()
            .unwrap()
            .get(&page)
            .cloned()
            .ok_or(PageError::Missing(page))
    }
}

/// What a store holds of a paged state: its pages and the last meta written.
#[derive(Default)]
struct Disk {
    pages: Arc<Pages>,
    meta: Option<Vec<u8>>,
}

impl Disk {
    /// Writes a checkpoint of `state`, as a store's transaction would, and tells the state.
    fn checkpoint(&mut self, state: &mut State) {
        let cp = state
            .checkpoint()
            .expect("a paged state makes a checkpoint");
        {
            let mut pages = self.pages.0.lock().unwrap();
            for (id, bytes) in cp.pages() {
                assert!(
                    pages.insert(*id, bytes.clone()).is_none(),
                    "page {id} rewritten"
                );
            }
            for id in cp.removed() {
                assert!(pages.remove(id).is_some(), "page {id} removed twice");
            }
        }
        self.meta = Some(cp.meta().to_vec());
        assert!(state.checkpointed(cp));
    }

    /// The state as the last checkpoint left it (an empty paged state before the first).
    fn open(&self, resident: usize, target: usize) -> State {
        let source: Arc<dyn PageSource> = self.pages.clone();
        let mut s = match &self.meta {
            Some(m) => State::open_paged(m, source).expect("the meta written opens"),
            None => State::paged(source),
        };
        s.set_resident_pages(resident);
        s.set_page_target(target);
        s
    }
}

/// Everything a reader can see of a state.
fn same(paged: &State, memory: &State) -> Result<(), TestCaseError> {
    prop_assert_eq!(paged.state_hashes(), memory.state_hashes());
    prop_assert_eq!(paged.snapshot(), memory.snapshot());
    prop_assert_eq!(paged.len(), memory.len());
    prop_assert_eq!(paged.is_empty(), memory.is_empty());
    prop_assert_eq!(paged.flags(), memory.flags());
    prop_assert_eq!(paged.conflicts(), memory.conflicts());
    let ops: Vec<Op> = memory.all_ops().collect();
    prop_assert_eq!(paged.all_ops().collect::<Vec<Op>>(), ops.clone());
    for op in &ops {
        prop_assert_eq!(paged.op(op.id()), memory.op(op.id()));
        prop_assert_eq!(paged.envelope(op.id()), memory.envelope(op.id()));
    }
    let kind = EntityKind::Issue;
    prop_assert_eq!(
        paged.records(kind).collect::<Vec<_>>(),
        memory.records(kind).collect::<Vec<_>>()
    );
    for r in memory.records(kind) {
        prop_assert_eq!(paged.record(kind, r.id), Some(r.clone()));
        prop_assert_eq!(paged.create_op(kind, r.id), memory.create_op(kind, r.id));
        for f in r.fields.keys() {
            prop_assert_eq!(paged.field(kind, r.id, *f), memory.field(kind, r.id, *f));
            prop_assert_eq!(
                paged.register_writes(kind, r.id, *f),
                memory.register_writes(kind, r.id, *f)
            );
            prop_assert_eq!(
                paged.set_adds(kind, r.id, *f),
                memory.set_adds(kind, r.id, *f)
            );
            prop_assert_eq!(
                paged.workflow_heads(kind, r.id, *f),
                memory.workflow_heads(kind, r.id, *f)
            );
        }
    }
    prop_assert_eq!(paged.failure(), None);
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    /// Any order, duplicates, checkpoints and reopenings: the same state as in memory.
    #[test]
    fn paged_equals_in_memory(
        script in proptest::collection::vec(step(), 1..40),
        seed in any::<u64>(),
        checkpoints in any::<u64>(),
        reopens in any::<u64>(),
        resident in 1usize..4,
        target in prop_oneof![Just(1usize), Just(300), Just(64 * 1024)],
    ) {
        let ops = run(&script);
        // A permutation with some ops repeated.
        let mut order: Vec<usize> = (0..ops.len())
            .chain((0..ops.len()).filter(|i| (seed >> (i % 64)) & 1 == 1))
            .collect();
        let mut x = seed | 1;
        for i in (1..order.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            order.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let mut disk = Disk::default();
        let mut paged = disk.open(resident, target);
        let mut memory = State::new();
        // The ops applied since the last checkpoint: a replica's log after it.
        let mut since: Vec<Op> = Vec::new();
        for (n, i) in order.iter().enumerate() {
            let op = ops[*i].clone();
            let a = paged.apply(op.clone());
            let b = memory.apply(op.clone());
            prop_assert_eq!(a, b, "op {} ({:?})", n, op.id());
            since.push(op);
            if (checkpoints >> (n % 64)) & 1 == 1 {
                disk.checkpoint(&mut paged);
                since.clear();
                prop_assert!(!paged.has_changes());
                let loaded = paged.resident().record_pages;
                prop_assert!(loaded <= resident, "{} pages loaded, {} kept", loaded, resident);
            }
            if (reopens >> (n % 64)) & 1 == 1 {
                paged = disk.open(resident, target);
                for op in &since {
                    paged.apply(op.clone());
                }
            }
        }
        same(&paged, &memory)?;
        // A last checkpoint and a reopening show the same again, and go on merging.
        disk.checkpoint(&mut paged);
        let mut reopened = disk.open(resident, target);
        same(&reopened, &memory)?;
        for op in &ops {
            prop_assert_eq!(reopened.apply(op.clone()), Applied::Duplicate);
        }
        same(&reopened, &state_of(&ops))?;
    }
}

/// Issues with a title, a status and a few supporters each, from one device.
fn issues(n: u128) -> Vec<Op> {
    let mut b = OpBuilder::new(7);
    let mut ops = Vec::new();
    for i in 0..n {
        let id = Id::from_u128(1_000 + i * 7_919);
        b.at(1_700_000_000_000 + i as u64);
        let title = format!("Көпүрө оңдоо {i}: суу өткөрүүчү түтүк").into_bytes();
        ops.push(
            b.create(
                EntityKind::Issue,
                id,
                vec![(1, title), (9, vec![IssueStatus::Submitted.code()])],
            )
            .unwrap(),
        );
        for s in 0..(i % 4) as u8 {
            ops.push(b.add(EntityKind::Issue, id, 14, vec![s]).unwrap());
        }
    }
    ops
}

#[test]
fn a_checkpointed_state_keeps_only_the_pages_it_is_allowed() {
    let ops = issues(2_000);
    let mut disk = Disk::default();
    let mut paged = disk.open(4, kenesh_merge::PAGE_TARGET);
    let mut memory = State::new();
    for op in &ops {
        paged.apply(op.clone());
        memory.apply(op.clone());
    }
    disk.checkpoint(&mut paged);
    let pages = disk.pages.0.lock().unwrap().len();
    assert!(
        pages > 8,
        "2,000 records fill more than eight pages: {pages}"
    );
    let kenesh_merge::Resident {
        records,
        ops: held,
        record_pages: loaded,
        index_pages: index,
    } = paged.resident();
    assert!(
        loaded <= 4 && index <= 1,
        "{loaded} record and {index} index pages loaded"
    );
    assert!(
        records < 2_000 / 2 && held < ops.len() / 2,
        "{records} records and {held} ops in memory of 2,000 and {}",
        ops.len()
    );
    // Opened again, it holds nothing in memory until asked.
    let reopened = disk.open(4, kenesh_merge::PAGE_TARGET);
    assert_eq!(reopened.resident(), kenesh_merge::Resident::default());
    assert_eq!(reopened.len(), memory.len());
    let some = Id::from_u128(1_000 + 1_234 * 7_919);
    assert_eq!(
        reopened.record(EntityKind::Issue, some),
        memory.record(EntityKind::Issue, some)
    );
    assert_eq!(
        reopened.resident(),
        kenesh_merge::Resident::default(),
        "a read keeps nothing"
    );
    assert_eq!(reopened.snapshot(), memory.snapshot());
    assert_eq!(reopened.failure(), None);
}

#[test]
fn a_checkpoint_of_a_state_changed_since_is_refused() {
    let ops = issues(10);
    let mut disk = Disk::default();
    let mut paged = disk.open(2, 1);
    paged.apply(ops[0].clone());
    let cp = paged.checkpoint().unwrap();
    paged.apply(ops[1].clone());
    assert!(
        !paged.checkpointed(cp),
        "the state changed after the checkpoint was made"
    );
    assert!(paged.has_changes());
    disk.checkpoint(&mut paged);
    let reopened = disk.open(2, 1);
    assert_eq!(reopened.snapshot(), state_of(&ops[..2]).snapshot());
}

#[test]
fn an_in_memory_state_makes_no_checkpoint_and_a_paged_one_is_not_encoded() {
    assert_eq!(State::new().checkpoint().unwrap_err(), PageError::NotPaged);
    let disk = Disk::default();
    let paged = disk.open(1, 1);
    assert!(postcard::to_allocvec(&paged).is_err());
    assert!(postcard::to_allocvec(&State::new()).is_ok());
}

#[test]
fn damaged_pages_and_meta_are_typed_errors() {
    let ops = issues(50);
    let mut disk = Disk::default();
    let mut paged = disk.open(1, 1);
    for op in &ops {
        paged.apply(op.clone());
    }
    disk.checkpoint(&mut paged);
    // Every way of damaging the meta: cut anywhere.
    let meta = disk.meta.clone().unwrap();
    for cut in 0..meta.len() {
        let source: Arc<dyn PageSource> = disk.pages.clone();
        assert!(
            State::open_paged(&meta[..cut], source).is_err(),
            "meta cut at {cut}"
        );
    }
    // Each page cut or with a byte flipped: opening works (pages are read later), and the
    // first change that needs the page stops with a typed error instead of a wrong state.
    let ids: Vec<u64> = disk.pages.0.lock().unwrap().keys().copied().collect();
    let original = disk.pages.0.lock().unwrap().clone();
    for id in ids {
        let bytes = original[&id].clone();
        for damage in 0..3 {
            let mut bad = bytes.clone();
            match damage {
                0 => bad.truncate(bad.len() / 2),
                1 => bad[bytes.len() / 2] ^= 0x5a,
                _ => bad.push(0),
            }
            disk.pages.0.lock().unwrap().insert(id, bad);
            let mut s = disk.open(1, 1);
            // Re-apply every op: each needs its record's page and its id's index page, so
            // every page is read, and the damage is found before anything changes.
            let found = ops
                .iter()
                .any(|op| s.apply(op.clone()) == Applied::Flagged(FlagKind::Unavailable));
            assert!(found, "page {id} damage {damage} not found");
            assert_eq!(s.failure(), Some(PageError::Damaged(id)));
            // Once failed, it applies nothing more, and it makes no checkpoint.
            assert_eq!(
                s.apply(ops[0].clone()),
                Applied::Flagged(FlagKind::Unavailable)
            );
            assert_eq!(s.checkpoint().unwrap_err(), PageError::Damaged(id));
            disk.pages.0.lock().unwrap().insert(id, bytes.clone());
        }
    }
    // A page gone is a typed error too.
    let first = *original.keys().next().unwrap();
    disk.pages.0.lock().unwrap().remove(&first);
    let mut s = disk.open(1, 1);
    assert!(
        ops.iter()
            .any(|op| s.apply(op.clone()) == Applied::Flagged(FlagKind::Unavailable))
    );
    assert!(matches!(s.failure(), Some(PageError::Missing(_))));
}
