//! The streamed response body.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;

use crate::{ErrorKind, TransportError};

type DynStream = Pin<Box<dyn Stream<Item = Result<Bytes, TransportError>> + Send + 'static>>;

/// A response body that yields its data chunks in arrival order.
///
/// The body ends with `None` after the last chunk. An error ends the body too; its kind tells
/// a truncated body ([`ErrorKind::ClosedMidBody`](crate::ErrorKind::ClosedMidBody)) apart
/// from an idle or total timeout. Empty data frames and trailers are skipped.
///
/// Dropping the body before its end releases the connection: an HTTP/1.1 connection is
/// closed (never returned to the pool), an HTTP/2 stream is reset.
///
/// ```
/// use bytes::Bytes;
/// use gemini_transport::ResponseBody;
///
/// # futures_lite::future::block_on(async {
/// let mut body = ResponseBody::from_chunks([Bytes::from("data: 1\n\n"), Bytes::from("data: 2\n\n")]);
/// assert_eq!(body.next_chunk().await.unwrap().unwrap(), "data: 1\n\n");
/// assert_eq!(body.next_chunk().await.unwrap().unwrap(), "data: 2\n\n");
/// assert!(body.next_chunk().await.is_none());
/// # });
/// ```
pub struct ResponseBody {
    inner: Inner,
}

enum Inner {
    Done,
    Once(Bytes),
    Stream(DynStream),
}

impl ResponseBody {
    /// A body with no data.
    pub fn empty() -> Self {
        Self { inner: Inner::Done }
    }

    /// A body consisting of one chunk (none if `bytes` is empty).
    pub fn from_bytes(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        if bytes.is_empty() {
            Self::empty()
        } else {
            Self {
                inner: Inner::Once(bytes),
            }
        }
    }

    /// A body yielding the given chunks in order (empty chunks are skipped).
    pub fn from_chunks<I>(chunks: I) -> Self
    where
        I: IntoIterator<Item = Bytes>,
        I::IntoIter: Send + Unpin + 'static,
    {
        Self::from_stream(IterStream(chunks.into_iter()))
    }

    /// A body backed by any stream of chunks: the way custom transports hand over their bodies.
    pub fn from_stream<S>(stream: S) -> Self
    where
        S: Stream<Item = Result<Bytes, TransportError>> + Send + 'static,
    {
        Self {
            inner: Inner::Stream(Box::pin(stream)),
        }
    }

    /// Polls for the next non-empty chunk; `Ready(None)` at the end of the body.
    pub fn poll_chunk(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, TransportError>>> {
        loop {
            match &mut self.inner {
                Inner::Done => return Poll::Ready(None),
                Inner::Once(_) => {
                    let Inner::Once(b) = std::mem::replace(&mut self.inner, Inner::Done) else {
                        unreachable!()
                    };
                    return Poll::Ready(Some(Ok(b)));
                }
                Inner::Stream(s) => match s.as_mut().poll_next(cx) {
                    Poll::Ready(Some(Ok(b))) if b.is_empty() => continue,
                    Poll::Ready(Some(Ok(b))) => return Poll::Ready(Some(Ok(b))),
                    Poll::Ready(Some(Err(e))) => {
                        self.inner = Inner::Done;
                        return Poll::Ready(Some(Err(e)));
                    }
                    Poll::Ready(None) => {
                        self.inner = Inner::Done;
                        return Poll::Ready(None);
                    }
                    Poll::Pending => return Poll::Pending,
                },
            }
        }
    }

    /// The next chunk, `None` at the end of the body.
    pub fn next_chunk(&mut self) -> NextChunk<'_> {
        NextChunk { body: self }
    }

    /// The bound [`collect`](Self::collect) puts on a body: 64 MiB, the size limit
    /// `gemini-proto` puts on one stream event (large enough for image output).
    pub const DEFAULT_COLLECT_LIMIT: usize = 64 * 1024 * 1024;

