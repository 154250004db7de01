//! The crate's one rule for the text encoding of bodies (documented on the crate root, "Text
//! encoding"): a UTF-8 byte-order mark at the very start of a body is ignored, one anywhere else is
//! data, and invalid UTF-8 is replaced with U+FFFD per maximal subpart, as
//! [`String::from_utf8_lossy`] does and as the SSE standard requires.

use std::borrow::Cow;

use serde::de::DeserializeOwned;

/// UTF-8 encoding of U+FEFF BYTE ORDER MARK.
pub(crate) const BOM: &[u8; 3] = b"\xEF\xBB\xBF";

/// `body` without a byte-order mark at its start.
pub(crate) fn strip_bom(body: &[u8]) -> &[u8] {
    body.strip_prefix(BOM).unwrap_or(body)
}

/// Parses JSON, reading invalid UTF-8 inside strings as U+FFFD. Valid input costs nothing extra:
/// the bytes are checked only when the parse failed, and parsed again only when they were not
/// UTF-8. Returns the text that was parsed, for excerpts and error detection.
pub(crate) fn parse_json<T: DeserializeOwned>(
    bytes: &[u8],
) -> (Result<T, serde_json::Error>, Cow<'_, [u8]>) {
    match serde_json::from_slice(bytes) {
        Err(err) if std::str::from_utf8(bytes).is_err() => {
            let text = String::from_utf8_lossy(bytes).into_owned();
            match serde_json::from_str(&text) {
                Ok(value) => (Ok(value), Cow::Owned(text.into_bytes())),
                // Still not JSON: report the error of the bytes as they came.
                Err(_) => (Err(err), Cow::Borrowed(bytes)),
            }
        }
        result => (result, Cow::Borrowed(bytes)),
    }
}
