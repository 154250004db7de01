//! Proxy selection (explicit or `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`) and the `CONNECT`
//! handshake, written sans-IO so both runtimes share it.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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
            .field("no_proxy", &self.no_proxy)
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

    /// Hosts that bypass the proxy, in `NO_PROXY` syntax (the same syntax `from_env` reads):
    /// a comma-separated list; whitespace around entries and empty entries are ignored, and
    /// so are malformed entries. Each entry is one of:
    ///
    /// - `*` alone: every host bypasses the proxy, whatever the other entries say.
    /// - A domain name, `example.com`: matches `example.com` and all its subdomains
    ///   (`api.example.com`), but not `notexample.com`. A leading `.` or `*.`
    ///   (`.example.com`, `*.example.com`) means the same, so like curl (and unlike Go, which
    ///   only matches subdomains then) it also matches the bare `example.com`. Matching is
    ///   case-insensitive and ignores a trailing `.` on the host or the entry. No other
    ///   wildcards are supported.
    /// - An IP address, `10.0.0.1`, `::1` or `[::1]`: matches that address exactly.
    /// - A CIDR range, `10.0.0.0/8`, `fd00::/8` (or `[fd00::]/8`): matches every address in
    ///   it. A range with a prefix longer than the address (`10.0.0.0/33`) is ignored.
    ///
    /// Address and range entries only apply to hosts written as IP literals (host names are
    /// never resolved to check them), and domain entries only to host names. IPv4 and IPv6
    /// are distinct: `::ffff:10.0.0.1` is not in `10.0.0.0/8`.
    ///
    /// A domain or address entry may end in `:port` (`example.com:8443`, `10.0.0.1:443`,
    /// `[::1]:8080`, brackets required for IPv6); it then only applies to requests to that
    /// port, where a URL without a port means 443 for `https` and 80 for `http`. Entries
    /// without a port apply to every port.
    ///
    /// ```
    /// use gemini_transport::Proxy;
    ///
    /// let proxy = Proxy::url("http://proxy:3128")
    ///     .unwrap()
    ///     .no_proxy(".corp.example, 10.0.0.0/8, [fd00::1], api.example.com:8443");
    /// assert!(proxy.proxy_for("CORP.example.", true).is_none());
    /// assert!(proxy.proxy_for("git.corp.example", true).is_none());
    /// assert!(proxy.proxy_for("10.20.30.40", true).is_none());
    /// assert!(proxy.proxy_for("[fd00::1]", true).is_none());
    /// assert!(proxy.proxy_for("11.0.0.1", true).is_some());
    /// // `proxy_for` assumes the default port (443 here), so the `:8443` entry does not apply.
    /// assert!(proxy.proxy_for("api.example.com", true).is_some());
    /// ```
    #[must_use]
    pub fn no_proxy(mut self, list: &str) -> Self {
        self.no_proxy = NoProxy::parse(list);
        self
    }

    /// The proxy (`host:port`) a request to `host` would use, `None` for a direct connection.
    /// `host` is a bare host name or IP literal (IPv6 in brackets or not), without a port;
    /// `NO_PROXY` entries with a port are checked against the scheme's default port (443 for
    /// `https`, 80 otherwise).
    pub fn proxy_for(&self, host: &str, https: bool) -> Option<String> {
        self.select(host, if https { 443 } else { 80 }, https)
            .map(|p| format!("{}:{}", p.host, p.port))
    }

    pub(crate) fn select(&self, host: &str, port: u16, https: bool) -> Option<&ProxyUrl> {
        let p = if https {
            self.https.as_ref()
        } else {
            self.http.as_ref()
        }?;
        if self.bypass_loopback && is_loopback(host) {
            return None;
        }
        if self.no_proxy.matches(host, port) {
            return None;
        }
        Some(p)
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

/// A parsed `NO_PROXY` list. See [`Proxy::no_proxy`] for the accepted syntax.
#[derive(Clone, Default)]
struct NoProxy {
    /// A bare `*` entry was present: every host bypasses the proxy.
    all: bool,
    entries: Vec<NoProxyEntry>,
}

#[derive(Clone, PartialEq, Eq)]
struct NoProxyEntry {
    pattern: Pattern,
    /// `Some`: the entry only applies to requests to this port.
    port: Option<u16>,
}

#[derive(Clone, PartialEq, Eq)]
enum Pattern {
    /// Lower-case name without leading `.`/`*.` or trailing `.`; matches itself and its
    /// subdomains.
    Domain(String),
    /// One address, matched exactly.
    Ip(IpAddr),
    /// A network (host bits already cleared) and its prefix length.
    Cidr(IpAddr, u8),
}

impl fmt::Debug for NoProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        if self.all {
            list.entry(&format_args!("*"));
        }
        list.entries(&self.entries).finish()
    }
}

