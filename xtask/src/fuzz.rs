//! `cargo xtask fuzz`: run every cargo-fuzz target of `fuzz/` for a given time.
//!
//! Each target starts from its own corpus (`fuzz/corpus/TARGET`, kept between runs and ignored by
//! git) plus seeds made from the real captures in `tests/data` (written under `fuzz/target/seeds`,
//! read only by libFuzzer). cargo-fuzz is installed on the nightly toolchain when it is missing.
//! A crash, a panic, a leak or a time-out in any target fails the command; libFuzzer leaves the
//! input that did it under `fuzz/artifacts/TARGET`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::files::{has_ext, list, workspace_root};

/// Every target of `fuzz/Cargo.toml`, in the order they run.
pub const TARGETS: [&str; 7] = [
    "sse",
    "json_array",
    "chunk",
    "aggregate",
    "error_body",
    "interactions",
    "h1_response",
];

/// Seconds per target when `--time` is not given.
const DEFAULT_SECONDS: u64 = 60;

/// What one run of a target reported.
#[derive(Debug, Default)]
struct Summary {
    executions: Option<u64>,
    coverage: Option<u64>,
    features: Option<u64>,
    corpus: Option<u64>,
}

pub fn run(args: &[String]) -> Result<bool, String> {
    let mut seconds = DEFAULT_SECONDS;
    let mut targets: Vec<String> = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--time" => {
                let value = args.next().ok_or("--time needs a number of seconds")?;
                seconds = value
                    .parse()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("--time takes whole seconds, not {value:?}"))?;
            }
            "-h" | "--help" => {
                print!("{HELP}");
                return Ok(true);
            }
            other if other.starts_with('-') => return Err(format!("unknown option {other:?}")),
            target if TARGETS.contains(&target) => targets.push(target.to_owned()),
            other => {
                return Err(format!(
                    "unknown fuzz target {other:?} (targets: {})",
                    TARGETS.join(", ")
                ));
            }
        }
    }
    if targets.is_empty() {
        targets = TARGETS.iter().map(|t| (*t).to_owned()).collect();
    }
    ensure_cargo_fuzz()?;
    let root = workspace_root();
    let fuzz_dir = root.join("fuzz");
    let seeds = write_seeds(&root, &fuzz_dir.join("target/seeds"))?;
    let mut ok = true;
    for target in &targets {
        let corpus = fuzz_dir.join("corpus").join(target);
        std::fs::create_dir_all(&corpus)
            .map_err(|err| format!("creating {}: {err}", corpus.display()))?;
        println!("=== fuzz {target} for {seconds} s");
        let output = Command::new("cargo")
            .current_dir(&root)
            .args(["+nightly", "fuzz", "run", "--fuzz-dir"])
            .arg(&fuzz_dir)
            .arg(target)
            .arg(&corpus)
            .arg(seeds.join(seed_set(target)))
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            // One input may take at most 10 s and 2 GiB: a slower or bigger one is a finding.
            .args(["-timeout=10", "-rss_limit_mb=2048", "-print_final_stats=1"])
            .stdout(Stdio::inherit())
            .stderr(Stdio::piped())
            .output()
            .map_err(|err| format!("running cargo fuzz: {err}"))?;
        let log = String::from_utf8_lossy(&output.stderr);
        let summary = summarize(&log);
        if output.status.success() {
            println!(
                "fuzz {target}: ok, {} executions, coverage {} edges, {} features, corpus {} inputs",
                show(summary.executions),
                show(summary.coverage),
                show(summary.features),
                show(summary.corpus),
            );
        } else {
            ok = false;
            // The whole log: the finding, its stack and the artifact's path are at the end.
            eprint!("{log}");
            println!("fuzz {target}: FAILED ({})", output.status);
        }
    }
    Ok(ok)
}

const HELP: &str = "usage: cargo xtask fuzz [--time SECONDS] [TARGET]...

Runs each fuzz target (default: all of sse, json_array, chunk, aggregate, error_body,
interactions, h1_response) for SECONDS
(default 60) with libFuzzer, seeded with the real captures in tests/data. Needs the nightly
toolchain; installs cargo-fuzz on it when missing.
";

