//! The production backend: this crate's HTTP/1.1 connections and hyper's HTTP/2 ones, rustls,
//! a small pool.

mod body;
mod connect;
pub(crate) mod h1;
mod pool;
mod proxy;
mod watchdog;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{HOST, PROXY_AUTHORIZATION};
use http::uri::{PathAndQuery, Uri};
use http_body_util::Full;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

pub use proxy::Proxy;

use self::body::{HyperBody, Phase, map_hyper_error};
use self::connect::{Conn, ConnectParams, H2Settings};
use self::h1::{H1Body, Lease};
use self::pool::{Checkout, Key, KeyRef, Pool};
use self::watchdog::{Limits, Watch};
use crate::{
    ErrorKind, HttpTransport, Response, ResponseBody, ResponseFuture, Runtime, TimeoutKind,
    Timeouts, TransportError,
};

/// The production [`HttpTransport`]: HTTP/1.1 written for this crate and hyper 1.x's HTTP/2,
/// over rustls, on tokio or smol.
///
/// * HTTP/1.1 and HTTP/2, negotiated by ALPN over TLS (plain HTTP is HTTP/1.1 only);
/// * a streamed HTTP/1.1 body is read straight from its connection's buffer, each piece cut
///   out of what one socket read brought, with no task or channel in between;
/// * connection reuse: idle HTTP/1.1 connections are pooled per origin (bounded, expiring),
///   HTTP/2 connections are shared; `TCP_NODELAY` is set; a request that finds its pooled
///   connection closed by the server (it fails before any byte of a response) is sent again
///   on another connection, once;
/// * a body dropped before its end closes its HTTP/1.1 connection (HTTP/2: resets its stream);
/// * proxies from `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY`/`NO_PROXY` by default, or set
///   explicitly ([`Proxy`]); `http://` and `https://` proxies;
/// * plain `http://` only to loopback hosts unless [`allow_plain_http`] is set.
///
/// # TLS
///
/// rustls with the *ring* crypto provider, set on this transport's own configuration (not
/// the process-wide default, so another crate's choice cannot change or break it). *ring*
/// was chosen over aws-lc-rs because it builds with a plain C compiler (no cmake, no nasm)
/// and quickly, which matters for users' CI and for cross-compiling.
///
/// Which certificates are trusted:
///
/// * by default, Mozilla's roots, compiled in through `webpki-roots`: reproducible, identical
///   on every OS, no dependence on the system store;
/// * with `platform_roots(true)` (feature `platform-roots`), the operating system's verifier
///   instead (`rustls-platform-verifier`): the roots an administrator installed, with the
///   OS's own policies and revocation checks on macOS, Windows and Android; on Linux and
///   the BSDs the system's CA bundle (`SSL_CERT_FILE` and `SSL_CERT_DIR` are honoured there);
/// * when the environment variable `SSL_CERT_FILE` names a PEM bundle, the certificates in
///   that file *instead of* the two above, as OpenSSL, curl and Python do (turn this off
///   with [`roots_from_env`]); a file that cannot be read or holds no certificate is an
///   error naming the variable;
/// * in every case, the roots added with [`add_root_certificates_pem`] or
///   [`add_root_certificate_der`] (a corporate TLS-inspecting proxy, a test server).
///
/// # Runtimes
///
/// With feature `tokio` it runs on tokio (the runtime needs IO and time enabled), with
/// feature `smol` on async-io/smol (any executor). With both, it uses tokio when called
/// inside a tokio runtime and smol otherwise, unless [`runtime`] pins one.
///
/// [`allow_plain_http`]: HyperTransportBuilder::allow_plain_http
/// [`roots_from_env`]: HyperTransportBuilder::roots_from_env
/// [`add_root_certificates_pem`]: HyperTransportBuilder::add_root_certificates_pem
/// [`add_root_certificate_der`]: HyperTransportBuilder::add_root_certificate_der
/// [`runtime`]: HyperTransportBuilder::runtime
///
/// ```no_run
/// use std::sync::Arc;
/// use gemini_transport::{HttpTransport, HyperTransport, Timeouts};
///
/// # async fn demo() -> Result<(), gemini_transport::TransportError> {
/// let transport: Arc<dyn HttpTransport> = Arc::new(
///     HyperTransport::builder()
///         .timeouts(Timeouts::default().idle(Some(std::time::Duration::from_secs(120))))
///         .build()?,
/// );
/// let request = http::Request::get("https://generativelanguage.googleapis.com/v1beta/models")
///     .header("x-goog-api-key", "…")
///     .body(bytes::Bytes::new())
///     .unwrap();
/// let mut body = transport.send(request).await?.into_body();
/// while let Some(chunk) = body.next_chunk().await {
///     println!("{} bytes", chunk?.len());
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct HyperTransport {
    inner: Arc<Inner>,
}

