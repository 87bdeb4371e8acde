//! Named scenarios: each builds a small history with [`OpBuilder`], applies it in several
//! orders (forward, reverse, shuffled, every permutation where small, with duplicates) and
//! checks the exact merged state, flags and conflicts, and that every order gives the same
//! snapshot and state.

use kenesh_merge::{
    Action, Applied, Candidate, Conflict, Envelope, FieldValue, FixedClock, Flag, FlagKind, Hlc,
    HlcClock, MAX_PAYLOAD, MAX_SUPERSEDES, Op, OpBuilder, OpError, OpId, Payload, SetHash, State,
    WorkflowFlag, encode,
};
use kenesh_model::schema::EntityKind;
use kenesh_model::{DeviceId, Id, OrganisationId, PersonId, Scope, Tier};
use std::collections::BTreeMap;

// Issue (kind 7) fields.
const TITLE: u16 = 1;
const CATEGORY: u16 = 3;
const STATUS: u16 = 9;
const SUPPORTERS: u16 = 14;
const UPDATES: u16 = 16;
const COMMENTS: u16 = 17;
// Issue states.
const SUBMITTED: u8 = 1;
const PUBLISHED: u8 = 2;
const CLOSED_UNRESOLVED: u8 = 6;
const ACKNOWLEDGED: u8 = 3;

// LegalCase (kind 13) fields and states.
const ADVOCATE: u16 = 3;
const CASE_STATUS: u16 = 4;
const OPENED: u8 = 0;
const ASSIGNED: u8 = 2;
const IN_STAGES: u8 = 3;
const CLOSED: u8 = 4;

// Person (kind 3) fields.
const NAME: u16 = 1;
const PHONE: u16 = 8;

const T0: u64 = 1_700_000_000_000;
const ISSUE: EntityKind = EntityKind::Issue;
const CASE: EntityKind = EntityKind::LegalCase;

fn apply_all<'a>(ops: impl IntoIterator<Item = &'a Op>) -> State {
    let mut s = State::new();
    for op in ops {
        s.apply(op.clone());
    }
    s
}

/// A deterministic shuffle (xorshift), so a failing order can be replayed.
fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut x = seed | 1;
    for i in (1..n).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        order.swap(i, (x % (i as u64 + 1)) as usize);
    }
    order
}

/// Every permutation of `0..n` (Heap's algorithm).
fn permutations(n: usize) -> Vec<Vec<usize>> {
    fn heap(k: usize, a: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if k <= 1 {
            out.push(a.clone());
            return;
        }
        for i in 0..k {
            heap(k - 1, a, out);
            if k.is_multiple_of(2) {
                a.swap(i, k - 1);
            } else {
                a.swap(0, k - 1);
            }
        }
    }
    let mut a: Vec<usize> = (0..n).collect();
    let mut out = Vec::new();
    heap(n, &mut a, &mut out);
    out
}

/// Applies `ops` forward, reverse, in shuffled orders, with every op twice, and in every
/// order when there are at most 6; asserts all give the same snapshot and state, and returns
/// the forward state.
fn converge(ops: &[Op]) -> State {
    let forward = apply_all(ops);
    let mut orders: Vec<Vec<usize>> = vec![(0..ops.len()).rev().collect()];
    for seed in [0x9e37_79b9_7f4a_7c15, 7, 1_234_567] {
        orders.push(shuffled(ops.len(), seed));
    }
    // Every op twice, the second pass in reverse.
    orders.push((0..ops.len()).chain((0..ops.len()).rev()).collect());
    if ops.len() <= 6 {
        orders.extend(permutations(ops.len()));
    }
    for order in &orders {
        let s = apply_all(order.iter().map(|i| &ops[*i]));
        assert_eq!(s.snapshot(), forward.snapshot(), "order {order:?}");
        assert_eq!(s, forward, "order {order:?}");
    }
    forward
}

fn workflow(s: &State, kind: EntityKind, id: Id, field: u16) -> (u8, usize) {
    match s.field(kind, id, field) {
        Some(FieldValue::Workflow { state, refused }) => (state, refused),
        other => panic!("not a workflow: {other:?}"),
    }
}

fn register(s: &State, kind: EntityKind, id: Id, field: u16) -> (Option<Vec<u8>>, OpId, usize) {
    match s.field(kind, id, field) {
        Some(FieldValue::Register {
            value,
            op,
            survivors,
        }) => (value, op, survivors),
        other => panic!("not a register: {other:?}"),
    }
}

fn set_elements(s: &State, kind: EntityKind, id: Id, field: u16) -> Vec<Vec<u8>> {
    match s.field(kind, id, field) {
        Some(FieldValue::Set { elements, .. }) => elements,
        other => panic!("not a set: {other:?}"),
    }
}

fn flag(op: OpId, kind: FlagKind) -> Flag {
    Flag { op, kind }
}

fn stale(from: u8, current: u8) -> FlagKind {
    FlagKind::Workflow(WorkflowFlag::Stale { from, current })
}

// ---------------------------------------------------------------------------------------
// Legal case: concurrent close and reopen.
// ---------------------------------------------------------------------------------------

/// A case taken to `in_stages` by device 1: create, opened → advocate_assigned → in_stages.
struct CaseHistory {
    id: Id,
    office: OpBuilder,
    ops: Vec<Op>,
    /// The transition into `in_stages`.
    in_stages: OpId,
}

fn case_in_stages() -> CaseHistory {
    let id = Id::from_u128(0xCA5E);
    let mut office = OpBuilder::new(1);
    office.at(T0);
    let create = office
        .create(
            CASE,
            id,
            vec![
                (CASE_STATUS, vec![OPENED]),
                (ADVOCATE, b"advocate-1".to_vec()),
            ],
        )
        .unwrap();
    let t1 = office
        .transition(CASE, id, CASE_STATUS, OPENED, ASSIGNED, &[])
        .unwrap();
    let t2 = office
        .transition(CASE, id, CASE_STATUS, ASSIGNED, IN_STAGES, &[t1.id()])
        .unwrap();
    let in_stages = t2.id();
    CaseHistory {
        id,
        office,
        ops: vec![create, t1, t2],
        in_stages,
    }
}

