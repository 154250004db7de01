//! What a chunk holds: its text, its parts, and the usage metadata (a running total; the last
//! chunk's is final).
//!
//! ```sh
//! cargo run --example process_chunks
//! ```

mod support;

use std::process::ExitCode;

use gemini::types::PartData;
use support::Failure;

#[tokio::main]
async fn main() -> ExitCode {
    support::exit(run().await)
}

async fn run() -> Result<(), Failure> {
    let emulator = support::emulator_unless_key_set()?;
    let client = support::client(&emulator)?;

    let mut stream = client
        .models()
        .generate_content_stream("gemini-2.5-flash", "Write a short poem about the sea.")
        .await?;
    let mut last_usage = None;
    let mut n = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        n += 1;
        println!("chunk {n}: {:?}", chunk.text().unwrap_or_default());
        for part in chunk.parts() {
            let kind = match &part.data {
                PartData::Text(_) if part.is_thought() => "thought",
                PartData::Text(_) => "text",
                PartData::FunctionCall(_) => "function call",
                PartData::InlineData(_) => "inline data",
                _ => "other",
            };
            println!(
                "  part: {kind}{}",
                if part.thought_signature.is_some() {
                    " (signed)"
                } else {
                    ""
                }
            );
        }
        if let Some(reason) = chunk.finish_reason() {
            println!("  finish reason: {reason}");
        }
        last_usage = chunk.usage_metadata.or(last_usage);
    }
    if let Some(usage) = last_usage {
        println!(
            "usage from the final chunk: {} prompt, {} answer, {} total tokens",
            usage.prompt_token_count.unwrap_or(0),
            usage.candidates_token_count.unwrap_or(0),
            usage.total_token_count.unwrap_or(0)
        );
    }
    Ok(())
}
