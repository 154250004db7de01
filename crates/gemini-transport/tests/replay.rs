//! `ReplayTransport`: fixtures written by `RecordingTransport` played back, chunk boundaries,
//! headers and errors included, with any API key.
#![cfg(feature = "test-util")]

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use gemini_transport::test_util::{
    FixtureError, Match, RecordedExchange, RecordingTransport, ReplayTransport, Reply,
    ScriptedTransport,
};
use gemini_transport::{ErrorKind, HttpTransport, ResponseBody, TimeoutKind, TransportError};

fn block_on<F: Future>(f: F) -> F::Output {
    futures_lite::future::block_on(f)
}

const REAL_KEY: &str = "AIzaSy-real-secret-key";
const OTHER_KEY: &str = "AIzaSy-some-other-key";
const STREAM: &str = "/v1beta/models/gemini-2.5-flash:streamGenerateContent";

fn stream_request(key: &str, body: &str) -> http::Request<Bytes> {
    http::Request::post(format!(
        "https://generativelanguage.googleapis.com{STREAM}?alt=sse"
    ))
    .header("x-goog-api-key", key)
    .header("content-type", "application/json")
    .body(Bytes::from(body.to_owned()))
    .unwrap()
}

fn get(uri: &str) -> http::Request<Bytes> {
    http::Request::get(uri).body(Bytes::new()).unwrap()
}

/// Every chunk of `body`, and the error that ended it, if any.
async fn drain(mut body: ResponseBody) -> (Vec<Bytes>, Option<TransportError>) {
    let mut chunks = Vec::new();
    while let Some(item) = body.next_chunk().await {
        match item {
            Ok(chunk) => chunks.push(chunk),
            Err(e) => return (chunks, Some(e)),
        }
    }
    (chunks, None)
}

/// What a test observes of one exchange.
#[derive(Debug, PartialEq)]
struct Seen {
    status: u16,
    headers: Vec<(String, Vec<u8>)>,
    chunks: Vec<Bytes>,
    error: Option<(ErrorKind, String)>,
}

async fn observe(
    t: &dyn HttpTransport,
    request: http::Request<Bytes>,
) -> Result<Seen, (ErrorKind, String)> {
    let response = t
        .send(request)
        .await
        .map_err(|e| (e.kind(), e.to_string()))?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.as_bytes().to_vec()))
        .collect();
    let (chunks, error) = drain(response.into_body()).await;
    Ok(Seen {
        status,
        headers,
        chunks,
        error: error.map(|e| (e.kind(), e.to_string())),
    })
}

fn sse_server() -> ScriptedTransport {
    ScriptedTransport::new().on(
        Match::post().path(STREAM).query("alt", "sse"),
        Reply::ok()
            .header("content-type", "text/event-stream")
            .header("vary", "Origin")
            .header("vary", "X-Origin")
            .header("set-cookie", "NID=secret-cookie")
            .header("x-custom", "1")
            .body("data: {\"a\":1}\r\n\r\ndata: {\"a\":2}\r\n\r\ndata: {\"a\":3}\r\n\r\n")
            .split_at([1, 7, 17, 18, 40]),
    )
}

#[test]
fn round_trip_keeps_status_headers_and_chunk_boundaries_with_any_key() {
    let recorder = RecordingTransport::new(Arc::new(sse_server()));
    let original = block_on(observe(&recorder, stream_request(REAL_KEY, "{\"q\":1}"))).unwrap();
    assert_eq!(original.chunks.len(), 6);
    let json = recorder.to_json();
    for secret in [REAL_KEY, "secret-cookie"] {
        assert!(!json.contains(secret), "{secret} leaked into {json}");
    }

    let replay = ReplayTransport::from_json(&json).unwrap();
    // Replayed through a recorder too: the new fixture must equal the original one.
    let rerecorder = RecordingTransport::new(Arc::new(replay.clone()));
    let replayed = block_on(observe(&rerecorder, stream_request(OTHER_KEY, "{\"q\":1}"))).unwrap();

    assert_eq!(replayed.status, 200);
    assert_eq!(replayed.chunks, original.chunks, "chunk boundaries differ");
    // Headers in order, duplicates included; the cookie only as scrubbed.
    let mut expected_headers = original.headers.clone();
    for (name, value) in &mut expected_headers {
        if name == "set-cookie" {
            *value = b"REDACTED".to_vec();
        }
    }
    assert_eq!(replayed.headers, expected_headers);
    assert_eq!(
        replayed
            .headers
            .iter()
            .filter(|(k, _)| k == "vary")
            .map(|(_, v)| v.as_slice())
            .collect::<Vec<_>>(),
        [b"Origin".as_slice(), b"X-Origin".as_slice()]
    );
    assert_eq!(replayed.error, None);
    assert_eq!(rerecorder.to_json(), json);

    assert!(replay.remaining().is_empty());
    let requests = replay.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].headers["x-goog-api-key"], OTHER_KEY);
    assert_eq!(requests[0].body, "{\"q\":1}");
}

