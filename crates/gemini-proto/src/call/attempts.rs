//! The request a call sends on each attempt, and the counting and timing of attempts.

use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, Method, Uri, Version};

use crate::retry::{Decision, Outcome, RetryPolicy};

/// A request that can be sent again: `http::Request` is not `Clone`, so its parts are kept.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    method: Method,
    uri: Uri,
    version: Version,
    headers: HeaderMap,
    body: Bytes,
}

impl Template {
    pub(crate) fn new(request: http::Request<Bytes>) -> Self {
        let (parts, body) = request.into_parts();
        Self {
            method: parts.method,
            uri: parts.uri,
            version: parts.version,
            headers: parts.headers,
            body,
        }
    }

    /// A fresh copy of the request (the body is shared, not copied).
    pub(crate) fn request(&self) -> http::Request<Bytes> {
        let mut request = http::Request::new(self.body.clone());
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.version_mut() = self.version;
        *request.headers_mut() = self.headers.clone();
        request
    }
}

/// Counts attempts, measures the time since the first one, and asks the retry policy.
#[derive(Debug, Clone)]
pub(crate) struct Attempts {
    policy: RetryPolicy,
    sent: u32,
    started: Option<Instant>,
    /// State of the jitter generator (splitmix64), seeded by the caller.
    random: u64,
}

impl Attempts {
    pub(crate) fn new(policy: RetryPolicy, seed: u64) -> Self {
        Self {
            policy,
            sent: 0,
            started: None,
            random: seed,
        }
    }

    pub(crate) fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    pub(crate) fn set_policy(&mut self, policy: RetryPolicy) {
        self.policy = policy;
    }

    pub(crate) fn reseed(&mut self, seed: u64) {
        self.random = seed;
    }

    /// An attempt starts now.
    pub(crate) fn begin(&mut self, now: Instant) {
        self.started.get_or_insert(now);
        self.sent = self.sent.saturating_add(1);
    }

    /// Starts counting afresh, for another request (the next hop of a continued answer).
    pub(crate) fn restart(&mut self) {
        self.sent = 0;
        self.started = None;
    }

    /// The policy's backoff before reconnect number `n` (from 1), with jitter.
    pub(crate) fn backoff(&mut self, n: u32) -> std::time::Duration {
        let random = self.next_random();
        self.policy.backoff(n, random)
    }

    /// What to do after the current attempt ended with `outcome`.
    pub(crate) fn decide(&mut self, outcome: &Outcome<'_>, now: Instant) -> Decision {
        let elapsed = self.started.map_or_else(Default::default, |start| {
            now.saturating_duration_since(start)
        });
        let random = self.next_random();
        self.policy.decide(self.sent, outcome, elapsed, random)
    }

    /// A number in `[0, 1)`.
    fn next_random(&mut self) -> f64 {
        // splitmix64: good enough for jitter, and deterministic for a given seed.
        self.random = self.random.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.random;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// What every call machine does with its requests: send the next attempt, remember the response
/// status and a transport failure, and decide after a failure whether to try again.
#[derive(Debug)]
pub(crate) struct Retrying {
    template: Template,
    attempts: Attempts,
    /// Requests sent by the whole call (every hop).
    total: u32,
    status: Option<http::StatusCode>,
    transport_error: Option<crate::Error>,
    cancelled: bool,
}

impl Retrying {
    pub(crate) fn new(request: http::Request<Bytes>, policy: RetryPolicy) -> Self {
        Self {
            template: Template::new(request),
            attempts: Attempts::new(policy, 0x0005_EED0_F6E4_D1A1),
            total: 0,
            status: None,
            transport_error: None,
            cancelled: false,
        }
    }

    pub(crate) fn attempts_mut(&mut self) -> &mut Attempts {
        &mut self.attempts
    }

    pub(crate) fn policy(&self) -> &RetryPolicy {
        self.attempts.policy()
    }

    /// The body of the request sent on each attempt.
    pub(crate) fn body(&self) -> &Bytes {
        &self.template.body
    }

    /// Sends `request` from now on (the next hop), with a fresh count of attempts.
    pub(crate) fn next_request(&mut self, request: http::Request<Bytes>) {
        self.template = Template::new(request);
        self.attempts.restart();
    }

    /// Sends the same request with `body` from now on (the next hop), with a fresh count of
    /// attempts.
    pub(crate) fn next_body(&mut self, body: Bytes) {
        self.template.body = body;
        self.attempts.restart();
    }

    /// Starts the next attempt: the request to send.
    pub(crate) fn send(&mut self, now: Instant) -> http::Request<Bytes> {
        self.attempts.begin(now);
        self.total = self.total.saturating_add(1);
        self.status = None;
        self.transport_error = None;
        self.template.request()
    }

    pub(crate) fn handle_response(&mut self, status: http::StatusCode) {
        self.status = Some(status);
    }

    pub(crate) fn handle_transport_error(&mut self, error: crate::Error) {
        // The first failure is the one that explains the others.
        self.transport_error.get_or_insert(error);
    }

    pub(crate) fn take_transport_error(&mut self) -> Option<crate::Error> {
        self.transport_error.take()
    }

    pub(crate) fn has_transport_error(&self) -> bool {
        self.transport_error.is_some()
    }

    pub(crate) fn cancel(&mut self) {
        self.cancelled = true;
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled
    }

    /// Requests sent by the whole call.
    pub(crate) fn sent(&self) -> u32 {
        self.total
    }

    pub(crate) fn status(&self) -> Option<http::StatusCode> {
        self.status
    }

    /// After a failure described by `outcome`: the delay before the next attempt, or `None` to
    /// give up. Nothing is retried once something reached the caller (`delivered`).
    pub(crate) fn retry_delay(
        &mut self,
        outcome: &Outcome<'_>,
        now: Instant,
        delivered: bool,
    ) -> Option<std::time::Duration> {
        let outcome = if delivered {
            &Outcome::BodyStarted
        } else {
            outcome
        };
        match self.attempts.decide(outcome, now) {
            Decision::RetryAfter(delay) => Some(delay),
            Decision::GiveUp(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_numbers_stay_in_range_and_follow_the_seed() {
        let mut a = Attempts::new(RetryPolicy::default(), 7);
        let mut b = Attempts::new(RetryPolicy::default(), 7);
        let mut c = Attempts::new(RetryPolicy::default(), 8);
        let xs: Vec<f64> = (0..1000).map(|_| a.next_random()).collect();
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
        assert_eq!(
            xs[..10],
            (0..10).map(|_| b.next_random()).collect::<Vec<_>>()
        );
        assert_ne!(xs[0], c.next_random());
        // Spread over the interval, not stuck in one corner.
        assert!(xs.iter().any(|x| *x < 0.1) && xs.iter().any(|x| *x > 0.9));
    }

    #[test]
    fn template_copies_are_identical() {
        let request = http::Request::post("http://127.0.0.1/v1beta/models/m:generateContent")
            .header("x-goog-api-key", "k")
            .body(Bytes::from_static(b"{}"))
            .unwrap();
        let template = Template::new(request);
        let copy = template.request();
        assert_eq!(copy.method(), Method::POST);
        assert_eq!(
            copy.uri(),
            "http://127.0.0.1/v1beta/models/m:generateContent"
        );
        assert_eq!(copy.headers()["x-goog-api-key"], "k");
        assert_eq!(copy.body(), "{}");
    }
}
