//! Test transports (feature `test-util`): a scripted transport that matches requests and
//! returns canned responses, bodies split at chosen points or delivered slowly, a recording
//! transport that writes scrubbed fixtures and a replay transport that plays them back.
//!
//! ```
//! use bytes::Bytes;
//! use gemini_transport::HttpTransport;
//! use gemini_transport::test_util::{Match, Reply, ScriptedTransport};
//!
//! # futures_lite::future::block_on(async {
//! let transport = ScriptedTransport::new()
//!     .once(Match::post().path_contains(":streamGenerateContent"), Reply::status(503))
//!     .on(
//!         Match::post().path_contains(":streamGenerateContent").query("alt", "sse"),
//!         Reply::ok()
//!             .header("content-type", "text/event-stream")
//!             .body("data: {\"a\":1}\r\n\r\ndata: {\"a\":2}\r\n\r\n")
//!             .split_at([3, 20]),
//!     );
//! let req = || {
//!     http::Request::post("https://host/v1beta/models/m:streamGenerateContent?alt=sse")
//!         .body(Bytes::from("{}"))
//!         .unwrap()
//! };
//! assert_eq!(transport.send(req()).await.unwrap().status(), 503);
//! let mut body = transport.send(req()).await.unwrap().into_body();
//! assert_eq!(body.next_chunk().await.unwrap().unwrap(), "dat");
//! assert_eq!(transport.requests().len(), 2);
//! assert_eq!(transport.requests()[1].body, "{}");
//! # });
//! ```

mod recording;
mod replay;

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};

pub use recording::{RecordedExchange, RecordingTransport, scrub_headers, scrub_uri};
pub use replay::{FixtureError, ReplayTransport};

use crate::{
    ErrorKind, HttpTransport, ResponseBody, ResponseFuture, Sleep, SleepFuture, TransportError,
};

/// A request as a test transport saw it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// The method.
    pub method: Method,
    /// The full URI.
    pub uri: Uri,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

type Predicate = Arc<dyn Fn(&RecordedRequest) -> bool + Send + Sync>;

/// Which requests a [`ScriptedTransport`] rule applies to. All conditions must hold.
#[derive(Clone, Default)]
#[must_use]
pub struct Match {
    conditions: Vec<(String, Predicate)>,
}

impl fmt::Debug for Match {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.conditions.iter().map(|(d, _)| d))
            .finish()
    }
}

impl Match {
    /// Matches every request.
    pub fn any() -> Self {
        Self::default()
    }

    /// Matches `GET` requests.
    pub fn get() -> Self {
        Self::any().method(Method::GET)
    }

    /// Matches `POST` requests.
    pub fn post() -> Self {
        Self::any().method(Method::POST)
    }

    fn with(
        mut self,
        description: String,
        p: impl Fn(&RecordedRequest) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.conditions.push((description, Arc::new(p)));
        self
    }

    /// The method equals `method`.
    pub fn method(self, method: Method) -> Self {
        self.with(format!("method == {method}"), move |r| r.method == method)
    }

    /// The path equals `path`.
    pub fn path(self, path: &str) -> Self {
        let path = path.to_owned();
        self.with(format!("path == {path:?}"), move |r| r.uri.path() == path)
    }

    /// The path contains `fragment`.
    pub fn path_contains(self, fragment: &str) -> Self {
        let fragment = fragment.to_owned();
        self.with(format!("path contains {fragment:?}"), move |r| {
            r.uri.path().contains(&fragment)
        })
    }

    /// The query has `name=value` (compared without percent-decoding).
    pub fn query(self, name: &str, value: &str) -> Self {
        let pair = format!("{name}={value}");
        self.with(format!("query has {pair:?}"), move |r| {
            r.uri
                .query()
                .is_some_and(|q| q.split('&').any(|p| p == pair))
        })
    }

    /// A header `name` equals `value`.
    pub fn header(self, name: &str, value: &str) -> Self {
        let (name, value) = (name.to_ascii_lowercase(), value.to_owned());
        self.with(format!("header {name} == {value:?}"), move |r| {
            r.headers
                .get_all(name.as_str())
                .iter()
                .any(|v| v.as_bytes() == value.as_bytes())
        })
    }

    /// The body contains `needle`.
    pub fn body_contains(self, needle: impl AsRef<[u8]>) -> Self {
        let needle = needle.as_ref().to_vec();
        self.with(
            format!("body contains {:?}", String::from_utf8_lossy(&needle)),
            move |r| {
                needle.is_empty() || r.body.windows(needle.len()).any(|w| w == needle.as_slice())
            },
        )
    }

    /// Any predicate.
    pub fn when(
        self,
        description: &str,
        p: impl Fn(&RecordedRequest) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.with(description.to_owned(), p)
    }

