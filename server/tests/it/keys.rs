//! Generic key commands: DEL, UNLINK, EXISTS, TYPE, RENAME(NX), COPY, MOVE, KEYS, SCAN,
//! RANDOMKEY, TOUCH, OBJECT, the EXPIRE and TTL families, PERSIST, and active expiry.
//!
//! Keys are seeded straight into the server's keyspace (`seed`), so these tests do not
//! depend on the string commands; values are read back the same way.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::Value;
use shoal_server::state::now_ms;
use shoal_storage::Entry;

use crate::common::*;

/// Inserts `key` = `value` into database `db`, expiring `ttl_ms` from now if given.
fn seed(s: &TestServer, db: usize, key: &str, value: &str, ttl_ms: Option<i64>) {
    seed_at(
        s,
        db,
        key.as_bytes(),
        value.as_bytes(),
        ttl_ms.map(|t| now_ms() + t),
    );
}

/// Inserts a key with an absolute expiry time (unix ms).
fn seed_at(s: &TestServer, db: usize, key: &[u8], value: &[u8], expire_at: Option<i64>) {
    insert(s, db, Entry::new_str(key, value, expire_at));
}

/// Inserts an entry. A fresh entry's access clock starts now, as for a write command
/// (an entry that already has one, see `touch`, keeps it).
fn insert(s: &TestServer, db: usize, e: Entry) {
    let now = now_ms();
    let d = s.handle().shared().keyspace.db(db);
    let h = d.hash(e.key());
    d.lock(h).insert(h, e, now);
}

/// The live value of `key` in `db`, read without going through a command.
fn value(s: &TestServer, db: usize, key: &str) -> Option<Vec<u8>> {
    let d = s.handle().shared().keyspace.db(db);
    let h = d.hash(key.as_bytes());
    d.lock(h)
        .peek(h, key.as_bytes(), now_ms())
        .and_then(|e| e.as_str().map(<[u8]>::to_vec))
}

/// Keys stored in `db`, expired ones not yet reclaimed included.
fn stored(s: &TestServer, db: usize) -> usize {
    s.handle().shared().keyspace.db(db).len()
}

fn stat(s: &TestServer, which: &str) -> u64 {
    let t = s.handle().shared().counters.totals();
    match which {
        "hits" => t.keyspace_hits,
        "misses" => t.keyspace_misses,
        "expired" => s.handle().shared().keyspace.expired_keys(),
        _ => unreachable!(),
    }
}

async fn int(c: &mut redis::aio::MultiplexedConnection, args: &[&str]) -> i64 {
    cmd::<i64>(c, args).await
}

async fn arity(c: &mut redis::aio::MultiplexedConnection, args: &[&str], name: &str) {
    assert_eq!(
        err(c, args).await,
        format!("ERR wrong number of arguments for '{name}' command"),
        "{args:?}"
    );
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test]
async fn del_and_unlink() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    for k in ["a", "b", "c", "d"] {
        seed(&s, 0, k, "v", None);
    }
    assert_eq!(int(&mut c, &["DEL", "a", "a", "nokey"]).await, 1);
    assert_eq!(int(&mut c, &["DEL", "a"]).await, 0);
    assert_eq!(int(&mut c, &["UNLINK", "b", "c", "b"]).await, 2);
    assert_eq!(int(&mut c, &["unlink", "nokey"]).await, 0);
    assert_eq!(value(&s, 0, "d"), Some(b"v".to_vec()));
    assert_eq!(stored(&s, 0), 1);
    // Empty and binary key names are keys like any other.
    seed_at(&s, 0, b"", b"x", None);
    seed_at(&s, 0, b"\x00\xff\r\n", b"x", None);
    let n: i64 = redis::cmd("DEL")
        .arg(&b""[..])
        .arg(&b"\x00\xff\r\n"[..])
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(n, 2);
    // An expired key is not deleted (it was already gone).
    seed(&s, 0, "gone", "v", Some(-1));
    assert_eq!(int(&mut c, &["DEL", "gone", "d"]).await, 1);
    assert_eq!(stored(&s, 0), 0);
    arity(&mut c, &["DEL"], "del").await;
    arity(&mut c, &["UNLINK"], "unlink").await;
}

#[tokio::test]
async fn del_many_keys_across_shards() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let keys: Vec<String> = (0..500).map(|i| format!("k{i}")).collect();
    for k in &keys {
        seed(&s, 0, k, "v", None);
    }
    let mut args = vec!["DEL"];
    args.extend(keys.iter().map(String::as_str));
    args.push("k0");
    args.push("missing");
    assert_eq!(int(&mut c, &args).await, 500);
    assert_eq!(stored(&s, 0), 0);
}

#[tokio::test]
async fn exists_counts_duplicates_and_hides_expired() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    seed(&s, 0, "a", "1", None);
    seed(&s, 0, "b", "", None);
    seed(&s, 0, "dead", "x", Some(-10));
    assert_eq!(int(&mut c, &["EXISTS", "a"]).await, 1);
    assert_eq!(int(&mut c, &["EXISTS", "a", "a", "a", "nokey"]).await, 3);
    assert_eq!(int(&mut c, &["EXISTS", "b", "nokey", "b"]).await, 2);
    assert_eq!(int(&mut c, &["EXISTS", "nokey"]).await, 0);
    let expired_before = stat(&s, "expired");
    assert_eq!(int(&mut c, &["EXISTS", "dead"]).await, 0);
    // The expired key was reclaimed (by this lookup or by active expiry) and counted.
    assert_eq!(stat(&s, "expired") - expired_before, 1);
    assert_eq!(stored(&s, 0), 2);
    arity(&mut c, &["EXISTS"], "exists").await;
}

#[tokio::test]
async fn read_lookups_count_hits_and_misses() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    seed(&s, 0, "k", "v", None);
    let check = |s: &TestServer, hits: u64, misses: u64| {
        assert_eq!((stat(s, "hits"), stat(s, "misses")), (hits, misses));
    };
    let (h0, m0) = (stat(&s, "hits"), stat(&s, "misses"));
    int(&mut c, &["EXISTS", "k", "nokey"]).await;
    check(&s, h0 + 1, m0 + 1);
    cmd::<String>(&mut c, &["TYPE", "k"]).await;
    int(&mut c, &["TTL", "nokey"]).await;
    check(&s, h0 + 2, m0 + 2);
    int(&mut c, &["TOUCH", "k", "k", "nokey"]).await;
    check(&s, h0 + 4, m0 + 3);
    cmd::<Value>(&mut c, &["OBJECT", "ENCODING", "k"]).await;
    check(&s, h0 + 5, m0 + 3);
    // Write lookups are not counted.
    int(&mut c, &["EXPIRE", "k", "100"]).await;
    int(&mut c, &["PERSIST", "k"]).await;
    int(&mut c, &["EXPIRE", "nokey", "100"]).await;
    int(&mut c, &["DEL", "nokey"]).await;
    check(&s, h0 + 5, m0 + 3);
}

