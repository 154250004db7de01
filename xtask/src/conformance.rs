//! `cargo xtask conformance`: the streaming conformance suite.
//!
//! Two kinds of evidence:
//! - SSE vectors (format `sse-vectors/1`): every case fed whole, one byte at a time, in the source's own
//!   chunks when given, and at seeded random split points; events and final state must match.
//! - Real captures: every body decoded by the chunk decoder under several split patterns. The chunks
//!   must match the body's events one for one (each compared with an independent parse of the event's
//!   JSON), no error may be reported, and the aggregate's text and usage must equal what the events say
//!   (the text computed independently from the raw JSON).
//! - Interactions API captures (one event's data per line): every capture framed as SSE with
//!   `event:` lines and LF, CRLF and CR line ends, decoded by the interactions event decoder under
//!   the same split patterns. Every event must be written back equal to its recorded data, in
//!   order, with no error, and the assembled interaction's text, step types and usage must be what
//!   the payloads say (computed from the raw JSON).

use std::path::{Path, PathBuf};

use gemini_proto::StreamFormat;
use gemini_proto::sse::SseDecoder;
use serde_json::Value;

use crate::decode::{decode, decode_interaction, kind_name};
use crate::files::{has_ext, list, workspace_root};
use crate::rng::Split;

const RANDOM_SEEDS: [u64; 3] = [1, 2024, 0xC0FFEE];

#[derive(Default)]
struct Report {
    passed: usize,
    failed: usize,
}

impl Report {
    fn record(&mut self, name: &str, result: Result<(), String>) {
        match result {
            Ok(()) => self.passed += 1,
            Err(why) => {
                self.failed += 1;
                println!("FAIL {name}: {why}");
            }
        }
    }
}

pub fn run(args: &[String]) -> Result<bool, String> {
    let data = workspace_root().join("tests/data");
    let mut vector_files = list(&data.join("sse-vectors"), |p| has_ext(p, "json"))?;
    let mut capture_dirs = vec![
        data.join("real-captures/stream-sse"),
        data.join("real-captures/stream-jsonarray"),
    ];
    for arg in args {
        let path = PathBuf::from(arg);
        if path.is_dir() {
            capture_dirs.push(path);
        } else if path.is_file() {
            vector_files.push(path);
        } else {
            return Err(format!("{arg}: no such file or directory"));
        }
    }

    let mut report = Report::default();
    for file in &vector_files {
        run_vector_file(file, &mut report)?;
    }
    for dir in &capture_dirs {
        for file in list(dir, |p| !has_ext(p, "md"))? {
            run_capture(&file, &mut report)?;
        }
    }
    let interactions = list(&data.join("real-captures/interactions-api"), |p| {
        p.to_string_lossy().ends_with(".jsonl")
    })?;
    for file in &interactions {
        run_interaction_capture(file, &mut report)?;
    }
    println!("{} passed, {} failed", report.passed, report.failed);
    Ok(report.failed == 0)
}

// ----- SSE vectors ---------------------------------------------------------------------------------

#[derive(Debug, PartialEq)]
struct SseOutcome {
    events: Vec<(String, String, String, Option<u64>)>,
    last_event_id: String,
    reconnection_time: Option<u64>,
    discarded: bool,
}

fn run_vector_file(file: &Path, report: &mut Report) -> Result<(), String> {
    let text = std::fs::read_to_string(file)
        .map_err(|err| format!("reading {}: {err}", file.display()))?;
    let doc: Value =
        serde_json::from_str(&text).map_err(|err| format!("{}: {err}", file.display()))?;
    let cases = doc["cases"]
        .as_array()
        .ok_or_else(|| format!("{}: no `cases` array", file.display()))?;
    for case in cases {
        let name = case["name"].as_str().unwrap_or("<unnamed>");
        let (Some(input), Some(expected)) = (case["input"].as_str(), expected_outcome(case)) else {
            report.record(
                name,
                Err("the case has no input or no expected events".into()),
            );
            continue;
        };
        let input = input.as_bytes();
        let mut splits = vec![Split::Whole, Split::Fixed(1)];
        if let Some(chunks) = case["chunks"].as_array() {
            splits.push(Split::Given(
                chunks
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|c| c.as_bytes().to_vec())
                    .collect(),
            ));
        }
        splits.extend(RANDOM_SEEDS.map(Split::Random));
        for split in splits {
            let label = format!("{name} [{}]", split.label());
            let result = sse_outcome(&split.pieces(input)).and_then(|actual| {
                if actual == expected {
                    Ok(())
                } else {
                    Err(format!("expected {expected:?}, got {actual:?}"))
                }
            });
            report.record(&label, result);
        }
    }
    Ok(())
}

