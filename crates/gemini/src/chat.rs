//! Chat sessions: [`Chats`], [`Chat`] and the [`ChatStream`] of one streamed turn.

use std::fmt;
use std::future::IntoFuture;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use futures_core::Stream;
use gemini_proto::chat::{Chat as History, Turn};
use gemini_proto::types::{
    Content, GenerateContentRequest, GenerateContentResponse, GenerationConfig, IntoParts,
    SafetySetting, Tool, ToolConfig,
};

use crate::driver::{AbortHandle, CallFuture, first_item};
use crate::models::generate_driver;
use crate::options::CallOptions;
use crate::stream::{ResponseStream, StreamEvent};
use crate::{Client, Error, RetryPolicy, Timeouts};

/// Chat sessions of a [`Client`] (`client.chats()`).
#[derive(Debug, Clone)]
pub struct Chats {
    client: Client,
}

impl Chats {
    pub(crate) fn new(client: Client) -> Self {
        Self { client }
    }

    /// A new conversation with `model`. Configure it with the `with_*` methods.
    ///
    /// ```no_run
    /// # async fn demo(client: gemini::Client) -> Result<(), gemini::Error> {
    /// let mut chat = client
    ///     .chats()
    ///     .create("gemini-2.5-flash")
    ///     .with_system_instruction("You are a patient teacher.");
    /// let answer = chat.send_message("What is a monad?").await?;
    /// println!("{}", answer.text().unwrap_or_default());
    /// let mut stream = chat.send_message_stream("Now with an example in Rust.").await?;
    /// while let Some(chunk) = stream.next().await {
    ///     print!("{}", chunk?.text().unwrap_or_default());
    /// }
    /// assert_eq!(chat.history().len(), 4); // two exchanges
    /// # Ok(()) }
    /// ```
    pub fn create(&self, model: impl Into<String>) -> Chat {
        Chat {
            client: self.client.clone(),
            model: model.into(),
            state: Arc::new(Mutex::new(History::default())),
            options: CallOptions::default(),
        }
    }
}

/// A conversation: the model, its settings, and a history that changes only when an exchange
/// completes.
///
/// * [`send_message`](Self::send_message) and [`send_message_stream`](Self::send_message_stream)
///   take `&mut self`: one message at a time. The stream they give is owned (`'static`, `Send`):
///   move it into another task; the history is updated when it completes.
/// * Each completed exchange adds exactly two contents to the history: the user's message and the
///   model's whole answer merged into one turn, thought signatures kept byte for byte.
/// * A failed or dropped exchange leaves the history exactly as it was; keep what arrived on
///   purpose with [`ChatStream::commit_partial`].
/// * What is sent back is the curated history: thought summaries are left out, and an exchange
///   whose answer was empty (a blocked prompt) is left out whole, so the model never sees two
///   user turns in a row.
pub struct Chat {
    client: Client,
    model: String,
    state: Arc<Mutex<History>>,
    options: CallOptions,
}

impl fmt::Debug for Chat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chat")
            .field("model", &self.model)
            .field("history", &self.lock().history().len())
            .finish_non_exhaustive()
    }
}

