//! HTTP/1.1 message framing without I/O: the request head written, the response head parsed
//! (with `httparse`) and the body's framing read — fixed length, chunked, or until the
//! connection closes (RFC 9112, sections 6 and 7).
//!
//! Everything here works on bytes already read; the connection (`super`) reads and writes.

use std::io::Write as _;

use bytes::{Buf, Bytes, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Version};

use crate::{ErrorKind, TransportError};

/// The largest response head accepted (status line and headers).
pub(crate) const MAX_HEAD: usize = 64 * 1024;
/// The most header fields a response head may have.
pub(crate) const MAX_HEADERS: usize = 128;
/// The longest chunk extension accepted (after the chunk size, before the line's end).
pub(crate) const MAX_CHUNK_EXTENSION: usize = 4 * 1024;
/// The most bytes of trailer fields accepted after the last chunk.
pub(crate) const MAX_TRAILERS: usize = 64 * 1024;

fn protocol(msg: impl Into<String>) -> TransportError {
    TransportError::new(ErrorKind::Protocol, msg)
}

/// Appends the head of `req` to `out`: the request line in the form the URI is in (origin
/// form, or absolute form for a forwarding proxy), the request's headers except the framing
/// ones, and a `content-length` for the body this client always sends whole.
///
/// The `http` types have already rejected what could break the framing (a CR or LF in a
/// header value, a space in the URI).
pub(crate) fn encode_head(req: &http::Request<Bytes>, out: &mut Vec<u8>) {
    out.extend_from_slice(req.method().as_str().as_bytes());
    out.push(b' ');
    let uri = req.uri();
    if let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) {
        // Absolute form, for a forwarding proxy: without the URI's userinfo, which a request
        // target must not carry (RFC 9110 section 4.2.4).
        let authority = authority.as_str();
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        out.extend_from_slice(scheme.as_bytes());
        out.extend_from_slice(b"://");
        out.extend_from_slice(host_port.as_bytes());
        let target = uri.path_and_query().map_or("/", |pq| pq.as_str());
        if !target.starts_with('/') {
            out.push(b'/');
        }
        out.extend_from_slice(target.as_bytes());
    } else {
        let target = uri.path_and_query().map_or("/", |pq| pq.as_str());
        if target.starts_with('?') {
            // An empty path before a query (`https://host?q` in origin form): "/".
            out.push(b'/');
        }
        out.extend_from_slice(if target.is_empty() {
            b"/"
        } else {
            target.as_bytes()
        });
    }
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in req.headers() {
        if name == CONTENT_LENGTH || name == TRANSFER_ENCODING {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let len = req.body().len();
    if len > 0
        || !matches!(
            *req.method(),
            Method::GET
                | Method::HEAD
                | Method::DELETE
                | Method::OPTIONS
                | Method::TRACE
                | Method::CONNECT
        )
    {
        // Writing to a `Vec` cannot fail.
        let _ = write!(out, "content-length: {len}\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// A response head and what it says about the body and the connection.
#[derive(Debug)]
pub(crate) struct Head {
    pub(crate) response: http::Response<()>,
    pub(crate) body: BodyDecoder,
    /// The connection may carry another request once this body has been read to its end.
    pub(crate) keep_alive: bool,
}

/// Parses the response head at the start of `buf`, skipping interim (1xx) responses, and
/// removes what it parsed from `buf` (the body's first bytes stay). `Ok(None)`: the head is
/// not complete yet (nothing is removed but interim responses).
///
/// `method` is the request's: the response to `HEAD` has no body whatever its headers say.
pub(crate) fn parse_head(
    buf: &mut BytesMut,
    method: &Method,
) -> Result<Option<Head>, TransportError> {
    loop {
        // Where each field's name and value lie in the head (the parsed fields borrow `buf`,
        // which is split before the values are made).
        let mut spans = [[0u32; 4]; MAX_HEADERS];
        let (len, code, version, fields) = {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut parsed = httparse::Response::new(&mut headers);
            let len = match parsed.parse(buf) {
                Ok(httparse::Status::Complete(len)) if len <= MAX_HEAD => len,
                Ok(httparse::Status::Partial) if buf.len() <= MAX_HEAD => return Ok(None),
                Ok(_) => {
                    return Err(protocol(format!(
                        "the response head is longer than {} KiB",
                        MAX_HEAD / 1024
                    )));
                }
                Err(httparse::Error::TooManyHeaders) => {
                    return Err(protocol(format!(
                        "the response head has more than {MAX_HEADERS} header fields"
                    )));
                }
                Err(e) => return Err(protocol(format!("invalid response head: {e}"))),
            };
            let base = buf.as_ptr() as usize;
            let offset = |s: &[u8]| (s.as_ptr() as usize - base) as u32;
            for (span, h) in spans.iter_mut().zip(parsed.headers.iter()) {
                *span = [
                    offset(h.name.as_bytes()),
                    h.name.len() as u32,
                    offset(h.value),
                    h.value.len() as u32,
                ];
            }
            let code = parsed.code.expect("a complete head has a status code");
            (len, code, parsed.version, parsed.headers.len())
        };
        let status = StatusCode::from_u16(code)
            .map_err(|_| protocol(format!("invalid response status {code}")))?;
        if status.is_informational() {
            if status == StatusCode::SWITCHING_PROTOCOLS {
                return Err(protocol("unexpected 101 Switching Protocols"));
            }
            // 100 Continue, 103 Early Hints: the final response follows.
            buf.advance(len);
            continue;
        }
        let version = if version == Some(0) {
            Version::HTTP_10
        } else {
            Version::HTTP_11
        };
        let head = buf.split_to(len).freeze();
        let mut map = HeaderMap::with_capacity(fields);
        for &[name_at, name_len, value_at, value_len] in &spans[..fields] {
            let range = |at: u32, len: u32| at as usize..(at + len) as usize;
            let name = HeaderName::from_bytes(&head[range(name_at, name_len)]).map_err(|_| {
                protocol(format!(
                    "invalid header name {:?}",
                    String::from_utf8_lossy(&head[range(name_at, name_len)])
                ))
            })?;
            // A slice of the head, not a copy (the head is one shared buffer).
            let value = HeaderValue::from_maybe_shared(head.slice(range(value_at, value_len)))
                .map_err(|_| protocol(format!("invalid value of header {name}")))?;
            map.append(name, value);
        }
        let (body, framed) = framing(&map, status, method)?;
        // An HTTP/1.0 message with a Transfer-Encoding: close after it (RFC 9112 section 6.1).
        let keep_alive = framed
            && keeps_alive(&map, version)
            && !(version == Version::HTTP_10 && map.contains_key(TRANSFER_ENCODING));
        let mut response = http::Response::new(());
        *response.status_mut() = status;
        *response.version_mut() = version;
        *response.headers_mut() = map;
        return Ok(Some(Head {
            response,
            body,
            keep_alive,
        }));
    }
}

/// How the body of a response is delimited (RFC 9112 section 6.3), and whether that lets the
/// connection be reused (a body delimited by the connection's close, or one whose length two
/// framings disagree on, does not).
fn framing(
    headers: &HeaderMap,
    status: StatusCode,
    method: &Method,
) -> Result<(BodyDecoder, bool), TransportError> {
    if *method == Method::HEAD
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return Ok((BodyDecoder::Length(0), true));
    }
    let mut codings = headers.get_all(TRANSFER_ENCODING).iter().peekable();
    if codings.peek().is_some() {
        let last = codings
            .last()
            .and_then(|v| v.as_bytes().rsplit(|&b| b == b',').next())
            .map(|c| c.trim_ascii());
        return Ok(
            if last.is_some_and(|c| c.eq_ignore_ascii_case(b"chunked")) {
                // With a Content-Length as well, the message may be an attack on an intermediary:
                // read it as chunked, then close (section 6.3, point 3).
                let also_length = headers.contains_key(CONTENT_LENGTH);
                (BodyDecoder::Chunked(Chunked::default()), !also_length)
            } else {
                (BodyDecoder::UntilClose, false)
            },
        );
    }
    let mut length = None;
    for value in headers.get_all(CONTENT_LENGTH) {
        for part in value.as_bytes().split(|&b| b == b',') {
            let n = parse_length(part.trim_ascii())
                .ok_or_else(|| protocol("invalid Content-Length in the response"))?;
            if length.is_some_and(|l| l != n) {
                return Err(protocol(
                    "conflicting Content-Length values in the response",
                ));
            }
            length = Some(n);
        }
    }
    Ok(match length {
        Some(n) => (BodyDecoder::Length(n), true),
        None => (BodyDecoder::UntilClose, false),
    })
}

fn parse_length(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + u64::from(d - b'0'))
    })
}