    /// Reads the whole body into one buffer, up to
    /// [`DEFAULT_COLLECT_LIMIT`](Self::DEFAULT_COLLECT_LIMIT) bytes; a longer body fails with
    /// [`ErrorKind::BodyTooLarge`](crate::ErrorKind::BodyTooLarge). Use
    /// [`collect_limited`](Self::collect_limited) for another bound (an error body, for
    /// example, needs only a few kilobytes).
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let body = gemini_transport::ResponseBody::from_chunks(["ab", "cd"].map(bytes::Bytes::from));
    /// assert_eq!(body.collect().await.unwrap(), "abcd");
    /// # });
    /// ```
    pub fn collect(self) -> Collect {
        self.collect_limited(Self::DEFAULT_COLLECT_LIMIT)
    }

    /// Reads the whole body into one buffer, failing with
    /// [`ErrorKind::BodyTooLarge`](crate::ErrorKind::BodyTooLarge) as soon as it holds more
    /// than `max` bytes (the rest is not read, and the body is dropped, which closes its
    /// connection).
    ///
    /// On any error, what was collected before it stays available through
    /// [`TransportError::partial_body`] (for a body too large: its first `max` bytes).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use gemini_transport::{ErrorKind, ResponseBody};
    ///
    /// # futures_lite::future::block_on(async {
    /// let body = || ResponseBody::from_chunks(["{\"error\":", " …}"].map(Bytes::from));
    /// assert_eq!(body().collect_limited(64).await.unwrap(), "{\"error\": …}");
    /// let err = body().collect_limited(4).await.unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::BodyTooLarge);
    /// assert_eq!(err.partial_body().unwrap(), "{\"er");
    /// # });
    /// ```
    pub fn collect_limited(self, max: usize) -> Collect {
        Collect {
            body: self,
            buf: BytesMut::new(),
            max,
        }
    }

    /// True once the body has yielded its end (or an error).
    pub fn is_end(&self) -> bool {
        matches!(self.inner, Inner::Done)
    }
}

impl Default for ResponseBody {
    fn default() -> Self {
        Self::empty()
    }
}

impl fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.inner {
            Inner::Done => "done",
            Inner::Once(_) => "one chunk",
            Inner::Stream(_) => "streaming",
        };
        f.debug_struct("ResponseBody")
            .field("state", &state)
            .finish()
    }
}

impl Stream for ResponseBody {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_chunk(cx)
    }
}

impl From<Bytes> for ResponseBody {
    fn from(b: Bytes) -> Self {
        Self::from_bytes(b)
    }
}

/// Future returned by [`ResponseBody::next_chunk`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct NextChunk<'a> {
    body: &'a mut ResponseBody,
}

impl Future for NextChunk<'_> {
    type Output = Option<Result<Bytes, TransportError>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().body.poll_chunk(cx)
    }
}

/// Future returned by [`ResponseBody::collect`] and [`ResponseBody::collect_limited`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Collect {
    body: ResponseBody,
    buf: BytesMut,
    max: usize,
}

