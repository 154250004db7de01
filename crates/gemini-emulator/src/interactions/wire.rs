//! An interaction's stream on the wire: `event:`-framed server-sent events as Google sends them,
//! with the pace and the event-level faults of the catalogue applied.

use bytes::Bytes;
use gemini_proto::interactions::InteractionEvent;
use serde_json::Value;

use crate::Pace;
use crate::fault::{Fault, FaultSpec, Framing};
use crate::json::{self, canned_error, rpc_status};
use crate::shape::Step;

/// Marks where an oversized event's padding goes (control characters, written `\u0001…` in the
/// JSON, so that no generated text can contain it).
const PAD_MARKER: &str = "\u{1}\u{2}pad\u{2}\u{1}";

/// The line ending of the stream: LF as Google's Interactions streams use it, unless the spec's
/// `framing=` says otherwise.
fn line_end(spec: &FaultSpec) -> &'static str {
    match spec.find(|f| match f {
        Fault::Framing(framing) => Some(*framing),
        _ => None,
    }) {
        Some(Framing::CrLf) => "\r\n",
        Some(Framing::Cr) => "\r",
        _ => "\n",
    }
}

/// One event as it travels: `event: TYPE`, `data: JSON`, a blank line.
pub(crate) fn encode(event: &InteractionEvent, eol: &str) -> Vec<u8> {
    let data = json::to_compact(&event.to_data());
    let mut out = Vec::with_capacity(data.len() + 48);
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(event.event_type().as_bytes());
    out.extend_from_slice(eol.as_bytes());
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(&data);
    out.extend_from_slice(eol.as_bytes());
    out.extend_from_slice(eol.as_bytes());
    out
}

/// The steps that write `events` (with the output tokens each stands for): paced, and with the
/// spec's event-level faults. `fresh`: the stream starts here (the first event waits the pace's
/// time to the first chunk); a resumed stream goes on at the pace of its tokens.
pub(crate) fn event_steps(
    events: &[(InteractionEvent, u32)],
    spec: &FaultSpec,
    pace: Pace,
    fresh: bool,
    model: &str,
) -> Vec<Step> {
    let eol = line_end(spec);
    let mut steps = Vec::with_capacity(events.len() * 2 + 2);
    for i in 0..=events.len() {
        for fault in spec.faults() {
            match *fault {
                Fault::StallAfter {
                    events: n,
                    duration,
                } if n == i => steps.push(Step::Sleep(duration)),
                Fault::JsonErrorAfter { events: n, status } if n == i => {
                    // A google.rpc.Status written outside the framing, as Vertex AI does.
                    let body = json::error_body(&canned_error(status, model, 30.0));
                    steps.push(Step::Write(Bytes::from(body), true));
                    return steps;
                }
                Fault::SseErrorAfter { events: n, status } if n == i => {
                    let error = canned_error(status, model, 30.0);
                    let mut event = InteractionEvent::error(
                        rpc_status(status).as_str().to_ascii_lowercase(),
                        error.message(),
                    );
                    event.set_event_id(super::answer::event_id(events.len() + i));
                    steps.push(Step::Write(Bytes::from(encode(&event, eol)), true));
                    return steps;
                }
                Fault::CloseAfterEvents { events: n, reset } if n == i => {
                    steps.push(Step::Close { reset });
                    return steps;
                }
                Fault::MalformedAfter { events: n } if n == i && i < events.len() => {
                    let cut = format!(
                        "event: step.delta{eol}data: {{\"index\":0,\"delta\":{{\"text\":\"trunc{eol}{eol}"
                    );
                    steps.push(Step::Write(Bytes::from(cut), true));
                }
                _ => {}
            }
        }
        let Some((event, tokens)) = events.get(i) else {
            break;
        };
        let delay = if i == 0 && fresh {
            pace.first_chunk()
        } else {
            pace.delay_for_tokens(*tokens)
        };
        if !delay.is_zero() {
            steps.push(Step::Sleep(delay));
        }
        match spec.find(|f| match f {
            Fault::OversizedEvent { event: n, size } if *n == i => Some(*size),
            _ => None,
        }) {
            Some(size) => oversized(event, size, eol, &mut steps),
            None => steps.push(Step::Write(Bytes::from(encode(event, eol)), true)),
        }
    }
    steps
}

/// An event padded to about `size` bytes of JSON: a `padding` member of filler text, written
/// lazily.
fn oversized(event: &InteractionEvent, size: usize, eol: &str, steps: &mut Vec<Step>) {
    let mut data = event.to_data();
    data.insert("padding".to_owned(), Value::String(PAD_MARKER.to_owned()));
    let json = json::to_compact(&data);
    let escaped = br"\u0001\u0002pad\u0002\u0001";
    let Some(at) = json.windows(escaped.len()).position(|w| w == escaped) else {
        steps.push(Step::Write(Bytes::from(encode(event, eol)), true));
        return;
    };
    let mut head = format!("event: {}{eol}data: ", event.event_type()).into_bytes();
    head.extend_from_slice(&json[..at]);
    let mut tail = json[at + escaped.len()..].to_vec();
    tail.extend_from_slice(eol.as_bytes());
    tail.extend_from_slice(eol.as_bytes());
    let rest = json.len() - escaped.len();
    steps.push(Step::Write(Bytes::from(head), false));
    steps.push(Step::Pad(size.saturating_sub(rest)));
    steps.push(Step::Write(Bytes::from(tail), true));
}
