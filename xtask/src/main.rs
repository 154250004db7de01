//! `cargo xtask <command>`: project automation.
//!
//! Commands:
//! - `bench [--quick] [--write] …`: the benchmarks against the peer clients (`bench/`).
//! - `conformance [FILE|DIR]...`: the streaming conformance suite (SSE vectors and real captures).
//! - `decode --framing sse|json-array|interactions|response|error [--split …] [--status N] FILE`:
//!   decode one body, print JSON lines.
//! - `fuzz [--time SECONDS] [TARGET]...`: run the cargo-fuzz targets (nightly; installs cargo-fuzz).
//! - `msrv`: check that no runtime dependency needs a newer Rust than the workspace's `rust-version`.
//! - `sans-io`: check that gemini-proto depends on no I/O or async crate.
//! - `no-tokio-runtime`: check that the smol and blocking builds compile no tokio runtime.

mod bench;
mod conformance;
mod decode;
mod files;
mod fuzz;
mod msrv;
mod rng;
mod runtimes;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  bench [--quick] [--write] [--out DIR] [--no-valgrind] [--no-python] [--clients a,b,…]
      Run the benchmarks against the peer clients (bench/, its own workspace): streamed requests,
      concurrent streams, a long stream, an image event, cost growth; writes results.json,
      report.md and chart.svg. `cargo xtask bench --help` says more.
  conformance [FILE|DIR]...
      Run the streaming conformance suite: every SSE vector of tests/data/sse-vectors fed whole,
      one byte at a time and at seeded random split points, and every real capture of
      tests/data/real-captures/stream-sse and stream-jsonarray decoded under several split patterns,
      and every Interactions API capture (interactions-api/*.payloads-*.jsonl) framed as SSE with
      LF, CRLF and CR line ends and decoded under the same split patterns.
      Extra arguments add vector files (*.json in the sse-vectors/1 format) or capture directories
      (*.sse bodies, or JSON-array bodies). Prints `FAIL <case>` per failure and `N passed, M failed`.
  decode --framing sse|json-array|interactions [--split N|random:SEED] FILE
  decode --framing response FILE
  decode --framing error --status N FILE
      Decode a body and print compact JSON lines: for a stream {\"chunk\": …} per chunk as it is
      decoded, at most one {\"error\": …}, and last {\"aggregate\": …, \"complete\": true|false}
      ({\"event\": …} per event and last {\"interaction\": …, \"complete\": …} for interactions);
      for a unary body {\"response\": …}; for an error body {\"error\": {\"kind\": \"api\"|\"http\", …}}.
      `cargo xtask decode --help` says more.
  fuzz [--time SECONDS] [TARGET]...
      Run every fuzz target of fuzz/ (sse, json_array, chunk, aggregate, error_body, interactions,
      h1_response), or the ones named, for SECONDS each (default 60), seeded with the real
      captures. Needs the nightly toolchain; installs cargo-fuzz on it when missing. Fails on any
      crash, panic or time-out.
  msrv
      Check that every runtime dependency of the published crates needs at most the workspace's
      rust-version.
  sans-io
      Check that gemini-proto's runtime dependency graph holds no I/O or async-runtime crate.
  no-tokio-runtime
      Check that the smol and blocking builds of gemini-transport and gemini compile no tokio
      runtime, reactor, timer or sockets (hyper and h2 need only tokio's sync and io-util), and
      that the same check flags the tokio builds.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = match command.as_str() {
        "bench" => bench::run(rest),
        "conformance" => conformance::run(rest),
        "decode" => decode::run(rest),
        "fuzz" => fuzz::run(rest),
        "msrv" => msrv::run(rest),
        "sans-io" => msrv::run_sans_io(rest),
        "no-tokio-runtime" => runtimes::run(rest),
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            Ok(true)
        }
        other => Err(format!("unknown command {other:?}\n\n{USAGE}")),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}
