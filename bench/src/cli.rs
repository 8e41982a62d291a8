//! Command-line flags of `shoal-load` and their validation.
//!
//! The flags follow memtier_benchmark's names where it has one, so that a workload
//! described for memtier reads the same here.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use clap::{CommandFactory, Parser, ValueEnum};

/// A memtier-like RESP load generator for Shoal and Redis.
///
/// Keeps `--pipeline` requests in flight on each of `--connections` connections,
/// records every request's latency in an HDR histogram, and reports throughput, GET
/// hits/misses, errors and latency percentiles. With `--server-pid` it also reports
/// operations per server CPU-second and the server's RSS.
#[derive(Parser, Debug, Clone)]
#[command(name = "shoal-load", version)]
pub struct Args {
    /// Server host name or address.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,

    /// Server port.
    #[arg(long, short = 'p', default_value_t = 6379)]
    pub port: u16,

    /// Number of connections.
    #[arg(long, short = 'c', default_value_t = 50)]
    pub connections: usize,

    /// Requests in flight per connection (written as one batch).
    #[arg(long, short = 'P', default_value_t = 1)]
    pub pipeline: usize,

    /// SET:GET ratio, e.g. 1:10, 1:0 (SET only), 0:1 (GET only).
    #[arg(long, default_value = "1:10")]
    pub ratio: Ratio,

    /// Number of distinct keys: `<prefix>1` ..= `<prefix>N`.
    #[arg(long, default_value_t = 100_000)]
    pub keyspace: u64,

    /// How keys are picked from the keyspace.
    #[arg(long, value_enum, default_value_t = KeyPattern::Random)]
    pub key_pattern: KeyPattern,

    /// Key name prefix.
    #[arg(long, default_value = "memtier-")]
    pub key_prefix: String,

    /// SET value size in bytes.
    #[arg(long, default_value_t = 32)]
    pub value_size: usize,

    /// SET value sizes spread evenly over MIN-MAX bytes (memtier's name), e.g.
    /// 32-4096: 64 sizes from MIN to MAX, taken in turn (uniformly mixed). Overrides
    /// --value-size for the SET/GET mix.
    #[arg(long, value_name = "MIN-MAX")]
    pub data_size_range: Option<SizeRange>,

    /// Length of the measured phase in seconds [default: 10, unless --requests is given].
    /// With --requests too, the run ends at whichever limit comes first.
    #[arg(long, short = 'd')]
    pub duration: Option<f64>,

    /// Total requests to send over all connections (instead of the default duration).
    #[arg(long, short = 'n')]
    pub requests: Option<u64>,

    /// Threads, each running a single-threaded tokio runtime with its share of the
    /// connections. One by default: a load generator gets one core.
    #[arg(long, short = 't', default_value_t = 1)]
    pub threads: usize,

    /// Before measuring, SET every key of the keyspace once (pipelined).
    #[arg(long)]
    pub prefill: bool,

    /// Custom command instead of the SET/GET mix, arguments split on whitespace;
    /// `__key__` and `__data__` arguments are replaced by a key and the value,
    /// e.g. "HSET h __key__ __data__". Several commands separated by `;` form a
    /// sequence every connection sends in order ("MULTI; SET __key__ __data__;
    /// INCR n; EXEC"). --ratio is ignored.
    #[arg(long)]
    pub command: Option<String>,

    /// Print the results as one JSON line on stdout (progress goes to stderr).
    #[arg(long)]
    pub json: bool,

    /// PID of the server process: report operations per server CPU-second (from
    /// /proc/PID/stat utime+stime over the measured phase) and the server's VmRSS.
    #[arg(long)]
    pub server_pid: Option<u32>,

    /// Seconds allowed to open a connection.
    #[arg(long, default_value_t = 5.0)]
    pub connect_timeout: f64,

    /// Name windows of the measured phase from outside: FILE is read every 10 ms, its
    /// first line is the current window's label (latency is reported per window, in
    /// order), and the label `stop` ends the run. See bench/bgsave.sh.
    #[arg(long)]
    pub marks: Option<std::path::PathBuf>,

