//! `gemini-bench run`: starts the server, runs every client in its own process, collects the
//! results, writes `results.json`, the report and the chart.
//!
//! Each client measurement is a child process (`gemini-bench client …`, or the Python script),
//! so that allocation counters, peak memory and callgrind see one client only; the server is
//! another process, on a core of its own where the machine has more than one.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::clients::{Kind, Long, Round};
use crate::measure::{Sample, quantile};
use crate::report;
use crate::results::{Concurrent, Growth, LongStream, Machine, Requests, Results};

/// The pinned version of the official Python SDK.
pub const GOOGLE_GENAI: &str = "3.6.1";

/// How much of everything to do.
#[derive(Debug, Clone)]
struct Settings {
    quick: bool,
    passes: usize,
    valgrind: bool,
    python: bool,
    clients: Vec<Kind>,
    /// Where results, the report and the chart go.
    out: PathBuf,
    /// Also write them into the repository (`bench/results`, `BENCHMARKS.md`).
    write: bool,
}

impl Settings {
    /// Measured requests per pass for a stream of `events`: the run's total for the client
    /// and size, spread over the passes.
    fn requests(&self, kind: Kind, events: usize) -> usize {
        let full = match events {
            0..=50 => 4500,
            51..=500 => 1200,
            _ => 150,
        };
        let python = match events {
            0..=50 => 180,
            51..=500 => 60,
            _ => 12,
        };
        let total: usize = if kind == Kind::Python { python } else { full };
        let total = if self.quick { total / 5 } else { total };
        total.div_ceil(self.passes).max(2)
    }

    fn long_bytes(&self) -> u64 {
        if self.quick { 64 << 20 } else { 1 << 30 }
    }

    fn concurrency(&self, kind: Kind) -> Vec<usize> {
        match kind {
            Kind::Python if self.quick => vec![1, 100],
            _ => vec![1, 100, 1000],
        }
    }
}

const USAGE: &str = "usage: gemini-bench run [--quick] [--out DIR] [--write] [--no-valgrind] [--no-python] [--clients a,b,…]

