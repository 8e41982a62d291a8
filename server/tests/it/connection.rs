//! Connection commands: PING, ECHO, SELECT, QUIT, HELLO, AUTH, RESET, CLIENT.
//!
//! Reply types matter here (HELLO's map, CLIENT LIST's verbatim string, RESP3 nulls),
//! so most tests talk raw RESP through [`Wire`] and compare bytes.

use crate::common::*;

/// A raw connection that reads one complete RESP reply at a time.
struct Wire {
    raw: Raw,
    buf: Vec<u8>,
}

impl Wire {
    async fn open(s: &TestServer) -> Wire {
        Wire {
            raw: s.raw().await,
            buf: Vec::new(),
        }
    }

    /// Sends a command and returns its reply, raw.
    async fn call(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.raw.cmd(args).await;
        self.reply().await
    }

    /// [`Wire::call`] with string arguments, the reply as (lossy) text.
    async fn call_str(&mut self, args: &[&str]) -> String {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        String::from_utf8_lossy(&self.call(&args).await).into_owned()
    }

    /// Reads one complete reply (waiting at most 5 s).
    async fn reply(&mut self) -> Vec<u8> {
        use tokio::io::AsyncReadExt;
        loop {
            if let Some(n) = frame_len(&self.buf) {
                return self.buf.drain(..n).collect();
            }
            let mut chunk = [0u8; 4096];
            let n = tokio::time::timeout(
                std::time::Duration::from_secs(5),
                self.raw.stream.read(&mut chunk),
            )
            .await
            .expect("reply timed out")
            .expect("read");
            assert!(
                n > 0,
                "connection closed; partial: {:?}",
                String::from_utf8_lossy(&self.buf)
            );
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Whether the server closed the connection, with nothing more sent before.
    async fn closed(&mut self) -> bool {
        assert!(self.buf.is_empty(), "unread: {:?}", self.buf);
        self.raw.closed().await
    }
}

/// Length of the first complete RESP2/RESP3 value in `b`, if it is complete.
fn frame_len(b: &[u8]) -> Option<usize> {
    let line_end = b.windows(2).position(|w| w == b"\r\n")?;
    let head = std::str::from_utf8(b.get(1..line_end)?).ok()?;
    let after = line_end + 2;
    match *b.first()? {
        b'$' | b'=' | b'!' => {
            let n: i64 = head.parse().ok()?;
            if n < 0 {
                return Some(after);
            }
            let end = after + n as usize + 2;
            (b.len() >= end).then_some(end)
        }
        t @ (b'*' | b'~' | b'>' | b'%' | b'|') => {
            let n: i64 = head.parse().ok()?;
            let items = if matches!(t, b'%' | b'|') { n * 2 } else { n };
            let mut pos = after;
            for _ in 0..items.max(0) {
                pos += frame_len(b.get(pos..)?)?;
            }
            Some(pos)
        }
        _ => Some(after),
    }
}

/// The byte-exact HELLO reply for client `id` speaking `proto`.
fn hello_reply(proto: u8, id: i64) -> Vec<u8> {
    let header = if proto == 3 { "%7" } else { "*14" };
    format!(
        "{header}\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n\
         $5\r\nproto\r\n:{proto}\r\n$2\r\nid\r\n:{id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n\
         $4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
    )
    .into_bytes()
}

/// CLIENT ID over a raw connection.
async fn raw_id(w: &mut Wire) -> i64 {
    let r = w.call_str(&["CLIENT", "ID"]).await;
    r.trim_start_matches(':')
        .trim_end()
        .parse()
        .unwrap_or_else(|_| panic!("CLIENT ID replied {r:?}"))
}

/// The body of a bulk (RESP2) or verbatim `txt` (RESP3) reply.
fn text_body(reply: &[u8]) -> String {
    let s = String::from_utf8_lossy(reply).into_owned();
    let (head, rest) = s.split_once("\r\n").expect("framed");
    let body = rest.strip_suffix("\r\n").expect("terminated");
    match head.as_bytes().first() {
        Some(b'$') => body.to_string(),
        Some(b'=') => body.strip_prefix("txt:").expect("txt format").to_string(),
        _ => panic!("not a bulk/verbatim reply: {s:?}"),
    }
}

/// The value of `field=` in a CLIENT LIST line.
fn field<'a>(line: &'a str, name: &str) -> &'a str {
    line.trim_end_matches('\n')
        .split(' ')
        .find_map(|kv| kv.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
        .unwrap_or_else(|| panic!("no {name}= in {line:?}"))
}

const NOAUTH_HELLO: &str = "-NOAUTH HELLO must be called with the client already authenticated, \
    otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and \
    select the RESP protocol version at the same time\r\n";
const BAD_NAME: &str =
    "-ERR Client names cannot contain spaces, newlines or special characters.\r\n";
const WRONGPASS: &str = "-WRONGPASS invalid username-password pair or user is disabled.\r\n";
const NOAUTH: &str = "-NOAUTH Authentication required.\r\n";

#[tokio::test]
async fn ping_echo_select() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    assert_eq!(cmd::<String>(&mut c, &["PING"]).await, "PONG");
    assert_eq!(cmd::<String>(&mut c, &["PING", "hi"]).await, "hi");
    assert_eq!(cmd::<String>(&mut c, &["ECHO", "x y"]).await, "x y");
    assert_eq!(cmd::<String>(&mut c, &["ECHO", ""]).await, "");
    assert_eq!(
        err(&mut c, &["SELECT", "16"]).await,
        "ERR DB index is out of range"
    );
    assert_eq!(
        err(&mut c, &["SELECT", "-1"]).await,
        "ERR DB index is out of range"
    );
    for bad in ["x", "01", "1.0", " 1", ""] {
        assert_eq!(
            err(&mut c, &["SELECT", bad]).await,
            "ERR value is not an integer or out of range"
        );
    }
    assert_eq!(
        err(&mut c, &["PING", "a", "b"]).await,
        "ERR wrong number of arguments for 'ping' command"
    );
    assert_eq!(
        err(&mut c, &["ECHO"]).await,
        "ERR wrong number of arguments for 'echo' command"
    );
    assert_eq!(
        err(&mut c, &["ECHO", "a", "b"]).await,
        "ERR wrong number of arguments for 'echo' command"
    );
    assert_eq!(
        err(&mut c, &["SELECT"]).await,
        "ERR wrong number of arguments for 'select' command"
    );
}

