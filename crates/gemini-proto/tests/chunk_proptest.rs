//! Properties of `ChunkDecoder`:
//! - the output (chunks, then the error's kind, index, offset, excerpt and API details) never depends on
//!   how the body is cut into pieces or when the chunks are taken out, for generated streams with
//!   injected error events, raw error objects, bad events, garbage bytes, oversized events and truncation;
//! - for streams built from a known sequence of events, the output is the one a hand-written model
//!   predicts.

use gemini_proto::chunk::ChunkDecoder;
use gemini_proto::error::Error;
use gemini_proto::types::GenerateContentResponse;
use gemini_proto::{ErrorKind, StreamFormat};
use proptest::prelude::*;

/// Everything observable about a terminal error.
#[derive(Debug, PartialEq)]
struct ErrorSummary {
    kind: ErrorKind,
    index: Option<u64>,
    offset: Option<u64>,
    excerpt: Option<String>,
    limit: Option<usize>,
    api: Option<(i32, String)>,
}

fn summary(err: &Error) -> ErrorSummary {
    ErrorSummary {
        kind: err.kind(),
        index: err.event_index(),
        offset: err.byte_offset(),
        excerpt: err.excerpt().map(str::to_owned),
        limit: err.limit(),
        api: err
            .api_error()
            .map(|api| (api.code(), api.message().to_owned())),
    }
}

#[derive(Debug, PartialEq)]
struct Output {
    chunks: Vec<GenerateContentResponse>,
    error: Option<ErrorSummary>,
}

/// Decodes `body` cut after each length in `sizes` (the rest in one piece), taking chunks out after a
/// push only when the matching `drain` flag is set.
fn run(
    format: StreamFormat,
    max: Option<usize>,
    body: &[u8],
    sizes: &[usize],
    drain: &[bool],
) -> Output {
    let mut decoder = match max {
        Some(max) => ChunkDecoder::with_max_event_size(format, max),
        None => ChunkDecoder::new(format),
    };
    let mut chunks = Vec::new();
    let mut error = None;
    let mut take = |decoder: &mut ChunkDecoder| {
        while let Some(item) = decoder.next_chunk() {
            assert!(error.is_none(), "item after the terminal error");
            match item {
                Ok(chunk) => chunks.push(chunk),
                Err(err) => error = Some(summary(&err)),
            }
        }
    };
    let mut rest = body;
    for (n, &size) in sizes.iter().enumerate() {
        let size = size.min(rest.len());
        decoder.push(&rest[..size]);
        rest = &rest[size..];
        if drain.get(n).copied().unwrap_or(false) {
            take(&mut decoder);
        }
    }
    decoder.push(rest);
    decoder.finish();
    take(&mut decoder);
    assert!(decoder.next_chunk().is_none());
    assert!(decoder.is_done());
    Output { chunks, error }
}

fn whole(format: StreamFormat, max: Option<usize>, body: &[u8]) -> Output {
    run(format, max, body, &[], &[])
}

fn bytewise(format: StreamFormat, max: Option<usize>, body: &[u8]) -> Output {
    let sizes = vec![1; body.len()];
    let drain = vec![true; body.len()];
    run(format, max, body, &sizes, &drain)
}

// ---------------------------------------------------------------------------------------------
// Generated bodies
// ---------------------------------------------------------------------------------------------

fn text_strategy() -> impl Strategy<Value = String> {
    "[a-zé {}\\[\\]\",:\\\\\n]{0,12}"
}

fn chunk_json(text: &str, finish: bool) -> String {
    let finish = if finish {
        r#","finishReason": "STOP""#
    } else {
        ""
    };
    format!(
        r#"{{"candidates": [{{"content": {{"parts": [{{"text": {}}}],"role": "model"}}{finish}}}]}}"#,
        serde_json::to_string(text).unwrap()
    )
}

const ERROR_JSON: &str =
    r#"{"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}"#;

fn raw_error(message: &str, wrapped: bool) -> String {
    let object = format!(
        "{{\n  \"error\": {{\n    \"code\": 500,\n    \"message\": {},\n    \"status\": \"INTERNAL\"\n  }}\n}}",
        serde_json::to_string(message).unwrap()
    );
    if wrapped {
        format!("[{object}]\n")
    } else {
        format!("{object}\n")
    }
}

const LINE_ENDS: [&str; 3] = ["\r\n", "\n", "\r"];

/// One piece of an SSE body.
#[derive(Clone, Debug)]
enum SseSegment {
    Chunk {
        text: String,
        finish: bool,
        eol: usize,
        /// Split the JSON over two `data:` lines at this byte (when it is a char boundary).
        split_at: Option<usize>,
    },
    Comment(usize),
    ErrorEvent(usize),
    NotJson(String, usize),
    NotObject(usize),
    RawError(String, bool),
    Garbage(Vec<u8>),
}

