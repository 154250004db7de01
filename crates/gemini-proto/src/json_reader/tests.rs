//! The reader against serde_json: whenever the reader returns a value, serde_json returns the
//! same one; and on the documents Gemini sends, the reader does return one.

use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{MAX_DEPTH, ReadInto, read, read_into};
use crate::types::{Candidate, GenerateContentResponse, ModalityTokenCount, Model, UsageMetadata};

/// Checks the reader's promise on `text` for `T`; returns whether the reader took it.
fn agrees<T>(text: &str) -> bool
where
    T: DeserializeOwned + PartialEq + std::fmt::Debug,
{
    match read::<T>(text) {
        Some(ours) => {
            let theirs = serde_json::from_str::<T>(text);
            assert_eq!(theirs.as_ref().ok(), Some(&ours), "{text:?}");
            true
        }
        None => false,
    }
}

/// [`agrees`] for a type of the model, read both through `Deserialize` and in place: the two
/// take the same documents, and give serde_json's value.
fn model_agrees<T>(text: &str) -> bool
where
    T: DeserializeOwned + ReadInto + Default + PartialEq + std::fmt::Debug,
{
    let taken = agrees::<T>(text);
    match read_into::<T>(text) {
        Some(ours) => {
            assert!(taken, "only the in-place read took {text:?}");
            assert_eq!(serde_json::from_str::<T>(text).ok(), Some(ours), "{text:?}");
        }
        None => assert!(!taken, "the in-place read left {text:?}"),
    }
    taken
}

/// Like [`agrees`], for a `Value` compared bit for bit (so that `-0.0` differs from `0.0`).
fn agrees_exactly(text: &str) -> bool {
    match read::<Value>(text) {
        Some(ours) => {
            let theirs: Value = serde_json::from_str(text).expect(text);
            assert_eq!(bits(&ours), bits(&theirs), "{text:?}");
            true
        }
        None => false,
    }
}

/// The value with every float written out bit for bit.
fn bits(value: &Value) -> String {
    match value {
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => format!("f{:x}", f.to_bits()),
            _ => n.to_string(),
        },
        Value::Array(items) => {
            format!("[{}]", items.iter().map(bits).collect::<Vec<_>>().join(","))
        }
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{k:?}:{}", bits(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        other => other.to_string(),
    }
}

#[test]
fn numbers_read_as_serde_json_reads_them_or_are_left_to_it() {
    let taken = [
        "0",
        "-0",
        "1",
        "-1",
        "15",
        "18446744073709551615",
        "-9223372036854775808",
        "-9223372036854775807",
        "1.5",
        "-1.5e10",
        "2.5E-3",
        "1E+5",
        "0.0",
        "-0.0",
        "0e5",
        "0.1",
        "0.30000000000000004",
        "123456789.123456789",
        "1.7976931348623157e308",
        "2.2250738585072014e-308",
        "-9223372036854775809",
    ];
    for text in taken {
        assert!(agrees_exactly(text), "the reader should take {text}");
    }
    let left = [
        "18446744073709551616",
        "1e400",
        "-1e400",
        "1e-400",
        "4.9e-324",
        "01",
        "-01",
        "1.",
        ".5",
        "1e",
        "1e+",
        "+1",
        "-",
        "--1",
        "1.5.5",
        "0x10",
        "Infinity",
        "NaN",
        "1 2",
    ];
    for text in left {
        assert!(
            !agrees_exactly(text),
            "the reader should leave {text} to serde_json"
        );
    }
}

