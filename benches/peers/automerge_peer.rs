//! Automerge (crate `automerge`) as WORKLOAD.md drives it: one document, a root map
//! `issues` → one map per record (scalar fields: strings for the text, unsigned integers,
//! a timestamp for `updated`) with a nested map of supporters (person id in decimal →
//! `true`); one commit per record and per edit (its time the edit's, in seconds); sync with
//! `sync::State` kept between the initial and the incremental sync, every message encoded
//! and decoded as on a wire, looping until neither side has a message.

use std::collections::BTreeMap;

use automerge::sync::{Message, State, SyncDoc};
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, Automerge, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};
use kenesh_workload::{Change, Edit, Edits, Model, Record, RecordId};

use super::{Exchange, Run, key, matches, measured, parse_key};

/// The server's actor id (16 bytes, as a random UUID would be).
const SERVER: [u8; 16] = [0x53; 16];
/// The kiosk's actor id.
const KIOSK: [u8; 16] = [0x4b; 16];

/// One replica and its sync state with the other side.
pub struct Replica {
    /// The document.
    pub doc: Automerge,
    /// The sync state kept for the other side.
    pub state: State,
}

impl Replica {
    fn new(actor: [u8; 16]) -> Self {
        Replica {
            doc: Automerge::new().with_actor(ActorId::from(&actor[..])),
            state: State::new(),
        }
    }
}

fn issues(doc: &Automerge) -> Option<ObjId> {
    match doc.get(ROOT, "issues").expect("root readable")? {
        (Value::Object(ObjType::Map), id) => Some(id),
        _ => None,
    }
}

fn put_record(tx: &mut impl Transactable, issues: &ObjId, r: &Record) {
    let o = tx
        .put_object(issues, key(&r.id), ObjType::Map)
        .expect("put record");
    tx.put(&o, "municipality", u64::from(r.municipality))
        .unwrap();
    tx.put(&o, "title", r.title.as_str()).unwrap();
    tx.put(&o, "description", r.description.as_str()).unwrap();
    tx.put(&o, "category", u64::from(r.category)).unwrap();
    tx.put(&o, "status", u64::from(r.status)).unwrap();
    let s = tx.put_object(&o, "supporters", ObjType::Map).unwrap();
    for p in &r.supporters {
        tx.put(&s, p.to_string(), true).unwrap();
    }
    tx.put(&o, "updated", ScalarValue::Timestamp(r.updated as i64))
        .unwrap();
}

fn commit_time(at: u64) -> CommitOptions {
    CommitOptions::default().with_time((at / 1_000) as i64)
}

/// A server document holding `records`, each created by its own commit.
pub fn server(records: &[Record]) -> Replica {
    let mut side = Replica::new(SERVER);
    let mut root = None;
    for r in records {
        let mut tx = side.doc.transaction();
        let issues = match &root {
            Some(id) => id,
            None => root.insert(tx.put_object(ROOT, "issues", ObjType::Map).unwrap()),
        };
        put_record(&mut tx, issues, r);
        tx.commit_with(commit_time(r.updated));
    }
    side
}

/// Applies one side's edits, one commit each.
pub fn edit(side: &mut Replica, edits: &[Edit]) {
    let issues = issues(&side.doc).expect("synced before editing");
    for e in edits {
        let record = match &e.change {
            Change::NewRecord(_) => None,
            c => Some(
                side.doc
                    .get(&issues, key(&c.record()))
                    .unwrap()
                    .expect("edited record held")
                    .1,
            ),
        };
        let mut tx = side.doc.transaction();
        match (&e.change, record) {
            (Change::NewRecord(r), _) => put_record(&mut tx, &issues, r),
            (Change::SetStatus { status, .. }, Some(o)) => {
                tx.put(&o, "status", u64::from(*status)).unwrap();
                tx.put(&o, "updated", ScalarValue::Timestamp(e.at as i64))
                    .unwrap();
            }
            (Change::AddSupporter { supporter, .. }, Some(o)) => {
                let s = match tx.get(&o, "supporters").unwrap() {
                    Some((Value::Object(ObjType::Map), s)) => s,
                    _ => panic!("supporters map"),
                };
                tx.put(&s, supporter.to_string(), true).unwrap();
                tx.put(&o, "updated", ScalarValue::Timestamp(e.at as i64))
                    .unwrap();
            }
            _ => unreachable!(),
        }
        tx.commit_with(commit_time(e.at));
    }
}