#[tokio::test]
async fn ping_echo_are_the_same_in_resp3_and_binary_safe() {
    let s = TestServer::start();
    let mut w = Wire::open(&s).await;
    for proto in ["2", "3"] {
        w.call_str(&["HELLO", proto]).await;
        assert_eq!(w.call_str(&["PING"]).await, "+PONG\r\n");
        assert_eq!(w.call_str(&["ping", "hi"]).await, "$2\r\nhi\r\n");
        assert_eq!(
            w.call(&[b"ECHO", b"a\r\n\x00\xff"]).await,
            b"$5\r\na\r\n\x00\xff\r\n"
        );
    }
}

#[tokio::test]
async fn select_switches_database() {
    let s = TestServer::start();
    let mut w = Wire::open(&s).await;
    let db = |info: Vec<u8>| field(&text_body(&info), "db").to_string();
    assert_eq!(db(w.call(&[b"CLIENT", b"INFO"]).await), "0");
    assert_eq!(w.call_str(&["SELECT", "15"]).await, "+OK\r\n");
    assert_eq!(db(w.call(&[b"CLIENT", b"INFO"]).await), "15");
    // A failed SELECT keeps the current database.
    assert_eq!(
        w.call_str(&["SELECT", "16"]).await,
        "-ERR DB index is out of range\r\n"
    );
    assert_eq!(db(w.call(&[b"CLIENT", b"INFO"]).await), "15");
    // Other connections see it in CLIENT LIST.
    let mut other = Wire::open(&s).await;
    let list = text_body(&other.call(&[b"CLIENT", b"LIST"]).await);
    assert!(list.lines().any(|l| field(l, "db") == "15"), "{list}");
    assert_eq!(w.call_str(&["select", "0"]).await, "+OK\r\n");
    assert_eq!(db(w.call(&[b"CLIENT", b"INFO"]).await), "0");
}

#[tokio::test]
async fn quit_replies_ok_then_closes() {
    let s = TestServer::start();
    let mut r = s.raw().await;
    r.cmd(&[b"QUIT"]).await;
    r.expect(b"+OK\r\n").await;
    assert!(r.closed().await);

    // Extra arguments are accepted (arity -1) and the rest of a pipeline is dropped.
    let mut r = s.raw().await;
    let mut batch = encode(&[b"QUIT", b"now"]);
    batch.extend(encode(&[b"PING"]));
    r.send(&batch).await;
    assert_eq!(r.read_exact_or_eof(64).await, b"+OK\r\n");
}

#[tokio::test]
async fn hello_without_version_reports_current_protocol() {
    let s = TestServer::start();
    let mut w = Wire::open(&s).await;
    let id = raw_id(&mut w).await;
    assert_eq!(w.call(&[b"HELLO"]).await, hello_reply(2, id));
    assert_eq!(w.call(&[b"hello", b"3"]).await, hello_reply(3, id));
    assert_eq!(w.call(&[b"HELLO"]).await, hello_reply(3, id));
}

#[tokio::test]
async fn hello_3_switches_to_resp3_and_2_back() {
    let s = TestServer::start();
    let mut w = Wire::open(&s).await;
    let id = raw_id(&mut w).await;
    assert_eq!(w.call_str(&["CLIENT", "GETNAME"]).await, "$-1\r\n");

    let reply = w.call(&[b"HELLO", b"3"]).await;
    assert!(reply.starts_with(b"%7\r\n"), "{reply:?}");
    assert_eq!(reply, hello_reply(3, id));
    assert_eq!(w.call_str(&["CLIENT", "GETNAME"]).await, "_\r\n");
    let info = text_body(&w.call(&[b"CLIENT", b"INFO"]).await);
    assert_eq!(field(&info, "resp"), "3");

    assert_eq!(w.call(&[b"HELLO", b"2"]).await, hello_reply(2, id));
    assert_eq!(w.call_str(&["CLIENT", "GETNAME"]).await, "$-1\r\n");
    let info = text_body(&w.call(&[b"CLIENT", b"INFO"]).await);
    assert_eq!(field(&info, "resp"), "2");
}

#[tokio::test]
async fn hello_switch_applies_within_a_pipeline() {
    let s = TestServer::start();
    let mut w = Wire::open(&s).await;
    let mut batch = encode(&[b"CLIENT", b"GETNAME"]);
    batch.extend(encode(&[b"HELLO", b"3"]));
    batch.extend(encode(&[b"CLIENT", b"GETNAME"]));
    w.raw.send(&batch).await;
    assert_eq!(w.reply().await, b"$-1\r\n");
    assert!(w.reply().await.starts_with(b"%7\r\n"));
    assert_eq!(w.reply().await, b"_\r\n");
}

