//! Streaming `streamGenerateContent?alt=sse` from the gemini-emulator through the hyper
//! backend, on tokio and on smol.
#![cfg(all(feature = "tokio", feature = "smol"))]

use bytes::Bytes;
use gemini_emulator::{Emulator, EmulatorConfig};
use gemini_transport::{HttpTransport, HyperTransport, Proxy, Runtime};

/// The streamed request both tests make.
fn stream_request(base_url: &str) -> http::Request<Bytes> {
    http::Request::post(format!(
        "{base_url}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    ))
    .header("x-goog-api-key", "test-key")
    .header("content-type", "application/json")
    .body(Bytes::from(
        r#"{"contents":[{"role":"user","parts":[{"text":"Tell me a story"}]}]}"#,
    ))
    .unwrap()
}

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
        let response = t.send(stream_request(emulator_url)).await.unwrap();
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
    let (events, text) = block_on(rt, stream_from(&url, rt));
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

/// Streams from an emulator serving TLS, trusting only its authority, with HTTP/2 (ALPN) or
/// HTTP/1.1 (`http1_only`), twice each (the second time on the pooled connection).
async fn stream_over_tls(rt: Runtime) {
    let emulator = Emulator::start_blocking(EmulatorConfig::default().tls(true)).unwrap();
    let url = emulator.base_url();
    assert!(url.starts_with("https://"), "{url}");
    for (http1_only, version) in [
        (false, http::Version::HTTP_2),
        (true, http::Version::HTTP_11),
    ] {
        let t = HyperTransport::builder()
            .runtime(rt)
            .proxy(Proxy::none())
            .built_in_roots(false)
            .roots_from_env(false)
            .add_root_certificates_pem(emulator.tls_ca_pem().unwrap())
            .http1_only(http1_only)
            .build()
            .unwrap();
        for _ in 0..2 {
            let response = t.send(stream_request(&url)).await.unwrap();
            assert_eq!(response.status(), 200);
            assert_eq!(response.version(), version);
            let body = response.into_body().collect().await.unwrap();
            let text = String::from_utf8(body.to_vec()).unwrap();
            assert!(text.matches("data: ").count() >= 2, "{text}");
            assert!(text.contains("\"finishReason\": \"STOP\""), "{text}");
        }
        assert_eq!(t.idle_connections(), 1, "one connection, reused");
    }
    // Without the authority, the server is not trusted.
    let t = HyperTransport::builder()
        .runtime(rt)
        .proxy(Proxy::none())
        .roots_from_env(false)
        .build()
        .unwrap();
    let request = http::Request::get(format!("{url}/v1beta/models"))
        .header("x-goog-api-key", "k")
        .body(Bytes::new())
        .unwrap();
    assert_eq!(
        t.send(request).await.unwrap_err().kind(),
        gemini_transport::ErrorKind::Tls
    );
    assert_eq!(emulator.requests().len(), 4);
    emulator.stop();
}

fn block_on<F: Future>(rt: Runtime, f: F) -> F::Output {
    match rt {
        Runtime::Tokio => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f),
        _ => smol::block_on(f),
    }
}

#[test]
fn streams_over_tls_h2_and_h1_on_tokio() {
    block_on(Runtime::Tokio, stream_over_tls(Runtime::Tokio));
}

#[test]
fn streams_over_tls_h2_and_h1_on_smol() {
    block_on(Runtime::Smol, stream_over_tls(Runtime::Smol));
}

#[test]
fn streams_sse_from_the_emulator_on_tokio() {
    check(Runtime::Tokio);
}

#[test]
fn streams_sse_from_the_emulator_on_smol() {
    check(Runtime::Smol);
}