fn show(value: Option<u64>) -> String {
    value.map_or_else(|| "?".to_owned(), |v| v.to_string())
}

/// Installs cargo-fuzz on the nightly toolchain unless it is there already.
fn ensure_cargo_fuzz() -> Result<(), String> {
    let present = Command::new("cargo")
        .args(["+nightly", "fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if present {
        return Ok(());
    }
    println!("=== installing cargo-fuzz (cargo +nightly install cargo-fuzz --locked)");
    let status = Command::new("cargo")
        .args(["+nightly", "install", "cargo-fuzz", "--locked"])
        .status()
        .map_err(|err| format!("running cargo install: {err}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("installing cargo-fuzz failed ({status})"))
    }
}

/// Which seed directory a target starts from.
fn seed_set(target: &str) -> &'static str {
    match target {
        "error_body" => "errors",
        "aggregate" => "bodies",
        "interactions" => "interactions",
        "h1_response" => "responses",
        _ => "framed",
    }
}

/// Writes the seed inputs made from `tests/data` and returns their directory.
///
/// * `bodies`: every streamed capture (SSE and JSON array) as it is;
/// * `framed`: the same bodies behind the two header bytes of `fuzz_targets/split.rs` (no cut
///   points, no size limit), for the targets that split their input;
/// * `errors`: every error capture, and the unary bodies, behind a status selector byte;
/// * `interactions`: every Interactions API capture framed as Google sends it (`event:` and
///   `data:` lines), behind the two header bytes;
/// * `responses`: every streamed capture as the body of an HTTP/1.1 response (by turns with a
///   `Content-Length`, chunked, or until the close), behind its two-byte cut point.
fn write_seeds(root: &Path, dir: &Path) -> Result<PathBuf, String> {
    let captures = root.join("tests/data/real-captures");
    let mut streamed = Vec::new();
    for sub in ["stream-sse", "stream-jsonarray"] {
        streamed.extend(list(&captures.join(sub), |p| !has_ext(p, "md"))?);
    }
    let errors = list(&captures.join("errors"), |p| has_ext(p, "json"))?;
    let unary = list(&captures.join("nonstream"), |p| has_ext(p, "json"))?;
    for (set, files, header) in [
        ("bodies", &streamed, None),
        ("framed", &streamed, Some(vec![0u8, 0u8])),
    ] {
        let out = dir.join(set);
        std::fs::create_dir_all(&out)
            .map_err(|err| format!("creating {}: {err}", out.display()))?;
        for file in files {
            let mut bytes = header.clone().unwrap_or_default();
            bytes.extend(read(file)?);
            write(&out, file, &bytes)?;
        }
    }
    let out = dir.join("interactions");
    std::fs::create_dir_all(&out).map_err(|err| format!("creating {}: {err}", out.display()))?;
    let interactions = list(&captures.join("interactions-api"), |p| has_ext(p, "jsonl"))?;
    for file in &interactions {
        let text = String::from_utf8_lossy(&read(file)?).into_owned();
        let mut bytes = vec![0u8, 0u8];
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let name = serde_json::from_str::<serde_json::Value>(line)
                .ok()
                .and_then(|v| v["event_type"].as_str().map(str::to_owned))
                .unwrap_or_default();
            bytes.extend(format!("event: {name}\ndata: {line}\n\n").into_bytes());
        }
        write(&out, file, &bytes)?;
    }
    let out = dir.join("responses");
    std::fs::create_dir_all(&out).map_err(|err| format!("creating {}: {err}", out.display()))?;
    for (i, file) in streamed.iter().enumerate() {
        let response = http_response(&read(file)?, i);
        // The cut point (little-endian `u16`): somewhere in the head or the body.
        let cut = u16::try_from((i * 37) % response.len().max(1)).unwrap_or(u16::MAX);
        let mut bytes = cut.to_le_bytes().to_vec();
        bytes.extend(response);
        write(&out, file, &bytes)?;
    }
    let out = dir.join("errors");
    std::fs::create_dir_all(&out).map_err(|err| format!("creating {}: {err}", out.display()))?;
    for file in errors.iter().chain(&unary) {
        // The status selector: 400 + selector % 200, taken from the file name when it has one.
        let status = file
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("error-"))
            .and_then(|n| n.get(..3))
            .and_then(|n| n.parse::<u16>().ok())
            .unwrap_or(500);
        let mut bytes = vec![u8::try_from(status.saturating_sub(400) % 200).unwrap_or(100)];
        bytes.extend(read(file)?);
        write(&out, file, &bytes)?;
    }
    Ok(dir.to_path_buf())
}

