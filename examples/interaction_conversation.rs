//! A conversation the service keeps: the second turn names the first with
//! `previous_interaction_id`, and the model sees both.
//!
//! ```sh
//! cargo run --example interaction_conversation
//! ```

mod support;

use std::io::Write;
use std::process::ExitCode;

use support::Failure;

const MODEL: &str = "gemini-2.5-flash";

#[tokio::main]
async fn main() -> ExitCode {
    support::exit(run().await)
}

async fn run() -> Result<(), Failure> {
    let emulator = support::emulator_unless_key_set()?;
    let client = support::client(&emulator)?;
    let interactions = client.interactions();
    let mut out = std::io::stdout().lock();

    let question = "I have two dogs and a cat. How many legs do they have in all?";
    writeln!(out, "> {question}")?;
    let first = interactions.create(MODEL, question).await?;
    writeln!(out, "{}\n", first.text().unwrap_or_default())?;

    // The second turn, streamed: only the new message travels; the service adds the history.
    let question = "And if one of the dogs has three legs?";
    writeln!(out, "> {question}")?;
    let mut stream = interactions
        .create_stream(MODEL, question)
        .previous_interaction_id(first.id.clone().unwrap_or_default())
        .await?
        .text_stream();
    while let Some(text) = stream.next().await {
        write!(out, "{}", text?)?;
        out.flush()?;
    }
    writeln!(out)?;
    Ok(())
}
