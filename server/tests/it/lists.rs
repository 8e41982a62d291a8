//! List commands: LPUSH, RPUSH, LPUSHX, RPUSHX, LPOP, RPOP, LLEN, LRANGE, LINDEX, LSET,
//! LINSERT, LREM, LTRIM, LPOS, LMOVE, RPOPLPUSH, LMPOP and the blocking BLPOP, BRPOP,
//! BLMOVE, BRPOPLPUSH, BLMPOP.
//!
//! - Replies and errors: a script of commands (every option, error, boundary and
//!   validation order) runs on Shoal and on a live redis-server 7.0.15, in RESP2 and
//!   RESP3, and the replies must be equal byte for byte.
//! - Blocking: several clients served in the order they blocked, woken by pushes from
//!   other connections and by RENAME/MOVE/COPY/LMOVE onto the key, timeouts (kept
//!   across wake-ups that find nothing), disconnect cleanup, `blocked_clients`, and
//!   no blocking inside a group.
//! - The life of a list as a key: TYPE, OBJECT ENCODING, SCAN TYPE, COPY (copy-on-write),
//!   RENAME, MOVE, TTLs, emptied lists vanishing, MEMORY USAGE, snapshots, the merge
//!   family's WRONGTYPE; and large lists against a model.
//!
//! Timing is not asserted beyond generous bounds.

use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use redis::Value;

use crate::common::*;

type Conn = redis::aio::MultiplexedConnection;

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

async fn range(c: &mut Conn, key: &str) -> Vec<String> {
    cmd(c, &["LRANGE", key, "0", "-1"]).await
}

async fn blocked_clients(c: &mut Conn) -> usize {
    info_field(c, "blocked_clients")
        .await
        .parse()
        .expect("a count")
}

