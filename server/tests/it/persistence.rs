//! Persistence: SAVE, BGSAVE, LASTSAVE, save points, the change counter (command by
//! command against redis-server), FLUSHALL's dump rewrite, load at start, shutdown
//! saves, MISCONF, LOADING, and interoperability with Redis 7.0 both ways:
//! `redis-check-rdb` accepts Shoal's dumps, `redis-server` loads them with the same
//! keys, values and TTLs, and Shoal loads dumps that `redis-server` wrote (generated
//! here, by running it). These tests need `redis-server` and `redis-check-rdb`
//! (package redis-server).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use shoal_server::config::Config;
use shoal_server::error::{LOADING as LOADING_ERR, MISCONF as MISCONF_ERR};
use shoal_server::Server;
use shoal_storage::{Entry, HashValue, Value, ZsetLimits, ZsetValue};

use crate::common::*;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// A data directory that [`FailingDir::break_it`] turns into a file, so that every
/// save into it fails (ENOTDIR) while the server keeps running.
struct FailingDir {
    _base: TempDir,
    path: PathBuf,
}

impl FailingDir {
    fn new(name: &str) -> FailingDir {
        let base = TempDir::new(name);
        let path = base.path().join("data");
        std::fs::create_dir(&path).unwrap();
        FailingDir { _base: base, path }
    }

    /// A Shoal test server persisting into this directory.
    fn server(&self, tweak: impl FnOnce(&mut Config)) -> TestServer {
        let d = self.path.display().to_string();
        TestServer::with(|c| {
            c.dir = d;
            tweak(c);
        })
    }

    /// The directory becomes a file: saves fail from now on.
    fn break_it(&self) {
        std::fs::remove_dir(&self.path).unwrap();
        std::fs::write(&self.path, b"not a directory").unwrap();
    }

    /// A directory again: saves succeed.
    fn repair(&self) {
        std::fs::remove_file(&self.path).unwrap();
        std::fs::create_dir(&self.path).unwrap();
    }
}

/// A Shoal test server persisting into `dir`.
fn shoal_in(dir: &TempDir, tweak: impl FnOnce(&mut Config)) -> TestServer {
    let d = dir.str();
    TestServer::with(|c| {
        c.dir = d;
        tweak(c);
    })
}

/// A config like TestServer's, for tests that call `Server::start` themselves.
fn config_in(dir: &TempDir) -> Config {
    Config {
        bind: vec!["127.0.0.1".into()],
        port: 0,
        capacity: 1000,
        dir: dir.str(),
        ..Config::default()
    }
}

fn start_err(config: Config) -> String {
    match Server::start(config) {
        Ok(h) => {
            h.shutdown();
            panic!("the server started")
        }
        Err(e) => e.to_string(),
    }
}

/// A command with binary arguments.
async fn q<T: redis::FromRedisValue>(c: &mut MultiplexedConnection, args: &[&[u8]]) -> T {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).unwrap());
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query_async(c)
        .await
        .unwrap_or_else(|e| panic!("{:?} failed: {e}", String::from_utf8_lossy(args[0])))
}

async fn info_field(c: &mut MultiplexedConnection, name: &str) -> String {
    let text: String = cmd(c, &["INFO", "persistence"]).await;
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in INFO"))
        .to_string()
}

