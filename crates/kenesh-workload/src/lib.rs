//! # kenesh-workload
//!
//! The reference sync workload of kenesh (`WORKLOAD.md`): seeded local-issue [`Record`]s
//! with Kyrgyz text of realistic entropy, the three scenarios (initial, incremental,
//! conflicting) as abstract [`Edit`]s, a plain reference [`Model`] that says what both sides
//! must hold afterwards, and the idealised byte [`floors`].
//!
//! It is peer-neutral: it knows nothing of kenesh-merge, kenesh-sync, Automerge or Yrs. Each
//! system's adapter (in the benches and the sync tests) maps records and edits to its own
//! operations.
//!
//! Everything is deterministic from a `u64` seed ([`DEFAULT_SEED`] for the published
//! figures).
//!
//! ```
//! use kenesh_workload::{Model, Size, Workload, DEFAULT_SEED};
//!
//! let w = Workload::new(Size::S, DEFAULT_SEED);
//! assert_eq!(w.initial.len(), 2_000);
//! assert_eq!((w.incremental.kiosk.len(), w.incremental.server.len()), (20, 100));
//!
//! // Both sides apply both batches, in their own order: same state afterwards.
//! let mut kiosk = Model::new(&w.initial);
//! let mut server = kiosk.clone();
//! w.incremental.kiosk.iter().chain(&w.incremental.server).for_each(|e| kiosk.apply(e));
//! w.incremental.server.iter().chain(&w.incremental.kiosk).for_each(|e| server.apply(e));
//! assert_eq!(kiosk, server);
//! ```

use std::collections::BTreeMap;

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

pub mod floors;
pub mod text;

pub use floors::{Bytes, Floors, InitialFloors};
pub use text::Text;

/// The seed of the published calibration figures.
pub const DEFAULT_SEED: u64 = 0x6b65_6e65_7368_0001;

/// A record id: 16 random bytes.
pub type RecordId = [u8; 16];

/// Number of categories: `category` is in `0..CATEGORIES`.
pub const CATEGORIES: u8 = 12;
/// Number of statuses: `status` is in `0..STATUSES`.
pub const STATUSES: u8 = 5;
/// Supporters per initial record are in `0..MAX_SUPPORTERS`.
pub const MAX_SUPPORTERS: usize = 20;
/// Words in a title.
pub const TITLE_WORDS: usize = 6;
/// Words in a description.
pub const DESCRIPTION_WORDS: usize = 40;
/// Records per municipality (S is one municipality; larger sets span several).
pub const RECORDS_PER_MUNICIPALITY: usize = 2_000;
/// The first municipality id: a SOATE-derived `u32` (`417` the republic, `02` the oblast,
/// `211` the rayon, then the municipality's index in the last digits).
pub const FIRST_MUNICIPALITY: u32 = 417_022_110;
/// When the first record was created: 2024-01-01T00:00:00Z, in milliseconds.
pub const EPOCH_MS: u64 = 1_704_067_200_000;
/// The initial records are created over this span (one year), evenly on average.
pub const CREATION_SPAN_MS: u64 = 365 * 24 * 3_600 * 1_000;
/// Mean gap between two edits of one side (ten minutes).
pub const EDIT_GAP_MS: u64 = 10 * 60 * 1_000;
/// How many records both sides change the status of in the conflicting scenario.
pub const CONFLICTS: usize = 10;

/// A local issue as a kiosk holds it. Field order is WORKLOAD.md's table, and the order
/// postcard encodes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// 16 random bytes.
    pub id: RecordId,
    /// A SOATE-derived municipality id (see [`FIRST_MUNICIPALITY`]).
    pub municipality: u32,
    /// Six words of Kyrgyz Cyrillic text.
    pub title: String,
    /// Forty words of Kyrgyz Cyrillic text, in sentences.
    pub description: String,
    /// `0..12`.
    pub category: u8,
    /// `0..5`.
    pub status: u8,
    /// Person ids (random `u64`), kept sorted and without duplicates (a set).
    pub supporters: Vec<u64>,
    /// Milliseconds since the Unix epoch of the last change.
    pub updated: u64,
}

