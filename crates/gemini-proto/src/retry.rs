//! Retry decisions, as a pure function.
//!
//! The caller runs the loop: after each failed attempt it describes what happened as an
//! [`Outcome`], and asks the [`RetryPolicy`] for a [`Decision`], passing the attempt number, the
//! time elapsed since the first attempt started and a random number in `[0, 1)` for jitter. Nothing
//! here reads the clock, sleeps or draws random numbers.
//!
//! What is retried: HTTP 408, 429, 500, 502, 503 and 504, and connection failures before any
//! response. A delay requested by the server (a `RetryInfo` detail, or a `Retry-After` header) is
//! used instead of the exponential backoff. Nothing is retried once response body bytes have been
//! handed to the user ([`Outcome::BodyStarted`]).
//!
//! ```
//! use gemini_proto::retry::{Decision, GiveUpReason, Outcome, RetryPolicy};
//! use http::StatusCode;
//! use std::time::Duration;
//!
//! let policy = RetryPolicy::default().with_jitter(0.0);
//! let outcome = Outcome::status(StatusCode::SERVICE_UNAVAILABLE);
//! // Attempt 1 failed: wait the initial delay (1 s), then 2 s after attempt 2, …
//! assert_eq!(policy.decide(1, &outcome, Duration::ZERO, 0.3), Decision::RetryAfter(Duration::from_secs(1)));
//! assert_eq!(policy.decide(2, &outcome, Duration::from_secs(1), 0.3), Decision::RetryAfter(Duration::from_secs(2)));
//! // The fifth attempt was the last one.
//! assert_eq!(
//!     policy.decide(5, &outcome, Duration::from_secs(15), 0.3),
//!     Decision::GiveUp(GiveUpReason::AttemptsExhausted)
//! );
//! ```

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::RETRY_AFTER;
use http::{HeaderMap, StatusCode};

use crate::error::{ApiError, Error, ErrorKind, is_retryable_status};

/// What happened on one attempt, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Outcome<'a> {
    /// A response head arrived with this status, and none of its body was handed to the user.
    Status {
        /// The HTTP status.
        status: StatusCode,
        /// The `Retry-After` delay, if the response had one (see [`retry_after`]).
        retry_after: Option<Duration>,
        /// The API error parsed from the body, if any; its `RetryInfo` delay is honoured.
        api_error: Option<&'a ApiError>,
    },
    /// The connection could not be established (DNS, TCP connect, TLS handshake): the request was
    /// not sent.
    ConnectFailed,
    /// The connection failed or timed out after the request was (perhaps) sent but before the
    /// response head arrived. The server may have processed the request.
    TransportBeforeResponse,
    /// Response body bytes were already handed to the user: never retried.
    BodyStarted,
    /// A failure that sending the request again cannot fix (malformed response, invalid request).
    Fatal,
}

impl<'a> Outcome<'a> {
    /// A response with this status and neither `Retry-After` nor an API error.
    pub fn status(status: StatusCode) -> Self {
        Outcome::Status {
            status,
            retry_after: None,
            api_error: None,
        }
    }

    /// A response with this status; its `Retry-After` header is read with [`retry_after`].
    pub fn from_response(status: StatusCode, headers: &HeaderMap) -> Self {
        Outcome::Status {
            status,
            retry_after: retry_after(headers),
            api_error: None,
        }
    }

    /// The outcome an [`Error`] describes, assuming none of the body was handed to the user (if
    /// some was, use [`Outcome::BodyStarted`] instead).
    ///
    /// API errors and unexpected bodies become [`Outcome::Status`] (an API error found inside a
    /// stream uses its code as the status); a failed connection attempt is
    /// [`Outcome::ConnectFailed`], a timeout or broken connection
    /// [`Outcome::TransportBeforeResponse`]; every other kind is [`Outcome::Fatal`].
    ///
    /// ```
    /// use gemini_proto::error::parse_error_body;
    /// use gemini_proto::retry::{Decision, Outcome, RetryPolicy};
    /// use http::{HeaderMap, StatusCode};
    /// use std::time::Duration;
    ///
    /// let body = br#"{"error": {"code": 429, "message": "Quota exceeded.", "status": "RESOURCE_EXHAUSTED",
    ///   "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "34.4s"}]}}"#;
    /// let err = parse_error_body(StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), body);
    /// let decision = RetryPolicy::default().decide(1, &Outcome::from_error(&err), Duration::ZERO, 0.5);
    /// assert_eq!(decision, Decision::RetryAfter(Duration::from_millis(34_400)));
    /// ```
    pub fn from_error(error: &'a Error) -> Self {
        match error.kind() {
            ErrorKind::Api | ErrorKind::UnexpectedBody => {
                // An error object inside a successful response is judged by its own code.
                let status = error.http_status().filter(|s| !s.is_success()).or_else(|| {
                    let api = error.api_error()?;
                    u16::try_from(api.code())
                        .ok()
                        .and_then(|c| StatusCode::from_u16(c).ok())
                        .or_else(|| {
                            let code = api.status().http_code()?;
                            StatusCode::from_u16(u16::try_from(code).ok()?).ok()
                        })
                });
                match status {
                    Some(status) => Outcome::Status {
                        status,
                        retry_after: error.retry_after(),
                        api_error: error.api_error(),
                    },
                    None => Outcome::Fatal,
                }
            }
            ErrorKind::Connect => Outcome::ConnectFailed,
            ErrorKind::Timeout | ErrorKind::Connection => Outcome::TransportBeforeResponse,
            _ => Outcome::Fatal,
        }
    }

