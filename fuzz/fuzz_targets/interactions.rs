//! The Interactions API's event decoder never panics and yields the same events and the same
//! terminal error however the body is split; the assembler folds any events without panicking,
//! and reads every function call's arguments (the partial JSON reader) without panicking.
#![no_main]

use gemini_proto::interactions::{Assembler, EventDecoder, InteractionEvent, parse_partial_json};
use libfuzzer_sys::fuzz_target;

mod split;

/// An error, as far as it can be compared.
type ErrorSummary = (String, Option<u64>, Option<u64>, String);

fn run(pieces: &[&[u8]], limit: usize) -> (Vec<InteractionEvent>, Option<ErrorSummary>) {
    let mut decoder = EventDecoder::with_max_event_size(limit);
    let mut events = Vec::new();
    let mut error = None;
    let mut drain = |decoder: &mut EventDecoder| {
        while let Some(item) = decoder.next_event() {
            match item {
                Ok(event) => {
                    assert!(error.is_none(), "an event came after the terminal error");
                    events.push(event);
                }
                Err(err) => {
                    assert!(error.is_none(), "two terminal errors");
                    error = Some((
                        format!("{:?}", err.kind()),
                        err.event_index(),
                        err.byte_offset(),
                        err.to_string(),
                    ));
                }
            }
        }
    };
    for piece in pieces {
        decoder.push(piece);
        drain(&mut decoder);
    }
    decoder.finish();
    drain(&mut decoder);
    assert!(decoder.is_done());
    (events, error)
}

fuzz_target!(|data: &[u8]| {
    let Some(case) = split::case(data) else {
        return;
    };
    let whole = run(&[case.body], case.limit);
    assert_eq!(run(&case.pieces, case.limit), whole);
    let mut assembler = Assembler::new();
    for event in &whole.0 {
        assembler.push(event);
        // Every event writes back to data that reads back and writes the same again.
        let data = event.to_data();
        let again: InteractionEvent =
            serde_json::from_value(serde_json::Value::Object(data.clone())).unwrap();
        assert_eq!(again.to_data(), data);
    }
    for index in 0..assembler.interaction().steps.len() {
        let _ = assembler.partial_arguments(index);
    }
    let _ = assembler.to_interaction();
    let _ = parse_partial_json(&String::from_utf8_lossy(case.body));
});
