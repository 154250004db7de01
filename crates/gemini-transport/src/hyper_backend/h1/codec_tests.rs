//! Tests of the HTTP/1.1 codec. Every expected value is written out by hand.

use bytes::{Bytes, BytesMut};
use http::{HeaderValue, Method, Request, StatusCode, Uri, Version};

use super::*;
use crate::fuzz_h1::{self, End, HeadSummary, Outcome};
use crate::{ErrorKind, TransportError};

// ----- helpers -----

fn encode(req: &Request<Bytes>) -> String {
    let mut out = Vec::new();
    encode_head(req, &mut out);
    String::from_utf8(out).expect("an ASCII head")
}

fn request(method: &str, uri: &str, headers: &[(&str, &str)], body: &[u8]) -> Request<Bytes> {
    let mut b = Request::builder().method(method).uri(uri);
    for (n, v) in headers {
        b = b.header(*n, *v);
    }
    b.body(Bytes::copy_from_slice(body)).unwrap()
}

/// A response head: the status line, then each field line, then the empty line.
fn head(status_line: &str, fields: &[&str]) -> Vec<u8> {
    let mut s = format!("{status_line}\r\n");
    for f in fields {
        s.push_str(f);
        s.push_str("\r\n");
    }
    s.push_str("\r\n");
    s.into_bytes()
}

/// Parses a complete head from `input` (answering a `method` request); returns it and what
/// is left in the buffer.
fn parse_as(input: &[u8], method: &Method) -> (Head, Vec<u8>) {
    let mut buf = BytesMut::from(input);
    let head = parse_head(&mut buf, method)
        .unwrap_or_else(|e| panic!("{e} for {:?}", String::from_utf8_lossy(input)))
        .expect("a complete head");
    (head, buf.to_vec())
}

fn parse(input: &[u8]) -> (Head, Vec<u8>) {
    parse_as(input, &Method::GET)
}

/// The framing and the keep-alive decision for a 200 response to `GET` with these fields.
fn framing_of(fields: &[&str]) -> (BodyDecoder, bool) {
    let (h, _) = parse(&head("HTTP/1.1 200 OK", fields));
    (h.body, h.keep_alive)
}

/// Checks that an error is a one-line protocol error, and returns its text.
fn protocol_text(e: &TransportError) -> String {
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
    let text = e.to_string();
    assert!(!text.contains(['\n', '\r']), "{text:?}");
    assert!(text.chars().all(|c| !c.is_control()), "{text:?}");
    text
}

/// The error parsing `input` gives (as text, after checking it is a one-line protocol error).
fn head_error(input: &[u8]) -> String {
    let mut buf = BytesMut::from(input);
    match parse_head(&mut buf, &Method::GET) {
        Err(e) => protocol_text(&e),
        Ok(h) => panic!(
            "{:?} parsed: {:?}",
            String::from_utf8_lossy(&input[..input.len().min(200)]),
            h.map(|h| h.response)
        ),
    }
}

fn chunked() -> BodyDecoder {
    BodyDecoder::Chunked(Chunked::default())
}

/// What a decoder made of a body fed in pieces: the body, and the bytes after its end
/// (`None`: the end was not reached).
type Read = (Vec<u8>, Option<Vec<u8>>);

/// Feeds `pieces` to `decoder` one after another, decoding all it can after each.
fn decode_pieces(mut decoder: BodyDecoder, pieces: &[&[u8]]) -> Result<Read, TransportError> {
    let mut buf = BytesMut::new();
    let mut body = Vec::new();
    let mut ended = false;
    for piece in pieces {
        buf.extend_from_slice(piece);
        while !ended {
            match decoder.decode(&mut buf)? {
                Decoded::Data(d) => {
                    assert!(!d.is_empty());
                    body.extend_from_slice(&d);
                }
                Decoded::More => break,
                Decoded::End => {
                    // The end is reported again, and nothing more is taken.
                    let left = buf.clone();
                    assert_eq!(decoder.decode(&mut buf).unwrap(), Decoded::End);
                    assert_eq!(buf, left);
                    assert!(decoder.at_close().is_ok());
                    ended = true;
                }
            }
        }
    }
    Ok((body, ended.then(|| buf.to_vec())))
}

fn decode_all(decoder: BodyDecoder, input: &[u8]) -> Result<Read, TransportError> {
    decode_pieces(decoder, &[input])
}

/// `input` cut at `cuts` (ascending).
fn cut<'a>(input: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut pieces = Vec::new();
    let mut at = 0;
    for &c in cuts {
        pieces.push(&input[at..c]);
        at = c;
    }
    pieces.push(&input[at..]);
    pieces
}

/// Decodes `input` whole, cut once at every offset, cut twice at every pair of offsets, and
/// one byte at a time; every reading must give `expected`.
fn decode_every_way(decoder: &BodyDecoder, input: &[u8], expected: &Result<Read, String>) {
    let check = |pieces: &[&[u8]], how: &str| {
        let got = decode_pieces(decoder.clone(), pieces).map_err(|e| protocol_text(&e));
        assert_eq!(&got, expected, "{how}");
    };
    check(&[input], "whole");
    for i in 0..=input.len() {
        check(&cut(input, &[i]), &format!("cut at {i}"));
    }
    if input.len() <= 200 {
        for i in 0..=input.len() {
            for j in i..=input.len() {
                check(&cut(input, &[i, j]), &format!("cut at {i} and {j}"));
            }
        }
    }
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    check(&bytes, "byte at a time");
}

fn chunk_error(input: &[u8]) -> String {
    let e = decode_all(chunked(), input).expect_err("an invalid chunked body");
    let text = protocol_text(&e);
    // The same error whatever the pieces.
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    let e2 = decode_pieces(chunked(), &bytes).expect_err("an invalid chunked body");
    assert_eq!(protocol_text(&e2), text);
    text
}

// ----- encode_head -----

#[test]
fn encodes_origin_form() {
    let req = request(
        "GET",
        "/v1beta/models/gemini:streamGenerateContent?alt=sse&key=k",
        &[("host", "example.com"), ("accept", "*/*")],
        b"",
    );
    assert_eq!(
        encode(&req),
        "GET /v1beta/models/gemini:streamGenerateContent?alt=sse&key=k HTTP/1.1\r\n\
         host: example.com\r\n\
         accept: */*\r\n\
         \r\n"
    );
}

#[test]
fn encodes_absolute_form() {
    let req = request("GET", "http://example.com:8080/a/b?q=1&r", &[], b"");
    assert_eq!(
        encode(&req),
        "GET http://example.com:8080/a/b?q=1&r HTTP/1.1\r\n\r\n"
    );
    // No path: "/".
    let req = request("GET", "http://example.com", &[], b"");
    assert_eq!(encode(&req), "GET http://example.com/ HTTP/1.1\r\n\r\n");
    let req = request("GET", "http://example.com?q", &[], b"");
    assert_eq!(encode(&req), "GET http://example.com/?q HTTP/1.1\r\n\r\n");
    // Userinfo never reaches the request target.
    let req = request("GET", "http://user:secret@example.com:8080/a?b", &[], b"");
    assert_eq!(
        encode(&req),
        "GET http://example.com:8080/a?b HTTP/1.1\r\n\r\n"
    );
    let req = request("GET", "http://user@[::1]/", &[], b"");
    assert_eq!(encode(&req), "GET http://[::1]/ HTTP/1.1\r\n\r\n");
}