struct Inner {
    timeouts: Timeouts,
    runtime: Option<Runtime>,
    proxy: Proxy,
    tls: Arc<rustls::ClientConfig>,
    proxy_tls: Arc<rustls::ClientConfig>,
    allow_plain_http: bool,
    h2: H2Settings,
    pool: Arc<Pool>,
    /// Why every request fails: the configuration from the environment that
    /// [`HyperTransport::new`] read was invalid.
    broken: Option<(ErrorKind, String)>,
}

impl fmt::Debug for HyperTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HyperTransport")
            .field("timeouts", &self.inner.timeouts)
            .field("runtime", &self.inner.runtime)
            .field("proxy", &self.inner.proxy)
            .field("allow_plain_http", &self.inner.allow_plain_http)
            .field(
                "alpn",
                &self
                    .inner
                    .tls
                    .alpn_protocols
                    .iter()
                    .map(|p| String::from_utf8_lossy(p))
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// Configures a [`HyperTransport`].
///
/// ```
/// use std::time::Duration;
/// use gemini_transport::{HyperTransport, Proxy, Timeouts};
///
/// let transport = HyperTransport::builder()
///     .timeouts(Timeouts::default().connect(Some(Duration::from_secs(5))))
///     .proxy(Proxy::none())
///     .pool_max_idle_per_host(4)
///     .build()
///     .unwrap();
/// assert_eq!(transport.idle_connections(), 0);
///
/// // Custom roots must parse.
/// let err = HyperTransport::builder().add_root_certificates_pem(b"not a pem").build().unwrap_err();
/// assert!(err.is_tls());
/// ```
#[derive(Debug)]
#[must_use]
pub struct HyperTransportBuilder {
    timeouts: Timeouts,
    runtime: Option<Runtime>,
    proxy: Option<Proxy>,
    built_in_roots: bool,
    platform_roots: bool,
    roots_from_env: bool,
    extra_roots_der: Vec<Vec<u8>>,
    extra_roots_pem: Vec<Vec<u8>>,
    allow_plain_http: bool,
    http1_only: bool,
    h2: H2Settings,
    max_idle_per_host: usize,
    pool_idle_timeout: Duration,
}

impl Default for HyperTransportBuilder {
    fn default() -> Self {
        Self {
            timeouts: Timeouts::default(),
            runtime: None,
            proxy: None,
            built_in_roots: true,
            platform_roots: false,
            roots_from_env: true,
            extra_roots_der: Vec::new(),
            extra_roots_pem: Vec::new(),
            allow_plain_http: false,
            http1_only: false,
            h2: H2Settings::DEFAULT,
            max_idle_per_host: 8,
            pool_idle_timeout: Duration::from_secs(90),
        }
    }
}

impl HyperTransportBuilder {
    /// Default timeouts for every request (a [`Timeouts`] in a request's extensions wins).
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Pins the runtime instead of detecting it per connection.
    pub fn runtime(mut self, runtime: Runtime) -> Self {
        self.runtime = Some(runtime);
        self
    }

    /// The proxy setting; default [`Proxy::from_env`], read when [`build`](Self::build) runs
    /// (an unusable proxy variable then makes `build` fail).
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.proxy = Some(proxy);
        self
    }

    /// Whether to trust the built-in Mozilla roots (default `true`). Turn off to trust only
    /// the roots added explicitly. Ignored with `platform_roots(true)` (feature
    /// `platform-roots`) or when `SSL_CERT_FILE` applies.
    pub fn built_in_roots(mut self, enabled: bool) -> Self {
        self.built_in_roots = enabled;
        self
    }

    /// Verifies servers with the operating system's verifier and roots instead of the
    /// built-in Mozilla roots (default `false`); see [`HyperTransport`]'s TLS section.
    /// Roots added explicitly are trusted as well (except on Android, where
    /// [`build`](Self::build) then fails).
    ///
    /// ```
    /// let transport = gemini_transport::HyperTransport::builder()
    ///     .platform_roots(true)
    ///     .build();
    /// ```
    #[cfg(feature = "platform-roots")]
    #[cfg_attr(docsrs, doc(cfg(feature = "platform-roots")))]
    pub fn platform_roots(mut self, enabled: bool) -> Self {
        self.platform_roots = enabled;
        self
    }

    /// Whether a PEM bundle named by the environment variable `SSL_CERT_FILE` replaces the
    /// built-in or platform roots (default `true`), read when [`build`](Self::build) runs.
    pub fn roots_from_env(mut self, enabled: bool) -> Self {
        self.roots_from_env = enabled;
        self
    }

    /// Trusts one more root certificate, DER-encoded.
    pub fn add_root_certificate_der(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.extra_roots_der.push(der.into());
        self
    }

    /// Trusts every certificate in a PEM bundle. [`build`](Self::build) fails with a TLS
    /// error if the bundle holds no certificate or one does not parse.
    pub fn add_root_certificates_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.extra_roots_pem.push(pem.into());
        self
    }

    /// Allows plain `http://` to non-loopback hosts (default `false`: only loopback).
    pub fn allow_plain_http(mut self, allow: bool) -> Self {
        self.allow_plain_http = allow;
        self
    }

    /// Offers only HTTP/1.1 in ALPN (default `false`: HTTP/2 preferred, HTTP/1.1 accepted).
    pub fn http1_only(mut self, only: bool) -> Self {
        self.http1_only = only;
        self
    }

    /// HTTP/2 keep-alive ping interval (default none). Useful to detect dead connections
    /// during long silent phases of thinking models.
    pub fn http2_keep_alive_interval(mut self, interval: Option<Duration>) -> Self {
        self.h2.keep_alive = interval;
        self
    }

    /// HTTP/2 flow control: how many bytes of one response the server may send before this
    /// client has read them (default 8 MiB: one image event of Gemini's image models arrives
    /// without waiting for a window update). Larger values use more memory per stream when
    /// the caller reads slowly.
    pub fn http2_initial_stream_window_size(mut self, bytes: u32) -> Self {
        self.h2.stream_window = bytes;
        self
    }

    /// HTTP/2 flow control for the whole connection, all streams together (default 16 MiB).
    pub fn http2_initial_connection_window_size(mut self, bytes: u32) -> Self {
        self.h2.connection_window = bytes;
        self
    }

    /// The largest HTTP/2 frame this client accepts (16 KiB to 16 MiB - 1; default 256 KiB):
    /// larger frames mean fewer frames, and fewer body chunks, for large events.
    pub fn http2_max_frame_size(mut self, bytes: u32) -> Self {
        self.h2.max_frame_size = bytes;
        self
    }

    /// Most idle HTTP/1.1 connections kept per origin (default 8; 0 disables reuse).
    pub fn pool_max_idle_per_host(mut self, max: usize) -> Self {
        self.max_idle_per_host = max;
        self
    }

    /// How long an idle connection may wait in the pool (default 90 s).
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
        self.pool_idle_timeout = timeout;
        self
    }

    /// Builds the transport.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Tls`] when an added root certificate does not parse, `SSL_CERT_FILE` cannot
    /// be used or the platform verifier cannot start; [`ErrorKind::Proxy`] when a proxy
    /// variable of the environment is unusable (the error names the variable).
    pub fn build(self) -> Result<HyperTransport, TransportError> {
        let proxy = match self.proxy.clone() {
            Some(p) => p,
            None => Proxy::from_env()?,
        };
        let tls = self.tls_config()?;
        let mut proxy_tls = tls.clone();
        proxy_tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let mut tls = tls;
        tls.alpn_protocols = if self.http1_only {
            vec![b"http/1.1".to_vec()]
        } else {
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        };
        Ok(HyperTransport {
            inner: Arc::new(Inner {
                timeouts: self.timeouts,
                runtime: self.runtime,
                proxy,
                tls: Arc::new(tls),
                proxy_tls: Arc::new(proxy_tls),
                allow_plain_http: self.allow_plain_http,
                h2: self.h2,
                pool: Arc::new(Pool::new(self.max_idle_per_host, self.pool_idle_timeout)),
                broken: None,
            }),
        })
    }

    /// The roots added explicitly.
    fn extra_roots(&self) -> Result<Vec<CertificateDer<'static>>, TransportError> {
        let mut roots: Vec<CertificateDer<'static>> = self
            .extra_roots_der
            .iter()
            .map(|der| CertificateDer::from(der.clone()))
            .collect();
        for pem in &self.extra_roots_pem {
            let found = pem_certificates(pem)
                .map_err(|e| tls_err(format!("invalid PEM root certificate: {e}")))?;
            if found.is_empty() {
                return Err(tls_err("no certificate in PEM bundle".into()));
            }
            roots.extend(found);
        }
        Ok(roots)
    }

    /// The TLS configuration (without ALPN) with the roots chosen as documented on
    /// [`HyperTransport`].
    fn tls_config(&self) -> Result<rustls::ClientConfig, TransportError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| TransportError::with_source(ErrorKind::Tls, e))?;
        let extra = self.extra_roots()?;
        let env_file = self
            .roots_from_env
            .then(|| std::env::var_os("SSL_CERT_FILE"))
            .flatten()
            .filter(|v| !v.is_empty());
        let mut roots = rustls::RootCertStore::empty();
        if let Some(path) = env_file {
            add_ssl_cert_file(&mut roots, &path)?;
        } else if self.platform_roots {
            return platform_verifier(builder, provider, extra);
        } else if self.built_in_roots {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        let invalid = |e| {
            TransportError::with_source(ErrorKind::Tls, e).with_message("invalid root certificate")
        };
        for cert in extra {
            roots.add(cert).map_err(invalid)?;
        }
        Ok(builder.with_root_certificates(roots).with_no_client_auth())
    }
}

