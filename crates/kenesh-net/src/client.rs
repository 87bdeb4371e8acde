//! A device's side: one sync over TCP, retried with exponential backoff and full jitter.

use std::time::Duration;

use kenesh_sync::{ClientSession, Device, SessionStats, Store};
use rand::{Rng, RngCore};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, ToSocketAddrs};
use tracing::{debug, info, warn};

use crate::config::ClientConfig;
use crate::frame::{FrameError, read_message, write_all};

/// Why one attempt failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The TCP connection could not be made.
    #[error("connecting failed: {0}")]
    Connect(std::io::Error),
    /// The TCP connection was not made within the connect timeout.
    #[error("connecting timed out")]
    ConnectTimeout,
    /// Writing failed.
    #[error("writing failed: {0}")]
    Write(std::io::Error),
    /// A message from the server could not be read (too large, truncated, I/O).
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The server closed the connection before the session was done (it may have been at
    /// its connection cap).
    #[error("the server closed the connection after {received} bytes")]
    Closed {
        /// Bytes received before.
        received: u64,
    },
    /// No message or no write progress within the idle timeout.
    #[error("the link was idle for too long")]
    IdleTimeout,
    /// The attempt took longer than the attempt timeout.
    #[error("the attempt took too long")]
    AttemptTimeout,
    /// The session failed: a refusal, an error from the server, malformed input, or the
    /// device's store.
    #[error("the session failed: {0}")]
    Session(#[from] kenesh_sync::SyncError),
    /// Every attempt failed; the last error.
    #[error("{attempts} attempts failed; the last: {last}")]
    GaveUp {
        /// Attempts made.
        attempts: u32,
        /// The last attempt's error.
        last: Box<ClientError>,
    },
}

impl ClientError {
    /// Whether another attempt may succeed: link and timing faults, a server that is busy
    /// or failed on its side, are worth a retry; a refusal, a protocol fault or a store
    /// failure is not (retrying would repeat it).
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Connect(_)
            | ClientError::ConnectTimeout
            | ClientError::Write(_)
            | ClientError::Closed { .. }
            | ClientError::IdleTimeout
            | ClientError::AttemptTimeout => true,
            ClientError::Frame(f) => !matches!(f, FrameError::TooLarge { .. }),
            ClientError::Session(e) => e.is_transient(),
            ClientError::GaveUp { .. } => false,
        }
    }
}

/// What a successful sync did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientReport {
    /// Attempts made, the successful one included.
    pub attempts: u32,
    /// What the successful attempt moved, handshake included.
    pub stats: SessionStats,
    /// The device's highest seq the server acknowledged as durable.
    pub acked_seq: u64,
}

/// The backoff ceiling before retry `retry` (0 for the first retry):
/// `min(max, base * 2^retry)`.
#[must_use]
pub fn backoff_ceiling(config: &ClientConfig, retry: u32) -> Duration {
    let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
    config
        .backoff_base
        .checked_mul(factor)
        .unwrap_or(config.backoff_max)
        .min(config.backoff_max)
}

/// The delay before retry `retry`, with full jitter: uniform in `0..=ceiling`.
pub fn backoff_delay<R: RngCore + ?Sized>(
    config: &ClientConfig,
    retry: u32,
    rng: &mut R,
) -> Duration {
    let ceiling = backoff_ceiling(config, retry);
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rng.random_range(0..=nanos))
}

/// Syncs `device` with the server at `addr` until the session is done, retrying transient
/// failures ([`ClientError::is_transient`]) after a backoff with full jitter, up to
/// [`ClientConfig::max_attempts`]. `rng` draws the jitter and each session's ephemeral-key
/// seed (a `ChaCha20Rng` from the OS's randomness in a program, seeded in tests). What was
/// stored before a failure stays stored; the next attempt resumes from it.
///
/// The device's own store syncs run inline (a chunk is synced before it is acknowledged):
/// short blocking calls, acceptable for a kiosk's single session. Dropping the future
/// cancels the sync between steps; what was stored stays stored and the next sync resumes
/// from it.
///
/// # Errors
/// The first non-transient error, or [`ClientError::GaveUp`] with the last one.
pub async fn connect_and_sync<A, S, R>(
    addr: A,
    device: &mut Device<S>,
    config: &ClientConfig,
    rng: &mut R,
) -> Result<ClientReport, ClientError>
where
    A: ToSocketAddrs + Clone,
    S: Store,
    R: RngCore + ?Sized,
{
    let connect = move || {
        let addr = addr.clone();
        async move {
            let stream = TcpStream::connect(addr).await?;
            let _ = stream.set_nodelay(true);
            Ok(stream)
        }
    };
    connect_and_sync_with(connect, device, config, rng).await
}