#[test]
fn encodes_an_empty_path_as_slash() {
    // No path and no query (authority form, or the URI's parts left empty).
    let req = request("GET", "example.com:443", &[], b"");
    assert_eq!(encode(&req), "GET / HTTP/1.1\r\n\r\n");
    let req = request("GET", "/", &[], b"");
    assert_eq!(encode(&req), "GET / HTTP/1.1\r\n\r\n");
    // What `prepare_h1` leaves of `https://host?q=1`: the path is empty, the query kept.
    let pq = Uri::from_static("https://example.com?q=1")
        .into_parts()
        .path_and_query
        .unwrap();
    let mut req = request("GET", "/", &[], b"");
    *req.uri_mut() = Uri::from(pq);
    assert_eq!(encode(&req), "GET /?q=1 HTTP/1.1\r\n\r\n");
}

#[test]
fn encodes_headers_in_order_with_repeats() {
    let req = request(
        "GET",
        "/",
        &[
            ("x-goog-api-key", "secret"),
            ("accept", "text/event-stream"),
            ("x-multi", "one"),
            ("x-multi", "two"),
            ("User-Agent", "gemini-rs/0.1 (test)"),
        ],
        b"",
    );
    assert_eq!(
        encode(&req),
        "GET / HTTP/1.1\r\n\
         x-goog-api-key: secret\r\n\
         accept: text/event-stream\r\n\
         x-multi: one\r\n\
         x-multi: two\r\n\
         user-agent: gemini-rs/0.1 (test)\r\n\
         \r\n"
    );
    // A value's bytes as they are (obs-text included).
    let mut req = request("GET", "/", &[], b"");
    req.headers_mut().insert(
        "x-bytes",
        HeaderValue::from_bytes(b"caf\xc3\xa9 \x80\xff\t!").unwrap(),
    );
    let mut out = Vec::new();
    encode_head(&req, &mut out);
    assert_eq!(
        out,
        b"GET / HTTP/1.1\r\nx-bytes: caf\xc3\xa9 \x80\xff\t!\r\n\r\n"
    );
}

#[test]
fn encode_appends_to_what_is_there() {
    let mut out = b"xyz".to_vec();
    encode_head(&request("GET", "/a", &[], b""), &mut out);
    assert_eq!(out, b"xyzGET /a HTTP/1.1\r\n\r\n");
}

#[test]
fn encode_writes_its_own_framing() {
    let req = request(
        "POST",
        "/upload",
        &[
            ("content-length", "99"),
            ("x-a", "1"),
            ("transfer-encoding", "chunked"),
            ("Content-Length", "7"),
        ],
        b"hello",
    );
    assert_eq!(
        encode(&req),
        "POST /upload HTTP/1.1\r\nx-a: 1\r\ncontent-length: 5\r\n\r\n"
    );
    let req = request("GET", "/", &[("content-length", "3")], b"");
    assert_eq!(encode(&req), "GET / HTTP/1.1\r\n\r\n");
}

#[test]
fn encode_content_length_by_method_and_body() {
    let cases: [(&str, &[u8], &str); 13] = [
        ("POST", b"", "POST / HTTP/1.1\r\ncontent-length: 0\r\n\r\n"),
        ("PUT", b"", "PUT / HTTP/1.1\r\ncontent-length: 0\r\n\r\n"),
        (
            "PATCH",
            b"",
            "PATCH / HTTP/1.1\r\ncontent-length: 0\r\n\r\n",
        ),
        (
            "PURGE",
            b"",
            "PURGE / HTTP/1.1\r\ncontent-length: 0\r\n\r\n",
        ),
        ("GET", b"", "GET / HTTP/1.1\r\n\r\n"),
        ("HEAD", b"", "HEAD / HTTP/1.1\r\n\r\n"),
        ("DELETE", b"", "DELETE / HTTP/1.1\r\n\r\n"),
        ("OPTIONS", b"", "OPTIONS / HTTP/1.1\r\n\r\n"),
        ("TRACE", b"", "TRACE / HTTP/1.1\r\n\r\n"),
        ("GET", b"abc", "GET / HTTP/1.1\r\ncontent-length: 3\r\n\r\n"),
        (
            "DELETE",
            b"x",
            "DELETE / HTTP/1.1\r\ncontent-length: 1\r\n\r\n",
        ),
        (
            "POST",
            b"0123456789",
            "POST / HTTP/1.1\r\ncontent-length: 10\r\n\r\n",
        ),
        (
            "POST",
            b"{}",
            "POST / HTTP/1.1\r\ncontent-length: 2\r\n\r\n",
        ),
    ];
    for (method, body, expected) in cases {
        assert_eq!(
            encode(&request(method, "/", &[], body)),
            expected,
            "{method}"
        );
    }
    let big = vec![b'a'; 1_234_567];
    assert_eq!(
        encode(&request("POST", "/", &[], &big)),
        "POST / HTTP/1.1\r\ncontent-length: 1234567\r\n\r\n"
    );
    assert_eq!(
        encode(&request("POST", "/", &[], &big[..100])),
        "POST / HTTP/1.1\r\ncontent-length: 100\r\n\r\n"
    );
}

// ----- parse_head -----

#[test]
fn parses_a_complete_head() {
    let input = b"HTTP/1.1 200 OK\r\n\
                  Content-Type: text/event-stream\r\n\
                  Content-Length: 5\r\n\
                  X-Multi: a\r\n\
                  x-multi: b\r\n\
                  \r\n\
                  helloHTTP/1.1 200";
    let (h, rest) = parse(input);
    assert_eq!(rest, b"helloHTTP/1.1 200");
    assert_eq!(h.response.status(), StatusCode::OK);
    assert_eq!(h.response.version(), Version::HTTP_11);
    let headers = fields(&h);
    assert_eq!(
        headers,
        [
            ("content-type", &b"text/event-stream"[..]),
            ("content-length", b"5"),
            ("x-multi", b"a"),
            ("x-multi", b"b"),
        ]
    );
    assert_eq!(h.body, BodyDecoder::Length(5));
    assert!(h.keep_alive);

    let (h, rest) = parse(b"HTTP/1.0 404 Not Found\r\n\r\n");
    assert_eq!(h.response.status(), StatusCode::NOT_FOUND);
    assert_eq!(h.response.version(), Version::HTTP_10);
    assert!(h.response.headers().is_empty());
    assert_eq!(h.body, BodyDecoder::UntilClose);
    assert!(!h.keep_alive);
    assert!(rest.is_empty());

    // No reason phrase.
    let (h, _) = parse(b"HTTP/1.1 503 \r\ncontent-length: 0\r\n\r\n");
    assert_eq!(h.response.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[test]
fn an_incomplete_head_is_left_in_the_buffer() {
    for input in [
        &b""[..],
        b"H",
        b"HTTP/1.1",
        b"HTTP/1.1 200 OK\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r",
    ] {
        let mut buf = BytesMut::from(input);
        assert!(parse_head(&mut buf, &Method::GET).unwrap().is_none());
        assert_eq!(buf, input);
    }
}

/// The head's fields, in order, as (name, value bytes).
fn fields(h: &Head) -> Vec<(&str, &[u8])> {
    h.response
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_bytes()))
        .collect()
}

