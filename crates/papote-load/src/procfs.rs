//! CPU time and memory of a process, from `/proc/PID/stat` and `/proc/PID/status`.

use std::time::Duration;

use serde::Serialize;

/// Linux reports `utime`/`stime` in `USER_HZ` ticks, which is 100 on every Linux ABI.
const TICKS_PER_SECOND: u64 = 100;

/// One reading of a process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ProcSample {
    /// User + system CPU time of every thread, in microseconds (10 ms resolution).
    pub cpu_us: u64,
    /// Resident set size, KiB.
    pub rss_kib: u64,
    pub threads: u64,
    /// Time its threads spent runnable but waiting for a CPU (from `schedstat`), microseconds:
    /// on a shared machine, how much other work delayed it.
    pub runqueue_wait_us: u64,
}

impl ProcSample {
    pub fn cpu(&self) -> Duration {
        Duration::from_micros(self.cpu_us)
    }
}

/// Which process to read: `self` or a PID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proc {
    Myself,
    Pid(u32),
}

impl Proc {
    fn dir(self) -> String {
        match self {
            Proc::Myself => "/proc/self".to_owned(),
            Proc::Pid(pid) => format!("/proc/{pid}"),
        }
    }

    /// Reads the process now; `None` if it is gone or `/proc` is unreadable.
    pub fn sample(self) -> Option<ProcSample> {
        let dir = self.dir();
        let stat = std::fs::read_to_string(format!("{dir}/stat")).ok()?;
        let status = std::fs::read_to_string(format!("{dir}/status")).ok()?;
        let cpu_ticks = parse_stat_cpu_ticks(&stat)?;
        Some(ProcSample {
            cpu_us: cpu_ticks * (1_000_000 / TICKS_PER_SECOND),
            rss_kib: status_field_kib(&status, "VmRSS:").unwrap_or(0),
            threads: status_field_kib(&status, "Threads:").unwrap_or(0),
            runqueue_wait_us: runqueue_wait_ns(&dir) / 1000,
        })
    }
}

/// The 1-, 5- and 15-minute load averages (the machine is shared: this says how busy it was).
pub fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut fields = text.split_ascii_whitespace().map(|f| f.parse::<f64>().ok());
    Some([fields.next()??, fields.next()??, fields.next()??])
}

/// The sum over the process's threads of the second field of `/proc/PID/task/TID/schedstat`.
fn runqueue_wait_ns(dir: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("{dir}/task")) else { return 0 };
    tasks
        .filter_map(Result::ok)
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|text| text.split_ascii_whitespace().nth(1).and_then(|f| f.parse::<u64>().ok()))
        .sum()
}

/// utime + stime from `/proc/PID/stat` (fields 14 and 15; the command name in field 2 may hold
/// spaces and parentheses, so fields are counted after its closing parenthesis).
pub fn parse_stat_cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_ascii_whitespace();
    // After the name: state is field 3, so utime (14) is the 12th field here.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// A numeric field of `/proc/PID/status` (`VmRSS:   1234 kB`, `Threads:   3`).
pub fn status_field_kib(status: &str, name: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(name))?;
    line[name.len()..].split_ascii_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_name() {
        let stat = "1234 (papote (x) y) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 3 0 99 1000 200";
        assert_eq!(parse_stat_cpu_ticks(stat), Some(325));
        assert_eq!(parse_stat_cpu_ticks("garbage"), None);
    }

    #[test]
    fn status_fields() {
        let status = "Name:\tpapote\nVmRSS:\t   20480 kB\nThreads:\t3\n";
        assert_eq!(status_field_kib(status, "VmRSS:"), Some(20480));
        assert_eq!(status_field_kib(status, "Threads:"), Some(3));
        assert_eq!(status_field_kib(status, "VmSwap:"), None);
    }

    #[test]
    fn this_process_can_be_read() {
        let sample = Proc::Myself.sample().expect("/proc/self");
        assert!(sample.rss_kib > 0);
        assert!(sample.threads >= 1);
        assert!(load_average().is_some());
    }
}
