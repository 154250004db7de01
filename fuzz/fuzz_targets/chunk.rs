//! The chunk decoder (with its raw-JSON sniffer in front of the SSE decoder) never panics, and
//! what it yields does not depend on how the body is split: the same chunks, then the same
//! terminal error (kind, position and message).
#![no_main]

use gemini_proto::StreamFormat;
use gemini_proto::chunk::ChunkDecoder;
use gemini_proto::types::GenerateContentResponse;
use libfuzzer_sys::fuzz_target;

mod outcome;
mod split;

use outcome::{Decoder, ErrorSummary, collect};

type Outcome = (Vec<GenerateContentResponse>, Option<ErrorSummary>, u64);

impl Decoder for ChunkDecoder {
    type Item = GenerateContentResponse;
    fn push(&mut self, bytes: &[u8]) {
        ChunkDecoder::push(self, bytes);
    }
    fn finish(&mut self) {
        ChunkDecoder::finish(self);
    }
    fn next(&mut self) -> Option<Result<GenerateContentResponse, gemini_proto::Error>> {
        self.next_chunk()
    }
    fn is_done(&self) -> bool {
        ChunkDecoder::is_done(self)
    }
}

fn run(pieces: &[&[u8]], format: StreamFormat, limit: usize) -> Outcome {
    let mut decoder = ChunkDecoder::with_max_event_size(format, limit);
    let (chunks, error) = collect(&mut decoder, pieces);
    assert_eq!(decoder.chunks_decoded(), chunks.len() as u64);
    (chunks, error, decoder.chunks_decoded())
}

fuzz_target!(|data: &[u8]| {
    let Some(case) = split::case(data) else {
        return;
    };
    // The body's first byte chooses the framing the way a real body would look.
    let format = match case.body.first() {
        Some(b'[') => StreamFormat::JsonArray,
        _ => StreamFormat::Sse,
    };
    let whole = run(&[case.body], format, case.limit);
    assert_eq!(run(&case.pieces, format, case.limit), whole);
    // One byte at a time, for short bodies (the worst split for the sniffer and the decoders).
    if case.body.len() <= 512 {
        let bytes: Vec<&[u8]> = case.body.chunks(1).collect();
        assert_eq!(run(&bytes, format, case.limit), whole);
    }
});
