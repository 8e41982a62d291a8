//! GET /metrics and /healthz (RESP port and metrics-port), the cross-protocol guard
//! around them, logs (format, colours, start-up line, debug level) and the signalled
//! shutdown (drain, save, shutdown-timeout, second signal).

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use prometheus_parse::{Scrape, Value};
use tokio::io::AsyncReadExt;

use crate::common::*;

/// An HTTP response: status, headers (lower-case names), body.
struct Response {
    status: u16,
    headers: HashMap<String, String>,
    body: String,
}

/// Sends `request` on a fresh connection to `port` and reads until the server closes.
async fn http(port: u16, request: &str) -> Response {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    tokio::io::AsyncWriteExt::write_all(&mut s, request.as_bytes())
        .await
        .expect("send");
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut raw))
        .await
        .expect("the server closes after its response")
        .expect("read");
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Response {
    let text = String::from_utf8(raw.to_vec()).expect("utf-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("a response head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    assert!(status_line.starts_with("HTTP/1.1 "), "{status_line}");
    let status = status_line[9..12].parse().expect("status code");
    let headers: HashMap<String, String> = lines
        .map(|l| {
            let (n, v) = l.split_once(": ").expect("header");
            (n.to_ascii_lowercase(), v.to_string())
        })
        .collect();
    assert_eq!(
        headers["content-length"].parse::<usize>().unwrap(),
        body.len(),
        "Content-Length matches the body"
    );
    assert_eq!(headers["connection"], "close");
    Response {
        status,
        headers,
        body: body.to_string(),
    }
}

async fn get(port: u16, path: &str) -> Response {
    http(
        port,
        &format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n\r\n"),
    )
    .await
}

/// Checks the text line by line against the exposition format's grammar (the
/// parser crate skips what it does not understand), then parses it.
fn parse_metrics(body: &str) -> Scrape {
    let mut typed: HashMap<String, String> = HashMap::new();
    let mut seen_families = HashSet::new();
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            assert!(
                seen_families.insert(name.to_string()),
                "family twice: {name}"
            );
            typed.insert(name.to_string(), kind.to_string());
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        assert!(
            !line.is_empty() && !line.starts_with('#'),
            "stray line {line:?}"
        );
        let name_end = line.find(['{', ' ']).expect("sample name");
        let name = &line[..name_end];
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                && !name.starts_with(|c: char| c.is_ascii_digit()),
            "bad metric name {name}"
        );
        let family = typed
            .keys()
            .find(|f| {
                name == f.as_str()
                    || (typed[*f] == "histogram"
                        && ["_bucket", "_sum", "_count"]
                            .iter()
                            .any(|s| name == format!("{f}{s}")))
            })
            .unwrap_or_else(|| panic!("sample {name} before its TYPE line"));
        let rest = &line[name_end..];
        let value = if let Some(labels) = rest.strip_prefix('{') {
            let close = labels.rfind("} ").expect("labels close");
            for pair in split_labels(&labels[..close]) {
                let (k, v) = pair.split_once('=').expect("label k=v");
                assert!(
                    k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                    "{line}"
                );
                assert!(v.starts_with('"') && v.ends_with('"'), "{line}");
            }
            &labels[close + 2..]
        } else {
            rest.trim_start()
        };
        assert!(
            value.parse::<f64>().is_ok() || ["+Inf", "-Inf", "NaN"].contains(&value),
            "bad value in {line:?} (family {family})"
        );
    }
    Scrape::parse(body.lines().map(|l| Ok(l.to_string()))).expect("parses")
}

/// `a="x",b="y"` split at the commas outside quotes.
fn split_labels(s: &str) -> Vec<&str> {
    let (mut out, mut start, mut quoted, mut escaped) = (Vec::new(), 0, false, false);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

/// The value of `metric` with `labels` (all of them matching), if present.
fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match &s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            other => panic!("{metric} is {other:?}"),
        })
}

fn must(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    value(scrape, metric, labels).unwrap_or_else(|| panic!("no {metric} {labels:?}"))
}

