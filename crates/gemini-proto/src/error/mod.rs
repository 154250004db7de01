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

mod api;
mod classify;
mod details;
mod duration;
mod status;

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;

use crate::interactions::Interaction;
use crate::types::{ContinuationToken, GenerateContentResponse};

pub use api::ApiError;
pub use classify::{classify_response, parse_error_body};
pub use details::{
    BadRequest, ErrorDetail, ErrorInfo, FieldViolation, Help, HelpLink, QuotaFailure,
    QuotaViolation, RetryInfo,
};
pub use duration::parse_proto_duration;
pub use status::RpcStatus;

/// The most bytes of a body kept in an error as an excerpt.
///
/// The excerpt is cut at a UTF-8 character boundary and decoded lossily (invalid bytes become
/// U+FFFD); the resulting text is never longer than this.
pub const MAX_EXCERPT_BYTES: usize = 512;

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
    /// No connection could be made (DNS, TCP, TLS handshake, proxy): the request was not sent.
    Connect,
    /// A timeout fired: connecting, waiting for the response head, waiting between two pieces of
    /// the body, or the whole call.
    Timeout,
    /// The connection failed after the request was sent: it closed before the response head, was
    /// reset in the middle of the body, or the peer broke the HTTP protocol.
    Connection,
    /// Another failure of the transport (an error of a custom transport, a missing runtime).
    Transport,
    /// The caller cancelled the call.
    Cancelled,
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
            ErrorKind::Connect => "connect error",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Connection => "connection error",
            ErrorKind::Transport => "transport error",
            ErrorKind::Cancelled => "cancelled",
        }
    }

    /// True for the failures of moving bytes rather than of what they said: [`Connect`],
    /// [`Timeout`], [`Connection`] and [`Transport`].
    ///
    /// [`Connect`]: ErrorKind::Connect
    /// [`Timeout`]: ErrorKind::Timeout
    /// [`Connection`]: ErrorKind::Connection
    /// [`Transport`]: ErrorKind::Transport
    pub fn is_transport(self) -> bool {
        matches!(
            self,
            ErrorKind::Connect | ErrorKind::Timeout | ErrorKind::Connection | ErrorKind::Transport
        )
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
#[derive(Clone)]
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Debug, Clone)]
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
    source: Option<Arc<dyn StdError + Send + Sync + 'static>>,
    /// Requests sent by the call that failed (0: not recorded).
    attempts: u32,
    /// What the call aggregated before it failed.
    partial: Option<Box<GenerateContentResponse>>,
    /// What an interaction's stream assembled before it failed.
    partial_interaction: Option<Box<Interaction>>,
    /// Where a continued answer can be resumed from by hand.
    continuation_token: Option<ContinuationToken>,
    /// Requests of a continued answer started with a new token, the first included (0: not
    /// recorded).
    hops: u32,
    /// Times the call reconnected after its stream broke.
    reconnects: u32,
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
                attempts: 0,
                partial: None,
                partial_interaction: None,
                continuation_token: None,
                hops: 0,
                reconnects: 0,
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
        e.inner.source = Some(Arc::new(err));
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

    /// The stream ended cleanly before its end was announced; `message` says what was missing.
    ///
    /// ```
    /// use gemini_proto::error::{Error, ErrorKind};
    ///
    /// let err = Error::incomplete_with("the stream ended without interaction.completed");
    /// assert_eq!(err.kind(), ErrorKind::Incomplete);
    /// assert_eq!(err.to_string(), "the stream ended without interaction.completed");
    /// ```
    pub fn incomplete_with(message: impl Into<String>) -> Self {
        let mut e = Error::new(ErrorKind::Incomplete);
        e.inner.message = Some(message.into());
        e
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
        e.inner.source = Some(Arc::new(source));
        e
    }

    /// A failure of the transport of kind `kind` (one of [`Connect`](ErrorKind::Connect),
    /// [`Timeout`](ErrorKind::Timeout), [`Connection`](ErrorKind::Connection) and
    /// [`Transport`](ErrorKind::Transport)), explained by `source`: the transport's own error,
    /// shown by [`Display`](fmt::Display) and kept as the [`source`](StdError::source).
    ///
    /// ```
    /// use gemini_proto::error::{Error, ErrorKind};
    ///
    /// let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection reset by peer");
    /// let err = Error::transport(ErrorKind::Connection, io);
    /// assert!(err.kind().is_transport());
    /// assert_eq!(err.to_string(), "the connection failed: connection reset by peer");
    /// ```
    pub fn transport(kind: ErrorKind, source: impl StdError + Send + Sync + 'static) -> Self {
        let kind = if kind.is_transport() {
            kind
        } else {
            ErrorKind::Transport
        };
        let mut e = Error::new(kind);
        e.inner.source = Some(Arc::new(source));
        e
    }

    /// The caller cancelled the call.
    ///
    /// ```
    /// use gemini_proto::error::Error;
    ///
    /// assert!(Error::cancelled().is_cancelled());
    /// ```
    pub fn cancelled() -> Self {
        Error::new(ErrorKind::Cancelled)
    }

    /// An error response whose body is larger than `limit` bytes; `prefix` is what was read.
    ///
    /// ```
    /// use gemini_proto::error::{Error, ErrorKind};
    /// use http::StatusCode;
    ///
    /// let err = Error::error_body_too_large(StatusCode::BAD_GATEWAY, Some("text/html"), 4, b"<htm");
    /// assert_eq!(err.kind(), ErrorKind::TooLarge);
    /// assert_eq!(err.http_status(), Some(StatusCode::BAD_GATEWAY));
    /// assert!(err.is_retryable());
    /// ```
    pub fn error_body_too_large(
        status: StatusCode,
        content_type: Option<&str>,
        limit: usize,
        prefix: &[u8],
    ) -> Self {
        let mut e = Error::too_large(limit).with_status(status);
        e.inner.content_type = content_type.map(bounded_string);
        e.set_excerpt(prefix);
        e
    }

    /// Records how many requests the failed call sent.
    pub fn with_attempts(mut self, attempts: u32) -> Self {
        self.inner.attempts = attempts;
        self
    }

    /// Records what the failed call had received, aggregated.
    pub fn with_partial_response(mut self, response: GenerateContentResponse) -> Self {
        self.inner.partial = Some(Box::new(response));
        self
    }

    /// Records what an interaction's stream had assembled when it failed.
    pub fn with_partial_interaction(mut self, interaction: Interaction) -> Self {
        self.inner.partial_interaction = Some(Box::new(interaction));
        self
    }

    /// Records the token a continued answer can be resumed from, and the hops and reconnects
    /// the call made.
    pub fn with_continuation(
        mut self,
        token: Option<ContinuationToken>,
        hops: u32,
        reconnects: u32,
    ) -> Self {
        self.inner.continuation_token = token;
        self.inner.hops = hops;
        self.inner.reconnects = reconnects;
        self
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
    /// error inside a stream, judged from its code and status), a failed connection or a timeout.
    ///
    /// This does not know whether response bytes were already handed to the user; the
    /// [`RetryPolicy`](crate::retry::RetryPolicy) takes that into account.
    pub fn is_retryable(&self) -> bool {
        match self.inner.kind {
            ErrorKind::Api => match (self.inner.status, &self.inner.api) {
                // An error object inside a successful response is judged by its own code.
                (Some(status), Some(api)) if status.is_success() => api.is_transient(),
                (Some(status), _) => is_retryable_status(status),
                (None, Some(api)) => api.is_transient(),
                (None, None) => false,
            },
            ErrorKind::UnexpectedBody | ErrorKind::TooLarge => {
                self.inner.status.is_some_and(is_retryable_status)
            }
            ErrorKind::Connect | ErrorKind::Timeout | ErrorKind::Connection => true,
            _ => false,
        }
    }

    /// Whether a timeout fired ([`ErrorKind::Timeout`]).
    pub fn is_timeout(&self) -> bool {
        self.inner.kind == ErrorKind::Timeout
    }

    /// Whether no connection could be made ([`ErrorKind::Connect`]).
    pub fn is_connect(&self) -> bool {
        self.inner.kind == ErrorKind::Connect
    }

    /// Whether the caller cancelled the call ([`ErrorKind::Cancelled`]).
    pub fn is_cancelled(&self) -> bool {
        self.inner.kind == ErrorKind::Cancelled
    }

    /// How many requests the failed call sent (retries included); 0 when not recorded.
    pub fn attempts(&self) -> u32 {
        self.inner.attempts
    }

    /// What a stream had delivered before it failed, aggregated into one response: the text,
    /// parts and usage that did arrive. `None` when nothing had arrived.
    pub fn partial_response(&self) -> Option<&GenerateContentResponse> {
        self.inner.partial.as_deref()
    }

    /// The token to resume the answer from by hand, when the call gave up after progress: send
    /// the same request again with it
    /// ([`GenerateContentRequest::with_continuation_token`](crate::types::GenerateContentRequest::with_continuation_token)),
    /// and append what comes to [`partial_response`](Self::partial_response), which then holds
    /// exactly the answer up to that token.
    pub fn continuation_token(&self) -> Option<&ContinuationToken> {
        self.inner.continuation_token.as_ref()
    }

    /// How many requests with a new continuation token the call made, the first included (a
    /// long answer continued over several requests); 0 when not recorded.
    pub fn hops(&self) -> u32 {
        self.inner.hops
    }

    /// How many times the call reconnected after its stream broke.
    pub fn reconnects(&self) -> u32 {
        self.inner.reconnects
    }

    /// What an interaction's stream had assembled before it failed: the steps, text and usage
    /// that did arrive. `None` when nothing had arrived (or for other calls).
    pub fn partial_interaction(&self) -> Option<&Interaction> {
        self.inner.partial_interaction.as_deref()
    }

    /// Takes the partial interaction out of this error.
    pub fn take_partial_interaction(&mut self) -> Option<Interaction> {
        self.inner.partial_interaction.take().map(|b| *b)
    }

    /// Takes the partial response out of this error.
    pub fn take_partial_response(&mut self) -> Option<GenerateContentResponse> {
        self.inner.partial.take().map(|b| *b)
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
        if i.attempts > 0 {
            d.field("attempts", &i.attempts);
        }
        if i.hops > 0 {
            d.field("hops", &i.hops);
            d.field("reconnects", &i.reconnects);
        }
        if let Some(t) = &i.continuation_token {
            d.field("continuation_token", t);
        }
        if let Some(p) = &i.partial {
            d.field("partial_text_len", &p.text().map_or(0, |t| t.len()));
        }
        if let Some(p) = &i.partial_interaction {
            d.field("partial_interaction_steps", &p.steps.len());
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
            ErrorKind::Incomplete => match &i.message {
                Some(m) => f.write_str(m)?,
                None => f.write_str(
                    "the stream ended without a finish reason or a prompt block; the answer may be cut short",
                )?,
            },
            ErrorKind::TooLarge => match (i.status, i.limit) {
                (Some(status), Some(limit)) => {
                    write!(f, "HTTP {status} with an error body larger than {limit} bytes")?;
                }
                (Some(status), None) => write!(f, "HTTP {status} with a body that is too large")?,
                (None, limit) => {
                    f.write_str("a stream event is too large")?;
                    if let Some(limit) = limit {
                        write!(f, " (limit {limit} bytes)")?;
                    }
                }
            },
            ErrorKind::Connect
            | ErrorKind::Timeout
            | ErrorKind::Connection
            | ErrorKind::Transport => {
                f.write_str(match i.kind {
                    ErrorKind::Connect => "could not connect",
                    ErrorKind::Timeout => "timed out",
                    ErrorKind::Connection => "the connection failed",
                    _ => "the transport failed",
                })?;
                match (&i.message, &i.source) {
                    (Some(m), _) => write!(f, ": {m}")?,
                    (None, Some(source)) => write_chain(f, &**source)?,
                    (None, None) => {}
                }
            }
            ErrorKind::Cancelled => f.write_str("the call was cancelled")?,
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
        let mut notes: Vec<String> = Vec::new();
        if let Some(delay) = self.retry_delay() {
            notes.push(format!("retry after {delay:?}"));
        }
        if i.attempts > 1 {
            notes.push(if notes.is_empty() {
                format!("after {} attempts", i.attempts)
            } else {
                format!("gave up after {} attempts", i.attempts)
            });
        }
        if i.hops > 1 || i.reconnects > 0 {
            let plural = |n: u32| if n == 1 { "" } else { "s" };
            notes.push(format!(
                "{} hop{}, {} reconnect{}",
                i.hops,
                plural(i.hops),
                i.reconnects,
                plural(i.reconnects)
            ));
        }
        if i.continuation_token.is_some() {
            notes.push("resumable from its continuation token".to_owned());
        }
        if !notes.is_empty() {
            write!(f, " ({})", notes.join("; "))?;
        }
        Ok(())
    }
}

/// Writes `: cause` for an error and each of its sources, skipping a cause whose text the
/// previous one already shows (many errors repeat their source in their own message).
fn write_chain(f: &mut fmt::Formatter<'_>, error: &(dyn StdError + 'static)) -> fmt::Result {
    let mut shown = error.to_string();
    write!(f, ": {shown}")?;
    let mut next = error.source();
    let mut depth = 0;
    while let Some(cause) = next {
        let text = cause.to_string();
        if !text.is_empty() && !shown.contains(&text) {
            write!(f, ": {text}")?;
            shown = text;
        }
        next = cause.source();
        depth += 1;
        if depth == 8 {
            break;
        }
    }
    Ok(())
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
}