fn tls_err(msg: String) -> TransportError {
    TransportError::new(ErrorKind::Tls, msg)
}

fn pem_certificates(
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, rustls_pki_types::pem::Error> {
    CertificateDer::pem_slice_iter(pem).collect()
}

/// Adds the certificates of the PEM bundle `SSL_CERT_FILE` names to `roots`.
fn add_ssl_cert_file(
    roots: &mut rustls::RootCertStore,
    path: &std::ffi::OsStr,
) -> Result<(), TransportError> {
    let shown = std::path::Path::new(path).display().to_string();
    let fail = |why: String| tls_err(format!("SSL_CERT_FILE={shown:?}: {why}"));
    let pem = std::fs::read(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
    let certs = pem_certificates(&pem).map_err(|e| fail(format!("invalid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(fail("no certificate in it".into()));
    }
    for cert in certs {
        roots
            .add(cert)
            .map_err(|e| fail(format!("invalid certificate: {e}")))?;
    }
    Ok(())
}

#[cfg(feature = "platform-roots")]
fn platform_verifier(
    builder: rustls::ConfigBuilder<rustls::ClientConfig, rustls::WantsVerifier>,
    provider: Arc<rustls::crypto::CryptoProvider>,
    extra: Vec<CertificateDer<'static>>,
) -> Result<rustls::ClientConfig, TransportError> {
    let fail = |e| {
        TransportError::with_source(ErrorKind::Tls, e)
            .with_message("the platform's certificate verifier could not start")
    };
    #[cfg(not(target_os = "android"))]
    let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider);
    #[cfg(target_os = "android")]
    let verifier = if extra.is_empty() {
        rustls_platform_verifier::Verifier::new(provider)
    } else {
        return Err(tls_err(
            "added root certificates cannot be combined with platform roots on Android".into(),
        ));
    };
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier.map_err(fail)?))
        .with_no_client_auth())
}

