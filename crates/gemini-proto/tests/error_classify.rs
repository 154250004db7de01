//! Classification of error responses: real recorded bodies (see `data/errors/SOURCES.md`) and
//! hand-written malformed ones. Expected values are written by hand from the bodies.

use std::error::Error as _;
use std::time::Duration;

use gemini_proto::error::{
    ApiError, Error, ErrorDetail, ErrorKind, MAX_EXCERPT_BYTES, RpcStatus, classify_response,
    parse_error_body,
};
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::{Value, json};

macro_rules! data {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/errors/",
            $name
        ))
        .as_slice()
    };
}

fn headers(content_type: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
    h
}

fn json_headers() -> HeaderMap {
    headers("application/json; charset=UTF-8")
}

fn classify_err(status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    classify_response::<Value>(StatusCode::from_u16(status).unwrap(), headers, body).unwrap_err()
}

struct Case {
    body: &'static [u8],
    status: u16,
    content_type: &'static str,
    rpc: RpcStatus,
    message_start: &'static str,
    details: usize,
    retryable: bool,
}

#[test]
fn error_real_bodies_classify() {
    let cases = [
        Case {
            body: data!("error-400-invalid_argument-generateContent-vertex-otelcontrib-01.json"),
            status: 400,
            content_type: "application/json; charset=UTF-8",
            rpc: RpcStatus::InvalidArgument,
            message_start: "Unable to submit request because it has a temperature value of 1000",
            details: 0,
            retryable: false,
        },
        Case {
            body: data!("error-400-invalid_argument-generateContent-vertex-otelcontrib-02.json"),
            status: 400,
            content_type: "application/json; charset=UTF-8",
            rpc: RpcStatus::InvalidArgument,
            message_start: "Please use a valid role: user, model.",
            details: 0,
            retryable: false,
        },
        Case {
            body: data!("error-400-invalid_argument-generateContent-vertex-pydanticai-01.json"),
            status: 400,
            content_type: "application/json; charset=UTF-8",
            rpc: RpcStatus::InvalidArgument,
            message_start: "Cannot fetch content from the provided URL.",
            details: 0,
            retryable: false,
        },
        Case {
            body: data!("error-400-invalid_argument-streamGenerateContent-crewai-01.json"),
            status: 400,
            content_type: "text/event-stream",
            rpc: RpcStatus::InvalidArgument,
            message_start: "API key not valid. Please pass a valid API key.",
            details: 2,
            retryable: false,
        },
        Case {
            body: data!("error-404-not_found-batchEmbedContents-pydanticai-01.json"),
            status: 404,
            content_type: "application/json; charset=UTF-8",
            rpc: RpcStatus::NotFound,
            message_start: "models/nonexistent-model is not found for API version v1beta, or is not supported for embedContent.",
            details: 0,
            retryable: false,
        },
        Case {
            body: data!("error-404-not_found-countTokens-pydanticai-01.json"),
            status: 404,
            content_type: "application/json; charset=UTF-8",
            rpc: RpcStatus::NotFound,
            message_start: "models/nonexistent-model is not found for API version v1beta, or is not supported for countTokens.",
            details: 0,
            retryable: false,
        },
        Case {
            body: data!("error-404-not_found-generateContent-crewai-01.json"),
            status: 404,
            content_type: "application/json; charset=UTF-8",
            rpc: RpcStatus::NotFound,
            message_start: "models/gemini-1.5-flash is not found",
            details: 0,
            retryable: false,
        },
        Case {
            body: data!("error-404-not_found-generateContent-mirascope-01.json"),
            status: 404,
            content_type: "application/json; charset=UTF-8",
            rpc: RpcStatus::NotFound,
            message_start: "models/this-model-does-not-exist-12345 is not found",
            details: 0,
            retryable: false,
        },
        Case {
            body: data!("error-404-not_found-generateContent-pydanticai-01.json"),
            status: 404,
            content_type: "application/json; charset=UTF-8",
            rpc: RpcStatus::NotFound,
            message_start: "models/gemini-3.6-flahs is not found",
            details: 0,
            retryable: false,
        },
        Case {
            body: data!("error-404-not_found-generateContent-vertex-otelcontrib-01.json"),
            status: 404,
            content_type: "application/json; charset=UTF-8",
            rpc: RpcStatus::NotFound,
            message_start: "Publisher Model `projects/otel-starter-project/",
            details: 0,
            retryable: false,
        },
        Case {
            body: data!("error-404-not_found-generateContent-vertex-otelcontrib-02.json"),
            status: 404,
            content_type: "application/json; charset=UTF-8",
            rpc: RpcStatus::NotFound,
            message_start: "Publisher Model `projects/fake-project/",
            details: 0,
            retryable: false,
        },
        Case {
            body: data!(
                "error-404-not_found-streamGenerateContent-sse-contenttype-jsgenai-01.json"
            ),
            status: 404,
            content_type: "text/event-stream",
            rpc: RpcStatus::NotFound,
            message_start: "models/custom-gemini-2.0-flash is not found",
            details: 1,
            retryable: false,
        },
        Case {
            body: data!("error-429-resource-exhausted-retryinfo-vercelai-01.json"),
            status: 429,
            content_type: "application/json; charset=UTF-8",
            rpc: RpcStatus::ResourceExhausted,
            message_start: "You exceeded your current quota, please check your plan.",
            details: 2,
            retryable: true,
        },
        Case {
            body: data!("error-429-resource_exhausted-generateContent-crewai-01.json"),
            status: 429,
            content_type: "application/json; charset=UTF-8",
            rpc: RpcStatus::ResourceExhausted,
            message_start: "Resource exhausted. Please try again later.",
            details: 0,
            retryable: true,
        },
        Case {
            body: data!("own-429-quotafailure-help-retryinfo.json"),
            status: 429,
            content_type: "application/json; charset=UTF-8",
            rpc: RpcStatus::ResourceExhausted,
            message_start: "Quota exceeded for the number of input tokens per minute.",
            details: 3,
            retryable: true,
        },
        Case {
            body: data!("own-503-unavailable.json"),
            status: 503,
            content_type: "application/json; charset=UTF-8",
            rpc: RpcStatus::Unavailable,
            message_start: "The service is busy right now.",
            details: 0,
            retryable: true,
        },
        Case {
            body: data!("own-500-internal.json"),
            status: 500,
            content_type: "application/json; charset=UTF-8",
            rpc: RpcStatus::Internal,
            message_start: "Something went wrong on our side.",
            details: 0,
            retryable: true,
        },
        Case {
            body: data!("own-400-badrequest-array.json"),
            status: 400,
            content_type: "application/json; charset=UTF-8",
            rpc: RpcStatus::InvalidArgument,
            message_start: "The request has invalid fields.",
            details: 1,
            retryable: false,
        },
    ];
    for case in &cases {
        let status = StatusCode::from_u16(case.status).unwrap();
        let h = headers(case.content_type);
        for err in [
            parse_error_body(status, &h, case.body),
            classify_response::<Value>(status, &h, case.body).unwrap_err(),
        ] {
            let what = case.message_start;
            assert_eq!(err.kind(), ErrorKind::Api, "{what}");
            assert!(err.is_api(), "{what}");
            assert_eq!(err.http_status(), Some(status), "{what}");
            assert_eq!(err.is_retryable(), case.retryable, "{what}");
            let api = err.api_error().unwrap();
            assert_eq!(api.code(), i32::from(case.status), "{what}");
            assert_eq!(api.status(), &case.rpc, "{what}");
            assert!(
                api.message().starts_with(case.message_start),
                "{what}: {}",
                api.message()
            );
            assert_eq!(api.details().len(), case.details, "{what}");
            assert!(err.source().is_none());
        }
    }
}

