//! Classification of responses: [`classify_response`] and [`parse_error_body`].

use http::header::CONTENT_TYPE;
use http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

#[cfg(doc)]
use super::ErrorKind;
use super::{ApiError, Error};
use crate::encoding::{parse_json, strip_bom};

/// Classifies a complete response: the decoded body on a success status, an [`Error`] otherwise.
///
/// * A success (2xx) status whose body is a Gemini error object (`{"error": {…}}`) is an
///   [`ErrorKind::Api`] error; a body that does not decode as `T` is [`ErrorKind::Decode`] (with the
///   `serde_json` error as source, its line and column, and an excerpt).
/// * Any other status is handed to [`parse_error_body`].
///
/// ```
/// use gemini_proto::error::{classify_response, ErrorKind};
/// use http::{HeaderMap, StatusCode};
///
/// let ok: serde_json::Value = classify_response(StatusCode::OK, &HeaderMap::new(), br#"{"a": 1}"#).unwrap();
/// assert_eq!(ok["a"], 1);
///
/// let err = classify_response::<serde_json::Value>(StatusCode::BAD_GATEWAY, &HeaderMap::new(), b"<html></html>")
///     .unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::UnexpectedBody);
/// ```
pub fn classify_response<T: DeserializeOwned>(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, Error> {
    if !status.is_success() {
        return Err(parse_error_body(status, headers, body));
    }
    // Models never deny unknown fields, so `{"error": …}` would decode as an empty value: look for
    // an error object first (cheaply: only when the word appears at all).
    if let Some(api) = ApiError::from_slice(body) {
        return Err(Error::api(api).with_status(status));
    }
    parse_json(strip_bom(body))
        .0
        .map_err(|e| Error::decode_json(e, body).with_status(status))
}

/// Turns the body of a response with an error status into an [`Error`].
///
/// The body is parsed as JSON whatever the `Content-Type` says (a failing `alt=sse` request is
/// labelled `text/event-stream` but carries plain JSON). A `{"error": {…}}` object, or a
/// one-element array around one, gives [`ErrorKind::Api`]; anything else (HTML from a proxy, plain
/// text, an empty body, JSON of another shape, JSON nested too deeply) gives
/// [`ErrorKind::UnexpectedBody`] with the status and a bounded excerpt. A `Retry-After` header in
/// delta-seconds form is kept (see [`Error::retry_delay`]); the HTTP-date form needs a clock and is
/// ignored here (use [`retry_after_at`](crate::retry::retry_after_at) with your own `now`).
///
/// ```
/// use gemini_proto::error::{parse_error_body, ErrorKind, RpcStatus};
/// use http::{header::CONTENT_TYPE, HeaderMap, HeaderValue, StatusCode};
///
/// let mut headers = HeaderMap::new();
/// headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
/// let body = br#"{"error": {"code": 404, "message": "models/nope is not found", "status": "NOT_FOUND"}}"#;
/// let err = parse_error_body(StatusCode::NOT_FOUND, &headers, body);
/// assert_eq!(err.kind(), ErrorKind::Api);
/// assert_eq!(err.api_error().unwrap().status(), &RpcStatus::NotFound);
/// assert!(!err.is_retryable());
/// ```
pub fn parse_error_body(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
    let retry_after = crate::retry::retry_after(headers);
    let mut err =
        match parse_value(body).and_then(|v| ApiError::from_envelope(&v, Some(status.as_u16()))) {
            Some(api) => Error::api(api).with_status(status),
            None => {
                let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
                Error::unexpected_body(status, content_type, body)
            }
        };
    err.inner.retry_after = retry_after;
    err
}

/// Parses `body` as a JSON value (serde_json bounds the nesting depth to 128), following the
/// crate's text-encoding rule: a leading BOM is ignored, invalid UTF-8 becomes U+FFFD.
pub(super) fn parse_value(body: &[u8]) -> Option<Value> {
    parse_json(strip_bom(body)).0.ok()
}
