//! Overhead of `HyperTransport` over a bare hyper 1.x client doing the same streamed request.
//!
//! Two servers on loopback, each measured the same way:
//!
//! * an in-bench hyper server streaming 200 SSE events of ~700 bytes per request (a
//!   Gemini-like response, with nothing else on the server's side of the measurement);
//! * the `gemini-emulator` answering a `streamGenerateContent?alt=sse` call, unpaced.
//!
//! Both clients run on one current-thread tokio runtime, reuse one HTTP/1.1 connection, send
//! the same request (method, path, headers, body) and read every frame. In each round each
//! client makes two requests in a row and only the second is measured, so that a measured
//! request always follows one of its own client's (and not the other client's leftovers, such
//! as how long the server has been idle); which client goes first alternates from round to
//! round, to cancel drift in the machine. The medians of the time until the response headers,
//! the time to first byte and the total time are printed with their ratios. The smol backend
//! is measured too, for information (its runtime differs, so it is not like-for-like).
//!
//! Run: `cargo bench -p gemini-transport --bench transport_overhead`
//!
//! Knobs (environment): `BENCH_TIMEOUTS=none|idle|headers` (the timers' cost),
//! `BENCH_EVENTS=N` (events per in-bench response; 1 shows the per-request cost),
//! `BENCH_GAP_US=N` (a pause before each request, so that it finds the server idle),
//! `BENCH_ONLY=ours|bare` with `BENCH_ROUNDS=N` (one client alone against the in-bench
//! server, for a profiler).

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use gemini_emulator::{Emulator, EmulatorConfig};
use gemini_transport::{HttpTransport, HyperTransport, Proxy, Runtime};
use http_body::Frame;
use http_body_util::{BodyExt, Full};

/// Events per in-bench response (`BENCH_EVENTS` overrides the default 200).
fn events() -> usize {
    std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200)
}
const WARMUP: usize = 200;
const ROUNDS: usize = 2000;

struct Events {
    events: Arc<Vec<Bytes>>,
    next: usize,
}

impl http_body::Body for Events {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let i = self.next;
        self.next += 1;
        Poll::Ready(self.events.get(i).cloned().map(|b| Ok(Frame::data(b))))
    }
}

fn start_server() -> (std::net::SocketAddr, tokio::runtime::Runtime) {
    let payload = format!(
        "{{\"candidates\":[{{\"content\":{{\"parts\":[{{\"text\":\"{}\"}}]}}}}]}}",
        "x".repeat(640)
    );
    let events: Arc<Vec<Bytes>> = Arc::new(
        (0..events())
            .map(|_| Bytes::from(format!("data: {payload}\r\n\r\n")))
            .collect(),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    std_listener.set_nonblocking(true).unwrap();
    let addr = std_listener.local_addr().unwrap();
    rt.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            tcp.set_nodelay(true).unwrap();
            let events = Arc::clone(&events);
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |_req| {
                    let body = Events {
                        events: Arc::clone(&events),
                        next: 0,
                    };
                    async move {
                        Ok::<_, Infallible>(
                            http::Response::builder()
                                .header("content-type", "text/event-stream")
                                .body(body)
                                .unwrap(),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tcp), svc)
                    .await;
            });
        }
    });
    (addr, rt)
}

/// One request's timings, from just before the request is built.
#[derive(Debug, Clone, Copy)]
struct Sample {
    /// Until the response headers.
    head: Duration,
    /// Until the first body bytes.
    ttfb: Duration,
    /// Until the end of the body.
    total: Duration,
    bytes: usize,
}

/// Takes a [`Sample`] while a response is read.
struct Clock {
    start: Instant,
    head: Duration,
    ttfb: Option<Duration>,
    bytes: usize,
}

impl Clock {
    /// The response headers arrived, for a request started at `start`.
    fn at_headers(start: Instant) -> Self {
        Self {
            start,
            head: start.elapsed(),
            ttfb: None,
            bytes: 0,
        }
    }

    /// `len` body bytes arrived.
    fn data(&mut self, len: usize) {
        self.bytes += len;
        self.ttfb.get_or_insert_with(|| self.start.elapsed());
    }

