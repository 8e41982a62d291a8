//! The built `shoal` binary driven the way people drive it: `redis-cli` one-shot
//! commands, `--pipe` mass insertion, `--scan`; the command line itself (`--help`, bad
//! values, precedence of flags over environment); clean exit on SIGTERM.
//!
//! These tests need `redis-cli` (package redis-tools), which the README's test command
//! installs when it is missing; a missing `redis-cli` fails the tests loudly.

use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{redis_cli, Proc, SHOAL};

#[test]
fn one_shot_commands() {
    let p = Proc::start(&[]);
    assert_eq!(p.cli(&["PING"]), "PONG");
    assert_eq!(p.cli(&["SET", "greeting", "hello world"]), "OK");
    assert_eq!(p.cli(&["GET", "greeting"]), "hello world");
    assert_eq!(p.cli(&["INCRBY", "counter", "41"]), "41");
    assert_eq!(p.cli(&["INCR", "counter"]), "42");
    assert_eq!(
        p.cli(&["INCR", "greeting"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(p.cli(&["GET", "missing"]), "");
    assert_eq!(p.cli(&["MSET", "a", "1", "b", "2"]), "OK");
    assert_eq!(
        p.cli(&["MGET", "a", "b", "nope"]),
        "1\n2",
        "nil prints as an empty line"
    );
    assert_eq!(p.cli(&["DBSIZE"]), "4");
    assert_eq!(p.cli(&["-n", "3", "SET", "other", "db"]), "OK");
    assert_eq!(p.cli(&["-n", "3", "DBSIZE"]), "1");
}

#[test]
fn pipe_mass_insertion() {
    let p = Proc::start(&[]);
    let n = 100_000;
    let mut input = Vec::with_capacity(n * 40);
    for i in 0..n {
        let k = format!("key:{i}");
        let v = format!("value-{i}");
        write!(
            input,
            "*3\r\n$3\r\nSET\r\n${}\r\n{k}\r\n${}\r\n{v}\r\n",
            k.len(),
            v.len()
        )
        .unwrap();
    }
    let out = redis_cli(p.port, &["--pipe"], Some(&input));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "--pipe failed: {text}");
    assert!(
        text.contains(&format!("errors: 0, replies: {n}")),
        "--pipe summary: {text}"
    );
    assert_eq!(p.cli(&["DBSIZE"]), n.to_string());
    assert_eq!(p.cli(&["GET", "key:99999"]), "value-99999");
}

#[test]
fn scan_from_the_command_line() {
    let p = Proc::start(&[]);
    for i in 0..500 {
        p.cli(&["SET", &format!("user:{i}"), "x"]);
    }
    for i in 0..100 {
        p.cli(&["SET", &format!("session:{i}"), "y"]);
    }
    let listed = p.cli(&["--scan", "--pattern", "user:*"]);
    let mut keys: Vec<&str> = listed.lines().collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), 500);
    assert!(keys.iter().all(|k| k.starts_with("user:")));
    let all = p.cli(&["--scan"]);
    let mut all: Vec<&str> = all.lines().collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 600);
}

#[test]
fn help_lists_flags_and_bad_values_fail_cleanly() {
    let out = Command::new(SHOAL).arg("--help").output().expect("run");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--port",
        "--bind",
        "--config",
        "--maxclients",
        "--requirepass",
        "SHOAL_PORT",
    ] {
        assert!(help.contains(flag), "--help mentions {flag}");
    }

    let out = Command::new(SHOAL)
        .args(["--config", "", "--port", "notaport"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("port"), "error names the key: {err}");
    assert_eq!(err.trim().lines().count(), 1, "one-line error: {err}");

    let out = Command::new(SHOAL)
        .args(["--config", ""])
        .env("SHOAL_DATABASES", "lots")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SHOAL_DATABASES"));
}

#[test]
fn flag_overrides_environment_and_file() {
    let dir = std::env::temp_dir().join(format!("shoal-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("shoal.toml");
    std::fs::write(&file, "databases = 4\nmaxclients = 100\n").unwrap();
    let p = Proc::spawn(
        &["--config", file.to_str().unwrap(), "--maxclients", "77"],
        &[("SHOAL_DATABASES", "8"), ("SHOAL_MAXCLIENTS", "50")],
    );
    let got = p.cli(&["CONFIG", "GET", "databases"]);
    assert_eq!(got, "databases\n8", "env beats file");
    let got = p.cli(&["CONFIG", "GET", "maxclients"]);
    assert_eq!(got, "maxclients\n77", "flag beats env");
    drop(p);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn sigterm_and_shutdown_exit_cleanly() {
    let mut p = Proc::start(&[]);
    p.cli(&["SET", "k", "v"]);
    // kill(1), as an operator would.
    let status = Command::new("kill")
        .args(["-TERM", &p.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let code = loop {
        if let Some(s) = p.child.try_wait().unwrap() {
            break s.code();
        }
        assert!(Instant::now() < deadline, "shoal did not exit on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(code, Some(0));

    let mut p = Proc::start(&[]);
    let _ = redis_cli(p.port, &["SHUTDOWN", "NOSAVE"], None);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(s) = p.child.try_wait().unwrap() {
            assert_eq!(s.code(), Some(0));
            break;
        }
        assert!(Instant::now() < deadline, "shoal did not exit on SHUTDOWN");
        std::thread::sleep(Duration::from_millis(20));
    }
}
