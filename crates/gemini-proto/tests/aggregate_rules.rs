//! The folding rules of `Aggregator` (module documentation of `aggregate.rs`), checked on hand-written
//! chunks, on real captures against values computed independently from the raw JSON, and by a property
//! over generated chunk sequences.

use std::borrow::Cow;

use gemini_proto::aggregate::Aggregator;
use gemini_proto::types::{FinishReason, GenerateContentResponse, Part, PartData};
use proptest::prelude::*;
use serde_json::{Value, json};

const CAPTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/data/real-captures/"
);

fn chunk(value: Value) -> GenerateContentResponse {
    serde_json::from_value(value).unwrap()
}

fn aggregate(chunks: &[GenerateContentResponse]) -> GenerateContentResponse {
    let mut aggregator = Aggregator::new();
    for chunk in chunks {
        aggregator.push(chunk);
    }
    assert_eq!(aggregator.chunks(), chunks.len() as u64);
    aggregator.into_response()
}

/// A single-candidate chunk with these parts.
fn parts_chunk(parts: Value) -> GenerateContentResponse {
    chunk(json!({"candidates": [{"content": {"parts": parts, "role": "model"}, "index": 0}]}))
}

/// The aggregate's parts as JSON, for readable comparisons.
fn parts_json(response: &GenerateContentResponse) -> Value {
    serde_json::to_value(response.parts()).unwrap()
}

/// A plain base64 decoder (standard alphabet, padding optional), independent of the crate.
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let digits: Vec<u32> = text.bytes().filter(|&c| c != b'=').map(value).collect();
    let mut out = Vec::new();
    for group in digits.chunks(4) {
        let mut n = 0u32;
        for (i, d) in group.iter().enumerate() {
            n |= d << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..group.len() - 1]);
    }
    out
}

#[test]
fn base64_reference_decoder_works() {
    assert_eq!(base64_decode("c2lnbmF0dXJl"), b"signature");
    assert_eq!(base64_decode("YQ=="), b"a");
    assert_eq!(base64_decode("YWI="), b"ab");
    assert_eq!(base64_decode("YWJj"), b"abc");
}

// ---------------------------------------------------------------------------------------------
// Parts
// ---------------------------------------------------------------------------------------------

#[test]
fn adjacent_text_merges_into_one_part() {
    let response = aggregate(&[
        parts_chunk(json!([{"text": "The "}])),
        parts_chunk(json!([{"text": "capital "}, {"text": "is"}])),
        parts_chunk(json!([{"text": " Paris."}])),
    ]);
    assert_eq!(
        parts_json(&response),
        json!([{"text": "The capital is Paris."}])
    );
    assert_eq!(response.candidates.len(), 1);
    assert_eq!(
        response.candidates[0].content.as_ref().unwrap().role,
        Some(gemini_proto::types::Role::Model)
    );
}

#[test]
fn thought_text_is_kept_apart_from_answer_text() {
    let response = aggregate(&[
        parts_chunk(json!([{"text": "Let me ", "thought": true}])),
        parts_chunk(json!([{"text": "think.", "thought": true}])),
        parts_chunk(json!([{"text": "Answer"}])),
        parts_chunk(json!([{"text": ": 42"}])),
        parts_chunk(json!([{"text": "Hmm.", "thought": true}])),
    ]);
    assert_eq!(
        parts_json(&response),
        json!([
            {"text": "Let me think.", "thought": true},
            {"text": "Answer: 42"},
            {"text": "Hmm.", "thought": true},
        ])
    );
    assert_eq!(response.text().as_deref(), Some("Answer: 42"));
    assert_eq!(
        response.thought_text().as_deref(),
        Some("Let me think.Hmm.")
    );
}

#[test]
fn signed_parts_are_never_merged_in_either_direction() {
    let response = aggregate(&[
        parts_chunk(json!([{"text": "a"}])),
        parts_chunk(json!([{"text": "b", "thoughtSignature": "c2lnMQ=="}])),
        parts_chunk(json!([{"text": "c"}])),
        parts_chunk(json!([{"text": "d"}])),
        parts_chunk(json!([{"text": "", "thoughtSignature": "c2lnMg=="}])),
    ]);
    assert_eq!(
        parts_json(&response),
        json!([
            {"text": "a"},
            {"text": "b", "thoughtSignature": "c2lnMQ=="},
            {"text": "cd"},
            {"text": "", "thoughtSignature": "c2lnMg=="},
        ])
    );
    let parts = response.parts();
    assert_eq!(parts[1].thought_signature.as_deref(), Some(&b"sig1"[..]));
    assert_eq!(parts[3].thought_signature.as_deref(), Some(&b"sig2"[..]));
    assert_eq!(parts[3].as_text(), Some(""));
    assert_eq!(response.text().as_deref(), Some("abcd"));
}

