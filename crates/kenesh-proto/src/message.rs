//! The messages, borrowed from the frame they were decoded from (zero-copy, no allocation).
//!
//! A frame is one message: a type byte, then the message's fields in postcard. [`Commit`]
//! and [`Chunk`] end with a run of bytes that takes the rest of the frame (ops, chunk data),
//! so the frame length bounds them and nothing is copied.

use serde::{Deserialize, Serialize};

use crate::{DecodeError, EncodeError, Limits, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION};

/// Message type bytes. Only ever appended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum MessageType {
    /// [`Hello`].
    Hello = 0,
    /// [`Welcome`].
    Welcome = 1,
    /// [`Refuse`].
    Refuse = 2,
    /// [`Commit`].
    Commit = 3,
    /// [`Chunk`].
    Chunk = 4,
    /// [`Ack`].
    Ack = 5,
    /// [`SnapshotHeader`].
    SnapshotHeader = 6,
    /// [`ErrorMessage`].
    Error = 7,
    /// Bye: the sender closes the session cleanly.
    Bye = 8,
    /// [`Keys`].
    Keys = 9,
    /// [`Receipt`].
    Receipt = 10,
}

impl MessageType {
    /// The type for a type byte, if this build knows it.
    #[must_use]
    pub fn from_byte(b: u8) -> Option<MessageType> {
        Some(match b {
            0 => MessageType::Hello,
            1 => MessageType::Welcome,
            2 => MessageType::Refuse,
            3 => MessageType::Commit,
            4 => MessageType::Chunk,
            5 => MessageType::Ack,
            6 => MessageType::SnapshotHeader,
            7 => MessageType::Error,
            8 => MessageType::Bye,
            9 => MessageType::Keys,
            10 => MessageType::Receipt,
            _ => return None,
        })
    }
}

/// Capabilities a peer advertises in [`Hello`] and [`Welcome`]; a session uses those both
/// have. Bits are only ever appended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Caps(pub u32);

impl Caps {
    /// Chunks may be zstd-compressed (both sides have std).
    pub const ZSTD: Caps = Caps(1);
    /// The peer accepts an initial sync as a snapshot.
    pub const SNAPSHOT: Caps = Caps(1 << 1);
    /// The peer speaks COBS on a serial link.
    pub const COBS: Caps = Caps(1 << 2);
    /// The peer has no allocator: small frames, no compression, no snapshot.
    pub const NO_ALLOC: Caps = Caps(1 << 3);
    /// The peer takes [`Keys`] messages: payloads sealed with per-person keys
    /// (crypto-shredding) and the keys that open them.
    pub const KEYS: Caps = Caps(1 << 4);
    /// The peer takes [`Receipt`]s: the server's authenticated word of how far it holds the
    /// device's ops, which the device shows a server restored from an older backup.
    pub const RECEIPTS: Caps = Caps(1 << 5);

    /// Whether every bit of `other` is set.
    #[must_use]
    pub const fn contains(self, other: Caps) -> bool {
        self.0 & other.0 == other.0
    }
    /// Both sets' bits together.
    #[must_use]
    pub const fn union(self, other: Caps) -> Caps {
        Caps(self.0 | other.0)
    }
    /// The bits both sets have.
    #[must_use]
    pub const fn intersection(self, other: Caps) -> Caps {
        Caps(self.0 & other.0)
    }
}

/// The first message of a session, from the device: the versions it speaks, its
/// capabilities, who it is, and what it holds.
///
/// The two version fields come first and never move, so any later version can still read
/// them and refuse cleanly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello<'a> {
    /// Lowest protocol version the sender speaks.
    pub min_version: u16,
    /// Highest protocol version the sender speaks.
    pub max_version: u16,
    /// Its capabilities.
    pub caps: Caps,
    /// Its device number (given at enrolment).
    pub device: u32,
    /// The highest seq it has made.
    pub own_seq: u64,
    /// The server cursor it holds (opaque to the device), if any.
    #[serde(borrow)]
    pub cursor: Option<&'a [u8]>,
}

