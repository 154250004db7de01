//! What an interaction answers: the request (and the conversation before it) turned into a
//! generateContent request for the emulator's generator, and its plan turned back into the
//! Interactions API's steps, events and usage. The unary answer and the stream are made from the
//! same steps, so a client that assembles the stream gets the unary answer.

use bytes::Bytes;
use gemini_proto::interactions::{
    Content as IContent, CreateInteractionRequest, Delta, FunctionCallStep, Input, Interaction,
    InteractionEvent, InteractionStatus, ModalityTokens, ModelOutputStep, Step, ThoughtStep, Tool,
    Usage,
};
use gemini_proto::types::{
    Content, FinishReason, FunctionCall, FunctionDeclaration, FunctionResponse,
    GenerateContentRequest, GenerationConfig, Part, PartData, Role, ThinkingConfig,
};
use serde_json::{Map, Value};

use crate::catalogue::ModelInfo;
use crate::generate::{self, Directives, Item, Rng, count_text_tokens};

/// When every interaction of the emulator was created and last updated: answers are a pure
/// function of their request.
pub(crate) const TIMESTAMP: &str = "2026-06-01T12:00:00Z";

/// A planned interaction: its output steps, status and usage, and for a stream the pieces each
/// step arrives in.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub steps: Vec<Step>,
    pub status: InteractionStatus,
    pub usage: Usage,
    /// Per step, the deltas that make it, and the output tokens each stands for (pacing).
    pub deltas: Vec<(Step, Vec<(Delta, u32)>)>,
    /// The conversation turns this interaction adds (its output; the caller adds the input), as
    /// generateContent contents: what a later `previous_interaction_id` sees.
    pub turn: Vec<Content>,
    /// What the answer is derived from (the request and the model): continuation tokens are
    /// checked against it.
    pub seed: u64,
    /// Thinking the model did without showing it (reported by the request that begins the
    /// answer).
    pub hidden_thoughts: u32,
    /// With status `requires_continuation`: the token that continues the answer.
    pub continuation_token: Option<String>,
}

/// The input of an interaction as generateContent contents.
pub(crate) fn input_contents(input: &Input) -> Vec<Content> {
    let mut contents: Vec<Content> = Vec::new();
    for step in input.to_steps() {
        let (role, parts) = match step {
            Step::UserInput(user) => (Role::User, user.content.iter().map(part_of).collect()),
            Step::ModelOutput(model) => (Role::Model, model.content.iter().map(part_of).collect()),
            Step::FunctionCall(call) => {
                let mut fc = FunctionCall::new(
                    call.name.unwrap_or_default(),
                    call.arguments.unwrap_or_else(|| Value::Object(Map::new())),
                );
                fc.id = call.id;
                (
                    Role::Model,
                    vec![Part::from_data(PartData::FunctionCall(fc))],
                )
            }
            Step::FunctionResult(result) => {
                let response = match result.result {
                    Some(Value::Object(object)) => Value::Object(object),
                    Some(other) => serde_json::json!({ "result": other }),
                    None => Value::Object(Map::new()),
                };
                let mut fr = FunctionResponse::new(result.name.unwrap_or_default(), response);
                fr.id = result.call_id;
                (
                    Role::User,
                    vec![Part::from_data(PartData::FunctionResponse(fr))],
                )
            }
            // Thoughts and built-in tools' steps carry nothing the generator reads.
            _ => continue,
        };
        let parts: Vec<Part> = parts;
        match contents.last_mut() {
            Some(last) if last.role == Some(role.clone()) => last.parts.extend(parts),
            _ => {
                let mut content = Content::new(parts);
                content.role = Some(role);
                contents.push(content);
            }
        }
    }
    contents
}

fn part_of(content: &IContent) -> Part {
    match content {
        IContent::Text(text) => Part::text(text.text.clone().unwrap_or_default()),
        IContent::Image(media)
        | IContent::Audio(media)
        | IContent::Document(media)
        | IContent::Video(media) => {
            let mime = media.mime_type.clone().unwrap_or_default();
            match (&media.data, &media.uri) {
                (Some(data), _) => {
                    let bytes = base64::Engine::decode(
                        &base64::engine::general_purpose::STANDARD,
                        data.as_bytes(),
                    )
                    .unwrap_or_default();
                    Part::from_data(PartData::InlineData(gemini_proto::types::Blob::new(
                        mime,
                        Bytes::from(bytes),
                    )))
                }
                (None, Some(uri)) => {
                    let mut file = gemini_proto::types::FileData::default();
                    file.file_uri = uri.clone();
                    file.mime_type = Some(mime);
                    Part::from_data(PartData::FileData(file))
                }
                (None, None) => Part::text(String::new()),
            }
        }
        IContent::Unknown(_) => Part::text(String::new()),
        _ => Part::text(String::new()),
    }
}

