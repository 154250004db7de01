//! `generateContent` and `streamGenerateContent`: [`GenerateCall`], with retries, continuation
//! over several requests ("hops") and resumption from checkpoints.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use http::{HeaderMap, StatusCode};

use super::attempts::Retrying;
use super::body::{Collected, response_outcome, transport_outcome};
use super::{Action, Call, DEFAULT_MAX_ERROR_BODY, Discarded};
use crate::aggregate::{Aggregator, Mark};
use crate::chunk::ChunkDecoder;
use crate::error::{Error, ErrorKind};
use crate::request::{Api, StreamFormat};
use crate::retry::{Outcome, RetryPolicy};
use crate::sse::DEFAULT_MAX_EVENT_SIZE;
use crate::types::{
    ContinuationToken, FinishReason, GenerateContentRequest, GenerateContentResponse, UsageMetadata,
};

/// Consecutive reconnects without a new checkpoint after which a broken stream gives up (the
/// official SDKs use the same number).
pub const MAX_RECONNECTS_WITHOUT_PROGRESS: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Stream(StreamFormat),
    Unary,
}

type State = super::phase::Phase<ChunkDecoder>;

/// What one hop (one request of the answer, with its retries and reconnects) has seen.
#[derive(Debug, Default)]
struct Hop {
    /// Some chunk of this hop arrived: the server accepted the request.
    received: bool,
    finish: Option<FinishReason>,
    blocked: bool,
    /// A new checkpoint arrived in this hop: progress.
    progressed: bool,
    /// The hop's latest usage (a running total of this request), kept apart only in a continued
    /// answer; a first request's is the aggregate's, or its held chunks'.
    usage: Option<UsageMetadata>,
    /// Its usage was added to the call's.
    counted: bool,
}

/// Where the answer stands with respect to continuation: the latest confirmed point, and what
/// arrived after it.
#[derive(Debug, Default)]
struct Progress {
    /// The latest token: the point the next hop or reconnect starts from.
    checkpoint: Option<ContinuationToken>,
    /// The aggregate at that point.
    mark: Mark,
    /// What the caller was handed after that point (to roll back if the stream breaks): chunks
    /// and parts counted; the text is read off the aggregate when it is taken back.
    unconfirmed: Discarded,
    /// The length of the answer's text at that point.
    confirmed_text: usize,
    /// The length of the answer's text handed out so far.
    text_len: usize,
    /// Chunks held back until they are confirmed (`confirmed_only`).
    held: Vec<GenerateContentResponse>,
    /// Usage of the hops before the current one, summed.
    usage_before: Option<UsageMetadata>,
    /// Requests started with a new token, the first included.
    hops: u32,
    reconnects: u32,
    reconnects_without_progress: u32,
}

/// What a chunk confirms (see `GenerateCall::observe`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Confirms {
    Nothing,
    /// It carries a new checkpoint: everything so far is confirmed, and a broken stream resumes
    /// from here.
    Checkpoint,
    /// It ends the answer (a terminal finish reason, or a blocked prompt).
    End,
}

/// What the machine hands out next.
#[derive(Debug)]
// Chunks are the common case; boxing them would add an allocation per chunk.
#[allow(clippy::large_enum_variant)]
enum Out {
    Item(GenerateContentResponse),
    Rollback(Discarded),
}

