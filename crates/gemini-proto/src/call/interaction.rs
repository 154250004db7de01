//! The Interactions API's calls: [`InteractionStreamCall`] (a streamed interaction, created or
//! read back) and [`InteractionCall`] (a unary `create`).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use http::{HeaderMap, StatusCode};

use super::attempts::Retrying;
use super::body::{Collected, response_outcome, transport_outcome};
use super::{Action, Call, DEFAULT_MAX_ERROR_BODY, Exchange, MAX_RECONNECTS_WITHOUT_PROGRESS};
use crate::error::{ApiError, Error, ErrorKind, RpcStatus};
use crate::interactions::{
    Assembler, CreateInteractionRequest, EventDecoder, Interaction, InteractionError,
    InteractionEvent, InteractionStatus, Usage,
};
use crate::request::Api;
use crate::retry::{Outcome, RetryPolicy};
use crate::sse::DEFAULT_MAX_EVENT_SIZE;

type State = super::phase::Phase<EventDecoder>;

/// The API error an `error` event stands for. Its `code` is a name (`resource_exhausted`), a URI
/// ending in one, or an HTTP status; it is judged like a `google.rpc.Status` of that name.
pub(crate) fn event_error(error: Option<&InteractionError>) -> ApiError {
    let code = error
        .and_then(|e| e.code.as_deref())
        .unwrap_or("unknown")
        .trim();
    let name = code.rsplit(['/', '#', '.']).next().unwrap_or(code);
    let status = match name.parse::<i32>() {
        Ok(http) => RpcStatus::from_http_code(http),
        Err(_) => RpcStatus::from(name.to_ascii_uppercase().as_str()),
    };
    let http = name
        .parse::<i32>()
        .ok()
        .or_else(|| status.http_code())
        .unwrap_or(500);
    let message = error
        .and_then(|e| e.message.clone())
        .unwrap_or_else(|| format!("the stream reported an error ({code})"));
    ApiError::new(http, status, message)
}

/// How a streamed interaction goes on after its stream broke.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Resume {
    /// `GET interactions/{id}?stream=true&last_event_id=…`: the events after the last one.
    AfterEvent(String),
    /// `GET interactions/{id}?stream=true` from the first event, skipping the ones already seen
    /// (a stream whose events carry no id).
    Replay,
}

