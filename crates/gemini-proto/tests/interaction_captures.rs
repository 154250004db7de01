//! Every recorded Interactions API stream (`interactions-api/*.payloads-*.jsonl`: one event's data
//! per line) re-framed as server-sent events with `event:` lines, in several framings (LF, CRLF,
//! CR line endings; data pretty-printed over several `data:` lines; `id:` lines) and fed whole,
//! one byte at a time and at seeded random split points, decodes to the same events in the same
//! order — each written back equal to its recorded data — and assembles into an interaction whose
//! text, steps, signatures, arguments and usage are those computed independently from the raw
//! payloads. Every recorded unary answer reads into the model and back unchanged.

use gemini_proto::interactions::{Assembler, EventDecoder, Interaction, InteractionEvent, Step};
use serde_json::{Map, Value};
use std::path::PathBuf;

const CAPTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/data/real-captures/interactions-api/"
);

fn files(suffix: &str) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(CAPTURES)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    files.sort();
    files
}

fn payloads(path: &PathBuf) -> Vec<Map<String, Value>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[derive(Clone, Copy, Debug)]
enum Framing {
    Lines(&'static str),
    /// The data written pretty over several `data:` lines (LF).
    Pretty,
    /// An `id:` line before each event (CRLF).
    Ids,
}

/// The SSE body Google would send for these payloads.
fn frame(events: &[Map<String, Value>], framing: Framing) -> Vec<u8> {
    let mut out = String::new();
    for (i, data) in events.iter().enumerate() {
        let name = data["event_type"].as_str().unwrap();
        match framing {
            Framing::Lines(eol) => {
                out.push_str(&format!("event: {name}{eol}"));
                out.push_str(&format!("data: {}{eol}{eol}", Value::Object(data.clone())));
            }
            Framing::Pretty => {
                out.push_str(&format!("event: {name}\n"));
                let pretty = serde_json::to_string_pretty(&Value::Object(data.clone())).unwrap();
                for line in pretty.lines() {
                    out.push_str(&format!("data:{line}\n"));
                }
                out.push('\n');
            }
            Framing::Ids => {
                out.push_str(&format!("id: e{i}\r\nevent: {name}\r\n"));
                out.push_str(&format!("data: {}\r\n\r\n", Value::Object(data.clone())));
            }
        }
    }
    out.into_bytes()
}

const FRAMINGS: [Framing; 5] = [
    Framing::Lines("\n"),
    Framing::Lines("\r\n"),
    Framing::Lines("\r"),
    Framing::Pretty,
    Framing::Ids,
];

/// xorshift64*, for reproducible random cut points.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Cut points: whole, every byte, and seeded random pieces of 1..=97 bytes.
fn splits(len: usize) -> Vec<(String, Vec<usize>)> {
    let mut out = vec![
        ("whole".to_owned(), vec![]),
        ("every byte".to_owned(), (1..len).collect()),
    ];
    for seed in [1u64, 7, 42, 0xdead_beef] {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut cuts = Vec::new();
        let mut at = 0;
        loop {
            at += 1 + (rng.next() % 97) as usize;
            if at >= len {
                break;
            }
            cuts.push(at);
        }
        out.push((format!("random {seed}"), cuts));
    }
    out
}

fn decode(body: &[u8], cuts: &[usize]) -> (Vec<InteractionEvent>, Option<gemini_proto::Error>) {
    let mut decoder = EventDecoder::new();
    let mut events = Vec::new();
    let mut error = None;
    let mut drain = |decoder: &mut EventDecoder| {
        while let Some(item) = decoder.next_event() {
            match item {
                Ok(event) => events.push(event),
                Err(e) => error = Some(e),
            }
        }
    };
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&body.len())) {
        decoder.push(&body[start..cut]);
        drain(&mut decoder);
        start = cut;
    }
    decoder.finish();
    drain(&mut decoder);
    (events, error)
}

/// What the raw payloads say the interaction is, computed without the library.
struct Expected {
    text: String,
    step_types: Vec<String>,
    signatures: Vec<String>,
    arguments: Vec<Value>,
    completed: Map<String, Value>,
}

fn expected(events: &[Map<String, Value>]) -> Expected {
    let mut text = String::new();
    let mut step_types = Vec::new();
    let mut signatures: Vec<String> = Vec::new();
    let mut arguments: Vec<String> = Vec::new();
    let mut completed = Map::new();
    for data in events {
        match data["event_type"].as_str().unwrap() {
            "step.start" => {
                let ty = data["step"]["type"].as_str().unwrap().to_owned();
                if ty == "thought" {
                    signatures.push(String::new());
                }
                if ty == "function_call" {
                    arguments.push(String::new());
                }
                step_types.push(ty);
            }
            "step.delta" => {
                let delta = &data["delta"];
                match delta["type"].as_str().unwrap() {
                    "text" => text.push_str(delta["text"].as_str().unwrap()),
                    "thought_signature" => signatures
                        .last_mut()
                        .unwrap()
                        .push_str(delta["signature"].as_str().unwrap()),
                    "arguments_delta" => arguments
                        .last_mut()
                        .unwrap()
                        .push_str(delta["arguments"].as_str().unwrap()),
                    _ => {}
                }
            }
            "interaction.completed" => {
                completed = data["interaction"].as_object().unwrap().clone();
            }
            _ => {}
        }
    }
    Expected {
        text,
        step_types,
        signatures,
        arguments: arguments
            .iter()
            .map(|a| serde_json::from_str(a).unwrap())
            .collect(),
        completed,
    }
}

