//! Errors of the sans-IO layer and classification of HTTP responses.
//!
//! Everything that can go wrong while turning bytes into values is one opaque [`Error`]: ask it what
//! happened with [`Error::kind`] and the predicates ([`Error::is_retryable`], [`Error::api_error`],
//! [`Error::http_status`], [`Error::retry_delay`], …).
//!
//! An error reported by the Gemini API itself (a `google.rpc.Status` inside `{"error": {…}}`) is an
//! [`ApiError`]: its code, [`RpcStatus`], message and typed [`ErrorDetail`]s such as
//! [`RetryInfo`] (with the delay already parsed), [`QuotaFailure`], [`ErrorInfo`], [`Help`] and
//! [`BadRequest`]. Detail kinds this crate does not model are kept as JSON.
//!
//! [`classify_response`] turns a complete response (status, headers, body) into the typed value or
//! an [`Error`]; [`parse_error_body`] does the failing half on its own, for streaming responses whose
//! status is not a success.
//!
//! ```
//! use gemini_proto::error::{classify_response, ErrorKind, RpcStatus};
//! use http::{HeaderMap, StatusCode};
//! use std::time::Duration;
//!
//! let body = br#"{"error": {"code": 429, "message": "Quota exceeded.", "status": "RESOURCE_EXHAUSTED",
//!   "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "34.4s"}]}}"#;
//! let err = classify_response::<serde_json::Value>(StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), body)
//!     .unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::Api);
//! assert!(err.is_retryable());
//! let api = err.api_error().unwrap();
//! assert_eq!(api.status(), &RpcStatus::ResourceExhausted);
//! assert_eq!(err.retry_delay(), Some(Duration::from_millis(34_400)));
//! ```

use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use http::header::CONTENT_TYPE;
use http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

/// The most bytes of a body kept in an error as an excerpt.
///
/// The excerpt is cut at a UTF-8 character boundary and decoded lossily (invalid bytes become
/// U+FFFD); the resulting text is never longer than this.
pub const MAX_EXCERPT_BYTES: usize = 512;

/// The largest number of seconds a `google.protobuf.Duration` may hold (10 000 years).
const MAX_PROTO_DURATION_SECS: u64 = 315_576_000_000;

// ---------------------------------------------------------------------------------------------
// Error
// ---------------------------------------------------------------------------------------------

/// What kind of failure an [`Error`] is.
///
/// New kinds may be added in minor releases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The Gemini API reported an error: an HTTP error response with a `{"error": {…}}` body, or
    /// such an object inside a successful stream. [`Error::api_error`] returns it.
    Api,
    /// A response with an error status whose body is not a Gemini error object: an HTML page from a
    /// proxy, plain text, an empty body, … The error carries the status and an excerpt of the body.
    UnexpectedBody,
    /// A body or stream event that is not valid JSON or does not have the expected shape.
    Decode,
    /// The body ended in the middle of an event or array element.
    Truncated,
    /// The stream ended cleanly, but no candidate carried a finish reason and no prompt was blocked:
    /// the answer is probably cut short.
    Incomplete,
    /// An event is larger than the configured limit.
    TooLarge,
    /// The caller asked for something that cannot be sent (for example a header value that is not
    /// valid). Retrying cannot help.
    InvalidRequest,
}

