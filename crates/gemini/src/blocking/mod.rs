//! The client for blocking code: the same API, with streams as iterators and no async runtime to
//! set up (feature `blocking`).
//!
//! ```no_run
//! use std::io::Write;
//!
//! fn main() -> Result<(), gemini::Error> {
//!     let client = gemini::blocking::Client::from_env()?;
//!     let stream = client
//!         .models()
//!         .generate_content_stream("gemini-2.5-flash", "Write a story about a lighthouse keeper.")
//!         .send()?;
//!     for chunk in stream {
//!         print!("{}", chunk?.text().unwrap_or_default());
//!         std::io::stdout().flush().ok();
//!     }
//!     Ok(())
//! }
//! ```
//!
//! Each call runs the async client on the calling thread (smol's `block_on`, which drives the
//! sockets itself): there is no hidden tokio runtime, so it also works from a thread that is
//! inside one — it never picks tokio because one is in context. Like any blocking call, it
//! blocks the thread it runs on: from async code, prefer the async client.

// The macros below are defined before the submodules so that they are in scope there.

/// Methods that hand their arguments to the same method of the async builder inside.
macro_rules! forward {
    ($($(#[$doc:meta])* $name:ident($($arg:ident: $ty:ty),*);)*) => {
        $(
            $(#[$doc])*
            pub fn $name(self, $($arg: $ty),*) -> Self {
                Self { inner: self.inner.$name($($arg),*) }
            }
        )*
    };
}

/// Forwards the retry policy and timeouts to the async builder inside.
macro_rules! option_setters {
    () => {
        /// Overrides the client's retry policy for this call.
        pub fn retry_policy(self, policy: RetryPolicy) -> Self {
            Self {
                inner: self.inner.retry_policy(policy),
            }
        }

        /// Overrides the client's transport timeouts for this call.
        pub fn timeouts(self, timeouts: Timeouts) -> Self {
            Self {
                inner: self.inner.timeouts(timeouts),
            }
        }
    };
}

/// A blocking request that wraps the async one (`$inner`) and waits for its answer: the call
/// options, the listed setters forwarded, and `send`.
macro_rules! blocking_exchange {
    ($(#[$doc:meta])* $name:ident($inner:ty) -> $answer:ty { $($setters:tt)* }) => {
        $(#[$doc])*
        #[derive(Debug)]
        #[must_use = "a request does nothing until it is sent"]
        pub struct $name {
            inner: $inner,
        }

        impl $name {
            option_setters!();

            forward! { $($setters)* }

            /// Sends the request and waits for the answer.
            pub fn send(self) -> Result<$answer, Error> {
                wait(self.inner.send())
            }
        }
    };
}

mod chat;
mod interactions;
mod models;

use std::sync::Arc;

use crate::transport::{HttpTransport, Sleep};
use crate::{Error, RetryPolicy, Runtime, Timeouts};

pub use chat::{Chat, ChatStream, Chats, SendMessage, SendMessageStream};
pub use interactions::{
    CancelInteraction, CreateInteraction, CreateInteractionStream, DeleteInteraction,
    GetInteraction, InteractionStream, InteractionTextIter, Interactions, StreamInteraction,
    WaitInteraction,
};
pub use models::{
    BatchEmbedContents, CountTokens, EmbedContent, GenerateContent, GenerateContentStream,
    GetModel, ModelList, Models, ResponseStream, TextIter,
};

/// Runs a future to completion on this thread.
pub(crate) fn wait<F: Future>(future: F) -> F::Output {
    async_io::block_on(future)
}

/// A Gemini API client for blocking code. Cheap to clone, `Send + Sync`; see the
/// [async client](crate::Client) for what each setting does.
///
/// ```
/// let client = gemini::blocking::Client::new("my-api-key")?;
/// assert!(!format!("{client:?}").contains("my-api-key"));
/// # Ok::<(), gemini::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    inner: crate::Client,
}

impl Client {
    /// A client with this API key and the default settings.
    pub fn new(api_key: impl Into<String>) -> Result<Self, Error> {
        Self::builder().api_key(api_key).build()
    }

    /// A client whose key comes from `GOOGLE_API_KEY` or `GEMINI_API_KEY` (see
    /// [`crate::Client::from_env`]).
    pub fn from_env() -> Result<Self, Error> {
        Self::builder().from_env()?.build()
    }

    /// A builder with the documented defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            inner: crate::Client::builder(),
        }
    }

    /// The model endpoints.
    pub fn models(&self) -> Models {
        Models::new(self.inner.models())
    }

    /// Chat sessions.
    pub fn chats(&self) -> Chats {
        Chats::new(self.inner.chats())
    }

    /// The Interactions API.
    pub fn interactions(&self) -> Interactions {
        Interactions::new(self.inner.interactions())
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        self.inner.base_url()
    }

    /// The async client this one runs (pinned to smol), to share with async code.
    pub fn as_async(&self) -> &crate::Client {
        &self.inner
    }
}

/// Configures a blocking [`Client`]: the settings of [`crate::ClientBuilder`], without the
/// runtime choice (the blocking client always runs on the calling thread).
#[derive(Debug)]
#[must_use]
pub struct ClientBuilder {
    inner: crate::ClientBuilder,
}

impl ClientBuilder {
    forward! {
        /// See [`crate::ClientBuilder::api_key`].
        api_key(key: impl Into<String>);
        /// See [`crate::ClientBuilder::bearer_token`].
        bearer_token(token: impl Into<String>);
        /// See [`crate::ClientBuilder::base_url`].
        base_url(url: impl Into<String>);
        /// See [`crate::ClientBuilder::api_version`].
        api_version(version: impl Into<String>);
        /// See [`crate::ClientBuilder::header`].
        header(name: impl Into<String>, value: impl Into<String>);
        /// See [`crate::ClientBuilder::client_id`].
        client_id(id: impl Into<String>);
        /// See [`crate::ClientBuilder::transport`].
        transport(transport: Arc<dyn HttpTransport>);
        /// See [`crate::ClientBuilder::sleep`].
        sleep(sleep: Arc<dyn Sleep>);
        /// See [`crate::ClientBuilder::timeouts`].
        timeouts(timeouts: Timeouts);
        /// See [`crate::ClientBuilder::retry_policy`].
        retry_policy(policy: RetryPolicy);
        /// See [`crate::ClientBuilder::max_event_size`].
        max_event_size(bytes: usize);
        /// See [`crate::ClientBuilder::log_content`].
        log_content(enabled: bool);
        /// See [`crate::ClientBuilder::automatic_continuation`].
        automatic_continuation(enabled: bool);
        /// See [`crate::ClientBuilder::add_root_certificates_pem`].
        add_root_certificates_pem(pem: impl Into<Vec<u8>>);
    }

    /// See [`crate::ClientBuilder::platform_roots`].
    #[cfg(feature = "platform-roots")]
    pub fn platform_roots(self, enabled: bool) -> Self {
        Self {
            inner: self.inner.platform_roots(enabled),
        }
    }

    /// See [`crate::ClientBuilder::from_env`].
    #[allow(clippy::wrong_self_convention)] // a builder step, as in the async builder
    pub fn from_env(self) -> Result<Self, Error> {
        Ok(Self {
            inner: self.inner.from_env()?,
        })
    }

    /// Builds the client; its transport and timers run on smol, driven by the calling thread.
    pub fn build(self) -> Result<Client, Error> {
        Ok(Client {
            inner: self.inner.runtime(Runtime::Smol).build()?,
        })
    }
}
