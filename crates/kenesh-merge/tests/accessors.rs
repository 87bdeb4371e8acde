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

/// The envelopes naming a person: exactly the ops whose envelope names them, withheld or
/// erased payloads included, in op id order; the envelope and the op held agree.
#[test]
fn envelopes_naming_a_person() {
    use kenesh_merge::Action;
    use kenesh_model::PersonId;
    let (p, q) = (PersonId(Id::from_u128(1)), PersonId(Id::from_u128(2)));
    let issue = Id::from_u128(7);
    let mut b = OpBuilder::new(1);
    let create = b
        .persons(&[p])
        .create(EntityKind::Issue, issue, vec![(1, b"t".to_vec())])
        .unwrap();
    // The builder's persons stay until changed.
    let plain = b
        .persons(&[])
        .set(EntityKind::Issue, issue, 1, b"x".to_vec(), &[create.id()])
        .unwrap();
    let both = b
        .persons(&[q, p])
        .set(EntityKind::Issue, issue, 1, b"y".to_vec(), &[plain.id()])
        .unwrap();
    let only_q = b
        .persons(&[q])
        .set(EntityKind::Issue, issue, 1, b"z".to_vec(), &[both.id()])
        .unwrap();
    let mut s = State::new();
    for op in [create.clone(), plain, both.withheld(), only_q.clone()] {
        s.apply(op);
    }
    let named: Vec<_> = s.envelopes_naming(p).map(|e| e.id()).collect();
    assert_eq!(named, vec![create.id(), both.id()]);
    let named: Vec<_> = s.envelopes_naming(q).map(|e| e.id()).collect();
    assert_eq!(named, vec![both.id(), only_q.id()]);
    for e in s.envelopes_naming(p) {
        assert_eq!(s.envelope(e.id()).as_ref(), Some(&e));
        assert_eq!(s.op(e.id()).unwrap().envelope(), &e);
    }
    assert_eq!(
        s.envelopes_naming(p).next().map(|e| e.action),
        Some(Action::CREATE)
    );
    assert_eq!(s.envelopes_naming(PersonId(Id::from_u128(3))).count(), 0);
}
