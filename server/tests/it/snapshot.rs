//! SNAPSHOT CREATE / LIST / DROP / READ / RESTORE / MERGE / HELP: point-in-time views,
//! read-only enforcement, rollback and write-back, limits, expiry inside snapshots and
//! several databases.

use std::collections::HashSet;
use std::time::Duration;

use redis::aio::MultiplexedConnection as Conn;
use redis::Value;
use shoal_server::state::now_ms;
use shoal_storage::{Entry, HashValue};

use crate::common::*;

const READONLY: &str = "READONLY You can't write against a read only snapshot.";

/// Field `name` of one SNAPSHOT LIST element (a RESP3 map or a RESP2 flat array).
fn field(entry: &Value, name: &str) -> Option<Value> {
    let want = Value::BulkString(name.as_bytes().to_vec());
    match entry {
        Value::Map(pairs) => pairs.iter().find(|(k, _)| *k == want).map(|p| p.1.clone()),
        Value::Array(flat) => flat
            .chunks(2)
            .find(|kv| kv[0] == want)
            .and_then(|kv| kv.get(1).cloned()),
        _ => None,
    }
}

/// SNAPSHOT LIST as (name, created, keys, retained_bytes) tuples.
async fn list(c: &mut Conn) -> Vec<(String, i64, i64, i64)> {
    let Value::Array(items) = cmd::<Value>(c, &["SNAPSHOT", "LIST"]).await else {
        panic!("LIST is an array");
    };
    items
        .iter()
        .map(|e| {
            let int = |n| match field(e, n) {
                Some(Value::Int(i)) => i,
                other => panic!("{n}: {other:?}"),
            };
            let name = match field(e, "name") {
                Some(Value::BulkString(b)) => String::from_utf8(b).expect("utf8"),
                other => panic!("name: {other:?}"),
            };
            (name, int("created"), int("keys"), int("retained_bytes"))
        })
        .collect()
}

async fn get(c: &mut Conn, key: &str) -> Option<String> {
    cmd(c, &["GET", key]).await
}

/// Inserts a hash straight into the live keyspace (database 0).
fn put_hash(s: &TestServer, key: &str, fields: &[(&str, &str)]) {
    let mut h = HashValue::new();
    for (f, v) in fields {
        h.insert_within(f.as_bytes(), v.as_bytes(), Default::default());
    }
    let db = s.handle().shared().keyspace.db(0);
    let hash = db.hash(key.as_bytes());
    db.lock(hash)
        .insert(hash, Entry::new_hash(key.as_bytes(), h, None), now_ms());
}

#[tokio::test]
async fn create_list_drop() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    for i in 0..5 {
        let _: () = cmd(&mut c, &["SET", &format!("k{i}"), "v"]).await;
    }
    let _: () = cmd(&mut c, &["SELECT", "3"]).await;
    let _: () = cmd(&mut c, &["SET", "other", "v"]).await;
    let before = now_ms();
    let name: String = cmd(&mut c, &["SNAPSHOT", "CREATE", "first"]).await;
    assert_eq!(name, "first");
    let generated: String = cmd(&mut c, &["SNAPSHOT", "CREATE"]).await;
    assert_eq!(generated, "snap-1");
    let generated: String = cmd(&mut c, &["snapshot", "create"]).await;
    assert_eq!(generated, "snap-2");
    let after = now_ms();

    assert_eq!(
        err(&mut c, &["SNAPSHOT", "CREATE", "first"]).await,
        "ERR snapshot 'first' already exists"
    );
    assert_eq!(
        err(&mut c, &["SNAPSHOT", "CREATE", ""]).await,
        "ERR snapshot name must not be empty"
    );
    assert_eq!(
        err(&mut c, &["SNAPSHOT", "CREATE", "Live"]).await,
        "ERR 'Live' is reserved (SNAPSHOT READ LIVE) and cannot name a snapshot"
    );
    assert_eq!(
        err(&mut c, &["SNAPSHOT", "CREATE", "a", "b"]).await,
        "ERR syntax error"
    );

    let l = list(&mut c).await;
    let names: Vec<&str> = l.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(names, ["first", "snap-1", "snap-2"], "creation order");
    for (_, created, keys, retained) in &l {
        assert!((before..=after).contains(created), "created {created}");
        assert_eq!(*keys, 6, "keys of every database");
        assert_eq!(*retained, 0, "nothing written since: nothing retained");
    }

    // Writing after the snapshot makes the live segment diverge: the snapshot now
    // retains the old segment.
    let _: () = cmd(&mut c, &["SELECT", "0"]).await;
    for i in 0..5 {
        let _: () = cmd(&mut c, &["SET", &format!("k{i}"), "new"]).await;
    }
    let l = list(&mut c).await;
    assert!(
        l.iter().all(|e| e.3 == 0),
        "shared by three snapshots: {l:?}"
    );
    let dropped: i64 = cmd(&mut c, &["SNAPSHOT", "DROP", "snap-1"]).await;
    assert_eq!(dropped, 1);
    let dropped: i64 = cmd(&mut c, &["SNAPSHOT", "DROP", "snap-2"]).await;
    assert_eq!(dropped, 1);
    // Dropped snapshots are freed in the background: wait for it.
    let mut l = list(&mut c).await;
    for _ in 0..200 {
        if l[0].3 > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        l = list(&mut c).await;
    }
    assert_eq!(l.len(), 1);
    assert!(l[0].3 > 0, "the only holder of the old segments: {l:?}");
    let dropped: i64 = cmd(&mut c, &["SNAPSHOT", "DROP", "snap-1"]).await;
    assert_eq!(dropped, 0);
    let dropped: i64 = cmd(&mut c, &["SNAPSHOT", "DROP", "nosuch"]).await;
    assert_eq!(dropped, 0);
    let dropped: i64 = cmd(&mut c, &["SNAPSHOT", "DROP", "first"]).await;
    assert_eq!(dropped, 1);
    assert!(list(&mut c).await.is_empty());
    // The generator keeps counting (names are not reused while others may hold them).
    let generated: String = cmd(&mut c, &["SNAPSHOT", "CREATE"]).await;
    assert_eq!(generated, "snap-3");
    // A name taken by hand is skipped.
    let _: String = cmd(&mut c, &["SNAPSHOT", "CREATE", "snap-4"]).await;
    let generated: String = cmd(&mut c, &["SNAPSHOT", "CREATE"]).await;
    assert_eq!(generated, "snap-5");
    // Binary-safe names.
    let _: Value = cmd(&mut c, &["SNAPSHOT", "CREATE", "a b\u{e9}"]).await;
    assert!(list(&mut c).await.iter().any(|e| e.0 == "a b\u{e9}"));
}

