//! Long answers over several requests, and broken streams resumed from checkpoints, through
//! `GenerateCall` against a model server in the test: hop caps, checkpoints, drops anywhere, with
//! simulated time and no I/O. What the caller sees — chunks, with what was taken back erased —
//! must be the uninterrupted answer, exactly once; usage must add up over the requests.

use std::time::{Duration, Instant};

use gemini_proto::call::{Action, Call, GenerateCall, MAX_RECONNECTS_WITHOUT_PROGRESS};
use gemini_proto::error::Error;
use gemini_proto::retry::RetryPolicy;
use gemini_proto::types::{ContinuationToken, FinishReason, GenerateContentRequest};
use gemini_proto::{Api, Auth, Endpoint, ErrorKind};
use http::{HeaderMap, StatusCode};
use proptest::prelude::*;

#[allow(clippy::disallowed_methods)] // any instant will do as the origin of simulated time
fn origin() -> Instant {
    Instant::now()
}

/// How one request goes wrong.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    None,
    /// The connection breaks after this many events of the hop.
    CutAfter(usize),
    /// The body ends cleanly after this many events, without a finish reason.
    EndAfter(usize),
    /// The connection breaks in the middle of the event after this many.
    TruncateAfter(usize),
    /// The request is refused: HTTP 503.
    Refuse,
}

/// A model that answers `words`, at most `hop` words per request, with a checkpoint every
/// `every` words; tokens encode the position.
struct Server {
    words: Vec<String>,
    hop: usize,
    every: usize,
    prompt_tokens: u32,
}

fn token(position: usize) -> String {
    ContinuationToken::new((position as u32).to_be_bytes().to_vec()).to_base64()
}

impl Server {
    fn new(n: usize, hop: usize, every: usize) -> Self {
        Self {
            words: (0..n).map(|i| format!("w{i} ")).collect(),
            hop,
            every,
            prompt_tokens: 5,
        }
    }

    fn full_text(&self) -> String {
        self.words.concat()
    }

    /// Where a request starts, from its body's `continuationToken`.
    fn start(&self, body: &[u8]) -> usize {
        let json: serde_json::Value = serde_json::from_slice(body).unwrap();
        match json["continuationToken"].as_str() {
            None => 0,
            Some(text) => {
                let bytes = ContinuationToken::from_base64(text).unwrap();
                u32::from_be_bytes(bytes.as_bytes().try_into().unwrap()) as usize
            }
        }
    }

    /// The SSE events of a hop starting at `start`: (event, its usage's candidates count).
    fn events(&self, start: usize) -> Vec<String> {
        let end = (start + self.hop).min(self.words.len());
        let mut events = Vec::new();
        for (i, position) in (start..end).enumerate() {
            let mut candidate = serde_json::json!({
                "content": {"parts": [{"text": self.words[position]}], "role": "model"}
            });
            let next = position + 1;
            let last = next == end;
            if last && end == self.words.len() {
                candidate["finishReason"] = "STOP".into();
            } else if last {
                candidate["finishReason"] = "CONTINUATION".into();
                candidate["continuationToken"] = token(next).into();
            } else if (i + 1) % self.every == 0 {
                candidate["continuationToken"] = token(next).into();
            }
            let answer = (i + 1) as u32;
            let event = serde_json::json!({
                "candidates": [candidate],
                "usageMetadata": {
                    "promptTokenCount": self.prompt_tokens,
                    "candidatesTokenCount": answer,
                    "totalTokenCount": self.prompt_tokens + answer,
                    "candidatesTokensDetails": [{"modality": "TEXT", "tokenCount": answer}],
                },
            });
            events.push(format!("data: {event}\r\n\r\n"));
        }
        if start >= self.words.len() {
            // Nothing left: an empty STOP (a token at the very end).
            events.push("data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"\"}]}, \"finishReason\": \"STOP\"}]}\r\n\r\n".to_owned());
        }
        events
    }
}

/// What the caller ends up with.
#[derive(Debug, Default)]
struct Outcome {
    /// The text as a UI shows it: appended chunk by chunk, erased on rollbacks.
    screen: String,
    rollbacks: usize,
    error: Option<Error>,
    requests: usize,
    /// The usage the last chunk carried, and each request's own last usage (summed by hand).
    last_usage: Option<(u32, u32, u32)>,
    hop_usage_sum: (u32, u32, u32),
    waits: Vec<Duration>,
}