/// Waits until `n` clients are parked.
async fn until_parked(c: &mut Conn, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = blocked_clients(c).await;
        if got == n {
            return;
        }
        assert!(Instant::now() < deadline, "{got} parked clients, not {n}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

// ---------------------------------------------------------------------------------------
// Byte-for-byte against redis-server
// ---------------------------------------------------------------------------------------

/// The reference redis-server (`lists`, `sets` and `blocking` compare with it).
pub(crate) type Redis = RedisServer;

/// Commands whose replies must be the same on both servers (one per line).
const SCRIPT: &str = "
FLUSHALL
RPUSH l a b a c a
SET s v
LPUSH
LPUSH l
RPUSHX l
LLEN l extra
LPOS l a RANK -9223372036854775808
LPOS l a RANK 9223372036854775808
LPOS l a RANK -9223372036854775807
LPOS l a COUNT abc
LPOS l a COUNT -1
LPOS l a MAXLEN abc
LPOS l a MAXLEN -1
LPOS l a RANK abc
LPOS l a RANK 1 RANK 2
LPOS l a COUNT
LPOS l a FOO 1
LPOS s a COUNT 0
LPOS s a RANK 0
LPOS nokey a RANK 0
LPOS l a
LPOS l a RANK -1
LPOS l a RANK 4
LPOS l a RANK -1 COUNT 0
LPOS l a RANK 2 COUNT 0 MAXLEN 3
LPOS l a RANK -2 COUNT 2 MAXLEN 4
LPOS l a COUNT 2
LPOS l a count 0 maxlen 0 rank 1
LPOS l zz COUNT 2
LPOS l zz
LPOS nokey zz COUNT 1
LPOS nokey zz
LPOP s 0
LPOP s abc
LPOP nokey abc
LPOP nokey -1
LPOP nokey 0
LPOP nokey
RPOP nokey 3
LPOP l 1 2
LINSERT nokey middle a b
LINSERT l middle a b
LINSERT s before a b
LINSERT l before zz b
LINSERT l before c X
LINSERT l AFTER a Y
LINSERT nokey after a Y
LRANGE l 0 -1
LRANGE l -100 100
LRANGE l 5 2
LRANGE l -3 -1
LRANGE l 100 200
LRANGE l -9223372036854775808 9223372036854775807
LRANGE l 0 x
LRANGE nokey a 1
LRANGE nokey 0 1
LRANGE s 0 1
LSET nokey a x
LSET s a x
LSET l a x
LSET l -1 z
LSET l -8 z
LSET l 7 z
LSET l 0 first
LINDEX nokey a
LINDEX s 0
LINDEX l -1
LINDEX l 0
LINDEX l -7
LINDEX l -8
LINDEX l 100
LINDEX l x
LREM nokey a x
LREM s 0 a
LREM l x a
LREM l -1 a
LREM l 0 zz
LREM l 0 a
LRANGE l 0 -1
LTRIM nokey a 1
LTRIM nokey 0 1
LTRIM s 0 1
LTRIM l 1 -2
LRANGE l 0 -1
LTRIM l 5 1
EXISTS l
RPUSH l a b a c a z
LMPOP 9223372036854775807 l left
LMPOP 2 s l left
LMPOP 2 nokey l right count 2
LMPOP 1 l left count abc
LMPOP 1 l left count 0
LMPOP 1 l up
LMPOP abc l left
LMPOP -1 l left
LMPOP 0 l left
LMPOP 1 l left count 1 count 2
LMPOP 1 l left count
LMPOP 2 l
LMPOP 1 nokey left
LMPOP 1 l LEFT COUNT 2
BLMPOP abc 1 l left
BLMPOP 0 0 l left
BLMPOP 0 1 l up
BLMPOP 0 1 l left count 0
BLMPOP -1 1 l left
BLPOP s abc
BLPOP s 0
BLPOP s -1
BLPOP s 1e30
BLPOP s inf
BLPOP s -inf
BLPOP s nan
BLPOP s 0x10
BLPOP s 9223372036854775.807
BLPOP s 9223372036854775
BLPOP s 9.3e15
BLPOP nokey s l 0
BRPOP nokey l 0
BLMOVE s l left left abc
BLMOVE nokey s left left 0.01
BLMOVE l s left left 0.01
BLMOVE l s up left 0.01
BLMOVE l s left up abc
BLPOP nokey 0.01
BRPOP nokey nokey2 0.01
BLMPOP 0.01 1 nokey left
BRPOPLPUSH nokey l 0.01
BRPOPLPUSH nokey l -1
LMOVE nokey s left left
LMOVE l s left left
LMOVE s l left left
LMOVE l x up left
LMOVE l x left down
RPOPLPUSH s l
RPOPLPUSH nokey l
DEL l
RPUSH l a b a c a
LMOVE l l left right
LRANGE l 0 -1
RPOPLPUSH l l
LRANGE l 0 -1
LMOVE l l2 right left
LMOVE l l2 left right
LRANGE l2 0 -1
RPOPLPUSH l2 l
LPOP l
RPOP l 2
LPOP l 0
LPOP l 10
EXISTS l
LPOP l
LPOP l 2
LPUSHX l a
RPUSHX l a
LPUSH l a b c
RPUSH l d e
LPUSHX l x y
RPUSHX l z
LRANGE l 0 -1
LLEN l
LLEN nokey
LLEN s
TYPE l
OBJECT ENCODING l
BLPOP nokey l 0
BRPOP nokey l 0
BLMPOP 0 2 nokey l right count 3
BRPOPLPUSH l l3 0
BLMOVE l3 l right left 0
LMPOP 1 l right count 30
EXISTS l
RPUSH big 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29
LRANGE big 10 12
LRANGE big -5 -3
LINDEX big 17
LPOS big 25
LINSERT big AFTER 29 30
LREM big 1 0
LTRIM big 2 -3
LRANGE big 0 -1
HELLO 3
RPOP nokey 2
LPOP nokey
LPOP nokey 0
LMPOP 1 nokey left
RPUSH l x y
LMPOP 1 l left count 5
LPOP l 0
BLPOP nokey 0.01
BLMOVE nokey l left left 0.01
BLMPOP 0.01 1 nokey left
BRPOPLPUSH nokey l 0.01
LPOS l zz
LPOS nokey zz COUNT 2
LINDEX nokey 0
RPUSH l a b
BLPOP l 0
BLMPOP 0 1 l right
LRANGE nokey 0 -1
";

#[test]
fn replies_match_redis_byte_for_byte() {
    let compared = same_replies_as_redis(SCRIPT);
    assert!(compared >= 200, "{compared}");
}

/// Runs `script` (one command a line) on a live redis-server and on Shoal; every
/// reply must be the same bytes (HELLO's excepted). Returns how many were compared.
pub(crate) fn same_replies_as_redis(script: &str) -> usize {
    let redis = Redis::start();
    let shoal = TestServer::start();
    let mut r = Wire::connect(("127.0.0.1", redis.port));
    let mut s = Wire::connect(shoal.addr);
    let mut compared = 0;
    for line in script.lines().filter(|l| !l.trim().is_empty()) {
        let args: Vec<&str> = line.split_whitespace().collect();
        let (want, got) = (r.call(&args), s.call(&args));
        if args[0] == "HELLO" {
            continue; // the server's name, version and id differ
        }
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want),
            "{line}"
        );
        compared += 1;
    }
    compared
}