#[tokio::test]
async fn type_replies_status() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    seed(&s, 0, "str", "hello", None);
    seed(&s, 0, "dead", "x", Some(-1));
    assert_eq!(cmd::<String>(&mut c, &["TYPE", "str"]).await, "string");
    assert_eq!(cmd::<String>(&mut c, &["TYPE", "nokey"]).await, "none");
    assert_eq!(cmd::<String>(&mut c, &["TYPE", "dead"]).await, "none");
    arity(&mut c, &["TYPE"], "type").await;
    arity(&mut c, &["TYPE", "a", "b"], "type").await;
    let mut r = s.raw().await;
    r.roundtrip(&[b"TYPE", b"str"], b"+string\r\n").await;
    r.roundtrip(&[b"TYPE", b"nokey"], b"+none\r\n").await;
}

#[tokio::test]
async fn rename_moves_value_and_ttl() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    seed(&s, 0, "src", "value", Some(100_000));
    assert_eq!(cmd::<String>(&mut c, &["RENAME", "src", "dst"]).await, "OK");
    assert_eq!(value(&s, 0, "src"), None);
    assert_eq!(value(&s, 0, "dst"), Some(b"value".to_vec()));
    let pttl = int(&mut c, &["PTTL", "dst"]).await;
    assert!((90_000..=100_000).contains(&pttl), "{pttl}");
    // Overwrites the destination, its TTL included.
    seed(&s, 0, "plain", "p", None);
    assert_eq!(
        cmd::<String>(&mut c, &["RENAME", "plain", "dst"]).await,
        "OK"
    );
    assert_eq!(value(&s, 0, "dst"), Some(b"p".to_vec()));
    assert_eq!(int(&mut c, &["TTL", "dst"]).await, -1);
    assert_eq!(stored(&s, 0), 1);
    // Renaming an existing key to itself is a no-op that succeeds.
    assert_eq!(cmd::<String>(&mut c, &["RENAME", "dst", "dst"]).await, "OK");
    assert_eq!(value(&s, 0, "dst"), Some(b"p".to_vec()));
    assert_eq!(
        err(&mut c, &["RENAME", "nokey", "x"]).await,
        "ERR no such key"
    );
    assert_eq!(
        err(&mut c, &["RENAME", "nokey", "nokey"]).await,
        "ERR no such key"
    );
    seed(&s, 0, "dead", "x", Some(-1));
    assert_eq!(
        err(&mut c, &["RENAME", "dead", "x"]).await,
        "ERR no such key"
    );
    // Binary names, many shards.
    for i in 0..200 {
        seed(&s, 0, &format!("r{i}"), &format!("{i}"), None);
    }
    for i in 0..200 {
        let (from, to) = (format!("r{i}"), format!("renamed:{i}"));
        assert_eq!(cmd::<String>(&mut c, &["RENAME", &from, &to]).await, "OK");
    }
    for i in 0..200 {
        assert_eq!(
            value(&s, 0, &format!("renamed:{i}")),
            Some(format!("{i}").into_bytes())
        );
    }
    seed_at(&s, 0, b"\x00bin", b"b", None);
    let ok: String = redis::cmd("RENAME")
        .arg(&b"\x00bin"[..])
        .arg(&b"\xffbin"[..])
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(ok, "OK");
    arity(&mut c, &["RENAME", "a"], "rename").await;
    arity(&mut c, &["RENAME", "a", "b", "c"], "rename").await;
}

#[tokio::test]
async fn renamenx() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    seed(&s, 0, "a", "1", Some(50_000));
    seed(&s, 0, "b", "2", None);
    assert_eq!(int(&mut c, &["RENAMENX", "a", "b"]).await, 0);
    assert_eq!(value(&s, 0, "a"), Some(b"1".to_vec()));
    assert_eq!(value(&s, 0, "b"), Some(b"2".to_vec()));
    assert_eq!(int(&mut c, &["RENAMENX", "a", "a"]).await, 0);
    assert_eq!(int(&mut c, &["RENAMENX", "a", "c"]).await, 1);
    assert_eq!(value(&s, 0, "a"), None);
    assert_eq!(value(&s, 0, "c"), Some(b"1".to_vec()));
    assert!(int(&mut c, &["PTTL", "c"]).await > 40_000);
    // An expired destination does not block the rename.
    seed(&s, 0, "dead", "x", Some(-1));
    assert_eq!(int(&mut c, &["RENAMENX", "c", "dead"]).await, 1);
    assert_eq!(value(&s, 0, "dead"), Some(b"1".to_vec()));
    assert_eq!(
        err(&mut c, &["RENAMENX", "nokey", "x"]).await,
        "ERR no such key"
    );
    assert_eq!(
        err(&mut c, &["RENAMENX", "nokey", "nokey"]).await,
        "ERR no such key"
    );
    arity(&mut c, &["RENAMENX", "a"], "renamenx").await;
}