/// One `generateContent` or `streamGenerateContent` call: every request, every chunk, the
/// aggregate. See the [module documentation](super) for how to drive it.
///
/// What it decides:
///
/// * **Retries**, by its [`RetryPolicy`] (the default: 5 attempts, backoff from 1 s, the server's
///   `RetryInfo.retryDelay` or `Retry-After` honoured): after a retryable HTTP status, a
///   connection failure before the response, and — as long as nothing reached the caller that
///   could not be taken back — a stream that broke before its first chunk: an error event
///   (`data: {"error": …}` or raw JSON), a cut connection, a body that ended before any chunk.
/// * **Continuation** (on by default): a candidate that ends with finish reason `CONTINUATION`
///   and a continuation token is continued by sending the same request again with the token; the
///   caller sees one answer (the intermediate finish reason and the tokens are not shown), with
///   usage summed over the requests.
/// * **Resumption**: a stream that breaks after the server accepted it (a reset, an idle timeout,
///   an end without a finish reason, an error event after the first chunk) reconnects from the
///   latest checkpoint (a chunk carrying a token). Output that arrived after the checkpoint is
///   taken back — the aggregate rolls back and [`Action::Rollback`] says how much — because the
///   server generates it again. After [`MAX_RECONNECTS_WITHOUT_PROGRESS`] reconnects in a row
///   without a new checkpoint, or when there is no checkpoint to start from, the call gives up
///   with an error carrying the partial answer (up to the checkpoint) and the token to resume
///   from by hand.
/// * **What an error response costs**: at most [`DEFAULT_MAX_ERROR_BODY`] bytes of it are read.
/// * **Decoding**: chunks come out in order, then at most one error (see [`ChunkDecoder`]).
/// * **Aggregation**: every chunk handed out is folded into [`response`](Self::response).
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
    delivered: Delivered,
    max_event_size: usize,
    max_error_body: usize,
    started: Option<Instant>,
    automatic: bool,
    confirmed_only: bool,
    deadline: Option<Duration>,
    hop: Hop,
    progress: Progress,
    out: VecDeque<Out>,
    /// The answers of a unary call's hops, before they are handed out as one.
    unary_hops: u32,
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
        Self::new(api, model, request, Mode::Stream(format))
    }

    /// A unary call (`generateContent`): one answer, handed out as one item (the hops of a
    /// continued answer merged).
    pub fn unary(api: &Api, model: &str, request: &GenerateContentRequest) -> Result<Self, Error> {
        Self::new(api, model, request, Mode::Unary)
    }

    fn new(
        api: &Api,
        model: &str,
        request: &GenerateContentRequest,
        mode: Mode,
    ) -> Result<Self, Error> {
        let http = build(api, model, request, mode)?;
        // A token given by the caller is where the answer starts.
        let start = request.continuation_token.clone();
        Ok(Self {
            requests: Retrying::new(http, RetryPolicy::default()),
            mode,
            state: State::Ready,
            aggregator: Aggregator::new(),
            delivered: Delivered::default(),
            max_event_size: DEFAULT_MAX_EVENT_SIZE,
            max_error_body: DEFAULT_MAX_ERROR_BODY,
            started: None,
            automatic: true,
            confirmed_only: false,
            deadline: None,
            hop: Hop::default(),
            progress: Progress {
                checkpoint: start,
                hops: 1,
                ..Progress::default()
            },
            out: VecDeque::new(),
            unary_hops: 0,
        })
    }

    super::request_settings!();

    /// The largest stream event, or unary answer, accepted (default 64 MiB, enough for images).
    #[must_use]
    pub fn with_max_event_size(mut self, bytes: usize) -> Self {
        self.max_event_size = bytes;
        self
    }

    /// Follows continuation tokens and resumes broken streams from checkpoints (default `true`).
    /// Off, a candidate's `CONTINUATION` finish reason and token reach the caller as they came,
    /// and a broken stream is an error carrying the latest token.
    #[must_use]
    pub fn with_automatic_continuation(mut self, enabled: bool) -> Self {
        self.automatic = enabled;
        self
    }

    /// Hands out only confirmed output: chunks are held back until a checkpoint (or the end)
    /// confirms them, so nothing is ever taken back, at the cost of latency (default `false`).
    #[must_use]
    pub fn with_confirmed_only(mut self, enabled: bool) -> Self {
        self.confirmed_only = enabled;
        self
    }

    /// Folds each chunk's content into [`response`](Self::response) (default `true`). Off, a
    /// stream holds the same memory however long it runs: the aggregate, and the partial
    /// response of a failure, keep what each chunk replaces (finish reasons, usage, safety
    /// ratings, model version) but no parts (see [`Aggregator::metadata_only`]). Ignored by a
    /// unary call, whose answer is the aggregate.
    #[must_use]
    pub fn with_aggregation(mut self, enabled: bool) -> Self {
        if self.is_stream() {
            self.aggregator = if enabled {
                Aggregator::new()
            } else {
                Aggregator::metadata_only()
            };
        }
        self
    }

    /// A bound on the whole call, every hop, retry and reconnect included, counted from the
    /// first request (default none; the transport's timeouts bound each request). Past it the
    /// call fails with [`ErrorKind::Timeout`], at the next poll or at
    /// [`Call::deadline`], which a driver should wake up for.
    #[must_use]
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
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
            State::Finished => self.delivered.chunks > 0,
            State::Ready | State::AwaitingHead => false,
        }
    }

    /// The response aggregated from every chunk handed out so far (for a unary call, the answer).
    /// After a rollback, only what was confirmed.
    pub fn response(&self) -> &GenerateContentResponse {
        self.aggregator.response()
    }

    /// Takes the aggregate.
    pub fn into_response(self) -> GenerateContentResponse {
        self.aggregator.into_response()
    }

    /// The number of chunks handed out.
    pub fn chunks_delivered(&self) -> u64 {
        self.delivered.chunks
    }

    /// The usage so far: every finished request's total plus the current one's running total.
    pub fn usage(&self) -> Option<&UsageMetadata> {
        self.aggregator.response().usage()
    }

    /// The time from the first attempt to the first chunk handed out.
    pub fn time_to_first_chunk(&self) -> Option<Duration> {
        self.delivered.first_after
    }

    /// Requests started with a new continuation token, the first included.
    pub fn hops(&self) -> u32 {
        self.progress.hops
    }

    /// Times the stream reconnected after it broke.
    pub fn reconnects(&self) -> u32 {
        self.progress.reconnects
    }

    /// The latest continuation token (the point a resumption starts from).
    pub fn continuation_token(&self) -> Option<&ContinuationToken> {
        self.progress.checkpoint.as_ref()
    }

    /// Looks at a decoded chunk, in place (see [`observe`]).
    fn observe(&mut self, chunk: &mut GenerateContentResponse) -> Confirms {
        observe(&mut self.hop, &mut self.progress, self.automatic, chunk)
    }

    /// Acts on what a chunk confirmed, once the chunk was handed out, held back or folded in.
    fn settle(&mut self, confirms: Confirms, now: Instant) {
        match confirms {
            Confirms::Nothing => {}
            Confirms::Checkpoint => self.confirm(now, true),
            Confirms::End => {
                // A finished answer has nothing left to take back, and nothing to resume: a
                // failure after this is final (resuming from an earlier token would repeat
                // the end).
                self.confirm(now, false);
                self.progress.checkpoint = None;
            }
        }
    }

    /// Everything so far is confirmed: release what was held, and (at a checkpoint, which a
    /// broken stream may resume from) remember this point.
    fn confirm(&mut self, now: Instant, checkpoint: bool) {
        for chunk in std::mem::take(&mut self.progress.held) {
            self.deliver(&chunk, now);
            self.out.push_back(Out::Item(chunk));
        }
        if checkpoint && self.mode != Mode::Unary {
            self.progress.mark = self.aggregator.mark();
        }
        self.progress.unconfirmed = Discarded::default();
        self.progress.confirmed_text = self.progress.text_len;
    }

    /// Counts a chunk that goes to the caller and folds it in; the caller of this function hands
    /// it out. (By reference: a chunk is a few hundred bytes, and each move copies them.)
    fn deliver(&mut self, chunk: &GenerateContentResponse, now: Instant) {
        deliver(
            &mut self.delivered,
            self.started,
            &mut self.progress,
            &mut self.aggregator,
            chunk,
            now,
        );
    }

    /// A stream's common case, done where the decoder holds the chunk: when a decoded chunk
    /// is ready to go to the caller, looks at it, counts it, folds it in and settles what it
    /// confirms, and says so; `poll` then moves it out of the decoder's queue straight into
    /// the action it returns (every move of a chunk copies a few hundred bytes).
    fn hand_out_ready(&mut self, now: Instant) -> bool {
        if self.confirmed_only || self.requests.is_cancelled() || self.deadline_passed(now) {
            return false;
        }
        let Self {
            state: State::Streaming(decoder),
            hop,
            progress,
            automatic,
            delivered,
            started,
            aggregator,
            ..
        } = self
        else {
            return false;
        };
        let Some(chunk) = decoder.ready_chunk_mut() else {
            return false;
        };
        let confirms = observe(hop, progress, *automatic, chunk);
        deliver(delivered, *started, progress, aggregator, chunk, now);
        self.settle(confirms, now);
        true
    }

    /// The body of the current hop ended cleanly.
    fn end_of_hop(&mut self, now: Instant) {
        let finish = self.hop.finish.clone();
        if finish == Some(FinishReason::Continuation)
            && self.automatic
            && !self.hop.blocked
            && self.hop.progressed
        {
            self.next_hop(false);
            return;
        }
        // The answer is complete (or continuation is the caller's to do).
        self.confirm(now, false);
        self.state = State::Finished;
        if self.mode == Mode::Unary {
            let answer = self.aggregator.response().clone();
            self.delivered.count(self.started, now);
            self.out.push_back(Out::Item(answer));
        }
    }

    /// Starts the next request from the latest token: a new hop (`reconnect` false) or a
    /// reconnect after a broken stream.
    fn next_hop(&mut self, reconnect: bool) {
        self.count_hop_usage();
        if reconnect {
            self.progress.reconnects += 1;
        } else {
            self.progress.hops += 1;
            self.unary_hops += 1;
        }
        self.hop = Hop::default();
        // The same request with the token in its body: the URL and headers stay. The body was
        // written by this crate, and a token cannot make it fail to read back or to write; if
        // it ever did, the previous request is sent again rather than none.
        let token = self.progress.checkpoint.clone();
        if let Some(body) = with_token(self.requests.body(), token) {
            self.requests.next_body(body);
        }
        self.state = State::Ready;
    }

    /// Adds the usage of the request that just ended to the call's: every request whose stream
    /// began counts, as the service counts it.
    fn count_hop_usage(&mut self) {
        if std::mem::replace(&mut self.hop.counted, true) {
            return;
        }
        let usage = self.hop.usage.take().or_else(|| {
            // A first request's latest usage is in the last chunk held back, or the aggregate's.
            if self.progress.usage_before.is_some() {
                return None;
            }
            self.progress
                .held
                .iter()
                .rev()
                .find_map(|chunk| chunk.usage_metadata.clone())
                .or_else(|| self.aggregator.response().usage_metadata.clone())
        });
        if let Some(usage) = usage {
            self.progress.usage_before = Some(match &self.progress.usage_before {
                Some(before) => before.plus(&usage),
                None => usage,
            });
        }
    }

    /// Decides what a failure means: retry, reconnect, or give up.
    fn on_failure(
        &mut self,
        error: Error,
        now: Instant,
    ) -> Option<Action<GenerateContentResponse>> {
        let accepted = matches!(self.state, State::Streaming(_))
            || matches!(&self.state, State::Collecting(b) if b.status().is_success());
        // A stream the server accepted and began: reconnect from the latest checkpoint.
        if accepted && self.hop.received && self.automatic && self.progress.checkpoint.is_some() {
            if self.hop.progressed {
                self.progress.reconnects_without_progress = 0;
            } else {
                self.progress.reconnects_without_progress += 1;
            }
            if self.progress.reconnects_without_progress > MAX_RECONNECTS_WITHOUT_PROGRESS {
                return Some(self.fail(error));
            }
            let wait = self.progress.reconnects_without_progress;
            // The request's usage counts as it was when it broke, before anything is taken back.
            self.count_hop_usage();
            self.roll_back();
            self.next_hop(true);
            if wait == 0 {
                return None;
            }
            let delay = self.requests.attempts_mut().backoff(wait);
            return Some(Action::Wait(delay));
        }
        // Otherwise the retry policy decides, as long as nothing reached the caller that a
        // resumption could not take back.
        let outcome = self.outcome(&error);
        let recoverable = self.progress.unconfirmed.chunks == 0
            && (self.delivered.chunks == 0 || self.progress.checkpoint.is_some() && self.automatic);
        match self.requests.retry_delay(&outcome, now, !recoverable) {
            Some(delay) => {
                // What was held back was never shown; the next attempt sends it again.
                self.count_hop_usage();
                self.progress.held.clear();
                self.hop = Hop::default();
                self.state = State::Ready;
                Some(Action::Wait(delay))
            }
            None => Some(self.fail(error)),
        }
    }

    /// Takes back what arrived after the latest checkpoint.
    fn roll_back(&mut self) {
        self.progress.held.clear();
        let mut discarded = std::mem::take(&mut self.progress.unconfirmed);
        if discarded.chunks > 0 {
            // The aggregate's text is the chunks' texts joined: what followed the checkpoint
            // is its tail.
            let text = self.aggregator.response().text().unwrap_or_default();
            discarded.text = text
                .get(self.progress.confirmed_text..)
                .unwrap_or_default()
                .to_owned();
            self.progress.text_len = self.progress.confirmed_text;
            self.aggregator.roll_back(&self.progress.mark);
            self.out.push_back(Out::Rollback(discarded));
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
        self.out.clear();
        let token = self.progress.checkpoint.clone();
        // With a token to resume from, the partial answer ends exactly there.
        if token.is_some() {
            self.progress.held.clear();
            if self.progress.unconfirmed.chunks > 0 {
                self.aggregator.roll_back(&self.progress.mark);
            }
        }
        let mut error = error.with_attempts(self.requests.sent()).with_continuation(
            token,
            self.progress.hops,
            self.progress.reconnects,
        );
        if self.aggregator.chunks() > 0 {
            error = error.with_partial_response(self.aggregator.response().clone());
        }
        Action::Failed(error)
    }

    fn deadline_passed(&self, now: Instant) -> bool {
        Call::deadline(self).is_some_and(|deadline| now >= deadline)
    }
}

