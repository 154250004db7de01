//! The Interactions API: [`Interactions`] and its request builders, and the model it speaks
//! ([`Interaction`], [`Step`], [`InteractionEvent`], …: the types of
//! `gemini_proto::interactions`).

use std::fmt;
use std::future::IntoFuture;
use std::time::Duration;

use gemini_proto::call::{InteractionCall, InteractionStreamCall};

pub use gemini_proto::interactions::*;

use crate::driver::{CallFuture, Driver, Established, Traced, first_item};
pub use crate::interaction_stream::{InteractionStream, InteractionTextStream};
use crate::models::exchange;
use crate::options::{CallOptions, call_option_setters};
use crate::{Client, Error};

/// The Interactions API of a [`Client`] (`client.interactions()`): Google's newer interface to
/// its models, with a timeline of typed steps, conversations kept by the service
/// (`previous_interaction_id`), background runs and resumable streams.
///
/// ```no_run
/// # async fn demo(client: gemini::Client) -> Result<(), gemini::Error> {
/// let interactions = client.interactions();
/// // Streamed: events as they come, text deltas, the interaction at the end.
/// let mut stream = interactions
///     .create_stream("gemini-2.5-flash", "Tell me a story about a lighthouse.")
///     .await?;
/// while let Some(event) = stream.next().await {
///     print!("{}", event?.text().unwrap_or_default());
/// }
/// let first = stream.final_interaction().await?;
/// // A second turn: the service keeps the conversation.
/// let second = interactions
///     .create("gemini-2.5-flash", "Give it a title.")
///     .previous_interaction_id(first.id.clone().unwrap_or_default())
///     .await?;
/// println!("\n{}", second.text().unwrap_or_default());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Interactions {
    client: Client,
}

impl Interactions {
    pub(crate) fn new(client: Client) -> Self {
        Self { client }
    }

    /// Creates an interaction with `model` and returns it whole (`POST interactions`).
    ///
    /// `input` is a prompt (`&str`, `String`), [`Content`], or a
    /// timeline of [`Step`]s (a conversation you keep yourself, or the
    /// results of function calls).
    pub fn create(&self, model: impl Into<String>, input: impl Into<Input>) -> CreateInteraction {
        CreateInteraction {
            client: self.client.clone(),
            request: CreateInteractionRequest::new(model, input),
            options: CallOptions::default(),
        }
    }

    /// Creates an interaction with `model` and streams it. Awaiting the builder establishes the
    /// stream (retrying as the policy allows); the [`InteractionStream`] then yields the events.
    pub fn create_stream(
        &self,
        model: impl Into<String>,
        input: impl Into<Input>,
    ) -> CreateInteractionStream {
        CreateInteractionStream {
            client: self.client.clone(),
            request: CreateInteractionRequest::new(model, input),
            options: CallOptions::default(),
        }
    }

    /// Reads interaction `id` as it stands (`GET interactions/{id}`): a background run's status,
    /// or a stored interaction's whole timeline (its input first).
    pub fn get(&self, id: impl Into<String>) -> GetInteraction {
        GetInteraction {
            client: self.client.clone(),
            id: id.into(),
            options: CallOptions::default(),
        }
    }

    /// Streams the stored interaction `id` from its first event (`GET interactions/{id}?stream=true`):
    /// a background run as it goes.
    pub fn stream(&self, id: impl Into<String>) -> StreamInteraction {
        StreamInteraction {
            client: self.client.clone(),
            id: id.into(),
            last_event_id: None,
            options: CallOptions::default(),
        }
    }

    /// Streams interaction `id` from the event after `last_event_id`
    /// ([`InteractionStream::last_event_id`] of a stream that ended early, say in another
    /// process).
    pub fn resume(
        &self,
        id: impl Into<String>,
        last_event_id: impl Into<String>,
    ) -> StreamInteraction {
        StreamInteraction {
            client: self.client.clone(),
            id: id.into(),
            last_event_id: Some(last_event_id.into()),
            options: CallOptions::default(),
        }
    }

    /// Cancels a background run (`POST interactions/{id}/cancel`); resolves to the interaction.
    pub fn cancel(&self, id: impl Into<String>) -> CancelInteraction {
        CancelInteraction {
            client: self.client.clone(),
            id: id.into(),
            options: CallOptions::default(),
        }
    }