#[test]
fn key_in_the_query_is_scrubbed_before_matching() {
    let server = ScriptedTransport::new().on(Match::get(), Reply::ok().body("models"));
    let recorder = RecordingTransport::new(Arc::new(server));
    let uri = |key: &str| format!("https://h/v1beta/models?key={key}&pageSize=5");
    block_on(observe(&recorder, get(&uri(REAL_KEY)))).unwrap();
    let json = recorder.to_json();
    assert!(!json.contains(REAL_KEY));
    assert!(json.contains("key=REDACTED&pageSize=5"));

    let replay = ReplayTransport::from_json(&json).unwrap();
    let seen = block_on(observe(&replay, get(&uri(OTHER_KEY)))).unwrap();
    assert_eq!(seen.chunks, ["models"]);
    // Other query parameters still have to match.
    let (kind, message) = block_on(observe(
        &replay,
        get("https://h/v1beta/models?key=x&pageSize=6"),
    ))
    .unwrap_err();
    assert_eq!(kind, ErrorKind::InvalidRequest);
    assert!(
        message.contains("GET https://h/v1beta/models?key=REDACTED&pageSize=6"),
        "{message}"
    );
}

#[test]
fn unmatched_request_names_method_and_scrubbed_uri() {
    let replay = ReplayTransport::from_json(
        r#"[{"method": "GET", "uri": "https://h/a?key=REDACTED", "status": 200}]"#,
    )
    .unwrap();
    // Wrong method on a recorded URI.
    let request = http::Request::post(format!("https://h/a?key={REAL_KEY}"))
        .body(Bytes::new())
        .unwrap();
    let err = block_on(replay.send(request)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    let message = err.to_string();
    assert!(
        message.contains("POST https://h/a?key=REDACTED"),
        "{message}"
    );
    assert!(!message.contains(REAL_KEY), "{message}");
    // The unused exchanges are listed to help find the mismatch.
    assert!(
        message.contains("1 unused: GET https://h/a?key=REDACTED"),
        "{message}"
    );
    // Unknown path.
    let err = block_on(replay.send(get("https://h/b"))).unwrap_err();
    assert!(err.to_string().contains("GET https://h/b"), "{err}");
    // Nothing was consumed by the failures; both failed requests are recorded.
    assert_eq!(replay.remaining().len(), 1);
    assert_eq!(replay.requests().len(), 2);
    assert_eq!(
        block_on(replay.send(get("https://h/a?key=k")))
            .unwrap()
            .status(),
        200
    );
    assert!(replay.remaining().is_empty());
    let err = block_on(replay.send(get("https://h/a?key=k"))).unwrap_err();
    assert!(
        err.to_string()
            .contains("all 1 recorded exchanges are used"),
        "{err}"
    );
}

#[test]
fn send_errors_replay_with_their_kind_and_text() {
    let server = ScriptedTransport::new()
        .once(
            Match::any(),
            Reply::error(ErrorKind::Connect, "tcp connect: refused"),
        )
        .once(
            Match::any(),
            Reply::error(
                ErrorKind::Timeout(TimeoutKind::ResponseHeaders),
                "no head for 600s",
            ),
        )
        .once(
            Match::any(),
            Reply::error(ErrorKind::Other, "custom transport broke"),
        );
    let recorder = RecordingTransport::new(Arc::new(server));
    let mut originals = Vec::new();
    for _ in 0..3 {
        originals.push(block_on(recorder.send(get("https://h/x"))).unwrap_err());
    }
    let replay = ReplayTransport::from_json(&recorder.to_json()).unwrap();
    for original in originals {
        let replayed = block_on(replay.send(get("https://h/x"))).unwrap_err();
        assert_eq!(replayed.kind(), original.kind());
        assert_eq!(replayed.to_string(), original.to_string());
    }
    let replayed = block_on(replay.send(get("https://h/x")));
    assert!(replayed.is_err());
    assert_eq!(replayed.unwrap_err().kind(), ErrorKind::InvalidRequest);
}

#[test]
fn body_errors_replay_chunks_then_the_error() {
    let server = ScriptedTransport::new()
        .once(
            Match::any(),
            Reply::ok()
                .body("data: 1\n\ndata: 2")
                .split_at([9])
                .end_with_error(ErrorKind::ClosedMidBody, "stream reset by peer"),
        )
        .once(
            Match::any(),
            Reply::ok()
                .body("data: 1\n\n")
                .end_with_error(ErrorKind::Timeout(TimeoutKind::Idle), "no frame for 300s"),
        );
    let recorder = RecordingTransport::new(Arc::new(server));
    let first = block_on(observe(&recorder, get("https://h/s"))).unwrap();
    let second = block_on(observe(&recorder, get("https://h/s"))).unwrap();
    assert_eq!(
        first.error,
        Some((
            ErrorKind::ClosedMidBody,
            "connection closed mid-body: stream reset by peer".to_owned()
        ))
    );

    let replay = ReplayTransport::from_json(&recorder.to_json()).unwrap();
    let replayed = block_on(observe(&replay, get("https://h/s"))).unwrap();
    assert_eq!(replayed, first);
    assert_eq!(replayed.chunks, ["data: 1\n\n", "data: 2"]);
    // The recorded text names the kind, so the idle timeout comes back as one.
    let replayed = block_on(observe(&replay, get("https://h/s"))).unwrap();
    assert_eq!(replayed, second);
    assert_eq!(
        replayed.error.unwrap().0,
        ErrorKind::Timeout(TimeoutKind::Idle)
    );
}

#[test]
fn hand_written_error_texts_fall_back_to_documented_kinds() {
    let replay = ReplayTransport::from_json(
        r#"[
            {"method": "GET", "uri": "https://h/send", "status": null, "error": "boom"},
            {"method": "GET", "uri": "https://h/body", "status": 200,
             "chunks": [{"text": "ab"}], "error": "cut short"}
        ]"#,
    )
    .unwrap();
    let err = block_on(replay.send(get("https://h/send"))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Other);
    assert_eq!(err.to_string(), "transport error: boom");
    let seen = block_on(observe(&replay, get("https://h/body"))).unwrap();
    assert_eq!(seen.chunks, ["ab"]);
    assert_eq!(
        seen.error,
        Some((
            ErrorKind::ClosedMidBody,
            "connection closed mid-body: cut short".to_owned()
        ))
    );
}

