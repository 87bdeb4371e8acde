//! The payload key store in a file of its own, which destroys what it removes.
//!
//! redb (like any copy-on-write file or write-ahead log) keeps old pages after a delete, so a
//! key kept there would survive its erasure in the file's bytes. [`KeyFile`] is instead a
//! file of fixed 64-byte slots overwritten in place:
//!
//! | bytes | field |
//! |---|---|
//! | 0..64 | header: `KENESHK1`, format version (u32 LE), zeros |
//! | each slot, 64 bytes | `1` (used) or `0` (free); tier code (1 personal, 2 sensitive); 2 zero bytes; origin (u32 LE); person (16); key (32); BLAKE3 of bytes 0..56, first 8 bytes |
//!
//! A put writes a used slot (reusing a free one first); a removal overwrites the slot with
//! zeros. Writes are staged and made durable by [`KeyStore::sync`] (`pwrite`, then
//! `fdatasync`). A slot torn by a power loss fails its checksum and is read as free (and
//! zeroed at the next sync): a torn put was never durable, so no durable op needs it; a torn
//! removal was meant to destroy it. Slots are 64-byte aligned after a 64-byte header, so no
//! slot straddles a disk sector or page.
//!
//! What the file cannot promise: a file system that does not overwrite in place (btrfs, ZFS,
//! a log-structured flash layer) may keep the old blocks. Such replicas should also encrypt
//! the disk.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use kenesh_model::{Id, PersonId, Tier};
use kenesh_sync::StoreError;
use kenesh_sync::keys::{KEY_LEN, KeyId, KeyStore, PayloadKey};
use zeroize::{Zeroize, Zeroizing};

use crate::OpenError;

const MAGIC: &[u8; 8] = b"KENESHK1";
/// The key file's format version.
pub const KEY_FORMAT_VERSION: u32 = 1;
const HEADER: u64 = 64;
const SLOT: usize = 64;
/// The most keys a key file holds (64 MiB of slots); puts past it fail.
pub const MAX_KEYS: usize = 1 << 20;

fn io<E: std::fmt::Display>(e: E) -> StoreError {
    StoreError::Io(e.to_string())
}

/// Payload keys in a file of slots overwritten in place (see the module docs).
pub struct KeyFile {
    file: File,
    path: PathBuf,
    keys: BTreeMap<KeyId, (usize, PayloadKey)>,
    /// Slots free for reuse.
    free: BTreeSet<usize>,
    /// How many slots the file has.
    slots: usize,
    /// Slot writes waiting for sync, by slot (the last write of a slot wins).
    staged: BTreeMap<usize, Zeroizing<[u8; SLOT]>>,
}

impl std::fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyFile")
            .field("path", &self.path)
            .field("keys", &self.keys.len())
            .field("slots", &self.slots)
            .finish_non_exhaustive()
    }
}

fn checksum(slot: &[u8]) -> [u8; 8] {
    let mut c = [0u8; 8];
    c.copy_from_slice(&blake3::hash(&slot[..56]).as_bytes()[..8]);
    c
}

fn encode(id: &KeyId, key: &[u8; KEY_LEN]) -> Zeroizing<[u8; SLOT]> {
    let mut s = Zeroizing::new([0u8; SLOT]);
    s[0] = 1;
    s[1] = id.tier_code();
    s[4..8].copy_from_slice(&id.origin.to_le_bytes());
    s[8..24].copy_from_slice(&id.person.0.0);
    s[24..56].copy_from_slice(key);
    let c = checksum(&s[..]);
    s[56..64].copy_from_slice(&c);
    s
}

fn decode(s: &[u8]) -> Option<(KeyId, PayloadKey)> {
    if s[0] != 1 || s[56..64] != checksum(s) {
        return None;
    }
    let tier = KeyId::tier_of(s[1])?;
    let id = KeyId {
        person: PersonId(Id(s[8..24].try_into().ok()?)),
        tier,
        origin: u32::from_le_bytes(s[4..8].try_into().ok()?),
    };
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    key.copy_from_slice(&s[24..56]);
    Some((id, key))
}

