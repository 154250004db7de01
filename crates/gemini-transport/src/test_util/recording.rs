//! A transport that records exchanges as fixtures, with secrets scrubbed.

use std::fmt;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use http::{HeaderMap, HeaderValue, Uri};
use serde::{Deserialize, Serialize};

use crate::{HttpTransport, ResponseBody, ResponseFuture, TransportError};

/// Header names whose values are replaced by `REDACTED` in fixtures.
const SECRET_HEADERS: &[&str] = &[
    "x-goog-api-key",
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-goog-user-project",
];
/// Query parameters whose values are replaced by `REDACTED` in fixtures.
const SECRET_QUERY: &[&str] = &["key", "access_token"];
const REDACTED: &str = "REDACTED";
/// The `error` of an exchange whose body was dropped before its end.
pub(super) const ABANDONED: &str = "abandoned";

/// Replaces with `REDACTED` the values of secret headers: `x-goog-api-key`, `authorization`,
/// `proxy-authorization`, cookies, `x-goog-user-project`, and every value marked sensitive
/// (`HeaderValue::set_sensitive`; gemini-proto marks every credential-like header so, such as a
/// custom `x-…-token`).
///
/// ```
/// let mut h = http::HeaderMap::new();
/// h.insert("x-goog-api-key", "AIza-secret".parse().unwrap());
/// h.insert("content-type", "application/json".parse().unwrap());
/// let mut custom = http::HeaderValue::from_static("s3cret");
/// custom.set_sensitive(true);
/// h.insert("x-custom-token", custom);
/// gemini_transport::test_util::scrub_headers(&mut h);
/// assert_eq!(h["x-goog-api-key"], "REDACTED");
/// assert_eq!(h["x-custom-token"], "REDACTED");
/// assert_eq!(h["content-type"], "application/json");
/// ```
pub fn scrub_headers(headers: &mut HeaderMap) {
    for (name, value) in headers.iter_mut() {
        if value.is_sensitive() || SECRET_HEADERS.contains(&name.as_str()) {
            *value = HeaderValue::from_static(REDACTED);
        }
    }
}

/// Returns the URI as a string with secret query parameters (`key`, `access_token`) redacted.
///
/// ```
/// let uri: http::Uri = "https://h/v1/m:generateContent?key=AIza-secret&alt=sse".parse().unwrap();
/// assert_eq!(
///     gemini_transport::test_util::scrub_uri(&uri),
///     "https://h/v1/m:generateContent?key=REDACTED&alt=sse"
/// );
/// ```
pub fn scrub_uri(uri: &Uri) -> String {
    let s = uri.to_string();
    let Some((base, query)) = s.split_once('?') else {
        return s;
    };
    let (query, fragment) = match query.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (query, None),
    };
    let scrubbed: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if SECRET_QUERY.contains(&k) => format!("{k}={REDACTED}"),
            _ => pair.to_owned(),
        })
        .collect();
    let mut out = format!("{base}?{}", scrubbed.join("&"));
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// One recorded request/response exchange, secrets already scrubbed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordedExchange {
    /// Request method.
    pub method: String,
    /// Request URI, scrubbed.
    pub uri: String,
    /// Request headers, scrubbed, in order.
    pub request_headers: Vec<(String, String)>,
    /// Request body.
    pub request_body: Bytes,
    /// Response status, `None` if `send` failed.
    pub status: Option<u16>,
    /// Response headers, scrubbed, in order.
    pub response_headers: Vec<(String, String)>,
    /// Response body chunks exactly as they arrived.
    pub chunks: Vec<Bytes>,
    /// The error that ended the exchange, if any (`send` failure or body error, as the
    /// error's `Display` text), or `"abandoned"` if the body was dropped before its end.
    pub error: Option<String>,
}

/// A body in a fixture: exactly one of the two fields is set.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FixtureBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    base64: Option<String>,
}

impl FixtureBody {
    fn new(b: &[u8]) -> Self {
        match std::str::from_utf8(b) {
            Ok(s) => Self {
                text: Some(s.to_owned()),
                base64: None,
            },
            Err(_) => {
                use base64::Engine as _;
                Self {
                    text: None,
                    base64: Some(base64::engine::general_purpose::STANDARD.encode(b)),
                }
            }
        }
    }

    /// The bytes of a body read back from a fixture.
    pub(super) fn decode(self) -> Result<Bytes, String> {
        match (self.text, self.base64) {
            (Some(text), None) => Ok(Bytes::from(text)),
            (None, Some(b64)) => {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map(Bytes::from)
                    .map_err(|e| format!("invalid base64 body: {e}"))
            }
            (Some(_), Some(_)) => Err("a body has both \"text\" and \"base64\"".to_owned()),
            (None, None) => Err("a body has neither \"text\" nor \"base64\"".to_owned()),
        }
    }
}