#[tokio::test]
async fn hello_errors() {
    let s = TestServer::start();
    let mut w = Wire::open(&s).await;
    for v in ["1", "4", "0", "-1", "100"] {
        assert_eq!(
            w.call_str(&["HELLO", v]).await,
            "-NOPROTO unsupported protocol version\r\n",
            "HELLO {v}"
        );
    }
    for v in ["x", "02", "3.0", " 3", "", "99999999999999999999", "AUTH"] {
        assert_eq!(
            w.call_str(&["HELLO", v]).await,
            "-ERR Protocol version is not an integer or out of range\r\n",
            "HELLO {v:?}"
        );
    }
    // AUTH before the version is read as the version.
    assert_eq!(
        w.call_str(&["HELLO", "AUTH", "default", "x"]).await,
        "-ERR Protocol version is not an integer or out of range\r\n"
    );
    assert_eq!(
        w.call_str(&["HELLO", "3", "foo"]).await,
        "-ERR Syntax error in HELLO option 'foo'\r\n"
    );
    assert_eq!(
        w.call_str(&["HELLO", "3", "SETNAME"]).await,
        "-ERR Syntax error in HELLO option 'SETNAME'\r\n"
    );
    assert_eq!(
        w.call_str(&["HELLO", "3", "AUTH", "default"]).await,
        "-ERR Syntax error in HELLO option 'AUTH'\r\n"
    );
    assert_eq!(
        w.call_str(&["HELLO", "3", "SETNAME", "a b"]).await,
        BAD_NAME
    );
    assert_eq!(
        w.call_str(&["HELLO", "3", "AUTH", "bob", "x"]).await,
        WRONGPASS
    );
    // A failed HELLO changes nothing: still RESP2.
    assert_eq!(w.call_str(&["CLIENT", "GETNAME"]).await, "$-1\r\n");
}

#[tokio::test]
async fn hello_setname_and_auth_without_password() {
    let s = TestServer::start();
    let mut w = Wire::open(&s).await;
    let id = raw_id(&mut w).await;
    assert_eq!(
        w.call(&[b"HELLO", b"2", b"setname", b"first", b"SETNAME", b"second"])
            .await,
        hello_reply(2, id)
    );
    assert_eq!(w.call_str(&["CLIENT", "GETNAME"]).await, "$6\r\nsecond\r\n");
    // Without requirepass the default user takes any password.
    assert_eq!(
        w.call(&[
            b"HELLO",
            b"3",
            b"AUTH",
            b"default",
            b"anything",
            b"SETNAME",
            b""
        ])
        .await,
        hello_reply(3, id)
    );
    assert_eq!(w.call_str(&["CLIENT", "GETNAME"]).await, "_\r\n");
}

#[tokio::test]
async fn resp3_through_the_redis_crate() {
    let s = TestServer::start();
    let mut c = s.conn3().await;
    assert_eq!(cmd::<String>(&mut c, &["PING"]).await, "PONG");
    let hello: redis::Value = cmd(&mut c, &["HELLO"]).await;
    let redis::Value::Map(pairs) = hello else {
        panic!("HELLO is not a map in RESP3: {hello:?}");
    };
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| *key == redis::Value::BulkString(k.as_bytes().to_vec()))
            .map(|(_, v)| v.clone())
    };
    assert_eq!(get("proto"), Some(redis::Value::Int(3)));
    assert_eq!(
        get("server"),
        Some(redis::Value::BulkString(b"redis".to_vec()))
    );
    assert_eq!(get("modules"), Some(redis::Value::Array(vec![])));
    let info: redis::Value = cmd(&mut c, &["CLIENT", "INFO"]).await;
    match info {
        redis::Value::VerbatimString { text, .. } => {
            assert_eq!(field(&text, "resp"), "3");
            assert_eq!(field(&text, "lib-name"), "redis-rs");
            assert!(text.ends_with('\n'));
        }
        other => panic!("CLIENT INFO is not verbatim in RESP3: {other:?}"),
    }
}

#[tokio::test]
async fn auth_without_password_configured() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    assert_eq!(
        err(&mut c, &["AUTH", "x"]).await,
        "ERR AUTH <password> called without any password configured for the default user. \
         Are you sure your configuration is correct?"
    );
    assert_eq!(cmd::<String>(&mut c, &["AUTH", "default", "x"]).await, "OK");
    let mut w = Wire::open(&s).await;
    assert_eq!(w.call_str(&["AUTH", "bob", "x"]).await, WRONGPASS);
    assert_eq!(
        w.call_str(&["AUTH", "Default", "x"]).await,
        WRONGPASS,
        "user names are case-sensitive"
    );
    assert_eq!(
        w.call_str(&["AUTH", "a", "b", "c"]).await,
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        w.call_str(&["AUTH"]).await,
        "-ERR wrong number of arguments for 'auth' command\r\n"
    );
}