/// Syncs until neither side has a message; the kiosk starts. Every message is encoded,
/// counted and decoded.
///
/// Messages alternate, so each is a flight of its own (kiosk → server → kiosk → …). Round
/// trips count the flights until the last one that carries changes, two to a round trip
/// (rounded up); `flights` counts them all. With the sync state kept from the initial sync,
/// the kiosk's first message already carries its changes, the server answers with its own,
/// and the kiosk closes with an acknowledgement: three flights, of which two carry data.
/// WORKLOAD.md's "2 round trips" is the three flights counted whole (⌈3 / 2⌉).
pub fn exchange(kiosk: &mut Replica, server: &mut Replica) -> Exchange {
    let mut x = Exchange::default();
    let mut flights = 0;
    let mut last_with_changes: usize = 0;
    let ((), cost) = measured(|| {
        loop {
            let up = kiosk.doc.generate_sync_message(&mut kiosk.state).map(|m| {
                flights += 1;
                if !m.changes.is_empty() {
                    last_with_changes = flights;
                }
                m.encode()
            });
            if let Some(bytes) = &up {
                x.up += bytes.len();
                x.messages += 1;
                let m = Message::decode(bytes).expect("decodes");
                server
                    .doc
                    .receive_sync_message(&mut server.state, m)
                    .expect("applies");
            }
            let down = server
                .doc
                .generate_sync_message(&mut server.state)
                .map(|m| {
                    flights += 1;
                    if !m.changes.is_empty() {
                        last_with_changes = flights;
                    }
                    m.encode()
                });
            if let Some(bytes) = &down {
                x.down += bytes.len();
                x.messages += 1;
                let m = Message::decode(bytes).expect("decodes");
                kiosk
                    .doc
                    .receive_sync_message(&mut kiosk.state, m)
                    .expect("applies");
            }
            if up.is_none() && down.is_none() {
                break;
            }
        }
    });
    x.cpu = cost.cpu;
    x.peak = cost.peak;
    x.round_trips = last_with_changes.div_ceil(2);
    x.flights = flights;
    x
}

fn uint(doc: &Automerge, o: &ObjId, field: &str) -> u64 {
    match doc.get(o, field).unwrap() {
        Some((Value::Scalar(v), _)) => match v.as_ref() {
            ScalarValue::Uint(n) => *n,
            ScalarValue::Timestamp(n) => *n as u64,
            other => panic!("{field}: {other:?}"),
        },
        other => panic!("{field}: {other:?}"),
    }
}

fn string(doc: &Automerge, o: &ObjId, field: &str) -> String {
    match doc.get(o, field).unwrap() {
        Some((Value::Scalar(v), _)) => match v.as_ref() {
            ScalarValue::Str(s) => s.to_string(),
            other => panic!("{field}: {other:?}"),
        },
        other => panic!("{field}: {other:?}"),
    }
}

/// The records a document holds.
pub fn contents(doc: &Automerge) -> BTreeMap<RecordId, Record> {
    let Some(issues) = issues(doc) else {
        return BTreeMap::new();
    };
    doc.keys(&issues)
        .map(|k| {
            let o = doc.get(&issues, &k).unwrap().expect("listed").1;
            let s = doc.get(&o, "supporters").unwrap().expect("supporters").1;
            let mut supporters: Vec<u64> = doc.keys(&s).map(|p| p.parse().unwrap()).collect();
            supporters.sort_unstable();
            let r = Record {
                id: parse_key(&k).expect("a record key"),
                municipality: uint(doc, &o, "municipality") as u32,
                title: string(doc, &o, "title"),
                description: string(doc, &o, "description"),
                category: uint(doc, &o, "category") as u8,
                status: uint(doc, &o, "status") as u8,
                supporters,
                updated: uint(doc, &o, "updated"),
            };
            (r.id, r)
        })
        .collect()
}

/// What a side holds durably: its document as `save()` writes it (what an Automerge app
/// persists).
pub fn stored(side: &Replica) -> usize {
    side.doc.save().len()
}

fn check(x: &mut Exchange, kiosk: &Replica, server: &Replica, model: &Model) {
    x.stored = stored(kiosk);
    x.stored_server = stored(server);
    let k = contents(&kiosk.doc);
    let mut heads = (kiosk.doc.get_heads(), server.doc.get_heads());
    heads.0.sort();
    heads.1.sort();
    x.same = heads.0 == heads.1 && k == contents(&server.doc);
    x.model = matches(model, &k);
}

/// One run: the initial sync of an empty kiosk, then both sides' `edits` and their sync,
/// with the sync states kept.
pub fn run(initial: &[Record], edits: &Edits) -> Run {
    let mut server = server(initial);
    let mut kiosk = Replica::new(KIOSK);
    let mut model = Model::new(initial);
    let mut first = exchange(&mut kiosk, &mut server);
    check(&mut first, &kiosk, &server, &model);
    edit(&mut kiosk, &edits.kiosk);
    edit(&mut server, &edits.server);
    let mut then = exchange(&mut kiosk, &mut server);
    edits
        .kiosk
        .iter()
        .chain(&edits.server)
        .for_each(|e| model.apply(e));
    check(&mut then, &kiosk, &server, &model);
    Run {
        initial: first,
        edits: then,
    }
}

/// What the server's document of `records` takes saved: `save()` (columns deflated) and
/// `save_nocompress()`.
pub fn saved(records: &[Record]) -> (usize, usize) {
    let s = server(records);
    (s.doc.save().len(), s.doc.save_nocompress().len())
}
