//! Replay of the real recorded bodies in the workspace's `tests/data/real-captures`.

mod common;

use std::path::PathBuf;

use common::*;
use gemini_emulator::{Emulator, EmulatorConfig};

fn captures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/real-captures")
}

fn first_file(dir: &str, ext: &str) -> (String, Vec<u8>) {
    let mut files: Vec<_> = std::fs::read_dir(captures().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    files.sort();
    let path = &files[0];
    (
        path.file_stem().unwrap().to_string_lossy().into_owned(),
        std::fs::read(path).unwrap(),
    )
}

#[tokio::test]
async fn replays_recorded_bodies_byte_for_byte() {
    let emu = Emulator::start(EmulatorConfig::default().replay_dir(captures()))
        .await
        .unwrap();
    let addr = emu.addr();

    // By model name.
    let (name, bytes) = first_file("stream-sse", "sse");
    let r = post(
        addr,
        &format!("/v1beta/models/replay={name}:streamGenerateContent?alt=sse"),
        &gen_body("x"),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    assert_eq!(r.body, bytes);
    assert!(r.complete);

    // By header, with any model.
    let (name, bytes) = first_file("stream-jsonarray", "json");
    let r = send(
        addr,
        "POST",
        ARRAY,
        &[("x-goog-api-key", KEY), ("x-emulator-replay", &name)],
        &gen_body("x"),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, bytes);

    let (name, bytes) = first_file("nonstream", "json");
    let r = send(
        addr,
        "POST",
        UNARY,
        &[
            ("x-goog-api-key", KEY),
            ("x-emulator-replay", &format!("nonstream/{name}")),
        ],
        "{}",
    )
    .await;
    assert_eq!(r.body, bytes);

    // Error captures keep their status.
    let r = send(
        addr,
        "POST",
        UNARY,
        &[
            ("x-goog-api-key", KEY),
            (
                "x-emulator-replay",
                "error-404-not_found-generateContent-pydanticai-01",
            ),
        ],
        "{}",
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["status"], "NOT_FOUND");

    // Faults apply to replayed bodies too.
    let (name, bytes) = first_file("stream-sse", "sse");
    let r = send(
        addr,
        "POST",
        SSE,
        &[
            ("x-goog-api-key", KEY),
            ("x-emulator-replay", &name),
            ("x-emulator-fault", "close-after-bytes=50"),
        ],
        "{}",
    )
    .await;
    assert_eq!(r.body, bytes[..50]);
    assert!(!r.complete);

    let r = send(
        addr,
        "POST",
        SSE,
        &[
            ("x-goog-api-key", KEY),
            ("x-emulator-replay", "no-such-capture"),
        ],
        "{}",
    )
    .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn every_sse_capture_replays_exactly() {
    let emu = Emulator::start(
        EmulatorConfig::default()
            .replay_dir(captures())
            .record_requests(false),
    )
    .await
    .unwrap();
    let mut n = 0;
    for entry in std::fs::read_dir(captures().join("stream-sse")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "sse") {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let r = send(
            emu.addr(),
            "POST",
            SSE,
            &[("x-goog-api-key", KEY), ("x-emulator-replay", &name)],
            "{}",
        )
        .await;
        assert_eq!(r.body, std::fs::read(&path).unwrap(), "{name}");
        n += 1;
    }
    assert!(n > 10);
}
