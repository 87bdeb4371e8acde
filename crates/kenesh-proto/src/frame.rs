//! Framing: a little-endian `u32` length before each frame on streams (TCP), COBS with a
//! zero byte after each frame on serial links.

use crate::{DecodeError, EncodeError, Limits};

/// Bytes of the length prefix.
pub const LENGTH_PREFIX: usize = 4;

/// Writes `frame` with its length prefix into `out`, returning the bytes written.
///
/// # Errors
/// [`EncodeError::BufferTooSmall`], or [`EncodeError::Invalid`] for a frame over the hard
/// cap.
pub fn write_prefixed(frame: &[u8], out: &mut [u8]) -> Result<usize, EncodeError> {
    if frame.len() > crate::HARD_MAX_FRAME {
        return Err(EncodeError::Invalid("frame length"));
    }
    let total = LENGTH_PREFIX + frame.len();
    let dst = out.get_mut(..total).ok_or(EncodeError::BufferTooSmall)?;
    dst[..LENGTH_PREFIX].copy_from_slice(&(frame.len() as u32).to_le_bytes());
    dst[LENGTH_PREFIX..].copy_from_slice(frame);
    Ok(total)
}

/// A frame and the bytes after it.
pub type FrameSplit<'a> = (&'a [u8], &'a [u8]);

/// Splits one length-prefixed frame off the front of `input`: `Ok(None)` when more bytes
/// are needed, `Ok(Some((frame, rest)))` when a whole frame is there.
///
/// # Errors
/// [`DecodeError::FrameTooLarge`] as soon as the prefix claims more than the limit — before
/// waiting for, or allocating, anything.
pub fn split_prefixed<'a>(
    input: &'a [u8],
    limits: &Limits,
) -> Result<Option<FrameSplit<'a>>, DecodeError> {
    let Some(prefix) = input.get(..LENGTH_PREFIX) else {
        return Ok(None);
    };
    let mut p = [0u8; LENGTH_PREFIX];
    p.copy_from_slice(prefix);
    let len = u32::from_le_bytes(p) as usize;
    if len > limits.max_frame() {
        return Err(DecodeError::FrameTooLarge {
            len,
            max: limits.max_frame(),
        });
    }
    match input.get(LENGTH_PREFIX..LENGTH_PREFIX + len) {
        Some(frame) => Ok(Some((frame, &input[LENGTH_PREFIX + len..]))),
        None => Ok(None),
    }
}

/// Reassembles length-prefixed frames from a byte stream in a fixed buffer of `N` bytes
/// (no allocator needed).
///
/// ```
/// use kenesh_proto::{FrameReader, Limits, write_prefixed};
/// let mut wire = [0u8; 16];
/// let n = write_prefixed(&[8], &mut wire).unwrap(); // a Bye frame
/// let mut r: FrameReader<64> = FrameReader::new(Limits::default());
/// r.push(&wire[..2]).unwrap();
/// assert!(r.next_frame().unwrap().is_none());
/// r.push(&wire[2..n]).unwrap();
/// assert_eq!(r.next_frame().unwrap(), Some(&[8u8][..]));
/// ```
#[derive(Debug)]
pub struct FrameReader<const N: usize> {
    buf: heapless::Vec<u8, N>,
    limits: Limits,
    consumed: usize,
}

impl<const N: usize> FrameReader<N> {
    /// A reader whose frames may be as large as the smaller of `limits` and `N − 4`.
    #[must_use]
    pub fn new(limits: Limits) -> Self {
        let max = limits.max_frame().min(N.saturating_sub(LENGTH_PREFIX));
        FrameReader {
            buf: heapless::Vec::new(),
            limits: Limits::new(max),
            consumed: 0,
        }
    }

    /// Adds bytes from the stream.
    ///
    /// # Errors
    /// [`DecodeError::BufferFull`] when they do not fit (the reader keeps what it had); a
    /// frame over the limit is refused by [`FrameReader::next_frame`].
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), DecodeError> {
        self.compact();
        self.buf
            .extend_from_slice(bytes)
            .map_err(|_| DecodeError::BufferFull)
    }

    fn compact(&mut self) {
        if self.consumed > 0 {
            let len = self.buf.len();
            self.buf.copy_within(self.consumed..len, 0);
            self.buf.truncate(len - self.consumed);
            self.consumed = 0;
        }
    }

    /// The next whole frame, if one has arrived.
    ///
    /// # Errors
    /// [`DecodeError::FrameTooLarge`] when the prefix claims more than the limit; the
    /// stream cannot be resynchronised after that and should be closed.
    pub fn next_frame(&mut self) -> Result<Option<&[u8]>, DecodeError> {
        let start = self.consumed;
        let Some((frame, _)) = split_prefixed(&self.buf[start..], &self.limits)? else {
            return Ok(None);
        };
        self.consumed = start + LENGTH_PREFIX + frame.len();
        Ok(Some(&self.buf[start + LENGTH_PREFIX..self.consumed]))
    }
}

/// COBS-encodes `frame` and appends the zero delimiter, for serial links.
///
/// # Errors
/// [`EncodeError::BufferTooSmall`].
pub fn write_cobs(frame: &[u8], out: &mut [u8]) -> Result<usize, EncodeError> {
    let need = cobs::max_encoding_length(frame.len()).max(1) + 1;
    let dst = out.get_mut(..need).ok_or(EncodeError::BufferTooSmall)?;
    if frame.is_empty() {
        // COBS of nothing is one code byte, 01 (the cobs crate writes nothing).
        dst[0] = 1;
        dst[1] = 0;
        return Ok(2);
    }
    let n = cobs::encode(frame, dst);
    let end = dst.get_mut(n).ok_or(EncodeError::BufferTooSmall)?;
    *end = 0;
    Ok(n + 1)
}

/// Decodes one COBS frame (its bytes up to, not including, the zero delimiter) into `out`,
/// returning the frame.
///
/// # Errors
/// [`DecodeError::Cobs`] for bytes that are not COBS; [`DecodeError::FrameTooLarge`] or
/// [`DecodeError::BufferFull`] when the result would not fit. Input longer than any COBS
/// encoding of a frame under the limit is [`DecodeError::FrameTooLarge`] before anything
/// else is looked at (so a runaway line is not scanned).
pub fn read_cobs<'o>(
    encoded: &[u8],
    out: &'o mut [u8],
    limits: &Limits,
) -> Result<&'o [u8], DecodeError> {
    // A COBS encoding is never shorter than what it encodes.
    if encoded.len() > limits.max_frame() + limits.max_frame() / 254 + 1 {
        return Err(DecodeError::FrameTooLarge {
            len: encoded.len(),
            max: limits.max_frame(),
        });
    }
    if encoded.contains(&0) {
        return Err(DecodeError::Cobs);
    }
    let room = encoded.len().min(out.len());
    let dst = out.get_mut(..room).ok_or(DecodeError::BufferFull)?;
    if room < encoded.len().saturating_sub(1) {
        return Err(DecodeError::BufferFull);
    }
    let n = cobs::decode(encoded, dst).map_err(|_| DecodeError::Cobs)?;
    if n > limits.max_frame() {
        return Err(DecodeError::FrameTooLarge {
            len: n,
            max: limits.max_frame(),
        });
    }
    Ok(&out[..n])
}
