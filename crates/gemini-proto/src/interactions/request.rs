//! Building the Interactions API's requests: [`CreateInteractionRequest`] and the [`Api`]
//! methods for every endpoint.
//!
//! | endpoint | method |
//! |---|---|
//! | `POST {base}/{version}/interactions` | [`Api::create_interaction`] (`stream` in the body picks the answer's framing) |
//! | `GET …/interactions/{id}` | [`Api::get_interaction`] |
//! | `GET …/interactions/{id}?stream=true[&last_event_id=…]` | [`Api::stream_interaction`] |
//! | `POST …/interactions/{id}/cancel` | [`Api::cancel_interaction`] |
//! | `DELETE …/interactions/{id}` | [`Api::delete_interaction`] |
//!
//! Every request carries `Api-Revision: 2026-05-20` ([`API_REVISION`]).

use std::collections::BTreeMap;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{Method, Request};
use serde_json::Value;

use super::model::{GenerationConfig, Input, Tool};
use crate::error::Error;
use crate::request::Api;
use crate::types::wire::wire_struct;

/// The header that pins the revision of the Interactions API's schema.
pub const API_REVISION_HEADER: &str = "api-revision";

/// The schema revision this crate speaks: the `steps` timeline, `step.*` events and the
/// polymorphic `response_format` that became the default on 2026-05-26 (the `outputs` schema of
/// revision `2026-05-07` was removed on 2026-06-08). The service picks the schema from this header;
/// sending it keeps the answers in the shape this crate reads should a later revision become the
/// default. The official Python SDK (google-genai 3.6.1) sends the same value.
pub const API_REVISION: &str = "2026-05-20";

wire_struct! {
    /// The body of `POST /interactions`.
    ///
    /// ```
    /// use gemini_proto::interactions::CreateInteractionRequest;
    ///
    /// let request = CreateInteractionRequest::new("gemini-2.5-flash", "Tell me a joke.")
    ///     .with_previous_interaction_id("v1_abc");
    /// let json = serde_json::to_value(&request).unwrap();
    /// assert_eq!(json["model"], "gemini-2.5-flash");
    /// assert_eq!(json["input"], "Tell me a joke.");
    /// assert_eq!(json["previous_interaction_id"], "v1_abc");
    /// ```
    pub struct CreateInteractionRequest {
        /// The model to interact with (or an `agent`).
        model: Option<String> = "model",
        /// The agent to interact with (instead of a model).
        agent: Option<Value> = "agent",
        /// What the interaction starts from.
        input: Option<Input> = "input",
        /// Stream the answer as server-sent events (set by the call, not by you).
        stream: Option<bool> = "stream",
        /// The interaction this one continues: the service adds its history (not its tools).
        previous_interaction_id: Option<String> = "previous_interaction_id",
        /// Store the interaction for later (`get`, `previous_interaction_id`); default `true`.
        store: Option<bool> = "store",
        /// Run in the background: the answer returns at once, the interaction is polled or
        /// streamed later.
        background: Option<bool> = "background",
        /// Tools the model may use.
        tools: Vec<Tool> = "tools",
        /// How the model generates.
        generation_config: Option<GenerationConfig> = "generation_config",
        /// The system instruction.
        system_instruction: Option<String> = "system_instruction",
        /// The format of the output (an object, or a list of them, such as
        /// `{"type": "text", "mime_type": "application/json", "schema": {…}}`).
        response_format: Option<Value> = "response_format",
        /// The modalities of the output (`text`, `image`, `audio`).
        response_modalities: Vec<String> = "response_modalities",
        /// Continues an interaction stopped at the output cap (status `requires_continuation`).
        continuation_token: Option<String> = "continuation_token",
        /// `flex`, `standard`, `priority`, …
        service_tier: Option<String> = "service_tier",
        /// Labels, for billing reports.
        labels: BTreeMap<String, String> = "labels",
    }
}

impl CreateInteractionRequest {
    /// An interaction with `model` from `input`.
    pub fn new(model: impl Into<String>, input: impl Into<Input>) -> Self {
        CreateInteractionRequest {
            model: Some(model.into()),
            input: Some(input.into()),
            ..CreateInteractionRequest::default()
        }
    }

    /// An interaction with `agent` from `input`.
    pub fn agent(agent: impl Into<String>, input: impl Into<Input>) -> Self {
        CreateInteractionRequest {
            agent: Some(Value::String(agent.into())),
            input: Some(input.into()),
            ..CreateInteractionRequest::default()
        }
    }

    /// Continues the conversation of interaction `id`.
    #[must_use]
    pub fn with_previous_interaction_id(mut self, id: impl Into<String>) -> Self {
        self.previous_interaction_id = Some(id.into());
        self
    }

    /// Adds a tool.
    #[must_use]
    pub fn with_tool(mut self, tool: Tool) -> Self {
        self.tools.push(tool);
        self
    }

