//! Sans-IO decoder for `text/event-stream` bodies (server-sent events).
//!
//! [`SseDecoder`] implements the "interpreting an event stream" algorithm of the WHATWG HTML
//! Standard on raw bytes: push the body in pieces of any size with [`SseDecoder::push`], take the
//! finished events with [`SseDecoder::next_event`], and tell the decoder that the body ended with
//! [`SseDecoder::finish`].
//!
//! What the decoder guarantees:
//!
//! * The result never depends on how the body is split into pieces: a CR at the end of one piece
//!   followed by an LF at the start of the next is one line ending, a byte-order mark split across
//!   pieces is still stripped, and a multi-byte UTF-8 character split across pieces is decoded
//!   intact (text is decoded once per finished event, never per piece).
//! * Invalid UTF-8 is replaced with U+FFFD per maximal subpart, exactly like
//!   [`String::from_utf8_lossy`]; it never affects neighbouring text. A byte-order mark is stripped
//!   at the start of the body only (the crate's [text-encoding rule](crate#text-encoding)).
//! * Work is linear in the input: every byte is scanned once, whatever the split pattern.
//! * Memory is bounded: an event (its data plus the line being received) larger than
//!   [`SseDecoder::max_event_size`] stops decoding with [`EventTooLarge`] instead of growing.
//! * An event that is still incomplete when the body ends is discarded, as the standard requires,
//!   but [`SseDecoder::finish`] reports it, so a truncated body is never mistaken for a clean end.
//!
//! # Example
//!
//! ```
//! use gemini_proto::sse::SseDecoder;
//!
//! let mut decoder = SseDecoder::new();
//! // The body arrives in arbitrary pieces; here a CRLF is split between two of them.
//! decoder.push(b"data: {\"a\": 1}\r")?;
//! decoder.push(b"\n\r\ndata: {\"a\"")?;
//! let first = decoder.next_event().expect("one complete event");
//! assert_eq!(first.data, "{\"a\": 1}");
//! assert_eq!(first.event_type(), "message");
//! assert_eq!((first.index, first.offset), (0, 0));
//! assert!(decoder.next_event().is_none());
//!
//! // The body ends in the middle of the second event: it is discarded, and reported.
//! let discarded = decoder.finish().expect("an incomplete event was discarded");
//! assert_eq!((discarded.offset, discarded.len), (18, 10));
//! # Ok::<(), gemini_proto::sse::EventTooLarge>(())
//! ```

use std::collections::VecDeque;
use std::fmt;

use crate::encoding::BOM;

/// The default for [`SseDecoder::max_event_size`]: 64 MiB.
///
/// Gemini sends a generated image as one event holding the whole base64-encoded file, so the
/// limit has to be far above the size of ordinary text events (a few hundred bytes).
pub const DEFAULT_MAX_EVENT_SIZE: usize = 64 * 1024 * 1024;

/// A held-over `data` line at least this long becomes the data buffer without being copied.
const ADOPT_LINE_LEN: usize = 16 * 1024;

/// One dispatched server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The event's data: its `data` field values joined with LF (U+000A).
    pub data: String,
    /// The value of the event's `event` field, or `None` when it had none or an empty one.
    ///
    /// See [`SseEvent::event_type`] for the type as the standard defines it.
    pub event: Option<String>,
    /// The last event ID in effect when this event was dispatched (`""` if none was ever set).
    ///
    /// IDs persist: an event without an `id` field carries the ID of an earlier one.
    pub last_event_id: String,
    /// The reconnection time in milliseconds in effect when this event was dispatched, if any
    /// `retry` field has set one so far. This is a property of the stream, not of the event.
    pub retry: Option<u64>,
    /// Zero-based number of this event among the events dispatched from the stream.
    pub index: u64,
    /// Offset in bytes, from the start of the body (a byte-order mark included), of the first
    /// byte of this event's first `data` line.
    pub offset: u64,
}

