//! What counting one GET costs: the per-thread [`Counters`] against shared atomics
//! (what dispatch did before: `fetch_add` on counters every worker thread writes),
//! on 1 thread and on every core at once.
//!
//! `cargo run --release -p shoal-server --example counters_cost [millions]`

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Instant;

use shoal_server::counters::Counters;

/// Rows of the command table, roughly.
const ROWS: usize = 64;

/// The former layout: server-wide atomics next to each other, commandstats in an
/// array, all shared by every thread.
struct Shared {
    commands: AtomicU64,
    hits: AtomicU64,
    calls: Vec<AtomicU64>,
    usec: Vec<AtomicU64>,
}

fn shared_atomics(s: &Shared, n: u64) {
    for i in 0..n {
        let idx = black_box((i % 4) as usize);
        s.hits.fetch_add(1, Ordering::Relaxed);
        s.calls[idx].fetch_add(1, Ordering::Relaxed);
        s.usec[idx].fetch_add(black_box(1), Ordering::Relaxed);
        s.commands.fetch_add(1, Ordering::Relaxed);
    }
}

fn per_thread(c: &Counters, n: u64) {
    for i in 0..n {
        let idx = black_box((i % 4) as usize);
        c.local().keyspace(true);
        c.local().command(
            idx,
            black_box(1),
            false,
            &shoal_server::counters::Tally::default(),
        );
    }
}

/// Nanoseconds per GET counted with `threads` threads each counting `n`.
fn run(threads: usize, n: u64, f: impl Fn(u64) + Send + Sync + 'static) -> f64 {
    let f = Arc::new(f);
    let barrier = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (f, b) = (Arc::clone(&f), Arc::clone(&barrier));
            std::thread::spawn(move || {
                b.wait();
                let t = Instant::now();
                f(n);
                t.elapsed().as_secs_f64()
            })
        })
        .collect();
    barrier.wait();
    let secs: f64 = handles.into_iter().map(|h| h.join().unwrap()).sum::<f64>();
    secs / threads as f64 / n as f64 * 1e9
}

fn main() {
    let millions: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let n = millions * 1_000_000;
    let cores = std::thread::available_parallelism().map_or(2, |c| c.get());
    println!("ns per GET counted (keyspace hit + commandstats + total), {millions}M per thread");
    for threads in [1, cores] {
        for round in 0..3 {
            let s = Arc::new(Shared {
                commands: AtomicU64::new(0),
                hits: AtomicU64::new(0),
                calls: (0..ROWS).map(|_| AtomicU64::new(0)).collect(),
                usec: (0..ROWS).map(|_| AtomicU64::new(0)).collect(),
            });
            let c = Arc::new(Counters::new(ROWS));
            let (s2, c2) = (Arc::clone(&s), Arc::clone(&c));
            let old = run(threads, n, move |n| shared_atomics(&s2, n));
            let new = run(threads, n, move |n| per_thread(&c2, n));
            assert_eq!(s.commands.load(Ordering::Relaxed), n * threads as u64);
            assert_eq!(c.totals().commands, n * threads as u64);
            println!(
                "threads {threads} round {round}: shared atomics {old:6.2}  per-thread {new:6.2}"
            );
        }
    }
}
