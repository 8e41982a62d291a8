//! One connection's loop: write a batch of `pipeline` requests, read exactly that many
//! replies, record each one's latency, repeat until the deadline or the request budget.
//!
//! All connections of a phase share a [`Phase`]: they connect, meet at a barrier, and
//! the first one past it stamps the start instant (and samples the server's CPU), so
//! connection set-up is not measured. A connection stops issuing batches at the soft
//! deadline; replies still missing [`GRACE`] later are counted as unanswered and the
//! connection gives up, so a stuck server cannot stall the run. A closed connection, an
//! I/O error or a reply that is not RESP ends that connection with an error count, never
//! a panic.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Barrier;
use tokio::time::Instant;

use crate::marks::Marks;
use crate::procstat::Sample;
use crate::resp::parse_reply;
use crate::stats::ConnStats;
use crate::workload::{Kind, Workload};

/// How long after the soft deadline in-flight replies may still arrive.
pub const GRACE: Duration = Duration::from_secs(2);

/// Initial size of a connection's read buffer (it grows for larger replies).
const READ_BUF: usize = 64 * 1024;

/// State shared by all connections of one phase (prefill or measurement).
#[derive(Debug)]
pub struct Phase {
    /// `host:port`.
    pub addr: String,
    /// What to send.
    pub workload: Arc<Workload>,
    /// Requests per batch.
    pub pipeline: usize,
    /// Time allowed to connect.
    pub connect_timeout: Duration,
    /// Length of the phase, if limited by time.
    pub time_limit: Option<Duration>,
    /// Total requests, if limited by count.
    pub total: Option<u64>,
    /// Server to sample at the start, if any.
    pub server_pid: Option<u32>,
    /// Windows named from outside (`--marks`), if any.
    pub marks: Option<Arc<Marks>>,
    /// With `--rate`: time between two batches of one connection, and the number of
    /// connections (to spread their schedules evenly).
    pub pacing: Option<(Duration, usize)>,
    issued: AtomicU64,
    barrier: Barrier,
    start: OnceLock<(Instant, Option<Sample>)>,
}

impl Phase {
    /// A phase for `connections` connections.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        addr: String,
        workload: Arc<Workload>,
        connections: usize,
        pipeline: usize,
        connect_timeout: Duration,
        time_limit: Option<Duration>,
        total: Option<u64>,
        server_pid: Option<u32>,
    ) -> Phase {
        Phase {
            addr,
            workload,
            pipeline,
            connect_timeout,
            time_limit,
            total,
            server_pid,
            marks: None,
            pacing: None,
            issued: AtomicU64::new(0),
            barrier: Barrier::new(connections),
            start: OnceLock::new(),
        }
    }

    /// When the phase started and the server sample taken then (once every
    /// connection has connected or failed to); `None` before that.
    pub fn start(&self) -> Option<&(Instant, Option<Sample>)> {
        self.start.get()
    }

    /// Claims up to `want` requests from the budget; 0 when it is spent.
    fn claim(&self, want: usize) -> usize {
        match self.total {
            None => want,
            Some(total) => {
                let prev = self.issued.fetch_add(want as u64, Ordering::Relaxed);
                total.saturating_sub(prev).min(want as u64) as usize
            }
        }
    }
}

/// Runs connection number `id` of `phase` to its end.
pub async fn run(id: usize, phase: Arc<Phase>) -> ConnStats {
    let mut stats = ConnStats::default();
    let connected =
        match tokio::time::timeout(phase.connect_timeout, TcpStream::connect(&phase.addr)).await {
            Ok(Ok(s)) => s.set_nodelay(true).map(|()| s),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out")),
        };
    phase.barrier.wait().await;
    let (start, _) = *phase.start.get_or_init(|| {
        let sample = phase.server_pid.and_then(|pid| Sample::take(pid).ok());
        (Instant::now(), sample)
    });
    let mut stream = match connected {
        Ok(s) => s,
        Err(e) => {
            stats.fail(format!("connect to {}: {e}", phase.addr), 0);
            return stats;
        }
    };
    let deadline = phase.time_limit.map(|d| start + d);
    // Far enough to never fire when only the request count limits the phase.
    let hard_stop = deadline.map_or(start + Duration::from_secs(100 * 365 * 86_400), |d| {
        d + GRACE
    });
    let hard_stop = tokio::time::sleep_until(hard_stop);
    tokio::pin!(hard_stop);

    let mut generator = phase.workload.generator(id);
    let mut wbuf: Vec<u8> = Vec::with_capacity(phase.pipeline * 128);
    let mut kinds: Vec<Kind> = Vec::with_capacity(phase.pipeline);
    let mut rbuf = vec![0u8; READ_BUF];
    // Unparsed bytes are rbuf[pos..filled].
    let (mut pos, mut filled) = (0usize, 0usize);

    let mut batch_no = 0u32;
    'batches: loop {
        if let Some((interval, conns)) = phase.pacing {
            // Batch k of connection `id` is due at start + (k + id/conns) * interval.
            let due = start + interval.mul_f64(f64::from(batch_no) + id as f64 / conns as f64);
            batch_no += 1;
            if due > Instant::now() {
                tokio::time::sleep_until(due).await;
            }
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        if let Some(m) = &phase.marks {
            if m.stopped() {
                break;
            }
            stats.set_window(m.current());
        }
        let n = phase.claim(phase.pipeline);
        if n == 0 {
            break;
        }
        wbuf.clear();
        kinds.clear();
        for _ in 0..n {
            kinds.push(generator.encode_next(&mut wbuf));
        }
        let sent = Instant::now();
        tokio::select! {
            biased;
            r = stream.write_all(&wbuf) => if let Err(e) = r {
                stats.fail(format!("write: {e}"), n as u64);
                break 'batches;
            },
            () = &mut hard_stop => {
                stats.counters.unanswered += n as u64;
                break 'batches;
            }
        }
        let mut got = 0usize;
        // Bytes left over from the previous batch are parsed before reading more.
        let mut need_read = pos == filled;
        while got < n {
            if need_read {
                if filled == rbuf.len() {
                    // Make room: drop what was parsed, or grow for a large reply.
                    if pos > 0 {
                        rbuf.copy_within(pos..filled, 0);
                        filled -= pos;
                        pos = 0;
                    } else {
                        rbuf.resize(rbuf.len() * 2, 0);
                    }
                }
                tokio::select! {
                    biased;
                    r = stream.read(&mut rbuf[filled..]) => match r {
                        Ok(0) => {
                            stats.fail("connection closed by server".into(), (n - got) as u64);
                            break 'batches;
                        }
                        Ok(k) => filled += k,
                        Err(e) => {
                            stats.fail(format!("read: {e}"), (n - got) as u64);
                            break 'batches;
                        }
                    },
                    () = &mut hard_stop => {
                        stats.counters.unanswered += (n - got) as u64;
                        break 'batches;
                    }
                }
            }
            need_read = true;
            // Every reply completed by this read was fully parsed now.
            let latency_us = sent.elapsed().as_micros() as u64;
            while got < n {
                match parse_reply(&rbuf[pos..filled]) {
                    Ok(Some(reply)) => {
                        let text = &rbuf[pos..pos + reply.len];
                        stats.record(kinds[got], reply.kind, latency_us, text);
                        pos += reply.len;
                        got += 1;
                    }
                    Ok(None) => break,
                    Err(e) => {
                        stats.fail(e.to_string(), (n - got) as u64);
                        break 'batches;
                    }
                }
            }
            if pos == filled {
                pos = 0;
                filled = 0;
            }
        }
    }
    stats
}