    /// The model or agent's name, for logs.
    pub fn target(&self) -> &str {
        match (&self.model, &self.agent) {
            (Some(model), _) => model,
            (None, Some(Value::String(agent))) => agent,
            _ => "",
        }
    }

    /// The interaction will be stored (the default; `store: false` turns it off).
    pub fn is_stored(&self) -> bool {
        self.store != Some(false)
    }
}

impl Api {
    /// `POST interactions`: a unary answer (an `Interaction`), or with `stream` a
    /// `text/event-stream` of events. The body's `stream` member is set to match.
    ///
    /// ```
    /// use gemini_proto::{Api, Auth, Endpoint};
    /// use gemini_proto::interactions::CreateInteractionRequest;
    ///
    /// let api = Api::new(Endpoint::default(), Auth::api_key("key"));
    /// let request = api.create_interaction(&CreateInteractionRequest::new("gemini-2.5-flash", "Hi"), true)?;
    /// assert_eq!(request.uri(), "https://generativelanguage.googleapis.com/v1beta/interactions");
    /// assert_eq!(request.headers()["accept"], "text/event-stream");
    /// assert_eq!(request.headers()["api-revision"], "2026-05-20");
    /// let body: serde_json::Value = serde_json::from_slice(request.body())?;
    /// assert_eq!(body["stream"], true);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create_interaction(
        &self,
        body: &CreateInteractionRequest,
        stream: bool,
    ) -> Result<Request<Bytes>, Error> {
        let accept = if stream {
            "text/event-stream"
        } else {
            "application/json"
        };
        let request = if body.stream == Some(stream) {
            self.post("interactions", body, accept)?
        } else {
            let mut body = body.clone();
            body.stream = Some(stream);
            self.post("interactions", &body, accept)?
        };
        Ok(with_revision(request))
    }

    /// `GET interactions/{id}`: the interaction as it stands (a background run: poll this).
    pub fn get_interaction(&self, id: &str) -> Result<Request<Bytes>, Error> {
        let path = interaction_path(id)?;
        Ok(with_revision(self.base_request(
            Method::GET,
            &path,
            "application/json",
            Bytes::new(),
        )?))
    }

    /// `GET interactions/{id}?stream=true`: the interaction's events, from the first, or from the
    /// one after `last_event_id`.
    ///
    /// ```
    /// use gemini_proto::{Api, Auth, Endpoint};
    ///
    /// let api = Api::new(Endpoint::default(), Auth::api_key("key"));
    /// let request = api.stream_interaction("v1_abc", Some("evt 7"))?;
    /// assert_eq!(
    ///     request.uri(),
    ///     "https://generativelanguage.googleapis.com/v1beta/interactions/v1_abc?stream=true&last_event_id=evt%207"
    /// );
    /// # Ok::<(), gemini_proto::Error>(())
    /// ```
    pub fn stream_interaction(
        &self,
        id: &str,
        last_event_id: Option<&str>,
    ) -> Result<Request<Bytes>, Error> {
        let mut path = format!("{}?stream=true", interaction_path(id)?);
        if let Some(event) = last_event_id {
            path.push_str("&last_event_id=");
            path.push_str(&crate::request::percent_encode(event));
        }
        Ok(with_revision(self.base_request(
            Method::GET,
            &path,
            "text/event-stream",
            Bytes::new(),
        )?))
    }

    /// `POST interactions/{id}/cancel`: stops a background run; the answer is the interaction.
    pub fn cancel_interaction(&self, id: &str) -> Result<Request<Bytes>, Error> {
        let path = format!("{}/cancel", interaction_path(id)?);
        Ok(with_revision(self.base_request(
            Method::POST,
            &path,
            "application/json",
            Bytes::new(),
        )?))
    }

    /// `DELETE interactions/{id}`: forgets a stored interaction; the answer is `{}`.
    pub fn delete_interaction(&self, id: &str) -> Result<Request<Bytes>, Error> {
        let path = interaction_path(id)?;
        Ok(with_revision(self.base_request(
            Method::DELETE,
            &path,
            "application/json",
            Bytes::new(),
        )?))
    }
}

fn with_revision(mut request: Request<Bytes>) -> Request<Bytes> {
    request.headers_mut().insert(
        HeaderName::from_static(API_REVISION_HEADER),
        HeaderValue::from_static(API_REVISION),
    );
    request
}

/// `interactions/{id}`, when the id can go into a path as it is (the ids Google makes are
/// URL-safe base64); anything else would send the request elsewhere.
fn interaction_path(id: &str) -> Result<String, Error> {
    let id = id.strip_prefix("interactions/").unwrap_or(id);
    let valid = !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
        && id != "."
        && id != "..";
    if valid {
        Ok(format!("interactions/{id}"))
    } else {
        Err(Error::invalid_request(format!(
            "invalid interaction id {id:?}"
        )))
    }
}