    /// Requests per second over all connections (0 = as fast as replies come): each
    /// connection sends its batches on a fixed schedule (sending at once when behind),
    /// so the server is loaded at a set rate instead of saturated.
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,

    /// SECS into the measured phase, send BGSAVE and report windows `before`, `save`
    /// (until INFO persistence says it finished) and `after`, with the server's memory
    /// in each (with --server-pid); the run then stops. See bench/bgsave.sh.
    #[arg(long, value_name = "SECS", conflicts_with = "marks")]
    pub bgsave_at: Option<f64>,

    /// With --bgsave-at: report the save's window in parts of MS milliseconds
    /// (`save@0`, `save@1`, ...) instead of one `save` window.
    #[arg(long, value_name = "MS", requires = "bgsave_at")]
    pub bgsave_split: Option<u64>,

    /// With --bgsave-at: a control run: send no BGSAVE, and close the `save` window
    /// after SECS (the machine's noise in the same windows, without a save).
    #[arg(long, value_name = "SECS", requires = "bgsave_at")]
    pub bgsave_control: Option<f64>,

    /// With --bgsave-at: seconds measured after the save finished.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 3.0,
        requires = "bgsave_at"
    )]
    pub after: f64,
}

/// How keys are drawn from `1..=keyspace`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum KeyPattern {
    /// Uniformly random (memtier's `R`).
    #[value(alias = "R")]
    Random,
    /// Sequential, 1, 2, ..., N, then again from 1, shared by all connections
    /// (memtier's `S`): with --requests N every key is written exactly once.
    #[value(alias = "S", alias = "sequential")]
    Seq,
}

/// `--data-size-range`: value sizes from `min` to `max` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SizeRange {
    pub min: usize,
    pub max: usize,
}

impl SizeRange {
    /// How many distinct sizes the range is spread over.
    pub const STEPS: usize = 64;

    /// The sizes, evenly spaced from `min` to `max` (both included).
    pub fn sizes(self) -> Vec<usize> {
        let span = self.max - self.min;
        (0..Self::STEPS)
            .map(|i| self.min + span * i / (Self::STEPS - 1))
            .collect()
    }
}

impl FromStr for SizeRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (a, b) = s
            .split_once('-')
            .ok_or_else(|| format!("expected MIN-MAX, e.g. 32-4096, got {s:?}"))?;
        let parse = |x: &str| {
            x.trim()
                .parse::<usize>()
                .map_err(|e| format!("bad size {x:?}: {e}"))
        };
        let range = SizeRange {
            min: parse(a)?,
            max: parse(b)?,
        };
        if range.min > range.max || range.max > 512 << 20 {
            return Err(format!("bad size range {s:?}"));
        }
        Ok(range)
    }
}

/// A SET:GET ratio.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ratio {
    /// SETs per cycle.
    pub sets: u32,
    /// GETs per cycle.
    pub gets: u32,
}

impl FromStr for Ratio {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (a, b) = s
            .split_once(':')
            .ok_or_else(|| format!("expected SET:GET, e.g. 1:10, got {s:?}"))?;
        let parse = |x: &str| {
            x.trim()
                .parse::<u32>()
                .map_err(|e| format!("bad number {x:?} in ratio: {e}"))
        };
        let ratio = Ratio {
            sets: parse(a)?,
            gets: parse(b)?,
        };
        if ratio.sets == 0 && ratio.gets == 0 {
            return Err("ratio 0:0 sends nothing".into());
        }
        if u64::from(ratio.sets) + u64::from(ratio.gets) > 1_000_000 {
            return Err("ratio cycle longer than 1000000".into());
        }
        Ok(ratio)
    }
}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.sets, self.gets)
    }
}

impl Args {
    /// Parses the process arguments and checks them; exits with a usage error if they
    /// do not make sense together.
    pub fn parse_checked() -> Args {
        let mut args = Args::parse();
        if let Err(msg) = args.check() {
            Args::command()
                .error(clap::error::ErrorKind::ValueValidation, msg)
                .exit();
        }
        args.threads = args.threads.min(args.connections);
        args
    }