    /// Deletes a stored interaction (`DELETE interactions/{id}`).
    pub fn delete(&self, id: impl Into<String>) -> DeleteInteraction {
        DeleteInteraction {
            client: self.client.clone(),
            id: id.into(),
            options: CallOptions::default(),
        }
    }

    /// Polls interaction `id` until it no longer runs (status neither `in_progress` nor
    /// `queued`), and resolves to it: a background run's result.
    ///
    /// ```no_run
    /// # async fn demo(client: gemini::Client) -> Result<(), gemini::Error> {
    /// use std::time::Duration;
    ///
    /// let started = client
    ///     .interactions()
    ///     .create("gemini-2.5-flash", "Write a long report.")
    ///     .background(true)
    ///     .await?;
    /// let id = started.id.clone().unwrap_or_default();
    /// let done = client.interactions().wait(id).interval(Duration::from_secs(5)).await?;
    /// println!("{:?}: {}", done.status, done.text().unwrap_or_default());
    /// # Ok(()) }
    /// ```
    pub fn wait(&self, id: impl Into<String>) -> WaitInteraction {
        WaitInteraction {
            client: self.client.clone(),
            id: id.into(),
            interval: Duration::from_secs(2),
            options: CallOptions::default(),
        }
    }
}

/// The settings of a `create` request, for a builder whose `CreateInteractionRequest` and
/// `CallOptions` are at the field paths given (the async builders' own, the blocking builders'
/// inside the async builder they wrap).
macro_rules! interaction_setters {
    ($($request:ident).+ ; $($options:ident).+) => {
        /// Replaces the whole request body.
        pub fn request(mut self, request: $crate::interactions::CreateInteractionRequest) -> Self {
            self.$($request).+ = request;
            self
        }

        /// Interacts with an agent instead of the model.
        pub fn agent(mut self, agent: impl Into<String>) -> Self {
            self.$($request).+.model = None;
            self.$($request).+.agent = Some(serde_json::Value::String(agent.into()));
            self
        }

        /// Continues the conversation of interaction `id`: the service adds its history (but
        /// not its tools: give them again).
        pub fn previous_interaction_id(mut self, id: impl Into<String>) -> Self {
            self.$($request).+.previous_interaction_id = Some(id.into());
            self
        }

        /// Whether the service stores the interaction (default `true`): needed for
        /// `previous_interaction_id`, `get`, background runs and resuming a stream.
        pub fn store(mut self, store: bool) -> Self {
            self.$($request).+.store = Some(store);
            self
        }

        /// Runs the interaction in the background: the answer returns at once, with status
        /// `in_progress`; poll it ([`Interactions::wait`](crate::Interactions::wait)) or stream
        /// it ([`Interactions::stream`](crate::Interactions::stream)).
        pub fn background(mut self, background: bool) -> Self {
            self.$($request).+.background = Some(background);
            self
        }

        /// Instructions that steer the model for the whole interaction.
        pub fn system_instruction(mut self, instruction: impl Into<String>) -> Self {
            self.$($request).+.system_instruction = Some(instruction.into());
            self
        }

        /// Adds a tool the model may use.
        pub fn tool(mut self, tool: $crate::interactions::Tool) -> Self {
            self.$($request).+.tools.push(tool);
            self
        }

        /// Adds a function the model may call: its name, what it does and its parameters (a JSON
        /// schema).
        pub fn function(
            self,
            name: impl Into<String>,
            description: impl Into<String>,
            parameters: serde_json::Value,
        ) -> Self {
            self.tool($crate::interactions::Tool::function(name, description, parameters))
        }

        /// Replaces the whole generation config.
        pub fn generation_config(mut self, config: $crate::interactions::GenerationConfig) -> Self {
            self.$($request).+.generation_config = Some(config);
            self
        }

        fn generation_config_mut(&mut self) -> &mut $crate::interactions::GenerationConfig {
            self.$($request).+
                .generation_config
                .get_or_insert_with(Default::default)
        }

        /// Randomness of the output, usually in `[0, 2]`.
        pub fn temperature(mut self, temperature: f64) -> Self {
            self.generation_config_mut().temperature = Some(temperature);
            self
        }

        /// Nucleus sampling.
        pub fn top_p(mut self, top_p: f64) -> Self {
            self.generation_config_mut().top_p = Some(top_p);
            self
        }

        /// The longest answer, in tokens.
        pub fn max_output_tokens(mut self, tokens: u32) -> Self {
            self.generation_config_mut().max_output_tokens = Some(tokens);
            self
        }

        /// A seed, for answers that repeat.
        pub fn seed(mut self, seed: i64) -> Self {
            self.generation_config_mut().seed = Some(seed);
            self
        }

        /// How hard the model thinks: `minimal`, `low`, `medium`, `high`.
        pub fn thinking_level(mut self, level: impl Into<String>) -> Self {
            self.generation_config_mut().thinking_level = Some(level.into());
            self
        }

        /// Whether summaries of the model's thinking come with the answer.
        pub fn thinking_summaries(mut self, enabled: bool) -> Self {
            self.generation_config_mut().thinking_summaries =
                Some(if enabled { "auto" } else { "none" }.to_owned());
            self
        }

        /// Asks for JSON conforming to `schema` (a JSON Schema).
        pub fn response_json_schema(mut self, schema: serde_json::Value) -> Self {
            self.$($request).+.response_format = Some(serde_json::json!({
                "type": "text",
                "mime_type": "application/json",
                "schema": schema,
            }));
            self
        }

        /// The format of the output, as the API writes it.
        pub fn response_format(mut self, format: serde_json::Value) -> Self {
            self.$($request).+.response_format = Some(format);
            self
        }

        /// Resumes a broken stream and follows `requires_continuation` (default: the client's
        /// setting, on unless changed).
        pub fn automatic_continuation(mut self, enabled: bool) -> Self {
            self.$($options).+.automatic_continuation = Some(enabled);
            self
        }
    };
}
#[cfg(feature = "blocking")]
pub(crate) use interaction_setters;