fn sse_segment() -> impl Strategy<Value = SseSegment> {
    prop_oneof![
        8 => (text_strategy(), any::<bool>(), 0..3usize, proptest::option::of(0..80usize))
            .prop_map(|(text, finish, eol, split_at)| SseSegment::Chunk { text, finish, eol, split_at }),
        1 => (0..3usize).prop_map(SseSegment::Comment),
        1 => (0..3usize).prop_map(SseSegment::ErrorEvent),
        1 => ("[a-z {]{1,10}", 0..3usize).prop_map(|(t, eol)| SseSegment::NotJson(t, eol)),
        1 => (0..3usize).prop_map(SseSegment::NotObject),
        1 => (text_strategy(), any::<bool>()).prop_map(|(m, w)| SseSegment::RawError(m, w)),
        1 => proptest::collection::vec(
            prop_oneof![Just(b'{'), Just(b'['), Just(b'\n'), Just(b'\r'), Just(b'"'), Just(b'}'), any::<u8>()],
            0..12,
        ).prop_map(SseSegment::Garbage),
    ]
}

fn render_sse(segment: &SseSegment) -> String {
    match segment {
        SseSegment::Chunk {
            text,
            finish,
            eol,
            split_at,
        } => {
            let json = chunk_json(text, *finish);
            let eol = LINE_ENDS[*eol];
            match split_at {
                Some(at) if *at < json.len() && json.is_char_boundary(*at) => {
                    let (a, b) = json.split_at(*at);
                    format!("data: {a}{eol}data:{b}{eol}{eol}")
                }
                _ => format!("data: {json}{eol}{eol}"),
            }
        }
        SseSegment::Comment(eol) => format!(": ping{}", LINE_ENDS[*eol]),
        SseSegment::ErrorEvent(eol) => {
            format!("data: {ERROR_JSON}{}{}", LINE_ENDS[*eol], LINE_ENDS[*eol])
        }
        SseSegment::NotJson(text, eol) => {
            format!("data: {text}{}{}", LINE_ENDS[*eol], LINE_ENDS[*eol])
        }
        SseSegment::NotObject(eol) => format!("data: 42{}{}", LINE_ENDS[*eol], LINE_ENDS[*eol]),
        SseSegment::RawError(message, wrapped) => raw_error(message, *wrapped),
        SseSegment::Garbage(bytes) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// A body from segments, optionally cut to a fraction of its length, and optionally with a small event
/// size limit.
fn sse_body() -> impl Strategy<Value = (Vec<u8>, Option<usize>)> {
    (
        proptest::collection::vec(sse_segment(), 0..8),
        proptest::option::of(0.0..1.0f64),
        proptest::option::of(40..300usize),
    )
        .prop_map(|(segments, cut, max)| {
            let mut body: Vec<u8> = segments
                .iter()
                .flat_map(|s| render_sse(s).into_bytes())
                .collect();
            if let Some(cut) = cut {
                body.truncate((body.len() as f64 * cut) as usize);
            }
            (body, max)
        })
}

#[derive(Clone, Debug)]
enum ArraySegment {
    Chunk(String, bool),
    Error,
    NotJson,
    Garbage(Vec<u8>),
}

fn array_segment() -> impl Strategy<Value = ArraySegment> {
    prop_oneof![
        8 => (text_strategy(), any::<bool>()).prop_map(|(t, f)| ArraySegment::Chunk(t, f)),
        1 => Just(ArraySegment::Error),
        1 => Just(ArraySegment::NotJson),
        1 => proptest::collection::vec(
            prop_oneof![Just(b'{'), Just(b'['), Just(b']'), Just(b','), Just(b'"'), Just(b'}'), Just(b' '), any::<u8>()],
            0..6,
        ).prop_map(ArraySegment::Garbage),
    ]
}

fn array_body() -> impl Strategy<Value = (Vec<u8>, Option<usize>)> {
    (
        proptest::collection::vec(array_segment(), 0..8),
        any::<bool>(),
        proptest::option::of(0.0..1.0f64),
        proptest::option::of(40..300usize),
    )
        .prop_map(|(segments, close, cut, max)| {
            let mut body = b"[".to_vec();
            for (n, segment) in segments.iter().enumerate() {
                if n > 0 && !matches!(segment, ArraySegment::Garbage(_)) {
                    body.extend_from_slice(b"\n,\r\n");
                }
                match segment {
                    ArraySegment::Chunk(text, finish) => {
                        body.extend_from_slice(chunk_json(text, *finish).as_bytes())
                    }
                    ArraySegment::Error => body.extend_from_slice(ERROR_JSON.as_bytes()),
                    ArraySegment::NotJson => body.extend_from_slice(b"{\"candidates\": [}"),
                    ArraySegment::Garbage(bytes) => body.extend_from_slice(bytes),
                }
            }
            if close {
                body.extend_from_slice(b"\n]");
            }
            if let Some(cut) = cut {
                body.truncate((body.len() as f64 * cut) as usize);
            }
            (body, max)
        })
}

fn partition() -> impl Strategy<Value = (Vec<usize>, Vec<bool>)> {
    (
        proptest::collection::vec(0..40usize, 0..60),
        proptest::collection::vec(any::<bool>(), 60),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn sse_output_does_not_depend_on_the_split(
        (body, max) in sse_body(),
        (sizes, drain) in partition(),
    ) {
        let expected = whole(StreamFormat::Sse, max, &body);
        prop_assert_eq!(&run(StreamFormat::Sse, max, &body, &sizes, &drain), &expected);
        prop_assert_eq!(&bytewise(StreamFormat::Sse, max, &body), &expected);
    }

    #[test]
    fn json_array_output_does_not_depend_on_the_split(
        (body, max) in array_body(),
        (sizes, drain) in partition(),
    ) {
        let expected = whole(StreamFormat::JsonArray, max, &body);
        prop_assert_eq!(&run(StreamFormat::JsonArray, max, &body, &sizes, &drain), &expected);
        prop_assert_eq!(&bytewise(StreamFormat::JsonArray, max, &body), &expected);
    }

    /// Valid chunk events, then at most one fault, then anything valid: the model predicts the chunks
    /// (those before the fault) and the error (kind, index, offset of the fault).
    #[test]
    fn sse_output_matches_the_model(
        before in proptest::collection::vec(
            (text_strategy(), any::<bool>(), 0..3usize, proptest::option::of(0..80usize)), 0..6),
        fault in proptest::option::of(0..5u8),
        message in text_strategy(),
        after in proptest::collection::vec((text_strategy(), any::<bool>()), 0..3),
        (sizes, drain) in partition(),
    ) {
        let mut body = String::new();
        let mut expected_texts = Vec::new();
        let mut finished = false;
        for (text, finish, eol, split_at) in &before {
            body.push_str(&render_sse(&SseSegment::Chunk {
                // Split between two JSON tokens, so that the LF joining the lines is whitespace.
                text: text.clone(), finish: *finish, eol: *eol, split_at: split_at.map(|_| 16),
            }));
            expected_texts.push(Some(text.clone()));
            finished |= *finish;
        }
        let fault_at = body.len() as u64;
        let index = before.len() as u64;
        let expected_error = match fault {
            None => (!finished).then_some((ErrorKind::Incomplete, None)),
            Some(0) => {
                body.push_str(&render_sse(&SseSegment::ErrorEvent(0)));
                Some((ErrorKind::Api, Some(fault_at)))
            }
            Some(1) => {
                body.push_str(&raw_error(&message, false));
                Some((ErrorKind::Api, Some(fault_at)))
            }
            Some(2) => {
                body.push_str(&raw_error(&message, true));
                Some((ErrorKind::Api, Some(fault_at + 1)))
            }
            Some(3) => {
                body.push_str(&render_sse(&SseSegment::NotObject(1)));
                Some((ErrorKind::Decode, Some(fault_at)))
            }
            _ => {
                // Cut inside an event: its data line without the blank line.
                body.push_str(&format!("data: {}", chunk_json(&message, true)));
                Some((ErrorKind::Truncated, Some(fault_at)))
            }
        };
        if fault.is_some_and(|f| f < 4) {
            for (text, finish) in &after {
                body.push_str(&render_sse(&SseSegment::Chunk {
                    text: text.clone(), finish: *finish, eol: 0, split_at: None,
                }));
            }
        }
        let output = run(StreamFormat::Sse, None, body.as_bytes(), &sizes, &drain);
        let texts: Vec<_> = output.chunks.iter().map(|c| c.text().map(|t| t.into_owned())).collect();
        prop_assert_eq!(texts, expected_texts);
        let got = output.error.as_ref().map(|e| (e.kind, e.index, e.offset));
        let want = expected_error.map(|(kind, offset)| (kind, Some(index), offset));
        match (got, want) {
            // Incomplete carries no offset; compare kind and index only.
            (Some((ErrorKind::Incomplete, gi, _)), Some((ErrorKind::Incomplete, wi, _))) => {
                prop_assert_eq!(gi, wi)
            }
            (got, want) => prop_assert_eq!(got, want),
        }
        if let Some(error) = &output.error
            && error.kind == ErrorKind::Api
            && fault.is_some_and(|f| f == 1 || f == 2)
        {
            prop_assert_eq!(error.api.clone(), Some((500, message.clone())));
        }
    }
}
