//! A link shaped to a mobile network's speed: per direction, a bandwidth (bytes leave at
//! that rate, one chunk after another, and the sender waits while the link is busy) and a
//! one-way latency (each chunk arrives that long after it left). Wraps the client's end of
//! a connection, so both directions are shaped on the client side.
//!
//! How: the caller gets one end of an in-memory duplex pipe (small buffer, so a writer
//! feels the link's pace); two tasks per direction move bytes between it and the real
//! stream. The *sender* task reads a chunk (at most [`CHUNK`] bytes), waits until the link
//! has serialised it (`len / rate` after the link was last free: a token bucket with a
//! bucket of one chunk), and queues it with its arrival time (`departure + latency`); the
//! *delivery* task writes each chunk at its arrival time. End of stream travels the same
//! way, after the last byte; so does a reset or a read error, as an end of stream (without
//! that, a client whose server reset the connection would wait out its idle timeout on a
//! pipe that never ends).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// The largest chunk the link moves at once (about one IP packet).
pub(crate) const CHUNK: usize = 1_400;

/// The shape of one link.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Link {
    /// Client → server, bytes per second.
    pub(crate) up_bytes_per_sec: u64,
    /// Server → client, bytes per second.
    pub(crate) down_bytes_per_sec: u64,
    /// One way, each direction.
    pub(crate) latency: Duration,
}

impl Link {
    /// The same bandwidth both ways, in kbit/s, and a one-way latency.
    pub(crate) fn symmetric(kbit_per_sec: u64, latency: Duration) -> Link {
        let rate = (kbit_per_sec * 1_000 / 8).max(1);
        Link {
            up_bytes_per_sec: rate,
            down_bytes_per_sec: rate,
            latency,
        }
    }
}

/// Bytes that crossed shaped links (every attempt's, failed ones included).
#[derive(Debug, Default)]
pub(crate) struct Meter {
    /// Client → server.
    pub(crate) up: AtomicU64,
    /// Server → client.
    pub(crate) down: AtomicU64,
    /// Directions of links not yet closed (two per link).
    pub(crate) open: AtomicU64,
}

/// Shapes `inner` (the client's end of a connection): returns the stream the client uses.
/// Must be called within a tokio runtime.
pub(crate) fn shape<T>(inner: T, link: Link, meter: Arc<Meter>) -> DuplexStream
where
    T: AsyncRead + AsyncWrite + Send + 'static,
{
    let (client, ours) = tokio::io::duplex(4 * CHUNK);
    let (ours_r, ours_w) = tokio::io::split(ours);
    let (inner_r, inner_w) = tokio::io::split(inner);
    meter.open.fetch_add(2, Ordering::Relaxed);
    let up = meter.clone();
    tokio::spawn(async move {
        let counter = up.clone();
        pipe(
            ours_r,
            inner_w,
            link.up_bytes_per_sec,
            link.latency,
            move |n| {
                counter.up.fetch_add(n, Ordering::Relaxed);
            },
        )
        .await;
        up.open.fetch_sub(1, Ordering::Relaxed);
    });
    tokio::spawn(async move {
        let counter = meter.clone();
        pipe(
            inner_r,
            ours_w,
            link.down_bytes_per_sec,
            link.latency,
            move |n| {
                counter.down.fetch_add(n, Ordering::Relaxed);
            },
        )
        .await;
        meter.open.fetch_sub(1, Ordering::Relaxed);
    });
    client
}

/// One direction: `r` to `w` at `rate` bytes per second, each chunk `latency` late.
async fn pipe<R, W>(mut r: R, mut w: W, rate: u64, latency: Duration, count: impl Fn(u64))
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    // `None`: the end of the stream (after everything before it).
    let (tx, mut rx) = mpsc::channel::<(Instant, Option<Vec<u8>>)>(64);
    let delivery = tokio::spawn(async move {
        while let Some((at, chunk)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            match chunk {
                Some(c) => {
                    if w.write_all(&c).await.is_err() {
                        return;
                    }
                }
                None => break,
            }
        }
        // The end, clean or not: the far side sees it (a reset arrives as an end of stream,
        // which the client takes as a transient fault, as it would a reset).
        let _ = w.shutdown().await;
    });
    let rate = rate.max(1) as f64;
    let mut free = Instant::now();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let departs = free.max(Instant::now()) + Duration::from_secs_f64(n as f64 / rate);
        // The link is busy until then: the next read waits (and so does the writer, once
        // the small pipe buffer is full).
        tokio::time::sleep_until(departs).await;
        free = departs;
        count(n as u64);
        if tx
            .send((departs + latency, Some(buf[..n].to_vec())))
            .await
            .is_err()
        {
            break;
        }
    }
    let _ = tx.send((free.max(Instant::now()) + latency, None)).await;
    drop(tx);
    let _ = delivery.await;
}
