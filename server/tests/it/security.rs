//! What a hostile client, or a web page in a browser on the same machine, can try:
//! writing files through CONFIG SET dir/dbfilename, cross-protocol HTTP requests,
//! connecting from off-host without a password (protected mode), clients that never
//! read their replies, password guessing, signals while the final save fails, and
//! running out of descriptors.
//!
//! Clients "from another host" connect from 127.0.0.2: still loopback for the kernel
//! (no traffic leaves the machine), but not `127.0.0.1`/`::1`, which is what Redis,
//! and Shoal, call a local client.

use std::process::Command;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::common::{cmd, encode, err, Proc, Raw, TempDir, TestServer};

/// A raw connection to `s` whose source address is 127.0.0.2: a non-local client.
async fn from_elsewhere(s: &TestServer) -> Raw {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind("127.0.0.2:0".parse().expect("addr"))
        .expect("bind 127.0.0.2");
    Raw {
        stream: socket.connect(s.addr).await.expect("connect"),
    }
}

/// Everything the server sends until it closes the connection (panics if it does not
/// within 5 s).
async fn read_to_close(r: &mut Raw) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(5), r.stream.read(&mut buf))
            .await
            .expect("server closes the connection")
        {
            Ok(0) | Err(_) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

async fn client_ids(c: &mut redis::aio::MultiplexedConnection) -> Vec<u64> {
    let list: String = cmd(c, &["CLIENT", "LIST"]).await;
    list.lines()
        .filter_map(|l| l.strip_prefix("id="))
        .filter_map(|l| l.split(' ').next())
        .filter_map(|id| id.parse().ok())
        .collect()
}

/// Waits up to `secs` for client `id` to leave CLIENT LIST.
async fn gone(c: &mut redis::aio::MultiplexedConnection, id: u64, secs: u64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if !client_ids(c).await.contains(&id) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

async fn info_field(c: &mut redis::aio::MultiplexedConnection, name: &str) -> String {
    let info: String = cmd(c, &["INFO", "everything"]).await;
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("INFO has no {name}"))
        .to_string()
}

// ---------------------------------------------------------------------------------------
// Protected configs
// ---------------------------------------------------------------------------------------

const SSH_KEY: &str = "\n\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAttacker attacker@evil\n\n";

#[tokio::test]
async fn config_set_cannot_point_a_save_at_a_file_of_the_clients_choosing() {
    let data = TempDir::new("data");
    let target = TempDir::new("ssh");
    let s = TestServer::with(|c| c.dir = data.str());
    let mut c = s.conn().await;
    let target_dir = target.str();
    assert_eq!(
        err(&mut c, &["CONFIG", "SET", "dir", &target_dir]).await,
        "ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config"
    );
    assert_eq!(
        err(&mut c, &["CONFIG", "SET", "dbfilename", "authorized_keys"]).await,
        "ERR CONFIG SET failed (possibly related to argument 'dbfilename') - can't set protected config"
    );
    // Hidden among other parameters, still refused, and nothing of it applied.
    assert_eq!(
        err(
            &mut c,
            &["CONFIG", "SET", "maxmemory", "1mb", "DBFILENAME", "authorized_keys"]
        )
        .await,
        "ERR CONFIG SET failed (possibly related to argument 'DBFILENAME') - can't set protected config"
    );
    let got: Vec<String> = cmd(&mut c, &["CONFIG", "GET", "maxmemory"]).await;
    assert_eq!(got[1], "0");
    cmd::<()>(&mut c, &["SET", "payload", SSH_KEY]).await;
    assert_eq!(cmd::<String>(&mut c, &["SAVE"]).await, "OK");
    assert!(!target.0.join("authorized_keys").exists());
    assert!(!target.0.join("dump.rdb").exists());
    assert!(data.0.join("dump.rdb").exists(), "the save went to dir");
    let got: Vec<String> = cmd(&mut c, &["CONFIG", "GET", "dir"]).await;
    assert_eq!(got[1], data.str());
}

#[tokio::test]
async fn enable_protected_configs_yes_and_local() {
    let data = TempDir::new("data");
    let other = TempDir::new("other");
    let s = TestServer::with(|c| {
        c.dir = data.str();
        c.enable_protected_configs = "yes".into();
    });
    let mut c = s.conn().await;
    let _: () = cmd(&mut c, &["CONFIG", "SET", "dir", &other.str()]).await;
    let _: () = cmd(&mut c, &["CONFIG", "SET", "dbfilename", "moved.rdb"]).await;
    assert_eq!(cmd::<String>(&mut c, &["SAVE"]).await, "OK");
    assert!(other.0.join("moved.rdb").exists());
    let got: Vec<String> = cmd(&mut c, &["CONFIG", "GET", "enable-protected-configs"]).await;
    assert_eq!(got[1], "yes");
    assert_eq!(
        err(&mut c, &["CONFIG", "SET", "enable-protected-configs", "no"]).await,
        "ERR CONFIG SET failed (possibly related to argument 'enable-protected-configs') - can't set immutable config"
    );
    drop(c);
    drop(s);

    // local: 127.0.0.1 may, a client from elsewhere may not (it authenticates, so
    // protected mode lets it in).
    let s = TestServer::with(|c| {
        c.dir = data.str();
        c.enable_protected_configs = "local".into();
        c.requirepass = "pw".into();
    });
    let mut local = s.raw().await;
    local.cmd(&[b"AUTH", b"pw"]).await;
    local.expect(b"+OK\r\n").await;
    local
        .roundtrip(
            &[b"CONFIG", b"SET", b"dbfilename", b"local.rdb"],
            b"+OK\r\n",
        )
        .await;
    let mut remote = from_elsewhere(&s).await;
    remote.cmd(&[b"AUTH", b"pw"]).await;
    remote.expect(b"+OK\r\n").await;
    remote
        .roundtrip(
            &[b"CONFIG", b"SET", b"dbfilename", b"remote.rdb"],
            b"-ERR CONFIG SET failed (possibly related to argument 'dbfilename') - can't set protected config\r\n",
        )
        .await;
}

// ---------------------------------------------------------------------------------------
// Cross-protocol requests
// ---------------------------------------------------------------------------------------

/// What a web page's `fetch("http://127.0.0.1:6379/", {method: "POST", body})` sends.
fn browser_post(port: u16, body: &str) -> Vec<u8> {
    format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: keep-alive\r\nContent-Length: {}\r\nOrigin: http://evil.example\r\nContent-Type: text/plain;charset=UTF-8\r\nUser-Agent: Mozilla/5.0\r\nAccept: */*\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[tokio::test]
async fn a_browser_post_is_closed_before_its_body_runs() {
    let data = TempDir::new("data");
    let cron = TempDir::new("cron");
    let s = TestServer::with(|c| {
        c.dir = data.str();
        // Even where file paths may be changed, the body never runs.
        c.enable_protected_configs = "yes".into();
    });
    let body = format!(
        "CONFIG SET dir {}\r\nCONFIG SET dbfilename root\r\nSET pwn \"\\n* * * * * touch /tmp/pwned\\n\"\r\nSAVE\r\n",
        cron.str()
    );
    let mut r = s.raw().await;
    r.send(&browser_post(s.addr.port(), &body)).await;
    assert_eq!(read_to_close(&mut r).await, b"", "no reply at all");

    let mut c = s.conn().await;
    assert_eq!(cmd::<i64>(&mut c, &["EXISTS", "pwn"]).await, 0);
    assert!(!cron.0.join("root").exists());
    let got: Vec<String> = cmd(&mut c, &["CONFIG", "GET", "dir"]).await;
    assert_eq!(got[1], data.str());
}

#[tokio::test]
async fn http_request_lines_and_host_headers_close_the_connection() {
    let s = TestServer::start();
    // A GET request line as the first thing a connection sends.
    let mut r = s.raw().await;
    r.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await;
    assert_eq!(read_to_close(&mut r).await, b"");
    // OPTIONS (a CORS preflight), multibulk-encoded POST, and Host: later on.
    let mut r = s.raw().await;
    r.send(b"OPTIONS / HTTP/1.1\r\n").await;
    assert_eq!(read_to_close(&mut r).await, b"");
    let mut r = s.raw().await;
    r.cmd(&[b"post", b"x"]).await;
    assert_eq!(read_to_close(&mut r).await, b"");
    let mut r = s.raw().await;
    r.roundtrip(&[b"PING"], b"+PONG\r\n").await;
    r.send(b"Host: 127.0.0.1\r\nSET after host\r\n").await;
    assert_eq!(read_to_close(&mut r).await, b"");
    // Later in a connection, GET with three arguments is just a wrong arity.
    let mut r = s.raw().await;
    r.roundtrip(&[b"PING"], b"+PONG\r\n").await;
    r.send(b"GET / HTTP/1.1\r\n").await;
    r.expect(b"-ERR wrong number of arguments for 'get' command\r\n")
        .await;
    let mut c = s.conn().await;
    assert_eq!(cmd::<i64>(&mut c, &["EXISTS", "after"]).await, 0);
}

#[test]
fn the_security_attack_warning_is_logged_once_a_minute() {
    let p = Proc::with_log(&[]);
    for _ in 0..3 {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", p.port)).unwrap();
        std::io::Write::write_all(&mut s, &browser_post(p.port, "FLUSHALL\r\n")).unwrap();
        let mut buf = Vec::new();
        let _ = std::io::Read::read_to_end(&mut s, &mut buf);
        assert!(buf.is_empty());
    }
    // The log line is written before the connection closes.
    let log = p.wait_log("Possible SECURITY ATTACK detected");
    assert_eq!(
        log.matches("Possible SECURITY ATTACK detected").count(),
        1,
        "{log}"
    );
}

// ---------------------------------------------------------------------------------------
// Protected mode
// ---------------------------------------------------------------------------------------

const DENIED: &[u8] = b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

#[tokio::test]
async fn protected_mode_refuses_clients_from_elsewhere_without_a_password() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let got: Vec<String> = cmd(&mut c, &["CONFIG", "GET", "protected-mode"]).await;
    assert_eq!(got[1], "yes", "on by default");
    let before: u64 = info_field(&mut c, "rejected_connections")
        .await
        .parse()
        .unwrap();
    let mut r = from_elsewhere(&s).await;
    r.send(b"PING\r\n").await;
    assert_eq!(read_to_close(&mut r).await, DENIED);
    let after: u64 = info_field(&mut c, "rejected_connections")
        .await
        .parse()
        .unwrap();
    assert_eq!(after, before + 1);

    // Off: served.
    let _: () = cmd(&mut c, &["CONFIG", "SET", "protected-mode", "no"]).await;
    let mut r = from_elsewhere(&s).await;
    r.roundtrip(&[b"PING"], b"+PONG\r\n").await;
    // On again with a password: served, and must authenticate.
    let _: () = cmd(
        &mut c,
        &[
            "CONFIG",
            "SET",
            "protected-mode",
            "yes",
            "requirepass",
            "pw",
        ],
    )
    .await;
    let mut r = from_elsewhere(&s).await;
    r.roundtrip(&[b"PING"], b"-NOAUTH Authentication required.\r\n")
        .await;
    r.roundtrip(&[b"AUTH", b"pw"], b"+OK\r\n").await;
    r.roundtrip(&[b"PING"], b"+PONG\r\n").await;
}

#[test]
fn an_exposed_bind_without_password_warns_at_start() {
    let p = Proc::with_log(&["--bind", "0.0.0.0"]);
    let log = p.wait_log("no password is set and protected mode is on");
    assert!(
        log.contains("no password is set and protected mode is on"),
        "{log}"
    );
    // Reached from 127.0.0.2 only (the test never leaves loopback): refused.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let from: std::net::SocketAddr = "127.0.0.2:0".parse().unwrap();
    socket.bind(&from.into()).unwrap();
    let to: std::net::SocketAddr = format!("127.0.0.1:{}", p.port).parse().unwrap();
    socket.connect(&to.into()).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let socket: std::net::TcpStream = socket.into();
    let mut buf = Vec::new();
    std::io::Read::read_to_end(&mut &socket, &mut buf).expect("closed by the server");
    assert_eq!(buf, DENIED);
    let p = Proc::with_log(&["--bind", "0.0.0.0", "--protected-mode", "no"]);
    let log = p.wait_log("protected mode is off");
    assert!(log.contains("protected mode is off"), "{log}");
}

// ---------------------------------------------------------------------------------------
// Clients that never read
// ---------------------------------------------------------------------------------------

/// A client that asks for far more than the socket buffers hold and never reads:
/// the server ends up blocked writing to it. Returns the client's id and stream.
async fn stuck_reader(s: &TestServer) -> (u64, TcpStream) {
    let mut r = s.raw().await;
    r.cmd(&[b"CLIENT", b"ID"]).await;
    let mut buf = [0u8; 64];
    let n = r.stream.read(&mut buf).await.unwrap();
    let id: u64 = std::str::from_utf8(&buf[1..n - 2])
        .unwrap()
        .parse()
        .unwrap();
    let mut c = s.conn().await;
    let big = "x".repeat(1 << 20);
    cmd::<()>(&mut c, &["SET", "big", &big]).await;
    // 64 MB of replies, far beyond the loopback socket buffers.
    let mut flood = Vec::new();
    for _ in 0..64 {
        flood.extend_from_slice(&encode(&[b"GET", b"big"]));
    }
    r.send(&flood).await;
    // Let the server fill the buffers and block.
    tokio::time::sleep(Duration::from_millis(300)).await;
    (id, r.stream)
}

#[tokio::test]
async fn client_kill_closes_a_client_blocked_in_a_write() {
    let s = TestServer::start();
    let mut admin = s.conn().await;
    let (id, _held) = stuck_reader(&s).await;
    assert!(client_ids(&mut admin).await.contains(&id));
    let killed: i64 = cmd(&mut admin, &["CLIENT", "KILL", "ID", &id.to_string()]).await;
    assert_eq!(killed, 1);
    assert!(gone(&mut admin, id, 5).await, "killed client still listed");

    // By address, old and new forms.
    let (id, held) = stuck_reader(&s).await;
    let addr = held.local_addr().unwrap().to_string();
    let _: () = cmd(&mut admin, &["CLIENT", "KILL", &addr]).await;
    assert!(gone(&mut admin, id, 5).await);
    let (id, held) = stuck_reader(&s).await;
    let addr = held.local_addr().unwrap().to_string();
    let killed: i64 = cmd(&mut admin, &["CLIENT", "KILL", "ADDR", &addr]).await;
    assert_eq!(killed, 1);
    assert!(gone(&mut admin, id, 5).await);
    // By user, and by the server-side address of the connection (LADDR).
    let (id, _held) = stuck_reader(&s).await;
    let killed: i64 = cmd(
        &mut admin,
        &["CLIENT", "KILL", "USER", "default", "ID", &id.to_string()],
    )
    .await;
    assert_eq!(killed, 1);
    assert!(gone(&mut admin, id, 5).await);
    let (id, held) = stuck_reader(&s).await;
    let laddr = held.peer_addr().unwrap().to_string();
    let killed: i64 = cmd(
        &mut admin,
        &["CLIENT", "KILL", "LADDR", &laddr, "ID", &id.to_string()],
    )
    .await;
    assert_eq!(killed, 1);
    assert!(gone(&mut admin, id, 5).await);
    // By type (everyone but the caller).
    let (id, _held) = stuck_reader(&s).await;
    let killed: i64 = cmd(&mut admin, &["CLIENT", "KILL", "TYPE", "normal"]).await;
    assert!(killed >= 1);
    assert!(gone(&mut admin, id, 5).await);
}

#[tokio::test]
async fn timeout_closes_a_client_blocked_in_a_write() {
    let s = TestServer::with(|c| c.timeout = 1);
    let (id, _held) = stuck_reader(&s).await;
    let mut admin = s.conn().await;
    // The admin connection stays busy so that only the stuck one idles.
    let deadline = Instant::now() + Duration::from_secs(6);
    let mut closed = false;
    while Instant::now() < deadline {
        if !client_ids(&mut admin).await.contains(&id) {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        closed,
        "idle timeout did not close a client blocked in a write"
    );
}

#[tokio::test]
async fn shutdown_does_not_wait_for_a_client_that_does_not_read() {
    let s = TestServer::start();
    let (_id, _held) = stuck_reader(&s).await;
    let started = Instant::now();
    tokio::task::spawn_blocking(move || s.stop()).await.unwrap();
    // Before, shutdown waited out a 2 s grace period, then 2 s more.
    assert!(
        started.elapsed() < Duration::from_millis(1900),
        "shutdown took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_unauthenticated_client_that_does_not_read_is_closed() {
    let s = TestServer::with(|c| c.requirepass = "pw".into());
    let mut admin = s.conn().await;
    let _: () = cmd(&mut admin, &["AUTH", "pw"]).await;
    let mut before: Vec<u64> = client_ids(&mut admin).await;
    before.sort_unstable();
    // PING without AUTH, pipelined, never reading the -NOAUTH replies: 9 MB of
    // requests, 51 MB of replies, far more than the socket buffers hold.
    let mut flooder = s.raw().await;
    let flood = b"PING\r\n".repeat(1_500_000);
    let outcome = tokio::time::timeout(Duration::from_secs(20), flooder.stream.write_all(&flood))
        .await
        .expect("the server stopped reading but never closed the connection");
    // The server may close before or after the last byte was taken.
    if outcome.is_ok() {
        assert!(
            read_to_close(&mut flooder).await.len() < flood.len() * 34 / 6,
            "every reply was delivered"
        );
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut now: Vec<u64> = client_ids(&mut admin).await;
        now.sort_unstable();
        if now == before {
            break;
        }
        assert!(Instant::now() < deadline, "flooder still connected");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_authenticated_client_may_have_replies_pending() {
    let s = TestServer::with(|c| c.requirepass = "pw".into());
    let mut r = s.raw().await;
    r.roundtrip(&[b"AUTH", b"pw"], b"+OK\r\n").await;
    let id = {
        r.cmd(&[b"CLIENT", b"ID"]).await;
        let mut buf = [0u8; 64];
        let n = r.stream.read(&mut buf).await.unwrap();
        std::str::from_utf8(&buf[1..n - 2])
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    // The same flood as above: the server ends up blocked writing to this client.
    let flood = b"PING\r\n".repeat(1_500_000);
    let blocked = tokio::time::timeout(Duration::from_secs(2), r.stream.write_all(&flood)).await;
    assert!(blocked.is_err(), "the server never stopped reading");
    let mut admin = s.conn().await;
    let _: () = cmd(&mut admin, &["AUTH", "pw"]).await;
    assert!(client_ids(&mut admin).await.contains(&id));
    // It is still served: its replies arrive as it reads them.
    let mut buf = vec![0u8; 1 << 16];
    let n = r.stream.read(&mut buf).await.unwrap();
    assert!(n > 0 && buf.starts_with(b"+PONG\r\n"));
}

// ---------------------------------------------------------------------------------------
// AUTH guessing
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn failed_auth_is_counted_logged_and_slowed_down() {
    let s = TestServer::with(|c| c.requirepass = "right".into());
    let mut admin = s.conn().await;
    let _: () = cmd(&mut admin, &["AUTH", "right"]).await;
    assert_eq!(info_field(&mut admin, "acl_access_denied_auth").await, "0");

    let mut r = s.raw().await;
    // The first three failures answer at once.
    let started = Instant::now();
    for _ in 0..3 {
        r.roundtrip(
            &[b"AUTH", b"wrong"],
            b"-WRONGPASS invalid username-password pair or user is disabled.\r\n",
        )
        .await;
    }
    let free = started.elapsed();
    // Then 100, 200, 400 ms: six guesses pipelined in one write take at least 700 ms
    // for the first three of them (the pipeline cannot skip the pauses).
    let mut pipeline = Vec::new();
    for _ in 0..3 {
        pipeline.extend_from_slice(&encode(&[b"AUTH", b"wrong"]));
    }
    pipeline.extend_from_slice(&encode(&[b"HELLO", b"3", b"AUTH", b"default", b"wrong"]));
    let started = Instant::now();
    r.send(&pipeline).await;
    let reply = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n";
    r.expect(&reply.repeat(4)).await;
    let slowed = started.elapsed();
    assert!(
        slowed >= Duration::from_millis(700),
        "4 failures past the free ones took {slowed:?} (free ones: {free:?})"
    );
    assert_eq!(info_field(&mut admin, "acl_access_denied_auth").await, "7");
    // The right password still works on that connection, and resets the count.
    r.roundtrip(&[b"AUTH", b"right"], b"+OK\r\n").await;
    r.roundtrip(&[b"PING"], b"+PONG\r\n").await;
    // Another connection is not slowed by this one's failures.
    let mut other = s.raw().await;
    let started = Instant::now();
    other
        .roundtrip(
            &[b"AUTH", b"wrong"],
            b"-WRONGPASS invalid username-password pair or user is disabled.\r\n",
        )
        .await;
    other.roundtrip(&[b"AUTH", b"right"], b"+OK\r\n").await;
    assert!(started.elapsed() < Duration::from_millis(700));
    let _: () = cmd(&mut admin, &["CONFIG", "RESETSTAT"]).await;
    assert_eq!(info_field(&mut admin, "acl_access_denied_auth").await, "0");
}

#[test]
fn failed_auth_is_logged_at_most_once_a_second_with_the_address() {
    let p = Proc::with_log(&["--requirepass", "right"]);
    let mut s = std::net::TcpStream::connect(("127.0.0.1", p.port)).unwrap();
    for _ in 0..3 {
        std::io::Write::write_all(&mut s, b"AUTH wrong\r\n").unwrap();
        let mut buf = [0u8; 256];
        let n = std::io::Read::read(&mut s, &mut buf).unwrap();
        assert!(buf[..n].starts_with(b"-WRONGPASS"));
    }
    let local = s.local_addr().unwrap().to_string();
    let log = p.wait_log("AUTH failed");
    assert_eq!(log.matches("AUTH failed").count(), 1, "{log}");
    assert!(log.contains(&local), "{log}");
}

// ---------------------------------------------------------------------------------------
// Signals and the final save
// ---------------------------------------------------------------------------------------

/// A data directory that becomes a file (every save fails), and back.
fn break_dir(d: &TempDir) {
    std::fs::remove_dir_all(&d.0).unwrap();
    std::fs::write(&d.0, b"not a directory").unwrap();
}

fn repair_dir(d: &TempDir) {
    std::fs::remove_file(&d.0).unwrap();
    std::fs::create_dir(&d.0).unwrap();
}

#[test]
fn sigterm_keeps_serving_when_the_final_save_fails() {
    let d = TempDir::new("sigterm");
    let mut p = Proc::with_log(&["--save", "3600 1", "--dir", &d.str()]);
    p.cli(&["SET", "acknowledged", "write"]);
    break_dir(&d);
    p.signal("TERM");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(p.wait_exit(1), None, "exited although the save failed");
    assert_eq!(p.cli(&["GET", "acknowledged"]), "write");
    let log = p.wait_log("Errors trying to shut down the server");
    assert!(
        log.contains("Errors trying to shut down the server"),
        "{log}"
    );
    // SIGINT follows its own setting: here the same default.
    p.signal("INT");
    assert_eq!(p.wait_exit(1), None);
    // Once saving works again, SIGTERM saves and exits.
    repair_dir(&d);
    p.signal("TERM");
    assert_eq!(p.wait_exit(10), Some(Some(0)));
    assert!(d.0.join("dump.rdb").exists());
}

#[test]
fn shutdown_on_sigterm_flags() {
    // force: exits although the save fails.
    let d = TempDir::new("force");
    let mut p = Proc::with_log(&[
        "--save",
        "3600 1",
        "--dir",
        &d.str(),
        "--shutdown-on-sigterm",
        "force",
    ]);
    p.cli(&["SET", "k", "v"]);
    break_dir(&d);
    p.signal("TERM");
    assert_eq!(p.wait_exit(10), Some(Some(0)));
    repair_dir(&d);

    // nosave: exits without saving even with save points.
    let d = TempDir::new("nosave");
    let mut p = Proc::with_log(&["--save", "3600 1", "--dir", &d.str()]);
    p.cli(&["CONFIG", "SET", "shutdown-on-sigint", "nosave"]);
    assert_eq!(
        p.cli(&["CONFIG", "GET", "shutdown-on-sigint"]),
        "shutdown-on-sigint\nnosave"
    );
    p.cli(&["SET", "k", "v"]);
    p.signal("INT");
    assert_eq!(p.wait_exit(10), Some(Some(0)));
    assert!(!d.0.join("dump.rdb").exists());

    // save: saves without save points.
    let d = TempDir::new("save");
    let mut p = Proc::with_log(&["--dir", &d.str(), "--shutdown-on-sigterm", "save now"]);
    p.cli(&["SET", "k", "v"]);
    p.signal("TERM");
    assert_eq!(p.wait_exit(10), Some(Some(0)));
    assert!(d.0.join("dump.rdb").exists());
}

#[tokio::test]
async fn shutdown_on_signal_settings_validate_as_redis() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    for (value, shown) in [
        ("default", "default"),
        ("FORCE now SAVE", "save now force"),
        ("default nosave", "nosave"),
    ] {
        let _: () = cmd(&mut c, &["CONFIG", "SET", "shutdown-on-sigterm", value]).await;
        let got: Vec<String> = cmd(&mut c, &["CONFIG", "GET", "shutdown-on-sigterm"]).await;
        assert_eq!(got[1], shown);
    }
    assert_eq!(
        err(&mut c, &["CONFIG", "SET", "shutdown-on-sigint", "save nosave"]).await,
        "ERR CONFIG SET failed (possibly related to argument 'shutdown-on-sigint') - shutdown options SAVE and NOSAVE can't be used simultaneously"
    );
    for bad in ["", "sometimes"] {
        assert_eq!(
            err(&mut c, &["CONFIG", "SET", "shutdown-on-sigint", bad]).await,
            "ERR CONFIG SET failed (possibly related to argument 'shutdown-on-sigint') - argument(s) must be one of the following: default, save, nosave, now, force"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Capacity: backlog, descriptors
// ---------------------------------------------------------------------------------------

/// The listen backlog of the socket listening on `port`, as `ss -ltn` shows it.
fn listen_backlog(port: u16) -> u64 {
    let out = Command::new("ss")
        .args(["-Hltn", &format!("sport = :{port}")])
        .output()
        .expect("ss (iproute2) must be installed");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .next()
        .unwrap_or_else(|| panic!("no listener: {text}"));
    // State Recv-Q Send-Q Local Peer; Send-Q of a listener is its backlog.
    line.split_whitespace()
        .nth(2)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("unexpected ss line: {line}"))
}

fn somaxconn() -> u64 {
    std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn tcp_backlog_is_511_by_default_and_configurable() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let got: Vec<String> = cmd(&mut c, &["CONFIG", "GET", "tcp-backlog"]).await;
    assert_eq!(got[1], "511");
    assert_eq!(listen_backlog(s.addr.port()), 511.min(somaxconn()));
    let s = TestServer::with(|c| c.tcp_backlog = 1000);
    assert_eq!(listen_backlog(s.addr.port()), 1000.min(somaxconn()));
}

/// The soft open-files limit of process `pid`.
fn open_files_limit(pid: u32) -> u64 {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    line.split_whitespace().nth(3).unwrap().parse().unwrap()
}

/// Starts shoal under `ulimit -n <limit>` with `args`.
fn shoal_with_ulimit(limit: u32, args: &[&str]) -> Proc {
    let port = crate::common::free_port();
    let log = std::env::temp_dir().join(format!("shoal-ulimit-{}-{port}.log", std::process::id()));
    let script = format!(
        "ulimit -n {limit} && exec {} --config '' --bind 127.0.0.1 --port {port} --logfile {} {}",
        crate::common::SHOAL,
        log.display(),
        args.join(" ")
    );
    let child = Command::new("sh")
        .args(["-c", &script])
        .spawn()
        .expect("sh");
    let p = Proc {
        child,
        port,
        log: Some(log),
    };
    p.wait_ready();
    p
}

#[test]
fn maxclients_is_lowered_to_fit_an_open_files_limit_that_cannot_be_raised() {
    // More than the kernel allows any process (fs.nr_open), root or not.
    let p = shoal_with_ulimit(256, &["--maxclients", "100000000"]);
    let maxclients: u64 = p
        .cli(&["CONFIG", "GET", "maxclients"])
        .lines()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let limit = open_files_limit(p.child.id());
    assert_eq!(maxclients, limit - 32, "maxclients fits the limit");
    let log = p.wait_log("maxclients has been reduced");
    assert!(
        log.contains(&format!("maxclients has been reduced to {maxclients}")),
        "{log}"
    );
    // Raising it at runtime past what the system allows is refused.
    let out = crate::common::redis_cli(p.port, &["CONFIG", "SET", "maxclients", "100000000"], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "The operating system is not able to handle the specified number of clients, try with {maxclients}"
        )),
        "{text}"
    );
}

#[test]
fn clients_past_the_descriptor_limit_are_answered_and_logged_once() {
    let p = Proc::with_log(&[]);
    // The limit drops under the server's feet (prlimit(1), as an operator could).
    let status = Command::new("prlimit")
        .args(["--pid", &p.child.id().to_string(), "--nofile=48:48"])
        .status()
        .expect("prlimit (util-linux)");
    assert!(status.success());
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..80 {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", p.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        std::io::Write::write_all(&mut s, b"PING\r\n").unwrap();
        let mut buf = [0u8; 64];
        let n = std::io::Read::read(&mut s, &mut buf).expect("every client is answered");
        match &buf[..n] {
            b"+PONG\r\n" => held.push(s),
            b"-ERR max number of clients reached\r\n" => refused += 1,
            other => panic!("unexpected {:?}", String::from_utf8_lossy(other)),
        }
    }
    assert!(refused > 0, "the limit was never reached");
    assert!(held.len() < 48);
    let log = p.wait_log("Accepting client connection failed");
    assert_eq!(
        log.matches("Accepting client connection failed").count(),
        1,
        "{log}"
    );
}
