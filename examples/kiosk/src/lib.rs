//! # kenesh-kiosk
//!
//! The program on the touch-screen PC in a village office (айыл өкмөтү): a local web page,
//! Kyrgyz first with Russian and English one tap away, where citizens file a local issue and
//! get a receipt number, support issues, see the municipality's issues, join or propose an
//! initiative group, check in to an event and ask for free legal aid; and where staff,
//! behind a PIN, move issues along with a public update, manage groups and events, and
//! review conflicts and flags.
//!
//! The program is thin: records are the model's (`kenesh-model`), validated there, and
//! stored in a [`kenesh::Replica`] in the data directory, so the kiosk works with no
//! network at all; a background thread syncs with the server when it answers
//! ([`Kiosk::spawn_sync`]).
//!
//! - [`config`]: the settings (TOML file and flags).
//! - [`i18n`]: the Fluent message files, embedded.
//! - [`web`]: the axum router and the pages (server-rendered HTML forms).
#![forbid(unsafe_code)]

pub mod config;
pub mod i18n;
mod local;
pub mod web;

use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use kenesh::{Options, Replica};
use kenesh_model::{Id, IdGen, MunicipalityId, OrganisationId, Scope, SoateCode};
use kenesh_sync::{PublicKeys, Secret};

pub use config::Config;
pub use web::router;

use crate::i18n::I18n;
use crate::local::{Counter, load_identity};

/// Why the kiosk did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is not usable.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// A file in the data directory failed.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The replica did not open.
    #[error("the replica: {0}")]
    Replica(#[from] kenesh::OpenError),
    /// A message file is broken.
    #[error(transparent)]
    I18n(#[from] i18n::I18nError),
}

/// What the page shows about sync.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncState {
    /// When the last sync completed (Unix ms).
    pub last_ok_ms: Option<u64>,
    /// When the last attempt was made.
    pub last_attempt_ms: Option<u64>,
    /// Failed attempts since the last success.
    pub failures: u32,
    /// Why the last attempt failed (English, for the log and the staff page).
    pub last_error: Option<String>,
    /// The message key of the last failure's kind (the pages show it localised).
    pub last_error_key: Option<&'static str>,
    /// Keys destroyed by public-kiosk purges so far.
    pub purged_keys: usize,
    /// When the op store was last tidied (its tail sealed, its file compacted: after a
    /// successful background sync, once a day).
    pub last_tidy_ms: Option<u64>,
}

/// How often the background sync tidies the op store after a successful sync: it rewrites
/// part of the file, so not after every sync.
pub const TIDY_INTERVAL_MS: u64 = 24 * 60 * 60 * 1000;

/// Why one sync did not happen.
#[derive(Debug, thiserror::Error)]
pub enum SyncFailure {
    /// No server is configured.
    #[error("no server is configured")]
    NoServer,
    /// The server did not answer.
    #[error("connecting to {0}: {1}")]
    Connect(String, std::io::Error),
    /// The session failed.
    #[error(transparent)]
    Sync(#[from] kenesh::SyncError),
    /// The purge after the sync failed.
    #[error("the purge failed: {0}")]
    Purge(kenesh_sync::StoreError),
}

impl SyncFailure {
    /// The message key the pages show for this kind of failure.
    #[must_use]
    pub fn message_key(&self) -> &'static str {
        match self {
            SyncFailure::NoServer => "sync-error-no-server",
            SyncFailure::Connect(..) => "sync-error-connect",
            SyncFailure::Sync(kenesh::SyncError::Session(_)) => "sync-error-refused",
            SyncFailure::Sync(_) => "sync-error-link",
            SyncFailure::Purge(_) => "sync-error-purge",
        }
    }
}

/// The running kiosk: its replica and what the pages share.
pub struct Kiosk {
    config: Config,
    replica: Mutex<Replica>,
    ids: Mutex<IdGen>,
    receipts: Mutex<Counter>,
    sync: Mutex<SyncState>,
    staff_sessions: Mutex<Vec<(String, u64)>>,
    stop: AtomicBool,
    last_request_ms: AtomicU64,
    syncing: AtomicBool,
    waiting: AtomicUsize,
    i18n: I18n,
    territory: SoateCode,
}

impl std::fmt::Debug for Kiosk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kiosk")
            .field("kiosk_code", &self.config.kiosk_code)
            .field("device_id", &self.config.device_id)
            .finish_non_exhaustive()
    }
}

/// Clears the syncing flag however the sync ends.
struct Syncing<'a>(&'a AtomicBool);

impl Drop for Syncing<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

