//! Property tests of the SSE decoder: the output never depends on how the body is split, and it
//! agrees with a deliberately naive reference implementation of the HTML Standard algorithm.

use gemini_proto::sse::{EventTooLarge, SseDecoder};
use proptest::prelude::*;
use proptest::sample::Index;

/// Everything observable about one decoding run.
#[derive(Debug, Clone, PartialEq)]
struct Run {
    /// (event type, data, last event id, retry, index, offset)
    events: Vec<(String, String, String, Option<u64>, u64, u64)>,
    error: Option<EventTooLarge>,
    last_event_id: String,
    reconnection_time: Option<u64>,
    /// `finish()` reported a discarded incomplete event: (offset, len).
    discarded: Option<(u64, u64)>,
}

fn run(pieces: &[&[u8]], limit: usize) -> Run {
    let mut decoder = SseDecoder::with_max_event_size(limit);
    let mut error = None;
    for piece in pieces {
        if let Err(e) = decoder.push(piece) {
            error = Some(e);
            break;
        }
    }
    let mut events = Vec::new();
    while let Some(e) = decoder.next_event() {
        events.push((
            e.event_type().to_owned(),
            e.data,
            e.last_event_id,
            e.retry,
            e.index,
            e.offset,
        ));
    }
    let last_event_id = decoder.last_event_id().to_owned();
    let reconnection_time = decoder.reconnection_time();
    let discarded = if error.is_none() {
        decoder.finish().map(|d| (d.offset, d.len))
    } else {
        None
    };
    Run {
        events,
        error,
        last_event_id,
        reconnection_time,
        discarded,
    }
}

/// The reference: a literal transcription of HTML Standard §9.2.6 ("Interpreting an event
/// stream"). It decodes the WHOLE body as UTF-8 first (stripping one leading BOM, replacing
/// errors like `String::from_utf8_lossy`), then splits lines and fields on characters. Line
/// terminators, `:` and space are ASCII and always end an invalid UTF-8 sequence, so decoding
/// the whole stream up front must give the same text as the decoder's per-event decoding.
///
/// Returns (events as (type, data, id, retry), last event id, reconnection time, discarded).
// Kept in the shape of the standard's prose, hence the uncollapsed `if`s.
#[allow(clippy::type_complexity, clippy::collapsible_match)]
fn reference(
    body: &[u8],
) -> (
    Vec<(String, String, String, Option<u64>)>,
    String,
    Option<u64>,
    bool,
) {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let text = String::from_utf8_lossy(body);
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                lines.push(std::mem::take(&mut current));
            }
            '\n' => lines.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    let unterminated = current; // discarded at end of file

    let (mut data, mut event_type, mut id_buffer) = (String::new(), String::new(), String::new());
    let mut last_event_id = String::new();
    let mut retry: Option<u64> = None;
    let mut events = Vec::new();
    for line in lines {
        if line.is_empty() {
            last_event_id = id_buffer.clone();
            if data.is_empty() {
                event_type.clear();
                continue;
            }
            if data.ends_with('\n') {
                data.pop();
            }
            let kind = if event_type.is_empty() {
                "message".to_owned()
            } else {
                event_type.clone()
            };
            events.push((kind, data.clone(), last_event_id.clone(), retry));
            data.clear();
            event_type.clear();
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = match line.find(':') {
            Some(i) => {
                let value = &line[i + 1..];
                (&line[..i], value.strip_prefix(' ').unwrap_or(value))
            }
            None => (line.as_str(), ""),
        };
        match field {
            "event" => event_type = value.to_owned(),
            "data" => {
                data.push_str(value);
                data.push('\n');
            }
            "id" => {
                if !value.contains('\0') {
                    id_buffer = value.to_owned();
                }
            }
            "retry" => {
                if !value.is_empty() && value.chars().all(|c| c.is_ascii_digit()) {
                    retry = Some(value.parse().unwrap_or(u64::MAX));
                }
            }
            _ => {}
        }
    }
    let discarded = !data.is_empty() || !unterminated.is_empty();
    (events, last_event_id, retry, discarded)
}

const TOKENS: &[&[u8]] = &[
    b"data",
    b"data:",
    b"data: ",
    b"data:  ",
    b"id:",
    b"id: ",
    b"event:",
    b"event: ",
    b"retry:",
    b"retry: ",
    b"Data:",
    b":",
    b" ",
    b"\t",
    b"\r",
    b"\n",
    b"\r\n",
    b"\n\n",
    b"\r\n\r\n",
    b"\xEF\xBB\xBF",
    b"\0",
    b"x",
    b"7",
    b"12",
    b"\xC3\xA9",
    b"\xE2\x82",
    b"\xAC",
    b"\xFF",
    b"\x80",
    b"\xF0\x9F",
    b"\x98\x80",
    b"{\"a\": \"b\"}",
];

fn sse_soup() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..64).prop_map(|t| t.concat())
}

fn split<'a>(body: &'a [u8], cuts: &[Index]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|i| i.index(body.len() + 1)).collect();
    points.push(0);
    points.push(body.len());
    points.sort_unstable();
    points.windows(2).map(|w| &body[w[0]..w[1]]).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn sse_any_partition_gives_identical_output(
        body in sse_soup(),
        cuts in prop::collection::vec(any::<Index>(), 0..24),
    ) {
        let whole = run(&[&body], usize::MAX);
        prop_assert_eq!(run(&split(&body, &cuts), usize::MAX), whole.clone());
        let bytewise: Vec<&[u8]> = body.chunks(1).collect();
        prop_assert_eq!(run(&bytewise, usize::MAX), whole);
    }

    #[test]
    fn sse_partition_invariance_holds_for_the_size_limit_too(
        body in sse_soup(),
        cuts in prop::collection::vec(any::<Index>(), 0..24),
        limit in 0usize..48,
    ) {
        let whole = run(&[&body], limit);
        prop_assert_eq!(run(&split(&body, &cuts), limit), whole);
    }

    #[test]
    fn sse_matches_reference_implementation(
        body in sse_soup(),
        cuts in prop::collection::vec(any::<Index>(), 0..24),
    ) {
        let got = run(&split(&body, &cuts), usize::MAX);
        let (events, last_event_id, retry, discarded) = reference(&body);
        let got_events: Vec<_> = got.events.iter().map(|e| (e.0.clone(), e.1.clone(), e.2.clone(), e.3)).collect();
        prop_assert_eq!(got_events, events);
        prop_assert_eq!(got.last_event_id, last_event_id);
        prop_assert_eq!(got.reconnection_time, retry);
        prop_assert_eq!(got.discarded.is_some(), discarded);
        for (i, e) in got.events.iter().enumerate() {
            prop_assert_eq!(e.4, i as u64);
            prop_assert!(body[e.5 as usize..].starts_with(b"data"));
        }
    }
}
