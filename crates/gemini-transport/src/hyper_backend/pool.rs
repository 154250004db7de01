//! A small connection pool: this crate's HTTP/1.1 connections and hyper's HTTP/2 ones.
//!
//! HTTP/1.1: idle connections are kept per origin (LIFO, bounded, expired after an idle
//! timeout) and are returned only when a response body was read to its end. HTTP/2: one
//! shared connection per origin, multiplexed.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::HeaderValue;
use http::uri::{Authority, Uri};
use http_body_util::Full;
use hyper::client::conn::http2;

pub(crate) use super::h1::H1Conn;
use super::proxy::{Proxy, ProxyUrl};
use crate::{ErrorKind, Runtime, TransportError};

/// The body of an HTTP/2 request (hyper's type for a body sent whole).
pub(crate) type ReqBody = Full<Bytes>;

/// An origin (and the runtime its connections run on): what pooled connections are keyed by.
///
/// Connections are looked up by scheme and authority as written in the request URI (compared
/// case-insensitively, as hyper-util's pool does), so a request on a pooled connection parses
/// nothing; the host and port are parsed once, when the key is made for a new connection.
#[derive(Debug)]
pub(crate) struct Key {
    pub(crate) https: bool,
    authority: Authority,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) runtime: Runtime,
    /// The `Host` header of HTTP/1.1 requests to this origin.
    pub(crate) host_header: HeaderValue,
    /// The proxy requests to this origin go through (chosen once, when the key is made).
    pub(crate) proxy: Option<ProxyUrl>,
}

/// A request's origin, borrowed from its URI, to look connections up without allocating.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyRef<'a> {
    pub(crate) https: bool,
    pub(crate) authority: &'a Authority,
    pub(crate) runtime: Runtime,
}

fn invalid(msg: String) -> TransportError {
    TransportError::new(ErrorKind::InvalidRequest, msg)
}

impl<'a> KeyRef<'a> {
    /// The origin of `uri`, which must be absolute with an `http` or `https` scheme.
    pub(crate) fn of(uri: &'a Uri, runtime: Runtime) -> Result<Self, TransportError> {
        let https = match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("https") => true,
            Some(s) if s.eq_ignore_ascii_case("http") => false,
            _ => {
                return Err(invalid(format!(
                    "unsupported or missing URI scheme in {uri}"
                )));
            }
        };
        let authority = uri
            .authority()
            .ok_or_else(|| invalid(format!("no host in {uri}")))?;
        Ok(Self {
            https,
            authority,
            runtime,
        })
    }

    /// The owned key, with the host and port parsed, the `Host` header made and the proxy
    /// chosen.
    pub(crate) fn to_key(self, proxy: &Proxy) -> Result<Key, TransportError> {
        let host = self.authority.host();
        if host.is_empty() {
            return Err(invalid(format!("no host in {}", self.authority)));
        }
        let default_port = if self.https { 443 } else { 80 };
        let port = self.authority.port_u16().unwrap_or(default_port);
        // The authority is the Host header unless it carries credentials.
        let host_header = if !self.authority.as_str().contains('@') {
            HeaderValue::from_str(self.authority.as_str())
        } else if port == default_port {
            HeaderValue::from_str(host)
        } else {
            HeaderValue::from_str(&format!("{host}:{port}"))
        }
        .map_err(|_| invalid(format!("invalid host in {}", self.authority)))?;
        let origin = Uri::builder()
            .scheme(if self.https { "https" } else { "http" })
            .authority(self.authority.clone())
            .path_and_query("/")
            .build()
            .map_err(|e| invalid(format!("invalid origin {}: {e}", self.authority)))?;
        Ok(Key {
            proxy: proxy.select(&origin),
            https: self.https,
            authority: self.authority.clone(),
            host: host.to_owned(),
            port,
            runtime: self.runtime,
            host_header,
        })
    }
}

impl Key {
    pub(crate) fn as_key_ref(&self) -> KeyRef<'_> {
        KeyRef {
            https: self.https,
            authority: &self.authority,
            runtime: self.runtime,
        }
    }

    pub(crate) fn matches(&self, r: KeyRef<'_>) -> bool {
        self.https == r.https
            && self.runtime == r.runtime
            // Byte equality first: it is the common case, and much cheaper than `Authority`'s
            // case-insensitive comparison.
            && (self.authority.as_str() == r.authority.as_str() || self.authority == *r.authority)
    }
}