/// The server's answer to a [`Hello`] it accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    /// The version the session speaks.
    pub version: u16,
    /// The capabilities both sides have.
    pub caps: Caps,
    /// The server's time, Unix milliseconds (devices whose clocks are off are flagged).
    pub server_time_ms: u64,
    /// The highest seq of this device the server holds durably.
    pub stored_seq: u64,
    /// The server's epoch (changes when it is restored from a backup).
    pub epoch: u64,
}

/// Why the server refuses a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RefuseReason {
    /// No common protocol version; the server speaks `min..=max`.
    UnsupportedVersion {
        /// Lowest it speaks.
        min: u16,
        /// Highest it speaks.
        max: u16,
    },
    /// The device is not enrolled.
    UnknownDevice,
    /// The device was revoked: ops from this seq on are not accepted.
    Revoked {
        /// The first refused seq.
        from_seq: u64,
    },
    /// The server is busy; try again later.
    Busy,
    /// The device's key did not authenticate.
    Unauthenticated,
}

/// The server's refusal of a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refuse {
    /// Why.
    pub reason: RefuseReason,
    /// The server's time, Unix milliseconds.
    pub server_time_ms: u64,
    /// The highest seq of this device the server holds durably (0 if unknown).
    pub stored_seq: u64,
}

/// The fixed part of a [`Commit`]; the entries follow to the end of the frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct CommitHeader<'a> {
    origin: u32,
    first_seq: u64,
    count: u32,
    salt: [u8; 16],
    #[serde(borrow)]
    signature: &'a [u8],
}

/// What an op entry carries besides its envelope: the payload, or only its salted hash when
/// the receiver may not read the payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Body<'a> {
    /// The payload (its salted hash is recomputed by the receiver from the commit salt).
    Payload(#[serde(borrow)] &'a [u8]),
    /// Withheld: only the salted payload hash.
    Withheld([u8; 32]),
}

/// One op of a commit: its exact envelope bytes and its body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry<'a> {
    /// The envelope bytes, exactly as the origin encoded and signed them.
    #[serde(borrow)]
    pub envelope: &'a [u8],
    /// The payload or its hash.
    #[serde(borrow)]
    pub body: Body<'a>,
}

/// The op entries of a commit, read lazily from the frame.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Entries<'a> {
    count: u32,
    bytes: &'a [u8],
}

impl core::fmt::Debug for Entries<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> Entries<'a> {
    /// How many entries.
    #[must_use]
    pub fn len(&self) -> u32 {
        self.count
    }
    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
    /// The entries, in seq order. Decoding already checked that every entry parses and that
    /// they fill the rest of the frame exactly.
    pub fn iter(&self) -> impl Iterator<Item = Entry<'a>> + 'a {
        let mut rest = self.bytes;
        (0..self.count).map_while(move |_| {
            let (e, r) = postcard::take_from_bytes::<Entry<'a>>(rest).ok()?;
            rest = r;
            Some(e)
        })
    }
    /// The raw bytes of the entries, as received.
    #[must_use]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }
}

/// A signed commit of one device's ops: seqs `first_seq..first_seq + count`, one salt, one
/// signature over the list of (envelope, salted payload hash).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Commit<'a> {
    /// The device that made the ops.
    pub origin: u32,
    /// The seq of the first op.
    pub first_seq: u64,
    /// The commit's salt (payload hashes are salted with it).
    pub salt: [u8; 16],
    /// The origin's signature (ed25519, 64 bytes; empty in a commit a server relays
    /// without it).
    pub signature: &'a [u8],
    /// The ops.
    pub entries: Entries<'a>,
}

/// What a chunk carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChunkKind {
    /// A run of commits, each as a complete Commit frame.
    Commits,
    /// Part of a scope's snapshot.
    Snapshot,
}

/// How a chunk's data is compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Compression {
    /// Not compressed.
    None,
    /// zstd, one frame per chunk (each chunk decompresses on its own).
    Zstd,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct ChunkHeader {
    transfer: u32,
    index: u32,
    last: bool,
    kind: ChunkKind,
    compression: Compression,
    raw_len: u32,
}

