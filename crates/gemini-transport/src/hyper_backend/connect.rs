//! Establishing connections: TCP (+ TLS to an `https://` proxy) (+ `CONNECT` tunnel) (+ TLS
//! with ALPN), then, for HTTP/2, hyper's handshake, on either runtime.

use std::io;
use std::sync::Arc;

use hyper::client::conn::http2;
use rustls::ClientConfig;
use rustls_pki_types::ServerName;

use super::h1::{H1Conn, Io};
use super::pool::{Key, ReqBody};
use super::proxy::{self, ProxyUrl};
use crate::rt::{Exec, HyperTimer};
use crate::{ErrorKind, Runtime, TransportError};

/// A freshly established connection.
#[derive(Debug)]
pub(crate) enum Conn {
    H1(H1Conn),
    H2(http2::SendRequest<ReqBody>),
}

#[derive(Debug)]
pub(crate) struct ConnectParams<'a> {
    pub(crate) key: &'a Arc<Key>,
    /// TLS to servers (ALPN `h2` and `http/1.1`, or `http/1.1` only).
    pub(crate) tls: &'a Arc<ClientConfig>,
    /// TLS to `https://` proxies (ALPN `http/1.1`: tunnels and forwarding are HTTP/1.1).
    pub(crate) proxy_tls: &'a Arc<ClientConfig>,
    pub(crate) h2: &'a H2Settings,
}

/// How HTTP/2 connections are set up (see `HyperTransportBuilder::http2_*`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct H2Settings {
    pub(crate) keep_alive: Option<std::time::Duration>,
    pub(crate) stream_window: u32,
    pub(crate) connection_window: u32,
    pub(crate) max_frame_size: u32,
}

impl H2Settings {
    /// The defaults, chosen with `benches/transport_paths.rs` (see the crate README).
    pub(crate) const DEFAULT: Self = Self {
        keep_alive: None,
        stream_window: 8 * 1024 * 1024,
        connection_window: 16 * 1024 * 1024,
        max_frame_size: 256 * 1024,
    };
}

fn strip_brackets(host: &str) -> &str {
    host.trim_start_matches('[').trim_end_matches(']')
}

fn connect_error(e: io::Error, what: &str) -> TransportError {
    TransportError::with_source(ErrorKind::Connect, e).with_message(format!("connecting to {what}"))
}

fn tls_error(e: io::Error, with: &str) -> TransportError {
    // tokio-rustls/futures-rustls carry the rustls error inside the io::Error; keep the
    // source chain, flatten the message.
    let msg = format!("TLS handshake with the {with} failed: {e}");
    TransportError::with_source(ErrorKind::Tls, e).with_message(msg)
}

fn server_name(host: &str) -> Result<ServerName<'static>, TransportError> {
    ServerName::try_from(strip_brackets(host).to_owned()).map_err(|e| {
        TransportError::with_source(ErrorKind::InvalidRequest, e)
            .with_message(format!("invalid TLS server name {host:?}"))
    })
}

pub(crate) async fn establish(p: ConnectParams<'_>) -> Result<Conn, TransportError> {
    match p.key.runtime {
        #[cfg(feature = "tokio")]
        Runtime::Tokio => tokio_rt::establish(p).await,
        #[cfg(feature = "smol")]
        Runtime::Smol => smol_rt::establish(p).await,
    }
}

/// hyper's HTTP/2 handshake; the connection runs as a task of its own on `rt`.
async fn handshake_h2<I>(io: I, rt: Runtime, p: &ConnectParams<'_>) -> Result<Conn, TransportError>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let mut b = http2::Builder::new(Exec(rt));
    b.timer(HyperTimer(rt))
        .initial_stream_window_size(p.h2.stream_window)
        .initial_connection_window_size(p.h2.connection_window)
        .max_frame_size(p.h2.max_frame_size);
    if let Some(interval) = p.h2.keep_alive {
        b.keep_alive_interval(interval).keep_alive_while_idle(true);
    }
    let (sender, conn) = b.handshake(io).await.map_err(|e| {
        TransportError::with_source(ErrorKind::Protocol, e).with_message("HTTP/2 handshake failed")
    })?;
    rt.spawn(async move {
        let _ = conn.await;
    });
    Ok(Conn::H2(sender))
}

/// An HTTP/1.1 connection over `io` (no handshake: the first request goes out as is).
fn h1(io: impl Io, p: &ConnectParams<'_>) -> Conn {
    Conn::H1(H1Conn::new(Box::new(io), Arc::clone(p.key)))
}

/// An I/O failure while opening a CONNECT tunnel.
#[cfg(any(feature = "tokio", feature = "smol"))]
fn tunnel_io_error(e: io::Error) -> TransportError {
    TransportError::with_source(ErrorKind::Proxy, e).with_message("proxy tunnel I/O failed")
}

/// The proxy's reply to CONNECT, collected read by read (the same for both runtimes).
#[cfg(any(feature = "tokio", feature = "smol"))]
#[derive(Default)]
struct ConnectReply {
    buf: Vec<u8>,
}

