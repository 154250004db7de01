//! The Interactions API's resources: [`Interaction`], its [`Step`]s and their [`Content`], the
//! [`Usage`], and the tools and configuration a request carries.
//!
//! Member names are the API's own (snake_case). Every struct keeps members it does not know in
//! `extra`; every union ([`Step`], [`Content`], [`Annotation`], [`Tool`]) keeps a `type` it does
//! not know as [`Unknown`](super::Unknown); every enum keeps an unknown value as `Unknown(String)`.

use std::collections::BTreeMap;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::tagged::tagged_union;
use crate::types::wire::{wire_enum, wire_struct};

wire_enum! {
    /// Where an interaction stands.
    ///
    /// ```
    /// use gemini_proto::interactions::InteractionStatus;
    ///
    /// let status: InteractionStatus = serde_json::from_str(r#""requires_action""#).unwrap();
    /// assert_eq!(status, InteractionStatus::RequiresAction);
    /// assert!(!status.is_running());
    /// assert!(InteractionStatus::Queued.is_running());
    /// ```
    pub enum InteractionStatus {
        /// Being generated.
        InProgress = "in_progress",
        /// Waiting for the client: the model called a function whose result it needs.
        RequiresAction = "requires_action",
        /// Finished.
        Completed = "completed",
        /// Ended with an error.
        Failed = "failed",
        /// Cancelled by the client.
        Cancelled = "cancelled",
        /// Ended early (the output limit, say).
        Incomplete = "incomplete",
        /// Ended when its budget ran out.
        BudgetExceeded = "budget_exceeded",
        /// A background run waiting to start.
        Queued = "queued",
        /// A live interaction waiting for input.
        Idle = "idle",
        /// Stopped at the per-request output cap: sending the `continuation_token` continues it.
        RequiresContinuation = "requires_continuation",
    }
}

impl InteractionStatus {
    /// True while the service is still working on it (`in_progress`, `queued`): a background run
    /// to poll again.
    pub fn is_running(&self) -> bool {
        matches!(self, Self::InProgress | Self::Queued)
    }
}

/// A string read leniently: a JSON number or boolean becomes its text (an error `code` is a
/// string in the Interactions API and a number in `google.rpc.Status`).
pub(crate) struct LenientString(Option<String>);

impl From<LenientString> for Option<String> {
    fn from(value: LenientString) -> Self {
        value.0
    }
}

