//! Every fault the emulator offers, through the facade, on tokio, smol, async-std and blocking:
//! the error kind, what is kept of the answer, whether the request was retried, and what became
//! of the connection. No fault may panic.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{KEY, MODEL, emulator, expected_text, fast_retries, on_every_runtime};
use gemini::transport::HyperTransport;
use gemini::types::FinishReason;
use gemini::{Client, ErrorKind, Runtime, Timeouts};
use gemini_emulator::Emulator;

const PROMPT: &str = "Tell me about lighthouses.";

/// What the test saw of one streamed call.
#[derive(Debug, Default)]
struct Observed {
    /// The error that refused the stream before it was established.
    refused: Option<gemini::Error>,
    texts: Vec<String>,
    /// The error that ended an established stream.
    broken: Option<gemini::Error>,
    finish: Option<FinishReason>,
    blocked: bool,
    elapsed: Duration,
}

/// How a case must end.
#[derive(Debug, Clone, Copy)]
enum Ends {
    /// The whole answer, the same as without the fault.
    Complete,
    /// An answer, but not the unfaulted one (the fault changes the content).
    Answer,
    /// Refused by an error response, with this kind and HTTP status: `send` fails.
    Refused(ErrorKind, Option<u16>),
    /// Accepted (HTTP 200), then failed before any chunk, on every attempt: the stream yields the
    /// error and nothing else.
    Empty(ErrorKind),
    /// Broke after `chunks` chunks with this kind; what arrived is kept and is a prefix of the
    /// answer (`None`: at least one chunk, however many).
    Broken(ErrorKind, Option<usize>),
}

struct Case {
    spec: &'static str,
    ends: Ends,
    /// Requests the emulator received.
    attempts: usize,
    /// The connection went back to the pool (rather than being closed).
    pooled: bool,
    idle_timeout: Option<Duration>,
    max_event_size: Option<usize>,
}

const fn case(spec: &'static str, ends: Ends, attempts: usize, pooled: bool) -> Case {
    Case {
        spec,
        ends,
        attempts,
        pooled,
        idle_timeout: None,
        max_event_size: None,
    }
}

use Ends::{Answer, Broken, Complete, Empty, Refused};

fn cases() -> Vec<Case> {
    vec![
        // HTTP errors: client errors are final, server errors retried until attempts run out.
        case("http=400", Refused(ErrorKind::Api, Some(400)), 1, true),
        case("http=403", Refused(ErrorKind::Api, Some(403)), 1, true),
        case("http=404", Refused(ErrorKind::Api, Some(404)), 1, true),
        case("http=500", Refused(ErrorKind::Api, Some(500)), 3, true),
        case("http=503", Refused(ErrorKind::Api, Some(503)), 3, true),
        case("http=429:50ms", Refused(ErrorKind::Api, Some(429)), 3, true),
        case("not-a-fault", Refused(ErrorKind::Api, Some(400)), 1, true),
        // Failures that go away.
        case("fail-first=2:503", Complete, 3, true),
        case("fail-first=1:500", Complete, 2, true),
        // Errors inside the stream: retried when nothing reached the caller, else final. The
        // call ends at the error, without waiting for the rest of the body: the connection is
        // closed rather than pooled.
        case("json-error-after=0", Empty(ErrorKind::Api), 3, false),
        case(
            "json-error-after=2:503",
            Broken(ErrorKind::Api, Some(2)),
            1,
            false,
        ),
        case("sse-error-after=0:503", Empty(ErrorKind::Api), 3, false),
        case(
            "sse-error-after=1",
            Broken(ErrorKind::Api, Some(1)),
            1,
            false,
        ),
        // Connections cut by the server.
        case(
            "close-after-events=0",
            Empty(ErrorKind::Connection),
            3,
            false,
        ),
        case(
            "close-after-events=2",
            Broken(ErrorKind::Connection, Some(2)),
            1,
            false,
        ),
        case(
            "close-after-events=2,reset",
            Broken(ErrorKind::Connection, Some(2)),
            1,
            false,
        ),
        case(
            "close-after-bytes=40",
            Empty(ErrorKind::Connection),
            3,
            false,
        ),
        case(
            "close-after-bytes=900",
            Broken(ErrorKind::Connection, None),
            1,
            false,
        ),
        // Pauses: within the idle timeout they are harmless; past it, a timeout.
        case("stall-after=1:100ms", Complete, 1, true),
        Case {
            idle_timeout: Some(Duration::from_millis(200)),
            ..case(
                "stall-after=1:2s",
                Broken(ErrorKind::Timeout, Some(1)),
                1,
                false,
            )
        },
        case("drip=1ms:97", Complete, 1, true),
        // Odd framing and writes change nothing.
        case("framing=lf", Complete, 1, true),
        case("framing=cr", Complete, 1, true),
        case("framing=crlf", Complete, 1, true),
        case("byte-writes", Complete, 1, true),
        // Large events: fine up to the limit, an error past it.
        case("oversized-event=1:300KiB", Answer, 1, true),
        Case {
            max_event_size: Some(100 * 1024),
            ..case(
                "oversized-event=1:300KiB",
                Broken(ErrorKind::TooLarge, Some(1)),
                1,
                false,
            )
        },
        // Garbage in the stream.
        case(
            "malformed-after=1",
            Broken(ErrorKind::Decode, Some(1)),
            1,
            false,
        ),
        case("malformed-after=0", Empty(ErrorKind::Decode), 1, false),
        // Answers that are data, not errors.
        case("block-prompt", Answer, 1, true),
        case("safety-after=1", Answer, 1, true),
        case("tokens=40", Answer, 1, true),
    ]
}

