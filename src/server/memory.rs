//! Giving memory back to the system. With a thread per client, the C
//! allocator spreads the heap over many arenas and keeps what is freed in
//! them; after a burst (queues that filled, then were dropped; a crowd
//! that came and went) the process would keep its peak size for good. A
//! small thread watches the queued bytes and the clients, and when either
//! has fallen well below its peak since the last time, asks the allocator
//! to return its free pages (`malloc_trim`, glibc).

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use super::outbox::Budget;

/// How often the watcher looks.
const EVERY: Duration = Duration::from_secs(1);
/// How far queued bytes must have fallen from their peak to trim.
const QUEUED_DROP_BYTES: usize = 8 << 20;
/// How many clients must have left since the peak to trim.
const CLIENTS_DROP: usize = 64;

/// Starts the watcher.
///
/// # Errors
/// The thread could not be started.
pub fn spawn_trimmer(budget: Arc<Budget>, live: Arc<AtomicUsize>) -> io::Result<()> {
    thread::Builder::new()
        .name("trim".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            let (mut queued_peak, mut clients_peak) = (0, 0);
            loop {
                thread::sleep(EVERY);
                let (queued, clients) = (budget.total(), live.load(Ordering::Relaxed));
                queued_peak = queued_peak.max(queued);
                clients_peak = clients_peak.max(clients);
                if queued + QUEUED_DROP_BYTES <= queued_peak
                    || clients + CLIENTS_DROP <= clients_peak
                {
                    trim();
                    (queued_peak, clients_peak) = (queued, clients);
                }
            }
        })?;
    Ok(())
}

/// Returns the allocator's free pages to the system, where it can.
pub fn trim() {
    sys::trim();
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod sys {
    use std::os::raw::c_int;

    extern "C" {
        fn malloc_trim(pad: usize) -> c_int;
    }

    pub fn trim() {
        // SAFETY: malloc_trim takes no pointers and may be called from any
        // thread at any time; it only releases memory the allocator owns
        // and no longer uses.
        unsafe {
            malloc_trim(0);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod sys {
    /// Other allocators return memory by themselves (or not at all).
    pub fn trim() {}
}
