//! kenesh storage: the sync sessions' [`Store`] on [redb](https://docs.rs/redb), in one file.
//!
//! [`RedbStore`] keeps the append-only record log of `kenesh_sync`. Staged records live in
//! memory; [`Store::sync`] writes all of them in **one** redb write transaction committed
//! with [`redb::Durability::Immediate`], so a sync is one disk sync however many sessions
//! staged. The durable mark is the last committed position, kept in a metadata table beside
//! the format version.
//!
//! # File format, version 3 ([`FORMAT_VERSION`])
//!
//! | table | key → value | holds |
//! |---|---|---|
//! | `meta` | `&str` → `u64` | `format` (3), `durable` (the last position), `checkpoint` (the last position the checkpoint covers, once there is one) |
//! | `segments` | `(u64, u32)` → bytes | sealed segments: (first position, piece number) → a piece of [`PIECE`] bytes (the last one shorter) |
//! | `tail` | `u64` → bytes | the records after the last segment, as they are |
//! | `pages` | `(u64, u32)` → bytes | a device's paged state: (page number, piece) → a piece of the page as stored: codec (1 = zstd) · raw length (`u32` LE) · zstd frame of the page (the page's own format is `kenesh_merge`'s) |
//! | `checkpoint` | `&str` → bytes | `state`: the state's meta (its page directories and state-wide parts); `device`: what the device keeps beside it |
//!
//! A checkpoint (a device's, from `kenesh_sync::CHECKPOINT_OPS` ops on) is written in the
//! transaction of the sync that makes the records it covers durable: the pages it adds, the
//! pages it replaces removed, its meta and its position, all or nothing. The device opens
//! from it (nothing but the meta read) and replays the records after its position. A
//! page's declared size is checked against [`MAX_PAGE_RAW`] before anything is allocated.
//!
//! A segment is a run of consecutive records compressed together with zstd (level
//! [`segment::ZSTD_LEVEL`], no dictionary): its bytes are `codec · count · raw length ·
//! zstd frame`, the raw bytes being the records' lengths and then the records (see
//! [`segment`]). A sync appends its records to the tail; when the tail's raw bytes reach
//! [`segment::SEGMENT_TARGET`] (128 KiB), the same transaction seals them into one segment
//! and empties the tail. Each record is so written twice at most, once as is and once
//! compressed, and a small sync never rewrites a segment. Segments are cut into pieces of
//! one redb page each, as one large value would be rounded up to a power of two pages.
//! Reads decompress only the segments they need, one at a time; a segment's declared size
//! is checked against [`segment::MAX_SEGMENT_RAW`] before anything is allocated, and a
//! damaged segment is a [`StoreError::Io`], never a panic.
//!
//! Version 1 (table `records`: position → the record as is) is migrated at open, in one
//! write transaction (`tests/fixtures/v1.redb` is opened by a test from now on); version 2
//! (no paged state) by adding the two tables, empty (`v2.redb`); `v3.redb` holds a kiosk's
//! log and its checkpoint and is opened as a device.
//!
//! # Figures
//!
//! Measured on the shared 2-core dev VM (times are medians and move with the machine's
//! load; bytes are exact):
//!
//! - **Stored bytes**, `cargo run --release -p kenesh-store --example stored` (the
//!   workload S of WORKLOAD.md, 2,000 records; Automerge's document for them is 626,770
//!   bytes): a kiosk's replica after the initial sync (by snapshot) and the incremental
//!   sync holds 57 records of 524,199 bytes (the snapshot arrives already compressed),
//!   stored as 440,976 bytes of segments and a tail of 83,415 bytes; redb allocates 614,400
//!   bytes (0.98× Automerge's); the file is 1,118,208 bytes (1.78×), 729,088 of them on
//!   disk, because redb grows a file by doubling it; 659,456 bytes (1.05×) after
//!   [`RedbStore::compact`]; and **540,672 bytes (0.86× Automerge's) once tidied**
//!   ([`Store::tidy`]: the tail sealed into a fifth segment with [`RedbStore::seal_tail`],
//!   54,548 bytes, then compacted), which a kiosk does after a successful sync once a day.
//!   (Measured 2026-11-30 with redb 4.6; the figures before were 1,142,784 and 724,992
//!   bytes after compaction.) Format 1 held the same records in a file of the same length
//!   (573,440 bytes after the initial sync, where format 2's file had already doubled:
//!   the tail's pages freed at a seal are reused only two commits later).
//!   The server of that run (2,123 records of 3,487,491 bytes: each of the 2,000 issues
//!   its own signed commit) holds them in 1,070,398 bytes of segments (3.3× smaller); its
//!   file is 1,880,064 bytes (6,340,608 in format 1).
//! - **zstd level**: 3. Level 9 made the 100,000-record store's segments 3.6% smaller
//!   (26,898,659 bytes against 27,893,910) and the batched writes 3 to 12 times slower (the
//!   S server's segments: 1,023,040 against 1,070,398 bytes); a 64 KiB segment target
//!   instead of 128 KiB made them 5% larger (1,125,177) and left the kiosk's file as it was.
//! - **Writes**, `cargo bench -p kenesh-store --bench store -- write`: records of a
//!   kiosk's commits (721 bytes on average) staged and synced in batches: 30,000 records/s
//!   in batches of 10, 76,000 in batches of 100, 96,000 in batches of 1,000 (one disk
//!   sync per batch).
//! - **Open** of a store of 100,000 kiosk records (72 MB raw, 27.9 MB of segments, a 35.7
//!   MB file), `-- open`: 1.7–14 ms for redb and the tail (runs on a loaded machine); with
//!   the device replaying every record 1.1–2.3 s, what a store without a checkpoint costs
//!   (the replay parses and merges 442,025 ops into a state that holds every one). **From
//!   its checkpoint** (written by the device's first sync, from `kenesh_sync::CHECKPOINT_OPS`
//!   ops on) the device opens in **3.6–7.8 ms** (`--example memory`, two runs on the loaded machine): the checkpoint's meta is
//!   read, the 2,600 record pages and 330 index pages when needed.
//! - **Reads**, `-- read`: every record of that store, 1,024 at a time, at 456 MiB/s of
//!   records; one record at a random position in 0.2 ms (its segment decompressed).
//! - **Bulk load** of the workload's S snapshot, `-- "bulk load"`: a new kiosk's first sync
//!   of the server's 2,000 records (about 21,000 ops: creates and supporters) through a
//!   real session (handshake, zstd snapshot served from the server's cache, set hash
//!   checked) into a new redb file synced at the end: 55 ms, 36,000 records/s.
//! - **Memory**, `cargo run --release -p kenesh-store --example memory`: the store of
//!   100,000 records is replayed once in a fresh process and its first checkpoint written
//!   (4.7–8.8 s, 403 MB peak: the whole state in memory until it is written, then let go to 32
//!   pages); another process then opens it as a device from the checkpoint: **7.8 MB
//!   resident, 0.14× the 56.5 MB file**, and 28 MB (0.50×) after a scan of every issue. The
//!   file holds the log (35.7 MB) and the pages (20.9 MB: 2,600 record pages of the ops of
//!   consecutive records, 330 of the op index, zstd level 3): a checkpoint stores each op
//!   again, row by row, which is why a replica below `CHECKPOINT_OPS` keeps the log alone
//!   (the S kiosk's pages would be 988 KB, its snapshot in the log is 475 KB). Before the
//!   paged state, the device held every op and record: 234 MB resident, 6.56× (session 9;
//!   17.6× in session 5).
//!
//! # redb version
//!
//! redb 3.1.3 closed a database with a commit that shrank the file; when it did, a
//! `check_integrity` after the next open reported a repair (`Ok(false)`) though every record
//! was there, which made `tests/process_death.rs` fail now and then (a child killed before it
//! touched the file the parent's previous check had closed). redb 4.6 (same file format:
//! the committed v1 and v2 fixtures, made by 3.1.3, open unchanged) does not;
//! `tests/redb_close_trim.rs` reproduces the old fault deterministically and now guards it.
//!
//! [`sim::SimFile`] is a simulated in-memory disk for redb (a [`redb::StorageBackend`]) that
//! loses what was not flushed and tears the last write on a power loss; the crate's tests
//! cut power at random points with it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, RwLockReadGuard};

