//! Pub/sub over TCP: Redis 7.0's replies byte for byte (checked against redis-server
//! 7.0.15) in RESP2 and RESP3, fan-out to many subscribers through the `redis`
//! crate's pub/sub client, patterns, shard channels, PUBSUB introspection, cleanup on
//! RESET and disconnect, and the output-buffer limits that disconnect a subscriber
//! that does not read.

use std::time::{Duration, Instant};

use futures_util::StreamExt;

use crate::common::*;

const MODE_ERROR: &str =
    "only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context";

#[tokio::test]
async fn subscribe_mode_replies_in_resp2() {
    let s = TestServer::start();
    let mut c = s.raw().await;
    c.roundtrip(
        &[b"SUBSCRIBE", b"a", b"b"],
        b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n",
    )
    .await;
    // Subscribing twice to a name changes nothing but still replies.
    c.roundtrip(
        &[b"SUBSCRIBE", b"a"],
        b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:2\r\n",
    )
    .await;
    c.roundtrip(
        &[b"GET", b"x"],
        format!("-ERR Can't execute 'get': {MODE_ERROR}\r\n").as_bytes(),
    )
    .await;
    c.roundtrip(
        &[b"CLIENT", b"LIST"],
        format!("-ERR Can't execute 'client|list': {MODE_ERROR}\r\n").as_bytes(),
    )
    .await;
    c.roundtrip(&[b"PING"], b"*2\r\n$4\r\npong\r\n$0\r\n\r\n")
        .await;
    c.roundtrip(&[b"PING", b"hi"], b"*2\r\n$4\r\npong\r\n$2\r\nhi\r\n")
        .await;
    c.roundtrip(
        &[b"PSUBSCRIBE", b"n*"],
        b"*3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:3\r\n",
    )
    .await;
    c.roundtrip(
        &[b"SSUBSCRIBE", b"s"],
        b"*3\r\n$10\r\nssubscribe\r\n$1\r\ns\r\n:1\r\n",
    )
    .await;
    c.roundtrip(
        &[b"UNSUBSCRIBE", b"b"],
        b"*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:2\r\n",
    )
    .await;
    c.roundtrip(
        &[b"PUNSUBSCRIBE"],
        b"*3\r\n$12\r\npunsubscribe\r\n$2\r\nn*\r\n:1\r\n",
    )
    .await;
    c.roundtrip(
        &[b"PUNSUBSCRIBE"],
        b"*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:1\r\n",
    )
    .await;
    c.roundtrip(
        &[b"SUNSUBSCRIBE"],
        b"*3\r\n$12\r\nsunsubscribe\r\n$1\r\ns\r\n:0\r\n",
    )
    .await;
    c.roundtrip(
        &[b"UNSUBSCRIBE"],
        b"*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:0\r\n",
    )
    .await;
    // Out of subscribe mode: everything runs again.
    c.roundtrip(&[b"GET", b"x"], b"$-1\r\n").await;
    c.roundtrip(&[b"PING"], b"+PONG\r\n").await;
    c.roundtrip(
        &[b"UNSUBSCRIBE"],
        b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n",
    )
    .await;
}

