//! Whole-server behaviour under volume: a million expiring keys reclaimed by the
//! background cycle alone (from DBSIZE and from memory) while the server keeps
//! answering; writes from many connections at once.

use std::time::{Duration, Instant};

use crate::common::*;

async fn used_memory(c: &mut redis::aio::MultiplexedConnection) -> i64 {
    let info: String = cmd(c, &["INFO", "memory"]).await;
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("INFO memory has used_memory")
}

async fn dbsize(c: &mut redis::aio::MultiplexedConnection) -> i64 {
    cmd(c, &["DBSIZE"]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_expiring_keys_vanish_without_being_touched() {
    const KEYS: usize = 1_000_000;
    const WRITERS: usize = 4;
    // A process of its own: memory is counted per process, and the other tests in this
    // one allocate meanwhile.
    let s = Proc::start(&["--capacity", "1000"]);
    let mut c = s.conn().await;
    let baseline = used_memory(&mut c).await;

    // 1,000,000 SET key value PX 1000, pipelined over a few connections.
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let mut con = s.conn().await;
        writers.push(tokio::spawn(async move {
            let per = KEYS / WRITERS;
            for chunk in 0..per / 10_000 {
                let mut pipe = redis::pipe();
                for i in 0..10_000 {
                    let n = w * per + chunk * 10_000 + i;
                    pipe.cmd("SET")
                        .arg(format!("exp:{n}"))
                        .arg("0123456789abcdef0123456789abcdef")
                        .arg("PX")
                        .arg(1000)
                        .ignore();
                }
                let () = pipe.query_async(&mut con).await.expect("pipeline");
            }
        }));
    }
    for w in writers {
        w.await.expect("writer");
    }
    let written = Instant::now();
    let peak = used_memory(&mut c).await;
    assert!(dbsize(&mut c).await > 0);

    // Nobody touches the keys: only DBSIZE (which does not access keys), INFO and PING.
    let mut worst_ping = Duration::ZERO;
    loop {
        let t = Instant::now();
        assert_eq!(cmd::<String>(&mut c, &["PING"]).await, "PONG");
        worst_ping = worst_ping.max(t.elapsed());
        if dbsize(&mut c).await == 0 {
            break;
        }
        assert!(
            written.elapsed() < Duration::from_secs(10),
            "expired keys still counted 10 s after the last write: {}",
            dbsize(&mut c).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Memory comes back too: entries freed, emptied tables shrunk.
    let mut after = used_memory(&mut c).await;
    for _ in 0..40 {
        if after - baseline < (peak - baseline) / 10 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        after = used_memory(&mut c).await;
    }
    assert!(
        after - baseline < (peak - baseline) / 10,
        "memory not reclaimed: baseline {baseline}, peak {peak}, after {after}"
    );
    // A generous bound: this checks that expiry never stalls the server for long, not
    // how fast it is (that is what bench/ is for).
    assert!(
        worst_ping < Duration::from_millis(500),
        "PING took {worst_ping:?} during expiry"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_on_distinct_keys_lose_nothing() {
    let s = TestServer::start();
    let mut tasks = Vec::new();
    for w in 0..20 {
        let mut con = s.conn().await;
        tasks.push(tokio::spawn(async move {
            let mut pipe = redis::pipe();
            for i in 0..5_000 {
                pipe.cmd("SET").arg(format!("w{w}:{i}")).arg(i).ignore();
            }
            let () = pipe.query_async(&mut con).await.expect("pipeline");
        }));
    }
    for t in tasks {
        t.await.expect("writer");
    }
    let mut c = s.conn().await;
    assert_eq!(dbsize(&mut c).await, 100_000);
    assert_eq!(cmd::<String>(&mut c, &["GET", "w19:4999"]).await, "4999");
}
