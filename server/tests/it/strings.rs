//! String commands: GET/SET and its variants, MGET/MSET/MSETNX, APPEND, STRLEN,
//! GETRANGE/SUBSTR, SETRANGE, the INCR family, INCRBYFLOAT and LCS. Replies in RESP2
//! and RESP3, every option and error text (checked against redis-server 7.0), TTL
//! handling, keyspace hit/miss counting, and atomicity under concurrent clients.
//!
//! WRONGTYPE cases need a key of another type; they come when hashes or lists do.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use redis::Value;
use shoal_server::command::flags::*;
use shoal_server::dispatch::TABLE;
use tokio::io::AsyncReadExt;

use crate::common::*;

fn now_ms() -> i64 {
    shoal_server::state::now_ms()
}

/// The key's stored expiry (absolute unix ms), read from the keyspace directly (TTL and
/// PTTL belong to the keys family). `None`: no TTL, or no such live key.
fn stored_expiry(s: &TestServer, key: &str) -> Option<i64> {
    let shared = s.handle().shared();
    let db = shared.keyspace.db(0);
    let h = db.hash(key.as_bytes());
    let shard = db.lock(h);
    shard
        .peek(h, key.as_bytes(), now_ms())
        .and_then(|e| e.expire_at())
}

/// Whether a live key exists (EXISTS belongs to the keys family).
fn exists(s: &TestServer, key: &str) -> bool {
    let shared = s.handle().shared();
    let db = shared.keyspace.db(0);
    let h = db.hash(key.as_bytes());
    let shard = db.lock(h);
    shard.contains(h, key.as_bytes(), now_ms())
}

/// Asserts the key expires about `ms` from now.
fn assert_ttl_about(s: &TestServer, key: &str, ms: i64) {
    let at = stored_expiry(s, key).unwrap_or_else(|| panic!("{key} has no TTL"));
    let left = at - now_ms();
    assert!(
        (ms - 2000..=ms).contains(&left),
        "{key}: expected a TTL of about {ms} ms, got {left} ms"
    );
}

/// A connection for the load tests: the client's default 500 ms response timeout is
/// too short for a debug-build server shared by many busy connections.
async fn patient_conn(s: &TestServer) -> redis::aio::MultiplexedConnection {
    let mut c = s.conn().await;
    c.set_response_timeout(Duration::from_secs(120));
    c
}

/// Runs a command with binary arguments.
async fn bin(c: &mut redis::aio::MultiplexedConnection, args: &[&[u8]]) -> Value {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).expect("command name"));
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query_async(c).await.expect("binary command")
}

// ---------------------------------------------------------------------------------
// GET / SET
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn get_and_set_basics() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    assert_eq!(cmd::<Option<String>>(&mut c, &["GET", "k"]).await, None);
    assert_eq!(cmd::<String>(&mut c, &["SET", "k", "v1"]).await, "OK");
    assert_eq!(cmd::<String>(&mut c, &["GET", "k"]).await, "v1");
    assert_eq!(cmd::<String>(&mut c, &["set", "k", "v2"]).await, "OK");
    assert_eq!(cmd::<String>(&mut c, &["GET", "k"]).await, "v2");
    // Empty values and empty keys are ordinary strings.
    assert_eq!(cmd::<String>(&mut c, &["SET", "", ""]).await, "OK");
    assert_eq!(cmd::<String>(&mut c, &["GET", ""]).await, "");
    // Binary-safe keys and values.
    let key: &[u8] = b"bin\x00\r\nkey";
    let value: &[u8] = b"\x00\xff\r\n\x01value";
    assert_eq!(bin(&mut c, &[b"SET", key, value]).await, Value::Okay);
    assert_eq!(
        bin(&mut c, &[b"GET", key]).await,
        Value::BulkString(value.to_vec())
    );
    // A large value round-trips.
    let big = "x".repeat(300_000);
    assert_eq!(cmd::<String>(&mut c, &["SET", "big", &big]).await, "OK");
    assert_eq!(cmd::<String>(&mut c, &["GET", "big"]).await, big);

    let mut r = s.raw().await;
    r.roundtrip(&[b"GET", b"missing"], b"$-1\r\n").await;
    r.roundtrip(&[b"SET", b"a", b"1"], b"+OK\r\n").await;
    r.roundtrip(&[b"GET", b"a"], b"$1\r\n1\r\n").await;
}

#[tokio::test]
async fn set_nx_xx_get() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    // NX: only when missing; a refusal is a null reply.
    assert_eq!(cmd::<String>(&mut c, &["SET", "k", "a", "NX"]).await, "OK");
    assert_eq!(
        cmd::<Option<String>>(&mut c, &["SET", "k", "b", "nx"]).await,
        None
    );
    assert_eq!(cmd::<String>(&mut c, &["GET", "k"]).await, "a");
    // XX: only when present.
    assert_eq!(
        cmd::<Option<String>>(&mut c, &["SET", "new", "b", "XX"]).await,
        None
    );
    assert!(!exists(&s, "new"));
    assert_eq!(cmd::<String>(&mut c, &["SET", "k", "b", "Xx"]).await, "OK");
    assert_eq!(cmd::<String>(&mut c, &["GET", "k"]).await, "b");
    // The same flag twice is accepted.
    assert_eq!(
        cmd::<Option<String>>(&mut c, &["SET", "k", "z", "NX", "NX"]).await,
        None
    );
    // GET returns the old value (null when missing) and still writes.
    assert_eq!(
        cmd::<Option<String>>(&mut c, &["SET", "k", "c", "GET"]).await,
        Some("b".into())
    );
    assert_eq!(
        cmd::<Option<String>>(&mut c, &["SET", "g", "1", "get"]).await,
        None
    );
    assert_eq!(cmd::<String>(&mut c, &["GET", "g"]).await, "1");
    // NX GET (allowed since 7.0): the old value, and nothing written.
    assert_eq!(
        cmd::<Option<String>>(&mut c, &["SET", "k", "d", "NX", "GET"]).await,
        Some("c".into())
    );
    assert_eq!(cmd::<String>(&mut c, &["GET", "k"]).await, "c");
    assert_eq!(
        cmd::<Option<String>>(&mut c, &["SET", "nx-new", "v", "GET", "NX"]).await,
        None
    );
    assert_eq!(cmd::<String>(&mut c, &["GET", "nx-new"]).await, "v");
    // XX GET on a missing key: null, nothing created.
    assert_eq!(
        cmd::<Option<String>>(&mut c, &["SET", "xx-new", "v", "XX", "GET"]).await,
        None
    );
    assert!(!exists(&s, "xx-new"));
    // Conflicts and unknown options.
    for args in [
        &["SET", "k", "v", "NX", "XX"][..],
        &["SET", "k", "v", "XX", "NX"],
        &["SET", "k", "v", "FOO"],
        &["SET", "k", "v", "NX", "GET", "BAR"],
        &["SET", "k", "v", "PERSIST"],
        &["SET", "k", "v", "NXX"],
    ] {
        assert_eq!(err(&mut c, args).await, "ERR syntax error", "{args:?}");
    }
    assert_eq!(cmd::<String>(&mut c, &["GET", "k"]).await, "c");
    assert_eq!(
        err(&mut c, &["SET", "k"]).await,
        "ERR wrong number of arguments for 'set' command"
    );
    assert_eq!(
        err(&mut c, &["GET"]).await,
        "ERR wrong number of arguments for 'get' command"
    );
    assert_eq!(
        err(&mut c, &["GET", "a", "b"]).await,
        "ERR wrong number of arguments for 'get' command"
    );
}

