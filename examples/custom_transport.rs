//! A custom transport: wrap the built-in one to see every request and count the bytes of every
//! response as it streams. The same trait plugs in any HTTP stack.
//!
//! ```sh
//! cargo run --example custom_transport
//! ```

mod support;

use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use gemini::transport::{
    HttpTransport, HyperTransport, ResponseBody, ResponseFuture, TransportError,
};
use support::Failure;

/// Logs each request and counts the response bytes it carries.
#[derive(Debug)]
struct Metered {
    inner: HyperTransport,
    bytes: Arc<AtomicU64>,
}

impl HttpTransport for Metered {
    fn send(&self, request: http::Request<bytes::Bytes>) -> ResponseFuture {
        // The key travels in a header, never in the URI: this line cannot leak it.
        eprintln!("→ {} {}", request.method(), request.uri().path());
        let response = self.inner.send(request);
        let bytes = Arc::clone(&self.bytes);
        ResponseFuture::new(async move {
            let response = response.await?;
            eprintln!("← {}", response.status());
            Ok(response.map(|body| ResponseBody::from_stream(Counting { body, bytes })))
        })
    }
}

/// A body that counts what passes through it.
struct Counting {
    body: ResponseBody,
    bytes: Arc<AtomicU64>,
}

impl futures_core::Stream for Counting {
    type Item = Result<bytes::Bytes, TransportError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.body.poll_chunk(cx);
        if let Poll::Ready(Some(Ok(chunk))) = &polled {
            self.bytes.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        }
        polled
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    support::exit(run().await)
}

async fn run() -> Result<(), Failure> {
    let emulator = support::emulator_unless_key_set()?;
    let bytes = Arc::new(AtomicU64::new(0));
    let transport = Metered {
        inner: HyperTransport::new(),
        bytes: Arc::clone(&bytes),
    };
    let builder = match &emulator {
        None => gemini::Client::builder().from_env()?,
        Some(local) => gemini::Client::builder()
            .api_key("emulator")
            .base_url(local.base_url()),
    };
    let client = builder.transport(Arc::new(transport)).build()?;

    let answer = client
        .models()
        .generate_content_stream("gemini-2.5-flash", "What is a transport layer?")
        .await?
        .final_response()
        .await?;
    println!("{}", answer.text().unwrap_or_default());
    println!(
        "\n{} bytes of response body went through the custom transport",
        bytes.load(Ordering::Relaxed)
    );
    Ok(())
}