/// A unary `create`; `.await` it for the [`Interaction`]. Made by [`Interactions::create`].
#[must_use = "a request does nothing until it is awaited or sent"]
pub struct CreateInteraction {
    pub(crate) client: Client,
    pub(crate) request: CreateInteractionRequest,
    pub(crate) options: CallOptions,
}

impl CreateInteraction {
    interaction_setters!(request; options);
    call_option_setters!();

    /// Sends the request; resolves to the interaction (for a background run, as it starts).
    pub fn send(self) -> CallFuture<Interaction> {
        let driver = create_driver(&self.client, &self.request, &self.options);
        CallFuture::new(async move { first_item(driver?).await })
    }
}

impl IntoFuture for CreateInteraction {
    type Output = Result<Interaction, Error>;
    type IntoFuture = CallFuture<Interaction>;
    fn into_future(self) -> Self::IntoFuture {
        self.send()
    }
}

/// A streamed `create`; `.await` it for the [`InteractionStream`]. Made by
/// [`Interactions::create_stream`].
#[must_use = "a request does nothing until it is awaited or sent"]
pub struct CreateInteractionStream {
    pub(crate) client: Client,
    pub(crate) request: CreateInteractionRequest,
    pub(crate) options: CallOptions,
}

impl CreateInteractionStream {
    interaction_setters!(request; options);
    call_option_setters!();

    /// Sends the request; resolves to the stream once the server accepted it (after any
    /// retries), or to the error that refused it.
    pub fn send(self) -> CallFuture<InteractionStream> {
        let driver = create_stream_driver(&self.client, &self.request, &self.options);
        CallFuture::new(async move {
            let mut stream = InteractionStream::new(driver?);
            stream.established().await?;
            Ok(stream)
        })
    }

    /// The stream, without waiting for the server: the first [`InteractionStream::next`] sends
    /// the request, and a refusal comes out of it as an error.
    pub fn into_stream(self) -> Result<InteractionStream, Error> {
        let driver = create_stream_driver(&self.client, &self.request, &self.options)?;
        Ok(InteractionStream::new(driver))
    }
}