impl ErrorKind {
    /// A short description of the kind, in lower case.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Api => "API error",
            ErrorKind::UnexpectedBody => "unexpected error body",
            ErrorKind::Decode => "malformed response",
            ErrorKind::Truncated => "truncated response",
            ErrorKind::Incomplete => "incomplete stream",
            ErrorKind::TooLarge => "event too large",
            ErrorKind::InvalidRequest => "invalid request",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error type of `gemini-proto`.
///
/// It is opaque: use [`kind`](Error::kind) and the accessors. Values are built by this crate's
/// decoders and by [`classify_response`] / [`parse_error_body`]; the constructors are public so that
/// other layers (and tests) can build the same errors.
///
/// ```
/// use gemini_proto::error::{Error, ErrorKind};
///
/// let err = Error::decode("expected an object", br#"[1, 2"#).with_event_index(3).with_byte_offset(120);
/// assert_eq!(err.kind(), ErrorKind::Decode);
/// assert_eq!(err.event_index(), Some(3));
/// assert_eq!(err.excerpt(), Some("[1, 2"));
/// assert!(!err.is_retryable());
/// ```
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    message: Option<String>,
    status: Option<StatusCode>,
    content_type: Option<String>,
    api: Option<ApiError>,
    retry_after: Option<Duration>,
    event_index: Option<u64>,
    byte_offset: Option<u64>,
    excerpt: Option<String>,
    body_len: Option<usize>,
    limit: Option<usize>,
    line_column: Option<(usize, usize)>,
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl Error {
    fn new(kind: ErrorKind) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                message: None,
                status: None,
                content_type: None,
                api: None,
                retry_after: None,
                event_index: None,
                byte_offset: None,
                excerpt: None,
                body_len: None,
                limit: None,
                line_column: None,
                source: None,
            }),
        }
    }

    /// An error reported by the API inside a stream (no HTTP status of its own).
    ///
    /// Add the HTTP status with [`with_status`](Error::with_status) when the error came as a
    /// response.
    ///
    /// ```
    /// use gemini_proto::error::{ApiError, Error, RpcStatus};
    ///
    /// let err = Error::api(ApiError::new(503, RpcStatus::Unavailable, "The model is overloaded."));
    /// assert!(err.is_retryable());
    /// assert_eq!(err.http_status(), None);
    /// ```
    pub fn api(error: ApiError) -> Self {
        let mut e = Error::new(ErrorKind::Api);
        e.inner.api = Some(error);
        e
    }

    /// A response with an error status whose body is not a Gemini error object.
    ///
    /// Keeps at most [`MAX_EXCERPT_BYTES`] of `body`.
    ///
    /// ```
    /// use gemini_proto::error::{Error, ErrorKind};
    /// use http::StatusCode;
    ///
    /// let err = Error::unexpected_body(StatusCode::BAD_GATEWAY, Some("text/html"), b"<html>Bad gateway</html>");
    /// assert_eq!(err.kind(), ErrorKind::UnexpectedBody);
    /// assert!(err.is_retryable());
    /// assert_eq!(err.excerpt(), Some("<html>Bad gateway</html>"));
    /// ```
    pub fn unexpected_body(status: StatusCode, content_type: Option<&str>, body: &[u8]) -> Self {
        let mut e = Error::new(ErrorKind::UnexpectedBody);
        e.inner.status = Some(status);
        e.inner.content_type = content_type.map(bounded_string);
        e.set_excerpt(body);
        e
    }

    /// A body or event (`data`) that is not valid JSON or not of the expected shape; `message` says
    /// what was wrong.
    ///
    /// ```
    /// use gemini_proto::error::{Error, ErrorKind};
    ///
    /// let err = Error::decode("not a JSON object", b"hello");
    /// assert_eq!(err.kind(), ErrorKind::Decode);
    /// assert_eq!(err.body_len(), Some(5));
    /// ```
    pub fn decode(message: impl Into<String>, data: &[u8]) -> Self {
        let mut e = Error::new(ErrorKind::Decode);
        e.inner.message = Some(message.into());
        e.set_excerpt(data);
        e
    }

    /// A decode error caused by `serde_json`; keeps it as the [`source`](StdError::source) and its
    /// line and column.
    pub(crate) fn decode_json(err: serde_json::Error, data: &[u8]) -> Self {
        let mut e = Error::new(ErrorKind::Decode);
        e.inner.line_column = Some((err.line(), err.column()));
        e.inner.message = Some(
            match err.classify() {
                serde_json::error::Category::Io => "I/O error while reading JSON",
                serde_json::error::Category::Syntax => "the data is not valid JSON",
                serde_json::error::Category::Data => "the JSON does not have the expected shape",
                serde_json::error::Category::Eof => "the JSON ends too early",
            }
            .to_owned(),
        );
        e.inner.source = Some(Box::new(err));
        e.set_excerpt(data);
        e
    }

    /// The body ended inside an event or array element; `pending` is the unfinished data.
    ///
    /// ```
    /// use gemini_proto::error::{Error, ErrorKind};
    ///
    /// let err = Error::truncated(br#"data: {"candidates": ["#).with_event_index(7);
    /// assert_eq!(err.kind(), ErrorKind::Truncated);
    /// assert_eq!(err.event_index(), Some(7));
    /// ```
    pub fn truncated(pending: &[u8]) -> Self {
        let mut e = Error::new(ErrorKind::Truncated);
        e.set_excerpt(pending);
        e
    }

    /// The stream ended cleanly, but no candidate carried a finish reason and no prompt block was
    /// reported.
    ///
    /// ```
    /// use gemini_proto::error::{Error, ErrorKind};
    ///
    /// assert_eq!(Error::incomplete().kind(), ErrorKind::Incomplete);
    /// ```
    pub fn incomplete() -> Self {
        Error::new(ErrorKind::Incomplete)
    }

    /// An event is larger than `limit` bytes.
    ///
    /// ```
    /// use gemini_proto::error::{Error, ErrorKind};
    ///
    /// let err = Error::too_large(1 << 20).with_event_index(2);
    /// assert_eq!(err.kind(), ErrorKind::TooLarge);
    /// assert_eq!(err.limit(), Some(1 << 20));
    /// ```
    pub fn too_large(limit: usize) -> Self {
        let mut e = Error::new(ErrorKind::TooLarge);
        e.inner.limit = Some(limit);
        e
    }

    /// The caller asked for something that cannot be sent.
    ///
    /// ```
    /// use gemini_proto::error::{Error, ErrorKind};
    ///
    /// let err = Error::invalid_request("the API key contains a line break");
    /// assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    /// assert_eq!(err.to_string(), "invalid request: the API key contains a line break");
    /// ```
    pub fn invalid_request(message: impl Into<String>) -> Self {
        let mut e = Error::new(ErrorKind::InvalidRequest);
        e.inner.message = Some(message.into());
        e
    }

    /// Like [`invalid_request`](Error::invalid_request), keeping the underlying error as the
    /// [`source`](StdError::source).
    ///
    /// ```
    /// use gemini_proto::error::Error;
    /// use std::error::Error as _;
    ///
    /// let cause = http::HeaderValue::from_str("bad\nvalue").unwrap_err();
    /// let err = Error::invalid_request_with_source("the API key is not a valid header value", cause);
    /// assert!(err.source().is_some());
    /// ```
    pub fn invalid_request_with_source(
        message: impl Into<String>,
        source: impl StdError + Send + Sync + 'static,
    ) -> Self {
        let mut e = Error::invalid_request(message);
        e.inner.source = Some(Box::new(source));
        e
    }

    /// Records the HTTP status of the response this error belongs to.
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.inner.status = Some(status);
        self
    }

    /// Records the index (from 0) of the stream event or array element where the error happened.
    pub fn with_event_index(mut self, index: u64) -> Self {
        self.inner.event_index = Some(index);
        self
    }

    /// Records the byte offset in the body where the failing event or element starts.
    pub fn with_byte_offset(mut self, offset: u64) -> Self {
        self.inner.byte_offset = Some(offset);
        self
    }

    /// Records a delay the server asked for in a `Retry-After` header.
    pub fn with_retry_after(mut self, delay: Duration) -> Self {
        self.inner.retry_after = Some(delay);
        self
    }

    fn set_excerpt(&mut self, data: &[u8]) {
        self.inner.body_len = Some(data.len());
        self.inner.excerpt = Some(excerpt(data));
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// Whether the failure is of a transient kind, so that sending the same request again may
    /// succeed: an API error or unexpected body with status 408, 429, 500, 502, 503 or 504 (for an
    /// error inside a stream, judged from its code and status).
    ///
    /// This does not know whether response bytes were already handed to the user; the
    /// [`RetryPolicy`](crate::retry::RetryPolicy) takes that into account.
    pub fn is_retryable(&self) -> bool {
        match self.inner.kind {
            ErrorKind::Api => match (self.inner.status, &self.inner.api) {
                (Some(status), _) => is_retryable_status(status),
                (None, Some(api)) => api.is_transient(),
                (None, None) => false,
            },
            ErrorKind::UnexpectedBody => self.inner.status.is_some_and(is_retryable_status),
            _ => false,
        }
    }

    /// Whether this is an error reported by the API ([`ErrorKind::Api`]).
    pub fn is_api(&self) -> bool {
        self.inner.kind == ErrorKind::Api
    }

    /// The error reported by the API, if this is one.
    pub fn api_error(&self) -> Option<&ApiError> {
        self.inner.api.as_ref()
    }

    /// Takes the error reported by the API out of this error.
    pub fn into_api_error(self) -> Option<ApiError> {
        self.inner.api
    }

    /// The HTTP status of the response, when the error came with one.
    pub fn http_status(&self) -> Option<StatusCode> {
        self.inner.status
    }

    /// The delay the server asked for before a retry: the `RetryInfo` detail of the API error if
    /// present, otherwise the `Retry-After` header (delta-seconds form only).
    pub fn retry_delay(&self) -> Option<Duration> {
        self.inner
            .api
            .as_ref()
            .and_then(ApiError::retry_delay)
            .or(self.inner.retry_after)
    }

    /// The `Retry-After` header value of the response, when it was given in seconds.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// The `Content-Type` of the response body, when known.
    pub fn content_type(&self) -> Option<&str> {
        self.inner.content_type.as_deref()
    }

    /// The beginning of the offending body or event (at most [`MAX_EXCERPT_BYTES`], decoded
    /// lossily).
    pub fn excerpt(&self) -> Option<&str> {
        self.inner.excerpt.as_deref()
    }

    /// The full length in bytes of the body or event the excerpt was taken from.
    pub fn body_len(&self) -> Option<usize> {
        self.inner.body_len
    }

    /// The index (from 0) of the stream event or array element where the error happened.
    pub fn event_index(&self) -> Option<u64> {
        self.inner.event_index
    }

    /// The byte offset in the body where the failing event or element starts.
    pub fn byte_offset(&self) -> Option<u64> {
        self.inner.byte_offset
    }

    /// The line (from 1) inside the event or body where JSON decoding failed.
    pub fn line(&self) -> Option<usize> {
        self.inner.line_column.map(|(l, _)| l)
    }

    /// The column (from 1) inside the event or body where JSON decoding failed.
    pub fn column(&self) -> Option<usize> {
        self.inner.line_column.map(|(_, c)| c)
    }

    /// The size limit that was exceeded ([`ErrorKind::TooLarge`]).
    pub fn limit(&self) -> Option<usize> {
        self.inner.limit
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        let mut d = f.debug_struct("Error");
        d.field("kind", &i.kind);
        if let Some(m) = &i.message {
            d.field("message", m);
        }
        if let Some(s) = &i.status {
            d.field("status", s);
        }
        if let Some(a) = &i.api {
            d.field("api", a);
        }
        if let Some(r) = &i.retry_after {
            d.field("retry_after", r);
        }
        if let Some(v) = &i.event_index {
            d.field("event_index", v);
        }
        if let Some(v) = &i.byte_offset {
            d.field("byte_offset", v);
        }
        if let Some(v) = &i.limit {
            d.field("limit", v);
        }
        if let Some(v) = &i.excerpt {
            d.field("excerpt", v);
        }
        if let Some(v) = &i.source {
            d.field("source", v);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        match i.kind {
            ErrorKind::Api => {
                match &i.api {
                    Some(api) => write!(f, "the API returned an error: {api}")?,
                    None => f.write_str("the API returned an error")?,
                }
                if let Some(status) = i.status {
                    if i.api.as_ref().is_none_or(|a| a.code() != i32::from(status.as_u16())) {
                        write!(f, " (HTTP {status})")?;
                    }
                } else {
                    f.write_str(" (inside the stream)")?;
                }
            }
            ErrorKind::UnexpectedBody => {
                match i.status {
                    Some(status) => write!(f, "HTTP {status}")?,
                    None => f.write_str("error response")?,
                }
                match i.body_len {
                    None | Some(0) => f.write_str(" with an empty body")?,
                    Some(len) => {
                        f.write_str(" with a body that is not a Gemini error (")?;
                        if let Some(ct) = &i.content_type {
                            write!(f, "{ct}, ")?;
                        }
                        write!(f, "{len} bytes)")?;
                    }
                }
            }
            ErrorKind::Decode => {
                f.write_str("malformed response")?;
                if let Some(m) = &i.message {
                    write!(f, ": {m}")?;
                }
                if let Some((line, column)) = i.line_column {
                    write!(f, " at line {line} column {column}")?;
                }
            }
            ErrorKind::Truncated => {
                f.write_str("the response body ended inside an event")?;
            }
            ErrorKind::Incomplete => f.write_str(
                "the stream ended without a finish reason or a prompt block; the answer may be cut short",
            )?,
            ErrorKind::TooLarge => {
                f.write_str("a stream event is too large")?;
                if let Some(limit) = i.limit {
                    write!(f, " (limit {limit} bytes)")?;
                }
            }
            ErrorKind::InvalidRequest => {
                f.write_str("invalid request")?;
                if let Some(m) = &i.message {
                    write!(f, ": {m}")?;
                }
            }
        }
        match (i.event_index, i.byte_offset) {
            (Some(e), Some(o)) => write!(f, " (event {e}, byte offset {o})")?,
            (Some(e), None) => write!(f, " (event {e})")?,
            (None, Some(o)) => write!(f, " (byte offset {o})")?,
            (None, None) => {}
        }
        if matches!(i.kind, ErrorKind::UnexpectedBody | ErrorKind::Decode)
            && let Some(ex) = i.excerpt.as_deref().filter(|e| !e.is_empty())
        {
            let cut = i.body_len.is_some_and(|len| len > ex.len());
            write!(f, ": {ex:?}{}", if cut { "…" } else { "" })?;
        }
        Ok(())
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match &self.inner.source {
            Some(s) => Some(&**s as &(dyn StdError + 'static)),
            None => None,
        }
    }
}

/// Whether an HTTP status is worth retrying: 408, 429, 500, 502, 503 and 504.
///
/// ```
/// use gemini_proto::error::is_retryable_status;
/// use http::StatusCode;
///
/// assert!(is_retryable_status(StatusCode::SERVICE_UNAVAILABLE));
/// assert!(!is_retryable_status(StatusCode::NOT_FOUND));
/// ```
pub fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

/// The first [`MAX_EXCERPT_BYTES`] of `data`, cut at a character boundary, decoded lossily.
fn excerpt(data: &[u8]) -> String {
    let mut cut = data.len().min(MAX_EXCERPT_BYTES);
    if cut < data.len() {
        // Step back over continuation bytes so that a character is not split in two.
        let mut back = 0;
        while cut > 0 && back < 3 && (data[cut] & 0xC0) == 0x80 {
            cut -= 1;
            back += 1;
        }
    }
    let mut text = String::from_utf8_lossy(&data[..cut]).into_owned();
    if text.len() > MAX_EXCERPT_BYTES {
        // Replacement characters take three bytes: keep the bound on the text as well.
        let mut end = MAX_EXCERPT_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

fn bounded_string(s: &str) -> String {
    excerpt(s.as_bytes())
}

// ---------------------------------------------------------------------------------------------
// Classification
// ---------------------------------------------------------------------------------------------

/// Classifies a complete response: the decoded body on a success status, an [`Error`] otherwise.
///
/// * A success (2xx) status whose body is a Gemini error object (`{"error": {…}}`) is an
///   [`ErrorKind::Api`] error; a body that does not decode as `T` is [`ErrorKind::Decode`] (with the
///   `serde_json` error as source, its line and column, and an excerpt).
/// * Any other status is handed to [`parse_error_body`].
///
/// ```
/// use gemini_proto::error::{classify_response, ErrorKind};
/// use http::{HeaderMap, StatusCode};
///
/// let ok: serde_json::Value = classify_response(StatusCode::OK, &HeaderMap::new(), br#"{"a": 1}"#).unwrap();
/// assert_eq!(ok["a"], 1);
///
/// let err = classify_response::<serde_json::Value>(StatusCode::BAD_GATEWAY, &HeaderMap::new(), b"<html></html>")
///     .unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::UnexpectedBody);
/// ```
pub fn classify_response<T: DeserializeOwned>(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, Error> {
    if !status.is_success() {
        return Err(parse_error_body(status, headers, body));
    }
    // Models never deny unknown fields, so `{"error": …}` would decode as an empty value: look for
    // an error object first (cheaply: only when the word appears at all).
    if let Some(api) = ApiError::from_slice(body) {
        return Err(Error::api(api).with_status(status));
    }
    serde_json::from_slice(strip_bom(body))
        .map_err(|e| Error::decode_json(e, body).with_status(status))
}

/// Turns the body of a response with an error status into an [`Error`].
///
/// The body is parsed as JSON whatever the `Content-Type` says (a failing `alt=sse` request is
/// labelled `text/event-stream` but carries plain JSON). A `{"error": {…}}` object, or a
/// one-element array around one, gives [`ErrorKind::Api`]; anything else (HTML from a proxy, plain
/// text, an empty body, JSON of another shape, JSON nested too deeply) gives
/// [`ErrorKind::UnexpectedBody`] with the status and a bounded excerpt. A `Retry-After` header in
/// delta-seconds form is kept (see [`Error::retry_delay`]); the HTTP-date form needs a clock and is
/// ignored here (use [`retry_after_at`](crate::retry::retry_after_at) with your own `now`).
///
/// ```
/// use gemini_proto::error::{parse_error_body, ErrorKind, RpcStatus};
/// use http::{header::CONTENT_TYPE, HeaderMap, HeaderValue, StatusCode};
///
/// let mut headers = HeaderMap::new();
/// headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
/// let body = br#"{"error": {"code": 404, "message": "models/nope is not found", "status": "NOT_FOUND"}}"#;
/// let err = parse_error_body(StatusCode::NOT_FOUND, &headers, body);
/// assert_eq!(err.kind(), ErrorKind::Api);
/// assert_eq!(err.api_error().unwrap().status(), &RpcStatus::NotFound);
/// assert!(!err.is_retryable());
/// ```
pub fn parse_error_body(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
    let retry_after = crate::retry::retry_after(headers);
    let mut err =
        match parse_value(body).and_then(|v| ApiError::from_envelope(&v, Some(status.as_u16()))) {
            Some(api) => Error::api(api).with_status(status),
            None => {
                let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
                Error::unexpected_body(status, content_type, body)
            }
        };
    err.inner.retry_after = retry_after;
    err
}

fn strip_bom(body: &[u8]) -> &[u8] {
    body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body)
}

/// Parses `body` as a JSON value (serde_json bounds the nesting depth to 128).
fn parse_value(body: &[u8]) -> Option<Value> {
    serde_json::from_slice(strip_bom(body)).ok()
}

// ---------------------------------------------------------------------------------------------
// ApiError
// ---------------------------------------------------------------------------------------------

/// An error reported by the Gemini API: the `google.rpc.Status` inside `{"error": {…}}`.
///
/// Parsing is lenient: a `code` that is missing or not a number in range is replaced by the HTTP
/// status (when known) or inferred from the status string; a missing `status` string is inferred
/// from the code (`google.rpc.Code`'s HTTP mapping, else `UNKNOWN`); a detail whose fields have the
/// wrong types is kept as [`ErrorDetail::Other`].
///
/// It serializes back to the `google.rpc.Status` object (`{"code", "message", "status",
/// "details"}`); [`to_envelope_json`](ApiError::to_envelope_json) wraps it in `{"error": …}`.
///
/// ```
/// use gemini_proto::error::{ApiError, ErrorDetail, ErrorInfo, RpcStatus};
///
/// let api = ApiError::new(400, RpcStatus::InvalidArgument, "API key not valid. Please pass a valid API key.")
///     .with_detail(ErrorDetail::ErrorInfo(ErrorInfo::new("API_KEY_INVALID", "googleapis.com")));
/// assert_eq!(api.reason(), Some("API_KEY_INVALID"));
///
/// let json = api.to_envelope_json();
/// assert_eq!(ApiError::from_slice(json.as_bytes()), Some(api));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    code: i32,
    status: RpcStatus,
    message: String,
    details: Vec<ErrorDetail>,
}

impl ApiError {
    /// An error with the given code (Gemini uses the HTTP status code), status and message, and no
    /// details.
    pub fn new(code: i32, status: RpcStatus, message: impl Into<String>) -> Self {
        ApiError {
            code,
            status,
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// Adds a detail.
    pub fn with_detail(mut self, detail: ErrorDetail) -> Self {
        self.details.push(detail);
        self
    }

    /// The error code; for the Gemini API this is the HTTP status code (429, 503, …).
    pub fn code(&self) -> i32 {
        self.code
    }

    /// The status string (`RESOURCE_EXHAUSTED`, …) as an enum.
    pub fn status(&self) -> &RpcStatus {
        &self.status
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The details, in the order the server sent them.
    pub fn details(&self) -> &[ErrorDetail] {
        &self.details
    }

    /// The delay of the first `RetryInfo` detail that has one.
    pub fn retry_delay(&self) -> Option<Duration> {
        self.details.iter().find_map(|d| match d {
            ErrorDetail::RetryInfo(r) => r.retry_delay,
            _ => None,
        })
    }

    /// The first `ErrorInfo` detail.
    pub fn error_info(&self) -> Option<&ErrorInfo> {
        self.details.iter().find_map(|d| match d {
            ErrorDetail::ErrorInfo(i) => Some(i),
            _ => None,
        })
    }

    /// The `reason` of the first `ErrorInfo` detail (for example `API_KEY_INVALID`).
    pub fn reason(&self) -> Option<&str> {
        self.error_info().map(|i| i.reason.as_str())
    }

    /// The first `QuotaFailure` detail.
    pub fn quota_failure(&self) -> Option<&QuotaFailure> {
        self.details.iter().find_map(|d| match d {
            ErrorDetail::QuotaFailure(q) => Some(q),
            _ => None,
        })
    }

    /// The first `Help` detail.
    pub fn help(&self) -> Option<&Help> {
        self.details.iter().find_map(|d| match d {
            ErrorDetail::Help(h) => Some(h),
            _ => None,
        })
    }

    /// The first `BadRequest` detail.
    pub fn bad_request(&self) -> Option<&BadRequest> {
        self.details.iter().find_map(|d| match d {
            ErrorDetail::BadRequest(b) => Some(b),
            _ => None,
        })
    }

    /// Whether the error is of a transient kind (code 408, 429, 500, 502, 503, 504, or status
    /// `RESOURCE_EXHAUSTED`, `UNAVAILABLE`, `INTERNAL`, `DEADLINE_EXCEEDED`).
    pub fn is_transient(&self) -> bool {
        matches!(self.code, 408 | 429 | 500 | 502 | 503 | 504)
            || matches!(
                self.status,
                RpcStatus::ResourceExhausted
                    | RpcStatus::Unavailable
                    | RpcStatus::Internal
                    | RpcStatus::DeadlineExceeded
            )
    }

    /// Detects an API error in raw JSON bytes: `{"error": {…}}` or a one-element array around it.
    ///
    /// Returns `None` for anything else, including invalid JSON, without allocating when the bytes
    /// do not contain `"error"` at all — so a stream decoder can call it on every event. (An
    /// `error` key spelled with `\u` escapes is not recognised.)
    ///
    /// ```
    /// use gemini_proto::error::{ApiError, RpcStatus};
    ///
    /// let api = ApiError::from_slice(br#"[{"error": {"code": 500, "message": "oops", "status": "INTERNAL"}}]"#).unwrap();
    /// assert_eq!(api.code(), 500);
    /// assert_eq!(api.status(), &RpcStatus::Internal);
    /// assert!(ApiError::from_slice(br#"{"candidates": []}"#).is_none());
    /// ```
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        memchr::memmem::find(bytes, b"\"error\"")?;
        ApiError::from_json_value(&parse_value(bytes)?)
    }

    /// Detects an API error in a parsed JSON value: `{"error": {…}}` or a one-element array around
    /// it. The error value may also be a bare string (`{"error": "…"}`), which becomes the message.
    ///
    /// ```
    /// use gemini_proto::error::ApiError;
    /// use serde_json::json;
    ///
    /// let v = json!({"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}});
    /// assert_eq!(ApiError::from_json_value(&v).unwrap().message(), "The model is overloaded.");
    /// ```
    pub fn from_json_value(value: &Value) -> Option<Self> {
        ApiError::from_envelope(value, None)
    }

    fn from_envelope(value: &Value, http_status: Option<u16>) -> Option<Self> {
        let value = match value {
            Value::Array(items) if items.len() == 1 => &items[0],
            other => other,
        };
        let inner = value.as_object()?.get("error")?;
        match inner {
            Value::Object(obj) => Some(ApiError::from_status_object(obj, http_status)),
            Value::String(message) => {
                let code = http_status.map_or(0, i32::from);
                Some(ApiError::new(
                    code,
                    RpcStatus::from_http_code(code),
                    message.clone(),
                ))
            }
            _ => None,
        }
    }

    fn from_status_object(obj: &Map<String, Value>, http_status: Option<u16>) -> Self {
        let status = obj
            .get("status")
            .and_then(Value::as_str)
            .map(RpcStatus::from);
        let code = obj
            .get("code")
            .and_then(json_i32)
            .or_else(|| http_status.map(i32::from))
            .or_else(|| status.as_ref().and_then(RpcStatus::http_code))
            .unwrap_or(0);
        let status = status.unwrap_or_else(|| RpcStatus::from_http_code(code));
        let message = match obj.get("message") {
            Some(Value::String(s)) => s.clone(),
            _ => String::new(),
        };
        let details = match obj.get("details") {
            Some(Value::Array(items)) => items.iter().map(ErrorDetail::from_json_value).collect(),
            _ => Vec::new(),
        };
        ApiError {
            code,
            status,
            message,
            details,
        }
    }

    /// The `{"error": {…}}` JSON object for this error, as the API would send it.
    pub fn to_envelope_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("error".to_owned(), self.to_status_value());
        Value::Object(map)
    }

    /// The `{"error": {…}}` JSON text for this error, as the API would send it.
    ///
    /// ```
    /// use gemini_proto::error::{ApiError, RpcStatus};
    ///
    /// let api = ApiError::new(503, RpcStatus::Unavailable, "Try later.");
    /// assert_eq!(
    ///     api.to_envelope_json(),
    ///     r#"{"error":{"code":503,"message":"Try later.","status":"UNAVAILABLE"}}"#
    /// );
    /// ```
    pub fn to_envelope_json(&self) -> String {
        self.to_envelope_value().to_string()
    }

    fn to_status_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("code".to_owned(), Value::from(self.code));
        map.insert("message".to_owned(), Value::from(self.message.as_str()));
        map.insert("status".to_owned(), Value::from(self.status.as_str()));
        if !self.details.is_empty() {
            map.insert(
                "details".to_owned(),
                Value::Array(
                    self.details
                        .iter()
                        .map(ErrorDetail::to_json_value)
                        .collect(),
                ),
            );
        }
        Value::Object(map)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.status)?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(reason) = self.reason() {
            write!(f, " [{reason}]")?;
        }
        Ok(())
    }
}

impl StdError for ApiError {}

/// Serializes as a `google.rpc.Status` object (without the `{"error": …}` envelope).
impl Serialize for ApiError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("code", &self.code)?;
        map.serialize_entry("message", &self.message)?;
        map.serialize_entry("status", self.status.as_str())?;
        if !self.details.is_empty() {
            map.serialize_entry("details", &self.details)?;
        }
        map.end()
    }
}

/// A JSON number (or a string of digits) that fits in an `i32`.
fn json_i32(v: &Value) -> Option<i32> {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i32::try_from(i).ok()
            } else if let Some(f) = n.as_f64() {
                let in_range =
                    f.fract() == 0.0 && f >= f64::from(i32::MIN) && f <= f64::from(i32::MAX);
                // The range check makes the cast exact.
                #[allow(clippy::cast_possible_truncation)]
                in_range.then_some(f as i32)
            } else {
                None
            }
        }
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// RpcStatus
// ---------------------------------------------------------------------------------------------