#[test]
fn abandoned_bodies_replay_what_arrived_then_closed_mid_body() {
    let server =
        ScriptedTransport::new().on(Match::any(), Reply::ok().body("abcdef").split_at([2, 4]));
    let recorder = RecordingTransport::new(Arc::new(server));
    let mut body = block_on(recorder.send(get("https://h/")))
        .unwrap()
        .into_body();
    assert_eq!(block_on(body.next_chunk()).unwrap().unwrap(), "ab");
    drop(body);
    let json = recorder.to_json();
    assert!(json.contains("\"error\": \"abandoned\""), "{json}");

    let replay = ReplayTransport::from_json(&json).unwrap();
    let (chunks, error) =
        block_on(async { drain(replay.send(get("https://h/")).await.unwrap().into_body()).await });
    assert_eq!(chunks, ["ab"]);
    let error = error.expect("an abandoned body must not end cleanly");
    assert!(error.is_closed_mid_body());
    assert!(error.to_string().contains("abandoned"), "{error}");
}

#[test]
fn non_utf8_bodies_round_trip_as_base64() {
    let response: Vec<u8> = (0..=255u8).rev().collect();
    let request_body = Bytes::from_static(&[0xc3, 0x28, 0x00, 0xff]);
    let server = ScriptedTransport::new().on(
        Match::any(),
        Reply::ok()
            .header("content-type", "application/octet-stream")
            .body(response.clone())
            .split_at([1, 100, 200]),
    );
    let recorder = RecordingTransport::new(Arc::new(server));
    let request = || {
        http::Request::put("https://h/upload")
            .body(request_body.clone())
            .unwrap()
    };
    let original = block_on(observe(&recorder, request())).unwrap();
    let json = recorder.to_json();
    // Each body is stored on its own: the request body and the first three chunks are not
    // UTF-8, the last chunk (bytes 55 down to 0) is.
    assert_eq!(json.matches("\"base64\"").count(), 4, "{json}");
    assert_eq!(json.matches("\"text\"").count(), 1, "{json}");

    let replay = ReplayTransport::from_json(&json).unwrap();
    let replayed = block_on(observe(&replay, request())).unwrap();
    assert_eq!(replayed, original);
    assert_eq!(replayed.chunks.concat(), response);
    assert_eq!(replayed.chunks.len(), 4);
    // The request body is read back too.
    let left = ReplayTransport::from_json(&json).unwrap().remaining();
    assert_eq!(left[0].request_body, request_body);
}