impl Chat {
    fn lock(&self) -> MutexGuard<'_, History> {
        lock(&self.state)
    }

    fn edit_template(self, edit: impl FnOnce(&mut GenerateContentRequest)) -> Self {
        {
            let mut state = self.lock();
            let mut template = state.template().clone();
            edit(&mut template);
            state.set_template(template);
        }
        self
    }

    /// Continues an earlier conversation.
    pub fn with_history(self, history: Vec<Content>) -> Self {
        self.lock().set_history(history);
        self
    }

    /// Instructions that steer the model for the whole conversation.
    pub fn with_system_instruction(self, instruction: impl IntoParts) -> Self {
        let instruction = Content::new(instruction);
        self.edit_template(|t| t.system_instruction = Some(instruction))
    }

    /// The generation settings of every message.
    pub fn with_config(self, config: GenerationConfig) -> Self {
        self.edit_template(|t| t.generation_config = Some(config))
    }

    /// Adds a tool the model may use.
    pub fn with_tool(self, tool: Tool) -> Self {
        self.edit_template(|t| t.tools.push(tool))
    }

    /// How the tools are used.
    pub fn with_tool_config(self, config: ToolConfig) -> Self {
        self.edit_template(|t| t.tool_config = Some(config))
    }

    /// Adds a safety setting.
    pub fn with_safety_setting(self, setting: SafetySetting) -> Self {
        self.edit_template(|t| t.safety_settings.push(setting))
    }

    /// Uses `template` for every request: its settings, tools and system instruction (its
    /// `contents` are ignored).
    pub fn with_template(self, template: GenerateContentRequest) -> Self {
        self.lock().set_template(template);
        self
    }

    /// The retry policy of this chat's requests.
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.options.retry = Some(policy);
        self
    }

    /// The transport timeouts of this chat's requests.
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.options.timeouts = Some(timeouts);
        self
    }

    /// The model.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// Everything committed so far, thought summaries included.
    pub fn history(&self) -> Vec<Content> {
        self.lock().history().to_vec()
    }

    /// The history as it is sent to the model (see [`Chat`]).
    pub fn curated_history(&self) -> Vec<Content> {
        self.lock().curated_history()
    }

    /// Forgets the history. A stream still running for this chat will not be recorded.
    pub fn clear(&mut self) {
        self.lock().clear();
    }

    /// Sends a message; `.await` it for the answer, which is then in the history.
    ///
    /// Fails at once if a stream of this chat is still running (finish or drop it first).
    pub fn send_message(&mut self, message: impl IntoParts) -> SendMessage<'_> {
        SendMessage {
            chat: self,
            message: Content::user(message),
        }
    }

    /// Sends a message and streams the answer; `.await` it for the [`ChatStream`]. The exchange
    /// is recorded when the stream completes.
    pub fn send_message_stream(&mut self, message: impl IntoParts) -> SendMessageStream<'_> {
        SendMessageStream {
            chat: self,
            message: Content::user(message),
        }
    }

    fn start(&self, message: Content) -> Result<(TurnGuard, GenerateContentRequest), Error> {
        let turn = self.lock().start_turn(message)?;
        let request = turn.request().clone();
        let guard = TurnGuard {
            state: Arc::clone(&self.state),
            id: turn.id(),
            turn: Some(turn),
        };
        Ok((guard, request))
    }
}

fn lock(state: &Mutex<History>) -> MutexGuard<'_, History> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// A message of a [`Chat`] on its way; `.await` it for the answer. Made by
/// [`Chat::send_message`].
#[must_use = "a message is not sent until it is awaited"]
pub struct SendMessage<'a> {
    chat: &'a mut Chat,
    message: Content,
}

impl fmt::Debug for SendMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendMessage").finish_non_exhaustive()
    }
}

impl SendMessage<'_> {
    /// Sends the message; resolves to the answer once it is in the history.
    pub fn send(self) -> CallFuture<GenerateContentResponse> {
        let chat = self.chat;
        let started = chat.start(self.message).and_then(|(guard, request)| {
            let driver =
                generate_driver(&chat.client, &chat.model, &request, &chat.options, false)?;
            Ok((guard, driver))
        });
        CallFuture::new(async move {
            let (mut guard, driver) = started?;
            let answer = first_item(driver).await?;
            guard.commit(&answer)?;
            Ok(answer)
        })
    }
}

impl IntoFuture for SendMessage<'_> {
    type Output = Result<GenerateContentResponse, Error>;
    type IntoFuture = CallFuture<GenerateContentResponse>;
    fn into_future(self) -> Self::IntoFuture {
        self.send()
    }
}

/// A streamed message of a [`Chat`] on its way; `.await` it for the [`ChatStream`]. Made by
/// [`Chat::send_message_stream`].
#[must_use = "a message is not sent until it is awaited"]
pub struct SendMessageStream<'a> {
    chat: &'a mut Chat,
    message: Content,
}

impl fmt::Debug for SendMessageStream<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendMessageStream").finish_non_exhaustive()
    }
}

impl SendMessageStream<'_> {
    /// Sends the message; resolves to the stream once the server accepted it.
    pub fn send(self) -> CallFuture<ChatStream> {
        let chat = self.chat;
        let started = chat.start(self.message).and_then(|(guard, request)| {
            let driver = generate_driver(&chat.client, &chat.model, &request, &chat.options, true)?;
            Ok((guard, driver))
        });
        CallFuture::new(async move {
            let (guard, driver) = started?;
            let mut stream = ResponseStream::new(driver);
            stream.established().await?;
            Ok(ChatStream { stream, guard })
        })
    }
}

impl IntoFuture for SendMessageStream<'_> {
    type Output = Result<ChatStream, Error>;
    type IntoFuture = CallFuture<ChatStream>;
    fn into_future(self) -> Self::IntoFuture {
        self.send()
    }
}

/// The turn of a chat in flight: committed when its answer completes, abandoned otherwise.
struct TurnGuard {
    state: Arc<Mutex<History>>,
    id: u64,
    turn: Option<Turn>,
}

impl TurnGuard {
    /// Records the completed exchange.
    fn commit(&mut self, answer: &GenerateContentResponse) -> Result<(), Error> {
        let Some(mut turn) = self.turn.take() else {
            return Ok(());
        };
        turn.set_response(answer.clone());
        turn.complete();
        lock(&self.state).commit(turn).map(drop).map_err(|refused| {
            Error::invalid_request(format!("the answer was not added to the chat: {refused}"))
        })
    }

