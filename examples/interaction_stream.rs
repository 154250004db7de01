//! The Interactions API, streamed: print the text as it arrives, then the interaction's id,
//! status and usage. A dropped connection is read again from the last event it delivered.
//!
//! ```sh
//! cargo run --example interaction_stream
//! ```

mod support;

use std::io::Write;
use std::process::ExitCode;

use gemini::interactions::InteractionEvent;
use support::Failure;

#[tokio::main]
async fn main() -> ExitCode {
    support::exit(run().await)
}

async fn run() -> Result<(), Failure> {
    let emulator = support::emulator_unless_key_set()?;
    let client = support::client(&emulator)?;

    let mut stream = client
        .interactions()
        .create_stream("gemini-2.5-flash", "Explain how a lighthouse works.")
        .await?;
    let mut out = std::io::stdout().lock();
    while let Some(event) = stream.next().await {
        match event? {
            InteractionEvent::StepStart(start) => {
                let kind = start.step.as_ref().map_or("?", |s| s.type_name());
                if kind != "model_output" {
                    writeln!(out, "[{kind}]")?;
                }
            }
            event => write!(out, "{}", event.text().unwrap_or_default())?,
        }
        out.flush()?;
    }
    let interaction = stream.final_interaction().await?;
    let tokens = interaction.usage.as_ref().and_then(|u| u.total_tokens);
    writeln!(
        out,
        "\n\n({}: {}, {} tokens)",
        interaction.id.as_deref().unwrap_or("?"),
        interaction
            .status
            .map(|s| s.to_string())
            .unwrap_or_default(),
        tokens.unwrap_or(0)
    )?;
    Ok(())
}