#[test]
fn case_reopen_that_supersedes_the_close_reopens() {
    let mut h = case_in_stages();
    h.office.at(T0 + 1_000);
    let close = h
        .office
        .transition(CASE, h.id, CASE_STATUS, IN_STAGES, CLOSED, &[h.in_stages])
        .unwrap();
    // A coordinator on another device saw the close and reopens; its clock is *behind*
    // (causality comes from supersedes, not from the HLC).
    let mut coordinator = OpBuilder::new(2);
    coordinator.at(T0 - 60_000);
    let reopen = coordinator
        .reopen(CASE, h.id, CASE_STATUS, close.id())
        .unwrap();
    assert!(reopen.envelope().hlc < close.envelope().hlc);

    let closed_only = converge(&[h.ops.clone(), vec![close.clone()]].concat());
    assert_eq!(workflow(&closed_only, CASE, h.id, CASE_STATUS), (CLOSED, 0));

    let mut ops = h.ops.clone();
    ops.extend([close, reopen.clone()]);
    let s = converge(&ops);
    assert_eq!(workflow(&s, CASE, h.id, CASE_STATUS), (ASSIGNED, 0));
    assert!(s.flags().is_empty(), "{:?}", s.flags());
    // Arriving last, the reopen reports a plain apply.
    let mut s = apply_all(&ops[..ops.len() - 1]);
    assert_eq!(s.apply(reopen), Applied::Applied);
}

#[test]
fn case_reopen_that_does_not_supersede_the_close_is_flagged_and_the_case_stays_closed() {
    // The reopen supersedes the step before the close (its device never saw the close).
    // Whichever of the two replays first, the case ends closed and the reopen is flagged.
    for (reopen_at, current) in [(T0 + 5_000, CLOSED), (T0 + 500, IN_STAGES)] {
        let mut h = case_in_stages();
        h.office.at(T0 + 1_000);
        let close = h
            .office
            .transition(CASE, h.id, CASE_STATUS, IN_STAGES, CLOSED, &[h.in_stages])
            .unwrap();
        let mut other = OpBuilder::new(2);
        other.at(reopen_at);
        let reopen = other.reopen(CASE, h.id, CASE_STATUS, h.in_stages).unwrap();
        // And a reopen that names no step at all.
        let blind = other
            .raw(
                CASE.code(),
                h.id,
                CASE_STATUS,
                Action::REOPEN,
                Tier::Sensitive,
                &[],
                Vec::new(),
            )
            .unwrap();
        let mut ops = h.ops.clone();
        ops.extend([close, reopen.clone(), blind.clone()]);
        let s = converge(&ops);
        assert_eq!(workflow(&s, CASE, h.id, CASE_STATUS), (CLOSED, 2));
        // The blind reopen has no parent among the steps: it replays by its HLC, just after
        // the other reopen, and meets the same state.
        assert_eq!(
            s.flags(),
            vec![
                flag(
                    reopen.id(),
                    FlagKind::Workflow(WorkflowFlag::Reopen { current })
                ),
                flag(
                    blind.id(),
                    FlagKind::Workflow(WorkflowFlag::Reopen { current })
                ),
            ]
        );
    }
}

#[test]
fn case_two_concurrent_closes_one_applies_the_other_is_stale() {
    let h = case_in_stages();
    let (mut a, mut b) = (h.office.clone(), OpBuilder::new(2));
    a.at(T0 + 2_000);
    b.at(T0 + 1_000); // b's close is earlier: it is the one that applies
    let close_a = a
        .transition(CASE, h.id, CASE_STATUS, IN_STAGES, CLOSED, &[h.in_stages])
        .unwrap();
    let close_b = b
        .transition(CASE, h.id, CASE_STATUS, IN_STAGES, CLOSED, &[h.in_stages])
        .unwrap();
    let mut ops = h.ops.clone();
    ops.extend([close_a.clone(), close_b.clone()]);
    let s = converge(&ops);
    assert_eq!(workflow(&s, CASE, h.id, CASE_STATUS), (CLOSED, 1));
    assert_eq!(
        s.flags(),
        vec![flag(close_a.id(), stale(IN_STAGES, CLOSED))]
    );
    // Arriving second, the loser reports its flag; arriving second, the winner applies.
    let mut x = apply_all(&h.ops);
    assert_eq!(x.apply(close_b.clone()), Applied::Applied);
    assert_eq!(
        x.apply(close_a.clone()),
        Applied::Flagged(stale(IN_STAGES, CLOSED))
    );
    let mut y = apply_all(&h.ops);
    assert_eq!(y.apply(close_a.clone()), Applied::Applied);
    assert_eq!(y.apply(close_b.clone()), Applied::Applied);
    assert_eq!(x, y);

    // A reopen that saw both closes reopens, as does one that saw the close that applied.
    let mut c = OpBuilder::new(3);
    c.at(T0 + 3_000);
    for sup in [vec![close_a.id(), close_b.id()], vec![close_b.id()]] {
        let reopen = c
            .raw(
                CASE.code(),
                h.id,
                CASE_STATUS,
                Action::REOPEN,
                Tier::Sensitive,
                &sup,
                Vec::new(),
            )
            .unwrap();
        let mut all = ops.clone();
        all.push(reopen);
        let s = converge(&all);
        assert_eq!(workflow(&s, CASE, h.id, CASE_STATUS), (ASSIGNED, 1));
    }
    // A reopen that saw only the close that was refused did not see the close that
    // counts: the case stays closed and the reopen is flagged.
    let reopen = c.reopen(CASE, h.id, CASE_STATUS, close_a.id()).unwrap();
    let mut all = ops.clone();
    all.push(reopen.clone());
    let s = converge(&all);
    assert_eq!(workflow(&s, CASE, h.id, CASE_STATUS), (CLOSED, 2));
    assert!(s.flags().contains(&flag(
        reopen.id(),
        FlagKind::Workflow(WorkflowFlag::Reopen { current: CLOSED })
    )));
}

