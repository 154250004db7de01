//! Chat history as a state machine: [`Chat`] and its in-flight [`Turn`].
//!
//! A turn starts with the user's content ([`Chat::start_turn`]) and is owned by whoever runs it —
//! it does not borrow the chat, so a streamed answer can travel to another task while the chat
//! stays where it is. The chat still allows one turn in flight at a time. The history changes only
//! when the turn is handed back with [`Chat::commit`], which is allowed once its stream completed;
//! after an error or an abandoned stream ([`Chat::abandon`]) the history is exactly as before,
//! unless the caller deliberately keeps what arrived with [`Chat::commit_partial`]. A commit adds
//! exactly two contents: the user's, and the model's whole answer merged into one turn.
//!
//! Two views of the history: [`Chat::history`] keeps everything (thought summaries included);
//! [`Chat::curated_history`] is what is sent back to the model: thought summaries are left out, but
//! every part that carries a thought signature is kept byte for byte (Gemini 3 rejects function
//! calling without them), and an exchange whose answer is empty — a blocked prompt, an answer of
//! nothing but thought summaries — is left out whole, so the model never sees two user turns in a
//! row.
//!
//! ```
//! use gemini_proto::chat::Chat;
//! use gemini_proto::types::{Content, GenerateContentRequest, GenerateContentResponse};
//!
//! let mut chat = Chat::new(GenerateContentRequest::default().with_system_instruction("Be brief."));
//!
//! let mut turn = chat.start_turn(Content::user("Hi!"))?;
//! assert_eq!(turn.request().contents.len(), 1);
//! turn.push_chunk(&serde_json::from_str::<GenerateContentResponse>(
//!     r#"{"candidates": [{"content": {"parts": [{"text": "Hello!"}],"role": "model"},"finishReason": "STOP"}]}"#,
//! ).unwrap());
//! turn.complete();
//! chat.commit(turn).unwrap();
//! assert_eq!(chat.history().len(), 2);
//!
//! // A turn whose stream broke leaves the history untouched.
//! let turn = chat.start_turn(Content::user("And then?"))?;
//! chat.abandon(turn);
//! assert_eq!(chat.history().len(), 2);
//! # Ok::<(), gemini_proto::Error>(())
//! ```

use std::fmt;

use crate::aggregate::Aggregator;
use crate::error::Error;
use crate::types::{Content, GenerateContentRequest, GenerateContentResponse, Part, Role};

/// A conversation: the request template (model settings, system instruction, tools) and the history.
#[derive(Clone, Debug, Default)]
pub struct Chat {
    template: GenerateContentRequest,
    history: Vec<Content>,
    /// Bumped by every change of the history, so that a turn based on an older history cannot be
    /// committed on top of a newer one.
    version: u64,
    /// The turn in flight, if any.
    in_flight: Option<u64>,
    turns_started: u64,
}

impl Chat {
    /// A chat whose requests are built from `template` (its `contents` are ignored).
    pub fn new(template: GenerateContentRequest) -> Self {
        Self::with_history(template, Vec::new())
    }

    /// A chat that continues `history`.
    pub fn with_history(mut template: GenerateContentRequest, history: Vec<Content>) -> Self {
        template.contents.clear();
        Self {
            template,
            history,
            ..Self::default()
        }
    }

    /// Everything committed so far, thought summaries included.
    pub fn history(&self) -> &[Content] {
        &self.history
    }

