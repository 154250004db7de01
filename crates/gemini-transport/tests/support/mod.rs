//! Loopback servers the integration tests control and observe: HTTP/1.1 and HTTP/2 (over
//! TLS with a certificate generated here), a raw TCP server, and a `CONNECT` proxy. They run
//! on their own tokio runtime thread, independent of the client runtime under test.
#![allow(dead_code)]

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use gemini_transport::{
    HttpTransport, HyperTransport, HyperTransportBuilder, Proxy, Runtime, Timeouts,
};
use http_body::Frame;
use hyper::body::Incoming;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub type Handler = Arc<dyn Fn(http::Request<Incoming>) -> http::Response<TestBody> + Send + Sync>;

/// Runs `f` to completion on the client runtime under test.
pub fn block_on<F: Future>(rt: Runtime, f: F) -> F::Output {
    match rt {
        Runtime::Tokio => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap()
            .block_on(f),
        Runtime::Smol => smol::block_on(f),
        _ => unreachable!(),
    }
}

/// Generates a `tokio` and a `smol` test from one `async fn case(rt: Runtime)`.
#[macro_export]
macro_rules! on_both_runtimes {
    ($($case:ident),* $(,)?) => {
        $(
            mod $case {
                #[test]
                fn tokio() {
                    super::support::block_on(gemini_transport::Runtime::Tokio, super::$case(gemini_transport::Runtime::Tokio));
                }
                #[test]
                fn smol() {
                    super::support::block_on(gemini_transport::Runtime::Smol, super::$case(gemini_transport::Runtime::Smol));
                }
            }
        )*
    };
}

/// A client pinned to `rt`, no proxy, generous timeouts unless overridden.
pub fn client(rt: Runtime) -> HyperTransportBuilder {
    HyperTransport::builder()
        .runtime(rt)
        .proxy(Proxy::none())
        .timeouts(
            Timeouts::default()
                .connect(Some(Duration::from_secs(10)))
                .total(Some(Duration::from_secs(30))),
        )
}

pub fn get(uri: &str) -> http::Request<Bytes> {
    http::Request::get(uri).body(Bytes::new()).unwrap()
}

/// GETs `uri` and reads the whole body; panics on any error.
pub async fn fetch(t: &impl HttpTransport, uri: &str) -> Bytes {
    t.send(get(uri))
        .await
        .unwrap()
        .into_body()
        .collect()
        .await
        .unwrap()
}

/// Polls `cond` every 10 ms on the client runtime until it holds or `limit` passes.
pub async fn wait_until(rt: Runtime, limit: Duration, cond: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    let sleep = rt.sleeper();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        sleep.sleep(Duration::from_millis(10)).await;
    }
    cond()
}

/// A response body fed through a channel, signalling when the server drops it (client went
/// away or reset the stream).
pub struct TestBody {
    rx: Option<tokio::sync::mpsc::Receiver<Bytes>>,
    once: Option<Bytes>,
    on_drop: Option<Arc<AtomicUsize>>,
}

impl TestBody {
    pub fn full(b: impl Into<Bytes>) -> Self {
        Self {
            rx: None,
            once: Some(b.into()),
            on_drop: None,
        }
    }

    /// A body whose chunks are sent through the returned sender; drop it to end the body.
    pub fn channel(dropped: Arc<AtomicUsize>) -> (tokio::sync::mpsc::Sender<Bytes>, Self) {
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        (
            tx,
            Self {
                rx: Some(rx),
                once: None,
                on_drop: Some(dropped),
            },
        )
    }
}

impl Drop for TestBody {
    fn drop(&mut self) {
        if let Some(d) = &self.on_drop {
            d.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl http_body::Body for TestBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if let Some(b) = self.once.take() {
            return Poll::Ready(Some(Ok(Frame::data(b))));
        }
        match &mut self.rx {
            Some(rx) => rx.poll_recv(cx).map(|o| o.map(|b| Ok(Frame::data(b)))),
            None => Poll::Ready(None),
        }
    }
}

/// Observations shared with the tests.
#[derive(Default)]
pub struct Stats {
    pub accepted: AtomicUsize,
    pub closed: AtomicUsize,
    pub versions: Mutex<Vec<http::Version>>,
}

pub struct Server {
    pub addr: SocketAddr,
    pub stats: Arc<Stats>,
    pub cert_pem: Option<String>,
    rt: Option<tokio::runtime::Runtime>,
}

impl Drop for Server {
    fn drop(&mut self) {
        // Tests may end inside a client tokio runtime, where a blocking shutdown panics.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

fn bind() -> (std::net::TcpListener, SocketAddr) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let addr = l.local_addr().unwrap();
    (l, addr)
}

impl Server {
    pub fn http_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.addr.port())
    }
    pub fn https_url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.addr.port())
    }
    pub fn accepted(&self) -> usize {
        self.stats.accepted.load(Ordering::SeqCst)
    }
    pub fn closed(&self) -> usize {
        self.stats.closed.load(Ordering::SeqCst)
    }
}

