//! The merge family: HMERGE, HMERGEVALUES, MMERGE over the network. Every strategy in
//! RESP2 and RESP3, byte-exact replies, every error and arity case (nothing changes on
//! any of them), TTL rules, the command table rows (COMMAND INFO/DOCS/GETKEYS), and
//! atomicity: readers never see a half-applied merge while 8 writers run.
//!
//! Hashes are built with HMERGEVALUES or written into the keyspace directly, and read
//! back from the keyspace (the hash read commands live in another family).

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use redis::Value;
use shoal_storage::{Entry, HashValue};

use crate::common::*;

type Map = BTreeMap<String, String>;

fn now_ms() -> i64 {
    shoal_server::state::now_ms()
}

/// The live entry at `key` in database 0.
fn entry(s: &TestServer, key: &str) -> Option<Entry> {
    let shared = s.handle().shared();
    let db = shared.keyspace.db(0);
    let h = db.hash(key.as_bytes());
    let shard = db.lock(h);
    shard.peek(h, key.as_bytes(), now_ms()).cloned()
}

/// The hash at `key` as a map (as HGETALL would read it, under the shard's lock).
fn hash(s: &TestServer, key: &str) -> Option<Map> {
    let e = entry(s, key)?;
    let hv = e.as_hash().expect("a hash");
    Some(
        hv.iter()
            .map(|(f, v)| {
                (
                    String::from_utf8_lossy(f).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect(),
    )
}

/// Writes a hash straight into the keyspace.
fn put_hash(s: &TestServer, key: &str, fields: &[(&str, &str)], ttl: Option<i64>) {
    let mut hv = HashValue::new();
    for (f, v) in fields {
        hv.insert_within(f.as_bytes(), v.as_bytes(), Default::default());
    }
    let shared = s.handle().shared();
    let db = shared.keyspace.db(0);
    let h = db.hash(key.as_bytes());
    db.lock(h)
        .insert(h, Entry::new_hash(key.as_bytes(), hv, ttl), now_ms());
}

fn m(fields: &[(&str, &str)]) -> Map {
    fields
        .iter()
        .map(|(f, v)| (f.to_string(), v.to_string()))
        .collect()
}

async fn mget(c: &mut redis::aio::MultiplexedConnection, keys: &[&str]) -> Vec<Option<String>> {
    let mut a = vec!["MGET"];
    a.extend_from_slice(keys);
    cmd(c, &a).await
}

async fn patient_conn(s: &TestServer) -> redis::aio::MultiplexedConnection {
    let mut c = s.conn().await;
    c.set_response_timeout(Duration::from_secs(120));
    c
}

// ---------------------------------------------------------------------------------
// HMERGE
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn hmerge_every_strategy() {
    let s = TestServer::start();
    for mut c in [s.conn().await, s.conn3().await] {
        let setup = |c: &mut redis::aio::MultiplexedConnection| {
            let mut c = c.clone();
            async move {
                cmd::<()>(&mut c, &["FLUSHDB"]).await;
                let d = ["HMERGEVALUES", "d", "REPLACE", "a", "1", "b", "2", "t", "x"];
                assert_eq!(cmd::<i64>(&mut c, &d).await, 3);
                let s1 = ["HMERGEVALUES", "s1", "REPLACE", "b", "10", "c", "1.5"];
                assert_eq!(cmd::<i64>(&mut c, &s1).await, 2);
                let s2 = ["HMERGEVALUES", "s2", "REPLACE", "c", "2.5", "e", "5"];
                assert_eq!(cmd::<i64>(&mut c, &s2).await, 2);
            }
        };
        let cases: [(&[&str], Map); 6] = [
            (
                &[],
                m(&[
                    ("a", "1"),
                    ("b", "10"),
                    ("c", "2.5"),
                    ("e", "5"),
                    ("t", "x"),
                ]),
            ),
            (
                &["AGGREGATE", "replace"],
                m(&[
                    ("a", "1"),
                    ("b", "10"),
                    ("c", "2.5"),
                    ("e", "5"),
                    ("t", "x"),
                ]),
            ),
            (
                &["AGGREGATE", "KEEP"],
                m(&[("a", "1"), ("b", "2"), ("c", "1.5"), ("e", "5"), ("t", "x")]),
            ),
            (
                &["aggregate", "Sum"],
                m(&[("a", "1"), ("b", "12"), ("c", "4"), ("e", "5"), ("t", "x")]),
            ),
            (
                &["AGGREGATE", "MIN"],
                m(&[("a", "1"), ("b", "2"), ("c", "1.5"), ("e", "5"), ("t", "x")]),
            ),
            (
                &["AGGREGATE", "SUM", "AGGREGATE", "MAX"],
                m(&[
                    ("a", "1"),
                    ("b", "10"),
                    ("c", "2.5"),
                    ("e", "5"),
                    ("t", "x"),
                ]),
            ),
        ];
        for (opts, want) in cases {
            setup(&mut c).await;
            let mut args = vec!["HMERGE", "d", "2", "s1", "s2"];
            args.extend_from_slice(opts);
            assert_eq!(cmd::<i64>(&mut c, &args).await, 5, "{opts:?}");
            assert_eq!(hash(&s, "d").unwrap(), want, "{opts:?}");
            // Sources never change.
            assert_eq!(hash(&s, "s1").unwrap(), m(&[("b", "10"), ("c", "1.5")]));
            assert_eq!(hash(&s, "s2").unwrap(), m(&[("c", "2.5"), ("e", "5")]));
        }
        // The reply is an integer in both protocols.
        assert_eq!(
            cmd::<Value>(&mut c, &["HMERGE", "d", "1", "s1"]).await,
            Value::Int(5)
        );
    }
}

#[tokio::test]
async fn hmerge_numbers() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let max = i64::MAX.to_string();
    let min = i64::MIN.to_string();
    cmd::<i64>(
        &mut c,
        &[
            "HMERGEVALUES",
            "a",
            "REPLACE",
            "i",
            "5",
            "f",
            "0.1",
            "big",
            &max,
            "neg",
            &min,
            "mix",
            "3",
        ],
    )
    .await;
    cmd::<i64>(
        &mut c,
        &[
            "HMERGEVALUES",
            "b",
            "REPLACE",
            "i",
            "-7",
            "f",
            "0.2",
            "big",
            &max,
            "neg",
            "-1",
            "mix",
            "2.5",
        ],
    )
    .await;
    assert_eq!(
        cmd::<i64>(
            &mut c,
            &["HMERGE", "sum", "2", "a", "b", "AGGREGATE", "SUM"]
        )
        .await,
        5
    );
    assert_eq!(
        hash(&s, "sum").unwrap(),
        m(&[
            ("i", "-2"),
            ("f", "0.3"),
            ("big", "18446744073709551614"),
            ("neg", "-9223372036854775809"),
            ("mix", "5.5")
        ])
    );
    assert_eq!(
        cmd::<i64>(
            &mut c,
            &["HMERGE", "min", "2", "a", "b", "AGGREGATE", "MIN"]
        )
        .await,
        5
    );
    assert_eq!(
        hash(&s, "min").unwrap(),
        m(&[
            ("i", "-7"),
            ("f", "0.1"),
            ("big", &max),
            ("neg", &min),
            ("mix", "2.5")
        ])
    );
    assert_eq!(
        cmd::<i64>(
            &mut c,
            &["HMERGE", "max", "2", "a", "b", "AGGREGATE", "MAX"]
        )
        .await,
        5
    );
    assert_eq!(
        hash(&s, "max").unwrap(),
        m(&[
            ("i", "5"),
            ("f", "0.2"),
            ("big", &max),
            ("neg", "-1"),
            ("mix", "3")
        ])
    );
    // The same float formatting as INCRBYFLOAT.
    cmd::<()>(&mut c, &["SET", "x", "1000"]).await;
    let incr: String = cmd(&mut c, &["INCRBYFLOAT", "x", "0.1"]).await;
    cmd::<i64>(&mut c, &["HMERGEVALUES", "h", "SUM", "x", "1000"]).await;
    cmd::<i64>(&mut c, &["HMERGEVALUES", "h2", "SUM", "x", "0.1"]).await;
    cmd::<i64>(&mut c, &["HMERGE", "h", "1", "h2", "AGGREGATE", "SUM"]).await;
    assert_eq!(hash(&s, "h").unwrap()["x"], incr);
    assert_eq!(incr, "1000.09999999999999998");
}

#[tokio::test]
async fn hmerge_keys_ttl_and_missing() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    // Nothing to merge: no destination is created.
    assert_eq!(
        cmd::<i64>(&mut c, &["HMERGE", "d", "2", "nope", "nada"]).await,
        0
    );
    assert!(entry(&s, "d").is_none());
    // The destination keeps its TTL.
    put_hash(&s, "d", &[("a", "1")], Some(now_ms() + 100_000));
    put_hash(&s, "s", &[("b", "2"), ("c", "3")], None);
    assert_eq!(cmd::<i64>(&mut c, &["HMERGE", "d", "1", "s"]).await, 3);
    let ttl: i64 = cmd(&mut c, &["PTTL", "d"]).await;
    assert!((90_000..=100_000).contains(&ttl), "{ttl}");
    // A new destination has none, even when it shares a source's value.
    put_hash(&s, "t", &[("a", "1")], Some(now_ms() + 100_000));
    assert_eq!(cmd::<i64>(&mut c, &["HMERGE", "n", "1", "t"]).await, 1);
    assert_eq!(cmd::<i64>(&mut c, &["PTTL", "n"]).await, -1);
    let (n, t) = (entry(&s, "n").unwrap(), entry(&s, "t").unwrap());
    assert!(
        Arc::ptr_eq(n.object().unwrap(), t.object().unwrap()),
        "one source into an empty destination shares its value"
    );
    // Expired keys are missing, as source and as destination.
    put_hash(&s, "old", &[("z", "9")], Some(now_ms() + 50));
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(cmd::<i64>(&mut c, &["HMERGE", "d", "1", "old"]).await, 3);
    put_hash(&s, "old", &[("z", "9")], Some(now_ms() + 50));
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(cmd::<i64>(&mut c, &["HMERGE", "old", "1", "s"]).await, 2);
    assert_eq!(hash(&s, "old").unwrap(), m(&[("b", "2"), ("c", "3")]));
    assert_eq!(cmd::<i64>(&mut c, &["PTTL", "old"]).await, -1);
    // The destination among the sources (its value before the merge, each time):
    // {a:1,b:1} + itself + {b:2,c:3} + itself.
    put_hash(&s, "d", &[("a", "1"), ("b", "1")], None);
    assert_eq!(
        cmd::<i64>(
            &mut c,
            &["HMERGE", "d", "3", "d", "s", "d", "AGGREGATE", "SUM"]
        )
        .await,
        3
    );
    assert_eq!(
        hash(&s, "d").unwrap(),
        m(&[("a", "3"), ("b", "5"), ("c", "3")])
    );
    // Binary and empty fields and values.
    let mut hv = HashValue::new();
    hv.insert_within(b"\x00\xff", b"", Default::default());
    hv.insert_within(b"", b"\r\n", Default::default());
    let shared = s.handle().shared();
    let db = shared.keyspace.db(0);
    let h = db.hash(b"bin");
    db.lock(h)
        .insert(h, Entry::new_hash(b"bin", hv, None), now_ms());
    assert_eq!(cmd::<i64>(&mut c, &["HMERGE", "d", "1", "bin"]).await, 5);
    let d = entry(&s, "d").unwrap();
    assert_eq!(d.as_hash().unwrap().get(b"\x00\xff"), Some(&b""[..]));
    assert_eq!(d.as_hash().unwrap().get(b""), Some(&b"\r\n"[..]));
}

#[tokio::test]
async fn hmerge_large_hashes() {
    let s = TestServer::start();
    let mut c = patient_conn(&s).await;
    for (key, from) in [("a", 0), ("b", 2500)] {
        let mut hm = redis::cmd("HMERGEVALUES");
        hm.arg(key).arg("REPLACE");
        for i in from..from + 5000 {
            hm.arg(format!("field:{i}")).arg(i);
        }
        assert_eq!(hm.query_async::<i64>(&mut c).await.unwrap(), 5000);
    }
    assert_eq!(
        cmd::<i64>(&mut c, &["HMERGE", "a", "1", "b", "AGGREGATE", "SUM"]).await,
        7500
    );
    let a = hash(&s, "a").unwrap();
    assert_eq!(a["field:0"], "0");
    assert_eq!(a["field:3000"], "6000");
    assert_eq!(a["field:7499"], "7499");
    assert_eq!(
        cmd::<i64>(&mut c, &["HMERGE", "c", "2", "b", "a", "AGGREGATE", "KEEP"]).await,
        7500
    );
    assert_eq!(hash(&s, "c").unwrap()["field:3000"], "3000");
}

// ---------------------------------------------------------------------------------
// HMERGEVALUES
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn hmergevalues_every_strategy() {
    let s = TestServer::start();
    for mut c in [s.conn().await, s.conn3().await] {
        cmd::<()>(&mut c, &["FLUSHDB"]).await;
        let hv = |args: &'static [&'static str]| {
            let mut c = c.clone();
            async move {
                let mut a = vec!["HMERGEVALUES", "h"];
                a.extend_from_slice(args);
                cmd::<Value>(&mut c, &a).await
            }
        };
        assert_eq!(hv(&["REPLACE", "a", "1", "b", "2"]).await, Value::Int(2));
        assert_eq!(hv(&["replace", "a", "1", "b", "3"]).await, Value::Int(1));
        assert_eq!(hv(&["KEEP", "a", "9", "c", "3"]).await, Value::Int(1));
        assert_eq!(
            hv(&["SUM", "a", "1", "a", "2", "d", "1.50"]).await,
            Value::Int(2)
        );
        assert_eq!(hv(&["sum", "a", "1", "a", "-1"]).await, Value::Int(0));
        assert_eq!(
            hv(&["MIN", "a", "10", "b", "-1", "c", "3"]).await,
            Value::Int(1)
        );
        assert_eq!(
            hv(&["MAX", "a", "10", "b", "-1", "c", "3.5"]).await,
            Value::Int(2)
        );
        assert_eq!(
            hash(&s, "h").unwrap(),
            m(&[("a", "10"), ("b", "-1"), ("c", "3.5"), ("d", "1.5")])
        );
    }
    // Byte-exact replies.
    let mut r = s.raw().await;
    r.roundtrip(&[b"HMERGEVALUES", b"r", b"SUM", b"x", b"5"], b":1\r\n")
        .await;
    r.roundtrip(&[b"HMERGEVALUES", b"r", b"KEEP", b"x", b"6"], b":0\r\n")
        .await;
    r.roundtrip(
        &[
            b"HMERGEVALUES",
            b"r",
            b"SUM",
            b"x",
            b"1e4932",
            b"x",
            b"1e4932",
        ],
        b"-ERR increment would produce NaN or Infinity\r\n",
    )
    .await;
    r.roundtrip(&[b"HMERGE", b"r2", b"1", b"r"], b":1\r\n")
        .await;
}

