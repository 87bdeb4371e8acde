//! Conformance vectors: `tests/vectors/*.json`, each a set of ops with the canonical state
//! they merge to (as `State::snapshot()` JSON) and the state hashes. See
//! `tests/vectors/README.md` for the format and how a partner checks them.
//!
//! The check reads every file, applies its ops in file order, in reverse and shuffled, and
//! compares the snapshot with the committed JSON exactly. The generator is `#[ignore]`d:
//!
//! ```text
//! cargo test -p kenesh-merge --test vectors -- --ignored write_vectors
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kenesh_merge::{Action, CreatePayload, Op, OpBuilder, OpId, Payload, State, encode, hex};
use kenesh_model::schema::EntityKind;
use kenesh_model::{CaseStatus, Id, IssueStatus, OrganisationId, PersonId, Scope, Tier, Workflow};
use serde_json::{Value, json};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors");
const T0: u64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

const ISSUE: EntityKind = EntityKind::Issue;
const CASE: EntityKind = EntityKind::LegalCase;
const TITLE: u16 = 1;
const DESCRIPTION: u16 = 2;
const CATEGORY: u16 = 3;
const STATUS: u16 = 9;
const SUPPORTERS: u16 = 14;
const COMMENTS: u16 = 17;
const CASE_STATUS: u16 = 4;
const ADVOCATE: u16 = 3;

/// The vectors every build must agree on; a file is checked whatever its name, but these
/// must be among them.
const REQUIRED: [&str; 6] = [
    "register_conflict",
    "set_add_wins",
    "log_order",
    "workflow_stale_reopen",
    "erase",
    "unknown_schema",
];

// ---------------------------------------------------------------------------------------
// Hex (local: the crate only encodes).
// ---------------------------------------------------------------------------------------

fn unhex(s: &str) -> Vec<u8> {
    fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => panic!("not hex: {c:?}"),
        }
    }
    let b = s.as_bytes();
    assert!(b.len().is_multiple_of(2), "odd hex length");
    b.chunks(2)
        .map(|p| (nibble(p[0]) << 4) | nibble(p[1]))
        .collect()
}

#[test]
fn hex_round_trips() {
    let all: Vec<u8> = (0..=255).collect();
    assert_eq!(unhex(&hex(&all)), all);
    assert_eq!(unhex("00fFa0"), vec![0, 0xff, 0xa0]);
}

// ---------------------------------------------------------------------------------------
// The vectors.
// ---------------------------------------------------------------------------------------

struct Vector {
    name: &'static str,
    description: &'static str,
    ops: Vec<Op>,
}

fn register_conflict() -> Vector {
    let id = Id::from_u128(0x0001);
    let mut desk = OpBuilder::new(1);
    desk.at(T0);
    let create = desk
        .create(
            ISSUE,
            id,
            vec![
                (TITLE, b"Broken street lights".to_vec()),
                (DESCRIPTION, b"Three lamps out".to_vec()),
                (CATEGORY, vec![4]),
            ],
        )
        .unwrap();
    let (mut a, mut b) = (OpBuilder::new(2), OpBuilder::new(3));
    a.at(T0 + 60_000);
    b.at(T0 + 30_000);
    let ops = vec![
        create.clone(),
        // Title (flagged): concurrent, different HLCs.
        a.set(
            ISSUE,
            id,
            TITLE,
            b"Street lights on Lenin st.".to_vec(),
            &[create.id()],
        )
        .unwrap(),
        b.set(
            ISSUE,
            id,
            TITLE,
            b"Lights out, Lenin street".to_vec(),
            &[create.id()],
        )
        .unwrap(),
        // Category (not flagged): concurrent, no conflict recorded.
        a.set(ISSUE, id, CATEGORY, vec![5], &[create.id()]).unwrap(),
        b.set(ISSUE, id, CATEGORY, vec![6], &[create.id()]).unwrap(),
    ];
    // Description (flagged): equal HLCs, the larger origin shows; then a third write that
    // saw both resolves it.
    let (mut c, mut d) = (OpBuilder::new(4), OpBuilder::new(5));
    c.at(T0 + 90_000);
    d.at(T0 + 90_000);
    let dc = c
        .set(
            ISSUE,
            id,
            DESCRIPTION,
            b"Three lamps".to_vec(),
            &[create.id()],
        )
        .unwrap();
    let dd = d
        .set(
            ISSUE,
            id,
            DESCRIPTION,
            b"Four lamps".to_vec(),
            &[create.id()],
        )
        .unwrap();
    let mut ops = ops;
    ops.extend([dc.clone(), dd.clone()]);
    // A second issue whose description conflict is resolved by a write superseding both.
    let id2 = Id::from_u128(0x0002);
    let create2 = desk
        .create(ISSUE, id2, vec![(DESCRIPTION, b"d".to_vec())])
        .unwrap();
    let x = c
        .set(ISSUE, id2, DESCRIPTION, b"x".to_vec(), &[create2.id()])
        .unwrap();
    let y = d
        .set(ISSUE, id2, DESCRIPTION, b"y".to_vec(), &[create2.id()])
        .unwrap();
    let z = desk
        .set(ISSUE, id2, DESCRIPTION, b"z".to_vec(), &[x.id(), y.id()])
        .unwrap();
    ops.extend([create2, x, y, z]);
    Vector {
        name: "register_conflict",
        description: "Registers. Issue 1: two concurrent title writes (flagged field) give one \
                      conflict listing both candidates in (HLC, origin, seq) order, the largest \
                      shown (2:1); two concurrent description writes with equal HLCs, the larger \
                      origin shown (5:1); two concurrent category writes (unflagged) show the \
                      largest (2:2) with 2 survivors and no conflict. Issue 2: a write \
                      superseding both concurrent writes resolves the conflict (1 survivor).",
        ops,
    }
}

