//! The Interactions API's call machines against a server in the test, with simulated time and no
//! I/O: a stream dropped anywhere is read again after its last event (every event exactly once);
//! without event ids it is read from the start with the events seen skipped; refusals of the
//! resumption are retried; `requires_continuation` is followed (stored: by naming the interaction,
//! not stored: with the same input) into one interaction; an error event ends the call with what
//! arrived; the unary call merges continued requests.

use std::time::{Duration, Instant};

use gemini_proto::call::{
    Action, Call, InteractionCall, InteractionStreamCall, MAX_RECONNECTS_WITHOUT_PROGRESS,
};
use gemini_proto::error::Error;
use gemini_proto::interactions::{CreateInteractionRequest, InteractionEvent, InteractionStatus};
use gemini_proto::retry::RetryPolicy;
use gemini_proto::{Api, Auth, Endpoint, ErrorKind};
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

#[allow(clippy::disallowed_methods)] // any instant will do as the origin of simulated time
fn origin() -> Instant {
    Instant::now()
}

fn api() -> Api {
    Api::new(Endpoint::default(), Auth::api_key("k"))
}

fn policy() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(3)
        .with_initial_delay(Duration::from_millis(10))
        .with_jitter(0.0)
}

/// What the server in the test does with one request.
enum Reply {
    /// A 200 event stream: these bytes, then the body ends (`cut`: the connection breaks
    /// instead).
    Stream { body: String, cut: bool },
    /// A unary 200 answer.
    Json(Value),
    /// An error status with Google's body.
    Refuse(u16),
}

/// Drives `call` against `server` to its end: the items handed out, and the error, if any.
fn run<C: Call>(
    mut call: C,
    mut server: impl FnMut(&http::Request<bytes::Bytes>) -> Reply,
) -> (
    Vec<C::Item>,
    Option<Error>,
    Vec<http::Request<bytes::Bytes>>,
) {
    let mut now = origin();
    let mut items = Vec::new();
    let mut requests = Vec::new();
    loop {
        match call.poll(now) {
            Action::Send(request) => {
                match server(&request) {
                    Reply::Stream { body, cut } => {
                        call.handle_response(StatusCode::OK, &HeaderMap::new());
                        call.handle_frame(body.as_bytes());
                        if cut {
                            call.handle_transport_error(Error::transport(
                                ErrorKind::Connection,
                                std::io::Error::other("connection reset"),
                            ));
                        } else {
                            call.handle_end();
                        }
                    }
                    Reply::Json(value) => {
                        call.handle_response(StatusCode::OK, &HeaderMap::new());
                        call.handle_frame(value.to_string().as_bytes());
                        call.handle_end();
                    }
                    Reply::Refuse(status) => {
                        call.handle_response(
                            StatusCode::from_u16(status).unwrap(),
                            &HeaderMap::new(),
                        );
                        call.handle_frame(
                            json!({"error": {"code": status, "message": "no", "status": "X"}})
                                .to_string()
                                .as_bytes(),
                        );
                        call.handle_end();
                    }
                }
                requests.push(request);
            }
            Action::Read => {}
            Action::Wait(delay) => now += delay,
            Action::Item(item) => items.push(item),
            Action::Rollback(_) => panic!("interactions never take anything back"),
            Action::Done => return (items, None, requests),
            Action::Failed(error) => return (items, Some(error), requests),
        }
    }
}

/// One interaction's events, as a server would stream them: `n` text deltas.
fn events(id: &str, n: usize, ids: bool, status: &str, token: Option<&str>) -> Vec<Value> {
    let mut out = vec![
        json!({"event_type": "interaction.created", "interaction": {"id": id, "status": "in_progress"}}),
        json!({"event_type": "step.start", "index": 0, "step": {"type": "model_output"}}),
    ];
    for i in 0..n {
        out.push(json!({"event_type": "step.delta", "index": 0, "delta": {"type": "text", "text": format!("{id}:{i} ")}}));
    }
    out.push(json!({"event_type": "step.stop", "index": 0}));
    let mut end = json!({"id": id, "status": status, "usage": {"total_tokens": 10, "total_output_tokens": n}});
    if let Some(token) = token {
        end["continuation_token"] = token.into();
    }
    out.push(json!({"event_type": "interaction.completed", "interaction": end}));
    if ids {
        for (i, event) in out.iter_mut().enumerate() {
            event["event_id"] = format!("{id}-e{i}").into();
        }
    }
    out
}

