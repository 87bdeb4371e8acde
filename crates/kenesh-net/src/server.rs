//! The server runner: an accept loop, one task per connection doing I/O under limits, and
//! one engine thread owning the sans-IO [`Server`] and every [`ServerSession`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use kenesh_sync::{Server, ServerSession, Store, StoreError};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, info, info_span, warn};

use crate::config::NetConfig;
use crate::frame::{FrameError, read_message, write_all};

/// Why the server runner failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// The listener failed.
    #[error("the listener failed: {0}")]
    Listen(#[from] std::io::Error),
    /// The store failed to sync: nothing staged since the last sync was acknowledged, and
    /// the engine stopped (after a failed fsync the file's state is unknown).
    #[error("the store failed: {0}")]
    Store(#[from] StoreError),
    /// The engine has stopped (shut down, or failed).
    #[error("the engine has stopped")]
    Stopped,
}

/// Why the server closed one connection (logged, counted in [`NetStats`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnError {
    /// A message could not be read (too large, truncated, I/O).
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// Writing failed.
    #[error("writing failed: {0}")]
    Write(std::io::Error),
    /// The first message did not arrive in time.
    #[error("the handshake did not complete in time")]
    HandshakeTimeout,
    /// No message, or no write progress, within the idle timeout.
    #[error("idle for too long")]
    IdleTimeout,
    /// The session outlived the session timeout.
    #[error("the session took too long")]
    SessionTimeout,
    /// The device already holds as many sessions as it may.
    #[error("device {0} holds too many sessions")]
    DeviceLimit(u32),
    /// The session failed (bad handshake, malformed frames, a refusal).
    #[error("the session failed: {0}")]
    Session(kenesh_sync::SyncError),
    /// The server is shutting down.
    #[error("the server is shutting down")]
    ShuttingDown,
    /// The engine has stopped.
    #[error("the engine has stopped")]
    EngineGone,
}

/// Counters, for tests and monitoring. Read with [`Running::stats`] / [`Handle::stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Connections accepted (within the global cap).
    pub accepted: u64,
    /// Connections closed at accept because the global cap was reached.
    pub refused_cap: u64,
    /// Connections open now.
    pub active: u64,
    /// The most connections open at once (never above `NetConfig::max_connections`).
    pub peak_active: u64,
    /// Sessions closed because their device held too many.
    pub refused_device: u64,
    /// Connections closed for announcing a message over the limit.
    pub oversized: u64,
    /// Connections closed for not completing the handshake in time.
    pub handshake_timeouts: u64,
    /// Connections closed for idling.
    pub idle_timeouts: u64,
    /// Connections closed at the session timeout.
    pub session_timeouts: u64,
    /// Sessions that failed (malformed input, refusals, I/O errors).
    pub failed: u64,
    /// Sessions the protocol ended: the device said Bye, or the server answered with a
    /// Refuse or an Error (an unknown or revoked device) and closed.
    pub completed: u64,
    /// Disk syncs of the server's store made by the engine (one per round that staged
    /// something a session waits for or a call made, plus the final one).
    pub syncs: u64,
    /// Messages that staged records (flights carrying commits or keys, and a device's
    /// confirmation of its receipt).
    pub flights_staged: u64,
    /// Records staged by sessions: one per commit received, one per confirmation that lets
    /// a device's ops be served, plus the rare release of held ops.
    pub records_staged: u64,
}

#[derive(Default, Debug)]
struct Counters {
    accepted: AtomicU64,
    refused_cap: AtomicU64,
    active: AtomicU64,
    peak_active: AtomicU64,
    refused_device: AtomicU64,
    oversized: AtomicU64,
    handshake_timeouts: AtomicU64,
    idle_timeouts: AtomicU64,
    session_timeouts: AtomicU64,
    failed: AtomicU64,
    completed: AtomicU64,
    syncs: AtomicU64,
    flights_staged: AtomicU64,
    records_staged: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    fn snapshot(&self) -> NetStats {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        NetStats {
            accepted: g(&self.accepted),
            refused_cap: g(&self.refused_cap),
            active: g(&self.active),
            peak_active: g(&self.peak_active),
            refused_device: g(&self.refused_device),
            oversized: g(&self.oversized),
            handshake_timeouts: g(&self.handshake_timeouts),
            idle_timeouts: g(&self.idle_timeouts),
            session_timeouts: g(&self.session_timeouts),
            failed: g(&self.failed),
            completed: g(&self.completed),
            syncs: g(&self.syncs),
            flights_staged: g(&self.flights_staged),
            records_staged: g(&self.records_staged),
        }
    }
}