async fn scrape(port: u16) -> Scrape {
    let r = get(port, "/metrics").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.headers["content-type"].starts_with("text/plain; version=0.0.4"),
        "{:?}",
        r.headers
    );
    parse_metrics(&r.body)
}

#[tokio::test]
async fn metrics_on_the_resp_port_follow_real_traffic() {
    let s = TestServer::start();
    let port = s.addr.port();
    let before = scrape(port).await;
    assert_eq!(must(&before, "redis_up", &[]), 1.0);
    assert_eq!(
        value(&before, "redis_commands_total", &[("cmd", "set")]),
        None
    );
    assert_eq!(value(&before, "redis_db_keys", &[("db", "db0")]), None);
    let info_line = before
        .samples
        .iter()
        .find(|x| x.metric == "redis_instance_info")
        .expect("redis_instance_info");
    assert_eq!(info_line.labels.get("redis_version"), Some("7.0.15"));
    assert_eq!(info_line.labels.get("role"), Some("master"));

    let mut c = s.conn().await;
    for i in 0..5 {
        let _: () = cmd(&mut c, &["SET", &format!("k{i}"), "v"]).await;
    }
    let _: () = cmd(&mut c, &["SET", "ttl", "v", "EX", "100"]).await;
    let _: Option<String> = cmd(&mut c, &["GET", "k1"]).await;
    let _: Option<String> = cmd(&mut c, &["GET", "nope"]).await;
    let _: Option<String> = cmd(&mut c, &["GET", "nope2"]).await;
    let _ = try_cmd::<String>(&mut c, &["INCR", "k1"]).await;

    let after = scrape(port).await;
    assert_eq!(must(&after, "redis_commands_total", &[("cmd", "set")]), 6.0);
    assert_eq!(must(&after, "redis_commands_total", &[("cmd", "get")]), 3.0);
    assert_eq!(
        must(
            &after,
            "redis_commands_failed_calls_total",
            &[("cmd", "incr")]
        ),
        1.0
    );
    assert_eq!(must(&after, "redis_db_keys", &[("db", "db0")]), 6.0);
    assert_eq!(
        must(&after, "redis_db_keys_expiring", &[("db", "db0")]),
        1.0
    );
    let delta = |m: &str| must(&after, m, &[]) - must(&before, m, &[]);
    assert_eq!(delta("redis_keyspace_hits_total"), 1.0);
    assert_eq!(delta("redis_keyspace_misses_total"), 2.0);
    assert!(delta("redis_net_input_bytes_total") > 100.0);
    assert!(delta("redis_commands_processed_total") >= 10.0);
    assert!(delta("redis_connections_received_total") >= 2.0);
    assert!(must(&after, "redis_connected_clients", &[]) >= 1.0);
    assert!(must(&after, "redis_memory_used_bytes", &[]) > 0.0);
    assert_eq!(must(&after, "redis_memory_max_bytes", &[]), 0.0);
    assert_eq!(must(&after, "redis_evicted_keys_total", &[]), 0.0);
    assert!(
        must(
            &after,
            "redis_commands_duration_seconds_total",
            &[("cmd", "set")]
        ) >= 0.0
    );
    // The latency histogram: cumulative buckets ending in +Inf = the calls.
    let hist = after
        .samples
        .iter()
        .find(|x| x.metric == "shoal_command_latency_seconds" && x.labels.get("cmd") == Some("set"))
        .expect("set's histogram");
    let Value::Histogram(buckets) = &hist.value else {
        panic!("not a histogram: {:?}", hist.value)
    };
    assert!(buckets
        .windows(2)
        .all(|w| w[0].less_than < w[1].less_than && w[0].count <= w[1].count));
    let last = buckets.last().unwrap();
    assert!(last.less_than.is_infinite());
    assert_eq!(last.count, 6.0);
    assert_eq!(
        must(
            &after,
            "shoal_command_latency_seconds_count",
            &[("cmd", "set")]
        ),
        6.0
    );
    // INFO says the same.
    assert_eq!(info_field(&mut c, "keyspace_misses").await, "2");
}

