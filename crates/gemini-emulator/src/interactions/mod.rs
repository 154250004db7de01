//! The Interactions API (`/v1beta/interactions`), as Google serves it:
//!
//! | request | answer |
//! |---|---|
//! | `POST /v1beta/interactions` (or `/v1/…`, where the official Python SDK 3.x sends it) | the interaction (`stream: false`), or its events as `event:`-framed SSE (`stream: true`) |
//! | `GET /v1beta/interactions/{id}` | the stored interaction, its input first; a background run shows `in_progress` to its first poll |
//! | `GET …/{id}?stream=true[&last_event_id=E]` | its events, from the first or from the one after `E` |
//! | `POST …/{id}/cancel` (or `:cancel`) | a running background interaction, cancelled |
//! | `DELETE …/{id}` | `{}`; the interaction is forgotten |
//!
//! Answers come from the same generator as `generateContent` (the conversation of a
//! `previous_interaction_id` chain included), so they are a pure function of the request; only
//! the ids differ between two identical requests. Interactions are stored unless `store: false`,
//! in memory and bounded ([`crate::limits::MAX_STORED_INTERACTIONS`]). Faults come from the
//! `x-emulator-fault` header, the configuration and a model-name suffix
//! (`"model": "gemini-2.5-flash@close-after-events=5"`; it applies to the `POST` only, so a
//! stream read again with `GET` is whole).

mod answer;
mod hops;
mod store;
mod wire;

use std::sync::Arc;

use base64::Engine as _;
use gemini_proto::error::ApiError;
use gemini_proto::interactions::{
    CreateInteractionRequest, Interaction, InteractionEvent, InteractionStatus, Step,
};
use http::{Method, Response};

use crate::catalogue;
use crate::continuation::Position;
use crate::fault::{Fault, FaultSpec};
use crate::generate::{Rng, fnv1a};
use crate::json::api_error;
use crate::server::{
    ConnCtrl, EmuBody, Shared, byte_writes, invalid_argument, json_answer, json_error, refusal,
    stream_answer, stream_error,
};

pub(crate) use store::Store;
use store::{Origin, Stored};

/// What the router knows of a request to `…/interactions…`.
#[derive(Debug)]
pub(crate) struct Request<'a> {
    pub method: &'a Method,
    /// `v1beta`, …
    pub version: &'a str,
    /// The path after the version: `interactions`, `interactions/{id}`, …
    pub rest: &'a str,
    pub path: &'a str,
    pub query: &'a [(String, String)],
    pub body: &'a [u8],
    pub scenario: Option<String>,
}

impl Request<'_> {
    fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Answers a request to `…/interactions…`; `spec` holds the faults of the configuration and of