use kenesh_merge::{Checkpoint, PageSource};
use kenesh_sync::{MAX_RECORD, Saved, Store, StoreError};
use redb::{
    Database, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata, StorageBackend,
    TableDefinition, WriteTransaction,
};

mod keyfile;
mod pages;
pub mod segment;
pub mod sim;

pub use keyfile::{KEY_FORMAT_VERSION, KeyFile, MAX_KEYS};
pub use pages::MAX_PAGE_RAW;
use segment::{MAX_SEGMENT_RAW, SEGMENT_TARGET, Unpacked};

/// The version of the file format this build writes. [`RedbStore::open`] refuses a file of
/// a newer version with [`OpenError::NewerFormat`] and migrates an older one.
///
/// Version 1: table `records` (`u64` position from 1 → the record's bytes, stored as they
/// are), table `meta` (`&str` → `u64`: `format`, `durable`).
///
/// Version 2: table `segments` (`(u64, u32)`: the first position of a sealed segment and a
/// piece number → the piece's bytes; a segment's pieces, in order, are its bytes as
/// [`segment`] describes), table `tail` (`u64` position → the record's bytes, for the
/// records after the last segment), table `meta` as in version 1. Segments cover positions
/// 1 to their end without a gap; the tail follows; `durable` is the last position.
///
/// Version 3: version 2's tables, and a device's paged state: table `pages` (`(u64, u32)`:
/// page number and piece → the piece's bytes), table `checkpoint` (`&str` → bytes: `state`,
/// `device`), and `meta`'s `checkpoint` (the last record the checkpoint covers); see
/// [`Store::checkpoint`]. A version 2 file is migrated by adding the empty tables.
pub const FORMAT_VERSION: u64 = 3;