type Call<S> = Box<dyn FnOnce(&mut Server<S>) + Send>;

enum Event<S: Store> {
    /// A whole message from a connection; answered once what it staged is durable.
    Input {
        conn: u64,
        bytes: Vec<u8>,
        reply: oneshot::Sender<Reply>,
    },
    /// The connection has ended: its session goes.
    Closed { conn: u64 },
    /// Run something on the server between rounds.
    Call(Call<S>),
    /// Final sync, then hand the server back.
    Stop,
}

#[derive(Debug)]
struct Reply {
    out: Vec<u8>,
    close: Option<Close>,
    /// The device, once authenticated.
    device: Option<u32>,
}

#[derive(Debug)]
enum Close {
    /// The session ended as it should.
    Done,
    Failed(kenesh_sync::SyncError),
    DeviceLimit(u32),
}

/// The tokio runner of a kenesh sync server.
///
/// **One engine thread owns the [`Server`] and every session.** The sans-IO server is not
/// `Sync`, and every session step needs it mutably, so sharing it would mean a lock around
/// each step; a store sync (an fsync, milliseconds) under that lock would stall every
/// connection. Instead connection tasks only do I/O under their limits and send each whole
/// message to the engine over a bounded channel (each connection has at most one message in
/// the engine, so the channel and memory are bounded by the connection cap). The engine
/// works in rounds: it takes what is queued (up to [`NetConfig::max_batch`]), feeds each
/// message to its session (commits are verified, judged and *staged*), calls
/// [`Server::sync`] **once** if anything was staged, then polls the sessions of the round and
/// answers them. While it syncs, new messages queue up and share the next sync: this is the
/// group commit (N kiosks flushing at once cost about one disk sync, see
/// [`NetStats::syncs`]). The engine is a plain thread, not a task, so a slow disk never
/// blocks the runtime's workers.
///
/// The cost of this choice: every session's CPU work (Noise, signature checks, zstd) runs on
/// that one thread. A kiosk's flight is small, so one core serves many; a server that
/// outgrows it runs several sync processes over a shared store (PostgreSQL, later), not a
/// lock here.
///
/// Sessions are given the system clock (Unix ms) with each message, for the server's clock
/// checks and the time it tells devices.
///
/// Connections over the global cap are closed at accept, without a `Refuse(Busy)` answer:
/// that answer would cost a Noise handshake, the very work the cap is there to avoid; the
/// client's backoff treats the close as a transient fault.
pub struct NetServer<S: Store> {
    server: Server<S>,
    config: NetConfig,
    seed: Option<u64>,
}

impl<S: Store> core::fmt::Debug for NetServer<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NetServer")
            .field("server", &self.server)
            .field("config", &self.config)
            .finish()
    }
}

impl<S: Store + Send + 'static> NetServer<S> {
    /// A runner for `server` with these limits. Sessions' ephemeral keys are seeded from
    /// the operating system's randomness.
    #[must_use]
    pub fn new(server: Server<S>, config: NetConfig) -> NetServer<S> {
        NetServer {
            server,
            config,
            seed: None,
        }
    }

    /// Seeds the sessions' ephemeral keys from `seed` instead (tests only: reproducible,
    /// and not secret).
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> NetServer<S> {
        self.seed = Some(seed);
        self
    }

    /// Starts serving on `listener` (call within a tokio runtime): spawns the engine
    /// thread and the accept loop. Stop it with [`Running::shutdown`], or by cancelling
    /// [`Running::shutdown_token`] (see [`cancel_on_signals`]).
    ///
    /// # Errors
    /// When the listener has no local address or the engine thread cannot start.
    pub fn spawn(self, listener: TcpListener) -> Result<Running<S>, NetError> {
        let addr = listener.local_addr()?;
        let NetServer {
            server,
            config,
            seed,
        } = self;
        let config = Arc::new(config);
        let counters = Arc::new(Counters::default());
        // Each connection has at most one message in the engine; calls and closes add a few.
        let (events, rx) = mpsc::channel(config.max_connections.saturating_add(64));
        let (done_tx, done_rx) = oneshot::channel();
        let rng = match seed {
            Some(s) => ChaCha20Rng::seed_from_u64(s),
            None => ChaCha20Rng::from_os_rng(),
        };
        let engine = Engine {
            server,
            sessions: HashMap::new(),
            per_device: HashMap::new(),
            rng,
            max_batch: config.max_batch.max(1),
            max_per_device: config.max_per_device.max(1),
            counters: counters.clone(),
        };
        std::thread::Builder::new()
            .name("kenesh-engine".into())
            .spawn(move || {
                let _ = done_tx.send(engine.run(rx));
            })?;
        let cancel = CancellationToken::new();
        let handle = Handle {
            events,
            counters,
            addr,
        };
        let task = tokio::spawn(supervise(
            listener,
            config,
            handle.clone(),
            cancel.clone(),
            done_rx,
        ));
        info!(%addr, "kenesh server listening");
        Ok(Running {
            handle,
            cancel,
            task,
        })
    }
}

