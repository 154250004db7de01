//! The aggregator never panics on any sequence of chunks the decoder accepts, its text is the
//! concatenation of the chunks' texts (one candidate a chunk), every thought signature that arrived is kept, and the
//! aggregate serializes to JSON that reads back with the same text and signatures.
#![no_main]

use gemini_proto::StreamFormat;
use gemini_proto::aggregate::Aggregator;
use gemini_proto::chunk::ChunkDecoder;
use gemini_proto::types::GenerateContentResponse;
use libfuzzer_sys::fuzz_target;

fn signatures(response: &GenerateContentResponse) -> usize {
    response
        .candidates
        .iter()
        .filter_map(|c| c.content.as_ref())
        .flat_map(|c| &c.parts)
        .filter(|p| p.thought_signature.is_some())
        .count()
}

fuzz_target!(|data: &[u8]| {
    let format = match data.first() {
        Some(b'[') => StreamFormat::JsonArray,
        _ => StreamFormat::Sse,
    };
    let mut decoder = ChunkDecoder::new(format);
    decoder.push(data);
    decoder.finish();
    let mut aggregator = Aggregator::new();
    let mut text: Option<String> = None;
    let mut sent_signatures = 0;
    let mut chunks = 0u64;
    let mut single_candidate = true;
    while let Some(Ok(chunk)) = decoder.next_chunk() {
        single_candidate &= chunk.candidates.len() <= 1;
        // Only chunks whose first candidate is the one `text()` reads take part in the text rule.
        if let Some(piece) = chunk.text() {
            text.get_or_insert_with(String::new).push_str(&piece);
        }
        sent_signatures += signatures(&chunk);
        aggregator.push(&chunk);
        chunks += 1;
    }
    assert_eq!(aggregator.chunks(), chunks);
    let response = aggregator.into_response();
    // With one candidate a chunk, `text()` of every chunk reads the candidate the aggregate holds.
    if single_candidate && response.candidates.len() <= 1 {
        assert_eq!(response.text().as_deref(), text.as_deref());
    }
    assert_eq!(signatures(&response), sent_signatures);
    let json = serde_json::to_vec(&response).expect("a response always serializes");
    let back: GenerateContentResponse =
        serde_json::from_slice(&json).expect("the aggregate reads back");
    assert_eq!(back.text(), response.text());
    assert_eq!(signatures(&back), sent_signatures);
    assert_eq!(back.candidates.len(), response.candidates.len());
});