/// the `x-emulator-fault` header.
pub(crate) fn handle(
    shared: &Arc<Shared>,
    ctrl: &Arc<ConnCtrl>,
    request: Request<'_>,
    spec: FaultSpec,
) -> Response<EmuBody> {
    let target = request.rest.strip_prefix("interactions");
    let (id, action) = match target {
        Some("") => (None, None),
        Some(rest) => match rest.strip_prefix('/') {
            Some(rest) => match rest
                .strip_suffix("/cancel")
                .or_else(|| rest.strip_suffix(":cancel"))
            {
                Some(id) => (Some(id), Some("cancel")),
                None => (Some(rest), None),
            },
            None => (None, Some("unknown")),
        },
        None => (None, Some("unknown")),
    };
    match (request.method.clone(), id, action) {
        (Method::POST, None, None) => create(shared, ctrl, &request, spec),
        (Method::GET, Some(id), None) if valid_id(id) => get(shared, ctrl, &request, id, spec),
        (Method::DELETE, Some(id), None) if valid_id(id) => {
            refusal(shared, &spec, &request, false, None).unwrap_or_else(|| delete(shared, id))
        }
        (Method::POST, Some(id), Some("cancel")) if valid_id(id) => {
            refusal(shared, &spec, &request, false, None).unwrap_or_else(|| cancel(shared, id))
        }
        _ => json_error(&api_error(404, "Method not found.")),
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && !id.contains('/')
}

fn not_found(id: &str) -> ApiError {
    api_error(404, format!("Interaction {id} was not found."))
}

/// The spec with the faults of a model-name suffix added, within the limits.
fn with_suffix(mut spec: FaultSpec, suffix: Option<&str>) -> Result<FaultSpec, ApiError> {
    if let Some(text) = suffix {
        let more = text
            .parse::<FaultSpec>()
            .map_err(|e| invalid_argument(format!("Invalid fault in model name: {e}")))?;
        spec.extend(&more);
    }
    spec.check_limits()
        .map_err(|e| invalid_argument(format!("Invalid fault: {e}")))?;
    Ok(spec)
}

/// `POST interactions`.
fn create(
    shared: &Arc<Shared>,
    ctrl: &Arc<ConnCtrl>,
    request: &Request<'_>,
    spec: FaultSpec,
) -> Response<EmuBody> {
    let body = if request.body.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        request.body
    };
    let create: CreateInteractionRequest = match serde_json::from_slice(body) {
        Ok(create) => create,
        Err(e) => {
            return json_error(&invalid_argument(format!(
                "Invalid JSON payload received. {e}."
            )));
        }
    };
    let stream = create.stream == Some(true);
    let fail = |error: &ApiError| {
        if stream {
            stream_error(error)
        } else {
            json_error(error)
        }
    };
    if let Some(agent) = &create.agent {
        return fail(&invalid_argument(format!(
            "* CreateInteractionRequest.agent: the emulator runs models, not agents ({agent})"
        )));
    }
    let Some(model_name) = create.model.as_deref() else {
        return fail(&invalid_argument(
            "* CreateInteractionRequest.model: a model or an agent is required".to_owned(),
        ));
    };
    let model_name = model_name.trim().trim_start_matches("models/");
    let (model_id, suffix) = match model_name.split_once('@') {
        Some((id, suffix)) => (id, Some(suffix)),
        None => (model_name, None),
    };
    let spec = match with_suffix(spec, suffix) {
        Ok(spec) => spec,
        Err(error) => return fail(&error),
    };
    byte_writes(ctrl, &spec);
    if let Some(refused) = refusal(shared, &spec, request, stream, Some(model_id)) {
        return refused;
    }
    let model = match catalogue::find(model_id) {
        Some(model) if model.supports("generateContent") => model,
        _ => {
            return fail(&api_error(
                404,
                format!(
                    "models/{model_id} is not found for API version {}, or is not supported for createInteraction.",
                    request.version
                ),
            ));
        }
    };
    let store = create.is_stored();
    let background = create.background == Some(true);
    if background && !store {
        return fail(&invalid_argument(
            "* CreateInteractionRequest.background: a background interaction must be stored (store: true)".to_owned(),
        ));
    }
    let token = create
        .continuation_token
        .as_deref()
        .filter(|t| !t.is_empty());
    let invalid_token = || {
        fail(&invalid_argument(
            "* CreateInteractionRequest.continuation_token: invalid continuation token".to_owned(),
        ))
    };
    // A token with `previous_interaction_id` and no input continues the stored interaction
    // that gave it; otherwise the request is read as usual and the token must belong to its
    // answer (the same input sent again).
    let origin = match (token, &create.previous_interaction_id, &create.input) {
        (Some(_), Some(previous), None) => match shared.interactions.get(previous) {
            Some(stored) => match stored.origin {
                Some(origin) => Some(origin),
                None => return invalid_token(),
            },
            None => return fail(&not_found(previous)),
        },
        _ => None,
    };
    let generate = match &origin {
        Some(origin) => origin.generate.clone(),
        None => {
            let history = match &create.previous_interaction_id {
                Some(previous) => match shared.interactions.history(previous) {
                    Ok(history) => history,
                    Err(missing) => return fail(&not_found(&missing)),
                },
                None => Vec::new(),
            };
            match answer::generate_request(&create, history) {
                Ok(generate) => generate,
                Err(message) => return fail(&invalid_argument(message)),
            }
        }
    };
    let tokens = spec.find(|f| match f {
        Fault::Tokens(n) => Some(*n),
        _ => None,
    });
    let whole = match answer::plan(model, &generate, tokens) {
        Ok(planned) => planned,
        Err(message) => return fail(&invalid_argument(message)),
    };
    let from = match token {
        None => Position::START,
        Some(token) => match whole.position(token) {
            Some(position) => position,
            None => return invalid_token(),
        },
    };
    // A background run is the service's to continue: it is never cut.
    let cap = spec
        .find(|f| match f {
            Fault::HopTokens(n) => Some(*n),
            _ => None,
        })
        .or(shared.config.hop_tokens)
        .filter(|_| !background);
    let planned = whole.hop(from, cap);
    let serial = shared.interactions.next_serial();
    let id = interaction_id(&crate::json::to_compact(&generate), serial);
    let events = answer::events(&id, model.id(), &planned);
    let interaction = answer::unary(&id, model.id(), &planned);
    if store {
        let input = create
            .input
            .as_ref()
            .map(|i| i.to_steps())
            .unwrap_or_default();
        let mut turn = create
            .input
            .as_ref()
            .map(answer::input_contents)
            .unwrap_or_default();
        turn.extend(planned.turn.iter().cloned());
        // What the next request continues from, when this one stopped at the cap.
        let origin = (planned.status == InteractionStatus::RequiresContinuation).then(|| {
            origin.unwrap_or_else(|| {
                let bytes = crate::json::to_compact(&generate).len();
                Arc::new(Origin { generate, bytes })
            })
        });
        let bytes = serde_json::to_vec(&events.iter().map(|(e, _)| e).collect::<Vec<_>>())
            .map_or(0, |v| v.len())
            .saturating_mul(2)
            .saturating_add(serde_json::to_vec(&turn).map_or(0, |v| v.len()))
            .saturating_add(origin.as_ref().map_or(0, |o| o.bytes));
        shared.interactions.put(
            id.clone(),
            Stored {
                interaction: interaction.clone(),
                input,
                events: events.clone(),
                turn,
                previous: create.previous_interaction_id.clone(),
                origin,
                background,
                polls: 0,
                bytes,
            },
        );
    }
    if stream {
        let steps = wire::event_steps(&events, &spec, shared.config.pace, true, model.id());
        return stream_answer(shared, ctrl, steps, &spec);
    }
    if background {
        return json_answer(&running(&interaction));
    }
    json_answer(&interaction)
}

