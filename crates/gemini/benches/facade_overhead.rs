//! What the facade costs: the main job's streamed request through `gemini::Client` against the
//! same request wired by hand from the layers below (`gemini-proto` builds the request and decodes
//! and aggregates the stream, `gemini-transport` moves the bytes), as the `stream` example did
//! before the facade existed.
//!
//! Both run on one current-thread tokio runtime on this thread, against the same unpaced
//! `gemini-emulator` on its own threads, reuse one connection, and read and aggregate every chunk.
//! Rounds alternate which one goes first. The client thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`)
//! and the wall time of each request are recorded; medians and their ratios are printed.
//!
//! Run: `cargo bench -p gemini --bench facade_overhead` (`BENCH_ROUNDS=N` to change the 3000
//! rounds; `BENCH_ONLY=hand|facade` runs one of them alone, for a profiler; `BENCH_MEMORY=1`
//! replaces the network with an in-memory transport replaying the emulator's answer, event by
//! event, so that only the client's own work is left).

use std::time::{Duration, Instant};

use cpu_time::ThreadTime;
use gemini_emulator::{Emulator, EmulatorConfig};
use gemini_proto::aggregate::Aggregator;
use gemini_proto::chunk::ChunkDecoder;
use gemini_proto::types::GenerateContentRequest;
use gemini_proto::{Api, Auth, Endpoint, StreamFormat};
use std::sync::Arc;

use bytes::Bytes;
use gemini_transport::{HttpTransport, HyperTransport, ResponseBody, ResponseFuture};

/// Replays one recorded answer, one event per body frame, without any I/O.
#[derive(Debug)]
struct Memory {
    events: Vec<Bytes>,
}

impl HttpTransport for Memory {
    fn send(&self, _request: http::Request<Bytes>) -> ResponseFuture {
        let body = ResponseBody::from_chunks(self.events.clone());
        ResponseFuture::ready(Ok(http::Response::new(body)))
    }
}

