//! Request bodies.

use super::config::{GenerationConfig, SafetySetting, Tool, ToolConfig};
use super::content::{Content, IntoParts};
use super::continuation::ContinuationToken;
use super::enums::TaskType;
use super::wire::wire_struct;

wire_struct! {
    /// The body of `generateContent` and `streamGenerateContent`.
    ///
    /// ```
    /// use gemini_proto::types::{Content, GenerateContentRequest, GenerationConfig};
    ///
    /// let request = GenerateContentRequest::new([Content::user("Write a haiku about Rust.")])
    ///     .with_system_instruction("You are a poet.")
    ///     .with_generation_config(GenerationConfig::default().with_temperature(0.9));
    /// let json = serde_json::to_value(&request).unwrap();
    /// assert_eq!(json["contents"][0]["role"], "user");
    /// assert_eq!(json["systemInstruction"]["parts"][0]["text"], "You are a poet.");
    /// ```
    pub struct GenerateContentRequest {
        /// The model, as `models/{id}`; only used inside batch requests (the URL names the model).
        model: Option<String> = "model",
        /// The conversation so far, ending with the new user turn.
        contents: Vec<Content> = "contents",
        /// Instructions that steer the model for the whole conversation.
        system_instruction: Option<Content> = "systemInstruction",
        /// Tools the model may use.
        tools: Vec<Tool> = "tools",
        /// How tools are used.
        tool_config: Option<ToolConfig> = "toolConfig",
        /// Safety filter settings.
        safety_settings: Vec<SafetySetting> = "safetySettings",
        /// A cached content to use as context, as `cachedContents/{id}`.
        cached_content: Option<String> = "cachedContent",
        /// Generation options.
        generation_config: Option<GenerationConfig> = "generationConfig",
        /// Continues an answer from this point instead of starting it (see
        /// [`ContinuationToken`]).
        continuation_token: Option<ContinuationToken> = "continuationToken",
    }
}

impl GenerateContentRequest {
    /// A request with the given conversation.
    pub fn new(contents: impl IntoIterator<Item = Content>) -> Self {
        Self {
            contents: contents.into_iter().collect(),
            ..Self::default()
        }
    }

    /// A request with a single user turn.
    pub fn from_prompt(prompt: impl IntoParts) -> Self {
        Self::new([Content::user(prompt)])
    }

    /// Sets the system instruction.
    pub fn with_system_instruction(mut self, instruction: impl IntoParts) -> Self {
        self.system_instruction = Some(Content::new(instruction));
        self
    }

    /// Sets the generation options.
    pub fn with_generation_config(mut self, config: GenerationConfig) -> Self {
        self.generation_config = Some(config);
        self
    }

    /// Adds a tool.
    pub fn with_tool(mut self, tool: Tool) -> Self {
        self.tools.push(tool);
        self
    }

    /// Sets the tool configuration.
    pub fn with_tool_config(mut self, config: ToolConfig) -> Self {
        self.tool_config = Some(config);
        self
    }

    /// Adds a safety setting.
    pub fn with_safety_setting(mut self, setting: SafetySetting) -> Self {
        self.safety_settings.push(setting);
        self
    }

    /// Uses a cached content as context.
    pub fn with_cached_content(mut self, name: impl Into<String>) -> Self {
        self.cached_content = Some(name.into());
        self
    }

    /// Continues an answer from `token` (sent with the same request that produced it).
    pub fn with_continuation_token(mut self, token: ContinuationToken) -> Self {
        self.continuation_token = Some(token);
        self
    }
}

wire_struct! {
    /// The body of `countTokens`: either bare contents or a whole generate request.
    pub struct CountTokensRequest {
        /// Contents to count.
        contents: Vec<Content> = "contents",
        /// A whole request to count (its model, system instruction and tools count too).
        generate_content_request: Option<GenerateContentRequest> = "generateContentRequest",
    }
}

impl CountTokensRequest {
    /// Counts the tokens of `contents`.
    pub fn new(contents: impl IntoIterator<Item = Content>) -> Self {
        Self {
            contents: contents.into_iter().collect(),
            ..Self::default()
        }
    }

    /// Counts the tokens of a whole generate request.
    pub fn from_request(request: GenerateContentRequest) -> Self {
        Self {
            generate_content_request: Some(request),
            ..Self::default()
        }
    }
}

wire_struct! {
    /// The body of `embedContent`, and one element of `batchEmbedContents`.
    pub struct EmbedContentRequest {
        /// The model, as `models/{id}` (required inside a batch).
        model: Option<String> = "model",
        /// The content to embed (its text parts are used).
        content: Option<Content> = "content",
        /// What the embedding is for.
        task_type: Option<TaskType> = "taskType",
        /// A title, for `RETRIEVAL_DOCUMENT`.
        title: Option<String> = "title",
        /// Truncate the embedding to this many dimensions.
        output_dimensionality: Option<u32> = "outputDimensionality",
    }
}

impl EmbedContentRequest {
    /// Embeds `content`.
    pub fn new(content: impl IntoParts) -> Self {
        Self {
            content: Some(Content::new(content)),
            ..Self::default()
        }
    }

    /// Sets the task type.
    pub fn with_task_type(mut self, task_type: TaskType) -> Self {
        self.task_type = Some(task_type);
        self
    }

    /// Sets the output dimensionality.
    pub fn with_output_dimensionality(mut self, dimensions: u32) -> Self {
        self.output_dimensionality = Some(dimensions);
        self
    }
}

wire_struct! {
    /// The body of `batchEmbedContents`.
    pub struct BatchEmbedContentsRequest {
        /// One request per content; each names its model.
        requests: Vec<EmbedContentRequest> = "requests",
    }
}
