//! The response-headers, idle and total timeouts, kept by one background thread.
//!
//! Why not the runtime's timers: a streamed response lives for minutes and its deadlines are
//! minutes away, yet with runtime timers every request registered (and later removed) two of
//! them, and while one is registered tokio's driver reads the clock on every park, that is on
//! every body frame. Registering a timer earlier than any other also wakes the driver through
//! its eventfd. Measured against a bare hyper client on the same streamed request
//! (`benches/transport_overhead.rs`), that was 10 to 15% of the time to first byte.
//!
//! Here a request registers one [`Watch`] (a lock and a heap push); the body records progress
//! with one relaxed store per frame, and checks one atomic when it would return `Pending`. A
//! single process-wide thread, started at the first request with a timeout, sleeps until the
//! earliest check is due, fires expired watches by waking their tasks, and otherwise does not
//! run. It never touches a runtime, so the timeouts behave the same on tokio, smol or any
//! executor (and do not follow tokio's paused test clock).
//!
//! The idle timeout is checked on a tick of `idle / 16`. The silence is counted from the
//! first check that saw the last frame (which arrived up to one tick earlier), and fires at
//! the first check where it reaches `idle`: after between `idle` and `idle × 9/8` of actual
//! silence.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::task::Waker;
use std::time::{Duration, Instant};

use crate::rt::same_waker;
use crate::{ErrorKind, TimeoutKind, TransportError};

const PHASE_HEAD: u8 = 0;
const PHASE_BODY: u8 = 1;
const PHASE_DONE: u8 = 2;

const FIRED_NONE: u8 = 0;
const FIRED_HEADERS: u8 = 1;
const FIRED_IDLE: u8 = 2;
const FIRED_TOTAL: u8 = 3;

/// What one request is watched for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// When the response headers must have arrived.
    pub(crate) headers_by: Option<Instant>,
    /// When the whole exchange must have ended.
    pub(crate) total_by: Option<Instant>,
    /// The longest silence allowed between body frames.
    pub(crate) idle: Option<Duration>,
}

impl Limits {
    fn is_empty(&self) -> bool {
        self.headers_by.is_none() && self.total_by.is_none() && self.idle.is_none()
    }
}

#[derive(Debug)]
struct Shared {
    limits: Limits,
    phase: AtomicU8,
    /// Body frames seen so far (written by the body only).
    progress: AtomicU64,
    fired: AtomicU8,
    waker: Mutex<Option<Waker>>,
    /// The watchdog's own bookkeeping for the idle check (touched by its thread only; a
    /// mutex keeps this `Sync` without `unsafe`, and it is never contended).
    idle_state: Mutex<IdleState>,
}

#[derive(Debug)]
struct IdleState {
    seen_progress: u64,
    seen_phase: u8,
    silent_since: Instant,
}

/// A request's registration with the watchdog. Dropping it unregisters (lazily).
#[derive(Debug)]
pub(crate) struct Watch {
    shared: Arc<Shared>,
    /// The task waker last stored in `shared.waker`.
    registered: Option<Waker>,
    frames: u64,
}

impl Watch {
    /// Starts watching a request sent at `start`. `None` when no timeout applies.
    pub(crate) fn start(limits: Limits, start: Instant) -> Result<Option<Watch>, TransportError> {
        if limits.is_empty() {
            return Ok(None);
        }
        let dog = watchdog()?;
        dog.live.fetch_add(1, Ordering::Relaxed);
        let shared = Arc::new(Shared {
            limits,
            phase: AtomicU8::new(PHASE_HEAD),
            progress: AtomicU64::new(0),
            fired: AtomicU8::new(FIRED_NONE),
            waker: Mutex::new(None),
            idle_state: Mutex::new(IdleState {
                seen_progress: 0,
                seen_phase: PHASE_HEAD,
                silent_since: start,
            }),
        });
        if let Some(due) = next_check(&limits, PHASE_HEAD, start) {
            dog.schedule(due, &shared);
        }
        Ok(Some(Watch {
            shared,
            registered: None,
            frames: 0,
        }))
    }

    /// The response headers arrived: from now on the idle timeout applies.
    pub(crate) fn enter_body(&self) {
        self.shared.phase.store(PHASE_BODY, Ordering::Release);
    }

    /// A body frame arrived.
    pub(crate) fn progress(&mut self) {
        self.frames += 1;
        self.shared.progress.store(self.frames, Ordering::Relaxed);
    }

    /// The timeout that fired, if one did; otherwise makes sure the watchdog wakes the task
    /// behind `waker` when one fires. Call it when about to return `Pending`.
    pub(crate) fn check(&mut self, waker: &Waker) -> Option<TransportError> {
        if let Some(err) = self.fired() {
            return Some(err);
        }
        if self
            .registered
            .as_ref()
            .is_some_and(|w| same_waker(w, waker))
        {
            return None;
        }
        *lock(&self.shared.waker) = Some(waker.clone());
        self.registered = Some(waker.clone());
        // A timeout that fired before the waker was stored found nothing to wake.
        self.fired()
    }

