//! # kenesh
//!
//! The embedding API of kenesh: a [`Replica`] is one device's copy of the data, on a
//! directory (or in memory for tests), with typed operations for every entity of
//! `kenesh-model`, queries, and a sync entry point over any byte stream the app provides.
//!
//! - **Writes** go through [`Replica::at`] (the caller passes the time, in Unix ms) or
//!   [`Replica::at_system_time`] (reads the system clock; the one place that does). Every
//!   write validates the record with the model first (`Record::validate`), refuses with a
//!   typed [`WriteError`] naming the field, and only then becomes ops: each op names the
//!   persons whose data it holds, personal and sensitive values are sealed with per-person
//!   keys ([`kenesh_sync::Device::seal`]), and the commit is made durable before the call
//!   returns. A refused write changes nothing.
//! - **Reads** ([`Replica::get`], [`Replica::issues`], [`Replica::subject_access`], …)
//!   open sealed values with the keys held here; a value whose key is missing (withheld,
//!   erased) reads as absent, never as garbage ([`Replica::fields`] shows what is readable
//!   of a record that cannot be read whole).
//! - **Storage**: `dir/ops.redb` holds the ops (sealed values only, for personal and
//!   sensitive data); `dir/keys.bin` holds the payload keys apart, overwritten in place
//!   when an erasure destroys them.
//! - **Sync** ([`Replica::sync_over`]) drives one session with the server over a
//!   `Read + Write` stream.
//!
//! ```
//! use kenesh::{Options, Replica};
//! use kenesh_model::{
//!     Channel, Id, Issue, IssueCategory, IssueStatus, Moderation, MunicipalityId, RecordMeta,
//!     Reporter, Scope, SoateCode, Stamp, DeviceId, Tier, Timestamp, Visibility,
//!     text::LocalizedText,
//! };
//! use kenesh_sync::Secret;
//!
//! let server = Secret::from_bytes([0xee; 32]).public();
//! let options = Options::seeded([7; 32]);
//! let mut replica = Replica::in_memory(Secret::from_bytes([1; 32]), 1, server, options)?;
//!
//! let now = 1_780_000_000_000;
//! let muni = MunicipalityId(Id::from_u128(1));
//! let stamp = Stamp { at: Timestamp(now), device: DeviceId(1), by: None };
//! let issue = Issue {
//!     meta: RecordMeta::new(Id::from_u128(42), Scope::Municipality(muni), Tier::Public, stamp),
//!     title: LocalizedText::ky("Көпүрө бузулду"),
//!     description: LocalizedText::ky("Суу көпүрөнү алып кетти"),
//!     category: IssueCategory::Roads,
//!     territory: "41705410000010".parse()?,
//!     location: None,
//!     place: None,
//!     reported_by: Reporter::Anonymous,
//!     channel: Channel::Kiosk,
//!     status: IssueStatus::Submitted,
//!     close_reason: None,
//!     responsible: None,
//!     group: None,
//!     duplicate_of: None,
//!     supporters: Default::default(),
//!     paper_supports: vec![],
//!     updates: vec![],
//!     comments: vec![],
//!     visibility: Visibility::Public,
//!     moderation: Moderation::Pending,
//!     receipt: None,
//!     beneficiaries_estimate: None,
//! };
//! replica.at(now).create(&issue)?;
//! replica.at(now + 1).set_status::<Issue, _>(issue.meta.id, IssueStatus::Published)?;
//! let published = replica.issues(Some(muni), Some(IssueStatus::Published));
//! assert_eq!(published.len(), 1);
//! assert_eq!(published[0].title, issue.title);
//! // A step the workflow forbids is refused before any op is made.
//! assert!(replica.at(now + 2).set_status::<Issue, _>(issue.meta.id, IssueStatus::Draft).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod codec;
mod entity;
mod net;
mod read;
mod write;

use std::path::{Path, PathBuf};

use kenesh_store::{KeyFile, RedbStore};
use kenesh_sync::{Device, KeyStore, MemKeys, MemStore, PublicKeys, Secret, Store, StoreError};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

pub use entity::{AnyRecord, Entity};
pub use net::{SyncError, SyncReport};
pub use read::{Mention, RecordFields, Review, SubjectAccess};
pub use write::{FRAME_BUDGET, WriteError, Writer};

/// The name of the op store inside a replica's directory.
pub const OPS_FILE: &str = "ops.redb";

/// How a replica is set up.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Seeds the random source of payload keys; `None` draws from the operating system.
    /// Seed only in tests: keys from a known seed protect nothing.
    pub seed: Option<[u8; 32]>,
}

impl Options {
    /// Options with keys from a seeded generator (tests, reproducible runs).
    #[must_use]
    pub fn seeded(seed: [u8; 32]) -> Options {
        Options { seed: Some(seed) }
    }
}

