//! A function call whose arguments stream: show them as they fill in, run the function, and send
//! its result back as the next turn of the conversation.
//!
//! ```sh
//! cargo run --example interaction_function_call
//! ```

mod support;

use std::io::Write;
use std::process::ExitCode;

use gemini::interactions::{Delta, FunctionResultStep, InteractionEvent, InteractionStatus, Step};
use serde_json::json;
use support::Failure;

const MODEL: &str = "gemini-2.5-flash";

#[tokio::main]
async fn main() -> ExitCode {
    support::exit(run().await)
}

async fn run() -> Result<(), Failure> {
    let emulator = support::emulator_unless_key_set()?;
    let client = support::client(&emulator)?;
    let parameters = json!({
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "The city, e.g. Lisbon"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}
        },
        "required": ["city", "unit"]
    });
    let mut out = std::io::stdout().lock();

    let mut stream = client
        .interactions()
        .create_stream(MODEL, "What is the weather like in Lisbon today?")
        .function("get_weather", "The current weather in a city.", parameters)
        .await?;
    let mut call_step = None;
    while let Some(event) = stream.next().await {
        match event? {
            InteractionEvent::StepStart(start) => {
                if let Some(Step::FunctionCall(call)) = &start.step {
                    call_step = start.index.map(|i| i as usize);
                    writeln!(out, "calling {}…", call.name.as_deref().unwrap_or("?"))?;
                }
            }
            // Each fragment of the arguments: show them as far as they go.
            InteractionEvent::StepDelta(delta)
                if matches!(delta.delta, Some(Delta::ArgumentsDelta(_))) =>
            {
                if let Some(arguments) = call_step.and_then(|i| stream.partial_arguments(i)) {
                    writeln!(out, "  arguments so far: {arguments}")?;
                }
            }
            event => write!(out, "{}", event.text().unwrap_or_default())?,
        }
    }
    let interaction = stream.final_interaction().await?;
    if interaction.status != Some(InteractionStatus::RequiresAction) {
        // The model answered without the function.
        writeln!(out)?;
        return Ok(());
    }
    let call = interaction
        .function_calls()
        .next()
        .cloned()
        .unwrap_or_default();
    let arguments = call.arguments.clone().unwrap_or_default();
    writeln!(out, "get_weather({arguments})")?;

    // Run the function (here, a made-up forecast), and send its result back.
    let result = json!({"city": arguments["city"], "temperature": 21, "sky": "clear"});
    let answer = client
        .interactions()
        .create(
            MODEL,
            FunctionResultStep::new(call.id.unwrap_or_default(), "get_weather", result),
        )
        .previous_interaction_id(interaction.id.unwrap_or_default())
        .await?;
    writeln!(out, "{}", answer.text().unwrap_or_default())?;
    Ok(())
}