Runs every benchmark against a local server: streamed requests of 20, 200 and 2000 events for
each client, concurrent streams, a long stream, an 8 MiB image event and cost growth; writes
results.json, report.md and chart.svg to DIR (default: the target directory's gemini-bench/).
--write also copies them to bench/results/ and the report into BENCHMARKS.md.
Clients: gemini-tokio, gemini-smol, gemini-blocking, gemini-rust, genai, async-openai, python.
";

/// Runs everything `args` asks for.
pub fn run(args: &[String]) -> Result<(), String> {
    let started = Instant::now();
    let mut settings = Settings {
        quick: false,
        // Many short passes rather than a few long ones: this machine's speed drifts over
        // seconds (shared hosts), and every client should see the same drift.
        passes: 9,
        valgrind: true,
        python: true,
        clients: Kind::ALL.to_vec(),
        out: target_dir().join("gemini-bench"),
        write: false,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => {
                settings.quick = true;
                settings.passes = 3;
            }
            "--write" => settings.write = true,
            "--no-valgrind" => settings.valgrind = false,
            "--no-python" => settings.python = false,
            "--out" => settings.out = PathBuf::from(args.next().ok_or("--out needs a directory")?),
            "--clients" => {
                let list = args.next().ok_or("--clients needs a list")?;
                settings.clients = list
                    .split(',')
                    .map(|name| Kind::from_arg(name).ok_or(format!("unknown client {name:?}")))
                    .collect::<Result<_, _>>()?;
            }
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown option {other:?}\n\n{USAGE}")),
        }
    }
    std::fs::create_dir_all(&settings.out).map_err(|e| e.to_string())?;

    let mut results = Results {
        command: command_line(),
        quick: settings.quick,
        ..Results::default()
    };
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    results.machine = machine(cores.len() >= 2);
    let (server_core, client_core) = match cores.as_slice() {
        [first, .., last] => (Some(last.id), Some(first.id)),
        _ => (None, None),
    };

    let python = if settings.python && settings.clients.contains(&Kind::Python) {
        match python_env() {
            Ok((python, version)) => {
                results.machine.python = version;
                Some(python)
            }
            Err(error) => {
                results
                    .notes
                    .push(format!("The Python SDK was not measured: {error}."));
                None
            }
        }
    } else {
        None
    };
    if settings.valgrind && !valgrind_available() {
        settings.valgrind = false;
        results
            .notes
            .push("valgrind is not installed: no instruction counts.".into());
    }
    let clients: Vec<Kind> = settings
        .clients
        .iter()
        .copied()
        .filter(|k| *k != Kind::Python || python.is_some())
        .collect();
    let runner = Runner {
        server: Server::start(server_core)?,
        client_core,
        python,
    };

    // Streamed requests: every client, every size, in passes that alternate the order.
    eprintln!("== streamed requests");
    let sizes = [20, 200, 2000];
    let mut samples: BTreeMap<(usize, usize), Collected> = BTreeMap::new();
    for pass in 0..settings.passes {
        for &events in &sizes {
            let mut order = clients.clone();
            if pass % 2 == 1 {
                order.reverse();
            }
            for kind in order {
                let index = Kind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
                let entry = samples.entry((events, index)).or_default();
                if entry.failed.is_some() {
                    continue;
                }
                let requests = settings.requests(kind, events);
                let server_before = runner.server.cpu();
                match runner.requests(
                    kind,
                    &events.to_string(),
                    requests,
                    timeout(&settings, requests, events),
                ) {
                    Ok(mut new) => {
                        entry.server_cpu += runner.server.cpu().saturating_sub(server_before);
                        eprintln!(
                            "   {:<22} {events:>5} events: median CPU {:>9.1} µs",
                            kind.name(),
                            quantile(&new.iter().map(|s| s.cpu).collect::<Vec<_>>(), 0.5) as f64
                                / 1e3
                        );
                        entry.samples.append(&mut new);
                    }
                    Err(error) => {
                        eprintln!("   {:<22} {events:>5} events: {error}", kind.name());
                        entry.failed = Some(error);
                    }
                }
            }
        }
    }
    for ((events, index), collected) in samples {
        let kind = Kind::ALL[index];
        let mut row = summarize(kind, events, &collected.samples, collected.failed);
        row.server_cpu = collected.server_cpu / collected.samples.len().max(1) as u64;
        results.requests.push(row);
    }

    if settings.valgrind {
        eprintln!("== instructions (callgrind)");
        let sizes: &[usize] = if settings.quick { &[200] } else { &sizes };
        for &events in sizes {
            for &kind in &clients {
                if kind == Kind::Python && (settings.quick || events != 200) {
                    continue;
                }
                let per_request = runner.instructions(kind, &events.to_string(), settings.quick);
                eprintln!(
                    "   {:<22} {events:>5} events: {}",
                    kind.name(),
                    per_request.as_ref().map_or_else(
                        |e| e.clone(),
                        |n| format!("{:.0} per event", *n as f64 / events as f64)
                    )
                );
                if let Some(row) = results
                    .requests
                    .iter_mut()
                    .find(|r| r.client == kind && r.events == events)
                {
                    row.instructions = per_request.ok();
                }
            }
        }
    }

    eprintln!("== concurrent streams");
    for &kind in &clients {
        if kind == Kind::GeminiBlocking {
            continue;
        }
        for concurrency in settings.concurrency(kind) {
            // The Python SDK's rounds take minutes at a thousand streams: one after the warm-up.
            let rounds = if settings.quick || kind == Kind::Python {
                1
            } else {
                3
            };
            let row = match runner.concurrent(kind, concurrency, rounds) {
                Ok(round) => concurrent_row(kind, &round),
                Err(error) => Concurrent {
                    client: kind,
                    concurrency,
                    events_per_second: 0.0,
                    cpu_per_event: 0.0,
                    errors: concurrency as u64,
                    peak_heap_per_stream: 0,
                    held_per_stream: 0,
                    rss_per_stream: 0,
                    failed: Some(error),
                },
            };
            eprintln!(
                "   {:<22} {concurrency:>5} streams: {:>10.0} events/s, {} errors",
                kind.name(),
                row.events_per_second,
                row.errors
            );
            results.concurrent.push(row);
        }
    }

    eprintln!("== long stream");
    for aggregate in [false, true] {
        match runner.long(settings.long_bytes(), aggregate) {
            Ok(long) => {
                eprintln!(
                    "   aggregation {}: {:.1} s, heap {} B after 1%, peak {} B after that",
                    if aggregate { "on" } else { "off" },
                    long.sample.wall as f64 / 1e9,
                    long.heap_at_mark,
                    long.peak_after_mark
                );
                results.long.push(LongStream {
                    bytes: settings.long_bytes(),
                    aggregate,
                    events: long.sample.chunks,
                    wall: long.sample.wall,
                    cpu: long.sample.cpu,
                    heap_at_mark: long.heap_at_mark,
                    peak_after_mark: long.peak_after_mark,
                    content_after_mark: long.text_after_mark,
                    held: long.held,
                })
            }
            Err(error) => results
                .notes
                .push(format!("The long stream failed: {error}.")),
        }
    }

    eprintln!("== one 8 MiB image event");
    let image_requests = if settings.quick { 2 } else { 6 };
    for &kind in &clients {
        let limit = Duration::from_secs(if settings.quick { 30 } else { 120 });
        let row = match runner.requests(kind, "image", image_requests, limit) {
            Ok(samples) => summarize(kind, 0, &samples, None),
            Err(error) => summarize(kind, 0, &[], Some(error)),
        };
        eprintln!(
            "   {:<22} {}",
            kind.name(),
            row.failed
                .clone()
                .unwrap_or_else(|| format!("{:.1} ms", row.wall as f64 / 1e6))
        );
        results.image.push(row);
    }

    eprintln!("== cost growth (gemini-rs/tokio)");
    for events in [10, 100, 1000, 10000] {
        let requests = match events {
            10 => 2000,
            100 => 500,
            1000 => 60,
            _ => 8,
        } / if settings.quick { 4 } else { 1 };
        let samples = runner.requests(
            Kind::GeminiTokio,
            &events.to_string(),
            requests,
            timeout(&settings, requests, events),
        )?;
        let instructions = if settings.valgrind {
            runner
                .instructions(Kind::GeminiTokio, &events.to_string(), settings.quick)
                .ok()
        } else {
            None
        };
        let cpu = quantile(&samples.iter().map(|s| s.cpu).collect::<Vec<_>>(), 0.5);
        let wall = quantile(&samples.iter().map(|s| s.wall).collect::<Vec<_>>(), 0.5);
        eprintln!(
            "   {events:>6} events: {:.2} µs CPU per event",
            cpu as f64 / events as f64 / 1e3
        );
        results.growth.push(Growth {
            events,
            cpu,
            wall,
            instructions,
        });
    }
    drop(runner);

    results.machine.load.1 = load_average();
    let json = serde_json::to_string_pretty(&results).map_err(|e| e.to_string())?;
    let report = report::markdown(&results);
    let chart = report::chart(&results);
    let write = |dir: &Path| -> Result<(), String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("results.json"), &json).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("report.md"), &report).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("chart.svg"), &chart).map_err(|e| e.to_string())
    };
    write(&settings.out)?;
    if settings.write {
        let root = repository_root();
        write(&root.join("bench/results"))?;
        report::update_benchmarks_md(&root.join("BENCHMARKS.md"), &report)?;
    }
    println!("{report}");
    eprintln!(
        "results in {} ({:.0} s)",
        settings.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The time a run of `requests` requests of `events` events may take.
fn timeout(settings: &Settings, requests: usize, events: usize) -> Duration {
    let per_request = Duration::from_micros(200 + 400 * events as u64);
    Duration::from_secs(if settings.quick { 60 } else { 120 }) + per_request * requests as u32
}

fn summarize(kind: Kind, events: usize, samples: &[Sample], failed: Option<String>) -> Requests {
    let median =
        |field: fn(&Sample) -> u64| quantile(&samples.iter().map(field).collect::<Vec<_>>(), 0.5);
    Requests {
        client: kind,
        events,
        requests: samples.len(),
        wall: median(|s| s.wall),
        wall_p99: quantile(&samples.iter().map(|s| s.wall).collect::<Vec<_>>(), 0.99),
        cpu: median(|s| s.cpu),
        ttfc: median(|s| s.ttfc),
        allocations: median(|s| s.allocations),
        allocated: median(|s| s.allocated),
        peak: median(|s| s.peak),
        instructions: None,
        server_cpu: 0,
        failed,
    }
}

fn concurrent_row(kind: Kind, round: &Round) -> Concurrent {
    let streams = round.concurrency.max(1) as u64;
    Concurrent {
        client: kind,
        concurrency: round.concurrency,
        events_per_second: round.events as f64 / (round.wall as f64 / 1e9),
        cpu_per_event: round.cpu as f64 / round.events.max(1) as f64,
        errors: round.errors,
        peak_heap_per_stream: round.peak_heap / streams,
        held_per_stream: round.held / streams,
        rss_per_stream: round.rss_growth_kib * 1024 / streams,
        failed: None,
    }
}

/// The samples of one client and workload over the passes.
#[derive(Debug, Default)]
struct Collected {
    samples: Vec<Sample>,
    /// The server's CPU time during them, ns.
    server_cpu: u64,
    /// Why a pass failed.
    failed: Option<String>,
}

/// What a client process prints.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Output {
    Samples { samples: Vec<Sample> },
    Rounds { rounds: Vec<Round> },
    Long { long: Long },
}