fn set_add_wins() -> Vector {
    let id = Id::from_u128(0x0010);
    let mut a = OpBuilder::new(1);
    a.at(T0);
    let create = a.create(ISSUE, id, vec![]).unwrap();
    let add_x = a.add(ISSUE, id, SUPPORTERS, b"x".to_vec()).unwrap();
    let add_y = a.add(ISSUE, id, SUPPORTERS, b"y".to_vec()).unwrap();
    let add_z = a.add(ISSUE, id, SUPPORTERS, b"z".to_vec()).unwrap();
    let mut b = OpBuilder::new(2);
    b.at(T0 + 5_000);
    // b saw add_x and removes x, while a adds x again: x stays.
    let remove_x = b
        .remove(ISSUE, id, SUPPORTERS, b"x".to_vec(), &[add_x.id()])
        .unwrap();
    let readd_x = a.add(ISSUE, id, SUPPORTERS, b"x".to_vec()).unwrap();
    // b saw add_y and removes y: y goes.
    let remove_y = b
        .remove(ISSUE, id, SUPPORTERS, b"y".to_vec(), &[add_y.id()])
        .unwrap();
    // A remove of z that saw no add of it: z stays.
    let remove_z = b.remove(ISSUE, id, SUPPORTERS, b"z".to_vec(), &[]).unwrap();
    // w added twice, concurrently; a remove that saw only one add leaves it.
    let mut c = OpBuilder::new(3);
    c.at(T0 + 1_000);
    let add_w1 = a.add(ISSUE, id, SUPPORTERS, b"w".to_vec()).unwrap();
    let add_w2 = c.add(ISSUE, id, SUPPORTERS, b"w".to_vec()).unwrap();
    let remove_w = c
        .remove(ISSUE, id, SUPPORTERS, b"w".to_vec(), &[add_w2.id()])
        .unwrap();
    Vector {
        name: "set_add_wins",
        description: "Add-wins set (Issue supporters). x: removed by a device that saw its first \
                      add, re-added concurrently: present. y: removed by a device that saw its \
                      add: absent. z: a remove that saw no add: present. w: added on two devices, \
                      removed by one that saw only its own add: present.",
        ops: vec![
            create, add_x, add_y, add_z, remove_x, readd_x, remove_y, remove_z, add_w1, add_w2,
            remove_w,
        ],
    }
}