#[tokio::test]
async fn resp3_subscribers_get_pushes_and_keep_running_commands() {
    let s = TestServer::start();
    let mut c = s.raw3().await;
    c.roundtrip(
        &[b"SUBSCRIBE", b"ch"],
        b">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n",
    )
    .await;
    c.roundtrip(&[b"SET", b"k", b"v"], b"+OK\r\n").await;
    c.roundtrip(&[b"PING"], b"+PONG\r\n").await;
    let mut p = s.conn().await;
    let n: i64 = cmd(&mut p, &["PUBLISH", "ch", "hello"]).await;
    assert_eq!(n, 1);
    c.expect(b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n")
        .await;
    c.roundtrip(&[b"GET", b"k"], b"$1\r\nv\r\n").await;
    c.roundtrip(
        &[b"UNSUBSCRIBE"],
        b">3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:0\r\n",
    )
    .await;
}

/// The `redis` crate's pub/sub client, as applications use it: every subscriber gets
/// every message, in order; PUBLISH counts the receivers.
#[tokio::test]
async fn fan_out_to_many_subscribers_in_order() {
    let s = TestServer::start();
    let subscribers = 20;
    let messages = 200;
    let mut streams = Vec::new();
    for _ in 0..subscribers {
        let mut ps = s.client().get_async_pubsub().await.expect("pubsub");
        ps.subscribe("events").await.expect("subscribe");
        streams.push(ps);
    }
    let mut p = s.conn().await;
    for i in 0..messages {
        let n: i64 = cmd(&mut p, &["PUBLISH", "events", &format!("m{i}")]).await;
        assert_eq!(n, subscribers);
    }
    for ps in &mut streams {
        let mut stream = ps.on_message();
        for i in 0..messages {
            let msg = tokio::time::timeout(Duration::from_secs(10), stream.next())
                .await
                .expect("message in time")
                .expect("stream open");
            assert_eq!(msg.get_channel_name(), "events");
            let payload: String = msg.get_payload().expect("payload");
            assert_eq!(payload, format!("m{i}"));
        }
    }
}

#[tokio::test]
async fn patterns_and_shard_channels() {
    let s = TestServer::start();
    let mut sub = s.raw().await;
    sub.roundtrip(
        &[b"PSUBSCRIBE", b"news.*", b"h?llo", b"[xy]z"],
        b"*3\r\n$10\r\npsubscribe\r\n$6\r\nnews.*\r\n:1\r\n*3\r\n$10\r\npsubscribe\r\n$5\r\nh?llo\r\n:2\r\n*3\r\n$10\r\npsubscribe\r\n$5\r\n[xy]z\r\n:3\r\n",
    )
    .await;
    let mut shard = s.raw().await;
    shard
        .roundtrip(
            &[b"SSUBSCRIBE", b"news.a"],
            b"*3\r\n$10\r\nssubscribe\r\n$6\r\nnews.a\r\n:1\r\n",
        )
        .await;
    let mut p = s.conn().await;
    for (channel, receivers) in [("news.a", 1), ("hallo", 1), ("yz", 1), ("other", 0)] {
        let n: i64 = cmd(&mut p, &["PUBLISH", channel, "x"]).await;
        assert_eq!(n, receivers, "PUBLISH {channel}");
    }
    sub.expect(b"*4\r\n$8\r\npmessage\r\n$6\r\nnews.*\r\n$6\r\nnews.a\r\n$1\r\nx\r\n")
        .await;
    sub.expect(b"*4\r\n$8\r\npmessage\r\n$5\r\nh?llo\r\n$5\r\nhallo\r\n$1\r\nx\r\n")
        .await;
    sub.expect(b"*4\r\n$8\r\npmessage\r\n$5\r\n[xy]z\r\n$2\r\nyz\r\n$1\r\nx\r\n")
        .await;
    // Shard channels are their own namespace: PUBLISH did not reach SSUBSCRIBE, and
    // SPUBLISH reaches only it.
    let n: i64 = cmd(&mut p, &["SPUBLISH", "news.a", "sharded"]).await;
    assert_eq!(n, 1);
    shard
        .expect(b"*3\r\n$8\r\nsmessage\r\n$6\r\nnews.a\r\n$7\r\nsharded\r\n")
        .await;
    // The pattern subscriber got nothing more: its next bytes are a PING reply.
    sub.roundtrip(&[b"PING"], b"*2\r\n$4\r\npong\r\n$0\r\n\r\n")
        .await;
}

#[tokio::test]
async fn pubsub_introspection_reset_and_disconnect() {
    let s = TestServer::start();
    let mut a = s.raw().await;
    a.roundtrip(
        &[b"SUBSCRIBE", b"c1", b"c2"],
        b"*3\r\n$9\r\nsubscribe\r\n$2\r\nc1\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$2\r\nc2\r\n:2\r\n",
    )
    .await;
    let mut b = s.raw().await;
    b.roundtrip(
        &[b"PSUBSCRIBE", b"p*"],
        b"*3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:1\r\n",
    )
    .await;
    b.roundtrip(
        &[b"SSUBSCRIBE", b"s1"],
        b"*3\r\n$10\r\nssubscribe\r\n$2\r\ns1\r\n:1\r\n",
    )
    .await;
    let mut c = s.conn().await;
    let mut channels: Vec<String> = cmd(&mut c, &["PUBSUB", "CHANNELS"]).await;
    channels.sort();
    assert_eq!(channels, ["c1", "c2"]);
    let only: Vec<String> = cmd(&mut c, &["PUBSUB", "CHANNELS", "*1"]).await;
    assert_eq!(only, ["c1"]);
    let numsub: Vec<redis::Value> = cmd(&mut c, &["PUBSUB", "NUMSUB", "c1", "zz"]).await;
    assert_eq!(
        numsub,
        vec![
            redis::Value::BulkString(b"c1".to_vec()),
            redis::Value::Int(1),
            redis::Value::BulkString(b"zz".to_vec()),
            redis::Value::Int(0)
        ]
    );
    let numpat: i64 = cmd(&mut c, &["PUBSUB", "NUMPAT"]).await;
    assert_eq!(numpat, 1);
    let shards: Vec<String> = cmd(&mut c, &["PUBSUB", "SHARDCHANNELS"]).await;
    assert_eq!(shards, ["s1"]);
    let shardnum: Vec<redis::Value> = cmd(&mut c, &["PUBSUB", "SHARDNUMSUB", "s1"]).await;
    assert_eq!(shardnum[1], redis::Value::Int(1));
    let info: String = cmd(&mut c, &["INFO", "stats"]).await;
    assert!(info.contains("pubsub_channels:2\r\n"), "{info}");
    assert!(info.contains("pubsub_patterns:1\r\n"), "{info}");
    assert!(info.contains("pubsubshard_channels:1\r\n"), "{info}");
    // Redis 7.2's count of subscribed clients: a, and b (a pattern and a shard
    // channel).
    let info: String = cmd(&mut c, &["INFO", "clients"]).await;
    assert!(info.contains("\r\npubsub_clients:2\r\n"), "{info}");
    let list: String = cmd(&mut c, &["CLIENT", "LIST"]).await;
    assert!(list.contains("flags=P db=0 sub=2 psub=0 ssub=0"), "{list}");
    assert!(list.contains("flags=P db=0 sub=0 psub=1 ssub=1"), "{list}");

    // RESET drops b's subscriptions; a's go when it disconnects.
    b.roundtrip(&[b"RESET"], b"+RESET\r\n").await;
    drop(a);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let info: String = cmd(&mut c, &["INFO", "stats"]).await;
        let clients: String = cmd(&mut c, &["INFO", "clients"]).await;
        if info.contains("pubsub_channels:0\r\n")
            && info.contains("pubsub_patterns:0\r\n")
            && info.contains("pubsubshard_channels:0\r\n")
            && clients.contains("\r\npubsub_clients:0\r\n")
        {
            break;
        }
        assert!(Instant::now() < deadline, "subscriptions left: {info}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let n: i64 = cmd(&mut c, &["PUBLISH", "c1", "x"]).await;
    assert_eq!(n, 0);
}

#[tokio::test]
async fn client_output_buffer_limit_config() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let got: Vec<String> = cmd(&mut c, &["CONFIG", "GET", "client-output-buffer-limit"]).await;
    assert_eq!(
        got[1],
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
    );
    let _: () = cmd(
        &mut c,
        &[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 1mb 512kb 10 replica 1 2 3",
        ],
    )
    .await;
    let got: Vec<String> = cmd(&mut c, &["CONFIG", "GET", "client-output-buffer-limit"]).await;
    assert_eq!(got[1], "normal 0 0 0 slave 1 2 3 pubsub 1048576 524288 10");
    for (bad, why) in [
        (
            "pubsub 1",
            "Wrong number of arguments in buffer limit configuration.",
        ),
        (
            "foo 1 2 3",
            "Invalid client class specified in buffer limit configuration.",
        ),
        (
            "pubsub x 2 3",
            "Error in hard, soft or soft_seconds setting in buffer limit configuration.",
        ),
    ] {
        let e = err(
            &mut c,
            &["CONFIG", "SET", "client-output-buffer-limit", bad],
        )
        .await;
        assert_eq!(
            e,
            format!(
                "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - {why}"
            )
        );
    }
}

/// Allocated bytes as INFO memory reports them.
async fn used_memory(c: &mut redis::aio::MultiplexedConnection) -> u64 {
    let info: String = cmd(c, &["INFO", "memory"]).await;
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .expect("used_memory")
        .trim()
        .parse()
        .expect("number")
}

/// A server whose `pubsub` output-buffer class is `limits`, a publishing connection,
/// and a subscriber of `channel` that never reads.
async fn slow_subscriber(
    limits: &str,
    channel: &str,
) -> (TestServer, redis::aio::MultiplexedConnection, Raw) {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let _: () = cmd(
        &mut c,
        &["CONFIG", "SET", "client-output-buffer-limit", limits],
    )
    .await;
    let mut slow = s.raw().await;
    let reply = format!(
        "*3\r\n$9\r\nsubscribe\r\n${}\r\n{channel}\r\n:1\r\n",
        channel.len()
    );
    slow.roundtrip(&[b"SUBSCRIBE", channel.as_bytes()], reply.as_bytes())
        .await;
    (s, c, slow)
}

/// A subscriber that never reads is disconnected once the pushes waiting for it
/// pass the hard limit, and the server's memory does not follow the publisher.
#[tokio::test]
async fn a_subscriber_that_does_not_read_is_disconnected_at_the_hard_limit() {
    let (_s, mut c, mut slow) = slow_subscriber("pubsub 2mb 0 0", "firehose").await;
    let before = used_memory(&mut c).await;
    let payload = "x".repeat(64 * 1024);
    let mut delivered = 0;
    // 64 MiB in all: far beyond the socket buffers and the limit.
    for _ in 0..1024 {
        let n: i64 = cmd(&mut c, &["PUBLISH", "firehose", &payload]).await;
        delivered += n;
        if n == 0 {
            break;
        }
    }
    assert!(delivered < 1024, "the subscriber was never disconnected");
    let after = used_memory(&mut c).await;
    assert!(
        after < before + 16 * 1024 * 1024,
        "memory grew from {before} to {after} for one slow subscriber"
    );
    let numsub: Vec<redis::Value> = cmd(&mut c, &["PUBSUB", "NUMSUB", "firehose"]).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut numsub = numsub;
    while numsub[1] != redis::Value::Int(0) {
        assert!(Instant::now() < deadline, "still subscribed: {numsub:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
        numsub = cmd(&mut c, &["PUBSUB", "NUMSUB", "firehose"]).await;
    }
    assert!(
        slow.closed().await,
        "the slow subscriber's connection stays open"
    );
}

/// Past the soft limit for longer than its seconds, the subscriber is disconnected
/// too, though it never reaches the hard limit.
#[tokio::test]
async fn a_subscriber_over_the_soft_limit_for_too_long_is_disconnected() {
    let (_s, mut c, mut slow) = slow_subscriber("pubsub 0 1mb 1", "trickle").await;
    let payload = "y".repeat(64 * 1024);
    let started = Instant::now();
    loop {
        let n: i64 = cmd(&mut c, &["PUBLISH", "trickle", &payload]).await;
        if n == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never disconnected over the soft limit"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(slow.closed().await);
}

/// CLIENT LIST shows what waits for a subscriber that does not read: `oll` messages
/// and `omem` bytes.
#[tokio::test]
async fn client_list_shows_undelivered_pushes() {
    let (_s, mut c, _slow) = slow_subscriber("pubsub 0 0 0", "pile").await;
    let payload = "z".repeat(64 * 1024);
    // 32 MiB: more than the socket buffers hold.
    for _ in 0..512 {
        let _: i64 = cmd(&mut c, &["PUBLISH", "pile", &payload]).await;
    }
    let list: String = cmd(&mut c, &["CLIENT", "LIST"]).await;
    let line = list
        .lines()
        .find(|l| l.contains("sub=1"))
        .expect("the subscriber");
    let field = |name: &str| -> u64 {
        line.split(' ')
            .find_map(|f| f.strip_prefix(name))
            .expect("field")
            .parse()
            .expect("number")
    };
    assert!(field("oll=") > 0, "{line}");
    assert!(field("omem=") > 64 * 1024, "{line}");
}
