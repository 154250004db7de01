//! Runtime glue: spawning, timers and sockets for tokio and smol.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::{Sleep, TransportError};

/// The async runtime the hyper backend runs its sockets, its connect timer and its HTTP/2
/// connection tasks on.
///
/// Both variants exist when both features are enabled; pick one with
/// [`HyperTransportBuilder::runtime`](crate::HyperTransportBuilder::runtime), or leave it
/// unset to detect at each new connection: tokio when called inside a tokio runtime
/// (feature `tokio`), smol otherwise (feature `smol`).
///
/// ```
/// # #[cfg(feature = "smol")] {
/// use gemini_transport::Runtime;
/// let sleep = Runtime::Smol.sleeper();
/// smol::block_on(sleep.sleep(std::time::Duration::from_millis(1)));
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Runtime {
    /// tokio: sockets and timers from the current tokio runtime (IO and time drivers must be
    /// enabled); HTTP/2 connection tasks are spawned with `tokio::spawn`.
    #[cfg(feature = "tokio")]
    Tokio,
    /// smol: sockets and timers from async-io (smol's reactor), HTTP/2 connection tasks on
    /// an executor thread of this crate (`gemini-transport-h2`, started by the first HTTP/2
    /// connection). Works under any executor (`smol::block_on`, `async_std::task::block_on`,
    /// …).
    #[cfg(feature = "smol")]
    Smol,
}

impl Runtime {
    /// The runtime that `HyperTransport` would pick here: tokio inside a tokio runtime
    /// (feature `tokio`), else smol (feature `smol`). `None` if only `tokio` is enabled and
    /// no tokio runtime is running.
    pub fn detect() -> Option<Runtime> {
        #[cfg(feature = "tokio")]
        if tokio::runtime::Handle::try_current().is_ok() {
            return Some(Runtime::Tokio);
        }
        #[cfg(feature = "smol")]
        {
            Some(Runtime::Smol)
        }
        #[cfg(not(feature = "smol"))]
        {
            None
        }
    }

    /// A [`Sleep`] on this runtime's timer, for retry backoff.
    pub fn sleeper(self) -> Arc<dyn Sleep> {
        match self {
            #[cfg(feature = "tokio")]
            Runtime::Tokio => Arc::new(crate::TokioSleep),
            #[cfg(feature = "smol")]
            Runtime::Smol => Arc::new(crate::SmolSleep),
        }
    }

    /// Checks that this runtime can be used from the current context.
    pub(crate) fn check(self) -> Result<(), TransportError> {
        match self {
            #[cfg(feature = "tokio")]
            Runtime::Tokio => tokio::runtime::Handle::try_current()
                .map(|_| ())
                .map_err(|e| {
                    TransportError::with_source(crate::ErrorKind::Runtime, e)
                        .with_message("the tokio backend was used outside a tokio runtime")
                }),
            #[cfg(feature = "smol")]
            Runtime::Smol => Ok(()),
        }
    }

    pub(crate) fn spawn<F>(self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        match self {
            #[cfg(feature = "tokio")]
            Runtime::Tokio => {
                tokio::spawn(future);
            }
            #[cfg(feature = "smol")]
            Runtime::Smol => smol_executor().spawn(future).detach(),
        }
    }

    pub(crate) fn delay_until(self, deadline: Instant) -> Delay {
        match self {
            #[cfg(feature = "tokio")]
            Runtime::Tokio => Delay::Tokio(Box::pin(tokio::time::sleep_until(deadline.into()))),
            #[cfg(feature = "smol")]
            Runtime::Smol => Delay::Smol(async_io::Timer::at(deadline)),
        }
    }
}

/// The executor HTTP/2 connection tasks run on under smol: one thread driving an
/// `async-executor`, as `smol::spawn` does, without the `smol` crate's process, file and
/// signal support.
#[cfg(feature = "smol")]
fn smol_executor() -> &'static async_executor::Executor<'static> {
    static EXECUTOR: std::sync::OnceLock<async_executor::Executor<'static>> =
        std::sync::OnceLock::new();
    EXECUTOR.get_or_init(|| {
        std::thread::Builder::new()
            .name("gemini-transport-h2".into())
            .spawn(|| {
                loop {
                    // A panicking task must not stop every other connection.
                    let _ = std::panic::catch_unwind(|| {
                        async_io::block_on(smol_executor().run(std::future::pending::<()>()))
                    });
                }
            })
            .expect("cannot start the HTTP/2 executor thread");
        async_executor::Executor::new()
    })
}