// ---------------------------------------------------------------------------------------
// Commands (typed client)
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn pushes_pops_and_their_reply_shapes() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    assert_eq!(cmd::<i64>(&mut c, &["RPUSH", "l", "b", "c"]).await, 2);
    assert_eq!(cmd::<i64>(&mut c, &["LPUSH", "l", "a", "z"]).await, 4);
    assert_eq!(range(&mut c, "l").await, ["z", "a", "b", "c"]);
    assert_eq!(
        cmd::<Option<String>>(&mut c, &["LPOP", "l"])
            .await
            .as_deref(),
        Some("z")
    );
    assert_eq!(
        cmd::<Vec<String>>(&mut c, &["RPOP", "l", "2"]).await,
        ["c", "b"]
    );
    assert_eq!(cmd::<Vec<String>>(&mut c, &["LPOP", "l", "5"]).await, ["a"]);
    assert_eq!(
        cmd::<i64>(&mut c, &["EXISTS", "l"]).await,
        0,
        "emptied lists vanish"
    );
    assert_eq!(cmd::<Option<String>>(&mut c, &["RPOP", "l"]).await, None);
    assert_eq!(cmd::<Value>(&mut c, &["LPOP", "l", "2"]).await, Value::Nil);
    // Binary elements, empty ones and large ones keep their bytes.
    let big = vec![7u8; 100_000];
    let _: i64 = redis::cmd("RPUSH")
        .arg("bin")
        .arg(&b"\x00\r\n\xff"[..])
        .arg(&b""[..])
        .arg(&big)
        .query_async(&mut c)
        .await
        .unwrap();
    let back: Vec<Vec<u8>> = cmd(&mut c, &["LRANGE", "bin", "0", "-1"]).await;
    assert_eq!(back, vec![b"\x00\r\n\xff".to_vec(), Vec::new(), big]);
    // WRONGTYPE both ways.
    let _: () = cmd(&mut c, &["SET", "s", "v"]).await;
    assert_eq!(err(&mut c, &["LPUSH", "s", "x"]).await, WRONGTYPE);
    assert_eq!(err(&mut c, &["GET", "bin"]).await, WRONGTYPE);
    assert_eq!(err(&mut c, &["HSET", "bin", "f", "v"]).await, WRONGTYPE);
    // RESP3: null for a missing key; arrays of bulks otherwise.
    let mut r = s.raw3().await;
    r.roundtrip(&[b"LPOP", b"nokey"], b"_\r\n").await;
    r.roundtrip(&[b"LPOP", b"nokey", b"3"], b"_\r\n").await;
    r.roundtrip(&[b"BLPOP", b"nokey", b"0.01"], b"_\r\n").await;
    r.roundtrip(&[b"RPUSH", b"k", b"x"], b":1\r\n").await;
    r.roundtrip(
        &[b"LMPOP", b"1", b"k", b"LEFT"],
        b"*2\r\n$1\r\nk\r\n*1\r\n$1\r\nx\r\n",
    )
    .await;
}