#[test]
fn strings_and_escapes() {
    let taken = [
        r#""plain""#,
        r#""""#,
        r#""é ü 漢字 🦀""#,
        r#""\" \\ \/ \b \f \n \r \t""#,
        r#""\u0041\u00e9\u6F22\uD83E\uDD80""#,
        r#""\u0000""#,
        "\"\u{7f}\"",
        r#""a\nb""#,
    ];
    for text in taken {
        assert!(agrees_exactly(text), "the reader should take {text}");
    }
    // Long strings (past the word-at-a-time search), with bytes above 0x7f and escapes.
    for text in [
        format!("\"{}\"", "x".repeat(100)),
        format!("\"{}\u{7f}\"", "é".repeat(30)),
        format!("\"{}\\n{}\"", "a".repeat(40), "b".repeat(40)),
    ] {
        assert!(agrees_exactly(&text), "the reader should take {text:?}");
    }
    // A control character anywhere in a string, short or long, before or after an escape.
    for text in [
        "\"ab\u{1}\"".to_owned(),
        format!("\"{}\t{}\"", "a".repeat(5), "b".repeat(40)),
        format!("\"{}\u{1f}\"", "a".repeat(7)),
        format!("\"{}\u{1}b\"", "a".repeat(35)),
        format!("\"{}\u{0}\"", "a".repeat(200)),
        "\"a\\nb\u{1f}c\"".to_owned(),
        format!("\"{}\\n{}\u{2}\"", "a".repeat(10), "a".repeat(30)),
        format!("{{\"{}\u{1}\": 1}}", "k".repeat(33)),
    ] {
        assert!(
            !agrees_exactly(&text),
            "the reader should leave {text:?} to serde_json"
        );
    }
    let left = [
        r#""\uD83E""#,
        r#""\uDD80""#,
        r#""\uD83E\u0041""#,
        r#""\uD83Ex""#,
        r#""\x""#,
        r#""\u12""#,
        r#""\u12G4""#,
        "\"tab\there\"",
        "\"line\nbreak\"",
        r#""unterminated"#,
        r#""trailing\"#,
    ];
    for text in left {
        assert!(
            !agrees_exactly(text),
            "the reader should leave {text:?} to serde_json"
        );
    }
}

/// The end of a string, an escape and a control character are found wherever they sit: in
/// the first words of a string, in the 32-byte blocks of a long one (at a block's first or last
/// byte, or past the last whole block), and after non-ASCII characters.
#[test]
fn string_stops_at_every_position() {
    for len in (0..80).chain([95, 96, 97, 127, 128, 129, 300, 341]) {
        let plain = "a".repeat(len);
        // The closing quote right after `len` bytes.
        assert!(agrees_exactly(&format!("\"{plain}\"")), "{len}");
        assert!(
            agrees_exactly(&format!("{{\"{plain}\": [\"{plain}\"]}}")),
            "{len}"
        );
        // An escape there, then more text.
        assert!(agrees_exactly(&format!("\"{plain}\\n{plain}\"")), "{len}");
        assert!(agrees_exactly(&format!("\"{plain}\\u00e9\"")), "{len}");
        // A control character there, in a value or in a key, before or after an escape.
        for control in ['\u{0}', '\u{1}', '\t', '\n', '\r', '\u{1f}'] {
            for text in [
                format!("\"{plain}{control}\""),
                format!("\"{plain}{control}{plain}\""),
                format!("{{\"{plain}{control}\": 1}}"),
                format!("\"\\n{plain}{control}\""),
            ] {
                assert!(!agrees_exactly(&text), "{text:?}");
                assert!(!model_agrees::<GenerateContentResponse>(&text), "{text:?}");
            }
        }
        // Bytes that stop no string: the space, DEL, and the bytes of non-ASCII characters.
        for other in [' ', '\u{7f}', 'é', '\u{80}', '漢', '🦀'] {
            let text = format!("\"{plain}{other}{plain}\"");
            assert!(agrees_exactly(&text), "{text:?}");
        }
    }
    // Non-ASCII characters at every offset of a long string, each byte of them in every position
    // of a word and of a block.
    for lead in 0..40 {
        let text = format!("\"{}{}\\t\"", "a".repeat(lead), "é漢🦀".repeat(12));
        assert!(agrees_exactly(&text), "{text:?}");
        let text = format!("\"{}{}\u{1}\"", "a".repeat(lead), "é漢🦀".repeat(12));
        assert!(!agrees_exactly(&text), "{text:?}");
    }
    // A control character outside a string is no byte the grammar expects (serde_json reads
    // these as whitespace).
    for text in ["{\"a\":\t1}", "[1,\n2]", "{\"a\": 1\r}", "\n{}"] {
        assert!(!agrees_exactly(text), "{text:?}");
        assert!(serde_json::from_str::<Value>(text).is_ok(), "{text:?}");
    }
}

