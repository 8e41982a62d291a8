//! merge-bench: HMERGE on Shoal against the fastest ways Redis 7.0 can do the same
//! merge. See bench/README.md ("merge-bench") and bench/merge-bench.sh, which builds,
//! starts both servers and runs this.
//!
//! For every layout (the two hashes' fields disjoint, or half overlapping) and every
//! strategy (REPLACE, KEEP, SUM, MIN, MAX) it merges hash `b` (N fields) into hash
//! `a` (N fields) with:
//!
//! - `shoal`: one `HMERGE a 1 b AGGREGATE <strategy>`;
//! - `lua`: one EVAL on redis-server: HGETALL of `b`, then HSET into `a` in chunks of
//!   1,000 pairs (REPLACE), or HMGET chunks of `a`, the combination computed in Lua,
//!   and HSET chunks (KEEP, SUM, MIN, MAX);
//! - `lua-calls`: the same script with one HSETNX (KEEP) or HINCRBY (SUM) call per
//!   field instead of the HMGET/HSET chunks;
//! - `client`: HGETALL of `b` over the network, then pipelined HSET chunks (REPLACE),
//!   HSETNX per field (KEEP), HINCRBY per field (SUM), or pipelined HMGET chunks and
//!   HSET chunks of the changed fields (MIN, MAX).
//!
//! Each timing is the wall time of the merge alone (`a` is rebuilt before every run,
//! untimed), the median of `--reps` runs. Memory: the server's peak RSS during the
//! merge minus its RSS before it (the peak is reset through `/proc/PID/clear_refs`
//! before each run), so it counts what the merge allocated on the server side only.
//! Every result's field count is checked.

use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use clap::Parser;

#[derive(Parser, Debug)]
#[command(
    name = "merge-bench",
    about = "HMERGE on Shoal vs. the same merge on Redis"
)]
struct Args {
    /// Shoal's port (on 127.0.0.1); 0 skips Shoal.
    #[arg(long, default_value_t = 16390)]
    shoal_port: u16,
    /// Shoal's process id (for RSS); 0: no memory figures.
    #[arg(long, default_value_t = 0)]
    shoal_pid: u32,
    /// redis-server's port; 0 skips Redis.
    #[arg(long, default_value_t = 16391)]
    redis_port: u16,
    /// redis-server's process id (for RSS); 0: no memory figures.
    #[arg(long, default_value_t = 0)]
    redis_pid: u32,
    /// Fields in each of the two hashes.
    #[arg(long, default_value_t = 1_000_000)]
    fields: usize,
    /// Runs per measurement (the median is reported).
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// Strategies, comma separated.
    #[arg(long, default_value = "replace,keep,sum,min,max")]
    strategies: String,
    /// Layouts, comma separated: disjoint, half.
    #[arg(long, default_value = "disjoint,half")]
    layouts: String,
    /// Approaches, comma separated: shoal, lua, lua-calls, client.
    #[arg(long, default_value = "shoal,lua,lua-calls,client")]
    approaches: String,
}

