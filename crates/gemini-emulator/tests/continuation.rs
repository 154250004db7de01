//! Long answers over several requests, on the wire: hop caps, checkpoints, tokens, drops, usage
//! per request, and the 400 for a token the emulator did not make.

mod common;

use common::{post, post_fault};
use gemini_emulator::{Emulator, EmulatorConfig};
use serde_json::{Value, json};

const STREAM: &str = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";
const UNARY: &str = "/v1beta/models/gemini-2.5-flash:generateContent";

fn body(token: Option<&str>) -> String {
    let mut body =
        json!({"contents": [{"role": "user", "parts": [{"text": "A long story, please."}]}]});
    if let Some(token) = token {
        body["continuationToken"] = token.into();
    }
    body.to_string()
}

fn events(resp: &common::Resp) -> Vec<Value> {
    resp.sse_events()
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect()
}

fn text(events: &[Value]) -> String {
    events
        .iter()
        .filter_map(|e| e["candidates"][0]["content"]["parts"][0]["text"].as_str())
        .collect()
}

/// Follows the tokens of a capped answer, request after request; returns the text and the
/// requests' event lists.
async fn follow(emulator: &Emulator, fault: &str) -> (String, Vec<Vec<Value>>) {
    let mut token: Option<String> = None;
    let mut all = Vec::new();
    for _ in 0..100 {
        let resp = post_fault(emulator.addr(), STREAM, fault, &body(token.as_deref())).await;
        assert_eq!(resp.status, 200, "{}", resp.text());
        let evs = events(&resp);
        let last = &evs.last().unwrap()["candidates"][0];
        let finish = last["finishReason"].as_str().unwrap().to_owned();
        token = last["continuationToken"].as_str().map(str::to_owned);
        all.push(evs);
        match finish.as_str() {
            "CONTINUATION" => assert!(token.is_some(), "a CONTINUATION end carries its token"),
            "STOP" => break,
            other => panic!("unexpected finish reason {other}"),
        }
    }
    let text = all.iter().map(|evs| text(evs)).collect();
    (text, all)
}

#[tokio::test]
async fn a_capped_answer_continues_exactly_where_it_stopped() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let whole = events(&post_fault(emulator.addr(), STREAM, "tokens=300", &body(None)).await);
    let (text, hops) = follow(&emulator, "tokens=300;hop-tokens=50").await;
    assert_eq!(text, self::text(&whole));
    assert!(hops.len() >= 4, "{} requests", hops.len());
    for hop in &hops {
        // Within a request the usage is that request's running total, within its cap (one
        // event may cross it: a request always makes progress).
        let usage = &hop.last().unwrap()["usageMetadata"];
        let answer = usage["candidatesTokenCount"].as_u64().unwrap();
        let first = hop[0]["usageMetadata"]["candidatesTokenCount"]
            .as_u64()
            .unwrap();
        assert!(answer - first <= 50, "{usage}");
        assert_eq!(
            usage["promptTokenCount"],
            whole[0]["usageMetadata"]["promptTokenCount"]
        );
    }
    // The same with the cap from the start-up configuration.
    let capped = Emulator::start(EmulatorConfig::default().hop_tokens(Some(50)))
        .await
        .unwrap();
    let (again, hops_again) = follow(&capped, "tokens=300").await;
    assert_eq!(again, text);
    assert_eq!(hops_again.len(), hops.len());
}

#[tokio::test]
async fn checkpoints_resume_a_request_where_they_stand() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let fault = "tokens=120;checkpoint-every=2";
    let all = events(&post_fault(emulator.addr(), STREAM, fault, &body(None)).await);
    let checkpoints: Vec<(usize, &str)> = all
        .iter()
        .enumerate()
        .filter_map(|(i, e)| {
            let c = &e["candidates"][0];
            (c["finishReason"].is_null())
                .then(|| c["continuationToken"].as_str())
                .flatten()
                .map(|t| (i, t))
        })
        .collect();
    assert!(checkpoints.len() >= 2);
    assert!(
        checkpoints.iter().all(|(i, _)| i % 2 == 1),
        "every second event"
    );
    // Resuming from a checkpoint gives exactly the rest of the answer.
    let (at, token) = checkpoints[1];
    let rest = events(&post_fault(emulator.addr(), STREAM, fault, &body(Some(token))).await);
    assert_eq!(format!("{}{}", text(&all[..=at]), text(&rest)), text(&all));
}

