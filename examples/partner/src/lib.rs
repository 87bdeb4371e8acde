//! # kenesh-partner
//!
//! The library behind the `kenesh-partner` command-line client for partner organisations
//! (GitHub issue 7): making the partner's key, syncing its scope into a local replica, and
//! exporting what that replica can read — issues as CSV, JSON or Open311 GeoReport v2
//! documents, the cases the partner owns, a person's subject-access view, and the published
//! (small-cells-suppressed) indicator report — plus `inspect`, which decodes a captured
//! stream of plaintext kenesh-proto frames into JSON lines.
//!
//! Exports honour consent by construction: they read only through the replica, and a value
//! the replica cannot open (its payload withheld by the server, its key erased) reads as
//! absent and is exported empty (`null` in JSON, an empty cell in CSV), never as bytes.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use kenesh::{Options, Replica, SyncReport};
use kenesh_model::indicators::{Cell, IndicatorConfig, Report};
use kenesh_model::schema::EntityKind;
use kenesh_model::text::{Locale, LocalizedText};
use kenesh_model::{
    CloseReason, FiscalYear, GeoPoint, Id, IssueCategory, IssueStatus, Moderation, Party, PersonId,
    Reporter, Scope, SoateCode, Timestamp, Visibility,
};
use kenesh_proto::{Body, Limits, Message};
use kenesh_sync::{PublicKeys, Secret, Store};
use serde::Serialize;
use serde_json::{Value, json};

/// The partner's secret key inside its directory (32 bytes, mode 0600).
pub const SECRET_FILE: &str = "partner.key";
/// What `sync` remembers for the exports: the device number, the server's keys and address.
pub const CONFIG_FILE: &str = "partner.json";
/// The replica's directory inside the partner's directory.
pub const REPLICA_DIR: &str = "replica";

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// `register` found a key already there.
    #[error("{0} already exists: refusing to overwrite the partner's secret key")]
    KeyExists(PathBuf),
    /// The operating system's random source failed.
    #[error("the operating system's random source failed: {0}")]
    Random(getrandom::Error),
    /// The secret key file is not 32 bytes.
    #[error("{path} must hold exactly 32 bytes, it holds {len}")]
    BadSecret {
        /// The file.
        path: PathBuf,
        /// Its length.
        len: usize,
    },
    /// No secret key: `register` was not run.
    #[error("no secret key at {0}: run `kenesh-partner register --dir` first")]
    NoSecret(PathBuf),
    /// The server key given is not 64 bytes of hex.
    #[error("the server key must be 128 hex digits (its verify key, then its Noise key): {0}")]
    ServerKey(String),
    /// The exports need a sync first.
    #[error("no sync yet in {0}: run `kenesh-partner sync` first")]
    NotSynced(PathBuf),
    /// The replica did not open.
    #[error("the replica: {0}")]
    Open(#[from] kenesh::OpenError),
    /// Connecting to the server failed.
    #[error("connecting to {addr}: {source}")]
    Connect {
        /// The address.
        addr: String,
        /// What failed.
        source: std::io::Error,
    },
    /// The sync failed.
    #[error("the sync: {0}")]
    Sync(#[from] kenesh::SyncError),
    /// JSON failed.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// CSV failed.
    #[error("csv: {0}")]
    Csv(String),
    /// An id did not parse.
    #[error("not an id ({0}): expected 32 hex digits, dashes allowed")]
    BadId(String),
    /// `inspect` found a bad stream.
    #[error(transparent)]
    Inspect(#[from] InspectError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

// ---------------------------------------------------------------------------------------
// Keys and configuration
// ---------------------------------------------------------------------------------------

/// The public keys as hex: the verify key's 64 digits, then the Noise key's 64.
#[must_use]
pub fn public_hex(keys: &PublicKeys) -> String {
    format!("{}{}", hex::encode(keys.verify), hex::encode(keys.noise))
}

/// Parses public keys written by [`public_hex`].
///
/// # Errors
/// [`Error::ServerKey`] unless it is 128 hex digits.
pub fn parse_public_hex(text: &str) -> Result<PublicKeys, Error> {
    let bytes = hex::decode(text.trim()).map_err(|e| Error::ServerKey(e.to_string()))?;
    if bytes.len() != 64 {
        return Err(Error::ServerKey(format!("{} bytes given", bytes.len())));
    }
    let mut verify = [0u8; 32];
    let mut noise = [0u8; 32];
    verify.copy_from_slice(&bytes[..32]);
    noise.copy_from_slice(&bytes[32..]);
    Ok(PublicKeys { verify, noise })
}

/// Makes the partner's secret key in `dir` (32 bytes from the operating system, file mode
/// 0600, never overwriting one) and returns its public keys, for the server operator to
/// enrol.
///
/// # Errors
/// [`Error::KeyExists`], [`Error::Random`], [`Error::Io`].
pub fn register(dir: &Path) -> Result<PublicKeys, Error> {
    fs::create_dir_all(dir).map_err(io(dir))?;
    let path = dir.join(SECRET_FILE);
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(Error::Random)?;
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = match options.open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Error::KeyExists(path));
        }
        Err(e) => return Err(io(&path)(e)),
    };
    file.write_all(&bytes).map_err(io(&path))?;
    file.sync_all().map_err(io(&path))?;
    let secret = Secret::from_bytes(bytes);
    bytes = [0; 32];
    std::hint::black_box(&bytes);
    Ok(secret.public())
}