#[tokio::test]
async fn set_expiry_options() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    assert_eq!(
        cmd::<String>(&mut c, &["SET", "ex", "v", "EX", "100"]).await,
        "OK"
    );
    assert_ttl_about(&s, "ex", 100_000);
    assert_eq!(
        cmd::<String>(&mut c, &["SET", "px", "v", "px", "5000"]).await,
        "OK"
    );
    assert_ttl_about(&s, "px", 5_000);
    let at_s = now_ms() / 1000 + 200;
    assert_eq!(
        cmd::<String>(&mut c, &["SET", "exat", "v", "EXAT", &at_s.to_string()]).await,
        "OK"
    );
    assert_eq!(stored_expiry(&s, "exat"), Some(at_s * 1000));
    let at_ms = now_ms() + 300_000;
    assert_eq!(
        cmd::<String>(&mut c, &["SET", "pxat", "v", "PXAT", &at_ms.to_string()]).await,
        "OK"
    );
    assert_eq!(stored_expiry(&s, "pxat"), Some(at_ms));
    // The same expiry option twice: the last value wins.
    assert_eq!(
        cmd::<String>(&mut c, &["SET", "twice", "v", "EX", "10", "EX", "200"]).await,
        "OK"
    );
    assert_ttl_about(&s, "twice", 200_000);
    // KEEPTTL keeps it; a plain SET drops it.
    assert_eq!(
        cmd::<String>(&mut c, &["SET", "ex", "v2", "KEEPTTL"]).await,
        "OK"
    );
    assert_ttl_about(&s, "ex", 100_000);
    assert_eq!(cmd::<String>(&mut c, &["GET", "ex"]).await, "v2");
    assert_eq!(cmd::<String>(&mut c, &["SET", "ex", "v3"]).await, "OK");
    assert_eq!(stored_expiry(&s, "ex"), None);
    // KEEPTTL on a key without TTL, or a missing key, sets none.
    assert_eq!(
        cmd::<String>(&mut c, &["SET", "kt", "v", "KEEPTTL"]).await,
        "OK"
    );
    assert_eq!(stored_expiry(&s, "kt"), None);
    // Extreme but valid values.
    assert_eq!(
        cmd::<String>(&mut c, &["SET", "far", "v", "PXAT", "9223372036854775807"]).await,
        "OK"
    );
    assert_eq!(stored_expiry(&s, "far"), Some(i64::MAX));
    assert_eq!(
        cmd::<String>(&mut c, &["SET", "far", "v", "EXAT", "9223372036854775"]).await,
        "OK"
    );
    assert_eq!(stored_expiry(&s, "far"), Some(9_223_372_036_854_775_000));

    // Invalid times: zero, negative, or overflowing once in ms or made absolute.
    for (opt, v) in [
        ("EX", "0"),
        ("EX", "-1"),
        ("PX", "0"),
        ("PX", "-100"),
        ("EXAT", "0"),
        ("PXAT", "0"),
        ("PXAT", "-5"),
        ("EX", "9223372036854775"),
        ("EX", "9223372036854776"),
        ("EX", "9223372036854775807"),
        ("PX", "9223372036854775807"),
        ("EXAT", "9223372036854776"),
    ] {
        assert_eq!(
            err(&mut c, &["SET", "bad", "v", opt, v]).await,
            "ERR invalid expire time in 'set' command",
            "{opt} {v}"
        );
    }
    for v in ["abc", "1.5", " 1", "", "99999999999999999999"] {
        assert_eq!(
            err(&mut c, &["SET", "bad", "v", "EX", v]).await,
            "ERR value is not an integer or out of range",
            "{v:?}"
        );
    }
    assert!(!exists(&s, "bad"));
    // Option conflicts and a missing value are syntax errors.
    for args in [
        &["SET", "k", "v", "EX", "10", "PX", "100"][..],
        &["SET", "k", "v", "PX", "100", "EX", "10"],
        &["SET", "k", "v", "EX", "10", "EXAT", "10"],
        &["SET", "k", "v", "PXAT", "10", "PX", "10"],
        &["SET", "k", "v", "EX", "10", "KEEPTTL"],
        &["SET", "k", "v", "KEEPTTL", "EX", "10"],
        &["SET", "k", "v", "KEEPTTL", "PXAT", "10"],
        &["SET", "k", "v", "EX"],
        &["SET", "k", "v", "NX", "PX"],
        &["SET", "k", "v", "EX", "10", "GET", "KEEPTTL"],
    ] {
        assert_eq!(err(&mut c, args).await, "ERR syntax error", "{args:?}");
    }
    // Syntax is checked before the expiry value.
    assert_eq!(
        err(&mut c, &["SET", "k", "v", "EX", "abc", "FOO"]).await,
        "ERR syntax error"
    );
    // The expiry is validated before GET replies, and nothing changes.
    assert_eq!(cmd::<String>(&mut c, &["SET", "keep", "old"]).await, "OK");
    assert_eq!(
        err(&mut c, &["SET", "keep", "new", "GET", "EX", "0"]).await,
        "ERR invalid expire time in 'set' command"
    );
    assert_eq!(cmd::<String>(&mut c, &["GET", "keep"]).await, "old");

    // A past absolute time is accepted and the key is gone at once.
    assert_eq!(
        cmd::<String>(&mut c, &["SET", "past", "v", "EXAT", "1"]).await,
        "OK"
    );
    assert_eq!(cmd::<Option<String>>(&mut c, &["GET", "past"]).await, None);
    // A short TTL really expires.
    assert_eq!(
        cmd::<String>(&mut c, &["SET", "short", "v", "PX", "60"]).await,
        "OK"
    );
    assert_eq!(cmd::<String>(&mut c, &["GET", "short"]).await, "v");
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(cmd::<Option<String>>(&mut c, &["GET", "short"]).await, None);
    // KEEPTTL keeps a TTL that then fires.
    assert_eq!(
        cmd::<String>(&mut c, &["SET", "kt2", "a", "PX", "80"]).await,
        "OK"
    );
    assert_eq!(
        cmd::<String>(&mut c, &["SET", "kt2", "b", "KEEPTTL"]).await,
        "OK"
    );
    tokio::time::sleep(Duration::from_millis(140)).await;
    assert_eq!(cmd::<Option<String>>(&mut c, &["GET", "kt2"]).await, None);
}

#[tokio::test]
async fn setnx_setex_psetex() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    assert_eq!(cmd::<i64>(&mut c, &["SETNX", "k", "1"]).await, 1);
    assert_eq!(cmd::<i64>(&mut c, &["SETNX", "k", "2"]).await, 0);
    assert_eq!(cmd::<String>(&mut c, &["GET", "k"]).await, "1");

    assert_eq!(
        cmd::<String>(&mut c, &["SETEX", "se", "100", "v"]).await,
        "OK"
    );
    assert_eq!(cmd::<String>(&mut c, &["GET", "se"]).await, "v");
    assert_ttl_about(&s, "se", 100_000);
    // SETEX replaces the value and the TTL.
    assert_eq!(
        cmd::<String>(&mut c, &["SETEX", "se", "50", "w"]).await,
        "OK"
    );
    assert_ttl_about(&s, "se", 50_000);
    assert_eq!(cmd::<String>(&mut c, &["GET", "se"]).await, "w");
    assert_eq!(
        cmd::<String>(&mut c, &["PSETEX", "pse", "7000", "v"]).await,
        "OK"
    );
    assert_ttl_about(&s, "pse", 7_000);
    assert_eq!(
        cmd::<String>(&mut c, &["PSETEX", "gone", "60", "v"]).await,
        "OK"
    );
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(cmd::<Option<String>>(&mut c, &["GET", "gone"]).await, None);

    for v in ["0", "-5", "9223372036854775", "9223372036854775807"] {
        assert_eq!(
            err(&mut c, &["SETEX", "bad", v, "v"]).await,
            "ERR invalid expire time in 'setex' command",
            "{v}"
        );
    }
    for v in ["0", "-1", "9223372036854775807"] {
        assert_eq!(
            err(&mut c, &["PSETEX", "bad", v, "v"]).await,
            "ERR invalid expire time in 'psetex' command",
            "{v}"
        );
    }
    assert_eq!(
        err(&mut c, &["SETEX", "bad", "1x", "v"]).await,
        "ERR value is not an integer or out of range"
    );
    assert!(!exists(&s, "bad"));
    for (name, args) in [
        ("setnx", &["SETNX", "k"][..]),
        ("setex", &["SETEX", "k", "10"]),
        ("setex", &["SETEX", "k", "10", "v", "x"]),
        ("psetex", &["PSETEX", "k", "10"]),
    ] {
        assert_eq!(
            err(&mut c, args).await,
            format!("ERR wrong number of arguments for '{name}' command")
        );
    }
}

#[tokio::test]
async fn getset_and_getdel() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    assert_eq!(
        cmd::<Option<String>>(&mut c, &["GETSET", "k", "a"]).await,
        None
    );
    assert_eq!(cmd::<String>(&mut c, &["GET", "k"]).await, "a");
    // GETSET replaces the value and drops the TTL.
    assert_eq!(
        cmd::<String>(&mut c, &["SET", "k", "b", "EX", "100"]).await,
        "OK"
    );
    assert_eq!(
        cmd::<Option<String>>(&mut c, &["GETSET", "k", "c"]).await,
        Some("b".into())
    );
    assert_eq!(stored_expiry(&s, "k"), None);
    assert_eq!(cmd::<String>(&mut c, &["GET", "k"]).await, "c");

    assert_eq!(
        cmd::<Option<String>>(&mut c, &["GETDEL", "k"]).await,
        Some("c".into())
    );
    assert!(!exists(&s, "k"));
    assert_eq!(cmd::<Option<String>>(&mut c, &["GETDEL", "k"]).await, None);
    assert_eq!(
        err(&mut c, &["GETSET", "k"]).await,
        "ERR wrong number of arguments for 'getset' command"
    );
    assert_eq!(
        err(&mut c, &["GETDEL", "a", "b"]).await,
        "ERR wrong number of arguments for 'getdel' command"
    );
}