    /// Records what arrived, completed or not.
    fn commit_partial(&mut self, answer: &GenerateContentResponse) -> Result<(), Error> {
        let Some(mut turn) = self.turn.take() else {
            return Ok(());
        };
        turn.set_response(answer.clone());
        lock(&self.state)
            .commit_partial(turn)
            .map(drop)
            .map_err(|refused| {
                Error::invalid_request(format!("the answer was not added to the chat: {refused}"))
            })
    }

    /// Lets the chat start another turn, keeping this one for a deliberate partial commit.
    fn release(&self) {
        lock(&self.state).abandon_id(self.id);
    }
}

impl Drop for TurnGuard {
    fn drop(&mut self) {
        if self.turn.is_some() {
            self.release();
        }
    }
}

/// The streamed answer to a chat message. Owned: move it into another task if you like.
///
/// When it ends successfully the exchange is added to the chat's history; if it fails or is
/// dropped first, the history stays as it was (the chat can send again at once), unless you keep
/// what arrived with [`commit_partial`](Self::commit_partial).
pub struct ChatStream {
    stream: ResponseStream,
    guard: TurnGuard,
}

impl fmt::Debug for ChatStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatStream")
            .field("stream", &self.stream)
            .field("recorded", &self.guard.turn.is_none())
            .finish_non_exhaustive()
    }
}

impl ChatStream {
    /// The next chunk; `None` at the end (the exchange is then in the history).
    pub async fn next(&mut self) -> Option<Result<GenerateContentResponse, Error>> {
        std::future::poll_fn(|cx| self.poll_chunk(cx)).await
    }

    /// Polls for the next chunk.
    pub fn poll_chunk(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<GenerateContentResponse, Error>>> {
        match self.stream.poll_chunk(cx) {
            Poll::Ready(None) => self.finished().map(|r| r.map(Err)),
            Poll::Ready(Some(Err(error))) => {
                self.guard.release();
                Poll::Ready(Some(Err(error)))
            }
            other => other,
        }
    }

    /// The next chunk, or the news that output was taken back (see
    /// [`ResponseStream::next_event`]); the exchange is recorded at the end.
    pub async fn next_event(&mut self) -> Option<Result<StreamEvent, Error>> {
        std::future::poll_fn(|cx| self.poll_event(cx)).await
    }

    /// Polls for the next event.
    pub fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<StreamEvent, Error>>> {
        match self.stream.poll_event(cx) {
            Poll::Ready(None) => self.finished().map(|r| r.map(Err)),
            Poll::Ready(Some(Err(error))) => {
                self.guard.release();
                Poll::Ready(Some(Err(error)))
            }
            other => other,
        }
    }

    /// What resumptions took back since the last call (see
    /// [`ResponseStream::take_discarded`]).
    pub fn take_discarded(&mut self) -> gemini_proto::call::Discarded {
        self.stream.take_discarded()
    }

    /// Records the completed exchange; an error if the chat moved on meanwhile.
    fn finished(&mut self) -> Poll<Option<Error>> {
        if self.guard.turn.is_some() && self.stream.error().is_none() {
            let answer = self.stream.snapshot().clone();
            if let Err(error) = self.guard.commit(&answer) {
                return Poll::Ready(Some(error));
            }
        }
        Poll::Ready(None)
    }

    /// The answer so far.
    pub fn snapshot(&self) -> &GenerateContentResponse {
        self.stream.snapshot()
    }

    /// Reads the rest of the answer and returns it whole (it is then in the history).
    pub async fn final_response(mut self) -> Result<GenerateContentResponse, Error> {
        while let Some(item) = self.next().await {
            item?;
        }
        match self.stream.error() {
            Some(error) => Err(error.clone()),
            None => Ok(self.snapshot().clone()),
        }
    }

    /// Adds the exchange to the history with whatever part of the answer arrived, completed or
    /// not, and returns that answer. Refused if the chat moved on since (another message was
    /// sent, or the history was cleared).
    pub fn commit_partial(mut self) -> Result<GenerateContentResponse, Error> {
        let answer = self.stream.snapshot().clone();
        self.guard.commit_partial(&answer)?;
        Ok(answer)
    }

    /// A handle that stops this stream from anywhere.
    pub fn abort_handle(&mut self) -> AbortHandle {
        self.stream.abort_handle()
    }

    /// True once the exchange is in the history.
    pub fn is_recorded(&self) -> bool {
        self.guard.turn.is_none()
    }
}

impl Stream for ChatStream {
    type Item = Result<GenerateContentResponse, Error>;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_chunk(cx)
    }
}
