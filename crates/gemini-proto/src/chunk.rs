//! From body bytes to typed chunks: [`ChunkDecoder`].
//!
//! The decoder sits on top of either framing ([`SseDecoder`] for `alt=sse`, [`JsonArrayDecoder`]
//! otherwise) and yields one [`GenerateContentResponse`] per event or element, then at most one terminal
//! [`Error`]. It detects everything that can go wrong in a stream that started with HTTP 200:
//!
//! | what happened | error kind |
//! |---|---|
//! | an event `data: {"error": {…}}` | [`ErrorKind::Api`](crate::ErrorKind::Api) |
//! | a raw (possibly pretty-printed) JSON error object injected outside the SSE framing | `Api` |
//! | an event that is not valid JSON, or not a response | `Decode`, with the event index, byte offset and an excerpt |
//! | an event larger than the limit | `TooLarge` |
//! | the body ends inside an event | `Truncated` |
//! | the body ends cleanly, but no candidate carried a finish reason and no prompt block was reported | `Incomplete` |
//!
//! Both framings read text by the crate's [text-encoding rule](crate#text-encoding): a leading
//! byte-order mark is ignored (an error object right after it is still the API error), and invalid
//! UTF-8 inside an event or element reads as U+FFFD.
//!
//! A finish reason other than `STOP` (such as `SAFETY` or `MAX_TOKENS`) is data, not an error. Chunks
//! decoded before a failure are always yielded before the error, so what arrived is never lost.
//!
//! ```
//! use gemini_proto::chunk::ChunkDecoder;
//! use gemini_proto::{ErrorKind, StreamFormat};
//!
//! let mut decoder = ChunkDecoder::new(StreamFormat::Sse);
//! decoder.push(b"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hel\"}]}}]}\r\n\r\n");
//! decoder.push(b"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"lo\"}]}}]}\r\n\r\nda");
//! decoder.finish(); // the connection ended in the middle of a third event
//!
//! let mut text = String::new();
//! let mut failure = None;
//! while let Some(item) = decoder.next_chunk() {
//!     match item {
//!         Ok(chunk) => text.push_str(&chunk.text().unwrap_or_default()),
//!         Err(err) => failure = Some(err),
//!     }
//! }
//! assert_eq!(text, "Hello");
//! assert_eq!(failure.unwrap().kind(), ErrorKind::Truncated);
//! ```

use std::collections::VecDeque;

use crate::encoding::parse_model_into;
use crate::error::{ApiError, Error};
use crate::json_array::{JsonArrayDecoder, JsonArrayError};
use crate::json_reader::Interned;
use crate::request::StreamFormat;
use crate::sse::{DEFAULT_MAX_EVENT_SIZE, SseDecoder, SseEventRef};
use crate::types::GenerateContentResponse;

/// Where a decoded item sits in the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Position {
    index: u64,
    offset: u64,
}

#[derive(Debug)]
enum Framing {
    Sse(SniffedSse),
    JsonArray(JsonArrayDecoder),
}

/// An SSE body as Google's streams are read: the SSE decoder, stopping at a line that starts a JSON
/// value, and the value found there, an error object written outside the framing. Shared by every
/// SSE-framed decoder of the crate, so that all of them report in-band errors, oversized events and
/// truncation alike, and each scans a body for line ends once.
#[derive(Debug)]
pub(crate) struct SniffedSse {
    /// Stops at a line that starts a JSON value ([`SseDecoder::stopping_at_json`]).
    decoder: Box<SseDecoder>,
    /// The JSON value found there, once one was.
    injected: Option<Injected>,
    max_event_size: usize,
}

impl SniffedSse {
    pub(crate) fn new(max_event_size: usize) -> Self {
        Self {
            decoder: Box::new(SseDecoder::with_max_event_size(max_event_size).stopping_at_json()),
            injected: None,
            max_event_size,
        }
    }