#[test]
fn identical_requests_consume_identical_exchanges_in_order() {
    let server = ScriptedTransport::new()
        .once(Match::any(), Reply::status(503).body("busy 1"))
        .once(
            Match::any(),
            Reply::status(429)
                .header("retry-after", "1")
                .body("slow down"),
        )
        .on(Match::any(), Reply::ok().body("done"));
    let recorder = RecordingTransport::new(Arc::new(server));
    let mut originals = Vec::new();
    for _ in 0..3 {
        originals.push(block_on(observe(&recorder, stream_request(REAL_KEY, "{}"))).unwrap());
    }

    let replay = ReplayTransport::from_json(&recorder.to_json()).unwrap();
    let statuses: Vec<u16> = (0..3)
        .map(|_| {
            let seen = block_on(observe(&replay, stream_request(OTHER_KEY, "{}"))).unwrap();
            seen.status
        })
        .collect();
    assert_eq!(statuses, [503, 429, 200]);
    assert!(replay.remaining().is_empty());
    assert!(block_on(replay.send(stream_request(OTHER_KEY, "{}"))).is_err());

    // Same again, comparing everything.
    let replay = ReplayTransport::from_exchanges(recorder.exchanges());
    for original in &originals {
        assert_eq!(
            &block_on(observe(&replay, stream_request(OTHER_KEY, "{}"))).unwrap(),
            original
        );
    }
}

#[test]
fn matching_skips_used_and_other_exchanges_unless_in_order() {
    let json = r#"[
        {"method": "GET", "uri": "https://h/a", "status": 200, "chunks": [{"text": "a1"}]},
        {"method": "GET", "uri": "https://h/b", "status": 200, "chunks": [{"text": "b"}]},
        {"method": "GET", "uri": "https://h/a", "status": 200, "chunks": [{"text": "a2"}]}
    ]"#;
    let body = |t: &ReplayTransport, uri: &str| {
        block_on(async { t.send(get(uri)).await?.into_body().collect().await })
    };

    let any_order = ReplayTransport::from_json(json).unwrap();
    assert_eq!(body(&any_order, "https://h/a").unwrap(), "a1");
    assert_eq!(body(&any_order, "https://h/a").unwrap(), "a2");
    assert_eq!(any_order.remaining()[0].uri, "https://h/b");
    assert_eq!(body(&any_order, "https://h/b").unwrap(), "b");

    let in_order = ReplayTransport::from_json(json).unwrap().in_order();
    assert_eq!(body(&in_order, "https://h/a").unwrap(), "a1");
    let err = body(&in_order, "https://h/a").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    let message = err.to_string();
    assert!(message.contains("(#1) is GET https://h/b"), "{message}");
    assert!(message.contains("not GET https://h/a"), "{message}");
    assert_eq!(in_order.remaining().len(), 2);
    assert_eq!(body(&in_order, "https://h/b").unwrap(), "b");
    assert_eq!(body(&in_order, "https://h/a").unwrap(), "a2");
    assert!(in_order.remaining().is_empty());
}

#[test]
fn hand_written_uris_are_normalised_like_requests() {
    // `https://h` is sent as `https://h/`; a real key in a hand-written fixture still matches.
    let replay = ReplayTransport::from_json(
        r#"[
            {"method": "GET", "uri": "https://h", "status": 204},
            {"method": "GET", "uri": "https://h/m?key=AIza-pasted-by-hand", "status": 204}
        ]"#,
    )
    .unwrap();
    assert_eq!(
        block_on(replay.send(get("https://h/"))).unwrap().status(),
        204
    );
    assert_eq!(
        block_on(replay.send(get("https://h/m?key=x")))
            .unwrap()
            .status(),
        204
    );
    assert!(replay.remaining().is_empty());
}