fn transport(blocking: bool) -> HyperTransport {
    let builder = HyperTransport::builder();
    let builder = if blocking {
        builder.runtime(Runtime::Smol)
    } else {
        builder
    };
    builder.build().unwrap()
}

fn configure(
    case: &Case,
    emulator: &Emulator,
    transport: &HyperTransport,
) -> gemini::ClientBuilder {
    let mut builder = Client::builder()
        .api_key(KEY)
        .base_url(emulator.base_url())
        .retry_policy(fast_retries())
        .transport(Arc::new(transport.clone()));
    if let Some(idle) = case.idle_timeout {
        builder = builder.timeouts(Timeouts::default().idle(Some(idle)));
    }
    if let Some(size) = case.max_event_size {
        builder = builder.max_event_size(size);
    }
    builder
}

async fn observe(client: &Client, spec: &str) -> Observed {
    let started = Instant::now();
    let mut seen = Observed::default();
    let model = format!("{MODEL}@{spec}");
    match client.models().generate_content_stream(model, PROMPT).await {
        Err(error) => seen.refused = Some(error),
        Ok(mut stream) => {
            while let Some(chunk) = stream.next().await {
                match chunk {
                    Ok(chunk) => seen
                        .texts
                        .push(chunk.text().unwrap_or_default().into_owned()),
                    Err(error) => seen.broken = Some(error),
                }
            }
            seen.finish = stream.snapshot().finish_reason().cloned();
            seen.blocked = stream.snapshot().block_reason().is_some();
        }
    }
    seen.elapsed = started.elapsed();
    seen
}

fn observe_blocking(client: &gemini::blocking::Client, spec: &str) -> Observed {
    let started = Instant::now();
    let mut seen = Observed::default();
    let model = format!("{MODEL}@{spec}");
    match client
        .models()
        .generate_content_stream(model, PROMPT)
        .send()
    {
        Err(error) => seen.refused = Some(error),
        Ok(mut stream) => {
            for chunk in stream.by_ref() {
                match chunk {
                    Ok(chunk) => seen
                        .texts
                        .push(chunk.text().unwrap_or_default().into_owned()),
                    Err(error) => seen.broken = Some(error),
                }
            }
            seen.finish = stream.snapshot().finish_reason().cloned();
            seen.blocked = stream.snapshot().block_reason().is_some();
        }
    }
    seen.elapsed = started.elapsed();
    seen
}