    fn fired(&self) -> Option<TransportError> {
        let (kind, msg) = match self.shared.fired.load(Ordering::Acquire) {
            FIRED_NONE => return None,
            FIRED_HEADERS => (
                TimeoutKind::ResponseHeaders,
                "the response headers timeout elapsed".to_owned(),
            ),
            FIRED_IDLE => (
                TimeoutKind::Idle,
                format!(
                    "no body frame for {:?}",
                    self.shared.limits.idle.unwrap_or_default()
                ),
            ),
            _ => (
                TimeoutKind::Total,
                match self.shared.phase.load(Ordering::Acquire) {
                    PHASE_HEAD => "the total timeout elapsed before the response headers",
                    _ => "the total timeout elapsed while reading the body",
                }
                .to_owned(),
            ),
        };
        Some(TransportError::new(ErrorKind::Timeout(kind), msg))
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.shared.phase.store(PHASE_DONE, Ordering::Release);
        if let Some(dog) = WATCHDOG.get().and_then(|d| d.as_ref().ok()) {
            dog.live.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn idle_tick(idle: Duration) -> Duration {
    (idle / 16).max(Duration::from_millis(1))
}

/// When the watchdog should next look at a watch in `phase`, as of `now`.
fn next_check(limits: &Limits, phase: u8, now: Instant) -> Option<Instant> {
    let mut due = limits.total_by;
    let mut consider = |t: Option<Instant>| {
        if let Some(t) = t {
            due = Some(due.map_or(t, |d| d.min(t)));
        }
    };
    match phase {
        PHASE_HEAD => {
            consider(limits.headers_by);
            // The body may start at any moment; look in on that tick by tick.
            consider(limits.idle.map(|i| now + idle_tick(i)));
        }
        PHASE_BODY => consider(limits.idle.map(|i| now + idle_tick(i))),
        _ => return None,
    }
    due
}

/// Decides one due watch: `Ok(Some(next))` to look again then, `Ok(None)` to forget it,
/// `Err(code)` to fire.
fn evaluate(s: &Shared, now: Instant) -> Result<Option<Instant>, u8> {
    let phase = s.phase.load(Ordering::Acquire);
    if phase == PHASE_DONE || s.fired.load(Ordering::Acquire) != FIRED_NONE {
        return Ok(None);
    }
    if s.limits.total_by.is_some_and(|t| t <= now) {
        return Err(FIRED_TOTAL);
    }
    if phase == PHASE_HEAD {
        if s.limits.headers_by.is_some_and(|t| t <= now) {
            return Err(FIRED_HEADERS);
        }
    } else if let Some(idle) = s.limits.idle {
        let mut st = lock(&s.idle_state);
        let progress = s.progress.load(Ordering::Relaxed);
        if st.seen_phase != phase || st.seen_progress != progress {
            // Headers or a frame arrived since the last look: the silence starts over. The
            // arrival may have been up to one tick ago; the bound in the module docs allows it.
            st.seen_phase = phase;
            st.seen_progress = progress;
            st.silent_since = now;
        } else if now.duration_since(st.silent_since) >= idle {
            return Err(FIRED_IDLE);
        }
    }
    Ok(next_check(&s.limits, phase, now))
}

#[derive(Debug)]
struct Entry {
    due: Instant,
    seq: u64,
    watch: Weak<Shared>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.due, self.seq).cmp(&(other.due, other.seq))
    }
}

#[derive(Debug, Default)]
struct Queue {
    heap: BinaryHeap<Reverse<Entry>>,
    seq: u64,
    /// When the thread will wake up on its own (`None`: it waits for a notification).
    wakes_at: Option<Instant>,
}

#[derive(Debug)]
struct Watchdog {
    queue: Mutex<Queue>,
    cond: Condvar,
    /// Watches not yet dropped: the heap is compacted when it holds many more entries.
    live: AtomicUsize,
}

static WATCHDOG: OnceLock<Result<Arc<Watchdog>, String>> = OnceLock::new();

fn watchdog() -> Result<&'static Arc<Watchdog>, TransportError> {
    WATCHDOG
        .get_or_init(|| {
            let dog = Arc::new(Watchdog {
                queue: Mutex::default(),
                cond: Condvar::new(),
                live: AtomicUsize::new(0),
            });
            let runner = Arc::clone(&dog);
            std::thread::Builder::new()
                .name("gemini-transport-timeouts".into())
                .spawn(move || runner.run())
                .map(|_| dog)
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| {
            TransportError::new(
                ErrorKind::Runtime,
                format!("could not start the timeout thread: {e}"),
            )
        })
}

impl Watchdog {
    fn schedule(&self, due: Instant, watch: &Arc<Shared>) {
        let live = self.live.load(Ordering::Relaxed);
        let mut q = lock(&self.queue);
        if q.heap.len() > 2 * live + 64 {
            // Mostly finished requests: drop them now rather than when they come due.
            let entries = std::mem::take(&mut q.heap).into_vec();
            q.heap = entries
                .into_iter()
                .filter(|Reverse(e)| {
                    e.watch
                        .upgrade()
                        .is_some_and(|s| s.phase.load(Ordering::Acquire) != PHASE_DONE)
                })
                .collect();
        }
        let seq = q.seq;
        q.seq += 1;
        q.heap.push(Reverse(Entry {
            due,
            seq,
            watch: Arc::downgrade(watch),
        }));
        if q.wakes_at.is_none_or(|w| due < w) {
            drop(q);
            self.cond.notify_one();
        }
    }

