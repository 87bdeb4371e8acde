//! Schema evolution: ops made by a "future" build — a new entity kind (code 999), a new
//! field on Issue (77), a new action code (42) on a known field — pass through this build
//! byte-identical, stay out of its materialised state, are flagged `UnknownSchema`, and
//! count in its state hashes like any other op.
//!
//! The committed fixture `tests/fixtures/future_ops.bin` is a postcard `Vec<Op>` (see
//! `tests/fixtures/README.md`). Regenerate it only on purpose (it is what an old build must
//! keep accepting):
//!
//! ```text
//! cargo test -p kenesh-merge --test schema_evolution -- --ignored write_future_ops_fixture
//! ```

use kenesh_merge::{Action, Applied, CreatePayload, FlagKind, Op, OpBuilder, OpId, State, encode};
use kenesh_model::schema::EntityKind;
use kenesh_model::{Id, IssueStatus, OrganisationId, Scope, Tier, Workflow};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/future_ops.bin");

const TITLE: u16 = 1;
const STATUS: u16 = 9;
const COMMENTS: u16 = 17;
const FUTURE_KIND: u16 = 999;
const FUTURE_FIELD: u16 = 77;
const FUTURE_ACTION: Action = Action(42);

const ISSUE_ID: Id = Id::from_u128(0x1550_0000_0000_0000_0000_0000_0000_0001);
const FUTURE_ID: Id = Id::from_u128(0x9990_0000_0000_0000_0000_0000_0000_0001);

/// The ops of the fixture, as a newer build (device 21) and an ordinary one (device 22)
/// make them. Returns them with the ids of the ops this build cannot materialise.
fn future_ops() -> (Vec<Op>, Vec<OpId>) {
    let mut newer = OpBuilder::new(21);
    newer.at(1_767_225_600_000).salt(*b"future-build-slt");
    let issue = EntityKind::Issue;
    let mut ops = Vec::new();
    let mut unknown = Vec::new();
    // An ordinary create, carrying a value for the new field too.
    let create = newer
        .create(
            issue,
            ISSUE_ID,
            vec![
                (TITLE, encode("Water supply in Kara-Suu")),
                (STATUS, vec![IssueStatus::Submitted.code()]),
                (FUTURE_FIELD, encode(&(42.87_f64, 74.59_f64))),
            ],
        )
        .unwrap();
    // A write to the new field.
    let new_field = newer
        .set(
            issue,
            ISSUE_ID,
            FUTURE_FIELD,
            encode(&(42.88_f64, 74.6_f64)),
            &[create.id()],
        )
        .unwrap();
    unknown.push(new_field.id());
    // A new action on a known field (say, "pin the title").
    let new_action = newer
        .raw(
            issue.code(),
            ISSUE_ID,
            TITLE,
            FUTURE_ACTION,
            Tier::Public,
            &[create.id()],
            encode("pinned"),
        )
        .unwrap();
    unknown.push(new_action.id());
    // A new entity kind, in an organisation's scope at the sensitive tier: create, a field
    // write and a record-level action.
    newer.scope(Scope::Organisation(OrganisationId(Id::from_u128(0x0260))));
    let future_create = newer
        .raw(
            FUTURE_KIND,
            FUTURE_ID,
            0,
            Action::CREATE,
            Tier::Sensitive,
            &[],
            encode(&CreatePayload {
                fields: vec![(1, encode("a kind from the future"))],
            }),
        )
        .unwrap();
    unknown.push(future_create.id());
    let future_set = newer
        .raw(
            FUTURE_KIND,
            FUTURE_ID,
            1,
            Action::SET,
            Tier::Sensitive,
            &[future_create.id()],
            encode("still from the future"),
        )
        .unwrap();
    unknown.push(future_set.id());
    let future_tomb = newer
        .raw(
            FUTURE_KIND,
            FUTURE_ID,
            0,
            Action::TOMBSTONE,
            Tier::Sensitive,
            &[],
            Vec::new(),
        )
        .unwrap();
    unknown.push(future_tomb.id());
    ops.extend([
        create.clone(),
        new_field,
        new_action,
        future_create,
        future_set,
        future_tomb,
    ]);

    // Ordinary ops from an ordinary device.
    let mut old = OpBuilder::new(22);
    old.at(1_767_225_660_000).salt(*b"ordinary-salt-01");
    ops.push(
        old.set(
            issue,
            ISSUE_ID,
            TITLE,
            encode("Water supply, Kara-Suu"),
            &[create.id()],
        )
        .unwrap(),
    );
    ops.push(
        old.append(issue, ISSUE_ID, COMMENTS, encode("The pump is broken"))
            .unwrap(),
    );
    ops.push(
        old.transition(
            issue,
            ISSUE_ID,
            STATUS,
            IssueStatus::Submitted.code(),
            IssueStatus::Published.code(),
            &[],
        )
        .unwrap(),
    );
    // And the new field written by the old device's peer again (concurrently).
    ops.push(
        old.raw(
            issue.code(),
            ISSUE_ID,
            FUTURE_FIELD,
            Action::SET,
            Tier::Public,
            &[],
            encode(&(0.0_f64, 0.0_f64)),
        )
        .unwrap(),
    );
    unknown.push(ops.last().unwrap().id());
    unknown.sort();
    (ops, unknown)
}