// ---------------------------------------------------------------------------------
// MMERGE
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn mmerge_every_strategy_and_ttls() {
    let s = TestServer::start();
    for mut c in [s.conn().await, s.conn3().await] {
        cmd::<()>(&mut c, &["FLUSHDB"]).await;
        let some = |v: &[&str]| v.iter().map(|s| Some(s.to_string())).collect::<Vec<_>>();
        assert_eq!(
            cmd::<Value>(&mut c, &["MMERGE", "REPLACE", "a", "1", "b", "2"]).await,
            Value::Int(2)
        );
        assert_eq!(
            cmd::<i64>(&mut c, &["MMERGE", "replace", "a", "1", "b", "3"]).await,
            1
        );
        cmd::<()>(&mut c, &["SET", "t", "5", "PX", "100000"]).await;
        assert_eq!(
            cmd::<i64>(&mut c, &["MMERGE", "KEEP", "t", "9", "c", "3", "c", "4"]).await,
            1
        );
        assert_eq!(mget(&mut c, &["t", "c"]).await, some(&["5", "3"]));
        assert_eq!(
            cmd::<i64>(
                &mut c,
                &["MMERGE", "SUM", "t", "1", "a", "0.5", "n", "2", "n", "3"]
            )
            .await,
            3
        );
        assert_eq!(
            mget(&mut c, &["t", "a", "n"]).await,
            some(&["6", "1.5", "5"])
        );
        let pttl: i64 = cmd(&mut c, &["PTTL", "t"]).await;
        assert!(pttl > 90_000, "SUM keeps the TTL (as INCRBY): {pttl}");
        assert_eq!(
            cmd::<i64>(&mut c, &["MMERGE", "MIN", "t", "10", "a", "1", "m", "7"]).await,
            2
        );
        assert_eq!(
            cmd::<i64>(&mut c, &["MMERGE", "MAX", "t", "10", "a", "1", "m", "7"]).await,
            1
        );
        assert_eq!(
            mget(&mut c, &["t", "a", "m"]).await,
            some(&["10", "1", "7"])
        );
        assert!(cmd::<i64>(&mut c, &["PTTL", "t"]).await > 90_000);
        // REPLACE is MSET: the TTL goes, even when the value stays.
        assert_eq!(
            cmd::<i64>(&mut c, &["MMERGE", "REPLACE", "t", "10"]).await,
            1
        );
        assert_eq!(cmd::<i64>(&mut c, &["PTTL", "t"]).await, -1);
        // Integers beyond 64 bits become floats, never wrap.
        let max = i64::MAX.to_string();
        assert_eq!(
            cmd::<i64>(&mut c, &["MMERGE", "SUM", "big", &max, "big", &max]).await,
            1
        );
        assert_eq!(
            mget(&mut c, &["big"]).await,
            some(&["18446744073709551614"])
        );
        // Expired keys are missing.
        cmd::<()>(&mut c, &["SET", "gone", "100", "PX", "50"]).await;
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert_eq!(cmd::<i64>(&mut c, &["MMERGE", "SUM", "gone", "1"]).await, 1);
        assert_eq!(mget(&mut c, &["gone"]).await, some(&["1"]));
    }
}