/// [`connect_and_sync`] over a byte stream the caller opens: `connect` is called once per
/// attempt (under [`ClientConfig::connect_timeout`]) and gives any
/// `AsyncRead + AsyncWrite` stream to the server — a TCP stream with options of its own, a
/// tunnel, or a link shaped to 2G speed in a load test. A connect error counts as
/// [`ClientError::Connect`] (transient); everything else is as [`connect_and_sync`].
///
/// # Errors
/// As [`connect_and_sync`].
pub async fn connect_and_sync_with<C, F, T, S, R>(
    mut connect: C,
    device: &mut Device<S>,
    config: &ClientConfig,
    rng: &mut R,
) -> Result<ClientReport, ClientError>
where
    C: FnMut() -> F,
    F: Future<Output = std::io::Result<T>>,
    T: AsyncRead + AsyncWrite + Unpin,
    S: Store,
    R: RngCore + ?Sized,
{
    let attempts = config.max_attempts.max(1);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let r = match tokio::time::timeout(
            config.attempt_timeout,
            sync_once(connect(), device, config, seed),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(ClientError::AttemptTimeout),
        };
        match r {
            Ok(stats) => {
                info!(
                    device = device.id(),
                    attempt,
                    sent = stats.bytes_sent,
                    received = stats.bytes_received,
                    "synced"
                );
                return Ok(ClientReport {
                    attempts: attempt,
                    stats,
                    acked_seq: device.acked_seq(),
                });
            }
            Err(e) if !e.is_transient() => {
                warn!(device = device.id(), attempt, error = %e, "sync failed");
                return Err(e);
            }
            Err(e) if attempt >= attempts => {
                warn!(device = device.id(), attempt, error = %e, "sync failed: giving up");
                return Err(ClientError::GaveUp {
                    attempts: attempt,
                    last: Box::new(e),
                });
            }
            Err(e) => {
                let delay = backoff_delay(config, attempt - 1, rng);
                debug!(
                    device = device.id(),
                    attempt,
                    error = %e,
                    delay_ms = delay.as_millis() as u64,
                    "sync failed: retrying"
                );
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// One attempt: connect, run the session to its end.
async fn sync_once<F, T, S>(
    connect: F,
    device: &mut Device<S>,
    config: &ClientConfig,
    seed: [u8; 32],
) -> Result<SessionStats, ClientError>
where
    F: Future<Output = std::io::Result<T>>,
    T: AsyncRead + AsyncWrite + Unpin,
    S: Store,
{
    let mut stream = match tokio::time::timeout(config.connect_timeout, connect).await {
        Err(_) => return Err(ClientError::ConnectTimeout),
        Ok(Err(e)) => return Err(ClientError::Connect(e)),
        Ok(Ok(s)) => s,
    };
    let mut session = ClientSession::new(device, config.caps, seed)?;
    session.start(device)?;
    let max = config.max_message.min(kenesh_sync::MAX_NOISE_MESSAGE);
    loop {
        let out = session.take_output();
        if !out.is_empty() {
            match write_all(&mut stream, &out, config.idle_timeout).await {
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                    return Err(ClientError::IdleTimeout);
                }
                Err(e) => return Err(ClientError::Write(e)),
                Ok(()) => {}
            }
        }
        if session.is_done() {
            let _ = tokio::time::timeout(config.idle_timeout, stream.shutdown()).await;
            // The server closes once what came with the Bye (the receipt shown back, which
            // lets others be served this device's ops) is durable: wait for that, within the
            // idle timeout, reading (and dropping) at most a little.
            let mut sink = [0u8; 512];
            let mut left = 4096usize;
            while let Ok(Ok(n @ 1..)) =
                tokio::time::timeout(config.idle_timeout, stream.read(&mut sink)).await
            {
                left = left.saturating_sub(n);
                if left == 0 {
                    break;
                }
            }
            return Ok(session.stats());
        }
        let message = match read_message(&mut stream, max, config.idle_timeout).await {
            Err(FrameError::Idle) => return Err(ClientError::IdleTimeout),
            Ok(Some(m)) => m,
            Ok(None) => {
                return Err(ClientError::Closed {
                    received: session.stats().bytes_received,
                });
            }
            Err(e) => return Err(e.into()),
        };
        session.receive(device, &message)?;
    }
}