impl IntoFuture for CreateInteractionStream {
    type Output = Result<InteractionStream, Error>;
    type IntoFuture = CallFuture<InteractionStream>;
    fn into_future(self) -> Self::IntoFuture {
        self.send()
    }
}

/// A streamed `GET` of a stored interaction, from its first event or after an event id;
/// `.await` it for the [`InteractionStream`]. Made by [`Interactions::stream`] and
/// [`Interactions::resume`].
#[must_use = "a request does nothing until it is awaited or sent"]
pub struct StreamInteraction {
    client: Client,
    id: String,
    last_event_id: Option<String>,
    options: CallOptions,
}

impl StreamInteraction {
    call_option_setters!();

    /// Reads the stream again when it breaks (default: the client's setting, on unless changed).
    pub fn automatic_continuation(mut self, enabled: bool) -> Self {
        self.options.automatic_continuation = Some(enabled);
        self
    }

    /// Sends the request; resolves to the stream once the server accepted it.
    pub fn send(self) -> CallFuture<InteractionStream> {
        let driver = get_stream_driver(
            &self.client,
            &self.id,
            self.last_event_id.as_deref(),
            &self.options,
        );
        CallFuture::new(async move {
            let mut stream = InteractionStream::new(driver?);
            stream.established().await?;
            Ok(stream)
        })
    }
}

impl IntoFuture for StreamInteraction {
    type Output = Result<InteractionStream, Error>;
    type IntoFuture = CallFuture<InteractionStream>;
    fn into_future(self) -> Self::IntoFuture {
        self.send()
    }
}

macro_rules! id_exchange {
    ($(#[$doc:meta])* $name:ident -> $answer:ty, $endpoint:literal, $build:ident) => {
        $(#[$doc])*
        #[must_use = "a request does nothing until it is awaited or sent"]
        pub struct $name {
            client: Client,
            id: String,
            options: CallOptions,
        }

        impl $name {
            call_option_setters!();

            /// Sends the request; resolves to the answer.
            pub fn send(self) -> CallFuture<$answer> {
                let request = self.client.inner.api.$build(&self.id);
                exchange(&self.client, $endpoint, &self.id, request, &self.options)
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
                f.debug_struct(stringify!($name)).field("id", &self.id).finish_non_exhaustive()
            }
        }
    };
}

id_exchange! {
    /// A `GET interactions/{id}`. Made by [`Interactions::get`].
    GetInteraction -> Interaction, "interactions.get", get_interaction
}

id_exchange! {
    /// A `POST interactions/{id}/cancel`. Made by [`Interactions::cancel`].
    CancelInteraction -> Interaction, "interactions.cancel", cancel_interaction
}

/// A `DELETE interactions/{id}`. Made by [`Interactions::delete`].
#[must_use = "a request does nothing until it is awaited or sent"]
pub struct DeleteInteraction {
    client: Client,
    id: String,
    options: CallOptions,
}

impl DeleteInteraction {
    call_option_setters!();

    /// Sends the request.
    pub fn send(self) -> CallFuture<()> {
        let request = self.client.inner.api.delete_interaction(&self.id);
        let deleted: CallFuture<serde_json::Value> = exchange(
            &self.client,
            "interactions.delete",
            &self.id,
            request,
            &self.options,
        );
        CallFuture::new(async move { deleted.await.map(drop) })
    }
}

impl IntoFuture for DeleteInteraction {
    type Output = Result<(), Error>;
    type IntoFuture = CallFuture<()>;
    fn into_future(self) -> Self::IntoFuture {
        self.send()
    }
}

/// Polls an interaction until it no longer runs; `.await` it for the [`Interaction`]. Made by
/// [`Interactions::wait`].
#[must_use = "a request does nothing until it is awaited or sent"]
pub struct WaitInteraction {
    client: Client,
    id: String,
    interval: Duration,
    options: CallOptions,
}

impl WaitInteraction {
    call_option_setters!();

    /// The time between two polls (default 2 s).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Polls; resolves to the interaction once it no longer runs, or to the first error.
    pub fn send(self) -> CallFuture<Interaction> {
        CallFuture::new(async move {
            loop {
                let request = self.client.inner.api.get_interaction(&self.id);
                let interaction: Interaction = exchange(
                    &self.client,
                    "interactions.get",
                    &self.id,
                    request,
                    &self.options,
                )
                .await?;
                if !interaction.is_running() {
                    return Ok(interaction);
                }
                self.client.inner.sleeper.sleep(self.interval).await;
            }
        })
    }
}

impl IntoFuture for WaitInteraction {
    type Output = Result<Interaction, Error>;
    type IntoFuture = CallFuture<Interaction>;
    fn into_future(self) -> Self::IntoFuture {
        self.send()
    }
}

macro_rules! debug_with_target {
    ($($name:ident),*) => {$(
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("target", &self.request.target())
                    .finish_non_exhaustive()
            }
        }
    )*};
}
debug_with_target!(CreateInteraction, CreateInteractionStream);

