//! A minimal HTTP/1.1 client over a raw loopback TCP stream, so tests see exactly what the
//! emulator writes.
#![allow(dead_code)]

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const KEY: &str = "test-key";

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// De-chunked body.
    pub body: Vec<u8>,
    /// The chunked body ended with its terminating zero-size chunk (or content-length was met).
    pub complete: bool,
    /// The error that ended reading, if any (e.g. a reset).
    pub read_error: Option<io::ErrorKind>,
    /// Time from sending the request to the end of the response.
    pub elapsed: Duration,
    /// Number of successful reads that returned data.
    pub reads: usize,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }

    /// The `data:` payloads of a CRLF-framed SSE body.
    pub fn sse_events(&self) -> Vec<String> {
        split_sse(&self.text(), "\r\n\r\n")
    }
}

pub fn split_sse(text: &str, sep: &str) -> Vec<String> {
    assert!(
        text.is_empty() || text.ends_with(sep),
        "body does not end with the separator: {text:?}"
    );
    text.split(sep)
        .filter(|e| !e.is_empty())
        .map(|e| {
            e.strip_prefix("data: ")
                .unwrap_or_else(|| panic!("event without `data: `: {e:?}"))
                .to_owned()
        })
        .collect()
}

pub async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Resp {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut req = format!("{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n");
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    if method == "POST" {
        req.push_str(&format!(
            "content-type: application/json\r\ncontent-length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body);
    let start = Instant::now();
    stream
        .write_all(req.as_bytes())
        .await
        .expect("write request");
    read_response(&mut stream, start).await
}

/// POST with the test key, declaring `content_length` but sending only `body`, then closing the
/// writing side: a request body that is cut short (or, with a large declared length, oversized).
pub async fn post_declaring(
    addr: SocketAddr,
    path: &str,
    content_length: usize,
    body: &[u8],
) -> Resp {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\nx-goog-api-key: {KEY}\r\n\
         content-type: application/json\r\ncontent-length: {content_length}\r\n\r\n"
    );
    let start = Instant::now();
    stream.write_all(head.as_bytes()).await.expect("write head");
    stream.write_all(body).await.expect("write body");
    stream.shutdown().await.expect("close the writing side");
    read_response(&mut stream, start).await
}

/// POST with the test key.
pub async fn post(addr: SocketAddr, path: &str, body: &str) -> Resp {
    send(addr, "POST", path, &[("x-goog-api-key", KEY)], body).await
}

/// POST with the test key and a fault header.
pub async fn post_fault(addr: SocketAddr, path: &str, fault: &str, body: &str) -> Resp {
    send(
        addr,
        "POST",
        path,
        &[("x-goog-api-key", KEY), ("x-emulator-fault", fault)],
        body,
    )
    .await
}

/// Reads until the server closes the connection (or a read fails) and parses what came.
async fn read_response(stream: &mut TcpStream, start: Instant) -> Resp {
    let mut raw = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut read_error = None;
    let mut reads = 0;
    loop {
        match stream.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => {
                reads += 1;
                raw.extend_from_slice(&buf[..n]);
            }
            Err(e) => {
                read_error = Some(e.kind());
                break;
            }
        }
    }
    parse(&raw, read_error, start.elapsed(), reads)
}

fn parse(raw: &[u8], read_error: Option<io::ErrorKind>, elapsed: Duration, reads: usize) -> Resp {
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| {
            panic!(
                "no complete response head in {:?}",
                String::from_utf8_lossy(raw)
            )
        });
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status: u16 = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.trim().to_ascii_lowercase(), v.trim().to_owned())
        })
        .collect();
    let rest = &raw[head_end + 4..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let (body, complete) = if chunked {
        dechunk(rest)
    } else {
        let len = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .map(|(_, v)| v.parse::<usize>().unwrap());
        match len {
            Some(len) => (rest[..len.min(rest.len())].to_vec(), rest.len() >= len),
            None => (rest.to_vec(), read_error.is_none()),
        }
    };
    Resp {
        status,
        headers,
        body,
        complete,
        read_error,
        elapsed,
        reads,
    }
}

fn dechunk(mut data: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    loop {
        let Some(line_end) = data.windows(2).position(|w| w == b"\r\n") else {
            return (out, false);
        };
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..line_end]).unwrap().trim(), 16)
                .unwrap();
        data = &data[line_end + 2..];
        if size == 0 {
            return (out, true);
        }
        if data.len() < size {
            out.extend_from_slice(data);
            return (out, false);
        }
        out.extend_from_slice(&data[..size]);
        data = &data[(size + 2).min(data.len())..];
    }
}

pub fn user(text: &str) -> serde_json::Value {
    serde_json::json!({"role": "user", "parts": [{"text": text}]})
}

pub fn gen_body(prompt: &str) -> String {
    serde_json::json!({"contents": [user(prompt)]}).to_string()
}

pub const SSE: &str = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";
pub const ARRAY: &str = "/v1beta/models/gemini-2.5-flash:streamGenerateContent";
pub const UNARY: &str = "/v1beta/models/gemini-2.5-flash:generateContent";

/// Text of candidate 0 across events (non-thought parts).
pub fn event_text(events: &[serde_json::Value]) -> String {
    events
        .iter()
        .flat_map(|e| {
            e["candidates"][0]["content"]["parts"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|p| p["thought"] != true)
        .filter_map(|p| p["text"].as_str().map(str::to_owned))
        .collect()
}

pub fn unary_text(v: &serde_json::Value) -> String {
    v["candidates"][0]["content"]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["thought"] != true)
        .filter_map(|p| p["text"].as_str())
        .collect()
}
