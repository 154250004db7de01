//! The response-headers, idle and total timeouts, kept by one background thread.
//!
//! Why not the runtime's timers: a streamed response lives for minutes and its deadlines are
//! minutes away, yet with runtime timers every request registered (and later removed) two of
//! them, and while one is registered tokio's driver reads the clock on every park, that is on
//! every body frame. Registering a timer earlier than any other also wakes the driver through
//! its eventfd. Measured against a bare hyper client on the same streamed request, that was 10
//! to 15% of the time to first byte.
//!
//! Here a request registers one [`Watch`] (a lock and a heap push) for its headers and total
//! deadlines. A single process-wide thread, started at the first request with a timeout,
//! sleeps until the earliest deadline is due, fires expired watches by waking their tasks,
//! and otherwise does not run. It never touches a runtime, so the timeouts behave the same on
//! tokio, smol or any executor (and do not follow tokio's paused test clock).
//!
//! The idle timeout measures how long the caller has been *waiting* for body data: the body
//! records the moment a poll finds nothing to return (one clock read per wait, one atomic
//! store), and forgets it when a frame arrives. Time the caller spends elsewhere between polls
//! (a slow consumer, a full channel downstream) is not a wait, so backpressure never trips it.
//! The thread keeps at most one idle entry per watch, due when the current wait would exceed
//! the limit; when it comes due it fires if that wait is still going on, moves to the deadline
//! of a later wait, or is dropped when the caller is not waiting (the next wait schedules a
//! new one). A timeout therefore fires at the moment the wait exceeds the limit.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
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

/// `waiting_since` when the caller is not waiting.
const NOT_WAITING: u64 = 0;

/// What one request is watched for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// When the response headers must have arrived.
    pub(crate) headers_by: Option<Instant>,
    /// When the whole exchange must have ended.
    pub(crate) total_by: Option<Instant>,
    /// The longest the caller may wait for body data.
    pub(crate) idle: Option<Duration>,
}

impl Limits {
    fn is_empty(&self) -> bool {
        self.headers_by.is_none() && self.total_by.is_none() && self.idle.is_none()
    }
}

/// The instant every `waiting_since` counts from.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// `t` as nanoseconds after [`epoch`], never [`NOT_WAITING`].
fn stamp(t: Instant) -> u64 {
    u64::try_from(t.saturating_duration_since(epoch()).as_nanos())
        .unwrap_or(u64::MAX)
        .max(1)
}

fn unstamp(n: u64) -> Instant {
    epoch() + Duration::from_nanos(n)
}

#[derive(Debug)]
struct Shared {
    limits: Limits,
    phase: AtomicU8,
    fired: AtomicU8,
    /// When the caller started its current wait for body data ([`stamp`]), or
    /// [`NOT_WAITING`].
    waiting_since: AtomicU64,
    /// An idle entry for this watch is in the watchdog's heap.
    idle_scheduled: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

/// A request's registration with the watchdog. Dropping it unregisters (lazily).
#[derive(Debug)]
pub(crate) struct Watch {
    shared: Arc<Shared>,
    /// The task waker last stored in `shared.waker`.
    registered: Option<Waker>,
    /// The body's side of `shared.waiting_since`: a wait is in progress.
    waiting: bool,
    in_body: bool,
}

impl Watch {
    /// Starts watching a request. `None` when no timeout applies.
    pub(crate) fn start(limits: Limits) -> Result<Option<Watch>, TransportError> {
        if limits.is_empty() {
            return Ok(None);
        }
        let dog = watchdog()?;
        dog.live.fetch_add(1, Ordering::Relaxed);
        let shared = Arc::new(Shared {
            limits,
            phase: AtomicU8::new(PHASE_HEAD),
            fired: AtomicU8::new(FIRED_NONE),
            waiting_since: AtomicU64::new(NOT_WAITING),
            idle_scheduled: AtomicBool::new(false),
            waker: Mutex::new(None),
        });
        if let Some(due) = next_deadline(&limits, PHASE_HEAD) {
            dog.schedule(due, EntryKind::Deadline, &shared);
        }
        Ok(Some(Watch {
            shared,
            registered: None,
            waiting: false,
            in_body: false,
        }))
    }

    /// The response headers arrived: from now on the idle timeout applies.
    pub(crate) fn enter_body(&mut self) {
        self.in_body = true;
        self.shared.phase.store(PHASE_BODY, Ordering::Release);
    }

