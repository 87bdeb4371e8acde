//! The kenesh sync server program, as a library the binary and the tests call: the TOML
//! configuration, the data directory (the server's identity, its op store, key file and admin
//! log), enrolment and revocation of devices, and restore from a backup.
//!
//! A backup is a copy of `server.redb` taken while the server is stopped. `kenesh-server
//! restore --config … --from <backup>` opens it in a new epoch and re-applies, in order, the
//! grant changes and revocations of `admin.log` (each grant change with the device seq it took
//! effect after), so ops a kiosk re-sends are judged as they were before the backup was
//! needed. Keep `admin.log` and `keys.bin` out of what a restore overwrites.
//!
//! ```toml
//! listen = "127.0.0.1:7447"
//! data_dir = "/var/lib/kenesh"
//!
//! [[device]]
//! id = 10
//! name = "Kara-Bak ayil okmotu kiosk"
//! public_keys = "…128 hex digits printed by the device…"
//! grants = [
//!   { municipality = "1", tier = "personal", access = "read" },
//!   { municipality = "1", tier = "sensitive", access = "write" },
//! ]
//!
//! [[device]]
//! id = 50
//! name = "Legal-aid NGO"
//! public_keys = "…"
//! grants = [{ municipality = "1", tier = "sensitive", access = "read" }]
//! purposes = ["legal_aid"]   # a third party: served only what consent covers
//! ```
//!
//! A municipality or organisation is its id: a number (`"1"`) or a UUID.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

use kenesh_model::{Id, MunicipalityId, OrganisationId, Purpose, Scope, Tier};
use kenesh_store::{KeyFile, RedbStore};
use kenesh_sync::{Access, GrantChange, Grants, PublicKeys, Secret, Server, ServerConfig};
use serde::{Deserialize, Serialize};

/// The server's own device number (the sync library's default).
pub const SERVER_DEVICE: u32 = 0;

/// Why the program stops. Each names what to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration file could not be read.
    #[error("cannot read the configuration {path}: {source}")]
    ReadConfig {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The configuration is not valid TOML or has a wrong key or value (the message names
    /// the line and column).
    #[error("the configuration {path} is wrong: {detail}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What and where (line, column, key).
        detail: String,
    },
    /// The data directory cannot be made or written.
    #[error("cannot write the data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The store or key file failed to open.
    #[error("cannot open the store in {path}: {detail}")]
    Store {
        /// The directory.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// The listen address is taken by another program.
    #[error("the address {0} is in use by another program (is a server already running?)")]
    AddressInUse(String),
    /// The listen address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("the server stopped: {0}")]
    Serve(String),
}

/// A change the operator made that a restore from backup must make again: kept in
/// `admin.log` in the data directory, apart from the store and its backups (as the key file
/// is), and re-applied in order by [`DataDir::restore`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminChange {
    /// A device was enrolled, or re-keyed and re-granted.
    Enrol {
        /// Its public keys.
        keys: PublicKeys,
        /// Its grants, with the seq they took effect after.
        change: GrantChange,
    },
    /// A device's grants changed, after the seq the server held of it then.
    Grants(GrantChange),
    /// A device was revoked from a seq on.
    Revoke {
        /// The device.
        device: u32,
        /// Its first seq refused.
        from_seq: u64,
    },
}

/// The largest entry of the admin log (a grant set is a few hundred bytes).
const MAX_ADMIN_ENTRY: usize = 64 * 1024;

/// An admin log entry's check: the first 4 bytes of the BLAKE3 hash of its body.
fn admin_check(body: &[u8]) -> [u8; 4] {
    let h = blake3::hash(body);
    [
        h.as_bytes()[0],
        h.as_bytes()[1],
        h.as_bytes()[2],
        h.as_bytes()[3],
    ]
}

/// One grant of a device, as written in the configuration.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GrantSpec {
    /// A municipality's id (a number or a UUID).
    #[serde(default)]
    pub municipality: Option<String>,
    /// An organisation's id (a number or a UUID).
    #[serde(default)]
    pub organisation: Option<String>,
    /// `public`, `personal` or `sensitive`: this tier and the ones below it.
    pub tier: String,
    /// `read` or `write`.
    pub access: String,
}