    /// Feeds a piece of the body, handing every event it completes to `accept`, borrowed from the
    /// bytes as they arrived where it lies in one piece (true: the event counts as an item; an error
    /// ends the stream, and the rest of the piece is not decoded). Returns the error that ends the
    /// stream, if any; `items` is the number of items before this piece (the index of an error after
    /// them).
    pub(crate) fn push(
        &mut self,
        bytes: &[u8],
        mut items: u64,
        mut accept: impl FnMut(SseEventRef<'_>) -> Result<bool, Error>,
    ) -> Option<Error> {
        let mut rest = bytes;
        if self.injected.is_none() {
            let before = self.decoder.position();
            let mut failed = None;
            let pushed = self.decoder.push_with(bytes, |event| {
                if failed.is_none() {
                    match accept(event) {
                        Ok(counted) => items += u64::from(counted),
                        Err(error) => failed = Some(error),
                    }
                }
            });
            // Events completed before anything else went wrong come first.
            if failed.is_some() {
                return failed;
            }
            if let Err(err) = pushed {
                return Some(
                    Error::too_large(err.limit)
                        .with_event_index(err.index)
                        .with_byte_offset(err.offset),
                );
            }
            let start = self.decoder.json_start()?;
            rest = &bytes[(start - before) as usize..];
            self.injected = Some(Injected {
                start,
                decoder: JsonArrayDecoder::with_max_element_size(self.max_event_size),
            });
        }
        let found = self.injected.as_mut()?.push(rest)?;
        Some(match found {
            Ok((offset, json)) => injected_error(&json, offset, items),
            Err(err) => err.with_event_index(items),
        })
    }

    /// The body ended: the error of a body cut inside an event or an injected JSON value.
    pub(crate) fn finish(&mut self, items: u64) -> Option<Error> {
        if let Some(err) = self.injected.as_mut().and_then(Injected::finish) {
            return Some(err.with_event_index(items));
        }
        self.decoder.finish().map(|discarded| {
            Error::truncated(&[])
                .with_event_index(items)
                .with_byte_offset(discarded.offset)
        })
    }

    /// The SSE `id:` in effect.
    pub(crate) fn last_event_id(&self) -> &str {
        self.decoder.last_event_id()
    }
}

/// A JSON value that starts at the beginning of a line of an SSE body.
///
/// Such a line is a field named `{` for the SSE standard, which ignores it; but for Gemini it is an
/// error object injected into the stream after the status line (Vertex AI does this). The SSE
/// decoder looks at the first byte of every line as it frames them and stops at a line starting with
/// `{` or `[`; from there on, the bytes go to a JSON-array decoder instead (it understands strings and
/// escapes, so braces inside strings cannot fool it) and the SSE decoder sees nothing more. Because
/// the split point is a byte offset, the outcome does not depend on how the body was cut into pieces.
///
/// A byte-order mark at the very start of the body is not part of the first line (the SSE decoder
/// strips it), so an error object right after it is still found.
#[derive(Debug)]
struct Injected {
    /// Body offset of the value's first byte.
    start: u64,
    decoder: JsonArrayDecoder,
}

impl Injected {
    /// Feeds bytes of the value; returns it once complete.
    fn push(&mut self, input: &[u8]) -> Option<Result<(u64, Vec<u8>), Error>> {
        let pushed = self.decoder.push(input);
        // A value completed in this piece wins over anything wrong after it, so that the outcome does
        // not depend on where the body was cut.
        // For `[{"error": …}]` the decoder yields the object inside the array.
        if let Some(element) = self.decoder.next_element() {
            return Some(Ok((self.start + element.offset, element.json)));
        }
        pushed.err().map(|err| Err(framing_error(err, self.start)))
    }

    /// The body ended; a value in progress means the injected JSON was cut off.
    fn finish(&mut self) -> Option<Error> {
        let partial = self.decoder.partial_element().to_vec();
        match self.decoder.finish() {
            Ok(()) => None,
            Err(_) => Some(Error::truncated(&partial).with_byte_offset(self.start)),
        }
    }
}

fn framing_error(err: JsonArrayError, base: u64) -> Error {
    match err {
        JsonArrayError::UnexpectedByte {
            byte,
            offset,
            expected,
        } => Error::decode(
            format!("unexpected byte 0x{byte:02x} in the stream, expected {expected}"),
            &[byte],
        )
        .with_byte_offset(base + offset),
        JsonArrayError::ElementTooLarge {
            limit,
            offset,
            index,
        } => Error::too_large(limit)
            .with_event_index(index)
            .with_byte_offset(base + offset),
        JsonArrayError::Truncated {
            offset,
            element_offset,
            ..
        } => Error::truncated(&[]).with_byte_offset(base + element_offset.unwrap_or(offset)),
    }
}

/// Decodes a streamed `streamGenerateContent` body into chunks. Push bytes in with
/// [`push`](Self::push), signal the end of the body with [`finish`](Self::finish), and take chunks out
/// with [`next_chunk`](Self::next_chunk). See the [module documentation](self).
///
/// The output never depends on how the body was split into pieces.
#[derive(Debug)]
pub struct ChunkDecoder {
    framing: Framing,
    ready: VecDeque<GenerateContentResponse>,
    error: Option<Error>,
    /// The terminal error has been handed out, or decoding finished cleanly.
    done: bool,
    finished_input: bool,
    /// Some candidate carried a finish reason, or the prompt was blocked.
    saw_finish: bool,
    chunks: u64,
    /// The strings the latest chunks repeat (model version, response id), shared with the next.
    interned: Interned,
}

impl ChunkDecoder {
    /// A decoder for a body framed as `format`, with the default maximum event size (64 MiB).
    pub fn new(format: StreamFormat) -> Self {
        Self::with_max_event_size(format, DEFAULT_MAX_EVENT_SIZE)
    }

