//! Yrs (crate `yrs`) as WORKLOAD.md drives it: one `Doc`, a root map `issues` → one nested
//! map per record (strings for the text, numbers for the rest, a nested map of supporters:
//! person id in decimal → `true`), one transaction per record and per edit. A sync as
//! y-sync does it: both sides send their state vector, then both send the update the other
//! lacks. One round trip, four messages; updates in the v1 or the v2 encoding, state vectors
//! in v1.

use std::collections::BTreeMap;

use kenesh_workload::{Change, Edit, Edits, Model, Record, RecordId};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Any, Doc, In, Map, MapPrelim, MapRef, Out, ReadTxn, StateVector, Transact, Update};

use super::{Exchange, Run, key, matches, measured, parse_key};

/// Which update encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// `encode_state_as_update_v1`.
    V1,
    /// `encode_state_as_update_v2`.
    V2,
}

/// The server's client id.
const SERVER: u64 = 0x5345_5256;
/// The kiosk's client id.
const KIOSK: u64 = 0x4b49_4f53;

/// One replica.
pub struct Replica {
    /// The document.
    pub doc: Doc,
    /// Its root map `issues`.
    pub issues: MapRef,
}

impl Replica {
    fn new(client: u64) -> Self {
        let doc = Doc::with_client_id(client);
        let issues = doc.get_or_insert_map("issues");
        Replica { doc, issues }
    }
}

fn number(n: u64) -> In {
    In::Any(Any::from(n as i64))
}

/// Inserts `r` under `issues`, its fields one by one in WORKLOAD.md's order (a
/// `MapPrelim` is a `HashMap`, whose order would make the bytes vary from run to run).
fn insert(issues: &MapRef, txn: &mut yrs::TransactionMut<'_>, r: &Record) {
    let m = issues.insert(txn, key(&r.id), MapPrelim::default());
    m.insert(txn, "municipality", number(u64::from(r.municipality)));
    m.insert(txn, "title", In::Any(Any::from(r.title.as_str())));
    m.insert(
        txn,
        "description",
        In::Any(Any::from(r.description.as_str())),
    );
    m.insert(txn, "category", number(u64::from(r.category)));
    m.insert(txn, "status", number(u64::from(r.status)));
    let s = m.insert(txn, "supporters", MapPrelim::default());
    for p in &r.supporters {
        s.insert(txn, p.to_string(), In::Any(Any::Bool(true)));
    }
    m.insert(txn, "updated", number(r.updated));
}

/// A server document holding `records`, each inserted by its own transaction.
pub fn server(records: &[Record]) -> Replica {
    let side = Replica::new(SERVER);
    for r in records {
        let mut txn = side.doc.transact_mut();
        insert(&side.issues, &mut txn, r);
    }
    side
}

/// Applies one side's edits, one transaction each.
pub fn edit(side: &Replica, edits: &[Edit]) {
    for e in edits {
        let mut txn = side.doc.transact_mut();
        let record =
            |txn: &yrs::TransactionMut<'_>, id: &RecordId| match side.issues.get(txn, &key(id)) {
                Some(Out::YMap(m)) => m,
                other => panic!("record {other:?}"),
            };
        match &e.change {
            Change::NewRecord(r) => insert(&side.issues, &mut txn, r),
            Change::SetStatus { record: id, status } => {
                let m = record(&txn, id);
                m.insert(&mut txn, "status", number(u64::from(*status)));
                m.insert(&mut txn, "updated", number(e.at));
            }
            Change::AddSupporter {
                record: id,
                supporter,
            } => {
                let m = record(&txn, id);
                let Some(Out::YMap(s)) = m.get(&txn, "supporters") else {
                    panic!("supporters map");
                };
                s.insert(&mut txn, supporter.to_string(), In::Any(Any::Bool(true)));
                m.insert(&mut txn, "updated", number(e.at));
            }
        }
    }
}

fn update(doc: &Doc, sv: &StateVector, encoding: Encoding) -> Vec<u8> {
    let txn = doc.transact();
    match encoding {
        Encoding::V1 => txn.encode_state_as_update_v1(sv),
        Encoding::V2 => txn.encode_state_as_update_v2(sv),
    }
}

fn apply(doc: &Doc, bytes: &[u8], encoding: Encoding) {
    let u = match encoding {
        Encoding::V1 => Update::decode_v1(bytes),
        Encoding::V2 => Update::decode_v2(bytes),
    }
    .expect("decodes");
    doc.transact_mut().apply_update(u).expect("applies");
}

