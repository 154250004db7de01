//! A streamed interaction: [`InteractionStream`], and its text-only view
//! [`InteractionTextStream`].

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use gemini_proto::call::{Call, InteractionStreamCall};
use gemini_proto::interactions::{Interaction, InteractionEvent, Usage};

use crate::Error;
use crate::driver::{AbortHandle, Driver};

/// A streamed interaction: its events as they arrive, and everything a UI needs around them —
/// the same shape as the `generateContent` [`ResponseStream`](crate::ResponseStream).
///
/// * Read it with the inherent [`next`](Self::next), as a [`futures_core::Stream`], or as text
///   only with [`text_stream`](Self::text_stream). Each item is an
///   [`InteractionEvent`]: `interaction.created`, `step.start` / `step.delta` / `step.stop`,
///   `interaction.completed`, and any type this version does not know, kept whole.
/// * [`snapshot`](Self::snapshot) is the interaction so far, every event folded in;
///   [`final_interaction`](Self::final_interaction) reads the rest and returns it — the same
///   value a unary `create` returns. [`partial_arguments`](Self::partial_arguments) reads a
///   function call's arguments while they stream.
/// * A stream that breaks after events arrived is read again from the event after the last one
///   (`GET …?stream=true&last_event_id=…`), so you see every event once; an interaction stopped
///   at the output cap is continued. A failure that cannot be recovered yields the events that
///   did arrive, then one error carrying them as its
///   [`partial_interaction`](Error::partial_interaction). Failures before the first event are
///   retried by the client's [`RetryPolicy`](crate::RetryPolicy).
/// * [`abort_handle`](Self::abort_handle) lets another task stop it; dropping the stream closes
///   its connection at once.
///
/// ```no_run
/// # async fn demo(client: gemini::Client) -> Result<(), gemini::Error> {
/// let mut stream = client
///     .interactions()
///     .create_stream("gemini-2.5-flash", "Tell me a story.")
///     .await?;
/// while let Some(event) = stream.next().await {
///     match event {
///         Ok(event) => print!("{}", event.text().unwrap_or_default()),
///         Err(error) => {
///             eprintln!("\nthe stream broke: {error}");
///             let kept = error.partial_interaction().and_then(|i| i.text()).unwrap_or_default();
///             eprintln!("{} characters had arrived", kept.chars().count());
///         }
///     }
/// }
/// let interaction = stream.snapshot();
/// println!("\n{:?}", interaction.usage.as_ref().and_then(|u| u.total_tokens));
/// # Ok(()) }
/// ```
pub struct InteractionStream {
    // Boxed: a stream is moved around (out of the future that establishes it, into tasks).
    driver: Box<Driver<InteractionStreamCall>>,
}

impl fmt::Debug for InteractionStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InteractionStream")
            .field("driver", &self.driver)
            .finish()
    }
}

impl InteractionStream {
    pub(crate) fn new(driver: Driver<InteractionStreamCall>) -> Self {
        Self {
            driver: Box::new(driver),
        }
    }

    /// Waits until the server accepted the request (or refused it for good).
    pub(crate) async fn established(&mut self) -> Result<(), Error> {
        std::future::poll_fn(|cx| self.driver.poll_established(cx)).await
    }

    /// The next event; `None` at the end. After an error comes `None`.
    pub async fn next(&mut self) -> Option<Result<InteractionEvent, Error>> {
        std::future::poll_fn(|cx| self.poll_event(cx)).await
    }