#[test]
fn case_update_after_close_changes_the_field_but_never_reopens() {
    let mut h = case_in_stages();
    h.office.at(T0 + 1_000);
    let close = h
        .office
        .transition(CASE, h.id, CASE_STATUS, IN_STAGES, CLOSED, &[h.in_stages])
        .unwrap();
    let create = h.ops[0].id();
    // A later write of the advocate (superseding the create's value), by a device whose
    // clock is past the close.
    let mut late = OpBuilder::new(2);
    late.at(T0 + 9_000);
    let advocate = late
        .set(CASE, h.id, ADVOCATE, b"advocate-2".to_vec(), &[create])
        .unwrap();
    let mut ops = h.ops.clone();
    ops.extend([close.clone(), advocate.clone()]);
    let s = converge(&ops);
    assert_eq!(workflow(&s, CASE, h.id, CASE_STATUS), (CLOSED, 0));
    assert_eq!(
        register(&s, CASE, h.id, ADVOCATE),
        (Some(b"advocate-2".to_vec()), advocate.id(), 1)
    );
    assert!(s.flags().is_empty());
    assert!(s.conflicts().is_empty());
    let mut x = apply_all(&ops[..ops.len() - 1]);
    assert_eq!(x.apply(advocate), Applied::Applied);
    assert_eq!(workflow(&x, CASE, h.id, CASE_STATUS), (CLOSED, 0));
}

// ---------------------------------------------------------------------------------------
// Issue: concurrent transitions from a stale state.
// ---------------------------------------------------------------------------------------

/// An issue created as `submitted` by device 3, and two devices (1 and 2) that each move it
/// from `submitted` without seeing the other, at the given wall times.
fn stale_issue(a_at: u64, b_at: u64) -> (Id, Vec<Op>, Op, Op) {
    let id = Id::from_u128(0x155);
    let mut desk = OpBuilder::new(3);
    desk.at(T0 - 10_000);
    let create = desk
        .create(
            ISSUE,
            id,
            vec![(TITLE, b"pothole".to_vec()), (STATUS, vec![SUBMITTED])],
        )
        .unwrap();
    let (mut a, mut b) = (OpBuilder::new(1), OpBuilder::new(2));
    a.at(a_at);
    b.at(b_at);
    let publish = a
        .transition(ISSUE, id, STATUS, SUBMITTED, PUBLISHED, &[])
        .unwrap();
    let reject = b
        .transition(ISSUE, id, STATUS, SUBMITTED, CLOSED_UNRESOLVED, &[])
        .unwrap();
    (id, vec![create], publish, reject)
}

#[test]
fn issue_concurrent_transitions_from_a_stale_state() {
    // Earlier HLC applies.
    let (id, base, publish, reject) = stale_issue(T0 + 10, T0 + 20);
    let s = converge(&[base.clone(), vec![publish.clone(), reject.clone()]].concat());
    assert_eq!(workflow(&s, ISSUE, id, STATUS), (PUBLISHED, 1));
    assert_eq!(
        s.flags(),
        vec![flag(reject.id(), stale(SUBMITTED, PUBLISHED))]
    );
    // The other way round.
    let (id, base, publish, reject) = stale_issue(T0 + 20, T0 + 10);
    let s = converge(&[base.clone(), vec![publish.clone(), reject.clone()]].concat());
    assert_eq!(workflow(&s, ISSUE, id, STATUS), (CLOSED_UNRESOLVED, 1));
    assert_eq!(
        s.flags(),
        vec![flag(publish.id(), stale(SUBMITTED, CLOSED_UNRESOLVED))]
    );
    // The same HLC: the smaller origin replays first.
    let (id, base, publish, reject) = stale_issue(T0, T0);
    assert_eq!(publish.envelope().hlc, reject.envelope().hlc);
    assert!(publish.envelope().origin < reject.envelope().origin);
    let ops = [base.clone(), vec![publish.clone(), reject.clone()]].concat();
    let s = converge(&ops);
    assert_eq!(workflow(&s, ISSUE, id, STATUS), (PUBLISHED, 1));
    assert_eq!(
        s.flags(),
        vec![flag(reject.id(), stale(SUBMITTED, PUBLISHED))]
    );
    // Whatever the arrival order, the step that counts is the same; the one arriving
    // second reports the outcome as it stands then.
    let mut x = apply_all(&base);
    assert_eq!(x.apply(reject.clone()), Applied::Applied);
    assert_eq!(x.apply(publish.clone()), Applied::Applied);
    assert_eq!(workflow(&x, ISSUE, id, STATUS), (PUBLISHED, 1));
    let mut y = apply_all(&base);
    assert_eq!(y.apply(publish.clone()), Applied::Applied);
    assert_eq!(
        y.apply(reject.clone()),
        Applied::Flagged(stale(SUBMITTED, PUBLISHED))
    );
    assert_eq!(x, y);

    // A third device that saw the publish moves on from it; the stale step stays flagged.
    let mut c = OpBuilder::new(4);
    c.at(T0 + 1);
    let ack = c
        .transition(ISSUE, id, STATUS, PUBLISHED, ACKNOWLEDGED, &[publish.id()])
        .unwrap();
    let mut all = ops.clone();
    all.push(ack);
    let s = converge(&all);
    assert_eq!(workflow(&s, ISSUE, id, STATUS), (ACKNOWLEDGED, 1));
    assert_eq!(
        s.flags(),
        vec![flag(reject.id(), stale(SUBMITTED, PUBLISHED))]
    );
}

// ---------------------------------------------------------------------------------------
// A tombstone concurrent with edits.
// ---------------------------------------------------------------------------------------