#[tokio::test]
async fn healthz_answers_200_while_serving_and_503_while_stopping() {
    let s = TestServer::start();
    let port = s.addr.port();
    let r = get(port, "/healthz").await;
    assert_eq!((r.status, r.body.as_str()), (200, "ok\n"));
    // HTTP/1.0 without headers, and a query string.
    let r = http(port, "GET /healthz?verbose=1 HTTP/1.0\r\n\r\n").await;
    assert_eq!(r.status, 200);
    s.handle().shared().begin_stopping();
    let r = get(port, "/healthz").await;
    assert_eq!((r.status, r.body.as_str()), (503, "shutting down\n"));
    assert_eq!(must(&scrape(port).await, "shoal_healthy", &[]), 0.0);
    s.handle().shared().end_stopping();
    assert_eq!(get(port, "/healthz").await.status, 200);
    // The HTTP connections counted as connections, and nothing ran.
    let mut c = s.conn().await;
    assert_eq!(cmd::<i64>(&mut c, &["DBSIZE"]).await, 0);
}

#[tokio::test]
async fn other_http_stays_dropped_and_resp_is_untouched() {
    let s = TestServer::start();
    for request in [
        "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\nFLUSHALL\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /metrics HTTP/2\r\n\r\n",
        "PUT /healthz HTTP/1.1\r\n\r\n",
    ] {
        let mut r = s.raw().await;
        r.send(request.as_bytes()).await;
        let mut got = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), r.stream.read_to_end(&mut got)).await;
        assert_eq!(got, b"", "{request:?} gets no reply");
    }
    // Later in a RESP connection, the same line is an ordinary (wrong) command.
    let mut r = s.raw().await;
    r.roundtrip(&[b"SET", b"a", b"1"], b"+OK\r\n").await;
    r.send(b"GET /metrics HTTP/1.1\r\n").await;
    r.expect(b"-ERR wrong number of arguments for 'get' command\r\n")
        .await;
    // A GET of a key named like a path is a plain RESP GET.
    let mut r = s.raw().await;
    r.send(b"GET /metrics\r\n").await;
    r.expect(b"$-1\r\n").await;
    let mut c = s.conn().await;
    assert_eq!(cmd::<i64>(&mut c, &["DBSIZE"]).await, 1);
}

#[tokio::test]
async fn metrics_on_the_resp_port_need_the_password_when_one_is_set() {
    use base64::Engine as _;
    let s = TestServer::with(|c| c.requirepass = "s3cret".into());
    let port = s.addr.port();
    let r = get(port, "/metrics").await;
    assert_eq!(r.status, 401);
    assert_eq!(r.headers["www-authenticate"], "Basic realm=\"shoal\"");
    assert!(!r.body.contains("redis_"));
    let auth = |user_pass: &str| {
        format!(
            "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {}\r\n\r\n",
            base64::engine::general_purpose::STANDARD.encode(user_pass)
        )
    };
    assert_eq!(http(port, &auth("default:wrong")).await.status, 401);
    assert_eq!(http(port, &auth("admin:s3cret")).await.status, 401);
    let ok = http(port, &auth("default:s3cret")).await;
    assert_eq!(ok.status, 200);
    parse_metrics(&ok.body);
    // /healthz tells nothing but up/down: no credentials needed.
    assert_eq!(get(port, "/healthz").await.status, 200);
    // Failed attempts count as failed AUTHs.
    let client = redis::Client::open(format!("redis://:s3cret@{}/", s.addr)).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    assert_eq!(info_field(&mut c, "acl_access_denied_auth").await, "3");
}

#[tokio::test]
async fn the_metrics_port_serves_both_paths_and_nothing_else() {
    let mport = free_port();
    let s = TestServer::with(|c| {
        c.metrics_port = mport;
        c.requirepass = "pw".into();
    });
    assert_eq!(s.handle().metrics_addrs()[0].port(), mport);
    let m = scrape(mport).await;
    assert_eq!(must(&m, "redis_up", &[]), 1.0);
    assert_eq!(get(mport, "/healthz").await.status, 200);
    assert_eq!(get(mport, "/").await.status, 404);
    assert_eq!(
        http(mport, "POST /metrics HTTP/1.1\r\n\r\n").await.status,
        405
    );
    // RESP sent to the metrics port runs nothing.
    let r = http(mport, "SET x y\r\n\r\n").await;
    assert_eq!(r.status, 404);
}