    /// Polls for the next event (what [`next`](Self::next) and the `Stream` implementation do).
    pub fn poll_event(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<InteractionEvent, Error>>> {
        self.driver.poll_item(cx)
    }

    /// The interaction so far: every event handed out, folded in (steps, text, signatures,
    /// status, usage).
    pub fn snapshot(&self) -> &Interaction {
        self.driver.call().interaction()
    }

    /// The arguments of the function call at step `index` as far as they arrived, read as if
    /// their JSON were closed there; once the step stopped, its arguments.
    pub fn partial_arguments(&self, index: usize) -> Option<serde_json::Value> {
        self.driver.call().assembler().partial_arguments(index)
    }

    /// Reads the rest of the stream and returns the interaction. If the stream fails, the error
    /// carries what arrived ([`Error::partial_interaction`]); so does an error that
    /// [`next`](Self::next) already returned.
    pub async fn final_interaction(mut self) -> Result<Interaction, Error> {
        while let Some(item) = self.next().await {
            item?;
        }
        match self.driver.failure() {
            Some(error) => Err(error.clone()),
            None => Ok(self.snapshot().clone()),
        }
    }

    /// The text deltas as they arrive (other events are skipped).
    pub fn text_stream(self) -> InteractionTextStream {
        InteractionTextStream { inner: self }
    }

    /// A handle that stops this stream from anywhere (see [`AbortHandle`]).
    pub fn abort_handle(&mut self) -> AbortHandle {
        self.driver.abort_handle()
    }

    /// The latest usage (final once `interaction.completed` arrived).
    pub fn usage(&self) -> Option<&Usage> {
        self.snapshot().usage.as_ref()
    }

    /// The interaction's id, once `interaction.created` arrived (for a continued one, the latest
    /// request's).
    pub fn interaction_id(&self) -> Option<&str> {
        self.driver.call().interaction_id()
    }

    /// The resume point of the latest event handed out, when events carry one: give it to
    /// [`Interactions::resume`](crate::Interactions::resume) to read on from there.
    pub fn last_event_id(&self) -> Option<&str> {
        self.driver.call().last_event_id()
    }

    /// The number of requests sent so far (1 unless a failure was retried or the stream read
    /// again).
    pub fn attempts(&self) -> u32 {
        self.driver.call().attempts()
    }

    /// The number of events handed out.
    pub fn events(&self) -> u64 {
        self.driver.call().events_delivered()
    }

    /// The number of times the stream was read again after it broke.
    pub fn reconnects(&self) -> u32 {
        self.driver.call().reconnects()
    }

    /// The number of requests that made the interaction: more than 1 when it was continued past
    /// the output cap.
    pub fn hops(&self) -> u32 {
        self.driver.call().hops()
    }

    /// True once the stream ended, successfully or not.
    pub fn is_finished(&self) -> bool {
        self.driver.is_ended()
    }

    /// The error the stream ended with, if it failed.
    pub fn error(&self) -> Option<&Error> {
        self.driver.failure()
    }
}

impl Stream for InteractionStream {
    type Item = Result<InteractionEvent, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_event(cx)
    }
}

/// The text of an [`InteractionStream`], delta by delta. Made by
/// [`InteractionStream::text_stream`].
///
/// ```no_run
/// # async fn demo(client: gemini::Client) -> Result<(), gemini::Error> {
/// let stream = client.interactions().create_stream("gemini-2.5-flash", "Hi!").await?;
/// let mut text = stream.text_stream();
/// while let Some(delta) = text.next().await {
///     print!("{}", delta?);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct InteractionTextStream {
    inner: InteractionStream,
}

impl InteractionTextStream {
    /// The next piece of text; `None` at the end.
    pub async fn next(&mut self) -> Option<Result<String, Error>> {
        std::future::poll_fn(|cx| self.poll_text(cx)).await
    }

    /// Polls for the next piece of text.
    pub fn poll_text(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<String, Error>>> {
        loop {
            match self.inner.poll_event(cx) {
                Poll::Ready(Some(Ok(event))) => {
                    if let Some(text) = event.text() {
                        return Poll::Ready(Some(Ok(text.to_owned())));
                    }
                }
                Poll::Ready(Some(Err(error))) => return Poll::Ready(Some(Err(error))),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// The interaction so far (see [`InteractionStream::snapshot`]).
    pub fn snapshot(&self) -> &Interaction {
        self.inner.snapshot()
    }

    /// The underlying event stream.
    pub fn into_inner(self) -> InteractionStream {
        self.inner
    }
}

impl Stream for InteractionTextStream {
    type Item = Result<String, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_text(cx)
    }
}
