//! The spine: groups of commands run atomically under one acquisition of their keys'
//! shards (`dispatch::execute_group`), and the write hook announces every change.
//!
//! The write-hook test is generic: for every row of the command table flagged
//! `write` it needs a scenario (the test fails for a row without one), runs it, and
//! compares what was announced with what changed, computed by diffing the whole
//! dataset before and after.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use shoal_protocol::{Proto, ReplyBuf};
use shoal_server::changes::Change;
use shoal_server::client::Client;
use shoal_server::command::flags::WRITE;
use shoal_server::dispatch::{execute_group, TABLE};
use shoal_server::state::{now_ms, Shared};

use crate::common::*;

// ---------------------------------------------------------------------------------------
// Group runner
// ---------------------------------------------------------------------------------------

/// Two keys whose shards differ (so a group really spans two locks).
fn keys_in_two_shards(shared: &Shared) -> (String, String) {
    let db = shared.keyspace.db(0);
    let first = "grp:a".to_string();
    let shard = db.shard_index(db.hash(first.as_bytes()));
    let second = (0..)
        .map(|i| format!("grp:b{i}"))
        .find(|k| db.shard_index(db.hash(k.as_bytes())) != shard)
        .expect("another shard");
    (first, second)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_runs_ordinary_handlers_under_one_acquisition_and_is_never_seen_half_done() {
    let s = TestServer::start();
    let shared = Arc::clone(s.handle().shared());
    let (a, b) = keys_in_two_shards(&shared);
    let mut c = s.conn().await;
    let _: () = cmd(&mut c, &["MSET", &a, "0", &b, "0"]).await;

    const GROUPS: usize = 3000;
    let done = Arc::new(AtomicBool::new(false));
    // The writer starts once both readers have read, so that they overlap it however
    // the threads are scheduled.
    let started = Arc::new(AtomicU64::new(0));
    let writer = {
        let (shared, a, b, done) = (Arc::clone(&shared), a.clone(), b.clone(), Arc::clone(&done));
        let started = Arc::clone(&started);
        std::thread::spawn(move || {
            while started.load(Ordering::SeqCst) < 2 {
                std::thread::yield_now();
            }
            let addr: std::net::SocketAddr = ([127, 0, 0, 1], 1).into();
            let (info, _pushes) = shared
                .clients
                .register(addr, addr, 0, usize::MAX)
                .expect("register");
            let id = info.id;
            let mut client = Client::new(info, true);
            let mut replies = Vec::new();
            for i in 1..=GROUPS {
                let v = i.to_string();
                let wires = vec![
                    encode(&[b"SET", a.as_bytes(), v.as_bytes()]),
                    encode(&[b"INCR", b"grp:count"]),
                    encode(&[b"SET", b.as_bytes(), v.as_bytes()]),
                ];
                let mut ps = parsers(wires.len());
                let parsed = parse_each(&mut ps, &wires);
                let group: Vec<&shoal_protocol::Args<'_>> = parsed.iter().collect();
                let mut out = ReplyBuf::new(Proto::Resp2);
                execute_group(&shared, &mut client, &mut out, now_ms(), &group);
                replies.push(String::from_utf8_lossy(out.as_bytes()).into_owned());
            }
            shared.clients.unregister(id);
            done.store(true, Ordering::SeqCst);
            replies
        })
    };
    // Readers over TCP: MGET takes both keys' shards at once; it must never see one
    // SET of a group without the other.
    let mut reads = 0u64;
    let mut readers = Vec::new();
    for _ in 0..2 {
        let (mut c, a, b, done) = (s.conn().await, a.clone(), b.clone(), Arc::clone(&done));
        let started = Arc::clone(&started);
        readers.push(tokio::spawn(async move {
            let mut n = 0u64;
            loop {
                let finished = done.load(Ordering::SeqCst);
                let (x, y): (String, String) = cmd(&mut c, &["MGET", &a, &b]).await;
                assert_eq!(x, y, "a group was observed half done");
                if n == 0 {
                    started.fetch_add(1, Ordering::SeqCst);
                }
                n += 1;
                if finished {
                    break;
                }
            }
            n
        }));
    }
    for r in readers {
        reads += r.await.expect("reader");
    }
    let replies = writer.join().expect("writer");
    assert!(reads > 0);
    for (i, r) in replies.iter().enumerate() {
        assert_eq!(r, &format!("+OK\r\n:{}\r\n+OK\r\n", i + 1));
    }
    let (x, y): (String, String) = cmd(&mut c, &["MGET", &a, &b]).await;
    assert_eq!((x.as_str(), y.as_str()), ("3000", "3000"));
    // Counted as ordinary commands.
    let info: String = cmd(&mut c, &["INFO", "commandstats"]).await;
    assert!(info.contains("cmdstat_incr:calls=3000,"), "{info}");
}

#[tokio::test]
async fn a_group_replies_in_order_and_a_refused_command_does_not_stop_the_others() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let _: () = cmd(&mut c, &["HSET", "h", "f", "v"]).await;
    let (out, _) = group_replies(
        &s,
        &[
            &[b"SET", b"k", b"1"],
            &[b"GET", b"h"],    // WRONGTYPE at run time
            &[b"NOSUCH", b"x"], // refused: unknown
            &[b"KEYS", b"h*"],  // whole-database: the group holds every shard
            &[b"SAVE"],         // refused: locks on its own
            &[b"INCR", b"k"],
        ],
    );
    assert_eq!(
        out,
        "+OK\r\n\
         -WRONGTYPE Operation against a key holding the wrong kind of value\r\n\
         -ERR unknown command 'NOSUCH', with args beginning with: 'x' \r\n\
         *1\r\n$1\r\nh\r\n\
         -ERR 'save' cannot run in a group of commands yet\r\n\
         :2\r\n"
    );
}

