//! The official Python SDK (`google-genai` 3.x, installed from the package registry into a
//! virtual environment) streams an interaction from the emulator unchanged, and reads it back.
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

/// What the SDK is asked to do; it prints one JSON object with what it saw.
const SCRIPT: &str = include_str!("stream_interaction.py");

/// The releases accepted (the current major version).
const REQUIREMENT: &str = "google-genai>=3,<4";

fn main() -> ExitCode {
    match run() {
        Ok(Outcome::Passed(version)) => {
            println!(
                "python_sdk: google-genai {version} streamed an interaction from the emulator"
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

    let emulator = Emulator::start_blocking(EmulatorConfig::default())
        .map_err(|e| format!("the emulator did not start: {e}"))?;
    let output = Command::new(&python)
        .arg("-c")
        .arg(SCRIPT)
        .arg(emulator.base_url())
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
    let seen: Value = serde_json::from_slice(&output.stdout).map_err(|e| {
        format!(
            "the SDK script printed no JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })?;
    check(&emulator, &seen)?;
    Ok(Outcome::Passed(version))
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
    let ensure = |ok: bool, what: &str| {
        if ok {
            Ok(())
        } else {
            Err(format!("{what}: {seen:#}"))
        }
    };
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
