//! Hash commands: HSET, HSETNX, HMSET, HGET, HMGET, HDEL, HLEN, HSTRLEN, HEXISTS,
//! HKEYS, HVALS, HGETALL, HINCRBY, HINCRBYFLOAT, HRANDFIELD and HSCAN. Replies in RESP2
//! and RESP3 (byte for byte what redis-server 7.0.15 sends, where the reply is
//! deterministic), every option, error and arity case, WRONGTYPE in both directions,
//! the packed -> table conversion, the life of a hash as a key (emptied hashes vanish,
//! TTLs survive field writes, COPY is copy-on-write, RENAME/MOVE/SCAN TYPE), HSCAN over
//! large hashes and HRANDFIELD's sampling.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use redis::Value;
use shoal_server::command::flags::*;
use shoal_server::dispatch::TABLE;
use shoal_server::state::now_ms;
use shoal_storage::Entry;

use crate::common::*;

type Conn = redis::aio::MultiplexedConnection;

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

async fn int(c: &mut Conn, args: &[&str]) -> i64 {
    cmd::<i64>(c, args).await
}

async fn arity(c: &mut Conn, args: &[&str], name: &str) {
    assert_eq!(
        err(c, args).await,
        format!("ERR wrong number of arguments for '{name}' command"),
        "{args:?}"
    );
}

async fn encoding(c: &mut Conn, key: &str) -> String {
    cmd::<String>(c, &["OBJECT", "ENCODING", key]).await
}

async fn hgetall(c: &mut Conn, key: &str) -> HashMap<String, String> {
    cmd::<HashMap<String, String>>(c, &["HGETALL", key]).await
}

/// Runs a command with binary arguments.
async fn bin(c: &mut Conn, args: &[&[u8]]) -> Value {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).expect("command name"));
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query_async(c).await.expect("binary command")
}

/// HSET key with `n` fields `f0..` = `v0..`, sent in one command.
async fn fill(c: &mut Conn, key: &str, n: usize) {
    let mut args = vec!["HSET".to_string(), key.to_string()];
    for i in 0..n {
        args.push(format!("f{i}"));
        args.push(format!("v{i}"));
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(int(c, &refs).await, n as i64);
}

/// The stored entry of `key` in database 0, read from the keyspace directly.
fn entry(s: &TestServer, key: &str) -> Option<Entry> {
    let db = s.handle().shared().keyspace.db(0);
    let h = db.hash(key.as_bytes());
    let shard = db.lock(h);
    shard.peek(h, key.as_bytes(), now_ms()).cloned()
}

fn stat(s: &TestServer, hits: bool) -> u64 {
    let t = s.handle().shared().counters.totals();
    if hits {
        t.keyspace_hits
    } else {
        t.keyspace_misses
    }
}

/// Strings of a RESP array reply (`redis::Value`), nested arrays flattened.
fn flatten(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items.iter().flat_map(flatten).collect(),
        Value::BulkString(b) => vec![String::from_utf8_lossy(b).into_owned()],
        other => panic!("unexpected {other:?}"),
    }
}

// ---------------------------------------------------------------------------------
// Byte-exact replies, recorded from redis-server 7.0.15
// ---------------------------------------------------------------------------------

/// Replies of a deterministic session (packed hashes, whose order is insertion order
/// in Redis and Shoal alike), identical in both protocols except where noted.
fn session(resp3: bool) -> Vec<(&'static [&'static str], &'static [u8])> {
    let pick = |two: &'static [u8], three: &'static [u8]| if resp3 { three } else { two };
    vec![
        (&["HSET", "h", "a", "1", "b", "2", "c", "3"], b":3\r\n"),
        (&["HSET", "h", "b", "20", "d", "4"], b":1\r\n"),
        (
            &["HGETALL", "h"],
            pick(
                b"*8\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$2\r\n20\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n",
                b"%4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$2\r\n20\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n",
            ),
        ),
        (&["HKEYS", "h"], b"*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n"),
        (&["HVALS", "h"], b"*4\r\n$1\r\n1\r\n$2\r\n20\r\n$1\r\n3\r\n$1\r\n4\r\n"),
        (
            &["HMGET", "h", "a", "x", "c"],
            pick(
                b"*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n3\r\n",
                b"*3\r\n$1\r\n1\r\n_\r\n$1\r\n3\r\n",
            ),
        ),
        (&["HGET", "h", "x"], pick(b"$-1\r\n", b"_\r\n")),
        (&["HGET", "h", "b"], b"$2\r\n20\r\n"),
        (&["HLEN", "h"], b":4\r\n"),
        (&["HGETALL", "nokey"], pick(b"*0\r\n", b"%0\r\n")),
        (&["HKEYS", "nokey"], b"*0\r\n"),
        (&["HMGET", "nokey", "a"], pick(b"*1\r\n$-1\r\n", b"*1\r\n_\r\n")),
        (
            &["HSCAN", "h", "0"],
            b"*2\r\n$1\r\n0\r\n*8\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$2\r\n20\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n",
        ),
        (
            &["HSCAN", "h", "0", "MATCH", "[ab]"],
            b"*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$2\r\n20\r\n",
        ),
        (&["HSCAN", "nokey", "0", "COUNT", "0"], b"*2\r\n$1\r\n0\r\n*0\r\n"),
        (&["HRANDFIELD", "nokey"], pick(b"$-1\r\n", b"_\r\n")),
        (&["HRANDFIELD", "nokey", "3"], b"*0\r\n"),
        (&["HRANDFIELD", "h", "0"], b"*0\r\n"),
        (
            &["HRANDFIELD", "h", "4", "WITHVALUES"],
            pick(
                b"*8\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$2\r\n20\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n",
                b"*4\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\nb\r\n$2\r\n20\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$1\r\nd\r\n$1\r\n4\r\n",
            ),
        ),
        (&["HRANDFIELD", "h", "10"], b"*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n"),
        (&["HINCRBYFLOAT", "h", "f", "0.1"], b"$3\r\n0.1\r\n"),
        (&["HINCRBYFLOAT", "h", "f", "0.2"], b"$3\r\n0.3\r\n"),
        (&["HINCRBYFLOAT", "h", "g", "1000"], b"$4\r\n1000\r\n"),
        (&["HINCRBYFLOAT", "h", "g", "0.1"], b"$22\r\n1000.09999999999999998\r\n"),
        (&["HINCRBYFLOAT", "h", "g", "-1000.1"], b"$1\r\n0\r\n"),
        (&["HINCRBYFLOAT", "h", "f", "1.5e3"], b"$22\r\n1500.30000000000000004\r\n"),
        (&["HINCRBYFLOAT", "h", "f", "0x10"], b"$22\r\n1516.30000000000000004\r\n"),
        (&["HINCRBYFLOAT", "h", "f", "inf"], b"-ERR value is NaN or Infinity\r\n"),
        (&["HINCRBYFLOAT", "h", "f", "1e5000"], b"-ERR value is not a valid float\r\n"),
        (&["HINCRBYFLOAT", "h", "a", "x"], b"-ERR value is not a valid float\r\n"),
        (&["HINCRBY", "h", "a", "9223372036854775806"], b":9223372036854775807\r\n"),
        (&["HINCRBY", "h", "a", "1"], b"-ERR increment or decrement would overflow\r\n"),
        (&["HINCRBY", "h", "a", "-1"], b":9223372036854775806\r\n"),
        (&["HINCRBY", "h", "n", "-9223372036854775808"], b":-9223372036854775808\r\n"),
        (&["HINCRBY", "h", "n", "-1"], b"-ERR increment or decrement would overflow\r\n"),
        (&["HINCRBY", "h", "f", "1"], b"-ERR hash value is not an integer\r\n"),
        (&["HSET", "h", "a"], b"-ERR wrong number of arguments for 'hset' command\r\n"),
        (&["HMSET", "h", "a"], b"-ERR wrong number of arguments for 'hmset' command\r\n"),
        (&["HMSET", "h", "a", "1"], b"+OK\r\n"),
        (
            &["HRANDFIELD", "h", "-9223372036854775808"],
            b"-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n",
        ),
        (
            &["HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES"],
            b"-ERR value is out of range\r\n",
        ),
        (&["HRANDFIELD", "h", "1", "WITHVALUES", "x"], b"-ERR syntax error\r\n"),
        (&["HSCAN", "h", "x"], b"-ERR invalid cursor\r\n"),
        (&["HSCAN", "h", "0", "COUNT", "0"], b"-ERR syntax error\r\n"),
        (&["HSCAN", "h", "0", "TYPE", "hash"], b"-ERR syntax error\r\n"),
        (&["HSTRLEN", "h", "f"], b":22\r\n"),
        (&["HSTRLEN", "h", "nofield"], b":0\r\n"),
        (&["HEXISTS", "h", "a"], b":1\r\n"),
        (&["HEXISTS", "h", "nofield"], b":0\r\n"),
        (&["HSETNX", "h", "a", "5"], b":0\r\n"),
        (&["HSETNX", "h", "z", "26"], b":1\r\n"),
        (
            &["HDEL", "h", "a", "b", "c", "d", "f", "g", "n", "z", "nofield"],
            b":8\r\n",
        ),
        (&["EXISTS", "h"], b":0\r\n"),
        (&["SET", "s", "v"], b"+OK\r\n"),
        (&["HGET", "s", "a"], b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (&["HSET", "s", "a", "b"], b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (&["GET", "s"], b"$1\r\nv\r\n"),
        (&["HGETALL", "s"], b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ]
}

async fn replay(r: &mut Raw, resp3: bool) {
    for (args, expected) in session(resp3) {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        r.roundtrip(&args, expected).await;
    }
}

#[tokio::test]
async fn replies_match_redis_byte_for_byte_resp2() {
    let s = TestServer::start();
    let mut r = s.raw().await;
    replay(&mut r, false).await;
}

#[tokio::test]
async fn replies_match_redis_byte_for_byte_resp3() {
    let s = TestServer::start();
    let mut r = s.raw3().await;
    replay(&mut r, true).await;
}

// ---------------------------------------------------------------------------------
// Setting and reading fields
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn hset_hmset_hsetnx_and_hget() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    assert_eq!(int(&mut c, &["HSET", "h", "a", "1"]).await, 1);
    assert_eq!(int(&mut c, &["hset", "h", "a", "2", "b", "3"]).await, 1);
    // Repeating a field in one command counts it once and keeps the last value.
    assert_eq!(
        int(&mut c, &["HSET", "h", "c", "x", "c", "y", "a", "9"]).await,
        1
    );
    assert_eq!(cmd::<String>(&mut c, &["HGET", "h", "c"]).await, "y");
    assert_eq!(cmd::<String>(&mut c, &["HGET", "h", "a"]).await, "9");
    assert_eq!(
        cmd::<Option<String>>(&mut c, &["HGET", "h", "zz"]).await,
        None
    );
    assert_eq!(
        cmd::<Option<String>>(&mut c, &["HGET", "nokey", "a"]).await,
        None
    );
    assert_eq!(
        cmd::<String>(&mut c, &["HMSET", "h", "d", "4", "e", "5"]).await,
        "OK"
    );
    assert_eq!(int(&mut c, &["HLEN", "h"]).await, 5);
    // HSETNX: only a missing field is set; a missing key is created.
    assert_eq!(int(&mut c, &["HSETNX", "h", "a", "new"]).await, 0);
    assert_eq!(cmd::<String>(&mut c, &["HGET", "h", "a"]).await, "9");
    assert_eq!(int(&mut c, &["HSETNX", "h", "f", "6"]).await, 1);
    assert_eq!(cmd::<String>(&mut c, &["HGET", "h", "f"]).await, "6");
    assert_eq!(int(&mut c, &["HSETNX", "fresh", "k", "v"]).await, 1);
    assert_eq!(cmd::<String>(&mut c, &["TYPE", "fresh"]).await, "hash");
    assert_eq!(int(&mut c, &["HLEN", "fresh"]).await, 1);
}

#[tokio::test]
async fn empty_and_binary_fields_and_values() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    assert_eq!(int(&mut c, &["HSET", "h", "", ""]).await, 1);
    assert_eq!(cmd::<String>(&mut c, &["HGET", "h", ""]).await, "");
    assert_eq!(int(&mut c, &["HEXISTS", "h", ""]).await, 1);
    assert_eq!(int(&mut c, &["HSTRLEN", "h", ""]).await, 0);
    let field: &[u8] = b"f\x00\r\n\xff";
    let value: &[u8] = b"\x00\x01\r\n$3\r\n";
    assert_eq!(
        bin(&mut c, &[b"HSET", b"h", field, value]).await,
        Value::Int(1)
    );
    assert_eq!(
        bin(&mut c, &[b"HGET", b"h", field]).await,
        Value::BulkString(value.to_vec())
    );
    assert_eq!(
        bin(&mut c, &[b"HSTRLEN", b"h", field]).await,
        Value::Int(value.len() as i64)
    );
    // A binary key works like any other.
    assert_eq!(
        bin(&mut c, &[b"HSET", b"\x00k\xfe", b"a", b"b"]).await,
        Value::Int(1)
    );
    assert_eq!(
        bin(&mut c, &[b"HKEYS", b"\x00k\xfe"]).await,
        Value::Array(vec![Value::BulkString(b"a".to_vec())])
    );
}