#[test]
fn a_signed_thought_is_not_merged_with_thoughts() {
    let response = aggregate(&[
        parts_chunk(json!([{"text": "x", "thought": true}])),
        parts_chunk(json!([{"text": "y", "thought": true, "thoughtSignature": "AAEC"}])),
        parts_chunk(json!([{"text": "z", "thought": true}])),
    ]);
    assert_eq!(response.parts().len(), 3);
    assert_eq!(
        response.parts()[1].thought_signature.as_deref(),
        Some(&[0u8, 1, 2][..])
    );
}

#[test]
fn function_calls_and_other_parts_keep_their_order() {
    let response = aggregate(&[
        parts_chunk(json!([{"functionCall": {"name": "first", "args": {"n": 1}}}])),
        parts_chunk(json!([{"text": "between"}])),
        parts_chunk(json!([
            {"functionCall": {"name": "second", "args": {}}},
            {"functionCall": {"name": "third", "args": {"q": "x"}}},
        ])),
        parts_chunk(json!([{"executableCode": {"language": "PYTHON", "code": "print(1)"}}])),
        parts_chunk(json!([{"text": "after"}])),
    ]);
    let names: Vec<_> = response.function_calls().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["first", "second", "third"]);
    let kinds: Vec<_> = response
        .parts()
        .iter()
        .map(|p| match &p.data {
            PartData::Text(t) => t.clone(),
            PartData::FunctionCall(c) => format!("call:{}", c.name),
            PartData::ExecutableCode(_) => "code".to_owned(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "call:first",
            "between",
            "call:second",
            "call:third",
            "code",
            "after"
        ]
    );
    assert_eq!(
        response.function_calls().nth(2).unwrap().args,
        Some(json!({"q": "x"}))
    );
}

#[test]
fn text_parts_with_unknown_members_are_not_merged() {
    let response = aggregate(&[
        parts_chunk(json!([{"text": "a"}])),
        parts_chunk(json!([{"text": "b", "partialArgs": [1]}])),
        parts_chunk(json!([{"text": "c"}])),
    ]);
    assert_eq!(response.parts().len(), 3);
    assert_eq!(response.parts()[1].extra["partialArgs"], json!([1]));
}

// ---------------------------------------------------------------------------------------------
// Candidate and response metadata
// ---------------------------------------------------------------------------------------------

#[test]
fn last_finish_reason_and_message_win() {
    let response = aggregate(&[
        chunk(
            json!({"candidates": [{"content": {"parts": [{"text": "a"}]}, "finishReason": "STOP"}]}),
        ),
        chunk(json!({"candidates": [{"content": {"parts": [{"text": "b"}]}}]})),
        chunk(json!({"candidates": [{"finishReason": "MAX_TOKENS", "finishMessage": "limit"}]})),
    ]);
    assert_eq!(response.finish_reason(), Some(&FinishReason::MaxTokens));
    assert_eq!(
        response.candidates[0].finish_message.as_deref(),
        Some("limit")
    );
    assert_eq!(response.text().as_deref(), Some("ab"));
}

#[test]
fn citations_accumulate() {
    let response = aggregate(&[
        chunk(
            json!({"candidates": [{"content": {"parts": [{"text": "a"}]},
            "citationMetadata": {"citationSources": [{"uri": "https://one.example", "startIndex": 0, "endIndex": 5}]}}]}),
        ),
        chunk(json!({"candidates": [{"content": {"parts": [{"text": "b"}]}}]})),
        chunk(
            json!({"candidates": [{"content": {"parts": [{"text": "c"}]},
            "citationMetadata": {"citationSources": [{"uri": "https://two.example"}, {"uri": "https://three.example"}]}}]}),
        ),
    ]);
    let uris: Vec<_> = response.candidates[0]
        .citation_metadata
        .as_ref()
        .unwrap()
        .citation_sources
        .iter()
        .map(|s| s.uri.as_deref().unwrap())
        .collect();
    assert_eq!(
        uris,
        [
            "https://one.example",
            "https://two.example",
            "https://three.example"
        ]
    );
}