#[tokio::test]
async fn getex_options() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    assert_eq!(cmd::<String>(&mut c, &["SET", "k", "v"]).await, "OK");
    // No option: just GET.
    assert_eq!(cmd::<String>(&mut c, &["GETEX", "k"]).await, "v");
    assert_eq!(stored_expiry(&s, "k"), None);
    assert_eq!(
        cmd::<String>(&mut c, &["GETEX", "k", "EX", "100"]).await,
        "v"
    );
    assert_ttl_about(&s, "k", 100_000);
    assert_eq!(
        cmd::<String>(&mut c, &["GETEX", "k", "px", "9000"]).await,
        "v"
    );
    assert_ttl_about(&s, "k", 9_000);
    let at = now_ms() + 500_000;
    assert_eq!(
        cmd::<String>(&mut c, &["GETEX", "k", "PXAT", &at.to_string()]).await,
        "v"
    );
    assert_eq!(stored_expiry(&s, "k"), Some(at));
    let at_s = now_ms() / 1000 + 600;
    assert_eq!(
        cmd::<String>(&mut c, &["GETEX", "k", "EXAT", &at_s.to_string()]).await,
        "v"
    );
    assert_eq!(stored_expiry(&s, "k"), Some(at_s * 1000));
    // The same option twice: the last value wins.
    assert_eq!(
        cmd::<String>(&mut c, &["GETEX", "k", "EX", "10", "EX", "300"]).await,
        "v"
    );
    assert_ttl_about(&s, "k", 300_000);
    assert_eq!(cmd::<String>(&mut c, &["GETEX", "k", "PERSIST"]).await, "v");
    assert_eq!(stored_expiry(&s, "k"), None);
    assert_eq!(
        cmd::<String>(&mut c, &["GETEX", "k", "persist", "PERSIST"]).await,
        "v"
    );
    // A past absolute time returns the value and deletes the key.
    assert_eq!(
        cmd::<String>(&mut c, &["GETEX", "k", "EXAT", "1"]).await,
        "v"
    );
    assert!(!exists(&s, "k"));
    assert_eq!(cmd::<Option<String>>(&mut c, &["GET", "k"]).await, None);
    // A short relative TTL really expires.
    assert_eq!(cmd::<String>(&mut c, &["SET", "t", "v"]).await, "OK");
    assert_eq!(
        cmd::<String>(&mut c, &["GETEX", "t", "PX", "60"]).await,
        "v"
    );
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(cmd::<Option<String>>(&mut c, &["GETEX", "t"]).await, None);

    // A missing key answers null before the expiry value is even looked at.
    assert_eq!(
        cmd::<Option<String>>(&mut c, &["GETEX", "missing", "EX", "-1"]).await,
        None
    );
    assert_eq!(
        cmd::<Option<String>>(&mut c, &["GETEX", "missing", "EX", "abc"]).await,
        None
    );
    // ...but not before the syntax.
    assert_eq!(
        err(&mut c, &["GETEX", "missing", "FOO"]).await,
        "ERR syntax error"
    );
    assert_eq!(
        cmd::<String>(&mut c, &["SET", "k", "v", "EX", "100"]).await,
        "OK"
    );
    for v in ["0", "-1", "9223372036854775"] {
        assert_eq!(
            err(&mut c, &["GETEX", "k", "EX", v]).await,
            "ERR invalid expire time in 'getex' command"
        );
    }
    assert_eq!(
        err(&mut c, &["GETEX", "k", "PX", "x"]).await,
        "ERR value is not an integer or out of range"
    );
    assert_ttl_about(&s, "k", 100_000);
    for args in [
        &["GETEX", "k", "EX"][..],
        &["GETEX", "k", "EX", "10", "PX", "10"],
        &["GETEX", "k", "PERSIST", "EX", "10"],
        &["GETEX", "k", "EX", "10", "PERSIST"],
        &["GETEX", "k", "NX"],
        &["GETEX", "k", "XX"],
        &["GETEX", "k", "GET"],
        &["GETEX", "k", "KEEPTTL"],
    ] {
        assert_eq!(err(&mut c, args).await, "ERR syntax error", "{args:?}");
    }
    assert_eq!(
        err(&mut c, &["GETEX"]).await,
        "ERR wrong number of arguments for 'getex' command"
    );
}

// ---------------------------------------------------------------------------------
// MGET / MSET / MSETNX
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn mget_mset_msetnx() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    assert_eq!(
        cmd::<String>(&mut c, &["MSET", "a", "1", "b", "2", "c", "3"]).await,
        "OK"
    );
    assert_eq!(
        cmd::<Vec<Option<String>>>(&mut c, &["MGET", "a", "missing", "c", "b", "a"]).await,
        vec![
            Some("1".into()),
            None,
            Some("3".into()),
            Some("2".into()),
            Some("1".into())
        ]
    );
    // The last of a repeated key wins; MSET drops TTLs.
    assert_eq!(
        cmd::<String>(&mut c, &["SET", "t", "x", "EX", "100"]).await,
        "OK"
    );
    assert_eq!(
        cmd::<String>(&mut c, &["MSET", "d", "1", "d", "2", "t", "y"]).await,
        "OK"
    );
    assert_eq!(cmd::<String>(&mut c, &["GET", "d"]).await, "2");
    assert_eq!(stored_expiry(&s, "t"), None);
    for args in [&["MSET", "a"][..], &["MSET", "a", "1", "b"]] {
        assert_eq!(
            err(&mut c, args).await,
            "ERR wrong number of arguments for 'mset' command"
        );
    }

    assert_eq!(
        cmd::<i64>(&mut c, &["MSETNX", "n1", "a", "n2", "b"]).await,
        1
    );
    assert_eq!(
        cmd::<Vec<String>>(&mut c, &["MGET", "n1", "n2"]).await,
        vec!["a", "b"]
    );
    // One existing key: nothing is written.
    assert_eq!(
        cmd::<i64>(&mut c, &["MSETNX", "n3", "x", "n1", "y"]).await,
        0
    );
    assert!(!exists(&s, "n3"));
    assert_eq!(cmd::<String>(&mut c, &["GET", "n1"]).await, "a");
    // A repeated new key counts as new; the last value wins.
    assert_eq!(
        cmd::<i64>(&mut c, &["MSETNX", "n4", "1", "n4", "2"]).await,
        1
    );
    assert_eq!(cmd::<String>(&mut c, &["GET", "n4"]).await, "2");
    assert_eq!(
        cmd::<i64>(&mut c, &["MSETNX", "n4", "3", "n4", "4"]).await,
        0
    );
    for args in [&["MSETNX", "a"][..], &["MSETNX", "a", "1", "b"]] {
        assert_eq!(
            err(&mut c, args).await,
            "ERR wrong number of arguments for 'msetnx' command"
        );
    }
    assert_eq!(
        err(&mut c, &["MGET"]).await,
        "ERR wrong number of arguments for 'mget' command"
    );

    let mut r = s.raw().await;
    r.roundtrip(&[b"MGET", b"a", b"nope"], b"*2\r\n$1\r\n1\r\n$-1\r\n")
        .await;
    r.roundtrip(&[b"MSETNX", b"a", b"1"], b":0\r\n").await;
}

/// Several writers MSET k1..k10 to one value per write while readers MGET them: no
/// reader may ever see two different values (half of an MSET).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mset_is_atomic_for_concurrent_readers() {
    let s = TestServer::with(|c| c.shards = 64);
    let keys: Vec<String> = (1..=10).map(|i| format!("k{i}")).collect();
    {
        // The test only means something if the keys live in several shards.
        let shared = s.handle().shared();
        let db = shared.keyspace.db(0);
        let shards: HashSet<usize> = keys
            .iter()
            .map(|k| db.shard_index(db.hash(k.as_bytes())))
            .collect();
        assert!(shards.len() >= 3, "keys span only {} shards", shards.len());
    }
    let mut c = s.conn().await;
    let mut init = redis::cmd("MSET");
    for k in &keys {
        init.arg(k).arg("init");
    }
    init.query_async::<()>(&mut c).await.expect("initial MSET");

    let done = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    for _ in 0..4 {
        let mut rc = patient_conn(&s).await;
        let (keys, done, reads) = (keys.clone(), Arc::clone(&done), Arc::clone(&reads));
        readers.push(tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                let mut mget = redis::cmd("MGET");
                for k in &keys {
                    mget.arg(k);
                }
                let values: Vec<String> = mget.query_async(&mut rc).await.expect("MGET");
                assert_eq!(values.len(), 10);
                assert!(
                    values.iter().all(|v| v == &values[0]),
                    "saw half of an MSET: {values:?}"
                );
                reads.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let mut writers = Vec::new();
    for w in 0..4 {
        let mut wc = patient_conn(&s).await;
        let keys = keys.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..400 {
                let value = format!("w{w}-{i}");
                let mut mset = redis::cmd("MSET");
                for k in &keys {
                    mset.arg(k).arg(&value);
                }
                mset.query_async::<()>(&mut wc).await.expect("MSET");
            }
        }));
    }
    for w in writers {
        w.await.expect("writer");
    }
    done.store(true, Ordering::Relaxed);
    for r in readers {
        r.await.expect("reader saw a torn MSET");
    }
    assert!(reads.load(Ordering::Relaxed) > 50, "readers barely ran");
    // MSETNX is atomic too: of many racing MSETNX on overlapping keys, exactly one wins.
    let mut racers = Vec::new();
    for w in 0..8 {
        let mut rc = patient_conn(&s).await;
        racers.push(tokio::spawn(async move {
            let v = format!("r{w}");
            let args = ["MSETNX", "race1", v.as_str(), "race2", &v, "race3", &v];
            cmd::<i64>(&mut rc, &args).await
        }));
    }
    let mut wins = 0;
    for r in racers {
        wins += r.await.expect("racer");
    }
    assert_eq!(wins, 1);
    let values: Vec<String> = cmd(&mut c, &["MGET", "race1", "race2", "race3"]).await;
    assert!(values.iter().all(|v| v == &values[0]), "{values:?}");
}