/// The memory redb may use as its page cache (read and write), in bytes: 16 MiB. redb's
/// default is 1 GiB; a kiosk has far less. Larger logs are read from the file.
pub const CACHE_SIZE: usize = 16 * 1024 * 1024;

/// A segment's bytes are cut into pieces of this size: an entry of a 4,076-byte value and a
/// 12-byte key fills one 4 KiB redb leaf page, so pieces pack pages without the rounding
/// up to a power of two pages that one large value would get.
pub const PIECE: usize = 4076;

/// The most bytes a segment's pieces may add up to (a larger one is corrupt): its header
/// and zstd's bound for [`MAX_SEGMENT_RAW`].
const MAX_SEGMENT_BYTES: usize = MAX_SEGMENT_RAW + MAX_SEGMENT_RAW / 128 + 4096;

const RECORDS_V1: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("records");
const SEGMENTS: TableDefinition<'_, (u64, u32), &[u8]> = TableDefinition::new("segments");
const TAIL: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("tail");
const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");
const META_FORMAT: &str = "format";
const META_DURABLE: &str = "durable";
const META_CHECKPOINT: &str = "checkpoint";

/// Why a store could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The file was written by a newer build, in a format this build does not know.
    #[error("the store's format version {found} is newer than this build's {supported}")]
    NewerFormat {
        /// The file's version.
        found: u64,
        /// [`FORMAT_VERSION`].
        supported: u64,
    },
    /// The file is a redb database but not a kenesh store, or its tables disagree (the
    /// durable mark is not the last record's position).
    #[error("not a kenesh store, or an inconsistent one: {0}")]
    Corrupt(String),
    /// redb or the file system failed (including "already open by another process").
    #[error("storage failed: {0}")]
    Storage(String),
}

fn storage<E: std::fmt::Display>(e: E) -> OpenError {
    OpenError::Storage(e.to_string())
}

fn io<E: std::fmt::Display>(e: E) -> StoreError {
    StoreError::Io(e.to_string())
}

/// What a [`RedbStore`] holds, counted by [`RedbStore::stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// The last position in a sealed segment.
    pub sealed: u64,
    /// Sealed segments.
    pub segments: u64,
    /// Their bytes (compressed, headers included).
    pub segment_bytes: u64,
    /// Records in the uncompressed tail.
    pub tail_records: u64,
    /// Their bytes.
    pub tail_bytes: u64,
    /// The bytes of the pages redb has allocated (its file may be larger: it grows by
    /// doubling).
    pub allocated_bytes: u64,
    /// Of those, bytes lost to fragmentation (redb's count).
    pub fragmented_bytes: u64,
}

fn corrupt_segment(at: u64, why: &str) -> StoreError {
    StoreError::Io(format!("corrupt segment at position {at}: {why}"))
}

/// The sync store on redb: one file (or one [`StorageBackend`]).
///
/// Records are committed in one write transaction per [`Store::sync`]; staged records are
/// held in memory until then (and lost, as they should be, if the process dies). Durable
/// records go to the tail table; when the tail's records reach [`SEGMENT_TARGET`] bytes, the
/// same transaction seals them into one zstd-compressed segment and empties the tail, so a
/// record is written twice at most (once as is, once compressed) whatever the size of the
/// syncs. The tail is also kept in memory (it is small). redb's page cache is bounded by
/// [`CACHE_SIZE`].
pub struct RedbStore {
    /// Shared with the pages a device's state reads (compaction takes it alone).
    db: Arc<RwLock<Database>>,
    path: Option<PathBuf>,
    /// The last position in a sealed segment.
    sealed: u64,
    /// The durable records after `sealed`, as the tail table holds them.
    tail: Vec<Vec<u8>>,
    staged: Vec<Vec<u8>>,
    durable: u64,
    syncs: u64,
    segments: u64,
    /// A checkpoint staged: written with the staged records at the next sync.
    checkpoint: Option<StagedCheckpoint>,
}

