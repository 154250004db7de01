//! Property tests of the JSON-array decoder: any partition of the body gives the same output,
//! and for arrays of generated objects the elements equal what serde_json finds in the whole body.

use gemini_proto::json_array::{JsonArrayDecoder, JsonArrayError};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Value;

type Run = (
    Vec<(Vec<u8>, u64, u64)>,
    Vec<u8>,
    Result<(), JsonArrayError>,
);

fn run(pieces: &[&[u8]], limit: usize) -> Run {
    let mut decoder = JsonArrayDecoder::with_max_element_size(limit);
    let mut result = Ok(());
    for piece in pieces {
        result = decoder.push(piece);
        if result.is_err() {
            break;
        }
    }
    if result.is_ok() {
        result = decoder.finish();
    }
    let partial = decoder.partial_element().to_vec();
    let elements = std::iter::from_fn(|| decoder.next_element())
        .map(|e| (e.json, e.index, e.offset))
        .collect();
    (elements, partial, result)
}

fn split<'a>(body: &'a [u8], cuts: &[Index]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|i| i.index(body.len() + 1)).collect();
    points.push(0);
    points.push(body.len());
    points.sort_unstable();
    points.windows(2).map(|w| &body[w[0]..w[1]]).collect()
}

const TOKENS: &[&[u8]] = &[
    b"[",
    b"]",
    b"{",
    b"}",
    b",",
    b"\"",
    b"\\",
    b"\\\"",
    b" ",
    b"\n",
    b"\r\n",
    b":",
    b"a",
    b"1",
    b"{\"k\": \"v\"}",
    b"\"}\"",
    b"\"{\"",
    b"\xC3\xA9",
];

fn soup() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..64).prop_map(|t| t.concat())
}

/// JSON values whose strings are full of braces, brackets, quotes and backslashes.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(Value::from),
        "[{}\\[\\]\"\\\\a-z é,:]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[{}\"\\\\a-z]{0,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn object() -> impl Strategy<Value = Value> {
    prop::collection::btree_map("[{}\"\\\\a-z]{0,6}", json_value(), 0..4)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn json_array_any_partition_gives_identical_output(
        body in soup(),
        cuts in prop::collection::vec(any::<Index>(), 0..24),
        limit in prop_oneof![Just(usize::MAX), 0usize..40],
    ) {
        let whole = run(&[&body], limit);
        prop_assert_eq!(run(&split(&body, &cuts), limit), whole.clone());
        let bytewise: Vec<&[u8]> = body.chunks(1).collect();
        prop_assert_eq!(run(&bytewise, limit), whole);
    }

    #[test]
    fn json_array_elements_match_serde_json(
        objects in prop::collection::vec(object(), 0..6),
        pretty in any::<bool>(),
        cuts in prop::collection::vec(any::<Index>(), 0..24),
    ) {
        // Gemini's framing: "[" + element + "\n,\r\n" + element + ... + "\n]".
        let encoded: Vec<Vec<u8>> = objects
            .iter()
            .map(|o| if pretty { serde_json::to_vec_pretty(o).unwrap() } else { serde_json::to_vec(o).unwrap() })
            .collect();
        let mut body = b"[".to_vec();
        body.extend(encoded.join(&b"\n,\r\n"[..]));
        body.extend(b"\n]");
        let reference: Vec<Value> = serde_json::from_slice(&body).unwrap();
        let (elements, partial, result) = run(&split(&body, &cuts), usize::MAX);
        prop_assert_eq!(result, Ok(()));
        prop_assert!(partial.is_empty());
        prop_assert_eq!(elements.len(), reference.len());
        for ((json, _, offset), want) in elements.iter().zip(&reference) {
            let got: Value = serde_json::from_slice(json).unwrap();
            prop_assert_eq!(&got, want);
            prop_assert_eq!(&body[*offset as usize..][..json.len()], &json[..]);
        }
    }
}