    fn matches(&self, r: &RecordedRequest) -> bool {
        self.conditions.iter().all(|(_, p)| p(r))
    }
}

/// A canned response for [`ScriptedTransport`].
#[derive(Clone)]
#[must_use]
pub struct Reply {
    outcome: Outcome,
}

#[derive(Clone)]
enum Outcome {
    Error(ErrorKind, String),
    Response {
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
        split: Vec<usize>,
        delay: Option<(Duration, Arc<dyn Sleep>)>,
        end_with: Option<(ErrorKind, String)>,
    },
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            Outcome::Error(k, m) => f
                .debug_struct("Reply")
                .field("error", k)
                .field("message", m)
                .finish(),
            Outcome::Response {
                status,
                body,
                split,
                ..
            } => f
                .debug_struct("Reply")
                .field("status", status)
                .field("body_len", &body.len())
                .field("split", split)
                .finish_non_exhaustive(),
        }
    }
}

impl Reply {
    /// `200 OK` with an empty body.
    pub fn ok() -> Self {
        Self::status(200)
    }

    /// A response with `status` and an empty body.
    ///
    /// # Panics
    /// If `status` is not a valid HTTP status code.
    pub fn status(status: u16) -> Self {
        Self {
            outcome: Outcome::Response {
                status: StatusCode::from_u16(status).expect("valid status code"),
                headers: HeaderMap::new(),
                body: Bytes::new(),
                split: Vec::new(),
                delay: None,
                end_with: None,
            },
        }
    }

    /// `send` fails with a [`TransportError`] of `kind`.
    pub fn error(kind: ErrorKind, message: &str) -> Self {
        Self {
            outcome: Outcome::Error(kind, message.to_owned()),
        }
    }

    fn response(&mut self) -> Option<&mut Outcome> {
        match &mut self.outcome {
            o @ Outcome::Response { .. } => Some(o),
            Outcome::Error(..) => None,
        }
    }

    /// Adds a header.
    ///
    /// # Panics
    /// If the name or value is invalid.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let Some(Outcome::Response { headers, .. }) = self.response() {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).expect("valid header name"),
                HeaderValue::from_str(value).expect("valid header value"),
            );
        }
        self
    }

    /// Sets the body.
    pub fn body(mut self, bytes: impl Into<Bytes>) -> Self {
        if let Some(Outcome::Response { body, .. }) = self.response() {
            *body = bytes.into();
        }
        self
    }

    /// Delivers the body in pieces, cut at the given byte offsets (see [`split_body`]).
    pub fn split_at(mut self, offsets: impl IntoIterator<Item = usize>) -> Self {
        if let Some(Outcome::Response { split, .. }) = self.response() {
            *split = offsets.into_iter().collect();
        }
        self
    }

    /// Waits `delay` (on `sleep`) before each body piece.
    pub fn chunk_delay(mut self, every: Duration, sleep: Arc<dyn Sleep>) -> Self {
        if let Some(Outcome::Response { delay, .. }) = self.response() {
            *delay = Some((every, sleep));
        }
        self
    }

    /// After the body's pieces, ends the body with an error of `kind` instead of a clean end
    /// (for example [`ErrorKind::ClosedMidBody`] to simulate a truncated stream).
    pub fn end_with_error(mut self, kind: ErrorKind, message: &str) -> Self {
        if let Some(Outcome::Response { end_with, .. }) = self.response() {
            *end_with = Some((kind, message.to_owned()));
        }
        self
    }

    fn produce(&self) -> Result<crate::Response, TransportError> {
        match &self.outcome {
            Outcome::Error(kind, msg) => Err(TransportError::new(*kind, msg.clone())),
            Outcome::Response {
                status,
                headers,
                body,
                split,
                delay,
                end_with,
            } => {
                let chunks = split_points(body, split);
                let body = ResponseBody::from_stream(ScriptedBody {
                    chunks: chunks.into(),
                    delay: delay.clone(),
                    sleeping: None,
                    end_with: end_with.clone(),
                });
                let mut resp = http::Response::new(body);
                *resp.status_mut() = *status;
                *resp.headers_mut() = headers.clone();
                Ok(resp)
            }
        }
    }
}

fn split_points(body: &Bytes, offsets: &[usize]) -> Vec<Bytes> {
    let mut cuts: Vec<usize> = offsets
        .iter()
        .copied()
        .filter(|&o| o > 0 && o < body.len())
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut out = Vec::with_capacity(cuts.len() + 1);
    let mut prev = 0;
    for c in cuts.into_iter().chain(std::iter::once(body.len())) {
        if c > prev {
            out.push(body.slice(prev..c));
        }
        prev = c;
    }
    out
}

