//! DUMP and RESTORE: options and errors as Redis 7.0.15 answers them, and payloads
//! moving both ways between a real `redis-server` (package redis-server) and Shoal
//! for every type and encoding.

use redis::aio::MultiplexedConnection;

use crate::common::*;

async fn dump(c: &mut MultiplexedConnection, key: &str) -> Option<Vec<u8>> {
    redis::cmd("DUMP").arg(key).query_async(c).await.unwrap()
}

async fn restore(c: &mut MultiplexedConnection, key: &str, payload: &[u8]) -> String {
    redis::cmd("RESTORE")
        .arg(key)
        .arg(0)
        .arg(payload)
        .query_async(c)
        .await
        .unwrap_or_else(|e| panic!("RESTORE {key}: {e}"))
}

/// A key's type and contents, comparable between servers.
async fn contents(c: &mut MultiplexedConnection, key: &str) -> (String, Vec<Vec<u8>>) {
    let t: String = cmd(c, &["TYPE", key]).await;
    let mut v: Vec<Vec<u8>> = match t.as_str() {
        "string" => vec![cmd(c, &["GET", key]).await],
        "hash" => cmd(c, &["HGETALL", key]).await,
        "list" => cmd(c, &["LRANGE", key, "0", "-1"]).await,
        "set" => cmd(c, &["SMEMBERS", key]).await,
        "zset" => cmd(c, &["ZRANGE", key, "0", "-1", "WITHSCORES"]).await,
        other => panic!("unexpected type {other}"),
    };
    match t.as_str() {
        "set" => v.sort(),
        "hash" => {
            let mut pairs: Vec<Vec<u8>> = v.chunks(2).map(|p| p.concat()).collect();
            pairs.sort();
            v = pairs;
        }
        _ => {}
    }
    (t, v)
}