#[tokio::test]
async fn large_lists_behave_like_a_model() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut model: Vec<String> = Vec::new();
    for round in 0..1500 {
        let v = format!("v{}", rng.random_range(0..50));
        let len = model.len() as i64;
        match rng.random_range(0..10) {
            0..=2 => {
                let n: i64 = cmd(&mut c, &["RPUSH", "big", &v, &v]).await;
                model.push(v.clone());
                model.push(v);
                assert_eq!(n as usize, model.len());
            }
            3..=4 => {
                let _: i64 = cmd(&mut c, &["LPUSH", "big", &v]).await;
                model.insert(0, v);
            }
            5 if len > 0 => {
                let i = rng.random_range(-len..len);
                let _: () = cmd(&mut c, &["LSET", "big", &i.to_string(), &v]).await;
                let at = if i < 0 {
                    (i + len) as usize
                } else {
                    i as usize
                };
                model[at] = v;
            }
            6 if len > 0 => {
                let pivot = model[rng.random_range(0..model.len())].clone();
                let n: i64 = cmd(&mut c, &["LINSERT", "big", "BEFORE", &pivot, &v]).await;
                let at = model.iter().position(|x| *x == pivot).unwrap();
                model.insert(at, v);
                assert_eq!(n as usize, model.len());
            }
            7 => {
                let count = rng.random_range(-2..3i64);
                let n: i64 = cmd(&mut c, &["LREM", "big", &count.to_string(), &v]).await;
                let mut left = if count == 0 {
                    usize::MAX
                } else {
                    count.unsigned_abs() as usize
                };
                let idx: Vec<usize> = if count < 0 {
                    (0..model.len()).rev().collect()
                } else {
                    (0..model.len()).collect()
                };
                let mut gone = Vec::new();
                for i in idx {
                    if left > 0 && model[i] == v {
                        gone.push(i);
                        left -= 1;
                    }
                }
                gone.sort_unstable();
                for i in gone.iter().rev() {
                    model.remove(*i);
                }
                assert_eq!(n as usize, gone.len());
            }
            8 if len > 0 => {
                let got: Option<String> = cmd(&mut c, &["RPOP", "big"]).await;
                assert_eq!(got, model.pop());
            }
            _ if len > 0 => {
                let i = rng.random_range(-len - 2..len + 2);
                let got: Option<String> = cmd(&mut c, &["LINDEX", "big", &i.to_string()]).await;
                let at = if i < 0 { i + len } else { i };
                let want = (0..len).contains(&at).then(|| model[at as usize].clone());
                assert_eq!(got, want, "LINDEX {i}");
            }
            _ => {}
        }
        if round % 100 == 0 {
            assert_eq!(range(&mut c, "big").await, model, "round {round}");
        }
    }
    assert_eq!(range(&mut c, "big").await, model);
    let len = model.len() as i64;
    for (a, b) in [(0, 9), (-10, -1), (len / 3, len / 2), (5, 4)] {
        let got: Vec<String> =
            cmd(&mut c, &["LRANGE", "big", &a.to_string(), &b.to_string()]).await;
        let norm = |i: i64| if i < 0 { (i + len).max(0) } else { i };
        let (s, e) = (norm(a) as usize, (norm(b) + 1).min(len) as usize);
        let want: Vec<String> = if s < e {
            model[s..e].to_vec()
        } else {
            Vec::new()
        };
        assert_eq!(got, want, "LRANGE {a} {b}");
    }
    let target = model[model.len() / 2].clone();
    let all: Vec<i64> = cmd(&mut c, &["LPOS", "big", &target, "COUNT", "0"]).await;
    let want: Vec<i64> = (0..model.len())
        .filter(|i| model[*i] == target)
        .map(|i| i as i64)
        .collect();
    assert_eq!(all, want);
    let from_tail: Vec<i64> = cmd(
        &mut c,
        &["LPOS", "big", &target, "RANK", "-1", "COUNT", "0"],
    )
    .await;
    assert_eq!(from_tail, want.iter().rev().copied().collect::<Vec<_>>());
    let _: () = cmd(&mut c, &["LTRIM", "big", "10", "-10"]).await;
    assert_eq!(
        range(&mut c, "big").await,
        model[10..model.len() - 9].to_vec()
    );
}

// ---------------------------------------------------------------------------------------
// A list as a key
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn generic_commands_handle_lists() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let _: i64 = cmd(&mut c, &["RPUSH", "l", "a", "b", "c"]).await;
    assert_eq!(cmd::<String>(&mut c, &["TYPE", "l"]).await, "list");
    assert_eq!(
        cmd::<String>(&mut c, &["OBJECT", "ENCODING", "l"]).await,
        "quicklist"
    );
    let _: () = cmd(&mut c, &["SET", "str", "x"]).await;
    let _: i64 = cmd(&mut c, &["HSET", "h", "f", "v"]).await;
    assert_eq!(scan_all(&mut c, &["TYPE", "list"]).await, ["l"]);
    // COPY shares the list copy-on-write: each side changes alone.
    assert_eq!(cmd::<i64>(&mut c, &["COPY", "l", "l2"]).await, 1);
    let _: i64 = cmd(&mut c, &["RPUSH", "l2", "d"]).await;
    let _: () = cmd(&mut c, &["LSET", "l", "0", "A"]).await;
    assert_eq!(range(&mut c, "l").await, ["A", "b", "c"]);
    assert_eq!(range(&mut c, "l2").await, ["a", "b", "c", "d"]);
    // RENAME, MOVE, DEL.
    let _: () = cmd(&mut c, &["RENAME", "l2", "l3"]).await;
    assert_eq!(range(&mut c, "l3").await, ["a", "b", "c", "d"]);
    assert_eq!(cmd::<i64>(&mut c, &["MOVE", "l3", "1"]).await, 1);
    let _: () = cmd(&mut c, &["SELECT", "1"]).await;
    assert_eq!(cmd::<i64>(&mut c, &["LLEN", "l3"]).await, 4);
    assert_eq!(cmd::<i64>(&mut c, &["DEL", "l3"]).await, 1);
    let _: () = cmd(&mut c, &["SELECT", "0"]).await;
    // TTLs survive element writes; an expired list is gone.
    assert_eq!(cmd::<i64>(&mut c, &["EXPIRE", "l", "100"]).await, 1);
    let _: i64 = cmd(&mut c, &["RPUSH", "l", "x"]).await;
    let _: Vec<String> = cmd(&mut c, &["LPOP", "l", "1"]).await;
    assert!(cmd::<i64>(&mut c, &["TTL", "l"]).await > 90);
    let _: i64 = cmd(&mut c, &["RPUSH", "short", "x"]).await;
    let _: i64 = cmd(&mut c, &["PEXPIRE", "short", "20"]).await;
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(cmd::<i64>(&mut c, &["LLEN", "short"]).await, 0);
    assert_eq!(cmd::<i64>(&mut c, &["EXISTS", "short"]).await, 0);
    // MEMORY USAGE grows with the list.
    let small: i64 = cmd(&mut c, &["MEMORY", "USAGE", "l"]).await;
    let many: Vec<String> = (0..1000).map(|i| format!("element-{i}")).collect();
    let mut args = vec!["RPUSH", "l"];
    args.extend(many.iter().map(String::as_str));
    let _: i64 = cmd(&mut c, &args).await;
    let large: i64 = cmd(&mut c, &["MEMORY", "USAGE", "l"]).await;
    assert!(large > small + 10_000, "{small} -> {large}");
    assert!(
        large < 100_000,
        "compact: {large} bytes for 1000 short elements"
    );
    // The merge family refuses lists.
    assert_eq!(err(&mut c, &["HMERGE", "dst", "1", "l"]).await, WRONGTYPE);
    assert_eq!(err(&mut c, &["HMERGE", "l", "1", "h"]).await, WRONGTYPE);
    assert_eq!(
        err(&mut c, &["HMERGEVALUES", "l", "SUM", "f", "1"]).await,
        WRONGTYPE
    );
    assert_eq!(err(&mut c, &["MMERGE", "SUM", "l", "1"]).await, WRONGTYPE);
    assert_eq!(cmd::<i64>(&mut c, &["LLEN", "l"]).await, 1003);
}