fn new_call(start: Option<ContinuationToken>, confirmed_only: bool) -> GenerateCall {
    let api = Api::new(
        Endpoint::new("http://127.0.0.1:9").unwrap(),
        Auth::api_key("k"),
    );
    let mut request = GenerateContentRequest::from_prompt("a long story");
    request.continuation_token = start;
    GenerateCall::stream(&api, "m", &request)
        .unwrap()
        .with_retry_policy(RetryPolicy::default().with_jitter(0.0))
        .with_confirmed_only(confirmed_only)
}

fn run(server: &Server, mut call: GenerateCall, faults: &[Fault]) -> (GenerateCall, Outcome) {
    let mut now = origin();
    let mut out = Outcome::default();
    let mut body: Vec<Vec<u8>> = Vec::new();
    let mut end = Fault::None;
    let mut read = 0;
    let mut hop_last: Option<(u32, u32, u32)> = None;
    for _ in 0..100_000 {
        match call.poll(now) {
            Action::Send(request) => {
                if let Some(u) = hop_last.take() {
                    out.hop_usage_sum.0 += u.0;
                    out.hop_usage_sum.1 += u.1;
                    out.hop_usage_sum.2 += u.2;
                }
                let fault = faults.get(out.requests).copied().unwrap_or(Fault::None);
                out.requests += 1;
                if fault == Fault::Refuse {
                    call.handle_response(StatusCode::SERVICE_UNAVAILABLE, &HeaderMap::new());
                    body = vec![];
                    end = Fault::None;
                    continue;
                }
                let events = server.events(server.start(request.body()));
                call.handle_response(StatusCode::OK, &HeaderMap::new());
                body = match fault {
                    Fault::CutAfter(k) | Fault::EndAfter(k) => events
                        .iter()
                        .take(k)
                        .map(|e| e.clone().into_bytes())
                        .collect(),
                    Fault::TruncateAfter(k) => {
                        let mut kept: Vec<Vec<u8>> = events
                            .iter()
                            .take(k)
                            .map(|e| e.clone().into_bytes())
                            .collect();
                        if let Some(next) = events.get(k) {
                            kept.push(next.as_bytes()[..next.len() / 2].to_vec());
                        }
                        kept
                    }
                    _ => events.into_iter().map(String::into_bytes).collect(),
                };
                // Each request's own usage is the running total in its last event that arrived.
                hop_last = body.iter().rev().find_map(|e| usage_of(e));
                end = fault;
                read = 0;
            }
            Action::Read => {
                if read < body.len() {
                    call.handle_frame(&body[read]);
                    read += 1;
                } else {
                    match end {
                        Fault::CutAfter(_) | Fault::TruncateAfter(_) => call
                            .handle_transport_error(Error::transport(
                                ErrorKind::Connection,
                                std::io::Error::other("reset"),
                            )),
                        _ => call.handle_end(),
                    }
                }
            }
            Action::Wait(delay) => {
                out.waits.push(delay);
                now += delay;
            }
            Action::Item(chunk) => {
                if let Some(usage) = chunk.usage() {
                    out.last_usage = Some((
                        usage.prompt_token_count.unwrap_or(0),
                        usage.candidates_token_count.unwrap_or(0),
                        usage.total_token_count.unwrap_or(0),
                    ));
                }
                // The machine's own business stays out of sight.
                assert!(
                    chunk
                        .candidates
                        .iter()
                        .all(|c| c.continuation_token.is_none())
                );
                assert_ne!(chunk.finish_reason(), Some(&FinishReason::Continuation));
                out.screen.push_str(&chunk.text().unwrap_or_default());
            }
            Action::Rollback(discarded) => {
                out.rollbacks += 1;
                assert!(
                    out.screen.ends_with(&discarded.text),
                    "{:?} does not end with {:?}",
                    out.screen,
                    discarded.text
                );
                out.screen.truncate(out.screen.len() - discarded.text.len());
            }
            Action::Done => {
                if let Some(u) = hop_last.take() {
                    out.hop_usage_sum.0 += u.0;
                    out.hop_usage_sum.1 += u.1;
                    out.hop_usage_sum.2 += u.2;
                }
                return (call, out);
            }
            Action::Failed(error) => {
                out.error = Some(error);
                return (call, out);
            }
        }
    }
    panic!("the call never ended");
}

