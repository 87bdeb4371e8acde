//! The wire: Noise messages, each after its `u32` little-endian length.

use tokio::io::{AsyncRead, AsyncReadExt};

/// Why a message could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The peer announced a message larger than the limit; nothing was allocated for it.
    #[error("the peer announced a {len}-byte message; the limit is {max}")]
    TooLarge {
        /// The length announced.
        len: u32,
        /// The limit.
        max: usize,
    },
    /// The stream ended inside a message.
    #[error("the stream ended inside a message")]
    Truncated,
    /// Reading failed.
    #[error("reading failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Reads one message, returned **with** its length prefix (what the sessions take).
/// `Ok(None)` when the stream ends cleanly between messages. The length is checked against
/// `max` before the buffer is allocated.
pub(crate) async fn read_message<R: AsyncRead + Unpin>(
    r: &mut R,
    max: usize,
) -> Result<Option<Vec<u8>>, FrameError> {
    let mut len = [0u8; 4];
    let mut have = 0;
    while have < len.len() {
        let n = r.read(&mut len[have..]).await?;
        if n == 0 {
            return if have == 0 {
                Ok(None)
            } else {
                Err(FrameError::Truncated)
            };
        }
        have += n;
    }
    let n = u32::from_le_bytes(len);
    let body = usize::try_from(n).unwrap_or(usize::MAX);
    if body > max {
        return Err(FrameError::TooLarge { len: n, max });
    }
    let mut message = vec![0u8; 4 + body];
    message[..4].copy_from_slice(&len);
    match r.read_exact(&mut message[4..]).await {
        Ok(_) => Ok(Some(message)),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(FrameError::Truncated),
        Err(e) => Err(e.into()),
    }
}