#[test]
fn tombstone_concurrent_with_edits_keeps_the_edits() {
    let id = Id::from_u128(0x70);
    let mut desk = OpBuilder::new(1);
    let create = desk
        .create(
            ISSUE,
            id,
            vec![(TITLE, b"bridge".to_vec()), (STATUS, vec![SUBMITTED])],
        )
        .unwrap();
    let tomb = desk.tombstone(ISSUE, id).unwrap();
    let mut editor = OpBuilder::new(2);
    editor.at(T0 + 1_000);
    let title = editor
        .set(
            ISSUE,
            id,
            TITLE,
            b"bridge over the Chu".to_vec(),
            &[create.id()],
        )
        .unwrap();
    let comment = editor
        .append(ISSUE, id, COMMENTS, b"it is broken".to_vec())
        .unwrap();
    let support = editor
        .add(ISSUE, id, SUPPORTERS, b"supporter-1".to_vec())
        .unwrap();
    let publish = editor
        .transition(ISSUE, id, STATUS, SUBMITTED, PUBLISHED, &[])
        .unwrap();
    let edits_only = converge(&[
        create.clone(),
        title.clone(),
        comment.clone(),
        support.clone(),
        publish.clone(),
    ]);
    let record = edits_only.record(ISSUE, id).unwrap();
    assert!(!record.tombstoned);

    let ops = vec![
        create,
        tomb.clone(),
        title.clone(),
        comment.clone(),
        support,
        publish,
    ];
    let s = converge(&ops);
    let record = s.record(ISSUE, id).unwrap();
    assert!(record.tombstoned);
    // Every field merged exactly as without the tombstone.
    assert_eq!(record.fields, edits_only.record(ISSUE, id).unwrap().fields);
    assert_eq!(
        register(&s, ISSUE, id, TITLE),
        (Some(b"bridge over the Chu".to_vec()), title.id(), 1)
    );
    assert_eq!(workflow(&s, ISSUE, id, STATUS), (PUBLISHED, 0));
    assert_eq!(
        set_elements(&s, ISSUE, id, SUPPORTERS),
        vec![b"supporter-1".to_vec()]
    );
    assert!(matches!(
        s.field(ISSUE, id, COMMENTS),
        Some(FieldValue::Log(l)) if l.len() == 1 && l[0].op == comment.id()
    ));
    assert!(s.flags().is_empty());
    let listed: Vec<_> = s.records(ISSUE).collect();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].tombstoned);
    // A tombstone that arrives before the create is held, and still applies.
    let mut early = State::new();
    assert_eq!(early.apply(tomb), Applied::Applied);
    assert!(early.record(ISSUE, id).is_none());
    for op in &ops {
        early.apply(op.clone());
    }
    assert!(early.record(ISSUE, id).unwrap().tombstoned);
}

// ---------------------------------------------------------------------------------------
// Register conflicts.
// ---------------------------------------------------------------------------------------

#[test]
fn register_conflict_on_a_flagged_field_lists_both_candidates() {
    let id = Id::from_u128(0x71);
    let mut desk = OpBuilder::new(1);
    let create = desk
        .create(
            ISSUE,
            id,
            vec![(TITLE, b"t0".to_vec()), (CATEGORY, vec![1])],
        )
        .unwrap();
    let (mut a, mut b) = (OpBuilder::new(2), OpBuilder::new(3));
    a.at(T0 + 100);
    b.at(T0 + 50); // b is earlier, a shows
    let wa = a
        .set(ISSUE, id, TITLE, b"A".to_vec(), &[create.id()])
        .unwrap();
    let wb = b
        .set(ISSUE, id, TITLE, b"B".to_vec(), &[create.id()])
        .unwrap();
    let ops = vec![create.clone(), wa.clone(), wb.clone()];
    let s = converge(&ops);
    let expected = Conflict {
        kind: ISSUE.code(),
        entity: id,
        field: TITLE,
        candidates: vec![
            Candidate {
                op: wb.id(),
                hlc: wb.envelope().hlc,
                value: Some(b"B".to_vec()),
            },
            Candidate {
                op: wa.id(),
                hlc: wa.envelope().hlc,
                value: Some(b"A".to_vec()),
            },
        ],
        shown: wa.id(),
    };
    assert_eq!(s.conflicts(), vec![expected]);
    assert_eq!(
        register(&s, ISSUE, id, TITLE),
        (Some(b"A".to_vec()), wa.id(), 2)
    );
    assert!(s.flags().is_empty(), "a conflict is not a flag");

    // Equal HLC: the larger origin shows.
    let (mut a, mut b) = (OpBuilder::new(2), OpBuilder::new(3));
    a.at(T0 + 100);
    b.at(T0 + 100);
    let wa2 = a
        .set(ISSUE, id, TITLE, b"A".to_vec(), &[create.id()])
        .unwrap();
    let wb2 = b
        .set(ISSUE, id, TITLE, b"B".to_vec(), &[create.id()])
        .unwrap();
    assert_eq!(wa2.envelope().hlc, wb2.envelope().hlc);
    let s2 = converge(&[create.clone(), wa2.clone(), wb2.clone()]);
    let c = s2.conflicts();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].shown, wb2.id());
    assert_eq!(
        c[0].candidates.iter().map(|c| c.op).collect::<Vec<_>>(),
        vec![wa2.id(), wb2.id()]
    );

    // A third write that saw only one of them keeps the conflict (two survivors again).
    let mut c3 = OpBuilder::new(4);
    c3.at(T0 + 10);
    let partial = c3.set(ISSUE, id, TITLE, b"C".to_vec(), &[wb.id()]).unwrap();
    let s3 = converge(&[ops.clone(), vec![partial.clone()]].concat());
    let c = s3.conflicts();
    assert_eq!(c.len(), 1);
    assert_eq!(
        c[0].candidates.iter().map(|c| c.op).collect::<Vec<_>>(),
        vec![partial.id(), wa.id()]
    );
    assert_eq!(c[0].shown, wa.id());

    // A write that supersedes both resolves it, even with an older clock.
    let resolve = c3
        .set(ISSUE, id, TITLE, b"resolved".to_vec(), &[wa.id(), wb.id()])
        .unwrap();
    let s4 = converge(&[ops.clone(), vec![resolve.clone()]].concat());
    assert!(s4.conflicts().is_empty());
    assert_eq!(
        register(&s4, ISSUE, id, TITLE),
        (Some(b"resolved".to_vec()), resolve.id(), 1)
    );
}

#[test]
fn register_concurrent_writes_on_an_unflagged_field_show_the_winner_without_conflict() {
    let id = Id::from_u128(0x72);
    let mut desk = OpBuilder::new(1);
    let create = desk.create(ISSUE, id, vec![(CATEGORY, vec![1])]).unwrap();
    let (mut a, mut b) = (OpBuilder::new(2), OpBuilder::new(3));
    a.at(T0 + 100);
    b.at(T0 + 200);
    let wa = a.set(ISSUE, id, CATEGORY, vec![2], &[create.id()]).unwrap();
    let wb = b.set(ISSUE, id, CATEGORY, vec![3], &[create.id()]).unwrap();
    let s = converge(&[create, wa, wb.clone()]);
    assert_eq!(
        register(&s, ISSUE, id, CATEGORY),
        (Some(vec![3]), wb.id(), 2)
    );
    assert!(s.conflicts().is_empty());
    assert!(s.flags().is_empty());
}

// ---------------------------------------------------------------------------------------
// Add-wins set.
// ---------------------------------------------------------------------------------------

