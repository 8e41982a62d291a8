//! `cachecmp`: Shoal's in-process cache (`shoal_storage::cache::Cache`) against the
//! crates a Rust engineer would pick instead, moka (`sync::Cache`) and quick_cache
//! (`sync::Cache`), each with a byte budget (a weigher of key + value bytes for the
//! other two; Shoal counts its entries' own sizes, see the cache's docs).
//!
//! For each cache: the hit ratio of a cache-aside replay (get, then insert on a
//! miss) of Zipf-distributed keys, operations per second of the same replay on 1
//! and 2 threads (each thread its own stream), and the bytes each entry costs (the
//! process's allocations, counted by this binary's allocator, over the entries held
//! after the fill).

#[path = "../zipf.rs"]
mod zipf;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use rand::rngs::SmallRng;
use rand::SeedableRng;
use zipf::Zipf;

/// Counts the bytes the process has allocated (requested sizes).
struct Counting;

static ALLOCATED: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator unchanged; the counter is plain arithmetic.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(l.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract for `l` carries over.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        ALLOCATED.fetch_sub(l.size() as isize, Ordering::Relaxed);
        // SAFETY: `p` came from `alloc` with `l`.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCATED.fetch_add(n as isize - l.size() as isize, Ordering::Relaxed);
        // SAFETY: `p` came from `alloc` with `l`; `n` is valid per the caller.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[derive(Parser, Debug)]
#[command(name = "cachecmp", version)]
struct Args {
    /// Distinct keys.
    #[arg(long, default_value_t = 1_000_000)]
    keys: usize,
    /// Zipf exponent.
    #[arg(long, default_value_t = 0.99)]
    zipf: f64,
    /// Value size in bytes.
    #[arg(long, default_value_t = 100)]
    value_size: usize,
    /// The budget, bytes.
    #[arg(long, default_value_t = 16 << 20)]
    max_bytes: u64,
    /// Requests per thread.
    #[arg(long, default_value_t = 2_000_000)]
    requests: usize,
}

/// The three caches behind one face.
trait Bench: Send + Sync {
    fn name(&self) -> &'static str;
    /// Gets `key`; on a miss inserts `value`. True on a hit.
    fn access(&self, key: &[u8], value: &[u8]) -> bool;
    fn entries(&self) -> usize;
}

struct Shoal(shoal_storage::cache::Cache);

impl Bench for Shoal {
    fn name(&self) -> &'static str {
        "shoal Cache (allkeys-tinylfu)"
    }
    fn access(&self, key: &[u8], value: &[u8]) -> bool {
        if self.0.get(key).is_some() {
            return true;
        }
        self.0.set(key, value, None);
        false
    }
    fn entries(&self) -> usize {
        self.0.len()
    }
}

struct Moka(moka::sync::Cache<Vec<u8>, Arc<[u8]>>);

impl Bench for Moka {
    fn name(&self) -> &'static str {
        "moka sync::Cache"
    }
    fn access(&self, key: &[u8], value: &[u8]) -> bool {
        if self.0.get(key).is_some() {
            return true;
        }
        self.0.insert(key.to_vec(), Arc::from(value));
        false
    }
    fn entries(&self) -> usize {
        self.0.run_pending_tasks();
        self.0.entry_count() as usize
    }
}

#[derive(Clone)]
struct Weight;

impl quick_cache::Weighter<Vec<u8>, Arc<[u8]>> for Weight {
    fn weight(&self, k: &Vec<u8>, v: &Arc<[u8]>) -> u64 {
        (k.len() + v.len()) as u64
    }
}

struct Quick(quick_cache::sync::Cache<Vec<u8>, Arc<[u8]>, Weight>);

impl Bench for Quick {
    fn name(&self) -> &'static str {
        "quick_cache sync::Cache"
    }
    fn access(&self, key: &[u8], value: &[u8]) -> bool {
        if self.0.get(key).is_some() {
            return true;
        }
        self.0.insert(key.to_vec(), Arc::from(value));
        false
    }
    fn entries(&self) -> usize {
        self.0.len()
    }
}

