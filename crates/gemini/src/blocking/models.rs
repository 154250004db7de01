//! The model endpoints for blocking code.

use std::fmt;

use gemini_proto::types::{
    BatchEmbedContentsResponse, CountTokensResponse, EmbedContentResponse, GenerateContentRequest,
    GenerateContentResponse, IntoContents, IntoParts, Model, TaskType, UsageMetadata,
};

use super::wait;
use crate::driver::first_item;
use crate::models::generate_driver;
use crate::options::{CallOptions, call_option_setters, generate_setters, stream_setters};
use crate::{AbortHandle, Error, RetryPolicy, Timeouts};

/// The model endpoints of a blocking [`Client`](super::Client). Every method returns a builder
/// that ends in `send()`.
#[derive(Debug, Clone)]
pub struct Models {
    inner: crate::Models,
    client: crate::Client,
}

impl Models {
    pub(super) fn new(inner: crate::Models) -> Self {
        let client = inner.client().clone();
        Self { inner, client }
    }

    /// Generates an answer, all at once. See [`crate::Models::generate_content`].
    pub fn generate_content(
        &self,
        model: impl Into<String>,
        contents: impl IntoContents,
    ) -> GenerateContent {
        GenerateContent {
            client: self.client.clone(),
            model: model.into(),
            request: GenerateContentRequest::new(contents.into_contents()),
            options: CallOptions::default(),
        }
    }

    /// Streams an answer; `send()` returns an iterator of chunks. See
    /// [`crate::Models::generate_content_stream`].
    pub fn generate_content_stream(
        &self,
        model: impl Into<String>,
        contents: impl IntoContents,
    ) -> GenerateContentStream {
        GenerateContentStream {
            client: self.client.clone(),
            model: model.into(),
            request: GenerateContentRequest::new(contents.into_contents()),
            options: CallOptions::default(),
        }
    }

    /// Counts the tokens of `contents`.
    pub fn count_tokens(
        &self,
        model: impl Into<String>,
        contents: impl IntoContents,
    ) -> CountTokens {
        CountTokens {
            inner: self.inner.count_tokens(model, contents),
        }
    }

    /// Embeds one content.
    pub fn embed_content(&self, model: impl Into<String>, content: impl IntoParts) -> EmbedContent {
        EmbedContent {
            inner: self.inner.embed_content(model, content),
        }
    }

    /// Embeds several contents in one request.
    pub fn batch_embed_contents<I, P>(
        &self,
        model: impl Into<String>,
        contents: I,
    ) -> BatchEmbedContents
    where
        I: IntoIterator<Item = P>,
        P: IntoParts,
    {
        BatchEmbedContents {
            inner: self.inner.batch_embed_contents(model, contents),
        }
    }

    /// Describes one model.
    pub fn get(&self, model: impl Into<String>) -> GetModel {
        GetModel {
            inner: self.inner.get(model),
        }
    }

    /// Every model, page after page, as an iterator.
    pub fn list(&self) -> ModelList {
        ModelList {
            inner: self.inner.list(),
        }
    }
}

/// A blocking `generateContent` request. Made by [`Models::generate_content`].
#[must_use = "a request does nothing until it is sent"]
pub struct GenerateContent {
    client: crate::Client,
    model: String,
    request: GenerateContentRequest,
    options: CallOptions,
}

impl GenerateContent {
    generate_setters!();
    call_option_setters!();

    /// Replaces the whole request body.
    pub fn request(mut self, request: GenerateContentRequest) -> Self {
        self.request = request;
        self
    }

    /// Sends the request and waits for the answer.
    pub fn send(self) -> Result<GenerateContentResponse, Error> {
        let driver = generate_driver(
            &self.client,
            &self.model,
            &self.request,
            &self.options,
            false,
        )?;
        wait(first_item(driver))
    }
}

/// A blocking `streamGenerateContent` request. Made by [`Models::generate_content_stream`].
#[must_use = "a request does nothing until it is sent"]
pub struct GenerateContentStream {
    client: crate::Client,
    model: String,
    request: GenerateContentRequest,
    options: CallOptions,
}

impl GenerateContentStream {
    generate_setters!();
    call_option_setters!();
    stream_setters!();

    /// Replaces the whole request body.
    pub fn request(mut self, request: GenerateContentRequest) -> Self {
        self.request = request;
        self
    }

    /// Sends the request; returns the stream once the server accepted it (after any retries).
    pub fn send(self) -> Result<ResponseStream, Error> {
        let driver = generate_driver(
            &self.client,
            &self.model,
            &self.request,
            &self.options,
            true,
        )?;
        let mut inner = crate::ResponseStream::new(driver);
        wait(inner.established())?;
        Ok(ResponseStream { inner })
    }
}

macro_rules! debug_with_model {
    ($($name:ident),*) => {$(
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).field("model", &self.model).finish_non_exhaustive()
            }
        }
    )*};
}
debug_with_model!(GenerateContent, GenerateContentStream);

