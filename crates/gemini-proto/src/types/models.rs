//! Model metadata (`models.get`, `models.list`).

use super::wire::wire_struct;

wire_struct! {
    /// A model and what it can do.
    pub struct Model {
        /// The resource name, `models/{id}`.
        name: String = "name",
        /// The base model id, such as `gemini-2.5-flash`.
        base_model_id: Option<String> = "baseModelId",
        /// The version.
        version: Option<String> = "version",
        /// A human-readable name.
        display_name: Option<String> = "displayName",
        /// A description.
        description: Option<String> = "description",
        /// The maximum number of input tokens.
        input_token_limit: Option<u32> = "inputTokenLimit",
        /// The maximum number of output tokens.
        output_token_limit: Option<u32> = "outputTokenLimit",
        /// The API methods the model supports, such as `generateContent`.
        supported_generation_methods: Vec<String> = "supportedGenerationMethods",
        /// Whether the model thinks.
        thinking: Option<bool> = "thinking",
        /// Default temperature.
        temperature: Option<f32> = "temperature",
        /// Maximum temperature.
        max_temperature: Option<f32> = "maxTemperature",
        /// Default top-p.
        top_p: Option<f32> = "topP",
        /// Default top-k.
        top_k: Option<u32> = "topK",
    }
}

impl Model {
    /// True when the model supports the API method `method` (such as `generateContent`).
    pub fn supports(&self, method: &str) -> bool {
        self.supported_generation_methods
            .iter()
            .any(|m| m == method)
    }
}

wire_struct! {
    /// One page of `models.list`.
    pub struct ListModelsResponse {
        /// The models on this page.
        models: Vec<Model> = "models",
        /// The token of the next page; absent on the last page.
        next_page_token: Option<String> = "nextPageToken",
    }
}
