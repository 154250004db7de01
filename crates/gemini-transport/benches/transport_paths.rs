//! `HyperTransport` against hyper-util's pooled client on the paths users run, in one run
//! against `gemini-emulator`: plain HTTP/1.1, HTTP/1.1 over TLS and HTTP/2 over TLS, for a
//! streamed answer of 200 events (~700 bytes each) and for one 8 MiB image event.
//!
//! The peer is `hyper_util::client::legacy::Client` with `hyper-rustls` (ring, the same roots,
//! `TCP_NODELAY` as ours), the pooled client most Rust HTTP stacks are built on. Both clients run on one
//! current-thread tokio runtime, so every task of a client (hyper-util's connection tasks,
//! HTTP/2 connection tasks) runs on the measured thread; the emulators run on their own
//! threads. Both send the same request (the emulator replays a body written here) and read
//! every frame. Per request the bench takes the wall time, the time to the first body byte and
//! the client thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`); the CPU our timeout thread spent
//! during our measured requests is added to ours, spread over them. In each round each client
//! makes two requests in a row and only the second is measured; which client goes first
//! rotates. Medians are reported, with ratios ours / hyper-util from the same run.
//!
//! HTTP/2 is measured twice for ours: with the transport's defaults and with hyper's defaults
//! (2 MiB stream window, 5 MiB connection window, 16 KiB frames), the settings before tuning.
//!
//! Run: `cargo bench -p gemini-transport --bench transport_paths` (Linux: it reads
//! `/proc/self/task` for the timeout thread). Knobs: `BENCH_ROUNDS` (default 300 rounds of the
//! stream), `BENCH_IMAGE_ROUNDS` (default 30), `BENCH_ONLY=PATH` (`h1`, `tls-h1`, `tls-h2`),
//! `BENCH_H2=STREAM,CONN,FRAME` (our HTTP/2 settings, in bytes, to explore tuning).

use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use gemini_emulator::{Emulator, EmulatorConfig};
use gemini_transport::{HttpTransport, HyperTransport, HyperTransportBuilder, Proxy, Runtime};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as PeerClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

const EVENTS: usize = 200;
const IMAGE_BYTES: usize = 8 << 20;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// The replayed bodies: `stream.sse` (200 text events) and `image.sse` (one 8 MiB event with
/// an inline image), in Gemini's SSE layout.
fn write_bodies(dir: &std::path::Path) {
    std::fs::create_dir_all(dir).unwrap();
    let usage = r#""usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":180,"totalTokenCount":189},"modelVersion":"gemini-2.5-flash","responseId":"bench""#;
    let text = "The sky looks blue because air molecules scatter short wavelengths of sunlight more than long ones; ".repeat(6);
    let mut stream = String::new();
    for i in 0..EVENTS {
        let finish = if i + 1 == EVENTS {
            r#","finishReason":"STOP""#
        } else {
            ""
        };
        stream.push_str(&format!(
            "data: {{\"candidates\":[{{\"content\":{{\"parts\":[{{\"text\":\"{text}\"}}],\"role\":\"model\"}}{finish},\"index\":0}}],{usage}}}\r\n\r\n"
        ));
    }
    std::fs::write(dir.join("stream.sse"), stream).unwrap();
    // Base64 grows data by 4/3: this raw size makes the event 8 MiB.
    let raw: Vec<u8> = (0..IMAGE_BYTES / 4 * 3 - 200)
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    let data = base64::engine::general_purpose::STANDARD.encode(raw);
    let image = format!(
        "data: {{\"candidates\":[{{\"content\":{{\"parts\":[{{\"inlineData\":{{\"mimeType\":\"image/png\",\"data\":\"{data}\"}}}}],\"role\":\"model\"}},\"finishReason\":\"STOP\",\"index\":0}}],{usage}}}\r\n\r\n"
    );
    std::fs::write(dir.join("image.sse"), image).unwrap();
}

/// The calling thread's CPU time.
fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// CPU time of this process's thread named `name` (Linux), from `/proc`.
fn named_thread_cpu(name: &str) -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim() == name {
            let stat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
            let ns: u64 = stat
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            return Duration::from_nanos(ns);
        }
    }
    Duration::ZERO
}

/// One request's measurements.
#[derive(Debug, Clone, Copy)]
struct Sample {
    wall: Duration,
    ttfb: Duration,
    cpu: Duration,
    bytes: usize,
}

/// Takes a [`Sample`] while a response is read.
struct Clock {
    start: Instant,
    cpu: Duration,
    ttfb: Option<Duration>,
    bytes: usize,
}

impl Clock {
    fn start() -> Self {
        Self {
            cpu: thread_cpu(),
            start: Instant::now(),
            ttfb: None,
            bytes: 0,
        }
    }