// ---------------------------------------------------------------------------------------
// The write hook
// ---------------------------------------------------------------------------------------

/// What the observer saw.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Seen {
    Key(usize, Vec<u8>, &'static str),
    Db(usize, &'static str),
}

type Log = Arc<Mutex<Vec<Seen>>>;

fn observed_server() -> (TestServer, Log) {
    let log: Log = Arc::default();
    let sink = Arc::clone(&log);
    let s = TestServer::observed(Box::new(move |c: &Change<'_>| {
        let seen = match *c {
            Change::Key { db, key, event } => Seen::Key(db, key.to_vec(), event),
            Change::Db { db, event } => Seen::Db(db, event),
        };
        sink.lock().unwrap().push(seen);
    }));
    (s, log)
}

/// Every key of every database with its value and TTL, as text.
fn dataset(shared: &Shared) -> BTreeMap<(usize, Vec<u8>), String> {
    let now = now_ms();
    let mut out = BTreeMap::new();
    for d in 0..shared.keyspace.num_dbs() {
        shared.keyspace.db(d).for_each(now, |e| {
            let value = match (e.as_str(), e.as_hash()) {
                (Some(s), _) => format!("str:{}", String::from_utf8_lossy(s)),
                _ if e.as_list().is_some() => {
                    let items: Vec<String> = e
                        .as_list()
                        .into_iter()
                        .flat_map(|l| l.iter())
                        .map(|v| String::from_utf8_lossy(&v).into_owned())
                        .collect();
                    format!("list:{}", items.join(","))
                }
                _ if e.as_set().is_some() => {
                    let mut items: Vec<String> = e
                        .as_set()
                        .into_iter()
                        .flat_map(|s| s.iter())
                        .map(|m| String::from_utf8_lossy(&m.to_vec()).into_owned())
                        .collect();
                    items.sort();
                    format!("set:{}", items.join(","))
                }
                (_, Some(h)) => {
                    let mut fields: Vec<String> = h
                        .iter()
                        .map(|(f, v)| {
                            format!(
                                "{}={}",
                                String::from_utf8_lossy(f),
                                String::from_utf8_lossy(v)
                            )
                        })
                        .collect();
                    fields.sort();
                    format!("hash:{}", fields.join(","))
                }
                _ => match e.as_zset() {
                    Some(z) => format!("zset:{:?}", z.to_vec()),
                    None => "other".to_string(),
                },
            };
            out.insert(
                (d, e.key().to_vec()),
                format!("{value} ttl:{:?}", e.expire_at()),
            );
        });
    }
    out
}

/// The keys that differ between two datasets (added, removed or changed).
fn changed(
    before: &BTreeMap<(usize, Vec<u8>), String>,
    after: &BTreeMap<(usize, Vec<u8>), String>,
) -> BTreeSet<(usize, Vec<u8>)> {
    before
        .keys()
        .chain(after.keys())
        .filter(|k| before.get(*k) != after.get(*k))
        .cloned()
        .collect()
}