// ---------------------------------------------------------------------------------
// APPEND / STRLEN / GETRANGE / SUBSTR / SETRANGE
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn append_and_strlen() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    assert_eq!(cmd::<i64>(&mut c, &["STRLEN", "k"]).await, 0);
    assert_eq!(cmd::<i64>(&mut c, &["APPEND", "k", "Hello"]).await, 5);
    assert_eq!(cmd::<i64>(&mut c, &["APPEND", "k", " World"]).await, 11);
    assert_eq!(cmd::<i64>(&mut c, &["APPEND", "k", ""]).await, 11);
    assert_eq!(cmd::<String>(&mut c, &["GET", "k"]).await, "Hello World");
    assert_eq!(cmd::<i64>(&mut c, &["STRLEN", "k"]).await, 11);
    // APPEND of nothing to a missing key creates an empty string.
    assert_eq!(cmd::<i64>(&mut c, &["APPEND", "e", ""]).await, 0);
    assert!(exists(&s, "e"));
    // APPEND keeps the TTL.
    assert_eq!(
        cmd::<String>(&mut c, &["SET", "t", "a", "EX", "100"]).await,
        "OK"
    );
    assert_eq!(cmd::<i64>(&mut c, &["APPEND", "t", "b"]).await, 2);
    assert_ttl_about(&s, "t", 100_000);
    // Binary data, counted in bytes.
    assert_eq!(
        bin(&mut c, &[b"APPEND", b"b", b"\x00\xff"]).await,
        Value::Int(2)
    );
    assert_eq!(
        bin(&mut c, &[b"APPEND", b"b", "é".as_bytes()]).await,
        Value::Int(4)
    );
    assert_eq!(
        bin(&mut c, &[b"GET", b"b"]).await,
        Value::BulkString(b"\x00\xff\xc3\xa9".to_vec())
    );
    assert_eq!(cmd::<i64>(&mut c, &["STRLEN", "b"]).await, 4);
    assert_eq!(
        err(&mut c, &["APPEND", "k"]).await,
        "ERR wrong number of arguments for 'append' command"
    );
    assert_eq!(
        err(&mut c, &["STRLEN"]).await,
        "ERR wrong number of arguments for 'strlen' command"
    );
}

#[tokio::test]
async fn getrange_and_substr() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    assert_eq!(
        cmd::<String>(&mut c, &["SET", "s", "Hello World"]).await,
        "OK"
    );
    // Expected values are redis-server 7.0's.
    for (start, end, want) in [
        ("0", "3", "Hell"),
        ("-3", "-1", "rld"),
        ("0", "-1", "Hello World"),
        ("10", "100", "d"),
        ("-1", "-5", ""),
        ("-100", "-50", "H"),
        ("-100", "0", "H"),
        ("5", "3", ""),
        ("11", "11", ""),
        ("0", "0", "H"),
        ("-9223372036854775808", "9223372036854775807", "Hello World"),
        ("9223372036854775807", "-9223372036854775808", ""),
    ] {
        for name in ["GETRANGE", "SUBSTR"] {
            assert_eq!(
                cmd::<String>(&mut c, &[name, "s", start, end]).await,
                want,
                "{name} {start} {end}"
            );
        }
    }
    assert_eq!(cmd::<String>(&mut c, &["SET", "e", ""]).await, "OK");
    assert_eq!(
        cmd::<String>(&mut c, &["GETRANGE", "e", "0", "-1"]).await,
        ""
    );
    assert_eq!(
        err(&mut c, &["GETRANGE", "s", "a", "1"]).await,
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        err(&mut c, &["SUBSTR", "s", "0", "1.5"]).await,
        "ERR value is not an integer or out of range"
    );
    for (name, args) in [
        ("getrange", &["GETRANGE", "s", "0"][..]),
        ("substr", &["SUBSTR", "s", "0", "1", "2"]),
    ] {
        assert_eq!(
            err(&mut c, args).await,
            format!("ERR wrong number of arguments for '{name}' command")
        );
    }
    // A missing key is an empty string, not null, in both protocols.
    let mut r = s.raw().await;
    r.roundtrip(&[b"GETRANGE", b"missing", b"0", b"-1"], b"$0\r\n\r\n")
        .await;
    r.roundtrip(&[b"SUBSTR", b"s", b"-3", b"-1"], b"$3\r\nrld\r\n")
        .await;
    let mut r3 = s.raw3().await;
    r3.roundtrip(&[b"GETRANGE", b"missing", b"0", b"-1"], b"$0\r\n\r\n")
        .await;
}

#[tokio::test]
async fn setrange() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    // Padding with zero bytes on a missing key.
    assert_eq!(cmd::<i64>(&mut c, &["SETRANGE", "k", "5", "hi"]).await, 7);
    assert_eq!(
        bin(&mut c, &[b"GET", b"k"]).await,
        Value::BulkString(b"\x00\x00\x00\x00\x00hi".to_vec())
    );
    // Overwrite at the start, in the middle, and past the end.
    assert_eq!(
        cmd::<String>(&mut c, &["SET", "s", "Hello World"]).await,
        "OK"
    );
    assert_eq!(
        cmd::<i64>(&mut c, &["SETRANGE", "s", "6", "Redis"]).await,
        11
    );
    assert_eq!(cmd::<String>(&mut c, &["GET", "s"]).await, "Hello Redis");
    assert_eq!(cmd::<i64>(&mut c, &["SETRANGE", "s", "0", "J"]).await, 11);
    assert_eq!(cmd::<String>(&mut c, &["GET", "s"]).await, "Jello Redis");
    assert_eq!(cmd::<i64>(&mut c, &["SETRANGE", "s", "9", "XYZ"]).await, 12);
    assert_eq!(cmd::<String>(&mut c, &["GET", "s"]).await, "Jello RedXYZ");
    assert_eq!(cmd::<i64>(&mut c, &["SETRANGE", "s", "14", "!"]).await, 15);
    assert_eq!(
        bin(&mut c, &[b"GET", b"s"]).await,
        Value::BulkString(b"Jello RedXYZ\x00\x00!".to_vec())
    );
    // Setting nothing: the length, and a missing key is not created.
    assert_eq!(cmd::<i64>(&mut c, &["SETRANGE", "s", "100", ""]).await, 15);
    assert_eq!(
        cmd::<i64>(&mut c, &["SETRANGE", "none", "100", ""]).await,
        0
    );
    assert!(!exists(&s, "none"));
    // SETRANGE keeps the TTL.
    assert_eq!(
        cmd::<String>(&mut c, &["SET", "t", "abc", "EX", "100"]).await,
        "OK"
    );
    assert_eq!(cmd::<i64>(&mut c, &["SETRANGE", "t", "1", "X"]).await, 3);
    assert_eq!(cmd::<String>(&mut c, &["GET", "t"]).await, "aXc");
    assert_ttl_about(&s, "t", 100_000);
    // A larger offset.
    assert_eq!(
        cmd::<i64>(&mut c, &["SETRANGE", "big", "100000", "x"]).await,
        100_001
    );
    assert_eq!(cmd::<i64>(&mut c, &["STRLEN", "big"]).await, 100_001);

    assert_eq!(
        err(&mut c, &["SETRANGE", "k", "-1", "x"]).await,
        "ERR offset is out of range"
    );
    assert_eq!(
        err(&mut c, &["SETRANGE", "k", "x", "x"]).await,
        "ERR value is not an integer or out of range"
    );
    // The 512 MB default limit (without allocating anything).
    for offset in ["536870912", "9223372036854775807"] {
        assert_eq!(
            err(&mut c, &["SETRANGE", "huge", offset, "x"]).await,
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
            "{offset}"
        );
    }
    assert!(!exists(&s, "huge"));
    assert_eq!(
        err(&mut c, &["SETRANGE", "k", "0"]).await,
        "ERR wrong number of arguments for 'setrange' command"
    );
}

