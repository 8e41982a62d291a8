//! MULTI/EXEC/DISCARD/WATCH/UNWATCH over TCP: replies and error texts as Redis 7.0
//! (checked against redis-server 7.0.15), atomicity against concurrent clients, and
//! every way a watched key can change.

use std::time::Duration;

use crate::common::*;

/// A case: its name, the commands that set it up, the change made after WATCH.
type Case<'a> = (&'a str, &'a [&'a [&'a str]], &'a [&'a [&'a str]]);

fn r(args: &[&str]) -> Vec<u8> {
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    encode(&a)
}

#[tokio::test]
async fn queueing_exec_discard_and_their_errors() {
    let s = TestServer::start();
    let mut c = s.raw().await;
    c.roundtrip(&[b"EXEC"], b"-ERR EXEC without MULTI\r\n")
        .await;
    c.roundtrip(&[b"DISCARD"], b"-ERR DISCARD without MULTI\r\n")
        .await;
    c.roundtrip(&[b"MULTI"], b"+OK\r\n").await;
    c.roundtrip(&[b"MULTI"], b"-ERR MULTI calls can not be nested\r\n")
        .await;
    c.roundtrip(
        &[b"WATCH", b"k"],
        b"-ERR WATCH inside MULTI is not allowed\r\n",
    )
    .await;
    c.roundtrip(&[b"SET", b"a", b"1"], b"+QUEUED\r\n").await;
    c.roundtrip(&[b"INCR", b"a"], b"+QUEUED\r\n").await;
    c.roundtrip(&[b"HSET", b"a", b"f", b"v"], b"+QUEUED\r\n")
        .await;
    c.roundtrip(&[b"GET", b"a"], b"+QUEUED\r\n").await;
    // The errors of MULTI and WATCH inside MULTI do not abort it; a runtime error
    // does not stop the commands after it.
    c.roundtrip(
        &[b"EXEC"],
        b"*4\r\n+OK\r\n:2\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n$1\r\n2\r\n",
    )
    .await;
    c.roundtrip(&[b"EXEC"], b"-ERR EXEC without MULTI\r\n")
        .await;

    // An empty transaction.
    c.roundtrip(&[b"MULTI"], b"+OK\r\n").await;
    c.roundtrip(&[b"EXEC"], b"*0\r\n").await;

    // DISCARD drops the queue.
    c.roundtrip(&[b"MULTI"], b"+OK\r\n").await;
    c.roundtrip(&[b"SET", b"a", b"discarded"], b"+QUEUED\r\n")
        .await;
    c.roundtrip(&[b"DISCARD"], b"+OK\r\n").await;
    c.roundtrip(&[b"GET", b"a"], b"$1\r\n2\r\n").await;
}

#[tokio::test]
async fn a_command_refused_while_queueing_aborts_exec() {
    let s = TestServer::start();
    let mut c = s.raw().await;
    for (bad, error) in [
        (
            r(&["FOO", "x"]),
            "-ERR unknown command 'FOO', with args beginning with: 'x' \r\n",
        ),
        (
            r(&["SET", "a"]),
            "-ERR wrong number of arguments for 'set' command\r\n",
        ),
        (
            r(&["SAVE"]),
            "-ERR Command not allowed inside a transaction\r\n",
        ),
    ] {
        c.roundtrip(&[b"MULTI"], b"+OK\r\n").await;
        c.roundtrip(&[b"SET", b"k", b"v"], b"+QUEUED\r\n").await;
        c.send(&bad).await;
        c.expect(error.as_bytes()).await;
        c.roundtrip(&[b"PING"], b"+QUEUED\r\n").await;
        c.roundtrip(
            &[b"EXEC"],
            b"-EXECABORT Transaction discarded because of previous errors.\r\n",
        )
        .await;
        // Nothing ran, and the client is out of MULTI.
        c.roundtrip(&[b"EXISTS", b"k"], b":0\r\n").await;
    }
}

