//! Reading JSON text that may be cut short: the arguments of a function call while their
//! fragments stream in.

use serde_json::{Map, Number, Value};

/// The deepest nesting read (as serde_json's own bound); deeper input gives `None`.
const MAX_DEPTH: usize = 128;

/// Reads `text`, a JSON value that may end early, as far as it goes: an object or array with the
/// members and elements that arrived (a string cut short keeps its beginning; a member whose value
/// has not started, a number or literal cut short, is left out), as if it were closed right
/// there. `None` when nothing usable arrived yet or the text is not the beginning of a JSON value.
///
/// Linear in the length of `text`.
///
/// ```
/// use gemini_proto::interactions::parse_partial_json;
/// use serde_json::json;
///
/// assert_eq!(parse_partial_json(r#"{"location": "San Fr"#), Some(json!({"location": "San Fr"})));
/// assert_eq!(parse_partial_json(r#"{"days": [1, 2, 3"#), Some(json!({"days": [1, 2, 3]})));
/// assert_eq!(parse_partial_json(r#"{"unit": "c", "days""#), Some(json!({"unit": "c"})));
/// assert_eq!(parse_partial_json(r#"{"a": tr"#), Some(json!({})));
/// assert_eq!(parse_partial_json(r#"{"a": 1}"#), Some(json!({"a": 1})));
/// assert_eq!(parse_partial_json(""), None);
/// assert_eq!(parse_partial_json("}"), None);
/// ```
pub fn parse_partial_json(text: &str) -> Option<Value> {
    let mut parser = Parser {
        bytes: text.as_bytes(),
        text,
        at: 0,
    };
    match parser.value(0) {
        Parsed::Complete(value) | Parsed::Partial(Some(value)) => Some(value),
        Parsed::Partial(None) | Parsed::Invalid => None,
    }
}

enum Parsed {
    /// A whole value.
    Complete(Value),
    /// The text ended inside the value: what it holds so far, if anything.
    Partial(Option<Value>),
    /// Not JSON.
    Invalid,
}

struct Parser<'a> {
    bytes: &'a [u8],
    text: &'a str,
    at: usize,
}

