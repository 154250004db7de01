//! The HTTP/1.1 connection on the wire: raw loopback servers write exact bytes (split, late,
//! truncated, reset) and record exact requests, on tokio and on smol.
#![cfg(all(feature = "tokio", feature = "smol"))]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use gemini_transport::{
    ErrorKind, HttpTransport, HyperTransportBuilder, Runtime, TimeoutKind, Timeouts,
};
use support::{Server, fetch, get};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::Notify;

/// A request as the server read it.
#[derive(Debug, Clone)]
struct Seen {
    /// Which connection (0 for the first accepted).
    conn: usize,
    /// Which request on that connection (0 for the first).
    nth: usize,
    head: String,
    body: Vec<u8>,
}

impl Seen {
    fn request_line(&self) -> &str {
        self.head.split("\r\n").next().unwrap_or_default()
    }

    fn path(&self) -> &str {
        self.request_line().split(' ').nth(1).unwrap_or_default()
    }

    /// The header fields, names lowercased, sorted by name (fields of one name in order).
    fn headers(&self) -> Vec<(String, String)> {
        let mut fields: Vec<(String, String)> = self
            .head
            .split("\r\n")
            .skip(1)
            .filter(|line| !line.is_empty())
            .map(|line| {
                let (name, value) = line.split_once(':').expect("a header field");
                (name.to_ascii_lowercase(), value.trim().to_owned())
            })
            .collect();
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        fields
    }
}

/// What the server does after reading a request.
enum Reply {
    /// Writes these bytes, then waits for the next request.
    Send(Vec<u8>),
    /// Writes these bytes one per write, each flushed and followed by a short pause, then
    /// waits for the next request.
    Trickle(Vec<u8>),
    /// Writes the first bytes, then the second 20 ms later, then waits for the next request.
    Later(Vec<u8>, Vec<u8>),
    /// Writes these bytes (maybe none), then closes the connection.
    Close(Vec<u8>),
    /// Writes these bytes, waits for the signal if there is one, then resets the connection
    /// (TCP RST; over TLS, a plain close).
    Reset(Vec<u8>, Option<Arc<Notify>>),
    /// Writes these bytes, then says nothing more for 30 s.
    Stall(Vec<u8>),
}

type ReplyFn = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

