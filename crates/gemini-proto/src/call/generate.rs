//! `generateContent` and `streamGenerateContent`: [`GenerateCall`].

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use super::attempts::Retrying;
use super::body::{Collected, response_outcome, transport_outcome};
use super::{Action, Call, DEFAULT_MAX_ERROR_BODY};
use crate::aggregate::Aggregator;
use crate::chunk::ChunkDecoder;
use crate::error::{Error, ErrorKind};
use crate::request::{Api, StreamFormat};
use crate::retry::{Outcome, RetryPolicy};
use crate::sse::DEFAULT_MAX_EVENT_SIZE;
use crate::types::{GenerateContentRequest, GenerateContentResponse, UsageMetadata};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Stream(StreamFormat),
    Unary,
}

#[derive(Debug)]
enum State {
    /// The next poll sends an attempt.
    Ready,
    AwaitingHead,
    /// A successful stream is being decoded.
    Streaming(Box<ChunkDecoder>),
    /// A unary answer, or an error response, is being read.
    Collecting(Collected),
    Finished,
}

/// One `generateContent` or `streamGenerateContent` call: every attempt, every chunk, the
/// aggregate. See the [module documentation](super) for how to drive it.
///
/// What it decides:
///
/// * **Retries**, by its [`RetryPolicy`] (the default: 5 attempts, backoff from 1 s, the server's
///   `RetryInfo.retryDelay` or `Retry-After` honoured): after a retryable HTTP status, a
///   connection failure before the response, and — as long as no chunk reached the caller — a
///   stream that broke before its first chunk: an error event (`data: {"error": …}` or raw JSON),
///   a cut connection, a body that ended before any chunk. Nothing is retried once a chunk was
///   handed out: the caller would receive the beginning of the answer twice.
/// * **What an error response costs**: at most [`DEFAULT_MAX_ERROR_BODY`] bytes of it are read.
/// * **Decoding**: chunks come out in order, then at most one error; a stream that ends cleanly
///   without a finish reason is an [`ErrorKind::Incomplete`] error (see
///   [`ChunkDecoder`]).
/// * **Aggregation**: every chunk handed out is folded into [`response`](Self::response); a failure
///   carries that aggregate as its [`partial_response`](Error::partial_response).
///
/// ```
/// use std::time::Instant;
/// use gemini_proto::call::{Action, Call, GenerateCall};
/// use gemini_proto::retry::RetryPolicy;
/// use gemini_proto::types::GenerateContentRequest;
/// use gemini_proto::{Api, Auth, Endpoint};
/// use http::{HeaderMap, StatusCode};
/// use std::time::Duration;
///
/// let api = Api::new(Endpoint::default(), Auth::api_key("key"));
/// let policy = RetryPolicy::default().with_jitter(0.0);
/// let mut call = GenerateCall::unary(&api, "gemini-2.5-flash", &GenerateContentRequest::from_prompt("Hi"))?
///     .with_retry_policy(policy);
/// let now = Instant::now();
///
/// // The first attempt meets an overloaded model…
/// let Action::Send(_) = call.poll(now) else { panic!() };
/// call.handle_response(StatusCode::SERVICE_UNAVAILABLE, &HeaderMap::new());
/// assert!(matches!(call.poll(now), Action::Read));
/// call.handle_frame(br#"{"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}"#);
/// call.handle_end();
/// // …so the call waits the policy's first backoff, then sends the request again.
/// assert!(matches!(call.poll(now), Action::Wait(d) if d == Duration::from_secs(1)));
/// let Action::Send(_) = call.poll(now) else { panic!() };
/// call.handle_response(StatusCode::OK, &HeaderMap::new());
/// assert!(matches!(call.poll(now), Action::Read));
/// call.handle_frame(br#"{"candidates": [{"content": {"parts": [{"text": "Hello!"}]}, "finishReason": "STOP"}]}"#);
/// call.handle_end();
/// let Action::Item(answer) = call.poll(now) else { panic!() };
/// assert_eq!(answer.text().as_deref(), Some("Hello!"));
/// assert!(matches!(call.poll(now), Action::Done));
/// assert_eq!(call.attempts(), 2);
/// # Ok::<(), gemini_proto::Error>(())
/// ```
#[derive(Debug)]
pub struct GenerateCall {
    requests: Retrying,
    mode: Mode,
    state: State,
    aggregator: Aggregator,
    delivered: u64,
    max_event_size: usize,
    max_error_body: usize,
    first_chunk_after: Option<Duration>,
    started: Option<Instant>,
}

