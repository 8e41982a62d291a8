//! Keyspace notifications (`notify-keyspace-events`) over TCP: a real subscriber
//! (the `redis` crate's pub/sub client, PSUBSCRIBEd to `__key*`) sees exactly the
//! channels and payloads Redis 7.0 publishes, each class letter filters its events,
//! and CONFIG SET/GET of the flags answer as redis-server 7.0.15 does (compared with a
//! real one).
//!
//! Every check ends with a PUBLISH on a sentinel channel the subscriber also listens
//! to: notifications are published while the command runs, so everything before the
//! sentinel is everything the commands published.

use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{MultiplexedConnection, PubSub};

use crate::common::*;

const END: &str = "end-of-events";

/// A subscriber to every keyspace and keyevent channel (and the sentinel).
async fn listen(s: &TestServer) -> PubSub {
    listen_on(s.client()).await
}

/// [`listen`] on any server (Shoal or the reference redis-server).
async fn listen_on(client: redis::Client) -> PubSub {
    let mut ps = client.get_async_pubsub().await.expect("pubsub");
    ps.psubscribe("__key*__:*").await.expect("psubscribe");
    ps.subscribe(END).await.expect("subscribe");
    ps
}

/// Everything published to `ps` until now, as (channel, payload) pairs.
async fn events(ps: &mut PubSub, c: &mut MultiplexedConnection) -> Vec<(String, String)> {
    let _: i64 = cmd(c, &["PUBLISH", END, "x"]).await;
    let mut out = Vec::new();
    let mut stream = ps.on_message();
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("message in time")
            .expect("stream open");
        let channel = msg.get_channel_name().to_string();
        if channel == END {
            return out;
        }
        let payload: String = msg.get_payload().expect("payload");
        out.push((channel, payload));
    }
}

/// Commands, each a word list.
type Script<'a> = &'a [&'a [&'a str]];

/// Runs `commands` (each a word list) on `c`, ignoring their replies.
async fn run(c: &mut MultiplexedConnection, commands: &[&[&str]]) {
    for words in commands {
        let mut cmd = redis::cmd(words[0]);
        for w in &words[1..] {
            cmd.arg(*w);
        }
        let _: redis::Value = cmd.query_async(c).await.expect("command runs");
    }
}

async fn set_flags(c: &mut MultiplexedConnection, flags: &str) {
    let _: () = cmd(c, &["CONFIG", "SET", "notify-keyspace-events", flags]).await;
}

/// The pairs both `K` and `E` publish for `events` (key, event) in database `db`.
fn both(db: usize, events: &[(&str, &str)]) -> Vec<(String, String)> {
    events
        .iter()
        .flat_map(|(key, ev)| {
            [
                (format!("__keyspace@{db}__:{key}"), ev.to_string()),
                (format!("__keyevent@{db}__:{ev}"), key.to_string()),
            ]
        })
        .collect()
}

#[tokio::test]
async fn disabled_publishes_nothing() {
    let s = TestServer::start();
    let mut ps = listen(&s).await;
    let mut c = s.conn().await;
    run(
        &mut c,
        &[
            &["SET", "k", "v", "EX", "100"],
            &["HSET", "h", "f", "v"],
            &["INCR", "n"],
            &["DEL", "k", "h"],
        ],
    )
    .await;
    assert_eq!(events(&mut ps, &mut c).await, vec![]);
    // Flags without K or E publish nothing either.
    set_flags(&mut c, "A").await;
    run(&mut c, &[&["SET", "k", "v"]]).await;
    assert_eq!(events(&mut ps, &mut c).await, vec![]);
    // Nor do K and E without a class.
    set_flags(&mut c, "KE").await;
    run(&mut c, &[&["SET", "k", "v"]]).await;
    assert_eq!(events(&mut ps, &mut c).await, vec![]);
}

