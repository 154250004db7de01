//! [`ApiError`]: the `google.rpc.Status` inside `{"error": {…}}`.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use super::classify::parse_value;
use super::{BadRequest, ErrorDetail, ErrorInfo, Help, QuotaFailure, RpcStatus};
use crate::types::Extra;

/// An error reported by the Gemini API: the `google.rpc.Status` inside `{"error": {…}}`.
///
/// Parsing is lenient: a `code` that is missing or not a number in range is replaced by the HTTP
/// status (when known) or inferred from the status string; a missing `status` string is inferred
/// from the code (`google.rpc.Code`'s HTTP mapping, else `UNKNOWN`); a detail whose fields have the
/// wrong types is kept as [`ErrorDetail::Other`].
///
/// It serializes back to the `google.rpc.Status` object (`{"code", "message", "status",
/// "details"}`, and any other member it came with: see [`extra`](ApiError::extra)); [`to_envelope_json`](ApiError::to_envelope_json) wraps it in `{"error": …}`.
///
/// ```
/// use gemini_proto::error::{ApiError, ErrorDetail, ErrorInfo, RpcStatus};
///
/// let api = ApiError::new(400, RpcStatus::InvalidArgument, "API key not valid. Please pass a valid API key.")
///     .with_detail(ErrorDetail::ErrorInfo(ErrorInfo::new("API_KEY_INVALID", "googleapis.com")));
/// assert_eq!(api.reason(), Some("API_KEY_INVALID"));
///
/// let json = api.to_envelope_json();
/// assert_eq!(ApiError::from_slice(json.as_bytes()), Some(api));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    code: i32,
    status: RpcStatus,
    message: String,
    details: Vec<ErrorDetail>,
    extra: Extra,
}

impl ApiError {
    /// An error with the given code (Gemini uses the HTTP status code), status and message, and no
    /// details.
    pub fn new(code: i32, status: RpcStatus, message: impl Into<String>) -> Self {
        ApiError {
            code,
            status,
            message: message.into(),
            details: Vec::new(),
            extra: Extra::new(),
        }
    }

    /// Adds a detail.
    pub fn with_detail(mut self, detail: ErrorDetail) -> Self {
        self.details.push(detail);
        self
    }

    /// The error code; for the Gemini API this is the HTTP status code (429, 503, …).
    pub fn code(&self) -> i32 {
        self.code
    }

    /// The status string (`RESOURCE_EXHAUSTED`, …) as an enum.
    pub fn status(&self) -> &RpcStatus {
        &self.status
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The details, in the order the server sent them.
    pub fn details(&self) -> &[ErrorDetail] {
        &self.details
    }

    /// Members of the status object this version of the library does not model, kept so that they
    /// are written back.
    pub fn extra(&self) -> &Extra {
        &self.extra
    }

    /// The delay of the first `RetryInfo` detail that has one.
    pub fn retry_delay(&self) -> Option<Duration> {
        self.details.iter().find_map(|d| match d {
            ErrorDetail::RetryInfo(r) => r.retry_delay,
            _ => None,
        })
    }

    /// The first `ErrorInfo` detail.
    pub fn error_info(&self) -> Option<&ErrorInfo> {
        self.details.iter().find_map(|d| match d {
            ErrorDetail::ErrorInfo(i) => Some(i),
            _ => None,
        })
    }

    /// The `reason` of the first `ErrorInfo` detail (for example `API_KEY_INVALID`).
    pub fn reason(&self) -> Option<&str> {
        self.error_info().map(|i| i.reason.as_str())
    }

    /// The first `QuotaFailure` detail.
    pub fn quota_failure(&self) -> Option<&QuotaFailure> {
        self.details.iter().find_map(|d| match d {
            ErrorDetail::QuotaFailure(q) => Some(q),
            _ => None,
        })
    }

    /// The first `Help` detail.
    pub fn help(&self) -> Option<&Help> {
        self.details.iter().find_map(|d| match d {
            ErrorDetail::Help(h) => Some(h),
            _ => None,
        })
    }

    /// The first `BadRequest` detail.
    pub fn bad_request(&self) -> Option<&BadRequest> {
        self.details.iter().find_map(|d| match d {
            ErrorDetail::BadRequest(b) => Some(b),
            _ => None,
        })
    }

    /// Whether the error is of a transient kind (code 408, 429, 500, 502, 503, 504, or status
    /// `RESOURCE_EXHAUSTED`, `UNAVAILABLE`, `INTERNAL`, `DEADLINE_EXCEEDED`).
    pub fn is_transient(&self) -> bool {
        matches!(self.code, 408 | 429 | 500 | 502 | 503 | 504)
            || matches!(
                self.status,
                RpcStatus::ResourceExhausted
                    | RpcStatus::Unavailable
                    | RpcStatus::Internal
                    | RpcStatus::DeadlineExceeded
            )
    }

    /// Detects an API error in raw JSON bytes: `{"error": {…}}` or a one-element array around it.
    ///
    /// Returns `None` for anything else, including invalid JSON, without allocating when the bytes
    /// do not contain `"error"` at all — so a stream decoder can call it on every event. (An
    /// `error` key spelled with `\u` escapes is not recognised.)
    ///
    /// ```
    /// use gemini_proto::error::{ApiError, RpcStatus};
    ///
    /// let api = ApiError::from_slice(br#"[{"error": {"code": 500, "message": "oops", "status": "INTERNAL"}}]"#).unwrap();
    /// assert_eq!(api.code(), 500);
    /// assert_eq!(api.status(), &RpcStatus::Internal);
    /// assert!(ApiError::from_slice(br#"{"candidates": []}"#).is_none());
    /// ```
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        memchr::memmem::find(bytes, b"\"error\"")?;
        ApiError::from_json_value(&parse_value(bytes)?)
    }