impl Future for Collect {
    type Output = Result<Bytes, TransportError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            match this.body.poll_chunk(cx) {
                Poll::Ready(Some(Ok(b))) => {
                    let room = this.max - this.buf.len();
                    if b.len() > room {
                        this.buf.extend_from_slice(&b[..room]);
                        // Stop reading: the rest of the body is dropped with it.
                        this.body = ResponseBody::empty();
                        let err = TransportError::new(
                            ErrorKind::BodyTooLarge,
                            format!("the body is longer than {} bytes", this.max),
                        );
                        return Poll::Ready(Err(err.with_partial_body(this.take())));
                    }
                    this.buf.extend_from_slice(&b);
                }
                Poll::Ready(Some(Err(e))) => {
                    return Poll::Ready(Err(e.with_partial_body(this.take())));
                }
                Poll::Ready(None) => return Poll::Ready(Ok(this.take())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl Collect {
    fn take(&mut self) -> Bytes {
        std::mem::take(&mut self.buf).freeze()
    }
}

struct IterStream<I>(I);

impl<I: Iterator<Item = Bytes> + Unpin> Stream for IterStream<I> {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(self.get_mut().0.next().map(Ok))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: Future>(f: F) -> F::Output {
        futures_lite::future::block_on(f)
    }

    #[test]
    fn skips_empty_chunks_and_ends() {
        let mut b = ResponseBody::from_chunks(["", "a", "", "b"].map(Bytes::from));
        assert_eq!(block_on(b.next_chunk()).unwrap().unwrap(), "a");
        assert_eq!(block_on(b.next_chunk()).unwrap().unwrap(), "b");
        assert!(block_on(b.next_chunk()).is_none());
        assert!(b.is_end());
        assert!(block_on(b.next_chunk()).is_none());
    }

    #[test]
    fn error_ends_body() {
        struct Failing(u8);
        impl Stream for Failing {
            type Item = Result<Bytes, TransportError>;
            fn poll_next(
                mut self: Pin<&mut Self>,
                _: &mut Context<'_>,
            ) -> Poll<Option<Self::Item>> {
                self.0 += 1;
                Poll::Ready(Some(match self.0 {
                    1 => Ok(Bytes::from("x")),
                    _ => Err(TransportError::new(ErrorKind::ClosedMidBody, "cut")),
                }))
            }
        }
        let mut b = ResponseBody::from_stream(Failing(0));
        assert_eq!(block_on(b.next_chunk()).unwrap().unwrap(), "x");
        assert!(
            block_on(b.next_chunk())
                .unwrap()
                .unwrap_err()
                .is_closed_mid_body()
        );
        assert!(block_on(b.next_chunk()).is_none());
        let err = block_on(ResponseBody::from_stream(Failing(0)).collect()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ClosedMidBody);
        // What arrived before the error is not lost.
        assert_eq!(err.partial_body().unwrap(), "x");
    }

    /// `n` chunks of 1 MiB (one shared buffer).
    fn mebibytes(n: usize) -> ResponseBody {
        let chunk = Bytes::from(vec![b'x'; 1 << 20]);
        ResponseBody::from_chunks(std::iter::repeat_n(chunk, n))
    }

    #[test]
    fn collect_stops_past_its_bound() {
        // Exactly at the bound: fine.
        let all = block_on(ResponseBody::from_bytes("abcd").collect_limited(4)).unwrap();
        assert_eq!(all, "abcd");
        // One byte past it, within one chunk or across chunks.
        for body in [
            ResponseBody::from_bytes("abcde"),
            ResponseBody::from_chunks(["ab", "cd", "e"].map(Bytes::from)),
        ] {
            let err = block_on(body.collect_limited(4)).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::BodyTooLarge);
            assert_eq!(
                err.to_string(),
                "body too large: the body is longer than 4 bytes"
            );
            assert_eq!(err.partial_body().unwrap(), "abcd");
            assert!(!err.is_request_not_sent());
        }
        let err = block_on(ResponseBody::from_bytes("x").collect_limited(0)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BodyTooLarge);
        assert_eq!(err.partial_body().unwrap(), "");
    }

    #[test]
    fn collect_has_a_default_bound() {
        assert_eq!(ResponseBody::DEFAULT_COLLECT_LIMIT, 64 << 20);
        let full = block_on(mebibytes(64).collect()).unwrap();
        assert_eq!(full.len(), 64 << 20);
        let err = block_on(mebibytes(65).collect()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BodyTooLarge);
        assert_eq!(err.partial_body().unwrap().len(), 64 << 20);
    }

    #[test]
    fn from_bytes_empty_is_empty() {
        let mut b = ResponseBody::from_bytes(Bytes::new());
        assert!(b.is_end());
        assert!(block_on(b.next_chunk()).is_none());
        assert_eq!(
            block_on(ResponseBody::from_bytes("abc").collect()).unwrap(),
            "abc"
        );
    }
}