/// The two sizes of WORKLOAD.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Size {
    /// 2,000 records (one municipality); kiosk 20 edits, server 100.
    S,
    /// 20,000 records (a rayon); kiosk 50 edits, server 500.
    L,
}

impl Size {
    /// Records held by the server initially.
    pub fn records(self) -> usize {
        match self {
            Size::S => 2_000,
            Size::L => 20_000,
        }
    }

    /// Edits the kiosk makes in the incremental scenario.
    pub fn kiosk_edits(self) -> usize {
        match self {
            Size::S => 20,
            Size::L => 50,
        }
    }

    /// Edits the server makes in the incremental scenario.
    pub fn server_edits(self) -> usize {
        match self {
            Size::S => 100,
            Size::L => 500,
        }
    }
}

/// Which side made an edit. `Kiosk < Server`: the order breaks ties between concurrent
/// status changes made in the same millisecond (see [`Model`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Side {
    /// The kiosk in the ayil okmotu office (its edits go up).
    Kiosk,
    /// The server (its edits come down).
    Server,
}

/// What an edit changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    /// Sets the status of an existing record.
    SetStatus {
        /// The record.
        record: RecordId,
        /// The new status, `0..5`.
        status: u8,
    },
    /// Adds a supporter to an existing record (a set: adding twice is adding once).
    AddSupporter {
        /// The record.
        record: RecordId,
        /// The person id.
        supporter: u64,
    },
    /// Creates a record (its `updated` is the edit's time).
    NewRecord(Record),
}

impl Change {
    /// The record this change is about.
    pub fn record(&self) -> RecordId {
        match self {
            Change::SetStatus { record, .. } | Change::AddSupporter { record, .. } => *record,
            Change::NewRecord(r) => r.id,
        }
    }
}

/// One edit: who made it, when, and what it changes. Each edit is its own change (commit,
/// transaction, op) in a system under test.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edit {
    /// Milliseconds since the Unix epoch.
    pub at: u64,
    /// The side that made it.
    pub side: Side,
    /// What it changes.
    pub change: Change,
}

/// The edits of one scenario, per side, each in the order (and time order) they were made.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Edits {
    /// Made on the kiosk; they go up.
    pub kiosk: Vec<Edit>,
    /// Made on the server; they come down.
    pub server: Vec<Edit>,
}

/// A whole workload: the initial records and the edits of the incremental and conflicting
/// scenarios.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workload {
    /// The seed it was built from.
    pub seed: u64,
    /// The server's records before the initial sync, in creation order: each was created by
    /// its own change at its `updated` time, strictly increasing.
    pub initial: Vec<Record>,
    /// Scenario 2: both sides edit after having synced the initial records.
    pub incremental: Edits,
    /// Scenario 3: the incremental edits plus, on both sides, a status change of the same
    /// [`CONFLICTS`] records (to different statuses), merged into each side's edits in time
    /// order.
    pub conflicting: Edits,
}

/// Generates records (shared by the initial set and the new records of edits).
struct Generator<'t> {
    text: &'t Text,
}

impl Generator<'_> {
    fn record(&self, rng: &mut ChaCha8Rng, municipality: u32, updated: u64) -> Record {
        let mut id = [0u8; 16];
        rng.fill_bytes(&mut id);
        let title = self.text.phrase(rng, TITLE_WORDS, false);
        let description = self.text.phrase(rng, DESCRIPTION_WORDS, true);
        let category = rng.random_range(0..CATEGORIES);
        let status = rng.random_range(0..STATUSES);
        let n = rng.random_range(0..MAX_SUPPORTERS);
        let mut supporters: Vec<u64> = (0..n).map(|_| rng.random()).collect();
        supporters.sort_unstable();
        supporters.dedup();
        Record {
            id,
            municipality,
            title,
            description,
            category,
            status,
            supporters,
            updated,
        }
    }
}

/// A status different from `current`.
fn other_status(rng: &mut ChaCha8Rng, current: u8) -> u8 {
    (current + rng.random_range(1..STATUSES)) % STATUSES
}

