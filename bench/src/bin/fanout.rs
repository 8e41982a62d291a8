//! `fanout`: pub/sub fan-out against a Redis-protocol server. One publisher sends
//! `PUBLISH` (pipelined) to one channel that `--subscribers` connections listen to;
//! the report is messages published and delivered per second and, with
//! `--server-pid`, delivered messages per server CPU-second (the figure to compare
//! between servers: `bench/fanout.sh` runs Shoal and redis-server alternately).
//!
//! Subscribers count whole `message` frames as they arrive (they know the frame's
//! exact size), so a server that drops or truncates a message shows up as a shortfall.

#[path = "../procstat.rs"]
#[allow(dead_code)]
mod procstat;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Parser, Debug)]
#[command(name = "fanout", version)]
struct Args {
    /// Server host.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Server port.
    #[arg(long, default_value_t = 6379)]
    port: u16,
    /// Subscriber connections.
    #[arg(long, default_value_t = 50)]
    subscribers: usize,
    /// PUBLISH requests the publisher keeps in flight.
    #[arg(long, default_value_t = 16)]
    pipeline: usize,
    /// Message size in bytes.
    #[arg(long, default_value_t = 32)]
    size: usize,
    /// Seconds measured.
    #[arg(long, default_value_t = 5)]
    duration: u64,
    /// The server's pid, to report its CPU time.
    #[arg(long)]
    server_pid: Option<u32>,
    /// One JSON line on stdout.
    #[arg(long)]
    json: bool,
}

const CHANNEL: &str = "fanout";

fn publish_frame(msg: &[u8]) -> Vec<u8> {
    let mut f = format!("*3\r\n$7\r\nPUBLISH\r\n${}\r\n{CHANNEL}\r\n", CHANNEL.len()).into_bytes();
    f.extend_from_slice(format!("${}\r\n", msg.len()).as_bytes());
    f.extend_from_slice(msg);
    f.extend_from_slice(b"\r\n");
    f
}

/// The exact bytes of one delivered message (RESP2).
fn message_frame_len(size: usize) -> usize {
    let head = format!(
        "*3\r\n$7\r\nmessage\r\n${}\r\n{CHANNEL}\r\n${size}\r\n",
        CHANNEL.len()
    );
    head.len() + size + 2
}

async fn subscriber(
    addr: String,
    frame: usize,
    ready: Arc<AtomicU64>,
    delivered: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<()> {
    let mut s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let sub = format!(
        "*2\r\n$9\r\nSUBSCRIBE\r\n${}\r\n{CHANNEL}\r\n",
        CHANNEL.len()
    );
    s.write_all(sub.as_bytes()).await?;
    let confirm = format!(
        "*3\r\n$9\r\nsubscribe\r\n${}\r\n{CHANNEL}\r\n:1\r\n",
        CHANNEL.len()
    )
    .len();
    let mut buf = vec![0u8; 256 * 1024];
    let mut got = 0usize;
    while got < confirm {
        let n = s.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        got += n;
    }
    ready.fetch_add(1, Ordering::Relaxed);
    // Bytes past the confirmation, then whole frames.
    let mut pending = got - confirm;
    while !stop.load(Ordering::Relaxed) {
        let n = match tokio::time::timeout(Duration::from_millis(200), s.read(&mut buf)).await {
            Ok(r) => r?,
            Err(_) => continue,
        };
        if n == 0 {
            break;
        }
        pending += n;
        let whole = pending / frame;
        pending -= whole * frame;
        delivered.fetch_add(whole as u64, Ordering::Relaxed);
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let a = Args::parse();
    let addr = format!("{}:{}", a.host, a.port);
    let frame = message_frame_len(a.size);
    let ready = Arc::new(AtomicU64::new(0));
    let delivered = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut subs = Vec::new();
    for _ in 0..a.subscribers {
        subs.push(tokio::spawn(subscriber(
            addr.clone(),
            frame,
            Arc::clone(&ready),
            Arc::clone(&delivered),
            Arc::clone(&stop),
        )));
    }
    while ready.load(Ordering::Relaxed) < a.subscribers as u64 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut publisher = TcpStream::connect(&addr).await?;
    publisher.set_nodelay(true)?;
    let one = publish_frame(&vec![b'm'; a.size]);
    let batch: Vec<u8> = one.repeat(a.pipeline);
    let cpu0 = a.server_pid.map(procstat::cpu_ticks).transpose()?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(a.duration);
    let mut published = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    while Instant::now() < deadline {
        publisher.write_all(&batch).await?;
        // One integer reply per PUBLISH.
        let mut lines = 0;
        while lines < a.pipeline {
            let n = publisher.read(&mut buf).await?;
            if n == 0 {
                return Err(std::io::Error::other("server closed the publisher"));
            }
            lines += buf[..n].iter().filter(|&&b| b == b'\n').count();
        }
        published += a.pipeline as u64;
    }
    let elapsed = started.elapsed().as_secs_f64();
    // Let the last messages arrive, then read the server's CPU.
    let expected = published * a.subscribers as u64;
    let settle = Instant::now() + Duration::from_secs(10);
    while delivered.load(Ordering::Relaxed) < expected && Instant::now() < settle {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let cpu_secs = match (a.server_pid, cpu0) {
        (Some(pid), Some(c0)) => {
            Some((procstat::cpu_ticks(pid)? - c0) as f64 / procstat::clk_tck() as f64)
        }
        _ => None,
    };
    stop.store(true, Ordering::Relaxed);
    let got = delivered.load(Ordering::Relaxed);
    for s in subs {
        let _ = s.await;
    }
    let per_cpu = cpu_secs.map(|c| if c > 0.0 { got as f64 / c } else { 0.0 });
    if a.json {
        println!(
            "{{\"published\":{published},\"delivered\":{got},\"expected\":{expected},\"seconds\":{elapsed:.3},\"server_cpu_seconds\":{},\"delivered_per_cpu_second\":{}}}",
            cpu_secs.map_or("null".into(), |c| format!("{c:.3}")),
            per_cpu.map_or("null".into(), |v| format!("{v:.0}")),
        );
    } else {
        println!(
            "published {published} in {elapsed:.2} s, delivered {got} of {expected} ({:.0}/s)",
            got as f64 / elapsed
        );
        if let (Some(c), Some(v)) = (cpu_secs, per_cpu) {
            println!("server CPU {c:.2} s: {v:.0} messages delivered per server CPU-second");
        }
    }
    Ok(())
}
