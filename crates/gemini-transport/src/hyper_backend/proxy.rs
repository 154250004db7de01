//! Proxy selection with hyper-util's matcher (`HTTP_PROXY`/`HTTPS_PROXY`/`ALL_PROXY`/`NO_PROXY`
//! and the CGI guard), and the `CONNECT` handshake, written sans-IO so both runtimes share it.
//!
//! Why the tunnel is ours: hyper-util's `Tunnel` connector lives in its `client-legacy` module,
//! whose feature enables `tokio/net` (and so mio), which the smol build must not compile. What
//! remains here is the request line and the reply check (the reply is parsed with `httparse`).

use std::fmt;
use std::sync::Arc;

use http::HeaderValue;
use http::uri::{Scheme, Uri};
use hyper_util::client::proxy::matcher::{Intercept, Matcher};

use crate::{ErrorKind, TransportError};

/// Which proxy, if any, the hyper backend goes through.
///
/// Proxies are `http://` or `https://` URLs (`[scheme://][user:password@]host[:port]`, port 80
/// or 443 by default, `http` when no scheme is given); credentials are sent as
/// `Proxy-Authorization: Basic`. With an `https://` proxy the connection to the proxy is TLS
/// too (verified against the same roots as servers). HTTPS targets are reached through an
/// HTTP `CONNECT` tunnel (TLS runs end to end through it); plain-HTTP targets are sent to the
/// proxy in absolute form. SOCKS proxies are not supported and are refused.
///
/// Matching is hyper-util's (`hyper_util::client::proxy::matcher`), the rules curl follows.
///
/// ```
/// use gemini_transport::Proxy;
///
/// let proxy = Proxy::url("http://user:secret@proxy.corp.example:3128")
///     .unwrap()
///     .no_proxy("internal.example, 10.0.0.0/8");
/// assert_eq!(
///     proxy.proxy_for("generativelanguage.googleapis.com", true).as_deref(),
///     Some("http://proxy.corp.example:3128")
/// );
/// assert!(proxy.proxy_for("api.internal.example", true).is_none());
/// assert!(proxy.proxy_for("10.1.2.3", true).is_none());
/// assert!(Proxy::url("socks5://proxy:1080").is_err());
/// // The credentials never show in Debug output.
/// assert!(!format!("{proxy:?}").contains("secret"));
/// ```
#[derive(Clone)]
pub struct Proxy {
    settings: Settings,
    matcher: Option<Arc<Matcher>>,
}

/// The raw settings a matcher is built from.
#[derive(Clone, Default)]
struct Settings {
    all: String,
    http: String,
    https: String,
    no: String,
    /// Loopback hosts are never proxied (settings from the environment).
    bypass_loopback: bool,
}

/// A proxy chosen for an origin.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ProxyUrl {
    pub(crate) https: bool,
    pub(crate) host: String,
    pub(crate) port: u16,
    /// Ready-made `Proxy-Authorization` value (marked sensitive).
    pub(crate) authorization: Option<HeaderValue>,
}

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}{}:{}",
            if self.https { "https" } else { "http" },
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
        match &self.matcher {
            // hyper-util's Debug shows the proxy URIs without credentials.
            Some(m) => f
                .debug_struct("Proxy")
                .field("matcher", m)
                .field("bypass_loopback", &self.settings.bypass_loopback)
                .finish(),
            None => f.write_str("Proxy(none)"),
        }
    }
}

/// The variables [`Proxy::from_env`] reads, in hyper-util's order of preference.
const ALL_VARS: [&str; 2] = ["ALL_PROXY", "all_proxy"];
const HTTP_VARS: [&str; 2] = ["HTTP_PROXY", "http_proxy"];
const HTTPS_VARS: [&str; 2] = ["HTTPS_PROXY", "https_proxy"];
const NO_VARS: [&str; 2] = ["NO_PROXY", "no_proxy"];

impl Proxy {
    /// Never use a proxy.
    pub fn none() -> Self {
        Self {
            settings: Settings::default(),
            matcher: None,
        }
    }