/// A server that is running.
#[derive(Debug)]
pub struct Running<S: Store> {
    handle: Handle<S>,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<Result<Server<S>, NetError>>,
}

impl<S: Store + Send + 'static> Running<S> {
    /// The address it listens on.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.handle.addr
    }

    /// A handle to inspect or change the server while it runs.
    #[must_use]
    pub fn handle(&self) -> Handle<S> {
        self.handle.clone()
    }

    /// The counters now.
    #[must_use]
    pub fn stats(&self) -> NetStats {
        self.handle.stats()
    }

    /// The token that starts a graceful shutdown when cancelled.
    #[must_use]
    pub fn shutdown_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Shuts down gracefully: stops accepting, closes connections that have not begun a
    /// session, lets running sessions finish within [`NetConfig::shutdown_grace`] (then
    /// cuts them), makes everything staged durable with a final sync, and returns the
    /// server.
    ///
    /// # Errors
    /// When the store failed (now or earlier, which stopped the engine).
    pub async fn shutdown(self) -> Result<Server<S>, NetError> {
        self.cancel.cancel();
        self.wait().await
    }

    /// Waits until the server stops (its token cancelled, e.g. by [`cancel_on_signals`],
    /// or the engine failed), and returns it.
    ///
    /// # Errors
    /// As [`Running::shutdown`].
    pub async fn wait(self) -> Result<Server<S>, NetError> {
        self.task.await.map_err(|_| NetError::Stopped)?
    }
}

/// Cancels `token` on Ctrl-C (SIGINT) or, on Unix, SIGTERM: pass it
/// [`Running::shutdown_token`] and then [`Running::wait`]. The handlers are in place when
/// this returns (call it within a tokio runtime), so a signal sent right after is caught.
///
/// # Errors
/// When a signal handler cannot be installed.
#[cfg(unix)]
pub fn cancel_on_signals(token: CancellationToken) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = int.recv() => info!("SIGINT: shutting down"),
            _ = term.recv() => info!("SIGTERM: shutting down"),
            () = token.cancelled() => return,
        }
        token.cancel();
    });
    Ok(())
}

/// Cancels `token` on Ctrl-C: pass it [`Running::shutdown_token`] and then
/// [`Running::wait`].
///
/// # Errors
/// Never here (the handler is installed by the task it spawns).
#[cfg(not(unix))]
pub fn cancel_on_signals(token: CancellationToken) -> std::io::Result<()> {
    tokio::spawn(async move {
        tokio::select! {
            r = tokio::signal::ctrl_c() => match r {
                Ok(()) => info!("Ctrl-C: shutting down"),
                Err(e) => {
                    warn!(error = %e, "cannot listen for Ctrl-C");
                    return;
                }
            },
            () = token.cancelled() => return,
        }
        token.cancel();
    });
    Ok(())
}

/// A cloneable handle on a running server.
pub struct Handle<S: Store> {
    events: mpsc::Sender<Event<S>>,
    counters: Arc<Counters>,
    addr: SocketAddr,
}

impl<S: Store> Clone for Handle<S> {
    fn clone(&self) -> Self {
        Handle {
            events: self.events.clone(),
            counters: self.counters.clone(),
            addr: self.addr,
        }
    }
}

impl<S: Store> core::fmt::Debug for Handle<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Handle").field("addr", &self.addr).finish()
    }
}