/// A streamed interaction: `POST interactions` with `stream: true`
/// ([`create`](Self::create)), or `GET interactions/{id}?stream=true` of a stored one
/// ([`get`](Self::get), from an event id or the first event). It hands out
/// [`InteractionEvent`]s and folds them into [`interaction`](Self::interaction), the same value a
/// unary call returns.
///
/// What it decides:
///
/// * **Retries**, by its [`RetryPolicy`], as long as no event reached the caller: a refused
///   request, a connection that failed, a stream that broke or reported an `error` event before
///   its first event.
/// * **Resumption**: a stream that breaks after events reached the caller (a reset, an idle
///   timeout, a body cut inside an event, a malformed event, an end before
///   `interaction.completed`; not an event over the size limit, which would come again) is read again
///   from the event after the last one handed out, `GET interactions/{id}?stream=true&
///   last_event_id=…`, so no event is repeated and none is lost. A stream whose events carry no
///   `event_id` is read again from the start, skipping as many events as were seen. Only a
///   stored interaction can be read again (`store` not `false`); otherwise, a checkpoint (a
///   `continuation_token` with no output after it) continues it with a new request. After
///   [`MAX_RECONNECTS_WITHOUT_PROGRESS`] reconnects in a row that bring no new event, the call
///   fails with what arrived.
/// * **Continuation**: an interaction that stops at the per-request output cap
///   (`interaction.completed` with status `requires_continuation` and a `continuation_token`) is
///   continued with the token — for a stored interaction as a request naming it as
///   `previous_interaction_id`, otherwise with the same input — and the caller sees one
///   interaction: the intermediate `interaction.completed` and the next request's
///   `interaction.created` are not handed out, the next request's steps are numbered after the
///   ones before, usage is summed. Not for background runs and agents, whose service continues
///   them.
/// * **An `error` event** after the first event ends the call with an
///   [`ErrorKind::Api`] error carrying the interaction so far
///   ([`Error::partial_interaction`]).
///
/// ```
/// use std::time::Instant;
/// use gemini_proto::call::{Action, Call, InteractionStreamCall};
/// use gemini_proto::interactions::CreateInteractionRequest;
/// use gemini_proto::{Api, Auth, Endpoint};
/// use http::{HeaderMap, StatusCode};
///
/// let api = Api::new(Endpoint::default(), Auth::api_key("key"));
/// let mut call = InteractionStreamCall::create(&api, &CreateInteractionRequest::new("gemini-2.5-flash", "Hi"))?;
/// let now = Instant::now();
/// let Action::Send(request) = call.poll(now) else { panic!() };
/// assert_eq!(request.uri().path(), "/v1beta/interactions");
/// call.handle_response(StatusCode::OK, &HeaderMap::new());
/// assert!(matches!(call.poll(now), Action::Read));
/// call.handle_frame(concat!(
///     "event: interaction.created\ndata: {\"interaction\":{\"id\":\"v1_a\",\"status\":\"in_progress\"},\"event_type\":\"interaction.created\",\"event_id\":\"1\"}\n\n",
///     "event: step.start\ndata: {\"index\":0,\"step\":{\"type\":\"model_output\"},\"event_type\":\"step.start\",\"event_id\":\"2\"}\n\n",
///     "event: step.delta\ndata: {\"index\":0,\"delta\":{\"text\":\"Hel\",\"type\":\"text\"},\"event_type\":\"step.delta\",\"event_id\":\"3\"}\n\n",
/// ).as_bytes());
/// // The connection drops here.
/// call.handle_transport_error(gemini_proto::Error::transport(
///     gemini_proto::ErrorKind::Connection,
///     std::io::Error::other("reset"),
/// ));
/// let mut text = String::new();
/// loop {
///     match call.poll(now) {
///         Action::Item(event) => text.push_str(event.text().unwrap_or_default()),
///         Action::Send(request) => {
///             // Read again after the last event handed out.
///             assert_eq!(request.uri().query(), Some("stream=true&last_event_id=3"));
///             break;
///         }
///         other => panic!("{other:?}"),
///     }
/// }
/// call.handle_response(StatusCode::OK, &HeaderMap::new());
/// call.handle_frame(concat!(
///     "event: step.delta\ndata: {\"index\":0,\"delta\":{\"text\":\"lo\",\"type\":\"text\"},\"event_type\":\"step.delta\",\"event_id\":\"4\"}\n\n",
///     "event: step.stop\ndata: {\"index\":0,\"event_type\":\"step.stop\",\"event_id\":\"5\"}\n\n",
///     "event: interaction.completed\ndata: {\"interaction\":{\"id\":\"v1_a\",\"status\":\"completed\"},\"event_type\":\"interaction.completed\",\"event_id\":\"6\"}\n\n",
/// ).as_bytes());
/// call.handle_end();
/// loop {
///     match call.poll(now) {
///         Action::Read => unreachable!(),
///         Action::Item(event) => text.push_str(event.text().unwrap_or_default()),
///         Action::Done => break,
///         other => panic!("{other:?}"),
///     }
/// }
/// assert_eq!(text, "Hello");
/// assert_eq!(call.interaction().text().as_deref(), Some("Hello"));
/// assert_eq!(call.reconnects(), 1);
/// # Ok::<(), gemini_proto::Error>(())
/// ```
#[derive(Debug)]
pub struct InteractionStreamCall {
    api: Api,
    /// The create request, without the machine's own continuation members.
    create: Option<CreateInteractionRequest>,
    requests: Retrying,
    state: State,
    assembler: Assembler,
    max_event_size: usize,
    max_error_body: usize,
    automatic: bool,
    out: VecDeque<InteractionEvent>,
    delivered: u64,
    started: Option<Instant>,
    first_event_after: Option<Duration>,
    /// The interaction of the current request (for a continued one, the latest request's).
    interaction_id: Option<String>,
    /// The resume point of the latest event handed out (or hidden) in the current request.
    last_event_id: Option<String>,
    /// Events of the current request seen so far (handed out or hidden), across reconnects.
    hop_events: u64,
    /// Events to skip in a stream read again from its start.
    skip: u64,
    /// Events that arrived in the current attempt (after any skipped).
    attempt_events: u64,
    reconnects: u32,
    reconnects_without_progress: u32,
    hops: u32,
    hop_ids: Vec<String>,
    /// Steps of the requests before the current one.
    step_offset: u64,
    /// Steps of the current request.
    hop_steps: u64,
    usage_before: Option<Usage>,
    hop_usage: Option<Usage>,
    /// The latest checkpoint of the current request, and whether output came after it.
    checkpoint: Option<String>,
    output_since_checkpoint: bool,
    /// The token the current request was sent with.
    start_token: Option<String>,
    /// The next `interaction.created` belongs to a request after the first.
    hide_created: bool,
    /// The current request ended at the output cap with this token.
    continue_with: Option<String>,
}