/// Whether the `Connection` fields of `headers` hold `token`.
fn connection_has(headers: &HeaderMap, token: &[u8]) -> bool {
    headers.get_all(CONNECTION).iter().any(|v| {
        v.as_bytes()
            .split(|&b| b == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
    })
}

/// Whether a message's headers end the connection after it (`Connection: close`).
pub(crate) fn says_close(headers: &HeaderMap) -> bool {
    connection_has(headers, b"close")
}

/// HTTP/1.1 connections persist unless a `Connection: close` says otherwise; HTTP/1.0 ones
/// only with `Connection: keep-alive`.
fn keeps_alive(headers: &HeaderMap, version: Version) -> bool {
    if version == Version::HTTP_10 {
        connection_has(headers, b"keep-alive") && !says_close(headers)
    } else {
        !says_close(headers)
    }
}

/// What [`BodyDecoder::decode`] found in the buffer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// The next piece of the body (never empty).
    Data(Bytes),
    /// The body ended; what follows in the buffer is not this response's.
    End,
    /// More bytes are needed.
    More,
}

/// Reads a response body's framing out of the bytes read so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyDecoder {
    /// This many bytes remain.
    Length(u64),
    Chunked(Chunked),
    /// Everything until the server closes the connection.
    UntilClose,
}