#[test]
fn usage_is_the_last_snapshot_never_a_sum() {
    let response = aggregate(&[
        chunk(
            json!({"candidates": [{"content": {"parts": [{"text": "a"}]}}],
            "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 50, "totalTokenCount": 60}}),
        ),
        chunk(json!({"candidates": [{"content": {"parts": [{"text": "b"}]}}]})),
        chunk(json!({"candidates": [{"finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 7, "totalTokenCount": 17},
            "modelVersion": "gemini-x", "responseId": "r1"})),
    ]);
    let usage = response.usage().unwrap();
    assert_eq!(usage.total_token_count, Some(17));
    assert_eq!(usage.candidates_token_count, Some(7));
    assert_eq!(usage.prompt_token_count, Some(10));
    assert_eq!(response.model_version.as_deref(), Some("gemini-x"));
    assert_eq!(response.response_id.as_deref(), Some("r1"));
}

#[test]
fn candidates_are_matched_by_index_even_out_of_order() {
    let response = aggregate(&[
        chunk(json!({"candidates": [{"content": {"parts": [{"text": "B1"}]}, "index": 1}]})),
        chunk(json!({"candidates": [
            {"content": {"parts": [{"text": "A1"}]}, "index": 0},
            {"content": {"parts": [{"text": "B2"}]}, "index": 1},
        ]})),
        chunk(json!({"candidates": [
            {"content": {"parts": [{"text": "C1"}]}, "index": 2, "finishReason": "STOP"},
            {"content": {"parts": [{"text": "A2"}]}, "index": 0, "finishReason": "MAX_TOKENS"},
        ]})),
        chunk(
            json!({"candidates": [{"content": {"parts": [{"text": "B3"}]}, "index": 1, "finishReason": "SAFETY"}]}),
        ),
    ]);
    let texts: Vec<_> = response
        .candidates
        .iter()
        .map(|c| c.content.as_ref().unwrap().text().unwrap())
        .collect();
    assert_eq!(texts, ["A1A2", "B1B2B3", "C1"]);
    let indices: Vec<_> = response
        .candidates
        .iter()
        .map(|c| c.index.unwrap_or(0))
        .collect();
    assert_eq!(indices, [0, 1, 2]);
    let reasons: Vec<_> = response
        .candidates
        .iter()
        .map(|c| c.finish_reason.clone().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            FinishReason::MaxTokens,
            FinishReason::Safety,
            FinishReason::Stop
        ]
    );
    assert_eq!(response.text().as_deref(), Some("A1A2"));
}

#[test]
fn candidates_without_index_are_matched_by_position() {
    // Index 0 is often left out on the wire (default value); the first candidate without an index is
    // the same candidate as `"index": 0`.
    let response = aggregate(&[
        chunk(json!({"candidates": [{"content": {"parts": [{"text": "a"}]}}]})),
        chunk(json!({"candidates": [{"content": {"parts": [{"text": "b"}]}, "index": 0}]})),
        chunk(json!({"candidates": [{"content": {"parts": [{"text": "c"}]}}]})),
    ]);
    assert_eq!(response.candidates.len(), 1);
    assert_eq!(response.text().as_deref(), Some("abc"));
}

#[test]
fn prompt_block_is_kept() {
    let response = aggregate(&[chunk(
        json!({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}, "usageMetadata": {"totalTokenCount": 3}}),
    )]);
    assert!(response.candidates.is_empty());
    assert_eq!(
        response.block_reason(),
        Some(&gemini_proto::types::BlockReason::ProhibitedContent)
    );
    assert_eq!(response.text(), None);
}

// ---------------------------------------------------------------------------------------------
// Real captures
// ---------------------------------------------------------------------------------------------

fn capture_events(file: &str) -> Vec<Value> {
    let body = std::fs::read_to_string(format!("{CAPTURES}stream-sse/{file}")).unwrap();
    body.split("\r\n\r\n")
        .filter(|event| !event.is_empty())
        .map(|event| serde_json::from_str(event.strip_prefix("data: ").unwrap()).unwrap())
        .collect()
}

fn capture_chunks(events: &[Value]) -> Vec<GenerateContentResponse> {
    events.iter().map(|e| chunk(e.clone())).collect()
}

#[test]
fn capture_usage_going_down_is_the_last_snapshot() {
    let file = "stream-text-gemini-2.0-flash-jsgenai-01.sse";
    let events = capture_events(file);
    let totals: Vec<u64> = events
        .iter()
        .filter_map(|e| e["usageMetadata"]["totalTokenCount"].as_u64())
        .collect();
    assert!(
        totals.windows(2).any(|w| w[1] < w[0]),
        "{file} was chosen because its total goes down: {totals:?}"
    );
    let last_usage = events
        .iter()
        .rev()
        .find_map(|e| e.get("usageMetadata"))
        .unwrap();
    let response = aggregate(&capture_chunks(&events));
    assert_eq!(
        serde_json::to_value(response.usage().unwrap()).unwrap(),
        *last_usage
    );
    assert_eq!(
        u64::from(response.usage().unwrap().total_token_count.unwrap()),
        *totals.last().unwrap()
    );
}

#[test]
fn capture_signatures_survive_byte_for_byte() {
    for file in [
        "stream-text-sig-gemini-3-flash-preview-pydanticai-01.sse",
        "stream-thought-gemini-3-pro-preview-mirascope-01.sse",
        "stream-codeexec-sig-gemini-3-flash-preview-pydanticai-01.sse",
        "stream-servertool-grounding-sig-gemini-3-flash-preview-pydanticai-02.sse",
        "stream-fncall-sig-gemini-3.5-flash-openinference-01.sse",
    ] {
        let events = capture_events(file);
        // Every signature on the wire, in order, base64-decoded by the reference decoder.
        let wire: Vec<Vec<u8>> = events
            .iter()
            .flat_map(|e| {
                e["candidates"][0]["content"]["parts"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|p| p["thoughtSignature"].as_str().map(base64_decode))
            .collect();
        assert!(!wire.is_empty(), "{file}");
        let response = aggregate(&capture_chunks(&events));
        let kept: Vec<Vec<u8>> = response
            .parts()
            .iter()
            .filter_map(|p| p.thought_signature.as_ref().map(|s| s.to_vec()))
            .collect();
        assert_eq!(kept, wire, "{file}");
    }
}

#[test]
fn capture_empty_signed_text_part_is_kept() {
    let file = "stream-text-sig-gemini-3-flash-preview-pydanticai-01.sse";
    let events = capture_events(file);
    let last = events.last().unwrap();
    let wire_part = &last["candidates"][0]["content"]["parts"][0];
    assert_eq!(wire_part["text"], "");
    let signature = base64_decode(wire_part["thoughtSignature"].as_str().unwrap());

    let response = aggregate(&capture_chunks(&events));
    let part = response.parts().last().unwrap();
    assert_eq!(part.as_text(), Some(""));
    assert_eq!(part.thought_signature.as_deref(), Some(&signature[..]));
    // The answer text before it is one merged part.
    let answer: String = events[..events.len() - 1]
        .iter()
        .flat_map(|e| {
            e["candidates"][0]["content"]["parts"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|p| p["text"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(response.parts().len(), 2);
    assert_eq!(response.parts()[0].as_text(), Some(answer.as_str()));
}

#[test]
fn capture_function_calls_in_order() {
    for file in [
        "stream-fncall-gemini-2.0-flash-crewai-02.sse",
        "stream-fncall-sig-gemini-3.5-flash-openinference-01.sse",
    ] {
        let events = capture_events(file);
        let wire: Vec<(String, Option<Value>)> = events
            .iter()
            .flat_map(|e| {
                e["candidates"][0]["content"]["parts"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|p| {
                let call = p.get("functionCall")?;
                Some((call["name"].as_str()?.to_owned(), call.get("args").cloned()))
            })
            .collect();
        assert!(wire.len() >= 2, "{file}");
        let response = aggregate(&capture_chunks(&events));
        let got: Vec<(String, Option<Value>)> = response
            .function_calls()
            .map(|c| (c.name.clone(), c.args.clone()))
            .collect();
        assert_eq!(got, wire, "{file}");
    }
}

// ---------------------------------------------------------------------------------------------
// Property: text of the aggregate = concatenation of the chunks' texts
// ---------------------------------------------------------------------------------------------

fn part_strategy() -> impl Strategy<Value = Part> {
    let text = "[a-z ]{0,4}";
    let sig = proptest::collection::vec(any::<u8>(), 0..6);
    prop_oneof![
        4 => text.prop_map(Part::text),
        2 => text.prop_map(|t| Part::text(t).with_thought(true)),
        1 => text.prop_map(|t| Part::text(t).with_thought(false)),
        1 => "[a-z]{1,3}".prop_map(|n| Part::function_call(n, json!({}))),
        1 => (text, sig.clone()).prop_map(|(t, s)| Part::text(t).with_thought_signature(s)),
        1 => (text, sig.clone()).prop_map(|(t, s)| Part::text(t).with_thought(true).with_thought_signature(s)),
        1 => ("[a-z]{1,3}", sig).prop_map(|(n, s)| Part::function_call(n, json!({})).with_thought_signature(s)),
    ]
}

fn chunk_of(parts: Vec<Part>, with_content: bool) -> GenerateContentResponse {
    let content = if with_content {
        json!({"content": {"parts": serde_json::to_value(&parts).unwrap(), "role": "model"}})
    } else {
        json!({})
    };
    chunk(json!({"candidates": [content]}))
}

fn concat(texts: impl Iterator<Item = Option<String>>) -> Option<String> {
    texts.fold(None, |acc, text| match (acc, text) {
        (None, None) => None,
        (acc, text) => Some(acc.unwrap_or_default() + &text.unwrap_or_default()),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn aggregate_text_is_the_concatenation_of_chunk_texts(
        chunks in proptest::collection::vec(
            (proptest::collection::vec(part_strategy(), 0..4), any::<bool>()), 0..8),
    ) {
        let chunks: Vec<_> = chunks.into_iter().map(|(parts, c)| chunk_of(parts, c)).collect();
        let response = aggregate(&chunks);

        prop_assert_eq!(response.text().map(Cow::into_owned), concat(chunks.iter().map(|c| c.text().map(Cow::into_owned))));
        prop_assert_eq!(response.thought_text().map(Cow::into_owned), concat(chunks.iter().map(|c| c.thought_text().map(Cow::into_owned))));

        // Signatures and function calls survive, in order.
        let sigs = |parts: &[Part]| -> Vec<Vec<u8>> {
            parts.iter().filter_map(|p| p.thought_signature.as_ref().map(|s| s.to_vec())).collect()
        };
        let wire_sigs: Vec<_> = chunks.iter().flat_map(|c| sigs(c.parts())).collect();
        prop_assert_eq!(sigs(response.parts()), wire_sigs);
        let wire_calls: Vec<_> = chunks.iter().flat_map(|c| c.function_calls().map(|f| f.name.clone())).collect();
        let calls: Vec<_> = response.function_calls().map(|f| f.name.clone()).collect();
        prop_assert_eq!(calls, wire_calls);

        // Merging is maximal: no two adjacent unsigned text parts of the same kind are left apart.
        for pair in response.parts().windows(2) {
            let plain = |p: &Part| matches!(p.data, PartData::Text(_)) && p.thought_signature.is_none();
            prop_assert!(
                !(plain(&pair[0]) && plain(&pair[1]) && pair[0].is_thought() == pair[1].is_thought()),
                "unmerged neighbours {:?}", pair
            );
        }
    }

    #[test]
    fn chunks_without_content_change_no_text(
        parts in proptest::collection::vec(part_strategy(), 0..6),
    ) {
        let with = aggregate(&[chunk_of(parts.clone(), true)]);
        let with_empty = aggregate(&[chunk_of(Vec::new(), false), chunk_of(parts, true), chunk_of(Vec::new(), false)]);
        prop_assert_eq!(with.text(), with_empty.text());
        prop_assert_eq!(with.parts(), with_empty.parts());
    }
}

/// Without content, the aggregate of every recorded stream is the full aggregate minus what
/// accumulates: no parts, citations, grounding attributions or log probabilities; the rest equal.
#[test]
fn metadata_only_keeps_everything_but_what_accumulates() {
    let mut files: Vec<_> = std::fs::read_dir(format!("{CAPTURES}stream-sse"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert!(files.len() > 100);
    for file in files {
        let body = std::fs::read_to_string(format!("{CAPTURES}stream-sse/{file}")).unwrap();
        let chunks: Vec<GenerateContentResponse> = body
            .lines()
            .filter_map(|line| line.strip_prefix("data: "))
            .filter(|data| !data.contains("\"error\""))
            .map(|data| serde_json::from_str(data).unwrap())
            .collect();
        let full = aggregate(&chunks);
        let mut aggregator = Aggregator::metadata_only();
        for chunk in &chunks {
            aggregator.push(chunk);
        }
        assert_eq!(aggregator.chunks(), chunks.len() as u64);
        let mut expected = full.clone();
        for candidate in &mut expected.candidates {
            if let Some(content) = candidate.content.as_mut() {
                content.parts.clear();
            }
            candidate.citation_metadata = None;
            candidate.grounding_attributions.clear();
            candidate.logprobs_result = None;
        }
        let lean = aggregator.into_response();
        assert!(lean.parts().is_empty(), "{file}");
        assert_eq!(lean, expected, "{file}");
    }
}
