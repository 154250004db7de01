//! Sans-IO decoder for the streamed JSON-array body (`streamGenerateContent` without `alt=sse`).
//!
//! Without `alt=sse`, Gemini writes one JSON array incrementally: `[{…}\n,\r\n{…}\n]`, each element
//! a pretty-printed `GenerateContentResponse`, and the body's pieces do not line up with the
//! elements. [`JsonArrayDecoder`] finds the element boundaries as the bytes arrive and yields
//! every element as soon as its closing brace has been seen.
//!
//! * Elements must be JSON objects. Braces and brackets inside strings, and escaped quotes and
//!   backslashes (`\"`, `\\`), are handled; the element's contents are otherwise not validated
//!   (that is the job of the JSON parser the element is handed to).
//! * A body that is a single JSON object instead of an array (an error response such as
//!   `{"error": {…}}`) is yielded as one element of kind [`ElementKind::TopLevelObject`], so the
//!   caller can tell it apart from array elements.
//! * A byte-order mark at the very start of the body is skipped (element offsets still count it);
//!   anywhere else it is an unexpected byte. The elements' bytes are handed out as they came:
//!   invalid UTF-8 inside them is the JSON parser's business ([`ChunkDecoder`](crate::chunk::ChunkDecoder)
//!   reads it as U+FFFD, the crate's [text-encoding rule](crate#text-encoding)).
//! * Work is linear in the input whatever the split pattern, and memory is bounded by
//!   [`JsonArrayDecoder::max_element_size`].
//! * Malformed structure (garbage between elements, a missing `[`, a trailing comma) is a
//!   [`JsonArrayError::UnexpectedByte`] with its offset in the body; a body that ends inside an
//!   element or before the closing `]` is reported by [`JsonArrayDecoder::finish`] as
//!   [`JsonArrayError::Truncated`]. In both cases the elements completed before remain available.
//!
//! # Example
//!
//! ```
//! use gemini_proto::json_array::{ElementKind, JsonArrayDecoder};
//!
//! let mut decoder = JsonArrayDecoder::new();
//! decoder.push(b"[{\"text\": \"a } \\\" {\"}\n,\r")?;
//! decoder.push(b"\n{\"text\": \"b\"}\n]")?;
//! decoder.finish()?;
//!
//! let first = decoder.next_element().unwrap();
//! assert_eq!(first.json, b"{\"text\": \"a } \\\" {\"}");
//! assert_eq!((first.index, first.offset, first.kind), (0, 1, ElementKind::ArrayElement));
//! let second = decoder.next_element().unwrap();
//! assert_eq!(second.as_str(), Ok("{\"text\": \"b\"}"));
//! assert!(decoder.next_element().is_none());
//! # Ok::<(), gemini_proto::json_array::JsonArrayError>(())
//! ```

use std::collections::VecDeque;
use std::fmt;

use crate::encoding::BOM;

/// The default for [`JsonArrayDecoder::max_element_size`]: 64 MiB (an element can hold a whole
/// base64-encoded generated image).
pub const DEFAULT_MAX_ELEMENT_SIZE: usize = 64 * 1024 * 1024;

/// Where a decoded element came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElementKind {
    /// An element of the top-level array: the normal case.
    ArrayElement,
    /// The body was not an array but a single JSON object, typically an error object
    /// (`{"error": {…}}`). At most one such element is yielded per body.
    TopLevelObject,
}

/// One complete JSON object taken from the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonElement {
    /// The element's raw bytes, from its opening `{` to its closing `}` inclusive.
    pub json: Vec<u8>,
    /// Zero-based number of this element in the body.
    pub index: u64,
    /// Offset in the body of the element's opening `{`.
    pub offset: u64,
    /// Whether this is an array element or a non-array body.
    pub kind: ElementKind,
}

impl JsonElement {
    /// The element as text, if it is valid UTF-8 (as JSON must be).
    pub fn as_str(&self) -> Result<&str, std::str::Utf8Error> {
        std::str::from_utf8(&self.json)
    }
}

