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
use std::ops::Range;

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

/// One dispatched event, borrowed: what [`SseDecoder::push_with`] hands out. The fields mean
/// what those of [`SseEvent`] mean, before any text decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SseEventRef<'a> {
    /// The event's data, its `data` field values joined with LF, as the bytes that arrived.
    /// UTF-8 is not checked: `String::from_utf8_lossy(data)` is [`SseEvent::data`], and a JSON
    /// parser reading the bytes checks their strings itself.
    pub data: &'a [u8],
    /// The value of the event's `event` field as it arrived; empty when it had none.
    pub event: &'a [u8],
    /// The last event ID in effect when this event was dispatched (`""` if none was ever set).
    pub last_event_id: &'a str,
    /// The reconnection time in milliseconds in effect, if any `retry` field set one.
    pub retry: Option<u64>,
    /// Zero-based number of this event among the events dispatched from the stream.
    pub index: u64,
    /// Offset in bytes, from the start of the body, of the first byte of this event's first
    /// `data` line.
    pub offset: u64,
}

impl SseEventRef<'_> {
    /// The owned event, text decoded as [`SseDecoder::next_event`] hands it out.
    pub fn to_owned_event(&self) -> SseEvent {
        owned_event(self, String::from_utf8_lossy(self.data).into_owned())
    }
}

fn owned_event(event: &SseEventRef<'_>, data: String) -> SseEvent {
    SseEvent {
        data,
        event: (!event.event.is_empty()).then(|| String::from_utf8_lossy(event.event).into_owned()),
        last_event_id: event.last_event_id.to_owned(),
        retry: event.retry,
        index: event.index,
        offset: event.offset,
    }
}

/// Where a dispatched event's data is: in the piece being fed, or in the decoder's buffer
/// (which a queueing sink may take instead of copying).
enum Data<'a> {
    Borrowed(&'a [u8]),
    Buffered(&'a mut Vec<u8>),
}

/// What the decoder does with a dispatched event (`meta.data` is empty; the data is `data`).
trait Sink {
    fn event(&mut self, data: Data<'_>, meta: SseEventRef<'_>);
}

/// Queues owned events for [`SseDecoder::next_event`].
struct Queue<'q>(&'q mut VecDeque<SseEvent>);

impl Sink for Queue<'_> {
    fn event(&mut self, data: Data<'_>, meta: SseEventRef<'_>) {
        let text = match data {
            Data::Borrowed(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            // The buffer becomes the event's text (no copy); the next event starts a new one.
            Data::Buffered(buffer) => into_string_lossy(std::mem::take(buffer)),
        };
        self.0.push_back(owned_event(&meta, text));
    }
}

/// Hands borrowed events to a closure ([`SseDecoder::push_with`]).
struct Callback<F>(F);