/// APPEND, SETRANGE and LCS read the live `proto-max-bulk-len`; the limit itself is
/// allowed, one byte more is not.
#[tokio::test]
async fn string_size_limit_follows_proto_max_bulk_len() {
    let s = TestServer::with(|c| c.proto_max_bulk_len = 1000);
    let mut c = s.conn().await;
    let too_big = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
    assert_eq!(
        cmd::<String>(&mut c, &["SET", "a", &"x".repeat(600)]).await,
        "OK"
    );
    assert_eq!(
        cmd::<i64>(&mut c, &["APPEND", "a", &"y".repeat(400)]).await,
        1000
    );
    assert_eq!(err(&mut c, &["APPEND", "a", "z"]).await, too_big);
    assert_eq!(cmd::<i64>(&mut c, &["STRLEN", "a"]).await, 1000);
    assert_eq!(
        cmd::<i64>(&mut c, &["SETRANGE", "r", "990", "0123456789"]).await,
        1000
    );
    assert_eq!(
        err(&mut c, &["SETRANGE", "r", "991", "0123456789"]).await,
        too_big
    );
    assert_eq!(
        err(&mut c, &["SETRANGE", "new", "1000", "x"]).await,
        too_big
    );
    assert!(!exists(&s, "new"));
    // LCS's table of (10+1)*(10+1) 4-byte cells fits; (20+1)^2 does not.
    let ten = "abcdefghij";
    assert_eq!(
        cmd::<String>(&mut c, &["MSET", "l1", ten, "l2", ten]).await,
        "OK"
    );
    assert_eq!(cmd::<i64>(&mut c, &["LCS", "l1", "l2", "LEN"]).await, 10);
    let twenty = ten.repeat(2);
    assert_eq!(
        cmd::<String>(&mut c, &["MSET", "l1", &twenty, "l2", &twenty]).await,
        "OK"
    );
    assert_eq!(
        err(&mut c, &["LCS", "l1", "l2"]).await,
        "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"
    );
}

// ---------------------------------------------------------------------------------
// INCR family / INCRBYFLOAT
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn incr_decr_incrby_decrby() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    assert_eq!(cmd::<i64>(&mut c, &["INCR", "n"]).await, 1);
    assert_eq!(cmd::<i64>(&mut c, &["INCRBY", "n", "10"]).await, 11);
    assert_eq!(cmd::<i64>(&mut c, &["DECR", "n"]).await, 10);
    assert_eq!(cmd::<i64>(&mut c, &["DECRBY", "n", "15"]).await, -5);
    assert_eq!(cmd::<i64>(&mut c, &["INCRBY", "n", "-5"]).await, -10);
    assert_eq!(cmd::<i64>(&mut c, &["DECRBY", "n", "-20"]).await, 10);
    assert_eq!(cmd::<String>(&mut c, &["GET", "n"]).await, "10");
    assert_eq!(cmd::<i64>(&mut c, &["DECR", "fresh"]).await, -1);
    assert_eq!(cmd::<i64>(&mut c, &["INCRBY", "fresh2", "0"]).await, 0);
    assert_eq!(cmd::<String>(&mut c, &["GET", "fresh2"]).await, "0");
    // The TTL survives.
    assert_eq!(
        cmd::<String>(&mut c, &["SET", "t", "10", "EX", "100"]).await,
        "OK"
    );
    assert_eq!(cmd::<i64>(&mut c, &["INCR", "t"]).await, 11);
    assert_eq!(cmd::<i64>(&mut c, &["DECRBY", "t", "2"]).await, 9);
    assert_ttl_about(&s, "t", 100_000);
    // The i64 limits.
    let max = "9223372036854775807";
    let min = "-9223372036854775808";
    assert_eq!(cmd::<String>(&mut c, &["SET", "m", max]).await, "OK");
    let overflow = "ERR increment or decrement would overflow";
    assert_eq!(err(&mut c, &["INCR", "m"]).await, overflow);
    assert_eq!(err(&mut c, &["INCRBY", "m", "1"]).await, overflow);
    assert_eq!(cmd::<i64>(&mut c, &["INCRBY", "m", min]).await, -1);
    assert_eq!(cmd::<String>(&mut c, &["SET", "m", min]).await, "OK");
    assert_eq!(err(&mut c, &["DECR", "m"]).await, overflow);
    assert_eq!(err(&mut c, &["DECRBY", "m", "1"]).await, overflow);
    assert_eq!(err(&mut c, &["INCRBY", "m", "-1"]).await, overflow);
    assert_eq!(cmd::<String>(&mut c, &["GET", "m"]).await, min);
    assert_eq!(
        cmd::<i64>(&mut c, &["DECRBY", "m", "-9223372036854775807"]).await,
        -1
    );
    assert_eq!(cmd::<String>(&mut c, &["SET", "z", "0"]).await, "OK");
    assert_eq!(
        cmd::<i64>(&mut c, &["DECRBY", "z", "9223372036854775807"]).await,
        -9223372036854775807
    );
    assert_eq!(cmd::<i64>(&mut c, &["DECR", "z"]).await, i64::MIN);
    // Negating i64::MIN has its own error, even on a missing key.
    assert_eq!(
        err(&mut c, &["DECRBY", "z", min]).await,
        "ERR decrement would overflow"
    );
    assert_eq!(
        err(&mut c, &["DECRBY", "nokey", min]).await,
        "ERR decrement would overflow"
    );
    assert!(!exists(&s, "nokey"));
    // Redis's strict integers, for the stored value and for the argument.
    let not_int = "ERR value is not an integer or out of range";
    for v in [
        " 1",
        "1 ",
        "+1",
        "01",
        "-0",
        "1.0",
        "abc",
        "",
        "12345678901234567890",
        "9223372036854775808",
    ] {
        assert_eq!(cmd::<String>(&mut c, &["SET", "bad", v]).await, "OK");
        assert_eq!(err(&mut c, &["INCR", "bad"]).await, not_int, "{v:?}");
        assert_eq!(err(&mut c, &["DECRBY", "bad", "1"]).await, not_int, "{v:?}");
        assert_eq!(err(&mut c, &["INCRBY", "n", v]).await, not_int, "{v:?}");
        assert_eq!(err(&mut c, &["DECRBY", "n", v]).await, not_int, "{v:?}");
    }
    assert_eq!(cmd::<String>(&mut c, &["GET", "n"]).await, "10");
    for (name, args) in [
        ("incr", &["INCR"][..]),
        ("decr", &["DECR", "a", "b"]),
        ("incrby", &["INCRBY", "a"]),
        ("decrby", &["DECRBY", "a", "1", "2"]),
    ] {
        assert_eq!(
            err(&mut c, args).await,
            format!("ERR wrong number of arguments for '{name}' command")
        );
    }
    let mut r = s.raw().await;
    r.roundtrip(&[b"INCR", b"raw"], b":1\r\n").await;
    r.roundtrip(&[b"DECRBY", b"raw", b"3"], b":-2\r\n").await;
}

/// 50 connections each INCR one key 10,000 times (pipelined, 1,000 per write, over
/// raw sockets to keep the client cheap): the total is exact and the replies are
/// exactly 1..=500000 (every INCR saw all the ones before it).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_incr_is_exact() {
    use tokio::io::AsyncWriteExt;
    let s = TestServer::start();
    let batch = encode(&[b"INCR", b"counter"]).repeat(1000);
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let mut r = s.raw().await;
        let batch = batch.clone();
        tasks.push(tokio::spawn(async move {
            let mut seen = Vec::with_capacity(10_000);
            let mut buf = Vec::new();
            for _ in 0..10 {
                r.stream.write_all(&batch).await.expect("send");
                let mut lines = 0;
                while lines < 1000 {
                    let mut chunk = [0u8; 16384];
                    let n =
                        tokio::time::timeout(Duration::from_secs(60), r.stream.read(&mut chunk))
                            .await
                            .expect("replies in time")
                            .expect("read");
                    assert!(n > 0, "connection closed");
                    buf.extend_from_slice(&chunk[..n]);
                    // Take every complete ":<n>\r\n" reply.
                    let mut at = 0;
                    while let Some(len) = buf[at..].iter().position(|&b| b == b'\n') {
                        let line = &buf[at..at + len];
                        let n = line
                            .strip_prefix(b":")
                            .and_then(|v| v.strip_suffix(b"\r"))
                            .and_then(|v| std::str::from_utf8(v).ok())
                            .and_then(|v| v.parse::<i64>().ok())
                            .unwrap_or_else(|| panic!("not an integer reply: {line:?}"));
                        seen.push(n);
                        lines += 1;
                        at += len + 1;
                    }
                    buf.drain(..at);
                }
            }
            seen
        }));
    }
    let mut all = Vec::with_capacity(500_000);
    for t in tasks {
        all.extend(t.await.expect("client task"));
    }
    let mut c = s.conn().await;
    assert_eq!(cmd::<i64>(&mut c, &["GET", "counter"]).await, 500_000);
    all.sort_unstable();
    assert!(
        all.iter().copied().eq(1..=500_000),
        "INCR replies are not exactly 1..=500000"
    );
}