fn sse(events: &[Value]) -> String {
    events
        .iter()
        .map(|e| {
            format!(
                "event: {}\ndata: {e}\n\n",
                e["event_type"].as_str().unwrap()
            )
        })
        .collect()
}

fn data(events: &[InteractionEvent]) -> Vec<Value> {
    events.iter().map(|e| Value::Object(e.to_data())).collect()
}

fn query(request: &http::Request<bytes::Bytes>) -> Option<String> {
    request.uri().query().map(str::to_owned)
}

fn body(request: &http::Request<bytes::Bytes>) -> Value {
    serde_json::from_slice(request.body()).unwrap_or(Value::Null)
}

fn create() -> CreateInteractionRequest {
    CreateInteractionRequest::new("gemini-2.5-flash", "Hello")
}

#[test]
fn a_stream_dropped_after_any_event_is_read_again_after_it_and_every_event_arrives_once() {
    let all = events("v1_a", 6, true, "completed", None);
    for drop_after in 1..all.len() {
        for mid_event in [false, true] {
            let mut first = sse(&all[..drop_after]);
            if mid_event {
                // Half of the next event arrived.
                let next = sse(&all[drop_after..=drop_after]);
                first.push_str(&next[..next.len() / 2]);
            }
            let call = InteractionStreamCall::create(&api(), &create())
                .unwrap()
                .with_retry_policy(policy());
            let (items, error, requests) = run(call, |request| match query(request) {
                None => Reply::Stream {
                    body: first.clone(),
                    cut: true,
                },
                Some(q) => {
                    let last = q.rsplit("last_event_id=").next().unwrap().to_owned();
                    let at = all
                        .iter()
                        .position(|e| e["event_id"] == last.as_str())
                        .unwrap();
                    Reply::Stream {
                        body: sse(&all[at + 1..]),
                        cut: false,
                    }
                }
            });
            assert!(error.is_none(), "{drop_after} {mid_event}: {error:?}");
            assert_eq!(data(&items), all, "{drop_after} {mid_event}");
            assert_eq!(requests.len(), 2);
            assert_eq!(
                query(&requests[1]).unwrap(),
                format!("stream=true&last_event_id=v1_a-e{}", drop_after - 1)
            );
            assert_eq!(requests[1].method(), http::Method::GET);
            assert_eq!(requests[1].uri().path(), "/v1beta/interactions/v1_a");
        }
    }
}

#[test]
fn without_event_ids_a_dropped_stream_is_read_from_its_start_and_the_events_seen_are_skipped() {
    let all = events("v1_b", 5, false, "completed", None);
    let mut reads = 0;
    let call = InteractionStreamCall::create(&api(), &create()).unwrap();
    let (items, error, requests) = run(call, |request| {
        reads += 1;
        match (query(request), reads) {
            (None, _) => Reply::Stream {
                body: sse(&all[..3]),
                cut: true,
            },
            // The first read again breaks too, after two more events.
            (Some(_), 2) => Reply::Stream {
                body: sse(&all[..5]),
                cut: true,
            },
            (Some(_), _) => Reply::Stream {
                body: sse(&all),
                cut: false,
            },
        }
    });
    assert!(error.is_none(), "{error:?}");
    assert_eq!(data(&items), all);
    assert_eq!(query(&requests[1]).as_deref(), Some("stream=true"));
    assert_eq!(requests.len(), 3);
}

#[test]
fn a_refused_resumption_is_retried_and_one_that_cannot_succeed_ends_the_call_with_what_arrived() {
    let all = events("v1_c", 4, true, "completed", None);
    for (refusal, recovers) in [(503, true), (404, false)] {
        let mut refused = false;
        let call = InteractionStreamCall::create(&api(), &create())
            .unwrap()
            .with_retry_policy(policy());
        let (items, error, _) = run(call, |request| match query(request) {
            None => Reply::Stream {
                body: sse(&all[..3]),
                cut: true,
            },
            Some(_) if !refused => {
                refused = true;
                Reply::Refuse(refusal)
            }
            Some(_) => Reply::Stream {
                body: sse(&all[3..]),
                cut: false,
            },
        });
        if recovers {
            assert!(error.is_none(), "{error:?}");
            assert_eq!(data(&items), all);
        } else {
            let error = error.unwrap();
            assert_eq!(error.http_status(), Some(StatusCode::NOT_FOUND));
            assert_eq!(data(&items), all[..3]);
            let partial = error.partial_interaction().unwrap();
            assert_eq!(partial.text().as_deref(), Some("v1_c:0 "));
        }
    }
}