#[cfg(not(feature = "platform-roots"))]
fn platform_verifier(
    _: rustls::ConfigBuilder<rustls::ClientConfig, rustls::WantsVerifier>,
    _: Arc<rustls::crypto::CryptoProvider>,
    _: Vec<CertificateDer<'static>>,
) -> Result<rustls::ClientConfig, TransportError> {
    unreachable!("platform_roots can only be set with feature `platform-roots`")
}

impl HyperTransport {
    /// A builder with the documented defaults.
    pub fn builder() -> HyperTransportBuilder {
        HyperTransportBuilder::default()
    }

    /// A transport with the default configuration.
    ///
    /// It reads the environment as [`HyperTransportBuilder::build`] does; where `build` would
    /// fail (an unusable proxy variable or `SSL_CERT_FILE`), the transport returned fails
    /// every request with that error instead. Use the builder to see the error at once.
    ///
    /// ```
    /// let transport = gemini_transport::HyperTransport::new();
    /// assert_eq!(transport.idle_connections(), 0);
    /// ```
    pub fn new() -> Self {
        Self::builder().build().unwrap_or_else(Self::broken)
    }

    /// A transport that fails every request with `err`.
    fn broken(err: TransportError) -> Self {
        let tls = Arc::new(
            rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth(),
        );
        let message = err.to_string();
        let kind = err.kind();
        let message = message
            .strip_prefix(&format!("{kind}: "))
            .unwrap_or(&message)
            .to_owned();
        Self {
            inner: Arc::new(Inner {
                timeouts: Timeouts::default(),
                runtime: None,
                proxy: Proxy::none(),
                proxy_tls: Arc::clone(&tls),
                tls,
                allow_plain_http: false,
                h2: H2Settings::DEFAULT,
                pool: Arc::new(Pool::new(0, Duration::ZERO)),
                broken: Some((kind, message)),
            }),
        }
    }

