//! A transport that plays back the fixtures written by [`RecordingTransport`].
//!
//! [`RecordingTransport`]: super::RecordingTransport

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use serde::Deserialize;

use super::recording::{ABANDONED, FixtureBody};
use super::{RecordedExchange, RecordedRequest, ScriptedBody, scrub_uri};
use crate::{ErrorKind, HttpTransport, ResponseBody, ResponseFuture, TimeoutKind, TransportError};

/// The message of the error that ends the replay of an abandoned body.
const ABANDONED_MESSAGE: &str =
    "the recorded body was abandoned by its reader before it ended; the recording stops here";

/// A fixture exchange as read back from JSON (the owned twin of `FixtureExchange`). Fields
/// the recorder always writes but a hand-written fixture may leave out have defaults.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FixtureIn {
    method: String,
    uri: String,
    #[serde(default)]
    request_headers: Vec<(String, String)>,
    #[serde(default)]
    request_body: Option<FixtureBody>,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    response_headers: Vec<(String, String)>,
    #[serde(default)]
    chunks: Vec<FixtureBody>,
    #[serde(default)]
    error: Option<String>,
}

impl FixtureIn {
    /// Decodes the bodies and checks that the exchange can be replayed.
    fn into_exchange(self) -> Result<RecordedExchange, String> {
        Method::from_bytes(self.method.as_bytes())
            .map_err(|_| format!("invalid method {:?}", self.method))?;
        self.uri
            .parse::<Uri>()
            .map_err(|e| format!("invalid uri {:?}: {e}", self.uri))?;
        match self.status {
            Some(status) => {
                response_head(status, &self.response_headers)?;
            }
            None if self.error.is_none() => {
                return Err("\"status\" is null but there is no \"error\"".to_owned());
            }
            None => {}
        }
        let request_body = match self.request_body {
            Some(b) => b.decode().map_err(|e| format!("request_body: {e}"))?,
            None => Bytes::new(),
        };
        let chunks = self
            .chunks
            .into_iter()
            .enumerate()
            .map(|(i, c)| c.decode().map_err(|e| format!("chunks[{i}]: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RecordedExchange {
            method: self.method,
            uri: self.uri,
            request_headers: self.request_headers,
            request_body,
            status: self.status,
            response_headers: self.response_headers,
            chunks,
            error: self.error,
        })
    }
}

/// The status and headers of a recorded response, validated.
fn response_head(
    status: u16,
    headers: &[(String, String)],
) -> Result<(StatusCode, HeaderMap), String> {
    let status =
        StatusCode::from_u16(status).map_err(|_| format!("invalid status code {status}"))?;
    let mut map = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("invalid response header name {name:?}"))?;
        let value = HeaderValue::from_bytes(value.as_bytes())
            .map_err(|_| format!("invalid value of response header {name}: {value:?}"))?;
        map.append(name, value);
    }
    Ok((status, map))
}

/// Every error kind, to read a recorded error's kind back from its `Display` text.
const KINDS: [ErrorKind; 14] = [
    ErrorKind::Connect,
    ErrorKind::Tls,
    ErrorKind::Proxy,
    ErrorKind::Timeout(TimeoutKind::Connect),
    ErrorKind::Timeout(TimeoutKind::ResponseHeaders),
    ErrorKind::Timeout(TimeoutKind::Idle),
    ErrorKind::Timeout(TimeoutKind::Total),
    ErrorKind::Protocol,
    ErrorKind::ConnectionClosed,
    ErrorKind::ClosedMidBody,
    ErrorKind::BodyTooLarge,
    ErrorKind::InvalidRequest,
    ErrorKind::Runtime,
    ErrorKind::Other,
];

/// Splits a recorded error text (`TransportError`'s `Display`: `"<kind>: <message>"`) back
/// into its kind and message, so that the replayed error displays exactly as recorded. Text
/// that does not start with a known kind (a hand-written fixture) gets `fallback` and is
/// kept whole as the message.
fn recorded_error(text: &str, fallback: ErrorKind) -> (ErrorKind, String) {
    for kind in KINDS {
        let name = kind.to_string();
        if let Some(rest) = text.strip_prefix(name.as_str()) {
            if let Some(message) = rest.strip_prefix(": ") {
                return (kind, message.to_owned());
            }
            if rest.is_empty() {
                return (kind, text.to_owned());
            }
        }
    }
    (fallback, text.to_owned())
}

