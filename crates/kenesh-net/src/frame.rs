//! The wire: Noise messages, each after its `u32` little-endian length.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

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
    /// No byte arrived within the idle timeout.
    #[error("no byte arrived within the idle timeout")]
    Idle,
    /// Reading failed.
    #[error("reading failed: {0}")]
    Io(#[from] std::io::Error),
}

/// One read, with no more than `idle` to wait for a byte.
async fn read_some<R: AsyncRead + Unpin>(
    r: &mut R,
    buf: &mut [u8],
    idle: Duration,
) -> Result<usize, FrameError> {
    match tokio::time::timeout(idle, r.read(buf)).await {
        Err(_) => Err(FrameError::Idle),
        Ok(n) => Ok(n?),
    }
}

/// Reads one message, returned **with** its length prefix (what the sessions take).
/// `Ok(None)` when the stream ends cleanly between messages. The length is checked against
/// `max` before the buffer is allocated. `idle` bounds each wait for bytes, not the whole
/// message: a slow link that keeps moving is not cut (the caller bounds the whole).
pub(crate) async fn read_message<R: AsyncRead + Unpin>(
    r: &mut R,
    max: usize,
    idle: Duration,
) -> Result<Option<Vec<u8>>, FrameError> {
    let mut len = [0u8; 4];
    let mut have = 0;
    while have < len.len() {
        let n = read_some(r, &mut len[have..], idle).await?;
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
    let mut at = 4;
    while at < message.len() {
        let n = read_some(r, &mut message[at..], idle).await?;
        if n == 0 {
            return Err(FrameError::Truncated);
        }
        at += n;
    }
    Ok(Some(message))
}

/// Writes all of `buf`, with no more than `idle` to wait for each step of progress (a
/// [`std::io::ErrorKind::TimedOut`] error when it passes).
pub(crate) async fn write_all<W: AsyncWrite + Unpin>(
    w: &mut W,
    buf: &[u8],
    idle: Duration,
) -> std::io::Result<()> {
    let mut at = 0;
    while at < buf.len() {
        match tokio::time::timeout(idle, w.write(&buf[at..])).await {
            Err(_) => return Err(std::io::ErrorKind::TimedOut.into()),
            Ok(Ok(0)) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(Ok(n)) => at += n,
            Ok(Err(e)) => return Err(e),
        }
    }
    match tokio::time::timeout(idle, w.flush()).await {
        Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
        Ok(r) => r,
    }
}
