//! Test harness: start/stop servers, connect clients, talk raw RESP.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use shoal_server::config::Config;
use shoal_server::{Server, ServerHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A TCP port that was free a moment ago (for servers started as processes).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A server running in-process on 127.0.0.1 and an ephemeral port; stopped on drop.
pub struct TestServer {
    handle: Option<ServerHandle>,
    pub addr: SocketAddr,
}

impl TestServer {
    /// A server with the default configuration (small capacity).
    pub fn start() -> TestServer {
        TestServer::with(|_| {})
    }

    /// A server whose configuration `tweak` adjusts first.
    pub fn with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let mut c = Config {
            bind: vec!["127.0.0.1".into()],
            port: 0,
            capacity: 1000,
            ..Config::default()
        };
        tweak(&mut c);
        let handle = Server::start(c).expect("server starts");
        let addr = handle.addr();
        TestServer {
            handle: Some(handle),
            addr,
        }
    }

    /// A server with the default test configuration whose `observer` sees every
    /// change to the dataset from the start.
    pub fn observed(observer: shoal_server::changes::Observer) -> TestServer {
        let c = Config {
            bind: vec!["127.0.0.1".into()],
            port: 0,
            capacity: 1000,
            ..Config::default()
        };
        let handle = Server::start_observed(c, observer).expect("server starts");
        let addr = handle.addr();
        TestServer {
            handle: Some(handle),
            addr,
        }
    }

    /// The server's shared state (keyspace, stats).
    pub fn handle(&self) -> &ServerHandle {
        self.handle.as_ref().expect("running")
    }

    /// `redis://` URL for this server.
    pub fn url(&self) -> String {
        format!("redis://{}/", self.addr)
    }

    /// A RESP2 client.
    pub fn client(&self) -> redis::Client {
        redis::Client::open(self.url()).expect("client")
    }

    /// An async RESP2 connection.
    pub async fn conn(&self) -> redis::aio::MultiplexedConnection {
        self.client()
            .get_multiplexed_async_connection()
            .await
            .expect("connect")
    }

    /// An async RESP3 connection (the client sends HELLO 3).
    pub async fn conn3(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(format!("redis://{}/?protocol=resp3", self.addr))
            .expect("client")
            .get_multiplexed_async_connection()
            .await
            .expect("connect resp3")
    }

    /// A raw TCP connection for byte-exact protocol tests.
    pub async fn raw(&self) -> Raw {
        Raw {
            stream: TcpStream::connect(self.addr).await.expect("raw connect"),
        }
    }

    /// A raw connection switched to RESP3 (HELLO 3), with the HELLO reply consumed.
    pub async fn raw3(&self) -> Raw {
        let mut r = self.raw().await;
        r.cmd(&[b"HELLO", b"3"]).await;
        r.cmd(&[b"PING"]).await;
        let mut got = Vec::new();
        while !got.ends_with(b"+PONG\r\n") {
            let mut buf = [0u8; 4096];
            let n = tokio::time::timeout(Duration::from_secs(5), r.stream.read(&mut buf))
                .await
                .expect("HELLO reply in time")
                .expect("read");
            assert!(n > 0, "connection closed during HELLO");
            got.extend_from_slice(&buf[..n]);
        }
        assert!(
            !got.starts_with(b"-"),
            "HELLO 3 failed: {}",
            String::from_utf8_lossy(&got)
        );
        r
    }

    /// Stops the server now.
    pub fn stop(mut self) {
        if let Some(h) = self.handle.take() {
            h.shutdown();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.shutdown();
        }
    }
}

/// A raw socket speaking bytes.
pub struct Raw {
    pub stream: TcpStream,
}

impl Raw {
    /// A raw connection to a local port.
    pub async fn connect(port: u16) -> Raw {
        Raw {
            stream: TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("raw connect"),
        }
    }