/// The generateContent request an interaction amounts to: the conversation before it
/// (`history`), its input, its tools and configuration.
pub(crate) fn generate_request(
    request: &CreateInteractionRequest,
    history: Vec<Content>,
) -> Result<GenerateContentRequest, String> {
    let mut contents = history;
    let Some(input) = &request.input else {
        return Err("* CreateInteractionRequest.input: input is required".to_owned());
    };
    let turn = input_contents(input);
    if turn.is_empty() {
        return Err("* CreateInteractionRequest.input: input must not be empty".to_owned());
    }
    contents.extend(turn);
    let mut generate = GenerateContentRequest::new(contents);
    if let Some(system) = request
        .system_instruction
        .as_ref()
        .filter(|s| !s.is_empty())
    {
        generate.system_instruction = Some(Content::new(system.as_str()));
    }
    let declarations: Vec<FunctionDeclaration> = request
        .tools
        .iter()
        .filter_map(|tool| match tool {
            Tool::Function(function) => {
                let mut declaration = FunctionDeclaration::new(
                    function.name.clone().unwrap_or_default(),
                    function.description.clone().unwrap_or_default(),
                );
                declaration.parameters_json_schema = function.parameters.clone();
                Some(declaration)
            }
            _ => None,
        })
        .collect();
    if !declarations.is_empty() {
        let mut tool = gemini_proto::types::Tool::default();
        tool.function_declarations = declarations;
        generate.tools.push(tool);
    }
    let mut config = GenerationConfig::default();
    if let Some(c) = &request.generation_config {
        config.temperature = c.temperature.map(|t| t as f32);
        config.top_p = c.top_p.map(|t| t as f32);
        config.seed = c.seed;
        config.stop_sequences = c.stop_sequences.clone();
        config.max_output_tokens = c.max_output_tokens;
        let mut thinking = ThinkingConfig::default();
        if c.thinking_summaries.as_deref() == Some("auto") {
            thinking.include_thoughts = Some(true);
        }
        if c.thinking_level.as_deref() == Some("minimal") {
            thinking.thinking_budget = Some(0);
        }
        config.thinking_config = Some(thinking);
    }
    if let Some(format) = &request.response_format {
        let format = match format {
            Value::Array(all) => all.first().cloned().unwrap_or(Value::Null),
            one => one.clone(),
        };
        if format["mime_type"] == "application/json" {
            config.response_mime_type = Some("application/json".to_owned());
            config.response_json_schema = format.get("schema").cloned();
        }
    }
    generate.generation_config = Some(config);
    Ok(generate)
}