#[test]
fn set_add_wins_over_a_concurrent_remove() {
    let id = Id::from_u128(0x73);
    let mut a = OpBuilder::new(1);
    let create = a.create(ISSUE, id, vec![]).unwrap();
    let x = b"person-x".to_vec();
    let y = b"person-y".to_vec();
    let add0 = a.add(ISSUE, id, SUPPORTERS, x.clone()).unwrap();
    let add_y = a.add(ISSUE, id, SUPPORTERS, y.clone()).unwrap();
    // b saw add0 and removes x; a concurrently adds x again.
    let mut b = OpBuilder::new(2);
    b.at(T0 + 500);
    let remove = b
        .remove(ISSUE, id, SUPPORTERS, x.clone(), &[add0.id()])
        .unwrap();
    let add1 = a.add(ISSUE, id, SUPPORTERS, x.clone()).unwrap();
    let base = vec![create, add0.clone(), add_y];

    let s = converge(&[base.clone(), vec![remove.clone(), add1.clone()]].concat());
    assert_eq!(
        set_elements(&s, ISSUE, id, SUPPORTERS),
        vec![x.clone(), y.clone()]
    );
    // Without the concurrent add, the remove removes.
    let s = converge(&[base.clone(), vec![remove.clone()]].concat());
    assert_eq!(set_elements(&s, ISSUE, id, SUPPORTERS), vec![y.clone()]);
    // A remove that saw both adds removes it.
    let mut c = OpBuilder::new(3);
    let remove_all = c
        .remove(ISSUE, id, SUPPORTERS, x.clone(), &[add0.id(), add1.id()])
        .unwrap();
    let s = converge(
        &[
            base.clone(),
            vec![remove.clone(), add1.clone(), remove_all.clone()],
        ]
        .concat(),
    );
    assert_eq!(set_elements(&s, ISSUE, id, SUPPORTERS), vec![y.clone()]);
    // A remove that saw no add removes nothing.
    let blind = c.remove(ISSUE, id, SUPPORTERS, y.clone(), &[]).unwrap();
    let s = converge(&[base.clone(), vec![blind]].concat());
    assert_eq!(set_elements(&s, ISSUE, id, SUPPORTERS), vec![x, y]);
}

// ---------------------------------------------------------------------------------------
// Erase.
// ---------------------------------------------------------------------------------------

const CANARY: &str = "CANARY-Жапаров-7f3a";

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn leaks(s: &State) -> bool {
    let bytes = postcard::to_allocvec(s).unwrap();
    contains(&bytes, CANARY.as_bytes())
        || s.all_ops().any(|op| {
            op.payload()
                .is_some_and(|p| contains(&p.bytes, CANARY.as_bytes()))
        })
}

/// The set hash of `ops` by (scope, tier), computed from the ops' digests alone.
fn expected_hashes<'a>(ops: impl IntoIterator<Item = &'a Op>) -> BTreeMap<(Scope, Tier), [u8; 32]> {
    let mut m: BTreeMap<(Scope, Tier), SetHash> = BTreeMap::new();
    for op in ops {
        let e = op.envelope();
        m.entry((e.scope, e.tier)).or_default().add(&op.digest());
    }
    m.into_iter().map(|(k, h)| (k, h.to_bytes())).collect()
}

struct ErasureHistory {
    person: PersonId,
    issue: Id,
    ngo: OpBuilder,
    /// Everything before the erase.
    ops: Vec<Op>,
    /// Ops naming the person.
    naming: Vec<OpId>,
    /// A comment that does not name the person.
    unrelated: OpId,
    erase: Op,
}

fn erasure_history() -> ErasureHistory {
    let person = PersonId(Id::from_u128(0x9e55));
    let issue = Id::from_u128(0x74);
    let mut registrar = OpBuilder::new(1);
    registrar.persons(&[person]);
    let create_person = registrar
        .create(
            EntityKind::Person,
            person.0,
            vec![
                (NAME, encode(&format!("Айгүл {CANARY}"))),
                (PHONE, encode("+996 555 000 111")),
            ],
        )
        .unwrap();
    registrar.persons(&[]);
    // The issue lives in an NGO's scope, so its hashes are apart from the erase op's.
    let mut ngo = OpBuilder::new(2);
    ngo.scope(Scope::Organisation(OrganisationId(Id::from_u128(0x0260))));
    ngo.at(T0 + 1_000);
    let create_issue = ngo
        .create(ISSUE, issue, vec![(TITLE, encode("road to the school"))])
        .unwrap();
    ngo.persons(&[person]);
    let comment = ngo
        .append(ISSUE, issue, COMMENTS, encode(&format!("{CANARY}: when?")))
        .unwrap();
    let update = ngo
        .append(
            ISSUE,
            issue,
            UPDATES,
            encode(&format!("thanks to {CANARY}")),
        )
        .unwrap();
    let support = ngo.add(ISSUE, issue, SUPPORTERS, encode(CANARY)).unwrap();
    let retitle = ngo
        .set(
            ISSUE,
            issue,
            TITLE,
            encode(&format!("road ({CANARY})")),
            &[create_issue.id()],
        )
        .unwrap();
    ngo.persons(&[]);
    let unrelated = ngo
        .append(ISSUE, issue, COMMENTS, encode("someone else"))
        .unwrap();
    registrar.at(T0 + 2_000);
    let erase = registrar.erase(person).unwrap();
    ErasureHistory {
        person,
        issue,
        naming: vec![
            create_person.id(),
            comment.id(),
            update.id(),
            support.id(),
            retitle.id(),
        ],
        unrelated: unrelated.id(),
        ops: vec![
            create_person,
            create_issue,
            comment,
            update,
            support,
            retitle,
            unrelated,
        ],
        ngo,
        erase,
    }
}