    /// The proxy settings of the environment, read as hyper-util's matcher reads them (the
    /// conventions of curl):
    ///
    /// * `HTTPS_PROXY` (or `https_proxy`) for HTTPS targets, `HTTP_PROXY` (or `http_proxy`)
    ///   for plain-HTTP targets, `ALL_PROXY` (or `all_proxy`) for either when the specific
    ///   one is not set; the upper-case name wins when both are set, and an empty value
    ///   counts as unset;
    /// * `NO_PROXY` (or `no_proxy`): hosts that bypass the proxy (see
    ///   [`no_proxy`](Self::no_proxy));
    /// * when `REQUEST_METHOD` is set the process is a CGI script, where `HTTP_PROXY` can come
    ///   from a request's `Proxy:` header ("httpoxy"): no proxy is used at all.
    ///
    /// Loopback hosts (`localhost`, `127.0.0.0/8`, `::1`) are never proxied.
    ///
    /// This is the builder's default, read when the transport is built.
    ///
    /// # Errors
    ///
    /// A [`ErrorKind::Proxy`] error naming the variable when a value is not a proxy URL this
    /// transport can use (it does not parse, has no host, or names another scheme such as
    /// `socks5://`). Such a setting is never ignored: requests would otherwise bypass a proxy
    /// the user asked for.
    pub fn from_env() -> Result<Self, TransportError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) over any variable lookup.
    pub(crate) fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, TransportError> {
        if var("REQUEST_METHOD").is_some() {
            return Ok(Self::none());
        }
        // The first variable of the pair that is set, as hyper-util reads them.
        let first = |names: &[&'static str; 2]| -> (&'static str, String) {
            names
                .iter()
                .find_map(|n| var(n).map(|v| (*n, v)))
                .unwrap_or((names[0], String::new()))
        };
        let mut settings = Settings {
            bypass_loopback: true,
            ..Settings::default()
        };
        for (names, slot) in [
            (&ALL_VARS, &mut settings.all),
            (&HTTP_VARS, &mut settings.http),
            (&HTTPS_VARS, &mut settings.https),
        ] {
            let (name, value) = first(names);
            let value = value.trim();
            if !value.is_empty() {
                check_url(value).map_err(|why| invalid_setting(name, value, &why))?;
            }
            *slot = value.to_owned();
        }
        settings.no = first(&NO_VARS).1;
        Ok(Self::build(settings))
    }

    /// Sends every request (HTTPS and plain HTTP, loopback included) through the proxy at
    /// `url` (`http://` or `https://`), except hosts listed with [`no_proxy`](Self::no_proxy).
    ///
    /// # Errors
    ///
    /// A [`ErrorKind::Proxy`] error when `url` is not a proxy URL this transport can use.
    pub fn url(url: &str) -> Result<Self, TransportError> {
        check_url(url).map_err(|why| {
            TransportError::new(
                ErrorKind::Proxy,
                format!("invalid proxy URL {}: {why}", redact(url)),
            )
        })?;
        Ok(Self::build(Settings {
            all: url.to_owned(),
            ..Settings::default()
        }))
    }

    /// Hosts that bypass the proxy, in `NO_PROXY` syntax, matched as hyper-util (and curl)
    /// match them: a comma-separated list, whitespace around entries ignored, of
    ///
    /// - `*` alone: every host bypasses the proxy;
    /// - a domain name, `example.com`: matches `example.com` and all its subdomains
    ///   (`api.example.com`), but not `notexample.com`; a leading `.` (or `*.`, which is
    ///   read as `.`) means the same; case-insensitive;
    /// - an IP address, `10.0.0.1` or `::1`, matched exactly, or a CIDR range, `10.0.0.0/8`,
    ///   `fd00::/8`; these apply only to hosts written as IP literals (names are never
    ///   resolved to check them).
    ///
    /// Entries with a port (`example.com:8443`) match nothing: the list is about hosts.
    ///
    /// ```
    /// use gemini_transport::Proxy;
    ///
    /// let proxy = Proxy::url("http://proxy:3128")
    ///     .unwrap()
    ///     .no_proxy("*.corp.example, 10.0.0.0/8, fd00::1");
    /// assert!(proxy.proxy_for("git.corp.example", true).is_none());
    /// assert!(proxy.proxy_for("corp.example", true).is_none());
    /// assert!(proxy.proxy_for("10.20.30.40", true).is_none());
    /// assert!(proxy.proxy_for("[fd00::1]", true).is_none());
    /// assert!(proxy.proxy_for("11.0.0.1", true).is_some());
    /// ```
    #[must_use]
    pub fn no_proxy(self, list: &str) -> Self {
        Self::build(Settings {
            no: list.to_owned(),
            ..self.settings
        })
    }

    /// The proxy URL (`scheme://host:port`) a request to `host` would go through, `None` for
    /// a direct connection. `host` is a bare host name or IP literal (IPv6 in brackets or
    /// not), without a port.
    pub fn proxy_for(&self, host: &str, https: bool) -> Option<String> {
        let v6 = host.contains(':') && !host.starts_with('[');
        let authority = if v6 {
            format!("[{host}]")
        } else {
            host.to_owned()
        };
        let scheme = if https { "https" } else { "http" };
        let uri = Uri::try_from(format!("{scheme}://{authority}/")).ok()?;
        self.select(&uri).map(|p| {
            let scheme = if p.https { "https" } else { "http" };
            if p.host.contains(':') {
                format!("{scheme}://[{}]:{}", p.host, p.port)
            } else {
                format!("{scheme}://{}:{}", p.host, p.port)
            }
        })
    }

    /// The proxy for requests to the origin of `uri` (absolute, `http` or `https`).
    pub(crate) fn select(&self, uri: &Uri) -> Option<ProxyUrl> {
        let matcher = self.matcher.as_ref()?;
        if self.settings.bypass_loopback && is_loopback(uri.host()?) {
            return None;
        }
        ProxyUrl::from_intercept(&matcher.intercept(uri)?)
    }

    fn build(settings: Settings) -> Self {
        if settings.all.is_empty() && settings.http.is_empty() && settings.https.is_empty() {
            return Self {
                settings,
                matcher: None,
            };
        }
        let matcher = Matcher::builder()
            .all(settings.all.clone())
            .http(settings.http.clone())
            .https(settings.https.clone())
            .no(normalize_no_proxy(&settings.no))
            .build();
        Self {
            settings,
            matcher: Some(Arc::new(matcher)),
        }
    }
}

