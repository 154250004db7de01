//! The model endpoints: [`Models`] and its request builders.

use std::collections::VecDeque;
use std::fmt;
use std::future::IntoFuture;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use gemini_proto::call::{Exchange, GenerateCall, ModelPages};
use gemini_proto::types::{
    BatchEmbedContentsRequest, BatchEmbedContentsResponse, CountTokensRequest, CountTokensResponse,
    EmbedContentRequest, EmbedContentResponse, GenerateContentRequest, GenerateContentResponse,
    IntoContents, IntoParts, ListModelsResponse, Model, TaskType,
};
use serde::de::DeserializeOwned;

use crate::driver::{CallFuture, Driver, first_item};
use crate::options::{CallOptions, call_option_setters, generate_setters, stream_setters};
use crate::stream::ResponseStream;
use crate::{Client, Error};

/// The model endpoints of a [`Client`] (`client.models()`).
///
/// Every method returns a builder: set options on it, then `.await` it (or call `send()`).
#[derive(Debug, Clone)]
pub struct Models {
    client: Client,
}

impl Models {
    pub(crate) fn new(client: Client) -> Self {
        Self { client }
    }

    #[cfg(feature = "blocking")]
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// Generates an answer, all at once (`generateContent`).
    ///
    /// `contents` is a prompt (`&str`, `String`), parts (one user turn: text, images, files…),
    /// a [`Content`](crate::types::Content), or a whole conversation.
    ///
    /// ```no_run
    /// # async fn demo(client: gemini::Client) -> Result<(), gemini::Error> {
    /// let answer = client
    ///     .models()
    ///     .generate_content("gemini-2.5-flash", "Write a haiku about Rust.")
    ///     .temperature(0.9)
    ///     .max_output_tokens(200)
    ///     .await?;
    /// println!("{}", answer.text().unwrap_or_default());
    /// # Ok(()) }
    /// ```
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

    /// Streams an answer as it is generated (`streamGenerateContent?alt=sse`). Awaiting the
    /// builder establishes the stream (retrying as the policy allows); the
    /// [`ResponseStream`] then yields the chunks.
    ///
    /// ```no_run
    /// # async fn demo(client: gemini::Client) -> Result<(), gemini::Error> {
    /// let mut stream = client
    ///     .models()
    ///     .generate_content_stream("gemini-2.5-flash", "Tell me a story.")
    ///     .await?;
    /// while let Some(chunk) = stream.next().await {
    ///     print!("{}", chunk?.text().unwrap_or_default());
    /// }
    /// # Ok(()) }
    /// ```
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

    /// Counts the tokens of `contents` (`countTokens`).
    pub fn count_tokens(
        &self,
        model: impl Into<String>,
        contents: impl IntoContents,
    ) -> CountTokens {
        CountTokens {
            client: self.client.clone(),
            model: model.into(),
            request: CountTokensRequest::new(contents.into_contents()),
            options: CallOptions::default(),
        }
    }

    /// Embeds one content (`embedContent`).
    pub fn embed_content(&self, model: impl Into<String>, content: impl IntoParts) -> EmbedContent {
        EmbedContent {
            client: self.client.clone(),
            model: model.into(),
            request: EmbedContentRequest::new(content),
            options: CallOptions::default(),
        }
    }

    /// Embeds several contents in one request (`batchEmbedContents`); the answer has one
    /// embedding per content, in order.
    pub fn batch_embed_contents<I, P>(
        &self,
        model: impl Into<String>,
        contents: I,
    ) -> BatchEmbedContents
    where
        I: IntoIterator<Item = P>,
        P: IntoParts,
    {
        let mut request = BatchEmbedContentsRequest::default();
        request.requests = contents.into_iter().map(EmbedContentRequest::new).collect();
        BatchEmbedContents {
            client: self.client.clone(),
            model: model.into(),
            request,
            options: CallOptions::default(),
        }
    }

    /// Describes one model (`models.get`).
    pub fn get(&self, model: impl Into<String>) -> GetModel {
        GetModel {
            client: self.client.clone(),
            model: model.into(),
            request: (),
            options: CallOptions::default(),
        }
    }