/// One sync as y-sync does it: both sides send their state vector at once (one flight each
/// way), then each answers with the update the other lacks (a second flight each way).
/// One round trip, four messages.
pub fn exchange(kiosk: &Replica, server: &Replica, encoding: Encoding) -> Exchange {
    let mut x = Exchange {
        messages: 4,
        round_trips: 1,
        flights: 2,
        ..Exchange::default()
    };
    let ((), cost) = measured(|| {
        let kiosk_sv = kiosk.doc.transact().state_vector().encode_v1();
        let server_sv = server.doc.transact().state_vector().encode_v1();
        x.up += kiosk_sv.len();
        x.down += server_sv.len();
        let for_kiosk = StateVector::decode_v1(&kiosk_sv).expect("decodes");
        let for_server = StateVector::decode_v1(&server_sv).expect("decodes");
        let down = update(&server.doc, &for_kiosk, encoding);
        let up = update(&kiosk.doc, &for_server, encoding);
        x.down += down.len();
        x.up += up.len();
        apply(&kiosk.doc, &down, encoding);
        apply(&server.doc, &up, encoding);
    });
    x.cpu = cost.cpu;
    x.peak = cost.peak;
    x
}

fn num(m: &MapRef, txn: &impl ReadTxn, field: &str) -> u64 {
    match m.get(txn, field) {
        Some(Out::Any(Any::Number(yrs::Number::Int(n)))) => n as u64,
        Some(Out::Any(Any::Number(yrs::Number::Float(f)))) => f as u64,
        other => panic!("{field}: {other:?}"),
    }
}

fn text(m: &MapRef, txn: &impl ReadTxn, field: &str) -> String {
    match m.get(txn, field) {
        Some(Out::Any(Any::String(s))) => s.to_string(),
        other => panic!("{field}: {other:?}"),
    }
}

/// The records a document holds.
pub fn contents(side: &Replica) -> BTreeMap<RecordId, Record> {
    let txn = side.doc.transact();
    side.issues
        .iter(&txn)
        .map(|(k, v)| {
            let Out::YMap(m) = v else {
                panic!("record map")
            };
            let Some(Out::YMap(s)) = m.get(&txn, "supporters") else {
                panic!("supporters map")
            };
            let mut supporters: Vec<u64> = s.keys(&txn).map(|p| p.parse().unwrap()).collect();
            supporters.sort_unstable();
            let r = Record {
                id: parse_key(k).expect("a record key"),
                municipality: num(&m, &txn, "municipality") as u32,
                title: text(&m, &txn, "title"),
                description: text(&m, &txn, "description"),
                category: num(&m, &txn, "category") as u8,
                status: num(&m, &txn, "status") as u8,
                supporters,
                updated: num(&m, &txn, "updated"),
            };
            (r.id, r)
        })
        .collect()
}

/// What a side holds durably: its whole document as one update
/// (`encode_state_as_update_v1`/`_v2` from the empty state vector), what a Yrs app persists.
pub fn stored(side: &Replica, encoding: Encoding) -> usize {
    update(&side.doc, &StateVector::default(), encoding).len()
}

fn check(x: &mut Exchange, kiosk: &Replica, server: &Replica, model: &Model, encoding: Encoding) {
    x.stored = stored(kiosk, encoding);
    x.stored_server = stored(server, encoding);
    let k = contents(kiosk);
    x.same = k == contents(server);
    x.model = matches(model, &k);
}

/// One run: the initial sync of an empty kiosk, then both sides' `edits` and their sync.
pub fn run(initial: &[Record], edits: &Edits, encoding: Encoding) -> Run {
    let server = server(initial);
    let kiosk = Replica::new(KIOSK);
    let mut model = Model::new(initial);
    let mut first = exchange(&kiosk, &server, encoding);
    check(&mut first, &kiosk, &server, &model, encoding);
    edit(&kiosk, &edits.kiosk);
    edit(&server, &edits.server);
    let mut then = exchange(&kiosk, &server, encoding);
    edits
        .kiosk
        .iter()
        .chain(&edits.server)
        .for_each(|e| model.apply(e));
    check(&mut then, &kiosk, &server, &model, encoding);
    Run {
        initial: first,
        edits: then,
    }
}
