//! The two sans-IO sessions: bytes and time in, bytes out.
//!
//! ```text
//!  device                                             server
//!    | Noise IK msg 1: e, es, s, ss + [Hello, Commit…]   |
//!    |-------------------------------------------------->|  verify, judge, stage, sync
//!    | Noise IK msg 2: e, ee, se + [Welcome]             |
//!    |<--------------------------------------------------|
//!    | transport: [Chunk] [Chunk] … each alone           |
//!    |<--------------------------------------------------|
//!    | store chunks, sync                                |
//!    | [Ack(chunk), (Commit…), Bye]                      |
//!    |-------------------------------------------------->|
//! ```
//!
//! Steady state is one round trip: the first flight rides in the handshake, the answer in
//! the second handshake message. Long transfers continue in chunks, a window of them ahead
//! of the device's acknowledgements; a cut link resumes from the cursor of the last chunk the
//! device stored durably.

use std::collections::VecDeque;
use std::sync::Arc;

use kenesh_merge::Op;
use kenesh_proto::{
    Ack, Caps, Chunk, ChunkKind, ChunkRef, Compression, DecodeError, ErrorCode, ErrorMessage,
    Hello, Limits, MIN_PROTOCOL_VERSION, Message, PROTOCOL_VERSION, Refuse, RefuseReason,
    SnapshotHeader, Welcome,
};

use crate::SyncError;
use crate::channel::{
    Channel, HANDSHAKE_2_OVERHEAD, MAX_PLAINTEXT, TRANSPORT_OVERHEAD, frames, next_message,
    push_frame,
};
use crate::commit::SignedCommit;
use crate::cursor::Cursor;
use crate::device::Device;
use crate::grants::Grants;
use crate::keys::KeyId;
use crate::server::{CachedSnapshot, IngestError, Server};
use crate::store::Store;

/// Bytes and messages a session moved, handshake included.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// Bytes written to the link.
    pub bytes_sent: u64,
    /// Bytes read from the link.
    pub bytes_received: u64,
    /// Noise messages written.
    pub messages_sent: u64,
    /// Noise messages read.
    pub messages_received: u64,
}

fn encode(m: &Message<'_>) -> Vec<u8> {
    m.to_vec().unwrap_or_default()
}

/// The data of a chunk of commits: the cursor after it, then the commit frames, each as a
/// postcard byte string (varint length, bytes).
fn chunk_data(cursor: &[u8], frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    push_bytes(&mut out, cursor);
    for f in frames {
        push_bytes(&mut out, f);
    }
    out
}

fn push_bytes(out: &mut Vec<u8>, b: &[u8]) {
    let mut n = b.len();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    out.extend_from_slice(b);
}

fn parse_chunk_data(data: &[u8]) -> Result<(Vec<u8>, Vec<Vec<u8>>), DecodeError> {
    let (cursor, mut rest) = postcard::take_from_bytes::<&[u8]>(data).map_err(DecodeError::from)?;
    let mut frames = Vec::new();
    while !rest.is_empty() {
        let (f, r) = postcard::take_from_bytes::<&[u8]>(rest).map_err(DecodeError::from)?;
        frames.push(f.to_vec());
        rest = r;
    }
    Ok((cursor.to_vec(), frames))
}

/// The next upstream flight: the device's commits after `from`, as many as fit in **one
/// frame's worth** on the wire (one compressed chunk, or bare frames), so a cut link loses no
/// more than that. Returns the frames and the last seq they carry.
fn flight<S: Store>(
    device: &Device<S>,
    from: u64,
    zstd: bool,
) -> Result<(Vec<Vec<u8>>, u64), SyncError> {
    let max = device.max_frame;
    // Gather up to what one chunk may expand to, then halve until the flight fits.
    let raw_budget = if zstd {
        Limits::new(max).max_decompressed() / 2
    } else {
        max
    };
    let mut commits = device.own_after(from, raw_budget)?;
    loop {
        let frames = pack_upstream(commits.iter().map(|c| c.frame().to_vec()).collect(), zstd);
        let wire: usize = frames.iter().map(|f| f.len() + 4).sum();
        if wire <= max || commits.len() <= 1 {
            let upto = commits.last().map_or(from, |c| c.last_seq());
            // The keys that open the flight's sealed payloads go before its commits.
            let mut out = crate::keys::key_frames(&device.keys_for(from, upto), max);
            out.extend(frames);
            return Ok((out, upto));
        }
        commits.truncate(commits.len() / 2);
    }
}

/// Commit frames going up, as one zstd-compressed Commits chunk where that is smaller
/// (the server always reads zstd), else as they are.
fn pack_upstream(commits: Vec<Vec<u8>>, zstd: bool) -> Vec<Vec<u8>> {
    if !zstd || commits.is_empty() {
        return commits;
    }
    let plain: usize = commits.iter().map(|c| c.len() + 4).sum();
    let data = chunk_data(&[], &commits);
    match kenesh_proto::compress::compress(&data, 3) {
        Ok(z) if z.len() + 16 < plain => vec![encode(&Message::Chunk(Chunk {
            transfer: 0,
            index: 0,
            last: true,
            kind: ChunkKind::Commits,
            compression: Compression::Zstd,
            raw_len: data.len() as u32,
            data: &z,
        }))],
        _ => commits,
    }
}

/// The commit frames of an upstream frame: a Commit, or a Commits chunk (transfer 0).
fn upstream_commits(frame: &[u8], limits: &Limits) -> Result<Vec<Vec<u8>>, DecodeError> {
    match Message::decode(frame, limits)? {
        Message::Commit(_) => Ok(vec![frame.to_vec()]),
        Message::Chunk(c) if c.kind == ChunkKind::Commits => {
            let data = match c.compression {
                Compression::None => c.data.to_vec(),
                Compression::Zstd => kenesh_proto::compress::decompress(c.data, c.raw_len, limits)?,
            };
            let (cursor, frames) = parse_chunk_data(&data)?;
            if !cursor.is_empty() {
                return Err(DecodeError::Malformed);
            }
            Ok(frames)
        }
        _ => Err(DecodeError::Malformed),
    }
}