#[tokio::test]
async fn incrbyfloat() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    // Expected strings are redis-server 7.0's on x86-64 (80-bit long double).
    assert_eq!(cmd::<String>(&mut c, &["SET", "f", "10.50"]).await, "OK");
    assert_eq!(
        cmd::<String>(&mut c, &["INCRBYFLOAT", "f", "0.1"]).await,
        "10.6"
    );
    assert_eq!(
        cmd::<String>(&mut c, &["INCRBYFLOAT", "f", "-5"]).await,
        "5.6"
    );
    assert_eq!(cmd::<String>(&mut c, &["GET", "f"]).await, "5.6");
    assert_eq!(cmd::<String>(&mut c, &["SET", "e", "5.0e3"]).await, "OK");
    assert_eq!(
        cmd::<String>(&mut c, &["INCRBYFLOAT", "e", "2.0e2"]).await,
        "5200"
    );
    assert_eq!(
        cmd::<String>(&mut c, &["INCRBYFLOAT", "new", "5.0e3"]).await,
        "5000"
    );
    for (start, incr, want) in [
        ("0.1", "0.2", "0.3"),
        ("1000", "0.1", "1000.09999999999999998"),
        ("100", "0.1", "100.1"),
        ("12345.678", "0.001", "12345.67900000000000027"),
        ("17179869184", "1.5", "17179869185.5"),
        ("1", "-1", "0"),
        ("1", "1e-20", "1"),
        ("0", "-1e-20", "0"),
        ("0", "0x10", "16"),
        ("0", "1.5e-7", "0.00000015"),
        ("-0", "-0.0", "0"),
        ("3", "+.5", "3.5"),
        ("2", "5.", "7"),
        ("0", "0.30000000000000004", "0.30000000000000004"),
    ] {
        assert_eq!(cmd::<String>(&mut c, &["SET", "x", start]).await, "OK");
        assert_eq!(
            cmd::<String>(&mut c, &["INCRBYFLOAT", "x", incr]).await,
            want,
            "{start} + {incr}"
        );
        assert_eq!(cmd::<String>(&mut c, &["GET", "x"]).await, want);
    }
    // Three times 1.1 from nothing, as Redis's own test suite does.
    for want in ["1.1", "2.2", "3.3"] {
        assert_eq!(
            cmd::<String>(&mut c, &["INCRBYFLOAT", "t3", "1.1"]).await,
            want
        );
    }
    // The TTL survives.
    assert_eq!(
        cmd::<String>(&mut c, &["SET", "ttl", "1", "EX", "100"]).await,
        "OK"
    );
    assert_eq!(
        cmd::<String>(&mut c, &["INCRBYFLOAT", "ttl", "1.5"]).await,
        "2.5"
    );
    assert_ttl_about(&s, "ttl", 100_000);
    // The result is a string: INCR refuses it, INCRBYFLOAT accepts an integer.
    assert_eq!(
        err(&mut c, &["INCR", "ttl"]).await,
        "ERR value is not an integer or out of range"
    );
    assert_eq!(cmd::<String>(&mut c, &["SET", "i", "5"]).await, "OK");
    assert_eq!(cmd::<String>(&mut c, &["INCRBYFLOAT", "i", "1"]).await, "6");
    assert_eq!(cmd::<i64>(&mut c, &["INCR", "i"]).await, 7);

    let not_float = "ERR value is not a valid float";
    for bad in [
        "abc", " 1", "1 ", "", "nan", "1e", "0x", "1e5000", "1,5", "--1",
    ] {
        assert_eq!(
            err(&mut c, &["INCRBYFLOAT", "f", bad]).await,
            not_float,
            "{bad:?}"
        );
        assert_eq!(cmd::<String>(&mut c, &["SET", "badval", bad]).await, "OK");
        assert_eq!(
            err(&mut c, &["INCRBYFLOAT", "badval", "1"]).await,
            not_float,
            "{bad:?}"
        );
    }
    assert_eq!(cmd::<String>(&mut c, &["GET", "f"]).await, "5.6");
    let nan_inf = "ERR increment would produce NaN or Infinity";
    assert_eq!(err(&mut c, &["INCRBYFLOAT", "f", "inf"]).await, nan_inf);
    assert_eq!(
        err(&mut c, &["INCRBYFLOAT", "f", "-Infinity"]).await,
        nan_inf
    );
    assert_eq!(
        cmd::<String>(&mut c, &["SET", "huge", "1e4932"]).await,
        "OK"
    );
    assert_eq!(
        err(&mut c, &["INCRBYFLOAT", "huge", "1e4932"]).await,
        nan_inf
    );
    assert_eq!(cmd::<String>(&mut c, &["GET", "huge"]).await, "1e4932");
    assert_eq!(
        err(&mut c, &["INCRBYFLOAT", "f"]).await,
        "ERR wrong number of arguments for 'incrbyfloat' command"
    );
    // A bulk string in both protocols.
    let mut r = s.raw().await;
    r.roundtrip(&[b"INCRBYFLOAT", b"rf", b"1.5"], b"$3\r\n1.5\r\n")
        .await;
    let mut r3 = s.raw3().await;
    r3.roundtrip(&[b"INCRBYFLOAT", b"rf", b"1.5"], b"$1\r\n3\r\n")
        .await;
}

// ---------------------------------------------------------------------------------
// LCS
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn lcs() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    assert_eq!(
        cmd::<String>(&mut c, &["MSET", "key1", "ohmytext", "key2", "mynewtext"]).await,
        "OK"
    );
    assert_eq!(
        cmd::<String>(&mut c, &["LCS", "key1", "key2"]).await,
        "mytext"
    );
    assert_eq!(cmd::<i64>(&mut c, &["LCS", "key1", "key2", "len"]).await, 6);
    assert_eq!(
        cmd::<String>(&mut c, &["LCS", "nokey1", "nokey2"]).await,
        ""
    );
    assert_eq!(
        cmd::<i64>(&mut c, &["LCS", "key1", "nokey", "LEN"]).await,
        0
    );
    // Byte-exact replies, as redis-server 7.0 sends them.
    let mut r = s.raw().await;
    r.roundtrip(
        &[b"LCS", b"key1", b"key2", b"IDX"],
        b"*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n",
    )
    .await;
    r.roundtrip(
        &[b"LCS", b"key1", b"key2", b"IDX", b"MINMATCHLEN", b"4"],
        b"*4\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n$3\r\nlen\r\n:6\r\n",
    )
    .await;
    r.roundtrip(
        &[b"LCS", b"key1", b"key2", b"IDX", b"MINMATCHLEN", b"-5", b"WITHMATCHLEN"],
        b"*4\r\n$7\r\nmatches\r\n*2\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n*3\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n:2\r\n$3\r\nlen\r\n:6\r\n",
    )
    .await;
    r.roundtrip(
        &[b"LCS", b"nokey1", b"nokey2", b"IDX"],
        b"*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n",
    )
    .await;
    // A longer pair.
    assert_eq!(
        cmd::<String>(
            &mut c,
            &[
                "MSET",
                "a1",
                "ACGTTGCAACGTAGGCTTACGATTACGG",
                "b1",
                "TTGCAAGGCATACGGATACCGTTAGC"
            ]
        )
        .await,
        "OK"
    );
    assert_eq!(
        cmd::<String>(&mut c, &["LCS", "a1", "b1"]).await,
        "TTGCAAGGCTACGATACGG"
    );
    // Three ranges of at least 3 bytes, each with its length, then the total length.
    let ranges = b"*3\r\n*3\r\n*2\r\n:17\r\n:19\r\n*2\r\n:10\r\n:12\r\n:3\r\n*3\r\n*2\r\n:12\r\n:15\r\n*2\r\n:5\r\n:8\r\n:4\r\n*3\r\n*2\r\n:3\r\n:6\r\n*2\r\n:0\r\n:3\r\n:4\r\n$3\r\nlen\r\n:19\r\n";
    let mut want = b"*4\r\n$7\r\nmatches\r\n".to_vec();
    want.extend_from_slice(ranges);
    r.roundtrip(
        &[
            b"LCS",
            b"a1",
            b"b1",
            b"IDX",
            b"MINMATCHLEN",
            b"3",
            b"WITHMATCHLEN",
        ],
        &want,
    )
    .await;
    // RESP3: a map.
    let mut r3 = s.raw3().await;
    let mut want3 = b"%2\r\n$7\r\nmatches\r\n".to_vec();
    want3.extend_from_slice(ranges);
    r3.roundtrip(
        &[
            b"LCS",
            b"a1",
            b"b1",
            b"IDX",
            b"MINMATCHLEN",
            b"3",
            b"WITHMATCHLEN",
        ],
        &want3,
    )
    .await;
    assert_eq!(
        err(&mut c, &["LCS", "key1", "key2", "LEN", "IDX"]).await,
        "ERR If you want both the length and indexes, please just use IDX."
    );
    for args in [
        &["LCS", "key1", "key2", "FOO"][..],
        &["LCS", "key1", "key2", "MINMATCHLEN"],
    ] {
        assert_eq!(err(&mut c, args).await, "ERR syntax error", "{args:?}");
    }
    assert_eq!(
        err(&mut c, &["LCS", "key1", "key2", "MINMATCHLEN", "x"]).await,
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        err(&mut c, &["LCS", "key1"]).await,
        "ERR wrong number of arguments for 'lcs' command"
    );
}