/// Plans the answer of `request` (the conversation so far in `generate`).
pub(crate) fn plan(
    model: &ModelInfo,
    generate: &GenerateContentRequest,
    tokens: Option<usize>,
) -> Result<Answer, String> {
    let raw = serde_json::to_value(generate).unwrap_or_default();
    let directives = Directives {
        tokens,
        ..Directives::default()
    };
    let plan = generate::plan(model, generate, &raw, &directives)?;
    let mut compact = crate::json::to_compact(&raw);
    let seed = generate::fnv1a(&compact);
    let mut rng = Rng::new(seed ^ 0x1e7e_4ac7);
    compact.extend_from_slice(model.id().as_bytes());
    let answer_seed = generate::fnv1a(&compact);
    let candidate = plan.candidates.into_iter().next();
    let (items, finish) = match candidate {
        Some(c) => (c.items, c.finish_reason),
        None => (Vec::new(), FinishReason::Stop),
    };
    let thinks = model.thinking
        && generate
            .generation_config
            .as_ref()
            .and_then(|c| c.thinking_config.as_ref())
            .is_none_or(|t| t.thinking_budget != Some(0));

    let mut steps: Vec<(Step, Vec<(Delta, u32)>)> = Vec::new();
    let mut output_tokens = 0u32;
    let mut thought_tokens = plan.hidden_thoughts;
    let mut signature: Option<Bytes> = None;
    let mut summary: Vec<(Delta, u32)> = Vec::new();
    let mut text: Vec<(Delta, u32)> = Vec::new();
    let mut call: Option<FunctionCall> = None;
    for item in items {
        match item {
            Item::Thought(thought) => {
                let n = count_text_tokens(&thought);
                thought_tokens += n;
                summary.push((Delta::thought_summary(IContent::text(thought)), n));
            }
            Item::Text(piece) => {
                let n = count_text_tokens(&piece);
                output_tokens += n;
                text.push((Delta::text(piece), n));
            }
            Item::Call(function, sig) => {
                signature = signature.or(sig);
                output_tokens += count_text_tokens(&function.name)
                    + count_text_tokens(&String::from_utf8_lossy(&crate::json::to_compact(
                        &function.args,
                    )));
                call = Some(function);
            }
            Item::Closing(sig) => signature = signature.or(Some(sig)),
        }
    }
    if thinks {
        let signature =
            signature.unwrap_or_else(|| (0..48).map(|_| rng.next_u64() as u8).collect());
        let mut deltas = summary;
        deltas.push((
            Delta::thought_signature(base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                &signature,
            )),
            0,
        ));
        steps.push((Step::Thought(ThoughtStep::default()), deltas));
    }
    if !text.is_empty() {
        steps.push((Step::ModelOutput(ModelOutputStep::default()), text));
    }
    let mut status = match finish {
        FinishReason::MaxTokens => InteractionStatus::Incomplete,
        _ => InteractionStatus::Completed,
    };
    if let Some(function) = call {
        const ID: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let id: String = (0..8)
            .map(|_| ID[rng.below(ID.len() as u64) as usize] as char)
            .collect();
        let arguments = String::from_utf8_lossy(&crate::json::to_compact(
            function.args.as_ref().unwrap_or(&Value::Object(Map::new())),
        ))
        .into_owned();
        let start = Step::FunctionCall(FunctionCallStep::new(
            id,
            function.name.clone(),
            Value::Object(Map::new()),
        ));
        let deltas = split_arguments(&arguments)
            .into_iter()
            .map(|piece| {
                let n = count_text_tokens(&piece);
                (Delta::arguments(piece), n)
            })
            .collect();
        steps.push((start, deltas));
        status = InteractionStatus::RequiresAction;
    }

    let (prompt, by_modality) = (plan.prompt_tokens, plan.prompt_details);
    let mut usage = Usage::default();
    usage.total_tokens = Some(u64::from(prompt + output_tokens + thought_tokens));
    usage.total_input_tokens = Some(u64::from(prompt));
    usage.input_tokens_by_modality = by_modality
        .iter()
        .map(|d| {
            ModalityTokens::new(
                d.modality
                    .as_ref()
                    .map_or_else(|| "text".to_owned(), |m| m.as_str().to_ascii_lowercase()),
                u64::from(d.token_count.unwrap_or(0)),
            )
        })
        .collect();
    usage.total_cached_tokens = Some(0);
    usage.total_output_tokens = Some(u64::from(output_tokens));
    usage.total_tool_use_tokens = Some(0);
    usage.total_thought_tokens = Some(u64::from(thought_tokens));
    let final_steps: Vec<Step> = steps
        .iter()
        .map(|(start, deltas)| fold(start, deltas))
        .collect();
    Ok(Answer {
        turn: model_turn(&final_steps),
        steps: final_steps,
        status,
        usage,
        deltas: steps,
        seed: answer_seed,
        hidden_thoughts: plan.hidden_thoughts,
        continuation_token: None,
    })
}

/// What a model's steps add to the conversation: one model turn with their text and function
/// calls (none when they have neither).
pub(crate) fn model_turn(steps: &[Step]) -> Vec<Content> {
    let mut parts: Vec<Part> = Vec::new();
    for step in steps {
        match step {
            Step::ModelOutput(_) => parts.push(Part::text(step.text().unwrap_or_default())),
            Step::FunctionCall(c) => {
                let mut fc = FunctionCall::new(
                    c.name.clone().unwrap_or_default(),
                    c.arguments.clone().unwrap_or_default(),
                );
                fc.id.clone_from(&c.id);
                parts.push(Part::from_data(PartData::FunctionCall(fc)));
            }
            _ => {}
        }
    }
    if parts.is_empty() {
        return Vec::new();
    }
    let mut content = Content::new(parts);
    content.role = Some(Role::Model);
    vec![content]
}