#[tokio::test]
async fn hmget_hlen_hstrlen_hexists() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    cmd::<i64>(&mut c, &["HSET", "h", "a", "hello", "b", ""]).await;
    assert_eq!(
        cmd::<Vec<Option<String>>>(&mut c, &["HMGET", "h", "a", "zz", "b", "a"]).await,
        vec![
            Some("hello".into()),
            None,
            Some("".into()),
            Some("hello".into())
        ]
    );
    assert_eq!(
        cmd::<Vec<Option<String>>>(&mut c, &["HMGET", "nokey", "a", "b"]).await,
        vec![None, None]
    );
    assert_eq!(int(&mut c, &["HLEN", "h"]).await, 2);
    assert_eq!(int(&mut c, &["HLEN", "nokey"]).await, 0);
    assert_eq!(int(&mut c, &["HSTRLEN", "h", "a"]).await, 5);
    assert_eq!(int(&mut c, &["HSTRLEN", "h", "b"]).await, 0);
    assert_eq!(int(&mut c, &["HSTRLEN", "h", "zz"]).await, 0);
    assert_eq!(int(&mut c, &["HSTRLEN", "nokey", "a"]).await, 0);
    assert_eq!(int(&mut c, &["HEXISTS", "h", "b"]).await, 1);
    assert_eq!(int(&mut c, &["HEXISTS", "h", "zz"]).await, 0);
    assert_eq!(int(&mut c, &["HEXISTS", "nokey", "a"]).await, 0);
    // HSTRLEN counts bytes of the stored value, integers included.
    cmd::<i64>(&mut c, &["HINCRBY", "h", "n", "-12345"]).await;
    assert_eq!(int(&mut c, &["HSTRLEN", "h", "n"]).await, 6);
}

#[tokio::test]
async fn hkeys_hvals_hgetall_in_both_protocols() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    cmd::<i64>(&mut c, &["HSET", "h", "x", "1", "y", "2", "z", "3"]).await;
    assert_eq!(
        cmd::<Vec<String>>(&mut c, &["HKEYS", "h"]).await,
        vec!["x", "y", "z"]
    );
    assert_eq!(
        cmd::<Vec<String>>(&mut c, &["HVALS", "h"]).await,
        vec!["1", "2", "3"]
    );
    assert_eq!(
        cmd::<Vec<String>>(&mut c, &["HGETALL", "h"]).await,
        vec!["x", "1", "y", "2", "z", "3"]
    );
    assert!(cmd::<Vec<String>>(&mut c, &["HKEYS", "nokey"])
        .await
        .is_empty());
    assert!(cmd::<Vec<String>>(&mut c, &["HVALS", "nokey"])
        .await
        .is_empty());
    assert!(hgetall(&mut c, "nokey").await.is_empty());

    // RESP3: HGETALL is a map, HKEYS/HVALS stay arrays.
    let mut c3 = s.conn3().await;
    match cmd::<Value>(&mut c3, &["HGETALL", "h"]).await {
        Value::Map(pairs) => {
            let got: Vec<(String, String)> = pairs
                .iter()
                .map(|(k, v)| (flatten(k).concat(), flatten(v).concat()))
                .collect();
            assert_eq!(
                got,
                vec![
                    ("x".to_string(), "1".to_string()),
                    ("y".into(), "2".into()),
                    ("z".into(), "3".into())
                ]
            );
        }
        other => panic!("HGETALL in RESP3 should be a map, got {other:?}"),
    }
    assert!(matches!(
        cmd::<Value>(&mut c3, &["HKEYS", "h"]).await,
        Value::Array(_)
    ));
    assert_eq!(
        cmd::<Value>(&mut c3, &["HGETALL", "nokey"]).await,
        Value::Map(vec![])
    );
    let mut r = s.raw3().await;
    r.roundtrip(
        &[b"HGETALL", b"h"],
        b"%3\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$1\r\n2\r\n$1\r\nz\r\n$1\r\n3\r\n",
    )
    .await;

    // A table-encoded hash returns every pair exactly once.
    fill(&mut c, "big", 500).await;
    let all = hgetall(&mut c, "big").await;
    assert_eq!(all.len(), 500);
    for i in 0..500 {
        assert_eq!(all[&format!("f{i}")], format!("v{i}"));
    }
    assert_eq!(
        cmd::<Vec<String>>(&mut c, &["HKEYS", "big"]).await.len(),
        500
    );
    let vals: HashSet<String> = cmd::<Vec<String>>(&mut c, &["HVALS", "big"])
        .await
        .into_iter()
        .collect();
    assert_eq!(vals.len(), 500);
}

