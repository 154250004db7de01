//! The byte streams an HTTP/1.1 connection runs over, on either runtime, behind one trait.

use std::io;
use std::task::{Context, Poll};

use bytes::BytesMut;

/// The smallest read asked for.
pub(super) const MIN_READ: usize = 16 * 1024;
/// The largest read asked for: reads grow towards it while they fill what they asked for.
const MAX_READ: usize = 128 * 1024;

/// The next read's size after a read of `n` bytes into `room`: twice as large when the read
/// filled it, half as large when it used under a quarter.
pub(super) fn next_read_size(current: usize, n: usize, room: usize) -> usize {
    if n >= room && n >= current {
        (current * 2).min(MAX_READ)
    } else if n < current / 4 {
        (current / 2).max(MIN_READ)
    } else {
        current
    }
}

/// A connected byte stream (TCP, or TLS over TCP) of either runtime.
pub(crate) trait Io: Send + Unpin + 'static {
    /// Reads into `buf`'s spare capacity (which the caller made non-zero); `Ok(0)` at the end.
    fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>>;

    fn poll_write(&mut self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>>;

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}

/// A tokio stream. Reads go straight into the buffer's spare capacity (`tokio-util` does
/// that without zeroing it first).
#[cfg(feature = "tokio")]
pub(crate) struct TokioStream<T>(pub(crate) T);

#[cfg(feature = "tokio")]
impl<T> Io for TokioStream<T>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        tokio_util::io::poll_read_buf(std::pin::Pin::new(&mut self.0), cx, buf)
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        tokio::io::AsyncWrite::poll_write(std::pin::Pin::new(&mut self.0), cx, data)
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        tokio::io::AsyncWrite::poll_flush(std::pin::Pin::new(&mut self.0), cx)
    }
}

/// A futures-io stream (async-net, futures-rustls). futures-io reads into initialised
/// memory: this stream reads into a scratch buffer zeroed once, then copies what arrived,
/// so that no `unsafe` is needed.
#[cfg(feature = "smol")]
pub(crate) struct FuturesStream<T> {
    inner: T,
    scratch: Box<[u8]>,
}

#[cfg(feature = "smol")]
impl<T> FuturesStream<T> {
    pub(crate) fn new(inner: T) -> Self {
        Self {
            inner,
            scratch: vec![0; MIN_READ].into_boxed_slice(),
        }
    }
}

#[cfg(feature = "smol")]
impl<T> Io for FuturesStream<T>
where
    T: futures_lite::io::AsyncRead + futures_lite::io::AsyncWrite + Unpin + Send + 'static,
{
    fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        let room = (buf.capacity() - buf.len()).min(self.scratch.len());
        let n = std::task::ready!(futures_lite::io::AsyncRead::poll_read(
            std::pin::Pin::new(&mut self.inner),
            cx,
            &mut self.scratch[..room],
        ))?;
        buf.extend_from_slice(&self.scratch[..n]);
        Poll::Ready(Ok(n))
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        futures_lite::io::AsyncWrite::poll_write(std::pin::Pin::new(&mut self.inner), cx, data)
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        futures_lite::io::AsyncWrite::poll_flush(std::pin::Pin::new(&mut self.inner), cx)
    }
}
