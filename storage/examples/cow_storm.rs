//! What the writes right after a snapshot pay for copy-on-write, in total.
//!
//! ```text
//! cargo run --release -p shoal-storage --example cow_storm -- 1000000 1024 [WRITES]
//! ```
//!
//! Fills database 0 with N keys of V-byte values (jemalloc, as the server), then times
//! the same WRITES (default 20,000) random overwrites several times, alternately
//! without and with a snapshot taken just before. With a snapshot every segment is
//! shared at first, so the writes go to the segments' overlays, and a segment whose
//! overlay reaches half its entries is copied (its table, one reference-count
//! increment per entry; see storage/src/segment.rs). After each snapshot round the
//! snapshot is dropped and every shard settled (the overlays applied in place, as the
//! server's housekeeping does); that is timed on its own.
//!
//! 20,000 random writes touch nearly every segment of a 1M-key keyspace (2,048
//! segments) about ten times each: overlays only. 600,000 writes (about 290 each) make
//! every segment copy. Prints each round, the extra time per segment, the copies made
//! and the settle time.

use std::time::{Duration, Instant};

use shoal_storage::{Entry, Keyspace, KeyspaceConfig};

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const ROUNDS: usize = 6;

fn main() {
    let mut args = std::env::args()
        .skip(1)
        .map(|a| a.replace('_', "").parse().ok());
    let n: usize = args.next().flatten().unwrap_or(1_000_000);
    let size: usize = args.next().flatten().unwrap_or(1024);
    let writes: usize = args.next().flatten().unwrap_or(20_000);
    let ks = Keyspace::new(KeyspaceConfig {
        databases: 16,
        capacity: n,
        shards: 0,
    });
    let value = vec![b'x'; size];
    let db = ks.db(0);
    let key = |i: usize| format!("memtier-{i}").into_bytes();
    for i in 0..n {
        let k = key(i);
        let h = db.hash(&k);
        db.lock(h).insert(h, Entry::new_str(&k, &value, None), 0);
    }
    let shards = db.num_shards();
    let segments: usize = (0..shards).map(|i| db.lock_index(i).num_segments()).sum();
    // xorshift: the same keys every round.
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let keys: Vec<Vec<u8>> = (0..writes)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            key((x % n as u64) as usize)
        })
        .collect();
    println!("{n} keys of {size} B, {segments} segments; {writes} random overwrites per round");
    let (mut plain, mut cow) = (Vec::new(), Vec::new());
    let overlays = || -> usize {
        (0..shards)
            .map(|i| db.lock_index(i).pending_overlays())
            .sum()
    };
    for round in 0..ROUNDS {
        let snap = (round % 2 == 1).then(|| ks.snapshot());
        let t = Instant::now();
        for k in &keys {
            let h = db.hash(k);
            db.lock(h).insert(h, Entry::new_str(k, &value, None), 0);
        }
        let took = t.elapsed();
        println!(
            "  round {round}: {:>7.1} ms {}",
            took.as_secs_f64() * 1e3,
            if snap.is_some() {
                "after a snapshot"
            } else {
                "no snapshot"
            }
        );
        if snap.is_some() { &mut cow } else { &mut plain }.push(took);
        if let Some(snap) = snap {
            let pending = overlays();
            let shared: usize = (0..shards)
                .map(|i| {
                    snap.db(0)
                        .with_shard(i, |s| db.lock_index(i).tables_shared_with(s))
                })
                .sum();
            drop(snap);
            let t = Instant::now();
            for i in 0..shards {
                db.lock_index(i).settle(usize::MAX);
            }
            println!(
                "           {} segments copied, {pending} overlays applied in {:.1} ms after the drop",
                segments - shared,
                t.elapsed().as_secs_f64() * 1e3
            );
        }
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let extra = median(&mut cow).saturating_sub(median(&mut plain));
    println!(
        "after a snapshot: {:.1} ms more in total, {:.1} µs per segment",
        extra.as_secs_f64() * 1e3,
        extra.as_secs_f64() * 1e6 / segments as f64
    );
}
