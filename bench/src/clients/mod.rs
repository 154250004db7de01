//! The clients under test, each used the way its documentation shows: one client reused across
//! requests, every chunk's text (or image data) consumed.

mod gemini_rs;
mod peers;

use std::future::Future;
use std::time::Instant;

use cpu_time::ProcessTime;
use serde::{Deserialize, Serialize};
use tokio::sync::Barrier;

use crate::alloc;
use crate::measure::{Meter, Sample, Sink};
use crate::workload::Workload;

/// A client under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Kind {
    /// gemini-rs's `gemini` facade on tokio.
    GeminiTokio,
    /// gemini-rs's `gemini` facade on smol.
    GeminiSmol,
    /// `gemini::blocking`.
    GeminiBlocking,
    /// gemini-rust (reqwest, eventsource-stream).
    GeminiRust,
    /// genai, with its Gemini adapter.
    Genai,
    /// async-openai on Gemini's OpenAI-compatible route.
    AsyncOpenai,
    /// The official Python SDK, google-genai (run by `python/client.py`).
    Python,
}

impl Kind {
    /// Every client, gemini-rs's first.
    pub const ALL: [Kind; 7] = [
        Kind::GeminiTokio,
        Kind::GeminiSmol,
        Kind::GeminiBlocking,
        Kind::GeminiRust,
        Kind::Genai,
        Kind::AsyncOpenai,
        Kind::Python,
    ];

    /// The name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Kind::GeminiTokio => "gemini-rs/tokio",
            Kind::GeminiSmol => "gemini-rs/smol",
            Kind::GeminiBlocking => "gemini-rs/blocking",
            Kind::GeminiRust => "gemini-rust",
            Kind::Genai => "genai",
            Kind::AsyncOpenai => "async-openai",
            Kind::Python => "google-genai (Python)",
        }
    }

    /// The short name used on the command line.
    pub fn arg(self) -> &'static str {
        match self {
            Kind::GeminiTokio => "gemini-tokio",
            Kind::GeminiSmol => "gemini-smol",
            Kind::GeminiBlocking => "gemini-blocking",
            Kind::GeminiRust => "gemini-rust",
            Kind::Genai => "genai",
            Kind::AsyncOpenai => "async-openai",
            Kind::Python => "python",
        }
    }

    /// The client named `arg` on the command line.
    pub fn from_arg(arg: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.arg() == arg)
    }

    /// True for gemini-rs.
    pub fn is_ours(self) -> bool {
        matches!(
            self,
            Kind::GeminiTokio | Kind::GeminiSmol | Kind::GeminiBlocking
        )
    }

    /// True for the Rust peers.
    pub fn is_rust_peer(self) -> bool {
        matches!(self, Kind::GeminiRust | Kind::Genai | Kind::AsyncOpenai)
    }
}

/// Lets concurrent streams wait for each other: all established before any is read, all read
/// before any is dropped (so that memory is measured with every stream alive).
#[derive(Debug)]
pub struct Gate {
    established: Barrier,
    finished: Barrier,
}

impl Gate {
    /// A gate for `streams` streams.
    pub fn new(streams: usize) -> Self {
        Self {
            established: Barrier::new(streams),
            finished: Barrier::new(streams),
        }
    }
}

/// One stream's way through a [`Gate`] (or none, for a stream on its own).
#[derive(Debug)]
pub struct Pass<'a> {
    gate: Option<&'a Gate>,
    passed: u8,
}

impl<'a> Pass<'a> {
    /// A stream on its own: nothing to wait for.
    pub fn alone() -> Self {
        Self {
            gate: None,
            passed: 0,
        }
    }

    /// A stream among those of `gate`.
    pub fn through(gate: &'a Gate) -> Self {
        Self {
            gate: Some(gate),
            passed: 0,
        }
    }

    /// The stream is established (or failed to be).
    pub async fn established(&mut self) {
        if self.passed == 0 {
            if let Some(gate) = self.gate {
                gate.established.wait().await;
            }
            self.passed = 1;
        }
    }