/// Writes the fixture: the ops in the order a state holds them (by id), so that
/// re-encoding a state's ops gives the file's bytes.
#[test]
#[ignore = "writes tests/fixtures/future_ops.bin; run on purpose"]
fn write_future_ops_fixture() {
    let (ops, _) = future_ops();
    let mut s = State::new();
    for op in ops {
        s.apply(op);
    }
    let held: Vec<Op> = s.all_ops().collect();
    let bytes = postcard::to_allocvec(&held).unwrap();
    std::fs::create_dir_all(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures")).unwrap();
    std::fs::write(FIXTURE, bytes).unwrap();
}

fn load() -> (Vec<u8>, Vec<Op>) {
    let bytes = std::fs::read(FIXTURE).expect("the committed fixture");
    let ops: Vec<Op> = postcard::from_bytes(&bytes).expect("the fixture decodes");
    (bytes, ops)
}

/// An op's envelope bytes, payload hash, and payload bytes and salt.
type Parts = (Vec<u8>, [u8; 32], Option<(Vec<u8>, [u8; 16])>);

/// The (envelope, payload hash, payload) of each op, byte for byte.
fn parts<'a>(ops: impl IntoIterator<Item = &'a Op>) -> Vec<Parts> {
    ops.into_iter()
        .map(|o| {
            (
                o.envelope_bytes(),
                o.payload_hash(),
                o.payload().map(|p| (p.bytes.clone(), p.salt)),
            )
        })
        .collect()
}