/// Waits until no background save runs.
async fn wait_bgsave(c: &mut MultiplexedConnection) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while info_field(c, "rdb_bgsave_in_progress").await != "0" {
        assert!(Instant::now() < deadline, "BGSAVE did not finish");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Val {
    Str(Vec<u8>),
    Hash(BTreeMap<Vec<u8>, Vec<u8>>),
    /// (member, score as Redis 7.0 prints it), in order.
    Zset(Vec<(Vec<u8>, Vec<u8>)>),
    List(Vec<Vec<u8>>),
    Set(std::collections::BTreeSet<Vec<u8>>),
}

/// (db, key) -> (value, absolute expiry in unix ms).
type Contents = BTreeMap<(usize, Vec<u8>), (Val, Option<i64>)>;

/// Everything a Shoal server holds, read from its keyspace.
fn shoal_contents(s: &TestServer) -> Contents {
    let ks = &s.handle().shared().keyspace;
    let now = shoal_server::state::now_ms();
    let mut all = Contents::new();
    for d in 0..ks.num_dbs() {
        ks.db(d).for_each(now, |e| {
            let v = match e.value() {
                Value::Str(s) => Val::Str(s.to_vec()),
                Value::Hash(h) => {
                    Val::Hash(h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect())
                }
                Value::Zset(z) => Val::Zset(
                    z.to_vec()
                        .into_iter()
                        .map(|(s, m)| {
                            let mut t = Vec::new();
                            shoal_storage::zset::format_score(s, &mut t);
                            (m, t)
                        })
                        .collect(),
                ),
                Value::List(l) => Val::List(l.iter().map(|e| e.to_vec()).collect()),
                Value::Set(s) => Val::Set(s.iter().map(|m| m.to_vec()).collect()),
            };
            all.insert((d, e.key().to_vec()), (v, e.expire_at()));
        });
    }
    all
}

/// Everything a Redis server holds, read with commands (PEXPIRETIME is exact).
async fn redis_contents(c: &mut MultiplexedConnection) -> Contents {
    let mut all = Contents::new();
    for d in 0..16 {
        cmd::<()>(c, &["SELECT", &d.to_string()]).await;
        let keys: Vec<Vec<u8>> = cmd(c, &["KEYS", "*"]).await;
        for k in keys {
            let t: String = q(c, &[b"TYPE", &k]).await;
            let v = match t.as_str() {
                "string" => Val::Str(q(c, &[b"GET", &k]).await),
                "hash" => Val::Hash(q(c, &[b"HGETALL", &k]).await),
                "zset" => Val::Zset(q(c, &[b"ZRANGE", &k, b"0", b"-1", b"WITHSCORES"]).await),
                "list" => Val::List(q(c, &[b"LRANGE", &k, b"0", b"-1"]).await),
                "set" => Val::Set(q(c, &[b"SMEMBERS", &k]).await),
                other => panic!("unexpected type {other}"),
            };
            let exp: i64 = q(c, &[b"PEXPIRETIME", &k]).await;
            all.insert((d, k), (v, (exp >= 0).then_some(exp)));
        }
    }
    cmd::<()>(c, &["SELECT", "0"]).await;
    all
}

/// A redis-server child process, killed on drop.
struct RedisProc {
    child: Child,
    port: u16,
}

impl RedisProc {
    /// Starts redis-server 7.0 on a free port, loading `dir/dump.rdb` if present,
    /// without save points; returns once it answers PING (loading done).
    async fn start(dir: &TempDir) -> (RedisProc, MultiplexedConnection) {
        let port = free_port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--dir", &dir.str(), "--dbfilename", "dump.rdb"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        let p = RedisProc { child, port };
        let url = format!("redis://127.0.0.1:{}/", p.port);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            assert!(Instant::now() < deadline, "redis-server did not start");
            if let Ok(client) = redis::Client::open(url.as_str()) {
                if let Ok(mut c) = client.get_multiplexed_async_connection().await {
                    if try_cmd::<String>(&mut c, &["PING"]).await.is_ok() {
                        return (p, c);
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for RedisProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs redis-check-rdb on `file`; asserts it is happy and returns its output.
fn check_rdb(file: &Path) -> String {
    let out = Command::new("redis-check-rdb")
        .arg(file)
        .output()
        .expect("redis-check-rdb is installed");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && text.contains("RDB looks OK"),
        "redis-check-rdb refused {}:\n{text}{}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

fn put_hash(s: &TestServer, db: usize, key: &[u8], pairs: &[(Vec<u8>, Vec<u8>)], ttl: Option<i64>) {
    let mut h = HashValue::new();
    for (f, v) in pairs {
        h.insert_within(f, v, Default::default());
    }
    let ks = &s.handle().shared().keyspace;
    let d = ks.db(db);
    let hash = d.hash(key);
    d.lock(hash).insert(
        hash,
        Entry::new_hash(key, h, ttl),
        shoal_server::state::now_ms(),
    );
}

fn put_zset(s: &TestServer, db: usize, key: &[u8], items: &[(&[u8], f64)], ttl: Option<i64>) {
    let mut z = ZsetValue::new();
    for (m, sc) in items {
        z.insert(m, *sc, ZsetLimits::default());
    }
    let ks = &s.handle().shared().keyspace;
    let d = ks.db(db);
    let hash = d.hash(key);
    d.lock(hash).insert(
        hash,
        Entry::new_zset(key, z, ttl),
        shoal_server::state::now_ms(),
    );
}

/// Fills a Shoal server with every kind of value: strings in each RDB encoding,
/// small and large hashes (inserted through the keyspace: HSET is another family's),
/// TTLs, several databases.
async fn fill_shoal(s: &TestServer) {
    let mut c = s.conn().await;
    let random: Vec<u8> = (0..3000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    let strings: Vec<(&[u8], Vec<u8>)> = vec![
        (b"empty", b"".to_vec()),
        (b"word", b"hello".to_vec()),
        (b"int8", b"-100".to_vec()),
        (b"int16", b"12345".to_vec()),
        (b"int32", b"-2000000000".to_vec()),
        (b"int64", b"9223372036854775807".to_vec()),
        (b"zero-padded", b"007".to_vec()),
        (b"compressible", b"abc".repeat(300)),
        (b"random", random),
        (b"bin\x00\xffkey", vec![0, 255, 1, 254, b'\r', b'\n']),
        (b"42", b"numeric key".to_vec()),
        (b"kilobyte", vec![b'x'; 1024]),
    ];
    for (k, v) in &strings {
        q::<()>(&mut c, &[b"SET", k, v]).await;
    }
    cmd::<()>(&mut c, &["SET", "ttl", "soon", "PX", "5000000"]).await;
    cmd::<()>(&mut c, &["SET", "ttl-int", "7", "EX", "86400"]).await;
    cmd::<()>(&mut c, &["SELECT", "5"]).await;
    cmd::<()>(&mut c, &["SET", "in-db5", "five"]).await;
    cmd::<()>(&mut c, &["SELECT", "15"]).await;
    cmd::<()>(&mut c, &["SET", "in-db15", "fifteen", "PX", "7000000"]).await;
    let small: Vec<(Vec<u8>, Vec<u8>)> = vec![
        (b"f1".to_vec(), b"v1".to_vec()),
        (b"n".to_vec(), b"100".to_vec()),
        (b"".to_vec(), b"empty field".to_vec()),
    ];
    put_hash(s, 0, b"hash-small", &small, None);
    let large: Vec<(Vec<u8>, Vec<u8>)> = (0..300)
        .map(|i| {
            (
                format!("field:{i}").into_bytes(),
                format!("{}", i * 7).into_bytes(),
            )
        })
        .collect();
    let far = shoal_server::state::now_ms() + 9_000_000;
    put_hash(s, 0, b"hash-large", &large, Some(far));
    let long_value = vec![(b"f".to_vec(), b"long value ".repeat(20))];
    put_hash(s, 3, b"hash-long-value", &long_value, None);
    // Sorted sets: packed (listpack, type 17) with every kind of score and integer
    // members, and tree-form (type 5) by count and by member length.
    let small: Vec<(&[u8], f64)> = vec![
        (b"a", 1.0),
        (b"12", 0.1),
        (b"-7000", -4096.0),
        (b"", f64::INFINITY),
        (b"low", f64::NEG_INFINITY),
        (b"huge", 1e300),
        (b"frac", -70000.5),
        (b"big-int", 9_007_199_254_740_993.0),
    ];
    put_zset(s, 0, b"zset-small", &small, Some(far));
    let names: Vec<String> = (0..300).map(|i| format!("member:{i}")).collect();
    let many: Vec<(&[u8], f64)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_bytes(), i as f64 / 7.0))
        .collect();
    put_zset(s, 0, b"zset-many", &many, None);
    let long = b"long member ".repeat(10);
    put_zset(s, 5, b"zset-long", &[(&long, 2.5), (b"short", -0.0)], None);
    fill_lists(&mut c).await;
}

/// Lists of every shape: a small one (integers, an empty element), one of many
/// 8 KiB nodes with elements of every listpack string size (one larger than a
/// node), one with a TTL in another database. Leaves database 0 selected.
async fn fill_lists(c: &mut MultiplexedConnection) {
    cmd::<()>(c, &["SELECT", "0"]).await;
    cmd::<()>(c, &["RPUSH", "list-small", "a", "", "12", "-7", "x"]).await;
    for i in 0..5000 {
        let v = match i % 1000 {
            0 => "y".repeat(70),
            1 => "z".repeat(5000),
            2 => "w".repeat(20_000),
            _ => format!("{i}"),
        };
        cmd::<()>(c, &["RPUSH", "list-big", &v]).await;
    }
    cmd::<()>(c, &["SELECT", "2"]).await;
    cmd::<()>(c, &["LPUSH", "list-ttl", "one", "two"]).await;
    cmd::<()>(c, &["PEXPIRE", "list-ttl", "8000000"]).await;
    cmd::<()>(c, &["SELECT", "0"]).await;
    fill_sets(c).await;
}

/// Sets of every encoding: intsets of 16, 32 and 64-bit members, a set of strings, a
/// large all-integer set (past the intset limit), one with a TTL.
async fn fill_sets(c: &mut MultiplexedConnection) {
    cmd::<()>(c, &["SADD", "set-int16", "1", "-3", "32767"]).await;
    cmd::<()>(c, &["SADD", "set-int32", "70000", "-2"]).await;
    cmd::<()>(c, &["SADD", "set-int64", "-9223372036854775808", "5"]).await;
    cmd::<()>(
        c,
        &[
            "SADD",
            "set-strings",
            "a",
            "",
            "12",
            "0012",
            &"long".repeat(30),
        ],
    )
    .await;
    for i in 0..600 {
        cmd::<()>(c, &["SADD", "set-many-ints", &i.to_string()]).await;
    }
    cmd::<()>(c, &["SADD", "set-ttl", "x"]).await;
    cmd::<()>(c, &["PEXPIRE", "set-ttl", "8000000"]).await;
}

// ---------------------------------------------------------------------------------------
// Shoal -> Shoal, redis-check-rdb, redis-server
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn shoal_dumps_reload_in_shoal_and_redis_and_pass_redis_check_rdb() {
    for compression in ["yes", "no"] {
        let dir = TempDir::new("interop");
        let s = shoal_in(&dir, |c| c.rdbcompression = compression == "yes");
        fill_shoal(&s).await;
        let expected = shoal_contents(&s);
        assert_eq!(expected.len(), 31);
        let mut c = s.conn().await;
        let before: i64 = cmd(&mut c, &["LASTSAVE"]).await;
        assert_eq!(cmd::<String>(&mut c, &["SAVE"]).await, "OK");
        assert!(cmd::<i64>(&mut c, &["LASTSAVE"]).await >= before);
        drop(c);
        s.stop();

        let report = check_rdb(&dir.dump());
        assert!(report.contains("31 keys read"), "{report}");
        assert!(report.contains("redis-ver = '7.0.15'"), "{report}");
        assert!(!dir
            .path()
            .join(format!("temp-{}.rdb", std::process::id()))
            .exists());

        // Shoal restarted on the same directory.
        let s = shoal_in(&dir, |_| {});
        assert_eq!(shoal_contents(&s), expected, "compression {compression}");
        let mut c = s.conn().await;
        assert_eq!(info_field(&mut c, "rdb_last_load_keys_loaded").await, "31");
        assert_eq!(info_field(&mut c, "rdb_last_load_keys_expired").await, "0");
        drop(c);
        s.stop();

        // Redis 7.0 on the same file.
        let (_redis, mut r) = RedisProc::start(&dir).await;
        assert_eq!(
            redis_contents(&mut r).await,
            expected,
            "compression {compression}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// redis-server -> Shoal
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn shoal_loads_what_redis_writes() {
    let dir = TempDir::new("from-redis");
    let (redis, mut r) = RedisProc::start(&dir).await;
    let random: Vec<u8> = (0..500u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 9) as u8)
        .collect();
    let strings: Vec<(&[u8], Vec<u8>)> = vec![
        (b"short", b"hi".to_vec()),
        (b"empty", b"".to_vec()),
        (b"int-small", b"7".to_vec()),
        (b"int-neg", b"-12345".to_vec()),
        (b"int-big", b"100000".to_vec()),
        (b"int-64", b"9999999999".to_vec()),
        (b"zero", b"0".to_vec()),
        (b"lzf", b"a".repeat(100)),
        (
            b"lzf-text",
            b"Redis compresses strings longer than 20 bytes. ".repeat(8),
        ),
        (b"incompressible", random),
        (b"bin\x00key", vec![0, 1, 2, 3, 255]),
    ];
    for (k, v) in &strings {
        q::<()>(&mut r, &[b"SET", k, v]).await;
    }
    // Hashes: listpack (small), hashtable by count, hashtable by value length,
    // listpack with integer fields and values.
    q::<()>(
        &mut r,
        &[b"HSET", b"h-small", b"a", b"1", b"b", b"two", b"c", b""],
    )
    .await;
    // More fields than hash-max-listpack-entries (512).
    for i in 0..600 {
        let (f, v) = (format!("f{i}"), format!("value-{i}"));
        cmd::<()>(&mut r, &["HSET", "h-many", &f, &v]).await;
    }
    let long = "x".repeat(100);
    cmd::<()>(&mut r, &["HSET", "h-long", "short", "1", "long", &long]).await;
    cmd::<()>(
        &mut r,
        &[
            "HSET",
            "h-ints",
            "1",
            "-1",
            "300",
            "70000",
            "-5",
            "4294967296",
        ],
    )
    .await;
    // Sorted sets: listpack, skiplist by count and by member length.
    cmd::<()>(
        &mut r,
        &[
            "ZADD", "z-small", "1", "a", "0.1", "b", "-inf", "c", "+inf", "d", "1e300", "12", "-0",
            "zero", "3", "-5000",
        ],
    )
    .await;
    for i in 0..200 {
        let (sc, m) = (format!("{}", i as f64 / 3.0), format!("m{i}"));
        cmd::<()>(&mut r, &["ZADD", "z-many", &sc, &m]).await;
    }
    cmd::<()>(&mut r, &["ZADD", "z-long", "1", "s", "2", &long]).await;
    cmd::<()>(&mut r, &["PEXPIRE", "z-small", "8000000"]).await;
    // Lists: Redis 7.0 writes quicklists of listpacks (type 18); with compression
    // on, the inner nodes are LZF-compressed.
    fill_lists(&mut r).await;
    cmd::<()>(&mut r, &["CONFIG", "SET", "list-compress-depth", "1"]).await;
    for i in 0..3000 {
        let v = format!("compressible element number {i} ").repeat(3);
        cmd::<()>(&mut r, &["RPUSH", "list-compressed", &v]).await;
    }
    cmd::<()>(&mut r, &["PEXPIRE", "h-small", "8000000"]).await;
    cmd::<()>(&mut r, &["PEXPIRE", "lzf", "9000000"]).await;
    cmd::<()>(&mut r, &["EXPIRE", "int-small", "86400"]).await;
    cmd::<()>(&mut r, &["SELECT", "7"]).await;
    cmd::<()>(&mut r, &["SET", "db7", "seven"]).await;
    cmd::<()>(&mut r, &["HSET", "h-db7", "k", "v"]).await;
    cmd::<()>(&mut r, &["SELECT", "0"]).await;
    let encodings: Vec<String> = vec![
        cmd(&mut r, &["OBJECT", "ENCODING", "h-small"]).await,
        cmd(&mut r, &["OBJECT", "ENCODING", "h-many"]).await,
        cmd(&mut r, &["OBJECT", "ENCODING", "h-long"]).await,
        cmd(&mut r, &["OBJECT", "ENCODING", "int-small"]).await,
        cmd(&mut r, &["OBJECT", "ENCODING", "z-small"]).await,
        cmd(&mut r, &["OBJECT", "ENCODING", "z-many"]).await,
        cmd(&mut r, &["OBJECT", "ENCODING", "z-long"]).await,
    ];
    assert_eq!(
        encodings,
        [
            "listpack",
            "hashtable",
            "hashtable",
            "int",
            "listpack",
            "skiplist",
            "skiplist"
        ]
    );
    let expected = redis_contents(&mut r).await;
    // Expires between Redis's save and Shoal's load: skipped and counted.
    cmd::<()>(&mut r, &["SET", "short-lived", "x", "PX", "300"]).await;
    let saved_at = Instant::now();
    assert_eq!(cmd::<String>(&mut r, &["SAVE"]).await, "OK");
    drop(r);
    drop(redis);
    check_rdb(&dir.dump());
    let wait = Duration::from_millis(350).saturating_sub(saved_at.elapsed());
    tokio::time::sleep(wait).await;

    let s = shoal_in(&dir, |_| {});
    assert_eq!(shoal_contents(&s), expected);
    let mut c = s.conn().await;
    assert_eq!(
        info_field(&mut c, "rdb_last_load_keys_loaded").await,
        expected.len().to_string()
    );
    assert_eq!(info_field(&mut c, "rdb_last_load_keys_expired").await, "1");
    assert_eq!(
        cmd::<Vec<u8>>(&mut c, &["GET", "lzf"]).await,
        b"a".repeat(100)
    );
    assert_eq!(cmd::<i64>(&mut c, &["INCR", "int-neg"]).await, -12344);
    // Sorted sets come back in the encodings Redis had them in (packed by the limits).
    for (key, enc) in [
        ("z-small", "listpack"),
        ("z-many", "skiplist"),
        ("z-long", "skiplist"),
    ] {
        assert_eq!(
            cmd::<String>(&mut c, &["OBJECT", "ENCODING", key]).await,
            enc,
            "{key}"
        );
    }
    assert_eq!(
        cmd::<Option<String>>(&mut c, &["ZSCORE", "z-small", "zero"]).await,
        Some("0".to_string())
    );
}

#[tokio::test]
async fn a_dump_with_a_type_shoal_lacks_is_refused_by_name() {
    let dir = TempDir::new("stream");
    let (redis, mut r) = RedisProc::start(&dir).await;
    cmd::<()>(&mut r, &["SET", "a", "1"]).await;
    cmd::<String>(&mut r, &["XADD", "mystream", "*", "x", "y"]).await;
    cmd::<()>(&mut r, &["SET", "z", "2"]).await;
    assert_eq!(cmd::<String>(&mut r, &["SAVE"]).await, "OK");
    drop(r);
    drop(redis);
    let before = std::fs::read(dir.dump()).unwrap();
    let e = start_err(config_in(&dir));
    assert!(e.contains(&dir.dump().display().to_string()), "{e}");
    assert!(
        e.contains("'mystream'") && e.contains("holds a stream"),
        "{e}"
    );
    assert!(e.contains("offset"), "{e}");
    assert_eq!(
        std::fs::read(dir.dump()).unwrap(),
        before,
        "the file is untouched"
    );
}

// ---------------------------------------------------------------------------------------
// Corrupt and truncated files
// ---------------------------------------------------------------------------------------

/// A valid Shoal dump of a few keys in `dir`.
async fn write_dump(dir: &TempDir) -> Vec<u8> {
    let s = shoal_in(dir, |_| {});
    let mut c = s.conn().await;
    for i in 0..50 {
        cmd::<()>(&mut c, &["SET", &format!("key:{i}"), &"v".repeat(i)]).await;
    }
    assert_eq!(cmd::<String>(&mut c, &["SAVE"]).await, "OK");
    drop(c);
    s.stop();
    std::fs::read(dir.dump()).unwrap()
}

#[tokio::test]
async fn corrupt_or_truncated_dumps_stop_the_start_with_file_and_offset() {
    let dir = TempDir::new("corrupt");
    let good = write_dump(&dir).await;
    let path = dir.dump().display().to_string();

    let cut = good.len() - 100;
    std::fs::write(dir.dump(), &good[..cut]).unwrap();
    let e = start_err(config_in(&dir));
    assert!(e.contains(&path), "{e}");
    assert!(
        e.contains(&format!("unexpected end of file at offset {cut}")),
        "{e}"
    );
    assert_eq!(std::fs::read(dir.dump()).unwrap(), &good[..cut]);

    let mut flipped = good.clone();
    flipped[good.len() - 3] ^= 0x20;
    std::fs::write(dir.dump(), &flipped).unwrap();
    let e = start_err(config_in(&dir));
    let at = format!("checksum mismatch at offset {}", good.len() - 8);
    assert!(e.contains(&path) && e.contains(&at), "{e}");
    assert_eq!(std::fs::read(dir.dump()).unwrap(), flipped);

    std::fs::write(dir.dump(), b"this is not a dump at all").unwrap();
    let e = start_err(config_in(&dir));
    assert!(
        e.contains("not an RDB file") && e.contains("offset 0"),
        "{e}"
    );

    // The binary: one line on stderr naming file and offset, exit code 1.
    std::fs::write(dir.dump(), &good[..cut]).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_shoal"))
        .args([
            "--config",
            "",
            "--port",
            &free_port().to_string(),
            "--dir",
            &dir.str(),
        ])
        .stdout(Stdio::null())
        .output()
        .expect("run shoal");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&path) && stderr.contains(&format!("offset {cut}")),
        "{stderr}"
    );
    assert_eq!(std::fs::read(dir.dump()).unwrap(), &good[..cut]);
}

// ---------------------------------------------------------------------------------------
// BGSAVE, LASTSAVE, INFO
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn bgsave_is_a_point_in_time_while_writes_continue() {
    let dir = TempDir::new("bgsave");
    let s = shoal_in(&dir, |c| c.capacity = 100_000);
    let mut c = s.conn().await;
    let n = 100_000;
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let mut mset = vec!["MSET".to_string()];
        for i in chunk {
            mset.push(format!("key:{i}"));
            mset.push(format!("value-{i}-{}", "p".repeat(64)));
        }
        let args: Vec<&str> = mset.iter().map(String::as_str).collect();
        cmd::<()>(&mut c, &args).await;
    }
    let expected = shoal_contents(&s);
    assert_eq!(expected.len(), n);

    // LASTSAVE is the start time until a save; make sure a second has passed.
    let start: i64 = cmd(&mut c, &["LASTSAVE"]).await;
    while shoal_server::state::now_ms() / 1000 <= start {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // One batch: the save starts, a second BGSAVE and a SAVE find it running.
    let mut raw = s.raw().await;
    let mut batch = encode(&[b"BGSAVE"]);
    batch.extend(encode(&[b"BGSAVE", b"SCHEDULE"]));
    batch.extend(encode(&[b"SAVE"]));
    raw.send(&batch).await;
    raw.expect(
        b"+Background saving started\r\n-ERR Background save already in progress\r\n\
          -ERR Background save already in progress\r\n",
    )
    .await;

    // Writes continue meanwhile: overwrites, deletes, new keys.
    let mut writes = 0;
    while info_field(&mut c, "rdb_bgsave_in_progress").await == "1" {
        for _ in 0..50 {
            let i = writes % n;
            cmd::<()>(&mut c, &["SET", &format!("key:{i}"), "changed"]).await;
            cmd::<()>(&mut c, &["SET", &format!("new:{writes}"), "x"]).await;
            cmd::<i64>(&mut c, &["DEL", &format!("key:{}", n - 1 - i)]).await;
            writes += 1;
        }
    }
    wait_bgsave(&mut c).await;
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status").await, "ok");
    assert_ne!(info_field(&mut c, "rdb_last_bgsave_time_sec").await, "-1");
    assert_eq!(info_field(&mut c, "rdb_saves").await, "1");
    let last: i64 = cmd(&mut c, &["LASTSAVE"]).await;
    assert!(last > start, "LASTSAVE moved: {start} -> {last}");
    assert_eq!(
        info_field(&mut c, "rdb_last_save_time").await,
        last.to_string()
    );
    drop(c);
    drop(raw);
    s.stop();

    let s = shoal_in(&dir, |c| c.capacity = 100_000);
    assert!(
        shoal_contents(&s) == expected,
        "the dump is the state at BGSAVE"
    );
}

#[tokio::test]
async fn bgsave_arguments_changes_counter_and_lastsave_arity() {
    let dir = TempDir::new("args");
    let s = shoal_in(&dir, |_| {});
    let mut c = s.conn().await;
    assert_eq!(err(&mut c, &["BGSAVE", "now"]).await, "ERR syntax error");
    assert_eq!(
        err(&mut c, &["BGSAVE", "SCHEDULE", "x"]).await,
        "ERR syntax error"
    );
    assert_eq!(
        err(&mut c, &["SAVE", "x"]).await,
        "ERR wrong number of arguments for 'save' command"
    );
    assert_eq!(
        err(&mut c, &["LASTSAVE", "x"]).await,
        "ERR wrong number of arguments for 'lastsave' command"
    );
    assert_eq!(info_field(&mut c, "rdb_changes_since_last_save").await, "0");
    cmd::<()>(&mut c, &["SET", "a", "1"]).await;
    cmd::<()>(&mut c, &["SET", "b", "2"]).await;
    cmd::<Option<String>>(&mut c, &["GET", "a"]).await;
    assert!(try_cmd::<i64>(&mut c, &["INCR", "nan"]).await.is_ok());
    cmd::<()>(&mut c, &["SET", "nan", "x"]).await;
    assert!(try_cmd::<i64>(&mut c, &["INCR", "nan"]).await.is_err());
    // One per key written (the failed INCR and the GET count nothing).
    assert_eq!(info_field(&mut c, "rdb_changes_since_last_save").await, "4");
    assert_eq!(
        cmd::<String>(&mut c, &["BGSAVE", "schedule"]).await,
        "Background saving started"
    );
    wait_bgsave(&mut c).await;
    assert_eq!(info_field(&mut c, "rdb_changes_since_last_save").await, "0");
    assert_eq!(info_field(&mut c, "current_save_keys_total").await, "0");
    check_rdb(&dir.dump());
    let info: String = cmd(&mut c, &["INFO", "persistence"]).await;
    assert!(
        info.contains("\r\naof_enabled:0\r\naof_supported:0\r\n"),
        "{info}"
    );
}

#[tokio::test]
async fn save_points_trigger_a_background_save() {
    let dir = TempDir::new("savepoints");
    let s = shoal_in(&dir, |c| c.save = "1 2".into());
    let mut c = s.conn().await;
    cmd::<()>(&mut c, &["SET", "a", "1"]).await;
    // One change is not enough for "1 2", however long we wait past the second.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert!(!dir.dump().exists());
    cmd::<()>(&mut c, &["SET", "b", "2"]).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while info_field(&mut c, "rdb_saves").await != "1" {
        assert!(Instant::now() < deadline, "no save point save");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(dir.dump().exists());
    assert_eq!(info_field(&mut c, "rdb_changes_since_last_save").await, "0");
}

// ---------------------------------------------------------------------------------------
// The change counter (Redis's `server.dirty`)
// ---------------------------------------------------------------------------------------

async fn changes(c: &mut MultiplexedConnection) -> i64 {
    info_field(c, "rdb_changes_since_last_save")
        .await
        .parse()
        .expect("a number")
}

/// Runs `args` (whatever the reply, errors included) and returns by how much the
/// change counter moved.
async fn delta(c: &mut MultiplexedConnection, args: &[&str]) -> i64 {
    let before = changes(c).await;
    let _ = try_cmd::<redis::Value>(c, args).await;
    changes(c).await - before
}

/// A step that waits for the keys set with `PX 50` just before to expire.
const PAUSE: &[&str] = &["(pause)"];
/// Stands for "the DBSIZE just before" in the expected column.
const DBSIZE: i64 = -1;

/// Each command with the change count redis-server 7.0.15 gives it (recorded by
/// running it, and checked again against a live redis-server by the test).
const COUNTED: &[(&[&str], i64)] = &[
    // Strings: one per key written.
    (&["MSET", "a", "1", "b", "2", "c", "3"], 3),
    (&["DEL", "a", "b", "missing"], 2),
    (&["SET", "c", "v", "NX"], 0),
    (&["SET", "c", "w", "XX"], 1),
    (&["SET", "new", "v", "XX"], 0),
    (&["SET", "c", "v", "GET"], 1),
    (&["SET", "c", "v", "KEEPTTL"], 1),
    (&["SETNX", "c", "v"], 0),
    (&["SETNX", "n", "v"], 1),
    (&["SETEX", "s", "100", "v"], 1),
    (&["PSETEX", "p", "100000", "v"], 1),
    (&["GETSET", "c", "x"], 1),
    (&["GETDEL", "n"], 1),
    (&["GETDEL", "n"], 0),
    (&["GETEX", "c"], 0),
    (&["GETEX", "c", "EX", "100"], 1),
    (&["GETEX", "c", "PERSIST"], 1),
    (&["GETEX", "c", "PERSIST"], 0),
    (&["GETEX", "c", "EX", "0"], 0),
    (&["MSET", "a", "1", "a", "2"], 2),
    (&["MSETNX", "a", "1", "z", "2"], 0),
    (&["MSETNX", "y", "1", "z", "2"], 2),
    (&["APPEND", "ap", ""], 1),
    (&["APPEND", "ap", "x"], 1),
    (&["SETRANGE", "sr", "0", ""], 0),
    (&["SETRANGE", "ap", "0", ""], 0),
    (&["SETRANGE", "ap", "3", "y"], 1),
    (&["INCR", "i"], 1),
    (&["DECR", "i"], 1),
    (&["INCRBY", "i", "5"], 1),
    (&["DECRBY", "i", "5"], 1),
    (&["INCRBYFLOAT", "i", "1.5"], 1),
    (&["INCR", "c"], 0),
    (&["GET", "c"], 0),
    (&["MGET", "a", "c"], 0),
    // Hashes: HSET counts every pair given, HDEL the fields deleted.
    (&["HSET", "h", "f1", "v1", "f2", "v2"], 2),
    (&["HSET", "h", "f1", "v1", "f2", "v2"], 2),
    (&["HSET", "h", "f9", "1", "f9", "2"], 2),
    (&["HMSET", "h", "f1", "v1"], 1),
    (&["HSETNX", "h", "f1", "v"], 0),
    (&["HSETNX", "h", "f3", "v"], 1),
    (&["HDEL", "h", "f1", "missing"], 1),
    (&["HDEL", "nohash", "f"], 0),
    (&["HINCRBY", "h", "n", "1"], 1),
    (&["HINCRBYFLOAT", "h", "fl", "1.5"], 1),
    (&["HINCRBY", "h", "f2", "1"], 0),
    (&["HSET", "c", "f", "v"], 0),
    (&["INCR", "h"], 0),
    (&["HGET", "h", "f2"], 0),
    (&["HGETALL", "h"], 0),
    // Expiry: 1 when a TTL was set or removed, or the key deleted.
    (&["EXPIRE", "c", "100"], 1),
    (&["EXPIRE", "missing", "100"], 0),
    (&["EXPIRE", "c", "200", "NX"], 0),
    (&["EXPIRE", "c", "300", "XX"], 1),
    (&["EXPIRE", "c", "50", "GT"], 0),
    (&["PEXPIRE", "c", "100000", "LT"], 1),
    (&["EXPIRE", "c", "x"], 0),
    (&["PERSIST", "c"], 1),
    (&["PERSIST", "c"], 0),
    (&["EXPIREAT", "c", "100000000000"], 1),
    (&["PEXPIREAT", "c", "1"], 1),
    (&["EXISTS", "c"], 0),
    (&["SET", "t", "v", "PX", "50"], 1),
    (PAUSE, 0),
    (&["DEL", "t"], 0),
    (&["SET", "t", "v", "PX", "50"], 1),
    (PAUSE, 0),
    (&["EXPIRE", "t", "10"], 0),
    // Keys: 1 per rename, copy or move done.
    (&["RENAME", "s", "s"], 0),
    (&["RENAMENX", "s", "s"], 0),
    (&["RENAME", "s", "s2"], 1),
    (&["RENAMENX", "s2", "p"], 0),
    (&["RENAMENX", "s2", "s3"], 1),
    (&["RENAME", "nosuch", "x"], 0),
    (&["COPY", "s3", "s4"], 1),
    (&["COPY", "s3", "s4"], 0),
    (&["COPY", "s3", "s4", "REPLACE"], 1),
    (&["MOVE", "s4", "1"], 1),
    (&["MOVE", "s4", "1"], 0),
    (&["UNLINK", "s3", "nope"], 1),
    (&["TYPE", "h"], 0),
    // Lists: one per element pushed, popped, removed or trimmed; 1 per LSET,
    // LINSERT and move (the push of a move is not counted apart).
    (&["RPUSH", "l", "a", "b", "c", "a", "d", "a"], 6),
    (&["LPUSH", "l", "z"], 1),
    (&["LPUSHX", "nol", "z"], 0),
    (&["LPOP", "l"], 1),
    (&["RPOP", "l", "2"], 2),
    (&["LPOP", "l", "0"], 0),
    (&["LSET", "l", "0", "A"], 1),
    (&["LSET", "l", "99", "A"], 0),
    (&["LINSERT", "l", "AFTER", "b", "B"], 1),
    (&["LINSERT", "l", "AFTER", "nope", "B"], 0),
    (&["LREM", "l", "0", "a"], 1),
    (&["LREM", "l", "0", "B"], 1),
    (&["LMOVE", "l", "l2", "LEFT", "LEFT"], 1),
    (&["RPOPLPUSH", "l", "l"], 1),
    (&["LMPOP", "2", "nol", "l", "LEFT", "COUNT", "1"], 1),
    (&["BLPOP", "l2", "l", "0"], 1),
    (&["RPUSH", "l", "1", "2", "3", "4", "5"], 5),
    (&["LTRIM", "l", "1", "-2"], 2),
    (&["LTRIM", "l", "0", "-1"], 0),
    (&["BLMPOP", "0", "1", "l", "RIGHT", "COUNT", "9"], 4),
    // Sets: one per member added, removed or popped; SMOVE 1 (+1 when the
    // destination gained it); a STORE 1 (its destination written or deleted).
    (&["SADD", "st", "1", "2", "3", "x", "1"], 4),
    (&["SADD", "st", "1"], 0),
    (&["SREM", "st", "1", "nope"], 1),
    (&["SMOVE", "st", "st2", "2"], 2),
    (&["SADD", "st2", "3"], 1),
    (&["SMOVE", "st", "st2", "3"], 1),
    (&["SMOVE", "st", "st2", "nope"], 0),
    (&["SINTERSTORE", "sd", "st", "st2"], 0),
    (&["SUNIONSTORE", "sd", "st", "st2"], 1),
    (&["SDIFFSTORE", "sd", "nope", "st"], 1),
    (&["SPOP", "st2", "1"], 1),
    (&["SPOP", "st2", "5"], 1),
    (&["SPOP", "st"], 1),
    // Databases: SWAPDB 1 (even with itself), flushes the keys they removed.
    (&["SWAPDB", "0", "1"], 1),
    (&["SWAPDB", "1", "0"], 1),
    (&["SWAPDB", "0", "0"], 1),
    (&["SWAPDB", "0", "99"], 0),
    (&["FLUSHDB"], DBSIZE),
    (&["FLUSHDB"], 0),
    (&["FLUSHALL"], 1),
    (&["FLUSHALL"], 0),
];

/// Runs [`COUNTED`] on a connection; returns each command's change count.
async fn run_counted(c: &mut MultiplexedConnection) -> Vec<i64> {
    let mut got = Vec::new();
    for (args, expected) in COUNTED {
        if *args == PAUSE {
            tokio::time::sleep(Duration::from_millis(150)).await;
            got.push(0);
            continue;
        }
        let dbsize: i64 = cmd(c, &["DBSIZE"]).await;
        let d = delta(c, args).await;
        let want = if *expected == DBSIZE {
            dbsize
        } else {
            *expected
        };
        assert!(want > 0 || *expected != DBSIZE, "FLUSHDB needs keys");
        assert_eq!(d, want, "{args:?}");
        got.push(d);
    }
    got
}

#[tokio::test]
async fn changes_are_counted_per_key_and_field_as_redis_counts_them() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    assert_eq!(changes(&mut c).await, 0);
    let shoal = run_counted(&mut c).await;
    // Side by side with a live redis-server 7.0: the same counts, command by command.
    let dir = TempDir::new("dirty-redis");
    let (_redis, mut r) = RedisProc::start(&dir).await;
    let redis = run_counted(&mut r).await;
    for ((args, _), (a, b)) in COUNTED.iter().zip(shoal.iter().zip(&redis)) {
        assert_eq!(a, b, "{args:?}: Shoal counted {a}, Redis {b}");
    }
    assert_eq!(changes(&mut c).await, shoal.iter().sum::<i64>());
}

#[tokio::test]
async fn shoal_commands_count_what_they_change() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    assert_eq!(
        delta(&mut c, &["MSET", "a", "1", "b", "2", "c", "3"]).await,
        3
    );
    // HMERGEVALUES and MMERGE: the fields/keys added or changed (their reply).
    let cases: &[(&[&str], i64)] = &[
        (&["HMERGEVALUES", "h", "SUM", "f", "1", "g", "2"], 2),
        (&["HMERGEVALUES", "h", "KEEP", "f", "5", "new", "1"], 1),
        (&["HMERGEVALUES", "h", "MAX", "f", "0"], 0),
        (&["MMERGE", "REPLACE", "a", "1", "x", "9"], 1),
        (&["MMERGE", "SUM", "a", "2", "b", "0"], 1),
        (&["MMERGE", "KEEP", "a", "5"], 0),
    ];
    for (args, n) in cases {
        let before = changes(&mut c).await;
        let reply: i64 = cmd(&mut c, args).await;
        assert_eq!(reply, *n, "{args:?}");
        assert_eq!(changes(&mut c).await - before, *n, "{args:?}");
    }
    // HMERGE: 1 for the destination, when it was written; errors count 0.
    assert_eq!(delta(&mut c, &["HMERGE", "dst", "1", "h"]).await, 1);
    assert_eq!(delta(&mut c, &["HMERGE", "dst2", "1", "nosuch"]).await, 0);
    assert_eq!(
        delta(&mut c, &["HMERGE", "dst", "2", "nosuch", "dst"]).await,
        0,
        "nothing to merge into an existing destination: not written"
    );
    assert_eq!(delta(&mut c, &["HMERGE", "dst", "1", "a"]).await, 0);
    assert_eq!(delta(&mut c, &["MMERGE", "SUM", "h", "1"]).await, 0);
    assert_eq!(
        delta(&mut c, &["HMERGEVALUES", "a", "SUM", "f", "1"]).await,
        0
    );

    // SNAPSHOT: CREATE changes nothing; RESTORE counts the keys removed plus the keys
    // put back, for the shards that changed since; MERGE the keys written.
    let keys: i64 = cmd(&mut c, &["DBSIZE"]).await;
    assert_eq!(delta(&mut c, &["SNAPSHOT", "CREATE", "s"]).await, 0);
    assert_eq!(delta(&mut c, &["FLUSHALL"]).await, keys);
    assert_eq!(delta(&mut c, &["SET", "later", "1"]).await, 1);
    assert_eq!(delta(&mut c, &["SNAPSHOT", "RESTORE", "s"]).await, 1 + keys);
    assert_eq!(cmd::<i64>(&mut c, &["DBSIZE"]).await, keys);
    assert_eq!(delta(&mut c, &["SNAPSHOT", "RESTORE", "s"]).await, 0);
    assert_eq!(delta(&mut c, &["DEL", "a", "b"]).await, 2);
    assert_eq!(delta(&mut c, &["SNAPSHOT", "MERGE", "s", "KEEP"]).await, 2);
    assert_eq!(
        delta(&mut c, &["SNAPSHOT", "MERGE", "s", "REPLACE"]).await,
        0
    );
    assert_eq!(delta(&mut c, &["SET", "a", "changed"]).await, 1);
    assert_eq!(
        delta(&mut c, &["SNAPSHOT", "MERGE", "s", "REPLACE"]).await,
        1
    );
    // Across databases: database 6 was never written when `t` was taken (its
    // snapshot is empty); RESTORE removes what was written there since and counts it,
    // while database 0's unchanged shards count nothing.
    assert_eq!(delta(&mut c, &["SNAPSHOT", "CREATE", "t"]).await, 0);
    let _: () = cmd(&mut c, &["SELECT", "6"]).await;
    assert_eq!(delta(&mut c, &["MSET", "x", "1", "y", "2"]).await, 2);
    assert_eq!(delta(&mut c, &["SNAPSHOT", "RESTORE", "t"]).await, 2);
    assert_eq!(cmd::<i64>(&mut c, &["DBSIZE"]).await, 0);
    let _: () = cmd(&mut c, &["SELECT", "0"]).await;
    assert_eq!(delta(&mut c, &["SNAPSHOT", "DROP", "t"]).await, 0);
    assert_eq!(delta(&mut c, &["SNAPSHOT", "LIST"]).await, 0);
    assert_eq!(delta(&mut c, &["SNAPSHOT", "DROP", "s"]).await, 0);
    assert_eq!(delta(&mut c, &["SNAPSHOT", "RESTORE", "s"]).await, 0);
}

/// The number of keys in a dump, as redis-check-rdb reads it.
fn keys_in_dump(file: &Path) -> usize {
    let text = check_rdb(file);
    text.lines()
        .find_map(|l| l.strip_prefix("[info] ")?.strip_suffix(" keys read"))
        .unwrap_or_else(|| panic!("no key count in:\n{text}"))
        .trim()
        .parse()
        .expect("a number")
}

#[tokio::test]
async fn flushall_with_save_points_rewrites_the_dump() {
    let dir = TempDir::new("flushall-save");
    let s = shoal_in(&dir, |c| {
        c.save = "3600 1".into();
        c.capacity = 100_000;
    });
    let mut c = s.conn().await;
    cmd::<()>(&mut c, &["MSET", "a", "1", "b", "2"]).await;
    cmd::<()>(&mut c, &["SELECT", "3"]).await;
    cmd::<()>(&mut c, &["SET", "in-db3", "x"]).await;
    cmd::<()>(&mut c, &["SELECT", "0"]).await;
    assert_eq!(cmd::<String>(&mut c, &["SAVE"]).await, "OK");
    assert_eq!(keys_in_dump(&dir.dump()), 3);
    assert_eq!(info_field(&mut c, "rdb_saves").await, "1");
    cmd::<()>(&mut c, &["SET", "c", "3"]).await;

    // The dump is rewritten empty at once; the counter is reset (Redis 7.0 reports 0
    // after it), and, as Redis, that save is not counted in rdb_saves.
    assert_eq!(cmd::<String>(&mut c, &["FLUSHALL"]).await, "OK");
    assert_eq!(keys_in_dump(&dir.dump()), 0);
    assert_eq!(changes(&mut c).await, 0);
    assert_eq!(info_field(&mut c, "rdb_saves").await, "1");
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status").await, "ok");

    // ASYNC too, with a background save of the old data in flight: it is stopped (or
    // has finished) before the rewrite, so the dump ends up empty either way.
    for batch in 0..20 {
        let mut args = vec!["MSET".to_string()];
        for i in 0..1000 {
            args.push(format!("key:{batch}:{i}"));
            args.push("v".repeat(100));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        cmd::<()>(&mut c, &args).await;
    }
    assert_eq!(changes(&mut c).await, 20_000);
    assert_eq!(
        cmd::<String>(&mut c, &["BGSAVE"]).await,
        "Background saving started"
    );
    assert_eq!(cmd::<String>(&mut c, &["FLUSHALL", "ASYNC"]).await, "OK");
    assert_eq!(info_field(&mut c, "rdb_bgsave_in_progress").await, "0");
    assert_eq!(keys_in_dump(&dir.dump()), 0);
    assert_eq!(changes(&mut c).await, 0);
    assert_eq!(cmd::<i64>(&mut c, &["DBSIZE"]).await, 0);
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["dump.rdb"], "no temporary file left");

    // A restart on the directory finds nothing to load.
    cmd::<()>(&mut c, &["CONFIG", "SET", "save", ""]).await;
    drop(c);
    s.stop();
    let s = shoal_in(&dir, |_| {});
    let mut c = s.conn().await;
    assert_eq!(info_field(&mut c, "rdb_last_load_keys_loaded").await, "0");
    assert_eq!(cmd::<i64>(&mut c, &["DBSIZE"]).await, 0);
}

#[tokio::test]
async fn flushall_without_save_points_leaves_the_dump_alone() {
    let dir = TempDir::new("flushall-nosave");
    let s = shoal_in(&dir, |_| {});
    let mut c = s.conn().await;
    cmd::<()>(&mut c, &["MSET", "a", "1", "b", "2"]).await;
    assert_eq!(cmd::<String>(&mut c, &["SAVE"]).await, "OK");
    let saved = std::fs::read(dir.dump()).unwrap();
    cmd::<()>(&mut c, &["SET", "c", "3"]).await;
    assert_eq!(cmd::<String>(&mut c, &["FLUSHALL"]).await, "OK");
    assert_eq!(std::fs::read(dir.dump()).unwrap(), saved);
    // 1 for SET, 3 for the keys FLUSHALL removed.
    assert_eq!(changes(&mut c).await, 4);
    assert_eq!(info_field(&mut c, "rdb_saves").await, "1");
    drop(c);
    s.stop();
    // As with Redis, a restart loads the dump saved before the flush.
    let s = shoal_in(&dir, |_| {});
    let mut c = s.conn().await;
    assert_eq!(cmd::<i64>(&mut c, &["DBSIZE"]).await, 2);
}

#[tokio::test]
async fn flushall_replies_ok_when_its_save_fails() {
    let dir = FailingDir::new("flushall-fail");
    let s = dir.server(|c| c.save = "3600 1".into());
    let mut c = s.conn().await;
    cmd::<()>(&mut c, &["MSET", "a", "1", "b", "2"]).await;
    dir.break_it();
    assert_eq!(cmd::<String>(&mut c, &["FLUSHALL"]).await, "OK");
    assert_eq!(cmd::<i64>(&mut c, &["DBSIZE"]).await, 0);
    // As Redis: the counter keeps the changes (2 writes, 2 keys removed), and a
    // failed synchronous save does not change the status nor cause MISCONF.
    assert_eq!(changes(&mut c).await, 4);
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status").await, "ok");
    cmd::<()>(&mut c, &["SET", "still", "writable"]).await;
    assert_eq!(std::fs::read(&dir.path).unwrap(), b"not a directory");
    cmd::<()>(&mut c, &["CONFIG", "SET", "save", ""]).await;
}

// ---------------------------------------------------------------------------------------
// Failures: MISCONF, the previous dump survives
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn misconf_after_a_failed_bgsave_until_a_save_succeeds() {
    let dir = FailingDir::new("misconf");
    let s = dir.server(|c| c.save = "3600 1".into());
    let mut c = s.conn().await;
    cmd::<()>(&mut c, &["SET", "k", "v"]).await;
    dir.break_it();

    // SAVE fails with a bare ERR and does not change the status (as Redis).
    assert_eq!(err(&mut c, &["SAVE"]).await, "ERR");
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status").await, "ok");
    cmd::<()>(&mut c, &["SET", "still", "writable"]).await;

    let before: i64 = cmd(&mut c, &["LASTSAVE"]).await;
    assert_eq!(
        cmd::<String>(&mut c, &["BGSAVE"]).await,
        "Background saving started"
    );
    wait_bgsave(&mut c).await;
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status").await, "err");
    assert_eq!(cmd::<i64>(&mut c, &["LASTSAVE"]).await, before);
    assert_eq!(err(&mut c, &["SET", "k", "w"]).await, MISCONF_ERR);
    assert_eq!(err(&mut c, &["DEL", "k"]).await, MISCONF_ERR);
    assert_eq!(err(&mut c, &["PING"]).await, MISCONF_ERR);
    assert_eq!(cmd::<String>(&mut c, &["GET", "k"]).await, "v");
    assert_eq!(cmd::<i64>(&mut c, &["DBSIZE"]).await, 2);
    assert_eq!(std::fs::read(&dir.path).unwrap(), b"not a directory");

    // The option, and save points, gate it.
    cmd::<()>(
        &mut c,
        &["CONFIG", "SET", "stop-writes-on-bgsave-error", "no"],
    )
    .await;
    cmd::<()>(&mut c, &["SET", "k", "w1"]).await;
    cmd::<()>(
        &mut c,
        &["CONFIG", "SET", "stop-writes-on-bgsave-error", "yes"],
    )
    .await;
    assert_eq!(err(&mut c, &["SET", "k", "w2"]).await, MISCONF_ERR);
    cmd::<()>(&mut c, &["CONFIG", "SET", "save", ""]).await;
    cmd::<()>(&mut c, &["SET", "k", "w3"]).await;
    cmd::<()>(&mut c, &["CONFIG", "SET", "save", "3600 1"]).await;
    assert_eq!(err(&mut c, &["SET", "k", "w4"]).await, MISCONF_ERR);

    // A successful save clears it.
    dir.repair();
    assert_eq!(
        cmd::<String>(&mut c, &["BGSAVE"]).await,
        "Background saving started"
    );
    wait_bgsave(&mut c).await;
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status").await, "ok");
    cmd::<()>(&mut c, &["SET", "k", "w5"]).await;
    assert_eq!(cmd::<String>(&mut c, &["PING"]).await, "PONG");
    check_rdb(&dir.path.join("dump.rdb"));
}

#[tokio::test]
async fn a_failed_save_leaves_the_previous_dump_intact() {
    let dir = TempDir::new("intact");
    let s = shoal_in(&dir, |_| {});
    let mut c = s.conn().await;
    cmd::<()>(&mut c, &["SET", "k", "first"]).await;
    assert_eq!(cmd::<String>(&mut c, &["SAVE"]).await, "OK");
    let first = std::fs::read(dir.dump()).unwrap();
    cmd::<()>(&mut c, &["SET", "k", "second"]).await;
    // The temporary file's path is taken by a directory: the save cannot even start.
    let tmp = dir.path().join(format!("temp-{}.rdb", std::process::id()));
    std::fs::create_dir(&tmp).unwrap();
    assert_eq!(err(&mut c, &["SAVE"]).await, "ERR");
    assert_eq!(
        cmd::<String>(&mut c, &["BGSAVE"]).await,
        "Background saving started"
    );
    wait_bgsave(&mut c).await;
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status").await, "err");
    assert_eq!(std::fs::read(dir.dump()).unwrap(), first);
    assert_eq!(info_field(&mut c, "rdb_changes_since_last_save").await, "1");
    std::fs::remove_dir(&tmp).unwrap();
    assert_eq!(cmd::<String>(&mut c, &["SAVE"]).await, "OK");
    assert_ne!(std::fs::read(dir.dump()).unwrap(), first);
    // A successful SAVE resets the status, as Redis.
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status").await, "ok");
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["dump.rdb"], "no temporary file left");
}

// ---------------------------------------------------------------------------------------
// Shutdown
// ---------------------------------------------------------------------------------------

/// Sends SHUTDOWN with `args` and waits until the server is gone.
async fn shutdown(s: TestServer, args: &[&[u8]]) {
    let mut raw = s.raw().await;
    let mut full: Vec<&[u8]> = vec![b"SHUTDOWN"];
    full.extend_from_slice(args);
    raw.cmd(&full).await;
    assert!(raw.closed().await, "SHUTDOWN closes the connection");
    s.stop();
}

async fn set_k(s: &TestServer) {
    let mut c = s.conn().await;
    cmd::<()>(&mut c, &["SET", "k", "v"]).await;
}

#[tokio::test]
async fn shutdown_saves_as_redis_does() {
    // No save points: SHUTDOWN SAVE saves, plain SHUTDOWN does not.
    let dir = TempDir::new("shutdown-save");
    let s = shoal_in(&dir, |_| {});
    set_k(&s).await;
    shutdown(s, &[]).await;
    assert!(!dir.dump().exists());
    let s = shoal_in(&dir, |_| {});
    set_k(&s).await;
    shutdown(s, &[b"SAVE"]).await;
    assert!(check_rdb(&dir.dump()).contains("1 keys read"));

    // Save points: plain SHUTDOWN saves, NOSAVE does not.
    let dir = TempDir::new("shutdown-points");
    let s = shoal_in(&dir, |c| c.save = "3600 1".into());
    set_k(&s).await;
    shutdown(s, &[b"NOSAVE"]).await;
    assert!(!dir.dump().exists());
    let s = shoal_in(&dir, |c| c.save = "3600 1".into());
    set_k(&s).await;
    shutdown(s, &[]).await;
    let s = shoal_in(&dir, |_| {});
    assert_eq!(
        cmd::<String>(&mut s.conn().await, &["GET", "k"]).await,
        "v",
        "reloaded"
    );
    s.stop();

    // Save points and a plain stop (signals, embedders): saves on the way out.
    let dir = TempDir::new("shutdown-handle");
    let s = shoal_in(&dir, |c| c.save = "3600 1".into());
    set_k(&s).await;
    s.stop();
    assert!(check_rdb(&dir.dump()).contains("1 keys read"));

    // A save that fails refuses the shutdown, unless FORCE.
    let failing = FailingDir::new("shutdown-fail");
    let s = failing.server(|_| {});
    set_k(&s).await;
    failing.break_it();
    let mut c = s.conn().await;
    assert_eq!(
        err(&mut c, &["SHUTDOWN", "SAVE"]).await,
        "ERR Errors trying to SHUTDOWN. Check logs."
    );
    assert_eq!(cmd::<String>(&mut c, &["GET", "k"]).await, "v");
    shutdown(s, &[b"SAVE", b"FORCE"]).await;
}

#[test]
fn sigterm_saves_when_save_points_are_set() {
    let dir = TempDir::new("sigterm");
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_shoal"))
        .args([
            "--config",
            "",
            "--port",
            &port.to_string(),
            "--dir",
            &dir.str(),
        ])
        .args(["--save", "3600 1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn shoal");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut conn = loop {
        if let Ok(c) = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
            .and_then(|c| c.get_connection())
        {
            break c;
        }
        assert!(Instant::now() < deadline, "shoal did not start");
        std::thread::sleep(Duration::from_millis(20));
    };
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query(&mut conn)
        .unwrap();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code();
        }
        assert!(Instant::now() < deadline, "shoal did not exit");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(code, Some(0));
    assert!(check_rdb(&dir.dump()).contains("1 keys read"));
}

// ---------------------------------------------------------------------------------------
// LOADING
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn clients_get_loading_until_the_dump_is_in() {
    // The dump comes through a FIFO: loading lasts exactly until the test feeds it.
    let source = TempDir::new("loading-src");
    let dump = write_dump(&source).await;
    let dir = TempDir::new("loading");
    let status = Command::new("mkfifo").arg(dir.dump()).status().unwrap();
    assert!(status.success());
    let port = free_port();
    let mut config = config_in(&dir);
    config.port = port;
    let starting = std::thread::spawn(move || Server::start(config));

    let deadline = Instant::now() + Duration::from_secs(10);
    let mut raw = loop {
        if let Ok(stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            break Raw { stream };
        }
        assert!(Instant::now() < deadline, "no listener");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let loading = format!("-{LOADING_ERR}\r\n");
    raw.roundtrip(&[b"GET", b"key:1"], loading.as_bytes()).await;
    raw.roundtrip(&[b"PING"], loading.as_bytes()).await;
    raw.roundtrip(&[b"SET", b"x", b"y"], loading.as_bytes())
        .await;
    raw.roundtrip(&[b"BGSAVE"], loading.as_bytes()).await;
    // Commands flagged `loading` run.
    raw.cmd(&[b"LASTSAVE"]).await;
    let reply = raw.read_exact_or_eof(1).await;
    assert_eq!(reply, b":");
    let _ = raw.read_exact_or_eof(12).await;
    raw.cmd(&[b"INFO", b"persistence"]).await;
    let head = String::from_utf8_lossy(&raw.read_exact_or_eof(40).await).into_owned();
    assert!(head.contains("loading:1"), "{head}");

    // Feed the dump; the start completes and the keys are there.
    let path = dir.dump();
    std::thread::spawn(move || std::fs::write(path, dump).unwrap())
        .join()
        .unwrap();
    let handle = tokio::task::spawn_blocking(move || starting.join().unwrap())
        .await
        .unwrap()
        .expect("loaded");
    let mut c = redis::Client::open(format!("redis://{}/", handle.addr()))
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    assert_eq!(cmd::<String>(&mut c, &["GET", "key:3"]).await, "vvv");
    assert_eq!(cmd::<i64>(&mut c, &["DBSIZE"]).await, 50);
    assert_eq!(info_field(&mut c, "loading").await, "0");
    drop(c);
    drop(raw);
    handle.shutdown();
}

/// A save taken while a named snapshot holds the tables, so that the live keyspace's
/// recent writes sit in segment overlays, writes the live state: overlay entries in,
/// the entries they replaced or deleted out.
#[tokio::test]
async fn a_save_with_overlays_pending_writes_the_live_state() {
    let dir = TempDir::new("overlays");
    let s = shoal_in(&dir, |_| {});
    let mut c = s.conn().await;
    for chunk in (0..4000).collect::<Vec<_>>().chunks(500) {
        let mut mset = vec!["MSET".to_string()];
        for i in chunk {
            mset.push(format!("key:{i}"));
            mset.push(format!("old-{i}"));
        }
        let args: Vec<&str> = mset.iter().map(String::as_str).collect();
        cmd::<()>(&mut c, &args).await;
    }
    let _: String = cmd(&mut c, &["SNAPSHOT", "CREATE", "hold"]).await;
    for i in 0..300 {
        cmd::<()>(&mut c, &["SET", &format!("key:{i}"), "new"]).await;
        cmd::<i64>(&mut c, &["DEL", &format!("key:{}", 3999 - i)]).await;
        cmd::<()>(
            &mut c,
            &["SET", &format!("fresh:{i}"), "x", "PX", "3600000"],
        )
        .await;
    }
    let db = s.handle().shared().keyspace.db(0);
    let pending: usize = (0..db.num_shards())
        .map(|i| db.with_shard(i, |sh| sh.pending_overlays()))
        .sum();
    assert!(pending > 0, "the writes sit in overlays");
    let expected = shoal_contents(&s);
    assert_eq!(expected.len(), 4000);
    let ok: String = cmd(&mut c, &["SAVE"]).await;
    assert_eq!(ok, "OK");
    drop(c);
    s.stop();

    let s = shoal_in(&dir, |_| {});
    assert!(shoal_contents(&s) == expected, "the dump is the live state");
}

// ---------------------------------------------------------------------------------------
// Functions in dumps
// ---------------------------------------------------------------------------------------

const FN_LIB: &str = "#!lua name=counter\nredis.register_function('bump', function(keys, args) return redis.call('incrby', keys[1], args[1]) end)";
const FN_LIB2: &str = "#!lua name=greeter\nredis.register_function{function_name='hello', callback=function(keys, args) return 'hello ' .. args[1] end, flags={'no-writes'}}";

/// The function names a server lists, sorted.
async fn function_names(c: &mut MultiplexedConnection) -> Vec<String> {
    let libs: Vec<Vec<redis::Value>> = cmd(c, &["FUNCTION", "LIST"]).await;
    let mut names = Vec::new();
    for lib in libs {
        let redis::Value::Array(fns) = &lib[5] else {
            panic!("{lib:?}")
        };
        for f in fns {
            let redis::Value::Array(f) = f else {
                panic!("{f:?}")
            };
            if let redis::Value::BulkString(n) = &f[1] {
                names.push(String::from_utf8_lossy(n).into_owned());
            }
        }
    }
    names.sort();
    names
}

/// Functions survive SAVE and a restart, and Shoal's dump with functions loads into
/// redis-server 7.0 (and passes redis-check-rdb).
#[tokio::test]
async fn functions_survive_a_restart_and_load_into_redis() {
    let dir = TempDir::new("functions");
    let s = shoal_in(&dir, |_| {});
    let mut c = s.conn().await;
    cmd::<String>(&mut c, &["FUNCTION", "LOAD", FN_LIB]).await;
    cmd::<String>(&mut c, &["FUNCTION", "LOAD", FN_LIB2]).await;
    assert_eq!(
        cmd::<i64>(&mut c, &["FCALL", "bump", "1", "n", "5"]).await,
        5
    );
    assert_eq!(cmd::<String>(&mut c, &["SAVE"]).await, "OK");
    drop(c);
    s.stop();
    check_rdb(&dir.dump());

    let s = shoal_in(&dir, |_| {});
    let mut c = s.conn().await;
    assert_eq!(function_names(&mut c).await, ["bump", "hello"]);
    assert_eq!(
        cmd::<i64>(&mut c, &["FCALL", "bump", "1", "n", "2"]).await,
        7
    );
    assert_eq!(
        cmd::<String>(&mut c, &["FCALL_RO", "hello", "0", "you"]).await,
        "hello you"
    );
    // FUNCTION changes count as changes (a save point would save them).
    let before: i64 = info_field(&mut c, "rdb_changes_since_last_save")
        .await
        .parse()
        .unwrap();
    cmd::<()>(&mut c, &["FUNCTION", "DELETE", "greeter"]).await;
    let after: i64 = info_field(&mut c, "rdb_changes_since_last_save")
        .await
        .parse()
        .unwrap();
    assert_eq!(after, before + 1);
    cmd::<String>(&mut c, &["FUNCTION", "LOAD", FN_LIB2]).await;
    assert_eq!(cmd::<String>(&mut c, &["SAVE"]).await, "OK");
    drop(c);
    s.stop();

    let (_redis, mut r) = RedisProc::start(&dir).await;
    assert_eq!(function_names(&mut r).await, ["bump", "hello"]);
    assert_eq!(
        cmd::<i64>(&mut r, &["FCALL", "bump", "1", "n", "1"]).await,
        8
    );
}

/// A dump redis-server 7.0 wrote with functions loads into Shoal.
#[tokio::test]
async fn shoal_loads_functions_redis_saved() {
    let dir = TempDir::new("functions-from-redis");
    let (redis, mut r) = RedisProc::start(&dir).await;
    cmd::<String>(&mut r, &["FUNCTION", "LOAD", FN_LIB]).await;
    cmd::<String>(&mut r, &["FUNCTION", "LOAD", FN_LIB2]).await;
    cmd::<()>(&mut r, &["SET", "n", "10"]).await;
    assert_eq!(cmd::<String>(&mut r, &["SAVE"]).await, "OK");
    drop(r);
    drop(redis);
    let s = shoal_in(&dir, |_| {});
    let mut c = s.conn().await;
    assert_eq!(function_names(&mut c).await, ["bump", "hello"]);
    assert_eq!(
        cmd::<i64>(&mut c, &["FCALL", "bump", "1", "n", "1"]).await,
        11
    );
}
