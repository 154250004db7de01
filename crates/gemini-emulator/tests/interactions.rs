//! The Interactions API over real loopback HTTP: `event:`-framed streams, the unary answer equal
//! to the folded stream, stored conversations, resuming from `last_event_id`, background runs,
//! cancel and delete, the fault catalogue on these streams, and bad requests.

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
            r#"{"model": "gemini-2.5-flash", "input": "x", "continuation_token": "t"}"#,
            400,
        ),
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
