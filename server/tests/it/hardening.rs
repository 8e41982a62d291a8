//! Hardening: error texts quote client bytes as they came, inline requests with a NUL
//! byte, `hz` clamping, SETRANGE memory, snapshot names, leftover temp files and the
//! data directory checked at start.

use std::time::Duration;

use crate::common::*;

/// Reads `expected.len()` bytes (or until EOF) and asserts they are exactly `expected`.
async fn expect_bytes(r: &mut Raw, expected: &[u8]) {
    let got = r.read_exact_or_eof(expected.len()).await;
    assert_eq!(got, expected, "got {:?}", String::from_utf8_lossy(&got));
}

#[tokio::test]
async fn unknown_command_echoes_raw_bytes() {
    let s = TestServer::start();
    let mut r = s.raw().await;
    r.send(b"*1\r\n$2\r\n\xff\xfe\r\n").await;
    expect_bytes(
        &mut r,
        b"-ERR unknown command '\xff\xfe', with args beginning with: \r\n",
    )
    .await;
    // Arguments too; CR/LF inside become spaces, a NUL ends the quote (Redis's `%s`).
    r.cmd(&[b"n\xc3", b"a\xe9\r\nb", b"x\0y"]).await;
    expect_bytes(
        &mut r,
        b"-ERR unknown command 'n\xc3', with args beginning with: 'a\xe9  b' 'x' \r\n",
    )
    .await;
}

#[tokio::test]
async fn unknown_subcommand_echoes_raw_bytes() {
    let s = TestServer::start();
    let mut r = s.raw().await;
    r.cmd(&[b"CONFIG", b"\xc0\xaf"]).await;
    expect_bytes(
        &mut r,
        b"-ERR unknown subcommand '\xc0\xaf'. Try CONFIG HELP.\r\n",
    )
    .await;
    let long = [0xffu8; 200];
    r.cmd(&[b"OBJECT", &long]).await;
    let mut expected = b"-ERR unknown subcommand '".to_vec();
    expected.extend_from_slice(&long[..128]);
    expected.extend_from_slice(b"'. Try OBJECT HELP.\r\n");
    expect_bytes(&mut r, &expected).await;
}

#[tokio::test]
async fn argument_errors_echo_raw_bytes() {
    let s = TestServer::start();
    let mut r = s.raw().await;
    r.cmd(&[b"CONFIG", b"SET", b"\xffhz", b"1"]).await;
    expect_bytes(
        &mut r,
        b"-ERR Unknown option or number of arguments for CONFIG SET - '\xffhz'\r\n",
    )
    .await;
    r.cmd(&[b"EXPIRE", b"k", b"10", b"\xfe\r\n"]).await;
    expect_bytes(&mut r, b"-ERR Unsupported option \xfe\r\n").await;
    r.cmd(&[b"SNAPSHOT", b"READ", b"s\xff"]).await;
    expect_bytes(&mut r, b"-ERR no such snapshot 's\xff'\r\n").await;
    r.cmd(&[b"CLIENT", b"SETINFO", b"\xe2x", b"v"]).await;
    expect_bytes(&mut r, b"-ERR Unrecognized option '\xe2x'\r\n").await;
}

/// Asserts nothing arrives on `r` within `ms` milliseconds (and the peer did not close).
async fn expect_silence(r: &mut Raw, ms: u64) {
    use tokio::io::AsyncReadExt;
    let mut b = [0u8; 256];
    match tokio::time::timeout(Duration::from_millis(ms), r.stream.read(&mut b)).await {
        Err(_) => {}
        Ok(Ok(n)) => panic!(
            "expected no reply, got {:?}",
            String::from_utf8_lossy(&b[..n])
        ),
        Ok(Err(e)) => panic!("expected no reply, got {e}"),
    }
}