    /// A decoder whose events (or array elements) may be at most `max_event_size` bytes.
    pub fn with_max_event_size(format: StreamFormat, max_event_size: usize) -> Self {
        let framing = match format {
            StreamFormat::JsonArray => {
                Framing::JsonArray(JsonArrayDecoder::with_max_element_size(max_event_size))
            }
            _ => Framing::Sse(SniffedSse::new(max_event_size)),
        };
        Self {
            framing,
            ready: VecDeque::new(),
            interned: Interned::default(),
            error: None,
            done: false,
            finished_input: false,
            saw_finish: false,
            chunks: 0,
        }
    }

    /// Feeds the next piece of the body. Pieces after a terminal error or after [`finish`](Self::finish)
    /// are ignored.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.error.is_some() || self.done || self.finished_input {
            return;
        }
        match &mut self.framing {
            Framing::Sse(sse) => {
                let (ready, interned, saw_finish, chunks) = (
                    &mut self.ready,
                    &mut self.interned,
                    &mut self.saw_finish,
                    &mut self.chunks,
                );
                let before = *chunks;
                self.error = sse.push(bytes, before, |event| {
                    let position = Position {
                        index: event.index,
                        offset: event.offset,
                    };
                    let mut error = None;
                    let data = event.data;
                    if Self::accept(
                        ready, interned, saw_finish, chunks, data, position, &mut error,
                    ) {
                        Ok(true)
                    } else {
                        Err(error.unwrap_or_else(Error::incomplete))
                    }
                });
            }
            Framing::JsonArray(decoder) => {
                let pushed = decoder.push(bytes);
                while let Some(element) = decoder.next_element() {
                    let position = Position {
                        index: element.index,
                        offset: element.offset,
                    };
                    if !Self::accept(
                        &mut self.ready,
                        &mut self.interned,
                        &mut self.saw_finish,
                        &mut self.chunks,
                        &element.json,
                        position,
                        &mut self.error,
                    ) {
                        return;
                    }
                }
                if let Err(err) = pushed {
                    self.error = Some(framing_error(err, 0).with_event_index(self.chunks));
                }
            }
        }
    }

    /// Signals the end of the body. Detects a body cut inside an event (truncated) and a stream that
    /// ended without any finish reason (incomplete).
    pub fn finish(&mut self) {
        if self.error.is_some() || self.done || self.finished_input {
            return;
        }
        self.finished_input = true;
        match &mut self.framing {
            Framing::Sse(sse) => {
                if let Some(err) = sse.finish(self.chunks) {
                    self.error = Some(err);
                    return;
                }
            }
            Framing::JsonArray(decoder) => {
                if let Err(err) = decoder.finish() {
                    let partial = decoder.partial_element().to_vec();
                    let mut error = framing_error(err, 0).with_event_index(self.chunks);
                    if !partial.is_empty() {
                        let offset = error.byte_offset();
                        error = Error::truncated(&partial).with_event_index(self.chunks);
                        if let Some(offset) = offset {
                            error = error.with_byte_offset(offset);
                        }
                    }
                    self.error = Some(error);
                    return;
                }
            }
        }
        if !self.saw_finish {
            self.error = Some(Error::incomplete().with_event_index(self.chunks));
        }
    }

    /// The next decoded item: chunks in order, then at most one terminal error. `None` means "nothing
    /// more for now" before [`finish`](Self::finish), and "the end" after it.
    pub fn next_chunk(&mut self) -> Option<Result<GenerateContentResponse, Error>> {
        next_item(
            &mut self.ready,
            &mut self.error,
            &mut self.done,
            self.finished_input,
        )
    }

    /// The next decoded chunk, in place in the queue it is handed out from (errors and the
    /// end are for [`next_chunk`](Self::next_chunk)).
    pub(crate) fn ready_chunk_mut(&mut self) -> Option<&mut GenerateContentResponse> {
        self.ready.front_mut()
    }

    /// Takes the chunk [`ready_chunk_mut`](Self::ready_chunk_mut) showed.
    pub(crate) fn take_ready_chunk(&mut self) -> Option<GenerateContentResponse> {
        self.ready.pop_front()
    }

    /// The number of chunks decoded so far.
    pub fn chunks_decoded(&self) -> u64 {
        self.chunks
    }

    /// True when some candidate carried a finish reason or the prompt was reported blocked.
    pub fn saw_finish(&self) -> bool {
        self.saw_finish
    }

    /// True once the body ended cleanly and every chunk has been taken, or a terminal error was taken.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Decodes one event's data; returns false when it ended the stream with an error.
    fn accept(
        ready: &mut VecDeque<GenerateContentResponse>,
        interned: &mut Interned,
        saw_finish: &mut bool,
        chunks: &mut u64,
        data: &[u8],
        position: Position,
        error: &mut Option<Error>,
    ) -> bool {
        // Parsed in the queue slot it is handed out from, not moved there (and built there:
        // `push_back` would build it aside, then copy it).
        ready.resize_with(ready.len() + 1, GenerateContentResponse::default);
        let Some(chunk) = ready.back_mut() else {
            return false;
        };
        match decode_chunk(data, position, chunk, interned) {
            Ok(()) => {
                if chunk.candidates.iter().any(|c| c.finish_reason.is_some())
                    || chunk.block_reason().is_some()
                {
                    *saw_finish = true;
                }
                *chunks += 1;
                true
            }
            Err(err) => {
                ready.pop_back();
                *error = Some(err);
                false
            }
        }
    }
}

