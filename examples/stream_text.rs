//! `generate_content_stream` with a plain prompt: print each chunk's text as it arrives.
//!
//! ```sh
//! cargo run --example stream_text
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
        .generate_content_stream("gemini-2.5-flash", "Explain how AI works in a few words.")
        .await?;
    let mut out = std::io::stdout().lock();
    while let Some(chunk) = stream.next().await {
        write!(out, "{}", chunk?.text().unwrap_or_default())?;
        out.flush()?;
    }
    writeln!(out)?;
    Ok(())
}