impl GenerateCall {
    /// One step of the machine: an action for the driver, or `None` when it queued output (or
    /// moved on) and should be polled again.
    fn step(&mut self, now: Instant) -> Option<Action<GenerateContentResponse>> {
        if matches!(self.state, State::Finished) {
            return Some(Action::Done);
        }
        if self.requests.is_cancelled() {
            return Some(self.fail(Error::cancelled()));
        }
        if self.deadline_passed(now) {
            let deadline = self.deadline.unwrap_or_default();
            return Some(self.fail(Error::transport(
                ErrorKind::Timeout,
                DeadlineExceeded(deadline),
            )));
        }
        match &mut self.state {
            State::Ready => {
                self.started.get_or_insert(now);
                self.state = State::AwaitingHead;
                Some(Action::Send(self.requests.send(now)))
            }
            State::AwaitingHead => match self.requests.take_transport_error() {
                Some(error) => self.on_failure(error, now),
                None => Some(self.fail(Error::invalid_request(
                    "the call was polled before its response head or transport error was reported",
                ))),
            },
            State::Streaming(decoder) => match decoder.next_chunk() {
                Some(Ok(mut chunk)) => {
                    let confirms = self.observe(&mut chunk);
                    if self.confirmed_only {
                        self.progress.held.push(chunk);
                        self.settle(confirms, now);
                        return None;
                    }
                    // Handed out at once, not through the output queue (each move copies a
                    // few hundred bytes): nothing is queued (`poll` emptied the queue, and only
                    // chunks held back are queued when confirmed).
                    self.deliver(&chunk, now);
                    self.settle(confirms, now);
                    Some(Action::Item(chunk))
                }
                Some(Err(error)) => self.on_failure(error, now),
                None if decoder.is_done() => {
                    self.end_of_hop(now);
                    None
                }
                None => match self.requests.take_transport_error() {
                    Some(error) => self.on_failure(error, now),
                    None => Some(Action::Read),
                },
            },
            State::Collecting(body) => {
                if !body.is_ready() && !self.requests.has_transport_error() {
                    return Some(Action::Read);
                }
                if !body.status().is_success() {
                    // A cut error body is classified from what arrived.
                    let error = body.failure();
                    return self.on_failure(error, now);
                }
                if let Some(error) = self.requests.take_transport_error() {
                    return self.on_failure(error, now);
                }
                match body.decode::<GenerateContentResponse>() {
                    Ok(mut answer) => {
                        if self.unary_hops == 0 && !self.first_is_continued(&answer) {
                            // One request, one answer: hand it out as it came.
                            self.state = State::Finished;
                            self.deliver(&answer, now);
                            return Some(Action::Item(answer));
                        }
                        // A hop of a continued answer is folded in; the whole answer is
                        // handed out at the end.
                        let confirms = self.observe(&mut answer);
                        self.aggregator.push(&answer);
                        self.settle(confirms, now);
                        self.end_of_hop(now);
                        None
                    }
                    Err(error) => self.on_failure(error, now),
                }
            }
            State::Finished => Some(Action::Done),
        }
    }
}

