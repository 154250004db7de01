//! A local HTTP server that speaks the Gemini REST API the way Google does.
//!
//! `gemini-emulator` answers `generateContent`, `streamGenerateContent` (SSE with `alt=sse`, JSON
//! array without), `countTokens`, `embedContent`, `batchEmbedContents`, `models.list` and
//! `models.get` under `/v1beta` and `/v1` — and the Interactions API (`/v1beta/interactions`:
//! create, streamed or not, get, stream from an event id, cancel, delete) — with Google's byte
//! layout, headers and error bodies. Its output is a pure function of the request, it injects
//! faults on demand (HTTP errors, mid-stream errors, resets, stalls, odd framing, …) and it can
//! replay recorded bodies byte for byte.
//!
//! # Use from async code
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use gemini_emulator::{Emulator, EmulatorConfig};
//!
//! let emulator = Emulator::start(EmulatorConfig::default()).await?;
//! let base_url = emulator.base_url(); // e.g. "http://127.0.0.1:41234"
//! assert!(base_url.starts_with("http://127.0.0.1:"));
//! // ... point the client under test at `base_url` ...
//! assert!(emulator.requests().is_empty());
//! emulator.stop();
//! # Ok(())
//! # }
//! ```
//!
//! # Use from blocking code
//!
//! ```
//! use std::io::{Read, Write};
//! use gemini_emulator::{Emulator, EmulatorConfig};
//!
//! let emulator = Emulator::start_blocking(EmulatorConfig::default())?;
//! let mut tcp = std::net::TcpStream::connect(emulator.addr())?;
//! tcp.write_all(b"GET /v1beta/models/gemini-2.5-flash HTTP/1.1\r\nhost: x\r\nx-goog-api-key: k\r\nconnection: close\r\n\r\n")?;
//! let mut response = String::new();
//! tcp.read_to_string(&mut response)?;
//! assert!(response.starts_with("HTTP/1.1 200 OK"));
//! assert!(response.contains("\"name\": \"models/gemini-2.5-flash\""));
//! assert_eq!(emulator.requests()[0].path, "/v1beta/models/gemini-2.5-flash");
//! emulator.stop();
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Faults
//!
//! A [`FaultSpec`] is chosen per request with the `x-emulator-fault` header, with a model name
//! suffix (`models/gemini-2.5-flash@http=503`), or for every request with
//! [`EmulatorConfig::fault`] / [`Emulator::set_fault`]. See [`Fault`] for the grammar.
//!
//! # Limits
//!
//! No request can crash the emulator or keep it busy: every size, count and duration a request or
//! a flag can ask for is bounded (see [`limits`]), with Google's 400 `INVALID_ARGUMENT` past a
//! limit; generation is linear in its output, and the work for a request stops when its client
//! disconnects.
#![forbid(unsafe_code)]

mod catalogue;
mod continuation;
mod fault;
mod generate;
mod interactions;
mod json;
pub mod limits;
mod replay;
mod server;
mod shape;
mod tls;

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use fault::{DropPoint, Fault, FaultParseError, FaultSpec, Framing};

/// How fast answers are produced.
///
/// ```
/// use std::time::Duration;
/// use gemini_emulator::Pace;
/// let pace = Pace::new(Duration::from_millis(300), 150.0);
/// assert_eq!(pace.delay_for_tokens(75), Duration::from_millis(500));
/// assert_eq!(Pace::none().delay_for_tokens(75), Duration::ZERO);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pace {
    first_chunk: Duration,
    tokens_per_second: f64,
}

impl Pace {
    /// No delay at all: for tests and for throughput measurements.
    pub const fn none() -> Self {
        Pace {
            first_chunk: Duration::ZERO,
            tokens_per_second: 0.0,
        }
    }

    /// A pace similar to Gemini Flash: 400 ms to the first chunk, then 200 tokens per second.
    pub const fn realistic() -> Self {
        Pace {
            first_chunk: Duration::from_millis(400),
            tokens_per_second: 200.0,
        }
    }

