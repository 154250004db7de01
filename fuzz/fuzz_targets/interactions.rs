//! The Interactions API's event decoder never panics and yields the same events and the same
//! terminal error however the body is split; the assembler folds any events without panicking,
//! and reads every function call's arguments (the partial JSON reader) without panicking.
#![no_main]

use gemini_proto::interactions::{Assembler, EventDecoder, InteractionEvent, parse_partial_json};
use libfuzzer_sys::fuzz_target;

mod outcome;
mod split;

use outcome::{Decoder, ErrorSummary, collect};

impl Decoder for EventDecoder {
    type Item = InteractionEvent;
    fn push(&mut self, bytes: &[u8]) {
        EventDecoder::push(self, bytes);
    }
    fn finish(&mut self) {
        EventDecoder::finish(self);
    }
    fn next(&mut self) -> Option<Result<InteractionEvent, gemini_proto::Error>> {
        self.next_event()
    }
    fn is_done(&self) -> bool {
        EventDecoder::is_done(self)
    }
}

fn run(pieces: &[&[u8]], limit: usize) -> (Vec<InteractionEvent>, Option<ErrorSummary>) {
    collect(&mut EventDecoder::with_max_event_size(limit), pieces)
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