    fn check(&self) -> Result<(), String> {
        if self.connections == 0 {
            return Err("--connections must be at least 1".into());
        }
        if self.pipeline == 0 {
            return Err("--pipeline must be at least 1".into());
        }
        if self.keyspace == 0 {
            return Err("--keyspace must be at least 1".into());
        }
        if self.threads == 0 {
            return Err("--threads must be at least 1".into());
        }
        if let Some(d) = self.duration {
            if !(d > 0.0 && d <= 1e7) {
                return Err("--duration must be a positive number of seconds".into());
            }
        }
        if !(self.rate >= 0.0 && self.rate.is_finite()) {
            return Err("--rate must be a non-negative number".into());
        }
        for (flag, v) in [
            ("--bgsave-at", self.bgsave_at.unwrap_or(0.0)),
            ("--bgsave-control", self.bgsave_control.unwrap_or(0.0)),
            ("--after", self.after),
        ] {
            if !(0.0..=1e6).contains(&v) {
                return Err(format!("{flag} must be a non-negative number of seconds"));
            }
        }
        if self.bgsave_split == Some(0) {
            return Err("--bgsave-split must be at least 1 ms".into());
        }
        if self.requests == Some(0) {
            return Err("--requests must be at least 1".into());
        }
        if !(self.connect_timeout > 0.0 && self.connect_timeout <= 1e6) {
            return Err("--connect-timeout must be a positive number of seconds".into());
        }
        if let Some(c) = &self.command {
            if c.split_whitespace().next().is_none() {
                return Err("--command is empty".into());
            }
        }
        Ok(())
    }

    /// With --rate: the time between two batches of one connection.
    pub fn batch_interval(&self) -> Option<Duration> {
        (self.rate > 0.0).then(|| {
            Duration::from_secs_f64(self.connections as f64 * self.pipeline as f64 / self.rate)
        })
    }

    /// How long the measured phase may last: the given duration, 10 s if neither
    /// --duration nor --requests was given, unlimited if only --requests was.
    pub fn time_limit(&self) -> Option<Duration> {
        match (self.duration, self.requests) {
            (Some(d), _) => Some(Duration::from_secs_f64(d)),
            (None, None) => Some(Duration::from_secs(10)),
            (None, Some(_)) => None,
        }
    }

    /// `host:port`.
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_parses() {
        assert_eq!("1:10".parse(), Ok(Ratio { sets: 1, gets: 10 }));
        assert_eq!("1:0".parse(), Ok(Ratio { sets: 1, gets: 0 }));
        assert!("0:0".parse::<Ratio>().is_err());
        assert!("1".parse::<Ratio>().is_err());
        assert!("a:b".parse::<Ratio>().is_err());
    }

    #[test]
    fn defaults_and_limits() {
        let a = Args::try_parse_from(["shoal-load"]).unwrap();
        assert_eq!(a.connections, 50);
        assert_eq!(a.pipeline, 1);
        assert_eq!(a.ratio, Ratio { sets: 1, gets: 10 });
        assert_eq!(a.time_limit(), Some(Duration::from_secs(10)));
        let a = Args::try_parse_from(["shoal-load", "--requests", "5"]).unwrap();
        assert_eq!(a.time_limit(), None);
        let a = Args::try_parse_from(["shoal-load", "-n", "5", "--duration", "2"]).unwrap();
        assert_eq!(a.time_limit(), Some(Duration::from_secs(2)));
        let a = Args::try_parse_from(["shoal-load", "--key-pattern", "S"]).unwrap();
        assert_eq!(a.key_pattern, KeyPattern::Seq);
        let a = Args::try_parse_from(["shoal-load", "--pipeline", "0"]).unwrap();
        assert!(a.check().is_err());
        let a = Args::try_parse_from(["shoal-load", "-c", "10", "-P", "2", "--rate", "1000"]);
        assert_eq!(a.unwrap().batch_interval(), Some(Duration::from_millis(20)));
        let a = Args::try_parse_from(["shoal-load", "--rate=-1"]).unwrap();
        assert!(a.check().is_err());
    }
}
