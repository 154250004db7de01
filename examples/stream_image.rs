//! Streams an answer about images: one by file URI (`gs://…` with its MIME type), one as inline
//! bytes read from memory.
//!
//! ```sh
//! cargo run --example stream_image
//! ```

mod support;

use std::io::Write;
use std::process::ExitCode;

use gemini::types::Part;
use support::Failure;

/// A 1×1 transparent PNG.
const PIXEL: [u8; 67] = [
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

#[tokio::main]
async fn main() -> ExitCode {
    support::exit(run().await)
}

async fn run() -> Result<(), Failure> {
    let emulator = support::emulator_unless_key_set()?;
    let client = support::client(&emulator)?;
    let mut out = std::io::stdout().lock();

    let by_uri = vec![
        Part::from_uri(
            "gs://generativeai-downloads/images/scones.jpg",
            "image/jpeg",
        ),
        Part::text("What is in this picture?"),
    ];
    let inline = vec![
        Part::inline_data("image/png", PIXEL.to_vec()),
        Part::text("Describe this image."),
    ];
    for contents in [by_uri, inline] {
        let mut stream = client
            .models()
            .generate_content_stream("gemini-2.5-flash", contents)
            .await?;
        while let Some(chunk) = stream.next().await {
            write!(out, "{}", chunk?.text().unwrap_or_default())?;
            out.flush()?;
        }
        writeln!(out, "\n")?;
    }
    Ok(())
}
