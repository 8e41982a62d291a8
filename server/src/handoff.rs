//! Handing a tokio worker's queue to another thread while this thread is busy for
//! long: a script past its time budget, a wait for a shard lock a script holds.
//!
//! tokio's `block_in_place(f)` moves the worker's core (its queue of tasks and its
//! place in the scheduler) to a thread of the blocking pool, runs `f` here, then
//! takes the core back if that thread has not picked it up yet. Calling it on every
//! script was the cost of a thread hand-off per EVAL (bench/README.md, "EVALSHA");
//! calling it only once a run has gone on for long needs a hand-off in the middle of
//! a run, which `block_in_place` does not offer (it takes the core back when `f`
//! returns). [`Midway`] builds one from it: it puts a marker task on this worker's
//! queue, then calls `block_in_place` with an `f` that waits (parked, [`MIDWAY_WAIT`]
//! at most) until the marker has run. On one worker only the core's new thread can
//! run it, so when `f` returns the core is gone and stays gone for the rest of the
//! run: the script goes on without it, and the connections queued there are served
//! by the other thread. With several workers an idle one could steal the marker
//! first, so a second marker checks afterwards: spawned on a thread that still has
//! its core it waits in the core's LIFO slot, where no other thread can take it, so
//! if it has not run [`CHECK_AFTER`] later, the hand-off is tried again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The longest [`Midway::step`] waits for the core's new thread to pick it up.
pub const MIDWAY_WAIT: Duration = Duration::from_millis(5);

/// How long the check's marker may take to run before the hand-off is tried again
/// (on a thread without its core it waits in the runtime's shared queue, which busy
/// workers look at only now and then).
pub const CHECK_AFTER: Duration = Duration::from_millis(10);

/// Whether this thread runs inside a multi-thread tokio runtime (where
/// `block_in_place` is allowed; not a current-thread runtime: tests, embedders).
fn on_multi_thread() -> bool {
    tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread)
}

/// Runs `f` (a wait) with this worker's queue handed to another thread for as long
/// as it takes (tokio's `block_in_place`), so that no connection waits behind it.
/// Cheap when this thread has already given its core away.
pub fn blocking<R>(f: impl FnOnce() -> R) -> R {
    if on_multi_thread() {
        tokio::task::block_in_place(f)
    } else {
        f()
    }
}

/// A marker task: set when it has run.
fn marker() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let set = Arc::clone(&flag);
    let thread = std::thread::current();
    tokio::spawn(async move {
        set.store(true, Ordering::Release);
        thread.unpark();
    });
    flag
}

/// A hand-off in the middle of a long computation on a worker thread (see the
/// module's text): [`Midway::step`], called now and then once the computation has
/// run past its budget, makes sure this worker's queue is served by another thread.
#[derive(Default)]
pub struct Midway {
    state: State,
}

#[derive(Default)]
enum State {
    /// Nothing tried yet.
    #[default]
    Idle,
    /// Tried; the check's marker, and when it was spawned.
    Checking(Arc<AtomicBool>, Instant),
    /// Handed off (or nothing to hand off: not a multi-thread runtime).
    Done,
}

impl Midway {
    /// A computation starting now: nothing handed off.
    pub fn new() -> Midway {
        Midway::default()
    }

    /// Hands this worker's queue to another thread, unless that is done already.
    pub fn step(&mut self) {
        match &self.state {
            State::Done => return,
            State::Checking(check, _) if check.load(Ordering::Acquire) => {
                self.state = State::Done;
                return;
            }
            State::Checking(_, since) if since.elapsed() < CHECK_AFTER => return,
            _ => {}
        }
        if !on_multi_thread() {
            self.state = State::Done;
            return;
        }
        let moved = marker();
        tokio::task::block_in_place(|| {
            let until = Instant::now() + MIDWAY_WAIT;
            while !moved.load(Ordering::Acquire) {
                let now = Instant::now();
                if now >= until {
                    break;
                }
                std::thread::park_timeout(until - now);
            }
        });
        self.state = State::Checking(marker(), Instant::now());
    }
}
