//! The load scenario, shared by the `load` example and `tests/load.rs`: one server, many
//! kiosks of a few municipalities reconnecting at once over shaped links with commits
//! pending both ways, then a check that everything converged.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use kenesh_merge::{Op, State};
use kenesh_model::schema::EntityKind;
use kenesh_model::{Id, MunicipalityId, Scope, Tier};
use kenesh_net::{
    ClientConfig, ClientReport, NetConfig, NetServer, NetStats, Running, connect_and_sync,
    connect_and_sync_with,
};
use kenesh_sync::{Access, Device, Grants, MemStore, Secret, Server, ServerConfig, Store};
use kenesh_workload::Text;
use rand::{Rng, SeedableRng};
use rand_chacha::{ChaCha8Rng, ChaCha20Rng};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Barrier, Semaphore};
use tokio::task::JoinSet;

use super::shaper::{Link, Meter, shape};

/// The result type of the scenario: errors are reported, never panicked on.
pub(crate) type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The time ops are stamped with (2026-05-28), as in the transport tests.
pub(crate) const NOW: u64 = 1_780_000_000_000;

/// Rounds after the storm at most, until one is quiet.
pub(crate) const MAX_SETTLE_ROUNDS: u32 = 5;

/// Kiosk device ids start here (the server's own device id is below).
pub(crate) const FIRST_KIOSK: u32 = 1_000;

/// What to run.
#[derive(Clone, Debug)]
pub(crate) struct Params {
    /// Kiosks reconnecting at once.
    pub(crate) kiosks: u32,
    /// Municipalities they are spread over (kiosk `i` serves municipality `i % n`).
    pub(crate) municipalities: u32,
    /// Issues per municipality every kiosk already holds (synced before, unshaped).
    pub(crate) history: usize,
    /// Issues per municipality staff made on the server while the kiosks were offline:
    /// pending downstream.
    pub(crate) staff_edits: usize,
    /// Issues each kiosk made while offline: pending upstream (one commit each).
    pub(crate) kiosk_commits: usize,
    /// Seeds keys, texts and every session's randomness.
    pub(crate) seed: u64,
    /// Every kiosk's link.
    pub(crate) link: Link,
    /// The server's limits.
    pub(crate) net: NetConfig,
    /// The kiosks' timeouts and backoff.
    pub(crate) client: ClientConfig,
}

/// Per-round figures.
#[derive(Clone, Debug, Default)]
pub(crate) struct Round {
    /// Each kiosk's time from the common start to its completed sync, sorted.
    pub(crate) times: Vec<Duration>,
    /// From the common start until the last kiosk finished.
    pub(crate) wall: Duration,
    /// Attempts beyond the first, over all kiosks.
    pub(crate) retries: u64,
    /// Kiosks that needed more than one attempt.
    pub(crate) retried_kiosks: u64,
    /// Bytes client → server over the shaped links, failed attempts included.
    pub(crate) bytes_up: u64,
    /// Bytes server → client, the same.
    pub(crate) bytes_down: u64,
    /// The server's counters over the round (differences, `active` as at its end).
    pub(crate) stats: NetStats,
    /// The server's process: its memory over the round (with the kiosks' too when the
    /// server runs in the same process, see [`Report::server_in_process`]).
    pub(crate) server_mem: Mem,
    /// The kiosks' process, when the server runs in another.
    pub(crate) client_mem: Option<Mem>,
    /// Shaped links still open a while after the round (both ends should have closed).
    pub(crate) links_left_open: u64,
    /// Sync failures (kiosk id, error), if any.
    pub(crate) failures: Vec<(u32, String)>,
}

impl Round {
    /// The `q` quantile (0..=1) of the sync times, nearest rank.
    pub(crate) fn quantile(&self, q: f64) -> Duration {
        if self.times.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((q * self.times.len() as f64).ceil() as usize).clamp(1, self.times.len());
        self.times[rank - 1]
    }
}

/// A process's memory over a round.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Mem {
    /// RSS (KiB) just before the round.
    pub(crate) rss_before_kib: Option<u64>,
    /// Peak RSS (VmHWM, KiB): during the round when `peak_is_rounds`, since the process
    /// started otherwise.
    pub(crate) peak_kib: Option<u64>,
    /// Whether the peak was reset at the round's start (so it covers the round only).
    pub(crate) peak_is_rounds: bool,
    /// CPU time the process used during the round (ms, 10 ms resolution).
    pub(crate) cpu_ms: Option<u64>,
}