impl fmt::Debug for NoProxyEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.pattern, self.port) {
            (Pattern::Domain(d), _) => f.write_str(d)?,
            (Pattern::Ip(IpAddr::V6(ip)), Some(_)) => write!(f, "[{ip}]")?,
            (Pattern::Ip(ip), _) => write!(f, "{ip}")?,
            (Pattern::Cidr(ip, len), _) => write!(f, "{ip}/{len}")?,
        }
        match self.port {
            Some(port) => write!(f, ":{port}"),
            None => Ok(()),
        }
    }
}

/// Parses a run of ASCII digits (no sign, no whitespace).
fn parse_digits<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `addr/len` with `len` no longer than the address; the host bits are cleared.
fn parse_cidr(addr: &str, len: &str) -> Option<Pattern> {
    let addr: IpAddr = addr.parse().ok()?;
    let len: u8 = parse_digits(len)?;
    let network = match addr {
        IpAddr::V4(a) if len <= 32 => Ipv4Addr::from(u32::from(a) & v4_mask(len)).into(),
        IpAddr::V6(a) if len <= 128 => Ipv6Addr::from(u128::from(a) & v6_mask(len)).into(),
        _ => return None,
    };
    Some(Pattern::Cidr(network, len))
}

fn v4_mask(len: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)
}

fn v6_mask(len: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0)
}

/// Lower-cases `name` and drops one trailing `.`; `None` for names with empty labels or
/// characters that never appear in a host name we could be asked about.
fn normalize_domain(name: &str) -> Option<String> {
    let name = name.strip_suffix('.').unwrap_or(name);
    let valid = !name.is_empty()
        && name.split('.').all(|label| !label.is_empty())
        && !name.contains(['*', '/', ':', '[', ']', '@']);
    valid.then(|| name.to_ascii_lowercase())
}

impl NoProxyEntry {
    /// One trimmed, non-empty entry other than `*`; `None` when it is malformed.
    fn parse(entry: &str) -> Option<Self> {
        // `[v6]`, `[v6]:port`, `[v6]/len`.
        if let Some(rest) = entry.strip_prefix('[') {
            let (inside, after) = rest.split_once(']')?;
            if let Some(len) = after.strip_prefix('/') {
                return Some(Self {
                    pattern: parse_cidr(inside, len)?,
                    port: None,
                });
            }
            let port = match after {
                "" => None,
                _ => Some(parse_digits(after.strip_prefix(':')?)?),
            };
            let ip: IpAddr = inside.parse().ok()?;
            return Some(Self {
                pattern: Pattern::Ip(ip),
                port,
            });
        }
        if let Some((addr, len)) = entry.split_once('/') {
            return Some(Self {
                pattern: parse_cidr(addr, len)?,
                port: None,
            });
        }
        // A bare address, IPv6 (`::1`) included: its colons are not a port separator.
        if let Ok(ip) = entry.parse::<IpAddr>() {
            return Some(Self {
                pattern: Pattern::Ip(ip),
                port: None,
            });
        }
        let (host, port) = match entry.split_once(':') {
            Some((host, port)) => (host, Some(parse_digits(port)?)),
            None => (entry, None),
        };
        let pattern = match host.parse::<IpAddr>() {
            Ok(ip @ IpAddr::V4(_)) => Pattern::Ip(ip),
            // `::1:80` parses as an address above; anything else with a v6 host is ambiguous.
            Ok(IpAddr::V6(_)) => return None,
            Err(_) => {
                let name = host
                    .strip_prefix("*.")
                    .or_else(|| host.strip_prefix('.'))
                    .unwrap_or(host);
                Pattern::Domain(normalize_domain(name)?)
            }
        };
        Some(Self { pattern, port })
    }