// ---------------------------------------------------------------------------------
// A minimal blocking RESP2 client
// ---------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Reply {
    Status(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

struct Conn {
    r: BufReader<TcpStream>,
    w: BufWriter<TcpStream>,
}

impl Conn {
    fn open(port: u16) -> io::Result<Conn> {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_nodelay(true)?;
        Ok(Conn {
            r: BufReader::with_capacity(1 << 20, s.try_clone()?),
            w: BufWriter::with_capacity(1 << 20, s),
        })
    }

    fn send<A: AsRef<[u8]>>(&mut self, args: &[A]) -> io::Result<()> {
        write!(self.w, "*{}\r\n", args.len())?;
        for a in args {
            let a = a.as_ref();
            write!(self.w, "${}\r\n", a.len())?;
            self.w.write_all(a)?;
            self.w.write_all(b"\r\n")?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }

    fn line(&mut self) -> io::Result<Vec<u8>> {
        let mut l = Vec::new();
        self.r.read_until(b'\n', &mut l)?;
        if !l.ends_with(b"\r\n") {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "short reply"));
        }
        l.truncate(l.len() - 2);
        Ok(l)
    }

    fn read(&mut self) -> io::Result<Reply> {
        let l = self.line()?;
        let (kind, rest) = l
            .split_first()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "empty reply"))?;
        let text = String::from_utf8_lossy(rest).into_owned();
        let num = || {
            text.parse::<i64>()
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad number"))
        };
        Ok(match kind {
            b'+' => Reply::Status(text.clone()),
            b'-' => Reply::Error(text.clone()),
            b':' => Reply::Int(num()?),
            b'$' => {
                let n = num()?;
                if n < 0 {
                    Reply::Bulk(None)
                } else {
                    let mut b = vec![0u8; n as usize + 2];
                    self.r.read_exact(&mut b)?;
                    b.truncate(n as usize);
                    Reply::Bulk(Some(b))
                }
            }
            b'*' => {
                let n = num()?;
                if n < 0 {
                    Reply::Array(None)
                } else {
                    let mut v = Vec::with_capacity(n as usize);
                    for _ in 0..n {
                        v.push(self.read()?);
                    }
                    Reply::Array(Some(v))
                }
            }
            _ => return Err(io::Error::new(io::ErrorKind::InvalidData, "unknown reply")),
        })
    }

    fn call<A: AsRef<[u8]>>(&mut self, args: &[A]) -> io::Result<Reply> {
        self.send(args)?;
        self.flush()?;
        self.read()
    }

    /// Sends `cmds` pipelined, `window` at a time, and returns every reply.
    fn pipeline(&mut self, cmds: &[Vec<Vec<u8>>], window: usize) -> io::Result<Vec<Reply>> {
        let mut out = Vec::with_capacity(cmds.len());
        for chunk in cmds.chunks(window.max(1)) {
            for c in chunk {
                self.send(c)?;
            }
            self.flush()?;
            for _ in chunk {
                out.push(self.read()?);
            }
        }
        Ok(out)
    }
}

fn ok(r: Reply) -> Result<Reply, String> {
    match r {
        Reply::Error(e) => Err(e),
        other => Ok(other),
    }
}

fn int(r: Reply) -> Result<i64, String> {
    match ok(r)? {
        Reply::Int(i) => Ok(i),
        other => Err(format!("expected an integer, got {other:?}")),
    }
}

// ---------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq)]
enum Layout {
    Disjoint,
    Half,
}

impl Layout {
    fn name(self) -> &'static str {
        match self {
            Layout::Disjoint => "disjoint",
            Layout::Half => "half",
        }
    }

    /// Index of b's first field (a holds 0..n).
    fn b_start(self, n: usize) -> usize {
        match self {
            Layout::Disjoint => n,
            Layout::Half => n / 2,
        }
    }

    fn union(self, n: usize) -> usize {
        self.b_start(n) + n
    }
}

fn field(i: usize) -> Vec<u8> {
    format!("field:{i}").into_bytes()
}

/// a's values are the index; b's are scrambled so MIN and MAX change about half.
fn value_a(i: usize) -> Vec<u8> {
    i.to_string().into_bytes()
}

fn value_b(i: usize) -> Vec<u8> {
    ((i * 7919) % 1_000_003).to_string().into_bytes()
}