impl BodyDecoder {
    /// Takes the next piece of the body from the front of `buf`.
    pub(crate) fn decode(&mut self, buf: &mut BytesMut) -> Result<Decoded, TransportError> {
        match self {
            Self::Length(0) => Ok(Decoded::End),
            Self::Length(_) | Self::UntilClose if buf.is_empty() => Ok(Decoded::More),
            Self::Length(left) => {
                let n = usize::try_from(*left).map_or(buf.len(), |l| l.min(buf.len()));
                *left -= n as u64;
                Ok(Decoded::Data(buf.split_to(n).freeze()))
            }
            Self::UntilClose => Ok(Decoded::Data(buf.split().freeze())),
            Self::Chunked(c) => c.decode(buf),
        }
    }

    /// The connection closed (after everything read was decoded): `Ok` if that ends the body,
    /// otherwise why the body is incomplete.
    pub(crate) fn at_close(&self) -> Result<(), TransportError> {
        let missing = match self {
            Self::Length(0) | Self::UntilClose => return Ok(()),
            Self::Chunked(c) if c.state == State::End => return Ok(()),
            Self::Length(n) => format!("{n} bytes before the end of the body"),
            Self::Chunked(c) if matches!(c.state, State::Trailer { .. }) => {
                "in the trailer section, after the body's last chunk".to_owned()
            }
            Self::Chunked(_) => "before the body's last chunk".to_owned(),
        };
        Err(TransportError::new(
            ErrorKind::ClosedMidBody,
            format!("the server closed the connection {missing}"),
        ))
    }
}

/// The chunked transfer coding's state between reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Chunked {
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// In the chunk-size line's hex digits (`digits` read so far).
    Size {
        size: u64,
        digits: u8,
    },
    /// Spaces after the size (tolerated, as most implementations do), `len` of them so far
    /// (counted with the extension).
    SizeSpace {
        size: u64,
        len: usize,
    },
    /// In a chunk extension (ignored), `len` bytes of it so far.
    Extension {
        size: u64,
        len: usize,
    },
    /// After the size line's CR.
    SizeLf {
        size: u64,
    },
    /// In a chunk's data, this many bytes left.
    Data(u64),
    /// After a chunk's data: CR LF.
    DataCr,
    DataLf,
    /// In the trailer section: `line` bytes of the current field line, `total` in all.
    Trailer {
        line: usize,
        total: usize,
    },
    End,
}

impl Default for State {
    fn default() -> Self {
        Self::Size { size: 0, digits: 0 }
    }
}

/// The most hex digits a chunk size may have (leading zeros included).
const MAX_SIZE_DIGITS: u8 = 32;

fn bad_chunk(what: &str) -> TransportError {
    protocol(format!("invalid chunked body: {what}"))
}