impl Workload {
    /// The workload of WORKLOAD.md for `size`.
    pub fn new(size: Size, seed: u64) -> Self {
        Self::with_records(
            size.records(),
            size.kiosk_edits(),
            size.server_edits(),
            seed,
        )
    }

    /// The scale variant: the S edits (kiosk 20, server 100) over `records` records
    /// (WORKLOAD.md measures 2,000, 20,000 and 200,000).
    pub fn scale(records: usize, seed: u64) -> Self {
        Self::with_records(records, Size::S.kiosk_edits(), Size::S.server_edits(), seed)
    }

    /// A workload of `records` initial records and the given numbers of edits per side
    /// (40% status changes, 40% supporter additions, the rest new records, shuffled, on
    /// records drawn uniformly from the initial set).
    ///
    /// # Panics
    ///
    /// If `records` is zero or smaller than [`CONFLICTS`].
    pub fn with_records(
        records: usize,
        kiosk_edits: usize,
        server_edits: usize,
        seed: u64,
    ) -> Self {
        assert!(
            records >= CONFLICTS,
            "a workload needs at least {CONFLICTS} records"
        );
        let text = Text::new();
        let generator = Generator { text: &text };
        let municipalities = records.div_ceil(RECORDS_PER_MUNICIPALITY) as u32;

        // Separate streams, so changing one part never shifts another.
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut kiosk_rng = ChaCha8Rng::seed_from_u64(seed);
        kiosk_rng.set_stream(1);
        let mut server_rng = ChaCha8Rng::seed_from_u64(seed);
        server_rng.set_stream(2);
        let mut conflict_rng = ChaCha8Rng::seed_from_u64(seed);
        conflict_rng.set_stream(3);

        let mean_gap = (CREATION_SPAN_MS / records as u64).max(1);
        let mut at = EPOCH_MS;
        let initial: Vec<Record> = (0..records)
            .map(|i| {
                at += rng.random_range(1..=2 * mean_gap);
                let municipality = FIRST_MUNICIPALITY + (i as u32 % municipalities);
                generator.record(&mut rng, municipality, at)
            })
            .collect();
        let synced_at = at + 3_600_000;

        let edits = |rng: &mut ChaCha8Rng, side: Side, count: usize| -> Vec<Edit> {
            let status = count * 2 / 5;
            let supporter = count * 2 / 5;
            let mut kinds: Vec<u8> = std::iter::repeat_n(0u8, status)
                .chain(std::iter::repeat_n(1u8, supporter))
                .chain(std::iter::repeat_n(2u8, count - status - supporter))
                .collect();
            // Fisher–Yates with our own rng (no dependence on rand's shuffle algorithm).
            for i in (1..kinds.len()).rev() {
                let j = rng.random_range(0..=i);
                kinds.swap(i, j);
            }
            let mut at = synced_at;
            kinds
                .into_iter()
                .map(|kind| {
                    at += rng.random_range(1..=2 * EDIT_GAP_MS);
                    let target = &initial[rng.random_range(0..initial.len())];
                    let change = match kind {
                        0 => Change::SetStatus {
                            record: target.id,
                            status: other_status(rng, target.status),
                        },
                        1 => Change::AddSupporter {
                            record: target.id,
                            supporter: rng.random(),
                        },
                        _ => {
                            let municipality = match side {
                                // A kiosk serves one municipality.
                                Side::Kiosk => FIRST_MUNICIPALITY,
                                Side::Server => {
                                    FIRST_MUNICIPALITY + rng.random_range(0..municipalities)
                                }
                            };
                            Change::NewRecord(generator.record(rng, municipality, at))
                        }
                    };
                    Edit { at, side, change }
                })
                .collect()
        };
        let incremental = Edits {
            kiosk: edits(&mut kiosk_rng, Side::Kiosk, kiosk_edits),
            server: edits(&mut server_rng, Side::Server, server_edits),
        };

        // The conflicting scenario: the same CONFLICTS records, each side to a different
        // status, at times within the edit window.
        let mut conflicting = incremental.clone();
        let mut chosen: Vec<usize> = Vec::with_capacity(CONFLICTS);
        while chosen.len() < CONFLICTS {
            let i = conflict_rng.random_range(0..initial.len());
            if !chosen.contains(&i) {
                chosen.push(i);
            }
        }
        let window = (kiosk_edits.max(server_edits).max(1) as u64) * EDIT_GAP_MS;
        for &i in &chosen {
            let record = &initial[i];
            let kiosk_status = other_status(&mut conflict_rng, record.status);
            let mut server_status = other_status(&mut conflict_rng, record.status);
            if server_status == kiosk_status {
                server_status = other_status(&mut conflict_rng, kiosk_status);
                if server_status == record.status {
                    server_status = other_status(&mut conflict_rng, server_status);
                }
            }
            for (side, status, list) in [
                (Side::Kiosk, kiosk_status, &mut conflicting.kiosk),
                (Side::Server, server_status, &mut conflicting.server),
            ] {
                let at = synced_at + conflict_rng.random_range(1..=window);
                list.push(Edit {
                    at,
                    side,
                    change: Change::SetStatus {
                        record: record.id,
                        status,
                    },
                });
            }
        }
        conflicting.kiosk.sort_by_key(|e| e.at);
        conflicting.server.sort_by_key(|e| e.at);

        Workload {
            seed,
            initial,
            incremental,
            conflicting,
        }
    }