/// A raw server answering each request it reads with what `reply` says, and what it read.
struct Wire {
    server: Server,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Wire {
    fn url(&self, path: &str) -> String {
        match self.server.cert_pem {
            Some(_) => self.server.https_url(path),
            None => self.server.http_url(path),
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn accepted(&self) -> usize {
        self.server.accepted()
    }

    /// A client for this server whose requests give up after 5 s (a test that fails hangs no
    /// longer than that).
    fn client(&self, rt: Runtime) -> HyperTransportBuilder {
        let builder = support::client(rt).timeouts(
            Timeouts::default()
                .connect(Some(Duration::from_secs(5)))
                .total(Some(Duration::from_secs(5))),
        );
        match &self.server.cert_pem {
            Some(pem) => builder.add_root_certificates_pem(pem.clone()),
            None => builder,
        }
    }
}

/// Serves one connection; true when it should be reset rather than closed.
async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut S,
    conn: usize,
    log: &Mutex<Vec<Seen>>,
    reply: &ReplyFn,
) -> bool {
    for nth in 0.. {
        let (head, body) = support::read_request(io).await;
        if head.is_empty() {
            return false;
        }
        let seen = Seen {
            conn,
            nth,
            head,
            body,
        };
        log.lock().unwrap().push(seen.clone());
        match reply(&seen) {
            Reply::Send(bytes) => {
                if io.write_all(&bytes).await.is_err() || io.flush().await.is_err() {
                    return false;
                }
            }
            Reply::Trickle(bytes) => {
                for byte in bytes {
                    if io.write_all(&[byte]).await.is_err() || io.flush().await.is_err() {
                        return false;
                    }
                    // Long enough for the client to read the byte on its own, most of the
                    // time (the timer's 1 ms would make a trickled response slow).
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
            Reply::Later(first, second) => {
                let _ = io.write_all(&first).await;
                let _ = io.flush().await;
                tokio::time::sleep(Duration::from_millis(20)).await;
                let _ = io.write_all(&second).await;
                let _ = io.flush().await;
            }
            Reply::Close(bytes) => {
                let _ = io.write_all(&bytes).await;
                let _ = io.shutdown().await;
                return false;
            }
            Reply::Reset(bytes, signal) => {
                let _ = io.write_all(&bytes).await;
                let _ = io.flush().await;
                if let Some(signal) = signal {
                    signal.notified().await;
                }
                return true;
            }
            Reply::Stall(bytes) => {
                let _ = io.write_all(&bytes).await;
                let _ = io.flush().await;
                tokio::time::sleep(Duration::from_secs(30)).await;
                return false;
            }
        }
    }
    unreachable!()
}

/// What every connection of a [`Wire`] shares: the replies, the log and the count of
/// connections (numbered in the order they were accepted).
#[derive(Clone)]
struct Script {
    reply: ReplyFn,
    seen: Arc<Mutex<Vec<Seen>>>,
    conns: Arc<AtomicUsize>,
}

impl Script {
    fn new(reply: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Self {
        Self {
            reply: Arc::new(reply),
            seen: Arc::new(Mutex::new(Vec::new())),
            conns: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Numbers a newly accepted connection; the future answers it, and returns whether the
    /// last reply asked for a reset.
    fn accept<S>(&self, mut io: S) -> impl Future<Output = (S, bool)> + Send + use<S>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let conn = self.conns.fetch_add(1, Ordering::SeqCst);
        let (log, reply) = (Arc::clone(&self.seen), Arc::clone(&self.reply));
        async move {
            let reset = converse(&mut io, conn, &log, &reply).await;
            (io, reset)
        }
    }
}

/// A plain-TCP [`Wire`].
fn serve(reply: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Wire {
    let script = Script::new(reply);
    let seen = Arc::clone(&script.seen);
    let server = support::raw_tcp(move |tcp| {
        let answered = script.accept(tcp);
        async move {
            let (tcp, reset) = answered.await;
            if reset {
                tcp.set_zero_linger().unwrap();
            }
        }
    });
    Wire { server, seen }
}

/// A [`Wire`] over TLS (HTTP/1.1 by ALPN).
fn serve_tls(reply: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Wire {
    let script = Script::new(reply);
    let seen = Arc::clone(&script.seen);
    let server = support::raw_tls(move |io| {
        let answered = script.accept(io);
        async move {
            answered.await;
        }
    });
    Wire { server, seen }
}

/// A 200 response with a `content-length`.
fn ok(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn bytes(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

fn pairs(fields: &[(&str, &str)]) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

/// The bytes `0, 1, …, 250, 0, 1, …` (a body whose every offset is checkable).
fn pattern(len: usize) -> Bytes {
    (0..len).map(|i| (i % 251) as u8).collect()
}

// 1. The request on the wire.

async fn request_head_and_body_on_the_wire(rt: Runtime) {
    let wire = serve(|_| Reply::Send(ok("ok")));
    let t = wire.client(rt).build().unwrap();
    let host = format!("127.0.0.1:{}", wire.server.addr.port());

    let json = r#"{"contents":[{"parts":[{"text":"hi"}]}]}"#;
    let req = http::Request::post(
        wire.url("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&x=%20y"),
    )
    .header("content-type", "application/json")
    .header("x-goog-api-key", "k3y")
    .header("x-multi", "one")
    .header("x-multi", "two")
    .body(Bytes::from_static(json.as_bytes()))
    .unwrap();
    let resp = t.send(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.into_body().collect().await.unwrap(), "ok");

    // A GET says nothing about a body.
    assert_eq!(
        fetch(&t, &wire.url("/v1beta/models?pageSize=5")).await,
        "ok"
    );

    // Bodies up to 16 KiB go out with the head, longer ones in a second write: every byte
    // arrives either way.
    let sizes = [16 * 1024, 16 * 1024 + 1, 300_000];
    for len in sizes {
        let req = http::Request::post(wire.url("/upload"))
            .body(pattern(len))
            .unwrap();
        let body = t.send(req).await.unwrap().into_body().collect().await;
        assert_eq!(body.unwrap(), "ok");
    }

    let seen = wire.seen();
    assert_eq!(seen.len(), 5);
    assert!(seen.iter().all(|s| s.conn == 0), "one connection for all");
    assert_eq!(
        seen[0].request_line(),
        "POST /v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&x=%20y HTTP/1.1"
    );
    assert_eq!(
        seen[0].headers(),
        pairs(&[
            ("content-length", "40"),
            ("content-type", "application/json"),
            ("host", &host),
            ("x-goog-api-key", "k3y"),
            ("x-multi", "one"),
            ("x-multi", "two"),
        ])
    );
    assert_eq!(seen[0].body, json.as_bytes());

    assert_eq!(
        seen[1].request_line(),
        "GET /v1beta/models?pageSize=5 HTTP/1.1"
    );
    assert_eq!(seen[1].headers(), pairs(&[("host", &host)]));
    assert!(seen[1].body.is_empty());

    for (s, len) in seen[2..].iter().zip(sizes) {
        assert_eq!(s.request_line(), "POST /upload HTTP/1.1");
        assert_eq!(
            s.headers(),
            pairs(&[("content-length", &len.to_string()), ("host", &host)])
        );
        assert!(
            s.body == pattern(len),
            "a body of {len} bytes arrived whole"
        );
    }
}

// 2. A chunked response trickled byte by byte.

/// A chunked response with extensions, upper-case and zero-padded sizes and trailers; its body
/// is `hello0123456789abcdefghijklmnopqrstuvwxyz`.
const CHUNKED: &str = "HTTP/1.1 200 OK\r\n\
    Transfer-Encoding: chunked\r\n\
    Content-Type: text/event-stream\r\n\
    \r\n\
    5;a=b\r\nhello\r\n\
    00A\r\n0123456789\r\n\
    1A;name=\"quoted;value\";x\r\nabcdefghijklmnopqrstuvwxyz\r\n\
    0\r\nX-Checksum: 42\r\nX-Other: z\r\n\r\n";

const CHUNKED_BODY: &str = "hello0123456789abcdefghijklmnopqrstuvwxyz";

async fn chunked_response_trickled_byte_by_byte(rt: Runtime) {
    let wire = serve(|s| match s.nth {
        0 => Reply::Trickle(bytes(CHUNKED)),
        _ => Reply::Send(ok("second")),
    });
    let t = wire.client(rt).build().unwrap();
    let resp = t.send(get(&wire.url("/stream"))).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    assert_eq!(resp.headers()["transfer-encoding"], "chunked");
    let mut body = resp.into_body();
    let mut got = Vec::new();
    while let Some(piece) = body.next_chunk().await {
        got.extend_from_slice(&piece.unwrap());
    }
    assert_eq!(String::from_utf8(got).unwrap(), CHUNKED_BODY);
    // The trailers were read too: nothing is left over, the connection is pooled and reused.
    assert_eq!(t.idle_connections(), 1);
    assert_eq!(fetch(&t, &wire.url("/again")).await, "second");
    assert_eq!(wire.accepted(), 1);
    assert_eq!(t.idle_connections(), 1);
}

// 3. Interim responses.

async fn interim_responses_are_skipped(rt: Runtime) {
    const INTERIM: &str = "HTTP/1.1 100 Continue\r\n\r\n\
        HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n\
        HTTP/1.1 201 Created\r\nX-Final: yes\r\nContent-Length: 4\r\n\r\ndone";
    let wire = serve(|s| match s.path() {
        "/whole" => Reply::Send(bytes(INTERIM)),
        "/trickled" => Reply::Trickle(bytes(INTERIM)),
        // The interim responses arrive before the final one is written.
        _ => Reply::Later(
            bytes("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"),
            bytes("HTTP/1.1 201 Created\r\nX-Final: yes\r\nContent-Length: 4\r\n\r\ndone"),
        ),
    });
    let t = wire.client(rt).build().unwrap();
    for path in ["/whole", "/trickled", "/later"] {
        let resp = t.send(get(&wire.url(path))).await.unwrap();
        assert_eq!(resp.status(), 201, "{path}");
        let headers: Vec<_> = resp
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str(), v.to_str().unwrap()))
            .collect();
        assert_eq!(
            headers,
            [("x-final", "yes"), ("content-length", "4")],
            "{path}"
        );
        assert_eq!(resp.into_body().collect().await.unwrap(), "done", "{path}");
        assert_eq!(t.idle_connections(), 1, "{path}");
    }
    assert_eq!(wire.accepted(), 1);
}

async fn endless_interim_responses_are_a_protocol_error(rt: Runtime) {
    // 100 Continue after 100 Continue, more than 256 KiB of them: skipped, but not forever.
    let wire = serve(|_| Reply::Send(bytes(&"HTTP/1.1 100 Continue\r\n\r\n".repeat(12_000))));
    let t = wire.client(rt).build().unwrap();
    let err = t.send(get(&wire.url("/"))).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    assert_eq!(
        err.to_string(),
        "HTTP protocol error: no final response head in the first 256 KiB"
    );
}

// 4. What the response (or the request) says about the connection.

async fn connection_reuse_follows_the_messages(rt: Runtime) {
    let wire = serve(|s| {
        Reply::Send(bytes(match s.path() {
            "/close" => "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc",
            "/close-in-list" => {
                "HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 3\r\n\r\nabc"
            }
            "/http10" => "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc",
            "/http10-keep-alive" => {
                "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc"
            }
            // Both framings: read as chunked, and the connection is not trusted after it.
            "/chunked-and-length" => {
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 100\r\n\r\n\
                 3\r\nabc\r\n0\r\n\r\n"
            }
            _ => "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
        }))
    });
    let t = wire.client(rt).build().unwrap();
    // Sends a request to `path` (with `Connection: close` if `close`) and reads it whole;
    // then checks the response's version, the pool and how many connections were opened.
    let step =
        async |path: &str, close: bool, version: http::Version, idle: usize, accepted: usize| {
            let mut req = get(&wire.url(path));
            if close {
                req.headers_mut()
                    .insert("connection", http::HeaderValue::from_static("close"));
            }
            let resp = t.send(req).await.unwrap();
            assert_eq!(resp.version(), version, "{path}");
            assert_eq!(resp.into_body().collect().await.unwrap(), "abc", "{path}");
            assert_eq!(t.idle_connections(), idle, "{path}: pooled connections");
            assert_eq!(wire.accepted(), accepted, "{path}: connections opened");
        };
    use http::Version as V;
    step("/keep", false, V::HTTP_11, 1, 1).await;
    step("/close", false, V::HTTP_11, 0, 1).await;
    step("/keep", false, V::HTTP_11, 1, 2).await;
    step("/close-in-list", false, V::HTTP_11, 0, 2).await;
    step("/keep", false, V::HTTP_11, 1, 3).await;
    step("/http10", false, V::HTTP_10, 0, 3).await;
    step("/http10-keep-alive", false, V::HTTP_10, 1, 4).await;
    step("/keep", false, V::HTTP_11, 1, 4).await;
    step("/keep", true, V::HTTP_11, 0, 4).await;
    step("/chunked-and-length", false, V::HTTP_11, 0, 5).await;
    step("/keep", false, V::HTTP_11, 1, 6).await;
    let seen = wire.seen();
    assert_eq!(seen.len(), 11);
    assert!(
        seen[8]
            .headers()
            .contains(&("connection".to_owned(), "close".to_owned())),
        "{}",
        seen[8].head
    );
}

// 5. Bytes beyond the response.

async fn bytes_after_the_response_keep_the_connection_out_of_the_pool(rt: Runtime) {
    let wire = serve(|s| match s.path() {
        "/two" => Reply::Send(bytes(
            "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc\
             HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale",
        )),
        "/chunked-then-garbage" => Reply::Send(bytes(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\ngarbage",
        )),
        // A second response follows after the first was read: it arrives on an idle
        // connection, answering no request.
        "/late" => Reply::Later(
            ok("abc"),
            bytes("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale"),
        ),
        _ => Reply::Send(ok("fresh")),
    });
    for path in ["/two", "/chunked-then-garbage"] {
        let t = wire.client(rt).build().unwrap();
        let before = wire.accepted();
        assert_eq!(fetch(&t, &wire.url(path)).await, "abc", "{path}");
        assert_eq!(t.idle_connections(), 0, "{path}");
        assert_eq!(fetch(&t, &wire.url("/next")).await, "fresh", "{path}");
        assert_eq!(wire.accepted(), before + 2, "{path}");
        assert_eq!(t.idle_connections(), 1, "{path}");
    }

    let t = wire.client(rt).build().unwrap();
    assert_eq!(fetch(&t, &wire.url("/late")).await, "abc");
    rt.sleeper().sleep(Duration::from_millis(100)).await;
    // The stale response is not taken for the answer to the next request.
    assert_eq!(fetch(&t, &wire.url("/next")).await, "fresh");
}

// 6. Broken responses.

async fn oversized_head_is_a_protocol_error(rt: Runtime) {
    let head = |value_len: usize| {
        let mut head = bytes("HTTP/1.1 200 OK\r\nx-big: ");
        head.resize(head.len() + value_len, b'a');
        head.extend_from_slice(b"\r\ncontent-length: 2\r\n\r\nok");
        head
    };
    let wire = serve(move |s| match s.path() {
        // Just under 64 KiB in all.
        "/under" => Reply::Send(head(64 * 1024 - 100)),
        "/over" => Reply::Send(head(64 * 1024)),
        // The head never ends.
        _ => Reply::Stall(head(70 * 1024)[..68 * 1024].to_vec()),
    });
    let t = wire.client(rt).build().unwrap();
    let resp = t.send(get(&wire.url("/under"))).await.unwrap();
    assert_eq!(resp.headers()["x-big"].len(), 64 * 1024 - 100);
    assert_eq!(resp.into_body().collect().await.unwrap(), "ok");
    for path in ["/over", "/endless"] {
        let err = t.send(get(&wire.url(path))).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Protocol, "{path}: {err}");
        assert_eq!(
            err.to_string(),
            "HTTP protocol error: the response head is longer than 64 KiB"
        );
        assert_eq!(t.idle_connections(), 0);
    }
}

async fn invalid_chunk_framing_after_data(rt: Runtime) {
    let wire = serve(|s| {
        Reply::Send(bytes(match s.path() {
            "/size" => {
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                        5\r\nhello\r\n3x\r\nabc\r\n0\r\n\r\n"
            }
            "/no-size" => {
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                           5\r\nhello\r\nzz\r\n0\r\n\r\n"
            }
            _ => {
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                  5\r\nhelloXY3\r\nabc\r\n0\r\n\r\n"
            }
        }))
    });
    let t = wire.client(rt).build().unwrap();
    for (path, message) in [
        (
            "/size",
            "HTTP protocol error: invalid chunked body: unexpected byte in a chunk size line",
        ),
        (
            "/no-size",
            "HTTP protocol error: invalid chunked body: a chunk size line without a size",
        ),
        (
            "/no-crlf",
            "HTTP protocol error: invalid chunked body: a chunk's data is not followed by CRLF",
        ),
    ] {
        let mut body = t.send(get(&wire.url(path))).await.unwrap().into_body();
        assert_eq!(body.next_chunk().await.unwrap().unwrap(), "hello", "{path}");
        let err = body.next_chunk().await.unwrap().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Protocol, "{path}: {err}");
        assert_eq!(err.to_string(), message);
        assert!(body.next_chunk().await.is_none(), "{path}");
        assert_eq!(t.idle_connections(), 0, "{path}");
    }
    // Collected whole, the data before the error is kept with it.
    let err = t
        .send(get(&wire.url("/size")))
        .await
        .unwrap()
        .into_body()
        .collect()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    assert_eq!(err.partial_body().unwrap(), "hello");
}

async fn connection_lost_in_the_middle_of_a_chunk(rt: Runtime) {
    const PARTIAL: &str = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                           3\r\nabc\r\nA\r\n01234";
    let signal = Arc::new(Notify::new());
    let s = Arc::clone(&signal);
    let wire = serve(move |seen| match seen.path() {
        "/close" => Reply::Close(bytes(PARTIAL)),
        _ => Reply::Reset(bytes(PARTIAL), Some(Arc::clone(&s))),
    });
    let t = wire.client(rt).build().unwrap();

    // Closed: the first chunk and the five bytes of the second that arrived are delivered,
    // then the error.
    let err = t
        .send(get(&wire.url("/close")))
        .await
        .unwrap()
        .into_body()
        .collect()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ClosedMidBody, "{err}");
    assert_eq!(
        err.to_string(),
        "connection closed mid-body: the server closed the connection before the body's last chunk"
    );
    assert_eq!(err.partial_body().unwrap(), "abc01234");

    // Reset once the client has read what arrived.
    let mut body = t.send(get(&wire.url("/reset"))).await.unwrap().into_body();
    let mut got = Vec::new();
    while got.len() < 8 {
        got.extend_from_slice(&body.next_chunk().await.unwrap().unwrap());
    }
    assert_eq!(got, b"abc01234");
    signal.notify_one();
    let err = body.next_chunk().await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ClosedMidBody, "{err}");
    assert!(body.next_chunk().await.is_none());
    assert_eq!(t.idle_connections(), 0);
    assert_eq!(wire.accepted(), 2);
}

// 7. Retrying a request on a reused connection that the server closed.

async fn reused_connection_lost_before_the_response_is_retried(rt: Runtime) {
    for reset in [false, true] {
        // The server answers the first request of its first connection, then drops that
        // connection after reading the second one.
        let wire = serve(move |s| match (s.conn, s.nth) {
            (0, 0) => Reply::Send(ok("first")),
            (0, _) if reset => Reply::Reset(Vec::new(), None),
            (0, _) => Reply::Close(Vec::new()),
            _ => Reply::Send(ok("second")),
        });
        let t = wire.client(rt).build().unwrap();
        assert_eq!(fetch(&t, &wire.url("/a")).await, "first");
        assert_eq!(t.idle_connections(), 1);
        let req = http::Request::post(wire.url("/b"))
            .body(Bytes::from_static(b"payload"))
            .unwrap();
        let resp = t.send(req).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(resp.into_body().collect().await.unwrap(), "second");
        assert_eq!(wire.accepted(), 2, "reset {reset}");
        let seen: Vec<_> = wire
            .seen()
            .iter()
            .map(|s| (s.conn, s.request_line().to_owned(), s.body.clone()))
            .collect();
        assert_eq!(
            seen,
            [
                (0, "GET /a HTTP/1.1".to_owned(), b"".to_vec()),
                (0, "POST /b HTTP/1.1".to_owned(), b"payload".to_vec()),
                (1, "POST /b HTTP/1.1".to_owned(), b"payload".to_vec()),
            ],
            "reset {reset}"
        );
        assert_eq!(t.idle_connections(), 1);
    }
}

async fn every_lost_pooled_connection_is_skipped(rt: Runtime) {
    // Two pooled connections, both dropped by the server under the next request: the request
    // goes on to a third, new, connection.
    let wire = serve(|s| match (s.conn, s.nth) {
        (0 | 1, 0) => Reply::Send(ok("pooled")),
        (0 | 1, _) => Reply::Close(Vec::new()),
        _ => Reply::Send(ok("new")),
    });
    let t = wire.client(rt).build().unwrap();
    let a = t.send(get(&wire.url("/a"))).await.unwrap();
    let b = t.send(get(&wire.url("/a"))).await.unwrap();
    assert_eq!(a.into_body().collect().await.unwrap(), "pooled");
    assert_eq!(b.into_body().collect().await.unwrap(), "pooled");
    assert_eq!(t.idle_connections(), 2);
    assert_eq!(fetch(&t, &wire.url("/b")).await, "new");
    assert_eq!(wire.accepted(), 3);
    let mut tried: Vec<_> = wire
        .seen()
        .iter()
        .filter(|s| s.path() == "/b")
        .map(|s| s.conn)
        .collect();
    tried.sort_unstable();
    assert_eq!(tried, [0, 1, 2]);
    assert_eq!(t.idle_connections(), 1);
}

async fn new_connection_lost_before_the_response_is_not_retried(rt: Runtime) {
    let wire = serve(|_| Reply::Close(Vec::new()));
    let t = wire.client(rt).build().unwrap();
    let err = t.send(get(&wire.url("/"))).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionClosed, "{err}");
    assert_eq!(
        err.to_string(),
        "connection closed before response: the server closed the connection before responding"
    );
    assert_eq!(wire.accepted(), 1);
    assert_eq!(wire.seen().len(), 1);
    assert_eq!(t.idle_connections(), 0);
}

async fn reused_connection_lost_in_the_response_head_is_not_retried(rt: Runtime) {
    let wire = serve(|s| match s.nth {
        0 => Reply::Send(ok("first")),
        _ => Reply::Close(bytes("HTTP/1.1 200 O")),
    });
    let t = wire.client(rt).build().unwrap();
    assert_eq!(fetch(&t, &wire.url("/a")).await, "first");
    let err = t.send(get(&wire.url("/b"))).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionClosed, "{err}");
    assert_eq!(
        err.to_string(),
        "connection closed before response: \
         the server closed the connection in the middle of the response head"
    );
    assert_eq!(wire.accepted(), 1);
    assert_eq!(wire.seen().len(), 2);
    assert_eq!(t.idle_connections(), 0);
}

// 8. Responses without a body whatever their headers say.

async fn bodiless_responses_leave_the_connection_reusable(rt: Runtime) {
    let wire = serve(|s| {
        Reply::Send(bytes(match s.path() {
            "/head" => "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n",
            "/no-content" => "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
            "/not-modified" => "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
            _ => "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nafter",
        }))
    });
    let t = wire.client(rt).build().unwrap();
    let head = http::Request::head(wire.url("/head"))
        .body(Bytes::new())
        .unwrap();
    for (req, status) in [
        (head, 200),
        (get(&wire.url("/no-content")), 204),
        (get(&wire.url("/not-modified")), 304),
    ] {
        let path = req.uri().path().to_owned();
        let resp = t.send(req).await.unwrap();
        assert_eq!(resp.status(), status, "{path}");
        assert!(resp.into_body().next_chunk().await.is_none(), "{path}");
        assert_eq!(t.idle_connections(), 1, "{path}");
    }
    assert_eq!(fetch(&t, &wire.url("/after")).await, "after");
    assert_eq!(wire.accepted(), 1);
    assert_eq!(wire.seen()[0].request_line(), "HEAD /head HTTP/1.1");
}

// 9. TLS.

async fn tls_chunked_response_and_reuse(rt: Runtime) {
    let wire = serve_tls(|s| match s.nth {
        0 => Reply::Trickle(bytes(CHUNKED)),
        _ => Reply::Later(
            bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"),
            bytes("lo\r\n6\r\n again\r\n0\r\n\r\n"),
        ),
    });
    let t = wire.client(rt).build().unwrap();
    let resp = t.send(get(&wire.url("/stream"))).await.unwrap();
    assert_eq!(resp.version(), http::Version::HTTP_11);
    assert_eq!(resp.into_body().collect().await.unwrap(), CHUNKED_BODY);
    assert_eq!(t.idle_connections(), 1);
    assert_eq!(fetch(&t, &wire.url("/again")).await, "hello again");
    assert_eq!(fetch(&t, &wire.url("/again")).await, "hello again");
    assert_eq!(wire.accepted(), 1);
    assert_eq!(t.idle_connections(), 1);
}

// 10. Timeouts on the HTTP/1.1 path (tests/loopback.rs and tests/idle_timeout.rs cover a
// silent server after a whole chunk and before any byte of the head).

async fn idle_timeout_in_the_middle_of_a_chunk(rt: Runtime) {
    let wire = serve(|_| {
        Reply::Stall(bytes(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n01234",
        ))
    });
    let idle = Duration::from_millis(100);
    let t = wire
        .client(rt)
        .timeouts(Timeouts::default().idle(Some(idle)))
        .build()
        .unwrap();
    let mut body = t.send(get(&wire.url("/"))).await.unwrap().into_body();
    assert_eq!(body.next_chunk().await.unwrap().unwrap(), "01234");
    let start = Instant::now();
    let err = body.next_chunk().await.unwrap().unwrap_err();
    assert_eq!(err.timeout_kind(), Some(TimeoutKind::Idle), "{err}");
    assert!(start.elapsed() >= idle, "{:?}", start.elapsed());
    assert!(body.next_chunk().await.is_none());
    assert_eq!(t.idle_connections(), 0);
}

async fn response_headers_timeout_with_an_incomplete_head(rt: Runtime) {
    let wire = serve(|s| match s.path() {
        "/half" => Reply::Stall(bytes("HTTP/1.1 20")),
        "/interim" => Reply::Stall(bytes("HTTP/1.1 100 Continue\r\n\r\n")),
        _ => Reply::Stall(bytes("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n")),
    });
    let limit = Duration::from_millis(100);
    let t = wire
        .client(rt)
        .timeouts(Timeouts::default().response_headers(Some(limit)))
        .build()
        .unwrap();
    for path in ["/half", "/interim", "/no-blank-line"] {
        let start = Instant::now();
        let err = t.send(get(&wire.url(path))).await.unwrap_err();
        assert_eq!(
            err.timeout_kind(),
            Some(TimeoutKind::ResponseHeaders),
            "{path}: {err}"
        );
        assert!(start.elapsed() >= limit, "{path}: {:?}", start.elapsed());
    }
    assert_eq!(wire.accepted(), 3);
    assert_eq!(t.idle_connections(), 0);
}

on_both_runtimes!(
    request_head_and_body_on_the_wire,
    chunked_response_trickled_byte_by_byte,
    interim_responses_are_skipped,
    endless_interim_responses_are_a_protocol_error,
    connection_reuse_follows_the_messages,
    bytes_after_the_response_keep_the_connection_out_of_the_pool,
    oversized_head_is_a_protocol_error,
    invalid_chunk_framing_after_data,
    connection_lost_in_the_middle_of_a_chunk,
    reused_connection_lost_before_the_response_is_retried,
    every_lost_pooled_connection_is_skipped,
    new_connection_lost_before_the_response_is_not_retried,
    reused_connection_lost_in_the_response_head_is_not_retried,
    bodiless_responses_leave_the_connection_reusable,
    tls_chunked_response_and_reuse,
    idle_timeout_in_the_middle_of_a_chunk,
    response_headers_timeout_with_an_incomplete_head,
);
