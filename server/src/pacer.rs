//! Pacing of a background save: it takes the CPU the request workers leave idle, and
//! more only as far as its memory budget requires.
//!
//! Redis's fork()ed child competes with the server for the CPU as an equal (and its
//! memory grows with every page the server touches). A save thread that does the same
//! on a core shared with a worker takes half of it: a worker that needed 45% of the
//! core is then at 90% of what it gets, and its queue, hence the clients' p99, grows
//! several times over (bench/bgsave.sh, 40K SET/s: p99 0.5 -> 2.2 ms with a save
//! paced to a fixed 25% duty cycle, because the scheduler's fairness also preempts the
//! worker for the save's slices).
//!
//! So the save runs in slices of [`Pacer::SLICE`] and, between slices, waits for a
//! *grant* from a helper thread that runs at `SCHED_IDLE` priority: the kernel runs that
//! helper only when no normal thread wants its CPU, so a grant means "the CPU is idle
//! now". The save itself stays a normal thread (an unprivileged thread can lower its
//! priority, never raise it back), and its slice is short, so a worker that wakes
//! during one waits at most that long.
//!
//! What a save costs in memory is the entries the live keyspace replaced in the shards
//! not written yet (the snapshot keeps them), which grows with the save's length. A
//! save that only takes idle CPU can be starved by saturated workers, so it also
//! watches allocated memory (jemalloc `stats.allocated`): past [`Pacer::RAMP`] of its
//! budget ([`Pacer::BUDGET_PCT`] percent more than at the start) it no longer waits for
//! grants alone but at most a pause that shrinks from [`Pacer::PAUSE`] times its slice
//! to nothing at the budget, where it runs at its fair share of the CPU.
//!
//! Where `SCHED_IDLE` is not available the helper does not start and the save paces
//! itself by time alone: [`Pacer::PAUSE`] times each slice, shrinking as memory grows.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

/// Nanoseconds background saves spent waiting between slices, process-wide
/// (metrics: `shoal_save_paced_seconds_total`).
static PACED_NS: AtomicU64 = AtomicU64::new(0);
/// Waits between slices, process-wide (`shoal_save_pauses_total`).
static PACES: AtomicU64 = AtomicU64::new(0);

/// How long background saves have waited for the CPU in all (seconds), and how many
/// times they waited, since the process started.
pub fn paced_totals() -> (f64, u64) {
    (
        PACED_NS.load(Ordering::Relaxed) as f64 / 1e9,
        PACES.load(Ordering::Relaxed),
    )
}

/// Paces the thread that created it; see the module docs. Not `Sync`: it belongs to
/// the save's thread.
pub struct Pacer {
    base: u64,
    budget: u64,
    idle: Option<IdleHelper>,
    state: std::cell::Cell<State>,
}

#[derive(Clone, Copy)]
struct State {
    /// When the current slice began.
    slice_start: Instant,
    /// When memory was last read.
    checked: Instant,
    /// Fraction of the memory budget used at the last reading.
    used: f64,
}

impl Pacer {
    /// Longest the save runs between two waits.
    pub const SLICE: Duration = Duration::from_micros(100);
    /// How often allocated memory is read (a jemalloc epoch advance).
    pub const CHECK: Duration = Duration::from_millis(10);
    /// Growth of allocated memory, in percent of what it was at the start, at which
    /// the save stops pausing.
    pub const BUDGET_PCT: u64 = 5;
    /// Fraction of the budget up to which the save, with the idle helper, waits for
    /// idle CPU up to [`Pacer::FLOOR_PAUSE`] per slice; past it the longest wait
    /// shrinks to nothing at the budget.
    pub const RAMP: f64 = 0.5;
    /// Longest wait for idle CPU per slice run, relative to the slice's length: the
    /// save's share of a CPU the workers keep busy is at least 1 / (1 + this), so it
    /// always finishes, even under a saturating load that allocates nothing.
    pub const FLOOR_PAUSE: f64 = 19.0;
    /// Without the idle helper: pause per slice run at the start, relative to the
    /// slice's length (a quarter of a CPU).
    pub const PAUSE: f64 = 3.0;
    /// Shortest pause, at or past the budget. Not zero: a worker that wants the CPU
    /// gets it after every slice rather than at the end of the scheduler's protected
    /// time slice (measured with a saturating SET load: p99 during the save 3.8 ms
    /// without pauses, 1.9 ms with these, for 7% instead of 5.5% more memory; a
    /// `sched_yield` instead starves the save and memory grows by 23%).
    pub const MIN_PAUSE: Duration = Duration::from_micros(20);