// ---------------------------------------------------------------------------------
// Deleting fields
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn hdel_counts_and_an_emptied_hash_disappears() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    cmd::<i64>(&mut c, &["HSET", "h", "a", "1", "b", "2", "c", "3"]).await;
    assert_eq!(int(&mut c, &["HDEL", "h", "a", "zz", "a"]).await, 1);
    assert_eq!(int(&mut c, &["HDEL", "h", "zz"]).await, 0);
    assert_eq!(int(&mut c, &["HDEL", "nokey", "a"]).await, 0);
    assert_eq!(int(&mut c, &["EXISTS", "nokey"]).await, 0);
    assert_eq!(int(&mut c, &["HLEN", "h"]).await, 2);
    assert_eq!(int(&mut c, &["HDEL", "h", "b", "c"]).await, 2);
    assert_eq!(int(&mut c, &["EXISTS", "h"]).await, 0);
    assert_eq!(cmd::<String>(&mut c, &["TYPE", "h"]).await, "none");
    assert!(
        entry(&s, "h").is_none(),
        "the emptied hash is gone from storage"
    );
    // A large (table) hash too, emptied by one command.
    fill(&mut c, "big", 300).await;
    let mut args = vec!["HDEL".to_string(), "big".to_string()];
    args.extend((0..300).map(|i| format!("f{i}")));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(int(&mut c, &refs).await, 300);
    assert_eq!(int(&mut c, &["EXISTS", "big"]).await, 0);
    // After which the key is free for any type.
    assert_eq!(cmd::<String>(&mut c, &["SET", "big", "s"]).await, "OK");
    assert_eq!(cmd::<String>(&mut c, &["GET", "big"]).await, "s");
}

// ---------------------------------------------------------------------------------
// HINCRBY, HINCRBYFLOAT
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn hincrby() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    assert_eq!(int(&mut c, &["HINCRBY", "h", "n", "5"]).await, 5);
    assert_eq!(int(&mut c, &["HINCRBY", "h", "n", "-7"]).await, -2);
    assert_eq!(cmd::<String>(&mut c, &["HGET", "h", "n"]).await, "-2");
    assert_eq!(int(&mut c, &["HINCRBY", "h", "m", "0"]).await, 0);
    assert_eq!(cmd::<String>(&mut c, &["HGET", "h", "m"]).await, "0");
    // The increment is checked before the key's type.
    cmd::<String>(&mut c, &["SET", "s", "1"]).await;
    for bad in ["x", "1.5", " 1", "+1", "01", "", "9223372036854775808"] {
        assert_eq!(
            err(&mut c, &["HINCRBY", "s", "f", bad]).await,
            "ERR value is not an integer or out of range",
            "{bad:?}"
        );
    }
    assert_eq!(err(&mut c, &["HINCRBY", "s", "f", "1"]).await, WRONGTYPE);
    // Stored values must be strict integers.
    cmd::<i64>(
        &mut c,
        &[
            "HSET", "h", "t", "abc", "sp", " 1", "z", "007", "fl", "1.0", "e", "",
        ],
    )
    .await;
    for f in ["t", "sp", "z", "fl", "e"] {
        assert_eq!(
            err(&mut c, &["HINCRBY", "h", f, "1"]).await,
            "ERR hash value is not an integer",
            "{f}"
        );
    }
    // Overflow in both directions leaves the value alone.
    cmd::<i64>(&mut c, &["HSET", "h", "max", "9223372036854775807"]).await;
    assert_eq!(
        err(&mut c, &["HINCRBY", "h", "max", "1"]).await,
        "ERR increment or decrement would overflow"
    );
    assert_eq!(
        int(&mut c, &["HINCRBY", "h", "max", "-9223372036854775807"]).await,
        0
    );
    cmd::<i64>(&mut c, &["HSET", "h", "min", "-9223372036854775808"]).await;
    assert_eq!(
        err(&mut c, &["HINCRBY", "h", "min", "-1"]).await,
        "ERR increment or decrement would overflow"
    );
    assert_eq!(
        cmd::<String>(&mut c, &["HGET", "h", "min"]).await,
        "-9223372036854775808"
    );
    // A failing HINCRBY on a missing key creates nothing.
    assert_eq!(
        err(&mut c, &["HINCRBY", "nokey", "f", "x"]).await,
        "ERR value is not an integer or out of range"
    );
    assert_eq!(int(&mut c, &["EXISTS", "nokey"]).await, 0);
    arity(&mut c, &["HINCRBY", "h", "n"], "hincrby").await;
    arity(&mut c, &["HINCRBY", "h", "n", "1", "2"], "hincrby").await;
}

#[tokio::test]
async fn hincrbyfloat_uses_long_double_arithmetic() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    async fn f(c: &mut Conn, v: &str) -> String {
        cmd::<String>(c, &["HINCRBYFLOAT", "h", "x", v]).await
    }
    // Results as redis-server 7.0 (x87 long double) prints them.
    assert_eq!(f(&mut c, "10.5").await, "10.5");
    assert_eq!(f(&mut c, "0.1").await, "10.6");
    assert_eq!(f(&mut c, "-10.6").await, "0");
    assert_eq!(f(&mut c, "1000").await, "1000");
    assert_eq!(f(&mut c, "0.1").await, "1000.09999999999999998");
    assert_eq!(f(&mut c, "5.0e3").await, "6000.10000000000000009");
    assert_eq!(f(&mut c, "-6000.09999999999999998").await, "0");
    assert_eq!(f(&mut c, "3").await, "3");
    assert_eq!(cmd::<String>(&mut c, &["HGET", "h", "x"]).await, "3");
    // Integers stored by HINCRBY are floats too, and back.
    assert_eq!(int(&mut c, &["HINCRBY", "h", "i", "7"]).await, 7);
    assert_eq!(
        cmd::<String>(&mut c, &["HINCRBYFLOAT", "h", "i", "0.5"]).await,
        "7.5"
    );
    assert_eq!(
        err(&mut c, &["HINCRBY", "h", "i", "1"]).await,
        "ERR hash value is not an integer"
    );
    // Errors, in Redis's order: the increment, its finiteness, the key's type, the
    // stored value, the result.
    cmd::<String>(&mut c, &["SET", "s", "1"]).await;
    for bad in ["x", "", " 1", "1x", "nan", "1e5000"] {
        assert_eq!(
            err(&mut c, &["HINCRBYFLOAT", "s", "f", bad]).await,
            "ERR value is not a valid float",
            "{bad:?}"
        );
    }
    for inf in ["inf", "-inf", "+inf", "Infinity"] {
        assert_eq!(
            err(&mut c, &["HINCRBYFLOAT", "s", "f", inf]).await,
            "ERR value is NaN or Infinity",
            "{inf}"
        );
    }
    assert_eq!(
        err(&mut c, &["HINCRBYFLOAT", "s", "f", "1"]).await,
        WRONGTYPE
    );
    cmd::<i64>(&mut c, &["HSET", "h", "t", "abc", "sp", " 1", "inf", "inf"]).await;
    for field in ["t", "sp"] {
        assert_eq!(
            err(&mut c, &["HINCRBYFLOAT", "h", field, "1"]).await,
            "ERR hash value is not a float"
        );
    }
    assert_eq!(
        err(&mut c, &["HINCRBYFLOAT", "h", "inf", "1"]).await,
        "ERR increment would produce NaN or Infinity"
    );
    cmd::<i64>(&mut c, &["HSET", "h", "huge", "1e4932"]).await;
    assert_eq!(
        err(&mut c, &["HINCRBYFLOAT", "h", "huge", "1e4932"]).await,
        "ERR increment would produce NaN or Infinity"
    );
    assert_eq!(
        cmd::<String>(&mut c, &["HGET", "h", "huge"]).await,
        "1e4932"
    );
    // A new key gets the increment itself, formatted.
    assert_eq!(
        cmd::<String>(&mut c, &["HINCRBYFLOAT", "new", "f", "2.5e3"]).await,
        "2500"
    );
    assert_eq!(
        cmd::<String>(&mut c, &["HINCRBYFLOAT", "new2", "f", "-0.0"]).await,
        "0"
    );
    assert_eq!(int(&mut c, &["EXISTS", "nokey"]).await, 0);
    assert_eq!(
        err(&mut c, &["HINCRBYFLOAT", "nokey", "f", "inf"]).await,
        "ERR value is NaN or Infinity"
    );
    assert_eq!(int(&mut c, &["EXISTS", "nokey"]).await, 0);
    arity(&mut c, &["HINCRBYFLOAT", "h", "x"], "hincrbyfloat").await;
}