/// The name of the device identity file in the data directory.
pub const IDENTITY_FILE: &str = "identity.key";
/// The name of the receipt counter file in the data directory.
pub const RECEIPTS_FILE: &str = "receipts.counter";

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a lock leaves plain data behind: keep serving.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The system clock, in Unix ms.
#[must_use]
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Kiosk {
    /// Opens the kiosk on its data directory: the device identity (made on first start),
    /// the replica, the receipt counter.
    ///
    /// # Errors
    /// [`StartError`].
    pub fn open(config: Config) -> Result<Arc<Kiosk>, StartError> {
        config.check()?;
        let dir = &config.data_dir;
        std::fs::create_dir_all(dir).map_err(|source| StartError::File {
            path: dir.clone(),
            source,
        })?;
        let secret = load_identity(&dir.join(IDENTITY_FILE))?;
        // Offline-only kiosks still need the server's keys to open: a placeholder that
        // no server holds.
        let server = config
            .server_keys()?
            .unwrap_or_else(|| Secret::from_bytes([0; 32]).public());
        let discriminator = u64::from_be_bytes({
            let mut b = [0u8; 8];
            b[..6].copy_from_slice(&secret.public().verify[..6]);
            b
        }) >> 16;
        let replica = Replica::open(dir, secret, config.device_id, server, Options::default())?;
        // Ids resume after the last one made here, so a clock set back (a village PC with a
        // flat CMOS battery) never repeats one.
        let last = kenesh_model::schema::EntityKind::ALL
            .iter()
            .flat_map(|kind| replica.state().records(*kind).map(|v| v.id))
            .filter(|id| id.0[10..] == discriminator.to_be_bytes()[2..])
            .max();
        let ids = match last {
            Some(last) => IdGen::resume(discriminator, last),
            None => IdGen::new(discriminator),
        };
        let receipts = Counter::open(dir.join(RECEIPTS_FILE))?;
        let territory = config
            .territory
            .parse()
            .map_err(|e: kenesh_model::SoateError| config::ConfigError::Invalid {
                field: "territory",
                reason: e.to_string(),
            })?;
        Ok(Arc::new(Kiosk {
            ids: Mutex::new(ids),
            replica: Mutex::new(replica),
            receipts: Mutex::new(receipts),
            sync: Mutex::new(SyncState::default()),
            staff_sessions: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
            last_request_ms: AtomicU64::new(0),
            syncing: AtomicBool::new(false),
            waiting: AtomicUsize::new(0),
            i18n: I18n::new()?,
            territory,
            config,
        }))
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// This kiosk's public keys (to enrol it with the server).
    #[must_use]
    pub fn public(&self) -> PublicKeys {
        lock(&self.replica).public()
    }

    /// The replica, locked (tests and tools read it; the pages write through it).
    pub fn replica(&self) -> MutexGuard<'_, Replica> {
        lock(&self.replica)
    }

    /// What the page shows about sync.
    #[must_use]
    pub fn sync_state(&self) -> SyncState {
        lock(&self.sync).clone()
    }

    /// Own commits not yet acknowledged by the server (while a sync holds the replica, the
    /// count from before it: the pages never wait for it).
    #[must_use]
    pub fn commits_waiting(&self) -> usize {
        match self.replica.try_lock() {
            Ok(r) => {
                let n = r.commits_waiting();
                self.waiting.store(n, Ordering::Relaxed);
                n
            }
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner().commits_waiting(),
            Err(std::sync::TryLockError::WouldBlock) => self.waiting.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn i18n(&self) -> &I18n {
        &self.i18n
    }

    pub(crate) fn territory(&self) -> SoateCode {
        self.territory
    }

    pub(crate) fn municipality(&self) -> MunicipalityId {
        MunicipalityId(Id::from_u128(self.config.municipality))
    }

    pub(crate) fn scope(&self) -> Scope {
        Scope::Municipality(self.municipality())
    }

    pub(crate) fn centre(&self) -> OrganisationId {
        OrganisationId(Id::from_u128(self.config.legal_aid_centre))
    }

    /// A new record id, made here.
    pub(crate) fn new_id(&self, now: u64) -> Option<Id> {
        lock(&self.ids).next(now).ok()
    }

    /// The next receipt number, durable before it is returned.
    pub(crate) fn next_receipt(&self) -> std::io::Result<u32> {
        lock(&self.receipts).next()
    }

    pub(crate) fn staff_sessions(&self) -> MutexGuard<'_, Vec<(String, u64)>> {
        lock(&self.staff_sessions)
    }

    /// One sync with the configured server now: connects, runs the session, and in
    /// public-kiosk mode purges what the server has confirmed. The sync state records the
    /// outcome either way.
    ///
    /// # Errors
    /// [`SyncFailure`].
    pub fn sync_once(&self) -> Result<kenesh::SyncReport, SyncFailure> {
        let result = self.try_sync();
        let mut s = lock(&self.sync);
        s.last_attempt_ms = Some(now_ms());
        match &result {
            Ok((report, purged)) => {
                s.last_ok_ms = Some(report.at_ms);
                s.failures = 0;
                s.last_error = None;
                s.last_error_key = None;
                s.purged_keys += purged;
            }
            Err(e) => {
                s.failures = s.failures.saturating_add(1);
                s.last_error = Some(e.to_string());
                s.last_error_key = Some(e.message_key());
            }
        }
        result.map(|(r, _)| r)
    }

    fn try_sync(&self) -> Result<(kenesh::SyncReport, usize), SyncFailure> {
        let server = self.config.server.as_deref().ok_or(SyncFailure::NoServer)?;
        let addrs: Vec<_> = server
            .to_socket_addrs()
            .map_err(|e| SyncFailure::Connect(server.into(), e))?
            .collect();
        let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
        let mut stream = None;
        for a in addrs {
            match TcpStream::connect_timeout(&a, Duration::from_secs(10)) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = e,
            }
        }
        let stream = stream.ok_or_else(|| SyncFailure::Connect(server.into(), last))?;
        // A stalled link must not hold the replica for ever.
        let timeout = Some(Duration::from_secs(60));
        let _ = stream.set_read_timeout(timeout);
        let _ = stream.set_write_timeout(timeout);
        let _ = stream.set_nodelay(true);
        let seed = local::random_bytes();
        let mut replica = lock(&self.replica);
        self.syncing.store(true, Ordering::Relaxed);
        let _done = Syncing(&self.syncing);
        let report = replica.sync_over(stream, seed, now_ms())?;
        let purged = if self.config.public_mode {
            replica.purge().map_err(SyncFailure::Purge)?
        } else {
            0
        };
        Ok((report, purged))
    }

    /// Starts the background sync: every `sync_interval_secs` while the server answers,
    /// backing off (doubling, up to 10 minutes) while it does not. Returns `None` when no
    /// server is configured. [`Kiosk::stop`] ends it.
    pub fn spawn_sync(self: &Arc<Self>) -> Option<std::thread::JoinHandle<()>> {
        self.config.server.as_ref()?;
        let kiosk = Arc::clone(self);
        Some(std::thread::spawn(move || {
            let base = kiosk.config.sync_interval_secs.max(1);
            let mut first = true;
            loop {
                if kiosk.stop.load(Ordering::Relaxed) {
                    return;
                }
                // Wait for a quiet screen, but not for ever — and not before the first sync
                // after a start: no one is in the middle of anything yet, and a page opened
                // at once (polling) must not put off the kiosk's first sync.
                let waited_from = now_ms();
                while !first
                    && now_ms().saturating_sub(kiosk.last_request_ms.load(Ordering::Relaxed))
                        < kiosk.quiet_ms()
                    && now_ms().saturating_sub(waited_from) < 600_000
                {
                    if kiosk.stop.load(Ordering::Relaxed) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                first = false;
                let delay = match kiosk.sync_once() {
                    Ok(_) => {
                        let due = kiosk
                            .sync_state()
                            .last_tidy_ms
                            .is_none_or(|t| now_ms().saturating_sub(t) >= TIDY_INTERVAL_MS);
                        if due && let Err(e) = kiosk.tidy() {
                            eprintln!("kiosk: tidying the op store failed: {e}");
                        }
                        base
                    }
                    Err(e) => {
                        let failures = kiosk.sync_state().failures.min(16);
                        eprintln!("kiosk: sync failed ({failures} in a row): {e}");
                        base.saturating_mul(1 << failures.min(10))
                            .min(base.max(600))
                    }
                };
                let until = std::time::Instant::now() + Duration::from_secs(delay);
                while std::time::Instant::now() < until {
                    if kiosk.stop.load(Ordering::Relaxed) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }))
    }

    /// Tidies the op store now ([`Replica::tidy`]: the last records compressed, the file
    /// compacted to what it holds); the background sync does it once a day. Holds the
    /// replica meanwhile, as a sync does.
    ///
    /// # Errors
    /// When the store fails (it is then as it was).
    pub fn tidy(&self) -> Result<(), kenesh_sync::StoreError> {
        let mut replica = lock(&self.replica);
        self.syncing.store(true, Ordering::Relaxed);
        let _done = Syncing(&self.syncing);
        replica.tidy()?;
        lock(&self.sync).last_tidy_ms = Some(now_ms());
        Ok(())
    }

    /// Whether a sync holds the replica now (pages wait for it, or say so).
    #[must_use]
    pub fn is_syncing(&self) -> bool {
        self.syncing.load(Ordering::Relaxed)
    }

    /// Notes that someone is using the screen (the router calls it on every request).
    pub fn touched(&self) {
        self.last_request_ms.store(now_ms(), Ordering::Relaxed);
    }

    /// How long the background sync waits after the last request before it starts: a sync
    /// holds the replica, so it goes while no one is at the screen (at most the sync
    /// interval, and never longer than 10 minutes in all).
    fn quiet_ms(&self) -> u64 {
        self.config.sync_interval_secs.clamp(1, 30) * 1000
    }

    /// Asks the background sync to end.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