    /// The delay the server asked for: the API error's `RetryInfo` first, then `Retry-After`.
    pub fn server_delay(&self) -> Option<Duration> {
        match self {
            Outcome::Status {
                retry_after,
                api_error,
                ..
            } => api_error.and_then(ApiError::retry_delay).or(*retry_after),
            _ => None,
        }
    }

    fn is_retryable(&self) -> bool {
        match self {
            Outcome::Status { status, .. } => is_retryable_status(*status),
            Outcome::ConnectFailed | Outcome::TransportBeforeResponse => true,
            Outcome::BodyStarted | Outcome::Fatal => false,
        }
    }
}

/// The answer of [`RetryPolicy::decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Send the request again after waiting this long.
    RetryAfter(Duration),
    /// Stop and report the last error.
    GiveUp(GiveUpReason),
}

impl Decision {
    /// The delay before the next attempt, if the decision is to retry.
    pub fn delay(&self) -> Option<Duration> {
        match self {
            Decision::RetryAfter(d) => Some(*d),
            Decision::GiveUp(_) => None,
        }
    }

    /// Whether the decision is to retry.
    pub fn is_retry(&self) -> bool {
        matches!(self, Decision::RetryAfter(_))
    }
}

/// Why a [`RetryPolicy`] gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GiveUpReason {
    /// The outcome is not worth retrying (a 4xx other than 408/429, a success, a fatal error).
    NotRetryable,
    /// Body bytes were already handed to the user.
    BodyStarted,
    /// Retries are turned off ([`RetryPolicy::disabled`]).
    Disabled,
    /// The attempt that failed was the last one allowed.
    AttemptsExhausted,
    /// Waiting would go past the total time budget ([`RetryPolicy::with_max_elapsed`]).
    ElapsedBudgetExhausted,
    /// The server asked for a longer wait than [`RetryPolicy::max_server_delay`] allows.
    ServerDelayTooLong(Duration),
}

impl fmt::Display for GiveUpReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GiveUpReason::NotRetryable => f.write_str("the failure is not retryable"),
            GiveUpReason::BodyStarted => f.write_str("part of the response was already delivered"),
            GiveUpReason::Disabled => f.write_str("retries are disabled"),
            GiveUpReason::AttemptsExhausted => f.write_str("no attempts left"),
            GiveUpReason::ElapsedBudgetExhausted => f.write_str("the retry time budget is spent"),
            GiveUpReason::ServerDelayTooLong(d) => {
                write!(f, "the server asked to wait {d:?}, longer than allowed")
            }
        }
    }
}