/// The `status` string of an API error (a `google.rpc.Code` name), as an open enum.
///
/// ```
/// use gemini_proto::error::RpcStatus;
///
/// assert_eq!(RpcStatus::from("RESOURCE_EXHAUSTED"), RpcStatus::ResourceExhausted);
/// assert_eq!(RpcStatus::from("SOMETHING_NEW").as_str(), "SOMETHING_NEW");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RpcStatus {
    /// `OK`.
    Ok,
    /// `CANCELLED`: the client cancelled the request.
    Cancelled,
    /// `UNKNOWN`.
    Unknown,
    /// `INVALID_ARGUMENT`: the request is not valid (HTTP 400).
    InvalidArgument,
    /// `DEADLINE_EXCEEDED`: the server ran out of time (HTTP 504).
    DeadlineExceeded,
    /// `NOT_FOUND`: for example an unknown model (HTTP 404).
    NotFound,
    /// `ALREADY_EXISTS` (HTTP 409).
    AlreadyExists,
    /// `PERMISSION_DENIED` (HTTP 403).
    PermissionDenied,
    /// `RESOURCE_EXHAUSTED`: quota or rate limit (HTTP 429).
    ResourceExhausted,
    /// `FAILED_PRECONDITION`: for example an unsupported user location (HTTP 400).
    FailedPrecondition,
    /// `ABORTED` (HTTP 409).
    Aborted,
    /// `OUT_OF_RANGE` (HTTP 400).
    OutOfRange,
    /// `UNIMPLEMENTED` (HTTP 501).
    Unimplemented,
    /// `INTERNAL`: a server error (HTTP 500).
    Internal,
    /// `UNAVAILABLE`: overloaded or down (HTTP 503).
    Unavailable,
    /// `DATA_LOSS` (HTTP 500).
    DataLoss,
    /// `UNAUTHENTICATED` (HTTP 401).
    Unauthenticated,
    /// Any other status string, kept as sent.
    Other(String),
}