#[cfg(any(feature = "tokio", feature = "smol"))]
impl ConnectReply {
    /// Takes the bytes of one read (empty: the proxy closed the connection). `Ok(true)` once the
    /// reply's header is complete and the tunnel is open.
    fn feed(&mut self, read: &[u8]) -> Result<bool, TransportError> {
        if read.is_empty() {
            return Err(TransportError::new(
                ErrorKind::Proxy,
                "proxy closed the connection during CONNECT",
            ));
        }
        self.buf.extend_from_slice(read);
        match proxy::parse_connect_response(&self.buf)? {
            Some(end) if end != self.buf.len() => Err(TransportError::new(
                ErrorKind::Proxy,
                "proxy sent data before the tunnel was used",
            )),
            Some(_) => Ok(true),
            None => Ok(false),
        }
    }
}

/// The connection steps for one runtime. They are the same on tokio and smol; only the TCP
/// stream, the I/O traits, the TLS connector and the adapter to hyper's I/O traits differ, so
/// the steps are written once here and instantiated per runtime below.
#[cfg(any(feature = "tokio", feature = "smol"))]
macro_rules! runtime_connector {
    (
        $(#[$attr:meta])*
        mod $name:ident {
            $($uses:item)*
        }
        tcp: $tcp:ty,
        tls: $connector:ty,
        h1: $h1:path,
        h2: $h2:path $(,)?
    ) => {
        $(#[$attr])*
        mod $name {
            $($uses)*

            use super::*;

            /// A byte stream the next step can run over: TCP, or TLS over TCP to a proxy.
            trait Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
            impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Stream for T {}

            async fn tcp(host: &str, port: u16) -> io::Result<$tcp> {
                let s = <$tcp>::connect((strip_brackets(host), port)).await?;
                s.set_nodelay(true)?;
                Ok(s)
            }

            async fn tunnel(
                s: &mut impl Stream,
                host: &str,
                port: u16,
                proxy: &ProxyUrl,
            ) -> Result<(), TransportError> {
                s.write_all(&proxy::connect_request(host, port, proxy))
                    .await
                    .map_err(tunnel_io_error)?;
                s.flush().await.map_err(tunnel_io_error)?;
                let mut reply = ConnectReply::default();
                let mut chunk = [0u8; 512];
                loop {
                    let n = s.read(&mut chunk).await.map_err(tunnel_io_error)?;
                    if reply.feed(&chunk[..n])? {
                        return Ok(());
                    }
                }
            }

            pub(super) async fn establish(p: ConnectParams<'_>) -> Result<Conn, TransportError> {
                let key = p.key;
                let Some(proxy) = &key.proxy else {
                    let s = tcp(&key.host, key.port)
                        .await
                        .map_err(|e| connect_error(e, "server"))?;
                    return to_server(s, &p).await;
                };
                let s = tcp(&proxy.host, proxy.port)
                    .await
                    .map_err(|e| connect_error(e, "proxy"))?;
                if !proxy.https {
                    return through(s, proxy, &p).await;
                }
                let s = <$connector>::from(Arc::clone(p.proxy_tls))
                    .connect(server_name(&proxy.host)?, s)
                    .await
                    .map_err(|e| tls_error(e, "proxy"))?;
                through(s, proxy, &p).await
            }

            /// On from a connection to `proxy`: a tunnel for HTTPS targets (plain-HTTP
            /// requests go to the proxy itself, in absolute form).
            async fn through(
                mut s: impl Stream,
                proxy: &ProxyUrl,
                p: &ConnectParams<'_>,
            ) -> Result<Conn, TransportError> {
                if p.key.https {
                    tunnel(&mut s, &p.key.host, p.key.port, proxy).await?;
                }
                to_server(s, p).await
            }

            /// TLS to the server for HTTPS targets, then HTTP/2 if ALPN chose it.
            async fn to_server(s: impl Stream, p: &ConnectParams<'_>) -> Result<Conn, TransportError> {
                let key = p.key;
                if !key.https {
                    return Ok(h1($h1(s), p));
                }
                let tls = <$connector>::from(Arc::clone(p.tls))
                    .connect(server_name(&key.host)?, s)
                    .await
                    .map_err(|e| tls_error(e, "server"))?;
                if tls.get_ref().1.alpn_protocol() == Some(b"h2") {
                    return handshake_h2($h2(tls), key.runtime, p).await;
                }
                Ok(h1($h1(tls), p))
            }
        }
    };
}

runtime_connector! {
    #[cfg(feature = "tokio")]
    mod tokio_rt {
        use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
    }
    tcp: tokio::net::TcpStream,
    tls: tokio_rustls::TlsConnector,
    h1: crate::hyper_backend::h1::TokioStream,
    h2: hyper_util::rt::TokioIo::new,
}

runtime_connector! {
    #[cfg(feature = "smol")]
    mod smol_rt {
        use futures_lite::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
    }
    tcp: async_net::TcpStream,
    tls: futures_rustls::TlsConnector,
    h1: crate::hyper_backend::h1::FuturesStream::new,
    h2: crate::rt::smol_io::FuturesIo::new,
}
