//! The official Python SDK (`google-genai` 3.x, installed from the package registry into a
//! virtual environment) against the emulator, unchanged:
//! - it streams an interaction, resumes it from an event id, continues the conversation and reads
//!   it back;
//! - it follows continuation tokens by itself through a long answer cut into requests by a small
//!   `hop-tokens`, and gets exactly the text of an uncapped run, unary and streamed;
//! - it follows `requires_continuation` through a long interaction cut the same way, unary and
//!   streamed, stored and not, and gets exactly the uncapped interaction's text.
//!
//! The virtual environment lives in the target directory and is reused while it holds a 3.x
//! release. When the registry cannot be reached, the test says so and is skipped; any other
//! failure (no Python, an install that breaks, the SDK refusing what the emulator sends) fails.
//! Expected values are read from the emulator over raw HTTP.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Output};

use gemini_emulator::{Emulator, EmulatorConfig};
use serde_json::Value;

/// What the SDK is asked to do; each script prints one JSON object with what it saw.
const INTERACTION_SCRIPT: &str = include_str!("stream_interaction.py");
const LONG_ANSWER_SCRIPT: &str = include_str!("long_answer.py");
const LONG_INTERACTION_SCRIPT: &str = include_str!("long_interaction.py");

const MODEL: &str = "gemini-2.5-flash";
const LONG_PROMPT: &str = "Tell me the whole history of lighthouses, please.";

/// The releases accepted (the current major version).
const REQUIREMENT: &str = "google-genai>=3,<4";

fn main() -> ExitCode {
    match run() {
        Ok(Outcome::Passed(version)) => {
            println!(
                "python_sdk: google-genai {version} streamed an interaction from the emulator and \
                 followed its continuation tokens to the uncapped answer and interaction"
            );
            ExitCode::SUCCESS
        }
        Ok(Outcome::Skipped(reason)) => {
            println!("python_sdk: SKIPPED: {reason}");
            ExitCode::SUCCESS
        }
        Err(failure) => {
            eprintln!("python_sdk: FAILED: {failure}");
            ExitCode::FAILURE
        }
    }
}

enum Outcome {
    Passed(String),
    Skipped(String),
}

fn run() -> Result<Outcome, String> {
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("google-genai-venv");
    let python = venv.join(if cfg!(windows) {
        "Scripts/python.exe"
    } else {
        "bin/python"
    });
    if sdk_version(&python).is_none()
        && let Some(reason) = install(&venv, &python)?
    {
        return Ok(Outcome::Skipped(reason));
    }
    let version =
        sdk_version(&python).ok_or("google-genai was installed but cannot be imported")?;

    interaction(&python)?;
    long_answer(&python)?;
    long_interaction(&python)?;
    Ok(Outcome::Passed(version))
}

/// `Ok` when `ok`; otherwise what failed, with all the SDK saw.
fn ensure(ok: bool, what: &str, seen: &Value) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(format!("{what}: {seen:#}"))
    }
}