impl RpcStatus {
    /// The status string as sent on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            RpcStatus::Ok => "OK",
            RpcStatus::Cancelled => "CANCELLED",
            RpcStatus::Unknown => "UNKNOWN",
            RpcStatus::InvalidArgument => "INVALID_ARGUMENT",
            RpcStatus::DeadlineExceeded => "DEADLINE_EXCEEDED",
            RpcStatus::NotFound => "NOT_FOUND",
            RpcStatus::AlreadyExists => "ALREADY_EXISTS",
            RpcStatus::PermissionDenied => "PERMISSION_DENIED",
            RpcStatus::ResourceExhausted => "RESOURCE_EXHAUSTED",
            RpcStatus::FailedPrecondition => "FAILED_PRECONDITION",
            RpcStatus::Aborted => "ABORTED",
            RpcStatus::OutOfRange => "OUT_OF_RANGE",
            RpcStatus::Unimplemented => "UNIMPLEMENTED",
            RpcStatus::Internal => "INTERNAL",
            RpcStatus::Unavailable => "UNAVAILABLE",
            RpcStatus::DataLoss => "DATA_LOSS",
            RpcStatus::Unauthenticated => "UNAUTHENTICATED",
            RpcStatus::Other(s) => s,
        }
    }

    /// The status `google.rpc.Code` maps an HTTP status code to (`UNKNOWN` when there is none).
    pub fn from_http_code(code: i32) -> Self {
        match code {
            200 => RpcStatus::Ok,
            400 => RpcStatus::InvalidArgument,
            401 => RpcStatus::Unauthenticated,
            403 => RpcStatus::PermissionDenied,
            404 => RpcStatus::NotFound,
            409 => RpcStatus::Aborted,
            429 => RpcStatus::ResourceExhausted,
            499 => RpcStatus::Cancelled,
            500 => RpcStatus::Internal,
            501 => RpcStatus::Unimplemented,
            503 => RpcStatus::Unavailable,
            504 => RpcStatus::DeadlineExceeded,
            _ => RpcStatus::Unknown,
        }
    }

    /// The HTTP status code `google.rpc.Code` documents for this status, if any.
    pub fn http_code(&self) -> Option<i32> {
        Some(match self {
            RpcStatus::Ok => 200,
            RpcStatus::Cancelled => 499,
            RpcStatus::Unknown | RpcStatus::Internal | RpcStatus::DataLoss => 500,
            RpcStatus::InvalidArgument | RpcStatus::FailedPrecondition | RpcStatus::OutOfRange => {
                400
            }
            RpcStatus::DeadlineExceeded => 504,
            RpcStatus::NotFound => 404,
            RpcStatus::AlreadyExists | RpcStatus::Aborted => 409,
            RpcStatus::PermissionDenied => 403,
            RpcStatus::ResourceExhausted => 429,
            RpcStatus::Unimplemented => 501,
            RpcStatus::Unavailable => 503,
            RpcStatus::Unauthenticated => 401,
            RpcStatus::Other(_) => return None,
        })
    }
}

