//! Overhead of `HyperTransport` over a bare hyper 1.x client doing the same streamed request.
//!
//! An in-bench hyper server on loopback streams 200 SSE events of ~700 bytes per request
//! (a Gemini-like response). Both clients run on a current-thread tokio runtime, reuse one
//! HTTP/1.1 connection and read every frame. Rounds alternate between the two clients; the
//! medians of time to first byte and total time are printed with their ratio. The smol
//! backend is measured too, for information (its runtime differs, so it is not a like-for-like
//! comparison).
//!
//! Run: `cargo bench -p gemini-transport --bench transport_overhead`
//!
//! Knobs (environment): `BENCH_TIMEOUTS=none|idle|headers` (the timers' cost),
//! `BENCH_EVENTS=N` (events per response; 1 shows the per-request cost),
//! `BENCH_GAP_US=N` (a pause before each request, so that it finds the server idle),
//! `BENCH_ONLY=ours|bare` with `BENCH_ROUNDS=N` (one client alone, for a profiler).

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use gemini_transport::{HttpTransport, HyperTransport, Proxy, Runtime};
use http_body::Frame;
use http_body_util::{BodyExt, Empty};

/// Events per response (`BENCH_EVENTS` overrides the default 200).
fn events() -> usize {
    std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200)
}
thread_local! {
    /// Time until the response headers, per request: (HyperTransport, bare hyper).
    static HEAD: std::cell::RefCell<(Vec<Duration>, Vec<Duration>)> = Default::default();
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

#[derive(Default)]
struct Samples {
    ttfb: Vec<Duration>,
    total: Vec<Duration>,
}

impl Samples {
    fn median(v: &mut [Duration]) -> Duration {
        v.sort_unstable();
        v[v.len() / 2]
    }
    fn medians(&mut self) -> (Duration, Duration) {
        (Self::median(&mut self.ttfb), Self::median(&mut self.total))
    }
}

/// The pause before each measured request, so that every request finds the server idle
/// (`BENCH_GAP_US`, default 0 = back to back).
fn gap() {
    let us: u64 = std::env::var("BENCH_GAP_US")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    if us > 0 {
        std::thread::sleep(Duration::from_micros(us));
    }
}

async fn via_transport(t: &HyperTransport, url: &str) -> (Duration, Duration, usize) {
    gap();
    let start = Instant::now();
    let req = http::Request::get(url).body(Bytes::new()).unwrap();
    let mut body = t.send(req).await.unwrap().into_body();
    HEAD.with(|h| h.borrow_mut().0.push(start.elapsed()));
    let mut ttfb = None;
    let mut n = 0;
    while let Some(chunk) = body.next_chunk().await {
        n += chunk.unwrap().len();
        ttfb.get_or_insert_with(|| start.elapsed());
    }
    (ttfb.unwrap(), start.elapsed(), n)
}

type BareSender = hyper::client::conn::http1::SendRequest<Empty<Bytes>>;

async fn bare_connect(addr: std::net::SocketAddr) -> BareSender {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let (sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn);
    sender
}

async fn via_bare_hyper(sender: &mut BareSender, authority: &str) -> (Duration, Duration, usize) {
    gap();
    let start = Instant::now();
    sender.ready().await.unwrap();
    let req = http::Request::get("/v1beta/models/m:streamGenerateContent?alt=sse")
        .header("host", authority)
        .body(Empty::<Bytes>::new())
        .unwrap();
    let mut body = sender.send_request(req).await.unwrap().into_body();
    HEAD.with(|h| h.borrow_mut().1.push(start.elapsed()));
    let mut ttfb = None;
    let mut n = 0;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            n += data.len();
            ttfb.get_or_insert_with(|| start.elapsed());
        }
    }
    (ttfb.unwrap(), start.elapsed(), n)
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
    let authority = addr.to_string();
    let url = format!("http://{authority}/v1beta/models/m:streamGenerateContent?alt=sse");
    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let (mut ours, mut bare) = (Samples::default(), Samples::default());
    // BENCH_TIMEOUTS=none|idle|headers measures the cost of the timers (default: defaults).
    let timeouts = std::env::var("BENCH_TIMEOUTS").unwrap_or_default();
    client_rt.block_on(async {
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
        let mut sender = bare_connect(addr).await;
        // BENCH_ONLY=ours|bare runs one client alone (for a profiler); prints nothing else.
        match std::env::var("BENCH_ONLY").as_deref() {
            Ok("ours") => {
                let mut alone = Samples::default();
                for _ in 0..only_rounds() {
                    let (ttfb, total, _) = via_transport(&transport, &url).await;
                    alone.ttfb.push(ttfb);
                    alone.total.push(total);
                }
                println!("HyperTransport alone: {:?}", alone.medians());
                std::process::exit(0);
            }
            Ok("bare") => {
                let mut alone = Samples::default();
                for _ in 0..only_rounds() {
                    let (ttfb, total, _) = via_bare_hyper(&mut sender, &authority).await;
                    alone.ttfb.push(ttfb);
                    alone.total.push(total);
                }
                println!("bare hyper alone: {:?}", alone.medians());
                std::process::exit(0);
            }
            _ => {}
        }
        for round in 0..WARMUP + ROUNDS {
            // Alternate which client goes first to cancel out ordering effects.
            let (a, b) = if round % 2 == 0 {
                let a = via_transport(&transport, &url).await;
                (a, via_bare_hyper(&mut sender, &authority).await)
            } else {
                let b = via_bare_hyper(&mut sender, &authority).await;
                (via_transport(&transport, &url).await, b)
            };
            assert_eq!(a.2, b.2, "both clients read the same body");
            if round >= WARMUP {
                ours.ttfb.push(a.0);
                ours.total.push(a.1);
                bare.ttfb.push(b.0);
                bare.total.push(b.1);
            }
        }
    });

    let mut smol = Samples::default();
    smol::block_on(async {
        let transport = HyperTransport::builder()
            .runtime(Runtime::Smol)
            .proxy(Proxy::none())
            .build()
            .unwrap();
        for round in 0..WARMUP + ROUNDS / 2 {
            let (ttfb, total, _) = via_transport(&transport, &url).await;
            if round >= WARMUP {
                smol.ttfb.push(ttfb);
                smol.total.push(total);
            }
        }
    });

    let (ot, oo) = ours.medians();
    let (bt, bo) = bare.medians();
    let (st, so) = smol.medians();
    let (oh, bh) = HEAD.with(|h| {
        let mut h = h.borrow_mut();
        // The smol rounds pushed to the first list too: keep the tokio rounds only.
        h.0.truncate(WARMUP + ROUNDS);
        (Samples::median(&mut h.0), Samples::median(&mut h.1))
    });
    println!(
        "streamed request: {} SSE events of ~700 B, {ROUNDS} rounds, medians",
        events()
    );
    println!("{:<34} {:>12} {:>12}", "client", "TTFB", "total");
    println!("{:<34} {:>12?} {:>12?}", "bare hyper (tokio)", bt, bo);
    println!("{:<34} {:>12?} {:>12?}", "HyperTransport (tokio)", ot, oo);
    println!(
        "{:<34} {:>12?} {:>12?}",
        "HyperTransport (smol, info only)", st, so
    );
    println!("response headers: bare {bh:?}, HyperTransport {oh:?}");
    println!(
        "overhead ratio (tokio/bare): TTFB {:.3}, total {:.3}",
        ot.as_secs_f64() / bt.as_secs_f64(),
        oo.as_secs_f64() / bo.as_secs_f64()
    );
}