#[tokio::test]
async fn channel_names_and_payloads_per_command() {
    let s = TestServer::start();
    let mut ps = listen(&s).await;
    let mut c = s.conn().await;
    set_flags(&mut c, "KEA").await;
    let cases: &[(Script, &[(&str, &str)])] = &[
        (&[&["SET", "k", "v"]], &[("k", "set")]),
        (
            &[&["SET", "k", "v", "EX", "100"]],
            &[("k", "set"), ("k", "expire")],
        ),
        (
            &[&["SETEX", "k", "100", "v"]],
            &[("k", "set"), ("k", "expire")],
        ),
        (&[&["APPEND", "k", "w"]], &[("k", "append")]),
        (&[&["SETRANGE", "k", "0", "x"]], &[("k", "setrange")]),
        (&[&["EXPIRE", "k", "100"]], &[("k", "expire")]),
        (&[&["PERSIST", "k"]], &[("k", "persist")]),
        // Nothing to persist: no event.
        (&[&["PERSIST", "k"]], &[]),
        (&[&["DEL", "k", "absent"]], &[("k", "del")]),
        (&[&["INCR", "n"]], &[("n", "incrby")]),
        (&[&["DECRBY", "n", "5"]], &[("n", "incrby")]),
        (&[&["INCRBYFLOAT", "n", "1.5"]], &[("n", "incrbyfloat")]),
        (
            &[&["MSET", "a", "1", "b", "2"]],
            &[("a", "set"), ("b", "set")],
        ),
        (
            &[&["RENAME", "a", "c"]],
            &[("a", "rename_from"), ("c", "rename_to")],
        ),
        (&[&["COPY", "c", "d"]], &[("d", "copy_to")]),
        (&[&["GETDEL", "d"]], &[("d", "del")]),
        (&[&["HSET", "h", "f", "v", "g", "w"]], &[("h", "hset")]),
        (&[&["HINCRBY", "h", "i", "1"]], &[("h", "hincrby")]),
        (
            &[&["HINCRBYFLOAT", "h", "i", "1.5"]],
            &[("h", "hincrbyfloat")],
        ),
        (&[&["HDEL", "h", "f", "g"]], &[("h", "hdel")]),
        // The last field gone: the hash is deleted too.
        (&[&["HDEL", "h", "i"]], &[("h", "hdel"), ("h", "del")]),
        // An EXPIRE in the past deletes the key.
        (&[&["EXPIRE", "c", "-1"]], &[("c", "del")]),
    ];
    for (commands, expected) in cases {
        run(&mut c, commands).await;
        assert_eq!(
            events(&mut ps, &mut c).await,
            both(0, expected),
            "after {commands:?}"
        );
    }
}

#[tokio::test]
async fn move_publishes_in_both_databases_and_select_sets_the_index() {
    let s = TestServer::start();
    let mut ps = listen(&s).await;
    let mut c = s.conn().await;
    set_flags(&mut c, "KEg$").await;
    run(&mut c, &[&["SET", "k", "v"], &["MOVE", "k", "3"]]).await;
    let mut expected = both(0, &[("k", "set"), ("k", "move_from")]);
    expected.extend(both(3, &[("k", "move_to")]));
    assert_eq!(events(&mut ps, &mut c).await, expected);
    run(
        &mut c,
        &[&["SELECT", "3"], &["DEL", "k"], &["SET", "x", "1"]],
    )
    .await;
    assert_eq!(
        events(&mut ps, &mut c).await,
        both(3, &[("k", "del"), ("x", "set")])
    );
}

#[tokio::test]
async fn keyspace_only_and_keyevent_only() {
    let s = TestServer::start();
    let mut ps = listen(&s).await;
    let mut c = s.conn().await;
    set_flags(&mut c, "K$").await;
    run(&mut c, &[&["SET", "k", "v"]]).await;
    assert_eq!(
        events(&mut ps, &mut c).await,
        vec![("__keyspace@0__:k".to_string(), "set".to_string())]
    );
    set_flags(&mut c, "E$").await;
    run(&mut c, &[&["SET", "k", "v"]]).await;
    assert_eq!(
        events(&mut ps, &mut c).await,
        vec![("__keyevent@0__:set".to_string(), "k".to_string())]
    );
}

