//! Every recorded Gemini stream (`stream-sse/*.sse`, `stream-jsonarray/*.json`) decodes through
//! `ChunkDecoder` to one chunk per event or element, without error, under several split patterns; and the
//! text and thought text of the chunks equal those computed independently from the raw JSON.

use gemini_proto::StreamFormat;
use gemini_proto::aggregate::Aggregator;
use gemini_proto::chunk::ChunkDecoder;
use gemini_proto::types::GenerateContentResponse;
use serde_json::Value;
use std::path::PathBuf;

const CAPTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/data/real-captures/"
);

fn files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(format!("{CAPTURES}{dir}"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    files
}

/// A naive reference SSE reader, good enough for the recorded bodies: normalise line ends to LF, split on
/// blank lines, join each block's `data:` values with LF.
fn reference_sse_events(body: &[u8]) -> Vec<Value> {
    let text = std::str::from_utf8(body).unwrap();
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    text.split("\n\n")
        .filter_map(|block| {
            let data: Vec<&str> = block
                .lines()
                .filter_map(|line| line.strip_prefix("data:"))
                .map(|value| value.strip_prefix(' ').unwrap_or(value))
                .collect();
            (!data.is_empty()).then(|| serde_json::from_str(&data.join("\n")).unwrap())
        })
        .collect()
}

fn reference_array_elements(body: &[u8]) -> Vec<Value> {
    serde_json::from_slice(body).unwrap()
}

/// The text of candidates[0] of one raw event: its text parts whose `thought` is `thought`, concatenated;
/// `None` when there is no such part.
fn reference_text(event: &Value, thought: bool) -> Option<String> {
    let parts = event["candidates"][0]["content"]["parts"].as_array()?;
    let mut out: Option<String> = None;
    for part in parts {
        let is_thought = part["thought"] == Value::Bool(true);
        if let Some(text) = part["text"].as_str()
            && is_thought == thought
        {
            out.get_or_insert_with(String::new).push_str(text);
        }
    }
    out
}

fn concat(texts: impl Iterator<Item = Option<String>>) -> Option<String> {
    texts.fold(None, |acc, text| match (acc, text) {
        (None, None) => None,
        (acc, text) => Some(acc.unwrap_or_default() + &text.unwrap_or_default()),
    })
}

fn has_finish(event: &Value) -> bool {
    let finished = event["candidates"]
        .as_array()
        .is_some_and(|cs| cs.iter().any(|c| c.get("finishReason").is_some()));
    finished || event["promptFeedback"].get("blockReason").is_some()
}

/// Cut points: whole, every byte, every 7 bytes, and seeded random pieces of 1..=64 bytes.
fn split_patterns(len: usize, seed: u64) -> Vec<(String, Vec<usize>)> {
    let mut patterns = vec![
        ("whole".to_owned(), vec![]),
        ("1-byte".to_owned(), (1..len).collect()),
        ("7-byte".to_owned(), (7..len).step_by(7).collect()),
    ];
    let mut state = seed | 1;
    for round in 0..2 {
        let mut cuts = Vec::new();
        let mut at = 0;
        loop {
            // xorshift64
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            at += 1 + (state % 64) as usize;
            if at >= len {
                break;
            }
            cuts.push(at);
        }
        patterns.push((format!("random#{round}"), cuts));
    }
    patterns
}

fn decode(format: StreamFormat, body: &[u8], cuts: &[usize]) -> Vec<GenerateContentResponse> {
    let mut decoder = ChunkDecoder::new(format);
    let mut chunks = Vec::new();
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&body.len())) {
        decoder.push(&body[start..cut]);
        start = cut;
        while let Some(item) = decoder.next_chunk() {
            chunks.push(item.unwrap_or_else(|err| panic!("unexpected error: {err}")));
        }
    }
    decoder.finish();
    while let Some(item) = decoder.next_chunk() {
        chunks.push(item.unwrap_or_else(|err| panic!("unexpected error at the end: {err}")));
    }
    assert!(decoder.is_done());
    chunks
}

