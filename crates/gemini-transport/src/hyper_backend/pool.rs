//! A small connection pool over `hyper::client::conn`.
//!
//! HTTP/1.1: idle connections are kept per origin (LIFO, bounded, expired after an idle
//! timeout) and are returned only when a response body was read to its end. HTTP/2: one
//! shared connection per origin, multiplexed.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::Context;
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

/// An HTTP/1.1 connection's I/O future, driven by whichever task is using the connection.
///
/// hyper's connection future does the reading and writing. It is not spawned: the response
/// future polls it while waiting for the headers and the body polls it before each frame, so
/// a frame goes from the socket to the reader within one task, with no cross-task (on smol:
/// cross-thread) wake-up per frame. An idle pooled connection is not polled at all; the next
/// request to take it drives it again (and finds it closed if the server hung up meanwhile).
/// Dropping the driver closes the socket at once.
pub(crate) struct ConnDriver {
    io: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl fmt::Debug for ConnDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnDriver")
            .field("running", &self.io.is_some())
            .finish()
    }
}

impl ConnDriver {
    pub(crate) fn new<F>(io: F) -> Self
    where
        F: Future<Output = ()> + Send + 'static,
    {
        Self {
            io: Some(Box::pin(io)),
        }
    }

    /// Lets the connection read and write what it can. Never completes; a connection that
    /// ended shows through its sender and its response bodies.
    pub(crate) fn drive(&mut self, cx: &mut Context<'_>) {
        if let Some(io) = &mut self.io
            && io.as_mut().poll(cx).is_ready()
        {
            self.io = None;
        }
    }

    /// Polls `fut` while driving the connection.
    pub(crate) async fn run<F: Future>(&mut self, fut: F) -> F::Output {
        let mut fut = std::pin::pin!(fut);
        std::future::poll_fn(|cx| {
            self.drive(cx);
            fut.as_mut().poll(cx)
        })
        .await
    }
}

/// An HTTP/1.1 connection: its request sender and its I/O.
#[derive(Debug)]
pub(crate) struct H1Conn {
    pub(crate) sender: http1::SendRequest<ReqBody>,
    pub(crate) driver: ConnDriver,
}

impl H1Conn {
    /// Closes the connection (dropping its I/O closes the socket).
    pub(crate) fn close(self) {}
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
