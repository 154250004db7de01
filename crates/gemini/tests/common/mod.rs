//! Shared by the facade's integration tests: an emulator per test, clients pointed at it, and an
//! independent raw-HTTP reader for expected answers (so no expectation is computed by the code
//! under test).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use gemini::{Client, RetryPolicy};
use gemini_emulator::{Emulator, EmulatorConfig};

pub const KEY: &str = "test-key-7f3a9c";
pub const MODEL: &str = "gemini-2.5-flash";

pub fn emulator() -> Emulator {
    Emulator::start_blocking(EmulatorConfig::default()).expect("the emulator starts")
}

/// Retries quick enough for tests: 3 attempts, 10 ms then 20 ms, no jitter.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(3)
        .with_initial_delay(Duration::from_millis(10))
        .with_jitter(0.0)
}

pub fn client(emulator: &Emulator) -> Client {
    Client::builder()
        .api_key(KEY)
        .base_url(emulator.base_url())
        .retry_policy(fast_retries())
        .build()
        .expect("the client builds")
}

pub fn blocking_client(emulator: &Emulator) -> gemini::blocking::Client {
    gemini::blocking::Client::builder()
        .api_key(KEY)
        .base_url(emulator.base_url())
        .retry_policy(fast_retries())
        .build()
        .expect("the client builds")
}

/// The answer text of `generateContent` for `prompt`, read over a raw TCP connection and parsed
/// with serde_json alone.
pub fn expected_text(emulator: &Emulator, model: &str, prompt: &str) -> String {
    let body = serde_json::json!({"contents": [{"role": "user", "parts": [{"text": prompt}]}]});
    let (status, body) = raw_request(
        emulator,
        "POST",
        &format!("/v1beta/models/{model}:generateContent"),
        Some(&body),
    );
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    json["candidates"][0]["content"]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["thought"] != serde_json::json!(true))
        .filter_map(|p| p["text"].as_str())
        .collect()
}

/// A request over a raw TCP connection (HTTP/1.1, the key in its header): the status and the
/// body as text, read without the code under test.
pub fn raw_request(
    emulator: &Emulator,
    method: &str,
    path: &str,
    json: Option<&serde_json::Value>,
) -> (u16, String) {
    let body = json.map(|j| j.to_string()).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nhost: x\r\nx-goog-api-key: {KEY}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut tcp = TcpStream::connect(emulator.addr()).unwrap();
    tcp.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    tcp.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    (status, body)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    loop {
        let (size, rest) = body.split_once("\r\n").unwrap();
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
}

/// Runs `f` on each async runtime this crate supports: tokio (multi-thread and current-thread),
/// smol, and async-std's executor.
pub fn on_every_runtime<F, Fut>(f: F)
where
    F: Fn(&'static str) -> Fut,
    Fut: Future<Output = ()>,
{
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(f("tokio"));
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f("tokio-current-thread"));
    smol::block_on(f("smol"));
    async_std::task::block_on(f("async-std"));
}
