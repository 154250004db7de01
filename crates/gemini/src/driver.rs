//! The one loop every call runs: it moves bytes between the transport and a proto call machine,
//! and waits. No decision is made here; `gemini_proto::call` makes them all.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use gemini_proto::call::{Action, Call, Discarded};
use gemini_proto::types::GenerateContentResponse;
use gemini_transport::{
    ErrorKind as TransportKind, ResponseBody, ResponseFuture, Sleep, SleepFuture, Timeouts,
    TransportError,
};
use tracing::field::Empty;

use crate::client::Inner;
use crate::{Error, ErrorKind, PinnedRuntime};

/// Translates the transport's error into the call's.
pub(crate) fn transport_error(error: TransportError) -> Error {
    let kind = match error.kind() {
        TransportKind::Connect | TransportKind::Tls | TransportKind::Proxy => ErrorKind::Connect,
        TransportKind::Timeout(_) => ErrorKind::Timeout,
        TransportKind::Protocol
        | TransportKind::ConnectionClosed
        | TransportKind::ClosedMidBody => ErrorKind::Connection,
        TransportKind::InvalidRequest => {
            return Error::invalid_request_with_source(error.to_string(), error);
        }
        _ => ErrorKind::Transport,
    };
    Error::transport(kind, error)
}

/// Where the waits between retries come from.
#[derive(Clone)]
pub(crate) enum Sleeper {
    /// A timer given by the user, or the pinned runtime's.
    Fixed(Arc<dyn Sleep>),
    /// The runtime in context at the time of the wait, else a helper thread.
    Detect,
}

impl Sleeper {
    pub(crate) fn for_runtime(runtime: PinnedRuntime) -> Self {
        match runtime {
            #[cfg(any(feature = "tokio", feature = "smol"))]
            Some(runtime) => Sleeper::Fixed(runtime.sleeper()),
            None => Sleeper::Detect,
        }
    }

    pub(crate) fn sleep(&self, duration: Duration) -> SleepFuture {
        match self {
            Sleeper::Fixed(sleep) => sleep.sleep(duration),
            Sleeper::Detect => {
                #[cfg(any(feature = "tokio", feature = "smol"))]
                if let Some(runtime) = crate::Runtime::detect() {
                    return runtime.sleeper().sleep(duration);
                }
                thread_sleep(duration)
            }
        }
    }
}

impl fmt::Debug for Sleeper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sleeper::Fixed(sleep) => f.debug_tuple("Fixed").field(sleep).finish(),
            Sleeper::Detect => f.write_str("Detect"),
        }
    }
}

/// A wait that needs no runtime: a helper thread sleeps and wakes the task. Used only between
/// retries, and only when no runtime feature can serve.
fn thread_sleep(duration: Duration) -> SleepFuture {
    #[derive(Default)]
    struct Shared {
        done: bool,
        waker: Option<Waker>,
    }
    let shared = Arc::new(Mutex::new(Shared::default()));
    let mut started = false;
    SleepFuture::new(std::future::poll_fn(move |cx| {
        let mut state = shared.lock().unwrap_or_else(|e| e.into_inner());
        if state.done {
            return Poll::Ready(());
        }
        state.waker = Some(cx.waker().clone());
        if !started {
            started = true;
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || {
                std::thread::sleep(duration);
                let mut state = shared.lock().unwrap_or_else(|e| e.into_inner());
                state.done = true;
                if let Some(waker) = state.waker.take() {
                    waker.wake();
                }
            });
        }
        Poll::Pending
    }))
}

/// Lets another task or thread stop a call: the call ends at once with
/// [`ErrorKind::Cancelled`], keeps what arrived, and its connection is closed.
///
/// ```no_run
/// # async fn demo(client: gemini::Client) -> Result<(), gemini::Error> {
/// let mut stream = client.models().generate_content_stream("gemini-2.5-flash", "A long story").await?;
/// let abort = stream.abort_handle();
/// std::thread::spawn(move || {
///     std::thread::sleep(std::time::Duration::from_secs(2));
///     abort.abort(); // the user pressed "stop"
/// });
/// while let Some(chunk) = stream.next().await {
///     match chunk {
///         Ok(chunk) => print!("{}", chunk.text().unwrap_or_default()),
///         Err(error) if error.is_cancelled() => break,
///         Err(error) => return Err(error),
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AbortHandle {
    state: Arc<AbortState>,
}