#[tokio::test]
async fn list_shape_resp3_and_resp2() {
    let s = TestServer::start();
    let mut c = s.conn3().await;
    let _: () = cmd(&mut c, &["SET", "k", "v"]).await;
    let _: String = cmd(&mut c, &["SNAPSHOT", "CREATE", "s"]).await;
    let Value::Array(items) = cmd::<Value>(&mut c, &["SNAPSHOT", "LIST"]).await else {
        panic!("array");
    };
    let Value::Map(pairs) = &items[0] else {
        panic!("RESP3: a map per snapshot, got {:?}", items[0]);
    };
    let keys: Vec<Value> = pairs.iter().map(|p| p.0.clone()).collect();
    let expect: Vec<Value> = ["name", "created", "keys", "retained_bytes"]
        .iter()
        .map(|k| Value::BulkString(k.as_bytes().to_vec()))
        .collect();
    assert_eq!(keys, expect);
    assert_eq!(field(&items[0], "keys"), Some(Value::Int(1)));

    let mut raw = s.raw().await;
    raw.cmd(&[b"SNAPSHOT", b"LIST"]).await;
    let head = b"*1\r\n*8\r\n$4\r\nname\r\n$1\r\ns\r\n$7\r\ncreated\r\n:";
    let got = raw.read_exact_or_eof(head.len()).await;
    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(head));
}

#[tokio::test]
async fn arity_unknown_and_help() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    assert_eq!(
        err(&mut c, &["SNAPSHOT"]).await,
        "ERR wrong number of arguments for 'snapshot' command"
    );
    assert_eq!(
        err(&mut c, &["SNAPSHOT", "NOPE"]).await,
        "ERR unknown subcommand 'NOPE'. Try SNAPSHOT HELP."
    );
    for (args, name) in [
        (&["SNAPSHOT", "LIST", "x"][..], "snapshot|list"),
        (&["SNAPSHOT", "DROP"][..], "snapshot|drop"),
        (&["SNAPSHOT", "DROP", "a", "b"][..], "snapshot|drop"),
        (&["SNAPSHOT", "READ"][..], "snapshot|read"),
        (&["SNAPSHOT", "READ", "a", "b"][..], "snapshot|read"),
        (&["SNAPSHOT", "RESTORE"][..], "snapshot|restore"),
        (&["SNAPSHOT", "MERGE", "a"][..], "snapshot|merge"),
        (
            &["SNAPSHOT", "MERGE", "a", "KEEP", "x"][..],
            "snapshot|merge",
        ),
        (&["SNAPSHOT", "HELP", "x"][..], "snapshot|help"),
    ] {
        assert_eq!(
            err(&mut c, args).await,
            format!("ERR wrong number of arguments for '{name}' command"),
            "{args:?}"
        );
    }
    for args in [
        &["SNAPSHOT", "READ", "x"][..],
        &["SNAPSHOT", "RESTORE", "x"][..],
        &["SNAPSHOT", "MERGE", "x", "KEEP"][..],
    ] {
        assert_eq!(
            err(&mut c, args).await,
            "ERR no such snapshot 'x'",
            "{args:?}"
        );
    }
    // The mode is checked first.
    assert_eq!(
        err(&mut c, &["SNAPSHOT", "MERGE", "x", "BOTH"]).await,
        "ERR syntax error"
    );
    let help: Vec<String> = cmd(&mut c, &["SNAPSHOT", "HELP"]).await;
    assert!(help[0].starts_with("SNAPSHOT <subcommand>"));
    for sub in ["CREATE", "LIST", "DROP", "READ", "RESTORE", "MERGE", "HELP"] {
        assert!(help.iter().any(|l| l.starts_with(sub)), "{sub} in HELP");
    }
    // The table: RESTORE and MERGE are writes (refused in a snapshot view), READ is not.
    let Value::Array(info) = cmd::<Value>(
        &mut c,
        &[
            "COMMAND",
            "INFO",
            "snapshot|restore",
            "snapshot|merge",
            "snapshot|read",
        ],
    )
    .await
    else {
        panic!("COMMAND INFO");
    };
    let flags = |v: &Value| -> Vec<String> {
        let Value::Array(row) = v else { panic!() };
        let Value::Array(f) = &row[2] else { panic!() };
        f.iter()
            .map(|x| match x {
                Value::SimpleString(s) => s.clone(),
                other => panic!("{other:?}"),
            })
            .collect()
    };
    assert!(flags(&info[0]).contains(&"write".to_string()));
    assert!(flags(&info[1]).contains(&"write".to_string()));
    assert!(!flags(&info[2]).contains(&"write".to_string()));
}

