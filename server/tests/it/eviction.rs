//! maxmemory and eviction, against `shoal` processes of their own (the memory count is
//! per process: servers sharing the test process would count each other's memory).

use std::time::Duration;

use redis::aio::MultiplexedConnection;

use crate::common::*;

async fn num(c: &mut MultiplexedConnection, field: &str) -> u64 {
    info_field(c, field).await.parse().expect("number")
}

/// A server started with `args`, its `maxmemory` then set `headroom` bytes above
/// what it uses once idle (`extra` config set after).
async fn server_with_headroom(headroom: u64, args: &[&str]) -> (Proc, MultiplexedConnection, u64) {
    let p = Proc::start(args);
    let mut c = p.conn().await;
    let used = num(&mut c, "used_memory").await;
    let limit = used + headroom;
    let _: () = cmd(&mut c, &["CONFIG", "SET", "maxmemory", &limit.to_string()]).await;
    (p, c, limit)
}

/// Writes `n` keys `prefix:i` of `size` bytes, pipelined; the replies.
async fn fill(
    c: &mut MultiplexedConnection,
    prefix: &str,
    range: std::ops::Range<usize>,
    size: usize,
    ttl: Option<u64>,
) -> Vec<redis::RedisResult<redis::Value>> {
    let value = "v".repeat(size);
    let mut replies = Vec::new();
    let keys: Vec<usize> = range.collect();
    for chunk in keys.chunks(200) {
        let mut futures = Vec::new();
        for i in chunk {
            let mut command = redis::cmd("SET");
            command.arg(format!("{prefix}:{i}")).arg(&value);
            if let Some(t) = ttl {
                command.arg("EX").arg(t);
            }
            let mut c = c.clone();
            futures.push(async move { command.query_async::<redis::Value>(&mut c).await });
        }
        replies.extend(futures_util::future::join_all(futures).await);
    }
    replies
}

fn ooms(replies: &[redis::RedisResult<redis::Value>]) -> usize {
    replies
        .iter()
        .filter(|r| {
            r.as_ref()
                .err()
                .is_some_and(|e| error_text(e).starts_with("OOM "))
        })
        .count()
}

#[tokio::test]
async fn noeviction_refuses_writes_that_grow_memory_and_serves_the_rest() {
    let (_p, mut c, limit) = server_with_headroom(4 << 20, &[]).await;
    let replies = fill(&mut c, "k", 0..40_000, 200, None).await;
    assert!(ooms(&replies) > 0, "never refused");
    let first_oom = replies.iter().position(|r| r.is_err()).unwrap();
    assert!(first_oom > 1000, "refused too early: {first_oom}");
    let used = num(&mut c, "used_memory").await;
    assert!(used <= limit + limit / 100, "used {used} > limit {limit}");
    // Redis's text, for denyoom commands only.
    assert_eq!(
        err(&mut c, &["SET", "more", "x"]).await,
        "OOM command not allowed when used memory > 'maxmemory'."
    );
    assert!(err(&mut c, &["RPUSH", "l", "x"]).await.starts_with("OOM"));
    let v: String = cmd(&mut c, &["GET", "k:0"]).await;
    assert_eq!(v.len(), 200);
    let _: i64 = cmd(&mut c, &["EXPIRE", "k:1", "100"]).await;
    // Inside MULTI anything but EXEC/DISCARD is refused, and the transaction aborts.
    let _: () = cmd(&mut c, &["MULTI"]).await;
    assert!(err(&mut c, &["GET", "k:0"]).await.starts_with("OOM"));
    assert!(err(&mut c, &["EXEC"]).await.starts_with("EXECABORT"));
    assert_eq!(num(&mut c, "evicted_keys").await, 0);
    assert!(num(&mut c, "current_eviction_exceeded_time").await < 60_000);
    // Deleting frees memory: writes are accepted again.
    let mut del = redis::cmd("DEL");
    for i in 0..2000 {
        del.arg(format!("k:{i}"));
    }
    let deleted: i64 = del.query_async(&mut c).await.unwrap();
    assert_eq!(deleted, 2000);
    let _: () = cmd(&mut c, &["SET", "more", "x"]).await;
}

