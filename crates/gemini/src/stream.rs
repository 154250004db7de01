//! The streamed answer: [`ResponseStream`], and its text-only view [`TextStream`].

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use gemini_proto::call::{Discarded, GenerateCall};
use gemini_proto::types::{ContinuationToken, GenerateContentResponse, UsageMetadata};

use crate::Error;
use crate::driver::{AbortHandle, Driver, Step};

/// What a stream hands out, read with [`ResponseStream::next_event`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
// A chunk is the common case; boxing it would add an allocation per chunk.
#[allow(clippy::large_enum_variant)]
pub enum StreamEvent {
    /// The next chunk of the answer.
    Chunk(GenerateContentResponse),
    /// The stream broke and was resumed from its latest checkpoint: the output handed out after
    /// that checkpoint is taken back, because the service generates it again. Erase
    /// [`Discarded::text`] (it ends what you showed); [`ResponseStream::snapshot`] has already
    /// rolled back.
    Discarded(Discarded),
}

/// A streamed answer: the chunks as they arrive, and everything a UI needs around them.
///
/// * Read it with the inherent [`next`](Self::next), as a [`futures_core::Stream`], or as text
///   only with [`text_stream`](Self::text_stream). Each chunk is a whole
///   [`GenerateContentResponse`]: its [`text`](GenerateContentResponse::text), its
///   [`parts`](GenerateContentResponse::parts), and usage metadata (a running total; the last
///   chunk's is final).
/// * [`snapshot`](Self::snapshot) is the answer so far, every chunk folded in;
///   [`final_response`](Self::final_response) reads the rest and returns the whole answer.
/// * A stream that breaks yields the chunks that did arrive, then one error that says what
///   happened and carries them as its [`partial_response`](Error::partial_response). Nothing is
///   retried once a chunk was handed out; failures before that are retried by the client's
///   [`RetryPolicy`](crate::RetryPolicy) — an error event in place of the first chunk included.
/// * [`abort_handle`](Self::abort_handle) lets another task stop it; dropping the stream closes
///   its connection at once.
/// * A long answer is followed over several requests, and a stream that breaks after the server
///   accepted it resumes from its latest checkpoint (see [the crate documentation](crate#long-answers)). Output that arrived after that checkpoint is generated again, so it is taken
///   back: [`next_event`](Self::next_event) says so the moment it happens
///   ([`StreamEvent::Discarded`]); [`next`](Self::next) leaves it to
///   [`take_discarded`](Self::take_discarded). The builder's `confirmed_only(true)` holds chunks
///   back until they are confirmed, for consumers that cannot erase.
///
/// ```no_run
/// # async fn demo(client: gemini::Client) -> Result<(), gemini::Error> {
/// let mut stream = client.models().generate_content_stream("gemini-2.5-flash", "Tell me a story.").await?;
/// while let Some(chunk) = stream.next().await {
///     match chunk {
///         Ok(chunk) => print!("{}", chunk.text().unwrap_or_default()),
///         Err(error) => {
///             eprintln!("\nthe stream broke: {error}");
///             let kept = error.partial_response().and_then(|p| p.text()).unwrap_or_default();
///             eprintln!("{} characters had arrived", kept.chars().count());
///         }
///     }
/// }
/// let answer = stream.snapshot(); // the whole answer (or what arrived of it)
/// println!("\n{} tokens", answer.usage().and_then(|u| u.total_token_count).unwrap_or(0));
/// # Ok(()) }
/// ```
pub struct ResponseStream {
    // Boxed: the call and its state are a couple of kilobytes, and a stream is moved around
    // (out of the future that establishes it, into the caller's hands, into tasks).
    driver: Box<Driver<GenerateCall>>,
}

impl fmt::Debug for ResponseStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseStream")
            .field("driver", &self.driver)
            .finish()
    }
}

impl ResponseStream {
    pub(crate) fn new(driver: Driver<GenerateCall>) -> Self {
        Self {
            driver: Box::new(driver),
        }
    }

    /// Waits until the server accepted the request (or refused it for good).
    pub(crate) async fn established(&mut self) -> Result<(), Error> {
        std::future::poll_fn(|cx| self.driver.poll_established(cx)).await
    }

    /// The next chunk; `None` at the end. After an error comes `None`.
    pub async fn next(&mut self) -> Option<Result<GenerateContentResponse, Error>> {
        std::future::poll_fn(|cx| self.poll_chunk(cx)).await
    }

    /// The next chunk, or the news that output was taken back; `None` at the end.
    ///
    /// ```no_run
    /// # async fn demo(client: gemini::Client) -> Result<(), gemini::Error> {
    /// use gemini::StreamEvent;
    ///
    /// let mut stream = client.models().generate_content_stream("gemini-2.5-flash", "A long story").await?;
    /// let mut screen = String::new();
    /// while let Some(event) = stream.next_event().await {
    ///     match event? {
    ///         StreamEvent::Chunk(chunk) => screen.push_str(&chunk.text().unwrap_or_default()),
    ///         StreamEvent::Discarded(taken_back) => {
    ///             screen.truncate(screen.len() - taken_back.text.len());
    ///         }
    ///         _ => {}
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn next_event(&mut self) -> Option<Result<StreamEvent, Error>> {
        std::future::poll_fn(|cx| self.poll_event(cx)).await
    }