#[tokio::test]
async fn inline_nul_hides_the_newline_like_redis() {
    let s = TestServer::start();
    let mut con = s.conn().await;
    let mut r = s.raw().await;
    // Redis's strchr stops at the NUL: the line never completes, nothing runs.
    r.send(b"SET a b\0c\r\n").await;
    expect_silence(&mut r, 300).await;
    let got: Option<String> = cmd(&mut con, &["GET", "a"]).await;
    assert_eq!(got, None);
    // Later complete lines do not help either...
    r.send(b"SET a 1\r\nPING\r\n").await;
    expect_silence(&mut r, 200).await;
    // ...until more than 64 KiB wait: Redis's error, then the connection closes.
    r.send(&vec![b'x'; 64 * 1024]).await;
    expect_bytes(&mut r, b"-ERR Protocol error: too big inline request\r\n").await;
    assert!(r.closed().await);
    let got: Option<String> = cmd(&mut con, &["GET", "a"]).await;
    assert_eq!(got, None);
}

async fn hz(c: &mut redis::aio::MultiplexedConnection) -> Vec<String> {
    cmd(c, &["CONFIG", "GET", "hz"]).await
}

#[tokio::test]
async fn config_set_hz_clamps_like_redis() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let ok: String = cmd(&mut c, &["CONFIG", "SET", "hz", "0"]).await;
    assert_eq!(ok, "OK");
    assert_eq!(hz(&mut c).await, ["hz", "1"]);
    let _: String = cmd(&mut c, &["CONFIG", "SET", "hz", "100000"]).await;
    assert_eq!(hz(&mut c).await, ["hz", "500"]);
    let _: String = cmd(&mut c, &["CONFIG", "SET", "hz", "20"]).await;
    assert_eq!(hz(&mut c).await, ["hz", "20"]);
    assert_eq!(
        err(&mut c, &["CONFIG", "SET", "hz", "-1"]).await,
        "ERR CONFIG SET failed (possibly related to argument 'hz') - argument must be between 0 and 2147483647 inclusive"
    );
    assert_eq!(hz(&mut c).await, ["hz", "20"]);
    // At start too.
    let s = TestServer::with(|c| c.set("hz", "0").expect("hz 0 accepted"));
    let mut c = s.conn().await;
    assert_eq!(hz(&mut c).await, ["hz", "1"]);
}

#[tokio::test]
async fn setrange_far_past_the_end() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let offset = 64 << 20;
    let len: i64 = cmd(&mut c, &["SETRANGE", "k", &offset.to_string(), "xy"]).await;
    assert_eq!(len, offset + 2);
    let strlen: i64 = cmd(&mut c, &["STRLEN", "k"]).await;
    assert_eq!(strlen, offset + 2);
    let tail: Vec<u8> = cmd(&mut c, &["GETRANGE", "k", "-4", "-1"]).await;
    assert_eq!(tail, b"\0\0xy");
    let head: Vec<u8> = cmd(&mut c, &["GETRANGE", "k", "0", "3"]).await;
    assert_eq!(head, b"\0\0\0\0");
    // Extending an existing value keeps its bytes and TTL.
    let _: () = cmd(&mut c, &["SET", "e", "abc", "EX", "1000"]).await;
    let len: i64 = cmd(&mut c, &["SETRANGE", "e", "1000000", "z"]).await;
    assert_eq!(len, 1_000_001);
    let head: Vec<u8> = cmd(&mut c, &["GETRANGE", "e", "0", "4"]).await;
    assert_eq!(head, b"abc\0\0");
    let ttl: i64 = cmd(&mut c, &["TTL", "e"]).await;
    assert!(ttl > 990, "{ttl}");
    // Capped by proto-max-bulk-len, as Redis's checkStringLength.
    assert_eq!(
        err(&mut c, &["SETRANGE", "k", "536870911", "xy"]).await,
        "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
    );
    let strlen: i64 = cmd(&mut c, &["STRLEN", "k"]).await;
    assert_eq!(strlen, offset + 2);
}

