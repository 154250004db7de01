//! A thousand streaming requests at the same time.

mod common;

use std::time::Duration;

use common::*;
use gemini_emulator::{Emulator, EmulatorConfig, Pace};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_thousand_concurrent_streams() {
    const STREAMS: usize = 1000;
    // Every stream waits two seconds before its first event, so all of them are open at once.
    let config = EmulatorConfig::default()
        .pace(Pace::new(Duration::from_secs(2), 2000.0))
        .record_requests(false);
    let emu = Emulator::start_blocking(config).unwrap();
    let addr = emu.addr();
    let mut tasks = Vec::with_capacity(STREAMS);
    for i in 0..STREAMS {
        tasks.push(tokio::spawn(async move {
            let body = gen_body(&format!("Stream number {i}"));
            post_fault(addr, SSE, "tokens=60", &body).await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        let resp = task.await.unwrap();
        assert_eq!(resp.status, 200);
        assert!(resp.complete && resp.read_error.is_none());
        let events = resp.sse_events();
        assert!(events.len() >= 3);
        let last: serde_json::Value = serde_json::from_str(events.last().unwrap()).unwrap();
        assert_eq!(last["candidates"][0]["finishReason"], "STOP");
        ok += 1;
    }
    assert_eq!(ok, STREAMS);
    let stats = emu.stats();
    assert_eq!(stats.requests, STREAMS as u64);
    assert!(
        stats.peak_streams >= STREAMS,
        "peak {} concurrent streams",
        stats.peak_streams
    );
    assert_eq!(stats.active_streams, 0);
}
