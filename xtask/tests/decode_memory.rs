//! `cargo xtask decode` streams: on a body of a million events it writes a million and one lines
//! while its memory stays that of one read, one event and the aggregate. (Before, it read the whole
//! file and kept every chunk: 4.7 GB of peak memory for a million small text events.)
#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

const EVENTS: usize = 1_000_000;
/// Far below what keeping the body (12 MB) or the chunks (hundreds of MB) would take.
const MAX_PEAK_RSS_KIB: u64 = 32 * 1024;

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn a_million_events_decode_in_constant_memory() {
    let dir = std::env::temp_dir().join(format!("xtask-decode-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("million.sse");
    let mut body = BufWriter::new(std::fs::File::create(&file).unwrap());
    for _ in 0..EVENTS {
        body.write_all(b"data: {}\r\n\r\n").unwrap();
    }
    body.write_all(b"data: {\"candidates\": [{\"finishReason\": \"STOP\"}]}\r\n\r\n")
        .unwrap();
    body.flush().unwrap();
    drop(body);

    let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["decode", "--framing", "sse", "--split", "random:7"])
        .arg(&file)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let peak = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (peak, done) = (Arc::clone(&peak), Arc::clone(&done));
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                if let Some(kib) = peak_rss_kib(pid) {
                    peak.fetch_max(kib, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let mut lines = 0usize;
    let mut last = String::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        lines += 1;
        if lines == 1 {
            assert_eq!(line, r#"{"chunk":{}}"#);
        }
        last = line;
    }
    done.store(true, Ordering::Relaxed);
    watcher.join().unwrap();
    assert!(child.wait().unwrap().success());
    std::fs::remove_dir_all(&dir).unwrap();

    // A line per chunk, and the aggregate.
    assert_eq!(lines, EVENTS + 2);
    assert!(
        last.starts_with(r#"{"aggregate":"#) && last.contains(r#""complete":true"#),
        "{last}"
    );
    let peak = peak.load(Ordering::Relaxed);
    assert!(peak > 0, "could not read the decoder's memory");
    assert!(
        peak < MAX_PEAK_RSS_KIB,
        "peak RSS {peak} KiB for {EVENTS} events"
    );
    eprintln!("decode of {EVENTS} events: peak RSS {peak} KiB");
}