/// Each class letter lets through its own events and nothing else.
#[tokio::test]
async fn each_class_letter_filters() {
    let s = TestServer::start();
    let mut ps = listen(&s).await;
    let mut c = s.conn().await;
    let script: &[&[&str]] = &[
        &["SET", "s", "v"],
        &["EXPIRE", "s", "100"],
        &["HSET", "h", "f", "v"],
        &["SET", "gone", "v", "PX", "1"],
        &["DEL", "s", "h"],
    ];
    let cases: &[(&str, &[&str])] = &[
        ("Kg", &["expire", "expire", "del", "del"]),
        ("K$", &["set", "set"]),
        ("Kh", &["hset"]),
        ("Kx", &["expired"]),
        ("Kn", &["new", "new", "new"]),
        ("Kl", &[]),
        ("Ks", &[]),
        ("Kz", &[]),
        ("Ke", &[]),
        ("Kt", &[]),
        ("Kd", &[]),
        // The GET of `gone` after it expired misses.
        ("Km", &["keymiss"]),
    ];
    for (flags, expected) in cases {
        set_flags(&mut c, flags).await;
        run(&mut c, &script[..4]).await;
        // Let `gone` expire, then reach it (lazily, unless active expiry was first).
        tokio::time::sleep(Duration::from_millis(20)).await;
        run(&mut c, &[&["GET", "gone"]]).await;
        run(&mut c, &script[4..]).await;
        let got: Vec<String> = events(&mut ps, &mut c)
            .await
            .into_iter()
            .map(|(_, ev)| ev)
            .collect();
        assert_eq!(got, *expected, "flags {flags}");
    }
}

#[tokio::test]
async fn expired_keys_are_published_lazily_and_actively() {
    let s = TestServer::start();
    let mut ps = listen(&s).await;
    let mut c = s.conn().await;
    set_flags(&mut c, "Ex").await;
    // Lazily: a GET reaches the key past its time.
    run(&mut c, &[&["SET", "lazy", "v", "PX", "1"]]).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let v: Option<String> = cmd(&mut c, &["GET", "lazy"]).await;
    assert_eq!(v, None);
    assert_eq!(
        events(&mut ps, &mut c).await,
        vec![("__keyevent@0__:expired".to_string(), "lazy".to_string())]
    );
    // Actively: nobody touches the key; the expiry cycle removes it.
    run(
        &mut c,
        &[&["SELECT", "2"], &["SET", "active", "v", "PX", "50"]],
    )
    .await;
    let mut stream = ps.on_message();
    let msg = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("expired in time")
        .expect("stream open");
    assert_eq!(msg.get_channel_name(), "__keyevent@2__:expired");
    assert_eq!(msg.get_payload::<String>().unwrap(), "active");
}

#[tokio::test]
async fn new_keys() {
    let s = TestServer::start();
    let mut ps = listen(&s).await;
    let mut c = s.conn().await;
    // `n` is not part of `A`; with it, `new` comes before the command's event.
    set_flags(&mut c, "KEAn").await;
    let flags: Vec<String> = cmd(&mut c, &["CONFIG", "GET", "notify-keyspace-events"]).await;
    assert_eq!(flags[1], "AKE");
    run(
        &mut c,
        &[
            &["SET", "k", "1"],
            &["SET", "k", "2"],
            &["INCR", "n"],
            &["HSET", "h", "f", "v"],
            &["HSET", "h", "g", "v"],
        ],
    )
    .await;
    assert_eq!(
        events(&mut ps, &mut c).await,
        both(
            0,
            &[
                ("k", "new"),
                ("k", "set"),
                ("k", "set"),
                ("n", "new"),
                ("n", "incrby"),
                ("h", "new"),
                ("h", "hset"),
                ("h", "hset"),
            ]
        )
    );
    // A key written again after it expired is new again.
    set_flags(&mut c, "En").await;
    run(&mut c, &[&["SET", "k", "v", "PX", "1"]]).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    run(&mut c, &[&["SET", "k", "v"]]).await;
    assert_eq!(
        events(&mut ps, &mut c).await,
        vec![("__keyevent@0__:new".to_string(), "k".to_string())]
    );
}

/// Whole-database changes publish nothing, as in Redis.
#[tokio::test]
async fn flushes_and_swapdb_publish_nothing() {
    let s = TestServer::start();
    let mut ps = listen(&s).await;
    let mut c = s.conn().await;
    run(&mut c, &[&["SET", "k", "v"]]).await;
    set_flags(&mut c, "KEA").await;
    run(
        &mut c,
        &[&["SWAPDB", "0", "1"], &["FLUSHDB"], &["FLUSHALL"]],
    )
    .await;
    assert_eq!(events(&mut ps, &mut c).await, vec![]);
}

