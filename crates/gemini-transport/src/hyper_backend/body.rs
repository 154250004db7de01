//! The hyper response body adapted to [`ResponseBody`](crate::ResponseBody), with the idle
//! and total timeouts and the connection lease.

use std::error::Error as StdError;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_core::Stream;
use http_body::Body as _;
use hyper::body::Incoming;

use super::pool::{H1Conn, Key, Pool};
use crate::rt::Delay;
use crate::{ErrorKind, Runtime, TimeoutKind, TransportError};

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

/// Owns an HTTP/1.1 connection while its response is in flight. Dropped without
/// [`release`](Lease::release), it closes the connection: a connection whose response was
/// abandoned is never reused.
#[derive(Debug)]
pub(crate) struct Lease {
    conn: Option<H1Conn>,
    pool: Weak<Pool>,
    key: Option<Key>,
}

impl Lease {
    pub(crate) fn new(conn: H1Conn, pool: Weak<Pool>, key: Key) -> Self {
        Self {
            conn: Some(conn),
            pool,
            key: Some(key),
        }
    }

    /// The response was read completely: the connection may be reused.
    pub(crate) fn release(mut self) {
        if let (Some(conn), Some(key)) = (self.conn.take(), self.key.take()) {
            match self.pool.upgrade() {
                Some(pool) => pool.put_h1(key, conn),
                None => conn.close(),
            }
        }
    }

    pub(crate) fn sender(
        &mut self,
    ) -> &mut hyper::client::conn::http1::SendRequest<super::pool::ReqBody> {
        &mut self
            .conn
            .as_mut()
            .expect("lease holds a connection until released")
            .sender
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            conn.close();
        }
    }
}

/// Wakes the body's task when one of its timers fires, and remembers that it did, so the
/// timers need polling only when they fired or the task's waker changed (polling them on
/// every pending frame costs measurable time on a stream of small frames).
#[derive(Debug)]
struct TimerWaker {
    fired: AtomicBool,
    task: Mutex<Option<Waker>>,
}

impl Wake for TimerWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.fired.store(true, Ordering::Release);
        if let Some(w) = self.task.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            w.wake_by_ref();
        }
    }
}

/// The idle timeout, checked on a coarse tick instead of reading the clock on every frame:
/// the timer fires every `idle / 8`; if frames arrived since the last tick the silence
/// restarts then. So an idle timeout fires after between `idle` and `idle * 9 / 8` of silence.
struct IdleCheck {
    delay: Delay,
    idle: Duration,
    tick: Duration,
    silent_since: Instant,
    frames_at_tick: u64,
}

pub(crate) struct HyperBody {
    incoming: Incoming,
    lease: Option<Lease>,
    idle: Option<IdleCheck>,
    total: Option<Delay>,
    frames: u64,
    timer_waker: Arc<TimerWaker>,
    /// The task waker the timers were last registered for.
    registered: Option<Waker>,
    done: bool,
}

impl HyperBody {
    pub(crate) fn new(
        incoming: Incoming,
        lease: Option<Lease>,
        rt: Runtime,
        idle: Option<Duration>,
        total_deadline: Option<Instant>,
    ) -> Self {
        let now = Instant::now();
        let mut body = Self {
            idle: idle.map(|idle| {
                let tick = (idle / 8).max(Duration::from_millis(1));
                IdleCheck {
                    delay: rt.delay_until(now + tick),
                    idle,
                    tick,
                    silent_since: now,
                    frames_at_tick: 0,
                }
            }),
            total: total_deadline.map(|t| rt.delay_until(t)),
            incoming,
            lease,
            frames: 0,
            timer_waker: Arc::new(TimerWaker {
                fired: AtomicBool::new(false),
                task: Mutex::new(None),
            }),
            registered: None,
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
        self.idle = None;
        self.total = None;
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

    /// Polls the timers if they fired or the task's waker changed. `Some(err)` if one expired.
    fn poll_timers(&mut self, cx: &mut Context<'_>) -> Option<TransportError> {
        if self.idle.is_none() && self.total.is_none() {
            return None;
        }
        let same_task = self
            .registered
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()));
        if same_task && !self.timer_waker.fired.swap(false, Ordering::Acquire) {
            return None;
        }
        if !same_task {
            *self
                .timer_waker
                .task
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some(cx.waker().clone());
            self.registered = Some(cx.waker().clone());
            self.timer_waker.fired.store(false, Ordering::Release);
        }
        let waker = Waker::from(Arc::clone(&self.timer_waker));
        let mut tcx = Context::from_waker(&waker);
        if let Some(total) = &mut self.total
            && total.poll_elapsed(&mut tcx).is_ready()
        {
            return Some(TransportError::new(
                ErrorKind::Timeout(TimeoutKind::Total),
                "the total timeout elapsed while reading the body",
            ));
        }
        if let Some(check) = &mut self.idle {
            while check.delay.poll_elapsed(&mut tcx).is_ready() {
                let now = Instant::now();
                if self.frames != check.frames_at_tick {
                    check.frames_at_tick = self.frames;
                    check.silent_since = now;
                } else if now.duration_since(check.silent_since) >= check.idle {
                    return Some(TransportError::new(
                        ErrorKind::Timeout(TimeoutKind::Idle),
                        format!("no body frame for {:?}", check.idle),
                    ));
                }
                check.delay.reset(now + check.tick);
            }
        }
        None
    }
}

impl Stream for HyperBody {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        loop {
            match Pin::new(&mut this.incoming).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        this.frames += 1;
                        if !data.is_empty() {
                            return Poll::Ready(Some(Ok(data)));
                        }
                    }
                    // Trailers and empty frames: keep reading.
                }
                Poll::Ready(Some(Err(e))) => return this.fail(map_hyper_error(e, Phase::Body)),
                Poll::Ready(None) => {
                    this.finish(true);
                    return Poll::Ready(None);
                }
                Poll::Pending => break,
            }
        }
        match this.poll_timers(cx) {
            Some(err) => this.fail(err),
            None => Poll::Pending,
        }
    }
}