impl SseEvent {
    /// The event type: the `event` field's value, or `"message"` when it was missing or empty.
    ///
    /// ```
    /// # use gemini_proto::sse::SseDecoder;
    /// let mut decoder = SseDecoder::new();
    /// decoder.push(b"data: a\n\nevent: ping\ndata: b\n\n")?;
    /// assert_eq!(decoder.next_event().unwrap().event_type(), "message");
    /// assert_eq!(decoder.next_event().unwrap().event_type(), "ping");
    /// # Ok::<(), gemini_proto::sse::EventTooLarge>(())
    /// ```
    pub fn event_type(&self) -> &str {
        self.event.as_deref().unwrap_or("message")
    }
}

/// An event (or a single line) exceeded [`SseDecoder::max_event_size`].
///
/// Decoding stops at this point: the decoder keeps returning this error from
/// [`SseDecoder::push`]; events completed before the oversized one remain available from
/// [`SseDecoder::next_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTooLarge {
    /// The limit that was exceeded, in bytes.
    pub limit: usize,
    /// Offset in the body of the start of the oversized event (its first `data` line) or, when it
    /// has no data yet, of the oversized line.
    pub offset: u64,
    /// Index the event would have had (the number of events dispatched before it).
    pub index: u64,
}

impl fmt::Display for EventTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "server-sent event {} at byte offset {} exceeds the maximum event size of {} bytes",
            self.index, self.offset, self.limit
        )
    }
}

impl std::error::Error for EventTooLarge {}

/// What [`SseDecoder::finish`] reports when the body ended in the middle of an event.
///
/// The standard discards such an event. For a Gemini stream it means the body was truncated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Discarded {
    /// Offset in the body where the discarded part starts: the event's first `data` line or, if
    /// the event had no data yet, the unterminated last line.
    pub offset: u64,
    /// Number of body bytes from `offset` to the end of the body.
    pub len: u64,
}

/// Where the decoder stands with respect to the optional leading byte-order mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BomState {
    /// Nothing seen yet, or only a proper prefix of the BOM (kept in `line`).
    Pending,
    /// Decided: the BOM was stripped or was not there.
    Done,
}

/// Incremental, sans-IO decoder of a `text/event-stream` body.
///
/// See the [module documentation](self) for the guarantees and an example.
#[derive(Debug, Clone)]
pub struct SseDecoder {
    max_event_size: usize,
    bom: BomState,
    /// The previous piece ended with a CR: an LF at the start of the next piece is part of it.
    after_cr: bool,
    /// Bytes of the current, still unterminated line (or of a possible BOM prefix).
    line: Vec<u8>,
    /// Body offset of the first byte of `line`.
    line_offset: u64,
    /// Number of body bytes pushed so far.
    position: u64,
    /// The data buffer without its trailing LF; meaningful only when `has_data`.
    data: Vec<u8>,
    has_data: bool,
    /// Body offset of the current event's first `data` line.
    data_offset: u64,
    event_type: Vec<u8>,
    id_buffer: Vec<u8>,
    /// `id_buffer` changed since `last_event_id` was last set.
    id_changed: bool,
    last_event_id: String,
    reconnection_time: Option<u64>,
    dispatched: u64,
    ready: VecDeque<SseEvent>,
    failed: Option<EventTooLarge>,
}

impl Default for SseDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl SseDecoder {
    /// A decoder with the default maximum event size ([`DEFAULT_MAX_EVENT_SIZE`]).
    pub fn new() -> Self {
        Self::with_max_event_size(DEFAULT_MAX_EVENT_SIZE)
    }

