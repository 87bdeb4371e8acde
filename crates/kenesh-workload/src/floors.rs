//! The idealised floors of WORKLOAD.md: how many bytes the workload needs on the wire when
//! nothing but the data travels (no framing, no handshake, no sync state).
//!
//! - The **field floor**: for each edit only what changed — the 16-byte record id, a
//!   one-byte field tag and the value (a status: 1 byte; a supporter: the `u64` as 8 bytes),
//!   or, for a new record, the record in full as postcard. No protocol beats it without
//!   compression.
//! - **Whole changed records**: every record an edit touched, as the sender holds it after
//!   its own edits, in one batch per direction: postcard (`Vec<Record>`), JSON, and postcard
//!   compressed with zstd level [`ZSTD_LEVEL`].

use std::collections::BTreeSet;

use crate::{Change, Edit, Edits, Model, Record, RecordId, Side, Workload};

/// The zstd level of the compressed floors.
pub const ZSTD_LEVEL: i32 = 3;

/// Bytes each way of one exchange.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bytes {
    /// Kiosk to server (the kiosk's edits).
    pub up: usize,
    /// Server to kiosk (the server's edits).
    pub down: usize,
}

impl Bytes {
    /// `up + down`.
    pub fn total(self) -> usize {
        self.up + self.down
    }
}

/// The floors of one scenario of edits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Floors {
    /// Only what changed, per edit.
    pub field: Bytes,
    /// Whole changed records as postcard.
    pub postcard: Bytes,
    /// Whole changed records as JSON.
    pub json: Bytes,
    /// Whole changed records as postcard, compressed with zstd level 3.
    pub zstd: Bytes,
}

/// The sizes of the initial scenario: every record, one batch, down.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InitialFloors {
    /// How many records.
    pub records: usize,
    /// All records as postcard (`Vec<Record>`).
    pub postcard: usize,
    /// All records as JSON.
    pub json: usize,
    /// All records as postcard, compressed with zstd level 3 in one frame.
    pub zstd: usize,
}

impl InitialFloors {
    /// How much better zstd does than plain postcard (`postcard / zstd`).
    pub fn zstd_ratio(&self) -> f64 {
        self.postcard as f64 / self.zstd as f64
    }
}

/// The field-floor bytes of one change: 16-byte id + 1-byte tag + value (status 1 byte,
/// supporter 8 bytes), or the new record as postcard.
pub fn field_bytes(change: &Change) -> usize {
    match change {
        Change::SetStatus { .. } => 16 + 1 + 1,
        Change::AddSupporter { .. } => 16 + 1 + 8,
        Change::NewRecord(r) => postcard::to_stdvec(r).expect("a record encodes").len(),
    }
}

/// The field floor of a batch of edits.
pub fn field_floor(edits: &[Edit]) -> usize {
    edits.iter().map(|e| field_bytes(&e.change)).sum()
}

/// The records `edits` touch, as a side holding `before` holds them after applying the
/// edits, in the order they were first touched.
pub fn changed_records(before: &Model, edits: &[Edit]) -> Vec<Record> {
    let mut after = Model::default();
    let mut order: Vec<RecordId> = Vec::new();
    let mut seen = BTreeSet::new();
    for e in edits {
        let id = e.change.record();
        if seen.insert(id) {
            order.push(id);
            // Copy in only what the batch touches: cheap even over 200,000 records.
            if let Some(r) = before.records().get(&id) {
                after.insert(r.clone(), Side::Server);
            }
        }
        after.apply(e);
    }
    order
        .iter()
        .filter_map(|id| after.records().get(id).cloned())
        .collect()
}

/// Records as one postcard `Vec<Record>`.
pub fn postcard(records: &[Record]) -> Vec<u8> {
    postcard::to_stdvec(records).expect("records encode")
}

/// Records as one JSON array.
pub fn json(records: &[Record]) -> Vec<u8> {
    serde_json::to_vec(records).expect("records encode")
}

/// `bytes` compressed with zstd level [`ZSTD_LEVEL`] in one frame.
pub fn zstd3(bytes: &[u8]) -> Vec<u8> {
    zstd::bulk::compress(bytes, ZSTD_LEVEL).expect("zstd compresses")
}

impl Floors {
    /// The floors of `edits` between two sides that both hold `synced`.
    pub fn of(synced: &Model, edits: &Edits) -> Self {
        let up = changed_records(synced, &edits.kiosk);
        let down = changed_records(synced, &edits.server);
        let (pu, pd) = (postcard(&up), postcard(&down));
        Floors {
            field: Bytes {
                up: field_floor(&edits.kiosk),
                down: field_floor(&edits.server),
            },
            postcard: Bytes {
                up: pu.len(),
                down: pd.len(),
            },
            json: Bytes {
                up: json(&up).len(),
                down: json(&down).len(),
            },
            zstd: Bytes {
                up: zstd3(&pu).len(),
                down: zstd3(&pd).len(),
            },
        }
    }
}

impl Workload {
    /// The floors of the initial scenario.
    pub fn initial_floors(&self) -> InitialFloors {
        let p = postcard(&self.initial);
        InitialFloors {
            records: self.initial.len(),
            postcard: p.len(),
            json: json(&self.initial).len(),
            zstd: zstd3(&p).len(),
        }
    }

    /// The floors of the incremental scenario.
    pub fn incremental_floors(&self) -> Floors {
        Floors::of(&Model::new(&self.initial), &self.incremental)
    }

    /// The floors of the conflicting scenario.
    pub fn conflicting_floors(&self) -> Floors {
        Floors::of(&Model::new(&self.initial), &self.conflicting)
    }
}