    fn data(&mut self, len: usize) {
        self.bytes += len;
        self.ttfb.get_or_insert_with(|| self.start.elapsed());
    }

    fn end(self) -> Sample {
        Sample {
            wall: self.start.elapsed(),
            ttfb: self.ttfb.expect("the body had data"),
            cpu: thread_cpu() - self.cpu,
            bytes: self.bytes,
        }
    }
}

#[derive(Default)]
struct Samples(Vec<Sample>);

impl Samples {
    fn median(&self, field: impl Fn(&Sample) -> Duration) -> Duration {
        let mut v: Vec<Duration> = self.0.iter().map(field).collect();
        v.sort_unstable();
        v[v.len() / 2]
    }
}

/// The request both clients make.
fn request(base: &str, body: &str) -> http::request::Builder {
    http::Request::post(format!(
        "{base}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    ))
    .header("x-goog-api-key", "bench-key")
    .header("content-type", "application/json")
    .header("x-emulator-replay", body)
}

const PROMPT: &str = r#"{"contents":[{"role":"user","parts":[{"text":"Why is the sky blue?"}]}]}"#;

type Peer = PeerClient<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

enum Client {
    Ours(HyperTransport),
    Peer(Box<Peer>),
}

impl Client {
    async fn fetch(&self, base: &str, body: &str, version: http::Version) -> Sample {
        let mut clock = Clock::start();
        match self {
            Client::Ours(t) => {
                let req = request(base, body).body(Bytes::from_static(PROMPT.as_bytes()));
                let resp = t.send(req.unwrap()).await.unwrap();
                assert_eq!((resp.status().as_u16(), resp.version()), (200, version));
                let mut body = resp.into_body();
                while let Some(chunk) = body.next_chunk().await {
                    clock.data(chunk.unwrap().len());
                }
            }
            Client::Peer(c) => {
                let req =
                    request(base, body).body(Full::new(Bytes::from_static(PROMPT.as_bytes())));
                let resp = c.request(req.unwrap()).await.unwrap();
                assert_eq!((resp.status().as_u16(), resp.version()), (200, version));
                let mut body = resp.into_body();
                while let Some(frame) = body.frame().await {
                    if let Ok(data) = frame.unwrap().into_data() {
                        clock.data(data.len());
                    }
                }
            }
        }
        clock.end()
    }
}

fn roots(ca: &str) -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    roots
}

fn peer(ca: &str, h2: bool) -> Peer {
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots(ca))
    .with_no_client_auth();
    // TCP_NODELAY, as this transport sets it (and reqwest does): without it, Nagle's
    // algorithm holds small writes back for tens of milliseconds.
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http.enforce_http(false);
    let builder = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1();
    let connector = if h2 {
        builder.enable_http2().wrap_connector(http)
    } else {
        builder.wrap_connector(http)
    };
    PeerClient::builder(TokioExecutor::new()).build(connector)
}

fn ours(ca: &str) -> HyperTransportBuilder {
    HyperTransport::builder()
        .runtime(Runtime::Tokio)
        .proxy(Proxy::none())
        .roots_from_env(false)
        .built_in_roots(false)
        .add_root_certificates_pem(ca.to_owned())
}

/// The HTTP/2 settings of `BENCH_H2=STREAM,CONN,FRAME`, if set.
fn h2_knob(b: HyperTransportBuilder) -> HyperTransportBuilder {
    let Ok(v) = std::env::var("BENCH_H2") else {
        return b;
    };
    let n: Vec<u32> = v.split(',').map(|n| n.trim().parse().unwrap()).collect();
    b.http2_initial_stream_window_size(n[0])
        .http2_initial_connection_window_size(n[1])
        .http2_max_frame_size(n[2])
}

/// One table row.
struct Row {
    path: &'static str,
    workload: &'static str,
    client: &'static str,
    wall: Duration,
    cpu: Duration,
    ttfb: Duration,
    /// The row this one is compared with (hyper-util's), none for hyper-util's own.
    peer: Option<usize>,
}