#[tokio::test]
async fn exec_in_resp3_and_client_list_shows_the_transaction() {
    let s = TestServer::start();
    let mut c = s.raw3().await;
    c.roundtrip(&[b"MULTI"], b"+OK\r\n").await;
    c.roundtrip(&[b"SET", b"x", b"1"], b"+QUEUED\r\n").await;
    c.roundtrip(&[b"GET", b"nosuch"], b"+QUEUED\r\n").await;
    let mut other = s.conn().await;
    let list: String = cmd(&mut other, &["CLIENT", "LIST"]).await;
    let line = list
        .lines()
        .find(|l| l.contains("cmd=get") || l.contains("flags=x"))
        .expect("the queueing client");
    assert!(line.contains("flags=x"), "{line}");
    assert!(line.contains(" multi=2 "), "{line}");
    c.roundtrip(&[b"EXEC"], b"*2\r\n+OK\r\n_\r\n").await;
    let list: String = cmd(&mut other, &["CLIENT", "LIST"]).await;
    assert!(!list.contains("flags=x"), "{list}");
    assert!(list.contains(" multi=-1 "), "{list}");

    // A WATCH failure is a null in RESP3 too.
    c.roundtrip(&[b"WATCH", b"x"], b"+OK\r\n").await;
    let _: () = cmd(&mut other, &["SET", "x", "2"]).await;
    c.roundtrip(&[b"MULTI"], b"+OK\r\n").await;
    c.roundtrip(&[b"GET", b"x"], b"+QUEUED\r\n").await;
    c.roundtrip(&[b"EXEC"], b"_\r\n").await;
}

#[tokio::test]
async fn select_and_whole_database_commands_inside_a_transaction() {
    let s = TestServer::start();
    let mut c = s.raw().await;
    c.roundtrip(&[b"SET", b"in0", b"a"], b"+OK\r\n").await;
    c.roundtrip(&[b"MULTI"], b"+OK\r\n").await;
    for cmd in [
        &[&b"SELECT"[..], b"1"][..],
        &[b"SET", b"k", b"v"],
        &[b"KEYS", b"*"],
        &[b"DBSIZE"],
        &[b"SCAN", b"0"],
        &[b"RANDOMKEY"],
        &[b"MOVE", b"k", b"2"],
        &[b"DBSIZE"],
        &[b"SWAPDB", b"1", b"2"],
        &[b"GET", b"k"],
        &[b"FLUSHDB"],
        &[b"SELECT", b"0"],
        &[b"COPY", b"in0", b"in0", b"DB", b"3"],
    ] {
        c.roundtrip(cmd, b"+QUEUED\r\n").await;
    }
    c.roundtrip(
        &[b"EXEC"],
        b"*13\r\n+OK\r\n+OK\r\n*1\r\n$1\r\nk\r\n:1\r\n*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n$1\r\nk\r\n:1\r\n:0\r\n+OK\r\n$1\r\nv\r\n+OK\r\n+OK\r\n:1\r\n",
    )
    .await;
    // SELECT inside EXEC stays in force afterwards (database 0 here, as selected last).
    c.roundtrip(&[b"GET", b"in0"], b"$1\r\na\r\n").await;
    let mut con = s.conn().await;
    let _: () = cmd(&mut con, &["SELECT", "3"]).await;
    let copied: String = cmd(&mut con, &["GET", "in0"]).await;
    assert_eq!(copied, "a");

    // FLUSHALL inside a transaction, followed by a write.
    c.roundtrip(&[b"MULTI"], b"+OK\r\n").await;
    c.roundtrip(&[b"FLUSHALL"], b"+QUEUED\r\n").await;
    c.roundtrip(&[b"SET", b"after", b"1"], b"+QUEUED\r\n").await;
    c.roundtrip(&[b"DBSIZE"], b"+QUEUED\r\n").await;
    c.roundtrip(&[b"EXEC"], b"*3\r\n+OK\r\n+OK\r\n:1\r\n").await;
    let n: i64 = cmd(&mut con, &["DBSIZE"]).await;
    assert_eq!(n, 0, "database 3 was flushed");
}

/// The `redis` crate's optimistic-locking helper (WATCH, read, MULTI, write, EXEC,
/// retry on a null reply), as applications use it: concurrent increments by many
/// clients through WATCH never lose an update. Half the clients speak RESP3 (a
/// refused EXEC is `_` there), half RESP2.
#[tokio::test]
async fn watch_based_increments_from_many_clients_lose_nothing() {
    let s = TestServer::start();
    let clients = 8;
    let per_client = 60;
    let mut tasks = Vec::new();
    for i in 0..clients {
        let client = if i % 2 == 0 {
            s.client()
        } else {
            redis::Client::open(format!("redis://{}/?protocol=resp3", s.addr)).expect("client")
        };
        tasks.push(tokio::task::spawn_blocking(move || {
            let mut con = client.get_connection().expect("connect");
            let mut retries = 0u64;
            for _ in 0..per_client {
                let _: () = redis::transaction(&mut con, &["counter"], |con, pipe| {
                    let v: Option<i64> = redis::cmd("GET").arg("counter").query(con)?;
                    let r: Option<()> = pipe
                        .set("counter", v.unwrap_or(0) + 1)
                        .ignore()
                        .query(con)?;
                    if r.is_none() {
                        retries += 1;
                    }
                    Ok(r)
                })
                .expect("transaction");
            }
            retries
        }));
    }
    let mut retries = 0;
    for t in tasks {
        retries += t.await.expect("task");
    }
    let mut con = s.conn().await;
    let total: i64 = cmd(&mut con, &["GET", "counter"]).await;
    assert_eq!(total, clients * per_client);
    // With 8 clients racing, some transactions must have been refused and retried:
    // otherwise WATCH was not exercised.
    assert!(retries > 0, "no WATCH conflict in {} increments", total);
}

