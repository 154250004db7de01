//! Every recorded JSON-array stream body in `tests/data/real-captures/stream-jsonarray/` yields,
//! under every split pattern, the elements that a whole-body JSON parse finds.

use gemini_proto::json_array::{ElementKind, JsonArrayDecoder, JsonElement};
use serde_json::Value;

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/data/real-captures/stream-jsonarray"
);

fn decode(pieces: &mut dyn Iterator<Item = &[u8]>) -> Vec<JsonElement> {
    let mut decoder = JsonArrayDecoder::new();
    let mut elements = Vec::new();
    for piece in pieces {
        decoder.push(piece).unwrap();
        elements.extend(std::iter::from_fn(|| decoder.next_element()));
    }
    decoder.finish().unwrap();
    elements
}

#[test]
fn json_array_captures_same_elements_under_every_split() {
    let mut files: Vec<_> = std::fs::read_dir(DIR)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 27, "found {} captures", files.len());
    let mut total = 0;
    for path in &files {
        let name = path.file_name().unwrap().to_str().unwrap();
        let body = std::fs::read(path).unwrap();
        // Independent reference: parse the complete body with serde_json.
        let reference: Vec<Value> = serde_json::from_slice(&body).unwrap();
        let whole = decode(&mut std::iter::once(&body[..]));
        assert_eq!(whole.len(), reference.len(), "{name}");
        for (i, (element, want)) in whole.iter().zip(&reference).enumerate() {
            assert_eq!(element.kind, ElementKind::ArrayElement);
            assert_eq!(element.index, i as u64);
            assert_eq!(body[element.offset as usize], b'{');
            assert_eq!(
                &body[element.offset as usize..][..element.json.len()],
                &element.json[..]
            );
            let got: Value = serde_json::from_slice(&element.json).unwrap();
            assert!(got.is_object(), "{name}");
            assert_eq!(&got, want, "{name}: element {i}");
        }
        for size in [1, 2, 3, 7, 16, 100, 1460] {
            assert_eq!(
                decode(&mut body.chunks(size)),
                whole,
                "{name}: pieces of {size}"
            );
        }
        // Cut right after every structural byte: brace, bracket, comma, quote, backslash, CR.
        let mut cuts: Vec<usize> = body
            .iter()
            .enumerate()
            .filter(|(_, b)| b"{}[],\"\\\r".contains(b))
            .map(|(i, _)| i + 1)
            .collect();
        cuts.insert(0, 0);
        cuts.push(body.len());
        cuts.dedup();
        let mut pieces = cuts.windows(2).map(|w| &body[w[0]..w[1]]);
        assert_eq!(decode(&mut pieces), whole, "{name}: structural cuts");
        total += whole.len();
    }
    assert!(total >= 80, "{total} elements");
}