#[test]
fn json_logs_one_object_per_line_with_the_start_up_facts() {
    let p = Proc::with_log(&["--log-format", "json", "--maxmemory", "64mb"]);
    p.cli(&["SET", "a", "b"]);
    let log = p.wait_log("ready to accept connections");
    let mut lines = 0;
    for line in log.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            v["level"].is_string() && v["timestamp"].is_string(),
            "{line}"
        );
        lines += 1;
    }
    assert!(lines >= 1);
    let start = log
        .lines()
        .find(|l| l.contains("ready to accept connections"))
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(start).unwrap();
    let f = &v["fields"];
    assert_eq!(f["maxmemory"], 67_108_864);
    assert!(f["config_file"].as_str().unwrap().starts_with("none"));
    assert!(
        f["addrs"].as_str().unwrap().contains(&p.port.to_string()),
        "{start}"
    );
    // Never a line per command.
    assert!(!log.contains("\"SET\""), "{log}");
}

#[test]
fn human_logs_have_no_colours_off_a_terminal_and_debug_shows_debug_lines() {
    let dir = TempDir::new("logcfg");
    let conf = dir.0.join("shoal.toml");
    std::fs::write(&conf, "# test config\nloglevel = \"debug\"\n").unwrap();
    let log = dir.0.join("shoal.log");
    let mut p = Proc::spawn(
        &[
            "--config",
            conf.to_str().unwrap(),
            "--logfile",
            log.to_str().unwrap(),
        ],
        &[],
    );
    p.log = Some(log.clone());
    p.cli(&["PING"]);
    let text = p.wait_log("client closed");
    assert!(
        !text.contains('\u{1b}'),
        "escape codes in a log file: {text}"
    );
    assert!(text.contains("DEBUG"), "{text}");
    assert!(text.contains("client connected"), "{text}");
    assert!(
        text.contains(&format!("config_file={}", conf.display())),
        "{text}"
    );
    // CONFIG SET loglevel takes effect at once: no more debug lines.
    let p = Proc::with_log(&["--loglevel", "debug"]);
    p.cli(&["CONFIG", "SET", "loglevel", "warning"]);
    let at = p.log_text().len();
    p.cli(&["PING"]);
    std::thread::sleep(Duration::from_millis(200));
    assert!(!p.log_text()[at..].contains("DEBUG"), "{}", p.log_text());
}

/// A shoal process with save points in `dir`, logging to a file.
fn saving_proc(dir: &TempDir, extra: &[&str]) -> Proc {
    Proc::with_log(&[&["--save", "3600 1", "--dir", &dir.str()], extra].concat())
}

#[test]
fn sigterm_finishes_in_flight_pipelines_saves_and_exits_0() {
    let d = TempDir::new("drain");
    let mut p = saving_proc(&d, &[]);
    let mut s = std::net::TcpStream::connect(("127.0.0.1", p.port)).unwrap();
    let n = 20_000;
    let mut pipeline = Vec::new();
    for i in 0..n {
        pipeline.extend_from_slice(&encode(&[b"SET", format!("key:{i}").as_bytes(), b"v"]));
    }
    s.write_all(&pipeline).unwrap();
    // The first reply is here: the pipeline is being run.
    let mut first = [0u8; 5];
    s.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"+OK\r\n");
    p.signal("TERM");
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    // The whole pipeline was run and answered.
    assert_eq!(rest.len(), (n - 1) * 5);
    assert!(rest.chunks(5).all(|r| r == b"+OK\r\n"));
    assert_eq!(p.wait_exit(15), Some(Some(0)));
    // Every acknowledged write is in the dump.
    let log = p.log_text();
    assert!(
        log.contains("Received SIGTERM scheduling shutdown"),
        "{log}"
    );
    assert!(log.contains("ready to exit"), "{log}");
    let q = Proc::start(&["--dir", &d.str()]);
    // The port accepts while the dump still loads (LOADING): wait for the count.
    let mut answer = q.cli(&["DBSIZE"]);
    for _ in 0..200 {
        if answer.parse::<usize>().is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
        answer = q.cli(&["DBSIZE"]);
    }
    let keys: usize = answer
        .parse()
        .unwrap_or_else(|_| panic!("DBSIZE: {answer}"));
    assert_eq!(keys, n, "every acknowledged SET is in the dump");
}