impl Parser<'_> {
    fn skip_whitespace(&mut self) {
        while self
            .bytes
            .get(self.at)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.at += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Parsed {
        if depth > MAX_DEPTH {
            return Parsed::Invalid;
        }
        self.skip_whitespace();
        match self.bytes.get(self.at) {
            None => Parsed::Partial(None),
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => match self.string() {
                Ok((text, true)) => Parsed::Complete(Value::String(text)),
                Ok((text, false)) => Parsed::Partial(Some(Value::String(text))),
                Err(()) => Parsed::Invalid,
            },
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Parsed::Invalid,
        }
    }

    fn literal(&mut self, word: &str, value: Value) -> Parsed {
        let rest = &self.bytes[self.at..];
        let n = rest.len().min(word.len());
        if rest[..n] != word.as_bytes()[..n] {
            return Parsed::Invalid;
        }
        self.at += n;
        if n == word.len() {
            Parsed::Complete(value)
        } else {
            Parsed::Partial(None)
        }
    }

    fn number(&mut self) -> Parsed {
        let start = self.at;
        while self
            .bytes
            .get(self.at)
            .is_some_and(|b| matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
        {
            self.at += 1;
        }
        let digits = &self.text[start..self.at];
        let ended = self.at < self.bytes.len();
        match serde_json::from_str::<Number>(digits) {
            // At the end of the text a number may go on (`12` of `123`): it is not complete yet,
            // but what arrived is a number.
            Ok(number) if ended => Parsed::Complete(Value::Number(number)),
            Ok(number) => Parsed::Partial(Some(Value::Number(number))),
            Err(_) if ended => Parsed::Invalid,
            Err(_) => Parsed::Partial(None),
        }
    }

    /// A string starting at the quote: its text, and whether it was closed.
    fn string(&mut self) -> Result<(String, bool), ()> {
        self.at += 1;
        let mut out = String::new();
        loop {
            let run = self.bytes[self.at..]
                .iter()
                .position(|b| *b == b'"' || *b == b'\\' || *b < 0x20);
            match run {
                None => {
                    out.push_str(&self.text[self.at..]);
                    self.at = self.bytes.len();
                    return Ok((out, false));
                }
                Some(n) => {
                    out.push_str(&self.text[self.at..self.at + n]);
                    self.at += n;
                }
            }
            match self.bytes[self.at] {
                b'"' => {
                    self.at += 1;
                    return Ok((out, true));
                }
                b'\\' => match self.escape() {
                    Some(Ok(c)) => out.push(c),
                    // The text ends inside the escape: keep what came before it.
                    None => return Ok((out, false)),
                    Some(Err(())) => return Err(()),
                },
                _ => return Err(()),
            }
        }
    }

    /// An escape starting at the backslash; `None` when the text ends inside it.
    fn escape(&mut self) -> Option<Result<char, ()>> {
        let kind = *self.bytes.get(self.at + 1)?;
        self.at += 2;
        if let Some(c) = crate::json_reader::short_escape(kind) {
            return Some(Ok(c));
        }
        let c = match kind {
            b'u' => {
                let unit = self.hex4()?;
                let Ok(unit) = unit else {
                    return Some(Err(()));
                };
                if (0xD800..0xDC00).contains(&unit) {
                    // A high surrogate: its low half follows as another escape.
                    if self.bytes.get(self.at) != Some(&b'\\') {
                        return if self.at >= self.bytes.len() {
                            None
                        } else {
                            Some(Ok('\u{FFFD}'))
                        };
                    }
                    self.bytes.get(self.at + 1)?;
                    if self.bytes[self.at + 1] != b'u' {
                        return Some(Ok('\u{FFFD}'));
                    }
                    self.at += 2;
                    let low = match self.hex4()? {
                        Ok(low) => low,
                        Err(()) => return Some(Err(())),
                    };
                    let code =
                        0x10000 + ((unit - 0xD800) << 10) + (low.wrapping_sub(0xDC00) & 0x3FF);
                    char::from_u32(code).unwrap_or('\u{FFFD}')
                } else {
                    char::from_u32(unit).unwrap_or('\u{FFFD}')
                }
            }
            _ => return Some(Err(())),
        };
        Some(Ok(c))
    }

    /// Four hex digits; `None` when the text ends inside them.
    fn hex4(&mut self) -> Option<Result<u32, ()>> {
        let digits = self.bytes.get(self.at..self.at + 4);
        let Some(digits) = digits else {
            let rest = &self.bytes[self.at..];
            return if rest.iter().all(u8::is_ascii_hexdigit) {
                None
            } else {
                Some(Err(()))
            };
        };
        self.at += 4;
        let text = std::str::from_utf8(digits).ok();
        Some(text.and_then(|t| u32::from_str_radix(t, 16).ok()).ok_or(()))
    }

    fn object(&mut self, depth: usize) -> Parsed {
        self.at += 1;
        let mut object = Map::new();
        loop {
            self.skip_whitespace();
            match self.bytes.get(self.at) {
                None => return Parsed::Partial(Some(Value::Object(object))),
                Some(b'}') => {
                    self.at += 1;
                    return Parsed::Complete(Value::Object(object));
                }
                Some(b'"') => {}
                Some(_) => return Parsed::Invalid,
            }
            let key = match self.string() {
                Ok((key, true)) => key,
                // A key cut short: the member has not begun.
                Ok((_, false)) => return Parsed::Partial(Some(Value::Object(object))),
                Err(()) => return Parsed::Invalid,
            };
            self.skip_whitespace();
            match self.bytes.get(self.at) {
                None => return Parsed::Partial(Some(Value::Object(object))),
                Some(b':') => self.at += 1,
                Some(_) => return Parsed::Invalid,
            }
            match self.value(depth + 1) {
                Parsed::Complete(value) => {
                    object.insert(key, value);
                }
                Parsed::Partial(value) => {
                    if let Some(value) = value {
                        object.insert(key, value);
                    }
                    return Parsed::Partial(Some(Value::Object(object)));
                }
                Parsed::Invalid => return Parsed::Invalid,
            }
            self.skip_whitespace();
            match self.bytes.get(self.at) {
                None => return Parsed::Partial(Some(Value::Object(object))),
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Parsed::Complete(Value::Object(object));
                }
                Some(_) => return Parsed::Invalid,
            }
        }
    }

    fn array(&mut self, depth: usize) -> Parsed {
        self.at += 1;
        let mut array = Vec::new();
        self.skip_whitespace();
        if self.bytes.get(self.at) == Some(&b']') {
            self.at += 1;
            return Parsed::Complete(Value::Array(array));
        }
        loop {
            match self.value(depth + 1) {
                Parsed::Complete(value) => array.push(value),
                Parsed::Partial(value) => {
                    array.extend(value);
                    return Parsed::Partial(Some(Value::Array(array)));
                }
                Parsed::Invalid => return Parsed::Invalid,
            }
            self.skip_whitespace();
            match self.bytes.get(self.at) {
                None => return Parsed::Partial(Some(Value::Array(array))),
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Parsed::Complete(Value::Array(array));
                }
                Some(_) => return Parsed::Invalid,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_prefix_of_a_document_reads_as_a_prefix_of_it() {
        let whole = json!({"city": "Zürich \"old town\"\n", "days": [1, -2.5, 3e2], "nested": {"ok": true, "none": null, "emoji": "😀"}});
        let text = serde_json::to_string(&whole).unwrap();
        for end in (0..=text.len()).filter(|end| text.is_char_boundary(*end)) {
            let partial = parse_partial_json(&text[..end]);
            if end == text.len() {
                assert_eq!(partial.as_ref(), Some(&whole));
            }
            // Never more members than the whole document has.
            if let Some(Value::Object(object)) = &partial {
                assert!(
                    object.keys().all(|k| whole.get(k).is_some()),
                    "{end}: {partial:?}"
                );
            }
        }
    }

    #[test]
    fn escapes_cut_short_are_left_out() {
        assert_eq!(parse_partial_json(r#"["a\"#), Some(json!(["a"])));
        assert_eq!(parse_partial_json(r#"["a\u00"#), Some(json!(["a"])));
        assert_eq!(parse_partial_json(r#"["a\u00e9"#), Some(json!(["aé"])));
        assert_eq!(parse_partial_json(r#"["\ud83d"#), Some(json!([""])));
        assert_eq!(
            parse_partial_json(r#"["\ud83d\ude00"]"#),
            Some(json!(["😀"]))
        );
    }

    #[test]
    fn malformed_text_reads_as_nothing_and_deep_nesting_is_bounded() {
        assert_eq!(parse_partial_json(r#"{"a" 1}"#), None);
        assert_eq!(parse_partial_json(r#"[1 2]"#), None);
        assert_eq!(parse_partial_json("nul!"), None);
        let deep = "[".repeat(100_000);
        assert_eq!(parse_partial_json(&deep), None);
    }
}
