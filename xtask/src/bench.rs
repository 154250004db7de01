//! `cargo xtask bench`: the benchmark suite against the peer clients (`bench/`, a workspace of
//! its own so that `cargo test --workspace` never builds the peers).
//!
//! Builds `gemini-bench` in release mode and runs `gemini-bench run` with the given options;
//! see `bench/README.md`.

use std::process::Command;

use crate::files::workspace_root;

pub fn run(args: &[String]) -> Result<bool, String> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{HELP}");
        return Ok(true);
    }
    let root = workspace_root();
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(&root)
        .args(["run", "--release", "--locked", "--quiet", "--manifest-path"])
        .arg(root.join("bench/Cargo.toml"))
        .args(["--bin", "gemini-bench", "--", "run"])
        .args(args)
        .status()
        .map_err(|err| format!("running cargo: {err}"))?;
    Ok(status.success())
}

const HELP: &str = "usage: cargo xtask bench [--quick] [--write] [--out DIR] [--no-valgrind] [--no-python] [--clients a,b,…]

Streams from a local server that sends pre-rendered answers, with gemini-rs (tokio, smol,
blocking), gemini-rust, genai, async-openai (OpenAI-compatible route) and the official Python SDK
(installed into a virtual environment under the target directory): streamed requests of 20, 200
and 2000 events, 1/100/1000 concurrent streams, a long stream, an 8 MiB image event and cost
growth. Instruction counts come from valgrind's callgrind when it is installed.

  --quick        fewer requests and a 64 MiB long stream (a few minutes once built)
  --write        also write bench/results/ and the report section of BENCHMARKS.md
  --out DIR      where results.json, report.md and chart.svg go (default: target/gemini-bench)
  --no-valgrind  skip instruction counts
  --no-python    skip the Python SDK
  --clients      only these: gemini-tokio, gemini-smol, gemini-blocking, gemini-rust, genai,
                 async-openai, python
";
