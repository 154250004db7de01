//! Generation configuration, safety settings, tools and schemas.

use std::collections::BTreeMap;

use serde_json::Value;

use super::enums::{
    DynamicRetrievalMode, FunctionBehavior, FunctionCallingMode, HarmBlockThreshold, HarmCategory,
    MediaResolution, Modality, SchemaType, ThinkingLevel,
};
use super::wire::{LenientInt64, wire_struct};

wire_struct! {
    /// Options that shape generation: sampling, limits, output format, thinking.
    ///
    /// Build one with `Default` and the `with_*` setters:
    ///
    /// ```
    /// use gemini_proto::types::{GenerationConfig, ThinkingConfig};
    ///
    /// let config = GenerationConfig::default()
    ///     .with_temperature(0.2)
    ///     .with_max_output_tokens(1024)
    ///     .with_thinking_config(ThinkingConfig::default().with_include_thoughts(true));
    /// let json = serde_json::to_value(&config).unwrap();
    /// assert_eq!(json["maxOutputTokens"], 1024);
    /// assert_eq!(json["thinkingConfig"]["includeThoughts"], true);
    /// ```
    pub struct GenerationConfig {
        /// How many candidates to generate.
        candidate_count: Option<u32> = "candidateCount",
        /// Sequences that stop generation (up to 5); not included in the output.
        stop_sequences: Vec<String> = "stopSequences",
        /// The maximum number of tokens in a candidate.
        max_output_tokens: Option<u32> = "maxOutputTokens",
        /// Randomness of sampling, 0.0 to 2.0.
        temperature: Option<f32> = "temperature",
        /// Nucleus sampling probability mass.
        top_p: Option<f32> = "topP",
        /// Top-k sampling.
        top_k: Option<u32> = "topK",
        /// A seed for reproducible sampling.
        seed: Option<i64> = "seed",
        /// The MIME type of the output: `text/plain`, `application/json`, `text/x.enum`.
        response_mime_type: Option<String> = "responseMimeType",
        /// The schema the output must follow (OpenAPI subset), with `application/json` output.
        response_schema: Option<Schema> = "responseSchema",
        /// The schema the output must follow, as raw JSON Schema (an alternative to `response_schema`).
        response_json_schema: Option<Value> = "responseJsonSchema",
        /// Penalty for tokens already present in the output.
        presence_penalty: Option<f32> = "presencePenalty",
        /// Penalty growing with how often a token was already used.
        frequency_penalty: Option<f32> = "frequencyPenalty",
        /// Return the log probabilities of the chosen tokens.
        response_logprobs: Option<bool> = "responseLogprobs",
        /// How many top candidates' log probabilities to return per step.
        logprobs: Option<u32> = "logprobs",
        /// Enable enhanced civic answers.
        enable_enhanced_civic_answers: Option<bool> = "enableEnhancedCivicAnswers",
        /// The modalities to answer in, such as text and images.
        response_modalities: Vec<Modality> = "responseModalities",
        /// Speech output settings.
        speech_config: Option<SpeechConfig> = "speechConfig",
        /// Thinking settings.
        thinking_config: Option<ThinkingConfig> = "thinkingConfig",
        /// Image output settings.
        image_config: Option<ImageConfig> = "imageConfig",
        /// The resolution at which input media are tokenized.
        media_resolution: Option<MediaResolution> = "mediaResolution",
    }
}

impl GenerationConfig {
    /// Sets the number of candidates.
    pub fn with_candidate_count(mut self, count: u32) -> Self {
        self.candidate_count = Some(count);
        self
    }

