//! Runtime choices: blocking code inside a tokio runtime, pinned runtimes, custom transports and
//! timers, and a retry of an error event that arrives before the first chunk.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{KEY, MODEL, emulator, expected_text, fast_retries};
use gemini::transport::test_util::{Match, Reply, ScriptedTransport};
use gemini::transport::{HttpTransport, ResponseFuture, Sleep, SleepFuture};
use gemini::{Client, Runtime};

const PROMPT: &str = "Why is the sea salty?";

#[test]
fn blocking_works_from_plain_threads_and_from_inside_tokio() {
    let emulator = emulator();
    let expected = expected_text(&emulator, MODEL, PROMPT);
    let stream_text = |client: &gemini::blocking::Client| -> String {
        client
            .models()
            .generate_content_stream(MODEL, PROMPT)
            .send()
            .unwrap()
            .map(|chunk| chunk.unwrap().text().unwrap_or_default().into_owned())
            .collect()
    };
    // Plain `fn main`-like thread.
    let client = common::blocking_client(&emulator);
    assert_eq!(stream_text(&client), expected);
    // On a tokio worker thread, in a task: it must not pick up tokio (whose driver that very
    // thread would have to run) and must not panic about nested runtimes.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let inside = runtime.block_on(async { stream_text(&client) });
    assert_eq!(inside, expected);
    let multi = tokio::runtime::Runtime::new().unwrap();
    let client2 = client.clone();
    let in_task = multi
        .block_on(async move { tokio::spawn(async move { stream_text(&client2) }).await })
        .unwrap();
    assert_eq!(in_task, expected);
    // A blocking client made inside a tokio runtime also stays on smol.
    let made_inside = runtime.block_on(async { common::blocking_client(&emulator) });
    assert_eq!(stream_text(&made_inside), expected);
}

#[test]
fn a_pinned_runtime_is_used_whatever_the_context() {
    let emulator = emulator();
    let expected = expected_text(&emulator, MODEL, PROMPT);
    // Pinned to smol, awaited inside tokio.
    let client = Client::builder()
        .api_key(KEY)
        .base_url(emulator.base_url())
        .runtime(Runtime::Smol)
        .build()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let answer = runtime
        .block_on(client.models().generate_content(MODEL, PROMPT).send())
        .unwrap();
    assert_eq!(answer.text().unwrap(), expected);
    // Pinned to tokio, used outside a runtime: a clear error, not a panic.
    let client = Client::builder()
        .api_key(KEY)
        .base_url(emulator.base_url())
        .runtime(Runtime::Tokio)
        .retry_policy(gemini::RetryPolicy::disabled())
        .build()
        .unwrap();
    let error = smol::block_on(client.models().generate_content(MODEL, PROMPT).send()).unwrap_err();
    assert_eq!(error.kind(), gemini::ErrorKind::Transport);
    assert!(error.to_string().contains("tokio"), "{error}");
}

/// A timer that records the waits and returns at once.
#[derive(Debug, Default)]
struct Recorded(std::sync::Mutex<Vec<Duration>>);

impl Sleep for Recorded {
    fn sleep(&self, duration: Duration) -> SleepFuture {
        self.0.lock().unwrap().push(duration);
        SleepFuture::new(async {})
    }
}

const FIRST: &str = "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Retried \"}],\"role\": \"model\"}}]}\r\n\r\n";
const UNARY: &str = "{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Retried answer.\"}],\"role\": \"model\"},\"finishReason\": \"STOP\"}]}";
const LAST: &str = "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"answer.\"}],\"role\": \"model\"},\"finishReason\": \"STOP\"}]}\r\n\r\n";

#[test]
fn an_error_event_before_the_first_chunk_is_retried_with_the_server_delay() {
    // The first attempt is accepted (200), then its first event is an overload error with a
    // RetryInfo. Nothing reached the caller, so the call waits the server's delay and tries again.
    let overloaded = "data: {\"error\": {\"code\": 503, \"message\": \"The model is overloaded.\", \"status\": \"UNAVAILABLE\", \"details\": [{\"@type\": \"type.googleapis.com/google.rpc.RetryInfo\", \"retryDelay\": \"2.5s\"}]}}\r\n\r\n";
    let transport = Arc::new(
        ScriptedTransport::new()
            .once(Match::post(), Reply::ok().body(overloaded))
            .once(
                Match::post(),
                Reply::ok()
                    .body(format!("{FIRST}{LAST}"))
                    .split_at([10, 100]),
            ),
    );
    let sleep = Arc::new(Recorded::default());
    let client = Client::builder()
        .api_key(KEY)
        .transport(transport.clone())
        .sleep(sleep.clone())
        .build()
        .unwrap();
    let answer = futures_lite::future::block_on(async {
        client
            .models()
            .generate_content_stream(MODEL, PROMPT)
            .await
            .unwrap()
            .final_response()
            .await
            .unwrap()
    });
    assert_eq!(answer.text().as_deref(), Some("Retried answer."));
    assert_eq!(*sleep.0.lock().unwrap(), [Duration::from_millis(2500)]);
    assert_eq!(transport.requests().len(), 2);
    assert!(
        transport.requests()[0]
            .uri
            .to_string()
            .ends_with(":streamGenerateContent?alt=sse")
    );
}

