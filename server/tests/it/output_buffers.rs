//! `client-output-buffer-limit normal`: a client's own replies that the socket does
//! not take are its output buffer (with its pushes not taken yet). Under a class
//! with limits the connection goes on reading and running commands while they wait,
//! as Redis does, and is closed at the hard limit or past the soft one for its
//! seconds; with Redis's default `normal 0 0 0` it stops reading until they are
//! written (backpressure), so a client that never reads costs a bounded buffer. CLIENT
//! LIST (`obl`, `omem`, `events`) and INFO (`client_recent_max_output_buffer`,
//! `client_output_buffer_limit_disconnections`) show real values.

use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

use crate::common::*;

/// Allocated bytes, client buffers included: INFO's `used_memory` (which leaves
/// them out, as Redis's eviction does) plus `mem_clients_normal`.
async fn used_memory(c: &mut redis::aio::MultiplexedConnection) -> u64 {
    let n = |v: String| v.parse::<u64>().expect("number");
    n(info_field(c, "used_memory").await) + n(info_field(c, "mem_clients_normal").await)
}

/// A server with `limits` as its `client-output-buffer-limit`, a connection to it,
/// and key `big` holding 100 KiB.
async fn server(limits: &str) -> (TestServer, redis::aio::MultiplexedConnection) {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let _: () = cmd(
        &mut c,
        &["CONFIG", "SET", "client-output-buffer-limit", limits],
    )
    .await;
    let _: () = cmd(&mut c, &["SET", "big", &"v".repeat(100 * 1024)]).await;
    (s, c)
}

/// Sends `n` pipelined `GET big` (100 KiB replies each) without reading a byte;
/// stops early if the server closes the connection or stops reading for 2 s.
async fn pipeline_gets(raw: &mut Raw, n: usize) {
    let batch = encode(&[b"CLIENT", b"SETNAME", b"hog"])
        .into_iter()
        .chain((0..50).flat_map(|_| encode(&[b"GET", b"big"])))
        .collect::<Vec<u8>>();
    let mut sent = 0;
    while sent < n {
        let write = raw.stream.write_all(&batch);
        match tokio::time::timeout(Duration::from_secs(2), write).await {
            Ok(Ok(())) => sent += 50,
            // Closed, or the server stopped reading (backpressure).
            _ => break,
        }
    }
}

/// The CLIENT LIST line of the client named `name`, if connected.
async fn client_line(c: &mut redis::aio::MultiplexedConnection, name: &str) -> Option<String> {
    let list: String = cmd(c, &["CLIENT", "LIST"]).await;
    let needle = format!(" name={name} ");
    list.lines()
        .find(|l| l.contains(&needle))
        .map(str::to_string)
}

/// A numeric `field=` of a CLIENT LIST line.
fn field(line: &str, name: &str) -> u64 {
    let prefix = format!("{name}=");
    line.split(' ')
        .find_map(|f| f.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("no {name} in {line}"))
        .parse()
        .expect("number")
}

/// Waits until a client was closed for its output buffer, then until the client
/// named `name` is gone.
async fn wait_closed(c: &mut redis::aio::MultiplexedConnection, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while info_field(c, "client_output_buffer_limit_disconnections").await != "1" {
        assert!(Instant::now() < deadline, "nobody was closed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    while client_line(c, name).await.is_some() {
        assert!(Instant::now() < deadline, "{name} is still connected");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A client that pipelines large GETs and never reads is closed at the `normal`
/// hard limit, and the server's memory does not follow it.
#[tokio::test]
async fn a_client_that_never_reads_is_closed_at_the_normal_hard_limit() {
    let (s, mut c) = server("normal 4mb 0 0").await;
    let before = used_memory(&mut c).await;
    let mut hog = s.raw().await;
    // 200 MiB of replies: far beyond the socket buffers and the limit.
    pipeline_gets(&mut hog, 2000).await;
    wait_closed(&mut c, "hog").await;
    let after = used_memory(&mut c).await;
    assert!(
        after < before + 16 * 1024 * 1024,
        "memory grew from {before} to {after} for one client that does not read"
    );
    assert_eq!(
        info_field(&mut c, "client_output_buffer_limit_disconnections").await,
        "1"
    );
    assert!(
        info_field(&mut c, "client_recent_max_output_buffer")
            .await
            .parse::<u64>()
            .unwrap()
            > 0
    );
    assert!(hog.closed().await, "the connection stays open");
}

/// A client that reads its replies is never closed under the same limit, however
/// much it asks for.
#[tokio::test]
async fn a_client_that_reads_is_never_closed() {
    let (s, mut c) = server("normal 4mb 0 0").await;
    let mut reader = s.conn().await;
    for _ in 0..50 {
        let mut p = redis::pipe();
        for _ in 0..20 {
            p.cmd("GET").arg("big");
        }
        // 2 MiB per pipeline.
        let got: Vec<String> = p.query_async(&mut reader).await.expect("replies");
        assert!(got.iter().all(|v| v.len() == 100 * 1024));
    }
    let mut mget = vec!["MGET"];
    mget.extend(std::iter::repeat_n("big", 30));
    let got: Vec<String> = cmd(&mut reader, &mget).await;
    assert_eq!(got.len(), 30);
    assert_eq!(
        info_field(&mut c, "client_output_buffer_limit_disconnections").await,
        "0"
    );
}

/// Past the soft limit for longer than its seconds, the client is closed even when
/// it sends nothing more; meanwhile CLIENT LIST shows its output buffer.
#[tokio::test]
async fn over_the_soft_limit_for_its_seconds_the_client_is_closed() {
    let (s, mut c) = server("normal 0 1mb 2").await;
    let mut hog = s.raw().await;
    // 20 MiB of replies, then silence.
    pipeline_gets(&mut hog, 200).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let line = loop {
        let line = client_line(&mut c, "hog").await;
        if let Some(line) = line.filter(|l| field(l, "obl") >= 1024 * 1024) {
            break line;
        }
        assert!(Instant::now() < deadline, "no output buffer shown");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(field(&line, "omem") >= field(&line, "obl"), "{line}");
    assert!(line.contains(" events=rw "), "{line}");
    wait_closed(&mut c, "hog").await;
    assert_eq!(
        info_field(&mut c, "client_output_buffer_limit_disconnections").await,
        "1"
    );
}

/// Redis's default `normal 0 0 0`: no limit, so a client that never reads stays
/// connected, and the server stops reading its requests instead of buffering their
/// replies (its memory stays flat); CLIENT LIST shows the replies waiting.
#[tokio::test]
async fn without_limits_a_client_that_never_reads_is_held_back_not_closed() {
    let (s, mut c) = server("normal 0 0 0").await;
    let before = used_memory(&mut c).await;
    let mut hog = s.raw().await;
    pipeline_gets(&mut hog, 2000).await;
    // The server stops running its commands once their replies wait.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // (Not named yet until the server reads its first request.)
        let line = client_line(&mut c, "hog").await;
        if line.as_ref().is_some_and(|l| field(l, "obl") > 0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no output buffer shown: {line:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Still there a moment later.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(client_line(&mut c, "hog").await.is_some());
    let after = used_memory(&mut c).await;
    assert!(
        after < before + 16 * 1024 * 1024,
        "memory grew from {before} to {after} for one client that does not read"
    );
    assert_eq!(
        info_field(&mut c, "client_output_buffer_limit_disconnections").await,
        "0"
    );
}