    /// A decoder that fails with [`EventTooLarge`] once the data of one event plus the line being
    /// received exceed `max_event_size` bytes (a single line alone, such as a comment, counts too).
    ///
    /// ```
    /// use gemini_proto::sse::SseDecoder;
    ///
    /// let mut decoder = SseDecoder::with_max_event_size(8);
    /// decoder.push(b"data: ok\n\n").unwrap();
    /// let err = decoder.push(b"data: 0123456789\n\n").unwrap_err();
    /// assert_eq!((err.limit, err.offset, err.index), (8, 10, 1));
    /// // The event completed before the oversized one is still there.
    /// assert_eq!(decoder.next_event().unwrap().data, "ok");
    /// ```
    pub fn with_max_event_size(max_event_size: usize) -> Self {
        SseDecoder {
            max_event_size,
            bom: BomState::Pending,
            after_cr: false,
            line: Vec::new(),
            line_offset: 0,
            position: 0,
            data: Vec::new(),
            has_data: false,
            data_offset: 0,
            event_type: Vec::new(),
            id_buffer: Vec::new(),
            id_changed: false,
            last_event_id: String::new(),
            reconnection_time: None,
            dispatched: 0,
            ready: VecDeque::new(),
            failed: None,
        }
    }

    /// The configured maximum event size in bytes.
    pub fn max_event_size(&self) -> usize {
        self.max_event_size
    }

    /// The stream's last event ID: the value committed by the most recent dispatch
    /// (`""` if none). This is what a client sends as `Last-Event-ID` when it reconnects.
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// The reconnection time in milliseconds set by the most recent valid `retry` field, if any.
    pub fn reconnection_time(&self) -> Option<u64> {
        self.reconnection_time
    }

    /// Number of body bytes pushed since the decoder was created or last [finished](Self::finish).
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Takes the next dispatched event, oldest first; `None` when no complete event is waiting.
    pub fn next_event(&mut self) -> Option<SseEvent> {
        self.ready.pop_front()
    }

    /// Number of dispatched events waiting to be taken with [`next_event`](Self::next_event).
    pub fn pending_events(&self) -> usize {
        self.ready.len()
    }

