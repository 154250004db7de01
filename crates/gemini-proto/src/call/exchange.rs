//! A request whose answer is one JSON document: [`Exchange`].

use std::fmt;
use std::marker::PhantomData;
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use super::attempts::Retrying;
use super::body::{Collected, response_outcome, transport_outcome};
use super::{Action, Call, DEFAULT_MAX_ERROR_BODY};
use crate::error::{Error, ErrorKind};
use crate::retry::{Outcome, RetryPolicy};

/// The most bytes of a successful unary answer an [`Exchange`] reads: 64 MiB.
pub const DEFAULT_MAX_ANSWER: usize = 64 * 1024 * 1024;

enum State {
    Ready,
    AwaitingHead,
    Collecting(Collected),
    Finished,
}

/// One request with a JSON answer (`countTokens`, `embedContent`, `batchEmbedContents`,
/// `models.get`, a page of `models.list`), with the retries of its [`RetryPolicy`]. The answer is
/// decoded as `T` and handed out as one [`Action::Item`].
///
/// ```
/// use std::time::Instant;
/// use gemini_proto::call::{Action, Call, Exchange};
/// use gemini_proto::types::{Content, CountTokensRequest, CountTokensResponse};
/// use gemini_proto::{Api, Auth, Endpoint};
/// use http::{HeaderMap, StatusCode};
///
/// let api = Api::new(Endpoint::default(), Auth::api_key("key"));
/// let request = api.count_tokens("gemini-2.5-flash", &CountTokensRequest::new([Content::user("Hi")]))?;
/// let mut call = Exchange::<CountTokensResponse>::new(request);
/// let now = Instant::now();
/// let Action::Send(_) = call.poll(now) else { panic!() };
/// call.handle_response(StatusCode::OK, &HeaderMap::new());
/// assert!(matches!(call.poll(now), Action::Read));
/// call.handle_frame(br#"{"totalTokens": 2}"#);
/// call.handle_end();
/// let Action::Item(answer) = call.poll(now) else { panic!() };
/// assert_eq!(answer.total_tokens, Some(2));
/// # Ok::<(), gemini_proto::Error>(())
/// ```
pub struct Exchange<T> {
    requests: Retrying,
    state: State,
    max_answer: usize,
    max_error_body: usize,
    answer: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for Exchange<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exchange")
            .field("attempts", &self.requests.sent())
            .field("status", &self.requests.status())
            .finish_non_exhaustive()
    }
}

impl<T: DeserializeOwned> Exchange<T> {
    /// An exchange that sends `request` (built with [`Api`](crate::Api)).
    pub fn new(request: http::Request<Bytes>) -> Self {
        Self {
            requests: Retrying::new(request, RetryPolicy::default()),
            state: State::Ready,
            max_answer: DEFAULT_MAX_ANSWER,
            max_error_body: DEFAULT_MAX_ERROR_BODY,
            answer: PhantomData,
        }
    }

    super::request_settings!();

    /// The most bytes of a successful answer read (default [`DEFAULT_MAX_ANSWER`]).
    #[must_use]
    pub fn with_max_answer(mut self, bytes: usize) -> Self {
        self.max_answer = bytes;
        self
    }

    fn retry_or_fail(&mut self, error: Error, now: Instant) -> Action<T> {
        let outcome = match &self.state {
            State::AwaitingHead => transport_outcome(&error, false),
            State::Collecting(body) if !body.status().is_success() => {
                response_outcome(body.status(), &error)
            }
            // An error object inside a 200 answer is judged by its code; an answer cut short by
            // the connection is worth another attempt; one that does not decode is not.
            State::Collecting(_) if error.is_api() => Outcome::from_error(&error),
            State::Collecting(_)
                if matches!(error.kind(), ErrorKind::Timeout | ErrorKind::Connection) =>
            {
                Outcome::TransportBeforeResponse
            }
            _ => Outcome::Fatal,
        };
        match self.requests.retry_delay(&outcome, now, false) {
            Some(delay) => {
                self.state = State::Ready;
                Action::Wait(delay)
            }
            None => {
                self.state = State::Finished;
                Action::Failed(error.with_attempts(self.requests.sent()))
            }
        }
    }
}

impl<T: DeserializeOwned> Call for Exchange<T> {
    type Item = T;

    fn poll(&mut self, now: Instant) -> Action<T> {
        if self.requests.is_cancelled() && !matches!(self.state, State::Finished) {
            self.state = State::Finished;
            return Action::Failed(Error::cancelled().with_attempts(self.requests.sent()));
        }
        match &mut self.state {
            State::Ready => {
                self.state = State::AwaitingHead;
                Action::Send(self.requests.send(now))
            }
            State::AwaitingHead => match self.requests.take_transport_error() {
                Some(error) => self.retry_or_fail(error, now),
                None => {
                    self.state = State::Finished;
                    Action::Failed(Error::invalid_request(
                        "the call was polled before its response head or transport error was reported",
                    ))
                }
            },
            State::Collecting(body) => {
                if !body.is_ready() && !self.requests.has_transport_error() {
                    return Action::Read;
                }
                if !body.status().is_success() {
                    let error = body.failure();
                    return self.retry_or_fail(error, now);
                }
                if let Some(error) = self.requests.take_transport_error() {
                    return self.retry_or_fail(error, now);
                }
                match body.decode::<T>() {
                    Ok(answer) => {
                        self.state = State::Finished;
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
        let limit = if status.is_success() {
            self.max_answer
        } else {
            self.max_error_body
        };
        self.state = State::Collecting(Collected::new(status, headers, limit));
    }

    fn handle_frame(&mut self, bytes: &[u8]) {
        if let State::Collecting(body) = &mut self.state {
            body.push(bytes);
        }
    }

    fn handle_end(&mut self) {
        if let State::Collecting(body) = &mut self.state {
            body.end();
        }
    }

    fn handle_transport_error(&mut self, error: Error) {
        if matches!(self.state, State::AwaitingHead | State::Collecting(_)) {
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