#[test]
fn reconnects_that_bring_no_new_event_give_up_with_what_arrived() {
    let all = events("v1_d", 4, true, "completed", None);
    let call = InteractionStreamCall::create(&api(), &create()).unwrap();
    let (items, error, requests) = run(call, |request| match query(request) {
        None => Reply::Stream {
            body: sse(&all[..3]),
            cut: true,
        },
        Some(_) => Reply::Stream {
            body: String::new(),
            cut: true,
        },
    });
    let error = error.unwrap();
    assert_eq!(error.kind(), ErrorKind::Connection);
    assert_eq!(data(&items), all[..3]);
    // The first read again, then three more without progress.
    assert_eq!(requests.len(), 2 + MAX_RECONNECTS_WITHOUT_PROGRESS as usize);
    assert!(error.partial_interaction().is_some());
}

#[test]
fn an_error_event_before_the_first_event_is_retried_and_after_it_ends_the_call() {
    let all = events("v1_e", 3, true, "completed", None);
    let error_event =
        json!({"event_type": "error", "error": {"code": "unavailable", "message": "overloaded"}});
    // Before: retried, then the answer.
    let mut first = true;
    let call = InteractionStreamCall::create(&api(), &create())
        .unwrap()
        .with_retry_policy(policy());
    let (items, error, requests) = run(call, |_| {
        let body = if std::mem::take(&mut first) {
            sse(std::slice::from_ref(&error_event))
        } else {
            sse(&all)
        };
        Reply::Stream { body, cut: false }
    });
    assert!(error.is_none());
    assert_eq!(data(&items), all);
    assert_eq!(requests.len(), 2);
    // After: the events, then the error, judged by its code; nothing is read again.
    let mut body = sse(&all[..3]);
    body.push_str(&sse(&[error_event]));
    let call = InteractionStreamCall::create(&api(), &create()).unwrap();
    let (items, error, requests) = run(call, |_| Reply::Stream {
        body: body.clone(),
        cut: false,
    });
    let error = error.unwrap();
    assert_eq!(error.kind(), ErrorKind::Api);
    let api = error.api_error().unwrap();
    assert_eq!((api.code(), api.message()), (503, "overloaded"));
    assert!(error.is_retryable());
    assert_eq!(items.len(), 3);
    assert_eq!(requests.len(), 1);
    assert_eq!(
        error.partial_interaction().unwrap().text().as_deref(),
        Some("v1_e:0 ")
    );
}

/// A server that stops every interaction at the output cap once: the first request ends with
/// `requires_continuation`, the request with the token finishes it.
fn continued(request: &http::Request<bytes::Bytes>, stream: bool) -> Reply {
    let sent = body(request);
    let (id, status, token) = match sent["continuation_token"].as_str() {
        None => ("v1_hop1", "requires_continuation", Some("tok-1")),
        Some("tok-1") => ("v1_hop2", "completed", None),
        Some(other) => panic!("unexpected token {other}"),
    };
    let all = events(id, 2, true, status, token);
    if stream {
        Reply::Stream {
            body: sse(&all),
            cut: false,
        }
    } else {
        let text: String = (0..2).map(|i| format!("{id}:{i} ")).collect();
        let mut answer = json!({
            "id": id, "status": status,
            "steps": [{"type": "model_output", "content": [{"type": "text", "text": text}]}],
            "usage": {"total_tokens": 10, "total_input_tokens": 4, "total_output_tokens": 2},
            "created": format!("created-{id}"),
        });
        if let Some(token) = token {
            answer["continuation_token"] = token.into();
        }
        Reply::Json(answer)
    }
}

#[test]
fn requires_continuation_is_followed_into_one_streamed_interaction() {
    for stored in [true, false] {
        let mut request = create();
        if !stored {
            request.store = Some(false);
        }
        let call = InteractionStreamCall::create(&api(), &request).unwrap();
        let (items, error, requests) = run(call, |r| continued(r, true));
        assert!(error.is_none(), "{error:?}");
        assert_eq!(requests.len(), 2);
        let second = body(&requests[1]);
        assert_eq!(second["continuation_token"], "tok-1");
        assert_eq!(second["stream"], true);
        if stored {
            // The service rebuilds the context from the interaction that issued the token.
            assert_eq!(second["previous_interaction_id"], "v1_hop1");
            assert!(second.get("input").is_none());
        } else {
            assert!(second.get("previous_interaction_id").is_none());
            assert_eq!(second["input"], "Hello");
        }
        // One interaction: one created, one completed, the second request's step after the
        // first's, usage summed.
        let types: Vec<&str> = items.iter().map(InteractionEvent::event_type).collect();
        assert_eq!(
            types
                .iter()
                .filter(|t| **t == "interaction.created")
                .count(),
            1
        );
        assert_eq!(
            types
                .iter()
                .filter(|t| **t == "interaction.completed")
                .count(),
            1
        );
        let indices: Vec<u64> = items.iter().filter_map(InteractionEvent::index).collect();
        assert_eq!(indices, [0, 0, 0, 0, 1, 1, 1, 1]);
        let last = items.last().unwrap().interaction().unwrap();
        assert_eq!(last.status, Some(InteractionStatus::Completed));
        assert_eq!(last.usage.as_ref().unwrap().total_tokens, Some(20));
    }
}