/// Reads the partner's secret key from `dir`.
///
/// # Errors
/// [`Error::NoSecret`], [`Error::BadSecret`], [`Error::Io`].
pub fn load_secret(dir: &Path) -> Result<Secret, Error> {
    let path = dir.join(SECRET_FILE);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Error::NoSecret(path)),
        Err(e) => return Err(io(&path)(e)),
    };
    let array: [u8; 32] = bytes.as_slice().try_into().map_err(|_| Error::BadSecret {
        path: path.clone(),
        len: bytes.len(),
    })?;
    Ok(Secret::from_bytes(array))
}

/// What `sync` remembers in `dir/partner.json`, so the exports open the same replica.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Config {
    /// The partner's enrolled device number.
    pub device: u32,
    /// The server's public keys ([`public_hex`]).
    pub server_key: String,
    /// The server's address.
    pub server: String,
}

fn write_config(dir: &Path, config: &Config) -> Result<(), Error> {
    let path = dir.join(CONFIG_FILE);
    fs::write(&path, serde_json::to_vec_pretty(config)?).map_err(io(&path))
}

/// Reads `dir/partner.json`.
///
/// # Errors
/// [`Error::NotSynced`] when there is none; [`Error::Json`], [`Error::Io`].
pub fn read_config(dir: &Path) -> Result<Config, Error> {
    let path = dir.join(CONFIG_FILE);
    match fs::read(&path) {
        Ok(b) => Ok(serde_json::from_slice(&b)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(Error::NotSynced(dir.to_path_buf()))
        }
        Err(e) => Err(io(&path)(e)),
    }
}

/// Opens the partner's replica in `dir` with the device and server key of its last sync.
///
/// # Errors
/// As [`read_config`], [`load_secret`], [`Replica::open`].
pub fn open_replica(dir: &Path) -> Result<Replica, Error> {
    let config = read_config(dir)?;
    let server = parse_public_hex(&config.server_key)?;
    let secret = load_secret(dir)?;
    Ok(Replica::open(
        dir.join(REPLICA_DIR),
        secret,
        config.device,
        server,
        Options::default(),
    )?)
}

// ---------------------------------------------------------------------------------------
// Sync
// ---------------------------------------------------------------------------------------

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// How a partner's sync retries a link that fails (a connection refused, reset or cut, the
/// server busy): up to `attempts` sessions, waiting before each retry a random time (full
/// jitter) up to `base` doubled per retry and capped at `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retry {
    /// Sessions tried at most (at least one).
    pub attempts: u32,
    /// The first retry's ceiling.
    pub base: Duration,
    /// No ceiling above this.
    pub max: Duration,
}

impl Default for Retry {
    /// 5 attempts, 1 s doubling to 30 s: about a minute of a bad link at worst.
    fn default() -> Retry {
        Retry {
            attempts: 5,
            base: Duration::from_secs(1),
            max: Duration::from_secs(30),
        }
    }
}

impl Retry {
    /// The ceiling of the wait before retry `retry` (from 1).
    #[must_use]
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max)
    }
}

/// Syncs `replica` with the server at `addr` over TCP, retrying a failed link
/// ([`Retry::default`]); a fresh ephemeral seed from the operating system per session.
///
/// # Errors
/// As [`sync_replica_with`].
pub fn sync_replica<S: Store>(replica: &mut Replica<S>, addr: &str) -> Result<SyncReport, Error> {
    sync_replica_with(replica, addr, &Retry::default(), &mut |_, _| {})
}