pub fn server_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// A host name that resolves nowhere: only a proxy that tunnels to a test server reaches it.
pub const REMOTE_HOST: &str = "gemini.test";

/// A self-signed certificate for `localhost`, `127.0.0.1` and [`REMOTE_HOST`]: (cert PEM,
/// cert DER, key DER).
pub fn self_signed() -> (String, Vec<u8>, Vec<u8>) {
    let ck = rcgen::generate_simple_self_signed(vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        REMOTE_HOST.to_owned(),
    ])
    .unwrap();
    (
        ck.cert.pem(),
        ck.cert.der().to_vec(),
        ck.signing_key.serialize_der(),
    )
}

fn tls_acceptor(cert_der: Vec<u8>, key_der: Vec<u8>, alpn: &[&[u8]]) -> tokio_rustls::TlsAcceptor {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![rustls::pki_types::CertificateDer::from(cert_der)],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key_der.into()),
        )
        .unwrap();
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    tokio_rustls::TlsAcceptor::from(Arc::new(cfg))
}

/// Starts an HTTP server (plain HTTP/1.1, or TLS offering `alpn`, serving HTTP/2 when
/// negotiated) answering with `handler`.
pub fn start(tls_alpn: Option<&[&[u8]]>, handler: Handler) -> Server {
    let rt = server_runtime();
    let stats = Arc::new(Stats::default());
    let (std_listener, addr) = bind();
    let (cert_pem, acceptor) = match tls_alpn {
        Some(alpn) => {
            let (pem, der, key) = self_signed();
            (Some(pem), Some(tls_acceptor(der, key, alpn)))
        }
        None => (None, None),
    };
    let st = Arc::clone(&stats);
    rt.spawn(async move {
        let listener = TcpListener::from_std(std_listener).unwrap();
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            st.accepted.fetch_add(1, Ordering::SeqCst);
            let (st, handler, acceptor) = (Arc::clone(&st), Arc::clone(&handler), acceptor.clone());
            tokio::spawn(async move {
                let svc = {
                    let st = Arc::clone(&st);
                    hyper::service::service_fn(move |req: http::Request<Incoming>| {
                        st.versions.lock().unwrap().push(req.version());
                        let resp = handler(req);
                        async move { Ok::<_, Infallible>(resp) }
                    })
                };
                match acceptor {
                    None => {
                        let io = hyper_util::rt::TokioIo::new(tcp);
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(io, svc)
                            .await;
                    }
                    Some(acceptor) => {
                        let Ok(tls) = acceptor.accept(tcp).await else {
                            st.closed.fetch_add(1, Ordering::SeqCst);
                            return;
                        };
                        let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
                        let io = hyper_util::rt::TokioIo::new(tls);
                        if h2 {
                            let _ = hyper::server::conn::http2::Builder::new(
                                hyper_util::rt::TokioExecutor::new(),
                            )
                            .serve_connection(io, svc)
                            .await;
                        } else {
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(io, svc)
                                .await;
                        }
                    }
                }
                st.closed.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    Server {
        addr,
        stats,
        cert_pem,
        rt: Some(rt),
    }
}

/// A handler answering `body` with status 200.
pub fn ok(body: &'static str) -> Handler {
    Arc::new(move |_req| http::Response::new(TestBody::full(body)))
}

/// A handler streaming `chunk` every `every` until the client goes away, counting dropped
/// bodies in `dropped`.
pub fn endless(chunk: &'static str, every: Duration, dropped: Arc<AtomicUsize>) -> Handler {
    Arc::new(move |_req| {
        let (tx, body) = TestBody::channel(Arc::clone(&dropped));
        tokio::spawn(async move {
            while tx.send(Bytes::from_static(chunk.as_bytes())).await.is_ok() {
                tokio::time::sleep(every).await;
            }
        });
        http::Response::new(body)
    })
}

/// A byte stream a raw server handler talks over: TCP, or TLS over TCP.
pub trait Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Stream for T {}
pub type Io = Box<dyn Stream>;

/// A raw TCP server: each accepted connection is handed to `f` on the server runtime.
pub fn raw<F, Fut>(f: F) -> Server
where
    F: Fn(Io) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    raw_server(None, f)
}

/// A raw server over TLS (HTTP/1.1 by ALPN, a certificate of [`self_signed`]): each
/// connection is handed to `f` after the handshake.
pub fn raw_tls<F, Fut>(f: F) -> Server
where
    F: Fn(Io) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (pem, der, key) = self_signed();
    let mut server = raw_server(Some(tls_acceptor(der, key, &[b"http/1.1"])), f);
    server.cert_pem = Some(pem);
    server
}

fn raw_server<F, Fut>(acceptor: Option<tokio_rustls::TlsAcceptor>, f: F) -> Server
where
    F: Fn(Io) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let f = Arc::new(f);
    raw_tcp(move |tcp| {
        let (f, acceptor) = (Arc::clone(&f), acceptor.clone());
        async move {
            match acceptor {
                None => f(Box::new(tcp)).await,
                Some(acceptor) => {
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        f(Box::new(tls)).await;
                    }
                }
            }
        }
    })
}