#[test]
fn structure() {
    let taken = [
        "{}",
        "[]",
        "  { \"a\" : [ 1 , 2 , { } ] , \"b\" : null , \"c\" : true , \"d\" : false }  ",
        r#"{"a": {"a": {"a": []}}}"#,
        r#"{"a": 1, "a": 2}"#,
    ];
    for text in taken {
        assert!(agrees_exactly(text), "the reader should take {text}");
    }
    let left = [
        "",
        " ",
        "{",
        "}",
        "[1,]",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{1: 2}",
        "[1 2]",
        "nul",
        "tru",
        "true x",
        "{}{}",
        "\u{feff}{}",
        "{\n}",
        "[\t1]",
        "{\"a\":1}\r",
    ];
    for text in left {
        assert!(
            !agrees_exactly(text),
            "the reader should leave {text:?} to serde_json"
        );
    }
    let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    assert!(agrees_exactly(&nested(MAX_DEPTH as usize)));
    assert!(!agrees_exactly(&nested(MAX_DEPTH as usize + 1)));
    // serde_json's own limit is beyond: deeper documents are its to refuse.
    assert!(read::<Value>(&nested(200)).is_none());
    assert!(serde_json::from_str::<Value>(&nested(200)).is_err());
}

#[test]
fn typed_reads_match_and_mismatches_are_left_to_serde_json() {
    let chunk = r#"{"candidates": [{"content": {"parts": [{"text": "Hi \"there\"\n"}],"role": "model"},"finishReason": "STOP","index": 0,"safetyRatings": [{"category": "HARM_CATEGORY_HATE_SPEECH","probability": "NEGLIGIBLE","probabilityScore": 0.0625}],"avgLogprobs": -0.25}],"usageMetadata": {"promptTokenCount": 4,"totalTokenCount": 5,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 4}]},"modelVersion": "gemini-2.5-flash","responseId": "abc","someNewField": {"x": [1, 2.5, null]}}"#;
    assert!(model_agrees::<GenerateContentResponse>(chunk));
    // A wrong type is serde_json's error to report.
    for text in [
        r#"{"candidates": 3}"#,
        r#"{"usageMetadata": {"promptTokenCount": "4"}}"#,
        r#"{"usageMetadata": {"promptTokenCount": -4}}"#,
        r#"{"usageMetadata": {"promptTokenCount": 4294967296}}"#,
        r#"{"candidates": [{"index": 1.5}]}"#,
        r#"{"candidates": [{"index": 1e0}]}"#,
        r#"{"candidates": [{"index": 01}]}"#,
        r#"{"candidates": [{"index": -0}]}"#,
        r#"{"candidates": [{"index": 18446744073709551616}]}"#,
        r#"{"candidates": [{"finishReason": true}]}"#,
    ] {
        assert!(!model_agrees::<GenerateContentResponse>(text), "{text}");
        assert!(serde_json::from_str::<GenerateContentResponse>(text).is_err());
    }
    // Enums by number, `null` for absent fields, proto names, base64 signatures.
    for text in [
        r#"{"candidates": [{"finishReason": 1, "index": null, "safetyRatings": null}]}"#,
        r#"{"candidates": [{"finish_reason": "MAX_TOKENS", "content": {"parts": [{"text": "x", "thoughtSignature": "c2ln"}]}}]}"#,
        r#"{"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"cachedContentTokenCount": 3}}"#,
        r#"{"candidates": [{"finishReason": "ST\u004fP", "index": 0}, {"finishReason": "NEW", "index": 4294967295}]}"#,
        r#"{"candidates": [{"index": 7 , "tokenCount": 0}], "usageMetadata": {"totalTokenCount": 4294967295}}"#,
    ] {
        assert!(model_agrees::<GenerateContentResponse>(text), "{text}");
    }
    // An `f32` with a fraction is left to serde_json, which rounds it once.
    let model = r#"{"name": "models/x", "temperature": 0.1, "topK": 40}"#;
    assert!(!model_agrees::<Model>(model));
    assert!(model_agrees::<Model>(
        r#"{"name": "models/x", "temperature": 1, "topK": 40}"#
    ));
}

