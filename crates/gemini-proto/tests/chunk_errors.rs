//! Every way a streamed body can fail after HTTP 200, for both framings of `ChunkDecoder`: the error
//! kind, its event index and byte offset (computed by hand from the input), the chunks kept before it,
//! and the decoder's behaviour after the terminal error.

use std::borrow::Cow;

use gemini_proto::chunk::ChunkDecoder;
use gemini_proto::error::{Error, MAX_EXCERPT_BYTES, RpcStatus};
use gemini_proto::types::{BlockReason, FinishReason, GenerateContentResponse};
use gemini_proto::{ErrorKind, StreamFormat};

/// What a decoder produced for a body.
struct Outcome {
    chunks: Vec<GenerateContentResponse>,
    error: Option<Error>,
}

impl Outcome {
    fn texts(&self) -> Vec<Option<String>> {
        self.chunks
            .iter()
            .map(|c| c.text().map(Cow::into_owned))
            .collect()
    }

    fn err(&self) -> &Error {
        self.error.as_ref().expect("expected a terminal error")
    }

    /// Kind, event index and byte offset of the error.
    fn err_summary(&self) -> Option<(ErrorKind, Option<u64>, Option<u64>)> {
        self.error
            .as_ref()
            .map(|e| (e.kind(), e.event_index(), e.byte_offset()))
    }
}

/// Feeds `body` cut into pieces of `step` bytes (the whole body when `step == 0`), draining after every
/// push, and checks the end-of-stream contract: nothing after the terminal error, ever.
fn decode_with(decoder: &mut ChunkDecoder, body: &[u8], step: usize) -> Outcome {
    let mut chunks = Vec::new();
    let mut error = None;
    let take = |decoder: &mut ChunkDecoder, chunks: &mut Vec<_>, error: &mut Option<Error>| {
        while let Some(item) = decoder.next_chunk() {
            assert!(error.is_none(), "an item came after the terminal error");
            match item {
                Ok(chunk) => chunks.push(chunk),
                Err(err) => *error = Some(err),
            }
        }
    };
    let pieces: Vec<&[u8]> = if step == 0 {
        vec![body]
    } else {
        body.chunks(step).collect()
    };
    for piece in pieces {
        decoder.push(piece);
        take(decoder, &mut chunks, &mut error);
    }
    decoder.finish();
    take(decoder, &mut chunks, &mut error);
    assert!(decoder.is_done());
    // Terminal: nothing more, whatever is pushed afterwards.
    decoder.push(b"data: {\"candidates\": [{\"finishReason\": \"STOP\"}]}\r\n\r\n");
    decoder.finish();
    for _ in 0..3 {
        assert!(decoder.next_chunk().is_none());
    }
    Outcome { chunks, error }
}

/// Decodes `body` whole, byte by byte and in 7-byte pieces; all three must agree. Returns the whole one.
fn decode_sized(format: StreamFormat, max: Option<usize>, body: &[u8]) -> Outcome {
    let make = || match max {
        Some(max) => ChunkDecoder::with_max_event_size(format, max),
        None => ChunkDecoder::new(format),
    };
    let whole = decode_with(&mut make(), body, 0);
    for step in [1, 7] {
        let split = decode_with(&mut make(), body, step);
        assert_eq!(
            split.chunks, whole.chunks,
            "chunks differ with {step}-byte pieces"
        );
        assert_eq!(
            split.err_summary(),
            whole.err_summary(),
            "error differs with {step}-byte pieces"
        );
        assert_eq!(
            split
                .error
                .as_ref()
                .and_then(|e| e.excerpt().map(str::to_owned)),
            whole
                .error
                .as_ref()
                .and_then(|e| e.excerpt().map(str::to_owned)),
        );
    }
    whole
}

fn decode(format: StreamFormat, body: &[u8]) -> Outcome {
    decode_sized(format, None, body)
}

fn sse(body: &[u8]) -> Outcome {
    decode(StreamFormat::Sse, body)
}

fn array(body: &[u8]) -> Outcome {
    decode(StreamFormat::JsonArray, body)
}

