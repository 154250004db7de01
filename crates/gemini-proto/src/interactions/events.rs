//! The events of a streamed interaction ([`InteractionEvent`], with its [`Delta`]s), and the
//! decoder that turns a `text/event-stream` body into them: [`EventDecoder`].
//!
//! The service sends one SSE event per event, named by its `event:` line and repeated in the
//! data's `event_type`:
//!
//! ```text
//! event: interaction.created
//! data: {"interaction":{"id":"v1_…","status":"in_progress","object":"interaction","model":"gemini-2.5-flash"},"event_type":"interaction.created"}
//!
//! event: step.start
//! data: {"index":0,"step":{"type":"model_output"},"event_type":"step.start"}
//!
//! event: step.delta
//! data: {"index":0,"delta":{"text":"Hello","type":"text"},"event_type":"step.delta"}
//! ```
//!
//! in this order: `interaction.created`, `interaction.status_update`, for each step
//! `step.start` / `step.delta`… / `step.stop` (with the step's `index`), and
//! `interaction.completed` with the usage; an `error` event may come anywhere. Any event may carry
//! an `event_id`, the point a dropped stream resumes from.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::model::{
    Annotation, Content, Interaction, InteractionError, InteractionStatus, MediaContent, Step,
    Usage,
};
use super::tagged::tagged_union;
use crate::chunk::{SniffedSse, next_item};
use crate::encoding::parse_json;
use crate::error::{ApiError, Error};
use crate::sse::{DEFAULT_MAX_EVENT_SIZE, SseEventRef};
use crate::types::wire::wire_struct;

wire_struct! {
    /// Text for a `model_output` step.
    pub struct TextDelta {
        /// The text.
        text: Option<String> = "text",
    }
}

wire_struct! {
    /// A piece of a thought's summary.
    pub struct ThoughtSummaryDelta {
        /// The summary content (text, usually).
        content: Option<Content> = "content",
    }
}

wire_struct! {
    /// The signature of a thought (or of another step that carries one).
    pub struct ThoughtSignatureDelta {
        /// Opaque, kept byte for byte.
        signature: Option<String> = "signature",
    }
}

wire_struct! {
    /// A fragment of a function call's arguments: JSON text, to append to the fragments before it.
    pub struct ArgumentsDelta {
        /// The fragment.
        arguments: Option<String> = "arguments",
    }
}

wire_struct! {
    /// Annotations (citations) for the text of a `model_output` step.
    pub struct TextAnnotationDelta {
        /// The annotations; their offsets are UTF-8 byte offsets into the step's text.
        annotations: Vec<Annotation> = "annotations",
    }
}

wire_struct! {
    /// A built-in tool call's arguments.
    pub struct ToolCallDelta {
        /// The arguments.
        arguments: Option<Value> = "arguments",
        /// Opaque, kept byte for byte.
        signature: Option<String> = "signature",
    }
}

wire_struct! {
    /// A function's or built-in tool's result.
    pub struct ToolResultDelta {
        /// The result.
        result: Option<Value> = "result",
        /// True when the call failed.
        is_error: Option<bool> = "is_error",
        /// The function or tool.
        name: Option<String> = "name",
        /// Opaque, kept byte for byte.
        signature: Option<String> = "signature",
    }
}

tagged_union! {
    /// What a `step.delta` event adds to its step.
    pub enum Delta {
        /// Text of a `model_output` step.
        Text(TextDelta) = "text",
        /// A piece of a thought's summary.
        ThoughtSummary(ThoughtSummaryDelta) = "thought_summary",
        /// A thought's signature.
        ThoughtSignature(ThoughtSignatureDelta) = "thought_signature",
        /// A fragment of a function call's arguments (JSON text).
        ArgumentsDelta(ArgumentsDelta) = "arguments_delta",
        /// Citations for the step's text.
        TextAnnotation(TextAnnotationDelta) = "text_annotation_delta",
        /// An image of the output.
        Image(MediaContent) = "image",
        /// Audio of the output.
        Audio(MediaContent) = "audio",
        /// A document of the output.
        Document(MediaContent) = "document",
        /// A video of the output.
        Video(MediaContent) = "video",
        /// A function's result.
        FunctionResult(ToolResultDelta) = "function_result",
        /// A Google Search's queries.
        GoogleSearchCall(ToolCallDelta) = "google_search_call",
        /// Its results.
        GoogleSearchResult(ToolResultDelta) = "google_search_result",
        /// Code to run.
        CodeExecutionCall(ToolCallDelta) = "code_execution_call",
        /// Its output.
        CodeExecutionResult(ToolResultDelta) = "code_execution_result",
        /// URLs to fetch.
        UrlContextCall(ToolCallDelta) = "url_context_call",
        /// What they held.
        UrlContextResult(ToolResultDelta) = "url_context_result",
        /// A file search.
        FileSearchCall(ToolCallDelta) = "file_search_call",
        /// Its results.
        FileSearchResult(ToolResultDelta) = "file_search_result",
        /// A Google Maps query.
        GoogleMapsCall(ToolCallDelta) = "google_maps_call",
        /// Its results.
        GoogleMapsResult(ToolResultDelta) = "google_maps_result",
        /// An MCP tool call.
        McpServerToolCall(ToolCallDelta) = "mcp_server_tool_call",
        /// Its result.
        McpServerToolResult(ToolResultDelta) = "mcp_server_tool_result",
    }
}