fn expected_outcome(case: &Value) -> Option<SseOutcome> {
    let events = case["expected"]
        .as_array()?
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap_or("message").to_owned(),
                e["data"].as_str().unwrap_or_default().to_owned(),
                e["id"].as_str().unwrap_or_default().to_owned(),
                e["retry"].as_u64(),
            )
        })
        .collect();
    let last = &case["expected_final"];
    Some(SseOutcome {
        events,
        last_event_id: last["last_event_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        reconnection_time: last["reconnection_time"].as_u64(),
        discarded: last["incomplete_data_discarded_at_eof"]
            .as_bool()
            .unwrap_or(false),
    })
}

fn sse_outcome(pieces: &[&[u8]]) -> Result<SseOutcome, String> {
    let mut decoder = SseDecoder::new();
    let mut events = Vec::new();
    for piece in pieces {
        decoder.push(piece).map_err(|err| err.to_string())?;
        while let Some(event) = decoder.next_event() {
            events.push((
                event.event_type().to_owned(),
                event.data,
                event.last_event_id,
                event.retry,
            ));
        }
    }
    let discarded = decoder.finish().is_some();
    Ok(SseOutcome {
        events,
        last_event_id: decoder.last_event_id().to_owned(),
        reconnection_time: decoder.reconnection_time(),
        discarded,
    })
}

// ----- real captures -------------------------------------------------------------------------------

/// The events of a capture, parsed independently of the library: SSE bodies as Google frames them
/// (`data: <json>` lines separated by blank lines, any line ending), JSON-array bodies as one array.
fn reference_events(body: &[u8], format: StreamFormat) -> Result<Vec<Value>, String> {
    let text = std::str::from_utf8(body).map_err(|err| format!("not UTF-8: {err}"))?;
    match format {
        StreamFormat::JsonArray => {
            let array: Vec<Value> =
                serde_json::from_str(text).map_err(|err| format!("reference parse: {err}"))?;
            Ok(array)
        }
        _ => {
            let normalised = text.replace("\r\n", "\n").replace('\r', "\n");
            normalised
                .split("\n\n")
                .filter(|block| !block.trim().is_empty())
                .map(|block| {
                    let data: Vec<&str> = block
                        .lines()
                        .filter_map(|line| line.strip_prefix("data:"))
                        .map(|value| value.strip_prefix(' ').unwrap_or(value))
                        .collect();
                    serde_json::from_str(&data.join("\n"))
                        .map_err(|err| format!("reference parse: {err}"))
                })
                .collect()
        }
    }
}

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

/// Text of an event by the SDKs' definition, from raw JSON: first candidate, non-thought text parts.
fn reference_text(event: &Value) -> Option<String> {
    let parts = event["candidates"].get(0)?["content"]["parts"].as_array()?;
    let mut text: Option<String> = None;
    for part in parts {
        if part["thought"] == Value::Bool(true) {
            continue;
        }
        if let Some(t) = part["text"].as_str() {
            text.get_or_insert_with(String::new).push_str(t);
        }
    }
    text
}

/// Integer enums are written back as names, so the comparison of such bodies looks at the JSON with
/// enum-valued members left out (they are checked by the unit tests).
fn comparable(value: &Value, integer_enums: bool) -> Value {
    const ENUM_KEYS: [&str; 7] = [
        "trafficType",
        "finishReason",
        "blockReason",
        "category",
        "probability",
        "modality",
        "severity",
    ];
    let value = without_nulls(value);
    if !integer_enums {
        return value;
    }
    fn strip(value: &Value) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .filter(|(k, _)| !ENUM_KEYS.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), strip(v)))
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(strip).collect()),
            other => other.clone(),
        }
    }
    strip(&value)
}

fn run_capture(file: &Path, report: &mut Report) -> Result<(), String> {
    let body = std::fs::read(file).map_err(|err| format!("reading {}: {err}", file.display()))?;
    let format = if has_ext(file, "sse") {
        StreamFormat::Sse
    } else if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        StreamFormat::JsonArray
    } else {
        StreamFormat::Sse
    };
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let reference = match reference_events(&body, format) {
        Ok(events) => events,
        Err(why) => {
            report.record(&name, Err(why));
            return Ok(());
        }
    };
    let integer_enums = body.windows(17).any(|w| w == b"\"finishReason\": 1");
    let mut splits = vec![
        Split::Whole,
        Split::Fixed(1),
        Split::Fixed(7),
        Split::Fixed(1460),
    ];
    splits.extend(RANDOM_SEEDS.map(Split::Random));
    for split in splits {
        let label = format!("{name} [{}]", split.label());
        report.record(
            &label,
            check_capture(&body, format, &split, &reference, integer_enums),
        );
    }
    Ok(())
}

