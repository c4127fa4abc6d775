//! How many clients this machine can take without crashing, read from the
//! operating system's limits (Linux /proc; elsewhere nothing is known).
//!
//! Running out of descriptors, threads or process ids is survivable: accept
//! backs off, a thread that cannot start drops its connection. Running out
//! of memory mappings is not: Rust aborts the whole process when it cannot
//! map a new thread's signal stack. So `--max-clients` is capped by
//! `vm.max_map_count`, and only warned about for the descriptor limit.

use std::fs;

/// Memory mappings per client: two threads (any client may need a writer
/// thread beside its session), each with a stack and a signal stack, each
/// of those with a guard page.
const MAPS_PER_CLIENT: u64 = 8;
/// Mappings kept back for everything else: libraries, heap arenas, files.
const MAPS_RESERVE: u64 = 1024;
/// Descriptors kept back for the listener, data files and transfers.
pub const FILES_RESERVE: u64 = 64;

/// `vm.max_map_count`, if readable.
pub fn max_map_count() -> Option<u64> {
    fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The soft limit on open files of this process, if readable and finite.
pub fn open_files() -> Option<u64> {
    soft_limit(
        &fs::read_to_string("/proc/self/limits").ok()?,
        "Max open files",
    )
}

/// The most clients whose threads fit in `max_map_count` mappings.
pub fn clients_within(max_map_count: u64) -> usize {
    let clients = max_map_count.saturating_sub(MAPS_RESERVE) / MAPS_PER_CLIENT;
    usize::try_from(clients).unwrap_or(usize::MAX)
}

/// The soft limit on the `name` line of /proc/self/limits; `None` if unlimited.
fn soft_limit(limits: &str, name: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with(name))?;
    line[name.len()..].split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_fit_the_mapping_limit_with_a_reserve() {
        assert_eq!(clients_within(65_530), (65_530 - 1024) / 8);
        assert_eq!(clients_within(100), 0, "no underflow");
    }

    #[test]
    fn reads_soft_limits_and_treats_unlimited_as_unknown() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max processes             unlimited            unlimited            processes\n\
                      Max open files            20000                20000                files\n";
        assert_eq!(soft_limit(limits, "Max open files"), Some(20_000));
        assert_eq!(soft_limit(limits, "Max processes"), None);
        assert_eq!(soft_limit(limits, "Max locked memory"), None);
    }

    #[test]
    fn this_machine_reports_its_limits() {
        // Linux CI: both are readable and sane.
        if cfg!(target_os = "linux") {
            assert!(max_map_count().is_some_and(|n| n > 0));
            assert!(open_files().is_some_and(|n| n > 0));
        }
    }
}