#[tokio::test]
async fn read_view_sees_the_past_while_others_write() {
    let s = TestServer::start();
    let mut w = s.conn().await;
    let mut r = s.conn().await;
    let mut other = s.conn().await;
    let _: () = cmd(&mut w, &["MSET", "a", "1", "b", "1", "n", "10"]).await;
    put_hash(&s, "h", &[("f", "old"), ("g", "1")]);
    let _: String = cmd(&mut w, &["SNAPSHOT", "CREATE", "s"]).await;
    let ok: String = cmd(&mut r, &["SNAPSHOT", "READ", "s"]).await;
    assert_eq!(ok, "OK");

    let _: () = cmd(&mut w, &["SET", "a", "2"]).await;
    let _: i64 = cmd(&mut w, &["DEL", "b"]).await;
    let _: () = cmd(&mut w, &["SET", "c", "3"]).await;
    let _: i64 = cmd(&mut w, &["INCR", "n"]).await;
    put_hash(&s, "h", &[("f", "new")]);

    assert_eq!(get(&mut r, "a").await.as_deref(), Some("1"));
    let m: Vec<Option<String>> = cmd(&mut r, &["MGET", "a", "b", "c", "n"]).await;
    assert_eq!(
        m,
        [Some("1".into()), Some("1".into()), None, Some("10".into())]
    );
    let strlen: i64 = cmd(&mut r, &["STRLEN", "n"]).await;
    assert_eq!(strlen, 2);
    let exists: i64 = cmd(&mut r, &["EXISTS", "a", "b", "c"]).await;
    assert_eq!(exists, 2);
    let t: String = cmd(&mut r, &["TYPE", "h"]).await;
    assert_eq!(t, "hash");
    let t: String = cmd(&mut r, &["TYPE", "c"]).await;
    assert_eq!(t, "none");
    let size: i64 = cmd(&mut r, &["DBSIZE"]).await;
    assert_eq!(size, 4);
    // The hash as of the snapshot: through HGETALL when the hash commands are there,
    // and through the snapshot's own keyspace in any case.
    let has_hgetall = matches!(
        cmd::<Value>(&mut r, &["COMMAND", "INFO", "hgetall"]).await,
        Value::Array(ref v) if v.first().is_some_and(|x| *x != Value::Nil)
    );
    if has_hgetall {
        let mut all: Vec<String> = cmd(&mut r, &["HGETALL", "h"]).await;
        all.sort();
        assert_eq!(all, ["1", "f", "g", "old"]);
    }
    {
        let snap = s.handle().shared().snapshots.get(b"s").expect("registered");
        let db = snap.keyspace().db(0);
        let hh = db.hash(b"h");
        let shard = db.lock(hh);
        let e = shard.peek(hh, b"h", now_ms()).expect("h in the snapshot");
        let hv = e.as_hash().expect("a hash");
        assert_eq!(hv.get(b"f"), Some(&b"old"[..]));
        assert_eq!(hv.len(), 2);
    }

    // The writer and an unrelated connection see the live data.
    for c in [&mut w, &mut other] {
        let m: Vec<Option<String>> = cmd(c, &["MGET", "a", "b", "c", "n"]).await;
        assert_eq!(
            m,
            [Some("2".into()), None, Some("3".into()), Some("11".into())]
        );
    }
    // Back to live.
    let _: () = cmd(&mut r, &["SNAPSHOT", "READ", "LIVE"]).await;
    assert_eq!(get(&mut r, "a").await.as_deref(), Some("2"));
    // `live` in any case; switching to live when live is fine.
    let _: () = cmd(&mut r, &["SNAPSHOT", "READ", "live"]).await;
    assert_eq!(get(&mut r, "c").await.as_deref(), Some("3"));
}

