//! Runs the SSE conformance vectors in `tests/data/sse-vectors/` through [`SseDecoder`], fed whole,
//! one byte at a time, in the pieces the source test used, and at seeded random split points.

use gemini_proto::sse::{Discarded, SseDecoder, SseEvent};
use serde_json::Value;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/sse-vectors/");

fn load(file: &str) -> Vec<Value> {
    let path = format!("{DATA}{file}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let doc: Value = serde_json::from_str(&text).unwrap();
    doc["cases"].as_array().unwrap().clone()
}

#[derive(Debug, PartialEq)]
struct Outcome {
    events: Vec<(String, String, String, Option<u64>)>,
    last_event_id: String,
    reconnection_time: Option<u64>,
    discarded: bool,
}

fn decode<'a>(
    pieces: impl IntoIterator<Item = &'a [u8]>,
) -> (Vec<SseEvent>, Option<Discarded>, SseDecoder) {
    let mut decoder = SseDecoder::new();
    let mut events = Vec::new();
    for piece in pieces {
        decoder.push(piece).unwrap();
        while let Some(event) = decoder.next_event() {
            events.push(event);
        }
    }
    let discarded = decoder.finish();
    assert!(decoder.next_event().is_none());
    (events, discarded, decoder)
}

fn outcome<'a>(pieces: impl IntoIterator<Item = &'a [u8]>) -> Outcome {
    let (events, discarded, decoder) = decode(pieces);
    for (i, event) in events.iter().enumerate() {
        assert_eq!(event.index, i as u64);
    }
    Outcome {
        events: events
            .into_iter()
            .map(|e| (e.event_type().to_owned(), e.data, e.last_event_id, e.retry))
            .collect(),
        last_event_id: decoder.last_event_id().to_owned(),
        reconnection_time: decoder.reconnection_time(),
        discarded: discarded.is_some(),
    }
}

fn expected(case: &Value) -> Outcome {
    let events = case["expected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap().to_owned(),
                e["data"].as_str().unwrap().to_owned(),
                e["id"].as_str().unwrap().to_owned(),
                e["retry"].as_u64(),
            )
        })
        .collect();
    let fin = &case["expected_final"];
    Outcome {
        events,
        last_event_id: fin["last_event_id"].as_str().unwrap().to_owned(),
        reconnection_time: fin["reconnection_time"].as_u64(),
        discarded: fin["incomplete_data_discarded_at_eof"].as_bool().unwrap(),
    }
}

/// SplitMix64: a tiny deterministic generator for reproducible split points.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Splits `input` into pieces of random length between 1 and `max`.
fn random_pieces(input: &[u8], seed: u64, max: u64) -> Vec<&[u8]> {
    let mut rng = SplitMix(seed);
    let mut pieces = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        let len = (1 + rng.next() % max).min(rest.len() as u64) as usize;
        pieces.push(&rest[..len]);
        rest = &rest[len..];
    }
    pieces
}

/// Checks one case under every split pattern; returns the number of patterns run.
fn check_case(case: &Value) -> usize {
    let name = case["name"].as_str().unwrap();
    let input = case["input"].as_str().unwrap().as_bytes();
    let want = expected(case);
    let mut patterns: Vec<(String, Vec<&[u8]>)> = vec![
        ("whole".into(), vec![input]),
        ("bytewise".into(), input.chunks(1).collect()),
    ];
    if let Some(chunks) = case["chunks"].as_array() {
        let chunks: Vec<&[u8]> = chunks
            .iter()
            .map(|c| c.as_str().unwrap().as_bytes())
            .collect();
        assert_eq!(
            chunks.concat(),
            input,
            "{name}: chunks do not add up to the input"
        );
        patterns.push(("source chunks".into(), chunks));
    }
    for seed in 0..16 {
        patterns.push((
            format!("random seed {seed}"),
            random_pieces(input, seed, 1 + seed * 3),
        ));
    }
    for (label, pieces) in &patterns {
        let got = outcome(pieces.iter().copied());
        assert_eq!(got, want, "case {name}, split {label}");
    }
    patterns.len()
}

#[test]
fn sse_vectors_all_cases_all_splits() {
    let cases = load("sse-vectors.json");
    assert_eq!(cases.len(), 95);
    let runs: usize = cases.iter().map(check_case).sum();
    assert!(runs >= 95 * 18);
}

#[test]
fn gemini_wire_vectors_all_cases_all_splits() {
    let cases = load("gemini-wire-vectors.json");
    assert_eq!(cases.len(), 8);
    for case in &cases {
        check_case(case);
        // Every event of a real body is one JSON response object.
        let (events, _, _) = decode([case["input"].as_str().unwrap().as_bytes()]);
        for event in events {
            let value: Value = serde_json::from_str(&event.data).unwrap();
            assert!(value.is_object());
        }
    }
}

#[test]
fn sse_vectors_offsets_point_at_data_lines() {
    // Independent check of `offset`: the body at an event's offset starts with a `data` field.
    for case in load("sse-vectors.json")
        .iter()
        .chain(load("gemini-wire-vectors.json").iter())
    {
        let input = case["input"].as_str().unwrap().as_bytes();
        let (events, discarded, _) = decode(input.chunks(7));
        for event in events {
            let at = &input[event.offset as usize..];
            assert!(
                at.starts_with(b"data"),
                "{}: offset {}",
                case["name"],
                event.offset
            );
        }
        if let Some(d) = discarded {
            assert_eq!(d.offset + d.len, input.len() as u64);
        }
    }
}
