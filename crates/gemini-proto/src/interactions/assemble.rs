//! Folding a stream's events into the interaction they describe: [`Assembler`].

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::events::{Delta, InteractionEvent, StepDelta};
use super::model::{
    Content, FunctionCallStep, Interaction, ModelOutputStep, Step, TextContent, ThoughtStep,
    ToolCallStep, ToolResultStep,
};
use super::partial_json::parse_partial_json;
use super::{FunctionResultStep, Unknown};

/// Folds the events of a streamed interaction into the [`Interaction`] they describe: the same
/// value a unary `create` returns for the same answer.
///
/// * `interaction.created` / `interaction.completed` set the interaction's members (id, status,
///   model, usage, …); the steps come from the `step.*` events (or from `completed`, when it
///   carries them);
/// * text deltas append to the step's last text content (a new text content after other
///   content), thought summaries to the thought's summary, a signature to the step's signature
///   (byte for byte), annotations to the last text, images and audio become content;
/// * a function call's `arguments_delta` fragments are joined and parsed when the step stops;
///   while they stream, [`partial_arguments`](Self::partial_arguments) reads what arrived;
/// * built-in tools' deltas set their step's members (arrays of results are extended); a delta
///   of a type this version does not know is folded the same way into a step of its type, and
///   otherwise counted ([`unfolded`](Self::unfolded)) — never an error.
///
/// ```
/// use gemini_proto::interactions::{Assembler, InteractionEvent};
///
/// let events = [
///     r#"{"interaction":{"id":"v1_a","status":"in_progress"},"event_type":"interaction.created"}"#,
///     r#"{"index":0,"step":{"type":"model_output"},"event_type":"step.start"}"#,
///     r#"{"index":0,"delta":{"text":"Hel","type":"text"},"event_type":"step.delta"}"#,
///     r#"{"index":0,"delta":{"text":"lo","type":"text"},"event_type":"step.delta"}"#,
///     r#"{"index":0,"event_type":"step.stop"}"#,
///     r#"{"interaction":{"id":"v1_a","status":"completed","usage":{"total_tokens":9}},"event_type":"interaction.completed"}"#,
/// ];
/// let mut assembler = Assembler::new();
/// for event in events {
///     assembler.push(&serde_json::from_str::<InteractionEvent>(event).unwrap());
/// }
/// let interaction = assembler.interaction();
/// assert_eq!(interaction.text().as_deref(), Some("Hello"));
/// assert_eq!(interaction.usage.as_ref().and_then(|u| u.total_tokens), Some(9));
/// assert!(assembler.is_completed());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Assembler {
    interaction: Interaction,
    /// The argument fragments of function calls whose step has not stopped, by step index.
    arguments: BTreeMap<usize, String>,
    events: u64,
    completed: bool,
    unfolded: u64,
}

/// Where the assembler stands: what [`Assembler::mark`] remembers.
#[derive(Debug, Clone, Default)]
pub struct AssemblerMark(Box<Assembler>);

impl Assembler {
    /// An empty assembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds in one event.
    pub fn push(&mut self, event: &InteractionEvent) {
        self.events += 1;
        match event {
            InteractionEvent::Created(created) => {
                if let Some(interaction) = &created.interaction {
                    self.merge(interaction);
                }
            }
            InteractionEvent::StatusUpdate(update) => {
                if let Some(status) = &update.status {
                    self.interaction.status = Some(status.clone());
                }
                if let Some(token) = &update.continuation_token {
                    self.interaction.continuation_token = Some(token.clone());
                }
                if let Some(usage) = &update.usage {
                    self.interaction.usage = Some(usage.clone());
                }
                if self.interaction.id.is_none() {
                    self.interaction.id.clone_from(&update.interaction_id);
                }
            }
            InteractionEvent::StepStart(start) => {
                let index = index_of(start.index, self.interaction.steps.len());
                let step = start
                    .step
                    .clone()
                    .unwrap_or_else(|| Step::Unknown(Unknown::default()));
                self.arguments.remove(&index);
                *slot(&mut self.interaction.steps, index, || {
                    Step::Unknown(Unknown::default())
                }) = step;
            }
            InteractionEvent::StepDelta(delta) => self.fold_delta(delta),
            InteractionEvent::StepStop(stop) => {
                let index = index_of(stop.index, self.interaction.steps.len());
                self.finish_arguments(index, false);
            }
            InteractionEvent::Completed(completed) => {
                self.completed = true;
                if let Some(interaction) = &completed.interaction {
                    self.merge(interaction);
                }
            }
            InteractionEvent::Error(error) => {
                if let Some(error) = &error.error {
                    self.interaction.errors.push(error.clone());
                }
            }
            InteractionEvent::Unknown(_) => self.unfolded += 1,
        }
    }