fn usage_of(event: &[u8]) -> Option<(u32, u32, u32)> {
    let text = std::str::from_utf8(event).ok()?;
    let json: serde_json::Value =
        serde_json::from_str(text.strip_prefix("data: ")?.trim_end()).ok()?;
    let usage = &json["usageMetadata"];
    Some((
        usage["promptTokenCount"].as_u64()? as u32,
        usage["candidatesTokenCount"].as_u64()? as u32,
        usage["totalTokenCount"].as_u64()? as u32,
    ))
}

#[test]
fn a_long_answer_is_continued_over_several_requests() {
    let server = Server::new(10, 4, 100);
    let (call, out) = run(&server, new_call(None, false), &[]);
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(out.screen, server.full_text());
    assert_eq!(call.response().text().unwrap(), server.full_text());
    assert_eq!(out.requests, 3);
    assert_eq!(call.hops(), 3);
    assert_eq!(call.reconnects(), 0);
    assert_eq!(out.rollbacks, 0);
    // Usage: within a request the last total wins; across requests they add up.
    assert_eq!(out.last_usage, Some((15, 10, 25)));
    assert_eq!(out.last_usage, Some(out.hop_usage_sum));
    let usage = call.usage().unwrap();
    assert_eq!(usage.candidates_tokens_details[0].token_count, Some(10));
    // One answer: the finish reason is the last one, and no token shows.
    assert_eq!(call.response().finish_reason(), Some(&FinishReason::Stop));
    assert!(call.response().candidates[0].continuation_token.is_none());
    assert_eq!(call.response().parts().len(), 1, "the hops' text merged");
}

#[test]
fn a_drop_after_a_checkpoint_resumes_there_and_takes_back_what_followed() {
    // Checkpoints after words 2, 4, 6, …; the first request breaks after 5 events.
    let server = Server::new(8, 100, 2);
    let (call, out) = run(&server, new_call(None, false), &[Fault::CutAfter(5)]);
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(out.screen, server.full_text());
    assert_eq!(call.response().text().unwrap(), server.full_text());
    // Word 4 (after the checkpoint at 4) had been shown, and was taken back.
    assert_eq!(out.rollbacks, 1);
    assert_eq!(call.reconnects(), 1);
    assert_eq!(call.hops(), 1);
    assert_eq!(out.waits, [], "progress was made: reconnect at once");
}

#[test]
fn confirmed_only_output_is_never_taken_back() {
    let server = Server::new(8, 100, 2);
    let (call, out) = run(
        &server,
        new_call(None, true),
        &[Fault::CutAfter(5), Fault::TruncateAfter(1)],
    );
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(out.rollbacks, 0);
    assert_eq!(out.screen, server.full_text());
    assert_eq!(call.response().text().unwrap(), server.full_text());
}

#[test]
fn drops_before_any_progress_are_retried_three_times_then_give_up() {
    // A checkpoint after every 3 words, 2 words per request: each request ends with
    // CONTINUATION; the second request breaks before its first event, four times in a row.
    let server = Server::new(6, 2, 3);
    let faults = [
        Fault::None,
        Fault::EndAfter(0),
        Fault::TruncateAfter(0),
        Fault::CutAfter(0),
        Fault::CutAfter(0),
        Fault::CutAfter(0),
        Fault::CutAfter(0),
    ];
    let (_, out) = run(&server, new_call(None, false), &faults);
    // Nothing of the second request arrived, so the retry policy handles it: 5 attempts.
    let error = out.error.expect("gave up");
    assert_eq!(out.requests, 6);
    assert_eq!(error.hops(), 2);
    assert_eq!(error.continuation_token().unwrap().to_base64(), token(2));
    assert_eq!(error.partial_response().unwrap().text().unwrap(), "w0 w1 ");
    assert!(
        error.to_string().contains("2 hops, 0 reconnects"),
        "{error}"
    );
    assert!(error.to_string().contains("resumable"), "{error}");
}

