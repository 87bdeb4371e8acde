//! Hooks for the fuzz targets (`fuzz/`) and their corpus replay (`tests/`), behind the
//! feature `fuzzing`: they seal arbitrary protocol frames into a real, established Noise
//! channel, so a fuzzer reaches message decoding, commit ingest, chunk parsing and
//! decompression behind the encryption. Not a stable API; no program enables it.
//!
//! A hook only writes what the peer will read: the receiving session is driven through its
//! ordinary [`ServerSession::receive`] and [`ClientSession::receive`].

use crate::SyncError;
use crate::channel::{next_message, push_frame};
use crate::device::Device;
use crate::session::{ClientSession, ServerSession};
use crate::store::Store;

/// A Noise payload of `frames`, each with its u32 length prefix (PROTOCOL.md §3.1).
#[must_use]
pub fn payload(frames: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in frames {
        push_frame(&mut out, f);
    }
    out
}

/// The data of a `Commits` chunk as the server writes it: the cursor after the chunk, then
/// each commit frame, every one as a postcard byte string (varint length, bytes).
#[must_use]
pub fn chunk_data(cursor: &[u8], frames: &[&[u8]]) -> Vec<u8> {
    fn push(out: &mut Vec<u8>, b: &[u8]) {
        let mut n = b.len();
        while n >= 0x80 {
            out.push((n & 0x7f) as u8 | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
        out.extend_from_slice(b);
    }
    let mut out = Vec::new();
    push(&mut out, cursor);
    for f in frames {
        push(&mut out, f);
    }
    out
}

impl ClientSession {
    /// Starts like [`ClientSession::start`] (the device's store is synced first), but the
    /// first flight sealed into the handshake's first message is `frames`, whatever they
    /// are: no Hello is made, none of the device's commits are added.
    ///
    /// # Errors
    /// When the session has started, or the store or the channel fails.
    pub fn start_raw<S: Store>(
        &mut self,
        device: &mut Device<S>,
        frames: &[&[u8]],
    ) -> Result<(), SyncError> {
        device.sync()?;
        self.seal_raw(&payload(frames), true)
    }

    /// Reads the whole Noise messages in `bytes` (a partial one at the end is dropped) and
    /// returns their payloads, acting on none: reading the server's answer this way
    /// completes the handshake without the device writing anything, so every later message
    /// is the caller's, through [`ClientSession::send_raw`].
    ///
    /// # Errors
    /// When a length prefix is over a Noise message or a message does not open.
    pub fn read_raw(&mut self, bytes: &[u8]) -> Result<Vec<Vec<u8>>, SyncError> {
        let mut inbuf = bytes.to_vec();
        let mut out = Vec::new();
        while let Some(message) = next_message(&mut inbuf)? {
            out.push(self.open_raw(&message)?);
        }
        Ok(out)
    }

    /// Seals `frames` as one transport message to the server (after the answer was read),
    /// whatever they are; the output is in [`ClientSession::take_output`].
    ///
    /// # Errors
    /// When the session has not started or the channel fails (a message written before the
    /// handshake finished, or a payload over a Noise message).
    pub fn send_raw(&mut self, frames: &[&[u8]]) -> Result<(), SyncError> {
        self.seal_raw(&payload(frames), false)
    }
}

impl ServerSession {
    /// Seals `frames` as the next Noise message to the device, whatever they are: the
    /// handshake's answer when the first flight was read and not yet answered (call it
    /// instead of [`ServerSession::poll`]), a transport message after. The session's own
    /// state does not change; the output is in [`ServerSession::take_output`].
    ///
    /// # Errors
    /// When the channel fails (nothing read yet, or a payload over a Noise message).
    pub fn send_raw(&mut self, frames: &[&[u8]]) -> Result<(), SyncError> {
        self.seal_raw(&payload(frames))
    }
}