/// A streamed answer for blocking code: an [`Iterator`] of chunks, with the helpers of the async
/// [`ResponseStream`](crate::ResponseStream).
///
/// ```no_run
/// # fn demo(client: gemini::blocking::Client) -> Result<(), gemini::Error> {
/// let mut stream = client.models().generate_content_stream("gemini-2.5-flash", "Hi!").send()?;
/// for text in stream.text() {
///     print!("{}", text?);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ResponseStream {
    inner: crate::ResponseStream,
}

impl ResponseStream {
    /// The answer so far, every chunk folded in.
    pub fn snapshot(&self) -> &GenerateContentResponse {
        self.inner.snapshot()
    }

    /// Reads the rest of the stream and returns the whole answer (an error carries what arrived).
    pub fn final_response(self) -> Result<GenerateContentResponse, Error> {
        wait(self.inner.final_response())
    }

    /// The text of each chunk as it arrives (chunks without text are skipped).
    pub fn text(&mut self) -> TextIter<'_> {
        TextIter { stream: self }
    }

    /// A handle that stops this stream from another thread.
    pub fn abort_handle(&mut self) -> AbortHandle {
        self.inner.abort_handle()
    }

    /// The latest usage metadata.
    pub fn usage(&self) -> Option<&UsageMetadata> {
        self.inner.usage()
    }

    /// The number of requests sent so far.
    pub fn attempts(&self) -> u32 {
        self.inner.attempts()
    }

    /// The number of chunks handed out.
    pub fn chunks(&self) -> u64 {
        self.inner.chunks()
    }

    /// True once the stream ended.
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }

    /// The error the stream ended with, if it failed.
    pub fn error(&self) -> Option<&Error> {
        self.inner.error()
    }

    /// The next chunk, or the news that output was taken back (see
    /// [`crate::ResponseStream::next_event`]).
    pub fn next_event(&mut self) -> Option<Result<crate::StreamEvent, Error>> {
        wait(self.inner.next_event())
    }

    /// What resumptions took back since the last call.
    pub fn take_discarded(&mut self) -> crate::Discarded {
        self.inner.take_discarded()
    }

    /// The number of requests with a new continuation token, the first included.
    pub fn hops(&self) -> u32 {
        self.inner.hops()
    }

    /// The number of times the stream reconnected after it broke.
    pub fn reconnects(&self) -> u32 {
        self.inner.reconnects()
    }

    /// The latest continuation token.
    pub fn continuation_token(&self) -> Option<&gemini_proto::types::ContinuationToken> {
        self.inner.continuation_token()
    }
}

impl Iterator for ResponseStream {
    type Item = Result<GenerateContentResponse, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        wait(self.inner.next())
    }
}

/// The text of a blocking [`ResponseStream`], chunk by chunk.
#[derive(Debug)]
pub struct TextIter<'a> {
    stream: &'a mut ResponseStream,
}

impl Iterator for TextIter<'_> {
    type Item = Result<String, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.stream.next()? {
                Ok(chunk) => {
                    if let Some(text) = chunk.into_text() {
                        return Some(Ok(text));
                    }
                }
                Err(error) => return Some(Err(error)),
            }
        }
    }
}

blocking_exchange! {
    /// A blocking `countTokens` request.
    CountTokens(crate::CountTokens) -> CountTokensResponse {
        /// See [`crate::CountTokens::request`].
        request(request: GenerateContentRequest);
    }
}

blocking_exchange! {
    /// A blocking `embedContent` request.
    EmbedContent(crate::EmbedContent) -> EmbedContentResponse {
        /// See [`crate::EmbedContent::task_type`].
        task_type(task_type: TaskType);
        /// See [`crate::EmbedContent::output_dimensionality`].
        output_dimensionality(dimensions: u32);
        /// See [`crate::EmbedContent::title`].
        title(title: impl Into<String>);
    }
}

blocking_exchange! {
    /// A blocking `batchEmbedContents` request.
    BatchEmbedContents(crate::BatchEmbedContents) -> BatchEmbedContentsResponse {
        /// See [`crate::BatchEmbedContents::task_type`].
        task_type(task_type: TaskType);
        /// See [`crate::BatchEmbedContents::output_dimensionality`].
        output_dimensionality(dimensions: u32);
    }
}

blocking_exchange! {
    /// A blocking `models.get` request.
    GetModel(crate::GetModel) -> Model {}
}

/// Every model, page after page, as an [`Iterator`].
#[derive(Debug)]
pub struct ModelList {
    inner: crate::ModelList,
}

impl ModelList {
    /// Asks for pages of at most this many models (before the first model is read).
    pub fn page_size(self, size: u32) -> Self {
        Self {
            inner: self.inner.page_size(size),
        }
    }
}

impl Iterator for ModelList {
    type Item = Result<Model, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        wait(self.inner.next())
    }
}
