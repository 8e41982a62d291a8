//! Client-side caching (CLIENT TRACKING) over TCP: scenarios played byte for byte
//! against Shoal and a real redis-server 7.0 (the transcripts must be equal), then
//! Shoal's own guarantees (the table's bound and its memory, flags in CLIENT LIST,
//! RESET, a near cache that must see every change).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::common::{RedisServer, TestServer, Wire};

/// One step of a scenario, on connection `n`.
#[derive(Clone, Copy)]
enum S {
    /// Send a command (space-separated; `$N` is connection N's client id) and read
    /// its reply.
    C(usize, &'static str),
    /// The same, with client ids in the reply written `$N` (HELLO, GETREDIR,
    /// TRACKINGINFO).
    I(usize, &'static str),
    /// Send a command and read its reply, logged as `read` (HELLO: ids and numbers
    /// in it would be mistaken for each other).
    Q(usize, &'static str),
    /// Send a command without reading (a pipeline).
    Send(usize, &'static str),
    /// Read one frame: a reply sent earlier, or a push that must arrive.
    R(usize),
    /// Close the connection, and wait until the server has seen it go.
    Close(usize),
}

use S::{Close, Send, C, I, Q, R};

fn client_id(w: &mut Wire) -> u64 {
    let r = w.call(&["CLIENT", "ID"]);
    String::from_utf8_lossy(&r[1..r.len() - 2]).parse().unwrap()
}

fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).replace("\r\n", " ")
}

/// `reply` with every `:<id>` frame and `redir=<id>` of these clients written `$N`.
fn normalize(reply: &[u8], ids: &[u64]) -> String {
    let mut text = show(reply);
    for (n, id) in ids.iter().enumerate().rev() {
        text = text
            .replace(&format!(":{id} "), &format!(":${n} "))
            .replace(&format!("redir={id} "), &format!("redir=${n} "));
    }
    text
}

/// Plays `steps` on a server with `conns` connections; returns the transcript. Every
/// connection still open ends with PING, so that a push nobody expected shows.
fn play(addr: SocketAddr, conns: usize, steps: &[S]) -> Vec<String> {
    let mut w: Vec<Option<Wire>> = (0..conns).map(|_| Some(Wire::connect(addr))).collect();
    let ids: Vec<u64> = w
        .iter_mut()
        .map(|c| client_id(c.as_mut().unwrap()))
        .collect();
    let fill = |text: &str| -> String {
        let mut t = text.to_string();
        for (n, id) in ids.iter().enumerate().rev() {
            t = t.replace(&format!("${n}"), &id.to_string());
        }
        t
    };
    let mut log = Vec::new();
    for step in steps {
        match *step {
            Q(n, text) => {
                let args: Vec<&str> = text.split(' ').collect();
                let reply = w[n].as_mut().expect("open").call(&args);
                assert!(!reply.starts_with(b"-"), "{}", show(&reply));
                log.push(format!("{n}> {text} => read"));
            }
            C(n, text) | I(n, text) => {
                let cmd = fill(text);
                let args: Vec<&str> = cmd.split(' ').collect();
                let reply = w[n].as_mut().expect("open").call(&args);
                let shown = if matches!(step, I(..)) {
                    normalize(&reply, &ids)
                } else {
                    show(&reply)
                };
                log.push(format!("{n}> {text} => {shown}"));
            }
            Send(n, text) => {
                let cmd = fill(text);
                let args: Vec<&str> = cmd.split(' ').collect();
                w[n].as_mut().expect("open").send(&args);
                log.push(format!("{n}> {text}"));
            }
            R(n) => {
                let frame = w[n].as_mut().expect("open").reply();
                log.push(format!("{n}< {}", normalize(&frame, &ids)));
            }
            Close(n) => {
                w[n] = None;
                let mut probe = Wire::connect(addr);
                let gone = format!("id={} ", ids[n]);
                let deadline = Instant::now() + Duration::from_secs(5);
                while show(&probe.call(&["CLIENT", "LIST"])).contains(&gone) {
                    assert!(Instant::now() < deadline, "client {n} still listed");
                    std::thread::sleep(Duration::from_millis(10));
                }
                log.push(format!("{n} closed"));
            }
        }
    }
    for (n, c) in w.iter_mut().enumerate() {
        if let Some(c) = c {
            log.push(format!("{n} end {}", show(&c.call(&["PING"]))));
        }
    }
    log
}

/// Plays `steps` on Shoal and on redis-server 7.0 and asserts equal transcripts.
fn same_as_redis(conns: usize, steps: &[S]) -> Vec<String> {
    let redis = RedisServer::start();
    let expected = play(SocketAddr::from(([127, 0, 0, 1], redis.port)), conns, steps);
    let shoal = TestServer::start();
    let got = play(shoal.addr, conns, steps);
    for (i, (e, g)) in expected.iter().zip(&got).enumerate() {
        assert_eq!(g, e, "step {i} differs from Redis");
    }
    assert_eq!(got.len(), expected.len());
    got
}

#[test]
fn default_mode_matches_redis() {
    let log = same_as_redis(
        2,
        &[
            Q(0, "HELLO 3"),
            C(0, "CLIENT TRACKING ON"),
            C(0, "GET k"),
            C(1, "SET k v"),
            R(0),
            // Forgotten once invalidated: the next write sends nothing.
            C(1, "SET k w"),
            C(0, "MGET k k2"),
            C(1, "MSET k 1 k2 2"),
            R(0),
            R(0),
            // A pipeline: the invalidation of its own write follows that write's
            // reply, before the next command's.
            Send(0, "GET k"),
            Send(0, "SET k v"),
            Send(0, "GET k"),
            R(0),
            R(0),
            R(0),
            R(0),
            C(1, "DEL k"),
            R(0),
            // The table has no databases: a write in another one invalidates.
            C(0, "GET k2"),
            C(1, "SELECT 1"),
            C(1, "SET k2 x"),
            R(0),
            C(1, "SELECT 0"),
            C(0, "HGETALL h"),
            C(1, "HSET h f v"),
            R(0),
            C(0, "EXISTS e"),
            C(1, "INCR e"),
            R(0),
            // A script's reads count for its caller; EVAL_RO itself has no keys of
            // its own to remember beyond them.
            C(0, "EVAL return(redis.call('GET',KEYS[1])) 1 sk"),
            C(0, "EVAL_RO return(redis.call('EXISTS',KEYS[1])) 1 sk2"),
            C(1, "MSET sk 1 sk2 2"),
            R(0),
            R(0),
            // Expiry is a change.
            C(1, "SET ex 1 PX 300"),
            C(0, "GET ex"),
            R(0),
            // SWAPDB sends nothing; FLUSHDB and FLUSHALL a null each, even when
            // the database is already empty.
            C(0, "GET s"),
            C(1, "SWAPDB 0 1"),
            C(1, "FLUSHDB"),
            R(0),
            C(1, "FLUSHALL"),
            R(0),
            C(1, "FLUSHDB"),
            R(0),
            I(0, "CLIENT TRACKINGINFO"),
            I(0, "CLIENT GETREDIR"),
            C(0, "CLIENT TRACKING OFF"),
            C(0, "GET k9"),
            C(1, "SET k9 1"),
            I(0, "CLIENT TRACKINGINFO"),
            I(0, "CLIENT GETREDIR"),
        ],
    );
    // The scenario is not vacuous: pushes and nulls were seen.
    assert!(log.contains(&"0< >2 $10 invalidate *1 $1 k ".to_string()));
    assert!(log.contains(&"0< >2 $10 invalidate _ ".to_string()));
}

#[test]
fn option_errors_match_redis() {
    same_as_redis(
        2,
        &[
            C(0, "CLIENT TRACKING ON PREFIX a"),
            C(0, "CLIENT TRACKING ON OPTIN OPTOUT"),
            C(0, "CLIENT TRACKING ON BCAST OPTIN"),
            C(0, "CLIENT TRACKING ON REDIRECT 999999"),
            C(0, "CLIENT TRACKING ON REDIRECT 0"),
            C(0, "CLIENT TRACKING ON REDIRECT -1"),
            C(0, "CLIENT TRACKING ON REDIRECT x"),
            C(0, "CLIENT TRACKING ON REDIRECT $1 REDIRECT $0"),
            C(0, "CLIENT TRACKING ON REDIRECT"),
            C(0, "CLIENT TRACKING ON PREFIX"),
            C(0, "CLIENT TRACKING ON FOO"),
            C(0, "CLIENT TRACKING MAYBE"),
            C(0, "CLIENT TRACKING OFF REDIRECT 999999"),
            C(0, "CLIENT TRACKING off BOGUS"),
            C(0, "CLIENT TRACKING OFF PREFIX a"),
            C(0, "CLIENT TRACKING"),
            C(0, "CLIENT CACHING YES"),
            C(0, "CLIENT CACHING"),
            C(0, "CLIENT CACHING YES NO"),
            C(0, "CLIENT GETREDIR x"),
            C(0, "CLIENT TRACKINGINFO x"),
            C(0, "CLIENT TRACKING on"),
            C(0, "CLIENT CACHING YES"),
            C(0, "CLIENT CACHING NO"),
            C(0, "CLIENT CACHING maybe"),
            C(0, "CLIENT TRACKING ON BCAST"),
            C(0, "CLIENT TRACKING ON OPTIN"),
            C(0, "CLIENT CACHING NO"),
            C(0, "CLIENT TRACKING ON OPTOUT"),
            C(0, "CLIENT TRACKING OFF"),
            C(0, "CLIENT TRACKING ON OPTOUT"),
            C(0, "CLIENT CACHING YES"),
            C(0, "CLIENT TRACKING ON BCAST OPTOUT"),
            C(0, "CLIENT TRACKING OFF"),
            C(0, "CLIENT TRACKING ON BCAST PREFIX a PREFIX b"),
            C(0, "CLIENT TRACKING ON BCAST PREFIX ab"),
            C(0, "CLIENT TRACKING ON BCAST PREFIX x PREFIX xy"),
            C(0, "CLIENT TRACKING ON BCAST PREFIX xy PREFIX x"),
            C(0, "CLIENT TRACKING ON BCAST PREFIX a"),
            C(0, "CLIENT TRACKING ON BCAST PREFIX c"),
            C(0, "CLIENT TRACKING ON"),
            C(0, "CLIENT TRACKING ON BCAST"),
            I(0, "CLIENT TRACKINGINFO"),
            C(0, "CLIENT TRACKING OFF"),
            I(0, "CLIENT TRACKINGINFO"),
        ],
    );
}

#[test]
fn redirect_matches_redis() {
    same_as_redis(
        6,
        &[
            // 0 tracks in RESP2, redirecting to 1, a subscriber.
            C(1, "SUBSCRIBE __redis__:invalidate"),
            C(0, "CLIENT TRACKING ON REDIRECT $1"),
            C(0, "GET k"),
            C(2, "SET k 1"),
            R(1),
            C(2, "FLUSHDB"),
            R(1),
            I(0, "CLIENT GETREDIR"),
            I(0, "CLIENT TRACKINGINFO"),
            // To 3, a RESP3 connection: pushes, no subscription needed.
            Q(3, "HELLO 3"),
            C(0, "CLIENT TRACKING ON REDIRECT $3"),
            C(0, "GET k"),
            C(2, "SET k 2"),
            R(3),
            C(2, "FLUSHALL"),
            R(3),
            // To 4, RESP2 and not subscribed: nothing can be sent.
            C(0, "CLIENT TRACKING ON REDIRECT $4"),
            C(0, "GET k"),
            C(2, "SET k 3"),
            // 5 tracks in RESP3 redirecting to 3, which leaves: the redirect is
            // broken, and 5 is told so, once per invalidation.
            Q(5, "HELLO 3"),
            C(5, "CLIENT TRACKING ON REDIRECT $3"),
            C(5, "MGET b1 b2"),
            Close(3),
            C(2, "MSET b1 1 b2 2"),
            R(5),
            R(5),
            I(5, "CLIENT TRACKINGINFO"),
            I(5, "CLIENT GETREDIR"),
            // Re-enabling clears the mark.
            C(5, "CLIENT TRACKING ON"),
            I(5, "CLIENT TRACKINGINFO"),
        ],
    );
}

#[test]
fn bcast_matches_redis() {
    same_as_redis(
        3,
        &[
            Q(0, "HELLO 3"),
            Q(2, "HELLO 3"),
            C(0, "CLIENT TRACKING ON BCAST PREFIX a PREFIX b"),
            // One message per prefix, its keys sorted.
            C(1, "MSET b2 1 a3 1 a1 1 z 1"),
            R(0),
            R(0),
            C(1, "SET a1 2"),
            R(0),
            C(1, "SET zz 1"),
            // Its own write too (no NOLOOP), after the reply.
            C(0, "SET a1 3"),
            R(0),
            // 2: every key, NOLOOP.
            C(2, "CLIENT TRACKING ON BCAST NOLOOP"),
            C(2, "MSET a5 1 q 1"),
            R(0),
            C(1, "DEL a5 q"),
            R(0),
            R(2),
            C(1, "FLUSHALL"),
            R(0),
            R(2),
            C(0, "CLIENT TRACKING OFF"),
            C(1, "SET a7 1"),
            R(2),
        ],
    );
}

#[test]
fn optin_optout_noloop_match_redis() {
    same_as_redis(
        2,
        &[
            Q(0, "HELLO 3"),
            C(0, "CLIENT TRACKING ON OPTIN"),
            C(0, "GET x"),
            C(0, "CLIENT CACHING YES"),
            C(0, "GET y"),
            C(0, "GET z"),
            C(1, "MSET x 1 y 1 z 1"),
            R(0),
            // CACHING covers a whole transaction.
            C(0, "CLIENT CACHING YES"),
            C(0, "MULTI"),
            C(0, "GET m1"),
            C(0, "GET m2"),
            C(0, "EXEC"),
            C(0, "GET m3"),
            C(1, "MSET m1 1 m2 1 m3 1"),
            R(0),
            R(0),
            // Another CLIENT subcommand leaves it in place.
            C(0, "CLIENT CACHING YES"),
            C(0, "CLIENT GETNAME"),
            C(0, "GET c1"),
            C(1, "SET c1 1"),
            R(0),
            C(0, "CLIENT TRACKING OFF"),
            C(0, "CLIENT TRACKING ON OPTOUT"),
            C(0, "GET o1"),
            C(0, "CLIENT CACHING NO"),
            C(0, "GET o2"),
            C(0, "GET o3"),
            C(1, "MSET o1 1 o2 1 o3 1"),
            R(0),
            R(0),
            C(0, "CLIENT TRACKING OFF"),
            C(0, "CLIENT TRACKING ON NOLOOP"),
            C(0, "GET n"),
            C(0, "SET n 1"),
            C(0, "GET n"),
            C(1, "SET n 2"),
            R(0),
            C(0, "CLIENT TRACKING OFF"),
            C(0, "CLIENT TRACKING ON OPTIN NOLOOP"),
            C(0, "CLIENT CACHING YES"),
            I(0, "CLIENT TRACKINGINFO"),
            C(0, "PING"),
            I(0, "CLIENT TRACKINGINFO"),
            C(0, "CLIENT TRACKING ON OPTIN"),
            C(0, "CLIENT TRACKING OFF"),
            C(0, "CLIENT TRACKING ON OPTOUT"),
            C(0, "CLIENT CACHING NO"),
            I(0, "CLIENT TRACKINGINFO"),
        ],
    );
}

/// INFO fields of `w`'s server, by name.
fn info(w: &mut Wire) -> HashMap<String, String> {
    let raw = w.call(&["INFO", "everything"]);
    String::from_utf8_lossy(&raw)
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

fn stat(w: &mut Wire, name: &str) -> u64 {
    info(w)[name].parse().unwrap()
}

fn client_info(w: &mut Wire) -> String {
    show(&w.call(&["CLIENT", "INFO"]))
}

#[test]
fn info_counts_and_memory_is_given_back() {
    let s = TestServer::start();
    let mut t = Wire::connect(s.addr);
    let mut other = Wire::connect(s.addr);
    let mut admin = Wire::connect(s.addr);
    assert_eq!(stat(&mut admin, "tracking_clients"), 0);
    t.call(&["CLIENT", "TRACKING", "ON"]);
    other.call(&["CLIENT", "TRACKING", "ON"]);
    let keys: Vec<String> = (0..100).map(|i| format!("key:{i}")).collect();
    let mut mget = vec!["MGET"];
    mget.extend(keys.iter().map(String::as_str));
    t.call(&mget);
    other.call(&["GET", "key:1"]);
    other.call(&["GET", "solo"]);
    assert_eq!(stat(&mut admin, "tracking_clients"), 2);
    assert_eq!(stat(&mut admin, "tracking_total_keys"), 101);
    assert_eq!(stat(&mut admin, "tracking_total_items"), 102);
    // A write takes its key out (both clients' items).
    admin.call(&["SET", "key:1", "x"]);
    assert_eq!(stat(&mut admin, "tracking_total_keys"), 100);
    assert_eq!(stat(&mut admin, "tracking_total_items"), 100);
    // OFF frees the client's entries at once (Redis waits for the keys to change).
    t.call(&["CLIENT", "TRACKING", "OFF"]);
    assert_eq!(stat(&mut admin, "tracking_total_keys"), 1);
    assert_eq!(stat(&mut admin, "tracking_total_items"), 1);
    assert_eq!(stat(&mut admin, "tracking_clients"), 1);
    // So does leaving.
    drop(other);
    let deadline = Instant::now() + Duration::from_secs(5);
    while stat(&mut admin, "tracking_clients") != 0 {
        assert!(Instant::now() < deadline, "tracking client not forgotten");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(stat(&mut admin, "tracking_total_keys"), 0);
    assert_eq!(stat(&mut admin, "tracking_total_items"), 0);
    // Prefixes are counted, shared ones once, and given back.
    t.call(&[
        "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "a", "PREFIX", "b",
    ]);
    admin.call(&["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "a"]);
    assert_eq!(stat(&mut admin, "tracking_total_prefixes"), 2);
    t.call(&["RESET"]);
    assert_eq!(stat(&mut admin, "tracking_total_prefixes"), 1);
    assert_eq!(
        show(&t.call(&["CLIENT", "TRACKINGINFO"])),
        "*6 $5 flags *1 $3 off $8 redirect :-1 $8 prefixes *0 "
    );
    admin.call(&["CLIENT", "TRACKING", "OFF"]);
    assert_eq!(stat(&mut admin, "tracking_total_prefixes"), 0);
    assert_eq!(stat(&mut admin, "tracking_clients"), 0);
}

#[test]
fn the_table_keeps_within_its_max_keys() {
    let s = TestServer::start();
    let mut t = Wire::connect(s.addr);
    let mut admin = Wire::connect(s.addr);
    assert_eq!(
        show(&admin.call(&["CONFIG", "GET", "tracking-table-max-keys"])),
        "*2 $23 tracking-table-max-keys $7 1000000 "
    );
    admin.call(&["CONFIG", "SET", "tracking-table-max-keys", "3"]);
    t.call(&["HELLO", "3"]);
    t.call(&["CLIENT", "TRACKING", "ON"]);
    assert_eq!(show(&t.call(&["MGET", "k1", "k2", "k3"])), "*3 _ _ _ ");
    assert_eq!(stat(&mut admin, "tracking_total_keys"), 3);
    // A fourth key: one of the four is forgotten, and invalidated.
    assert_eq!(show(&t.call(&["GET", "k4"])), "_ ");
    let push = show(&t.reply());
    let evicted = ["k1", "k2", "k3", "k4"]
        .into_iter()
        .find(|k| push == format!(">2 $10 invalidate *1 $2 {k} "))
        .unwrap_or_else(|| panic!("unexpected {push}"));
    assert_eq!(stat(&mut admin, "tracking_total_keys"), 3);
    assert_eq!(stat(&mut admin, "tracking_total_items"), 3);
    // The others are still tracked: a write to each is invalidated, but not the
    // evicted one's.
    admin.call(&["MSET", "k1", "1", "k2", "2", "k3", "3", "k4", "4"]);
    let mut rest: Vec<String> = (0..3).map(|_| show(&t.reply())).collect();
    rest.sort();
    let mut expected: Vec<String> = ["k1", "k2", "k3", "k4"]
        .into_iter()
        .filter(|k| *k != evicted)
        .map(|k| format!(">2 $10 invalidate *1 $2 {k} "))
        .collect();
    expected.sort();
    assert_eq!(rest, expected);
    assert_eq!(show(&t.call(&["PING"])), "+PONG ");
    // Lowering the limit takes effect at the next remembered read.
    let mut mget = vec!["MGET"];
    let keys: Vec<String> = (0..50).map(|i| format!("m{i}")).collect();
    mget.extend(keys.iter().map(String::as_str));
    admin.call(&["CONFIG", "SET", "tracking-table-max-keys", "0"]);
    t.call(&mget);
    assert_eq!(stat(&mut admin, "tracking_total_keys"), 50);
    admin.call(&["CONFIG", "SET", "tracking-table-max-keys", "10"]);
    t.call(&["GET", "one-more"]);
    assert_eq!(stat(&mut admin, "tracking_total_keys"), 10);
    let mut pushes = 0;
    t.send(&["PING"]);
    loop {
        let f = t.reply();
        if f == b"+PONG\r\n" {
            break;
        }
        assert!(
            show(&f).starts_with(">2 $10 invalidate *1 "),
            "{}",
            show(&f)
        );
        pushes += 1;
    }
    assert_eq!(pushes, 41);
}

#[test]
fn client_list_shows_tracking_flags_and_redirect() {
    let s = TestServer::start();
    let mut a = Wire::connect(s.addr);
    let mut b = Wire::connect(s.addr);
    let b_id = client_id(&mut b);
    assert!(client_info(&mut a).contains(" flags=N "));
    assert!(client_info(&mut a).contains(" redir=-1 "));
    a.call(&["CLIENT", "TRACKING", "ON"]);
    assert!(client_info(&mut a).contains(" flags=t "));
    assert!(client_info(&mut a).contains(" redir=0 "));
    a.call(&["CLIENT", "TRACKING", "OFF"]);
    a.call(&["CLIENT", "TRACKING", "ON", "BCAST"]);
    assert!(client_info(&mut a).contains(" flags=tB "));
    a.call(&["CLIENT", "TRACKING", "OFF"]);
    let redirect = b_id.to_string();
    a.call(&["CLIENT", "TRACKING", "ON", "REDIRECT", &redirect]);
    assert!(client_info(&mut a).contains(&format!(" redir={b_id} ")));
    a.call(&["GET", "k"]);
    drop(b);
    let mut w = Wire::connect(s.addr);
    let deadline = Instant::now() + Duration::from_secs(5);
    while show(&w.call(&["CLIENT", "LIST"])).contains(&format!("id={b_id} ")) {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    }
    w.call(&["SET", "k", "1"]);
    let list = show(&w.call(&["CLIENT", "LIST"]));
    assert!(list.contains(" flags=tR "), "{list}");
}

/// A hand-written near cache on a RESP3 connection: values read are kept until an
/// invalidation (or a null: everything) arrives. Another connection changes keys
/// in many ways; after each change, once the cache has taken the pushes that came,
/// every cached value must be the server's.
#[test]
fn a_near_cache_sees_every_change() {
    let s = TestServer::start();
    let mut cache_conn = Wire::connect(s.addr);
    let mut writer = Wire::connect(s.addr);
    let mut truth = Wire::connect(s.addr);
    cache_conn.call(&["HELLO", "3"]);
    cache_conn.call(&["CLIENT", "TRACKING", "ON"]);
    let mut cache: HashMap<String, Vec<u8>> = HashMap::new();
    // Applies pushes until the reply of a PING.
    fn drain(conn: &mut Wire, cache: &mut HashMap<String, Vec<u8>>) -> usize {
        conn.send(&["PING"]);
        let mut n = 0;
        loop {
            let f = conn.reply();
            if f == b"+PONG\r\n" {
                return n;
            }
            n += 1;
            let text = show(&f);
            if text == ">2 $10 invalidate _ " {
                cache.clear();
                continue;
            }
            // `>2 $10 invalidate *N $len key ...`
            let parts: Vec<&str> = text.split(' ').collect();
            assert_eq!(&parts[..3], [">2", "$10", "invalidate"], "{text}");
            for key in parts[4..].chunks(2).filter_map(|c| c.get(1)) {
                cache.remove(*key);
            }
        }
    }
    let keys = ["a", "b", "c", "d", "e"];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let mut invalidations = 0;
    for round in 0..400 {
        // Read two keys through the cache.
        for _ in 0..2 {
            let k = keys[next(keys.len())];
            if !cache.contains_key(k) {
                let v = cache_conn.call(&["GET", k]);
                if !v.starts_with(b"-") {
                    cache.insert(k.to_string(), v);
                }
            }
        }
        // Change one, some way.
        let k = keys[next(keys.len())];
        let v = round.to_string();
        let op: Vec<&str> = match next(10) {
            0 => vec!["SET", k, &v],
            1 => vec!["DEL", k],
            2 => vec!["APPEND", k, "x"],
            3 => vec!["MSET", k, &v, keys[next(keys.len())], "m"],
            4 => vec!["RENAME", k, keys[next(keys.len())]],
            5 => vec!["SET", k, &v, "PX", "1"],
            6 => vec!["GETDEL", k],
            7 => vec!["COPY", k, keys[next(keys.len())], "REPLACE"],
            8 => vec!["FLUSHDB"],
            _ => vec!["SETRANGE", k, "1", "zz"],
        };
        writer.call(&op);
        if op[0] == "SET" && op.len() == 5 {
            // Expired now; a lookup notices it (an expiry is a change).
            std::thread::sleep(Duration::from_millis(3));
            writer.call(&["EXISTS", k]);
        }
        invalidations += drain(&mut cache_conn, &mut cache);
        for (key, cached) in &cache {
            let now = truth.call(&["GET", key]);
            assert_eq!(
                show(cached),
                show(&now).replace("$-1 ", "_ "),
                "round {round}: {key} cached stale after {op:?}"
            );
        }
    }
    assert!(invalidations > 100, "only {invalidations} invalidations");
}

/// A tracked key that expires, whether the expiry cycle or the tracking client's own
/// read notices it first: the client is told, and stays tracked for the key it just
/// read (its own lookup taking the key out of the table must not drop the read
/// that follows).
#[test]
fn a_read_that_finds_its_key_expired_stays_tracked() {
    let s = TestServer::start();
    let mut t = Wire::connect(s.addr);
    let mut w = Wire::connect(s.addr);
    t.call(&["HELLO", "3"]);
    t.call(&["CLIENT", "TRACKING", "ON"]);
    for round in 0..5 {
        let key = format!("lz{round}");
        w.call(&["SET", &key, "1", "PX", "100"]);
        assert_eq!(show(&t.call(&["GET", &key])), "$1 1 ");
        std::thread::sleep(Duration::from_millis(150));
        t.send(&["GET", &key]);
        let frames = [show(&t.reply()), show(&t.reply())];
        let push = format!(">2 $10 invalidate *1 $3 {key} ");
        assert!(
            frames.contains(&"_ ".to_string()) && frames.contains(&push),
            "{frames:?}"
        );
        w.call(&["SET", &key, "2"]);
        assert_eq!(show(&t.reply()), push);
    }
}

/// Shoal's own sources of change reach caches too: a key SNAPSHOT MERGE writes is
/// invalidated, SNAPSHOT RESTORE (every key may change) sends a null.
#[test]
fn snapshot_merge_and_restore_invalidate() {
    let s = TestServer::start();
    let mut t = Wire::connect(s.addr);
    let mut w = Wire::connect(s.addr);
    t.call(&["HELLO", "3"]);
    t.call(&["CLIENT", "TRACKING", "ON"]);
    w.call(&["SET", "k", "old"]);
    w.call(&["SNAPSHOT", "CREATE", "s"]);
    w.call(&["SET", "k", "new"]);
    assert_eq!(show(&t.call(&["GET", "k"])), "$3 new ");
    assert_eq!(show(&w.call(&["SNAPSHOT", "MERGE", "s", "REPLACE"])), ":1 ");
    assert_eq!(show(&t.reply()), ">2 $10 invalidate *1 $1 k ");
    assert_eq!(show(&t.call(&["GET", "k"])), "$3 old ");
    assert_eq!(show(&w.call(&["SNAPSHOT", "RESTORE", "s"])), "+OK ");
    assert_eq!(show(&t.reply()), ">2 $10 invalidate _ ");
    assert_eq!(show(&t.call(&["PING"])), "+PONG ");
}

/// A tracking client that never reads its invalidations is closed at the `normal`
/// class's hard limit instead of growing the server's memory.
#[test]
fn a_client_that_does_not_read_its_invalidations_is_closed() {
    let s = TestServer::start();
    let mut admin = Wire::connect(s.addr);
    admin.call(&[
        "CONFIG",
        "SET",
        "client-output-buffer-limit",
        "normal 1mb 0 0",
    ]);
    let mut t = Wire::connect(s.addr);
    t.call(&["HELLO", "3"]);
    t.call(&["CLIENT", "TRACKING", "ON"]);
    let t_id = client_id(&mut t);
    let keys: Vec<String> = (0..1500)
        .map(|i| format!("{i:05}{}", "k".repeat(10_000)))
        .collect();
    for chunk in keys.chunks(100) {
        let mut mget = vec!["MGET"];
        mget.extend(chunk.iter().map(String::as_str));
        t.call(&mget);
    }
    // 15 MB of invalidations, never read.
    for chunk in keys.chunks(100) {
        let mut mset = vec!["MSET"];
        for k in chunk {
            mset.push(k);
            mset.push("v");
        }
        admin.call(&mset);
    }
    let gone = format!("id={t_id} ");
    let deadline = Instant::now() + Duration::from_secs(10);
    while show(&admin.call(&["CLIENT", "LIST"])).contains(&gone) {
        assert!(Instant::now() < deadline, "the client was not closed");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(stat(&mut admin, "tracking_clients"), 0);
    assert_eq!(stat(&mut admin, "tracking_total_items"), 0);
}
