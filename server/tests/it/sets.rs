//! Set commands: SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD, SPOP,
//! SRANDMEMBER, SMOVE, SINTER, SINTERCARD, SINTERSTORE, SUNION(STORE), SDIFF(STORE),
//! SSCAN. Replies byte for byte against a live redis-server 7.0.15 (RESP2 and RESP3)
//! wherever they are deterministic (intsets come in ascending order); random replies
//! by their properties; the intset -> hashtable conversion; the life of a set as a key.

use std::collections::HashSet;

use crate::common::*;
use crate::lists::same_replies_as_redis;

type Conn = redis::aio::MultiplexedConnection;

const SCRIPT: &str = "
FLUSHALL
SADD s 3 1 2 -5 1
SADD t a b 1
SADD
SADD s
SET str v
OBJECT ENCODING s
OBJECT ENCODING t
TYPE s
SMEMBERS s
SMEMBERS nokey
SMEMBERS str
SPOP s 1 2
SPOP s -1
SPOP s abc
SPOP nokey 2
SPOP nokey
SPOP s 0
SPOP str
SPOP str 1
SRANDMEMBER s 1 2
SRANDMEMBER s abc
SRANDMEMBER s -9223372036854775808
SRANDMEMBER nokey 3
SRANDMEMBER nokey
SRANDMEMBER nokey -3
SRANDMEMBER s 0
SRANDMEMBER s 100
SRANDMEMBER s 4
SRANDMEMBER str
SINTERCARD 0 s
SINTERCARD 3 s t
SINTERCARD 2 s t LIMIT -1
SINTERCARD 2 s t LIMIT abc
SINTERCARD 2 s t FOO
SINTERCARD 2 s t LIMIT 1 LIMIT 0
SINTERCARD 2 s str
SINTERCARD 2 s nokey
SINTERCARD 1 s LIMIT 2
SINTERCARD abc s
SINTER s nokey str
SINTER s t
SINTER s s
SINTER nokey
SUNION s
SDIFF s t
SDIFF nokey s
SDIFF s nokey
SUNION str
SDIFF s str
SMOVE nokey s 1
SMOVE nokey str 1
SMOVE s str 1
SMOVE str s 1
SMOVE s s 1
SMOVE s s 99
SMOVE s newset 99
SMOVE s newset -5
SMEMBERS newset
SMOVE s t 1
SMISMEMBER s 1 99
SMISMEMBER nokey 1
SMISMEMBER str 1
SISMEMBER nokey 1
SISMEMBER s 2
SISMEMBER str 2
SCARD nokey
SCARD s
SCARD str
SSCAN s 0
SSCAN s abc
SSCAN nokey 0 COUNT 0
SSCAN s 0 COUNT 0
SSCAN s 0 MATCH
SSCAN s 0 TYPE string
SSCAN s 0 MATCH 2*
SSCAN str 0
SINTERSTORE d s t
SINTERSTORE d s nokey
EXISTS d
SUNIONSTORE d s newset
SMEMBERS d
SDIFFSTORE d s s
EXISTS d
SINTERSTORE str s
TYPE str
SADD s 01
OBJECT ENCODING s
SREM s 01 nope
SREM s nokey
SREM nokey a
SREM str a
OBJECT ENCODING s
SADD n 5 4 3 2 1
SPOP n 10
EXISTS n
SADD n 5 4 3 2 1
SREM n 1 2 3 4 5 6
EXISTS n
SADD n 1
SPOP n
EXISTS n
HELLO 3
SADD s 7
SMEMBERS nokey
SPOP nokey 2
SPOP s 0
SRANDMEMBER nokey 3
SINTER s nokey
SUNION newset
SDIFF newset nokey
SMISMEMBER s 1 99
SPOP nokey
SADD n 5 4 3 2 1
SPOP n 5
SSCAN newset 0
";

#[test]
fn replies_match_redis_byte_for_byte() {
    let compared = same_replies_as_redis(SCRIPT);
    assert!(compared >= 100, "{compared}");
}

async fn members(c: &mut Conn, key: &str) -> HashSet<String> {
    cmd(c, &["SMEMBERS", key]).await
}

async fn encoding(c: &mut Conn, key: &str) -> String {
    cmd(c, &["OBJECT", "ENCODING", key]).await
}

