//! `gemini-emulator --tls --tls-ca-out FILE`: HTTPS with HTTP/2 and HTTP/1.1 by ALPN, and a
//! certificate authority a client can trust from the file.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn emulator(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gemini-emulator"));
    cmd.args(args);
    cmd
}

/// A TLS client connection to `port` trusting `ca_pem`, offering `alpn`.
fn connect(
    port: u16,
    ca_pem: &[u8],
    alpn: &[&[u8]],
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let name = ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock).unwrap();
    }
    tls
}

#[test]
fn serves_https_with_h2_and_http11_and_writes_its_authority() {
    let dir = std::env::temp_dir().join(format!("gemini-emulator-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca_file = dir.join("ca.pem");
    let mut child = emulator(&["--tls", "--pace", "none", "--tls-ca-out"])
        .arg(&ca_file)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _running = Running(child);
    let mut url = String::new();
    BufReader::new(stdout).read_line(&mut url).unwrap();
    let port: u16 = url
        .trim()
        .strip_prefix("https://127.0.0.1:")
        .unwrap_or_else(|| panic!("unexpected base URL {url:?}"))
        .parse()
        .unwrap();
    let ca = std::fs::read(&ca_file).unwrap();
    assert!(ca.starts_with(b"-----BEGIN CERTIFICATE-----"));

    // HTTP/2 when the client prefers it.
    let tls = connect(port, &ca, &[b"h2", b"http/1.1"]);
    assert_eq!(tls.conn.alpn_protocol(), Some(&b"h2"[..]));

    // HTTP/1.1 when it is all the client offers, and a real answer over it.
    let mut tls = connect(port, &ca, &[b"http/1.1"]);
    assert_eq!(tls.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
    tls.write_all(
        b"GET /v1beta/models/gemini-2.5-flash HTTP/1.1\r\nhost: localhost\r\nx-goog-api-key: k\r\nconnection: close\r\n\r\n",
    )
    .unwrap();
    let mut response = Vec::new();
    // The emulator closes without close_notify after `connection: close`; what was read counts.
    let _ = tls.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(
        response.contains("\"name\": \"models/gemini-2.5-flash\""),
        "{response}"
    );

    // A client that does not trust the authority gets no answer.
    let other = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let outcome = std::panic::catch_unwind(|| connect(port, other.cert.pem().as_bytes(), &[]));
    assert!(outcome.is_err(), "an untrusted authority was accepted");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_authority_file_needs_tls() {
    let out = emulator(&["--tls-ca-out", "unused.pem", "--port", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--tls-ca-out needs --tls"), "{stderr}");
}