    /// The interaction so far. A function call whose arguments are still streaming shows the
    /// arguments its `step.start` gave; [`partial_arguments`](Self::partial_arguments) reads the
    /// fragments.
    pub fn interaction(&self) -> &Interaction {
        &self.interaction
    }

    /// The interaction, with the arguments of function calls still streaming read as far as
    /// they go (what a broken stream leaves).
    pub fn into_interaction(mut self) -> Interaction {
        let pending: Vec<usize> = self.arguments.keys().copied().collect();
        for index in pending {
            self.finish_arguments(index, true);
        }
        self.interaction
    }

    /// The interaction as [`into_interaction`](Self::into_interaction) gives it, keeping the
    /// assembler.
    pub fn to_interaction(&self) -> Interaction {
        self.clone().into_interaction()
    }

    /// The JSON text of the arguments of the function call at step `index`, as far as it
    /// arrived, while it streams.
    pub fn arguments_text(&self, index: usize) -> Option<&str> {
        self.arguments.get(&index).map(String::as_str)
    }

    /// The arguments of the function call at step `index` as far as they arrived, read as if the
    /// JSON were closed there (see [`parse_partial_json`](super::parse_partial_json)); once the step
    /// stopped, its arguments.
    ///
    /// ```
    /// use gemini_proto::interactions::{Assembler, InteractionEvent};
    ///
    /// let mut assembler = Assembler::new();
    /// for event in [
    ///     r#"{"index":0,"step":{"id":"c1","name":"get_weather","arguments":{},"type":"function_call"},"event_type":"step.start"}"#,
    ///     r#"{"index":0,"delta":{"arguments":"{\"city\":\"Par","type":"arguments_delta"},"event_type":"step.delta"}"#,
    /// ] {
    ///     assembler.push(&serde_json::from_str::<InteractionEvent>(event).unwrap());
    /// }
    /// assert_eq!(assembler.partial_arguments(0), Some(serde_json::json!({"city": "Par"})));
    /// ```
    pub fn partial_arguments(&self, index: usize) -> Option<Value> {
        match self.arguments.get(&index) {
            Some(text) => parse_partial_json(text),
            None => match self.interaction.steps.get(index)? {
                Step::FunctionCall(call) => call.arguments.clone(),
                _ => None,
            },
        }
    }

    /// The number of events folded in.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// True once `interaction.completed` was folded in.
    pub fn is_completed(&self) -> bool {
        self.completed
    }

    /// Events and deltas of types this version does not know that could not be folded into a
    /// step (they are still handed out as events).
    pub fn unfolded(&self) -> u64 {
        self.unfolded
    }

    /// Remembers where the assembler stands, to go back to it with
    /// [`roll_back`](Self::roll_back).
    pub fn mark(&self) -> AssemblerMark {
        AssemblerMark(Box::new(self.clone()))
    }

    /// Goes back to a [`mark`](Self::mark).
    pub fn roll_back(&mut self, mark: &AssemblerMark) {
        *self = (*mark.0).clone();
    }

    /// Starts the next request of a continued interaction: its steps follow the ones so far,
    /// its `interaction.completed` will say how it ended.
    pub(crate) fn next_hop(&mut self) {
        self.completed = false;
    }

    /// Sets the members an `interaction.created` or `interaction.completed` carries.
    fn merge(&mut self, incoming: &Interaction) {
        let target = &mut self.interaction;
        macro_rules! take {
            ($($field:ident),*) => {$(
                if incoming.$field.is_some() {
                    target.$field.clone_from(&incoming.$field);
                }
            )*};
        }
        take!(
            id,
            status,
            model,
            agent,
            object,
            created,
            updated,
            service_tier,
            previous_interaction_id,
            input,
            system_instruction,
            generation_config,
            response_format,
            usage,
            continuation_token
        );
        if !incoming.tools.is_empty() {
            target.tools.clone_from(&incoming.tools);
        }
        if !incoming.errors.is_empty() {
            target.errors.clone_from(&incoming.errors);
        }
        if !incoming.labels.is_empty() {
            target.labels.clone_from(&incoming.labels);
        }
        for (key, value) in &incoming.extra {
            target.extra.insert(key.clone(), value.clone());
        }
        if !incoming.steps.is_empty() {
            // The service's own account of the steps wins over the one assembled from events.
            target.steps.clone_from(&incoming.steps);
            self.arguments.clear();
        }
    }

