//! `gemini-emulator`: serve the emulated Gemini API until stopped.
#![forbid(unsafe_code)]

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use gemini_emulator::{Emulator, EmulatorConfig, Fault, FaultSpec, KeyRule, Pace, limits};

const HELP: &str = "\
gemini-emulator: a local server that speaks the Gemini REST API the way Google does.

USAGE:
    gemini-emulator [OPTIONS]

Prints the base URL (http://HOST:PORT, or https:// with --tls) on the first line of standard
output, then serves until the process is stopped (Ctrl-C). Point a client's base-URL option at that URL; any non-empty
API key is accepted unless --key is given.

OPTIONS:
    --host IP          Address to listen on [default: 127.0.0.1]
    --port N           Port to listen on; 0 picks a free one [default: 0]
    --pace PACE        Output pace: `none` (no delay), `realistic` (400ms to the first chunk,
                       then 200 tokens/s) or `TTFC,TPS`, e.g. `300ms,150` [default: realistic]
    --fault SPEC       Faults applied to every request (grammar below)
    --key KEY          Accept only this API key (repeat for several); others get 400
                       API_KEY_INVALID. A request without a key always gets 403.
    --replay DIR       Directory of recorded bodies (*.sse, *.json, optional MANIFEST.jsonl)
    --threads N        Runtime worker threads, 1 to 256 [default: 2]
    --no-record        Do not keep received requests in memory
    --hop-tokens N     Cap every request at N output tokens, as Gemini caps long answers
                       (65536 per streamed request): the request ends with CONTINUATION and a
                       continuation token; the same request with the token goes on [default: none]
    --checkpoint-every N
                       A checkpoint (a continuation token, no finish reason) every N events of
                       a stream [default: none]
    --tls              Serve HTTPS: HTTP/2 or HTTP/1.1 by ALPN, with a certificate for localhost,
                       127.0.0.1 and ::1 signed by a certificate authority made at start
    --tls-ca-out FILE  With --tls: write that authority's certificate (PEM) to FILE, for
                       clients to trust (e.g. SSL_CERT_FILE=FILE)
    -h, --help         Print this help
    -V, --version      Print the version

ENDPOINTS (under /v1beta and /v1):
    POST models/{model}:generateContent
    POST models/{model}:streamGenerateContent[?alt=sse]   (SSE with alt=sse, JSON array without)
    POST models/{model}:countTokens
    POST models/{model}:embedContent
    POST models/{model}:batchEmbedContents
    GET  models[?pageSize=N&pageToken=T]
    GET  models/{model}

FAULTS:
    Per request with the header `x-emulator-fault: SPEC`, or with a model name suffix
    `models/gemini-2.5-flash@SPEC` (URL-encode it if your client needs), or for every request
    with --fault. SPEC is a `;`-separated list of items. N counts events already sent.

    http=CODE[:DELAY]              HTTP error with Google's body (400 403 404 429 500 503 ...);
                                   429 carries RetryInfo(DELAY, default 30s) and Retry-After
    fail-first=N[:CODE]            first N attempts fail with CODE (default 503), then succeed;
                                   attempts are counted per `x-emulator-scenario` header value,
                                   or per (path, spec, body) without it
    json-error-after=N[:CODE]      raw pretty-printed JSON error after N events, then end
    sse-error-after=N[:CODE]       `data: {\"error\": ...}` event after N events, then end
    close-after-events=N[,reset]   close the connection after N events (FIN, or RST)
    close-after-bytes=N[,reset]    close the connection after N body bytes
    stall-after=N:DURATION         send nothing for DURATION after N events, then go on
    drip=INTERVAL[:BYTES]          write the body BYTES (default 1) at a time, INTERVAL apart
    oversized-event=N:SIZE         event N (0-based) padded to SIZE (e.g. 8MiB, 300KiB, 1000)
    malformed-after=N              one event with truncated JSON after N events, then go on
    framing=lf|cr|crlf             SSE event separator (Google: crlf)
    byte-writes                    every byte of the response in its own write
    block-prompt[=REASON]          200 with promptFeedback.blockReason (default SAFETY)
    safety-after=N                 finish with a SAFETY candidate after N events
    tokens=N                       (directive) make the answer about N tokens long
    hop-tokens=N                   (directive) at most N output tokens per request; the rest
                                   follows with the continuation token (see --hop-tokens)
    checkpoint-every=N             (directive) a checkpoint token every N events
    drop=WHERE[@HOP][xTIMES]       close the connection of the first TIMES attempts (default 1)
                                   of hop HOP (default 1) at WHERE: prefill (before any event),
                                   before-checkpoint, after-checkpoint (right after the first),
                                   between-checkpoints (one event after the first)
    resume-error=CODE[xTIMES]      the first TIMES requests carrying a continuation token get
                                   HTTP CODE (default once)
    DURATION: 250us, 10ms, 5s, 1.5s, 2m.   Example: `fail-first=2:429;stall-after=1:2s`

LIMITS (a request past one gets 400 INVALID_ARGUMENT; a flag past one stops the start-up):
    tokens=N at most 100000; event counts (N, fail-first) at most 1000000; sizes
    (oversized-event, drip BYTES, close-after-bytes) at most 1GiB; durations at most 10m; at
    most 64 fault items. Response schemas: at most 100000 items and members, minLength at
    most 1000000, 16MiB of strings. At most 5 stopSequences and 100 batchEmbedContents requests.

REPLAY:
    With --replay DIR, the header `x-emulator-replay: NAME` or the model `replay=NAME`
    (e.g. models/replay=stream-text-gemini-2.5-flash-mirascope-01:streamGenerateContent)
    serves the recorded file NAME (file stem or path relative to DIR) byte for byte, one write
    per SSE event, with the status and content type from DIR/MANIFEST.jsonl when present.

OTHER HEADERS:
    x-emulator-scenario: ID        scenario id for fail-first
";

/// The slowest pace `--pace` accepts: one token a second.
const MIN_TOKENS_PER_SECOND: f64 = 1.0;

fn parse_pace(s: &str) -> Result<Pace, String> {
    match s {
        "none" => Ok(Pace::none()),
        "realistic" => Ok(Pace::realistic()),
        other => {
            let (ttfc, tps) = other
                .split_once(',')
                .ok_or_else(|| format!("invalid pace `{other}`"))?;
            let spec: FaultSpec = format!("stall-after=0:{ttfc}")
                .parse()
                .map_err(|e| format!("invalid pace `{other}`: {e}"))?;
            let ttfc = match spec.faults().first() {
                Some(Fault::StallAfter { duration, .. }) => *duration,
                _ => Duration::ZERO,
            };
            let tps: f64 = tps
                .trim()
                .parse()
                .ok()
                .filter(|t: &f64| t.is_finite() && (*t == 0.0 || *t >= MIN_TOKENS_PER_SECOND))
                .ok_or_else(|| {
                    format!(
                        "invalid tokens per second `{tps}` (0 for no pacing, or from {MIN_TOKENS_PER_SECOND})"
                    )
                })?;
            Ok(Pace::new(ttfc, tps))
        }
    }
}

fn run() -> Result<(), String> {
    let mut config = EmulatorConfig::default().pace(Pace::realistic());
    let mut keys: Vec<String> = Vec::new();
    let mut ca_out: Option<String> = None;
    let mut tls = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match name.as_str() {
            "-h" | "--help" => {
                print!("{HELP}");
                return Ok(());
            }
            "-V" | "--version" => {
                println!("gemini-emulator {}", env!("CARGO_PKG_VERSION"));
                return Ok(());
            }
            "--host" => {
                config = config.ip(value()?
                    .parse()
                    .map_err(|e| format!("invalid --host: {e}"))?)
            }
            "--port" => {
                config = config.port(
                    value()?
                        .parse()
                        .map_err(|e| format!("invalid --port: {e}"))?,
                )
            }
            "--pace" => config = config.pace(parse_pace(&value()?)?),
            "--fault" => {
                config = config.fault(
                    value()?
                        .parse()
                        .map_err(|e| format!("invalid --fault: {e}"))?,
                )
            }
            "--key" => keys.push(value()?),
            "--replay" => config = config.replay_dir(value()?),
            "--threads" => {
                let n: usize = value()?
                    .parse()
                    .map_err(|e| format!("invalid --threads: {e}"))?;
                if !(1..=limits::MAX_WORKER_THREADS).contains(&n) {
                    return Err(format!(
                        "invalid --threads: {n} (from 1 to {})",
                        limits::MAX_WORKER_THREADS
                    ));
                }
                config = config.worker_threads(n)
            }
            "--no-record" => config = config.record_requests(false),
            "--hop-tokens" => {
                let spec: FaultSpec = format!("hop-tokens={}", value()?)
                    .parse()
                    .map_err(|e| format!("invalid --hop-tokens: {e}"))?;
                if let Some(Fault::HopTokens(n)) = spec.faults().first() {
                    config = config.hop_tokens(Some(*n));
                }
            }
            "--checkpoint-every" => {
                let spec: FaultSpec = format!("checkpoint-every={}", value()?)
                    .parse()
                    .map_err(|e| format!("invalid --checkpoint-every: {e}"))?;
                if let Some(Fault::CheckpointEvery(n)) = spec.faults().first() {
                    config = config.checkpoint_every(Some(*n));
                }
            }
            "--tls" => tls = true,
            "--tls-ca-out" => ca_out = Some(value()?),
            other => return Err(format!("unknown option `{other}` (see --help)")),
        }
    }
    if !keys.is_empty() {
        config = config.keys(KeyRule::only(keys));
    }
    if ca_out.is_some() && !tls {
        return Err("--tls-ca-out needs --tls".into());
    }
    let emulator =
        Emulator::start_blocking(config.tls(tls)).map_err(|e| format!("cannot start: {e}"))?;
    if let (Some(path), Some(pem)) = (ca_out, emulator.tls_ca_pem()) {
        std::fs::write(&path, pem).map_err(|e| format!("cannot write {path}: {e}"))?;
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", emulator.base_url());
    let _ = out.flush();
    drop(out);
    loop {
        std::thread::park();
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gemini-emulator: {e}");
            ExitCode::from(2)
        }
    }
}