/// Builds the replayed response of `ex`.
fn replay(ex: &RecordedExchange) -> Result<crate::Response, TransportError> {
    let Some(status) = ex.status else {
        let text = ex
            .error
            .as_deref()
            .unwrap_or("the recorded request failed (no error text recorded)");
        let (kind, message) = recorded_error(text, ErrorKind::Other);
        return Err(TransportError::new(kind, message));
    };
    let (status, headers) = response_head(status, &ex.response_headers).map_err(|m| {
        TransportError::new(
            ErrorKind::Protocol,
            format!(
                "recorded response to {} {} is invalid: {m}",
                ex.method, ex.uri
            ),
        )
    })?;
    let chunks = ex.chunks.clone();
    let body = match ex.error.as_deref() {
        None => ResponseBody::from_chunks(chunks),
        Some(text) => {
            let error = if text == ABANDONED {
                (ErrorKind::ClosedMidBody, ABANDONED_MESSAGE.to_owned())
            } else {
                recorded_error(text, ErrorKind::ClosedMidBody)
            };
            ResponseBody::from_stream(ScriptedBody {
                chunks: chunks.into(),
                delay: None,
                sleeping: None,
                end_with: Some(error),
            })
        }
    };
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Ok(response)
}

/// A replay fixture could not be read: invalid JSON, an exchange that cannot be replayed
/// (invalid status, header, method or URI, undecodable body) or, from
/// [`ReplayTransport::load`], an I/O error.
///
/// ```
/// use gemini_transport::test_util::ReplayTransport;
///
/// let err = ReplayTransport::from_json(r#"[{"method": "GET", "uri": "https://h/", "status": 42}]"#)
///     .unwrap_err();
/// assert_eq!(err.exchange_index(), Some(0));
/// assert!(err.to_string().contains("invalid status code 42"), "{err}");
/// ```
#[derive(Debug)]
pub struct FixtureError {
    message: String,
    exchange: Option<usize>,
    path: Option<PathBuf>,
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl FixtureError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            exchange: None,
            path: None,
            source: None,
        }
    }

    fn with_path(mut self, path: &Path) -> Self {
        self.path = Some(path.to_owned());
        self
    }

    /// The position (0-based) in the fixture of the exchange at fault, if the error concerns
    /// one exchange.
    ///
    /// ```
    /// let err = gemini_transport::test_util::ReplayTransport::from_json("[1, 2]").unwrap_err();
    /// assert_eq!(err.exchange_index(), None); // not an exchange at all: a JSON error
    /// ```
    pub fn exchange_index(&self) -> Option<usize> {
        self.exchange
    }

    /// The fixture file, for errors from [`ReplayTransport::load`].
    ///
    /// ```
    /// let path = std::env::temp_dir().join("gemini-transport-no-such-fixture.json");
    /// let err = gemini_transport::test_util::ReplayTransport::load(&path).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// let fixture_err = err
    ///     .get_ref()
    ///     .and_then(|e| e.downcast_ref::<gemini_transport::test_util::FixtureError>())
    ///     .unwrap();
    /// assert_eq!(fixture_err.path(), Some(path.as_path()));
    /// ```
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

