//! The Interactions API for blocking code.

use std::time::Duration;

use gemini_proto::interactions::{Input, Interaction, InteractionEvent, Usage};

use super::wait;
use crate::driver::first_item;
use crate::interactions::{create_driver, create_stream_driver, interaction_setters};
use crate::{AbortHandle, Error, RetryPolicy, Timeouts};

/// The Interactions API of a blocking [`Client`](super::Client). Every method returns a builder
/// that ends in `send()`; see [`crate::Interactions`].
///
/// ```no_run
/// # fn demo(client: gemini::blocking::Client) -> Result<(), gemini::Error> {
/// let mut stream = client.interactions().create_stream("gemini-2.5-flash", "Hi!").send()?;
/// for text in stream.text() {
///     print!("{}", text?);
/// }
/// let interaction = stream.final_interaction()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Interactions {
    inner: crate::Interactions,
}

impl Interactions {
    pub(super) fn new(inner: crate::Interactions) -> Self {
        Self { inner }
    }

    /// Creates an interaction and returns it whole. See [`crate::Interactions::create`].
    pub fn create(&self, model: impl Into<String>, input: impl Into<Input>) -> CreateInteraction {
        CreateInteraction {
            inner: self.inner.create(model, input),
        }
    }

    /// Creates an interaction and streams it; `send()` returns an iterator of events. See
    /// [`crate::Interactions::create_stream`].
    pub fn create_stream(
        &self,
        model: impl Into<String>,
        input: impl Into<Input>,
    ) -> CreateInteractionStream {
        CreateInteractionStream {
            inner: self.inner.create_stream(model, input),
        }
    }

    /// Reads an interaction as it stands.
    pub fn get(&self, id: impl Into<String>) -> GetInteraction {
        GetInteraction {
            inner: self.inner.get(id),
        }
    }

    /// Streams a stored interaction from its first event.
    pub fn stream(&self, id: impl Into<String>) -> StreamInteraction {
        StreamInteraction {
            inner: self.inner.stream(id),
        }
    }

    /// Streams an interaction from the event after `last_event_id`.
    pub fn resume(
        &self,
        id: impl Into<String>,
        last_event_id: impl Into<String>,
    ) -> StreamInteraction {
        StreamInteraction {
            inner: self.inner.resume(id, last_event_id),
        }
    }

    /// Cancels a background run.
    pub fn cancel(&self, id: impl Into<String>) -> CancelInteraction {
        CancelInteraction {
            inner: self.inner.cancel(id),
        }
    }

    /// Deletes a stored interaction.
    pub fn delete(&self, id: impl Into<String>) -> DeleteInteraction {
        DeleteInteraction {
            inner: self.inner.delete(id),
        }
    }

    /// Polls an interaction until it no longer runs.
    pub fn wait(&self, id: impl Into<String>) -> WaitInteraction {
        WaitInteraction {
            inner: self.inner.wait(id),
        }
    }
}

/// A blocking unary `create`. Made by [`Interactions::create`].
#[derive(Debug)]
#[must_use = "a request does nothing until it is sent"]
pub struct CreateInteraction {
    inner: crate::interactions::CreateInteraction,
}

impl CreateInteraction {
    interaction_setters!(inner.request; inner.options);
    option_setters!();

    /// Sends the request and waits for the interaction.
    pub fn send(self) -> Result<Interaction, Error> {
        let inner = &self.inner;
        let driver = create_driver(&inner.client, &inner.request, &inner.options)?;
        wait(first_item(driver))
    }
}

/// A blocking streamed `create`. Made by [`Interactions::create_stream`].
#[derive(Debug)]
#[must_use = "a request does nothing until it is sent"]
pub struct CreateInteractionStream {
    inner: crate::interactions::CreateInteractionStream,
}

impl CreateInteractionStream {
    interaction_setters!(inner.request; inner.options);
    option_setters!();

    /// Sends the request; returns the stream once the server accepted it (after any retries).
    pub fn send(self) -> Result<InteractionStream, Error> {
        let inner = &self.inner;
        let driver = create_stream_driver(&inner.client, &inner.request, &inner.options)?;
        let mut inner = crate::InteractionStream::new(driver);
        wait(inner.established())?;
        Ok(InteractionStream { inner })
    }
}

