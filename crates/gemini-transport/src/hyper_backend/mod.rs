//! The production backend: hyper 1.x client connections, rustls, a small pool.

mod body;
mod connect;
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
use http::header::{HOST, HeaderValue, PROXY_AUTHORIZATION};
use http::uri::{PathAndQuery, Uri};
use http_body_util::Full;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

pub use proxy::Proxy;

use self::body::{HyperBody, Lease, Phase, map_hyper_error};
use self::connect::{Conn, ConnectParams};
use self::pool::{Checkout, ConnDriver, H1Conn, Key, KeyRef, Pool};
use self::watchdog::{Limits, Watch};
use crate::{
    ErrorKind, HttpTransport, Response, ResponseBody, ResponseFuture, Runtime, TimeoutKind,
    Timeouts, TransportError,
};

/// The production [`HttpTransport`]: hyper 1.x over rustls, on tokio or smol.
///
/// * HTTP/1.1 and HTTP/2, negotiated by ALPN over TLS (plain HTTP is HTTP/1.1 only);
/// * connection reuse: idle HTTP/1.1 connections are pooled per origin (bounded, expiring),
///   HTTP/2 connections are shared; `TCP_NODELAY` is set;
/// * a body dropped before its end closes its HTTP/1.1 connection (HTTP/2: resets its stream);
/// * proxies from `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` by default, or set explicitly
///   ([`Proxy`]);
/// * plain `http://` only to loopback hosts unless [`allow_plain_http`] is set.
///
/// # TLS
///
/// rustls with the *ring* crypto provider, set on this transport's own configuration (not
/// the process-wide default, so another crate's choice cannot change or break it). *ring*
/// was chosen over aws-lc-rs because it builds with a plain C compiler (no cmake, no nasm)
/// and quickly, which matters for users' CI and for cross-compiling. The default roots are
/// Mozilla's, compiled in through `webpki-roots`: reproducible, identical on every OS, no
/// dependence on the system store. Add private roots (a corporate TLS-inspecting proxy, a
/// test server) with [`add_root_certificates_pem`] or [`add_root_certificate_der`].
///
/// # Runtimes
///
/// With feature `tokio` it runs on tokio (the runtime needs IO and time enabled), with
/// feature `smol` on async-io/smol (any executor). With both, it uses tokio when called
/// inside a tokio runtime and smol otherwise, unless [`runtime`] pins one.
///
/// [`allow_plain_http`]: HyperTransportBuilder::allow_plain_http
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
    allow_plain_http: bool,
    h2_keep_alive: Option<Duration>,
    pool: Arc<Pool>,
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
    extra_roots_der: Vec<Vec<u8>>,
    extra_roots_pem: Vec<Vec<u8>>,
    allow_plain_http: bool,
    http1_only: bool,
    h2_keep_alive: Option<Duration>,
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
            extra_roots_der: Vec::new(),
            extra_roots_pem: Vec::new(),
            allow_plain_http: false,
            http1_only: false,
            h2_keep_alive: None,
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

    /// The proxy setting; default [`Proxy::from_env`], read when [`build`](Self::build) runs.
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.proxy = Some(proxy);
        self
    }

    /// Whether to trust the built-in Mozilla roots (default `true`). Turn off to trust only
    /// the roots added explicitly.
    pub fn built_in_roots(mut self, enabled: bool) -> Self {
        self.built_in_roots = enabled;
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
        self.h2_keep_alive = interval;
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
    pub fn build(self) -> Result<HyperTransport, TransportError> {
        let tls_err = |msg: String| TransportError::new(ErrorKind::Tls, msg);
        let mut roots = rustls::RootCertStore::empty();
        if self.built_in_roots {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        for der in self.extra_roots_der {
            roots.add(CertificateDer::from(der)).map_err(|e| {
                TransportError::with_source(ErrorKind::Tls, e)
                    .with_message("invalid root certificate")
            })?;
        }
        for pem in self.extra_roots_pem {
            let mut n = 0;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert =
                    cert.map_err(|e| tls_err(format!("invalid PEM root certificate: {e}")))?;
                roots.add(cert).map_err(|e| {
                    TransportError::with_source(ErrorKind::Tls, e)
                        .with_message("invalid root certificate")
                })?;
                n += 1;
            }
            if n == 0 {
                return Err(tls_err("no certificate in PEM bundle".into()));
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TransportError::with_source(ErrorKind::Tls, e))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        tls.alpn_protocols = if self.http1_only {
            vec![b"http/1.1".to_vec()]
        } else {
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        };
        Ok(HyperTransport {
            inner: Arc::new(Inner {
                timeouts: self.timeouts,
                runtime: self.runtime,
                proxy: self.proxy.unwrap_or_else(Proxy::from_env),
                tls: Arc::new(tls),
                allow_plain_http: self.allow_plain_http,
                h2_keep_alive: self.h2_keep_alive,
                pool: Arc::new(Pool::new(self.max_idle_per_host, self.pool_idle_timeout)),
            }),
        })
    }
}

impl HyperTransport {
    /// A builder with the documented defaults.
    pub fn builder() -> HyperTransportBuilder {
        HyperTransportBuilder::default()
    }

    /// A transport with the default configuration.
    ///
    /// ```
    /// let transport = gemini_transport::HyperTransport::new();
    /// assert_eq!(transport.idle_connections(), 0);
    /// ```
    pub fn new() -> Self {
        Self::builder()
            .build()
            .expect("the default configuration is valid")
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
    proxy: Option<&proxy::ProxyUrl>,
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
        proxy,
        tls: &inner.tls,
        h2_keep_alive: inner.h2_keep_alive,
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
    start: Instant,
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
            start,
            watch: None,
        }
    }

    fn watch(&mut self) -> Result<&mut Option<Watch>, TransportError> {
        if self.watch.is_none() {
            self.watch = Some(Watch::start(self.limits, self.start)?);
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

    /// Awaits `f`, which the connection behind `driver` feeds, under the timeouts.
    fn drive<'a, T>(
        &'a mut self,
        driver: &'a mut ConnDriver,
        mut f: impl FnMut(&mut Context<'_>) -> Poll<T> + 'a,
    ) -> impl Future<Output = Result<T, TransportError>> + 'a {
        std::future::poll_fn(move |cx| self.poll(cx, |cx| driver.poll_with(cx, &mut f).map(Ok)))
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
    let mut req = request.map(Full::new);
    async move {
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

        let (response, lease) = 'head: {
            // A pooled connection, if there is one; the origin is owned (allocated) only
            // otherwise.
            let (key, checkout) = {
                let origin = KeyRef::of(req.uri(), rt)?;
                let checkout = inner.pool.checkout(origin, start);
                let key = match &checkout {
                    Checkout::H2(key, _) => Arc::clone(key),
                    Checkout::H1(conn) => Arc::clone(&conn.key),
                    Checkout::None => Arc::new(origin.to_key()?),
                };
                (key, checkout)
            };
            let pooled = match checkout {
                Checkout::H2(_, mut sender) => {
                    let ready =
                        std::future::poll_fn(|cx| hw.poll(cx, |cx| sender.poll_ready(cx).map(Ok)));
                    if ready.await?.is_ok() {
                        break 'head hw.wait(Box::pin(send_h2(sender, req)).as_mut()).await?;
                    }
                    None
                }
                Checkout::H1(conn) => Some(conn),
                Checkout::None => None,
            };
            let proxy = inner.proxy.select(&key.host, key.port, key.https);
            let mut lease = Lease::new(Arc::downgrade(&inner.pool), pooled);
            loop {
                let reused = if lease.holds_conn() {
                    true
                } else if let Some(conn) = inner.pool.take_h1(key.as_key_ref(), start) {
                    lease.hold(conn);
                    true
                } else {
                    let mut new = Box::pin(connect_new(&inner, &key, proxy, connect));
                    match hw.wait(new.as_mut()).await? {
                        Conn::H1(conn) => lease.hold(conn),
                        Conn::H2(sender) => {
                            inner.pool.put_h2(Arc::clone(&key), sender.clone());
                            break 'head hw.wait(Box::pin(send_h2(sender, req)).as_mut()).await?;
                        }
                    }
                    false
                };
                prepare_h1(&mut req, &key, proxy)?;
                let H1Conn { sender, driver, .. } = lease.conn();
                if hw.drive(driver, |cx| sender.poll_ready(cx)).await?.is_err() {
                    if reused {
                        // The pooled connection died while idle: try another.
                        lease.close();
                        continue;
                    }
                    return Err(TransportError::new(
                        ErrorKind::ConnectionClosed,
                        "connection closed before the request was sent",
                    ));
                }
                let mut sent = std::pin::pin!(driver.handing_over(|| sender.try_send_request(req)));
                match hw.drive(driver, |cx| sent.as_mut().poll(cx)).await? {
                    Ok(resp) => break 'head (resp, Some(lease)),
                    Err(mut e) => match e.take_message() {
                        // Not sent at all on a reused connection (it was closing): retry on
                        // another.
                        Some(r) if reused => {
                            req = r;
                            lease.close();
                            continue;
                        }
                        _ => return Err(map_hyper_error(e.into_error(), Phase::Head)),
                    },
                }
            }
        };
        let (parts, incoming) = response.into_parts();
        let body = HyperBody::new(incoming, lease, hw.into_watch()?);
        Ok(http::Response::from_parts(
            parts,
            ResponseBody::from_stream(body),
        ))
    }
}

type HeadResult = Result<(http::Response<hyper::body::Incoming>, Option<Lease>), TransportError>;

async fn send_h2(
    mut sender: hyper::client::conn::http2::SendRequest<pool::ReqBody>,
    mut req: http::Request<pool::ReqBody>,
) -> HeadResult {
    // HTTP/2 carries the authority in `:authority` (from the absolute URI).
    req.headers_mut().remove(HOST);
    *req.version_mut() = http::Version::HTTP_2;
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| map_hyper_error(e, Phase::Head))?;
    Ok((resp, None))
}

