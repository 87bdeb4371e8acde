//! The read accessors the facade uses to supersede and to open values: the create op, a
//! register's surviving writes, a workflow's heads.

use kenesh_merge::{OpBuilder, State};
use kenesh_model::schema::EntityKind;
use kenesh_model::{Id, IssueStatus, Workflow};

#[test]
fn create_op_register_writes_and_workflow_heads() {
    let issue = Id::from_u128(7);
    let (mut a, mut b) = (OpBuilder::new(1), OpBuilder::new(2));
    let create = a
        .create(
            EntityKind::Issue,
            issue,
            vec![(1, b"t".to_vec()), (9, vec![IssueStatus::Submitted.code()])],
        )
        .unwrap();
    let mut s = State::new();
    s.apply(create.clone());
    assert_eq!(s.create_op(EntityKind::Issue, issue), Some(create.id()));
    assert_eq!(s.create_op(EntityKind::Issue, Id::from_u128(8)), None);
    // The create wrote the title; two concurrent writes then both survive.
    assert_eq!(
        s.register_writes(EntityKind::Issue, issue, 1),
        vec![create.id()]
    );
    let x = a
        .set(EntityKind::Issue, issue, 1, b"x".to_vec(), &[create.id()])
        .unwrap();
    let y = b
        .set(EntityKind::Issue, issue, 1, b"y".to_vec(), &[create.id()])
        .unwrap();
    s.apply(x.clone());
    s.apply(y.clone());
    let mut both = vec![x.id(), y.id()];
    both.sort_by_key(|id| s.op(*id).unwrap().envelope().hlc);
    assert_eq!(s.register_writes(EntityKind::Issue, issue, 1), both);
    // Workflow heads: none before a step; then the latest step of a chain.
    assert!(s.workflow_heads(EntityKind::Issue, issue, 9).is_empty());
    let t1 = a
        .transition(EntityKind::Issue, issue, 9, 1, 2, &[])
        .unwrap();
    s.apply(t1.clone());
    assert_eq!(s.workflow_heads(EntityKind::Issue, issue, 9), vec![t1.id()]);
    let t2 = a
        .transition(EntityKind::Issue, issue, 9, 2, 5, &[t1.id()])
        .unwrap();
    s.apply(t2.clone());
    assert_eq!(s.workflow_heads(EntityKind::Issue, issue, 9), vec![t2.id()]);
    // Not a register, not a workflow: nothing.
    assert!(s.register_writes(EntityKind::Issue, issue, 9).is_empty());
    assert!(s.workflow_heads(EntityKind::Issue, issue, 1).is_empty());
}
