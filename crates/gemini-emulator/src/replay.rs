//! Replay of recorded bodies: a directory of `.sse` / `.json` files, optionally with a
//! `MANIFEST.jsonl` giving each file's status and content type.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use bytes::Bytes;

#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub path: PathBuf,
    pub status: Option<u16>,
    pub content_type: Option<String>,
}

/// An index of a replay directory, by file stem and by relative path (with and without extension).
#[derive(Debug, Default)]
pub(crate) struct Replay {
    entries: HashMap<String, Entry>,
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

impl Replay {
    pub fn load(dir: &Path) -> io::Result<Replay> {
        let mut manifest: HashMap<String, (Option<u16>, Option<String>)> = HashMap::new();
        if let Ok(text) = std::fs::read_to_string(dir.join("MANIFEST.jsonl")) {
            for line in text.lines() {
                let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                    continue;
                };
                let Some(file) = v.get("file").and_then(|f| f.as_str()) else {
                    continue;
                };
                let status = v
                    .get("status")
                    .and_then(serde_json::Value::as_u64)
                    .map(|s| s as u16);
                let ct = v
                    .get("content_type")
                    .and_then(|c| c.as_str())
                    .map(str::to_owned);
                manifest.insert(file.to_owned(), (status, ct));
            }
        }
        let mut files = Vec::new();
        walk(dir, &mut files)?;
        files.sort();
        let mut entries = HashMap::new();
        for path in files {
            let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
                continue;
            };
            if !matches!(ext, "sse" | "json" | "sse-line" | "jsonl")
                || path.ends_with("MANIFEST.jsonl")
            {
                continue;
            }
            let rel = path
                .strip_prefix(dir)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            let (status, content_type) = manifest.get(&rel).cloned().unwrap_or_default();
            let entry = Entry {
                path: path.clone(),
                status,
                content_type,
            };
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_owned();
            let rel_no_ext = rel
                .rsplit_once('.')
                .map_or(rel.clone(), |(r, _)| r.to_owned());
            entries.entry(stem).or_insert_with(|| entry.clone());
            entries.entry(rel_no_ext).or_insert_with(|| entry.clone());
            entries.insert(rel, entry);
        }
        Ok(Replay { entries })
    }

    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.get(name.trim_start_matches('/'))
    }
}

/// A loaded body, cut where Google's writes would fall: after each SSE event, or before each
/// element separator of a JSON-array stream.
#[derive(Debug)]
pub(crate) struct Body {
    pub status: u16,
    pub content_type: String,
    pub pieces: Vec<Bytes>,
}

pub(crate) fn load_body(entry: &Entry) -> io::Result<Body> {
    let bytes = std::fs::read(&entry.path)?;
    let ext = entry
        .path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default();
    let is_sse = matches!(ext, "sse" | "sse-line") || bytes.starts_with(b"data:");
    let status = entry.status.unwrap_or_else(|| {
        serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v.pointer("/error/code").and_then(serde_json::Value::as_u64))
            .map_or(200, |c| c as u16)
    });
    let content_type = entry.content_type.clone().unwrap_or_else(|| {
        if is_sse {
            "text/event-stream".to_owned()
        } else {
            "application/json; charset=UTF-8".to_owned()
        }
    });
    let mut pieces = Vec::new();
    let mut start = 0;
    if is_sse {
        let mut i = 0;
        while i < bytes.len() {
            let sep = if bytes[i..].starts_with(b"\r\n\r\n") {
                4
            } else if bytes[i..].starts_with(b"\n\n") || bytes[i..].starts_with(b"\r\r") {
                2
            } else {
                0
            };
            if sep > 0 {
                pieces.push(Bytes::copy_from_slice(&bytes[start..i + sep]));
                start = i + sep;
                i += sep;
            } else {
                i += 1;
            }
        }
    } else if bytes.starts_with(b"[") {
        let mut i = 1;
        while i + 4 <= bytes.len() {
            if &bytes[i..i + 4] == b"\n,\r\n" {
                pieces.push(Bytes::copy_from_slice(&bytes[start..i]));
                start = i;
                i += 4;
            } else {
                i += 1;
            }
        }
    }
    if start < bytes.len() {
        pieces.push(Bytes::copy_from_slice(&bytes[start..]));
    }
    Ok(Body {
        status,
        content_type,
        pieces,
    })
}