impl GenerateCall {
    /// A streamed call (`streamGenerateContent?alt=sse`).
    pub fn stream(api: &Api, model: &str, request: &GenerateContentRequest) -> Result<Self, Error> {
        Self::stream_as(api, model, request, StreamFormat::Sse)
    }

    /// A streamed call whose body is framed as `format`.
    pub fn stream_as(
        api: &Api,
        model: &str,
        request: &GenerateContentRequest,
        format: StreamFormat,
    ) -> Result<Self, Error> {
        let http = api.stream_generate_content_as(model, request, format)?;
        Ok(Self::new(http, Mode::Stream(format)))
    }

    /// A unary call (`generateContent`): one answer, handed out as one item.
    pub fn unary(api: &Api, model: &str, request: &GenerateContentRequest) -> Result<Self, Error> {
        let http = api.generate_content(model, request)?;
        Ok(Self::new(http, Mode::Unary))
    }

    fn new(request: http::Request<Bytes>, mode: Mode) -> Self {
        Self {
            requests: Retrying::new(request, RetryPolicy::default()),
            mode,
            state: State::Ready,
            aggregator: Aggregator::new(),
            delivered: 0,
            max_event_size: DEFAULT_MAX_EVENT_SIZE,
            max_error_body: DEFAULT_MAX_ERROR_BODY,
            first_chunk_after: None,
            started: None,
        }
    }

    /// Uses `policy` to decide about retries (default: [`RetryPolicy::default`]).
    #[must_use]
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.requests.attempts_mut().set_policy(policy);
        self
    }

    /// Seeds the jitter of the retry backoff (any value; the default is fixed, so pass a random
    /// one to keep many clients from retrying in step).
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.requests.attempts_mut().reseed(seed);
        self
    }

    /// The largest stream event, or unary answer, accepted (default 64 MiB, enough for images).
    #[must_use]
    pub fn with_max_event_size(mut self, bytes: usize) -> Self {
        self.max_event_size = bytes;
        self
    }

    /// The most bytes of an error response read (default [`DEFAULT_MAX_ERROR_BODY`]).
    #[must_use]
    pub fn with_max_error_body(mut self, bytes: usize) -> Self {
        self.max_error_body = bytes;
        self
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        self.requests.policy()
    }

    /// True for a streamed call.
    pub fn is_stream(&self) -> bool {
        matches!(self.mode, Mode::Stream(_))
    }

    /// True once a successful response head arrived and its body is being read: for a stream,
    /// the moment it is established.
    pub fn is_established(&self) -> bool {
        match &self.state {
            State::Streaming(_) => true,
            State::Collecting(body) => body.status().is_success(),
            State::Finished => self.delivered > 0,
            State::Ready | State::AwaitingHead => false,
        }
    }

    /// The response aggregated from every chunk handed out so far (for a unary call, the answer).
    pub fn response(&self) -> &GenerateContentResponse {
        self.aggregator.response()
    }

    /// Takes the aggregate.
    pub fn into_response(self) -> GenerateContentResponse {
        self.aggregator.into_response()
    }

    /// The number of chunks handed out.
    pub fn chunks_delivered(&self) -> u64 {
        self.delivered
    }

    /// The latest usage metadata (a cumulative snapshot: the last one is final).
    pub fn usage(&self) -> Option<&UsageMetadata> {
        self.aggregator.response().usage()
    }

    /// The time from the first attempt to the first chunk handed out.
    pub fn time_to_first_chunk(&self) -> Option<Duration> {
        self.first_chunk_after
    }

    fn deliver(&mut self, chunk: &GenerateContentResponse, now: Instant) {
        if self.delivered == 0 {
            self.first_chunk_after = self.started.map(|t| now.saturating_duration_since(t));
        }
        self.delivered += 1;
        self.aggregator.push(chunk);
    }

    /// Retries after `error` (seen by the policy as `outcome`) if allowed, else fails with it.
    fn retry_or_fail(&mut self, error: Error, now: Instant) -> Action<GenerateContentResponse> {
        let outcome = self.outcome(&error);
        match self.requests.retry_delay(&outcome, now, self.delivered > 0) {
            Some(delay) => {
                self.state = State::Ready;
                Action::Wait(delay)
            }
            None => self.fail(error),
        }
    }

    /// How the retry policy sees `error`, given where the call stands.
    fn outcome<'e>(&self, error: &'e Error) -> Outcome<'e> {
        match &self.state {
            State::AwaitingHead => transport_outcome(error, false),
            State::Collecting(body) if !body.status().is_success() => {
                response_outcome(body.status(), error)
            }
            _ => match error.kind() {
                // An error the server reported inside a 200 response: judged by its code.
                ErrorKind::Api | ErrorKind::UnexpectedBody => Outcome::from_error(error),
                // The stream broke: nothing decodable arrived after the head.
                ErrorKind::Truncated | ErrorKind::Incomplete => Outcome::TransportBeforeResponse,
                ErrorKind::Timeout | ErrorKind::Connection => Outcome::TransportBeforeResponse,
                _ => Outcome::Fatal,
            },
        }
    }

    fn fail(&mut self, error: Error) -> Action<GenerateContentResponse> {
        self.state = State::Finished;
        let mut error = error.with_attempts(self.requests.sent());
        if self.delivered > 0 {
            error = error.with_partial_response(self.aggregator.response().clone());
        }
        Action::Failed(error)
    }
}