fn set_of(items: &[&str]) -> HashSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn random_members_and_pops() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let all: Vec<String> = (0..50).map(|i| format!("m{i}")).collect();
    let mut args = vec!["SADD", "s"];
    args.extend(all.iter().map(String::as_str));
    assert_eq!(cmd::<i64>(&mut c, &args).await, 50);
    let universe: HashSet<String> = all.iter().cloned().collect();
    // SRANDMEMBER: distinct for a positive count, repeats allowed for a negative one.
    let got: Vec<String> = cmd(&mut c, &["SRANDMEMBER", "s", "10"]).await;
    assert_eq!(got.len(), 10);
    assert_eq!(got.iter().collect::<HashSet<_>>().len(), 10);
    assert!(got.iter().all(|m| universe.contains(m)));
    let got: Vec<String> = cmd(&mut c, &["SRANDMEMBER", "s", "-200"]).await;
    assert_eq!(got.len(), 200);
    assert!(got.iter().all(|m| universe.contains(m)));
    let one: String = cmd(&mut c, &["SRANDMEMBER", "s"]).await;
    assert!(universe.contains(&one));
    assert_eq!(cmd::<i64>(&mut c, &["SCARD", "s"]).await, 50);
    // SPOP removes what it returns.
    let popped: Vec<String> = cmd(&mut c, &["SPOP", "s", "20"]).await;
    assert_eq!(popped.iter().collect::<HashSet<_>>().len(), 20);
    let single: String = cmd(&mut c, &["SPOP", "s"]).await;
    let left = members(&mut c, "s").await;
    assert_eq!(left.len(), 29);
    for m in popped.iter().chain([&single]) {
        assert!(!left.contains(m) && universe.contains(m));
    }
    let rest: Vec<String> = cmd(&mut c, &["SPOP", "s", "100"]).await;
    assert_eq!(rest.len(), 29);
    assert_eq!(cmd::<i64>(&mut c, &["EXISTS", "s"]).await, 0);
    // RESP3: SPOP with a count is a set, SRANDMEMBER's an array.
    let mut r = s.raw3().await;
    r.roundtrip(&[b"SADD", b"i", b"1"], b":1\r\n").await;
    r.roundtrip(&[b"SRANDMEMBER", b"i", b"1"], b"*1\r\n$1\r\n1\r\n")
        .await;
    r.roundtrip(&[b"SPOP", b"i", b"1"], b"~1\r\n$1\r\n1\r\n")
        .await;
}