/// A reader never sees half a transaction: each EXEC moves one unit from `a` to `b`
/// (different shards), while readers check `a + b` with MGET. The writer speaks
/// RESP3, the readers RESP2 and RESP3.
#[tokio::test]
async fn readers_never_observe_a_partial_exec() {
    let s = TestServer::start();
    let mut con = s.conn().await;
    let mut con3 = s.conn3().await;
    let _: () = cmd(&mut con, &["MSET", "{x}a", "1000", "b", "0"]).await;
    let writer = {
        let client =
            redis::Client::open(format!("redis://{}/?protocol=resp3", s.addr)).expect("client");
        tokio::task::spawn_blocking(move || {
            let mut con = client.get_connection().expect("connect");
            for _ in 0..500 {
                let _: (i64, i64) = redis::pipe()
                    .atomic()
                    .cmd("DECR")
                    .arg("{x}a")
                    .cmd("INCR")
                    .arg("b")
                    .query(&mut con)
                    .expect("exec");
            }
        })
    };
    // Reads until the writer is done (at least once, however fast it is).
    loop {
        let done = writer.is_finished();
        let (a, b): (i64, i64) = cmd(&mut con, &["MGET", "{x}a", "b"]).await;
        assert_eq!(a + b, 1000, "saw a half-done transaction");
        let (a, b): (i64, i64) = cmd(&mut con3, &["MGET", "{x}a", "b"]).await;
        assert_eq!(a + b, 1000, "saw a half-done transaction (RESP3)");
        if done {
            break;
        }
    }
    writer.await.expect("writer");
    let (a, b): (i64, i64) = cmd(&mut con, &["MGET", "{x}a", "b"]).await;
    assert_eq!((a, b), (500, 500));
}

/// Runs WATCH k, then `change` on another connection, then MULTI/SET/EXEC: returns
/// whether the transaction ran.
async fn exec_runs_after(s: &TestServer, setup: &[&[&str]], change: &[&[&str]]) -> bool {
    let mut other = s.conn().await;
    let _: () = cmd(&mut other, &["FLUSHALL"]).await;
    for c in setup {
        let _: redis::Value = cmd(&mut other, c).await;
    }
    let mut c = s.raw().await;
    c.roundtrip(&[b"WATCH", b"k"], b"+OK\r\n").await;
    for ch in change {
        let _: redis::Value = cmd(&mut other, ch).await;
    }
    c.roundtrip(&[b"MULTI"], b"+OK\r\n").await;
    c.roundtrip(&[b"SET", b"done", b"1"], b"+QUEUED\r\n").await;
    c.cmd(&[b"EXEC"]).await;
    let got = c.read_exact_or_eof(5).await;
    match &got[..] {
        b"*1\r\n+" => {
            c.expect(b"OK\r\n").await;
            true
        }
        b"*-1\r\n" => false,
        other => panic!("EXEC replied {}", String::from_utf8_lossy(other)),
    }
}