    /// The initial records by id, as both sides hold them after the initial sync.
    pub fn initial_state(&self) -> BTreeMap<RecordId, Record> {
        self.initial.iter().map(|r| (r.id, r.clone())).collect()
    }
}

/// The plain reference model: what a side holds after applying edits, whatever the order.
///
/// Rules (each commutes, so every order of the same edits gives the same state):
/// - `status` is a last-writer-wins register: the edit with the largest
///   `(at, side, status)` wins (`Side::Kiosk < Side::Server`); an initial record's status
///   counts as written at its `updated` time by the server;
/// - `supporters` is a grow-only set, kept sorted;
/// - `updated` is the largest time of any edit applied to the record (or its creation);
/// - `NewRecord` inserts the record if its id is absent (ids are random: it always is);
/// - an edit of a record that is not held is ignored (the workload only edits initial
///   records, so this does not happen in its scenarios).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Model {
    records: BTreeMap<RecordId, Record>,
    status_written: BTreeMap<RecordId, (u64, Side, u8)>,
}

impl Model {
    /// A side that holds `records` (the initial sync done).
    pub fn new(records: &[Record]) -> Self {
        let mut model = Model::default();
        for r in records {
            model.insert(r.clone(), Side::Server);
        }
        model
    }

    pub(crate) fn insert(&mut self, record: Record, side: Side) {
        if self.records.contains_key(&record.id) {
            return;
        }
        self.status_written
            .insert(record.id, (record.updated, side, record.status));
        self.records.insert(record.id, record);
    }

    /// Applies one edit.
    pub fn apply(&mut self, edit: &Edit) {
        match &edit.change {
            Change::NewRecord(r) => self.insert(r.clone(), edit.side),
            Change::SetStatus { record, status } => {
                let Some(r) = self.records.get_mut(record) else {
                    return;
                };
                let stamp = (edit.at, edit.side, *status);
                let written = self.status_written.entry(*record).or_insert(stamp);
                if stamp >= *written {
                    *written = stamp;
                    r.status = *status;
                }
                r.updated = r.updated.max(edit.at);
            }
            Change::AddSupporter { record, supporter } => {
                let Some(r) = self.records.get_mut(record) else {
                    return;
                };
                if let Err(i) = r.supporters.binary_search(supporter) {
                    r.supporters.insert(i, *supporter);
                }
                r.updated = r.updated.max(edit.at);
            }
        }
    }

    /// The records held, by id.
    pub fn records(&self) -> &BTreeMap<RecordId, Record> {
        &self.records
    }

    /// The records held, by id (consumes the model).
    pub fn into_records(self) -> BTreeMap<RecordId, Record> {
        self.records
    }
}