#[tokio::test]
async fn writes_are_refused_in_a_snapshot_view() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let _: () = cmd(&mut c, &["SET", "k", "v"]).await;
    let _: String = cmd(&mut c, &["SNAPSHOT", "CREATE", "s"]).await;
    let _: () = cmd(&mut c, &["SNAPSHOT", "READ", "s"]).await;
    for args in [
        &["SET", "k", "x"][..],
        &["SET", "new", "x"][..],
        &["DEL", "k"][..],
        &["UNLINK", "k"][..],
        &["INCR", "n"][..],
        &["APPEND", "k", "x"][..],
        &["GETDEL", "k"][..],
        &["GETEX", "k", "PX", "10"][..],
        &["MSET", "a", "1"][..],
        &["EXPIRE", "k", "10"][..],
        &["PERSIST", "k"][..],
        &["RENAME", "k", "k2"][..],
        &["COPY", "k", "k2"][..],
        &["MOVE", "k", "1"][..],
        &["FLUSHDB"][..],
        &["FLUSHALL"][..],
        &["SWAPDB", "0", "1"][..],
        &["SNAPSHOT", "RESTORE", "s"][..],
        &["SNAPSHOT", "MERGE", "s", "KEEP"][..],
        &["SNAPSHOT", "RESTORE", "nosuch"][..],
    ] {
        assert_eq!(err(&mut c, args).await, READONLY, "{args:?}");
    }
    // Arity is still checked first, as for any command.
    assert_eq!(
        err(&mut c, &["SET", "k"]).await,
        "ERR wrong number of arguments for 'set' command"
    );
    // Reads and connection commands work.
    assert_eq!(get(&mut c, "k").await.as_deref(), Some("v"));
    let pong: String = cmd(&mut c, &["PING"]).await;
    assert_eq!(pong, "PONG");
    // CREATE, LIST and DROP act on the registry; CREATE captures the live data.
    let _: String = cmd(&mut c, &["SNAPSHOT", "CREATE", "t"]).await;
    assert_eq!(list(&mut c).await.len(), 2);
    let d: i64 = cmd(&mut c, &["SNAPSHOT", "DROP", "t"]).await;
    assert_eq!(d, 1);
    // Nothing was written.
    let _: () = cmd(&mut c, &["SNAPSHOT", "READ", "LIVE"]).await;
    assert_eq!(get(&mut c, "k").await.as_deref(), Some("v"));
    let size: i64 = cmd(&mut c, &["DBSIZE"]).await;
    assert_eq!(size, 1);
    // Writes work again.
    let _: () = cmd(&mut c, &["SET", "k", "x"]).await;
    assert_eq!(get(&mut c, "k").await.as_deref(), Some("x"));
    // Switching straight from one snapshot to another is allowed.
    let _: String = cmd(&mut c, &["SNAPSHOT", "CREATE", "u"]).await;
    let _: () = cmd(&mut c, &["SNAPSHOT", "READ", "s"]).await;
    assert_eq!(get(&mut c, "k").await.as_deref(), Some("v"));
    let _: () = cmd(&mut c, &["SNAPSHOT", "READ", "u"]).await;
    assert_eq!(get(&mut c, "k").await.as_deref(), Some("x"));
    // An unknown name leaves the view as it was.
    assert_eq!(
        err(&mut c, &["SNAPSHOT", "READ", "nosuch"]).await,
        "ERR no such snapshot 'nosuch'"
    );
    assert_eq!(err(&mut c, &["SET", "k", "y"]).await, READONLY);
}

#[tokio::test]
async fn restore_rolls_back_everything() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let _: () = cmd(&mut c, &["SET", "keep", "1"]).await;
    let _: () = cmd(&mut c, &["SET", "changed", "old"]).await;
    let _: () = cmd(&mut c, &["SET", "deleted", "d"]).await;
    let _: () = cmd(&mut c, &["SET", "ttl", "t", "EX", "1000"]).await;
    let _: () = cmd(&mut c, &["SET", "persisted", "p", "EX", "1000"]).await;
    let _: () = cmd(&mut c, &["SELECT", "2"]).await;
    let _: () = cmd(&mut c, &["SET", "db2", "x"]).await;
    let _: () = cmd(&mut c, &["SELECT", "0"]).await;
    let _: String = cmd(&mut c, &["SNAPSHOT", "CREATE", "s"]).await;

    let _: () = cmd(&mut c, &["SET", "changed", "new"]).await;
    let _: i64 = cmd(&mut c, &["DEL", "deleted"]).await;
    let _: () = cmd(&mut c, &["SET", "added", "a"]).await;
    let _: i64 = cmd(&mut c, &["PERSIST", "persisted"]).await;
    let _: i64 = cmd(&mut c, &["EXPIRE", "keep", "5"]).await;
    let _: () = cmd(&mut c, &["SELECT", "2"]).await;
    let _: () = cmd(&mut c, &["FLUSHDB"]).await;
    let _: () = cmd(&mut c, &["SET", "after-flush", "1"]).await;
    let _: () = cmd(&mut c, &["SELECT", "0"]).await;

    let ok: String = cmd(&mut c, &["SNAPSHOT", "RESTORE", "s"]).await;
    assert_eq!(ok, "OK");
    let m: Vec<Option<String>> =
        cmd(&mut c, &["MGET", "keep", "changed", "deleted", "added"]).await;
    assert_eq!(
        m,
        [Some("1".into()), Some("old".into()), Some("d".into()), None]
    );
    let size: i64 = cmd(&mut c, &["DBSIZE"]).await;
    assert_eq!(size, 5);
    let ttl: i64 = cmd(&mut c, &["TTL", "keep"]).await;
    assert_eq!(ttl, -1, "the EXPIRE set after the snapshot is gone");
    for k in ["ttl", "persisted"] {
        let ttl: i64 = cmd(&mut c, &["TTL", k]).await;
        assert!((990..=1000).contains(&ttl), "{k}: {ttl}");
    }
    let _: () = cmd(&mut c, &["SELECT", "2"]).await;
    assert_eq!(get(&mut c, "db2").await.as_deref(), Some("x"));
    assert_eq!(get(&mut c, "after-flush").await, None);
    let _: () = cmd(&mut c, &["SELECT", "0"]).await;

    // The snapshot is intact after the restore and after more writes: restore again.
    let _: () = cmd(&mut c, &["SET", "changed", "newer"]).await;
    let _: () = cmd(&mut c, &["SET", "added2", "a"]).await;
    let _: () = cmd(&mut c, &["SNAPSHOT", "RESTORE", "s"]).await;
    assert_eq!(get(&mut c, "changed").await.as_deref(), Some("old"));
    assert_eq!(get(&mut c, "added2").await, None);
    let l = list(&mut c).await;
    assert_eq!(l[0].2, 6);
}

