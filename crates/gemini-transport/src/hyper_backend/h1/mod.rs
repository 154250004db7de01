//! HTTP/1.1 connections, written for this crate rather than taken from hyper.
//!
//! A connection is a byte stream (TCP or TLS, either runtime) and one read buffer. A request
//! writes its head and body in one write when they fit, then reads the response head into
//! the buffer; the body ([`H1Body`]) owns the connection and cuts each piece of the body out
//! of that same buffer as the caller asks for it. No task, channel or waker sits between the
//! socket and the caller: a poll of the body reads the socket when the buffer has nothing
//! decodable, and only then. `ARCHITECTURE.md` says why this is not hyper's client.

pub(crate) mod codec;
mod io;

use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;

pub(crate) use self::codec::Head;
use self::codec::{BodyDecoder, Decoded};
#[cfg(feature = "smol")]
pub(crate) use self::io::FuturesStream;
pub(crate) use self::io::Io;
#[cfg(feature = "tokio")]
pub(crate) use self::io::TokioStream;
use super::pool::{Key, Pool};
use super::watchdog::Watch;
use crate::{ErrorKind, TransportError};

/// The most bytes read before a final response head (interim responses included).
const MAX_BEFORE_HEAD: usize = 4 * codec::MAX_HEAD;

/// A request body at most this long is written with its head, in one write.
const JOIN_BODY: usize = 16 * 1024;

/// An HTTP/1.1 connection: its byte stream, what was read from it and not yet used, and its
/// origin.
pub(crate) struct H1Conn {
    io: Box<dyn Io>,
    buf: BytesMut,
    /// How much the next read asks for (adapts to how much the reads find).
    read_size: usize,
    pub(crate) key: Arc<Key>,
}

impl std::fmt::Debug for H1Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H1Conn")
            .field("key", &self.key)
            .field("buffered", &self.buf.len())
            .finish_non_exhaustive()
    }
}

/// Why an exchange failed, and whether it may be retried on another connection.
#[derive(Debug)]
pub(crate) struct Failed {
    pub(crate) error: TransportError,
    /// Nothing of a response arrived and the connection failed under the request (a write
    /// error, or the connection closed or reset before the first byte of a response): what a
    /// pooled connection the server closed while it was idle looks like.
    pub(crate) retry: bool,
}

impl H1Conn {
    pub(crate) fn new(io: Box<dyn Io>, key: Arc<Key>) -> Self {
        Self {
            io,
            buf: BytesMut::new(),
            read_size: io::MIN_READ,
            key,
        }
    }

    /// Closes the connection (dropping its stream closes the socket).
    pub(crate) fn close(self) {}

    /// Reads once more into the buffer; `Ok(0)` when the server closed the connection.
    fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<usize>> {
        if self.buf.capacity() - self.buf.len() < io::MIN_READ / 2 {
            self.buf.reserve(self.read_size);
        }
        let room = self.buf.capacity() - self.buf.len();
        let n = std::task::ready!(self.io.poll_read_buf(cx, &mut self.buf))?;
        self.read_size = io::next_read_size(self.read_size, n, room);
        Poll::Ready(Ok(n))
    }

    /// Whether a pooled connection can carry a request: the server has neither closed it nor
    /// sent anything on it since the last response (bytes arriving on an idle connection,
    /// such as a `408` sent before closing it, answer no request of ours). Does not wait.
    pub(crate) async fn is_reusable(&mut self) -> bool {
        std::future::poll_fn(|cx| Poll::Ready(self.poll_read(cx).is_pending())).await
    }

    /// Writes `req` (head and body) and reads the response head.
    pub(crate) async fn exchange(&mut self, req: &http::Request<Bytes>) -> Result<Head, Failed> {
        let mut out = Vec::with_capacity(512 + req.body().len().min(JOIN_BODY));
        codec::encode_head(req, &mut out);
        let body = req.body();
        let joined = body.len() <= JOIN_BODY;
        if joined {
            out.extend_from_slice(body);
        }
        let write_failed = |e: std::io::Error| Failed {
            error: TransportError::with_source(ErrorKind::ConnectionClosed, e)
                .with_message("the connection failed while the request was written"),
            retry: true,
        };
        self.write_all(&out).await.map_err(write_failed)?;
        if !joined {
            self.write_all(body).await.map_err(write_failed)?;
        }
        std::future::poll_fn(|cx| self.io.poll_flush(cx))
            .await
            .map_err(write_failed)?;
        let mut head = self.read_head(req.method()).await?;
        if codec::says_close(req.headers()) {
            // The caller asked for the connection to end with this exchange.
            head.keep_alive = false;
        }
        Ok(head)
    }

    async fn write_all(&mut self, mut data: &[u8]) -> std::io::Result<()> {
        while !data.is_empty() {
            let n = std::future::poll_fn(|cx| self.io.poll_write(cx, data)).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            data = &data[n..];
        }
        Ok(())
    }

