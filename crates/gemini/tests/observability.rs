//! What the client shows of itself: `tracing` spans, error lines, `Debug` output — and that the
//! API key is in none of them.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{MODEL, emulator};
use gemini::Client;
use gemini_emulator::{Emulator, EmulatorConfig, KeyRule};
use tracing_subscriber::fmt::MakeWriter;

const SECRET: &str = "AIzaSy-very-secret-key-0123456789";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// The tests of this file run one at a time: `tracing` caches per call site whether anyone
/// listens, and a call site first reached on a thread without a subscriber while another thread
/// installs one can stay silent for that other thread.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `f` with every `tracing` event and span, at every level, written to the returned log.
fn logged(f: impl FnOnce()) -> String {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    captured.text()
}

#[test]
fn the_key_is_in_no_log_line_error_or_debug_output() {
    let _serial = serial();
    let emulator =
        Emulator::start_blocking(EmulatorConfig::default().keys(KeyRule::only([SECRET]))).unwrap();
    let mut shown = Vec::<String>::new();
    let log = logged(|| {
        let client = Client::builder()
            .api_key(SECRET)
            .base_url(emulator.base_url())
            .header("x-goog-user-project", "p")
            .retry_policy(common::fast_retries())
            .log_content(true)
            .build()
            .unwrap();
        shown.push(format!("{client:?}"));
        shown.push(format!("{:?}", Client::builder().api_key(SECRET)));
        smol::block_on(async {
            // Success, streamed and unary, and a chat.
            let mut stream = client
                .models()
                .generate_content_stream(MODEL, "Hello")
                .await
                .unwrap();
            shown.push(format!("{stream:?}"));
            while let Some(chunk) = stream.next().await {
                shown.push(format!("{:?}", chunk.unwrap()));
            }
            client
                .models()
                .generate_content(MODEL, "Hello")
                .await
                .unwrap();
            let mut chat = client.chats().create(MODEL);
            chat.send_message("Hi").await.unwrap();
            shown.push(format!("{chat:?}"));
            // Failures of every sort: refused, retried, broken mid-stream.
            for spec in [
                "http=400",
                "http=503",
                "close-after-events=1",
                "malformed-after=0",
            ] {
                let result = client
                    .models()
                    .generate_content_stream(format!("{MODEL}@{spec}"), "Hello")
                    .await;
                match result {
                    Err(error) => shown.extend([error.to_string(), format!("{error:?}")]),
                    Ok(stream) => {
                        let error = stream.final_response().await.unwrap_err();
                        shown.extend([error.to_string(), format!("{error:?}")]);
                    }
                }
            }
        });
        // A wrong key: the server's refusal is shown, never the key that was sent.
        let wrong = Client::builder()
            .api_key("AIzaSy-another-secret-42")
            .base_url(emulator.base_url())
            .build()
            .unwrap();
        let error =
            smol::block_on(wrong.models().generate_content(MODEL, "Hi").send()).unwrap_err();
        assert_eq!(error.api_error().unwrap().reason(), Some("API_KEY_INVALID"));
        shown.extend([error.to_string(), format!("{error:?}")]);
        assert!(!shown.iter().any(|s| s.contains("AIzaSy-another-secret-42")));
    });
    assert!(log.contains("gemini.call"), "{log}");
    assert!(log.contains("status=503"), "the retries are logged: {log}");
    assert!(log.contains("retrying after a failed attempt"), "{log}");
    assert!(!log.contains(SECRET), "the key is in the log:\n{log}");
    for text in &shown {
        assert!(!text.contains(SECRET), "the key is shown: {text}");
    }
    // The requests did carry it.
    assert!(
        emulator
            .requests()
            .iter()
            .any(|r| r.header("x-goog-api-key") == Some(SECRET))
    );
}

#[test]
fn spans_carry_the_call_without_content_unless_asked() {
    let _serial = serial();
    let emulator = emulator();
    for log_content in [false, true] {
        let log = logged(|| {
            let client = Client::builder()
                .api_key(common::KEY)
                .base_url(emulator.base_url())
                .log_content(log_content)
                .build()
                .unwrap();
            let answer = smol::block_on(async {
                client
                    .models()
                    .generate_content_stream(MODEL, "What is a lighthouse?")
                    .await
                    .unwrap()
                    .final_response()
                    .await
                    .unwrap()
            });
            let usage = answer.usage().unwrap();
            assert!(usage.total_token_count.unwrap() > 0);
        });
        let close = log
            .lines()
            .find(|line| line.contains("gemini.call") && line.contains("close"))
            .unwrap_or_else(|| panic!("no closed span: {log}"));
        for field in [
            "endpoint=\"streamGenerateContent\"",
            "model=\"gemini-2.5-flash\"",
            "attempts=1",
            "status=200",
            "time_to_first_chunk_ms=",
            "chunks=",
            "prompt_tokens=",
            "total_tokens=",
        ] {
            assert!(close.contains(field), "{field} missing in {close}");
        }
        // The emulator's answers begin by quoting the question.
        assert_eq!(log.contains("You asked"), log_content, "{log}");
    }
}

#[test]
fn errors_are_one_line_for_people() {
    let _serial = serial();
    let emulator = emulator();
    let client = common::client(&emulator);
    smol::block_on(async {
        let not_found = client
            .models()
            .generate_content("no-such-model", "Hi")
            .await
            .unwrap_err();
        assert_eq!(
            not_found.to_string(),
            "the API returned an error: 404 NOT_FOUND: models/no-such-model is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods."
        );
        let quota = client
            .models()
            .generate_content(format!("{MODEL}@http=429:20ms"), "Hi")
            .await
            .unwrap_err();
        let line = quota.to_string();
        assert!(
            line.starts_with("the API returned an error: 429 RESOURCE_EXHAUSTED: "),
            "{line}"
        );
        assert!(
            line.ends_with("(retry after 20ms; gave up after 3 attempts)"),
            "{line}"
        );
        let cut = client
            .models()
            .generate_content_stream(format!("{MODEL}@close-after-events=1"), "Hi")
            .await
            .unwrap()
            .final_response()
            .await
            .unwrap_err();
        assert!(
            cut.to_string()
                .starts_with("the connection failed: connection closed mid-body"),
            "{cut}"
        );
        for error in [not_found, quota, cut] {
            assert!(!error.to_string().contains('\n'));
        }
    });
}