fn check(
    case: &Case,
    runtime: &str,
    seen: &Observed,
    emulator: &Emulator,
    idle: usize,
    expected: &str,
) {
    let what = format!("{runtime} {}: {seen:?}", case.spec);
    let text = seen.texts.concat();
    match case.ends {
        Complete => {
            assert!(seen.refused.is_none() && seen.broken.is_none(), "{what}");
            assert_eq!(text, expected, "{what}");
            assert_eq!(seen.finish, Some(FinishReason::Stop), "{what}");
        }
        Answer => {
            assert!(seen.refused.is_none() && seen.broken.is_none(), "{what}");
        }
        Refused(kind, status) => {
            let error = seen
                .refused
                .as_ref()
                .unwrap_or_else(|| panic!("refused: {what}"));
            assert_eq!(error.kind(), kind, "{what}");
            assert_eq!(error.http_status().map(|s| s.as_u16()), status, "{what}");
            assert_eq!(error.attempts() as usize, case.attempts, "{what}");
            assert!(error.partial_response().is_none(), "{what}");
            let line = error.to_string();
            assert!(!line.contains('\n') && !line.is_empty(), "{what}");
        }
        Empty(kind) => {
            assert!(seen.refused.is_none(), "{what}");
            let error = seen
                .broken
                .as_ref()
                .unwrap_or_else(|| panic!("empty: {what}"));
            assert_eq!(error.kind(), kind, "{what}");
            assert!(seen.texts.is_empty(), "{what}");
            assert!(error.partial_response().is_none(), "{what}");
            assert_eq!(error.attempts() as usize, case.attempts, "{what}");
        }
        Broken(kind, chunks) => {
            let error = seen
                .broken
                .as_ref()
                .unwrap_or_else(|| panic!("broken: {what}"));
            assert_eq!(error.kind(), kind, "{what}");
            match chunks {
                Some(n) => assert_eq!(seen.texts.len(), n, "{what}"),
                None => assert!(!seen.texts.is_empty(), "{what}"),
            }
            // What arrived is kept, in the error and in the snapshot, and is the answer's start.
            let partial = error.partial_response().expect("the partial answer").text();
            assert_eq!(partial.as_deref().unwrap_or(""), text, "{what}");
            if kind != ErrorKind::TooLarge {
                assert!(expected.starts_with(&text), "{what}");
            }
            assert_eq!(error.attempts(), 1, "{what}");
        }
    }
    assert_eq!(emulator.requests().len(), case.attempts, "{what}");
    assert_eq!(idle, usize::from(case.pooled), "pooled connections, {what}");
}

/// Extra checks of particular cases.
fn check_details(case: &Case, seen: &Observed) {
    match case.spec {
        // The server's RetryInfo (50 ms) replaced the 10 ms backoff, twice.
        "http=429:50ms" => {
            assert!(seen.elapsed >= Duration::from_millis(100), "{seen:?}");
            let error = seen.refused.as_ref().unwrap();
            assert_eq!(error.retry_delay(), Some(Duration::from_millis(50)));
            assert!(error.to_string().contains("retry after 50ms"), "{error}");
        }
        "block-prompt" => {
            assert!(seen.blocked);
            assert_eq!(seen.texts.concat(), "");
        }
        "safety-after=1" => assert_eq!(seen.finish, Some(FinishReason::Safety)),
        "oversized-event=1:300KiB" if case.max_event_size.is_none() => {
            assert!(seen.texts.concat().len() > 300 * 1000);
        }
        "stall-after=1:2s" => assert!(seen.elapsed < Duration::from_millis(1500), "{seen:?}"),
        _ => {}
    }
}

#[test]
fn every_fault_on_every_async_runtime() {
    on_every_runtime(|runtime| async move {
        let emulator = emulator();
        let expected = expected_text(&emulator, MODEL, PROMPT);
        for case in cases() {
            emulator.clear_requests();
            let transport = transport(false);
            let client = configure(&case, &emulator, &transport).build().unwrap();
            let seen = observe(&client, case.spec).await;
            check(
                &case,
                runtime,
                &seen,
                &emulator,
                transport.idle_connections(),
                &expected,
            );
            check_details(&case, &seen);
            // The client is still good after any fault.
            let answer = client
                .models()
                .generate_content(MODEL, PROMPT)
                .await
                .unwrap();
            assert_eq!(answer.text().as_deref(), Some(expected.as_str()));
        }
    });
}