#[tokio::test]
async fn concurrent_hincrby_is_atomic() {
    let s = TestServer::start();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let mut c = s.conn().await;
        c.set_response_timeout(Duration::from_secs(60));
        tasks.push(tokio::spawn(async move {
            for i in 0..200 {
                cmd::<i64>(&mut c, &["HINCRBY", "counter", "n", "1"]).await;
                // Other fields change concurrently too.
                cmd::<i64>(&mut c, &["HSET", "counter", &format!("f{i}"), "x"]).await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let mut c = s.conn().await;
    assert_eq!(
        cmd::<String>(&mut c, &["HGET", "counter", "n"]).await,
        "1600"
    );
    assert_eq!(int(&mut c, &["HLEN", "counter"]).await, 201);
}

// ---------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn hash_commands_on_a_string_are_wrongtype() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    cmd::<String>(&mut c, &["SET", "s", "v"]).await;
    let cases: &[&[&str]] = &[
        &["HSET", "s", "a", "b"],
        &["HMSET", "s", "a", "b"],
        &["HSETNX", "s", "a", "b"],
        &["HGET", "s", "a"],
        &["HMGET", "s", "a", "b"],
        &["HDEL", "s", "a"],
        &["HLEN", "s"],
        &["HSTRLEN", "s", "a"],
        &["HEXISTS", "s", "a"],
        &["HKEYS", "s"],
        &["HVALS", "s"],
        &["HGETALL", "s"],
        &["HINCRBY", "s", "a", "1"],
        &["HINCRBYFLOAT", "s", "a", "1"],
        &["HRANDFIELD", "s"],
        &["HRANDFIELD", "s", "2"],
        &["HRANDFIELD", "s", "-2", "WITHVALUES"],
        &["HSCAN", "s", "0"],
        &["HSCAN", "s", "0", "COUNT", "0"],
    ];
    for args in cases {
        assert_eq!(err(&mut c, args).await, WRONGTYPE, "{args:?}");
    }
    // Nothing was changed.
    assert_eq!(cmd::<String>(&mut c, &["GET", "s"]).await, "v");
    assert_eq!(cmd::<String>(&mut c, &["TYPE", "s"]).await, "string");
    // Argument errors that Redis checks first still come first.
    assert_eq!(
        err(&mut c, &["HSCAN", "s", "x"]).await,
        "ERR invalid cursor"
    );
    assert_eq!(
        err(&mut c, &["HRANDFIELD", "s", "1", "WITHVALUES", "x"]).await,
        "ERR syntax error"
    );
    assert_eq!(
        err(&mut c, &["HRANDFIELD", "s", "x"]).await,
        "ERR value is not an integer or out of range"
    );
    arity(&mut c, &["HSET", "s", "a", "b", "c"], "hset").await;
}

#[tokio::test]
async fn string_commands_on_a_hash_are_wrongtype() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    cmd::<i64>(&mut c, &["HSET", "h", "a", "1"]).await;
    for args in [
        &["GET", "h"][..],
        &["APPEND", "h", "x"],
        &["INCR", "h"],
        &["INCRBYFLOAT", "h", "1"],
        &["STRLEN", "h"],
        &["GETRANGE", "h", "0", "1"],
        &["SETRANGE", "h", "0", "x"],
        &["GETSET", "h", "x"],
        &["GETDEL", "h"],
        &["SET", "h", "x", "GET"],
    ] {
        assert_eq!(err(&mut c, args).await, WRONGTYPE, "{args:?}");
    }
    assert_eq!(hgetall(&mut c, "h").await.len(), 1, "still the hash");
    // MGET reads another type as nil; a plain SET replaces the hash.
    assert_eq!(
        cmd::<Vec<Option<String>>>(&mut c, &["MGET", "h"]).await,
        vec![None]
    );
    assert_eq!(cmd::<String>(&mut c, &["SET", "h", "s"]).await, "OK");
    assert_eq!(cmd::<String>(&mut c, &["TYPE", "h"]).await, "string");
    assert_eq!(err(&mut c, &["HGET", "h", "a"]).await, WRONGTYPE);
}

// ---------------------------------------------------------------------------------
// Encodings
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn packed_hashes_convert_to_tables() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    // 512 fields (Redis 7.0's default hash-max-listpack-entries) stay packed, the
    // 513th converts.
    fill(&mut c, "h", 512).await;
    assert_eq!(encoding(&mut c, "h").await, "listpack");
    assert_eq!(int(&mut c, &["HSET", "h", "f0", "again"]).await, 0);
    assert_eq!(encoding(&mut c, "h").await, "listpack");
    assert_eq!(int(&mut c, &["HSET", "h", "one-more", "v"]).await, 1);
    assert_eq!(encoding(&mut c, "h").await, "hashtable");
    assert_eq!(int(&mut c, &["HLEN", "h"]).await, 513);
    assert_eq!(cmd::<String>(&mut c, &["HGET", "h", "f0"]).await, "again");
    assert_eq!(cmd::<String>(&mut c, &["HGET", "h", "f511"]).await, "v511");
    // Never back: deleting down to one field keeps the table.
    let mut args = vec!["HDEL".to_string(), "h".to_string()];
    args.extend((0..512).map(|i| format!("f{i}")));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(int(&mut c, &refs).await, 512);
    assert_eq!(encoding(&mut c, "h").await, "hashtable");

    // A 64-byte value stays packed, a 65-byte value or field converts.
    let v64 = "x".repeat(64);
    let v65 = "x".repeat(65);
    cmd::<i64>(&mut c, &["HSET", "v", "f", &v64, &v64, "v"]).await;
    assert_eq!(encoding(&mut c, "v").await, "listpack");
    cmd::<i64>(&mut c, &["HSET", "v", "g", &v65]).await;
    assert_eq!(encoding(&mut c, "v").await, "hashtable");
    assert_eq!(cmd::<String>(&mut c, &["HGET", "v", "g"]).await, v65);
    assert_eq!(cmd::<String>(&mut c, &["HGET", "v", &v64]).await, "v");

    // One HSET with 600 distinct pairs converts; 600 pairs naming one field do not
    // (Redis 7.0 converts on the real size, not on the argument count).
    fill(&mut c, "wide", 600).await;
    assert_eq!(encoding(&mut c, "wide").await, "hashtable");
    assert_eq!(int(&mut c, &["HLEN", "wide"]).await, 600);
    let mut args = vec!["HSET".to_string(), "dup".to_string()];
    for i in 0..600 {
        args.push("f".into());
        args.push(format!("{i}"));
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(int(&mut c, &refs).await, 1);
    assert_eq!(encoding(&mut c, "dup").await, "listpack");
    assert_eq!(cmd::<String>(&mut c, &["HGET", "dup", "f"]).await, "599");
}

/// Commands around the packed limits, under several values of the knobs (set by
/// their names and their old `ziplist` aliases, between writes too).
fn encoding_script() -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut push = |v: Vec<String>| out.push(v);
    let c = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<String>>();
    let fill = |key: &str, n: usize| {
        let mut v = vec!["HSET".to_string(), key.to_string()];
        for i in 0..n {
            v.push(format!("f{i}"));
            v.push(format!("v{i}"));
        }
        v
    };
    let knobs = [
        (
            "hash-max-listpack-entries",
            "512",
            "hash-max-listpack-value",
            "64",
        ),
        (
            "hash-max-ziplist-entries",
            "2",
            "hash-max-ziplist-value",
            "3",
        ),
        (
            "hash-max-listpack-entries",
            "0",
            "hash-max-ziplist-value",
            "64",
        ),
        (
            "hash-max-ziplist-entries",
            "128",
            "hash-max-listpack-value",
            "10",
        ),
        (
            "hash-max-listpack-entries",
            "1000",
            "hash-max-listpack-value",
            "200",
        ),
        (
            "hash-max-listpack-entries",
            "1",
            "hash-max-listpack-value",
            "0",
        ),
    ];
    for (en, e, vn, v) in knobs {
        push(c(&["FLUSHALL"]));
        push(c(&["CONFIG", "SET", en, e]));
        push(c(&["CONFIG", "SET", vn, v]));
        for name in [
            "hash-max-listpack-entries",
            "hash-max-ziplist-entries",
            "hash-max-listpack-value",
            "hash-max-ziplist-value",
        ] {
            push(c(&["CONFIG", "GET", name]));
        }
        for n in [1, 2, 3, 127, 128, 129, 511, 512, 513, 1000, 1001] {
            let key = format!("h{n}");
            push(fill(&key, n));
            push(c(&["OBJECT", "ENCODING", &key]));
            // One field at a time, up to the same size.
            let key = format!("one{n}");
            for i in 0..n.min(140) {
                push(c(&["HSET", &key, &format!("f{i}"), "v"]));
            }
            push(c(&["OBJECT", "ENCODING", &key]));
        }
        for len in [0, 1, 3, 4, 10, 11, 64, 65, 200, 201] {
            let x = "x".repeat(len);
            for (key, cmd) in [
                (format!("val{len}"), c(&["HSET", "", "f", &x])),
                (format!("fld{len}"), c(&["HSET", "", &x, "v"])),
                (format!("nx{len}"), c(&["HSETNX", "", "f", &x])),
                (format!("nxf{len}"), c(&["HSETNX", "", &x, "1"])),
                (format!("incr{len}"), c(&["HINCRBY", "", &x, "1"])),
                (format!("fincr{len}"), c(&["HINCRBYFLOAT", "", &x, "1.5"])),
            ] {
                let mut cmd = cmd;
                cmd[1] = key.clone();
                push(c(&["HSET", &key, "a", "1"]));
                push(cmd);
                push(c(&["OBJECT", "ENCODING", &key]));
            }
        }
        // A long number made by HINCRBYFLOAT.
        push(c(&["HSET", "float", "a", "1"]));
        push(c(&["HINCRBYFLOAT", "float", "a", "1e300"]));
        push(c(&["OBJECT", "ENCODING", "float"]));
        push(c(&["HSTRLEN", "float", "a"]));
    }
    // At run time: a lower limit converts a packed hash on its next write (an update
    // included), a higher one never converts a table back; COPY keeps the encoding.
    push(c(&["FLUSHALL"]));
    push(c(&["CONFIG", "SET", "hash-max-listpack-entries", "100"]));
    push(c(&["CONFIG", "SET", "hash-max-listpack-value", "64"]));
    push(fill("p", 10));
    push(fill("q", 10));
    push(fill("r", 10));
    push(fill("t", 10));
    push(c(&["CONFIG", "SET", "hash-max-listpack-entries", "4"]));
    for key in ["p", "q", "r", "t"] {
        push(c(&["OBJECT", "ENCODING", key]));
    }
    push(c(&["HSET", "p", "new", "1"]));
    push(c(&["HSET", "q", "f1", "updated"]));
    push(c(&["HSETNX", "r", "f1", "x"]));
    push(c(&["HDEL", "t", "f1"]));
    push(c(&["HINCRBY", "t", "f9", "1"]));
    for key in ["p", "q", "r", "t"] {
        push(c(&["OBJECT", "ENCODING", key]));
    }
    push(c(&["CONFIG", "SET", "hash-max-listpack-entries", "1000"]));
    push(c(&[
        "HDEL", "p", "f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8",
    ]));
    push(c(&["HSET", "p", "g", "1"]));
    push(c(&["OBJECT", "ENCODING", "p"]));
    push(c(&["COPY", "r", "r2"]));
    push(c(&["OBJECT", "ENCODING", "r2"]));
    push(c(&["COPY", "p", "p2"]));
    push(c(&["OBJECT", "ENCODING", "p2"]));
    out
}

/// The script above, replayed on Shoal and on redis-server 7.0: every reply, every
/// OBJECT ENCODING included, is the same byte for byte. Then RESTORE: a DUMP from
/// either server restored under other knobs converts where Redis's does.
#[tokio::test]
async fn encodings_follow_the_knobs_as_in_redis() {
    let redis = RedisServer::start();
    let s = TestServer::start();
    let mut ours = Wire::connect(s.addr);
    let mut theirs = Wire::connect(("127.0.0.1", redis.port));
    let script = encoding_script();
    assert!(script.len() > 1000);
    let mut encodings = HashSet::new();
    for cmd in &script {
        let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
        let (a, b) = (ours.call(&args), theirs.call(&args));
        let short: Vec<String> = args
            .iter()
            .take(4)
            .map(|a| a.chars().take(20).collect())
            .collect();
        assert_eq!(
            String::from_utf8_lossy(&a),
            String::from_utf8_lossy(&b),
            "{short:?}"
        );
        if args[0] == "OBJECT" {
            encodings.insert(a);
        }
    }
    // Both encodings came up.
    assert_eq!(encodings.len(), 2, "{encodings:?}");

    let mut conns = [s.conn().await, redis.conn(false).await];
    for c in conns.iter_mut() {
        cmd::<String>(c, &["CONFIG", "SET", "hash-max-listpack-entries", "512"]).await;
        fill(c, "small", 5).await;
    }
    for from in 0..2 {
        let payload: Vec<u8> = cmd(&mut conns[from], &["DUMP", "small"]).await;
        let mut got = Vec::new();
        for c in conns.iter_mut() {
            for (entries, key) in [("5", "fits"), ("4", "over")] {
                cmd::<String>(c, &["CONFIG", "SET", "hash-max-listpack-entries", entries]).await;
                let _: Value =
                    bin(c, &[b"RESTORE", key.as_bytes(), b"0", &payload, b"REPLACE"]).await;
                got.push(encoding(c, key).await);
            }
        }
        assert_eq!(
            got,
            ["listpack", "hashtable", "listpack", "hashtable"],
            "DUMP of server {from}"
        );
    }
}

// ---------------------------------------------------------------------------------
// The hash as a key: TTL, expiry, COPY, RENAME, MOVE, SCAN TYPE, statistics
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn field_writes_keep_the_ttl() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    cmd::<i64>(&mut c, &["HSET", "h", "a", "1", "b", "2"]).await;
    assert_eq!(int(&mut c, &["EXPIRE", "h", "100"]).await, 1);
    cmd::<i64>(&mut c, &["HSET", "h", "c", "3"]).await;
    cmd::<String>(&mut c, &["HMSET", "h", "d", "4"]).await;
    cmd::<i64>(&mut c, &["HSETNX", "h", "e", "5"]).await;
    cmd::<i64>(&mut c, &["HDEL", "h", "a"]).await;
    cmd::<i64>(&mut c, &["HINCRBY", "h", "n", "1"]).await;
    cmd::<String>(&mut c, &["HINCRBYFLOAT", "h", "n", "1.5"]).await;
    let ttl = int(&mut c, &["TTL", "h"]).await;
    assert!((98..=100).contains(&ttl), "TTL kept, got {ttl}");
    // Across the conversion to a table as well.
    fill(&mut c, "h", 600).await;
    assert_eq!(encoding(&mut c, "h").await, "hashtable");
    let ttl = int(&mut c, &["TTL", "h"]).await;
    assert!((98..=100).contains(&ttl), "TTL kept, got {ttl}");
}

