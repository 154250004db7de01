//! The call state machines (`GenerateCall`, `Exchange`, `ModelPages`), driven against scripted
//! servers with simulated time: what is sent, how long it waits, what reaches the caller, and the
//! error it ends with. No I/O: every test is a loop around `poll`.

use std::time::{Duration, Instant};

use bytes::Bytes;
use gemini_proto::call::{Action, Call, Exchange, GenerateCall, ModelPages};
use gemini_proto::error::Error;
use gemini_proto::retry::RetryPolicy;
use gemini_proto::types::{CountTokensResponse, GenerateContentRequest, GenerateContentResponse};
use gemini_proto::{Api, Auth, Endpoint, ErrorKind, StreamFormat};
use http::{HeaderMap, HeaderValue, StatusCode};
use proptest::prelude::*;

/// The start of simulated time; only waits move it forward.
#[allow(clippy::disallowed_methods)] // any instant will do as the origin
fn origin() -> Instant {
    Instant::now()
}

/// What the server does with one attempt.
#[derive(Clone, Debug)]
enum Attempt {
    /// The transport fails before a response head.
    NoResponse(ErrorKind),
    /// A response: status, headers, body pieces, and how the body ends.
    Response {
        status: u16,
        headers: Vec<(&'static str, &'static str)>,
        body: Vec<Vec<u8>>,
        end: End,
    },
}

#[derive(Clone, Copy, Debug)]
enum End {
    Clean,
    Cut(ErrorKind),
}

fn ok(body: &[&str]) -> Attempt {
    Attempt::Response {
        status: 200,
        headers: vec![],
        body: body.iter().map(|s| s.as_bytes().to_vec()).collect(),
        end: End::Clean,
    }
}

fn status(code: u16, body: &str) -> Attempt {
    Attempt::Response {
        status: code,
        headers: vec![],
        body: vec![body.as_bytes().to_vec()],
        end: End::Clean,
    }
}

fn cut(body: &[&str], kind: ErrorKind) -> Attempt {
    Attempt::Response {
        status: 200,
        headers: vec![],
        body: body.iter().map(|s| s.as_bytes().to_vec()).collect(),
        end: End::Cut(kind),
    }
}

fn event(text: &str) -> String {
    format!(
        "data: {{\"candidates\": [{{\"content\": {{\"parts\": [{{\"text\": {text:?}}}],\"role\": \"model\"}}}}]}}\r\n\r\n"
    )
}

fn last_event(text: &str) -> String {
    format!(
        "data: {{\"candidates\": [{{\"content\": {{\"parts\": [{{\"text\": {text:?}}}],\"role\": \"model\"}},\"finishReason\": \"STOP\"}}],\"usageMetadata\": {{\"totalTokenCount\": 7}}}}\r\n\r\n"
    )
}

fn api_error(code: u16, status: &str) -> String {
    format!(
        "{{\"error\": {{\"code\": {code}, \"message\": \"m{code}\", \"status\": \"{status}\"}}}}"
    )
}

/// What the driver saw, in order.
#[derive(Debug, PartialEq)]
enum Seen {
    Send(u32),
    Wait(Duration),
    Text(String),
    Done,
    Failed(ErrorKind),
    /// Output taken back, by its text.
    Rollback(String),
}

struct Run {
    seen: Vec<Seen>,
    error: Option<Error>,
    /// Body pieces handed to the machine, per attempt.
    pieces_read: Vec<usize>,
}

fn transport_error(kind: ErrorKind) -> Error {
    Error::transport(kind, std::io::Error::other(format!("scripted {kind}")))
}