    fn fold_delta(&mut self, event: &StepDelta) {
        let Some(delta) = &event.delta else {
            return;
        };
        let index = index_of(event.index, self.interaction.steps.len().saturating_sub(1));
        let step = slot(&mut self.interaction.steps, index, || step_for(delta));
        let folded = match (step, delta) {
            (Step::ModelOutput(step), Delta::Text(text)) => {
                push_text(&mut step.content, text.text.as_deref().unwrap_or_default());
                true
            }
            (Step::UserInput(step), Delta::Text(text)) => {
                push_text(&mut step.content, text.text.as_deref().unwrap_or_default());
                true
            }
            (Step::Thought(step), Delta::ThoughtSummary(summary)) => {
                match &summary.content {
                    Some(Content::Text(text)) => {
                        push_text(&mut step.summary, text.text.as_deref().unwrap_or_default());
                    }
                    Some(other) => step.summary.push(other.clone()),
                    None => {}
                }
                true
            }
            (step, Delta::ThoughtSignature(signature)) => {
                let piece = signature.signature.as_deref().unwrap_or_default();
                match signature_slot(step) {
                    Some(slot) => {
                        slot.get_or_insert_with(String::new).push_str(piece);
                        true
                    }
                    None => false,
                }
            }
            (Step::FunctionCall(_), Delta::ArgumentsDelta(arguments)) => {
                self.arguments
                    .entry(index)
                    .or_default()
                    .push_str(arguments.arguments.as_deref().unwrap_or_default());
                true
            }
            (Step::ModelOutput(step), Delta::TextAnnotation(annotations)) => {
                match step.content.iter_mut().rev().find_map(|c| match c {
                    Content::Text(text) => Some(text),
                    _ => None,
                }) {
                    Some(text) => text
                        .annotations
                        .extend(annotations.annotations.iter().cloned()),
                    None => step.content.push(Content::Text(TextContent {
                        annotations: annotations.annotations.clone(),
                        ..TextContent::default()
                    })),
                }
                true
            }
            (Step::ModelOutput(step), Delta::Image(media)) => {
                step.content.push(Content::Image(media.clone()));
                true
            }
            (Step::ModelOutput(step), Delta::Audio(media)) => {
                step.content.push(Content::Audio(media.clone()));
                true
            }
            (Step::ModelOutput(step), Delta::Document(media)) => {
                step.content.push(Content::Document(media.clone()));
                true
            }
            (Step::ModelOutput(step), Delta::Video(media)) => {
                step.content.push(Content::Video(media.clone()));
                true
            }
            // Built-in tools (and function results): the delta sets the step's members.
            (step, delta) if step.type_name() == delta.type_name() => merge_members(step, delta),
            (step @ Step::Unknown(_), delta) if matches!(&*step, Step::Unknown(unknown) if unknown.fields().is_empty()) =>
            {
                // A step known only by its deltas.
                *step = step_for(delta);
                merge_members(step, delta)
            }
            _ => false,
        };
        if !folded {
            self.unfolded += 1;
        }
    }

    /// Parses the argument fragments of the function call at `index` into its arguments: as far
    /// as they go when `partial`, else only when they are whole JSON (fragments that never make
    /// valid JSON stay readable with [`arguments_text`](Self::arguments_text) until then… and
    /// are read as far as they go when the step stops).
    fn finish_arguments(&mut self, index: usize, partial: bool) {
        let Some(text) = self.arguments.remove(&index) else {
            return;
        };
        let parsed = match serde_json::from_str::<Value>(&text) {
            Ok(value) => Some(value),
            Err(_) if partial || !text.trim().is_empty() => parse_partial_json(&text),
            Err(_) => None,
        };
        if let (Some(Step::FunctionCall(call)), Some(value)) =
            (self.interaction.steps.get_mut(index), parsed)
        {
            call.arguments = Some(value);
        }
    }
}