#[test]
fn error_429_retryinfo_delay_and_quota() {
    let body = data!("error-429-resource-exhausted-retryinfo-vercelai-01.json");
    let err = parse_error_body(StatusCode::TOO_MANY_REQUESTS, &json_headers(), body);
    assert_eq!(err.retry_delay(), Some(Duration::from_millis(34_400)));
    let api = err.api_error().unwrap();
    assert_eq!(api.retry_delay(), Some(Duration::new(34, 400_000_000)));
    let quota = api.quota_failure().unwrap();
    assert_eq!(quota.violations.len(), 1);
    assert_eq!(
        quota.violations[0].quota_id,
        "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"
    );
    assert_eq!(quota.violations[0].quota_metric, "");
    assert_eq!(quota.violations[0].quota_value, None);
    assert!(matches!(api.details()[0], ErrorDetail::QuotaFailure(_)));
    assert!(matches!(api.details()[1], ErrorDetail::RetryInfo(_)));
}

#[test]
fn error_429_own_quotafailure_help_retryinfo() {
    let body = data!("own-429-quotafailure-help-retryinfo.json");
    let err = parse_error_body(StatusCode::TOO_MANY_REQUESTS, &json_headers(), body);
    assert_eq!(err.retry_delay(), Some(Duration::from_millis(34_400)));
    let api = err.api_error().unwrap();
    let v = &api.quota_failure().unwrap().violations[0];
    assert_eq!(
        v.quota_metric,
        "generativelanguage.googleapis.com/example_input_token_count"
    );
    assert_eq!(v.quota_id, "ExampleInputTokensPerModelPerMinute");
    assert_eq!(
        v.quota_dimensions.get("model").map(String::as_str),
        Some("example-model")
    );
    assert_eq!(
        v.quota_dimensions.get("location").map(String::as_str),
        Some("global")
    );
    assert_eq!(v.quota_value, Some(1000));
    let help = api.help().unwrap();
    assert_eq!(help.links.len(), 1);
    assert_eq!(help.links[0].description, "About rate limits");
    assert_eq!(help.links[0].url, "https://example.com/docs/rate-limits");
    assert_eq!(api.reason(), None);
}

