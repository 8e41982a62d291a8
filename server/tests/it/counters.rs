//! The per-command counters (INFO `total_commands_processed`, keyspace hits/misses,
//! commandstats, `rdb_changes_since_last_save`) are kept per thread and summed when
//! read: under connections running in parallel on several worker threads, the sums
//! are exact.

use crate::common::*;

/// Every field of an INFO reply read over a raw socket.
async fn info_all(raw: &mut Raw) -> String {
    raw.cmd(&[b"INFO", b"all"]).await;
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n") {
        head.extend(raw.read_exact_or_eof(1).await);
        assert!(head.len() < 32, "bad INFO header {head:?}");
    }
    let len: usize = std::str::from_utf8(&head[1..head.len() - 2])
        .unwrap()
        .parse()
        .unwrap();
    let body = raw.read_exact_or_eof(len + 2).await;
    String::from_utf8(body).unwrap()
}

fn field<'a>(info: &'a str, name: &str) -> &'a str {
    info.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
        .unwrap_or_else(|| panic!("no {name} in INFO"))
}

fn num(info: &str, name: &str) -> u64 {
    field(info, name).parse().expect("number")
}

/// (calls, rejected_calls, failed_calls) of `cmdstat_<name>`.
fn cmdstat(info: &str, name: &str) -> (u64, u64, u64) {
    let line = field(info, &format!("cmdstat_{name}"));
    let get = |k: &str| -> u64 {
        line.split(',')
            .find_map(|kv| kv.strip_prefix(k).and_then(|v| v.strip_prefix('=')))
            .unwrap()
            .parse()
            .unwrap()
    };
    (get("calls"), get("rejected_calls"), get("failed_calls"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn counters_are_exact_under_parallel_connections() {
    const CONNS: usize = 8;
    const ROUNDS: usize = 600;
    const BATCH: usize = 40;
    // No save point: nothing resets the dirty count while the test runs.
    let s = TestServer::with(|c| c.save = String::new());
    let addr = s.addr;
    let tasks: Vec<_> = (0..CONNS)
        .map(|conn| {
            tokio::spawn(async move {
                let mut raw = Raw {
                    stream: tokio::net::TcpStream::connect(addr).await.unwrap(),
                };
                for start in (0..ROUNDS).step_by(BATCH) {
                    let mut send = Vec::new();
                    let mut want = Vec::new();
                    for r in start..start + BATCH {
                        let key = format!("k:{conn}:{r}");
                        let missing = format!("missing:{conn}:{r}");
                        let (k, m) = (key.as_bytes(), missing.as_bytes());
                        // A write (1 change), a hit, a miss, one of each in MGET, a
                        // failed call (not an integer) and a refused one (arity).
                        send.extend(encode(&[b"SET", k, b"v"]));
                        want.extend_from_slice(b"+OK\r\n");
                        send.extend(encode(&[b"GET", k]));
                        want.extend_from_slice(b"$1\r\nv\r\n");
                        send.extend(encode(&[b"GET", m]));
                        want.extend_from_slice(b"$-1\r\n");
                        send.extend(encode(&[b"MGET", k, m]));
                        want.extend_from_slice(b"*2\r\n$1\r\nv\r\n$-1\r\n");
                        send.extend(encode(&[b"INCR", k]));
                        want.extend_from_slice(b"-ERR value is not an integer or out of range\r\n");
                        send.extend(encode(&[b"GET"]));
                        want.extend_from_slice(
                            b"-ERR wrong number of arguments for 'get' command\r\n",
                        );
                    }
                    raw.send(&send).await;
                    raw.expect(&want).await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }

    let n = (CONNS * ROUNDS) as u64;
    let mut raw = s.raw().await;
    let info = info_all(&mut raw).await;
    // SET, GET, GET, MGET, INCR ran; the arity errors were refused before running.
    assert_eq!(num(&info, "total_commands_processed"), 5 * n);
    assert_eq!(num(&info, "keyspace_hits"), 2 * n);
    assert_eq!(num(&info, "keyspace_misses"), 2 * n);
    assert_eq!(num(&info, "total_error_replies"), 2 * n);
    assert_eq!(num(&info, "rdb_changes_since_last_save"), n);
    assert_eq!(cmdstat(&info, "set"), (n, 0, 0));
    assert_eq!(cmdstat(&info, "get"), (2 * n, n, 0));
    assert_eq!(cmdstat(&info, "mget"), (n, 0, 0));
    assert_eq!(cmdstat(&info, "incr"), (n, 0, n));
    // INFO counts itself once it has replied; its request was read before.
    let again = info_all(&mut raw).await;
    assert_eq!(num(&again, "total_commands_processed"), 5 * n + 1);
    assert_eq!(cmdstat(&again, "info").0, 1);

    // RESETSTAT zeroes the statistics, not the changes pending a save.
    raw.roundtrip(&[b"CONFIG", b"RESETSTAT"], b"+OK\r\n").await;
    let reset = info_all(&mut raw).await;
    assert_eq!(num(&reset, "total_commands_processed"), 1);
    assert_eq!(num(&reset, "keyspace_hits"), 0);
    assert_eq!(num(&reset, "total_error_replies"), 0);
    assert!(!reset.contains("cmdstat_get:"));
    assert_eq!(num(&reset, "rdb_changes_since_last_save"), n);
}

/// The `errorstat_*` lines and `total_error_replies` of an INFO reply read by Wire.
fn error_lines(wire: &mut Wire) -> (Vec<String>, u64) {
    let errors = String::from_utf8(wire.call(&["INFO", "errorstats"])).unwrap();
    let lines = errors
        .lines()
        .filter(|l| l.starts_with("errorstat_"))
        .map(str::to_string)
        .collect();
    let stats = String::from_utf8(wire.call(&["INFO", "stats"])).unwrap();
    (lines, num(&stats, "total_error_replies"))
}

/// INFO errorstats and `total_error_replies` count what redis-server 7.0 counts for
/// the same requests: refusals (unknown command, arity, NOAUTH-free gates), failed
/// commands, errors inside EXEC's reply and EXECABORT, a protocol error on another
/// connection, CLIENT UNBLOCK ... ERROR; CONFIG RESETSTAT empties them.
#[test]
fn errorstats_count_what_redis_counts() {
    let shoal = TestServer::start();
    let redis = RedisServer::start();
    let mut seen = Vec::new();
    for addr in [
        shoal.addr,
        std::net::SocketAddr::from(([127, 0, 0, 1], redis.port)),
    ] {
        let mut w = Wire::connect(addr);
        w.call(&["CONFIG", "RESETSTAT"]);
        let clean = error_lines(&mut w);
        w.call(&["SET", "s", "x"]);
        for cmd in [
            &["LPUSH", "s", "a"][..],
            &["NOSUCHCOMMAND", "a"],
            &["GET"],
            &["INCR", "s"],
            &["SET", "k", "v", "EX", "-1"],
            &["OBJECT", "NOSUCH"],
            &["HGET", "s", "f"],
            // Scripts: an error a command made inside counts once, where it was made.
            &["EVAL", "return redis.pcall('lpush','s','a')", "0"],
            &["EVAL", "return redis.call('lpush','s','a')", "0"],
            &["EVAL", "redis.pcall('lpush','s','a'); return 1", "0"],
            &["EVAL", "redis.pcall('nosuch'); return 1", "0"],
            &["EVAL", "return redis.pcall('nosuch')", "0"],
            &["EVAL", "return redis.call('nosuch')", "0"],
            &["EVAL", "return {err='MYERR custom'}", "0"],
            &["EVAL", "return {err='-DASH x'}", "0"],
            &["EVAL", "return {err='lowercase x'}", "0"],
            &[
                "EVAL",
                "return {err='X y', ignore_error_stats_update=true}",
                "0",
            ],
            &[
                "EVAL",
                "return {1, {err='NESTED x'}, redis.pcall('lpush','s','a')}",
                "0",
            ],
            &["EVAL", "error('boom')", "0"],
            &["EVAL", "return 1", "0"],
        ] {
            w.call(cmd);
        }
        // A transaction: one command fails inside EXEC's reply.
        w.call(&["MULTI"]);
        w.call(&["LPUSH", "s", "a"]);
        w.call(&["GET", "s"]);
        w.call(&["EXEC"]);
        // A refused command while queueing: EXECABORT.
        w.call(&["MULTI"]);
        w.call(&["LPUSH"]);
        w.call(&["EXEC"]);
        // A protocol error ends another connection.
        let mut bad = std::net::TcpStream::connect(addr).unwrap();
        std::io::Write::write_all(&mut bad, b"*1\r\n$x\r\n").unwrap();
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut bad, &mut sink);
        assert!(sink.starts_with(b"-ERR Protocol error"), "{sink:?}");
        // A blocked client unblocked with an error.
        let mut blocked = Wire::connect(addr);
        let id = String::from_utf8(blocked.call(&["CLIENT", "ID"])).unwrap();
        let id = id.trim_start_matches(':').trim().to_string();
        blocked.send(&["BLPOP", "nolist", "0"]);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while w.call(&["CLIENT", "UNBLOCK", &id, "ERROR"]) != b":1\r\n" {
            assert!(std::time::Instant::now() < deadline, "never blocked");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(blocked.reply().starts_with(b"-UNBLOCKED"));
        let counted = error_lines(&mut w);
        let info = String::from_utf8(w.call(&["INFO", "commandstats"])).unwrap();
        let stats = ["lpush", "get", "exec", "incr", "eval"].map(|c| cmdstat(&info, c));
        w.call(&["CONFIG", "RESETSTAT"]);
        let reset = error_lines(&mut w);
        seen.push((clean, counted, stats, reset));
    }
    let (shoal_seen, redis_seen) = (&seen[0], &seen[1]);
    assert_eq!(
        shoal_seen, redis_seen,
        "Shoal (left) and redis-server (right)"
    );
    // Not vacuous: the codes are there, and RESETSTAT emptied them.
    assert!(redis_seen
        .1
         .0
        .iter()
        .any(|l| l.starts_with("errorstat_WRONGTYPE:count=")));
    assert!(redis_seen
        .1
         .0
        .iter()
        .any(|l| l.starts_with("errorstat_EXECABORT:count=1")));
    assert_eq!(redis_seen.3, (vec![], 0));
}
#[test]
fn error_codes_beyond_the_bound_count_only_in_the_total() {
    let s = TestServer::start();
    let mut w = Wire::connect(s.addr);
    for i in 0..shoal_server::counters::ERROR_CODES + 10 {
        let code = format!("E{i}");
        let reply = w.call(&["EVAL", &format!("return {{err='{code} made up'}}"), "0"]);
        assert_eq!(reply, format!("-{code} made up\r\n").into_bytes());
    }
    let (lines, total) = error_lines(&mut w);
    assert_eq!(lines.len(), shoal_server::counters::ERROR_CODES);
    assert_eq!(total, shoal_server::counters::ERROR_CODES as u64 + 10);
    assert!(lines.contains(&"errorstat_E0:count=1".to_string()));
}