/// CONFIG SET and GET of the flags answer as redis-server 7.0.15 does.
#[tokio::test]
async fn config_matches_redis() {
    let redis = RedisServer::start();
    let mut r = redis.conn(false).await;
    let s = TestServer::start();
    let mut c = s.conn().await;
    let get = |v: Vec<String>| v.get(1).cloned().unwrap_or_default();
    let initial: Vec<String> = cmd(&mut c, &["CONFIG", "GET", "notify-keyspace-events"]).await;
    assert_eq!(get(initial), "");
    let values = [
        "KEA",
        "A",
        "K",
        "E",
        "gxe",
        "$lshzxetd",
        "Ag$",
        "KEAm",
        "KEAn",
        "Kg",
        "Kn",
        "KEdt",
        "mn",
        "ntdexzhsl$gmEK",
        "Kzxehsl$g",
        "xyz",
        "kea",
        "KEA ",
        " ",
        "K,E",
        "",
    ];
    for v in values {
        let mut answers = Vec::new();
        for conn in [&mut r, &mut c] {
            let set = try_cmd::<()>(conn, &["CONFIG", "SET", "notify-keyspace-events", v])
                .await
                .map_err(|e| error_text(&e));
            let shown: Vec<String> = cmd(conn, &["CONFIG", "GET", "notify-keyspace-events"]).await;
            answers.push((set, get(shown)));
        }
        assert_eq!(
            answers[1], answers[0],
            "CONFIG SET notify-keyspace-events {v:?}"
        );
    }
    // The texts, in case the reference ever drifts.
    let e = err(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "KEq"]).await;
    assert_eq!(
        e,
        "ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - \
         Invalid event class character. Use 'Ag$lshzxeKEtmdn'."
    );
    let _: () = cmd(
        &mut c,
        &["CONFIG", "SET", "notify-keyspace-events", "ExKl$"],
    )
    .await;
    let shown: Vec<String> = cmd(&mut c, &["CONFIG", "GET", "notify-keyspace-events"]).await;
    assert_eq!(get(shown), "$lxKE");
}

/// Lists, sets and sorted sets publish Redis 7.0's event names under their class
/// letters (l, s, z), checked against what redis-server 7.0.15 publishes for the same
/// commands.
#[tokio::test]
async fn list_set_and_zset_events() {
    let s = TestServer::start();
    let mut ps = listen(&s).await;
    let mut c = s.conn().await;
    let _: () = cmd(&mut c, &["SET", "pre", "x"]).await;
    set_flags(&mut c, "KElsz").await;
    let cases: &[(Script, &[(&str, &str)])] = &[
        (&[&["RPUSH", "l", "a", "b", "c"]], &[("l", "rpush")]),
        (&[&["LPOP", "l"]], &[("l", "lpop")]),
        // The push is published before the pop, as Redis 7.0 does.
        (
            &[&["LMOVE", "l", "m", "LEFT", "RIGHT"]],
            &[("m", "rpush"), ("l", "lpop")],
        ),
        (&[&["LTRIM", "l", "0", "0"]], &[("l", "ltrim")]),
        (&[&["SADD", "s", "1", "2"]], &[("s", "sadd")]),
        (&[&["SREM", "s", "1"]], &[("s", "srem")]),
        (&[&["SINTERSTORE", "s2", "s"]], &[("s2", "sinterstore")]),
        (
            &[&["ZADD", "z", "1", "a", "2", "b", "3", "c"]],
            &[("z", "zadd")],
        ),
        (&[&["ZINCRBY", "z", "1", "a"]], &[("z", "zincr")]),
        (
            &[&["ZREMRANGEBYSCORE", "z", "3", "3"]],
            &[("z", "zremrangebyscore")],
        ),
        (&[&["ZPOPMIN", "z"]], &[("z", "zpopmin")]),
    ];
    for (commands, expected) in cases {
        run(&mut c, commands).await;
        assert_eq!(
            events(&mut ps, &mut c).await,
            both(0, expected),
            "{commands:?}"
        );
    }
    // Another class's letters only: a string write publishes nothing.
    run(&mut c, &[&["SET", "pre", "y"]]).await;
    assert_eq!(events(&mut ps, &mut c).await, vec![]);
}