/// A server acknowledging seqs this device never made: another device has its identity (a
/// cloned image) or this one was restored from an older backup. Making those seqs again
/// would equivocate, so the session stops and says so.
fn ahead(acknowledged: u64, own: u64) -> Result<(), SyncError> {
    if acknowledged > own {
        return Err(SyncError::AheadOfDevice { acknowledged, own });
    }
    Ok(())
}

/// The frames a server accepts: up to its max frame, and never less than the protocol's
/// default, which a version-1 device sends without negotiation (PROTOCOL.md §10.10) — a
/// server configured to send smaller frames must still take a device's.
fn accepted<S: Store>(server: &Server<S>) -> Limits {
    Limits::new(server.config.max_frame.max(kenesh_proto::DEFAULT_MAX_FRAME))
}

/// Seals queued frames into as few Noise messages as fit.
fn flush(
    channel: &mut Channel,
    frames: &mut Vec<Vec<u8>>,
    room: usize,
    out: &mut Vec<u8>,
    stats: &mut SessionStats,
) -> Result<(), SyncError> {
    let mut payload = Vec::new();
    let mut has_chunk = false;
    for f in frames.drain(..) {
        // A chunk travels alone in its Noise message: a cut link loses at most the chunk it
        // cut, and never the acknowledgement (Welcome, Ack) sent before it.
        let is_chunk = f.first() == Some(&(kenesh_proto::MessageType::Chunk as u8));
        if !payload.is_empty() && (payload.len() + 4 + f.len() > room || is_chunk || has_chunk) {
            seal(channel, &payload, out, stats)?;
            payload.clear();
            has_chunk = false;
        }
        has_chunk |= is_chunk;
        push_frame(&mut payload, &f);
    }
    if !payload.is_empty() {
        seal(channel, &payload, out, stats)?;
    }
    Ok(())
}

fn seal(
    channel: &mut Channel,
    payload: &[u8],
    out: &mut Vec<u8>,
    stats: &mut SessionStats,
) -> Result<(), SyncError> {
    let before = out.len();
    channel.seal(payload, out)?;
    stats.bytes_sent += (out.len() - before) as u64;
    stats.messages_sent += 1;
    Ok(())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ServerPhase {
    Handshake,
    Answer,
    Open,
    Closed,
}

enum Answer {
    Welcome,
    Refuse(RefuseReason),
    Error(ErrorCode, String),
}

struct Serve {
    grants: Grants,
    digest: [u8; 8],
    epoch: u64,
    next: usize,
    end: usize,
    /// Entries before this index were served under `old` grants (a grant change).
    backfill: Option<(usize, Option<Grants>)>,
    /// Relayed frames not yet in a chunk: (serving position after it, frame, the keys of
    /// the payloads it carries).
    pending: VecDeque<(usize, Vec<u8>, Vec<KeyId>)>,
    /// Whether the peer takes keys.
    keys: bool,
    /// For a third-party recipient: whose personal data it may receive.
    consent: Option<crate::server::ConsentFilter>,
    /// The transfer carrying commits, and its next chunk's index.
    transfer: u32,
    index: u32,
    /// The initial snapshot being sent, and its next piece.
    snap: Option<(Arc<CachedSnapshot>, u32)>,
    /// Every chunk sent, in order, and how many of them the peer acknowledged.
    sent: Vec<(u32, u32)>,
    acked: usize,
    done: bool,
}

/// The server's side of one connection.
pub struct ServerSession {
    pub(crate) channel: Channel,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    queue: Vec<Vec<u8>>,
    phase: ServerPhase,
    device: u32,
    caps: Caps,
    version: u16,
    answer: Option<Answer>,
    cursor: Option<Cursor>,
    need_durable: u64,
    told_seq: u64,
    serve: Option<Serve>,
    now_ms: u64,
    stats: SessionStats,
}

impl core::fmt::Debug for ServerSession {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ServerSession")
            .field("phase", &self.phase)
            .field("device", &self.device)
            .field("stats", &self.stats)
            .finish()
    }
}

impl ServerSession {
    /// A session for a new connection; `seed` feeds its ephemeral key (from the OS's
    /// randomness in a program, fixed in tests).
    ///
    /// # Errors
    /// When the Noise state cannot be built.
    pub fn new<S: Store>(server: &Server<S>, seed: [u8; 32]) -> Result<ServerSession, SyncError> {
        Ok(ServerSession {
            channel: Channel::responder(&server.secret, seed)?,
            inbuf: Vec::new(),
            out: Vec::new(),
            queue: Vec::new(),
            phase: ServerPhase::Handshake,
            device: 0,
            caps: Caps::default(),
            version: PROTOCOL_VERSION,
            answer: None,
            cursor: None,
            need_durable: 0,
            told_seq: 0,
            serve: None,
            now_ms: 0,
            stats: SessionStats::default(),
        })
    }