#[test]
fn reconnects_without_a_new_checkpoint_give_up_after_the_third() {
    // Checkpoints after every 2 words; every request after the first shows one word of the
    // checkpointed stretch and breaks, never reaching the next checkpoint.
    let server = Server::new(10, 100, 2);
    let mut faults = vec![Fault::CutAfter(3)];
    faults.extend(std::iter::repeat_n(Fault::CutAfter(1), 10));
    let (call, out) = run(&server, new_call(None, false), &faults);
    let error = out.error.expect("gave up");
    assert_eq!(
        call.reconnects() as usize,
        1 + MAX_RECONNECTS_WITHOUT_PROGRESS as usize
    );
    assert_eq!(out.requests, 5);
    assert_eq!(error.kind(), ErrorKind::Connection);
    // The partial answer ends at the checkpoint the token resumes from.
    let partial = error.partial_response().unwrap().text().unwrap();
    assert_eq!(partial, "w0 w1 ");
    assert_eq!(error.continuation_token().unwrap().to_base64(), token(2));
    // Waits grow between reconnects that made no progress.
    assert_eq!(out.waits.len(), 3);
    assert!(out.waits.windows(2).all(|w| w[0] < w[1]), "{:?}", out.waits);
    // Resuming by hand from the token completes the answer, nothing repeated.
    let (_, rest) = run(
        &server,
        new_call(error.continuation_token().cloned(), false),
        &[],
    );
    assert_eq!(format!("{partial}{}", rest.screen), server.full_text());
}

#[test]
fn a_stream_without_checkpoints_cannot_resume() {
    let server = Server::new(5, 100, 100);
    let (_, out) = run(&server, new_call(None, false), &[Fault::CutAfter(2)]);
    let error = out.error.expect("no checkpoint to resume from");
    assert!(error.continuation_token().is_none());
    assert_eq!(error.partial_response().unwrap().text().unwrap(), "w0 w1 ");
    assert_eq!(out.requests, 1);
}

