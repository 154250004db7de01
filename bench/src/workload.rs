//! What the server sends: Gemini-like streamed answers, pre-rendered as HTTP/1.1 responses.
//!
//! A request names its workload in the model name (`gemini-bench-200`, `gemini-bench-image`,
//! `gemini-bench-long-1073741824`), which every client puts in the URL (Gemini's own route) or in
//! the JSON body (the OpenAI-compatible route). Every event carries the same amount of text on
//! both routes; each event is one HTTP chunk, as Google's front end sends them.

use std::fmt::Write as _;

/// The prefix of every benchmark model name.
pub const MODEL_PREFIX: &str = "gemini-bench-";

/// The prompt every client sends.
pub const PROMPT: &str = "Why is the sky blue?";

/// Raw size of the inline image of [`Workload::Image`]: its base64 text makes the event 8 MiB.
pub const IMAGE_EVENT_BYTES: usize = 8 << 20;

/// How many events the server renders once and repeats for a [`Workload::Long`] stream.
const LONG_BLOCK_EVENTS: usize = 1000;

/// One kind of answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Workload {
    /// This many text events of about 700 bytes, the last one finished.
    Events(usize),
    /// One event holding an 8 MiB inline image (on the OpenAI-compatible route, 8 MiB of text).
    Image,
    /// Text events until at least this many bytes were sent, then a finished one.
    Long(u64),
}

/// Which API the request used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// `POST /v1beta/models/{model}:streamGenerateContent?alt=sse`.
    Native,
    /// `POST /v1beta/openai/chat/completions` with `"stream": true`.
    Compat,
}

impl Workload {
    /// The model name that asks for this workload.
    pub fn model(&self) -> String {
        match self {
            Workload::Events(n) => format!("{MODEL_PREFIX}{n}"),
            Workload::Image => format!("{MODEL_PREFIX}image"),
            Workload::Long(bytes) => format!("{MODEL_PREFIX}long-{bytes}"),
        }
    }

    /// The workload named right after [`MODEL_PREFIX`] in `text` (a URL or a request body).
    ///
    /// ```
    /// use gemini_bench::workload::Workload;
    /// let body = br#"{"model":"gemini-bench-long-4096","stream":true}"#;
    /// assert_eq!(Workload::find(body), Some(Workload::Long(4096)));
    /// assert_eq!(Workload::find(b"/v1beta/models/gemini-bench-20:stream"), Some(Workload::Events(20)));
    /// assert_eq!(Workload::find(b"/v1beta/models/gemini-2.5-flash"), None);
    /// ```
    pub fn find(text: &[u8]) -> Option<Workload> {
        let prefix = MODEL_PREFIX.as_bytes();
        let at = text.windows(prefix.len()).position(|w| w == prefix)? + prefix.len();
        let rest = &text[at..];
        let digits = |s: &[u8]| -> Option<u64> {
            let end = s
                .iter()
                .position(|b| !b.is_ascii_digit())
                .unwrap_or(s.len());
            std::str::from_utf8(&s[..end]).ok()?.parse().ok()
        };
        if rest.starts_with(b"image") {
            Some(Workload::Image)
        } else if let Some(long) = rest.strip_prefix(b"long-") {
            digits(long).map(Workload::Long)
        } else {
            digits(rest).map(|n| Workload::Events(n as usize))
        }
    }
}

/// About 330 bytes of answer text for event `i`.
fn text(i: usize) -> String {
    let mut text = format!("Chunk {i} of the answer: ");
    while text.len() < 330 {
        text.push_str("the quick brown fox jumps over the lazy dog, ");
    }
    text
}

