//! The transport error type.

use std::error::Error as StdError;
use std::fmt;

use bytes::Bytes;

/// Which of the four transport timeouts fired.
///
/// See [`Timeouts`](crate::Timeouts) for what each one measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// Establishing the connection (TCP, proxy tunnel and TLS handshake) took too long.
    Connect,
    /// The response status and headers did not arrive in time.
    ResponseHeaders,
    /// The caller waited too long for body data (the server was silent).
    Idle,
    /// The whole exchange, body included, took too long.
    Total,
}

impl fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutKind::Connect => "connect",
            TimeoutKind::ResponseHeaders => "response headers",
            TimeoutKind::Idle => "idle between body frames",
            TimeoutKind::Total => "total",
        })
    }
}

/// What went wrong, coarsely. Match on it with a wildcard arm: new kinds may be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The TCP connection could not be established (DNS, refused, unreachable).
    /// The request was not sent.
    Connect,
    /// The TLS handshake failed (untrusted certificate, protocol mismatch).
    /// The request was not sent.
    Tls,
    /// A proxy setting cannot be used (the message names it), or the proxy refused or failed
    /// the `CONNECT` tunnel. The request was not sent.
    Proxy,
    /// One of the configured timeouts fired.
    Timeout(TimeoutKind),
    /// The peer violated HTTP (malformed response, invalid framing).
    Protocol,
    /// The connection closed before the response headers arrived.
    ConnectionClosed,
    /// The connection closed or the stream was reset in the middle of the response body.
    ClosedMidBody,
    /// A body read whole ([`ResponseBody::collect`](crate::ResponseBody::collect)) was
    /// longer than the bound; the bytes up to the bound are in
    /// [`TransportError::partial_body`].
    BodyTooLarge,
    /// The request cannot be sent as given (unsupported scheme, missing host, plain HTTP to a
    /// non-loopback host without opt-in). This is a caller error, not a peer error.
    InvalidRequest,
    /// The transport was used without the runtime it needs (for example the tokio backend
    /// outside a tokio runtime).
    Runtime,
    /// Anything else, including errors reported by user-provided transports.
    Other,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Connect => f.write_str("connect error"),
            ErrorKind::Tls => f.write_str("TLS error"),
            ErrorKind::Proxy => f.write_str("proxy error"),
            ErrorKind::Timeout(t) => write!(f, "{t} timeout"),
            ErrorKind::Protocol => f.write_str("HTTP protocol error"),
            ErrorKind::ConnectionClosed => f.write_str("connection closed before response"),
            ErrorKind::ClosedMidBody => f.write_str("connection closed mid-body"),
            ErrorKind::BodyTooLarge => f.write_str("body too large"),
            ErrorKind::InvalidRequest => f.write_str("invalid request"),
            ErrorKind::Runtime => f.write_str("runtime error"),
            ErrorKind::Other => f.write_str("transport error"),
        }
    }
}

type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// The one error type of the transport layer.
///
/// It is opaque: inspect it through [`kind`](Self::kind) and the predicates, and walk
/// [`source`](StdError::source) for the underlying cause (an I/O, TLS or HTTP library
/// error, exposed only as `dyn Error`).
///
/// ```
/// use gemini_transport::{ErrorKind, TimeoutKind, TransportError};
///
/// let err = TransportError::new(ErrorKind::Timeout(TimeoutKind::Idle), "no frame for 300s");
/// assert!(err.is_timeout());
/// assert_eq!(err.timeout_kind(), Some(TimeoutKind::Idle));
/// assert_eq!(err.to_string(), "idle between body frames timeout: no frame for 300s");
/// ```
pub struct TransportError {
    kind: ErrorKind,
    message: Option<Box<str>>,
    source: Option<BoxError>,
    partial_body: Option<Bytes>,
}