    /// Sends bytes, telling a connection the server closed.
    pub async fn try_send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await
    }

    /// Sends bytes as they are.
    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("send");
    }

    /// Sends a command as a RESP multibulk.
    pub async fn cmd(&mut self, args: &[&[u8]]) {
        self.send(&encode(args)).await;
    }

    /// Reads until `n` bytes arrived or the peer closed; returns what arrived.
    pub async fn read_exact_or_eof(&mut self, n: usize) -> Vec<u8> {
        let mut buf = vec![0u8; n];
        let mut got = 0;
        while got < n {
            match tokio::time::timeout(Duration::from_secs(5), self.stream.read(&mut buf[got..]))
                .await
                .expect("read timed out")
            {
                Ok(0) | Err(_) => break,
                Ok(k) => got += k,
            }
        }
        buf.truncate(got);
        buf
    }

    /// Reads whatever arrives until `expected` bytes came or 5 s passed, and asserts
    /// the bytes equal `expected`.
    pub async fn expect(&mut self, expected: &[u8]) {
        let got = self.read_exact_or_eof(expected.len()).await;
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(expected)
        );
    }

    /// Sends a command and asserts the exact reply bytes.
    pub async fn roundtrip(&mut self, args: &[&[u8]], expected: &[u8]) {
        self.cmd(args).await;
        self.expect(expected).await;
    }

    /// Whether the server closed the connection (reads EOF within 5 s).
    pub async fn closed(&mut self) -> bool {
        let mut b = [0u8; 1024];
        loop {
            match tokio::time::timeout(Duration::from_secs(5), self.stream.read(&mut b)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => continue,
                Err(_) => return false,
            }
        }
    }
}

/// RESP multibulk encoding of a command.
pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        v.extend_from_slice(a);
        v.extend_from_slice(b"\r\n");
    }
    v
}

/// Runs a redis command and returns the result, for error assertions.
pub async fn try_cmd<T: redis::FromRedisValue>(
    con: &mut redis::aio::MultiplexedConnection,
    args: &[&str],
) -> redis::RedisResult<T> {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query_async(con).await
}

/// Runs a command that must succeed.
pub async fn cmd<T: redis::FromRedisValue>(
    con: &mut redis::aio::MultiplexedConnection,
    args: &[&str],
) -> T {
    try_cmd(con, args)
        .await
        .unwrap_or_else(|e| panic!("{args:?} failed: {e}"))
}

/// Runs a command that must fail, returning the full error text as the server sent
/// it (e.g. "ERR syntax error", "WRONGTYPE Operation against...").
pub async fn err(con: &mut redis::aio::MultiplexedConnection, args: &[&str]) -> String {
    match try_cmd::<redis::Value>(con, args).await {
        Ok(v) => panic!("{args:?} should fail, got {v:?}"),
        Err(e) => error_text(&e),
    }
}

/// The server's error text from a redis-crate error: "CODE detail".
pub fn error_text(e: &redis::RedisError) -> String {
    match (e.code(), e.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        (Some(code), None) => code.to_string(),
        _ => e.to_string(),
    }
}

/// One SCAN call: (next cursor, keys).
pub async fn scan(
    c: &mut redis::aio::MultiplexedConnection,
    args: &[&str],
) -> (String, Vec<String>) {
    let mut full = vec!["SCAN"];
    full.extend_from_slice(args);
    cmd::<(String, Vec<String>)>(c, &full).await
}

/// A full SCAN iteration with `opts`; returns every key seen, with repeats.
pub async fn scan_all(c: &mut redis::aio::MultiplexedConnection, opts: &[&str]) -> Vec<String> {
    let mut cursor = "0".to_string();
    let mut all = Vec::new();
    let mut calls = 0;
    loop {
        let mut args = vec![cursor.as_str()];
        args.extend_from_slice(opts);
        let (next, keys) = scan(c, &args).await;
        all.extend(keys);
        calls += 1;
        assert!(calls < 100_000, "scan does not end");
        if next == "0" {
            return all;
        }
        cursor = next;
    }
}

pub const SHOAL: &str = env!("CARGO_BIN_EXE_shoal");

/// A `shoal` process on a free port, killed on drop.
pub struct Proc {
    pub child: Child,
    pub port: u16,
    /// Where the process logs (`--logfile`), when started with [`Proc::with_log`].
    pub log: Option<std::path::PathBuf>,
}

impl Proc {
    pub fn start(extra: &[&str]) -> Proc {
        Proc::spawn(&[&["--config", ""], extra].concat(), &[])
    }

    /// Starts shoal with `args` (after --port/--bind) and environment `env`.
    pub fn spawn(args: &[&str], env: &[(&str, &str)]) -> Proc {
        let port = free_port();
        let child = Command::new(SHOAL)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn shoal");
        let p = Proc {
            child,
            port,
            log: None,
        };
        p.wait_ready();
        p
    }

    pub fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("shoal did not start on port {}", self.port);
    }

    /// A client connection to it.
    pub async fn conn(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .expect("client")
            .get_multiplexed_async_connection()
            .await
            .expect("connect")
    }

    pub fn cli(&self, args: &[&str]) -> String {
        let out = redis_cli(self.port, args, None);
        assert!(out.status.success(), "redis-cli {args:?} failed: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim_end().to_string()
    }
}