#[tokio::test]
async fn copy_within_and_across_databases() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    seed(&s, 0, "src", "value", Some(100_000));
    assert_eq!(int(&mut c, &["COPY", "src", "dst"]).await, 1);
    assert_eq!(value(&s, 0, "src"), Some(b"value".to_vec()));
    assert_eq!(value(&s, 0, "dst"), Some(b"value".to_vec()));
    assert!(int(&mut c, &["PTTL", "dst"]).await > 90_000);
    // Existing destination: 0 unless REPLACE (repeatable, any case).
    seed(&s, 0, "other", "o", None);
    assert_eq!(int(&mut c, &["COPY", "other", "dst"]).await, 0);
    assert_eq!(value(&s, 0, "dst"), Some(b"value".to_vec()));
    assert_eq!(
        int(&mut c, &["COPY", "other", "dst", "replace", "REPLACE"]).await,
        1
    );
    assert_eq!(value(&s, 0, "dst"), Some(b"o".to_vec()));
    assert_eq!(int(&mut c, &["TTL", "dst"]).await, -1);
    assert_eq!(int(&mut c, &["COPY", "nokey", "dst"]).await, 0);
    assert_eq!(int(&mut c, &["COPY", "nokey", "dst", "REPLACE"]).await, 0);
    assert_eq!(value(&s, 0, "dst"), Some(b"o".to_vec()));

    // To another database, then look from there with SELECT on the same connection.
    assert_eq!(int(&mut c, &["COPY", "src", "src", "DB", "3"]).await, 1);
    assert_eq!(int(&mut c, &["COPY", "src", "src", "db", "3"]).await, 0);
    assert_eq!(int(&mut c, &["COPY", "other", "src", "DB", "3"]).await, 0);
    assert_eq!(
        int(&mut c, &["COPY", "other", "src", "REPLACE", "DB", "3"]).await,
        1
    );
    assert_eq!(value(&s, 3, "src"), Some(b"o".to_vec()));
    assert_eq!(cmd::<String>(&mut c, &["SELECT", "3"]).await, "OK");
    assert_eq!(int(&mut c, &["EXISTS", "src", "dst"]).await, 1);
    assert_eq!(int(&mut c, &["COPY", "src", "back", "DB", "0"]).await, 1);
    assert_eq!(cmd::<String>(&mut c, &["SELECT", "0"]).await, "OK");
    assert_eq!(value(&s, 0, "back"), Some(b"o".to_vec()));

    // Errors, in Redis's order: option syntax, DB index, same object.
    let same = "ERR source and destination objects are the same";
    assert_eq!(err(&mut c, &["COPY", "src", "src"]).await, same);
    assert_eq!(err(&mut c, &["COPY", "nokey", "nokey"]).await, same);
    assert_eq!(err(&mut c, &["COPY", "src", "src", "DB", "0"]).await, same);
    let range = "ERR DB index is out of range";
    assert_eq!(err(&mut c, &["COPY", "src", "x", "DB", "16"]).await, range);
    assert_eq!(err(&mut c, &["COPY", "src", "x", "DB", "-1"]).await, range);
    assert_eq!(
        err(&mut c, &["COPY", "src", "src", "DB", "16"]).await,
        range
    );
    let notint = "ERR value is not an integer or out of range";
    assert_eq!(err(&mut c, &["COPY", "src", "x", "DB", "x"]).await, notint);
    assert_eq!(
        err(&mut c, &["COPY", "src", "x", "DB", "2147483648"]).await,
        notint
    );
    assert_eq!(
        err(&mut c, &["COPY", "src", "x", "DB"]).await,
        "ERR syntax error"
    );
    assert_eq!(
        err(&mut c, &["COPY", "src", "x", "FOO"]).await,
        "ERR syntax error"
    );
    assert_eq!(
        err(&mut c, &["COPY", "src", "x", "REPLACE", "DB", "1", "x"]).await,
        "ERR syntax error"
    );
    arity(&mut c, &["COPY", "src"], "copy").await;
}

#[tokio::test]
async fn copy_starts_a_fresh_access_time() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let e = Entry::new_str(b"old", b"v", None);
    e.touch((now_ms() / 1000 - 500) as u32);
    insert(&s, 0, e);
    assert!(int(&mut c, &["OBJECT", "IDLETIME", "old"]).await >= 499);
    assert_eq!(int(&mut c, &["COPY", "old", "new"]).await, 1);
    assert!(int(&mut c, &["OBJECT", "IDLETIME", "new"]).await <= 1);
}

#[tokio::test]
async fn move_between_databases() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    seed(&s, 0, "k", "v", Some(100_000));
    assert_eq!(int(&mut c, &["MOVE", "k", "1"]).await, 1);
    assert_eq!(value(&s, 0, "k"), None);
    assert_eq!(value(&s, 1, "k"), Some(b"v".to_vec()));
    assert_eq!(int(&mut c, &["EXISTS", "k"]).await, 0);
    assert_eq!(int(&mut c, &["MOVE", "k", "1"]).await, 0);
    assert_eq!(cmd::<String>(&mut c, &["SELECT", "1"]).await, "OK");
    assert!(int(&mut c, &["PTTL", "k"]).await > 90_000);
    // The destination already has the key: nothing moves.
    seed(&s, 0, "k", "zero", None);
    assert_eq!(int(&mut c, &["MOVE", "k", "0"]).await, 0);
    assert_eq!(value(&s, 0, "k"), Some(b"zero".to_vec()));
    assert_eq!(value(&s, 1, "k"), Some(b"v".to_vec()));
    // An expired destination does not count.
    seed(&s, 2, "k", "dead", Some(-1));
    assert_eq!(int(&mut c, &["MOVE", "k", "2"]).await, 1);
    assert_eq!(value(&s, 2, "k"), Some(b"v".to_vec()));
    assert_eq!(int(&mut c, &["MOVE", "nokey", "0"]).await, 0);
    let same = "ERR source and destination objects are the same";
    assert_eq!(err(&mut c, &["MOVE", "k", "1"]).await, same);
    assert_eq!(err(&mut c, &["MOVE", "nokey", "1"]).await, same);
    let range = "ERR DB index is out of range";
    assert_eq!(err(&mut c, &["MOVE", "k", "16"]).await, range);
    assert_eq!(err(&mut c, &["MOVE", "k", "-1"]).await, range);
    assert_eq!(err(&mut c, &["MOVE", "nokey", "16"]).await, range);
    let notint = "ERR value is not an integer or out of range";
    assert_eq!(err(&mut c, &["MOVE", "k", "x"]).await, notint);
    assert_eq!(
        err(&mut c, &["MOVE", "k", "99999999999999999999"]).await,
        notint
    );
    assert_eq!(err(&mut c, &["MOVE", "k", "4294967296"]).await, notint);
    assert_eq!(err(&mut c, &["MOVE", "k", " 1"]).await, notint);
    arity(&mut c, &["MOVE", "k"], "move").await;
    arity(&mut c, &["MOVE", "k", "1", "2"], "move").await;
}

#[tokio::test]
async fn keys_patterns() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    assert_eq!(cmd::<Vec<String>>(&mut c, &["KEYS", "*"]).await.len(), 0);
    for k in [
        "hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "h?llo", "foo", "foo:1", "foo:22",
        "",
    ] {
        seed(&s, 0, k, "v", None);
    }
    seed(&s, 0, "dead", "v", Some(-1));
    seed(&s, 1, "elsewhere", "v", None);
    let mut check = KeysCheck(&mut c);
    check
        .run(
            "*",
            &[
                "hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "h?llo", "foo", "foo:1",
                "foo:22", "",
            ],
        )
        .await;
    check
        .run("h?llo", &["hello", "hallo", "hxllo", "h*llo", "h?llo"])
        .await;
    check
        .run(
            "h*llo",
            &[
                "hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "h?llo",
            ],
        )
        .await;
    check.run("h[ae]llo", &["hello", "hallo"]).await;
    check
        .run("h[^e]llo", &["hallo", "hxllo", "h*llo", "h?llo"])
        .await;
    check.run("h[a-e]llo", &["hello", "hallo"]).await;
    check.run("h\\*llo", &["h*llo"]).await;
    check.run("h\\?llo", &["h?llo"]).await;
    check.run("foo:*", &["foo:1", "foo:22"]).await;
    check.run("foo:?", &["foo:1"]).await;
    check.run("foo", &["foo"]).await;
    check.run("", &[""]).await;
    check.run("nomatch*", &[]).await;
    check.run("dead", &[]).await;
    check.run("elsewhere", &[]).await;
    arity(&mut c, &["KEYS"], "keys").await;
    arity(&mut c, &["KEYS", "a", "b"], "keys").await;
    // Binary key names come back byte for byte.
    seed_at(&s, 2, b"\x00\xff*", b"v", None);
    let mut r = s.raw().await;
    r.roundtrip(&[b"SELECT", b"2"], b"+OK\r\n").await;
    r.roundtrip(&[b"KEYS", b"\x00*"], b"*1\r\n$3\r\n\x00\xff*\r\n")
        .await;
    r.roundtrip(&[b"KEYS", b"zzz"], b"*0\r\n").await;
}

