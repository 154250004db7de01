//! Proxy selection (explicit or `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`) and the `CONNECT`
//! handshake, written sans-IO so both runtimes share it.

use std::fmt;
use std::net::IpAddr;

use crate::{ErrorKind, TransportError};

/// Which proxy, if any, the hyper backend goes through.
///
/// HTTPS targets are reached through an HTTP `CONNECT` tunnel (TLS runs end to end through
/// it); plain-HTTP targets are sent to the proxy in absolute form. Proxies are addressed over
/// plain HTTP (`http://[user:password@]host[:port]`, port 80 by default); credentials are
/// sent as `Proxy-Authorization: Basic`.
///
/// ```
/// use gemini_transport::Proxy;
///
/// let proxy = Proxy::url("http://user:secret@proxy.corp.example:3128")
///     .unwrap()
///     .no_proxy("internal.example, 10.0.0.1");
/// assert!(proxy.proxy_for("generativelanguage.googleapis.com", true).is_some());
/// assert!(proxy.proxy_for("api.internal.example", true).is_none());
/// assert!(Proxy::url("socks5://proxy:1080").is_err());
/// // The credentials never show in Debug output.
/// assert!(!format!("{proxy:?}").contains("secret"));
/// ```
#[derive(Clone)]
pub struct Proxy {
    https: Option<ProxyUrl>,
    http: Option<ProxyUrl>,
    no_proxy: NoProxy,
    bypass_loopback: bool,
}

#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ProxyUrl {
    pub(crate) host: String,
    pub(crate) port: u16,
    /// Ready-made `Proxy-Authorization` value.
    pub(crate) authorization: Option<String>,
}

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "http://{}{}:{}",
            if self.authorization.is_some() {
                "***@"
            } else {
                ""
            },
            self.host,
            self.port
        )
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("https", &self.https)
            .field("http", &self.http)
            .field("no_proxy", &self.no_proxy.0)
            .finish()
    }
}

impl Proxy {
    /// Never use a proxy.
    pub fn none() -> Self {
        Self {
            https: None,
            http: None,
            no_proxy: NoProxy::default(),
            bypass_loopback: true,
        }
    }

    /// Reads `https_proxy`/`HTTPS_PROXY` (for HTTPS targets), `http_proxy`/`HTTP_PROXY` (for
    /// plain-HTTP targets) and `no_proxy`/`NO_PROXY`, lower case first, as curl and the
    /// official SDKs do. Loopback hosts are never proxied. Unparsable values are ignored.
    /// This is the builder's default, read once when the transport is built.
    pub fn from_env() -> Self {
        fn var(names: &[&str]) -> Option<String> {
            names
                .iter()
                .find_map(|n| std::env::var(n).ok().filter(|v| !v.trim().is_empty()))
        }
        let https = var(&["https_proxy", "HTTPS_PROXY"]).and_then(|v| ProxyUrl::parse(&v).ok());
        let http = var(&["http_proxy", "HTTP_PROXY"]).and_then(|v| ProxyUrl::parse(&v).ok());
        let no_proxy = NoProxy::parse(&var(&["no_proxy", "NO_PROXY"]).unwrap_or_default());
        Self {
            https,
            http,
            no_proxy,
            bypass_loopback: true,
        }
    }

    /// Sends every request (HTTPS and plain HTTP, loopback included) through the proxy at
    /// `url`, except hosts listed with [`no_proxy`](Self::no_proxy).
    pub fn url(url: &str) -> Result<Self, TransportError> {
        let p = ProxyUrl::parse(url)?;
        Ok(Self {
            https: Some(p.clone()),
            http: Some(p),
            no_proxy: NoProxy::default(),
            bypass_loopback: false,
        })
    }

    /// Hosts that bypass the proxy, in `NO_PROXY` syntax: comma-separated host names (a name
    /// also matches its subdomains; a leading `.` is allowed), IP addresses, or `*` for all.
    #[must_use]
    pub fn no_proxy(mut self, list: &str) -> Self {
        self.no_proxy = NoProxy::parse(list);
        self
    }

