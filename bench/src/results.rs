//! The results of one `gemini-bench run`, as written to `results.json` and read by the report.

use serde::{Deserialize, Serialize};

use crate::clients::Kind;

/// Everything one run measured.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Results {
    /// Where and when.
    pub machine: Machine,
    /// The command that produced these results.
    pub command: String,
    /// `--quick`: fewer requests, a shorter long stream.
    pub quick: bool,
    /// Streamed requests one after another.
    pub requests: Vec<Requests>,
    /// Concurrent streams on one client.
    pub concurrent: Vec<Concurrent>,
    /// One long stream, with and without aggregation.
    pub long: Vec<LongStream>,
    /// One 8 MiB image event.
    pub image: Vec<Requests>,
    /// Cost per event as streams grow (gemini-rs on tokio).
    pub growth: Vec<Growth>,
    /// What was skipped, and why.
    pub notes: Vec<String>,
}

/// The machine and the moment.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Machine {
    /// UTC date and time of the start of the run.
    pub date: String,
    /// CPU model.
    pub cpu: String,
    /// Logical CPUs available.
    pub cores: usize,
    /// Memory, GiB.
    pub memory_gib: u64,
    /// Kernel release.
    pub kernel: String,
    /// `rustc --version`.
    pub rustc: String,
    /// Python version, when the Python SDK was measured.
    pub python: String,
    /// 1-minute load average at the start and the end: other work on the machine.
    pub load: (f64, f64),
    /// Whether the server and the clients ran on cores of their own.
    pub pinned: bool,
}

/// Summary of streamed requests of one client and one workload.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Requests {
    /// The client.
    pub client: Kind,
    /// Events per stream (0 for the image event).
    pub events: usize,
    /// Measured requests.
    pub requests: usize,
    /// Wall time per request, median, ns.
    pub wall: u64,
    /// Wall time per request, 99th percentile, ns.
    pub wall_p99: u64,
    /// CPU time of the client process per request, median, ns.
    pub cpu: u64,
    /// Time to first chunk, median, ns.
    pub ttfc: u64,
    /// Allocations per request, median (Rust clients).
    pub allocations: u64,
    /// Bytes allocated per request, median (Rust clients).
    pub allocated: u64,
    /// Peak heap beyond what was in use before the request, median, bytes (Rust clients).
    pub peak: u64,
    /// Instructions per request (callgrind, client process only), when measured.
    pub instructions: Option<u64>,
    /// CPU time the server spent per request, ns.
    pub server_cpu: u64,
    /// Why the client has no figures (a time-out, an error), if it has none.
    pub failed: Option<String>,
}

/// Concurrent streams of one client.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Concurrent {
    /// The client.
    pub client: Kind,
    /// Streams at once.
    pub concurrency: usize,
    /// Events per second, all streams together.
    pub events_per_second: f64,
    /// Client CPU per event, ns.
    pub cpu_per_event: f64,
    /// Streams that failed.
    pub errors: u64,
    /// Peak heap per stream beyond the heap before the round, bytes (Rust clients).
    pub peak_heap_per_stream: u64,
    /// Content held per stream at the end (gemini-rs's aggregate), bytes.
    pub held_per_stream: u64,
    /// Growth of resident memory per stream, bytes.
    pub rss_per_stream: u64,
    /// Why the client has no figures, if it has none.
    pub failed: Option<String>,
}

/// One long stream.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LongStream {
    /// Bytes of events sent.
    pub bytes: u64,
    /// Whether the stream was aggregated.
    pub aggregate: bool,
    /// Events consumed.
    pub events: u64,
    /// Wall time, ns.
    pub wall: u64,
    /// Client CPU time, ns.
    pub cpu: u64,
    /// Heap in use after 1% of the stream, bytes.
    pub heap_at_mark: u64,
    /// The most heap in use from then on, bytes.
    pub peak_after_mark: u64,
    /// Content consumed after the mark, bytes.
    pub content_after_mark: u64,
    /// Content the aggregate held at the end, bytes.
    pub held: u64,
}

/// Cost per event of streams of one length.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Growth {
    /// Events per stream.
    pub events: usize,
    /// CPU per request, median, ns.
    pub cpu: u64,
    /// Wall per request, median, ns.
    pub wall: u64,
    /// Instructions per request (callgrind), when measured.
    pub instructions: Option<u64>,
}