    /// Bytes to write to the link.
    pub fn take_output(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.out)
    }

    /// Whether the session waits for the store's durable mark to move (its answer, the
    /// acknowledgement of a flight, or its close after a confirmation is held until then):
    /// a server loop syncs the store for it, once for every session waiting.
    #[must_use]
    pub fn waits_for_sync<S: Store>(&self, server: &Server<S>) -> bool {
        server.store.durable() < self.need_durable
    }

    /// Whether the session has ended (the connection can be closed once the output is
    /// written).
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.phase == ServerPhase::Closed
    }

    /// The device on the other end, once authenticated.
    #[must_use]
    pub fn device(&self) -> Option<u32> {
        (self.phase != ServerPhase::Handshake && self.device != 0).then_some(self.device)
    }

    /// What the session moved.
    #[must_use]
    pub fn stats(&self) -> SessionStats {
        self.stats
    }

    /// Feeds bytes read from the link, at time `now_ms`. Commits are staged; answers that
    /// acknowledge them wait for the store's durable mark: call [`Server::sync`] and then
    /// [`ServerSession::poll`] (many sessions can share one sync).
    ///
    /// # Errors
    /// When the peer misbehaves; an Error message for it is in the output where the channel
    /// allows, and the session is closed. Nothing it sent past the fault is applied.
    pub fn receive<S: Store>(
        &mut self,
        server: &mut Server<S>,
        bytes: &[u8],
        now_ms: u64,
    ) -> Result<(), SyncError> {
        if self.phase == ServerPhase::Closed {
            return Err(SyncError::Closed);
        }
        self.now_ms = self.now_ms.max(now_ms);
        self.stats.bytes_received += bytes.len() as u64;
        self.inbuf.extend_from_slice(bytes);
        if self.inbuf.len() > 4 * crate::channel::MAX_NOISE_MESSAGE {
            self.phase = ServerPhase::Closed;
            return Err(SyncError::Unexpected("more than four messages unread"));
        }
        let r = self.drain(server);
        if r.is_err() {
            self.phase = ServerPhase::Closed;
        }
        r
    }

    fn drain<S: Store>(&mut self, server: &mut Server<S>) -> Result<(), SyncError> {
        while let Some(msg) = next_message(&mut self.inbuf)? {
            self.stats.messages_received += 1;
            let payload = self.channel.open(&msg)?;
            match self.phase {
                ServerPhase::Handshake => self.hello(server, &payload)?,
                ServerPhase::Open => self.message(server, &payload)?,
                ServerPhase::Answer | ServerPhase::Closed => {
                    return Err(SyncError::Unexpected("a message before the answer"));
                }
            }
        }
        self.poll(server)
    }

    fn hello<S: Store>(&mut self, server: &mut Server<S>, payload: &[u8]) -> Result<(), SyncError> {
        let limits = accepted(server);
        let frames = frames(payload)?;
        let first = frames.first().map(|f| Message::decode(f, &limits));
        if let Some(Err(DecodeError::UnsupportedVersion { .. })) = first {
            // A Hello without our versions: only its two version fields can be read, and the
            // answer is our range (PROTOCOL.md §2).
            self.phase = ServerPhase::Answer;
            self.need_durable = server.store.staged();
            self.answer = Some(Answer::Refuse(RefuseReason::UnsupportedVersion {
                min: MIN_PROTOCOL_VERSION,
                max: PROTOCOL_VERSION,
            }));
            return Ok(());
        }
        let Some(Message::Hello(h)) = first.transpose()? else {
            return Err(SyncError::Unexpected("the first message is not Hello"));
        };
        self.phase = ServerPhase::Answer;
        self.need_durable = server.store.staged();
        let key = self.channel.remote_static().unwrap_or_default();
        let Some(device) = server.device_by_noise(&key) else {
            self.answer = Some(Answer::Refuse(RefuseReason::UnknownDevice));
            return Ok(());
        };
        if h.device != device {
            self.answer = Some(Answer::Refuse(RefuseReason::Unauthenticated));
            return Ok(());
        }
        self.device = device;
        if h.max_version < MIN_PROTOCOL_VERSION || h.min_version > PROTOCOL_VERSION {
            self.answer = Some(Answer::Refuse(RefuseReason::UnsupportedVersion {
                min: MIN_PROTOCOL_VERSION,
                max: PROTOCOL_VERSION,
            }));
            return Ok(());
        }
        self.version = h.max_version.min(PROTOCOL_VERSION);
        self.caps = h.caps.intersection(
            Caps::ZSTD
                .union(Caps::SNAPSHOT)
                .union(Caps::KEYS)
                .union(Caps::RECEIPTS),
        );
        self.cursor = h.cursor.and_then(Cursor::from_bytes);
        for f in &frames[1..] {
            if let Ok(Message::Keys(k)) = Message::decode(f, &limits) {
                if let Err(e) = server.take_keys(device, crate::keys::unpack_entries(&k)) {
                    self.answer = Some(Answer::Error(ErrorCode::FORBIDDEN, e.to_string()));
                    self.need_durable = server.store.staged();
                    return Ok(());
                }
                continue;
            }
            let commits = match upstream_commits(f, &limits) {
                Ok(c) => c,
                Err(e) => {
                    self.answer = Some(Answer::Error(ErrorCode::MALFORMED, format!("{e:?}")));
                    return Ok(());
                }
            };
            for c in &commits {
                if let Err((code, detail)) = self.commit(server, c, true) {
                    self.answer = Some(Answer::Error(code, detail));
                    self.need_durable = server.store.staged();
                    return Ok(());
                }
            }
        }
        self.need_durable = server.store.staged();
        self.answer = Some(match server.device(device).and_then(|d| d.revoked_from) {
            Some(from_seq) => Answer::Refuse(RefuseReason::Revoked { from_seq }),
            None => Answer::Welcome,
        });
        Ok(())
    }

    /// Takes one Commit frame. In the first flight a seq gap is not an error: the device
    /// guessed what the server holds, and the Welcome tells it.
    fn commit<S: Store>(
        &mut self,
        server: &mut Server<S>,
        frame: &[u8],
        first_flight: bool,
    ) -> Result<(), (ErrorCode, String)> {
        let limits = accepted(server);
        let (commit, ops) = SignedCommit::parse(frame, &limits)
            .map_err(|e| (ErrorCode::MALFORMED, e.to_string()))?;
        match server.ingest_parsed(self.device, &commit, ops, self.now_ms) {
            // A peer that shows no receipts back cannot confirm: its ops are served at once.
            Ok(_) if !self.caps.contains(Caps::RECEIPTS) => server
                .serve_unconfirmed(self.device)
                .map_err(|e| (ErrorCode::INTERNAL, e.to_string())),
            Ok(_) => Ok(()),
            Err(IngestError::SeqGap { .. }) if first_flight => Ok(()),
            Err(e) => {
                let code = match e {
                    IngestError::BadSignature => ErrorCode::BAD_SIGNATURE,
                    IngestError::ForeignCommit { .. } | IngestError::UnknownDevice(_) => {
                        ErrorCode::FORBIDDEN
                    }
                    IngestError::SeqGap { .. } => ErrorCode::SEQ_GAP,
                    IngestError::Equivocation(_) => ErrorCode::FORBIDDEN,
                    IngestError::Store(_) => ErrorCode::INTERNAL,
                };
                Err((code, e.to_string()))
            }
        }
    }

    fn message<S: Store>(
        &mut self,
        server: &mut Server<S>,
        payload: &[u8],
    ) -> Result<(), SyncError> {
        let limits = accepted(server);
        for f in frames(payload)? {
            match Message::decode(f, &limits)? {
                Message::Commit(_) | Message::Chunk(_) => {
                    let commits = match upstream_commits(f, &limits) {
                        Ok(c) => c,
                        Err(e) => {
                            self.fail(ErrorCode::MALFORMED, &format!("{e:?}"))?;
                            return Err(e.into());
                        }
                    };
                    for c in &commits {
                        if let Err((code, detail)) = self.commit(server, c, false) {
                            self.fail(code, &detail)?;
                            return Err(SyncError::Peer {
                                code: code.0,
                                detail,
                            });
                        }
                    }
                    self.need_durable = server.store.staged();
                }
                Message::Keys(k) => {
                    if let Err(e) = server.take_keys(self.device, crate::keys::unpack_entries(&k)) {
                        let detail = e.to_string();
                        self.fail(ErrorCode::FORBIDDEN, &detail)?;
                        return Err(SyncError::Peer {
                            code: ErrorCode::FORBIDDEN.0,
                            detail,
                        });
                    }
                }
                Message::Receipt(r) if self.caps.contains(Caps::RECEIPTS) => {
                    match server.take_receipt(self.device, &r) {
                        // Recorded (a confirmation, or a raise): durable before the session
                        // answers or closes, so a device that has synced is never left with
                        // ops no one is served, should the server lose power.
                        Ok(true) => self.need_durable = server.store.staged(),
                        Ok(false) => {}
                        Err(e) => {
                            let code = match e {
                                crate::server::ReceiptError::Forged => ErrorCode::FORBIDDEN,
                                crate::server::ReceiptError::Store(_) => ErrorCode::INTERNAL,
                            };
                            let detail = e.to_string();
                            self.fail(code, &detail)?;
                            return Err(SyncError::Peer {
                                code: code.0,
                                detail,
                            });
                        }
                    }
                }
                Message::Ack(a) => {
                    if let (Some(c), Some(s)) = (a.chunk, self.serve.as_mut())
                        && let Some(k) = s.sent.iter().position(|x| *x == (c.transfer, c.index))
                    {
                        s.acked = s.acked.max(k + 1);
                    }
                }
                Message::Bye => {
                    self.phase = ServerPhase::Closed;
                    return Ok(());
                }
                Message::Error(e) => {
                    self.phase = ServerPhase::Closed;
                    return Err(SyncError::Peer {
                        code: e.code.0,
                        detail: e.detail.into(),
                    });
                }
                _ => {
                    self.fail(ErrorCode::UNEXPECTED, "unexpected message")?;
                    return Err(SyncError::Unexpected(
                        "a message the server does not take here",
                    ));
                }
            }
        }
        Ok(())
    }

    fn fail(&mut self, code: ErrorCode, detail: &str) -> Result<(), SyncError> {
        let mut detail = detail.to_string();
        while detail.len() > kenesh_proto::MAX_ERROR_DETAIL {
            detail.pop();
        }
        self.queue.push(encode(&Message::Error(ErrorMessage {
            code,
            detail: &detail,
        })));
        flush(
            &mut self.channel,
            &mut self.queue,
            MAX_PLAINTEXT,
            &mut self.out,
            &mut self.stats,
        )?;
        self.phase = ServerPhase::Closed;
        Ok(())
    }

    /// Sends what the durable mark now allows: the answer to the first flight,
    /// acknowledgements, and chunks within the window.
    ///
    /// # Errors
    /// When the channel fails.
    pub fn poll<S: Store>(&mut self, server: &mut Server<S>) -> Result<(), SyncError> {
        if server.store.durable() < self.need_durable {
            return Ok(());
        }
        match self.phase {
            ServerPhase::Answer => {
                let answer = self.answer.take().unwrap_or(Answer::Welcome);
                let stored_seq = server.durable_seq(self.device);
                self.told_seq = stored_seq;
                let server_time_ms = self.now_ms;
                match answer {
                    Answer::Welcome => {
                        self.queue.push(encode(&Message::Welcome(Welcome {
                            version: self.version,
                            caps: self.caps,
                            server_time_ms,
                            stored_seq,
                            epoch: server.epoch(),
                        })));
                        self.push_receipt(server, stored_seq);
                        self.start_serving(server);
                        self.fill_window(server);
                        self.phase = ServerPhase::Open;
                    }
                    Answer::Refuse(reason) => {
                        self.queue.push(encode(&Message::Refuse(Refuse {
                            reason,
                            server_time_ms,
                            stored_seq,
                        })));
                        self.phase = ServerPhase::Closed;
                    }
                    Answer::Error(code, detail) => {
                        let mut d = detail;
                        let mut end = d.len().min(kenesh_proto::MAX_ERROR_DETAIL);
                        while !d.is_char_boundary(end) {
                            end -= 1;
                        }
                        d.truncate(end);
                        self.queue
                            .push(encode(&Message::Error(ErrorMessage { code, detail: &d })));
                        self.phase = ServerPhase::Closed;
                    }
                }
                flush(
                    &mut self.channel,
                    &mut self.queue,
                    MAX_PLAINTEXT + crate::channel::HANDSHAKE_1_OVERHEAD - HANDSHAKE_2_OVERHEAD,
                    &mut self.out,
                    &mut self.stats,
                )?;
            }
            ServerPhase::Open => {
                let seq = server.durable_seq(self.device);
                if seq > self.told_seq {
                    self.told_seq = seq;
                    // The receipt first: a device that has the acknowledgement has it.
                    self.push_receipt(server, seq);
                    self.queue.push(encode(&Message::Ack(Ack {
                        durable_seq: seq,
                        cursor: None,
                        chunk: None,
                    })));
                }
                self.fill_window(server);
                flush(
                    &mut self.channel,
                    &mut self.queue,
                    crate::channel::MAX_NOISE_MESSAGE - TRANSPORT_OVERHEAD,
                    &mut self.out,
                    &mut self.stats,
                )?;
            }
            ServerPhase::Handshake | ServerPhase::Closed => {}
        }
        Ok(())
    }

    /// Queues the receipt of `seq` beside the acknowledgement that tells it (right after a
    /// Welcome, in the same Noise message; before an Ack), to a device that takes receipts.
    fn push_receipt<S: Store>(&mut self, server: &Server<S>, seq: u64) {
        if seq > 0 && self.caps.contains(Caps::RECEIPTS) {
            self.queue
                .push(encode(&Message::Receipt(server.receipt(self.device, seq))));
        }
    }

    fn start_serving<S: Store>(&mut self, server: &mut Server<S>) {
        let Some(info) = server.device(self.device) else {
            return;
        };
        let grants = info.grants.clone();
        let digest = grants.digest();
        let epoch = server.epoch();
        // A device arriving with a partial snapshot resumes it if it is still the one cached.
        let partial = self.cursor.filter(|c| c.snapshot > 0);
        let plain = self.cursor.filter(|c| c.snapshot == 0);
        let start = server.resume_point(plain.as_ref());
        let backfill = match plain {
            Some(c) if c.grants != digest && start > 0 => {
                Some((start, info.history.get(&c.grants).cloned()))
            }
            _ => None,
        };
        // A third-party recipient is served op by op, each payload checked against consent
        // (a cached snapshot is made per grants, not per person's consent).
        let consent = server.consent_filter(self.device);
        let mut snap = None;
        if start == 0
            && backfill.is_none()
            && consent.is_none()
            && self.caps.contains(Caps::SNAPSHOT)
            && let Some(cached) = server.snapshot_for(self.device)
        {
            let zstd = self.caps.contains(Caps::ZSTD);
            let piece = server.config.max_frame.saturating_sub(64).max(1);
            let chunks = cached.stream(zstd).len().div_ceil(piece) as u32;
            let from = partial
                .filter(|c| c.epoch == cached.epoch && c.position == cached.position as u64)
                .map_or(0, |c| c.snapshot.min(chunks));
            let (scope_kind, scope_id) = cached.scope;
            self.queue
                .push(encode(&Message::SnapshotHeader(SnapshotHeader {
                    scope_kind,
                    scope_id,
                    tier: cached.tier,
                    epoch: cached.epoch,
                    position: cached.position as u64,
                    records: cached.records,
                    ops: cached.ops,
                    transfer: 1,
                    chunks,
                    raw_bytes: cached.raw.len() as u64,
                    state_hash: cached.hash,
                })));
            let base = Cursor {
                epoch: cached.epoch,
                position: cached.position as u64,
                grants: digest,
                snapshot: 0,
            }
            .to_bytes();
            self.queue.push(encode(&Message::Ack(Ack {
                durable_seq: self.told_seq,
                cursor: Some(&base),
                chunk: None,
            })));
            if self.caps.contains(Caps::KEYS) {
                // The keys of the snapshot's sealed payloads, before its first piece (again
                // on a resume: the device keeps the first copy).
                self.queue.extend(crate::keys::key_frames(
                    &server.keys_of(&cached.key_ids),
                    server.config.max_frame,
                ));
            }
            snap = Some((cached, from));
        }
        let next = match (&snap, &backfill) {
            (Some((c, _)), _) => c.position,
            (None, Some(_)) => 0,
            (None, None) => start,
        };
        self.serve = Some(Serve {
            grants,
            digest,
            epoch,
            next,
            end: server.durable_served(),
            backfill,
            pending: VecDeque::new(),
            keys: self.caps.contains(Caps::KEYS),
            consent,
            transfer: if snap.is_some() { 2 } else { 1 },
            index: 0,
            snap,
            sent: Vec::new(),
            acked: 0,
            done: false,
        });
    }

    fn fill_window<S: Store>(&mut self, server: &mut Server<S>) {
        let device = self.device;
        let zstd = self.caps.contains(Caps::ZSTD);
        let (max_frame, window, level) = (
            server.config.max_frame,
            server.config.window,
            server.config.zstd_level,
        );
        let Some(s) = self.serve.as_mut() else { return };
        while !s.done && s.sent.len() < s.acked + window as usize {
            let piece = max_frame.saturating_sub(64).max(1);
            if let Some((snap, next)) = s.snap.as_mut()
                && let Some(data) = snap.stream(zstd).chunks(piece).nth(*next as usize)
            {
                let last = (*next as usize + 1) * piece >= snap.stream(zstd).len();
                // A slice of the snapshot stream: opaque until the whole has arrived.
                self.queue.push(encode(&Message::Chunk(Chunk {
                    transfer: 1,
                    index: *next,
                    last,
                    kind: ChunkKind::Snapshot,
                    compression: Compression::None,
                    raw_len: data.len() as u32,
                    data,
                })));
                s.sent.push((1, *next));
                *next += 1;
                continue;
            }
            let (t, i) = (s.transfer, s.index);
            let frames = next_chunk(server, s, device, zstd, max_frame, level);
            s.sent.push((t, i));
            self.queue.extend(frames);
        }
    }
}