/// Records the timeouts each request carries, then answers like `inner`.
#[derive(Debug)]
struct SeesTimeouts {
    inner: ScriptedTransport,
    seen: std::sync::Mutex<Vec<Option<gemini::Timeouts>>>,
}

impl HttpTransport for SeesTimeouts {
    fn send(&self, request: http::Request<bytes::Bytes>) -> ResponseFuture {
        let timeouts = request.extensions().get::<gemini::Timeouts>().copied();
        self.seen.lock().unwrap().push(timeouts);
        self.inner.send(request)
    }
}

#[test]
fn timeouts_travel_with_each_request_to_a_custom_transport() {
    let transport = Arc::new(SeesTimeouts {
        inner: ScriptedTransport::new().on(Match::any(), Reply::ok().body(UNARY)),
        seen: Default::default(),
    });
    let timeouts = gemini::Timeouts::default().total(Some(Duration::from_secs(42)));
    let client = Client::builder()
        .api_key(KEY)
        .transport(transport.clone())
        .timeouts(timeouts)
        .build()
        .unwrap();
    let per_call = gemini::Timeouts::default().idle(Some(Duration::from_secs(7)));
    futures_lite::future::block_on(async {
        client.models().generate_content(MODEL, "a").await.unwrap();
        client
            .models()
            .generate_content(MODEL, "b")
            .timeouts(per_call)
            .await
            .unwrap();
    });
    assert_eq!(
        *transport.seen.lock().unwrap(),
        [Some(timeouts), Some(per_call)]
    );
}

#[test]
fn retries_wait_without_any_runtime_when_none_is_there() {
    // A custom transport, a client built without a timer, awaited by a bare executor: the waits
    // between retries still happen (on a helper thread).
    let transport = Arc::new(
        ScriptedTransport::new()
            .once(Match::any(), Reply::status(503))
            .on(Match::any(), Reply::ok().body(UNARY)),
    );
    let client = Client::builder()
        .api_key(KEY)
        .transport(transport.clone())
        .retry_policy(fast_retries())
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let answer = std::thread::spawn(move || {
        futures_lite::future::block_on(client.models().generate_content(MODEL, "x").send())
    })
    .join()
    .unwrap()
    .unwrap();
    assert_eq!(answer.text().as_deref(), Some("Retried answer."));
    assert!(started.elapsed() >= Duration::from_millis(10));
    assert_eq!(transport.requests().len(), 2);
}

#[test]
fn from_env_reads_the_documented_variables() {
    // Only checks the error when no key is set; the variables are process-wide, so a test that
    // sets them would race with the others. `Auth::from_env` has its precedence tests in
    // gemini-proto.
    if std::env::var("GOOGLE_API_KEY").is_err() && std::env::var("GEMINI_API_KEY").is_err() {
        let error = Client::from_env().unwrap_err();
        assert_eq!(error.kind(), gemini::ErrorKind::InvalidRequest);
        assert!(error.to_string().contains("GEMINI_API_KEY"));
    }
    assert_eq!(
        gemini::API_KEY_VARIABLES,
        ["GOOGLE_API_KEY", "GEMINI_API_KEY"]
    );
}

#[test]
fn a_key_that_cannot_be_a_header_is_refused_when_building() {
    let error = Client::new("line\nbreak").unwrap_err();
    assert_eq!(error.kind(), gemini::ErrorKind::InvalidRequest);
    assert!(!error.to_string().contains("line\nbreak"));
    let error = Client::builder()
        .api_key("k")
        .base_url("ftp://example.com")
        .build()
        .unwrap_err();
    assert_eq!(error.kind(), gemini::ErrorKind::InvalidRequest);
}