/// A body delivering `body` in pieces cut at the given byte offsets (out-of-range and
/// duplicate offsets are ignored), for testing decoders against arbitrary splits.
///
/// ```
/// # futures_lite::future::block_on(async {
/// let mut b = gemini_transport::test_util::split_body("abcdef", [2, 3, 99]);
/// assert_eq!(b.next_chunk().await.unwrap().unwrap(), "ab");
/// assert_eq!(b.next_chunk().await.unwrap().unwrap(), "c");
/// assert_eq!(b.next_chunk().await.unwrap().unwrap(), "def");
/// assert!(b.next_chunk().await.is_none());
/// # });
/// ```
pub fn split_body(
    body: impl Into<Bytes>,
    offsets: impl IntoIterator<Item = usize>,
) -> ResponseBody {
    let offsets: Vec<usize> = offsets.into_iter().collect();
    ResponseBody::from_chunks(split_points(&body.into(), &offsets))
}

/// A body delivering `chunks` one by one, waiting `delay` on `sleep` before each.
///
/// ```
/// use std::sync::Arc;
/// # #[cfg(feature = "smol")]
/// smol::block_on(async {
///     let chunks = ["a", "b"].map(bytes::Bytes::from);
///     let body = gemini_transport::test_util::slow_body(chunks, std::time::Duration::from_millis(1), Arc::new(gemini_transport::SmolSleep));
///     assert_eq!(body.collect().await.unwrap(), "ab");
/// });
/// ```
pub fn slow_body(
    chunks: impl IntoIterator<Item = Bytes>,
    delay: Duration,
    sleep: Arc<dyn Sleep>,
) -> ResponseBody {
    ResponseBody::from_stream(ScriptedBody {
        chunks: chunks.into_iter().collect(),
        delay: Some((delay, sleep)),
        sleeping: None,
        end_with: None,
    })
}

struct ScriptedBody {
    chunks: VecDeque<Bytes>,
    delay: Option<(Duration, Arc<dyn Sleep>)>,
    sleeping: Option<SleepFuture>,
    end_with: Option<(ErrorKind, String)>,
}

impl Stream for ScriptedBody {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.chunks.is_empty() {
            return Poll::Ready(
                this.end_with
                    .take()
                    .map(|(k, m)| Err(TransportError::new(k, m))),
            );
        }
        if let Some((d, sleep)) = &this.delay {
            let fut = this.sleeping.get_or_insert_with(|| sleep.sleep(*d));
            if Pin::new(fut).poll(cx).is_pending() {
                return Poll::Pending;
            }
            this.sleeping = None;
        }
        Poll::Ready(this.chunks.pop_front().map(Ok))
    }
}

use std::future::Future as _;

struct Rule {
    matcher: Match,
    reply: Reply,
    remaining: Option<usize>,
}

/// A transport answering from a script: rules are tried in order, the first whose
/// [`Match`] holds (and is not used up) answers. Every request is recorded. An unmatched
/// request fails with [`ErrorKind::Other`].
#[derive(Clone, Default)]
pub struct ScriptedTransport {
    state: Arc<Mutex<ScriptState>>,
}

#[derive(Default)]
struct ScriptState {
    rules: Vec<Rule>,
    requests: Vec<RecordedRequest>,
}

impl fmt::Debug for ScriptedTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.lock();
        f.debug_struct("ScriptedTransport")
            .field(
                "rules",
                &st.rules
                    .iter()
                    .map(|r| (&r.matcher, &r.reply, r.remaining))
                    .collect::<Vec<_>>(),
            )
            .field("requests", &st.requests.len())
            .finish()
    }
}

impl ScriptedTransport {
    /// A transport with no rules.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ScriptState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn push(self, matcher: Match, reply: Reply, remaining: Option<usize>) -> Self {
        self.lock().rules.push(Rule {
            matcher,
            reply,
            remaining,
        });
        self
    }

    /// Answers every matching request with `reply`.
    #[must_use]
    pub fn on(self, matcher: Match, reply: Reply) -> Self {
        self.push(matcher, reply, None)
    }

    /// Answers the first matching request with `reply`, then the rule is used up.
    #[must_use]
    pub fn once(self, matcher: Match, reply: Reply) -> Self {
        self.push(matcher, reply, Some(1))
    }

    /// Answers the next `n` matching requests with `reply`.
    #[must_use]
    pub fn times(self, n: usize, matcher: Match, reply: Reply) -> Self {
        self.push(matcher, reply, Some(n))
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// How many limited rules (`once`, `times`) still have uses left.
    pub fn pending_rules(&self) -> usize {
        self.lock()
            .rules
            .iter()
            .filter(|r| r.remaining.is_some_and(|n| n > 0))
            .count()
    }
}