/// The state every scenario starts from (after FLUSHALL).
const SETUP: &[&[&str]] = &[
    &["SET", "s", "10"],
    &["SET", "s2", "hello"],
    &["HSET", "h", "f", "1", "g", "2"],
    &["SET", "ttl", "v", "PX", "100000000"],
    &["SELECT", "1"],
    &["SET", "other", "x"],
    &["SELECT", "0"],
];

/// For each write command (full name): extra setup, then the command whose
/// announcements are checked. Every change must be announced, nothing else.
fn scenarios() -> BTreeMap<&'static str, (Vec<Vec<String>>, Vec<String>)> {
    let far_secs = (now_ms() / 1000 + 100_000).to_string();
    let far_ms = (now_ms() + 100_000_000).to_string();
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let none = Vec::new;
    let mut m = BTreeMap::new();
    let mut add = |name: &'static str, setup: Vec<Vec<String>>, command: Vec<String>| {
        m.insert(name, (setup, command));
    };
    add("set", none(), v(&["SET", "s", "11"]));
    add("setnx", none(), v(&["SETNX", "new", "1"]));
    add("setex", none(), v(&["SETEX", "s", "100", "v"]));
    add("psetex", none(), v(&["PSETEX", "s", "100000", "v"]));
    add("getset", none(), v(&["GETSET", "s", "v"]));
    add("getdel", none(), v(&["GETDEL", "s"]));
    add("getex", none(), v(&["GETEX", "s", "EX", "100"]));
    add("mset", none(), v(&["MSET", "s", "1", "new", "2", "s", "3"]));
    add("msetnx", none(), v(&["MSETNX", "n1", "1", "n2", "2"]));
    add("append", none(), v(&["APPEND", "s2", "x"]));
    add("setrange", none(), v(&["SETRANGE", "s2", "1", "X"]));
    add("incr", none(), v(&["INCR", "s"]));
    add("decr", none(), v(&["DECR", "s"]));
    add("incrby", none(), v(&["INCRBY", "s", "5"]));
    add("decrby", none(), v(&["DECRBY", "s", "5"]));
    add("incrbyfloat", none(), v(&["INCRBYFLOAT", "s", "1.5"]));
    add("del", none(), v(&["DEL", "s", "h", "missing"]));
    add("unlink", none(), v(&["UNLINK", "s2"]));
    add("rename", none(), v(&["RENAME", "s", "s3"]));
    add("renamenx", none(), v(&["RENAMENX", "s", "s4"]));
    add(
        "copy",
        none(),
        v(&["COPY", "s", "other", "DB", "1", "REPLACE"]),
    );
    add("move", none(), v(&["MOVE", "s2", "1"]));
    add("expire", none(), v(&["EXPIRE", "s", "100"]));
    add("pexpire", none(), v(&["PEXPIRE", "s", "100000"]));
    add("expireat", none(), v(&["EXPIREAT", "s", &far_secs]));
    add("pexpireat", none(), v(&["PEXPIREAT", "s", &far_ms]));
    add("persist", none(), v(&["PERSIST", "ttl"]));
    let zsets = || {
        vec![
            v(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]),
            v(&["ZADD", "z2", "2", "b", "5", "e"]),
        ]
    };
    add("zadd", zsets(), v(&["ZADD", "z", "5", "a", "1", "new"]));
    add("zincrby", zsets(), v(&["ZINCRBY", "z", "1", "a"]));
    add("zrem", zsets(), v(&["ZREM", "z", "a", "b", "c", "x"]));
    add(
        "zrangestore",
        zsets(),
        v(&["ZRANGESTORE", "h", "z", "0", "1"]),
    );
    add("zpopmin", zsets(), v(&["ZPOPMIN", "z"]));
    add("zpopmax", zsets(), v(&["ZPOPMAX", "z", "3"]));
    add(
        "zmpop",
        zsets(),
        v(&["ZMPOP", "2", "nokey", "z", "MIN", "COUNT", "2"]),
    );
    add(
        "zremrangebyrank",
        zsets(),
        v(&["ZREMRANGEBYRANK", "z", "0", "0"]),
    );
    add(
        "zremrangebyscore",
        zsets(),
        v(&["ZREMRANGEBYSCORE", "z2", "-inf", "+inf"]),
    );
    add(
        "zremrangebylex",
        zsets(),
        v(&["ZREMRANGEBYLEX", "z", "-", "[b"]),
    );
    add(
        "zunionstore",
        zsets(),
        v(&["ZUNIONSTORE", "new", "2", "z", "z2"]),
    );
    add(
        "zinterstore",
        zsets(),
        v(&["ZINTERSTORE", "h", "2", "z", "z2"]),
    );
    add(
        "zdiffstore",
        zsets(),
        v(&["ZDIFFSTORE", "s", "2", "z", "z"]),
    );
    add("bzpopmin", zsets(), v(&["BZPOPMIN", "nokey", "z", "0"]));
    add("bzpopmax", zsets(), v(&["BZPOPMAX", "z2", "0"]));
    add(
        "bzmpop",
        zsets(),
        v(&["BZMPOP", "0", "1", "z", "MAX", "COUNT", "5"]),
    );
    add("hset", none(), v(&["HSET", "h", "f", "9", "n", "1"]));
    add("hsetnx", none(), v(&["HSETNX", "h", "new", "1"]));
    add("hmset", none(), v(&["HMSET", "h", "f", "2"]));
    add("hdel", none(), v(&["HDEL", "h", "f", "g"]));
    add("hincrby", none(), v(&["HINCRBY", "h", "f", "1"]));
    add(
        "hincrbyfloat",
        none(),
        v(&["HINCRBYFLOAT", "h", "f", "1.5"]),
    );
    add("hmerge", none(), v(&["HMERGE", "dst", "1", "h"]));
    add(
        "hmergevalues",
        none(),
        v(&["HMERGEVALUES", "h", "SUM", "f", "1"]),
    );
    add(
        "mmerge",
        none(),
        v(&["MMERGE", "SUM", "s", "1", "newk", "2"]),
    );
    let list = || vec![v(&["RPUSH", "l", "a", "b", "c", "a"])];
    add("lpush", none(), v(&["LPUSH", "l", "x", "y"]));
    add("rpush", list(), v(&["RPUSH", "l", "x"]));
    add("sort", list(), v(&["SORT", "l", "ALPHA", "STORE", "l2"]));
    add("lpushx", list(), v(&["LPUSHX", "l", "x"]));
    add("rpushx", list(), v(&["RPUSHX", "l", "x"]));
    add("lpop", list(), v(&["LPOP", "l", "10"]));
    add("rpop", list(), v(&["RPOP", "l"]));
    add("lset", list(), v(&["LSET", "l", "1", "B"]));
    add("linsert", list(), v(&["LINSERT", "l", "BEFORE", "c", "X"]));
    add("lrem", list(), v(&["LREM", "l", "0", "a"]));
    add("ltrim", list(), v(&["LTRIM", "l", "1", "1"]));
    add("lmove", list(), v(&["LMOVE", "l", "l2", "LEFT", "RIGHT"]));
    add("rpoplpush", list(), v(&["RPOPLPUSH", "l", "l"]));
    add(
        "lmpop",
        list(),
        v(&["LMPOP", "2", "none", "l", "RIGHT", "COUNT", "9"]),
    );
    add("blpop", list(), v(&["BLPOP", "none", "l", "0"]));
    add("brpop", list(), v(&["BRPOP", "l", "0"]));
    add(
        "blmove",
        list(),
        v(&["BLMOVE", "l", "l2", "RIGHT", "LEFT", "0"]),
    );
    add("brpoplpush", list(), v(&["BRPOPLPUSH", "l", "l2", "0"]));
    add(
        "blmpop",
        list(),
        v(&["BLMPOP", "0", "1", "l", "LEFT", "COUNT", "4"]),
    );
    let set = || {
        vec![
            v(&["SADD", "st", "1", "2", "x"]),
            v(&["SADD", "st2", "2", "y"]),
        ]
    };
    add("sadd", set(), v(&["SADD", "st", "3", "1"]));
    add("srem", set(), v(&["SREM", "st", "1", "nope"]));
    add("spop", set(), v(&["SPOP", "st", "5"]));
    add("smove", set(), v(&["SMOVE", "st", "st2", "x"]));
    add("sinterstore", set(), v(&["SINTERSTORE", "d", "st", "st2"]));
    add("sunionstore", set(), v(&["SUNIONSTORE", "st", "st", "st2"]));
    add(
        "sdiffstore",
        set(),
        v(&["SDIFFSTORE", "st2", "nokey", "st"]),
    );
    // DUMP of "v361" in Redis 7.0.15 (a payload that happens to be valid UTF-8).
    add(
        "restore",
        none(),
        v(&[
            "RESTORE",
            "s",
            "0",
            "\u{0}\u{4}v361\n\u{0}3%Hpy\u{16}6i",
            "REPLACE",
        ]),
    );
    // Functions change no key: nothing is announced.
    let lib = "#!lua name=spinelib\nredis.register_function('f', function() return 1 end)";
    add("function|load", none(), v(&["FUNCTION", "LOAD", lib]));
    add(
        "function|delete",
        vec![v(&["FUNCTION", "LOAD", lib])],
        v(&["FUNCTION", "DELETE", "spinelib"]),
    );
    add(
        "function|flush",
        vec![v(&["FUNCTION", "LOAD", lib])],
        v(&["FUNCTION", "FLUSH"]),
    );
    // Its payload is binary: the loop dumps and restores it (see the test's loop).
    add(
        "function|restore",
        vec![v(&["FUNCTION", "LOAD", lib])],
        v(&["FUNCTION", "RESTORE", "<the dump>", "REPLACE"]),
    );
    add("flushdb", none(), v(&["FLUSHDB"]));
    add("flushall", none(), v(&["FLUSHALL"]));
    add("swapdb", none(), v(&["SWAPDB", "0", "1"]));
    add(
        "snapshot|restore",
        vec![
            v(&["SNAPSHOT", "CREATE", "r1"]),
            v(&["SET", "s", "99"]),
            v(&["DEL", "h"]),
        ],
        v(&["SNAPSHOT", "RESTORE", "r1"]),
    );
    add(
        "snapshot|merge",
        vec![
            v(&["SNAPSHOT", "CREATE", "m1"]),
            v(&["DEL", "s"]),
            v(&["SET", "s2", "changed"]),
        ],
        v(&["SNAPSHOT", "MERGE", "m1", "KEEP"]),
    );
    m
}

