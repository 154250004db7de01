//! Retry decisions. Expected delays are worked out by hand from the policy settings.

use std::time::{Duration, UNIX_EPOCH};

use gemini_proto::error::{ApiError, Error, ErrorDetail, RetryInfo, RpcStatus, parse_error_body};
use gemini_proto::retry::{
    Decision, GiveUpReason, Outcome, RetryPolicy, retry_after, retry_after_at,
};
use http::header::RETRY_AFTER;
use http::{HeaderMap, HeaderValue, StatusCode};
use proptest::prelude::*;

const S: fn(u64) -> Duration = Duration::from_secs;
const MS: fn(u64) -> Duration = Duration::from_millis;

fn st(code: u16) -> Outcome<'static> {
    Outcome::status(StatusCode::from_u16(code).unwrap())
}

fn no_jitter() -> RetryPolicy {
    RetryPolicy::default().with_jitter(0.0)
}

#[test]
fn retry_defaults() {
    let p = RetryPolicy::default();
    assert!(p.is_enabled());
    assert_eq!(p.max_attempts(), 5);
    assert_eq!(p.initial_delay(), S(1));
    assert_eq!(p.multiplier(), 2.0);
    assert_eq!(p.max_delay(), S(60));
    assert_eq!(p.max_elapsed(), None);
    assert_eq!(p.max_server_delay(), S(120));
    assert_eq!(p.jitter(), 0.5);
}

#[test]
fn retry_retryable_statuses() {
    let p = no_jitter();
    for code in [408, 429, 500, 502, 503, 504] {
        assert_eq!(
            p.decide(1, &st(code), Duration::ZERO, 0.0),
            Decision::RetryAfter(S(1)),
            "{code}"
        );
    }
    for code in [200, 204, 301, 400, 401, 403, 404, 409, 413, 501, 505] {
        assert_eq!(
            p.decide(1, &st(code), Duration::ZERO, 0.0),
            Decision::GiveUp(GiveUpReason::NotRetryable),
            "{code}"
        );
    }
    assert_eq!(
        p.decide(1, &Outcome::ConnectFailed, Duration::ZERO, 0.0),
        Decision::RetryAfter(S(1))
    );
    assert_eq!(
        p.decide(1, &Outcome::TransportBeforeResponse, Duration::ZERO, 0.0),
        Decision::RetryAfter(S(1))
    );
    assert_eq!(
        p.decide(1, &Outcome::Fatal, Duration::ZERO, 0.0),
        Decision::GiveUp(GiveUpReason::NotRetryable)
    );
    assert_eq!(
        p.decide(1, &Outcome::BodyStarted, Duration::ZERO, 0.0),
        Decision::GiveUp(GiveUpReason::BodyStarted)
    );
}

#[test]
fn retry_exponential_backoff_with_cap() {
    let p = no_jitter().with_max_attempts(10);
    let o = st(503);
    // 1, 2, 4, 8, 16, 32, then capped at 60.
    let expected = [S(1), S(2), S(4), S(8), S(16), S(32), S(60), S(60), S(60)];
    for (i, want) in expected.iter().enumerate() {
        let attempt = u32::try_from(i).unwrap() + 1;
        assert_eq!(
            p.decide(attempt, &o, Duration::ZERO, 0.9),
            Decision::RetryAfter(*want),
            "attempt {attempt}"
        );
    }
    assert_eq!(
        p.decide(10, &o, Duration::ZERO, 0.0),
        Decision::GiveUp(GiveUpReason::AttemptsExhausted)
    );
    // Attempt 0 counts as the first.
    assert_eq!(
        p.decide(0, &o, Duration::ZERO, 0.0),
        Decision::RetryAfter(S(1))
    );
}

