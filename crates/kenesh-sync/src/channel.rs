//! The secure channel: Noise `IK` (X25519, ChaChaPoly, BLAKE2s) inside the session.
//!
//! The device knows the server's static key from enrolment; its first message carries its
//! own static key and the first sync flight (Hello and commits) encrypted, so steady-state
//! sync is one round trip in all. On the wire every Noise message is preceded by its length
//! as a u32 (little endian). Inside, a Noise payload is a run of protocol frames, each
//! preceded by its u32 length (PROTOCOL.md §3.1).

use snow::params::{CipherChoice, DHChoice, HashChoice};
use snow::resolvers::{CryptoResolver, DefaultResolver};
use snow::types::{Cipher, Dh, Hash, Random};
use snow::{Builder, HandshakeState, TransportState};

use crate::identity::Secret;
use crate::transcript::Transcript;

/// The Noise protocol name.
pub const NOISE_PARAMS: &str = "Noise_IK_25519_ChaChaPoly_BLAKE2s";
/// The Noise prologue: both sides must agree on it.
pub const NOISE_PROLOGUE: &[u8] = b"kenesh sync v1";
/// The largest Noise message.
pub const MAX_NOISE_MESSAGE: usize = 65_535;
/// Bytes a Noise message adds to its payload: the first handshake message (ephemeral key,
/// encrypted static key, payload tag).
pub const HANDSHAKE_1_OVERHEAD: usize = 32 + 48 + 16;
/// Bytes the second handshake message adds (ephemeral key, payload tag).
pub const HANDSHAKE_2_OVERHEAD: usize = 32 + 16;
/// Bytes a transport message adds (its tag).
pub const TRANSPORT_OVERHEAD: usize = 16;
/// The largest plaintext in one Noise message of any kind.
pub const MAX_PLAINTEXT: usize = MAX_NOISE_MESSAGE - HANDSHAKE_1_OVERHEAD;

/// Randomness for ephemeral keys, from a seed the caller gives (the program seeds it from
/// the operating system; tests from a fixed seed, so runs replay exactly).
struct SeededRandom(blake3::OutputReader);

impl Random for SeededRandom {
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), snow::Error> {
        self.0.fill(dest);
        Ok(())
    }
}

struct SeededResolver([u8; 32]);

impl CryptoResolver for SeededResolver {
    fn resolve_rng(&self) -> Option<Box<dyn Random>> {
        let mut h = blake3::Hasher::new_derive_key("kenesh 2026 noise ephemeral v1");
        h.update(&self.0);
        Some(Box::new(SeededRandom(h.finalize_xof())))
    }
    fn resolve_dh(&self, choice: &DHChoice) -> Option<Box<dyn Dh>> {
        DefaultResolver.resolve_dh(choice)
    }
    fn resolve_hash(&self, choice: &HashChoice) -> Option<Box<dyn Hash>> {
        DefaultResolver.resolve_hash(choice)
    }
    fn resolve_cipher(&self, choice: &CipherChoice) -> Option<Box<dyn Cipher>> {
        DefaultResolver.resolve_cipher(choice)
    }
}

/// Why the channel failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChannelError {
    /// A Noise message did not decrypt or authenticate, or came out of turn.
    #[error("the secure channel failed: {0}")]
    Noise(String),
    /// A length prefix announced more than a Noise message can hold.
    #[error("a message of {0} bytes is announced; at most 65,535")]
    TooLarge(usize),
}

fn noise(e: snow::Error) -> ChannelError {
    ChannelError::Noise(e.to_string())
}

enum Inner {
    Handshake(Box<HandshakeState>),
    Transport(Box<TransportState>),
    Failed,
}

/// One side of a secure channel.
pub(crate) struct Channel {
    inner: Inner,
    /// The plaintexts sealed and opened, when a session records them.
    pub(crate) transcript: Transcript,
}

impl core::fmt::Debug for Channel {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let phase = match self.inner {
            Inner::Handshake(_) => "handshake",
            Inner::Transport(_) => "transport",
            Inner::Failed => "failed",
        };
        write!(f, "Channel({phase})")
    }
}

fn builder(seed: [u8; 32]) -> Builder<'static> {
    // The parameters are a constant this crate's tests exercise.
    let params = NOISE_PARAMS.parse().expect("valid Noise parameters");
    Builder::with_resolver(params, Box::new(SeededResolver(seed)))
}

impl Channel {
    /// The device's side: it knows the server's static key.
    pub(crate) fn initiator(
        secret: &Secret,
        server_noise: &[u8; 32],
        seed: [u8; 32],
    ) -> Result<Channel, ChannelError> {
        let private = secret.noise_private();
        let hs = builder(seed)
            .prologue(NOISE_PROLOGUE)
            .and_then(|b| b.local_private_key(&private))
            .and_then(|b| b.remote_public_key(server_noise))
            .and_then(Builder::build_initiator)
            .map_err(noise)?;
        Ok(Channel {
            inner: Inner::Handshake(Box::new(hs)),
            transcript: Transcript::default(),
        })
    }