impl From<&str> for RpcStatus {
    fn from(s: &str) -> Self {
        match s {
            "OK" => RpcStatus::Ok,
            "CANCELLED" => RpcStatus::Cancelled,
            "UNKNOWN" => RpcStatus::Unknown,
            "INVALID_ARGUMENT" => RpcStatus::InvalidArgument,
            "DEADLINE_EXCEEDED" => RpcStatus::DeadlineExceeded,
            "NOT_FOUND" => RpcStatus::NotFound,
            "ALREADY_EXISTS" => RpcStatus::AlreadyExists,
            "PERMISSION_DENIED" => RpcStatus::PermissionDenied,
            "RESOURCE_EXHAUSTED" => RpcStatus::ResourceExhausted,
            "FAILED_PRECONDITION" => RpcStatus::FailedPrecondition,
            "ABORTED" => RpcStatus::Aborted,
            "OUT_OF_RANGE" => RpcStatus::OutOfRange,
            "UNIMPLEMENTED" => RpcStatus::Unimplemented,
            "INTERNAL" => RpcStatus::Internal,
            "UNAVAILABLE" => RpcStatus::Unavailable,
            "DATA_LOSS" => RpcStatus::DataLoss,
            "UNAUTHENTICATED" => RpcStatus::Unauthenticated,
            other => RpcStatus::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for RpcStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RpcStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

// ---------------------------------------------------------------------------------------------
// Details
// ---------------------------------------------------------------------------------------------

/// One entry of an API error's `details`, keyed by its `@type`.
///
/// Serializes back to the JSON form with its `@type`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ErrorDetail {
    /// `google.rpc.RetryInfo`: when to retry.
    RetryInfo(RetryInfo),
    /// `google.rpc.QuotaFailure`: which quota was exceeded.
    QuotaFailure(QuotaFailure),
    /// `google.rpc.ErrorInfo`: a machine-readable reason such as `API_KEY_INVALID`.
    ErrorInfo(ErrorInfo),
    /// `google.rpc.Help`: links to documentation.
    Help(Help),
    /// `google.rpc.BadRequest`: which request fields are wrong.
    BadRequest(BadRequest),
    /// Any other detail (for example `google.rpc.DebugInfo` or `google.rpc.LocalizedMessage`), or a
    /// known one whose fields have unexpected types, kept as sent.
    Other(Value),
}

impl ErrorDetail {
    /// The `@type` URL of this detail (`None` for an [`Other`](ErrorDetail::Other) without one).
    pub fn type_url(&self) -> Option<&str> {
        Some(match self {
            ErrorDetail::RetryInfo(_) => "type.googleapis.com/google.rpc.RetryInfo",
            ErrorDetail::QuotaFailure(_) => "type.googleapis.com/google.rpc.QuotaFailure",
            ErrorDetail::ErrorInfo(_) => "type.googleapis.com/google.rpc.ErrorInfo",
            ErrorDetail::Help(_) => "type.googleapis.com/google.rpc.Help",
            ErrorDetail::BadRequest(_) => "type.googleapis.com/google.rpc.BadRequest",
            ErrorDetail::Other(v) => return v.get("@type").and_then(Value::as_str),
        })
    }

    /// Reads one detail from its JSON form; unknown or ill-typed details become
    /// [`Other`](ErrorDetail::Other).
    pub fn from_json_value(value: &Value) -> Self {
        ErrorDetail::parse_known(value).unwrap_or_else(|| ErrorDetail::Other(value.clone()))
    }

    fn parse_known(value: &Value) -> Option<Self> {
        let type_url = value.get("@type")?.as_str()?;
        let name = type_url.rsplit('/').next().unwrap_or(type_url);
        Some(match name {
            "google.rpc.RetryInfo" => {
                let retry_delay = match value.get("retryDelay") {
                    None | Some(Value::Null) => None,
                    Some(v) => Some(parse_json_duration(v)?),
                };
                ErrorDetail::RetryInfo(RetryInfo { retry_delay })
            }
            "google.rpc.QuotaFailure" => {
                let wire = WireQuotaFailure::deserialize(value).ok()?;
                let violations = wire
                    .violations
                    .into_iter()
                    .map(QuotaViolation::from)
                    .collect();
                ErrorDetail::QuotaFailure(QuotaFailure { violations })
            }
            "google.rpc.ErrorInfo" => {
                let wire = WireErrorInfo::deserialize(value).ok()?;
                ErrorDetail::ErrorInfo(ErrorInfo {
                    reason: wire.reason,
                    domain: wire.domain,
                    metadata: wire.metadata,
                })
            }
            "google.rpc.Help" => {
                let wire = WireHelp::deserialize(value).ok()?;
                ErrorDetail::Help(Help { links: wire.links })
            }
            "google.rpc.BadRequest" => {
                let wire = WireBadRequest::deserialize(value).ok()?;
                ErrorDetail::BadRequest(BadRequest {
                    field_violations: wire.field_violations,
                })
            }
            _ => return None,
        })
    }

    /// The JSON form of this detail, with its `@type`.
    pub fn to_json_value(&self) -> Value {
        let mut map = Map::new();
        if let Some(url) = self.type_url() {
            map.insert("@type".to_owned(), Value::from(url));
        }
        match self {
            ErrorDetail::RetryInfo(r) => {
                if let Some(d) = r.retry_delay {
                    map.insert(
                        "retryDelay".to_owned(),
                        Value::from(format_proto_duration(d)),
                    );
                }
            }
            ErrorDetail::QuotaFailure(q) => {
                let v: Vec<Value> = q
                    .violations
                    .iter()
                    .map(QuotaViolation::to_json_value)
                    .collect();
                map.insert("violations".to_owned(), Value::Array(v));
            }
            ErrorDetail::ErrorInfo(i) => {
                map.insert("reason".to_owned(), Value::from(i.reason.as_str()));
                map.insert("domain".to_owned(), Value::from(i.domain.as_str()));
                if !i.metadata.is_empty() {
                    map.insert("metadata".to_owned(), string_map(&i.metadata));
                }
            }
            ErrorDetail::Help(h) => {
                let links = h
                    .links
                    .iter()
                    .map(|l| {
                        let mut m = Map::new();
                        m.insert(
                            "description".to_owned(),
                            Value::from(l.description.as_str()),
                        );
                        m.insert("url".to_owned(), Value::from(l.url.as_str()));
                        Value::Object(m)
                    })
                    .collect();
                map.insert("links".to_owned(), Value::Array(links));
            }
            ErrorDetail::BadRequest(b) => {
                let v = b
                    .field_violations
                    .iter()
                    .map(|fv| {
                        let mut m = Map::new();
                        m.insert("field".to_owned(), Value::from(fv.field.as_str()));
                        m.insert(
                            "description".to_owned(),
                            Value::from(fv.description.as_str()),
                        );
                        Value::Object(m)
                    })
                    .collect();
                map.insert("fieldViolations".to_owned(), Value::Array(v));
            }
            ErrorDetail::Other(v) => return v.clone(),
        }
        Value::Object(map)
    }
}

impl Serialize for ErrorDetail {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json_value().serialize(serializer)
    }
}

fn string_map(m: &BTreeMap<String, String>) -> Value {
    Value::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect(),
    )
}