#[tokio::test]
async fn merge_keep_and_replace() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let _: () = cmd(
        &mut c,
        &["MSET", "same", "1", "changed", "old", "deleted", "d"],
    )
    .await;
    let _: () = cmd(&mut c, &["SET", "shortened", "s"]).await;
    let _: () = cmd(&mut c, &["SET", "ttl", "t", "EX", "1000"]).await;
    let _: () = cmd(&mut c, &["SELECT", "1"]).await;
    let _: () = cmd(&mut c, &["SET", "other-db", "o"]).await;
    let _: () = cmd(&mut c, &["SELECT", "0"]).await;
    let _: String = cmd(&mut c, &["SNAPSHOT", "CREATE", "s"]).await;

    let _: () = cmd(&mut c, &["SET", "changed", "new"]).await;
    let _: i64 = cmd(&mut c, &["DEL", "deleted"]).await;
    let _: () = cmd(&mut c, &["SET", "added", "a"]).await;
    let _: i64 = cmd(&mut c, &["PEXPIRE", "shortened", "50"]).await;
    let _: i64 = cmd(&mut c, &["PERSIST", "ttl"]).await;
    let _: () = cmd(&mut c, &["SELECT", "1"]).await;
    let _: i64 = cmd(&mut c, &["DEL", "other-db"]).await;
    let _: () = cmd(&mut c, &["SELECT", "0"]).await;
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(get(&mut c, "shortened").await, None, "expired live");

    // KEEP: deleted (in both databases) and expired keys come back, nothing else moves.
    let n: i64 = cmd(&mut c, &["SNAPSHOT", "MERGE", "s", "KEEP"]).await;
    assert_eq!(n, 3);
    let m: Vec<Option<String>> = cmd(
        &mut c,
        &["MGET", "same", "changed", "deleted", "shortened", "added"],
    )
    .await;
    let some = |v: &str| Some(v.to_string());
    assert_eq!(m, [some("1"), some("new"), some("d"), some("s"), some("a")]);
    let ttl: i64 = cmd(&mut c, &["TTL", "shortened"]).await;
    assert_eq!(ttl, -1, "restored with the snapshot's (absent) TTL");
    let ttl: i64 = cmd(&mut c, &["TTL", "ttl"]).await;
    assert_eq!(ttl, -1, "KEEP leaves a live key's TTL alone");
    let _: () = cmd(&mut c, &["SELECT", "1"]).await;
    assert_eq!(get(&mut c, "other-db").await.as_deref(), Some("o"));
    let _: () = cmd(&mut c, &["SELECT", "0"]).await;
    let n: i64 = cmd(&mut c, &["SNAPSHOT", "MERGE", "s", "keep"]).await;
    assert_eq!(n, 0, "nothing missing any more");

    // REPLACE: keys changed since (value or TTL) are overwritten too; keys added
    // since stay.
    let n: i64 = cmd(&mut c, &["SNAPSHOT", "MERGE", "s", "REPLACE"]).await;
    assert_eq!(n, 2);
    assert_eq!(get(&mut c, "changed").await.as_deref(), Some("old"));
    assert_eq!(get(&mut c, "added").await.as_deref(), Some("a"));
    let ttl: i64 = cmd(&mut c, &["TTL", "ttl"]).await;
    assert!((990..=1000).contains(&ttl), "TTL back: {ttl}");
    let n: i64 = cmd(&mut c, &["SNAPSHOT", "MERGE", "s", "replace"]).await;
    assert_eq!(n, 0, "already equal");
    let size: i64 = cmd(&mut c, &["DBSIZE"]).await;
    assert_eq!(size, 6);
}

#[tokio::test]
async fn merge_skips_keys_expired_in_the_snapshot() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let _: () = cmd(&mut c, &["SET", "short", "v", "PX", "80"]).await;
    let _: () = cmd(&mut c, &["SET", "long", "v"]).await;
    let _: String = cmd(&mut c, &["SNAPSHOT", "CREATE", "s"]).await;
    let _: i64 = cmd(&mut c, &["DEL", "long"]).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    let n: i64 = cmd(&mut c, &["SNAPSHOT", "MERGE", "s", "REPLACE"]).await;
    assert_eq!(n, 1, "only the key still alive in the snapshot");
    assert_eq!(get(&mut c, "short").await, None);
    assert_eq!(get(&mut c, "long").await.as_deref(), Some("v"));
}

