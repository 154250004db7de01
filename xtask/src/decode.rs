//! `cargo xtask decode`: decode one body with the library and print what came out, as JSON lines.
//!
//! * `--framing sse|json-array`: a streamed body. The file is read piece by piece and every chunk
//!   is written out as soon as it is decoded, so memory does not grow with the number of events
//!   (only the aggregate does, with the answer's content).
//! * `--framing interactions`: a streamed Interactions API body (`event:`-framed SSE), read the
//!   same way: every event as it is decoded, then the interaction the events assemble into.
//! * `--framing response`: a unary body, parsed into the typed model and written back.
//! * `--framing error --status N`: the body of a response with HTTP status `N`, classified.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};

use gemini_proto::aggregate::{Aggregator, Mark};
use gemini_proto::chunk::ChunkDecoder;
use gemini_proto::error::{classify_response, parse_error_body};
use gemini_proto::interactions::{Assembler, EventDecoder, Interaction, InteractionEvent};
use gemini_proto::types::{ContinuationToken, FinishReason, GenerateContentResponse};
use gemini_proto::{Error, ErrorKind, StreamFormat};
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use crate::rng::{Split, Splitter};

pub const HELP: &str = "usage: cargo xtask decode --framing sse|json-array|interactions [--split N|random:SEED] FILE
       cargo xtask decode --framing response FILE
       cargo xtask decode --framing error --status N FILE

