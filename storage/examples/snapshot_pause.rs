//! How long `Keyspace::snapshot()` stops writers, by dataset size.
//!
//! ```text
//! cargo run --release -p shoal-storage --example snapshot_pause -- 1000 10000000
//! ```
//!
//! For each size N: builds a keyspace preallocated for N keys (16 databases, shards
//! sized from N as the server does), fills database 0 with N string keys through the
//! storage API, then times `snapshot()` (every shard of every database in use locked
//! in order, each table's `Arc` cloned, locks released: the whole call is an upper
//! bound on the pause writers see), the first write after it (copies one shared
//! segment), `restore_from()` and dropping a snapshot. Prints min / median / max over
//! a few runs. Twice: with only database 0 in use (the 15 others are skipped), then
//! with one key in each of the 15 others too (one more shard locked per database; the
//! empty shards are skipped but still get an empty frozen copy).

use std::time::{Duration, Instant};

use shoal_storage::{Entry, Keyspace, KeyspaceConfig};

fn fill(ks: &Keyspace, n: usize) {
    let db = ks.db(0);
    let mut key = Vec::with_capacity(24);
    for i in 0..n {
        key.clear();
        key.extend_from_slice(b"key:");
        key.extend_from_slice(i.to_string().as_bytes());
        let h = db.hash(&key);
        db.lock(h)
            .insert(h, Entry::new_str(&key, b"value-xx", None), 0);
    }
}

fn stats(mut v: Vec<Duration>) -> String {
    v.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    format!(
        "min {:>9.1} us  median {:>9.1} us  max {:>9.1} us",
        us(v[0]),
        us(v[v.len() / 2]),
        us(v[v.len() - 1])
    )
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.replace('_', "").parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1_000, 10_000_000]
    } else {
        sizes
    };
    for n in sizes {
        let config = KeyspaceConfig {
            databases: 16,
            capacity: n,
            shards: 0,
        };
        let shards = config.resolved_shards();
        let ks = Keyspace::new(config);
        let t = Instant::now();
        fill(&ks, n);
        println!(
            "\n{n} keys in db 0 ({shards} shards per database), filled in {:.2} s",
            t.elapsed().as_secs_f64()
        );

        measure(&ks, "database 0 in use", format!("{shards} shards in use"));
        for d in 1..16 {
            let db = ks.db(d);
            let h = db.hash(b"other");
            db.lock(h)
                .insert(h, Entry::new_str(b"other", b"v", None), 0);
        }
        measure(
            &ks,
            "all 16 databases in use, one key in each of the 15 others",
            format!("{} shards in use of {}", shards + 15, shards * 16),
        );
        assert_eq!(ks.total_keys(), n + 15);
    }
}

fn measure(ks: &Keyspace, what: &str, locks: String) {
    const RUNS: usize = 9;
    let mut take = Vec::new();
    let mut first_write = Vec::new();
    let mut restore = Vec::new();
    let mut drop_snap = Vec::new();
    for run in 0..RUNS {
        let t = Instant::now();
        let snap = ks.snapshot();
        take.push(t.elapsed());

        // First write to a shared segment: copies that one segment.
        let key = format!("key:{run}");
        let db = ks.db(0);
        let h = db.hash(key.as_bytes());
        let t = Instant::now();
        db.lock(h)
            .insert(h, Entry::new_str(key.as_bytes(), b"changed!", None), 0);
        first_write.push(t.elapsed());

        let t = Instant::now();
        let old = ks.restore_from(&snap);
        restore.push(t.elapsed());
        drop(old);

        let t = Instant::now();
        drop(snap);
        drop_snap.push(t.elapsed());
    }
    println!("  {what} ({locks}):");
    println!("    snapshot()        {}", stats(take));
    println!("    first write (COW) {}", stats(first_write));
    println!("    restore_from()    {}", stats(restore));
    println!("    drop(snapshot)    {}", stats(drop_snap));
}