    /// Waits `first_chunk` before the first event, then paces later events at
    /// `tokens_per_second` (`0` or less: no pacing).
    pub const fn new(first_chunk: Duration, tokens_per_second: f64) -> Self {
        Pace {
            first_chunk,
            tokens_per_second,
        }
    }

    /// The time to the first chunk.
    pub fn first_chunk(&self) -> Duration {
        self.first_chunk
    }

    /// The output rate (`0`: unlimited).
    pub fn tokens_per_second(&self) -> f64 {
        self.tokens_per_second
    }

    /// The time it takes to produce `tokens` tokens at this pace, at most
    /// [`MAX_FAULT_DURATION`](limits::MAX_FAULT_DURATION) (a rate too small to be measured, or not
    /// a number, is that long).
    pub fn delay_for_tokens(&self, tokens: u32) -> Duration {
        if self.tokens_per_second > 0.0 {
            Duration::try_from_secs_f64(f64::from(tokens) / self.tokens_per_second)
                .unwrap_or(limits::MAX_FAULT_DURATION)
                .min(limits::MAX_FAULT_DURATION)
        } else if self.tokens_per_second.is_nan() {
            limits::MAX_FAULT_DURATION
        } else {
            Duration::ZERO
        }
    }
}

impl Default for Pace {
    fn default() -> Self {
        Pace::none()
    }
}

/// Which API keys the emulator accepts. A request without a key always gets 403
/// `PERMISSION_DENIED`; a key the rule refuses gets 400 `INVALID_ARGUMENT` with the
/// `API_KEY_INVALID` reason, as Google answers.
///
/// ```
/// use gemini_emulator::KeyRule;
/// assert!(KeyRule::any().accepts("anything"));
/// assert!(!KeyRule::only(["good"]).accepts("bad"));
/// assert!(KeyRule::custom(|k| k.starts_with("AIza")).accepts("AIza123"));
/// ```
#[derive(Clone)]
pub struct KeyRule(Arc<dyn Fn(&str) -> bool + Send + Sync>);

impl KeyRule {
    /// Any non-empty key (the default).
    pub fn any() -> Self {
        KeyRule(Arc::new(|_| true))
    }

    /// Only the listed keys.
    pub fn only<I, S>(keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let keys: Vec<String> = keys.into_iter().map(Into::into).collect();
        KeyRule(Arc::new(move |k| keys.iter().any(|good| good == k)))
    }

    /// Keys for which `rule` returns true.
    pub fn custom(rule: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        KeyRule(Arc::new(rule))
    }

    /// Whether `key` (non-empty) is accepted.
    pub fn accepts(&self, key: &str) -> bool {
        !key.is_empty() && (self.0)(key)
    }
}

impl Default for KeyRule {
    fn default() -> Self {
        KeyRule::any()
    }
}

impl fmt::Debug for KeyRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyRule(..)")
    }
}

/// How the emulator is set up. Build it with the methods; [`Default`] listens on an ephemeral
/// loopback port, with no delay, any key, no fault and no replay directory.
///
/// ```
/// use gemini_emulator::{EmulatorConfig, KeyRule, Pace};
/// let config = EmulatorConfig::default()
///     .port(0)
///     .pace(Pace::realistic())
///     .keys(KeyRule::only(["test-key"]))
///     .fault("fail-first=1:503".parse().unwrap());
/// assert_eq!(config.pace_value(), Pace::realistic());
/// ```
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    pub(crate) ip: IpAddr,
    pub(crate) port: u16,
    pub(crate) pace: Pace,
    pub(crate) keys: KeyRule,
    pub(crate) fault: FaultSpec,
    pub(crate) replay_dir: Option<PathBuf>,
    pub(crate) record: bool,
    pub(crate) worker_threads: usize,
    pub(crate) tls: bool,
    pub(crate) hop_tokens: Option<u32>,
    pub(crate) checkpoint_every: Option<u32>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            pace: Pace::none(),
            keys: KeyRule::any(),
            fault: FaultSpec::new(),
            replay_dir: None,
            record: true,
            worker_threads: 2,
            tls: false,
            hop_tokens: None,
            checkpoint_every: None,
        }
    }
}

impl EmulatorConfig {
    /// Same as [`Default::default`].
    pub fn new() -> Self {
        EmulatorConfig::default()
    }