/// Drives `call` against `script` with simulated time (waits advance the clock).
fn drive<C: Call>(call: &mut C, script: &[Attempt], text: impl Fn(&C::Item) -> String) -> Run {
    let mut now = origin();
    let mut run = Run {
        seen: vec![],
        error: None,
        pieces_read: vec![],
    };
    let mut attempts = script.iter();
    let mut body: std::vec::IntoIter<Vec<u8>> = Vec::new().into_iter();
    let mut end = End::Clean;
    for _ in 0..10_000 {
        match call.poll(now) {
            Action::Send(request) => {
                assert_eq!(request.headers()["x-goog-api-key"], "k");
                run.seen.push(Send(call.attempts()));
                run.pieces_read.push(0);
                match attempts.next().expect("the script has no more attempts") {
                    Attempt::NoResponse(kind) => {
                        call.handle_transport_error(transport_error(*kind))
                    }
                    Attempt::Response {
                        status,
                        headers,
                        body: pieces,
                        end: how,
                    } => {
                        let mut map = HeaderMap::new();
                        for (name, value) in headers {
                            map.insert(*name, HeaderValue::from_static(value));
                        }
                        call.handle_response(StatusCode::from_u16(*status).unwrap(), &map);
                        body = pieces.clone().into_iter();
                        end = *how;
                    }
                }
            }
            Action::Read => match body.next() {
                Some(piece) => {
                    *run.pieces_read.last_mut().unwrap() += 1;
                    call.handle_frame(&piece);
                }
                None => match end {
                    End::Clean => call.handle_end(),
                    End::Cut(kind) => call.handle_transport_error(transport_error(kind)),
                },
            },
            Action::Wait(delay) => {
                run.seen.push(Wait(delay));
                now += delay;
            }
            Action::Item(item) => run.seen.push(Text(text(&item))),
            Action::Rollback(discarded) => run.seen.push(Seen::Rollback(discarded.text)),
            Action::Done => {
                run.seen.push(Done);
                // Done is sticky.
                assert!(matches!(call.poll(now), Action::Done));
                return run;
            }
            Action::Failed(error) => {
                run.seen.push(Failed(error.kind()));
                run.error = Some(error);
                assert!(matches!(call.poll(now), Action::Done));
                return run;
            }
        }
    }
    panic!("the call never ended: {:?}", run.seen);
}

fn api() -> Api {
    Api::new(
        Endpoint::new("http://127.0.0.1:9").unwrap(),
        Auth::api_key("k"),
    )
}

fn no_jitter() -> RetryPolicy {
    RetryPolicy::default().with_jitter(0.0)
}

fn stream() -> GenerateCall {
    GenerateCall::stream(&api(), "m", &GenerateContentRequest::from_prompt("q"))
        .unwrap()
        .with_retry_policy(no_jitter())
}

fn text(chunk: &GenerateContentResponse) -> String {
    chunk.text().unwrap_or_default().into_owned()
}

fn run_stream(script: &[Attempt]) -> (GenerateCall, Run) {
    let mut call = stream();
    let run = drive(&mut call, script, text);
    (call, run)
}

use Seen::{Done, Failed, Send, Text, Wait};

fn secs(s: u64) -> Seen {
    Wait(Duration::from_secs(s))
}

#[test]
fn a_stream_delivers_its_chunks_and_ends() {
    let (call, run) = run_stream(&[ok(&[&event("Hel"), &last_event("lo")])]);
    assert_eq!(
        run.seen,
        [Send(1), Text("Hel".into()), Text("lo".into()), Done]
    );
    assert_eq!(call.response().text().as_deref(), Some("Hello"));
    assert_eq!(call.usage().unwrap().total_token_count, Some(7));
    assert_eq!(call.chunks_delivered(), 2);
    assert_eq!(call.status(), Some(StatusCode::OK));
}

#[test]
fn retryable_statuses_are_retried_with_backoff() {
    let (_, run) = run_stream(&[
        status(503, &api_error(503, "UNAVAILABLE")),
        status(500, "<html>oops</html>"),
        status(429, ""),
        ok(&[&last_event("fine")]),
    ]);
    assert_eq!(
        run.seen,
        [
            Send(1),
            secs(1),
            Send(2),
            secs(2),
            Send(3),
            secs(4),
            Send(4),
            Text("fine".into()),
            Done
        ]
    );
}

#[test]
fn the_server_delay_wins_over_the_backoff() {
    let body = r#"{"error": {"code": 429, "message": "Quota exceeded.", "status": "RESOURCE_EXHAUSTED",
        "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "34.4s"}]}}"#;
    let (_, run) = run_stream(&[status(429, body), ok(&[&last_event("x")])]);
    assert_eq!(run.seen[1], Wait(Duration::from_millis(34_400)));
    // Retry-After when there is no RetryInfo.
    let (_, run) = run_stream(&[
        Attempt::Response {
            status: 503,
            headers: vec![("retry-after", "7")],
            body: vec![],
            end: End::Clean,
        },
        ok(&[&last_event("x")]),
    ]);
    assert_eq!(run.seen[1], secs(7));
}

#[test]
fn client_errors_are_not_retried() {
    let (_, run) = run_stream(&[status(404, &api_error(404, "NOT_FOUND"))]);
    assert_eq!(run.seen, [Send(1), Failed(ErrorKind::Api)]);
    let error = run.error.unwrap();
    assert_eq!(error.http_status(), Some(StatusCode::NOT_FOUND));
    assert_eq!(error.api_error().unwrap().message(), "m404");
    assert_eq!(error.attempts(), 1);
    assert!(error.partial_response().is_none());
}

