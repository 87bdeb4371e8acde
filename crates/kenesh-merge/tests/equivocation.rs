//! Equivocation edge cases: the same (origin, seq) with different content, where the
//! versions differ in what this build knows, in the persons they name, or in whether their
//! payload is held. Every arrival order must give the same state.

use kenesh_merge::{Action, Applied, FlagKind, Op, OpBuilder, OpId, State, encode};
use kenesh_model::schema::EntityKind;
use kenesh_model::{Id, PersonId, Tier};
use proptest::prelude::*;

const TITLE: u16 = 1;
const COMMENTS: u16 = 17;
const CANARY: &str = "CANARY-Жапаров-7f3a";

fn apply_all<'a>(ops: impl IntoIterator<Item = &'a Op>) -> State {
    let mut s = State::new();
    for op in ops {
        s.apply(op.clone());
    }
    s
}

/// Every order of `ops` (at most 5) gives the same state; returns it.
fn every_order(ops: &[Op]) -> State {
    fn perms(n: usize) -> Vec<Vec<usize>> {
        if n == 0 {
            return vec![vec![]];
        }
        let mut out = Vec::new();
        for p in perms(n - 1) {
            for i in 0..=p.len() {
                let mut q = p.clone();
                q.insert(i, n - 1);
                out.push(q);
            }
        }
        out
    }
    assert!(ops.len() <= 5);
    let first = apply_all(ops);
    for order in perms(ops.len()) {
        let s = apply_all(order.iter().map(|i| &ops[*i]));
        assert_eq!(s.snapshot(), first.snapshot(), "order {order:?}");
        assert_eq!(s, first, "order {order:?}");
    }
    first
}

fn leaks(s: &State) -> bool {
    let bytes = postcard::to_allocvec(s).unwrap();
    let c = CANARY.as_bytes();
    bytes.windows(c.len()).any(|w| w == c)
        || s.all_ops().any(|op| {
            op.payload()
                .is_some_and(|p| p.bytes.windows(c.len()).any(|w| w == c))
        })
}

/// A cloned kiosk image where one copy runs a newer build: its version of seq 2 is an op of
/// an entity kind this build does not know. Whichever version's digest is smaller, and
/// whichever arrives first, the flags and state are the same.
#[test]
fn equivocation_between_a_known_and_an_unknown_op_converges() {
    let id = Id::from_u128(0x80);
    let mut seen = [false; 2];
    for salt in 0u8..8 {
        let mut kiosk = OpBuilder::new(9);
        let create = kiosk
            .create(EntityKind::Issue, id, vec![(TITLE, b"t".to_vec())])
            .unwrap();
        let mut newer = kiosk.clone();
        kiosk.salt([salt; 16]);
        let known = kiosk
            .set(
                EntityKind::Issue,
                id,
                TITLE,
                b"known".to_vec(),
                &[create.id()],
            )
            .unwrap();
        let unknown = newer
            .raw(
                999,
                id,
                1,
                Action::SET,
                Tier::Public,
                &[],
                b"future".to_vec(),
            )
            .unwrap();
        assert_eq!(known.id(), unknown.id());
        let s = every_order(&[create, known.clone(), unknown.clone()]);
        let flags = s.flags();
        assert!(
            flags
                .iter()
                .any(|f| f.op == known.id() && f.kind == FlagKind::Equivocation)
        );
        // The unknown version is flagged as such exactly when it is the one materialised.
        let unknown_wins = unknown.digest() < known.digest();
        assert_eq!(
            flags.iter().any(|f| f.kind == FlagKind::UnknownSchema),
            unknown_wins,
            "salt {salt}: {flags:?}"
        );
        seen[usize::from(unknown_wins)] = true;
    }
    assert_eq!(seen, [true, true], "both versions win for some salt");
}

/// The same with an unknown action on a known field.
#[test]
fn equivocation_between_a_known_and_an_unknown_action_converges() {
    let id = Id::from_u128(0x81);
    for salt in 0u8..8 {
        let mut kiosk = OpBuilder::new(9);
        let create = kiosk
            .create(EntityKind::Issue, id, vec![(TITLE, b"t".to_vec())])
            .unwrap();
        let mut newer = kiosk.clone();
        kiosk.salt([salt; 16]);
        let known = kiosk
            .set(
                EntityKind::Issue,
                id,
                TITLE,
                b"known".to_vec(),
                &[create.id()],
            )
            .unwrap();
        let unknown = newer
            .raw(
                EntityKind::Issue.code(),
                id,
                TITLE,
                Action(42),
                Tier::Public,
                &[],
                b"future".to_vec(),
            )
            .unwrap();
        every_order(&[create, known, unknown]);
    }
}