impl<F: FnMut(SseEventRef<'_>)> Sink for Callback<F> {
    fn event(&mut self, data: Data<'_>, meta: SseEventRef<'_>) {
        let data = match data {
            Data::Borrowed(bytes) => bytes,
            Data::Buffered(buffer) => buffer.as_slice(),
        };
        (self.0)(SseEventRef { data, ..meta });
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
    /// The data buffer without its trailing LF; meaningful only when `has_data` and nothing
    /// is `borrowed`.
    data: Vec<u8>,
    /// While a piece is fed: the current event's data is this range of it, not yet copied
    /// (an event whose one `data` line lies in the piece is never copied).
    borrowed: Option<Range<usize>>,
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
    /// Stop at a line that starts with `{` or `[` (see [`stopping_at_json`](Self::stopping_at_json)).
    json_lines: bool,
    /// Where such a line started (a body offset): nothing from there on was read.
    json_at: Option<u64>,
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
            borrowed: None,
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
            json_lines: false,
            json_at: None,
        }
    }

    /// A decoder that stops reading at a line starting with `{` or `[`, which the standard would
    /// ignore as a field so named but which, in a Gemini stream, is a JSON value (an error) written
    /// outside the framing; [`json_start`](Self::json_start) then says where it starts. The chunk
    /// decoder uses it, so that every byte of a body is scanned for line ends once.
    pub(crate) fn stopping_at_json(mut self) -> Self {
        self.json_lines = true;
        self
    }

    /// The body offset of the line that starts a JSON value, once the decoder stopped there.
    pub(crate) fn json_start(&self) -> Option<u64> {
        self.json_at
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
    pub fn push(&mut self, input: &[u8]) -> Result<(), EventTooLarge> {
        let mut ready = std::mem::take(&mut self.ready);
        let result = self.push_to(input, &mut Queue(&mut ready));
        self.ready = ready;
        result
    }

    /// Feeds the next piece of the body and hands each event it completes to `on_event`,
    /// borrowed, instead of queueing it for [`next_event`](Self::next_event): the lean way to
    /// decode. An event whose data arrived in this piece as one `data` line is handed out as a
    /// slice of `input`, without being copied; any other is handed out from the decoder's
    /// buffer, which is reused for the next event. The data is not decoded as UTF-8 here
    /// (see [`SseEventRef::data`]), so that a consumer parsing it checks it once.
    ///
    /// Framing, limits and errors are those of [`push`](Self::push): the events completed
    /// before an oversized one are handed out before the error returns.
    ///
    /// ```
    /// use gemini_proto::sse::SseDecoder;
    ///
    /// let mut decoder = SseDecoder::new();
    /// let mut seen = Vec::new();
    /// decoder.push_with(b"data: {\"a\": 1}\r\n\r\ndata: {\"a\"", |event| {
    ///     seen.push((event.index, event.data.to_vec()));
    /// })?;
    /// decoder.push_with(b": 2}\r\n\r\n", |event| seen.push((event.index, event.data.to_vec())))?;
    /// assert_eq!(seen, [(0, b"{\"a\": 1}".to_vec()), (1, b"{\"a\": 2}".to_vec())]);
    /// # Ok::<(), gemini_proto::sse::EventTooLarge>(())
    /// ```
    pub fn push_with(
        &mut self,
        input: &[u8],
        on_event: impl FnMut(SseEventRef<'_>),
    ) -> Result<(), EventTooLarge> {
        self.push_to(input, &mut Callback(on_event))
    }

    fn push_to(&mut self, mut input: &[u8], sink: &mut impl Sink) -> Result<(), EventTooLarge> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        if input.is_empty() || self.json_at.is_some() {
            return Ok(());
        }
        let result = self.push_inner(&mut input, sink);
        if let Err(err) = &result {
            self.failed = Some(err.clone());
        }
        result
    }

    fn push_inner(&mut self, input: &mut &[u8], sink: &mut impl Sink) -> Result<(), EventTooLarge> {
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
                self.feed(&held, 0, sink)?;
                if self.json_at.is_some() {
                    return Ok(());
                }
            }
        }
        self.feed(input, base, sink)
    }

    /// Interprets `input`, whose first byte is at body offset `base`, after the BOM check. An
    /// event's data still borrowed from `input` when it ends is copied into the decoder.
    fn feed(&mut self, input: &[u8], base: u64, sink: &mut impl Sink) -> Result<(), EventTooLarge> {
        let result = self.feed_lines(input, base, sink);
        if let Some(range) = self.borrowed.take() {
            // The event goes on in a later piece: its data so far must outlive this one.
            self.data.clear();
            self.data.extend_from_slice(&input[range]);
        }
        result
    }

    fn feed_lines(
        &mut self,
        input: &[u8],
        base: u64,
        sink: &mut impl Sink,
    ) -> Result<(), EventTooLarge> {
        let mut at = 0;
        if self.after_cr && !input.is_empty() {
            self.after_cr = false;
            if input[0] == b'\n' {
                at = 1;
            }
        }
        if at == input.len() {
            return Ok(());
        }

        // Finish the line held over from earlier pieces, if any.
        if !self.line.is_empty() {
            match memchr::memchr2(b'\r', b'\n', &input[at..]) {
                None => {
                    self.check_size(self.line.len() + input.len() - at, self.line_offset)?;
                    self.line.extend_from_slice(&input[at..]);
                    return Ok(());
                }
                Some(found) => {
                    let end = at + found;
                    self.line.extend_from_slice(&input[at..end]);
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
                        self.process_line(&line, None, line_offset, input, sink)?;
                        // Give the allocation back for the next held-over line.
                        self.line = line;
                        self.line.clear();
                    }
                    at = self.line_end(input, end);
                }
            }
        }

        // Complete lines inside this piece are interpreted without copying them first.
        loop {
            // At the start of a line (nothing is held).
            if self.json_lines && matches!(input.get(at), Some(b'{' | b'[')) {
                self.json_at = Some(base + at as u64);
                return Ok(());
            }
            let Some(found) = memchr::memchr2(b'\r', b'\n', &input[at..]) else {
                break;
            };
            let end = at + found;
            self.process_line(&input[at..end], Some(at), base + at as u64, input, sink)?;
            at = self.line_end(input, end);
        }

        if at < input.len() {
            self.check_size(input.len() - at, base + at as u64)?;
            self.line.extend_from_slice(&input[at..]);
            self.line_offset = base + at as u64;
        }
        Ok(())
    }

    /// Where the line ending at `end` (its terminator's first byte) is over in `input`.
    /// Records a CR that ends the piece, so that an LF starting the next piece is not a second
    /// line end.
    fn line_end(&mut self, input: &[u8], end: usize) -> usize {
        if input[end] == b'\r' {
            match input.get(end + 1) {
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

    /// The length of the current event's data so far.
    fn data_len(&self) -> usize {
        match &self.borrowed {
            Some(range) => range.len(),
            None => self.data.len(),
        }
    }

    /// Fails if a line of `line_len` bytes starting at `line_offset`, together with the data
    /// already buffered for the current event, exceeds the limit. Checking every line (held or
    /// not) against the same bound makes the outcome independent of how the body is split.
    fn check_size(&self, line_len: usize, line_offset: u64) -> Result<(), EventTooLarge> {
        let buffered = if self.has_data { self.data_len() } else { 0 };
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

    /// Interprets one complete line (without its terminator) starting at body offset `offset`;
    /// `at` is where it starts in `input` when it lies there (its data can then be borrowed).
    fn process_line(
        &mut self,
        line: &[u8],
        at: Option<usize>,
        offset: u64,
        input: &[u8],
        sink: &mut impl Sink,
    ) -> Result<(), EventTooLarge> {
        self.check_size(line.len(), offset)?;
        if line.is_empty() {
            self.dispatch(input, sink);
            return Ok(());
        }
        let (name, value_start) = match memchr::memchr(b':', line) {
            Some(0) => return Ok(()), // comment
            Some(colon) => {
                let skip = usize::from(line.get(colon + 1) == Some(&b' '));
                (&line[..colon], colon + 1 + skip)
            }
            None => (line, line.len()),
        };
        let value = &line[value_start..];
        match name {
            b"data" => {
                // `check_size` bounded data + line, and the value is shorter than the line.
                if !self.has_data {
                    self.has_data = true;
                    self.data_offset = offset;
                    match at {
                        // The first data line of an event, in this piece: borrowed until the
                        // event is dispatched or the piece ends.
                        Some(at) => self.borrowed = Some(at + value_start..at + line.len()),
                        None => {
                            self.data.clear();
                            self.data.extend_from_slice(value);
                        }
                    }
                } else {
                    if let Some(range) = self.borrowed.take() {
                        self.data.clear();
                        self.data.extend_from_slice(&input[range]);
                    }
                    self.data.push(b'\n');
                    self.data.extend_from_slice(value);
                }
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
    fn dispatch(&mut self, input: &[u8], sink: &mut impl Sink) {
        if self.id_changed {
            self.last_event_id = String::from_utf8_lossy(&self.id_buffer).into_owned();
            self.id_changed = false;
        }
        if !self.has_data {
            self.event_type.clear();
            return;
        }
        self.has_data = false;
        let data = match self.borrowed.take() {
            Some(range) => Data::Borrowed(&input[range]),
            None => Data::Buffered(&mut self.data),
        };
        sink.event(
            data,
            SseEventRef {
                data: &[],
                event: &self.event_type,
                last_event_id: &self.last_event_id,
                retry: self.reconnection_time,
                index: self.dispatched,
                offset: self.data_offset,
            },
        );
        self.data.clear();
        self.event_type.clear();
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
            json_lines: self.json_lines,
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