#[tokio::test]
async fn allkeys_lru_evicts_within_the_limit_and_keeps_the_keys_in_use() {
    let (_p, mut c, limit) = server_with_headroom(
        6 << 20,
        &[
            "--maxmemory-policy",
            "allkeys-lru",
            "--notify-keyspace-events",
            "Ee",
        ],
    )
    .await;
    let mut sub = Wire::connect(("127.0.0.1", _p.port));
    sub.call(&["SUBSCRIBE", "__keyevent@0__:evicted"]);
    // Hot keys, read all along; cold keys written in bulk far past the limit.
    fill(&mut c, "hot", 0..500, 200, None).await;
    for round in 0..20 {
        let replies = fill(&mut c, "cold", round * 3000..(round + 1) * 3000, 200, None).await;
        assert_eq!(ooms(&replies), 0);
        // Reads touch the hot keys (a second apart, the LRU clock's resolution).
        let mut mget = redis::cmd("MGET");
        for i in 0..500 {
            mget.arg(format!("hot:{i}"));
        }
        let _: Vec<Option<String>> = mget.query_async(&mut c).await.unwrap();
        if round % 5 == 4 {
            tokio::time::sleep(Duration::from_millis(1100)).await;
        }
        let used = num(&mut c, "used_memory").await;
        assert!(used <= limit + limit / 100, "used {used} > limit {limit}");
    }
    let evicted = num(&mut c, "evicted_keys").await;
    assert!(evicted > 10_000, "evicted {evicted}");
    let mut exists = redis::cmd("EXISTS");
    for i in 0..500 {
        exists.arg(format!("hot:{i}"));
    }
    let hot: i64 = exists.query_async(&mut c).await.unwrap();
    assert!(hot >= 450, "only {hot} of 500 hot keys left");
    // Each eviction is announced.
    let msg = String::from_utf8_lossy(&sub.reply()).into_owned();
    assert!(msg.contains("__keyevent@0__:evicted"), "{msg}");
}

#[tokio::test]
async fn allkeys_lfu_keeps_frequently_used_keys() {
    let (_p, mut c, limit) =
        server_with_headroom(6 << 20, &["--maxmemory-policy", "allkeys-lfu"]).await;
    fill(&mut c, "hot", 0..300, 200, None).await;
    for _ in 0..30 {
        let mut mget = redis::cmd("MGET");
        for i in 0..300 {
            mget.arg(format!("hot:{i}"));
        }
        let _: Vec<Option<String>> = mget.query_async(&mut c).await.unwrap();
    }
    let freq: i64 = cmd(&mut c, &["OBJECT", "FREQ", "hot:0"]).await;
    assert!(freq > 5, "{freq}");
    for round in 0..15 {
        let replies = fill(&mut c, "cold", round * 4000..(round + 1) * 4000, 200, None).await;
        assert_eq!(ooms(&replies), 0);
    }
    assert!(num(&mut c, "used_memory").await <= limit + limit / 100);
    let mut exists = redis::cmd("EXISTS");
    for i in 0..300 {
        exists.arg(format!("hot:{i}"));
    }
    let hot: i64 = exists.query_async(&mut c).await.unwrap();
    assert!(hot >= 280, "only {hot} of 300 frequently used keys left");
}

#[tokio::test]
async fn volatile_policies_evict_only_keys_with_a_ttl() {
    for policy in [
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
    ] {
        let (_p, mut c, limit) =
            server_with_headroom(4 << 20, &["--maxmemory-policy", policy]).await;
        fill(&mut c, "keep", 0..2000, 200, None).await;
        // Keys with a TTL: evicted to make room; the ones without stay.
        let replies = fill(&mut c, "tmp", 0..30_000, 200, Some(3600)).await;
        assert_eq!(ooms(&replies), 0, "{policy}");
        assert!(num(&mut c, "used_memory").await <= limit + limit / 100);
        assert!(num(&mut c, "evicted_keys").await > 0, "{policy}");
        let mut exists = redis::cmd("EXISTS");
        for i in 0..2000 {
            exists.arg(format!("keep:{i}"));
        }
        let kept: i64 = exists.query_async(&mut c).await.unwrap();
        assert_eq!(kept, 2000, "{policy} evicted a key without a TTL");
        // Over the limit, writes evict the keys with a TTL (the eviction thread
        // too) until none is left; then writes are refused, and the keys without one
        // are all still there.
        let _: () = cmd(&mut c, &["CONFIG", "SET", "maxmemory", "1"]).await;
        let mut left = i64::MAX;
        for _ in 0..1000 {
            for _ in 0..50 {
                let _ = try_cmd::<()>(&mut c, &["SET", "x", "y"]).await;
            }
            left = cmd(&mut c, &["DBSIZE"]).await;
            if left <= 2001 {
                break;
            }
        }
        assert!(left <= 2001, "{policy}: {left} keys left");
        let again = try_cmd::<()>(&mut c, &["SET", "x", "y"]).await;
        assert!(
            again
                .as_ref()
                .is_err_and(|e| error_text(e).starts_with("OOM")),
            "{policy}: {again:?}"
        );
        let kept: i64 = exists.query_async(&mut c).await.unwrap();
        assert_eq!(kept, 2000, "{policy} evicted a key without a TTL");
    }
}