Decodes FILE with gemini-proto and prints one compact JSON line per item:

  sse, json-array   a streamed body: {\"chunk\": …} per chunk as it is decoded, at most one
                    {\"error\": …}, and last {\"aggregate\": …, \"complete\": true|false,
                    \"continuation\": …}. The file is read piece by piece (--split: N-byte pieces,
                    or random sizes from SEED), so memory does not grow with the number of events.
                    \"continuation\" is the token state of a long answer: the checkpoints seen,
                    the latest token, and the state: \"finished\", \"continues\" (the request
                    ended at the output cap: send it again with the token), \"resumable\" (the
                    stream broke after a checkpoint; \"confirmed\" is the answer up to the token)
                    or \"none\".
  interactions      a streamed Interactions API body (`event:` lines, `data:` objects with their
                    `event_type`): {\"event\": …} per event as it is decoded (unknown types
                    included, as they came), at most one {\"error\": …}, and last
                    {\"interaction\": …, \"complete\": true|false}: the events folded into the
                    interaction, as a unary call returns it. Read piece by piece like sse.
  response          a unary generateContent body: {\"response\": …}, the typed model written
                    back, or {\"error\": …} when it is not one.
  error             the body of a response with HTTP status N: {\"error\": {\"kind\": \"api\",
                    \"message\": …, \"api\": <google.rpc.Status>}}, or {\"error\": {\"kind\": \"http\",
                    \"message\": …, \"status\": N, …}} for a body that is not an API error.
";

/// What decoding a whole body produced (for the conformance suite).
pub struct Decoded {
    pub chunks: Vec<GenerateContentResponse>,
    pub error: Option<Error>,
    pub aggregate: GenerateContentResponse,
}

/// One item out of a stream: a chunk, or the terminal error.
type Item = Result<GenerateContentResponse, Error>;

/// A chunk decoder and the aggregate of what it yielded, handing each item to a sink.
struct StreamDecode {
    decoder: ChunkDecoder,
    aggregator: Aggregator,
    complete: bool,
    checkpoints: u64,
    token: Option<ContinuationToken>,
    finish: Option<FinishReason>,
    /// The aggregate at the latest token.
    mark: Mark,
}

impl StreamDecode {
    fn new(format: StreamFormat) -> Self {
        StreamDecode {
            decoder: ChunkDecoder::new(format),
            aggregator: Aggregator::new(),
            complete: true,
            checkpoints: 0,
            token: None,
            finish: None,
            mark: Mark::default(),
        }
    }

    fn push(
        &mut self,
        piece: &[u8],
        sink: &mut impl FnMut(Item) -> io::Result<()>,
    ) -> io::Result<()> {
        self.decoder.push(piece);
        self.drain(sink)
    }

    fn finish(
        mut self,
        sink: &mut impl FnMut(Item) -> io::Result<()>,
    ) -> io::Result<(GenerateContentResponse, bool)> {
        self.decoder.finish();
        self.drain(sink)?;
        Ok((self.aggregator.into_response(), self.complete))
    }

    /// The token state of a long answer, once the body ended.
    fn continuation(&self) -> Value {
        let token = self.token.as_ref().map(ContinuationToken::to_base64);
        let state = match (&self.finish, &self.token) {
            (Some(FinishReason::Continuation), Some(_)) => "continues",
            (Some(_), _) => "finished",
            (None, Some(_)) => "resumable",
            (None, None) => "none",
        };
        let mut out = json!({ "checkpoints": self.checkpoints, "token": token, "state": state });
        if state == "resumable" {
            let mut confirmed = self.aggregator.clone();
            confirmed.roll_back(&self.mark);
            out["confirmed"] = json!(confirmed.response());
        }
        out
    }

    fn drain(&mut self, sink: &mut impl FnMut(Item) -> io::Result<()>) -> io::Result<()> {
        while let Some(item) = self.decoder.next_chunk() {
            match item {
                Ok(chunk) => {
                    self.aggregator.push(&chunk);
                    if let Some(candidate) = chunk.candidates.first() {
                        if candidate.finish_reason.is_some() {
                            self.finish = candidate.finish_reason.clone();
                        }
                        if let Some(token) = &candidate.continuation_token {
                            if candidate.finish_reason.is_none() {
                                self.checkpoints += 1;
                            }
                            self.token = Some(token.clone());
                            self.mark = self.aggregator.mark();
                        }
                    }
                    sink(Ok(chunk))?;
                }
                Err(err) => {
                    self.complete = false;
                    sink(Err(err))?;
                }
            }
        }
        Ok(())
    }
}

/// Decodes `body` fed in the pieces `split` makes.
pub fn decode(body: &[u8], format: StreamFormat, split: &Split) -> Decoded {
    let mut stream = StreamDecode::new(format);
    let mut chunks = Vec::new();
    let mut error = None;
    let mut sink = |item| {
        match item {
            Ok(chunk) => chunks.push(chunk),
            Err(err) => error = Some(err),
        }
        Ok(())
    };
    for piece in split.pieces(body) {
        let _ = stream.push(piece, &mut sink);
    }
    let (aggregate, _) = stream
        .finish(&mut sink)
        .unwrap_or_else(|_| (GenerateContentResponse::default(), false));
    Decoded {
        chunks,
        error,
        aggregate,
    }
}

/// Decodes a streamed body read from `input` piece by piece, writing each line to `out` as soon as
/// it is known. Memory holds one read, the decoder's current event and the aggregate.
pub fn decode_stream(
    mut input: impl Read,
    format: StreamFormat,
    split: &Split,
    out: &mut impl Write,
) -> io::Result<bool> {
    let mut stream = StreamDecode::new(format);
    let mut sink = |item: Item| {
        let line = match item {
            Ok(chunk) => json!({ "chunk": chunk }),
            Err(err) => error_json(&err),
        };
        write_line(out, &line)
    };
    read_pieces(&mut input, split, &mut |piece| {
        stream.push(piece, &mut sink)
    })?;
    stream.decoder.finish();
    stream.drain(&mut sink)?;
    let continuation = stream.continuation();
    let complete = stream.complete;
    write_line(
        out,
        &json!({
            "aggregate": stream.aggregator.response(),
            "complete": complete,
            "continuation": continuation,
        }),
    )?;
    Ok(complete)
}

/// What decoding a whole Interactions API stream produced (for the conformance suite).
pub struct DecodedInteraction {
    pub events: Vec<InteractionEvent>,
    pub error: Option<Error>,
    pub interaction: Interaction,
}

/// An Interactions API stream, fed piece by piece to the event decoder and the assembler, each
/// item handed to `sink` as soon as it is decoded.
fn decode_events(
    mut input: impl Read,
    split: &Split,
    sink: &mut impl FnMut(Result<&InteractionEvent, &Error>) -> io::Result<()>,
) -> io::Result<(Assembler, bool)> {
    let mut decoder = EventDecoder::new();
    let mut assembler = Assembler::new();
    let mut complete = true;
    let mut drain = |decoder: &mut EventDecoder, assembler: &mut Assembler| -> io::Result<()> {
        while let Some(item) = decoder.next_event() {
            match item {
                Ok(event) => {
                    assembler.push(&event);
                    sink(Ok(&event))?;
                }
                Err(err) => {
                    complete = false;
                    sink(Err(&err))?;
                }
            }
        }
        Ok(())
    };
    read_pieces(&mut input, split, &mut |piece| {
        decoder.push(piece);
        drain(&mut decoder, &mut assembler)
    })?;
    decoder.finish();
    drain(&mut decoder, &mut assembler)?;
    Ok((assembler, complete))
}

/// Reads `input` to its end and hands its bytes to `f` in the pieces `split` makes, whatever the
/// sizes of the reads.
fn read_pieces(
    input: &mut impl Read,
    split: &Split,
    f: &mut impl FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<()> {
    let mut splitter = Splitter::new(split);
    let mut buf = vec![0; 64 * 1024];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        splitter.feed(&buf[..n], f)?;
    }
    splitter.finish(f)
}

/// Decodes a whole Interactions API stream fed in the pieces `split` makes.
pub fn decode_interaction(body: &[u8], split: &Split) -> DecodedInteraction {
    let mut events = Vec::new();
    let mut error = None;
    let outcome = decode_events(body, split, &mut |item| {
        match item {
            Ok(event) => events.push(event.clone()),
            Err(err) => error = Some(err.clone()),
        }
        Ok(())
    });
    let interaction =
        outcome.map_or_else(|_| Interaction::default(), |(a, _)| a.into_interaction());
    DecodedInteraction {
        events,
        error,
        interaction,
    }
}

/// Decodes an Interactions API stream read from `input`, writing each line to `out` as soon as it
/// is known: `{"event": …}` per event, at most one `{"error": …}`, and last `{"interaction": …,
/// "complete": …}`.
pub fn decode_interaction_stream(
    input: impl Read,
    split: &Split,
    out: &mut impl Write,
) -> io::Result<bool> {
    let (assembler, complete) = decode_events(input, split, &mut |item| {
        let line = match item {
            Ok(event) => json!({ "event": event }),
            Err(err) => error_json(err),
        };
        write_line(out, &line)
    })?;
    write_line(
        out,
        &json!({ "interaction": assembler.into_interaction(), "complete": complete }),
    )?;
    Ok(complete)
}

/// A unary `generateContent` body: `{"response": …}`, or `{"error": …}` when it is not one.
pub fn decode_response(body: &[u8]) -> Value {
    match classify_response::<GenerateContentResponse>(StatusCode::OK, &HeaderMap::new(), body) {
        Ok(response) => json!({ "response": response }),
        Err(err) => error_json(&err),
    }
}

/// The body of a response with an error status: `{"error": …}`.
pub fn decode_error(status: StatusCode, body: &[u8]) -> Value {
    error_json(&parse_error_body(status, &HeaderMap::new(), body))
}

fn write_line(out: &mut impl Write, value: &Value) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
}

/// The short name of an error kind used in the JSON output.
pub fn kind_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Api => "api",
        ErrorKind::Decode => "malformed",
        ErrorKind::Truncated => "truncated",
        ErrorKind::Incomplete => "incomplete",
        ErrorKind::TooLarge => "too_large",
        ErrorKind::UnexpectedBody => "http",
        ErrorKind::InvalidRequest => "invalid_request",
        _ => "other",
    }
}

pub fn error_json(err: &Error) -> Value {
    let mut value = json!({"kind": kind_name(err.kind()), "message": err.to_string()});
    if let Some(api) = err.api_error() {
        value["api"] = serde_json::to_value(api).unwrap_or(Value::Null);
    }
    if err.kind() == ErrorKind::UnexpectedBody {
        if let Some(status) = err.http_status() {
            value["status"] = json!(status.as_u16());
        }
        if let Some(excerpt) = err.excerpt() {
            value["excerpt"] = json!(excerpt);
        }
        if let Some(len) = err.body_len() {
            value["body_len"] = json!(len);
        }
    }
    json!({ "error": value })
}

/// How the body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    Stream(StreamFormat),
    Interactions,
    Response,
    Error,
}

pub fn parse_framing(text: &str) -> Result<Framing, String> {
    match text {
        "sse" => Ok(Framing::Stream(StreamFormat::Sse)),
        "json-array" => Ok(Framing::Stream(StreamFormat::JsonArray)),
        "interactions" => Ok(Framing::Interactions),
        "response" => Ok(Framing::Response),
        "error" => Ok(Framing::Error),
        other => Err(format!(
            "--framing takes sse, json-array, interactions, response or error, not {other:?}"
        )),
    }
}

pub fn run(args: &[String]) -> Result<bool, String> {
    let mut framing = None;
    let mut split = None;
    let mut status = None;
    let mut file = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                print!("{HELP}");
                return Ok(true);
            }
            "--framing" => {
                framing = Some(parse_framing(
                    args.next().ok_or("--framing needs a value")?,
                )?);
            }
            "--split" => split = Some(Split::parse(args.next().ok_or("--split needs a value")?)?),
            "--status" => {
                let value = args.next().ok_or("--status needs an HTTP status")?;
                status = Some(
                    value
                        .parse::<u16>()
                        .ok()
                        .and_then(|s| StatusCode::from_u16(s).ok())
                        .ok_or_else(|| format!("--status takes an HTTP status, not {value:?}"))?,
                );
            }
            other if other.starts_with("--") => return Err(format!("unknown option {other:?}")),
            other if file.is_none() => file = Some(other.to_owned()),
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    let framing = framing
        .ok_or("--framing sse|json-array|interactions|response|error is required (see --help)")?;
    let file = file.ok_or("a FILE to decode is required (see --help)")?;
    let read_whole = || std::fs::read(&file).map_err(|err| format!("reading {file}: {err}"));
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let written = match framing {
        Framing::Stream(format) => {
            if status.is_some() {
                return Err("--status goes with --framing error".into());
            }
            let input = File::open(&file).map_err(|err| format!("reading {file}: {err}"))?;
            decode_stream(input, format, &split.unwrap_or(Split::Whole), &mut out).map(|_| ())
        }
        Framing::Interactions => {
            if status.is_some() {
                return Err("--status goes with --framing error".into());
            }
            let input = File::open(&file).map_err(|err| format!("reading {file}: {err}"))?;
            decode_interaction_stream(input, &split.unwrap_or(Split::Whole), &mut out).map(|_| ())
        }
        Framing::Response | Framing::Error => {
            if split.is_some() {
                return Err("--split goes with --framing sse, json-array or interactions".into());
            }
            let value = if framing == Framing::Response {
                if status.is_some() {
                    return Err("--status goes with --framing error".into());
                }
                decode_response(&read_whole()?)
            } else {
                let status = status.ok_or("--framing error needs --status N")?;
                decode_error(status, &read_whole()?)
            };
            write_line(&mut out, &value)
        }
    };
    written
        .and_then(|()| out.flush())
        .map_err(|err| format!("writing the output: {err}"))?;
    Ok(true)
}