#[tokio::test]
async fn snapshot_names_are_bounded_and_validated() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let longest = "n".repeat(128);
    let name: String = cmd(&mut c, &["SNAPSHOT", "CREATE", &longest]).await;
    assert_eq!(name, longest);
    assert_eq!(
        err(&mut c, &["SNAPSHOT", "CREATE", &"n".repeat(129)]).await,
        "ERR snapshot name is too long (at most 128 bytes)"
    );
    assert_eq!(
        err(&mut c, &["SNAPSHOT", "CREATE", &"x".repeat(1 << 20)]).await,
        "ERR snapshot name is too long (at most 128 bytes)"
    );
    for bad in ["a\nb", "tab\there", "nul\0", "esc\x1b[0m", "del\x7f"] {
        assert_eq!(
            err(&mut c, &["SNAPSHOT", "CREATE", bad]).await,
            "ERR snapshot name must not contain control characters (bytes 0-31 and 127)",
            "{bad:?}"
        );
    }
    assert_eq!(
        err(&mut c, &["SNAPSHOT", "CREATE", ""]).await,
        "ERR snapshot name must not be empty"
    );
    // Spaces and UTF-8 stay allowed.
    let name: String = cmd(&mut c, &["SNAPSHOT", "CREATE", "before sale \u{e9}"]).await;
    assert_eq!(name, "before sale \u{e9}");
    let n: i64 = cmd(&mut c, &["SNAPSHOT", "DROP", &longest]).await;
    assert_eq!(n, 1);
    let help: Vec<String> = cmd(&mut c, &["SNAPSHOT", "HELP"]).await;
    assert!(
        help.iter().any(|l| l.contains("1 to 128 bytes")),
        "{help:?}"
    );
}

/// A pid that no running process has (for leftover temp files of "crashed" saves).
fn dead_pid() -> u32 {
    (4_000_000..u32::MAX)
        .find(|p| !std::path::Path::new(&format!("/proc/{p}")).exists())
        .expect("a free pid")
}

#[tokio::test]
async fn leftover_temp_files_are_removed_at_start() {
    let dir = TempDir::new("leftovers");
    let dead = dead_pid();
    let leftovers = [
        format!("temp-{dead}.rdb"),
        format!("temp-{}.rdb", std::process::id()),
    ];
    for name in &leftovers {
        std::fs::write(dir.0.join(name), b"REDIS0010 half a dump").unwrap();
    }
    // Not Shoal's naming, or not a regular file: left alone.
    let others = [
        "temp-12x.rdb",
        "temp-1.rdb.bak",
        "mytemp-1.rdb",
        "dump.rdb.old",
        "notes.txt",
    ];
    for name in others {
        std::fs::write(dir.0.join(name), b"keep").unwrap();
    }
    std::fs::create_dir(dir.0.join(format!("temp-{}.rdb", dead + 1))).unwrap();
    // The temp file of a running process (another server saving into this dir).
    let running = format!("temp-{}.rdb", std::os::unix::process::parent_id());
    std::fs::write(dir.0.join(&running), b"in progress").unwrap();

    let d = dir.str();
    let s = TestServer::with(|c| c.dir = d);
    for name in &leftovers {
        assert!(!dir.0.join(name).exists(), "{name} should be removed");
    }
    for name in others.iter().chain([&running.as_str()]) {
        assert!(dir.0.join(name).is_file(), "{name} must stay");
    }
    assert!(dir.0.join(format!("temp-{}.rdb", dead + 1)).is_dir());
    // The server works and saves into that directory.
    let mut c = s.conn().await;
    let ok: String = cmd(&mut c, &["SAVE"]).await;
    assert_eq!(ok, "OK");
    assert!(dir.0.join("dump.rdb").is_file());
}

