//! A small connection pool over `hyper::client::conn`.
//!
//! HTTP/1.1: idle connections are kept per origin (LIFO, bounded, expired after an idle
//! timeout) and are returned only when a response body was read to its end. HTTP/2: one
//! shared connection per origin, multiplexed.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::{http1, http2};

use crate::Runtime;

pub(crate) type ReqBody = Full<Bytes>;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub(crate) https: bool,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) runtime: Runtime,
}

/// Closes a connection task on demand (by dropping its future, and with it the socket).
#[derive(Debug, Clone, Default)]
pub(crate) struct CancelToken(Arc<Mutex<CancelState>>);

#[derive(Debug, Default)]
struct CancelState {
    canceled: bool,
    waker: Option<Waker>,
}

impl CancelToken {
    pub(crate) fn cancel(&self) {
        let waker = {
            let mut s = self.0.lock().unwrap_or_else(|p| p.into_inner());
            s.canceled = true;
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    fn poll_canceled(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if s.canceled {
            Poll::Ready(())
        } else {
            if !s.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                s.waker = Some(cx.waker().clone());
            }
            Poll::Pending
        }
    }
}

pin_project_lite::pin_project! {
    /// Runs a hyper connection future until it ends or its token is cancelled.
    pub(crate) struct Cancelable<F> {
        #[pin]
        inner: F,
        token: CancelToken,
    }
}

impl<F> Cancelable<F> {
    pub(crate) fn new(inner: F, token: CancelToken) -> Self {
        Self { inner, token }
    }
}

impl<F: Future> Future for Cancelable<F> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        if this.token.poll_canceled(cx).is_ready() {
            return Poll::Ready(());
        }
        this.inner.poll(cx).map(|_| ())
    }
}

/// An HTTP/1.1 connection: its request sender and the switch that closes it.
#[derive(Debug)]
pub(crate) struct H1Conn {
    pub(crate) sender: http1::SendRequest<ReqBody>,
    pub(crate) cancel: CancelToken,
}

impl H1Conn {
    pub(crate) fn close(self) {
        self.cancel.cancel();
    }
}

#[derive(Debug)]
struct IdleH1 {
    conn: H1Conn,
    since: Instant,
}

#[derive(Debug, Default)]
struct State {
    h1: HashMap<Key, Vec<IdleH1>>,
    h2: HashMap<Key, http2::SendRequest<ReqBody>>,
}

#[derive(Debug)]
pub(crate) struct Pool {
    state: Mutex<State>,
    max_idle_per_host: usize,
    idle_timeout: Duration,
}

impl Pool {
    pub(crate) fn new(max_idle_per_host: usize, idle_timeout: Duration) -> Self {
        Self {
            state: Mutex::default(),
            max_idle_per_host,
            idle_timeout,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A live HTTP/2 connection to `key`, if one is open.
    pub(crate) fn h2(&self, key: &Key) -> Option<http2::SendRequest<ReqBody>> {
        let mut st = self.lock();
        match st.h2.get(key) {
            Some(s) if !s.is_closed() => Some(s.clone()),
            Some(_) => {
                st.h2.remove(key);
                None
            }
            None => None,
        }
    }

    pub(crate) fn put_h2(&self, key: Key, sender: http2::SendRequest<ReqBody>) {
        self.lock().h2.insert(key, sender);
    }

    /// The most recently used idle HTTP/1.1 connection to `key` that is still open.
    pub(crate) fn take_h1(&self, key: &Key) -> Option<H1Conn> {
        let mut expired = Vec::new();
        let found = {
            let mut st = self.lock();
            let list = st.h1.get_mut(key)?;
            let mut found = None;
            while let Some(idle) = list.pop() {
                if idle.conn.sender.is_closed() || idle.since.elapsed() > self.idle_timeout {
                    expired.push(idle.conn);
                } else {
                    found = Some(idle.conn);
                    break;
                }
            }
            found
        };
        expired.into_iter().for_each(H1Conn::close);
        found
    }

    /// Returns a connection whose last response was read completely.
    pub(crate) fn put_h1(&self, key: Key, conn: H1Conn) {
        if conn.sender.is_closed() || self.max_idle_per_host == 0 {
            conn.close();
            return;
        }
        let mut st = self.lock();
        let list = st.h1.entry(key).or_default();
        list.push(IdleH1 {
            conn,
            since: Instant::now(),
        });
        if list.len() > self.max_idle_per_host {
            let oldest = list.remove(0);
            drop(st);
            oldest.conn.close();
        }
    }

    /// Number of idle HTTP/1.1 connections plus open HTTP/2 connections.
    pub(crate) fn idle_count(&self) -> usize {
        let st = self.lock();
        st.h1.values().map(Vec::len).sum::<usize>()
            + st.h2.values().filter(|s| !s.is_closed()).count()
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        let st = std::mem::take(&mut *self.lock());
        for idle in st.h1.into_values().flatten() {
            idle.conn.close();
        }
    }
}
