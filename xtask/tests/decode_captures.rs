//! `cargo xtask decode --framing response` and `--framing error --status N` over every real unary
//! and error capture in `tests/data/real-captures` (their statuses from `MANIFEST.jsonl`), through
//! the binary as a user runs it. A unary body comes back as the same JSON (the model keeps what
//! it does not know); an error body comes back as the API error it holds, member for member.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn captures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/real-captures")
}

/// Runs `cargo xtask decode ARGS…` and returns its one output line, parsed.
fn decode(args: &[&str]) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("decode")
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let mut lines = text.lines();
    let line = lines
        .next()
        .unwrap_or_else(|| panic!("{args:?}: no output"));
    assert!(lines.next().is_none(), "{args:?}: more than one line");
    serde_json::from_str(line).unwrap()
}

/// Whether the model wrote back what it read. One normalization is the model's documented one: an
/// enum sent as its number comes back as its name (`"finishReason": 1` → `"STOP"`). Numbers are
/// doubles read with serde_json's `float_roundtrip`, so even `-0.092766541153637333` (more digits
/// than a double holds) reads back as the same double.
fn same(original: &Value, written: &Value, path: &str) -> Result<(), String> {
    match (original, written) {
        (Value::Object(a), Value::Object(b)) => {
            let keys = |m: &serde_json::Map<String, Value>| m.keys().cloned().collect::<Vec<_>>();
            if keys(a) != keys(b) {
                return Err(format!(
                    "{path}: members {:?} became {:?}",
                    keys(a),
                    keys(b)
                ));
            }
            a.iter()
                .try_for_each(|(k, v)| same(v, &b[k], &format!("{path}/{k}")))
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .try_for_each(|(i, (x, y))| same(x, y, &format!("{path}/{i}"))),
        (Value::Number(n), Value::String(name))
            if n.is_u64()
                && !name.is_empty()
                && name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') =>
        {
            Ok(())
        }
        (a, b) if a == b => Ok(()),
        (a, b) => Err(format!("{path}: {a} became {b}")),
    }
}

fn manifest() -> Vec<Value> {
    std::fs::read_to_string(captures().join("MANIFEST.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn every_unary_capture_decodes_into_the_model_and_back() {
    let mut checked = 0;
    let mut differ = Vec::new();
    for entry in manifest().iter().filter(|e| e["kind"] == "generateContent") {
        let file = captures().join(entry["file"].as_str().unwrap());
        let original: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        let out = decode(&["--framing", "response", file.to_str().unwrap()]);
        assert!(out.get("error").is_none(), "{}: {out}", file.display());
        if let Err(why) = same(&original, &out["response"], "") {
            differ.push(format!(
                "{}: {why}",
                file.file_name().unwrap().to_string_lossy()
            ));
        }
        checked += 1;
    }
    assert!(checked >= 180, "only {checked} unary captures");
    assert!(differ.is_empty(), "{differ:#?}");
}

#[test]
fn every_error_capture_decodes_as_the_api_error_it_holds() {
    let mut checked = 0;
    for entry in manifest().iter().filter(|e| e["kind"] == "error") {
        let file = captures().join(entry["file"].as_str().unwrap());
        let status = entry["status"].as_u64().unwrap().to_string();
        let original: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        let out = decode(&[
            "--framing",
            "error",
            "--status",
            &status,
            file.to_str().unwrap(),
        ]);
        let error = &out["error"];
        assert_eq!(error["kind"], "api", "{}", file.display());
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .starts_with("the API returned an error")
        );
        // A one-element array around the error (as streamGenerateContent sends it) counts too.
        let mut expected = match &original {
            Value::Array(items) => items[0]["error"].clone(),
            other => other["error"].clone(),
        };
        // Like every list of the model, an empty `details` is written as absent.
        if expected["details"] == Value::Array(Vec::new()) {
            expected.as_object_mut().unwrap().remove("details");
        }
        assert_eq!(error["api"], expected, "{}", file.display());
        checked += 1;
    }
    assert!(checked >= 14, "only {checked} error captures");
}

#[test]
fn a_body_that_is_not_an_api_error_is_an_http_error() {
    let dir = std::env::temp_dir().join(format!("xtask-decode-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("proxy.html");
    std::fs::write(&file, "<html><body>502 Bad Gateway</body></html>").unwrap();
    let out = decode(&[
        "--framing",
        "error",
        "--status",
        "502",
        file.to_str().unwrap(),
    ]);
    let error = &out["error"];
    assert_eq!(error["kind"], "http");
    assert_eq!(error["status"], 502);
    assert_eq!(
        error["excerpt"],
        "<html><body>502 Bad Gateway</body></html>"
    );
    assert!(error.get("api").is_none());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn decode_answers_help() {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["decode", "--help"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for framing in [
        "sse",
        "json-array",
        "interactions",
        "response",
        "error --status N",
    ] {
        assert!(help.contains(framing), "{help}");
    }
}

#[test]
fn every_interaction_capture_decodes_event_by_event_then_into_its_interaction() {
    let dir =
        std::env::temp_dir().join(format!("xtask-decode-interactions-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut checked = 0;
    for entry in manifest()
        .iter()
        .filter(|e| e["kind"] == "interactions-api-stream-payloads")
    {
        let payloads: Vec<Value> =
            std::fs::read_to_string(captures().join(entry["file"].as_str().unwrap()))
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
        // Framed as Google sends it, with CRLF line ends.
        let body: String = payloads
            .iter()
            .map(|d| {
                format!(
                    "event: {}\r\ndata: {d}\r\n\r\n",
                    d["event_type"].as_str().unwrap()
                )
            })
            .collect();
        let file = dir.join(format!("capture-{checked}.sse"));
        std::fs::write(&file, body).unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(["decode", "--framing", "interactions", "--split", "3"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(output.status.success());
        let lines: Vec<Value> = String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let (last, events) = lines.split_last().unwrap();
        let events: Vec<&Value> = events.iter().map(|l| &l["event"]).collect();
        assert_eq!(
            events,
            payloads.iter().collect::<Vec<_>>(),
            "{}",
            entry["file"]
        );
        assert_eq!(last["complete"], true);
        let completed = &payloads.last().unwrap()["interaction"];
        assert_eq!(last["interaction"]["usage"], completed["usage"]);
        assert_eq!(last["interaction"]["status"], completed["status"]);
        let starts = payloads
            .iter()
            .filter(|d| d["event_type"] == "step.start")
            .count();
        assert_eq!(
            last["interaction"]["steps"].as_array().unwrap().len(),
            starts
        );
        checked += 1;
    }
    assert_eq!(checked, 8);
    // Cut short: the events that arrived, an error, and the interaction so far.
    let file = dir.join("cut.sse");
    std::fs::write(&file, "event: interaction.created\ndata: {\"interaction\":{\"id\":\"v1_a\",\"status\":\"in_progress\"},\"event_type\":\"interaction.created\"}\n\nevent: step.st").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["decode", "--framing", "interactions"])
        .arg(&file)
        .output()
        .unwrap();
    let lines: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[1]["error"]["kind"], "truncated");
    assert_eq!(lines[2]["interaction"]["id"], "v1_a");
    assert_eq!(lines[2]["complete"], false);
    std::fs::remove_dir_all(&dir).unwrap();
}
