//! Limits and timeouts, with defaults for kiosks on 2G links.

use std::time::Duration;

use kenesh_proto::Caps;
use kenesh_sync::MAX_NOISE_MESSAGE;

/// The server's limits. Every one defends against something; the defaults suit kiosks on 2G
/// links (1–2 KB/s, a drop every few minutes), where a legitimate peer is slow but steady.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetConfig {
    /// The largest Noise message a peer may announce, checked on its 4-byte length prefix
    /// **before** anything is allocated: a prefix claiming 4 GiB closes the connection at
    /// once. Defends against memory exhaustion. Default (and most): [`MAX_NOISE_MESSAGE`].
    pub max_message: usize,
    /// From accept until the peer's first message (the Noise handshake's first message,
    /// carrying its first flight) has arrived in full. Defends against connections that open
    /// and say nothing, or dribble a handshake (slowloris) to hold a slot. Default 30 s: a
    /// first flight of one 16 KiB frame takes ~10 s at 1.5 KB/s.
    pub handshake_deadline: Duration,
    /// Once the handshake is done: the longest wait for the next byte from the peer, or for
    /// a write to the peer to make progress. Progress resets it, so a slow link that keeps
    /// moving (a window of 8 × 16 KiB chunks takes over a minute at 1.5 KB/s) is not cut.
    /// Defends against peers that stop reading or writing mid-session (a dead 2G link often
    /// looks like that: no FIN, no RST). Default 60 s.
    pub idle_timeout: Duration,
    /// The longest a connection may live, whatever it does. Defends against a peer that
    /// keeps a session busy forever just under the idle timeout. Default 30 min: a new kiosk's
    /// initial snapshot of a few MB at 2G speed fits, and a resumed transfer continues
    /// next session anyway.
    pub session_timeout: Duration,
    /// Connections open at once, across all peers. Excess connections are closed at accept,
    /// before any read or allocation. Defends file descriptors and memory against floods.
    /// Default 1024.
    pub max_connections: usize,
    /// Sessions one authenticated device may hold at once. Defends against a cloned or
    /// misbehaving kiosk multiplying its load; 2 by default, so a kiosk reconnecting after a
    /// drop is not refused while the server still holds its dead connection (until the idle
    /// timeout notices it). Checked once the handshake's first message has authenticated
    /// the device (its identity is encrypted inside that message); what that message carried
    /// was verified and judged as usual and stays staged, but the connection is closed
    /// without an answer.
    pub max_per_device: usize,
    /// On shutdown, how long sessions already running may take to finish before they are
    /// cut (connections that have not sent a message yet are closed at once). Default 10 s.
    pub shutdown_grace: Duration,
    /// Pause after a failed `accept` (out of file descriptors, say) before the next, so an
    /// error does not spin a core. Default 100 ms.
    pub accept_backoff: Duration,
    /// Events (messages from sessions) the engine takes in one round before it syncs the
    /// store: bounds the latency one round adds for the first of them. Default 256.
    pub max_batch: usize,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            max_message: MAX_NOISE_MESSAGE,
            handshake_deadline: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            session_timeout: Duration::from_secs(30 * 60),
            max_connections: 1024,
            max_per_device: 2,
            shutdown_grace: Duration::from_secs(10),
            accept_backoff: Duration::from_millis(100),
            max_batch: 256,
        }
    }
}

impl NetConfig {
    /// The largest message accepted: `max_message`, never above [`MAX_NOISE_MESSAGE`].
    pub(crate) fn message_limit(&self) -> usize {
        self.max_message.min(MAX_NOISE_MESSAGE)
    }
}

/// A device's connection settings: timeouts per attempt, and reconnection with exponential
/// backoff and full jitter (the delay before retry `n` is drawn uniformly from
/// `0..=min(backoff_max, backoff_base * 2^n)`, so a thousand kiosks cut by one outage do
/// not come back in step).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// TCP connect, per attempt. Default 30 s (2G call setup can take seconds).
    pub connect_timeout: Duration,
    /// The longest wait for the server's next byte, or for a write to make progress.
    /// Default 60 s.
    pub idle_timeout: Duration,
    /// One attempt, whole. Default 30 min (as the server's session timeout).
    pub attempt_timeout: Duration,
    /// Attempts in all (at least 1). Default 6.
    pub max_attempts: u32,
    /// The first backoff ceiling. Default 1 s.
    pub backoff_base: Duration,
    /// The highest backoff ceiling. Default 2 min.
    pub backoff_max: Duration,
    /// The largest message accepted from the server. Default [`MAX_NOISE_MESSAGE`].
    pub max_message: usize,
    /// What the device offers in its Hello. Default [`Caps::ZSTD`].
    pub caps: Caps,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            connect_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            attempt_timeout: Duration::from_secs(30 * 60),
            max_attempts: 6,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(120),
            max_message: MAX_NOISE_MESSAGE,
            caps: Caps::ZSTD,
        }
    }
}