impl fmt::Debug for StreamInteraction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamInteraction")
            .field("id", &self.id)
            .field("last_event_id", &self.last_event_id)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for DeleteInteraction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeleteInteraction")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for WaitInteraction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitInteraction")
            .field("id", &self.id)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

/// The driver of a unary `create`.
pub(crate) fn create_driver(
    client: &Client,
    request: &CreateInteractionRequest,
    options: &CallOptions,
) -> Result<Driver<InteractionCall>, Error> {
    let inner = &client.inner;
    let call = InteractionCall::create(&inner.api, request)?
        .with_retry_policy(options.retry_policy(inner))
        .with_seed(inner.next_seed())
        .with_max_answer(inner.max_event_size)
        .with_automatic_continuation(
            options
                .automatic_continuation
                .unwrap_or(inner.automatic_continuation),
        );
    Ok(Driver::new(
        call,
        inner.clone(),
        options.timeouts,
        Driver::<InteractionCall>::span("interactions.create", request.target()),
    ))
}

/// The driver of a streamed `create`.
pub(crate) fn create_stream_driver(
    client: &Client,
    request: &CreateInteractionRequest,
    options: &CallOptions,
) -> Result<Driver<InteractionStreamCall>, Error> {
    let call = InteractionStreamCall::create(&client.inner.api, request)?;
    Ok(stream_driver(client, call, options, request.target()))
}

/// The driver of a streamed `GET`.
pub(crate) fn get_stream_driver(
    client: &Client,
    id: &str,
    last_event_id: Option<&str>,
    options: &CallOptions,
) -> Result<Driver<InteractionStreamCall>, Error> {
    let call = InteractionStreamCall::get(&client.inner.api, id, last_event_id)?;
    Ok(stream_driver(client, call, options, id))
}

fn stream_driver(
    client: &Client,
    call: InteractionStreamCall,
    options: &CallOptions,
    target: &str,
) -> Driver<InteractionStreamCall> {
    let inner = &client.inner;
    let call = call
        .with_retry_policy(options.retry_policy(inner))
        .with_seed(inner.next_seed())
        .with_max_event_size(inner.max_event_size)
        .with_automatic_continuation(
            options
                .automatic_continuation
                .unwrap_or(inner.automatic_continuation),
        );
    Driver::new(
        call,
        inner.clone(),
        options.timeouts,
        Driver::<InteractionStreamCall>::span("interactions.stream", target),
    )
}

impl Traced for Interaction {
    fn content(&self) -> Option<String> {
        self.text()
    }
    fn tokens(&self) -> Option<(u32, u32, u32)> {
        let usage = self.usage.as_ref()?;
        let count = |n: Option<u64>| u32::try_from(n.unwrap_or(0)).unwrap_or(u32::MAX);
        Some((
            count(usage.total_input_tokens),
            count(usage.total_output_tokens),
            count(usage.total_tokens),
        ))
    }
}

impl Traced for InteractionEvent {
    fn content(&self) -> Option<String> {
        self.text().map(str::to_owned)
    }
    fn tokens(&self) -> Option<(u32, u32, u32)> {
        self.interaction()
            .filter(|_| matches!(self, InteractionEvent::Completed(_)))?
            .tokens()
    }
}

impl Traced for serde_json::Value {}

impl Established for InteractionStreamCall {
    fn is_established(&self) -> bool {
        InteractionStreamCall::is_established(self)
    }
}

impl Established for InteractionCall {
    fn is_established(&self) -> bool {
        false
    }
}