fn log_order() -> Vector {
    let id = Id::from_u128(0x0020);
    let mut a = OpBuilder::new(1);
    a.at(T0 + 10_000);
    let create = a
        .create(
            ISSUE,
            id,
            vec![
                (COMMENTS, b"first, in the create".to_vec()),
                (COMMENTS, b"second, in the create".to_vec()),
            ],
        )
        .unwrap();
    let (mut b, mut c) = (OpBuilder::new(2), OpBuilder::new(3));
    // b's clock is behind: its comment sorts before the create's entries.
    b.at(T0);
    c.at(T0 + 20_000);
    a.at(T0 + 20_000);
    let ops = vec![
        create,
        b.append(ISSUE, id, COMMENTS, b"from b, clock behind".to_vec())
            .unwrap(),
        c.append(ISSUE, id, COMMENTS, b"from c".to_vec()).unwrap(),
        // Same HLC as c's: the smaller origin (1) first.
        a.append(ISSUE, id, COMMENTS, b"from a, same HLC as c".to_vec())
            .unwrap(),
        a.append(ISSUE, id, COMMENTS, b"from a, next counter".to_vec())
            .unwrap(),
        c.append(ISSUE, id, COMMENTS, b"from c, next counter".to_vec())
            .unwrap(),
    ];
    Vector {
        name: "log_order",
        description: "Grow-only log (Issue comments), ordered by (HLC, origin, seq), entries of \
                      one create in payload order: b's comment (earliest HLC), the create's two \
                      entries, then at the same HLC 1:2 before 3:1, then 1:3, 3:2.",
        ops,
    }
}

fn workflow_stale_reopen() -> Vector {
    // An issue moved from `submitted` by two devices that did not see each other.
    let issue = Id::from_u128(0x0030);
    let mut desk = OpBuilder::new(1);
    desk.at(T0);
    let create = desk
        .create(
            ISSUE,
            issue,
            vec![(STATUS, vec![IssueStatus::Submitted.code()])],
        )
        .unwrap();
    let (mut a, mut b) = (OpBuilder::new(2), OpBuilder::new(3));
    a.at(T0 + 1_000);
    b.at(T0 + 2_000);
    let publish = a
        .transition(
            ISSUE,
            issue,
            STATUS,
            IssueStatus::Submitted.code(),
            IssueStatus::Published.code(),
            &[],
        )
        .unwrap();
    let reject = b
        .transition(
            ISSUE,
            issue,
            STATUS,
            IssueStatus::Submitted.code(),
            IssueStatus::ClosedUnresolved.code(),
            &[],
        )
        .unwrap();
    // A legal case closed, reopened by a reopen that supersedes the close (with an older
    // clock), and a second reopen that did not see the close (flagged).
    let case = Id::from_u128(0x0031);
    let mut office = OpBuilder::new(4);
    office.at(T0);
    let open = office
        .create(
            CASE,
            case,
            vec![
                (CASE_STATUS, vec![CaseStatus::Opened.code()]),
                (ADVOCATE, b"advocate-1".to_vec()),
            ],
        )
        .unwrap();
    let assign = office
        .transition(
            CASE,
            case,
            CASE_STATUS,
            CaseStatus::Opened.code(),
            CaseStatus::AdvocateAssigned.code(),
            &[],
        )
        .unwrap();
    let stages = office
        .transition(
            CASE,
            case,
            CASE_STATUS,
            CaseStatus::AdvocateAssigned.code(),
            CaseStatus::InStages.code(),
            &[assign.id()],
        )
        .unwrap();
    office.at(T0 + 10_000);
    let close = office
        .transition(
            CASE,
            case,
            CASE_STATUS,
            CaseStatus::InStages.code(),
            CaseStatus::Closed.code(),
            &[stages.id()],
        )
        .unwrap();
    let mut coordinator = OpBuilder::new(5);
    coordinator.at(T0 + 5_000);
    let reopen = coordinator
        .reopen(CASE, case, CASE_STATUS, close.id())
        .unwrap();
    let mut blind = OpBuilder::new(6);
    blind.at(T0 + 20_000);
    let stale_reopen = blind.reopen(CASE, case, CASE_STATUS, stages.id()).unwrap();
    // An advocate change after the close: the field changes, the status does not.
    let advocate = blind
        .set(CASE, case, ADVOCATE, b"advocate-2".to_vec(), &[open.id()])
        .unwrap();
    Vector {
        name: "workflow_stale_reopen",
        description: "Workflows. Issue: two transitions from `submitted` made without seeing each \
                      other; the earlier (HLC, origin, seq) applies (published = 2), the other \
                      is flagged Stale. Legal case: opened → advocate_assigned → in_stages → \
                      closed; a reopen superseding the close (older clock) reopens to \
                      advocate_assigned (2); a reopen superseding only in_stages replays after \
                      it and is flagged Reopen; an advocate write does not change the status.",
        ops: vec![
            create,
            publish,
            reject,
            open,
            assign,
            stages,
            close,
            reopen,
            stale_reopen,
            advocate,
        ],
    }
}

