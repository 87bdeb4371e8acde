//! kenesh storage: the sync sessions' [`Store`] on [redb](https://docs.rs/redb), in one file.
//!
//! [`RedbStore`] keeps the append-only record log of `kenesh_sync` in a redb table keyed by
//! position (`u64` → bytes). Staged records live in memory; [`Store::sync`] writes all of
//! them in **one** redb write transaction committed with [`redb::Durability::Immediate`], so
//! a sync is one disk sync however many sessions staged. The durable mark is the last
//! committed position, kept in a metadata table beside the format version.
//!
//! [`sim::SimFile`] is a simulated in-memory disk for redb (a [`redb::StorageBackend`]) that
//! loses what was not flushed and tears the last write on a power loss; the crate's tests
//! cut power at random points with it.

use std::path::{Path, PathBuf};

use kenesh_sync::{MAX_RECORD, Store, StoreError};
use redb::{
    Database, Durability, ReadableDatabase, ReadableTable, StorageBackend, TableDefinition,
};

mod keyfile;
pub mod sim;

pub use keyfile::{KEY_FORMAT_VERSION, KeyFile, MAX_KEYS};

/// The version of the file format this build writes. [`RedbStore::open`] refuses a file of
/// a newer version with [`OpenError::NewerFormat`].
///
/// Version 1: table `records` (`u64` position from 1 → the record's bytes, stored as they
/// are), table `meta` (`&str` → `u64`: `format`, `durable`).
pub const FORMAT_VERSION: u64 = 1;

/// The memory redb may use as its page cache (read and write), in bytes: 16 MiB. redb's
/// default is 1 GiB; a kiosk has far less. Larger logs are read from the file.
pub const CACHE_SIZE: usize = 16 * 1024 * 1024;

const RECORDS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("records");
const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");
const META_FORMAT: &str = "format";
const META_DURABLE: &str = "durable";

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

/// The sync store on redb: one file (or one [`StorageBackend`]).
///
/// Records are committed in one write transaction per [`Store::sync`]; staged records are
/// held in memory until then (and lost, as they should be, if the process dies). redb's
/// page cache is bounded by [`CACHE_SIZE`].
pub struct RedbStore {
    db: Database,
    path: Option<PathBuf>,
    staged: Vec<Vec<u8>>,
    durable: u64,
    syncs: u64,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStore")
            .field("path", &self.path)
            .field("durable", &self.durable)
            .field("staged", &self.staged.len())
            .finish_non_exhaustive()
    }
}

fn builder() -> redb::Builder {
    let mut b = Database::builder();
    b.set_cache_size(CACHE_SIZE);
    b
}

impl RedbStore {
    /// Opens the store in the file at `path`, creating it if it does not exist (made as
    /// `path` + `.new` and renamed when complete, so a power loss never leaves a half-made
    /// store). If the process died or power was lost, redb repairs the file first (back to
    /// its last commit).
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
                    if format.is_none() {
                        return Err(OpenError::Corrupt("no format version".into()));
                    }
                    let records = match r.open_table(RECORDS) {
                        Ok(t) => t,
                        Err(redb::TableError::TableDoesNotExist(_)) => {
                            return Err(OpenError::Corrupt("no records table".into()));
                        }
                        Err(e) => return Err(storage(e)),
                    };
                    let last = records.last().map_err(storage)?.map(|(k, _)| k.value());
                    Some((format, durable, last))
                }
                Err(redb::TableError::TableDoesNotExist(_)) => None,
                Err(e) => return Err(storage(e)),
            }
        };
        let durable = match found {
            None => {
                let mut w = db.begin_write().map_err(storage)?;
                w.set_durability(Durability::Immediate).map_err(storage)?;
                {
                    let mut meta = w.open_table(META).map_err(storage)?;
                    meta.insert(META_FORMAT, FORMAT_VERSION).map_err(storage)?;
                    meta.insert(META_DURABLE, 0).map_err(storage)?;
                    w.open_table(RECORDS).map_err(storage)?;
                }
                w.commit().map_err(storage)?;
                0
            }
            Some((None, _, _)) => return Err(OpenError::Corrupt("no format version".into())),
            Some((Some(found), _, _)) if found > FORMAT_VERSION => {
                return Err(OpenError::NewerFormat {
                    found,
                    supported: FORMAT_VERSION,
                });
            }
            Some((Some(_), durable, last)) => {
                let durable = durable.unwrap_or(0);
                if durable != last.unwrap_or(0) {
                    return Err(OpenError::Corrupt(format!(
                        "durable mark {durable}, last record {last:?}"
                    )));
                }
                durable
            }
        };
        Ok(RedbStore {
            db,
            path: None,
            staged: Vec::new(),
            durable,
            syncs: 0,
        })
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

    /// Checks the file's integrity (redb's checksums over every page).
    ///
    /// # Errors
    /// When redb fails to read the file.
    pub fn check_integrity(&mut self) -> Result<bool, OpenError> {
        self.db.check_integrity().map_err(storage)
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
        if self.staged.is_empty() {
            return Ok(self.durable);
        }
        let mut w = self.db.begin_write().map_err(io)?;
        w.set_durability(Durability::Immediate).map_err(io)?;
        let end = self.durable + self.staged.len() as u64;
        {
            let mut records = w.open_table(RECORDS).map_err(io)?;
            for (i, r) in self.staged.iter().enumerate() {
                records
                    .insert(self.durable + 1 + i as u64, r.as_slice())
                    .map_err(io)?;
            }
            let mut meta = w.open_table(META).map_err(io)?;
            meta.insert(META_DURABLE, end).map_err(io)?;
        }
        w.commit().map_err(io)?;
        self.staged.clear();
        self.durable = end;
        self.syncs += 1;
        Ok(end)
    }

    fn durable(&self) -> u64 {
        self.durable
    }

    fn staged(&self) -> u64 {
        self.durable + self.staged.len() as u64
    }

    fn read(&self, from: u64, max: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let from = from.max(1);
        let mut out = Vec::new();
        if max == 0 {
            return Ok(out);
        }
        if from <= self.durable {
            let r = self.db.begin_read().map_err(io)?;
            let records = r.open_table(RECORDS).map_err(io)?;
            for entry in records.range(from..=self.durable).map_err(io)? {
                let (k, v) = entry.map_err(io)?;
                out.push((k.value(), v.value().to_vec()));
                if out.len() == max {
                    return Ok(out);
                }
            }
        }
        let skip = from.saturating_sub(self.durable + 1) as usize;
        for (i, r) in self.staged.iter().enumerate().skip(skip) {
            if out.len() == max {
                break;
            }
            out.push((self.durable + 1 + i as u64, r.clone()));
        }
        Ok(out)
    }
}