fn check_capture(
    body: &[u8],
    format: StreamFormat,
    split: &Split,
    reference: &[Value],
    integer_enums: bool,
) -> Result<(), String> {
    let decoded = decode(body, format, split);
    if let Some(err) = &decoded.error {
        return Err(format!("unexpected {} error: {err}", kind_name(err.kind())));
    }
    if decoded.chunks.len() != reference.len() {
        return Err(format!(
            "{} chunks decoded, the body has {} events",
            decoded.chunks.len(),
            reference.len()
        ));
    }
    for (index, (chunk, event)) in decoded.chunks.iter().zip(reference).enumerate() {
        let typed = serde_json::to_value(chunk).map_err(|err| err.to_string())?;
        if comparable(&typed, integer_enums) != comparable(event, integer_enums) {
            return Err(format!("chunk {index} differs from its event"));
        }
    }
    let expected_text = reference
        .iter()
        .filter_map(reference_text)
        .fold(None, |acc: Option<String>, t| {
            Some(acc.unwrap_or_default() + &t)
        });
    let actual_text = decoded.aggregate.text();
    if actual_text.as_deref() != expected_text.as_deref() {
        return Err(format!(
            "aggregate text {:?} differs from the events' text {:?}",
            actual_text.map(|t| t.chars().take(80).collect::<String>()),
            expected_text.map(|t| t.chars().take(80).collect::<String>())
        ));
    }
    let expected_usage = reference
        .iter()
        .rev()
        .find_map(|event| event.get("usageMetadata").filter(|u| !u.is_null()))
        .map(|u| comparable(u, integer_enums));
    let actual_usage = decoded
        .aggregate
        .usage_metadata
        .as_ref()
        .map(|u| serde_json::to_value(u).map(|v| comparable(&v, integer_enums)))
        .transpose()
        .map_err(|err| err.to_string())?;
    if actual_usage != expected_usage {
        return Err(format!(
            "aggregate usage {actual_usage:?} is not the last event's {expected_usage:?}"
        ));
    }
    Ok(())
}

// ----- Interactions API captures ---------------------------------------------------------------

/// The body Google sends for these event payloads: `event: TYPE` and `data: JSON` lines ending
/// with `eol`, a blank line after each event.
fn frame_interaction_events(payloads: &[Value], eol: &str) -> Vec<u8> {
    let mut out = String::new();
    for data in payloads {
        let name = data["event_type"].as_str().unwrap_or("message");
        out.push_str(&format!("event: {name}{eol}data: {data}{eol}{eol}"));
    }
    out.into_bytes()
}

fn run_interaction_capture(file: &Path, report: &mut Report) -> Result<(), String> {
    let text = std::fs::read_to_string(file)
        .map_err(|err| format!("reading {}: {err}", file.display()))?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let payloads: Vec<Value> = match text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect()
    {
        Ok(payloads) => payloads,
        Err(err) => {
            report.record(&name, Err(format!("not one JSON object per line: {err}")));
            return Ok(());
        }
    };
    for (label, eol) in [("LF", "\n"), ("CRLF", "\r\n"), ("CR", "\r")] {
        let body = frame_interaction_events(&payloads, eol);
        let mut splits = vec![Split::Whole, Split::Fixed(1), Split::Fixed(7)];
        splits.extend(RANDOM_SEEDS.map(Split::Random));
        for split in splits {
            report.record(
                &format!("{name} {label} [{}]", split.label()),
                check_interaction_capture(&body, &split, &payloads),
            );
        }
    }
    Ok(())
}

fn check_interaction_capture(body: &[u8], split: &Split, payloads: &[Value]) -> Result<(), String> {
    let decoded = decode_interaction(body, split);
    if let Some(err) = &decoded.error {
        return Err(format!("unexpected {} error: {err}", kind_name(err.kind())));
    }
    if decoded.events.len() != payloads.len() {
        return Err(format!(
            "{} events decoded, the body has {}",
            decoded.events.len(),
            payloads.len()
        ));
    }
    for (index, (event, data)) in decoded.events.iter().zip(payloads).enumerate() {
        if &Value::Object(event.to_data()) != data {
            return Err(format!("event {index} differs from its data"));
        }
    }
    let text: String = payloads
        .iter()
        .filter(|d| d["delta"]["type"] == "text")
        .filter_map(|d| d["delta"]["text"].as_str())
        .collect();
    if decoded.interaction.text().unwrap_or_default() != text {
        return Err("the assembled text differs from the text deltas".into());
    }
    let expected_steps: Vec<&str> = payloads
        .iter()
        .filter(|d| d["event_type"] == "step.start")
        .filter_map(|d| d["step"]["type"].as_str())
        .collect();
    let steps: Vec<&str> = decoded
        .interaction
        .steps
        .iter()
        .map(|s| s.type_name())
        .collect();
    if steps != expected_steps {
        return Err(format!(
            "steps {steps:?}, the events start {expected_steps:?}"
        ));
    }
    let expected_usage = payloads
        .iter()
        .rev()
        .find(|d| d["event_type"] == "interaction.completed")
        .map(|d| d["interaction"]["usage"].clone());
    let usage = decoded
        .interaction
        .usage
        .as_ref()
        .map(|u| serde_json::to_value(u).unwrap_or(Value::Null));
    if usage != expected_usage {
        return Err(format!(
            "usage {usage:?}, the completed event says {expected_usage:?}"
        ));
    }
    Ok(())
}
