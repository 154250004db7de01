//! The timer abstraction used for retry backoff.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// Sleeps for a duration on some runtime. Object safe: share it as `Arc<dyn Sleep>`.
///
/// The facade awaits it between retries; the retry decision (how long) is made elsewhere.
///
/// ```
/// use std::time::Duration;
/// use gemini_transport::{Sleep, SleepFuture};
///
/// /// A sleep that returns at once, for deterministic tests.
/// #[derive(Debug)]
/// struct NoSleep;
/// impl Sleep for NoSleep {
///     fn sleep(&self, _: Duration) -> SleepFuture {
///         SleepFuture::new(async {})
///     }
/// }
/// futures_lite::future::block_on(NoSleep.sleep(Duration::from_secs(3600)));
/// ```
pub trait Sleep: Send + Sync + fmt::Debug {
    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> SleepFuture;
}

/// The future returned by [`Sleep::sleep`].
#[must_use = "futures do nothing unless polled"]
pub struct SleepFuture(Pin<Box<dyn Future<Output = ()> + Send + 'static>>);

impl SleepFuture {
    /// Wraps any `Send` future.
    pub fn new(future: impl Future<Output = ()> + Send + 'static) -> Self {
        Self(Box::pin(future))
    }
}

impl Future for SleepFuture {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx)
    }
}

impl fmt::Debug for SleepFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SleepFuture").finish_non_exhaustive()
    }
}

/// [`Sleep`] on tokio's timer. Needs a tokio runtime with the time driver enabled when awaited.
///
/// ```
/// use std::time::Duration;
/// use gemini_transport::{Sleep, TokioSleep};
///
/// let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
/// rt.block_on(TokioSleep.sleep(Duration::from_millis(1)));
/// ```
#[cfg(feature = "tokio")]
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleep;

#[cfg(feature = "tokio")]
impl Sleep for TokioSleep {
    fn sleep(&self, duration: Duration) -> SleepFuture {
        // Lazy: the tokio timer is created when first polled, inside the runtime.
        SleepFuture::new(async move { tokio::time::sleep(duration).await })
    }
}

/// [`Sleep`] on async-io's timer (smol). Works under any executor, including
/// `futures_lite::future::block_on` and `async_std::task::block_on`.
///
/// ```
/// use std::time::Duration;
/// use gemini_transport::{Sleep, SmolSleep};
///
/// smol::block_on(SmolSleep.sleep(Duration::from_millis(1)));
/// ```
#[cfg(feature = "smol")]
#[derive(Debug, Clone, Copy, Default)]
pub struct SmolSleep;

#[cfg(feature = "smol")]
impl Sleep for SmolSleep {
    fn sleep(&self, duration: Duration) -> SleepFuture {
        let timer = async_io::Timer::after(duration);
        SleepFuture::new(async move {
            timer.await;
        })
    }
}