fn summary(h: &Head) -> HeadSummary {
    HeadSummary::of(h)
}

#[test]
fn a_head_split_at_every_offset() {
    let interim = b"HTTP/1.1 100 Continue\r\n\r\n";
    let final_head = b"HTTP/1.1 200 OK\r\n\
                       Transfer-Encoding: chunked\r\n\
                       Connection: keep-alive\r\n\
                       X-Value: a b  c\r\n\
                       \r\n";
    let body = b"5\r\nhello\r\n";
    for with_interim in [false, true] {
        let mut input = Vec::new();
        if with_interim {
            input.extend_from_slice(interim);
        }
        input.extend_from_slice(final_head);
        let head_len = input.len();
        input.extend_from_slice(body);
        let expected = HeadSummary {
            status: 200,
            version: Version::HTTP_11,
            headers: vec![
                ("transfer-encoding".to_owned(), b"chunked".to_vec()),
                ("connection".to_owned(), b"keep-alive".to_vec()),
                ("x-value".to_owned(), b"a b  c".to_vec()),
            ],
            framing: chunked(),
            keep_alive: true,
        };
        // Fed one byte at a time: nothing until the head's last byte.
        let mut buf = BytesMut::new();
        for (i, &b) in input[..head_len].iter().enumerate() {
            buf.extend_from_slice(&[b]);
            let parsed = parse_head(&mut buf, &Method::GET).unwrap();
            if i + 1 < head_len {
                assert!(parsed.is_none(), "complete after {} bytes", i + 1);
                // Only a complete interim response is taken out.
                let taken = if with_interim && i + 1 >= interim.len() {
                    interim.len()
                } else {
                    0
                };
                assert_eq!(buf, input[taken..=i]);
            } else {
                assert_eq!(summary(&parsed.unwrap()), expected);
                assert!(buf.is_empty());
            }
        }
        // Cut in two anywhere: the first piece parses only if it holds the whole head.
        for i in 0..=input.len() {
            let mut buf = BytesMut::from(&input[..i]);
            let first = parse_head(&mut buf, &Method::GET).unwrap();
            let head = match first {
                Some(h) => {
                    assert!(i >= head_len);
                    buf.extend_from_slice(&input[i..]);
                    h
                }
                None => {
                    assert!(i < head_len, "nothing at {i}");
                    buf.extend_from_slice(&input[i..]);
                    parse_head(&mut buf, &Method::GET).unwrap().unwrap()
                }
            };
            assert_eq!(summary(&head), expected, "cut at {i}");
            assert_eq!(buf, &body[..], "cut at {i}");
        }
    }
}