#[tokio::test]
async fn requirepass_gates_commands_until_auth() {
    let s = TestServer::with(|c| c.requirepass = "secret".into());
    let mut w = Wire::open(&s).await;
    for args in [
        &["PING"][..],
        &["CLIENT", "ID"],
        &["ECHO", "x"],
        &["SELECT", "1"],
        &["CLIENT", "LIST"],
        &["CLIENT", "SETNAME", "x"],
    ] {
        assert_eq!(w.call_str(args).await, NOAUTH, "{args:?}");
    }
    // Unknown commands and arity errors are reported as such, before AUTH gating.
    assert_eq!(
        w.call_str(&["NOSUCH"]).await,
        "-ERR unknown command 'NOSUCH', with args beginning with: \r\n"
    );
    assert_eq!(w.call_str(&["HELLO"]).await, NOAUTH_HELLO);
    assert_eq!(w.call_str(&["HELLO", "3"]).await, NOAUTH_HELLO);
    assert_eq!(
        w.call_str(&["HELLO", "3", "SETNAME", "sneaky"]).await,
        NOAUTH_HELLO
    );
    // Version and option errors come first.
    assert_eq!(
        w.call_str(&["HELLO", "5"]).await,
        "-NOPROTO unsupported protocol version\r\n"
    );
    assert_eq!(
        w.call_str(&["HELLO", "3", "SETNAME", "a b"]).await,
        BAD_NAME
    );
    assert_eq!(w.call_str(&["AUTH", "bad"]).await, WRONGPASS);
    assert_eq!(w.call_str(&["AUTH", "default", "bad"]).await, WRONGPASS);
    assert_eq!(w.call_str(&["AUTH", "bob", "secret"]).await, WRONGPASS);
    assert_eq!(
        w.call_str(&["HELLO", "3", "AUTH", "default", "bad"]).await,
        WRONGPASS
    );
    assert_eq!(w.call_str(&["PING"]).await, NOAUTH);

    assert_eq!(w.call_str(&["AUTH", "secret"]).await, "+OK\r\n");
    assert_eq!(w.call_str(&["PING"]).await, "+PONG\r\n");
    // The unauthenticated HELLO did not name the connection, nor switch protocol.
    assert_eq!(w.call_str(&["CLIENT", "GETNAME"]).await, "$-1\r\n");
    // A failed AUTH keeps an earlier success.
    assert_eq!(w.call_str(&["AUTH", "wrong"]).await, WRONGPASS);
    assert_eq!(w.call_str(&["PING"]).await, "+PONG\r\n");
    assert_eq!(w.call_str(&["AUTH", "default", "secret"]).await, "+OK\r\n");
    // Once authenticated, HELLO works without AUTH.
    let id = raw_id(&mut w).await;
    assert_eq!(w.call(&[b"HELLO", b"3"]).await, hello_reply(3, id));
}

#[tokio::test]
async fn hello_auth_authenticates_and_names() {
    let s = TestServer::with(|c| c.requirepass = "secret".into());
    let mut w = Wire::open(&s).await;
    let reply = w
        .call(&[
            b"HELLO", b"3", b"AUTH", b"default", b"secret", b"SETNAME", b"app",
        ])
        .await;
    assert!(reply.starts_with(b"%7\r\n"), "{reply:?}");
    let id = raw_id(&mut w).await;
    assert_eq!(reply, hello_reply(3, id));
    assert_eq!(w.call_str(&["CLIENT", "GETNAME"]).await, "$3\r\napp\r\n");

    // AUTH inside HELLO takes effect even when a later option fails (as in Redis).
    let mut w = Wire::open(&s).await;
    assert_eq!(
        w.call_str(&["HELLO", "2", "AUTH", "default", "secret", "SETNAME", "a b"])
            .await,
        BAD_NAME
    );
    assert_eq!(w.call_str(&["PING"]).await, "+PONG\r\n");
}

#[tokio::test]
async fn requirepass_with_the_redis_crate() {
    let s = TestServer::with(|c| c.requirepass = "secret".into());
    let mut c = s.conn().await;
    assert_eq!(
        err(&mut c, &["PING"]).await,
        "NOAUTH Authentication required."
    );
    let url = format!("redis://:secret@{}/", s.addr);
    let mut c = redis::Client::open(url)
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("connect with password");
    assert_eq!(cmd::<String>(&mut c, &["PING"]).await, "PONG");
    let url = format!("redis://default:secret@{}/?protocol=resp3", s.addr);
    let mut c = redis::Client::open(url)
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("connect with HELLO 3 AUTH");
    let info: redis::Value = cmd(&mut c, &["CLIENT", "INFO"]).await;
    assert!(
        matches!(info, redis::Value::VerbatimString { .. }),
        "{info:?}"
    );
}

#[tokio::test]
async fn quit_and_reset_are_allowed_before_auth() {
    let s = TestServer::with(|c| c.requirepass = "secret".into());
    let mut w = Wire::open(&s).await;
    assert_eq!(w.call_str(&["RESET"]).await, "+RESET\r\n");
    assert_eq!(w.call_str(&["QUIT"]).await, "+OK\r\n");
    assert!(w.closed().await);
}

#[tokio::test]
async fn reset_restores_a_fresh_connection() {
    let s = TestServer::with(|c| c.requirepass = "secret".into());
    let mut w = Wire::open(&s).await;
    assert_eq!(w.call_str(&["AUTH", "secret"]).await, "+OK\r\n");
    let id = raw_id(&mut w).await;
    assert_eq!(w.call_str(&["SELECT", "3"]).await, "+OK\r\n");
    assert_eq!(w.call(&[b"HELLO", b"3"]).await, hello_reply(3, id));
    for args in [
        &["CLIENT", "SETNAME", "named"][..],
        &["CLIENT", "SETINFO", "LIB-NAME", "mylib"],
        &["CLIENT", "NO-EVICT", "on"],
        &["CLIENT", "NO-TOUCH", "on"],
    ] {
        assert_eq!(w.call_str(args).await, "+OK\r\n", "{args:?}");
    }
    assert_eq!(w.call_str(&["RESET"]).await, "+RESET\r\n");
    // Unauthenticated again, since a password is required.
    assert_eq!(w.call_str(&["PING"]).await, NOAUTH);
    assert_eq!(w.call_str(&["AUTH", "secret"]).await, "+OK\r\n");
    // RESP2 again (null bulk), db 0, no name; the id and library info stay.
    assert_eq!(w.call_str(&["CLIENT", "GETNAME"]).await, "$-1\r\n");
    let info = text_body(&w.call(&[b"CLIENT", b"INFO"]).await);
    assert_eq!(field(&info, "id"), id.to_string());
    assert_eq!(field(&info, "db"), "0");
    assert_eq!(field(&info, "resp"), "2");
    assert_eq!(field(&info, "name"), "");
    assert_eq!(field(&info, "lib-name"), "mylib");

    assert_eq!(
        w.call_str(&["RESET", "x"]).await,
        "-ERR wrong number of arguments for 'reset' command\r\n"
    );
}

