//! Reading a whole response body with a bound, and turning a failed response into an error.

use http::header::CONTENT_TYPE;
use http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::{Error, classify_response, parse_error_body};
use crate::retry::{Outcome, retry_after};

/// A response body being read into memory, up to a limit.
#[derive(Debug)]
pub(crate) struct Collected {
    status: StatusCode,
    /// Kept for error responses only (`Retry-After`, `Content-Type`).
    headers: HeaderMap,
    bytes: Vec<u8>,
    limit: usize,
    /// More than `limit` bytes arrived; reading stopped.
    overflow: bool,
    ended: bool,
}

impl Collected {
    pub(crate) fn new(status: StatusCode, headers: &HeaderMap, limit: usize) -> Self {
        Self {
            status,
            headers: if status.is_success() {
                HeaderMap::new()
            } else {
                headers.clone()
            },
            bytes: Vec::new(),
            limit,
            overflow: false,
            ended: false,
        }
    }

    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    pub(crate) fn push(&mut self, piece: &[u8]) {
        if self.overflow || self.ended {
            return;
        }
        let room = self.limit.saturating_sub(self.bytes.len());
        if piece.len() > room {
            self.bytes.extend_from_slice(&piece[..room]);
            self.overflow = true;
        } else {
            self.bytes.extend_from_slice(piece);
        }
    }

    pub(crate) fn end(&mut self) {
        self.ended = true;
    }

    /// The body is complete, or as complete as it will be read.
    pub(crate) fn is_ready(&self) -> bool {
        self.ended || self.overflow
    }

    /// The error a non-success response stands for, and how the retry policy should see it.
    ///
    /// A body cut short (by the connection or by the bound) is classified from what arrived: a
    /// `503` stays a `503` whatever happened to its body.
    pub(crate) fn failure(&self) -> Error {
        if self.overflow {
            let content_type = self.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
            let mut error =
                Error::error_body_too_large(self.status, content_type, self.limit, &self.bytes);
            if let Some(delay) = retry_after(&self.headers) {
                error = error.with_retry_after(delay);
            }
            return error;
        }
        parse_error_body(self.status, &self.headers, &self.bytes)
    }

    /// The decoded body of a success, or the error of a failure.
    pub(crate) fn decode<T: DeserializeOwned>(&self) -> Result<T, Error> {
        if !self.status.is_success() {
            return Err(self.failure());
        }
        if self.overflow {
            return Err(Error::too_large(self.limit).with_status(self.status));
        }
        classify_response(self.status, &self.headers, &self.bytes)
    }
}

/// How the retry policy sees a failed response (`error` was made by [`Collected::failure`]).
pub(crate) fn response_outcome(status: StatusCode, error: &Error) -> Outcome<'_> {
    Outcome::Status {
        status,
        retry_after: error.retry_after(),
        api_error: error.api_error(),
    }
}

/// How the retry policy sees a failure of the transport, given whether the response head had
/// arrived and whether anything reached the caller.
pub(crate) fn transport_outcome(error: &Error, head_arrived: bool) -> Outcome<'static> {
    match error.kind() {
        crate::ErrorKind::Connect if !head_arrived => Outcome::ConnectFailed,
        crate::ErrorKind::Timeout | crate::ErrorKind::Connection | crate::ErrorKind::Connect => {
            Outcome::TransportBeforeResponse
        }
        _ => Outcome::Fatal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_stops_at_the_bound() {
        let mut body = Collected::new(StatusCode::BAD_GATEWAY, &HeaderMap::new(), 8);
        body.push(b"<html>");
        assert!(!body.is_ready());
        body.push(b"<body>too long</body>");
        assert!(body.is_ready());
        let error = body.failure();
        assert_eq!(error.kind(), crate::ErrorKind::TooLarge);
        assert_eq!(error.http_status(), Some(StatusCode::BAD_GATEWAY));
        assert_eq!(error.limit(), Some(8));
        assert_eq!(error.excerpt(), Some("<html><b"));
        // A 502 is worth another attempt whatever its body.
        assert!(error.is_retryable());
    }

    #[test]
    fn a_complete_error_body_is_classified() {
        let mut body = Collected::new(StatusCode::NOT_FOUND, &HeaderMap::new(), 1024);
        body.push(
            br#"{"error": {"code": 404, "message": "no such model", "status": "NOT_FOUND"}}"#,
        );
        body.end();
        let error = body.decode::<serde_json::Value>().unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::Api);
        assert_eq!(error.api_error().unwrap().message(), "no such model");
    }
}