/// A registered device, as written in the configuration.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DeviceSpec {
    /// Its number (not 0: that is the server).
    pub id: u32,
    /// A name for people.
    #[serde(default)]
    pub name: String,
    /// Its public keys, 128 hex digits (the device prints them on first start).
    pub public_keys: String,
    /// What it may read and write.
    #[serde(default)]
    pub grants: Vec<GrantSpec>,
    /// For a third party: the purposes its use falls under (`participation`,
    /// `training_records`, `legal_aid`, `contact`).
    #[serde(default)]
    pub purposes: Option<Vec<String>>,
}

/// The configuration file.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where to listen, `host:port`.
    pub listen: String,
    /// Where the server keeps its identity, store and keys.
    pub data_dir: PathBuf,
    /// The registered devices.
    #[serde(default, rename = "device")]
    pub devices: Vec<DeviceSpec>,
}

fn config_error(path: &Path, detail: impl Into<String>) -> Error {
    Error::Config {
        path: path.to_owned(),
        detail: detail.into(),
    }
}

fn parse_id(s: &str) -> Option<Id> {
    s.parse::<u128>()
        .ok()
        .map(Id::from_u128)
        .or_else(|| s.parse::<Id>().ok())
}

impl Config {
    /// Reads and checks the configuration at `path`.
    ///
    /// # Errors
    /// [`Error::ReadConfig`], or [`Error::Config`] naming the line, key or device at fault.
    pub fn load(path: &Path) -> Result<Config, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::ReadConfig {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(path, &text)
    }

    /// Parses and checks configuration text (`path` names it in errors).
    ///
    /// # Errors
    /// [`Error::Config`].
    pub fn parse(path: &Path, text: &str) -> Result<Config, Error> {
        let config: Config =
            toml::from_str(text).map_err(|e| config_error(path, e.to_string().trim_end()))?;
        let mut seen = std::collections::BTreeSet::new();
        for d in &config.devices {
            if d.id == SERVER_DEVICE {
                return Err(config_error(path, "device 0 is the server itself"));
            }
            if !seen.insert(d.id) {
                return Err(config_error(
                    path,
                    format!("device {} is listed twice", d.id),
                ));
            }
            d.keys().map_err(|e| config_error(path, e))?;
            d.grants().map_err(|e| config_error(path, e))?;
            d.purposes().map_err(|e| config_error(path, e))?;
        }
        Ok(config)
    }
}

impl DeviceSpec {
    /// Its public keys.
    ///
    /// # Errors
    /// What is wrong with `public_keys`.
    pub fn keys(&self) -> Result<PublicKeys, String> {
        PublicKeys::from_hex(&self.public_keys).ok_or_else(|| {
            format!(
                "device {}: public_keys must be 128 hex digits (the device prints them)",
                self.id
            )
        })
    }

    /// Its grants.
    ///
    /// # Errors
    /// What is wrong with a grant.
    pub fn grants(&self) -> Result<Grants, String> {
        let mut g = Grants::none();
        for (i, spec) in self.grants.iter().enumerate() {
            let at = format!("device {}, grant {}", self.id, i + 1);
            let scope = match (&spec.municipality, &spec.organisation) {
                (Some(m), None) => Scope::Municipality(MunicipalityId(
                    parse_id(m).ok_or_else(|| format!("{at}: municipality {m:?} is not an id"))?,
                )),
                (None, Some(o)) => Scope::Organisation(OrganisationId(
                    parse_id(o).ok_or_else(|| format!("{at}: organisation {o:?} is not an id"))?,
                )),
                _ => return Err(format!("{at}: give a municipality or an organisation")),
            };
            let tier = match spec.tier.as_str() {
                "public" => Tier::Public,
                "personal" => Tier::Personal,
                "sensitive" => Tier::Sensitive,
                t => {
                    return Err(format!(
                        "{at}: tier {t:?} is not public, personal or sensitive"
                    ));
                }
            };
            let access = match spec.access.as_str() {
                "read" => Access::Read,
                "write" => Access::Write,
                a => return Err(format!("{at}: access {a:?} is not read or write")),
            };
            g = g.up_to(scope, tier, access);
        }
        Ok(g)
    }