fn start_err(dir: &str) -> String {
    let config = shoal_server::config::Config {
        bind: vec!["127.0.0.1".into()],
        port: 0,
        capacity: 1000,
        dir: dir.to_string(),
        ..Default::default()
    };
    match shoal_server::Server::start(config) {
        Ok(h) => {
            h.shutdown();
            panic!("the server started with dir {dir}");
        }
        Err(e) => e.to_string(),
    }
}

/// Runs the built binary with `dir`; returns (exit code, stderr).
fn run_binary(dir: &str) -> (Option<i32>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_shoal"))
        .args([
            "--config",
            "",
            "--port",
            &free_port().to_string(),
            "--loglevel",
            "warning",
            "--dir",
            dir,
        ])
        .stdout(std::process::Stdio::null())
        .output()
        .expect("run shoal");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A directory this process cannot create files in (as root, permissions do not
/// stop us: fall back to /sys), or `None`.
fn unwritable_dir(base: &TempDir) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let ro = base.0.join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    let probe = ro.join("probe");
    if std::fs::write(&probe, b"x").is_err() {
        return Some(ro.display().to_string());
    }
    let _ = std::fs::remove_file(&probe);
    let sys = std::path::Path::new("/sys");
    (sys.is_dir() && std::fs::write(sys.join("shoal-probe"), b"x").is_err())
        .then(|| "/sys".to_string())
}

#[tokio::test]
async fn bad_dir_fails_start() {
    let base = TempDir::new("baddir");
    let missing = base.0.join("missing").display().to_string();
    let file = base.0.join("file");
    std::fs::write(&file, b"x").unwrap();
    let file = file.display().to_string();

    assert_eq!(
        start_err(&missing),
        format!("Can't chdir to '{missing}': No such file or directory")
    );
    assert_eq!(
        start_err(&file),
        format!("Can't chdir to '{file}': Not a directory")
    );
    let (code, stderr) = run_binary(&missing);
    assert_eq!(code, Some(1));
    assert_eq!(
        stderr,
        format!("shoal: Can't chdir to '{missing}': No such file or directory\n")
    );
    let (code, stderr) = run_binary(&file);
    assert_eq!(code, Some(1));
    assert_eq!(
        stderr,
        format!("shoal: Can't chdir to '{file}': Not a directory\n")
    );
    let ro = unwritable_dir(&base)
        .expect("an unwritable directory: a 0555 one (not root) or /sys (root)");
    let e = start_err(&ro);
    assert!(
        e.starts_with(&format!("Can't create files in '{ro}': ")),
        "{e}"
    );
    let (code, stderr) = run_binary(&ro);
    assert_eq!(code, Some(1));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!("shoal: Can't create files in '{ro}': ")),
        "{stderr}"
    );
}

#[tokio::test]
async fn config_set_dir_must_exist() {
    let base = TempDir::new("setdir");
    // Where file paths may be changed at all (see security.rs for the default).
    let s = TestServer::with(|c| c.enable_protected_configs = "yes".into());
    let mut c = s.conn().await;
    let missing = base.0.join("missing").display().to_string();
    assert_eq!(
        err(&mut c, &["CONFIG", "SET", "dir", &missing]).await,
        "ERR CONFIG SET failed (possibly related to argument 'dir') - No such file or directory"
    );
    let file = base.0.join("f");
    std::fs::write(&file, b"x").unwrap();
    assert_eq!(
        err(
            &mut c,
            &["CONFIG", "SET", "dir", &file.display().to_string()]
        )
        .await,
        "ERR CONFIG SET failed (possibly related to argument 'dir') - Not a directory"
    );
    let got: Vec<String> = cmd(&mut c, &["CONFIG", "GET", "dir"]).await;
    assert_eq!(got, ["dir", "."]);
    let ok: String = cmd(&mut c, &["CONFIG", "SET", "dir", &base.str()]).await;
    assert_eq!(ok, "OK");
    let got: Vec<String> = cmd(&mut c, &["CONFIG", "GET", "dir"]).await;
    assert_eq!(got, ["dir".to_string(), base.str()]);
}