/// What the decoder expected where it found an unexpected byte or the end of the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// The start of the body: `[` or a top-level `{`.
    ArrayOrObject,
    /// After `[`: the first element's `{` or `]`.
    ElementOrEnd,
    /// After an element: `,` or `]`.
    CommaOrEnd,
    /// After `,`: the next element's `{`.
    Element,
    /// The rest of an element that has started.
    ElementContinuation,
    /// Nothing but whitespace after the closing `]` or the top-level object.
    EndOfBody,
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Expected::ArrayOrObject => "'[' or '{'",
            Expected::ElementOrEnd => "'{' or ']'",
            Expected::CommaOrEnd => "',' or ']'",
            Expected::Element => "'{'",
            Expected::ElementContinuation => "the rest of the element",
            Expected::EndOfBody => "the end of the body",
        })
    }
}

/// Why a JSON-array body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonArrayError {
    /// A byte that does not fit the structure (outside any element).
    UnexpectedByte {
        /// The offending byte.
        byte: u8,
        /// Its offset in the body.
        offset: u64,
        /// What would have been valid there.
        expected: Expected,
    },
    /// An element exceeded [`JsonArrayDecoder::max_element_size`].
    ElementTooLarge {
        /// The limit, in bytes.
        limit: usize,
        /// Offset in the body of the element's opening `{`.
        offset: u64,
        /// Index the element would have had.
        index: u64,
    },
    /// The body ended inside an element or before the closing `]` (or was empty).
    Truncated {
        /// Length of the body, i.e. where it ended.
        offset: u64,
        /// Offset of the opening `{` of the element that was cut off, if the body ended inside one.
        /// Its bytes are available from [`JsonArrayDecoder::partial_element`].
        element_offset: Option<u64>,
        /// What would have come next.
        expected: Expected,
    },
}

impl fmt::Display for JsonArrayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonArrayError::UnexpectedByte {
                byte,
                offset,
                expected,
            } => write!(
                f,
                "unexpected byte 0x{byte:02x} at offset {offset} of the JSON stream, expected {expected}"
            ),
            JsonArrayError::ElementTooLarge {
                limit,
                offset,
                index,
            } => write!(
                f,
                "JSON stream element {index} at byte offset {offset} exceeds the maximum element size of {limit} bytes"
            ),
            JsonArrayError::Truncated {
                offset,
                element_offset,
                expected,
            } => {
                write!(f, "JSON stream truncated at byte offset {offset}")?;
                if let Some(start) = element_offset {
                    write!(f, " inside the element starting at byte offset {start}")?;
                }
                write!(f, ", expected {expected}")
            }
        }
    }
}

impl std::error::Error for JsonArrayError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Expecting whitespace, then `[` or `{`.
    Start,
    /// After `[`.
    ArrayOpen,
    /// Inside an element (of the array, or the top-level object).
    Element,
    /// After an element of the array.
    AfterElement,
    /// After a comma.
    AfterComma,
    /// After `]` or the top-level object: only whitespace may follow.
    End,
    /// Decoding stopped on an error.
    Failed,
}

/// Incremental, sans-IO decoder of a streamed JSON array of objects.
///
/// See the [module documentation](self) for the behaviour and an example.
#[derive(Debug, Clone)]
pub struct JsonArrayDecoder {
    max_element_size: usize,
    state: State,
    /// The body is a single top-level object rather than an array.
    top_level: bool,
    /// Bytes of the element being received.
    element: Vec<u8>,
    element_offset: u64,
    /// Brace nesting depth inside the current element (1 right after its `{`).
    depth: usize,
    in_string: bool,
    /// The previous byte was a backslash inside a string.
    escape: bool,
    position: u64,
    /// How many leading bytes of the body matched the byte-order mark (skipped when whole).
    bom: usize,
    count: u64,
    ready: VecDeque<JsonElement>,
    error: Option<JsonArrayError>,
}

impl Default for JsonArrayDecoder {
    fn default() -> Self {
        Self::new()
    }
}