impl fmt::Display for FixtureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(path) = &self.path {
            write!(f, "{}: ", path.display())?;
        }
        if let Some(i) = self.exchange {
            write!(f, "exchange {i}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl StdError for FixtureError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

/// Replays recorded exchanges: the fixtures written by
/// [`RecordingTransport::to_json`](super::RecordingTransport::to_json) /
/// [`save`](super::RecordingTransport::save), or the
/// [`exchanges`](super::RecordingTransport::exchanges) of a recorder directly.
///
/// **Matching.** Each request is answered by the first recorded exchange, in recorded order,
/// that is not used yet and has the same method and the same URI once scrubbed with
/// [`scrub_uri`] (so the `key` query parameter of the request does not matter: a fixture
/// recorded with a real API key replays with any key). Headers and bodies of requests are not
/// compared. Each exchange answers once: identical requests consume identical recorded
/// exchanges one after the other. [`in_order`](Self::in_order) requires instead that
/// requests come exactly in recorded order. A request that matches nothing fails with
/// [`ErrorKind::InvalidRequest`], naming the method and scrubbed URI.
///
/// Recorded order is the order in which the recorded exchanges *completed* (their body
/// ended, failed or was dropped), which is the order they were sent in unless bodies were
/// read concurrently.
///
/// **Replay.** The response has the recorded status and headers (in recorded order,
/// duplicates included) and its body yields the recorded chunks with their exact
/// boundaries. Recorded errors come back as [`TransportError`]s whose kind is read from the
/// recorded text (the recorder stores an error's `Display`, `"<kind>: <message>"`), so they
/// display exactly as recorded:
/// * a failed `send` (`status: null`) fails `send` again (kind [`ErrorKind::Other`] if the
///   text names no kind);
/// * a body that ended with an error yields its chunks, then that error (kind
///   [`ErrorKind::ClosedMidBody`] if the text names no kind);
/// * a body that the recording's reader dropped before its end (`"abandoned"`) yields the
///   chunks that had arrived, then an [`ErrorKind::ClosedMidBody`] error. What followed was
///   never recorded, and ending cleanly instead would pass a truncated body off as complete;
///   a replaying reader that stops where the recording's reader stopped never sees the error.
///
/// Replayed responses are ready at once: no delays, and [`Timeouts`](crate::Timeouts) in
/// request extensions are ignored. Clones share their state.
///
/// ```
/// use std::sync::Arc;
/// use bytes::Bytes;
/// use gemini_transport::HttpTransport;
/// use gemini_transport::test_util::{
///     Match, RecordingTransport, ReplayTransport, Reply, ScriptedTransport,
/// };
///
/// # futures_lite::future::block_on(async {
/// let request = |key: &str| {
///     http::Request::post(format!(
///         "https://h/v1beta/models/m:streamGenerateContent?alt=sse&key={key}"
///     ))
///     .body(Bytes::from("{}"))
///     .unwrap()
/// };
///
/// // Record (here from a scripted server; in real life through `HyperTransport`).
/// let server = ScriptedTransport::new().on(
///     Match::any(),
///     Reply::ok()
///         .header("content-type", "text/event-stream")
///         .body("data: 1\r\n\r\ndata: 2\r\n\r\n")
///         .split_at([5, 11]),
/// );
/// let recorder = RecordingTransport::new(Arc::new(server));
/// let mut body = recorder.send(request("AIza-real")).await.unwrap().into_body();
/// while body.next_chunk().await.is_some() {}
/// let json = recorder.to_json();
/// assert!(!json.contains("AIza-real"));
///
/// // Replay, with another key.
/// let replay = ReplayTransport::from_json(&json).unwrap();
/// let response = replay.send(request("another-key")).await.unwrap();
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.headers()["content-type"], "text/event-stream");
/// let mut body = response.into_body();
/// let mut chunks = Vec::new();
/// while let Some(chunk) = body.next_chunk().await {
///     chunks.push(chunk.unwrap());
/// }
/// assert_eq!(chunks, ["data:", " 1\r\n\r\n", "data: 2\r\n\r\n"]);
///
/// // Every exchange was used; one more request matches nothing.
/// assert!(replay.remaining().is_empty());
/// let err = replay.send(request("another-key")).await.unwrap_err();
/// assert_eq!(err.kind(), gemini_transport::ErrorKind::InvalidRequest);
/// # });
/// ```
#[derive(Clone)]
pub struct ReplayTransport {
    state: Arc<Mutex<ReplayState>>,
}

struct ReplayState {
    entries: Vec<Entry>,
    in_order: bool,
    requests: Vec<RecordedRequest>,
}

struct Entry {
    exchange: RecordedExchange,
    /// The recorded URI, normalised the way a request's URI is (parsed, then scrubbed).
    uri: String,
    used: bool,
}

impl Entry {
    fn matches(&self, method: &str, uri: &str) -> bool {
        self.exchange.method == method && self.uri == uri
    }

    fn describe(&self) -> String {
        format!("{} {}", self.exchange.method, self.uri)
    }
}

impl fmt::Debug for ReplayTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.lock();
        f.debug_struct("ReplayTransport")
            .field("exchanges", &st.entries.len())
            .field("used", &st.entries.iter().filter(|e| e.used).count())
            .field("in_order", &st.in_order)
            .field("requests", &st.requests.len())
            .finish()
    }
}

