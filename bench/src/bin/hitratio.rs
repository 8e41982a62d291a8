//! `hitratio`: replays one request sequence, cache-aside, against a Redis-protocol
//! server and reports its hit ratio. Each request is `GET key`; a miss is followed by
//! `SET key value`, as an application filling its cache does. The sequence depends
//! only on the flags and the seed, so every server and policy sees the same one
//! (`bench/hitratio.sh` runs Shoal's and Redis's policies at the same maxmemory).
//!
//! Patterns:
//! - `zipf`: keys drawn from a Zipf distribution (`--zipf`, 0.99 by default) over
//!   `--keys` keys;
//! - `scan`: the same, with a sequential pass over every key injected every
//!   `--scan-every` requests (scan pollution); only the Zipf requests are scored;
//! - `loop`: keys 0, 1, ..., `--loop-len` - 1, again and again.
//!
//! Requests go in pipelined batches of `--batch` GETs, then the SETs for that
//! batch's misses. The first `--warmup` requests fill the cache and are not scored.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

#[path = "../zipf.rs"]
mod zipf;

use clap::{Parser, ValueEnum};
use rand::rngs::SmallRng;
use rand::SeedableRng;
use zipf::Zipf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Pattern {
    Zipf,
    Scan,
    Loop,
}

#[derive(Parser, Debug)]
#[command(name = "hitratio", version)]
struct Args {
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    #[arg(long, default_value_t = 6379)]
    port: u16,
    #[arg(long, value_enum, default_value_t = Pattern::Zipf)]
    pattern: Pattern,
    /// Distinct keys (zipf, scan).
    #[arg(long, default_value_t = 1_000_000)]
    keys: usize,
    /// Zipf exponent.
    #[arg(long, default_value_t = 0.99)]
    zipf: f64,
    /// Requests in all, warm-up included.
    #[arg(long, default_value_t = 3_000_000)]
    requests: usize,
    /// Requests not scored at the start.
    #[arg(long, default_value_t = 1_000_000)]
    warmup: usize,
    /// Zipf requests between two full scans (scan).
    #[arg(long, default_value_t = 500_000)]
    scan_every: usize,
    /// Keys in the loop (loop).
    #[arg(long, default_value_t = 120_000)]
    loop_len: usize,
    /// Value size in bytes.
    #[arg(long, default_value_t = 100)]
    value_size: usize,
    /// GETs per pipelined batch.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// One JSON line on stdout.
    #[arg(long)]
    json: bool,
}

/// The request sequence: (key number, scored).
struct Sequence {
    args: Args,
    zipf: Option<Zipf>,
    rng: SmallRng,
    /// Requests produced so far.
    n: usize,
    /// Zipf requests since the last scan, and the scan's position (scan pattern).
    since_scan: usize,
    scanning: Option<usize>,
}

impl Sequence {
    fn next(&mut self) -> (usize, bool) {
        self.n += 1;
        let warm = self.n <= self.args.warmup;
        match self.args.pattern {
            Pattern::Loop => ((self.n - 1) % self.args.loop_len, !warm),
            Pattern::Zipf => (self.draw(), !warm),
            Pattern::Scan => {
                if let Some(pos) = self.scanning {
                    self.scanning = (pos + 1 < self.args.keys).then_some(pos + 1);
                    return (pos, false);
                }
                self.since_scan += 1;
                if self.since_scan >= self.args.scan_every {
                    self.since_scan = 0;
                    self.scanning = Some(0);
                }
                (self.draw(), !warm)
            }
        }
    }

    fn draw(&mut self) -> usize {
        let zipf = self.zipf.as_ref().expect("zipf table");
        zipf::spread(zipf.sample(&mut self.rng), self.args.keys)
    }
}

fn write_cmd(buf: &mut Vec<u8>, args: &[&[u8]]) {
    buf.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        buf.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        buf.extend_from_slice(a);
        buf.extend_from_slice(b"\r\n");
    }
}

/// Reads one reply; true for a bulk string (a hit), false for a null.
fn read_reply(r: &mut BufReader<TcpStream>, line: &mut Vec<u8>) -> std::io::Result<bool> {
    line.clear();
    r.read_until(b'\n', line)?;
    match line.first() {
        Some(b'$') => {
            let len: i64 = std::str::from_utf8(&line[1..line.len() - 2])
                .ok()
                .and_then(|t| t.parse().ok())
                .unwrap_or(-1);
            if len < 0 {
                return Ok(false);
            }
            let mut skip = vec![0u8; len as usize + 2];
            r.read_exact(&mut skip)?;
            Ok(true)
        }
        Some(b'+') | Some(b':') => Ok(false),
        Some(b'_') => Ok(false),
        _ => Err(std::io::Error::other(format!(
            "unexpected reply {:?}",
            String::from_utf8_lossy(line)
        ))),
    }
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let stream = TcpStream::connect((args.host.as_str(), args.port))?;
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::with_capacity(1 << 20, stream);
    let zipf = matches!(args.pattern, Pattern::Zipf | Pattern::Scan)
        .then(|| Zipf::new(args.keys, args.zipf));
    let value = vec![b'v'; args.value_size];
    let (requests, batch) = (args.requests, args.batch.max(1));
    let mut seq = Sequence {
        rng: SmallRng::seed_from_u64(args.seed),
        zipf,
        args,
        n: 0,
        since_scan: 0,
        scanning: None,
    };
    let (mut hits, mut scored, mut errors) = (0u64, 0u64, 0u64);
    let mut out = Vec::with_capacity(1 << 16);
    let mut line = Vec::new();
    let started = std::time::Instant::now();
    let mut sent = 0;
    while sent < requests {
        let n = batch.min(requests - sent);
        let reqs: Vec<(usize, bool)> = (0..n).map(|_| seq.next()).collect();
        sent += n;
        out.clear();
        let names: Vec<String> = reqs.iter().map(|(k, _)| format!("key:{k}")).collect();
        for name in &names {
            write_cmd(&mut out, &[b"GET", name.as_bytes()]);
        }
        writer.write_all(&out)?;
        let mut misses = Vec::new();
        for (i, (_, score)) in reqs.iter().enumerate() {
            let hit = read_reply(&mut reader, &mut line)?;
            if *score {
                scored += 1;
                hits += u64::from(hit);
            }
            if !hit {
                misses.push(i);
            }
        }
        out.clear();
        for &i in &misses {
            write_cmd(&mut out, &[b"SET", names[i].as_bytes(), &value]);
        }
        writer.write_all(&out)?;
        for _ in &misses {
            line.clear();
            reader.read_until(b'\n', &mut line)?;
            if line.first() != Some(&b'+') {
                errors += 1;
            }
        }
    }
    let ratio = if scored == 0 {
        0.0
    } else {
        hits as f64 / scored as f64
    };
    let secs = started.elapsed().as_secs_f64();
    if seq.args.json {
        println!(
            "{{\"pattern\":\"{:?}\",\"requests\":{requests},\"scored\":{scored},\"hits\":{hits},\"hit_ratio\":{ratio:.4},\"set_errors\":{errors},\"seconds\":{secs:.1}}}",
            seq.args.pattern
        );
    } else {
        println!(
            "{:?}: {scored} scored requests, {hits} hits, hit ratio {ratio:.4}, {errors} SET errors, {secs:.1} s",
            seq.args.pattern
        );
    }
    Ok(())
}
