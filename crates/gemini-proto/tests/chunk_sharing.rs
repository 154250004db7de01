//! The strings every chunk of a stream repeats (model version, response id) are shared between
//! the chunks, not allocated for each: the same `Arc`, with the value serde_json reads.

use std::sync::Arc;

use gemini_proto::StreamFormat;
use gemini_proto::chunk::ChunkDecoder;
use gemini_proto::types::GenerateContentResponse;

fn event(text: &str, model: &str, id: &str) -> String {
    format!(
        r#"{{"candidates": [{{"content": {{"parts": [{{"text": "{text}"}}], "role": "model"}}}}], "modelVersion": "{model}", "responseId": "{id}"}}"#
    )
}

fn decode(format: StreamFormat, events: &[String]) -> Vec<GenerateContentResponse> {
    let body = match format {
        StreamFormat::JsonArray => format!("[{}]", events.join(",")),
        _ => events
            .iter()
            .map(|e| format!("data: {e}\r\n\r\n"))
            .collect(),
    };
    let mut decoder = ChunkDecoder::new(format);
    decoder.push(body.as_bytes());
    decoder.finish();
    let mut chunks = Vec::new();
    while let Some(Ok(chunk)) = decoder.next_chunk() {
        chunks.push(chunk);
    }
    chunks
}

fn model(chunk: &GenerateContentResponse) -> &Arc<str> {
    chunk.model_version.as_ref().expect("a model version")
}

fn id(chunk: &GenerateContentResponse) -> &Arc<str> {
    chunk.response_id.as_ref().expect("a response id")
}

#[test]
fn the_chunks_of_a_stream_share_their_model_version_and_response_id() {
    for format in [StreamFormat::Sse, StreamFormat::JsonArray] {
        let events = [
            event("a", "gemini-2.5-flash", "r1"),
            event("b", "gemini-2.5-flash", "r1"),
            event("c", "gemini-2.5-flash", "r1"),
        ];
        let chunks = decode(format, &events);
        assert_eq!(chunks.len(), 3, "{format:?}");
        for (chunk, json) in chunks.iter().zip(&events) {
            let expected: GenerateContentResponse = serde_json::from_str(json).unwrap();
            assert_eq!(chunk, &expected, "{format:?}");
            assert!(Arc::ptr_eq(model(chunk), model(&chunks[0])), "{format:?}");
            assert!(Arc::ptr_eq(id(chunk), id(&chunks[0])), "{format:?}");
        }
        assert_eq!(&**model(&chunks[2]), "gemini-2.5-flash");
        assert_eq!(&**id(&chunks[2]), "r1");
    }
}

#[test]
fn different_or_escaped_values_read_as_themselves() {
    let events = [
        event("a", "gemini-2.5-flash", "r1"),
        event("b", "gemini-2.5-pro", "r2"),
        event("c", r"gemini-2.5-\u0066lash", "r1"),
        event("d", "gemini-2.5-flash", "r1"),
    ];
    let chunks = decode(StreamFormat::Sse, &events);
    assert_eq!(chunks.len(), 4);
    for (chunk, json) in chunks.iter().zip(&events) {
        let expected: GenerateContentResponse = serde_json::from_str(json).unwrap();
        assert_eq!(chunk, &expected);
    }
    assert_eq!(&**model(&chunks[1]), "gemini-2.5-pro");
    assert!(!Arc::ptr_eq(model(&chunks[0]), model(&chunks[1])));
    assert_eq!(&**id(&chunks[1]), "r2");
    // An escape spells the same value, read as itself.
    assert_eq!(model(&chunks[2]), model(&chunks[0]));
    // A value seen before is shared again after another one came between.
    assert!(Arc::ptr_eq(model(&chunks[3]), model(&chunks[0])));
    assert!(Arc::ptr_eq(id(&chunks[3]), id(&chunks[0])));
}

#[test]
fn a_stream_of_ever_new_values_keeps_reading_them() {
    let events: Vec<String> = (0..50)
        .map(|n| event("t", &format!("model-{n}"), &format!("id-{n}")))
        .collect();
    let chunks = decode(StreamFormat::Sse, &events);
    assert_eq!(chunks.len(), 50);
    for (n, chunk) in chunks.iter().enumerate() {
        assert_eq!(&**model(chunk), format!("model-{n}"));
        assert_eq!(&**id(chunk), format!("id-{n}"));
    }
}
