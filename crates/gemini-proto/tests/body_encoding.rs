//! The crate's one rule for the text encoding of bodies (see the crate documentation), held by both
//! framings of the chunk decoder, by the JSON-array decoder and by error-body classification:
//! a byte-order mark at the very start of a body is ignored, one anywhere else is data, and invalid
//! UTF-8 is replaced with U+FFFD per maximal subpart. Every body is also fed one byte at a time.

use gemini_proto::chunk::ChunkDecoder;
use gemini_proto::error::{RpcStatus, classify_response, parse_error_body};
use gemini_proto::json_array::{ElementKind, JsonArrayDecoder};
use gemini_proto::types::GenerateContentResponse;
use gemini_proto::{Error, ErrorKind, StreamFormat};
use http::{HeaderMap, StatusCode};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The chunks and the terminal error, the same whole and byte by byte (asserted).
fn decode(format: StreamFormat, body: &[u8]) -> (Vec<GenerateContentResponse>, Option<Error>) {
    let run = |pieces: Vec<&[u8]>| {
        let mut decoder = ChunkDecoder::new(format);
        let mut chunks = Vec::new();
        let mut error = None;
        for piece in pieces {
            decoder.push(piece);
            while let Some(item) = decoder.next_chunk() {
                match item {
                    Ok(chunk) => chunks.push(chunk),
                    Err(err) => error = Some(err),
                }
            }
        }
        decoder.finish();
        while let Some(item) = decoder.next_chunk() {
            match item {
                Ok(chunk) => chunks.push(chunk),
                Err(err) => error = Some(err),
            }
        }
        (chunks, error)
    };
    let whole = run(vec![body]);
    let bytes = run(body.chunks(1).collect());
    assert_eq!(bytes.0, whole.0, "chunks differ when fed byte by byte");
    assert_eq!(
        bytes.1.as_ref().map(|e| (e.kind(), e.byte_offset())),
        whole.1.as_ref().map(|e| (e.kind(), e.byte_offset())),
        "errors differ when fed byte by byte"
    );
    whole
}

fn with(prefix: &[u8], body: &[u8]) -> Vec<u8> {
    [prefix, body].concat()
}

const INJECTED: &[u8] = b"{\n  \"error\": {\n    \"code\": 503,\n    \"message\": \"The model is overloaded.\",\n    \"status\": \"UNAVAILABLE\"\n  }\n}\n";

#[test]
fn an_error_injected_right_after_a_bom_is_the_api_error() {
    let (chunks, error) = decode(StreamFormat::Sse, &with(BOM, INJECTED));
    assert!(chunks.is_empty());
    let error = error.expect("an error");
    assert_eq!(error.kind(), ErrorKind::Api, "{error}");
    assert_eq!(error.api_error().unwrap().status(), &RpcStatus::Unavailable);
    // Its offset is where the JSON starts, after the BOM.
    assert_eq!(error.byte_offset(), Some(3));
}

#[test]
fn an_error_after_a_bom_and_events_is_the_api_error() {
    let event =
        b"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hi\"}]}}]}\r\n\r\n";
    let body = [BOM, &event[..], INJECTED].concat();
    let (chunks, error) = decode(StreamFormat::Sse, &body);
    assert_eq!(chunks.len(), 1);
    assert_eq!(error.unwrap().kind(), ErrorKind::Api);
}

#[test]
fn a_bom_that_is_not_at_the_start_is_data() {
    // In SSE, a line that starts with a BOM is a field named "\u{FEFF}{…": ignored, as the
    // standard says, so the error JSON is not seen as an injected value.
    let event = b"data: {\"candidates\": [{\"finishReason\": \"STOP\"}]}\r\n\r\n";
    let body = [&event[..], BOM, INJECTED].concat();
    let (chunks, error) = decode(StreamFormat::Sse, &body);
    assert_eq!(chunks.len(), 1);
    assert!(error.is_none(), "{error:?}");
    // In a JSON array it is a byte where `,` or `]` must be.
    let body = [&b"[{\"candidates\": []}"[..], BOM, b",{}]"].concat();
    let (chunks, error) = decode(StreamFormat::JsonArray, &body);
    assert_eq!(chunks.len(), 1);
    assert_eq!(error.unwrap().kind(), ErrorKind::Decode);
}

