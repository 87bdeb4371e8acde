//! A random script of devices writing one kind of record concurrently and syncing now and
//! then: the ops of real concurrency, for the convergence and paging laws.

#![allow(dead_code)]

use kenesh_merge::{Action, FieldValue, Op, OpBuilder, OpId, State};
use kenesh_model::schema::EntityKind;
use kenesh_model::{Id, IssueStatus, PersonId, Workflow};
use proptest::prelude::*;

pub(crate) const TITLE: u16 = 1;
pub(crate) const STATUS: u16 = 9;
pub(crate) const SUPPORTERS: u16 = 14;
pub(crate) const COMMENTS: u16 = 17;

pub(crate) fn config() -> ProptestConfig {
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
pub(crate) struct Step {
    pub(crate) device: usize,
    pub(crate) action: u8,
    pub(crate) entity: u8,
    pub(crate) value: u8,
    pub(crate) sync_with: Option<usize>,
}

pub(crate) fn step() -> impl Strategy<Value = Step> {
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
pub(crate) fn run(script: &[Step]) -> Vec<Op> {
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

pub(crate) fn state_of<'a>(ops: impl IntoIterator<Item = &'a Op>) -> State {
    let mut s = State::new();
    for op in ops {
        s.apply(op.clone());
    }
    s
}