fn erase() -> Vector {
    let person = PersonId(Id::from_u128(0x0040));
    let issue = Id::from_u128(0x0041);
    let mut registrar = OpBuilder::new(1);
    registrar.at(T0).salt([0x11; 16]);
    registrar.persons(&[person]);
    let create_person = registrar
        .create(
            EntityKind::Person,
            person.0,
            vec![
                (1, encode("Айгүл CANARY-Жапаров-7f3a")),
                (8, encode("+996 555 000 111")),
            ],
        )
        .unwrap();
    registrar.persons(&[]);
    let mut ngo = OpBuilder::new(2);
    ngo.at(T0 + 1_000)
        .salt([0x22; 16])
        .scope(Scope::Organisation(OrganisationId(Id::from_u128(0x0260))));
    let create_issue = ngo
        .create(ISSUE, issue, vec![(TITLE, encode("Road to the school"))])
        .unwrap();
    ngo.persons(&[person]);
    let comment = ngo
        .append(ISSUE, issue, COMMENTS, encode("CANARY-Жапаров-7f3a: when?"))
        .unwrap();
    let support = ngo
        .add(ISSUE, issue, SUPPORTERS, person.0.0.to_vec())
        .unwrap();
    ngo.persons(&[]);
    let other = ngo
        .append(ISSUE, issue, COMMENTS, encode("someone else"))
        .unwrap();
    registrar.at(T0 + 2_000);
    let erase = registrar.erase(person).unwrap();
    ngo.persons(&[person]).at(T0 + 3_000);
    let late = ngo
        .append(ISSUE, issue, COMMENTS, encode("late CANARY-Жапаров-7f3a"))
        .unwrap();
    Vector {
        name: "erase",
        description: "Erasure. A person's create, a comment and a support naming them, an \
                      unrelated comment, the erase, and a comment naming them that comes after \
                      the erase. Every payload naming the person is gone from the state (values \
                      null, the support a hidden add, the person record without fields), \
                      whatever the order; envelopes and payload hashes stay, so the state \
                      hashes are those of the ops with their payloads.",
        ops: vec![
            create_person,
            create_issue,
            comment,
            support,
            other,
            erase,
            late,
        ],
    }
}

fn unknown_schema() -> Vector {
    let issue = Id::from_u128(0x0050);
    let mut newer = OpBuilder::new(1);
    newer.at(T0).salt([0x33; 16]);
    let create = newer
        .create(
            ISSUE,
            issue,
            vec![(TITLE, encode("Bus stop")), (77, encode("a future field"))],
        )
        .unwrap();
    let new_field = newer
        .raw(
            ISSUE.code(),
            issue,
            77,
            Action::SET,
            Tier::Public,
            &[],
            encode("77"),
        )
        .unwrap();
    let new_action = newer
        .raw(
            ISSUE.code(),
            issue,
            TITLE,
            Action(42),
            Tier::Public,
            &[create.id()],
            encode("pinned"),
        )
        .unwrap();
    let new_kind = newer
        .raw(
            999,
            Id::from_u128(0x0051),
            0,
            Action::CREATE,
            Tier::Sensitive,
            &[],
            encode(&CreatePayload {
                fields: vec![(1, b"x".to_vec())],
            }),
        )
        .unwrap();
    let new_kind_set = newer
        .raw(
            999,
            Id::from_u128(0x0051),
            1,
            Action::SET,
            Tier::Sensitive,
            &[new_kind.id()],
            b"y".to_vec(),
        )
        .unwrap();
    let retitle = newer
        .set(
            ISSUE,
            issue,
            TITLE,
            encode("Bus stop no. 4"),
            &[create.id()],
        )
        .unwrap();
    Vector {
        name: "unknown_schema",
        description: "Ops of a newer schema: a new field (Issue 77, also in the create payload), a \
                      new action (42) on the Issue title, a new entity kind (999). They are held \
                      and counted in the state hashes, flagged UnknownSchema, and not \
                      materialised: no kind 999 record, no field 77, the title untouched by \
                      action 42.",
        ops: vec![
            create,
            new_field,
            new_action,
            new_kind,
            new_kind_set,
            retitle,
        ],
    }
}