#[test]
fn attempts_run_out() {
    let failing = status(503, &api_error(503, "UNAVAILABLE"));
    let (_, run) = run_stream(&vec![failing; 5]);
    assert_eq!(
        run.seen,
        [
            Send(1),
            secs(1),
            Send(2),
            secs(2),
            Send(3),
            secs(4),
            Send(4),
            secs(8),
            Send(5),
            Failed(ErrorKind::Api)
        ]
    );
    let error = run.error.unwrap();
    assert_eq!(error.attempts(), 5);
    assert!(error.to_string().ends_with("(after 5 attempts)"), "{error}");
}

#[test]
fn a_disabled_policy_never_retries() {
    let mut call = stream().with_retry_policy(RetryPolicy::disabled());
    let run = drive(&mut call, &[status(503, "")], text);
    assert_eq!(run.seen, [Send(1), Failed(ErrorKind::UnexpectedBody)]);
}

#[test]
fn an_error_event_before_the_first_chunk_is_retried() {
    // python-genai hands this error to the caller; nothing had reached the caller yet.
    let first = format!("data: {}\r\n\r\n", api_error(503, "UNAVAILABLE"));
    let (call, run) = run_stream(&[ok(&[&first]), ok(&[&last_event("second try")])]);
    assert_eq!(
        run.seen,
        [Send(1), secs(1), Send(2), Text("second try".into()), Done]
    );
    assert_eq!(call.response().text().as_deref(), Some("second try"));
}

#[test]
fn raw_json_injected_before_the_first_chunk_is_retried() {
    let raw = format!("{}\n", api_error(500, "INTERNAL"));
    let (_, run) = run_stream(&[ok(&[&raw]), ok(&[&last_event("ok")])]);
    assert_eq!(
        run.seen,
        [Send(1), secs(1), Send(2), Text("ok".into()), Done]
    );
}

#[test]
fn a_non_retryable_error_event_is_not_retried() {
    let first = format!("data: {}\r\n\r\n", api_error(400, "INVALID_ARGUMENT"));
    let (_, run) = run_stream(&[ok(&[&first])]);
    assert_eq!(run.seen, [Send(1), Failed(ErrorKind::Api)]);
}

#[test]
fn nothing_is_retried_once_a_chunk_was_delivered() {
    let error_event = format!("data: {}\r\n\r\n", api_error(503, "UNAVAILABLE"));
    let (_, run) = run_stream(&[ok(&[&event("partial "), &event("text"), &error_event])]);
    assert_eq!(
        run.seen,
        [
            Send(1),
            Text("partial ".into()),
            Text("text".into()),
            Failed(ErrorKind::Api)
        ]
    );
    let error = run.error.unwrap();
    assert!(error.is_retryable(), "retryable in itself");
    assert_eq!(
        error.partial_response().unwrap().text().as_deref(),
        Some("partial text")
    );
}

#[test]
fn a_connection_cut_before_any_chunk_is_retried() {
    // The head arrived, then the connection broke inside the first event.
    let half = &event("lost")[..20];
    let (_, run) = run_stream(&[
        cut(&[half], ErrorKind::Connection),
        ok(&[&last_event("whole")]),
    ]);
    assert_eq!(
        run.seen,
        [Send(1), secs(1), Send(2), Text("whole".into()), Done]
    );
}

#[test]
fn a_connection_cut_after_chunks_fails_with_what_arrived() {
    let two = format!("{}{}", event("one "), event("two"));
    let (_, run) = run_stream(&[cut(&[&two, "data: {\"cand"], ErrorKind::Connection)]);
    // Both chunks decoded before the cut reach the caller before the error.
    assert_eq!(
        run.seen,
        [
            Send(1),
            Text("one ".into()),
            Text("two".into()),
            Failed(ErrorKind::Connection)
        ]
    );
    let error = run.error.unwrap();
    assert_eq!(
        error.partial_response().unwrap().text().as_deref(),
        Some("one two")
    );
    assert!(
        error
            .to_string()
            .starts_with("the connection failed: scripted")
    );
}

#[test]
fn an_idle_timeout_mid_stream_keeps_what_arrived() {
    let (_, run) = run_stream(&[cut(&[&event("slow ")], ErrorKind::Timeout)]);
    assert_eq!(
        run.seen,
        [Send(1), Text("slow ".into()), Failed(ErrorKind::Timeout)]
    );
    assert!(run.error.unwrap().is_timeout());
}

