//! What the Interactions event decoder and assembler do with everything a stream can hold:
//! unknown event, step and delta types kept; in-band errors in every form; oversized events;
//! invalid UTF-8 and a byte-order mark; a `[DONE]` sentinel; a missing `event_type`.

use gemini_proto::ErrorKind;
use gemini_proto::interactions::{
    Assembler, Delta, EventDecoder, InteractionEvent, Step, parse_partial_json,
};
use serde_json::{Value, json};

fn decode(body: &[u8]) -> (Vec<InteractionEvent>, Option<gemini_proto::Error>) {
    decode_with(EventDecoder::new(), body)
}

fn decode_with(
    mut decoder: EventDecoder,
    body: &[u8],
) -> (Vec<InteractionEvent>, Option<gemini_proto::Error>) {
    decoder.push(body);
    decoder.finish();
    let mut events = Vec::new();
    let mut error = None;
    while let Some(item) = decoder.next_event() {
        match item {
            Ok(event) => events.push(event),
            Err(e) => error = Some(e),
        }
    }
    (events, error)
}

fn frame(data: &Value) -> String {
    let name = data["event_type"].as_str().unwrap_or("message");
    format!("event: {name}\ndata: {data}\n\n")
}

const CREATED: &str =
    r#"{"interaction":{"id":"v1_x","status":"in_progress"},"event_type":"interaction.created"}"#;
const COMPLETED: &str =
    r#"{"interaction":{"id":"v1_x","status":"completed"},"event_type":"interaction.completed"}"#;

fn around(middle: &[Value]) -> String {
    let mut body = frame(&serde_json::from_str(CREATED).unwrap());
    for data in middle {
        body.push_str(&frame(data));
    }
    body.push_str(&frame(&serde_json::from_str(COMPLETED).unwrap()));
    body
}

#[test]
fn unknown_event_step_and_delta_types_are_kept_whole_and_written_back() {
    let middle = [
        json!({"event_type": "interaction.thinking_budget", "remaining": 12}),
        json!({"event_type": "step.start", "index": 0, "step": {"type": "hologram_call", "id": "h1", "beam": [1, 2]}}),
        json!({"event_type": "step.delta", "index": 0, "delta": {"type": "hologram_call", "beam": [3]}}),
        json!({"event_type": "step.delta", "index": 0, "delta": {"type": "smell", "note": "rose"}}),
        json!({"event_type": "step.stop", "index": 0}),
        json!({"event_type": "step.start", "index": 1, "step": {"type": "model_output", "future": true}}),
        json!({"event_type": "step.delta", "index": 1, "delta": {"type": "text", "text": "Hi", "lang": "en"}}),
        json!({"event_type": "step.stop", "index": 1}),
    ];
    let (events, error) = decode(around(&middle).as_bytes());
    assert!(error.is_none(), "{error:?}");
    assert_eq!(events.len(), middle.len() + 2);
    for (event, data) in events[1..].iter().zip(&middle) {
        assert_eq!(&Value::Object(event.to_data()), data);
    }
    assert!(
        matches!(&events[1], InteractionEvent::Unknown(u) if u.event_type == "interaction.thinking_budget")
    );
    let mut assembler = Assembler::new();
    for event in &events {
        assembler.push(event);
    }
    let interaction = assembler.interaction();
    // The unknown step took its own deltas (arrays extended); the unknown delta of another
    // type could not be folded and is counted; the unknown event too.
    let Step::Unknown(hologram) = &interaction.steps[0] else {
        panic!("{:?}", interaction.steps[0]);
    };
    assert_eq!(hologram.fields()["beam"], json!([1, 2, 3]));
    assert_eq!(assembler.unfolded(), 2);
    assert_eq!(interaction.text().as_deref(), Some("Hi"));
    assert_eq!(
        serde_json::to_value(&interaction.steps[1]).unwrap()["future"],
        true
    );
}