#[tokio::test]
async fn reset_turns_replies_back_on() {
    let s = TestServer::start();
    let mut r = s.raw().await;
    let mut batch = encode(&[b"CLIENT", b"REPLY", b"OFF"]);
    batch.extend(encode(&[b"PING", b"hidden"]));
    batch.extend(encode(&[b"RESET"]));
    batch.extend(encode(&[b"PING", b"shown"]));
    r.send(&batch).await;
    r.expect(b"+RESET\r\n$5\r\nshown\r\n").await;
}

#[tokio::test]
async fn client_container_errors() {
    let s = TestServer::start();
    let mut w = Wire::open(&s).await;
    assert_eq!(
        w.call_str(&["CLIENT"]).await,
        "-ERR wrong number of arguments for 'client' command\r\n"
    );
    assert_eq!(
        w.call_str(&["CLIENT", "FOO"]).await,
        "-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n"
    );
    assert_eq!(
        w.call_str(&["client", "foo", "bar"]).await,
        "-ERR unknown subcommand 'foo'. Try CLIENT HELP.\r\n"
    );
    for (args, name) in [
        (&["CLIENT", "ID", "x"][..], "client|id"),
        (&["CLIENT", "GETNAME", "x"], "client|getname"),
        (&["CLIENT", "SETNAME"], "client|setname"),
        (&["CLIENT", "SETNAME", "a", "b"], "client|setname"),
        (&["CLIENT", "INFO", "x"], "client|info"),
        (&["CLIENT", "KILL"], "client|kill"),
        (&["CLIENT", "REPLY"], "client|reply"),
        (&["CLIENT", "REPLY", "ON", "x"], "client|reply"),
        (&["CLIENT", "NO-EVICT"], "client|no-evict"),
        (&["CLIENT", "NO-TOUCH", "on", "x"], "client|no-touch"),
        (&["CLIENT", "SETINFO", "LIB-NAME"], "client|setinfo"),
        (
            &["CLIENT", "SETINFO", "LIB-NAME", "a", "b"],
            "client|setinfo",
        ),
        (&["CLIENT", "HELP", "x"], "client|help"),
    ] {
        assert_eq!(
            w.call_str(args).await,
            format!("-ERR wrong number of arguments for '{name}' command\r\n"),
            "{args:?}"
        );
    }
}

#[tokio::test]
async fn client_id_is_unique_and_increasing() {
    let s = TestServer::start();
    // Ids follow connection order (the second connects after the first registered).
    let mut a = Wire::open(&s).await;
    let ida = raw_id(&mut a).await;
    let mut b = Wire::open(&s).await;
    let idb = raw_id(&mut b).await;
    assert!(ida > 0 && idb > ida, "{ida} {idb}");
    assert_eq!(raw_id(&mut a).await, ida);
    assert_eq!(a.call(&[b"HELLO"]).await, hello_reply(2, ida));
}

#[tokio::test]
async fn client_setname_getname() {
    let s = TestServer::start();
    let mut w = Wire::open(&s).await;
    assert_eq!(w.call_str(&["CLIENT", "GETNAME"]).await, "$-1\r\n");
    assert_eq!(w.call_str(&["CLIENT", "SETNAME", "a!~b"]).await, "+OK\r\n");
    assert_eq!(w.call_str(&["CLIENT", "GETNAME"]).await, "$4\r\na!~b\r\n");
    for bad in [
        &b"a b"[..],
        b"a\nb",
        b"a\r",
        b"\x7f",
        b"\x00",
        b"tab\t",
        "é".as_bytes(),
    ] {
        assert_eq!(
            String::from_utf8_lossy(&w.call(&[b"CLIENT", b"SETNAME", bad]).await),
            BAD_NAME,
            "{bad:?}"
        );
    }
    // A rejected name leaves the old one.
    assert_eq!(w.call_str(&["CLIENT", "GETNAME"]).await, "$4\r\na!~b\r\n");
    // The empty name clears it.
    assert_eq!(w.call_str(&["CLIENT", "SETNAME", ""]).await, "+OK\r\n");
    assert_eq!(w.call_str(&["CLIENT", "GETNAME"]).await, "$-1\r\n");
    let long = "n".repeat(10_000);
    assert_eq!(w.call_str(&["CLIENT", "SETNAME", &long]).await, "+OK\r\n");
    assert_eq!(
        w.call_str(&["CLIENT", "GETNAME"]).await,
        format!("$10000\r\n{long}\r\n")
    );
}

#[tokio::test]
async fn client_setname_is_visible_in_client_list_of_another_connection() {
    let s = TestServer::start();
    let mut a = Wire::open(&s).await;
    let mut b = Wire::open(&s).await;
    let ida = raw_id(&mut a).await;
    let idb = raw_id(&mut b).await;
    assert_eq!(
        a.call_str(&["CLIENT", "SETNAME", "worker-1"]).await,
        "+OK\r\n"
    );
    let list = text_body(&b.call(&[b"CLIENT", b"LIST"]).await);
    assert!(list.ends_with('\n'), "{list:?}");
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "{list:?}");
    let line_a = lines
        .iter()
        .find(|l| field(l, "id") == ida.to_string())
        .expect("a listed");
    assert_eq!(field(line_a, "name"), "worker-1");
    let line_b = lines
        .iter()
        .find(|l| field(l, "id") == idb.to_string())
        .expect("b listed");
    assert_eq!(field(line_b, "name"), "");
    assert!(line_a.starts_with(&format!("id={ida} addr=")), "{line_a}");
    // Ordered by id.
    let ids: Vec<u64> = lines
        .iter()
        .map(|l| field(l, "id").parse().expect("numeric id"))
        .collect();
    assert!(ids.windows(2).all(|p| p[0] < p[1]), "{ids:?}");
}