#[tokio::test]
async fn unary_requests_are_capped_too() {
    let emulator = Emulator::start(EmulatorConfig::default().hop_tokens(Some(60)))
        .await
        .unwrap();
    let first = post_fault(emulator.addr(), UNARY, "tokens=200", &body(None)).await;
    let json = first.json();
    assert_eq!(json["candidates"][0]["finishReason"], "CONTINUATION");
    let token = json["candidates"][0]["continuationToken"].as_str().unwrap();
    let second = post_fault(emulator.addr(), UNARY, "tokens=200", &body(Some(token))).await;
    assert_eq!(second.status, 200);
    assert!(second.json()["candidates"][0]["content"]["parts"][0]["text"].is_string());
}

#[tokio::test]
async fn a_token_the_emulator_did_not_make_is_refused() {
    let emulator = Emulator::start(EmulatorConfig::default().hop_tokens(Some(40)))
        .await
        .unwrap();
    let resp = post(emulator.addr(), STREAM, &body(None)).await;
    let evs = events(&resp);
    let token = evs.last().unwrap()["candidates"][0]["continuationToken"]
        .as_str()
        .unwrap()
        .to_owned();
    // Tampered: one byte changed.
    let mut bytes = gemini_proto::types::ContinuationToken::from_base64(&token)
        .unwrap()
        .as_bytes()
        .to_vec();
    bytes[12] ^= 1;
    let tampered = gemini_proto::types::ContinuationToken::new(bytes).to_base64();
    // Foreign: made for another request.
    let other = json!({"contents": [{"role": "user", "parts": [{"text": "Something else."}]}], "continuationToken": token}).to_string();
    for request in [body(Some(&tampered)), body(Some("bm90IGEgdG9rZW4=")), other] {
        let resp = post(emulator.addr(), STREAM, &request).await;
        assert_eq!(resp.status, 400, "{}", resp.text());
        let error = resp.json();
        assert_eq!(error["error"]["status"], "INVALID_ARGUMENT");
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains("continuation token"),
            "{error}"
        );
    }
    // Not even base64.
    let resp = post(emulator.addr(), STREAM, &body(Some("!!!"))).await;
    assert_eq!(resp.status, 400);
    // The URL-safe alphabet (what the Python SDK sends) is fine.
    let url_safe = token.replace('+', "-").replace('/', "_");
    assert_eq!(
        post(emulator.addr(), STREAM, &body(Some(&url_safe)))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn drops_hit_the_hop_and_attempts_they_name() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let fault = "tokens=200;hop-tokens=60;checkpoint-every=2;drop=after-checkpoint@2x2";
    // Hop 1 is not dropped.
    let first = post_fault(emulator.addr(), STREAM, fault, &body(None)).await;
    assert!(first.complete, "{}", first.text());
    let evs = events(&first);
    let token = evs.last().unwrap()["candidates"][0]["continuationToken"]
        .as_str()
        .unwrap()
        .to_owned();
    // Hop 2: its first two attempts break right after the first checkpoint, the third does not.
    for attempt in 1..=3 {
        let resp = post_fault(emulator.addr(), STREAM, fault, &body(Some(&token))).await;
        let evs = resp.sse_events();
        if attempt <= 2 {
            assert!(!resp.complete, "attempt {attempt}");
            assert_eq!(
                evs.len(),
                2,
                "attempt {attempt}: two events, the second a checkpoint"
            );
            let last: Value = serde_json::from_str(evs.last().unwrap()).unwrap();
            assert!(last["candidates"][0]["continuationToken"].is_string());
        } else {
            assert!(resp.complete, "attempt {attempt}");
        }
    }
    // A resume answered with an error, once.
    let fault = "tokens=200;hop-tokens=60;resume-error=503";
    let resp = post_fault(emulator.addr(), STREAM, fault, &body(None)).await;
    let token = events(&resp).last().unwrap()["candidates"][0]["continuationToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        post_fault(emulator.addr(), STREAM, fault, &body(Some(&token)))
            .await
            .status,
        503
    );
    assert_eq!(
        post_fault(emulator.addr(), STREAM, fault, &body(Some(&token)))
            .await
            .status,
        200
    );
}

#[test]
fn the_flags_set_the_cap_and_the_checkpoints() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gemini-emulator"))
        .args(["--hop-tokens", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("hop-tokens"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gemini-emulator"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--hop-tokens N",
        "--checkpoint-every N",
        "drop=WHERE",
        "resume-error=",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
}