impl Delta {
    /// Text for a `model_output` step.
    ///
    /// ```
    /// use gemini_proto::interactions::Delta;
    ///
    /// assert_eq!(Delta::text("Hi").as_text(), Some("Hi"));
    /// ```
    pub fn text(text: impl Into<String>) -> Self {
        Delta::Text(TextDelta {
            text: Some(text.into()),
            ..TextDelta::default()
        })
    }

    /// A piece of a thought's summary.
    pub fn thought_summary(content: impl Into<Content>) -> Self {
        Delta::ThoughtSummary(ThoughtSummaryDelta {
            content: Some(content.into()),
            ..ThoughtSummaryDelta::default()
        })
    }

    /// A thought's signature.
    pub fn thought_signature(signature: impl Into<String>) -> Self {
        Delta::ThoughtSignature(ThoughtSignatureDelta {
            signature: Some(signature.into()),
            ..ThoughtSignatureDelta::default()
        })
    }

    /// A fragment of a function call's arguments.
    pub fn arguments(fragment: impl Into<String>) -> Self {
        Delta::ArgumentsDelta(ArgumentsDelta {
            arguments: Some(fragment.into()),
            ..ArgumentsDelta::default()
        })
    }

    /// The text of a text delta.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Delta::Text(delta) => Some(delta.text.as_deref().unwrap_or_default()),
            _ => None,
        }
    }
}

wire_struct! {
    /// `interaction.created`: the service accepted the request.
    pub struct InteractionCreated {
        /// The interaction so far (its id, status, model).
        interaction: Option<Interaction> = "interaction",
        /// Where a resumed stream continues from.
        event_id: Option<String> = "event_id",
    }
}

wire_struct! {
    /// `interaction.status_update`: the interaction's status changed. A `continuation_token` here
    /// is a checkpoint.
    pub struct StatusUpdate {
        /// The interaction.
        interaction_id: Option<String> = "interaction_id",
        /// Its new status.
        status: Option<InteractionStatus> = "status",
        /// A checkpoint to continue from.
        continuation_token: Option<String> = "continuation_token",
        /// The usage so far.
        usage: Option<Usage> = "usage",
        /// Where a resumed stream continues from.
        event_id: Option<String> = "event_id",
    }
}

wire_struct! {
    /// `step.start`: step `index` begins, with what is known of it already.
    pub struct StepStart {
        /// The step's position in the interaction's output.
        index: Option<u64> = "index",
        /// The step.
        step: Option<Step> = "step",
        /// Where a resumed stream continues from.
        event_id: Option<String> = "event_id",
    }
}

wire_struct! {
    /// `step.delta`: more of step `index`.
    pub struct StepDelta {
        /// The step's position.
        index: Option<u64> = "index",
        /// What it adds.
        delta: Option<Delta> = "delta",
        /// Metadata (such as the usage so far, `total_usage`).
        metadata: Option<Value> = "metadata",
        /// Where a resumed stream continues from.
        event_id: Option<String> = "event_id",
    }
}

wire_struct! {
    /// `step.stop`: step `index` is complete.
    pub struct StepStop {
        /// The step's position.
        index: Option<u64> = "index",
        /// The usage so far.
        usage: Option<Usage> = "usage",
        /// This step's usage.
        step_usage: Option<Usage> = "step_usage",
        /// Where a resumed stream continues from.
        event_id: Option<String> = "event_id",
    }
}