    /// Idle HTTP/1.1 connections plus open HTTP/2 connections currently pooled.
    pub fn idle_connections(&self) -> usize {
        self.inner.pool.idle_count()
    }
}

impl Default for HyperTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpTransport for HyperTransport {
    fn send(&self, request: http::Request<Bytes>) -> ResponseFuture {
        let inner = Arc::clone(&self.inner);
        ResponseFuture::new(send(inner, request))
    }
}

/// Opens a new connection for `key`, within the connect deadline (kept on the runtime's timer:
/// connections are rare).
///
/// Boxed by its caller: establishing (TCP, tunnel, TLS, handshake, for either runtime) is a
/// large state machine, and inline it made every `send` future, pooled connection or not,
/// kilobytes bigger to move into its box.
async fn connect_new(
    inner: &Inner,
    key: &Arc<Key>,
    deadline: Option<Instant>,
) -> Result<Conn, TransportError> {
    if !key.https && !inner.allow_plain_http && !proxy::is_loopback(&key.host) {
        return Err(invalid(format!(
            "plain http:// to a non-loopback host ({}) needs HyperTransportBuilder::allow_plain_http",
            key.host
        )));
    }
    let establish = connect::establish(ConnectParams {
        key,
        tls: &inner.tls,
        proxy_tls: &inner.proxy_tls,
        h2: &inner.h2,
    });
    let Some(at) = deadline else {
        return establish.await;
    };
    let mut establish = std::pin::pin!(establish);
    let mut delay = key.runtime.delay_until(at);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(r) = establish.as_mut().poll(cx) {
            return Poll::Ready(r);
        }
        match delay.poll_elapsed(cx) {
            Poll::Ready(()) => Poll::Ready(Err(TransportError::new(
                ErrorKind::Timeout(TimeoutKind::Connect),
                format!("connecting to {}:{} took too long", key.host, key.port),
            ))),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

fn invalid(msg: impl Into<String>) -> TransportError {
    TransportError::new(ErrorKind::InvalidRequest, msg)
}

/// The headers and total timeouts while a request waits for its response head.
///
/// The watchdog registration waits for the first `Pending`: by then the request is on its
/// way, so registering overlaps the wait for the server instead of delaying the request. Its
/// deadlines count from the request's start all the same.
struct HeadWatch {
    limits: Limits,
    watch: Option<Option<Watch>>,
}

impl HeadWatch {
    fn new(timeouts: &Timeouts, start: Instant) -> Self {
        Self {
            limits: Limits {
                headers_by: timeouts.response_headers_timeout().map(|d| start + d),
                total_by: timeouts.total_timeout().map(|d| start + d),
                idle: timeouts.idle_timeout(),
            },
            watch: None,
        }
    }

    fn watch(&mut self) -> Result<&mut Option<Watch>, TransportError> {
        if self.watch.is_none() {
            self.watch = Some(Watch::start(self.limits)?);
        }
        Ok(self.watch.as_mut().expect("set above"))
    }

    /// Polls `f`; while it is pending, fails with a timeout that fired.
    fn poll<T>(
        &mut self,
        cx: &mut Context<'_>,
        f: impl FnOnce(&mut Context<'_>) -> Poll<Result<T, TransportError>>,
    ) -> Poll<Result<T, TransportError>> {
        if let Poll::Ready(r) = f(cx) {
            return Poll::Ready(r);
        }
        match self.watch()?.as_mut().and_then(|w| w.check(cx.waker())) {
            Some(err) => Poll::Ready(Err(err)),
            None => Poll::Pending,
        }
    }

    /// Awaits `fut` under the timeouts.
    fn wait<'a, T>(
        &'a mut self,
        mut fut: Pin<&'a mut (dyn Future<Output = Result<T, TransportError>> + Send + 'a)>,
    ) -> impl Future<Output = Result<T, TransportError>> + 'a {
        std::future::poll_fn(move |cx| self.poll(cx, |cx| fut.as_mut().poll(cx)))
    }

    /// The watch to hand on to the body (the idle and total timeouts).
    fn into_watch(mut self) -> Result<Option<Watch>, TransportError> {
        Ok(self.watch()?.take())
    }
}