// ---------------------------------------------------------------------------------
// Cross-cutting: RESP3, expired keys, stats, the command table
// ---------------------------------------------------------------------------------

/// Where RESP3 differs from RESP2: a missing value is `_`, not `$-1`.
#[tokio::test]
async fn resp3_null_replies() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    assert_eq!(cmd::<String>(&mut c, &["SET", "k", "v"]).await, "OK");
    let mut r = s.raw3().await;
    r.roundtrip(&[b"GET", b"nokey"], b"_\r\n").await;
    r.roundtrip(&[b"GET", b"k"], b"$1\r\nv\r\n").await;
    r.roundtrip(&[b"SET", b"k", b"x", b"NX"], b"_\r\n").await;
    r.roundtrip(&[b"SET", b"nokey", b"x", b"XX", b"GET"], b"_\r\n")
        .await;
    r.roundtrip(&[b"SET", b"new", b"x", b"GET"], b"_\r\n").await;
    r.roundtrip(&[b"GETEX", b"nokey"], b"_\r\n").await;
    r.roundtrip(&[b"GETDEL", b"nokey"], b"_\r\n").await;
    r.roundtrip(&[b"GETSET", b"new2", b"v"], b"_\r\n").await;
    r.roundtrip(&[b"MGET", b"k", b"nokey"], b"*2\r\n$1\r\nv\r\n_\r\n")
        .await;
    r.roundtrip(&[b"SET", b"k2", b"v"], b"+OK\r\n").await;
    r.roundtrip(&[b"SETNX", b"k2", b"v"], b":0\r\n").await;
    r.roundtrip(&[b"LCS", b"k", b"k2", b"LEN"], b":1\r\n").await;
    // And RESP2 for the same cases.
    let mut r2 = s.raw().await;
    r2.roundtrip(&[b"GET", b"nokey"], b"$-1\r\n").await;
    r2.roundtrip(&[b"SET", b"k", b"x", b"NX"], b"$-1\r\n").await;
    r2.roundtrip(&[b"SET", b"nokey", b"x", b"XX", b"GET"], b"$-1\r\n")
        .await;
    r2.roundtrip(&[b"GETEX", b"nokey"], b"$-1\r\n").await;
    r2.roundtrip(&[b"GETDEL", b"nokey"], b"$-1\r\n").await;
    r2.roundtrip(&[b"GETSET", b"new3", b"v"], b"$-1\r\n").await;
}

/// A key whose TTL passed is missing for every command, and a write recreates it
/// without the old TTL.
#[tokio::test]
async fn expired_keys_are_missing_everywhere() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let keys = [
        "get", "strlen", "range", "append", "incr", "float", "setnx", "msetnx", "xx", "getex",
        "getdel", "getset", "setrange", "mget", "keepttl",
    ];
    for k in keys {
        assert_eq!(
            cmd::<String>(&mut c, &["SET", k, "5", "PX", "50"]).await,
            "OK"
        );
    }
    tokio::time::sleep(Duration::from_millis(110)).await;
    assert_eq!(cmd::<Option<String>>(&mut c, &["GET", "get"]).await, None);
    assert_eq!(cmd::<i64>(&mut c, &["STRLEN", "strlen"]).await, 0);
    assert_eq!(
        cmd::<String>(&mut c, &["GETRANGE", "range", "0", "-1"]).await,
        ""
    );
    assert_eq!(cmd::<i64>(&mut c, &["APPEND", "append", "ab"]).await, 2);
    assert_eq!(cmd::<i64>(&mut c, &["INCR", "incr"]).await, 1);
    assert_eq!(
        cmd::<String>(&mut c, &["INCRBYFLOAT", "float", "1.5"]).await,
        "1.5"
    );
    assert_eq!(cmd::<i64>(&mut c, &["SETNX", "setnx", "v"]).await, 1);
    assert_eq!(cmd::<i64>(&mut c, &["MSETNX", "msetnx", "v"]).await, 1);
    assert_eq!(
        cmd::<Option<String>>(&mut c, &["SET", "xx", "v", "XX"]).await,
        None
    );
    assert_eq!(
        cmd::<Option<String>>(&mut c, &["GETEX", "getex", "PERSIST"]).await,
        None
    );
    assert_eq!(
        cmd::<Option<String>>(&mut c, &["GETDEL", "getdel"]).await,
        None
    );
    assert_eq!(
        cmd::<Option<String>>(&mut c, &["GETSET", "getset", "v"]).await,
        None
    );
    assert_eq!(
        cmd::<i64>(&mut c, &["SETRANGE", "setrange", "1", "x"]).await,
        2
    );
    assert_eq!(
        cmd::<Vec<Option<String>>>(&mut c, &["MGET", "mget", "get"]).await,
        vec![None, None]
    );
    assert_eq!(
        cmd::<String>(&mut c, &["SET", "keepttl", "v", "KEEPTTL"]).await,
        "OK"
    );
    for k in [
        "append", "incr", "float", "setnx", "msetnx", "getset", "setrange", "keepttl",
    ] {
        assert!(exists(&s, k), "{k} was not recreated");
        assert_eq!(stored_expiry(&s, k), None, "{k} kept the old TTL");
    }
    for k in ["xx", "getex", "getdel", "get", "mget"] {
        assert!(!exists(&s, k), "{k} exists");
    }
}

/// Read commands count a keyspace hit or miss per key looked up; writes do not.
#[tokio::test]
async fn keyspace_hits_and_misses() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let stats = || {
        let t = s.handle().shared().counters.totals();
        (t.keyspace_hits, t.keyspace_misses)
    };
    let check = |want_hits: u64, want_misses: u64, before: (u64, u64), what: &str| {
        let now = stats();
        assert_eq!(
            (now.0 - before.0, now.1 - before.1),
            (want_hits, want_misses),
            "{what}"
        );
    };
    let b = stats();
    assert_eq!(cmd::<String>(&mut c, &["SET", "a", "1"]).await, "OK");
    assert_eq!(cmd::<i64>(&mut c, &["INCR", "a"]).await, 2);
    assert_eq!(cmd::<i64>(&mut c, &["APPEND", "a", "0"]).await, 2);
    assert_eq!(cmd::<i64>(&mut c, &["SETRANGE", "z", "0", "x"]).await, 1);
    assert_eq!(cmd::<String>(&mut c, &["MSET", "m", "1"]).await, "OK");
    check(0, 0, b, "writes do not count");
    let b = stats();
    assert_eq!(cmd::<String>(&mut c, &["GET", "a"]).await, "20");
    assert_eq!(cmd::<Option<String>>(&mut c, &["GET", "nope"]).await, None);
    check(1, 1, b, "GET");
    let b = stats();
    let _: Vec<Option<String>> = cmd(&mut c, &["MGET", "a", "nope", "m", "x"]).await;
    check(2, 2, b, "MGET counts each key");
    let b = stats();
    let _: Option<String> = cmd(&mut c, &["SET", "a", "3", "GET"]).await;
    let _: Option<String> = cmd(&mut c, &["SET", "new", "3", "GET"]).await;
    check(1, 1, b, "SET GET");
    let b = stats();
    let _: i64 = cmd(&mut c, &["STRLEN", "a"]).await;
    let _: String = cmd(&mut c, &["GETRANGE", "nope", "0", "1"]).await;
    let _: Option<String> = cmd(&mut c, &["GETEX", "a"]).await;
    let _: Option<String> = cmd(&mut c, &["GETSET", "a", "4"]).await;
    let _: Option<String> = cmd(&mut c, &["GETDEL", "nope"]).await;
    let _: String = cmd(&mut c, &["LCS", "a", "nope"]).await;
    check(4, 3, b, "other reads");
}

/// Name, arity, flags, (first, last, step) key positions, ACL categories.
type Row = (
    &'static str,
    i32,
    u32,
    (i32, i32, i32),
    &'static [&'static str],
);