/// A checkpoint waiting for the next sync, its pages already packed.
struct StagedCheckpoint {
    position: u64,
    pages: Vec<(u64, Vec<u8>)>,
    removed: Vec<u64>,
    state: Vec<u8>,
    device: Vec<u8>,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStore")
            .field("path", &self.path)
            .field("durable", &self.durable)
            .field("sealed", &self.sealed)
            .field("staged", &self.staged.len())
            .finish_non_exhaustive()
    }
}

fn builder() -> redb::Builder {
    let mut b = Database::builder();
    b.set_cache_size(CACHE_SIZE);
    b
}

/// The sizes a run of records is cut at: the end (exclusive) of each segment to seal, the
/// records taken in order, a segment sealed as soon as its raw bytes reach
/// [`SEGMENT_TARGET`].
fn cuts<'a>(records: impl Iterator<Item = &'a [u8]>) -> Vec<usize> {
    let mut out = Vec::new();
    let mut acc = 0;
    for (i, r) in records.enumerate() {
        acc += 4 + r.len();
        if acc >= SEGMENT_TARGET {
            out.push(i + 1);
            acc = 0;
        }
    }
    out
}

/// Writes a segment's bytes as pieces keyed by its first position.
fn put_segment(
    table: &mut redb::Table<'_, (u64, u32), &[u8]>,
    first: u64,
    bytes: &[u8],
) -> Result<(), redb::StorageError> {
    for (i, piece) in bytes.chunks(PIECE).enumerate() {
        table.insert((first, i as u32), piece)?;
    }
    Ok(())
}

/// The bytes of the segment starting at `first` (`Ok(None)` if there is none).
fn get_segment(
    table: &impl ReadableTable<(u64, u32), &'static [u8]>,
    first: u64,
) -> Result<Option<Vec<u8>>, StoreError> {
    let mut out = Vec::new();
    let mut n = 0u32;
    for entry in table.range((first, 0)..=(first, u32::MAX)).map_err(io)? {
        let (k, v) = entry.map_err(io)?;
        if k.value().1 != n {
            return Err(corrupt_segment(first, "a piece is missing"));
        }
        n += 1;
        let v = v.value();
        if out.len() + v.len() > MAX_SEGMENT_BYTES {
            return Err(corrupt_segment(first, "too many pieces"));
        }
        out.extend_from_slice(v);
    }
    Ok((n > 0).then_some(out))
}

/// The first position of the segment holding `position` (the last segment starting at or
/// before it).
fn segment_of(
    table: &impl ReadableTable<(u64, u32), &'static [u8]>,
    position: u64,
) -> Result<Option<u64>, StoreError> {
    Ok(table
        .range(..=(position, u32::MAX))
        .map_err(io)?
        .next_back()
        .transpose()
        .map_err(io)?
        .map(|(k, _)| k.value().0))
}

/// Migrates a version 1 file to version 2 in the write transaction `w`: the `records`
/// table is packed into segments and a tail, then dropped.
fn migrate_v1(w: &WriteTransaction) -> Result<(), OpenError> {
    {
        let records = w.open_table(RECORDS_V1).map_err(storage)?;
        let mut segments = w.open_table(SEGMENTS).map_err(storage)?;
        let mut tail = w.open_table(TAIL).map_err(storage)?;
        let mut run: Vec<Vec<u8>> = Vec::new();
        let mut first = 1;
        let mut bytes = 0;
        for entry in records.iter().map_err(storage)? {
            let (k, v) = entry.map_err(storage)?;
            if k.value() != first + run.len() as u64 {
                return Err(OpenError::Corrupt(format!(
                    "record {} out of place",
                    k.value()
                )));
            }
            bytes += 4 + v.value().len();
            run.push(v.value().to_vec());
            if bytes >= SEGMENT_TARGET {
                let seg = segment::seal(run.iter().map(Vec::as_slice)).map_err(storage)?;
                put_segment(&mut segments, first, &seg).map_err(storage)?;
                first += run.len() as u64;
                run.clear();
                bytes = 0;
            }
        }
        for (i, r) in run.iter().enumerate() {
            tail.insert(first + i as u64, r.as_slice())
                .map_err(storage)?;
        }
        let mut meta = w.open_table(META).map_err(storage)?;
        meta.insert(META_FORMAT, FORMAT_VERSION).map_err(storage)?;
    }
    w.delete_table(RECORDS_V1).map_err(storage)?;
    Ok(())
}

