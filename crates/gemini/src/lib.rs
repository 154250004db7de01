//! A Rust client for Google's Gemini API, built around streaming.
//!
//! ```no_run
//! use std::io::Write;
//!
//! #[tokio::main]
//! async fn main() -> Result<(), gemini::Error> {
//!     let client = gemini::Client::from_env()?; // GEMINI_API_KEY or GOOGLE_API_KEY
//!     let mut stream = client
//!         .models()
//!         .generate_content_stream("gemini-2.5-flash", "Write a story about a lighthouse keeper.")
//!         .await?;
//!     while let Some(chunk) = stream.next().await {
//!         print!("{}", chunk?.text().unwrap_or_default());
//!         std::io::stdout().flush().ok();
//!     }
//!     let usage = stream.usage().and_then(|u| u.total_token_count).unwrap_or(0);
//!     println!("\n({usage} tokens)");
//!     Ok(())
//! }
//! ```
//!
//! The default feature is `tokio`. What you can do:
//!
//! * **Generate** with [`Client::models`]: [`generate_content`](Models::generate_content) for
//!   the whole answer, [`generate_content_stream`](Models::generate_content_stream) for a
//!   [`ResponseStream`] of chunks as they are generated; count tokens, embed, get and list
//!   models. Requests are builders: set the temperature, the longest answer, a system
//!   instruction, tools, safety settings, thinking, a response schema, then `.await` them.
//!   Contents can be a prompt, parts (text, images by URI or inline bytes), a
//!   [`Content`](types::Content) or a whole conversation.
//! * **Interact** with [`Client::interactions`], the Interactions API: typed steps, events
//!   streamed as they come and resumed from the last event id when a connection drops,
//!   conversations kept by the service, background runs polled or streamed.
//! * **Chat** with [`Client::chats`]: a [`Chat`] keeps the history, adding each exchange once it
//!   completes, and never records a failed one.
//! * **Stream well**: every chunk is decoded however the network splits the bytes; a broken
//!   stream yields what arrived, then one [`Error`] that says what happened and still holds the
//!   partial answer; a snapshot of the whole answer so far is always at hand; an
//!   [`AbortHandle`] stops a stream from anywhere and dropping it closes its connection.
//! * **Retry safely**: failed attempts are retried by a [`RetryPolicy`] (5 attempts, backoff from
//!   1 s, the server's `RetryInfo` or `Retry-After` honoured) only while nothing reached you —
//!   including a stream whose first event is an error.
//!
//! # Long answers
//!
//! Gemini caps the output of one request and continues a long answer over several: a candidate
//! ends with finish reason `CONTINUATION` and a continuation token, and the same request sent again
//! with the token goes on. Streams also carry checkpoints (a token without a finish reason). The
//! client follows this by itself (turn it off with `automatic_continuation(false)`):
//!
//! * you see one answer: the intermediate `CONTINUATION` and the tokens stay hidden, the usage is
//!   summed over the requests (each chunk carries the whole call's usage so far);
//! * a stream that breaks after the server accepted it (a reset, an idle timeout, an end without
//!   a finish reason) reconnects from its latest checkpoint. What arrived after that checkpoint
//!   is generated again by the service, so it is taken back — the snapshot and a chat's history
//!   roll back, and [`ResponseStream::next_event`] tells you at that moment
//!   ([`StreamEvent::Discarded`]: the text and parts to erase). Nothing is ever shown twice to a
//!   reader that honours it; `confirmed_only(true)` holds chunks back until they are confirmed,
//!   for readers that cannot erase;
//! * after three reconnects in a row without a new checkpoint, or with no checkpoint to start
//!   from, the call gives up: the error holds the answer up to the latest token
//!   ([`Error::partial_response`]) and the token ([`Error::continuation_token`]); send the same
//!   request with `.continuation_token(token)` to finish it by hand;
//! * `deadline(d)` bounds the whole call, every request and reconnect included.
//!
//! # Runtimes and features
//!
//! | feature | what it gives |
//! |---|---|
//! | `tokio` (default) | the built-in HTTP/1.1 + HTTP/2 transport (its own HTTP/1.1, hyper's HTTP/2, rustls) and timers on tokio |
//! | `smol` | the same on smol / async-io; works under any executor, `async_std::task::block_on` included; compiles no tokio runtime |
//! | `blocking` | `blocking::Client`: the same API for plain threads, with no async runtime to set up (it brings `smol`) |
//! | `test-util` | scripted, chunk-splitting, recording and replay transports in `transport::test_util` |
//! | `platform-roots` | the operating system's certificate verifier (`ClientBuilder::platform_roots`) |
//!
//! Features only add: with `tokio` and `smol` both enabled, each connection uses tokio inside a
//! tokio runtime and smol elsewhere, unless [`ClientBuilder::runtime`] pins one. async-std is
//! discontinued upstream; its users enable `smol`, which runs inside async-std's executor.
//!
//! # Errors
//!
//! One opaque [`Error`] type: its [`kind`](Error::kind), predicates
//! ([`is_retryable`](Error::is_retryable), [`is_timeout`](Error::is_timeout),
//! [`is_cancelled`](Error::is_cancelled)), the API's own error ([`api_error`](Error::api_error):
//! code, status, message, details such as the retry delay), the HTTP status, the attempts made,
//! and for a stream the [`partial_response`](Error::partial_response). Its `Display` is one line
//! for people: `the API returned an error: 429 RESOURCE_EXHAUSTED: Quota exceeded. (retry after
//! 34.4s; gave up after 5 attempts)`.
//!
//! # Logging
//!
//! Each call runs in a `tracing` span `gemini.call` with the endpoint, model, attempts, status,
//! time to first chunk, chunks and token counts. The key is never logged, nor is content unless
//! [`ClientBuilder::log_content`] asks for it.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod chat;
mod client;
mod driver;
mod interaction_stream;
pub mod interactions;
mod models;
mod options;
mod stream;