    /// The server's side.
    pub(crate) fn responder(secret: &Secret, seed: [u8; 32]) -> Result<Channel, ChannelError> {
        let private = secret.noise_private();
        let hs = builder(seed)
            .prologue(NOISE_PROLOGUE)
            .and_then(|b| b.local_private_key(&private))
            .and_then(Builder::build_responder)
            .map_err(noise)?;
        Ok(Channel {
            inner: Inner::Handshake(Box::new(hs)),
            transcript: Transcript::default(),
        })
    }

    /// The peer's static key, once the first handshake message is read.
    pub(crate) fn remote_static(&self) -> Option<[u8; 32]> {
        let key = match &self.inner {
            Inner::Handshake(h) => h.get_remote_static(),
            Inner::Transport(t) => t.get_remote_static(),
            Inner::Failed => None,
        }?;
        key.try_into().ok()
    }

    fn finish_if_done(&mut self) -> Result<(), ChannelError> {
        if let Inner::Handshake(h) = &self.inner
            && h.is_handshake_finished()
        {
            let Inner::Handshake(h) = core::mem::replace(&mut self.inner, Inner::Failed) else {
                return Ok(());
            };
            self.inner = Inner::Transport(Box::new(h.into_transport_mode().map_err(noise)?));
        }
        Ok(())
    }

    /// Encrypts a payload into one wire message (length prefix included), appended to `out`.
    pub(crate) fn seal(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), ChannelError> {
        // As large as the message can be (no Noise message adds more than the first
        // handshake's overhead), not the 64 KiB maximum: zeroing that for every message was
        // a tenth of an incremental session's instructions.
        let mut buf = vec![0u8; (payload.len() + HANDSHAKE_1_OVERHEAD).min(MAX_NOISE_MESSAGE)];
        let handshake = matches!(self.inner, Inner::Handshake(_));
        let n = match &mut self.inner {
            Inner::Handshake(h) => h.write_message(payload, &mut buf),
            Inner::Transport(t) => t.write_message(payload, &mut buf),
            Inner::Failed => return Err(ChannelError::Noise("channel closed".into())),
        }
        .map_err(|e| {
            self.inner = Inner::Failed;
            noise(e)
        })?;
        self.transcript.note(true, handshake, n, payload);
        out.extend_from_slice(&(n as u32).to_le_bytes());
        out.extend_from_slice(&buf[..n]);
        self.finish_if_done()
    }

    /// Decrypts one Noise message (without its length prefix).
    pub(crate) fn open(&mut self, message: &[u8]) -> Result<Vec<u8>, ChannelError> {
        // The plaintext is never longer than the message.
        let mut buf = vec![0u8; message.len().min(MAX_NOISE_MESSAGE)];
        let handshake = matches!(self.inner, Inner::Handshake(_));
        let n = match &mut self.inner {
            Inner::Handshake(h) => h.read_message(message, &mut buf),
            Inner::Transport(t) => t.read_message(message, &mut buf),
            Inner::Failed => return Err(ChannelError::Noise("channel closed".into())),
        }
        .map_err(|e| {
            self.inner = Inner::Failed;
            noise(e)
        })?;
        buf.truncate(n);
        self.transcript.note(false, handshake, message.len(), &buf);
        self.finish_if_done()?;
        Ok(buf)
    }
}

/// Splits complete wire messages off the front of `inbuf`.
pub(crate) fn next_message(inbuf: &mut Vec<u8>) -> Result<Option<Vec<u8>>, ChannelError> {
    let Some(prefix) = inbuf.get(..4) else {
        return Ok(None);
    };
    let len = u32::from_le_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
    if len > MAX_NOISE_MESSAGE {
        return Err(ChannelError::TooLarge(len));
    }
    if inbuf.len() < 4 + len {
        return Ok(None);
    }
    let msg = inbuf[4..4 + len].to_vec();
    inbuf.drain(..4 + len);
    Ok(Some(msg))
}

/// Splits a decrypted payload into its protocol frames.
pub(crate) fn frames(payload: &[u8]) -> Result<Vec<&[u8]>, kenesh_proto::DecodeError> {
    let mut out = Vec::new();
    let mut rest = payload;
    let limits = kenesh_proto::Limits::new(MAX_NOISE_MESSAGE);
    while !rest.is_empty() {
        let Some((frame, r)) = kenesh_proto::split_prefixed(rest, &limits)? else {
            return Err(kenesh_proto::DecodeError::Truncated);
        };
        out.push(frame);
        rest = r;
    }
    Ok(out)
}

/// Appends a frame with its u32 length prefix.
pub(crate) fn push_frame(flight: &mut Vec<u8>, frame: &[u8]) {
    flight.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    flight.extend_from_slice(frame);
}