impl HttpTransport for ScriptedTransport {
    fn send(&self, request: http::Request<Bytes>) -> ResponseFuture {
        let (parts, body) = request.into_parts();
        let recorded = RecordedRequest {
            method: parts.method,
            uri: parts.uri,
            headers: parts.headers,
            body,
        };
        let mut st = self.lock();
        let reply = st
            .rules
            .iter_mut()
            .find(|r| r.remaining != Some(0) && r.matcher.matches(&recorded))
            .map(|r| {
                if let Some(n) = &mut r.remaining {
                    *n -= 1;
                }
                r.reply.clone()
            });
        let result = match reply {
            Some(reply) => reply.produce(),
            None => Err(TransportError::new(
                ErrorKind::Other,
                format!("no scripted reply for {} {}", recorded.method, recorded.uri),
            )),
        };
        st.requests.push(recorded);
        ResponseFuture::ready(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: Future>(f: F) -> F::Output {
        futures_lite::future::block_on(f)
    }

    fn req(method: &str, uri: &str) -> http::Request<Bytes> {
        http::Request::builder()
            .method(method)
            .uri(uri)
            .header("x-a", "1")
            .body(Bytes::from("hello"))
            .unwrap()
    }

    #[test]
    fn rules_in_order_with_limits() {
        let t = ScriptedTransport::new()
            .times(2, Match::get().path("/a"), Reply::status(429))
            .on(Match::get().path("/a"), Reply::ok().body("fine"))
            .on(
                Match::post().header("x-a", "1").body_contains("ell"),
                Reply::status(201),
            );
        assert_eq!(t.pending_rules(), 1);
        for expected in [429, 429, 200, 200] {
            assert_eq!(
                block_on(t.send(req("GET", "http://h/a"))).unwrap().status(),
                expected
            );
        }
        assert_eq!(t.pending_rules(), 0);
        assert_eq!(
            block_on(t.send(req("POST", "http://h/x")))
                .unwrap()
                .status(),
            201
        );
        let e = block_on(t.send(req("PUT", "http://h/a"))).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Other);
        assert!(e.to_string().contains("PUT http://h/a"));
        let seen = t.requests();
        assert_eq!(seen.len(), 6);
        assert_eq!(seen[5].method, Method::PUT);
        assert_eq!(seen[0].headers["x-a"], "1");
    }

    #[test]
    fn errors_and_truncated_bodies() {
        let t = ScriptedTransport::new()
            .once(Match::any(), Reply::error(ErrorKind::Connect, "refused"))
            .on(
                Match::any(),
                Reply::ok()
                    .body("abc")
                    .split_at([1])
                    .end_with_error(ErrorKind::ClosedMidBody, "cut"),
            );
        assert!(
            block_on(t.send(req("GET", "http://h/")))
                .unwrap_err()
                .is_connect()
        );
        let mut body = block_on(t.send(req("GET", "http://h/")))
            .unwrap()
            .into_body();
        assert_eq!(block_on(body.next_chunk()).unwrap().unwrap(), "a");
        assert_eq!(block_on(body.next_chunk()).unwrap().unwrap(), "bc");
        assert!(
            block_on(body.next_chunk())
                .unwrap()
                .unwrap_err()
                .is_closed_mid_body()
        );
        assert!(block_on(body.next_chunk()).is_none());
    }

    #[test]
    fn query_matching_is_exact_per_pair() {
        let m = Match::any().query("alt", "sse");
        let r = |uri: &str| RecordedRequest {
            method: Method::GET,
            uri: uri.parse().unwrap(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
        };
        assert!(m.matches(&r("http://h/p?key=1&alt=sse")));
        assert!(!m.matches(&r("http://h/p?alt=sse2")));
        assert!(!m.matches(&r("http://h/p")));
    }

    #[test]
    fn split_points_cover_the_body_exactly() {
        let b = Bytes::from("0123456789");
        for offsets in [vec![], vec![0, 10], vec![5, 5, 1], vec![9, 3, 100]] {
            let parts = split_points(&b, &offsets);
            let joined: Vec<u8> = parts.iter().flat_map(|p| p.iter().copied()).collect();
            assert_eq!(joined, b"0123456789");
            assert!(parts.iter().all(|p| !p.is_empty()));
        }
        assert_eq!(split_points(&b, &[5, 1]).len(), 3);
    }

    #[test]
    fn slow_body_waits_on_the_given_sleep() {
        #[derive(Debug, Default)]
        struct CountingSleep(Mutex<Vec<Duration>>);
        impl Sleep for CountingSleep {
            fn sleep(&self, d: Duration) -> SleepFuture {
                self.0.lock().unwrap().push(d);
                SleepFuture::new(async {})
            }
        }
        let sleep = Arc::new(CountingSleep::default());
        let body = slow_body(
            ["a", "b", "c"].map(Bytes::from),
            Duration::from_secs(7),
            sleep.clone(),
        );
        assert_eq!(block_on(body.collect()).unwrap(), "abc");
        assert_eq!(*sleep.0.lock().unwrap(), vec![Duration::from_secs(7); 3]);
    }
}