/// One SSE event holding a text chunk, optionally finished.
fn text_event(text: &str, finish: Option<&str>) -> String {
    format!("data: {}\r\n\r\n", text_json(text, finish))
}

fn text_json(text: &str, finish: Option<&str>) -> String {
    let finish = finish.map_or(String::new(), |f| format!(r#","finishReason": "{f}""#));
    format!(
        r#"{{"candidates": [{{"content": {{"parts": [{{"text": "{text}"}}],"role": "model"}}{finish},"index": 0}}]}}"#
    )
}

// ---------------------------------------------------------------------------------------------
// Clean streams
// ---------------------------------------------------------------------------------------------

#[test]
fn sse_clean_stream_yields_every_chunk_and_no_error() {
    let body = format!(
        "{}{}{}",
        text_event("Hel", None),
        text_event("lo", None),
        text_event("!", Some("STOP"))
    );
    let out = sse(body.as_bytes());
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(
        out.texts(),
        [Some("Hel".into()), Some("lo".into()), Some("!".into())]
    );
    assert_eq!(out.chunks[2].finish_reason(), Some(&FinishReason::Stop));
}

#[test]
fn sse_accepts_lf_cr_comments_and_multiline_data() {
    // LF framing, a comment, an event split over two data lines, CR framing.
    let body = "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"a\"}]}}]}\n\n\
                : keep-alive\n\n\
                data: {\"candidates\": [{\"content\":\ndata: {\"parts\": [{\"text\": \"b\"}]}}]}\n\n\
                data: {\"candidates\": [{\"finishReason\": \"STOP\"}]}\r\r";
    let out = sse(body.as_bytes());
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(out.texts(), [Some("a".into()), Some("b".into()), None]);
}

#[test]
fn decoder_reports_progress() {
    let mut decoder = ChunkDecoder::new(StreamFormat::Sse);
    assert!(!decoder.saw_finish());
    decoder.push(text_event("a", None).as_bytes());
    assert_eq!(decoder.chunks_decoded(), 1);
    assert!(!decoder.saw_finish());
    assert!(!decoder.is_done());
    // Nothing more for now, but not the end either.
    assert!(decoder.next_chunk().unwrap().is_ok());
    assert!(decoder.next_chunk().is_none());
    assert!(!decoder.is_done());
    decoder.push(text_event("b", Some("STOP")).as_bytes());
    assert!(decoder.saw_finish());
    assert_eq!(decoder.chunks_decoded(), 2);
    decoder.finish();
    assert!(decoder.next_chunk().unwrap().is_ok());
    assert!(decoder.next_chunk().is_none());
    assert!(decoder.is_done());
    // Pushing after a clean finish is ignored.
    decoder.push(text_event("c", Some("STOP")).as_bytes());
    assert!(decoder.next_chunk().is_none());
    assert_eq!(decoder.chunks_decoded(), 2);
}

#[test]
fn non_stop_finish_reasons_are_data() {
    for (reason, expected) in [
        ("SAFETY", FinishReason::Safety),
        ("MAX_TOKENS", FinishReason::MaxTokens),
        ("RECITATION", FinishReason::Recitation),
        ("MODEL_ARMOR", FinishReason::ModelArmor),
        (
            "A_REASON_FROM_THE_FUTURE",
            FinishReason::from_wire("A_REASON_FROM_THE_FUTURE"),
        ),
    ] {
        let body = format!("{}{}", text_event("x", None), text_event("", Some(reason)));
        let out = sse(body.as_bytes());
        assert!(out.error.is_none(), "{reason}: {:?}", out.error);
        assert_eq!(out.chunks.len(), 2);
        assert_eq!(out.chunks[1].finish_reason(), Some(&expected));

        let body = format!(
            "[{},\r\n{}]",
            text_json("x", None),
            text_json("", Some(reason))
        );
        let out = array(body.as_bytes());
        assert!(out.error.is_none(), "{reason}: {:?}", out.error);
        assert_eq!(out.chunks[1].finish_reason(), Some(&expected));
    }
}

#[test]
fn prompt_block_is_complete_not_incomplete() {
    let block = r#"{"promptFeedback": {"blockReason": "SAFETY","safetyRatings": []},"usageMetadata": {"promptTokenCount": 8,"totalTokenCount": 8}}"#;
    let out = sse(format!("data: {block}\r\n\r\n").as_bytes());
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(out.chunks.len(), 1);
    assert_eq!(out.chunks[0].block_reason(), Some(&BlockReason::Safety));
    assert!(out.chunks[0].candidates.is_empty());

    let out = array(format!("[{block}]").as_bytes());
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(out.chunks[0].block_reason(), Some(&BlockReason::Safety));
}

// ---------------------------------------------------------------------------------------------
// Incomplete
// ---------------------------------------------------------------------------------------------

#[test]
fn clean_end_without_finish_reason_is_incomplete() {
    let body = format!("{}{}", text_event("a", None), text_event("b", None));
    let out = sse(body.as_bytes());
    assert_eq!(out.texts(), [Some("a".into()), Some("b".into())]);
    assert_eq!(out.err_summary().unwrap().0, ErrorKind::Incomplete);
    assert_eq!(out.err().event_index(), Some(2));

    let out = sse(b"");
    assert!(out.chunks.is_empty());
    assert_eq!(out.err().kind(), ErrorKind::Incomplete);
    assert_eq!(out.err().event_index(), Some(0));

    let body = format!("[{},\n{}\n]\n", text_json("a", None), text_json("b", None));
    let out = array(body.as_bytes());
    assert_eq!(out.texts(), [Some("a".into()), Some("b".into())]);
    assert_eq!(out.err().kind(), ErrorKind::Incomplete);
    assert_eq!(out.err().event_index(), Some(2));

    let out = array(b"[]");
    assert!(out.chunks.is_empty());
    assert_eq!(out.err().kind(), ErrorKind::Incomplete);
}

// ---------------------------------------------------------------------------------------------
// Api: an error event, or a raw JSON error injected outside the framing
// ---------------------------------------------------------------------------------------------

/// An SSE body of the events "a" and "b", then one whose data is `data`, then a last one that
/// must never be read; and the byte offset of the third.
fn third_event_after_a_and_b(data: &str) -> (String, u64) {
    let before = text_event("a", None) + &text_event("b", None);
    let offset = before.len() as u64;
    let body = format!(
        "{before}data: {data}\r\n\r\n{}",
        text_event("never", Some("STOP"))
    );
    (body, offset)
}

const OVERLOADED: &str = r#"{"error": {"code": 503, "message": "The model is overloaded. Please try again later.", "status": "UNAVAILABLE"}}"#;

#[test]
fn error_event_after_chunks_is_api_with_its_index() {
    let (body, offset) = third_event_after_a_and_b(OVERLOADED);
    let out = sse(body.as_bytes());
    assert_eq!(out.texts(), [Some("a".into()), Some("b".into())]);
    let err = out.err();
    assert_eq!(err.kind(), ErrorKind::Api);
    assert_eq!(err.event_index(), Some(2));
    assert_eq!(err.byte_offset(), Some(offset));
    let api = err.api_error().unwrap();
    assert_eq!(api.code(), 503);
    assert_eq!(api.status(), &RpcStatus::Unavailable);
    assert_eq!(
        api.message(),
        "The model is overloaded. Please try again later."
    );
    assert!(err.is_retryable());
}

#[test]
fn error_event_as_first_event() {
    let out = sse(format!("data: {OVERLOADED}\r\n\r\n").as_bytes());
    assert!(out.chunks.is_empty());
    assert_eq!(out.err_summary(), Some((ErrorKind::Api, Some(0), Some(0))));
}

#[test]
fn error_event_wrapped_in_array() {
    let first = text_event("a", None);
    let body = format!("{first}data: [{OVERLOADED}]\r\n\r\n");
    let out = sse(body.as_bytes());
    assert_eq!(out.chunks.len(), 1);
    assert_eq!(
        out.err_summary(),
        Some((ErrorKind::Api, Some(1), Some(first.len() as u64)))
    );
    assert_eq!(out.err().api_error().unwrap().code(), 503);
}

const PRETTY_INTERNAL: &str = "{\n  \"error\": {\n    \"code\": 500,\n    \"message\": \"Internal error encountered.\",\n    \"status\": \"INTERNAL\"\n  }\n}\n";

#[test]
fn raw_pretty_printed_error_after_a_chunk_is_api() {
    let first = text_event("partial answer", None);
    let body = format!("{first}{PRETTY_INTERNAL}");
    let out = sse(body.as_bytes());
    assert_eq!(out.texts(), [Some("partial answer".into())]);
    let err = out.err();
    assert_eq!(err.kind(), ErrorKind::Api);
    assert_eq!(err.event_index(), Some(1));
    assert_eq!(err.byte_offset(), Some(first.len() as u64));
    let api = err.api_error().unwrap();
    assert_eq!(api.code(), 500);
    assert_eq!(api.status(), &RpcStatus::Internal);
    assert_eq!(api.message(), "Internal error encountered.");
}

#[test]
fn raw_error_as_whole_body_is_api() {
    let out = sse(PRETTY_INTERNAL.as_bytes());
    assert!(out.chunks.is_empty());
    assert_eq!(out.err_summary(), Some((ErrorKind::Api, Some(0), Some(0))));
}

#[test]
fn raw_error_with_braces_inside_strings_is_api() {
    let first = text_event("x", None);
    let message = r#"Bad value \"}\" in field {x: [1, 2]} } ] {{ \\"#;
    let raw = format!(
        "{{\n  \"error\": {{\n    \"code\": 400,\n    \"message\": \"{message}\",\n    \"status\": \"INVALID_ARGUMENT\"\n  }}\n}}\n"
    );
    let out = sse(format!("{first}{raw}").as_bytes());
    assert_eq!(out.chunks.len(), 1);
    let err = out.err();
    assert_eq!(err.kind(), ErrorKind::Api);
    assert_eq!(err.byte_offset(), Some(first.len() as u64));
    let api = err.api_error().unwrap();
    assert_eq!(api.code(), 400);
    assert_eq!(api.status(), &RpcStatus::InvalidArgument);
    assert_eq!(
        api.message(),
        r#"Bad value "}" in field {x: [1, 2]} } ] {{ \"#
    );
}

#[test]
fn raw_error_wrapped_in_array_is_api() {
    let first = text_event("x", None);
    let raw = format!("[{}]\n", PRETTY_INTERNAL.trim_end());
    let out = sse(format!("{first}{raw}").as_bytes());
    assert_eq!(out.chunks.len(), 1);
    let err = out.err();
    assert_eq!(err.kind(), ErrorKind::Api);
    assert_eq!(err.event_index(), Some(1));
    // The offset of the object inside the array.
    assert_eq!(err.byte_offset(), Some(first.len() as u64 + 1));
    assert_eq!(err.api_error().unwrap().code(), 500);
}

#[test]
fn raw_error_followed_by_more_bytes_is_still_api() {
    // Whatever follows the injected object (here more events) must not change the outcome, however the
    // body is split: the error object is complete before those bytes.
    let first = text_event("x", None);
    for tail in [
        text_event("y", Some("STOP")),
        "garbage".to_owned(),
        "\n\n".to_owned(),
    ] {
        let body = format!("{first}{}{tail}", PRETTY_INTERNAL);
        let out = sse(body.as_bytes());
        assert_eq!(out.chunks.len(), 1, "tail {tail:?}");
        assert_eq!(
            out.err_summary(),
            Some((ErrorKind::Api, Some(1), Some(first.len() as u64))),
            "tail {tail:?}"
        );
    }
}

#[test]
fn raw_error_cut_off_is_truncated() {
    let first = text_event("x", None);
    let cut = &PRETTY_INTERNAL[..30];
    let out = sse(format!("{first}{cut}").as_bytes());
    assert_eq!(out.chunks.len(), 1);
    assert_eq!(out.err().kind(), ErrorKind::Truncated);
    assert_eq!(out.err().event_index(), Some(1));
    assert_eq!(out.err().byte_offset(), Some(first.len() as u64));
}

#[test]
fn raw_json_that_is_not_an_error_is_decode() {
    let first = text_event("x", None);
    let out = sse(format!("{first}{{\"candidates\": []}}\n").as_bytes());
    assert_eq!(out.chunks.len(), 1);
    assert_eq!(
        out.err_summary(),
        Some((ErrorKind::Decode, Some(1), Some(first.len() as u64)))
    );
}

// ---------------------------------------------------------------------------------------------
// Decode
// ---------------------------------------------------------------------------------------------

#[test]
fn event_that_is_not_json_is_decode_with_position_and_excerpt() {
    let first = text_event("a", None);
    let body = format!("{first}data: this is not JSON\r\n\r\n");
    let out = sse(body.as_bytes());
    assert_eq!(out.texts(), [Some("a".into())]);
    let err = out.err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert_eq!(err.event_index(), Some(1));
    assert_eq!(err.byte_offset(), Some(first.len() as u64));
    assert_eq!(err.excerpt(), Some("this is not JSON"));
    assert!(!err.is_retryable());
}

#[test]
fn excerpt_of_a_large_bad_event_is_bounded() {
    let first = text_event("a", None);
    let second = text_event("b", None);
    let junk = format!("{{\"candidates\": [{}", "x".repeat(5000));
    let body = format!("{first}{second}data: {junk}\r\n\r\n");
    let out = sse(body.as_bytes());
    assert_eq!(out.chunks.len(), 2);
    let err = out.err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert_eq!(err.event_index(), Some(2));
    assert_eq!(err.byte_offset(), Some((first.len() + second.len()) as u64));
    let excerpt = err.excerpt().unwrap();
    assert!(excerpt.len() <= MAX_EXCERPT_BYTES, "{}", excerpt.len());
    assert!(excerpt.starts_with("{\"candidates\": [xxx"));
    assert_eq!(err.body_len(), Some(junk.len()));
}

#[test]
fn json_that_is_not_an_object_is_decode() {
    for data in ["42", "null", "\"text\"", "true", "[1, 2]", "[]"] {
        let first = text_event("a", None);
        let out = sse(format!("{first}data: {data}\r\n\r\n").as_bytes());
        assert_eq!(out.chunks.len(), 1, "{data}");
        assert_eq!(
            out.err_summary(),
            Some((ErrorKind::Decode, Some(1), Some(first.len() as u64))),
            "{data}"
        );
        assert_eq!(out.err().excerpt(), Some(data));
    }
}

#[test]
fn object_of_the_wrong_shape_is_decode() {
    let out = sse(b"data: {\"candidates\": 7}\r\n\r\n");
    assert_eq!(
        out.err_summary(),
        Some((ErrorKind::Decode, Some(0), Some(0)))
    );
}

// ---------------------------------------------------------------------------------------------
// Truncated
// ---------------------------------------------------------------------------------------------

#[test]
fn body_cut_inside_an_event_is_truncated() {
    let first = text_event("a", None);
    let second = text_event("b", Some("STOP"));
    let full = format!("{first}{second}");
    // Every cut inside the second event (after its first byte, before its final blank line).
    for cut in first.len() + 1..full.len() - 1 {
        let out = sse(&full.as_bytes()[..cut]);
        assert_eq!(out.texts(), [Some("a".into())], "cut at {cut}");
        assert_eq!(
            out.err_summary(),
            Some((ErrorKind::Truncated, Some(1), Some(first.len() as u64))),
            "cut at {cut}"
        );
    }
}

#[test]
fn body_cut_between_events_is_not_truncated() {
    let first = text_event("a", Some("STOP"));
    let out = sse(first.as_bytes());
    assert!(out.error.is_none());
    let out = sse(&first.as_bytes()[..first.len() - 1]);
    // "\r\n\r" already ends the event (CR is a line end); the last LF is optional.
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(out.chunks.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// TooLarge
// ---------------------------------------------------------------------------------------------

#[test]
fn oversized_event_is_too_large() {
    let first = text_event("small", None);
    assert!(first.len() < 200);
    let big = text_event(&"y".repeat(1000), Some("STOP"));
    let body = format!("{first}{big}");
    let out = decode_sized(StreamFormat::Sse, Some(200), body.as_bytes());
    assert_eq!(out.texts(), [Some("small".into())]);
    let err = out.err();
    assert_eq!(err.kind(), ErrorKind::TooLarge);
    assert_eq!(err.limit(), Some(200));
    assert_eq!(err.event_index(), Some(1));
    assert_eq!(err.byte_offset(), Some(first.len() as u64));

    // The same limit lets the small events through.
    let ok = format!("{first}{}", text_event("fine", Some("STOP")));
    let out = decode_sized(StreamFormat::Sse, Some(200), ok.as_bytes());
    assert!(out.error.is_none(), "{:?}", out.error);
}

#[test]
fn oversized_array_element_is_too_large() {
    let first = text_json("small", None);
    let big = text_json(&"y".repeat(1000), Some("STOP"));
    let body = format!("[{first},\r\n{big}]");
    let out = decode_sized(StreamFormat::JsonArray, Some(200), body.as_bytes());
    assert_eq!(out.texts(), [Some("small".into())]);
    let err = out.err();
    assert_eq!(err.kind(), ErrorKind::TooLarge);
    assert_eq!(err.limit(), Some(200));
    assert_eq!(err.event_index(), Some(1));
    assert_eq!(err.byte_offset(), Some(first.len() as u64 + 4));
}

#[test]
fn oversized_injected_error_is_too_large() {
    let first = text_event("x", None);
    let raw = format!(
        "{{\"error\": {{\"code\": 500, \"message\": \"{}\"}}}}\n",
        "m".repeat(1000)
    );
    let out = decode_sized(
        StreamFormat::Sse,
        Some(200),
        format!("{first}{raw}").as_bytes(),
    );
    assert_eq!(out.chunks.len(), 1);
    assert_eq!(out.err().kind(), ErrorKind::TooLarge);
    assert_eq!(out.err().event_index(), Some(1));
}

// ---------------------------------------------------------------------------------------------
// JSON array framing
// ---------------------------------------------------------------------------------------------

#[test]
fn array_clean_stream() {
    let body = format!(
        "[{},\r\n{}\n]",
        text_json("Hel", None),
        text_json("lo", Some("STOP"))
    );
    let out = array(body.as_bytes());
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(out.texts(), [Some("Hel".into()), Some("lo".into())]);
}

#[test]
fn array_truncated_inside_an_element() {
    let first = text_json("a", None);
    let prefix = format!("[{first}\n,\r\n");
    let body = format!("{prefix}{{\"candidates\": [{{\"content\"");
    let out = array(body.as_bytes());
    assert_eq!(out.texts(), [Some("a".into())]);
    let err = out.err();
    assert_eq!(err.kind(), ErrorKind::Truncated);
    assert_eq!(err.event_index(), Some(1));
    assert_eq!(err.byte_offset(), Some(prefix.len() as u64));
    assert_eq!(err.excerpt(), Some("{\"candidates\": [{\"content\""));
}

#[test]
fn array_missing_closing_bracket_is_truncated() {
    let body = format!("[{}\n", text_json("a", Some("STOP")));
    let out = array(body.as_bytes());
    assert_eq!(out.chunks.len(), 1);
    assert_eq!(out.err().kind(), ErrorKind::Truncated);
}

#[test]
fn array_garbage_between_elements_is_decode() {
    let first = text_json("a", None);
    let prefix = format!("[{first},\n");
    let body = format!("{prefix}oops{}]", text_json("b", Some("STOP")));
    let out = array(body.as_bytes());
    assert_eq!(out.texts(), [Some("a".into())]);
    let err = out.err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert_eq!(err.byte_offset(), Some(prefix.len() as u64));
    assert_eq!(err.event_index(), Some(1));
}

#[test]
fn array_element_that_is_not_json_is_decode() {
    let first = text_json("a", None);
    let body = format!("[{first},{{not json}}]");
    let out = array(body.as_bytes());
    assert_eq!(out.chunks.len(), 1);
    assert_eq!(
        out.err_summary(),
        Some((ErrorKind::Decode, Some(1), Some(first.len() as u64 + 2)))
    );
    assert_eq!(out.err().excerpt(), Some("{not json}"));
}

#[test]
fn array_top_level_error_object_is_api() {
    let out = array(PRETTY_INTERNAL.as_bytes());
    assert!(out.chunks.is_empty());
    assert_eq!(out.err_summary(), Some((ErrorKind::Api, Some(0), Some(0))));
    assert_eq!(out.err().api_error().unwrap().code(), 500);
}

#[test]
fn array_error_element_after_chunks_is_api() {
    let first = text_json("a", None);
    let body = format!("[{first}\n,\r\n{OVERLOADED}\n]");
    let out = array(body.as_bytes());
    assert_eq!(out.texts(), [Some("a".into())]);
    assert_eq!(
        out.err_summary(),
        Some((ErrorKind::Api, Some(1), Some(first.len() as u64 + 5)))
    );
    assert_eq!(
        out.err().api_error().unwrap().status(),
        &RpcStatus::Unavailable
    );
}

// ---------------------------------------------------------------------------------------------
// After the terminal error
// ---------------------------------------------------------------------------------------------

#[test]
fn nothing_after_the_terminal_error_even_before_finish() {
    let mut decoder = ChunkDecoder::new(StreamFormat::Sse);
    decoder.push(text_event("a", None).as_bytes());
    decoder.push(b"data: nope\r\n\r\n");
    // Pushed after the failure, before finish: ignored.
    decoder.push(text_event("b", Some("STOP")).as_bytes());
    assert_eq!(decoder.next_chunk().unwrap().unwrap().text().unwrap(), "a");
    assert_eq!(
        decoder.next_chunk().unwrap().unwrap_err().kind(),
        ErrorKind::Decode
    );
    assert!(decoder.is_done());
    decoder.push(text_event("c", Some("STOP")).as_bytes());
    decoder.finish();
    for _ in 0..5 {
        assert!(decoder.next_chunk().is_none());
    }
    assert_eq!(decoder.chunks_decoded(), 1);
}

#[test]
fn error_is_handed_out_after_the_chunks_before_it() {
    let mut decoder = ChunkDecoder::new(StreamFormat::JsonArray);
    let body = format!(
        "[{},{},{OVERLOADED}]",
        text_json("a", None),
        text_json("b", None)
    );
    decoder.push(body.as_bytes());
    decoder.finish();
    let items: Vec<_> = std::iter::from_fn(|| decoder.next_chunk()).collect();
    assert_eq!(items.len(), 3);
    assert!(items[0].is_ok() && items[1].is_ok());
    assert_eq!(items[2].as_ref().unwrap_err().kind(), ErrorKind::Api);
    assert!(decoder.next_chunk().is_none());
}

/// A chunk that fails after much of it was read in place (text, role, usage, then a bad value)
/// is not handed out, not even in part: the chunks before it stay as they were, and the error
/// is a decode error at its index, whichever the framing.
#[test]
fn chunk_failing_halfway_leaves_nothing_behind() {
    let bad = r#"{"candidates": [{"content": {"parts": [{"text": "half"}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 3,"totalTokenCount": nul}}"#;
    let (body, offset) = third_event_after_a_and_b(bad);
    let out = sse(body.as_bytes());
    assert_eq!(out.texts(), [Some("a".into()), Some("b".into())]);
    assert!(out.chunks.iter().all(|c| c.usage_metadata.is_none()));
    assert_eq!(
        out.err_summary(),
        Some((ErrorKind::Decode, Some(2), Some(offset)))
    );
    let body = format!(
        "[{},{},{bad},{}]",
        text_json("a", None),
        text_json("b", None),
        text_json("never", Some("STOP"))
    );
    let out = array(body.as_bytes());
    assert_eq!(out.texts(), [Some("a".into()), Some("b".into())]);
    assert!(out.chunks.iter().all(|c| c.usage_metadata.is_none()));
    assert_eq!(out.err().kind(), ErrorKind::Decode);
    assert_eq!(out.err().event_index(), Some(2));
}
