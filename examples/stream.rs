//! Streams a story to the terminal as it is written, then the token usage.
//!
//! ```sh
//! cargo run --example stream -- "Write a story about a lighthouse keeper." --model gemini-2.5-flash
//! ```
//!
//! With `GEMINI_API_KEY` (or `GOOGLE_API_KEY`) set it asks Google; without one it starts the
//! embedded emulator on a loopback port, paced like the real service, and says so on stderr.

mod support;

use std::io::Write;
use std::process::ExitCode;

use support::Failure;

#[tokio::main]
async fn main() -> ExitCode {
    support::exit(run().await)
}

async fn run() -> Result<(), Failure> {
    let Some((prompt, model)) = arguments() else {
        eprintln!("usage: stream [PROMPT…] [--model NAME]");
        return Ok(());
    };
    let emulator = support::emulator_unless_key_set()?;
    let client = support::client(&emulator)?;

    let mut stream = client
        .models()
        .generate_content_stream(&model, prompt)
        .await?;
    let mut out = std::io::stdout().lock();
    while let Some(chunk) = stream.next().await {
        if let Some(text) = chunk?.text() {
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    writeln!(out)?;

    let answer = stream.snapshot();
    if let Some(usage) = answer.usage() {
        eprintln!(
            "\n[{}] finish: {}, tokens: {} prompt + {} answer = {} total",
            answer.model_version.as_deref().unwrap_or(&model),
            answer
                .finish_reason()
                .map_or_else(|| "none".to_owned(), ToString::to_string),
            usage.prompt_token_count.unwrap_or(0),
            usage.candidates_token_count.unwrap_or(0),
            usage.total_token_count.unwrap_or(0),
        );
    }
    Ok(())
}

/// `[PROMPT…] [--model NAME]`; `None` for `--help` or a `--model` without a name.
fn arguments() -> Option<(String, String)> {
    let mut words = Vec::new();
    let mut model = "gemini-2.5-flash".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--model" | "-m" => model = args.next()?,
            "--help" | "-h" => return None,
            _ => words.push(arg),
        }
    }
    let prompt = if words.is_empty() {
        "Write a short story about a lighthouse keeper who finds a message in a bottle.".to_owned()
    } else {
        words.join(" ")
    };
    Some((prompt, model))
}
