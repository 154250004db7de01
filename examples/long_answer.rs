//! A long answer over several requests, through dropped connections: what the caller sees, and
//! what happened underneath.
//!
//! Gemini caps the output of one request and continues long answers with a continuation token;
//! streams carry checkpoints, and a broken stream resumes from the latest one. Output that
//! arrived after that checkpoint is generated again, so the client takes it back and says so.
//! With the embedded emulator the answer is cut every 120 tokens, with a checkpoint every 3
//! events, and the connection is dropped twice; against Google, the same code follows whatever
//! the service does.
//!
//! ```sh
//! cargo run --example long_answer
//! ```

mod support;

use std::io::Write;
use std::process::ExitCode;

use gemini::StreamEvent;
use support::Failure;

#[tokio::main]
async fn main() -> ExitCode {
    support::exit(run().await)
}

async fn run() -> Result<(), Failure> {
    let emulator = support::emulator_unless_key_set()?;
    let client = support::client(&emulator)?;
    // The emulator reads its directives and faults from the model name: a long answer, cut
    // every 120 tokens, checkpoints every 3 events; the first request drops between two
    // checkpoints, the third right after one.
    let model = match emulator {
        Some(_) => {
            "gemini-2.5-flash@tokens=600;hop-tokens=120;checkpoint-every=3;\
                    drop=between-checkpoints;drop=after-checkpoint@3"
        }
        None => "gemini-2.5-flash",
    };

    let mut stream = client
        .models()
        .generate_content_stream(model, "Write a long history of the lighthouse.")
        .await?;
    let mut out = std::io::stdout().lock();
    let mut shown = 0usize;
    let mut taken_back = Vec::new();
    while let Some(event) = stream.next_event().await {
        match event? {
            StreamEvent::Chunk(chunk) => {
                let text = chunk.text().unwrap_or_default();
                shown += text.len();
                write!(out, "{text}")?;
                out.flush()?;
            }
            StreamEvent::Discarded(discarded) => {
                // A terminal cannot erase; mark it instead, as a UI would erase it.
                write!(
                    out,
                    "⟨{} characters taken back⟩",
                    discarded.text.chars().count()
                )?;
                shown -= discarded.text.len();
                taken_back.push(discarded);
            }
            _ => {}
        }
    }
    writeln!(out, "\n")?;
    let answer = stream.snapshot();
    let usage = answer.usage();
    eprintln!(
        "{} requests with a continuation token ({} in all), {} reconnects after dropped \
         connections, output taken back {} times ({} chunks); the answer is {} characters, \
         {} tokens in all.",
        stream.hops() - 1,
        stream.hops(),
        stream.reconnects(),
        taken_back.len(),
        taken_back.iter().map(|d| d.chunks).sum::<u64>(),
        answer.text().unwrap_or_default().chars().count(),
        usage.and_then(|u| u.total_token_count).unwrap_or(0),
    );
    assert_eq!(shown, answer.text().unwrap_or_default().len());
    Ok(())
}