#[test]
fn in_band_errors_in_every_form_end_the_stream_after_the_events_before_them() {
    let start = frame(&serde_json::from_str(CREATED).unwrap());
    let cases: [(&str, String, ErrorKind); 4] = [
        (
            "google.rpc.Status event",
            format!(
                "{start}data: {{\"error\": {{\"code\": 503, \"message\": \"overloaded\", \"status\": \"UNAVAILABLE\"}}}}\n\n"
            ),
            ErrorKind::Api,
        ),
        (
            "raw JSON after the framing",
            format!(
                "{start}{{\n  \"error\": {{\n    \"code\": 500,\n    \"message\": \"internal\",\n    \"status\": \"INTERNAL\"\n  }}\n}}\n"
            ),
            ErrorKind::Api,
        ),
        (
            "an event that is not JSON",
            format!(
                "{start}event: step.delta\ndata: {{\"index\":0,\"delta\":{{\"text\":\"trunc\n\n"
            ),
            ErrorKind::Decode,
        ),
        (
            "an event of a known type with the wrong shape",
            format!(
                "{start}event: step.start\ndata: {{\"event_type\":\"step.start\",\"index\":\"zero\"}}\n\n"
            ),
            ErrorKind::Decode,
        ),
    ];
    for (name, body, kind) in cases {
        let (events, error) = decode(body.as_bytes());
        assert_eq!(events.len(), 1, "{name}");
        let error = error.unwrap_or_else(|| panic!("{name}: no error"));
        assert_eq!(error.kind(), kind, "{name}: {error}");
        assert_eq!(error.event_index(), Some(1), "{name}");
        assert!(error.byte_offset().is_some(), "{name}");
    }
    // An `error` event is an event: the call decides what it means.
    let body = around(&[
        json!({"event_type": "error", "error": {"code": "resource_exhausted", "message": "quota"}}),
    ]);
    let (events, error) = decode(body.as_bytes());
    assert!(error.is_none());
    assert!(
        matches!(&events[1], InteractionEvent::Error(e) if e.error.as_ref().unwrap().message.as_deref() == Some("quota"))
    );
}

#[test]
fn an_event_over_the_limit_is_an_error_and_the_events_before_it_stay() {
    let big = "x".repeat(5000);
    let body = around(&[
        json!({"event_type": "step.delta", "index": 0, "delta": {"type": "text", "text": big}}),
    ]);
    let (events, error) = decode_with(EventDecoder::with_max_event_size(1024), body.as_bytes());
    assert_eq!(events.len(), 1);
    let error = error.unwrap();
    assert_eq!(error.kind(), ErrorKind::TooLarge);
    assert_eq!(error.limit(), Some(1024));
}

#[test]
fn a_byte_order_mark_invalid_utf8_a_done_sentinel_and_a_missing_event_type_are_handled() {
    let mut body = b"\xEF\xBB\xBF".to_vec();
    body.extend_from_slice(around(&[]).as_bytes());
    // Invalid UTF-8 inside a text delta reads as U+FFFD.
    let insert = b"event: step.delta\ndata: {\"index\":0,\"delta\":{\"text\":\"a\xFFb\",\"type\":\"text\"},\"event_type\":\"step.delta\"}\n\n";
    let at = body.windows(6).position(|w| w == b"event:").unwrap() + 1;
    let at = at + body[at..].windows(6).position(|w| w == b"event:").unwrap();
    body.splice(at..at, insert.iter().copied());
    // The type given by the `event:` line alone.
    body.extend_from_slice(b"event: step.stop\ndata: {\"index\":0}\n\n");
    body.extend_from_slice(b"event: done\ndata: [DONE]\n\n");
    let (events, error) = decode(&body);
    assert!(error.is_none(), "{error:?}");
    let types: Vec<&str> = events.iter().map(InteractionEvent::event_type).collect();
    assert_eq!(
        types,
        [
            "interaction.created",
            "step.delta",
            "interaction.completed",
            "step.stop"
        ]
    );
    assert_eq!(events[1].text(), Some("a\u{FFFD}b"));
}