    /// Polls for the next event (what [`next_event`](Self::next_event) does).
    pub fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<StreamEvent, Error>>> {
        self.driver.poll_event(cx).map(|event| {
            event.map(|step| {
                step.map(|step| match step {
                    Step::Item(chunk) => StreamEvent::Chunk(chunk),
                    Step::Rollback(discarded) => StreamEvent::Discarded(discarded),
                })
            })
        })
    }

    /// What resumptions took back since the last call, for a reader using
    /// [`next`](Self::next) (empty when nothing was).
    pub fn take_discarded(&mut self) -> Discarded {
        self.driver.take_discarded()
    }

    /// The number of requests with a new continuation token, the first included (1 for an
    /// answer that fit in one request).
    pub fn hops(&self) -> u32 {
        self.driver.call().hops()
    }

    /// The number of times the stream reconnected after it broke.
    pub fn reconnects(&self) -> u32 {
        self.driver.call().reconnects()
    }

    /// The latest continuation token: with automatic continuation off, the token to continue
    /// the answer from by hand.
    pub fn continuation_token(&self) -> Option<&ContinuationToken> {
        self.driver.call().continuation_token()
    }

    /// Polls for the next chunk (what [`next`](Self::next) and the `Stream` implementation do).
    #[inline]
    pub fn poll_chunk(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<GenerateContentResponse, Error>>> {
        self.driver.poll_item(cx)
    }

    /// The answer so far: every chunk handed out, folded into one response (text parts merged,
    /// function calls and thought signatures kept as they came, the latest usage).
    pub fn snapshot(&self) -> &GenerateContentResponse {
        self.driver.call().response()
    }

    /// Reads the rest of the stream and returns the whole answer. If the stream fails, the error
    /// carries what arrived ([`Error::partial_response`]); so does an error that
    /// [`next`](Self::next) already returned.
    pub async fn final_response(mut self) -> Result<GenerateContentResponse, Error> {
        while let Some(item) = self.next().await {
            item?;
        }
        match self.driver.failure() {
            Some(error) => Err(error.clone()),
            None => Ok(self.snapshot().clone()),
        }
    }

    /// The text of each chunk as it arrives (chunks without text are skipped).
    pub fn text_stream(self) -> TextStream {
        TextStream { inner: self }
    }

    /// A handle that stops this stream from anywhere (see [`AbortHandle`]).
    pub fn abort_handle(&mut self) -> AbortHandle {
        self.driver.abort_handle()
    }

    /// The latest usage metadata (a running total; final once the stream ended).
    pub fn usage(&self) -> Option<&UsageMetadata> {
        self.driver.call().usage()
    }

    /// The number of requests sent so far (1 unless a failure was retried).
    pub fn attempts(&self) -> u32 {
        use gemini_proto::call::Call;
        self.driver.call().attempts()
    }

    /// The number of chunks handed out.
    pub fn chunks(&self) -> u64 {
        self.driver.call().chunks_delivered()
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

impl Stream for ResponseStream {
    type Item = Result<GenerateContentResponse, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_chunk(cx)
    }
}

/// The text of a [`ResponseStream`], chunk by chunk (chunks without text are skipped). Made by
/// [`ResponseStream::text_stream`].
///
/// ```no_run
/// # async fn demo(client: gemini::Client) -> Result<(), gemini::Error> {
/// let stream = client.models().generate_content_stream("gemini-2.5-flash", "Hi!").await?;
/// let mut text = stream.text_stream();
/// while let Some(delta) = text.next().await {
///     print!("{}", delta?);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct TextStream {
    inner: ResponseStream,
}

impl TextStream {
    /// The next piece of text; `None` at the end.
    pub async fn next(&mut self) -> Option<Result<String, Error>> {
        std::future::poll_fn(|cx| self.poll_text(cx)).await
    }

    /// Polls for the next piece of text.
    pub fn poll_text(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<String, Error>>> {
        loop {
            match self.inner.poll_chunk(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    if let Some(text) = chunk.into_text() {
                        return Poll::Ready(Some(Ok(text)));
                    }
                }
                Poll::Ready(Some(Err(error))) => return Poll::Ready(Some(Err(error))),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// The answer so far (see [`ResponseStream::snapshot`]).
    pub fn snapshot(&self) -> &GenerateContentResponse {
        self.inner.snapshot()
    }

    /// What resumptions took back since the last call (see
    /// [`ResponseStream::take_discarded`]).
    pub fn take_discarded(&mut self) -> Discarded {
        self.inner.take_discarded()
    }

    /// The underlying chunk stream.
    pub fn into_inner(self) -> ResponseStream {
        self.inner
    }
}

impl Stream for TextStream {
    type Item = Result<String, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_text(cx)
    }
}
