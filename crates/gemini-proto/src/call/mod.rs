//! One API call, from the first request to the last byte, as a state machine: [`Call`].
//!
//! A call may span several HTTP requests (retries after a refusal or a broken connection, and the
//! pages of a listing), yet it is one thing to its caller: one answer, one stream of chunks, or one
//! error. Every decision on the way lives here: which request to send, whether a failure is worth
//! another attempt and how long to wait first, how much of an error body to read, whether anything
//! already reached the caller, how chunks are decoded and folded into the final response. The
//! caller only moves bytes and waits, in the style of `quinn-proto`:
//!
//! * outputs come from [`Call::poll`], which takes the current time: [`Action::Send`] this
//!   request, [`Action::Wait`] this long, [`Action::Read`] the next piece of the body, hand an
//!   [`Action::Item`] to the user, [`Action::Done`], or [`Action::Failed`];
//! * inputs are reported with `handle_*`: the response head ([`Call::handle_response`]), each body
//!   frame ([`Call::handle_frame`]), the end of the body ([`Call::handle_end`]) and a transport
//!   failure ([`Call::handle_transport_error`]).
//!
//! A driver is a loop around `poll`, the same for async and blocking front ends:
//!
//! ```
//! use std::time::Instant;
//! use gemini_proto::call::{Action, Call, GenerateCall};
//! use gemini_proto::types::GenerateContentRequest;
//! use gemini_proto::{Api, Auth, Endpoint};
//! use http::{HeaderMap, StatusCode};
//!
//! let api = Api::new(Endpoint::default(), Auth::api_key("key"));
//! let request = GenerateContentRequest::from_prompt("Hi");
//! let mut call = GenerateCall::stream(&api, "gemini-2.5-flash", &request)?;
//!
//! // A pretend transport: the server answers with two events.
//! let mut body = vec![
//!     &b"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hel\"}]}}]}\r\n\r\n"[..],
//!     &b"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"lo\"}]},\"finishReason\": \"STOP\"}]}\r\n\r\n"[..],
//! ]
//! .into_iter();
//! let mut text = String::new();
//! loop {
//!     match call.poll(Instant::now()) {
//!         Action::Send(request) => {
//!             assert!(request.uri().path().ends_with(":streamGenerateContent"));
//!             call.handle_response(StatusCode::OK, &HeaderMap::new());
//!         }
//!         Action::Read => match body.next() {
//!             Some(frame) => call.handle_frame(frame),
//!             None => call.handle_end(),
//!         },
//!         Action::Wait(delay) => std::thread::sleep(delay),
//!         Action::Item(chunk) => text.push_str(&chunk.text().unwrap_or_default()),
//!         // A resumed stream takes back what followed its last checkpoint.
//!         Action::Rollback(discarded) => text.truncate(text.len() - discarded.text.len()),
//!         Action::Done => break,
//!         Action::Failed(error) => panic!("{error}"),
//!     }
//! }
//! assert_eq!(text, "Hello");
//! assert_eq!(call.response().text().as_deref(), Some("Hello"));
//! # Ok::<(), gemini_proto::Error>(())
//! ```
//!
//! After [`Action::Send`], report the response head or the transport error before polling again.
//! Any action other than [`Action::Read`] and [`Action::Item`] means the body of the current
//! response is no longer needed: drop it, so its connection is released (an HTTP/1.1 connection
//! goes back to the pool only when its body was read to the end, which the call does whenever the
//! body is small).
//!
//! The machines:
//!
//! * [`GenerateCall`]: `generateContent` and `streamGenerateContent`. Retries follow the
//!   [`RetryPolicy`](crate::RetryPolicy), and only while nothing has reached the caller — that includes a stream that
//!   fails before its first chunk, with an error event (`data: {"error": …}`) or a cut
//!   connection, which most SDKs cannot retry. Chunks are folded into the aggregate
//!   ([`GenerateCall::response`]), which travels with a failure as its partial response.
//! * [`Exchange`]: any other request whose answer is one JSON document (`countTokens`,
//!   `embedContent`, `models.get`, a page of `models.list`), with the same retries.
//! * [`ModelPages`]: the pages of `models.list`, one [`Exchange`] each.
//! * [`InteractionStreamCall`] and [`InteractionCall`]: the Interactions API, streamed (created,
//!   or read back from an event id) and unary, with resumption of dropped streams and
//!   continuation.

mod attempts;
mod body;
mod exchange;
mod generate;
mod interaction;
mod pages;
mod phase;

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use crate::error::Error;

pub use exchange::{DEFAULT_MAX_ANSWER, Exchange};
pub use generate::{GenerateCall, MAX_RECONNECTS_WITHOUT_PROGRESS};
pub use interaction::{InteractionCall, InteractionStreamCall};
pub use pages::ModelPages;

/// The most bytes of an error response body a call reads: 1 MiB. Google's error bodies are a few
/// hundred bytes; a proxy's HTML page can be larger, and anything past this bound is not read.
pub const DEFAULT_MAX_ERROR_BODY: usize = 1024 * 1024;

