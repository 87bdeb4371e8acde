//! The store trait the sessions write through, an in-memory store, and a simulated disk that
//! loses or tears what was not yet made durable.
//!
//! A store is an append-only log of records (opaque bytes to the store; the server and the
//! device define what they hold: commits with their verdicts, cursors, per-peer state) with
//! a durable mark. Records are *staged* first; [`Store::sync`] makes everything staged
//! durable at once and reports the mark, so many sessions share one disk sync.
//! Acknowledgements follow the durable mark, never a staged write.

use std::sync::Arc;

use kenesh_merge::{Checkpoint, PageSource};

/// The largest record a store accepts.
pub const MAX_RECORD: usize = 4 * 1024 * 1024;

/// Why a store failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The device failed (a simulated or real I/O error); nothing staged since the last
    /// sync is durable.
    #[error("storage I/O failed: {0}")]
    Io(String),
    /// A record over [`MAX_RECORD`].
    #[error("a record of {len} bytes is over the limit of {max}")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
}

/// Where the sessions keep what they receive and make.
pub trait Store {
    /// Stages a record; returns its position (from 1, consecutive). It is not durable until
    /// [`Store::sync`] returns.
    ///
    /// # Errors
    /// When the record is too large or the store failed.
    fn stage(&mut self, record: &[u8]) -> Result<u64, StoreError>;

    /// Makes every staged record durable; returns the durable mark (the last durable
    /// position).
    ///
    /// # Errors
    /// When the disk failed; the mark did not move.
    fn sync(&mut self) -> Result<u64, StoreError>;

    /// The last durable position.
    fn durable(&self) -> u64;

    /// The last staged position.
    fn staged(&self) -> u64;

    /// Up to `max` records from position `from` on (staged ones included), in order.
    ///
    /// # Errors
    /// When the store failed.
    fn read(&self, from: u64, max: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError>;

    /// The replica is idle (after a sync, nothing staged): the store may reorganise how it
    /// holds its records — compress, compact — never what they are or which are durable.
    /// Does nothing by default.
    ///
    /// # Errors
    /// When the store failed; its records are then as they were.
    fn tidy(&mut self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Where a paged state's pages are read from, if this store keeps checkpoints: a
    /// device on it then holds in memory only the pages in use and opens from its last
    /// checkpoint ([`kenesh_merge::State::paged`]). `None` (the default): the device holds
    /// its whole state in memory and replays every record when it opens.
    fn pages(&self) -> Option<Arc<dyn PageSource>> {
        None
    }

    /// The last durable checkpoint, if any.
    ///
    /// # Errors
    /// When the store failed.
    fn checkpoint(&self) -> Result<Option<Saved>, StoreError> {
        Ok(None)
    }

    /// Stages a checkpoint covering every record staged so far (`device`: what the replica
    /// keeps beside its state). It becomes durable with them at the next [`Store::sync`],
    /// in the same transaction, and replaces one staged before it.
    ///
    /// # Errors
    /// When the store keeps no checkpoints (the default), or failed.
    fn stage_checkpoint(&mut self, cp: &Checkpoint, device: Vec<u8>) -> Result<(), StoreError> {
        let _ = (cp, device);
        Err(StoreError::Io(String::from(
            "this store keeps no checkpoints",
        )))
    }
}

/// A checkpoint as a store keeps it: the position of the last record it covers, the
/// state's meta ([`Checkpoint::meta`]) and the replica's own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Saved {
    /// The last record it covers: a replica opening from it replays the records after.
    pub position: u64,
    /// The merged state's meta.
    pub state: Vec<u8>,
    /// What the replica keeps beside its state.
    pub device: Vec<u8>,
}

/// A store in memory: perfect durability, for tests and short-lived replicas.
#[derive(Clone, Debug, Default)]
pub struct MemStore {
    records: Vec<Vec<u8>>,
    durable: u64,
}

impl MemStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> MemStore {
        MemStore::default()
    }

    /// Power loss: what was staged and not synced is gone.
    pub fn crash(&mut self) {
        self.records.truncate(self.durable as usize);
    }

    /// The store as a backup taken now would hold it (durable records only).
    #[must_use]
    pub fn backup(&self) -> MemStore {
        MemStore {
            records: self.records[..self.durable as usize].to_vec(),
            durable: self.durable,
        }
    }
}

fn check_len(record: &[u8]) -> Result<(), StoreError> {
    if record.len() > MAX_RECORD {
        return Err(StoreError::TooLarge {
            len: record.len(),
            max: MAX_RECORD,
        });
    }
    Ok(())
}

