//! Async streaming and async unary generation on tokio, several requests at once on one client.
//!
//! ```sh
//! cargo run --example async_tokio
//! ```

mod support;

use std::process::ExitCode;

use support::Failure;

#[tokio::main]
async fn main() -> ExitCode {
    support::exit(run().await)
}

async fn run() -> Result<(), Failure> {
    let emulator = support::emulator_unless_key_set()?;
    let client = support::client(&emulator)?;

    // Unary: the whole answer at once.
    let answer = client
        .models()
        .generate_content("gemini-2.5-flash", "Name three rivers, briefly.")
        .await?;
    println!("unary: {}\n", answer.text().unwrap_or_default());

    // Streams run as tasks; the client is shared (a clone is one reference count).
    let mut tasks = Vec::new();
    for topic in ["tides", "volcanoes", "comets"] {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let mut stream = client
                .models()
                .generate_content_stream("gemini-2.5-flash", format!("One sentence about {topic}."))
                .await?;
            let mut text = String::new();
            while let Some(chunk) = stream.next().await {
                text.push_str(&chunk?.text().unwrap_or_default());
            }
            Ok::<_, gemini::Error>((topic, text))
        }));
    }
    for task in tasks {
        let (topic, text) = task.await.expect("the task ran")?;
        println!("{topic}: {} characters streamed", text.chars().count());
    }
    Ok(())
}