/// What the run did and found.
#[derive(Clone, Debug, Default)]
pub(crate) struct Report {
    /// The reconnection storm: every kiosk uploads its pending commits and downloads the
    /// staff's edits (and whatever neighbours uploaded before it).
    pub(crate) storm: Round,
    /// The second round, after the storm: every kiosk fetches what its neighbours
    /// uploaded during the storm.
    pub(crate) settle: Round,
    /// Rounds after the storm until one moved no commit up and failed nowhere (1 when
    /// every kiosk synced in the storm; more when one gave up there and uploaded later).
    pub(crate) settle_rounds: u32,

    /// Commits the kiosks uploaded in the storm.
    pub(crate) storm_commits: u64,
    /// Setup: the time to build the world and pre-sync every kiosk (unshaped).
    pub(crate) setup: Duration,
    /// Ops the server holds at the end.
    pub(crate) server_ops: usize,
    /// Convergence failures found, if any (empty: every check passed).
    pub(crate) divergences: Vec<String>,
    /// Whether the server ran in the kiosks' process (its memory figures include theirs).
    pub(crate) server_in_process: bool,
    /// The server's store file syncs over the whole run, when it counts them (redb).
    pub(crate) file_syncs: Option<u64>,
}

/// A municipality's scope, SOATE-like ids as the workload's.
pub(crate) fn municipality(m: u32) -> Scope {
    Scope::Municipality(MunicipalityId(Id::from_u128(u128::from(
        kenesh_workload::FIRST_MUNICIPALITY + m,
    ))))
}

fn kiosk_grants(scope: Scope) -> Grants {
    Grants::none()
        .up_to(scope, Tier::Personal, Access::Read)
        .up_to(scope, Tier::Sensitive, Access::Write)
}

/// The hashes a kiosk shares with the server: its scope's public and personal tiers.
pub(crate) fn hashes(state: &State, scope: Scope) -> [[u8; 32]; 2] {
    [
        state.state_hash(scope, Tier::Public),
        state.state_hash(scope, Tier::Personal),
    ]
}

fn secret(seed: u64, id: u32) -> Secret {
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ (u64::from(id) << 32) ^ 0x6b69_6f73_6b00);
    Secret::from_bytes(rng.random())
}

/// A unique issue id: who made it and the how-many-th.
fn issue_id(maker: u32, n: usize) -> Id {
    Id::from_u128((u128::from(maker) << 64) | n as u128)
}

fn issue_fields(text: &Text, rng: &mut ChaCha8Rng) -> Vec<(u16, Vec<u8>)> {
    let title = text.phrase(rng, 6, false);
    let description = text.phrase(rng, 25, true);
    vec![
        (1, title.into_bytes()),
        (2, description.into_bytes()),
        (9, vec![1]),
    ]
}

/// `per` issues per municipality made by the server (staff), numbered from `first`.
fn staff_issues<S: Store>(
    server: &mut Server<S>,
    municipalities: u32,
    per: usize,
    first: usize,
    text: &Text,
    rng: &mut ChaCha8Rng,
) -> Result<()> {
    for m in 0..municipalities {
        for i in 0..per {
            let mut b = server.builder();
            b.scope(municipality(m)).at(NOW);
            let id = issue_id(u32::MAX - m, first + i);
            let op: Op = b.create(EntityKind::Issue, id, issue_fields(text, rng))?;
            server.commit_local(&[op], NOW)?;
        }
    }
    server.sync()?;
    Ok(())
}

/// The server's secret: from the seed, so a server in another process has the same keys.
pub(crate) fn server_secret(seed: u64) -> Secret {
    secret(seed, 0)
}