    fn matches(&self, host: &Host<'_>, port: u16) -> bool {
        if self.port.is_some_and(|p| p != port) {
            return false;
        }
        match (&self.pattern, host) {
            (Pattern::Domain(d), Host::Name(name)) => {
                name == d
                    || (name.len() > d.len()
                        && name.ends_with(d.as_str())
                        && name.as_bytes()[name.len() - d.len() - 1] == b'.')
            }
            (Pattern::Ip(e), Host::Ip(ip)) => e == ip,
            (Pattern::Cidr(IpAddr::V4(net), len), Host::Ip(IpAddr::V4(ip))) => {
                u32::from(*ip) & v4_mask(*len) == u32::from(*net)
            }
            (Pattern::Cidr(IpAddr::V6(net), len), Host::Ip(IpAddr::V6(ip))) => {
                u128::from(*ip) & v6_mask(*len) == u128::from(*net)
            }
            _ => false,
        }
    }
}

/// A request host, normalized for matching.
enum Host<'a> {
    Ip(IpAddr),
    /// Lower case, without a trailing `.`.
    Name(std::borrow::Cow<'a, str>),
}

impl<'a> Host<'a> {
    fn new(host: &'a str) -> Self {
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if let Ok(ip) = bare.parse() {
            return Host::Ip(ip);
        }
        let name = bare.strip_suffix('.').unwrap_or(bare);
        Host::Name(if name.bytes().any(|b| b.is_ascii_uppercase()) {
            name.to_ascii_lowercase().into()
        } else {
            name.into()
        })
    }
}