#[test]
fn continuation_off_hands_the_token_to_the_caller() {
    let server = Server::new(6, 4, 100);
    let mut out_call = new_call(None, false).with_automatic_continuation(false);
    let mut now = origin();
    let mut text = String::new();
    let mut last_token = None;
    let mut finish = None;
    loop {
        match out_call.poll(now) {
            Action::Send(request) => {
                let events = server.events(server.start(request.body()));
                out_call.handle_response(StatusCode::OK, &HeaderMap::new());
                for e in events {
                    out_call.handle_frame(e.as_bytes());
                }
                out_call.handle_end();
            }
            Action::Item(chunk) => {
                text.push_str(&chunk.text().unwrap_or_default());
                if let Some(c) = chunk.candidates.first() {
                    if c.continuation_token.is_some() {
                        last_token = c.continuation_token.clone();
                    }
                    if c.finish_reason.is_some() {
                        finish = c.finish_reason.clone();
                    }
                }
            }
            Action::Done => break,
            Action::Wait(d) => now += d,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(text, "w0 w1 w2 w3 ");
    assert_eq!(finish, Some(FinishReason::Continuation));
    assert_eq!(last_token.as_ref().unwrap().to_base64(), token(4));
    assert_eq!(
        out_call.response().candidates[0].continuation_token,
        last_token,
        "the aggregate keeps the token"
    );
    // Continuing by hand from it.
    let (_, rest) = run(&server, new_call(last_token, false), &[]);
    assert_eq!(format!("{text}{}", rest.screen), server.full_text());
}

#[test]
fn a_refused_hop_goes_to_the_retry_policy() {
    let server = Server::new(6, 3, 100);
    let (call, out) = run(
        &server,
        new_call(None, false),
        &[Fault::None, Fault::Refuse, Fault::Refuse],
    );
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(out.screen, server.full_text());
    assert_eq!(out.waits, [Duration::from_secs(1), Duration::from_secs(2)]);
    assert_eq!(call.hops(), 2);
    assert_eq!(call.reconnects(), 0);
}

#[test]
fn the_whole_call_deadline_spans_every_hop() {
    let server = Server::new(10, 100, 2);
    let faults = vec![Fault::CutAfter(3), Fault::CutAfter(1), Fault::CutAfter(1)];
    let (_, out) = run(
        &server,
        new_call(None, false).with_deadline(Duration::from_millis(1500)),
        &faults,
    );
    // The reconnects' waits push the clock past the deadline.
    let error = out.error.expect("deadline");
    assert!(error.is_timeout(), "{error}");
    assert!(error.to_string().contains("deadline"), "{error}");
    assert_eq!(error.partial_response().unwrap().text().unwrap(), "w0 w1 ");
}

#[test]
fn a_unary_call_merges_the_hops() {
    let server = Server::new(7, 3, 100);
    let api = Api::new(
        Endpoint::new("http://127.0.0.1:9").unwrap(),
        Auth::api_key("k"),
    );
    let mut call =
        GenerateCall::unary(&api, "m", &GenerateContentRequest::from_prompt("q")).unwrap();
    let now = origin();
    let mut answers = vec![];
    let mut requests = 0;
    loop {
        match call.poll(now) {
            Action::Send(request) => {
                requests += 1;
                // A unary answer is the hop's events folded into one response.
                let start = server.start(request.body());
                let events = server.events(start);
                let last = events.last().unwrap();
                let mut whole: serde_json::Value =
                    serde_json::from_str(last.strip_prefix("data: ").unwrap().trim_end()).unwrap();
                let text: String = (start..(start + 3).min(7))
                    .map(|i| format!("w{i} "))
                    .collect();
                whole["candidates"][0]["content"]["parts"][0]["text"] = text.into();
                call.handle_response(StatusCode::OK, &HeaderMap::new());
                call.handle_frame(whole.to_string().as_bytes());
                call.handle_end();
            }
            Action::Item(answer) => answers.push(answer),
            Action::Done => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(requests, 3);
    assert_eq!(answers.len(), 1, "one answer");
    assert_eq!(answers[0].text().unwrap(), server.full_text());
    assert_eq!(answers[0].finish_reason(), Some(&FinishReason::Stop));
    // 5 prompt tokens per request, 3 + 3 + 1 answer tokens.
    assert_eq!(answers[0].usage().unwrap().prompt_token_count, Some(15));
    assert_eq!(answers[0].usage().unwrap().candidates_token_count, Some(7));
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        4 => Just(Fault::None),
        2 => (0usize..8).prop_map(Fault::CutAfter),
        1 => (0usize..8).prop_map(Fault::EndAfter),
        1 => (0usize..8).prop_map(Fault::TruncateAfter),
        1 => Just(Fault::Refuse),
    ]
}

proptest! {
    /// Whatever the drops, the caller's screen (with rollbacks erased) and the aggregate are the
    /// uninterrupted answer — or, if the call gives up, the answer up to the token it returns,
    /// and resuming from that token completes it. Usage always adds up over the requests.
    #[test]
    fn nothing_is_lost_or_duplicated_whatever_the_drops(
        n in 1usize..25,
        hop in 1usize..7,
        every in 1usize..5,
        faults in prop::collection::vec(fault(), 0..12),
        confirmed_only in any::<bool>(),
    ) {
        let server = Server::new(n, hop, every);
        let (call, out) = run(&server, new_call(None, confirmed_only), &faults);
        let full = server.full_text();
        match &out.error {
            None => {
                prop_assert_eq!(&out.screen, &full);
                prop_assert_eq!(call.response().text().unwrap_or_default(), full.clone());
                prop_assert_eq!(out.last_usage, Some(out.hop_usage_sum));
            }
            Some(error) => {
                let partial = error
                    .partial_response()
                    .and_then(|p| p.text())
                    .unwrap_or_default();
                prop_assert!(full.starts_with(&*partial));
                prop_assert!(out.screen.starts_with(&*partial));
                match error.continuation_token() {
                    Some(token) => {
                        let (_, rest) = run(&server, new_call(Some(token.clone()), false), &[]);
                        prop_assert!(rest.error.is_none());
                        prop_assert_eq!(format!("{partial}{}", rest.screen), full.clone());
                    }
                    // Nothing to resume from: the first request broke before its first
                    // checkpoint, or the answer was complete when the connection broke.
                    None => prop_assert!(error.hops() == 1 || partial == full),
                }
            }
        }
        if confirmed_only {
            prop_assert_eq!(out.rollbacks, 0);
        }
    }
}

#[test]
fn an_error_event_after_a_checkpoint_resumes_too() {
    // The server reports an error inside the stream after a checkpoint: a broken stream.
    let server = Server::new(6, 100, 2);
    let events = server.events(0);
    let mut broken: Vec<Vec<u8>> = events[..3].iter().map(|e| e.clone().into_bytes()).collect();
    broken.push(
        b"data: {\"error\": {\"code\": 500, \"message\": \"internal\", \"status\": \"INTERNAL\"}}\r\n\r\n"
            .to_vec(),
    );
    let mut call = new_call(None, false);
    let now = origin();
    let mut screen = String::new();
    let mut sent = 0;
    loop {
        match call.poll(now) {
            Action::Send(request) => {
                sent += 1;
                call.handle_response(StatusCode::OK, &HeaderMap::new());
                let frames = if sent == 1 {
                    broken.clone()
                } else {
                    server
                        .events(server.start(request.body()))
                        .into_iter()
                        .map(String::into_bytes)
                        .collect()
                };
                for frame in frames {
                    call.handle_frame(&frame);
                }
                call.handle_end();
            }
            Action::Item(chunk) => screen.push_str(&chunk.text().unwrap_or_default()),
            Action::Rollback(d) => screen.truncate(screen.len() - d.text.len()),
            Action::Done => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(screen, server.full_text());
    assert_eq!(call.reconnects(), 1);
}

#[test]
fn a_blocked_prompt_is_not_continued() {
    let mut call = new_call(None, false);
    let now = origin();
    let Action::Send(_) = call.poll(now) else {
        panic!()
    };
    call.handle_response(StatusCode::OK, &HeaderMap::new());
    call.handle_frame(b"data: {\"promptFeedback\": {\"blockReason\": \"SAFETY\"}, \"candidates\": [{\"finishReason\": \"CONTINUATION\", \"continuationToken\": \"AAE=\"}]}\r\n\r\n");
    call.handle_end();
    let Action::Item(chunk) = call.poll(now) else {
        panic!()
    };
    assert!(chunk.block_reason().is_some());
    assert!(matches!(call.poll(now), Action::Done));
    assert_eq!(call.hops(), 1);
}

/// The request a continued answer sends next is the first one, member for member (configuration,
/// tools and their schemas, fractional numbers, parts of every kind, members this crate does not
/// know), with the token added: the call keeps the request once, as the bytes it sent, and reads
/// them back for the next hop.
#[test]
fn the_next_request_is_the_first_with_the_token_and_nothing_else_changed() {
    let first: serde_json::Value = serde_json::json!({
        "contents": [
            {"role": "user", "parts": [
                {"text": "Describe this, at length: \u{00e9}\u{1f600} \"quoted\"\n"},
                {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
                {"fileData": {"mimeType": "image/jpeg", "fileUri": "gs://bucket/cat.jpg"}}
            ]},
            {"role": "model", "parts": [
                {"functionCall": {"name": "lookup", "args": {"q": "x", "n": 3, "deep": {"a": [1.5, null]}}},
                 "thoughtSignature": "c2lnbmF0dXJl"}
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "lookup", "response": {"result": 0.1}}}
            ]}
        ],
        "systemInstruction": {"parts": [{"text": "Be thorough."}]},
        "generationConfig": {
            "temperature": 0.7,
            "topP": 0.95,
            "topK": 40,
            "maxOutputTokens": 8192,
            "stopSequences": ["END"],
            "responseMimeType": "application/json",
            "responseSchema": {"type": "OBJECT", "properties": {"n": {"type": "NUMBER"}}},
            "thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": true},
            "someFutureKnob": {"level": 2.25}
        },
        "safetySettings": [
            {"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}
        ],
        "tools": [{"functionDeclarations": [{
            "name": "lookup",
            "description": "Looks a thing up.",
            "parameters": {"type": "OBJECT", "properties": {"q": {"type": "STRING"}}, "required": ["q"]}
        }]}],
        "toolConfig": {"functionCallingConfig": {"mode": "AUTO"}},
        "cachedContent": "cachedContents/abc",
        "aFutureTopLevelMember": [1, "two", {"three": 3.0e-7}]
    });
    let request: GenerateContentRequest = serde_json::from_value(first.clone()).unwrap();
    let api = Api::new(
        Endpoint::new("http://127.0.0.1:9").unwrap(),
        Auth::api_key("k"),
    );
    let mut call = GenerateCall::stream(&api, "m", &request).unwrap();
    let server = Server::new(6, 4, 100);
    let mut now = origin();
    let mut bodies = Vec::new();
    loop {
        match call.poll(now) {
            Action::Send(sent) => {
                bodies.push(serde_json::from_slice::<serde_json::Value>(sent.body()).unwrap());
                call.handle_response(StatusCode::OK, &HeaderMap::new());
                for event in server.events(server.start(sent.body())) {
                    call.handle_frame(event.as_bytes());
                }
                call.handle_end();
            }
            Action::Done => break,
            Action::Wait(d) => now += d,
            Action::Item(_) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(bodies.len(), 2, "one continuation");
    assert_eq!(bodies[0], first, "the first request is the request given");
    let mut expected = first;
    expected["continuationToken"] = serde_json::json!(token(4));
    assert_eq!(bodies[1], expected);
}
