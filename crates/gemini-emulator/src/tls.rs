//! TLS serving: a certificate authority made at start, a server certificate it signs for
//! `localhost`, `127.0.0.1`, `::1` and the listening address, and HTTP/2 or HTTP/1.1 chosen by
//! ALPN on each connection.
//!
//! The authority is new for every emulator, so nothing outside the process trusts it until a
//! client is told to: [`Emulator::tls_ca_pem`](crate::Emulator::tls_ca_pem) hands it out, and
//! the binary writes it to the file `--tls-ca-out` names.

use std::convert::Infallible;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper::service::Service;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsAcceptor;

/// The emulator's TLS identity and server configuration.
pub(crate) struct Tls {
    acceptor: TlsAcceptor,
    ca_pem: String,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").finish_non_exhaustive()
    }
}

fn tls_error(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("cannot set up TLS: {e}"))
}

impl Tls {
    /// A new authority and a server certificate for the loopback names and `ip`.
    pub(crate) fn generate(ip: IpAddr) -> io::Result<Tls> {
        let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(tls_error)?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "gemini-emulator test CA");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().map_err(tls_error)?)
            .map_err(tls_error)?;

        let mut names = vec![
            "localhost".to_owned(),
            Ipv4Addr::LOCALHOST.to_string(),
            Ipv6Addr::LOCALHOST.to_string(),
        ];
        if !ip.is_unspecified() && !ip.is_loopback() {
            names.push(ip.to_string());
        }
        let mut server = CertificateParams::new(names).map_err(tls_error)?;
        server
            .distinguished_name
            .push(DnType::CommonName, "gemini-emulator");
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().map_err(tls_error)?;
        let cert = server.signed_by(&key, &ca).map_err(tls_error)?;

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(tls_error)?
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone(), CertificateDer::from(ca.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .map_err(tls_error)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Tls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            ca_pem: ca.pem(),
        })
    }

    /// The authority's certificate, PEM-encoded: what clients must trust.
    pub(crate) fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Serves one connection: the TLS handshake, then HTTP/2 or HTTP/1.1 as negotiated
    /// (HTTP/1.1 when the client offers no ALPN).
    pub(crate) async fn serve<I, S, B>(&self, io: I, service: S)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible> + Send + 'static,
        S::Future: Send + 'static,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        // A failed handshake (a client that does not trust the authority) ends the connection.
        let Ok(tls) = self.acceptor.accept(io).await else {
            return;
        };
        let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
        let io = TokioIo::new(tls);
        let _ = if h2 {
            http2::Builder::new(TokioExecutor::new())
                .serve_connection(io, service)
                .await
        } else {
            http1::Builder::new().serve_connection(io, service).await
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authority_signs_a_server_certificate_for_the_loopback_names() {
        let tls = Tls::generate(IpAddr::V4(Ipv4Addr::LOCALHOST)).unwrap();
        let pem = tls.ca_pem();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
        // Two emulators never share an authority.
        let other = Tls::generate(IpAddr::V4(Ipv4Addr::LOCALHOST)).unwrap();
        assert_ne!(pem, other.ca_pem());
    }
}