/// Whether a peer is offered an op, and with its payload.
pub(crate) fn offer(op: &Op, device: u32, grants: &Grants) -> Option<bool> {
    let e = op.envelope();
    if e.origin.0 == device {
        return None;
    }
    // An erasure reaches every replica, whatever scope it was made in: any of them may hold
    // the person's data (a supporter in another municipality). It carries no payload.
    if e.action == kenesh_merge::Action::ERASE {
        return Some(grants.may_read(e.scope, e.tier));
    }
    if !grants.reads_scope(e.scope) {
        return None;
    }
    Some(grants.may_read(e.scope, e.tier))
}

/// Walks the serving log to the next relayed commit frame (runs of one commit's ops).
fn next_frame<S: Store>(
    server: &Server<S>,
    s: &mut Serve,
    device: u32,
    max_frame: usize,
) -> Option<(usize, Vec<u8>, Vec<KeyId>)> {
    let mut run: Vec<(Op, bool)> = Vec::new();
    let mut run_commit = None;
    let mut size = 64;
    let mut after_first = s.next;
    while s.next < s.end {
        let idx = s.next;
        let id = server.served[idx].op;
        let Some(op) = server.served_op(id) else {
            s.next += 1;
            continue;
        };
        let now = offer(&op, device, &s.grants);
        let show = match &s.backfill {
            Some((old_pos, old)) if idx < *old_pos => {
                let before = old.as_ref().and_then(|g| offer(&op, device, g));
                now.filter(|n| before != Some(*n))
            }
            _ => now,
        };
        let Some(with_payload) = show else {
            s.next += 1;
            continue;
        };
        // A person whose consent does not cover the recipient: the envelope goes, not the
        // payload (nor, so, its key).
        let with_payload = with_payload && s.consent.as_ref().is_none_or(|c| c.allows(&op));
        let commit = server.commit_position(id);
        let entry = op.envelope_len() + op.payload().map_or(0, |p| p.bytes.len()) + 40;
        let fits_run = run_commit == Some(commit)
            && run.last().is_some_and(|(l, _)| l.id().seq + 1 == id.seq)
            && size + entry <= max_frame / 2;
        if !run.is_empty() && !fits_run {
            break;
        }
        run_commit = Some(commit);
        size += entry;
        run.push((op, with_payload));
        s.next += 1;
        if run.len() == 1 {
            after_first = s.next;
        }
    }
    let (first, _) = run.first()?;
    let salt = server.salt_of(first.id()).unwrap_or_default();
    let relay = |run: &[(Op, bool)], payloads: bool| {
        let refs: Vec<&Op> = run.iter().map(|(o, _)| o).collect();
        SignedCommit::relayed(
            &refs,
            salt,
            |o| payloads && run.iter().any(|(x, w)| x.id() == o.id() && *w),
            max_frame,
        )
        .ok()
    };
    // The run is sized to fit; should it not, the first op goes alone (and the rest follow
    // in the next frames), withheld as the last resort: an op is never skipped silently.
    let (frame, sent) = match relay(&run, true) {
        Some(f) => (f, &run[..]),
        None => {
            s.next = after_first;
            match relay(&run[..1], true) {
                Some(f) => (f, &run[..1]),
                None => (relay(&run[..1], false)?, &run[..0]),
            }
        }
    };
    // The keys of the payloads it carries (the peer may read them: that is why they are
    // there), for a peer that takes keys.
    let mut keys = Vec::new();
    if s.keys {
        for (op, with_payload) in sent {
            if *with_payload && op.payload().is_some() {
                keys.extend(crate::keys::op_key_ids(op));
            }
        }
    }
    Some((s.next, frame.frame().to_vec(), keys))
}