    /// The stream was read to its end (or failed).
    pub async fn finished(&mut self) {
        self.established().await;
        if self.passed == 1 {
            if let Some(gate) = self.gate {
                gate.finished.wait().await;
            }
            self.passed = 2;
        }
    }
}

/// A Rust client, ready to stream from the server at `port`.
#[derive(Debug)]
pub enum Client {
    /// gemini-rs (async).
    Gemini(gemini_rs::Async),
    /// gemini-rs (blocking).
    Blocking(gemini_rs::Blocking),
    /// A peer.
    Peer(peers::Peer),
}

impl Client {
    /// The client of `kind` for `workload`, built once and reused; `aggregate` is gemini-rs's
    /// setting (the peers do not aggregate).
    pub fn new(kind: Kind, port: u16, workload: Workload, aggregate: bool) -> Result<Self, String> {
        let base = format!("http://127.0.0.1:{port}");
        Ok(match kind {
            Kind::GeminiTokio | Kind::GeminiSmol => {
                Client::Gemini(gemini_rs::Async::new(kind, &base, aggregate)?)
            }
            Kind::GeminiBlocking => Client::Blocking(gemini_rs::Blocking::new(&base, aggregate)?),
            Kind::GeminiRust | Kind::Genai | Kind::AsyncOpenai => {
                Client::Peer(peers::Peer::new(kind, &base, workload)?)
            }
            Kind::Python => return Err("the Python client runs in its own script".into()),
        })
    }

    /// Streams one answer into `sink`.
    async fn stream(
        &self,
        w: Workload,
        sink: &mut Sink,
        pass: &mut Pass<'_>,
    ) -> Result<(), String> {
        match self {
            Client::Gemini(client) => client.stream(w, sink, pass).await,
            Client::Peer(peer) => peer.stream(w, sink, pass).await,
            Client::Blocking(_) => Err("a blocking client has no async stream".into()),
        }
    }
}

/// Runs `future` on the runtime `kind` is used with: smol's `block_on`, or a current-thread
/// tokio runtime (the peers need tokio; gemini-rs picks it up from the context).
fn block_on<F: Future>(kind: Kind, future: F) -> F::Output {
    match kind {
        Kind::GeminiSmol => smol::block_on(future),
        _ => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
            .block_on(future),
    }
}

/// Sequential requests, measured one by one after `warmup` unmeasured ones.
pub fn run_requests(
    kind: Kind,
    port: u16,
    workload: Workload,
    warmup: usize,
    requests: usize,
    aggregate: bool,
) -> Result<Vec<Sample>, String> {
    let client = Client::new(kind, port, workload, aggregate)?;
    let expected = match workload {
        Workload::Events(n) => Some(n as u64),
        _ => None,
    };
    let check = move |sample: &Sample| match expected {
        Some(n) if sample.chunks != n => Err(format!(
            "{}: {} chunks where {n} were sent",
            kind.name(),
            sample.chunks
        )),
        _ => Ok(()),
    };
    let mut samples = Vec::with_capacity(requests);
    if let Client::Blocking(client) = &client {
        for i in 0..warmup + requests {
            let mut sink = Sink::default();
            let meter = Meter::start();
            client.stream(workload, &mut sink)?;
            let sample = meter.end(&sink);
            check(&sample)?;
            if i >= warmup {
                samples.push(sample);
            }
        }
        return Ok(samples);
    }
    block_on(kind, async {
        for i in 0..warmup + requests {
            let mut sink = Sink::default();
            let meter = Meter::start();
            client
                .stream(workload, &mut sink, &mut Pass::alone())
                .await?;
            let sample = meter.end(&sink);
            check(&sample)?;
            if i >= warmup {
                samples.push(sample);
            }
        }
        Ok(samples)
    })
}

