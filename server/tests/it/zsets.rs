//! Sorted set commands (ZADD ... ZSCAN, BZPOPMIN/BZPOPMAX/BZMPOP): replies compared
//! byte for byte with a real redis-server 7.0.15 (a scripted session of every command,
//! option, error and boundary, in RESP2 and RESP3, and seeded random operation
//! sequences over small and large sets), then what a comparison cannot show: the
//! encodings and their config knobs, the life of a sorted set as a key (TYPE, COPY
//! copy-on-write, RENAME, MOVE, TTL, SCAN TYPE, MEMORY USAGE, snapshots), ZSCAN and
//! ZRANDMEMBER over large sets, and blocking pops with several clients.
//!
//! These tests need `redis-server` 7.0 (as `command_docs.rs` and `persistence.rs`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::Value;
use tokio::io::AsyncReadExt;

use crate::common::*;

type Conn = redis::aio::MultiplexedConnection;

// ---------------------------------------------------------------------------------
// A redis-server to compare with, and a client that reads any reply as bytes
// ---------------------------------------------------------------------------------

/// Runs `script` on both servers (after FLUSHALL, in RESP3 when asked) and returns
/// the commands whose replies differ, with both replies.
async fn differences(shoal: u16, redis: u16, resp3: bool, script: &[Vec<String>]) -> Vec<String> {
    let (mut a, mut b) = (
        Wire::connect(("127.0.0.1", shoal)),
        Wire::connect(("127.0.0.1", redis)),
    );
    for w in [&mut a, &mut b] {
        w.call(&["FLUSHALL"]);
        if resp3 {
            w.call(&["HELLO", "3"]);
        }
    }
    let mut diffs = Vec::new();
    for c in script {
        let args: Vec<&str> = c.iter().map(String::as_str).collect();
        let (x, y) = (a.call(&args), b.call(&args));
        if x != y {
            diffs.push(format!(
                "{args:?}\n  shoal: {}\n  redis: {}",
                String::from_utf8_lossy(&x),
                String::from_utf8_lossy(&y)
            ));
        }
    }
    diffs
}