/// [`sync_replica`] with a retry policy; `on_retry(retry, error)` is told of each failed
/// session before the wait. What a failed session stored stays stored: the next resumes
/// from it.
///
/// # Errors
/// The last attempt's error when every attempt failed or one failed for good (not
/// [`kenesh::SyncError::is_transient`]): [`Error::Connect`], [`Error::Random`],
/// [`Error::Sync`].
pub fn sync_replica_with<S: Store>(
    replica: &mut Replica<S>,
    addr: &str,
    retry: &Retry,
    on_retry: &mut dyn FnMut(u32, &Error),
) -> Result<SyncReport, Error> {
    let mut attempt = 1;
    loop {
        let error = match sync_once(replica, addr) {
            Ok(report) => return Ok(report),
            Err(e) => e,
        };
        let transient = match &error {
            Error::Connect { .. } => true,
            Error::Sync(e) => e.is_transient(),
            _ => false,
        };
        if !transient || attempt >= retry.attempts {
            return Err(error);
        }
        on_retry(attempt, &error);
        std::thread::sleep(jitter(retry.ceiling(attempt))?);
        attempt += 1;
    }
}

/// Uniform in `0..=ceiling` (full jitter), from the operating system's random source.
fn jitter(ceiling: Duration) -> Result<Duration, Error> {
    let mut r = [0u8; 8];
    getrandom::fill(&mut r).map_err(Error::Random)?;
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    Ok(Duration::from_nanos(
        u64::from_le_bytes(r) % nanos.saturating_add(1).max(1),
    ))
}

/// One session over a new TCP connection.
fn sync_once<S: Store>(replica: &mut Replica<S>, addr: &str) -> Result<SyncReport, Error> {
    let connect = |source| Error::Connect {
        addr: addr.to_owned(),
        source,
    };
    let target = addr
        .to_socket_addrs()
        .map_err(connect)?
        .next()
        .ok_or_else(|| connect(std::io::Error::other("the address resolves to nothing")))?;
    let stream = TcpStream::connect_timeout(&target, Duration::from_secs(15)).map_err(connect)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(connect)?;
    stream
        .set_write_timeout(Some(Duration::from_secs(60)))
        .map_err(connect)?;
    stream.set_nodelay(true).map_err(connect)?;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(Error::Random)?;
    Ok(replica.sync_over(&stream, seed, now_ms())?)
}

/// `sync`: remembers the device and server in `dir`, opens the replica and syncs it.
///
/// # Errors
/// As [`load_secret`], [`Replica::open`] and [`sync_replica`].
pub fn sync_dir(
    dir: &Path,
    addr: &str,
    device: u32,
    server_key: &str,
) -> Result<SyncReport, Error> {
    let server = parse_public_hex(server_key)?;
    let secret = load_secret(dir)?;
    write_config(
        dir,
        &Config {
            device,
            server_key: public_hex(&server),
            server: addr.to_owned(),
        },
    )?;
    let mut replica = Replica::open(
        dir.join(REPLICA_DIR),
        secret,
        device,
        server,
        Options::default(),
    )?;
    sync_replica(&mut replica, addr)
}

// ---------------------------------------------------------------------------------------
// Issues
// ---------------------------------------------------------------------------------------

/// One issue as the partner's replica can read it; a field it cannot read is `None`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IssueRow {
    /// The issue's id.
    pub id: String,
    /// The owning municipality (or organisation) id.
    pub owner: String,
    /// The title (Kyrgyz first, then Russian, then English).
    pub title: Option<String>,
    /// The description.
    pub description: Option<String>,
    /// The category's code ([`category_code`]).
    pub category: Option<String>,
    /// The status's stable name.
    pub status: String,
    /// The SOATE code of the territory.
    pub territory: Option<String>,
    /// Latitude, degrees.
    pub lat: Option<f64>,
    /// Longitude, degrees.
    pub long: Option<f64>,
    /// The place in words.
    pub place: Option<String>,
    /// How it came in.
    pub channel: Option<String>,
    /// Who raised it: `anonymous`, `group:<id>`, `person:<id>`; empty when not readable.
    pub reported_by: Option<String>,
    /// The responsible body.
    pub responsible: Option<String>,
    /// Supports (people plus paper signatures), when the supporters are readable.
    pub supports: Option<u64>,
    /// When it was filed (ISO 8601, UTC).
    pub created: String,
    /// Its last change: the latest op on it (a status change, an update; ISO 8601, UTC).
    pub updated: String,
    /// The kiosk receipt.
    pub receipt: Option<String>,
}