impl TransportError {
    /// An error of `kind` with a human-readable message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: Some(message.into().into_boxed_str()),
            source: None,
            partial_body: None,
        }
    }

    /// An error of `kind` caused by `source`.
    ///
    /// ```
    /// use gemini_transport::{ErrorKind, TransportError};
    /// use std::error::Error as _;
    ///
    /// let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
    /// let err = TransportError::with_source(ErrorKind::Connect, io);
    /// assert!(err.is_connect());
    /// assert!(err.source().is_some());
    /// ```
    pub fn with_source(kind: ErrorKind, source: impl Into<BoxError>) -> Self {
        Self {
            kind,
            message: None,
            source: Some(source.into()),
            partial_body: None,
        }
    }

    /// Adds or replaces the human-readable message.
    #[must_use]
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into().into_boxed_str());
        self
    }

    /// The body bytes read before this error, when the body was being read whole
    /// ([`ResponseBody::collect`](crate::ResponseBody::collect)): nothing that arrived is
    /// lost. `None` for errors that did not happen while collecting a body.
    pub fn partial_body(&self) -> Option<&Bytes> {
        self.partial_body.as_ref()
    }

    pub(crate) fn with_partial_body(mut self, bytes: Bytes) -> Self {
        self.partial_body = Some(bytes);
        self
    }

    /// The coarse kind of this error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// True for every timeout kind.
    pub fn is_timeout(&self) -> bool {
        matches!(self.kind, ErrorKind::Timeout(_))
    }

    /// Which timeout fired, if this is a timeout.
    pub fn timeout_kind(&self) -> Option<TimeoutKind> {
        match self.kind {
            ErrorKind::Timeout(t) => Some(t),
            _ => None,
        }
    }

    /// True if the TCP connection could not be established.
    pub fn is_connect(&self) -> bool {
        self.kind == ErrorKind::Connect
    }

    /// True if the TLS handshake failed.
    pub fn is_tls(&self) -> bool {
        self.kind == ErrorKind::Tls
    }

    /// True if the proxy tunnel failed.
    pub fn is_proxy(&self) -> bool {
        self.kind == ErrorKind::Proxy
    }

    /// True if the peer violated the HTTP protocol.
    pub fn is_protocol(&self) -> bool {
        self.kind == ErrorKind::Protocol
    }

    /// True if the connection closed mid-body (the response was truncated).
    pub fn is_closed_mid_body(&self) -> bool {
        self.kind == ErrorKind::ClosedMidBody
    }

    /// True if the request certainly never reached the server (connect, TLS, proxy, connect
    /// timeout, invalid request): resending it cannot duplicate work on the server.
    pub fn is_request_not_sent(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Connect
                | ErrorKind::Tls
                | ErrorKind::Proxy
                | ErrorKind::InvalidRequest
                | ErrorKind::Runtime
                | ErrorKind::Timeout(TimeoutKind::Connect)
        )
    }
}

impl fmt::Debug for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TransportError");
        d.field("kind", &self.kind);
        if let Some(m) = &self.message {
            d.field("message", m);
        }
        if let Some(s) = &self.source {
            d.field("source", s);
        }
        if let Some(b) = &self.partial_body {
            d.field("partial_body_len", &b.len());
        }
        d.finish()
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        if let Some(m) = &self.message {
            write!(f, ": {m}")?;
        } else if let Some(s) = &self.source {
            write!(f, ": {s}")?;
        }
        Ok(())
    }
}

impl StdError for TransportError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_prefers_message_then_source() {
        let io = std::io::Error::other("boom");
        let e = TransportError::with_source(ErrorKind::ClosedMidBody, io);
        assert_eq!(e.to_string(), "connection closed mid-body: boom");
        assert!(e.is_closed_mid_body());
        assert!(!e.is_request_not_sent());
        let e = e.with_message("stream ended early");
        assert_eq!(
            e.to_string(),
            "connection closed mid-body: stream ended early"
        );
        assert_eq!(e.source().unwrap().to_string(), "boom");
    }

    #[test]
    fn predicates_follow_kind() {
        let e = TransportError::new(ErrorKind::Timeout(TimeoutKind::Connect), "x");
        assert!(e.is_timeout() && e.is_request_not_sent());
        assert_eq!(e.timeout_kind(), Some(TimeoutKind::Connect));
        let e = TransportError::new(ErrorKind::Tls, "x");
        assert!(e.is_tls() && !e.is_timeout() && e.timeout_kind().is_none());
    }

    #[test]
    fn error_is_send_sync_static() {
        fn check<T: Send + Sync + 'static + StdError>() {}
        check::<TransportError>();
    }
}