    /// Sets the stop sequences.
    pub fn with_stop_sequences<I, S>(mut self, sequences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.stop_sequences = sequences.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the maximum number of output tokens.
    pub fn with_max_output_tokens(mut self, tokens: u32) -> Self {
        self.max_output_tokens = Some(tokens);
        self
    }

    /// Sets the temperature.
    pub fn with_temperature(mut self, temperature: f32) -> Self {
        self.temperature = Some(temperature);
        self
    }

    /// Sets top-p.
    pub fn with_top_p(mut self, top_p: f32) -> Self {
        self.top_p = Some(top_p);
        self
    }

    /// Sets top-k.
    pub fn with_top_k(mut self, top_k: u32) -> Self {
        self.top_k = Some(top_k);
        self
    }

    /// Sets the seed.
    pub fn with_seed(mut self, seed: i64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Sets the output MIME type.
    pub fn with_response_mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.response_mime_type = Some(mime_type.into());
        self
    }

    /// Asks for JSON output following `schema`.
    pub fn with_response_schema(mut self, schema: Schema) -> Self {
        self.response_mime_type
            .get_or_insert_with(|| "application/json".to_owned());
        self.response_schema = Some(schema);
        self
    }

    /// Asks for JSON output following a raw JSON Schema.
    pub fn with_response_json_schema(mut self, schema: Value) -> Self {
        self.response_mime_type
            .get_or_insert_with(|| "application/json".to_owned());
        self.response_json_schema = Some(schema);
        self
    }

    /// Sets the response modalities.
    pub fn with_response_modalities(
        mut self,
        modalities: impl IntoIterator<Item = Modality>,
    ) -> Self {
        self.response_modalities = modalities.into_iter().collect();
        self
    }

    /// Sets the thinking configuration.
    pub fn with_thinking_config(mut self, thinking: ThinkingConfig) -> Self {
        self.thinking_config = Some(thinking);
        self
    }

    /// Sets the presence penalty.
    pub fn with_presence_penalty(mut self, penalty: f32) -> Self {
        self.presence_penalty = Some(penalty);
        self
    }

    /// Sets the frequency penalty.
    pub fn with_frequency_penalty(mut self, penalty: f32) -> Self {
        self.frequency_penalty = Some(penalty);
        self
    }

    /// Asks for log probabilities of the chosen tokens and `top` alternatives per step.
    pub fn with_logprobs(mut self, top: u32) -> Self {
        self.response_logprobs = Some(true);
        self.logprobs = Some(top);
        self
    }

    /// Sets the media resolution.
    pub fn with_media_resolution(mut self, resolution: MediaResolution) -> Self {
        self.media_resolution = Some(resolution);
        self
    }

    /// Sets the speech configuration.
    pub fn with_speech_config(mut self, speech: SpeechConfig) -> Self {
        self.speech_config = Some(speech);
        self
    }

    /// Sets the image configuration.
    pub fn with_image_config(mut self, image: ImageConfig) -> Self {
        self.image_config = Some(image);
        self
    }
}

wire_struct! {
    /// Thinking settings for models that reason before answering.
    pub struct ThinkingConfig {
        /// Return thought summaries as parts marked `thought`.
        include_thoughts: Option<bool> = "includeThoughts",
        /// Tokens the model may spend thinking (0 turns thinking off where allowed, -1 lets the model decide).
        thinking_budget: Option<i32> = "thinkingBudget",
        /// A coarse thinking level (Gemini 3 and later), instead of a budget.
        thinking_level: Option<ThinkingLevel> = "thinkingLevel",
    }
}

impl ThinkingConfig {
    /// Whether to return thought summaries.
    pub fn with_include_thoughts(mut self, include: bool) -> Self {
        self.include_thoughts = Some(include);
        self
    }

    /// Sets the thinking budget in tokens.
    pub fn with_thinking_budget(mut self, budget: i32) -> Self {
        self.thinking_budget = Some(budget);
        self
    }

