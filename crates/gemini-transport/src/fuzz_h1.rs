//! Internal (feature `_fuzz`): the HTTP/1.1 response reader of the hyper backend, exposed for
//! the fuzz target `h1_response`. Not a public API; it may change or go away at any time.
//!
//! [`read_response`] reads a response the way a connection does (the head, then the body's
//! framing, out of one buffer the input is appended to), once whole and once in two pieces,
//! and panics if the two disagree or if the reader breaks one of its own rules. Returning an
//! error for a malformed response is not a failure.

#[cfg(any(feature = "tokio", feature = "smol"))]
use crate::hyper_backend::h1::codec;
// Without a runtime the backend is not compiled: take the codec alone (it needs neither).
#[cfg(not(any(feature = "tokio", feature = "smol")))]
#[path = "hyper_backend/h1/codec.rs"]
#[allow(dead_code)] // the request side and the limits are the connection's
mod codec;

use bytes::BytesMut;
use http::Method;

use self::codec::{BodyDecoder, Decoded, MAX_HEAD};

/// Reads `input` as the response to a `GET`, whole and cut in two at `split` (clamped to the
/// input's length), and panics unless both readings give the same result (status, headers,
/// framing, body, where the response ended or the same error).
///
/// The one allowed difference: a first piece longer than the head limit that holds no
/// complete head is refused as too long, where the whole input may be refused for another
/// fault further on.
pub fn read_response(input: &[u8], split: usize) {
    let whole = run(&[input]);
    let split = split.min(input.len());
    let (a, b) = input.split_at(split);
    let pieces = run(&[a, b]);
    if split > MAX_HEAD
        && let (End::Error(Phase::Head, kind_a, _), End::Error(Phase::Head, kind_b, _)) =
            (&whole.end, &pieces.end)
    {
        assert_eq!(kind_a, kind_b);
        return;
    }
    assert_eq!(whole, pieces, "split at {split}");
}

/// Where reading failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Head,
    Body,
}

/// How the reading of a response stopped.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// The body ended; the bytes after it.
    Ended(Vec<u8>),
    /// The input ran out and the framing accepts that as the body's end (read until close).
    Closed,
    /// The input ran out before a complete head; the bytes left (interim responses removed).
    NoHead(Vec<u8>),
    /// An error: its kind and its text.
    Error(Phase, String, String),
}

/// The parts of a response head that can be compared.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct HeadSummary {
    pub(crate) status: u16,
    pub(crate) version: http::Version,
    pub(crate) headers: Vec<(String, Vec<u8>)>,
    pub(crate) framing: BodyDecoder,
    pub(crate) keep_alive: bool,
}

impl HeadSummary {
    pub(crate) fn of(h: &codec::Head) -> Self {
        Self {
            status: h.response.status().as_u16(),
            version: h.response.version(),
            headers: h
                .response
                .headers()
                .iter()
                .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
                .collect(),
            framing: h.body.clone(),
            keep_alive: h.keep_alive,
        }
    }
}

/// What reading a response gave.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub(crate) head: Option<HeadSummary>,
    pub(crate) body: Vec<u8>,
    pub(crate) end: End,
}

fn error(phase: Phase, e: &crate::TransportError) -> End {
    let text = e.to_string();
    assert!(!text.contains(['\n', '\r']), "a multi-line error: {text:?}");
    End::Error(phase, format!("{:?}", e.kind()), text)
}

/// Reads a response to a `GET` from `pieces`, appended one after another to the buffer (each
/// is followed by as much reading as the buffer allows), then the connection's close.
pub(crate) fn run(pieces: &[&[u8]]) -> Outcome {
    let mut buf = BytesMut::new();
    let mut head = None;
    let mut decoder: Option<BodyDecoder> = None;
    let mut body = Vec::new();
    let mut ended = false;
    for piece in pieces {
        buf.extend_from_slice(piece);
        if ended {
            continue;
        }
        let decoder = match &mut decoder {
            Some(d) => d,
            None => match codec::parse_head(&mut buf, &Method::GET) {
                Ok(None) => continue,
                Ok(Some(h)) => {
                    head = Some(HeadSummary::of(&h));
                    if h.keep_alive {
                        assert!(
                            !matches!(h.body, BodyDecoder::UntilClose),
                            "a body read until the close on a connection kept alive"
                        );
                    }
                    decoder.insert(h.body)
                }
                Err(e) => {
                    return Outcome {
                        head: None,
                        body,
                        end: error(Phase::Head, &e),
                    };
                }
            },
        };
        loop {
            match decoder.decode(&mut buf) {
                Ok(Decoded::Data(data)) => {
                    assert!(!data.is_empty(), "an empty piece of body");
                    body.extend_from_slice(&data);
                }
                Ok(Decoded::More) => {
                    assert!(buf.is_empty(), "more asked for with bytes left");
                    break;
                }
                Ok(Decoded::End) => {
                    // The end stays the end, takes nothing more and needs nothing more.
                    let left = buf.len();
                    assert_eq!(decoder.decode(&mut buf).ok(), Some(Decoded::End));
                    assert_eq!(buf.len(), left);
                    assert!(decoder.at_close().is_ok());
                    ended = true;
                    break;
                }
                Err(e) => {
                    return Outcome {
                        head,
                        body,
                        end: error(Phase::Body, &e),
                    };
                }
            }
        }
    }
    let end = match (&decoder, ended) {
        (_, true) => End::Ended(buf.to_vec()),
        (None, _) => End::NoHead(buf.to_vec()),
        (Some(d), false) => match d.at_close() {
            Ok(()) => {
                assert_eq!(
                    *d,
                    BodyDecoder::UntilClose,
                    "a framed body ended by the close"
                );
                End::Closed
            }
            Err(e) => error(Phase::Body, &e),
        },
    };
    if let (End::Ended(_), Some(HeadSummary { framing, .. })) = (&end, &head)
        && let BodyDecoder::Length(n) = framing
    {
        assert_eq!(body.len() as u64, *n, "a body of the wrong length");
    }
    Outcome { head, body, end }
}
