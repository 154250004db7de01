//! Driving an HTTP/1.1 connection inside the task that uses it, and the relay waker that
//! absorbs the wake-ups the connection and the body send each other.
//!
//! The relay's atomics and lock go through [`sync`], which in this crate's unit tests makes
//! every access a step of an exhaustive interleaving test (`tests` below).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Wake, Waker};

use self::sync::{AtomicBool, Mutex};
use crate::rt::same_waker;

#[cfg(not(test))]
mod sync {
    pub(super) use std::sync::atomic::AtomicBool;

    /// `std`'s mutex, poisoning ignored (it guards a waker).
    #[derive(Debug, Default)]
    pub(super) struct Mutex<T>(std::sync::Mutex<T>);

    impl<T> Mutex<T> {
        pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, T> {
            self.0.lock().unwrap_or_else(|p| p.into_inner())
        }
    }
}

#[cfg(test)]
mod sync {
    pub(super) use super::interleave::{AtomicBool, Mutex};
}

/// An HTTP/1.1 connection's I/O future, driven by whichever task is using the connection.
///
/// hyper's connection future does the reading and writing. It is not spawned: the response
/// future polls it while waiting for the headers and the body polls it for each frame, so a
/// frame goes from the socket to the reader within one task, with no cross-task (on smol:
/// cross-thread) wake-up per frame. An idle pooled connection is not polled at all; the next
/// request to take it drives it again (and finds it closed if the server hung up meanwhile).
/// Dropping the driver closes the socket at once.
///
/// The connection and the reader wake each other (data handed over, "want more" signalled).
/// Within one poll those wake-ups are absorbed by [`Relay`]: the driver polls both again
/// instead of asking the executor to, which on tokio would cost a syscall (an eventfd write)
/// per wake-up.
pub(crate) struct ConnDriver {
    io: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    relay: Arc<Relay>,
    /// A waker for `relay`, made once.
    waker: Waker,
    /// The task waker last stored in `relay`.
    task: Option<Waker>,
    /// Poll the connection before `f`: set while what `f` waits for comes from the connection
    /// poll by poll (a stream's frames: one per poll, as hyper hands a body over one frame at a
    /// time), where polling `f` first finds nothing and only registers a waker.
    io_first: bool,
}

/// The waker the connection and the reader see: while the driver is polling them it only
/// notes a wake-up; otherwise it wakes the task that last polled the driver.
#[derive(Debug, Default)]
struct Relay {
    polling: AtomicBool,
    woken: AtomicBool,
    task: Mutex<Option<Waker>>,
}

impl Wake for Relay {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        if !self.polling.load(Ordering::SeqCst) {
            let task = self.task.lock().clone();
            if let Some(task) = task {
                task.wake();
            }
        }
    }
}

impl fmt::Debug for ConnDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnDriver")
            .field("running", &self.io.is_some())
            .finish()
    }
}

/// Rounds of polling within one call before handing a wake-up back to the executor.
const MAX_ROUNDS: usize = 4;

