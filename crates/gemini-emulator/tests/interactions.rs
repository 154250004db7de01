//! The Interactions API over real loopback HTTP: `event:`-framed streams, the unary answer equal
//! to the folded stream, stored conversations, resuming from `last_event_id`, background runs,
//! cancel and delete, the fault catalogue on these streams, answers cut at the output cap
//! (`requires_continuation`) and continued, and bad requests.

mod common;

use common::*;
use gemini_emulator::{Emulator, EmulatorConfig};
use serde_json::{Value, json};

const PATH: &str = "/v1beta/interactions";

async fn emulator() -> Emulator {
    Emulator::start(EmulatorConfig::default()).await.unwrap()
}

/// The events of an `event:`-framed body with `eol` line ends: (event name, data).
fn events(resp: &Resp, eol: &str) -> Vec<(String, Value)> {
    let text = resp.text();
    let blank = format!("{eol}{eol}");
    assert!(text.ends_with(&blank), "{text:?}");
    text.split(&blank)
        .filter(|block| !block.is_empty())
        .map(|block| {
            let mut lines = block.split(eol);
            let name = lines.next().unwrap().strip_prefix("event: ").unwrap();
            let data = lines.next().unwrap().strip_prefix("data: ").unwrap();
            assert!(lines.next().is_none(), "{block:?}");
            (name.to_owned(), serde_json::from_str(data).unwrap())
        })
        .collect()
}

fn create(model: &str, input: Value, stream: bool) -> String {
    json!({"model": model, "input": input, "stream": stream}).to_string()
}