#[tokio::test]
async fn every_kind_of_change_to_a_watched_key_fails_exec() {
    let s = TestServer::start();
    let k = &["SET", "k", "v"][..];
    let h = &["HSET", "k", "f", "v"][..];
    let cases: &[Case<'_>] = &[
        ("SET", &[], &[&["SET", "k", "x"]]),
        ("SET same value", &[k], &[&["SET", "k", "v"]]),
        ("DEL", &[k], &[&["DEL", "k"]]),
        ("APPEND", &[k], &[&["APPEND", "k", "x"]]),
        ("EXPIRE", &[k], &[&["EXPIRE", "k", "100"]]),
        (
            "PERSIST",
            &[&["SET", "k", "v", "EX", "100"]],
            &[&["PERSIST", "k"]],
        ),
        ("HSET", &[h], &[&["HSET", "k", "g", "w"]]),
        ("HDEL last field", &[h], &[&["HDEL", "k", "f"]]),
        ("RENAME from", &[k], &[&["RENAME", "k", "k2"]]),
        (
            "RENAME onto",
            &[&["SET", "src", "v"]],
            &[&["RENAME", "src", "k"]],
        ),
        ("MOVE", &[k], &[&["MOVE", "k", "1"]]),
        (
            "COPY onto",
            &[&["SET", "src", "v"]],
            &[&["COPY", "src", "k"]],
        ),
        ("FLUSHDB", &[k], &[&["FLUSHDB"]]),
        ("FLUSHALL", &[k], &[&["FLUSHALL"]]),
        ("SWAPDB, key existed", &[k], &[&["SWAPDB", "0", "1"]]),
        (
            "SWAPDB, key appears",
            &[&["SELECT", "1"], k, &["SELECT", "0"]],
            &[&["SWAPDB", "0", "1"]],
        ),
        (
            "HMERGE",
            &[h, &["HSET", "src", "a", "b"]],
            &[&["HMERGE", "k", "1", "src"]],
        ),
        (
            "SNAPSHOT RESTORE",
            &[&["SNAPSHOT", "CREATE", "s"], k],
            &[&["SNAPSHOT", "RESTORE", "s"]],
        ),
        (
            "SNAPSHOT MERGE KEEP, key deleted since",
            &[k, &["SNAPSHOT", "CREATE", "s"], &["DEL", "k"]],
            &[&["SNAPSHOT", "MERGE", "s", "KEEP"]],
        ),
        (
            "SNAPSHOT MERGE REPLACE, key changed since",
            &[k, &["SNAPSHOT", "CREATE", "s"], &["SET", "k", "changed"]],
            &[&["SNAPSHOT", "MERGE", "s", "REPLACE"]],
        ),
        ("MMERGE", &[k], &[&["MMERGE", "REPLACE", "k", "w"]]),
    ];
    for (name, setup, change) in cases {
        assert!(
            !exec_runs_after(&s, setup, change).await,
            "{name}: EXEC ran although the watched key changed"
        );
        let mut con = s.conn().await;
        // Only the SNAPSHOT cases made one.
        let _ = try_cmd::<redis::Value>(&mut con, &["SNAPSHOT", "DROP", "s"]).await;
    }
    // Changes to other keys, and reads, do not.
    let quiet: &[Case<'_>] = &[
        ("other key", &[k], &[&["SET", "other", "x"]]),
        (
            "reads",
            &[k],
            &[&["GET", "k"], &["EXISTS", "k"], &["TTL", "k"]],
        ),
        (
            "FLUSHDB of a missing key",
            &[&["SET", "x", "1"]],
            &[&["FLUSHDB"]],
        ),
        (
            "FLUSHALL of a missing key",
            &[&["SET", "x", "1"]],
            &[&["FLUSHALL"]],
        ),
        (
            "SWAPDB, missing in both",
            &[&["SET", "x", "1"]],
            &[&["SWAPDB", "0", "1"]],
        ),
        ("DEL of a missing key", &[], &[&["DEL", "k"]]),
    ];
    for (name, setup, change) in quiet {
        assert!(
            exec_runs_after(&s, setup, change).await,
            "{name}: EXEC refused although the watched key did not change"
        );
    }
}

#[tokio::test]
async fn watched_keys_and_expiry_follow_redis_7() {
    let s = TestServer::start();
    let mut other = s.conn().await;
    let mut c = s.raw().await;

    // A key that expires after WATCH fails EXEC, whether or not its expiry was
    // noticed before EXEC.
    let _: () = cmd(&mut other, &["SET", "k", "v", "PX", "100"]).await;
    c.roundtrip(&[b"WATCH", b"k"], b"+OK\r\n").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    c.roundtrip(&[b"MULTI"], b"+OK\r\n").await;
    c.roundtrip(&[b"PING"], b"+QUEUED\r\n").await;
    c.roundtrip(&[b"EXEC"], b"*-1\r\n").await;

    // A key already expired when watched (very likely not yet reclaimed: active
    // expiry runs once a second; if it was, the key is simply absent and the
    // outcomes are the same)...
    let _: () = cmd(&mut other, &["CONFIG", "SET", "hz", "1"]).await;
    for step in [
        // ...does not fail EXEC by itself,
        &[][..],
        // nor when its expiry is noticed (a read reclaims it),
        &[&["GET", "k"][..]][..],
        // nor when it is deleted,
        &[&["DEL", "k"][..]][..],
        // nor by a flush.
        &[&["FLUSHDB"][..]][..],
    ] {
        let _: () = cmd(&mut other, &["SET", "k", "v", "PX", "1"]).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        c.roundtrip(&[b"WATCH", b"k"], b"+OK\r\n").await;
        for ch in step {
            let _: redis::Value = cmd(&mut other, ch).await;
        }
        c.roundtrip(&[b"MULTI"], b"+OK\r\n").await;
        c.roundtrip(&[b"PING"], b"+QUEUED\r\n").await;
        c.roundtrip(&[b"EXEC"], b"*1\r\n+PONG\r\n").await;
    }
    // ...but being written again does.
    let _: () = cmd(&mut other, &["SET", "k", "v", "PX", "1"]).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    c.roundtrip(&[b"WATCH", b"k"], b"+OK\r\n").await;
    let _: () = cmd(&mut other, &["SET", "k", "new"]).await;
    c.roundtrip(&[b"MULTI"], b"+OK\r\n").await;
    c.roundtrip(&[b"PING"], b"+QUEUED\r\n").await;
    c.roundtrip(&[b"EXEC"], b"*-1\r\n").await;
}