#[tokio::test]
async fn a_snapshot_keeps_its_view_of_a_list_while_it_changes() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let items: Vec<String> = (0..2000).map(|i| i.to_string()).collect();
    let mut args = vec!["RPUSH", "l"];
    args.extend(items.iter().map(String::as_str));
    let _: i64 = cmd(&mut c, &args).await;
    let _: String = cmd(&mut c, &["SNAPSHOT", "CREATE", "before"]).await;
    let _: () = cmd(&mut c, &["LSET", "l", "1000", "changed"]).await;
    let _: i64 = cmd(&mut c, &["LPUSH", "l", "head"]).await;
    let _: Vec<String> = cmd(&mut c, &["RPOP", "l", "5"]).await;
    let _: i64 = cmd(&mut c, &["LREM", "l", "0", "7"]).await;
    let mut view = s.conn().await;
    let _: () = cmd(&mut view, &["SNAPSHOT", "READ", "before"]).await;
    assert_eq!(range(&mut view, "l").await, items);
    let mut now = items.clone();
    now[1000] = "changed".into();
    now.insert(0, "head".into());
    now.truncate(now.len() - 5);
    now.retain(|x| x != "7");
    assert_eq!(range(&mut c, "l").await, now);
    assert_eq!(
        err(&mut view, &["LPUSH", "l", "x"]).await,
        "READONLY You can't write against a read only snapshot."
    );
    let _: () = cmd(&mut view, &["SNAPSHOT", "READ", "LIVE"]).await;
    assert_eq!(range(&mut view, "l").await, now);
}