impl InteractionStreamCall {
    /// Creates an interaction and streams it (`POST interactions`, `stream: true`).
    pub fn create(api: &Api, request: &CreateInteractionRequest) -> Result<Self, Error> {
        let http = api.create_interaction(request, true)?;
        let mut body = request.clone();
        let start = body.continuation_token.take();
        let mut call = Self::new(api, http, Some(body));
        call.start_token = start.clone();
        call.checkpoint = start;
        Ok(call)
    }

    /// Streams the stored interaction `id` (`GET interactions/{id}?stream=true`): from its first
    /// event, or from the one after `last_event_id`.
    pub fn get(api: &Api, id: &str, last_event_id: Option<&str>) -> Result<Self, Error> {
        let http = api.stream_interaction(id, last_event_id)?;
        let mut call = Self::new(api, http, None);
        call.interaction_id = Some(id.to_owned());
        call.last_event_id = last_event_id.map(str::to_owned);
        Ok(call)
    }

    fn new(
        api: &Api,
        request: http::Request<bytes::Bytes>,
        create: Option<CreateInteractionRequest>,
    ) -> Self {
        InteractionStreamCall {
            api: api.clone(),
            create,
            requests: Retrying::new(request, RetryPolicy::default()),
            state: State::Ready,
            assembler: Assembler::new(),
            max_event_size: DEFAULT_MAX_EVENT_SIZE,
            max_error_body: DEFAULT_MAX_ERROR_BODY,
            automatic: true,
            out: VecDeque::new(),
            delivered: 0,
            started: None,
            first_event_after: None,
            interaction_id: None,
            last_event_id: None,
            hop_events: 0,
            skip: 0,
            attempt_events: 0,
            reconnects: 0,
            reconnects_without_progress: 0,
            hops: 1,
            hop_ids: Vec::new(),
            step_offset: 0,
            hop_steps: 0,
            usage_before: None,
            hop_usage: None,
            checkpoint: None,
            output_since_checkpoint: false,
            start_token: None,
            hide_created: false,
            continue_with: None,
        }
    }

    super::request_settings!();

    /// The largest event accepted (default 64 MiB).
    #[must_use]
    pub fn with_max_event_size(mut self, bytes: usize) -> Self {
        self.max_event_size = bytes;
        self
    }

    /// Resumes broken streams and follows `requires_continuation` (default `true`). Off, a
    /// broken stream is an error carrying what arrived, and an interaction stopped at the output
    /// cap ends the call with its status and token as they came.
    #[must_use]
    pub fn with_automatic_continuation(mut self, enabled: bool) -> Self {
        self.automatic = enabled;
        self
    }

    /// The interaction so far: every event handed out, folded in.
    pub fn interaction(&self) -> &Interaction {
        self.assembler.interaction()
    }

    /// The assembler (for the arguments of a function call still streaming).
    pub fn assembler(&self) -> &Assembler {
        &self.assembler
    }

    /// The number of events handed out.
    pub fn events_delivered(&self) -> u64 {
        self.delivered
    }

