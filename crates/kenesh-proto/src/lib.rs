//! # kenesh-proto
//!
//! The bytes kiosks, the server and partners exchange. Every frame is one [`Message`]: a
//! type byte, then its fields in [postcard](https://docs.rs/postcard) (varints, no field
//! names). On streams a frame is preceded by its length as a little-endian `u32`; on serial
//! links it is COBS-encoded and followed by a zero byte. `PROTOCOL.md` at the repository's
//! root is the specification, with test vectors the tests read from it.
//!
//! Bad input is normal: [`Message::decode`] returns a message or a typed [`DecodeError`],
//! never panics, and allocates nothing — messages borrow from the frame. Every length and
//! count is checked against the frame and the [`Limits`] before it is used. The frame codec
//! and every message work without an allocator (`--no-default-features`), on fixed buffers
//! ([`FrameReader`] holds a `heapless::Vec`); the `std` feature adds zstd chunk compression.
//!
//! ```
//! use kenesh_proto::{Caps, Hello, Limits, Message, PROTOCOL_VERSION};
//!
//! let hello = Message::Hello(Hello {
//!     min_version: 1,
//!     max_version: PROTOCOL_VERSION,
//!     caps: Caps::ZSTD.union(Caps::SNAPSHOT),
//!     device: 17,
//!     own_seq: 42,
//!     cursor: None,
//! });
//! let mut frame = [0u8; 64];
//! let n = hello.encode(&mut frame)?;
//! assert_eq!(frame[0], 0); // the type byte
//! assert_eq!(Message::decode(&frame[..n], &Limits::default())?, hello);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::alloc_instead_of_core
)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

#[cfg(feature = "std")]
pub mod compress;
mod frame;
mod message;

pub use frame::{
    FrameReader, FrameSplit, LENGTH_PREFIX, read_cobs, split_prefixed, write_cobs, write_prefixed,
};
pub use message::{
    Ack, Body, Caps, Chunk, ChunkKind, ChunkRef, Commit, CommitBuilder, Compression, Entries,
    Entry, ErrorCode, ErrorMessage, Hello, KEY_ENTRY_LEN, KeyEntry, Keys, MAX_CURSOR,
    MAX_ERROR_DETAIL, MAX_KEY_ENTRIES, MAX_SIGNATURE, Message, MessageType, RECEIPT_TAG_LEN,
    Receipt, Refuse, RefuseReason, SnapshotHeader, Welcome,
};

/// The protocol version this build speaks at most.
pub const PROTOCOL_VERSION: u16 = 1;
/// The oldest protocol version this build still speaks.
pub const MIN_PROTOCOL_VERSION: u16 = 1;
/// The default largest frame on kiosk links: 16 KiB (a dropped 2G link loses at most one).
pub const DEFAULT_MAX_FRAME: usize = 16 * 1024;
/// No frame is ever larger than 1 MiB, whatever a peer configures.
pub const HARD_MAX_FRAME: usize = 1024 * 1024;

/// How large frames and decompressed chunks may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    max_frame: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame: DEFAULT_MAX_FRAME,
        }
    }
}

impl Limits {
    /// Limits with this largest frame, capped at [`HARD_MAX_FRAME`].
    #[must_use]
    pub const fn new(max_frame: usize) -> Limits {
        Limits {
            max_frame: if max_frame > HARD_MAX_FRAME {
                HARD_MAX_FRAME
            } else {
                max_frame
            },
        }
    }
    /// The largest frame accepted.
    #[must_use]
    pub const fn max_frame(&self) -> usize {
        self.max_frame
    }
    /// The largest size a compressed chunk may declare: eight times the frame (text
    /// compresses about three times), never over the hard cap.
    #[must_use]
    pub const fn max_decompressed(&self) -> usize {
        let m = self.max_frame.saturating_mul(8);
        if m > HARD_MAX_FRAME {
            HARD_MAX_FRAME
        } else {
            m
        }
    }
}

