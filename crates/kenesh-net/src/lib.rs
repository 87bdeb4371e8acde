//! # kenesh-net
//!
//! The tokio transport of kenesh: it carries the sans-IO sessions of [`kenesh_sync`] over
//! TCP and does nothing else (the secure channel, judgement and durability rules live in the
//! sessions). The wire is what [`kenesh_sync`] defines: Noise messages of at most
//! [`kenesh_sync::MAX_NOISE_MESSAGE`] bytes, each after its `u32` little-endian length — the
//! same bytes the facade's blocking `Replica::sync_over` writes, so either client talks to
//! this server.
//!
//! - **Server**: [`NetServer`] owns a [`kenesh_sync::Server`] in one engine thread (why a
//!   thread and not a lock: see [`NetServer`]); connection tasks read whole messages under
//!   the limits of [`NetConfig`] and hand them to the engine. [`NetServer::spawn`] gives a
//!   [`Running`] server: its address, counters ([`NetStats`]), a [`Handle`] to call into the
//!   server while it runs, and a graceful [`Running::shutdown`] (also on Ctrl-C / SIGTERM
//!   with [`cancel_on_signals`]).
//! - **Group commit**: sessions stage; the engine syncs the store once per round for
//!   everything staged since the last sync, then answers every session of the round
//!   (acknowledgements follow the durable mark, as the sessions require).
//! - **Client**: [`connect_and_sync`] runs one sync for a [`kenesh_sync::Device`], retrying
//!   link faults with exponential backoff and full jitter ([`backoff_delay`]), every step
//!   under a timeout ([`ClientConfig`]); [`connect_and_sync_with`] does the same over any
//!   stream the caller opens per attempt.
//!
//! ## Use
//!
//! ```no_run
//! # async fn server() -> Result<(), Box<dyn std::error::Error>> {
//! use kenesh_net::{NetConfig, NetServer, cancel_on_signals};
//! use kenesh_sync::{MemStore, Secret, Server, ServerConfig};
//!
//! let server = Server::open(MemStore::new(), Secret::from_bytes([1; 32]), ServerConfig::default())?;
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:7447").await?;
//! let running = NetServer::new(server, NetConfig::default()).spawn(listener)?;
//! cancel_on_signals(running.shutdown_token())?;
//! // Returns after Ctrl-C / SIGTERM, once sessions are done and the store synced.
//! let server = running.wait().await?;
//! # Ok(()) }
//! # async fn kiosk(device: &mut kenesh_sync::Device<kenesh_sync::MemStore>) -> Result<(), kenesh_net::ClientError> {
//! use rand::SeedableRng;
//!
//! let mut rng = rand_chacha::ChaCha20Rng::from_os_rng();
//! let config = kenesh_net::ClientConfig::default();
//! let report = kenesh_net::connect_and_sync("sync.example.kg:7447", device, &config, &mut rng).await?;
//! # Ok(()) }
//! ```
//!
//! ## What each limit defends against
//!
//! | limit | default | defends against |
//! |---|---|---|
//! | [`NetConfig::max_message`] | 65 535 B | a length prefix claiming gigabytes: checked before allocating, the connection closed at once |
//! | [`NetConfig::handshake_deadline`] | 30 s | connections that never send a whole first message (idle sockets, slowloris) holding slots |
//! | [`NetConfig::idle_timeout`] | 60 s | peers that stop reading or writing mid-session (dead 2G links show no FIN) |
//! | [`NetConfig::session_timeout`] | 30 min | a peer trickling just under the idle timeout forever |
//! | [`NetConfig::max_connections`] | 1024 | floods: excess connections are closed at accept, before any read |
//! | [`NetConfig::max_per_device`] | 2 | a cloned or looping device multiplying its load |
//! | [`NetConfig::shutdown_grace`] | 10 s | a shutdown hanging on slow sessions |
//!
//! Memory per connection is bounded: one message of at most `max_message` bytes being read,
//! at most one in the engine, and the session's own buffers (bounded in `kenesh-sync`).
//! Logs go through `tracing` (one span per connection, with its peer address).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod client;
mod config;
mod frame;
mod server;

pub use client::{
    ClientError, ClientReport, backoff_ceiling, backoff_delay, connect_and_sync,
    connect_and_sync_with,
};
pub use config::{ClientConfig, NetConfig};
pub use frame::FrameError;
pub use server::{ConnError, Handle, NetError, NetServer, NetStats, Running, cancel_on_signals};
pub use tokio_util::sync::CancellationToken;
