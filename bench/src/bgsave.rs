//! `--bgsave-at SECS`: shoal-load starts a BGSAVE itself during the measured phase and
//! reports latency and server memory before, during and after it.
//!
//! Why here and not in a script: a script that polls `INFO persistence` with
//! `redis-cli` and reads `/proc` with `awk` starts a few processes every 100 ms, and on
//! a 2-core machine each costs milliseconds of CPU on the load generator's core (or the
//! server's), which showed up as a worse p99 *during* the save than before it whoever
//! the server was. This driver is one thread of shoal-load that sleeps between polls,
//! uses one TCP connection and reads `/proc` files directly.
//!
//! The run is: window `before` for SECS, then `BGSAVE`, window `save` until
//! `rdb_bgsave_in_progress:0`, then window `after` for `--after` seconds, then stop.
//! With `--bgsave-split MS` the save's window is cut into `save@0`, `save@1`, ... of
//! MS each (to the [`TICK`]), to see when during the save latency changes. With
//! `--bgsave-control SECS` it sends no BGSAVE and the `save` window lasts SECS: the
//! same windows on an undisturbed server, to tell a save's effect from the machine's
//! noise.
//! Every [`TICK`] the server's memory is sampled ([`procstat::Memory`]); each window
//! reports its last and peak values.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::conn::Phase;
use crate::marks::Marks;
use crate::procstat;
use crate::resp::{self, ReplyKind};

/// How often the save's progress is polled and memory sampled.
pub const TICK: Duration = Duration::from_millis(50);

/// Memory of the server over one window (KiB), see [`procstat::Memory`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WindowMemory {
    /// RSS at the window's last sample.
    pub rss_last: u64,
    /// Highest RSS sampled in the window.
    pub rss_peak: u64,
    /// Physical memory at the window's last sample.
    pub phys_last: u64,
    /// Highest physical memory sampled in the window.
    pub phys_peak: u64,
}

impl WindowMemory {
    fn add(&mut self, m: procstat::Memory) {
        self.rss_last = m.rss_kib;
        self.rss_peak = self.rss_peak.max(m.rss_kib);
        self.phys_last = m.phys_kib;
        self.phys_peak = self.phys_peak.max(m.phys_kib);
    }
}

/// What the driver saw.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Seconds from sending BGSAVE to seeing it finished.
    pub save_secs: Option<f64>,
    /// `rdb_last_bgsave_status` once it finished.
    pub status: Option<String>,
    /// Memory per window (same order as the windows), with `--server-pid`.
    pub memory: Vec<WindowMemory>,
    /// Why the driver gave up, if it did (the run is then stopped).
    pub error: Option<String>,
}

/// Starts the driver thread: it names `marks`' windows and ends the run by writing
/// `stop` to them. Whoever ends the run otherwise (the time limit) must write `stop`
/// too, before joining the thread.
pub fn spawn(
    phase: Arc<Phase>,
    marks: Arc<Marks>,
    at: Duration,
    after: Duration,
    split: Option<Duration>,
    control: Option<Duration>,
    server_pid: Option<u32>,
) -> std::io::Result<JoinHandle<Outcome>> {
    marks.set("before");
    std::thread::Builder::new()
        .name("shoal-load-bgsave".into())
        .spawn(move || {
            let mut d = Driver {
                marks: &marks,
                split,
                control,
                server_pid,
                memory: Vec::new(),
            };
            let result = d.run(&phase, at, after);
            marks.set(crate::marks::STOP);
            let mut o = Outcome {
                memory: d.memory,
                ..Outcome::default()
            };
            match result {
                Ok((secs, status)) => {
                    o.save_secs = Some(secs);
                    o.status = Some(status);
                }
                Err(e) => o.error = Some(e),
            }
            o
        })
}

struct Driver<'a> {
    marks: &'a Marks,
    /// Name the save's windows `save@0`, `save@1`, ... each this long.
    split: Option<Duration>,
    /// A control run: no BGSAVE, the `save` window lasts this long.
    control: Option<Duration>,
    server_pid: Option<u32>,
    memory: Vec<WindowMemory>,
}

