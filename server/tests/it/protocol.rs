//! The wire protocol under real and hostile input: inline commands, pipelining, frames
//! split anywhere, malformed requests, huge declared lengths, buffer limits, abrupt
//! disconnects, many connections. Bad input gets Redis's error and a closed connection;
//! every other client carries on.

use std::time::Duration;

use tokio::io::AsyncWriteExt;

use crate::common::*;

#[tokio::test]
async fn inline_commands_and_quoting() {
    let s = TestServer::start();
    let mut r = s.raw().await;
    r.send(b"PING\r\n").await;
    r.expect(b"+PONG\r\n").await;
    r.send(b"ECHO \"a b\\x41\"\n").await;
    r.expect(b"$4\r\na bA\r\n").await;
    r.send(b"echo 'it''s'\r\n").await;
    r.expect(b"-ERR Protocol error: unbalanced quotes in request\r\n")
        .await;
    assert!(r.closed().await);
}

#[tokio::test]
async fn empty_lines_and_empty_multibulk_are_skipped() {
    let s = TestServer::start();
    let mut r = s.raw().await;
    r.send(b"\r\n\r\n*0\r\n*-1\r\nPING\r\n").await;
    r.expect(b"+PONG\r\n").await;
}

#[tokio::test]
async fn pipelined_batch_replies_in_order() {
    let s = TestServer::start();
    let mut r = s.raw().await;
    let mut batch = Vec::new();
    let mut expected = Vec::new();
    for i in 0..1000 {
        let v = format!("v{i}");
        batch.extend_from_slice(&encode(&[b"ECHO", v.as_bytes()]));
        expected.extend_from_slice(format!("${}\r\n{v}\r\n", v.len()).as_bytes());
    }
    r.send(&batch).await;
    r.expect(&expected).await;
}

