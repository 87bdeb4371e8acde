//! # kenesh-sync
//!
//! The sans-IO sync sessions of kenesh: a device (kiosk, partner) and the server agree over
//! links that drop every few minutes. Sessions take bytes and time in and give bytes out: no
//! sockets, no clock, no unseeded randomness (the caller passes each session a seed for its
//! ephemeral key).
//!
//! - **Secure channel** inside the session: Noise `IK` ([`NOISE_PARAMS`]) keyed by the
//!   device's identity; the first sync flight rides in the handshake, so steady-state sync is
//!   one round trip in all ([`session`] has the diagram).
//! - **Identity and signatures**: one [`Secret`] per device gives its ed25519 commit key and
//!   its X25519 Noise key. Each [`SignedCommit`] is signed once over the list of (envelope,
//!   salted payload hash), and kept and forwarded as the bytes received.
//! - **Judged once, at the server**: [`Server::ingest`] checks origin, signature, seqs
//!   (a cloned device raises an [`Alarm`]), revocation, and each op against the writer's
//!   [`Grants`] (scope × tier × read/write); ops arriving before their record's create are
//!   held until it comes. Refused ops are kept for audit, never applied or forwarded.
//! - **Cursors** ([`Cursor`]): server epoch + position in the serving log + grants digest,
//!   so a restore from backup (new epoch) resumes from the fork and a grant change backfills
//!   only what it adds.
//! - **Chunks and resume**: what the device lacks goes in chunks no larger than the frame
//!   limit, zstd-compressed where both sides can, each carrying the cursor after it; the
//!   device stores a chunk and syncs before acknowledging it, so a cut link resumes after
//!   the last chunk stored.
//! - **Withheld payloads**: a peer reading a scope receives every envelope of it, and the
//!   payloads of the tiers it may read only.
//! - **Store** ([`Store`]): an append-only record log with a durable mark; [`MemStore`] and
//!   [`SimDisk`] (which loses or tears what was not synced) implement it here, redb in
//!   `kenesh-store`.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod channel;
mod commit;
mod cursor;
mod device;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod grants;
mod identity;
pub mod keys;
mod server;
pub mod session;
mod snapshot;
mod store;
mod transcript;

pub use channel::{
    ChannelError, HANDSHAKE_1_OVERHEAD, HANDSHAKE_2_OVERHEAD, MAX_NOISE_MESSAGE, MAX_PLAINTEXT,
    NOISE_PARAMS, NOISE_PROLOGUE, TRANSPORT_OVERHEAD,
};
pub use commit::{CommitError, SignedCommit};
pub use cursor::Cursor;
pub use device::{CHECKPOINT_OPS, Device, MAX_RECEIPTS, ReceiveStats};
pub use grants::{Access, Grants};
pub use identity::{PublicKeys, Secret};
pub use keys::{KeyError, KeyId, KeyStore, MemKeys};
pub use server::SNAPSHOT_ZSTD_LEVEL;
pub use server::{
    Alarm, DeviceInfo, GrantChange, IngestError, OpenError, ReceiptError, Refusal, Server,
    ServerConfig, Verdict,
};
pub use session::{ClientSession, ServerSession, SessionStats};
pub use snapshot::{MAX_SNAPSHOT_BYTES, SNAPSHOT_WINDOW_LOG, SnapshotError};
pub use store::{MAX_RECORD, MemStore, Saved, SimDisk, Store, StoreError};
#[doc(hidden)]
pub use transcript::NoiseRecord;

/// Why a session or replica operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The secure channel failed.
    #[error(transparent)]
    Channel(#[from] ChannelError),
    /// A frame did not decode.
    #[error("a frame did not decode: {0:?}")]
    Decode(kenesh_proto::DecodeError),
    /// A message came out of order.
    #[error("unexpected: {0}")]
    Unexpected(&'static str),
    /// The server refused the session.
    #[error("the server refused the session: {0:?}")]
    Refused(kenesh_proto::RefuseReason),
    /// The peer reported an error and ended the session.
    #[error("the peer reported error {code}: {detail}")]
    Peer {
        /// The error code.
        code: u16,
        /// Its detail.
        detail: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A commit is malformed.
    #[error(transparent)]
    Commit(#[from] CommitError),
    /// The server did not take a commit.
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// A payload key or a sealed value failed.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A snapshot did not load.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// The server holds seqs of this device beyond the last it made: a clone of its
    /// identity is at work, or its store was restored from an older backup. Nothing was
    /// changed; a person must look before the device makes new ops.
    #[error(
        "the server holds this device's seqs up to {acknowledged}, but it made only {own}: \
         a cloned identity or a store restored from backup"
    )]
    AheadOfDevice {
        /// What the server acknowledged.
        acknowledged: u64,
        /// The device's own highest seq.
        own: u64,
    },
    /// The session is closed.
    #[error("the session is closed")]
    Closed,
}

impl SyncError {
    /// Whether a new session may succeed where this one failed: the server was busy, or it
    /// reported its own fault, a timeout or a seq gap (a new session starts from what it
    /// holds). A refusal for any other reason, a malformed or forged message, a store
    /// failure here: a new session would fail the same way. (Failures of the link itself
    /// are the transport's to judge: see `kenesh-net` and the facade.)
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            SyncError::Refused(kenesh_proto::RefuseReason::Busy) => true,
            SyncError::Peer { code, .. } => [
                kenesh_proto::ErrorCode::INTERNAL,
                kenesh_proto::ErrorCode::TIMEOUT,
                kenesh_proto::ErrorCode::SEQ_GAP,
            ]
            .iter()
            .any(|c| c.0 == *code),
            _ => false,
        }
    }
}

impl From<kenesh_proto::DecodeError> for SyncError {
    fn from(e: kenesh_proto::DecodeError) -> Self {
        SyncError::Decode(e)
    }
}

#[cfg(test)]
mod tests {
    use super::SyncError;
    use kenesh_proto::{ErrorCode, RefuseReason};

    /// A busy server and its own faults are worth a new session; anything that would only
    /// repeat is not.
    #[test]
    fn which_session_failures_are_transient() {
        let peer = |code: ErrorCode| SyncError::Peer {
            code: code.0,
            detail: String::new(),
        };
        assert!(SyncError::Refused(RefuseReason::Busy).is_transient());
        assert!(peer(ErrorCode::INTERNAL).is_transient());
        assert!(peer(ErrorCode::TIMEOUT).is_transient());
        assert!(peer(ErrorCode::SEQ_GAP).is_transient());
        assert!(!peer(ErrorCode::MALFORMED).is_transient());
        assert!(!SyncError::Refused(RefuseReason::UnknownDevice).is_transient());
        assert!(!SyncError::Closed.is_transient());
    }
}