#[test]
fn retry_jitter() {
    // Jitter 0.5: delay = backoff · (1 − 0.5·r).
    let p = RetryPolicy::default();
    let o = st(500);
    assert_eq!(
        p.decide(2, &o, Duration::ZERO, 0.0),
        Decision::RetryAfter(S(2))
    );
    assert_eq!(
        p.decide(2, &o, Duration::ZERO, 0.5),
        Decision::RetryAfter(MS(1500))
    );
    assert_eq!(
        p.decide(2, &o, Duration::ZERO, 1.0),
        Decision::RetryAfter(S(1))
    );
    // Out-of-range and NaN random numbers are clamped / treated as 0.
    assert_eq!(
        p.decide(2, &o, Duration::ZERO, 7.0),
        Decision::RetryAfter(S(1))
    );
    assert_eq!(
        p.decide(2, &o, Duration::ZERO, -3.0),
        Decision::RetryAfter(S(2))
    );
    assert_eq!(
        p.decide(2, &o, Duration::ZERO, f64::NAN),
        Decision::RetryAfter(S(2))
    );
    // Full jitter.
    let p = p.with_jitter(1.0);
    assert_eq!(
        p.decide(3, &o, Duration::ZERO, 0.25),
        Decision::RetryAfter(S(3))
    );
    assert_eq!(RetryPolicy::default().with_jitter(f64::NAN).jitter(), 0.0);
    assert_eq!(RetryPolicy::default().with_jitter(2.0).jitter(), 1.0);
}

#[test]
fn retry_disabled_never_retries() {
    let p = RetryPolicy::disabled();
    assert!(!p.is_enabled());
    assert_eq!(
        p.decide(1, &st(503), Duration::ZERO, 0.0),
        Decision::GiveUp(GiveUpReason::Disabled)
    );
    assert_eq!(
        p.decide(1, &Outcome::ConnectFailed, Duration::ZERO, 0.0),
        Decision::GiveUp(GiveUpReason::Disabled)
    );
    // Turning it back on restores the other settings.
    let p = p.with_enabled(true).with_max_attempts(2);
    assert_eq!(
        p.decide(1, &st(503), Duration::ZERO, 0.0),
        Decision::RetryAfter(S(1))
    );
    // max_attempts 1 means no retry either; 0 is raised to 1.
    let p = RetryPolicy::default().with_max_attempts(0);
    assert_eq!(p.max_attempts(), 1);
    assert_eq!(
        p.decide(1, &st(503), Duration::ZERO, 0.0),
        Decision::GiveUp(GiveUpReason::AttemptsExhausted)
    );
}

#[test]
fn retry_honours_retry_info() {
    let body = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/errors/error-429-resource-exhausted-retryinfo-vercelai-01.json"
    ));
    let err = parse_error_body(StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), body);
    let p = RetryPolicy::default();
    // Server delay wins over backoff (1 s), no jitter applied, above the 60 s cap is fine.
    assert_eq!(
        p.decide(1, &Outcome::from_error(&err), Duration::ZERO, 0.9),
        Decision::RetryAfter(MS(34_400))
    );
    assert_eq!(
        p.decide(4, &Outcome::from_error(&err), S(20), 0.9),
        Decision::RetryAfter(MS(34_400))
    );

    // Too long for max_server_delay: give up rather than retry early.
    let p = RetryPolicy::default().with_max_server_delay(S(30));
    assert_eq!(
        p.decide(1, &Outcome::from_error(&err), Duration::ZERO, 0.0),
        Decision::GiveUp(GiveUpReason::ServerDelayTooLong(MS(34_400)))
    );

    // Would end past the total budget: give up rather than wait past it.
    let p = RetryPolicy::default().with_max_elapsed(Some(S(60)));
    assert_eq!(
        p.decide(1, &Outcome::from_error(&err), S(25), 0.0),
        Decision::RetryAfter(MS(34_400))
    );
    assert_eq!(
        p.decide(1, &Outcome::from_error(&err), S(26), 0.0),
        Decision::GiveUp(GiveUpReason::ElapsedBudgetExhausted)
    );
}

#[test]
fn retry_honours_retry_after_header() {
    let mut h = HeaderMap::new();
    h.insert(RETRY_AFTER, HeaderValue::from_static("90"));
    let o = Outcome::from_response(StatusCode::SERVICE_UNAVAILABLE, &h);
    assert_eq!(o.server_delay(), Some(S(90)));
    assert_eq!(
        RetryPolicy::default().decide(1, &o, Duration::ZERO, 0.5),
        Decision::RetryAfter(S(90))
    );

    // RetryInfo beats Retry-After.
    let api = ApiError::new(429, RpcStatus::ResourceExhausted, "slow down")
        .with_detail(ErrorDetail::RetryInfo(RetryInfo::new(S(5))));
    let o = Outcome::Status {
        status: StatusCode::TOO_MANY_REQUESTS,
        retry_after: Some(S(90)),
        api_error: Some(&api),
    };
    assert_eq!(
        RetryPolicy::default().decide(1, &o, Duration::ZERO, 0.5),
        Decision::RetryAfter(S(5))
    );

    // A server delay never makes a non-retryable status retryable.
    let o = Outcome::from_response(StatusCode::BAD_REQUEST, &h);
    assert_eq!(
        RetryPolicy::default().decide(1, &o, Duration::ZERO, 0.5),
        Decision::GiveUp(GiveUpReason::NotRetryable)
    );
}

