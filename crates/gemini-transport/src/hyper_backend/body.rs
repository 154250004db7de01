//! The hyper response body adapted to [`ResponseBody`](crate::ResponseBody), with the idle
//! and total timeouts and the connection lease.

use std::error::Error as StdError;
use std::pin::Pin;
use std::sync::Weak;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use http_body::Body as _;
use hyper::body::Incoming;

use super::pool::{H1Conn, Pool};
use super::watchdog::Watch;
use crate::{ErrorKind, TimeoutKind, TransportError};

/// Where a hyper error happened, to pick the most useful kind.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Phase {
    Head,
    Body,
}

pub(crate) fn map_hyper_error(e: hyper::Error, phase: Phase) -> TransportError {
    let kind = if e.is_parse() || e.is_parse_status() {
        ErrorKind::Protocol
    } else if e.is_user() {
        ErrorKind::InvalidRequest
    } else if e.is_timeout() {
        ErrorKind::Timeout(match phase {
            Phase::Head => TimeoutKind::ResponseHeaders,
            Phase::Body => TimeoutKind::Idle,
        })
    } else {
        // Canceled, closed, incomplete message, I/O errors, HTTP/2 resets and GOAWAYs: the
        // connection or stream ended under us.
        match phase {
            Phase::Head => ErrorKind::ConnectionClosed,
            Phase::Body => ErrorKind::ClosedMidBody,
        }
    };
    let mut msg = e.to_string();
    let mut src: Option<&(dyn StdError + 'static)> = e.source();
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    TransportError::with_source(kind, e).with_message(msg)
}

/// Owns an HTTP/1.1 connection while its request and response are in flight, and drives its
/// I/O. Dropped without [`release`](Lease::release), it closes the connection: a connection
/// whose response was abandoned is never reused.
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

    /// The response was read completely: the connection may be reused.
    pub(crate) fn release(mut self) {
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

pub(crate) struct HyperBody {
    incoming: Incoming,
    lease: Option<Lease>,
    watch: Option<Watch>,
    done: bool,
}

impl HyperBody {
    pub(crate) fn new(incoming: Incoming, lease: Option<Lease>, mut watch: Option<Watch>) -> Self {
        if let Some(w) = &mut watch {
            w.enter_body();
        }
        let mut body = Self {
            incoming,
            lease,
            watch,
            done: false,
        };
        if body.incoming.is_end_stream() {
            // Nothing to read (204, HEAD, `Content-Length: 0`): the connection is free now.
            body.finish(true);
        }
        body
    }

    fn finish(&mut self, clean: bool) {
        self.done = true;
        self.watch = None;
        if let Some(lease) = self.lease.take()
            && clean
        {
            lease.release();
        }
    }

    fn fail(&mut self, err: TransportError) -> Poll<Option<Result<Bytes, TransportError>>> {
        self.finish(false);
        Poll::Ready(Some(Err(err)))
    }
}

/// The next data frame, error or end from `incoming` (skipping trailers and empty frames).
fn poll_data(
    incoming: &mut Incoming,
    watch: &mut Option<Watch>,
    cx: &mut Context<'_>,
) -> Poll<Option<Result<Bytes, hyper::Error>>> {
    loop {
        match Pin::new(&mut *incoming).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    if let Some(w) = watch {
                        w.progress();
                    }
                    if !data.is_empty() {
                        return Poll::Ready(Some(Ok(data)));
                    }
                }
            }
            Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => return Poll::Pending,
        }
    }
}

impl Stream for HyperBody {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        let (incoming, watch) = (&mut this.incoming, &mut this.watch);
        let polled = match &mut this.lease {
            Some(lease) => lease
                .conn()
                .driver
                .poll_with(cx, |icx| poll_data(incoming, watch, icx)),
            None => poll_data(incoming, watch, cx),
        };
        match polled {
            Poll::Ready(Some(Ok(data))) => Poll::Ready(Some(Ok(data))),
            Poll::Ready(Some(Err(e))) => this.fail(map_hyper_error(e, Phase::Body)),
            Poll::Ready(None) => {
                if let Some(lease) = &mut this.lease {
                    lease.conn().driver.settle();
                }
                this.finish(true);
                Poll::Ready(None)
            }
            Poll::Pending => match this.watch.as_mut().and_then(|w| w.check(cx.waker())) {
                Some(err) => this.fail(err),
                None => Poll::Pending,
            },
        }
    }
}