impl NoProxy {
    fn parse(list: &str) -> Self {
        let mut out = Self::default();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if entry == "*" {
                out.all = true;
            } else if let Some(e) = NoProxyEntry::parse(entry) {
                out.entries.push(e);
            }
        }
        out
    }

    fn matches(&self, host: &str, port: u16) -> bool {
        if self.all {
            return true;
        }
        let host = Host::new(host);
        self.entries.iter().any(|e| e.matches(&host, port))
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

    /// Checks `(list, host, port, expected bypass)` rows; every expectation is written by hand.
    fn check(rows: &[(&str, &str, u16, bool)]) {
        for &(list, host, port, want) in rows {
            assert_eq!(
                NoProxy::parse(list).matches(host, port),
                want,
                "NO_PROXY={list:?} host={host:?} port={port}"
            );
        }
    }

    #[test]
    fn no_proxy_domains() {
        check(&[
            ("example.com", "example.com", 443, true),
            ("example.com", "api.example.com", 443, true),
            ("example.com", "a.b.example.com", 80, true),
            ("example.com", "notexample.com", 443, false),
            ("example.com", "example.com.evil", 443, false),
            ("example.com", "example.co", 443, false),
            ("example.com", "com", 443, false),
            // Leading `.`: subdomains and, as curl does, the bare domain.
            (".example.com", "api.example.com", 443, true),
            (".example.com", "example.com", 443, true),
            (".example.com", "notexample.com", 443, false),
            // Leading `*.` behaves like `.`.
            ("*.example.com", "api.example.com", 443, true),
            ("*.example.com", "example.com", 443, true),
            ("*.example.com", "notexample.com", 443, false),
            // Case-insensitive, trailing dots ignored on both sides.
            ("Example.COM", "API.example.com", 443, true),
            ("example.com", "EXAMPLE.COM", 443, true),
            ("example.com", "example.com.", 443, true),
            ("example.com", "api.example.com.", 443, true),
            ("example.com.", "example.com", 443, true),
            ("example.com.", "notexample.com.", 443, false),
            // Domain entries never match IP-literal hosts.
            ("0.1", "10.0.0.1", 443, false),
            ("", "example.com", 443, false),
        ]);
    }

    #[test]
    fn no_proxy_ip_literals() {
        check(&[
            ("10.0.0.1", "10.0.0.1", 443, true),
            ("10.0.0.1", "10.0.0.2", 443, false),
            ("10.0.0.1", "110.0.0.1", 443, false),
            ("10.0.0.1", "10.0.0.10", 443, false),
            ("::1", "::1", 443, true),
            ("::1", "[::1]", 443, true),
            ("[::1]", "::1", 443, true),
            ("[::1]", "[::1]", 443, true),
            ("[::1]", "[::2]", 443, false),
            // Same address, different spelling.
            ("2001:db8::1", "[2001:DB8:0:0:0:0:0:1]", 443, true),
            // IPv4 and IPv6 are distinct, mapped addresses included.
            ("10.0.0.1", "[::ffff:10.0.0.1]", 443, false),
            // Address entries never match host names.
            ("10.0.0.1", "host.example", 443, false),
        ]);
    }

    #[test]
    fn no_proxy_cidrs() {
        check(&[
            ("10.0.0.0/8", "10.0.0.0", 443, true),
            ("10.0.0.0/8", "10.255.255.255", 443, true),
            ("10.0.0.0/8", "9.255.255.255", 443, false),
            ("10.0.0.0/8", "11.0.0.0", 443, false),
            ("192.168.1.0/24", "192.168.1.77", 443, true),
            ("192.168.1.0/24", "192.168.1.255", 443, true),
            ("192.168.1.0/24", "192.168.2.0", 443, false),
            ("192.168.1.0/24", "192.168.0.255", 443, false),
            ("172.16.0.0/12", "172.31.255.255", 443, true),
            ("172.16.0.0/12", "172.32.0.0", 443, false),
            // Host bits in the entry are cleared: this is 10.0.0.0/8.
            ("10.1.2.3/8", "10.200.0.1", 443, true),
            ("0.0.0.0/0", "203.0.113.9", 443, true),
            ("10.0.0.1/32", "10.0.0.1", 443, true),
            ("10.0.0.1/32", "10.0.0.0", 443, false),
            ("fd00::/8", "[fd12:3456::1]", 443, true),
            ("fd00::/8", "fdff:ffff::", 443, true),
            ("fd00::/8", "[fe00::1]", 443, false),
            ("fd00::/8", "[fc00::1]", 443, false),
            ("[fd00::]/8", "[fd00::abcd]", 443, true),
            ("2001:db8::/32", "[2001:db8:ffff::1]", 443, true),
            ("2001:db8::/32", "[2001:db9::1]", 443, false),
            ("::/0", "[2001:db8::1]", 443, true),
            ("::1/128", "[::1]", 443, true),
            // IPv4 host vs IPv6 range and vice versa.
            ("fd00::/8", "10.0.0.1", 443, false),
            ("::/0", "10.0.0.1", 443, false),
            ("0.0.0.0/0", "[::1]", 443, false),
            ("10.0.0.0/8", "[::ffff:10.0.0.1]", 443, false),
            // Names are not resolved.
            ("10.0.0.0/8", "intranet.example", 443, false),
            ("127.0.0.0/8", "localhost", 443, false),
        ]);
    }

    #[test]
    fn no_proxy_ports() {
        check(&[
            ("example.com:8443", "example.com", 8443, true),
            ("example.com:8443", "api.example.com", 8443, true),
            ("example.com:8443", "example.com", 443, false),
            (".example.com:8443", "api.example.com", 8443, true),
            ("10.0.0.1:443", "10.0.0.1", 443, true),
            ("10.0.0.1:443", "10.0.0.1", 80, false),
            ("[::1]:8080", "[::1]", 8080, true),
            ("[::1]:8080", "::1", 8080, true),
            ("[::1]:8080", "[::1]", 443, false),
            // Without a port an entry applies to every port.
            ("example.com", "example.com", 8443, true),
            ("10.0.0.0/8", "10.0.0.1", 1, true),
            // Unbracketed, `::1:8080` is an IPv6 address, not `::1` port 8080.
            ("::1:8080", "::1", 8080, false),
            ("::1:8080", "[::1:8080]", 443, true),
        ]);
    }

    #[test]
    fn no_proxy_star_whitespace_and_empty_entries() {
        check(&[
            ("*", "anything.example", 443, true),
            ("*", "10.0.0.1", 443, true),
            ("*", "[::1]", 8080, true),
            // `*` wins wherever it appears in the list.
            ("example.com, *", "other.example", 443, true),
            ("*,example.com", "192.0.2.1", 80, true),
            (" * ", "other.example", 443, true),
            // `*` is only special alone: no globbing elsewhere.
            ("*example.com", "api.example.com", 443, false),
            ("*example.com", "notexample.com", 443, false),
            ("ex*.com", "example.com", 443, false),
            (
                " example.com ,\t10.0.0.0/8 , ,,",
                "api.example.com",
                443,
                true,
            ),
            (" example.com ,\t10.0.0.0/8 , ,,", "10.9.8.7", 443, true),
            (" example.com ,\t10.0.0.0/8 , ,,", "example.org", 443, false),
            (",,,", "example.com", 443, false),
            (" ", "example.com", 443, false),
            ("", "", 443, false),
        ]);
    }

    #[test]
    fn no_proxy_invalid_entries_are_ignored() {
        for bad in [
            "10.0.0.0/33",
            "fd00::/129",
            "10.0.0.0/",
            "10.0.0.0/x",
            "10.0.0.0/+8",
            "10.0.0.0/-1",
            "10.0.0.0/8/8",
            "10.0.0.0/999999999999",
            "notanip/8",
            "/8",
            "[::1",
            "[::1]x",
            "[::1]:",
            "[::1]:port",
            "[::1]:70000",
            "[example.com]",
            "example.com:",
            "example.com:http",
            "example.com:+443",
            "example.com:65536",
            "a:b:c",
            ".",
            "*.",
            "..example.com",
            "example..com",
            "ex*.com",
            "*:443",
        ] {
            let n = NoProxy::parse(bad);
            assert!(
                !n.all && n.entries.is_empty(),
                "{bad:?} should be ignored, got {n:?}"
            );
        }
        // Bad entries do not spoil the good ones next to them.
        check(&[
            ("10.0.0.0/33, example.com", "example.com", 443, true),
            ("10.0.0.0/33, example.com", "10.0.0.1", 443, false),
            ("garbage/8, 10.0.0.0/8", "10.1.1.1", 443, true),
            ("[::1, 192.168.0.0/16", "192.168.4.4", 443, true),
        ]);
    }

    #[test]
    fn no_proxy_debug_shows_normalized_entries() {
        let n =
            NoProxy::parse("EXAMPLE.com., *, 10.1.2.3/8, [::1]:8080, ::2, .a.example:81, bad/99");
        assert_eq!(
            format!("{n:?}"),
            "[*, example.com, 10.0.0.0/8, [::1]:8080, ::2, a.example:81]"
        );
    }

    #[test]
    fn selection_passes_the_port_to_no_proxy() {
        let p = Proxy::url("http://proxy:3128")
            .unwrap()
            .no_proxy("api.example.com:8443, plain.example:80, [fd00::1]:443");
        assert_eq!(p.select("api.example.com", 8443, true), None);
        assert!(p.select("api.example.com", 443, true).is_some());
        assert_eq!(p.select("plain.example", 80, false), None);
        assert!(p.select("plain.example", 8080, false).is_some());
        assert_eq!(p.select("[fd00::1]", 443, true), None);
        // `proxy_for` uses the scheme's default port.
        assert_eq!(
            p.proxy_for("api.example.com", true).as_deref(),
            Some("proxy:3128")
        );
        assert_eq!(p.proxy_for("plain.example", false), None);
        assert_eq!(p.proxy_for("fd00::1", true), None);
        assert_eq!(
            p.proxy_for("[fd00::1]", false).as_deref(),
            Some("proxy:3128")
        );
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