#[test]
fn retry_elapsed_budget_for_backoff() {
    let p = no_jitter().with_max_elapsed(Some(S(10)));
    let o = st(502);
    // After attempt 3 the backoff is 4 s: fine at 6 s elapsed, too long at 6.5 s.
    assert_eq!(p.decide(3, &o, S(6), 0.0), Decision::RetryAfter(S(4)));
    assert_eq!(
        p.decide(3, &o, MS(6_500), 0.0),
        Decision::GiveUp(GiveUpReason::ElapsedBudgetExhausted)
    );
    assert_eq!(
        p.decide(1, &o, Duration::MAX, 0.0),
        Decision::GiveUp(GiveUpReason::ElapsedBudgetExhausted)
    );
}

#[test]
fn retry_outcome_from_error() {
    // In-stream API error: its code stands in for the status.
    let err = Error::api(ApiError::new(503, RpcStatus::Unavailable, "busy"));
    assert!(matches!(
        Outcome::from_error(&err),
        Outcome::Status {
            status: StatusCode::SERVICE_UNAVAILABLE,
            retry_after: None,
            api_error: Some(_)
        }
    ));
    // No usable code: the status string's HTTP mapping.
    let err = Error::api(ApiError::new(0, RpcStatus::ResourceExhausted, "quota"));
    assert!(matches!(
        Outcome::from_error(&err),
        Outcome::Status {
            status: StatusCode::TOO_MANY_REQUESTS,
            ..
        }
    ));
    let err = Error::api(ApiError::new(0, RpcStatus::Other("X".into()), ""));
    assert_eq!(Outcome::from_error(&err), Outcome::Fatal);
    // Unexpected body keeps its status; Retry-After travels along.
    let err =
        Error::unexpected_body(StatusCode::BAD_GATEWAY, None, b"<html>").with_retry_after(S(3));
    assert_eq!(
        Outcome::from_error(&err),
        Outcome::Status {
            status: StatusCode::BAD_GATEWAY,
            retry_after: Some(S(3)),
            api_error: None
        }
    );
    for err in [
        Error::decode("x", b""),
        Error::truncated(b""),
        Error::incomplete(),
        Error::too_large(1),
        Error::invalid_request("x"),
    ] {
        assert_eq!(Outcome::from_error(&err), Outcome::Fatal);
    }
}

#[test]
fn retry_after_header_parsing() {
    let mut h = HeaderMap::new();
    assert_eq!(retry_after(&h), None);
    for (value, want) in [
        ("0", Some(S(0))),
        (" 120 ", Some(S(120))),
        ("1.5", None),
        ("-1", None),
        ("abc", None),
        ("", None),
    ] {
        h.insert(RETRY_AFTER, HeaderValue::from_static(value));
        assert_eq!(retry_after(&h), want, "{value:?}");
    }
    // Two values: ambiguous, ignored.
    h.insert(RETRY_AFTER, HeaderValue::from_static("5"));
    h.append(RETRY_AFTER, HeaderValue::from_static("6"));
    assert_eq!(retry_after(&h), None);

    // HTTP-date, given `now`. 2015-10-21 07:28:00 UTC is 1445412480 s after the epoch.
    let mut h = HeaderMap::new();
    h.insert(
        RETRY_AFTER,
        HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
    );
    assert_eq!(retry_after(&h), None);
    assert_eq!(
        retry_after_at(&h, UNIX_EPOCH + S(1_445_412_480 - 42)),
        Some(S(42))
    );
    assert_eq!(
        retry_after_at(&h, UNIX_EPOCH + S(1_445_412_480 + 42)),
        Some(Duration::ZERO)
    );
    h.insert(
        RETRY_AFTER,
        HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 UTC"),
    );
    assert_eq!(retry_after_at(&h, UNIX_EPOCH), None);
    h.insert(RETRY_AFTER, HeaderValue::from_static("17"));
    assert_eq!(retry_after_at(&h, UNIX_EPOCH), Some(S(17)));
}