/// A background interaction as it shows while it runs.
fn running(interaction: &Interaction) -> Interaction {
    let mut running = interaction.clone();
    running.status = Some(InteractionStatus::InProgress);
    running.steps.clear();
    running.usage = None;
    running
}

/// An id in the style of Google's: `v1_` and URL-safe base64, different for every interaction.
fn interaction_id(request: &[u8], serial: u64) -> String {
    let mut rng = Rng::new(fnv1a(request) ^ serial.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let bytes: Vec<u8> = (0..36).map(|_| rng.next_u64() as u8).collect();
    format!(
        "v1_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// `GET interactions/{id}`, streamed or not.
fn get(
    shared: &Arc<Shared>,
    ctrl: &Arc<ConnCtrl>,
    request: &Request<'_>,
    id: &str,
    spec: FaultSpec,
) -> Response<EmuBody> {
    let stream = request.query("stream") == Some("true");
    let fail = |error: &ApiError| {
        if stream {
            stream_error(error)
        } else {
            json_error(error)
        }
    };
    let spec = match with_suffix(spec, None) {
        Ok(spec) => spec,
        Err(error) => return fail(&error),
    };
    byte_writes(ctrl, &spec);
    if let Some(refused) = refusal(shared, &spec, request, stream, None) {
        return refused;
    }
    let Some(stored) = shared.interactions.get(id) else {
        return fail(&not_found(id));
    };
    if !stream {
        if request.query("last_event_id").is_some() {
            return fail(&invalid_argument(
                "last_event_id can only be used with stream=true".to_owned(),
            ));
        }
        let first_poll = shared
            .interactions
            .update(id, |s| {
                s.polls += 1;
                s.background && s.polls == 1
            })
            .unwrap_or(false);
        let mut interaction = if first_poll {
            running(&stored.interaction)
        } else {
            stored.interaction.clone()
        };
        // The full timeline: the input first.
        let mut steps: Vec<Step> = stored.input.clone();
        steps.append(&mut interaction.steps);
        interaction.steps = steps;
        if request.query("include_input") == Some("true") {
            interaction.input = Some(stored.input.clone().into());
        }
        return json_answer(&interaction);
    }
    let start = match request.query("last_event_id") {
        None | Some("") => 0,
        Some(last) => match stored
            .events
            .iter()
            .position(|(event, _)| event.event_id() == Some(last))
        {
            Some(at) => at + 1,
            None => {
                return fail(&invalid_argument(format!(
                    "* last_event_id: no event {last} in interaction {id}"
                )));
            }
        },
    };
    // Reading a background run's stream lets it run to its end.
    shared.interactions.update(id, |s| s.polls = s.polls.max(1));
    let model = stored.interaction.model.as_deref().unwrap_or("gemini");
    let steps = wire::event_steps(
        &stored.events[start..],
        &spec,
        shared.config.pace,
        start == 0,
        model,
    );
    stream_answer(shared, ctrl, steps, &spec)
}

/// `POST interactions/{id}/cancel`.
fn cancel(shared: &Shared, id: &str) -> Response<EmuBody> {
    let outcome = shared.interactions.update(id, |stored| {
        if !(stored.background && stored.polls == 0) {
            return Err(stored.status().cloned());
        }
        let mut interaction = stored.interaction.clone();
        interaction.status = Some(InteractionStatus::Cancelled);
        interaction.steps.clear();
        interaction.usage = None;
        let model = interaction.model.clone().unwrap_or_default();
        let mut events = vec![
            InteractionEvent::created(answer::head(id, &model, InteractionStatus::InProgress)),
            InteractionEvent::completed(interaction.clone()),
        ];
        for (n, event) in events.iter_mut().enumerate() {
            event.set_event_id(answer::event_id(n));
        }
        stored.events = events.into_iter().map(|e| (e, 0)).collect();
        stored.interaction = interaction.clone();
        stored.background = false;
        stored.turn.clear();
        Ok(interaction)
    });
    match outcome {
        None => json_error(&not_found(id)),
        Some(Ok(interaction)) => json_answer(&interaction),
        Some(Err(status)) => json_error(&invalid_argument(format!(
            "Interaction {id} is not running (status {}); only a running background interaction can be cancelled.",
            status.map_or_else(|| "unknown".to_owned(), |s| s.to_string())
        ))),
    }
}

/// `DELETE interactions/{id}`.
fn delete(shared: &Shared, id: &str) -> Response<EmuBody> {
    if shared.interactions.remove(id) {
        json_answer(&serde_json::json!({}))
    } else {
        json_error(&not_found(id))
    }
}