impl Chunked {
    fn decode(&mut self, buf: &mut BytesMut) -> Result<Decoded, TransportError> {
        loop {
            match self.state {
                State::End => return Ok(Decoded::End),
                State::Data(left) => {
                    if buf.is_empty() {
                        return Ok(Decoded::More);
                    }
                    let n = usize::try_from(left).map_or(buf.len(), |l| l.min(buf.len()));
                    self.state = if n as u64 == left {
                        State::DataCr
                    } else {
                        State::Data(left - n as u64)
                    };
                    return Ok(Decoded::Data(buf.split_to(n).freeze()));
                }
                _ => {
                    let used = self.scan(buf)?;
                    buf.advance(used);
                    if !matches!(self.state, State::Data(_) | State::End) {
                        return Ok(Decoded::More);
                    }
                }
            }
        }
    }

    /// Steps through framing bytes (size lines, CRLFs, trailers) until a chunk's data or the
    /// end begins, or `buf` runs out; returns how many bytes it consumed.
    fn scan(&mut self, buf: &[u8]) -> Result<usize, TransportError> {
        for (i, &b) in buf.iter().enumerate() {
            self.state = match (self.state, b) {
                (State::Size { size, digits }, _) if b.is_ascii_hexdigit() => {
                    if size >> 60 != 0 || digits == MAX_SIZE_DIGITS {
                        return Err(bad_chunk("chunk size too large"));
                    }
                    let d = (b as char).to_digit(16).expect("a hex digit");
                    State::Size {
                        size: size << 4 | u64::from(d),
                        digits: digits + 1,
                    }
                }
                (State::Size { digits: 0, .. }, _) => {
                    return Err(bad_chunk("a chunk size line without a size"));
                }
                (State::Size { size, .. }, b' ' | b'\t') => State::SizeSpace { size, len: 1 },
                (State::SizeSpace { size, len }, b' ' | b'\t') => {
                    if len >= MAX_CHUNK_EXTENSION {
                        return Err(bad_chunk("chunk extension too long"));
                    }
                    State::SizeSpace { size, len: len + 1 }
                }
                (State::Size { size, .. }, b';') => State::Extension { size, len: 0 },
                (State::SizeSpace { size, len }, b';') => State::Extension { size, len },
                (
                    State::Size { size, .. }
                    | State::SizeSpace { size, .. }
                    | State::Extension { size, .. },
                    b'\r',
                ) => State::SizeLf { size },
                (
                    State::Size { size, .. }
                    | State::SizeSpace { size, .. }
                    | State::Extension { size, .. }
                    | State::SizeLf { size },
                    b'\n',
                ) => {
                    let next = if size == 0 {
                        State::Trailer { line: 0, total: 0 }
                    } else {
                        State::Data(size)
                    };
                    self.state = next;
                    if size != 0 {
                        return Ok(i + 1);
                    }
                    continue;
                }
                (State::Size { .. } | State::SizeSpace { .. } | State::SizeLf { .. }, _) => {
                    return Err(bad_chunk("unexpected byte in a chunk size line"));
                }
                (State::Extension { size, len }, _) => {
                    if len >= MAX_CHUNK_EXTENSION {
                        return Err(bad_chunk("chunk extension too long"));
                    }
                    State::Extension { size, len: len + 1 }
                }
                (State::DataCr, b'\r') => State::DataLf,
                (State::DataCr | State::DataLf, b'\n') => State::Size { size: 0, digits: 0 },
                (State::DataCr | State::DataLf, _) => {
                    return Err(bad_chunk("a chunk's data is not followed by CRLF"));
                }
                (State::Trailer { line: 0, .. }, b'\n') => {
                    self.state = State::End;
                    return Ok(i + 1);
                }
                // Every byte of the section counts, line ends included (a stream of CRs or of
                // short lines would otherwise never end it).
                (State::Trailer { total, .. }, _) if total >= MAX_TRAILERS => {
                    return Err(bad_chunk(&format!(
                        "trailer fields longer than {} KiB",
                        MAX_TRAILERS / 1024
                    )));
                }
                (State::Trailer { total, .. }, b'\n') => State::Trailer {
                    line: 0,
                    total: total + 1,
                },
                // A CR before the LF ending a line is not part of the line (but counts).
                (State::Trailer { line, total }, b'\r') => State::Trailer {
                    line,
                    total: total + 1,
                },
                (State::Trailer { line, total }, _) => State::Trailer {
                    line: line + 1,
                    total: total + 1,
                },
                (State::Data(_) | State::End, _) => unreachable!("scan stops at data and end"),
            };
        }
        Ok(buf.len())
    }
}

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;