impl ConnDriver {
    pub(crate) fn new<F>(io: F) -> Self
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let relay = Arc::new(Relay::default());
        Self {
            io: Some(Box::pin(io)),
            waker: Waker::from(Arc::clone(&relay)),
            relay,
            task: None,
            io_first: false,
        }
    }

    /// Polls `f` (something the connection feeds) and, while it waits, the connection's I/O,
    /// again while they wake each other, until `f` is ready or both wait on the outside world.
    ///
    /// `f` goes first: when what it waits for has already arrived (a free connection, the rest
    /// of a frame the connection read earlier), the connection is not polled at all, and a
    /// connection poll is the expensive part of a request. Except while `f` keeps finding
    /// nothing until the connection is polled (a body's frames, handed over one per poll): then
    /// the connection goes first, and `f` is polled once, when its frame is there.
    pub(crate) fn poll_with<T>(
        &mut self,
        cx: &mut Context<'_>,
        mut f: impl FnMut(&mut Context<'_>) -> Poll<T>,
    ) -> Poll<T> {
        if !self
            .task
            .as_ref()
            .is_some_and(|w| same_waker(w, cx.waker()))
        {
            *self.relay.task.lock() = Some(cx.waker().clone());
            self.task = Some(cx.waker().clone());
        }
        let mut icx = Context::from_waker(&self.waker);
        self.relay.polling.store(true, Ordering::SeqCst);
        if self.io_first {
            self.relay.woken.store(false, Ordering::SeqCst);
            poll_io(&mut self.io, &self.relay, &mut icx);
            // Kept up while the connection had something for `f` (it woke it).
            self.io_first = self.relay.woken.load(Ordering::SeqCst);
        }
        let mut result = Poll::Pending;
        for round in 0..MAX_ROUNDS {
            self.relay.woken.store(false, Ordering::SeqCst);
            result = f(&mut icx);
            if result.is_ready() || self.io.is_none() {
                break;
            }
            poll_io(&mut self.io, &self.relay, &mut icx);
            if !self.relay.woken.load(Ordering::SeqCst) {
                break;
            }
            if round == 0 {
                // `f` found nothing until the connection was polled: next time, poll it first.
                self.io_first = true;
            }
        }
        self.relay.polling.store(false, Ordering::SeqCst);
        // A wake-up after the last round (or past the round limit) must reach the task.
        if result.is_pending() && self.relay.woken.swap(false, Ordering::SeqCst) {
            cx.waker().wake_by_ref();
        }
        result
    }

    /// A response was read to its end: lets the connection reach its idle state now (hyper
    /// then checks the socket once more and asks for the next request) rather than at the
    /// start of the next request, and forgets the task, which is done with the connection.
    pub(crate) fn settle(&mut self) {
        *self.relay.task.lock() = None;
        self.task = None;
        self.io_first = false;
        if let Some(io) = &mut self.io {
            // Wake-ups from here on reach no task: the next user polls the connection anyway.
            if io
                .as_mut()
                .poll(&mut Context::from_waker(&self.waker))
                .is_ready()
            {
                self.io = None;
            }
        }
    }

    /// Runs `f`, which hands the connection work (a request), without passing on the wake-up
    /// that causes: the caller polls the connection next, through
    /// [`poll_with`](Self::poll_with).
    pub(crate) fn handing_over<R>(&self, f: impl FnOnce() -> R) -> R {
        self.relay.polling.store(true, Ordering::SeqCst);
        let r = f();
        self.relay.polling.store(false, Ordering::SeqCst);
        r
    }
}

/// Polls the connection's I/O once; when it ends, notes a wake-up so that what it delivered
/// shows through what the driver polls next.
fn poll_io(
    io: &mut Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    relay: &Relay,
    icx: &mut Context<'_>,
) {
    if let Some(running) = io.as_mut()
        && running.as_mut().poll(icx).is_ready()
    {
        *io = None;
        relay.woken.store(true, Ordering::SeqCst);
    }
}

/// A small stateless model checker for two threads (test builds only).
///
/// Every access to a shared [`AtomicBool`] or [`Mutex`] of this module is a *step*: a thread
/// taking part in [`explore`] stops there until the scheduler lets it go on, and the scheduler
/// runs one thread at a time. [`explore`] runs a scenario again and again, each time with a
/// different choice of which thread takes the next step, until every interleaving of the steps
/// has run (depth-first, each run replaying the choices of the last one up to the point where
/// it takes another branch). The std atomics behind the steps are sequentially consistent
/// (every one the relay uses is `SeqCst`), so the interleavings are all the executions there are.
/// Threads that do not take part (other tests) pass through steps unhindered.
#[cfg(test)]
mod interleave {
    use std::cell::RefCell;
    use std::sync::atomic::Ordering;
    use std::sync::{Arc, Condvar, MutexGuard};

    #[derive(Debug, Default)]
    struct State {
        /// The thread allowed to run, if any.
        running: Option<usize>,
        waiting: [bool; 2],
        done: [bool; 2],
        /// The choices of the run to replay first.
        prefix: Vec<usize>,
        /// Each choice made: (thread chosen, threads that could have been).
        decisions: Vec<(usize, Vec<usize>)>,
    }

    #[derive(Debug, Default)]
    struct Scheduler {
        state: std::sync::Mutex<State>,
        turn: Condvar,
    }

    thread_local! {
        static CURRENT: RefCell<Option<(Arc<Scheduler>, usize)>> = const { RefCell::new(None) };
    }

    impl Scheduler {
        fn lock(&self) -> MutexGuard<'_, State> {
            self.state.lock().unwrap_or_else(|p| p.into_inner())
        }

