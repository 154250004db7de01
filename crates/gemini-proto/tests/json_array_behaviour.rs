//! Targeted behaviour of the JSON-array decoder: strings and escapes, whitespace, malformed
//! structure, truncation, a top-level error object, the size limit, and the other captures
//! (error bodies) as top-level objects.

use gemini_proto::json_array::{
    DEFAULT_MAX_ELEMENT_SIZE, ElementKind, Expected, JsonArrayDecoder, JsonArrayError,
};

/// Elements as (bytes, offset, kind), and the final result.
type Outcome = (Vec<(Vec<u8>, u64, ElementKind)>, Result<(), JsonArrayError>);

fn elements(body: &[u8], piece: usize) -> Outcome {
    let mut decoder = JsonArrayDecoder::new();
    let mut out = Vec::new();
    let mut result = Ok(());
    for chunk in body.chunks(piece.max(1)) {
        result = decoder.push(chunk);
        out.extend(
            std::iter::from_fn(|| decoder.next_element()).map(|e| (e.json, e.offset, e.kind)),
        );
        if result.is_err() {
            break;
        }
    }
    if result.is_ok() {
        result = decoder.finish();
    }
    (out, result)
}

fn every_split(body: &[u8]) -> Outcome {
    let whole = elements(body, body.len());
    for piece in 1..body.len().min(40) {
        assert_eq!(elements(body, piece), whole, "pieces of {piece}");
    }
    whole
}

#[test]
fn braces_brackets_and_escapes_inside_strings() {
    let first = br#"{"t": "} ] { [ \" \\", "u": "\\"}"#;
    let second = br#"{"k\"}": {"n": [1, {"m": "\\\\\"}"}]}}"#;
    let body = [&b"[ "[..], first, b"\n,\r\n", second, b"\n]\n"].concat();
    let (got, result) = every_split(&body);
    assert_eq!(result, Ok(()));
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].0, first);
    assert_eq!(got[1].0, second);
    assert_eq!((got[0].1, got[1].1), (2, 2 + first.len() as u64 + 4));
    for (json, _, kind) in &got {
        assert_eq!(*kind, ElementKind::ArrayElement);
        serde_json::from_slice::<serde_json::Value>(json).unwrap();
    }
}

#[test]
fn empty_array_and_whitespace() {
    assert_eq!(every_split(b" \t\r\n[ \n ] \r\n"), (vec![], Ok(())));
}

#[test]
fn top_level_object_is_yielded_as_a_distinct_kind() {
    let body = b"{\n  \"error\": {\n    \"code\": 429,\n    \"message\": \"{quota}\"\n  }\n}\n";
    let (got, result) = every_split(body);
    assert_eq!(result, Ok(()));
    assert_eq!(
        got,
        vec![(
            body[..body.len() - 1].to_vec(),
            0,
            ElementKind::TopLevelObject
        )]
    );
    // Anything but whitespace after it is malformed.
    let (got, result) = every_split(b"{}{}");
    assert_eq!(got.len(), 1);
    assert_eq!(
        result,
        Err(JsonArrayError::UnexpectedByte {
            byte: b'{',
            offset: 2,
            expected: Expected::EndOfBody
        })
    );
}

#[test]
fn recorded_error_bodies_are_top_level_objects() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/data/real-captures/errors"
    );
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if !path.is_file() {
            continue;
        }
        let body = std::fs::read(&path).unwrap();
        let reference: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let (got, result) = elements(&body, 5);
        assert_eq!(result, Ok(()), "{path:?}");
        assert_eq!(got.len(), 1, "{path:?}");
        let parsed: serde_json::Value = serde_json::from_slice(&got[0].0).unwrap();
        if reference.is_array() {
            // Vertex wraps the error object in a one-element array.
            assert_eq!(got[0].2, ElementKind::ArrayElement);
            assert_eq!(parsed, reference[0]);
        } else {
            assert_eq!(got[0].2, ElementKind::TopLevelObject);
            assert_eq!(parsed, reference);
        }
        seen += 1;
    }
    assert!(seen >= 10);
}