    /// The interaction's id, once known (for a continued one, the latest request's).
    pub fn interaction_id(&self) -> Option<&str> {
        self.interaction_id.as_deref()
    }

    /// The resume point of the latest event handed out, when events carry one.
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_event_id.as_deref()
    }

    /// Times the stream was read again after it broke.
    pub fn reconnects(&self) -> u32 {
        self.reconnects
    }

    /// Requests that created (part of) the interaction: more than 1 for a continued one.
    pub fn hops(&self) -> u32 {
        self.hops
    }

    /// The ids of the interactions of every request, in order (one, unless continued).
    pub fn hop_ids(&self) -> &[String] {
        &self.hop_ids
    }

    /// The time from the first attempt to the first event handed out.
    pub fn time_to_first_event(&self) -> Option<Duration> {
        self.first_event_after
    }

    /// True once the stream is being read (a success head arrived), or the call ended after
    /// handing out events.
    pub fn is_established(&self) -> bool {
        match &self.state {
            State::Streaming(_) => true,
            State::Finished => self.delivered > 0,
            _ => false,
        }
    }

    /// Looks at one decoded event: resume points, ids, checkpoints, continuation; hands it out
    /// unless it belongs to the machine.
    fn observe(&mut self, mut event: InteractionEvent, now: Instant) -> Option<Error> {
        if self.skip > 0 {
            self.skip -= 1;
            return None;
        }
        self.attempt_events += 1;
        self.hop_events += 1;
        if let Some(id) = event.event_id() {
            self.last_event_id = Some(id.to_owned());
        }
        let id = match &event {
            InteractionEvent::StatusUpdate(update) => update.interaction_id.clone(),
            other => other.interaction().and_then(|i| i.id.clone()),
        };
        if let Some(id) = id.filter(|id| !id.is_empty()) {
            if !self.hop_ids.contains(&id) {
                self.hop_ids.push(id.clone());
            }
            self.interaction_id = Some(id);
        }
        if let Some(index) = event.index() {
            self.hop_steps = self.hop_steps.max(index.saturating_add(1));
        }
        match &mut event {
            InteractionEvent::Error(error) => {
                return Some(Error::api(event_error(error.error.as_ref())));
            }
            InteractionEvent::StatusUpdate(update) => {
                if let Some(token) = update.continuation_token.clone().filter(|t| !t.is_empty()) {
                    self.checkpoint = Some(token);
                    self.output_since_checkpoint = false;
                }
                if let Some(usage) = &mut update.usage {
                    self.hop_usage = Some(usage.clone());
                    if let Some(before) = &self.usage_before {
                        *usage = before.plus(usage);
                    }
                }
            }
            InteractionEvent::Completed(completed) => {
                let interaction = completed
                    .interaction
                    .get_or_insert_with(Interaction::default);
                if let Some(usage) = &interaction.usage {
                    self.hop_usage = Some(usage.clone());
                }
                let token = interaction
                    .continuation_token
                    .clone()
                    .filter(|t| !t.is_empty());
                self.checkpoint = token.clone();
                self.output_since_checkpoint = false;
                if interaction.status == Some(InteractionStatus::RequiresContinuation)
                    && self.continues()
                    && token.is_some()
                    && token != self.start_token
                {
                    // The answer goes on in another request: this is not its end.
                    self.continue_with = token;
                    return None;
                }
                if let (Some(before), Some(usage)) = (&self.usage_before, &mut interaction.usage) {
                    *usage = before.plus(usage);
                }
            }
            InteractionEvent::Created(_) if self.hide_created => {
                // The next request of a continued interaction: the caller already saw one.
                self.hide_created = false;
                return None;
            }
            InteractionEvent::Created(_) => {}
            _ => self.output_since_checkpoint = true,
        }
        event.shift_index(self.step_offset);
        if self.delivered == 0 {
            self.first_event_after = self.started.map(|t| now.saturating_duration_since(t));
        }
        self.delivered += 1;
        self.assembler.push(&event);
        self.out.push_back(event);
        None
    }

    /// Whether an interaction stopped at the output cap is continued by this call.
    fn continues(&self) -> bool {
        self.automatic
            && self
                .create
                .as_ref()
                .is_some_and(|create| create.background != Some(true) && create.agent.is_none())
    }

    /// True when a stored interaction can be read again.
    fn stored(&self) -> bool {
        self.create
            .as_ref()
            .is_none_or(CreateInteractionRequest::is_stored)
    }

    /// The body of the current request ended cleanly (the decoder saw `interaction.completed`).
    fn end_of_body(&mut self) {
        match self.continue_with.take() {
            Some(token) => self.next_hop(token, false),
            None => self.state = State::Finished,
        }
    }

    /// Sends the next request of a continued interaction, from `token`: the next hop, or after
    /// a broken stream (`reconnect`) the same hop from its checkpoint.
    fn next_hop(&mut self, token: String, reconnect: bool) {
        let Some(create) = &self.create else {
            self.state = State::Finished;
            return;
        };
        let mut body = create.clone();
        body.continuation_token = Some(token.clone());
        if let (Some(id), true) = (&self.interaction_id, create.is_stored()) {
            // The service rebuilds the context from the interaction that issued the token.
            body.previous_interaction_id = Some(id.clone());
            body.input = None;
        }
        if let Some(usage) = self.hop_usage.take() {
            self.usage_before = Some(match &self.usage_before {
                Some(before) => before.plus(&usage),
                None => usage,
            });
        }
        self.step_offset += self.hop_steps;
        self.hop_steps = 0;
        if !reconnect {
            self.hops += 1;
        }
        self.hide_created = true;
        self.hop_events = 0;
        self.last_event_id = None;
        self.checkpoint = Some(token.clone());
        self.output_since_checkpoint = false;
        self.start_token = Some(token);
        self.reconnects_without_progress = 0;
        self.assembler.next_hop();
        match self.api.create_interaction(&body, true) {
            Ok(request) => self.requests.next_request(request),
            // The same body was built before; a token cannot make it fail.
            Err(_) => {
                self.state = State::Finished;
                return;
            }
        }
        self.state = State::Ready;
    }

    /// Decides what a failure means: retry, read the stream again, or give up.
    fn on_failure(&mut self, error: Error, now: Instant) -> Option<Action<InteractionEvent>> {
        let refused = matches!(self.state, State::AwaitingHead)
            || matches!(&self.state, State::Collecting(b) if !b.status().is_success());
        // A request that was refused or never answered: nothing of it reached the caller, so the
        // retry policy decides (for a resumption or a continuation as for the first request).
        if refused || self.delivered == 0 {
            let outcome = self.outcome(&error);
            return match self.requests.retry_delay(&outcome, now, false) {
                Some(delay) => {
                    if self.delivered == 0 {
                        self.skip = 0;
                        self.hop_events = 0;
                        self.hop_steps = 0;
                    }
                    self.state = State::Ready;
                    Some(Action::Wait(delay))
                }
                None => Some(self.fail(error)),
            };
        }
        // The stream broke after events reached the caller: read it again, or continue it —
        // unless reading it again would meet the same failure (an event over the size limit).
        let broken = matches!(
            error.kind(),
            ErrorKind::Truncated
                | ErrorKind::Incomplete
                | ErrorKind::Connection
                | ErrorKind::Timeout
                | ErrorKind::Transport
                | ErrorKind::Decode
        );
        if self.automatic
            && broken
            && let Some(action) = self.resume(&error)
        {
            return action;
        }
        Some(self.fail(error))
    }

    /// Reads the stream again, or continues it from a checkpoint; `None` when it cannot be.
    fn resume(&mut self, error: &Error) -> Option<Option<Action<InteractionEvent>>> {
        let _ = error;
        if self.attempt_events > 0 {
            self.reconnects_without_progress = 0;
        } else {
            self.reconnects_without_progress += 1;
        }
        if self.reconnects_without_progress > MAX_RECONNECTS_WITHOUT_PROGRESS {
            return None;
        }
        let how = match (&self.interaction_id, &self.last_event_id) {
            (Some(_), Some(event)) if self.stored() => Resume::AfterEvent(event.clone()),
            (Some(_), None) if self.stored() => Resume::Replay,
            _ => {
                // Not stored: a checkpoint with no output after it continues the interaction.
                let token = self
                    .checkpoint
                    .clone()
                    .filter(|_| !self.output_since_checkpoint)?;
                self.create.as_ref()?;
                self.reconnects += 1;
                self.continue_with = None;
                self.next_hop(token, true);
                return Some(None);
            }
        };
        let id = self.interaction_id.clone().unwrap_or_default();
        let request = match &how {
            Resume::AfterEvent(event) => self.api.stream_interaction(&id, Some(event)),
            Resume::Replay => self.api.stream_interaction(&id, None),
        };
        let request = request.ok()?;
        // Read again from the start, the events already seen are skipped.
        self.skip = if how == Resume::Replay {
            self.hop_events
        } else {
            0
        };
        self.reconnects += 1;
        self.continue_with = None;
        self.requests.next_request(request);
        self.state = State::Ready;
        let wait = self.reconnects_without_progress;
        if wait == 0 {
            return Some(None);
        }
        let delay = self.requests.attempts_mut().backoff(wait);
        Some(Some(Action::Wait(delay)))
    }

    fn outcome<'e>(&self, error: &'e Error) -> Outcome<'e> {
        match &self.state {
            State::AwaitingHead => transport_outcome(error, false),
            State::Collecting(body) if !body.status().is_success() => {
                response_outcome(body.status(), error)
            }
            _ => match error.kind() {
                ErrorKind::Api | ErrorKind::UnexpectedBody => Outcome::from_error(error),
                ErrorKind::Truncated
                | ErrorKind::Incomplete
                | ErrorKind::Timeout
                | ErrorKind::Connection => Outcome::TransportBeforeResponse,
                _ => Outcome::Fatal,
            },
        }
    }

    fn fail(&mut self, error: Error) -> Action<InteractionEvent> {
        self.state = State::Finished;
        self.out.clear();
        let mut error = error.with_attempts(self.requests.sent());
        if self.delivered > 0 {
            error = error.with_partial_interaction(self.assembler.to_interaction());
        }
        Action::Failed(error)
    }

    fn step(&mut self, now: Instant) -> Option<Action<InteractionEvent>> {
        if matches!(self.state, State::Finished) {
            return Some(Action::Done);
        }
        if self.requests.is_cancelled() {
            return Some(self.fail(Error::cancelled()));
        }
        match &mut self.state {
            State::Ready => {
                self.started.get_or_insert(now);
                self.attempt_events = 0;
                self.state = State::AwaitingHead;
                Some(Action::Send(self.requests.send(now)))
            }
            State::AwaitingHead => match self.requests.take_transport_error() {
                Some(error) => self.on_failure(error, now),
                None => Some(self.fail(Error::invalid_request(
                    "the call was polled before its response head or transport error was reported",
                ))),
            },
            State::Streaming(decoder) => match decoder.next_event() {
                Some(Ok(event)) => match self.observe(event, now) {
                    // The service reported an error: reading the stream again would repeat it.
                    Some(error) if self.delivered > 0 => Some(self.fail(error)),
                    Some(error) => self.on_failure(error, now),
                    None => None,
                },
                Some(Err(error)) => self.on_failure(error, now),
                None if decoder.is_done() => {
                    self.end_of_body();
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
                let error = if body.status().is_success() {
                    // A success without a stream: the server answered with one JSON document.
                    Error::decode("expected an event stream, got one JSON document", b"")
                        .with_status(body.status())
                } else {
                    body.failure()
                };
                self.on_failure(error, now)
            }
            State::Finished => Some(Action::Done),
        }
    }
}