    /// The history as it is sent to the model: thought summaries without a signature are left out,
    /// signed parts are kept byte for byte, and an exchange whose model answer is left empty by
    /// that (or was empty to begin with, as for a blocked prompt) is left out with the user turn
    /// that asked for it.
    pub fn curated_history(&self) -> Vec<Content> {
        curate(&self.history)
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

    /// Replaces the history. A turn in flight can no longer be committed.
    pub fn set_history(&mut self, history: Vec<Content>) {
        self.history = history;
        self.version += 1;
    }

    /// Forgets the history. A turn in flight can no longer be committed.
    pub fn clear(&mut self) {
        self.set_history(Vec::new());
    }

    /// True while a turn started by [`start_turn`](Self::start_turn) was neither committed nor
    /// abandoned.
    pub fn has_turn_in_flight(&self) -> bool {
        self.in_flight.is_some()
    }

    /// Starts a turn with the user's content (a content without a role becomes the user's).
    ///
    /// Fails with [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest) while another
    /// turn is in flight: its answer would be missing from this turn's request, and the two
    /// answers would land in the history in whatever order they finished.
    pub fn start_turn(&mut self, user: Content) -> Result<Turn, Error> {
        if self.in_flight.is_some() {
            return Err(Error::invalid_request(
                "the chat already has a turn in flight: finish, commit or drop it before sending another message",
            ));
        }
        let user = if user.role.is_none() {
            Content {
                role: Some(Role::User),
                ..user
            }
        } else {
            user
        };
        let mut request = self.template.clone();
        request.contents = self.curated_history();
        request.contents.push(user.clone());
        self.turns_started += 1;
        let id = self.turns_started;
        self.in_flight = Some(id);
        Ok(Turn {
            id,
            version: self.version,
            user,
            request,
            aggregator: Aggregator::new(),
            completed: false,
        })
    }

    /// Commits the user's content and the model's answer to the history, and returns the answer.
    ///
    /// Refused, leaving the history unchanged and handing the turn back, when the turn's stream
    /// has not completed or the history changed since the turn started.
    pub fn commit(&mut self, turn: Turn) -> Result<GenerateContentResponse, NotCommitted> {
        if !turn.completed {
            return Err(NotCommitted::new(turn, Refusal::NotCompleted));
        }
        self.commit_partial(turn)
    }

    /// Commits the user's content and whatever part of the answer arrived, completed or not, and
    /// returns the answer. Refused only when the history changed since the turn started.
    pub fn commit_partial(&mut self, turn: Turn) -> Result<GenerateContentResponse, NotCommitted> {
        // Another turn may have started after this one was abandoned; it must not be overtaken.
        if turn.version != self.version || self.in_flight.is_some_and(|id| id != turn.id) {
            return Err(NotCommitted::new(turn, Refusal::Stale));
        }
        self.in_flight = None;
        let response = turn.aggregator.into_response();
        let model = response
            .candidates
            .first()
            .and_then(|candidate| candidate.content.clone())
            .map(|content| Content {
                role: Some(Role::Model),
                ..content
            })
            .unwrap_or_else(|| Content::model(Vec::<Part>::new()));
        self.history.push(turn.user);
        self.history.push(model);
        self.version += 1;
        Ok(response)
    }

    /// Ends a turn without changing the history (its stream failed or was dropped). Another turn
    /// may start at once; what arrived can still be kept with [`commit_partial`](Self::commit_partial)
    /// as long as no other turn started or was committed since.
    pub fn abandon(&mut self, turn: Turn) {
        self.abandon_id(turn.id);
    }

    /// Ends the turn with this [`Turn::id`] without changing the history, for front ends that
    /// no longer hold the turn itself.
    pub fn abandon_id(&mut self, id: u64) {
        if self.in_flight == Some(id) {
            self.in_flight = None;
        }
    }
}

/// Leaves out unsigned thoughts, and every exchange whose answer is left empty.
fn curate(history: &[Content]) -> Vec<Content> {
    let mut out: Vec<Content> = Vec::with_capacity(history.len());
    // Where the current exchange (a user turn and the model turns answering it) starts in `out`.
    let mut exchange_start = 0;
    for content in history {
        if content.role != Some(Role::Model) {
            // A user turn that follows a model turn starts a new exchange.
            if out.last().is_some_and(|c| c.role == Some(Role::Model)) {
                exchange_start = out.len();
            }
            out.push(content.clone());
            continue;
        }
        let parts: Vec<Part> = content
            .parts
            .iter()
            .filter(|part| !part.is_thought() || part.thought_signature.is_some())
            .cloned()
            .collect();
        if parts.is_empty() {
            // A failed exchange: leave out the question with the empty answer.
            out.truncate(exchange_start);
            continue;
        }
        out.push(Content {
            parts,
            ..content.clone()
        });
    }
    out
}

/// A turn in flight: the request to send and the answer as it arrives. Owned, so its stream can
/// live anywhere; hand it back to its [`Chat`] to commit or abandon it.
pub struct Turn {
    id: u64,
    version: u64,
    user: Content,
    request: GenerateContentRequest,
    aggregator: Aggregator,
    completed: bool,
}

impl fmt::Debug for Turn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Turn")
            .field("id", &self.id)
            .field("user", &self.user)
            .field("chunks", &self.aggregator.chunks())
            .field("completed", &self.completed)
            .finish_non_exhaustive()
    }
}

impl Turn {
    /// The turn's identifier within its chat (see [`Chat::abandon_id`]).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The request for this turn: the template with the curated history and the user's content.
    pub fn request(&self) -> &GenerateContentRequest {
        &self.request
    }

    /// The user's content.
    pub fn user(&self) -> &Content {
        &self.user
    }

    /// Folds in the next chunk of the answer.
    pub fn push_chunk(&mut self, chunk: &GenerateContentResponse) {
        self.aggregator.push(chunk);
    }

    /// Replaces the answer with one aggregated elsewhere (by a [`GenerateCall`], say), so that
    /// the chunks need not be folded twice.
    ///
    /// [`GenerateCall`]: crate::call::GenerateCall
    pub fn set_response(&mut self, response: GenerateContentResponse) {
        let mut aggregator = Aggregator::new();
        aggregator.push(&response);
        self.aggregator = aggregator;
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
}

/// Why a commit was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The turn's stream has not completed ([`Chat::commit`] only).
    NotCompleted,
    /// The history changed since the turn started (it was cleared or replaced), or the turn is
    /// not the one in flight.
    Stale,
}

/// A refused commit. Holds the turn, so the caller can still keep what arrived with
/// [`Chat::commit_partial`], or abandon it.
pub struct NotCommitted {
    turn: Box<Turn>,
    refusal: Refusal,
}

impl NotCommitted {
    fn new(turn: Turn, refusal: Refusal) -> Self {
        Self {
            turn: Box::new(turn),
            refusal,
        }
    }

    /// Why the commit was refused.
    pub fn refusal(&self) -> Refusal {
        self.refusal
    }

    /// The turn, unchanged.
    pub fn into_turn(self) -> Turn {
        *self.turn
    }
}

impl fmt::Debug for NotCommitted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotCommitted")
            .field("refusal", &self.refusal)
            .field("turn", &self.turn)
            .finish()
    }
}

impl fmt::Display for NotCommitted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.refusal {
            Refusal::NotCompleted => "the turn's stream has not completed",
            Refusal::Stale => "the chat history changed since the turn started",
        })
    }
}

impl std::error::Error for NotCommitted {}
