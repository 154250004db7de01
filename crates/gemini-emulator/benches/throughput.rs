//! Throughput of the no-delay mode: SSE events per second through real loopback connections.
//!
//! `cargo bench -p gemini-emulator --bench throughput` (optional arguments: CONNECTIONS SECONDS).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gemini_emulator::{Emulator, EmulatorConfig, Pace};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Streams requests back to back on one keep-alive connection; counts events and bytes.
async fn client(
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    events: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let body = r#"{"contents": [{"role": "user", "parts": [{"text": "Benchmark me, please."}]}]}"#;
    let request = format!(
        "POST /v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse HTTP/1.1\r\nhost: {addr}\r\nx-goog-api-key: bench\r\nx-emulator-fault: tokens=2000\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut buf = vec![0u8; 256 * 1024];
    while !stop.load(Ordering::Relaxed) {
        stream.write_all(request.as_bytes()).await.expect("write");
        // Read until the terminating chunk of the chunked body.
        let mut tail: Vec<u8> = Vec::new();
        loop {
            let n = stream.read(&mut buf).await.expect("read");
            assert!(n > 0, "server closed the connection");
            let data = &buf[..n];
            bytes.fetch_add(n as u64, Ordering::Relaxed);
            let mut joined = std::mem::take(&mut tail);
            joined.extend_from_slice(data);
            // Every event starts with `data: ` (the generated text never contains it).
            let count = joined.windows(6).filter(|w| w == b"data: ").count() as u64;
            events.fetch_add(count, Ordering::Relaxed);
            if joined.ends_with(b"\r\n0\r\n\r\n") {
                break;
            }
            let keep = joined.len().min(5);
            tail = joined[joined.len() - keep..].to_vec();
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let connections: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(32);
    let seconds: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5);
    let emu = Emulator::start_blocking(
        EmulatorConfig::default()
            .pace(Pace::none())
            .record_requests(false),
    )
    .expect("start emulator");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let stop = Arc::new(AtomicBool::new(false));
    let events = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let before = emu.stats().events;
    rt.block_on(async {
        let tasks: Vec<_> = (0..connections)
            .map(|_| {
                tokio::spawn(client(
                    emu.addr(),
                    Arc::clone(&stop),
                    Arc::clone(&events),
                    Arc::clone(&bytes),
                ))
            })
            .collect();
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            t.await.expect("client task");
        }
    });
    let elapsed = start.elapsed().as_secs_f64();
    let server_events = emu.stats().events - before;
    let client_events = events.load(Ordering::Relaxed);
    println!(
        "throughput (no-delay, {connections} connections, {elapsed:.1}s): {:.0} events/s server-side, {:.0} events/s received, {:.1} MB/s, {} streams",
        server_events as f64 / elapsed,
        client_events as f64 / elapsed,
        bytes.load(Ordering::Relaxed) as f64 / elapsed / 1e6,
        emu.stats().requests
    );
}