fn next_chunk<S: Store>(
    server: &Server<S>,
    s: &mut Serve,
    device: u32,
    zstd: bool,
    max_frame: usize,
    level: i32,
) -> Vec<Vec<u8>> {
    let max_raw = if zstd { 3 * max_frame } else { max_frame - 64 };
    // Frames a previous chunk left over count towards this one.
    let mut raw: usize = s.pending.iter().map(|p| p.1.len() + 3).sum();
    while raw < max_raw {
        match next_frame(server, s, device, max_frame) {
            Some(f) => {
                raw += f.1.len() + 3;
                s.pending.push_back(f);
            }
            None => break,
        }
    }
    let mut take = s.pending.len();
    loop {
        let (upto, frames, mut key_ids): (usize, Vec<Vec<u8>>, Vec<KeyId>) = {
            let part: Vec<&(usize, Vec<u8>, Vec<KeyId>)> = s.pending.iter().take(take).collect();
            let upto = part.last().map_or(s.next.min(s.end), |p| p.0);
            (
                upto,
                part.iter().map(|p| p.1.clone()).collect(),
                part.iter().flat_map(|p| p.2.iter().copied()).collect(),
            )
        };
        let drained = take == s.pending.len() && s.next >= s.end;
        let cursor = Cursor {
            epoch: s.epoch,
            position: if drained { s.end as u64 } else { upto as u64 },
            grants: s.digest,
            snapshot: 0,
        }
        .to_bytes();
        let data = chunk_data(&cursor, &frames);
        let (compression, body) = if zstd {
            match kenesh_proto::compress::compress(&data, level) {
                Ok(c) if c.len() < data.len() => (Compression::Zstd, c),
                _ => (Compression::None, data.clone()),
            }
        } else {
            (Compression::None, data.clone())
        };
        if body.len() + 32 > max_frame && take > 1 {
            take /= 2;
            continue;
        }
        let frame = encode(&Message::Chunk(Chunk {
            transfer: s.transfer,
            index: s.index,
            last: drained,
            kind: ChunkKind::Commits,
            compression,
            raw_len: data.len() as u32,
            data: &body,
        }));
        s.pending.drain(..take);
        s.index += 1;
        s.done = drained;
        // Keys travel in their own frames just before the chunk whose payloads they open,
        // never inside it: the device stores chunks in its op store, and keys never go there.
        key_ids.sort();
        key_ids.dedup();
        let mut out = crate::keys::key_frames(&server.keys_of(&key_ids), max_frame);
        out.push(frame);
        return out;
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ClientPhase {
    Start,
    Answer,
    Open,
    Done,
    /// An error ended the session: it takes no more input.
    Failed,
}

/// The device's side of one connection.
pub struct ClientSession {
    pub(crate) channel: Channel,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    queue: Vec<Vec<u8>>,
    phase: ClientPhase,
    epoch: u64,
    sent_upto: u64,
    transfer_done: bool,
    /// The current epoch's receipt taken and kept, to show back with the next message the
    /// device sends (its confirmation: PROTOCOL.md §10.5).
    confirm: Option<kenesh_proto::Receipt>,
    next_chunk: (u32, u32),
    /// The snapshot arriving: (transfer, next index, chunks).
    snapshot: Option<(u32, u32, u32)>,
    limits: Limits,
    caps: Caps,
    stats: SessionStats,
}

impl core::fmt::Debug for ClientSession {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClientSession")
            .field("phase", &self.phase)
            .field("stats", &self.stats)
            .finish()
    }
}

impl ClientSession {
    /// A session to the server the device is enrolled with; `seed` feeds the ephemeral key.
    /// `caps` are what the device offers ([`Caps::ZSTD`] where it has std).
    ///
    /// # Errors
    /// When the Noise state cannot be built.
    pub fn new<S: Store>(
        device: &Device<S>,
        caps: Caps,
        seed: [u8; 32],
    ) -> Result<ClientSession, SyncError> {
        Ok(ClientSession {
            channel: Channel::initiator(&device.secret, &device.server.noise, seed)?,
            inbuf: Vec::new(),
            out: Vec::new(),
            queue: Vec::new(),
            phase: ClientPhase::Start,
            epoch: 0,
            sent_upto: device.first_flight_after(),
            transfer_done: false,
            confirm: None,
            next_chunk: (1, 0),
            snapshot: None,
            limits: Limits::new(device.max_frame),
            caps: caps.union(Caps::KEYS).union(Caps::RECEIPTS),
            stats: SessionStats::default(),
        })
    }

    /// Starts: makes the device's own commits durable, then writes the first flight (the
    /// handshake's first message with Hello and the commits the server lacks).
    ///
    /// # Errors
    /// When the store or the channel fails.
    pub fn start<S: Store>(&mut self, device: &mut Device<S>) -> Result<(), SyncError> {
        if self.phase != ClientPhase::Start {
            return Err(SyncError::Unexpected("the session has started"));
        }
        device.sync()?;
        device.session_started();
        let cursor = device.hello_cursor();
        let hello = encode(&Message::Hello(Hello {
            min_version: MIN_PROTOCOL_VERSION,
            max_version: PROTOCOL_VERSION,
            caps: self.caps,
            device: device.id,
            own_seq: device.own_seq(),
            cursor: cursor.as_deref(),
        }));
        let (frames, upto) = flight(device, self.sent_upto, self.caps.contains(Caps::ZSTD))?;
        self.sent_upto = upto;
        let mut payload = Vec::new();
        push_frame(&mut payload, &hello);
        for f in frames {
            push_frame(&mut payload, &f);
        }
        seal(&mut self.channel, &payload, &mut self.out, &mut self.stats)?;
        self.phase = ClientPhase::Answer;
        Ok(())
    }

    /// Bytes to write to the link.
    pub fn take_output(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.out)
    }

    /// Whether the sync is complete: everything sent acknowledged, everything offered stored.
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.phase == ClientPhase::Done
    }

    /// What the session moved.
    #[must_use]
    pub fn stats(&self) -> SessionStats {
        self.stats
    }

    /// Feeds bytes read from the link. Chunks are stored and synced before they are
    /// acknowledged.
    ///
    /// # Errors
    /// When the server refuses, reports an error, or sends something malformed; nothing past
    /// the fault is applied, and the session is over: later input is refused with
    /// [`SyncError::Closed`] (as after the end).
    pub fn receive<S: Store>(
        &mut self,
        device: &mut Device<S>,
        bytes: &[u8],
    ) -> Result<(), SyncError> {
        if matches!(self.phase, ClientPhase::Done | ClientPhase::Failed) {
            return Err(SyncError::Closed);
        }
        let r = self.drain(device, bytes);
        if r.is_err() {
            self.phase = ClientPhase::Failed;
            self.inbuf.clear();
        }
        r
    }

    fn drain<S: Store>(&mut self, device: &mut Device<S>, bytes: &[u8]) -> Result<(), SyncError> {
        self.stats.bytes_received += bytes.len() as u64;
        self.inbuf.extend_from_slice(bytes);
        if self.inbuf.len() > 4 * crate::channel::MAX_NOISE_MESSAGE {
            return Err(SyncError::Unexpected("more than four messages unread"));
        }
        while let Some(msg) = next_message(&mut self.inbuf)? {
            self.stats.messages_received += 1;
            let payload = self.channel.open(&msg)?;
            self.message(device, &payload)?;
        }
        Ok(())
    }

    fn message<S: Store>(
        &mut self,
        device: &mut Device<S>,
        payload: &[u8],
    ) -> Result<(), SyncError> {
        let mut stored: Option<ChunkRef> = None;
        let mut took_receipt = false;
        for f in frames(payload)? {
            match Message::decode(f, &self.limits)? {
                Message::Welcome(w) if self.phase == ClientPhase::Answer => {
                    ahead(w.stored_seq, device.own_seq())?;
                    self.epoch = w.epoch;
                    self.caps = w.caps;
                    device.set_acked(w.epoch, w.stored_seq)?;
                    // A server restored from an older backup holds less than an earlier
                    // epoch did: show it that epoch's receipts before re-sending, so it
                    // judges the re-sent ops as that epoch did.
                    if w.caps.contains(Caps::RECEIPTS) {
                        for r in device.receipts_to_show(w.epoch, w.stored_seq) {
                            self.queue.push(encode(&Message::Receipt(r)));
                        }
                    }
                    // The server may hold less than we sent (restored from backup) or than
                    // we thought: resend from what it holds.
                    self.sent_upto = w.stored_seq;
                    self.phase = ClientPhase::Open;
                }
                Message::Refuse(r) => return Err(SyncError::Refused(r.reason)),
                Message::Error(e) => {
                    return Err(SyncError::Peer {
                        code: e.code.0,
                        detail: e.detail.into(),
                    });
                }
                Message::Ack(a) if self.phase == ClientPhase::Open => {
                    ahead(a.durable_seq, device.own_seq())?;
                    device.set_acked(self.epoch, a.durable_seq.max(device.acked_seq()))?;
                    if let Some(cursor) = a.cursor {
                        if Cursor::from_bytes(cursor).is_none() {
                            return Err(SyncError::Unexpected("an Ack with a malformed cursor"));
                        }
                        device.snapshot_base(cursor.to_vec())?;
                    }
                }
                Message::SnapshotHeader(h)
                    if self.phase == ClientPhase::Open && self.snapshot.is_none() =>
                {
                    let uncompressed = !self.caps.contains(Caps::ZSTD);
                    let most = u64::from(h.chunks) * self.limits.max_frame() as u64;
                    if h.chunks == 0
                        || h.raw_bytes > crate::MAX_SNAPSHOT_BYTES
                        || (uncompressed && h.raw_bytes > most)
                    {
                        return Err(crate::SnapshotError::TooLarge(h.raw_bytes).into());
                    }
                    device.snapshot_start(crate::device::SnapshotInfo {
                        epoch: h.epoch,
                        position: h.position,
                        ops: h.ops,
                        chunks: h.chunks,
                        raw_bytes: h.raw_bytes,
                        state_hash: h.state_hash,
                        zstd: self.caps.contains(Caps::ZSTD),
                    })?;
                    let held = device.partial.parts.len() as u32;
                    self.snapshot = Some((h.transfer, held, h.chunks));
                    self.next_chunk = (h.transfer.wrapping_add(1), 0);
                }
                Message::Chunk(c)
                    if self.phase == ClientPhase::Open && c.kind == ChunkKind::Snapshot =>
                {
                    let Some((transfer, next, chunks)) = self.snapshot else {
                        return Err(SyncError::Unexpected("a snapshot chunk without a header"));
                    };
                    if (c.transfer, c.index) != (transfer, next)
                        || next >= chunks
                        || c.last != (next + 1 == chunks)
                    {
                        return Err(SyncError::Unexpected("a snapshot chunk out of order"));
                    }
                    if c.compression != Compression::None {
                        return Err(SyncError::Unexpected("a snapshot slice marked compressed"));
                    }
                    device.snapshot_part(c.data.to_vec())?;
                    self.snapshot = Some((transfer, next + 1, chunks));
                    stored = Some(ChunkRef {
                        transfer: c.transfer,
                        index: c.index,
                    });
                }
                Message::Chunk(c) if self.phase == ClientPhase::Open => {
                    if (c.transfer, c.index) != self.next_chunk || c.kind != ChunkKind::Commits {
                        return Err(SyncError::Unexpected("a chunk out of order"));
                    }
                    let data = match c.compression {
                        Compression::None => c.data.to_vec(),
                        Compression::Zstd => {
                            kenesh_proto::compress::decompress(c.data, c.raw_len, &self.limits)?
                        }
                    };
                    let (cursor, frames) = parse_chunk_data(&data)?;
                    if Cursor::from_bytes(&cursor).is_none() {
                        return Err(SyncError::Unexpected("a chunk without a cursor"));
                    }
                    let mut ops = Vec::new();
                    for f in &frames {
                        ops.extend(SignedCommit::parse(f, &self.limits)?.1);
                    }
                    device.receive_chunk(cursor, frames, ops)?;
                    stored = Some(ChunkRef {
                        transfer: c.transfer,
                        index: c.index,
                    });
                    self.next_chunk.1 += 1;
                    if c.last {
                        self.transfer_done = true;
                    }
                }
                Message::Keys(k) if self.phase == ClientPhase::Open => {
                    device.take_keys(crate::keys::unpack_entries(&k))?;
                }
                Message::Receipt(r)
                    if self.phase == ClientPhase::Open && self.caps.contains(Caps::RECEIPTS) =>
                {
                    // Before the Ack it goes with: for no more than the device made.
                    if r.epoch != self.epoch || r.seq > device.own_seq() {
                        return Err(SyncError::Unexpected(
                            "a receipt for another epoch or for seqs not made",
                        ));
                    }
                    took_receipt |= device.take_receipt(r)?;
                    self.confirm = Some(r);
                }
                Message::Bye => {
                    self.phase = ClientPhase::Done;
                    return Ok(());
                }
                _ => {
                    return Err(SyncError::Unexpected(
                        "a message the device does not take here",
                    ));
                }
            }
        }
        if let Some(chunk) = stored {
            device.sync()?;
            self.queue.push(encode(&Message::Ack(Ack {
                durable_seq: 0,
                cursor: None,
                chunk: Some(chunk),
            })));
        } else if took_receipt {
            // A receipt is kept durably at once: it is the device's only evidence of what
            // the server held, should a restore lose it.
            device.sync()?;
        }
        if self.phase == ClientPhase::Open {
            // Upstream in flights of one frame's worth, the next when these are acknowledged.
            if self.sent_upto <= device.acked_seq() {
                let (frames, upto) =
                    flight(device, self.sent_upto, self.caps.contains(Caps::ZSTD))?;
                self.sent_upto = upto;
                self.queue.extend(frames);
            }
            if self.transfer_done && device.acked_seq() >= device.own_seq() {
                self.queue.push(encode(&Message::Bye));
                self.phase = ClientPhase::Done;
            }
        }
        // The receipt kept is shown back first in the next message the device sends (no
        // message of its own: at the latest, the one with the Bye). The server serves the
        // ops it covers to others only then, so no replica holds an op of this device that
        // no receipt the device keeps covers.
        if !self.queue.is_empty()
            && let Some(r) = self.confirm.take()
        {
            self.queue.insert(0, encode(&Message::Receipt(r)));
        }
        flush(
            &mut self.channel,
            &mut self.queue,
            crate::channel::MAX_NOISE_MESSAGE - TRANSPORT_OVERHEAD,
            &mut self.out,
            &mut self.stats,
        )
    }
}