fn build(which: usize, args: &Args, max: u64) -> Box<dyn Bench> {
    match which {
        0 => Box::new(Shoal(shoal_storage::cache::Cache::new(
            shoal_storage::cache::CacheConfig {
                max_bytes: max,
                ..Default::default()
            },
        ))),
        1 => Box::new(Moka(
            moka::sync::Cache::builder()
                .max_capacity(max)
                .weigher(|k: &Vec<u8>, v: &Arc<[u8]>| (k.len() + v.len()) as u32)
                .build(),
        )),
        _ => {
            // quick_cache sizes its shards from an estimate of the item count.
            let items = (max / (args.value_size as u64 + 12)) as usize;
            Box::new(Quick(quick_cache::sync::Cache::with_weighter(
                items, max, Weight,
            )))
        }
    }
}

/// Replays `requests` Zipf accesses from `seed` against `cache`: (hits, requests).
fn replay(cache: &dyn Bench, zipf: &Zipf, args: &Args, seed: u64, requests: usize) -> (u64, u64) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let value = vec![b'v'; args.value_size];
    let mut key = Vec::with_capacity(16);
    let mut hits = 0;
    for _ in 0..requests {
        let k = zipf::spread(zipf.sample(&mut rng), args.keys);
        key.clear();
        key.extend_from_slice(b"key:");
        key.extend_from_slice(k.to_string().as_bytes());
        hits += u64::from(cache.access(&key, &value));
    }
    (hits, requests as u64)
}

fn main() {
    let args = Args::parse();
    let zipf = Arc::new(Zipf::new(args.keys, args.zipf));
    println!(
        "# cachecmp: {} keys, Zipf {}, values {} B, budget {} B, {} requests per thread",
        args.keys, args.zipf, args.value_size, args.max_bytes, args.requests
    );
    // Pass 1 at the nominal budget (which each cache counts its own way), pass 2 with
    // moka's and quick_cache's budgets scaled so that their real allocations match
    // Shoal's of pass 1 (the same memory for all three).
    let mut shoal_real = 0isize;
    for pass in 0..2 {
        println!(
            "## {}",
            if pass == 0 {
                "nominal budget"
            } else {
                "the same real memory as Shoal's"
            }
        );
        for which in 0..3 {
            let budget = if pass == 0 || which == 0 {
                args.max_bytes
            } else {
                let real = measure(which, &args, &zipf, args.max_bytes).2;
                (args.max_bytes as f64 * shoal_real as f64 / real as f64) as u64
            };
            let (hits, n, bytes, entries, name) = measure(which, &args, &zipf, budget);
            if which == 0 && pass == 0 {
                shoal_real = bytes;
            }
            if pass == 1 && which == 0 {
                continue;
            }
            let rates = if pass == 0 {
                throughput(which, &args, &zipf)
            } else {
                (0.0, 0.0)
            };
            println!(
                "{name:<30} budget {budget:>9}  hit ratio {:.4}  entries {entries:>8}  bytes/entry {:>6.1}  real MB {:>6.1}  ops/s 1 thread {:>10.0}  2 threads {:>10.0}",
                hits as f64 / n as f64,
                bytes as f64 / entries as f64,
                bytes as f64 / 1048576.0,
                rates.0,
                rates.1
            );
        }
    }
}

/// One thread's replay, the first half warming up: (hits, scored, bytes allocated,
/// entries, name).
fn measure(
    which: usize,
    args: &Args,
    zipf: &Zipf,
    budget: u64,
) -> (u64, u64, isize, usize, &'static str) {
    let before = ALLOCATED.load(Ordering::Relaxed);
    let cache = build(which, args, budget);
    replay(&*cache, zipf, args, 1, args.requests / 2);
    let (hits, n) = replay(&*cache, zipf, args, 2, args.requests / 2);
    let entries = cache.entries().max(1);
    let bytes = ALLOCATED.load(Ordering::Relaxed) - before;
    (hits, n, bytes, entries, cache.name())
}

/// Operations per second of the replay on 1 and 2 threads (a fresh cache each).
fn throughput(which: usize, args: &Args, zipf: &Arc<Zipf>) -> (f64, f64) {
    let mut rates = Vec::new();
    for threads in [1usize, 2] {
        let cache: Arc<dyn Bench> = Arc::from(build(which, args, args.max_bytes));
        let started = Instant::now();
        std::thread::scope(|s| {
            for t in 0..threads {
                let (cache, zipf) = (Arc::clone(&cache), Arc::clone(zipf));
                s.spawn(move || replay(&*cache, &zipf, args, 10 + t as u64, args.requests));
            }
        });
        rates.push((threads * args.requests) as f64 / started.elapsed().as_secs_f64());
    }
    (rates[0], rates[1])
}
