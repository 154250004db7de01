//! Workloads for the framing benchmarks of gemini-rs (see `benches/framing.rs` and the README).
//!
//! This crate is not published. It exists so that the crates we compare against are dependencies
//! of a benchmark crate, never of `gemini-proto`.

/// A Gemini-like `alt=sse` body: `events` events of about 700 bytes, each
/// `data: <one-line JSON>\r\n\r\n`, shaped like the recorded `streamGenerateContent` responses.
///
/// ```
/// let body = gemini_bench::gemini_like_sse(3);
/// assert_eq!(body.windows(4).filter(|w| w == b"\r\n\r\n").count(), 3);
/// ```
pub fn gemini_like_sse(events: usize) -> Vec<u8> {
    let mut body = Vec::with_capacity(events * 720);
    for i in 0..events {
        let mut text = format!("Chunk {i} of the answer: ");
        while text.len() < 330 {
            text.push_str("the quick brown fox jumps over the lazy dog, ");
        }
        let event = format!(
            "data: {{\"candidates\": [{{\"content\": {{\"parts\": [{{\"text\": \"{text}\"}}],\"role\": \"model\"}},\"index\": 0}}],\"usageMetadata\": {{\"promptTokenCount\": 15,\"candidatesTokenCount\": {i},\"totalTokenCount\": {total},\"promptTokensDetails\": [{{\"modality\": \"TEXT\",\"tokenCount\": 15}}],\"thoughtsTokenCount\": 98}},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"w1peaMz6INOvnvgPgYfPiQY\"}}\r\n\r\n",
            total = i + 15
        );
        body.extend_from_slice(event.as_bytes());
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