/// A part of a transfer; its data takes the rest of the frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunk<'a> {
    /// The transfer it belongs to.
    pub transfer: u32,
    /// Its index in the transfer, from 0.
    pub index: u32,
    /// Whether it is the transfer's last chunk.
    pub last: bool,
    /// What it carries.
    pub kind: ChunkKind,
    /// How its data is compressed.
    pub compression: Compression,
    /// The data's length once decompressed (checked against the limit before anything is
    /// allocated; equal to `data.len()` when not compressed).
    pub raw_len: u32,
    /// The data.
    pub data: &'a [u8],
}

/// A chunk acknowledged as durably stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkRef {
    /// The transfer.
    pub transfer: u32,
    /// The chunk's index.
    pub index: u32,
}

/// What the sender holds durably: acknowledgements follow the durable mark, never a staged
/// write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack<'a> {
    /// The highest seq of the receiver's own ops the sender holds durably.
    pub durable_seq: u64,
    /// The cursor to present next time (from the server), if it changed.
    #[serde(borrow)]
    pub cursor: Option<&'a [u8]>,
    /// The last chunk stored durably, if acknowledging a transfer.
    pub chunk: Option<ChunkRef>,
}

/// The length of a [`Receipt`]'s tag.
pub const RECEIPT_TAG_LEN: usize = 16;

/// The server's authenticated word that, in `epoch`, it held the receiving device's ops up
/// to `seq` durably. The server sends one beside each acknowledgement of the device's ops
/// (the [`Welcome`]'s `stored_seq`, an [`Ack`]'s `durable_seq`); the device keeps the
/// latest of each epoch and, when a later epoch holds less of it (a restore from an older
/// backup), shows them back before re-sending, so the restored server judges the re-sent
/// ops as the lost epoch did. The tag is a MAC only the server can make and check
/// (PROTOCOL.md §5.6); the device treats it as opaque.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The server's epoch when it held them.
    pub epoch: u64,
    /// The highest seq of the device's ops it held durably, contiguous from 1.
    pub seq: u64,
    /// The server's MAC over the device, the epoch and the seq.
    pub tag: [u8; RECEIPT_TAG_LEN],
}

/// The header of a scope's snapshot; its columns follow in [`Chunk`]s of kind
/// [`ChunkKind::Snapshot`]. (The column layout is specified with the sessions.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotHeader {
    /// Scope kind (0 municipality, 1 organisation) — the first byte of a postcard `Scope`.
    pub scope_kind: u8,
    /// Scope id.
    pub scope_id: [u8; 16],
    /// Highest tier included (0 public, 1 personal, 2 sensitive).
    pub tier: u8,
    /// The server epoch it was made in.
    pub epoch: u64,
    /// The server log position it covers up to.
    pub position: u64,
    /// Records in it.
    pub records: u32,
    /// Ops in it.
    pub ops: u32,
    /// The transfer that carries it.
    pub transfer: u32,
    /// Chunks in the transfer.
    pub chunks: u32,
    /// Bytes once all chunks are decompressed.
    pub raw_bytes: u64,
    /// The state hash of the scope and tier it reproduces.
    pub state_hash: [u8; 32],
}

/// Error codes. Only ever appended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorCode(pub u16);

impl ErrorCode {
    /// A frame did not decode.
    pub const MALFORMED: ErrorCode = ErrorCode(1);
    /// A frame was larger than the limit.
    pub const TOO_LARGE: ErrorCode = ErrorCode(2);
    /// A message came out of order.
    pub const UNEXPECTED: ErrorCode = ErrorCode(3);
    /// A signature did not verify.
    pub const BAD_SIGNATURE: ErrorCode = ErrorCode(4);
    /// The sender may not write there.
    pub const FORBIDDEN: ErrorCode = ErrorCode(5);
    /// Seqs are not contiguous.
    pub const SEQ_GAP: ErrorCode = ErrorCode(6);
    /// The receiver failed; try again later.
    pub const INTERNAL: ErrorCode = ErrorCode(7);
    /// A timeout passed.
    pub const TIMEOUT: ErrorCode = ErrorCode(8);
}

/// Longest error detail, in bytes.
pub const MAX_ERROR_DETAIL: usize = 256;
/// Longest cursor, in bytes.
pub const MAX_CURSOR: usize = 64;
/// Longest signature, in bytes.
pub const MAX_SIGNATURE: usize = 64;

