//! Streams an answer from Gemini and prints it as it arrives, then the token usage.
//!
//! With `GEMINI_API_KEY` (or `GOOGLE_API_KEY`) set, it talks to Google. Without one it starts the
//! embedded emulator on a loopback port and streams from it, paced like a real model.
//!
//! ```sh
//! cargo run -p gemini-examples --example stream -- "Why is the sky blue?"
//! ```
//!
//! This wires the layers by hand (request building and decoding from `gemini-proto`, bytes moved by
//! `gemini-transport`), which is what the `gemini` facade will do for you.

use std::error::Error;
use std::io::Write as _;

use gemini_emulator::{Emulator, EmulatorConfig, Pace};
use gemini_proto::aggregate::Aggregator;
use gemini_proto::chunk::ChunkDecoder;
use gemini_proto::error::parse_error_body;
use gemini_proto::types::GenerateContentRequest;
use gemini_proto::{Api, Auth, Endpoint, StreamFormat};
use gemini_transport::{HttpTransport, HyperTransport};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut prompt = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    if prompt.trim().is_empty() {
        prompt =
            "Explain in a few sentences how server-sent events carry a streamed answer.".into();
    }
    let model = std::env::var("GEMINI_MODEL").unwrap_or_else(|_| "gemini-2.5-flash".into());

    // Google when a key is configured, the embedded emulator otherwise.
    let mut emulator = None;
    let api = match Auth::from_env() {
        Some(auth) => Api::new(Endpoint::default(), auth),
        None => {
            let local = Emulator::start(EmulatorConfig::new().pace(Pace::realistic())).await?;
            eprintln!(
                "(no GEMINI_API_KEY set: streaming from the embedded emulator at {})\n",
                local.base_url()
            );
            let api = Api::new(Endpoint::new(local.base_url())?, Auth::api_key("emulator"));
            emulator = Some(local);
            api
        }
    };

    let request =
        api.stream_generate_content(&model, &GenerateContentRequest::from_prompt(prompt))?;
    let transport = HyperTransport::builder().build()?;
    let response = transport.send(request).await?;
    let (head, mut body) = response.into_parts();

    if !head.status.is_success() {
        // Error bodies are a few hundred bytes: 1 MiB is plenty.
        let bytes = body.collect_limited(1 << 20).await?;
        return Err(parse_error_body(head.status, &head.headers, &bytes).into());
    }

    let mut decoder = ChunkDecoder::new(StreamFormat::Sse);
    let mut aggregator = Aggregator::new();
    let mut stdout = std::io::stdout();
    let mut failure: Option<Box<dyn Error>> = None;
    loop {
        let piece = body.next_chunk().await;
        match &piece {
            Some(Ok(bytes)) => decoder.push(bytes),
            Some(Err(err)) => {
                failure = Some(format!("the connection failed: {err}").into());
            }
            None => decoder.finish(),
        }
        while let Some(item) = decoder.next_chunk() {
            match item {
                Ok(chunk) => {
                    if let Some(text) = chunk.text() {
                        stdout.write_all(text.as_bytes())?;
                        stdout.flush()?;
                    }
                    aggregator.push(&chunk);
                }
                Err(err) => failure = Some(err.into()),
            }
        }
        if piece.is_none() || failure.is_some() {
            break;
        }
    }
    println!();

    let answer = aggregator.into_response();
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
    if let Some(emulator) = emulator {
        emulator.stop();
    }
    match failure {
        // What arrived was printed; the error says why the stream ended early.
        Some(err) => Err(err),
        None => Ok(()),
    }
}