// ---------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn errors_and_arity() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    cmd::<i64>(
        &mut c,
        &["HMERGEVALUES", "h", "REPLACE", "n", "1", "t", "text"],
    )
    .await;
    cmd::<i64>(
        &mut c,
        &["HMERGEVALUES", "src", "REPLACE", "n", "2", "t", "3"],
    )
    .await;
    cmd::<()>(&mut c, &["SET", "str", "1"]).await;
    let arity = |name: &str| format!("ERR wrong number of arguments for '{name}' command");
    let cases: &[(&[&str], String)] = &[
        (&["HMERGE"], arity("hmerge")),
        (&["HMERGE", "h"], arity("hmerge")),
        (&["HMERGE", "h", "1"], arity("hmerge")),
        (&["HMERGEVALUES", "h", "SUM"], arity("hmergevalues")),
        (&["HMERGEVALUES", "h", "SUM", "f"], arity("hmergevalues")),
        (
            &["HMERGEVALUES", "h", "SUM", "f", "1", "g"],
            arity("hmergevalues"),
        ),
        (&["MMERGE", "SUM"], arity("mmerge")),
        (&["MMERGE", "SUM", "k"], arity("mmerge")),
        (&["MMERGE", "SUM", "k", "1", "j"], arity("mmerge")),
        (
            &["HMERGE", "h", "x", "src"],
            "ERR value is not an integer or out of range".into(),
        ),
        (
            &["HMERGE", "h", "1.0", "src"],
            "ERR value is not an integer or out of range".into(),
        ),
        (
            &["HMERGE", "h", "0", "src"],
            "ERR at least 1 input key is needed for 'hmerge' command".into(),
        ),
        (
            &["HMERGE", "h", "-1", "src"],
            "ERR at least 1 input key is needed for 'hmerge' command".into(),
        ),
        (&["HMERGE", "h", "2", "src"], "ERR syntax error".into()),
        (
            &["HMERGE", "h", "1", "src", "AGGREGATE"],
            "ERR syntax error".into(),
        ),
        (
            &["HMERGE", "h", "1", "src", "AGGREGATE", "AVG"],
            "ERR syntax error".into(),
        ),
        (
            &["HMERGE", "h", "1", "src", "WEIGHTS", "1"],
            "ERR syntax error".into(),
        ),
        (
            &["HMERGE", "h", "1", "src", "AGGREGATE", "SUM", "x"],
            "ERR syntax error".into(),
        ),
        (
            &["HMERGEVALUES", "h", "AVG", "n", "1"],
            "ERR syntax error".into(),
        ),
        (&["MMERGE", "AVG", "k", "1"], "ERR syntax error".into()),
        // Syntax is checked before types.
        (
            &["HMERGE", "str", "1", "src", "AGGREGATE", "AVG"],
            "ERR syntax error".into(),
        ),
        (&["HMERGE", "str", "1", "src"], WRONGTYPE.into()),
        (&["HMERGE", "h", "2", "src", "str"], WRONGTYPE.into()),
        (
            &["HMERGE", "h", "2", "str", "src", "AGGREGATE", "KEEP"],
            WRONGTYPE.into(),
        ),
        (
            &["HMERGEVALUES", "str", "REPLACE", "n", "1"],
            WRONGTYPE.into(),
        ),
        (&["MMERGE", "REPLACE", "k", "1", "h", "2"], WRONGTYPE.into()),
        (&["MMERGE", "SUM", "k", "1", "h", "x"], WRONGTYPE.into()),
        // Numbers: the untouched "t" is fine, a touched one is not.
        (
            &["HMERGE", "h", "1", "src", "AGGREGATE", "SUM"],
            "ERR hash value is not a number".into(),
        ),
        (
            &["HMERGEVALUES", "h", "MAX", "n", "5", "t", "1"],
            "ERR hash value is not a number".into(),
        ),
        (
            &["HMERGEVALUES", "h", "MIN", "n", "5", "x", "abc"],
            "ERR hash value is not a number".into(),
        ),
        (
            &["HMERGEVALUES", "h", "SUM", "n", "inf"],
            "ERR hash value is not a number".into(),
        ),
        (
            &["MMERGE", "SUM", "k", "1", "str", "nan"],
            "ERR value is not a number".into(),
        ),
        (
            &["MMERGE", "SUM", "k", "1", "str", "1e4932", "str", "1e4932"],
            "ERR increment would produce NaN or Infinity".into(),
        ),
    ];
    for (args, want) in cases {
        assert_eq!(&err(&mut c, args).await, want, "{args:?}");
    }
    // Nothing changed.
    assert_eq!(hash(&s, "h").unwrap(), m(&[("n", "1"), ("t", "text")]));
    assert_eq!(hash(&s, "src").unwrap(), m(&[("n", "2"), ("t", "3")]));
    assert_eq!(cmd::<String>(&mut c, &["GET", "str"]).await, "1");
    assert!(entry(&s, "k").is_none());
    // With the untouched non-number left out, SUM works.
    cmd::<i64>(&mut c, &["HMERGEVALUES", "src2", "REPLACE", "n", "2"]).await;
    assert_eq!(
        cmd::<i64>(&mut c, &["HMERGE", "h", "1", "src2", "AGGREGATE", "SUM"]).await,
        2
    );
    assert_eq!(hash(&s, "h").unwrap(), m(&[("n", "3"), ("t", "text")]));
}

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

