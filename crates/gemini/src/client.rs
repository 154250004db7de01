//! [`Client`] and its [`ClientBuilder`].

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use gemini_proto::endpoint::{Auth, Endpoint};
use gemini_proto::request::Api;
use gemini_proto::retry::RetryPolicy;
use gemini_transport::{HttpTransport, Sleep, Timeouts};

use crate::Error;
#[cfg(any(feature = "tokio", feature = "smol"))]
use crate::Runtime;
use crate::chat::Chats;
use crate::driver::Sleeper;
use crate::models::Models;

/// The environment variables that may hold the API key, in the order the official SDKs read them:
/// `GOOGLE_API_KEY` wins over `GEMINI_API_KEY`.
pub const API_KEY_VARIABLES: [&str; 2] = ["GOOGLE_API_KEY", "GEMINI_API_KEY"];

/// The environment variable that overrides the base URL, as in the official SDKs.
pub const BASE_URL_VARIABLE: &str = "GOOGLE_GEMINI_BASE_URL";

/// A Gemini API client: where requests go, how they authenticate, how they travel and how they are
/// retried.
///
/// Cheap to clone (one reference count) and `Send + Sync`: make one and share it across tasks and
/// threads; clones share the connection pool. `Debug` output never shows the key.
///
/// ```no_run
/// # async fn demo() -> Result<(), gemini::Error> {
/// let client = gemini::Client::from_env()?; // GOOGLE_API_KEY or GEMINI_API_KEY
/// let answer = client.models().generate_content("gemini-2.5-flash", "Hello!").await?;
/// println!("{}", answer.text().unwrap_or_default());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) api: Api,
    pub(crate) transport: Arc<dyn HttpTransport>,
    pub(crate) sleeper: Sleeper,
    pub(crate) timeouts: Option<Timeouts>,
    pub(crate) retry: RetryPolicy,
    pub(crate) max_event_size: usize,
    pub(crate) log_content: bool,
    pub(crate) automatic_continuation: bool,
    /// Seeds the retry jitter of each call, so that clients do not retry in step.
    seeds: RandomState,
    calls: AtomicU64,
}

impl Inner {
    pub(crate) fn next_seed(&self) -> u64 {
        let mut hasher = self.seeds.build_hasher();
        hasher.write_u64(self.calls.fetch_add(1, Ordering::Relaxed));
        hasher.finish()
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("Client")
            .field("api", &inner.api)
            .field("transport", &inner.transport)
            .field("timeouts", &inner.timeouts)
            .field("retry", &inner.retry)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for the Gemini Developer API with this API key and the default settings.
    ///
    /// Fails only when the key cannot be sent in an HTTP header (a line break, say) or the
    /// built-in transport cannot be made.
    ///
    /// ```
    /// let client = gemini::Client::new("my-api-key")?;
    /// assert!(!format!("{client:?}").contains("my-api-key"));
    /// # Ok::<(), gemini::Error>(())
    /// ```
    pub fn new(api_key: impl Into<String>) -> Result<Self, Error> {
        Self::builder().api_key(api_key).build()
    }

    /// A client whose key comes from the environment, as the official SDKs read it:
    /// `GOOGLE_API_KEY`, else `GEMINI_API_KEY` (a debug-level note is logged when both are set).
    /// `GOOGLE_GEMINI_BASE_URL`, when set, replaces the base URL.
    ///
    /// Fails with [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest) when neither
    /// variable holds a key.
    pub fn from_env() -> Result<Self, Error> {
        Self::builder().from_env()?.build()
    }

    /// A builder with the documented defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The model endpoints: generate (streamed or not), count tokens, embed, get and list models.
    pub fn models(&self) -> Models {
        Models::new(self.clone())
    }

    /// Chat sessions: a conversation whose history the client keeps.
    pub fn chats(&self) -> Chats {
        Chats::new(self.clone())
    }

    /// The Interactions API: create (unary or streamed), get, resume a stream, cancel, delete.
    pub fn interactions(&self) -> crate::Interactions {
        crate::Interactions::new(self.clone())
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        self.inner.api.endpoint().base_url()
    }
}

/// Configures a [`Client`].
///
/// | setting | default |
/// |---|---|
/// | credentials | none: set [`api_key`](Self::api_key), [`bearer_token`](Self::bearer_token) or [`from_env`](Self::from_env) |
/// | base URL, API version | `https://generativelanguage.googleapis.com`, `v1beta` |
/// | transport | the built-in hyper + rustls transport on the runtime in context (see [`runtime`](Self::runtime)) |
/// | timeouts | connect 10 s, response head 10 min, 5 min between chunks, no total (see [`Timeouts`]) |
/// | retries | [`RetryPolicy::default`]: 5 attempts, backoff from 1 s doubling to 60 s with jitter, the server's delay honoured |
/// | largest stream event | 64 MiB (a generated image is one event) |
/// | continuation | automatic: long answers followed over several requests, broken streams resumed from checkpoints |
///
/// ```
/// use std::time::Duration;
/// use gemini::{Client, RetryPolicy, Timeouts};
///
/// let client = Client::builder()
///     .api_key("my-api-key")
///     .base_url("http://127.0.0.1:8080")
///     .header("x-goog-user-project", "my-project")
///     .timeouts(Timeouts::default().idle(Some(Duration::from_secs(60))))
///     .retry_policy(RetryPolicy::default().with_max_attempts(3))
///     .build()?;
/// assert_eq!(client.base_url(), "http://127.0.0.1:8080");
/// # Ok::<(), gemini::Error>(())
/// ```
#[must_use]
pub struct ClientBuilder {
    auth: Auth,
    base_url: Option<String>,
    api_version: Option<String>,
    headers: Vec<(String, String)>,
    client_id: Option<String>,
    transport: Option<Arc<dyn HttpTransport>>,
    #[cfg(any(feature = "tokio", feature = "smol"))]
    runtime: Option<Runtime>,
    sleep: Option<Arc<dyn Sleep>>,
    timeouts: Option<Timeouts>,
    retry: RetryPolicy,
    max_event_size: usize,
    log_content: bool,
    automatic_continuation: bool,
    tls: TlsRoots,
}

/// Trust settings for the built-in transport.
#[derive(Debug, Clone, Default)]
struct TlsRoots {
    extra_pem: Vec<Vec<u8>>,
    #[cfg(feature = "platform-roots")]
    platform: bool,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            auth: Auth::None,
            base_url: None,
            api_version: None,
            headers: Vec::new(),
            client_id: None,
            transport: None,
            #[cfg(any(feature = "tokio", feature = "smol"))]
            runtime: None,
            sleep: None,
            timeouts: None,
            retry: RetryPolicy::default(),
            max_event_size: gemini_proto::sse::DEFAULT_MAX_EVENT_SIZE,
            log_content: false,
            automatic_continuation: true,
            tls: TlsRoots::default(),
        }
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("auth", &self.auth)
            .field("base_url", &self.base_url)
            .field("api_version", &self.api_version)
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("transport", &self.transport)
            .field("timeouts", &self.timeouts)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Authenticates with a Gemini API key, sent in the `x-goog-api-key` header (never in the
    /// URL, where it would end up in logs).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.auth = Auth::api_key(key.into());
        self
    }