#[test]
fn erase_destroys_the_persons_payloads_and_keeps_the_hashes() {
    let mut h = erasure_history();
    let mut s = apply_all(&h.ops);
    assert!(leaks(&s), "the canary is in the state before the erase");
    let before = s.state_hashes();
    assert_eq!(before, expected_hashes(&h.ops));

    assert_eq!(s.apply(h.erase.clone()), Applied::Applied);
    assert!(!leaks(&s), "the canary survived the erase");
    assert!(s.is_erased(h.person));
    for id in &h.naming {
        assert!(s.op(*id).unwrap().payload().is_none(), "{id}");
    }
    assert!(s.op(h.unrelated).unwrap().payload().is_some());
    // Envelopes and payload hashes stay: hashes of every (scope, tier) are those of the same
    // ops with their payloads, plus the erase op in its own (scope, tier).
    let after = s.state_hashes();
    let erase_key = (h.erase.envelope().scope, h.erase.envelope().tier);
    assert_eq!(after.len(), before.len());
    for (k, v) in &before {
        if *k != erase_key {
            assert_eq!(after[k], *v, "{k:?}");
        }
    }
    assert_ne!(after[&erase_key], before[&erase_key]);
    let all: Vec<Op> = [h.ops.clone(), vec![h.erase.clone()]].concat();
    assert_eq!(after, expected_hashes(&all));
    // The same as a replica that never held the payloads at all.
    let withheld = apply_all(&all.iter().map(Op::withheld).collect::<Vec<_>>());
    assert_eq!(withheld.state_hashes(), after);

    // The issue still merges: the title falls back to the create's... no: the retitle
    // survives with its value erased; the unrelated comment is kept.
    let (value, op, survivors) = register(&s, ISSUE, h.issue, TITLE);
    assert_eq!((value, op, survivors), (None, h.naming[4], 1));
    match s.field(ISSUE, h.issue, COMMENTS) {
        Some(FieldValue::Log(l)) => {
            assert_eq!(l.len(), 2);
            assert_eq!(l[0].value, None);
            assert_eq!(l[1].value, Some(encode("someone else")));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        s.field(ISSUE, h.issue, SUPPORTERS),
        Some(FieldValue::Set { elements, hidden: 1 }) if elements.is_empty()
    ));
    // The person record is still there (its create is held) with no fields.
    let person = s.record(EntityKind::Person, h.person.0).unwrap();
    assert!(person.fields.is_empty(), "{:?}", person.fields);

    // A late op naming the person loses its payload on arrival.
    h.ngo.persons(&[h.person]);
    h.ngo.at(T0 + 3_000);
    let late = h
        .ngo
        .append(ISSUE, h.issue, COMMENTS, encode(&format!("late {CANARY}")))
        .unwrap();
    assert_eq!(
        s.apply(late.clone()),
        Applied::Flagged(FlagKind::PayloadErased)
    );
    assert!(s.op(late.id()).unwrap().payload().is_none());
    assert!(!leaks(&s));
    // Its payload arriving again (a retry) is not taken either.
    assert_eq!(s.apply(late.clone()), Applied::Duplicate);
    assert!(!leaks(&s));
    assert!(s.flags().is_empty(), "{:?}", s.flags());

    // The opposite order — erase first, then everything — gives the same state.
    let mut reversed = State::new();
    reversed.apply(h.erase.clone());
    reversed.apply(late.clone());
    for op in h.ops.iter().rev() {
        reversed.apply(op.clone());
    }
    assert!(!leaks(&reversed));
    assert_eq!(reversed.snapshot(), s.snapshot());
    assert_eq!(reversed, s);
    // And every other order.
    let mut everything = all.clone();
    everything.push(late);
    let c = converge(&everything);
    assert_eq!(c, s);
    assert!(!leaks(&c));
}

// ---------------------------------------------------------------------------------------
// Equivocation and version vectors.
// ---------------------------------------------------------------------------------------

/// The per-origin highest seq: what a version-vector sync would compare.
fn version_vector(s: &State) -> BTreeMap<DeviceId, u64> {
    let mut v = BTreeMap::new();
    for op in s.all_ops() {
        let e = v.entry(op.envelope().origin).or_insert(0);
        *e = (*e).max(op.envelope().seq);
    }
    v
}

#[test]
fn equivocation_both_versions_kept_and_flagged_on_both_replicas() {
    let id = Id::from_u128(0x75);
    let mut kiosk = OpBuilder::new(9);
    let create = kiosk
        .create(ISSUE, id, vec![(TITLE, b"t".to_vec())])
        .unwrap();
    // The kiosk's disk image is cloned: both copies go on numbering from the same seq.
    let mut clone = kiosk.clone();
    let v1 = kiosk
        .set(
            ISSUE,
            id,
            TITLE,
            b"from the original".to_vec(),
            &[create.id()],
        )
        .unwrap();
    let v2 = clone
        .set(ISSUE, id, TITLE, b"from the clone".to_vec(), &[create.id()])
        .unwrap();
    assert_eq!(v1.id(), v2.id());
    assert_ne!(v1.digest(), v2.digest());

    let mut x = apply_all([&create, &v1]);
    let mut y = apply_all([&create, &v2]);
    // Same version vector, same op count, different state: the hashes show it.
    assert_eq!(version_vector(&x), version_vector(&y));
    assert_eq!(x.len(), y.len());
    assert_ne!(x.state_hashes(), y.state_hashes());

    let from_x: Vec<Op> = x.all_ops().collect();
    let from_y: Vec<Op> = y.all_ops().collect();
    let mut outcomes = Vec::new();
    for op in from_y {
        outcomes.push(x.apply(op));
    }
    for op in from_x {
        outcomes.push(y.apply(op));
    }
    assert_eq!(
        outcomes,
        vec![
            Applied::Duplicate,
            Applied::Flagged(FlagKind::Equivocation),
            Applied::Duplicate,
            Applied::Flagged(FlagKind::Equivocation),
        ]
    );
    assert_eq!(x.snapshot(), y.snapshot());
    assert_eq!(x, y);
    assert_eq!(x.len(), 3);
    let held: Vec<[u8; 32]> = x.all_ops().map(|o| o.digest()).collect();
    assert!(held.contains(&v1.digest()) && held.contains(&v2.digest()));
    assert_eq!(x.flags(), vec![flag(v1.id(), FlagKind::Equivocation)]);
    // The version with the smaller digest is materialised.
    let winner = if v1.digest() < v2.digest() { &v1 } else { &v2 };
    assert_eq!(
        register(&x, ISSUE, id, TITLE).0.as_deref(),
        winner.payload().map(|p| p.bytes.as_slice())
    );
    assert_eq!(x.apply(v1.clone()), Applied::Duplicate);
    assert_eq!(x.apply(v2.clone()), Applied::Duplicate);
    converge(&[create, v1, v2]);
}

