//! The transport seam of gemini-rs: the layer that moves bytes.
//!
//! * [`HttpTransport`] is the one object-safe trait the facade talks to: send an
//!   `http::Request<Bytes>`, get back an `http::Response<`[`ResponseBody`]`>` whose body yields
//!   chunks as they arrive. Share it as `Arc<dyn HttpTransport>`. Implement it to plug in your
//!   own HTTP stack (a corporate proxy client, a wasm `fetch`, a recording layer).
//! * [`TransportError`] is the one error type, with an [`ErrorKind`] (which timeout fired,
//!   closed mid-body, TLS, …), predicates and a source chain. No hyper, rustls or I/O types
//!   appear in the public API.
//! * [`Timeouts`]: connect, response headers, idle between body frames and total, each
//!   reported as its own [`TimeoutKind`].
//! * [`Sleep`]: a timer for the facade's retry backoff, implemented for tokio and smol.
//! * `HyperTransport` (features `tokio` and/or `smol`): the production backend, HTTP/1.1
//!   written for this crate and hyper 1.x's HTTP/2, over rustls, a bounded connection pool
//!   and proxy support.
//! * `test_util` (feature `test-util`): scripted, chunk-splitting, slow, recording and
//!   replay transports.
//!
//! # Implementing the trait
//!
//! ```
//! use bytes::Bytes;
//! use gemini_transport::{HttpTransport, ResponseBody, ResponseFuture};
//!
//! /// Answers every request with `204 No Content`.
//! #[derive(Debug)]
//! struct NoContent;
//!
//! impl HttpTransport for NoContent {
//!     fn send(&self, _request: http::Request<Bytes>) -> ResponseFuture {
//!         ResponseFuture::ready(Ok(http::Response::builder()
//!             .status(204)
//!             .body(ResponseBody::empty())
//!             .unwrap()))
//!     }
//! }
//!
//! # futures_lite::future::block_on(async {
//! let transport: std::sync::Arc<dyn HttpTransport> = std::sync::Arc::new(NoContent);
//! let response = transport.send(http::Request::new(Bytes::new())).await.unwrap();
//! assert_eq!(response.status(), 204);
//! # });
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod body;
mod error;
mod sleep;
mod timeouts;

#[cfg(any(feature = "tokio", feature = "smol"))]
mod hyper_backend;
#[cfg(any(feature = "tokio", feature = "smol"))]
mod rt;
#[cfg(feature = "test-util")]
pub mod test_util;
// Internal: the HTTP/1.1 response reader for the fuzz target (and this crate's tests).
#[cfg(any(test, feature = "_fuzz"))]
#[doc(hidden)]
pub mod fuzz_h1;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;

pub use body::{Collect, NextChunk, ResponseBody};
pub use error::{ErrorKind, TimeoutKind, TransportError};
#[cfg(any(feature = "tokio", feature = "smol"))]
pub use hyper_backend::{HyperTransport, HyperTransportBuilder, Proxy};
#[cfg(any(feature = "tokio", feature = "smol"))]
pub use rt::Runtime;
#[cfg(feature = "smol")]
pub use sleep::SmolSleep;
#[cfg(feature = "tokio")]
pub use sleep::TokioSleep;
pub use sleep::{Sleep, SleepFuture};
pub use timeouts::Timeouts;

/// The response type every transport returns.
pub type Response = http::Response<ResponseBody>;

/// Sends HTTP requests. Object safe: share it as `Arc<dyn HttpTransport>`.
///
/// Contract for implementations:
/// * the returned future resolves once the status and headers have arrived; the body streams
///   afterwards through [`ResponseBody`];
/// * dropping the future or the body cancels the exchange and releases its connection
///   promptly; a connection whose body was abandoned mid-stream must not be reused;
/// * failures are reported as [`TransportError`] with the most specific [`ErrorKind`];
/// * a [`Timeouts`] value in the request's extensions overrides the transport's defaults for
///   that request (implementations that do not enforce timeouts may ignore it).
pub trait HttpTransport: Send + Sync + fmt::Debug {
    /// Sends `request` and resolves to the response head with a streaming body.
    fn send(&self, request: http::Request<Bytes>) -> ResponseFuture;
}

impl<T: HttpTransport + ?Sized> HttpTransport for Arc<T> {
    fn send(&self, request: http::Request<Bytes>) -> ResponseFuture {
        (**self).send(request)
    }
}

impl<T: HttpTransport + ?Sized> HttpTransport for Box<T> {
    fn send(&self, request: http::Request<Bytes>) -> ResponseFuture {
        (**self).send(request)
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The future returned by [`HttpTransport::send`].
#[must_use = "futures do nothing unless polled"]
pub struct ResponseFuture {
    inner: ResponseFutureInner,
}

enum ResponseFutureInner {
    Ready(Option<Result<Response, TransportError>>),
    Boxed(BoxFuture<Result<Response, TransportError>>),
}

impl ResponseFuture {
    /// Wraps any `Send` future producing a response.
    pub fn new<F>(future: F) -> Self
    where
        F: Future<Output = Result<Response, TransportError>> + Send + 'static,
    {
        Self {
            inner: ResponseFutureInner::Boxed(Box::pin(future)),
        }
    }

    /// A future that is immediately ready with `result`.
    pub fn ready(result: Result<Response, TransportError>) -> Self {
        Self {
            inner: ResponseFutureInner::Ready(Some(result)),
        }
    }
}

impl Future for ResponseFuture {
    type Output = Result<Response, TransportError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().inner {
            ResponseFutureInner::Ready(r) => {
                Poll::Ready(r.take().expect("ResponseFuture polled after completion"))
            }
            ResponseFutureInner::Boxed(f) => f.as_mut().poll(cx),
        }
    }
}

impl fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trait_is_object_safe_and_shareable() {
        #[derive(Debug)]
        struct Echo;
        impl HttpTransport for Echo {
            fn send(&self, request: http::Request<Bytes>) -> ResponseFuture {
                let body = request.into_body();
                ResponseFuture::new(async move {
                    Ok(http::Response::new(ResponseBody::from_bytes(body)))
                })
            }
        }
        let t: Arc<dyn HttpTransport> = Arc::new(Echo);
        let t2 = Arc::clone(&t);
        let handle = std::thread::spawn(move || {
            futures_lite::future::block_on(async {
                let r = t2
                    .send(http::Request::new(Bytes::from("ping")))
                    .await
                    .unwrap();
                r.into_body().collect().await.unwrap()
            })
        });
        assert_eq!(handle.join().unwrap(), "ping");
        // Arc<dyn HttpTransport> itself is a transport.
        fn takes<T: HttpTransport>(_: &T) {}
        takes(&t);
    }
}