/// Migrates a version 2 file to version 3 in `w`: the tables of a paged state, empty.
fn to_v3(w: &WriteTransaction) -> Result<(), OpenError> {
    w.open_table(pages::PAGES).map_err(storage)?;
    w.open_table(pages::CHECKPOINT).map_err(storage)?;
    let mut meta = w.open_table(META).map_err(storage)?;
    meta.insert(META_FORMAT, FORMAT_VERSION).map_err(storage)?;
    Ok(())
}

/// What a version 2 file holds: the last sealed position and the tail.
fn load_v2(db: &Database, durable: u64) -> Result<(u64, Vec<Vec<u8>>), OpenError> {
    let r = db.begin_read().map_err(storage)?;
    let open = |e: redb::TableError| match e {
        redb::TableError::TableDoesNotExist(t) => OpenError::Corrupt(format!("no table {t}")),
        e => storage(e),
    };
    let segments = r.open_table(SEGMENTS).map_err(open)?;
    let tail_table = r.open_table(TAIL).map_err(open)?;
    let sealed = match segments.last().map_err(storage)? {
        None => 0,
        Some((k, _)) => {
            let first = k.value().0;
            let piece = segments
                .get((first, 0))
                .map_err(storage)?
                .ok_or_else(|| OpenError::Corrupt(format!("segment {first}: no first piece")))?;
            let count = segment::count(piece.value())
                .map_err(|e| OpenError::Corrupt(format!("segment {first}: {}", e.0)))?;
            // Positions stay far below 2^62 (a corrupt key is refused here, so that no
            // later sum overflows).
            first
                .checked_add(count - 1)
                .filter(|end| first > 0 && *end < 1 << 62)
                .ok_or_else(|| OpenError::Corrupt(format!("segment {first}: its position")))?
        }
    };
    let mut tail = Vec::with_capacity(tail_table.len().map_err(storage)? as usize);
    for entry in tail_table.iter().map_err(storage)? {
        let (k, v) = entry.map_err(storage)?;
        if k.value() != sealed + 1 + tail.len() as u64 {
            return Err(OpenError::Corrupt(format!(
                "tail record {} after segments ending at {sealed}",
                k.value()
            )));
        }
        tail.push(v.value().to_vec());
    }
    let last = sealed + tail.len() as u64;
    if durable != last {
        return Err(OpenError::Corrupt(format!(
            "durable mark {durable}, last record {last}"
        )));
    }
    Ok((sealed, tail))
}