/// Full names of the rows flagged `write`.
fn write_rows() -> Vec<String> {
    let mut names = Vec::new();
    for c in &TABLE.commands {
        if c.has(WRITE) {
            names.push(c.name.to_string());
        }
        for sub in c.subcommands {
            if sub.has(WRITE) {
                names.push(format!("{}|{}", c.name, sub.name));
            }
        }
    }
    names
}

async fn run(c: &mut redis::aio::MultiplexedConnection, args: &[String]) {
    let mut cmd = redis::cmd(&args[0]);
    for a in &args[1..] {
        cmd.arg(a);
    }
    let _: redis::Value = cmd
        .query_async(c)
        .await
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
}

/// Checks that `log` announces exactly the keys that differ between `before` and
/// `after`: a key-level announcement per changed key, or a database-level one
/// covering it, and no announcement for a key that did not change.
fn check(
    what: &str,
    log: &[Seen],
    before: &BTreeMap<(usize, Vec<u8>), String>,
    after: &BTreeMap<(usize, Vec<u8>), String>,
) {
    let diff = changed(before, after);
    let keys: BTreeSet<(usize, Vec<u8>)> = log
        .iter()
        .filter_map(|s| match s {
            Seen::Key(d, k, _) => Some((*d, k.clone())),
            Seen::Db(..) => None,
        })
        .collect();
    let dbs: BTreeSet<usize> = log
        .iter()
        .filter_map(|s| match s {
            Seen::Db(d, _) => Some(*d),
            Seen::Key(..) => None,
        })
        .collect();
    if what.starts_with("function|") {
        // Functions are not keys: nothing changes in the dataset, nothing is told.
        assert!(
            diff.is_empty() && log.is_empty(),
            "{what}: {diff:?} {log:?}"
        );
        return;
    }
    assert!(!log.is_empty(), "{what}: nothing announced (diff {diff:?})");
    for k in &diff {
        assert!(
            keys.contains(k) || dbs.contains(&k.0),
            "{what}: change of {k:?} not announced; log {log:?}"
        );
    }
    for k in &keys {
        assert!(
            diff.contains(k),
            "{what}: announced {k:?} which did not change; log {log:?}"
        );
    }
    for d in &dbs {
        assert!(
            diff.iter().any(|(db, _)| db == d),
            "{what}: announced database {d}, in which nothing changed; log {log:?}"
        );
    }
}