/// The step at `index`, made with `make` (and gaps filled) when it is not there yet.
fn slot(steps: &mut Vec<Step>, index: usize, make: impl FnOnce() -> Step) -> &mut Step {
    while steps.len() < index {
        steps.push(Step::Unknown(Unknown::default()));
    }
    if steps.len() == index {
        steps.push(make());
    }
    &mut steps[index]
}

/// A step's position: `index` as given, else `fallback` (the last step, or the next).
fn index_of(index: Option<u64>, fallback: usize) -> usize {
    index
        .and_then(|i| usize::try_from(i).ok())
        // A position far past anything streamed is not a step of this answer: bound the gap.
        .map_or(fallback, |i| i.min(fallback.saturating_add(1024)))
}

/// Appends text to the last text content, or starts one.
fn push_text(content: &mut Vec<Content>, text: &str) {
    if let Some(Content::Text(last)) = content.last_mut() {
        last.text.get_or_insert_with(String::new).push_str(text);
    } else {
        content.push(Content::text(text));
    }
}

/// The step a delta belongs to, for a delta whose `step.start` did not come.
fn step_for(delta: &Delta) -> Step {
    match delta {
        Delta::Text(_)
        | Delta::TextAnnotation(_)
        | Delta::Image(_)
        | Delta::Audio(_)
        | Delta::Document(_)
        | Delta::Video(_) => Step::ModelOutput(ModelOutputStep::default()),
        Delta::ThoughtSummary(_) | Delta::ThoughtSignature(_) => {
            Step::Thought(ThoughtStep::default())
        }
        Delta::ArgumentsDelta(_) => Step::FunctionCall(FunctionCallStep::default()),
        Delta::FunctionResult(_) => Step::FunctionResult(FunctionResultStep::default()),
        other => {
            let fresh = Step::from_type_name(other.type_name());
            match fresh {
                Step::Unknown(_) => {
                    let mut fields = Map::new();
                    fields.insert(
                        "type".to_owned(),
                        Value::String(other.type_name().to_owned()),
                    );
                    Step::Unknown(Unknown::new(fields))
                }
                known => known,
            }
        }
    }
}

/// Where a step keeps its signature.
fn signature_slot(step: &mut Step) -> Option<&mut Option<String>> {
    Some(match step {
        Step::Thought(s) => &mut s.signature,
        Step::FunctionCall(s) => &mut s.signature,
        Step::FunctionResult(s) => &mut s.signature,
        Step::GoogleSearchCall(s)
        | Step::CodeExecutionCall(s)
        | Step::UrlContextCall(s)
        | Step::FileSearchCall(s)
        | Step::GoogleMapsCall(s)
        | Step::McpServerToolCall(s) => tool_call_signature(s),
        Step::GoogleSearchResult(s)
        | Step::CodeExecutionResult(s)
        | Step::UrlContextResult(s)
        | Step::FileSearchResult(s)
        | Step::GoogleMapsResult(s)
        | Step::McpServerToolResult(s) => tool_result_signature(s),
        Step::UserInput(_) | Step::ModelOutput(_) | Step::Unknown(_) => return None,
    })
}

fn tool_call_signature(step: &mut ToolCallStep) -> &mut Option<String> {
    &mut step.signature
}

fn tool_result_signature(step: &mut ToolResultStep) -> &mut Option<String> {
    &mut step.signature
}

/// Sets the members of `delta` (but its `type`) on `step`: strings are appended (a signature
/// in pieces), arrays extended (results in pieces), anything else replaced. Returns false when
/// the step cannot take them.
fn merge_members(step: &mut Step, delta: &Delta) -> bool {
    let (Ok(Value::Object(mut target)), Ok(Value::Object(members))) =
        (serde_json::to_value(&*step), serde_json::to_value(delta))
    else {
        return false;
    };
    for (key, value) in members {
        if key == "type" {
            continue;
        }
        match (target.get_mut(&key), value) {
            (Some(Value::String(old)), Value::String(new)) => old.push_str(&new),
            (Some(Value::Array(old)), Value::Array(new)) => old.extend(new),
            (_, value) => {
                target.insert(key, value);
            }
        }
    }
    match serde_json::from_value::<Step>(Value::Object(target)) {
        Ok(merged) => {
            *step = merged;
            true
        }
        Err(_) => false,
    }
}