    async fn read_head(&mut self, method: &http::Method) -> Result<Head, Failed> {
        let mut received = !self.buf.is_empty();
        // Bytes read while waiting for the final head: interim (1xx) responses are skipped,
        // but not without end.
        let mut taken = 0;
        loop {
            if received {
                match codec::parse_head(&mut self.buf, method) {
                    Ok(Some(head)) => return Ok(head),
                    Ok(None) => {}
                    Err(error) => {
                        return Err(Failed {
                            error,
                            retry: false,
                        });
                    }
                }
            }
            let read = std::future::poll_fn(|cx| self.poll_read(cx)).await;
            let closed = |error: TransportError| Failed {
                error,
                retry: !received,
            };
            match read {
                Ok(0) if received => {
                    return Err(closed(TransportError::new(
                        ErrorKind::ConnectionClosed,
                        "the server closed the connection in the middle of the response head",
                    )));
                }
                Ok(0) => {
                    return Err(closed(TransportError::new(
                        ErrorKind::ConnectionClosed,
                        "the server closed the connection before responding",
                    )));
                }
                Ok(n) => {
                    received = true;
                    taken += n;
                    if taken > MAX_BEFORE_HEAD {
                        return Err(Failed {
                            error: TransportError::new(
                                ErrorKind::Protocol,
                                format!(
                                    "no final response head in the first {} KiB",
                                    MAX_BEFORE_HEAD / 1024
                                ),
                            ),
                            retry: false,
                        });
                    }
                }
                Err(e) => {
                    return Err(closed(
                        TransportError::with_source(ErrorKind::ConnectionClosed, e)
                            .with_message("the connection failed before the response head"),
                    ));
                }
            }
        }
    }
}

/// Owns an HTTP/1.1 connection while its request and response are in flight. Dropped
/// without [`release`](Lease::release), it closes the connection: a connection whose
/// response was abandoned is never reused.
#[derive(Debug)]
pub(crate) struct Lease {
    conn: Option<H1Conn>,
    pool: Weak<Pool>,
}

impl Lease {
    /// A lease for connections of `pool`, holding `conn` if given.
    pub(crate) fn new(pool: Weak<Pool>, conn: Option<H1Conn>) -> Self {
        Self { conn, pool }
    }

    pub(crate) fn holds_conn(&self) -> bool {
        self.conn.is_some()
    }

    /// Holds `conn` (closing any connection held before).
    pub(crate) fn hold(&mut self, conn: H1Conn) {
        self.conn = Some(conn);
    }

    /// Closes the connection held, if any.
    pub(crate) fn close(&mut self) {
        self.conn = None;
    }

    /// The response was read completely and the connection may carry another request.
    fn release(mut self) {
        if let Some(conn) = self.conn.take()
            && let Some(pool) = self.pool.upgrade()
        {
            pool.put_h1(conn);
        }
    }

    pub(crate) fn conn(&mut self) -> &mut H1Conn {
        self.conn
            .as_mut()
            .expect("lease holds a connection until released")
    }
}

/// A response body read straight from its connection's buffer, with the idle and total
/// timeouts.
pub(crate) struct H1Body {
    lease: Option<Lease>,
    decoder: BodyDecoder,
    keep_alive: bool,
    watch: Option<Watch>,
}

impl H1Body {
    pub(crate) fn new(
        head_body: BodyDecoder,
        keep_alive: bool,
        lease: Lease,
        mut watch: Option<Watch>,
    ) -> Self {
        if let Some(w) = &mut watch {
            w.enter_body();
        }
        let mut body = Self {
            lease: Some(lease),
            decoder: head_body,
            keep_alive,
            watch,
        };
        if body.decoder == BodyDecoder::Length(0) {
            // Nothing to read (204, 304, HEAD, `Content-Length: 0`): the connection is free now.
            body.finish();
        }
        body
    }

    /// The body was read to its end: the connection goes back to the pool if it may carry
    /// another request and nothing beyond this response arrived on it.
    fn finish(&mut self) {
        self.watch = None;
        if let Some(mut lease) = self.lease.take()
            && self.keep_alive
            && lease.conn().buf.is_empty()
        {
            lease.release();
        }
    }

    fn fail(&mut self, err: TransportError) -> Poll<Option<Result<Bytes, TransportError>>> {
        self.watch = None;
        self.lease = None;
        Poll::Ready(Some(Err(err)))
    }
}

impl Stream for H1Body {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            let Some(lease) = &mut this.lease else {
                return Poll::Ready(None);
            };
            let conn = lease.conn();
            match this.decoder.decode(&mut conn.buf) {
                Ok(Decoded::Data(data)) => {
                    if let Some(w) = &mut this.watch {
                        w.progress();
                    }
                    return Poll::Ready(Some(Ok(data)));
                }
                Ok(Decoded::End) => {
                    this.finish();
                    return Poll::Ready(None);
                }
                Ok(Decoded::More) => {}
                Err(e) => return this.fail(e),
            }
            match conn.poll_read(cx) {
                Poll::Ready(Ok(0)) => {
                    return match this.decoder.at_close() {
                        Ok(()) => {
                            // Delimited by the close: complete, and the connection is spent.
                            this.keep_alive = false;
                            this.finish();
                            Poll::Ready(None)
                        }
                        Err(e) => this.fail(e),
                    };
                }
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => {
                    let msg = format!("the connection failed in the middle of the body: {e}");
                    return this.fail(
                        TransportError::with_source(ErrorKind::ClosedMidBody, e).with_message(msg),
                    );
                }
                Poll::Pending => {
                    return match this.watch.as_mut().and_then(|w| w.check(cx.waker())) {
                        Some(err) => this.fail(err),
                        None => Poll::Pending,
                    };
                }
            }
        }
    }
}