#[cfg(feature = "blocking")]
pub mod blocking;

pub use chat::{Chat, ChatStream, Chats, SendMessage, SendMessageStream};
pub use client::{API_KEY_VARIABLES, BASE_URL_VARIABLE, Client, ClientBuilder};
pub use driver::{AbortHandle, CallFuture};
pub use interaction_stream::{InteractionStream, InteractionTextStream};
pub use interactions::Interactions;
pub use models::{
    BatchEmbedContents, CountTokens, EmbedContent, GenerateContent, GenerateContentStream,
    GetModel, ModelList, Models,
};
pub use stream::{ResponseStream, StreamEvent, TextStream};

/// What a resumed stream took back (see [`StreamEvent::Discarded`]).
pub use gemini_proto::call::Discarded;

/// The error of every call: see [the crate documentation](crate#errors).
pub use gemini_proto::Error;
pub use gemini_proto::ErrorKind;
pub use gemini_proto::error::{ApiError, ErrorDetail, RpcStatus};
pub use gemini_proto::retry::RetryPolicy;
pub use gemini_transport::Timeouts;

#[cfg(any(feature = "tokio", feature = "smol"))]
pub use gemini_transport::Runtime;

/// The runtime pinned by the builder, where a runtime feature exists.
#[cfg(any(feature = "tokio", feature = "smol"))]
pub(crate) type PinnedRuntime = Option<Runtime>;
#[cfg(not(any(feature = "tokio", feature = "smol")))]
pub(crate) type PinnedRuntime = Option<std::convert::Infallible>;

/// The Gemini API data model: requests, contents and parts, configuration, responses.
///
/// Forward compatible: fields and enum values this version does not know are kept and sent
/// back unchanged.
pub mod types {
    pub use gemini_proto::types::*;
}

/// The transport seam: bring your own HTTP stack by implementing [`HttpTransport`](transport::HttpTransport), and pass it
/// to [`ClientBuilder::transport`](crate::ClientBuilder::transport).
///
/// ```
/// use std::sync::Arc;
/// use gemini::transport::{HttpTransport, ResponseBody, ResponseFuture};
///
/// /// Answers every request with the same recorded stream (a test double).
/// #[derive(Debug)]
/// struct Canned;
///
/// impl HttpTransport for Canned {
///     fn send(&self, _request: http::Request<bytes::Bytes>) -> ResponseFuture {
///         let body = "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hi!\"}]}, \"finishReason\": \"STOP\"}]}\r\n\r\n";
///         ResponseFuture::ready(Ok(http::Response::new(ResponseBody::from_bytes(body))))
///     }
/// }
///
/// let client = gemini::Client::builder().api_key("unused").transport(Arc::new(Canned)).build()?;
/// let answer = futures_lite::future::block_on(async {
///     client.models().generate_content_stream("gemini-2.5-flash", "Hello").await?.final_response().await
/// })?;
/// assert_eq!(answer.text().as_deref(), Some("Hi!"));
/// # Ok::<(), gemini::Error>(())
/// ```
pub mod transport {
    #[cfg(feature = "smol")]
    pub use gemini_transport::SmolSleep;
    #[cfg(feature = "tokio")]
    pub use gemini_transport::TokioSleep;
    pub use gemini_transport::{
        ErrorKind, HttpTransport, Response, ResponseBody, ResponseFuture, Sleep, SleepFuture,
        TimeoutKind, Timeouts, TransportError,
    };
    #[cfg(any(feature = "tokio", feature = "smol"))]
    pub use gemini_transport::{HyperTransport, HyperTransportBuilder, Proxy};

    /// Test transports: scripted replies, chunk-splitting and slow bodies, recording and replay.
    #[cfg(feature = "test-util")]
    pub mod test_util {
        pub use gemini_transport::test_util::*;
    }
}