fn any_outcome() -> impl Strategy<Value = (u8, u16, Option<u64>)> {
    (0u8..5, 100u16..600, proptest::option::of(0u64..100_000))
}

fn make_outcome(kind: u8, code: u16, retry_after_ms: Option<u64>) -> Outcome<'static> {
    match kind {
        0 => Outcome::Status {
            status: StatusCode::from_u16(code).unwrap(),
            retry_after: retry_after_ms.map(MS),
            api_error: None,
        },
        1 => Outcome::ConnectFailed,
        2 => Outcome::TransportBeforeResponse,
        3 => Outcome::BodyStarted,
        _ => Outcome::Fatal,
    }
}

fn any_policy() -> impl Strategy<Value = RetryPolicy> {
    (
        1u32..12,
        0u64..5_000,
        1.0f64..4.0,
        0u64..120_000,
        proptest::option::of(0u64..600_000),
        0u64..200_000,
        0.0f64..=1.0,
    )
        .prop_map(|(attempts, initial, mult, cap, budget, server, jitter)| {
            RetryPolicy::default()
                .with_max_attempts(attempts)
                .with_initial_delay(MS(initial))
                .with_multiplier(mult)
                .with_max_delay(MS(cap))
                .with_max_elapsed(budget.map(MS))
                .with_max_server_delay(MS(server))
                .with_jitter(jitter)
        })
}

proptest! {
    #[test]
    fn retry_prop_delays_bounded(
        policy in any_policy(),
        attempt in 0u32..200,
        (kind, code, ra) in any_outcome(),
        elapsed_ms in 0u64..1_000_000,
        random in any::<f64>(),
    ) {
        let outcome = make_outcome(kind, code, ra);
        let elapsed = MS(elapsed_ms);
        if let Decision::RetryAfter(d) = policy.decide(attempt, &outcome, elapsed, random) {
            match outcome.server_delay() {
                // Server-specified: exactly what was asked, within its own bound.
                Some(server) => {
                    prop_assert_eq!(d, server);
                    prop_assert!(d <= policy.max_server_delay());
                }
                None => prop_assert!(d <= policy.max_delay()),
            }
            if let Some(budget) = policy.max_elapsed() {
                prop_assert!(elapsed + d <= budget);
            }
            prop_assert!(attempt.max(1) < policy.max_attempts());
        }
    }

    #[test]
    fn retry_prop_never_after_body_started(policy in any_policy(), attempt in any::<u32>(), random in any::<f64>(), elapsed in any::<u64>()) {
        prop_assert_eq!(
            policy.decide(attempt, &Outcome::BodyStarted, MS(elapsed), random),
            Decision::GiveUp(GiveUpReason::BodyStarted)
        );
    }

    #[test]
    fn retry_prop_disabled_never_retries(policy in any_policy(), attempt in any::<u32>(), (kind, code, ra) in any_outcome(), random in any::<f64>()) {
        let policy = policy.with_enabled(false);
        prop_assert!(!policy.decide(attempt, &make_outcome(kind, code, ra), Duration::ZERO, random).is_retry());
    }

    #[test]
    fn retry_prop_attempt_bound(policy in any_policy(), random in 0.0f64..1.0) {
        // Simulate a server that always fails with 503: the number of attempts is bounded.
        let mut attempts = 1u32;
        let mut elapsed = Duration::ZERO;
        while let Decision::RetryAfter(d) = policy.decide(attempts, &Outcome::status(StatusCode::SERVICE_UNAVAILABLE), elapsed, random) {
            attempts += 1;
            elapsed += d;
            prop_assert!(attempts <= policy.max_attempts());
        }
        if policy.max_elapsed().is_none() {
            prop_assert_eq!(attempts, policy.max_attempts());
        }
    }

    #[test]
    fn retry_prop_backoff_monotonic_without_jitter(policy in any_policy(), attempt in 1u32..100) {
        let p = policy.with_jitter(0.0);
        prop_assert!(p.backoff(attempt, 0.0) <= p.backoff(attempt + 1, 0.0));
    }
}