#[test]
fn error_stream_404_with_event_stream_content_type() {
    let body = data!("error-404-not_found-streamGenerateContent-sse-contenttype-jsgenai-01.json");
    let err = parse_error_body(StatusCode::NOT_FOUND, &headers("text/event-stream"), body);
    assert_eq!(err.kind(), ErrorKind::Api);
    let api = err.api_error().unwrap();
    assert_eq!(api.code(), 404);
    // The DebugInfo detail is not modelled: kept as sent.
    match &api.details()[0] {
        ErrorDetail::Other(v) => {
            assert_eq!(v["@type"], "type.googleapis.com/google.rpc.DebugInfo");
            assert!(
                v["detail"]
                    .as_str()
                    .unwrap()
                    .starts_with("[ORIGINAL ERROR] generic::not_found")
            );
        }
        other => panic!("expected Other, got {other:?}"),
    }
    assert_eq!(
        api.details()[0].type_url(),
        Some("type.googleapis.com/google.rpc.DebugInfo")
    );
}

#[test]
fn error_api_key_invalid_reason() {
    let body = data!("error-400-invalid_argument-streamGenerateContent-crewai-01.json");
    let err = parse_error_body(StatusCode::BAD_REQUEST, &headers("text/event-stream"), body);
    let api = err.api_error().unwrap();
    assert_eq!(api.reason(), Some("API_KEY_INVALID"));
    let info = api.error_info().unwrap();
    assert_eq!(info.domain, "googleapis.com");
    assert_eq!(
        info.metadata.get("service").map(String::as_str),
        Some("generativelanguage.googleapis.com")
    );
    match &api.details()[1] {
        ErrorDetail::Other(v) => {
            assert_eq!(
                v["@type"],
                "type.googleapis.com/google.rpc.LocalizedMessage"
            );
            assert_eq!(v["locale"], "en-US");
        }
        other => panic!("expected Other, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "the API returned an error: 400 INVALID_ARGUMENT: API key not valid. Please pass a valid API key. [API_KEY_INVALID]"
    );
}

#[test]
fn error_one_element_array() {
    let body = data!("own-400-badrequest-array.json");
    let err = parse_error_body(StatusCode::BAD_REQUEST, &json_headers(), body);
    let api = err.api_error().unwrap();
    let bad = api.bad_request().unwrap();
    assert_eq!(bad.field_violations.len(), 1);
    assert_eq!(
        bad.field_violations[0].field,
        "generation_config.temperature"
    );
    assert_eq!(
        bad.field_violations[0].description,
        "must be between 0 and 2"
    );

    // Two elements is not an error envelope.
    let two = br#"[{"error": {"code": 400}}, {"error": {"code": 400}}]"#;
    assert_eq!(
        classify_err(400, &json_headers(), two).kind(),
        ErrorKind::UnexpectedBody
    );
    assert!(ApiError::from_slice(two).is_none());
}

#[test]
fn error_html_proxy_page() {
    let body = data!("own-502-proxy.html");
    assert_eq!(body.len(), 729);
    let err = classify_err(502, &headers("text/html; charset=utf-8"), body);
    assert_eq!(err.kind(), ErrorKind::UnexpectedBody);
    assert!(!err.is_api());
    assert!(err.api_error().is_none());
    assert_eq!(err.http_status(), Some(StatusCode::BAD_GATEWAY));
    assert!(err.is_retryable());
    assert_eq!(err.content_type(), Some("text/html; charset=utf-8"));
    assert_eq!(err.body_len(), Some(729));
    let excerpt = err.excerpt().unwrap();
    assert_eq!(excerpt.len(), 512);
    assert!(excerpt.starts_with("<!DOCTYPE html>\n<html>\n<head><title>502 Bad Gateway</title>"));
    assert!(excerpt.ends_with("consequat.</p>\n<p>Duis aute irure d"));
    let shown = err.to_string();
    assert!(
        shown.starts_with(
            "HTTP 502 Bad Gateway with a body that is not a Gemini error (text/html; charset=utf-8, 729 bytes): \"<!DOCTYPE html>\\n"
        ),
        "{shown}"
    );
    assert!(shown.ends_with("Duis aute irure d\"…"), "{shown}");

    // A 404 HTML page is not retryable.
    assert!(!classify_err(404, &headers("text/html"), body).is_retryable());
}

#[test]
fn error_empty_body() {
    let err = classify_err(503, &HeaderMap::new(), b"");
    assert_eq!(err.kind(), ErrorKind::UnexpectedBody);
    assert_eq!(err.http_status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(err.excerpt(), Some(""));
    assert_eq!(err.body_len(), Some(0));
    assert!(err.is_retryable());
    assert_eq!(
        err.to_string(),
        "HTTP 503 Service Unavailable with an empty body"
    );
}

#[test]
fn error_truncated_json_body() {
    let body = br#"{"error": {"code": 500, "message": "Something went wr"#;
    let err = classify_err(500, &json_headers(), body);
    assert_eq!(err.kind(), ErrorKind::UnexpectedBody);
    assert_eq!(
        err.excerpt(),
        Some(r#"{"error": {"code": 500, "message": "Something went wr"#)
    );
    assert!(err.is_retryable());
}

#[test]
fn error_wrong_types_are_tolerated() {
    // A code that is not a number: the HTTP status stands in; the rest is kept.
    let body = br#"{"error": {"code": "abc", "message": "still useful", "status": "UNAVAILABLE"}}"#;
    let err = classify_err(503, &json_headers(), body);
    let api = err.api_error().unwrap();
    assert_eq!(api.code(), 503);
    assert_eq!(api.status(), &RpcStatus::Unavailable);
    assert_eq!(api.message(), "still useful");

    // Message and status of the wrong type, details not an array.
    let body = br#"{"error": {"code": 404, "message": 17, "status": ["x"], "details": {"a": 1}}}"#;
    let err = classify_err(404, &json_headers(), body);
    let api = err.api_error().unwrap();
    assert_eq!(api.code(), 404);
    assert_eq!(api.status(), &RpcStatus::NotFound);
    assert_eq!(api.message(), "");
    assert!(api.details().is_empty());

    // A known detail with ill-typed fields is kept as JSON.
    let body = br#"{"error": {"code": 403, "status": "PERMISSION_DENIED", "details": [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "X", "metadata": {"n": 5}},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "soon"},
        42]}}"#;
    let err = classify_err(403, &json_headers(), body);
    let api = err.api_error().unwrap();
    assert_eq!(api.details().len(), 3);
    assert_eq!(
        api.details()[0],
        ErrorDetail::Other(
            json!({"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "X", "metadata": {"n": 5}})
        )
    );
    assert_eq!(
        api.details()[1],
        ErrorDetail::Other(
            json!({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "soon"})
        )
    );
    assert_eq!(api.details()[2], ErrorDetail::Other(json!(42)));
    assert_eq!(api.reason(), None);
    assert_eq!(err.retry_delay(), None);
}

#[test]
fn error_huge_numbers() {
    // 1e400 overflows f64: serde_json rejects the document, so the body is unexpected.
    let body = br#"{"error": {"code": 1e400, "message": "m", "status": "INTERNAL"}}"#;
    let err = classify_err(500, &json_headers(), body);
    assert_eq!(err.kind(), ErrorKind::UnexpectedBody);
    assert_eq!(err.http_status(), Some(StatusCode::INTERNAL_SERVER_ERROR));

    // Integers out of the i32 range: the HTTP status stands in.
    let body =
        br#"{"error": {"code": 99999999999999999999999, "message": "m", "status": "INTERNAL"}}"#;
    let err = classify_err(500, &json_headers(), body);
    assert_eq!(err.api_error().unwrap().code(), 500);
    let body = br#"{"error": {"code": -9223372036854775808, "message": "m"}}"#;
    let err = classify_err(502, &json_headers(), body);
    assert_eq!(err.api_error().unwrap().code(), 502);
    // No status string: inferred from the code (502 has no google.rpc mapping).
    assert_eq!(err.api_error().unwrap().status(), &RpcStatus::Unknown);

    // A huge retry delay is not a valid protobuf Duration; a huge Retry-After saturates.
    let body = br#"{"error": {"code": 429, "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "99999999999999999999999s"}]}}"#;
    let mut h = json_headers();
    h.insert(
        RETRY_AFTER,
        HeaderValue::from_static("99999999999999999999999"),
    );
    let err = classify_err(429, &h, body);
    assert_eq!(err.api_error().unwrap().retry_delay(), None);
    assert_eq!(err.retry_delay(), Some(Duration::from_secs(u64::MAX)));
    assert_eq!(
        err.api_error().unwrap().status(),
        &RpcStatus::ResourceExhausted
    );
}

#[test]
fn error_unknown_detail_kept_exactly() {
    let detail = json!({
        "@type": "type.googleapis.com/google.example.FutureDetail",
        "nested": {"list": [1, 2.5, null, true], "s": "x"}
    });
    let body = json!({"error": {"code": 400, "message": "m", "status": "INVALID_ARGUMENT", "details": [detail.clone()]}});
    let err = classify_err(400, &json_headers(), body.to_string().as_bytes());
    let api = err.api_error().unwrap();
    assert_eq!(api.details(), &[ErrorDetail::Other(detail.clone())]);
    // And it is written back unchanged.
    assert_eq!(api.to_envelope_value()["error"]["details"][0], detail);
}

#[test]
fn error_retry_info_object_form_and_retry_after_header() {
    let body = br#"{"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "details": [
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": {"seconds": "3", "nanos": 250000000}}]}}"#;
    let mut h = json_headers();
    h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
    let err = classify_err(429, &h, body);
    // RetryInfo wins over Retry-After.
    assert_eq!(err.retry_delay(), Some(Duration::from_millis(3_250)));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));

    // Retry-After alone, on a non-JSON body.
    let err = classify_err(503, &h, b"busy");
    assert_eq!(err.retry_delay(), Some(Duration::from_secs(7)));
    // The HTTP-date form needs a clock and is ignored here.
    h.insert(
        RETRY_AFTER,
        HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
    );
    assert_eq!(classify_err(503, &h, b"busy").retry_delay(), None);
}