#[test]
fn an_error_decoded_before_the_cut_wins() {
    let error_event = format!("data: {}\r\n\r\n", api_error(400, "INVALID_ARGUMENT"));
    let (_, run) = run_stream(&[cut(&[&event("a"), &error_event], ErrorKind::Connection)]);
    assert_eq!(
        run.seen,
        [Send(1), Text("a".into()), Failed(ErrorKind::Api)]
    );
}

#[test]
fn connection_failures_before_the_response_are_retried() {
    let (_, run) = run_stream(&[
        Attempt::NoResponse(ErrorKind::Connect),
        Attempt::NoResponse(ErrorKind::Timeout),
        Attempt::NoResponse(ErrorKind::Connection),
        ok(&[&last_event("up")]),
    ]);
    assert_eq!(
        run.seen,
        [
            Send(1),
            secs(1),
            Send(2),
            secs(2),
            Send(3),
            secs(4),
            Send(4),
            Text("up".into()),
            Done
        ]
    );
}

#[test]
fn other_transport_failures_are_final() {
    // A custom transport's own failure, a missing runtime: sending again would fail the same way.
    let (_, run) = run_stream(&[Attempt::NoResponse(ErrorKind::Transport)]);
    assert_eq!(run.seen, [Send(1), Failed(ErrorKind::Transport)]);
}

#[test]
fn a_clean_end_without_a_finish_reason_is_incomplete() {
    // Before any chunk: nothing arrived, so another attempt.
    let (_, run) = run_stream(&[ok(&[]), ok(&[&last_event("done")])]);
    assert_eq!(
        run.seen,
        [Send(1), secs(1), Send(2), Text("done".into()), Done]
    );
    // After chunks: the caller learns the answer may be cut short, and keeps it.
    let (_, run) = run_stream(&[ok(&[&event("cut sh")])]);
    assert_eq!(
        run.seen,
        [
            Send(1),
            Text("cut sh".into()),
            Failed(ErrorKind::Incomplete)
        ]
    );
    assert_eq!(
        run.error
            .unwrap()
            .partial_response()
            .unwrap()
            .text()
            .as_deref(),
        Some("cut sh")
    );
}

#[test]
fn a_blocked_prompt_is_an_answer_not_an_error() {
    let blocked = "data: {\"promptFeedback\": {\"blockReason\": \"SAFETY\"}}\r\n\r\n";
    let (call, run) = run_stream(&[ok(&[blocked])]);
    assert_eq!(run.seen, [Send(1), Text(String::new()), Done]);
    assert!(call.response().block_reason().is_some());
}

#[test]
fn an_error_body_is_read_only_up_to_the_bound() {
    let page = vec![b'x'; 64 * 1024];
    let script = [
        Attempt::Response {
            status: 502,
            headers: vec![("content-type", "text/html")],
            body: vec![page.clone(); 64],
            end: End::Clean,
        },
        ok(&[&last_event("ok")]),
    ];
    let mut call = stream().with_max_error_body(256 * 1024);
    let run = drive(&mut call, &script, text);
    assert_eq!(
        run.seen,
        [Send(1), secs(1), Send(2), Text("ok".into()), Done]
    );
    // 256 KiB is four pieces of 64 KiB, plus the one that crossed the bound.
    assert_eq!(run.pieces_read[0], 5);

    let mut call = stream()
        .with_max_error_body(1000)
        .with_retry_policy(RetryPolicy::disabled());
    let run = drive(&mut call, &script[..1], text);
    let error = run.error.unwrap();
    assert_eq!(error.kind(), ErrorKind::TooLarge);
    assert_eq!(error.http_status(), Some(StatusCode::BAD_GATEWAY));
    assert_eq!(
        error.to_string(),
        "HTTP 502 Bad Gateway with an error body larger than 1000 bytes"
    );
}

#[test]
fn the_time_budget_stops_retries() {
    let mut call =
        stream().with_retry_policy(no_jitter().with_max_elapsed(Some(Duration::from_secs(2))));
    let failing = status(503, "");
    let run = drive(
        &mut call,
        &[failing.clone(), failing.clone(), failing],
        text,
    );
    // 1 s fits the budget, 1 + 2 s does not.
    assert_eq!(
        run.seen,
        [Send(1), secs(1), Send(2), Failed(ErrorKind::UnexpectedBody)]
    );
}