/// `m`: a read that finds no key publishes `keymiss` (GET, EXISTS, HGET, as
/// redis-server 7.0.15 does); writes do not, and neither does a hit.
#[tokio::test]
async fn key_misses() {
    let s = TestServer::start();
    let mut ps = listen(&s).await;
    let mut c = s.conn().await;
    set_flags(&mut c, "KEm").await;
    run(
        &mut c,
        &[
            &["GET", "nokey"],
            &["SET", "a", "1"],
            &["GET", "a"],
            &["EXISTS", "nokey2"],
            &["HGET", "nohash", "f"],
        ],
    )
    .await;
    assert_eq!(
        events(&mut ps, &mut c).await,
        both(
            0,
            &[
                ("nokey", "keymiss"),
                ("nokey2", "keymiss"),
                ("nohash", "keymiss")
            ]
        )
    );
}

/// Runs `commands` on `c`, each reply (or error) ignored: scripts run alike on Shoal
/// and redis-server, whatever they answer.
async fn run_any(c: &mut MultiplexedConnection, commands: &[&[&str]]) {
    for words in commands {
        let mut cmd = redis::cmd(words[0]);
        for w in &words[1..] {
            cmd.arg(*w);
        }
        let _: redis::RedisResult<redis::Value> = cmd.query_async(c).await;
    }
}

