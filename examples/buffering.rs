//! The two ways to consume a stream: print each piece the moment it arrives (flushing, so a
//! terminal shows it at once), or collect the whole answer and use it at the end.
//!
//! ```sh
//! cargo run --example buffering
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
    let prompt = "Describe a sunrise in three sentences.";

    // 1. Immediately: text deltas, flushed as they come.
    let mut text = client
        .models()
        .generate_content_stream("gemini-2.5-flash", prompt)
        .await?
        .text_stream();
    let mut out = std::io::stdout().lock();
    while let Some(delta) = text.next().await {
        write!(out, "{}", delta?)?;
        out.flush()?;
    }
    writeln!(out, "\n")?;

    // 2. Collected: the whole answer, every chunk folded in.
    let answer = client
        .models()
        .generate_content_stream("gemini-2.5-flash", prompt)
        .await?
        .final_response()
        .await?;
    let whole = answer.text().unwrap_or_default();
    writeln!(
        out,
        "collected {} characters:\n{whole}",
        whole.chars().count()
    )?;
    Ok(())
}