#[tokio::test]
async fn expired_hashes_are_gone() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    cmd::<i64>(&mut c, &["HSET", "h", "a", "1"]).await;
    cmd::<i64>(&mut c, &["HSET", "h2", "a", "1"]).await;
    assert_eq!(int(&mut c, &["PEXPIRE", "h", "50"]).await, 1);
    assert_eq!(int(&mut c, &["PEXPIRE", "h2", "50"]).await, 1);
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(
        cmd::<Option<String>>(&mut c, &["HGET", "h", "a"]).await,
        None
    );
    assert_eq!(int(&mut c, &["HLEN", "h"]).await, 0);
    // A write to an expired hash starts a new one, without a TTL.
    assert_eq!(int(&mut c, &["HSET", "h2", "b", "2"]).await, 1);
    assert_eq!(
        cmd::<Vec<String>>(&mut c, &["HKEYS", "h2"]).await,
        vec!["b"]
    );
    assert_eq!(int(&mut c, &["TTL", "h2"]).await, -1);
}

#[tokio::test]
async fn copy_shares_until_written() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    for (key, n) in [("small", 3), ("big", 400)] {
        fill(&mut c, key, n).await;
        let copy = format!("{key}-copy");
        assert_eq!(int(&mut c, &["COPY", key, &copy]).await, 1);
        // One hash behind two keys until one of them is written.
        let (a, b) = (entry(&s, key).unwrap(), entry(&s, &copy).unwrap());
        assert!(Arc::ptr_eq(a.object().unwrap(), b.object().unwrap()));
        drop((a, b));
        assert_eq!(
            int(&mut c, &["HSET", &copy, "f0", "changed", "new", "x"]).await,
            1
        );
        cmd::<i64>(&mut c, &["HDEL", &copy, "f1"]).await;
        let (a, b) = (entry(&s, key).unwrap(), entry(&s, &copy).unwrap());
        assert!(!Arc::ptr_eq(a.object().unwrap(), b.object().unwrap()));
        let original = hgetall(&mut c, key).await;
        assert_eq!(original.len(), n);
        assert_eq!(original["f0"], "v0");
        assert_eq!(original["f1"], "v1");
        assert!(!original.contains_key("new"));
        let copied = hgetall(&mut c, &copy).await;
        assert_eq!(copied.len(), n);
        assert_eq!(copied["f0"], "changed");
        // And writing the original leaves the copy alone.
        cmd::<i64>(&mut c, &["HINCRBY", key, "counter", "1"]).await;
        assert_eq!(
            cmd::<Option<String>>(&mut c, &["HGET", &copy, "counter"]).await,
            None
        );
        assert_eq!(encoding(&mut c, &copy).await, encoding(&mut c, key).await);
    }
    // COPY to another database.
    assert_eq!(int(&mut c, &["COPY", "small", "small", "DB", "1"]).await, 1);
    cmd::<String>(&mut c, &["SELECT", "1"]).await;
    assert_eq!(hgetall(&mut c, "small").await.len(), 4);
}

#[tokio::test]
async fn rename_and_move_hashes() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    cmd::<i64>(&mut c, &["HSET", "h", "a", "1", "b", "2"]).await;
    assert_eq!(int(&mut c, &["EXPIRE", "h", "100"]).await, 1);
    assert_eq!(cmd::<String>(&mut c, &["RENAME", "h", "r"]).await, "OK");
    assert_eq!(int(&mut c, &["EXISTS", "h"]).await, 0);
    assert_eq!(
        hgetall(&mut c, "r").await,
        HashMap::from([("a".into(), "1".into()), ("b".into(), "2".into())])
    );
    assert!(int(&mut c, &["TTL", "r"]).await > 90);
    // The renamed hash is still writable in place.
    assert_eq!(int(&mut c, &["HSET", "r", "c", "3"]).await, 1);
    // RENAME over a string replaces it; RENAMENX onto an existing key does not.
    cmd::<String>(&mut c, &["SET", "s", "v"]).await;
    assert_eq!(cmd::<String>(&mut c, &["RENAME", "r", "s"]).await, "OK");
    assert_eq!(cmd::<String>(&mut c, &["TYPE", "s"]).await, "hash");
    cmd::<i64>(&mut c, &["HSET", "other", "x", "y"]).await;
    assert_eq!(int(&mut c, &["RENAMENX", "s", "other"]).await, 0);
    assert_eq!(hgetall(&mut c, "other").await.len(), 1);

    // MOVE to database 1, then write it there.
    assert_eq!(int(&mut c, &["MOVE", "s", "1"]).await, 1);
    assert_eq!(int(&mut c, &["EXISTS", "s"]).await, 0);
    cmd::<i64>(&mut c, &["HSET", "other2", "x", "y"]).await;
    cmd::<String>(&mut c, &["SELECT", "1"]).await;
    assert_eq!(int(&mut c, &["HLEN", "s"]).await, 3);
    assert_eq!(int(&mut c, &["HINCRBY", "s", "a", "10"]).await, 11);
    assert!(int(&mut c, &["TTL", "s"]).await > 90);
    // MOVE refuses when the target database has the key.
    cmd::<i64>(&mut c, &["HSET", "other2", "in-db1", "z"]).await;
    assert_eq!(int(&mut c, &["MOVE", "other2", "0"]).await, 0);
    cmd::<String>(&mut c, &["SELECT", "0"]).await;
    assert_eq!(
        cmd::<Vec<String>>(&mut c, &["HKEYS", "other2"]).await,
        vec!["x"]
    );
}