#[test]
fn both_framings_ignore_a_leading_bom() {
    let sse = b"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hi\"}]}, \"finishReason\": \"STOP\"}]}\r\n\r\n";
    let array = b"[{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hi\"}]}, \"finishReason\": \"STOP\"}]}\n]";
    for (format, body) in [
        (StreamFormat::Sse, &sse[..]),
        (StreamFormat::JsonArray, &array[..]),
    ] {
        let plain = decode(format, body);
        let (chunks, error) = decode(format, &with(BOM, body));
        assert!(error.is_none(), "{format:?}: {error:?}");
        assert_eq!(chunks, plain.0, "{format:?}");
        assert_eq!(chunks[0].text().as_deref(), Some("Hi"));
    }
}

#[test]
fn json_array_decoder_skips_a_leading_bom_and_keeps_body_offsets() {
    for step in [0, 1, 2] {
        let body = with(BOM, b"[{\"a\": 1}]");
        let mut decoder = JsonArrayDecoder::new();
        if step == 0 {
            decoder.push(&body).unwrap();
        } else {
            body.chunks(step).for_each(|p| decoder.push(p).unwrap());
        }
        decoder.finish().unwrap();
        let element = decoder.next_element().unwrap();
        assert_eq!(element.json, b"{\"a\": 1}");
        assert_eq!(
            (element.offset, element.kind),
            (4, ElementKind::ArrayElement)
        );
    }
    // A top-level error object after a BOM, as a failing request's body would be.
    let mut decoder = JsonArrayDecoder::new();
    decoder.push(&with(BOM, b"{\"error\": {}}")).unwrap();
    assert_eq!(
        decoder.next_element().unwrap().kind,
        ElementKind::TopLevelObject
    );
    // Only one BOM is skipped, and only a whole one.
    for bad in [
        &b"\xEF\xBB\xBF\xEF\xBB\xBF[]"[..],
        b"\xEF\xBB[]",
        b" \xEF\xBB\xBF[]",
    ] {
        let mut decoder = JsonArrayDecoder::new();
        assert!(decoder.push(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn invalid_utf8_in_a_string_is_replaced_the_same_way_in_both_framings() {
    // "caf" + a lone continuation byte + "é" cut short + "!" : two maximal subparts.
    let text = b"caf\x80\xC3!";
    let sse = [
        &b"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \""[..],
        text,
        b"\"}]}, \"finishReason\": \"STOP\"}]}\r\n\r\n",
    ]
    .concat();
    let array = [
        &b"[{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \""[..],
        text,
        b"\"}]}, \"finishReason\": \"STOP\"}]}\n]",
    ]
    .concat();
    let expected = String::from_utf8_lossy(text).into_owned();
    assert_eq!(expected, "caf\u{FFFD}\u{FFFD}!");
    for (format, body) in [(StreamFormat::Sse, sse), (StreamFormat::JsonArray, array)] {
        let (chunks, error) = decode(format, &body);
        assert!(error.is_none(), "{format:?}: {error:?}");
        assert_eq!(chunks.len(), 1, "{format:?}");
        assert_eq!(
            chunks[0].text().as_deref(),
            Some(expected.as_str()),
            "{format:?}"
        );
    }
}

#[test]
fn invalid_utf8_in_an_error_message_is_replaced_too() {
    let body = b"{\"error\": {\"code\": 503, \"message\": \"over\xFFloaded\", \"status\": \"UNAVAILABLE\"}}";
    // As an error response body.
    let err = parse_error_body(StatusCode::SERVICE_UNAVAILABLE, &HeaderMap::new(), body);
    assert_eq!(err.kind(), ErrorKind::Api);
    assert_eq!(err.api_error().unwrap().message(), "over\u{FFFD}loaded");
    // After a BOM.
    let err = parse_error_body(
        StatusCode::SERVICE_UNAVAILABLE,
        &HeaderMap::new(),
        &with(BOM, body),
    );
    assert_eq!(err.api_error().unwrap().message(), "over\u{FFFD}loaded");
    // Injected into an SSE stream, and as a JSON-array body.
    for format in [StreamFormat::Sse, StreamFormat::JsonArray] {
        let (_, error) = decode(format, body);
        let error = error.unwrap();
        assert_eq!(error.kind(), ErrorKind::Api, "{format:?}: {error}");
        assert_eq!(error.api_error().unwrap().message(), "over\u{FFFD}loaded");
    }
}

#[test]
fn unary_bodies_follow_the_same_rule() {
    let body = with(
        BOM,
        b"{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"a\xFEb\"}]}}]}",
    );
    let response: GenerateContentResponse =
        classify_response(StatusCode::OK, &HeaderMap::new(), &body).unwrap();
    assert_eq!(response.text().as_deref(), Some("a\u{FFFD}b"));
}