impl RedbStore {
    /// Opens the store in the file at `path`, creating it if it does not exist (made as
    /// `path` + `.new` and renamed when complete, so a power loss never leaves a half-made
    /// store). If the process died or power was lost, redb repairs the file first (back to
    /// its last commit). A file of format version 1 is migrated to version 2 in one write
    /// transaction.
    ///
    /// # Errors
    /// When the file cannot be opened, is not a kenesh store, or is of a newer format.
    pub fn open(path: impl AsRef<Path>) -> Result<RedbStore, OpenError> {
        let path = path.as_ref();
        if !path.exists() {
            // Made under another name and renamed when complete: a power loss while the
            // file is being made never leaves a half-made store at `path`.
            let mut new = path.as_os_str().to_owned();
            new.push(".new");
            let new = PathBuf::from(new);
            let _ = std::fs::remove_file(&new);
            drop(RedbStore::init(builder().create(&new).map_err(storage)?)?);
            std::fs::rename(&new, path).map_err(storage)?;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::File::open(dir)
                    .and_then(|d| d.sync_all())
                    .map_err(storage)?;
            }
        }
        let db = builder().open(path).map_err(storage)?;
        let mut s = RedbStore::init(db)?;
        s.path = Some(path.to_owned());
        Ok(s)
    }

    /// Opens the store on a redb storage backend (an empty one gets a new store).
    ///
    /// # Errors
    /// As [`RedbStore::open`].
    pub fn with_backend(backend: impl StorageBackend) -> Result<RedbStore, OpenError> {
        let db = builder().create_with_backend(backend).map_err(storage)?;
        RedbStore::init(db)
    }

    fn init(db: Database) -> Result<RedbStore, OpenError> {
        let found = {
            let r = db.begin_read().map_err(storage)?;
            match r.open_table(META) {
                Ok(meta) => {
                    let format = meta.get(META_FORMAT).map_err(storage)?.map(|v| v.value());
                    let durable = meta.get(META_DURABLE).map_err(storage)?.map(|v| v.value());
                    Some((format, durable.unwrap_or(0)))
                }
                Err(redb::TableError::TableDoesNotExist(_)) => None,
                Err(e) => return Err(storage(e)),
            }
        };
        match found {
            None => {
                let mut w = db.begin_write().map_err(storage)?;
                w.set_durability(Durability::Immediate).map_err(storage)?;
                {
                    let mut meta = w.open_table(META).map_err(storage)?;
                    meta.insert(META_FORMAT, FORMAT_VERSION).map_err(storage)?;
                    meta.insert(META_DURABLE, 0).map_err(storage)?;
                    w.open_table(SEGMENTS).map_err(storage)?;
                    w.open_table(TAIL).map_err(storage)?;
                    w.open_table(pages::PAGES).map_err(storage)?;
                    w.open_table(pages::CHECKPOINT).map_err(storage)?;
                }
                w.commit().map_err(storage)?;
            }
            Some((None, _)) => return Err(OpenError::Corrupt("no format version".into())),
            Some((Some(found), _)) if found > FORMAT_VERSION => {
                return Err(OpenError::NewerFormat {
                    found,
                    supported: FORMAT_VERSION,
                });
            }
            Some((Some(1), durable)) => {
                {
                    let r = db.begin_read().map_err(storage)?;
                    let records = match r.open_table(RECORDS_V1) {
                        Ok(t) => t,
                        Err(redb::TableError::TableDoesNotExist(_)) => {
                            return Err(OpenError::Corrupt("no records table".into()));
                        }
                        Err(e) => return Err(storage(e)),
                    };
                    let last = records.last().map_err(storage)?.map(|(k, _)| k.value());
                    if durable != last.unwrap_or(0) {
                        return Err(OpenError::Corrupt(format!(
                            "durable mark {durable}, last record {last:?}"
                        )));
                    }
                }
                let mut w = db.begin_write().map_err(storage)?;
                w.set_durability(Durability::Immediate).map_err(storage)?;
                migrate_v1(&w)?;
                to_v3(&w)?;
                w.commit().map_err(storage)?;
            }
            Some((Some(2), _)) => {
                let mut w = db.begin_write().map_err(storage)?;
                w.set_durability(Durability::Immediate).map_err(storage)?;
                to_v3(&w)?;
                w.commit().map_err(storage)?;
            }
            Some((Some(3), _)) => {}
            Some((Some(v), _)) => {
                return Err(OpenError::Corrupt(format!("unknown format version {v}")));
            }
        }
        let durable = found.map_or(0, |(_, d)| d);
        let (sealed, tail) = load_v2(&db, durable)?;
        Ok(RedbStore {
            db: Arc::new(RwLock::new(db)),
            path: None,
            sealed,
            tail,
            staged: Vec::new(),
            durable,
            syncs: 0,
            segments: 0,
            checkpoint: None,
        })
    }

    /// The database, shared (a lock poisoned by a panic elsewhere is taken as it is: redb
    /// keeps itself consistent).
    fn db(&self) -> RwLockReadGuard<'_, Database> {
        self.db
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The file the store is in (`None` on another backend).
    #[must_use]
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// How many syncs wrote a transaction (a sync with nothing staged writes none).
    #[must_use]
    pub fn syncs(&self) -> u64 {
        self.syncs
    }

    /// The last position held in a sealed (compressed) segment; the records after it, up
    /// to [`Store::durable`], are in the uncompressed tail.
    #[must_use]
    pub fn sealed(&self) -> u64 {
        self.sealed
    }

    /// How many segments this handle sealed since it was opened.
    #[must_use]
    pub fn segments_sealed(&self) -> u64 {
        self.segments
    }

    /// What the file holds, counted: segments, their bytes, the tail, and redb's pages.
    ///
    /// # Errors
    /// When redb fails.
    pub fn stats(&self) -> Result<Stats, StoreError> {
        let mut st = Stats {
            sealed: self.sealed,
            tail_records: self.tail.len() as u64,
            tail_bytes: self.tail.iter().map(|r| r.len() as u64).sum(),
            ..Stats::default()
        };
        {
            let r = self.db().begin_read().map_err(io)?;
            let segments = r.open_table(SEGMENTS).map_err(io)?;
            for entry in segments.iter().map_err(io)? {
                let (k, v) = entry.map_err(io)?;
                if k.value().1 == 0 {
                    st.segments += 1;
                }
                st.segment_bytes += v.value().len() as u64;
            }
        }
        let w = self.db().begin_write().map_err(io)?;
        let db = w.stats().map_err(io)?;
        w.abort().map_err(io)?;
        st.allocated_bytes = db.allocated_pages() * db.page_size() as u64;
        st.fragmented_bytes = db.fragmented_bytes();
        Ok(st)
    }

    /// Compacts the file: redb moves pages to the front and shrinks the file to what it
    /// uses (redb grows a file by doubling it, so a file may be up to twice what it holds;
    /// a kiosk may compact when it is idle). Returns whether anything moved.
    ///
    /// # Errors
    /// When redb fails.
    pub fn compact(&mut self) -> Result<bool, StoreError> {
        self.db
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .compact()
            .map_err(io)
    }

    /// Seals the tail — the durable records after the last segment, fewer than a segment's
    /// target — into one segment however small, so that they too are stored compressed.
    /// For a replica going idle, before [`RedbStore::compact`]: the next records start a new
    /// tail, and each record is still written twice at most. Staged records are made durable
    /// in the same transaction (with segments of the target size sealed, as any sync does).
    /// Returns how many records the last, small segment holds.
    ///
    /// # Errors
    /// When redb fails; the store is then as it was.
    pub fn seal_tail(&mut self) -> Result<usize, StoreError> {
        if self.tail.is_empty() && self.staged.is_empty() {
            return Ok(0);
        }
        self.commit(true)
    }

    /// One write transaction: the staged records written (and, with `seal_all`, everything
    /// after the last segment sealed), committed with [`Durability::Immediate`]. Returns how
    /// many records the last segment it sealed holds.
    fn commit(&mut self, seal_all: bool) -> Result<usize, StoreError> {
        let mut w = self.db().begin_write().map_err(io)?;
        w.set_durability(Durability::Immediate).map_err(io)?;
        let end = self.staged();
        let cuts = self.write(&w, seal_all)?;
        w.commit().map_err(io)?;
        let sealed_now = cuts.last().copied().unwrap_or(0);
        let before = cuts.len().checked_sub(2).map_or(0, |i| cuts[i]);
        self.tail.append(&mut self.staged);
        self.tail.drain(..sealed_now);
        self.sealed += sealed_now as u64;
        self.segments += cuts.len() as u64;
        self.durable = end;
        self.syncs += 1;
        self.checkpoint = None;
        Ok(sealed_now - before)
    }

    /// Checks the file's integrity (redb's checksums over every page).
    ///
    /// # Errors
    /// When redb fails to read the file.
    pub fn check_integrity(&mut self) -> Result<bool, OpenError> {
        self.db
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .check_integrity()
            .map_err(storage)
    }

    /// Writes the staged records (after the tail) in `w`, sealing a segment at each target
    /// size and, with `seal_all`, the rest into one more; returns where the segments it
    /// sealed end, counted in records of the tail and the staged ones.
    fn write(&self, w: &WriteTransaction, seal_all: bool) -> Result<Vec<usize>, StoreError> {
        let all = || {
            self.tail
                .iter()
                .chain(self.staged.iter())
                .map(Vec::as_slice)
        };
        let mut cuts = cuts(all());
        let count = self.tail.len() + self.staged.len();
        if seal_all && cuts.last().copied().unwrap_or(0) < count {
            cuts.push(count);
        }
        let sealed_now = cuts.last().copied().unwrap_or(0);
        {
            let mut segments = w.open_table(SEGMENTS).map_err(io)?;
            let mut lo = 0;
            for &hi in &cuts {
                let seg = segment::seal(all().skip(lo).take(hi - lo)).map_err(io)?;
                put_segment(&mut segments, self.sealed + 1 + lo as u64, &seg).map_err(io)?;
                lo = hi;
            }
            let mut tail = w.open_table(TAIL).map_err(io)?;
            // Tail records now sealed leave the tail; records staged and not sealed join it.
            for i in 0..sealed_now.min(self.tail.len()) {
                tail.remove(self.sealed + 1 + i as u64).map_err(io)?;
            }
            for (i, r) in all().enumerate().skip(sealed_now.max(self.tail.len())) {
                tail.insert(self.sealed + 1 + i as u64, r).map_err(io)?;
            }
            let mut meta = w.open_table(META).map_err(io)?;
            meta.insert(META_DURABLE, self.staged()).map_err(io)?;
            if let Some(cp) = &self.checkpoint {
                meta.insert(META_CHECKPOINT, cp.position).map_err(io)?;
            }
        }
        if let Some(cp) = &self.checkpoint {
            for page in &cp.removed {
                pages::remove(w, *page)?;
            }
            for (page, packed) in &cp.pages {
                pages::put(w, *page, packed)?;
            }
            let mut t = w.open_table(pages::CHECKPOINT).map_err(io)?;
            t.insert(pages::CHECKPOINT_STATE, cp.state.as_slice())
                .map_err(io)?;
            t.insert(pages::CHECKPOINT_DEVICE, cp.device.as_slice())
                .map_err(io)?;
        }
        Ok(cuts)
    }
}

