//! Server-side figures read from `/proc` (Linux): CPU time and resident memory.
//!
//! CPU time is `utime + stime` (fields 14 and 15 of `/proc/PID/stat`) in clock ticks;
//! ticks per second come from `getconf CLK_TCK` (100 on Linux if that fails), which
//! keeps this free of `libc` and `unsafe`.

use std::fs;
use std::io;
use std::process::Command;

/// CPU time the process has used so far (user + system), in clock ticks.
pub fn cpu_ticks(pid: u32) -> io::Result<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_cpu_ticks(&stat).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "unexpected /proc/PID/stat format",
        )
    })
}

/// utime + stime from the text of `/proc/PID/stat`.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    // Field 2 (comm) is in parentheses and may hold spaces or ')': fields 3.. follow
    // the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    // rest starts at field 3; utime is field 14, stime field 15.
    let utime: u64 = fields.nth(14 - 3)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Resident set size (`VmRSS` of `/proc/PID/status`) in KiB.
pub fn rss_kib(pid: u32) -> io::Result<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse_vm_rss(&status)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no VmRSS in /proc/PID/status"))
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line["VmRSS:".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Clock ticks per second (`getconf CLK_TCK`), 100 if it cannot be asked.
pub fn clk_tck() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|&t| t > 0)
        .unwrap_or(100)
}

/// A reading of a server process at one instant.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// utime + stime, in clock ticks.
    pub cpu_ticks: u64,
    /// VmRSS in KiB, if it could be read.
    pub rss_kib: Option<u64>,
}

impl Sample {
    /// Reads the process now.
    pub fn take(pid: u32) -> io::Result<Sample> {
        Ok(Sample {
            cpu_ticks: cpu_ticks(pid)?,
            rss_kib: rss_kib(pid).ok(),
        })
    }
}

/// Memory of a server and of the processes it forked (a Redis BGSAVE child), in KiB.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Memory {
    /// VmRSS of the server plus that of each child: pages they share count twice.
    pub rss_kib: u64,
    /// VmRSS of the server plus each child's private pages (`Private_Clean` +
    /// `Private_Dirty` of `/proc/CHILD/smaps_rollup`): the physical memory they use,
    /// the child's private pages being what copy-on-write duplicated.
    pub phys_kib: u64,
}

impl Memory {
    /// Reads the server `pid` and its children now. Only the children's page tables
    /// are walked (`smaps_rollup`): walking the server's would stall it under its
    /// memory-map lock.
    pub fn take(pid: u32) -> io::Result<Memory> {
        let rss = rss_kib(pid)?;
        let mut m = Memory {
            rss_kib: rss,
            phys_kib: rss,
        };
        for child in children(pid) {
            // A child may exit between the listing and the reading: skip it then.
            let Ok(r) = rss_kib(child) else { continue };
            let p = fs::read_to_string(format!("/proc/{child}/smaps_rollup"))
                .map(|t| private_kib(&t))
                .unwrap_or(0);
            m.rss_kib += r;
            m.phys_kib += p;
        }
        Ok(m)
    }
}

/// PIDs of the children of every thread of `pid` (`/proc/PID/task/*/children`).
fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut kids = Vec::new();
    for t in tasks.flatten() {
        if let Ok(text) = fs::read_to_string(t.path().join("children")) {
            kids.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    kids
}

/// `Private_Clean` + `Private_Dirty` of an smaps_rollup text, in KiB.
fn private_kib(smaps: &str) -> u64 {
    smaps
        .lines()
        .filter(|l| l.starts_with("Private_Clean:") || l.starts_with("Private_Dirty:"))
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_odd_comm() {
        let stat =
            "1234 (redis) server:) S 1 1234 1234 0 -1 4194560 1 0 0 0 250 75 0 0 20 0 5 0 1 1 1";
        assert_eq!(parse_cpu_ticks(stat), Some(325));
    }

    #[test]
    fn status_rss() {
        let status = "Name:\tredis\nVmPeak:\t  9000 kB\nVmRSS:\t    8192 kB\nThreads:\t5\n";
        assert_eq!(parse_vm_rss(status), Some(8192));
    }

    #[test]
    fn smaps_private() {
        let smaps =
            "Rss:  100 kB\nPrivate_Clean:  7 kB\nPrivate_Dirty:  30 kB\nPrivate_Hugetlb:  5 kB\n";
        assert_eq!(private_kib(smaps), 37);
    }

    #[test]
    fn memory_counts_children() {
        let me = std::process::id();
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let listed = children(me).contains(&child.id());
        let m = Memory::take(me);
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(listed, "the child is listed");
        let m = m.unwrap();
        // Shared pages count in the child's RSS, not in its private pages. The two
        // figures are read a moment apart while the other tests allocate: a little
        // slack.
        assert!(m.phys_kib > 0 && m.rss_kib > 0, "{m:?}");
        assert!(m.phys_kib <= m.rss_kib + m.rss_kib / 10 + 1024, "{m:?}");
    }

    #[test]
    fn reads_own_process() {
        let pid = std::process::id();
        assert!(cpu_ticks(pid).is_ok());
        assert!(rss_kib(pid).unwrap() > 0);
        assert!(clk_tck() > 0);
    }
}