#[tokio::test]
async fn frames_split_at_every_byte() {
    let s = TestServer::start();
    let mut r = s.raw().await;
    let frame = encode(&[b"ECHO", b"hello\r\nworld"]);
    for b in &frame {
        r.send(&[*b]).await;
        r.stream.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    r.expect(b"$12\r\nhello\r\nworld\r\n").await;
}

#[tokio::test]
async fn large_argument_arriving_in_small_pieces() {
    let s = TestServer::start();
    let mut r = s.raw().await;
    let big = vec![b'x'; 5 * 1024 * 1024];
    let frame = encode(&[b"ECHO", &big]);
    for chunk in frame.chunks(16 * 1024) {
        r.send(chunk).await;
    }
    let mut expected = format!("${}\r\n", big.len()).into_bytes();
    expected.extend_from_slice(&big);
    expected.extend_from_slice(b"\r\n");
    let got = r.read_exact_or_eof(expected.len()).await;
    assert!(got == expected, "5 MB echo mismatch ({} bytes)", got.len());
}

async fn assert_protocol_error(s: &TestServer, input: &[u8], message: &str) {
    let mut r = s.raw().await;
    r.send(input).await;
    r.expect(format!("-ERR Protocol error: {message}\r\n").as_bytes())
        .await;
    assert!(r.closed().await, "connection closed after: {message}");
}

#[tokio::test]
async fn malformed_requests_get_redis_errors_and_are_closed() {
    let s = TestServer::start();
    // A bystander connection that must be unaffected by everything below.
    let mut bystander = s.conn().await;
    assert_protocol_error(&s, b"*1\r\n$x\r\n", "invalid bulk length").await;
    assert_protocol_error(&s, b"*1\r\n$-5\r\n", "invalid bulk length").await;
    assert_protocol_error(&s, b"*x\r\n", "invalid multibulk length").await;
    assert_protocol_error(&s, b"*3000000000\r\n", "invalid multibulk length").await;
    assert_protocol_error(&s, b"*1\r\n:5\r\n", "expected '$', got ':'").await;
    // Declared 2 GiB argument: refused before anything is allocated.
    assert_protocol_error(&s, b"*1\r\n$2147483648\r\n", "invalid bulk length").await;
    let long_count = [b"*".as_slice(), &vec![b'1'; 70 * 1024]].concat();
    assert_protocol_error(&s, &long_count, "too big mbulk count string").await;
    let long_inline = vec![b'a'; 70 * 1024];
    assert_protocol_error(&s, &long_inline, "too big inline request").await;
    assert_eq!(cmd::<String>(&mut bystander, &["PING"]).await, "PONG");
}

#[tokio::test]
async fn replies_before_the_error_are_delivered() {
    let s = TestServer::start();
    let mut r = s.raw().await;
    r.send(b"PING\r\n*1\r\n$x\r\n").await;
    r.expect(b"+PONG\r\n-ERR Protocol error: invalid bulk length\r\n")
        .await;
    assert!(r.closed().await);
}

#[tokio::test]
async fn proto_max_bulk_len_is_enforced() {
    let s = TestServer::with(|c| c.proto_max_bulk_len = 1024 * 1024);
    assert_protocol_error(
        &s,
        b"*2\r\n$4\r\nECHO\r\n$1048577\r\n",
        "invalid bulk length",
    )
    .await;
    let mut c = s.conn().await;
    let ok = "x".repeat(1024 * 1024);
    assert_eq!(cmd::<String>(&mut c, &["ECHO", &ok]).await.len(), ok.len());
}

#[tokio::test]
async fn query_buffer_limit_closes_the_client() {
    let s = TestServer::with(|c| c.client_query_buffer_limit = 1024 * 1024);
    let mut bystander = s.conn().await;
    let mut r = s.raw().await;
    // A 4 MB argument may be declared (proto-max-bulk-len allows it) but the query
    // buffer may not hold more than 1 MB of it.
    r.send(b"*2\r\n$4\r\nECHO\r\n$4000000\r\n").await;
    let chunk = vec![b'y'; 64 * 1024];
    let mut closed = false;
    for _ in 0..64 {
        if r.stream.write_all(&chunk).await.is_err() {
            closed = true;
            break;
        }
    }
    assert!(
        closed || r.closed().await,
        "client over the limit is dropped"
    );
    assert_eq!(cmd::<String>(&mut bystander, &["PING"]).await, "PONG");
}

#[tokio::test]
async fn unauthenticated_clients_get_small_limits() {
    let s = TestServer::with(|c| c.requirepass = "secret".into());
    assert_protocol_error(&s, b"*11\r\n", "unauthenticated multibulk length").await;
    assert_protocol_error(
        &s,
        b"*2\r\n$4\r\nAUTH\r\n$20000\r\n",
        "unauthenticated bulk length",
    )
    .await;
    let mut r = s.raw().await;
    r.cmd(&[b"PING"]).await;
    r.expect(b"-NOAUTH Authentication required.\r\n").await;
}

#[tokio::test]
async fn abrupt_disconnects_mid_request_leave_the_server_serving() {
    let s = TestServer::start();
    for partial in [
        &b"*3\r\n$3\r\nSET\r\n$1\r\nk"[..],
        b"*2\r\n$4\r\nECHO\r\n$100000\r\nabc",
        b"*1000000\r\n",
        b"ECHO \"unterminated",
    ] {
        let mut r = s.raw().await;
        r.send(partial).await;
        drop(r);
    }
    let mut c = s.conn().await;
    assert_eq!(cmd::<String>(&mut c, &["PING"]).await, "PONG");
}

#[tokio::test]
async fn random_garbage_never_takes_the_server_down() {
    let s = TestServer::start();
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..200 {
        let len = (next() % 512) as usize;
        let alphabet = b"*$:+-\r\n0123456789-abcPINGECHO \"'\\";
        let junk: Vec<u8> = (0..len)
            .map(|_| {
                let r = next();
                if r % 4 == 0 {
                    (r >> 8) as u8
                } else {
                    alphabet[(r >> 8) as usize % alphabet.len()]
                }
            })
            .collect();
        let mut r = s.raw().await;
        let _ = r.stream.write_all(&junk).await;
        let _ = r.stream.shutdown().await;
    }
    let mut c = s.conn().await;
    assert_eq!(cmd::<String>(&mut c, &["PING"]).await, "PONG");
}

#[tokio::test]
async fn thousands_of_concurrent_connections() {
    let s = TestServer::start();
    let mut tasks = Vec::new();
    for i in 0..2000 {
        let addr = s.addr;
        tasks.push(tokio::spawn(async move {
            let mut r = Raw {
                stream: tokio::net::TcpStream::connect(addr).await.expect("connect"),
            };
            let v = format!("c{i}");
            r.cmd(&[b"ECHO", v.as_bytes()]).await;
            r.expect(format!("${}\r\n{v}\r\n", v.len()).as_bytes())
                .await;
            r
        }));
    }
    let mut open = Vec::new();
    for t in tasks {
        open.push(t.await.expect("task"));
    }
    let clients = s.handle().shared().clients.connected();
    assert_eq!(clients, 2000, "all connections held open at once");
}

#[tokio::test]
async fn maxclients_is_enforced_with_redis_error() {
    let s = TestServer::with(|c| c.maxclients = 3);
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut r = s.raw().await;
        r.cmd(&[b"PING"]).await;
        r.expect(b"+PONG\r\n").await;
        held.push(r);
    }
    let mut extra = s.raw().await;
    extra
        .expect(b"-ERR max number of clients reached\r\n")
        .await;
    assert!(extra.closed().await);
    drop(held);
    // Slots free up once the held connections are gone.
    let mut ok = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let mut r = s.raw().await;
        r.cmd(&[b"PING"]).await;
        if r.read_exact_or_eof(7).await == b"+PONG\r\n" {
            ok = true;
            break;
        }
    }
    assert!(ok, "connections accepted again after others left");
}

#[tokio::test]
async fn idle_timeout_closes_idle_clients() {
    let s = TestServer::with(|c| c.timeout = 1);
    let mut r = s.raw().await;
    r.cmd(&[b"PING"]).await;
    r.expect(b"+PONG\r\n").await;
    let start = std::time::Instant::now();
    assert!(r.closed().await);
    assert!(start.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn resp3_after_hello_and_back() {
    let s = TestServer::start();
    let mut r = s.raw().await;
    r.cmd(&[b"HELLO", b"3"]).await;
    let head = r.read_exact_or_eof(4).await;
    assert_eq!(head, b"%7\r\n", "HELLO 3 replies with a RESP3 map");
}