#[test]
fn future_ops_pass_through_byte_identical_and_stay_out_of_the_state() {
    let (bytes, ops) = load();
    assert_eq!(ops.len(), 10);
    let (_, unknown) = future_ops();
    let mut s = State::new();
    for op in &ops {
        let outcome = s.apply(op.clone());
        if unknown.contains(&op.id()) {
            assert_eq!(outcome, Applied::Flagged(FlagKind::UnknownSchema), "{op:?}");
        } else {
            assert_eq!(outcome, Applied::Applied, "{op:?}");
        }
    }
    // Every op comes out as it went in: envelope bytes, payload hash, payload.
    let held: Vec<Op> = s.all_ops().collect();
    assert_eq!(parts(&held), parts(&ops));
    assert_eq!(postcard::to_allocvec(&held).unwrap(), bytes);
    // Each envelope is also accepted as received bytes, unchanged.
    for op in &ops {
        let again = Op::from_parts(
            &op.envelope_bytes(),
            op.payload_hash(),
            op.payload().cloned(),
        )
        .unwrap();
        assert_eq!(again.envelope_bytes(), op.envelope_bytes());
    }

    // Nothing of the unknown ones is materialised.
    let snapshot = s.snapshot();
    assert!(snapshot.records.iter().all(|r| r.kind != FUTURE_KIND));
    assert_eq!(snapshot.records.len(), 1);
    let issue = s.record(EntityKind::Issue, ISSUE_ID).unwrap();
    assert!(!issue.fields.contains_key(&FUTURE_FIELD));
    let keys: Vec<u16> = issue.fields.keys().copied().collect();
    assert_eq!(keys, vec![TITLE, STATUS, COMMENTS]);
    // The known ones are: the title is the ordinary device's (the new action on the title
    // did not touch it), the status moved, the comment is there.
    assert!(matches!(
        s.field(EntityKind::Issue, ISSUE_ID, TITLE),
        Some(kenesh_merge::FieldValue::Register { value: Some(v), survivors: 1, .. })
            if v == encode("Water supply, Kara-Suu")
    ));
    assert!(matches!(
        s.field(EntityKind::Issue, ISSUE_ID, STATUS),
        Some(kenesh_merge::FieldValue::Workflow {
            state: 2,
            refused: 0
        })
    ));
    // Flagged: exactly the unknown ones.
    let flags = s.flags();
    assert!(flags.iter().all(|f| f.kind == FlagKind::UnknownSchema));
    assert_eq!(flags.iter().map(|f| f.op).collect::<Vec<_>>(), unknown);

    // A second replica receiving everything from the first holds the same state and the
    // same hashes, including the (organisation, sensitive) hash only unknown ops fill.
    let mut second = State::new();
    for op in s.all_ops() {
        second.apply(op.clone());
    }
    assert_eq!(second.state_hashes(), s.state_hashes());
    assert_eq!(second.state_hashes().len(), 3);
    assert_eq!(second.snapshot(), snapshot);
    let forwarded: Vec<Op> = second.all_ops().collect();
    assert_eq!(postcard::to_allocvec(&forwarded).unwrap(), bytes);
    // Without the unknown ops, the hashes differ: they are counted.
    let mut without = State::new();
    for op in ops.iter().filter(|o| !unknown.contains(&o.id())) {
        without.apply(op.clone());
    }
    assert_ne!(without.state_hashes(), s.state_hashes());
    // In reverse order, the same.
    let mut reversed = State::new();
    for op in ops.iter().rev() {
        reversed.apply(op.clone());
    }
    assert_eq!(reversed, s);
    // Saved and loaded, still byte-identical.
    let saved = postcard::to_allocvec(&s).unwrap();
    let loaded: State = postcard::from_bytes(&saved).unwrap();
    let held: Vec<Op> = loaded.all_ops().collect();
    assert_eq!(postcard::to_allocvec(&held).unwrap(), bytes);
}

/// The fixture's ops are what the generator describes (so the fixture is not stale or
/// truncated): same ids, same kinds, fields and actions.
#[test]
fn fixture_matches_its_description() {
    let (_, ops) = load();
    let (made, _) = future_ops();
    let mut made: Vec<(OpId, u16, u16, Action)> = made
        .iter()
        .map(|o| {
            let e = o.envelope();
            (o.id(), e.kind, e.field, e.action)
        })
        .collect();
    made.sort();
    let held: Vec<(OpId, u16, u16, Action)> = ops
        .iter()
        .map(|o| {
            let e = o.envelope();
            (o.id(), e.kind, e.field, e.action)
        })
        .collect();
    assert_eq!(held, made);
    assert!(held.iter().any(|h| h.1 == FUTURE_KIND));
    assert!(held.iter().any(|h| h.1 == 7 && h.2 == FUTURE_FIELD));
    assert!(held.iter().any(|h| h.3 == FUTURE_ACTION));
}