#[derive(Serialize)]
struct FixtureExchange<'a> {
    method: &'a str,
    uri: &'a str,
    request_headers: &'a [(String, String)],
    request_body: FixtureBody,
    status: Option<u16>,
    response_headers: &'a [(String, String)],
    chunks: Vec<FixtureBody>,
    error: Option<&'a str>,
}

impl RecordedExchange {
    fn fixture(&self) -> FixtureExchange<'_> {
        FixtureExchange {
            method: &self.method,
            uri: &self.uri,
            request_headers: &self.request_headers,
            request_body: FixtureBody::new(&self.request_body),
            status: self.status,
            response_headers: &self.response_headers,
            chunks: self.chunks.iter().map(|c| FixtureBody::new(c)).collect(),
            error: self.error.as_deref(),
        }
    }
}

fn header_list(h: &HeaderMap) -> Vec<(String, String)> {
    let mut h = h.clone();
    scrub_headers(&mut h);
    h.iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// Wraps another transport and records every exchange (request, status, headers and the
/// body chunks as they arrived) with API keys, authorization headers and cookies scrubbed.
/// An exchange is complete when its body ends, fails or is dropped.
///
/// ```
/// use std::sync::Arc;
/// use gemini_transport::HttpTransport;
/// use gemini_transport::test_util::{Match, RecordingTransport, Reply, ScriptedTransport};
///
/// # futures_lite::future::block_on(async {
/// let inner = ScriptedTransport::new().on(Match::any(), Reply::ok().body("data: x\n\n").split_at([4]));
/// let recorder = RecordingTransport::new(Arc::new(inner));
/// let request = http::Request::post("https://h/v1beta/models/m:streamGenerateContent?alt=sse&key=AIza-secret")
///     .header("x-goog-api-key", "AIza-secret")
///     .body(bytes::Bytes::from("{}"))
///     .unwrap();
/// let body = recorder.send(request).await.unwrap().into_body().collect().await.unwrap();
/// assert_eq!(body, "data: x\n\n");
/// let json = recorder.to_json();
/// assert!(!json.contains("AIza-secret"));
/// assert_eq!(recorder.exchanges()[0].chunks.len(), 2);
/// # });
/// ```
#[derive(Clone)]
pub struct RecordingTransport {
    inner: Arc<dyn HttpTransport>,
    log: Arc<Mutex<Vec<RecordedExchange>>>,
}

impl fmt::Debug for RecordingTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordingTransport")
            .field("inner", &self.inner)
            .field("exchanges", &self.log.lock().map(|l| l.len()).unwrap_or(0))
            .finish()
    }
}

impl RecordingTransport {
    /// Records the exchanges of `inner`.
    pub fn new(inner: Arc<dyn HttpTransport>) -> Self {
        Self {
            inner,
            log: Arc::default(),
        }
    }

    /// The completed exchanges, in completion order.
    pub fn exchanges(&self) -> Vec<RecordedExchange> {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The completed exchanges as a pretty-printed JSON fixture. Bodies are stored as
    /// `{"text": …}` when valid UTF-8, else `{"base64": …}`.
    pub fn to_json(&self) -> String {
        let log = self.exchanges();
        let fixtures: Vec<_> = log.iter().map(RecordedExchange::fixture).collect();
        serde_json::to_string_pretty(&fixtures).expect("fixtures serialise")
    }

    /// Writes [`to_json`](Self::to_json) to `path`.
    pub fn save(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        std::fs::write(path, self.to_json())
    }
}

impl HttpTransport for RecordingTransport {
    fn send(&self, request: http::Request<Bytes>) -> ResponseFuture {
        let mut exchange = RecordedExchange {
            method: request.method().to_string(),
            uri: scrub_uri(request.uri()),
            request_headers: header_list(request.headers()),
            request_body: request.body().clone(),
            status: None,
            response_headers: Vec::new(),
            chunks: Vec::new(),
            error: None,
        };
        let fut = self.inner.send(request);
        let log = Arc::clone(&self.log);
        ResponseFuture::new(async move {
            match fut.await {
                Ok(response) => {
                    exchange.status = Some(response.status().as_u16());
                    exchange.response_headers = header_list(response.headers());
                    let (parts, body) = response.into_parts();
                    let tee = Tee {
                        body,
                        exchange: Some(exchange),
                        log,
                    };
                    Ok(http::Response::from_parts(
                        parts,
                        ResponseBody::from_stream(tee),
                    ))
                }
                Err(e) => {
                    exchange.error = Some(e.to_string());
                    log.lock().unwrap_or_else(|p| p.into_inner()).push(exchange);
                    Err(e)
                }
            }
        })
    }
}

struct Tee {
    body: ResponseBody,
    exchange: Option<RecordedExchange>,
    log: Arc<Mutex<Vec<RecordedExchange>>>,
}

impl Tee {
    fn complete(&mut self, error: Option<String>) {
        if let Some(mut ex) = self.exchange.take() {
            ex.error = error;
            self.log.lock().unwrap_or_else(|p| p.into_inner()).push(ex);
        }
    }
}

impl Stream for Tee {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let item = std::task::ready!(this.body.poll_chunk(cx));
        match &item {
            Some(Ok(chunk)) => {
                if let Some(ex) = &mut this.exchange {
                    ex.chunks.push(chunk.clone());
                }
            }
            Some(Err(e)) => this.complete(Some(e.to_string())),
            None => this.complete(None),
        }
        Poll::Ready(item)
    }
}