/// `google.rpc.RetryInfo`: how long to wait before retrying.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryInfo {
    /// The `retryDelay`, parsed (`None` when missing, negative or not a valid duration).
    pub retry_delay: Option<Duration>,
}

impl RetryInfo {
    /// A `RetryInfo` asking to wait `delay`.
    pub fn new(delay: Duration) -> Self {
        RetryInfo {
            retry_delay: Some(delay),
        }
    }
}

/// `google.rpc.QuotaFailure`: the quotas that were exceeded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QuotaFailure {
    /// The exceeded quotas.
    pub violations: Vec<QuotaViolation>,
}

impl QuotaFailure {
    /// A `QuotaFailure` with these violations.
    pub fn new(violations: Vec<QuotaViolation>) -> Self {
        QuotaFailure { violations }
    }
}

/// One exceeded quota. Besides the standard `subject` and `description`, the Gemini API fills in
/// `quotaMetric`, `quotaId`, `quotaDimensions` and `quotaValue`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QuotaViolation {
    /// `subject`.
    pub subject: String,
    /// `description`.
    pub description: String,
    /// `quotaMetric`, e.g. `generativelanguage.googleapis.com/generate_content_free_tier_requests`.
    pub quota_metric: String,
    /// `quotaId`, e.g. `GenerateRequestsPerMinutePerProjectPerModel-FreeTier`.
    pub quota_id: String,
    /// `quotaDimensions`, e.g. `{"model": "gemini-2.5-flash", "location": "global"}`.
    pub quota_dimensions: BTreeMap<String, String>,
    /// `quotaValue` (an int64, sent as a string), when present and valid.
    pub quota_value: Option<i64>,
}