        /// Lets the next thread run once every thread still running has reached a step.
        fn pick(&self, st: &mut State) {
            if st.running.is_some() || (0..2).any(|i| !st.done[i] && !st.waiting[i]) {
                return;
            }
            let enabled: Vec<usize> = (0..2).filter(|&i| st.waiting[i]).collect();
            let Some(&first) = enabled.first() else {
                return;
            };
            let k = st.decisions.len();
            let chosen = st.prefix.get(k).copied().unwrap_or(first);
            assert!(enabled.contains(&chosen), "a replay diverged");
            st.decisions.push((chosen, enabled));
            st.waiting[chosen] = false;
            st.running = Some(chosen);
            self.turn.notify_all();
        }

        fn step(&self, id: usize) {
            let mut st = self.lock();
            st.waiting[id] = true;
            if st.running == Some(id) {
                st.running = None;
            }
            self.pick(&mut st);
            while st.running != Some(id) {
                st = self.turn.wait(st).unwrap_or_else(|p| p.into_inner());
            }
        }

        fn finish(&self, id: usize) {
            let mut st = self.lock();
            st.done[id] = true;
            st.running = None;
            self.pick(&mut st);
        }
    }

    /// A step, if the calling thread takes part in [`explore`].
    fn step() {
        let current = CURRENT.with(|c| c.borrow().clone());
        if let Some((scheduler, id)) = current {
            scheduler.step(id);
        }
    }

    /// `std::sync::atomic::AtomicBool` whose every access is a step.
    #[derive(Debug, Default)]
    pub(super) struct AtomicBool(std::sync::atomic::AtomicBool);

    impl AtomicBool {
        pub(super) fn load(&self, o: Ordering) -> bool {
            step();
            self.0.load(o)
        }
        pub(super) fn store(&self, v: bool, o: Ordering) {
            step();
            self.0.store(v, o);
        }
        pub(super) fn swap(&self, v: bool, o: Ordering) -> bool {
            step();
            self.0.swap(v, o)
        }
    }

    /// A mutex whose locking is a step (held across no other step in the relay).
    #[derive(Debug, Default)]
    pub(super) struct Mutex<T>(std::sync::Mutex<T>);

    impl<T> Mutex<T> {
        pub(super) fn lock(&self) -> MutexGuard<'_, T> {
            step();
            self.0.lock().unwrap_or_else(|p| p.into_inner())
        }
    }

    /// Runs `scenario` under every interleaving of the steps of its two threads and returns
    /// how many runs that took. `scenario` makes a fresh state and returns the two threads'
    /// bodies and a check of the final state; every run calls it once.
    pub(super) fn explore<S, A, B, C>(scenario: S) -> usize
    where
        S: Fn() -> (A, B, C),
        A: FnOnce() + Send + 'static,
        B: FnOnce() + Send + 'static,
        C: FnOnce(),
    {
        let mut prefix = Vec::new();
        let mut runs = 0;
        loop {
            runs += 1;
            let scheduler = Arc::new(Scheduler::default());
            scheduler.lock().prefix = std::mem::take(&mut prefix);
            let (a, b, check) = scenario();
            let spawn = |id: usize, body: Box<dyn FnOnce() + Send>| {
                let scheduler = Arc::clone(&scheduler);
                std::thread::spawn(move || {
                    CURRENT.with(|c| *c.borrow_mut() = Some((Arc::clone(&scheduler), id)));
                    step();
                    body();
                    CURRENT.with(|c| *c.borrow_mut() = None);
                    scheduler.finish(id);
                })
            };
            let threads = [spawn(0, Box::new(a)), spawn(1, Box::new(b))];
            for t in threads {
                t.join().expect("a thread of the scenario panicked");
            }
            check();
            // The next run: the deepest choice with an alternative not taken yet.
            let decisions = std::mem::take(&mut scheduler.lock().decisions);
            let next = decisions
                .iter()
                .enumerate()
                .rev()
                .find_map(|(k, (chosen, enabled))| {
                    let alt = enabled.iter().find(|&&t| t > *chosen)?;
                    Some((k, *alt))
                });
            let Some((k, alt)) = next else {
                return runs;
            };
            prefix = decisions[..k].iter().map(|(c, _)| *c).collect();
            prefix.push(alt);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::interleave::{self, AtomicBool};
    use super::*;

    /// A task waker that counts its wake-ups.
    #[derive(Debug, Default)]
    struct Task(std::sync::atomic::AtomicUsize);

    impl Wake for Task {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    impl Task {
        fn woken(&self) -> bool {
            self.0.load(Ordering::SeqCst) > 0
        }
    }

    /// The connection and the body in miniature: the peer's bytes land in `socket` (and the
    /// reactor wakes whoever waits on the socket); the connection's I/O moves them to the
    /// body's `data` and wakes the body's waker; the body is ready once `data` is set. The
    /// connection and the body wait through the relay's waker, as hyper's do.
    #[derive(Default)]
    struct Model {
        socket: AtomicBool,
        data: AtomicBool,
        /// The waker the socket wakes (the one the connection's I/O last polled with).
        socket_waker: std::sync::Mutex<Option<Waker>>,
    }

    impl Model {
        fn io(self: Arc<Self>) -> impl Future<Output = ()> + Send {
            std::future::poll_fn(move |cx| {
                *self.socket_waker.lock().unwrap() = Some(cx.waker().clone());
                if self.socket.load(Ordering::SeqCst) && !self.data.load(Ordering::SeqCst) {
                    self.data.store(true, Ordering::SeqCst);
                    // hyper wakes the body's waker: the relay's, as the body polls with it.
                    cx.waker().wake_by_ref();
                }
                Poll::Pending
            })
        }

        /// The peer sends: the reactor (another thread) marks the socket readable and wakes.
        fn peer_sends(&self) {
            self.socket.store(true, Ordering::SeqCst);
            let waker = self.socket_waker.lock().unwrap().clone();
            if let Some(w) = waker {
                w.wake();
            }
        }
    }

    /// Every interleaving of one `poll_with` (the body waiting for data) with the peer's bytes
    /// arriving on another thread: the poll either returns the data, or the task's waker is
    /// woken, so that the next poll returns it. No wake-up is lost.
    fn check_no_lost_wakeup(migrate: bool) -> usize {
        interleave::explore(|| {
            let model = Arc::new(Model::default());
            let driver = Arc::new(std::sync::Mutex::new(ConnDriver::new(
                Arc::clone(&model).io(),
            )));
            let (first, second) = (Arc::new(Task::default()), Arc::new(Task::default()));
            let poll = {
                let model = Arc::clone(&model);
                let driver = Arc::clone(&driver);
                move |task: &Arc<Task>| {
                    let waker = Waker::from(Arc::clone(task));
                    let mut cx = Context::from_waker(&waker);
                    driver.lock().unwrap().poll_with(&mut cx, |_| {
                        if model.data.load(Ordering::SeqCst) {
                            Poll::Ready(())
                        } else {
                            Poll::Pending
                        }
                    })
                }
            };
            // Before the race: the body has waited once already (registering the socket),
            // on the same task or, with `migrate`, on a task it has since moved away from.
            assert!(poll(&first).is_pending());
            let waiting = if migrate {
                Arc::clone(&second)
            } else {
                Arc::clone(&first)
            };
            let result = Arc::new(std::sync::Mutex::new(None));
            let body = {
                let (poll, waiting, result) =
                    (poll.clone(), Arc::clone(&waiting), Arc::clone(&result));
                move || *result.lock().unwrap() = Some(poll(&waiting))
            };
            let peer = {
                let model = Arc::clone(&model);
                move || model.peer_sends()
            };
            let check = move || match result.lock().unwrap().take().unwrap() {
                Poll::Ready(()) => {}
                Poll::Pending => {
                    assert!(
                        waiting.woken(),
                        "lost wake-up: pending and the task never woken"
                    );
                    assert!(
                        poll(&waiting).is_ready(),
                        "woken, but the data is not there"
                    );
                }
            };
            (body, peer, check)
        })
    }

    #[test]
    fn no_lost_wakeup_while_the_body_polls() {
        let runs = check_no_lost_wakeup(false);
        // Every interleaving ran (1344 today): far more than a timing-based test would see.
        assert!(runs > 100, "{runs} interleavings");
    }

    #[test]
    fn no_lost_wakeup_when_the_body_moved_to_another_task() {
        let runs = check_no_lost_wakeup(true);
        assert!(runs > 100, "{runs} interleavings");
    }
}
