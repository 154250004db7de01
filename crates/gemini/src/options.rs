//! Per-call settings, and the setters every generate request builder shares (written once, used
//! by the async and the blocking builders).

use gemini_proto::retry::RetryPolicy;
use gemini_transport::Timeouts;

/// Settings of one call that override the client's.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallOptions {
    pub(crate) retry: Option<RetryPolicy>,
    pub(crate) timeouts: Option<Timeouts>,
    /// `None`: the client's setting.
    pub(crate) automatic_continuation: Option<bool>,
    pub(crate) confirmed_only: bool,
    pub(crate) deadline: Option<std::time::Duration>,
    /// A stream's content is not folded into its snapshot.
    pub(crate) metadata_only: bool,
}

impl CallOptions {
    pub(crate) fn retry_policy(&self, client: &crate::client::Inner) -> RetryPolicy {
        self.retry.clone().unwrap_or_else(|| client.retry.clone())
    }
}

/// `retry_policy` and `timeouts` for a builder with an `options: CallOptions` field.
macro_rules! call_option_setters {
    () => {
        /// Overrides the client's retry policy for this call
        /// ([`RetryPolicy::disabled`](crate::RetryPolicy::disabled) turns retries off).
        pub fn retry_policy(mut self, policy: $crate::RetryPolicy) -> Self {
            self.options.retry = Some(policy);
            self
        }

        /// Overrides the client's transport timeouts for this call.
        pub fn timeouts(mut self, timeouts: $crate::Timeouts) -> Self {
            self.options.timeouts = Some(timeouts);
            self
        }
    };
}

/// The generation settings, for a builder with a `request: GenerateContentRequest` field.
macro_rules! generate_setters {
    () => {
        /// Replaces the whole generation config.
        pub fn config(mut self, config: $crate::types::GenerationConfig) -> Self {
            self.request.generation_config = Some(config);
            self
        }

        fn generation_config_mut(&mut self) -> &mut $crate::types::GenerationConfig {
            self.request
                .generation_config
                .get_or_insert_with(Default::default)
        }

        /// Randomness of the output, usually in `[0, 2]`.
        pub fn temperature(mut self, temperature: f32) -> Self {
            self.generation_config_mut().temperature = Some(temperature);
            self
        }

        /// Nucleus sampling: the smallest set of tokens whose probabilities add up to `top_p`.
        pub fn top_p(mut self, top_p: f32) -> Self {
            self.generation_config_mut().top_p = Some(top_p);
            self
        }

        /// Sampling from the `top_k` most likely tokens.
        pub fn top_k(mut self, top_k: u32) -> Self {
            self.generation_config_mut().top_k = Some(top_k);
            self
        }

        /// The longest answer, in tokens; a longer one ends with finish reason `MAX_TOKENS`.
        pub fn max_output_tokens(mut self, tokens: u32) -> Self {
            self.generation_config_mut().max_output_tokens = Some(tokens);
            self
        }

        /// Sequences that end the answer where they would appear.
        pub fn stop_sequences<I, S>(mut self, sequences: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: Into<String>,
        {
            self.generation_config_mut().stop_sequences =
                sequences.into_iter().map(Into::into).collect();
            self
        }

        /// A seed, for answers that repeat.
        pub fn seed(mut self, seed: i64) -> Self {
            self.generation_config_mut().seed = Some(seed);
            self
        }

        /// The number of candidate answers.
        pub fn candidate_count(mut self, count: u32) -> Self {
            self.generation_config_mut().candidate_count = Some(count);
            self
        }

        /// The MIME type of the answer, such as `application/json`.
        pub fn response_mime_type(mut self, mime_type: impl Into<String>) -> Self {
            self.generation_config_mut().response_mime_type = Some(mime_type.into());
            self
        }

        /// A schema the answer conforms to (with `response_mime_type("application/json")`).
        pub fn response_schema(mut self, schema: $crate::types::Schema) -> Self {
            self.generation_config_mut().response_schema = Some(schema);
            self
        }

        /// A JSON Schema the answer conforms to.
        pub fn response_json_schema(mut self, schema: serde_json::Value) -> Self {
            self.generation_config_mut().response_json_schema = Some(schema);
            self
        }

        /// How the model thinks (budget, level, whether thought summaries are returned).
        pub fn thinking(mut self, thinking: $crate::types::ThinkingConfig) -> Self {
            self.generation_config_mut().thinking_config = Some(thinking);
            self
        }

        /// Instructions that steer the model for the whole request.
        pub fn system_instruction(mut self, instruction: impl $crate::types::IntoParts) -> Self {
            self.request.system_instruction = Some($crate::types::Content::new(instruction));
            self
        }

        /// Adds a tool the model may use (functions, Google Search, code execution, …).
        pub fn tool(mut self, tool: $crate::types::Tool) -> Self {
            self.request.tools.push(tool);
            self
        }

        /// How the tools are used.
        pub fn tool_config(mut self, config: $crate::types::ToolConfig) -> Self {
            self.request.tool_config = Some(config);
            self
        }

        /// Adds a safety setting.
        pub fn safety_setting(mut self, setting: $crate::types::SafetySetting) -> Self {
            self.request.safety_settings.push(setting);
            self
        }

        /// Uses a cached content (`cachedContents/…`) as context.
        pub fn cached_content(mut self, name: impl Into<String>) -> Self {
            self.request.cached_content = Some(name.into());
            self
        }

        /// Continues an answer from a token instead of starting it: the token of an error that
        /// gave up ([`Error::continuation_token`](crate::Error::continuation_token)), or of a
        /// `CONTINUATION` finish reason when automatic continuation is off. Send the same request
        /// that produced it.
        pub fn continuation_token(mut self, token: $crate::types::ContinuationToken) -> Self {
            self.request.continuation_token = Some(token);
            self
        }

        /// Follows continuation tokens over several requests and resumes broken streams from
        /// checkpoints (default: the client's setting, on unless changed). Off, the
        /// `CONTINUATION` finish reason and its token reach you as they came.
        pub fn automatic_continuation(mut self, enabled: bool) -> Self {
            self.options.automatic_continuation = Some(enabled);
            self
        }

        /// Hands out only confirmed output: chunks are held back until a checkpoint (or the
        /// end) confirms them, so a resumed stream never takes anything back — for consumers
        /// that cannot erase what they showed. Costs latency (default off).
        pub fn confirmed_only(mut self, enabled: bool) -> Self {
            self.options.confirmed_only = enabled;
            self
        }

        /// A bound on the whole call — every continuation request, retry and reconnect — from
        /// its first request; past it the call fails with a timeout that keeps what arrived.
        /// The transport's timeouts still bound each request.
        pub fn deadline(mut self, deadline: std::time::Duration) -> Self {
            self.options.deadline = Some(deadline);
            self
        }
    };
}

/// The settings of a streamed generate request only.
macro_rules! stream_setters {
    () => {
        /// Folds each chunk into the stream's `snapshot()` (default on). Off, a stream holds
        /// the same memory however long it runs — for consumers that handle each chunk as it
        /// comes: `snapshot()`, `final_response()` and a failure's
        /// [`partial_response`](crate::Error::partial_response) then keep what each chunk
        /// replaces (finish reason, usage, safety ratings, model version) but no parts.
        pub fn aggregate(mut self, enabled: bool) -> Self {
            self.options.metadata_only = !enabled;
            self
        }
    };
}

pub(crate) use {call_option_setters, generate_setters, stream_setters};