#[tokio::test]
async fn unwatch_discard_reset_exec_and_disconnect_forget_watched_keys() {
    let s = TestServer::start();
    let mut other = s.conn().await;
    let mut c = s.raw().await;
    for forget in [&b"UNWATCH"[..], b"DISCARD", b"RESET", b"EXEC"] {
        c.roundtrip(&[b"WATCH", b"k"], b"+OK\r\n").await;
        if forget == b"DISCARD" || forget == b"EXEC" {
            c.roundtrip(&[b"MULTI"], b"+OK\r\n").await;
        }
        c.cmd(&[forget]).await;
        let expected: &[u8] = match forget {
            b"RESET" => b"+RESET\r\n",
            b"EXEC" => b"*0\r\n",
            _ => b"+OK\r\n",
        };
        c.expect(expected).await;
        let _: () = cmd(&mut other, &["SET", "k", "changed"]).await;
        c.roundtrip(&[b"MULTI"], b"+OK\r\n").await;
        c.roundtrip(&[b"PING"], b"+QUEUED\r\n").await;
        c.roundtrip(&[b"EXEC"], b"*1\r\n+PONG\r\n").await;
    }
    // RESET also leaves MULTI.
    c.roundtrip(&[b"MULTI"], b"+OK\r\n").await;
    c.roundtrip(&[b"RESET"], b"+RESET\r\n").await;
    c.roundtrip(&[b"EXEC"], b"-ERR EXEC without MULTI\r\n")
        .await;

    // UNWATCH inside MULTI is queued and runs in EXEC (too late to matter).
    c.roundtrip(&[b"WATCH", b"k"], b"+OK\r\n").await;
    let _: () = cmd(&mut other, &["SET", "k", "again"]).await;
    c.roundtrip(&[b"MULTI"], b"+OK\r\n").await;
    c.roundtrip(&[b"UNWATCH"], b"+QUEUED\r\n").await;
    c.roundtrip(&[b"EXEC"], b"*-1\r\n").await;

    // INFO counts the clients watching and the keys watched (Redis 7.2's fields);
    // EXEC forgot c's.
    let watch_stats = |info: String| -> (String, String) {
        let field = |name: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}:")))
                .unwrap_or_else(|| panic!("no {name}: {info}"))
                .to_string()
        };
        (field("watching_clients"), field("total_watched_keys"))
    };
    let info: String = cmd(&mut other, &["INFO", "clients"]).await;
    assert_eq!(watch_stats(info), ("0".into(), "0".into()));
    // A client that disconnects while watching leaves nothing behind.
    let mut gone = s.raw().await;
    gone.roundtrip(&[b"WATCH", b"a", b"b", b"c"], b"+OK\r\n")
        .await;
    c.roundtrip(&[b"WATCH", b"a", b"d"], b"+OK\r\n").await;
    let info: String = cmd(&mut other, &["INFO", "clients"]).await;
    assert_eq!(watch_stats(info), ("2".into(), "4".into()));
    drop(gone);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let info: String = cmd(&mut other, &["INFO", "clients"]).await;
        if watch_stats(info.clone()) == ("1".into(), "2".into()) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{info}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    c.roundtrip(&[b"UNWATCH"], b"+OK\r\n").await;
    let info: String = cmd(&mut other, &["INFO", "clients"]).await;
    assert_eq!(watch_stats(info), ("0".into(), "0".into()));
}