/// Whether two wakers wake the same task, robust to duplicated vtables.
///
/// [`Waker::will_wake`] compares vtable *addresses*, and a runtime's waker and its clones can
/// carry distinct copies of one vtable (tokio's current-thread `block_on` waker does): then
/// it answers `false` for the same task on every poll, and code that re-registers on a
/// changed waker pays a lock and a clone per frame. This compares the vtables' contents too.
pub(crate) fn same_waker(a: &Waker, b: &Waker) -> bool {
    a.will_wake(b) || (a.data() == b.data() && a.vtable() == b.vtable())
}

/// A resettable timer on either runtime.
#[derive(Debug)]
pub(crate) enum Delay {
    #[cfg(feature = "tokio")]
    Tokio(Pin<Box<tokio::time::Sleep>>),
    #[cfg(feature = "smol")]
    Smol(async_io::Timer),
}

impl Delay {
    pub(crate) fn poll_elapsed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match self {
            #[cfg(feature = "tokio")]
            Delay::Tokio(s) => s.as_mut().poll(cx),
            #[cfg(feature = "smol")]
            Delay::Smol(t) => Pin::new(t).poll(cx).map(|_| ()),
        }
    }
}

/// hyper's executor: spawns HTTP/2 background tasks on the chosen runtime.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Exec(pub(crate) Runtime);

impl<F> hyper::rt::Executor<F> for Exec
where
    F: Future<Output = ()> + Send + 'static,
{
    fn execute(&self, future: F) {
        self.0.spawn(future);
    }
}

/// hyper's timer (HTTP/2 keep-alive pings) on the chosen runtime.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HyperTimer(pub(crate) Runtime);

struct HyperSleep(Delay);

impl Future for HyperSleep {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.get_mut().0.poll_elapsed(cx)
    }
}

impl hyper::rt::Sleep for HyperSleep {}

impl hyper::rt::Timer for HyperTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        self.sleep_until(Instant::now() + duration)
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep(self.0.delay_until(deadline)))
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        *sleep = self.sleep_until(new_deadline);
    }
}

/// Adapts a futures-io stream (async-net, futures-rustls) to hyper's IO traits.
#[cfg(feature = "smol")]
pub(crate) mod smol_io {
    use std::io;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use futures_lite::io::{AsyncRead, AsyncWrite};

    const READ_BUF: usize = 16 * 1024;

    pin_project_lite::pin_project! {
        #[derive(Debug)]
        pub(crate) struct FuturesIo<T> {
            #[pin]
            inner: T,
            // futures-io reads into initialised memory; this buffer is zeroed once, not per read,
            // so the adapter needs no `unsafe`.
            scratch: Box<[u8]>,
        }
    }

    impl<T> FuturesIo<T> {
        pub(crate) fn new(inner: T) -> Self {
            Self {
                inner,
                scratch: vec![0; READ_BUF].into_boxed_slice(),
            }
        }
    }

    impl<T: AsyncRead> hyper::rt::Read for FuturesIo<T> {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            mut buf: hyper::rt::ReadBufCursor<'_>,
        ) -> Poll<io::Result<()>> {
            let this = self.project();
            let cap = buf.remaining().min(this.scratch.len());
            match this.inner.poll_read(cx, &mut this.scratch[..cap]) {
                Poll::Ready(Ok(n)) => {
                    buf.put_slice(&this.scratch[..n]);
                    Poll::Ready(Ok(()))
                }
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            }
        }
    }

    impl<T: AsyncWrite> hyper::rt::Write for FuturesIo<T> {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.project().inner.poll_write(cx, buf)
        }

        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            self.project().inner.poll_flush(cx)
        }

        fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            self.project().inner.poll_close(cx)
        }

        fn poll_write_vectored(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[io::IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            self.project().inner.poll_write_vectored(cx, bufs)
        }
    }
}
