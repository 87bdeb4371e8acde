//! Convergence laws: for random op sets over several records and devices, every permutation,
//! duplication and split into batches gives the same state and state hash; replicas
//! exchanging ops in either direction converge; saving and loading changes nothing.

use kenesh_merge::{Action, FieldValue, Op, OpBuilder, OpId, State};
use kenesh_model::schema::EntityKind;
use kenesh_model::{Id, IssueStatus, PersonId, Workflow};
use proptest::prelude::*;

const TITLE: u16 = 1;
const STATUS: u16 = 9;
const SUPPORTERS: u16 = 14;
const COMMENTS: u16 = 17;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000u32)
        .max(1000);
    ProptestConfig::with_cases(cases)
}

/// A device in the simulation: its builder, what it has seen, its own state.
struct Device {
    builder: OpBuilder,
    seen: Vec<Op>,
    state: State,
}

impl Device {
    fn new(origin: u32) -> Device {
        Device {
            builder: OpBuilder::new(origin),
            seen: Vec::new(),
            state: State::new(),
        }
    }
    fn take(&mut self, op: Op) {
        self.state.apply(op.clone());
        self.seen.push(op);
    }
    fn ids(&self, entity: Id, field: u16, actions: &[Action]) -> Vec<OpId> {
        let mut v: Vec<OpId> = self
            .seen
            .iter()
            .filter(|o| {
                let e = o.envelope();
                e.entity == entity
                    && (e.field == field || e.action == Action::CREATE)
                    && actions.contains(&e.action)
            })
            .map(Op::id)
            .collect();
        v.sort();
        v.dedup();
        v.truncate(kenesh_merge::MAX_SUPERSEDES);
        v
    }
}

/// One step of a random script: which device does what to which record, then maybe syncs.
#[derive(Clone, Debug)]
struct Step {
    device: usize,
    action: u8,
    entity: u8,
    value: u8,
    sync_with: Option<usize>,
}

fn step() -> impl Strategy<Value = Step> {
    (
        0usize..3,
        0u8..9,
        0u8..3,
        any::<u8>(),
        proptest::option::weighted(0.3, 0usize..3),
    )
        .prop_map(|(device, action, entity, value, sync_with)| Step {
            device,
            action,
            entity,
            value,
            sync_with,
        })
}

/// Runs a script and returns every op made, in the order made.
fn run(script: &[Step]) -> Vec<Op> {
    let mut devices: Vec<Device> = (1..=3).map(Device::new).collect();
    let mut all = Vec::new();
    for (n, s) in script.iter().enumerate() {
        let entity = Id::from_u128(100 + u128::from(s.entity));
        let d = &mut devices[s.device];
        d.builder.at(1_700_000_000_000 + (n as u64) * 997 % 5_000);
        let k = EntityKind::Issue;
        let created = d
            .seen
            .iter()
            .any(|o| o.envelope().entity == entity && o.envelope().action == Action::CREATE);
        let op = if !created && s.action < 3 {
            d.builder.create(
                k,
                entity,
                vec![
                    (TITLE, vec![s.value]),
                    (STATUS, vec![IssueStatus::Submitted.code()]),
                ],
            )
        } else {
            match s.action {
                0 | 1 => {
                    let sup = d.ids(entity, TITLE, &[Action::SET, Action::CREATE]);
                    d.builder.set(k, entity, TITLE, vec![s.value], &sup)
                }
                2 => d.builder.add(k, entity, SUPPORTERS, vec![s.value % 4]),
                3 => {
                    let adds: Vec<OpId> = d
                        .seen
                        .iter()
                        .filter(|o| {
                            let e = o.envelope();
                            e.entity == entity
                                && e.field == SUPPORTERS
                                && e.action == Action::ADD
                                && o.payload().is_some_and(|p| p.bytes == [s.value % 4])
                        })
                        .map(Op::id)
                        .collect();
                    d.builder
                        .remove(k, entity, SUPPORTERS, vec![s.value % 4], &adds)
                }
                4 => d.builder.append(k, entity, COMMENTS, vec![s.value]),
                5 | 6 => {
                    let current = match d.state.field(k, entity, STATUS) {
                        Some(FieldValue::Workflow { state, .. }) => state,
                        _ => IssueStatus::Submitted.code(),
                    };
                    let sup = d.ids(entity, STATUS, &[Action::TRANSITION, Action::REOPEN]);
                    let to = s.value % 8;
                    d.builder.transition(k, entity, STATUS, current, to, &sup)
                }
                7 => {
                    let last = d
                        .ids(entity, STATUS, &[Action::TRANSITION, Action::REOPEN])
                        .into_iter()
                        .max();
                    match last {
                        Some(c) => d.builder.reopen(k, entity, STATUS, c),
                        None => d.builder.append(k, entity, COMMENTS, vec![s.value]),
                    }
                }
                _ => {
                    if s.value % 5 == 0 {
                        d.builder.tombstone(k, entity)
                    } else {
                        let p = PersonId(Id::from_u128(u128::from(s.value % 3)));
                        d.builder.persons(&[p]);
                        let op = d.builder.append(k, entity, COMMENTS, vec![0xC0, s.value]);
                        d.builder.persons(&[]);
                        if s.value % 7 == 0 {
                            d.builder.erase(p)
                        } else {
                            op
                        }
                    }
                }
            }
        };
        let op = op.expect("ops in the simulation are within limits");
        devices[s.device].take(op.clone());
        all.push(op);
        if let Some(peer) = s.sync_with.filter(|p| *p != s.device) {
            let (a, b) = (s.device.min(peer), s.device.max(peer));
            let (left, right) = devices.split_at_mut(b);
            let (x, y) = (&mut left[a], &mut right[0]);
            for op in x.seen.clone() {
                if !y.seen.contains(&op) {
                    y.take(op);
                }
            }
            for op in y.seen.clone() {
                if !x.seen.contains(&op) {
                    x.take(op);
                }
            }
        }
    }
    all
}