/// A second version of an op that names a person, arriving after that person's erase,
/// loses its payload like any other late op naming them.
#[test]
fn equivocating_version_naming_an_erased_person_loses_its_payload() {
    let id = Id::from_u128(0x82);
    let person = PersonId(Id::from_u128(0x9e56));
    for salt in 0u8..8 {
        let mut kiosk = OpBuilder::new(9);
        let create = kiosk
            .create(EntityKind::Issue, id, vec![(TITLE, b"t".to_vec())])
            .unwrap();
        kiosk.persons(&[person]);
        let mut clone = kiosk.clone();
        clone.salt([salt; 16]);
        let v1 = kiosk
            .append(
                EntityKind::Issue,
                id,
                COMMENTS,
                encode(&format!("one {CANARY}")),
            )
            .unwrap();
        let v2 = clone
            .append(
                EntityKind::Issue,
                id,
                COMMENTS,
                encode(&format!("two {CANARY}")),
            )
            .unwrap();
        let mut office = OpBuilder::new(1);
        let erase = office.erase(person).unwrap();
        let s = every_order(&[create.clone(), v1.clone(), v2.clone(), erase.clone()]);
        assert!(!leaks(&s), "salt {salt}");
        // Arriving after the erase, the second version is flagged as an equivocation and
        // its payload is not kept.
        let mut x = apply_all([&create, &v1, &erase]);
        assert_eq!(
            x.apply(v2.clone()),
            Applied::Flagged(FlagKind::Equivocation)
        );
        assert!(!leaks(&x));
    }
}

/// A cloned kiosk erases two different persons under the same (origin, seq): both erasures
/// hold on every replica, whichever version arrives first.
#[test]
fn equivocating_erase_ops_erase_every_person_they_name() {
    let id = Id::from_u128(0x83);
    let (p1, p2) = (PersonId(Id::from_u128(0x51)), PersonId(Id::from_u128(0x52)));
    for salt in 0u8..8 {
        let mut writer = OpBuilder::new(1);
        writer.persons(&[p1]);
        let c1 = writer
            .append(
                EntityKind::Issue,
                id,
                COMMENTS,
                encode(&format!("p1 {CANARY}")),
            )
            .unwrap();
        writer.persons(&[p2]);
        let c2 = writer
            .append(
                EntityKind::Issue,
                id,
                COMMENTS,
                encode(&format!("p2 {CANARY}")),
            )
            .unwrap();
        let mut office = OpBuilder::new(9);
        let mut clone = office.clone();
        clone.salt([salt; 16]);
        let e1 = office.erase(p1).unwrap();
        let e2 = clone.erase(p2).unwrap();
        assert_eq!(e1.id(), e2.id());
        let s = every_order(&[c1, c2, e1, e2]);
        assert!(s.is_erased(p1) && s.is_erased(p2), "salt {salt}");
        assert!(!leaks(&s), "salt {salt}");
    }
}

/// A losing version first held without its payload (withheld) and then received with it
/// ends the same as on a replica that received it with its payload at once.
#[test]
fn equivocating_version_payload_arriving_later_is_taken() {
    let id = Id::from_u128(0x84);
    for salt in 0u8..8 {
        let mut kiosk = OpBuilder::new(9);
        let create = kiosk
            .create(EntityKind::Issue, id, vec![(TITLE, b"t".to_vec())])
            .unwrap();
        let mut clone = kiosk.clone();
        clone.salt([salt; 16]);
        let v1 = kiosk
            .set(
                EntityKind::Issue,
                id,
                TITLE,
                b"one".to_vec(),
                &[create.id()],
            )
            .unwrap();
        let v2 = clone
            .set(
                EntityKind::Issue,
                id,
                TITLE,
                b"two".to_vec(),
                &[create.id()],
            )
            .unwrap();
        for (a, b) in [(&v1, &v2), (&v2, &v1)] {
            let full = apply_all([&create, a, b]);
            let mut late = apply_all([&create, a]);
            late.apply(b.withheld());
            late.apply(b.clone());
            assert_eq!(late.snapshot(), full.snapshot());
            assert_eq!(late, full, "salt {salt}");
        }
    }
}

/// Property-test configuration: at least 1,000 cases, more with `PROPTEST_CASES`.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000u32)
        .max(1000);
    ProptestConfig::with_cases(cases)
}

/// One op of a random history: which device (0: a kiosk, 1: its clone, 2: another
/// device), what, on which record, what it supersedes (indices of earlier ops).
#[derive(Clone, Debug)]
struct Step {
    device: usize,
    what: u8,
    entity: u8,
    value: u8,
    supersedes: Vec<prop::sample::Index>,
}