/// Commands that read the whole keyspace (INFO, MEMORY STATS, BGSAVE) run inside a
/// transaction under its locks and see its earlier writes.
#[tokio::test]
async fn keyspace_wide_readers_inside_a_transaction() {
    let dir = TempDir::new("multi-bgsave");
    let d = dir.str();
    let s = TestServer::with(|c| c.dir = d);
    let mut c = s.conn().await;
    let (_, _, info, stats, _): (String, String, String, redis::Value, String) = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg("a")
        .arg("1")
        .cmd("SET")
        .arg("b")
        .arg("2")
        .cmd("INFO")
        .arg("keyspace")
        .cmd("MEMORY")
        .arg("STATS")
        .cmd("BGSAVE")
        .query_async(&mut c)
        .await
        .expect("exec");
    assert!(info.contains("db0:keys=2,"), "{info}");
    let stats = format!("{stats:?}");
    assert!(stats.contains("keys.count"), "{stats}");
    // The background save wrote both keys.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !dir.dump().exists() {
        assert!(std::time::Instant::now() < deadline, "no dump written");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Blocking commands inside MULTI do not block: they answer as if they timed out
/// (BLPOP, BLMOVE, BZPOPMIN), or serve at once when there is something; and a list
/// write wakes WATCH as any other write does.
#[tokio::test]
async fn blocking_commands_inside_a_transaction_do_not_block() {
    let s = TestServer::start();
    let mut c = s.raw().await;
    c.roundtrip(&[b"MULTI"], b"+OK\r\n").await;
    for cmd in [
        &[&b"BLPOP"[..], b"nolist", b"0"][..],
        &[b"BLMOVE", b"nolist", b"dst", b"LEFT", b"RIGHT", b"0"],
        &[b"BZPOPMIN", b"nozset", b"0"],
        &[b"RPUSH", b"l", b"x"],
        &[b"BLPOP", b"l", b"0"],
    ] {
        c.roundtrip(cmd, b"+QUEUED\r\n").await;
    }
    c.roundtrip(
        &[b"EXEC"],
        b"*5\r\n*-1\r\n$-1\r\n*-1\r\n:1\r\n*2\r\n$1\r\nl\r\n$1\r\nx\r\n",
    )
    .await;

    let mut other = s.conn().await;
    c.roundtrip(&[b"WATCH", b"l"], b"+OK\r\n").await;
    let _: i64 = cmd(&mut other, &["LPUSH", "l", "y"]).await;
    c.roundtrip(&[b"MULTI"], b"+OK\r\n").await;
    c.roundtrip(&[b"LLEN", b"l"], b"+QUEUED\r\n").await;
    c.roundtrip(&[b"EXEC"], b"*-1\r\n").await;
}

/// INFO counts the keys clients are blocked on.
#[tokio::test]
async fn info_counts_blocking_keys() {
    let s = TestServer::start();
    let mut blocked = s.raw().await;
    blocked.cmd(&[b"BLPOP", b"q1", b"q2", b"0"]).await;
    let mut c = s.conn().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let info: String = cmd(&mut c, &["INFO", "clients"]).await;
        if info.contains("total_blocking_keys:2\r\n") {
            assert!(info.contains("blocked_clients:1\r\n"), "{info}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{info}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _: i64 = cmd(&mut c, &["RPUSH", "q2", "x"]).await;
    blocked.expect(b"*2\r\n$2\r\nq2\r\n$1\r\nx\r\n").await;
    let info: String = cmd(&mut c, &["INFO", "clients"]).await;
    assert!(info.contains("total_blocking_keys:0\r\n"), "{info}");
}

/// SNAPSHOT CREATE, LIST, MERGE, RESTORE and DROP run inside EXEC under the
/// transaction's locks: a transaction that snapshots, overwrites every key and
/// restores the snapshot is one step for concurrent readers, who never see any of
/// its writes; MERGE and LIST see the transaction's own earlier writes.
#[tokio::test]
async fn snapshot_commands_inside_a_transaction() {
    let s = TestServer::start();
    let mut con = s.conn().await;
    // Keys spread over many shards.
    let keys: Vec<String> = (0..32).map(|i| format!("k{i}")).collect();
    for k in &keys {
        let _: () = cmd(&mut con, &["SET", k, "0"]).await;
    }
    let writer = {
        let client = s.client();
        let keys = keys.clone();
        tokio::task::spawn_blocking(move || {
            let mut con = client.get_connection().expect("connect");
            for round in 0..200 {
                let name = format!("s{round}");
                let mut p = redis::pipe();
                p.atomic().cmd("SNAPSHOT").arg("CREATE").arg(&name);
                for k in &keys {
                    p.cmd("SET").arg(k).arg("x");
                }
                p.cmd("SNAPSHOT").arg("RESTORE").arg(&name);
                p.cmd("SNAPSHOT").arg("DROP").arg(&name);
                let replies: Vec<redis::Value> = p.query(&mut con).expect("exec");
                assert_eq!(replies.len(), keys.len() + 3, "{replies:?}");
                assert_eq!(
                    replies[0],
                    redis::Value::BulkString(name.into_bytes()),
                    "{replies:?}"
                );
                assert_eq!(replies[keys.len() + 1], redis::Value::Okay);
                assert_eq!(replies[keys.len() + 2], redis::Value::Int(1));
            }
        })
    };
    let mut mget = vec!["MGET"];
    mget.extend(keys.iter().map(String::as_str));
    let mut reads = 0;
    loop {
        let done = writer.is_finished();
        let values: Vec<String> = cmd(&mut con, &mget).await;
        assert!(values.iter().all(|v| v == "0"), "saw {values:?}");
        reads += 1;
        if done {
            break;
        }
    }
    writer.await.expect("writer");
    assert!(reads > 1);
    // MERGE and LIST inside a transaction, after its own writes.
    let replies: Vec<redis::Value> = redis::pipe()
        .atomic()
        .cmd("SNAPSHOT")
        .arg("CREATE")
        .arg("t")
        .cmd("DEL")
        .arg("k0")
        .cmd("SET")
        .arg("k1")
        .arg("changed")
        .cmd("SNAPSHOT")
        .arg("MERGE")
        .arg("t")
        .arg("KEEP")
        .cmd("SNAPSHOT")
        .arg("LIST")
        .cmd("SNAPSHOT")
        .arg("DROP")
        .arg("t")
        .query_async(&mut con)
        .await
        .expect("exec");
    assert_eq!(replies[0], redis::Value::BulkString(b"t".to_vec()));
    assert_eq!(replies[1], redis::Value::Int(1));
    // KEEP restores the deleted key only.
    assert_eq!(replies[3], redis::Value::Int(1), "{replies:?}");
    match &replies[4] {
        redis::Value::Array(list) => assert_eq!(list.len(), 1, "{list:?}"),
        other => panic!("SNAPSHOT LIST replied {other:?}"),
    }
    assert_eq!(replies[5], redis::Value::Int(1));
    let (k0, k1): (String, String) = cmd(&mut con, &["MGET", "k0", "k1"]).await;
    assert_eq!((k0.as_str(), k1.as_str()), ("0", "changed"));
    let left: Vec<redis::Value> = cmd(&mut con, &["SNAPSHOT", "LIST"]).await;
    assert!(left.is_empty(), "{left:?}");
}

/// Plays `steps` on one connection to `port`; returns every reply, as text.
fn transcript(port: u16, steps: &[&[&str]]) -> Vec<String> {
    let mut w = Wire::connect(("127.0.0.1", port));
    steps
        .iter()
        .map(|args| String::from_utf8_lossy(&w.call(args)).into_owned())
        .collect()
}

/// DEBUG as redis-server 7.0 runs it, in and out of MULTI: refused with the default
/// `enable-debug-command no` (inside MULTI the refusal aborts the transaction), queued
/// and run in EXEC when allowed (an unknown subcommand is a runtime error there),
/// refused while queueing for a wrong arity; `enable-debug-command` is immutable.
#[test]
fn debug_in_and_out_of_a_transaction_as_redis() {
    let refused: &[&[&str]] = &[
        &["MULTI"],
        &["DEBUG", "SLEEP", "0"],
        &["SET", "k", "v"],
        &["EXEC"],
        &["GET", "k"],
        &["DEBUG", "SET-ACTIVE-EXPIRE", "1"],
        &["DEBUG"],
        &["CONFIG", "GET", "enable-debug-command"],
        &["CONFIG", "SET", "enable-debug-command", "yes"],
    ];
    let allowed: &[&[&str]] = &[
        &["MULTI"],
        &["DEBUG", "SLEEP", "0"],
        &["DEBUG", "NOPE"],
        &["DEBUG", "sleep", "0.01", "extra"],
        &["DEBUG", "SET-ACTIVE-EXPIRE", "1"],
        &["SET", "k", "v"],
        &["DEBUG", "LOG", "from a transaction"],
        &["EXEC"],
        &["MULTI"],
        &["DEBUG"],
        &["EXEC"],
        &["GET", "k"],
        &["DEBUG", "SLEEP", "-1"],
        &["DEBUG", "SLEEP", "abc"],
        &["DEBUG", "log"],
        &["CONFIG", "GET", "enable-debug-command"],
    ];
    let redis = RedisServer::start();
    let want = transcript(redis.port, refused);
    let s = TestServer::start();
    assert_eq!(transcript(s.addr.port(), refused), want);
    assert!(want[3].starts_with("-EXECABORT"), "{want:?}");

    let redis = RedisServer::start_with(&["--enable-debug-command", "local"]);
    let want = transcript(redis.port, allowed);
    let s = TestServer::with(|c| c.enable_debug_command = "local".into());
    assert_eq!(transcript(s.addr.port(), allowed), want);
    assert!(want[7].starts_with("*6\r\n+OK\r\n-ERR"), "{want:?}");
}

/// DEBUG SET-ACTIVE-EXPIRE 0 stops the background expiry (an expired key stays
/// until touched); 1 resumes it. DEBUG HELP lists the subcommands Shoal has.
#[tokio::test]
async fn debug_set_active_expire_and_help() {
    let s = TestServer::with(|c| c.enable_debug_command = "yes".into());
    let mut c = s.conn().await;
    let _: () = cmd(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]).await;
    let _: () = cmd(&mut c, &["SET", "gone", "v", "PX", "1"]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(info_field(&mut c, "expired_keys").await, "0");
    let _: () = cmd(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"]).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while info_field(&mut c, "expired_keys").await != "1" {
        assert!(std::time::Instant::now() < deadline, "never expired");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let help: Vec<String> = cmd(&mut c, &["DEBUG", "HELP"]).await;
    assert_eq!(
        help[0],
        "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    );
    for sub in [
        "LOG <message>",
        "SET-ACTIVE-EXPIRE <0|1>",
        "SLEEP <seconds>",
        "HELP",
    ] {
        assert!(help.iter().any(|l| l == sub), "{sub}: {help:?}");
    }
}

/// WATCH and expiry, made deterministic with DEBUG SET-ACTIVE-EXPIRE, played on
/// one connection; the replies, as text. With background expiry off: a key already
/// expired when watched fails nothing, whether untouched or reclaimed by a read; a
/// write to it fails EXEC, and so does a key that expires after WATCH. With it on, a
/// key nobody touches that active expiry removes fails EXEC.
fn watch_expiry_transcript(port: u16) -> Vec<String> {
    let mut w = Wire::connect(("127.0.0.1", port));
    let mut out = Vec::new();
    let mut call = |w: &mut Wire, args: &[&str]| {
        out.push(String::from_utf8_lossy(&w.call(args)).into_owned());
    };
    let pause = |ms| std::thread::sleep(Duration::from_millis(ms));
    call(&mut w, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    for between in [&[][..], &[&["GET", "k"][..]], &[&["SET", "k", "new"][..]]] {
        call(&mut w, &["SET", "k", "v", "PX", "1"]);
        pause(10);
        call(&mut w, &["WATCH", "k"]);
        for args in between {
            call(&mut w, args);
        }
        call(&mut w, &["MULTI"]);
        call(&mut w, &["PING"]);
        call(&mut w, &["EXEC"]);
    }
    // Long enough to be live when watched, however slow the machine.
    call(&mut w, &["SET", "k", "v", "PX", "400"]);
    call(&mut w, &["WATCH", "k"]);
    pause(800);
    call(&mut w, &["MULTI"]);
    call(&mut w, &["PING"]);
    call(&mut w, &["EXEC"]);
    call(&mut w, &["DBSIZE"]);
    // Background expiry on: the key goes without anyone touching it.
    call(&mut w, &["FLUSHALL"]);
    call(&mut w, &["CONFIG", "RESETSTAT"]);
    call(&mut w, &["SET", "k", "v", "PX", "400"]);
    call(&mut w, &["WATCH", "k"]);
    call(&mut w, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let info = String::from_utf8_lossy(&w.call(&["INFO", "stats"])).into_owned();
        if info.contains("\r\nexpired_keys:1\r\n") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never expired");
        pause(20);
    }
    call(&mut w, &["MULTI"]);
    call(&mut w, &["PING"]);
    call(&mut w, &["EXEC"]);
    out
}

#[test]
fn watch_and_expiry_step_by_step_as_redis() {
    let redis = RedisServer::start_with(&["--enable-debug-command", "yes"]);
    let want = watch_expiry_transcript(redis.port);
    let s = TestServer::with(|c| c.enable_debug_command = "yes".into());
    let got = watch_expiry_transcript(s.addr.port());
    assert_eq!(got, want);
    let execs: Vec<&str> = want
        .iter()
        .filter(|r| r.starts_with('*'))
        .map(String::as_str)
        .collect();
    assert_eq!(
        execs,
        [
            "*1\r\n+PONG\r\n",
            "*1\r\n+PONG\r\n",
            "*-1\r\n",
            "*-1\r\n",
            "*-1\r\n"
        ]
    );
}