/// Runs KEYS and compares the sorted result.
struct KeysCheck<'a>(&'a mut redis::aio::MultiplexedConnection);

impl KeysCheck<'_> {
    async fn run(&mut self, pattern: &str, expected: &[&str]) {
        let got = sorted(cmd::<Vec<String>>(self.0, &["KEYS", pattern]).await);
        let want = sorted(expected.iter().map(|s| s.to_string()).collect());
        assert_eq!(got, want, "KEYS {pattern}");
    }
}

#[tokio::test]
async fn scan_iterates_everything_with_options() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    assert_eq!(scan(&mut c, &["0"]).await, ("0".to_string(), vec![]));
    for i in 0..1000 {
        seed(&s, 0, &format!("user:{i}"), "v", None);
        seed(&s, 0, &format!("item:{i}"), "v", None);
    }
    seed(&s, 0, "dead", "v", Some(-1));
    let all: HashSet<String> = scan_all(&mut c, &[]).await.into_iter().collect();
    assert_eq!(all.len(), 2000);
    assert!(!all.contains("dead"));
    let all: HashSet<String> = scan_all(&mut c, &["COUNT", "1"])
        .await
        .into_iter()
        .collect();
    assert_eq!(all.len(), 2000);
    let users: HashSet<String> = scan_all(&mut c, &["MATCH", "user:*", "COUNT", "100"])
        .await
        .into_iter()
        .collect();
    assert_eq!(users.len(), 1000);
    assert!(users.iter().all(|k| k.starts_with("user:")));
    // MATCH, TYPE and COUNT: case-insensitive names; the last of a repeated option wins.
    let some: HashSet<String> = scan_all(
        &mut c,
        &["match", "x", "MATCH", "item:1?", "type", "STRING"],
    )
    .await
    .into_iter()
    .collect();
    assert_eq!(some.len(), 10);
    assert!(scan_all(&mut c, &["TYPE", "hash"]).await.is_empty());
    assert!(scan_all(&mut c, &["TYPE", "nosuchtype"]).await.is_empty());
    assert_eq!(scan_all(&mut c, &["TYPE", "string"]).await.len(), 2000);
    // A big COUNT finishes in one call.
    let (next, keys) = scan(&mut c, &["0", "COUNT", "100000"]).await;
    assert_eq!((next.as_str(), keys.len()), ("0", 2000));
    // A small COUNT returns about that many.
    let (next, keys) = scan(&mut c, &["0", "COUNT", "5"]).await;
    assert_ne!(next, "0");
    assert!(!keys.is_empty() && keys.len() <= 5, "{}", keys.len());

    // Cursors are parsed as strtoul does.
    let invalid = "ERR invalid cursor";
    for bad in ["abc", " 1", "1 ", "18446744073709551616", "-", "+", "1.5"] {
        assert_eq!(err(&mut c, &["SCAN", bad]).await, invalid, "{bad:?}");
    }
    assert_eq!(
        err(&mut c, &["SCAN", "abc", "COUNT", "0"]).await,
        invalid,
        "cursor is checked first"
    );
    for fine in ["", "-1", "18446744073709551615", "+0", "00"] {
        scan(&mut c, &[fine]).await;
    }
    let syntax = "ERR syntax error";
    assert_eq!(err(&mut c, &["SCAN", "0", "COUNT", "0"]).await, syntax);
    assert_eq!(err(&mut c, &["SCAN", "0", "COUNT", "-1"]).await, syntax);
    assert_eq!(err(&mut c, &["SCAN", "0", "COUNT"]).await, syntax);
    assert_eq!(err(&mut c, &["SCAN", "0", "MATCH"]).await, syntax);
    assert_eq!(err(&mut c, &["SCAN", "0", "TYPE"]).await, syntax);
    assert_eq!(err(&mut c, &["SCAN", "0", "FOO", "bar"]).await, syntax);
    assert_eq!(
        err(&mut c, &["SCAN", "0", "COUNT", "x"]).await,
        "ERR value is not an integer or out of range"
    );
    arity(&mut c, &["SCAN"], "scan").await;
}

#[tokio::test]
async fn scan_reply_shape() {
    let s = TestServer::start();
    seed(&s, 0, "only", "v", None);
    let mut r = s.raw().await;
    r.roundtrip(&[b"SCAN", b"0"], b"*2\r\n$1\r\n0\r\n*1\r\n$4\r\nonly\r\n")
        .await;
    r.roundtrip(
        &[b"SCAN", b"0", b"MATCH", b"x*"],
        b"*2\r\n$1\r\n0\r\n*0\r\n",
    )
    .await;
    // A cursor past the end simply ends the iteration.
    r.roundtrip(
        &[b"SCAN", b"18446744073709551615"],
        b"*2\r\n$1\r\n0\r\n*0\r\n",
    )
    .await;
}