/// Looks at a decoded chunk, in place: usage, checkpoints, finish reasons. The tokens and
/// the intermediate finish reason are the machine's business and are taken out. Says what
/// the chunk confirms, for `settle` once the chunk is placed. A function of the parts it
/// touches, so that a chunk can be looked at where the decoder holds it.
fn observe(
    hop: &mut Hop,
    progress: &mut Progress,
    automatic: bool,
    chunk: &mut GenerateContentResponse,
) -> Confirms {
    hop.received = true;
    if chunk.block_reason().is_some() {
        hop.blocked = true;
    }
    if let Some(usage) = &mut chunk.usage_metadata
        && let Some(before) = &progress.usage_before
    {
        // Only a continued answer keeps each request's own usage apart; a one-request
        // answer's is the aggregate's.
        let total = before.plus(usage);
        hop.usage = Some(std::mem::replace(usage, total));
    }
    let mut checkpoint = None;
    if let Some(candidate) = chunk.candidates.first_mut() {
        if candidate.finish_reason.is_some() {
            hop.finish = candidate.finish_reason.clone();
        }
        if automatic {
            checkpoint = candidate.continuation_token.take();
            if candidate.finish_reason == Some(FinishReason::Continuation) {
                candidate.finish_reason = None;
            }
        } else {
            checkpoint = candidate.continuation_token.clone();
        }
    }
    if let Some(token) = checkpoint {
        if progress.checkpoint.as_ref() != Some(&token) {
            hop.progressed = true;
        }
        progress.checkpoint = Some(token);
        return Confirms::Checkpoint;
    }
    let terminal = hop
        .finish
        .as_ref()
        .is_some_and(|f| *f != FinishReason::Continuation);
    if terminal || hop.blocked {
        Confirms::End
    } else {
        Confirms::Nothing
    }
}