#[tokio::test]
async fn scan_type_hash_and_type() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    for i in 0..30 {
        cmd::<i64>(&mut c, &["HSET", &format!("hash:{i}"), "f", "v"]).await;
        cmd::<String>(&mut c, &["SET", &format!("str:{i}"), "v"]).await;
    }
    let collect = |ty: &'static str| {
        let mut c = c.clone();
        async move {
            let mut seen = HashSet::new();
            let mut cursor = "0".to_string();
            loop {
                let (next, keys): (String, Vec<String>) =
                    cmd(&mut c, &["SCAN", &cursor, "TYPE", ty, "COUNT", "7"]).await;
                seen.extend(keys);
                if next == "0" {
                    return seen;
                }
                cursor = next;
            }
        }
    };
    let hashes = collect("hash").await;
    assert_eq!(hashes.len(), 30);
    assert!(hashes.iter().all(|k| k.starts_with("hash:")));
    let strings = collect("string").await;
    assert_eq!(strings.len(), 30);
    assert!(strings.iter().all(|k| k.starts_with("str:")));
    assert_eq!(collect("HASH").await.len(), 30, "type names ignore case");
    assert_eq!(cmd::<String>(&mut c, &["TYPE", "hash:0"]).await, "hash");
    let mut r = s.raw().await;
    r.roundtrip(&[b"TYPE", b"hash:1"], b"+hash\r\n").await;
}

#[tokio::test]
async fn reads_count_hits_and_misses_writes_do_not() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    cmd::<i64>(&mut c, &["HSET", "h", "a", "1"]).await;
    cmd::<i64>(&mut c, &["HSET", "nope", "a", "1"]).await;
    cmd::<i64>(&mut c, &["HDEL", "nope", "a"]).await;
    cmd::<i64>(&mut c, &["HINCRBY", "h", "n", "1"]).await;
    assert_eq!(
        (stat(&s, true), stat(&s, false)),
        (0, 0),
        "writes do not count"
    );
    let reads: &[&[&str]] = &[
        &["HGET", "h", "a"],
        &["HMGET", "h", "a", "b"],
        &["HLEN", "h"],
        &["HSTRLEN", "h", "a"],
        &["HEXISTS", "h", "zz"],
        &["HKEYS", "h"],
        &["HVALS", "h"],
        &["HGETALL", "h"],
        &["HRANDFIELD", "h"],
        &["HRANDFIELD", "h", "2"],
        &["HSCAN", "h", "0"],
    ];
    for (i, args) in reads.iter().enumerate() {
        cmd::<Value>(&mut c, args).await;
        assert_eq!(stat(&s, true), i as u64 + 1, "{args:?} is one hit");
        let missing: Vec<&str> = args
            .iter()
            .enumerate()
            .map(|(j, a)| if j == 1 { "missing" } else { *a })
            .collect();
        cmd::<Value>(&mut c, &missing).await;
        assert_eq!(stat(&s, false), i as u64 + 1, "{missing:?} is one miss");
    }
}

#[tokio::test]
async fn no_touch_clients_leave_the_access_time() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    cmd::<i64>(&mut c, &["HSET", "h", "a", "1"]).await;
    let age = |s: &TestServer| {
        entry(s, "h")
            .unwrap()
            .touch((now_ms() / 1000 - 1000) as u32)
    };
    age(&s);
    assert_eq!(
        cmd::<String>(&mut c, &["CLIENT", "NO-TOUCH", "ON"]).await,
        "OK"
    );
    for args in [
        &["HGET", "h", "a"][..],
        &["HGETALL", "h"],
        &["HSET", "h", "b", "2"],
        &["HINCRBY", "h", "n", "1"],
        &["HDEL", "h", "b"],
        &["HSCAN", "h", "0"],
    ] {
        cmd::<Value>(&mut c, args).await;
        assert!(
            int(&mut c, &["OBJECT", "IDLETIME", "h"]).await >= 999,
            "{args:?} touched the key"
        );
    }
    assert_eq!(
        cmd::<String>(&mut c, &["CLIENT", "NO-TOUCH", "OFF"]).await,
        "OK"
    );
    cmd::<i64>(&mut c, &["HSET", "h", "b", "2"]).await;
    assert!(int(&mut c, &["OBJECT", "IDLETIME", "h"]).await <= 1);
    age(&s);
    cmd::<Option<String>>(&mut c, &["HGET", "h", "a"]).await;
    assert!(int(&mut c, &["OBJECT", "IDLETIME", "h"]).await <= 1);
}

// ---------------------------------------------------------------------------------
// HSCAN
// ---------------------------------------------------------------------------------

async fn hscan_all(c: &mut Conn, key: &str, opts: &[&str]) -> (HashMap<String, String>, usize) {
    let mut seen = HashMap::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let mut args = vec!["HSCAN", key, &cursor];
        args.extend_from_slice(opts);
        let (next, items): (String, Vec<String>) = cmd(c, &args).await;
        assert_eq!(items.len() % 2, 0, "field/value pairs");
        for pair in items.chunks(2) {
            seen.insert(pair[0].clone(), pair[1].clone());
        }
        calls += 1;
        if next == "0" {
            return (seen, calls);
        }
        assert!(calls < 100_000, "HSCAN does not terminate");
        cursor = next;
    }
}

#[tokio::test]
async fn hscan_iterates_a_large_hash() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    fill(&mut c, "h", 1000).await;
    for count in [None, Some("1"), Some("10"), Some("1000000")] {
        let opts: Vec<&str> = count.map(|n| vec!["COUNT", n]).unwrap_or_default();
        let (seen, calls) = hscan_all(&mut c, "h", &opts).await;
        assert_eq!(seen.len(), 1000, "COUNT {count:?}");
        for i in 0..1000 {
            assert_eq!(seen[&format!("f{i}")], format!("v{i}"));
        }
        match count {
            None | Some("10") => assert!(calls >= 50, "about 10 per step: {calls} steps"),
            Some("1") => assert!(calls >= 500, "{calls} steps"),
            _ => assert_eq!(calls, 1),
        }
    }
    // MATCH filters fields (the value goes with its field).
    let (seen, _) = hscan_all(&mut c, "h", &["MATCH", "f9?", "COUNT", "50"]).await;
    let expected: HashMap<String, String> = (90..100)
        .map(|i| (format!("f{i}"), format!("v{i}")))
        .collect();
    assert_eq!(seen, expected);
    // Fields present for the whole iteration are returned even while the hash grows.
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    let mut next_field = 0;
    loop {
        let (next, items): (String, Vec<String>) =
            cmd(&mut c, &["HSCAN", "h", &cursor, "COUNT", "20"]).await;
        seen.extend(items.chunks(2).map(|p| p[0].clone()));
        if next == "0" {
            break;
        }
        cursor = next;
        if next_field < 3000 {
            let mut args = vec!["HSET".to_string(), "h".to_string()];
            for _ in 0..100 {
                args.push(format!("g{next_field}"));
                args.push("x".into());
                next_field += 1;
            }
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            cmd::<i64>(&mut c, &refs).await;
        }
    }
    for i in 0..1000 {
        assert!(seen.contains(&format!("f{i}")), "missed f{i}");
    }
}

#[tokio::test]
async fn hscan_of_a_packed_hash_and_errors() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    fill(&mut c, "h", 20).await;
    // A packed hash comes back whole, whatever the cursor and COUNT.
    for cursor in ["0", "17", "-1", "+3", ""] {
        let (next, items): (String, Vec<String>) =
            cmd(&mut c, &["HSCAN", "h", cursor, "COUNT", "2"]).await;
        assert_eq!(next, "0");
        assert_eq!(items.len(), 40, "cursor {cursor:?}");
        assert_eq!(&items[..4], &["f0", "v0", "f1", "v1"]);
    }
    let (_, items): (String, Vec<String>) =
        cmd(&mut c, &["HSCAN", "h", "0", "match", "f1*", "count", "5"]).await;
    assert_eq!(
        items.chunks(2).map(|p| p[0].clone()).collect::<Vec<_>>(),
        vec!["f1", "f10", "f11", "f12", "f13", "f14", "f15", "f16", "f17", "f18", "f19"]
    );
    // MATCH and COUNT may repeat; the last wins.
    let (_, items): (String, Vec<String>) =
        cmd(&mut c, &["HSCAN", "h", "0", "MATCH", "zz", "MATCH", "f2"]).await;
    assert_eq!(items, vec!["f2", "v2"]);
    for (args, e) in [
        (&["HSCAN", "h", "x"][..], "ERR invalid cursor"),
        (&["HSCAN", "h", " 1"], "ERR invalid cursor"),
        (
            &["HSCAN", "h", "18446744073709551616"],
            "ERR invalid cursor",
        ),
        (&["HSCAN", "h", "1.5"], "ERR invalid cursor"),
        (&["HSCAN", "h", "0", "COUNT", "0"], "ERR syntax error"),
        (&["HSCAN", "h", "0", "COUNT", "-5"], "ERR syntax error"),
        (
            &["HSCAN", "h", "0", "COUNT", "x"],
            "ERR value is not an integer or out of range",
        ),
        (&["HSCAN", "h", "0", "COUNT"], "ERR syntax error"),
        (&["HSCAN", "h", "0", "MATCH"], "ERR syntax error"),
        (&["HSCAN", "h", "0", "TYPE", "hash"], "ERR syntax error"),
        (&["HSCAN", "h", "0", "NOVALUES"], "ERR syntax error"),
        (&["HSCAN", "h", "0", "MATCH", "*", "x"], "ERR syntax error"),
        // The cursor is checked even for a missing key...
        (&["HSCAN", "nokey", "x"], "ERR invalid cursor"),
    ] {
        assert_eq!(err(&mut c, args).await, e, "{args:?}");
    }
    // ...but not the options.
    let (next, items): (String, Vec<String>) =
        cmd(&mut c, &["HSCAN", "nokey", "0", "COUNT", "0", "BOGUS"]).await;
    assert_eq!((next.as_str(), items.len()), ("0", 0));
    arity(&mut c, &["HSCAN", "h"], "hscan").await;
    arity(&mut c, &["HSCAN"], "hscan").await;
    // RESP3 has the same shape.
    let mut r = s.raw3().await;
    r.roundtrip(
        &[b"HSCAN", b"h", b"0", b"MATCH", b"f3"],
        b"*2\r\n$1\r\n0\r\n*2\r\n$2\r\nf3\r\n$2\r\nv3\r\n",
    )
    .await;
}

