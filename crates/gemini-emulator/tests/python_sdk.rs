//! The official Python SDK (`google-genai` 3.x, installed from PyPI into a virtual environment
//! under the target directory) against the emulator: a long answer cut into requests by a small
//! `hop-tokens`, which the SDK follows with the continuation token by itself, reads exactly as the
//! uncapped answer, unary and streamed.
//!
//! Skipped, with the reason printed, only when the package registry cannot be reached.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;

use gemini_emulator::{Emulator, EmulatorConfig};

const MODEL: &str = "gemini-2.5-flash";
const PROMPT: &str = "Tell me the whole history of lighthouses, please.";

/// The Python of a virtual environment with google-genai 3.x, made (once) under the target
/// directory; `Err` with the reason when it cannot be made.
fn sdk_python() -> Result<PathBuf, String> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("google-genai-venv");
    let python = dir.join("bin").join("python");
    let ready = |python: &PathBuf| {
        Command::new(python)
            .args(["-c", "import google.genai"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if python.exists() && ready(&python) {
        return Ok(python);
    }
    let made = Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&dir)
        .status()
        .map_err(|e| format!("python3 cannot run: {e}"))?;
    if !made.success() {
        return Err("python3 -m venv failed".into());
    }
    let installed = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .arg("google-genai>=3,<4")
        .output()
        .map_err(|e| format!("pip cannot run: {e}"))?;
    if installed.status.success() && ready(&python) {
        return Ok(python);
    }
    let reachable = Command::new(&python)
        .args([
            "-c",
            "import urllib.request; urllib.request.urlopen('https://pypi.org/simple/google-genai/', timeout=15)",
        ])
        .status()
        .is_ok_and(|s| s.success());
    if reachable {
        panic!(
            "installing google-genai failed although PyPI is reachable:\n{}",
            String::from_utf8_lossy(&installed.stderr)
        );
    }
    Err("PyPI cannot be reached".into())
}

/// The text of `generateContent` over a raw connection, parsed with serde_json alone.
fn raw_answer(emulator: &Emulator, model: &str) -> String {
    let body = serde_json::json!({"contents": [{"role": "user", "parts": [{"text": PROMPT}]}]})
        .to_string();
    let mut tcp = TcpStream::connect(emulator.addr()).unwrap();
    write!(
        tcp,
        "POST /v1beta/models/{model}:generateContent HTTP/1.1\r\nhost: x\r\nx-goog-api-key: k\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    tcp.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(json["candidates"][0]["finishReason"], "STOP");
    json["candidates"][0]["content"]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["text"].as_str())
        .collect()
}

#[test]
fn the_python_sdk_follows_continuation_tokens_to_the_uncapped_answer() {
    let python = match sdk_python() {
        Ok(python) => python,
        Err(reason) => {
            println!("skipped: the official Python SDK is not available ({reason})");
            return;
        }
    };
    let model = format!("{MODEL}@tokens=300");
    let uncapped = Emulator::start_blocking(EmulatorConfig::default()).unwrap();
    let whole = raw_answer(&uncapped, &model);
    let capped = Emulator::start_blocking(
        EmulatorConfig::default()
            .hop_tokens(Some(40))
            .checkpoint_every(Some(4)),
    )
    .unwrap();
    // The capped emulator really does cut the answer.
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/long_answer.py");
    let out = Command::new(&python)
        .arg(script)
        .arg(capped.base_url())
        .arg(&model)
        .arg(PROMPT)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the SDK failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        result["version"].as_str().unwrap().starts_with("3."),
        "{result}"
    );
    assert_eq!(result["unary"].as_str().unwrap(), whole);
    assert_eq!(result["stream"].as_str().unwrap(), whole);
    assert!(
        result["unary_finish"].as_str().unwrap().ends_with("STOP"),
        "{result}"
    );
    // Both calls took several requests, each after the first with a token.
    let requests = capped.requests();
    let with_token = requests
        .iter()
        .filter(|r| {
            r.json
                .as_ref()
                .is_some_and(|j| j["continuationToken"].is_string())
        })
        .count();
    assert!(requests.len() >= 6, "{} requests", requests.len());
    assert_eq!(
        with_token,
        requests.len() - 2,
        "all but the two first requests"
    );
}