    /// Its purposes, for a third party.
    ///
    /// # Errors
    /// An unknown purpose.
    pub fn purposes(&self) -> Result<Option<Vec<Purpose>>, String> {
        let Some(list) = &self.purposes else {
            return Ok(None);
        };
        list.iter()
            .map(|p| match p.as_str() {
                "participation" => Ok(Purpose::Participation),
                "training_records" => Ok(Purpose::TrainingRecords),
                "legal_aid" => Ok(Purpose::LegalAid),
                "contact" => Ok(Purpose::Contact),
                other => Err(format!("device {}: purpose {other:?} is unknown", self.id)),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

/// The data directory: the server's identity (`server.key`), op store (`server.redb`) and
/// key file (`keys.bin`).
#[derive(Clone, Debug)]
pub struct DataDir(pub PathBuf);

impl DataDir {
    /// Makes the directory if needed and checks it can be written.
    ///
    /// # Errors
    /// [`Error::DataDir`].
    pub fn prepare(path: &Path) -> Result<DataDir, Error> {
        let err = |source| Error::DataDir {
            path: path.to_owned(),
            source,
        };
        std::fs::create_dir_all(path).map_err(err)?;
        let probe = path.join(".write-test");
        std::fs::write(&probe, b"kenesh").map_err(err)?;
        std::fs::remove_file(&probe).map_err(err)?;
        Ok(DataDir(path.to_owned()))
    }

    /// The server's identity: made from the OS's randomness on first start (file mode 0600).
    ///
    /// # Errors
    /// [`Error::DataDir`] when it cannot be read or written, or is not 32 bytes.
    pub fn identity(&self) -> Result<Secret, Error> {
        let path = self.0.join("server.key");
        let err = |source| Error::DataDir {
            path: path.clone(),
            source,
        };
        match std::fs::read(&path) {
            Ok(bytes) => {
                let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                    err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "not a 32-byte server key",
                    ))
                })?;
                Ok(Secret::from_bytes(key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                use rand::TryRngCore;
                let mut key = [0u8; 32];
                rand::rngs::OsRng
                    .try_fill_bytes(&mut key)
                    .map_err(|e| err(std::io::Error::other(e.to_string())))?;
                write_private(&path, &key).map_err(err)?;
                Ok(Secret::from_bytes(key))
            }
            Err(e) => Err(err(e)),
        }
    }

    /// Opens the server's replica: its store and key file, with `config`'s devices enrolled
    /// (new ones), re-keyed, re-granted and given purposes as the configuration says.
    ///
    /// # Errors
    /// [`Error::Store`].
    pub fn open_server(&self, devices: &[DeviceSpec]) -> Result<Server<RedbStore>, Error> {
        let store_err = |detail: String| Error::Store {
            path: self.0.clone(),
            detail,
        };
        let secret = self.identity()?;
        let store =
            RedbStore::open(self.0.join("server.redb")).map_err(|e| store_err(e.to_string()))?;
        let keys = KeyFile::open(self.0.join("keys.bin")).map_err(|e| store_err(e.to_string()))?;
        let mut server = Server::open(store, secret, ServerConfig::default())
            .map_err(|e| store_err(e.to_string()))?
            .with_keys(Box::new(keys))
            .map_err(|e| store_err(e.to_string()))?;
        for d in devices {
            // Checked when the configuration was loaded.
            let (keys, grants, purposes) = (
                d.keys().map_err(store_err)?,
                d.grants().map_err(store_err)?,
                d.purposes().map_err(store_err)?,
            );
            let info = server.device(d.id).cloned();
            match info {
                Some(i) if i.keys == keys => {
                    if i.grants != grants {
                        let change = server
                            .set_grants(d.id, grants)
                            .map_err(|e| store_err(e.to_string()))?;
                        self.log_change(&AdminChange::Grants(change))?;
                    }
                }
                _ => {
                    let change = server
                        .enrol(d.id, keys, grants)
                        .map_err(|e| store_err(e.to_string()))?;
                    self.log_change(&AdminChange::Enrol { keys, change })?;
                }
            }
            if server.device(d.id).map(|i| i.purposes.clone()) != Some(purposes.clone()) {
                server
                    .set_purposes(d.id, purposes)
                    .map_err(|e| store_err(e.to_string()))?;
            }
        }
        Ok(server)
    }
}

impl DataDir {
    fn admin_log(&self) -> PathBuf {
        self.0.join("admin.log")
    }

    /// Appends a change to the admin log and syncs it to disk. A last entry torn by a crash
    /// (never confirmed) is cut off first.
    ///
    /// # Errors
    /// [`Error::DataDir`] when the log cannot be written or is damaged.
    pub fn log_change(&self, change: &AdminChange) -> Result<(), Error> {
        use std::io::Write;
        let path = self.admin_log();
        let err = |source| Error::DataDir {
            path: path.clone(),
            source,
        };
        let (_, good) = self.read_admin_log()?;
        let body =
            postcard::to_allocvec(change).map_err(|e| err(std::io::Error::other(e.to_string())))?;
        let mut entry = (body.len() as u32).to_le_bytes().to_vec();
        entry.extend_from_slice(&admin_check(&body));
        entry.extend_from_slice(&body);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(err)?;
        f.set_len(good).map_err(err)?;
        std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(good)).map_err(err)?;
        f.write_all(&entry).map_err(err)?;
        f.sync_all().map_err(err)
    }

    /// The changes in the admin log, in the order they were made. A last entry torn by a
    /// crash while it was appended (never confirmed) is left out; damage anywhere else is an
    /// error.
    ///
    /// # Errors
    /// [`Error::DataDir`] when the log cannot be read or is damaged.
    pub fn admin_changes(&self) -> Result<Vec<AdminChange>, Error> {
        Ok(self.read_admin_log()?.0)
    }

    /// The log's entries and the length of its good part (a torn last entry after it).
    fn read_admin_log(&self) -> Result<(Vec<AdminChange>, u64), Error> {
        let path = self.admin_log();
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
            Err(source) => return Err(Error::DataDir { path, source }),
        };
        let damaged = |at: usize| Error::DataDir {
            path: path.clone(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("the admin log is damaged at byte {at}"),
            ),
        };
        let mut out = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let Some(head) = bytes.get(at..at + 8) else {
                break; // a torn header: the last entry was never confirmed
            };
            let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
            if len > MAX_ADMIN_ENTRY {
                return Err(damaged(at));
            }
            let Some(body) = bytes.get(at + 8..at + 8 + len) else {
                break; // a torn body, likewise
            };
            if admin_check(body) != head[4..8] {
                if at + 8 + len == bytes.len() {
                    break; // the last entry, torn within its length
                }
                return Err(damaged(at));
            }
            match postcard::take_from_bytes::<AdminChange>(body) {
                Ok((change, [])) => out.push(change),
                _ => return Err(damaged(at)),
            }
            at += 8 + len;
        }
        Ok((out, at as u64))
    }

    /// Restores the server's store from `backup` (a copy of `server.redb` taken while the
    /// server was stopped): the copy is opened in a new epoch (above the replaced store's,
    /// and the time in milliseconds, so no device's cursor names it), the admin log's changes
    /// are re-applied in order — grant changes with their boundaries, so an op the lost
    /// epoch accepted is judged the same when its device re-sends it — and it replaces
    /// `server.redb` in one rename (the old file is kept as `server.redb.replaced-<its epoch>`). The key file is not touched
    /// (keys only move forward). The server must be stopped. Returns the new epoch and how
    /// many changes were re-applied.
    ///
    /// # Errors
    /// [`Error::Store`] when the backup cannot be opened or the store written;
    /// [`Error::DataDir`] when a file cannot be copied or renamed.
    pub fn restore(&self, backup: &Path, now_ms: u64) -> Result<(u64, usize), Error> {
        let store_err = |detail: String| Error::Store {
            path: self.0.clone(),
            detail,
        };
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| Error::DataDir { path, source }
        };
        let live = self.0.join("server.redb");
        let staging = self.0.join("server.redb.restoring");
        let secret = self.identity()?;
        let changes = self.admin_changes()?;
        // A running server holds the store's lock: refuse rather than pull it away.
        let old_epoch = if live.exists() {
            let f = std::fs::File::open(&live).map_err(io(&live))?;
            if let Err(std::fs::TryLockError::WouldBlock) = f.try_lock() {
                return Err(store_err(
                    "server.redb is in use: stop the server before restoring".into(),
                ));
            }
            drop(f);
            // The replaced store's epoch, if it still opens (it may be why we restore).
            RedbStore::open(&live)
                .ok()
                .and_then(|s| Server::open(s, secret.clone(), ServerConfig::default()).ok())
                .map_or(0, |s| s.epoch())
        } else {
            0
        };
        match std::fs::remove_file(&staging) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&staging)(e)),
        }
        std::fs::copy(backup, &staging).map_err(io(backup))?;
        let open_staging = || RedbStore::open(&staging).map_err(|e| store_err(e.to_string()));
        let backup_epoch = Server::open(open_staging()?, secret.clone(), ServerConfig::default())
            .map_err(|e| store_err(e.to_string()))?
            .epoch();
        // Above every epoch known: the replaced store's (if it opens), the backup's, and
        // every epoch the admin log's changes were made in (the lost epoch's, should the
        // replaced store be unreadable and the clock behind): devices show receipts of the
        // epochs before this one only.
        let logged_epoch = changes
            .iter()
            .filter_map(|c| match c {
                AdminChange::Enrol { change, .. } | AdminChange::Grants(change) => {
                    Some(change.epoch)
                }
                AdminChange::Revoke { .. } => None,
            })
            .max()
            .unwrap_or(0);
        let epoch = old_epoch
            .max(backup_epoch)
            .max(logged_epoch)
            .saturating_add(1)
            .max(now_ms);
        let mut server = Server::restore(open_staging()?, secret, ServerConfig::default(), epoch)
            .map_err(|e| store_err(e.to_string()))?;
        for c in &changes {
            let done = match c {
                AdminChange::Enrol { keys, change } => {
                    if server.device(change.device).is_none() {
                        server
                            .enrol(change.device, *keys, change.grants.clone())
                            .map(|_| ())
                    } else {
                        // Its keys are the configuration's again at the next start.
                        server.reapply_grants(change).map(|_| ())
                    }
                }
                AdminChange::Grants(g) => server.reapply_grants(g).map(|_| ()),
                AdminChange::Revoke { device, from_seq } => server.revoke(*device, *from_seq),
            };
            done.map_err(|e| store_err(e.to_string()))?;
        }
        server.sync().map_err(|e| store_err(e.to_string()))?;
        drop(server);
        // The replaced store is kept (never overwritten), then the restored one takes its
        // place in one rename: there is no moment without a server.redb.
        if live.exists() {
            let mut keep = self.0.join(format!("server.redb.replaced-{old_epoch}"));
            let mut n = 1;
            while keep.exists() {
                keep = self.0.join(format!("server.redb.replaced-{old_epoch}-{n}"));
                n += 1;
            }
            std::fs::copy(&live, &keep).map_err(io(&keep))?;
        }
        std::fs::rename(&staging, &live).map_err(io(&staging))?;
        std::fs::File::open(&self.0)
            .and_then(|d| d.sync_all())
            .map_err(io(&self.0))?;
        Ok((epoch, changes.len()))
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Messages an operator reads, Kyrgyz first, then Russian and English.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// Кыргызча.
    Ky,
    /// Русский.
    Ru,
    /// English.
    En,
}

