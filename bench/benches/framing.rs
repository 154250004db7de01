//! SSE framing throughput: gemini-proto's decoder against crates.io peers.
//!
//! Run with `cargo bench -p gemini-bench`. Prints MiB/s per decoder and workload, and the ratio
//! of each peer to gemini-proto. Every decoder's event count is checked before it is timed.

#![allow(missing_docs, clippy::print_stdout)]

use std::convert::Infallible;
use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_lite::{StreamExt, future::block_on, stream};

struct Workload {
    name: &'static str,
    body: Bytes,
    read: usize,
    events: usize,
}

type Decoder = fn(&Workload) -> usize;

fn pieces(w: &Workload) -> impl Iterator<Item = Bytes> + '_ {
    (0..w.body.len())
        .step_by(w.read)
        .map(|start| w.body.slice(start..(start + w.read).min(w.body.len())))
}

fn gemini_proto(w: &Workload) -> usize {
    let mut decoder = gemini_proto::sse::SseDecoder::new();
    let mut count = 0;
    for piece in w.body.chunks(w.read) {
        decoder.push(piece).unwrap();
        while let Some(event) = decoder.next_event() {
            black_box(&event.data);
            count += 1;
        }
    }
    assert!(decoder.finish().is_none());
    count
}

/// The borrowed path: each event handed to a closure, its data not copied when it lies in one
/// piece (what `ChunkDecoder` uses).
fn gemini_proto_borrowed(w: &Workload) -> usize {
    let mut decoder = gemini_proto::sse::SseDecoder::new();
    let mut count = 0;
    for piece in w.body.chunks(w.read) {
        decoder
            .push_with(piece, |event| {
                black_box(event.data);
                count += 1;
            })
            .unwrap();
    }
    assert!(decoder.finish().is_none());
    count
}

fn sse_core(w: &Workload) -> usize {
    // Same 64 MiB cap as gemini-proto's default (sse-core's own default is smaller).
    let limit = std::num::NonZeroUsize::new(64 << 20).unwrap();
    let mut decoder = sse_core::SseDecoder::with_limit(limit);
    let mut count = 0;
    for mut piece in w.body.chunks(w.read) {
        while let Some(event) = decoder.next(&mut piece) {
            if let sse_core::SseEvent::Message(message) = event.unwrap() {
                black_box(&message.data);
                count += 1;
            }
        }
    }
    count
}

fn sseer(w: &Workload) -> usize {
    let input = stream::iter(pieces(w).map(Ok::<_, Infallible>));
    let mut events = sseer::EventStream::new(input);
    block_on(async {
        let mut count = 0;
        while let Some(event) = events.next().await {
            black_box(&event.unwrap().data);
            count += 1;
        }
        count
    })
}

fn eventsource_stream(w: &Workload) -> usize {
    use eventsource_stream::Eventsource;
    let mut events = stream::iter(pieces(w).map(Ok::<_, Infallible>)).eventsource();
    block_on(async {
        let mut count = 0;
        while let Some(event) = events.next().await {
            black_box(&event.unwrap().data);
            count += 1;
        }
        count
    })
}

/// Median time of repeated runs: at least 3 runs and about a second in total, at most 50 runs.
fn measure(decode: Decoder, w: &Workload) -> Duration {
    let mut times = Vec::new();
    let started = Instant::now();
    while times.len() < 3 || (started.elapsed() < Duration::from_secs(1) && times.len() < 50) {
        let t = Instant::now();
        black_box(decode(black_box(w)));
        times.push(t.elapsed());
    }
    times.sort();
    times[times.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: run each decoder once then.
    let timed = std::env::args().any(|a| a == "--bench");
    let sse = Bytes::from(gemini_bench::gemini_like_sse(2000));
    let long = Bytes::from(gemini_bench::one_long_line(4 << 20));
    let workloads = [
        Workload {
            name: "2000 x ~700 B CRLF events, 1460 B reads",
            body: sse.clone(),
            read: 1460,
            events: 2000,
        },
        Workload {
            name: "2000 x ~700 B CRLF events, 16 B reads",
            body: sse,
            read: 16,
            events: 2000,
        },
        Workload {
            name: "one 4 MiB data line, 1460 B reads",
            body: long,
            read: 1460,
            events: 1,
        },
    ];
    let decoders: [(&str, Decoder); 5] = [
        ("gemini-proto", gemini_proto),
        ("gemini-proto (push_with)", gemini_proto_borrowed),
        ("sse-core 0.2.3", sse_core),
        ("sseer 0.3.1", sseer),
        ("eventsource-stream 0.2.3", eventsource_stream),
    ];
    for w in &workloads {
        println!("\n{} ({} bytes)", w.name, w.body.len());
        let mut ours = None;
        for (name, decode) in decoders {
            assert_eq!(decode(w), w.events, "{name} on {}", w.name);
            if !timed {
                continue;
            }
            let time = measure(decode, w);
            let mib_s = w.body.len() as f64 / (1 << 20) as f64 / time.as_secs_f64();
            let base = *ours.get_or_insert(mib_s);
            println!(
                "  {name:<26} {mib_s:>9.1} MiB/s   gemini-proto / this = {:>7.2}x",
                base / mib_s
            );
        }
    }
}