impl QuotaViolation {
    /// A violation of the quota `quota_id`.
    pub fn new(quota_id: impl Into<String>) -> Self {
        QuotaViolation {
            quota_id: quota_id.into(),
            ..QuotaViolation::default()
        }
    }

    fn to_json_value(&self) -> Value {
        let mut m = Map::new();
        for (key, value) in [
            ("subject", &self.subject),
            ("description", &self.description),
            ("quotaMetric", &self.quota_metric),
            ("quotaId", &self.quota_id),
        ] {
            if !value.is_empty() {
                m.insert(key.to_owned(), Value::from(value.as_str()));
            }
        }
        if !self.quota_dimensions.is_empty() {
            m.insert(
                "quotaDimensions".to_owned(),
                string_map(&self.quota_dimensions),
            );
        }
        if let Some(v) = self.quota_value {
            m.insert("quotaValue".to_owned(), Value::from(v.to_string()));
        }
        Value::Object(m)
    }
}

/// `google.rpc.ErrorInfo`: the machine-readable cause of an error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ErrorInfo {
    /// The reason, e.g. `API_KEY_INVALID`, `CONSUMER_SUSPENDED`.
    pub reason: String,
    /// The domain, e.g. `googleapis.com`.
    pub domain: String,
    /// Extra key/value pairs, e.g. `{"service": "generativelanguage.googleapis.com"}`.
    pub metadata: BTreeMap<String, String>,
}