/// Runs `script` with `args` in the SDK's Python; what it printed, as JSON.
fn run_script(python: &Path, script: &str, args: &[&str]) -> Result<Value, String> {
    let output = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .env_remove("GOOGLE_API_KEY")
        .env_remove("GEMINI_API_KEY")
        .env_remove("GOOGLE_GENAI_API_VERSION")
        .output()
        .map_err(|e| format!("running the SDK: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "the SDK script failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    serde_json::from_slice(&output.stdout).map_err(|e| {
        format!(
            "the SDK script printed no JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

fn start(config: EmulatorConfig) -> Result<Emulator, String> {
    Emulator::start_blocking(config).map_err(|e| format!("the emulator did not start: {e}"))
}

/// An interaction streamed, resumed, answered unary and continued, as the emulator sent it.
fn interaction(python: &Path) -> Result<(), String> {
    let emulator = start(EmulatorConfig::default())?;
    let seen = run_script(python, INTERACTION_SCRIPT, &[&emulator.base_url()])?;
    check(&emulator, &seen)
}

/// A long answer cut into requests: the SDK sends each next request with the token and reads
/// exactly the uncapped answer, unary and streamed.
fn long_answer(python: &Path) -> Result<(), String> {
    let model = format!("{MODEL}@tokens=300");
    let whole = raw_answer(&start(EmulatorConfig::default())?, &model);
    let capped = start(
        EmulatorConfig::default()
            .hop_tokens(Some(40))
            .checkpoint_every(Some(4)),
    )?;
    let seen = run_script(
        python,
        LONG_ANSWER_SCRIPT,
        &[&capped.base_url(), &model, LONG_PROMPT],
    )?;
    let ensure = |ok: bool, what: &str| ensure(ok, what, &seen);
    ensure(seen["unary"] == whole.as_str(), "the unary long answer")?;
    ensure(seen["stream"] == whole.as_str(), "the streamed long answer")?;
    ensure(
        seen["unary_finish"]
            .as_str()
            .is_some_and(|f| f.ends_with("STOP")),
        "the unary finish reason",
    )?;
    // Both calls took several requests, each after the first of a call with a token: the
    // capped emulator really did cut the answer.
    let requests = capped.requests();
    let with_token = requests
        .iter()
        .filter(|r| {
            r.json
                .as_ref()
                .is_some_and(|j| j["continuationToken"].is_string())
        })
        .count();
    ensure(
        requests.len() >= 6 && with_token == requests.len() - 2,
        &format!(
            "{} requests, {with_token} with a token (all but the first of each call)",
            requests.len()
        ),
    )
}

/// A long interaction cut into requests: the SDK follows `requires_continuation` and reads
/// exactly the uncapped interaction's text, unary and streamed, stored and not.
fn long_interaction(python: &Path) -> Result<(), String> {
    let model = format!("{MODEL}@tokens=300");
    let whole = raw_interaction(&start(EmulatorConfig::default())?, &model);
    let whole_text: String = whole["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|step| step["type"] == "model_output")
        .flat_map(|step| step["content"].as_array().into_iter().flatten())
        .filter_map(|content| content["text"].as_str())
        .collect();
    let capped = start(EmulatorConfig::default().hop_tokens(Some(40)))?;
    let seen = run_script(
        python,
        LONG_INTERACTION_SCRIPT,
        &[&capped.base_url(), &model, LONG_PROMPT],
    )?;
    let ensure = |ok: bool, what: &str| ensure(ok, what, &seen);
    ensure(!whole_text.is_empty(), "the uncapped interaction's text")?;
    for call in ["unary", "stream", "unstored"] {
        ensure(
            seen[format!("{call}_text")] == whole_text.as_str(),
            &format!("the {call} long interaction's text"),
        )?;
    }
    ensure(
        seen["unary_status"] == "completed" && seen["unstored_status"] == "completed",
        "the unary status",
    )?;
    // Several requests, merged by the SDK; its summed output is the uncapped answer's.
    ensure(
        seen["unary_hops"].as_u64().is_some_and(|hops| hops >= 3),
        "the unary call's hops",
    )?;
    ensure(
        seen["unary_output_tokens"] == whole["usage"]["total_output_tokens"],
        "the unary call's output tokens, summed over its requests",
    )?;
    // Every streamed request but the last ended at the cap.
    let statuses = seen["stream_statuses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    ensure(
        statuses.len() >= 3
            && statuses.last().is_some_and(|s| s == "completed")
            && statuses[..statuses.len() - 1]
                .iter()
                .all(|s| s == "requires_continuation"),
        "the streamed requests' statuses",
    )?;
    // Unstored, each next request sent the input again with the token, naming no interaction.
    let last = capped
        .requests()
        .last()
        .and_then(|request| request.json.clone())
        .unwrap_or_default();
    ensure(
        last["continuation_token"].is_string()
            && last["input"] == LONG_PROMPT
            && last.get("previous_interaction_id").is_none(),
        &format!("the unstored call's last request: {last}"),
    )
}

/// An interaction created over a raw connection, parsed with serde_json alone.
fn raw_interaction(emulator: &Emulator, model: &str) -> Value {
    let body = serde_json::json!({"model": model, "input": LONG_PROMPT});
    let json = raw_post(emulator, "/v1beta/interactions", &body);
    assert_eq!(json["status"], "completed");
    json
}

/// The text of `generateContent` over a raw connection, parsed with serde_json alone.
fn raw_answer(emulator: &Emulator, model: &str) -> String {
    let body =
        serde_json::json!({"contents": [{"role": "user", "parts": [{"text": LONG_PROMPT}]}]});
    let json = raw_post(
        emulator,
        &format!("/v1beta/models/{model}:generateContent"),
        &body,
    );
    assert_eq!(json["candidates"][0]["finishReason"], "STOP");
    json["candidates"][0]["content"]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["text"].as_str())
        .collect()
}

/// A POST of `body` over a raw connection; the answer (a 200) parsed with serde_json alone.
fn raw_post(emulator: &Emulator, path: &str, body: &Value) -> Value {
    let body = body.to_string();
    let mut tcp = TcpStream::connect(emulator.addr()).unwrap();
    write!(
        tcp,
        "POST {path} HTTP/1.1\r\nhost: x\r\nx-goog-api-key: k\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    tcp.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    serde_json::from_str(body).unwrap()
}

/// The installed SDK's version, when it is a 3.x release.
fn sdk_version(python: &Path) -> Option<String> {
    let output = Command::new(python)
        .args([
            "-c",
            "from google.genai import version; print(version.__version__)",
        ])
        .output()
        .ok()?;
    let version = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    (output.status.success() && version.starts_with("3.")).then_some(version)
}

/// Makes the virtual environment and installs the SDK; `Some(reason)` when the registry cannot
/// be reached.
fn install(venv: &Path, python: &Path) -> Result<Option<String>, String> {
    let _ = std::fs::remove_dir_all(venv);
    let system = ["python3", "python"]
        .into_iter()
        .find(|p| {
            Command::new(p)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .ok_or("no python3 on this machine")?;
    checked(
        Command::new(system).args(["-m", "venv"]).arg(venv).output(),
        "making the virtual environment",
    )?;
    let pip = Command::new(python)
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "--retries",
            "2",
            "--timeout",
            "30",
            REQUIREMENT,
        ])
        .output()
        .map_err(|e| format!("running pip: {e}"))?;
    if pip.status.success() {
        return Ok(None);
    }
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&pip.stdout),
        String::from_utf8_lossy(&pip.stderr)
    );
    // What pip logs when it cannot talk to the registry (a registry that answers without a 3.x
    // release is a failure, not a skip).
    let unreachable = [
        "NewConnectionError",
        "Connection refused",
        "Network is unreachable",
        "Temporary failure in name resolution",
        "Name or service not known",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ProxyError",
        "SSLError",
        "Max retries exceeded",
    ];
    if let Some(sign) = unreachable.iter().find(|sign| log.contains(*sign)) {
        return Ok(Some(format!(
            "the package registry cannot be reached to install {REQUIREMENT} (pip: {sign})"
        )));
    }
    Err(format!("pip install {REQUIREMENT} failed:\n{log}"))
}

fn checked(output: std::io::Result<Output>, what: &str) -> Result<Output, String> {
    let output = output.map_err(|e| format!("{what}: {e}"))?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// A GET over raw HTTP, parsed with serde_json alone.
fn raw_get(emulator: &Emulator, path: &str) -> String {
    let mut tcp = TcpStream::connect(emulator.addr()).unwrap();
    write!(
        tcp,
        "GET {path} HTTP/1.1\r\nhost: x\r\nx-goog-api-key: k\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    tcp.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    if !head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return body.to_owned();
    }
    let mut out = String::new();
    let mut rest = body;
    loop {
        let (size, after) = rest.split_once("\r\n").unwrap();
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
}

/// The data of each event of a stored interaction's stream.
fn raw_events(emulator: &Emulator, id: &str) -> Vec<Value> {
    raw_get(emulator, &format!("/v1beta/interactions/{id}?stream=true"))
        .split("\n\n")
        .filter_map(|block| block.lines().find_map(|l| l.strip_prefix("data: ")))
        .map(|data| serde_json::from_str(data).unwrap())
        .collect()
}

fn check(emulator: &Emulator, seen: &Value) -> Result<(), String> {
    let ensure = |ok: bool, what: &str| ensure(ok, what, seen);
    let id = seen["stream_id"].as_str().ok_or("no id from the stream")?;
    let expected = raw_events(emulator, id);
    let types: Vec<&str> = expected
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    let ids: Vec<&str> = expected
        .iter()
        .map(|e| e["event_id"].as_str().unwrap())
        .collect();
    // Every event, typed by the SDK (no unknown variant), in order, with its id.
    ensure(
        seen["event_types"] == serde_json::json!(types),
        "the event types",
    )?;
    ensure(seen["event_ids"] == serde_json::json!(ids), "the event ids")?;
    ensure(
        seen["unknown_events"] == 0,
        "the SDK did not recognise some events",
    )?;
    let text: String = expected
        .iter()
        .filter(|e| e["delta"]["type"] == "text")
        .map(|e| e["delta"]["text"].as_str().unwrap())
        .collect();
    ensure(
        !text.is_empty() && seen["stream_text"] == text.as_str(),
        "the streamed text",
    )?;
    let end = &expected.last().unwrap()["interaction"];
    ensure(seen["stream_status"] == end["status"], "the final status")?;
    ensure(
        seen["stream_total_tokens"] == end["usage"]["total_tokens"],
        "the usage",
    )?;
    // Resumed after the fourth event: the rest, once.
    ensure(
        seen["resumed_ids"] == serde_json::json!(ids[4..]),
        "the events after last_event_id",
    )?;
    // The unary answer, and a second turn that sees the first.
    ensure(
        seen["unary_status"] == "completed"
            && seen["unary_text"].as_str().is_some_and(|t| !t.is_empty()),
        "the unary answer",
    )?;
    ensure(
        seen["second_turn_text"]
            .as_str()
            .is_some_and(|t| t.contains("This is turn 2 of our conversation.")),
        "the second turn",
    )?;
    ensure(
        seen["stored_step_types"] == serde_json::json!(["user_input", "thought", "model_output"]),
        "the stored timeline",
    )?;
    Ok(())
}