    /// Every model, page after page (`models.list`), as a stream.
    ///
    /// ```no_run
    /// # async fn demo(client: gemini::Client) -> Result<(), gemini::Error> {
    /// let mut models = client.models().list();
    /// while let Some(model) = models.next().await {
    ///     println!("{}", model?.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> ModelList {
        ModelList::new(self.client.clone())
    }
}

/// A `generateContent` request; `.await` it for the answer. Made by [`Models::generate_content`].
#[must_use = "a request does nothing until it is awaited or sent"]
pub struct GenerateContent {
    client: Client,
    model: String,
    request: GenerateContentRequest,
    options: CallOptions,
}

impl GenerateContent {
    generate_setters!();
    call_option_setters!();

    /// Replaces the whole request body (contents, config, tools…).
    pub fn request(mut self, request: GenerateContentRequest) -> Self {
        self.request = request;
        self
    }

    /// Sends the request; resolves to the answer.
    pub fn send(self) -> CallFuture<GenerateContentResponse> {
        let result = generate_driver(
            &self.client,
            &self.model,
            &self.request,
            &self.options,
            false,
        );
        CallFuture::new(async move { first_item(result?).await })
    }
}

impl IntoFuture for GenerateContent {
    type Output = Result<GenerateContentResponse, Error>;
    type IntoFuture = CallFuture<GenerateContentResponse>;
    fn into_future(self) -> Self::IntoFuture {
        self.send()
    }
}

/// A `streamGenerateContent` request; `.await` it for the [`ResponseStream`]. Made by
/// [`Models::generate_content_stream`].
#[must_use = "a request does nothing until it is awaited or sent"]
pub struct GenerateContentStream {
    client: Client,
    model: String,
    request: GenerateContentRequest,
    options: CallOptions,
}

impl GenerateContentStream {
    generate_setters!();
    call_option_setters!();
    stream_setters!();

    /// Replaces the whole request body (contents, config, tools…).
    pub fn request(mut self, request: GenerateContentRequest) -> Self {
        self.request = request;
        self
    }

    /// Sends the request; resolves to the stream once the server accepted it (after any
    /// retries), or to the error that refused it.
    pub fn send(self) -> CallFuture<ResponseStream> {
        // The stream boxes its driver: made here, the future carries a pointer, not the call.
        let stream = generate_driver(
            &self.client,
            &self.model,
            &self.request,
            &self.options,
            true,
        )
        .map(ResponseStream::new);
        CallFuture::new(async move {
            let mut stream = stream?;
            stream.established().await?;
            Ok(stream)
        })
    }

    /// The stream, without waiting for the server: the first [`ResponseStream::next`] sends the
    /// request, and a refusal comes out of it as an error.
    pub fn into_stream(self) -> Result<ResponseStream, Error> {
        let driver = generate_driver(
            &self.client,
            &self.model,
            &self.request,
            &self.options,
            true,
        )?;
        Ok(ResponseStream::new(driver))
    }
}

impl IntoFuture for GenerateContentStream {
    type Output = Result<ResponseStream, Error>;
    type IntoFuture = CallFuture<ResponseStream>;
    fn into_future(self) -> Self::IntoFuture {
        self.send()
    }
}

/// The driver of a generate call, streamed or not.
pub(crate) fn generate_driver(
    client: &Client,
    model: &str,
    request: &GenerateContentRequest,
    options: &CallOptions,
    stream: bool,
) -> Result<Driver<GenerateCall>, Error> {
    let inner = &client.inner;
    let call = if stream {
        GenerateCall::stream(&inner.api, model, request)?
    } else {
        GenerateCall::unary(&inner.api, model, request)?
    };
    let mut call = call
        .with_retry_policy(options.retry_policy(inner))
        .with_seed(inner.next_seed())
        .with_max_event_size(inner.max_event_size)
        .with_automatic_continuation(
            options
                .automatic_continuation
                .unwrap_or(inner.automatic_continuation),
        )
        .with_confirmed_only(options.confirmed_only)
        .with_aggregation(!options.metadata_only);
    if let Some(deadline) = options.deadline {
        call = call.with_deadline(deadline);
    }
    let endpoint = if stream {
        "streamGenerateContent"
    } else {
        "generateContent"
    };
    Ok(Driver::new(
        call,
        client.inner.clone(),
        options.timeouts,
        Driver::<GenerateCall>::span(endpoint, model),
    ))
}