/// Runs client processes against the server.
struct Runner {
    server: Server,
    client_core: Option<usize>,
    /// The virtual environment's Python, when the Python SDK is measured.
    python: Option<PathBuf>,
}

impl Runner {
    /// The command that runs `kind` with `args`.
    fn command(&self, kind: Kind, args: &[String], pinned: bool) -> Command {
        let mut command = match (kind, &self.python) {
            (Kind::Python, Some(python)) => {
                let mut command = Command::new(python);
                command.arg(repository_root().join("bench/python/client.py"));
                command
            }
            _ => {
                let mut command = Command::new(std::env::current_exe().expect("own path"));
                command.args(["client", kind.arg()]);
                command
            }
        };
        command.args(["--port", &self.server.port.to_string()]);
        command.args(args);
        if let (true, Some(core), Kind::Python) = (pinned, self.client_core, kind) {
            // The script cannot pin itself; taskset does, where it is installed.
            if Path::new("/usr/bin/taskset").exists() {
                let mut pinned = Command::new("/usr/bin/taskset");
                pinned.args(["-c", &core.to_string()]);
                pinned.arg(command.get_program());
                pinned.args(command.get_args());
                return pinned;
            }
        }
        if let (true, Some(core)) = (pinned, self.client_core)
            && kind != Kind::Python
        {
            command.args(["--core", &core.to_string()]);
        }
        command
    }