fn check_assembled(name: &str, interaction: &Interaction, expected: &Expected) {
    let types: Vec<&str> = interaction.steps.iter().map(Step::type_name).collect();
    assert_eq!(types, expected.step_types, "{name}: step types");
    assert!(
        interaction.steps.iter().all(|s| !s.is_unknown()),
        "{name}: every recorded step type is known"
    );
    let text = interaction.text().unwrap_or_default();
    assert_eq!(text, expected.text, "{name}: text");
    let signatures: Vec<&str> = interaction
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::Thought(t) => Some(t.signature.as_deref().unwrap_or_default()),
            _ => None,
        })
        .collect();
    assert_eq!(
        signatures, expected.signatures,
        "{name}: thought signatures"
    );
    let arguments: Vec<Value> = interaction
        .function_calls()
        .map(|c| c.arguments.clone().unwrap())
        .collect();
    assert_eq!(
        arguments, expected.arguments,
        "{name}: function call arguments"
    );
    let usage = serde_json::to_value(interaction.usage.as_ref().unwrap()).unwrap();
    assert_eq!(usage, expected.completed["usage"], "{name}: usage");
    assert_eq!(
        interaction.id.as_deref(),
        expected.completed["id"].as_str(),
        "{name}: id"
    );
    assert_eq!(
        interaction.status.as_ref().map(|s| s.as_str()),
        expected.completed["status"].as_str(),
        "{name}: status"
    );
}

#[test]
fn every_recorded_stream_decodes_and_assembles_under_every_framing_and_split() {
    let files = files(".jsonl");
    assert_eq!(files.len(), 8, "the eight recorded streams");
    let mut runs = 0;
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let recorded = payloads(file);
        let expected = expected(&recorded);
        assert!(!expected.step_types.is_empty(), "{name}");
        for framing in FRAMINGS {
            let body = frame(&recorded, framing);
            for (split, cuts) in splits(body.len()) {
                let case = format!("{name} {framing:?} {split}");
                let (events, error) = decode(&body, &cuts);
                assert!(error.is_none(), "{case}: {error:?}");
                assert_eq!(events.len(), recorded.len(), "{case}: event count");
                for (i, (event, data)) in events.iter().zip(&recorded).enumerate() {
                    let mut written = event.to_data();
                    if matches!(framing, Framing::Ids) {
                        // The SSE `id:` became the event's resume point.
                        assert_eq!(
                            written.remove("event_id"),
                            Some(Value::from(format!("e{i}")))
                        );
                    }
                    assert_eq!(&written, data, "{case}: event {i} written back");
                    assert!(
                        !matches!(event, InteractionEvent::Unknown(_)),
                        "{case}: event {i} is known"
                    );
                }
                let mut assembler = Assembler::new();
                for event in &events {
                    assembler.push(event);
                }
                assert!(assembler.is_completed(), "{case}");
                assert_eq!(assembler.unfolded(), 0, "{case}: every delta folded");
                check_assembled(&case, assembler.interaction(), &expected);
                runs += 1;
            }
        }
    }
    assert_eq!(runs, 8 * FRAMINGS.len() * 6);
}

#[test]
fn a_recorded_stream_cut_anywhere_reports_truncation_or_an_incomplete_end_and_keeps_what_arrived() {
    for file in files(".jsonl") {
        let recorded = payloads(&file);
        let body = frame(&recorded, Framing::Lines("\r\n"));
        // Every cut point inside the body.
        for cut in (1..body.len()).step_by(13) {
            let (events, error) = decode(&body[..cut], &[]);
            // An event ends at its blank line: the CR after a line's CRLF already ends it.
            let complete_events = String::from_utf8_lossy(&body[..cut])
                .matches("\r\n\r")
                .count();
            assert_eq!(events.len(), complete_events);
            // The events before the cut all came out, in order.
            for (event, data) in events.iter().zip(&recorded) {
                assert_eq!(&event.to_data(), data);
            }
            if complete_events == recorded.len() {
                // Only the last line feed is missing: the stream is whole.
                assert!(error.is_none(), "{error:?}");
                continue;
            }
            let error = error.expect("a cut stream is an error");
            assert!(
                matches!(
                    error.kind(),
                    gemini_proto::ErrorKind::Truncated | gemini_proto::ErrorKind::Incomplete
                ),
                "{error}"
            );
        }
    }
}

#[test]
fn every_recorded_unary_answer_reads_into_the_model_and_back() {
    let files = files(".json");
    assert_eq!(files.len(), 9);
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let raw: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        let interaction: Interaction = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(serde_json::to_value(&interaction).unwrap(), raw, "{name}");
        assert!(interaction.steps.iter().all(|s| !s.is_unknown()), "{name}");
        let text: String = raw["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["type"] == "model_output")
            .flat_map(|s| s["content"].as_array().unwrap())
            .filter_map(|c| c["text"].as_str())
            .collect();
        assert_eq!(interaction.text().unwrap_or_default(), text, "{name}");
        assert!(interaction.usage.is_some(), "{name}");
    }
}