    /// Feeds the next piece of the body.
    ///
    /// Every event completed by this piece becomes available from
    /// [`next_event`](Self::next_event). Only the unterminated tail of the piece is copied into
    /// the decoder; complete lines are interpreted in place.
    ///
    /// # Errors
    ///
    /// [`EventTooLarge`] when an event or line exceeds the maximum event size. The decoder then
    /// stops: this and every later call return the same error, and the events completed before
    /// the oversized one stay available.
    pub fn push(&mut self, mut input: &[u8]) -> Result<(), EventTooLarge> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        if input.is_empty() {
            return Ok(());
        }
        let result = self.push_inner(&mut input);
        if let Err(err) = &result {
            self.failed = Some(err.clone());
        }
        result
    }

    fn push_inner(&mut self, input: &mut &[u8]) -> Result<(), EventTooLarge> {
        // `base` is the body offset of `input[0]`; `position` is only advanced at the end.
        let mut base = self.position;
        self.position += input.len() as u64;

        if self.bom == BomState::Pending {
            // Hold back the first bytes of the body until we know whether they are a BOM.
            let take = (BOM.len() - self.line.len()).min(input.len());
            self.line.extend_from_slice(&input[..take]);
            *input = &input[take..];
            base += take as u64;
            if BOM.starts_with(&self.line) && self.line.len() < BOM.len() {
                return Ok(()); // still a possible BOM prefix; `input` is exhausted
            }
            self.bom = BomState::Done;
            let held = std::mem::take(&mut self.line);
            if held.as_slice() == BOM {
                self.line_offset = BOM.len() as u64;
            } else {
                // Not a BOM: the held bytes are ordinary body bytes at offset 0.
                self.line_offset = 0;
                self.feed(&held, 0)?;
            }
        }
        self.feed(input, base)
    }

    /// Interprets `input`, whose first byte is at body offset `base`, after the BOM check.
    fn feed(&mut self, input: &[u8], base: u64) -> Result<(), EventTooLarge> {
        let mut rest = input;
        let mut offset = base;
        if self.after_cr && !rest.is_empty() {
            self.after_cr = false;
            if rest[0] == b'\n' {
                rest = &rest[1..];
                offset += 1;
            }
        }
        if rest.is_empty() {
            return Ok(());
        }

        // Finish the line held over from earlier pieces, if any.
        if !self.line.is_empty() {
            match memchr::memchr2(b'\r', b'\n', rest) {
                None => {
                    self.check_size(self.line.len() + rest.len(), self.line_offset)?;
                    self.line.extend_from_slice(rest);
                    return Ok(());
                }
                Some(end) => {
                    self.line.extend_from_slice(&rest[..end]);
                    let line_offset = self.line_offset;
                    let value_start = data_value_start(&self.line);
                    if let (Some(start), false, true) = (
                        value_start,
                        self.has_data,
                        self.line.len() >= ADOPT_LINE_LEN,
                    ) {
                        // A long first `data` line (an image, say) was held over several pieces:
                        // adopt its buffer as the data buffer instead of copying it again. (Short
                        // lines are copied, so that `line` keeps its allocation.)
                        self.check_size(self.line.len(), line_offset)?;
                        self.data = std::mem::take(&mut self.line);
                        self.data.drain(..start);
                        self.has_data = true;
                        self.data_offset = line_offset;
                    } else {
                        let line = std::mem::take(&mut self.line);
                        self.process_line(&line, line_offset)?;
                        // Give the allocation back for the next held-over line.
                        self.line = line;
                        self.line.clear();
                    }
                    let skip = self.terminator_len(rest, end);
                    rest = &rest[skip..];
                    offset += skip as u64;
                }
            }
        }

        // Complete lines inside this piece are interpreted without copying them first.
        while let Some(end) = memchr::memchr2(b'\r', b'\n', rest) {
            self.process_line(&rest[..end], offset)?;
            let skip = self.terminator_len(rest, end);
            rest = &rest[skip..];
            offset += skip as u64;
        }

        if !rest.is_empty() {
            self.check_size(rest.len(), offset)?;
            self.line.extend_from_slice(rest);
            self.line_offset = offset;
        }
        Ok(())
    }

    /// Length of the line at the start of `rest` (ending at `end`) plus its terminator. Records a
    /// CR that ends the piece, so that an LF starting the next piece is not a second line end.
    fn terminator_len(&mut self, rest: &[u8], end: usize) -> usize {
        if rest[end] == b'\r' {
            match rest.get(end + 1) {
                Some(b'\n') => end + 2,
                Some(_) => end + 1,
                None => {
                    self.after_cr = true;
                    end + 1
                }
            }
        } else {
            end + 1
        }
    }

    /// Fails if a line of `line_len` bytes starting at `line_offset`, together with the data
    /// already buffered for the current event, exceeds the limit. Checking every line (held or
    /// not) against the same bound makes the outcome independent of how the body is split.
    fn check_size(&self, line_len: usize, line_offset: u64) -> Result<(), EventTooLarge> {
        let buffered = if self.has_data { self.data.len() } else { 0 };
        if buffered.saturating_add(line_len) > self.max_event_size {
            let offset = if self.has_data {
                self.data_offset
            } else {
                line_offset
            };
            return Err(self.too_large(offset));
        }
        Ok(())
    }

    fn too_large(&self, offset: u64) -> EventTooLarge {
        EventTooLarge {
            limit: self.max_event_size,
            offset,
            index: self.dispatched,
        }
    }

    /// Interprets one complete line (without its terminator) starting at body offset `offset`.
    fn process_line(&mut self, line: &[u8], offset: u64) -> Result<(), EventTooLarge> {
        self.check_size(line.len(), offset)?;
        if line.is_empty() {
            self.dispatch();
            return Ok(());
        }
        let (name, value) = match memchr::memchr(b':', line) {
            Some(0) => return Ok(()), // comment
            Some(colon) => {
                let value = &line[colon + 1..];
                let value = value.strip_prefix(b" ").unwrap_or(value);
                (&line[..colon], value)
            }
            None => (line, &[][..]),
        };
        match name {
            b"data" => {
                // `check_size` bounded data + line, and the value is shorter than the line.
                if self.has_data {
                    self.data.push(b'\n');
                } else {
                    self.has_data = true;
                    self.data_offset = offset;
                    self.data.clear();
                }
                self.data.extend_from_slice(value);
            }
            b"event" => {
                self.event_type.clear();
                self.event_type.extend_from_slice(value);
            }
            // UTF-8 never encodes anything but U+0000 with a zero byte.
            b"id" if memchr::memchr(0, value).is_none() => {
                self.id_buffer.clear();
                self.id_buffer.extend_from_slice(value);
                self.id_changed = true;
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                let millis = value.iter().fold(0u64, |acc, digit| {
                    acc.saturating_mul(10)
                        .saturating_add(u64::from(digit - b'0'))
                });
                self.reconnection_time = Some(millis);
            }
            // Unknown fields, and `id` / `retry` with an unusable value, are ignored.
            _ => {}
        }
        Ok(())
    }

    /// The blank-line step of the standard ("dispatch the event").
    fn dispatch(&mut self) {
        if self.id_changed {
            self.last_event_id = String::from_utf8_lossy(&self.id_buffer).into_owned();
            self.id_changed = false;
        }
        if !self.has_data {
            self.event_type.clear();
            return;
        }
        self.has_data = false;
        let data = into_string_lossy(std::mem::take(&mut self.data));
        let event = if self.event_type.is_empty() {
            None
        } else {
            let event = String::from_utf8_lossy(&self.event_type).into_owned();
            self.event_type.clear();
            Some(event)
        };
        self.ready.push_back(SseEvent {
            data,
            event,
            last_event_id: self.last_event_id.clone(),
            retry: self.reconnection_time,
            index: self.dispatched,
            offset: self.data_offset,
        });
        self.dispatched += 1;
    }

    /// Signals the end of the body.
    ///
    /// An event that has not been terminated by a blank line is discarded, as the standard
    /// requires; if one was pending (data lines, or an unterminated last line), its position is
    /// returned so that the caller can treat the body as truncated.
    ///
    /// Events already dispatched stay available from [`next_event`](Self::next_event). The
    /// decoder is then ready for a new body (as after a reconnection): the byte-order-mark check,
    /// offsets, event indices and any error are reset, while the last event ID and the
    /// reconnection time are kept.
    ///
    /// ```
    /// use gemini_proto::sse::{Discarded, SseDecoder};
    ///
    /// let mut decoder = SseDecoder::new();
    /// decoder.push(b"data: complete\n\n")?;
    /// assert_eq!(decoder.finish(), None);
    /// decoder.push(b"data: cut off")?;
    /// assert_eq!(decoder.finish(), Some(Discarded { offset: 0, len: 13 }));
    /// assert_eq!(decoder.next_event().unwrap().data, "complete");
    /// # Ok::<(), gemini_proto::sse::EventTooLarge>(())
    /// ```
    #[must_use = "a discarded incomplete event means the body was truncated"]
    pub fn finish(&mut self) -> Option<Discarded> {
        let start = if self.has_data {
            Some(self.data_offset)
        } else if !self.line.is_empty() {
            Some(self.line_offset)
        } else {
            None
        };
        let discarded = start.map(|offset| Discarded {
            offset,
            len: self.position - offset,
        });
        let ready = std::mem::take(&mut self.ready);
        let last_event_id = std::mem::take(&mut self.last_event_id);
        let reconnection_time = self.reconnection_time;
        let id_buffer = last_event_id.as_bytes().to_vec();
        *self = SseDecoder {
            ready,
            last_event_id,
            reconnection_time,
            id_buffer,
            ..SseDecoder::with_max_event_size(self.max_event_size)
        };
        discarded
    }
}

/// If `line` is a `data` field, the index where its value starts (after `data:` and at most one
/// space).
fn data_value_start(line: &[u8]) -> Option<usize> {
    let rest = line.strip_prefix(b"data")?;
    match rest {
        [] => Some(4),
        [b':', b' ', ..] => Some(6),
        [b':', ..] => Some(5),
        _ => None,
    }
}

/// Converts bytes to a `String`, replacing invalid UTF-8 like `String::from_utf8_lossy` but
/// without copying when the bytes are valid.
fn into_string_lossy(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
    }
}