impl KeyFile {
    /// Opens the key file at `path`, creating it if it does not exist.
    ///
    /// # Errors
    /// When the file cannot be read or written, or is not a key file of a known version.
    pub fn open(path: impl AsRef<Path>) -> Result<KeyFile, OpenError> {
        let path = path.as_ref().to_owned();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| OpenError::Storage(format!("{}: {e}", path.display())))?;
        let len = file
            .metadata()
            .map_err(|e| OpenError::Storage(e.to_string()))?
            .len();
        let mut kf = KeyFile {
            file,
            path,
            keys: BTreeMap::new(),
            free: BTreeSet::new(),
            slots: 0,
            staged: BTreeMap::new(),
        };
        if len < HEADER {
            // New (or a header torn before its first sync: no key was ever durable in it).
            let mut h = [0u8; HEADER as usize];
            h[..8].copy_from_slice(MAGIC);
            h[8..12].copy_from_slice(&KEY_FORMAT_VERSION.to_le_bytes());
            kf.file
                .set_len(0)
                .and_then(|()| kf.file.write_all_at(&h, 0))
                .and_then(|()| kf.file.sync_all())
                .map_err(|e| OpenError::Storage(e.to_string()))?;
            if let Some(dir) = kf.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                File::open(dir)
                    .and_then(|d| d.sync_all())
                    .map_err(|e| OpenError::Storage(e.to_string()))?;
            }
            return Ok(kf);
        }
        let body = len - HEADER;
        if body / SLOT as u64 > MAX_KEYS as u64 {
            return Err(OpenError::Corrupt(format!("a key file of {len} bytes")));
        }
        let mut bytes = Zeroizing::new(Vec::with_capacity(len as usize));
        (&kf.file)
            .read_to_end(&mut bytes)
            .map_err(|e| OpenError::Storage(e.to_string()))?;
        if &bytes[..8] != MAGIC {
            return Err(OpenError::Corrupt("not a kenesh key file".into()));
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap_or_default());
        if version > KEY_FORMAT_VERSION {
            return Err(OpenError::NewerFormat {
                found: u64::from(version),
                supported: u64::from(KEY_FORMAT_VERSION),
            });
        }
        // A slot torn at the end of the file (a partial append) is dropped with the tail.
        let slots = (body / SLOT as u64) as usize;
        kf.slots = slots;
        for i in 0..slots {
            let at = HEADER as usize + i * SLOT;
            let s = &bytes[at..at + SLOT];
            match decode(s) {
                Some((id, key)) if !kf.keys.contains_key(&id) => {
                    kf.keys.insert(id, (i, key));
                }
                _ => {
                    // Free, torn, or a duplicate: zero it at the next sync if it is not zeros.
                    if s.iter().any(|b| *b != 0) {
                        kf.staged.insert(i, Zeroizing::new([0u8; SLOT]));
                    }
                    kf.free.insert(i);
                }
            }
        }
        Ok(kf)
    }

    /// The file's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many keys it holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether it holds none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn erase_slot(&mut self, slot: usize) {
        self.staged.insert(slot, Zeroizing::new([0u8; SLOT]));
        self.free.insert(slot);
    }
}

impl KeyStore for KeyFile {
    fn get(&self, id: &KeyId) -> Option<PayloadKey> {
        self.keys.get(id).map(|(_, k)| k.clone())
    }

    fn put(&mut self, id: KeyId, key: &[u8; KEY_LEN]) -> Result<bool, StoreError> {
        if id.tier == Tier::Public || self.keys.contains_key(&id) {
            return Ok(false);
        }
        let slot = match self.free.pop_first() {
            Some(s) => s,
            None if self.slots < MAX_KEYS => {
                self.slots += 1;
                self.slots - 1
            }
            None => {
                return Err(StoreError::Io(format!(
                    "the key file holds {MAX_KEYS} keys"
                )));
            }
        };
        self.staged.insert(slot, encode(&id, key));
        self.keys.insert(id, (slot, Zeroizing::new(*key)));
        Ok(true)
    }

    fn remove(&mut self, id: &KeyId) -> Result<bool, StoreError> {
        match self.keys.remove(id) {
            Some((slot, mut key)) => {
                key.zeroize();
                self.erase_slot(slot);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn shred(&mut self, person: PersonId) -> Result<usize, StoreError> {
        let ids: Vec<KeyId> = self
            .keys
            .range(
                KeyId {
                    person,
                    tier: Tier::Public,
                    origin: 0,
                }..=KeyId {
                    person,
                    tier: Tier::Sensitive,
                    origin: u32::MAX,
                },
            )
            .map(|(id, _)| *id)
            .collect();
        for id in &ids {
            self.remove(id)?;
        }
        Ok(ids.len())
    }

    fn ids(&self) -> Vec<KeyId> {
        self.keys.keys().copied().collect()
    }

    fn sync(&mut self) -> Result<(), StoreError> {
        if self.staged.is_empty() {
            return Ok(());
        }
        for (slot, bytes) in &self.staged {
            let at = HEADER + (*slot as u64) * SLOT as u64;
            self.file.write_all_at(&bytes[..], at).map_err(io)?;
        }
        self.file.sync_data().map_err(io)?;
        self.staged.clear();
        Ok(())
    }
}
