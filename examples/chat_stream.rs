//! A chat over two turns, the second referring to the first, each answer streamed as it arrives
//! (the `google.generativeai` flow: `chat.send_message(..., stream=True)`).
//!
//! ```sh
//! cargo run --example chat_stream
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

    let mut chat = client.chats().create("gemini-2.5-flash");
    let mut out = std::io::stdout().lock();
    for message in [
        "I have 2 dogs in my house.",
        "How many paws are in my house?",
    ] {
        writeln!(out, "> {message}")?;
        let mut stream = chat.send_message_stream(message).await?;
        while let Some(chunk) = stream.next().await {
            if let Some(text) = chunk?.text() {
                write!(out, "{text}")?;
                out.flush()?;
            }
        }
        writeln!(out, "\n")?;
    }
    // Each completed exchange is in the history once: the message, and the whole answer.
    for content in chat.history() {
        let role = content
            .role
            .as_ref()
            .map_or_else(String::new, ToString::to_string);
        let text = content.text().unwrap_or_default();
        writeln!(out, "{role}: {} characters", text.chars().count())?;
    }
    Ok(())
}
