//! The JSON-array decoder never panics, and its output does not depend on how the body is split.
#![no_main]

use gemini_proto::json_array::{JsonArrayDecoder, JsonArrayError, JsonElement};
use libfuzzer_sys::fuzz_target;

mod split;

type Outcome = (Vec<JsonElement>, Vec<u8>, Result<(), JsonArrayError>);

fn run(pieces: &[&[u8]], limit: usize) -> Outcome {
    let mut decoder = JsonArrayDecoder::with_max_element_size(limit);
    let mut result = pieces.iter().try_for_each(|piece| decoder.push(piece));
    if result.is_ok() {
        result = decoder.finish();
    }
    let partial = decoder.partial_element().to_vec();
    let elements: Vec<_> = std::iter::from_fn(|| decoder.next_element()).collect();
    (elements, partial, result)
}

fuzz_target!(|data: &[u8]| {
    let Some(case) = split::case(data) else {
        return;
    };
    let whole = run(&[case.body], case.limit);
    let split = run(&case.pieces, case.limit);
    assert_eq!(split, whole);
    // Every element is a slice of the body that starts with `{` and ends with `}`.
    let (elements, _, _) = &whole;
    for element in elements {
        let start = element.offset as usize;
        assert_eq!(
            &case.body[start..start + element.json.len()],
            &element.json[..]
        );
        assert_eq!(
            (element.json.first(), element.json.last()),
            (Some(&b'{'), Some(&b'}'))
        );
    }
});
