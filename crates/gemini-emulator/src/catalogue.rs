//! The models the emulator knows, listed the way `GET /v1beta/models` lists them.

use serde::Serialize;

/// One entry of `models.list` (field order as Google sends it).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ModelInfo {
    pub name: &'static str,
    pub version: &'static str,
    pub display_name: &'static str,
    pub description: &'static str,
    pub input_token_limit: u32,
    pub output_token_limit: u32,
    pub supported_generation_methods: &'static [&'static str],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_temperature: Option<u32>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub thinking: bool,
    #[serde(skip)]
    pub embedding_dimensions: u32,
}

impl ModelInfo {
    /// The id without `models/`.
    pub fn id(&self) -> &'static str {
        self.name.trim_start_matches("models/")
    }

    pub fn supports(&self, method: &str) -> bool {
        match method {
            // Streaming is available wherever generateContent is; Google does not list it.
            "streamGenerateContent" => self
                .supported_generation_methods
                .contains(&"generateContent"),
            // The SDKs embed through batchEmbedContents, which Google does not list either.
            "batchEmbedContents" => self.supported_generation_methods.contains(&"embedContent"),
            m => self.supported_generation_methods.contains(&m),
        }
    }

    /// Gemini 3 sends a closing empty text part with a signature on every stream.
    pub fn is_gemini3(&self) -> bool {
        self.id().starts_with("gemini-3")
    }
}

const GEN: &[&str] = &[
    "generateContent",
    "countTokens",
    "createCachedContent",
    "batchGenerateContent",
];
const GEN_NO_CACHE: &[&str] = &["generateContent", "countTokens"];
const EMBED: &[&str] = &[
    "embedContent",
    "countTextTokens",
    "countTokens",
    "asyncBatchEmbedContent",
];

#[allow(clippy::too_many_arguments)]
const fn chat(
    name: &'static str,
    version: &'static str,
    display_name: &'static str,
    description: &'static str,
    output_token_limit: u32,
    top_k: u32,
    thinking: bool,
    methods: &'static [&'static str],
) -> ModelInfo {
    ModelInfo {
        name,
        version,
        display_name,
        description,
        input_token_limit: 1_048_576,
        output_token_limit,
        supported_generation_methods: methods,
        temperature: Some(1),
        top_p: Some(0.95),
        top_k: Some(top_k),
        max_temperature: Some(2),
        thinking,
        embedding_dimensions: 0,
    }
}

/// The catalogue, in the order `models.list` returns it.
pub(crate) static MODELS: &[ModelInfo] = &[
    chat(
        "models/gemini-2.0-flash",
        "2.0",
        "Gemini 2.0 Flash",
        "Gemini 2.0 Flash",
        8192,
        40,
        false,
        GEN,
    ),
    chat(
        "models/gemini-2.0-flash-001",
        "2.0",
        "Gemini 2.0 Flash 001",
        "Stable version of Gemini 2.0 Flash, our fast and versatile multimodal model for scaling across diverse tasks, released in January of 2025.",
        8192,
        40,
        false,
        GEN,
    ),
    chat(
        "models/gemini-2.0-flash-lite",
        "2.0",
        "Gemini 2.0 Flash-Lite",
        "Gemini 2.0 Flash-Lite",
        8192,
        40,
        false,
        GEN,
    ),
    chat(
        "models/gemini-2.5-flash",
        "001",
        "Gemini 2.5 Flash",
        "Stable version of Gemini 2.5 Flash, our mid-size multimodal model that supports up to 1 million tokens, released in June of 2025.",
        65536,
        64,
        true,
        GEN,
    ),
    chat(
        "models/gemini-2.5-pro",
        "2.5",
        "Gemini 2.5 Pro",
        "Stable release (June 17th, 2025) of Gemini 2.5 Pro",
        65536,
        64,
        true,
        GEN,
    ),
    chat(
        "models/gemini-2.5-flash-lite",
        "001",
        "Gemini 2.5 Flash-Lite",
        "Stable version of Gemini 2.5 Flash-Lite, released in July of 2025",
        65536,
        64,
        true,
        GEN,
    ),
    chat(
        "models/gemini-3-pro-preview",
        "3-pro-preview-11-2025",
        "Gemini 3 Pro Preview",
        "Gemini 3 Pro Preview",
        65536,
        64,
        true,
        GEN,
    ),
    chat(
        "models/gemini-3-flash-preview",
        "3-flash-preview-12-2025",
        "Gemini 3 Flash Preview",
        "Gemini 3 Flash Preview",
        65536,
        64,
        true,
        GEN_NO_CACHE,
    ),
    ModelInfo {
        name: "models/gemini-embedding-001",
        version: "001",
        display_name: "Gemini Embedding 001",
        description: "Obtain a distributed representation of a text.",
        input_token_limit: 2048,
        output_token_limit: 1,
        supported_generation_methods: EMBED,
        temperature: None,
        top_p: None,
        top_k: None,
        max_temperature: None,
        thinking: false,
        embedding_dimensions: 3072,
    },
    ModelInfo {
        name: "models/text-embedding-004",
        version: "004",
        display_name: "Text Embedding 004",
        description: "Obtain a distributed representation of a text.",
        input_token_limit: 2048,
        output_token_limit: 1,
        supported_generation_methods: &["embedContent"],
        temperature: None,
        top_p: None,
        top_k: None,
        max_temperature: None,
        thinking: false,
        embedding_dimensions: 768,
    },
];

/// Looks a model up by id (`gemini-2.5-flash`) or name (`models/gemini-2.5-flash`).
pub(crate) fn find(id: &str) -> Option<&'static ModelInfo> {
    let id = id.trim_start_matches("models/");
    MODELS.iter().find(|m| m.id() == id)
}

/// The ids of every model, for `--help` and the README.
pub(crate) fn ids() -> impl Iterator<Item = &'static str> {
    MODELS.iter().map(ModelInfo::id)
}
