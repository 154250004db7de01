//! Property tests: classification never panics and always keeps its bounds, whatever the input.

use gemini_proto::error::{
    ApiError, ErrorKind, MAX_EXCERPT_BYTES, classify_response, parse_error_body,
};
use http::{HeaderMap, HeaderValue, StatusCode};
use proptest::prelude::*;
use serde_json::Value;

/// JSON-ish fragments that steer random bodies towards the interesting paths.
fn jsonish() -> impl Strategy<Value = Vec<u8>> {
    let atom = prop_oneof![
        Just("{\"error\":".to_owned()),
        Just("{\"code\":".to_owned()),
        Just("\"message\":".to_owned()),
        Just("\"status\":\"UNAVAILABLE\"".to_owned()),
        Just("\"details\":[".to_owned()),
        Just("{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":".to_owned()),
        Just(
            "{\"@type\":\"type.googleapis.com/google.rpc.QuotaFailure\",\"violations\":".to_owned()
        ),
        Just("{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\",\"metadata\":".to_owned()),
        Just("\"34.4s\"".to_owned()),
        Just("1e400".to_owned()),
        Just("-1".to_owned()),
        Just("99999999999999999999".to_owned()),
        Just("{\"seconds\":".to_owned()),
        Just("null".to_owned()),
        Just(",".to_owned()),
        Just("}".to_owned()),
        Just("]".to_owned()),
        Just("[".to_owned()),
        "[a-z0-9 .\"]{0,6}",
    ];
    proptest::collection::vec(atom, 0..40).prop_map(|v| v.concat().into_bytes())
}

fn status() -> impl Strategy<Value = StatusCode> {
    (100u16..=999).prop_map(|s| StatusCode::from_u16(s).unwrap())
}

proptest! {
    #[test]
    fn error_random_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..2048), status in status()) {
        check(status, &body);
    }

    #[test]
    fn error_jsonish_never_panics(body in jsonish(), status in status()) {
        check(status, &body);
    }

    #[test]
    fn error_retry_after_never_panics(value in "[ -~]{0,40}", status in status()) {
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(http::header::RETRY_AFTER, v);
        }
        let _ = parse_error_body(status, &headers, b"{}").retry_delay();
    }
}

fn check(status: StatusCode, body: &[u8]) {
    let headers = HeaderMap::new();
    let err = parse_error_body(status, &headers, body);
    assert!(matches!(
        err.kind(),
        ErrorKind::Api | ErrorKind::UnexpectedBody
    ));
    assert_eq!(err.http_status(), Some(status));
    if let Some(ex) = err.excerpt() {
        assert!(
            ex.len() <= MAX_EXCERPT_BYTES,
            "excerpt of {} bytes",
            ex.len()
        );
    }
    let _ = err.to_string();
    let _ = err.retry_delay();
    let _ = err.is_retryable();
    if let Some(api) = err.api_error() {
        // Whatever was parsed can be written back and read again.
        let again = ApiError::from_slice(api.to_envelope_json().as_bytes()).unwrap();
        assert_eq!(again.code(), api.code());
        assert_eq!(again.message(), api.message());
    }
    if let Err(err) = classify_response::<Value>(status, &headers, body) {
        let _ = err.to_string();
    }
    let _ = ApiError::from_slice(body);
}