#[test]
fn malformed_structure_is_a_typed_error_with_offset() {
    let cases: &[(&[u8], u8, u64, Expected)] = &[
        (b"  x[{}]", b'x', 2, Expected::ArrayOrObject),
        (b"[{}] ,", b',', 5, Expected::EndOfBody),
        (b"[{} garbage, {}]", b'g', 4, Expected::CommaOrEnd),
        (b"[{},\n]", b']', 5, Expected::Element),
        (b"[{},,{}]", b',', 4, Expected::Element),
        (b"[1, 2]", b'1', 1, Expected::ElementOrEnd),
        (b"[{}{}]", b'{', 3, Expected::CommaOrEnd),
        (b"data: {}", b'd', 0, Expected::ArrayOrObject),
    ];
    for &(body, byte, offset, expected) in cases {
        let (_, result) = every_split(body);
        let err = result.unwrap_err();
        assert_eq!(
            err,
            JsonArrayError::UnexpectedByte {
                byte,
                offset,
                expected
            },
            "{:?}",
            String::from_utf8_lossy(body)
        );
        assert!(err.to_string().contains(&format!("offset {offset}")));
    }
    // The decoder stays failed; elements before the error stay available.
    let mut decoder = JsonArrayDecoder::new();
    let err = decoder.push(b"[{\"a\":1} x").unwrap_err();
    assert_eq!(decoder.push(b"]"), Err(err.clone()));
    assert_eq!(decoder.finish(), Err(err));
    assert_eq!(decoder.next_element().unwrap().json, b"{\"a\":1}");
}

#[test]
fn truncation_is_reported_and_keeps_what_arrived() {
    let cases: &[(&[u8], Option<u64>, Expected, usize)] = &[
        (b"", None, Expected::ArrayOrObject, 0),
        (b" \n", None, Expected::ArrayOrObject, 0),
        (b"[", None, Expected::ElementOrEnd, 0),
        (b"[{\"a\": 1}\n", None, Expected::CommaOrEnd, 1),
        (b"[{\"a\": 1}\n,\r\n", None, Expected::Element, 1),
        (
            b"[{\"a\": 1}\n,\r\n{\"b\": \"}",
            Some(13),
            Expected::ElementContinuation,
            1,
        ),
        (b"[{\"a\": \"\\", Some(1), Expected::ElementContinuation, 0),
        (b"{\"error\": {}", Some(0), Expected::ElementContinuation, 0),
    ];
    for &(body, element_offset, expected, complete) in cases {
        let (got, result) = every_split(body);
        assert_eq!(got.len(), complete);
        assert_eq!(
            result,
            Err(JsonArrayError::Truncated {
                offset: body.len() as u64,
                element_offset,
                expected
            }),
            "{:?}",
            String::from_utf8_lossy(body)
        );
    }
    let mut decoder = JsonArrayDecoder::new();
    decoder.push(b"[{\"a\": 1},{\"b\"").unwrap();
    decoder.push(b": [").unwrap();
    assert!(decoder.finish().is_err());
    assert_eq!(decoder.partial_element(), b"{\"b\": [");
    assert_eq!(decoder.next_element().unwrap().json, b"{\"a\": 1}");
}

#[test]
fn element_size_limit() {
    assert_eq!(DEFAULT_MAX_ELEMENT_SIZE, 64 << 20);
    assert_eq!(JsonArrayDecoder::new().max_element_size(), 64 << 20);
    let body = b"[{\"a\":\"12\"},\n{\"a\":\"123\"}]";
    // The first element is exactly 10 bytes, the second 11.
    for piece in 1..body.len() {
        let mut decoder = JsonArrayDecoder::with_max_element_size(10);
        let mut error = None;
        for chunk in body.chunks(piece) {
            if let Err(e) = decoder.push(chunk) {
                error = Some(e);
                break;
            }
        }
        assert_eq!(
            error,
            Some(JsonArrayError::ElementTooLarge {
                limit: 10,
                offset: 13,
                index: 1
            })
        );
        assert_eq!(decoder.next_element().unwrap().json, b"{\"a\":\"12\"}");
    }
    // A huge element never grows the buffer past the limit.
    let mut decoder = JsonArrayDecoder::with_max_element_size(1000);
    decoder.push(b"[{\"a\": \"").unwrap();
    let mut pushed = 0;
    while decoder.push(&[b'x'; 64]).is_ok() {
        pushed += 64;
        assert!(pushed < 1000);
        assert!(decoder.partial_element().len() <= 1000);
    }
}

#[test]
fn a_multi_megabyte_element_in_network_sized_pieces() {
    let payload = "QUJD".repeat(1 << 20);
    let body = format!("[{{\"inlineData\": {{\"data\": \"{payload}\"}}}}\n]");
    let mut decoder = JsonArrayDecoder::new();
    for chunk in body.as_bytes().chunks(1460) {
        decoder.push(chunk).unwrap();
    }
    decoder.finish().unwrap();
    let element = decoder.next_element().unwrap();
    assert_eq!(element.json.len(), body.len() - 3);
}