    /// The body ended.
    fn end(self) -> Sample {
        Sample {
            head: self.head,
            ttfb: self.ttfb.expect("the body had data"),
            total: self.start.elapsed(),
            bytes: self.bytes,
        }
    }
}

#[derive(Default)]
struct Samples(Vec<Sample>);

impl Samples {
    fn push(&mut self, s: Sample) {
        self.0.push(s);
    }

    fn median(&self, field: impl Fn(&Sample) -> Duration) -> Duration {
        let mut v: Vec<Duration> = self.0.iter().map(field).collect();
        v.sort_unstable();
        v[v.len() / 2]
    }

    /// Medians of (head, TTFB, total).
    fn medians(&self) -> [Duration; 3] {
        [
            self.median(|s| s.head),
            self.median(|s| s.ttfb),
            self.median(|s| s.total),
        ]
    }
}

/// The pause before each measured request, so that every request finds the server idle
/// (`BENCH_GAP_US`, default 0 = back to back).
fn gap() {
    static GAP: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();
    let gap = *GAP.get_or_init(|| {
        Duration::from_micros(
            std::env::var("BENCH_GAP_US")
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
        )
    });
    if !gap.is_zero() {
        std::thread::sleep(gap);
    }
}

/// The request both clients make.
struct Target {
    authority: String,
    path: &'static str,
    /// Empty: a GET; otherwise a JSON POST.
    body: Bytes,
}

impl Target {
    fn url(&self) -> String {
        format!("http://{}{}", self.authority, self.path)
    }

    fn method(&self) -> http::Method {
        if self.body.is_empty() {
            http::Method::GET
        } else {
            http::Method::POST
        }
    }
}

async fn via_transport(t: &HyperTransport, target: &Target, url: &str) -> Sample {
    gap();
    let start = Instant::now();
    let req = http::Request::builder()
        .method(target.method())
        .uri(url)
        .header("x-goog-api-key", "bench-key")
        .header("content-type", "application/json")
        .body(target.body.clone())
        .unwrap();
    let mut body = t.send(req).await.unwrap().into_body();
    let mut clock = Clock::at_headers(start);
    while let Some(chunk) = body.next_chunk().await {
        clock.data(chunk.unwrap().len());
    }
    clock.end()
}

type BareSender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn bare_connect(authority: &str) -> BareSender {
    let tcp = tokio::net::TcpStream::connect(authority).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let (sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn);
    sender
}

async fn via_bare_hyper(sender: &mut BareSender, target: &Target) -> Sample {
    gap();
    let start = Instant::now();
    sender.ready().await.unwrap();
    let req = http::Request::builder()
        .method(target.method())
        .uri(target.path)
        .header("host", &target.authority)
        .header("x-goog-api-key", "bench-key")
        .header("content-type", "application/json")
        .body(Full::new(target.body.clone()))
        .unwrap();
    let mut body = sender.send_request(req).await.unwrap().into_body();
    let mut clock = Clock::at_headers(start);
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            clock.data(data.len());
        }
    }
    clock.end()
}

/// `ROUNDS` measured rounds (after `WARMUP`) of both clients against `target`.
async fn compare(transport: &HyperTransport, target: &Target) -> (Samples, Samples) {
    let url = target.url();
    let mut sender = bare_connect(&target.authority).await;
    let (mut ours, mut bare) = (Samples::default(), Samples::default());
    for round in 0..WARMUP + ROUNDS {
        // Each client makes two requests in a row and only the second counts; which client
        // goes first alternates.
        let (mut a, mut b) = (None, None);
        for ours_turn in [round % 2 == 0, round % 2 == 1] {
            if ours_turn {
                via_transport(transport, target, &url).await;
                a = Some(via_transport(transport, target, &url).await);
            } else {
                via_bare_hyper(&mut sender, target).await;
                b = Some(via_bare_hyper(&mut sender, target).await);
            }
        }
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.bytes, b.bytes, "both clients read the same body");
        if round >= WARMUP {
            ours.push(a);
            bare.push(b);
        }
    }
    (ours, bare)
}