impl Driver<'_> {
    fn run(
        &mut self,
        phase: &Phase,
        at: Duration,
        after: Duration,
    ) -> Result<(f64, String), String> {
        let mut conn = Conn::open(&phase.addr)?;
        // The windows count from the measured phase's start (every connection open).
        while phase.start().is_none() {
            if self.marks.stopped() {
                return Err("the run ended before the save".into());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        self.wait(at)?;
        self.marks.set(if self.split.is_some() {
            "save@0"
        } else {
            "save"
        });
        let t0 = Instant::now();
        if self.control.is_none() {
            let reply = conn.command(&["BGSAVE"])?;
            if !reply.starts_with("Background saving started") {
                return Err(format!("BGSAVE answered {reply:?}"));
            }
        }
        loop {
            self.tick()?;
            if let Some(split) = self.split {
                let n = (t0.elapsed().as_secs_f64() / split.as_secs_f64()) as u64;
                self.marks.set(&format!("save@{n}"));
            }
            let done = match self.control {
                Some(d) => t0.elapsed() >= d,
                None => {
                    let info = conn.command(&["INFO", "persistence"])?;
                    field(&info, "rdb_bgsave_in_progress") == Some("0")
                }
            };
            if done {
                break;
            }
        }
        let secs = t0.elapsed().as_secs_f64();
        self.marks.set("after");
        let status = match self.control {
            Some(_) => "control".to_string(),
            None => field(
                &conn.command(&["INFO", "persistence"])?,
                "rdb_last_bgsave_status",
            )
            .unwrap_or("?")
            .to_string(),
        };
        self.wait(after)?;
        Ok((secs, status))
    }

    /// Sleeps `d` in ticks, sampling memory.
    fn wait(&mut self, d: Duration) -> Result<(), String> {
        let end = Instant::now() + d;
        while Instant::now() < end {
            self.tick()?;
        }
        Ok(())
    }

    /// Sleeps one tick, then samples memory into the current window.
    fn tick(&mut self) -> Result<(), String> {
        std::thread::sleep(TICK);
        if self.marks.stopped() {
            return Err("the run ended before the BGSAVE windows did (raise --duration)".into());
        }
        if let Some(pid) = self.server_pid {
            let m = procstat::Memory::take(pid)
                .map_err(|e| format!("cannot read the memory of server {pid}: {e}"))?;
            let w = self.marks.current();
            if self.memory.len() <= w {
                self.memory.resize(w + 1, WindowMemory::default());
            }
            self.memory[w].add(m);
        }
        Ok(())
    }
}

/// `name:value` line of an INFO reply.
fn field<'a>(info: &'a str, name: &str) -> Option<&'a str> {
    info.lines().find_map(|l| {
        l.strip_prefix(name)
            .and_then(|r| r.strip_prefix(':'))
            .map(str::trim)
    })
}

/// A blocking connection for the few control commands, speaking RESP with
/// shoal-load's own encoder and reply parser ([`resp`]).
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    fn open(addr: &str) -> Result<Conn, String> {
        let stream = TcpStream::connect(addr).map_err(|e| format!("connect to {addr}: {e}"))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(|e| e.to_string())?;
        Ok(Conn {
            stream,
            buf: Vec::new(),
        })
    }

    /// Sends one command; returns a simple or bulk string reply's text, an error
    /// reply as `Err`.
    fn command(&mut self, args: &[&str]) -> Result<String, String> {
        let name = args[0];
        let mut req = Vec::new();
        resp::write_array_header(&mut req, args.len());
        for a in args {
            resp::write_bulk(&mut req, a.as_bytes());
        }
        let io = |e: std::io::Error| format!("{name}: {e}");
        self.stream.write_all(&req).map_err(io)?;
        self.buf.clear();
        let reply = loop {
            if let Some(r) = resp::parse_reply(&self.buf).map_err(|e| format!("{name}: {e}"))? {
                break r;
            }
            let mut chunk = [0u8; 16 * 1024];
            match self.stream.read(&mut chunk).map_err(io)? {
                0 => return Err(format!("{name}: the server closed the connection")),
                n => self.buf.extend_from_slice(&chunk[..n]),
            }
        };
        // The first line ends at the first CRLF; a bulk's payload follows it.
        let raw = &self.buf[..reply.len];
        let eol = raw.iter().position(|&b| b == b'\r').unwrap_or(raw.len());
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        match reply.kind {
            ReplyKind::Simple => Ok(text(&raw[1..eol])),
            ReplyKind::Error => Err(format!("{name} answered {:?}", text(&raw[1..eol]))),
            ReplyKind::Bulk => Ok(text(&raw[eol + 2..raw.len() - 2])),
            other => Err(format!("{name}: unexpected {other:?} reply")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_fields() {
        let info = "# Persistence\r\nloading:0\r\nrdb_bgsave_in_progress:1\r\nrdb_last_bgsave_status:ok\r\n";
        assert_eq!(field(info, "rdb_bgsave_in_progress"), Some("1"));
        assert_eq!(field(info, "rdb_last_bgsave_status"), Some("ok"));
        assert_eq!(field(info, "rdb_bgsave"), None, "whole names only");
        assert_eq!(field(info, "missing"), None);
    }

    #[test]
    fn window_memory_keeps_last_and_peak() {
        let mut w = WindowMemory::default();
        for (rss, phys) in [(10, 10), (30, 20), (20, 25)] {
            w.add(procstat::Memory {
                rss_kib: rss,
                phys_kib: phys,
            });
        }
        assert_eq!(
            w,
            WindowMemory {
                rss_last: 20,
                rss_peak: 30,
                phys_last: 25,
                phys_peak: 25
            }
        );
    }
}