    /// Address to listen on (default `127.0.0.1`).
    pub fn ip(mut self, ip: IpAddr) -> Self {
        self.ip = ip;
        self
    }

    /// Port to listen on (default 0: an ephemeral port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Output pace (default [`Pace::none`]).
    pub fn pace(mut self, pace: Pace) -> Self {
        self.pace = pace;
        self
    }

    /// The configured pace.
    pub fn pace_value(&self) -> Pace {
        self.pace
    }

    /// Which keys are accepted (default: any non-empty key).
    pub fn keys(mut self, keys: KeyRule) -> Self {
        self.keys = keys;
        self
    }

    /// Faults applied to every request (in addition to per-request ones).
    pub fn fault(mut self, fault: FaultSpec) -> Self {
        self.fault = fault;
        self
    }

    /// Directory of recorded bodies to replay (see the crate README).
    pub fn replay_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.replay_dir = Some(dir.into());
        self
    }

    /// Whether received requests are kept for [`Emulator::requests`] (default true; turn it off
    /// for long benchmarks).
    pub fn record_requests(mut self, record: bool) -> Self {
        self.record = record;
        self
    }

    /// Serves HTTPS instead of plain HTTP (default `false`): HTTP/2 or HTTP/1.1 as the client
    /// negotiates by ALPN, with a server certificate for `localhost`, `127.0.0.1` and `::1`
    /// signed by a certificate authority made for this emulator alone. Clients must trust
    /// [`Emulator::tls_ca_pem`].
    ///
    /// ```
    /// use gemini_emulator::{Emulator, EmulatorConfig};
    ///
    /// let emulator = Emulator::start_blocking(EmulatorConfig::default().tls(true))?;
    /// assert!(emulator.base_url().starts_with("https://127.0.0.1:"));
    /// let ca = emulator.tls_ca_pem().unwrap();
    /// assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn tls(mut self, enabled: bool) -> Self {
        self.tls = enabled;
        self
    }

    /// Caps every request at `tokens` output tokens (`None`: no cap, the default), as Gemini caps
    /// long answers (65,536 output tokens per streamed request): a request that reaches the cap
    /// ends with finish reason `CONTINUATION` and a continuation token, and the same request
    /// sent again with the token continues the answer where it stopped. An interaction stops
    /// there with status `requires_continuation` and a `continuation_token` instead. The
    /// `hop-tokens=N` directive sets it per request. At least 1, at most
    /// [`MAX_TOKENS`](limits::MAX_TOKENS).
    ///
    /// ```
    /// use gemini_emulator::EmulatorConfig;
    /// let config = EmulatorConfig::default().hop_tokens(Some(200)).checkpoint_every(Some(5));
    /// # drop(config);
    /// ```
    pub fn hop_tokens(mut self, tokens: Option<u32>) -> Self {
        self.hop_tokens = tokens.map(|t| t.clamp(1, limits::MAX_TOKENS as u32));
        self
    }

    /// Puts a checkpoint (a continuation token, no finish reason) on every `events`-th event of
    /// a stream (`None`: none, the default); a request with that token resumes from there. The
    /// `checkpoint-every=N` directive sets it per request.
    pub fn checkpoint_every(mut self, events: Option<u32>) -> Self {
        self.checkpoint_every = events.map(|n| n.max(1));
        self
    }

    /// Worker threads of the runtime made by [`Emulator::start_blocking`] (default 2; from 1 to
    /// [`MAX_WORKER_THREADS`](limits::MAX_WORKER_THREADS)).
    pub fn worker_threads(mut self, n: usize) -> Self {
        self.worker_threads = n.clamp(1, limits::MAX_WORKER_THREADS);
        self
    }
}

/// A request as the emulator received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, percent-decoded (`/v1beta/models/gemini-2.5-flash:generateContent`).
    pub path: String,
    /// The raw query string, if any (`alt=sse`).
    pub query: Option<String>,
    /// Header names (lower case) and values, in the order received.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
    /// The body parsed as JSON, when it is JSON.
    pub json: Option<serde_json::Value>,
}

