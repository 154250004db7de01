//! The Interactions API against the emulator, on tokio, smol, async-std and blocking: streamed
//! and unary give the same interaction; a stream dropped mid-answer resumes from its last event
//! id with no event repeated or lost; a stateful second turn sees the first; background runs,
//! cancel, delete, streamed function-call arguments, retries, errors and aborts; an answer the
//! emulator cuts at its output cap (`requires_continuation`) reads as the uncut one. Expected values
//! are read from the emulator over raw HTTP and parsed with serde_json alone.

mod common;

use std::time::Duration;

use common::{KEY, MODEL, emulator, on_every_runtime, raw_request};
use gemini::interactions::{
    FunctionResultStep, Interaction, InteractionEvent, InteractionStatus, Step,
};
use gemini::{ErrorKind, Timeouts};
use gemini_emulator::{Emulator, EmulatorConfig};
use serde_json::{Value, json};

const PROMPT: &str = "Tell me about rivers and their deltas.";

/// `POST /v1beta/interactions` over raw HTTP: the answer as JSON.
fn raw_create(emulator: &Emulator, body: Value) -> Value {
    let (status, text) = raw_request(emulator, "POST", "/v1beta/interactions", Some(&body));
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// The data of every event of a stored interaction (`GET …?stream=true`) over raw HTTP, with a
/// naive reader: LF line ends, events split on blank lines.
fn raw_events(emulator: &Emulator, id: &str) -> Vec<Value> {
    let (status, text) = raw_request(
        emulator,
        "GET",
        &format!("/v1beta/interactions/{id}?stream=true"),
        None,
    );
    assert_eq!(status, 200, "{text}");
    text.split("\n\n")
        .filter_map(|block| {
            let data = block.lines().find_map(|l| l.strip_prefix("data: "))?;
            Some(serde_json::from_str(data).unwrap())
        })
        .collect()
}

fn with_id(mut interaction: Interaction, id: &str) -> Interaction {
    interaction.id = Some(id.to_owned());
    interaction
}

fn event_ids(events: &[InteractionEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| e.event_id().expect("every event has an id").to_owned())
        .collect()
}

#[test]
fn streamed_and_unary_give_the_same_interaction_on_every_runtime() {
    let emulator = emulator();
    // The unary answer as the emulator writes it, read without the client.
    let raw = raw_create(&emulator, json!({"model": MODEL, "input": PROMPT}));
    let raw_id = raw["id"].as_str().unwrap().to_owned();
    let client = common::client(&emulator);
    on_every_runtime(|runtime| {
        let client = client.clone();
        let raw = raw.clone();
        let raw_id = raw_id.clone();
        async move {
            let unary = client.interactions().create(MODEL, PROMPT).await.unwrap();
            assert_eq!(
                serde_json::to_value(with_id(unary.clone(), &raw_id)).unwrap(),
                raw,
                "{runtime}: the unary interaction is the emulator's"
            );
            let mut stream = client
                .interactions()
                .create_stream(MODEL, PROMPT)
                .await
                .unwrap();
            let mut text = String::new();
            let mut events = Vec::new();
            while let Some(event) = stream.next().await {
                let event = event.unwrap();
                text.push_str(event.text().unwrap_or_default());
                events.push(event);
            }
            assert_eq!(events.first().unwrap().event_type(), "interaction.created");
            assert_eq!(events.last().unwrap().event_type(), "interaction.completed");
            let streamed = stream.final_interaction().await.unwrap();
            assert_eq!(Some(text), unary.text(), "{runtime}: the text deltas");
            let id = unary.id.clone().unwrap();
            assert_ne!(
                streamed.id.as_deref(),
                Some(id.as_str()),
                "every interaction has its id"
            );
            assert_eq!(with_id(streamed, &id), unary, "{runtime}: streamed = unary");
        }
    });
    // Blocking.
    let client = common::blocking_client(&emulator);
    let unary = client.interactions().create(MODEL, PROMPT).send().unwrap();
    let stream = client
        .interactions()
        .create_stream(MODEL, PROMPT)
        .send()
        .unwrap();
    let streamed = stream.final_interaction().unwrap();
    let id = unary.id.clone().unwrap();
    assert_eq!(with_id(streamed, &id), unary, "blocking: streamed = unary");
    assert_eq!(
        serde_json::to_value(with_id(unary, &raw_id)).unwrap(),
        raw,
        "blocking"
    );
}

/// Streams an interaction whose connection drops after `fault`, and checks that every event
/// came exactly once, in order, the same as the stored stream read over raw HTTP.
async fn resumed_stream(
    client: gemini::Client,
    emulator_events: impl Fn(&str) -> Vec<Value>,
    fault: &str,
) {
    let mut stream = client
        .interactions()
        .create_stream(format!("{MODEL}@{fault}"), PROMPT)
        .await
        .unwrap();
    let mut events = Vec::new();
    while let Some(event) = stream.next().await {
        events.push(event.unwrap());
    }
    assert_eq!(stream.reconnects(), 1, "{fault}: one reconnect");
    let id = stream.interaction_id().unwrap().to_owned();
    let expected = emulator_events(&id);
    let got: Vec<Value> = events.iter().map(|e| Value::Object(e.to_data())).collect();
    assert_eq!(got, expected, "{fault}: every event once, in order");
    let ids = event_ids(&events);
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(ids, unique, "{fault}: no event repeated");
    let interaction = stream.final_interaction().await.unwrap();
    assert_eq!(interaction.status, Some(InteractionStatus::Completed));
}

#[test]
fn a_stream_dropped_mid_answer_resumes_from_its_last_event_id_on_every_runtime() {
    let emulator = emulator();
    let client = common::client(&emulator);
    on_every_runtime(|runtime| {
        let client = client.clone();
        let emulator = &emulator;
        async move {
            for fault in ["close-after-events=7", "close-after-events=4,reset"] {
                emulator.clear_requests();
                resumed_stream(client.clone(), |id| raw_events(emulator, id), fault).await;
                // The second request read on after the last event handed out.
                let requests = emulator.requests();
                let resume = &requests[1];
                assert_eq!(resume.method, "GET", "{runtime}");
                let n: usize = fault["close-after-events=".len()..fault.len()]
                    .split(',')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert_eq!(
                    resume.query.as_deref(),
                    Some(format!("stream=true&last_event_id=evt_{:06}", n - 1).as_str()),
                    "{runtime} {fault}"
                );
            }
            // Cut inside an event: the events before it were whole, the cut one comes again.
            resumed_stream(
                client.clone(),
                |id| raw_events(emulator, id),
                "close-after-bytes=900",
            )
            .await;
        }
    });
    // Blocking.
    let client = common::blocking_client(&emulator);
    let stream = client
        .interactions()
        .create_stream(format!("{MODEL}@close-after-events=5"), PROMPT)
        .send()
        .unwrap();
    let events: Vec<InteractionEvent> = stream.map(Result::unwrap).collect();
    let id = events[0].interaction().unwrap().id.clone().unwrap();
    let got: Vec<Value> = events.iter().map(|e| Value::Object(e.to_data())).collect();
    assert_eq!(got, raw_events(&emulator, &id), "blocking");
}

#[test]
fn a_stateful_second_turn_sees_the_first_on_every_runtime() {
    let emulator = emulator();
    let client = common::client(&emulator);
    on_every_runtime(|runtime| {
        let client = client.clone();
        let emulator = &emulator;
        async move {
            let first = client
                .interactions()
                .create(MODEL, "My name is Ada. Remember it.")
                .await
                .unwrap();
            let first_id = first.id.clone().unwrap();
            // The second turn, streamed, names the first: the service adds its history.
            let stream = client
                .interactions()
                .create_stream(MODEL, "What is my name?")
                .previous_interaction_id(&first_id)
                .await
                .unwrap();
            let second = stream.final_interaction().await.unwrap();
            let text = second.text().unwrap();
            assert!(
                text.contains("This is turn 2 of our conversation."),
                "{runtime}: {text}"
            );
            // Without it, the same question is a first turn.
            let alone = client
                .interactions()
                .create(MODEL, "What is my name?")
                .await
                .unwrap();
            assert!(!alone.text().unwrap().contains("turn 2"), "{runtime}");
            // The request named the first interaction, and the stored second turn starts with
            // its own input.
            let sent = emulator
                .requests()
                .into_iter()
                .rev()
                .find(|r| {
                    r.json.as_ref().is_some_and(|j| {
                        j["input"] == "What is my name?"
                            && j.get("previous_interaction_id").is_some()
                    })
                })
                .unwrap();
            assert_eq!(
                sent.json.unwrap()["previous_interaction_id"],
                first_id.as_str()
            );
            let stored = client
                .interactions()
                .get(second.id.clone().unwrap())
                .await
                .unwrap();
            assert_eq!(stored.steps[0], Step::user("What is my name?"), "{runtime}");
        }
    });
    // Blocking.
    let client = common::blocking_client(&emulator);
    let first = client.interactions().create(MODEL, "Hello").send().unwrap();
    let second = client
        .interactions()
        .create(MODEL, "And again")
        .previous_interaction_id(first.id.unwrap())
        .send()
        .unwrap();
    assert!(
        second
            .text()
            .unwrap()
            .contains("This is turn 2 of our conversation.")
    );
    let third = client
        .interactions()
        .create(MODEL, "Once more")
        .previous_interaction_id(second.id.unwrap())
        .send()
        .unwrap();
    assert!(
        third
            .text()
            .unwrap()
            .contains("This is turn 3 of our conversation.")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn function_call_arguments_stream_and_assemble_and_the_result_continues_the_conversation() {
    let emulator = emulator();
    let client = common::client(&emulator);
    let parameters = json!({
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["city", "unit"]
    });
    let unary = client
        .interactions()
        .create(MODEL, "What is the weather in Paris?")
        .function(
            "get_weather",
            "The current weather in a city.",
            parameters.clone(),
        )
        .await
        .unwrap();
    assert_eq!(unary.status, Some(InteractionStatus::RequiresAction));
    let call = unary.function_calls().next().unwrap().clone();
    assert_eq!(call.name.as_deref(), Some("get_weather"));
    let arguments = call.arguments.clone().unwrap();
    assert!(
        arguments["city"].is_string() && arguments["unit"].is_string(),
        "{arguments}"
    );

    let mut stream = client
        .interactions()
        .create_stream(MODEL, "What is the weather in Paris?")
        .function("get_weather", "The current weather in a city.", parameters)
        .await
        .unwrap();
    let mut fragments = String::new();
    let mut partials = Vec::new();
    let mut call_index = None;
    while let Some(event) = stream.next().await {
        match event.unwrap() {
            InteractionEvent::StepStart(start)
                if matches!(start.step, Some(Step::FunctionCall(_))) =>
            {
                call_index = start.index.map(|i| i as usize);
            }
            InteractionEvent::StepDelta(delta) => {
                if let Some(gemini::interactions::Delta::ArgumentsDelta(piece)) = &delta.delta {
                    fragments.push_str(piece.arguments.as_deref().unwrap());
                    partials.push(stream.partial_arguments(call_index.unwrap()).unwrap());
                }
            }
            _ => {}
        }
    }
    assert!(
        partials.len() >= 2,
        "the arguments came in pieces: {partials:?}"
    );
    // Each partial snapshot holds what the fragments so far hold, the last one all of it.
    let whole: Value = serde_json::from_str(&fragments).unwrap();
    assert_eq!(partials.last(), Some(&whole));
    assert_ne!(partials.first(), Some(&whole));
    let streamed = stream.final_interaction().await.unwrap();
    assert_eq!(with_id(streamed, unary.id.as_deref().unwrap()), unary);

    // The function's result continues the conversation.
    let answer = client
        .interactions()
        .create(
            MODEL,
            FunctionResultStep::new(
                call.id.clone().unwrap(),
                "get_weather",
                json!({"temp_c": 21}),
            ),
        )
        .previous_interaction_id(unary.id.clone().unwrap())
        .await
        .unwrap();
    assert_eq!(answer.status, Some(InteractionStatus::Completed));
    let text = answer.text().unwrap();
    assert!(text.contains("get_weather returned"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_runs_are_polled_streamed_cancelled_and_deleted() {
    let emulator = emulator();
    let client = common::client(&emulator);
    let interactions = client.interactions();
    let started = interactions
        .create(MODEL, PROMPT)
        .background(true)
        .await
        .unwrap();
    assert_eq!(started.status, Some(InteractionStatus::InProgress));
    assert!(started.steps.is_empty());
    let id = started.id.clone().unwrap();
    let done = interactions
        .wait(&id)
        .interval(Duration::from_millis(10))
        .await
        .unwrap();
    assert_eq!(done.status, Some(InteractionStatus::Completed));
    // GET shows the whole timeline: the input, then the output.
    assert_eq!(done.steps[0], Step::user(PROMPT));
    assert!(done.text().is_some_and(|t| !t.is_empty()));
    let polls = emulator
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with(&id))
        .count();
    assert_eq!(
        polls, 2,
        "in progress at the first poll, done at the second"
    );

    // Streamed from its first event instead.
    let other = interactions
        .create(MODEL, PROMPT)
        .background(true)
        .await
        .unwrap();
    let streamed = interactions
        .stream(other.id.clone().unwrap())
        .await
        .unwrap()
        .final_interaction()
        .await
        .unwrap();
    assert_eq!(streamed.status, Some(InteractionStatus::Completed));
    assert_eq!(streamed.text(), done.text());

    // Cancelled while it runs; a finished one cannot be.
    let third = interactions
        .create(MODEL, "Something long")
        .background(true)
        .await
        .unwrap();
    let cancelled = interactions
        .cancel(third.id.clone().unwrap())
        .await
        .unwrap();
    assert_eq!(cancelled.status, Some(InteractionStatus::Cancelled));
    let error = interactions.cancel(&id).await.unwrap_err();
    assert_eq!(error.http_status(), Some(http::StatusCode::BAD_REQUEST));

    // Deleted: gone.
    interactions.delete(&id).await.unwrap();
    let error = interactions.get(&id).await.unwrap_err();
    assert_eq!(error.http_status(), Some(http::StatusCode::NOT_FOUND));
    assert!(error.to_string().contains("not found"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_before_the_first_event_are_retried_and_errors_after_it_keep_what_arrived() {
    let emulator = emulator();
    let client = common::client(&emulator);
    // A 503 is retried; so is an error event in place of the first event (here on every
    // attempt: the retries run out).
    let stream = client
        .interactions()
        .create_stream(format!("{MODEL}@fail-first=1:503"), PROMPT)
        .await
        .unwrap();
    assert_eq!(stream.attempts(), 2);
    assert!(stream.final_interaction().await.is_ok());
    let error = client
        .interactions()
        .create_stream(format!("{MODEL}@sse-error-after=0:503"), PROMPT)
        .await
        .unwrap()
        .final_interaction()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Api);
    assert_eq!(error.attempts(), 3, "{error}");
    assert!(error.partial_interaction().is_none());

    // An error event after events reached the caller ends the stream: the events came out,
    // then the error, which keeps the interaction so far. It is not read again.
    emulator.clear_requests();
    let mut stream = client
        .interactions()
        .create_stream(format!("{MODEL}@sse-error-after=8:503"), PROMPT)
        .await
        .unwrap();
    let mut text = String::new();
    let mut error = None;
    while let Some(event) = stream.next().await {
        match event {
            Ok(event) => text.push_str(event.text().unwrap_or_default()),
            Err(e) => error = Some(e),
        }
    }
    let error = error.unwrap();
    assert_eq!(error.kind(), ErrorKind::Api);
    assert_eq!(error.api_error().unwrap().code(), 503);
    assert!(!text.is_empty());
    assert_eq!(error.partial_interaction().unwrap().text().unwrap(), text);
    assert_eq!(emulator.requests().len(), 1);

    // An event too large for the client: a typed error with what arrived.
    let small = gemini::Client::builder()
        .api_key(KEY)
        .base_url(emulator.base_url())
        .max_event_size(64 * 1024)
        .build()
        .unwrap();
    let error = small
        .interactions()
        .create_stream(format!("{MODEL}@oversized-event=6:200KiB"), PROMPT)
        .await
        .unwrap()
        .final_interaction()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::TooLarge);
    assert!(error.partial_interaction().is_some());

    // A malformed event, a stall past the idle timeout: read again from the last event.
    for fault in ["malformed-after=6", "stall-after=6:2s"] {
        let client = gemini::Client::builder()
            .api_key(KEY)
            .base_url(emulator.base_url())
            .timeouts(Timeouts::default().idle(Some(Duration::from_millis(300))))
            .build()
            .unwrap();
        let stream = client
            .interactions()
            .create_stream(format!("{MODEL}@{fault}"), PROMPT)
            .await
            .unwrap();
        let interaction = stream.final_interaction().await.unwrap();
        assert_eq!(
            interaction.status,
            Some(InteractionStatus::Completed),
            "{fault}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aborted_stream_ends_with_cancelled_and_keeps_what_arrived() {
    let emulator = Emulator::start(
        EmulatorConfig::default().pace(gemini_emulator::Pace::new(Duration::ZERO, 200.0)),
    )
    .await
    .unwrap();
    let client = common::client(&emulator);
    let mut stream = client
        .interactions()
        .create_stream(format!("{MODEL}@tokens=400"), PROMPT)
        .await
        .unwrap();
    let abort = stream.abort_handle();
    let mut seen = 0;
    let mut error = None;
    while let Some(event) = stream.next().await {
        match event {
            Ok(_) => {
                seen += 1;
                if seen == 6 {
                    abort.abort();
                }
            }
            Err(e) => error = Some(e),
        }
    }
    let error = error.unwrap();
    assert!(error.is_cancelled());
    assert!(error.partial_interaction().is_some());
    assert_eq!(stream.events(), 6);
}

/// An interaction's events as a server streams them: `texts` as text deltas of one step.
fn scripted_stream(id: &str, texts: &[&str], status: &str, token: Option<&str>) -> String {
    let mut events = vec![
        json!({"event_type": "interaction.created", "interaction": {"id": id, "status": "in_progress"}}),
        json!({"event_type": "step.start", "index": 0, "step": {"type": "model_output"}}),
    ];
    for text in texts {
        events.push(json!({"event_type": "step.delta", "index": 0, "delta": {"type": "text", "text": text}}));
    }
    events.push(json!({"event_type": "step.stop", "index": 0}));
    let mut end = json!({"id": id, "status": status, "usage": {"total_tokens": 10}});
    if let Some(token) = token {
        end["continuation_token"] = token.into();
    }
    events.push(json!({"event_type": "interaction.completed", "interaction": end}));
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

#[test]
fn requires_continuation_is_followed_into_one_interaction_on_every_runtime() {
    use gemini::transport::test_util::{Match, Reply, ScriptedTransport};
    use std::sync::Arc;
    on_every_runtime(|runtime| async move {
        // The service stops at its output cap once; the request with the token finishes.
        let transport = Arc::new(
            ScriptedTransport::new()
                .on(
                    Match::post().body_contains("\"continuation_token\":\"tok-1\""),
                    Reply::ok()
                        .header("content-type", "text/event-stream")
                        .body(scripted_stream(
                            "v1_two",
                            &["lo, ", "world"],
                            "completed",
                            None,
                        )),
                )
                .on(
                    Match::post(),
                    Reply::ok()
                        .header("content-type", "text/event-stream")
                        .body(scripted_stream(
                            "v1_one",
                            &["Hel"],
                            "requires_continuation",
                            Some("tok-1"),
                        )),
                ),
        );
        let client = gemini::Client::builder()
            .api_key(KEY)
            .transport(transport.clone())
            .build()
            .unwrap();
        let stream = client
            .interactions()
            .create_stream(MODEL, "Say hello")
            .await
            .unwrap();
        assert_eq!(stream.hops(), 1);
        let mut stream = stream;
        let mut completed = 0;
        let mut text = String::new();
        while let Some(event) = stream.next().await {
            let event = event.unwrap();
            completed += usize::from(event.event_type() == "interaction.completed");
            text.push_str(event.text().unwrap_or_default());
        }
        assert_eq!(completed, 1, "{runtime}: one end");
        assert_eq!(text, "Hello, world", "{runtime}");
        assert_eq!(stream.hops(), 2, "{runtime}");
        let interaction = stream.final_interaction().await.unwrap();
        assert_eq!(interaction.id.as_deref(), Some("v1_two"));
        assert_eq!(interaction.steps.len(), 2);
        assert_eq!(interaction.usage.unwrap().total_tokens, Some(20));
        let requests = transport.requests();
        let second: Value = serde_json::from_slice(&requests[1].body).unwrap();
        assert_eq!(second["previous_interaction_id"], "v1_one", "{runtime}");
        assert!(second.get("input").is_none(), "{runtime}");
    });
}

/// The model of the capped-answer tests: an answer of about 300 tokens.
const LONG_MODEL: &str = "gemini-2.5-flash@tokens=300";
const LONG_PROMPT: &str = "Tell me a long story about rivers and their deltas.";

/// Every request of the interaction `LONG_PROMPT` starts on `emulator`, over raw HTTP, each
/// following the last one's `continuation_token` (stored: naming its interaction, no input):
/// the answers as JSON.
fn raw_hops(emulator: &Emulator) -> Vec<Value> {
    let first = json!({"model": LONG_MODEL, "input": LONG_PROMPT});
    let mut hops = vec![raw_create(emulator, first)];
    while let Some(token) = hops.last().unwrap()["continuation_token"].as_str() {
        let next = json!({"model": LONG_MODEL, "continuation_token": token,
            "previous_interaction_id": hops.last().unwrap()["id"]});
        hops.push(raw_create(emulator, next));
    }
    hops
}

/// The text of the `model_output` steps of an interaction read as JSON.
fn raw_text(interaction: &Value) -> String {
    interaction["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["type"] == "model_output")
        .flat_map(|s| s["content"].as_array().unwrap())
        .filter_map(|c| c["text"].as_str())
        .collect()
}

/// The POST requests the emulator has received.
fn posts(emulator: &Emulator) -> usize {
    emulator
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count()
}

/// What a capped interaction must read as: the uncapped text, the capped requests' usage summed,
/// and how many requests it takes.
struct Expected {
    text: String,
    usage: Value,
    requests: usize,
}

fn check_capped(what: &str, interaction: &Interaction, expected: &Expected) {
    assert_eq!(
        interaction.text().unwrap(),
        expected.text,
        "{what}: the uncapped text"
    );
    assert_eq!(
        interaction.status,
        Some(InteractionStatus::Completed),
        "{what}"
    );
    assert_eq!(interaction.continuation_token, None, "{what}");
    let usage = serde_json::to_value(interaction.usage.as_ref().unwrap()).unwrap();
    for name in [
        "total_input_tokens",
        "total_output_tokens",
        "total_thought_tokens",
        "total_tokens",
    ] {
        assert_eq!(usage[name], expected.usage[name], "{what}: {name} summed");
    }
}

#[test]
fn an_interaction_cut_at_the_output_cap_reads_as_the_uncapped_one_on_every_runtime() {
    let uncapped = emulator();
    let capped = Emulator::start_blocking(EmulatorConfig::default().hop_tokens(Some(50))).unwrap();
    // Expectations over raw HTTP: the uncapped answer, and the capped requests one by one.
    let whole = raw_create(
        &uncapped,
        json!({"model": LONG_MODEL, "input": LONG_PROMPT}),
    );
    let hops = raw_hops(&capped);
    assert!(hops.len() >= 4, "{} requests", hops.len());
    let mut usage = json!({});
    for name in [
        "total_input_tokens",
        "total_output_tokens",
        "total_thought_tokens",
        "total_tokens",
    ] {
        let sum: u64 = hops
            .iter()
            .map(|h| h["usage"][name].as_u64().unwrap())
            .sum();
        usage[name] = sum.into();
    }
    // The cut loses nothing: output and thinking add up to the uncapped answer's.
    assert_eq!(
        usage["total_output_tokens"],
        whole["usage"]["total_output_tokens"]
    );
    assert_eq!(
        usage["total_thought_tokens"],
        whole["usage"]["total_thought_tokens"]
    );
    let expected = Expected {
        text: raw_text(&whole),
        usage,
        requests: hops.len(),
    };
    let raw_joined: String = hops.iter().map(raw_text).collect();
    assert_eq!(raw_joined, expected.text);

    let client = common::client(&capped);
    on_every_runtime(|runtime| {
        let client = client.clone();
        let capped = &capped;
        let expected = &expected;
        async move {
            let before = posts(capped);
            let unary = client
                .interactions()
                .create(LONG_MODEL, LONG_PROMPT)
                .await
                .unwrap();
            check_capped(&format!("{runtime} unary"), &unary, expected);
            assert_eq!(posts(capped) - before, expected.requests, "{runtime}");

            let before = posts(capped);
            let mut stream = client
                .interactions()
                .create_stream(LONG_MODEL, LONG_PROMPT)
                .await
                .unwrap();
            let (mut text, mut completed) = (String::new(), 0);
            while let Some(event) = stream.next().await {
                let event = event.unwrap();
                completed += usize::from(event.event_type() == "interaction.completed");
                text.push_str(event.text().unwrap_or_default());
            }
            assert_eq!(text, expected.text, "{runtime}: the streamed text");
            assert_eq!(completed, 1, "{runtime}: one end");
            assert_eq!(stream.hops() as usize, expected.requests, "{runtime}");
            let streamed = stream.final_interaction().await.unwrap();
            check_capped(&format!("{runtime} streamed"), &streamed, expected);
            assert_eq!(posts(capped) - before, expected.requests, "{runtime}");
        }
    });
    // Blocking.
    let client = common::blocking_client(&capped);
    let unary = client
        .interactions()
        .create(LONG_MODEL, LONG_PROMPT)
        .send()
        .unwrap();
    check_capped("blocking unary", &unary, &expected);
    let stream = client
        .interactions()
        .create_stream(LONG_MODEL, LONG_PROMPT)
        .send()
        .unwrap();
    let streamed = stream.final_interaction().unwrap();
    check_capped("blocking streamed", &streamed, &expected);
    // Unstored, every request sends the input again, and the answer is the same.
    let unstored = client
        .interactions()
        .create(LONG_MODEL, LONG_PROMPT)
        .store(false)
        .send()
        .unwrap();
    check_capped("blocking unary, unstored", &unstored, &expected);
    let last: Value = serde_json::from_slice(&capped.requests().last().unwrap().body).unwrap();
    assert_eq!(last["input"], LONG_PROMPT);
    assert!(last["continuation_token"].is_string());
    assert!(last.get("previous_interaction_id").is_none());
}