#[tokio::test]
async fn scan_sees_stable_keys_while_others_add_keys() {
    let s = TestServer::start();
    const STABLE: usize = 3000;
    for i in 0..STABLE {
        seed(&s, 0, &format!("stable:{i}"), "v", None);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..3 {
        let mut c = s.conn().await;
        let stop = Arc::clone(&stop);
        writers.push(tokio::spawn(async move {
            let mut added = 0usize;
            // Grow the keyspace several-fold (forcing table resizes) while the scan
            // runs, and delete some of the new keys again.
            while !stop.load(Ordering::Relaxed) && added < 40_000 {
                let mut p = redis::pipe();
                for j in 0..100 {
                    let n = added + j;
                    p.cmd("COPY")
                        .arg(format!("stable:{}", n % STABLE))
                        .arg(format!("new:{w}:{n}"))
                        .ignore();
                    if n % 3 == 0 {
                        p.cmd("DEL").arg(format!("new:{w}:{}", n / 2)).ignore();
                    }
                }
                let _: () = p.query_async(&mut c).await.expect("writer pipeline");
                added += 100;
                tokio::task::yield_now().await;
            }
            added
        }));
    }
    let mut c = s.conn().await;
    let mut seen: HashSet<String> = HashSet::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let (next, keys) = scan(&mut c, &[&cursor, "COUNT", "20"]).await;
        seen.extend(keys);
        calls += 1;
        assert!(calls < 1_000_000);
        if next == "0" {
            break;
        }
        cursor = next;
        if calls % 8 == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let total_at_end = s.handle().shared().keyspace.total_keys();
    stop.store(true, Ordering::Relaxed);
    let mut added = 0;
    for w in writers {
        added += w.await.unwrap();
    }
    // The keyspace really grew (several table resizes) while the scan ran.
    assert!(
        added > 0 && total_at_end > 2 * STABLE,
        "{added} {total_at_end}"
    );
    assert!(seen
        .iter()
        .all(|k| k.starts_with("stable:") || k.starts_with("new:")));
    let missed: Vec<usize> = (0..STABLE)
        .filter(|i| !seen.contains(&format!("stable:{i}")))
        .collect();
    assert!(
        missed.is_empty(),
        "missed {} stable keys: {missed:?}",
        missed.len()
    );
}

#[tokio::test]
async fn randomkey() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    assert_eq!(cmd::<Value>(&mut c, &["RANDOMKEY"]).await, Value::Nil);
    // Only expired keys: nothing to return.
    seed(&s, 0, "dead", "v", Some(-1));
    assert_eq!(cmd::<Value>(&mut c, &["RANDOMKEY"]).await, Value::Nil);
    let names: HashSet<String> = (0..20).map(|i| format!("k{i}")).collect();
    for k in &names {
        seed(&s, 0, k, "v", None);
    }
    let mut got = HashSet::new();
    for _ in 0..200 {
        let k = cmd::<String>(&mut c, &["RANDOMKEY"]).await;
        assert!(names.contains(&k), "{k}");
        got.insert(k);
    }
    assert!(got.len() > 1, "always the same key");
    arity(&mut c, &["RANDOMKEY", "x"], "randomkey").await;
    let mut r = s.raw().await;
    r.roundtrip(&[b"SELECT", b"5"], b"+OK\r\n").await;
    r.roundtrip(&[b"RANDOMKEY"], b"$-1\r\n").await;
}

#[tokio::test]
async fn touch_updates_access_time() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let e = Entry::new_str(b"k", b"v", None);
    e.touch((now_ms() / 1000 - 100) as u32);
    insert(&s, 0, e);
    // Metadata reads do not count as access.
    int(&mut c, &["EXISTS", "k"]).await;
    cmd::<String>(&mut c, &["TYPE", "k"]).await;
    int(&mut c, &["TTL", "k"]).await;
    cmd::<String>(&mut c, &["OBJECT", "ENCODING", "k"]).await;
    let idle = int(&mut c, &["OBJECT", "IDLETIME", "k"]).await;
    assert!((99..=101).contains(&idle), "{idle}");
    assert_eq!(int(&mut c, &["TOUCH", "k", "k", "nokey"]).await, 2);
    assert!(int(&mut c, &["OBJECT", "IDLETIME", "k"]).await <= 1);
    assert_eq!(int(&mut c, &["TOUCH", "nokey"]).await, 0);
    arity(&mut c, &["TOUCH"], "touch").await;
}

#[tokio::test]
async fn object_encoding_and_refcount() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let cases = [
        ("zero", "0", "int", 2147483647),
        ("small", "9999", "int", 2147483647),
        ("big", "10000", "int", 1),
        ("neg", "-1", "int", 1),
        ("min", "-9223372036854775808", "int", 1),
        ("max", "9223372036854775807", "int", 1),
        ("over", "9223372036854775808", "embstr", 1),
        ("lead", "0123", "embstr", 1),
        ("plus", "+1", "embstr", 1),
        ("empty", "", "embstr", 1),
        ("e44", &"x".repeat(44), "embstr", 1),
        ("r45", &"x".repeat(45), "raw", 1),
    ];
    for (k, v, _, _) in &cases {
        seed(&s, 0, k, v, None);
    }
    for (k, v, enc, refs) in &cases {
        assert_eq!(
            cmd::<String>(&mut c, &["OBJECT", "ENCODING", k]).await,
            *enc,
            "{v}"
        );
        assert_eq!(int(&mut c, &["object", "refcount", k]).await, *refs, "{v}");
    }
    assert_eq!(
        cmd::<Value>(&mut c, &["OBJECT", "ENCODING", "nokey"]).await,
        Value::Nil
    );
    assert_eq!(
        cmd::<Value>(&mut c, &["OBJECT", "REFCOUNT", "nokey"]).await,
        Value::Nil
    );
    seed(&s, 0, "dead", "1", Some(-1));
    assert_eq!(
        cmd::<Value>(&mut c, &["OBJECT", "ENCODING", "dead"]).await,
        Value::Nil
    );
    let mut r = s.raw().await;
    r.roundtrip(&[b"OBJECT", b"ENCODING", b"zero"], b"$3\r\nint\r\n")
        .await;
    r.roundtrip(&[b"OBJECT", b"ENCODING", b"nokey"], b"$-1\r\n")
        .await;
}

#[tokio::test]
async fn object_refcount_without_shared_integers() {
    // With a memory limit and an LRU/LFU policy Redis stops sharing small integers.
    let s = TestServer::with(|c| {
        c.maxmemory = 1 << 30;
        c.maxmemory_policy = "allkeys-lru".into();
    });
    let mut c = s.conn().await;
    seed(&s, 0, "n", "5", None);
    assert_eq!(int(&mut c, &["OBJECT", "REFCOUNT", "n"]).await, 1);
}

#[tokio::test]
async fn object_idletime_and_freq_by_policy() {
    let lfu_err = "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note \
                   that when switching between policies at runtime LRU and LFU data will take \
                   some time to adjust.";
    let no_lfu_err = "ERR An LFU maxmemory policy is not selected, access frequency not \
                      tracked. Please note that when switching between policies at runtime LRU \
                      and LFU data will take some time to adjust.";
    let s = TestServer::start();
    let mut c = s.conn().await;
    seed(&s, 0, "k", "v", None);
    assert!(int(&mut c, &["OBJECT", "IDLETIME", "k"]).await <= 1);
    assert_eq!(err(&mut c, &["OBJECT", "FREQ", "k"]).await, no_lfu_err);
    // A missing key is nil before the policy is looked at.
    assert_eq!(
        cmd::<Value>(&mut c, &["OBJECT", "FREQ", "nokey"]).await,
        Value::Nil
    );
    assert_eq!(
        cmd::<Value>(&mut c, &["OBJECT", "IDLETIME", "nokey"]).await,
        Value::Nil
    );
    drop(s);

    let s = TestServer::with(|c| c.maxmemory_policy = "volatile-lfu".into());
    let mut c = s.conn().await;
    seed(&s, 0, "k", "v", None);
    assert_eq!(err(&mut c, &["OBJECT", "IDLETIME", "k"]).await, lfu_err);
    assert_eq!(int(&mut c, &["OBJECT", "FREQ", "k"]).await, 5);
    // Counted at 5 three minutes ago: one lost per idle minute (lfu-decay-time 1).
    let old = Entry::new_str(b"old", b"v", None);
    let clock = s.handle().shared().keyspace.access_clock();
    clock.set_frequency(&old, 5, now_ms() - 180_000);
    insert(&s, 0, old);
    assert_eq!(int(&mut c, &["OBJECT", "FREQ", "old"]).await, 2);
    // Reads count, logarithmically: 200 GETs take a new key well past 5.
    for _ in 0..200 {
        let _: String = cmd(&mut c, &["GET", "k"]).await;
    }
    let f = int(&mut c, &["OBJECT", "FREQ", "k"]).await;
    assert!((8..=20).contains(&f), "{f}");
    assert_eq!(
        cmd::<Value>(&mut c, &["OBJECT", "IDLETIME", "nokey"]).await,
        Value::Nil
    );
}