impl<S: Store + Send + 'static> Handle<S> {
    /// The counters now.
    #[must_use]
    pub fn stats(&self) -> NetStats {
        self.counters.snapshot()
    }

    /// Runs `f` on the server in the engine, between rounds (enrol a device, read a state
    /// hash). Keep it short: every session waits meanwhile.
    ///
    /// # Errors
    /// [`NetError::Stopped`] when the engine has stopped.
    pub async fn call<R, F>(&self, f: F) -> Result<R, NetError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Server<S>) -> R + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let call: Call<S> = Box::new(move |s| {
            let _ = tx.send(f(s));
        });
        self.events
            .send(Event::Call(call))
            .await
            .map_err(|_| NetError::Stopped)?;
        rx.await.map_err(|_| NetError::Stopped)
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

struct Session {
    session: ServerSession,
    /// The device it counts against, once authenticated.
    device: Option<u32>,
}

struct Engine<S: Store> {
    server: Server<S>,
    sessions: HashMap<u64, Session>,
    per_device: HashMap<u32, usize>,
    rng: ChaCha20Rng,
    max_batch: usize,
    max_per_device: usize,
    counters: Arc<Counters>,
}

impl<S: Store> Engine<S> {
    fn run(mut self, mut rx: mpsc::Receiver<Event<S>>) -> Result<Server<S>, NetError> {
        let mut waiting: Vec<(u64, oneshot::Sender<Reply>)> = Vec::new();
        let mut stop = false;
        while !stop {
            let Some(first) = rx.blocking_recv() else {
                break;
            };
            let mut next = Some(first);
            let mut taken = 0;
            // A call may have staged what its caller expects durable after the round.
            let mut called = false;
            while let Some(event) = next.take() {
                taken += 1;
                match event {
                    Event::Input { conn, bytes, reply } => {
                        if let Some(r) = self.input(conn, &bytes) {
                            let _ = reply.send(r);
                        } else {
                            waiting.push((conn, reply));
                        }
                    }
                    Event::Closed { conn } => self.remove(conn),
                    Event::Call(f) => {
                        f(&mut self.server);
                        called = true;
                    }
                    Event::Stop => stop = true,
                }
                if taken < self.max_batch && !stop {
                    next = rx.try_recv().ok();
                }
            }
            // One disk sync for the round, when a session waits for one (a flight to
            // acknowledge, an answer to give, a confirmation to make durable before the
            // close) or a call ran; a round of only chunk acknowledgements and Byes needs
            // none.
            let needed = called
                || waiting.iter().any(|(conn, _)| {
                    self.sessions
                        .get(conn)
                        .is_some_and(|s| s.session.waits_for_sync(&self.server))
                });
            if let Err(e) = if needed { self.sync() } else { Ok(()) } {
                warn!(error = %e, "the store failed to sync: stopping");
                for (conn, _) in waiting.drain(..) {
                    self.remove(conn);
                }
                return Err(e.into());
            }
            for (conn, reply) in waiting.drain(..) {
                let r = self.answer(conn);
                let _ = reply.send(r);
            }
        }
        self.sync()?;
        info!(
            syncs = self.counters.syncs.load(Ordering::Relaxed),
            "engine stopped"
        );
        Ok(self.server)
    }

    /// One sync for everything staged since the last.
    fn sync(&mut self) -> Result<(), StoreError> {
        if self.server.store().staged() > self.server.store().durable() {
            let t = Instant::now();
            self.server.sync()?;
            bump(&self.counters.syncs);
            debug!(micros = t.elapsed().as_micros() as u64, "store synced");
        }
        Ok(())
    }

