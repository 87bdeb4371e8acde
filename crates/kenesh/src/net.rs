//! Sync over a byte stream the app provides (a TCP socket, a serial link, a pipe).

use std::io::{ErrorKind, Read, Write};

use kenesh_proto::Caps;
use kenesh_sync::{ClientSession, MAX_NOISE_MESSAGE, SessionStats, Store};

use crate::Replica;

/// What one sync moved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Bytes and Noise messages each way, handshake included.
    pub stats: SessionStats,
    /// Own ops the server acknowledged as stored durably (the highest own seq).
    pub acked_seq: u64,
    /// Ops held after the sync.
    pub ops_held: usize,
    /// When the sync ran (the caller's clock, Unix ms).
    pub at_ms: u64,
}

/// Why a sync did not complete. What was stored before the fault stays stored; the next
/// sync resumes from it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The session failed (refused, malformed input, a store failure).
    #[error(transparent)]
    Session(#[from] kenesh_sync::SyncError),
    /// Reading or writing the stream failed.
    #[error("the stream failed: {0}")]
    Io(#[from] std::io::Error),
    /// The stream ended before the session was done.
    #[error("the stream ended mid-session, after {received} bytes received")]
    Eof {
        /// Bytes received before the end.
        received: u64,
    },
    /// The peer announced a message larger than any Noise message.
    #[error("the peer announced a {0}-byte message; the limit is {MAX_NOISE_MESSAGE}")]
    TooLarge(u32),
}

impl SyncError {
    /// Whether trying again later may succeed: the stream failed or ended, the server was
    /// busy, or it reported its own fault, a timeout or a seq gap (a new session starts from
    /// what it holds). A refusal for any other reason, a malformed or forged message, an
    /// oversized announcement or a store failure here is not transient: retrying would
    /// fail the same way.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            SyncError::Io(_) | SyncError::Eof { .. } => true,
            SyncError::TooLarge(_) => false,
            SyncError::Session(e) => e.is_transient(),
        }
    }
}

/// Fills `buf`, or says the stream ended (`Ok(false)`) before any or all of it.
fn fill<T: Read>(stream: &mut T, buf: &mut [u8]) -> Result<bool, std::io::Error> {
    let mut at = 0;
    while at < buf.len() {
        match stream.read(&mut buf[at..]) {
            Ok(0) => return Ok(false),
            Ok(n) => at += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

impl<S: Store> Replica<S> {
    /// Syncs with the server over `stream` until the session is done: sends this device's
    /// new commits, stores what the server sends, and returns what moved. Reads one
    /// length-prefixed Noise message at a time (`u32` little endian, then the message,
    /// at most [`MAX_NOISE_MESSAGE`] bytes), so memory stays bounded whatever the peer
    /// sends. `seed` feeds the session's ephemeral key (fresh random bytes in an app;
    /// fixed in tests); `now_ms` is the caller's clock, kept in the report. After its `Bye`
    /// it waits for the server to close the stream (the server closes once what came with
    /// the `Bye`, the receipt shown back, is durable: from then on other replicas are served
    /// this device's ops), so give a stream whose peer might not close a read timeout.
    ///
    /// # Errors
    /// [`SyncError::Eof`] when the stream ends mid-session; [`SyncError::Io`];
    /// [`SyncError::TooLarge`]; [`SyncError::Session`] when the server refuses or sends
    /// something malformed.
    pub fn sync_over<T: Read + Write>(
        &mut self,
        mut stream: T,
        seed: [u8; 32],
        now_ms: u64,
    ) -> Result<SyncReport, SyncError> {
        let mut session = ClientSession::new(&self.device, Caps::ZSTD.union(Caps::SNAPSHOT), seed)?;
        session.start(&mut self.device)?;
        let mut message = Vec::new();
        loop {
            let out = session.take_output();
            if !out.is_empty() {
                stream.write_all(&out)?;
                stream.flush()?;
            }
            if session.is_done() {
                // The server closes once what came with the Bye (the receipt shown back,
                // which lets others be served this device's ops) is durable: wait for that,
                // reading (and dropping) at most a little. A stream without a read timeout
                // whose peer never closes would wait here.
                let mut sink = [0u8; 512];
                let mut left = 4096usize;
                loop {
                    match stream.read(&mut sink) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            left = left.saturating_sub(n);
                            if left == 0 {
                                break;
                            }
                        }
                    }
                }
                break;
            }
            let mut len = [0u8; 4];
            let received = session.stats().bytes_received;
            if !fill(&mut stream, &mut len)? {
                return Err(SyncError::Eof { received });
            }
            let n = u32::from_le_bytes(len);
            if n as usize > MAX_NOISE_MESSAGE {
                return Err(SyncError::TooLarge(n));
            }
            message.clear();
            message.extend_from_slice(&len);
            message.resize(4 + n as usize, 0);
            if !fill(&mut stream, &mut message[4..])? {
                return Err(SyncError::Eof { received });
            }
            session.receive(&mut self.device, &message)?;
        }
        Ok(SyncReport {
            stats: session.stats(),
            acked_seq: self.device.acked_seq(),
            ops_held: self.device.state().len(),
            at_ms: now_ms,
        })
    }
}