#[cfg(test)]
mod continuation_tests {
    use super::*;

    fn event(text: &str, extra: &str) -> String {
        format!(
            "data: {{\"candidates\": [{{\"content\": {{\"parts\": [{{\"text\": \"{text}\"}}]}}{extra}}}]}}\r\n\r\n"
        )
    }

    fn last_line(body: &str) -> Value {
        let mut out = Vec::new();
        decode_stream(body.as_bytes(), StreamFormat::Sse, &Split::Whole, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        serde_json::from_str(text.lines().last().unwrap()).unwrap()
    }

    #[test]
    fn reports_the_token_state_of_a_long_answer() {
        let checkpoint = ",\"continuationToken\": \"AAE=\"";
        // Ended at the output cap: send the request again with the token.
        let capped = format!(
            "{}{}",
            event("one ", checkpoint),
            event(
                "two",
                ",\"finishReason\": \"CONTINUATION\",\"continuationToken\": \"AAI=\""
            )
        );
        let line = last_line(&capped);
        assert_eq!(line["continuation"]["state"], "continues");
        assert_eq!(line["continuation"]["token"], "AAI=");
        assert_eq!(line["continuation"]["checkpoints"], 1);
        // Broken after a checkpoint: resumable, and what is confirmed ends at the token.
        let broken = format!("{}{}", event("kept ", checkpoint), event("lost", ""));
        let line = last_line(&broken);
        assert_eq!(line["complete"], false);
        assert_eq!(line["continuation"]["state"], "resumable");
        assert_eq!(
            line["continuation"]["confirmed"]["candidates"][0]["content"]["parts"][0]["text"],
            "kept "
        );
        assert_eq!(
            line["aggregate"]["candidates"][0]["content"]["parts"][0]["text"],
            "kept lost"
        );
        // An ordinary answer.
        let line = last_line(&event("done", ",\"finishReason\": \"STOP\""));
        assert_eq!(line["continuation"]["state"], "finished");
        assert_eq!(line["continuation"]["token"], Value::Null);
    }
}