fn tombstone_concurrent() -> Vector {
    let id = Id::from_u128(0x0060);
    let mut desk = OpBuilder::new(1);
    desk.at(T0);
    let create = desk
        .create(
            ISSUE,
            id,
            vec![
                (TITLE, b"Bridge".to_vec()),
                (STATUS, vec![IssueStatus::Submitted.code()]),
            ],
        )
        .unwrap();
    let tomb = desk.tombstone(ISSUE, id).unwrap();
    let mut editor = OpBuilder::new(2);
    editor.at(T0 + 1_000);
    let ops = vec![
        create.clone(),
        tomb,
        editor
            .set(
                ISSUE,
                id,
                TITLE,
                b"Bridge over the Chu".to_vec(),
                &[create.id()],
            )
            .unwrap(),
        editor
            .append(ISSUE, id, COMMENTS, b"still broken".to_vec())
            .unwrap(),
        editor
            .transition(
                ISSUE,
                id,
                STATUS,
                IssueStatus::Submitted.code(),
                IssueStatus::Published.code(),
                &[],
            )
            .unwrap(),
    ];
    Vector {
        name: "tombstone_concurrent",
        description: "A tombstone concurrent with edits: the record is tombstoned and its fields \
                      still merge (title, comment, status).",
        ops,
    }
}

fn equivocation() -> Vector {
    let id = Id::from_u128(0x0070);
    let mut kiosk = OpBuilder::new(9);
    kiosk.at(T0);
    let create = kiosk
        .create(ISSUE, id, vec![(TITLE, b"t".to_vec())])
        .unwrap();
    let mut clone = kiosk.clone();
    clone.salt([0x44; 16]);
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
    Vector {
        name: "equivocation",
        description: "The same (origin, seq) = 9:2 with different content (a cloned kiosk): both \
                      versions are held and counted in the hash, the one with the smaller op \
                      digest is materialised, and 9:2 is flagged Equivocation.",
        ops: vec![create, v1, v2],
    }
}

fn vectors() -> Vec<Vector> {
    vec![
        register_conflict(),
        set_add_wins(),
        log_order(),
        workflow_stale_reopen(),
        erase(),
        unknown_schema(),
        tombstone_concurrent(),
        equivocation(),
    ]
}

// ---------------------------------------------------------------------------------------
// Writing and checking.
// ---------------------------------------------------------------------------------------

fn scope_text(s: Scope) -> String {
    match s {
        Scope::Municipality(m) => format!("m:{}", hex(&m.0.0)),
        Scope::Organisation(o) => format!("o:{}", hex(&o.0.0)),
    }
}

fn state_hashes(s: &State) -> BTreeMap<String, String> {
    s.state_hashes()
        .into_iter()
        .map(|((scope, tier), h)| (format!("{}/{}", scope_text(scope), tier.code()), hex(&h)))
        .collect()
}

fn op_json(op: &Op) -> Value {
    json!({
        "envelope": hex(&op.envelope_bytes()),
        "payload_hash": hex(&op.payload_hash()),
        "payload": op.payload().map(|p| json!({"salt": hex(&p.salt), "bytes": hex(&p.bytes)})),
    })
}

fn op_from_json(v: &Value) -> Op {
    let envelope = unhex(v["envelope"].as_str().expect("envelope"));
    let hash: [u8; 32] = unhex(v["payload_hash"].as_str().expect("payload_hash"))
        .try_into()
        .expect("32-byte payload hash");
    let payload = match &v["payload"] {
        Value::Null => None,
        p => Some(Payload {
            salt: unhex(p["salt"].as_str().expect("salt"))
                .try_into()
                .expect("16-byte salt"),
            bytes: unhex(p["bytes"].as_str().expect("bytes")),
        }),
    };
    Op::from_parts(&envelope, hash, payload).expect("a valid op")
}

fn apply<'a>(ops: impl IntoIterator<Item = &'a Op>) -> State {
    let mut s = State::new();
    for op in ops {
        s.apply(op.clone());
    }
    s
}

#[test]
#[ignore = "writes tests/vectors/*.json; run on purpose"]
fn write_vectors() {
    std::fs::create_dir_all(DIR).unwrap();
    for v in vectors() {
        let s = apply(&v.ops);
        let doc = json!({
            "description": v.description,
            "ops": v.ops.iter().map(op_json).collect::<Vec<_>>(),
            "snapshot": serde_json::to_value(s.snapshot()).unwrap(),
            "state_hashes": state_hashes(&s),
        });
        let mut text = serde_json::to_string_pretty(&doc).unwrap();
        text.push('\n');
        std::fs::write(Path::new(DIR).join(format!("{}.json", v.name)), text).unwrap();
    }
}

fn files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(DIR)
        .expect("tests/vectors")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

