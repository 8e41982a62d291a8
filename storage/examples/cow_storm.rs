//! What the writes right after a snapshot pay for copy-on-write, in total.
//!
//! ```text
//! cargo run --release -p shoal-storage --example cow_storm -- 1000000 1024
//! ```
//!
//! Fills database 0 with N keys of V-byte values (jemalloc, as the server), then times
//! the same 20,000 random overwrites several times, alternately without and with a
//! snapshot taken just before. With a snapshot every segment is shared at first, so
//! the first write to each copies it (its table, one reference-count increment per
//! entry); 20,000 random writes touch nearly every segment of a 1M-key keyspace
//! (2,048 segments). The difference between the two kinds of round is that copy storm,
//! which a BGSAVE puts on the request workers in its first fraction of a second
//! (bench/bgsave.sh with `--bgsave-split`). Prints each round and the extra time per
//! segment.

use std::time::{Duration, Instant};

use shoal_storage::{Entry, Keyspace, KeyspaceConfig};

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const WRITES: usize = 20_000;
const ROUNDS: usize = 6;

fn main() {
    let mut args = std::env::args()
        .skip(1)
        .map(|a| a.replace('_', "").parse().ok());
    let n: usize = args.next().flatten().unwrap_or(1_000_000);
    let size: usize = args.next().flatten().unwrap_or(1024);
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
    let segments: usize = (0..db.num_shards())
        .map(|i| db.lock_index(i).num_segments())
        .sum();
    // xorshift: the same keys every round.
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let keys: Vec<Vec<u8>> = (0..WRITES)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            key((x % n as u64) as usize)
        })
        .collect();
    println!("{n} keys of {size} B, {segments} segments; {WRITES} random overwrites per round");
    let (mut plain, mut cow) = (Vec::new(), Vec::new());
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
        drop(snap);
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let extra = median(&mut cow).saturating_sub(median(&mut plain));
    println!(
        "copy storm: {:.1} ms in total, {:.1} µs per segment",
        extra.as_secs_f64() * 1e3,
        extra.as_secs_f64() * 1e6 / segments as f64
    );
}
