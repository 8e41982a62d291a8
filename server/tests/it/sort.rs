//! SORT and SORT_RO, checked reply for reply against a real redis-server 7.0.15
//! (package redis-server) holding the same data.

use redis::aio::MultiplexedConnection;
use redis::Value;

use crate::common::*;

async fn both(
    r: &mut MultiplexedConnection,
    c: &mut MultiplexedConnection,
    args: &[&str],
) -> Result<Value, String> {
    let want = try_cmd::<Value>(r, args).await.map_err(|e| error_text(&e));
    let got = try_cmd::<Value>(c, args).await.map_err(|e| error_text(&e));
    assert_eq!(got, want, "{args:?}");
    got
}

const SETUP: &[&[&str]] = &[
    &[
        "RPUSH", "nums", "3", "1", "2", "10", "-5", "2.5", "1e1", " 7",
    ],
    &["RPUSH", "words", "banana", "apple", "cherry", "date"],
    &["SADD", "si", "5", "3", "9", "1", "-20"],
    &["SADD", "ss", "b", "a", "c"],
    &["ZADD", "z", "3", "a", "1", "b", "2", "c", "2", "d"],
    &[
        "MSET", "w_banana", "2", "w_apple", "3", "w_cherry", "1", "w_3", "x",
    ],
    &["HSET", "h_apple", "f", "zz", "n", "1"],
    &["HSET", "h_banana", "f", "aa", "n", "9"],
    &["HSET", "h_date", "n", "-1"],
    &["SET", "h_cherry", "not a hash"],
    &["RPUSH", "bad", "1", "x"],
    &["RPUSH", "nan", "nan"],
    &["SET", "str", "x"],
    &["RPUSH", "empty", ""],
    &["SET", "dst3", "old"],
];

#[tokio::test(flavor = "multi_thread")]
async fn sort_answers_as_redis_does() {
    let (_redis, mut r) = RedisServer::with_conn().await;
    let s = TestServer::start();
    let mut c = s.conn().await;
    for cmd_args in SETUP {
        both(&mut r, &mut c, cmd_args).await.unwrap();
    }
    let cases: &[&[&str]] = &[
        &["SORT", "nums"],
        &["SORT", "nums", "DESC"],
        &["SORT", "nums", "ASC", "LIMIT", "1", "2"],
        &["SORT", "nums", "LIMIT", "-1", "2"],
        &["SORT", "nums", "LIMIT", "10", "2"],
        &["SORT", "nums", "LIMIT", "2", "-1"],
        &["SORT", "nums", "LIMIT", "0", "0"],
        &["SORT", "nums", "ALPHA"],
        &["SORT", "words"],
        &["SORT", "words", "ALPHA"],
        &["SORT", "words", "ALPHA", "DESC", "LIMIT", "1", "2"],
        &["SORT", "words", "BY", "nosort"],
        &["SORT", "words", "BY", "nosort", "DESC"],
        &["SORT", "words", "BY", "nosort", "DESC", "LIMIT", "1", "2"],
        &["SORT", "words", "BY", "w_*"],
        &[
            "SORT", "words", "BY", "w_*", "DESC", "GET", "#", "GET", "h_*->f", "GET", "w_*",
        ],
        &["SORT", "words", "BY", "h_*->f", "ALPHA"],
        &["SORT", "words", "BY", "h_*->f", "ALPHA", "DESC"],
        &["SORT", "words", "BY", "h_*->n"],
        &[
            "SORT",
            "words",
            "BY",
            "h_*->n",
            "LIMIT",
            "1",
            "2",
            "GET",
            "h_*->nofield",
        ],
        &[
            "SORT", "words", "BY", "w_*", "GET", "nokey_*", "GET", "fixed",
        ],
        &["SORT", "nums", "BY", "w_*"],
        &["SORT", "nums", "BY", "nokey_*", "DESC"],
        &["SORT", "si"],
        &["SORT", "si", "DESC", "LIMIT", "1", "3"],
        &["SORT", "ss", "ALPHA"],
        &["SORT", "z"],
        &["SORT", "z", "ALPHA", "DESC"],
        &["SORT", "z", "BY", "nosort"],
        &["SORT", "z", "BY", "nosort", "DESC", "LIMIT", "1", "2"],
        &["SORT", "z", "BY", "nosort", "GET", "#", "GET", "w_*"],
        &["SORT", "missing"],
        &["SORT", "missing", "GET", "#"],
        &["SORT", "empty"],
        &["SORT", "str"],
        &["SORT", "bad"],
        &["SORT", "nan"],
        &["SORT", "bad", "LIMIT", "a", "1"],
        &["SORT", "nums", "LIMIT", "1"],
        &["SORT", "nums", "foo"],
        &["SORT", "nums", "GET"],
        &["SORT", "str", "foo"],
        &["SORT_RO", "nums", "DESC", "GET", "#"],
        &["SORT_RO", "nums", "STORE", "x"],
        &["SORT", "words", "ALPHA", "STORE", "dst"],
        &["LRANGE", "dst", "0", "-1"],
        &[
            "SORT", "words", "BY", "w_*", "GET", "h_*->f", "GET", "#", "STORE", "dst",
        ],
        &["LRANGE", "dst", "0", "-1"],
        &["SORT", "ss", "BY", "nosort", "STORE", "dst2"],
        &["LRANGE", "dst2", "0", "-1"],
        &["SORT", "missing", "STORE", "dst3"],
        &["EXISTS", "dst3"],
        &["SORT", "nums", "STORE", "nums"],
        &["LRANGE", "nums", "0", "-1"],
        &["COMMAND", "INFO", "sort", "sort_ro", "restore", "dump"],
        &[
            "COMMAND", "GETKEYS", "SORT", "a", "STORE", "b", "LIMIT", "0", "1",
        ],
        &[
            "COMMAND", "GETKEYS", "SORT", "a", "GET", "store", "STORE", "b", "STORE", "c",
        ],
        &["COMMAND", "GETKEYS", "SORT_RO", "a", "BY", "store"],
    ];
    for case in cases {
        let _ = both(&mut r, &mut c, case).await;
    }
    s.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn sort_in_a_transaction_reads_pattern_keys() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    cmd::<()>(&mut c, &["RPUSH", "l", "a", "b"]).await;
    cmd::<()>(
        &mut c,
        &["MSET", "w_a", "2", "w_b", "1", "v_a", "A", "v_b", "B"],
    )
    .await;
    let mut p = redis::pipe();
    p.atomic()
        .cmd("SORT")
        .arg(&["l", "BY", "w_*", "GET", "v_*", "STORE", "out"])
        .cmd("LRANGE")
        .arg(&["out", "0", "-1"]);
    let (n, got): (i64, Vec<String>) = p.query_async(&mut c).await.unwrap();
    assert_eq!(n, 2);
    assert_eq!(got, ["B", "A"]);
    let info: Vec<Value> = cmd(&mut c, &["COMMAND", "INFO", "sort"]).await;
    let flags = format!("{info:?}");
    assert!(flags.contains("movablekeys"), "{flags}");
    s.stop();
}
