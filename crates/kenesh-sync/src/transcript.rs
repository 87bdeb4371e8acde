//! A record of every Noise message a session sealed or opened, with its plaintext: off
//! unless asked for. Hidden from the documentation: it exists for the exchange vectors of
//! PROTOCOL.md §12 (`tests/exchange_vectors.rs`) and for debugging an integration.

use crate::session::{ClientSession, ServerSession};

/// One Noise message as a session saw it.
#[doc(hidden)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoiseRecord {
    /// Whether this side sealed it (sent it) rather than opened it (received it).
    pub sent: bool,
    /// Whether it was a handshake message (the first two of a session) rather than a
    /// transport message.
    pub handshake: bool,
    /// The Noise message's length on the wire, without its 4-byte length prefix.
    pub wire_len: usize,
    /// Its plaintext payload: a run of protocol frames, each preceded by its u32 length.
    pub plaintext: Vec<u8>,
}

/// What a channel sealed and opened, when recording.
#[derive(Debug, Default)]
pub(crate) struct Transcript(Option<Vec<NoiseRecord>>);

impl Transcript {
    /// Starts (keeping what was recorded) or stops (dropping it) recording.
    pub(crate) fn set(&mut self, on: bool) {
        match (on, self.0.is_some()) {
            (true, false) => self.0 = Some(Vec::new()),
            (false, _) => self.0 = None,
            (true, true) => {}
        }
    }

    /// Notes one Noise message, when recording.
    pub(crate) fn note(&mut self, sent: bool, handshake: bool, wire_len: usize, plaintext: &[u8]) {
        if let Some(records) = self.0.as_mut() {
            records.push(NoiseRecord {
                sent,
                handshake,
                wire_len,
                plaintext: plaintext.to_vec(),
            });
        }
    }

    /// What was recorded since the last call.
    pub(crate) fn take(&mut self) -> Vec<NoiseRecord> {
        self.0.as_mut().map(core::mem::take).unwrap_or_default()
    }
}

impl ClientSession {
    /// Starts or stops keeping the plaintext of every Noise message (see [`NoiseRecord`]).
    #[doc(hidden)]
    pub fn record_transcript(&mut self, on: bool) {
        self.channel.transcript.set(on);
    }

    /// The Noise messages recorded since the last call, in the order sealed or opened.
    #[doc(hidden)]
    pub fn take_transcript(&mut self) -> Vec<NoiseRecord> {
        self.channel.transcript.take()
    }
}

impl ServerSession {
    /// Starts or stops keeping the plaintext of every Noise message (see [`NoiseRecord`]).
    #[doc(hidden)]
    pub fn record_transcript(&mut self, on: bool) {
        self.channel.transcript.set(on);
    }

    /// The Noise messages recorded since the last call, in the order sealed or opened.
    #[doc(hidden)]
    pub fn take_transcript(&mut self) -> Vec<NoiseRecord> {
        self.channel.transcript.take()
    }
}