/// A client that asks for a large reply and never reads it holds the drain.
fn stuck_client(port: u16) -> std::net::TcpStream {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(&encode(&[b"SET", b"big", &vec![b'x'; 8 << 20]]))
        .unwrap();
    let mut ok = [0u8; 5];
    s.read_exact(&mut ok).unwrap();
    for _ in 0..8 {
        s.write_all(&encode(&[b"GET", b"big"])).unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    s
}

#[test]
fn shutdown_timeout_bounds_the_drain_and_a_second_signal_exits_at_once() {
    // shutdown-timeout 1: a client that never reads holds the exit at most ~1 s.
    let mut p = Proc::with_log(&["--shutdown-timeout", "1"]);
    let _s = stuck_client(p.port);
    let start = Instant::now();
    p.signal("TERM");
    assert_eq!(p.wait_exit(10), Some(Some(0)));
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(900), "{took:?}");
    assert!(
        p.log_text().contains("shutdown-timeout reached"),
        "{}",
        p.log_text()
    );

    // A long timeout: the second signal ends the wait at once, status 1.
    let mut p = Proc::with_log(&["--shutdown-timeout", "60"]);
    let _s = stuck_client(p.port);
    p.signal("TERM");
    assert_eq!(p.wait_exit(1), None, "still draining");
    p.signal("INT");
    assert_eq!(p.wait_exit(5), Some(Some(1)));
    assert!(
        p.log_text().contains("during shutdown: exiting now"),
        "{}",
        p.log_text()
    );
}

#[tokio::test]
async fn latency_monitor_and_histograms() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    assert_eq!(
        cmd::<String>(&mut c, &["LATENCY", "DOCTOR"]).await,
        "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n"
    );
    let _: () = cmd(&mut c, &["CONFIG", "SET", "latency-monitor-threshold", "1"]).await;
    let empty: Vec<redis::Value> = cmd(&mut c, &["LATENCY", "LATEST"]).await;
    assert!(empty.is_empty());
    // A command that takes over a millisecond: KEYS over many keys.
    let mut pipe = redis::pipe();
    for i in 0..50_000 {
        pipe.cmd("SET").arg(format!("key:{i}")).arg(i).ignore();
    }
    let _: () = pipe.query_async(&mut c).await.unwrap();
    let mut slow = false;
    for _ in 0..20 {
        let _: Vec<String> = cmd(&mut c, &["KEYS", "*9*9*"]).await;
        let latest: Vec<(String, i64, i64, i64)> = cmd(&mut c, &["LATENCY", "LATEST"]).await;
        if let Some((event, time, ms, max)) = latest.into_iter().find(|l| l.0 == "command") {
            assert_eq!(event, "command");
            assert!(time > 1_600_000_000 && ms >= 1 && max >= ms);
            slow = true;
            break;
        }
    }
    assert!(slow, "no KEYS call over 1 ms was recorded");
    let history: Vec<(i64, i64)> = cmd(&mut c, &["LATENCY", "HISTORY", "command"]).await;
    assert!(!history.is_empty() && history.iter().all(|(_, ms)| *ms >= 1));
    let doctor: String = cmd(&mut c, &["LATENCY", "DOCTOR"]).await;
    assert!(doctor.contains("1. command: "), "{doctor}");
    assert_eq!(cmd::<i64>(&mut c, &["LATENCY", "RESET", "nope"]).await, 0);
    assert!(cmd::<i64>(&mut c, &["LATENCY", "RESET"]).await >= 1);
    let empty: Vec<(i64, i64)> = cmd(&mut c, &["LATENCY", "HISTORY", "command"]).await;
    assert!(empty.is_empty());

    // HISTOGRAM: calls and cumulative power-of-two buckets.
    let h: HashMap<String, HashMap<String, redis::Value>> =
        cmd(&mut c, &["LATENCY", "HISTOGRAM", "set", "nosuchcommand"]).await;
    assert_eq!(h.len(), 1);
    let set = &h["set"];
    assert_eq!(set["calls"], redis::Value::Int(50_000));
    let buckets: HashMap<i64, i64> =
        redis::FromRedisValue::from_redis_value(set["histogram_usec"].clone()).unwrap();
    let mut sorted: Vec<_> = buckets.into_iter().collect();
    sorted.sort();
    assert!(sorted.iter().all(|(b, _)| (*b as u64).is_power_of_two()));
    assert!(sorted.windows(2).all(|w| w[0].1 < w[1].1));
    assert_eq!(sorted.last().unwrap().1, 50_000);

    // INFO latencystats, with the configured percentiles.
    let info: String = cmd(&mut c, &["INFO", "latencystats"]).await;
    let line = info
        .lines()
        .find(|l| l.starts_with("latency_percentiles_usec_set:"))
        .unwrap_or_else(|| panic!("{info}"));
    assert!(line.contains("p50=") && line.contains(",p99=") && line.contains(",p99.9="));
    let _: () = cmd(
        &mut c,
        &[
            "CONFIG",
            "SET",
            "latency-tracking-info-percentiles",
            "0.0 50.0 100.0",
        ],
    )
    .await;
    let got: Vec<String> = cmd(
        &mut c,
        &["CONFIG", "GET", "latency-tracking-info-percentiles"],
    )
    .await;
    assert_eq!(got[1], "0 50 100");
    let info: String = cmd(&mut c, &["INFO", "latencystats"]).await;
    assert!(info.contains("latency_percentiles_usec_set:p0="), "{info}");
    assert!(err(
        &mut c,
        &["CONFIG", "SET", "latency-tracking-info-percentiles", "101"]
    )
    .await
    .contains("latency-tracking-info-percentiles"));
    // Not part of the default INFO, as in Redis.
    let info: String = cmd(&mut c, &["INFO"]).await;
    assert!(!info.contains("# Latencystats"));
}