    /// Feeds a message; `Some` when the answer is final now (an error), `None` when it
    /// waits for the round's sync.
    fn input(&mut self, conn: u64, bytes: &[u8]) -> Option<Reply> {
        if !self.sessions.contains_key(&conn) {
            let mut seed = [0u8; 32];
            self.rng.fill_bytes(&mut seed);
            match ServerSession::new(&self.server, seed) {
                Ok(session) => {
                    self.sessions.insert(
                        conn,
                        Session {
                            session,
                            device: None,
                        },
                    );
                }
                Err(e) => {
                    return Some(Reply {
                        out: Vec::new(),
                        close: Some(Close::Failed(e)),
                        device: None,
                    });
                }
            }
        }
        let s = self.sessions.get_mut(&conn)?;
        let before = self.server.store().staged();
        let r = s.session.receive(&mut self.server, bytes, now_ms());
        let after = self.server.store().staged();
        if after > before {
            bump(&self.counters.flights_staged);
            self.counters
                .records_staged
                .fetch_add(after - before, Ordering::Relaxed);
        }
        if let Err(e) = r {
            let out = s.session.take_output();
            let device = s.device.or_else(|| s.session.device());
            self.remove(conn);
            return Some(Reply {
                out,
                close: Some(Close::Failed(e)),
                device,
            });
        }
        if s.device.is_none()
            && let Some(d) = s.session.device()
        {
            let n = self.per_device.entry(d).or_insert(0);
            if *n >= self.max_per_device {
                self.remove(conn);
                return Some(Reply {
                    out: Vec::new(),
                    close: Some(Close::DeviceLimit(d)),
                    device: Some(d),
                });
            }
            *n += 1;
            s.device = Some(d);
        }
        None
    }

    /// After the round's sync: what the session may send now.
    fn answer(&mut self, conn: u64) -> Reply {
        let Some(s) = self.sessions.get_mut(&conn) else {
            return Reply {
                out: Vec::new(),
                close: Some(Close::Failed(kenesh_sync::SyncError::Closed)),
                device: None,
            };
        };
        let r = s.session.poll(&mut self.server);
        let out = s.session.take_output();
        let device = s.device;
        let close = match r {
            Err(e) => Some(Close::Failed(e)),
            Ok(()) if s.session.is_closed() => Some(Close::Done),
            Ok(()) => None,
        };
        if close.is_some() {
            self.remove(conn);
        }
        Reply { out, close, device }
    }

    fn remove(&mut self, conn: u64) {
        if let Some(Session {
            device: Some(d), ..
        }) = self.sessions.remove(&conn)
            && let Some(n) = self.per_device.get_mut(&d)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_device.remove(&d);
            }
        }
    }
}

async fn supervise<S: Store + Send + 'static>(
    listener: TcpListener,
    config: Arc<NetConfig>,
    handle: Handle<S>,
    cancel: CancellationToken,
    done: oneshot::Receiver<Result<Server<S>, NetError>>,
) -> Result<Server<S>, NetError> {
    let limit = Arc::new(Semaphore::new(
        config.max_connections.min(Semaphore::MAX_PERMITS),
    ));
    // Cancelled after the grace period: cuts sessions still running.
    let hard = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let mut next_conn = 0u64;
    let events_closed = handle.events.clone();
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            () = events_closed.closed() => {
                // The engine stopped on its own (a store failure).
                cancel.cancel();
                break;
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            r = listener.accept() => match r {
                Ok((stream, peer)) => {
                    let Ok(permit) = limit.clone().try_acquire_owned() else {
                        bump(&handle.counters.refused_cap);
                        debug!(%peer, "connection cap reached: closed at accept");
                        drop(stream);
                        continue;
                    };
                    next_conn += 1;
                    bump(&handle.counters.accepted);
                    let open = config.max_connections.min(Semaphore::MAX_PERMITS)
                        - limit.available_permits();
                    handle
                        .counters
                        .peak_active
                        .fetch_max(open as u64, Ordering::Relaxed);
                    let conn = Connection {
                        id: next_conn,
                        config: config.clone(),
                        handle: handle.clone(),
                        soft: cancel.clone(),
                        hard: hard.clone(),
                    };
                    let span = info_span!(
                        "conn",
                        id = next_conn,
                        %peer,
                        device = tracing::field::Empty
                    );
                    tasks.spawn(
                        async move {
                            let _permit = permit;
                            conn.run(stream).await;
                        }
                        .instrument(span),
                    );
                }
                Err(e) => {
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(config.accept_backoff).await;
                }
            },
        }
    }
    drop(listener);
    info!(sessions = tasks.len(), "shutting down: no longer accepting");
    let grace = tokio::time::sleep(config.shutdown_grace);
    tokio::pin!(grace);
    loop {
        tokio::select! {
            next = tasks.join_next() => if next.is_none() { break },
            () = &mut grace, if !hard.is_cancelled() => {
                warn!(sessions = tasks.len(), "grace period over: cutting sessions");
                hard.cancel();
            }
        }
    }
    let _ = handle.events.send(Event::Stop).await;
    drop(handle);
    let server = done.await.map_err(|_| NetError::Stopped)??;
    info!("shut down");
    Ok(server)
}