/// The server of the scenario on `store` (empty): the municipalities' history, every kiosk
/// enrolled, synced.
pub(crate) fn build_server<S: Store>(store: S, params: &Params) -> Result<Server<S>> {
    let munis = params.municipalities.max(1);
    let text = Text::new();
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed ^ 0x6869_7374);
    let mut server = Server::open(store, server_secret(params.seed), ServerConfig::default())?;
    staff_issues(&mut server, munis, params.history, 0, &text, &mut rng)?;
    for i in 0..params.kiosks {
        let id = FIRST_KIOSK + i;
        server.enrol(
            id,
            secret(params.seed, id).public(),
            kiosk_grants(municipality(i % munis)),
        )?;
    }
    server.sync()?;
    Ok(server)
}

/// What staff did on the server while the kiosks were offline (pending down).
pub(crate) fn staff_edits<S: Store>(server: &mut Server<S>, params: &Params) -> Result<()> {
    let text = Text::new();
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed ^ 0x0073_7461_6666);
    staff_issues(
        server,
        params.municipalities.max(1),
        params.staff_edits,
        params.history,
        &text,
        &mut rng,
    )
}

/// What the convergence check needs from the server.
#[derive(Clone, Debug, Default)]
pub(crate) struct Verified {
    /// Per municipality, the hashes a kiosk shares with the server.
    pub(crate) hashes: Vec<[[u8; 32]; 2]>,
    /// Per kiosk (in id order), the server's durable seq of its commits.
    pub(crate) durable: Vec<u64>,
    /// Ops held.
    pub(crate) ops: usize,
}

/// Reads what the convergence check needs from `server`.
pub(crate) fn verified<S: Store>(server: &Server<S>, params: &Params) -> Verified {
    Verified {
        hashes: (0..params.municipalities.max(1))
            .map(|m| hashes(server.state(), municipality(m)))
            .collect(),
        durable: (0..params.kiosks)
            .map(|i| server.durable_seq(FIRST_KIOSK + i))
            .collect(),
        ops: server.state().len(),
    }
}

/// The running server, wherever it runs.
pub(crate) trait Control {
    /// Where it listens.
    fn addr(&self) -> std::net::SocketAddr;
    /// Its counters now.
    async fn stats(&mut self) -> Result<NetStats>;
    /// Makes the staff's edits.
    async fn staff(&mut self) -> Result<()>;
    /// Its RSS and peak RSS (KiB) and CPU time so far (ms).
    async fn memory(&mut self) -> Result<(Option<u64>, Option<u64>, Option<u64>)>;
    /// Resets its peak RSS; whether that worked.
    async fn reset_peak(&mut self) -> Result<bool>;
    /// What the convergence check needs.
    async fn verify(&mut self) -> Result<Verified>;
    /// Shuts it down; its store's file syncs, when counted.
    async fn finish(self) -> Result<Option<u64>>;
    /// Whether it runs in this process.
    fn in_process(&self) -> bool;
}

/// A server running in this process.
pub(crate) struct InProcess<S: Store> {
    /// The server.
    pub(crate) running: Running<S>,
    /// The scenario.
    pub(crate) params: Params,
    /// The store's file syncs, when it counts them.
    pub(crate) file_syncs: fn(&S) -> Option<u64>,
}

impl<S: Store + Send + 'static> InProcess<S> {
    /// Builds the scenario's server on `store` and starts it on a loopback port.
    pub(crate) async fn start(
        store: S,
        params: &Params,
        file_syncs: fn(&S) -> Option<u64>,
    ) -> Result<InProcess<S>> {
        let server = build_server(store, params)?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let running = NetServer::new(server, params.net.clone())
            .with_seed(params.seed)
            .spawn(listener)?;
        Ok(InProcess {
            running,
            params: params.clone(),
            file_syncs,
        })
    }
}

impl<S: Store + Send + 'static> Control for InProcess<S> {
    fn addr(&self) -> std::net::SocketAddr {
        self.running.local_addr()
    }
    async fn stats(&mut self) -> Result<NetStats> {
        Ok(self.running.stats())
    }
    async fn staff(&mut self) -> Result<()> {
        let params = self.params.clone();
        self.running
            .handle()
            .call(move |s| staff_edits(s, &params).map_err(|e| e.to_string()))
            .await??;
        Ok(())
    }
    async fn memory(&mut self) -> Result<(Option<u64>, Option<u64>, Option<u64>)> {
        Ok((proc_status_kib("VmRSS"), proc_status_kib("VmHWM"), cpu_ms()))
    }
    async fn reset_peak(&mut self) -> Result<bool> {
        Ok(reset_peak_rss())
    }
    async fn verify(&mut self) -> Result<Verified> {
        let params = self.params.clone();
        Ok(self
            .running
            .handle()
            .call(move |s| verified(s, &params))
            .await?)
    }
    async fn finish(self) -> Result<Option<u64>> {
        let server = self.running.shutdown().await?;
        Ok((self.file_syncs)(server.store()))
    }
    fn in_process(&self) -> bool {
        true
    }
}