/// `body` as an HTTP/1.1 response: framed by a `Content-Length`, chunked (chunks of varying
/// sizes, an extension, a trailer) or by the close, as `turn % 3` says.
fn http_response(body: &[u8], turn: usize) -> Vec<u8> {
    let mut out = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n".to_vec();
    match turn % 3 {
        0 => {
            out.extend(format!("content-length: {}\r\n\r\n", body.len()).into_bytes());
            out.extend_from_slice(body);
        }
        1 => {
            out.extend_from_slice(b"transfer-encoding: chunked\r\n\r\n");
            for (n, chunk) in body.chunks(100 + (turn * 13) % 900).enumerate() {
                let ext = if n == 0 { ";x=1" } else { "" };
                out.extend(format!("{:x}{ext}\r\n", chunk.len()).into_bytes());
                out.extend_from_slice(chunk);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\nx-trailer: 1\r\n\r\n");
        }
        _ => {
            out.extend_from_slice(b"connection: close\r\n\r\n");
            out.extend_from_slice(body);
        }
    }
    out
}

fn read(file: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(file).map_err(|err| format!("reading {}: {err}", file.display()))
}

fn write(dir: &Path, source: &Path, bytes: &[u8]) -> Result<(), String> {
    let name = source.file_name().unwrap_or_default();
    let path = dir.join(name);
    std::fs::write(&path, bytes).map_err(|err| format!("writing {}: {err}", path.display()))
}

/// Reads libFuzzer's log: the last status line (`#N ... cov: C ft: F corp: K/...`) and the final
/// statistics (`stat::number_of_executed_units: N`).
fn summarize(log: &str) -> Summary {
    let mut summary = Summary::default();
    let field = |line: &str, name: &str| -> Option<u64> {
        let mut words = line.split_whitespace();
        words.find(|w| *w == name)?;
        words.next()?.split('/').next()?.parse().ok()
    };
    for line in log.lines() {
        if let Some(rest) = line.strip_prefix("stat::number_of_executed_units:") {
            summary.executions = rest.trim().parse().ok();
        }
        if line.starts_with('#') && line.contains(" cov: ") {
            summary.coverage = field(line, "cov:").or(summary.coverage);
            summary.features = field(line, "ft:").or(summary.features);
            summary.corpus = field(line, "corp:").or(summary.corpus);
        }
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_libfuzzer_figures() {
        let log = "INFO: seed corpus: files: 179\n\
                   #2\tINITED cov: 1020 ft: 3000 corp: 150/1200Kb exec/s: 0 rss: 60Mb\n\
                   #65536\tpulse  cov: 1100 ft: 3400 corp: 170/1300Kb lim: 4096 exec/s: 3276 rss: 80Mb\n\
                   Done 70000 runs in 21 second(s)\n\
                   stat::number_of_executed_units: 70012\n\
                   stat::peak_rss_mb:              81\n";
        let s = summarize(log);
        assert_eq!(s.executions, Some(70012));
        assert_eq!(s.coverage, Some(1100));
        assert_eq!(s.features, Some(3400));
        assert_eq!(s.corpus, Some(170));
    }

    #[test]
    fn every_target_is_in_the_fuzz_manifest() {
        let manifest = std::fs::read_to_string(workspace_root().join("fuzz/Cargo.toml")).unwrap();
        let declared: Vec<&str> = manifest
            .lines()
            .filter_map(|l| l.strip_prefix("name = \""))
            .filter_map(|l| l.strip_suffix('"'))
            .filter(|n| *n != "gemini-fuzz")
            .collect();
        let mut expected = TARGETS.to_vec();
        expected.sort_unstable();
        let mut declared = declared;
        declared.sort_unstable();
        assert_eq!(declared, expected);
    }
}