// ---------------------------------------------------------------------------------
// The command table
// ---------------------------------------------------------------------------------

fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        other => panic!("not text: {other:?}"),
    }
}

fn texts(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) | Value::Set(items) => items.iter().map(text).collect(),
        other => panic!("not a list: {other:?}"),
    }
}

#[tokio::test]
async fn command_table_rows() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let info: Vec<Value> = cmd(
        &mut c,
        &["COMMAND", "INFO", "hmerge", "hmergevalues", "mmerge"],
    )
    .await;
    let row = |i: usize| match &info[i] {
        Value::Array(fields) => fields.clone(),
        other => panic!("{other:?}"),
    };
    let expect = [
        (
            "hmerge",
            -4,
            vec!["write", "denyoom", "movablekeys"],
            (1, 1, 1),
            "@hash",
        ),
        (
            "hmergevalues",
            -5,
            vec!["write", "denyoom"],
            (1, 1, 1),
            "@hash",
        ),
        (
            "mmerge",
            -4,
            vec!["write", "denyoom"],
            (2, -1, 2),
            "@string",
        ),
    ];
    for (i, (name, arity, flags, keys, cat)) in expect.into_iter().enumerate() {
        let r = row(i);
        assert_eq!(text(&r[0]), name);
        assert_eq!(r[1], Value::Int(arity));
        assert_eq!(texts(&r[2]), flags, "{name}");
        assert_eq!(
            (r[3].clone(), r[4].clone(), r[5].clone()),
            (Value::Int(keys.0), Value::Int(keys.1), Value::Int(keys.2))
        );
        let cats = texts(&r[6]);
        assert!(
            cats.contains(&"@write".to_string()) && cats.contains(&cat.to_string()),
            "{cats:?}"
        );
    }
    // HMERGE has two key specs like ZUNIONSTORE: the destination, then numkeys sources.
    let Value::Array(specs) = &row(0)[8] else {
        panic!("key specs")
    };
    assert_eq!(specs.len(), 2);
    let flat = format!("{:?}", specs[1]);
    assert!(
        flat.contains("keynum") && flat.contains("keynumidx"),
        "{flat}"
    );

    let keys: Vec<String> = cmd(
        &mut c,
        &[
            "COMMAND",
            "GETKEYS",
            "HMERGE",
            "d",
            "2",
            "a",
            "b",
            "AGGREGATE",
            "SUM",
        ],
    )
    .await;
    assert_eq!(keys, ["d", "a", "b"]);
    for bad in [
        &["COMMAND", "GETKEYS", "HMERGE", "d", "3", "a"][..],
        &["COMMAND", "GETKEYS", "HMERGE", "d", "0", "a"],
    ] {
        assert_eq!(
            err(&mut c, bad).await,
            "ERR Invalid arguments specified for command"
        );
    }
    let keys: Vec<String> = cmd(
        &mut c,
        &["COMMAND", "GETKEYS", "MMERGE", "SUM", "k1", "1", "k2", "2"],
    )
    .await;
    assert_eq!(keys, ["k1", "k2"]);
    let keys: Vec<String> = cmd(
        &mut c,
        &["COMMAND", "GETKEYS", "HMERGEVALUES", "h", "SUM", "f", "1"],
    )
    .await;
    assert_eq!(keys, ["h"]);
    let flags: Value = cmd(
        &mut c,
        &["COMMAND", "GETKEYSANDFLAGS", "HMERGE", "d", "1", "a"],
    )
    .await;
    let flat = format!("{flags:?}");
    assert!(flat.contains("RW") && flat.contains("RO"), "{flat}");

    let docs: Value = cmd(
        &mut c,
        &["COMMAND", "DOCS", "hmerge", "hmergevalues", "mmerge"],
    )
    .await;
    let Value::Array(items) = docs else {
        panic!("{docs:?}")
    };
    assert_eq!(items.len(), 6);
    for pair in items.chunks(2) {
        let Value::Array(fields) = &pair[1] else {
            panic!("{pair:?}")
        };
        // Every field is text but the argument list (checked in command_docs.rs).
        let doc: BTreeMap<String, String> = fields
            .chunks(2)
            .filter(|kv| text(&kv[0]) != "arguments")
            .map(|kv| (text(&kv[0]), text(&kv[1])))
            .collect();
        assert_eq!(fields.len(), 2 * (doc.len() + 1), "an argument list");
        assert_eq!(doc["since"], "shoal-0.1");
        assert!(!doc["summary"].is_empty());
        let group = if text(&pair[0]) == "mmerge" {
            "string"
        } else {
            "hash"
        };
        assert_eq!(doc["group"], group);
    }
}