fn read_range(records: &[Vec<u8>], from: u64, max: usize) -> Vec<(u64, Vec<u8>)> {
    let start = from.max(1);
    records
        .iter()
        .enumerate()
        .skip((start - 1) as usize)
        .take(max)
        .map(|(i, r)| (i as u64 + 1, r.clone()))
        .collect()
}

impl Store for MemStore {
    fn stage(&mut self, record: &[u8]) -> Result<u64, StoreError> {
        check_len(record)?;
        self.records.push(record.to_vec());
        Ok(self.records.len() as u64)
    }
    fn sync(&mut self) -> Result<u64, StoreError> {
        self.durable = self.records.len() as u64;
        Ok(self.durable)
    }
    fn durable(&self) -> u64 {
        self.durable
    }
    fn staged(&self) -> u64 {
        self.records.len() as u64
    }
    fn read(&self, from: u64, max: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        Ok(read_range(&self.records, from, max))
    }
}

/// A simulated disk holding the log as bytes, as a file would: each record is written as
/// `len (u32 LE) · checksum (8 bytes of BLAKE3) · bytes`. Writes past the last sync are in
/// the "page cache": [`SimDisk::power_loss`] drops them, keeping a torn prefix of them as a
/// real disk may; reopening scans the bytes and cuts the log at the first record that is
/// incomplete or fails its checksum.
///
/// It keeps a paged state's checkpoints too: a checkpoint is written after the records it
/// covers as one more entry whose length has its top bit set (its pages, the pages it
/// replaces, its meta), so a torn write loses it whole or keeps it whole, and it takes
/// effect at the sync that makes it durable. Reopening applies every intact checkpoint in
/// order.
#[derive(Debug, Default)]
pub struct SimDisk {
    bytes: Vec<u8>,
    synced_len: usize,
    records: Vec<Vec<u8>>,
    durable: u64,
    fail_syncs: u32,
    syncs: u64,
    /// The pages of the durable checkpoints (shared with the state reading them).
    pages: Arc<std::sync::Mutex<std::collections::BTreeMap<u64, Vec<u8>>>>,
    checkpoint: Option<Saved>,
    /// Checkpoints written since the last sync, applied by the next.
    pending: Vec<SimCheckpoint>,
}

/// A copy of the disk as it is now, pages included (not shared with the original).
impl Clone for SimDisk {
    fn clone(&self) -> SimDisk {
        SimDisk {
            bytes: self.bytes.clone(),
            synced_len: self.synced_len,
            records: self.records.clone(),
            durable: self.durable,
            fail_syncs: self.fail_syncs,
            syncs: self.syncs,
            pages: Arc::new(std::sync::Mutex::new(lock(&self.pages).clone())),
            checkpoint: self.checkpoint.clone(),
            pending: self.pending.clone(),
        }
    }
}

/// A checkpoint as the simulated disk writes it.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct SimCheckpoint {
    position: u64,
    put: Vec<(u64, serde_bytes::ByteBuf)>,
    removed: Vec<u64>,
    #[serde(with = "serde_bytes")]
    state: Vec<u8>,
    #[serde(with = "serde_bytes")]
    device: Vec<u8>,
}

/// The top bit of an entry's length: the entry is a checkpoint.
const CHECKPOINT_ENTRY: u32 = 1 << 31;

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The pages of a [`SimDisk`], as a paged state reads them.
struct SimPages(Arc<std::sync::Mutex<std::collections::BTreeMap<u64, Vec<u8>>>>);

impl PageSource for SimPages {
    fn read(&self, page: u64) -> Result<Vec<u8>, kenesh_merge::PageError> {
        lock(&self.0)
            .get(&page)
            .cloned()
            .ok_or(kenesh_merge::PageError::Missing(page))
    }
}

impl SimDisk {
    /// Makes a checkpoint written and synced take effect.
    fn take(&mut self, cp: SimCheckpoint) {
        let mut pages = lock(&self.pages);
        for id in &cp.removed {
            pages.remove(id);
        }
        for (id, bytes) in cp.put {
            pages.insert(id, bytes.into_vec());
        }
        self.checkpoint = Some(Saved {
            position: cp.position,
            state: cp.state,
            device: cp.device,
        });
    }
}

fn checksum(bytes: &[u8]) -> [u8; 8] {
    let h = blake3::derive_key("kenesh 2026 simdisk record v1", bytes);
    let mut c = [0; 8];
    c.copy_from_slice(&h[..8]);
    c
}

impl SimDisk {
    /// An empty disk.
    #[must_use]
    pub fn new() -> SimDisk {
        SimDisk::default()
    }