struct Kiosk {
    id: u32,
    scope: Scope,
    device: Device<MemStore>,
}

/// Reads a `/proc/self/status` field in KiB (Linux; `None` elsewhere).
pub(crate) fn proc_status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..]
        .trim_start_matches(':')
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// The CPU time (user + system, all threads) this process used so far, from
/// `/proc/self/stat` (Linux; in clock ticks taken as 10 ms, the usual `CLK_TCK` of 100).
pub(crate) fn cpu_ms() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces), from field 3 on.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) * 10)
}

/// Resets the process's peak RSS (Linux ≥ 4.0: writing 5 to `clear_refs`).
pub(crate) fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn diff(after: NetStats, before: NetStats) -> NetStats {
    NetStats {
        accepted: after.accepted - before.accepted,
        refused_cap: after.refused_cap - before.refused_cap,
        active: after.active,
        peak_active: after.peak_active,
        refused_device: after.refused_device - before.refused_device,
        oversized: after.oversized - before.oversized,
        handshake_timeouts: after.handshake_timeouts - before.handshake_timeouts,
        idle_timeouts: after.idle_timeouts - before.idle_timeouts,
        session_timeouts: after.session_timeouts - before.session_timeouts,
        failed: after.failed - before.failed,
        completed: after.completed - before.completed,
        syncs: after.syncs - before.syncs,
        flights_staged: after.flights_staged - before.flights_staged,
        records_staged: after.records_staged - before.records_staged,
    }
}

