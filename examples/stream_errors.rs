//! When a stream breaks: the text that arrived stays printed and available, then one line says
//! what happened.
//!
//! With the emulator the connection is cut after three chunks (an injected fault); against Google
//! the stream usually completes, and the same code handles the rare break.
//!
//! ```sh
//! cargo run --example stream_errors
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
    // The emulator reads faults from the model name.
    let model = match emulator {
        Some(_) => "gemini-2.5-flash@close-after-events=3",
        None => "gemini-2.5-flash",
    };

    let mut stream = client
        .models()
        .generate_content_stream(model, "Write a long story about a clockmaker.")
        .await?;
    let mut out = std::io::stdout().lock();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(chunk) => {
                write!(out, "{}", chunk.text().unwrap_or_default())?;
                out.flush()?;
            }
            Err(error) => {
                writeln!(out)?;
                eprintln!("\nthe stream broke: {error}");
                if let Some(partial) = error.partial_response() {
                    let kept = partial.text().unwrap_or_default();
                    eprintln!("kept: {} characters that did arrive", kept.chars().count());
                }
                if error.is_retryable() {
                    eprintln!("(worth trying again)");
                }
                return Ok(());
            }
        }
    }
    writeln!(out, "\n(the stream completed)")?;
    Ok(())
}