impl Proc {
    /// Starts shoal with `args` (after `--config '' --port --bind 127.0.0.1`), logging
    /// to a fresh file read by [`Proc::log_text`].
    pub fn with_log(args: &[&str]) -> Proc {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = std::env::temp_dir().join(format!("shoal-test-{}-{n}.log", std::process::id()));
        let _ = std::fs::remove_file(&log);
        let mut p = Proc::spawn(
            &[
                &[
                    "--config",
                    "",
                    "--logfile",
                    log.to_str().expect("utf-8 path"),
                ],
                args,
            ]
            .concat(),
            &[],
        );
        p.log = Some(log);
        p
    }

    /// What the process has logged so far (empty without a log file).
    pub fn log_text(&self) -> String {
        self.log
            .as_ref()
            .and_then(|l| std::fs::read_to_string(l).ok())
            .unwrap_or_default()
    }

    /// Waits up to 5 s for the log to contain `needle`; the log text then.
    pub fn wait_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let log = self.log_text();
            if log.contains(needle) || Instant::now() >= deadline {
                return log;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits up to `secs` for the process to exit; its exit code, or `None` if it
    /// is still running.
    pub fn wait_exit(&mut self, secs: u64) -> Option<Option<i32>> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                return Some(s.code());
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends a signal (`TERM`, `INT`...) with kill(1), as an operator would.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill(1)");
        assert!(status.success());
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(l) = &self.log {
            let _ = std::fs::remove_file(l);
        }
    }
}

pub fn redis_cli(port: u16, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("redis-cli must be installed (apt-get install -y redis-tools)");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write stdin");
    }
    child.wait_with_output().expect("redis-cli output")
}

/// A fresh directory under the temp dir, removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("shoal-test-{}-{n}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }

    /// The default dump file inside it.
    pub fn dump(&self) -> std::path::PathBuf {
        self.0.join("dump.rdb")
    }

    pub fn str(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Raw {
    /// Reads until the bytes received contain `needle` (5 s at most, then panics) and
    /// returns everything read.
    pub async fn read_until(&mut self, needle: &[u8]) -> Vec<u8> {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut got = Vec::new();
        while !got.windows(needle.len()).any(|w| w == needle) {
            let mut buf = [0u8; 4096];
            let left = deadline.saturating_duration_since(Instant::now());
            let n = match tokio::time::timeout(left, self.stream.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => n,
                other => panic!(
                    "waiting for {:?}: {other:?}, got {:?}",
                    String::from_utf8_lossy(needle),
                    String::from_utf8_lossy(&got)
                ),
            };
            got.extend_from_slice(&buf[..n]);
        }
        got
    }

    /// Whether nothing at all arrives within `ms` milliseconds (and the connection
    /// stays open).
    pub async fn silent_for(&mut self, ms: u64) -> bool {
        let mut buf = [0u8; 1024];
        tokio::time::timeout(Duration::from_millis(ms), self.stream.read(&mut buf))
            .await
            .is_err()
    }
}

/// A field of INFO (`blocked_clients`, `connected_clients`...), as text.
pub async fn info_field(con: &mut redis::aio::MultiplexedConnection, name: &str) -> String {
    let info: String = cmd(con, &["INFO", "everything"]).await;
    let prefix = format!("{name}:");
    info.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("INFO has no {name}"))
        .to_string()
}

/// A redis-server 7.0 child process on a free port with its own directory, killed on
/// drop: the reference Shoal's replies are compared with. `scripts/test-all.sh`
/// installs redis-server; a missing one fails the test that needs it.
pub struct RedisServer {
    child: Child,
    /// Its port.
    pub port: u16,
    _dir: TempDir,
}

impl RedisServer {
    /// Starts one and waits until it accepts connections.
    pub fn start() -> RedisServer {
        RedisServer::start_with(&[])
    }