/// A raw TCP server handing each accepted connection to `f` as the socket itself (to reset
/// it, for example). `TCP_NODELAY` is set: each write leaves at once, as a segment of its own.
pub fn raw_tcp<F, Fut>(f: F) -> Server
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let rt = server_runtime();
    let stats = Arc::new(Stats::default());
    let (std_listener, addr) = bind();
    let st = Arc::clone(&stats);
    let f = Arc::new(f);
    rt.spawn(async move {
        let listener = TcpListener::from_std(std_listener).unwrap();
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            st.accepted.fetch_add(1, Ordering::SeqCst);
            tcp.set_nodelay(true).unwrap();
            tokio::spawn(f(tcp));
        }
    });
    Server {
        addr,
        stats,
        cert_pem: None,
        rt: Some(rt),
    }
}

/// Reads an HTTP/1 request head (up to the blank line).
pub async fn read_head(tcp: &mut (impl tokio::io::AsyncRead + Unpin)) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if tcp.read(&mut byte).await.unwrap_or(0) == 0 {
            break;
        }
        buf.push(byte[0]);
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// Reads an HTTP/1 request: its head (empty if the connection closed before one) and the
/// `content-length` bytes of body that follow it.
pub async fn read_request(io: &mut (impl tokio::io::AsyncRead + Unpin)) -> (String, Vec<u8>) {
    let head = read_head(io).await;
    let len = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, value)| value.trim().parse::<usize>().unwrap());
    let mut body = vec![0; len];
    if io.read_exact(&mut body).await.is_err() {
        body.clear();
    }
    (head, body)
}

/// What the proxy saw.
#[derive(Default)]
pub struct ProxyLog {
    pub heads: Mutex<Vec<String>>,
}

/// A `CONNECT` proxy: answers `status` and, when it is 200, tunnels to the requested target.
pub fn connect_proxy(status: u16) -> (Server, Arc<ProxyLog>) {
    proxy_server(false, status, None)
}

/// A `CONNECT` proxy (over TLS when `tls`) that answers `status` and, when it is 200, tunnels
/// to `upstream` if given, else to the requested target.
pub fn proxy_server(
    tls: bool,
    status: u16,
    upstream: Option<SocketAddr>,
) -> (Server, Arc<ProxyLog>) {
    let log = Arc::new(ProxyLog::default());
    let l = Arc::clone(&log);
    let handler = move |mut tcp: Io| {
        let l = Arc::clone(&l);
        async move {
            let head = read_head(&mut tcp).await;
            l.heads.lock().unwrap().push(head.clone());
            let target = head
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_owned();
            if status != 200 || !head.starts_with("CONNECT ") {
                let _ = tcp
                    .write_all(
                        format!("HTTP/1.1 {status} Nope\r\ncontent-length: 0\r\n\r\n").as_bytes(),
                    )
                    .await;
                return;
            }
            let upstream = match upstream {
                Some(addr) => TcpStream::connect(addr).await,
                None => TcpStream::connect(target).await,
            };
            let Ok(mut upstream) = upstream else {
                return;
            };
            tcp.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .await
                .unwrap();
            let _ = tokio::io::copy_bidirectional(&mut tcp, &mut upstream).await;
        }
    };
    let server = if tls { raw_tls(handler) } else { raw(handler) };
    (server, log)
}