#[test]
fn interim_responses_are_skipped() {
    let input = b"HTTP/1.1 100 Continue\r\n\r\n\
                  HTTP/1.1 103 Early Hints\r\n\
                  Link: </style.css>; rel=preload\r\n\
                  \r\n\
                  HTTP/1.1 100 Continue\r\n\r\n\
                  HTTP/1.1 201 Created\r\n\
                  Content-Length: 2\r\n\
                  \r\n\
                  ok";
    let (h, rest) = parse(input);
    assert_eq!(h.response.status(), StatusCode::CREATED);
    assert_eq!(h.response.headers().len(), 1);
    assert!(h.response.headers().get("link").is_none());
    assert_eq!(h.body, BodyDecoder::Length(2));
    assert_eq!(rest, b"ok");

    // Interim responses are taken out even when the final head is not complete yet.
    let mut buf = BytesMut::from(&b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 2"[..]);
    assert!(parse_head(&mut buf, &Method::GET).unwrap().is_none());
    assert_eq!(buf, &b"HTTP/1.1 2"[..]);
    let mut buf = BytesMut::from(&b"HTTP/1.1 100 Continue\r\n\r\n"[..]);
    assert!(parse_head(&mut buf, &Method::GET).unwrap().is_none());
    assert!(buf.is_empty());
}

#[test]
fn switching_protocols_is_refused() {
    let text = head_error(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
    assert_eq!(
        text,
        "HTTP protocol error: unexpected 101 Switching Protocols"
    );
    // Also after an interim response.
    let text = head_error(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching\r\n\r\n");
    assert_eq!(
        text,
        "HTTP protocol error: unexpected 101 Switching Protocols"
    );
}

#[test]
fn keep_alive_by_version_and_connection() {
    let cases: [(&str, &[&str], bool); 19] = [
        ("HTTP/1.1", &[], true),
        ("HTTP/1.1", &["Connection: close"], false),
        ("HTTP/1.1", &["Connection: Close"], false),
        ("HTTP/1.1", &["connection: CLOSE"], false),
        ("HTTP/1.1", &["Connection: keep-alive"], true),
        ("HTTP/1.1", &["Connection: upgrade, close"], false),
        ("HTTP/1.1", &["Connection: Upgrade,CLOSE ,te"], false),
        (
            "HTTP/1.1",
            &["Connection: keep-alive", "Connection: close"],
            false,
        ),
        ("HTTP/1.1", &["Connection: closed"], true),
        ("HTTP/1.1", &["Connection: x-close, close-x"], true),
        ("HTTP/1.1", &["Connection:"], true),
        ("HTTP/1.0", &[], false),
        ("HTTP/1.0", &["Connection: keep-alive"], true),
        ("HTTP/1.0", &["Connection: Keep-Alive"], true),
        ("HTTP/1.0", &["Connection: foo,  KEEP-ALIVE"], true),
        ("HTTP/1.0", &["Connection: keep-alive, close"], false),
        (
            "HTTP/1.0",
            &["Connection: close", "Connection: keep-alive"],
            false,
        ),
        ("HTTP/1.0", &["Connection: keep-alives"], false),
        ("HTTP/1.0", &["Keep-Alive: timeout=5"], false),
    ];
    for (version, connection, keep) in cases {
        let mut fields = vec!["Content-Length: 0"];
        fields.extend_from_slice(connection);
        let (h, _) = parse(&head(&format!("{version} 200 OK"), &fields));
        assert_eq!(h.keep_alive, keep, "{version} {connection:?}");
        assert_eq!(h.body, BodyDecoder::Length(0));
        let expected = if version == "HTTP/1.0" {
            Version::HTTP_10
        } else {
            Version::HTTP_11
        };
        assert_eq!(h.response.version(), expected);
    }
}

#[test]
fn responses_without_a_body() {
    let cases: [(&str, &str, &[&str], bool); 8] = [
        ("HEAD", "HTTP/1.1 200 OK", &["Content-Length: 100"], true),
        (
            "HEAD",
            "HTTP/1.1 200 OK",
            &["Transfer-Encoding: chunked"],
            true,
        ),
        ("HEAD", "HTTP/1.1 200 OK", &[], true),
        (
            "GET",
            "HTTP/1.1 204 No Content",
            &["Content-Length: 5"],
            true,
        ),
        ("GET", "HTTP/1.1 204 No Content", &[], true),
        (
            "GET",
            "HTTP/1.1 304 Not Modified",
            &["Transfer-Encoding: chunked"],
            true,
        ),
        (
            "POST",
            "HTTP/1.1 204 No Content",
            &["Connection: close"],
            false,
        ),
        ("GET", "HTTP/1.1 200 OK", &["Content-Length: 0"], true),
    ];
    for (method, status_line, fields, keep) in cases {
        let mut input = head(status_line, fields);
        input.extend_from_slice(b"next");
        let (h, rest) = parse_as(&input, &method.parse().unwrap());
        assert_eq!(
            h.body,
            BodyDecoder::Length(0),
            "{method} {status_line} {fields:?}"
        );
        assert_eq!(h.keep_alive, keep, "{method} {status_line} {fields:?}");
        assert_eq!(rest, b"next");
    }
}

#[test]
fn transfer_encoding_framing() {
    let cases: [(&[&str], BodyDecoder, bool); 14] = [
        (&["Transfer-Encoding: chunked"], chunked(), true),
        (&["Transfer-Encoding: Chunked"], chunked(), true),
        (&["transfer-encoding: CHUNKED"], chunked(), true),
        (&["Transfer-Encoding: gzip, chunked"], chunked(), true),
        (&["Transfer-Encoding: gzip,chunked"], chunked(), true),
        (&["Transfer-Encoding:   chunked  "], chunked(), true),
        (
            &["Transfer-Encoding: gzip", "Transfer-Encoding: chunked"],
            chunked(),
            true,
        ),
        (
            &["Transfer-Encoding: chunked, gzip"],
            BodyDecoder::UntilClose,
            false,
        ),
        (
            &["Transfer-Encoding: chunked", "Transfer-Encoding: gzip"],
            BodyDecoder::UntilClose,
            false,
        ),
        (&["Transfer-Encoding: gzip"], BodyDecoder::UntilClose, false),
        (
            &["Transfer-Encoding: chunkedx"],
            BodyDecoder::UntilClose,
            false,
        ),
        (
            &["Transfer-Encoding: chunked,"],
            BodyDecoder::UntilClose,
            false,
        ),
        // With a Content-Length as well: chunked, and the connection closed after.
        (
            &["Transfer-Encoding: chunked", "Content-Length: 5"],
            chunked(),
            false,
        ),
        (
            &["Content-Length: 5", "Transfer-Encoding: gzip"],
            BodyDecoder::UntilClose,
            false,
        ),
    ];
    for (fields, body, keep) in cases {
        assert_eq!(framing_of(fields), (body, keep), "{fields:?}");
    }
    // The Content-Length beside a chunked coding is not read at all.
    assert_eq!(
        framing_of(&["Transfer-Encoding: chunked", "Content-Length: nonsense"]),
        (chunked(), false)
    );
    // With a Connection: close too.
    assert_eq!(
        framing_of(&["Transfer-Encoding: chunked", "Connection: close"]),
        (chunked(), false)
    );
    // An HTTP/1.0 response with a Transfer-Encoding: read as chunked, then closed (RFC 9112
    // section 6.1), whatever its Connection field says.
    let (h, _) = parse(&head(
        "HTTP/1.0 200 OK",
        &["Transfer-Encoding: chunked", "Connection: keep-alive"],
    ));
    assert_eq!((h.body, h.keep_alive), (chunked(), false));
    let (h, _) = parse(&head(
        "HTTP/1.0 200 OK",
        &["Connection: keep-alive", "Content-Length: 1"],
    ));
    assert_eq!((h.body, h.keep_alive), (BodyDecoder::Length(1), true));
}

#[test]
fn content_length_framing() {
    let cases: [(&[&str], u64); 8] = [
        (&["Content-Length: 5"], 5),
        (&["Content-Length: 5, 5"], 5),
        (&["Content-Length: 5,5 , 5"], 5),
        (&["Content-Length: 5", "Content-Length: 5"], 5),
        (&["Content-Length: 005"], 5),
        (&["Content-Length: 0"], 0),
        (&["content-length:  42  "], 42),
        (
            &["Content-Length: 9999999999999999999"],
            9_999_999_999_999_999_999,
        ),
    ];
    for (fields, n) in cases {
        assert_eq!(
            framing_of(fields),
            (BodyDecoder::Length(n), true),
            "{fields:?}"
        );
    }
    let invalid = "HTTP protocol error: invalid Content-Length in the response";
    let conflicting = "HTTP protocol error: conflicting Content-Length values in the response";
    let cases: [(&[&str], &str); 14] = [
        (&["Content-Length: 5, 6"], conflicting),
        (&["Content-Length: 5", "Content-Length: 6"], conflicting),
        (
            &[
                "Content-Length: 0",
                "Content-Length: 00",
                "Content-Length: 1",
            ],
            conflicting,
        ),
        (&["Content-Length: +5"], invalid),
        (&["Content-Length: -5"], invalid),
        (&["Content-Length: 5a"], invalid),
        (&["Content-Length: 0x5"], invalid),
        (&["Content-Length: 5 5"], invalid),
        (&["Content-Length: 5;"], invalid),
        (&["Content-Length:"], invalid),
        (&["Content-Length: 5,"], invalid),
        (&["Content-Length: 5", "Content-Length: "], invalid),
        // 20 digits: refused even where they would fit a u64.
        (&["Content-Length: 18446744073709551615"], invalid),
        (&["Content-Length: 99999999999999999999"], invalid),
    ];
    for (fields, expected) in cases {
        assert_eq!(
            head_error(&head("HTTP/1.1 200 OK", fields)),
            expected,
            "{fields:?}"
        );
    }
}

#[test]
fn no_framing_reads_until_close() {
    let (h, rest) = parse(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nabc");
    assert_eq!(h.body, BodyDecoder::UntilClose);
    assert!(!h.keep_alive);
    assert_eq!(rest, b"abc");
    assert_eq!(
        framing_of(&["Connection: keep-alive"]),
        (BodyDecoder::UntilClose, false)
    );
    let (h, _) = parse(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!((h.body, h.keep_alive), (BodyDecoder::UntilClose, false));
}

/// A head of exactly `len` bytes: a 200 with one long `x-big` field.
fn long_head(len: usize) -> Vec<u8> {
    let start = b"HTTP/1.1 200 OK\r\nx-big: ";
    assert_eq!(start.len(), 24);
    let mut head = start.to_vec();
    head.resize(len - 4, b'a');
    head.extend_from_slice(b"\r\n\r\n");
    assert_eq!(head.len(), len);
    head
}

#[test]
fn a_head_over_64_kib_is_refused() {
    assert_eq!(MAX_HEAD, 65_536);
    let too_long = "HTTP protocol error: the response head is longer than 64 KiB";
    // Complete: 64 KiB is accepted, one byte more is not.
    let (h, rest) = parse(&long_head(65_536));
    assert_eq!(h.response.headers()["x-big"].len(), 65_508);
    assert!(rest.is_empty());
    assert_eq!(head_error(&long_head(65_537)), too_long);
    assert_eq!(head_error(&long_head(200_000)), too_long);
    // Incomplete: 64 KiB of a head may still be completed, one byte more may not.
    let partial = long_head(70_000);
    let mut buf = BytesMut::from(&partial[..65_536]);
    assert!(parse_head(&mut buf, &Method::GET).unwrap().is_none());
    assert_eq!(buf.len(), 65_536);
    assert_eq!(head_error(&partial[..65_537]), too_long);
    assert_eq!(head_error(&partial[..69_000]), too_long);
    // The limit is the head's: the body after a head of 64 KiB does not count.
    let mut input = long_head(65_536);
    input.extend_from_slice(&[b'b'; 10_000]);
    let (_, rest) = parse(&input);
    assert_eq!(rest, [b'b'; 10_000]);
}

fn many_headers(n: usize, complete: bool) -> Vec<u8> {
    let mut s = String::from("HTTP/1.1 200 OK\r\n");
    for i in 0..n {
        s.push_str(&format!("x-h{i}: {i}\r\n"));
    }
    if complete {
        s.push_str("\r\n");
    }
    s.into_bytes()
}

#[test]
fn more_than_128_headers_are_refused() {
    assert_eq!(MAX_HEADERS, 128);
    let (h, _) = parse(&many_headers(128, true));
    assert_eq!(h.response.headers().len(), 128);
    assert_eq!(h.response.headers()["x-h127"], "127");
    let too_many = "HTTP protocol error: the response head has more than 128 header fields";
    assert_eq!(head_error(&many_headers(129, true)), too_many);
    assert_eq!(head_error(&many_headers(1000, true)), too_many);
    // Already while the head is incomplete.
    assert_eq!(head_error(&many_headers(130, false)), too_many);
}

#[test]
fn garbage_is_refused() {
    let cases: [&[u8]; 16] = [
        b"HELLO\r\n\r\n",
        b"XYZ",
        b"\0\0\0\0",
        b"HTTP/2 200 OK\r\n\r\n",
        b"HTTP/1.2 200 OK\r\n\r\n",
        b"http/1.1 200 OK\r\n\r\n",
        b"HTTP/1.1 20 OK\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"HTTP/1.1 abc OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-A : x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-A: a\r\n folded\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-A: a\0b\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-A: a\x7fb\r\n\r\n",
        b"HTTP/1.1 200 OK\rX-A: b\r\n\r\n",
    ];
    for input in cases {
        let text = head_error(input);
        assert!(
            text.starts_with("HTTP protocol error: invalid response head: "),
            "{text}"
        );
    }
    // A three-digit code below 100 passes httparse, not the status check.
    assert_eq!(
        head_error(b"HTTP/1.1 099 Odd\r\n\r\n"),
        "HTTP protocol error: invalid response status 99"
    );
}

#[test]
fn header_values_are_kept_byte_for_byte() {
    let input = b"HTTP/1.1 200 OK\r\n\
                  X-Obs: caf\xc3\xa9 \x80\xff\r\n\
                  X-Inner: a  b\tc\r\n\
                  X-Trim: \t v w \t\r\n\
                  X-Empty:\r\n\
                  X-Quote: \"q\" ; p=1\r\n\
                  Content-Length: 0\r\n\
                  \r\n";
    let (h, _) = parse(input);
    let headers = fields(&h);
    assert_eq!(
        headers,
        [
            ("x-obs", &b"caf\xc3\xa9 \x80\xff"[..]),
            ("x-inner", b"a  b\tc"),
            ("x-trim", b"v w"),
            ("x-empty", b""),
            ("x-quote", b"\"q\" ; p=1"),
            ("content-length", b"0"),
        ]
    );
}

#[test]
fn a_status_line_with_a_bare_lf_and_leading_empty_lines() {
    // httparse takes LF line ends and skips empty lines before the status line.
    let (h, rest) = parse(b"\r\n\nHTTP/1.1 200 OK\nContent-Length: 1\n\nxy");
    assert_eq!(h.response.status(), StatusCode::OK);
    assert_eq!(h.body, BodyDecoder::Length(1));
    assert_eq!(rest, b"xy");
}

// ----- chunked bodies -----

const CHUNKED: &[u8] = b"5\r\nhello\r\n\
    1A;name=value;x=\"q\"\r\nabcdefghijklmnopqrstuvwxyz\r\n\
    00a  \r\n0123456789\r\n\
    B\n world!!!!!\n\
    1 ; ext \r\n.\r\n\
    0;last\r\n\
    Trailer-A: 1\r\n\
    Trailer-B: two\r\n\
    \r\n";
const CHUNKED_BODY: &[u8] = b"helloabcdefghijklmnopqrstuvwxyz0123456789 world!!!!!.";

#[test]
fn decodes_a_chunked_body_however_it_is_cut() {
    let mut input = CHUNKED.to_vec();
    input.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    decode_every_way(
        &chunked(),
        &input,
        &Ok((CHUNKED_BODY.to_vec(), Some(b"HTTP/1.1 200 OK\r\n".to_vec()))),
    );
    decode_every_way(
        &chunked(),
        CHUNKED,
        &Ok((CHUNKED_BODY.to_vec(), Some(Vec::new()))),
    );
}

#[test]
fn decodes_chunked_edge_cases() {
    let cases: [(&[u8], &[u8]); 12] = [
        // The last chunk alone, with and without trailers, CRLF or bare LF.
        (b"0\r\n\r\n", b""),
        (b"0\n\n", b""),
        (b"0\r\nX-T: 1\r\n\r\n", b""),
        (b"0\nX-T: 1\nX-U: 2\n\n", b""),
        (b"000\r\n\r\n", b""),
        // Uppercase, lowercase and mixed hex; leading zeros.
        (b"A\r\n0123456789\r\n0\r\n\r\n", b"0123456789"),
        (b"a\r\n0123456789\r\n0\r\n\r\n", b"0123456789"),
        (b"0001\r\nz\r\n0\r\n\r\n", b"z"),
        // Spaces and tabs after the size; extensions with and without them.
        (b"3 \t \r\nabc\r\n0 \r\n\r\n", b"abc"),
        (b"3;a=b\r\nabc\r\n0;c\r\n\r\n", b"abc"),
        (b"3\t;a\r\nabc\r\n0\r\n\r\n", b"abc"),
        // Data holding CR and LF.
        (b"4\r\n\r\n\r\n\r\n0\r\n\r\n", b"\r\n\r\n"),
    ];
    for (input, body) in cases {
        decode_every_way(&chunked(), input, &Ok((body.to_vec(), Some(Vec::new()))));
    }
    let mut long = b"1f".to_vec();
    long.extend_from_slice(b"\r\n");
    long.extend_from_slice(&[b'x'; 31]);
    long.extend_from_slice(b"\r\nFF\r\n");
    long.extend_from_slice(&[b'y'; 255]);
    long.extend_from_slice(b"\r\n0\r\n\r\n");
    let mut body = vec![b'x'; 31];
    body.extend_from_slice(&[b'y'; 255]);
    decode_every_way(&chunked(), &long, &Ok((body, Some(Vec::new()))));
}

#[test]
fn chunk_size_digits() {
    // 32 digits, leading zeros included, are accepted; 33 are not.
    let mut ok = vec![b'0'; 31];
    ok.extend_from_slice(b"3\r\nabc\r\n0\r\n\r\n");
    assert_eq!(
        decode_all(chunked(), &ok).unwrap(),
        (b"abc".to_vec(), Some(Vec::new()))
    );
    let mut too_many = vec![b'0'; 32];
    too_many.extend_from_slice(b"3\r\nabc\r\n0\r\n\r\n");
    assert_eq!(
        chunk_error(&too_many),
        "HTTP protocol error: invalid chunked body: chunk size too large"
    );
    let mut zeros = vec![b'0'; 33];
    zeros.extend_from_slice(b"\r\n\r\n");
    assert_eq!(
        chunk_error(&zeros),
        "HTTP protocol error: invalid chunked body: chunk size too large"
    );
    // 16 significant digits fit; a 17th does not.
    let mut d = chunked();
    let mut buf = BytesMut::from(&b"FFFFFFFFFFFFFFFF\r\nabc"[..]);
    assert_eq!(
        d.decode(&mut buf).unwrap(),
        Decoded::Data(Bytes::from_static(b"abc"))
    );
    assert_eq!(d.decode(&mut buf).unwrap(), Decoded::More);
    let mut d = chunked();
    let mut buf = BytesMut::from(&b"0000ffffffffffffffff\r\nabc"[..]);
    assert_eq!(
        d.decode(&mut buf).unwrap(),
        Decoded::Data(Bytes::from_static(b"abc"))
    );
    for input in [
        &b"10000000000000000\r\n"[..],
        b"FFFFFFFFFFFFFFFF0\r\n",
        b"00123456789abcdef01\r\n",
    ] {
        assert_eq!(
            chunk_error(input),
            "HTTP protocol error: invalid chunked body: chunk size too large",
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
    let mut d = chunked();
    let mut buf = BytesMut::from(&b"1000000000000000\r\n"[..]);
    assert_eq!(d.decode(&mut buf).unwrap(), Decoded::More);
    assert!(buf.is_empty());
}

#[test]
fn invalid_chunked_bodies() {
    let no_size = "HTTP protocol error: invalid chunked body: a chunk size line without a size";
    let bad_byte =
        "HTTP protocol error: invalid chunked body: unexpected byte in a chunk size line";
    let no_crlf =
        "HTTP protocol error: invalid chunked body: a chunk's data is not followed by CRLF";
    let cases: [(&[u8], &str); 16] = [
        (b"x\r\n", no_size),
        (b"\r\n", no_size),
        (b"\n", no_size),
        (b";ext\r\n", no_size),
        (b" 5\r\nhello\r\n", no_size),
        (b"-1\r\n", no_size),
        (b"5\r\nhello\r\n\r\n", no_size),
        (b"5\r\nhello\r\ng\r\n", no_size),
        (b"5x\r\n", bad_byte),
        (b"5 5\r\n", bad_byte),
        (b"5\rX", bad_byte),
        (b"5\r\r\n", bad_byte),
        (b"5\r\nhelloX", no_crlf),
        (b"5\r\nhello\rX", no_crlf),
        (b"5\r\nhello\r\r\n", no_crlf),
        (b"5\r\nhello world\r\n", no_crlf),
    ];
    for (input, expected) in cases {
        assert_eq!(
            chunk_error(input),
            expected,
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn data_before_an_error_is_delivered() {
    let mut d = chunked();
    let mut buf = BytesMut::from(&b"3\r\nabcX"[..]);
    assert_eq!(
        d.decode(&mut buf).unwrap(),
        Decoded::Data(Bytes::from_static(b"abc"))
    );
    assert_eq!(
        protocol_text(&d.decode(&mut buf).unwrap_err()),
        "HTTP protocol error: invalid chunked body: a chunk's data is not followed by CRLF"
    );
}

#[test]
fn chunk_extension_limit() {
    assert_eq!(MAX_CHUNK_EXTENSION, 4096);
    let with_extension = |len: usize| {
        let mut input = b"3;".to_vec();
        input.resize(2 + len, b'e');
        input.extend_from_slice(b"\r\nabc\r\n0\r\n\r\n");
        input
    };
    assert_eq!(
        decode_all(chunked(), &with_extension(4096)).unwrap(),
        (b"abc".to_vec(), Some(Vec::new()))
    );
    let too_long = "HTTP protocol error: invalid chunked body: chunk extension too long";
    assert_eq!(chunk_error(&with_extension(4097)), too_long);
    assert_eq!(chunk_error(&with_extension(100_000)), too_long);
    // On the last chunk too.
    let mut last = b"0;".to_vec();
    last.resize(2 + 5000, b'e');
    assert_eq!(chunk_error(&last), too_long);
    // Spaces after the size are bounded as well (they would otherwise never end).
    let mut spaces = b"3".to_vec();
    spaces.resize(1 + 5000, b' ');
    assert_eq!(chunk_error(&spaces), too_long);
    let mut spaces = b"3".to_vec();
    spaces.resize(1 + 4096, b'\t');
    spaces.extend_from_slice(b"\r\nabc\r\n0\r\n\r\n");
    assert_eq!(
        decode_all(chunked(), &spaces).unwrap(),
        (b"abc".to_vec(), Some(Vec::new()))
    );
}

#[test]
fn trailer_limit() {
    assert_eq!(MAX_TRAILERS, 65_536);
    let too_long = "HTTP protocol error: invalid chunked body: trailer fields longer than 64 KiB";
    // After the last chunk's line: the trailer section, counted up to the final LF.
    let with_trailers = |len: usize| {
        let mut input = b"1\r\nz\r\n0\r\nx-pad: ".to_vec();
        // 9 bytes of chunks, then a field line, its CRLF and the final line's CR: `len`.
        input.resize(9 + len - 3, b'p');
        input.extend_from_slice(b"\r\n\r\n");
        input
    };
    assert_eq!(
        decode_all(chunked(), &with_trailers(65_536)).unwrap(),
        (b"z".to_vec(), Some(Vec::new()))
    );
    assert_eq!(chunk_error(&with_trailers(65_537)), too_long);
    // Many short lines.
    let mut lines = b"0\r\n".to_vec();
    for i in 0..10_000 {
        lines.extend_from_slice(format!("t{i}: v\r\n").as_bytes());
    }
    lines.extend_from_slice(b"\r\n");
    assert_eq!(chunk_error(&lines), too_long);
    // Line ends count too: a stream of CRs never ends otherwise.
    let mut crs = b"0\r\n".to_vec();
    crs.resize(3 + 70_000, b'\r');
    assert_eq!(chunk_error(&crs), too_long);
    let mut lfs = b"0\r\nx: 1".to_vec();
    for _ in 0..40_000 {
        lfs.extend_from_slice(b"\na");
    }
    assert_eq!(chunk_error(&lfs), too_long);
}

#[test]
fn chunked_close_before_the_end() {
    let before =
        "connection closed mid-body: the server closed the connection before the body's last chunk";
    let trailers = "connection closed mid-body: the server closed the connection in the trailer \
                    section, after the body's last chunk";
    for (input, closed) in [
        (&b""[..], before),
        (b"5", before),
        (b"5\r\n", before),
        (b"5\r\nhel", before),
        (b"5\r\nhello", before),
        (b"5\r\nhello\r\n", before),
        (b"0", before),
        (b"0\r\n", trailers),
        (b"0\r\nX-T: 1\r\n", trailers),
        (b"0\r\n\r", trailers),
    ] {
        let mut d = chunked();
        let mut buf = BytesMut::from(input);
        loop {
            match d.decode(&mut buf).unwrap() {
                Decoded::Data(_) => {}
                Decoded::More => break,
                Decoded::End => panic!("ended: {input:?}"),
            }
        }
        let e = d.at_close().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ClosedMidBody);
        assert_eq!(
            e.to_string(),
            closed,
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
    let mut d = chunked();
    let mut buf = BytesMut::from(&b"0\r\n\r\n"[..]);
    assert_eq!(d.decode(&mut buf).unwrap(), Decoded::End);
    assert!(d.at_close().is_ok());
}

// ----- fixed length and until close -----

#[test]
fn fixed_length() {
    decode_every_way(
        &BodyDecoder::Length(5),
        b"helloXYZ",
        &Ok((b"hello".to_vec(), Some(b"XYZ".to_vec()))),
    );
    decode_every_way(
        &BodyDecoder::Length(5),
        b"hello",
        &Ok((b"hello".to_vec(), Some(Vec::new()))),
    );
    let mut d = BodyDecoder::Length(5);
    let mut buf = BytesMut::new();
    assert_eq!(d.decode(&mut buf).unwrap(), Decoded::More);
    buf.extend_from_slice(b"he");
    assert_eq!(
        d.decode(&mut buf).unwrap(),
        Decoded::Data(Bytes::from_static(b"he"))
    );
    assert_eq!(d, BodyDecoder::Length(3));
    assert_eq!(d.decode(&mut buf).unwrap(), Decoded::More);
    buf.extend_from_slice(b"lloHTTP");
    assert_eq!(
        d.decode(&mut buf).unwrap(),
        Decoded::Data(Bytes::from_static(b"llo"))
    );
    assert_eq!(buf, &b"HTTP"[..]);
    assert_eq!(d.decode(&mut buf).unwrap(), Decoded::End);
    assert_eq!(buf, &b"HTTP"[..]);
}

#[test]
fn zero_length_ends_at_once() {
    let mut d = BodyDecoder::Length(0);
    let mut buf = BytesMut::from(&b"abc"[..]);
    assert_eq!(d.decode(&mut buf).unwrap(), Decoded::End);
    assert_eq!(buf, &b"abc"[..]);
    let mut buf = BytesMut::new();
    assert_eq!(d.decode(&mut buf).unwrap(), Decoded::End);
    assert!(d.at_close().is_ok());
}

#[test]
fn fixed_length_close_before_the_end() {
    let mut d = BodyDecoder::Length(10);
    let mut buf = BytesMut::from(&b"abc"[..]);
    assert_eq!(
        d.decode(&mut buf).unwrap(),
        Decoded::Data(Bytes::from_static(b"abc"))
    );
    let e = d.at_close().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ClosedMidBody);
    assert_eq!(
        e.to_string(),
        "connection closed mid-body: the server closed the connection 7 bytes before the end of the body"
    );
    let mut d = BodyDecoder::Length(u64::MAX);
    let mut buf = BytesMut::from(&b"abc"[..]);
    assert_eq!(
        d.decode(&mut buf).unwrap(),
        Decoded::Data(Bytes::from_static(b"abc"))
    );
    assert_eq!(
        d.at_close().unwrap_err().to_string(),
        "connection closed mid-body: the server closed the connection 18446744073709551612 bytes before the end of the body"
    );
}

#[test]
fn until_close() {
    let mut d = BodyDecoder::UntilClose;
    let mut buf = BytesMut::new();
    assert_eq!(d.decode(&mut buf).unwrap(), Decoded::More);
    buf.extend_from_slice(b"abc\r\n0\r\n\r\n");
    assert_eq!(
        d.decode(&mut buf).unwrap(),
        Decoded::Data(Bytes::from_static(b"abc\r\n0\r\n\r\n"))
    );
    assert!(buf.is_empty());
    assert_eq!(d.decode(&mut buf).unwrap(), Decoded::More);
    assert!(d.at_close().is_ok());
    assert_eq!(
        decode_pieces(BodyDecoder::UntilClose, &[b"a", b"", b"bc"]).unwrap(),
        (b"abc".to_vec(), None)
    );
}

// ----- whole responses -----

#[test]
fn reads_whole_responses() {
    let input = b"HTTP/1.1 100 Continue\r\n\r\n\
                  HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                  3\r\nabc\r\n0\r\n\r\nrest";
    let expected = Outcome {
        head: Some(HeadSummary {
            status: 200,
            version: Version::HTTP_11,
            headers: vec![("transfer-encoding".to_owned(), b"chunked".to_vec())],
            framing: chunked(),
            keep_alive: true,
        }),
        body: b"abc".to_vec(),
        end: End::Ended(b"rest".to_vec()),
    };
    for i in 0..=input.len() {
        fuzz_h1::read_response(input, i);
        assert_eq!(fuzz_h1::run(&cut(input, &[i])), expected, "cut at {i}");
    }
    let cases: [(&[u8], Outcome); 4] = [
        (
            b"HTTP/1.0 200 OK\r\n\r\nall of it",
            Outcome {
                head: Some(HeadSummary {
                    status: 200,
                    version: Version::HTTP_10,
                    headers: vec![],
                    framing: BodyDecoder::UntilClose,
                    keep_alive: false,
                }),
                body: b"all of it".to_vec(),
                end: End::Closed,
            },
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab",
            Outcome {
                head: Some(HeadSummary {
                    status: 200,
                    version: Version::HTTP_11,
                    headers: vec![("content-length".to_owned(), b"4".to_vec())],
                    framing: BodyDecoder::Length(4),
                    keep_alive: true,
                }),
                body: b"ab".to_vec(),
                end: End::Error(
                    fuzz_h1::Phase::Body,
                    "ClosedMidBody".to_owned(),
                    "connection closed mid-body: the server closed the connection 2 bytes before the end of the body".to_owned(),
                ),
            },
        ),
        (
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 20",
            Outcome {
                head: None,
                body: vec![],
                end: End::NoHead(b"HTTP/1.1 20".to_vec()),
            },
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
            Outcome {
                head: None,
                body: vec![],
                end: End::Error(
                    fuzz_h1::Phase::Head,
                    "Protocol".to_owned(),
                    "HTTP protocol error: invalid Content-Length in the response".to_owned(),
                ),
            },
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(fuzz_h1::run(&[input]), expected);
        for i in 0..=input.len() {
            fuzz_h1::read_response(input, i);
        }
    }
}

// ----- pseudo-random responses -----

/// xorshift64: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn percent(&mut self, p: usize) -> bool {
        self.below(100) < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }

    /// 0 to `max` ascending cut points within `0..=len`.
    fn cuts(&mut self, len: usize, max: usize) -> Vec<usize> {
        let mut cuts: Vec<usize> = (0..self.below(max + 1))
            .map(|_| self.below(len + 1))
            .collect();
        cuts.sort_unstable();
        cuts
    }
}

/// A valid response made up from `rng`, and what reading it must give.
fn random_response(rng: &mut Rng) -> (Vec<u8>, Outcome) {
    let mut out = Vec::new();
    if rng.percent(15) {
        out.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
    }
    if rng.percent(10) {
        out.extend_from_slice(b"HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n");
    }
    let http10 = rng.percent(20);
    let (status, line) = *rng.pick(&[
        (200, "200 OK"),
        (206, "206 Partial Content"),
        (400, "400 Bad Request"),
        (429, "429 Too Many Requests"),
        (503, "503 "),
    ]);
    out.extend_from_slice(if http10 { b"HTTP/1.0 " } else { b"HTTP/1.1 " });
    out.extend_from_slice(line.as_bytes());
    out.extend_from_slice(b"\r\n");
    let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
    let mut field = |out: &mut Vec<u8>, name: &str, value: &[u8]| {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
        headers.push((name.to_ascii_lowercase(), value.to_vec()));
    };
    for i in 0..rng.below(4) {
        let value: Vec<u8> = (0..rng.below(12))
            .map(|_| *rng.pick(b"abcXYZ019-_.,;=/ \xc3\xa9"))
            .collect();
        let value = value.trim_ascii().to_vec();
        field(&mut out, &format!("X-Field-{i}"), &value);
    }
    let connection = *rng.pick(&[
        None,
        Some("close"),
        Some("keep-alive"),
        Some("Keep-Alive, TE"),
    ]);
    if let Some(c) = connection {
        field(&mut out, "Connection", c.as_bytes());
    }
    let body_len = rng.below(300);
    let body = rng.bytes(body_len);
    let tail_len = if rng.percent(50) { rng.below(20) } else { 0 };
    let tail = rng.bytes(tail_len);
    let framing_kind = rng.below(3);
    let mut chunks = Vec::new();
    let framing = match framing_kind {
        0 => {
            field(
                &mut out,
                "Content-Length",
                body.len().to_string().as_bytes(),
            );
            BodyDecoder::Length(body.len() as u64)
        }
        1 => {
            field(
                &mut out,
                "Transfer-Encoding",
                if rng.percent(50) {
                    b"chunked"
                } else {
                    b"gzip, Chunked"
                },
            );
            // The body in random chunks, with random size spellings, extensions and line ends.
            let mut rest = &body[..];
            let eol =
                |rng: &mut Rng| -> &'static [u8] { if rng.percent(80) { b"\r\n" } else { b"\n" } };
            loop {
                let n = if rest.is_empty() {
                    0
                } else {
                    1 + rng.below(rest.len().min(80))
                };
                let mut size = if rng.percent(50) {
                    format!("{n:x}")
                } else {
                    format!("{n:X}")
                };
                if rng.percent(10) {
                    size.insert_str(0, "00");
                }
                chunks.extend_from_slice(size.as_bytes());
                if rng.percent(10) {
                    chunks.extend_from_slice(b" \t");
                }
                if rng.percent(15) {
                    chunks.extend_from_slice(b";name=\"v a l\";flag");
                }
                chunks.extend_from_slice(eol(rng));
                if n == 0 {
                    break;
                }
                chunks.extend_from_slice(&rest[..n]);
                chunks.extend_from_slice(eol(rng));
                rest = &rest[n..];
            }
            for i in 0..rng.below(3) {
                chunks.extend_from_slice(format!("Trailer-{i}: v{i}").as_bytes());
                chunks.extend_from_slice(eol(rng));
            }
            chunks.extend_from_slice(eol(rng));
            chunked()
        }
        _ => BodyDecoder::UntilClose,
    };
    out.extend_from_slice(b"\r\n");
    let end = match framing_kind {
        0 => {
            out.extend_from_slice(&body);
            out.extend_from_slice(&tail);
            End::Ended(tail)
        }
        1 => {
            out.extend_from_slice(&chunks);
            out.extend_from_slice(&tail);
            End::Ended(tail)
        }
        _ => {
            out.extend_from_slice(&body);
            End::Closed
        }
    };
    // Not when read until the close, nor for HTTP/1.0 with a Transfer-Encoding.
    let keep_alive = framing != BodyDecoder::UntilClose
        && !(http10 && framing_kind == 1)
        && match (http10, connection) {
            (true, Some(c)) => c.eq_ignore_ascii_case("keep-alive") || c == "Keep-Alive, TE",
            (true, None) => false,
            (false, c) => c != Some("close"),
        };
    let outcome = Outcome {
        head: Some(HeadSummary {
            status,
            version: if http10 {
                Version::HTTP_10
            } else {
                Version::HTTP_11
            },
            headers,
            framing,
            keep_alive,
        }),
        body,
        end,
    };
    (out, outcome)
}

/// Changes a few bytes of `input` (replaces, inserts, deletes, truncates, repeats).
fn mutate(rng: &mut Rng, input: &mut Vec<u8>) {
    const INTERESTING: &[u8] = b"\r\n:; \t0123456789aAfFgx,\x00\x80\xff";
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(input.len() + 1);
        match rng.below(6) {
            0 if at < input.len() => input[at] = *rng.pick(INTERESTING),
            1 if at < input.len() => input[at] = rng.next() as u8,
            2 => input.insert(at, *rng.pick(INTERESTING)),
            3 if at < input.len() => {
                input.remove(at);
            }
            4 => input.truncate(at),
            _ => {
                let len = rng.below(8).min(input.len() - at);
                let copy = input[at..at + len].to_vec();
                input.splice(at..at, copy);
            }
        }
    }
}

/// Bytes put together from pieces of HTTP/1.1 responses.
fn random_bytes(rng: &mut Rng) -> Vec<u8> {
    const PIECES: &[&[u8]] = &[
        b"HTTP/1.1 ",
        b"HTTP/1.0 ",
        b"200 OK",
        b"100 Continue",
        b"101",
        b"204",
        b"\r\n",
        b"\n",
        b"Content-Length: ",
        b"Transfer-Encoding: chunked",
        b"Connection: close",
        b"5",
        b"0",
        b"ff",
        b";x",
        b" ",
        b"hello",
        b":",
    ];
    let mut out = Vec::new();
    for _ in 0..rng.below(40) {
        if rng.percent(20) {
            out.push(rng.next() as u8);
        } else {
            let piece = *rng.pick(PIECES);
            out.extend_from_slice(piece);
        }
    }
    out
}

#[test]
fn random_responses_read_the_same_however_cut() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for case in 0..3000 {
        let (input, expected) = random_response(&mut rng);
        let show = || format!("case {case}: {:?}", String::from_utf8_lossy(&input));
        assert_eq!(fuzz_h1::run(&[&input]), expected, "{}", show());
        for _ in 0..4 {
            let cuts = rng.cuts(input.len(), 6);
            assert_eq!(
                fuzz_h1::run(&cut(&input, &cuts)),
                expected,
                "{} cuts {cuts:?}",
                show()
            );
        }
        if case % 50 == 0 {
            let bytes: Vec<&[u8]> = input.chunks(1).collect();
            assert_eq!(fuzz_h1::run(&bytes), expected, "{} byte at a time", show());
        }
        // Mutated: anything but a panic, and the same whatever the cuts.
        for _ in 0..3 {
            let mut m = input.clone();
            mutate(&mut rng, &mut m);
            let whole = fuzz_h1::run(&[&m]);
            let cuts = rng.cuts(m.len(), 6);
            assert_eq!(
                fuzz_h1::run(&cut(&m, &cuts)),
                whole,
                "mutated {:?} cuts {cuts:?}",
                String::from_utf8_lossy(&m)
            );
            fuzz_h1::read_response(&m, rng.below(m.len() + 1));
        }
    }
    for _ in 0..3000 {
        let input = random_bytes(&mut rng);
        let whole = fuzz_h1::run(&[&input]);
        let cuts = rng.cuts(input.len(), 6);
        assert_eq!(
            fuzz_h1::run(&cut(&input, &cuts)),
            whole,
            "{:?} cuts {cuts:?}",
            String::from_utf8_lossy(&input)
        );
        fuzz_h1::read_response(&input, rng.below(input.len() + 1));
    }
}