impl Lang {
    /// From `KENESH_LANG` (`ky`, `ru`, `en`); Kyrgyz when unset or unknown.
    #[must_use]
    pub fn from_env() -> Lang {
        match std::env::var("KENESH_LANG").as_deref() {
            Ok("ru") => Lang::Ru,
            Ok("en") => Lang::En,
            _ => Lang::Ky,
        }
    }
}

/// The headline of an error in `lang` (the detail that follows is the error itself).
#[must_use]
pub fn headline(e: &Error, lang: Lang) -> &'static str {
    use Lang::{En, Ky, Ru};
    match (e, lang) {
        (Error::ReadConfig { .. } | Error::Config { .. }, Ky) => "Конфигурация туура эмес",
        (Error::ReadConfig { .. } | Error::Config { .. }, Ru) => "Ошибка в конфигурации",
        (Error::ReadConfig { .. } | Error::Config { .. }, En) => "The configuration is wrong",
        (Error::DataDir { .. } | Error::Store { .. }, Ky) => "Маалымат папкасына жазуу мүмкүн эмес",
        (Error::DataDir { .. } | Error::Store { .. }, Ru) => "Нет доступа к каталогу данных",
        (Error::DataDir { .. } | Error::Store { .. }, En) => "The data directory cannot be used",
        (Error::AddressInUse(_) | Error::Listen { .. }, Ky) => "Даректи угуу мүмкүн эмес",
        (Error::AddressInUse(_) | Error::Listen { .. }, Ru) => "Не удаётся занять адрес",
        (Error::AddressInUse(_) | Error::Listen { .. }, En) => "Cannot listen on the address",
        (Error::Serve(_), Ky) => "Сервер токтоду",
        (Error::Serve(_), Ru) => "Сервер остановился",
        (Error::Serve(_), En) => "The server stopped",
    }
}

/// Binds the listen address, telling "in use" apart.
///
/// # Errors
/// [`Error::AddressInUse`] or [`Error::Listen`].
pub async fn bind(addr: &str) -> Result<tokio::net::TcpListener, Error> {
    tokio::net::TcpListener::bind(addr).await.map_err(|source| {
        if source.kind() == std::io::ErrorKind::AddrInUse {
            Error::AddressInUse(addr.to_owned())
        } else {
            Error::Listen {
                addr: addr.to_owned(),
                source,
            }
        }
    })
}