/// `with_retry_policy`, `with_seed` and `with_max_error_body`, for a machine whose requests are a
/// `Retrying` in `self.requests` and which reads error bodies up to `self.max_error_body`.
macro_rules! request_settings {
    () => {
        /// Uses `policy` to decide about retries (default: [`RetryPolicy::default`](crate::RetryPolicy::default)).
        #[must_use]
        pub fn with_retry_policy(mut self, policy: crate::RetryPolicy) -> Self {
            self.requests.attempts_mut().set_policy(policy);
            self
        }

        /// Seeds the jitter of the retry backoff (any value; the default is fixed, so pass a
        /// random one to keep many clients from retrying in step).
        #[must_use]
        pub fn with_seed(mut self, seed: u64) -> Self {
            self.requests.attempts_mut().reseed(seed);
            self
        }

        /// The most bytes of an error response read (default
        /// [`DEFAULT_MAX_ERROR_BODY`](crate::call::DEFAULT_MAX_ERROR_BODY)).
        #[must_use]
        pub fn with_max_error_body(mut self, bytes: usize) -> Self {
            self.max_error_body = bytes;
            self
        }
    };
}
use request_settings;

/// What the driver of a [`Call`] should do next.
#[derive(Debug)]
#[must_use = "an action tells the driver what to do next"]
// A chunk is as large as a request head; boxing either would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Action<T> {
    /// Send this request, then report its response head ([`Call::handle_response`]) or the
    /// transport's failure ([`Call::handle_transport_error`]). A body still held from an earlier
    /// attempt is no longer needed.
    Send(http::Request<Bytes>),
    /// Wait this long (a retry backoff, or the delay the server asked for), then poll again. Drop
    /// any body still held first.
    Wait(Duration),
    /// Read the next piece of the current response body and report it ([`Call::handle_frame`],
    /// [`Call::handle_end`] or [`Call::handle_transport_error`]).
    Read,
    /// A result for the caller: a chunk of a stream, or the answer of a unary call.
    Item(T),
    /// A broken stream is resumed from its latest checkpoint, and the output handed out after
    /// that checkpoint is taken back: the server generates it again. The aggregate has already
    /// rolled back; tell the caller, so that a UI can erase what it showed. Only
    /// [`GenerateCall`] emits it.
    Rollback(Discarded),
    /// The call ended successfully; nothing more will come. Returned again if polled again.
    Done,
    /// The call failed with this error (which carries the attempts made and, for a stream, the
    /// response aggregated from what arrived). Polling again returns [`Action::Done`].
    Failed(Error),
}

/// What a resumed stream took back: the output handed out after the latest checkpoint.
///
/// ```
/// use gemini_proto::call::Discarded;
///
/// let discarded = Discarded::default();
/// assert_eq!((discarded.chunks, discarded.parts, discarded.text.as_str()), (0, 0, ""));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Discarded {
    /// The chunks taken back.
    pub chunks: u64,
    /// The parts those chunks held (text, thoughts, function calls, …).
    pub parts: usize,
    /// Their text, as their [`text`](crate::types::GenerateContentResponse::text) gave it: what
    /// a UI printing the text has to erase.
    pub text: String,
}

impl Discarded {
    /// Adds up two takings-back (for a reader that learns of them late).
    pub fn merge(&mut self, other: Discarded) {
        self.chunks += other.chunks;
        self.parts += other.parts;
        self.text.push_str(&other.text);
    }

    /// True when nothing was taken back.
    pub fn is_empty(&self) -> bool {
        self.chunks == 0
    }

    /// Counts a chunk (its text is read later, from the aggregate, if it is ever taken back).
    pub(crate) fn count(&mut self, chunk: &crate::types::GenerateContentResponse) {
        self.chunks += 1;
        self.parts += chunk.parts().len();
    }
}

/// The interface every call machine shares, so that one driver loop serves them all.
///
/// See the [module documentation](self) for the protocol.
pub trait Call {
    /// What the call hands to its caller: a chunk, or a whole answer.
    type Item;

    /// The next thing to do, given the current time.
    fn poll(&mut self, now: Instant) -> Action<Self::Item>;

    /// The response head of the request last sent arrived.
    fn handle_response(&mut self, status: StatusCode, headers: &HeaderMap);

    /// A piece of the response body arrived.
    fn handle_frame(&mut self, bytes: &[u8]);

    /// The response body ended.
    fn handle_end(&mut self);

    /// The transport failed: before the response head (the request may or may not have reached
    /// the server; [`ErrorKind::Connect`](crate::ErrorKind::Connect) says it did not) or while
    /// the body was read. Build the error with [`Error::transport`].
    fn handle_transport_error(&mut self, error: Error);

    /// Stops the call: the next poll fails with [`ErrorKind::Cancelled`](crate::ErrorKind)
    /// (carrying what arrived), unless the call already ended.
    fn cancel(&mut self);

    /// The number of requests sent so far.
    fn attempts(&self) -> u32;

    /// The status of the last response head, if one arrived.
    fn status(&self) -> Option<StatusCode>;

    /// When the call must end at the latest: a driver waiting for I/O should wake up then and
    /// poll, so that the call can fail on time. `None`: no bound of the call's own.
    fn deadline(&self) -> Option<Instant> {
        None
    }
}