/// An issue's fields as the replica reads them (`None`: not readable here).
#[derive(Clone, Debug)]
struct IssueView {
    id: Id,
    owner: Scope,
    created: Timestamp,
    /// The clock of the latest op on the issue (a status change, an update, …).
    changed: u64,
    title: Option<LocalizedText>,
    description: Option<LocalizedText>,
    category: Option<IssueCategory>,
    status: IssueStatus,
    territory: Option<SoateCode>,
    location: Option<GeoPoint>,
    place: Option<String>,
    channel: Option<kenesh_model::Channel>,
    reported_by: Option<Reporter>,
    close_reason: Option<CloseReason>,
    responsible: Option<Party>,
    supporters: Option<BTreeSet<PersonId>>,
    paper_supports: Option<Vec<kenesh_model::PaperSupport>>,
    updates: Vec<kenesh_model::PublicUpdate>,
    visibility: Option<Visibility>,
    moderation: Option<Moderation>,
    receipt: Option<kenesh_model::Receipt>,
}

fn issue_views<S: Store>(replica: &Replica<S>) -> Vec<IssueView> {
    // The latest op on each issue (envelopes are held even where a payload was withheld).
    let mut changed: std::collections::BTreeMap<Id, u64> = std::collections::BTreeMap::new();
    for op in replica.state().ops() {
        let e = op.envelope();
        if e.kind == EntityKind::Issue.code() {
            let at = changed.entry(e.entity).or_default();
            *at = (*at).max(e.hlc.millis());
        }
    }
    let ids: Vec<Id> = replica
        .state()
        .records(EntityKind::Issue)
        .filter(|v| !v.tombstoned)
        .map(|v| v.id)
        .collect();
    ids.into_iter()
        .filter_map(|id| {
            let f = replica.fields(EntityKind::Issue, id)?;
            Some(IssueView {
                id,
                owner: f.meta.scope,
                created: f.meta.created.at,
                changed: changed.get(&id).copied().unwrap_or_default(),
                title: f.get("title"),
                description: f.get("description"),
                category: f.get("category"),
                status: f.get("status").unwrap_or(IssueStatus::Draft),
                territory: f.get("territory"),
                location: f.get::<Option<GeoPoint>>("location").flatten(),
                place: f.get::<Option<String>>("place").flatten(),
                channel: f.get("channel"),
                reported_by: f.get("reported_by"),
                close_reason: f.get::<Option<CloseReason>>("close_reason").flatten(),
                responsible: f.get::<Option<Party>>("responsible").flatten(),
                supporters: f.get("supporters"),
                paper_supports: f.get("paper_supports"),
                updates: f.get("updates").unwrap_or_default(),
                visibility: f.get("visibility"),
                moderation: f.get("moderation"),
                receipt: f.get::<Option<kenesh_model::Receipt>>("receipt").flatten(),
            })
        })
        .collect()
}

fn text(t: &LocalizedText) -> Option<String> {
    let s = t.best(Locale::Ky);
    (!s.is_empty()).then(|| s.to_owned())
}

fn degrees(e7: i32) -> f64 {
    f64::from(e7) / 10_000_000.0
}

fn party(p: &Party) -> String {
    match p {
        Party::Municipality(m) => format!("municipality:{}", m.0),
        Party::Organisation(o) => format!("organisation:{}", o.0),
    }
}