    /// A pacer for the calling thread, with the idle helper when it can run.
    pub fn new() -> Pacer {
        let base = allocated_bytes();
        let now = Instant::now();
        let idle = IdleHelper::start()
            .map_err(|e| tracing::debug!("save pacing by time only: {e}"))
            .ok();
        Pacer {
            base,
            budget: (base * Self::BUDGET_PCT / 100).max(8 << 20),
            idle,
            state: std::cell::Cell::new(State {
                slice_start: now,
                checked: now,
                used: 0.0,
            }),
        }
    }

    /// Called every few keys by the writer: returns at once inside a slice, else waits
    /// for idle CPU or for the pause the memory budget allows, whichever comes first.
    pub fn pace(&self) {
        let mut st = self.state.get();
        let now = Instant::now();
        let ran = now.duration_since(st.slice_start);
        if ran < Self::SLICE {
            return;
        }
        if now.duration_since(st.checked) >= Self::CHECK {
            self.check(&mut st, now);
        }
        let limit = self.pause(ran, st.used);
        match &self.idle {
            Some(idle) => {
                idle.request();
                idle.wait_grant(limit);
            }
            None => std::thread::sleep(limit),
        }
        let resumed = Instant::now();
        PACED_NS.fetch_add(
            resumed.duration_since(now).as_nanos() as u64,
            Ordering::Relaxed,
        );
        PACES.fetch_add(1, Ordering::Relaxed);
        st.slice_start = resumed;
        self.state.set(st);
    }

    /// Reads allocated memory into `st`.
    fn check(&self, st: &mut State, now: Instant) {
        let grown = allocated_bytes().saturating_sub(self.base);
        st.used = grown as f64 / self.budget as f64;
        st.checked = now;
    }

    /// The longest wait after a slice of `ran` with `used` of the memory budget spent.
    fn pause(&self, ran: Duration, used: f64) -> Duration {
        let (most, scale) = if self.idle.is_some() {
            // Grants end the wait early; this bounds it, so the save still progresses
            // (at FLOOR_PAUSE, a 5% share) while busy workers leave no idle CPU.
            (Self::FLOOR_PAUSE, (1.0 - used) / (1.0 - Self::RAMP))
        } else {
            (Self::PAUSE, 1.0 - used)
        };
        ran.mul_f64(most * scale.clamp(0.0, 1.0))
            .max(Self::MIN_PAUSE)
    }
}

/// Bytes allocated now (jemalloc `stats.allocated`, refreshed).
fn allocated_bytes() -> u64 {
    use tikv_jemalloc_ctl::{epoch, stats};
    let _ = epoch::advance();
    stats::allocated::read().unwrap_or(0) as u64
}

/// The `SCHED_IDLE` thread that grants the save its slices, and what they share.
struct IdleHelper {
    shared: Arc<Grants>,
    thread: Option<JoinHandle<()>>,
}

struct Grants {
    /// The save waits for a grant.
    requested: AtomicBool,
    /// A grant not consumed yet.
    granted: AtomicBool,
    stop: AtomicBool,
    /// The save's thread, to wake it.
    saver: Thread,
}

