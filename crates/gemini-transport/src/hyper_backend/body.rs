//! hyper's HTTP/2 response body adapted to [`ResponseBody`](crate::ResponseBody), with the
//! idle and total timeouts.

use std::error::Error as StdError;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use http_body::Body as _;
use hyper::body::Incoming;

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

pub(crate) struct HyperBody {
    incoming: Incoming,
    watch: Option<Watch>,
    done: bool,
}

impl HyperBody {
    pub(crate) fn new(incoming: Incoming, mut watch: Option<Watch>) -> Self {
        if let Some(w) = &mut watch {
            w.enter_body();
        }
        let mut body = Self {
            incoming,
            watch,
            done: false,
        };
        if body.incoming.is_end_stream() {
            // Nothing to read (204, HEAD, `Content-Length: 0`).
            body.finish();
        }
        body
    }

    fn finish(&mut self) {
        self.done = true;
        self.watch = None;
    }

    fn fail(&mut self, err: TransportError) -> Poll<Option<Result<Bytes, TransportError>>> {
        self.finish();
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
        match poll_data(&mut this.incoming, &mut this.watch, cx) {
            Poll::Ready(Some(Ok(data))) => Poll::Ready(Some(Ok(data))),
            Poll::Ready(Some(Err(e))) => this.fail(map_hyper_error(e, Phase::Body)),
            Poll::Ready(None) => {
                this.finish();
                Poll::Ready(None)
            }
            Poll::Pending => match this.watch.as_mut().and_then(|w| w.check(cx.waker())) {
                Some(err) => this.fail(err),
                None => Poll::Pending,
            },
        }
    }
}