wire_struct! {
    /// `interaction.completed`: the interaction ended (whatever its status says: `completed`,
    /// `requires_action`, `requires_continuation`, `failed`, …), with its usage. The steps are
    /// usually left out: they came as events.
    pub struct InteractionCompleted {
        /// The interaction as it ended.
        interaction: Option<Interaction> = "interaction",
        /// Where a resumed stream continues from.
        event_id: Option<String> = "event_id",
    }
}

wire_struct! {
    /// `error`: the service reports an error inside the stream.
    pub struct ErrorEvent {
        /// What went wrong.
        error: Option<InteractionError> = "error",
        /// Where a resumed stream continues from.
        event_id: Option<String> = "event_id",
    }
}

/// An event this version of the library does not know, kept whole.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct UnknownEvent {
    /// Its type (the data's `event_type`, else the SSE `event:` name).
    pub event_type: String,
    /// Its data, as it came.
    pub data: Map<String, Value>,
}

/// One event of a streamed interaction.
///
/// ```
/// use gemini_proto::interactions::InteractionEvent;
///
/// let event: InteractionEvent = serde_json::from_str(
///     r#"{"index":1,"delta":{"text":"Hello","type":"text"},"event_type":"step.delta"}"#,
/// ).unwrap();
/// assert_eq!(event.event_type(), "step.delta");
/// assert_eq!(event.text(), Some("Hello"));
/// assert_eq!(event.index(), Some(1));
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum InteractionEvent {
    /// `interaction.created`.
    Created(InteractionCreated),
    /// `interaction.status_update`.
    StatusUpdate(StatusUpdate),
    /// `step.start`.
    StepStart(StepStart),
    /// `step.delta`.
    StepDelta(StepDelta),
    /// `step.stop`.
    StepStop(StepStop),
    /// `interaction.completed`.
    Completed(InteractionCompleted),
    /// `error`.
    Error(ErrorEvent),
    /// Any other event type, kept whole.
    Unknown(UnknownEvent),
}

impl InteractionEvent {
    /// `interaction.created`.
    pub fn created(interaction: Interaction) -> Self {
        InteractionEvent::Created(InteractionCreated {
            interaction: Some(interaction),
            ..InteractionCreated::default()
        })
    }

    /// `interaction.status_update`.
    pub fn status_update(interaction_id: impl Into<String>, status: InteractionStatus) -> Self {
        InteractionEvent::StatusUpdate(StatusUpdate {
            interaction_id: Some(interaction_id.into()),
            status: Some(status),
            ..StatusUpdate::default()
        })
    }

    /// `step.start` of step `index`.
    pub fn step_start(index: u64, step: Step) -> Self {
        InteractionEvent::StepStart(StepStart {
            index: Some(index),
            step: Some(step),
            ..StepStart::default()
        })
    }

    /// `step.delta` of step `index`.
    pub fn step_delta(index: u64, delta: Delta) -> Self {
        InteractionEvent::StepDelta(StepDelta {
            index: Some(index),
            delta: Some(delta),
            ..StepDelta::default()
        })
    }

    /// `step.stop` of step `index`.
    pub fn step_stop(index: u64) -> Self {
        InteractionEvent::StepStop(StepStop {
            index: Some(index),
            ..StepStop::default()
        })
    }

    /// `interaction.completed`.
    pub fn completed(interaction: Interaction) -> Self {
        InteractionEvent::Completed(InteractionCompleted {
            interaction: Some(interaction),
            ..InteractionCompleted::default()
        })
    }

    /// `error`, with its `code` and `message`.
    ///
    /// ```
    /// use gemini_proto::interactions::InteractionEvent;
    ///
    /// let event = InteractionEvent::error("unavailable", "The model is overloaded.");
    /// assert_eq!(serde_json::to_value(&event).unwrap()["error"]["code"], "unavailable");
    /// ```
    pub fn error(code: impl Into<String>, message: impl Into<String>) -> Self {
        InteractionEvent::Error(ErrorEvent {
            error: Some(InteractionError {
                code: Some(code.into()),
                message: Some(message.into()),
                ..InteractionError::default()
            }),
            ..ErrorEvent::default()
        })
    }

