//! What a client run records: per-request samples, and what a consumer saw of one stream.

use std::time::{Duration, Instant};

use cpu_time::ProcessTime;
use serde::{Deserialize, Serialize};

use crate::alloc;

/// What the consumer of one stream saw.
#[derive(Debug, Default)]
pub struct Sink {
    /// Chunks (events with content) consumed.
    pub chunks: u64,
    /// Bytes of text (or image data) consumed.
    pub text_bytes: u64,
    /// When the first chunk arrived.
    pub first: Option<Instant>,
    /// Bytes of content the client still holds for the caller when the stream ended (its
    /// aggregate), as opposed to its own overhead.
    pub held: u64,
    /// After this many chunks, the heap in use is noted and a new peak is started (long
    /// streams: memory after warm-up).
    pub mark_after: Option<u64>,
    /// The heap in use at the mark.
    pub at_mark: Option<usize>,
    /// Text consumed up to the mark.
    pub text_at_mark: u64,
}

impl Sink {
    /// A sink that marks the heap after `chunks` chunks.
    pub fn marking(chunks: u64) -> Self {
        Self {
            mark_after: Some(chunks),
            ..Self::default()
        }
    }

    /// Records one chunk carrying `text` bytes of content.
    #[inline]
    pub fn chunk(&mut self, text: usize) {
        if self.first.is_none() {
            self.first = Some(Instant::now());
        }
        self.chunks += 1;
        self.text_bytes += text as u64;
        if self.mark_after == Some(self.chunks) {
            self.at_mark = Some(alloc::counters().in_use);
            self.text_at_mark = self.text_bytes;
            alloc::reset_peak();
        }
    }
}

/// One streamed request.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Sample {
    /// Wall time, ns.
    pub wall: u64,
    /// CPU time of the client process (every thread), ns.
    pub cpu: u64,
    /// Time to the first chunk, ns.
    pub ttfc: u64,
    /// Allocations (Rust clients).
    pub allocations: u64,
    /// Bytes allocated (Rust clients).
    pub allocated: u64,
    /// The most heap in use during the request beyond what was in use before it, bytes.
    pub peak: u64,
    /// Chunks consumed.
    pub chunks: u64,
    /// Bytes of text consumed.
    pub text_bytes: u64,
}

/// Takes a [`Sample`] around one request.
#[derive(Debug)]
pub struct Meter {
    start: Instant,
    cpu: ProcessTime,
    counters: alloc::Counters,
}

impl Meter {
    /// Starts measuring.
    pub fn start() -> Self {
        alloc::reset_peak();
        Self {
            counters: alloc::counters(),
            cpu: ProcessTime::now(),
            start: Instant::now(),
        }
    }

    /// Ends the measurement of a request whose consumer saw `sink`.
    pub fn end(self, sink: &Sink) -> Sample {
        let wall = self.start.elapsed();
        let cpu = self.cpu.elapsed();
        let counters = alloc::counters();
        Sample {
            wall: nanos(wall),
            cpu: nanos(cpu),
            ttfc: sink.first.map_or(0, |t| nanos(t - self.start)),
            allocations: counters.allocations - self.counters.allocations,
            allocated: counters.allocated - self.counters.allocated,
            peak: counters.peak.saturating_sub(self.counters.in_use) as u64,
            chunks: sink.chunks,
            text_bytes: sink.text_bytes,
        }
    }
}

fn nanos(d: Duration) -> u64 {
    d.as_nanos() as u64
}

/// The value at quantile `q` (0.5: the median) of `values`, by nearest rank.
///
/// ```
/// assert_eq!(gemini_bench::measure::quantile(&[5, 1, 3], 0.5), 3);
/// assert_eq!(gemini_bench::measure::quantile(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.99), 10);
/// ```
pub fn quantile(values: &[u64], q: f64) -> u64 {
    if values.is_empty() {
        return 0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}