#[test]
fn error_missing_code_and_status_inferred() {
    let err = classify_err(
        429,
        &json_headers(),
        br#"{"error": {"message": "slow down"}}"#,
    );
    let api = err.api_error().unwrap();
    assert_eq!(api.code(), 429);
    assert_eq!(api.status(), &RpcStatus::ResourceExhausted);

    // In a stream (no HTTP status), the code comes from the status string.
    let api =
        ApiError::from_slice(br#"{"error": {"status": "UNAVAILABLE", "message": "m"}}"#).unwrap();
    assert_eq!(api.code(), 503);
    // Bare string error.
    let api = ApiError::from_slice(br#"{"error": "quota"}"#).unwrap();
    assert_eq!(api.message(), "quota");
    assert_eq!(api.code(), 0);
    assert_eq!(api.status(), &RpcStatus::Unknown);
    // Unknown status strings are kept.
    let api = ApiError::from_slice(br#"{"error": {"code": 400, "status": "BRAND_NEW"}}"#).unwrap();
    assert_eq!(api.status(), &RpcStatus::Other("BRAND_NEW".to_owned()));
    assert_eq!(api.status().as_str(), "BRAND_NEW");
    // `"error": null` and other shapes are not errors.
    assert!(ApiError::from_slice(br#"{"error": null}"#).is_none());
    assert!(ApiError::from_slice(br#"{"error": 5}"#).is_none());
    assert!(
        ApiError::from_slice(br#"{"candidates": [{"content": {"parts": [{"text": "error"}]}}]}"#)
            .is_none()
    );
    assert!(ApiError::from_slice(br#"{"candidates": [{"error": {"code": 1}}]}"#).is_none());
}

#[test]
fn error_in_stream_api_error() {
    let api = ApiError::from_slice(
        br#"{"error": {"code": 503, "message": "The service is busy right now.", "status": "UNAVAILABLE"}}"#,
    )
    .unwrap();
    let err = Error::api(api).with_event_index(4).with_byte_offset(2048);
    assert_eq!(err.http_status(), None);
    assert!(err.is_retryable());
    assert_eq!(
        err.to_string(),
        "the API returned an error: 503 UNAVAILABLE: The service is busy right now. (inside the stream) (event 4, byte offset 2048)"
    );
    let api = ApiError::from_slice(
        br#"{"error": {"code": 400, "message": "bad", "status": "INVALID_ARGUMENT"}}"#,
    )
    .unwrap();
    assert!(!Error::api(api).is_retryable());
}

#[test]
fn error_success_status_paths() {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Tokens {
        #[serde(rename = "totalTokens")]
        total_tokens: u32,
    }
    let ok: Tokens =
        classify_response(StatusCode::OK, &json_headers(), br#"{"totalTokens": 31}"#).unwrap();
    assert_eq!(ok, Tokens { total_tokens: 31 });

    // An error envelope under 200 is an API error, not an empty value.
    let err = classify_response::<Value>(
        StatusCode::OK,
        &json_headers(),
        br#"{"error": {"code": 500, "message": "Something went wrong on our side.", "status": "INTERNAL"}}"#,
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Api);
    assert_eq!(err.http_status(), Some(StatusCode::OK));
    assert_eq!(err.api_error().unwrap().code(), 500);
    assert_eq!(
        err.to_string(),
        "the API returned an error: 500 INTERNAL: Something went wrong on our side. (HTTP 200 OK)"
    );

    // Wrong shape for T.
    let err = classify_response::<Tokens>(
        StatusCode::OK,
        &json_headers(),
        b"{\n  \"totalTokens\": \"many\"\n}",
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert_eq!(err.http_status(), Some(StatusCode::OK));
    assert_eq!(err.line(), Some(2));
    assert_eq!(err.column(), Some(23));
    assert!(err.source().is_some());
    assert_eq!(err.excerpt(), Some("{\n  \"totalTokens\": \"many\"\n}"));
    assert!(!err.is_retryable());
    assert!(
        err.to_string().starts_with(
            "malformed response: the JSON does not have the expected shape at line 2 column 23"
        ),
        "{err}"
    );

    // Not JSON at all.
    let err = classify_response::<Tokens>(StatusCode::OK, &json_headers(), b"<html>").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert_eq!(err.line(), Some(1));
    assert_eq!(err.column(), Some(1));
}

#[test]
fn error_excerpt_is_bounded_and_cut_at_char_boundary() {
    // 510 ASCII bytes, then "€" (3 bytes: 510..513) straddling the 512-byte bound.
    let mut body = vec![b'x'; 510];
    body.extend_from_slice("€€€".as_bytes());
    let err = classify_err(500, &headers("text/plain"), &body);
    assert_eq!(err.body_len(), Some(519));
    assert_eq!(err.excerpt().unwrap(), "x".repeat(510));

    // Invalid UTF-8 is decoded lossily.
    let err = classify_err(500, &headers("text/plain"), b"ab\xFFcd");
    assert_eq!(err.excerpt(), Some("ab\u{FFFD}cd"));

    // A megabyte of body keeps at most MAX_EXCERPT_BYTES.
    let big = vec![b'z'; 1 << 20];
    let err = classify_err(502, &headers("text/plain"), &big);
    assert_eq!(err.excerpt().unwrap().len(), MAX_EXCERPT_BYTES);
    assert_eq!(MAX_EXCERPT_BYTES, 512);
}

fn run_with_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn error_deep_nesting_does_not_overflow() {
    run_with_small_stack(|| {
        let mut body = br#"{"error": "#.to_vec();
        body.extend(std::iter::repeat_n(b'[', 100_000));
        body.extend(std::iter::repeat_n(b']', 100_000));
        body.push(b'}');
        let err = classify_err(500, &json_headers(), &body);
        assert_eq!(err.kind(), ErrorKind::UnexpectedBody);
        assert!(ApiError::from_slice(&body).is_none());
        let err = classify_response::<Value>(StatusCode::OK, &json_headers(), &body).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decode);

        let arrays = vec![b'['; 100_000];
        let err = classify_response::<Value>(StatusCode::OK, &json_headers(), &arrays).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decode);
        assert_eq!(
            classify_err(400, &json_headers(), &arrays).kind(),
            ErrorKind::UnexpectedBody
        );

        // Deep nesting inside an unknown detail.
        let mut body = br#"{"error": {"code": 400, "details": [{"@type": "x", "v": "#.to_vec();
        body.extend(std::iter::repeat_n(b'{', 100_000));
        assert_eq!(
            classify_err(400, &json_headers(), &body).kind(),
            ErrorKind::UnexpectedBody
        );
    });
}

#[test]
fn error_serializes_back_to_rpc_status() {
    let body = data!("own-429-quotafailure-help-retryinfo.json");
    let api = ApiError::from_slice(body).unwrap();
    let expected = json!({
        "code": 429,
        "message": "Quota exceeded for the number of input tokens per minute. Wait a little and send the request again.",
        "status": "RESOURCE_EXHAUSTED",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [{
                    "quotaMetric": "generativelanguage.googleapis.com/example_input_token_count",
                    "quotaId": "ExampleInputTokensPerModelPerMinute",
                    "quotaDimensions": {"location": "global", "model": "example-model"},
                    "quotaValue": "1000"
                }]
            },
            {
                "@type": "type.googleapis.com/google.rpc.Help",
                "links": [{"description": "About rate limits", "url": "https://example.com/docs/rate-limits"}]
            },
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "34.4s"}
        ]
    });
    assert_eq!(serde_json::to_value(&api).unwrap(), expected);
    assert_eq!(api.to_envelope_value(), json!({ "error": expected }));
    // Round trip.
    assert_eq!(
        ApiError::from_slice(api.to_envelope_json().as_bytes()),
        Some(api)
    );

    let crew = ApiError::from_slice(data!(
        "error-400-invalid_argument-streamGenerateContent-crewai-01.json"
    ))
    .unwrap();
    assert_eq!(
        ApiError::from_slice(crew.to_envelope_json().as_bytes()).as_ref(),
        Some(&crew)
    );
    assert_eq!(
        serde_json::to_value(crew.details()).unwrap()[0],
        json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "API_KEY_INVALID",
            "domain": "googleapis.com",
            "metadata": {"service": "generativelanguage.googleapis.com"}
        })
    );
}

#[test]
fn error_kinds_constructors_and_display() {
    let e = Error::truncated(br#"data: {"candidates""#)
        .with_event_index(3)
        .with_byte_offset(900);
    assert_eq!(e.kind(), ErrorKind::Truncated);
    assert_eq!(e.byte_offset(), Some(900));
    assert_eq!(e.excerpt(), Some(r#"data: {"candidates""#));
    assert_eq!(
        e.to_string(),
        "the response body ended inside an event (event 3, byte offset 900)"
    );

    let e = Error::incomplete();
    assert_eq!(
        e.to_string(),
        "the stream ended without a finish reason or a prompt block; the answer may be cut short"
    );
    assert!(!e.is_retryable());

    let e = Error::too_large(1024).with_event_index(0);
    assert_eq!(
        e.to_string(),
        "a stream event is too large (limit 1024 bytes) (event 0)"
    );

    let e = Error::decode("expected an object", b"[]").with_event_index(1);
    assert_eq!(
        e.to_string(),
        "malformed response: expected an object (event 1): \"[]\""
    );

    let cause = HeaderValue::from_str("a\nb").unwrap_err();
    let e = Error::invalid_request_with_source("bad header", cause);
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert!(e.source().is_some());
    assert_eq!(e.to_string(), "invalid request: bad header");

    fn assert_traits<T: Send + Sync + 'static + std::error::Error>() {}
    assert_traits::<Error>();
    assert_traits::<ApiError>();
    assert_eq!(ErrorKind::Api.to_string(), "API error");
}

#[test]
fn error_unknown_members_of_known_details_survive_a_round_trip() {
    let (api, details) = details_with_unknown_members();
    // Written back member for member, the status object's own unknown members too.
    assert_eq!(api.to_envelope_value()["error"]["details"], details);
    assert_eq!(api.to_envelope_value()["error"]["traceId"], "abc");
    assert_eq!(serde_json::to_value(&api).unwrap()["traceId"], "abc");
    assert_eq!(
        ApiError::from_slice(api.to_envelope_json().as_bytes()),
        Some(api)
    );
}

#[test]
fn error_detail_unknown_members_are_readable() {
    let (api, _) = details_with_unknown_members();
    assert_eq!(api.reason(), Some("API_KEY_INVALID"));
    assert_eq!(api.retry_delay(), Some(Duration::from_secs(2)));
    assert_eq!(
        api.error_info().unwrap().extra["futureField"],
        json!({"a": [1, 2]})
    );
    assert_eq!(
        api.quota_failure().unwrap().violations[0].extra["apiService"],
        json!("gl.googleapis.com")
    );
    assert_eq!(api.help().unwrap().links[0].extra["lang"], json!("en"));
    assert_eq!(
        api.bad_request().unwrap().field_violations[0].extra["reason"],
        json!("R")
    );
}

fn details_with_unknown_members() -> (ApiError, Value) {
    // Every detail kind the crate models, each with members it does not model, at every level.
    let details = json!([
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
         "domain": "googleapis.com", "metadata": {"service": "x"}, "futureField": {"a": [1, 2]}},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2s", "jitter": "0.5s"},
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "note": true,
         "violations": [{"quotaId": "PerMinute", "quotaValue": "10", "apiService": "gl.googleapis.com"}]},
        {"@type": "type.googleapis.com/google.rpc.Help",
         "links": [{"description": "d", "url": "https://example.com", "lang": "en"}], "extraList": [null]},
        {"@type": "type.googleapis.com/google.rpc.BadRequest",
         "fieldViolations": [{"field": "f", "description": "d", "reason": "R",
                              "localizedMessage": {"locale": "en", "message": "m"}}]},
        // A quota value the crate cannot read as an int64 is kept as it came.
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
         "violations": [{"quotaId": "Q", "quotaValue": "unlimited"}]}
    ]);
    let body = json!({"error": {"code": 429, "message": "m", "status": "RESOURCE_EXHAUSTED",
                                "details": details, "traceId": "abc"}});
    let api = ApiError::from_slice(body.to_string().as_bytes()).unwrap();
    // Still read as the typed details, not as opaque JSON.
    assert!(
        api.details()
            .iter()
            .all(|d| !matches!(d, ErrorDetail::Other(_))),
        "{:?}",
        api.details()
    );
    (api, details)
}

#[test]
fn error_numbers_in_details_read_back_the_same() {
    // Found by the error_body fuzz target: a number longer than a double's precision in an
    // unknown detail came back as a different double on every round trip.
    let long = "2".repeat(176);
    for number in [
        long.as_str(),
        "-0.092766541153637333",
        "1.7976931348623157e308",
        "5e-324",
    ] {
        let body = format!(
            r#"{{"error": {{"code": 404, "message": "m", "status": "NOT_FOUND", "details": [{number}, {{"@type": "x", "v": {number}}}]}}}}"#
        );
        let api = ApiError::from_slice(body.as_bytes()).unwrap();
        let json = api.to_envelope_json();
        let back = ApiError::from_slice(json.as_bytes()).unwrap();
        assert_eq!(back, api, "{number}");
        assert_eq!(back.to_envelope_json(), json, "{number}");
    }
}
