//! Every fault, over real loopback HTTP.

mod common;

use std::io::ErrorKind;
use std::time::Duration;

use common::*;
use gemini_emulator::{Emulator, EmulatorConfig};
use serde_json::Value;

async fn emulator() -> Emulator {
    Emulator::start(EmulatorConfig::default()).await.unwrap()
}

fn body() -> String {
    serde_json::json!({"contents": [user("Tell me a long story about the sea")]}).to_string()
}

fn events_of(resp: &Resp) -> Vec<Value> {
    resp.sse_events()
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect()
}

#[tokio::test]
async fn http_errors_with_google_bodies() {
    let emu = emulator().await;
    for (code, status) in [
        (400, "INVALID_ARGUMENT"),
        (403, "PERMISSION_DENIED"),
        (404, "NOT_FOUND"),
        (500, "INTERNAL"),
        (503, "UNAVAILABLE"),
    ] {
        let r = post_fault(emu.addr(), UNARY, &format!("http={code}"), &body()).await;
        assert_eq!(r.status, code);
        assert_eq!(r.json()["error"]["code"], code);
        assert_eq!(r.json()["error"]["status"], status);
        assert!(r.text().starts_with("{\n  \"error\": {\n") && r.text().ends_with("}\n"));
    }
    let r = post_fault(emu.addr(), SSE, "http=429:34.4s", &body()).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    assert_eq!(r.header("retry-after"), Some("35"));
    let e = r.json();
    assert_eq!(e["error"]["status"], "RESOURCE_EXHAUSTED");
    let details = e["error"]["details"].as_array().unwrap();
    let retry = details
        .iter()
        .find(|d| d["@type"] == "type.googleapis.com/google.rpc.RetryInfo")
        .unwrap();
    assert_eq!(retry["retryDelay"], "34.4s");
    assert!(
        details
            .iter()
            .any(|d| d["@type"] == "type.googleapis.com/google.rpc.QuotaFailure")
    );
    // The project's error model reads it.
    let typed = gemini_proto::error::ApiError::from_slice(&r.body).unwrap();
    assert_eq!(typed.retry_delay(), Some(Duration::from_millis(34_400)));
}

#[tokio::test]
async fn fault_by_model_name_and_by_library() {
    let emu = emulator().await;
    let r = post(
        emu.addr(),
        "/v1beta/models/gemini-2.5-flash@http=503:generateContent",
        &body(),
    )
    .await;
    assert_eq!(r.status, 503);
    let r = post(
        emu.addr(),
        "/v1beta/models/gemini-2.5-flash%40http%3D500:streamGenerateContent?alt=sse",
        &body(),
    )
    .await;
    assert_eq!(r.status, 500);
    emu.set_fault(Some("http=429".parse().unwrap()));
    assert_eq!(post(emu.addr(), UNARY, &body()).await.status, 429);
    emu.set_fault(None);
    assert_eq!(post(emu.addr(), UNARY, &body()).await.status, 200);
    let r = post_fault(emu.addr(), UNARY, "explode=1", &body()).await;
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown fault `explode`")
    );
}

#[tokio::test]
async fn fail_first_then_succeed() {
    let emu = emulator().await;
    let addr = emu.addr();
    let h = [
        ("x-goog-api-key", KEY),
        ("x-emulator-fault", "fail-first=2:503"),
        ("x-emulator-scenario", "s1"),
    ];
    assert_eq!(send(addr, "POST", UNARY, &h, &body()).await.status, 503);
    assert_eq!(send(addr, "POST", UNARY, &h, &body()).await.status, 503);
    assert_eq!(send(addr, "POST", UNARY, &h, &body()).await.status, 200);
    assert_eq!(send(addr, "POST", UNARY, &h, &body()).await.status, 200);
    // Without a scenario id, attempts are counted per request body.
    let other = gen_body("another");
    assert_eq!(
        post_fault(addr, SSE, "fail-first=1:429", &other)
            .await
            .status,
        429
    );
    assert_eq!(
        post_fault(addr, SSE, "fail-first=1:429", &body())
            .await
            .status,
        429
    );
    let ok = post_fault(addr, SSE, "fail-first=1:429", &other).await;
    assert_eq!(ok.status, 200);
    assert!(ok.complete);
}

#[tokio::test]
async fn json_error_after_n_events() {
    let emu = emulator().await;
    let r = post_fault(emu.addr(), SSE, "json-error-after=2:500", &body()).await;
    assert_eq!(r.status, 200);
    let text = r.text();
    let (events, error) = text.split_at(text.find("{\n  \"error\"").unwrap());
    assert_eq!(events.matches("data: ").count(), 2);
    assert!(events.ends_with("\r\n\r\n"));
    let e: Value = serde_json::from_str(error).unwrap();
    assert_eq!(e["error"]["code"], 500);
    assert!(r.complete, "the body ends normally after the error object");
}