#[tokio::test]
async fn config_set_of_several_parameters_is_all_or_nothing() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let _: () = cmd(
        &mut c,
        &[
            "CONFIG",
            "SET",
            "latency-monitor-threshold",
            "5",
            "shutdown-timeout",
            "3",
        ],
    )
    .await;
    let e = err(
        &mut c,
        &[
            "CONFIG",
            "SET",
            "latency-monitor-threshold",
            "7",
            "shutdown-timeout",
            "x",
        ],
    )
    .await;
    assert!(e.contains("shutdown-timeout"), "{e}");
    let got: Vec<String> = cmd(&mut c, &["CONFIG", "GET", "latency-monitor-threshold"]).await;
    assert_eq!(got[1], "5", "the first pair was rolled back");
    let e = err(&mut c, &["CONFIG", "SET", "metrics-port", "9999"]).await;
    assert!(e.contains("can't set immutable config"), "{e}");
}

// ---------------------------------------------------------------------------------------
// INFO audited against redis-server 7.0, field by field
// ---------------------------------------------------------------------------------------

/// Fields redis-server 7.0 prints that Shoal leaves out, each with its reason. Empty
/// today: where Shoal lacks the feature it prints Redis's constant for it (no AOF:
/// `aof_enabled:0`, no replicas, no cluster, no I/O threads...). Fields Redis prints
/// only in a state neither server is in here (`loading_*` while loading, a replica's
/// `master_*`) are not compared.
const INFO_LEFT_OUT: &[(&str, &str)] = &[];

/// INFO text as (section header, field names) in order; the keyspace's `dbN`,
/// `cmdstat_*`, `errorstat_*` and `latency_percentiles_usec_*` lines are fields too.
fn info_sections(text: &str) -> Vec<(String, Vec<String>)> {
    let mut sections: Vec<(String, Vec<String>)> = Vec::new();
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        if let Some(header) = line.strip_prefix("# ") {
            sections.push((header.to_string(), Vec::new()));
            continue;
        }
        let (name, _) = line.split_once(':').expect("name:value");
        sections
            .last_mut()
            .expect("a field after a section header")
            .1
            .push(name.to_string());
    }
    sections
}