#[tokio::test]
async fn volatile_ttl_evicts_the_nearest_expiry_first() {
    let (_p, mut c, _limit) =
        server_with_headroom(4 << 20, &["--maxmemory-policy", "volatile-ttl"]).await;
    fill(&mut c, "late", 0..300, 200, Some(100_000)).await;
    fill(&mut c, "soon", 0..20_000, 200, Some(1000)).await;
    let mut exists = redis::cmd("EXISTS");
    for i in 0..300 {
        exists.arg(format!("late:{i}"));
    }
    let late: i64 = exists.query_async(&mut c).await.unwrap();
    assert!(late >= 280, "only {late} of the late-expiring keys left");
}

#[tokio::test]
async fn allkeys_random_and_live_policy_changes() {
    let (_p, mut c, limit) = server_with_headroom(4 << 20, &[]).await;
    let _: () = cmd(
        &mut c,
        &["CONFIG", "SET", "maxmemory-policy", "allkeys-random"],
    )
    .await;
    let replies = fill(&mut c, "k", 0..30_000, 200, None).await;
    assert_eq!(ooms(&replies), 0);
    assert!(num(&mut c, "used_memory").await <= limit + limit / 100);
    assert!(num(&mut c, "evicted_keys").await > 0);
    // Back to noeviction: refused again.
    let _: () = cmd(&mut c, &["CONFIG", "SET", "maxmemory-policy", "noeviction"]).await;
    let replies = fill(&mut c, "more", 0..20_000, 200, None).await;
    assert!(ooms(&replies) > 0);
    // The knobs are live config, read back as set.
    for (name, value) in [
        ("maxmemory-samples", "10"),
        ("maxmemory-eviction-tenacity", "20"),
        ("lfu-log-factor", "5"),
        ("lfu-decay-time", "2"),
        ("maxmemory-clients", "10%"),
        ("maxmemory-clients", "2097152"),
    ] {
        let _: () = cmd(&mut c, &["CONFIG", "SET", name, value]).await;
        let got: Vec<String> = cmd(&mut c, &["CONFIG", "GET", name]).await;
        assert_eq!(got, vec![name.to_string(), value.to_string()]);
    }
    assert!(err(&mut c, &["CONFIG", "SET", "maxmemory-samples", "0"])
        .await
        .starts_with("ERR CONFIG SET failed"));
    assert_eq!(info_field(&mut c, "maxmemory_source").await, "config");
    // Lowering maxmemory below what is used evicts at once, in the background.
    let _: () = cmd(
        &mut c,
        &["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"],
    )
    .await;
    let before: i64 = cmd(&mut c, &["DBSIZE"]).await;
    let used = num(&mut c, "used_memory").await;
    let _: () = cmd(
        &mut c,
        &["CONFIG", "SET", "maxmemory", &(used / 2).to_string()],
    )
    .await;
    let mut after = before;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        after = cmd(&mut c, &["DBSIZE"]).await;
        if after < before * 2 / 3 {
            break;
        }
    }
    assert!(after < before * 2 / 3, "{before} -> {after}");
}

#[tokio::test]
async fn without_a_limit_nothing_is_evicted_and_the_source_is_none() {
    let p = Proc::start(&[]);
    let mut c = p.conn().await;
    assert_eq!(info_field(&mut c, "maxmemory_source").await, "none");
    assert_eq!(num(&mut c, "maxmemory").await, 0);
    fill(&mut c, "k", 0..5000, 100, None).await;
    assert_eq!(num(&mut c, "evicted_keys").await, 0);
    let dbsize: i64 = cmd(&mut c, &["DBSIZE"]).await;
    assert_eq!(dbsize, 5000);
}