struct Connection<S: Store> {
    id: u64,
    config: Arc<NetConfig>,
    handle: Handle<S>,
    /// Shutdown begun: a connection with no session yet closes at once.
    soft: CancellationToken,
    /// Grace period over: every connection closes.
    hard: CancellationToken,
}

impl<S: Store + Send + 'static> Connection<S> {
    async fn run(self, stream: TcpStream) {
        let counters = self.handle.counters.clone();
        counters.active.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let r = match tokio::time::timeout(self.config.session_timeout, self.serve(stream)).await {
            Ok(r) => r,
            Err(_) => Err(ConnError::SessionTimeout),
        };
        let ms = started.elapsed().as_millis() as u64;
        match &r {
            Ok(()) => {
                bump(&counters.completed);
                debug!(ms, "session completed");
            }
            Err(e) => {
                let c = match e {
                    ConnError::Frame(FrameError::TooLarge { .. }) => &counters.oversized,
                    ConnError::HandshakeTimeout => &counters.handshake_timeouts,
                    ConnError::IdleTimeout => &counters.idle_timeouts,
                    ConnError::SessionTimeout => &counters.session_timeouts,
                    ConnError::DeviceLimit(_) => &counters.refused_device,
                    _ => &counters.failed,
                };
                bump(c);
                debug!(ms, error = %e, "connection closed");
            }
        }
        let _ = self
            .handle
            .events
            .send(Event::Closed { conn: self.id })
            .await;
        counters.active.fetch_sub(1, Ordering::Relaxed);
    }

    async fn serve(&self, mut stream: TcpStream) -> Result<(), ConnError> {
        let _ = stream.set_nodelay(true);
        let cfg = &self.config;
        let max = cfg.message_limit();
        let mut in_session = false;
        loop {
            // The handshake deadline bounds the whole first message (it is read from accept
            // on); after it, the idle timeout bounds each wait for bytes, and the session
            // timeout the whole.
            let read = async {
                let r = read_message(&mut stream, max, cfg.idle_timeout);
                if in_session {
                    Ok(r.await)
                } else {
                    tokio::time::timeout(cfg.handshake_deadline, r).await
                }
            };
            let message = tokio::select! {
                r = read => match r {
                    Err(_) => return Err(ConnError::HandshakeTimeout),
                    Ok(Ok(Some(m))) => m,
                    // The peer closed between messages: a session it did not finish.
                    Ok(Ok(None)) => return Err(FrameError::Truncated.into()),
                    Ok(Err(FrameError::Idle)) if in_session => return Err(ConnError::IdleTimeout),
                    Ok(Err(FrameError::Idle)) => return Err(ConnError::HandshakeTimeout),
                    Ok(Err(e)) => return Err(e.into()),
                },
                () = self.soft.cancelled(), if !in_session => return Err(ConnError::ShuttingDown),
                () = self.hard.cancelled() => return Err(ConnError::ShuttingDown),
            };
            in_session = true;
            let (tx, rx) = oneshot::channel();
            self.handle
                .events
                .send(Event::Input {
                    conn: self.id,
                    bytes: message,
                    reply: tx,
                })
                .await
                .map_err(|_| ConnError::EngineGone)?;
            let reply = tokio::select! {
                r = rx => r.map_err(|_| ConnError::EngineGone)?,
                () = self.hard.cancelled() => return Err(ConnError::ShuttingDown),
            };
            if let Some(d) = reply.device {
                tracing::Span::current().record("device", d);
            }
            if !reply.out.is_empty() {
                let written = tokio::select! {
                    r = write_all(&mut stream, &reply.out, cfg.idle_timeout) => r,
                    () = self.hard.cancelled() => return Err(ConnError::ShuttingDown),
                };
                match written {
                    Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                        return Err(ConnError::IdleTimeout);
                    }
                    Err(e) => return Err(ConnError::Write(e)),
                    Ok(()) => {}
                }
            }
            match reply.close {
                None => {}
                Some(close) => {
                    let _ = tokio::time::timeout(cfg.idle_timeout, stream.shutdown()).await;
                    return match close {
                        Close::Done => Ok(()),
                        Close::Failed(e) => Err(ConnError::Session(e)),
                        Close::DeviceLimit(d) => Err(ConnError::DeviceLimit(d)),
                    };
                }
            }
        }
    }
}
