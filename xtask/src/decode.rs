//! `cargo xtask decode`: decode one streamed body with the library and print what came out.

use gemini_proto::aggregate::Aggregator;
use gemini_proto::chunk::ChunkDecoder;
use gemini_proto::{Error, ErrorKind, StreamFormat};
use serde_json::{Value, json};

use crate::rng::Split;

/// What decoding a body produced.
pub struct Decoded {
    pub chunks: Vec<gemini_proto::types::GenerateContentResponse>,
    pub error: Option<Error>,
    pub aggregate: gemini_proto::types::GenerateContentResponse,
}

/// Decodes `body` fed in the pieces `split` makes.
pub fn decode(body: &[u8], format: StreamFormat, split: &Split) -> Decoded {
    let mut decoder = ChunkDecoder::new(format);
    let mut aggregator = Aggregator::new();
    let mut chunks = Vec::new();
    let mut error = None;
    let mut drain = |decoder: &mut ChunkDecoder, chunks: &mut Vec<_>, error: &mut Option<Error>| {
        while let Some(item) = decoder.next_chunk() {
            match item {
                Ok(chunk) => {
                    aggregator.push(&chunk);
                    chunks.push(chunk);
                }
                Err(err) => *error = Some(err),
            }
        }
    };
    for piece in split.pieces(body) {
        decoder.push(piece);
        drain(&mut decoder, &mut chunks, &mut error);
    }
    decoder.finish();
    drain(&mut decoder, &mut chunks, &mut error);
    Decoded {
        chunks,
        error,
        aggregate: aggregator.into_response(),
    }
}

/// The short name of an error kind used in the JSON output.
pub fn kind_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Api => "api",
        ErrorKind::Decode => "malformed",
        ErrorKind::Truncated => "truncated",
        ErrorKind::Incomplete => "incomplete",
        ErrorKind::TooLarge => "too_large",
        ErrorKind::UnexpectedBody => "unexpected_body",
        ErrorKind::InvalidRequest => "invalid_request",
        _ => "other",
    }
}

pub fn error_json(err: &Error) -> Value {
    let mut value = json!({"kind": kind_name(err.kind()), "message": err.to_string()});
    if let Some(api) = err.api_error() {
        value["api"] = serde_json::to_value(api).unwrap_or(Value::Null);
    }
    json!({ "error": value })
}

pub fn parse_framing(text: &str) -> Result<StreamFormat, String> {
    match text {
        "sse" => Ok(StreamFormat::Sse),
        "json-array" => Ok(StreamFormat::JsonArray),
        other => Err(format!("--framing takes sse or json-array, not {other:?}")),
    }
}

pub fn run(args: &[String]) -> Result<bool, String> {
    let mut framing = None;
    let mut split = Split::Whole;
    let mut file = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--framing" => {
                framing = Some(parse_framing(
                    args.next().ok_or("--framing needs a value")?,
                )?);
            }
            "--split" => split = Split::parse(args.next().ok_or("--split needs a value")?)?,
            other if other.starts_with("--") => return Err(format!("unknown option {other:?}")),
            other if file.is_none() => file = Some(other.to_owned()),
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    let framing = framing.ok_or("--framing sse|json-array is required")?;
    let file = file.ok_or("a FILE to decode is required")?;
    let body = std::fs::read(&file).map_err(|err| format!("reading {file}: {err}"))?;

    let decoded = decode(&body, framing, &split);
    let mut out = String::new();
    for chunk in &decoded.chunks {
        out.push_str(&json!({ "chunk": chunk }).to_string());
        out.push('\n');
    }
    if let Some(err) = &decoded.error {
        out.push_str(&error_json(err).to_string());
        out.push('\n');
    }
    out.push_str(
        &json!({ "aggregate": decoded.aggregate, "complete": decoded.error.is_none() }).to_string(),
    );
    out.push('\n');
    use std::io::Write as _;
    std::io::stdout()
        .write_all(out.as_bytes())
        .map_err(|err| format!("writing the output: {err}"))?;
    Ok(true)
}