/// What the pool has for an origin.
#[derive(Debug)]
pub(crate) enum Checkout {
    /// A shared HTTP/2 connection (with the pool's key for the origin).
    H2(Arc<Key>, http2::SendRequest<ReqBody>),
    /// An idle HTTP/1.1 connection, now the caller's.
    H1(H1Conn),
    None,
}

#[derive(Debug)]
struct IdleH1 {
    conn: H1Conn,
    since: Instant,
}

/// Per-origin entries. A client talks to one or two origins, so a linear scan comparing keys
/// beats hashing the key (SipHash over the host name) on every request.
#[derive(Debug)]
struct Origins<V>(Vec<(Arc<Key>, V)>);

impl<V> Default for Origins<V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<V> Origins<V> {
    fn position(&self, key: KeyRef<'_>) -> Option<usize> {
        self.0.iter().position(|(k, _)| k.matches(key))
    }

    fn remove(&mut self, key: KeyRef<'_>) {
        if let Some(i) = self.position(key) {
            self.0.swap_remove(i);
        }
    }

    fn insert(&mut self, key: Arc<Key>, value: V) {
        match self.position(key.as_key_ref()) {
            Some(i) => self.0[i].1 = value,
            None => self.0.push((key, value)),
        }
    }

    fn entry_or_default(&mut self, key: &Arc<Key>) -> &mut V
    where
        V: Default,
    {
        let i = match self.position(key.as_key_ref()) {
            Some(i) => i,
            None => {
                self.0.push((Arc::clone(key), V::default()));
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

    /// A live HTTP/2 connection to `key` if one is open, else an idle HTTP/1.1 one.
    pub(crate) fn checkout(&self, key: KeyRef<'_>, now: Instant) -> Checkout {
        let mut expired = Vec::new();
        let found = {
            let mut st = self.lock();
            if let Some(i) = st.h2.position(key) {
                let (k, sender) = &st.h2.0[i];
                if !sender.is_closed() {
                    return Checkout::H2(Arc::clone(k), sender.clone());
                }
                st.h2.remove(key);
            }
            self.pop_h1(&mut st, key, now, &mut expired)
        };
        expired.into_iter().for_each(H1Conn::close);
        match found {
            Some(conn) => Checkout::H1(conn),
            None => Checkout::None,
        }
    }

    pub(crate) fn put_h2(&self, key: Arc<Key>, sender: http2::SendRequest<ReqBody>) {
        self.lock().h2.insert(key, sender);
    }

    /// The most recently used idle HTTP/1.1 connection to `key` that has not expired (as of
    /// `now`). Whether the server closed it shows when it is used.
    pub(crate) fn take_h1(&self, key: KeyRef<'_>, now: Instant) -> Option<H1Conn> {
        let mut expired = Vec::new();
        let found = self.pop_h1(&mut self.lock(), key, now, &mut expired);
        expired.into_iter().for_each(H1Conn::close);
        found
    }

    /// Pops idle connections to `key` until one that has not expired turns up; the expired
    /// ones go to `expired`, to be closed once the lock is released.
    fn pop_h1(
        &self,
        st: &mut State,
        key: KeyRef<'_>,
        now: Instant,
        expired: &mut Vec<H1Conn>,
    ) -> Option<H1Conn> {
        let i = st.h1.position(key)?;
        let list = &mut st.h1.0[i].1;
        while let Some(idle) = list.pop() {
            if now.saturating_duration_since(idle.since) > self.idle_timeout {
                expired.push(idle.conn);
            } else {
                return Some(idle.conn);
            }
        }
        None
    }

    /// Returns a connection whose last response was read completely.
    pub(crate) fn put_h1(&self, conn: H1Conn) {
        if self.max_idle_per_host == 0 {
            conn.close();
            return;
        }
        let mut st = self.lock();
        let list = st.h1.entry_or_default(&Arc::clone(&conn.key));
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