/// Every command, option, error and boundary of the family (deterministic replies).
const SCRIPT: &[&[&str]] = &[
    &["BZPOPMIN", "zz", "1e20"],
    &["BZPOPMIN", "zz", "inf"],
    &["BZPOPMIN", "zz", "-inf"],
    &["BZPOPMIN", "zz", " 1"],
    &["BZPOPMIN", "zz", "1e400"],
    &["BZPOPMIN", "zz", "nan"],
    &["BZPOPMIN", "zz", "abc"],
    &["BZPOPMIN", "zz", ""],
    &["BZMPOP", "1e20", "1", "zz", "MIN"],
    &["COMMAND", "GETKEYS", "ZUNION", "2", "a", "b", "WITHSCORES"],
    &["COMMAND", "GETKEYS", "ZUNIONSTORE", "d", "2", "a", "b"],
    &["COMMAND", "GETKEYS", "ZMPOP", "2", "a", "b", "MIN"],
    &["COMMAND", "GETKEYS", "BZMPOP", "0", "2", "a", "b", "MIN"],
    &["COMMAND", "GETKEYS", "BZPOPMIN", "a", "b", "0"],
    &["COMMAND", "GETKEYS", "ZRANGESTORE", "d", "s", "0", "1"],
    &["COMMAND", "GETKEYS", "ZINTERCARD", "2", "a", "b"],
    &["ZADD", "z", "1", "a", "2", "b", "3", "c"],
    &["ZADD", "z", "nx", "xx", "1", "a"],
    &["ZADD", "z", "gt", "nx", "1", "a"],
    &["ZADD", "z", "incr", "1", "a", "2", "b"],
    &["ZADD", "z", "abc", "a"],
    &["ZADD", "z", "nx"],
    &["ZADD", "z", "1", "a", "5", "b", "4", "d"],
    &["ZADD", "z", "ch", "1", "a", "6", "b"],
    &["ZADD", "z", "xx", "ch", "10", "a", "10", "nope"],
    &["ZADD", "z", "gt", "ch", "5", "a", "20", "b"],
    &["ZADD", "z", "lt", "ch", "5", "a", "30", "b"],
    &["ZADD", "z", "incr", "1", "a"],
    &["ZADD", "z", "incr", "inf", "a"],
    &["ZADD", "z", "incr", "-inf", "a"],
    &["ZADD", "z", "nx", "incr", "1", "a"],
    &["ZADD", "z", "xx", "incr", "1", "nope"],
    &["ZADD", "new", "xx", "1", "a"],
    &["EXISTS", "new"],
    &[
        "ZADD", "z", "0x10", "hex", "1e3", "e", ".5", "half", "-0", "nz", "+inf", "pinf",
    ],
    &["ZADD", "z", " 1", "bad"],
    &["ZADD", "z", "1e400", "bad"],
    &["ZINCRBY", "z", "abc", "a"],
    &["ZINCRBY", "z", "2.5", "fresh"],
    &["ZINCRBY", "z", "0.1", "fresh"],
    &["ZSCORE", "z", "fresh"],
    &["ZSCORE", "z", "nope"],
    &["ZSCORE", "nokey", "a"],
    &["ZMSCORE", "z", "a", "nope", "b"],
    &["ZMSCORE", "nokey", "a"],
    &["ZCARD", "z"],
    &["ZCARD", "nokey"],
    &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
    &["ZRANGE", "z", "0", "-1"],
    &["ZRANGE", "z", "-3", "-1", "WITHSCORES"],
    &["ZRANGE", "z", "1", "0"],
    &["ZRANGE", "z", "100", "200"],
    &["ZRANGE", "z", "0", "1", "REV", "WITHSCORES"],
    &["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "WITHSCORES"],
    &["ZRANGE", "z", "(1", "(10", "BYSCORE"],
    &[
        "ZRANGE", "z", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", "1", "2",
    ],
    &["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "-1", "2"],
    &["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "2", "-1"],
    &["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "20", "1"],
    &["ZRANGE", "z", "0", "1", "LIMIT", "0", "1"],
    &["ZRANGE", "z", "0", "1", "LIMIT", "0", "-1"],
    &["ZRANGE", "z", "a", "b", "BYLEX", "WITHSCORES"],
    &["ZRANGE", "z", "0", "1", "BYLEX"],
    &["ZRANGE", "z", "0", "1", "foo"],
    &["ZRANGE", "z", "0", "1", "BYSCORE", "BYLEX"],
    &["ZRANGE", "z", "0", "1", "REV", "REV"],
    &["ZRANGE", "z", "abc", "1"],
    &["ZRANGE", "z", "abc", "1", "BYSCORE"],
    &["ZREVRANGE", "z", "0", "2", "WITHSCORES"],
    &["ZREVRANGE", "z", "0", "2", "REV"],
    &["ZREVRANGE", "z", "0", "2", "LIMIT", "0", "1"],
    &[
        "ZRANGEBYSCORE",
        "z",
        "-inf",
        "+inf",
        "WITHSCORES",
        "LIMIT",
        "1",
        "3",
    ],
    &["ZRANGEBYSCORE", "z", "abc", "1"],
    &["ZRANGEBYSCORE", "z", "0", "10", "LIMIT", "0"],
    &["ZRANGEBYSCORE", "z", "0", "10", "BYSCORE"],
    &["ZREVRANGEBYSCORE", "z", "+inf", "-inf", "WITHSCORES"],
    &["ZREVRANGEBYSCORE", "z", "10", "(1", "LIMIT", "1", "1"],
    &["ZCOUNT", "z", "-inf", "+inf"],
    &["ZCOUNT", "z", "(1", "3"],
    &["ZCOUNT", "z", "", "", ""],
    &["ZCOUNT", "z", "(", "("],
    &["ZCOUNT", "z", " 1", "3"],
    &["ZCOUNT", "z", "1 ", "3"],
    &["ZCOUNT", "z", "nan", "1"],
    &["ZCOUNT", "z", "1e400", "inf"],
    &["ZCOUNT", "z", "0x1", "3"],
    &["ZRANK", "z", "a"],
    &["ZRANK", "z", "nope"],
    &["ZREVRANK", "z", "a"],
    &["ZRANK", "nokey", "a"],
    &["ZREM", "z", "a", "nope", "b"],
    &["ZREM", "nokey", "a"],
    &[
        "ZADD", "lex", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e", "0", "f",
    ],
    &["ZRANGEBYLEX", "lex", "-", "+"],
    &["ZRANGEBYLEX", "lex", "[b", "(e"],
    &["ZRANGEBYLEX", "lex", "(b", "[e", "LIMIT", "1", "2"],
    &["ZRANGEBYLEX", "lex", "a", "b"],
    &["ZRANGEBYLEX", "lex", "[a", "("],
    &["ZREVRANGEBYLEX", "lex", "+", "-", "LIMIT", "0", "2"],
    &["ZREVRANGEBYLEX", "lex", "[e", "(b"],
    &["ZLEXCOUNT", "lex", "-", "+"],
    &["ZLEXCOUNT", "lex", "[c", "+"],
    &["ZLEXCOUNT", "lex", "-x", "+"],
    &["ZLEXCOUNT", "lex", "+", "-"],
    &["ZRANGE", "lex", "[a", "[c", "BYLEX", "REV"],
    &["ZRANGE", "lex", "[c", "[a", "BYLEX", "REV"],
    &["ZREMRANGEBYLEX", "lex", "[b", "[c"],
    &["ZRANGE", "lex", "0", "-1"],
    &["ZREMRANGEBYRANK", "lex", "0", "0"],
    &["ZREMRANGEBYRANK", "lex", "a", "1"],
    &["ZREMRANGEBYSCORE", "lex", "-inf", "+inf"],
    &["EXISTS", "lex"],
    &[
        "ZADD", "p", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e",
    ],
    &["ZPOPMIN", "p"],
    &["ZPOPMAX", "p", "2"],
    &["ZPOPMIN", "p", "0"],
    &["ZPOPMIN", "p", "-1"],
    &["ZPOPMIN", "p", "abc"],
    &["ZPOPMIN", "p", "1", "2"],
    &["ZPOPMIN", "nokey"],
    &["ZPOPMIN", "nokey", "3"],
    &["ZMPOP", "1", "p", "MIN"],
    &["ZMPOP", "2", "nokey", "p", "MAX", "COUNT", "5"],
    &["EXISTS", "p"],
    &["ZMPOP", "1", "p", "MIN"],
    &["ZMPOP", "0", "p", "MIN"],
    &["ZMPOP", "abc", "p", "MIN"],
    &["ZMPOP", "1", "p", "foo"],
    &["ZMPOP", "1", "p", "MIN", "COUNT", "0"],
    &["ZMPOP", "1", "p", "MIN", "COUNT", "abc"],
    &["ZMPOP", "1", "p", "MIN", "COUNT", "1", "COUNT", "1"],
    &["ZMPOP", "5", "p", "MIN"],
    &["SET", "s", "x"],
    &["ZADD", "s", "1", "a"],
    &["ZSCORE", "s", "a"],
    &["ZRANGE", "s", "0", "1"],
    &["ZPOPMIN", "s"],
    &["ZMPOP", "2", "nokey", "s", "MIN"],
    &["ZADD", "u1", "1", "a", "2", "b", "3", "c"],
    &["ZADD", "u2", "10", "b", "20", "c", "30", "d"],
    &["ZUNION", "2", "u1", "u2", "WITHSCORES"],
    &[
        "ZUNION",
        "2",
        "u1",
        "u2",
        "WEIGHTS",
        "2",
        "0.5",
        "WITHSCORES",
    ],
    &["ZUNION", "2", "u1", "u2", "AGGREGATE", "MIN", "WITHSCORES"],
    &["ZUNION", "2", "u1", "u2", "AGGREGATE", "MAX"],
    &["ZINTER", "2", "u1", "u2", "WITHSCORES"],
    &["ZINTER", "2", "u1", "nokey"],
    &["ZDIFF", "2", "u1", "u2", "WITHSCORES"],
    &["ZDIFF", "1", "nokey"],
    &["ZUNIONSTORE", "dst", "2", "u1", "u2"],
    &["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
    &["ZINTERSTORE", "dst", "2", "u1", "u2", "WEIGHTS", "1", "2"],
    &["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
    &["ZINTERSTORE", "dst", "2", "u1", "nokey"],
    &["EXISTS", "dst"],
    &["ZDIFFSTORE", "dst", "2", "u1", "u2"],
    &["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
    &["ZUNIONSTORE", "d", "0", "z"],
    &["ZUNIONSTORE", "d", "-1", "z"],
    &["ZUNIONSTORE", "d", "3", "z"],
    &["ZUNIONSTORE", "d", "abc", "z"],
    &["ZUNIONSTORE", "d", "1", "z", "WEIGHTS", "abc"],
    &["ZUNIONSTORE", "d", "1", "z", "WEIGHTS", "1", "2"],
    &["ZUNIONSTORE", "d", "1", "z", "AGGREGATE", "foo"],
    &["ZUNIONSTORE", "d", "1", "z", "WITHSCORES"],
    &["ZUNIONSTORE", "d", "2", "s", "z", "foo"],
    &["ZUNION", "2", "z", "s", "foo"],
    &["ZDIFF", "2", "u1", "u2", "WEIGHTS", "1", "1"],
    &["ZINTERCARD", "2", "u1", "u2"],
    &["ZINTERCARD", "2", "u1", "u2", "LIMIT", "1"],
    &["ZINTERCARD", "2", "u1", "u2", "LIMIT", "0"],
    &["ZINTERCARD", "0", "u1"],
    &["ZINTERCARD", "1", "u1", "LIMIT", "-1"],
    &["ZINTERCARD", "1", "u1", "LIMIT", "abc"],
    &["ZINTERCARD", "3", "u1"],
    &["ZINTERCARD", "1", "s"],
    &["ZRANGESTORE", "rs", "u1", "0", "-1"],
    &["ZRANGE", "rs", "0", "-1", "WITHSCORES"],
    &[
        "ZRANGESTORE",
        "rs",
        "u1",
        "(1",
        "+inf",
        "BYSCORE",
        "LIMIT",
        "0",
        "1",
    ],
    &["ZRANGE", "rs", "0", "-1", "WITHSCORES"],
    &["ZRANGESTORE", "rs", "u1", "5", "6"],
    &["EXISTS", "rs"],
    &["ZRANGESTORE", "rs", "u1", "0", "-1", "WITHSCORES"],
    &["ZRANGESTORE", "rs", "nokey", "0", "-1"],
    &["ZRANDMEMBER", "nokey"],
    &["ZRANDMEMBER", "nokey", "5"],
    &["ZRANDMEMBER", "u1", "0"],
    &["ZRANDMEMBER", "u1", "abc"],
    &["ZRANDMEMBER", "u1", "-9223372036854775808"],
    &["ZRANDMEMBER", "u1", "1", "foo"],
    &["ZRANDMEMBER", "s"],
    &["ZSCAN", "u1", "0"],
    &["ZSCAN", "u1", "abc"],
    &["ZSCAN", "nokey", "0"],
    &["ZSCAN", "u1", "0", "COUNT", "0"],
    &["ZSCAN", "u1", "0", "MATCH", "a*"],
    &["BZPOPMIN", "u1", "0"],
    &["BZPOPMAX", "u1", "nokey", "0"],
    &["BZPOPMIN", "u1", "abc"],
    &["BZPOPMIN", "u1", "-1"],
    &["BZMPOP", "0", "1", "u1", "MIN", "COUNT", "5"],
    &["BZMPOP", "-1", "1", "u1", "MIN"],
    &["BZMPOP", "0", "0", "u1", "MIN"],
    &["TYPE", "u2"],
    &["OBJECT", "ENCODING", "u2"],
    &[
        "ZADD",
        "long",
        "1",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    ],
    &["OBJECT", "ENCODING", "long"],
    &[
        "ZADD", "big", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "6", "f", "7", "g", "8",
        "h", "9", "i", "10", "j",
    ],
];

fn owned(script: &[&[&str]]) -> Vec<Vec<String>> {
    script
        .iter()
        .map(|c| c.iter().map(|s| s.to_string()).collect())
        .collect()
}

#[tokio::test]
async fn replies_match_redis_byte_for_byte_resp2_and_resp3() {
    let redis = RedisServer::start();
    let s = TestServer::start();
    let script = owned(SCRIPT);
    for resp3 in [false, true] {
        let diffs = differences(s.addr.port(), redis.port, resp3, &script).await;
        assert!(diffs.is_empty(), "resp3 {resp3}:\n{}", diffs.join("\n"));
    }
}

/// A small deterministic generator (xorshift), so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len() as u64) as usize]
    }
}

/// A random sequence of writes and reads over three keys. `members` sets how large
/// the sets grow (past 128 they take the tree form); `lex` adds lexicographical
/// range commands (only meaningful for sets of equal scores: Redis's answer for
/// mixed scores depends on its skiplist's random levels, so those run with equal
/// scores only).
fn random_script(seed: u64, n: usize, members: u64, lex: bool) -> Vec<Vec<String>> {
    let mut r = Rng(seed);
    let keys = ["k1", "k2", "k3"];
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let k = r.pick(&keys).to_string();
        let mut r2 = Rng(r.next() | 1);
        let num = |r2: &mut Rng| match r2.below(5) {
            0 => "inf".to_string(),
            1 => "-inf".to_string(),
            2 => format!("{:.3}", (r2.below(10_000) as f64 - 5000.0) / 100.0),
            _ => format!("{}", r2.below(100) as i64 - 50),
        };
        let score = |r2: &mut Rng| {
            if lex {
                "0".to_string()
            } else {
                num(r2)
            }
        };
        let bound = |r2: &mut Rng| {
            let b = format!("{}", r2.below(100) as i64 - 50);
            match r2.below(4) {
                0 => format!("({b}"),
                1 => "-inf".to_string(),
                2 => "+inf".to_string(),
                _ => b,
            }
        };
        let lexb = |r2: &mut Rng| match r2.below(4) {
            0 => "-".to_string(),
            1 => "+".to_string(),
            2 => format!("[m{}", r2.below(members)),
            _ => format!("(m{}", r2.below(members)),
        };
        let idx = |r2: &mut Rng| format!("{}", r2.below(600) as i64 - 300);
        let other = r2.pick(&keys).to_string();
        let third = r2.pick(&keys).to_string();
        let c: Vec<String> = match r2.below(24) {
            0..=6 => {
                let mut c = vec!["ZADD".to_string(), k.clone()];
                let flags: &[&str] = match r2.below(7) {
                    0 => &["NX"],
                    1 => &["XX"],
                    2 => &["GT", "CH"],
                    3 => &["LT"],
                    4 => &["CH"],
                    _ => &[],
                };
                c.extend(flags.iter().map(|f| f.to_string()));
                for _ in 0..=r2.below(5) {
                    c.push(score(&mut r2));
                    c.push(format!("m{}", r2.below(members)));
                }
                c
            }
            7 => vec![
                "ZINCRBY".into(),
                k,
                score(&mut r2),
                format!("m{}", r2.below(members)),
            ],
            8 => vec![
                "ZREM".into(),
                k,
                format!("m{}", r2.below(members)),
                format!("m{}", r2.below(members)),
            ],
            9 => vec![
                "ZRANGE".into(),
                k,
                idx(&mut r2),
                idx(&mut r2),
                "WITHSCORES".into(),
            ],
            10 => vec!["ZREVRANGE".into(), k, idx(&mut r2), idx(&mut r2)],
            11 => {
                let mut c = vec![
                    "ZRANGE".into(),
                    k,
                    bound(&mut r2),
                    bound(&mut r2),
                    "BYSCORE".into(),
                ];
                if r2.below(2) == 0 {
                    c.push("REV".into());
                }
                if r2.below(2) == 0 {
                    c.extend([
                        "LIMIT".into(),
                        format!("{}", r2.below(20) as i64 - 1),
                        format!("{}", r2.below(20) as i64 - 1),
                    ]);
                }
                c.push("WITHSCORES".into());
                c
            }
            12 => vec!["ZCOUNT".into(), k, bound(&mut r2), bound(&mut r2)],
            13 => vec![
                r2.pick(&["ZRANK", "ZREVRANK", "ZSCORE"]).into(),
                k,
                format!("m{}", r2.below(members)),
            ],
            14 => vec![
                r2.pick(&["ZPOPMIN", "ZPOPMAX"]).into(),
                k,
                format!("{}", r2.below(4)),
            ],
            15 => vec!["ZREMRANGEBYRANK".into(), k, idx(&mut r2), idx(&mut r2)],
            16 => vec!["ZREMRANGEBYSCORE".into(), k, bound(&mut r2), bound(&mut r2)],
            17 => vec![
                r2.pick(&["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"])
                    .into(),
                k,
                "2".into(),
                other,
                third,
            ],
            18 => vec![
                r2.pick(&["ZUNION", "ZINTER"]).into(),
                "2".into(),
                other,
                third,
                "WEIGHTS".into(),
                num(&mut r2),
                num(&mut r2),
                "AGGREGATE".into(),
                r2.pick(&["SUM", "MIN", "MAX"]).into(),
                "WITHSCORES".into(),
            ],
            19 => vec![
                "ZMPOP".into(),
                "2".into(),
                k,
                other,
                r2.pick(&["MIN", "MAX"]).into(),
                "COUNT".into(),
                format!("{}", 1 + r2.below(3)),
            ],
            20 => vec!["ZRANGESTORE".into(), other, k, idx(&mut r2), idx(&mut r2)],
            21 if lex => vec![
                r2.pick(&["ZRANGEBYLEX", "ZREVRANGEBYLEX", "ZLEXCOUNT"])
                    .into(),
                k,
                lexb(&mut r2),
                lexb(&mut r2),
            ],
            22 if lex => vec!["ZREMRANGEBYLEX".into(), k, lexb(&mut r2), lexb(&mut r2)],
            _ => vec![
                "ZINTERCARD".into(),
                "2".into(),
                k,
                other,
                "LIMIT".into(),
                format!("{}", r2.below(50)),
            ],
        };
        out.push(c);
        out.push(vec![
            "OBJECT".into(),
            "ENCODING".into(),
            keys[r.below(3) as usize].into(),
        ]);
    }
    for k in keys {
        out.push(vec![
            "ZRANGE".into(),
            k.into(),
            "0".into(),
            "-1".into(),
            "WITHSCORES".into(),
        ]);
    }
    out
}

#[tokio::test]
async fn random_operations_match_redis_on_small_and_large_sets() {
    let redis = RedisServer::start();
    let s = TestServer::start();
    for (seed, members, lex) in [(1, 60, false), (2, 1500, false), (3, 400, true)] {
        let script = random_script(seed, 2500, members, lex);
        let diffs = differences(s.addr.port(), redis.port, seed == 2, &script).await;
        assert!(
            diffs.is_empty(),
            "seed {seed}: {} differences, first:\n{}",
            diffs.len(),
            diffs[..diffs.len().min(3)].join("\n")
        );
    }
    // Small limits on both: sets convert often, stores pack and unpack.
    for port in [s.addr.port(), redis.port] {
        let mut w = Wire::connect(("127.0.0.1", port));
        w.call(&["CONFIG", "SET", "zset-max-listpack-entries", "8"]);
        w.call(&["CONFIG", "SET", "zset-max-listpack-value", "3"]);
    }
    let script = random_script(4, 2500, 2000, false);
    let diffs = differences(s.addr.port(), redis.port, false, &script).await;
    assert!(
        diffs.is_empty(),
        "small limits: {} differences, first:\n{}",
        diffs.len(),
        diffs[..diffs.len().min(3)].join("\n")
    );
}

// ---------------------------------------------------------------------------------
// Encodings and their knobs
// ---------------------------------------------------------------------------------

async fn encoding(c: &mut Conn, key: &str) -> String {
    cmd::<String>(c, &["OBJECT", "ENCODING", key]).await
}

async fn zadd_n(c: &mut Conn, key: &str, n: usize) {
    let mut args = vec!["ZADD".to_string(), key.to_string()];
    for i in 0..n {
        args.push(i.to_string());
        args.push(format!("m{i}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    cmd::<i64>(c, &args).await;
}

#[tokio::test]
async fn encodings_follow_the_listpack_limits_and_their_config() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    zadd_n(&mut c, "small", 128).await;
    assert_eq!(encoding(&mut c, "small").await, "listpack");
    zadd_n(&mut c, "big", 129).await;
    assert_eq!(encoding(&mut c, "big").await, "skiplist");
    cmd::<i64>(&mut c, &["ZADD", "long", "1", &"x".repeat(65)]).await;
    assert_eq!(encoding(&mut c, "long").await, "skiplist");
    cmd::<i64>(&mut c, &["ZADD", "edge", "1", &"x".repeat(64)]).await;
    assert_eq!(encoding(&mut c, "edge").await, "listpack");
    // Never back: removing members keeps the tree form.
    cmd::<i64>(&mut c, &["ZREMRANGEBYRANK", "big", "0", "120"]).await;
    assert_eq!(encoding(&mut c, "big").await, "skiplist");
    // A store builds a new set: packed when it fits.
    cmd::<i64>(&mut c, &["ZUNIONSTORE", "u", "1", "big"]).await;
    assert_eq!(encoding(&mut c, "u").await, "listpack");

    // The knobs and their old names are one setting each.
    let got: Vec<String> = cmd(&mut c, &["CONFIG", "GET", "zset-max-*"]).await;
    let mut pairs: Vec<(String, String)> = got
        .chunks(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect();
    pairs.sort();
    assert_eq!(
        pairs,
        [
            ("zset-max-listpack-entries".to_string(), "128".to_string()),
            ("zset-max-listpack-value".into(), "64".into()),
            ("zset-max-ziplist-entries".into(), "128".into()),
            ("zset-max-ziplist-value".into(), "64".into()),
        ]
    );
    cmd::<()>(&mut c, &["CONFIG", "SET", "zset-max-ziplist-entries", "4"]).await;
    let got: Vec<String> = cmd(&mut c, &["CONFIG", "GET", "zset-max-listpack-entries"]).await;
    assert_eq!(got, ["zset-max-listpack-entries", "4"]);
    zadd_n(&mut c, "four", 4).await;
    assert_eq!(encoding(&mut c, "four").await, "listpack");
    cmd::<i64>(&mut c, &["ZADD", "four", "9", "fifth"]).await;
    assert_eq!(encoding(&mut c, "four").await, "skiplist");
    cmd::<()>(&mut c, &["CONFIG", "SET", "zset-max-listpack-value", "2"]).await;
    // A member already in a packed set may be updated whatever its length.
    cmd::<i64>(&mut c, &["ZADD", "edge", "5", &"x".repeat(64)]).await;
    assert_eq!(encoding(&mut c, "edge").await, "listpack");
    cmd::<i64>(&mut c, &["ZADD", "edge", "5", "ab"]).await;
    assert_eq!(encoding(&mut c, "edge").await, "listpack");
    cmd::<i64>(&mut c, &["ZADD", "v", "1", "abc"]).await;
    assert_eq!(encoding(&mut c, "v").await, "skiplist");
    cmd::<()>(&mut c, &["CONFIG", "SET", "zset-max-listpack-entries", "0"]).await;
    cmd::<i64>(&mut c, &["ZADD", "zero", "1", "a"]).await;
    assert_eq!(encoding(&mut c, "zero").await, "skiplist");
    assert_eq!(
        err(
            &mut c,
            &["CONFIG", "SET", "zset-max-listpack-entries", "-1"]
        )
        .await,
        "ERR CONFIG SET failed (possibly related to argument 'zset-max-listpack-entries') - \
         argument must be between 0 and 9223372036854775807 inclusive"
    );
    assert_eq!(
        err(&mut c, &["CONFIG", "SET", "zset-max-listpack-value", "abc"]).await,
        "ERR CONFIG SET failed (possibly related to argument 'zset-max-listpack-value') - \
         argument must be a memory value"
    );
}

// ---------------------------------------------------------------------------------
// A sorted set as a key
// ---------------------------------------------------------------------------------

fn zset_object(s: &TestServer, key: &str) -> Arc<shoal_storage::Object> {
    let db = s.handle().shared().keyspace.db(0);
    let h = db.hash(key.as_bytes());
    let mut g = db.lock(h);
    let e = g
        .get(h, key.as_bytes(), shoal_server::state::now_ms())
        .expect("key");
    Arc::clone(e.object().expect("object"))
}

async fn members(c: &mut Conn, key: &str) -> Vec<String> {
    cmd(c, &["ZRANGE", key, "0", "-1", "WITHSCORES"]).await
}

#[tokio::test]
async fn generic_commands_treat_sorted_sets_like_hashes() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    for (key, n) in [("small", 5), ("big", 300)] {
        zadd_n(&mut c, key, n).await;
        assert_eq!(cmd::<String>(&mut c, &["TYPE", key]).await, "zset");
        let copy = format!("{key}-copy");
        assert_eq!(cmd::<i64>(&mut c, &["COPY", key, &copy]).await, 1);
        assert!(Arc::ptr_eq(&zset_object(&s, key), &zset_object(&s, &copy)));
        let before = members(&mut c, key).await;
        cmd::<i64>(&mut c, &["ZADD", &copy, "-5", "m1", "7", "new"]).await;
        cmd::<i64>(&mut c, &["ZREM", &copy, "m2"]).await;
        assert!(!Arc::ptr_eq(&zset_object(&s, key), &zset_object(&s, &copy)));
        assert_eq!(
            members(&mut c, key).await,
            before,
            "the original is untouched"
        );
        assert_eq!(
            cmd::<Option<f64>>(&mut c, &["ZSCORE", &copy, "m1"]).await,
            Some(-5.0)
        );
        assert_eq!(cmd::<i64>(&mut c, &["ZCARD", &copy]).await, n as i64);
        assert_eq!(encoding(&mut c, &copy).await, encoding(&mut c, key).await);
        let usage: i64 = cmd(&mut c, &["MEMORY", "USAGE", key]).await;
        assert!(usage > (n * 8) as i64, "{key}: {usage}");
    }
    // TTLs survive member changes; an emptied set disappears with its TTL.
    cmd::<i64>(&mut c, &["EXPIRE", "small", "1000"]).await;
    cmd::<i64>(&mut c, &["ZADD", "small", "100", "x"]).await;
    assert!(cmd::<i64>(&mut c, &["TTL", "small"]).await > 900);
    cmd::<i64>(&mut c, &["ZREMRANGEBYRANK", "small", "0", "-1"]).await;
    assert_eq!(cmd::<i64>(&mut c, &["EXISTS", "small"]).await, 0);
    cmd::<i64>(&mut c, &["ZADD", "small", "1", "a"]).await;
    assert_eq!(cmd::<i64>(&mut c, &["TTL", "small"]).await, -1);
    // RENAME, MOVE, DEL, SCAN TYPE.
    cmd::<()>(&mut c, &["RENAME", "big", "renamed"]).await;
    assert_eq!(cmd::<i64>(&mut c, &["ZCARD", "renamed"]).await, 300);
    assert_eq!(cmd::<i64>(&mut c, &["MOVE", "renamed", "3"]).await, 1);
    cmd::<()>(&mut c, &["SET", "str", "v"]).await;
    let mut zsets = scan_all(&mut c, &["TYPE", "zset"]).await;
    zsets.sort();
    assert_eq!(zsets, ["big-copy", "small", "small-copy"]);
    assert_eq!(
        cmd::<i64>(&mut c, &["DEL", "small-copy", "big-copy"]).await,
        2
    );
    cmd::<()>(&mut c, &["SELECT", "3"]).await;
    assert_eq!(cmd::<i64>(&mut c, &["ZCARD", "renamed"]).await, 300);
    // A short TTL: gone after it passes.
    cmd::<i64>(&mut c, &["PEXPIRE", "renamed", "30"]).await;
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(cmd::<i64>(&mut c, &["ZCARD", "renamed"]).await, 0);
    assert_eq!(cmd::<i64>(&mut c, &["EXISTS", "renamed"]).await, 0);
}

#[tokio::test]
async fn snapshots_keep_their_view_of_a_large_set() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    zadd_n(&mut c, "z", 5000).await;
    let name: String = cmd(&mut c, &["SNAPSHOT", "CREATE", "before"]).await;
    assert_eq!(name, "before");
    cmd::<i64>(&mut c, &["ZADD", "z", "-1", "m4999", "1", "new"]).await;
    cmd::<i64>(&mut c, &["ZREMRANGEBYRANK", "z", "100", "-1"]).await;
    assert_eq!(cmd::<i64>(&mut c, &["ZCARD", "z"]).await, 100);
    let mut view = s.conn().await;
    cmd::<()>(&mut view, &["SNAPSHOT", "READ", "before"]).await;
    assert_eq!(cmd::<i64>(&mut view, &["ZCARD", "z"]).await, 5000);
    assert_eq!(
        cmd::<Option<i64>>(&mut view, &["ZRANK", "z", "m4999"]).await,
        Some(4999)
    );
    assert_eq!(
        cmd::<Option<f64>>(&mut view, &["ZSCORE", "z", "new"]).await,
        None
    );
    let top: Vec<String> = cmd(&mut view, &["ZREVRANGE", "z", "0", "0"]).await;
    assert_eq!(top, ["m4999"]);
    assert!(err(&mut view, &["ZADD", "z", "1", "x"])
        .await
        .starts_with("READONLY"));
    assert_eq!(
        cmd::<Option<i64>>(&mut c, &["ZRANK", "z", "m4999"]).await,
        Some(0)
    );
}

// ---------------------------------------------------------------------------------
// ZSCAN and ZRANDMEMBER over large sets
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn zscan_visits_every_member_of_a_large_set_once_with_its_score() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    zadd_n(&mut c, "z", 3000).await;
    let mut seen = std::collections::HashMap::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let (next, items): (String, Vec<String>) =
            cmd(&mut c, &["ZSCAN", "z", &cursor, "COUNT", "50"]).await;
        for p in items.chunks(2) {
            seen.insert(p[0].clone(), p[1].clone());
        }
        calls += 1;
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    assert!(calls > 10, "{calls} calls");
    assert_eq!(seen.len(), 3000);
    assert_eq!(seen["m1234"], "1234");
    let (_, items): (String, Vec<String>) = cmd(
        &mut c,
        &["ZSCAN", "z", "0", "MATCH", "m1?", "COUNT", "100000"],
    )
    .await;
    let mut matched: Vec<&String> = items.iter().step_by(2).collect();
    matched.sort();
    assert_eq!(matched.len(), 10);
}

#[tokio::test]
async fn zrandmember_samples_large_sets() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    zadd_n(&mut c, "z", 1000).await;
    for count in [5, 400, 999, 1000, 5000] {
        let got: Vec<String> = cmd(&mut c, &["ZRANDMEMBER", "z", &count.to_string()]).await;
        let distinct: std::collections::HashSet<&String> = got.iter().collect();
        assert_eq!(got.len(), count.min(1000));
        assert_eq!(distinct.len(), got.len(), "distinct for a positive count");
    }
    let got: Vec<String> = cmd(&mut c, &["ZRANDMEMBER", "z", "-3000"]).await;
    assert_eq!(got.len(), 3000);
    let got: Vec<String> = cmd(&mut c, &["ZRANDMEMBER", "z", "-4", "WITHSCORES"]).await;
    assert_eq!(got.len(), 8);
    for p in got.chunks(2) {
        assert_eq!(format!("m{}", p[1]), p[0]);
    }
    let mut c3 = s.conn3().await;
    let Value::Array(pairs) = cmd::<Value>(&mut c3, &["ZRANDMEMBER", "z", "3", "WITHSCORES"]).await
    else {
        panic!("an array")
    };
    assert!(pairs
        .iter()
        .all(|p| matches!(p, Value::Array(v) if v.len() == 2 && matches!(v[1], Value::Double(_)))));
    assert!(err(&mut c, &["ZRANDMEMBER", "z", "-9223372036854775807"])
        .await
        .contains("too large"));
}

// ---------------------------------------------------------------------------------
// Blocking pops
// ---------------------------------------------------------------------------------

async fn blocked_clients(c: &mut Conn) -> usize {
    let info: String = cmd(c, &["INFO", "clients"]).await;
    info.lines()
        .find_map(|l| l.strip_prefix("blocked_clients:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("blocked_clients")
}

async fn until_blocked(c: &mut Conn, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while blocked_clients(c).await != n {
        assert!(Instant::now() < deadline, "not {n} blocked clients");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn bzpopmin_waits_for_a_member_and_serves_clients_in_order() {
    let s = TestServer::start();
    let mut admin = s.conn().await;
    let mut first = s.raw().await;
    first.cmd(&[b"BZPOPMIN", b"a", b"z", b"0"]).await;
    until_blocked(&mut admin, 1).await;
    let mut second = s.raw().await;
    second.cmd(&[b"BZPOPMAX", b"z", b"0"]).await;
    until_blocked(&mut admin, 2).await;
    // A write to another key wakes nobody; a string on a watched key neither.
    cmd::<i64>(&mut admin, &["ZADD", "other", "1", "x"]).await;
    // One member: the first client gets it, the second keeps waiting.
    cmd::<i64>(&mut admin, &["ZADD", "z", "1.5", "m"]).await;
    first
        .expect(b"*3\r\n$1\r\nz\r\n$1\r\nm\r\n$3\r\n1.5\r\n")
        .await;
    until_blocked(&mut admin, 1).await;
    assert_eq!(
        cmd::<i64>(&mut admin, &["EXISTS", "z"]).await,
        0,
        "popped and gone"
    );
    cmd::<i64>(&mut admin, &["ZADD", "z", "1", "lo", "2", "hi"]).await;
    second
        .expect(b"*3\r\n$1\r\nz\r\n$2\r\nhi\r\n$1\r\n2\r\n")
        .await;
    until_blocked(&mut admin, 0).await;
    assert_eq!(members(&mut admin, "z").await, ["lo", "1"]);
    // Data already there: no blocking, and the first non-empty key in order.
    let got: Vec<String> = cmd(&mut admin, &["BZPOPMIN", "none", "other", "z", "0"]).await;
    assert_eq!(got, ["other", "x", "1"]);
}

#[tokio::test]
async fn blocking_pops_time_out_with_a_null_array_and_survive_a_client_leaving() {
    let s = TestServer::start();
    let mut admin = s.conn().await;
    let mut r = s.raw().await;
    r.cmd(&[b"BZPOPMIN", b"z", b"0.05"]).await;
    r.expect(b"*-1\r\n").await;
    let mut r3 = s.raw3().await;
    r3.cmd(&[b"BZMPOP", b"0.05", b"1", b"z", b"MIN"]).await;
    r3.expect(b"_\r\n").await;
    // A waiter that leaves hands its turn to the next one.
    let mut leaving = s.raw().await;
    leaving.cmd(&[b"BZPOPMIN", b"z", b"0"]).await;
    until_blocked(&mut admin, 1).await;
    let mut staying = s.raw().await;
    staying
        .cmd(&[b"BZMPOP", b"0", b"2", b"y", b"z", b"MAX", b"COUNT", b"2"])
        .await;
    until_blocked(&mut admin, 2).await;
    drop(leaving);
    until_blocked(&mut admin, 1).await;
    cmd::<i64>(&mut admin, &["ZADD", "z", "1", "a", "2", "b", "3", "c"]).await;
    staying
        .expect(b"*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n")
        .await;
    assert_eq!(members(&mut admin, "z").await, ["a", "1"]);
    // A key that becomes another type leaves the client waiting (Redis 7.0), until
    // it is a sorted set again.
    let mut w = s.raw().await;
    w.cmd(&[b"BZPOPMIN", b"s", b"0"]).await;
    until_blocked(&mut admin, 1).await;
    cmd::<()>(&mut admin, &["SET", "s", "v"]).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(blocked_clients(&mut admin).await, 1);
    cmd::<i64>(&mut admin, &["DEL", "s"]).await;
    cmd::<i64>(&mut admin, &["ZADD", "s", "4", "d"]).await;
    w.expect(b"*3\r\n$1\r\ns\r\n$1\r\nd\r\n$1\r\n4\r\n").await;
    until_blocked(&mut admin, 0).await;
    // But a first run on a key of another type is WRONGTYPE at once.
    cmd::<()>(&mut admin, &["SET", "str", "v"]).await;
    assert_eq!(
        err(&mut admin, &["BZPOPMIN", "nokey", "str", "0"]).await,
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    );
    // A timeout keeps its first deadline when woken for nothing: writes to its key
    // every 20 ms (each wakes it, it finds nothing and parks again) do not hold the
    // timeout off (were the deadline renewed at each wake, it would never come).
    let mut t = s.raw().await;
    t.cmd(&[b"BZPOPMIN", b"q", b"0.2"]).await;
    until_blocked(&mut admin, 1).await;
    let give_up = Instant::now() + Duration::from_secs(10);
    let mut got = Vec::new();
    while !got.ends_with(b"\r\n") {
        assert!(Instant::now() < give_up, "the timeout never came");
        cmd::<()>(&mut admin, &["SET", "q", "x"]).await;
        cmd::<i64>(&mut admin, &["DEL", "q"]).await;
        let mut buf = [0u8; 16];
        if let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_millis(20), t.stream.read(&mut buf)).await
        {
            got.extend_from_slice(&buf[..n]);
        }
    }
    assert_eq!(got, b"*-1\r\n");
}

#[tokio::test]
async fn blocking_pop_replies_in_resp3() {
    let s = TestServer::start();
    let mut admin = s.conn().await;
    let mut r = s.raw3().await;
    r.cmd(&[b"BZPOPMAX", b"z", b"0"]).await;
    until_blocked(&mut admin, 1).await;
    cmd::<i64>(&mut admin, &["ZADD", "z", "0.1", "a"]).await;
    r.expect(b"*3\r\n$1\r\nz\r\n$1\r\na\r\n,0.10000000000000001\r\n")
        .await;
}

// ---------------------------------------------------------------------------------
// Keyspace events, change counts, groups
// ---------------------------------------------------------------------------------

/// A command and the (key, event) pairs it must announce.
type Step = (
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
);

#[tokio::test]
async fn changes_are_announced_with_redis_event_names() {
    use shoal_server::changes::Change;
    use std::sync::Mutex;
    let log: Arc<Mutex<Vec<(String, &'static str)>>> = Arc::default();
    let sink = Arc::clone(&log);
    let s = TestServer::observed(Box::new(move |c: &Change<'_>| {
        if let Change::Key { key, event, .. } = *c {
            sink.lock()
                .unwrap()
                .push((String::from_utf8_lossy(key).into_owned(), event));
        }
    }));
    let mut c = s.conn().await;
    let steps: &[Step] = &[
        (
            &["ZADD", "z", "1", "a", "2", "b", "3", "c"],
            &[("z", "zadd")],
        ),
        (&["ZADD", "z", "1", "a"], &[]),
        (&["ZADD", "z", "INCR", "5", "a"], &[("z", "zincr")]),
        (&["ZINCRBY", "z", "1", "b"], &[("z", "zincr")]),
        (&["ZREM", "z", "nope"], &[]),
        (&["ZREM", "z", "a"], &[("z", "zrem")]),
        (&["ZPOPMIN", "z"], &[("z", "zpopmin")]),
        (&["ZPOPMAX", "z"], &[("z", "zpopmax"), ("z", "del")]),
        (
            &["ZADD", "z", "1", "a", "2", "b", "3", "c"],
            &[("z", "zadd")],
        ),
        (
            &["ZREMRANGEBYSCORE", "z", "3", "3"],
            &[("z", "zremrangebyscore")],
        ),
        (
            &["ZREMRANGEBYLEX", "z", "[a", "[a"],
            &[("z", "zremrangebylex")],
        ),
        (&["ZUNIONSTORE", "u", "1", "z"], &[("u", "zunionstore")]),
        (
            &["ZINTERSTORE", "i", "2", "z", "u"],
            &[("i", "zinterstore")],
        ),
        (&["ZDIFFSTORE", "i", "2", "z", "u"], &[("i", "del")]),
        (
            &["ZRANGESTORE", "r", "u", "0", "-1"],
            &[("r", "zrangestore")],
        ),
        (
            &["ZMPOP", "1", "r", "MAX"],
            &[("r", "zpopmax"), ("r", "del")],
        ),
        (&["BZPOPMIN", "u", "0"], &[("u", "zpopmin"), ("u", "del")]),
        (
            &["ZREMRANGEBYRANK", "z", "0", "-1"],
            &[("z", "zremrangebyrank"), ("z", "del")],
        ),
    ];
    for (args, expected) in steps {
        log.lock().unwrap().clear();
        cmd::<Value>(&mut c, args).await;
        let got = log.lock().unwrap().clone();
        let expected: Vec<(String, &str)> =
            expected.iter().map(|(k, e)| (k.to_string(), *e)).collect();
        assert_eq!(got, expected, "{args:?}");
    }
}

/// `rdb_changes_since_last_save` of a connection's server.
async fn dirty(w: &mut Wire) -> i64 {
    let info = String::from_utf8_lossy(&w.call(&["INFO", "persistence"])).into_owned();
    info.lines()
        .find_map(|l| l.strip_prefix("rdb_changes_since_last_save:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("rdb_changes_since_last_save")
}

#[tokio::test]
async fn changes_are_counted_as_redis_counts_them() {
    let redis = RedisServer::start();
    let s = TestServer::start();
    let (mut a, mut b) = (
        Wire::connect(("127.0.0.1", s.addr.port())),
        Wire::connect(("127.0.0.1", redis.port)),
    );
    let mut script = owned(SCRIPT);
    script.extend(random_script(7, 600, 200, false));
    for w in [&mut a, &mut b] {
        w.call(&["FLUSHALL"]);
    }
    let mut diffs = Vec::new();
    for c in &script {
        let args: Vec<&str> = c.iter().map(String::as_str).collect();
        if args[0].starts_with("BZ") || args[0] == "FLUSHALL" {
            continue;
        }
        let (a0, b0) = (dirty(&mut a).await, dirty(&mut b).await);
        a.call(&args);
        b.call(&args);
        let (da, db) = (dirty(&mut a).await - a0, dirty(&mut b).await - b0);
        if da != db {
            diffs.push(format!("{args:?}: shoal {da}, redis {db}"));
        }
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

#[tokio::test]
async fn a_blocking_pop_in_a_group_answers_nil_instead_of_blocking() {
    let s = TestServer::start();
    let (out, _) = group_replies(
        &s,
        &[
            &[b"ZADD", b"z", b"1", b"a"],
            &[b"BZPOPMIN", b"none", b"0"],
            &[b"BZMPOP", b"0", b"1", b"none", b"MIN"],
            &[b"BZPOPMAX", b"z", b"0"],
        ],
    );
    assert_eq!(
        out,
        ":1\r\n*-1\r\n*-1\r\n*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
}

/// Plain sets as inputs of ZUNION/ZINTER/ZDIFF (and STORE) and ZINTERCARD: every
/// member scores 1, intsets and hashtables alike; other types stay WRONGTYPE.
const SETS_AS_INPUTS: &[&[&str]] = &[
    &["SADD", "si", "1", "2", "3", "-7"],
    &["SADD", "sh", "a", "b", "c", "1"],
    &["ZADD", "z", "5", "a", "2.5", "1", "-1", "x", "0", "-7"],
    &["RPUSH", "l", "a"],
    &["SET", "str", "v"],
    &["ZUNION", "3", "si", "sh", "z", "WITHSCORES"],
    &["ZUNION", "2", "si", "sh", "WEIGHTS", "2", "3", "WITHSCORES"],
    &["ZUNION", "2", "si", "z", "AGGREGATE", "MAX", "WITHSCORES"],
    &["ZUNION", "2", "si", "z", "AGGREGATE", "MIN", "WITHSCORES"],
    &["ZUNION", "2", "si", "nokey", "WITHSCORES"],
    &["ZINTER", "2", "si", "sh", "WITHSCORES"],
    &["ZINTER", "2", "sh", "z", "WEIGHTS", "10", "1", "WITHSCORES"],
    &["ZINTER", "3", "si", "sh", "z", "WITHSCORES"],
    &["ZINTER", "2", "si", "nokey"],
    &["ZDIFF", "2", "si", "z", "WITHSCORES"],
    &["ZDIFF", "2", "z", "si", "WITHSCORES"],
    &["ZDIFF", "2", "sh", "si", "WITHSCORES"],
    &["ZDIFF", "1", "sh"],
    &["ZUNIONSTORE", "d1", "2", "si", "sh"],
    &["ZRANGE", "d1", "0", "-1", "WITHSCORES"],
    &["OBJECT", "ENCODING", "d1"],
    &["ZINTERSTORE", "d2", "2", "sh", "z", "AGGREGATE", "MAX"],
    &["ZRANGE", "d2", "0", "-1", "WITHSCORES"],
    &["ZDIFFSTORE", "d3", "2", "si", "sh"],
    &["ZRANGE", "d3", "0", "-1", "WITHSCORES"],
    &["TYPE", "d3"],
    &["ZUNIONSTORE", "si", "2", "si", "z"],
    &["TYPE", "si"],
    &["ZRANGE", "si", "0", "-1", "WITHSCORES"],
    &["SADD", "si", "1", "2", "3"],
    &["ZINTERSTORE", "si", "2", "si", "nokey"],
    &["EXISTS", "si"],
    &["SADD", "si", "1", "2", "3", "-7"],
    &["ZINTERCARD", "2", "si", "sh"],
    &["ZINTERCARD", "3", "si", "sh", "z"],
    &["ZINTERCARD", "2", "si", "z"],
    &["ZINTERCARD", "2", "si", "z", "LIMIT", "1"],
    &["ZINTERCARD", "1", "sh", "LIMIT", "2"],
    &["ZINTERCARD", "2", "si", "nokey"],
    &["ZUNION", "2", "si", "l"],
    &["ZINTER", "2", "str", "si"],
    &["ZDIFF", "2", "si", "l"],
    &["ZINTERCARD", "2", "si", "l"],
    &["ZUNIONSTORE", "d4", "2", "si", "str"],
    &["ZUNION", "2", "si", "sh", "BADOPT"],
    &["SINTER", "si", "z"],
    &["SUNION", "si", "z"],
    &["SINTERCARD", "2", "si", "z"],
];

#[tokio::test]
async fn plain_sets_are_inputs_of_zunion_zinter_zdiff_as_in_redis() {
    let redis = RedisServer::start();
    let s = TestServer::start();
    let script = owned(SETS_AS_INPUTS);
    for resp3 in [false, true] {
        let diffs = differences(s.addr.port(), redis.port, resp3, &script).await;
        assert!(diffs.is_empty(), "resp3 {resp3}:\n{}", diffs.join("\n"));
    }
}