fn step() -> impl Strategy<Value = Step> {
    (
        0usize..3,
        0u8..10,
        0u8..2,
        any::<u8>(),
        prop::collection::vec(any::<prop::sample::Index>(), 0..3),
    )
        .prop_map(|(device, what, entity, value, supersedes)| Step {
            device,
            what,
            entity,
            value,
            supersedes,
        })
}

/// Makes the ops of a history in which device 0's image is cloned after `clone_at` ops, so
/// both copies number their next ops alike (with different salts and clocks).
fn history(steps: &[Step], clone_at: usize) -> Vec<Op> {
    let mut devices = [OpBuilder::new(1), OpBuilder::new(1), OpBuilder::new(2)];
    devices[1].salt([1; 16]);
    let mut ops: Vec<Op> = Vec::new();
    for (n, s) in steps.iter().enumerate() {
        if n == clone_at {
            devices[1] = devices[0].clone();
            devices[1].salt([1; 16]).at(1_700_000_000_000 + 7);
        }
        let d = if n < clone_at && s.device == 1 {
            0
        } else {
            s.device
        };
        let b = &mut devices[d];
        b.at(1_700_000_000_000 + u64::from(s.value % 16));
        let entity = Id::from_u128(0x90 + u128::from(s.entity));
        // What it supersedes, never itself (an op cannot name its own id).
        let own = OpId::new(if d == 2 { 2 } else { 1 }, b.next_seq());
        let sup: Vec<OpId> = if ops.is_empty() {
            Vec::new()
        } else {
            s.supersedes
                .iter()
                .map(|i| ops[i.index(ops.len())].id())
                .filter(|i| *i != own)
                .collect()
        };
        let person = PersonId(Id::from_u128(0x600 + u128::from(s.value % 2)));
        let k = EntityKind::Issue;
        let op = match s.what {
            0 => b.create(k, entity, vec![(TITLE, vec![s.value]), (9, vec![1])]),
            1 => b.set(k, entity, TITLE, vec![s.value], &sup),
            2 => b.add(k, entity, 14, vec![s.value % 3]),
            3 => b.remove(k, entity, 14, vec![s.value % 3], &sup),
            4 => {
                b.persons(&[person]);
                let op = b.append(k, entity, COMMENTS, encode(&format!("{CANARY}{}", s.value)));
                b.persons(&[]);
                op
            }
            5 => b.transition(k, entity, 9, s.value % 3, s.value % 8, &sup),
            6 => b.reopen(
                k,
                entity,
                9,
                sup.first().copied().unwrap_or(OpId::new(3, 1)),
            ),
            7 => b.erase(person),
            8 => b.raw(
                999,
                entity,
                1,
                Action::SET,
                Tier::Public,
                &sup,
                vec![s.value],
            ),
            _ => b.raw(
                k.code(),
                entity,
                TITLE,
                Action(42),
                Tier::Public,
                &sup,
                vec![s.value],
            ),
        };
        let op = op.expect("within limits");
        // Now and then a copy without its payload travels too (a peer without the grant
        // forwarded it).
        if s.value % 5 == 0 {
            ops.push(op.withheld());
        }
        ops.push(op);
    }
    ops
}

proptest! {
    #![proptest_config(config())]

    /// Histories with a cloned device (so equivocations), unknown kinds and actions,
    /// erasures and withheld copies converge in any order, with duplicates; no erased
    /// person's payload is left.
    #[test]
    fn equivocating_histories_converge(
        steps in prop::collection::vec(step(), 1..30),
        clone_at in 0usize..30,
        seed in any::<u64>(),
    ) {
        let ops = history(&steps, clone_at);
        let reference = apply_all(&ops);
        let mut order: Vec<usize> = (0..ops.len())
            .chain((0..ops.len()).filter(|i| (seed >> (i % 64)) & 1 == 1))
            .collect();
        let mut x = seed | 1;
        for i in (1..order.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            order.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let shuffled = apply_all(order.iter().map(|i| &ops[*i]));
        prop_assert_eq!(reference.snapshot(), shuffled.snapshot());
        prop_assert_eq!(&reference, &shuffled);
        // Exchanging everything from a replica gives the same state again.
        let held: Vec<Op> = shuffled.all_ops().collect();
        let copy = apply_all(&held);
        prop_assert_eq!(&copy.snapshot(), &reference.snapshot());
        for op in reference.all_ops() {
            let e = op.envelope();
            if e.persons.iter().any(|p| reference.is_erased(*p)) {
                prop_assert!(op.payload().is_none());
            }
        }
    }
}
