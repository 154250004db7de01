//! Chat sessions for blocking code.

use std::fmt;

use gemini_proto::types::{
    Content, GenerateContentRequest, GenerateContentResponse, GenerationConfig, IntoParts,
    SafetySetting, Tool, ToolConfig,
};

use super::wait;
use crate::{AbortHandle, Error, RetryPolicy, Timeouts};

/// Chat sessions of a blocking [`Client`](super::Client).
#[derive(Debug, Clone)]
pub struct Chats {
    inner: crate::Chats,
}

impl Chats {
    pub(super) fn new(inner: crate::Chats) -> Self {
        Self { inner }
    }

    /// A new conversation with `model` (see [`crate::Chat`]).
    ///
    /// ```no_run
    /// # fn demo(client: gemini::blocking::Client) -> Result<(), gemini::Error> {
    /// let mut chat = client.chats().create("gemini-2.5-flash");
    /// let answer = chat.send_message("I have two dogs.").send()?;
    /// println!("{}", answer.text().unwrap_or_default());
    /// for chunk in chat.send_message_stream("How many paws are in my house?").send()? {
    ///     print!("{}", chunk?.text().unwrap_or_default());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn create(&self, model: impl Into<String>) -> Chat {
        Chat {
            inner: self.inner.create(model),
        }
    }
}

/// A conversation for blocking code; see [`crate::Chat`] for how its history behaves.
#[derive(Debug)]
pub struct Chat {
    inner: crate::Chat,
}

macro_rules! forward_with {
    ($($(#[$doc:meta])* $name:ident($($arg:ident: $ty:ty),*);)*) => {
        $(
            $(#[$doc])*
            pub fn $name(self, $($arg: $ty),*) -> Self {
                Self { inner: self.inner.$name($($arg),*) }
            }
        )*
    };
}

impl Chat {
    forward_with! {
        /// See [`crate::Chat::with_history`].
        with_history(history: Vec<Content>);
        /// See [`crate::Chat::with_system_instruction`].
        with_system_instruction(instruction: impl IntoParts);
        /// See [`crate::Chat::with_config`].
        with_config(config: GenerationConfig);
        /// See [`crate::Chat::with_tool`].
        with_tool(tool: Tool);
        /// See [`crate::Chat::with_tool_config`].
        with_tool_config(config: ToolConfig);
        /// See [`crate::Chat::with_safety_setting`].
        with_safety_setting(setting: SafetySetting);
        /// See [`crate::Chat::with_template`].
        with_template(template: GenerateContentRequest);
        /// See [`crate::Chat::with_retry_policy`].
        with_retry_policy(policy: RetryPolicy);
        /// See [`crate::Chat::with_timeouts`].
        with_timeouts(timeouts: Timeouts);
    }

    /// The model.
    pub fn model(&self) -> &str {
        self.inner.model()
    }

    /// Everything committed so far.
    pub fn history(&self) -> Vec<Content> {
        self.inner.history()
    }

    /// The history as it is sent to the model.
    pub fn curated_history(&self) -> Vec<Content> {
        self.inner.curated_history()
    }

    /// Forgets the history.
    pub fn clear(&mut self) {
        self.inner.clear();
    }

    /// Sends a message; `send()` waits for the answer, which is then in the history.
    pub fn send_message(&mut self, message: impl IntoParts) -> SendMessage<'_> {
        SendMessage {
            inner: self.inner.send_message(message),
        }
    }

    /// Sends a message and streams the answer; the exchange is recorded when the stream
    /// completes.
    pub fn send_message_stream(&mut self, message: impl IntoParts) -> SendMessageStream<'_> {
        SendMessageStream {
            inner: self.inner.send_message_stream(message),
        }
    }
}

/// A blocking chat message. Made by [`Chat::send_message`].
#[derive(Debug)]
#[must_use = "a message is not sent until send() is called"]
pub struct SendMessage<'a> {
    inner: crate::SendMessage<'a>,
}

impl SendMessage<'_> {
    /// Sends the message and waits for the answer.
    pub fn send(self) -> Result<GenerateContentResponse, Error> {
        wait(self.inner.send())
    }
}

/// A blocking streamed chat message. Made by [`Chat::send_message_stream`].
#[derive(Debug)]
#[must_use = "a message is not sent until send() is called"]
pub struct SendMessageStream<'a> {
    inner: crate::SendMessageStream<'a>,
}

impl SendMessageStream<'_> {
    /// Sends the message; returns the stream once the server accepted it.
    pub fn send(self) -> Result<ChatStream, Error> {
        Ok(ChatStream {
            inner: wait(self.inner.send())?,
        })
    }
}

/// The streamed answer to a chat message, as an [`Iterator`]; see [`crate::ChatStream`].
pub struct ChatStream {
    inner: crate::ChatStream,
}

impl fmt::Debug for ChatStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ChatStream").field(&self.inner).finish()
    }
}

impl ChatStream {
    /// The answer so far.
    pub fn snapshot(&self) -> &GenerateContentResponse {
        self.inner.snapshot()
    }

    /// Reads the rest of the answer and returns it whole (it is then in the history).
    pub fn final_response(self) -> Result<GenerateContentResponse, Error> {
        wait(self.inner.final_response())
    }

    /// Adds the exchange to the history with whatever part of the answer arrived.
    pub fn commit_partial(self) -> Result<GenerateContentResponse, Error> {
        self.inner.commit_partial()
    }

    /// A handle that stops this stream from another thread.
    pub fn abort_handle(&mut self) -> AbortHandle {
        self.inner.abort_handle()
    }

    /// True once the exchange is in the history.
    pub fn is_recorded(&self) -> bool {
        self.inner.is_recorded()
    }

    /// The next chunk, or the news that output was taken back.
    pub fn next_event(&mut self) -> Option<Result<crate::StreamEvent, Error>> {
        wait(self.inner.next_event())
    }
}

impl Iterator for ChatStream {
    type Item = Result<GenerateContentResponse, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        wait(self.inner.next())
    }
}