/// Counts a chunk that goes to the caller and folds it in (see `GenerateCall::deliver`).
fn deliver(
    delivered: &mut Delivered,
    started: Option<Instant>,
    progress: &mut Progress,
    aggregator: &mut Aggregator,
    chunk: &GenerateContentResponse,
    now: Instant,
) {
    delivered.count(started, now);
    progress.unconfirmed.count(chunk);
    progress.text_len += text_len(chunk);
    aggregator.push(chunk);
}

/// What went to the caller: how many chunks, and how long after the call started the first did.
#[derive(Debug, Default)]
struct Delivered {
    chunks: u64,
    first_after: Option<Duration>,
}

impl Delivered {
    /// One more chunk goes to the caller at `now`.
    fn count(&mut self, started: Option<Instant>, now: Instant) {
        if self.chunks == 0 {
            self.first_after = started.map(|t| now.saturating_duration_since(t));
        }
        self.chunks += 1;
    }
}

/// The length of what a chunk's `text()` would be, without building it.
fn text_len(chunk: &GenerateContentResponse) -> usize {
    chunk
        .parts()
        .iter()
        .filter(|part| !part.is_thought())
        .filter_map(|part| part.as_text())
        .map(str::len)
        .sum()
}

/// A `generateContent` body with another continuation token. The call keeps its request once,
/// as the bytes it sends (a copy of the request for the rare continued answer would cost every
/// call an allocation per content and part); a hop reads them back. The model types write back
/// every member they read, unknown ones included.
fn with_token(body: &[u8], token: Option<ContinuationToken>) -> Option<bytes::Bytes> {
    let mut request: GenerateContentRequest = serde_json::from_slice(body).ok()?;
    request.continuation_token = token;
    serde_json::to_vec(&request).ok().map(Into::into)
}