/// Builds `key` from `range` with `cmd` (HSET key f v ... / HMERGEVALUES key REPLACE
/// f v ...), 1,000 pairs per command, pipelined.
fn load(
    c: &mut Conn,
    head: &[&[u8]],
    range: std::ops::Range<usize>,
    value: fn(usize) -> Vec<u8>,
) -> Result<(), String> {
    let idx: Vec<usize> = range.collect();
    let cmds: Vec<Vec<Vec<u8>>> = idx
        .chunks(1000)
        .map(|chunk| {
            let mut cmd: Vec<Vec<u8>> = head.iter().map(|h| h.to_vec()).collect();
            for &i in chunk {
                cmd.push(field(i));
                cmd.push(value(i));
            }
            cmd
        })
        .collect();
    for r in c.pipeline(&cmds, 16).map_err(|e| e.to_string())? {
        ok(r)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// Memory
// ---------------------------------------------------------------------------------

fn status_kb(pid: u32, name: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with(name))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// RSS now, after resetting the peak (VmHWM) to it.
fn mem_before(pid: u32) -> Option<u64> {
    if pid == 0 {
        return None;
    }
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").ok()?;
    status_kb(pid, "VmRSS:")
}

fn peak_extra_mb(pid: u32, before: Option<u64>) -> Option<f64> {
    let before = before?;
    let peak = status_kb(pid, "VmHWM:")?;
    Some(peak.saturating_sub(before) as f64 / 1024.0)
}

// ---------------------------------------------------------------------------------
// The merges
// ---------------------------------------------------------------------------------

const LUA: &str = r#"
local dest, src, how, mode = KEYS[1], KEYS[2], ARGV[1], ARGV[2]
local kv = redis.call('HGETALL', src)
local n = #kv
local CHUNK = 2000 -- array slots per call: 1,000 pairs (unpack's limit is ~8,000)
if how == 'replace' then
  for i = 1, n, CHUNK do
    redis.call('HSET', dest, unpack(kv, i, math.min(i + CHUNK - 1, n)))
  end
elseif mode == 'calls' and how == 'keep' then
  for i = 1, n, 2 do redis.call('HSETNX', dest, kv[i], kv[i + 1]) end
elseif mode == 'calls' and how == 'sum' then
  for i = 1, n, 2 do redis.call('HINCRBY', dest, kv[i], kv[i + 1]) end
else
  for i = 1, n, CHUNK do
    local last = math.min(i + CHUNK - 1, n)
    local fields = {}
    for j = i, last, 2 do fields[#fields + 1] = kv[j] end
    local cur = redis.call('HMGET', dest, unpack(fields))
    local out = {}
    for k = 1, #fields do
      local v = kv[i + 2 * k - 1]
      local c = cur[k]
      local new = nil
      if not c then
        new = v
      elseif how == 'sum' then
        new = tonumber(c) + tonumber(v)
      elseif how == 'min' then
        if tonumber(v) < tonumber(c) then new = v end
      elseif how == 'max' then
        if tonumber(v) > tonumber(c) then new = v end
      end
      if new then
        out[#out + 1] = fields[k]
        out[#out + 1] = new
      end
    end
    if #out > 0 then redis.call('HSET', dest, unpack(out)) end
  end
end
return redis.call('HLEN', dest)
"#;

/// The client-side merge: HGETALL, then pipelined writes.
fn client_merge(c: &mut Conn, how: &str) -> Result<i64, String> {
    let e = |e: io::Error| e.to_string();
    let Reply::Array(Some(items)) = ok(c.call(&["HGETALL", "b"]).map_err(e)?)? else {
        return Err("HGETALL: not an array".into());
    };
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = items
        .chunks(2)
        .filter_map(|kv| match kv {
            [Reply::Bulk(Some(f)), Reply::Bulk(Some(v))] => Some((f.clone(), v.clone())),
            _ => None,
        })
        .collect();
    let a = b"a".to_vec();
    let mut cmds: Vec<Vec<Vec<u8>>> = Vec::new();
    match how {
        "replace" => {
            for chunk in pairs.chunks(1000) {
                let mut cmd = vec![b"HSET".to_vec(), a.clone()];
                for (f, v) in chunk {
                    cmd.push(f.clone());
                    cmd.push(v.clone());
                }
                cmds.push(cmd);
            }
        }
        "keep" | "sum" => {
            let name = if how == "keep" { "HSETNX" } else { "HINCRBY" };
            for (f, v) in &pairs {
                cmds.push(vec![
                    name.as_bytes().to_vec(),
                    a.clone(),
                    f.clone(),
                    v.clone(),
                ]);
            }
        }
        _ => {
            let hmget: Vec<Vec<Vec<u8>>> = pairs
                .chunks(1000)
                .map(|chunk| {
                    let mut cmd = vec![b"HMGET".to_vec(), a.clone()];
                    cmd.extend(chunk.iter().map(|(f, _)| f.clone()));
                    cmd
                })
                .collect();
            let current = c.pipeline(&hmget, 16).map_err(e)?;
            for (chunk, cur) in pairs.chunks(1000).zip(current) {
                let Reply::Array(Some(cur)) = ok(cur)? else {
                    return Err("HMGET: not an array".into());
                };
                let mut cmd = vec![b"HSET".to_vec(), a.clone()];
                for ((f, v), c) in chunk.iter().zip(cur) {
                    let take = match c {
                        Reply::Bulk(Some(c)) => {
                            let (x, y) = (num(v)?, num(&c)?);
                            if how == "min" {
                                x < y
                            } else {
                                x > y
                            }
                        }
                        _ => true,
                    };
                    if take {
                        cmd.push(f.clone());
                        cmd.push(v.clone());
                    }
                }
                if cmd.len() > 2 {
                    cmds.push(cmd);
                }
            }
        }
    }
    let window = if cmds.first().is_some_and(|c| c.len() > 4) {
        16
    } else {
        1000
    };
    for r in c.pipeline(&cmds, window).map_err(e)? {
        ok(r)?;
    }
    int(c.call(&["HLEN", "a"]).map_err(e)?)
}

/// What field `i` must hold after the merge.
fn expected(layout: Layout, n: usize, how: &str, i: usize) -> String {
    let bs = layout.b_start(n);
    let a = (i < n).then_some(i as i64);
    let b = (bs..bs + n)
        .contains(&i)
        .then(|| ((i * 7919) % 1_000_003) as i64);
    let v = match (a, b) {
        (Some(x), None) | (None, Some(x)) => x,
        (Some(x), Some(y)) => match how {
            "replace" => y,
            "keep" => x,
            "sum" => x + y,
            "min" => x.min(y),
            _ => x.max(y),
        },
        (None, None) => return String::new(),
    };
    v.to_string()
}

/// Spot-checks a few fields with HGET (skipped where the server lacks HGET).
fn spot_check(c: &mut Conn, layout: Layout, n: usize, how: &str) -> Result<(), String> {
    let bs = layout.b_start(n);
    for i in [0, bs, n - 1, bs + n - 1, (bs + n) / 2, n / 2 + 1] {
        let got = c
            .call(&["HGET".as_bytes(), b"a", &field(i)])
            .map_err(|e| e.to_string())?;
        match got {
            Reply::Error(e) if e.contains("unknown command") => return Ok(()),
            Reply::Bulk(Some(v)) if v == expected(layout, n, how, i).as_bytes() => {}
            other => {
                return Err(format!(
                    "{how} {}: field:{i} is {other:?}, expected {}",
                    layout.name(),
                    expected(layout, n, how, i)
                ))
            }
        }
    }
    Ok(())
}

fn num(b: &[u8]) -> Result<i64, String> {
    std::str::from_utf8(b)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("not a number: {}", String::from_utf8_lossy(b)))
}

struct Sample {
    secs: f64,
    peak_mb: Option<f64>,
    len: i64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn run() -> Result<(), String> {
    let args = Args::parse();
    let n = args.fields;
    let strategies: Vec<&str> = args.strategies.split(',').map(str::trim).collect();
    let layouts: Vec<Layout> = args
        .layouts
        .split(',')
        .map(|l| match l.trim() {
            "disjoint" => Ok(Layout::Disjoint),
            "half" => Ok(Layout::Half),
            other => Err(format!("unknown layout {other}")),
        })
        .collect::<Result<_, _>>()?;
    let approaches: Vec<&str> = args.approaches.split(',').map(str::trim).collect();
    let e = |e: io::Error| e.to_string();
    let mut shoal = if args.shoal_port != 0 {
        Some(Conn::open(args.shoal_port).map_err(|e| format!("shoal: {e}"))?)
    } else {
        None
    };
    let mut redis = if args.redis_port != 0 {
        Some(Conn::open(args.redis_port).map_err(|e| format!("redis: {e}"))?)
    } else {
        None
    };
    let sha = match redis.as_mut() {
        Some(r) => match ok(r.call(&["SCRIPT", "LOAD", LUA]).map_err(e)?)? {
            Reply::Bulk(Some(s)) => String::from_utf8_lossy(&s).into_owned(),
            other => return Err(format!("SCRIPT LOAD: {other:?}")),
        },
        None => String::new(),
    };
    println!(
        "merge-bench: HMERGE of two hashes of {n} fields, median of {} runs",
        args.reps
    );
    println!(
        "{:<9} {:<8} {:<10} {:>10} {:>10} {:>14} {:>9}",
        "layout", "strategy", "approach", "median_ms", "min_ms", "peak_extra_MB", "fields"
    );
    // (layout, strategy, approach, median ms, peak MB)
    let mut results: Vec<(&str, String, String, f64, String)> = Vec::new();
    for &layout in &layouts {
        let bs = layout.b_start(n);
        // Sources: b on both servers, plus a pristine copy of a on Redis (COPY is a
        // real copy there; on Shoal a is rebuilt from scratch so it is not shared).
        if let Some(c) = shoal.as_mut() {
            ok(c.call(&["FLUSHALL"]).map_err(e)?)?;
            load(c, &[b"HMERGEVALUES", b"b", b"REPLACE"], bs..bs + n, value_b)?;
        }
        if let Some(c) = redis.as_mut() {
            ok(c.call(&["FLUSHALL"]).map_err(e)?)?;
            load(c, &[b"HSET", b"b"], bs..bs + n, value_b)?;
            load(c, &[b"HSET", b"a0"], 0..n, value_a)?;
        }
        for how in &strategies {
            for approach in &approaches {
                if matches!(*approach, "lua-calls") && !matches!(*how, "keep" | "sum") {
                    continue;
                }
                let (conn, pid) = match *approach {
                    "shoal" => (shoal.as_mut(), args.shoal_pid),
                    _ => (redis.as_mut(), args.redis_pid),
                };
                let Some(c) = conn else { continue };
                let mut samples = Vec::new();
                for _ in 0..args.reps {
                    // Fresh destination, untimed.
                    ok(c.call(&["DEL", "a"]).map_err(e)?)?;
                    if *approach == "shoal" {
                        load(c, &[b"HMERGEVALUES", b"a", b"REPLACE"], 0..n, value_a)?;
                    } else {
                        ok(c.call(&["COPY", "a0", "a"]).map_err(e)?)?;
                    }
                    std::thread::sleep(Duration::from_millis(200));
                    let before = mem_before(pid);
                    let started = Instant::now();
                    let len = match *approach {
                        "shoal" => int(c
                            .call(&["HMERGE", "a", "1", "b", "AGGREGATE", how])
                            .map_err(e)?)?,
                        "lua" | "lua-calls" => {
                            let mode = if *approach == "lua" { "batch" } else { "calls" };
                            int(c
                                .call(&["EVALSHA", &sha, "2", "a", "b", how, mode])
                                .map_err(e)?)?
                        }
                        "client" => client_merge(c, how)?,
                        other => return Err(format!("unknown approach {other}")),
                    };
                    let secs = started.elapsed().as_secs_f64();
                    let peak_mb = peak_extra_mb(pid, before);
                    if len as usize != layout.union(n) {
                        return Err(format!(
                            "{approach} {how} {}: {len} fields, expected {}",
                            layout.name(),
                            layout.union(n)
                        ));
                    }
                    spot_check(c, layout, n, how)?;
                    samples.push(Sample { secs, peak_mb, len });
                }
                let times: Vec<f64> = samples.iter().map(|s| s.secs * 1000.0).collect();
                let min = times.iter().copied().fold(f64::INFINITY, f64::min);
                let peaks: Vec<f64> = samples.iter().filter_map(|s| s.peak_mb).collect();
                let peak = if peaks.is_empty() {
                    "-".to_string()
                } else {
                    format!("{:.0}", median(peaks))
                };
                let med = median(times);
                println!(
                    "{:<9} {:<8} {:<10} {:>10.0} {:>10.0} {:>14} {:>9}",
                    layout.name(),
                    how.to_uppercase(),
                    approach,
                    med,
                    min,
                    peak,
                    samples.last().map_or(0, |s| s.len)
                );
                results.push((
                    layout.name(),
                    how.to_uppercase(),
                    approach.to_string(),
                    med,
                    peak,
                ));
            }
        }
    }
    summary(&results);
    Ok(())
}

/// Markdown: Shoal against the fastest Redis way, per layout and strategy.
fn summary(results: &[(&str, String, String, f64, String)]) {
    println!();
    println!("| layout | strategy | Shoal HMERGE | Redis, fastest way | speed-up | peak extra MB, Shoal / Redis |");
    println!("|---|---|---|---|---|---|");
    let mut seen = Vec::new();
    for (layout, how, _, _, _) in results {
        if seen.contains(&(layout, how)) {
            continue;
        }
        seen.push((layout, how));
        let rows: Vec<_> = results
            .iter()
            .filter(|r| r.0 == *layout && &r.1 == how)
            .collect();
        let shoal = rows.iter().find(|r| r.2 == "shoal");
        let redis = rows
            .iter()
            .filter(|r| r.2 != "shoal")
            .min_by(|a, b| a.3.total_cmp(&b.3));
        if let (Some(s), Some(r)) = (shoal, redis) {
            println!(
                "| {layout} | {how} | {:.0} ms | {:.0} ms ({}) | {:.1}x | {} / {} |",
                s.3,
                r.3,
                r.2,
                r.3 / s.3,
                s.4,
                r.4
            );
        }
    }
}

fn main() {
    if let Err(e) = run() {
        eprintln!("merge-bench: {e}");
        std::process::exit(1);
    }
}