// ---------------------------------------------------------------------------------------
// Blocking
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn blpop_waits_for_a_push_from_another_connection() {
    let s = TestServer::start();
    let mut admin = s.conn().await;
    let mut b = s.raw().await;
    b.cmd(&[b"BLPOP", b"k1", b"k2", b"0"]).await;
    until_parked(&mut admin, 1).await;
    assert!(b.silent_for(50).await);
    let _: i64 = cmd(&mut admin, &["RPUSH", "k2", "x", "y"]).await;
    b.expect(b"*2\r\n$2\r\nk2\r\n$1\r\nx\r\n").await;
    until_parked(&mut admin, 0).await;
    assert_eq!(range(&mut admin, "k2").await, ["y"]);
    // The connection goes on serving commands.
    b.roundtrip(&[b"PING"], b"+PONG\r\n").await;
    // A key named twice waits once and is served once.
    b.cmd(&[b"BLPOP", b"twice", b"twice", b"0"]).await;
    until_parked(&mut admin, 1).await;
    let _: i64 = cmd(&mut admin, &["RPUSH", "twice", "t"]).await;
    b.expect(b"*2\r\n$5\r\ntwice\r\n$1\r\nt\r\n").await;
    until_parked(&mut admin, 0).await;
    // BRPOP, BLMPOP with a count, BLMOVE, BRPOPLPUSH the same way.
    b.cmd(&[b"BRPOP", b"r", b"1000"]).await;
    until_parked(&mut admin, 1).await;
    let _: i64 = cmd(&mut admin, &["RPUSH", "r", "1", "2"]).await;
    b.expect(b"*2\r\n$1\r\nr\r\n$1\r\n2\r\n").await;
    b.cmd(&[
        b"BLMPOP", b"0", b"2", b"m1", b"m2", b"RIGHT", b"COUNT", b"2",
    ])
    .await;
    until_parked(&mut admin, 1).await;
    let _: i64 = cmd(&mut admin, &["RPUSH", "m2", "a", "b", "c"]).await;
    b.expect(b"*2\r\n$2\r\nm2\r\n*2\r\n$1\r\nc\r\n$1\r\nb\r\n")
        .await;
    b.cmd(&[b"BLMOVE", b"src", b"dst", b"LEFT", b"RIGHT", b"0"])
        .await;
    until_parked(&mut admin, 1).await;
    let _: i64 = cmd(&mut admin, &["LPUSH", "src", "moved"]).await;
    b.expect(b"$5\r\nmoved\r\n").await;
    assert_eq!(range(&mut admin, "dst").await, ["moved"]);
    assert_eq!(cmd::<i64>(&mut admin, &["EXISTS", "src"]).await, 0);
    b.cmd(&[b"BRPOPLPUSH", b"src", b"dst", b"0"]).await;
    until_parked(&mut admin, 1).await;
    let _: i64 = cmd(&mut admin, &["RPUSH", "src", "p", "q"]).await;
    b.expect(b"$1\r\nq\r\n").await;
    assert_eq!(range(&mut admin, "dst").await, ["q", "moved"]);
}

#[tokio::test]
async fn blocked_clients_are_served_in_the_order_they_blocked() {
    let s = TestServer::start();
    let mut admin = s.conn().await;
    let mut clients = Vec::new();
    for i in 0..5 {
        let mut c = s.raw().await;
        c.cmd(&[b"BLPOP", b"q", b"0"]).await;
        until_parked(&mut admin, i + 1).await;
        clients.push(c);
    }
    // One push of five elements serves all five, first blocked first.
    let _: i64 = cmd(&mut admin, &["RPUSH", "q", "e0", "e1", "e2", "e3", "e4"]).await;
    for (i, c) in clients.iter_mut().enumerate() {
        c.expect(format!("*2\r\n$1\r\nq\r\n$2\r\ne{i}\r\n").as_bytes())
            .await;
    }
    until_parked(&mut admin, 0).await;
    // One element at a time: still in order.
    for (i, c) in clients.iter_mut().enumerate().take(3) {
        c.cmd(&[b"BRPOP", b"q", b"0"]).await;
        until_parked(&mut admin, i + 1).await;
    }
    for (i, c) in clients.iter_mut().enumerate().take(3) {
        let _: i64 = cmd(&mut admin, &["RPUSH", "q", &format!("x{i}")]).await;
        c.expect(format!("*2\r\n$1\r\nq\r\n$2\r\nx{i}\r\n").as_bytes())
            .await;
    }
    assert_eq!(cmd::<i64>(&mut admin, &["EXISTS", "q"]).await, 0);
}

