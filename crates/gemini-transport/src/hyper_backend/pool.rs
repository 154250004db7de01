//! A small connection pool over `hyper::client::conn`.
//!
//! HTTP/1.1: idle connections are kept per origin (LIFO, bounded, expired after an idle
//! timeout) and are returned only when a response body was read to its end. HTTP/2: one
//! shared connection per origin, multiplexed.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::{http1, http2};

use crate::Runtime;
use crate::rt::same_waker;

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
/// future polls it while waiting for the headers and the body polls it for each frame, so a
/// frame goes from the socket to the reader within one task, with no cross-task (on smol:
/// cross-thread) wake-up per frame. An idle pooled connection is not polled at all; the next
/// request to take it drives it again (and finds it closed if the server hung up meanwhile).
/// Dropping the driver closes the socket at once.
///
/// The connection and the reader wake each other (data handed over, "want more" signalled).
/// Within one poll those wake-ups are absorbed by [`Relay`]: the driver polls both again
/// instead of asking the executor to, which on tokio would cost a syscall (an eventfd write)
/// per wake-up.
pub(crate) struct ConnDriver {
    io: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    relay: Arc<Relay>,
    /// A waker for `relay`, made once.
    waker: Waker,
    /// The task waker last stored in `relay`.
    task: Option<Waker>,
}

/// The waker the connection and the reader see: while the driver is polling them it only
/// notes a wake-up; otherwise it wakes the task that last polled the driver.
#[derive(Debug, Default)]
struct Relay {
    polling: AtomicBool,
    woken: AtomicBool,
    task: Mutex<Option<Waker>>,
}

impl Wake for Relay {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        if !self.polling.load(Ordering::SeqCst) {
            let task = self.task.lock().unwrap_or_else(|p| p.into_inner()).clone();
            if let Some(task) = task {
                task.wake();
            }
        }
    }
}

impl fmt::Debug for ConnDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnDriver")
            .field("running", &self.io.is_some())
            .finish()
    }
}

/// Rounds of polling within one call before handing a wake-up back to the executor.
const MAX_ROUNDS: usize = 4;

impl ConnDriver {
    pub(crate) fn new<F>(io: F) -> Self
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let relay = Arc::new(Relay::default());
        Self {
            io: Some(Box::pin(io)),
            waker: Waker::from(Arc::clone(&relay)),
            relay,
            task: None,
        }
    }

    /// Polls the connection's I/O and then `f` (something the connection feeds), again while
    /// they wake each other, until `f` is ready or both wait on the outside world.
    pub(crate) fn poll_with<T>(
        &mut self,
        cx: &mut Context<'_>,
        mut f: impl FnMut(&mut Context<'_>) -> Poll<T>,
    ) -> Poll<T> {
        if !self
            .task
            .as_ref()
            .is_some_and(|w| same_waker(w, cx.waker()))
        {
            *self.relay.task.lock().unwrap_or_else(|p| p.into_inner()) = Some(cx.waker().clone());
            self.task = Some(cx.waker().clone());
        }
        let mut icx = Context::from_waker(&self.waker);
        self.relay.polling.store(true, Ordering::SeqCst);
        let mut result = Poll::Pending;
        for _ in 0..MAX_ROUNDS {
            self.relay.woken.store(false, Ordering::SeqCst);
            if let Some(io) = &mut self.io
                && io.as_mut().poll(&mut icx).is_ready()
            {
                // The connection ended; what it delivered shows through `f`.
                self.io = None;
            }
            result = f(&mut icx);
            if result.is_ready() || !self.relay.woken.load(Ordering::SeqCst) {
                break;
            }
        }
        self.relay.polling.store(false, Ordering::SeqCst);
        // A wake-up after the last round (or past the round limit) must reach the task.
        if result.is_pending() && self.relay.woken.swap(false, Ordering::SeqCst) {
            cx.waker().wake_by_ref();
        }
        result
    }

    /// A response was read to its end: lets the connection reach its idle state now (hyper
    /// then checks the socket once more) rather than at the start of the next request, and
    /// forgets the task, which is done with the connection.
    pub(crate) fn settle(&mut self, cx: &mut Context<'_>) {
        let _ = self.poll_with(cx, |_| Poll::Ready(()));
        *self.relay.task.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.task = None;
    }

    /// Runs `f`, which hands the connection work (a request), without passing on the wake-up
    /// that causes: the caller polls the connection next, through [`run`](Self::run).
    pub(crate) fn handing_over<R>(&self, f: impl FnOnce() -> R) -> R {
        self.relay.polling.store(true, Ordering::SeqCst);
        let r = f();
        self.relay.polling.store(false, Ordering::SeqCst);
        r
    }

    /// Awaits `fut` while driving the connection.
    pub(crate) async fn run<F: Future>(&mut self, fut: F) -> F::Output {
        let mut fut = std::pin::pin!(fut);
        std::future::poll_fn(|cx| self.poll_with(cx, |icx| fut.as_mut().poll(icx))).await
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

/// Per-origin entries. A client talks to one or two origins, so a linear scan comparing keys
/// beats hashing the key (SipHash over the host name) on every request.
#[derive(Debug)]
struct Origins<V>(Vec<(Key, V)>);

impl<V> Default for Origins<V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<V> Origins<V> {
    fn position(&self, key: &Key) -> Option<usize> {
        self.0.iter().position(|(k, _)| k == key)
    }

    fn get_mut(&mut self, key: &Key) -> Option<&mut V> {
        let i = self.position(key)?;
        Some(&mut self.0[i].1)
    }

    fn remove(&mut self, key: &Key) {
        if let Some(i) = self.position(key) {
            self.0.swap_remove(i);
        }
    }

    fn insert(&mut self, key: Key, value: V) {
        match self.position(&key) {
            Some(i) => self.0[i].1 = value,
            None => self.0.push((key, value)),
        }
    }

    fn entry_or_default(&mut self, key: Key) -> &mut V
    where
        V: Default,
    {
        let i = match self.position(&key) {
            Some(i) => i,
            None => {
                self.0.push((key, V::default()));
                self.0.len() - 1
            }
        };
        &mut self.0[i].1
    }

    fn values(&self) -> impl Iterator<Item = &V> {
        self.0.iter().map(|(_, v)| v)
    }

    fn into_values(self) -> impl Iterator<Item = V> {
        self.0.into_iter().map(|(_, v)| v)
    }
}

#[derive(Debug, Default)]
struct State {
    h1: Origins<Vec<IdleH1>>,
    h2: Origins<http2::SendRequest<ReqBody>>,
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
        match st.h2.get_mut(key) {
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
        let list = st.h1.entry_or_default(key);
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
