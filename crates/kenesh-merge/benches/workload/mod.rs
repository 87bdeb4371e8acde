//! The apply workload, shared by `benches/apply.rs` and `examples/apply_profile.rs`.

use kenesh_merge::{Op, OpBuilder, OpId, State};
use kenesh_model::schema::EntityKind;
use kenesh_model::{Id, IssueStatus, Workflow};

pub(crate) const RECORDS: usize = 10_000;
pub(crate) const SETS: usize = 100_000;
const TITLE: u16 = 1;
const CATEGORY: u16 = 3;
const STATUS: u16 = 9;

/// A state holding `RECORDS` created issues, and `SETS` register writes spread over them
/// (title and category in turn), each superseding the write of that field it follows.
pub(crate) fn workload() -> (State, Vec<Op>) {
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
