//! No request can crash the emulator or make it run away: every size, count and duration a request
//! or a flag asks for is bounded (400 `INVALID_ARGUMENT` past the limit, a start-up error for a
//! flag), generation is linear in its output, arithmetic on request values cannot overflow, and the
//! work for a request stops when its client goes away. Each case was found by hand against the
//! emulator before these limits existed. Time budgets are generous (a noisy shared machine, debug
//! builds): they tell linear from quadratic, not fast from slow.

mod common;

use std::time::{Duration, Instant};

use common::*;
use gemini_emulator::{Emulator, EmulatorConfig, limits};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn emulator() -> Emulator {
    Emulator::start(EmulatorConfig::default()).await.unwrap()
}

/// A JSON-mode request whose answer must conform to `schema`.
fn schema_body(schema: Value) -> String {
    json!({
        "contents": [user("Fill in the form")],
        "generationConfig": {"responseMimeType": "application/json", "responseSchema": schema}
    })
    .to_string()
}

/// The emulator answered 400 INVALID_ARGUMENT, with a message naming the problem.
fn assert_invalid_argument(r: &Resp, mentions: &str) {
    assert_eq!(r.status, 400, "{}", r.text());
    let error = &r.json()["error"];
    assert_eq!(error["status"], "INVALID_ARGUMENT", "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains(mentions), "{message:?} lacks {mentions:?}");
}

/// Sends a streaming request with `fault` on a raw connection and returns it, to be read (or
/// dropped) by the test.
async fn open_stream(emu: &Emulator, fault: &str) -> tokio::net::TcpStream {
    let mut stream = tokio::net::TcpStream::connect(emu.addr()).await.unwrap();
    let body = gen_body("Hello");
    let request = format!(
        "POST {SSE} HTTP/1.1\r\nhost: x\r\nconnection: close\r\nx-goog-api-key: {KEY}\r\n\
         x-emulator-fault: {fault}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    stream
}

/// The emulator is still alive and well after whatever came before.
async fn assert_alive(emu: &Emulator) {
    let r = post(emu.addr(), UNARY, &gen_body("Are you still there?")).await;
    assert_eq!(r.status, 200, "{}", r.text());
}

#[tokio::test]
async fn a_schema_asking_for_a_billion_items_is_refused() {
    let emu = emulator().await;
    for schema in [
        json!({"type": "ARRAY", "minItems": "1000000000", "items": {"type": "STRING"}}),
        json!({"type": "ARRAY", "minItems": 1_000_000_000u64}),
        // Small arrays nested deep multiply to the same effect.
        json!({"type": "ARRAY", "minItems": 100, "items": {"type": "ARRAY", "minItems": 100,
               "items": {"type": "ARRAY", "minItems": 100, "items": {"type": "STRING"}}}}),
    ] {
        let r = post(emu.addr(), UNARY, &schema_body(schema)).await;
        assert_invalid_argument(&r, "response schema");
    }
    assert_alive(&emu).await;
}

#[tokio::test]
async fn a_schema_at_the_limits_is_answered() {
    let emu = emulator().await;
    let schema = json!({"type": "ARRAY", "minItems": limits::MAX_SCHEMA_ITEMS, "items": {"type": "INTEGER"}});
    let r = post(emu.addr(), UNARY, &schema_body(schema)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let text = unary_text(&r.json());
    let items: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(items.len(), limits::MAX_SCHEMA_ITEMS);
}

#[tokio::test]
async fn min_length_is_generated_in_linear_time() {
    let emu = emulator().await;
    let schema = json!({"type": "OBJECT", "properties": {
        "s": {"type": "STRING", "minLength": limits::MAX_STRING_LENGTH}}});
    let start = Instant::now();
    let r = post(emu.addr(), UNARY, &schema_body(schema)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let value: Value = serde_json::from_str(&unary_text(&r.json())).unwrap();
    assert_eq!(
        value["s"].as_str().unwrap().chars().count(),
        limits::MAX_STRING_LENGTH
    );
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "{:?}",
        start.elapsed()
    );
    // One more than the limit is refused.
    let schema = json!({"type": "STRING", "minLength": limits::MAX_STRING_LENGTH + 1});
    let r = post(emu.addr(), UNARY, &schema_body(schema)).await;
    assert_invalid_argument(&r, "response schema");
}

#[tokio::test]
async fn the_tokens_directive_is_linear_and_bounded() {
    let emu = emulator().await;
    let start = Instant::now();
    let fault = format!("tokens={}", limits::MAX_TOKENS);
    let r = post_fault(emu.addr(), SSE, &fault, &gen_body("Go on and on")).await;
    assert_eq!(r.status, 200);
    assert!(r.complete);
    let events: Vec<Value> = r
        .sse_events()
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    let tokens = events.last().unwrap()["usageMetadata"]["candidatesTokenCount"]
        .as_u64()
        .unwrap();
    assert!(tokens >= limits::MAX_TOKENS as u64, "{tokens}");
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "{:?}",
        start.elapsed()
    );
    // Past the limit: refused, not truncated to 32 bits and generated forever.
    for n in [
        "1000000000000",
        "4294967297",
        &(limits::MAX_TOKENS + 1).to_string(),
    ] {
        let r = post_fault(emu.addr(), SSE, &format!("tokens={n}"), &gen_body("x")).await;
        assert_invalid_argument(&r, "tokens");
    }
    assert_alive(&emu).await;
}

#[tokio::test]
async fn integer_limits_near_the_ends_of_int64_do_not_overflow() {
    let emu = emulator().await;
    for (min, max) in [
        (json!(-9e18), json!(9e18)),
        (json!(i64::MIN), json!(i64::MAX)),
        (json!(-1e300), json!(1e300)),
        (json!(5), json!(1)),
    ] {
        let schema = json!({"type": "OBJECT", "properties": {
            "n": {"type": "INTEGER", "minimum": min, "maximum": max},
            "x": {"type": "NUMBER", "minimum": min, "maximum": max}}});
        let r = post(emu.addr(), UNARY, &schema_body(schema)).await;
        assert_eq!(r.status, 200, "{min} {max}: {}", r.text());
        let value: Value = serde_json::from_str(&unary_text(&r.json())).unwrap();
        let n = &value["n"];
        assert!(n.is_i64() || n.is_u64(), "{n}");
        if let (Some(lo), Some(hi)) = (min.as_f64(), max.as_f64())
            && lo <= hi
        {
            let n = n.as_f64().unwrap();
            assert!(lo <= n && n <= hi, "{n} not in [{lo}, {hi}]");
        }
    }
    assert_alive(&emu).await;
}

#[tokio::test]
async fn oversized_events_past_the_limit_are_refused() {
    let emu = emulator().await;
    for size in ["100000MiB", "17592186044416MiB", "18446744073709551616"] {
        let r = post_fault(
            emu.addr(),
            SSE,
            &format!("oversized-event=0:{size}"),
            &gen_body("Hello"),
        )
        .await;
        assert_invalid_argument(&r, "oversized-event");
    }
    assert_alive(&emu).await;
}

#[tokio::test]
async fn an_oversized_event_is_streamed_without_being_built_in_memory() {
    // Beyond the decoders' 64 MiB default, within the emulator's limit.
    let emu = emulator().await;
    let size = 80usize << 20;
    let mut stream = open_stream(&emu, &format!("oversized-event=0:{size}")).await;
    // Count the bytes without keeping them.
    let mut total = 0usize;
    let mut buf = vec![0; 1 << 16];
    loop {
        let n = stream.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        total += n;
    }
    assert!(total > size, "{total}");
    assert!(total < size + (1 << 20), "{total}");
}

#[tokio::test]
async fn every_count_size_and_duration_of_a_fault_is_bounded() {
    let emu = emulator().await;
    let huge = "99999999999999999999999";
    for spec in [
        format!("stall-after=0:{huge}s"),
        "stall-after=0:1e30s".to_owned(),
        format!(
            "stall-after=0:{}s",
            limits::MAX_FAULT_DURATION.as_secs() + 1
        ),
        format!("drip={huge}m"),
        format!("drip=1ms:{huge}"),
        format!("http=429:{huge}s"),
        format!("fail-first={huge}"),
        "fail-first=4294967297".to_owned(),
        format!("json-error-after={huge}"),
        format!("close-after-bytes={huge}"),
        format!("malformed-after={}", limits::MAX_EVENT_COUNT + 1),
        vec!["byte-writes"; limits::MAX_FAULT_ITEMS + 1].join(";"),
    ] {
        let r = post_fault(emu.addr(), SSE, &spec, &gen_body("Hello")).await;
        assert_eq!(r.status, 400, "{spec}: {}", r.text());
        assert_eq!(r.json()["error"]["status"], "INVALID_ARGUMENT", "{spec}");
    }
    assert_alive(&emu).await;
}

#[tokio::test]
async fn a_global_fault_past_the_limits_fails_each_request_not_the_process() {
    // Built in code, so no parser saw it.
    let emu = emulator().await;
    emu.set_fault(Some(
        gemini_emulator::FaultSpec::new().with(gemini_emulator::Fault::Tokens(usize::MAX)),
    ));
    let r = post(emu.addr(), SSE, &gen_body("Hello")).await;
    assert_invalid_argument(&r, "tokens");
    emu.set_fault(None);
    assert_alive(&emu).await;
    // And at start-up it is refused.
    let config = EmulatorConfig::default().fault(gemini_emulator::FaultSpec::new().with(
        gemini_emulator::Fault::OversizedEvent {
            event: 0,
            size: usize::MAX,
        },
    ));
    let err = Emulator::start(config).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("oversized-event"), "{err}");
}

#[test]
fn the_fault_flag_past_the_limits_is_a_start_up_error() {
    for spec in [
        "oversized-event=0:17592186044416MiB",
        "oversized-event=0:100000MiB",
        "tokens=1000000000000",
        "stall-after=0:99999999999999999999999s",
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_gemini-emulator"))
            .args(["--pace", "none", "--fault", spec])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{spec}: {stderr}");
        assert!(stderr.contains("invalid --fault"), "{spec}: {stderr}");
        assert!(!stderr.contains("panicked"), "{spec}: {stderr}");
        assert!(output.stdout.is_empty(), "{spec}");
    }
}

#[test]
fn other_flags_are_checked_too() {
    for args in [
        &["--pace", "0ms,1e-300"][..],
        &["--pace", "99999999999999999999999s,10"],
        &["--pace", "10ms,NaN"],
        &["--threads", "100000"],
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_gemini-emulator"))
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[tokio::test]
async fn work_for_a_request_stops_when_its_client_disconnects() {
    let emu = emulator().await;
    // A stream that would stall for minutes after its first event, and one that would drip.
    for fault in ["stall-after=1:9m", "drip=9m:1"] {
        let mut stream = open_stream(&emu, fault).await;
        let mut buf = vec![0; 4096];
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0);
        assert_eq!(emu.stats().active_streams, 1, "{fault}");
        drop(stream);
        let deadline = Instant::now() + Duration::from_secs(20);
        while emu.stats().active_streams != 0 {
            assert!(
                Instant::now() < deadline,
                "{fault}: the stream is still being produced after its client left"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test]
async fn too_many_stop_sequences_or_batch_requests_are_refused() {
    let emu = emulator().await;
    let stops: Vec<String> = (0..=limits::MAX_STOP_SEQUENCES)
        .map(|i| format!("s{i}"))
        .collect();
    let body = json!({"contents": [user("Hi")], "generationConfig": {"stopSequences": stops}});
    let r = post(emu.addr(), UNARY, &body.to_string()).await;
    assert_invalid_argument(&r, "stop_sequences");
    let requests: Vec<Value> = (0..=limits::MAX_BATCH_REQUESTS)
        .map(|_| json!({"content": {"parts": [{"text": "x"}]}}))
        .collect();
    let r = post(
        emu.addr(),
        "/v1beta/models/gemini-embedding-001:batchEmbedContents",
        &json!({ "requests": requests }).to_string(),
    )
    .await;
    assert_invalid_argument(&r, "requests");
    assert_alive(&emu).await;
}
