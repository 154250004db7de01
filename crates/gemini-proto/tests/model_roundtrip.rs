//! The model against real bodies recorded from Google's service: everything parses, and parse → serialize
//! gives back the same JSON (unknown fields included, thought signatures byte for byte).

use std::borrow::Cow;
use std::fs;
use std::path::{Path, PathBuf};

use gemini_proto::types::GenerateContentResponse;
use serde_json::Value;

fn captures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/real-captures")
        .join(kind);
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
    let original: Value =
        serde_json::from_str(json).unwrap_or_else(|err| panic!("{label}: not JSON: {err}"));
    let typed: GenerateContentResponse =
        serde_json::from_str(json).unwrap_or_else(|err| panic!("{label}: does not parse: {err}"));
    let back = serde_json::to_value(&typed).unwrap();
    assert_eq!(
        back,
        without_nulls(&original),
        "{label}: round trip changed the JSON"
    );
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
    for path in captures("stream-sse")
        .into_iter()
        .chain(captures("nonstream"))
    {
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
        let number = original["candidates"][0]["finishReason"]
            .as_i64()
            .expect("an integer finish reason");
        let typed: GenerateContentResponse = serde_json::from_str(&body).unwrap();
        let expected = match number {
            1 => FinishReason::Stop,
            2 => FinishReason::MaxTokens,
            3 => FinishReason::Safety,
            other => panic!(
                "{}: unexpected finish reason {other} in the capture",
                path.display()
            ),
        };
        assert_eq!(typed.finish_reason(), Some(&expected), "{}", path.display());
        seen += 1;
    }
    assert!(seen > 0, "no integer-enum capture found");
}

#[test]
fn proto_field_names_are_accepted_like_json_names() {
    use gemini_proto::types::{GenerateContentRequest, PartData};
    // The Python SDK sends some members under their proto (snake_case) names; Google accepts both.
    let request: GenerateContentRequest = serde_json::from_str(
        r#"{"contents": [{"role": "user", "parts": [{"inline_data": {"mime_type": "image/png", "data": "AAE="}}]}],
            "generation_config": {"max_output_tokens": 7},
            "tools": [{"function_declarations": [{"name": "f", "parameters_json_schema": {"type": "object"}}]}]}"#,
    )
    .unwrap();
    match &request.contents[0].parts[0].data {
        PartData::InlineData(blob) => {
            assert_eq!(blob.mime_type, "image/png");
            assert_eq!(&blob.data[..], &[0u8, 1]);
        }
        other => panic!("expected inline data, got {other:?}"),
    }
    assert_eq!(
        request
            .generation_config
            .as_ref()
            .and_then(|c| c.max_output_tokens),
        Some(7)
    );
    let declaration = &request.tools[0].function_declarations[0];
    assert_eq!(
        declaration.parameters_json_schema,
        Some(serde_json::json!({"type": "object"}))
    );
    // Written back with the JSON names.
    let json = serde_json::to_value(&request).unwrap();
    assert_eq!(json["generationConfig"]["maxOutputTokens"], 7);
    assert_eq!(
        json["contents"][0]["parts"][0]["inlineData"]["mimeType"],
        "image/png"
    );
}

#[test]
fn unknown_part_kinds_and_enum_values_are_kept() {
    use gemini_proto::types::{FinishReason, PartData};
    let json = r#"{"candidates": [{"content": {"parts": [{"toolCall": {"toolType": "GOOGLE_SEARCH"},"thoughtSignature": "AQID"}],"role": "model"},"finishReason": "SOMETHING_NEW"}]}"#;
    let chunk: GenerateContentResponse = serde_json::from_str(json).unwrap();
    let part = &chunk.candidates[0].content.as_ref().unwrap().parts[0];
    assert_eq!(part.data, PartData::Other);
    assert_eq!(part.extra["toolCall"]["toolType"], "GOOGLE_SEARCH");
    assert_eq!(part.thought_signature.as_deref(), Some(&[1u8, 2, 3][..]));
    assert_eq!(
        chunk.finish_reason(),
        Some(&FinishReason::Unknown("SOMETHING_NEW".into()))
    );
    assert_eq!(chunk.text(), None);
    let back: Value = serde_json::to_value(&chunk).unwrap();
    assert_eq!(back, serde_json::from_str::<Value>(json).unwrap());
}