#[test]
fn conformance_vectors_hold() {
    let files = files();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    for r in REQUIRED {
        assert!(names.iter().any(|n| n == r), "missing vector {r}.json");
    }
    for path in &files {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let name = path.display();
        assert!(
            doc["description"].as_str().is_some_and(|d| !d.is_empty()),
            "{name}"
        );
        let ops: Vec<Op> = doc["ops"]
            .as_array()
            .expect("ops")
            .iter()
            .map(op_from_json)
            .collect();
        assert!(!ops.is_empty(), "{name}");
        // Ops round-trip to the file's JSON exactly.
        for (op, v) in ops.iter().zip(doc["ops"].as_array().unwrap()) {
            assert_eq!(&op_json(op), v, "{name}");
        }
        let expected_hashes: BTreeMap<String, String> =
            serde_json::from_value(doc["state_hashes"].clone()).expect("state_hashes");
        assert_eq!(doc["snapshot"]["hashes"], doc["state_hashes"], "{name}");
        let n = ops.len();
        let mut orders: Vec<Vec<usize>> = vec![(0..n).collect(), (0..n).rev().collect()];
        // An interleaving: odd positions first, then even ones reversed.
        orders.push(
            (0..n)
                .filter(|i| i % 2 == 1)
                .chain((0..n).filter(|i| i % 2 == 0).rev())
                .collect(),
        );
        for order in orders {
            let s = apply(order.iter().map(|i| &ops[*i]));
            let snapshot = serde_json::to_value(s.snapshot()).unwrap();
            assert_eq!(snapshot, doc["snapshot"], "{name}, order {order:?}");
            assert_eq!(state_hashes(&s), expected_hashes, "{name}, order {order:?}");
        }
    }
}

/// The committed files are what the generator makes: the vectors describe this build.
#[test]
fn vectors_are_up_to_date() {
    for v in vectors() {
        let path = Path::new(DIR).join(format!("{}.json", v.name));
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let ops: Vec<Value> = v.ops.iter().map(op_json).collect();
        assert_eq!(doc["ops"], Value::Array(ops), "{}", v.name);
        assert_eq!(doc["description"], v.description, "{}", v.name);
    }
}

/// Spot checks of what the vectors say, so a wrong committed snapshot cannot pass.
#[test]
fn vectors_say_what_they_describe() {
    let by_name: BTreeMap<&str, State> = vectors()
        .into_iter()
        .map(|v| (v.name, apply(&v.ops)))
        .collect();
    let s = &by_name["register_conflict"];
    let c = s.conflicts();
    assert_eq!(c.len(), 2);
    assert_eq!((c[0].field, c[0].shown), (TITLE, OpId::new(2, 1)));
    assert_eq!((c[1].field, c[1].shown), (DESCRIPTION, OpId::new(5, 1)));
    let snap = serde_json::to_value(by_name["set_add_wins"].snapshot()).unwrap();
    assert_eq!(
        snap["records"][0]["fields"]["14"]["set"]["elements"],
        json!([hex(b"w"), hex(b"x"), hex(b"z")])
    );
    let snap = serde_json::to_value(by_name["log_order"].snapshot()).unwrap();
    let order: Vec<&str> = snap["records"][0]["fields"]["17"]["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e[0].as_str().unwrap())
        .collect();
    assert_eq!(order, ["2:1", "1:1", "1:1", "1:2", "3:1", "1:3", "3:2"]);
    let snap = serde_json::to_value(by_name["workflow_stale_reopen"].snapshot()).unwrap();
    assert_eq!(
        snap["records"][0]["fields"]["9"],
        json!({"workflow": {"state": 2, "refused": 1}})
    );
    assert_eq!(
        snap["records"][1]["fields"]["4"],
        json!({"workflow": {"state": 2, "refused": 1}})
    );
    let e = &by_name["erase"];
    let canary = "CANARY-Жапаров-7f3a".as_bytes();
    let bytes = postcard::to_allocvec(e).unwrap();
    assert!(!bytes.windows(canary.len()).any(|w| w == canary));
    let u = serde_json::to_value(by_name["unknown_schema"].snapshot()).unwrap();
    assert_eq!(u["records"].as_array().unwrap().len(), 1);
    assert_eq!(u["flags"].as_array().unwrap().len(), 4);
    assert!(by_name["tombstone_concurrent"].snapshot().records[0].tombstoned);
    assert_eq!(
        by_name["equivocation"].snapshot().flags,
        vec![("9:2".to_string(), "Equivocation".to_string())]
    );
}
