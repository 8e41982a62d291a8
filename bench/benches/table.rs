//! The keyspace as the server uses it, against `flurry` (a lock-free concurrent
//! hash map, port of Java's ConcurrentHashMap) as the baseline. These are the
//! measurements behind DESIGN.md decisions 3 ("sharded, hash computed once, a
//! short lock per shard") and 4 ("copy-on-write at segment granularity").
//!
//! * `table_get`, `table_insert`: one thread, 100,000 keys of 16 bytes with
//!   32-byte values preloaded; 1000 operations per iteration over the keys in
//!   a fixed random order. Shoal: `Db::hash`, `Db::lock`, then `Shard::get` or
//!   `Shard::insert` of an `Entry::new_str` (overwriting, as workload c does).
//!   flurry: `HashMap<Vec<u8>, Vec<u8>>`, `pin()` then `get` / `insert` (which
//!   allocates the key and the value, as a map of owned bytes must).
//!   `flurry_one_pin_per_batch` pins once per 1000 operations instead (as a
//!   server could per pipelined batch), to separate the epoch guard's cost
//!   from the map's.
//! * `table_mixed_2threads`: two threads at once, each running its own random
//!   order, 1 insert then 10 gets (the reference workloads' SET:GET 1:10), a
//!   fixed 1000 operations per thread per iteration; wall time from spawning
//!   to joining both (`iter_custom`). On a shared 2-core machine this one is
//!   the noisiest.
//! * `cow_clone_table`: what the first write after a snapshot costs, i.e.
//!   `Arc::make_mut` cloning a table that a snapshot shares (cloning copies the
//!   buckets and bumps each entry's reference count). Measured for a table of
//!   `SHARD_TARGET_KEYS`, 64K and 1M entries; dropping the copy is not timed.
//!   This is why shards are sized for ~32K keys at `capacity` and why a shard
//!   keeps its entries in segments of ~4-8K (the unit that is copied).
//!
//! Run: `cargo bench -p shoal-bench --bench table`. Under `cargo test`
//! (criterion's test mode, each routine once) the 1M-entry table is shrunk to
//! 128K entries so the test run stays quick.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use shoal_storage::keyspace::SHARD_TARGET_KEYS;
use shoal_storage::{Db, Entry, Keyspace, KeyspaceConfig, Table};

/// Keys preloaded for the get/insert benchmarks.
const KEYS: usize = 100_000;
/// Operations per measured iteration (per thread in the 2-thread run).
const BATCH: usize = 1000;
/// Unix ms passed as "now" (no key has a TTL, so it only feeds the access clock).
const NOW: i64 = 1_700_000_000_000;

type Flurry = flurry::HashMap<Vec<u8>, Vec<u8>>;

/// True when criterion measures (`cargo bench`), false in its test mode.
fn measuring() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test")
}

/// Key number `i`: 16 bytes.
fn key(i: usize) -> [u8; 16] {
    let mut k = [0u8; 16];
    k.copy_from_slice(format!("key:{i:012}").as_bytes());
    k
}

/// Value number `i`: 32 bytes.
fn value(i: usize) -> [u8; 32] {
    let mut v = *b"value-0000000000-abcdefghijklmno";
    v[6..16].copy_from_slice(format!("{i:010}").as_bytes());
    v
}

/// A fixed pseudo-random permutation of `0..n` (xorshift, Fisher-Yates).
fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut x = seed | 1;
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        order.swap(i, (x % (i as u64 + 1)) as usize);
    }
    order
}

struct Data {
    keys: Vec<[u8; 16]>,
    values: Vec<[u8; 32]>,
}

impl Data {
    fn new(n: usize) -> Data {
        Data {
            keys: (0..n).map(key).collect(),
            values: (0..n).map(value).collect(),
        }
    }
}

/// A keyspace laid out as the server lays it out for `capacity = keys`.
fn keyspace(data: &Data, shards: usize) -> Keyspace {
    let ks = Keyspace::new(KeyspaceConfig {
        databases: 1,
        capacity: data.keys.len(),
        shards,
    });
    for (k, v) in data.keys.iter().zip(&data.values) {
        shoal_insert(ks.db(0), k, v);
    }
    assert_eq!(ks.db(0).len(), data.keys.len());
    ks
}

fn flurry_map(data: &Data) -> Flurry {
    let map = Flurry::with_capacity(data.keys.len());
    for (k, v) in data.keys.iter().zip(&data.values) {
        flurry_insert(&map, k, v);
    }
    assert_eq!(map.len(), data.keys.len());
    map
}

#[inline]
fn shoal_get(db: &Db, k: &[u8]) -> usize {
    let h = db.hash(k);
    let mut shard = db.lock(h);
    shard
        .get(h, k, NOW)
        .and_then(Entry::as_str)
        .map_or(0, <[u8]>::len)
}

#[inline]
fn shoal_insert(db: &Db, k: &[u8], v: &[u8]) {
    let h = db.hash(k);
    let entry = Entry::new_str(k, v, None);
    let old = db.lock(h).insert(h, entry, NOW);
    drop(old); // outside the lock, as the server does
}

#[inline]
fn flurry_get(map: &Flurry, k: &[u8]) -> usize {
    map.pin().get(k).map_or(0, Vec::len)
}