#[tokio::test]
async fn dropped_snapshot_lives_on_for_its_readers() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let mut r = s.conn().await;
    let _: () = cmd(&mut c, &["SET", "k", "old"]).await;
    let _: String = cmd(&mut c, &["SNAPSHOT", "CREATE", "s"]).await;
    let _: () = cmd(&mut r, &["SNAPSHOT", "READ", "s"]).await;
    let _: () = cmd(&mut c, &["SET", "k", "new"]).await;
    let d: i64 = cmd(&mut c, &["SNAPSHOT", "DROP", "s"]).await;
    assert_eq!(d, 1);
    assert!(list(&mut c).await.is_empty());
    assert_eq!(get(&mut r, "k").await.as_deref(), Some("old"));
    // The name is free again, for a new snapshot of the live data.
    let _: String = cmd(&mut c, &["SNAPSHOT", "CREATE", "s"]).await;
    assert_eq!(get(&mut r, "k").await.as_deref(), Some("old"));
    let _: () = cmd(&mut r, &["SNAPSHOT", "READ", "LIVE"]).await;
    let _: () = cmd(&mut r, &["SNAPSHOT", "READ", "s"]).await;
    assert_eq!(get(&mut r, "k").await.as_deref(), Some("new"));
    let _: i64 = cmd(&mut c, &["SNAPSHOT", "DROP", "s"]).await;
    let _: () = cmd(&mut r, &["SNAPSHOT", "READ", "LIVE"]).await;
    assert_eq!(
        err(&mut r, &["SNAPSHOT", "READ", "s"]).await,
        "ERR no such snapshot 's'"
    );
}

#[tokio::test]
async fn maxsnapshots_limit() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let max: Vec<String> = cmd(&mut c, &["CONFIG", "GET", "maxsnapshots"]).await;
    assert_eq!(max, ["maxsnapshots", "16"]);
    for i in 0..16 {
        let _: String = cmd(&mut c, &["SNAPSHOT", "CREATE", &format!("s{i}")]).await;
    }
    let full =
        "ERR too many snapshots: maxsnapshots is 16 (SNAPSHOT DROP one or raise maxsnapshots)";
    assert_eq!(err(&mut c, &["SNAPSHOT", "CREATE"]).await, full);
    assert_eq!(err(&mut c, &["SNAPSHOT", "CREATE", "x"]).await, full);
    // Lowering the limit keeps the existing ones.
    let _: () = cmd(&mut c, &["CONFIG", "SET", "maxsnapshots", "2"]).await;
    assert_eq!(list(&mut c).await.len(), 16);
    let _: i64 = cmd(&mut c, &["SNAPSHOT", "DROP", "s0"]).await;
    assert!(err(&mut c, &["SNAPSHOT", "CREATE"])
        .await
        .contains("maxsnapshots is 2"));
    for i in 1..15 {
        let _: i64 = cmd(&mut c, &["SNAPSHOT", "DROP", &format!("s{i}")]).await;
    }
    let _: String = cmd(&mut c, &["SNAPSHOT", "CREATE", "again"]).await;
    assert_eq!(list(&mut c).await.len(), 2);
    let _: () = cmd(&mut c, &["CONFIG", "SET", "maxsnapshots", "0"]).await;
    let _: i64 = cmd(&mut c, &["SNAPSHOT", "DROP", "again"]).await;
    let _: i64 = cmd(&mut c, &["SNAPSHOT", "DROP", "s15"]).await;
    assert!(err(&mut c, &["SNAPSHOT", "CREATE"])
        .await
        .contains("maxsnapshots is 0"));
    assert!(err(&mut c, &["CONFIG", "SET", "maxsnapshots", "-1"])
        .await
        .starts_with("ERR CONFIG SET failed"));
    let info: String = cmd(&mut c, &["INFO", "memory"]).await;
    assert!(info.contains("\r\nsnapshots:0\r\n"), "{info}");
}

#[tokio::test]
async fn info_counts_snapshots() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let _: String = cmd(&mut c, &["SNAPSHOT", "CREATE"]).await;
    let _: String = cmd(&mut c, &["SNAPSHOT", "CREATE"]).await;
    let info: String = cmd(&mut c, &["INFO", "memory"]).await;
    assert!(info.contains("\r\nsnapshots:2\r\n"), "{info}");
}

#[tokio::test]
async fn expired_keys_vanish_from_a_snapshot_without_being_deleted() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let _: () = cmd(&mut c, &["SET", "short", "v", "PX", "250"]).await;
    let _: () = cmd(&mut c, &["SET", "long", "v"]).await;
    let _: String = cmd(&mut c, &["SNAPSHOT", "CREATE", "s"]).await;
    let _: () = cmd(&mut c, &["SNAPSHOT", "READ", "s"]).await;
    assert_eq!(get(&mut c, "short").await.as_deref(), Some("v"));
    let pttl: i64 = cmd(&mut c, &["PTTL", "short"]).await;
    assert!((1..=250).contains(&pttl), "{pttl}");
    tokio::time::sleep(Duration::from_millis(330)).await;
    assert_eq!(get(&mut c, "short").await, None);
    let ttl: i64 = cmd(&mut c, &["TTL", "short"]).await;
    assert_eq!(ttl, -2);
    let n: i64 = cmd(&mut c, &["EXISTS", "short"]).await;
    assert_eq!(n, 0);
    let t: String = cmd(&mut c, &["TYPE", "short"]).await;
    assert_eq!(t, "none");
    let keys: Vec<String> = cmd(&mut c, &["KEYS", "*"]).await;
    assert_eq!(keys, ["long"]);
    let (_, scanned): (String, Vec<String>) = cmd(&mut c, &["SCAN", "0", "COUNT", "100"]).await;
    assert_eq!(scanned, ["long"]);
    // Nothing was deleted from the snapshot: it still holds both keys.
    assert_eq!(list(&mut c).await[0].2, 2);
    let snap = s.handle().shared().snapshots.get(b"s").expect("s");
    assert_eq!(snap.keyspace().total_keys(), 2);
}