/// Why bytes are not a frame or message. Every variant is a refusal: nothing is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// An empty frame.
    Empty,
    /// A type byte this build does not know.
    UnknownType(u8),
    /// A frame (or its length prefix) over the limit.
    FrameTooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The fields ended before the message did.
    Truncated,
    /// A field did not decode (a bad varint, enum tag, bool or UTF-8).
    Malformed,
    /// Bytes after the last field.
    TrailingBytes(usize),
    /// No common protocol version: the peer speaks `min..=max`.
    UnsupportedVersion {
        /// Lowest it speaks.
        min: u16,
        /// Highest it speaks.
        max: u16,
    },
    /// A count larger than the frame could hold.
    CountTooLarge {
        /// The count declared.
        count: u32,
        /// Bytes left in the frame.
        room: usize,
    },
    /// A field longer than its limit.
    TooLong {
        /// The field.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A commit's seqs start at 0 or run past the largest seq.
    BadSeq,
    /// A chunk declares a decompressed size over the limit.
    DecompressedTooLarge {
        /// Declared.
        declared: usize,
        /// The limit.
        max: usize,
    },
    /// A chunk's data is not as long as declared.
    LengthMismatch {
        /// Declared.
        declared: usize,
        /// Actual.
        actual: usize,
    },
    /// Compressed data that does not decompress, or expands past its declared size.
    Decompress,
    /// Bytes that are not COBS.
    Cobs,
    /// A fixed buffer is full.
    BufferFull,
}

impl core::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            DecodeError::Empty => write!(f, "empty frame"),
            DecodeError::UnknownType(t) => write!(f, "unknown message type {t}"),
            DecodeError::FrameTooLarge { len, max } => {
                write!(f, "frame of {len} bytes is over the limit of {max}")
            }
            DecodeError::Truncated => write!(f, "frame ends inside a field"),
            DecodeError::Malformed => write!(f, "a field does not decode"),
            DecodeError::TrailingBytes(n) => write!(f, "{n} bytes after the last field"),
            DecodeError::UnsupportedVersion { min, max } => {
                write!(
                    f,
                    "no common protocol version: peer speaks {min}..={max}, this build {MIN_PROTOCOL_VERSION}..={PROTOCOL_VERSION}"
                )
            }
            DecodeError::CountTooLarge { count, room } => {
                write!(f, "count {count} cannot fit in the {room} bytes left")
            }
            DecodeError::TooLong { field, len, max } => {
                write!(f, "{field} of {len} bytes is over the limit of {max}")
            }
            DecodeError::BadSeq => {
                write!(f, "commit seqs must start at 1 or later and fit in 64 bits")
            }
            DecodeError::DecompressedTooLarge { declared, max } => {
                write!(
                    f,
                    "chunk declares {declared} decompressed bytes, over the limit of {max}"
                )
            }
            DecodeError::LengthMismatch { declared, actual } => {
                write!(f, "chunk declares {declared} bytes but holds {actual}")
            }
            DecodeError::Decompress => {
                write!(f, "chunk data does not decompress to its declared size")
            }
            DecodeError::Cobs => write!(f, "not a COBS frame"),
            DecodeError::BufferFull => write!(f, "the receive buffer is full"),
        }
    }
}

impl core::error::Error for DecodeError {}

impl From<postcard::Error> for DecodeError {
    fn from(e: postcard::Error) -> Self {
        match e {
            postcard::Error::DeserializeUnexpectedEnd => DecodeError::Truncated,
            _ => DecodeError::Malformed,
        }
    }
}

/// Why a message could not be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// The output buffer is too small.
    BufferTooSmall,
    /// A field breaks a limit the decoder enforces (named).
    Invalid(&'static str),
}

impl core::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            EncodeError::BufferTooSmall => write!(f, "output buffer too small"),
            EncodeError::Invalid(field) => write!(f, "{field} breaks a protocol limit"),
        }
    }
}

impl core::error::Error for EncodeError {}