fn state_of<'a>(ops: impl IntoIterator<Item = &'a Op>) -> State {
    let mut s = State::new();
    for op in ops {
        s.apply(op.clone());
    }
    s
}

proptest! {
    #![proptest_config(config())]

    /// Commutative and idempotent: any order, with duplicates, gives the same state.
    #[test]
    fn any_order_any_duplicates_same_state(
        script in proptest::collection::vec(step(), 1..40),
        seed in any::<u64>(),
    ) {
        let ops = run(&script);
        let reference = state_of(&ops);
        // A permutation with some ops repeated.
        let mut order: Vec<usize> = (0..ops.len()).chain((0..ops.len()).filter(|i| (seed >> (i % 64)) & 1 == 1)).collect();
        let mut x = seed | 1;
        for i in (1..order.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            order.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let shuffled = state_of(order.iter().map(|i| &ops[*i]));
        prop_assert_eq!(reference.state_hashes(), shuffled.state_hashes());
        prop_assert_eq!(reference.snapshot(), shuffled.snapshot());
        prop_assert_eq!(&reference, &shuffled);
    }

    /// Associative: states built from batches and then exchanged converge with the state
    /// built from everything at once, whichever direction the exchange goes.
    #[test]
    fn batches_then_exchange_converge(
        script in proptest::collection::vec(step(), 1..40),
        cut in 0usize..40,
    ) {
        let ops = run(&script);
        let cut = cut.min(ops.len());
        let (first, second) = ops.split_at(cut);
        let mut a = state_of(first);
        let mut b = state_of(second.iter().rev());
        let from_a: Vec<Op> = a.all_ops().collect();
        let from_b: Vec<Op> = b.all_ops().collect();
        for op in from_b { a.apply(op); }
        for op in from_a { b.apply(op); }
        let whole = state_of(&ops);
        prop_assert_eq!(a.snapshot(), whole.snapshot());
        prop_assert_eq!(b.snapshot(), whole.snapshot());
    }

    /// Saving and loading (postcard) gives the same state, and it goes on merging the same.
    #[test]
    fn save_load_changes_nothing(script in proptest::collection::vec(step(), 1..30), cut in 0usize..30) {
        let ops = run(&script);
        let cut = cut.min(ops.len());
        let s = state_of(&ops[..cut]);
        let bytes = postcard::to_allocvec(&s).unwrap();
        let mut loaded: State = postcard::from_bytes(&bytes).unwrap();
        prop_assert_eq!(&loaded, &s);
        prop_assert_eq!(loaded.conflicts(), s.conflicts());
        let mut s = s;
        for op in &ops[cut..] { s.apply(op.clone()); loaded.apply(op.clone()); }
        prop_assert_eq!(loaded.snapshot(), s.snapshot());
    }
}

#[test]
fn simulation_makes_real_concurrency() {
    // A fixed script with two devices writing the title without syncing: a conflict.
    let script: Vec<Step> = vec![
        Step {
            device: 0,
            action: 0,
            entity: 0,
            value: 1,
            sync_with: Some(1),
        },
        Step {
            device: 0,
            action: 0,
            entity: 0,
            value: 2,
            sync_with: None,
        },
        Step {
            device: 1,
            action: 0,
            entity: 0,
            value: 3,
            sync_with: None,
        },
        Step {
            device: 1,
            action: 5,
            entity: 0,
            value: 2,
            sync_with: None,
        },
        Step {
            device: 0,
            action: 5,
            entity: 0,
            value: 7,
            sync_with: None,
        },
    ];
    let s = state_of(&run(&script));
    let conflicts = s.conflicts();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0].candidates.len(), 2);
    let refused = s
        .flags()
        .iter()
        .filter(|f| matches!(f.kind, kenesh_merge::FlagKind::Workflow(_)))
        .count();
    assert_eq!(
        refused, 1,
        "one of the concurrent transitions from submitted is stale"
    );
}