    /// Detects an API error in a parsed JSON value: `{"error": {…}}` or a one-element array around
    /// it. The error value may also be a bare string (`{"error": "…"}`), which becomes the message.
    ///
    /// ```
    /// use gemini_proto::error::ApiError;
    /// use serde_json::json;
    ///
    /// let v = json!({"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}});
    /// assert_eq!(ApiError::from_json_value(&v).unwrap().message(), "The model is overloaded.");
    /// ```
    pub fn from_json_value(value: &Value) -> Option<Self> {
        ApiError::from_envelope(value, None)
    }

    pub(super) fn from_envelope(value: &Value, http_status: Option<u16>) -> Option<Self> {
        let value = match value {
            Value::Array(items) if items.len() == 1 => &items[0],
            other => other,
        };
        let inner = value.as_object()?.get("error")?;
        match inner {
            Value::Object(obj) => Some(ApiError::from_status_object(obj, http_status)),
            Value::String(message) => {
                let code = http_status.map_or(0, i32::from);
                Some(ApiError::new(
                    code,
                    RpcStatus::from_http_code(code),
                    message.clone(),
                ))
            }
            _ => None,
        }
    }

    fn from_status_object(obj: &Map<String, Value>, http_status: Option<u16>) -> Self {
        let status = obj
            .get("status")
            .and_then(Value::as_str)
            .map(RpcStatus::from);
        let code = obj
            .get("code")
            .and_then(json_i32)
            .or_else(|| http_status.map(i32::from))
            .or_else(|| status.as_ref().and_then(RpcStatus::http_code))
            .unwrap_or(0);
        let status = status.unwrap_or_else(|| RpcStatus::from_http_code(code));
        let message = match obj.get("message") {
            Some(Value::String(s)) => s.clone(),
            _ => String::new(),
        };
        let details = match obj.get("details") {
            Some(Value::Array(items)) => items.iter().map(ErrorDetail::from_json_value).collect(),
            _ => Vec::new(),
        };
        let extra = obj
            .iter()
            .filter(|(key, _)| !matches!(key.as_str(), "code" | "message" | "status" | "details"))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        ApiError {
            code,
            status,
            message,
            details,
            extra,
        }
    }

    /// The `{"error": {…}}` JSON object for this error, as the API would send it.
    pub fn to_envelope_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("error".to_owned(), self.to_status_value());
        Value::Object(map)
    }

    /// The `{"error": {…}}` JSON text for this error, as the API would send it.
    ///
    /// ```
    /// use gemini_proto::error::{ApiError, RpcStatus};
    ///
    /// let api = ApiError::new(503, RpcStatus::Unavailable, "Try later.");
    /// assert_eq!(
    ///     api.to_envelope_json(),
    ///     r#"{"error":{"code":503,"message":"Try later.","status":"UNAVAILABLE"}}"#
    /// );
    /// ```
    pub fn to_envelope_json(&self) -> String {
        self.to_envelope_value().to_string()
    }

    fn to_status_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("code".to_owned(), Value::from(self.code));
        map.insert("message".to_owned(), Value::from(self.message.as_str()));
        map.insert("status".to_owned(), Value::from(self.status.as_str()));
        if !self.details.is_empty() {
            map.insert(
                "details".to_owned(),
                Value::Array(
                    self.details
                        .iter()
                        .map(ErrorDetail::to_json_value)
                        .collect(),
                ),
            );
        }
        for (key, value) in &self.extra {
            map.insert(key.clone(), value.clone());
        }
        Value::Object(map)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.status)?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(reason) = self.reason() {
            write!(f, " [{reason}]")?;
        }
        Ok(())
    }
}

impl StdError for ApiError {}

/// Serializes as a `google.rpc.Status` object (without the `{"error": …}` envelope).
impl Serialize for ApiError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("code", &self.code)?;
        map.serialize_entry("message", &self.message)?;
        map.serialize_entry("status", self.status.as_str())?;
        if !self.details.is_empty() {
            map.serialize_entry("details", &self.details)?;
        }
        for (key, value) in &self.extra {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// A JSON number (or a string of digits) that fits in an `i32`.
fn json_i32(v: &Value) -> Option<i32> {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i32::try_from(i).ok()
            } else if let Some(f) = n.as_f64() {
                let in_range =
                    f.fract() == 0.0 && f >= f64::from(i32::MIN) && f <= f64::from(i32::MAX);
                // The range check makes the cast exact.
                #[allow(clippy::cast_possible_truncation)]
                in_range.then_some(f as i32)
            } else {
                None
            }
        }
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}
