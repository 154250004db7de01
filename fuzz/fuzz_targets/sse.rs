//! The SSE decoder never panics, and its output does not depend on how the body is split.
#![no_main]

use gemini_proto::sse::{Discarded, EventTooLarge, SseDecoder, SseEvent};
use libfuzzer_sys::fuzz_target;

mod split;

type Outcome = (
    Vec<SseEvent>,
    Option<EventTooLarge>,
    (String, Option<u64>),
    Option<Discarded>,
);

fn run(pieces: &[&[u8]], limit: usize) -> Outcome {
    let mut decoder = SseDecoder::with_max_event_size(limit);
    let error = pieces.iter().find_map(|piece| decoder.push(piece).err());
    let events: Vec<_> = std::iter::from_fn(|| decoder.next_event()).collect();
    let state = (
        decoder.last_event_id().to_owned(),
        decoder.reconnection_time(),
    );
    let discarded = if error.is_none() {
        decoder.finish()
    } else {
        None
    };
    (events, error, state, discarded)
}

fuzz_target!(|data: &[u8]| {
    let Some(case) = split::case(data) else {
        return;
    };
    let whole = run(&[case.body], case.limit);
    assert_eq!(run(&case.pieces, case.limit), whole);
});