impl IdleHelper {
    /// Starts the helper; fails if it cannot run at idle priority.
    fn start() -> std::io::Result<IdleHelper> {
        let shared = Arc::new(Grants {
            requested: AtomicBool::new(false),
            granted: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            saver: std::thread::current(),
        });
        let (tx, rx) = std::sync::mpsc::channel();
        let g = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("shoal-bgsave-idle".into())
            .spawn(move || {
                let lowered = set_idle_priority();
                let ok = lowered.is_ok();
                let _ = tx.send(lowered);
                if ok {
                    g.serve();
                }
            })?;
        match rx.recv() {
            Ok(Ok(())) => Ok(IdleHelper {
                shared,
                thread: Some(thread),
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => {
                let _ = thread.join();
                Err(std::io::Error::other("the idle helper exited"))
            }
        }
    }

    /// Asks for a grant: the helper gives it once it gets the CPU.
    fn request(&self) {
        self.shared.requested.store(true, Ordering::Release);
        if let Some(t) = &self.thread {
            t.thread().unpark();
        }
    }

    /// Waits up to `limit` for a grant; true if one came (it is consumed).
    fn wait_grant(&self, limit: Duration) -> bool {
        let end = Instant::now() + limit;
        loop {
            if self.shared.granted.swap(false, Ordering::AcqRel) {
                return true;
            }
            let now = Instant::now();
            if now >= end {
                return false;
            }
            std::thread::park_timeout(end - now);
        }
    }
}

impl Grants {
    /// The helper's loop: each request is granted when this thread gets the CPU, which
    /// at idle priority means no normal thread wanted it.
    fn serve(&self) {
        while !self.stop.load(Ordering::Acquire) {
            std::thread::park();
            if self.requested.swap(false, Ordering::AcqRel) {
                self.granted.store(true, Ordering::Release);
                self.saver.unpark();
            }
        }
    }
}

impl Drop for IdleHelper {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

/// Moves the calling thread to the `SCHED_IDLE` policy.
#[cfg(target_os = "linux")]
fn set_idle_priority() -> std::io::Result<()> {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `param` is a valid, initialized sched_param that outlives the call; pid 0
    // names the calling thread, and the call reads nothing else of our memory.
    let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn set_idle_priority() -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "SCHED_IDLE is Linux-only",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helper_grants_when_the_cpu_is_idle() {
        let p = Pacer::new();
        let idle = p.idle.as_ref().expect("SCHED_IDLE is available on Linux");
        for _ in 0..20 {
            idle.request();
            // The helper runs as soon as a CPU has nothing else to do; seconds of
            // margin for a machine busy with other tests.
            assert!(idle.wait_grant(Duration::from_secs(5)), "no grant");
        }
        assert!(
            !idle.wait_grant(Duration::from_millis(1)),
            "one grant per request"
        );
    }

    #[test]
    fn pause_follows_the_budget() {
        let p = Pacer::new();
        let slice = Pacer::SLICE;
        let floor = slice.mul_f64(Pacer::FLOOR_PAUSE);
        assert_eq!(
            p.pause(slice, 0.0),
            floor,
            "idle CPU or a 5% share at the start"
        );
        assert_eq!(p.pause(slice, Pacer::RAMP), floor);
        let mid = p.pause(slice, (1.0 + Pacer::RAMP) / 2.0);
        assert!(mid > Pacer::MIN_PAUSE && mid < floor, "{mid:?}");
        assert_eq!(p.pause(slice, 1.0), Pacer::MIN_PAUSE);
        assert_eq!(p.pause(slice, 3.0), Pacer::MIN_PAUSE);
        let timed = Pacer {
            idle: None,
            ..Pacer::new()
        };
        assert_eq!(timed.pause(slice, 0.0), slice.mul_f64(Pacer::PAUSE));
        assert_eq!(timed.pause(slice, 1.0), Pacer::MIN_PAUSE);
    }

    #[test]
    fn helper_stops_with_the_pacer() {
        let p = Pacer::new();
        let helper = p
            .idle
            .as_ref()
            .and_then(|h| h.thread.as_ref())
            .map(|t| t.thread().id());
        assert!(helper.is_some());
        drop(p); // joins the helper: a hang here fails the test by timeout
    }
}
