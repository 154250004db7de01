//! The idle timeout measures the server's silence while the caller waits for data, on every
//! backend (plain HTTP/1.1, HTTP/1.1 over TLS, HTTP/2 over TLS) and on tokio and smol: a caller
//! that stops reading (backpressure) is never cut off by it, and a silent server is cut off
//! when the wait exceeds it.
#![cfg(all(feature = "tokio", feature = "smol"))]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use gemini_transport::{HttpTransport, Runtime, TimeoutKind, Timeouts};
use support::{BACKENDS, get};

const IDLE: Duration = Duration::from_millis(400);
/// How late after the deadline the timeout may fire on a loaded 2-core machine.
const SLACK: Duration = Duration::from_millis(300);

async fn caller_pauses_are_not_server_silence(rt: Runtime) {
    for backend in BACKENDS {
        // A frame every 10 ms, forever: the server is never silent.
        let server = backend.start(support::endless(
            "data: tick\n\n",
            Duration::from_millis(10),
            Arc::default(),
        ));
        let t = backend
            .client(rt, &server)
            .timeouts(Timeouts::default().idle(Some(IDLE)))
            .build()
            .unwrap();
        let resp = t.send(get(&backend.url(&server, "/"))).await.unwrap();
        assert_eq!(resp.version(), backend.version());
        let mut body = resp.into_body();
        let sleep = rt.sleeper();
        for pause in 0..2 {
            body.next_chunk().await.unwrap().unwrap();
            // The caller stops reading for 2.5 idle timeouts (a slow consumer).
            sleep.sleep(IDLE * 5 / 2).await;
            // Then reads on for another 2 idle timeouts without a false timeout.
            let until = Instant::now() + IDLE * 2;
            while Instant::now() < until {
                match body.next_chunk().await {
                    Some(Ok(_)) => {}
                    other => panic!("{backend:?}, after pause {pause}: {other:?}"),
                }
            }
        }
    }
}

/// A server sends one chunk and then nothing; the caller reads it, is busy elsewhere for
/// `pause`, then waits: the idle timeout fires when the wait (not the pause) exceeds it.
async fn silent_server_times_out(rt: Runtime, pause: Duration) {
    for backend in BACKENDS {
        let server = backend.start(support::first_then_silence("first"));
        let t = backend
            .client(rt, &server)
            .timeouts(Timeouts::default().idle(Some(IDLE)))
            .build()
            .unwrap();
        let mut body = t
            .send(get(&backend.url(&server, "/")))
            .await
            .unwrap()
            .into_body();
        assert_eq!(body.next_chunk().await.unwrap().unwrap(), "first");
        rt.sleeper().sleep(pause).await;
        let waited = Instant::now();
        let err = body.next_chunk().await.unwrap().unwrap_err();
        let waited = waited.elapsed();
        assert_eq!(
            err.timeout_kind(),
            Some(TimeoutKind::Idle),
            "{backend:?}: {err}"
        );
        assert!(
            waited >= IDLE && waited < IDLE + SLACK,
            "{backend:?}: fired after waiting {waited:?} (idle {IDLE:?}, pause {pause:?})"
        );
        assert!(body.next_chunk().await.is_none());
    }
}

async fn silent_server_times_out_when_the_wait_exceeds_it(rt: Runtime) {
    // The caller is busy for longer than the idle timeout first: that silence does not count.
    silent_server_times_out(rt, IDLE * 3 / 2).await;
}

async fn silent_server_times_out_without_caller_pauses(rt: Runtime) {
    silent_server_times_out(rt, Duration::ZERO).await;
}

on_both_runtimes!(
    caller_pauses_are_not_server_silence,
    silent_server_times_out_when_the_wait_exceeds_it,
    silent_server_times_out_without_caller_pauses,
);