#[test]
fn cancelling_fails_with_what_arrived() {
    let mut call = stream();
    let now = origin();
    let Action::Send(_) = call.poll(now) else {
        panic!()
    };
    call.handle_response(StatusCode::OK, &HeaderMap::new());
    assert!(matches!(call.poll(now), Action::Read));
    call.handle_frame(event("before cancel").as_bytes());
    let Action::Item(_) = call.poll(now) else {
        panic!()
    };
    call.cancel();
    let Action::Failed(error) = call.poll(now) else {
        panic!()
    };
    assert!(error.is_cancelled());
    assert_eq!(error.to_string(), "the call was cancelled");
    assert_eq!(
        error.partial_response().unwrap().text().as_deref(),
        Some("before cancel")
    );
    assert!(matches!(call.poll(now), Action::Done));
    // Cancelling an ended call changes nothing.
    call.cancel();
    assert!(matches!(call.poll(now), Action::Done));
}

#[test]
fn polling_while_the_head_is_awaited_is_a_usage_error() {
    let mut call = stream();
    let now = origin();
    let Action::Send(_) = call.poll(now) else {
        panic!()
    };
    let Action::Failed(error) = call.poll(now) else {
        panic!()
    };
    assert_eq!(error.kind(), ErrorKind::InvalidRequest);
}

#[test]
fn json_array_streams_are_decoded_too() {
    let mut call = GenerateCall::stream_as(
        &api(),
        "m",
        &GenerateContentRequest::from_prompt("q"),
        StreamFormat::JsonArray,
    )
    .unwrap();
    let body = [
        "[{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"a\"}]}}]}\n,",
        "\r\n{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"b\"}]},\"finishReason\": \"STOP\"}]}\n]",
    ];
    let run = drive(&mut call, &[ok(&body)], text);
    assert_eq!(
        run.seen,
        [Send(1), Text("a".into()), Text("b".into()), Done]
    );
}

fn unary() -> GenerateCall {
    GenerateCall::unary(&api(), "m", &GenerateContentRequest::from_prompt("q"))
        .unwrap()
        .with_retry_policy(no_jitter())
}

#[test]
fn a_unary_call_hands_out_one_answer() {
    let answer = r#"{"candidates": [{"content": {"parts": [{"text": "whole answer"}]}, "finishReason": "STOP"}]}"#;
    let mut call = unary();
    let run = drive(&mut call, &[ok(&[&answer[..10], &answer[10..]])], text);
    assert_eq!(run.seen, [Send(1), Text("whole answer".into()), Done]);
    assert!(!call.is_stream());
    // An error object in a 200 answer is judged by its code: a 500 is worth another attempt.
    let mut call = unary();
    let run = drive(
        &mut call,
        &[ok(&[&api_error(500, "INTERNAL")]), ok(&[answer])],
        text,
    );
    assert_eq!(
        run.seen,
        [Send(1), secs(1), Send(2), Text("whole answer".into()), Done]
    );
    // An answer cut by the connection is another attempt; one that is not JSON is final.
    let mut call = unary();
    let run = drive(
        &mut call,
        &[
            cut(&[&answer[..10]], ErrorKind::Connection),
            ok(&["not json"]),
        ],
        text,
    );
    assert_eq!(
        run.seen,
        [Send(1), secs(1), Send(2), Failed(ErrorKind::Decode)]
    );
}