impl<'de> Deserialize<'de> for LenientString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LenientVisitor;
        impl Visitor<'_> for LenientVisitor {
            type Value = LenientString;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LenientString, E> {
                Ok(LenientString(Some(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<LenientString, E> {
                Ok(LenientString(Some(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<LenientString, E> {
                Ok(LenientString(Some(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<LenientString, E> {
                Ok(LenientString(Some(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<LenientString, E> {
                Ok(LenientString(Some(v.to_string())))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<LenientString, E> {
                Ok(LenientString(Some(v.to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<LenientString, E> {
                Ok(LenientString(None))
            }
        }
        deserializer.deserialize_any(LenientVisitor)
    }
}

wire_struct! {
    /// An error the service reports about an interaction: in an `error` event, or in
    /// [`Interaction::errors`].
    pub struct InteractionError {
        /// What kind of error (a URI or a name, such as `invalid_argument`; a number is read as
        /// its text).
        code: Option<String> = "code" as LenientString,
        /// What happened, for people.
        message: Option<String> = "message",
    }
}

wire_struct! {
    /// Tokens of one modality.
    pub struct ModalityTokens {
        /// `text`, `image`, `audio`, `video`, `document`, …
        modality: Option<String> = "modality",
        /// The count.
        tokens: Option<u64> = "tokens",
    }
}

wire_struct! {
    /// Token counts of an interaction. In a stream, the usage of `interaction.completed` is the
    /// final one; across the requests of a continued interaction the counts add up
    /// ([`plus`](Self::plus)).
    pub struct Usage {
        /// Everything.
        total_tokens: Option<u64> = "total_tokens",
        /// The input (the conversation so far).
        total_input_tokens: Option<u64> = "total_input_tokens",
        /// The input, per modality.
        input_tokens_by_modality: Vec<ModalityTokens> = "input_tokens_by_modality",
        /// Input tokens served from the cache.
        total_cached_tokens: Option<u64> = "total_cached_tokens",
        /// Cached tokens, per modality.
        cached_tokens_by_modality: Vec<ModalityTokens> = "cached_tokens_by_modality",
        /// The output.
        total_output_tokens: Option<u64> = "total_output_tokens",
        /// The output, per modality.
        output_tokens_by_modality: Vec<ModalityTokens> = "output_tokens_by_modality",
        /// Tokens of built-in tools' results (search results, …).
        total_tool_use_tokens: Option<u64> = "total_tool_use_tokens",
        /// Tool-use tokens, per modality.
        tool_use_tokens_by_modality: Vec<ModalityTokens> = "tool_use_tokens_by_modality",
        /// Thinking.
        total_thought_tokens: Option<u64> = "total_thought_tokens",
        /// The input of the first request, for an interaction continued over several.
        initial_input_tokens: Option<u64> = "initial_input_tokens",
    }
}

impl ModalityTokens {
    /// `tokens` of `modality`.
    pub fn new(modality: impl Into<String>, tokens: u64) -> Self {
        ModalityTokens {
            modality: Some(modality.into()),
            tokens: Some(tokens),
            ..ModalityTokens::default()
        }
    }
}

impl Usage {
    /// The sum of two usages (the requests of a continued interaction): every count and every
    /// per-modality count added; members this version does not know are taken from `other`.
    ///
    /// ```
    /// use gemini_proto::interactions::Usage;
    ///
    /// let hop: Usage = serde_json::from_str(r#"{"total_tokens": 10, "total_output_tokens": 4,
    ///     "input_tokens_by_modality": [{"modality": "text", "tokens": 6}]}"#).unwrap();
    /// let both = hop.plus(&hop);
    /// assert_eq!(both.total_tokens, Some(20));
    /// assert_eq!(both.input_tokens_by_modality[0].tokens, Some(12));
    /// ```
    pub fn plus(&self, other: &Usage) -> Usage {
        fn add(a: Option<u64>, b: Option<u64>) -> Option<u64> {
            match (a, b) {
                (Some(a), Some(b)) => Some(a.saturating_add(b)),
                (a, b) => a.or(b),
            }
        }
        fn by_modality(a: &[ModalityTokens], b: &[ModalityTokens]) -> Vec<ModalityTokens> {
            let mut out = a.to_vec();
            for entry in b {
                match out.iter_mut().find(|o| o.modality == entry.modality) {
                    Some(o) => o.tokens = add(o.tokens, entry.tokens),
                    None => out.push(entry.clone()),
                }
            }
            out
        }
        let mut extra = self.extra.clone();
        extra.extend(other.extra.clone());
        Usage {
            total_tokens: add(self.total_tokens, other.total_tokens),
            total_input_tokens: add(self.total_input_tokens, other.total_input_tokens),
            input_tokens_by_modality: by_modality(
                &self.input_tokens_by_modality,
                &other.input_tokens_by_modality,
            ),
            total_cached_tokens: add(self.total_cached_tokens, other.total_cached_tokens),
            cached_tokens_by_modality: by_modality(
                &self.cached_tokens_by_modality,
                &other.cached_tokens_by_modality,
            ),
            total_output_tokens: add(self.total_output_tokens, other.total_output_tokens),
            output_tokens_by_modality: by_modality(
                &self.output_tokens_by_modality,
                &other.output_tokens_by_modality,
            ),
            total_tool_use_tokens: add(self.total_tool_use_tokens, other.total_tool_use_tokens),
            tool_use_tokens_by_modality: by_modality(
                &self.tool_use_tokens_by_modality,
                &other.tool_use_tokens_by_modality,
            ),
            total_thought_tokens: add(self.total_thought_tokens, other.total_thought_tokens),
            initial_input_tokens: self.initial_input_tokens.or(other.initial_input_tokens),
            extra,
        }
    }
}

wire_struct! {
    /// A citation of a web page for a span of text. `start_index` and `end_index` are UTF-8 byte
    /// offsets into the text.
    pub struct UrlCitation {
        /// The page.
        url: Option<String> = "url",
        /// Its title.
        title: Option<String> = "title",
        /// First byte of the cited span.
        start_index: Option<u64> = "start_index",
        /// Byte after the cited span.
        end_index: Option<u64> = "end_index",
    }
}

tagged_union! {
    /// A note on a span of text: a citation, …
    pub enum Annotation {
        /// A web page backs the span.
        UrlCitation(UrlCitation) = "url_citation",
    }
}

wire_struct! {
    /// Text, with its annotations.
    pub struct TextContent {
        /// The text.
        text: Option<String> = "text",
        /// Citations and other notes on spans of it.
        annotations: Vec<Annotation> = "annotations",
    }
}

wire_struct! {
    /// An image, audio, video or document: inline (`data`, base64) or by `uri`.
    pub struct MediaContent {
        /// The bytes, base64-encoded as they travel.
        data: Option<String> = "data",
        /// Its media type (`image/png`, `audio/wav`, …).
        mime_type: Option<String> = "mime_type",
        /// Where it is, when not inline.
        uri: Option<String> = "uri",
        /// The resolution to process it at.
        resolution: Option<String> = "resolution",
    }
}

tagged_union! {
    /// A piece of content: text, an image, audio, …
    pub enum Content {
        /// Text.
        Text(TextContent) = "text",
        /// An image.
        Image(MediaContent) = "image",
        /// Audio.
        Audio(MediaContent) = "audio",
        /// A document (PDF, …).
        Document(MediaContent) = "document",
        /// A video.
        Video(MediaContent) = "video",
    }
}

impl Content {
    /// Text content.
    ///
    /// ```
    /// use gemini_proto::interactions::Content;
    ///
    /// assert_eq!(Content::text("Hi").as_text(), Some("Hi"));
    /// ```
    pub fn text(text: impl Into<String>) -> Self {
        Content::Text(TextContent {
            text: Some(text.into()),
            ..TextContent::default()
        })
    }

    /// The text, when this is text content.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Content::Text(text) => Some(text.text.as_deref().unwrap_or_default()),
            _ => None,
        }
    }
}

impl From<&str> for Content {
    fn from(text: &str) -> Self {
        Content::text(text)
    }
}

impl From<String> for Content {
    fn from(text: String) -> Self {
        Content::text(text)
    }
}

wire_struct! {
    /// The model thinking. The content of a thought is private; what is sent back is its
    /// `signature`, and with `thinking_summaries` on, a `summary`.
    pub struct ThoughtStep {
        /// Opaque, kept byte for byte: the service validates it when the history is sent back.
        signature: Option<String> = "signature",
        /// Summaries of the thinking.
        summary: Vec<Content> = "summary",
    }
}

wire_struct! {
    /// What the model said.
    pub struct ModelOutputStep {
        /// Text, images, audio, …
        content: Vec<Content> = "content",
        /// What went wrong producing it, if something did (a `google.rpc.Status`).
        error: Option<Value> = "error",
    }
}

wire_struct! {
    /// What the user said.
    pub struct UserInputStep {
        /// Text, images, audio, …
        content: Vec<Content> = "content",
    }
}

wire_struct! {
    /// The model calls a function of yours: answer with a `function_result` step naming the same
    /// `call_id`. Streamed, the arguments arrive as `arguments_delta` fragments of JSON text.
    pub struct FunctionCallStep {
        /// The call's id.
        id: Option<String> = "id",
        /// The function.
        name: Option<String> = "name",
        /// The arguments (a JSON object).
        arguments: Option<Value> = "arguments",
        /// Opaque, kept byte for byte.
        signature: Option<String> = "signature",
    }
}

impl FunctionCallStep {
    /// A call `id` of function `name` with `arguments`.
    pub fn new(id: impl Into<String>, name: impl Into<String>, arguments: Value) -> Self {
        FunctionCallStep {
            id: Some(id.into()),
            name: Some(name.into()),
            arguments: Some(arguments),
            ..FunctionCallStep::default()
        }
    }

    /// The arguments as an object (`None` when there are none or they are not an object).
    pub fn arguments_object(&self) -> Option<&serde_json::Map<String, Value>> {
        self.arguments.as_ref()?.as_object()
    }
}

wire_struct! {
    /// The result of a function call, sent by the client.
    pub struct FunctionResultStep {
        /// The `id` of the call this answers.
        call_id: Option<String> = "call_id",
        /// The function.
        name: Option<String> = "name",
        /// The result: text, a JSON value, or content.
        result: Option<Value> = "result",
        /// True when the call failed.
        is_error: Option<bool> = "is_error",
        /// Opaque, kept byte for byte.
        signature: Option<String> = "signature",
    }
}

impl FunctionResultStep {
    /// The result of call `call_id` of function `name`.
    ///
    /// ```
    /// use gemini_proto::interactions::FunctionResultStep;
    ///
    /// let step = FunctionResultStep::new("c1", "get_weather", serde_json::json!({"temp": 21}));
    /// assert_eq!(step.call_id.as_deref(), Some("c1"));
    /// ```
    pub fn new(call_id: impl Into<String>, name: impl Into<String>, result: Value) -> Self {
        FunctionResultStep {
            call_id: Some(call_id.into()),
            name: Some(name.into()),
            result: Some(result),
            ..FunctionResultStep::default()
        }
    }
}

wire_struct! {
    /// A call of a built-in tool (Google Search, code execution, URL context, …), made and
    /// answered by the service.
    pub struct ToolCallStep {
        /// The call's id.
        id: Option<String> = "id",
        /// The tool (MCP calls).
        name: Option<String> = "name",
        /// The MCP server (MCP calls).
        server_name: Option<String> = "server_name",
        /// The arguments.
        arguments: Option<Value> = "arguments",
        /// Opaque, kept byte for byte.
        signature: Option<String> = "signature",
    }
}

wire_struct! {
    /// The result of a built-in tool's call.
    pub struct ToolResultStep {
        /// The `id` of the call this answers.
        call_id: Option<String> = "call_id",
        /// The tool (MCP results).
        name: Option<String> = "name",
        /// The MCP server (MCP results).
        server_name: Option<String> = "server_name",
        /// The result.
        result: Option<Value> = "result",
        /// True when the call failed.
        is_error: Option<bool> = "is_error",
        /// Opaque, kept byte for byte.
        signature: Option<String> = "signature",
    }
}

tagged_union! {
    /// One step of an interaction's timeline: what the user said, the model's thinking and
    /// output, function calls and results, built-in tools' calls and results.
    ///
    /// ```
    /// use gemini_proto::interactions::Step;
    ///
    /// let step: Step = serde_json::from_str(
    ///     r#"{"content": [{"text": "Hello!", "type": "text"}], "type": "model_output"}"#,
    /// ).unwrap();
    /// assert_eq!(step.type_name(), "model_output");
    /// assert_eq!(step.text().as_deref(), Some("Hello!"));
    /// ```
    pub enum Step {
        /// The user's input.
        UserInput(UserInputStep) = "user_input",
        /// The model thinking.
        Thought(ThoughtStep) = "thought",
        /// The model's output.
        ModelOutput(ModelOutputStep) = "model_output",
        /// A call of one of your functions.
        FunctionCall(FunctionCallStep) = "function_call",
        /// Your function's result.
        FunctionResult(FunctionResultStep) = "function_result",
        /// A Google Search.
        GoogleSearchCall(ToolCallStep) = "google_search_call",
        /// Its results.
        GoogleSearchResult(ToolResultStep) = "google_search_result",
        /// Code run by the service.
        CodeExecutionCall(ToolCallStep) = "code_execution_call",
        /// Its output.
        CodeExecutionResult(ToolResultStep) = "code_execution_result",
        /// Pages fetched for context.
        UrlContextCall(ToolCallStep) = "url_context_call",
        /// What they held.
        UrlContextResult(ToolResultStep) = "url_context_result",
        /// A search of file stores.
        FileSearchCall(ToolCallStep) = "file_search_call",
        /// Its results.
        FileSearchResult(ToolResultStep) = "file_search_result",
        /// A Google Maps query.
        GoogleMapsCall(ToolCallStep) = "google_maps_call",
        /// Its results.
        GoogleMapsResult(ToolResultStep) = "google_maps_result",
        /// A call of an MCP server's tool.
        McpServerToolCall(ToolCallStep) = "mcp_server_tool_call",
        /// Its result.
        McpServerToolResult(ToolResultStep) = "mcp_server_tool_result",
    }
}

impl Step {
    /// A user turn.
    ///
    /// ```
    /// use gemini_proto::interactions::Step;
    ///
    /// assert_eq!(Step::user("Hi").type_name(), "user_input");
    /// ```
    pub fn user(content: impl Into<Content>) -> Self {
        Step::UserInput(UserInputStep {
            content: vec![content.into()],
            ..UserInputStep::default()
        })
    }

    /// A model turn of text (for a conversation kept by the client).
    pub fn model(text: impl Into<String>) -> Self {
        Step::ModelOutput(ModelOutputStep {
            content: vec![Content::text(text)],
            ..ModelOutputStep::default()
        })
    }

    /// The text of this step's content (model output or user input), concatenated; `None` when
    /// it holds no text content.
    pub fn text(&self) -> Option<String> {
        let content = match self {
            Step::ModelOutput(step) => &step.content,
            Step::UserInput(step) => &step.content,
            _ => return None,
        };
        let mut texts = content.iter().filter_map(Content::as_text).peekable();
        texts.peek()?;
        Some(texts.collect())
    }

    /// The signature of a step that carries one (thoughts, function and tool calls).
    pub fn signature(&self) -> Option<&str> {
        match self {
            Step::Thought(s) => s.signature.as_deref(),
            Step::FunctionCall(s) => s.signature.as_deref(),
            Step::FunctionResult(s) => s.signature.as_deref(),
            Step::GoogleSearchCall(s)
            | Step::CodeExecutionCall(s)
            | Step::UrlContextCall(s)
            | Step::FileSearchCall(s)
            | Step::GoogleMapsCall(s)
            | Step::McpServerToolCall(s) => s.signature.as_deref(),
            Step::GoogleSearchResult(s)
            | Step::CodeExecutionResult(s)
            | Step::UrlContextResult(s)
            | Step::FileSearchResult(s)
            | Step::GoogleMapsResult(s)
            | Step::McpServerToolResult(s) => s.signature.as_deref(),
            Step::UserInput(_) | Step::ModelOutput(_) | Step::Unknown(_) => None,
        }
    }
}

impl From<FunctionResultStep> for Step {
    fn from(step: FunctionResultStep) -> Self {
        Step::FunctionResult(step)
    }
}

/// What an interaction starts from: a prompt, content, or a timeline of steps (a conversation
/// kept by the client, or function results).
///
/// ```
/// use gemini_proto::interactions::{Input, Step};
///
/// let prompt = Input::from("Tell me a joke.");
/// assert_eq!(serde_json::to_value(&prompt).unwrap(), "Tell me a joke.");
/// let turns = Input::from(vec![Step::user("Hi"), Step::model("Hello!"), Step::user("Bye")]);
/// let back: Input = serde_json::from_value(serde_json::to_value(&turns).unwrap()).unwrap();
/// assert_eq!(back, turns);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Input {
    /// A prompt.
    Text(String),
    /// One piece of content.
    Content(Content),
    /// Several pieces of content (one user turn).
    Contents(Vec<Content>),
    /// A timeline of steps.
    Steps(Vec<Step>),
}

impl Default for Input {
    fn default() -> Self {
        Input::Text(String::new())
    }
}

impl Input {
    /// The input as the steps of a timeline: a prompt or contents become one `user_input` step.
    pub fn to_steps(&self) -> Vec<Step> {
        match self {
            Input::Text(text) => vec![Step::user(text.as_str())],
            Input::Content(content) => vec![Step::user(content.clone())],
            Input::Contents(contents) => vec![Step::UserInput(UserInputStep {
                content: contents.clone(),
                ..UserInputStep::default()
            })],
            Input::Steps(steps) => steps.clone(),
        }
    }
}

impl From<&str> for Input {
    fn from(text: &str) -> Self {
        Input::Text(text.to_owned())
    }
}

impl From<String> for Input {
    fn from(text: String) -> Self {
        Input::Text(text)
    }
}

impl From<&String> for Input {
    fn from(text: &String) -> Self {
        Input::Text(text.clone())
    }
}

impl From<Content> for Input {
    fn from(content: Content) -> Self {
        Input::Content(content)
    }
}

impl From<Vec<Content>> for Input {
    fn from(contents: Vec<Content>) -> Self {
        Input::Contents(contents)
    }
}

impl From<Vec<Step>> for Input {
    fn from(steps: Vec<Step>) -> Self {
        Input::Steps(steps)
    }
}

impl From<Step> for Input {
    fn from(step: Step) -> Self {
        Input::Steps(vec![step])
    }
}

impl From<FunctionResultStep> for Input {
    fn from(step: FunctionResultStep) -> Self {
        Input::Steps(vec![Step::FunctionResult(step)])
    }
}

impl Serialize for Input {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Input::Text(text) => serializer.serialize_str(text),
            Input::Content(content) => content.serialize(serializer),
            Input::Contents(contents) => contents.serialize(serializer),
            Input::Steps(steps) => steps.serialize(serializer),
        }
    }
}

crate::json_reader::read_via_serde!(Input);

impl<'de> Deserialize<'de> for Input {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let value = Value::deserialize(deserializer)?;
        let input = match value {
            Value::String(text) => Input::Text(text),
            Value::Object(_) => {
                Input::Content(serde_json::from_value(value).map_err(D::Error::custom)?)
            }
            Value::Array(items) => {
                // A timeline when an element names a step type; otherwise contents.
                let steps = items.iter().any(|item| {
                    item.get("type")
                        .and_then(Value::as_str)
                        .is_some_and(|tag| !matches!(Step::from_type_name(tag), Step::Unknown(_)))
                });
                let items = Value::Array(items);
                if steps {
                    Input::Steps(serde_json::from_value(items).map_err(D::Error::custom)?)
                } else {
                    Input::Contents(serde_json::from_value(items).map_err(D::Error::custom)?)
                }
            }
            other => {
                return Err(D::Error::custom(format_args!(
                    "an interaction's input is text, content or steps, not {other}"
                )));
            }
        };
        Ok(input)
    }
}

impl Step {
    /// An empty step of the type `tag` (`Unknown` for a type this version does not know).
    pub(crate) fn from_type_name(tag: &str) -> Step {
        let mut object = serde_json::Map::new();
        object.insert("type".to_owned(), Value::String(tag.to_owned()));
        serde_json::from_value(Value::Object(object))
            .unwrap_or_else(|_| Step::Unknown(super::Unknown::default()))
    }
}

wire_struct! {
    /// A function of yours the model may call.
    pub struct FunctionTool {
        /// Its name.
        name: Option<String> = "name",
        /// What it does, for the model.
        description: Option<String> = "description",
        /// Its parameters, as a JSON schema.
        parameters: Option<Value> = "parameters",
    }
}

wire_struct! {
    /// A built-in tool (its settings, if any, are kept in `extra`).
    pub struct BuiltinTool {
    }
}

tagged_union! {
    /// A tool the model may use.
    ///
    /// ```
    /// use gemini_proto::interactions::Tool;
    /// use serde_json::json;
    ///
    /// let tool = Tool::function("get_weather", "The weather in a city.", json!({
    ///     "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]
    /// }));
    /// assert_eq!(serde_json::to_value(&tool).unwrap()["type"], "function");
    /// assert_eq!(serde_json::to_value(Tool::google_search()).unwrap(), json!({"type": "google_search"}));
    /// ```
    pub enum Tool {
        /// One of your functions.
        Function(FunctionTool) = "function",
        /// Google Search.
        GoogleSearch(BuiltinTool) = "google_search",
        /// Code execution.
        CodeExecution(BuiltinTool) = "code_execution",
        /// Fetching URLs for context.
        UrlContext(BuiltinTool) = "url_context",
        /// Google Maps.
        GoogleMaps(BuiltinTool) = "google_maps",
        /// Search of file stores.
        FileSearch(BuiltinTool) = "file_search",
        /// An MCP server.
        McpServer(BuiltinTool) = "mcp_server",
    }
}

impl Tool {
    /// A function: its name, description and parameters (a JSON schema).
    pub fn function(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: Value,
    ) -> Self {
        Tool::Function(FunctionTool {
            name: Some(name.into()),
            description: Some(description.into()),
            parameters: Some(parameters),
            ..FunctionTool::default()
        })
    }

    /// Google Search.
    pub fn google_search() -> Self {
        Tool::GoogleSearch(BuiltinTool::default())
    }

    /// Code execution.
    pub fn code_execution() -> Self {
        Tool::CodeExecution(BuiltinTool::default())
    }

    /// URL context.
    pub fn url_context() -> Self {
        Tool::UrlContext(BuiltinTool::default())
    }
}

wire_struct! {
    /// How the model generates.
    pub struct GenerationConfig {
        /// Randomness, usually in `[0, 2]`.
        temperature: Option<f64> = "temperature",
        /// Nucleus sampling.
        top_p: Option<f64> = "top_p",
        /// A seed, for repeatable answers.
        seed: Option<i64> = "seed",
        /// Generation stops before any of these.
        stop_sequences: Vec<String> = "stop_sequences",
        /// The longest answer, in tokens.
        max_output_tokens: Option<u32> = "max_output_tokens",
        /// How hard to think: `minimal`, `low`, `medium`, `high`.
        thinking_level: Option<String> = "thinking_level",
        /// `auto` to receive summaries of the thinking, `none` for none.
        thinking_summaries: Option<String> = "thinking_summaries",
        /// Which tools the model may or must call.
        tool_choice: Option<Value> = "tool_choice",
    }
}

wire_struct! {
    /// An interaction: one exchange with a model or an agent, stored by the service unless the
    /// request said `store: false`.
    ///
    /// A unary `create` returns the output steps; a stream's events fold into the same value
    /// ([`Assembler`](super::Assembler)).
    ///
    /// ```
    /// use gemini_proto::interactions::{Interaction, InteractionStatus};
    ///
    /// let interaction: Interaction = serde_json::from_str(r#"{
    ///     "id": "v1_abc", "status": "completed", "model": "gemini-2.5-flash",
    ///     "steps": [{"signature": "c2ln", "type": "thought"},
    ///               {"content": [{"text": "Hello!", "type": "text"}], "type": "model_output"}],
    ///     "usage": {"total_tokens": 12}, "new_member": true}"#).unwrap();
    /// assert_eq!(interaction.status, Some(InteractionStatus::Completed));
    /// assert_eq!(interaction.text().as_deref(), Some("Hello!"));
    /// assert_eq!(interaction.extra["new_member"], true);
    /// ```
    pub struct Interaction {
        /// Its id: pass it as `previous_interaction_id` to continue the conversation.
        id: Option<String> = "id",
        /// Where it stands.
        status: Option<InteractionStatus> = "status",
        /// The model that answered.
        model: Option<String> = "model",
        /// The agent that answered.
        agent: Option<Value> = "agent",
        /// The resource type (`interaction`).
        object: Option<String> = "object",
        /// When it was created (RFC 3339).
        created: Option<String> = "created",
        /// When it last changed (RFC 3339).
        updated: Option<String> = "updated",
        /// The service tier that ran it.
        service_tier: Option<String> = "service_tier",
        /// The interaction it continues.
        previous_interaction_id: Option<String> = "previous_interaction_id",
        /// What it started from.
        input: Option<Input> = "input",
        /// The system instruction.
        system_instruction: Option<String> = "system_instruction",
        /// The tools it could use.
        tools: Vec<Tool> = "tools",
        /// How it was generated.
        generation_config: Option<GenerationConfig> = "generation_config",
        /// The format asked for the output.
        response_format: Option<Value> = "response_format",
        /// The timeline: thoughts, output, calls and results.
        steps: Vec<Step> = "steps",
        /// Token counts.
        usage: Option<Usage> = "usage",
        /// With status `requires_continuation`: what continues it.
        continuation_token: Option<String> = "continuation_token",
        /// What went wrong, when it failed.
        errors: Vec<InteractionError> = "errors",
        /// Labels given by the client.
        labels: BTreeMap<String, String> = "labels",
    }
}

impl Interaction {
    /// The text of its model output, concatenated; `None` when there is no text output.
    pub fn text(&self) -> Option<String> {
        let mut texts = self
            .steps
            .iter()
            .filter(|s| matches!(s, Step::ModelOutput(_)))
            .filter_map(Step::text)
            .peekable();
        texts.peek()?;
        Some(texts.collect())
    }

    /// Its function calls, in order: answer each with a
    /// [`FunctionResultStep`] (status `requires_action`).
    pub fn function_calls(&self) -> impl Iterator<Item = &FunctionCallStep> {
        self.steps.iter().filter_map(|step| match step {
            Step::FunctionCall(call) => Some(call),
            _ => None,
        })
    }

    /// The text of its thought summaries, concatenated; `None` when there are none.
    pub fn thought_summary(&self) -> Option<String> {
        let mut texts = self
            .steps
            .iter()
            .filter_map(|step| match step {
                Step::Thought(thought) => Some(thought.summary.iter().filter_map(Content::as_text)),
                _ => None,
            })
            .flatten()
            .peekable();
        texts.peek()?;
        Some(texts.collect())
    }

    /// True while the service is still working on it (see [`InteractionStatus::is_running`]).
    pub fn is_running(&self) -> bool {
        self.status
            .as_ref()
            .is_some_and(InteractionStatus::is_running)
    }
}