#[tokio::test]
async fn scan_keys_dbsize_randomkey_in_a_view() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let mut r = s.conn().await;
    let mut before = HashSet::new();
    for i in 0..300 {
        let k = format!("key:{i}");
        let _: () = cmd(&mut c, &["SET", &k, "v"]).await;
        before.insert(k);
    }
    let _: String = cmd(&mut c, &["SNAPSHOT", "CREATE", "s"]).await;
    let _: () = cmd(&mut r, &["SNAPSHOT", "READ", "s"]).await;
    for i in 0..150 {
        let _: i64 = cmd(&mut c, &["DEL", &format!("key:{i}")]).await;
    }
    for i in 0..100 {
        let _: () = cmd(&mut c, &["SET", &format!("new:{i}"), "v"]).await;
    }
    let size: i64 = cmd(&mut r, &["DBSIZE"]).await;
    assert_eq!(size, 300);
    let live: i64 = cmd(&mut c, &["DBSIZE"]).await;
    assert_eq!(live, 250);
    let keys: HashSet<String> = cmd(&mut r, &["KEYS", "*"]).await;
    assert_eq!(keys, before);
    let some: Vec<String> = cmd(&mut r, &["KEYS", "key:1?"]).await;
    assert_eq!(some.len(), 10);
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    loop {
        let (next, batch): (String, Vec<String>) =
            cmd(&mut r, &["SCAN", &cursor, "COUNT", "17"]).await;
        seen.extend(batch);
        if next == "0" {
            break;
        }
        cursor = next;
    }
    assert_eq!(seen, before);
    let (_, matched): (String, Vec<String>) =
        cmd(&mut r, &["SCAN", "0", "MATCH", "new:*", "COUNT", "1000"]).await;
    assert!(matched.is_empty());
    for _ in 0..20 {
        let k: String = cmd(&mut r, &["RANDOMKEY"]).await;
        assert!(before.contains(&k), "{k}");
    }
}

#[tokio::test]
async fn several_databases_in_a_view() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let mut r = s.conn().await;
    let _: () = cmd(&mut c, &["SET", "x", "db0"]).await;
    let _: () = cmd(&mut c, &["SELECT", "1"]).await;
    let _: () = cmd(&mut c, &["SET", "x", "db1"]).await;
    let _: String = cmd(&mut c, &["SNAPSHOT", "CREATE", "s"]).await;
    let _: () = cmd(&mut c, &["SET", "x", "db1-new"]).await;
    let _: () = cmd(&mut c, &["SET", "y", "db1-new"]).await;
    let _: () = cmd(&mut c, &["SELECT", "0"]).await;
    let _: () = cmd(&mut c, &["FLUSHDB"]).await;

    let _: () = cmd(&mut r, &["SNAPSHOT", "READ", "s"]).await;
    assert_eq!(get(&mut r, "x").await.as_deref(), Some("db0"));
    let _: () = cmd(&mut r, &["SELECT", "1"]).await;
    assert_eq!(get(&mut r, "x").await.as_deref(), Some("db1"));
    assert_eq!(get(&mut r, "y").await, None);
    let size: i64 = cmd(&mut r, &["DBSIZE"]).await;
    assert_eq!(size, 1);
    let _: () = cmd(&mut r, &["SELECT", "2"]).await;
    let size: i64 = cmd(&mut r, &["DBSIZE"]).await;
    assert_eq!(size, 0);
    assert_eq!(
        err(&mut r, &["SELECT", "16"]).await,
        "ERR DB index is out of range"
    );
    // The selected database carries over when leaving the view.
    let _: () = cmd(&mut r, &["SELECT", "1"]).await;
    let _: () = cmd(&mut r, &["SNAPSHOT", "READ", "LIVE"]).await;
    assert_eq!(get(&mut r, "x").await.as_deref(), Some("db1-new"));
    let _: () = cmd(&mut r, &["SELECT", "0"]).await;
    assert_eq!(get(&mut r, "x").await, None);
}

#[tokio::test]
async fn reset_returns_to_the_live_keyspace() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    cmd::<()>(&mut c, &["SET", "k", "old"]).await;
    cmd::<String>(&mut c, &["SNAPSHOT", "CREATE", "r"]).await;
    cmd::<()>(&mut c, &["SET", "k", "new"]).await;
    cmd::<()>(&mut c, &["SNAPSHOT", "READ", "r"]).await;
    assert_eq!(cmd::<String>(&mut c, &["GET", "k"]).await, "old");
    assert_eq!(cmd::<String>(&mut c, &["RESET"]).await, "RESET");
    assert_eq!(cmd::<String>(&mut c, &["GET", "k"]).await, "new");
}