/// The member that finishes an answer, on its last event only.
fn finish(finished: bool, member: &'static str) -> &'static str {
    if finished { member } else { "" }
}

/// One event of Gemini's own route, shaped like the recorded `streamGenerateContent` events
/// (about 700 bytes), CRLF-terminated as Google sends them.
pub fn native_event(i: usize, text: &str, finished: bool) -> String {
    let finish = finish(finished, r#","finishReason": "STOP""#);
    format!(
        "data: {{\"candidates\": [{{\"content\": {{\"parts\": [{{\"text\": \"{text}\"}}],\"role\": \"model\"}}{finish},\"index\": 0}}],\"usageMetadata\": {{\"promptTokenCount\": 15,\"candidatesTokenCount\": {i},\"totalTokenCount\": {total},\"promptTokensDetails\": [{{\"modality\": \"TEXT\",\"tokenCount\": 15}}],\"thoughtsTokenCount\": 98}},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"w1peaMz6INOvnvgPgYfPiQY\"}}\r\n\r\n",
        total = i + 15
    )
}

/// One event of the OpenAI-compatible route, shaped like Gemini's `chat.completion.chunk`s,
/// carrying the same text as [`native_event`].
pub fn compat_event(i: usize, text: &str, finished: bool) -> String {
    let finish = finish(finished, r#","finish_reason":"stop""#);
    format!(
        "data: {{\"choices\":[{{\"delta\":{{\"content\":\"{text}\",\"role\":\"assistant\"}}{finish},\"index\":0}}],\"created\":1750000000,\"id\":\"w1peaMz6INOvnvgPgYfPiQY\",\"model\":\"gemini-2.5-flash\",\"object\":\"chat.completion.chunk\",\"usage\":{{\"completion_tokens\":{i},\"prompt_tokens\":15,\"total_tokens\":{total}}}}}\r\n\r\n",
        total = i + 15
    )
}

fn event(route: Route, i: usize, text: &str, finished: bool) -> String {
    match route {
        Route::Native => native_event(i, text, finished),
        Route::Compat => compat_event(i, text, finished),
    }
}

/// The response head: a chunked `text/event-stream`.
pub const HEAD: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\nvary: Origin, X-Origin, Referer\r\nserver: bench\r\n\r\n";

/// The end of a chunked body: on the OpenAI-compatible route after `data: [DONE]`.
fn tail(route: Route, out: &mut Vec<u8>) {
    if route == Route::Compat {
        chunk(b"data: [DONE]\r\n\r\n", out);
    }
    out.extend_from_slice(b"0\r\n\r\n");
}

/// Appends `data` as one HTTP chunk.
fn chunk(data: &[u8], out: &mut Vec<u8>) {
    let _ = write!(HexLen(out), "{:x}\r\n", data.len());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

struct HexLen<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for HexLen<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// A whole response (head and chunked body) for [`Workload::Events`] or [`Workload::Image`].
pub fn response(route: Route, workload: Workload) -> Vec<u8> {
    let mut out = HEAD.to_vec();
    match workload {
        Workload::Events(n) => {
            for i in 0..n {
                chunk(event(route, i, &text(i), i + 1 == n).as_bytes(), &mut out);
            }
        }
        Workload::Image => chunk(image_event(route).as_bytes(), &mut out),
        Workload::Long(_) => panic!("a long stream is not rendered whole"),
    }
    tail(route, &mut out);
    out
}

/// A long stream in pieces: the head, a block of unfinished events to repeat, and the end (a
/// finished event and the end of the body).
#[derive(Debug)]
pub struct LongStream {
    /// The response head.
    pub head: &'static [u8],
    /// [`LONG_BLOCK_EVENTS`] unfinished events, as HTTP chunks.
    pub block: Vec<u8>,
    /// The last, finished event and the end of the body.
    pub end: Vec<u8>,
}

impl LongStream {
    /// The pieces for `route`.
    pub fn new(route: Route) -> Self {
        let mut block = Vec::new();
        for i in 0..LONG_BLOCK_EVENTS {
            chunk(event(route, i, &text(i), false).as_bytes(), &mut block);
        }
        let mut end = Vec::new();
        chunk(event(route, 0, &text(0), true).as_bytes(), &mut end);
        tail(route, &mut end);
        Self {
            head: HEAD,
            block,
            end,
        }
    }

    /// How many times the block is sent for a stream of at least `bytes`.
    pub fn repeats(&self, bytes: u64) -> u64 {
        bytes.div_ceil(self.block.len() as u64)
    }

    /// The events in a stream of at least `bytes` (the finished one included).
    pub fn events(&self, bytes: u64) -> u64 {
        self.repeats(bytes) * LONG_BLOCK_EVENTS as u64 + 1
    }
}

/// One event carrying an 8 MiB inline PNG (base64), or on the compatible route 8 MiB of text.
fn image_event(route: Route) -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    // Base64 of whole 3-byte groups: a multiple of 4 characters, no padding.
    let len = (IMAGE_EVENT_BYTES - 400) / 4 * 4;
    let data: String = (0..len)
        .map(|i| alphabet[(i * 7 + i / 64) % 64] as char)
        .collect();
    match route {
        Route::Native => format!(
            "data: {{\"candidates\": [{{\"content\": {{\"parts\": [{{\"inlineData\": {{\"mimeType\": \"image/png\",\"data\": \"{data}\"}}}}],\"role\": \"model\"}},\"finishReason\": \"STOP\",\"index\": 0}}],\"usageMetadata\": {{\"promptTokenCount\": 15,\"candidatesTokenCount\": 1290,\"totalTokenCount\": 1305}},\"modelVersion\": \"gemini-2.5-flash-image\",\"responseId\": \"w1peaMz6INOvnvgPgYfPiQY\"}}\r\n\r\n"
        ),
        Route::Compat => compat_event(0, &data, true),
    }
}

/// A Gemini-like `alt=sse` body: `events` events of about 700 bytes, each
/// `data: <one-line JSON>\r\n\r\n`, shaped like the recorded `streamGenerateContent` responses
/// (none finished: the framing benchmark decodes events, not answers).
///
/// ```
/// let body = gemini_bench::gemini_like_sse(3);
/// assert_eq!(body.windows(4).filter(|w| w == b"\r\n\r\n").count(), 3);
/// ```
pub fn gemini_like_sse(events: usize) -> Vec<u8> {
    let mut body = Vec::with_capacity(events * 720);
    for i in 0..events {
        body.extend_from_slice(native_event(i, &text(i), false).as_bytes());
    }
    body
}

/// One event whose single `data` line is `len` bytes of base64-like text (an image output).
///
/// ```
/// let body = gemini_bench::one_long_line(1000);
/// assert_eq!(body.len(), 1000 + 10);
/// ```
pub fn one_long_line(len: usize) -> Vec<u8> {
    let mut body = Vec::with_capacity(len + 10);
    body.extend_from_slice(b"data: ");
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    body.extend((0..len).map(|i| alphabet[(i * 7 + i / 64) % 64]));
    body.extend_from_slice(b"\r\n\r\n");
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_about_700_bytes_and_carry_the_same_text_on_both_routes() {
        let native = native_event(100, &text(100), false);
        let compat = compat_event(100, &text(100), false);
        assert!((650..=760).contains(&native.len()), "{}", native.len());
        assert!(native.contains(&text(100)) && compat.contains(&text(100)));
        for event in [native, compat] {
            let json = event.strip_prefix("data: ").unwrap().trim_end();
            serde_json::from_str::<serde_json::Value>(json).unwrap();
        }
    }

    #[test]
    fn a_response_is_chunked_one_event_per_chunk() {
        let body = response(Route::Native, Workload::Events(3));
        let text = String::from_utf8(body).unwrap();
        let (_, chunks) = text.split_once("\r\n\r\n").unwrap();
        assert_eq!(chunks.matches("data: ").count(), 3);
        assert!(chunks.ends_with("\r\n0\r\n\r\n"));
        assert_eq!(chunks.matches("finishReason").count(), 1);
        let compat = String::from_utf8(response(Route::Compat, Workload::Events(2))).unwrap();
        assert!(compat.contains("data: [DONE]"));
    }

    #[test]
    fn the_image_event_is_8_mib() {
        let event = image_event(Route::Native);
        assert!(event.len() <= IMAGE_EVENT_BYTES && event.len() > IMAGE_EVENT_BYTES - 400);
    }

    #[test]
    fn model_names_round_trip() {
        for w in [
            Workload::Events(7),
            Workload::Image,
            Workload::Long(1 << 30),
        ] {
            assert_eq!(Workload::find(w.model().as_bytes()), Some(w));
        }
    }
}