impl ReplayTransport {
    /// Replays `exchanges`, typically the [`exchanges`](super::RecordingTransport::exchanges)
    /// of a recorder. An exchange that cannot be replayed (an invalid status or header,
    /// possible only if its fields were edited) fails the request it answers with
    /// [`ErrorKind::Protocol`].
    ///
    /// ```
    /// use std::sync::Arc;
    /// use gemini_transport::HttpTransport;
    /// use gemini_transport::test_util::{
    ///     Match, RecordingTransport, ReplayTransport, Reply, ScriptedTransport,
    /// };
    ///
    /// # futures_lite::future::block_on(async {
    /// let request = || http::Request::get("https://h/v1beta/models").body(bytes::Bytes::new()).unwrap();
    /// let recorder = RecordingTransport::new(Arc::new(
    ///     ScriptedTransport::new().on(Match::any(), Reply::status(404)),
    /// ));
    /// drop(recorder.send(request()).await.unwrap()); // the exchange completes when its body is dropped
    ///
    /// let replay = ReplayTransport::from_exchanges(recorder.exchanges());
    /// assert_eq!(replay.send(request()).await.unwrap().status(), 404);
    /// # });
    /// ```
    pub fn from_exchanges(exchanges: impl IntoIterator<Item = RecordedExchange>) -> Self {
        let entries = exchanges
            .into_iter()
            .map(|exchange| Entry {
                uri: exchange
                    .uri
                    .parse::<Uri>()
                    .map_or_else(|_| exchange.uri.clone(), |u| scrub_uri(&u)),
                exchange,
                used: false,
            })
            .collect();
        Self {
            state: Arc::new(Mutex::new(ReplayState {
                entries,
                in_order: false,
                requests: Vec::new(),
            })),
        }
    }