/// One round of concurrent streams.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Round {
    /// Streams at once.
    pub concurrency: usize,
    /// From the first request to the end of the last stream, ns.
    pub wall: u64,
    /// CPU time of the client process, ns.
    pub cpu: u64,
    /// Chunks consumed, all streams together.
    pub events: u64,
    /// Streams that failed.
    pub errors: u64,
    /// The most heap in use beyond what was in use before the round, bytes (Rust clients).
    pub peak_heap: u64,
    /// Content the client held for the callers at the end (gemini-rs's aggregates), bytes.
    pub held: u64,
    /// Resident memory: the process's peak minus its size before the round, KiB.
    pub rss_growth_kib: u64,
}

/// `rounds` rounds of `concurrency` streams at once on one client, after a warm-up round (the
/// first connections and the runtime's first registrations are not what is measured).
pub fn run_concurrent(
    kind: Kind,
    port: u16,
    workload: Workload,
    concurrency: usize,
    rounds: usize,
) -> Result<Vec<Round>, String> {
    let client = Client::new(kind, port, workload, true)?;
    if matches!(client, Client::Blocking(_)) {
        return Err("concurrent streams are measured on the async clients".into());
    }
    let rss_before = rss_kib().0;
    block_on(kind, async {
        let mut out = Vec::new();
        for round_number in 0..=rounds {
            let gate = Gate::new(concurrency);
            alloc::reset_peak();
            let before = alloc::counters().in_use;
            let (start, cpu) = (Instant::now(), ProcessTime::now());
            let streams = (0..concurrency).map(|_| async {
                let mut sink = Sink::default();
                let mut pass = Pass::through(&gate);
                let result = client.stream(workload, &mut sink, &mut pass).await;
                pass.finished().await;
                (result, sink)
            });
            let results = futures_util::future::join_all(streams).await;
            let (wall, cpu) = (start.elapsed(), cpu.elapsed());
            let mut round = Round {
                concurrency,
                wall: wall.as_nanos() as u64,
                cpu: cpu.as_nanos() as u64,
                peak_heap: alloc::counters().peak.saturating_sub(before) as u64,
                rss_growth_kib: rss_kib().1.saturating_sub(rss_before),
                ..Round::default()
            };
            for (result, sink) in results {
                round.events += sink.chunks;
                round.held += sink.held;
                if let Err(error) = result {
                    round.errors += 1;
                    eprintln!("{}: {error}", kind.name());
                }
            }
            if round_number > 0 {
                out.push(round);
            }
        }
        Ok(out)
    })
}

/// One long stream.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Long {
    /// The sample of the whole request.
    pub sample: Sample,
    /// Heap in use after the first 1% of the stream, bytes.
    pub heap_at_mark: u64,
    /// The most heap in use from then to the end, bytes.
    pub peak_after_mark: u64,
    /// Content consumed after the mark, bytes.
    pub text_after_mark: u64,
    /// Content the client held for the caller at the end, bytes.
    pub held: u64,
    /// Whether the client aggregated the stream.
    pub aggregate: bool,
}

/// One stream of `bytes` bytes of events.
pub fn run_long(kind: Kind, port: u16, bytes: u64, aggregate: bool) -> Result<Long, String> {
    let workload = Workload::Long(bytes);
    let client = Client::new(kind, port, workload, aggregate)?;
    // About 1% of the events (each about 700 bytes).
    let mark = (bytes / 700 / 100).max(1);
    block_on(kind, async {
        let mut sink = Sink::marking(mark);
        let meter = Meter::start();
        client
            .stream(workload, &mut sink, &mut Pass::alone())
            .await?;
        let sample = meter.end(&sink);
        let at_mark = sink.at_mark.ok_or("the stream ended before its mark")?;
        Ok(Long {
            sample,
            heap_at_mark: at_mark as u64,
            peak_after_mark: alloc::counters().peak as u64,
            text_after_mark: sink.text_bytes - sink.text_at_mark,
            held: sink.held,
            aggregate,
        })
    })
}

/// The process's resident memory now and at its peak, KiB (Linux; zeros elsewhere).
pub fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}