impl Call for GenerateCall {
    type Item = GenerateContentResponse;

    fn poll(&mut self, now: Instant) -> Action<GenerateContentResponse> {
        if self.requests.is_cancelled() && !matches!(self.state, State::Finished) {
            return self.fail(Error::cancelled());
        }
        match &mut self.state {
            State::Ready => {
                self.started.get_or_insert(now);
                self.state = State::AwaitingHead;
                Action::Send(self.requests.send(now))
            }
            State::AwaitingHead => match self.requests.take_transport_error() {
                Some(error) => self.retry_or_fail(error, now),
                None => self.fail(Error::invalid_request(
                    "the call was polled before its response head or transport error was reported",
                )),
            },
            State::Streaming(decoder) => match decoder.next_chunk() {
                Some(Ok(chunk)) => {
                    self.deliver(&chunk, now);
                    Action::Item(chunk)
                }
                Some(Err(error)) => self.retry_or_fail(error, now),
                None if decoder.is_done() => {
                    self.state = State::Finished;
                    Action::Done
                }
                None => match self.requests.take_transport_error() {
                    Some(error) => self.retry_or_fail(error, now),
                    None => Action::Read,
                },
            },
            State::Collecting(body) => {
                if !body.is_ready() && !self.requests.has_transport_error() {
                    return Action::Read;
                }
                if !body.status().is_success() {
                    // A cut error body is classified from what arrived.
                    let error = body.failure();
                    return self.retry_or_fail(error, now);
                }
                if let Some(error) = self.requests.take_transport_error() {
                    return self.retry_or_fail(error, now);
                }
                match body.decode::<GenerateContentResponse>() {
                    Ok(answer) => {
                        self.state = State::Finished;
                        self.deliver(&answer, now);
                        Action::Item(answer)
                    }
                    Err(error) => self.retry_or_fail(error, now),
                }
            }
            State::Finished => Action::Done,
        }
    }

    fn handle_response(&mut self, status: StatusCode, headers: &HeaderMap) {
        if !matches!(self.state, State::AwaitingHead) {
            return;
        }
        self.requests.handle_response(status);
        self.state = match self.mode {
            Mode::Stream(format) if status.is_success() => State::Streaming(Box::new(
                ChunkDecoder::with_max_event_size(format, self.max_event_size),
            )),
            Mode::Unary if status.is_success() => {
                State::Collecting(Collected::new(status, headers, self.max_event_size))
            }
            _ => State::Collecting(Collected::new(status, headers, self.max_error_body)),
        };
    }

    fn handle_frame(&mut self, bytes: &[u8]) {
        match &mut self.state {
            State::Streaming(decoder) => decoder.push(bytes),
            State::Collecting(body) => body.push(bytes),
            _ => {}
        }
    }

    fn handle_end(&mut self) {
        match &mut self.state {
            State::Streaming(decoder) => decoder.finish(),
            State::Collecting(body) => body.end(),
            _ => {}
        }
    }

    fn handle_transport_error(&mut self, error: Error) {
        if matches!(
            self.state,
            State::AwaitingHead | State::Streaming(_) | State::Collecting(_)
        ) {
            self.requests.handle_transport_error(error);
        }
    }

    fn cancel(&mut self) {
        self.requests.cancel();
    }

    fn attempts(&self) -> u32 {
        self.requests.sent()
    }

    fn status(&self) -> Option<StatusCode> {
        self.requests.status()
    }
}