#[test]
fn same_version_vector_different_state_is_caught_by_the_state_hash() {
    // Replica x holds 1:1, 1:2, 1:3; replica y missed 1:2 (a gap a kiosk sees for ops out
    // of its scope, or a lost chunk) but holds 2:1 … with the same highest seqs.
    let id = Id::from_u128(0x76);
    let mut a = OpBuilder::new(1);
    let create = a.create(ISSUE, id, vec![(TITLE, b"t".to_vec())]).unwrap();
    let c1 = a.append(ISSUE, id, COMMENTS, b"one".to_vec()).unwrap();
    let c2 = a.append(ISSUE, id, COMMENTS, b"two".to_vec()).unwrap();
    let mut b = OpBuilder::new(2);
    let d1 = b.append(ISSUE, id, COMMENTS, b"b-one".to_vec()).unwrap();

    let x = apply_all([&create, &c1, &c2, &d1]);
    let mut y = apply_all([&create, &c2, &d1]);
    assert_eq!(
        version_vector(&x),
        version_vector(&y),
        "they 'report in sync'"
    );
    assert_ne!(x.state_hashes(), y.state_hashes(), "but differ");
    assert_ne!(x.snapshot(), y.snapshot());
    // Comparing hashes is what tells them to exchange; then they agree.
    for op in x.all_ops() {
        y.apply(op.clone());
    }
    assert_eq!(x.state_hashes(), y.state_hashes());
    assert_eq!(x, y);

    // Same op ids everywhere, different content (a restored backup): the same version
    // vector and the same number of ops, different hashes.
    let mut restored = OpBuilder::new(1);
    let _ = restored
        .create(ISSUE, id, vec![(TITLE, b"t".to_vec())])
        .unwrap();
    let other_c1 = restored
        .append(ISSUE, id, COMMENTS, b"not one".to_vec())
        .unwrap();
    assert_eq!(other_c1.id(), c1.id());
    let z = apply_all([&create, &other_c1, &c2, &d1]);
    assert_eq!(version_vector(&x), version_vector(&z));
    assert_eq!(x.len(), z.len());
    assert_ne!(x.state_hashes(), z.state_hashes());
}

// ---------------------------------------------------------------------------------------
// Save and load.
// ---------------------------------------------------------------------------------------

#[test]
fn conflict_winner_is_stable_across_save_and_load() {
    let id = Id::from_u128(0x77);
    let mut desk = OpBuilder::new(1);
    let create = desk
        .create(ISSUE, id, vec![(TITLE, b"t0".to_vec())])
        .unwrap();
    // Three concurrent writes, two with the same HLC (the origin breaks the tie), on a
    // flagged field, plus concurrent unflagged writes and a set.
    let mut writers: Vec<OpBuilder> = (2..=4).map(OpBuilder::new).collect();
    writers[0].at(T0 + 100);
    writers[1].at(T0 + 100);
    writers[2].at(T0 + 50);
    let mut ops = vec![create.clone()];
    for (n, w) in writers.iter_mut().enumerate() {
        ops.push(
            w.set(ISSUE, id, TITLE, vec![b'a' + n as u8], &[create.id()])
                .unwrap(),
        );
        ops.push(w.set(ISSUE, id, CATEGORY, vec![n as u8], &[]).unwrap());
        ops.push(w.add(ISSUE, id, SUPPORTERS, vec![n as u8]).unwrap());
    }
    let s = apply_all(&ops);
    let conflicts = s.conflicts();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].candidates.len(), 3);
    assert_eq!(conflicts[0].shown, OpId::new(3, 1));

    let bytes = postcard::to_allocvec(&s).unwrap();
    let mut loaded: State = postcard::from_bytes(&bytes).unwrap();
    assert_eq!(loaded.conflicts(), conflicts);
    assert_eq!(loaded.conflicts()[0].shown, conflicts[0].shown);
    assert_eq!(loaded.field(ISSUE, id, TITLE), s.field(ISSUE, id, TITLE));
    assert_eq!(loaded.snapshot(), s.snapshot());
    assert_eq!(loaded, s);
    // Encoding is canonical: encoding the loaded state gives the same bytes.
    assert_eq!(postcard::to_allocvec(&loaded).unwrap(), bytes);

    // Further ops merge identically.
    let mut s = s;
    let mut late = OpBuilder::new(5);
    late.at(T0 + 100);
    let more = vec![
        late.set(ISSUE, id, TITLE, b"z".to_vec(), &[create.id()])
            .unwrap(),
        late.set(
            ISSUE,
            id,
            TITLE,
            b"r".to_vec(),
            &[OpId::new(2, 1), OpId::new(3, 1)],
        )
        .unwrap(),
        late.remove(ISSUE, id, SUPPORTERS, vec![0], &[OpId::new(2, 3)])
            .unwrap(),
    ];
    for op in more {
        assert_eq!(s.apply(op.clone()), loaded.apply(op));
    }
    assert_eq!(loaded.conflicts(), s.conflicts());
    assert_eq!(loaded.snapshot(), s.snapshot());
    assert_eq!(loaded, s);
    assert_eq!(s.conflicts()[0].candidates.len(), 3);
}

// ---------------------------------------------------------------------------------------
// Clocks.
// ---------------------------------------------------------------------------------------

#[test]
fn an_op_from_2099_is_applied_and_its_clock_is_reported_not_followed() {
    const Y2099: u64 = 4_070_908_800_000;
    let id = Id::from_u128(0x78);
    let mut desk = OpBuilder::new(1);
    let create = desk
        .create(ISSUE, id, vec![(TITLE, b"t0".to_vec())])
        .unwrap();
    let mut broken = OpBuilder::new(2);
    broken.at(Y2099);
    let future = broken
        .set(ISSUE, id, TITLE, b"from 2099".to_vec(), &[create.id()])
        .unwrap();
    assert_eq!(future.envelope().hlc.millis(), Y2099);

    let mut s = apply_all([&create]);
    assert_eq!(s.apply(future.clone()), Applied::Applied);
    assert_eq!(
        register(&s, ISSUE, id, TITLE),
        (Some(b"from 2099".to_vec()), future.id(), 1)
    );
    // The receiving device's clock is not dragged to 2099.
    let now = FixedClock(T0 + 5_000);
    let mut clock = HlcClock::new();
    let mine = clock.tick(&now);
    let seen = clock.observe(future.envelope().hlc, &now);
    assert!(seen.beyond_drift);
    assert!(!seen.advanced);
    assert_eq!(clock.last(), mine);
    let next = clock.tick(&now);
    assert!(next < future.envelope().hlc);
    assert_eq!(next.millis(), T0 + 5_000);
    // An op from within the drift bound does advance it.
    let near = Hlc::new(T0 + 60_000, 3);
    let seen = clock.observe(near, &now);
    assert!(seen.advanced && !seen.beyond_drift);
    assert_eq!(clock.last(), near);
    // A later local write supersedes the 2099 one: causality, not the clock, decides.
    let fix = desk
        .set(ISSUE, id, TITLE, b"fixed".to_vec(), &[future.id()])
        .unwrap();
    assert!(fix.envelope().hlc < future.envelope().hlc);
    assert_eq!(s.apply(fix.clone()), Applied::Applied);
    assert_eq!(
        register(&s, ISSUE, id, TITLE),
        (Some(b"fixed".to_vec()), fix.id(), 1)
    );
}