#[tokio::test]
async fn every_write_command_announces_exactly_the_keys_it_changed() {
    let (s, log) = observed_server();
    let shared = Arc::clone(s.handle().shared());
    let mut c = s.conn().await;
    let scenarios = scenarios();
    let rows = write_rows();
    let missing: Vec<&String> = rows
        .iter()
        .filter(|r| !scenarios.contains_key(r.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "write commands without a scenario: {missing:?}"
    );
    assert!(rows.len() >= 40, "{rows:?}");
    for name in &rows {
        let (setup, command) = &scenarios[name.as_str()];
        run(&mut c, &["FLUSHALL".to_string()]).await;
        for step in SETUP {
            let step: Vec<String> = step.iter().map(|s| s.to_string()).collect();
            run(&mut c, &step).await;
        }
        for step in setup {
            run(&mut c, step).await;
        }
        let before = dataset(&shared);
        if name == "function|restore" {
            let dump: Vec<u8> = cmd(&mut c, &["FUNCTION", "DUMP"]).await;
            log.lock().unwrap().clear();
            let mut restore = redis::cmd("FUNCTION");
            restore.arg("RESTORE").arg(dump).arg("REPLACE");
            let _: () = restore.query_async(&mut c).await.expect("FUNCTION RESTORE");
        } else {
            log.lock().unwrap().clear();
            run(&mut c, command).await;
        }
        let after = dataset(&shared);
        let seen = log.lock().unwrap().clone();
        check(name, &seen, &before, &after);
        for snap in ["r1", "m1"] {
            let _ = try_cmd::<redis::Value>(&mut c, &["SNAPSHOT", "DROP", snap]).await;
        }
        let _ = try_cmd::<redis::Value>(&mut c, &["FUNCTION", "FLUSH"]).await;
    }
}

#[tokio::test]
async fn expiry_lazy_and_active_is_announced() {
    let (s, log) = observed_server();
    let shared = Arc::clone(s.handle().shared());
    let mut c = s.conn().await;
    // Lazy: a read finds the key expired and removes it.
    let _: () = cmd(&mut c, &["SET", "lazy", "v", "PX", "30"]).await;
    tokio::time::sleep(Duration::from_millis(60)).await;
    log.lock().unwrap().clear();
    let v: Option<String> = cmd(&mut c, &["GET", "lazy"]).await;
    assert_eq!(v, None);
    assert_eq!(
        log.lock().unwrap().clone(),
        vec![Seen::Key(0, b"lazy".to_vec(), "expired")]
    );
    // Active: the expiry cycle removes a key nobody reads.
    log.lock().unwrap().clear();
    let _: () = cmd(&mut c, &["SET", "active", "v", "PX", "30"]).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !shared.keyspace.db(0).is_empty() {
        assert!(Instant::now() < deadline, "the expiry cycle never ran");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seen = log.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![
            Seen::Key(0, b"active".to_vec(), "set"),
            Seen::Key(0, b"active".to_vec(), "expired")
        ]
    );
}

#[tokio::test]
async fn loading_a_dump_is_announced() {
    let dir = TempDir::new("spine-load");
    {
        let s = TestServer::with(|c| c.dir = dir.path().display().to_string());
        let mut c = s.conn().await;
        let _: () = cmd(&mut c, &["SET", "k", "v"]).await;
        let _: () = cmd(&mut c, &["SAVE"]).await;
    }
    let log: Log = Arc::default();
    let sink = Arc::clone(&log);
    let config = shoal_server::config::Config {
        bind: vec!["127.0.0.1".into()],
        port: 0,
        capacity: 1000,
        dir: dir.path().display().to_string(),
        ..Default::default()
    };
    let handle = shoal_server::Server::start_observed(
        config,
        Box::new(move |c: &Change<'_>| {
            if let Change::Db { db, event } = *c {
                sink.lock().unwrap().push(Seen::Db(db, event));
            }
        }),
    )
    .expect("start");
    assert_eq!(log.lock().unwrap().clone(), vec![Seen::Db(0, "replaced")]);
    handle.shutdown();
}