/// The next item of a stream decoder: the items ready, in order, then at most one terminal error;
/// `None` for "nothing more for now" until the body ended (`finished`), then for "the end" (and
/// `done` is set).
pub(crate) fn next_item<T>(
    ready: &mut VecDeque<T>,
    error: &mut Option<Error>,
    done: &mut bool,
    finished: bool,
) -> Option<Result<T, Error>> {
    if let Some(item) = ready.pop_front() {
        return Some(Ok(item));
    }
    if *done {
        return None;
    }
    if let Some(err) = error.take() {
        *done = true;
        return Some(Err(err));
    }
    if finished {
        *done = true;
    }
    None
}

/// A JSON value found outside the SSE framing.
fn injected_error(json: &[u8], offset: u64, index: u64) -> Error {
    match ApiError::from_slice(json) {
        Some(api) => Error::api(api)
            .with_event_index(index)
            .with_byte_offset(offset),
        None => Error::decode(
            "the stream holds JSON outside of any server-sent event",
            json,
        )
        .with_event_index(index)
        .with_byte_offset(offset),
    }
}

/// Decodes the data of one event or array element into `chunk`, which holds the default value
/// (invalid UTF-8 inside it reads as U+FFFD, the crate's text-encoding rule, whichever the
/// framing).
fn decode_chunk(
    data: &[u8],
    position: Position,
    chunk: &mut GenerateContentResponse,
    interned: &mut Interned,
) -> Result<(), Error> {
    let (parsed, data) = parse_model_into(data, chunk, interned);
    let error = match parsed {
        // An `{"error": …}` object parses as a response whose only member is unknown.
        Ok(()) if !chunk.extra.contains_key("error") => return Ok(()),
        Ok(()) => match ApiError::from_slice(&data) {
            Some(api) => Error::api(api),
            None => return Ok(()),
        },
        Err(err) => match ApiError::from_slice(&data) {
            Some(api) => Error::api(api),
            None => Error::decode_json(err, &data),
        },
    };
    Err(error
        .with_event_index(position.index)
        .with_byte_offset(position.offset))
}