#[tokio::test]
async fn encodings_algebra_and_the_life_of_a_set() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let mut args = vec!["SADD".to_string(), "ints".to_string()];
    args.extend((0..512).map(|i| i.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let _: i64 = cmd(&mut c, &refs).await;
    assert_eq!(encoding(&mut c, "ints").await, "intset");
    let _: i64 = cmd(&mut c, &["SADD", "ints", "512"]).await;
    assert_eq!(encoding(&mut c, "ints").await, "hashtable");
    let _: i64 = cmd(&mut c, &["SADD", "mixed", "1", "x"]).await;
    assert_eq!(encoding(&mut c, "mixed").await, "hashtable");
    // Algebra over both encodings.
    let _: i64 = cmd(&mut c, &["SADD", "a", "1", "2", "x", "y"]).await;
    let _: i64 = cmd(&mut c, &["SADD", "b", "2", "y", "z"]).await;
    assert_eq!(
        cmd::<HashSet<String>>(&mut c, &["SINTER", "a", "b"]).await,
        set_of(&["2", "y"])
    );
    assert_eq!(
        cmd::<HashSet<String>>(&mut c, &["SUNION", "a", "b"]).await,
        set_of(&["1", "2", "x", "y", "z"])
    );
    assert_eq!(
        cmd::<HashSet<String>>(&mut c, &["SDIFF", "a", "b"]).await,
        set_of(&["1", "x"])
    );
    assert_eq!(
        cmd::<i64>(&mut c, &["SINTERCARD", "2", "a", "ints"]).await,
        2
    );
    assert_eq!(
        cmd::<i64>(&mut c, &["SINTERCARD", "2", "a", "ints", "LIMIT", "1"]).await,
        1
    );
    assert_eq!(cmd::<i64>(&mut c, &["SUNIONSTORE", "u", "a", "b"]).await, 5);
    assert_eq!(
        members(&mut c, "u").await,
        set_of(&["1", "2", "x", "y", "z"])
    );
    // COPY is copy-on-write; RENAME, TYPE, SCAN TYPE, TTLs.
    assert_eq!(cmd::<i64>(&mut c, &["COPY", "a", "a2"]).await, 1);
    let _: i64 = cmd(&mut c, &["SREM", "a2", "1"]).await;
    assert!(members(&mut c, "a").await.contains("1"));
    assert_eq!(cmd::<String>(&mut c, &["TYPE", "a"]).await, "set");
    let found = scan_all(&mut c, &["TYPE", "set"]).await;
    assert_eq!(found.len(), 6, "{found:?}");
    let _: () = cmd(&mut c, &["RENAME", "a2", "a3"]).await;
    let _: i64 = cmd(&mut c, &["EXPIRE", "a3", "100"]).await;
    let _: i64 = cmd(&mut c, &["SADD", "a3", "new"]).await;
    assert!(cmd::<i64>(&mut c, &["TTL", "a3"]).await > 90);
    // A snapshot keeps its view.
    let _: String = cmd(&mut c, &["SNAPSHOT", "CREATE", "snap"]).await;
    let _: i64 = cmd(&mut c, &["SREM", "a", "1", "2"]).await;
    let mut view = s.conn().await;
    let _: () = cmd(&mut view, &["SNAPSHOT", "READ", "snap"]).await;
    assert_eq!(members(&mut view, "a").await, set_of(&["1", "2", "x", "y"]));
    assert_eq!(members(&mut c, "a").await, set_of(&["x", "y"]));
    // Emptied sets vanish; the merge family refuses sets.
    let _: i64 = cmd(&mut c, &["SREM", "a", "x", "y"]).await;
    assert_eq!(cmd::<i64>(&mut c, &["EXISTS", "a"]).await, 0);
    let wrongtype = "WRONGTYPE Operation against a key holding the wrong kind of value";
    assert_eq!(err(&mut c, &["HMERGE", "d", "1", "b"]).await, wrongtype);
    assert_eq!(err(&mut c, &["LPUSH", "b", "x"]).await, wrongtype);
}

/// `set-max-intset-entries` drives the intset conversion (SADD, SMOVE, the STORE
/// forms and the computed sets SUNION/SDIFF reply from), and the hash knobs Redis
/// test suites set are accepted and reported as Redis reports them.
const INTSET_KNOB_SCRIPT: &str = "
CONFIG GET set-max-intset-entries
CONFIG GET set-max-listpack-entries
CONFIG GET hash-max-listpack-entries
CONFIG GET hash-max-listpack-value
CONFIG GET hash-max-ziplist-entries
CONFIG GET hash-max-ziplist-value
CONFIG SET hash-max-ziplist-value 10
CONFIG SET hash-max-ziplist-entries 16
CONFIG GET hash-max-listpack-entries
CONFIG GET hash-max-listpack-value
CONFIG GET hash-max-ziplist-entries
CONFIG GET hash-max-ziplist-value
CONFIG SET hash-max-listpack-value 1kb
CONFIG GET hash-max-listpack-value
CONFIG SET hash-max-listpack-entries -1
CONFIG SET set-max-intset-entries abc
CONFIG SET set-max-intset-entries 4
CONFIG GET set-max-intset-entries
SADD s 1 2 3 4
OBJECT ENCODING s
SADD s 5
OBJECT ENCODING s
SREM s 5 4
OBJECT ENCODING s
SADD t 9 8 7 6 5
OBJECT ENCODING t
SADD u 3 2 1
SMOVE t u 9
OBJECT ENCODING u
SMOVE t u 8
OBJECT ENCODING u
SCARD u
SADD v 10 20
SUNIONSTORE w u v
OBJECT ENCODING w
SUNIONSTORE w2 s v
OBJECT ENCODING w2
SCARD w2
SDIFFSTORE w3 s nokey
OBJECT ENCODING w3
SINTERSTORE w4 s s
OBJECT ENCODING w4
CONFIG SET set-max-intset-entries 0
SADD z 1
OBJECT ENCODING z
CONFIG SET set-max-intset-entries 512
SADD y 1
OBJECT ENCODING y
";

#[test]
fn set_max_intset_entries_and_hash_knobs_as_redis() {
    let compared = same_replies_as_redis(INTSET_KNOB_SCRIPT);
    assert!(compared >= 40, "{compared}");
}