#[tokio::test]
async fn client_list_filters() {
    let s = TestServer::start();
    let mut a = Wire::open(&s).await;
    let mut b = Wire::open(&s).await;
    let ida = raw_id(&mut a).await;
    let idb = raw_id(&mut b).await;
    let list = |reply: Vec<u8>| text_body(&reply);

    let all = list(a.call(&[b"CLIENT", b"LIST", b"TYPE", b"normal"]).await);
    assert_eq!(all.lines().count(), 2);
    let all = list(a.call(&[b"CLIENT", b"LIST", b"type", b"NORMAL"]).await);
    assert_eq!(all.lines().count(), 2);
    for t in ["master", "replica", "slave", "pubsub"] {
        assert_eq!(
            a.call_str(&["CLIENT", "LIST", "TYPE", t]).await,
            "$0\r\n\r\n",
            "{t}"
        );
    }
    assert_eq!(
        a.call_str(&["CLIENT", "LIST", "TYPE", "foo"]).await,
        "-ERR Unknown client type 'foo'\r\n"
    );

    let one = list(
        a.call_str(&["CLIENT", "LIST", "ID", &idb.to_string()])
            .await
            .into(),
    );
    assert_eq!(one.lines().count(), 1);
    assert_eq!(field(&one, "id"), idb.to_string());
    let ids = [
        idb.to_string(),
        "99999".to_string(),
        "-5".to_string(),
        ida.to_string(),
    ];
    let mut args = vec!["CLIENT", "LIST", "ID"];
    args.extend(ids.iter().map(String::as_str));
    let two = list(a.call_str(&args).await.into());
    let got: Vec<String> = two.lines().map(|l| field(l, "id").to_string()).collect();
    assert_eq!(
        got,
        vec![idb.to_string(), ida.to_string()],
        "argument order"
    );
    assert_eq!(
        a.call_str(&["CLIENT", "LIST", "ID", "99999"]).await,
        "$0\r\n\r\n"
    );
    for bad in [&["x"][..], &["1", "x"], &["1.5"]] {
        let mut args = vec!["CLIENT", "LIST", "ID"];
        args.extend_from_slice(bad);
        assert_eq!(
            a.call_str(&args).await,
            "-ERR Invalid client ID\r\n",
            "{bad:?}"
        );
    }
    for bad in [
        &["CLIENT", "LIST", "TYPE"][..],
        &["CLIENT", "LIST", "ID"],
        &["CLIENT", "LIST", "TYPE", "normal", "x"],
        &["CLIENT", "LIST", "foo"],
        &["CLIENT", "LIST", "foo", "bar"],
    ] {
        assert_eq!(a.call_str(bad).await, "-ERR syntax error\r\n", "{bad:?}");
    }
}

#[tokio::test]
async fn client_list_and_info_are_verbatim_in_resp3() {
    let s = TestServer::start();
    let mut w = Wire::open(&s).await;
    let id = raw_id(&mut w).await;
    w.call(&[b"HELLO", b"3"]).await;
    let list = w.call(&[b"CLIENT", b"LIST"]).await;
    assert!(list.starts_with(b"="), "{list:?}");
    let body = String::from_utf8_lossy(&list).into_owned();
    let (head, rest) = body.split_once("\r\n").expect("framed");
    assert!(rest.starts_with("txt:id="), "{body:?}");
    assert_eq!(
        head[1..].parse::<usize>().expect("length"),
        rest.len() - 2,
        "verbatim length counts 'txt:'"
    );
    let info = w.call(&[b"CLIENT", b"INFO"]).await;
    assert!(info.starts_with(b"="), "{info:?}");
    let line = text_body(&info);
    assert!(
        line.ends_with('\n') && line.lines().count() == 1,
        "{line:?}"
    );
    assert_eq!(field(&line, "id"), id.to_string());
    assert_eq!(
        w.call_str(&["CLIENT", "LIST", "ID", "99999"]).await,
        "=4\r\ntxt:\r\n"
    );
}

#[tokio::test]
async fn client_info_describes_this_connection() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let id: i64 = cmd(&mut c, &["CLIENT", "ID"]).await;
    let _: () = cmd(&mut c, &["CLIENT", "SETNAME", "me"]).await;
    let info: String = cmd(&mut c, &["CLIENT", "INFO"]).await;
    assert!(info.ends_with('\n'), "{info:?}");
    assert_eq!(info.lines().count(), 1);
    assert_eq!(field(&info, "id"), id.to_string());
    assert_eq!(field(&info, "name"), "me");
    assert_eq!(field(&info, "idle"), "0");
    assert_eq!(field(&info, "user"), "default");
    // The redis crate announces itself with CLIENT SETINFO.
    assert_eq!(field(&info, "lib-name"), "redis-rs");
    let addr = field(&info, "addr");
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    assert_eq!(field(&info, "laddr"), s.addr.to_string());
}

