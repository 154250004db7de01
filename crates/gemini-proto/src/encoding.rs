//! The crate's one rule for the text encoding of bodies (documented on the crate root, "Text
//! encoding"): a UTF-8 byte-order mark at the very start of a body is ignored, one anywhere else is
//! data, and invalid UTF-8 is replaced with U+FFFD per maximal subpart, as
//! [`String::from_utf8_lossy`] does and as the SSE standard requires.

use std::borrow::Cow;

use serde::de::DeserializeOwned;

use crate::json_reader;

/// UTF-8 encoding of U+FEFF BYTE ORDER MARK.
pub(crate) const BOM: &[u8; 3] = b"\xEF\xBB\xBF";

/// `body` without a byte-order mark at its start.
pub(crate) fn strip_bom(body: &[u8]) -> &[u8] {
    body.strip_prefix(BOM).unwrap_or(body)
}

/// Parses JSON, reading invalid UTF-8 inside strings as U+FFFD. The bytes are checked as
/// UTF-8 once: valid text is parsed by the crate's fast reader ([`json_reader`]) or, for
/// whatever that leaves, by serde_json without checking it again; other bytes are read
/// lossily, and when even that is not JSON the error is serde_json's for the bytes as they
/// came. Returns the text that was parsed, for excerpts and error detection.
pub(crate) fn parse_json<T: DeserializeOwned>(
    bytes: &[u8],
) -> (Result<T, serde_json::Error>, Cow<'_, [u8]>) {
    parse_json_with(bytes, |text| json_reader::read(text))
}

/// [`parse_json`] for the model's structs, read straight into `place` (which holds the
/// default value) by the fast reader ([`json_reader::read_in_place`]), or stored there from
/// serde_json: how each chunk of a stream is parsed, into the queue slot it is handed out from.
pub(crate) fn parse_model_into<'b, T: DeserializeOwned + json_reader::ReadInto + Default>(
    bytes: &'b [u8],
    place: &mut T,
    interned: &mut json_reader::Interned,
) -> (Result<(), serde_json::Error>, Cow<'b, [u8]>) {
    if let Ok(text) = std::str::from_utf8(bytes)
        && json_reader::read_in_place(text, place, interned)
    {
        return (Ok(()), Cow::Borrowed(bytes));
    }
    // What the reader may have written is replaced, or the parse failed.
    let (parsed, text) = parse_json_with(bytes, |_| None);
    (parsed.map(|value| *place = value), text)
}

fn parse_json_with<T: DeserializeOwned>(
    bytes: &[u8],
    fast: impl FnOnce(&str) -> Option<T>,
) -> (Result<T, serde_json::Error>, Cow<'_, [u8]>) {
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            let parsed = match fast(text) {
                Some(value) => Ok(value),
                None => serde_json::from_str(text),
            };
            (parsed, Cow::Borrowed(bytes))
        }
        Err(_) => match serde_json::from_slice(bytes) {
            Err(err) => {
                let text = String::from_utf8_lossy(bytes).into_owned();
                match serde_json::from_str(&text) {
                    Ok(value) => (Ok(value), Cow::Owned(text.into_bytes())),
                    // Still not JSON: report the error of the bytes as they came.
                    Err(_) => (Err(err), Cow::Borrowed(bytes)),
                }
            }
            // Invalid UTF-8 only where the value is ignored.
            parsed => (parsed, Cow::Borrowed(bytes)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::parse_model_into;
    use crate::types::GenerateContentResponse;

    /// `text` as a chunk's model version, parsed into a chunk.
    fn chunk_with(text: &[u8]) -> Vec<u8> {
        [
            &b"{\"modelVersion\": \""[..],
            text,
            b"\", \"responseId\": \"r\"}",
        ]
        .concat()
    }

    /// Invalid UTF-8 or a control character after a long ASCII run (in a word, at a block's
    /// edge, past the blocks) gives what serde_json gives for the text read lossily.
    #[test]
    fn invalid_bytes_after_long_ascii_read_as_serde_json_reads_them() {
        for len in [0, 1, 7, 8, 15, 16, 31, 32, 33, 63, 64, 65, 300] {
            let ascii = vec![b'a'; len];
            for bad in [
                &b"\xff"[..],
                b"\xc3",
                b"\xed\xa0\x80",
                b"\xe6\xbc",
                b"\x80\x80",
            ] {
                let body = chunk_with(&[&ascii[..], bad, &ascii[..]].concat());
                let mut chunk = GenerateContentResponse::default();
                let (parsed, text) = parse_model_into(&body, &mut chunk, &mut Default::default());
                parsed.unwrap();
                let lossy = String::from_utf8_lossy(&body);
                assert_eq!(&*text, lossy.as_bytes());
                let expected: GenerateContentResponse = serde_json::from_str(&lossy).unwrap();
                assert_eq!(chunk, expected);
                assert!(chunk.model_version.unwrap().contains('\u{fffd}'));
            }
            for control in [b'\0', b'\t', b'\n', 0x1f] {
                let body = chunk_with(&[&ascii[..], &[control], &ascii[..]].concat());
                let mut chunk = GenerateContentResponse::default();
                let (parsed, _) = parse_model_into(&body, &mut chunk, &mut Default::default());
                let expected = serde_json::from_slice::<GenerateContentResponse>(&body);
                assert_eq!(
                    parsed.unwrap_err().to_string(),
                    expected.unwrap_err().to_string()
                );
            }
        }
    }
}