/// Origin-form URI and `Host` header for a direct HTTP/1.1 request; absolute form (and proxy
/// credentials) when a plain-HTTP request goes to a forwarding proxy.
fn prepare_h1(
    req: &mut http::Request<pool::ReqBody>,
    key: &Key,
    proxy: Option<&proxy::ProxyUrl>,
) -> Result<(), TransportError> {
    *req.version_mut() = http::Version::HTTP_11;
    if !req.headers().contains_key(HOST) {
        req.headers_mut().insert(HOST, key.host_header.clone());
    }
    match proxy {
        Some(p) if !key.https => {
            if let Some(auth) = &p.authorization {
                let mut value = HeaderValue::from_str(auth)
                    .map_err(|_| invalid("invalid proxy credentials"))?;
                value.set_sensitive(true);
                req.headers_mut().insert(PROXY_AUTHORIZATION, value);
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
    Ok(())
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
            let mut req = http::Request::get(uri)
                .body(Full::new(Bytes::new()))
                .unwrap();
            let key = KeyRef::of(req.uri(), rt).unwrap().to_key().unwrap();
            assert_eq!((key.host.as_str(), key.port), (host, port), "{uri}");
            prepare_h1(&mut req, &key, None).unwrap();
            assert_eq!(req.uri(), path, "{uri}");
            assert_eq!(req.headers()[HOST], host_header, "{uri}");
            assert_eq!(req.version(), http::Version::HTTP_11);
        }
        // A Host header set by the caller is kept.
        let mut req = http::Request::get("http://127.0.0.1:9/")
            .header(HOST, "virtual.example")
            .body(Full::new(Bytes::new()))
            .unwrap();
        let key = KeyRef::of(req.uri(), rt).unwrap().to_key().unwrap();
        prepare_h1(&mut req, &key, None).unwrap();
        assert_eq!(req.headers()[HOST], "virtual.example");
    }

    #[test]
    fn origins_match_by_scheme_and_authority_ignoring_case() {
        let rt = Runtime::detect().unwrap_or_else(any_rt);
        let uri = |s: &str| s.parse::<Uri>().unwrap();
        let a = uri("https://Example.com:8443/a");
        let key = KeyRef::of(&a, rt).unwrap().to_key().unwrap();
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
            .to_key()
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