fn is_whitespace(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

impl JsonArrayDecoder {
    /// A decoder with the default maximum element size ([`DEFAULT_MAX_ELEMENT_SIZE`]).
    pub fn new() -> Self {
        Self::with_max_element_size(DEFAULT_MAX_ELEMENT_SIZE)
    }

    /// A decoder that fails with [`JsonArrayError::ElementTooLarge`] on any element longer than
    /// `max_element_size` bytes.
    ///
    /// ```
    /// use gemini_proto::json_array::{JsonArrayDecoder, JsonArrayError};
    ///
    /// let mut decoder = JsonArrayDecoder::with_max_element_size(8);
    /// let err = decoder.push(b"[{\"a\":1},{\"a\":\"long\"}]").unwrap_err();
    /// assert_eq!(err, JsonArrayError::ElementTooLarge { limit: 8, offset: 9, index: 1 });
    /// assert_eq!(decoder.next_element().unwrap().json, b"{\"a\":1}");
    /// ```
    pub fn with_max_element_size(max_element_size: usize) -> Self {
        JsonArrayDecoder {
            max_element_size,
            state: State::Start,
            top_level: false,
            element: Vec::new(),
            element_offset: 0,
            depth: 0,
            in_string: false,
            escape: false,
            position: 0,
            bom: 0,
            count: 0,
            ready: VecDeque::new(),
            error: None,
        }
    }

    /// The configured maximum element size in bytes.
    pub fn max_element_size(&self) -> usize {
        self.max_element_size
    }

    /// Number of body bytes pushed so far.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Takes the next complete element, oldest first; `None` when none is waiting.
    pub fn next_element(&mut self) -> Option<JsonElement> {
        self.ready.pop_front()
    }

    /// Number of complete elements waiting to be taken with [`next_element`](Self::next_element).
    pub fn pending_elements(&self) -> usize {
        self.ready.len()
    }

    /// The bytes received so far of an element that is not complete yet (empty between elements).
    pub fn partial_element(&self) -> &[u8] {
        if self.state == State::Element {
            &self.element
        } else {
            &[]
        }
    }

    /// Feeds the next piece of the body; every element it completes becomes available from
    /// [`next_element`](Self::next_element).
    ///
    /// # Errors
    ///
    /// [`JsonArrayError::UnexpectedByte`] or [`JsonArrayError::ElementTooLarge`]. Decoding then
    /// stops: this and every later call return the same error; elements completed before it stay
    /// available.
    pub fn push(&mut self, input: &[u8]) -> Result<(), JsonArrayError> {
        if let Some(err) = &self.error {
            return Err(err.clone());
        }
        let base = self.position;
        self.position += input.len() as u64;
        let result = self.feed(input, base);
        if let Err(err) = &result {
            self.state = State::Failed;
            self.error = Some(err.clone());
        }
        result
    }

    fn feed(&mut self, input: &[u8], base: u64) -> Result<(), JsonArrayError> {
        let mut i = 0;
        while i < input.len() {
            if self.state == State::Element {
                i = self.scan_element(input, i)?;
                continue;
            }
            let byte = input[i];
            let offset = base + i as u64;
            // A byte-order mark at the very start of the body is skipped (the crate's rule).
            if self.state == State::Start && self.bom < BOM.len() && offset == self.bom as u64 {
                if byte == BOM[self.bom] {
                    self.bom += 1;
                    i += 1;
                    continue;
                }
                if self.bom > 0 {
                    // `EF` or `EF BB` and then something else: the first byte was not valid here.
                    return Err(JsonArrayError::UnexpectedByte {
                        byte: BOM[0],
                        offset: 0,
                        expected: Expected::ArrayOrObject,
                    });
                }
                self.bom = BOM.len();
            }
            if is_whitespace(byte) {
                i += 1;
                continue;
            }
            let unexpected = |expected| JsonArrayError::UnexpectedByte {
                byte,
                offset,
                expected,
            };
            match (self.state, byte) {
                (State::Start, b'[') => self.state = State::ArrayOpen,
                (State::Start, b'{') => {
                    self.top_level = true;
                    self.begin_element(offset);
                }
                (State::ArrayOpen | State::AfterComma, b'{') => self.begin_element(offset),
                (State::ArrayOpen | State::AfterElement, b']') => self.state = State::End,
                (State::AfterElement, b',') => self.state = State::AfterComma,
                (State::Start, _) => return Err(unexpected(Expected::ArrayOrObject)),
                (State::ArrayOpen, _) => return Err(unexpected(Expected::ElementOrEnd)),
                (State::AfterElement, _) => return Err(unexpected(Expected::CommaOrEnd)),
                (State::AfterComma, _) => return Err(unexpected(Expected::Element)),
                (State::End, _) => return Err(unexpected(Expected::EndOfBody)),
                (State::Element | State::Failed, _) => {
                    unreachable!("handled before the match or by push")
                }
            }
            if self.state == State::Element {
                // The opening brace has been consumed into `depth`; the element's bytes are
                // copied from here by `scan_element`.
                self.element.push(b'{');
            }
            i += 1;
        }
        Ok(())
    }

    fn begin_element(&mut self, offset: u64) {
        self.state = State::Element;
        self.element.clear();
        self.element_offset = offset;
        self.depth = 1;
        self.in_string = false;
        self.escape = false;
    }

    /// Scans `input[start..]` inside an element, copying the element's bytes once. Returns the
    /// index just past what was consumed: past the closing brace, or the end of `input`.
    fn scan_element(&mut self, input: &[u8], start: usize) -> Result<usize, JsonArrayError> {
        let mut i = start;
        let mut complete = false;
        while i < input.len() {
            if self.escape {
                self.escape = false;
                i += 1;
            } else if self.in_string {
                match memchr::memchr2(b'"', b'\\', &input[i..]) {
                    None => i = input.len(),
                    Some(found) => {
                        if input[i + found] == b'"' {
                            self.in_string = false;
                        } else {
                            self.escape = true;
                        }
                        i += found + 1;
                    }
                }
            } else {
                match memchr::memchr3(b'{', b'}', b'"', &input[i..]) {
                    None => i = input.len(),
                    Some(found) => {
                        match input[i + found] {
                            b'{' => self.depth += 1,
                            b'}' => self.depth -= 1,
                            _ => self.in_string = true,
                        }
                        i += found + 1;
                        if self.depth == 0 {
                            complete = true;
                            break;
                        }
                    }
                }
            }
        }
        let span = &input[start..i];
        if self.element.len().saturating_add(span.len()) > self.max_element_size {
            return Err(JsonArrayError::ElementTooLarge {
                limit: self.max_element_size,
                offset: self.element_offset,
                index: self.count,
            });
        }
        self.element.extend_from_slice(span);
        if complete {
            let json = std::mem::take(&mut self.element);
            self.ready.push_back(JsonElement {
                json,
                index: self.count,
                offset: self.element_offset,
                kind: if self.top_level {
                    ElementKind::TopLevelObject
                } else {
                    ElementKind::ArrayElement
                },
            });
            self.count += 1;
            self.state = if self.top_level {
                State::End
            } else {
                State::AfterElement
            };
        }
        Ok(i)
    }

    /// Signals the end of the body.
    ///
    /// # Errors
    ///
    /// [`JsonArrayError::Truncated`] if the body ended inside an element or before the closing
    /// `]` (an empty body included), or the error that already stopped decoding. Elements
    /// completed before remain available, and so do the bytes of a cut-off element
    /// ([`partial_element`](Self::partial_element)).
    ///
    /// ```
    /// use gemini_proto::json_array::{Expected, JsonArrayDecoder, JsonArrayError};
    ///
    /// let mut decoder = JsonArrayDecoder::new();
    /// decoder.push(b"[{\"a\": 1}\n,\r\n{\"a\": ")?;
    /// assert_eq!(
    ///     decoder.finish(),
    ///     Err(JsonArrayError::Truncated {
    ///         offset: 19,
    ///         element_offset: Some(13),
    ///         expected: Expected::ElementContinuation,
    ///     })
    /// );
    /// assert_eq!(decoder.next_element().unwrap().json, b"{\"a\": 1}");
    /// assert_eq!(decoder.partial_element(), b"{\"a\": ");
    /// # Ok::<(), JsonArrayError>(())
    /// ```
    pub fn finish(&mut self) -> Result<(), JsonArrayError> {
        if let Some(err) = &self.error {
            return Err(err.clone());
        }
        let expected = match self.state {
            State::End => return Ok(()),
            State::Start => Expected::ArrayOrObject,
            State::ArrayOpen => Expected::ElementOrEnd,
            State::Element => Expected::ElementContinuation,
            State::AfterElement => Expected::CommaOrEnd,
            State::AfterComma => Expected::Element,
            State::Failed => unreachable!("a failed decoder has an error"),
        };
        let err = JsonArrayError::Truncated {
            offset: self.position,
            element_offset: (self.state == State::Element).then_some(self.element_offset),
            expected,
        };
        self.error = Some(err.clone());
        Err(err)
    }
}
