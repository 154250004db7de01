//! The Rust peers, each used the way its README shows, each client reused across requests.
//!
//! gemini-rust 2.1 marks `generate_content` deprecated in favour of the Interactions API; it is
//! still its streamGenerateContent client, the one compared here.

#![allow(deprecated)]

use async_openai::config::OpenAIConfig;
use async_openai::types::chat::{
    ChatCompletionRequestUserMessageArgs, CreateChatCompletionRequest,
    CreateChatCompletionRequestArgs,
};
use futures_util::{StreamExt, TryStreamExt};
use genai::chat::{ChatMessage, ChatRequest, ChatStreamEvent};
use genai::resolver::{AuthData, Endpoint, ServiceTargetResolver};

use super::{Kind, Pass};
use crate::measure::Sink;
use crate::workload::{PROMPT, Workload};

/// A peer client.
pub enum Peer {
    /// gemini-rust: the model is part of the client.
    GeminiRust(gemini_rust::Gemini),
    /// genai, its endpoint resolved to the server.
    Genai(genai::Client),
    /// async-openai on `/v1beta/openai`, and the request it sends.
    AsyncOpenai(
        Box<async_openai::Client<OpenAIConfig>>,
        Box<CreateChatCompletionRequest>,
    ),
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Peer::GeminiRust(_) => "GeminiRust",
            Peer::Genai(_) => "Genai",
            Peer::AsyncOpenai(..) => "AsyncOpenai",
        })
    }
}

impl Peer {
    pub fn new(kind: Kind, base: &str, workload: Workload) -> Result<Self, String> {
        let error = |e: &dyn std::fmt::Display| e.to_string();
        Ok(match kind {
            Kind::GeminiRust => {
                let url = format!("{base}/v1beta/").parse().map_err(|e| error(&e))?;
                Peer::GeminiRust(
                    gemini_rust::Gemini::with_model_and_base_url(
                        "bench",
                        format!("models/{}", workload.model()),
                        url,
                    )
                    .map_err(|e| error(&e))?,
                )
            }
            Kind::Genai => {
                let endpoint = format!("{base}/v1beta/");
                let resolver = ServiceTargetResolver::from_resolver_fn(
                    move |mut target: genai::ServiceTarget| {
                        target.endpoint = Endpoint::from_owned(endpoint.clone());
                        target.auth = AuthData::from_single("bench");
                        Ok(target)
                    },
                );
                Peer::Genai(
                    genai::Client::builder()
                        .with_service_target_resolver(resolver)
                        .build()
                        .map_err(|e| error(&e))?,
                )
            }
            Kind::AsyncOpenai => {
                let config = OpenAIConfig::new()
                    .with_api_base(format!("{base}/v1beta/openai"))
                    .with_api_key("bench");
                let request = CreateChatCompletionRequestArgs::default()
                    .model(workload.model())
                    .messages([ChatCompletionRequestUserMessageArgs::default()
                        .content(PROMPT)
                        .build()
                        .map_err(|e| error(&e))?
                        .into()])
                    .build()
                    .map_err(|e| error(&e))?;
                Peer::AsyncOpenai(
                    Box::new(async_openai::Client::with_config(config)),
                    Box::new(request),
                )
            }
            _ => return Err(format!("{} is not a peer", kind.name())),
        })
    }

    pub async fn stream(
        &self,
        workload: Workload,
        sink: &mut Sink,
        pass: &mut Pass<'_>,
    ) -> Result<(), String> {
        match self {
            Peer::GeminiRust(client) => {
                let stream = client
                    .generate_content()
                    .with_user_message(PROMPT)
                    .execute_stream()
                    .await;
                pass.established().await;
                let mut stream = stream.map_err(|e| e.to_string())?;
                while let Some(chunk) = stream.try_next().await.map_err(|e| e.to_string())? {
                    let text = chunk.text();
                    let content = if text.is_empty() {
                        inline_data_len(&chunk)
                    } else {
                        text.len()
                    };
                    sink.chunk(content);
                }
            }
            Peer::Genai(client) => {
                let request = ChatRequest::new(vec![ChatMessage::user(PROMPT)]);
                let response = client
                    .exec_chat_stream(workload.model(), request, None)
                    .await;
                pass.established().await;
                let mut stream = response.map_err(|e| e.to_string())?.stream;
                while let Some(event) = stream.next().await {
                    if let ChatStreamEvent::Chunk(chunk) = event.map_err(|e| e.to_string())? {
                        sink.chunk(chunk.content.len());
                    }
                }
            }
            Peer::AsyncOpenai(client, request) => {
                let stream = client.chat().create_stream((**request).clone()).await;
                pass.established().await;
                let mut stream = stream.map_err(|e| e.to_string())?;
                while let Some(response) = stream.next().await {
                    let response = response.map_err(|e| e.to_string())?;
                    for choice in &response.choices {
                        if let Some(text) = &choice.delta.content {
                            sink.chunk(text.len());
                        }
                    }
                }
            }
        }
        pass.finished().await;
        Ok(())
    }
}

/// The base64 text of a gemini-rust chunk's inline data.
fn inline_data_len(chunk: &gemini_rust::GenerationResponse) -> usize {
    chunk
        .candidates
        .iter()
        .flat_map(|c| c.content.parts.iter().flatten())
        .map(|part| match part {
            gemini_rust::Part::InlineData { inline_data, .. } => inline_data.data.len(),
            _ => 0,
        })
        .sum()
}