    fn output(&self, command: Command, limit: Duration) -> Result<Output, String> {
        let stdout = run_with_timeout(command, limit)?.0;
        serde_json::from_str(&stdout)
            .map_err(|e| format!("unreadable client output ({e}): {stdout}"))
    }

    fn requests(
        &self,
        kind: Kind,
        workload: &str,
        requests: usize,
        limit: Duration,
    ) -> Result<Vec<Sample>, String> {
        let warmup = (requests / 10).clamp(1, 50);
        let args = request_args(workload, warmup, requests);
        match self.output(self.command(kind, &args, true), limit)? {
            Output::Samples { samples } => Ok(samples),
            _ => Err("unexpected client output".into()),
        }
    }

    fn concurrent(&self, kind: Kind, concurrency: usize, rounds: usize) -> Result<Round, String> {
        let args = [
            "--mode",
            "concurrent",
            "--workload",
            "200",
            "--concurrency",
            &concurrency.to_string(),
            "--rounds",
            &rounds.to_string(),
        ]
        .map(String::from);
        match self.output(self.command(kind, &args, true), Duration::from_secs(900))? {
            // The median round by events per second.
            Output::Rounds { mut rounds } => {
                rounds.sort_by_key(|r| r.wall * 1000 / r.events.max(1));
                rounds
                    .get(rounds.len() / 2)
                    .copied()
                    .ok_or("no round".into())
            }
            _ => Err("unexpected client output".into()),
        }
    }

    fn long(&self, bytes: u64, aggregate: bool) -> Result<Long, String> {
        let mut args = vec![
            "--mode".into(),
            "long".into(),
            "--workload".into(),
            format!("long-{bytes}"),
        ];
        if !aggregate {
            args.push("--no-aggregate".into());
        }
        match self.output(
            self.command(Kind::GeminiTokio, &args, true),
            Duration::from_secs(900),
        )? {
            Output::Long { long } => Ok(long),
            _ => Err("unexpected client output".into()),
        }
    }

    /// Instructions per request: callgrind's count for 2k requests minus its count for k, over
    /// k (start-up, warm-up and the first connection cancel out).
    fn instructions(&self, kind: Kind, workload: &str, quick: bool) -> Result<u64, String> {
        let events: u64 = workload.parse().unwrap_or(200);
        let k: u64 = match (kind, quick) {
            (Kind::Python, _) => 3,
            (_, true) => (1000 / events).clamp(2, 10),
            (_, false) => (4000 / events).clamp(3, 40),
        };
        let count = |requests: u64| -> Result<u64, String> {
            let args = request_args(workload, 2, requests as usize);
            let inner = self.command(kind, &args, false);
            let mut command = Command::new("valgrind");
            command.args(["--tool=callgrind", "--callgrind-out-file=/dev/null"]);
            command.arg(inner.get_program());
            command.args(inner.get_args());
            let (_, stderr) = run_with_timeout(command, Duration::from_secs(1800))?;
            stderr
                .lines()
                .find_map(|line| line.split("Collected :").nth(1))
                .and_then(|n| n.trim().parse().ok())
                .ok_or_else(|| format!("no instruction count from callgrind: {stderr}"))
        };
        let once = count(k)?;
        let twice = count(2 * k)?;
        Ok(twice.saturating_sub(once) / k)
    }
}