/// A blocking streamed `GET` of an interaction. Made by [`Interactions::stream`] and
/// [`Interactions::resume`].
#[derive(Debug)]
#[must_use = "a request does nothing until it is sent"]
pub struct StreamInteraction {
    inner: crate::interactions::StreamInteraction,
}

impl StreamInteraction {
    option_setters!();

    /// Sends the request; returns the stream once the server accepted it.
    pub fn send(self) -> Result<InteractionStream, Error> {
        Ok(InteractionStream {
            inner: wait(self.inner.send())?,
        })
    }
}

blocking_exchange! {
    /// A blocking `GET interactions/{id}`.
    GetInteraction(crate::interactions::GetInteraction) -> Interaction {}
}

blocking_exchange! {
    /// A blocking cancel.
    CancelInteraction(crate::interactions::CancelInteraction) -> Interaction {}
}

blocking_exchange! {
    /// A blocking delete.
    DeleteInteraction(crate::interactions::DeleteInteraction) -> () {}
}

blocking_exchange! {
    /// Polls an interaction until it no longer runs.
    WaitInteraction(crate::interactions::WaitInteraction) -> Interaction {}
}

impl WaitInteraction {
    /// The time between two polls (default 2 s).
    pub fn interval(self, interval: Duration) -> Self {
        Self {
            inner: self.inner.interval(interval),
        }
    }
}

/// A streamed interaction for blocking code: an [`Iterator`] of events, with the helpers of the
/// async [`InteractionStream`](crate::InteractionStream).
#[derive(Debug)]
pub struct InteractionStream {
    inner: crate::InteractionStream,
}

impl InteractionStream {
    /// The interaction so far, every event folded in.
    pub fn snapshot(&self) -> &Interaction {
        self.inner.snapshot()
    }

    /// The arguments of the function call at step `index` as far as they arrived.
    pub fn partial_arguments(&self, index: usize) -> Option<serde_json::Value> {
        self.inner.partial_arguments(index)
    }

    /// Reads the rest of the stream and returns the interaction (an error carries what
    /// arrived).
    pub fn final_interaction(self) -> Result<Interaction, Error> {
        wait(self.inner.final_interaction())
    }

    /// The text deltas as they arrive.
    pub fn text(&mut self) -> InteractionTextIter<'_> {
        InteractionTextIter { stream: self }
    }

    /// A handle that stops this stream from another thread.
    pub fn abort_handle(&mut self) -> AbortHandle {
        self.inner.abort_handle()
    }

    /// The latest usage.
    pub fn usage(&self) -> Option<&Usage> {
        self.inner.usage()
    }

    /// The interaction's id, once known.
    pub fn interaction_id(&self) -> Option<&str> {
        self.inner.interaction_id()
    }

    /// The resume point of the latest event handed out.
    pub fn last_event_id(&self) -> Option<&str> {
        self.inner.last_event_id()
    }

    /// The number of requests sent so far.
    pub fn attempts(&self) -> u32 {
        self.inner.attempts()
    }

    /// The number of events handed out.
    pub fn events(&self) -> u64 {
        self.inner.events()
    }

    /// The number of times the stream was read again after it broke.
    pub fn reconnects(&self) -> u32 {
        self.inner.reconnects()
    }

    /// The number of requests that made the interaction.
    pub fn hops(&self) -> u32 {
        self.inner.hops()
    }

    /// True once the stream ended.
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }

    /// The error the stream ended with, if it failed.
    pub fn error(&self) -> Option<&Error> {
        self.inner.error()
    }
}

impl Iterator for InteractionStream {
    type Item = Result<InteractionEvent, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        wait(self.inner.next())
    }
}

/// The text deltas of a blocking [`InteractionStream`].
#[derive(Debug)]
pub struct InteractionTextIter<'a> {
    stream: &'a mut InteractionStream,
}

impl Iterator for InteractionTextIter<'_> {
    type Item = Result<String, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.stream.next()? {
                Ok(event) => {
                    if let Some(text) = event.text() {
                        return Some(Ok(text.to_owned()));
                    }
                }
                Err(error) => return Some(Err(error)),
            }
        }
    }
}