#[derive(Default)]
struct AbortState {
    aborted: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl AbortHandle {
    /// Stops the call. Has no effect on a call that already ended.
    pub fn abort(&self) {
        self.state.aborted.store(true, Ordering::Release);
        let waker = self
            .state
            .waker
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// True once [`abort`](Self::abort) was called.
    pub fn is_aborted(&self) -> bool {
        self.state.aborted.load(Ordering::Acquire)
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("aborted", &self.is_aborted())
            .finish()
    }
}

/// What a call's items say about themselves in its `tracing` span.
pub(crate) trait Traced {
    /// The text to log when content logging is on.
    fn content(&self) -> Option<String> {
        None
    }
    /// Token counts to record when the call ends.
    fn tokens(&self) -> Option<(u32, u32, u32)> {
        None
    }
}

impl Traced for GenerateContentResponse {
    fn content(&self) -> Option<String> {
        self.text().map(Cow::into_owned)
    }
    fn tokens(&self) -> Option<(u32, u32, u32)> {
        let usage = self.usage()?;
        Some((
            usage.prompt_token_count.unwrap_or(0),
            usage.candidates_token_count.unwrap_or(0),
            usage.total_token_count.unwrap_or(0),
        ))
    }
}

macro_rules! untraced {
    ($($ty:ty),* $(,)?) => { $(impl Traced for $ty {})* };
}
untraced!(
    gemini_proto::types::CountTokensResponse,
    gemini_proto::types::EmbedContentResponse,
    gemini_proto::types::BatchEmbedContentsResponse,
    gemini_proto::types::Model,
    gemini_proto::types::ListModelsResponse,
);

enum Waiting {
    Nothing,
    Response(ResponseFuture),
    Sleep(SleepFuture),
}

/// Runs one call machine: sends what it asks, feeds it what arrives, sleeps when told.
pub(crate) struct Driver<C: Call> {
    call: C,
    client: Arc<Inner>,
    timeouts: Option<Timeouts>,
    waiting: Waiting,
    body: Option<ResponseBody>,
    abort: Option<Arc<AbortState>>,
    span: tracing::Span,
    started: Instant,
    items: u64,
    /// A clone of the error the call failed with, for `final_response` after `next` handed it out.
    failure: Option<Error>,
    ended: bool,
    /// An item that arrived while waiting for the stream to be established.
    peeked: Option<Step<C::Item>>,
    /// Output taken back by resumptions, not yet reported to an event reader.
    discarded: Discarded,
    /// Wakes the task when the call's own deadline passes.
    deadline: Option<SleepFuture>,
    /// A success head arrived.
    established: bool,
}

impl<C: Call> fmt::Debug for Driver<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("attempts", &self.call.attempts())
            .field("status", &self.call.status())
            .field("items", &self.items)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl<C> Driver<C>
where
    C: Call + Established,
    C::Item: Traced,
{
    pub(crate) fn new(
        call: C,
        client: Arc<Inner>,
        timeouts: Option<Timeouts>,
        span: tracing::Span,
    ) -> Self {
        let timeouts = timeouts.or(client.timeouts);
        Self {
            call,
            client,
            timeouts,
            waiting: Waiting::Nothing,
            body: None,
            abort: None,
            span,
            started: Instant::now(),
            items: 0,
            failure: None,
            ended: false,
            peeked: None,
            established: false,
            discarded: Discarded::default(),
            deadline: None,
        }
    }

    /// The span of a call of `endpoint` on `model`, with the fields filled in as it runs.
    pub(crate) fn span(endpoint: &'static str, model: &str) -> tracing::Span {
        tracing::info_span!(
            "gemini.call",
            endpoint,
            model,
            attempts = Empty,
            status = Empty,
            time_to_first_chunk_ms = Empty,
            chunks = Empty,
            prompt_tokens = Empty,
            answer_tokens = Empty,
            total_tokens = Empty,
            error = Empty,
        )
    }

    pub(crate) fn call(&self) -> &C {
        &self.call
    }

    pub(crate) fn is_ended(&self) -> bool {
        self.ended && self.peeked.is_none()
    }

    pub(crate) fn failure(&self) -> Option<&Error> {
        self.failure.as_ref()
    }

    pub(crate) fn abort_handle(&mut self) -> AbortHandle {
        let state = self.abort.get_or_insert_with(Default::default);
        AbortHandle {
            state: Arc::clone(state),
        }
    }

    /// The next item, the end (`None`) or the error the call ended with. Output taken back by
    /// a resumption is added up in [`discarded`](Self::take_discarded) instead.
    #[inline]
    pub(crate) fn poll_item(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<C::Item, Error>>> {
        // Checked before taking: taking moves the whole (chunk-sized) option out.
        if self.peeked.is_some() {
            match self.peeked.take() {
                Some(Step::Item(item)) => return Poll::Ready(Some(Ok(item))),
                Some(Step::Rollback(discarded)) => self.discarded.merge(discarded),
                None => {}
            }
        }
        // Straight from the call's action into what is returned: each move of an item copies it.
        self.poll_step(cx, false)
    }

    /// The next item or rollback, the end (`None`) or the error the call ended with.
    pub(crate) fn poll_event(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Step<C::Item>, Error>>> {
        if self.peeked.is_some() {
            Poll::Ready(self.peeked.take().map(Ok))
        } else {
            self.poll_step(cx, false)
        }
    }

    /// Output taken back by resumptions since the last call, when read item by item.
    pub(crate) fn take_discarded(&mut self) -> Discarded {
        std::mem::take(&mut self.discarded)
    }

    /// Drives the call until its response is established (a success head arrived), without
    /// taking items: `Ok(())` then, or the error that ended the call.
    pub(crate) fn poll_established(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.peeked.is_some() || self.established {
            return Poll::Ready(Ok(()));
        }
        if self.ended {
            return Poll::Ready(self.failure.clone().map_or(Ok(()), Err));
        }
        match self.poll_step(cx, true) {
            Poll::Pending if self.established => Poll::Ready(Ok(())),
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => Poll::Ready(Ok(())),
            Poll::Ready(Some(Ok(step))) => {
                self.peeked = Some(step);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Some(Err(error))) => Poll::Ready(Err(error)),
        }
    }

    /// The loop. With `establish`, it stops once the call is established (returning `Pending`
    /// with `self.established` set; nothing is waiting on a waker then).
    fn poll_step<O: Output<C::Item>>(
        &mut self,
        cx: &mut Context<'_>,
        establish: bool,
    ) -> Poll<Option<Result<O, Error>>> {
        if self.ended {
            return Poll::Ready(None);
        }
        let span = self.span.clone();
        let _entered = span.enter();
        // One reading of the clock for the whole step: the loop below does not wait (it returns
        // at the first item or pending future), so the time it spends is the decoding's, and a
        // clock reading per pass would cost as much as a small event's bookkeeping.
        let now = Instant::now();
        loop {
            if self
                .abort
                .as_ref()
                .is_some_and(|abort| abort.aborted.load(Ordering::Acquire))
            {
                self.call.cancel();
                self.waiting = Waiting::Nothing;
            }
            match &mut self.waiting {
                Waiting::Nothing => {}
                Waiting::Response(response) => match Pin::new(response).poll(cx) {
                    Poll::Pending => return self.pending(cx),
                    Poll::Ready(Ok(response)) => {
                        self.waiting = Waiting::Nothing;
                        let (head, body) = response.into_parts();
                        tracing::debug!(status = head.status.as_u16(), "response head");
                        self.span.record("status", head.status.as_u16());
                        self.call.handle_response(head.status, &head.headers);
                        self.body = Some(body);
                        if establish && self.call.is_established() {
                            self.established = true;
                            return Poll::Pending;
                        }
                    }
                    Poll::Ready(Err(error)) => {
                        self.waiting = Waiting::Nothing;
                        tracing::debug!(error = %error, "the transport failed before a response");
                        self.call.handle_transport_error(transport_error(error));
                    }
                },
                Waiting::Sleep(sleep) => match Pin::new(sleep).poll(cx) {
                    Poll::Pending => return self.pending(cx),
                    Poll::Ready(()) => self.waiting = Waiting::Nothing,
                },
            }
            let action = self.call.poll(now);
            // Looked at where it lies: moving the item out first would copy it once more.
            if let Action::Item(item) = &action {
                self.note_item(item);
            }
            match action {
                Action::Send(mut request) => {
                    self.body = None;
                    if let Some(timeouts) = self.timeouts {
                        request.extensions_mut().insert(timeouts);
                    }
                    let attempt = self.call.attempts();
                    tracing::debug!(attempt, "sending request");
                    self.span.record("attempts", attempt);
                    self.waiting = Waiting::Response(self.client.transport.send(request));
                }
                Action::Wait(delay) => {
                    self.body = None;
                    tracing::info!(
                        delay_ms = delay.as_millis() as u64,
                        attempt = self.call.attempts(),
                        "retrying after a failed attempt"
                    );
                    self.waiting = Waiting::Sleep(self.client.sleeper.sleep(delay));
                }
                Action::Read => {
                    let Some(body) = self.body.as_mut() else {
                        // Cannot happen: a body is always held while the call reads one.
                        self.call.handle_end();
                        continue;
                    };
                    match body.poll_chunk(cx) {
                        Poll::Ready(Some(Ok(bytes))) => self.call.handle_frame(&bytes),
                        Poll::Ready(Some(Err(error))) => {
                            tracing::debug!(error = %error, "the transport failed in the body");
                            self.call.handle_transport_error(transport_error(error));
                        }
                        Poll::Ready(None) => self.call.handle_end(),
                        Poll::Pending => return self.pending(cx),
                    }
                }
                Action::Item(item) => return Poll::Ready(Some(Ok(O::item(item)))),
                Action::Rollback(discarded) => {
                    tracing::info!(
                        chunks = discarded.chunks,
                        "resumed from a checkpoint; output after it is taken back"
                    );
                    if let Some(step) = O::rollback(discarded, &mut self.discarded) {
                        return Poll::Ready(Some(Ok(step)));
                    }
                }
                Action::Done => {
                    self.finish();
                    tracing::debug!(chunks = self.items, "call finished");
                    return Poll::Ready(None);
                }
                Action::Failed(error) => {
                    self.finish();
                    self.span.record("error", tracing::field::display(&error));
                    tracing::debug!(error = %error, "call failed");
                    self.failure = Some(error.clone());
                    return Poll::Ready(Some(Err(error)));
                }
            }
        }
    }

    /// Counts an item and records it in the span.
    fn note_item(&mut self, item: &C::Item) {
        if self.items == 0 {
            self.span.record(
                "time_to_first_chunk_ms",
                self.started.elapsed().as_millis() as u64,
            );
        }
        self.items += 1;
        if self.client.log_content
            && let Some(text) = item.content()
        {
            tracing::trace!(text = %text, "chunk");
        }
        if let Some((prompt, answer, total)) = item.tokens() {
            self.span.record("prompt_tokens", prompt);
            self.span.record("answer_tokens", answer);
            self.span.record("total_tokens", total);
        }
    }

    fn finish(&mut self) {
        self.ended = true;
        self.body = None;
        self.waiting = Waiting::Nothing;
        self.span.record("chunks", self.items);
    }

    fn pending<T>(&mut self, cx: &mut Context<'_>) -> Poll<T> {
        if let Some(at) = self.call.deadline() {
            let timer = self.deadline.get_or_insert_with(|| {
                self.client
                    .sleeper
                    .sleep(at.saturating_duration_since(Instant::now()))
            });
            if Pin::new(timer).poll(cx).is_ready() {
                // The deadline passed: the next poll lets the call fail.
                self.deadline = None;
                cx.waker().wake_by_ref();
            }
        }
        if let Some(abort) = &self.abort {
            let mut waker = abort.waker.lock().unwrap_or_else(|e| e.into_inner());
            if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *waker = Some(cx.waker().clone());
            }
            drop(waker);
            // An abort between the check and the registration is not lost.
            if abort.aborted.load(Ordering::Acquire) {
                cx.waker().wake_by_ref();
            }
        }
        Poll::Pending
    }
}

/// One thing a call hands out.
#[derive(Debug)]
pub(crate) enum Step<T> {
    Item(T),
    Rollback(Discarded),
}

/// What the driver's loop returns: items only, with rollbacks added up in the driver
/// ([`Driver::take_discarded`]), or every [`Step`].
pub(crate) trait Output<T>: Sized {
    fn item(item: T) -> Self;
    /// `None`: added to `discarded`, and the loop goes on.
    fn rollback(discarded: Discarded, into: &mut Discarded) -> Option<Self>;
}

/// Items only.
impl<T> Output<T> for T {
    fn item(item: T) -> Self {
        item
    }
    fn rollback(discarded: Discarded, into: &mut Discarded) -> Option<Self> {
        into.merge(discarded);
        None
    }
}

impl<T> Output<T> for Step<T> {
    fn item(item: T) -> Self {
        Step::Item(item)
    }
    fn rollback(discarded: Discarded, _: &mut Discarded) -> Option<Self> {
        Some(Step::Rollback(discarded))
    }
}

/// Whether a call has reached the point where a stream is handed to its caller.
pub(crate) trait Established {
    fn is_established(&self) -> bool;
}

impl Established for gemini_proto::call::GenerateCall {
    fn is_established(&self) -> bool {
        gemini_proto::call::GenerateCall::is_established(self)
    }
}

impl<T> Established for gemini_proto::call::Exchange<T> {
    fn is_established(&self) -> bool {
        false
    }
}

/// Runs a call to its first item: the answer of a unary call.
pub(crate) async fn first_item<C>(mut driver: Driver<C>) -> Result<C::Item, Error>
where
    C: Call + Established,
    C::Item: Traced,
{
    match std::future::poll_fn(|cx| driver.poll_item(cx)).await {
        Some(result) => result,
        None => Err(Error::decode("the call ended without an answer", b"")),
    }
}

/// A boxed future of a call's result: what builders turn into with `.await`.
#[must_use = "futures do nothing unless polled"]
pub struct CallFuture<T> {
    inner: Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'static>>,
}

impl<T> CallFuture<T> {
    pub(crate) fn new(future: impl Future<Output = Result<T, Error>> + Send + 'static) -> Self {
        Self {
            inner: Box::pin(future),
        }
    }
}

impl<T> Future for CallFuture<T> {
    type Output = Result<T, Error>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl<T> fmt::Debug for CallFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallFuture").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_thread_timer_waits_and_wakes() {
        let started = Instant::now();
        futures_lite::future::block_on(thread_sleep(Duration::from_millis(30)));
        assert!(started.elapsed() >= Duration::from_millis(30));
    }

    #[test]
    fn transport_failures_keep_their_kind_and_message() {
        use gemini_transport::TimeoutKind;
        let cases = [
            (TransportKind::Connect, ErrorKind::Connect),
            (TransportKind::Tls, ErrorKind::Connect),
            (TransportKind::Proxy, ErrorKind::Connect),
            (
                TransportKind::Timeout(TimeoutKind::Connect),
                ErrorKind::Timeout,
            ),
            (
                TransportKind::Timeout(TimeoutKind::Idle),
                ErrorKind::Timeout,
            ),
            (TransportKind::Protocol, ErrorKind::Connection),
            (TransportKind::ConnectionClosed, ErrorKind::Connection),
            (TransportKind::ClosedMidBody, ErrorKind::Connection),
            (TransportKind::InvalidRequest, ErrorKind::InvalidRequest),
            (TransportKind::Runtime, ErrorKind::Transport),
            (TransportKind::Other, ErrorKind::Transport),
        ];
        for (from, to) in cases {
            let error = transport_error(TransportError::new(from, "what happened"));
            assert_eq!(error.kind(), to, "{from:?}");
            assert!(error.to_string().contains("what happened"), "{error}");
            // The transport's error stays reachable as the source.
            let source = std::error::Error::source(&error).expect("a source");
            assert!(source.to_string().contains("what happened"));
        }
    }
}