/// Runs each script on Shoal and on redis-server 7.0 with `flags` set, and checks that
/// both publish the same events (channels, payloads and order).
async fn same_events_as_redis(flags: &str, scripts: &[Script<'_>]) {
    let redis = RedisServer::start();
    let rclient = redis::Client::open(format!("redis://127.0.0.1:{}/", redis.port)).unwrap();
    let mut rps = listen_on(rclient).await;
    let mut r = redis.conn(false).await;
    let s = TestServer::start();
    let mut ps = listen(&s).await;
    let mut c = s.conn().await;
    set_flags(&mut r, flags).await;
    set_flags(&mut c, flags).await;
    for script in scripts {
        run_any(&mut r, script).await;
        let expected = events(&mut rps, &mut r).await;
        run_any(&mut c, script).await;
        let got = events(&mut ps, &mut c).await;
        assert!(
            !expected.is_empty(),
            "{script:?} publishes nothing in Redis"
        );
        assert_eq!(got, expected, "after {script:?}");
    }
}

/// RENAME, RENAMENX, MOVE and COPY publish `new` for their destination before the
/// source's event, whether or not the destination existed (Redis deletes it and adds
/// the key again), in the order redis-server 7.0.15 publishes.
#[tokio::test]
async fn destinations_are_new_in_redis_order() {
    same_events_as_redis(
        "KEAn",
        &[
            &[&["SET", "a", "1"], &["RENAME", "a", "b"]],
            // Onto an existing key: no `del` for it, `new` all the same.
            &[&["SET", "c", "1"], &["RENAME", "b", "c"]],
            &[
                &["SET", "d", "1"],
                &["RENAMENX", "c", "d"],
                &["RENAMENX", "c", "e"],
            ],
            &[&["MOVE", "e", "3"], &["SET", "e", "2"], &["MOVE", "e", "3"]],
            &[&["SET", "x", "1"], &["COPY", "x", "y"], &["COPY", "x", "y"]],
            &[
                &["COPY", "x", "y", "REPLACE"],
                &["COPY", "x", "w", "DB", "5"],
            ],
            &[
                &["HSET", "h", "f", "v"],
                &["RENAME", "h", "h2"],
                &["COPY", "h2", "h"],
            ],
            &[
                &["RENAME", "nokey", "z"],
                &["COPY", "nokey", "z"],
                &["SET", "z", "1"],
            ],
        ],
    )
    .await;
}

/// `keymiss` for exactly the lookups redis-server 7.0.15 publishes it for: reads
/// (the STORE forms' sources included), not writes, OBJECT or MEMORY USAGE.
#[tokio::test]
async fn key_misses_as_redis() {
    same_events_as_redis(
        "KEAm",
        &[
            &[
                &["GET", "m1"],
                &["MGET", "m2", "m3"],
                &["EXISTS", "m4"],
                &["TYPE", "m5"],
                &["TTL", "m6"],
                &["PTTL", "m7"],
                &["STRLEN", "m8"],
                &["GETRANGE", "m9", "0", "1"],
                &["DUMP", "m10"],
                &["TOUCH", "m11"],
                &["OBJECT", "ENCODING", "m12"],
                &["OBJECT", "IDLETIME", "m13"],
                &["MEMORY", "USAGE", "m14"],
                &["SET", "sentinel", "1"],
            ],
            &[
                &["HGET", "m1", "f"],
                &["HGETALL", "m2"],
                &["HMGET", "m3", "a"],
                &["LRANGE", "m4", "0", "1"],
                &["LINDEX", "m5", "0"],
                &["SMEMBERS", "m6"],
                &["SISMEMBER", "m7", "a"],
                &["ZSCORE", "m8", "a"],
                &["ZRANGE", "m9", "0", "1"],
                &["SINTER", "m10", "m11"],
                &["SINTERCARD", "2", "m12", "m13"],
                &["SORT", "m14"],
                &["SET", "sentinel", "1"],
            ],
            &[
                &["SADD", "s1", "a"],
                &["SINTERSTORE", "d1", "s1", "n1"],
                &["SUNIONSTORE", "d2", "s1", "n2"],
                &["SDIFFSTORE", "d3", "s1", "n3"],
                &["ZUNIONSTORE", "d4", "2", "s1", "n4"],
                &["ZINTERSTORE", "d5", "2", "s1", "n5"],
                &["ZDIFFSTORE", "d6", "2", "s1", "n6"],
                &["SORT", "n7", "STORE", "d7"],
                &["ZRANGESTORE", "d8", "n8", "0", "1"],
                &["COPY", "n9", "d9"],
            ],
            &[
                // Writes look up without publishing a miss.
                &["SMOVE", "w1", "s1", "a"],
                &["LMOVE", "w2", "l", "LEFT", "LEFT"],
                &["EXPIRE", "w3", "10"],
                &["PERSIST", "w4"],
                &["GETDEL", "w5"],
                &["GETEX", "w6"],
                &["INCR", "w7"],
                &["SET", "w8", "1", "GET"],
                &["APPEND", "w9", "x"],
            ],
        ],
    )
    .await;
}

/// The merge family and SNAPSHOT MERGE publish `new` for a key they create, before
/// their own event (`merge`, `restore`); never for a key that existed.
#[tokio::test]
async fn merges_publish_new_for_keys_they_create() {
    let s = TestServer::start();
    let mut ps = listen(&s).await;
    let mut c = s.conn().await;
    set_flags(&mut c, "KEAn").await;
    run(
        &mut c,
        &[
            &["HMERGEVALUES", "h", "SUM", "f", "1"],
            &["HMERGEVALUES", "h", "SUM", "f", "1"],
            &["HMERGE", "h2", "1", "h"],
            &["HMERGE", "h2", "1", "h"],
            &["SET", "a", "1"],
            &["MMERGE", "SUM", "a", "1", "b", "2"],
        ],
    )
    .await;
    assert_eq!(
        events(&mut ps, &mut c).await,
        both(
            0,
            &[
                ("h", "new"),
                ("h", "merge"),
                ("h", "merge"),
                ("h2", "new"),
                ("h2", "merge"),
                // HMERGE writes its destination again (no `new`: it exists).
                ("h2", "merge"),
                ("a", "new"),
                ("a", "set"),
                ("a", "merge"),
                ("b", "new"),
                ("b", "merge"),
            ]
        )
    );
    run(
        &mut c,
        &[
            &["SNAPSHOT", "CREATE", "s"],
            &["DEL", "a"],
            &["SET", "b", "9"],
            &["SNAPSHOT", "MERGE", "s", "REPLACE"],
        ],
    )
    .await;
    let mut got = events(&mut ps, &mut c).await;
    // The merge walks shards, not the order of the keys: its part sorted.
    let head = both(0, &[("a", "del"), ("b", "set")]);
    assert_eq!(got[..4], head[..]);
    let merged = got.split_off(4);
    let mut sorted = merged.clone();
    sorted.sort();
    let mut expected = both(0, &[("a", "new"), ("a", "restore"), ("b", "restore")]);
    expected.sort();
    assert_eq!(sorted, expected);
    let at = |ev: (&str, &str)| {
        merged
            .iter()
            .position(|e| (e.0.as_str(), e.1.as_str()) == ev)
            .unwrap()
    };
    assert!(at(("__keyspace@0__:a", "new")) < at(("__keyspace@0__:a", "restore")));
}