fn report(server: &str, ours: &Samples, bare: &Samples) {
    let [oh, ot, oo] = ours.medians();
    let [bh, bt, bo] = bare.medians();
    println!(
        "{server}: {} bytes per response, {ROUNDS} rounds, medians",
        ours.0[0].bytes
    );
    println!(
        "  {:<32} {:>12} {:>12} {:>12}",
        "client", "headers", "TTFB", "total"
    );
    println!(
        "  {:<32} {bh:>12?} {bt:>12?} {bo:>12?}",
        "bare hyper (tokio)"
    );
    println!(
        "  {:<32} {oh:>12?} {ot:>12?} {oo:>12?}",
        "HyperTransport (tokio)"
    );
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!(
        "  overhead ratio (ours/bare): headers {:.3}, TTFB {:.3}, total {:.3}",
        ratio(oh, bh),
        ratio(ot, bt),
        ratio(oo, bo)
    );
}

/// Requests made with `BENCH_ONLY` (default `ROUNDS * 4`, `BENCH_ROUNDS` overrides).
fn only_rounds() -> usize {
    std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(ROUNDS * 4)
}

fn main() {
    let (addr, _server) = start_server();
    let in_bench = Target {
        authority: addr.to_string(),
        path: "/v1beta/models/m:streamGenerateContent?alt=sse",
        body: Bytes::new(),
    };
    let emulator = Emulator::start_blocking(EmulatorConfig::default()).unwrap();
    let emulated = Target {
        authority: emulator.addr().to_string(),
        path: "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        body: Bytes::from_static(
            br#"{"contents":[{"role":"user","parts":[{"text":"Why is the sky blue?"}]}]}"#,
        ),
    };
    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    // BENCH_TIMEOUTS=none|idle|headers measures the cost of the timers (default: defaults).
    let timeouts = std::env::var("BENCH_TIMEOUTS").unwrap_or_default();
    let results = client_rt.block_on(async {
        let mut builder = HyperTransport::builder()
            .runtime(Runtime::Tokio)
            .proxy(Proxy::none());
        let none = gemini_transport::Timeouts::none();
        match timeouts.as_str() {
            "none" => builder = builder.timeouts(none),
            "idle" => builder = builder.timeouts(none.idle(Some(Duration::from_secs(300)))),
            "headers" => {
                builder = builder.timeouts(none.response_headers(Some(Duration::from_secs(600))))
            }
            _ => {}
        }
        let transport = builder.build().unwrap();
        // BENCH_ONLY=ours|bare runs one client alone (for a profiler); prints nothing else.
        if let Ok(only) = std::env::var("BENCH_ONLY") {
            let url = in_bench.url();
            let mut sender = bare_connect(&in_bench.authority).await;
            let mut alone = Samples::default();
            for _ in 0..only_rounds() {
                alone.push(match only.as_str() {
                    "ours" => via_transport(&transport, &in_bench, &url).await,
                    _ => via_bare_hyper(&mut sender, &in_bench).await,
                });
            }
            println!("{only} alone (head, TTFB, total): {:?}", alone.medians());
            std::process::exit(0);
        }
        [
            compare(&transport, &in_bench).await,
            compare(&transport, &emulated).await,
        ]
    });

    let mut smol = Samples::default();
    smol::block_on(async {
        let transport = HyperTransport::builder()
            .runtime(Runtime::Smol)
            .proxy(Proxy::none())
            .build()
            .unwrap();
        let url = in_bench.url();
        for round in 0..WARMUP + ROUNDS / 2 {
            let sample = via_transport(&transport, &in_bench, &url).await;
            if round >= WARMUP {
                smol.push(sample);
            }
        }
    });

    let [(ours, bare), (ours_em, bare_em)] = &results;
    report(
        &format!("in-bench server, {} SSE events of ~700 B", events()),
        ours,
        bare,
    );
    report("gemini-emulator", ours_em, bare_em);
    let [sh, st, so] = smol.medians();
    println!(
        "HyperTransport (smol, in-bench server, for information): headers {sh:?}, TTFB {st:?}, total {so:?}"
    );
    emulator.stop();
}