/// Raw sealing for the fuzz hooks (`crate::fuzzing`, feature `fuzzing`).
#[cfg(feature = "fuzzing")]
impl ServerSession {
    /// Seals `payload` (length-prefixed frames, or any bytes) as the next Noise message,
    /// whatever the phase: the handshake's answer before the first [`ServerSession::poll`]
    /// answers, a transport message after.
    pub(crate) fn seal_raw(&mut self, payload: &[u8]) -> Result<(), SyncError> {
        seal(&mut self.channel, payload, &mut self.out, &mut self.stats)
    }
}

/// Raw sealing for the fuzz hooks (`crate::fuzzing`, feature `fuzzing`).
#[cfg(feature = "fuzzing")]
impl ClientSession {
    /// Seals `payload` as the next Noise message: the first flight when `start` (the session
    /// then waits for the answer, as after [`ClientSession::start`]), else a transport
    /// message.
    pub(crate) fn seal_raw(&mut self, payload: &[u8], start: bool) -> Result<(), SyncError> {
        if start != (self.phase == ClientPhase::Start) {
            return Err(SyncError::Unexpected(if start {
                "the session has started"
            } else {
                "the session has not started"
            }));
        }
        seal(&mut self.channel, payload, &mut self.out, &mut self.stats)?;
        if start {
            self.phase = ClientPhase::Answer;
        }
        Ok(())
    }

    /// Opens one Noise message (without its length prefix) and acts on nothing in it: the
    /// handshake's answer completes the channel, and the device writes no reply.
    pub(crate) fn open_raw(&mut self, message: &[u8]) -> Result<Vec<u8>, SyncError> {
        Ok(self.channel.open(message)?)
    }
}