/// Sends `request`. A plain function returning an `async` block rather than an `async fn`:
/// the arguments then live in the future once (an `async fn` keeps a second copy), and the
/// request is converted before the future is built.
fn send(
    inner: Arc<Inner>,
    request: http::Request<Bytes>,
) -> impl Future<Output = Result<Response, TransportError>> + Send + 'static {
    let start = Instant::now();
    let mut req = request;
    async move {
        if let Some((kind, message)) = &inner.broken {
            return Err(TransportError::new(*kind, message.clone()));
        }
        // A detected runtime is usable by construction; a pinned one is checked.
        let rt = match inner.runtime {
            Some(rt) => {
                rt.check()?;
                rt
            }
            None => Runtime::detect().ok_or_else(|| {
                TransportError::new(
                    ErrorKind::Runtime,
                    "no runtime: enable feature `smol` or call from inside a tokio runtime",
                )
            })?,
        };
        let (mut hw, connect) = {
            let timeouts = req
                .extensions()
                .get::<Timeouts>()
                .unwrap_or(&inner.timeouts);
            let connect = timeouts.connect_timeout().map(|d| start + d);
            (HeadWatch::new(timeouts, start), connect)
        };

        let (head, lease) = 'head: {
            // A pooled connection, if there is one; the origin is owned (allocated) only
            // otherwise.
            let (key, checkout) = {
                let origin = KeyRef::of(req.uri(), rt)?;
                let checkout = inner.pool.checkout(origin, start);
                let key = match &checkout {
                    Checkout::H2(key, _) => Arc::clone(key),
                    Checkout::H1(conn) => Arc::clone(&conn.key),
                    Checkout::None => Arc::new(origin.to_key(&inner.proxy)?),
                };
                (key, checkout)
            };
            let pooled = match checkout {
                Checkout::H2(_, mut sender) => {
                    let ready =
                        std::future::poll_fn(|cx| hw.poll(cx, |cx| sender.poll_ready(cx).map(Ok)));
                    if ready.await?.is_ok() {
                        let sent = hw.wait(Box::pin(send_h2(sender, req)).as_mut()).await?;
                        return Ok(h2_response(sent, hw.into_watch()?));
                    }
                    None
                }
                Checkout::H1(conn) => Some(conn),
                Checkout::None => None,
            };
            let mut lease = Lease::new(Arc::downgrade(&inner.pool), pooled);
            loop {
                let reused = if lease.holds_conn() {
                    true
                } else if let Some(conn) = inner.pool.take_h1(key.as_key_ref(), start) {
                    lease.hold(conn);
                    true
                } else {
                    let mut new = Box::pin(connect_new(&inner, &key, connect));
                    match hw.wait(new.as_mut()).await? {
                        Conn::H1(conn) => lease.hold(conn),
                        Conn::H2(sender) => {
                            inner.pool.put_h2(Arc::clone(&key), sender.clone());
                            let sent = hw.wait(Box::pin(send_h2(sender, req)).as_mut()).await?;
                            return Ok(h2_response(sent, hw.into_watch()?));
                        }
                    }
                    false
                };
                if reused && !lease.conn().is_reusable().await {
                    // Closed by the server while idle, or holding bytes nobody asked for.
                    lease.close();
                    continue;
                }
                prepare_h1(&mut req, &key);
                let exchanged = {
                    let conn = lease.conn();
                    let exchange = std::pin::pin!(async { Ok(conn.exchange(&req).await) });
                    hw.wait(exchange).await?
                };
                match exchanged {
                    Ok(head) => break 'head (head, lease),
                    // A pooled connection the server closed while it was idle: try another.
                    Err(failed) if failed.retry && reused => lease.close(),
                    Err(failed) => return Err(failed.error),
                }
            }
        };
        let body = H1Body::new(head.body, head.keep_alive, lease, hw.into_watch()?);
        Ok(head.response.map(|()| ResponseBody::from_stream(body)))
    }
}