#[tokio::test]
async fn client_kill_by_address_closes_the_victim() {
    let s = TestServer::start();
    let mut killer = Wire::open(&s).await;
    let mut victim = Wire::open(&s).await;
    let info = text_body(&victim.call(&[b"CLIENT", b"INFO"]).await);
    let addr = field(&info, "addr").to_string();
    assert_eq!(killer.call_str(&["CLIENT", "KILL", &addr]).await, "+OK\r\n");
    assert!(victim.closed().await, "victim still open");
    // Gone from the list, and not found a second time.
    let list = text_body(&killer.call(&[b"CLIENT", b"LIST"]).await);
    assert_eq!(list.lines().count(), 1, "{list:?}");
    assert_eq!(
        killer.call_str(&["CLIENT", "KILL", &addr]).await,
        "-ERR No such client\r\n"
    );
    assert_eq!(
        killer.call_str(&["CLIENT", "KILL", "1.2.3.4:5"]).await,
        "-ERR No such client\r\n"
    );
    // Three arguments is always the old form.
    assert_eq!(
        killer.call_str(&["CLIENT", "KILL", "ID"]).await,
        "-ERR No such client\r\n"
    );
    assert_eq!(killer.call_str(&["PING"]).await, "+PONG\r\n");
}

#[tokio::test]
async fn client_kill_old_form_may_kill_the_caller() {
    let s = TestServer::start();
    let mut w = Wire::open(&s).await;
    let info = text_body(&w.call(&[b"CLIENT", b"INFO"]).await);
    let addr = field(&info, "addr").to_string();
    assert_eq!(w.call_str(&["CLIENT", "KILL", &addr]).await, "+OK\r\n");
    assert!(w.closed().await);
}

#[tokio::test]
async fn client_kill_filters() {
    let s = TestServer::start();
    let mut killer = Wire::open(&s).await;
    let mut v1 = Wire::open(&s).await;
    let mut v2 = Wire::open(&s).await;
    let me = raw_id(&mut killer).await;
    let id1 = raw_id(&mut v1).await;
    let id2 = raw_id(&mut v2).await;

    assert_eq!(
        killer.call_str(&["CLIENT", "KILL", "ID", "99999"]).await,
        ":0\r\n"
    );
    // Filters combine with AND.
    assert_eq!(
        killer
            .call_str(&["CLIENT", "KILL", "ID", &id1.to_string(), "TYPE", "pubsub"])
            .await,
        ":0\r\n"
    );
    assert_eq!(
        killer
            .call_str(&[
                "CLIENT",
                "KILL",
                "ID",
                &id1.to_string(),
                "ADDR",
                "1.1.1.1:1"
            ])
            .await,
        ":0\r\n"
    );
    // SKIPME yes (the default) spares the caller.
    assert_eq!(
        killer
            .call_str(&["CLIENT", "KILL", "ID", &me.to_string()])
            .await,
        ":0\r\n"
    );
    assert_eq!(
        killer
            .call_str(&["client", "kill", "id", &id1.to_string(), "type", "NORMAL"])
            .await,
        ":1\r\n"
    );
    assert!(v1.closed().await, "v1 still open");
    assert_eq!(raw_id(&mut v2).await, id2, "v2 untouched");

    let info = text_body(&v2.call(&[b"CLIENT", b"INFO"]).await);
    let laddr = field(&info, "laddr").to_string();
    let addr2 = field(&info, "addr").to_string();
    assert_eq!(
        killer
            .call_str(&["CLIENT", "KILL", "ADDR", &addr2, "LADDR", &laddr])
            .await,
        ":1\r\n"
    );
    assert!(v2.closed().await, "v2 still open");

    let mut v3 = Wire::open(&s).await;
    let mut v4 = Wire::open(&s).await;
    raw_id(&mut v3).await;
    raw_id(&mut v4).await;
    assert_eq!(
        killer
            .call_str(&["CLIENT", "KILL", "USER", "default", "SKIPME", "yes"])
            .await,
        ":2\r\n"
    );
    assert!(v3.closed().await && v4.closed().await);
    assert_eq!(killer.call_str(&["PING"]).await, "+PONG\r\n");

    // SKIPME no: the caller is counted, gets its reply, then is closed.
    assert_eq!(
        killer
            .call_str(&["CLIENT", "KILL", "LADDR", &laddr, "SKIPME", "no"])
            .await,
        ":1\r\n"
    );
    assert!(killer.closed().await);
}

#[tokio::test]
async fn client_kill_errors() {
    let s = TestServer::start();
    let mut w = Wire::open(&s).await;
    for id in ["x", "0", "-1", "1.5", "99999999999999999999"] {
        assert_eq!(
            w.call_str(&["CLIENT", "KILL", "ID", id]).await,
            "-ERR client-id should be greater than 0\r\n",
            "{id}"
        );
    }
    // Options are checked in order.
    assert_eq!(
        w.call_str(&["CLIENT", "KILL", "ADDR", "1.1.1.1:1", "ID", "x"])
            .await,
        "-ERR client-id should be greater than 0\r\n"
    );
    for args in [
        &["CLIENT", "KILL", "ID", "1", "foo"][..],
        &["CLIENT", "KILL", "foo", "bar"],
        &["CLIENT", "KILL", "SKIPME", "maybe"],
        &["CLIENT", "KILL", "MAXAGE", "1"],
        &["CLIENT", "KILL", "ID", "1", "SKIPME"],
    ] {
        assert_eq!(w.call_str(args).await, "-ERR syntax error\r\n", "{args:?}");
    }
    assert_eq!(
        w.call_str(&["CLIENT", "KILL", "TYPE", "foo"]).await,
        "-ERR Unknown client type 'foo'\r\n"
    );
    assert_eq!(
        w.call_str(&["CLIENT", "KILL", "USER", "bob"]).await,
        "-ERR No such user 'bob'\r\n"
    );
    assert_eq!(w.call_str(&["PING"]).await, "+PONG\r\n");
}

