//! Parked commands and pushes: CLIENT PAUSE / UNPAUSE (commands wait, parked, and
//! resume in order) and MONITOR (every command pushed to the monitors).
//!
//! Timing is not measured here (benchmarks do that): waits are generous and the
//! assertions are about order and behaviour; the only duration asserted is that a
//! paused command did not complete before its pause ended.

use std::time::{Duration, Instant};

use crate::common::*;

async fn blocked_clients(con: &mut redis::aio::MultiplexedConnection) -> usize {
    info_field(con, "blocked_clients")
        .await
        .parse()
        .expect("a count")
}

/// Waits until `n` clients are parked.
async fn until_parked(con: &mut redis::aio::MultiplexedConnection, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let got = blocked_clients(con).await;
        if got == n {
            return;
        }
        assert!(Instant::now() < deadline, "{got} parked clients, not {n}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until CLIENT LIST satisfies `check`; returns it.
async fn until_list(
    con: &mut redis::aio::MultiplexedConnection,
    what: &str,
    check: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let list: String = cmd(con, &["CLIENT", "LIST"]).await;
        if check(&list) {
            return list;
        }
        assert!(Instant::now() < deadline, "waiting for {what}: {list}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn client_id(raw: &mut Raw) -> String {
    raw.cmd(&[b"CLIENT", b"ID"]).await;
    let reply = raw.read_until(b"\r\n").await;
    String::from_utf8_lossy(&reply[1..reply.len() - 2]).into_owned()
}

#[tokio::test]
async fn pause_all_holds_every_command_until_it_ends() {
    let s = TestServer::start();
    let mut admin = s.conn().await;
    let _: () = cmd(&mut admin, &["SET", "k", "v"]).await;
    let mut reader = s.raw().await;
    let started = Instant::now();
    let ok: String = cmd(&mut admin, &["CLIENT", "PAUSE", "300", "ALL"]).await;
    assert_eq!(ok, "OK");
    reader.cmd(&[b"GET", b"k"]).await;
    reader.expect(b"$1\r\nv\r\n").await;
    // The pause ends on the millisecond clock (as in Redis), up to 1 ms before 300 ms
    // after `started`.
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(299),
        "GET returned after {waited:?}, before the pause ended"
    );
    // The pause is over: nothing waits any more.
    reader.roundtrip(&[b"PING"], b"+PONG\r\n").await;
    assert_eq!(blocked_clients(&mut admin).await, 0);
}

#[tokio::test]
async fn pause_write_holds_writes_only_and_unpause_releases_them() {
    let s = TestServer::start();
    let mut admin = s.conn().await;
    let ok: String = cmd(&mut admin, &["CLIENT", "PAUSE", "60000", "WRITE"]).await;
    assert_eq!(ok, "OK");
    let mut c = s.raw().await;
    // Reads and commands that write nothing run at once.
    c.roundtrip(&[b"GET", b"k"], b"$-1\r\n").await;
    c.roundtrip(&[b"PING"], b"+PONG\r\n").await;
    // A write waits, parked: counted in INFO and flagged `b` in CLIENT LIST.
    c.cmd(&[b"SET", b"k", b"1"]).await;
    until_parked(&mut admin, 1).await;
    assert!(c.silent_for(100).await, "SET answered during the pause");
    let list: String = cmd(&mut admin, &["CLIENT", "LIST"]).await;
    assert!(
        list.lines()
            .any(|l| l.contains("flags=b") && l.contains("cmd=set")),
        "{list}"
    );
    let got: Option<String> = cmd(&mut admin, &["GET", "k"]).await;
    assert_eq!(got, None, "the paused SET did not run");
    // UNPAUSE releases it long before the 60 s.
    let ok: String = cmd(&mut admin, &["CLIENT", "UNPAUSE"]).await;
    assert_eq!(ok, "OK");
    c.expect(b"+OK\r\n").await;
    let got: Option<String> = cmd(&mut admin, &["GET", "k"]).await;
    assert_eq!(got.as_deref(), Some("1"));
    assert_eq!(blocked_clients(&mut admin).await, 0);
}

#[tokio::test]
async fn pause_errors_are_redis_s() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    for (args, text) in [
        (
            &["CLIENT", "PAUSE"][..],
            "ERR wrong number of arguments for 'client|pause' command",
        ),
        (
            &["CLIENT", "PAUSE", "abc"],
            "ERR timeout is not an integer or out of range",
        ),
        (
            &["CLIENT", "PAUSE", "1.5"],
            "ERR timeout is not an integer or out of range",
        ),
        (&["CLIENT", "PAUSE", "-1"], "ERR timeout is negative"),
        (
            &["CLIENT", "PAUSE", "10", "SOME"],
            "ERR CLIENT PAUSE mode must be WRITE or ALL",
        ),
        (
            &["CLIENT", "PAUSE", "abc", "SOME"],
            "ERR CLIENT PAUSE mode must be WRITE or ALL",
        ),
        (
            &["CLIENT", "Pause", "10", "WRITE", "x"],
            "ERR unknown subcommand or wrong number of arguments for 'Pause'. Try CLIENT HELP.",
        ),
        (
            &["CLIENT", "UNPAUSE", "x"],
            "ERR wrong number of arguments for 'client|unpause' command",
        ),
    ] {
        assert_eq!(err(&mut c, args).await, text, "{args:?}");
    }
    // 0, and a timeout that overflows the clock, pause nothing (as in Redis).
    for t in ["0", "9223372036854775807"] {
        let ok: String = cmd(&mut c, &["CLIENT", "PAUSE", t, "ALL"]).await;
        assert_eq!(ok, "OK");
        let pong: String = cmd(&mut c, &["PING"]).await;
        assert_eq!(pong, "PONG");
    }
}

#[tokio::test]
async fn pipelined_commands_keep_their_order_across_a_pause() {
    let s = TestServer::start();
    let mut admin = s.conn().await;
    let ok: String = cmd(&mut admin, &["CLIENT", "PAUSE", "60000", "WRITE"]).await;
    assert_eq!(ok, "OK");
    let mut c = s.raw().await;
    let mut batch = Vec::new();
    for args in [
        &[&b"GET"[..], b"k"][..],
        &[b"SET", b"k", b"1"],
        &[b"GET", b"k"],
        &[b"INCR", b"k"],
        &[b"GET", b"k"],
        &[b"PING"],
    ] {
        batch.extend_from_slice(&encode(args));
    }
    c.send(&batch).await;
    // The GET before the write is answered; nothing after the SET runs.
    c.expect(b"$-1\r\n").await;
    until_parked(&mut admin, 1).await;
    assert!(c.silent_for(100).await);
    let _: String = cmd(&mut admin, &["CLIENT", "UNPAUSE"]).await;
    c.expect(b"+OK\r\n$1\r\n1\r\n:2\r\n$1\r\n2\r\n+PONG\r\n")
        .await;
}

#[tokio::test]
async fn paused_clients_resume_in_the_order_they_were_paused() {
    let s = TestServer::start();
    let mut admin = s.conn().await;
    let _: String = cmd(&mut admin, &["CLIENT", "PAUSE", "60000", "WRITE"]).await;
    let mut clients = Vec::new();
    for i in 0..10u8 {
        let mut c = s.raw().await;
        c.cmd(&[b"APPEND", b"k", &[b'A' + i]]).await;
        until_parked(&mut admin, usize::from(i) + 1).await;
        clients.push(c);
    }
    let _: String = cmd(&mut admin, &["CLIENT", "UNPAUSE"]).await;
    for (i, c) in clients.iter_mut().enumerate() {
        c.expect(format!(":{}\r\n", i + 1).as_bytes()).await;
    }
    let got: String = cmd(&mut admin, &["GET", "k"]).await;
    assert_eq!(got, "ABCDEFGHIJ");
}

#[tokio::test]
async fn a_paused_client_can_be_killed() {
    let s = TestServer::start();
    let mut admin = s.conn().await;
    let _: String = cmd(&mut admin, &["CLIENT", "PAUSE", "60000", "WRITE"]).await;
    let mut c = s.raw().await;
    let id = client_id(&mut c).await;
    c.cmd(&[b"SET", b"k", b"v"]).await;
    until_parked(&mut admin, 1).await;
    let killed: i64 = cmd(&mut admin, &["CLIENT", "KILL", "ID", &id]).await;
    assert_eq!(killed, 1);
    assert!(c.closed().await, "the killed client was not closed");
    until_parked(&mut admin, 0).await;
    until_list(&mut admin, "the killed client to leave", |l| {
        !l.contains(&format!("id={id} "))
    })
    .await;
    // Its write never ran.
    let _: String = cmd(&mut admin, &["CLIENT", "UNPAUSE"]).await;
    let got: Option<String> = cmd(&mut admin, &["GET", "k"]).await;
    assert_eq!(got, None);
}

#[tokio::test]
async fn parked_clients_and_monitors_have_no_idle_timeout() {
    let s = TestServer::with(|c| c.timeout = 1);
    let mut idle = s.raw().await;
    let mut admin = s.raw().await;
    admin
        .roundtrip(&[b"CLIENT", b"PAUSE", b"60000", b"WRITE"], b"+OK\r\n")
        .await;
    let mut parked = s.raw().await;
    parked.cmd(&[b"SET", b"k", b"v"]).await;
    let mut monitor = s.raw().await;
    monitor.roundtrip(&[b"MONITOR"], b"+OK\r\n").await;
    assert!(idle.closed().await, "the idle client was not closed");
    assert!(admin.closed().await);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Well past the timeout, the parked client and the monitor are still there.
    let mut check = s.raw().await;
    check.roundtrip(&[b"CLIENT", b"UNPAUSE"], b"+OK\r\n").await;
    parked.expect(b"+OK\r\n").await;
    monitor.read_until(b"\"SET\" \"k\" \"v\"\r\n").await;
}

/// Whether `line` is a MONITOR line for `args` run in `db` by the client at `addr`.
fn is_monitor_line(line: &str, db: usize, addr: &str, args: &str) -> bool {
    let Some(rest) = line.strip_prefix('+') else {
        return false;
    };
    let Some((time, rest)) = rest.split_once(' ') else {
        return false;
    };
    let Some((secs, micros)) = time.split_once('.') else {
        return false;
    };
    secs.parse::<u64>().is_ok()
        && micros.len() == 6
        && micros.bytes().all(|b| b.is_ascii_digit())
        && rest == format!("[{db} {addr}] {args}")
}

#[tokio::test]
async fn monitor_shows_other_clients_commands_as_redis_does() {
    let s = TestServer::start();
    let mut m = s.raw().await;
    m.roundtrip(&[b"MONITOR"], b"+OK\r\n").await;
    let mut o = s.raw().await;
    let addr = o.stream.local_addr().unwrap().to_string();
    o.roundtrip(&[b"SELECT", b"3"], b"+OK\r\n").await;
    o.roundtrip(&[b"SET", b"k", b"a \"b\"\\\n\x01\xff"], b"+OK\r\n")
        .await;
    // Administrative commands are not shown; AUTH's arguments are redacted.
    o.cmd(&[b"CLIENT", b"LIST"]).await;
    o.read_until(b"\n\r\n").await;
    o.cmd(&[b"AUTH", b"secret"]).await;
    o.read_until(b"\r\n").await;
    o.send(b"get k\r\n").await;
    o.expect(b"$9\r\na \"b\"\\\n\x01\xff\r\n").await;
    let got = m.read_until(b"\"get\" \"k\"\r\n").await;
    let text = String::from_utf8(got).unwrap();
    let lines: Vec<&str> = text.split_terminator("\r\n").collect();
    let expected = [
        (3, "\"SELECT\" \"3\""),
        (3, "\"SET\" \"k\" \"a \\\"b\\\"\\\\\\n\\x01\\xff\""),
        (3, "\"AUTH\" \"(redacted)\""),
        (3, "\"get\" \"k\""),
    ];
    assert_eq!(lines.len(), expected.len(), "{text}");
    for (line, (db, args)) in lines.iter().zip(expected) {
        assert!(
            is_monitor_line(line, db, &addr, args),
            "{line:?} is not [{db} {addr}] {args}"
        );
    }
    // The monitor is flagged `O`; it may not touch the keyspace; its own commands
    // (not MONITOR itself) are shown to it after their reply, as Redis does.
    o.cmd(&[b"CLIENT", b"LIST"]).await;
    let list = String::from_utf8(o.read_until(b"\n\r\n").await).unwrap();
    assert!(list.contains("flags=O"), "{list}");
    m.cmd(&[b"GET", b"k"]).await;
    let got = m.read_until(b"\r\n").await;
    assert_eq!(got, b"-ERR Replica can't interact with the keyspace\r\n");
    m.cmd(&[b"PING"]).await;
    let got = String::from_utf8(m.read_until(b"\"PING\"\r\n").await).unwrap();
    assert!(got.starts_with("+PONG\r\n+"), "{got}");
    // A second MONITOR is ignored: no reply.
    m.cmd(&[b"MONITOR"]).await;
    m.roundtrip(&[b"ECHO", b"x"], b"$1\r\nx\r\n").await;
    m.read_until(b"\"ECHO\" \"x\"\r\n").await;
    // QUIT closes it.
    m.roundtrip(&[b"QUIT"], b"+OK\r\n").await;
    assert!(m.closed().await);
}

#[tokio::test]
async fn reset_leaves_monitor_mode() {
    let s = TestServer::start();
    let mut m = s.raw().await;
    m.roundtrip(&[b"MONITOR"], b"+OK\r\n").await;
    m.roundtrip(&[b"RESET"], b"+RESET\r\n").await;
    let mut o = s.raw().await;
    o.roundtrip(&[b"SET", b"k", b"v"], b"+OK\r\n").await;
    // Back to a plain client: it reads keys again, and sees no MONITOR line.
    m.roundtrip(&[b"GET", b"k"], b"$1\r\nv\r\n").await;
    assert!(m.silent_for(100).await);
    let mut admin = s.conn().await;
    let list: String = cmd(&mut admin, &["CLIENT", "LIST"]).await;
    assert!(!list.contains("flags=O"), "{list}");
}

#[tokio::test]
async fn a_monitor_that_does_not_read_is_closed() {
    let s = TestServer::start();
    s.handle().shared().monitors.set_push_limit(256 * 1024);
    let mut m = s.raw().await;
    m.roundtrip(&[b"MONITOR"], b"+OK\r\n").await;
    let mut admin = s.conn().await;
    // 32 MB of MONITOR lines, more than the socket buffers and the limit hold.
    let value = "x".repeat(256 * 1024);
    let mut writer = s.conn().await;
    for _ in 0..128 {
        let _: () = cmd(&mut writer, &["SET", "k", &value]).await;
    }
    until_list(&mut admin, "the monitor to be closed", |l| {
        !l.contains("flags=O")
    })
    .await;
    assert!(m.closed().await);
}

#[tokio::test]
async fn the_write_hook_wakes_the_first_client_blocked_on_a_key() {
    use shoal_server::blocking::WaitOn;
    let s = TestServer::start();
    let shared = s.handle().shared();
    let on = |key: &str| WaitOn::Keys(vec![(0, key.as_bytes().to_vec())]);
    let first = shared.blocking.park(on("k"), false);
    let second = shared.blocking.park(on("k"), false);
    let elsewhere = shared.blocking.park(on("other"), false);
    assert!(shared.blocking.has_waiters());
    let mut c = s.conn().await;
    let _: () = cmd(&mut c, &["SET", "k", "v"]).await;
    tokio::time::timeout(Duration::from_secs(5), first.woken())
        .await
        .expect("SET wakes the first client blocked on its key");
    // The first one is done: the next in line gets its turn.
    drop(first);
    tokio::time::timeout(Duration::from_secs(5), second.woken())
        .await
        .expect("the turn passes on");
    // A whole-database change wakes every key's first waiter.
    let _: () = cmd(&mut c, &["FLUSHDB"]).await;
    tokio::time::timeout(Duration::from_secs(5), elsewhere.woken())
        .await
        .expect("FLUSHDB wakes the waiters of its database");
    drop((second, elsewhere));
    assert!(!shared.blocking.has_waiters());
    assert_eq!(blocked_clients(&mut c).await, 0);
}

// ---------------------------------------------------------------------------------
// CLIENT UNBLOCK, compared with a real redis-server 7.0.15
// ---------------------------------------------------------------------------------

/// Waits (polling INFO) until `n` clients are blocked.
fn until_blocked_sync(w: &mut crate::common::Wire, n: usize) {
    let want = format!("blocked_clients:{n}\r\n");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let info = String::from_utf8_lossy(&w.call(&["INFO", "clients"])).into_owned();
        if info.contains(&want) {
            return;
        }
        assert!(Instant::now() < deadline, "not {n} blocked: {info}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Every reply of a CLIENT UNBLOCK session against `addr`, in order.
fn unblock_transcript(addr: impl std::net::ToSocketAddrs + Copy) -> Vec<String> {
    use crate::common::Wire;
    let mut a = Wire::connect(addr);
    let mut b = Wire::connect(addr);
    let mut t = Vec::new();
    let text = |x: Vec<u8>| String::from_utf8_lossy(&x).into_owned();
    for c in [
        &["CLIENT", "UNBLOCK", "abc"][..],
        &["CLIENT", "UNBLOCK", "1", "foo"],
        &["CLIENT", "UNBLOCK", "abc", "foo"],
        &["CLIENT", "UNBLOCK", "999999"],
        &["CLIENT", "UNBLOCK"],
        &["CLIENT", "UNBLOCK", "1", "timeout", "extra"],
        &["CLIENT", "UNBLOCK", "-5", "ERROR"],
        &["CLIENT", "UNBLOCK", "99999999999999999999999"],
        &["CLIENT", "UNBLOCK", "1", "error"],
    ] {
        t.push(text(a.call(c)));
    }
    let id = text(b.call(&["CLIENT", "ID"]));
    let id = id.trim_start_matches(':').trim_end();
    let me = text(a.call(&["CLIENT", "ID"]));
    let me = me.trim_start_matches(':').trim_end();
    // Not blocked: nothing to unblock (the caller itself included).
    t.push(text(a.call(&["CLIENT", "UNBLOCK", id])));
    t.push(text(a.call(&["CLIENT", "UNBLOCK", me, "ERROR"])));
    let blockers: &[(&[&str], &[&str])] = &[
        (&["BLPOP", "l", "0"], &[]),
        (&["BZPOPMIN", "z", "0"], &["ERROR"]),
        (&["BLMOVE", "l", "m", "LEFT", "LEFT", "0"], &["TIMEOUT"]),
        (&["BRPOPLPUSH", "l", "m", "0"], &["error"]),
        (&["BZMPOP", "0", "1", "z", "MIN"], &["timeout"]),
        (&["BLMPOP", "100", "2", "l", "m", "LEFT"], &[]),
        (&["BZPOPMAX", "z", "z2", "100"], &["ERROR"]),
        (&["BRPOP", "l", "0"], &[]),
    ];
    for (i, (blocker, reason)) in blockers.iter().enumerate() {
        if i == blockers.len() - 1 {
            // The same in RESP3.
            b.call(&["HELLO", "3"]);
        }
        b.send(blocker);
        until_blocked_sync(&mut a, 1);
        let mut unblock = vec!["CLIENT", "UNBLOCK", id];
        unblock.extend_from_slice(reason);
        t.push(format!("{blocker:?} {reason:?}"));
        t.push(text(a.call(&unblock)));
        t.push(text(b.reply()));
        // Done: a second request finds nothing blocked.
        t.push(text(a.call(&unblock)));
    }
    // A pipelined command after the blocked one runs once it is unblocked.
    b.send(&["BLPOP", "l", "0"]);
    b.send(&["PING"]);
    until_blocked_sync(&mut a, 1);
    t.push(text(a.call(&["CLIENT", "UNBLOCK", id, "ERROR"])));
    t.push(text(b.reply()));
    t.push(text(b.reply()));
    // The client blocks and is served as before.
    b.send(&["BLPOP", "l", "0"]);
    until_blocked_sync(&mut a, 1);
    t.push(text(a.call(&["RPUSH", "l", "x"])));
    t.push(text(b.reply()));
    t.push(text(a.call(&["CLIENT", "UNBLOCK", id])));
    until_blocked_sync(&mut a, 0);
    t
}

#[test]
fn client_unblock_answers_as_redis_does() {
    let redis = crate::lists::Redis::start();
    let shoal = TestServer::start();
    let want = unblock_transcript(("127.0.0.1", redis.port));
    let got = unblock_transcript(shoal.addr);
    assert_eq!(got, want);
    assert!(want.iter().any(|r| r.contains("UNBLOCKED")), "{want:?}");
}

/// A client paused by CLIENT PAUSE is not unblockable (Redis 7.0.15 crashes on it;
/// Shoal answers 0 and the paused command runs when the pause ends).
#[tokio::test]
async fn client_unblock_leaves_paused_clients_alone() {
    let s = TestServer::start();
    let mut admin = s.conn().await;
    let mut writer = s.raw().await;
    let id = client_id(&mut writer).await;
    let _: () = cmd(&mut admin, &["CLIENT", "PAUSE", "100000", "WRITE"]).await;
    writer.cmd(&[b"SET", b"k", b"v"]).await;
    until_parked(&mut admin, 1).await;
    for reason in [&[][..], &["TIMEOUT"], &["ERROR"]] {
        let mut args = vec!["CLIENT", "UNBLOCK", id.as_str()];
        args.extend_from_slice(reason);
        assert_eq!(cmd::<i64>(&mut admin, &args).await, 0);
    }
    let _: () = cmd(&mut admin, &["CLIENT", "UNPAUSE"]).await;
    writer.expect(b"+OK\r\n").await;
    // Blocked on a key afterwards, it is unblockable again.
    writer.cmd(&[b"BLPOP", b"nokey", b"0"]).await;
    until_parked(&mut admin, 1).await;
    assert_eq!(
        cmd::<i64>(&mut admin, &["CLIENT", "UNBLOCK", id.as_str()]).await,
        1
    );
    writer.expect(b"*-1\r\n").await;
    until_parked(&mut admin, 0).await;
}

/// INFO's blocked-client figures at each step of one scenario: `(blocked_clients,
/// clients_in_timeout_table, total_blocking_keys)`, the last `None` where the server
/// (redis-server 7.0) has no such field. Each step waits until `blocked_clients` is
/// what it should be.
async fn blocked_figures(port: u16) -> Vec<(usize, usize, Option<usize>)> {
    let url = format!("redis://127.0.0.1:{port}/");
    let mut ctl = redis::Client::open(url.as_str())
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let mut seen = Vec::new();
    async fn step(
        ctl: &mut redis::aio::MultiplexedConnection,
        blocked: usize,
        seen: &mut Vec<(usize, usize, Option<usize>)>,
    ) {
        until_parked(ctl, blocked).await;
        let info: String = cmd(ctl, &["INFO", "clients"]).await;
        let field = |name: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}:")))
                .map(|v| v.parse::<usize>().expect("a count"))
        };
        seen.push((
            field("blocked_clients").expect("blocked_clients"),
            field("clients_in_timeout_table").expect("clients_in_timeout_table"),
            field("total_blocking_keys"),
        ));
    }
    // Blocked forever on two keys.
    let mut a = Raw::connect(port).await;
    a.cmd(&[b"BLPOP", b"q1", b"q2", b"0"]).await;
    step(&mut ctl, 1, &mut seen).await;
    // With a timeout, on a key someone already waits for.
    let mut b = Raw::connect(port).await;
    b.roundtrip(&[b"CLIENT", b"SETNAME", b"b"], b"+OK\r\n")
        .await;
    b.cmd(&[b"BLPOP", b"q1", b"100"]).await;
    step(&mut ctl, 2, &mut seen).await;
    // Another database, one key named twice.
    let mut c = Raw::connect(port).await;
    c.roundtrip(&[b"SELECT", b"1"], b"+OK\r\n").await;
    c.cmd(&[b"BZPOPMIN", b"z", b"z", b"100"]).await;
    step(&mut ctl, 3, &mut seen).await;
    // A paused client is blocked, without a timeout and without keys.
    let _: () = cmd(&mut ctl, &["CLIENT", "PAUSE", "100000", "WRITE"]).await;
    let mut d = Raw::connect(port).await;
    d.cmd(&[b"SET", b"k", b"v"]).await;
    step(&mut ctl, 4, &mut seen).await;
    let _: () = cmd(&mut ctl, &["CLIENT", "UNPAUSE"]).await;
    d.expect(b"+OK\r\n").await;
    step(&mut ctl, 3, &mut seen).await;
    // Served: the first in line on q1 goes.
    let _: i64 = cmd(&mut ctl, &["RPUSH", "q1", "x"]).await;
    a.expect(b"*2\r\n$2\r\nq1\r\n$1\r\nx\r\n").await;
    step(&mut ctl, 2, &mut seen).await;
    // Unblocked.
    let list: String = cmd(&mut ctl, &["CLIENT", "LIST"]).await;
    let id = list
        .lines()
        .find(|l| l.contains(" name=b "))
        .and_then(|l| l.strip_prefix("id="))
        .and_then(|l| l.split(' ').next())
        .expect("b's id")
        .to_string();
    let n: i64 = cmd(&mut ctl, &["CLIENT", "UNBLOCK", &id]).await;
    assert_eq!(n, 1);
    b.expect(b"*-1\r\n").await;
    step(&mut ctl, 1, &mut seen).await;
    // Gone.
    drop(c);
    step(&mut ctl, 0, &mut seen).await;
    seen
}

/// INFO `blocked_clients` and `clients_in_timeout_table` follow redis-server 7.0
/// through blocking with and without a timeout, a pause, a served client, CLIENT
/// UNBLOCK and a disconnect; `total_blocking_keys` (Redis 7.2's field) counts the keys
/// waited on per database.
#[tokio::test]
async fn info_blocked_figures_match_redis() {
    let redis = RedisServer::start();
    let want = blocked_figures(redis.port).await;
    let s = TestServer::start();
    let got = blocked_figures(s.addr.port()).await;
    let strip = |v: &[(usize, usize, Option<usize>)]| -> Vec<(usize, usize)> {
        v.iter().map(|(b, t, _)| (*b, *t)).collect()
    };
    assert_eq!(strip(&got), strip(&want));
    assert_eq!(
        got,
        [
            (1, 0, Some(2)),
            (2, 1, Some(2)),
            (3, 2, Some(3)),
            (4, 2, Some(3)),
            (3, 2, Some(3)),
            (2, 2, Some(2)),
            (1, 1, Some(1)),
            (0, 0, Some(0)),
        ]
    );
    assert!(want.iter().all(|(_, _, keys)| keys.is_none()));
}