/// An error the peer reports; the session ends after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorMessage<'a> {
    /// What went wrong.
    pub code: ErrorCode,
    /// Details for people debugging an integration (at most 256 bytes of UTF-8).
    #[serde(borrow)]
    pub detail: &'a str,
}

/// The bytes of one entry of a [`Keys`] message: person id (16), tier (1: 1 personal,
/// 2 sensitive), origin (4, little-endian), key (32).
pub const KEY_ENTRY_LEN: usize = 53;

/// The most entries one [`Keys`] message may carry.
pub const MAX_KEY_ENTRIES: u32 = 1024;

/// Payload keys: who may open which sealed payloads. Each key belongs to one person, one tier
/// and one origin (the device that made it and seals with it). A device sends the keys of
/// the commits it sends; the server sends a peer the keys of the payloads it serves it, and
/// only those. Keys are never stored with the ops (they live in a key store that can destroy
/// them: an erasure shreds them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keys<'a> {
    /// The entries, [`KEY_ENTRY_LEN`] bytes each.
    entries: &'a [u8],
}

/// One entry of a [`Keys`] message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyEntry<'a> {
    /// The person.
    pub person: [u8; 16],
    /// The tier: 1 personal, 2 sensitive.
    pub tier: u8,
    /// The device that made the key.
    pub origin: u32,
    /// The key.
    pub key: &'a [u8; 32],
}

impl<'a> Keys<'a> {
    /// Keys over packed entries.
    ///
    /// # Errors
    /// When the bytes are not a whole number of valid entries, or too many.
    pub fn new(entries: &'a [u8]) -> Result<Keys<'a>, DecodeError> {
        if !entries.len().is_multiple_of(KEY_ENTRY_LEN) {
            return Err(DecodeError::LengthMismatch {
                declared: entries.len() / KEY_ENTRY_LEN * KEY_ENTRY_LEN,
                actual: entries.len(),
            });
        }
        let count = entries.len() / KEY_ENTRY_LEN;
        if count > MAX_KEY_ENTRIES as usize {
            return Err(DecodeError::CountTooLarge {
                count: u32::try_from(count).unwrap_or(u32::MAX),
                room: MAX_KEY_ENTRIES as usize,
            });
        }
        if entries
            .chunks_exact(KEY_ENTRY_LEN)
            .any(|e| !matches!(e[16], 1 | 2))
        {
            return Err(DecodeError::Malformed);
        }
        Ok(Keys { entries })
    }

    /// How many entries.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len() / KEY_ENTRY_LEN
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The packed entries.
    #[must_use]
    pub fn bytes(&self) -> &'a [u8] {
        self.entries
    }

    /// The entries.
    pub fn iter(&self) -> impl Iterator<Item = KeyEntry<'a>> + 'a {
        self.entries.chunks_exact(KEY_ENTRY_LEN).filter_map(|e| {
            Some(KeyEntry {
                person: e.get(..16)?.try_into().ok()?,
                tier: e[16],
                origin: u32::from_le_bytes(e.get(17..21)?.try_into().ok()?),
                key: e.get(21..53)?.try_into().ok()?,
            })
        })
    }
}

