//! Google's two JSON layouts, and the `google.rpc.Status` error bodies (built with
//! `gemini_proto::error::ApiError`).

use std::io;

use gemini_proto::error::{
    ApiError, ErrorDetail, Help, HelpLink, QuotaFailure, QuotaViolation, RpcStatus,
};
use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter, Serializer};

/// The one-line layout of SSE events: `": "` after a key, `,` with no space.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct GoogleLineFormatter;

impl Formatter for GoogleLineFormatter {
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }
}

/// Serializes `value` on one line in Google's SSE spacing.
pub(crate) fn to_line<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    let mut ser = Serializer::with_formatter(&mut out, GoogleLineFormatter);
    value
        .serialize(&mut ser)
        .expect("serializing to memory cannot fail");
    out
}

/// Serializes `value` 2-space pretty-printed with LF (no trailing newline).
pub(crate) fn to_pretty<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    let mut ser = Serializer::with_formatter(&mut out, PrettyFormatter::with_indent(b"  "));
    value
        .serialize(&mut ser)
        .expect("serializing to memory cannot fail");
    out
}

/// Serializes `value` compactly (used for canonical hashing).
pub(crate) fn to_compact<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    let mut ser = Serializer::with_formatter(&mut out, CompactFormatter);
    value
        .serialize(&mut ser)
        .expect("serializing to memory cannot fail");
    out
}

/// Wraps an [`ApiError`] as Google sends it: `{"error": {...}}`.
///
/// `ApiError` serializes itself as the `google.rpc.Status` object with Google's member order
/// (`code`, `message`, `status`, `details`); only this one-member envelope is local.
/// (`ApiError::to_envelope_value` is not used because it goes through a `serde_json::Map`, which
/// sorts the members alphabetically without serde_json's `preserve_order` feature.)
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct Envelope<'a> {
    pub error: &'a ApiError,
}

/// An error with the `google.rpc.Code` name Google uses for the HTTP status `code`.
pub(crate) fn api_error(code: u16, message: impl Into<String>) -> ApiError {
    ApiError::new(i32::from(code), rpc_status(code), message)
}

/// Google's error body for `err`: `{"error": …}` pretty-printed and ending with a newline.
pub(crate) fn error_body(err: &ApiError) -> Vec<u8> {
    let mut out = to_pretty(&Envelope { error: err });
    out.push(b'\n');
    out
}

/// The HTTP status of an error body (500 when its code is not an HTTP status).
pub(crate) fn http_status(err: &ApiError) -> u16 {
    u16::try_from(err.code())
        .ok()
        .filter(|c| (100..=999).contains(c))
        .unwrap_or(500)
}

/// The canonical `google.rpc.Code` name for an HTTP status, as Google maps them.
pub(crate) fn rpc_status(code: u16) -> RpcStatus {
    match code {
        // Google answers precondition failures with 412 FAILED_PRECONDITION; the generic
        // google.rpc mapping has no entry for 412.
        412 => RpcStatus::FailedPrecondition,
        other => RpcStatus::from_http_code(i32::from(other)),
    }
}

/// A detail that `ErrorDetail` models but would write differently from Google, kept as the JSON
/// Google sends.
fn raw_detail(value: serde_json::Value) -> ErrorDetail {
    ErrorDetail::Other(value)
}

/// `google.rpc.BadRequest` with one field violation that has only a description, as Google sends
/// it for unparsable bodies. (`ErrorDetail::BadRequest` always writes a `field` member, even an
/// empty one, which Google leaves out.)
pub(crate) fn bad_request_detail(description: &str) -> ErrorDetail {
    raw_detail(serde_json::json!({
        "@type": "type.googleapis.com/google.rpc.BadRequest",
        "fieldViolations": [{"description": description}]
    }))
}

/// The error Google sends for `code` when nothing more specific applies.
pub(crate) fn canned_error(code: u16, model: &str, retry_delay_secs: f64) -> ApiError {
    match code {
        400 => api_error(400, "Request contains an invalid argument."),
        403 => api_error(403, "The caller does not have permission"),
        404 => api_error(404, "Requested entity was not found."),
        429 => {
            let delay = format_duration_secs(retry_delay_secs);
            let mut violation =
                QuotaViolation::new("GenerateRequestsPerMinutePerProjectPerModel-FreeTier");
            violation.quota_metric =
                "generativelanguage.googleapis.com/generate_content_free_tier_requests".to_owned();
            violation.quota_dimensions = [("location", "global"), ("model", model)]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            violation.quota_value = Some(10);
            api_error(
                429,
                format!(
                    "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. Please retry in {delay}."
                ),
            )
            .with_detail(ErrorDetail::QuotaFailure(QuotaFailure::new(vec![violation])))
            .with_detail(ErrorDetail::Help(Help::new(vec![HelpLink::new(
                "Learn more about Gemini API quotas",
                "https://ai.google.dev/gemini-api/docs/rate-limits",
            )])))
            // Written from the exact text chosen above, so the delay in the message and in the
            // detail can never differ.
            .with_detail(raw_detail(serde_json::json!({
                "@type": "type.googleapis.com/google.rpc.RetryInfo",
                "retryDelay": delay
            })))
        }
        500 => api_error(
            500,
            "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
        ),
        503 => api_error(503, "The model is overloaded. Please try again later."),
        504 => api_error(504, "Deadline expired before operation could complete."),
        other => api_error(other, "The service returned an error."),
    }
}

/// `34.4` → `"34.4s"`, `26.0` → `"26s"` (the `google.protobuf.Duration` JSON form).
pub(crate) fn format_duration_secs(secs: f64) -> String {
    let secs = (secs * 1000.0).round() / 1000.0;
    if secs.fract() == 0.0 {
        format!("{}s", secs as u64)
    } else {
        format!("{secs}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_layout_matches_google() {
        let v = serde_json::json!({"a": [{"b": 1, "c": "x"}], "d": {}});
        assert_eq!(
            String::from_utf8(to_line(&v)).unwrap(),
            r#"{"a": [{"b": 1,"c": "x"}],"d": {}}"#
        );
    }

    #[test]
    fn error_body_layout() {
        let body = error_body(&api_error(404, "nope"));
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "{\n  \"error\": {\n    \"code\": 404,\n    \"message\": \"nope\",\n    \"status\": \"NOT_FOUND\"\n  }\n}\n"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(format_duration_secs(26.0), "26s");
        assert_eq!(format_duration_secs(34.4), "34.4s");
    }
}