    /// Authenticates with an OAuth 2 access token (`Authorization: Bearer …`).
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.auth = Auth::bearer(token.into());
        self
    }

    /// Takes the key from `GOOGLE_API_KEY`, else `GEMINI_API_KEY`, and the base URL from
    /// `GOOGLE_GEMINI_BASE_URL` when it is set. Fails when no key is set.
    #[allow(clippy::wrong_self_convention)] // a builder step, named as the official SDKs name it
    pub fn from_env(mut self) -> Result<Self, Error> {
        let set: Vec<&str> = API_KEY_VARIABLES
            .into_iter()
            .filter(|name| std::env::var(name).is_ok_and(|v| !v.trim().is_empty()))
            .collect();
        if set.len() > 1 {
            tracing::debug!(
                used = set[0],
                ignored = set[1],
                "both GOOGLE_API_KEY and GEMINI_API_KEY are set; using GOOGLE_API_KEY"
            );
        }
        self.auth = Auth::from_env().ok_or_else(|| {
            Error::invalid_request("no API key: set GEMINI_API_KEY (or GOOGLE_API_KEY)")
        })?;
        if let Ok(url) = std::env::var(BASE_URL_VARIABLE)
            && !url.trim().is_empty()
        {
            self.base_url = Some(url.trim().to_owned());
        }
        Ok(self)
    }

    /// Sends requests to another base URL: a local emulator, a gateway, a proxy
    /// (`http://` is allowed to loopback addresses only, unless you bring your own transport).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The API version in the path (default `v1beta`; `v1` is the stable subset).
    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = Some(version.into());
        self
    }

    /// A header sent with every request. Credential-like headers are hidden from `Debug`.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Identifies your application in `x-goog-api-client`, before this library's own id.
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = Some(id.into());
        self
    }

    /// Moves bytes with your own transport instead of the built-in one (an HTTP stack of your
    /// choice, a recording or scripted transport in tests). [`timeouts`](Self::timeouts) are
    /// passed to it in each request's extensions.
    pub fn transport(mut self, transport: Arc<dyn HttpTransport>) -> Self {
        self.transport = Some(transport);
        self
    }

    #[cfg(any(feature = "tokio", feature = "smol"))]
    /// Pins the async runtime the built-in transport and the retry timer use. Without it, each
    /// connection uses tokio when made inside a tokio runtime and smol otherwise (with both
    /// features enabled), and each retry waits on the runtime in context.
    pub fn runtime(mut self, runtime: Runtime) -> Self {
        self.runtime = Some(runtime);
        self
    }

    /// The timer that waits between retries (default: the runtime's, see
    /// [`runtime`](Self::runtime); without any runtime feature, a helper thread).
    pub fn sleep(mut self, sleep: Arc<dyn Sleep>) -> Self {
        self.sleep = Some(sleep);
        self
    }

    /// The transport timeouts of every request (connect, response head, idle between chunks,
    /// total). Requests can override them.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = Some(timeouts);
        self
    }

    /// When and how failed requests are sent again (default [`RetryPolicy::default`];
    /// [`RetryPolicy::disabled`] turns retries off). Requests can override it.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The largest stream event accepted (default 64 MiB); a larger one ends the stream with
    /// [`ErrorKind::TooLarge`](crate::ErrorKind::TooLarge).
    pub fn max_event_size(mut self, bytes: usize) -> Self {
        self.max_event_size = bytes;
        self
    }

    /// Trusts the certificates of a PEM bundle as well, for the built-in transport: a corporate
    /// TLS-inspecting proxy, or `gemini-emulator --tls` (its CA). `SSL_CERT_FILE`, when set,
    /// replaces the default roots (see the transport's documentation).
    pub fn add_root_certificates_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls.extra_pem.push(pem.into());
        self
    }

    /// Uses the operating system's certificate verifier instead of the built-in Mozilla roots,
    /// for the built-in transport (feature `platform-roots`).
    #[cfg(feature = "platform-roots")]
    pub fn platform_roots(mut self, enabled: bool) -> Self {
        self.tls.platform = enabled;
        self
    }

    /// Follows continuation tokens and resumes broken streams from checkpoints on every call
    /// (default `true`, as in the official SDKs); calls can override it.
    pub fn automatic_continuation(mut self, enabled: bool) -> Self {
        self.automatic_continuation = enabled;
        self
    }

    /// Logs the text of prompts' answers at trace level in each call's `tracing` span (default
    /// off: spans carry the model, attempts, status, timing and token counts, never content).
    pub fn log_content(mut self, enabled: bool) -> Self {
        self.log_content = enabled;
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<Client, Error> {
        let mut endpoint = match &self.base_url {
            Some(url) => Endpoint::new(url.as_str())?,
            None => Endpoint::default(),
        };
        if let Some(version) = self.api_version {
            endpoint = endpoint.with_api_version(version);
        }
        let mut api = Api::new(endpoint, self.auth);
        for (name, value) in &self.headers {
            api = api.with_header(name, value)?;
        }
        if let Some(id) = &self.client_id {
            api = api.with_client_id(Some(id))?;
        }
        // A key that cannot be a header value fails here, not on the first request.
        api.get_model("models/check")?;
        #[cfg(any(feature = "tokio", feature = "smol"))]
        let runtime = self.runtime;
        #[cfg(not(any(feature = "tokio", feature = "smol")))]
        let runtime = None;
        let transport = match self.transport {
            Some(transport) => transport,
            None => default_transport(runtime, self.timeouts, self.tls)?,
        };
        let sleeper = match self.sleep {
            Some(sleep) => Sleeper::Fixed(sleep),
            None => Sleeper::for_runtime(runtime),
        };
        Ok(Client {
            inner: Arc::new(Inner {
                api,
                transport,
                sleeper,
                timeouts: self.timeouts,
                retry: self.retry,
                max_event_size: self.max_event_size,
                log_content: self.log_content,
                automatic_continuation: self.automatic_continuation,
                seeds: RandomState::new(),
                calls: AtomicU64::new(0),
            }),
        })
    }
}

#[cfg(any(feature = "tokio", feature = "smol"))]
fn default_transport(
    runtime: Option<Runtime>,
    timeouts: Option<Timeouts>,
    tls: TlsRoots,
) -> Result<Arc<dyn HttpTransport>, Error> {
    let mut builder = gemini_transport::HyperTransport::builder();
    for pem in tls.extra_pem {
        builder = builder.add_root_certificates_pem(pem);
    }
    #[cfg(feature = "platform-roots")]
    {
        builder = builder.platform_roots(tls.platform);
    }
    if let Some(runtime) = runtime {
        builder = builder.runtime(runtime);
    }
    if let Some(timeouts) = timeouts {
        builder = builder.timeouts(timeouts);
    }
    let transport = builder.build().map_err(crate::driver::transport_error)?;
    Ok(Arc::new(transport))
}

#[cfg(not(any(feature = "tokio", feature = "smol")))]
fn default_transport(
    _runtime: Option<std::convert::Infallible>,
    _timeouts: Option<Timeouts>,
    _tls: TlsRoots,
) -> Result<Arc<dyn HttpTransport>, Error> {
    Err(Error::invalid_request(
        "no transport: enable the `tokio` or `smol` feature, or pass one with ClientBuilder::transport",
    ))
}
