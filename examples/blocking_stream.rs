//! Streaming from plain `fn main`, without any async runtime: feature `blocking`.
//!
//! ```sh
//! cargo run --example blocking_stream
//! ```

mod support;

use std::io::Write;
use std::process::ExitCode;

use support::Failure;

fn main() -> ExitCode {
    support::exit(run())
}

fn run() -> Result<(), Failure> {
    let emulator = support::emulator_unless_key_set()?;
    let client = support::blocking_client(&emulator)?;

    let answer = client
        .models()
        .generate_content("gemini-2.5-flash", "Say hello in French.")
        .send()?;
    println!("unary: {}\n", answer.text().unwrap_or_default());

    let stream = client
        .models()
        .generate_content_stream("gemini-2.5-flash", "Write a haiku about threads.")
        .send()?;
    let mut out = std::io::stdout().lock();
    for chunk in stream {
        write!(out, "{}", chunk?.text().unwrap_or_default())?;
        out.flush()?;
    }
    writeln!(out)?;
    Ok(())
}