/// An HTTP/2 response, its body under the idle and total timeouts.
fn h2_response(response: http::Response<hyper::body::Incoming>, watch: Option<Watch>) -> Response {
    let (parts, incoming) = response.into_parts();
    http::Response::from_parts(
        parts,
        ResponseBody::from_stream(HyperBody::new(incoming, watch)),
    )
}

async fn send_h2(
    mut sender: hyper::client::conn::http2::SendRequest<pool::ReqBody>,
    req: http::Request<Bytes>,
) -> Result<http::Response<hyper::body::Incoming>, TransportError> {
    let mut req = req.map(Full::new);
    // HTTP/2 carries the authority in `:authority` (from the absolute URI).
    req.headers_mut().remove(HOST);
    *req.version_mut() = http::Version::HTTP_2;
    sender
        .send_request(req)
        .await
        .map_err(|e| map_hyper_error(e, Phase::Head))
}

/// Origin-form URI and `Host` header for a direct HTTP/1.1 request; absolute form (and proxy
/// credentials) when a plain-HTTP request goes to a forwarding proxy.
fn prepare_h1(req: &mut http::Request<Bytes>, key: &Key) {
    *req.version_mut() = http::Version::HTTP_11;
    if !req.headers().contains_key(HOST) {
        req.headers_mut().insert(HOST, key.host_header.clone());
    }
    match &key.proxy {
        Some(p) if !key.https => {
            if let Some(auth) = &p.authorization {
                req.headers_mut().insert(PROXY_AUTHORIZATION, auth.clone());
            }
        }
        _ => {
            if req.uri().scheme().is_some() {
                // Taken apart rather than cloned: cloning would copy the path.
                let pq = std::mem::take(req.uri_mut()).into_parts().path_and_query;
                *req.uri_mut() = Uri::from(pq.unwrap_or_else(|| PathAndQuery::from_static("/")));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_policy_and_invalid_requests() {
        #[cfg(feature = "smol")]
        let rt = Runtime::Smol;
        #[cfg(not(feature = "smol"))]
        let rt = Runtime::Tokio;
        let t = HyperTransport::builder()
            .runtime(rt)
            .proxy(Proxy::none())
            .build()
            .unwrap();
        let run = |uri: &str| {
            let req = http::Request::get(uri).body(Bytes::new()).unwrap();
            let t = t.clone();
            #[cfg(feature = "tokio")]
            {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(t.send(req)).unwrap_err()
            }
            #[cfg(not(feature = "tokio"))]
            futures_lite::future::block_on(t.send(req)).unwrap_err()
        };
        let e = run("http://example.com/");
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        assert!(e.to_string().contains("allow_plain_http"));
        assert_eq!(run("ftp://example.com/").kind(), ErrorKind::InvalidRequest);
        assert_eq!(run("/relative").kind(), ErrorKind::InvalidRequest);
    }

    #[test]
    fn h1_request_is_origin_form_with_host() {
        let rt = Runtime::detect().unwrap_or_else(any_rt);
        for (uri, host, port, host_header, path) in [
            (
                "https://example.com:8443/v1/models?alt=sse",
                "example.com",
                8443,
                "example.com:8443",
                "/v1/models?alt=sse",
            ),
            ("http://127.0.0.1/x", "127.0.0.1", 80, "127.0.0.1", "/x"),
            (
                "https://Example.COM",
                "Example.COM",
                443,
                "Example.COM",
                "/",
            ),
            // Credentials never reach the Host header.
            (
                "https://u:p@example.com/a",
                "example.com",
                443,
                "example.com",
                "/a",
            ),
            ("http://u@[::1]:8080/a", "[::1]", 8080, "[::1]:8080", "/a"),
        ] {
            let mut req = http::Request::get(uri).body(Bytes::new()).unwrap();
            let key = KeyRef::of(req.uri(), rt)
                .unwrap()
                .to_key(&Proxy::none())
                .unwrap();
            assert_eq!((key.host.as_str(), key.port), (host, port), "{uri}");
            prepare_h1(&mut req, &key);
            assert_eq!(req.uri(), path, "{uri}");
            assert_eq!(req.headers()[HOST], host_header, "{uri}");
            assert_eq!(req.version(), http::Version::HTTP_11);
        }
        // A Host header set by the caller is kept.
        let mut req = http::Request::get("http://127.0.0.1:9/")
            .header(HOST, "virtual.example")
            .body(Bytes::new())
            .unwrap();
        let key = KeyRef::of(req.uri(), rt)
            .unwrap()
            .to_key(&Proxy::none())
            .unwrap();
        prepare_h1(&mut req, &key);
        assert_eq!(req.headers()[HOST], "virtual.example");
    }

    #[test]
    fn origins_match_by_scheme_and_authority_ignoring_case() {
        let rt = Runtime::detect().unwrap_or_else(any_rt);
        let uri = |s: &str| s.parse::<Uri>().unwrap();
        let a = uri("https://Example.com:8443/a");
        let key = KeyRef::of(&a, rt).unwrap().to_key(&Proxy::none()).unwrap();
        let same = uri("https://example.COM:8443/b?c");
        assert!(key.matches(KeyRef::of(&same, rt).unwrap()));
        for other in [
            "http://example.com:8443/",
            "https://example.com/",
            "https://example.org:8443/",
        ] {
            let other = uri(other);
            assert!(!key.matches(KeyRef::of(&other, rt).unwrap()), "{other}");
        }
        for bad in ["/relative", "ftp://example.com/"] {
            let e = KeyRef::of(&uri(bad), rt).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{bad}");
        }
        let e = KeyRef::of(&uri("http://:80/"), rt)
            .unwrap()
            .to_key(&Proxy::none())
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    }

    fn any_rt() -> Runtime {
        #[cfg(feature = "smol")]
        return Runtime::Smol;
        #[cfg(not(feature = "smol"))]
        return Runtime::Tokio;
    }
}