#[test]
fn a_clean_end_before_interaction_completed_is_incomplete() {
    let body = frame(&serde_json::from_str(CREATED).unwrap());
    let (events, error) = decode(body.as_bytes());
    assert_eq!(events.len(), 1);
    let error = error.unwrap();
    assert_eq!(error.kind(), ErrorKind::Incomplete);
    assert!(
        error.to_string().contains("interaction.completed"),
        "{error}"
    );
}

#[test]
fn signatures_summaries_annotations_and_arguments_fold_as_they_stream() {
    let middle = [
        json!({"event_type": "step.start", "index": 0, "step": {"type": "thought", "signature": "", "summary": [{"type": "text", "text": "**Plan**"}]}}),
        json!({"event_type": "step.delta", "index": 0, "delta": {"type": "thought_summary", "content": {"type": "text", "text": " first"}}}),
        json!({"event_type": "step.delta", "index": 0, "delta": {"type": "thought_signature", "signature": "c2ln"}}),
        json!({"event_type": "step.stop", "index": 0}),
        json!({"event_type": "step.start", "index": 1, "step": {"type": "model_output"}}),
        json!({"event_type": "step.delta", "index": 1, "delta": {"type": "text", "text": "Paris is"}}),
        json!({"event_type": "step.delta", "index": 1, "delta": {"type": "text", "text": " nice."}}),
        json!({"event_type": "step.delta", "index": 1, "delta": {"type": "text_annotation_delta", "annotations": [{"type": "url_citation", "url": "https://example.com", "start_index": 0, "end_index": 5}]}}),
        json!({"event_type": "step.stop", "index": 1}),
        json!({"event_type": "step.start", "index": 2, "step": {"type": "function_call", "id": "c1", "name": "book", "arguments": {}}}),
        json!({"event_type": "step.delta", "index": 2, "delta": {"type": "arguments_delta", "arguments": "{\"city\": \"Pa"}}),
    ];
    let (events, _) = decode(around(&middle).as_bytes());
    let mut assembler = Assembler::new();
    for event in &events[..events.len() - 1] {
        assembler.push(event);
    }
    assert_eq!(assembler.partial_arguments(2), Some(json!({"city": "Pa"})));
    assert_eq!(assembler.arguments_text(2), Some("{\"city\": \"Pa"));
    // The call's arguments in the interaction so far: still those of its start.
    let Step::FunctionCall(call) = &assembler.interaction().steps[2] else {
        panic!()
    };
    assert_eq!(call.arguments, Some(json!({})));
    // What a broken stream leaves: the arguments as far as they arrived.
    let partial = assembler.to_interaction();
    assert_eq!(
        partial.function_calls().next().unwrap().arguments,
        Some(json!({"city": "Pa"}))
    );
    let more = json!({"event_type": "step.delta", "index": 2, "delta": {"type": "arguments_delta", "arguments": "ris\", \"nights\": 2}"}});
    let stop = json!({"event_type": "step.stop", "index": 2});
    for data in [more, stop] {
        assembler.push(&serde_json::from_value(data).unwrap());
    }
    let interaction = assembler.interaction();
    let Step::Thought(thought) = &interaction.steps[0] else {
        panic!()
    };
    assert_eq!(thought.signature.as_deref(), Some("c2ln"));
    assert_eq!(
        interaction.thought_summary().as_deref(),
        Some("**Plan** first")
    );
    assert_eq!(interaction.text().as_deref(), Some("Paris is nice."));
    let Step::ModelOutput(output) = &interaction.steps[1] else {
        panic!()
    };
    let gemini_proto::interactions::Content::Text(text) = &output.content[0] else {
        panic!()
    };
    assert_eq!(text.annotations.len(), 1);
    assert_eq!(
        interaction.function_calls().next().unwrap().arguments,
        Some(json!({"city": "Paris", "nights": 2}))
    );
    assert_eq!(
        parse_partial_json("{\"city\": \"Paris\", \"nights\": 2}"),
        Some(json!({"city": "Paris", "nights": 2}))
    );
    assert_eq!(Delta::text("x").type_name(), "text");
}