/// The text of the `model_output` steps of an interaction.
fn text_of(interaction: &Value) -> String {
    interaction["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["type"] == "model_output")
        .flat_map(|s| s["content"].as_array().unwrap())
        .filter_map(|c| c["text"].as_str())
        .collect()
}

/// The text of the text deltas of a stream.
fn delta_text(events: &[(String, Value)]) -> String {
    events
        .iter()
        .filter(|(_, d)| d["delta"]["type"] == "text")
        .map(|(_, d)| d["delta"]["text"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_stream_is_event_framed_in_order_and_folds_into_the_unary_answer() {
    let emu = emulator().await;
    let unary = post(
        emu.addr(),
        PATH,
        &create("gemini-2.5-flash", json!("Tell me about the sea"), false),
    )
    .await;
    assert_eq!(unary.status, 200);
    assert!(
        unary
            .header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    let unary = unary.json();
    let r = post(
        emu.addr(),
        PATH,
        &create(
            "models/gemini-2.5-flash",
            json!("Tell me about the sea"),
            true,
        ),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    let events = events(&r, "\n");
    // The event line repeats the data's type; every event has its resume point, in order.
    for (n, (name, data)) in events.iter().enumerate() {
        assert_eq!(data["event_type"], name.as_str());
        assert_eq!(data["event_id"], format!("evt_{n:06}"));
    }
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names[..3],
        [
            "interaction.created",
            "interaction.status_update",
            "step.start"
        ]
    );
    assert_eq!(names.last(), Some(&"interaction.completed"));
    // Same answer: text, step types, usage and status; only the id differs.
    assert_eq!(delta_text(&events), text_of(&unary));
    let starts: Vec<&Value> = events
        .iter()
        .filter(|(n, _)| n == "step.start")
        .map(|(_, d)| &d["step"]["type"])
        .collect();
    let types: Vec<&Value> = unary["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["type"])
        .collect();
    assert_eq!(starts, types);
    let end = &events.last().unwrap().1["interaction"];
    assert_eq!(end["usage"], unary["usage"]);
    assert_eq!(end["status"], "completed");
    assert_ne!(end["id"], unary["id"]);
    // And the same request again gives the same answer.
    let again = post(
        emu.addr(),
        PATH,
        &create("gemini-2.5-flash", json!("Tell me about the sea"), false),
    )
    .await
    .json();
    assert_eq!(text_of(&again), text_of(&unary));
}

#[tokio::test]
async fn a_stored_stream_is_read_again_whole_or_after_an_event_id() {
    let emu = emulator().await;
    // The first stream breaks after four events (the fault rides on the model name, so it
    // applies to the POST only).
    let r = post(
        emu.addr(),
        PATH,
        &create("gemini-2.5-flash@close-after-events=4", json!("Hi"), true),
    )
    .await;
    assert!(!r.complete);
    let first = r.text();
    let id = first
        .split("\"id\":\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let whole = send(
        emu.addr(),
        "GET",
        &format!("{PATH}/{id}?stream=true"),
        &[("x-goog-api-key", KEY)],
        "",
    )
    .await;
    let whole = events(&whole, "\n");
    assert!(
        first.starts_with(
            &whole[..4]
                .iter()
                .map(|(n, d)| format!("event: {n}\ndata: {d}\n\n"))
                .collect::<String>()
        )
    );
    let rest = send(
        emu.addr(),
        "GET",
        &format!("{PATH}/{id}?stream=true&last_event_id=evt_000003"),
        &[("x-goog-api-key", KEY)],
        "",
    )
    .await;
    assert_eq!(events(&rest, "\n"), whole[4..]);
    // An id it never sent.
    let bad = send(
        emu.addr(),
        "GET",
        &format!("{PATH}/{id}?stream=true&last_event_id=nope"),
        &[("x-goog-api-key", KEY)],
        "",
    )
    .await;
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("last_event_id"));
}

#[tokio::test]
async fn a_conversation_continues_from_a_stored_interaction_and_get_shows_the_whole_timeline() {
    let emu = emulator().await;
    let first = post(
        emu.addr(),
        PATH,
        &create("gemini-2.5-flash", json!("My name is Ada."), false),
    )
    .await
    .json();
    let second = post(
        emu.addr(),
        PATH,
        &json!({"model": "gemini-2.5-flash", "input": "What is my name?", "previous_interaction_id": first["id"]}).to_string(),
    )
    .await
    .json();
    assert!(text_of(&second).contains("This is turn 2 of our conversation."));
    let stored = send(
        emu.addr(),
        "GET",
        &format!("{PATH}/{}", second["id"].as_str().unwrap()),
        &[("x-goog-api-key", KEY)],
        "",
    )
    .await
    .json();
    assert_eq!(
        stored["steps"][0],
        json!({"type": "user_input", "content": [{"type": "text", "text": "What is my name?"}]})
    );
    assert_eq!(text_of(&stored), text_of(&second));
    // `store: false` keeps nothing.
    let unstored = post(
        emu.addr(),
        PATH,
        &json!({"model": "gemini-2.5-flash", "input": "x", "store": false}).to_string(),
    )
    .await
    .json();
    let missing = send(
        emu.addr(),
        "GET",
        &format!("{PATH}/{}", unstored["id"].as_str().unwrap()),
        &[("x-goog-api-key", KEY)],
        "",
    )
    .await;
    assert_eq!(missing.status, 404);
    let orphan = post(emu.addr(), PATH, &json!({"model": "gemini-2.5-flash", "input": "x", "previous_interaction_id": "v1_unknown"}).to_string()).await;
    assert_eq!(orphan.status, 404);
    assert_eq!(orphan.json()["error"]["status"], "NOT_FOUND");
}

#[tokio::test]
async fn background_runs_cancel_and_delete() {
    let emu = emulator().await;
    let get = |id: String| {
        let addr = emu.addr();
        async move {
            send(
                addr,
                "GET",
                &format!("{PATH}/{id}"),
                &[("x-goog-api-key", KEY)],
                "",
            )
            .await
        }
    };
    let body = json!({"model": "gemini-2.5-flash", "input": "Research this", "background": true})
        .to_string();
    let started = post(emu.addr(), PATH, &body).await.json();
    assert_eq!(started["status"], "in_progress");
    let id = started["id"].as_str().unwrap().to_owned();
    assert_eq!(get(id.clone()).await.json()["status"], "in_progress");
    assert_eq!(get(id.clone()).await.json()["status"], "completed");
    let cancel = post(emu.addr(), &format!("{PATH}/{id}/cancel"), "").await;
    assert_eq!(cancel.status, 400);
    let other = post(emu.addr(), PATH, &body).await.json();
    let other_id = other["id"].as_str().unwrap();
    let cancelled = post(emu.addr(), &format!("{PATH}/{other_id}:cancel"), "").await;
    assert_eq!(cancelled.status, 200);
    assert_eq!(cancelled.json()["status"], "cancelled");
    assert_eq!(get(other_id.to_owned()).await.json()["status"], "cancelled");
    let deleted = send(
        emu.addr(),
        "DELETE",
        &format!("{PATH}/{id}"),
        &[("x-goog-api-key", KEY)],
        "",
    )
    .await;
    assert_eq!((deleted.status, deleted.json()), (200, json!({})));
    assert_eq!(get(id.clone()).await.status, 404);
    // Background needs storing.
    let bad = post(
        emu.addr(),
        PATH,
        &json!({"model": "gemini-2.5-flash", "input": "x", "background": true, "store": false})
            .to_string(),
    )
    .await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn the_fault_catalogue_applies_to_interaction_streams() {
    let emu = emulator().await;
    let stream = |fault: &str| {
        create(
            &format!("gemini-2.5-flash@{fault}"),
            json!("Tell me a story"),
            true,
        )
    };
    // An error event, after three events.
    let r = post(emu.addr(), PATH, &stream("sse-error-after=3:503")).await;
    let got = events(&r, "\n");
    assert_eq!(got.len(), 4);
    assert_eq!(got[3].0, "error");
    assert_eq!(got[3].1["error"]["code"], "unavailable");
    // A raw JSON error object after two.
    let r = post(emu.addr(), PATH, &stream("json-error-after=2:500")).await;
    assert!(r.text().ends_with("}\n"));
    assert!(r.text().contains("\"status\": \"INTERNAL\""));
    // CRLF and CR framing.
    for (framing, eol) in [("crlf", "\r\n"), ("cr", "\r")] {
        let r = post(emu.addr(), PATH, &stream(&format!("framing={framing}"))).await;
        assert!(events(&r, eol).len() > 5, "{framing}");
    }
    // A malformed event, then the rest.
    let r = post(emu.addr(), PATH, &stream("malformed-after=2")).await;
    assert!(r.text().contains("\"text\":\"trunc\n\n"));
    assert!(r.text().contains("event: interaction.completed"));
    // An oversized event, padded lazily to the size asked for.
    let r = post(emu.addr(), PATH, &stream("oversized-event=3:100KiB")).await;
    let big = r.text().split("\n\n").nth(3).unwrap().len();
    assert!((100 * 1024..102 * 1024).contains(&big), "{big}");
    // HTTP errors and a reset.
    let r = post(emu.addr(), PATH, &stream("http=429")).await;
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_some());
    let r = post(emu.addr(), PATH, &stream("close-after-events=2,reset")).await;
    assert!(!r.complete);
    // The fault header too, for every request.
    let r = post_fault(
        emu.addr(),
        PATH,
        "http=503",
        &create("gemini-2.5-flash", json!("x"), false),
    )
    .await;
    assert_eq!(r.status, 503);
}

#[tokio::test]
async fn bad_requests_get_googles_errors() {
    let emu = emulator().await;
    for (body, status) in [
        ("{", 400),
        (r#"{"input": "no model"}"#, 400),
        (r#"{"model": "gemini-9", "input": "x"}"#, 404),
        (r#"{"model": "gemini-2.5-flash"}"#, 400),
        (
            r#"{"model": "gemini-2.5-flash@tokens=100000000", "input": "x"}"#,
            400,
        ),
        (r#"{"agent": "deep-research", "input": "x"}"#, 400),
    ] {
        let r = post(emu.addr(), PATH, body).await;
        assert_eq!(r.status, status, "{body}: {}", r.text());
        assert_eq!(r.json()["error"]["code"], status, "{body}");
    }
    let r = send(
        emu.addr(),
        "POST",
        PATH,
        &[],
        &create("gemini-2.5-flash", json!("x"), false),
    )
    .await;
    assert_eq!(r.status, 403);
    let r = send(
        emu.addr(),
        "PUT",
        &format!("{PATH}/abc"),
        &[("x-goog-api-key", KEY)],
        "",
    )
    .await;
    assert_eq!(r.status, 404);
}

/// One request of an interaction cut at the output cap, as a client reads it.
struct Hop {
    /// The interaction (unary), or the one of `interaction.completed` (streamed).
    interaction: Value,
    text: String,
    /// The event names of a stream.
    names: Vec<String>,
}

/// Sends `body` (unary or streamed, as its `stream` says) and reads the answer.
async fn hop(emu: &Emulator, body: &Value) -> Hop {
    let r = post(emu.addr(), PATH, &body.to_string()).await;
    assert_eq!(r.status, 200, "{body}: {}", r.text());
    if body["stream"] != true {
        let interaction = r.json();
        return Hop {
            text: text_of(&interaction),
            interaction,
            names: Vec::new(),
        };
    }
    let events = events(&r, "\n");
    let (last, completed) = events.last().unwrap();
    assert_eq!(last, "interaction.completed");
    Hop {
        interaction: completed["interaction"].clone(),
        text: delta_text(&events),
        names: events.iter().map(|(n, _)| n.clone()).collect(),
    }
}

/// Every request of the interaction `first` starts, each following the last one's
/// `continuation_token` as google-genai does: stored, naming the last request's interaction as
/// `previous_interaction_id` without the input; unstored, the same body with the token.
async fn follow(emu: &Emulator, first: Value) -> Vec<Hop> {
    let mut hops = vec![hop(emu, &first).await];
    while let Some(token) = hops.last().unwrap().interaction["continuation_token"].as_str() {
        let mut body = first.clone();
        body["continuation_token"] = json!(token);
        if first["store"] != false {
            body["previous_interaction_id"] = hops.last().unwrap().interaction["id"].clone();
            body.as_object_mut().unwrap().remove("input");
        }
        hops.push(hop(emu, &body).await);
        assert!(hops.len() < 200, "no end");
    }
    hops
}

fn usage(hop: &Hop, name: &str) -> u64 {
    hop.interaction["usage"][name].as_u64().unwrap()
}

#[tokio::test]
async fn an_answer_over_the_output_cap_stops_with_requires_continuation_and_continues_to_the_whole_text()
 {
    let emu = emulator().await;
    let prompt = "Tell me a long story about rivers and their deltas.";
    for stream in [false, true] {
        for store in [true, false] {
            let body = |model: &str| {
                json!({"model": model, "input": prompt, "stream": stream, "store": store,
                    "generation_config": {"thinking_summaries": "auto"}})
            };
            let whole = hop(&emu, &body("gemini-2.5-flash@tokens=400")).await;
            assert_eq!(whole.interaction["status"], "completed");
            assert!(whole.interaction.get("continuation_token").is_none());
            let hops = follow(&emu, body("gemini-2.5-flash@tokens=400;hop-tokens=60")).await;
            let what = format!("stream {stream}, store {store}");
            assert!(hops.len() >= 5, "{what}: {} requests", hops.len());
            let text: String = hops.iter().map(|h| h.text.as_str()).collect();
            assert_eq!(text, whole.text, "{what}");
            let (last, cut) = hops.split_last().unwrap();
            for (n, hop) in cut.iter().enumerate() {
                assert_eq!(hop.interaction["status"], "requires_continuation", "{what}");
                let token = hop.interaction["continuation_token"].as_str().unwrap();
                assert!(!token.is_empty());
                let own = usage(hop, "total_output_tokens") + usage(hop, "total_thought_tokens");
                assert!(own > 0 && (n == 0 || own <= 60 + 30), "{what}: {own}");
            }
            assert_eq!(last.interaction["status"], "completed", "{what}");
            assert!(last.interaction.get("continuation_token").is_none());
            if stream {
                for hop in &hops {
                    assert_eq!(
                        hop.names[..2],
                        ["interaction.created", "interaction.status_update"]
                    );
                }
            }
            // Output and thinking add up to the whole answer's; each request's input is the
            // prompt and the output before it.
            for name in ["total_output_tokens", "total_thought_tokens"] {
                let sum: u64 = hops.iter().map(|h| usage(h, name)).sum();
                assert_eq!(sum, usage(&whole, name), "{what}: {name}");
            }
            let prompt_tokens = usage(&whole, "total_input_tokens");
            let mut before = 0;
            for hop in &hops {
                assert_eq!(usage(hop, "total_input_tokens"), prompt_tokens + before);
                assert_eq!(
                    usage(hop, "total_tokens"),
                    usage(hop, "total_input_tokens")
                        + usage(hop, "total_output_tokens")
                        + usage(hop, "total_thought_tokens")
                );
                before += usage(hop, "total_output_tokens");
            }
            // Every request is an interaction of its own.
            let ids: Vec<&str> = hops
                .iter()
                .map(|h| h.interaction["id"].as_str().unwrap())
                .collect();
            let mut unique = ids.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(
                unique.len(),
                ids.len(),
                "every request is its own interaction"
            );
        }
    }
}

#[tokio::test]
async fn the_cap_comes_from_the_configuration_and_the_stored_requests_read_as_one_turn() {
    let capped = Emulator::start(EmulatorConfig::default().hop_tokens(Some(50)))
        .await
        .unwrap();
    let uncapped = emulator().await;
    let first = json!({"model": "gemini-2.0-flash@tokens=300", "input": "Tell me about the sea."});
    let hops = follow(&capped, first.clone()).await;
    assert!(hops.len() > 3, "{}", hops.len());
    let whole = hop(&uncapped, &first).await;
    let text: String = hops.iter().map(|h| h.text.as_str()).collect();
    assert_eq!(text, whole.text);
    // A later turn sees the continued answer as one: it is the uncapped conversation's.
    let next = |previous: &Value| {
        json!({"model": "gemini-2.0-flash", "input": "And the rivers?",
            "previous_interaction_id": previous})
    };
    let after_capped = follow(&capped, next(&hops.last().unwrap().interaction["id"])).await;
    let after_whole = hop(&uncapped, &next(&whole.interaction["id"])).await;
    let text: String = after_capped.iter().map(|h| h.text.as_str()).collect();
    assert_eq!(text, after_whole.text);
    assert!(text.contains("This is turn 2 of our conversation."));
    // The stored stream of a request ends as its answer did.
    let id = hops[0].interaction["id"].as_str().unwrap();
    let r = send(
        capped.addr(),
        "GET",
        &format!("{PATH}/{id}?stream=true"),
        &[("x-goog-api-key", KEY)],
        "",
    )
    .await;
    let stored = events(&r, "\n");
    let completed = &stored.last().unwrap().1["interaction"];
    assert_eq!(completed["status"], "requires_continuation");
    assert_eq!(
        completed["continuation_token"],
        hops[0].interaction["continuation_token"]
    );
    // A background run is the service's to continue: never cut.
    let background = post(
        capped.addr(),
        PATH,
        &json!({"model": "gemini-2.0-flash@tokens=300", "input": "Tell me about the sea.",
            "background": true})
        .to_string(),
    )
    .await
    .json();
    let id = background["id"].as_str().unwrap();
    for _ in 0..2 {
        let polled = send(
            capped.addr(),
            "GET",
            &format!("{PATH}/{id}"),
            &[("x-goog-api-key", KEY)],
            "",
        )
        .await
        .json();
        if polled["status"] == "completed" {
            assert_eq!(text_of(&polled), whole.text);
            return;
        }
    }
    panic!("the background run did not complete");
}

#[tokio::test]
async fn a_forged_foreign_or_misplaced_continuation_token_gets_googles_400() {
    let emu = emulator().await;
    let model = "gemini-2.0-flash@tokens=300;hop-tokens=40";
    let first = post(
        emu.addr(),
        PATH,
        &json!({"model": model, "input": "Tell me about the sea."}).to_string(),
    )
    .await
    .json();
    let token = first["continuation_token"].as_str().unwrap().to_owned();
    let id = first["id"].as_str().unwrap().to_owned();
    let completed = post(
        emu.addr(),
        PATH,
        &json!({"model": "gemini-2.0-flash", "input": "Hi"}).to_string(),
    )
    .await
    .json();
    let mut tampered = token.clone().into_bytes();
    tampered[10] = if tampered[10] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for (stream, body) in [false, true].into_iter().flat_map(|stream| {
        [
            // Not base64, not the emulator's, tampered with.
            json!({"model": model, "previous_interaction_id": id, "continuation_token": "t!"}),
            json!({"model": model, "previous_interaction_id": id, "continuation_token": "AAAAAAAAAAAAAAAAAAAAAAAAAAAA"}),
            json!({"model": model, "previous_interaction_id": id, "continuation_token": tampered}),
            // Another answer's: other input, another model, the same input after the
            // stored interaction (a new turn, not this answer).
            json!({"model": model, "input": "Tell me about the hills.", "store": false, "continuation_token": token}),
            json!({"model": "gemini-2.0-flash-lite@hop-tokens=40", "previous_interaction_id": id, "continuation_token": token}),
            json!({"model": model, "input": "Tell me about the sea.", "previous_interaction_id": id, "continuation_token": token}),
            // An interaction that did not stop at the cap.
            json!({"model": model, "previous_interaction_id": completed["id"], "continuation_token": token}),
        ]
        .map(move |mut body| {
            body["stream"] = json!(stream);
            (stream, body)
        })
    }) {
        let r = post(emu.addr(), PATH, &body.to_string()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        if stream {
            assert!(r.header("content-type").unwrap().starts_with("text/event-stream"));
        }
        let error = r.json();
        assert_eq!(error["error"]["status"], "INVALID_ARGUMENT", "{body}");
        assert_eq!(
            error["error"]["message"],
            "* CreateInteractionRequest.continuation_token: invalid continuation token",
            "{body}"
        );
    }
    // Naming an interaction that is not there: 404, as for any `previous_interaction_id`.
    let r = post(
        emu.addr(),
        PATH,
        &json!({"model": model, "previous_interaction_id": "v1_gone", "continuation_token": token})
            .to_string(),
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.text());
    // The right token continues, as often as it is sent: the answer is a pure function of it.
    let body = json!({"model": model, "previous_interaction_id": id, "continuation_token": token});
    let a = post(emu.addr(), PATH, &body.to_string()).await.json();
    let b = post(emu.addr(), PATH, &body.to_string()).await.json();
    assert_eq!(text_of(&a), text_of(&b));
    assert_eq!(a["continuation_token"], b["continuation_token"]);
}