// ---------------------------------------------------------------------------------
// HRANDFIELD
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn hrandfield_without_count() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    assert_eq!(
        cmd::<Option<String>>(&mut c, &["HRANDFIELD", "nokey"]).await,
        None
    );
    for (key, n) in [("small", 5), ("big", 300)] {
        fill(&mut c, key, n).await;
        let mut seen = HashSet::new();
        for _ in 0..(n * 20) {
            let f = cmd::<String>(&mut c, &["HRANDFIELD", key]).await;
            assert!(f.starts_with('f'), "{f}");
            seen.insert(f);
        }
        // Every field comes up (each is missed with probability (1-1/n)^(20n) < 3e-9).
        assert_eq!(seen.len(), n, "{key}");
    }
}

#[tokio::test]
async fn hrandfield_negative_count_repeats_exactly() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    fill(&mut c, "small", 10).await;
    fill(&mut c, "big", 200).await;
    for (key, n, draws) in [("small", 10, 10_000), ("big", 200, 20_000)] {
        let got: Vec<String> = cmd(&mut c, &["HRANDFIELD", key, &format!("-{draws}")]).await;
        assert_eq!(got.len(), draws, "exactly |count|");
        let mut freq: HashMap<String, usize> = HashMap::new();
        for f in got {
            *freq.entry(f).or_default() += 1;
        }
        assert_eq!(freq.len(), n, "{key}: every field appears");
        let mean = draws / n;
        for (f, k) in &freq {
            // Binomial: the mean +- 5 standard deviations or more.
            assert!(
                (mean / 2..=mean * 8 / 5).contains(k),
                "{key}: {f} drawn {k} times, expected about {mean}"
            );
        }
    }
    // Fewer draws than fields, and exactly one.
    assert_eq!(
        cmd::<Vec<String>>(&mut c, &["HRANDFIELD", "big", "-3"])
            .await
            .len(),
        3
    );
    assert_eq!(
        cmd::<Vec<String>>(&mut c, &["HRANDFIELD", "big", "-1"])
            .await
            .len(),
        1
    );
    // A one-field hash repeats its field.
    cmd::<i64>(&mut c, &["HSET", "one", "only", "v"]).await;
    assert_eq!(
        cmd::<Vec<String>>(&mut c, &["HRANDFIELD", "one", "-4"]).await,
        vec!["only"; 4]
    );
    // WITHVALUES: RESP2 flat pairs, each value the field's own.
    let got: Vec<String> = cmd(&mut c, &["HRANDFIELD", "big", "-50", "WITHVALUES"]).await;
    assert_eq!(got.len(), 100);
    for pair in got.chunks(2) {
        assert_eq!(pair[1], pair[0].replacen('f', "v", 1));
    }
}

#[tokio::test]
async fn hrandfield_positive_count_is_distinct() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    fill(&mut c, "small", 10).await;
    fill(&mut c, "big", 1000).await;
    for (key, size, counts) in [
        ("small", 10, &[1usize, 3, 9, 10, 11, 100][..]),
        // 10 draws distinct picks, 400 and 999 shuffle (more than a third of the hash).
        ("big", 1000, &[1, 10, 333, 334, 400, 999, 1000, 5000]),
    ] {
        for &count in counts {
            let got: Vec<String> = cmd(&mut c, &["HRANDFIELD", key, &count.to_string()]).await;
            assert_eq!(got.len(), count.min(size), "{key} {count}");
            let distinct: HashSet<&String> = got.iter().collect();
            assert_eq!(distinct.len(), got.len(), "{key} {count}: distinct");
            assert!(got.iter().all(|f| f.starts_with('f')));
        }
    }
    // Small samples are spread over the whole hash.
    let mut seen = HashSet::new();
    for _ in 0..100 {
        let got: Vec<String> = cmd(&mut c, &["HRANDFIELD", "big", "10"]).await;
        seen.extend(got);
    }
    assert!(
        seen.len() > 500,
        "only {} fields in 100 samples of 10",
        seen.len()
    );
    // WITHVALUES in RESP2: field, value, field, value...
    let got: Vec<String> = cmd(&mut c, &["HRANDFIELD", "big", "20", "withvalues"]).await;
    assert_eq!(got.len(), 40);
    for pair in got.chunks(2) {
        assert_eq!(pair[1], pair[0].replacen('f', "v", 1));
    }
    // Count 0, and a missing key, are empty arrays.
    assert!(cmd::<Vec<String>>(&mut c, &["HRANDFIELD", "big", "0"])
        .await
        .is_empty());
    assert!(cmd::<Vec<String>>(&mut c, &["HRANDFIELD", "nokey", "5"])
        .await
        .is_empty());
    assert!(
        cmd::<Vec<String>>(&mut c, &["HRANDFIELD", "nokey", "-5", "WITHVALUES"])
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn hrandfield_withvalues_in_resp3_pairs() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    fill(&mut c, "big", 300).await;
    cmd::<i64>(&mut c, &["HSET", "one", "only", "v"]).await;
    let mut c3 = s.conn3().await;
    for count in ["-7", "7", "300", "1000"] {
        let v = cmd::<Value>(&mut c3, &["HRANDFIELD", "big", count, "WITHVALUES"]).await;
        let Value::Array(items) = &v else {
            panic!("array expected, got {v:?}")
        };
        let expected = if count.ends_with('7') { 7 } else { 300 };
        assert_eq!(items.len(), expected, "{count}");
        for item in items {
            let pair = flatten(item);
            assert!(matches!(item, Value::Array(p) if p.len() == 2), "{item:?}");
            assert_eq!(pair[1], pair[0].replacen('f', "v", 1));
        }
    }
    // Without WITHVALUES, plain fields.
    let v = cmd::<Value>(&mut c3, &["HRANDFIELD", "big", "-3"]).await;
    assert!(
        matches!(&v, Value::Array(items) if items.iter().all(|i| matches!(i, Value::BulkString(_))))
    );
    let mut r = s.raw3().await;
    r.roundtrip(
        &[b"HRANDFIELD", b"one", b"-2", b"WITHVALUES"],
        b"*2\r\n*2\r\n$4\r\nonly\r\n$1\r\nv\r\n*2\r\n$4\r\nonly\r\n$1\r\nv\r\n",
    )
    .await;
    r.roundtrip(&[b"HRANDFIELD", b"one"], b"$4\r\nonly\r\n")
        .await;
    r.roundtrip(&[b"HRANDFIELD", b"nokey"], b"_\r\n").await;
    let mut r2 = s.raw().await;
    r2.roundtrip(
        &[b"HRANDFIELD", b"one", b"-2", b"WITHVALUES"],
        b"*4\r\n$4\r\nonly\r\n$1\r\nv\r\n$4\r\nonly\r\n$1\r\nv\r\n",
    )
    .await;
    r2.roundtrip(&[b"HRANDFIELD", b"nokey"], b"$-1\r\n").await;
}