    /// The proxy (`host:port`) a request to `host` would use, `None` for a direct connection.
    pub fn proxy_for(&self, host: &str, https: bool) -> Option<String> {
        self.select(host, https)
            .map(|p| format!("{}:{}", p.host, p.port))
    }

    pub(crate) fn select(&self, host: &str, https: bool) -> Option<&ProxyUrl> {
        let p = if https {
            self.https.as_ref()
        } else {
            self.http.as_ref()
        }?;
        if self.bypass_loopback && is_loopback(host) {
            return None;
        }
        if self.no_proxy.matches(host) {
            return None;
        }
        Some(p)
    }
}

pub(crate) fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if h.eq_ignore_ascii_case("localhost") || h.to_ascii_lowercase().ends_with(".localhost") {
        return true;
    }
    h.parse::<IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
}

impl ProxyUrl {
    fn parse(url: &str) -> Result<Self, TransportError> {
        let bad = |why: &str| {
            TransportError::new(
                ErrorKind::InvalidRequest,
                format!("invalid proxy URL: {why}"),
            )
        };
        let url = url.trim();
        let rest = match url.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
            Some((scheme, _)) => {
                return Err(bad(&format!(
                    "unsupported scheme `{scheme}` (only http:// proxies)"
                )));
            }
            None => url,
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(|| bad("unclosed `[`"))?;
            (h.to_owned(), after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), Some(p)),
                None => (hostport.to_owned(), None),
            }
        };
        if host.is_empty() {
            return Err(bad("missing host"));
        }
        let port = match port {
            Some(p) => p.parse().map_err(|_| bad("invalid port"))?,
            None => 80,
        };
        let authorization = userinfo.map(|u| {
            use base64::Engine as _;
            let decoded = percent_decode(u);
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(decoded)
            )
        });
        Ok(Self {
            host,
            port,
            authorization,
        })
    }
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (
                (b[i + 1] as char).to_digit(16),
                (b[i + 2] as char).to_digit(16),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

#[derive(Clone, Default)]
struct NoProxy(Vec<String>);

impl NoProxy {
    fn parse(list: &str) -> Self {
        Self(
            list.split(',')
                .map(|e| {
                    e.trim()
                        .trim_start_matches("*.")
                        .trim_start_matches('.')
                        .to_ascii_lowercase()
                })
                .map(|e| match e.parse::<IpAddr>() {
                    Ok(_) => e,
                    // `host:port` entries: the port is ignored.
                    Err(_) if !e.starts_with('[') => {
                        e.split(':').next().unwrap_or_default().to_owned()
                    }
                    Err(_) => e
                        .trim_start_matches('[')
                        .split(']')
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                })
                .filter(|e| !e.is_empty())
                .collect(),
        )
    }

    fn matches(&self, host: &str) -> bool {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        self.0.iter().any(|e| {
            e == "*"
                || *e == host
                || (host.len() > e.len()
                    && host.ends_with(e.as_str())
                    && host.as_bytes()[host.len() - e.len() - 1] == b'.')
        })
    }
}

/// The `CONNECT` request for a tunnel to `host:port`.
pub(crate) fn connect_request(host: &str, port: u16, proxy: &ProxyUrl) -> Vec<u8> {
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut req = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some(auth) = &proxy.authorization {
        req.push_str("Proxy-Authorization: ");
        req.push_str(auth);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    req.into_bytes()
}

/// Largest proxy response head accepted.
pub(crate) const MAX_CONNECT_RESPONSE: usize = 16 * 1024;

/// Inspects the bytes received so far from the proxy. `Ok(None)`: need more. `Ok(Some(n))`:
/// tunnel established, the head was `n` bytes long (bytes after it belong to the tunnel).
pub(crate) fn parse_connect_response(buf: &[u8]) -> Result<Option<usize>, TransportError> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        if buf.len() > MAX_CONNECT_RESPONSE {
            return Err(TransportError::new(
                ErrorKind::Proxy,
                "proxy response head too large",
            ));
        }
        return Ok(None);
    };
    let head = &buf[..end];
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.trim_end().splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let status: u16 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    if !version.starts_with("HTTP/1.") || status == 0 {
        return Err(TransportError::new(
            ErrorKind::Proxy,
            format!("malformed proxy response: {line:?}"),
        ));
    }
    if !(200..300).contains(&status) {
        return Err(TransportError::new(
            ErrorKind::Proxy,
            format!("proxy refused the tunnel: {}", line.trim_end()),
        ));
    }
    Ok(Some(end + 4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proxy_urls() {
        let p = ProxyUrl::parse("http://proxy.example:3128").unwrap();
        assert_eq!(
            (p.host.as_str(), p.port, p.authorization.is_none()),
            ("proxy.example", 3128, true)
        );
        let p = ProxyUrl::parse("proxy.example").unwrap();
        assert_eq!(p.port, 80);
        let p = ProxyUrl::parse("http://us%40er:p%3Ass@[::1]:8080/").unwrap();
        assert_eq!((p.host.as_str(), p.port), ("::1", 8080));
        // base64("us@er:p:ss")
        assert_eq!(p.authorization.as_deref(), Some("Basic dXNAZXI6cDpzcw=="));
        assert!(ProxyUrl::parse("https://proxy:443").is_err());
        assert!(ProxyUrl::parse("http://:80").is_err());
        assert!(ProxyUrl::parse("http://h:notaport").is_err());
    }

    #[test]
    fn no_proxy_matching() {
        let n = NoProxy::parse(" example.com, .corp.internal ,10.1.2.3, host:8080, *.wild.io");
        assert!(n.matches("example.com"));
        assert!(n.matches("api.example.com"));
        assert!(!n.matches("notexample.com"));
        assert!(n.matches("x.corp.internal"));
        assert!(n.matches("10.1.2.3"));
        assert!(!n.matches("10.1.2.4"));
        assert!(n.matches("host"));
        assert!(n.matches("a.wild.io"));
        assert!(NoProxy::parse("*").matches("anything"));
        assert!(!NoProxy::parse("").matches("anything"));
    }

    #[test]
    fn selection_respects_loopback_and_scheme() {
        let mut p = Proxy::url("http://proxy:3128").unwrap();
        assert_eq!(
            p.proxy_for("127.0.0.1", true).as_deref(),
            Some("proxy:3128")
        );
        p.bypass_loopback = true;
        assert_eq!(p.proxy_for("127.0.0.1", true), None);
        assert_eq!(p.proxy_for("localhost", false), None);
        assert_eq!(p.proxy_for("[::1]", false), None);
        assert!(Proxy::none().proxy_for("example.com", true).is_none());
        let only_https = Proxy {
            http: None,
            ..Proxy::url("http://proxy:1").unwrap()
        };
        assert!(only_https.proxy_for("example.com", false).is_none());
    }

    #[test]
    fn connect_handshake() {
        let p = ProxyUrl::parse("http://u:p@proxy:3128").unwrap();
        let req = String::from_utf8(connect_request("example.com", 443, &p)).unwrap();
        assert_eq!(
            req,
            "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nProxy-Authorization: Basic dTpw\r\n\r\n"
        );
        assert_eq!(
            parse_connect_response(b"HTTP/1.1 200 Connection established\r\n").unwrap(),
            None
        );
        let ok = b"HTTP/1.1 200 Connection established\r\nX: y\r\n\r\nTLS";
        assert_eq!(parse_connect_response(ok).unwrap(), Some(ok.len() - 3));
        let e = parse_connect_response(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
            .unwrap_err();
        assert!(e.is_proxy() && e.to_string().contains("407"));
        assert!(
            parse_connect_response(b"garbage\r\n\r\n")
                .unwrap_err()
                .is_proxy()
        );
        assert!(
            parse_connect_response(&[b'a'; MAX_CONNECT_RESPONSE + 1])
                .unwrap_err()
                .is_proxy()
        );
    }
}