#[inline]
fn flurry_insert(map: &Flurry, k: &[u8], v: &[u8]) {
    map.pin().insert(k.to_vec(), v.to_vec());
}

/// Runs `op` on the next `BATCH` keys of `order`, wrapping around.
#[inline]
fn batch(order: &[usize], pos: &mut usize, mut op: impl FnMut(usize)) {
    for _ in 0..BATCH {
        op(order[*pos]);
        *pos += 1;
        if *pos == order.len() {
            *pos = 0;
        }
    }
}

/// 1 insert then 10 gets, `BATCH * iters` operations in all.
#[inline]
fn mixed(order: &[usize], iters: u64, get: impl Fn(usize) -> usize, insert: impl Fn(usize)) {
    let mut pos = 0;
    let mut hits = 0;
    for _ in 0..iters {
        batch(order, &mut pos, |i| {
            if i % 11 == 0 {
                insert(i);
            } else {
                hits += get(i);
            }
        });
    }
    black_box(hits);
}

fn single_thread(c: &mut Criterion) {
    let data = Data::new(KEYS);
    let ks = keyspace(&data, 0);
    let db = ks.db(0);
    let map = flurry_map(&data);
    let order = shuffled(KEYS, 0x5eed);
    let (keys, values) = (&data.keys, &data.values);

    let mut group = c.benchmark_group("table_get");
    group.throughput(Throughput::Elements(BATCH as u64));
    let mut pos = 0;
    group.bench_function("shoal", |b| {
        b.iter(|| {
            batch(&order, &mut pos, |i| {
                assert_eq!(shoal_get(db, &keys[i]), 32)
            })
        })
    });
    group.bench_function("flurry", |b| {
        b.iter(|| {
            batch(&order, &mut pos, |i| {
                assert_eq!(flurry_get(&map, &keys[i]), 32)
            })
        })
    });
    group.bench_function("flurry_one_pin_per_batch", |b| {
        b.iter(|| {
            let map = map.pin();
            batch(&order, &mut pos, |i| {
                assert_eq!(map.get(&keys[i][..]).map_or(0, Vec::len), 32)
            })
        })
    });
    group.finish();

    let mut group = c.benchmark_group("table_insert");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("shoal", |b| {
        b.iter(|| batch(&order, &mut pos, |i| shoal_insert(db, &keys[i], &values[i])))
    });
    group.bench_function("flurry", |b| {
        b.iter(|| {
            batch(&order, &mut pos, |i| {
                flurry_insert(&map, &keys[i], &values[i])
            })
        })
    });
    group.bench_function("flurry_one_pin_per_batch", |b| {
        b.iter(|| {
            let map = map.pin();
            batch(&order, &mut pos, |i| {
                map.insert(keys[i].to_vec(), values[i].to_vec());
            })
        })
    });
    group.finish();
    assert_eq!((db.len(), map.len()), (KEYS, KEYS));
}

fn two_threads(c: &mut Criterion) {
    let data = Data::new(KEYS);
    let ks = keyspace(&data, 0);
    let db = ks.db(0);
    let map = flurry_map(&data);
    let orders = [shuffled(KEYS, 0x5eed), shuffled(KEYS, 0xfeed)];
    let (keys, values) = (&data.keys, &data.values);

    let mut group = c.benchmark_group("table_mixed_2threads");
    group.throughput(Throughput::Elements(2 * BATCH as u64));
    group.bench_function("shoal", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            std::thread::scope(|s| {
                for order in &orders {
                    s.spawn(move || {
                        mixed(
                            order,
                            iters,
                            |i| shoal_get(db, &keys[i]),
                            |i| shoal_insert(db, &keys[i], &values[i]),
                        )
                    });
                }
            });
            start.elapsed()
        })
    });
    group.bench_function("flurry", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            std::thread::scope(|s| {
                for order in &orders {
                    let map = &map;
                    s.spawn(move || {
                        mixed(
                            order,
                            iters,
                            |i| flurry_get(map, &keys[i]),
                            |i| flurry_insert(map, &keys[i], &values[i]),
                        )
                    });
                }
            });
            start.elapsed()
        })
    });
    group.finish();
}

fn cow_clone(c: &mut Criterion) {
    let big = if measuring() { 1 << 20 } else { 1 << 17 };
    let mut group = c.benchmark_group("cow_clone_table");
    // A 1M-entry clone takes tens of ms: run each sample's iterations flat.
    group.sampling_mode(SamplingMode::Flat);
    for n in [SHARD_TARGET_KEYS, 1 << 16, big] {
        let data = Data::new(n);
        let ks = keyspace(&data, 1);
        drop(data);
        // One table holding the shard's entries (a shard splits into segments of
        // ~4-8K entries; this measures what one table of `n` costs to copy).
        let db = ks.db(0);
        let mut one = Table::with_capacity(n);
        for e in db.lock_index(0).iter() {
            let h = db.hash(e.key());
            one.insert_unique(h, e.clone(), |x| db.hash(x.key()));
        }
        let table: Arc<Table> = Arc::new(one);
        assert_eq!(table.len(), n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &table, |b, table| {
            b.iter_custom(|iters| {
                let mut took = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    let copy: Table = Table::clone(table);
                    took += start.elapsed();
                    drop(black_box(copy));
                }
                took
            })
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = single_thread, two_threads, cow_clone
}
criterion_main!(benches);