#[test]
fn malformed_fixtures_are_errors_not_panics() {
    let cases: &[(&str, Option<usize>, &str)] = &[
        ("", None, "invalid replay fixture"),
        ("{not json", None, "invalid replay fixture"),
        (r#"{"method": "GET"}"#, None, "invalid replay fixture"),
        (r#"[{"uri": "https://h/"}]"#, None, "missing field `method`"),
        (
            r#"[{"method": "GET", "uri": "https://h/", "status": 200, "extra": 1}]"#,
            None,
            "unknown field `extra`",
        ),
        (
            r#"[{"method": "GET", "uri": "https://h/", "status": 70000}]"#,
            None,
            "invalid replay fixture",
        ),
        (
            r#"[{"method": "GET", "uri": "https://h/", "status": 42}]"#,
            Some(0),
            "invalid status code 42",
        ),
        (
            r#"[{"method": "GET", "uri": "https://h/", "status": null}]"#,
            Some(0),
            "no \"error\"",
        ),
        (
            r#"[{"method": "G T", "uri": "https://h/", "status": 200}]"#,
            Some(0),
            "invalid method",
        ),
        (
            r#"[{"method": "GET", "uri": "https://h/ x", "status": 200}]"#,
            Some(0),
            "invalid uri",
        ),
        (
            r#"[{"method": "GET", "uri": "https://h/", "status": 200},
                {"method": "GET", "uri": "https://h/", "status": 200, "response_headers": [["bad name", "v"]]}]"#,
            Some(1),
            "invalid response header name",
        ),
        (
            r#"[{"method": "GET", "uri": "https://h/", "status": 200, "response_headers": [["x", "a\nb"]]}]"#,
            Some(0),
            "invalid value of response header x",
        ),
        (
            r#"[{"method": "GET", "uri": "https://h/", "status": 200, "response_headers": [["x"]]}]"#,
            None,
            "invalid replay fixture",
        ),
        (
            r#"[{"method": "GET", "uri": "https://h/", "status": 200, "chunks": [{"base64": "!!"}]}]"#,
            Some(0),
            "chunks[0]: invalid base64",
        ),
        (
            r#"[{"method": "GET", "uri": "https://h/", "status": 200, "chunks": [{"text": "a"}, {"text": "a", "base64": "YQ=="}]}]"#,
            Some(0),
            "chunks[1]: a body has both",
        ),
        (
            r#"[{"method": "GET", "uri": "https://h/", "status": 200, "request_body": {}}]"#,
            Some(0),
            "request_body: a body has neither",
        ),
        (
            r#"[{"method": "GET", "uri": "https://h/", "status": 200, "chunks": [{"txt": "a"}]}]"#,
            None,
            "unknown field `txt`",
        ),
    ];
    for (json, index, needle) in cases {
        let result = std::panic::catch_unwind(|| ReplayTransport::from_json(json));
        let err: FixtureError = result
            .unwrap_or_else(|_| panic!("from_json panicked on {json}"))
            .expect_err(json);
        let message = err.to_string();
        assert!(
            message.contains(needle),
            "{json}: {message:?} lacks {needle:?}"
        );
        assert_eq!(err.exchange_index(), *index, "{json}: {message}");
        if let Some(i) = index {
            assert!(message.starts_with(&format!("exchange {i}: ")), "{message}");
        }
    }
    // The JSON error is kept as the source.
    let err = ReplayTransport::from_json("[").unwrap_err();
    assert!(std::error::Error::source(&err).is_some());
    // An empty fixture is valid and answers nothing.
    let empty = ReplayTransport::from_json("[]").unwrap();
    assert!(empty.remaining().is_empty());
}

#[test]
fn load_reads_saved_fixtures_and_reports_bad_files() {
    let recorder = RecordingTransport::new(Arc::new(sse_server()));
    let original = block_on(observe(&recorder, stream_request(REAL_KEY, "{}"))).unwrap();
    let dir = std::env::temp_dir();
    let path = dir.join(format!(
        "gemini-transport-replay-{}.json",
        std::process::id()
    ));
    recorder.save(&path).unwrap();
    let loaded = ReplayTransport::load(&path);
    std::fs::write(&path, "[{\"method\": 1}]").unwrap();
    let bad = ReplayTransport::load(&path);
    std::fs::remove_file(&path).unwrap();

    let replay = loaded.unwrap();
    let replayed = block_on(observe(&replay, stream_request(OTHER_KEY, "{}"))).unwrap();
    assert_eq!(replayed.chunks, original.chunks);
    assert_eq!(replayed.status, original.status);

    let err = bad.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    let inner = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<FixtureError>())
        .unwrap();
    assert_eq!(inner.path(), Some(path.as_path()));
    assert!(
        err.to_string().starts_with(&path.display().to_string()),
        "{err}"
    );

    let missing = ReplayTransport::load(&path).unwrap_err();
    assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
    assert!(
        missing
            .to_string()
            .contains("cannot read the replay fixture"),
        "{missing}"
    );
}

