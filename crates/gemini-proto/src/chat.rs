//! Chat history as a state machine: [`Chat`] and its in-flight [`Turn`].
//!
//! A turn starts with the user's content and borrows the chat mutably, so only one turn can be in flight
//! at a time. The turn's chunks are folded in as they arrive. The history changes only when the turn is
//! committed, which is allowed once the stream completed; after an error or an abandoned stream the
//! history is exactly as before, unless the caller deliberately keeps what arrived with
//! [`Turn::commit_partial`].
//!
//! Two views of the history: [`Chat::history`] keeps everything (thought summaries included);
//! [`Chat::curated_history`] is what is sent back to the model: thought summaries are left out, but
//! every part that carries a thought signature is kept byte for byte (Gemini 3 rejects function calling
//! without them).
//!
//! ```
//! use gemini_proto::chat::Chat;
//! use gemini_proto::types::{Content, GenerateContentRequest, GenerateContentResponse};
//!
//! let mut chat = Chat::new(GenerateContentRequest::default().with_system_instruction("Be brief."));
//!
//! let mut turn = chat.start_turn(Content::user("Hi!"));
//! let request = turn.request();
//! assert_eq!(request.contents.len(), 1);
//! turn.push_chunk(&serde_json::from_str::<GenerateContentResponse>(
//!     r#"{"candidates": [{"content": {"parts": [{"text": "Hello!"}],"role": "model"},"finishReason": "STOP"}]}"#,
//! ).unwrap());
//! turn.complete();
//! turn.commit().unwrap();
//! assert_eq!(chat.history().len(), 2);
//!
//! // A turn whose stream broke leaves the history untouched.
//! let turn = chat.start_turn(Content::user("And then?"));
//! drop(turn);
//! assert_eq!(chat.history().len(), 2);
//! ```

use std::fmt;

use crate::aggregate::Aggregator;
use crate::types::{Content, GenerateContentRequest, GenerateContentResponse, Part, Role};

/// A conversation: the request template (model settings, system instruction, tools) and the history.
#[derive(Clone, Debug, Default)]
pub struct Chat {
    template: GenerateContentRequest,
    history: Vec<Content>,
}

impl Chat {
    /// A chat whose requests are built from `template` (its `contents` are ignored).
    pub fn new(template: GenerateContentRequest) -> Self {
        Self::with_history(template, Vec::new())
    }

    /// A chat that continues `history`.
    pub fn with_history(mut template: GenerateContentRequest, history: Vec<Content>) -> Self {
        template.contents.clear();
        Self { template, history }
    }

    /// Everything committed so far, thought summaries included.
    pub fn history(&self) -> &[Content] {
        &self.history
    }

    /// The history as it is sent to the model: thought summaries without a signature are left out, and
    /// model turns left empty by that are dropped. Signed parts are kept byte for byte.
    pub fn curated_history(&self) -> Vec<Content> {
        self.history.iter().filter_map(curate).collect()
    }

    /// The request template.
    pub fn template(&self) -> &GenerateContentRequest {
        &self.template
    }

    /// Replaces the request template (its `contents` are ignored).
    pub fn set_template(&mut self, mut template: GenerateContentRequest) {
        template.contents.clear();
        self.template = template;
    }

    /// Forgets the history.
    pub fn clear(&mut self) {
        self.history.clear();
    }

    /// Starts a turn with the user's content. The chat is borrowed until the turn is committed or dropped.
    pub fn start_turn(&mut self, user: Content) -> Turn<'_> {
        let user = if user.role.is_none() {
            Content {
                role: Some(Role::User),
                ..user
            }
        } else {
            user
        };
        Turn {
            chat: self,
            user,
            aggregator: Aggregator::new(),
            completed: false,
        }
    }
}

fn curate(content: &Content) -> Option<Content> {
    if content.role != Some(Role::Model) {
        return Some(content.clone());
    }
    let parts: Vec<Part> = content
        .parts
        .iter()
        .filter(|part| !part.is_thought() || part.thought_signature.is_some())
        .cloned()
        .collect();
    if parts.is_empty() {
        return None;
    }
    Some(Content {
        parts,
        ..content.clone()
    })
}

/// A turn in flight. Dropping it without committing leaves the chat exactly as it was.
pub struct Turn<'a> {
    chat: &'a mut Chat,
    user: Content,
    aggregator: Aggregator,
    completed: bool,
}

impl fmt::Debug for Turn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Turn")
            .field("user", &self.user)
            .field("chunks", &self.aggregator.chunks())
            .field("completed", &self.completed)
            .finish_non_exhaustive()
    }
}

/// A turn that could not be committed because its stream has not completed. Holds the turn, so the
/// caller can still keep what arrived with [`Turn::commit_partial`], or drop it.
pub struct NotCompleted<'a>(Box<Turn<'a>>);

impl<'a> NotCompleted<'a> {
    /// The turn, unchanged.
    pub fn into_turn(self) -> Turn<'a> {
        *self.0
    }
}

impl fmt::Debug for NotCompleted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("NotCompleted").field(&self.0).finish()
    }
}

impl fmt::Display for NotCompleted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the turn's stream has not completed")
    }
}

impl std::error::Error for NotCompleted<'_> {}

impl<'a> Turn<'a> {
    /// The request for this turn: the template with the curated history and the user's content.
    pub fn request(&self) -> GenerateContentRequest {
        let mut request = self.chat.template.clone();
        request.contents = self.chat.curated_history();
        request.contents.push(self.user.clone());
        request
    }

    /// The user's content.
    pub fn user(&self) -> &Content {
        &self.user
    }

    /// Folds in the next chunk of the answer.
    pub fn push_chunk(&mut self, chunk: &GenerateContentResponse) {
        self.aggregator.push(chunk);
    }

    /// Marks the stream as completed (the body ended and the decoder reported no error).
    pub fn complete(&mut self) {
        self.completed = true;
    }

    /// True once [`complete`](Self::complete) was called.
    pub fn is_completed(&self) -> bool {
        self.completed
    }

    /// The answer aggregated so far.
    pub fn response(&self) -> &GenerateContentResponse {
        self.aggregator.response()
    }

    /// Commits the user's content and the model's answer to the history, and returns the answer.
    /// Fails, leaving the history unchanged and handing the turn back, when the stream has not
    /// completed.
    pub fn commit(self) -> Result<GenerateContentResponse, NotCompleted<'a>> {
        if !self.completed {
            return Err(NotCompleted(Box::new(self)));
        }
        Ok(self.commit_partial())
    }

    /// Commits the user's content and whatever part of the answer arrived, completed or not, and
    /// returns the answer.
    pub fn commit_partial(self) -> GenerateContentResponse {
        let response = self.aggregator.into_response();
        let model = response
            .candidates
            .first()
            .and_then(|candidate| candidate.content.clone())
            .map(|content| Content {
                role: Some(Role::Model),
                ..content
            })
            .unwrap_or_else(|| Content::model(Vec::<Part>::new()));
        self.chat.history.push(self.user);
        self.chat.history.push(model);
        response
    }
}