/// One message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message<'a> {
    /// Type 0.
    Hello(Hello<'a>),
    /// Type 1.
    Welcome(Welcome),
    /// Type 2.
    Refuse(Refuse),
    /// Type 3.
    Commit(Commit<'a>),
    /// Type 4.
    Chunk(Chunk<'a>),
    /// Type 5.
    Ack(Ack<'a>),
    /// Type 6.
    SnapshotHeader(SnapshotHeader),
    /// Type 7.
    Error(ErrorMessage<'a>),
    /// Type 8.
    Bye,
    /// Type 9.
    Keys(Keys<'a>),
    /// Type 10.
    Receipt(Receipt),
}

fn take<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<(T, &'a [u8]), DecodeError> {
    postcard::take_from_bytes(bytes).map_err(DecodeError::from)
}

fn exact<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, DecodeError> {
    let (v, rest) = take(bytes)?;
    if rest.is_empty() {
        Ok(v)
    } else {
        Err(DecodeError::TrailingBytes(rest.len()))
    }
}

fn put<T: Serialize>(v: &T, out: &mut [u8]) -> Result<usize, EncodeError> {
    postcard::to_slice(v, out)
        .map(|s| s.len())
        .map_err(|_| EncodeError::BufferTooSmall)
}

impl<'a> Message<'a> {
    /// The message's type.
    #[must_use]
    pub fn message_type(&self) -> MessageType {
        match self {
            Message::Hello(_) => MessageType::Hello,
            Message::Welcome(_) => MessageType::Welcome,
            Message::Refuse(_) => MessageType::Refuse,
            Message::Commit(_) => MessageType::Commit,
            Message::Chunk(_) => MessageType::Chunk,
            Message::Ack(_) => MessageType::Ack,
            Message::SnapshotHeader(_) => MessageType::SnapshotHeader,
            Message::Error(_) => MessageType::Error,
            Message::Bye => MessageType::Bye,
            Message::Keys(_) => MessageType::Keys,
            Message::Receipt(_) => MessageType::Receipt,
        }
    }

    /// Decodes one frame (without its length prefix or COBS encoding).
    ///
    /// # Errors
    /// A typed [`DecodeError`]; nothing is allocated, whatever the bytes.
    pub fn decode(frame: &'a [u8], limits: &Limits) -> Result<Message<'a>, DecodeError> {
        if frame.len() > limits.max_frame() {
            return Err(DecodeError::FrameTooLarge {
                len: frame.len(),
                max: limits.max_frame(),
            });
        }
        let (&t, body) = frame.split_first().ok_or(DecodeError::Empty)?;
        let ty = MessageType::from_byte(t).ok_or(DecodeError::UnknownType(t))?;
        Ok(match ty {
            MessageType::Hello => {
                // The version range first: a later version's Hello is refused cleanly.
                let ((min, max), _) = take::<(u16, u16)>(body)?;
                if max < MIN_PROTOCOL_VERSION || min > PROTOCOL_VERSION || min > max {
                    return Err(DecodeError::UnsupportedVersion { min, max });
                }
                // A peer that also speaks later versions may append fields this version does
                // not know: they are skipped. Otherwise trailing bytes are refused.
                let h: Hello<'a> = if max > PROTOCOL_VERSION {
                    take(body)?.0
                } else {
                    exact(body)?
                };
                if h.cursor.is_some_and(|c| c.len() > MAX_CURSOR) {
                    return Err(DecodeError::TooLong {
                        field: "cursor",
                        len: h.cursor.map_or(0, <[u8]>::len),
                        max: MAX_CURSOR,
                    });
                }
                Message::Hello(h)
            }
            MessageType::Welcome => {
                let w: Welcome = exact(body)?;
                if !(MIN_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&w.version) {
                    return Err(DecodeError::UnsupportedVersion {
                        min: w.version,
                        max: w.version,
                    });
                }
                Message::Welcome(w)
            }
            MessageType::Refuse => Message::Refuse(exact(body)?),
            MessageType::Commit => {
                let (h, rest): (CommitHeader<'a>, _) = take(body)?;
                if h.signature.len() > MAX_SIGNATURE {
                    return Err(DecodeError::TooLong {
                        field: "signature",
                        len: h.signature.len(),
                        max: MAX_SIGNATURE,
                    });
                }
                // Each entry takes at least 3 bytes: a count beyond that is a lie, refused
                // before anything is read.
                if h.count as usize > rest.len() / 3 {
                    return Err(DecodeError::CountTooLarge {
                        count: h.count,
                        room: rest.len(),
                    });
                }
                // A commit holds at least one op; its seqs start at 1 or later and fit.
                if h.count == 0
                    || h.first_seq == 0
                    || h.first_seq.checked_add(u64::from(h.count) - 1).is_none()
                {
                    return Err(DecodeError::BadSeq);
                }
                let mut cur = rest;
                for _ in 0..h.count {
                    let (_, r): (Entry<'a>, _) = take(cur)?;
                    cur = r;
                }
                if !cur.is_empty() {
                    return Err(DecodeError::TrailingBytes(cur.len()));
                }
                Message::Commit(Commit {
                    origin: h.origin,
                    first_seq: h.first_seq,
                    salt: h.salt,
                    signature: h.signature,
                    entries: Entries {
                        count: h.count,
                        bytes: rest,
                    },
                })
            }
            MessageType::Chunk => {
                let (h, data): (ChunkHeader, _) = take(body)?;
                let raw = h.raw_len as usize;
                if raw > limits.max_decompressed() {
                    return Err(DecodeError::DecompressedTooLarge {
                        declared: raw,
                        max: limits.max_decompressed(),
                    });
                }
                if h.compression == Compression::None && raw != data.len() {
                    return Err(DecodeError::LengthMismatch {
                        declared: raw,
                        actual: data.len(),
                    });
                }
                Message::Chunk(Chunk {
                    transfer: h.transfer,
                    index: h.index,
                    last: h.last,
                    kind: h.kind,
                    compression: h.compression,
                    raw_len: h.raw_len,
                    data,
                })
            }
            MessageType::Ack => {
                let a: Ack<'a> = exact(body)?;
                if a.cursor.is_some_and(|c| c.len() > MAX_CURSOR) {
                    return Err(DecodeError::TooLong {
                        field: "cursor",
                        len: a.cursor.map_or(0, <[u8]>::len),
                        max: MAX_CURSOR,
                    });
                }
                Message::Ack(a)
            }
            MessageType::SnapshotHeader => Message::SnapshotHeader(exact(body)?),
            MessageType::Error => {
                let e: ErrorMessage<'a> = exact(body)?;
                if e.detail.len() > MAX_ERROR_DETAIL {
                    return Err(DecodeError::TooLong {
                        field: "detail",
                        len: e.detail.len(),
                        max: MAX_ERROR_DETAIL,
                    });
                }
                Message::Error(e)
            }
            MessageType::Bye => {
                if !body.is_empty() {
                    return Err(DecodeError::TrailingBytes(body.len()));
                }
                Message::Bye
            }
            MessageType::Keys => {
                let (count, rest): (u32, _) = take(body)?;
                if count > MAX_KEY_ENTRIES {
                    return Err(DecodeError::CountTooLarge {
                        count,
                        room: MAX_KEY_ENTRIES as usize,
                    });
                }
                let want = count as usize * KEY_ENTRY_LEN;
                if rest.len() != want {
                    return Err(DecodeError::LengthMismatch {
                        declared: want,
                        actual: rest.len(),
                    });
                }
                Message::Keys(Keys::new(rest)?)
            }
            MessageType::Receipt => Message::Receipt(exact(body)?),
        })
    }

    /// Encodes the message as one frame into `out`, returning its length.
    ///
    /// # Errors
    /// [`EncodeError::BufferTooSmall`] when `out` cannot hold it; [`EncodeError::Invalid`]
    /// when a field breaks a limit a decoder would refuse.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let (first, body) = out.split_first_mut().ok_or(EncodeError::BufferTooSmall)?;
        *first = self.message_type() as u8;
        let n = match self {
            Message::Hello(h) => {
                if h.cursor.is_some_and(|c| c.len() > MAX_CURSOR) {
                    return Err(EncodeError::Invalid("cursor"));
                }
                put(h, body)?
            }
            Message::Welcome(w) => put(w, body)?,
            Message::Refuse(r) => put(r, body)?,
            Message::Commit(c) => {
                if c.signature.len() > MAX_SIGNATURE {
                    return Err(EncodeError::Invalid("signature"));
                }
                let h = CommitHeader {
                    origin: c.origin,
                    first_seq: c.first_seq,
                    count: c.entries.count,
                    salt: c.salt,
                    signature: c.signature,
                };
                let n = put(&h, body)?;
                let rest = body
                    .get_mut(n..n + c.entries.bytes.len())
                    .ok_or(EncodeError::BufferTooSmall)?;
                rest.copy_from_slice(c.entries.bytes);
                n + c.entries.bytes.len()
            }
            Message::Chunk(c) => {
                let h = ChunkHeader {
                    transfer: c.transfer,
                    index: c.index,
                    last: c.last,
                    kind: c.kind,
                    compression: c.compression,
                    raw_len: c.raw_len,
                };
                let n = put(&h, body)?;
                let rest = body
                    .get_mut(n..n + c.data.len())
                    .ok_or(EncodeError::BufferTooSmall)?;
                rest.copy_from_slice(c.data);
                n + c.data.len()
            }
            Message::Ack(a) => put(a, body)?,
            Message::SnapshotHeader(s) => put(s, body)?,
            Message::Error(e) => {
                if e.detail.len() > MAX_ERROR_DETAIL {
                    return Err(EncodeError::Invalid("detail"));
                }
                put(e, body)?
            }
            Message::Bye => 0,
            Message::Keys(k) => {
                let n = put(&(k.len() as u32), body)?;
                let rest = body
                    .get_mut(n..n + k.entries.len())
                    .ok_or(EncodeError::BufferTooSmall)?;
                rest.copy_from_slice(k.entries);
                n + k.entries.len()
            }
            Message::Receipt(r) => put(r, body)?,
        };
        Ok(n + 1)
    }

    /// Encodes the message as one frame into a new vector.
    ///
    /// # Errors
    /// As [`Message::encode`].
    #[cfg(feature = "alloc")]
    pub fn to_vec(&self) -> Result<alloc::vec::Vec<u8>, EncodeError> {
        let mut buf = alloc::vec![0u8; self.encoded_len_hint()];
        loop {
            match self.encode(&mut buf) {
                Ok(n) => {
                    buf.truncate(n);
                    return Ok(buf);
                }
                Err(EncodeError::BufferTooSmall) if buf.len() < crate::HARD_MAX_FRAME => {
                    let len = buf.len() * 2;
                    buf.resize(len, 0);
                }
                Err(e) => return Err(e),
            }
        }
    }

    #[cfg(feature = "alloc")]
    fn encoded_len_hint(&self) -> usize {
        128 + match self {
            Message::Commit(c) => c.entries.bytes.len() + c.signature.len(),
            Message::Chunk(c) => c.data.len(),
            Message::Error(e) => e.detail.len(),
            Message::Keys(k) => k.entries.len(),
            _ => 0,
        }
    }
}

/// Builds the entries of a commit into a caller's buffer (no allocation).
///
/// ```
/// use kenesh_proto::{Body, CommitBuilder, Commit, Message, Limits};
/// let mut buf = [0u8; 256];
/// let mut b = CommitBuilder::new(&mut buf);
/// b.push(kenesh_proto::Entry { envelope: &[1, 2, 3], body: Body::Payload(b"x") }).unwrap();
/// let entries = b.finish();
/// let commit = Message::Commit(Commit { origin: 7, first_seq: 1, salt: [0; 16], signature: &[], entries });
/// let mut frame = [0u8; 256];
/// let n = commit.encode(&mut frame).unwrap();
/// assert_eq!(Message::decode(&frame[..n], &Limits::default()).unwrap(), commit);
/// ```
#[derive(Debug)]
pub struct CommitBuilder<'b> {
    buf: &'b mut [u8],
    len: usize,
    count: u32,
}

impl<'b> CommitBuilder<'b> {
    /// A builder writing into `buf`.
    pub fn new(buf: &'b mut [u8]) -> CommitBuilder<'b> {
        CommitBuilder {
            buf,
            len: 0,
            count: 0,
        }
    }

    /// Appends one entry.
    ///
    /// # Errors
    /// [`EncodeError::BufferTooSmall`] when the buffer is full (nothing is appended).
    pub fn push(&mut self, entry: Entry<'_>) -> Result<(), EncodeError> {
        let room = self
            .buf
            .get_mut(self.len..)
            .ok_or(EncodeError::BufferTooSmall)?;
        let n = put(&entry, room)?;
        self.len += n;
        self.count += 1;
        Ok(())
    }

    /// The entries written.
    #[must_use]
    pub fn finish(self) -> Entries<'b> {
        let CommitBuilder { buf, len, count } = self;
        Entries {
            count,
            bytes: &buf[..len],
        }
    }
}