#[test]
fn an_exchange_retries_and_decodes() {
    let request = api()
        .count_tokens(
            "m",
            &gemini_proto::types::CountTokensRequest::new([gemini_proto::types::Content::user(
                "q",
            )]),
        )
        .unwrap();
    let mut call = Exchange::<CountTokensResponse>::new(request).with_retry_policy(no_jitter());
    let run = drive(
        &mut call,
        &[
            Attempt::NoResponse(ErrorKind::Connect),
            status(503, ""),
            ok(&[r#"{"totalTokens": 3}"#]),
        ],
        |answer: &CountTokensResponse| answer.total_tokens.unwrap().to_string(),
    );
    assert_eq!(
        run.seen,
        [
            Send(1),
            secs(1),
            Send(2),
            secs(2),
            Send(3),
            Text("3".into()),
            Done
        ]
    );
}

#[test]
fn model_pages_walk_until_the_last_page() {
    let api = api();
    let mut pages = ModelPages::new(Some(1)).with_retry_policy(no_jitter());
    let answers = [
        r#"{"models": [{"name": "models/a"}], "nextPageToken": "p2"}"#,
        r#"{"models": [{"name": "models/b"}], "nextPageToken": ""}"#,
    ];
    let mut names = vec![];
    let mut uris = vec![];
    for answer in answers {
        let mut exchange = pages.next_page(&api).unwrap().unwrap();
        let now = origin();
        let Action::Send(request) = exchange.poll(now) else {
            panic!()
        };
        uris.push(request.uri().to_string());
        exchange.handle_response(StatusCode::OK, &HeaderMap::new());
        assert!(matches!(exchange.poll(now), Action::Read));
        exchange.handle_frame(answer.as_bytes());
        exchange.handle_end();
        let Action::Item(page) = exchange.poll(now) else {
            panic!()
        };
        names.extend(pages.handle_page(page).unwrap().into_iter().map(|m| m.name));
    }
    assert!(pages.next_page(&api).is_none());
    assert_eq!(names, ["models/a", "models/b"]);
    assert_eq!(
        uris,
        [
            "http://127.0.0.1:9/v1beta/models?pageSize=1",
            "http://127.0.0.1:9/v1beta/models?pageSize=1&pageToken=p2"
        ]
    );
}

/// One failure that happens before anything reaches the caller.
fn early_failure() -> impl Strategy<Value = Attempt> {
    prop_oneof![
        Just(Attempt::NoResponse(ErrorKind::Connect)),
        Just(Attempt::NoResponse(ErrorKind::Timeout)),
        Just(Attempt::NoResponse(ErrorKind::Connection)),
        Just(status(503, "")),
        Just(status(429, "")),
        Just(status(500, &api_error(500, "INTERNAL"))),
        Just(ok(&[&format!(
            "data: {}\r\n\r\n",
            api_error(503, "UNAVAILABLE")
        )])),
        Just(ok(&[])),
        Just(cut(&["data: {\"candi"], ErrorKind::Connection)),
    ]
}

proptest! {
    /// Whatever failures come before it, a successful attempt delivers exactly its own chunks,
    /// however its body is split, and the waits follow the backoff.
    #[test]
    fn failures_before_the_first_chunk_never_leak_into_the_answer(
        failures in prop::collection::vec(early_failure(), 0..6),
        words in prop::collection::vec("[a-z ]{1,12}", 1..6),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let mut body = String::new();
        for (i, word) in words.iter().enumerate() {
            body.push_str(&if i + 1 == words.len() { last_event(word) } else { event(word) });
        }
        let mut offsets: Vec<usize> = cuts.iter().map(|c| c.index(body.len() + 1)).collect();
        offsets.push(0);
        offsets.push(body.len());
        offsets.sort_unstable();
        offsets.dedup();
        let pieces: Vec<&str> = offsets.windows(2).map(|w| &body[w[0]..w[1]]).collect();

        let mut script = failures.clone();
        script.push(ok(&pieces));
        let mut call = stream().with_retry_policy(no_jitter().with_max_attempts(10));
        let run = drive(&mut call, &script, text);

        let texts: Vec<String> = run.seen.iter().filter_map(|s| match s {
            Text(t) => Some(t.clone()),
            _ => None,
        }).collect();
        prop_assert_eq!(&texts, &words);
        prop_assert_eq!(run.seen.last(), Some(&Done));
        prop_assert_eq!(call.attempts() as usize, failures.len() + 1);
        let waits: Vec<Duration> = run.seen.iter().filter_map(|s| match s {
            Wait(d) => Some(*d),
            _ => None,
        }).collect();
        let expected: Vec<Duration> = (0..failures.len()).map(|n| Duration::from_secs(1 << n)).collect();
        prop_assert_eq!(waits, expected);
        let response = call.response();
        let (text, want) = (response.text(), words.concat());
        prop_assert_eq!(text.as_deref(), Some(want.as_str()));
    }
}

#[test]
fn the_request_is_the_same_on_every_attempt() {
    let mut call = stream();
    let now = origin();
    let mut bodies: Vec<Bytes> = vec![];
    for _ in 0..3 {
        let Action::Send(request) = call.poll(now) else {
            panic!()
        };
        assert!(
            request
                .uri()
                .to_string()
                .ends_with("/v1beta/models/m:streamGenerateContent?alt=sse")
        );
        bodies.push(request.into_body());
        call.handle_transport_error(transport_error(ErrorKind::Connect));
        let Action::Wait(_) = call.poll(now) else {
            panic!()
        };
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(
        bodies[0],
        r#"{"contents":[{"parts":[{"text":"q"}],"role":"user"}]}"#
    );
}