/// The emulator's streamed answer, split into its events.
fn record(emulator: &Emulator) -> Vec<Bytes> {
    use std::io::{Read, Write};
    let body = serde_json::json!({"contents": [{"role": "user", "parts": [{"text": PROMPT}]}]})
        .to_string();
    let mut tcp = std::net::TcpStream::connect(emulator.addr()).unwrap();
    write!(
        tcp,
        "POST /v1beta/models/{MODEL}:streamGenerateContent?alt=sse HTTP/1.1\r\nhost: x\r\nx-goog-api-key: k\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    tcp.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (_, mut chunked) = text.split_once("\r\n\r\n").unwrap();
    let mut sse = String::new();
    loop {
        let (size, rest) = chunked.split_once("\r\n").unwrap();
        let size = usize::from_str_radix(size, 16).unwrap();
        if size == 0 {
            break;
        }
        sse.push_str(&rest[..size]);
        chunked = &rest[size + 2..];
    }
    sse.split_inclusive("\r\n\r\n")
        .map(|event| Bytes::from(event.to_owned()))
        .collect()
}

const MODEL: &str = "gemini-2.5-flash";
const PROMPT: &str = "Why is the sky blue?";
const WARMUP: usize = 200;

/// The hand-wired request: what the facade replaces.
async fn by_hand(api: &Api, transport: &dyn HttpTransport) -> usize {
    let request = api
        .stream_generate_content(MODEL, &GenerateContentRequest::from_prompt(PROMPT))
        .unwrap();
    let response = transport.send(request).await.unwrap();
    assert!(response.status().is_success());
    let mut body = response.into_body();
    let mut decoder = ChunkDecoder::new(StreamFormat::Sse);
    let mut aggregator = Aggregator::new();
    let mut text = 0;
    loop {
        match body.next_chunk().await {
            Some(piece) => decoder.push(&piece.unwrap()),
            None => decoder.finish(),
        }
        let ended = body.is_end();
        while let Some(chunk) = decoder.next_chunk() {
            let chunk = chunk.unwrap();
            text += chunk.text().map_or(0, |t| t.len());
            aggregator.push(&chunk);
        }
        if ended && decoder.is_done() {
            break;
        }
    }
    assert!(aggregator.response().finish_reason().is_some());
    text
}

async fn facade(client: &gemini::Client) -> usize {
    let mut stream = client
        .models()
        .generate_content_stream(MODEL, PROMPT)
        .await
        .unwrap();
    let mut text = 0;
    while let Some(chunk) = stream.next().await {
        text += chunk.unwrap().text().map_or(0, |t| t.len());
    }
    assert!(stream.snapshot().finish_reason().is_some());
    text
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn main() {
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3000);
    let emulator =
        Emulator::start_blocking(EmulatorConfig::default().record_requests(false)).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let api = Api::new(
        Endpoint::new(emulator.base_url()).unwrap(),
        Auth::api_key("bench"),
    );
    let transport: Arc<dyn HttpTransport> = match std::env::var("BENCH_MEMORY") {
        Ok(_) => Arc::new(Memory {
            events: record(&emulator),
        }),
        Err(_) => Arc::new(HyperTransport::new()),
    };
    let client = gemini::Client::builder()
        .api_key("bench")
        .base_url(emulator.base_url())
        .transport(Arc::clone(&transport))
        .build()
        .unwrap();

    let (mut cpu_hand, mut cpu_facade) = (Vec::new(), Vec::new());
    let (mut wall_hand, mut wall_facade) = (Vec::new(), Vec::new());
    if let Ok(only) = std::env::var("BENCH_ONLY") {
        runtime.block_on(async {
            for _ in 0..rounds {
                match only.as_str() {
                    "hand" => by_hand(&api, &*transport).await,
                    _ => facade(&client).await,
                };
            }
        });
        return;
    }
    runtime.block_on(async {
        let a = by_hand(&api, &*transport).await;
        let b = facade(&client).await;
        assert_eq!(a, b, "both read the same answer");
        for round in 0..WARMUP + rounds {
            for first in [round % 2 == 0, round % 2 != 0] {
                let (cpu, wall) = (ThreadTime::now(), Instant::now());
                if first {
                    by_hand(&api, &*transport).await;
                } else {
                    facade(&client).await;
                }
                let (cpu, wall) = (cpu.elapsed(), wall.elapsed());
                if round >= WARMUP {
                    if first {
                        cpu_hand.push(cpu);
                        wall_hand.push(wall);
                    } else {
                        cpu_facade.push(cpu);
                        wall_facade.push(wall);
                    }
                }
            }
        }
    });
    let total = |v: &[Duration]| v.iter().sum::<Duration>();
    let (cpu_hand_total, cpu_facade_total) = (total(&cpu_hand), total(&cpu_facade));
    let (ch, cf) = (median(&mut cpu_hand), median(&mut cpu_facade));
    let (wh, wf) = (median(&mut wall_hand), median(&mut wall_facade));
    println!("{rounds} streamed requests each (\"{PROMPT}\", unpaced emulator)");
    println!("                    by hand      facade     facade ÷ by hand");
    println!(
        "CPU, median    {:>10.1?}  {:>10.1?}     {:.3}",
        ch,
        cf,
        cf.as_secs_f64() / ch.as_secs_f64()
    );
    println!(
        "CPU, mean      {:>10.1?}  {:>10.1?}     {:.3}",
        cpu_hand_total / rounds as u32,
        cpu_facade_total / rounds as u32,
        cpu_facade_total.as_secs_f64() / cpu_hand_total.as_secs_f64()
    );
    println!(
        "wall, median   {:>10.1?}  {:>10.1?}     {:.3}",
        wh,
        wf,
        wf.as_secs_f64() / wh.as_secs_f64()
    );
}
