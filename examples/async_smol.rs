//! Async streaming and async unary generation on smol (no tokio runtime involved). The same code
//! runs under `async_std::task::block_on`.
//!
//! ```sh
//! cargo run --example async_smol
//! ```

mod support;

use std::io::Write;
use std::process::ExitCode;

use support::Failure;

fn main() -> ExitCode {
    support::exit(smol::block_on(run()))
}

async fn run() -> Result<(), Failure> {
    let emulator = support::emulator_unless_key_set()?;
    // On smol, pin the runtime: the built-in transport then never looks for tokio.
    let client = match &emulator {
        None => gemini::Client::builder().from_env()?,
        Some(local) => gemini::Client::builder()
            .api_key("emulator")
            .base_url(local.base_url()),
    }
    .runtime(gemini::Runtime::Smol)
    .build()?;

    let answer = client
        .models()
        .generate_content("gemini-2.5-flash", "Say hello from smol.")
        .await?;
    println!("unary: {}\n", answer.text().unwrap_or_default());

    let mut stream = client
        .models()
        .generate_content_stream("gemini-2.5-flash", "Write a limerick about executors.")
        .await?;
    let mut out = std::io::stdout().lock();
    while let Some(chunk) = stream.next().await {
        write!(out, "{}", chunk?.text().unwrap_or_default())?;
        out.flush()?;
    }
    writeln!(out)?;
    Ok(())
}
