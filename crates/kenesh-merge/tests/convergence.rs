//! Convergence laws: for random op sets over several records and devices, every permutation,
//! duplication and split into batches gives the same state and state hash; replicas
//! exchanging ops in either direction converge; saving and loading changes nothing.

use kenesh_merge::{Op, State};
use proptest::prelude::*;

mod common;

use common::script::{Step, config, run, state_of, step};

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