#[tokio::test]
async fn sse_error_event_after_n_events() {
    let emu = emulator().await;
    let r = post_fault(emu.addr(), SSE, "sse-error-after=1:503", &body()).await;
    let events = r.sse_events();
    assert_eq!(events.len(), 2);
    assert!(
        events[1].starts_with(r#"{"error": {"code": 503,"message": "#),
        "{}",
        events[1]
    );
    let e: Value = serde_json::from_str(&events[1]).unwrap();
    assert_eq!(e["error"]["status"], "UNAVAILABLE");
}

#[tokio::test]
async fn close_after_events_clean_and_reset() {
    let emu = emulator().await;
    let r = post_fault(emu.addr(), SSE, "close-after-events=2", &body()).await;
    assert_eq!(r.status, 200);
    assert!(!r.complete, "no terminating chunk");
    assert_eq!(r.read_error, None, "clean close (FIN)");
    assert_eq!(r.sse_events().len(), 2);

    let r = post_fault(emu.addr(), SSE, "close-after-events=1,reset", &body()).await;
    assert!(!r.complete);
    assert_eq!(r.read_error, Some(ErrorKind::ConnectionReset));
}

#[tokio::test]
async fn close_after_bytes() {
    let emu = emulator().await;
    let r = post_fault(emu.addr(), SSE, "close-after-bytes=100", &body()).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), 100);
    assert!(!r.complete);
    assert!(r.text().starts_with("data: {\"candidates\": "));
    let r = post_fault(emu.addr(), UNARY, "close-after-bytes=10,reset", &body()).await;
    assert!(!r.complete);
    assert_eq!(r.read_error, Some(ErrorKind::ConnectionReset));
}

#[tokio::test]
async fn stall_and_drip() {
    let emu = emulator().await;
    let fast = post(emu.addr(), SSE, &body()).await;
    let r = post_fault(emu.addr(), SSE, "stall-after=1:300ms", &body()).await;
    assert!(r.elapsed >= Duration::from_millis(300), "{:?}", r.elapsed);
    assert_eq!(r.body, fast.body, "a stall changes timing only");

    let r = post_fault(emu.addr(), SSE, "drip=2ms:200", &body()).await;
    let pieces = fast.body.len().div_ceil(200);
    assert!(
        r.elapsed >= Duration::from_millis(2 * (pieces as u64 - 1)),
        "{:?} for {pieces} pieces",
        r.elapsed
    );
    assert_eq!(r.body, fast.body);
    assert!(
        r.reads >= pieces / 2,
        "{} reads for {pieces} pieces",
        r.reads
    );
}

#[tokio::test]
async fn oversized_and_malformed_events() {
    let emu = emulator().await;
    let r = post_fault(emu.addr(), SSE, "oversized-event=1:1MiB", &body()).await;
    let events = r.sse_events();
    assert!(
        events[1].len() >= 1 << 20 && events[1].len() < (1 << 20) + 100,
        "{}",
        events[1].len()
    );
    let big: Value = serde_json::from_str(&events[1]).unwrap();
    assert!(
        big["candidates"][0]["content"]["parts"][0]["text"]
            .as_str()
            .unwrap()
            .len()
            > 1_000_000
    );

    let r = post_fault(emu.addr(), SSE, "malformed-after=1", &body()).await;
    let events = r.sse_events();
    assert!(serde_json::from_str::<Value>(&events[0]).is_ok());
    assert!(serde_json::from_str::<Value>(&events[1]).is_err());
    assert!(
        events[2..]
            .iter()
            .all(|e| serde_json::from_str::<Value>(e).is_ok())
    );
    assert!(r.complete);
}

#[tokio::test]
async fn framing_variants_and_byte_writes() {
    let emu = emulator().await;
    let normal = post(emu.addr(), SSE, &body()).await;
    let n = normal.sse_events();
    let lf = post_fault(emu.addr(), SSE, "framing=lf", &body()).await;
    assert!(!lf.text().contains('\r'));
    assert_eq!(split_sse(&lf.text(), "\n\n"), n);
    let cr = post_fault(emu.addr(), SSE, "framing=cr", &body()).await;
    assert!(!cr.text().contains('\n'));
    assert_eq!(split_sse(&cr.text(), "\r\r"), n);

    let bytes = post_fault(emu.addr(), SSE, "byte-writes", &body()).await;
    assert_eq!(bytes.status, 200);
    assert_eq!(bytes.body, normal.body);
    assert!(bytes.complete);
}

#[tokio::test]
async fn blocked_prompt_and_safety_finish() {
    let emu = emulator().await;
    let r = post_fault(emu.addr(), UNARY, "block-prompt", &body()).await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert!(v.get("candidates").is_none());
    assert_eq!(v["promptFeedback"]["blockReason"], "SAFETY");
    assert!(v["usageMetadata"]["promptTokenCount"].as_u64().unwrap() > 0);
    let typed: gemini_proto::types::GenerateContentResponse = serde_json::from_value(v).unwrap();
    assert!(typed.block_reason().is_some());
    let r = post_fault(emu.addr(), SSE, "block-prompt=PROHIBITED_CONTENT", &body()).await;
    let events = events_of(&r);
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0]["promptFeedback"]["blockReason"],
        "PROHIBITED_CONTENT"
    );

    let r = post_fault(emu.addr(), SSE, "safety-after=2", &body()).await;
    let events = events_of(&r);
    assert_eq!(events.len(), 3);
    let last = &events[2]["candidates"][0];
    assert_eq!(last["finishReason"], "SAFETY");
    assert!(last.get("content").is_none());
    assert!(
        last["safetyRatings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["probability"] == "HIGH")
    );
    let r = post_fault(emu.addr(), UNARY, "safety-after=0", &body()).await;
    assert_eq!(r.json()["candidates"][0]["finishReason"], "SAFETY");
}

#[tokio::test]
async fn faults_in_json_array_streams() {
    let emu = emulator().await;
    let r = post_fault(emu.addr(), ARRAY, "json-error-after=1", &body()).await;
    let v: Vec<Value> = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v.len(), 2);
    assert_eq!(v[1]["error"]["code"], 500);
    let r = post_fault(emu.addr(), ARRAY, "tokens=200", &body()).await;
    let v: Vec<Value> = serde_json::from_slice(&r.body).unwrap();
    let total = v.last().unwrap()["usageMetadata"]["candidatesTokenCount"]
        .as_u64()
        .unwrap();
    assert!((200..230).contains(&total), "{total}");
}
