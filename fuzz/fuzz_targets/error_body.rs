//! `parse_error_body` never panics, always classifies (API error or unexpected body), keeps its
//! excerpt within bounds, and an API error it finds writes back to JSON that reads back as the
//! same error.
#![no_main]

use gemini_proto::error::{ApiError, ErrorKind, MAX_EXCERPT_BYTES, parse_error_body};
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderMap, HeaderValue, StatusCode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    // A status from 400 to 599, and sometimes the headers a real error response carries.
    let status = StatusCode::from_u16(400 + u16::from(selector) % 200).expect("a valid status");
    let mut headers = HeaderMap::new();
    if selector & 1 == 1 {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("30"));
    }
    let err = parse_error_body(status, &headers, body);
    assert_eq!(err.http_status(), Some(status));
    match err.kind() {
        ErrorKind::Api => {
            let api = err.api_error().expect("an API error carries the ApiError");
            let json = api.to_envelope_json();
            let back = ApiError::from_slice(json.as_bytes()).expect("the envelope reads back");
            assert_eq!(&back, api);
            assert_eq!(back.to_envelope_json(), json);
        }
        ErrorKind::UnexpectedBody => {
            let excerpt = err.excerpt().expect("an unexpected body keeps an excerpt");
            assert!(excerpt.len() <= MAX_EXCERPT_BYTES);
            assert_eq!(err.body_len(), Some(body.len()));
        }
        other => panic!("parse_error_body gave {other:?}"),
    }
    let line = err.to_string();
    assert!(!line.is_empty());
});