/// Objects read in place: their members, commas and spaces as serde_json takes them, and
/// nothing else.
#[test]
fn objects_read_in_place_as_they_deserialize() {
    let taken = [
        "{}",
        " { } ",
        r#"{"modelVersion": "a"}"#,
        r#"{ "modelVersion" : "a" , "responseId" : "b" }"#,
        r#"{"candidates": [{}, { }, {"index": 1}], "usageMetadata": {}}"#,
        r#"{"candidates": [{"content": {"parts": [{"text": "a"}, {"text": "b"}, {}]}}]}"#,
        r#"{"modelVersion": "a", "modelVersion": "b"}"#,
    ];
    for text in taken {
        assert!(model_agrees::<GenerateContentResponse>(text), "{text}");
    }
    let left = [
        "{",
        "{,}",
        r#"{"modelVersion": "a",}"#,
        r#"{"modelVersion": "a" , }"#,
        r#"{,"modelVersion": "a"}"#,
        r#"{"modelVersion": "a" "responseId": "b"}"#,
        r#"{"modelVersion": "a";"responseId": "b"}"#,
        r#"{"modelVersion" "a"}"#,
        r#"{"candidates": [{"index": 1,}]}"#,
        r#"{"candidates": [{"index": 1}]"#,
        r#"{"candidates": [{"index": 1]}"#,
        r#"{modelVersion: "a"}"#,
    ];
    for text in left {
        assert!(!model_agrees::<GenerateContentResponse>(text), "{text}");
        assert!(serde_json::from_str::<GenerateContentResponse>(text).is_err());
    }
}

/// Fields that take `null` (options of integers, shared strings, strings and structs; lists;
/// strings) read it, their values and everything else, spaces before them included, as
/// serde_json does, or leave them to it: an in-place reader that peeks for `null` and then
/// reads the value must not lose or misread its first byte.
#[test]
fn fields_read_null_and_values_as_serde_json_does() {
    let values = [
        "null",
        " null",
        "  null",
        "nul",
        "nulls",
        "n",
        "null1",
        "0",
        " 7",
        "  42",
        "07",
        "-1",
        "1.5",
        "1e2",
        "4294967296",
        "\"a\"",
        " \"a\"",
        "\"\\u0041\"",
        "\"",
        "{}",
        " {}",
        "{\"tokenCount\": 3}",
        "{ \"tokenCount\" : null }",
        "{\"tokenCount\": 3",
        "[]",
        " []",
        "[{}]",
        "[ {\"tokenCount\": 1} , {} ]",
        "[null]",
        "[",
        "true",
        "t",
        "",
    ];
    let fields = [
        ("candidates", "{\"candidates\": [{\"index\": @}]}"),
        (
            "finishMessage",
            "{\"candidates\": [{\"finishMessage\": @}]}",
        ),
        ("modelVersion", "{\"modelVersion\": @}"),
        ("modelVersion, escaped key", "{\"model\\u0056ersion\": @}"),
        ("createTime", "{\"createTime\": @}"),
        ("usageMetadata", "{\"usageMetadata\": @}"),
        (
            "promptTokenCount",
            "{\"usageMetadata\": {\"promptTokenCount\": @}}",
        ),
        (
            "promptTokensDetails",
            "{\"usageMetadata\": {\"promptTokensDetails\": @}}",
        ),
        ("candidates list", "{\"candidates\": @}"),
        (
            "fileUri",
            "{\"candidates\": [{\"content\": {\"parts\": [{\"fileData\": {\"fileUri\": @}}]}}]}",
        ),
    ];
    let mut taken = 0;
    for (field, template) in fields {
        for value in values {
            let text = template.replace('@', value);
            if model_agrees::<GenerateContentResponse>(&text) {
                taken += 1;
            } else {
                // Left to serde_json, which has the last word: none of these is valid.
                let parsed = serde_json::from_str::<GenerateContentResponse>(&text);
                assert!(parsed.is_err(), "{field}: {text}");
            }
        }
    }
    // Each field takes `null` and the values of its type, with or without spaces before them.
    assert!(taken >= 40, "{taken}");
    let read = read_into::<GenerateContentResponse>(concat!(
        r#"{"candidates": [{"index":  7, "finishMessage": null}], "modelVersion": "v", "#,
        r#""usageMetadata": {"promptTokenCount": null, "totalTokenCount":9}, "createTime": null}"#,
    ))
    .expect("taken");
    assert_eq!(read.candidates[0].index, Some(7));
    assert_eq!(read.candidates[0].finish_message, None);
    assert_eq!(read.model_version.as_deref(), Some("v"));
    let usage = read.usage_metadata.expect("usage");
    assert_eq!(
        (usage.prompt_token_count, usage.total_token_count),
        (None, Some(9))
    );
    for text in [
        r#"{"modelVersion": nul}"#,
        r#"{"modelVersion": nulls}"#,
        r#"{"modelVersion": 1}"#,
        r#"{"candidates": [{"index": "1"}]}"#,
        r#"{"candidates": [{"index": nul}]}"#,
        r#"{"usageMetadata": []}"#,
        r#"{"usageMetadata": "a"}"#,
        r#"{"createTime": 1}"#,
        r#"{"candidates": {}}"#,
        r#"{"candidates": nulL}"#,
        r#"{"usageMetadata":    "#,
    ] {
        assert!(
            read_into::<GenerateContentResponse>(text).is_none(),
            "{text}"
        );
        assert!(
            serde_json::from_str::<GenerateContentResponse>(text).is_err(),
            "{text}"
        );
    }
}