/// The counters once no connection is open (connections are counted as they close, just
/// after the client sees the close), or after 10 s.
async fn settled<C: Control>(server: &mut C) -> Result<NetStats> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = server.stats().await?;
        if s.active == 0 || Instant::now() >= deadline {
            return Ok(s);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Every kiosk syncs at once over its shaped link; returns the kiosks and the round's
/// figures.
async fn round<C: Control>(
    server: &mut C,
    kiosks: Vec<Kiosk>,
    params: &Params,
    salt: u64,
) -> Result<(Vec<Kiosk>, Round)> {
    let addr = server.addr();
    let before = settled(server).await?;
    let meter = Arc::new(Meter::default());
    let barrier = Arc::new(Barrier::new(kiosks.len() + 1));
    let mut tasks = JoinSet::new();
    for mut k in kiosks {
        let barrier = barrier.clone();
        let meter = meter.clone();
        let link = params.link;
        let config = params.client.clone();
        let mut rng = ChaCha20Rng::seed_from_u64(params.seed ^ salt ^ u64::from(k.id));
        tasks.spawn(async move {
            let connect = || {
                let meter = meter.clone();
                async move {
                    let stream = TcpStream::connect(addr).await?;
                    let _ = stream.set_nodelay(true);
                    // TCP's own handshake: one round trip before the first byte.
                    tokio::time::sleep(link.latency * 2).await;
                    Ok(shape(stream, link, meter))
                }
            };
            barrier.wait().await;
            let started = Instant::now();
            let r = connect_and_sync_with(connect, &mut k.device, &config, &mut rng).await;
            (k, started, Instant::now(), r)
        });
    }
    let in_process = server.in_process();
    let (server_rss, _, server_cpu) = server.memory().await?;
    let server_reset = server.reset_peak().await?;
    let client_before =
        (!in_process).then(|| (proc_status_kib("VmRSS"), reset_peak_rss(), cpu_ms()));
    barrier.wait().await;
    let start = Instant::now();
    let mut out = Vec::new();
    let mut r = Round::default();
    let mut last = start;
    while let Some(joined) = tasks.join_next().await {
        let (k, started, ended, result) = match joined {
            Ok(x) => x,
            Err(e) => {
                r.failures.push((0, format!("a kiosk task failed: {e}")));
                continue;
            }
        };
        last = last.max(ended);
        // From the common start: a task released late by the scheduler still counts.
        r.times.push(ended.duration_since(start.min(started)));
        match result {
            Ok(ClientReport { attempts, .. }) => {
                r.retries += u64::from(attempts - 1);
                r.retried_kiosks += u64::from(attempts > 1);
            }
            Err(e) => r.failures.push((k.id, e.to_string())),
        }
        out.push(k);
    }
    r.wall = last.duration_since(start);
    let (_, server_peak, server_cpu_after) = server.memory().await?;
    let spent = |before: Option<u64>, after: Option<u64>| Some(after?.saturating_sub(before?));
    r.server_mem = Mem {
        rss_before_kib: server_rss,
        peak_kib: server_peak,
        peak_is_rounds: server_reset,
        cpu_ms: spent(server_cpu, server_cpu_after),
    };
    r.client_mem = client_before.map(|(rss, reset, cpu)| Mem {
        rss_before_kib: rss,
        peak_kib: proc_status_kib("VmHWM"),
        peak_is_rounds: reset,
        cpu_ms: spent(cpu, cpu_ms()),
    });
    r.times.sort();
    r.bytes_up = meter.up.load(Ordering::Relaxed);
    r.bytes_down = meter.down.load(Ordering::Relaxed);
    r.stats = diff(settled(server).await?, before);
    // Every shaped link is torn down once both ends closed (within the latency).
    let deadline = Instant::now() + params.link.latency * 4 + Duration::from_secs(5);
    while meter.open.load(Ordering::Relaxed) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    r.links_left_open = meter.open.load(Ordering::Relaxed);
    out.sort_by_key(|k| k.id);
    Ok((out, r))
}

/// Runs the scenario against `server` (started by [`InProcess::start`] or in another
/// process, on the same params): pre-syncs every kiosk, makes commits pending both ways,
/// runs the storm and the settle round, checks convergence, shuts the server down.
pub(crate) async fn run<C: Control>(mut server: C, params: &Params) -> Result<Report> {
    let setup = Instant::now();
    let munis = params.municipalities.max(1);
    let public = server_secret(params.seed).public();
    let addr = server.addr();
    let mut kiosks = Vec::with_capacity(params.kiosks as usize);
    for i in 0..params.kiosks {
        let id = FIRST_KIOSK + i;
        let scope = municipality(i % munis);
        let device = Device::open(MemStore::new(), secret(params.seed, id), id, public)?;
        kiosks.push(Kiosk { id, scope, device });
    }

    // Every kiosk has synced before (unshaped, a few at a time): it holds the history.
    let limit = Arc::new(Semaphore::new(16));
    let mut tasks = JoinSet::new();
    for mut k in kiosks {
        let limit = limit.clone();
        let config = params.client.clone();
        let mut rng = ChaCha20Rng::seed_from_u64(params.seed ^ 0x7072_6500 ^ u64::from(k.id));
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let r = connect_and_sync(addr, &mut k.device, &config, &mut rng).await;
            (k, r)
        });
    }
    let mut kiosks = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (k, r) = joined?;
        if let Err(e) = r {
            return Err(format!("kiosk {}: the first sync failed: {e}", k.id).into());
        }
        if k.device.state().len() != params.history {
            return Err(format!(
                "kiosk {}: holds {} ops after its first sync, not the {} of its history",
                k.id,
                k.device.state().len(),
                params.history
            )
            .into());
        }
        kiosks.push(k);
    }
    kiosks.sort_by_key(|k| k.id);

    // Offline, both sides work: each kiosk makes issues (pending up), staff make issues in
    // every municipality on the server (pending down).
    let text = Text::new();
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed ^ 0x006b_696f_736b);
    for k in &mut kiosks {
        for n in 0..params.kiosk_commits {
            let mut b = k.device.builder();
            b.scope(k.scope).at(NOW + n as u64);
            let op = b.create(
                EntityKind::Issue,
                issue_id(k.id, n),
                issue_fields(&text, &mut rng),
            )?;
            k.device.commit(&[op])?;
        }
        k.device.sync()?;
    }
    server.staff().await?;
    // Pending both ways, checked: every kiosk has unacknowledged commits, the server has
    // ops of every kiosk's scope the kiosk does not hold.
    for k in &kiosks {
        let pending_up = k.device.own_seq() - k.device.acked_seq();
        if pending_up != params.kiosk_commits as u64 {
            return Err(format!("kiosk {}: {pending_up} commits pending up", k.id).into());
        }
    }
    let before = server.verify().await?;
    if before.ops != munis as usize * (params.history + params.staff_edits)
        || params.staff_edits == 0
    {
        return Err(format!("nothing pending down: the server holds {} ops", before.ops).into());
    }
    let storm_commits = u64::from(params.kiosks) * params.kiosk_commits as u64;
    let setup = setup.elapsed();

    let (kiosks, storm) = round(&mut server, kiosks, params, 0x0073_746f_726d).await?;
    let (mut kiosks, settle) = round(&mut server, kiosks, params, 0x0073_6574_746c).await?;
    // A kiosk that gave up in the storm (its backoff exhausted) uploads in a later round,
    // and its neighbours need one more to fetch that: rounds until a quiet one.
    let mut settle_rounds = 1;
    let mut quiet = settle.stats.records_staged == 0 && settle.failures.is_empty();
    let mut later_failures = Vec::new();
    while !quiet && settle_rounds < MAX_SETTLE_ROUNDS {
        settle_rounds += 1;
        let salt = 0x0073_6574_746c ^ (u64::from(settle_rounds) << 48);
        let (k, r) = round(&mut server, kiosks, params, salt).await?;
        kiosks = k;
        quiet = r.stats.records_staged == 0 && r.failures.is_empty();
        later_failures = r.failures;
    }

    // Convergence.
    let mut divergences = Vec::new();
    let at_server = server.verify().await?;
    let per_muni = |m: u32| params.kiosks / munis + u32::from(m < params.kiosks % munis);
    for (k, durable) in kiosks.iter().zip(&at_server.durable) {
        let m = (k.id - FIRST_KIOSK) % munis;
        let expected_ops =
            params.history + params.staff_edits + per_muni(m) as usize * params.kiosk_commits;
        if at_server.hashes.get(m as usize) != Some(&hashes(k.device.state(), k.scope)) {
            divergences.push(format!(
                "kiosk {}: state hashes differ from the server's",
                k.id
            ));
        }
        if k.device.state().len() != expected_ops {
            divergences.push(format!(
                "kiosk {}: holds {} ops, expected {expected_ops}",
                k.id,
                k.device.state().len()
            ));
        }
        if *durable != k.device.own_seq() || k.device.acked_seq() != k.device.own_seq() {
            divergences.push(format!(
                "kiosk {}: made {} commits, the server holds {durable} durably, the kiosk saw {} acknowledged",
                k.id,
                k.device.own_seq(),
                k.device.acked_seq()
            ));
        }
    }
    if at_server.durable.len() != kiosks.len() {
        divergences.push(format!(
            "{} kiosks came back from the rounds, the server knows {}",
            kiosks.len(),
            at_server.durable.len()
        ));
    }
    let expected_server_ops = munis as usize * (params.history + params.staff_edits)
        + params.kiosks as usize * params.kiosk_commits;
    if at_server.ops != expected_server_ops {
        divergences.push(format!(
            "the server holds {} ops, expected {expected_server_ops}",
            at_server.ops
        ));
    }
    for (round, name) in [(&storm, "storm"), (&settle, "settle")] {
        if round.links_left_open > 0 {
            divergences.push(format!(
                "{name}: {} links still open after the round",
                round.links_left_open
            ));
        }
    }
    // Failures in the storm are figures (a kiosk may give up and sync later); failing in
    // the last round means it never synced.
    for (id, e) in &later_failures {
        divergences.insert(0, format!("last round: kiosk {id} failed: {e}"));
    }
    if !quiet {
        divergences.insert(
            0,
            format!("still moving commits after {settle_rounds} rounds after the storm"),
        );
    }
    let server_in_process = server.in_process();
    let file_syncs = server.finish().await?;
    Ok(Report {
        storm,
        settle,
        settle_rounds,
        storm_commits,
        setup,
        server_ops: at_server.ops,
        divergences,
        server_in_process,
        file_syncs,
    })
}