/// Measures `clients` (the last one is hyper-util's) on `base` for one workload.
async fn measure(
    rows: &mut Vec<Row>,
    path: &'static str,
    workload: (&'static str, &'static str, usize),
    base: &str,
    version: http::Version,
    clients: &[(&'static str, &Client)],
) {
    let (workload, body, rounds) = workload;
    let warmup = (rounds / 10).max(2);
    let mut samples: Vec<Samples> = clients.iter().map(|_| Samples::default()).collect();
    let timer = || named_thread_cpu("gemini-transport-timeouts");
    let mut timer_cpu = Duration::ZERO;
    for round in 0..warmup + rounds {
        let mut bytes = Vec::new();
        for k in 0..clients.len() {
            let i = (k + round) % clients.len();
            let (_, client) = clients[i];
            client.fetch(base, body, version).await;
            let before = timer();
            let s = client.fetch(base, body, version).await;
            if round >= warmup {
                if matches!(client, Client::Ours(_)) {
                    timer_cpu += timer() - before;
                }
                samples[i].0.push(s);
            }
            bytes.push(s.bytes);
        }
        assert!(
            bytes.windows(2).all(|w| w[0] == w[1]),
            "same body: {bytes:?}"
        );
    }
    let ours_requests = samples
        .iter()
        .zip(clients)
        .filter(|(_, (_, c))| matches!(c, Client::Ours(_)))
        .map(|(s, _)| s.0.len())
        .sum::<usize>()
        .max(1);
    let timer_share = timer_cpu / ours_requests as u32;
    let peer = rows.len() + clients.len() - 1;
    for ((name, client), s) in clients.iter().zip(&samples) {
        let extra = if matches!(client, Client::Ours(_)) {
            timer_share
        } else {
            Duration::ZERO
        };
        let row = rows.len();
        rows.push(Row {
            path,
            workload,
            client: name,
            wall: s.median(|s| s.wall),
            cpu: s.median(|s| s.cpu) + extra,
            ttfb: s.median(|s| s.ttfb),
            peer: Some(peer).filter(|&p| p != row),
        });
    }
}

fn print(rows: &[Row]) {
    println!(
        "| path | workload | client | wall / request | CPU / request | TTFB | CPU ours/peer | wall ours/peer | TTFB ours/peer |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let ratio = |a: Duration, b: Duration| format!("{:.2}", a.as_secs_f64() / b.as_secs_f64());
    for r in rows {
        let (c, w, t) = match r.peer {
            Some(p) => (
                ratio(r.cpu, rows[p].cpu),
                ratio(r.wall, rows[p].wall),
                ratio(r.ttfb, rows[p].ttfb),
            ),
            None => Default::default(),
        };
        println!(
            "| {} | {} | {} | {:.1?} | {:.1?} | {:.1?} | {c} | {w} | {t} |",
            r.path, r.workload, r.client, r.wall, r.cpu, r.ttfb
        );
    }
}

fn main() {
    let dir = std::env::temp_dir().join(format!("gemini-transport-bench-{}", std::process::id()));
    write_bodies(&dir);
    let config = || {
        EmulatorConfig::default()
            .replay_dir(&dir)
            .record_requests(false)
            .worker_threads(1)
    };
    let plain = Emulator::start_blocking(config()).unwrap();
    let tls = Emulator::start_blocking(config().tls(true)).unwrap();
    let ca = tls.tls_ca_pem().unwrap().to_owned();
    let stream = ("200 events", "stream", env_usize("BENCH_ROUNDS", 300));
    let image = ("8 MiB image", "image", env_usize("BENCH_IMAGE_ROUNDS", 30));
    let only = std::env::var("BENCH_ONLY").ok();
    let run = |path: &str| only.as_deref().is_none_or(|o| o == path);

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let rows = rt.block_on(async {
        let mut rows = Vec::new();
        let v1 = http::Version::HTTP_11;
        let v2 = http::Version::HTTP_2;
        if run("h1") {
            let ours = Client::Ours(ours(&ca).build().unwrap());
            let peer = Client::Peer(Box::new(peer(&ca, false)));
            let clients = [("HyperTransport", &ours), ("hyper-util", &peer)];
            for w in [stream, image] {
                measure(&mut rows, "plain h1", w, &plain.base_url(), v1, &clients).await;
            }
        }
        if run("tls-h1") {
            let ours = Client::Ours(ours(&ca).http1_only(true).build().unwrap());
            let peer = Client::Peer(Box::new(peer(&ca, false)));
            let clients = [("HyperTransport", &ours), ("hyper-util", &peer)];
            for w in [stream, image] {
                measure(&mut rows, "TLS + h1", w, &tls.base_url(), v1, &clients).await;
            }
        }
        if run("tls-h2") {
            let tuned = Client::Ours(h2_knob(ours(&ca)).build().unwrap());
            let before = Client::Ours(
                ours(&ca)
                    .http2_initial_stream_window_size(2 << 20)
                    .http2_initial_connection_window_size(5 << 20)
                    .http2_max_frame_size(16 << 10)
                    .build()
                    .unwrap(),
            );
            let peer = Client::Peer(Box::new(peer(&ca, true)));
            let clients = [
                ("HyperTransport", &tuned),
                ("HyperTransport, hyper's h2 defaults", &before),
                ("hyper-util", &peer),
            ];
            for w in [stream, image] {
                measure(&mut rows, "TLS + h2", w, &tls.base_url(), v2, &clients).await;
            }
        }
        rows
    });
    println!(
        "\n{EVENTS}-event stream: {} rounds; 8 MiB image: {} rounds; medians per request\n",
        stream.2, image.2
    );
    print(&rows);
    plain.stop();
    tls.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