/// Fills `c` with one key per type and encoding; returns (key, Redis's encoding).
async fn populate(c: &mut MultiplexedConnection) -> Vec<(&'static str, &'static str)> {
    cmd::<()>(c, &["SET", "s-int", "12345"]).await;
    cmd::<()>(c, &["SET", "s-neg", "-9000000000"]).await;
    cmd::<()>(c, &["SET", "s-raw", &"hello world ".repeat(30)]).await;
    cmd::<()>(c, &["SET", "s-bin", "a\u{0}b\r\n"]).await;
    cmd::<()>(c, &["HSET", "h-small", "f1", "v1", "f2", "22"]).await;
    for i in 0..600 {
        cmd::<()>(c, &["HSET", "h-big", &format!("field{i}"), &format!("{i}")]).await;
    }
    for i in 0..300 {
        cmd::<()>(c, &["RPUSH", "l-big", &format!("item{i}")]).await;
        cmd::<()>(c, &["SADD", "set-big", &format!("m{i}")]).await;
        cmd::<()>(
            c,
            &["ZADD", "z-big", &format!("{}.5", i % 7), &format!("m{i}")],
        )
        .await;
    }
    cmd::<()>(c, &["RPUSH", "l-small", "a", "1", "-2", "ccc"]).await;
    cmd::<()>(c, &["SADD", "set-int", "1", "-5", "70000", "5000000000"]).await;
    cmd::<()>(c, &["SADD", "set-str", "x", "y"]).await;
    cmd::<()>(c, &["ZADD", "z-small", "1", "a", "-2.5", "b", "inf", "c"]).await;
    vec![
        ("s-int", "int"),
        ("s-neg", "int"),
        ("s-raw", "raw"),
        ("s-bin", "embstr"),
        ("h-small", "listpack"),
        ("h-big", "hashtable"),
        ("l-small", "quicklist"),
        ("l-big", "quicklist"),
        ("set-int", "intset"),
        ("set-str", "hashtable"),
        ("set-big", "hashtable"),
        ("z-small", "listpack"),
        ("z-big", "skiplist"),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn payloads_move_between_redis_and_shoal_both_ways() {
    let (_redis, mut r) = RedisServer::with_conn().await;
    let s = TestServer::start();
    let mut c = s.conn().await;
    let keys = populate(&mut r).await;
    for (key, encoding) in keys {
        let enc: String = cmd(&mut r, &["OBJECT", "ENCODING", key]).await;
        assert_eq!(enc, encoding, "{key} in redis");
        let want = contents(&mut r, key).await;
        // Redis -> Shoal.
        let payload = dump(&mut r, key).await.unwrap();
        assert_eq!(restore(&mut c, key, &payload).await, "OK");
        assert_eq!(contents(&mut c, key).await, want, "{key} in Shoal");
        // Shoal -> Redis.
        let back = dump(&mut c, key).await.unwrap();
        let copy = format!("{key}-back");
        assert_eq!(restore(&mut r, &copy, &back).await, "OK");
        assert_eq!(contents(&mut r, &copy).await, want, "{key} back in redis");
        let enc: String = cmd(&mut r, &["OBJECT", "ENCODING", &copy]).await;
        if key.starts_with("set-") || key.starts_with("z-") || key == "s-int" {
            assert_eq!(enc, encoding, "{key} back in redis");
        }
    }
    // A small string payload is byte for byte Redis's (compressed ones are not: the
    // LZF compressors differ, both decode the other's).
    assert_eq!(dump(&mut c, "s-int").await, dump(&mut r, "s-int").await);
    assert_eq!(dump(&mut c, "s-bin").await, dump(&mut r, "s-bin").await);
    s.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn restore_options_and_errors_are_redis_s() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    assert_eq!(dump(&mut c, "missing").await, None);
    cmd::<()>(&mut c, &["SET", "k", "hello"]).await;
    let p = dump(&mut c, "k").await.unwrap();
    let restore_with = |key: &'static str, ttl: &'static str, p: Vec<u8>, opts: &[&str]| {
        let mut cmd = redis::cmd("RESTORE");
        cmd.arg(key).arg(ttl).arg(p);
        for o in opts {
            cmd.arg(*o);
        }
        cmd
    };
    let shared = c.clone();
    let run = move |cmd: redis::Cmd| {
        let mut c = shared.clone();
        async move {
            cmd.query_async::<redis::Value>(&mut c)
                .await
                .map_err(|e| error_text(&e))
        }
    };
    let e = |r: Result<redis::Value, String>| r.unwrap_err();
    assert_eq!(
        e(run(restore_with("k", "0", p.clone(), &[])).await),
        "BUSYKEY Target key name already exists."
    );
    assert_eq!(
        e(run(restore_with("n", "-1", p.clone(), &[])).await),
        "ERR Invalid TTL value, must be >= 0"
    );
    assert_eq!(
        e(run(restore_with("n", "x", p.clone(), &[])).await),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        e(run(restore_with("n", "0", b"x".to_vec(), &[])).await),
        "ERR DUMP payload version or checksum are wrong"
    );
    let mut flipped = p.clone();
    flipped[2] ^= 1;
    assert_eq!(
        e(run(restore_with("n", "0", flipped, &[])).await),
        "ERR DUMP payload version or checksum are wrong"
    );
    // Options come first: a bad option beats BUSYKEY.
    for (opts, want) in [
        (&["foo"][..], "ERR syntax error"),
        (
            &["idletime", "-1"],
            "ERR Invalid IDLETIME value, must be >= 0",
        ),
        (
            &["freq", "256"],
            "ERR Invalid FREQ value, must be >= 0 and <= 255",
        ),
        (&["idletime", "5", "freq", "5"], "ERR syntax error"),
        (&["freq", "5", "idletime", "5"], "ERR syntax error"),
        (&["idletime"], "ERR syntax error"),
        (
            &["idletime", "x"],
            "ERR value is not an integer or out of range",
        ),
    ] {
        assert_eq!(e(run(restore_with("k", "0", p.clone(), opts)).await), want);
    }
    // A valid footer over a value that does not parse.
    let mut bad = b"\x00\x09hello".to_vec();
    bad.extend_from_slice(&p[p.len() - 10..p.len() - 8]);
    let crc = shoal_storage::rdb::crc64::update(0, &bad);
    bad.extend_from_slice(&crc.to_le_bytes());
    assert_eq!(
        e(run(restore_with("n", "0", bad, &[])).await),
        "ERR Bad data format"
    );
    // REPLACE, a relative TTL, IDLETIME.
    cmd::<()>(&mut c, &["SET", "k2", "other"]).await;
    run(restore_with(
        "k2",
        "100000",
        p.clone(),
        &["REPLACE", "IDLETIME", "1000"],
    ))
    .await
    .unwrap();
    let idle: i64 = cmd(&mut c, &["OBJECT", "IDLETIME", "k2"]).await;
    assert!((1000..1010).contains(&idle), "{idle}");
    assert_eq!(cmd::<String>(&mut c, &["GET", "k2"]).await, "hello");
    let pttl: i64 = cmd(&mut c, &["PTTL", "k2"]).await;
    assert!((90_000..=100_000).contains(&pttl), "{pttl}");
    // ABSTTL in the past with REPLACE deletes the key; FREQ is accepted.
    run(restore_with(
        "k2",
        "1000",
        p.clone(),
        &["REPLACE", "ABSTTL", "FREQ", "3"],
    ))
    .await
    .unwrap();
    assert_eq!(cmd::<i64>(&mut c, &["EXISTS", "k2"]).await, 0);
    run(restore_with("k3", "0", p.clone(), &["FREQ", "3"]))
        .await
        .unwrap();
    assert_eq!(cmd::<i64>(&mut c, &["TTL", "k3"]).await, -1);
    s.stop();
}