    /// Opens a disk image: every complete, intact record is recovered; the log is cut at
    /// the first torn or corrupt one. Everything recovered counts as durable.
    #[must_use]
    pub fn open(image: &[u8]) -> SimDisk {
        let mut disk = SimDisk::default();
        let mut at = 0usize;
        while let Some(header) = image.get(at..at + 12) {
            let word = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
            let len = (word & !CHECKPOINT_ENTRY) as usize;
            let Some(body) = image.get(at + 12..at + 12 + len) else {
                break;
            };
            if checksum(body) != header[4..12] {
                break;
            }
            if word & CHECKPOINT_ENTRY == 0 {
                if len > MAX_RECORD {
                    break;
                }
                disk.records.push(body.to_vec());
            } else {
                let Ok(cp) = postcard::from_bytes::<SimCheckpoint>(body) else {
                    break;
                };
                if cp.position > disk.records.len() as u64 {
                    break;
                }
                disk.take(cp);
            }
            at += 12 + len;
        }
        disk.bytes = image[..at].to_vec();
        disk.synced_len = at;
        disk.durable = disk.records.len() as u64;
        disk
    }

    /// The bytes on the platter after a power loss now: everything synced, then `keep` bytes
    /// of what was written after (a torn write); `keep` is clamped to what was written.
    #[must_use]
    pub fn power_loss(&self, keep: usize) -> Vec<u8> {
        let end = (self.synced_len + keep).min(self.bytes.len());
        self.bytes[..end].to_vec()
    }

    /// Bytes written since the last sync.
    #[must_use]
    pub fn unsynced_bytes(&self) -> usize {
        self.bytes.len() - self.synced_len
    }

    /// The whole image as written (synced or not).
    #[must_use]
    pub fn image(&self) -> &[u8] {
        &self.bytes
    }

    /// Makes the next `n` syncs fail with an I/O error.
    pub fn fail_next_syncs(&mut self, n: u32) {
        self.fail_syncs = n;
    }

    /// How many syncs succeeded.
    #[must_use]
    pub fn syncs(&self) -> u64 {
        self.syncs
    }
}

impl Store for SimDisk {
    fn stage(&mut self, record: &[u8]) -> Result<u64, StoreError> {
        check_len(record)?;
        self.bytes
            .extend_from_slice(&(record.len() as u32).to_le_bytes());
        self.bytes.extend_from_slice(&checksum(record));
        self.bytes.extend_from_slice(record);
        self.records.push(record.to_vec());
        Ok(self.records.len() as u64)
    }
    fn sync(&mut self) -> Result<u64, StoreError> {
        if self.fail_syncs > 0 {
            self.fail_syncs -= 1;
            return Err(StoreError::Io("simulated fsync failure".into()));
        }
        self.synced_len = self.bytes.len();
        self.durable = self.records.len() as u64;
        self.syncs += 1;
        for cp in core::mem::take(&mut self.pending) {
            self.take(cp);
        }
        Ok(self.durable)
    }
    fn durable(&self) -> u64 {
        self.durable
    }
    fn staged(&self) -> u64 {
        self.records.len() as u64
    }
    fn read(&self, from: u64, max: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        Ok(read_range(&self.records, from, max))
    }
    fn pages(&self) -> Option<Arc<dyn PageSource>> {
        Some(Arc::new(SimPages(Arc::clone(&self.pages))))
    }
    fn checkpoint(&self) -> Result<Option<Saved>, StoreError> {
        Ok(self.checkpoint.clone())
    }
    fn stage_checkpoint(&mut self, cp: &Checkpoint, device: Vec<u8>) -> Result<(), StoreError> {
        let entry = SimCheckpoint {
            position: self.records.len() as u64,
            put: cp
                .pages()
                .iter()
                .map(|(id, b)| (*id, serde_bytes::ByteBuf::from(b.clone())))
                .collect(),
            removed: cp.removed().to_vec(),
            state: cp.meta().to_vec(),
            device,
        };
        let body = postcard::to_allocvec(&entry).map_err(|e| StoreError::Io(e.to_string()))?;
        let len = u32::try_from(body.len())
            .ok()
            .filter(|l| l & CHECKPOINT_ENTRY == 0)
            .ok_or_else(|| StoreError::Io("a checkpoint over 2 GiB".into()))?;
        self.bytes
            .extend_from_slice(&(len | CHECKPOINT_ENTRY).to_le_bytes());
        self.bytes.extend_from_slice(&checksum(&body));
        self.bytes.extend_from_slice(&body);
        self.pending.push(entry);
        Ok(())
    }
}
