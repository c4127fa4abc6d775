//! Memory and CPU time of a process, read from Linux's /proc. The parsing is
//! apart from the reading, so it is tested on literal text.

use std::time::Duration;

/// Memory of the server process, from /proc/PID/status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ProcMem {
    pub(crate) rss_kib: u64,
    pub(crate) peak_kib: u64,
    pub(crate) threads: u64,
}

/// Reads /proc/`pid`/status.
pub(crate) fn proc_mem(pid: u32) -> Result<ProcMem, String> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("reading {path}: {e}"))?;
    parse_status(&text).ok_or_else(|| format!("{path}: no VmRSS/VmHWM lines"))
}

/// CPU time (user + system, all threads) a process has used so far, from
/// /proc/`pid`/stat (`"self"` for the bench itself).
pub(crate) fn cpu_time(pid: &str) -> Option<Duration> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat_cpu(&text)
}

/// utime + stime out of a /proc stat line. They count in USER_HZ ticks,
/// which Linux fixes at 100 per second for userland.
fn parse_stat_cpu(text: &str) -> Option<Duration> {
    // The command name, in parentheses, may hold spaces: count from after it.
    let after = &text[text.rfind(')')? + 1..];
    let mut fields = after.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((user + system) * 10))
}

/// Picks VmRSS, VmHWM and Threads out of a /proc status text.
fn parse_status(text: &str) -> Option<ProcMem> {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    };
    Some(ProcMem {
        rss_kib: field("VmRSS:")?,
        peak_kib: field("VmHWM:")?,
        threads: field("Threads:").unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_status_fields() {
        let text = "Name:\tserver\nVmHWM:\t   10240 kB\nVmRSS:\t    8192 kB\nThreads:\t7\n";
        assert_eq!(
            parse_status(text),
            Some(ProcMem {
                rss_kib: 8192,
                peak_kib: 10240,
                threads: 7
            })
        );
        assert_eq!(parse_status("Name: x\n"), None);
    }

    #[test]
    fn proc_stat_cpu() {
        let text = "42 (a (weird) name) S 1 42 42 0 -1 4194560 100 0 0 0 250 130 0 0 20 0 9 0";
        assert_eq!(parse_stat_cpu(text), Some(Duration::from_millis(3800)));
        assert_eq!(parse_stat_cpu("42 (x) S 1"), None);
        assert!(cpu_time("self").is_some());
    }
}
