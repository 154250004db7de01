//! [`RpcStatus`]: the `status` string of an API error.

use std::fmt;

use serde::{Serialize, Serializer};

/// The `status` string of an API error (a `google.rpc.Code` name), as an open enum.
///
/// ```
/// use gemini_proto::error::RpcStatus;
///
/// assert_eq!(RpcStatus::from("RESOURCE_EXHAUSTED"), RpcStatus::ResourceExhausted);
/// assert_eq!(RpcStatus::from("SOMETHING_NEW").as_str(), "SOMETHING_NEW");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RpcStatus {
    /// `OK`.
    Ok,
    /// `CANCELLED`: the client cancelled the request.
    Cancelled,
    /// `UNKNOWN`.
    Unknown,
    /// `INVALID_ARGUMENT`: the request is not valid (HTTP 400).
    InvalidArgument,
    /// `DEADLINE_EXCEEDED`: the server ran out of time (HTTP 504).
    DeadlineExceeded,
    /// `NOT_FOUND`: for example an unknown model (HTTP 404).
    NotFound,
    /// `ALREADY_EXISTS` (HTTP 409).
    AlreadyExists,
    /// `PERMISSION_DENIED` (HTTP 403).
    PermissionDenied,
    /// `RESOURCE_EXHAUSTED`: quota or rate limit (HTTP 429).
    ResourceExhausted,
    /// `FAILED_PRECONDITION`: for example an unsupported user location (HTTP 400).
    FailedPrecondition,
    /// `ABORTED` (HTTP 409).
    Aborted,
    /// `OUT_OF_RANGE` (HTTP 400).
    OutOfRange,
    /// `UNIMPLEMENTED` (HTTP 501).
    Unimplemented,
    /// `INTERNAL`: a server error (HTTP 500).
    Internal,
    /// `UNAVAILABLE`: overloaded or down (HTTP 503).
    Unavailable,
    /// `DATA_LOSS` (HTTP 500).
    DataLoss,
    /// `UNAUTHENTICATED` (HTTP 401).
    Unauthenticated,
    /// Any other status string, kept as sent.
    Other(String),
}

impl RpcStatus {
    /// The status string as sent on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            RpcStatus::Ok => "OK",
            RpcStatus::Cancelled => "CANCELLED",
            RpcStatus::Unknown => "UNKNOWN",
            RpcStatus::InvalidArgument => "INVALID_ARGUMENT",
            RpcStatus::DeadlineExceeded => "DEADLINE_EXCEEDED",
            RpcStatus::NotFound => "NOT_FOUND",
            RpcStatus::AlreadyExists => "ALREADY_EXISTS",
            RpcStatus::PermissionDenied => "PERMISSION_DENIED",
            RpcStatus::ResourceExhausted => "RESOURCE_EXHAUSTED",
            RpcStatus::FailedPrecondition => "FAILED_PRECONDITION",
            RpcStatus::Aborted => "ABORTED",
            RpcStatus::OutOfRange => "OUT_OF_RANGE",
            RpcStatus::Unimplemented => "UNIMPLEMENTED",
            RpcStatus::Internal => "INTERNAL",
            RpcStatus::Unavailable => "UNAVAILABLE",
            RpcStatus::DataLoss => "DATA_LOSS",
            RpcStatus::Unauthenticated => "UNAUTHENTICATED",
            RpcStatus::Other(s) => s,
        }
    }

    /// The status `google.rpc.Code` maps an HTTP status code to (`UNKNOWN` when there is none).
    pub fn from_http_code(code: i32) -> Self {
        match code {
            200 => RpcStatus::Ok,
            400 => RpcStatus::InvalidArgument,
            401 => RpcStatus::Unauthenticated,
            403 => RpcStatus::PermissionDenied,
            404 => RpcStatus::NotFound,
            409 => RpcStatus::Aborted,
            429 => RpcStatus::ResourceExhausted,
            499 => RpcStatus::Cancelled,
            500 => RpcStatus::Internal,
            501 => RpcStatus::Unimplemented,
            503 => RpcStatus::Unavailable,
            504 => RpcStatus::DeadlineExceeded,
            _ => RpcStatus::Unknown,
        }
    }

    /// The HTTP status code `google.rpc.Code` documents for this status, if any.
    pub fn http_code(&self) -> Option<i32> {
        Some(match self {
            RpcStatus::Ok => 200,
            RpcStatus::Cancelled => 499,
            RpcStatus::Unknown | RpcStatus::Internal | RpcStatus::DataLoss => 500,
            RpcStatus::InvalidArgument | RpcStatus::FailedPrecondition | RpcStatus::OutOfRange => {
                400
            }
            RpcStatus::DeadlineExceeded => 504,
            RpcStatus::NotFound => 404,
            RpcStatus::AlreadyExists | RpcStatus::Aborted => 409,
            RpcStatus::PermissionDenied => 403,
            RpcStatus::ResourceExhausted => 429,
            RpcStatus::Unimplemented => 501,
            RpcStatus::Unavailable => 503,
            RpcStatus::Unauthenticated => 401,
            RpcStatus::Other(_) => return None,
        })
    }
}

impl From<&str> for RpcStatus {
    fn from(s: &str) -> Self {
        match s {
            "OK" => RpcStatus::Ok,
            "CANCELLED" => RpcStatus::Cancelled,
            "UNKNOWN" => RpcStatus::Unknown,
            "INVALID_ARGUMENT" => RpcStatus::InvalidArgument,
            "DEADLINE_EXCEEDED" => RpcStatus::DeadlineExceeded,
            "NOT_FOUND" => RpcStatus::NotFound,
            "ALREADY_EXISTS" => RpcStatus::AlreadyExists,
            "PERMISSION_DENIED" => RpcStatus::PermissionDenied,
            "RESOURCE_EXHAUSTED" => RpcStatus::ResourceExhausted,
            "FAILED_PRECONDITION" => RpcStatus::FailedPrecondition,
            "ABORTED" => RpcStatus::Aborted,
            "OUT_OF_RANGE" => RpcStatus::OutOfRange,
            "UNIMPLEMENTED" => RpcStatus::Unimplemented,
            "INTERNAL" => RpcStatus::Internal,
            "UNAVAILABLE" => RpcStatus::Unavailable,
            "DATA_LOSS" => RpcStatus::DataLoss,
            "UNAUTHENTICATED" => RpcStatus::Unauthenticated,
            other => RpcStatus::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for RpcStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RpcStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}