// ---------------------------------------------------------------------------------------
// Bad op bytes.
// ---------------------------------------------------------------------------------------

fn sample_op() -> Op {
    let mut b = OpBuilder::new(5);
    b.set(
        ISSUE,
        Id::from_u128(0x79),
        TITLE,
        b"v".to_vec(),
        &[OpId::new(1, 1)],
    )
    .unwrap()
}

#[test]
fn bad_op_bytes_give_typed_errors_and_never_panic() {
    let op = sample_op();
    let bytes = op.envelope_bytes().to_vec();
    let hash = op.payload_hash();
    let payload = op.payload().cloned();
    // The good op goes through, byte-identical.
    let ok = Op::from_parts(&bytes, hash, payload.clone()).unwrap();
    assert_eq!(ok, op);

    // Truncated: every proper prefix fails to decode (some as a shorter envelope with
    // a missing tail, never as a valid op).
    for n in 0..bytes.len() {
        match Op::from_parts(&bytes[..n], hash, None) {
            Err(OpError::Envelope(_)) => {}
            other => panic!("prefix of {n} bytes: {other:?}"),
        }
    }
    // Trailing bytes.
    let mut long = bytes.clone();
    long.extend([0, 0, 7]);
    assert_eq!(
        Op::from_parts(&long, hash, None),
        Err(OpError::TrailingBytes(3))
    );
    // A non-canonical varint: the seq (1, after the one-byte origin 5) padded to two
    // bytes. postcard reads it as the same envelope; the op is refused as ambiguous.
    assert_eq!(&bytes[..2], &[5, 1]);
    let mut padded = vec![5, 0x81, 0x00];
    padded.extend_from_slice(&bytes[2..]);
    let (decoded, rest): (Envelope, &[u8]) = postcard::take_from_bytes(&padded).unwrap();
    assert!(rest.is_empty());
    assert_eq!(&decoded, op.envelope());
    assert_eq!(
        Op::from_parts(&padded, hash, None),
        Err(OpError::NonCanonical)
    );
    // Too many supersedes, too many persons, seq 0, self-supersede.
    let mut e = op.envelope().clone();
    e.supersedes = (1..=MAX_SUPERSEDES as u64 + 1)
        .map(|s| OpId::new(1, s))
        .collect();
    let enc = postcard::to_allocvec(&e).unwrap();
    assert_eq!(
        Op::from_parts(&enc, hash, None),
        Err(OpError::TooManySupersedes {
            count: MAX_SUPERSEDES + 1,
            max: MAX_SUPERSEDES
        })
    );
    let mut e = op.envelope().clone();
    e.persons = (0..17).map(|i| PersonId(Id::from_u128(i))).collect();
    let enc = postcard::to_allocvec(&e).unwrap();
    assert!(matches!(
        Op::from_parts(&enc, hash, None),
        Err(OpError::TooManyPersons { count: 17, .. })
    ));
    let mut e = op.envelope().clone();
    e.seq = 0;
    let enc = postcard::to_allocvec(&e).unwrap();
    assert_eq!(Op::from_parts(&enc, hash, None), Err(OpError::ZeroSeq));
    let mut e = op.envelope().clone();
    e.supersedes = vec![op.id()];
    let enc = postcard::to_allocvec(&e).unwrap();
    assert_eq!(
        Op::from_parts(&enc, hash, None),
        Err(OpError::SelfSupersede)
    );
    // Envelope over the limit.
    let huge = vec![0u8; kenesh_merge::MAX_ENVELOPE + 1];
    assert!(matches!(
        Op::from_parts(&huge, hash, None),
        Err(OpError::EnvelopeTooLarge { .. })
    ));
    // Payload hash mismatch.
    let mut wrong = payload.clone().unwrap();
    wrong.bytes.push(0);
    assert_eq!(
        Op::from_parts(&bytes, hash, Some(wrong)),
        Err(OpError::PayloadMismatch)
    );
    let mut other_salt = payload.clone().unwrap();
    other_salt.salt[0] ^= 1;
    assert_eq!(
        Op::from_parts(&bytes, hash, Some(other_salt)),
        Err(OpError::PayloadMismatch)
    );
    // Payload over MAX_PAYLOAD (even with a matching hash).
    let big = Payload {
        salt: [0; 16],
        bytes: vec![0; MAX_PAYLOAD + 1],
    };
    assert_eq!(
        Op::from_parts(&bytes, big.hash(), Some(big.clone())),
        Err(OpError::PayloadTooLarge {
            len: MAX_PAYLOAD + 1,
            max: MAX_PAYLOAD
        })
    );
    assert!(matches!(
        Op::new(op.envelope().clone(), big),
        Err(OpError::PayloadTooLarge { .. })
    ));
    // Loading an op through serde checks the same things.
    let good = postcard::to_allocvec(&op).unwrap();
    assert_eq!(postcard::from_bytes::<Op>(&good).unwrap(), op);
    let bad = postcard::to_allocvec(&(&padded, &hash, &payload)).unwrap();
    assert!(postcard::from_bytes::<Op>(&bad).is_err());

    // Arbitrary bytes never panic.
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for len in 0..400 {
        let mut v: Vec<u8> = (0..len % 80)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        if len % 3 == 0 && !v.is_empty() {
            // Start from a valid envelope and corrupt one byte.
            v = bytes.clone();
            let i = (x as usize) % v.len();
            v[i] ^= (x >> 8) as u8 | 1;
        }
        let _ = Op::from_parts(&v, hash, payload.clone());
    }
}