impl Store for RedbStore {
    fn stage(&mut self, record: &[u8]) -> Result<u64, StoreError> {
        if record.len() > MAX_RECORD {
            return Err(StoreError::TooLarge {
                len: record.len(),
                max: MAX_RECORD,
            });
        }
        self.staged.push(record.to_vec());
        Ok(self.staged())
    }

    fn sync(&mut self) -> Result<u64, StoreError> {
        if self.staged.is_empty() && self.checkpoint.is_none() {
            return Ok(self.durable);
        }
        self.commit(false)?;
        Ok(self.durable)
    }

    fn durable(&self) -> u64 {
        self.durable
    }

    fn staged(&self) -> u64 {
        self.durable + self.staged.len() as u64
    }

    /// Seals the tail into a segment and compacts the file ([`RedbStore::seal_tail`],
    /// [`RedbStore::compact`]); nothing while records are staged.
    fn tidy(&mut self) -> Result<(), StoreError> {
        if !self.staged.is_empty() {
            return Ok(());
        }
        self.seal_tail()?;
        self.compact()?;
        Ok(())
    }

    fn pages(&self) -> Option<Arc<dyn PageSource>> {
        Some(Arc::new(pages::Pages {
            db: Arc::clone(&self.db),
        }))
    }

    fn checkpoint(&self) -> Result<Option<Saved>, StoreError> {
        let r = self.db().begin_read().map_err(io)?;
        let meta = r.open_table(META).map_err(io)?;
        let Some(position) = meta.get(META_CHECKPOINT).map_err(io)?.map(|v| v.value()) else {
            return Ok(None);
        };
        let t = r.open_table(pages::CHECKPOINT).map_err(io)?;
        let get = |k: &str| -> Result<Vec<u8>, StoreError> {
            Ok(t.get(k)
                .map_err(io)?
                .ok_or_else(|| StoreError::Io(format!("the checkpoint has no {k}")))?
                .value()
                .to_vec())
        };
        if position > self.durable {
            return Err(StoreError::Io(format!(
                "the checkpoint covers records up to {position}, past the durable {}",
                self.durable
            )));
        }
        Ok(Some(Saved {
            position,
            state: get(pages::CHECKPOINT_STATE)?,
            device: get(pages::CHECKPOINT_DEVICE)?,
        }))
    }