    /// A body frame arrived: the caller's wait, if any, is over.
    pub(crate) fn progress(&mut self) {
        if self.waiting {
            self.waiting = false;
            self.shared
                .waiting_since
                .store(NOT_WAITING, Ordering::SeqCst);
        }
    }

    /// The timeout that fired, if one did; otherwise makes sure the watchdog wakes the task
    /// behind `waker` when one fires. Call it when about to return `Pending`: in the body
    /// phase, that starts (or continues) a wait for data, which the idle timeout measures.
    pub(crate) fn check(&mut self, waker: &Waker) -> Option<TransportError> {
        if let Some(err) = self.fired() {
            return Some(err);
        }
        if self.in_body && !self.waiting {
            self.start_wait();
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

    fn start_wait(&mut self) {
        let Some(idle) = self.shared.limits.idle else {
            return;
        };
        self.waiting = true;
        let now = Instant::now();
        self.shared
            .waiting_since
            .store(stamp(now), Ordering::SeqCst);
        // The watchdog clears the flag (and then looks at `waiting_since` again) when it drops
        // the idle entry, so a wait that starts meanwhile is seen by one side or the other.
        if !self.shared.idle_scheduled.swap(true, Ordering::SeqCst)
            && let Ok(dog) = watchdog()
        {
            dog.schedule(now + idle, EntryKind::Idle, &self.shared);
        }
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
                    "waited {:?} for a body frame",
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

/// The next headers or total deadline of a watch in `phase`.
fn next_deadline(limits: &Limits, phase: u8) -> Option<Instant> {
    match phase {
        PHASE_HEAD => match (limits.headers_by, limits.total_by) {
            (Some(h), Some(t)) => Some(h.min(t)),
            (h, t) => h.or(t),
        },
        PHASE_BODY => limits.total_by,
        _ => None,
    }
}

/// Decides one due entry: `Ok(Some(next))` to look again then, `Ok(None)` to forget it,
/// `Err(code)` to fire.
fn evaluate(s: &Shared, kind: EntryKind, now: Instant) -> Result<Option<Instant>, u8> {
    let phase = s.phase.load(Ordering::Acquire);
    if phase == PHASE_DONE || s.fired.load(Ordering::Acquire) != FIRED_NONE {
        return Ok(None);
    }
    match kind {
        EntryKind::Deadline => {
            if s.limits.total_by.is_some_and(|t| t <= now) {
                return Err(FIRED_TOTAL);
            }
            if phase == PHASE_HEAD && s.limits.headers_by.is_some_and(|t| t <= now) {
                return Err(FIRED_HEADERS);
            }
            Ok(next_deadline(&s.limits, phase))
        }
        EntryKind::Idle => {
            let Some(idle) = s.limits.idle else {
                return Ok(None);
            };
            let mut since = s.waiting_since.load(Ordering::SeqCst);
            if since == NOT_WAITING {
                s.idle_scheduled.store(false, Ordering::SeqCst);
                // A wait that started between the load and the store scheduled nothing (the
                // flag was still set): keep the entry for it, unless it did schedule one.
                since = s.waiting_since.load(Ordering::SeqCst);
                if since == NOT_WAITING || s.idle_scheduled.swap(true, Ordering::SeqCst) {
                    return Ok(None);
                }
            }
            let deadline = unstamp(since) + idle;
            if deadline <= now {
                Err(FIRED_IDLE)
            } else {
                Ok(Some(deadline))
            }
        }
    }
}

/// What a heap entry stands for: the headers and total deadlines, or the current wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EntryKind {
    Deadline,
    Idle,
}

#[derive(Debug)]
struct Entry {
    due: Instant,
    seq: u64,
    kind: EntryKind,
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

impl Queue {
    fn push(&mut self, due: Instant, kind: EntryKind, watch: Weak<Shared>) {
        let seq = self.seq;
        self.seq += 1;
        self.heap.push(Reverse(Entry {
            due,
            seq,
            kind,
            watch,
        }));
    }
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
            epoch();
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
    fn schedule(&self, due: Instant, kind: EntryKind, watch: &Arc<Shared>) {
        let live = self.live.load(Ordering::Relaxed);
        let mut q = lock(&self.queue);
        if q.heap.len() > 4 * live + 64 {
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
        q.push(due, kind, Arc::downgrade(watch));
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
                match evaluate(&shared, entry.kind, now) {
                    Ok(Some(due)) => q.push(due, entry.kind, entry.watch),
                    Ok(None) => {}
                    Err(code) => fire.push((shared, code)),
                }
            }
            q.wakes_at = q.heap.peek().map(|Reverse(e)| e.due);
            if !fire.is_empty() {
                drop(q);
                for (shared, code) in fire {
                    // The first timeout to fire is the one reported.
                    if shared
                        .fired
                        .compare_exchange(FIRED_NONE, code, Ordering::AcqRel, Ordering::Acquire)
                        .is_err()
                    {
                        continue;
                    }
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

    fn flag() -> (Arc<Flag>, Waker) {
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(Arc::clone(&flag));
        (flag, waker)
    }

    /// Calls `check` (a poll returning `Pending`), then waits up to `limit` for the waker to
    /// be woken and returns what `check` says then.
    fn wait_fired(w: &mut Watch, limit: Duration) -> (Option<TransportError>, bool) {
        let (flag, waker) = flag();
        if let Some(e) = w.check(&waker) {
            return (Some(e), false);
        }
        let until = Instant::now() + limit;
        while Instant::now() < until && !flag.0.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(1));
        }
        (w.check(&waker), flag.0.load(Ordering::SeqCst))
    }

    #[test]
    fn no_limits_no_watch() {
        assert!(Watch::start(limits(None, None, None)).unwrap().is_none());
    }

    #[test]
    fn headers_deadline_fires_in_head_phase_and_wakes_the_task() {
        let mut w = Watch::start(limits(Some(30), None, None)).unwrap().unwrap();
        let (err, woken) = wait_fired(&mut w, Duration::from_secs(5));
        let err = err.expect("fired");
        assert_eq!(err.timeout_kind(), Some(TimeoutKind::ResponseHeaders));
        assert!(woken, "the registered waker was woken");
    }

    #[test]
    fn headers_deadline_does_not_apply_to_the_body() {
        let mut w = Watch::start(limits(Some(20), None, Some(150)))
            .unwrap()
            .unwrap();
        w.enter_body();
        let (err, _) = wait_fired(&mut w, Duration::from_secs(5));
        assert_eq!(err.unwrap().timeout_kind(), Some(TimeoutKind::Total));
    }

    #[test]
    fn idle_counts_only_the_callers_waits() {
        let mut w = Watch::start(limits(None, Some(100), None))
            .unwrap()
            .unwrap();
        w.enter_body();
        let (_flag, waker) = flag();
        // Short waits, each ended by a frame, and long stretches without a wait in between:
        // never a timeout, although the watch lives for several idle timeouts.
        for _ in 0..3 {
            assert!(w.check(&waker).is_none());
            std::thread::sleep(Duration::from_millis(30));
            w.progress();
            std::thread::sleep(Duration::from_millis(150));
            assert!(
                w.fired().is_none(),
                "fired while the caller was not waiting"
            );
        }
        // A wait that lasts: fires when it exceeds the limit.
        let waiting = Instant::now();
        let (err, woken) = wait_fired(&mut w, Duration::from_secs(5));
        let waited = waiting.elapsed();
        assert_eq!(err.unwrap().timeout_kind(), Some(TimeoutKind::Idle));
        assert!(woken);
        assert!(
            waited >= Duration::from_millis(100),
            "fired after {waited:?}"
        );
    }

    #[test]
    fn a_wait_that_starts_while_the_idle_entry_is_dropped_is_seen() {
        // The idle entry comes due while the caller is not waiting and is dropped; the next
        // wait schedules a new one.
        let mut w = Watch::start(limits(None, Some(40), None)).unwrap().unwrap();
        w.enter_body();
        let (_flag, waker) = flag();
        assert!(w.check(&waker).is_none());
        w.progress();
        std::thread::sleep(Duration::from_millis(80));
        assert!(!w.shared.idle_scheduled.load(Ordering::SeqCst));
        let (err, _) = wait_fired(&mut w, Duration::from_secs(5));
        assert_eq!(err.unwrap().timeout_kind(), Some(TimeoutKind::Idle));
    }

    #[test]
    fn dropped_watches_are_compacted_away() {
        let dog = watchdog().unwrap();
        for _ in 0..1000 {
            drop(Watch::start(limits(Some(600_000), None, None)).unwrap());
        }
        let _w = Watch::start(limits(Some(600_000), None, None)).unwrap();
        let len = lock(&dog.queue).heap.len();
        // Other tests run concurrently and hold a few watches; 1000 dead ones must be gone.
        assert!(len < 200, "heap still holds {len} entries");
    }
}