    /// Sets the thinking level.
    pub fn with_thinking_level(mut self, level: ThinkingLevel) -> Self {
        self.thinking_level = Some(level);
        self
    }
}

wire_struct! {
    /// Speech output settings.
    pub struct SpeechConfig {
        /// The voice, for a single speaker.
        voice_config: Option<VoiceConfig> = "voiceConfig",
        /// Voices for several speakers (kept as JSON).
        multi_speaker_voice_config: Option<Value> = "multiSpeakerVoiceConfig",
        /// The BCP-47 language code of the speech.
        language_code: Option<String> = "languageCode",
    }
}

wire_struct! {
    /// A voice.
    pub struct VoiceConfig {
        /// A prebuilt voice.
        prebuilt_voice_config: Option<PrebuiltVoiceConfig> = "prebuiltVoiceConfig",
    }
}

wire_struct! {
    /// A prebuilt voice by name.
    pub struct PrebuiltVoiceConfig {
        /// The voice's name, such as `Kore`.
        voice_name: Option<String> = "voiceName",
    }
}

wire_struct! {
    /// Image output settings.
    pub struct ImageConfig {
        /// The aspect ratio, such as `16:9`.
        aspect_ratio: Option<String> = "aspectRatio",
        /// The size, such as `1K` or `2K`.
        image_size: Option<String> = "imageSize",
    }
}

wire_struct! {
    /// A safety filter setting for one harm category.
    pub struct SafetySetting {
        /// The category.
        category: Option<HarmCategory> = "category",
        /// The blocking threshold.
        threshold: Option<HarmBlockThreshold> = "threshold",
    }
}

impl SafetySetting {
    /// Blocks `category` at `threshold`.
    pub fn new(category: HarmCategory, threshold: HarmBlockThreshold) -> Self {
        Self {
            category: Some(category),
            threshold: Some(threshold),
            ..Self::default()
        }
    }
}

wire_struct! {
    /// A data schema (the OpenAPI 3.0 subset the API accepts), for structured output and function
    /// parameters.
    ///
    /// ```
    /// use gemini_proto::types::{Schema, SchemaType};
    ///
    /// let recipe = Schema::object([
    ///     ("name", Schema::new(SchemaType::String)),
    ///     ("minutes", Schema::new(SchemaType::Integer)),
    /// ])
    /// .with_required(["name"]);
    /// let json = serde_json::to_value(&recipe).unwrap();
    /// assert_eq!(json["type"], "OBJECT");
    /// assert_eq!(json["properties"]["minutes"]["type"], "INTEGER");
    /// assert_eq!(json["propertyOrdering"], serde_json::json!(["name", "minutes"]));
    /// ```
    pub struct Schema {
        /// The data type.
        schema_type: Option<SchemaType> = "type",
        /// The format of the data (`int32`, `date-time`, `enum`, …).
        format: Option<String> = "format",
        /// A title.
        title: Option<String> = "title",
        /// A description, which guides the model.
        description: Option<String> = "description",
        /// Whether the value may be null.
        nullable: Option<bool> = "nullable",
        /// The allowed values of a string with `format: enum`.
        enum_values: Vec<String> = "enum",
        /// The schema of array items.
        items: Option<Box<Schema>> = "items",
        /// The maximum number of array items.
        max_items: Option<i64> = "maxItems" as LenientInt64,
        /// The minimum number of array items.
        min_items: Option<i64> = "minItems" as LenientInt64,
        /// The properties of an object.
        properties: BTreeMap<String, Schema> = "properties",
        /// The required properties of an object.
        required: Vec<String> = "required",
        /// The order in which the model should produce properties.
        property_ordering: Vec<String> = "propertyOrdering",
        /// The value must match one of these schemas.
        any_of: Vec<Schema> = "anyOf",
        /// Minimum number of properties.
        min_properties: Option<i64> = "minProperties" as LenientInt64,
        /// Maximum number of properties.
        max_properties: Option<i64> = "maxProperties" as LenientInt64,
        /// Minimum string length.
        min_length: Option<i64> = "minLength" as LenientInt64,
        /// Maximum string length.
        max_length: Option<i64> = "maxLength" as LenientInt64,
        /// A regular expression a string must match.
        pattern: Option<String> = "pattern",
        /// Minimum of a number.
        minimum: Option<f64> = "minimum",
        /// Maximum of a number.
        maximum: Option<f64> = "maximum",
        /// An example value.
        example: Option<Value> = "example",
        /// The default value.
        default: Option<Value> = "default",
    }
}

impl Schema {
    /// A schema of the given type.
    pub fn new(schema_type: SchemaType) -> Self {
        Self {
            schema_type: Some(schema_type),
            ..Self::default()
        }
    }

    /// An object schema with the given properties, produced in the given order.
    pub fn object<I, K>(properties: I) -> Self
    where
        I: IntoIterator<Item = (K, Schema)>,
        K: Into<String>,
    {
        let mut schema = Self::new(SchemaType::Object);
        for (name, property) in properties {
            let name = name.into();
            schema.property_ordering.push(name.clone());
            schema.properties.insert(name, property);
        }
        schema
    }

    /// An array schema of `items`.
    pub fn array(items: Schema) -> Self {
        Self {
            items: Some(Box::new(items)),
            ..Self::new(SchemaType::Array)
        }
    }

    /// A string restricted to `values`.
    pub fn string_enum<I, S>(values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            format: Some("enum".to_owned()),
            enum_values: values.into_iter().map(Into::into).collect(),
            ..Self::new(SchemaType::String)
        }
    }

    /// This schema with a description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// This schema with the given required properties.
    pub fn with_required<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.required = names.into_iter().map(Into::into).collect();
        self
    }
}

wire_struct! {
    /// A tool the model may use: function declarations or a built-in tool.
    ///
    /// ```
    /// use gemini_proto::types::{FunctionDeclaration, Schema, SchemaType, Tool};
    ///
    /// let weather = FunctionDeclaration::new("get_weather", "Current weather for a city")
    ///     .with_parameters(Schema::object([("city", Schema::new(SchemaType::String))]).with_required(["city"]));
    /// let tools = [Tool::functions([weather]), Tool::google_search(), Tool::code_execution()];
    /// let json = serde_json::to_value(&tools).unwrap();
    /// assert_eq!(json[0]["functionDeclarations"][0]["name"], "get_weather");
    /// assert_eq!(json[1], serde_json::json!({"googleSearch": {}}));
    /// ```
    pub struct Tool {
        /// Functions the model may call.
        function_declarations: Vec<FunctionDeclaration> = "functionDeclarations",
        /// Grounding with Google Search.
        google_search: Option<GoogleSearch> = "googleSearch",
        /// The legacy Google Search retrieval tool (Gemini 1.5).
        google_search_retrieval: Option<GoogleSearchRetrieval> = "googleSearchRetrieval",
        /// Code execution.
        code_execution: Option<CodeExecution> = "codeExecution",
        /// Reading the URLs given in the prompt.
        url_context: Option<UrlContext> = "urlContext",
    }
}