#[tokio::test]
async fn object_help_and_errors() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let help = cmd::<Vec<String>>(&mut c, &["OBJECT", "HELP"]).await;
    assert_eq!(help.len(), 15);
    assert_eq!(
        help[0],
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    );
    assert_eq!(help[14], "    Prints this help.");
    let mut r = s.raw().await;
    r.roundtrip(
        &[b"object", b"help"],
        b"*15\r\n\
          +OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n\
          +ENCODING <key>\r\n\
          +    Return the kind of internal representation used in order to store the value\r\n\
          +    associated with a <key>.\r\n\
          +FREQ <key>\r\n\
          +    Return the access frequency index of the <key>. The returned integer is\r\n\
          +    proportional to the logarithm of the recent access frequency of the key.\r\n\
          +IDLETIME <key>\r\n\
          +    Return the idle time of the <key>, that is the approximated number of\r\n\
          +    seconds elapsed since the last access to the key.\r\n\
          +REFCOUNT <key>\r\n\
          +    Return the number of references of the value associated with the specified\r\n\
          +    <key>.\r\n\
          +HELP\r\n\
          +    Prints this help.\r\n",
    )
    .await;
    arity(&mut c, &["OBJECT"], "object").await;
    arity(&mut c, &["OBJECT", "HELP", "x"], "object|help").await;
    for sub in ["ENCODING", "REFCOUNT", "IDLETIME", "FREQ"] {
        let name = format!("object|{}", sub.to_lowercase());
        arity(&mut c, &["OBJECT", sub], &name).await;
        arity(&mut c, &["OBJECT", sub, "a", "b"], &name).await;
    }
    assert_eq!(
        err(&mut c, &["OBJECT", "foo", "k"]).await,
        "ERR unknown subcommand 'foo'. Try OBJECT HELP."
    );
}

#[tokio::test]
async fn expire_sets_and_replaces_ttl() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    seed(&s, 0, "k", "v", None);
    assert_eq!(int(&mut c, &["EXPIRE", "k", "100"]).await, 1);
    assert_eq!(int(&mut c, &["TTL", "k"]).await, 100);
    let pttl = int(&mut c, &["PTTL", "k"]).await;
    assert!((99_000..=100_000).contains(&pttl), "{pttl}");
    assert_eq!(int(&mut c, &["PEXPIRE", "k", "5000"]).await, 1);
    assert_eq!(int(&mut c, &["TTL", "k"]).await, 5);
    let at = now_ms() / 1000 + 1000;
    assert_eq!(int(&mut c, &["EXPIREAT", "k", &at.to_string()]).await, 1);
    assert_eq!(int(&mut c, &["EXPIRETIME", "k"]).await, at);
    assert_eq!(int(&mut c, &["PEXPIRETIME", "k"]).await, at * 1000);
    let pat = now_ms() + 123_456;
    assert_eq!(int(&mut c, &["PEXPIREAT", "k", &pat.to_string()]).await, 1);
    assert_eq!(int(&mut c, &["PEXPIRETIME", "k"]).await, pat);
    // EXPIRETIME rounds to the nearest second, as Redis does.
    assert_eq!(int(&mut c, &["EXPIRETIME", "k"]).await, (pat + 500) / 1000);
    // The value is untouched.
    assert_eq!(value(&s, 0, "k"), Some(b"v".to_vec()));
    // Missing keys: 0 and nothing created.
    for cmdname in ["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"] {
        assert_eq!(int(&mut c, &[cmdname, "nokey", "100000000000"]).await, 0);
    }
    assert_eq!(stored(&s, 0), 1);
    for cmdname in ["expire", "pexpire", "expireat", "pexpireat"] {
        arity(&mut c, &[cmdname, "k"], cmdname).await;
    }
}

#[tokio::test]
async fn expire_in_the_past_deletes() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let cases: [(&str, String); 6] = [
        ("EXPIRE", "-1".into()),
        ("EXPIRE", "0".into()),
        ("PEXPIRE", "-100".into()),
        ("EXPIREAT", (now_ms() / 1000 - 10).to_string()),
        ("PEXPIREAT", "1".into()),
        ("PEXPIRE", "-9223372036854775808".into()),
    ];
    for (name, when) in &cases {
        seed(&s, 0, "k", "v", Some(100_000));
        assert_eq!(int(&mut c, &[name, "k", when]).await, 1, "{name} {when}");
        assert_eq!(int(&mut c, &["EXISTS", "k"]).await, 0, "{name} {when}");
        assert_eq!(stored(&s, 0), 0);
    }
}