/// The arguments of a client run of `requests` requests after `warmup`.
fn request_args(workload: &str, warmup: usize, requests: usize) -> Vec<String> {
    [
        "--mode",
        "requests",
        "--workload",
        workload,
        "--warmup",
        &warmup.to_string(),
        "--requests",
        &requests.to_string(),
    ]
    .map(String::from)
    .to_vec()
}

/// Runs `command` to its end or until `limit`, returning its stdout and stderr.
fn run_with_timeout(mut command: Command, limit: Duration) -> Result<(String, String), String> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting {:?}: {e}", command.get_program()))?;
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("timed out after {} s", limit.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (stdout, stderr) = (
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    );
    if !status.success() {
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(format!("failed ({status}): {last}"));
    }
    Ok((stdout, stderr))
}

/// The server process; killed when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(core: Option<usize>) -> Result<Self, String> {
        let mut command = Command::new(std::env::current_exe().map_err(|e| e.to_string())?);
        command.arg("serve");
        if let Some(core) = core {
            command.args(["--core", &core.to_string()]);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("starting the server: {e}"))?;
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().expect("piped"))
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        let port = line
            .trim()
            .parse()
            .map_err(|_| format!("the server said {line:?} instead of its port"))?;
        Ok(Self { child, port })
    }

    /// The server's CPU time so far, ns, every thread (Linux's schedstat; 0 elsewhere).
    fn cpu(&self) -> u64 {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{}/task", self.child.id())) else {
            return 0;
        };
        tasks
            .flatten()
            .filter_map(|task| {
                let stat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
                stat.split_whitespace().next()?.parse::<u64>().ok()
            })
            .sum()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The target directory: `CARGO_TARGET_DIR`, else `target/` at the repository root.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repository_root().join("target"))
}

/// The repository root: the parent of this crate's directory.
pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("bench/ has a parent")
        .to_path_buf()
}

fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    format!(
        "cargo xtask bench {}",
        args.iter().skip(1).cloned().collect::<Vec<_>>().join(" ")
    )
    .trim_end()
    .to_owned()
}

/// A virtual environment with the pinned google-genai: its Python and the version line.
fn python_env() -> Result<(PathBuf, String), String> {
    let dir = target_dir().join("bench-venv");
    let python = dir.join("bin/python");
    let installed = Command::new(&python)
        .args(["-c", "import google.genai as g; print(g.__version__)"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if installed.as_deref() != Some(GOOGLE_GENAI) {
        eprintln!(
            "== installing google-genai {GOOGLE_GENAI} into {}",
            dir.display()
        );
        let status = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&dir)
            .status()
            .map_err(|e| format!("python3 -m venv: {e}"))?;
        if !status.success() {
            return Err("python3 -m venv failed".into());
        }
        let status = Command::new(dir.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .arg(format!("google-genai=={GOOGLE_GENAI}"))
            .status()
            .map_err(|e| format!("pip: {e}"))?;
        if !status.success() {
            return Err(format!("pip install google-genai=={GOOGLE_GENAI} failed"));
        }
    }
    let version = Command::new(&python)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    Ok((python, format!("{version}, google-genai {GOOGLE_GENAI}")))
}

fn valgrind_available() -> bool {
    Command::new("valgrind")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

fn machine(pinned: bool) -> Machine {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")?
                .split_once(':')
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
    let memory_kib: u64 = read("/proc/meminfo")
        .lines()
        .find_map(|l| {
            l.strip_prefix("MemTotal:")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0);
    let output = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default()
    };
    Machine {
        date: output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        cpu,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        memory_gib: memory_kib.div_ceil(1 << 20),
        kernel: read("/proc/sys/kernel/osrelease").trim().to_owned(),
        rustc: output("rustc", &["--version"]),
        python: String::new(),
        load: (load_average(), 0.0),
        pinned,
    }
}
