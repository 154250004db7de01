//! Streams with configuration: temperature, the longest answer, a system instruction.
//!
//! ```sh
//! cargo run --example stream_config
//! ```

mod support;

use std::io::Write;
use std::process::ExitCode;

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
        .generate_content_stream(
            "gemini-2.5-flash",
            "Tell me a story about a magic backpack.",
        )
        .temperature(0.9)
        .max_output_tokens(120)
        .system_instruction("You are a storyteller for children under 8.")
        .await?;
    let mut out = std::io::stdout().lock();
    while let Some(chunk) = stream.next().await {
        write!(out, "{}", chunk?.text().unwrap_or_default())?;
        out.flush()?;
    }
    // A capped answer ends with MAX_TOKENS: data, not an error.
    let finish = stream.snapshot().finish_reason().map(ToString::to_string);
    writeln!(out, "\n\n(finish reason: {})", finish.unwrap_or_default())?;
    Ok(())
}