/// `INFO args...` on both servers compared: same sections in the same order, every
/// Redis field present in Shoal's section (less [`INFO_LEFT_OUT`]), and the fields
/// both print in the same relative order (but commands, which Redis lists in hash order).
async fn compare_info(
    shoal: &mut redis::aio::MultiplexedConnection,
    redis: &mut redis::aio::MultiplexedConnection,
    args: &[&str],
) {
    let mut req = vec!["INFO"];
    req.extend_from_slice(args);
    let ours = info_sections(&cmd::<String>(shoal, &req).await);
    let theirs = info_sections(&cmd::<String>(redis, &req).await);
    let names = |s: &[(String, Vec<String>)]| s.iter().map(|(h, _)| h.clone()).collect::<Vec<_>>();
    assert_eq!(names(&ours), names(&theirs), "sections of {req:?}");
    for ((header, our_fields), (_, their_fields)) in ours.iter().zip(&theirs) {
        let missing: Vec<&String> = their_fields
            .iter()
            .filter(|f| !our_fields.contains(f))
            .filter(|f| !INFO_LEFT_OUT.iter().any(|(n, _)| n == f))
            .collect();
        assert!(
            missing.is_empty(),
            "{req:?} # {header}: Shoal lacks {missing:?}"
        );
        let common_ours: Vec<&String> = our_fields
            .iter()
            .filter(|f| their_fields.contains(f))
            .collect();
        let common_theirs: Vec<&String> = their_fields
            .iter()
            .filter(|f| our_fields.contains(f))
            .collect();
        // Redis lists commands in its command table's hash order: no order to match.
        if header != "Commandstats" && header != "Latencystats" {
            assert_eq!(
                common_ours, common_theirs,
                "{req:?} # {header}: field order"
            );
        }
    }
}