#[tokio::test]
async fn hash_commands_read_the_snapshot_view() {
    let s = TestServer::start();
    let mut w = s.conn().await;
    let mut r = s.conn().await;
    cmd::<()>(&mut w, &["HSET", "h", "a", "1", "b", "2"]).await;
    cmd::<String>(&mut w, &["SNAPSHOT", "CREATE", "hs"]).await;
    cmd::<()>(&mut w, &["HSET", "h", "a", "changed", "c", "3"]).await;
    cmd::<()>(&mut r, &["SNAPSHOT", "READ", "hs"]).await;
    assert_eq!(cmd::<String>(&mut r, &["HGET", "h", "a"]).await, "1");
    assert_eq!(cmd::<i64>(&mut r, &["HLEN", "h"]).await, 2);
    assert_eq!(
        err(&mut r, &["HSET", "h", "x", "y"]).await,
        "READONLY You can't write against a read only snapshot."
    );
    assert_eq!(cmd::<i64>(&mut w, &["HLEN", "h"]).await, 3);
}

/// Segments the live database 0 holds with an overlay pending.
fn pending_overlays(s: &TestServer) -> usize {
    let db = s.handle().shared().keyspace.db(0);
    (0..db.num_shards())
        .map(|i| db.with_shard(i, |sh| sh.pending_overlays()))
        .sum()
}

/// Every key a full SCAN returns.
async fn scan_keys(c: &mut Conn) -> HashSet<String> {
    scan_all(c, &["COUNT", "50"]).await.into_iter().collect()
}

/// Writes to segments a snapshot shares go to overlays (not copies) when the
/// segments are large: both sides still read, scan and count right, SNAPSHOT LIST
/// counts what the overlays replaced, and once the snapshot is dropped the overlays
/// are applied.
#[tokio::test]
async fn writes_under_a_snapshot_through_overlays() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let mut r = s.conn().await;
    let big = "x".repeat(1024);
    let mut before = HashSet::new();
    for chunk in (0..4000).collect::<Vec<_>>().chunks(500) {
        let mut args = vec!["MSET".to_string()];
        for i in chunk {
            args.push(format!("key:{i}"));
            args.push(big.clone());
            before.insert(format!("key:{i}"));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let _: () = cmd(&mut c, &args).await;
    }
    let _: String = cmd(&mut c, &["SNAPSHOT", "CREATE", "s"]).await;
    let _: () = cmd(&mut r, &["SNAPSHOT", "READ", "s"]).await;
    let mut live = before.clone();
    for i in 0..400 {
        let k = format!("key:{i}");
        let _: i64 = cmd(&mut c, &["DEL", &k]).await;
        live.remove(&k);
    }
    for i in 400..700 {
        let _: () = cmd(&mut c, &["SET", &format!("key:{i}"), "new"]).await;
    }
    for i in 0..300 {
        let k = format!("new:{i}");
        let _: () = cmd(&mut c, &["SET", &k, "v"]).await;
        live.insert(k);
    }
    assert!(
        pending_overlays(&s) > 0,
        "the writes went to overlays (segments of ~250 keys)"
    );

    // The snapshot's view: as before the writes.
    let size: i64 = cmd(&mut r, &["DBSIZE"]).await;
    assert_eq!(size, 4000);
    assert_eq!(scan_keys(&mut r).await, before);
    let keys: HashSet<String> = cmd(&mut r, &["KEYS", "*"]).await;
    assert_eq!(keys, before);
    assert_eq!(get(&mut r, "key:5").await.as_deref(), Some(big.as_str()));
    assert_eq!(get(&mut r, "key:450").await.as_deref(), Some(big.as_str()));
    assert_eq!(get(&mut r, "new:1").await, None);
    // The live view.
    let size: i64 = cmd(&mut c, &["DBSIZE"]).await;
    assert_eq!(size, 3900);
    assert_eq!(scan_keys(&mut c).await, live);
    assert_eq!(get(&mut c, "key:5").await, None);
    assert_eq!(get(&mut c, "key:450").await.as_deref(), Some("new"));
    for _ in 0..20 {
        let k: String = cmd(&mut c, &["RANDOMKEY"]).await;
        assert!(live.contains(&k), "{k}");
    }
    // The 700 values of 1 KB deleted or replaced live on in the snapshot only.
    let l = list(&mut c).await;
    assert!(l[0].3 >= 700 * 1024, "retained {l:?}");
    assert!(l[0].3 < 4000 * 1024, "not the whole dataset: {l:?}");

    let _: () = cmd(&mut r, &["SNAPSHOT", "READ", "LIVE"]).await;
    let dropped: i64 = cmd(&mut c, &["SNAPSHOT", "DROP", "s"]).await;
    assert_eq!(dropped, 1);
    // Housekeeping applies the overlays once no snapshot holds their tables.
    for _ in 0..500 {
        if pending_overlays(&s) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(pending_overlays(&s), 0);
    assert_eq!(scan_keys(&mut c).await, live);
    let size: i64 = cmd(&mut c, &["DBSIZE"]).await;
    assert_eq!(size, 3900);
}