#[test]
fn parts_read_in_place_as_they_deserialize() {
    for part in [
        r#"{"text": "a"}"#,
        r#"{"text": null}"#,
        r#"{"text": "a", "thought": true, "thoughtSignature": "c2ln"}"#,
        r#"{"thought_signature": "c2ln", "text": ""}"#,
        r#"{"inlineData": {"mimeType": "image/png", "data": "iVBORw=="}}"#,
        r#"{"inline_data": {"mime_type": null, "data": "iVBORw", "x": 1}}"#,
        r#"{"functionCall": {"name": "f", "args": {"a": [1, 2.5]}, "id": "c1"}}"#,
        r#"{"text": "first", "functionCall": {"name": "second"}}"#,
        r#"{"executableCode": {"language": "PYTHON", "code": "print(1)"}, "codeExecutionResult": {"outcome": "OUTCOME_OK"}}"#,
        r#"{"videoMetadata": {"startOffset": "1s"}, "someNewDatum": {"k": "v"}}"#,
        r#"{"text": "a", "text": "b"}"#,
        r#"{"thoughtSignature": "not base64!"}"#,
        r#"{"text": 5}"#,
    ] {
        let chunk = format!(r#"{{"candidates": [{{"content": {{"parts": [{part}, {part}]}}}}]}}"#);
        let deserialized = serde_json::from_str::<GenerateContentResponse>(&chunk);
        assert_eq!(
            model_agrees::<GenerateContentResponse>(&chunk),
            deserialized.is_ok(),
            "{chunk}"
        );
    }
}

/// The members of `UsageMetadata`: JSON name, and a value unlike the other members' values.
/// Several names share their first byte, some also their length (`cachedContentTokenCount`,
/// `candidatesTokensDetails`, `toolUsePromptTokenCount`).
const USAGE_MEMBERS: &[(&str, &str)] = &[
    ("promptTokenCount", "1"),
    ("candidatesTokenCount", "2"),
    ("totalTokenCount", "3"),
    ("trafficType", r#""ON_DEMAND""#),
    ("cachedContentTokenCount", "5"),
    (
        "promptTokensDetails",
        r#"[{"modality": "TEXT", "tokenCount": 6}]"#,
    ),
    (
        "cacheTokensDetails",
        r#"[{"modality": "IMAGE", "tokenCount": 7}]"#,
    ),
    (
        "candidatesTokensDetails",
        r#"[{"modality": "AUDIO", "tokenCount": 8}]"#,
    ),
    ("toolUsePromptTokenCount", "9"),
    ("toolUsePromptTokensDetails", r#"[{"tokenCount": 10}]"#),
    ("thoughtsTokenCount", "11"),
];

/// The members of `Candidate` (`finishReason` and `finishMessage` share a prefix).
const CANDIDATE_MEMBERS: &[(&str, &str)] = &[
    ("content", r#"{"parts": [{"text": "c"}], "role": "model"}"#),
    ("finishReason", r#""STOP""#),
    ("index", "3"),
    (
        "safetyRatings",
        r#"[{"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "LOW"}]"#,
    ),
    (
        "citationMetadata",
        r#"{"citationSources": [{"startIndex": 1}]}"#,
    ),
    ("groundingMetadata", r#"{"webSearchQueries": ["q"]}"#),
    ("finishMessage", r#""m""#),
    ("urlContextMetadata", r#"{"urlMetadata": []}"#),
    ("avgLogprobs", "-0.5"),
    ("logprobsResult", r#"{"logProbabilitySum": -1.5}"#),
    ("tokenCount", "7"),
    ("groundingAttributions", r#"[{"a": 1}]"#),
    ("continuationToken", r#""c2ln""#),
];

/// The members of `GenerateContentResponse`.
const RESPONSE_MEMBERS: &[(&str, &str)] = &[
    ("candidates", r#"[{"index": 1}]"#),
    ("promptFeedback", r#"{"blockReason": "SAFETY"}"#),
    ("usageMetadata", r#"{"totalTokenCount": 2}"#),
    ("modelVersion", r#""v""#),
    ("createTime", r#""t""#),
    ("responseId", r#""r""#),
];

/// The members of `ModalityTokenCount`.
const MODALITY_MEMBERS: &[(&str, &str)] = &[("modality", r#""TEXT""#), ("tokenCount", "4")];

/// The proto (snake_case) name of a member, which the model also accepts.
fn proto_name(json_name: &str) -> String {
    let mut name = String::new();
    for c in json_name.chars() {
        if c.is_ascii_uppercase() {
            name.push('_');
        }
        name.push(c.to_ascii_lowercase());
    }
    name
}

/// Keys that are almost `name`: every proper prefix of it (the empty key included), `name`
/// with a byte after it, and `name` with any one byte changed.
fn near_misses(name: &str) -> Vec<String> {
    let mut keys: Vec<String> = (0..name.len()).map(|len| name[..len].to_owned()).collect();
    keys.extend([
        format!("{name}s"),
        format!("{name}\u{e9}"),
        format!(" {name}"),
    ]);
    for at in 0..name.len() {
        let mut key = name.as_bytes().to_vec();
        key[at] ^= 0x20;
        keys.push(String::from_utf8(key).unwrap());
    }
    keys
}

/// `key` with its first byte, then its last byte, written as a `\u` escape.
fn escaped(key: &str) -> [String; 2] {
    let (first, last) = (key.as_bytes()[0], key.as_bytes()[key.len() - 1]);
    [
        format!("\\u{first:04x}{}", &key[1..]),
        format!("{}\\u{last:04X}", &key[..key.len() - 1]),
    ]
}

/// The keys of `value` serialized.
fn serialized_keys<T: Serialize>(value: &T) -> Vec<String> {
    match serde_json::to_value(value).unwrap() {
        Value::Object(map) => map.keys().cloned().collect(),
        other => panic!("not an object: {other}"),
    }
}

/// Every member of `T`, by its JSON name, its proto name or escaped, reads into its field
/// exactly as serde_json reads it, alone or with all others; and keys that are almost a
/// member's name are kept as unknown members, exactly as serde_json keeps them.
fn members_land_where_serde_json_puts_them<T>(members: &[(&str, &str)])
where
    T: DeserializeOwned + Serialize + ReadInto + Default + PartialEq + std::fmt::Debug,
{
    let taken = |text: &str| -> T {
        assert!(model_agrees::<T>(text), "the reader should take {text}");
        read_into::<T>(text).unwrap()
    };
    let names: Vec<String> = members
        .iter()
        .flat_map(|&(name, _)| [name.to_owned(), proto_name(name)])
        .collect();
    for &(name, value) in members {
        let proto = proto_name(name);
        let [first_escaped, last_escaped] = escaped(name);
        for key in [name, &proto, &first_escaped, &last_escaped] {
            for text in [
                format!(r#"{{"{key}": {value}}}"#),
                format!(r#"{{"{key}" : {value}}}"#),
                format!(r#"{{ "{key}":{value} }}"#),
            ] {
                // In its field: written back under its JSON name, and not as unknown.
                assert_eq!(serialized_keys(&taken(&text)), [name], "{text}");
            }
            let null = taken(&format!(r#"{{"{key}": null}}"#));
            assert!(serialized_keys(&null).is_empty(), "{key}");
        }
        // The last of two values for the same field is kept, by either name.
        taken(&format!(r#"{{"{name}": {value}, "{proto}": null}}"#));
        taken(&format!(r#"{{"{proto}": null, "{name}": {value}}}"#));
        for key in near_misses(name).iter().chain(&near_misses(&proto)) {
            if names.contains(key) {
                continue;
            }
            let text = format!(r#"{{"{key}": {value}, "{name}": {value}}}"#);
            let mut keys = serialized_keys(&taken(&text));
            keys.sort();
            let mut expected = [key.as_str(), name];
            expected.sort();
            assert_eq!(keys, expected, "{text}");
        }
    }
    // All members at once, by either name, in either order; every truncation is left.
    for proto in [false, true] {
        let mut all: Vec<String> = members
            .iter()
            .map(|&(name, value)| {
                let key = if proto {
                    proto_name(name)
                } else {
                    name.to_owned()
                };
                format!(r#""{key}": {value}"#)
            })
            .collect();
        for _ in 0..2 {
            let text = format!("{{{}}}", all.join(","));
            assert_eq!(
                serialized_keys(&taken(&text)).len(),
                members.len(),
                "{text}"
            );
            for end in 0..text.len() {
                if let Some(cut) = text.get(..end) {
                    assert!(!model_agrees::<T>(cut), "{cut}");
                }
            }
            all.reverse();
        }
    }
    // Unknown keys of every length, before and after a member.
    let (name, value) = members[0];
    for len in 0..40 {
        let key = "k".repeat(len);
        taken(&format!(
            r#"{{"{key}": 1, "{name}": {value}, "{key}x": [1]}}"#
        ));
    }
}

#[test]
fn members_read_in_place_land_where_serde_json_puts_them() {
    members_land_where_serde_json_puts_them::<UsageMetadata>(USAGE_MEMBERS);
    members_land_where_serde_json_puts_them::<Candidate>(CANDIDATE_MEMBERS);
    members_land_where_serde_json_puts_them::<GenerateContentResponse>(RESPONSE_MEMBERS);
    members_land_where_serde_json_puts_them::<ModalityTokenCount>(MODALITY_MEMBERS);
}

/// Every event of every recorded stream is read by the reader, and as serde_json reads it.
#[test]
fn every_recorded_event_takes_the_fast_path() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/data/real-captures/stream-sse"
    );
    let mut events = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let body = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in body.lines() {
            let Some(data) = line.strip_prefix("data: ") else {
                continue;
            };
            if data.contains("\"error\"") {
                continue;
            }
            assert!(model_agrees::<GenerateContentResponse>(data), "{data}");
            assert!(agrees_exactly(data), "{data}");
            events += 1;
        }
    }
    assert!(events > 500, "only {events} events found");
}

/// Arbitrary JSON values.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "\\PC{0,12}".prop_map(Value::String),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("\\PC{0,8}|candidates|content|parts|text", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// One recorded-like event, to mutate.
const EVENT: &str = r#"{"candidates": [{"content": {"parts": [{"text": "The sky is blue \u00e9 because"}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 15,"candidatesTokenCount": 3,"totalTokenCount": 18,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 15}]},"modelVersion": "gemini-2.5-flash","responseId": "w1peaMz6INOvnvgPgYfPiQY"}"#;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn generated_documents(value in json(), pretty in any::<bool>()) {
        let text = if pretty {
            serde_json::to_string_pretty(&value).unwrap().replace('\n', " ")
        } else {
            serde_json::to_string(&value).unwrap()
        };
        agrees_exactly(&text);
        model_agrees::<GenerateContentResponse>(&text);
    }

    #[test]
    fn mutated_events(edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..4)) {
        let mut bytes = EVENT.as_bytes().to_vec();
        for (at, byte, kind) in edits {
            let at = at.index(bytes.len() + 1);
            match kind {
                0 if at < bytes.len() => bytes[at] = byte,
                1 if at < bytes.len() => { bytes.remove(at); }
                _ => bytes.insert(at, byte),
            }
        }
        if let Ok(text) = std::str::from_utf8(&bytes) {
            model_agrees::<GenerateContentResponse>(text);
            agrees_exactly(text);
        }
    }
}
