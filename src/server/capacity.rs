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

/// The client cap this machine allows, and what to tell the operator when
/// clients actually run into a system limit. Nothing is printed at start-up:
/// on a stock kernel the mapping limit lowers the default cap, and that is
/// worth saying only to an operator whose server gets near it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capacity {
    /// The cap: `--max-clients`, lowered to what `vm.max_map_count` holds.
    pub max_clients: usize,
    /// Why the cap is lower than asked, and how to lift it.
    pub lowered_because: Option<String>,
    /// What to raise when accepting fails for want of descriptors.
    pub descriptor_hint: Option<String>,
}

impl Capacity {
    /// The cap for `wanted` clients on this machine.
    pub fn of_this_machine(wanted: usize) -> Capacity {
        Capacity::within(wanted, max_map_count(), open_files())
    }

    /// The cap for `wanted` clients under the given limits (`None`: unknown).
    pub fn within(wanted: usize, maps: Option<u64>, files: Option<u64>) -> Capacity {
        let mut capacity = Capacity {
            max_clients: wanted,
            ..Capacity::default()
        };
        if let Some(maps) = maps {
            let fit = clients_within(maps);
            if wanted > fit {
                capacity.max_clients = fit;
                capacity.lowered_because = Some(format!(
                    "this machine holds at most {fit} clients, not --max-clients {wanted}: each needs {MAPS_PER_CLIENT} memory mappings and vm.max_map_count is {maps} (raise it with sysctl -w vm.max_map_count={})",
                    wanted as u64 * MAPS_PER_CLIENT + MAPS_RESERVE
                ));
            }
        }
        let needed = capacity.max_clients as u64 + FILES_RESERVE;
        capacity.descriptor_hint = files.map(|files| {
            if files < needed {
                format!("the open-file limit is {files}, below the {needed} that {} clients need; raise it with ulimit -n {needed}", capacity.max_clients)
            } else {
                format!("the open-file limit is {files}")
            }
        });
        capacity
    }

    /// Clients at which the operator is told the cap is near: 90% of it.
    pub fn near(&self) -> usize {
        self.max_clients - self.max_clients / 10
    }
}

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
    fn the_mapping_limit_lowers_the_cap_and_says_how_to_lift_it() {
        let capacity = Capacity::within(10_000, Some(65_530), Some(20_000));
        assert_eq!(capacity.max_clients, 8063);
        let why = capacity.lowered_because.clone().unwrap();
        assert!(why.contains("vm.max_map_count is 65530"), "{why}");
        assert!(why.contains("sysctl -w vm.max_map_count=81024"), "{why}");
        assert_eq!(
            capacity.descriptor_hint.as_deref(),
            Some("the open-file limit is 20000")
        );
        assert_eq!(capacity.near(), 8063 - 806);
    }

    #[test]
    fn a_descriptor_limit_below_the_cap_names_what_to_raise() {
        let capacity = Capacity::within(1000, Some(262_144), Some(200));
        assert_eq!(capacity.max_clients, 1000);
        assert_eq!(capacity.lowered_because, None);
        let hint = capacity.descriptor_hint.unwrap();
        assert!(hint.contains("ulimit -n 1064"), "{hint}");
        assert_eq!(
            Capacity::within(5, None, None),
            Capacity {
                max_clients: 5,
                ..Capacity::default()
            }
        );
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
