//! Chunk compression (zstd), negotiated with [`crate::Caps::ZSTD`]. Each chunk is one zstd
//! frame and decompresses on its own; the declared size is checked against the limit before
//! anything is allocated, and output past it is an error.

use alloc::vec::Vec;

use crate::{DecodeError, Limits};

/// Compresses chunk data at `level` (3 is a good default on kiosks).
///
/// # Errors
/// Only if zstd itself fails (it does not for in-memory buffers).
pub fn compress(data: &[u8], level: i32) -> Result<Vec<u8>, DecodeError> {
    // One compression context per thread and level, reused: making a context (and zeroing
    // its tables) cost more than compressing a small chunk.
    std::thread_local! {
        static CONTEXT: core::cell::RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> =
            const { core::cell::RefCell::new(None) };
    }
    CONTEXT.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.as_ref().is_none_or(|(l, _)| *l != level) {
            let c = zstd::bulk::Compressor::new(level).map_err(|_| DecodeError::Decompress)?;
            *cell = Some((level, c));
        }
        match cell.as_mut() {
            Some((_, c)) => c.compress(data).map_err(|_| DecodeError::Decompress),
            None => Err(DecodeError::Decompress),
        }
    })
}

/// Decompresses one chunk's data, which must expand to exactly `raw_len` bytes.
///
/// # Errors
/// [`DecodeError::DecompressedTooLarge`] when `raw_len` is over the limit (checked first);
/// [`DecodeError::Decompress`] when the data is not zstd or expands past `raw_len`;
/// [`DecodeError::LengthMismatch`] when it expands to less.
pub fn decompress(data: &[u8], raw_len: u32, limits: &Limits) -> Result<Vec<u8>, DecodeError> {
    let raw = raw_len as usize;
    if raw > limits.max_decompressed() {
        return Err(DecodeError::DecompressedTooLarge {
            declared: raw,
            max: limits.max_decompressed(),
        });
    }
    // The output buffer is exactly the declared size: zstd fails rather than grow it.
    let out = zstd::bulk::decompress(data, raw).map_err(|_| DecodeError::Decompress)?;
    if out.len() != raw {
        return Err(DecodeError::LengthMismatch {
            declared: raw,
            actual: out.len(),
        });
    }
    Ok(out)
}