/// The category's stable code (`roads`, `water`, …), its serde name in snake case.
#[must_use]
pub fn category_code(category: IssueCategory) -> String {
    let name = serde_json::to_value(category)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Unix milliseconds as ISO 8601 in UTC (`2026-05-28T12:00:00Z`).
#[must_use]
pub fn iso8601(ms: u64) -> String {
    let secs = ms / 1000;
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn updated_ms(v: &IssueView) -> u64 {
    v.updates
        .iter()
        .map(|u| u.at.0)
        .chain([v.created.0, v.changed])
        .max()
        .unwrap_or(v.created.0)
}

impl From<&IssueView> for IssueRow {
    fn from(v: &IssueView) -> IssueRow {
        IssueRow {
            id: v.id.to_string(),
            owner: v.owner.id().to_string(),
            title: v.title.as_ref().and_then(text),
            description: v.description.as_ref().and_then(text),
            category: v.category.map(category_code),
            status: v.status.to_string(),
            territory: v.territory.as_ref().map(ToString::to_string),
            lat: v.location.map(|p| degrees(p.lat_e7)),
            long: v.location.map(|p| degrees(p.lon_e7)),
            place: v.place.clone(),
            channel: v.channel.and_then(|c| {
                serde_json::to_value(c)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
            }),
            reported_by: v.reported_by.map(|r| match r {
                Reporter::Anonymous => "anonymous".to_owned(),
                Reporter::Group(g) => format!("group:{}", g.0),
                Reporter::Person(p) => format!("person:{}", p.0),
            }),
            responsible: v.responsible.as_ref().map(party),
            supports: match (&v.supporters, &v.paper_supports) {
                (Some(s), Some(p)) => {
                    Some(s.len() as u64 + p.iter().map(|x| u64::from(x.count)).sum::<u64>())
                }
                _ => None,
            },
            created: iso8601(v.created.0),
            updated: iso8601(updated_ms(v)),
            receipt: v.receipt.map(|r| r.to_string()),
        }
    }
}

/// The issues the replica holds (live ones), as far as it can read them, by id.
#[must_use]
pub fn issue_rows<S: Store>(replica: &Replica<S>) -> Vec<IssueRow> {
    issue_views(replica).iter().map(IssueRow::from).collect()
}

/// The issues as CSV: a header, then one row per issue; unreadable values are empty cells.
///
/// # Errors
/// [`Error::Csv`].
pub fn issues_csv<S: Store>(replica: &Replica<S>) -> Result<String, Error> {
    let rows = issue_rows(replica);
    let mut w = csv::Writer::from_writer(Vec::new());
    if rows.is_empty() {
        // The header alone: serde writes it with the first row.
        w.write_record(ISSUE_COLUMNS)
            .map_err(|e| Error::Csv(e.to_string()))?;
    }
    for row in &rows {
        w.serialize(row).map_err(|e| Error::Csv(e.to_string()))?;
    }
    let bytes = w.into_inner().map_err(|e| Error::Csv(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| Error::Csv(e.to_string()))
}

/// The columns of [`issues_csv`], in order.
pub const ISSUE_COLUMNS: &[&str] = &[
    "id",
    "owner",
    "title",
    "description",
    "category",
    "status",
    "territory",
    "lat",
    "long",
    "place",
    "channel",
    "reported_by",
    "responsible",
    "supports",
    "created",
    "updated",
    "receipt",
];

/// The issues as a JSON array of [`IssueRow`]s.
///
/// # Errors
/// [`Error::Json`].
pub fn issues_json<S: Store>(replica: &Replica<S>) -> Result<String, Error> {
    Ok(serde_json::to_string_pretty(&issue_rows(replica))?)
}

// ---------------------------------------------------------------------------------------
// Open311 GeoReport v2
// ---------------------------------------------------------------------------------------

/// The fields of a GeoReport v2 service, in the specification's order.
pub const OPEN311_SERVICE_FIELDS: &[&str] = &[
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
];

/// The fields of a GeoReport v2 service request, in the specification's order.
pub const OPEN311_REQUEST_FIELDS: &[&str] = &[
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
];

/// Every issue category, in order.
pub const CATEGORIES: &[IssueCategory] = &[
    IssueCategory::Roads,
    IssueCategory::Water,
    IssueCategory::Waste,
    IssueCategory::Education,
    IssueCategory::Lighting,
    IssueCategory::Jobs,
    IssueCategory::Safety,
    IssueCategory::Health,
    IssueCategory::Land,
    IssueCategory::Social,
    IssueCategory::Culture,
    IssueCategory::Accessibility,
    IssueCategory::Other,
];

/// A category's English name, description, keywords and group.
fn service_info(c: IssueCategory) -> (&'static str, &'static str, &'static str, &'static str) {
    match c {
        IssueCategory::Roads => (
            "Roads and bridges",
            "Damaged roads, bridges and crossings",
            "road, bridge, pothole",
            "Infrastructure",
        ),
        IssueCategory::Water => (
            "Water",
            "Drinking and irrigation water",
            "water, irrigation, well",
            "Infrastructure",
        ),
        IssueCategory::Waste => (
            "Waste and sanitation",
            "Waste collection, dumps and sanitation",
            "waste, garbage, sanitation",
            "Environment",
        ),
        IssueCategory::Education => (
            "Schools and kindergartens",
            "School and kindergarten buildings and services",
            "school, kindergarten",
            "Social services",
        ),
        IssueCategory::Lighting => (
            "Street lighting and electricity",
            "Street lights and power supply",
            "light, electricity",
            "Infrastructure",
        ),
        IssueCategory::Jobs => (
            "Jobs and the local economy",
            "Work and the local economy",
            "jobs, economy",
            "Economy",
        ),
        IssueCategory::Safety => (
            "Public safety",
            "Public safety",
            "safety, security",
            "Safety",
        ),
        IssueCategory::Health => (
            "Health posts and clinics",
            "Health posts and clinics",
            "health, clinic",
            "Social services",
        ),
        IssueCategory::Land => (
            "Pastures and land",
            "Pastures and land use",
            "pasture, land",
            "Environment",
        ),
        IssueCategory::Social => (
            "Social support",
            "Social support",
            "social, support",
            "Social services",
        ),
        IssueCategory::Culture => (
            "Sport, culture and youth",
            "Sport, culture and youth",
            "sport, culture, youth",
            "Social services",
        ),
        IssueCategory::Accessibility => (
            "Accessibility",
            "Accessibility for persons with disabilities",
            "accessibility, disability",
            "Social services",
        ),
        _ => ("Other", "Anything else", "other", "Other"),
    }
}

/// The GeoReport v2 `services` document: one service per issue category.
#[must_use]
pub fn open311_services() -> Value {
    Value::Array(
        CATEGORIES
            .iter()
            .map(|&c| {
                let (name, description, keywords, group) = service_info(c);
                json!({
                    "service_code": category_code(c),
                    "service_name": name,
                    "description": description,
                    "metadata": false,
                    "type": "realtime",
                    "keywords": keywords,
                    "group": group,
                })
            })
            .collect(),
    )
}

/// Whether an issue belongs in a public Open311 feed: published or later, public, not
/// hidden by moderation (an unreadable visibility or moderation keeps it out).
fn is_public(v: &IssueView) -> bool {
    !matches!(v.status, IssueStatus::Draft | IssueStatus::Submitted)
        && v.visibility == Some(Visibility::Public)
        && matches!(
            v.moderation,
            Some(Moderation::Approved | Moderation::Pending)
        )
}

fn status_notes(v: &IssueView) -> Option<String> {
    if let Some(reason) = &v.close_reason {
        return Some(match reason {
            CloseReason::Unable => "Closed: the municipality is unable to solve it".to_owned(),
            CloseReason::NotResponsible => {
                "Closed: not the municipality's responsibility".to_owned()
            }
            CloseReason::DuplicateOf(i) => format!("Closed: a duplicate of {}", i.0),
            CloseReason::ReferredTo(p) => format!("Closed: referred to {}", party(p)),
        });
    }
    v.updates.last().and_then(|u| text(&u.text))
}

/// The GeoReport v2 `requests` document: one request per public issue (published or later,
/// public visibility, not hidden), with `status` `open` or `closed`
/// ([`IssueStatus::open311`]). Values not readable here are `null`.
#[must_use]
pub fn open311_requests<S: Store>(replica: &Replica<S>) -> Value {
    Value::Array(
        issue_views(replica)
            .iter()
            .filter(|v| is_public(v))
            .map(|v| {
                let info = v.category.map(service_info);
                json!({
                    "service_request_id": v.id.to_string(),
                    "status": v.status.open311(),
                    "status_notes": status_notes(v),
                    "service_name": info.map(|i| i.0),
                    "service_code": v.category.map(category_code),
                    "description": v.description.as_ref().and_then(text)
                        .or_else(|| v.title.as_ref().and_then(text)),
                    "agency_responsible": v.responsible.as_ref().map(party),
                    "service_notice": Value::Null,
                    "requested_datetime": iso8601(v.created.0),
                    "updated_datetime": iso8601(updated_ms(v)),
                    "expected_datetime": Value::Null,
                    "address": v.place,
                    "address_id": v.territory.as_ref().map(ToString::to_string),
                    "zipcode": Value::Null,
                    "lat": v.location.map(|p| degrees(p.lat_e7)),
                    "long": v.location.map(|p| degrees(p.lon_e7)),
                    "media_url": Value::Null,
                })
            })
            .collect(),
    )
}

// ---------------------------------------------------------------------------------------
// Cases, subject access, indicators
// ---------------------------------------------------------------------------------------

/// Parses an id (32 hex digits, dashes allowed).
///
/// # Errors
/// [`Error::BadId`].
pub fn parse_id(text: &str) -> Result<Id, Error> {
    text.parse().map_err(|_| Error::BadId(text.to_owned()))
}

/// The legal cases `owner` owns, readable here, as a JSON array.
///
/// # Errors
/// [`Error::Json`].
pub fn cases_json<S: Store>(replica: &Replica<S>, owner: Scope) -> Result<String, Error> {
    Ok(serde_json::to_string_pretty(
        &replica.cases_by_owner(owner),
    )?)
}

/// A person's subject-access view as JSON: records about them, values naming them
/// elsewhere (hex of the opened value), and what names them but is not readable here.
///
/// # Errors
/// [`Error::Json`].
pub fn subject_json<S: Store>(replica: &Replica<S>, person: PersonId) -> Result<String, Error> {
    let access = replica.subject_access(person);
    let value = json!({
        "person": person.0.to_string(),
        "erased": access.erased,
        "records": access.records,
        "mentions": access.mentions.iter().map(|m| json!({
            "kind": m.kind.to_string(),
            "record": m.record.to_string(),
            "field": m.field,
            "value_hex": hex::encode(&m.value),
        })).collect::<Vec<_>>(),
        "unreadable": access.unreadable.iter().map(|(k, id)| json!({
            "kind": k.to_string(),
            "record": id.to_string(),
        })).collect::<Vec<_>>(),
    });
    Ok(serde_json::to_string_pretty(&value)?)
}

/// The published indicator report (people counts under the threshold suppressed) for a
/// fiscal year, from what the replica can read.
#[must_use]
pub fn indicators<S: Store>(replica: &Replica<S>, year: i16) -> Report {
    replica
        .indicator_report(FiscalYear(year), &IndicatorConfig::default())
        .publish()
}

/// The published report as JSON.
///
/// # Errors
/// [`Error::Json`].
pub fn indicators_json(report: &Report) -> Result<String, Error> {
    Ok(serde_json::to_string_pretty(report)?)
}

fn cell(c: Cell) -> String {
    match c {
        Cell::Value(v) => v.to_string(),
        Cell::Suppressed => "suppressed".to_owned(),
    }
}

fn plain(v: impl Serialize) -> String {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// The published report as CSV: `year,code,key,unit,dimension,cell,value`, one row for each
/// indicator's total (`dimension` `total`) and one per breakdown cell; a suppressed cell
/// reads `suppressed`.
///
/// # Errors
/// [`Error::Csv`].
pub fn indicators_csv(report: &Report) -> Result<String, Error> {
    let csv_err = |e: csv::Error| Error::Csv(e.to_string());
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["year", "code", "key", "unit", "dimension", "cell", "value"])
        .map_err(csv_err)?;
    let year = report.year.0.to_string();
    for ind in &report.indicators {
        let unit = plain(ind.unit);
        w.write_record([
            year.as_str(),
            &ind.code,
            &ind.key,
            &unit,
            "total",
            "",
            &cell(ind.total),
        ])
        .map_err(csv_err)?;
        for b in &ind.breakdowns {
            let dim = plain(b.dimension);
            for (name, c) in &b.cells {
                w.write_record([
                    year.as_str(),
                    &ind.code,
                    &ind.key,
                    &unit,
                    &dim,
                    name,
                    &cell(*c),
                ])
                .map_err(csv_err)?;
            }
        }
    }
    let bytes = w.into_inner().map_err(|e| Error::Csv(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| Error::Csv(e.to_string()))
}

// ---------------------------------------------------------------------------------------
// Inspect
// ---------------------------------------------------------------------------------------

/// Why a captured stream did not decode; every variant names the byte offset of the frame
/// (its length prefix) where it went wrong.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum InspectError {
    /// Fewer than 4 bytes left for a length prefix.
    #[error("offset {offset}: the stream ends inside a length prefix ({left} of 4 bytes)")]
    TruncatedPrefix {
        /// The prefix's offset.
        offset: usize,
        /// Bytes left.
        left: usize,
    },
    /// The frame is shorter than its prefix says.
    #[error(
        "offset {offset}: a {declared}-byte frame, but the stream ends after {left} bytes of it"
    )]
    TruncatedFrame {
        /// The prefix's offset.
        offset: usize,
        /// The length the prefix declares.
        declared: usize,
        /// Bytes left after the prefix.
        left: usize,
    },
    /// The frame does not decode.
    #[error("offset {offset}: the frame does not decode: {reason}")]
    Decode {
        /// The prefix's offset.
        offset: usize,
        /// The decoder's reason.
        reason: String,
    },
}

fn message_json(m: &Message<'_>) -> Value {
    match m {
        Message::Hello(h) => json!({
            "type": "hello",
            "min_version": h.min_version,
            "max_version": h.max_version,
            "caps": h.caps.0,
            "device": h.device,
            "own_seq": h.own_seq,
            "cursor": h.cursor.map(hex::encode),
        }),
        Message::Welcome(w) => json!({
            "type": "welcome",
            "version": w.version,
            "caps": w.caps.0,
            "server_time_ms": w.server_time_ms,
            "stored_seq": w.stored_seq,
            "epoch": w.epoch,
        }),
        Message::Refuse(r) => json!({
            "type": "refuse",
            "reason": serde_json::to_value(r.reason).unwrap_or(Value::Null),
            "server_time_ms": r.server_time_ms,
            "stored_seq": r.stored_seq,
        }),
        Message::Commit(c) => json!({
            "type": "commit",
            "origin": c.origin,
            "first_seq": c.first_seq,
            "salt": hex::encode(c.salt),
            "signature": hex::encode(c.signature),
            "count": c.entries.len(),
            "entries": c.entries.iter().map(|e| match e.body {
                Body::Payload(p) => json!({
                    "envelope": hex::encode(e.envelope),
                    "payload": hex::encode(p),
                }),
                Body::Withheld(h) => json!({
                    "envelope": hex::encode(e.envelope),
                    "withheld": hex::encode(h),
                }),
            }).collect::<Vec<_>>(),
        }),
        Message::Chunk(c) => json!({
            "type": "chunk",
            "transfer": c.transfer,
            "index": c.index,
            "last": c.last,
            "kind": plain(c.kind),
            "compression": plain(c.compression),
            "raw_len": c.raw_len,
            "data_len": c.data.len(),
        }),
        Message::Ack(a) => json!({
            "type": "ack",
            "durable_seq": a.durable_seq,
            "cursor": a.cursor.map(hex::encode),
            "chunk": a.chunk.map(|c| json!({"transfer": c.transfer, "index": c.index})),
        }),
        Message::SnapshotHeader(s) => json!({
            "type": "snapshot_header",
            "scope_kind": s.scope_kind,
            "scope_id": hex::encode(s.scope_id),
            "tier": s.tier,
            "epoch": s.epoch,
            "position": s.position,
            "records": s.records,
            "ops": s.ops,
            "transfer": s.transfer,
            "chunks": s.chunks,
            "raw_bytes": s.raw_bytes,
            "state_hash": hex::encode(s.state_hash),
        }),
        Message::Error(e) => json!({
            "type": "error",
            "code": e.code.0,
            "detail": e.detail,
        }),
        Message::Bye => json!({ "type": "bye" }),
        // The keys themselves are secrets: shown by whom and what, never the key bytes.
        Message::Keys(k) => json!({
            "type": "keys",
            "count": k.len(),
            "entries": k.iter().map(|e| json!({
                "person": hex::encode(e.person),
                "tier": e.tier,
                "origin": e.origin,
            })).collect::<Vec<_>>(),
        }),
        Message::Receipt(r) => json!({
            "type": "receipt",
            "epoch": r.epoch,
            "seq": r.seq,
            "tag": hex::encode(r.tag),
        }),
    }
}

/// Decodes a captured stream of u32-little-endian-length-prefixed plaintext kenesh-proto
/// frames (PROTOCOL.md §3.1) into one JSON object per frame: its `offset`, `len`, `type`
/// and fields (bytes in hex; key material left out).
///
/// # Errors
/// [`InspectError`], naming the offset of the frame that is truncated or does not decode.
pub fn inspect(bytes: &[u8]) -> Result<Vec<Value>, InspectError> {
    let limits = Limits::default();
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < bytes.len() {
        let left = bytes.len() - at;
        if left < 4 {
            return Err(InspectError::TruncatedPrefix { offset: at, left });
        }
        let mut len = [0u8; 4];
        len.copy_from_slice(&bytes[at..at + 4]);
        let declared = u32::from_le_bytes(len) as usize;
        if left - 4 < declared {
            return Err(InspectError::TruncatedFrame {
                offset: at,
                declared,
                left: left - 4,
            });
        }
        let frame = &bytes[at + 4..at + 4 + declared];
        let message = Message::decode(frame, &limits).map_err(|e| InspectError::Decode {
            offset: at,
            reason: e.to_string(),
        })?;
        let mut value = message_json(&message);
        if let Value::Object(map) = &mut value {
            map.insert("offset".to_owned(), json!(at));
            map.insert("len".to_owned(), json!(declared));
        }
        out.push(value);
        at += 4 + declared;
    }
    Ok(out)
}

/// [`inspect`] as JSON lines.
///
/// # Errors
/// As [`inspect`].
pub fn inspect_lines(bytes: &[u8]) -> Result<String, InspectError> {
    let mut s = String::new();
    for v in inspect(bytes)? {
        s.push_str(&v.to_string());
        s.push('\n');
    }
    Ok(s)
}
