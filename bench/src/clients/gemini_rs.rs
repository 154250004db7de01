//! gemini-rs through its `gemini` facade, as its README shows: `generate_content_stream`, then
//! every chunk's `text()` (or its inline data).

use gemini::types::GenerateContentResponse;

use super::{Kind, Pass};
use crate::measure::Sink;
use crate::workload::{PROMPT, Workload};

/// The content of a chunk, in bytes: its text, or the bytes of its inline data.
fn content(chunk: &GenerateContentResponse) -> usize {
    match chunk.text() {
        Some(text) => text.len(),
        None => chunk.inline_data().map(|blob| blob.data.len()).sum(),
    }
}

/// The content an aggregate holds, in bytes.
fn held(aggregate: &GenerateContentResponse) -> u64 {
    aggregate
        .parts()
        .iter()
        .map(|part| {
            part.as_text()
                .map(str::len)
                .or_else(|| part.as_inline_data().map(|blob| blob.data.len()))
                .unwrap_or(0) as u64
        })
        .sum()
}

/// The async client, on tokio or smol.
#[derive(Debug)]
pub struct Async {
    client: gemini::Client,
    aggregate: bool,
}

impl Async {
    pub fn new(kind: Kind, base: &str, aggregate: bool) -> Result<Self, String> {
        let runtime = match kind {
            Kind::GeminiSmol => gemini::Runtime::Smol,
            _ => gemini::Runtime::Tokio,
        };
        let client = gemini::Client::builder()
            .api_key("bench")
            .base_url(base)
            .runtime(runtime)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self { client, aggregate })
    }

    pub async fn stream(
        &self,
        workload: Workload,
        sink: &mut Sink,
        pass: &mut Pass<'_>,
    ) -> Result<(), String> {
        let stream = self
            .client
            .models()
            .generate_content_stream(workload.model(), PROMPT)
            .aggregate(self.aggregate)
            .await;
        pass.established().await;
        let mut stream = stream.map_err(|e| e.to_string())?;
        while let Some(chunk) = stream.next().await {
            sink.chunk(content(&chunk.map_err(|e| e.to_string())?));
        }
        sink.held = held(stream.snapshot());
        pass.finished().await;
        Ok(())
    }
}

/// The blocking client.
#[derive(Debug)]
pub struct Blocking {
    client: gemini::blocking::Client,
    aggregate: bool,
}

impl Blocking {
    pub fn new(base: &str, aggregate: bool) -> Result<Self, String> {
        let client = gemini::blocking::Client::builder()
            .api_key("bench")
            .base_url(base)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self { client, aggregate })
    }

    pub fn stream(&self, workload: Workload, sink: &mut Sink) -> Result<(), String> {
        let mut stream = self
            .client
            .models()
            .generate_content_stream(workload.model(), PROMPT)
            .aggregate(self.aggregate)
            .send()
            .map_err(|e| e.to_string())?;
        for chunk in &mut stream {
            sink.chunk(content(&chunk.map_err(|e| e.to_string())?));
        }
        sink.held = held(stream.snapshot());
        Ok(())
    }
}
