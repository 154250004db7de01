//! The model against real bodies recorded from Google's service: everything parses, and parse → serialize
//! gives back the same JSON (unknown fields included, thought signatures byte for byte).

use std::fs;
use std::path::{Path, PathBuf};

use gemini_proto::types::GenerateContentResponse;
use serde_json::Value;

fn captures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/real-captures").join(kind);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("reading {}: {err}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no captures in {}", dir.display());
    files
}

/// Proto3 JSON allows `null` for an absent field; the model writes absent fields by leaving them out.
fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

fn assert_round_trip(label: &str, json: &str) -> GenerateContentResponse {
    let original: Value = serde_json::from_str(json).unwrap_or_else(|err| panic!("{label}: not JSON: {err}"));
    let typed: GenerateContentResponse =
        serde_json::from_str(json).unwrap_or_else(|err| panic!("{label}: does not parse: {err}"));
    let back = serde_json::to_value(&typed).unwrap();
    assert_eq!(back, without_nulls(&original), "{label}: round trip changed the JSON");
    typed
}

#[test]
fn every_nonstream_capture_round_trips() {
    let mut checked = 0;
    for path in captures("nonstream") {
        let body = fs::read_to_string(&path).unwrap();
        if path.to_string_lossy().contains("enumint") {
            // Integer enums are accepted and written back as names; checked in `integer_enums_are_accepted`.
            continue;
        }
        assert_round_trip(&path.display().to_string(), &body);
        checked += 1;
    }
    assert!(checked > 100, "only {checked} captures");
}

#[test]
fn every_sse_event_of_every_stream_capture_round_trips() {
    let mut events = 0;
    for path in captures("stream-sse") {
        let body = fs::read_to_string(&path).unwrap();
        for (index, line) in body.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if let Some(data) = line.strip_prefix("data: ") {
                assert_round_trip(&format!("{} event line {index}", path.display()), data);
                events += 1;
            }
        }
    }
    assert!(events > 700, "only {events} events");
}

#[test]
fn thought_signatures_survive_byte_for_byte() {
    let mut signatures = 0;
    for path in captures("stream-sse").into_iter().chain(captures("nonstream")) {
        let body = fs::read_to_string(&path).unwrap();
        for raw in body.split("\"thoughtSignature\": \"").skip(1) {
            let wire = &raw[..raw.find('"').unwrap()];
            let part: gemini_proto::types::Part =
                serde_json::from_str(&format!("{{\"thoughtSignature\": \"{wire}\"}}")).unwrap();
            let bytes = part.thought_signature.clone().expect("signature parsed");
            assert!(!bytes.is_empty());
            let back = serde_json::to_value(&part).unwrap();
            assert_eq!(back["thoughtSignature"], wire, "{}", path.display());
            signatures += 1;
        }
    }
    assert!(signatures >= 10, "only {signatures} signatures seen");
}

#[test]
fn integer_enums_are_accepted() {
    use gemini_proto::types::FinishReason;
    let mut seen = 0;
    for path in captures("nonstream") {
        if !path.to_string_lossy().contains("enumint") {
            continue;
        }
        let body = fs::read_to_string(&path).unwrap();
        let original: Value = serde_json::from_str(&body).unwrap();
        let number = original["candidates"][0]["finishReason"].as_i64().expect("an integer finish reason");
        let typed: GenerateContentResponse = serde_json::from_str(&body).unwrap();
        let expected = match number {
            1 => FinishReason::Stop,
            2 => FinishReason::MaxTokens,
            3 => FinishReason::Safety,
            other => panic!("{}: unexpected finish reason {other} in the capture", path.display()),
        };
        assert_eq!(typed.finish_reason(), Some(&expected), "{}", path.display());
        seen += 1;
    }
    assert!(seen > 0, "no integer-enum capture found");
}