/// Runs an exchange with a JSON answer to its end (`model`: what the span names).
pub(crate) fn exchange<T>(
    client: &Client,
    endpoint: &'static str,
    model: &str,
    request: Result<http::Request<bytes::Bytes>, Error>,
    options: &CallOptions,
) -> CallFuture<T>
where
    T: DeserializeOwned + crate::driver::Traced + Send + 'static,
{
    let driver = request.map(|request| {
        let inner = &client.inner;
        let call = Exchange::<T>::new(request)
            .with_retry_policy(options.retry_policy(inner))
            .with_seed(inner.next_seed());
        Driver::new(
            call,
            inner.clone(),
            options.timeouts,
            Driver::<Exchange<T>>::span(endpoint, model),
        )
    });
    CallFuture::new(async move { first_item(driver?).await })
}

macro_rules! exchange_builder {
    (
        $(#[$doc:meta])*
        $name:ident -> $answer:ty, $endpoint:literal, |$this:ident| $build:expr
    ) => {
        $(#[$doc])*
        #[must_use = "a request does nothing until it is awaited or sent"]
        pub struct $name {
            client: Client,
            model: String,
            #[allow(dead_code)]
            request: exchange_builder!(@request $name),
            options: CallOptions,
        }

        impl $name {
            call_option_setters!();

            /// Sends the request; resolves to the answer.
            pub fn send(self) -> CallFuture<$answer> {
                let $this = &self;
                let request = $build;
                exchange(&self.client, $endpoint, &self.model, request, &self.options)
            }
        }

        impl IntoFuture for $name {
            type Output = Result<$answer, Error>;
            type IntoFuture = CallFuture<$answer>;
            fn into_future(self) -> Self::IntoFuture {
                self.send()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).field("model", &self.model).finish_non_exhaustive()
            }
        }
    };
    (@request CountTokens) => { CountTokensRequest };
    (@request EmbedContent) => { EmbedContentRequest };
    (@request BatchEmbedContents) => { BatchEmbedContentsRequest };
    (@request GetModel) => { () };
}

exchange_builder! {
    /// A `countTokens` request. Made by [`Models::count_tokens`].
    CountTokens -> CountTokensResponse, "countTokens",
    |this| this.client.inner.api.count_tokens(&this.model, &this.request)
}

impl CountTokens {
    /// Counts the tokens of a whole generate request instead (its system instruction and tools
    /// count too).
    pub fn request(mut self, request: GenerateContentRequest) -> Self {
        self.request = CountTokensRequest::from_request(request);
        self
    }
}

exchange_builder! {
    /// An `embedContent` request. Made by [`Models::embed_content`].
    EmbedContent -> EmbedContentResponse, "embedContent",
    |this| this.client.inner.api.embed_content(&this.model, &this.request)
}

impl EmbedContent {
    /// What the embedding is for (retrieval query, document, similarity…).
    pub fn task_type(mut self, task_type: TaskType) -> Self {
        self.request.task_type = Some(task_type);
        self
    }

    /// Truncates the embedding to this many dimensions.
    pub fn output_dimensionality(mut self, dimensions: u32) -> Self {
        self.request.output_dimensionality = Some(dimensions);
        self
    }

    /// A title for the document (with `TaskType::RetrievalDocument`).
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.request.title = Some(title.into());
        self
    }
}

exchange_builder! {
    /// A `batchEmbedContents` request. Made by [`Models::batch_embed_contents`].
    BatchEmbedContents -> BatchEmbedContentsResponse, "batchEmbedContents",
    |this| this.client.inner.api.batch_embed_contents(&this.model, &this.request)
}