#[test]
fn clones_share_state_across_threads() {
    let replay = ReplayTransport::from_exchanges(Vec::<RecordedExchange>::new());
    assert!(replay.remaining().is_empty());
    let json = (0..8)
        .map(|i| format!(r#"{{"method": "GET", "uri": "https://h/{i}", "status": 200, "chunks": [{{"text": "{i}"}}]}}"#))
        .collect::<Vec<_>>()
        .join(",");
    let replay: Arc<dyn HttpTransport> =
        Arc::new(ReplayTransport::from_json(&format!("[{json}]")).unwrap());
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let t = Arc::clone(&replay);
            std::thread::spawn(move || {
                block_on(async {
                    t.send(get(&format!("https://h/{i}")))
                        .await
                        .unwrap()
                        .into_body()
                        .collect()
                        .await
                        .unwrap()
                })
            })
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(h.join().unwrap(), i.to_string());
    }
    assert!(format!("{replay:?}").contains("used: 8"));
}

/// Records real exchanges with the emulator over loopback, then replays them.
#[cfg(all(feature = "tokio", feature = "smol"))]
mod emulator {
    use super::*;
    use gemini_emulator::{Emulator, EmulatorConfig};
    use gemini_transport::{HyperTransport, Proxy, Runtime};

    fn requests(base: &str, key: &str) -> Vec<http::Request<Bytes>> {
        let stream = |fault: Option<&str>| {
            let mut b = http::Request::post(format!(
                "{base}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
            ))
            .header("x-goog-api-key", key)
            .header("content-type", "application/json");
            if let Some(f) = fault {
                b = b.header("x-emulator-fault", f);
            }
            b.body(Bytes::from(
                r#"{"contents":[{"role":"user","parts":[{"text":"Tell me a story"}]}]}"#,
            ))
            .unwrap()
        };
        vec![
            stream(None),
            stream(Some("http=429")),
            stream(Some("close-after-events=1")),
            http::Request::get(format!("{base}/v1beta/models/gemini-2.5-flash?key={key}"))
                .body(Bytes::new())
                .unwrap(),
        ]
    }

    async fn record_and_replay(base: String, rt: Runtime) {
        let hyper = HyperTransport::builder()
            .runtime(rt)
            .proxy(Proxy::none())
            .build()
            .unwrap();
        let recorder = RecordingTransport::new(Arc::new(hyper));
        let mut originals = Vec::new();
        for request in requests(&base, REAL_KEY) {
            originals.push(observe(&recorder, request).await.unwrap());
        }
        assert_eq!(originals[0].status, 200);
        assert!(originals[0].chunks.concat().starts_with(b"data: "));
        assert_eq!(originals[1].status, 429);
        assert_eq!(originals[2].status, 200);
        assert_eq!(
            originals[2].error.as_ref().map(|e| e.0),
            Some(ErrorKind::ClosedMidBody)
        );
        assert_eq!(originals[3].status, 200);
        let json = recorder.to_json();
        assert!(!json.contains(REAL_KEY), "{json}");

        let replay = ReplayTransport::from_json(&json).unwrap().in_order();
        for (request, original) in requests(&base, OTHER_KEY).into_iter().zip(&originals) {
            let replayed = observe(&replay, request).await.unwrap();
            assert_eq!(&replayed, original);
        }
        assert!(replay.remaining().is_empty());
    }

    fn check(rt: Runtime) {
        let emulator = Emulator::start_blocking(EmulatorConfig::default()).unwrap();
        let base = emulator.base_url();
        match rt {
            Runtime::Tokio => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(record_and_replay(base, rt)),
            _ => smol::block_on(record_and_replay(base, rt)),
        }
        // The replay never reached the emulator.
        assert_eq!(emulator.requests().len(), 4);
        emulator.stop();
    }

    #[test]
    fn emulator_exchanges_replay_identically_on_tokio() {
        check(Runtime::Tokio);
    }

    #[test]
    fn emulator_exchanges_replay_identically_on_smol() {
        check(Runtime::Smol);
    }
}