impl Tool {
    /// A tool made of function declarations.
    pub fn functions(declarations: impl IntoIterator<Item = FunctionDeclaration>) -> Self {
        Self {
            function_declarations: declarations.into_iter().collect(),
            ..Self::default()
        }
    }

    /// The Google Search grounding tool.
    pub fn google_search() -> Self {
        Self {
            google_search: Some(GoogleSearch::default()),
            ..Self::default()
        }
    }

    /// The code-execution tool.
    pub fn code_execution() -> Self {
        Self {
            code_execution: Some(CodeExecution::default()),
            ..Self::default()
        }
    }

    /// The URL-context tool.
    pub fn url_context() -> Self {
        Self {
            url_context: Some(UrlContext::default()),
            ..Self::default()
        }
    }
}

wire_struct! {
    /// A function the model may call.
    pub struct FunctionDeclaration {
        /// The name: letters, digits, underscores, dots and dashes, at most 64 characters.
        name: String = "name",
        /// What the function does; the model reads this.
        description: Option<String> = "description",
        /// The parameters, as an OpenAPI subset schema.
        parameters: Option<Schema> = "parameters",
        /// The parameters, as raw JSON Schema (an alternative to `parameters`).
        parameters_json_schema: Option<Value> = "parametersJsonSchema",
        /// The result, as an OpenAPI subset schema.
        response: Option<Schema> = "response",
        /// The result, as raw JSON Schema.
        response_json_schema: Option<Value> = "responseJsonSchema",
        /// Whether the conversation waits for the function (Live API).
        behavior: Option<FunctionBehavior> = "behavior",
    }
}

impl FunctionDeclaration {
    /// A function `name` doing what `description` says.
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: Some(description.into()),
            ..Self::default()
        }
    }

    /// This declaration with its parameters.
    pub fn with_parameters(mut self, parameters: Schema) -> Self {
        self.parameters = Some(parameters);
        self
    }

    /// This declaration with its parameters given as raw JSON Schema.
    pub fn with_parameters_json_schema(mut self, schema: Value) -> Self {
        self.parameters_json_schema = Some(schema);
        self
    }
}

wire_struct! {
    /// The Google Search grounding tool.
    pub struct GoogleSearch {
        /// Restrict results to a time range (`{"startTime": …, "endTime": …}`).
        time_range_filter: Option<Value> = "timeRangeFilter",
    }
}

wire_struct! {
    /// The legacy Google Search retrieval tool.
    pub struct GoogleSearchRetrieval {
        /// When to retrieve.
        dynamic_retrieval_config: Option<DynamicRetrievalConfig> = "dynamicRetrievalConfig",
    }
}

wire_struct! {
    /// When the legacy retrieval tool retrieves.
    pub struct DynamicRetrievalConfig {
        /// The mode.
        mode: Option<DynamicRetrievalMode> = "mode",
        /// The threshold for dynamic retrieval.
        dynamic_threshold: Option<f32> = "dynamicThreshold",
    }
}

wire_struct! {
    /// The code-execution tool (no options).
    pub struct CodeExecution {}
}

wire_struct! {
    /// The URL-context tool (no options).
    pub struct UrlContext {}
}

wire_struct! {
    /// How tools are used.
    pub struct ToolConfig {
        /// Function-calling settings.
        function_calling_config: Option<FunctionCallingConfig> = "functionCallingConfig",
    }
}

impl ToolConfig {
    /// Function calling in `mode`, restricted to `allowed` names when not empty.
    pub fn function_calling<I, S>(mode: FunctionCallingMode, allowed: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            function_calling_config: Some(FunctionCallingConfig {
                mode: Some(mode),
                allowed_function_names: allowed.into_iter().map(Into::into).collect(),
                ..FunctionCallingConfig::default()
            }),
            ..Self::default()
        }
    }
}

wire_struct! {
    /// Function-calling settings.
    pub struct FunctionCallingConfig {
        /// The mode.
        mode: Option<FunctionCallingMode> = "mode",
        /// With mode `ANY`, the functions the model may call.
        allowed_function_names: Vec<String> = "allowedFunctionNames",
    }
}