    fn stage_checkpoint(&mut self, cp: &Checkpoint, device: Vec<u8>) -> Result<(), StoreError> {
        let pages = cp
            .pages()
            .iter()
            .map(|(id, raw)| Ok((*id, pages::pack(raw)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.checkpoint = Some(StagedCheckpoint {
            position: self.staged(),
            pages,
            removed: cp.removed().to_vec(),
            state: cp.meta().to_vec(),
            device,
        });
        Ok(())
    }

    fn read(&self, from: u64, max: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let mut at = from.max(1);
        let mut out = Vec::new();
        if max == 0 {
            return Ok(out);
        }
        if at <= self.sealed {
            let r = self.db().begin_read().map_err(io)?;
            let segments = r.open_table(SEGMENTS).map_err(io)?;
            let mut first =
                segment_of(&segments, at)?.ok_or_else(|| corrupt_segment(at, "missing"))?;
            while at <= self.sealed && out.len() < max {
                let bytes = get_segment(&segments, first)?
                    .ok_or_else(|| corrupt_segment(first, "missing"))?;
                let seg = Unpacked::new(&bytes).map_err(|e| corrupt_segment(first, e.0))?;
                let next = first + seg.len() as u64;
                if next <= at || next > self.sealed + 1 {
                    return Err(corrupt_segment(first, "its count"));
                }
                let skip = (at - first) as usize;
                for r in seg.records(skip).take(max - out.len()) {
                    out.push((at, r.to_vec()));
                    at += 1;
                }
                first = next;
            }
        }
        let skip = at.saturating_sub(self.sealed + 1) as usize;
        let left = max - out.len();
        out.extend(
            (self.sealed + 1..)
                .zip(self.tail.iter().chain(self.staged.iter()))
                .skip(skip)
                .take(left)
                .map(|(pos, r)| (pos, r.clone())),
        );
        Ok(out)
    }
}