#[test]
fn requires_continuation_is_followed_into_one_unary_interaction() {
    let call = InteractionCall::create(&api(), &create()).unwrap();
    let (items, error, requests) = run(call, |r| continued(r, false));
    assert!(error.is_none(), "{error:?}");
    assert_eq!(requests.len(), 2);
    assert_eq!(body(&requests[1])["previous_interaction_id"], "v1_hop1");
    let interaction = &items[0];
    assert_eq!(interaction.id.as_deref(), Some("v1_hop2"));
    assert_eq!(interaction.status, Some(InteractionStatus::Completed));
    assert_eq!(
        interaction.text().as_deref(),
        Some("v1_hop1:0 v1_hop1:1 v1_hop2:0 v1_hop2:1 ")
    );
    let usage = interaction.usage.as_ref().unwrap();
    assert_eq!(usage.total_tokens, Some(20));
    assert_eq!(usage.initial_input_tokens, Some(4));
    assert_eq!(interaction.created.as_deref(), Some("created-v1_hop1"));
    // Off, the first request's answer is the answer.
    let call = InteractionCall::create(&api(), &create())
        .unwrap()
        .with_automatic_continuation(false);
    let (items, _, requests) = run(call, |r| continued(r, false));
    assert_eq!(requests.len(), 1);
    assert_eq!(
        items[0].status,
        Some(InteractionStatus::RequiresContinuation)
    );
}

#[test]
fn an_unstored_interaction_continues_from_a_checkpoint_only_when_no_output_followed_it() {
    let checkpoint = json!({"event_type": "interaction.status_update", "interaction_id": "v1_f", "status": "in_progress", "continuation_token": "cp-1"});
    for output_after in [false, true] {
        let mut head = events("v1_f", 1, false, "completed", None);
        // Output: a step began after the checkpoint.
        head.truncate(if output_after { 2 } else { 1 });
        head.insert(1, checkpoint.clone());
        let mut request = create();
        request.store = Some(false);
        let call = InteractionStreamCall::create(&api(), &request).unwrap();
        let (items, error, requests) =
            run(call, |r| match body(r)["continuation_token"].as_str() {
                None => Reply::Stream {
                    body: sse(&head),
                    cut: true,
                },
                Some(_) => Reply::Stream {
                    body: sse(&events("v1_g", 2, false, "completed", None)),
                    cut: false,
                },
            });
        if output_after {
            assert_eq!(error.unwrap().kind(), ErrorKind::Connection);
            assert_eq!(requests.len(), 1);
        } else {
            assert!(error.is_none(), "{error:?}");
            assert_eq!(body(&requests[1])["continuation_token"], "cp-1");
            assert_eq!(body(&requests[1])["input"], "Hello");
            let last = items.last().unwrap().interaction().unwrap();
            assert_eq!(last.status, Some(InteractionStatus::Completed));
        }
    }
}

#[test]
fn a_stored_interaction_is_streamed_from_an_event_id_and_read_again_when_it_breaks() {
    let all = events("v1_h", 4, true, "completed", None);
    let call = InteractionStreamCall::get(&api(), "v1_h", Some("v1_h-e2")).unwrap();
    let (items, error, requests) = run(call, |request| {
        let q = query(request).unwrap();
        let last = q.rsplit("last_event_id=").next().unwrap().to_owned();
        let at = all
            .iter()
            .position(|e| e["event_id"] == last.as_str())
            .unwrap();
        // Two events at a time, then the connection breaks.
        let end = (at + 3).min(all.len());
        Reply::Stream {
            body: sse(&all[at + 1..end]),
            cut: end < all.len(),
        }
    });
    assert!(error.is_none(), "{error:?}");
    assert_eq!(data(&items), all[3..]);
    assert_eq!(
        query(&requests[0]).as_deref(),
        Some("stream=true&last_event_id=v1_h-e2")
    );
    assert!(requests.len() > 2);
}