    /// Replays a fixture in the JSON format of
    /// [`RecordingTransport::to_json`](super::RecordingTransport::to_json): an array of
    /// exchanges with `method`, `uri`, `status` (`null` for a failed `send`),
    /// `response_headers` (`[name, value]` pairs), `chunks` (each `{"text": …}` or
    /// `{"base64": …}`) and `error`. `request_headers` and `request_body` are informative
    /// and, like the other fields but `method` and `uri`, may be left out of hand-written
    /// fixtures.
    ///
    /// Every exchange is checked up front: invalid JSON or an exchange that could not be
    /// replayed is a [`FixtureError`], never a panic.
    ///
    /// ```
    /// use gemini_transport::HttpTransport;
    /// use gemini_transport::test_util::ReplayTransport;
    ///
    /// # futures_lite::future::block_on(async {
    /// let replay = ReplayTransport::from_json(r#"[
    ///     {"method": "GET", "uri": "https://h/v1beta/models?key=REDACTED", "status": 200,
    ///      "response_headers": [["content-type", "application/json"]],
    ///      "chunks": [{"text": "{\"models\""}, {"base64": "OiBbXX0="}]}
    /// ]"#).unwrap();
    /// let request = http::Request::get("https://h/v1beta/models?key=mine")
    ///     .body(bytes::Bytes::new())
    ///     .unwrap();
    /// let body = replay.send(request).await.unwrap().into_body();
    /// assert_eq!(body.collect().await.unwrap(), r#"{"models": []}"#);
    ///
    /// assert!(ReplayTransport::from_json("{not json").is_err());
    /// # });
    /// ```
    pub fn from_json(json: &str) -> Result<Self, FixtureError> {
        let fixtures: Vec<FixtureIn> = serde_json::from_str(json).map_err(|e| FixtureError {
            source: Some(Box::new(e)),
            ..FixtureError::new("invalid replay fixture")
        })?;
        let exchanges = fixtures
            .into_iter()
            .enumerate()
            .map(|(i, f)| {
                f.into_exchange().map_err(|m| FixtureError {
                    exchange: Some(i),
                    ..FixtureError::new(m)
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::from_exchanges(exchanges))
    }

    /// Reads a fixture file written by
    /// [`RecordingTransport::save`](super::RecordingTransport::save) (see
    /// [`from_json`](Self::from_json)). A fixture that cannot be parsed is an error of kind
    /// [`InvalidData`](io::ErrorKind::InvalidData); every error wraps a [`FixtureError`]
    /// naming the file.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use gemini_transport::HttpTransport;
    /// use gemini_transport::test_util::{
    ///     Match, RecordingTransport, ReplayTransport, Reply, ScriptedTransport,
    /// };
    ///
    /// # futures_lite::future::block_on(async {
    /// let request = || http::Request::get("https://h/").body(bytes::Bytes::new()).unwrap();
    /// let recorder = RecordingTransport::new(Arc::new(
    ///     ScriptedTransport::new().on(Match::any(), Reply::ok().body("hello")),
    /// ));
    /// recorder.send(request()).await.unwrap().into_body().collect().await.unwrap();
    ///
    /// let path = std::env::temp_dir().join(format!("replay-doc-{}.json", std::process::id()));
    /// recorder.save(&path).unwrap();
    /// let replay = ReplayTransport::load(&path).unwrap();
    /// std::fs::remove_file(&path).unwrap();
    /// let body = replay.send(request()).await.unwrap().into_body();
    /// assert_eq!(body.collect().await.unwrap(), "hello");
    /// # });
    /// ```
    pub fn load(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref();
        let json = std::fs::read_to_string(path).map_err(|e| {
            let kind = e.kind();
            let err = FixtureError {
                source: Some(Box::new(e)),
                ..FixtureError::new("cannot read the replay fixture")
            };
            io::Error::new(kind, err.with_path(path))
        })?;
        Self::from_json(&json)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.with_path(path)))
    }

    /// Requires requests to come in recorded order: each request must match the first unused
    /// exchange, else it fails with [`ErrorKind::InvalidRequest`] (and that exchange stays
    /// unused).
    ///
    /// ```
    /// use gemini_transport::HttpTransport;
    /// use gemini_transport::test_util::ReplayTransport;
    ///
    /// # futures_lite::future::block_on(async {
    /// let replay = ReplayTransport::from_json(r#"[
    ///     {"method": "GET", "uri": "https://h/a", "status": 200},
    ///     {"method": "GET", "uri": "https://h/b", "status": 200}
    /// ]"#).unwrap().in_order();
    /// let get = |path: &str| http::Request::get(format!("https://h{path}")).body(bytes::Bytes::new()).unwrap();
    /// let err = replay.send(get("/b")).await.unwrap_err();
    /// assert!(err.to_string().contains("GET https://h/b"), "{err}");
    /// assert!(replay.send(get("/a")).await.is_ok());
    /// assert!(replay.send(get("/b")).await.is_ok());
    /// # });
    /// ```
    #[must_use]
    pub fn in_order(self) -> Self {
        self.lock().in_order = true;
        self
    }

    fn lock(&self) -> MutexGuard<'_, ReplayState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every request received so far, in order, matched or not (with its secrets: requests
    /// are kept as sent).
    ///
    /// ```
    /// use gemini_transport::HttpTransport;
    /// use gemini_transport::test_util::ReplayTransport;
    ///
    /// # futures_lite::future::block_on(async {
    /// let replay = ReplayTransport::from_json("[]").unwrap();
    /// let request = http::Request::post("https://h/x").body(bytes::Bytes::from("{}")).unwrap();
    /// assert!(replay.send(request).await.is_err());
    /// assert_eq!(replay.requests()[0].body, "{}");
    /// # });
    /// ```
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// The exchanges not replayed yet, in recorded order. Empty once every recorded exchange
    /// has answered a request: assert that at the end of a test.
    ///
    /// ```
    /// use gemini_transport::HttpTransport;
    /// use gemini_transport::test_util::ReplayTransport;
    ///
    /// # futures_lite::future::block_on(async {
    /// let replay = ReplayTransport::from_json(r#"[
    ///     {"method": "GET", "uri": "https://h/a", "status": 204},
    ///     {"method": "GET", "uri": "https://h/b", "status": 204}
    /// ]"#).unwrap();
    /// let request = http::Request::get("https://h/b").body(bytes::Bytes::new()).unwrap();
    /// replay.send(request).await.unwrap();
    /// let left = replay.remaining();
    /// assert_eq!(left.len(), 1);
    /// assert_eq!(left[0].uri, "https://h/a");
    /// # });
    /// ```
    pub fn remaining(&self) -> Vec<RecordedExchange> {
        self.lock()
            .entries
            .iter()
            .filter(|e| !e.used)
            .map(|e| e.exchange.clone())
            .collect()
    }
}

impl ReplayState {
    /// The index of the exchange answering `method uri`, or why there is none.
    fn find(&self, method: &str, uri: &str) -> Result<usize, String> {
        let mut unused = self.entries.iter().enumerate().filter(|(_, e)| !e.used);
        if self.in_order {
            return match unused.next() {
                Some((i, e)) if e.matches(method, uri) => Ok(i),
                Some((i, e)) => Err(format!(
                    "replaying in order: the next recorded exchange (#{i}) is {}, \
                     not {method} {uri}",
                    e.describe()
                )),
                None => Err(format!(
                    "all {} recorded exchanges are used: no replay for {method} {uri}",
                    self.entries.len()
                )),
            };
        }
        if let Some((i, _)) = unused.clone().find(|(_, e)| e.matches(method, uri)) {
            return Ok(i);
        }
        const SHOWN: usize = 5;
        let left: Vec<String> = unused.map(|(_, e)| e.describe()).collect();
        let mut message = format!("no unused recorded exchange matches {method} {uri}");
        if left.is_empty() {
            message.push_str(&format!(
                " (all {} recorded exchanges are used)",
                self.entries.len()
            ));
        } else {
            message.push_str(&format!(" ({} unused: ", left.len()));
            message.push_str(&left[..left.len().min(SHOWN)].join(", "));
            if left.len() > SHOWN {
                message.push_str(", …");
            }
            message.push(')');
        }
        Err(message)
    }
}

impl HttpTransport for ReplayTransport {
    fn send(&self, request: http::Request<Bytes>) -> ResponseFuture {
        let (parts, body) = request.into_parts();
        let uri = scrub_uri(&parts.uri);
        let mut st = self.lock();
        let result = match st.find(parts.method.as_str(), &uri) {
            Ok(i) => {
                let entry = &mut st.entries[i];
                entry.used = true;
                replay(&entry.exchange)
            }
            Err(message) => Err(TransportError::new(ErrorKind::InvalidRequest, message)),
        };
        st.requests.push(RecordedRequest {
            method: parts.method,
            uri: parts.uri,
            headers: parts.headers,
            body,
        });
        ResponseFuture::ready(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_read_back_from_its_display() {
        // Adding an `ErrorKind` breaks this match: add it to `KINDS` too.
        for kind in KINDS {
            match kind {
                ErrorKind::Connect
                | ErrorKind::Tls
                | ErrorKind::Proxy
                | ErrorKind::Timeout(
                    TimeoutKind::Connect
                    | TimeoutKind::ResponseHeaders
                    | TimeoutKind::Idle
                    | TimeoutKind::Total,
                )
                | ErrorKind::Protocol
                | ErrorKind::ConnectionClosed
                | ErrorKind::ClosedMidBody
                | ErrorKind::BodyTooLarge
                | ErrorKind::InvalidRequest
                | ErrorKind::Runtime
                | ErrorKind::Other => {}
            }
            let original = TransportError::new(kind, "a: b");
            let (read, message) = recorded_error(&original.to_string(), ErrorKind::Other);
            assert_eq!(read, kind);
            assert_eq!(
                TransportError::new(read, message).to_string(),
                original.to_string()
            );
        }
        let (kind, message) = recorded_error("stream cut", ErrorKind::ClosedMidBody);
        assert_eq!(kind, ErrorKind::ClosedMidBody);
        assert_eq!(message, "stream cut");
        assert_eq!(
            recorded_error("TLS error", ErrorKind::Other).0,
            ErrorKind::Tls
        );
        // "connect error" is no prefix of "connection closed …".
        let (kind, message) =
            recorded_error("connection closed before response: eof", ErrorKind::Other);
        assert_eq!(
            (kind, message.as_str()),
            (ErrorKind::ConnectionClosed, "eof")
        );
    }
}