#[tokio::test]
async fn expire_options() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    seed(&s, 0, "k", "v", None);
    // No TTL yet: XX and GT refuse, NX and LT accept.
    assert_eq!(int(&mut c, &["EXPIRE", "k", "100", "XX"]).await, 0);
    assert_eq!(int(&mut c, &["EXPIRE", "k", "100", "GT"]).await, 0);
    assert_eq!(int(&mut c, &["EXPIRE", "k", "-5", "gt"]).await, 0);
    assert_eq!(int(&mut c, &["TTL", "k"]).await, -1);
    assert_eq!(int(&mut c, &["EXPIRE", "k", "100", "lt"]).await, 1);
    assert_eq!(int(&mut c, &["TTL", "k"]).await, 100);
    assert_eq!(int(&mut c, &["PERSIST", "k"]).await, 1);
    assert_eq!(int(&mut c, &["EXPIRE", "k", "100", "nx"]).await, 1);
    // With a TTL of 100 s.
    assert_eq!(int(&mut c, &["EXPIRE", "k", "200", "NX"]).await, 0);
    assert_eq!(int(&mut c, &["EXPIRE", "k", "200", "LT"]).await, 0);
    assert_eq!(int(&mut c, &["EXPIRE", "k", "50", "GT"]).await, 0);
    assert_eq!(int(&mut c, &["TTL", "k"]).await, 100);
    assert_eq!(int(&mut c, &["EXPIRE", "k", "200", "GT"]).await, 1);
    assert_eq!(int(&mut c, &["TTL", "k"]).await, 200);
    assert_eq!(int(&mut c, &["EXPIRE", "k", "150", "XX"]).await, 1);
    assert_eq!(int(&mut c, &["TTL", "k"]).await, 150);
    assert_eq!(int(&mut c, &["PEXPIRE", "k", "10000", "LT", "XX"]).await, 1);
    assert_eq!(int(&mut c, &["TTL", "k"]).await, 10);
    assert_eq!(int(&mut c, &["EXPIRE", "k", "5", "xx", "gt"]).await, 0);
    assert_eq!(
        int(&mut c, &["EXPIRE", "k", "20", "gt", "gt", "xx"]).await,
        1
    );
    assert_eq!(int(&mut c, &["TTL", "k"]).await, 20);
    // LT into the past deletes.
    assert_eq!(int(&mut c, &["EXPIRE", "k", "-1", "LT"]).await, 1);
    assert_eq!(int(&mut c, &["EXISTS", "k"]).await, 0);
    // Options are parsed before anything else, the time next, the key last.
    let nx = "ERR NX and XX, GT or LT options at the same time are not compatible";
    let gtlt = "ERR GT and LT options at the same time are not compatible";
    for name in ["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"] {
        assert_eq!(err(&mut c, &[name, "k", "10", "NX", "XX"]).await, nx);
        assert_eq!(err(&mut c, &[name, "k", "10", "nx", "gt"]).await, nx);
        assert_eq!(err(&mut c, &[name, "k", "10", "LT", "NX"]).await, nx);
        assert_eq!(err(&mut c, &[name, "k", "10", "GT", "LT"]).await, gtlt);
        assert_eq!(err(&mut c, &[name, "k", "x", "GT", "LT"]).await, gtlt);
        assert_eq!(
            err(&mut c, &[name, "k", "10", "foo"]).await,
            "ERR Unsupported option foo"
        );
        assert_eq!(
            err(&mut c, &[name, "k", "x", "NX", "bar"]).await,
            "ERR Unsupported option bar"
        );
        assert_eq!(
            err(&mut c, &[name, "k", "x"]).await,
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            err(&mut c, &[name, "k", "1.5"]).await,
            "ERR value is not an integer or out of range"
        );
    }
}

#[tokio::test]
async fn expire_overflow() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    seed(&s, 0, "k", "v", None);
    let bad = |name: &str| format!("ERR invalid expire time in '{name}' command");
    let max = "9223372036854775807";
    for (name, when) in [
        ("EXPIRE", max),
        ("EXPIRE", "9223372036854776"),
        ("EXPIRE", "9223372036854770"),
        ("EXPIRE", "-9223372036854776"),
        ("EXPIREAT", max),
        ("EXPIREAT", "-9223372036854776"),
        ("PEXPIRE", max),
        ("PEXPIRE", "9223372036854775000"),
    ] {
        assert_eq!(
            err(&mut c, &[name, "k", when]).await,
            bad(&name.to_lowercase()),
            "{name} {when}"
        );
        // Also for a missing key: the time is checked before the lookup.
        assert_eq!(
            err(&mut c, &[name, "nokey", when]).await,
            bad(&name.to_lowercase())
        );
    }
    assert_eq!(int(&mut c, &["TTL", "k"]).await, -1);
    // The largest absolute times are accepted.
    assert_eq!(int(&mut c, &["PEXPIREAT", "k", max]).await, 1);
    assert_eq!(int(&mut c, &["PEXPIRETIME", "k"]).await, i64::MAX);
    assert_eq!(int(&mut c, &["EXPIRETIME", "k"]).await, 9223372036854776);
    assert!(int(&mut c, &["PTTL", "k"]).await > 9_000_000_000_000_000_000);
    assert_eq!(int(&mut c, &["EXPIREAT", "k", "9223372036854775"]).await, 1);
    assert_eq!(
        int(&mut c, &["PEXPIRETIME", "k"]).await,
        9223372036854775000
    );
}

#[tokio::test]
async fn ttl_family_and_persist() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    seed(&s, 0, "plain", "v", None);
    for name in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
        assert_eq!(int(&mut c, &[name, "nokey"]).await, -2, "{name}");
        assert_eq!(int(&mut c, &[name, "plain"]).await, -1, "{name}");
        arity(&mut c, &[name], &name.to_lowercase()).await;
        arity(&mut c, &[name, "a", "b"], &name.to_lowercase()).await;
    }
    let at = now_ms() + 10_400;
    seed_at(&s, 0, b"t", b"v", Some(at));
    assert_eq!(int(&mut c, &["TTL", "t"]).await, 10);
    let pttl = int(&mut c, &["PTTL", "t"]).await;
    assert!((10_000..=10_400).contains(&pttl), "{pttl}");
    assert_eq!(int(&mut c, &["PEXPIRETIME", "t"]).await, at);
    assert_eq!(int(&mut c, &["EXPIRETIME", "t"]).await, (at + 500) / 1000);
    // TTL rounds to the nearest second: 1.6 s left reads 2.
    seed(&s, 0, "round", "v", Some(1_600));
    assert_eq!(int(&mut c, &["TTL", "round"]).await, 2);
    // PERSIST.
    assert_eq!(int(&mut c, &["PERSIST", "t"]).await, 1);
    assert_eq!(int(&mut c, &["TTL", "t"]).await, -1);
    assert_eq!(int(&mut c, &["PERSIST", "t"]).await, 0);
    assert_eq!(int(&mut c, &["PERSIST", "plain"]).await, 0);
    assert_eq!(int(&mut c, &["PERSIST", "nokey"]).await, 0);
    assert_eq!(value(&s, 0, "t"), Some(b"v".to_vec()));
    arity(&mut c, &["PERSIST"], "persist").await;
}

#[tokio::test]
async fn expired_key_is_invisible_to_every_command() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    seed(&s, 0, "k", "v", None);
    seed(&s, 0, "keep", "v", None);
    assert_eq!(int(&mut c, &["PEXPIRE", "k", "100"]).await, 1);
    assert!(int(&mut c, &["PTTL", "k"]).await > 0);
    assert_eq!(int(&mut c, &["EXISTS", "k"]).await, 1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(value(&s, 0, "k"), None);
    assert_eq!(int(&mut c, &["EXISTS", "k"]).await, 0);
    assert_eq!(cmd::<String>(&mut c, &["TYPE", "k"]).await, "none");
    for name in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
        assert_eq!(int(&mut c, &[name, "k"]).await, -2);
    }
    assert_eq!(
        cmd::<Vec<String>>(&mut c, &["KEYS", "*"]).await,
        vec!["keep"]
    );
    assert_eq!(scan_all(&mut c, &[]).await, vec!["keep"]);
    for _ in 0..20 {
        assert_eq!(cmd::<String>(&mut c, &["RANDOMKEY"]).await, "keep");
    }
    assert_eq!(
        cmd::<Value>(&mut c, &["OBJECT", "ENCODING", "k"]).await,
        Value::Nil
    );
    assert_eq!(int(&mut c, &["TOUCH", "k"]).await, 0);
    assert_eq!(int(&mut c, &["PERSIST", "k"]).await, 0);
    assert_eq!(int(&mut c, &["EXPIRE", "k", "100"]).await, 0);
    assert_eq!(err(&mut c, &["RENAME", "k", "k2"]).await, "ERR no such key");
    assert_eq!(int(&mut c, &["COPY", "k", "k2"]).await, 0);
    assert_eq!(int(&mut c, &["MOVE", "k", "1"]).await, 0);
    assert_eq!(int(&mut c, &["DEL", "k"]).await, 0);
    // Nothing was resurrected or created along the way.
    assert_eq!(stored(&s, 0), 1);
    assert_eq!(stored(&s, 1), 0);
}