    /// Starts one with `extra` command-line options (`["--enable-debug-command",
    /// "local"]`).
    pub fn start_with(extra: &[&str]) -> RedisServer {
        let dir = TempDir::new("redis-ref");
        let port = free_port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--dir", &dir.str(), "--save", "", "--appendonly", "no"])
            .args(["--daemonize", "no"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "redis-server 7.0 is required for the comparisons with Redis \
                     (scripts/test-all.sh installs it: apt-get install redis-server): {e}"
                )
            });
        let server = RedisServer {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    /// A client connection (RESP3 when `resp3`), once the server answers PING.
    pub async fn conn(&self, resp3: bool) -> redis::aio::MultiplexedConnection {
        let query = if resp3 { "?protocol=resp3" } else { "" };
        let url = format!("redis://127.0.0.1:{}/{query}", self.port);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let client = redis::Client::open(url.as_str()).expect("client");
            if let Ok(mut c) = client.get_multiplexed_async_connection().await {
                if try_cmd::<String>(&mut c, &["PING"]).await.is_ok() {
                    return c;
                }
            }
            assert!(Instant::now() < deadline, "redis-server does not answer");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Starts one and connects to it (RESP2).
    pub async fn with_conn() -> (RedisServer, redis::aio::MultiplexedConnection) {
        let r = RedisServer::start();
        let c = r.conn(false).await;
        (r, c)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A blocking RESP connection that reads one whole reply at a time, as bytes.
pub struct Wire {
    r: BufReader<std::net::TcpStream>,
}

impl Wire {
    pub fn connect(addr: impl std::net::ToSocketAddrs) -> Wire {
        let s = std::net::TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Wire {
            r: BufReader::new(s),
        }
    }

    pub fn call(&mut self, args: &[&str]) -> Vec<u8> {
        self.send(args);
        self.reply()
    }

    /// Sends a command without reading its reply.
    pub fn send(&mut self, args: &[&str]) {
        let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.r.get_mut().write_all(&encode(&bytes)).unwrap();
    }

    /// Reads one whole reply.
    pub fn reply(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.frame(&mut out);
        out
    }

    fn frame(&mut self, out: &mut Vec<u8>) {
        let mut line = Vec::new();
        self.r.read_until(b'\n', &mut line).expect("reply");
        assert!(line.ends_with(b"\r\n"), "partial reply {line:?}");
        out.extend_from_slice(&line);
        let head = line[0];
        let n: i64 = std::str::from_utf8(&line[1..line.len() - 2])
            .ok()
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        match head {
            b'$' | b'=' | b'!' if n >= 0 => {
                let mut body = vec![0u8; n as usize + 2];
                self.r.read_exact(&mut body).unwrap();
                out.extend_from_slice(&body);
            }
            b'*' | b'~' | b'>' => {
                for _ in 0..n.max(0) {
                    self.frame(out);
                }
            }
            b'%' | b'|' => {
                for _ in 0..2 * n.max(0) {
                    self.frame(out);
                }
            }
            _ => {}
        }
    }
}

/// Parsers for one command each (a command's `Args` borrow its parser), authenticated.
pub fn parsers(n: usize) -> Vec<shoal_protocol::RequestParser> {
    (0..n)
        .map(|_| {
            let mut p = shoal_protocol::RequestParser::new(shoal_protocol::Limits::default());
            p.set_authenticated(true);
            p
        })
        .collect()
}

/// Parses one command per wire, each with its own parser.
pub fn parse_each<'a>(
    parsers: &'a mut [shoal_protocol::RequestParser],
    wires: &'a [Vec<u8>],
) -> Vec<shoal_protocol::Args<'a>> {
    parsers
        .iter_mut()
        .zip(wires)
        .map(|(p, w)| match p.parse(w) {
            Ok(Some((_, args))) => args,
            _ => panic!("parse"),
        })
        .collect()
}

/// Runs `commands` as one group (`dispatch::execute_group`, what EXEC runs on) for a
/// fresh client of `s`; returns the RESP2 replies and the client, which has left the
/// registry.
pub fn group_replies(
    s: &TestServer,
    commands: &[&[&[u8]]],
) -> (String, shoal_server::client::Client) {
    let shared = s.handle().shared();
    let addr: SocketAddr = ([127, 0, 0, 1], 1).into();
    let (info, _pushes) = shared
        .clients
        .register(addr, addr, 0, usize::MAX)
        .expect("register");
    let id = info.id;
    let mut client = shoal_server::client::Client::new(info, true);
    let wires: Vec<Vec<u8>> = commands.iter().map(|c| encode(c)).collect();
    let mut ps = parsers(wires.len());
    let parsed = parse_each(&mut ps, &wires);
    let group: Vec<&shoal_protocol::Args<'_>> = parsed.iter().collect();
    let mut out = shoal_protocol::ReplyBuf::new(shoal_protocol::Proto::Resp2);
    shoal_server::dispatch::execute_group(
        shared,
        &mut client,
        &mut out,
        shoal_server::state::now_ms(),
        &group,
    );
    shared.clients.unregister(id);
    (String::from_utf8_lossy(out.as_bytes()).into_owned(), client)
}
