//! Streaming `streamGenerateContent?alt=sse` from the gemini-emulator through the hyper
//! backend, on tokio and on smol.
#![cfg(all(feature = "tokio", feature = "smol"))]

use bytes::Bytes;
use gemini_emulator::{Emulator, EmulatorConfig};
use gemini_transport::{HttpTransport, HyperTransport, Proxy, Runtime};

async fn stream_from(emulator_url: &str, rt: Runtime) -> (usize, String) {
    let t = HyperTransport::builder()
        .runtime(rt)
        .proxy(Proxy::none())
        .build()
        .unwrap();
    let mut events_total = 0;
    let mut last_text = String::new();
    // Twice, to go over a reused connection as well.
    for _ in 0..2 {
        let request = http::Request::post(format!(
            "{emulator_url}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
        ))
        .header("x-goog-api-key", "test-key")
        .header("content-type", "application/json")
        .body(Bytes::from(
            r#"{"contents":[{"role":"user","parts":[{"text":"Tell me a story"}]}]}"#,
        ))
        .unwrap();
        let response = t.send(request).await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        let mut body = response.into_body();
        let mut text = Vec::new();
        while let Some(chunk) = body.next_chunk().await {
            text.extend_from_slice(&chunk.unwrap());
        }
        let text = String::from_utf8(text).unwrap();
        events_total += text.matches("data: ").count();
        last_text = text;
    }
    (events_total, last_text)
}

fn check(rt: Runtime) {
    let emulator = Emulator::start_blocking(EmulatorConfig::default()).unwrap();
    let url = emulator.base_url();
    let (events, text) = match rt {
        Runtime::Tokio => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(stream_from(&url, rt)),
        _ => smol::block_on(stream_from(&url, rt)),
    };
    assert!(events >= 2, "expected SSE events, got {events}: {text}");
    assert!(text.contains("\"candidates\""), "{text}");
    let requests = emulator.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0].path,
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    );
    assert_eq!(requests[0].query.as_deref(), Some("alt=sse"));
    assert_eq!(requests[0].header("x-goog-api-key"), Some("test-key"));
    emulator.stop();
}

#[test]
fn streams_sse_from_the_emulator_on_tokio() {
    check(Runtime::Tokio);
}

#[test]
fn streams_sse_from_the_emulator_on_smol() {
    check(Runtime::Smol);
}