impl BatchEmbedContents {
    /// What the embeddings are for (applies to every content).
    pub fn task_type(mut self, task_type: TaskType) -> Self {
        for request in &mut self.request.requests {
            request.task_type = Some(task_type.clone());
        }
        self
    }

    /// Truncates every embedding to this many dimensions.
    pub fn output_dimensionality(mut self, dimensions: u32) -> Self {
        for request in &mut self.request.requests {
            request.output_dimensionality = Some(dimensions);
        }
        self
    }
}

exchange_builder! {
    /// A `models.get` request. Made by [`Models::get`].
    GetModel -> Model, "models.get",
    |this| this.client.inner.api.get_model(&this.model)
}

impl fmt::Debug for GenerateContent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GenerateContent")
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for GenerateContentStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GenerateContentStream")
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

/// Every model, page after page, as a stream (`models.list`). Made by [`Models::list`].
///
/// Pages are fetched as the stream is read; an error ends the stream.
pub struct ModelList {
    client: Client,
    pages: ModelPages,
    page: Option<Driver<Exchange<ListModelsResponse>>>,
    ready: VecDeque<Model>,
    options: CallOptions,
    started: bool,
    failed: bool,
}

impl fmt::Debug for ModelList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModelList")
            .field("ready", &self.ready.len())
            .field("done", &self.pages.is_done())
            .finish_non_exhaustive()
    }
}

impl ModelList {
    fn new(client: Client) -> Self {
        Self {
            client,
            pages: ModelPages::new(None),
            page: None,
            ready: VecDeque::new(),
            options: CallOptions::default(),
            started: false,
            failed: false,
        }
    }

    /// Asks for pages of at most this many models (before the first model is read).
    pub fn page_size(mut self, size: u32) -> Self {
        if !self.started {
            self.pages = ModelPages::new(Some(size));
        }
        self
    }

    call_option_setters!();

    /// The next model.
    pub async fn next(&mut self) -> Option<Result<Model, Error>> {
        std::future::poll_fn(|cx| self.poll_model(cx)).await
    }

    /// Polls for the next model.
    pub fn poll_model(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Model, Error>>> {
        loop {
            if let Some(model) = self.ready.pop_front() {
                return Poll::Ready(Some(Ok(model)));
            }
            if self.failed {
                return Poll::Ready(None);
            }
            if self.page.is_none() {
                if !self.started {
                    self.started = true;
                    let policy = self.options.retry_policy(&self.client.inner);
                    self.pages = std::mem::replace(&mut self.pages, ModelPages::new(None))
                        .with_retry_policy(policy);
                }
                match self.pages.next_page(&self.client.inner.api) {
                    None => return Poll::Ready(None),
                    Some(Err(error)) => {
                        self.failed = true;
                        return Poll::Ready(Some(Err(error)));
                    }
                    Some(Ok(call)) => {
                        let call = call.with_seed(self.client.inner.next_seed());
                        self.page = Some(Driver::new(
                            call,
                            self.client.inner.clone(),
                            self.options.timeouts,
                            Driver::<Exchange<ListModelsResponse>>::span("models.list", ""),
                        ));
                    }
                }
            }
            let Some(page) = self.page.as_mut() else {
                return Poll::Ready(None);
            };
            match page.poll_item(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(answer))) => {
                    self.page = None;
                    match self.pages.handle_page(answer) {
                        Ok(models) => self.ready.extend(models),
                        Err(error) => {
                            self.failed = true;
                            return Poll::Ready(Some(Err(error)));
                        }
                    }
                }
                Poll::Ready(Some(Err(error))) => {
                    self.page = None;
                    self.failed = true;
                    self.pages.stop();
                    return Poll::Ready(Some(Err(error)));
                }
                Poll::Ready(None) => self.page = None,
            }
        }
    }
}

impl Stream for ModelList {
    type Item = Result<Model, Error>;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_model(cx)
    }
}