impl Drop for Tee {
    fn drop(&mut self) {
        self.complete(Some(ABANDONED.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use crate::test_util::{Match, Reply, ScriptedTransport};

    fn block_on<F: Future>(f: F) -> F::Output {
        futures_lite::future::block_on(f)
    }

    #[test]
    fn scrubs_secrets_everywhere() {
        let inner = ScriptedTransport::new().on(
            Match::any(),
            Reply::ok()
                .header("set-cookie", "session=abc")
                .body(vec![0xff, 0x00, b'a']),
        );
        let rec = RecordingTransport::new(Arc::new(inner));
        let req = http::Request::get("https://h/p?access_token=tok123&x=1&key=AIzaKEY")
            .header("Authorization", "Bearer tok123")
            .header("x-goog-api-key", "AIzaKEY")
            .header("proxy-authorization", "Basic cHJveHk=")
            .header("user-agent", "t")
            .body(Bytes::new())
            .unwrap();
        let body = block_on(async { block_on(rec.send(req)).unwrap().into_body().collect().await })
            .unwrap();
        assert_eq!(&body[..], &[0xff, 0x00, b'a']);
        let json = rec.to_json();
        for secret in ["tok123", "AIzaKEY", "cHJveHk=", "session=abc"] {
            assert!(!json.contains(secret), "{secret} leaked into {json}");
        }
        assert!(json.contains("\"user-agent\""));
        assert!(json.contains("\"base64\": \"/wBh\""));
        let ex = &rec.exchanges()[0];
        assert_eq!(ex.uri, "https://h/p?access_token=REDACTED&x=1&key=REDACTED");
        assert_eq!(ex.status, Some(200));
        assert!(ex.error.is_none());
    }

    #[test]
    fn scrubs_every_header_value_marked_sensitive() {
        // gemini-proto marks credential-like custom headers sensitive; fixtures must not keep them.
        let inner = ScriptedTransport::new().on(Match::any(), Reply::ok().body("x"));
        let rec = RecordingTransport::new(Arc::new(inner));
        let mut secret = HeaderValue::from_static("custom-secret-42");
        secret.set_sensitive(true);
        let mut req = http::Request::get("https://h/").body(Bytes::new()).unwrap();
        req.headers_mut().insert("x-custom-token", secret);
        req.headers_mut()
            .insert("x-request-id", HeaderValue::from_static("visible-7"));
        block_on(async { block_on(rec.send(req)).unwrap().into_body().collect().await }).unwrap();
        let json = rec.to_json();
        assert!(!json.contains("custom-secret-42"), "{json}");
        assert!(json.contains("visible-7"), "{json}");
        let mut headers = HeaderMap::new();
        let mut value = HeaderValue::from_static("s");
        value.set_sensitive(true);
        headers.insert("x-anything", value);
        scrub_headers(&mut headers);
        assert_eq!(headers["x-anything"], "REDACTED");
    }

    #[test]
    fn records_failures_and_abandoned_bodies() {
        let inner = ScriptedTransport::new()
            .once(Match::any(), Reply::error(ErrorKind::Connect, "refused"))
            .on(Match::any(), Reply::ok().body("abcdef").split_at([2]));
        let rec = RecordingTransport::new(Arc::new(inner));
        let req = || http::Request::get("https://h/").body(Bytes::new()).unwrap();
        assert!(block_on(rec.send(req())).is_err());
        let mut body = block_on(rec.send(req())).unwrap().into_body();
        assert_eq!(block_on(body.next_chunk()).unwrap().unwrap(), "ab");
        drop(body);
        let log = rec.exchanges();
        assert_eq!(log.len(), 2);
        assert!(log[0].error.as_deref().unwrap().contains("refused"));
        assert_eq!(log[1].chunks, vec![Bytes::from("ab")]);
        assert_eq!(log[1].error.as_deref(), Some("abandoned"));
        let path = std::env::temp_dir().join(format!(
            "gemini-transport-fixture-{}.json",
            std::process::id()
        ));
        rec.save(&path).unwrap();
        let saved = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(saved, rec.to_json());
    }
}