fn build(
    api: &Api,
    model: &str,
    request: &GenerateContentRequest,
    mode: Mode,
) -> Result<http::Request<bytes::Bytes>, Error> {
    match mode {
        Mode::Stream(format) => api.stream_generate_content_as(model, request, format),
        Mode::Unary => api.generate_content(model, request),
    }
}

impl Call for GenerateCall {
    type Item = GenerateContentResponse;

    fn poll(&mut self, now: Instant) -> Action<GenerateContentResponse> {
        loop {
            if let Some(out) = self.out.pop_front() {
                return match out {
                    Out::Item(chunk) => Action::Item(chunk),
                    Out::Rollback(discarded) => Action::Rollback(discarded),
                };
            }
            if self.hand_out_ready(now)
                && let State::Streaming(decoder) = &mut self.state
                && let Some(chunk) = decoder.take_ready_chunk()
            {
                return Action::Item(chunk);
            }
            if let Some(action) = self.step(now) {
                return action;
            }
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
        self.state.frame(bytes);
    }

    fn handle_end(&mut self) {
        self.state.end();
    }

    fn handle_transport_error(&mut self, error: Error) {
        if self.state.in_request() {
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

    /// When the whole-call deadline ([`with_deadline`](GenerateCall::with_deadline)) passes,
    /// once the call started.
    fn deadline(&self) -> Option<Instant> {
        Some(self.started? + self.deadline?)
    }
}

impl GenerateCall {
    /// True when a unary answer is the first hop of a continued answer.
    fn first_is_continued(&self, answer: &GenerateContentResponse) -> bool {
        self.automatic
            && answer.candidates.first().is_some_and(|c| {
                c.finish_reason == Some(FinishReason::Continuation)
                    && c.continuation_token.is_some()
            })
    }
}

/// The whole-call deadline passed.
#[derive(Debug)]
struct DeadlineExceeded(Duration);

impl std::fmt::Display for DeadlineExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the call's deadline of {:?} passed", self.0)
    }
}

impl std::error::Error for DeadlineExceeded {}