#[tokio::test]
async fn timeouts_answer_null_and_are_not_reset_by_wakeups() {
    let s = TestServer::start();
    let mut admin = s.conn().await;
    let mut b = s.raw().await;
    for (args, reply) in [
        (&[&b"BLPOP"[..], b"t", b"0.05"][..], &b"*-1\r\n"[..]),
        (&[b"BRPOP", b"t", b"t2", b"0.05"], b"*-1\r\n"),
        (
            &[b"BLMOVE", b"t", b"d", b"LEFT", b"LEFT", b"0.05"],
            b"*-1\r\n",
        ),
        (&[b"BRPOPLPUSH", b"t", b"d", b"0.05"], b"*-1\r\n"),
        (&[b"BLMPOP", b"0.05", b"1", b"t", b"LEFT"], b"*-1\r\n"),
    ] {
        b.cmd(args).await;
        b.expect(reply).await;
    }
    let mut b3 = s.raw3().await;
    b3.roundtrip(
        &[b"BLMOVE", b"t", b"d", b"LEFT", b"LEFT", b"0.05"],
        b"_\r\n",
    )
    .await;
    // Wake-ups that find nothing to pop (another type written, then removed) do not
    // restart the clock: the 0.3 s timeout passes while they keep coming for 3 s.
    b.cmd(&[b"BLPOP", b"w", b"0.3"]).await;
    until_parked(&mut admin, 1).await;
    let started = Instant::now();
    let mut answered = false;
    while started.elapsed() < Duration::from_secs(3) {
        let _: () = cmd(&mut admin, &["SET", "w", "string"]).await;
        let _: i64 = cmd(&mut admin, &["DEL", "w"]).await;
        if blocked_clients(&mut admin).await == 0 {
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(answered, "the timeout was pushed back by the wake-ups");
    b.expect(b"*-1\r\n").await;
}

#[tokio::test]
async fn a_key_of_another_type_keeps_blocked_clients_waiting() {
    let s = TestServer::start();
    let mut admin = s.conn().await;
    let mut b = s.raw().await;
    b.cmd(&[b"BLPOP", b"k", b"0"]).await;
    until_parked(&mut admin, 1).await;
    let _: () = cmd(&mut admin, &["SET", "k", "string"]).await;
    assert!(b.silent_for(100).await);
    assert_eq!(blocked_clients(&mut admin).await, 1);
    let _: i64 = cmd(&mut admin, &["DEL", "k"]).await;
    let _: i64 = cmd(&mut admin, &["RPUSH", "k", "v"]).await;
    b.expect(b"*2\r\n$1\r\nk\r\n$1\r\nv\r\n").await;
    // But a key of another type when the command first runs is WRONGTYPE.
    let _: () = cmd(&mut admin, &["SET", "k", "string"]).await;
    b.cmd(&[b"BLPOP", b"k", b"0"]).await;
    b.expect(format!("-{WRONGTYPE}\r\n").as_bytes()).await;
    // A BLMOVE whose destination became another type while it waited gets WRONGTYPE
    // when served, and the element stays in the source (as in Redis 7.0).
    b.cmd(&[b"BLMOVE", b"src", b"dst", b"LEFT", b"LEFT", b"0"])
        .await;
    until_parked(&mut admin, 1).await;
    let _: () = cmd(&mut admin, &["SET", "dst", "string"]).await;
    let _: i64 = cmd(&mut admin, &["RPUSH", "src", "x"]).await;
    b.expect(format!("-{WRONGTYPE}\r\n").as_bytes()).await;
    assert_eq!(range(&mut admin, "src").await, ["x"]);
}

#[tokio::test]
async fn rename_move_copy_and_lmove_onto_the_key_wake_blocked_clients() {
    let s = TestServer::start();
    let mut admin = s.conn().await;
    let mut b = s.raw().await;
    // RENAME
    b.cmd(&[b"BLPOP", b"k", b"0"]).await;
    until_parked(&mut admin, 1).await;
    let _: i64 = cmd(&mut admin, &["RPUSH", "src", "renamed"]).await;
    let _: () = cmd(&mut admin, &["RENAME", "src", "k"]).await;
    b.expect(b"*2\r\n$1\r\nk\r\n$7\r\nrenamed\r\n").await;
    // MOVE from another database
    b.cmd(&[b"BLPOP", b"k", b"0"]).await;
    until_parked(&mut admin, 1).await;
    let _: () = cmd(&mut admin, &["SELECT", "3"]).await;
    let _: i64 = cmd(&mut admin, &["RPUSH", "k", "moved"]).await;
    assert_eq!(cmd::<i64>(&mut admin, &["MOVE", "k", "0"]).await, 1);
    let _: () = cmd(&mut admin, &["SELECT", "0"]).await;
    b.expect(b"*2\r\n$1\r\nk\r\n$5\r\nmoved\r\n").await;
    // COPY
    b.cmd(&[b"BLPOP", b"k", b"0"]).await;
    until_parked(&mut admin, 1).await;
    let _: i64 = cmd(&mut admin, &["RPUSH", "orig", "copied"]).await;
    assert_eq!(cmd::<i64>(&mut admin, &["COPY", "orig", "k"]).await, 1);
    b.expect(b"*2\r\n$1\r\nk\r\n$6\r\ncopied\r\n").await;
    assert_eq!(range(&mut admin, "orig").await, ["copied"]);
    // LMOVE, and a chain of BLMOVEs: each hop wakes the next.
    let mut b2 = s.raw().await;
    b2.cmd(&[b"BLMOVE", b"hop1", b"hop2", b"LEFT", b"LEFT", b"0"])
        .await;
    until_parked(&mut admin, 1).await;
    b.cmd(&[b"BLPOP", b"hop2", b"0"]).await;
    until_parked(&mut admin, 2).await;
    let _: () = cmd(&mut admin, &["LMOVE", "orig", "hop1", "LEFT", "LEFT"]).await;
    b2.expect(b"$6\r\ncopied\r\n").await;
    b.expect(b"*2\r\n$4\r\nhop2\r\n$6\r\ncopied\r\n").await;
    until_parked(&mut admin, 0).await;
    for k in ["hop1", "hop2", "orig"] {
        assert_eq!(cmd::<i64>(&mut admin, &["EXISTS", k]).await, 0, "{k}");
    }
}

#[tokio::test]
async fn a_blocked_client_that_leaves_is_forgotten() {
    let s = TestServer::start();
    let mut admin = s.conn().await;
    let mut gone = s.raw().await;
    gone.cmd(&[b"BLPOP", b"k", b"0"]).await;
    until_parked(&mut admin, 1).await;
    let mut next = s.raw().await;
    next.cmd(&[b"BLPOP", b"k", b"0"]).await;
    until_parked(&mut admin, 2).await;
    drop(gone);
    until_parked(&mut admin, 1).await;
    // The element goes to the client still there, and nothing is lost.
    let _: i64 = cmd(&mut admin, &["RPUSH", "k", "v"]).await;
    next.expect(b"*2\r\n$1\r\nk\r\n$1\r\nv\r\n").await;
    until_parked(&mut admin, 0).await;
    assert_eq!(cmd::<i64>(&mut admin, &["EXISTS", "k"]).await, 0);
    // CLIENT KILL ends a blocked client too.
    let mut killed = s.raw().await;
    killed.cmd(&[b"CLIENT", b"ID"]).await;
    let id = killed.read_until(b"\r\n").await;
    let id = String::from_utf8_lossy(&id[1..id.len() - 2]).into_owned();
    killed.cmd(&[b"BLPOP", b"k", b"0"]).await;
    until_parked(&mut admin, 1).await;
    let n: i64 = cmd(&mut admin, &["CLIENT", "KILL", "ID", &id]).await;
    assert_eq!(n, 1);
    until_parked(&mut admin, 0).await;
    assert!(killed.closed().await);
}

#[test]
fn blocking_commands_in_a_group_answer_at_once() {
    let s = TestServer::start();
    let (out, client) = group_replies(
        &s,
        &[
            &[b"BLPOP", b"empty", b"0"],
            &[b"BLMOVE", b"empty", b"d", b"LEFT", b"LEFT", b"0"],
            &[b"BLMPOP", b"0", b"1", b"empty", b"LEFT"],
            &[b"RPUSH", b"full", b"x"],
            &[b"BRPOP", b"full", b"0"],
        ],
    );
    assert_eq!(
        out,
        "*-1\r\n$-1\r\n*-1\r\n:1\r\n*2\r\n$4\r\nfull\r\n$1\r\nx\r\n"
    );
    assert!(client.parked.is_none());
}

#[tokio::test]
async fn list_config_knobs_and_the_ziplist_alias() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let got: std::collections::HashMap<String, String> =
        cmd(&mut c, &["CONFIG", "GET", "list-*"]).await;
    let want: std::collections::HashMap<String, String> = [
        ("list-max-listpack-size", "-2"),
        ("list-max-ziplist-size", "-2"),
        ("list-compress-depth", "0"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(got, want);
    // The alias and the name are one setting.
    let _: () = cmd(&mut c, &["CONFIG", "SET", "list-max-ziplist-size", "5"]).await;
    let got: Vec<String> = cmd(&mut c, &["CONFIG", "GET", "list-max-listpack-size"]).await;
    assert_eq!(got, ["list-max-listpack-size", "5"]);
    let _: () = cmd(&mut c, &["CONFIG", "SET", "list-max-listpack-size", "-3"]).await;
    let got: Vec<String> = cmd(&mut c, &["CONFIG", "GET", "list-max-ziplist-size"]).await;
    assert_eq!(got, ["list-max-ziplist-size", "-3"]);
    let _: () = cmd(&mut c, &["CONFIG", "SET", "list-compress-depth", "2"]).await;
    // Redis's range checks and texts.
    assert_eq!(
        err(&mut c, &["CONFIG", "SET", "list-compress-depth", "-1"]).await,
        "ERR CONFIG SET failed (possibly related to argument 'list-compress-depth') - \
         argument must be between 0 and 2147483647 inclusive"
    );
    assert_eq!(
        err(&mut c, &["CONFIG", "SET", "list-max-listpack-size", "abc"]).await,
        "ERR CONFIG SET failed (possibly related to argument 'list-max-listpack-size') - \
         argument couldn't be parsed into an integer"
    );
    // Lists work the same whatever they say.
    let _: i64 = cmd(&mut c, &["RPUSH", "l", "a", "b"]).await;
    assert_eq!(range(&mut c, "l").await, ["a", "b"]);
}