#[tokio::test]
async fn active_expiry_reclaims_untouched_keys() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    const N: usize = 100_000;
    for i in 0..N {
        seed(&s, 0, &format!("key:{i}"), "value", None);
    }
    seed(&s, 0, "survivor", "v", None);
    let keyspace = &s.handle().shared().keyspace;
    assert_eq!(keyspace.total_keys(), N + 1);
    for chunk in (0..N).collect::<Vec<_>>().chunks(1_000) {
        let mut p = redis::pipe();
        for i in chunk {
            p.cmd("PEXPIRE").arg(format!("key:{i}")).arg(300);
        }
        let replies: Vec<i64> = p.query_async(&mut c).await.unwrap();
        assert!(replies.iter().all(|&r| r == 1));
    }
    let started = Instant::now();
    // No client touches the keys from here on: only active expiry can reclaim them.
    while keyspace.total_keys() > 1 {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{} keys left after 5 s",
            keyspace.total_keys()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(keyspace.total_keys(), 1);
    assert_eq!(value(&s, 0, "survivor"), Some(b"v".to_vec()));
    assert_eq!(keyspace.expired_keys(), N as u64);
}

// ---------------------------------------------------------------------------------
// Keys of another type: generic commands work on hashes whatever their value
// ---------------------------------------------------------------------------------

/// A hash entry with `n` fields `f0..`, seeded straight into the keyspace.
fn hash_entry(key: &str, n: usize, expire_at: Option<i64>) -> Entry {
    let mut hv = shoal_storage::HashValue::new();
    for i in 0..n {
        hv.insert_within(format!("f{i}").as_bytes(), b"v", Default::default());
    }
    Entry::new_hash(key.as_bytes(), hv, expire_at)
}

/// The number of fields of the hash at `key` in `db`, read from the keyspace.
fn hash_len(s: &TestServer, db: usize, key: &str) -> Option<usize> {
    let d = s.handle().shared().keyspace.db(db);
    let h = d.hash(key.as_bytes());
    d.lock(h)
        .peek(h, key.as_bytes(), now_ms())
        .and_then(|e| e.as_hash().map(|hv| hv.len()))
}

#[tokio::test]
async fn generic_commands_on_hashes() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    insert(&s, 0, hash_entry("h", 3, None));
    insert(&s, 0, hash_entry("big", 600, None));
    insert(&s, 0, hash_entry("dead", 1, Some(now_ms() - 1)));
    seed(&s, 0, "str", "v", None);
    assert_eq!(cmd::<String>(&mut c, &["TYPE", "h"]).await, "hash");
    assert_eq!(cmd::<String>(&mut c, &["TYPE", "dead"]).await, "none");
    let mut r = s.raw().await;
    r.roundtrip(&[b"TYPE", b"h"], b"+hash\r\n").await;
    assert_eq!(int(&mut c, &["EXISTS", "h", "big", "dead", "str"]).await, 3);
    assert_eq!(
        cmd::<String>(&mut c, &["OBJECT", "ENCODING", "h"]).await,
        "listpack"
    );
    assert_eq!(
        cmd::<String>(&mut c, &["OBJECT", "ENCODING", "big"]).await,
        "hashtable"
    );
    assert_eq!(int(&mut c, &["OBJECT", "REFCOUNT", "h"]).await, 1);
    assert!(int(&mut c, &["OBJECT", "IDLETIME", "h"]).await <= 1);
    // Expiry commands.
    assert_eq!(int(&mut c, &["EXPIRE", "h", "100"]).await, 1);
    assert_eq!(int(&mut c, &["TTL", "h"]).await, 100);
    assert_eq!(int(&mut c, &["PERSIST", "h"]).await, 1);
    assert_eq!(int(&mut c, &["TTL", "h"]).await, -1);
    assert_eq!(hash_len(&s, 0, "h"), Some(3), "the value is untouched");
    // KEYS, SCAN TYPE, RANDOMKEY see hashes as keys.
    let mut keys: Vec<String> = cmd(&mut c, &["KEYS", "*"]).await;
    keys.sort();
    assert_eq!(keys, vec!["big", "h", "str"]);
    let (_, found): (String, Vec<String>) =
        cmd(&mut c, &["SCAN", "0", "TYPE", "hash", "COUNT", "1000"]).await;
    let mut found = found;
    found.sort();
    assert_eq!(found, vec!["big", "h"]);
    let (_, found): (String, Vec<String>) =
        cmd(&mut c, &["SCAN", "0", "TYPE", "string", "COUNT", "1000"]).await;
    assert_eq!(found, vec!["str"]);
    // RENAME, COPY, MOVE carry the hash (COPY shares it until one side is written).
    assert_eq!(
        cmd::<String>(&mut c, &["RENAME", "big", "big2"]).await,
        "OK"
    );
    assert_eq!(hash_len(&s, 0, "big2"), Some(600));
    assert_eq!(int(&mut c, &["RENAMENX", "h", "big2"]).await, 0);
    assert_eq!(int(&mut c, &["COPY", "h", "hc"]).await, 1);
    assert_eq!(hash_len(&s, 0, "hc"), Some(3));
    assert_eq!(int(&mut c, &["COPY", "str", "h", "REPLACE"]).await, 1);
    assert_eq!(cmd::<String>(&mut c, &["TYPE", "h"]).await, "string");
    assert_eq!(hash_len(&s, 0, "hc"), Some(3));
    assert_eq!(int(&mut c, &["MOVE", "hc", "2"]).await, 1);
    assert_eq!(hash_len(&s, 2, "hc"), Some(3));
    assert_eq!(hash_len(&s, 0, "hc"), None);
    // DEL and UNLINK remove them.
    assert_eq!(int(&mut c, &["DEL", "big2", "nokey"]).await, 1);
    insert(&s, 0, hash_entry("u", 2, None));
    assert_eq!(int(&mut c, &["UNLINK", "u"]).await, 1);
    assert_eq!(int(&mut c, &["EXISTS", "big2", "u"]).await, 0);
}
