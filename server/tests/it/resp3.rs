//! RESP3 through a real client: the `redis` crate connects with `protocol=resp3` (it
//! sends HELLO 3 itself) and decodes the typed replies, so these tests check what a
//! RESP3 application actually receives: nulls, maps, verbatim strings, doubles.

use redis::Value;

use crate::common::*;

async fn raw(c: &mut redis::aio::MultiplexedConnection, args: &[&str]) -> Value {
    cmd::<Value>(c, args).await
}

#[tokio::test]
async fn strings_and_nulls() {
    let s = TestServer::start();
    let mut c = s.conn3().await;
    assert_eq!(raw(&mut c, &["SET", "k", "v"]).await, Value::Okay);
    assert_eq!(
        raw(&mut c, &["GET", "k"]).await,
        Value::BulkString(b"v".to_vec())
    );
    assert_eq!(raw(&mut c, &["GET", "missing"]).await, Value::Nil);
    assert_eq!(
        raw(&mut c, &["MGET", "k", "missing"]).await,
        Value::Array(vec![Value::BulkString(b"v".to_vec()), Value::Nil])
    );
    assert_eq!(raw(&mut c, &["INCR", "n"]).await, Value::Int(1));
    assert_eq!(
        raw(&mut c, &["INCRBYFLOAT", "f", "0.1"]).await,
        Value::BulkString(b"0.1".to_vec())
    );
    assert_eq!(raw(&mut c, &["TTL", "k"]).await, Value::Int(-1));
}

#[tokio::test]
async fn hello_reports_protocol_3_as_a_map() {
    let s = TestServer::start();
    let mut c = s.conn3().await;
    let Value::Map(fields) = raw(&mut c, &["HELLO", "3"]).await else {
        panic!("HELLO 3 is a map");
    };
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| *k == Value::BulkString(name.as_bytes().to_vec()))
            .map(|(_, v)| v.clone())
    };
    assert_eq!(get("proto"), Some(Value::Int(3)));
    assert_eq!(get("server"), Some(Value::BulkString(b"redis".to_vec())));
    assert_eq!(get("mode"), Some(Value::BulkString(b"standalone".to_vec())));
}

#[tokio::test]
async fn config_get_is_a_map_and_info_is_verbatim() {
    let s = TestServer::start();
    let mut c = s.conn3().await;
    match raw(&mut c, &["CONFIG", "GET", "maxclients"]).await {
        Value::Map(m) => assert_eq!(
            m,
            vec![(
                Value::BulkString(b"maxclients".to_vec()),
                Value::BulkString(b"10000".to_vec())
            )]
        ),
        other => panic!("CONFIG GET in RESP3 is a map, got {other:?}"),
    }
    match raw(&mut c, &["INFO", "server"]).await {
        Value::VerbatimString { text, .. } => assert!(text.contains("redis_version:7.0")),
        other => panic!("INFO in RESP3 is a verbatim string, got {other:?}"),
    }
    match raw(&mut c, &["CLIENT", "LIST"]).await {
        Value::VerbatimString { text, .. } => assert!(text.contains("resp=3")),
        other => panic!("CLIENT LIST in RESP3 is a verbatim string, got {other:?}"),
    }
}

#[tokio::test]
async fn hashes_are_maps() {
    let s = TestServer::start();
    let mut c = s.conn3().await;
    assert_eq!(
        raw(&mut c, &["HSET", "h", "a", "1", "b", "2"]).await,
        Value::Int(2)
    );
    let Value::Map(mut pairs) = raw(&mut c, &["HGETALL", "h"]).await else {
        panic!("HGETALL in RESP3 is a map");
    };
    pairs.sort_by(|a, b| format!("{:?}", a.0).cmp(&format!("{:?}", b.0)));
    assert_eq!(
        pairs,
        vec![
            (
                Value::BulkString(b"a".to_vec()),
                Value::BulkString(b"1".to_vec())
            ),
            (
                Value::BulkString(b"b".to_vec()),
                Value::BulkString(b"2".to_vec())
            ),
        ]
    );
    assert_eq!(raw(&mut c, &["HGET", "h", "zz"]).await, Value::Nil);
    assert_eq!(raw(&mut c, &["HGETALL", "none"]).await, Value::Map(vec![]));
}

#[tokio::test]
async fn errors_are_server_errors_in_both_protocols() {
    let s = TestServer::start();
    let mut c3 = s.conn3().await;
    let mut c2 = s.conn().await;
    for c in [&mut c3, &mut c2] {
        cmd::<()>(c, &["SET", "s", "x"]).await;
        assert_eq!(
            err(c, &["INCR", "s"]).await,
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            err(c, &["HGET", "s", "f"]).await,
            "WRONGTYPE Operation against a key holding the wrong kind of value"
        );
    }
}