#[tokio::test]
async fn maxmemory_clients_disconnects_the_biggest_client_first() {
    let p = Proc::start(&[]);
    let mut c = p.conn().await;
    let _: () = cmd(&mut c, &["CLIENT", "NO-EVICT", "on"]).await;
    let _: () = cmd(&mut c, &["CONFIG", "SET", "maxmemory-clients", "4mb"]).await;
    // A client sending a 16 MB value slowly grows its query buffer past the limit.
    let mut big = Raw::connect(p.port).await;
    big.send(b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$16000000\r\n")
        .await;
    let chunk = vec![b'x'; 1 << 20];
    let mut closed = false;
    for _ in 0..15 {
        if big.try_send(&chunk).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    closed = closed || big.closed().await;
    assert!(closed, "the big client was not disconnected");
    assert!(num(&mut c, "evicted_clients").await >= 1);
    // The others are still served, and memory went back.
    let pong: String = cmd(&mut c, &["PING"]).await;
    assert_eq!(pong, "PONG");
    assert!(num(&mut c, "mem_clients_normal").await < 4 << 20);
}

#[tokio::test]
async fn allkeys_tinylfu_keeps_popular_keys_through_a_flood_of_one_time_keys() {
    let (_p, mut c, limit) =
        server_with_headroom(6 << 20, &["--maxmemory-policy", "allkeys-tinylfu"]).await;
    fill(&mut c, "hot", 0..400, 200, None).await;
    // Popular: read a few times each.
    for _ in 0..4 {
        let mut mget = redis::cmd("MGET");
        for i in 0..400 {
            mget.arg(format!("hot:{i}"));
        }
        let _: Vec<Option<String>> = mget.query_async(&mut c).await.unwrap();
    }
    // A flood of keys asked for once each, cache-aside (a GET that misses, then a SET),
    // several times what fits, as a scan of a big table would.
    for round in 0..12 {
        let range = round * 4000..(round + 1) * 4000;
        let mut gets = redis::pipe();
        for i in range.clone() {
            gets.cmd("GET").arg(format!("scan:{i}"));
        }
        let _: Vec<Option<String>> = gets.query_async(&mut c).await.unwrap();
        let replies = fill(&mut c, "scan", range, 200, None).await;
        assert_eq!(ooms(&replies), 0);
        assert!(num(&mut c, "used_memory").await <= limit + limit / 100);
    }
    assert!(num(&mut c, "evicted_keys").await > 10_000);
    let mut exists = redis::cmd("EXISTS");
    for i in 0..400 {
        exists.arg(format!("hot:{i}"));
    }
    let hot: i64 = exists.query_async(&mut c).await.unwrap();
    assert!(hot >= 390, "only {hot} of 400 popular keys left");
    // Its name is Shoal's own, accepted by CONFIG SET like Redis's.
    let _: () = cmd(
        &mut c,
        &["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"],
    )
    .await;
    let _: () = cmd(
        &mut c,
        &["CONFIG", "SET", "maxmemory-policy", "allkeys-tinylfu"],
    )
    .await;
    assert_eq!(
        info_field(&mut c, "maxmemory_policy").await,
        "allkeys-tinylfu"
    );
}

#[tokio::test]
async fn what_a_snapshot_retains_stays_counted_until_it_is_dropped() {
    let (_p, mut c, limit) =
        server_with_headroom(6 << 20, &["--maxmemory-policy", "allkeys-lru"]).await;
    fill(&mut c, "old", 0..15_000, 200, None).await;
    let _: String = cmd(&mut c, &["SNAPSHOT", "CREATE", "keep"]).await;
    // Evicting the old keys frees nothing while the snapshot holds them: they leave
    // the live keyspace, and the new keys get only the room the snapshot leaves.
    let replies = fill(&mut c, "new", 0..40_000, 200, None).await;
    assert_eq!(ooms(&replies), 0);
    assert!(num(&mut c, "used_memory").await <= limit + limit / 100);
    let old_left: i64 = cmd(&mut c, &["EXISTS", "old:1", "old:2", "old:3"]).await;
    assert_eq!(old_left, 0);
    let with_snapshot: i64 = cmd(&mut c, &["DBSIZE"]).await;
    // Dropped (freed in the background): the room comes back.
    let _: () = cmd(&mut c, &["SNAPSHOT", "DROP", "keep"]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let replies = fill(&mut c, "more", 0..40_000, 200, None).await;
    assert_eq!(ooms(&replies), 0);
    let without: i64 = cmd(&mut c, &["DBSIZE"]).await;
    assert!(
        without > 2 * with_snapshot,
        "{with_snapshot} keys with the snapshot, {without} after it"
    );
}

/// An evicted watched key fails EXEC (the eviction goes through the write hook);
/// a watched key that stays does not.
#[tokio::test]
async fn evicting_a_watched_key_fails_exec() {
    let (p, mut c, _) =
        server_with_headroom(2 << 20, &["--maxmemory-policy", "allkeys-random"]).await;
    let _: () = cmd(&mut c, &["SET", "watched", "v"]).await;
    let mut w = Raw::connect(p.port).await;
    w.roundtrip(&[b"WATCH", b"watched"], b"+OK\r\n").await;
    // Fill until the watched key is gone (random victims: it goes sooner or later).
    let mut round = 0;
    loop {
        fill(&mut c, &format!("f{round}"), 0..2000, 200, None).await;
        let there: i64 = cmd(&mut c, &["EXISTS", "watched"]).await;
        if there == 0 {
            break;
        }
        round += 1;
        assert!(round < 200, "the watched key was never evicted");
    }
    assert!(num(&mut c, "evicted_keys").await > 0);
    w.roundtrip(&[b"MULTI"], b"+OK\r\n").await;
    w.roundtrip(&[b"PING"], b"+QUEUED\r\n").await;
    w.roundtrip(&[b"EXEC"], b"*-1\r\n").await;
}