impl ErrorInfo {
    /// An `ErrorInfo` with this reason and domain and no metadata.
    pub fn new(reason: impl Into<String>, domain: impl Into<String>) -> Self {
        ErrorInfo {
            reason: reason.into(),
            domain: domain.into(),
            metadata: BTreeMap::new(),
        }
    }
}

/// `google.rpc.Help`: links to documentation about the error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Help {
    /// The links.
    pub links: Vec<HelpLink>,
}

impl Help {
    /// A `Help` with these links.
    pub fn new(links: Vec<HelpLink>) -> Self {
        Help { links }
    }
}

/// One link of a [`Help`] detail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct HelpLink {
    /// What the link is about.
    pub description: String,
    /// The URL.
    pub url: String,
}

impl HelpLink {
    /// A link.
    pub fn new(description: impl Into<String>, url: impl Into<String>) -> Self {
        HelpLink {
            description: description.into(),
            url: url.into(),
        }
    }
}

/// `google.rpc.BadRequest`: the request fields that are wrong.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BadRequest {
    /// The wrong fields.
    pub field_violations: Vec<FieldViolation>,
}

impl BadRequest {
    /// A `BadRequest` with these violations.
    pub fn new(field_violations: Vec<FieldViolation>) -> Self {
        BadRequest { field_violations }
    }
}

/// One wrong field of a [`BadRequest`] detail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct FieldViolation {
    /// The path of the field, e.g. `contents[0].parts[1]`.
    pub field: String,
    /// What is wrong with it.
    pub description: String,
}

impl FieldViolation {
    /// A field violation.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        FieldViolation {
            field: field.into(),
            description: description.into(),
        }
    }
}

#[derive(Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[derive(Default)]
struct WireQuotaFailure {
    violations: Vec<WireQuotaViolation>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct WireQuotaViolation {
    subject: String,
    description: String,
    quota_metric: String,
    quota_id: String,
    quota_dimensions: BTreeMap<String, String>,
    quota_value: Option<Value>,
}

impl From<WireQuotaViolation> for QuotaViolation {
    fn from(w: WireQuotaViolation) -> Self {
        QuotaViolation {
            subject: w.subject,
            description: w.description,
            quota_metric: w.quota_metric,
            quota_id: w.quota_id,
            quota_dimensions: w.quota_dimensions,
            quota_value: w.quota_value.as_ref().and_then(|v| match v {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.parse().ok(),
                _ => None,
            }),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct WireErrorInfo {
    reason: String,
    domain: String,
    metadata: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct WireHelp {
    links: Vec<HelpLink>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct WireBadRequest {
    field_violations: Vec<FieldViolation>,
}

// ---------------------------------------------------------------------------------------------
// google.protobuf.Duration
// ---------------------------------------------------------------------------------------------

/// Parses a `google.protobuf.Duration` in its JSON string form: decimal seconds with up to nine
/// fractional digits and an `s` suffix (`"34.4s"`, `"26s"`, `"0.5s"`). Negative, malformed or
/// out-of-range (more than 315 576 000 000 s) values give `None`.
///
/// ```
/// use gemini_proto::error::parse_proto_duration;
/// use std::time::Duration;
///
/// assert_eq!(parse_proto_duration("34.4s"), Some(Duration::from_millis(34_400)));
/// assert_eq!(parse_proto_duration("26s"), Some(Duration::from_secs(26)));
/// assert_eq!(parse_proto_duration("-1s"), None);
/// ```
pub fn parse_proto_duration(s: &str) -> Option<Duration> {
    let digits = s.trim().strip_suffix('s')?;
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, f),
        None => (digits, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if frac.len() > 9 {
        return None;
    }
    let secs: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    if secs > MAX_PROTO_DURATION_SECS {
        return None;
    }
    let mut nanos: u32 = 0;
    for b in frac.bytes().chain(std::iter::repeat(b'0')).take(9) {
        nanos = nanos * 10 + u32::from(b - b'0');
    }
    Some(Duration::new(secs, nanos))
}

/// A JSON duration: the string form, or an object `{"seconds": …, "nanos": …}`.
fn parse_json_duration(v: &Value) -> Option<Duration> {
    match v {
        Value::String(s) => parse_proto_duration(s),
        Value::Object(obj) => {
            let secs = match obj.get("seconds") {
                None => 0,
                Some(Value::Number(n)) => n.as_u64()?,
                Some(Value::String(s)) => s.parse().ok()?,
                Some(_) => return None,
            };
            let nanos = match obj.get("nanos") {
                None => 0,
                Some(n) => n.as_u64().and_then(|n| u32::try_from(n).ok())?,
            };
            if secs > MAX_PROTO_DURATION_SECS || nanos >= 1_000_000_000 {
                return None;
            }
            Some(Duration::new(secs, nanos))
        }
        _ => None,
    }
}

/// Formats a duration as a `google.protobuf.Duration` JSON string the way Google's servers write it:
/// the shortest exact decimal (`"34.4s"`, `"26s"`, `"0.000000005s"`).
fn format_proto_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let nanos = d.subsec_nanos();
    if nanos == 0 {
        return format!("{secs}s");
    }
    let fraction = format!("{nanos:09}");
    format!("{secs}.{}s", fraction.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_cuts_at_char_boundary() {
        // 511 ASCII bytes then a 3-byte character straddling the 512 limit.
        let mut data = vec![b'a'; 511];
        data.extend_from_slice("€".as_bytes());
        data.extend_from_slice(b"tail");
        let ex = excerpt(&data);
        assert_eq!(ex.len(), 511);
        assert!(ex.bytes().all(|b| b == b'a'));
    }

    #[test]
    fn duration_formatting() {
        assert_eq!(
            format_proto_duration(Duration::from_millis(34_400)),
            "34.4s"
        );
        assert_eq!(format_proto_duration(Duration::from_secs(26)), "26s");
        assert_eq!(format_proto_duration(Duration::new(1, 1_000)), "1.000001s");
        assert_eq!(format_proto_duration(Duration::new(0, 5)), "0.000000005s");
    }
}