// ---------------------------------------------------------------------------------
// Atomicity
// ---------------------------------------------------------------------------------

/// Checks one observed state of a merged map: fields f0..f9 all equal (to some n) and
/// `sum` equal to 10 * n. `None` values mean "not written yet" (all or none).
fn consistent(values: &[Option<String>]) -> Result<(), String> {
    if values.iter().all(Option::is_none) {
        return Ok(());
    }
    let nums: Option<Vec<i64>> = values.iter().map(|v| v.as_deref()?.parse().ok()).collect();
    let Some(nums) = nums else {
        return Err(format!("partial merge: {values:?}"));
    };
    let (fields, sum) = nums.split_at(10);
    if fields.iter().any(|v| *v != fields[0]) || sum[0] != 10 * fields[0] {
        return Err(format!("partial merge: {values:?}"));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn merges_are_atomic_for_concurrent_readers() {
    let s = TestServer::with(|c| c.shards = 64);
    let names: Vec<String> = (0..10)
        .map(|i| format!("f{i}"))
        .chain(["sum".to_string()])
        .collect();
    {
        let shared = s.handle().shared();
        let db = shared.keyspace.db(0);
        let shards: HashSet<usize> = names
            .iter()
            .map(|k| db.shard_index(db.hash(k.as_bytes())))
            .collect();
        assert!(
            shards.len() >= 3,
            "the MMERGE keys span only {} shards",
            shards.len()
        );
    }
    let done = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    // 8 writers: HMERGE REPLACE, HMERGE SUM, MMERGE REPLACE, MMERGE SUM, two of each.
    const ROUNDS: i64 = 150;
    let mut writers = Vec::new();
    for w in 0..8i64 {
        let mut c = patient_conn(&s).await;
        let names = names.clone();
        writers.push(tokio::spawn(async move {
            for i in 1..=ROUNDS {
                let gen = w * 1000 + i;
                let (value, total) = match w % 4 {
                    0 | 2 => (gen, gen * 10),
                    _ => (1, 10),
                };
                let mut pairs = Vec::new();
                for (k, name) in names.iter().enumerate() {
                    pairs.push(name.clone());
                    pairs.push(if k == 10 { total } else { value }.to_string());
                }
                match w % 4 {
                    0 | 1 => {
                        // The source is this writer's own, built atomically too.
                        let src = format!("src{w}");
                        let mut hv = redis::cmd("HMERGEVALUES");
                        hv.arg(&src).arg("REPLACE").arg(&pairs);
                        hv.query_async::<i64>(&mut c).await.expect("HMERGEVALUES");
                        let (dest, how) = if w % 4 == 0 {
                            ("hrep", "REPLACE")
                        } else {
                            ("hsum", "SUM")
                        };
                        let args = ["HMERGE", dest, "1", src.as_str(), "AGGREGATE", how];
                        cmd::<i64>(&mut c, &args).await;
                    }
                    _ => {
                        let how = if w % 4 == 2 { "REPLACE" } else { "SUM" };
                        let mut mm = redis::cmd("MMERGE");
                        mm.arg(how);
                        for p in pairs.chunks(2) {
                            let key = if how == "SUM" {
                                format!("s:{}", p[0])
                            } else {
                                p[0].clone()
                            };
                            mm.arg(key).arg(&p[1]);
                        }
                        mm.query_async::<i64>(&mut c).await.expect("MMERGE");
                    }
                }
            }
        }));
    }
    let mut readers = Vec::new();
    for r in 0..4 {
        let mut c = patient_conn(&s).await;
        let (names, done, reads) = (names.clone(), Arc::clone(&done), Arc::clone(&reads));
        readers.push(tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                if r % 2 == 0 {
                    for prefix in ["", "s:"] {
                        let mut mget = redis::cmd("MGET");
                        for n in &names {
                            mget.arg(format!("{prefix}{n}"));
                        }
                        let values: Vec<Option<String>> =
                            mget.query_async(&mut c).await.expect("MGET");
                        consistent(&values).unwrap();
                    }
                } else {
                    for key in ["hrep", "hsum"] {
                        let all: std::collections::HashMap<String, String> = redis::cmd("HGETALL")
                            .arg(key)
                            .query_async(&mut c)
                            .await
                            .expect("HGETALL");
                        let values: Vec<Option<String>> =
                            names.iter().map(|n| all.get(n.as_str()).cloned()).collect();
                        consistent(&values).unwrap();
                    }
                    tokio::task::yield_now().await;
                }
                reads.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for w in writers {
        w.await.expect("writer");
    }
    done.store(true, Ordering::Relaxed);
    for r in readers {
        r.await.expect("a reader saw a partial merge");
    }
    assert!(reads.load(Ordering::Relaxed) > 20, "readers barely ran");
    // Every SUM merge landed exactly once: 2 writers x ROUNDS merges of 1 (and 10).
    let hsum = hash(&s, "hsum").unwrap();
    assert_eq!(hsum["f0"], (2 * ROUNDS).to_string());
    assert_eq!(hsum["sum"], (20 * ROUNDS).to_string());
    let mut c = s.conn().await;
    let v: Vec<String> = cmd(&mut c, &["MGET", "s:f9", "s:sum"]).await;
    assert_eq!(v, [(2 * ROUNDS).to_string(), (20 * ROUNDS).to_string()]);
}