#[tokio::test]
async fn client_reply_off_on_skip() {
    let s = TestServer::start();
    let mut r = s.raw().await;
    let mut batch = Vec::new();
    for args in [
        &[&b"CLIENT"[..], b"REPLY", b"OFF"][..],
        &[b"PING", b"1"],
        &[b"CLIENT", b"REPLY", b"bad"],
        &[b"CLIENT", b"REPLY", b"SKIP"],
        &[b"PING", b"2"],
        &[b"CLIENT", b"REPLY", b"ON"],
        &[b"PING", b"3"],
        &[b"CLIENT", b"REPLY", b"SKIP"],
        &[b"PING", b"4"],
        &[b"PING", b"5"],
        // SKIP twice: the second SKIP is the skipped command, and re-arms.
        &[b"CLIENT", b"REPLY", b"SKIP"],
        &[b"CLIENT", b"REPLY", b"SKIP"],
        &[b"PING", b"6"],
        &[b"PING", b"7"],
        // ON right after SKIP cancels it and is answered.
        &[b"CLIENT", b"REPLY", b"SKIP"],
        &[b"CLIENT", b"REPLY", b"ON"],
        // Errors are replies too.
        &[b"CLIENT", b"REPLY", b"SKIP"],
        &[b"NOSUCH"],
        &[b"PING", b"8"],
        &[b"CLIENT", b"REPLY", b"SKIP"],
        &[b"RESET"],
        &[b"PING", b"9"],
        &[b"client", b"reply", b"foo"],
    ] {
        batch.extend(encode(args));
    }
    r.send(&batch).await;
    r.expect(
        b"+OK\r\n$1\r\n3\r\n$1\r\n5\r\n$1\r\n7\r\n+OK\r\n$1\r\n8\r\n$1\r\n9\r\n-ERR syntax error\r\n",
    )
    .await;
    // Same across separate reads.
    r.cmd(&[b"CLIENT", b"REPLY", b"SKIP"]).await;
    r.cmd(&[b"PING", b"a"]).await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    r.cmd(&[b"PING", b"b"]).await;
    r.expect(b"$1\r\nb\r\n").await;
}

#[tokio::test]
async fn client_no_evict_no_touch() {
    let s = TestServer::start();
    let mut w = Wire::open(&s).await;
    for sub in ["NO-EVICT", "no-touch"] {
        for v in ["on", "OFF", "On", "off"] {
            assert_eq!(w.call_str(&["CLIENT", sub, v]).await, "+OK\r\n");
        }
        for v in ["yes", "", "1"] {
            assert_eq!(
                w.call_str(&["CLIENT", sub, v]).await,
                "-ERR syntax error\r\n"
            );
        }
    }
}

#[tokio::test]
async fn client_setinfo() {
    let s = TestServer::start();
    let mut w = Wire::open(&s).await;
    let info = text_body(&w.call(&[b"CLIENT", b"INFO"]).await);
    assert_eq!(field(&info, "lib-name"), "");
    assert_eq!(field(&info, "lib-ver"), "");
    assert_eq!(
        w.call_str(&["CLIENT", "SETINFO", "lib-name", "shoal-test"])
            .await,
        "+OK\r\n"
    );
    assert_eq!(
        w.call_str(&["CLIENT", "SETINFO", "LIB-VER", "1.2.3"]).await,
        "+OK\r\n"
    );
    let info = text_body(&w.call(&[b"CLIENT", b"INFO"]).await);
    assert!(
        info.ends_with(" lib-name=shoal-test lib-ver=1.2.3\n"),
        "{info:?}"
    );
    assert_eq!(
        w.call_str(&["CLIENT", "SETINFO", "lib-name", "a b"]).await,
        "-ERR lib-name cannot contain spaces, newlines or special characters.\r\n"
    );
    assert_eq!(
        w.call_str(&["CLIENT", "SETINFO", "LIB-VER", "1\n2"]).await,
        "-ERR LIB-VER cannot contain spaces, newlines or special characters.\r\n"
    );
    assert_eq!(
        w.call_str(&["CLIENT", "SETINFO", "Lib-Name", "é"]).await,
        "-ERR Lib-Name cannot contain spaces, newlines or special characters.\r\n"
    );
    assert_eq!(
        w.call_str(&["CLIENT", "SETINFO", "badger", "x y"]).await,
        "-ERR Unrecognized option 'badger'\r\n"
    );
    // Rejected values change nothing; the empty value clears.
    assert_eq!(
        w.call_str(&["CLIENT", "SETINFO", "LIB-NAME", ""]).await,
        "+OK\r\n"
    );
    let info = text_body(&w.call(&[b"CLIENT", b"INFO"]).await);
    assert!(info.ends_with(" lib-name= lib-ver=1.2.3\n"), "{info:?}");
}

#[tokio::test]
async fn client_help() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let help: Vec<String> = cmd(&mut c, &["CLIENT", "HELP"]).await;
    assert_eq!(
        help[0],
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    );
    for sub in [
        "GETNAME",
        "ID",
        "INFO",
        "KILL <ip:port>",
        "LIST [options ...]",
        "REPLY (ON|OFF|SKIP)",
        "SETNAME <name>",
        "SETINFO <option> <value>",
        "NO-EVICT (ON|OFF)",
        "NO-TOUCH (ON|OFF)",
        "HELP",
    ] {
        assert!(help.iter().any(|l| l == sub), "{sub} missing");
    }
    assert_eq!(
        help.last().map(String::as_str),
        Some("    Prints this help.")
    );
    let mut w = Wire::open(&s).await;
    let raw = w.call_str(&["CLIENT", "HELP"]).await;
    assert!(
        raw.starts_with(&format!("*{}\r\n+CLIENT <subcommand>", help.len())),
        "status lines: {raw:?}"
    );
}