fn check_captures(
    dir: &str,
    format: StreamFormat,
    reference: fn(&[u8]) -> Vec<Value>,
    min_files: usize,
) {
    let files = files(dir);
    assert!(
        files.len() >= min_files,
        "expected at least {min_files} captures in {dir}, found {}",
        files.len()
    );
    let mut total = 0;
    for (n, path) in files.iter().enumerate() {
        let name = path.file_name().unwrap().to_string_lossy();
        let body = std::fs::read(path).unwrap();
        let events = reference(&body);
        assert!(!events.is_empty(), "{name}");
        // Every recorded stream finished (checked here, independently of the decoder).
        assert!(events.iter().any(has_finish), "{name} has no finish reason");
        let want_text = concat(events.iter().map(|e| reference_text(e, false)));
        let want_thought = concat(events.iter().map(|e| reference_text(e, true)));

        let mut first: Option<Vec<GenerateContentResponse>> = None;
        for (pattern, cuts) in split_patterns(body.len(), 0x9E37_79B9 + n as u64) {
            let chunks = decode(format, &body, &cuts);
            assert_eq!(chunks.len(), events.len(), "{name} ({pattern})");
            for (chunk, event) in chunks.iter().zip(&events) {
                assert_eq!(
                    chunk.text().as_deref(),
                    reference_text(event, false).as_deref(),
                    "{name}"
                );
                assert_eq!(
                    chunk.thought_text().as_deref(),
                    reference_text(event, true).as_deref(),
                    "{name}"
                );
            }
            let mut aggregator = Aggregator::new();
            for chunk in &chunks {
                aggregator.push(chunk);
            }
            let response = aggregator.into_response();
            assert_eq!(
                response.text().as_deref(),
                want_text.as_deref(),
                "{name} ({pattern})"
            );
            assert_eq!(
                response.thought_text().as_deref(),
                want_thought.as_deref(),
                "{name} ({pattern})"
            );
            match &first {
                None => first = Some(chunks),
                Some(first) => assert_eq!(&chunks, first, "{name} ({pattern})"),
            }
        }
        total += events.len();
    }
    assert!(total > files.len());
}

#[test]
fn sse_captures_decode_without_error_under_every_split() {
    check_captures("stream-sse", StreamFormat::Sse, reference_sse_events, 150);
}

#[test]
fn json_array_captures_decode_without_error_under_every_split() {
    check_captures(
        "stream-jsonarray",
        StreamFormat::JsonArray,
        reference_array_elements,
        25,
    );
}

#[test]
fn capture_with_max_tokens_finishes_as_data() {
    let body = std::fs::read(format!(
        "{CAPTURES}stream-sse/stream-maxtokens-gemini-2.0-flash-jsgenai-01.sse"
    ))
    .unwrap();
    let chunks = decode(StreamFormat::Sse, &body, &[]);
    assert_eq!(chunks.len(), 3);
    assert_eq!(
        chunks[2].finish_reason(),
        Some(&gemini_proto::types::FinishReason::MaxTokens)
    );
}

#[test]
fn capture_cut_anywhere_inside_its_last_event_is_truncated() {
    let body = std::fs::read(format!(
        "{CAPTURES}stream-sse/stream-text-gemini-2.0-flash-exp-pydanticai-01.sse"
    ))
    .unwrap();
    let events = reference_sse_events(&body);
    // The last event starts after the second-to-last blank line.
    let last_start = body.windows(4).rposition(|w| w == b"\r\n\r\n").unwrap();
    let last_start = body[..last_start]
        .windows(4)
        .rposition(|w| w == b"\r\n\r\n")
        .unwrap()
        + 4;
    for cut in [last_start + 1, last_start + 10, body.len() - 3] {
        let mut decoder = ChunkDecoder::new(StreamFormat::Sse);
        decoder.push(&body[..cut]);
        decoder.finish();
        let items: Vec<_> = std::iter::from_fn(|| decoder.next_chunk()).collect();
        assert_eq!(items.len(), events.len(), "cut {cut}");
        assert!(items[..events.len() - 1].iter().all(Result::is_ok));
        let err = items.last().unwrap().as_ref().unwrap_err();
        assert_eq!(err.kind(), gemini_proto::ErrorKind::Truncated);
        assert_eq!(err.event_index(), Some(events.len() as u64 - 1));
        assert_eq!(err.byte_offset(), Some(last_start as u64));
    }
}