impl RecordedRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Counters, for assertions and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Requests received.
    pub requests: u64,
    /// Streaming responses in progress now.
    pub active_streams: usize,
    /// Highest number of streaming responses in progress at the same time.
    pub peak_streams: usize,
    /// Stream events written.
    pub events: u64,
}

/// A running emulator. Dropping it (or [`Emulator::stop`]) stops it.
#[derive(Debug)]
pub struct Emulator {
    addr: SocketAddr,
    shared: Arc<server::Shared>,
    shutdown: tokio::sync::watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Emulator {
    /// Starts the emulator on the current tokio runtime (it must have the I/O and time drivers
    /// enabled).
    ///
    /// # Errors
    /// When the address cannot be bound, the replay directory cannot be read, or the configured
    /// fault is past the [limits] ([`io::ErrorKind::InvalidInput`]).
    pub async fn start(config: EmulatorConfig) -> io::Result<Emulator> {
        check_config(&config)?;
        let shared = Arc::new(server::Shared::new(config)?);
        let listener = server::bind(shared.config.ip, shared.config.port)?;
        let addr = listener.local_addr()?;
        let (shutdown, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(server::serve(listener, Arc::clone(&shared), rx));
        Ok(Emulator {
            addr,
            shared,
            shutdown,
            thread: None,
        })
    }

    /// Starts the emulator on its own thread with its own runtime, for blocking code.
    ///
    /// # Errors
    /// When the address cannot be bound, the replay directory cannot be read, the runtime cannot
    /// be built, or the configured fault is past the [limits]
    /// ([`io::ErrorKind::InvalidInput`]).
    pub fn start_blocking(config: EmulatorConfig) -> io::Result<Emulator> {
        check_config(&config)?;
        let shared = Arc::new(server::Shared::new(config)?);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(shared.config.worker_threads)
            .thread_name("gemini-emulator")
            .enable_all()
            .build()?;
        let listener = {
            let _guard = runtime.enter();
            server::bind(shared.config.ip, shared.config.port)?
        };
        let addr = listener.local_addr()?;
        let (shutdown, rx) = tokio::sync::watch::channel(false);
        let task_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("gemini-emulator-main".into())
            .spawn(move || {
                runtime.block_on(server::serve(listener, task_shared, rx));
                runtime.shutdown_timeout(Duration::from_millis(100));
            })?;
        Ok(Emulator {
            addr,
            shared,
            shutdown,
            thread: Some(thread),
        })
    }

    /// The socket address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL to give clients, e.g. `http://127.0.0.1:41234` (`https://` with
    /// [`EmulatorConfig::tls`]; no trailing slash).
    pub fn base_url(&self) -> String {
        let scheme = if self.shared.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    /// With [`EmulatorConfig::tls`], the PEM certificate of the authority that signed the
    /// emulator's server certificate: give it to clients as a trusted root (or write it to a
    /// file, as `gemini-emulator --tls-ca-out FILE` does).
    pub fn tls_ca_pem(&self) -> Option<&str> {
        self.shared.tls.as_ref().map(tls::Tls::ca_pem)
    }

    /// The requests received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Forgets the received requests and the `fail-first` attempt counters.
    pub fn clear_requests(&self) {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.shared
            .attempts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Replaces the faults applied to every request (`None`: no global fault).
    pub fn set_fault(&self, fault: Option<FaultSpec>) {
        *self.shared.fault.write().unwrap_or_else(|e| e.into_inner()) = fault.unwrap_or_default();
    }

    /// Current counters.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// Stops accepting connections and ends the open ones. For an emulator made by
    /// [`Emulator::start_blocking`] this waits for its thread.
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Refuses a configuration whose fault is past the limits.
fn check_config(config: &EmulatorConfig) -> io::Result<()> {
    config.fault.check_limits().map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid fault configuration: {e}"),
        )
    })
}

/// The ids of the models in the emulator's catalogue.
///
/// ```
/// assert!(gemini_emulator::model_ids().any(|id| id == "gemini-2.5-flash"));
/// ```
pub fn model_ids() -> impl Iterator<Item = &'static str> {
    catalogue::ids()
}