    fn run(&self) {
        let mut q = lock(&self.queue);
        loop {
            let now = Instant::now();
            let mut fire = Vec::new();
            while q.heap.peek().is_some_and(|Reverse(e)| e.due <= now) {
                let Some(Reverse(entry)) = q.heap.pop() else {
                    break;
                };
                let Some(shared) = entry.watch.upgrade() else {
                    continue;
                };
                match evaluate(&shared, now) {
                    Ok(Some(due)) => {
                        let seq = q.seq;
                        q.seq += 1;
                        q.heap.push(Reverse(Entry {
                            due,
                            seq,
                            watch: entry.watch,
                        }));
                    }
                    Ok(None) => {}
                    Err(code) => fire.push((shared, code)),
                }
            }
            q.wakes_at = q.heap.peek().map(|Reverse(e)| e.due);
            if !fire.is_empty() {
                drop(q);
                for (shared, code) in fire {
                    shared.fired.store(code, Ordering::Release);
                    let waker = lock(&shared.waker).take();
                    if let Some(w) = waker {
                        w.wake();
                    }
                }
                q = lock(&self.queue);
                continue;
            }
            q = match q.wakes_at {
                Some(at) => {
                    let wait = at.saturating_duration_since(Instant::now());
                    self.cond
                        .wait_timeout(q, wait)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
                None => self.cond.wait(q).unwrap_or_else(|p| p.into_inner()),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::task::Wake;

    struct Flag(AtomicBool);
    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    fn limits(headers: Option<u64>, idle: Option<u64>, total: Option<u64>) -> Limits {
        let now = Instant::now();
        Limits {
            headers_by: headers.map(|ms| now + Duration::from_millis(ms)),
            total_by: total.map(|ms| now + Duration::from_millis(ms)),
            idle: idle.map(Duration::from_millis),
        }
    }

    /// Polls `check` until it reports a timeout, or gives up after `limit`.
    fn wait_fired(w: &mut Watch, limit: Duration) -> (Option<TransportError>, bool) {
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(Arc::clone(&flag));
        let until = Instant::now() + limit;
        while Instant::now() < until {
            if let Some(e) = w.check(&waker) {
                return (Some(e), flag.0.load(Ordering::SeqCst));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        (None, flag.0.load(Ordering::SeqCst))
    }

    #[test]
    fn no_limits_no_watch() {
        assert!(
            Watch::start(limits(None, None, None), Instant::now())
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn headers_deadline_fires_in_head_phase_and_wakes_the_task() {
        let mut w = Watch::start(limits(Some(30), None, None), Instant::now())
            .unwrap()
            .unwrap();
        let (err, woken) = wait_fired(&mut w, Duration::from_secs(5));
        let err = err.expect("fired");
        assert_eq!(err.timeout_kind(), Some(TimeoutKind::ResponseHeaders));
        assert!(woken, "the registered waker was woken");
    }

    #[test]
    fn headers_deadline_does_not_apply_to_the_body() {
        let mut w = Watch::start(limits(Some(20), None, Some(150)), Instant::now())
            .unwrap()
            .unwrap();
        w.enter_body();
        let (err, _) = wait_fired(&mut w, Duration::from_secs(5));
        assert_eq!(err.unwrap().timeout_kind(), Some(TimeoutKind::Total));
    }

    #[test]
    fn idle_fires_only_after_silence() {
        let start = Instant::now();
        let mut w = Watch::start(limits(None, Some(160), None), start)
            .unwrap()
            .unwrap();
        w.enter_body();
        let waker = Waker::from(Arc::new(Flag(AtomicBool::new(false))));
        // Frames every 20 ms for 400 ms: well over the idle timeout in all, never silent.
        let mut last_frame = start;
        while start.elapsed() < Duration::from_millis(400) {
            w.progress();
            last_frame = Instant::now();
            assert!(w.check(&waker).is_none(), "fired while frames flowed");
            std::thread::sleep(Duration::from_millis(20));
        }
        let (err, _) = wait_fired(&mut w, Duration::from_secs(5));
        let silence = last_frame.elapsed();
        assert_eq!(err.unwrap().timeout_kind(), Some(TimeoutKind::Idle));
        assert!(
            silence >= Duration::from_millis(160),
            "fired after {silence:?} of silence"
        );
    }

    #[test]
    fn dropped_watches_are_compacted_away() {
        let dog = watchdog().unwrap();
        for _ in 0..1000 {
            drop(Watch::start(limits(Some(600_000), None, None), Instant::now()).unwrap());
        }
        let _w = Watch::start(limits(Some(600_000), None, None), Instant::now()).unwrap();
        let len = lock(&dog.queue).heap.len();
        // Other tests run concurrently and hold a few watches; 1000 dead ones must be gone.
        assert!(len < 200, "heap still holds {len} entries");
    }
}
