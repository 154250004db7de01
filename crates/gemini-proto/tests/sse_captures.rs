//! Every recorded Gemini `alt=sse` body in `tests/data/real-captures/stream-sse/` decodes to the
//! same events under several split patterns, each event's data is one JSON object, and the
//! event count matches the capture's manifest entry.

use gemini_proto::sse::SseDecoder;
use serde_json::Value;
use std::collections::HashMap;

const CAPTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/data/real-captures/"
);

fn manifest_event_counts() -> HashMap<String, u64> {
    let text = std::fs::read_to_string(format!("{CAPTURES}MANIFEST.jsonl")).unwrap();
    text.lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter_map(|entry| {
            Some((
                entry["file"].as_str()?.to_owned(),
                entry["events"].as_u64()?,
            ))
        })
        .collect()
}

fn decode(pieces: &mut dyn Iterator<Item = &[u8]>) -> Vec<(u64, u64, String)> {
    let mut decoder = SseDecoder::new();
    let mut events = Vec::new();
    for piece in pieces {
        decoder.push(piece).unwrap();
        while let Some(e) = decoder.next_event() {
            assert_eq!(e.event_type(), "message");
            events.push((e.index, e.offset, e.data));
        }
    }
    assert_eq!(
        decoder.finish(),
        None,
        "recorded bodies end after a complete event"
    );
    events
}

#[test]
fn sse_captures_same_events_under_every_split() {
    let counts = manifest_event_counts();
    let mut files: Vec<_> = std::fs::read_dir(format!("{CAPTURES}stream-sse"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(
        files.len() >= 150,
        "expected the stream-sse captures, found {}",
        files.len()
    );
    let mut total_events = 0;
    for path in &files {
        let body = std::fs::read(path).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap();
        let whole = decode(&mut std::iter::once(&body[..]));
        assert!(!whole.is_empty(), "{name}: no events");
        for (_, _, data) in &whole {
            let value: Value = serde_json::from_str(data).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(value.is_object(), "{name}");
        }
        if let Some(&count) = counts.get(&format!("stream-sse/{name}")) {
            assert_eq!(
                whole.len() as u64,
                count,
                "{name}: event count differs from the manifest"
            );
        }
        for size in [1, 2, 3, 16, 1460, 4096] {
            let split = decode(&mut body.chunks(size));
            assert_eq!(split, whole, "{name}: pieces of {size} bytes");
        }
        // Pieces that end exactly between the CR and the LF of every line ending.
        let mut cuts = vec![0];
        cuts.extend(memchr::memchr_iter(b'\r', &body).map(|i| i + 1));
        cuts.push(body.len());
        let mut at_cr = cuts.windows(2).map(|w| &body[w[0]..w[1]]);
        assert_eq!(decode(&mut at_cr), whole, "{name}: cut after every CR");
        total_events += whole.len();
    }
    assert!(total_events > 700);
}