impl Call for InteractionStreamCall {
    type Item = InteractionEvent;

    fn poll(&mut self, now: Instant) -> Action<InteractionEvent> {
        loop {
            if let Some(event) = self.out.pop_front() {
                return Action::Item(event);
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
        self.state = if status.is_success() {
            State::Streaming(Box::new(EventDecoder::with_max_event_size(
                self.max_event_size,
            )))
        } else {
            State::Collecting(Collected::new(status, headers, self.max_error_body))
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
}

/// A unary `create` (`POST interactions`): the interaction as one [`Action::Item`], with the
/// retries of its [`RetryPolicy`]. An interaction that stops at the per-request output cap
/// (status `requires_continuation`) is continued with its token until it ends, and handed out as
/// one: the steps of every request in order, usage summed (`initial_input_tokens` the first
/// request's input), the other members from the last request, `created` from the first
/// ([`hop_ids`](Self::hop_ids) lists every request's interaction). A failure after the first
/// request carries what the requests before it returned ([`Error::partial_interaction`], whose
/// `continuation_token` continues it by hand).
///
/// ```
/// use std::time::Instant;
/// use gemini_proto::call::{Action, Call, InteractionCall};
/// use gemini_proto::interactions::CreateInteractionRequest;
/// use gemini_proto::{Api, Auth, Endpoint};
/// use http::{HeaderMap, StatusCode};
///
/// let api = Api::new(Endpoint::default(), Auth::api_key("key"));
/// let mut call = InteractionCall::create(&api, &CreateInteractionRequest::new("gemini-2.5-flash", "Hi"))?;
/// let now = Instant::now();
/// let Action::Send(request) = call.poll(now) else { panic!() };
/// assert_eq!(request.headers()["accept"], "application/json");
/// call.handle_response(StatusCode::OK, &HeaderMap::new());
/// assert!(matches!(call.poll(now), Action::Read));
/// call.handle_frame(br#"{"id": "v1_a", "status": "completed",
///     "steps": [{"content": [{"text": "Hello!", "type": "text"}], "type": "model_output"}]}"#);
/// call.handle_end();
/// let Action::Item(interaction) = call.poll(now) else { panic!() };
/// assert_eq!(interaction.text().as_deref(), Some("Hello!"));
/// # Ok::<(), gemini_proto::Error>(())
/// ```
#[derive(Debug)]
pub struct InteractionCall {
    api: Api,
    create: CreateInteractionRequest,
    /// The request of the current hop.
    exchange: Exchange<Interaction>,
    policy: RetryPolicy,
    seed: u64,
    max_answer: usize,
    automatic: bool,
    /// What the requests before the current one returned, merged.
    merged: Option<Interaction>,
    hop_ids: Vec<String>,
    start_token: Option<String>,
    /// Requests of the hops before the current one.
    sent_before: u32,
    cancelled: bool,
    finished: bool,
}

impl InteractionCall {
    /// Creates an interaction (`POST interactions`, `stream: false`).
    pub fn create(api: &Api, request: &CreateInteractionRequest) -> Result<Self, Error> {
        let http = api.create_interaction(request, false)?;
        let mut create = request.clone();
        let start_token = create.continuation_token.take();
        Ok(InteractionCall {
            api: api.clone(),
            create,
            exchange: Exchange::new(http),
            policy: RetryPolicy::default(),
            seed: 0,
            max_answer: super::DEFAULT_MAX_ANSWER,
            automatic: true,
            merged: None,
            hop_ids: Vec::new(),
            start_token,
            sent_before: 0,
            cancelled: false,
            finished: false,
        })
    }

    /// Uses `policy` to decide about retries (default: [`RetryPolicy::default`]).
    #[must_use]
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy.clone();
        self.exchange = self.exchange.with_retry_policy(policy);
        self
    }

    /// Seeds the jitter of the retry backoff.
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self.exchange = self.exchange.with_seed(seed);
        self
    }

    /// The most bytes of an answer read (default 64 MiB).
    #[must_use]
    pub fn with_max_answer(mut self, bytes: usize) -> Self {
        self.max_answer = bytes;
        self.exchange = self.exchange.with_max_answer(bytes);
        self
    }

    /// Follows `requires_continuation` (default `true`).
    #[must_use]
    pub fn with_automatic_continuation(mut self, enabled: bool) -> Self {
        self.automatic = enabled;
        self
    }

    /// The ids of the interactions of every request so far, in order.
    pub fn hop_ids(&self) -> &[String] {
        &self.hop_ids
    }

    /// Takes an answer: the end, or the next request of a continued interaction.
    fn answer(&mut self, answer: Interaction) -> Option<Action<Interaction>> {
        if let Some(id) = answer.id.clone().filter(|id| !id.is_empty()) {
            self.hop_ids.push(id);
        }
        let token = answer.continuation_token.clone().filter(|t| !t.is_empty());
        let continues = self.automatic
            && answer.status == Some(InteractionStatus::RequiresContinuation)
            && self.create.background != Some(true)
            && self.create.agent.is_none()
            && token.is_some()
            && token != self.start_token;
        let merged = match self.merged.take() {
            None => answer,
            Some(before) => merge(before, answer),
        };
        if !continues {
            self.finished = true;
            return Some(Action::Item(merged));
        }
        let token = token.unwrap_or_default();
        let mut body = self.create.clone();
        body.continuation_token = Some(token.clone());
        if let (Some(id), true) = (&merged.id, self.create.is_stored()) {
            body.previous_interaction_id = Some(id.clone());
            body.input = None;
        }
        self.start_token = Some(token);
        self.merged = Some(merged);
        let request = match self.api.create_interaction(&body, false) {
            Ok(request) => request,
            Err(error) => return Some(self.fail(error)),
        };
        self.sent_before += self.exchange.attempts();
        self.exchange = Exchange::new(request)
            .with_retry_policy(self.policy.clone())
            .with_seed(self.seed.wrapping_add(u64::from(self.sent_before)))
            .with_max_answer(self.max_answer);
        None
    }

    fn fail(&mut self, error: Error) -> Action<Interaction> {
        self.finished = true;
        let mut error = error.with_attempts(self.attempts());
        if let Some(partial) = self.merged.take() {
            error = error.with_partial_interaction(partial);
        }
        Action::Failed(error)
    }
}

/// The answers of two requests of a continued interaction as one: the steps in order, usage
/// summed (`initial_input_tokens` the first request's input), `created`, `input` and
/// `previous_interaction_id` from the first, everything else from the later one.
fn merge(mut before: Interaction, mut last: Interaction) -> Interaction {
    let mut steps = std::mem::take(&mut before.steps);
    steps.append(&mut last.steps);
    last.steps = steps;
    last.usage = match (&before.usage, &last.usage) {
        (Some(a), Some(b)) => {
            let mut sum = a.plus(b);
            sum.initial_input_tokens = a.initial_input_tokens.or(a.total_input_tokens);
            Some(sum)
        }
        (a, b) => b.clone().or(a.clone()),
    };
    if before.created.is_some() {
        last.created = before.created;
    }
    if before.previous_interaction_id.is_some() {
        last.previous_interaction_id = before.previous_interaction_id;
    }
    if before.input.is_some() {
        last.input = before.input;
    }
    last
}

impl Call for InteractionCall {
    type Item = Interaction;

    fn poll(&mut self, now: Instant) -> Action<Interaction> {
        loop {
            if self.finished {
                return Action::Done;
            }
            if self.cancelled {
                return self.fail(Error::cancelled());
            }
            match self.exchange.poll(now) {
                Action::Item(answer) => {
                    if let Some(action) = self.answer(answer) {
                        return action;
                    }
                }
                Action::Failed(error) => return self.fail(error),
                Action::Done => return Action::Done,
                other => return other,
            }
        }
    }

    fn handle_response(&mut self, status: StatusCode, headers: &HeaderMap) {
        self.exchange.handle_response(status, headers);
    }

    fn handle_frame(&mut self, bytes: &[u8]) {
        self.exchange.handle_frame(bytes);
    }

    fn handle_end(&mut self) {
        self.exchange.handle_end();
    }

    fn handle_transport_error(&mut self, error: Error) {
        self.exchange.handle_transport_error(error);
    }

    fn cancel(&mut self) {
        self.cancelled = true;
        self.exchange.cancel();
    }

    fn attempts(&self) -> u32 {
        self.sent_before + self.exchange.attempts()
    }

    fn status(&self) -> Option<StatusCode> {
        self.exchange.status()
    }
}