/// A step with its deltas folded in: what the unary answer holds.
pub(crate) fn fold(start: &Step, deltas: &[(Delta, u32)]) -> Step {
    let mut step = start.clone();
    let mut arguments = String::new();
    for (delta, _) in deltas {
        match (&mut step, delta) {
            (Step::Thought(t), Delta::ThoughtSummary(s)) => {
                let piece = s
                    .content
                    .as_ref()
                    .and_then(IContent::as_text)
                    .unwrap_or_default();
                match t.summary.last_mut() {
                    Some(IContent::Text(last)) => {
                        last.text.get_or_insert_with(String::new).push_str(piece);
                    }
                    _ => t.summary.push(IContent::text(piece)),
                }
            }
            (Step::Thought(t), Delta::ThoughtSignature(s)) => {
                t.signature.clone_from(&s.signature);
            }
            (Step::ModelOutput(m), Delta::Text(d)) => {
                let piece = d.text.as_deref().unwrap_or_default();
                match m.content.last_mut() {
                    Some(IContent::Text(last)) => {
                        last.text.get_or_insert_with(String::new).push_str(piece);
                    }
                    _ => m.content.push(IContent::text(piece)),
                }
            }
            (Step::FunctionCall(_), Delta::ArgumentsDelta(a)) => {
                arguments.push_str(a.arguments.as_deref().unwrap_or_default());
            }
            _ => {}
        }
    }
    if let Step::FunctionCall(call) = &mut step
        && let Ok(value) = serde_json::from_str(&arguments)
    {
        call.arguments = Some(value);
    }
    step
}

/// A function call's arguments in three fragments, cut between characters.
fn split_arguments(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() < 6 {
        return vec![text.to_owned()];
    }
    let third = chars.len() / 3;
    vec![
        chars[..third].iter().collect(),
        chars[third..2 * third].iter().collect(),
        chars[2 * third..].iter().collect(),
    ]
}

/// The interaction as a unary `create` returns it.
pub(crate) fn unary(id: &str, model: &str, answer: &Answer) -> Interaction {
    let mut interaction = head(id, model, answer.status.clone());
    interaction.usage = Some(answer.usage.clone());
    interaction.created = Some(TIMESTAMP.to_owned());
    interaction.updated = Some(TIMESTAMP.to_owned());
    interaction.service_tier = Some("standard".to_owned());
    interaction.steps = answer.steps.clone();
    interaction
        .continuation_token
        .clone_from(&answer.continuation_token);
    interaction
}

/// The members every interaction shows: its id, status, model.
pub(crate) fn head(id: &str, model: &str, status: InteractionStatus) -> Interaction {
    let mut interaction = Interaction::default();
    interaction.id = Some(id.to_owned());
    interaction.status = Some(status);
    interaction.object = Some("interaction".to_owned());
    interaction.model = Some(model.to_owned());
    interaction
}

/// The events of the stream of an interaction, with their resume points (`event_id`), and the
/// output tokens each stands for.
pub(crate) fn events(id: &str, model: &str, answer: &Answer) -> Vec<(InteractionEvent, u32)> {
    let mut events = vec![
        (
            InteractionEvent::created(head(id, model, InteractionStatus::InProgress)),
            0,
        ),
        (
            InteractionEvent::status_update(id, InteractionStatus::InProgress),
            0,
        ),
    ];
    for (index, (start, deltas)) in answer.deltas.iter().enumerate() {
        let index = index as u64;
        events.push((InteractionEvent::step_start(index, start.clone()), 0));
        for (delta, tokens) in deltas {
            events.push((InteractionEvent::step_delta(index, delta.clone()), *tokens));
        }
        events.push((InteractionEvent::step_stop(index), 0));
    }
    let mut end = unary(id, model, answer);
    end.steps.clear();
    events.push((InteractionEvent::completed(end), 0));
    for (n, (event, _)) in events.iter_mut().enumerate() {
        event.set_event_id(event_id(n));
    }
    events
}

/// The resume point of the `n`-th event of a stream.
pub(crate) fn event_id(n: usize) -> String {
    format!("evt_{n:06}")
}