/// The three ways the hyper backend talks to a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Plain HTTP/1.1 (the hand-driven connection).
    Plain,
    /// HTTP/1.1 over TLS (the hand-driven connection).
    TlsH1,
    /// HTTP/2 over TLS (a spawned connection task).
    TlsH2,
}

pub const BACKENDS: [Backend; 3] = [Backend::Plain, Backend::TlsH1, Backend::TlsH2];

impl Backend {
    /// Starts a server for this backend answering with `handler`.
    pub fn start(self, handler: Handler) -> Server {
        match self {
            Backend::Plain => start(None, handler),
            Backend::TlsH1 => start(Some(&[b"http/1.1"]), handler),
            Backend::TlsH2 => start(Some(&[b"h2"]), handler),
        }
    }

    /// A client on `rt` that trusts `server`.
    pub fn client(self, rt: Runtime, server: &Server) -> HyperTransportBuilder {
        match &server.cert_pem {
            Some(pem) => client(rt).add_root_certificates_pem(pem.clone()),
            None => client(rt),
        }
    }

    pub fn url(self, server: &Server, path: &str) -> String {
        match self {
            Backend::Plain => server.http_url(path),
            Backend::TlsH1 | Backend::TlsH2 => server.https_url(path),
        }
    }

    pub fn version(self) -> http::Version {
        match self {
            Backend::TlsH2 => http::Version::HTTP_2,
            _ => http::Version::HTTP_11,
        }
    }
}

/// A handler answering with one chunk, `first`, then holding the body open and silent for 30 s.
pub fn first_then_silence(first: &'static str) -> Handler {
    Arc::new(move |_req| {
        let (tx, body) = TestBody::channel(Arc::default());
        tokio::spawn(async move {
            let _ = tx.send(Bytes::from_static(first.as_bytes())).await;
            tokio::time::sleep(Duration::from_secs(30)).await;
            drop(tx);
        });
        http::Response::new(body)
    })
}

/// A keep-alive server that drops connections left idle for `idle`, as servers and load
/// balancers do, without announcing it (no `Connection: close`, no GOAWAY): HTTP/1.1 answering
/// `body` to every request (over TLS for [`Backend::TlsH1`]), or HTTP/2 for
/// [`Backend::TlsH2`].
pub fn drops_idle_connections(backend: Backend, idle: Duration, body: &'static str) -> Server {
    let h1 = move |mut io: Io| async move {
        loop {
            // The next request, if it comes in time.
            let head = match tokio::time::timeout(idle, read_head(&mut io)).await {
                Ok(head) if !head.is_empty() => head,
                _ => return,
            };
            assert!(!head.to_ascii_lowercase().contains("connection: close"));
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            if io.write_all(response.as_bytes()).await.is_err() {
                return;
            }
        }
    };
    match backend {
        Backend::Plain => raw(h1),
        Backend::TlsH1 => raw_tls(h1),
        Backend::TlsH2 => {
            let (pem, der, key) = self_signed();
            let acceptor = tls_acceptor(der, key, &[b"h2"]);
            let mut server = raw_server(None, move |io: Io| {
                let acceptor = acceptor.clone();
                async move {
                    let Ok(tls) = acceptor.accept(io).await else {
                        return;
                    };
                    let svc = hyper::service::service_fn(move |_req| async move {
                        Ok::<_, Infallible>(http::Response::new(TestBody::full(body)))
                    });
                    let conn = hyper::server::conn::http2::Builder::new(
                        hyper_util::rt::TokioExecutor::new(),
                    )
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), svc);
                    // The test's requests take far less than `idle`; then the connection is
                    // dropped, socket and all.
                    let _ = tokio::time::timeout(idle, conn).await;
                }
            });
            server.cert_pem = Some(pem);
            server
        }
    }
}