/// Why a replica did not open.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The directory could not be made.
    #[error("the replica directory {path}: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The op store did not open.
    #[error("the op store: {0}")]
    Store(#[from] kenesh_store::OpenError),
    /// The key file did not open.
    #[error("the key file: {0}")]
    KeyFile(kenesh_store::OpenError),
    /// The device's records did not replay.
    #[error(transparent)]
    Device(#[from] kenesh_sync::OpenError),
    /// The key store failed.
    #[error("the key store failed: {0}")]
    Keys(#[from] StoreError),
}

/// One device's replica: its op store, its payload keys and the merged state.
pub struct Replica<S: Store = RedbStore> {
    pub(crate) device: Device<S>,
    pub(crate) rng: ChaCha20Rng,
}

impl<S: Store> std::fmt::Debug for Replica<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replica")
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

/// The name of the payload key store inside a replica's directory (a file of its own that
/// overwrites what it destroys: see `kenesh_store::KeyFile`).
pub const KEYS_FILE: &str = "keys.bin";

/// The key store of a replica directory: the one place that chooses it.
fn open_keys(dir: &Path) -> Result<Box<dyn KeyStore>, OpenError> {
    Ok(Box::new(
        KeyFile::open(dir.join(KEYS_FILE)).map_err(OpenError::KeyFile)?,
    ))
}

fn rng(options: &Options) -> ChaCha20Rng {
    match options.seed {
        Some(seed) => ChaCha20Rng::from_seed(seed),
        None => ChaCha20Rng::from_os_rng(),
    }
}

impl Replica<RedbStore> {
    /// Opens (or creates) the replica in `dir`: the op store `dir/ops.redb` and the key
    /// file `dir/keys.bin` beside it (keys live apart from the ops, so an erasure can
    /// destroy them for good). `identity` is the device's secret, `device_id` its enrolled number,
    /// `server` the server's public keys as given at enrolment.
    ///
    /// # Errors
    /// [`OpenError`] when the directory, the store, the keys or the replay fail.
    pub fn open(
        dir: impl AsRef<Path>,
        identity: Secret,
        device_id: u32,
        server: PublicKeys,
        options: Options,
    ) -> Result<Replica<RedbStore>, OpenError> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|source| OpenError::Dir {
            path: dir.to_path_buf(),
            source,
        })?;
        let store = RedbStore::open(dir.join(OPS_FILE))?;
        let keys = open_keys(dir)?;
        let device = Device::open(store, identity, device_id, server)?.with_keys(keys)?;
        Ok(Replica {
            device,
            rng: rng(&options),
        })
    }
}

impl Replica<MemStore> {
    /// A replica in memory (tests, previews): nothing survives it.
    ///
    /// # Errors
    /// [`OpenError`] when the device cannot be set up.
    pub fn in_memory(
        identity: Secret,
        device_id: u32,
        server: PublicKeys,
        options: Options,
    ) -> Result<Replica<MemStore>, OpenError> {
        let device = Device::open(MemStore::new(), identity, device_id, server)?
            .with_keys(Box::new(MemKeys::new()))?;
        Ok(Replica {
            device,
            rng: rng(&options),
        })
    }
}

impl<S: Store> Replica<S> {
    /// A writer stamping its ops at `now_ms` (Unix milliseconds, from the caller's clock).
    pub fn at(&mut self, now_ms: u64) -> Writer<'_, S> {
        Writer::new(self, now_ms)
    }

    /// A writer stamping its ops with the system clock's time now: a convenience for apps;
    /// tests and replays use [`Replica::at`].
    pub fn at_system_time(&mut self) -> Writer<'_, S> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Writer::new(self, now)
    }

    /// The device underneath (its state, its commits, its keys).
    #[must_use]
    pub fn device(&self) -> &Device<S> {
        &self.device
    }

    /// The merged state.
    #[must_use]
    pub fn state(&self) -> &kenesh_merge::State {
        self.device.state()
    }

    /// Every (scope, tier) state hash: equal on two replicas exactly when they hold the same
    /// ops.
    #[must_use]
    pub fn state_hashes(
        &self,
    ) -> std::collections::BTreeMap<(kenesh_model::Scope, kenesh_model::Tier), [u8; 32]> {
        self.device.state().state_hashes()
    }

    /// Public-kiosk mode: destroys the payload keys of this device's own ops that the
    /// server confirmed as durable in an earlier session than the last one
    /// ([`Device::purge`]), so personal and sensitive values taken here can no longer be
    /// read here (the server and the replicas allowed to read them keep theirs). Call it
    /// after a successful sync. Returns how many keys were destroyed.
    ///
    /// # Errors
    /// When the key store fails.
    pub fn purge(&mut self) -> Result<usize, StoreError> {
        self.device.purge()
    }

    /// Tidies the op store while the replica is idle: the redb store seals its last
    /// uncompressed records into a compressed segment and compacts its file to what it
    /// holds (redb grows a file by doubling it). The records, the state and what is durable
    /// are unchanged. It rewrites part of the file, so call it now and then while no one
    /// waits, not after every write: a kiosk does it after a successful sync once a day.
    ///
    /// # Errors
    /// When the store fails; it is then as it was.
    pub fn tidy(&mut self) -> Result<(), StoreError> {
        self.device.tidy()
    }

    /// This device's commits the server has not acknowledged yet (they wait for a sync).
    #[must_use]
    pub fn commits_waiting(&self) -> usize {
        self.device.unacked_count()
    }

    /// The device's public keys (to enrol it with the server).
    #[must_use]
    pub fn public(&self) -> PublicKeys {
        self.device.public()
    }
}