/// `*.example.com` entries as `.example.com`, the form hyper-util matches.
fn normalize_no_proxy(list: &str) -> String {
    list.split(',')
        .map(|e| {
            let e = e.trim();
            if e.starts_with("*.") { &e[1..] } else { e }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Checks a proxy URL the way hyper-util's matcher parses it, so that a value the matcher
/// would drop in silence is an error instead.
fn check_url(url: &str) -> Result<(), String> {
    let uri: Uri = url
        .trim()
        .parse()
        .map_err(|e: http::uri::InvalidUri| format!("not a URL ({e})"))?;
    match uri.scheme_str() {
        None | Some("http" | "https") => {}
        Some(s) if s.starts_with("socks") => {
            return Err(format!(
                "{s}:// proxies are not supported (only http:// and https://)"
            ));
        }
        Some(s) => {
            return Err(format!(
                "unsupported scheme {s}:// (only http:// and https://)"
            ));
        }
    }
    let host = uri.host().unwrap_or_default();
    if host.is_empty() || host.contains('@') {
        return Err("no host".to_owned());
    }
    // `http` accepts any text after the host's `:`; a port that is not a number would be
    // replaced by the default one later.
    let authority = uri.authority().map_or("", |a| a.as_str());
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let port = match host_port.rsplit_once(']') {
        Some((_, after)) => after.strip_prefix(':'),
        None => host_port.rsplit_once(':').map(|(_, p)| p),
    };
    if port.is_some_and(|p| p.parse::<u16>().is_err()) {
        return Err("invalid port".to_owned());
    }
    Ok(())
}

/// The value, with any credentials hidden.
fn redact(value: &str) -> String {
    match value.rsplit_once('@') {
        Some((before, after)) => {
            let scheme = before.split_once("://").map_or("", |(s, _)| s);
            if scheme.is_empty() {
                format!("***@{after}")
            } else {
                format!("{scheme}://***@{after}")
            }
        }
        None => value.to_owned(),
    }
}

fn invalid_setting(name: &str, value: &str, why: &str) -> TransportError {
    TransportError::new(
        ErrorKind::Proxy,
        format!("invalid proxy setting {name}={:?}: {why}", redact(value)),
    )
}

impl ProxyUrl {
    fn from_intercept(i: &Intercept) -> Option<Self> {
        let uri = i.uri();
        let https = uri.scheme() == Some(&Scheme::HTTPS);
        let host = uri.host()?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        Some(Self {
            https,
            host: host.to_owned(),
            port: uri.port_u16().unwrap_or(if https { 443 } else { 80 }),
            authorization: i.basic_auth().cloned().map(|mut value| {
                // Credentials: hidden from Debug output, as every credential header is.
                value.set_sensitive(true);
                value
            }),
        })
    }
}

pub(crate) fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    let b = h.as_bytes();
    let suffix = b".localhost";
    if h.eq_ignore_ascii_case("localhost")
        || (b.len() > suffix.len() && b[b.len() - suffix.len()..].eq_ignore_ascii_case(suffix))
    {
        return true;
    }
    h.parse::<std::net::IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
}

/// The `CONNECT` request for a tunnel to `host:port`.
pub(crate) fn connect_request(host: &str, port: u16, proxy: &ProxyUrl) -> Vec<u8> {
    let authority = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut req = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n").into_bytes();
    if let Some(auth) = &proxy.authorization {
        req.extend_from_slice(b"Proxy-Authorization: ");
        req.extend_from_slice(auth.as_bytes());
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"\r\n");
    req
}

/// Largest proxy response head accepted.
pub(crate) const MAX_CONNECT_RESPONSE: usize = 16 * 1024;

/// Inspects the bytes received so far from the proxy. `Ok(None)`: need more. `Ok(Some(n))`:
/// tunnel established, the head was `n` bytes long (bytes after it belong to the tunnel).
pub(crate) fn parse_connect_response(buf: &[u8]) -> Result<Option<usize>, TransportError> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    let end = match response.parse(buf) {
        Ok(httparse::Status::Complete(end)) => end,
        Ok(httparse::Status::Partial) if buf.len() > MAX_CONNECT_RESPONSE => {
            return Err(TransportError::new(
                ErrorKind::Proxy,
                "proxy response head too large",
            ));
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => {
            let line = buf.split(|&b| b == b'\n').next().unwrap_or_default();
            return Err(
                TransportError::with_source(ErrorKind::Proxy, e).with_message(format!(
                    "malformed proxy response: {:?}",
                    String::from_utf8_lossy(line).trim_end()
                )),
            );
        }
    };
    let status = response.code.unwrap_or(0);
    if !(200..300).contains(&status) {
        return Err(TransportError::new(
            ErrorKind::Proxy,
            format!(
                "proxy refused the tunnel: {status} {}",
                response.reason.unwrap_or_default()
            ),
        ));
    }
    Ok(Some(end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> Result<Proxy, TransportError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Proxy::from_vars(|name| vars.get(name).cloned())
    }

    fn via(p: &Proxy, uri: &str) -> Option<String> {
        p.select(&uri.parse().unwrap()).map(|u| format!("{u:?}"))
    }

    #[test]
    fn environment_variables_and_their_precedence() {
        let p = env(&[("HTTPS_PROXY", "http://s:1"), ("HTTP_PROXY", "p:2")]).unwrap();
        assert_eq!(
            via(&p, "https://example.com/").as_deref(),
            Some("http://s:1")
        );
        assert_eq!(
            via(&p, "http://example.com/").as_deref(),
            Some("http://p:2")
        );
        // ALL_PROXY fills in for the scheme that has no variable of its own.
        let p = env(&[("ALL_PROXY", "https://all:3"), ("http_proxy", "http://p:2")]).unwrap();
        assert_eq!(
            via(&p, "https://example.com/").as_deref(),
            Some("https://all:3")
        );
        assert_eq!(
            via(&p, "http://example.com/").as_deref(),
            Some("http://p:2")
        );
        let p = env(&[("all_proxy", "https://all")]).unwrap();
        assert_eq!(
            via(&p, "http://example.com/").as_deref(),
            Some("https://all:443")
        );
        // The upper-case name wins; an empty value counts as unset.
        let p = env(&[
            ("HTTPS_PROXY", "http://upper:1"),
            ("https_proxy", "http://lower:1"),
        ]);
        assert_eq!(
            via(&p.unwrap(), "https://e.com/").as_deref(),
            Some("http://upper:1")
        );
        let p = env(&[("HTTPS_PROXY", " "), ("HTTP_PROXY", "")]).unwrap();
        assert_eq!(via(&p, "https://e.com/"), None);
        assert!(p.matcher.is_none());
        // Loopback hosts are never proxied from the environment.
        let p = env(&[("ALL_PROXY", "http://proxy:3128")]).unwrap();
        for host in [
            "localhost",
            "127.0.0.1",
            "127.1.2.3",
            "[::1]",
            "a.localhost",
        ] {
            assert_eq!(via(&p, &format!("https://{host}:8443/")), None, "{host}");
        }
        // NO_PROXY, with `*.` read as `.`.
        let p = env(&[
            ("ALL_PROXY", "http://proxy:3128"),
            ("no_proxy", "*.corp.example, 10.0.0.0/8"),
        ])
        .unwrap();
        assert_eq!(via(&p, "https://git.corp.example/"), None);
        assert_eq!(via(&p, "https://10.9.8.7/"), None);
        assert!(via(&p, "https://example.com/").is_some());
    }

    #[test]
    fn cgi_scripts_use_no_proxy_from_the_environment() {
        // Under CGI, HTTP_PROXY can come from a request's `Proxy:` header: ignored, even when
        // it does not parse.
        let p = env(&[
            ("REQUEST_METHOD", "GET"),
            ("HTTP_PROXY", "http://attacker:8080"),
            ("HTTPS_PROXY", "http://[::1"),
        ])
        .unwrap();
        assert_eq!(via(&p, "http://example.com/"), None);
        assert_eq!(via(&p, "https://example.com/"), None);
    }

    #[test]
    fn unusable_settings_are_errors_naming_the_variable() {
        for (name, value, why) in [
            ("HTTPS_PROXY", "http://[::1", "not a URL"),
            ("https_proxy", "http://proxy:notaport", "invalid port"),
            ("HTTPS_PROXY", "proxy:70000", "invalid port"),
            ("HTTP_PROXY", "http://", "not a URL"),
            (
                "ALL_PROXY",
                "socks5://proxy:1080",
                "socks5:// proxies are not supported",
            ),
            ("all_proxy", "ftp://proxy", "unsupported scheme ftp://"),
            ("HTTP_PROXY", "http://user:pw@:80", "no host"),
        ] {
            let err = env(&[(name, value)]).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Proxy);
            let msg = err.to_string();
            assert!(
                msg.contains(&format!("invalid proxy setting {name}=")),
                "{msg}"
            );
            assert!(msg.contains(why), "{msg}");
            assert!(!msg.contains("pw"), "credentials leaked: {msg}");
        }
        let err = Proxy::url("socks5h://u:secret@proxy:1080").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Proxy);
        assert!(!err.to_string().contains("secret"), "{err}");
    }

    #[test]
    fn explicit_proxy_urls() {
        let p = Proxy::url("http://us%40er:p%3Ass@[::1]:8080/").unwrap();
        let u = p.select(&"https://example.com/".parse().unwrap()).unwrap();
        assert_eq!((u.host.as_str(), u.port, u.https), ("::1", 8080, false));
        // base64("us@er:p:ss")
        assert_eq!(u.authorization.unwrap(), "Basic dXNAZXI6cDpzcw==");
        // An explicit proxy applies to loopback hosts too.
        assert_eq!(
            via(&p, "http://127.0.0.1:9/").as_deref(),
            Some("http://***@::1:8080")
        );
        assert_eq!(
            p.proxy_for("example.com", false).as_deref(),
            Some("http://[::1]:8080")
        );
        let p = Proxy::url("https://proxy.example").unwrap();
        assert_eq!(
            p.proxy_for("example.com", true).as_deref(),
            Some("https://proxy.example:443")
        );
        assert!(Proxy::none().proxy_for("example.com", true).is_none());
        assert!(!format!("{:?}", Proxy::url("http://u:secret@p:1").unwrap()).contains("secret"));
    }

    #[test]
    fn connect_handshake() {
        let p = Proxy::url("http://u:p@proxy:3128")
            .unwrap()
            .select(&"https://example.com/".parse().unwrap())
            .unwrap();
        let req = String::from_utf8(connect_request("example.com", 443, &p)).unwrap();
        assert_eq!(
            req,
            "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nProxy-Authorization: Basic dTpw\r\n\r\n"
        );
        let req = String::from_utf8(connect_request("::1", 8443, &p)).unwrap();
        assert!(req.starts_with("CONNECT [::1]:8443 HTTP/1.1\r\n"), "{req}");
        assert_eq!(
            parse_connect_response(b"HTTP/1.1 200 Connection established\r\n").unwrap(),
            None
        );
        let ok = b"HTTP/1.1 200 Connection established\r\nX: y\r\n\r\nTLS";
        assert_eq!(parse_connect_response(ok).unwrap(), Some(ok.len() - 3));
        let e = parse_connect_response(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
            .unwrap_err();
        assert!(e.is_proxy() && e.to_string().contains("407"), "{e}");
        let e = parse_connect_response(b"garbage\r\n\r\n").unwrap_err();
        assert!(e.is_proxy() && e.to_string().contains("garbage"), "{e}");
        assert!(
            parse_connect_response(&[b'a'; MAX_CONNECT_RESPONSE + 1])
                .unwrap_err()
                .is_proxy()
        );
    }
}
