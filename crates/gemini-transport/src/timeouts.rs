//! Timeout configuration.

use std::time::Duration;

/// The four transport timeouts. `None` disables one.
///
/// | timeout | measures | default |
/// |---|---|---|
/// | `connect` | TCP connect, proxy `CONNECT` tunnel and TLS handshake | 10 s |
/// | `response_headers` | from the start of `send` until the status and headers arrive | 10 min |
/// | `idle` | how long the caller waits for body data (for the first frame after the headers, or the next one) | 5 min |
/// | `total` | from the start of `send` until the end of the body | none |
///
/// The defaults are chosen for streaming generation: thinking models can spend minutes before
/// the first byte and pause long between chunks, and a long answer can stream for longer than
/// any fixed total, so only the connect timeout is tight. Callers that want a hard bound set
/// `total`. Each timeout that fires is reported as its own
/// [`TimeoutKind`](crate::TimeoutKind).
///
/// The idle timeout counts only the time the caller spends *waiting* for data: from the
/// moment a poll of the body finds nothing to return until a frame arrives. Time the caller
/// spends elsewhere between two polls (a slow consumer, a full channel downstream) does not
/// count, so backpressure never trips it; a server that stays silent while the caller waits
/// is cut off at the moment the wait exceeds the limit.
///
/// The connect timeout runs on the runtime's timer. The other three are kept by one
/// process-wide background thread (`gemini-transport-timeouts`, started by the first request
/// that has one): a request registers once, where runtime timers cost a clock read per poll on
/// tokio. They work the same under any executor, and they measure real time: they do not
/// follow tokio's paused test clock.
///
/// Put a `Timeouts` into a request's extensions to override the transport's defaults for that
/// request:
///
/// ```
/// use std::time::Duration;
/// use gemini_transport::Timeouts;
///
/// let mut request = http::Request::new(bytes::Bytes::new());
/// request
///     .extensions_mut()
///     .insert(Timeouts::default().total(Some(Duration::from_secs(30))));
/// assert_eq!(Timeouts::default().connect_timeout(), Some(Duration::from_secs(10)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    connect: Option<Duration>,
    response_headers: Option<Duration>,
    idle: Option<Duration>,
    total: Option<Duration>,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Some(Duration::from_secs(10)),
            response_headers: Some(Duration::from_secs(600)),
            idle: Some(Duration::from_secs(300)),
            total: None,
        }
    }
}

impl Timeouts {
    /// All four timeouts disabled.
    pub fn none() -> Self {
        Self {
            connect: None,
            response_headers: None,
            idle: None,
            total: None,
        }
    }

    /// Sets the connect timeout.
    #[must_use]
    pub fn connect(mut self, timeout: Option<Duration>) -> Self {
        self.connect = timeout;
        self
    }

    /// Sets the time allowed until the response headers arrive.
    #[must_use]
    pub fn response_headers(mut self, timeout: Option<Duration>) -> Self {
        self.response_headers = timeout;
        self
    }

    /// Sets the longest the caller may wait for body data (see above: time spent not waiting
    /// does not count).
    #[must_use]
    pub fn idle(mut self, timeout: Option<Duration>) -> Self {
        self.idle = timeout;
        self
    }

    /// Sets the bound on the whole exchange, body included.
    #[must_use]
    pub fn total(mut self, timeout: Option<Duration>) -> Self {
        self.total = timeout;
        self
    }

    /// The connect timeout.
    pub fn connect_timeout(&self) -> Option<Duration> {
        self.connect
    }

    /// The response-headers timeout.
    pub fn response_headers_timeout(&self) -> Option<Duration> {
        self.response_headers
    }

    /// The idle timeout: the longest wait for body data.
    pub fn idle_timeout(&self) -> Option<Duration> {
        self.idle
    }

    /// The total timeout.
    pub fn total_timeout(&self) -> Option<Duration> {
        self.total
    }
}