/// When and how long to wait before sending a failed request again.
///
/// The default is enabled, 5 attempts in total, backoff starting at 1 s and doubling up to 60 s,
/// a jitter fraction of 0.5, no total time budget, and server-requested delays honoured up to
/// 120 s.
///
/// Backoff after attempt `n` (from 1) is `min(initial · multiplierⁿ⁻¹, max_delay)`, reduced by a
/// random share: with jitter fraction `j` and the caller's random number `r` in `[0, 1)`, the delay
/// is `backoff · (1 − j·r)`, so it never exceeds `max_delay`.
///
/// A delay requested by the server (`RetryInfo.retryDelay`, else `Retry-After`) replaces the
/// backoff, without jitter. It may exceed `max_delay`, but not `max_server_delay`: when the server
/// asks for more, the policy gives up ([`GiveUpReason::ServerDelayTooLong`]) rather than retry early
/// into the same refusal. With a total time budget ([`with_max_elapsed`](Self::with_max_elapsed)),
/// any delay that would end past the budget gives up ([`GiveUpReason::ElapsedBudgetExhausted`])
/// rather than wait past it.
///
/// ```
/// use gemini_proto::retry::{Decision, GiveUpReason, Outcome, RetryPolicy};
/// use http::StatusCode;
/// use std::time::Duration;
///
/// let off = RetryPolicy::disabled();
/// assert_eq!(
///     off.decide(1, &Outcome::status(StatusCode::SERVICE_UNAVAILABLE), Duration::ZERO, 0.0),
///     Decision::GiveUp(GiveUpReason::Disabled)
/// );
///
/// let policy = RetryPolicy::default()
///     .with_max_attempts(3)
///     .with_initial_delay(Duration::from_millis(200))
///     .with_max_delay(Duration::from_secs(5))
///     .with_max_elapsed(Some(Duration::from_secs(30)));
/// assert_eq!(policy.max_attempts(), 3);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    enabled: bool,
    max_attempts: u32,
    initial_delay: Duration,
    multiplier: f64,
    max_delay: Duration,
    max_elapsed: Option<Duration>,
    max_server_delay: Duration,
    jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            enabled: true,
            max_attempts: 5,
            initial_delay: Duration::from_secs(1),
            multiplier: 2.0,
            max_delay: Duration::from_secs(60),
            max_elapsed: None,
            max_server_delay: Duration::from_secs(120),
            jitter: 0.5,
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn disabled() -> Self {
        RetryPolicy {
            enabled: false,
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Turns retries on or off, keeping the other settings.
    pub fn with_enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// The total number of attempts, the first one included (at least 1; 1 means no retry).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The backoff after the first attempt.
    pub fn with_initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// The factor by which the backoff grows after each attempt (at least 1; not a number means 1).
    pub fn with_multiplier(mut self, multiplier: f64) -> Self {
        self.multiplier = if multiplier.is_nan() {
            1.0
        } else {
            multiplier.max(1.0)
        };
        self
    }

    /// The largest backoff.
    pub fn with_max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The total time budget, measured from the start of the first attempt (`None`: no budget).
    pub fn with_max_elapsed(mut self, budget: Option<Duration>) -> Self {
        self.max_elapsed = budget;
        self
    }

    /// The longest server-requested delay that is honoured; above it the policy gives up.
    pub fn with_max_server_delay(mut self, delay: Duration) -> Self {
        self.max_server_delay = delay;
        self
    }

    /// The share of the backoff that jitter may remove, in `[0, 1]` (clamped; not a number means 0).
    pub fn with_jitter(mut self, fraction: f64) -> Self {
        self.jitter = if fraction.is_nan() {
            0.0
        } else {
            fraction.clamp(0.0, 1.0)
        };
        self
    }

    /// Whether retries are enabled.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// The total number of attempts allowed.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The backoff after the first attempt.
    pub fn initial_delay(&self) -> Duration {
        self.initial_delay
    }

    /// The backoff growth factor.
    pub fn multiplier(&self) -> f64 {
        self.multiplier
    }

    /// The largest backoff.
    pub fn max_delay(&self) -> Duration {
        self.max_delay
    }

    /// The total time budget.
    pub fn max_elapsed(&self) -> Option<Duration> {
        self.max_elapsed
    }

    /// The longest server-requested delay that is honoured.
    pub fn max_server_delay(&self) -> Duration {
        self.max_server_delay
    }

    /// The jitter fraction.
    pub fn jitter(&self) -> f64 {
        self.jitter
    }

    /// The backoff after attempt `attempt` (from 1; 0 counts as 1), with the caller's random
    /// number `random` in `[0, 1)` (clamped; not a number means 0). Never more than
    /// [`max_delay`](Self::max_delay).
    ///
    /// ```
    /// use gemini_proto::retry::RetryPolicy;
    /// use std::time::Duration;
    ///
    /// let p = RetryPolicy::default(); // 1 s, ×2, cap 60 s, jitter 0.5
    /// assert_eq!(p.backoff(3, 0.0), Duration::from_secs(4));
    /// assert_eq!(p.backoff(3, 0.5), Duration::from_secs(3));
    /// assert_eq!(p.backoff(30, 0.0), Duration::from_secs(60));
    /// ```
    pub fn backoff(&self, attempt: u32, random: f64) -> Duration {
        let exponent = i32::try_from(attempt.max(1) - 1).unwrap_or(i32::MAX);
        let max = self.max_delay.as_secs_f64();
        let mut base = self.initial_delay.as_secs_f64() * self.multiplier.powi(exponent);
        if !base.is_finite() || base > max {
            base = max;
        }
        let random = if random.is_nan() {
            0.0
        } else {
            random.clamp(0.0, 1.0)
        };
        let secs = base * (1.0 - self.jitter * random);
        Duration::try_from_secs_f64(secs)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// Decides what to do after attempt number `attempt` (from 1; 0 counts as 1) ended with
    /// `outcome`, `elapsed` after the first attempt started. `random` is a random number in
    /// `[0, 1)` supplied by the caller for jitter.
    ///
    /// Checks, in order: the outcome is retryable (else [`GiveUpReason::BodyStarted`] or
    /// [`GiveUpReason::NotRetryable`]); retries are enabled; attempts remain; a server-requested
    /// delay is within [`max_server_delay`](Self::max_server_delay); the delay ends within the
    /// time budget.
    pub fn decide(
        &self,
        attempt: u32,
        outcome: &Outcome<'_>,
        elapsed: Duration,
        random: f64,
    ) -> Decision {
        if matches!(outcome, Outcome::BodyStarted) {
            return Decision::GiveUp(GiveUpReason::BodyStarted);
        }
        if !outcome.is_retryable() {
            return Decision::GiveUp(GiveUpReason::NotRetryable);
        }
        if !self.enabled {
            return Decision::GiveUp(GiveUpReason::Disabled);
        }
        if attempt.max(1) >= self.max_attempts {
            return Decision::GiveUp(GiveUpReason::AttemptsExhausted);
        }
        let delay = match outcome.server_delay() {
            Some(d) if d > self.max_server_delay => {
                return Decision::GiveUp(GiveUpReason::ServerDelayTooLong(d));
            }
            Some(d) => d,
            None => self.backoff(attempt, random),
        };
        if let Some(budget) = self.max_elapsed {
            match elapsed.checked_add(delay) {
                Some(end) if end <= budget => {}
                _ => return Decision::GiveUp(GiveUpReason::ElapsedBudgetExhausted),
            }
        }
        Decision::RetryAfter(delay)
    }
}

/// The `Retry-After` header in its delta-seconds form (`Retry-After: 30`).
///
/// The HTTP-date form cannot be evaluated without the current time and gives `None` here; use
/// [`retry_after_at`] for it. Several or malformed values give `None`.
///
/// ```
/// use gemini_proto::retry::retry_after;
/// use http::{header::RETRY_AFTER, HeaderMap, HeaderValue};
/// use std::time::Duration;
///
/// let mut headers = HeaderMap::new();
/// headers.insert(RETRY_AFTER, HeaderValue::from_static("30"));
/// assert_eq!(retry_after(&headers), Some(Duration::from_secs(30)));
/// ```
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    delta_seconds(single_retry_after(headers)?)
}

/// The `Retry-After` header in either form, given the current time `now` (supplied by the caller;
/// this crate never reads the clock). A date in the past gives [`Duration::ZERO`]. Only the
/// IMF-fixdate form of HTTP dates (`Sun, 06 Nov 1994 08:49:37 GMT`) is understood.
///
/// ```
/// use gemini_proto::retry::retry_after_at;
/// use http::{header::RETRY_AFTER, HeaderMap, HeaderValue};
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let mut headers = HeaderMap::new();
/// headers.insert(RETRY_AFTER, HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"));
/// let now = UNIX_EPOCH + Duration::from_secs(784_111_777 - 90);
/// assert_eq!(retry_after_at(&headers, now), Some(Duration::from_secs(90)));
/// ```
pub fn retry_after_at(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = single_retry_after(headers)?;
    if let Some(d) = delta_seconds(value) {
        return Some(d);
    }
    let at = UNIX_EPOCH.checked_add(Duration::from_secs(parse_imf_fixdate(value)?))?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

fn single_retry_after(headers: &HeaderMap) -> Option<&str> {
    let mut values = headers.get_all(RETRY_AFTER).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    value.to_str().ok().map(str::trim)
}

fn delta_seconds(s: &str) -> Option<Duration> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // A number too large for u64 is "a very long time".
    Some(Duration::from_secs(s.parse().unwrap_or(u64::MAX)))
}

/// Seconds since the Unix epoch of an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn parse_imf_fixdate(s: &str) -> Option<u64> {
    let mut parts = s.split_ascii_whitespace();
    let _weekday = parts.next().filter(|w| w.len() == 4 && w.ends_with(','))?;
    let day: u32 = parts.next().filter(|d| d.len() == 2)?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: u32 = parts.next().filter(|y| y.len() == 4)?.parse().ok()?;
    let time = parts.next().filter(|t| t.len() == 8)?;
    if parts.next()? != "GMT" || parts.next().is_some() {
        return None;
    }
    let mut hms = time.split(':');
    let h: u64 = hms.next()?.parse().ok()?;
    let m: u64 = hms.next()?.parse().ok()?;
    let sec: u64 = hms.next()?.parse().ok()?;
    if year < 1970 || !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + h * 3_600 + m * 60 + sec)
}

/// Days from 1970-01-01 to the given date (proleptic Gregorian; year ≥ 1970).
fn days_from_civil(year: u32, month: u32, day: u32) -> u64 {
    let y = u64::from(if month <= 2 { year - 1 } else { year });
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = u64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + u64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        // 1994-11-06 08:49:37 UTC = 784111777 (RFC 9110's example date).
        assert_eq!(
            parse_imf_fixdate("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(parse_imf_fixdate("Sunday, 06-Nov-94 08:49:37 GMT"), None);
    }
}