#[tokio::test]
async fn info_fields_as_redis() {
    let s = TestServer::start();
    let mut ours = s.conn().await;
    let r = RedisServer::start();
    let mut theirs = r.conn(false).await;
    // The same traffic on both: keys, a hit, a miss, two error codes, an INFO (which
    // counts in commandstats once it has replied).
    for c in [&mut ours, &mut theirs] {
        let _: String = cmd(c, &["PING"]).await;
        let _: String = cmd(c, &["SET", "k", "v"]).await;
        let _: String = cmd(c, &["GET", "k"]).await;
        let _: Option<String> = cmd(c, &["GET", "missing"]).await;
        let _: String = cmd(c, &["SELECT", "2"]).await;
        let _: i64 = cmd(c, &["HSET", "h", "f", "v"]).await;
        let _: String = cmd(c, &["SELECT", "0"]).await;
        assert!(try_cmd::<i64>(c, &["INCR", "k"]).await.is_err());
        assert!(try_cmd::<i64>(c, &["LPUSH", "k", "x"]).await.is_err());
        let _: String = cmd(c, &["INFO"]).await;
    }
    for args in [
        &["everything"][..],
        &[][..],
        &["all"][..],
        &["default"][..],
        &["memory", "cpu"][..],
    ] {
        compare_info(&mut ours, &mut theirs, args).await;
    }
    for section in [
        "server",
        "clients",
        "memory",
        "persistence",
        "stats",
        "replication",
        "cpu",
        "modules",
        "commandstats",
        "errorstats",
        "latencystats",
        "cluster",
        "keyspace",
    ] {
        compare_info(&mut ours, &mut theirs, &[section]).await;
    }

    // Values: Redis's constants where Shoal has no such feature, and Redis's formats.
    for field in [
        "redis_mode",
        "arch_bits",
        "monotonic_clock",
        "multiplexing_api",
        "atomicvar_api",
        "process_supervised",
        "io_threads_active",
        "cluster_connections",
        "maxmemory",
        "maxmemory_human",
        "maxmemory_policy",
        "mem_replication_backlog",
        "mem_total_replication_buffers",
        "mem_clients_slaves",
        "mem_cluster_links",
        "mem_aof_buffer",
        "loading",
        "async_loading",
        "rdb_bgsave_in_progress",
        "rdb_last_bgsave_status",
        "aof_enabled",
        "aof_rewrite_in_progress",
        "aof_rewrite_scheduled",
        "aof_last_rewrite_time_sec",
        "aof_current_rewrite_time_sec",
        "aof_last_bgrewrite_status",
        "aof_last_write_status",
        "module_fork_in_progress",
        "total_net_repl_input_bytes",
        "sync_full",
        "io_threaded_reads_processed",
        "role",
        "connected_slaves",
        "master_failover_state",
        "second_repl_offset",
        "repl_backlog_active",
        "repl_backlog_size",
        "used_cpu_sys_children",
        "cluster_enabled",
        "keyspace_hits",
        "keyspace_misses",
        "db0",
        "db2",
        // Not errorstat_ERR: the client library's CLIENT SETINFO on connecting fails
        // on Redis 7.0 (a 7.2 command Shoal has), twice.
        "errorstat_WRONGTYPE",
    ] {
        assert_eq!(
            info_field(&mut ours, field).await,
            info_field(&mut theirs, field).await,
            "INFO {field}"
        );
    }
    let human = |v: &str| {
        let (num, unit) = v.split_at(v.len() - 1);
        match unit {
            "B" => num.parse::<u64>().is_ok(),
            "K" | "M" | "G" | "T" | "P" => num.split_once('.').is_some_and(|(i, d)| {
                i.parse::<u64>().is_ok() && d.len() == 2 && d.parse::<u64>().is_ok()
            }),
            _ => false,
        }
    };
    let two_decimals = |v: &str| {
        v.split_once('.').is_some_and(|(i, d)| {
            i.parse::<u64>().is_ok() && d.len() == 2 && d.parse::<u64>().is_ok()
        })
    };
    let num = |v: String| v.parse::<u64>().expect("a number");
    for c in [&mut ours, &mut theirs] {
        for field in [
            "used_memory_human",
            "used_memory_rss_human",
            "used_memory_peak_human",
        ] {
            let v = info_field(c, field).await;
            assert!(human(&v), "{field}:{v}");
        }
        for field in [
            "mem_fragmentation_ratio",
            "allocator_frag_ratio",
            "instantaneous_input_kbps",
        ] {
            let v = info_field(c, field).await;
            assert!(two_decimals(&v), "{field}:{v}");
        }
        for field in ["used_memory_peak_perc", "used_memory_dataset_perc"] {
            let v = info_field(c, field).await;
            assert!(v.strip_suffix('%').is_some_and(two_decimals), "{field}:{v}");
        }
        let v = info_field(c, "used_cpu_user_main_thread").await;
        assert!(v.split_once('.').is_some_and(|(_, d)| d.len() == 6), "{v}");
        assert!(num(info_field(c, "used_memory_startup").await) > 0);
    }
}

/// INFO's `client_recent_max_input_buffer` (the largest query buffer of the last
/// seconds) and `total_reads_processed` / `total_writes_processed` (socket reads and
/// writes) count real traffic.
#[tokio::test]
async fn info_input_buffer_and_io_counts() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let num = |v: String| v.parse::<u64>().expect("a number");
    assert!(num(info_field(&mut c, "client_recent_max_input_buffer").await) < 100_000);
    let reads = num(info_field(&mut c, "total_reads_processed").await);
    let writes = num(info_field(&mut c, "total_writes_processed").await);
    for _ in 0..10 {
        let _: String = cmd(&mut c, &["PING"]).await;
    }
    // Each PING (and each INFO) was one request waited for: a read and a write each.
    assert!(num(info_field(&mut c, "total_reads_processed").await) >= reads + 11);
    assert!(num(info_field(&mut c, "total_writes_processed").await) >= writes + 11);

    // One 200 KB command: the query buffer held all of it before it ran.
    let big = "x".repeat(200_000);
    let _: String = cmd(&mut c, &["SET", "big", &big]).await;
    let max = num(info_field(&mut c, "client_recent_max_input_buffer").await);
    assert!(max >= 200_000, "{max}");
    assert!(max < 300_000, "{max}");
}