    /// The event's type on the wire (`step.delta`, …).
    pub fn event_type(&self) -> &str {
        match self {
            InteractionEvent::Created(_) => "interaction.created",
            InteractionEvent::StatusUpdate(_) => "interaction.status_update",
            InteractionEvent::StepStart(_) => "step.start",
            InteractionEvent::StepDelta(_) => "step.delta",
            InteractionEvent::StepStop(_) => "step.stop",
            InteractionEvent::Completed(_) => "interaction.completed",
            InteractionEvent::Error(_) => "error",
            InteractionEvent::Unknown(unknown) => &unknown.event_type,
        }
    }

    /// Where a stream resumed after this event continues from, when the event carries it.
    pub fn event_id(&self) -> Option<&str> {
        match self {
            InteractionEvent::Created(e) => e.event_id.as_deref(),
            InteractionEvent::StatusUpdate(e) => e.event_id.as_deref(),
            InteractionEvent::StepStart(e) => e.event_id.as_deref(),
            InteractionEvent::StepDelta(e) => e.event_id.as_deref(),
            InteractionEvent::StepStop(e) => e.event_id.as_deref(),
            InteractionEvent::Completed(e) => e.event_id.as_deref(),
            InteractionEvent::Error(e) => e.event_id.as_deref(),
            InteractionEvent::Unknown(e) => e.data.get("event_id").and_then(Value::as_str),
        }
    }

    /// Sets the event's resume point.
    pub fn set_event_id(&mut self, id: impl Into<String>) {
        let id = Some(id.into());
        match self {
            InteractionEvent::Created(e) => e.event_id = id,
            InteractionEvent::StatusUpdate(e) => e.event_id = id,
            InteractionEvent::StepStart(e) => e.event_id = id,
            InteractionEvent::StepDelta(e) => e.event_id = id,
            InteractionEvent::StepStop(e) => e.event_id = id,
            InteractionEvent::Completed(e) => e.event_id = id,
            InteractionEvent::Error(e) => e.event_id = id,
            InteractionEvent::Unknown(e) => {
                e.data
                    .insert("event_id".to_owned(), id.map_or(Value::Null, Value::String));
            }
        }
    }

    /// The step index of a `step.*` event.
    pub fn index(&self) -> Option<u64> {
        match self {
            InteractionEvent::StepStart(e) => e.index,
            InteractionEvent::StepDelta(e) => e.index,
            InteractionEvent::StepStop(e) => e.index,
            _ => None,
        }
    }

    /// Moves the step index of a `step.*` event by `offset` (the steps of earlier requests of a
    /// continued interaction).
    pub(crate) fn shift_index(&mut self, offset: u64) {
        if offset == 0 {
            return;
        }
        let index = match self {
            InteractionEvent::StepStart(e) => &mut e.index,
            InteractionEvent::StepDelta(e) => &mut e.index,
            InteractionEvent::StepStop(e) => &mut e.index,
            _ => return,
        };
        if let Some(index) = index {
            *index = index.saturating_add(offset);
        }
    }

    /// The text of a text delta (`None` for every other event).
    pub fn text(&self) -> Option<&str> {
        match self {
            InteractionEvent::StepDelta(e) => e.delta.as_ref()?.as_text(),
            _ => None,
        }
    }

    /// The interaction an `interaction.created` or `interaction.completed` event carries.
    pub fn interaction(&self) -> Option<&Interaction> {
        match self {
            InteractionEvent::Created(e) => e.interaction.as_ref(),
            InteractionEvent::Completed(e) => e.interaction.as_ref(),
            _ => None,
        }
    }

    /// True for `interaction.created` and `interaction.status_update`: events that carry no
    /// output.
    pub fn is_lifecycle(&self) -> bool {
        matches!(
            self,
            InteractionEvent::Created(_) | InteractionEvent::StatusUpdate(_)
        )
    }

    /// Reads an event from the members of its data; `sse_event` is the SSE `event:` name, used
    /// when the data has no `event_type`.
    fn from_data(mut data: Map<String, Value>, sse_event: Option<&str>) -> Result<Self, String> {
        let event_type = match data.remove("event_type") {
            Some(Value::String(t)) => t,
            Some(other) => {
                data.insert("event_type".to_owned(), other);
                sse_event.unwrap_or_default().to_owned()
            }
            None => sse_event.unwrap_or_default().to_owned(),
        };
        fn read<T: serde::de::DeserializeOwned>(
            data: Map<String, Value>,
            what: &str,
        ) -> Result<T, String> {
            serde_json::from_value(Value::Object(data)).map_err(|e| format!("{what}: {e}"))
        }
        Ok(match event_type.as_str() {
            "interaction.created" => InteractionEvent::Created(read(data, "interaction.created")?),
            "interaction.status_update" => {
                InteractionEvent::StatusUpdate(read(data, "interaction.status_update")?)
            }
            "step.start" => InteractionEvent::StepStart(read(data, "step.start")?),
            "step.delta" => InteractionEvent::StepDelta(read(data, "step.delta")?),
            "step.stop" => InteractionEvent::StepStop(read(data, "step.stop")?),
            "interaction.completed" => {
                InteractionEvent::Completed(read(data, "interaction.completed")?)
            }
            "error" => InteractionEvent::Error(read(data, "error")?),
            _ => InteractionEvent::Unknown(UnknownEvent { event_type, data }),
        })
    }

