//! The Interactions API (`/v1beta/interactions`): Google's newer interface to its models and
//! agents, with a timeline of typed steps, server-side conversations (`previous_interaction_id`),
//! background runs and resumable streams.
//!
//! * [`model`](self#types): [`Interaction`], its [`Step`]s, [`Content`], [`Usage`], [`Tool`]s,
//!   [`GenerationConfig`]; forward compatible like the rest of the crate.
//! * Requests: [`CreateInteractionRequest`], and the [`Api`](crate::Api) methods
//!   [`create_interaction`](crate::Api::create_interaction),
//!   [`get_interaction`](crate::Api::get_interaction),
//!   [`stream_interaction`](crate::Api::stream_interaction) (resume from an event id),
//!   [`cancel_interaction`](crate::Api::cancel_interaction) and
//!   [`delete_interaction`](crate::Api::delete_interaction).
//! * Streams: [`EventDecoder`] turns a body into [`InteractionEvent`]s with the guarantees of the
//!   SSE decoder (any split, any line ending, in-band errors, size limits, truncation reported);
//!   [`Assembler`] folds them into the final [`Interaction`], the same value a unary call
//!   returns, and reads a function call's arguments while they stream.
//! * Calls: [`InteractionStreamCall`](crate::call::InteractionStreamCall) and
//!   [`InteractionCall`](crate::call::InteractionCall), the state machines a client drives
//!   (retries, resumption of a dropped stream from its last event id, continuation).
//!
//! ```
//! use gemini_proto::interactions::{Assembler, EventDecoder};
//!
//! let body = concat!(
//!     "event: interaction.created\n",
//!     "data: {\"interaction\":{\"id\":\"v1_a\",\"status\":\"in_progress\"},\"event_type\":\"interaction.created\"}\n\n",
//!     "event: step.start\n",
//!     "data: {\"index\":0,\"step\":{\"type\":\"model_output\"},\"event_type\":\"step.start\"}\n\n",
//!     "event: step.delta\n",
//!     "data: {\"index\":0,\"delta\":{\"text\":\"Hi!\",\"type\":\"text\"},\"event_type\":\"step.delta\"}\n\n",
//!     "event: step.stop\n",
//!     "data: {\"index\":0,\"event_type\":\"step.stop\"}\n\n",
//!     "event: interaction.completed\n",
//!     "data: {\"interaction\":{\"id\":\"v1_a\",\"status\":\"completed\"},\"event_type\":\"interaction.completed\"}\n\n",
//! );
//! let mut decoder = EventDecoder::new();
//! let mut assembler = Assembler::new();
//! decoder.push(body.as_bytes());
//! decoder.finish();
//! while let Some(event) = decoder.next_event() {
//!     assembler.push(&event?);
//! }
//! assert_eq!(assembler.interaction().text().as_deref(), Some("Hi!"));
//! # Ok::<(), gemini_proto::Error>(())
//! ```
//!
//! # Types
//!
//! Member names are the API's (snake_case). Unions are open: a step, delta, content, tool or
//! event of a type this version does not know is kept whole ([`Unknown`], [`UnknownEvent`]) and
//! written back as it came.

mod assemble;
mod events;
mod model;
mod partial_json;
mod request;
pub(crate) mod tagged;

pub use assemble::{Assembler, AssemblerMark};
pub use events::{
    ArgumentsDelta, Delta, ErrorEvent, EventDecoder, InteractionCompleted, InteractionCreated,
    InteractionEvent, StatusUpdate, StepDelta, StepStart, StepStop, TextAnnotationDelta, TextDelta,
    ThoughtSignatureDelta, ThoughtSummaryDelta, ToolCallDelta, ToolResultDelta, UnknownEvent,
};
pub use model::{
    Annotation, BuiltinTool, Content, FunctionCallStep, FunctionResultStep, FunctionTool,
    GenerationConfig, Input, Interaction, InteractionError, InteractionStatus, MediaContent,
    ModalityTokens, ModelOutputStep, Step, TextContent, ThoughtStep, Tool, ToolCallStep,
    ToolResultStep, UrlCitation, Usage, UserInputStep,
};
pub use partial_json::parse_partial_json;
pub use request::{API_REVISION, API_REVISION_HEADER, CreateInteractionRequest};
pub use tagged::Unknown;