#[test]
fn text_distinguishes_no_text_from_empty_text() {
    let only_call: GenerateContentResponse = serde_json::from_str(
        r#"{"candidates": [{"content": {"parts": [{"functionCall": {"name": "f", "args": {}}}]}}]}"#,
    )
    .unwrap();
    assert_eq!(only_call.text(), None);
    assert_eq!(only_call.function_calls().count(), 1);
    let empty: GenerateContentResponse =
        serde_json::from_str(r#"{"candidates": [{"content": {"parts": [{"text": ""}]}}]}"#)
            .unwrap();
    assert_eq!(empty.text().as_deref(), Some(""));
    let thoughts: GenerateContentResponse = serde_json::from_str(
        r#"{"candidates": [{"content": {"parts": [{"text": "hmm", "thought": true}, {"text": "A"}, {"text": "B"}]}}]}"#,
    )
    .unwrap();
    assert_eq!(thoughts.text().as_deref(), Some("AB"));
    assert_eq!(thoughts.thought_text().as_deref(), Some("hmm"));
    let none: GenerateContentResponse = serde_json::from_str(r#"{"candidates": []}"#).unwrap();
    assert_eq!(none.text(), None);
    // One text part is lent; several are joined.
    assert!(matches!(empty.text(), Some(Cow::Borrowed(""))));
    assert!(matches!(thoughts.text(), Some(Cow::Owned(_))));
    // Taken apart, the same texts.
    assert_eq!(only_call.into_text(), None);
    assert_eq!(empty.into_text().as_deref(), Some(""));
    assert_eq!(thoughts.into_text().as_deref(), Some("AB"));
    assert_eq!(none.into_text(), None);
    let mixed: GenerateContentResponse = serde_json::from_str(
        r#"{"candidates": [{"content": {"parts": [{"text": "x", "thought": true}, {"functionCall": {"name": "f"}}, {"text": "only"}]}}]}"#,
    )
    .unwrap();
    assert_eq!(mixed.text().as_deref(), Some("only"));
    assert_eq!(mixed.into_text().as_deref(), Some("only"));
}

#[test]
fn hostile_input_is_an_error_not_a_panic() {
    let deep = "[".repeat(100_000);
    let body = format!(
        r#"{{"candidates": [{{"content": {{"parts": [{{"functionCall": {{"name": "f", "args": {deep}"#
    );
    // Run on a small stack: nesting must be bounded by the parser, not by the stack size.
    let result = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || serde_json::from_str::<GenerateContentResponse>(&body).is_err())
        .unwrap()
        .join()
        .unwrap();
    assert!(result);
    for bad in [
        r#"{"candidates": "nope"}"#,
        r#"{"usageMetadata": {"totalTokenCount": 1e400}}"#,
        r#"{"usageMetadata": {"totalTokenCount": -1}}"#,
        r#"{"candidates": [{"content": {"parts": [{"thoughtSignature": "***"}]}}]}"#,
        r#"[1, 2, 3]"#,
    ] {
        assert!(
            serde_json::from_str::<GenerateContentResponse>(bad).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn schema_int64_limits_accept_strings_and_numbers() {
    use gemini_proto::types::Schema;
    // proto3 JSON writes int64 as strings; Google (and the JS SDK) use both forms.
    let schema: Schema = serde_json::from_str(
        r#"{"type": "ARRAY", "minItems": "2", "maxItems": 5, "items": {"type": "STRING", "maxLength": " 40 ", "minLength": null}}"#,
    )
    .unwrap();
    assert_eq!(schema.min_items, Some(2));
    assert_eq!(schema.max_items, Some(5));
    let items = schema.items.as_deref().unwrap();
    assert_eq!(items.max_length, Some(40));
    assert_eq!(items.min_length, None);
    assert_eq!(serde_json::to_value(&schema).unwrap()["minItems"], 2);
    for bad in [
        r#"{"minItems": "two"}"#,
        r#"{"minItems": 1.5}"#,
        r#"{"minItems": 18446744073709551615}"#,
    ] {
        assert!(serde_json::from_str::<Schema>(bad).is_err(), "{bad}");
    }
}