    /// The event's data, as the service writes it (`event_type` included).
    pub fn to_data(&self) -> Map<String, Value> {
        fn object<T: Serialize>(value: &T) -> Map<String, Value> {
            match serde_json::to_value(value) {
                Ok(Value::Object(object)) => object,
                _ => Map::new(),
            }
        }
        let mut data = match self {
            InteractionEvent::Created(e) => object(e),
            InteractionEvent::StatusUpdate(e) => object(e),
            InteractionEvent::StepStart(e) => object(e),
            InteractionEvent::StepDelta(e) => object(e),
            InteractionEvent::StepStop(e) => object(e),
            InteractionEvent::Completed(e) => object(e),
            InteractionEvent::Error(e) => object(e),
            InteractionEvent::Unknown(e) => e.data.clone(),
        };
        if !data.contains_key("event_type") {
            // (An unknown event keeps an `event_type` member it came with, even one that is not
            // a string.)
            data.insert(
                "event_type".to_owned(),
                Value::String(self.event_type().to_owned()),
            );
        }
        data
    }
}

impl Serialize for InteractionEvent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_data().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for InteractionEvent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let data = Map::deserialize(deserializer)?;
        InteractionEvent::from_data(data, None).map_err(D::Error::custom)
    }
}

/// Decodes a streamed interaction (`text/event-stream`) into [`InteractionEvent`]s: push the body
/// in pieces of any size with [`push`](Self::push), say it ended with [`finish`](Self::finish),
/// and take the events with [`next_event`](Self::next_event).
///
/// The same guarantees as the `generateContent` decoder ([`ChunkDecoder`](crate::chunk::ChunkDecoder)):
///
/// | what happened | result |
/// |---|---|
/// | an `error` event | [`InteractionEvent::Error`], an event like the others (the call decides what it means) |
/// | `data: {"error": {…}}` without an `event_type`, or a raw JSON error object outside the framing | an [`ErrorKind::Api`](crate::ErrorKind::Api) error |
/// | an event that is not JSON, or not an event | `Decode`, with the event index, byte offset and an excerpt |
/// | an event larger than the limit | `TooLarge` |
/// | the body ends inside an event | `Truncated` |
/// | the body ends cleanly before `interaction.completed` | `Incomplete` |
///
/// Unknown event, step and delta types are events like the others, never errors. The output
/// never depends on how the body was split, nor on its line endings; events decoded before a
/// failure come out before the error. A `data: [DONE]` sentinel is skipped.
///
/// ```
/// use gemini_proto::interactions::{EventDecoder, InteractionEvent};
///
/// let mut decoder = EventDecoder::new();
/// decoder.push(b"event: step.delta\r\ndata: {\"index\":0,\"delta\":{\"text\":\"Hel\",\"type\":\"text\"},\"event_type\":\"step.delta\"}\r\n\r\n");
/// decoder.push(b"event: step.delta\ndata: {\"index\":0,\"delta\":{\"text\":\"lo\",\"type\":\"text\"},\"event_type\":\"step.delta\"}\n\nevent: interaction.comp");
/// decoder.finish(); // the connection ended inside the third event
///
/// let mut text = String::new();
/// let mut failure = None;
/// while let Some(item) = decoder.next_event() {
///     match item {
///         Ok(event) => text.push_str(event.text().unwrap_or_default()),
///         Err(error) => failure = Some(error),
///     }
/// }
/// assert_eq!(text, "Hello");
/// assert_eq!(failure.unwrap().kind(), gemini_proto::ErrorKind::Truncated);
/// ```
#[derive(Debug)]
pub struct EventDecoder {
    sse: SniffedSse,
    ready: VecDeque<InteractionEvent>,
    error: Option<Error>,
    done: bool,
    finished_input: bool,
    completed: bool,
    events: u64,
}