#[test]
fn every_fault_blocking() {
    let emulator = emulator();
    let expected = expected_text(&emulator, MODEL, PROMPT);
    for case in cases() {
        emulator.clear_requests();
        let transport = transport(true);
        let mut builder = gemini::blocking::Client::builder()
            .api_key(KEY)
            .base_url(emulator.base_url())
            .retry_policy(fast_retries())
            .transport(Arc::new(transport.clone()));
        if let Some(idle) = case.idle_timeout {
            builder = builder.timeouts(Timeouts::default().idle(Some(idle)));
        }
        if let Some(size) = case.max_event_size {
            builder = builder.max_event_size(size);
        }
        let client = builder.build().unwrap();
        let seen = observe_blocking(&client, case.spec);
        check(
            &case,
            "blocking",
            &seen,
            &emulator,
            transport.idle_connections(),
            &expected,
        );
        check_details(&case, &seen);
    }
}

#[test]
fn a_dropped_stream_closes_its_connection_promptly() {
    let emulator = emulator();
    let transport = transport(false);
    let client = Client::builder()
        .api_key(KEY)
        .base_url(emulator.base_url())
        .transport(Arc::new(transport.clone()))
        .build()
        .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        // 40 ms between writes: the server is still streaming when the stream is dropped.
        let mut stream = client
            .models()
            .generate_content_stream(format!("{MODEL}@drip=40ms:50"), PROMPT)
            .await
            .unwrap();
        stream.next().await.unwrap().unwrap();
        assert_eq!(emulator.stats().active_streams, 1);
        drop(stream);
        // The server notices the closed connection at its next write.
        let deadline = Instant::now() + Duration::from_secs(5);
        while emulator.stats().active_streams > 0 {
            assert!(Instant::now() < deadline, "the stream was not closed");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(transport.idle_connections(), 0, "never pooled mid-body");
    });
}

#[test]
fn an_abort_handle_stops_a_stream_from_another_task() {
    let emulator = emulator();
    let client = common::client(&emulator);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut stream = client
            .models()
            .generate_content_stream(format!("{MODEL}@stall-after=1:30s"), PROMPT)
            .await
            .unwrap();
        let first = stream
            .next()
            .await
            .unwrap()
            .unwrap()
            .text()
            .unwrap()
            .into_owned();
        let abort = stream.abort_handle();
        let started = Instant::now();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            abort.abort();
        });
        // The stream is waiting on a server that stalls for 30 s; the abort ends it now.
        let error = stream.next().await.unwrap().unwrap_err();
        assert!(error.is_cancelled(), "{error}");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(
            error.partial_response().unwrap().text().as_deref(),
            Some(first.as_str())
        );
        assert!(stream.next().await.is_none());
        assert_eq!(stream.snapshot().text().as_deref(), Some(first.as_str()));
    });
    // The same from a plain thread, on a blocking stream.
    let client = common::blocking_client(&emulator);
    let mut stream = client
        .models()
        .generate_content_stream(format!("{MODEL}@stall-after=1:30s"), PROMPT)
        .send()
        .unwrap();
    stream.next().unwrap().unwrap();
    let abort = stream.abort_handle();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        abort.abort();
    });
    let error = stream.next().unwrap().unwrap_err();
    assert!(error.is_cancelled());
    stopper.join().unwrap();
}

#[test]
fn final_response_keeps_the_error_and_what_arrived() {
    let emulator = emulator();
    let client = common::client(&emulator);
    smol::block_on(async {
        let stream = client
            .models()
            .generate_content_stream(format!("{MODEL}@close-after-events=3"), PROMPT)
            .await
            .unwrap();
        let error = stream.final_response().await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Connection);
        let partial = error.partial_response().unwrap();
        assert!(!partial.text().unwrap().is_empty());
        assert!(partial.finish_reason().is_none());

        // After next() handed the error out, final_response still reports it.
        let mut stream = client
            .models()
            .generate_content_stream(format!("{MODEL}@close-after-events=1"), PROMPT)
            .await
            .unwrap();
        while let Some(item) = stream.next().await {
            if item.is_err() {
                break;
            }
        }
        let again = stream.final_response().await.unwrap_err();
        assert_eq!(again.kind(), ErrorKind::Connection);
    });
}