#[tokio::test]
async fn hrandfield_argument_errors() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    fill(&mut c, "h", 3).await;
    for (args, e) in [
        (
            &["HRANDFIELD", "h", "x"][..],
            "ERR value is not an integer or out of range",
        ),
        (
            &["HRANDFIELD", "h", "1.5"],
            "ERR value is not an integer or out of range",
        ),
        (
            &["HRANDFIELD", "h", "9223372036854775808"],
            "ERR value is not an integer or out of range",
        ),
        (
            &["HRANDFIELD", "h", "-9223372036854775808"],
            "ERR value is out of range, value must between -9223372036854775807 and \
             9223372036854775807",
        ),
        (&["HRANDFIELD", "h", "1", "WITHVALUE"], "ERR syntax error"),
        (
            &["HRANDFIELD", "h", "1", "WITHVALUES", "x"],
            "ERR syntax error",
        ),
        (
            &["HRANDFIELD", "h", "1", "x", "WITHVALUES"],
            "ERR syntax error",
        ),
        (
            &["HRANDFIELD", "h", "4611686018427387904", "WITHVALUES"],
            "ERR value is out of range",
        ),
        (
            &["HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES"],
            "ERR value is out of range",
        ),
        // The count is checked before the key is looked up.
        (
            &["HRANDFIELD", "nokey", "x"],
            "ERR value is not an integer or out of range",
        ),
    ] {
        assert_eq!(err(&mut c, args).await, e, "{args:?}");
    }
    // The largest counts Redis accepts are fine when positive (the whole hash)...
    assert_eq!(
        cmd::<Vec<String>>(
            &mut c,
            &["HRANDFIELD", "h", "4611686018427387903", "WITHVALUES"]
        )
        .await
        .len(),
        6
    );
    assert_eq!(
        cmd::<Vec<String>>(&mut c, &["HRANDFIELD", "h", "9223372036854775807"])
            .await
            .len(),
        3
    );
    // ...while a negative one whose reply could not be buffered is refused rather than
    // exhausting memory (Redis would try), and the server carries on.
    for args in [
        &["HRANDFIELD", "h", "-9223372036854775807"][..],
        &["HRANDFIELD", "h", "-4611686018427387903", "WITHVALUES"],
    ] {
        assert!(err(&mut c, args)
            .await
            .starts_with("ERR count is too large"));
    }
    assert_eq!(int(&mut c, &["HLEN", "h"]).await, 3);
    arity(&mut c, &["HRANDFIELD"], "hrandfield").await;
}

// ---------------------------------------------------------------------------------
// Arity and the command table
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn arity_errors() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let cases: &[(&[&str], &str)] = &[
        (&["HSET"], "hset"),
        (&["HSET", "h"], "hset"),
        (&["HSET", "h", "f"], "hset"),
        (&["HSET", "h", "f", "v", "g"], "hset"),
        (&["HMSET", "h", "f"], "hmset"),
        (&["HMSET", "h", "f", "v", "g"], "hmset"),
        (&["HSETNX", "h", "f"], "hsetnx"),
        (&["HSETNX", "h", "f", "v", "x"], "hsetnx"),
        (&["HGET", "h"], "hget"),
        (&["HGET", "h", "f", "g"], "hget"),
        (&["HMGET", "h"], "hmget"),
        (&["HDEL", "h"], "hdel"),
        (&["HLEN"], "hlen"),
        (&["HLEN", "h", "x"], "hlen"),
        (&["HSTRLEN", "h"], "hstrlen"),
        (&["HEXISTS", "h"], "hexists"),
        (&["HEXISTS", "h", "f", "g"], "hexists"),
        (&["HKEYS"], "hkeys"),
        (&["HVALS", "h", "x"], "hvals"),
        (&["HGETALL"], "hgetall"),
        (&["HGETALL", "h", "x"], "hgetall"),
        (&["HINCRBY", "h", "f"], "hincrby"),
        (&["HINCRBYFLOAT", "h", "f", "1", "2"], "hincrbyfloat"),
        (&["HRANDFIELD"], "hrandfield"),
        (&["HSCAN", "h"], "hscan"),
    ];
    for (args, name) in cases {
        arity(&mut c, args, name).await;
    }
    // Nothing was created by the failed writes.
    assert_eq!(int(&mut c, &["EXISTS", "h"]).await, 0);
}

type Row = (
    &'static str,
    i32,
    u32,
    &'static [&'static str],
    &'static str,
    &'static str,
);

/// Each row as redis-server 7.0.15's COMMAND INFO and COMMAND DOCS describe it.
#[test]
fn command_table_rows_match_redis() {
    let rows: &[Row] = &[
        (
            "hset",
            -4,
            WRITE | DENYOOM | FAST,
            &["write", "hash", "fast"],
            "2.0.0",
            "Set the string value of a hash field",
        ),
        (
            "hsetnx",
            4,
            WRITE | DENYOOM | FAST,
            &["write", "hash", "fast"],
            "2.0.0",
            "Set the value of a hash field, only if the field does not exist",
        ),
        (
            "hmset",
            -4,
            WRITE | DENYOOM | FAST,
            &["write", "hash", "fast"],
            "2.0.0",
            "Set multiple hash fields to multiple values",
        ),
        (
            "hget",
            3,
            READONLY | FAST,
            &["read", "hash", "fast"],
            "2.0.0",
            "Get the value of a hash field",
        ),
        (
            "hmget",
            -3,
            READONLY | FAST,
            &["read", "hash", "fast"],
            "2.0.0",
            "Get the values of all the given hash fields",
        ),
        (
            "hdel",
            -3,
            WRITE | FAST,
            &["write", "hash", "fast"],
            "2.0.0",
            "Delete one or more hash fields",
        ),
        (
            "hlen",
            2,
            READONLY | FAST,
            &["read", "hash", "fast"],
            "2.0.0",
            "Get the number of fields in a hash",
        ),
        (
            "hstrlen",
            3,
            READONLY | FAST,
            &["read", "hash", "fast"],
            "3.2.0",
            "Get the length of the value of a hash field",
        ),
        (
            "hexists",
            3,
            READONLY | FAST,
            &["read", "hash", "fast"],
            "2.0.0",
            "Determine if a hash field exists",
        ),
        (
            "hkeys",
            2,
            READONLY,
            &["read", "hash", "slow"],
            "2.0.0",
            "Get all the fields in a hash",
        ),
        (
            "hvals",
            2,
            READONLY,
            &["read", "hash", "slow"],
            "2.0.0",
            "Get all the values in a hash",
        ),
        (
            "hgetall",
            2,
            READONLY,
            &["read", "hash", "slow"],
            "2.0.0",
            "Get all the fields and values in a hash",
        ),
        (
            "hincrby",
            4,
            WRITE | DENYOOM | FAST,
            &["write", "hash", "fast"],
            "2.0.0",
            "Increment the integer value of a hash field by the given number",
        ),
        (
            "hincrbyfloat",
            4,
            WRITE | DENYOOM | FAST,
            &["write", "hash", "fast"],
            "2.6.0",
            "Increment the float value of a hash field by the given amount",
        ),
        (
            "hrandfield",
            -2,
            READONLY | RANDOM,
            &["read", "hash", "slow"],
            "6.2.0",
            "Get one or multiple random fields from a hash",
        ),
        (
            "hscan",
            -3,
            READONLY | RANDOM,
            &["read", "hash", "slow"],
            "2.8.0",
            "Incrementally iterate hash fields and associated values",
        ),
    ];
    for &(name, arity, flags, acl, since, summary) in rows {
        let idx = TABLE
            .find(name.as_bytes())
            .unwrap_or_else(|| panic!("{name} missing"));
        let c = TABLE.get(idx);
        assert_eq!(c.arity, arity, "{name} arity");
        assert_eq!(c.flags, flags, "{name} flags");
        assert_eq!(
            (c.keys.first, c.keys.last, c.keys.step),
            (1, 1, 1),
            "{name} keys"
        );
        assert_eq!(c.acl, acl, "{name} acl");
        assert_eq!(c.group, "hash", "{name} group");
        assert_eq!(c.since, since, "{name} since");
        assert_eq!(c.summary, summary, "{name} summary");
        assert!(!c.complexity.is_empty());
    }
    // Redis's hash commands, all of them (Shoal's own merge commands are in the group
    // too, marked by their `since`).
    let hash_rows = TABLE
        .commands
        .iter()
        .filter(|c| c.group == "hash" && !c.since.starts_with("shoal"))
        .count();
    assert_eq!(hash_rows, rows.len(), "no other Redis hash command");
}

#[tokio::test]
async fn command_info_lists_hash_commands() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    // COMMAND INFO: byte for byte what redis-server 7.0.15 replies.
    let mut r = s.raw().await;
    r.roundtrip(
        &[b"COMMAND", b"INFO", b"hrandfield"],
        b"*1\r\n*10\r\n$10\r\nhrandfield\r\n:-2\r\n*1\r\n+readonly\r\n:1\r\n:1\r\n:1\r\n\
          *3\r\n+@read\r\n+@hash\r\n+@slow\r\n*1\r\n$23\r\nnondeterministic_output\r\n\
          *1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n\
          *4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n\
          $9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n\
          $7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n",
    )
    .await;
    // COMMAND DOCS: byte for byte what redis-server 7.0.15 replies, arguments included.
    r.roundtrip(
        &[b"COMMAND", b"DOCS", b"hstrlen"],
        b"*2\r\n$7\r\nhstrlen\r\n*10\r\n$7\r\nsummary\r\n\
          $43\r\nGet the length of the value of a hash field\r\n$5\r\nsince\r\n$5\r\n3.2.0\r\n\
          $5\r\ngroup\r\n$4\r\nhash\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n\
          $9\r\narguments\r\n*2\r\n*6\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n\
          $14\r\nkey_spec_index\r\n:0\r\n*4\r\n$4\r\nname\r\n$5\r\nfield\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    )
    .await;
    assert_eq!(
        cmd::<Vec<String>>(&mut c, &["COMMAND", "GETKEYS", "HSET", "k", "f", "v"]).await,
        vec!["k"]
    );
}