/// Each row as redis-server 7.0's COMMAND INFO describes it: arity, flags, key
/// positions and ACL categories.
#[test]
fn command_table_rows_match_redis() {
    let rows: &[Row] = &[
        (
            "get",
            2,
            READONLY | FAST,
            (1, 1, 1),
            &["read", "string", "fast"],
        ),
        (
            "set",
            -3,
            WRITE | DENYOOM,
            (1, 1, 1),
            &["write", "string", "slow"],
        ),
        (
            "setnx",
            3,
            WRITE | DENYOOM | FAST,
            (1, 1, 1),
            &["write", "string", "fast"],
        ),
        (
            "setex",
            4,
            WRITE | DENYOOM,
            (1, 1, 1),
            &["write", "string", "slow"],
        ),
        (
            "psetex",
            4,
            WRITE | DENYOOM,
            (1, 1, 1),
            &["write", "string", "slow"],
        ),
        (
            "getset",
            3,
            WRITE | DENYOOM | FAST,
            (1, 1, 1),
            &["write", "string", "fast"],
        ),
        (
            "getdel",
            2,
            WRITE | FAST,
            (1, 1, 1),
            &["write", "string", "fast"],
        ),
        (
            "getex",
            -2,
            WRITE | FAST,
            (1, 1, 1),
            &["write", "string", "fast"],
        ),
        (
            "mget",
            -2,
            READONLY | FAST,
            (1, -1, 1),
            &["read", "string", "fast"],
        ),
        (
            "mset",
            -3,
            WRITE | DENYOOM,
            (1, -1, 2),
            &["write", "string", "slow"],
        ),
        (
            "msetnx",
            -3,
            WRITE | DENYOOM,
            (1, -1, 2),
            &["write", "string", "slow"],
        ),
        (
            "append",
            3,
            WRITE | DENYOOM | FAST,
            (1, 1, 1),
            &["write", "string", "fast"],
        ),
        (
            "strlen",
            2,
            READONLY | FAST,
            (1, 1, 1),
            &["read", "string", "fast"],
        ),
        (
            "getrange",
            4,
            READONLY,
            (1, 1, 1),
            &["read", "string", "slow"],
        ),
        (
            "substr",
            4,
            READONLY,
            (1, 1, 1),
            &["read", "string", "slow"],
        ),
        (
            "setrange",
            4,
            WRITE | DENYOOM,
            (1, 1, 1),
            &["write", "string", "slow"],
        ),
        (
            "incr",
            2,
            WRITE | DENYOOM | FAST,
            (1, 1, 1),
            &["write", "string", "fast"],
        ),
        (
            "decr",
            2,
            WRITE | DENYOOM | FAST,
            (1, 1, 1),
            &["write", "string", "fast"],
        ),
        (
            "incrby",
            3,
            WRITE | DENYOOM | FAST,
            (1, 1, 1),
            &["write", "string", "fast"],
        ),
        (
            "decrby",
            3,
            WRITE | DENYOOM | FAST,
            (1, 1, 1),
            &["write", "string", "fast"],
        ),
        (
            "incrbyfloat",
            3,
            WRITE | DENYOOM | FAST,
            (1, 1, 1),
            &["write", "string", "fast"],
        ),
        ("lcs", -3, READONLY, (1, 2, 1), &["read", "string", "slow"]),
    ];
    for &(name, arity, flags, (first, last, step), acl) in rows {
        let idx = TABLE
            .find(name.as_bytes())
            .unwrap_or_else(|| panic!("{name} missing"));
        let c = TABLE.get(idx);
        assert_eq!(c.arity, arity, "{name} arity");
        assert_eq!(c.flags, flags, "{name} flags");
        assert_eq!(
            (c.keys.first, c.keys.last, c.keys.step),
            (first, last, step),
            "{name} keys"
        );
        assert_eq!(c.acl, acl, "{name} acl");
        assert_eq!(c.group, "string", "{name} group");
    }
}

// ---------------------------------------------------------------------------------
// Keys of another type (a hash, seeded straight into the keyspace)
// ---------------------------------------------------------------------------------

/// Stores a one-field hash at `key` without going through the hash commands.
fn seed_hash(s: &TestServer, key: &str, expire_at: Option<i64>) {
    use shoal_storage::{Entry, HashValue};
    let mut hv = HashValue::new();
    hv.insert_within(b"field", b"value", Default::default());
    let shared = s.handle().shared();
    let db = shared.keyspace.db(0);
    let h = db.hash(key.as_bytes());
    db.lock(h)
        .insert(h, Entry::new_hash(key.as_bytes(), hv, expire_at), now_ms());
}

/// Whether `key` still holds the seeded hash.
fn is_hash(s: &TestServer, key: &str) -> bool {
    let shared = s.handle().shared();
    let db = shared.keyspace.db(0);
    let h = db.hash(key.as_bytes());
    let shard = db.lock(h);
    shard
        .peek(h, key.as_bytes(), now_ms())
        .and_then(|e| {
            e.as_hash()
                .map(|hv| hv.get(b"field") == Some(&b"value"[..]))
        })
        .unwrap_or(false)
}

#[tokio::test]
async fn string_commands_on_a_hash_are_wrongtype() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    seed_hash(&s, "h", None);
    cmd::<String>(&mut c, &["SET", "s", "str"]).await;
    let wrongtype = "WRONGTYPE Operation against a key holding the wrong kind of value";
    for args in [
        &["GET", "h"][..],
        &["GETSET", "h", "x"],
        &["SET", "h", "x", "GET"],
        &["SET", "h", "x", "NX", "GET"],
        &["GETDEL", "h"],
        &["GETEX", "h"],
        &["GETEX", "h", "PERSIST"],
        &["GETEX", "h", "EX", "0"],
        &["APPEND", "h", "x"],
        &["APPEND", "h", ""],
        &["STRLEN", "h"],
        &["GETRANGE", "h", "0", "-1"],
        &["SUBSTR", "h", "0", "1"],
        &["SETRANGE", "h", "0", "x"],
        &["SETRANGE", "h", "0", ""],
        &["INCR", "h"],
        &["DECR", "h"],
        &["INCRBY", "h", "5"],
        &["DECRBY", "h", "5"],
        &["INCRBYFLOAT", "h", "1.5"],
        // INCRBYFLOAT checks the type before parsing its argument.
        &["INCRBYFLOAT", "h", "x"],
    ] {
        assert_eq!(err(&mut c, args).await, wrongtype, "{args:?}");
        assert!(is_hash(&s, "h"), "{args:?} changed the hash");
    }
    // Argument errors Redis reports before looking at the key still come first.
    for (args, e) in [
        (
            &["INCRBY", "h", "x"][..],
            "ERR value is not an integer or out of range",
        ),
        (
            &["DECRBY", "h", "x"],
            "ERR value is not an integer or out of range",
        ),
        (&["SETRANGE", "h", "-1", "x"], "ERR offset is out of range"),
        (
            &["GETRANGE", "h", "x", "1"],
            "ERR value is not an integer or out of range",
        ),
        (&["SET", "h", "x", "NX", "XX"], "ERR syntax error"),
        (
            &["LCS", "h", "s"],
            "ERR The specified keys must contain string values",
        ),
        (
            &["LCS", "s", "h"],
            "ERR The specified keys must contain string values",
        ),
    ] {
        assert_eq!(err(&mut c, args).await, e, "{args:?}");
    }
    assert!(is_hash(&s, "h"));
    // Commands that do not read the old value: NX variants refuse, MGET reads nil.
    assert_eq!(cmd::<i64>(&mut c, &["SETNX", "h", "x"]).await, 0);
    assert_eq!(
        cmd::<Option<String>>(&mut c, &["SET", "h", "x", "NX"]).await,
        None
    );
    assert_eq!(cmd::<i64>(&mut c, &["MSETNX", "h", "x", "z", "y"]).await, 0);
    assert!(!exists(&s, "z"));
    assert_eq!(
        cmd::<Vec<Option<String>>>(&mut c, &["MGET", "s", "h", "nokey"]).await,
        vec![Some("str".to_string()), None, None]
    );
    assert!(is_hash(&s, "h"));
    // Commands that replace the value replace a hash too, whatever its TTL.
    seed_hash(&s, "h1", Some(now_ms() + 100_000));
    seed_hash(&s, "h2", None);
    seed_hash(&s, "h3", None);
    seed_hash(&s, "h4", None);
    assert_eq!(cmd::<String>(&mut c, &["SET", "h", "v"]).await, "OK");
    assert_eq!(cmd::<String>(&mut c, &["GET", "h"]).await, "v");
    assert_eq!(cmd::<String>(&mut c, &["SET", "h1", "v", "XX"]).await, "OK");
    assert_eq!(stored_expiry(&s, "h1"), None);
    assert_eq!(
        cmd::<String>(&mut c, &["SETEX", "h2", "100", "v"]).await,
        "OK"
    );
    assert_ttl_about(&s, "h2", 100_000);
    assert_eq!(
        cmd::<String>(&mut c, &["PSETEX", "h3", "100000", "v"]).await,
        "OK"
    );
    assert_eq!(cmd::<String>(&mut c, &["MSET", "h4", "v"]).await, "OK");
    for k in ["h1", "h2", "h3", "h4"] {
        assert_eq!(cmd::<String>(&mut c, &["GET", k]).await, "v", "{k}");
        assert_eq!(cmd::<String>(&mut c, &["TYPE", k]).await, "string");
    }
    // An expired hash is no obstacle.
    seed_hash(&s, "old", Some(now_ms() - 1));
    assert_eq!(cmd::<i64>(&mut c, &["INCR", "old"]).await, 1);
    assert_eq!(cmd::<i64>(&mut c, &["APPEND", "old", "x"]).await, 2);
    seed_hash(&s, "old2", Some(now_ms() - 1));
    assert_eq!(cmd::<Option<String>>(&mut c, &["GET", "old2"]).await, None);
}