impl Default for EventDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl EventDecoder {
    /// A decoder with the default maximum event size (64 MiB).
    pub fn new() -> Self {
        Self::with_max_event_size(DEFAULT_MAX_EVENT_SIZE)
    }

    /// A decoder whose events may be at most `max_event_size` bytes.
    pub fn with_max_event_size(max_event_size: usize) -> Self {
        EventDecoder {
            sse: SniffedSse::new(max_event_size),
            ready: VecDeque::new(),
            error: None,
            done: false,
            finished_input: false,
            completed: false,
            events: 0,
        }
    }

    /// Feeds the next piece of the body. Pieces after a terminal error or after
    /// [`finish`](Self::finish) are ignored.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.error.is_some() || self.done || self.finished_input {
            return;
        }
        let (ready, completed, events) = (&mut self.ready, &mut self.completed, &mut self.events);
        let before = *events;
        self.error = self.sse.push(bytes, before, |event| {
            let decoded = accept(event)?;
            let Some(decoded) = decoded else {
                return Ok(false);
            };
            if matches!(decoded, InteractionEvent::Completed(_)) {
                *completed = true;
            }
            *events += 1;
            ready.push_back(decoded);
            Ok(true)
        });
    }

    /// Signals the end of the body: detects a body cut inside an event (`Truncated`) and one
    /// that ended before `interaction.completed` (`Incomplete`).
    pub fn finish(&mut self) {
        if self.error.is_some() || self.done || self.finished_input {
            return;
        }
        self.finished_input = true;
        if let Some(err) = self.sse.finish(self.events) {
            self.error = Some(err);
            return;
        }
        if !self.completed {
            self.error = Some(
                Error::incomplete_with(
                    "the interaction's stream ended before interaction.completed; the answer may be cut short",
                )
                .with_event_index(self.events),
            );
        }
    }

    /// The next decoded item: events in order, then at most one terminal error. `None` means
    /// "nothing more for now" before [`finish`](Self::finish), and "the end" after it.
    pub fn next_event(&mut self) -> Option<Result<InteractionEvent, Error>> {
        next_item(
            &mut self.ready,
            &mut self.error,
            &mut self.done,
            self.finished_input,
        )
    }

    /// True once the body ended cleanly and every event was taken, or the terminal error was.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The number of events decoded so far.
    pub fn events_decoded(&self) -> u64 {
        self.events
    }

    /// True once an `interaction.completed` event was decoded.
    pub fn saw_completed(&self) -> bool {
        self.completed
    }

    /// The SSE `id:` in effect (most streams carry their resume points in the data instead).
    pub fn last_sse_id(&self) -> &str {
        self.sse.last_event_id()
    }
}

/// Reads one SSE event, from the bytes as they arrived: an interaction event, `None` for the
/// `[DONE]` sentinel, or the error that ends the stream.
fn accept(event: SseEventRef<'_>) -> Result<Option<InteractionEvent>, Error> {
    if event.data == b"[DONE]" {
        return Ok(None);
    }
    let at = |error: Error| {
        error
            .with_event_index(event.index)
            .with_byte_offset(event.offset)
    };
    let sse_event = (!event.event.is_empty()).then(|| String::from_utf8_lossy(event.event));
    let sse_event = sse_event.as_deref();
    let (parsed, data) = parse_json::<Map<String, Value>>(event.data);
    let object = match parsed {
        Ok(object) => object,
        Err(err) => {
            return Err(at(match ApiError::from_slice(&data) {
                Some(api) => Error::api(api),
                None => Error::decode_json(err, &data),
            }));
        }
    };
    if !object.contains_key("event_type")
        && sse_event.is_none_or(|name| name == "message" || name == "error")
        && object.contains_key("error")
        && let Some(api) = ApiError::from_json_value(&Value::Object(object.clone()))
    {
        // `data: {"error": {…}}`: a `google.rpc.Status` after the 200, as generateContent
        // streams report errors.
        return Err(at(Error::api(api)));
    }
    let mut decoded = InteractionEvent::from_data(object, sse_event).map_err(|message| {
        at(Error::decode(
            format!("the event is not an interaction event ({message})"),
            &data,
        ))
    })?;
    if decoded.event_id().is_none() && !event.last_event_id.is_empty() {
        decoded.set_event_id(event.last_event_id.to_owned());
    }
    Ok(Some(decoded))
}
